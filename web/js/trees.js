/*
 * trees.js - the trees the server serves, and the tree filter under the
 * box.
 *
 * The trees are read once from /api/stats (loadTrees(): again only if
 * that failed, e.g. before a token was given).  With one tree nothing
 * here shows: the page is the one-tree page it always was.  With several,
 * the filter shows "All" and a checkbox per tree; checking trees searches
 * those only.  Its value is the tree parameter itself (params.js: names
 * quoted as globs, comma-separated), held here as the controls' value, so
 * a tree= the checkboxes cannot say (a glob from a permalink or typed in
 * the address, a name no tree has) is kept as it is and shown as one more
 * checked box with that text: unchecking it, or checking "All" or a tree,
 * replaces it.  The filter also shows on a one-tree server when the
 * address has a tree=, so that it can be seen and removed.
 *
 * Results name their tree themselves ("tree" in each result, only with
 * several trees), so rendering them never waits for this module; the file
 * view asks it how to split TREE/PATH before the file's own answer says.
 */

import { getStats } from './api.js';
import { ui, h, clear, show } from './dom.js';
import { treeNames, treeParam } from './params.js';
import { needToken } from './token.js';

let names = null;               // the server's tree names, once read
let shards = 0;                 // the server's shards (workers), once read
let loading = false;
let value = '';                 // the tree parameter the controls say

// Read the server's trees unless they are known (or being read).
export function loadTrees() {
  if (names || loading) return;
  loading = true;
  getStats().then((d) => {
    loading = false;
    names = Array.isArray(d.trees) ? d.trees.map((t) => String(t.name)) : [];
    shards = Array.isArray(d.shards) ? d.shards.length : 0;
    render();
  }, (e) => {
    loading = false;
    needToken(e);
  });
}

// The server has several trees (false while they are not known).
export function severalTrees() { return !!names && names.length > 1; }

// The number of shards the server searches (0 while not known).
export function shardCount() { return shards; }

// Where results of tree name come in the server's order (the order of
// its trees on the command line, as /api/stats lists them); -1 when the
// trees are not known, or name is not one of them.
export function treeRank(name) { return names ? names.indexOf(name) : -1; }

// A file view's FILE as {tree, path}: TREE/PATH when the server has
// several trees and FILE starts with one's name.
export function splitFile(file) {
  if (severalTrees()) {
    const slash = file.indexOf('/');
    if (slash > 0 && names.indexOf(file.slice(0, slash)) >= 0) {
      return { tree: file.slice(0, slash), path: file.slice(slash + 1) };
    }
  }
  return { tree: '', path: file };
}

/* ------------------------------------------------------------------ *
 * The filter.
 * ------------------------------------------------------------------ */

// The controls' tree parameter, and setting it (router.js, from the address).
export function treeControlValue() { return value; }

export function setTreeControl(param) {
  value = param;
  render();
}

function box(id, label, what, title) {
  const input = h('input');
  input.type = 'checkbox';
  input.id = id;
  input.dataset.what = what;
  const l = h('label', null, label);
  l.htmlFor = id;
  l.title = title;
  ui.treeChips.appendChild(input);
  ui.treeChips.appendChild(l);
  return input;
}

// Show the filter for value: the boxes are made again only when which
// boxes there are changes (a focused box keeps the focus otherwise).
function render() {
  const known = names || [];
  const on = !!names && (known.length > 1 || !!value);
  show(ui.treeFilter, on);
  if (!on) return;
  const picked = treeNames(value, known);
  const other = picked ? '' : value;
  const shape = JSON.stringify([known, other]);
  if (ui.treeChips.dataset.shape !== shape) {
    const focused = document.activeElement && ui.treeChips.contains(document.activeElement);
    clear(ui.treeChips);
    ui.treeChips.dataset.shape = shape;
    box('tree-all', 'All', 'all', 'Search every tree');
    known.forEach((n, i) => { box('tree-' + i, n, 'tree', 'Search tree ' + n).dataset.name = n; });
    if (other) box('tree-other', other, 'other', 'tree=' + other + ' (from the address): uncheck to search every tree');
    if (focused) ui.treeChips.firstChild.focus();
  }
  for (const input of ui.treeChips.querySelectorAll('input')) {
    const what = input.dataset.what;
    input.checked = what === 'all' ? !value : what === 'other' ? true : !!picked && picked.indexOf(input.dataset.name) >= 0;
  }
}

// A box of the filter changed: set the value it makes, and say whether
// it changed (then the caller searches).  Every tree checked is "All".
export function onTreeChange(e) {
  const t = e.target;
  if (!t || !t.dataset || !t.dataset.what) return false;
  const known = names || [];
  const old = value;
  if (t.dataset.what === 'tree') {
    const picked = treeNames(value, known) || [];
    const n = t.dataset.name;
    const next = known.filter((x) => (x === n ? t.checked : picked.indexOf(x) >= 0));
    value = next.length === known.length ? '' : treeParam(next);
  } else {
    value = '';
  }
  render();
  return value !== old;
}
