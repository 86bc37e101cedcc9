/*
 * langs.js - the language filter under the box: "All languages" and the
 * server's languages (GET /api/langs), sent as lang=.
 *
 * The names are read once (loadLangs(): again only if that failed, e.g.
 * before a token was given).  As with the tree filter (trees.js), the
 * value is the lang parameter itself, held here as the controls' value:
 * a lang= the list cannot say (several names from a permalink, "c,go", or
 * a name this server does not know) is kept as it is and shown as one
 * more option with that text, so it can be seen and removed; the server
 * answers an unknown name with 400 (param "lang"), shown next to the box.
 * Until the names are read, the value is shown that way too.
 */

import { getLangs } from './api.js';
import { ui, h, clear } from './dom.js';
import { needToken } from './token.js';

let names = null;               // the server's language names, once read
let byName = null;              // {exact, prefixes, exts} from their globs (langOfPath)
let known = [];                 // callbacks for when the languages are read
let loading = false;
let value = '';                 // the lang parameter the controls say

export function loadLangs() {
  if (names || loading) return;
  loading = true;
  getLangs().then((langs) => {
    loading = false;
    names = langs.map((l) => String(l.name));
    byName = globTable(langs);
    render();
    const fns = known;
    known = [];
    fns.forEach((fn) => fn());
  }, (e) => {
    loading = false;
    needToken(e);
  });
}

// fn() once the server's languages are known (at once if they are).
export function whenLangsKnown(fn) {
  if (byName) fn();
  else known.push(fn);
}

// The globs of /api/langs as the server reads them (doc/api.md): an
// exact name, a prefix ("Makefile.*"), or an extension ("*.c").
function globTable(langs) {
  const t = { exact: new Map(), prefixes: [], exts: new Map() };
  for (const l of langs) {
    for (const g of l.globs || []) {
      const glob = String(g);
      if (/^\*\.[^*?[\]{}.]+$/.test(glob)) t.exts.set(glob.slice(2), String(l.name));
      else if (/^[^*?[\]{}]+\*$/.test(glob)) t.prefixes.push([glob.slice(0, -1), String(l.name)]);
      else if (!/[*?[\]{}]/.test(glob)) t.exact.set(glob, String(l.name));
    }
  }
  t.prefixes.sort((a, b) => b[0].length - a[0].length);
  return t;
}

// The language of a file, from its name alone as the server decides it:
// an exact name, then the longest prefix, then the extension after the
// last dot (case-sensitive); '' for none, or while the languages are not
// known.
export function langOfPath(path) {
  if (!byName) return '';
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (byName.exact.has(base)) return byName.exact.get(base);
  for (const [p, name] of byName.prefixes) if (base.startsWith(p) && base.length > p.length) return name;
  const dot = base.lastIndexOf('.');
  return dot >= 0 && byName.exts.has(base.slice(dot + 1)) ? byName.exts.get(base.slice(dot + 1)) : '';
}

// The controls' lang parameter, and setting it (from the address, a facet).
export function langControlValue() { return value; }

export function setLangControl(v) {
  value = String(v || '').trim();
  render();
}

// The select changed: take its value, and say whether it changed.
export function onLangChange() {
  const old = value;
  value = ui.lang.value;
  render();
  return value !== old;
}

// The options are made again only when which options there are changes.
function render() {
  const known = names || [];
  const other = value && known.indexOf(value) < 0 ? value : '';
  const shape = JSON.stringify([known, other]);
  if (ui.lang.dataset.shape !== shape) {
    clear(ui.lang);
    ui.lang.dataset.shape = shape;
    const all = h('option', null, 'All languages');
    all.value = '';
    ui.lang.appendChild(all);
    if (other) {
      const o = h('option', null, other);
      o.value = other;
      o.title = 'lang=' + other + ' (from the address)';
      ui.lang.appendChild(o);
    }
    for (const n of known) {
      const o = h('option', null, n);
      o.value = n;
      ui.lang.appendChild(o);
    }
  }
  ui.lang.value = value;
}
