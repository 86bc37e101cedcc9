/*
 * params.js - the address is the state: search parameters <-> URL.
 *
 * /?q=..&literal=1&case=..&tree=..&path=..&exclude=..&lang=..&context=..
 * &names=1&select=files is a search, plus &file=FILE and #L10 or #L10-L20 for the file
 * view.  Loading any such address reproduces the view, so the address bar
 * is always a permalink.
 *
 * A box that starts with "file:" searches file names only: the rest of
 * it is the pattern, matched against paths (the API's kind=path).  It is
 * part of q, so the address keeps it as typed; splitQ() is the one reader
 * of the prefix.  names=1 (the "file names" toggle) runs that file-name
 * search too, beside the line search.  lang is the API's lang= (language
 * names, comma-separated; '' every file).  select is what the line search
 * lists: 'lines' (each matching line) or 'files' (each matching file once,
 * with its count of matching lines: the API's select=files).
 *
 * tree is the API's tree= as it is sent: names or globs, comma-separated
 * ('' searches every tree).  Names go in it quoted as globs (treeParam),
 * so a tree named "a[1]" selects itself and no other.  FILE is
 * the file's path, or with several trees TREE/PATH (fileOf), which is how
 * the API addresses it too (/api/files/TREE/PATH): a tree's name holds no
 * '/'.
 *
 * Parameters are normalised in one place (normParams): the address, the
 * controls and the query sent to the server cannot disagree on what a
 * search is, and keyOf() is what "the same search" means.  Defaults are
 * left out of the address.  This module reads the address but never
 * changes it (router.js does) and knows nothing of the page's elements.
 */

const DEFAULTS = Object.freeze({ q: '', literal: false, case: 'auto', tree: '', path: '', exclude: '', lang: '',
                                 context: 2, names: false, select: 'lines' });
const CASES = { auto: 1, yes: 1, no: 1 };
const SELECTS = { lines: 1, files: 1 };
const FILE_PREFIX = 'file:';

export function normParams(p) {
  const c = parseInt(p.context, 10);
  return {
    q: String(p.q || ''),
    literal: !!p.literal,
    case: CASES[p.case] ? p.case : 'auto',
    tree: String(p.tree || '').trim(),
    path: String(p.path || '').trim(),
    exclude: String(p.exclude || '').trim(),
    lang: String(p.lang || '').trim(),
    context: isFinite(c) ? Math.max(0, Math.min(10, c)) : DEFAULTS.context,
    names: !!p.names,
    select: SELECTS[p.select] ? p.select : DEFAULTS.select
  };
}

// q as a search: {fileOnly, pattern}.  "file:PATTERN" searches file names
// only (fileOnly), with PATTERN; anything else is a line pattern.
export function splitQ(q) {
  q = String(q || '');
  if (q.startsWith(FILE_PREFIX)) return { fileOnly: true, pattern: q.slice(FILE_PREFIX.length) };
  return { fileOnly: false, pattern: q };
}

// The box that searches file names only for pattern.
export function fileOnlyQ(pattern) {
  return FILE_PREFIX + pattern;
}

// What the current address shows: {params, file, lines}.
export function parseLocation() {
  const sp = new URLSearchParams(location.search);
  const lit = sp.get('literal');
  const ctx = sp.get('context');
  const names = sp.get('names');
  const params = normParams({
    q: sp.get('q') || '',
    literal: lit === '1' || lit === 'true',
    case: sp.get('case') || 'auto',
    tree: sp.get('tree') || '',
    path: sp.get('path') || '',
    exclude: sp.get('exclude') || '',
    lang: sp.get('lang') || '',
    context: ctx === null ? DEFAULTS.context : ctx,
    names: names === '1' || names === 'true',
    select: sp.get('select') || DEFAULTS.select
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
  if (p.tree) sp.set('tree', p.tree);
  if (p.path) sp.set('path', p.path);
  if (p.exclude) sp.set('exclude', p.exclude);
  if (p.lang) sp.set('lang', p.lang);
  if (p.context !== DEFAULTS.context) sp.set('context', String(p.context));
  if (p.names) sp.set('names', '1');
  if (p.select !== DEFAULTS.select) sp.set('select', p.select);
  if (file) sp.set('file', file);
  const s = sp.toString();
  return location.pathname + (s ? '?' + s : '') + linesHash(lines);
}

// The address of a file view at one line (0: the top); file: fileOf().
export function fileURL(p, file, line) {
  return buildURL(p, file, line ? { from: line, to: line } : null);
}

// A result's file as the address and /api/files name it: its path, or
// TREE/PATH when the result names its tree (the server has several).
export function fileOf(tree, path) {
  return tree ? tree + '/' + path : path;
}

// Two parameter sets with the same key are the same search.
export function keyOf(p) {
  return JSON.stringify([p.q, p.literal, p.case, p.tree, p.path, p.exclude, p.lang, p.context, p.names, p.select]);
}

/* ------------------------------------------------------------------ *
 * The tree parameter.
 * ------------------------------------------------------------------ */

// Text quoted as a glob that selects exactly it (the server's glob
// syntax: a backslash escapes the next character).
export function globQuote(s) {
  return String(s).replace(/[\\*?[\]{},]/g, '\\$&');
}

// The tree parameter that selects these trees, by name ([]: every tree).
export function treeParam(names) {
  return names.map(globQuote).join(',');
}

// The names a tree parameter selects when it is a list of names (as
// treeParam writes it, spaces around items allowed), out of the server's
// names; null when it is something else (a glob, an unknown name).  Not a
// reader of glob lists (the server has the one): a quoted name holds no
// comma and no unquoted bracket or brace, so splitting at commas reads
// such a list exactly as the server does, and anything else is null.
export function treeNames(param, names) {
  if (!param) return [];
  const byItem = new Map(names.map((n) => [globQuote(n), n]));
  const out = [];
  for (const item of param.split(',')) {
    const t = item.trim();
    if (!t) continue;
    if (!byItem.has(t)) return null;
    if (out.indexOf(byItem.get(t)) < 0) out.push(byItem.get(t));
  }
  return out;
}
