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
let loading = false;
let value = '';                 // the lang parameter the controls say

export function loadLangs() {
  if (names || loading) return;
  loading = true;
  getLangs().then((langs) => {
    loading = false;
    names = langs.map((l) => String(l.name));
    render();
  }, (e) => {
    loading = false;
    needToken(e);
  });
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
