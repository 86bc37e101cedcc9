/*
 * params.js - the address is the state: search parameters <-> URL.
 *
 * /?q=..&literal=1&case=..&path=..&exclude=..&context=.. is a search, plus
 * &file=PATH and #L10 or #L10-L20 for the file view.  Loading any such
 * address reproduces the view, so the address bar is always a permalink.
 *
 * Parameters are normalised in one place (normParams): the address, the
 * controls and the query sent to the server cannot disagree on what a
 * search is, and keyOf() is what "the same search" means.  Defaults are
 * left out of the address.  This module reads the address but never
 * changes it (router.js does) and knows nothing of the page's elements.
 */

const DEFAULTS = Object.freeze({ q: '', literal: false, case: 'auto', path: '', exclude: '', context: 2 });
const CASES = { auto: 1, yes: 1, no: 1 };

export function normParams(p) {
  const c = parseInt(p.context, 10);
  return {
    q: String(p.q || ''),
    literal: !!p.literal,
    case: CASES[p.case] ? p.case : 'auto',
    path: String(p.path || '').trim(),
    exclude: String(p.exclude || '').trim(),
    context: isFinite(c) ? Math.max(0, Math.min(10, c)) : DEFAULTS.context
  };
}

// What the current address shows: {params, file, lines}.
export function parseLocation() {
  const sp = new URLSearchParams(location.search);
  const lit = sp.get('literal');
  const ctx = sp.get('context');
  const params = normParams({
    q: sp.get('q') || '',
    literal: lit === '1' || lit === 'true',
    case: sp.get('case') || 'auto',
    path: sp.get('path') || '',
    exclude: sp.get('exclude') || '',
    context: ctx === null ? DEFAULTS.context : ctx
  });
  return { params, file: sp.get('file') || '', lines: parseLines(location.hash) };
}

// "#L12" or "#L12-L20" (also "#L12-20") -> {from, to}, or null.
export function parseLines(hash) {
  const m = /^#L(\d+)(?:-L?(\d+))?$/.exec(hash || '');
  if (!m) return null;
  const a = parseInt(m[1], 10), b = m[2] ? parseInt(m[2], 10) : a;
  if (!(a > 0) || !(b > 0)) return null;
  return { from: Math.min(a, b), to: Math.max(a, b) };
}

function linesHash(r) {
  if (!r) return '';
  return r.from === r.to ? '#L' + r.from : '#L' + r.from + '-L' + r.to;
}

// The address of a search (file ''), or of a file view of it.
export function buildURL(p, file, lines) {
  const sp = new URLSearchParams();
  if (p.q) sp.set('q', p.q);
  if (p.literal) sp.set('literal', '1');
  if (p.case !== DEFAULTS.case) sp.set('case', p.case);
  if (p.path) sp.set('path', p.path);
  if (p.exclude) sp.set('exclude', p.exclude);
  if (p.context !== DEFAULTS.context) sp.set('context', String(p.context));
  if (file) sp.set('file', file);
  const s = sp.toString();
  return location.pathname + (s ? '?' + s : '') + linesHash(lines);
}

// The address of a file view at one line (0: the top).
export function fileURL(p, path, line) {
  return buildURL(p, path, line ? { from: line, to: line } : null);
}

// Two parameter sets with the same key are the same search.
export function keyOf(p) {
  return JSON.stringify([p.q, p.literal, p.case, p.path, p.exclude, p.context]);
}
