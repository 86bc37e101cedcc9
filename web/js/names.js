/*
 * names.js - the file-name hits: files whose path matches the pattern
 * (the API's kind=path), in a block above the line results.
 *
 * Two searches show it: the "file names" toggle runs a file-name search
 * beside the line search, and its block heads the results ("12 files
 * named kv"), at most BESIDE of them, with a link to the file-name search
 * alone for the rest; a box that starts with "file:" runs the file-name
 * search alone (ONLY of them at most), whose counts the summary gives.
 * Each hit is the file's path, the matched byte ranges of the path
 * marked, linking to the file view (at its top: a path has no line).
 *
 * The block's state lives on the search it shows (s.nameRows, the hits'
 * rows, which the keyboard moves over before the line results: search.js
 * owns s), and the block says which search it shows in data-q and
 * data-state, as the result list does.
 */

import { ui, h, clear, show } from './dom.js';
import { num, plural } from './format.js';
import { appendHighlightedPath } from './highlight.js';
import { buildURL, fileOf, fileOnlyQ, fileURL, splitQ } from './params.js';

export const BESIDE = 50;       // file-name hits read beside a line search
export const ONLY = 1000;       // and for a file-name search alone ("file:")

export function clearNames() {
  clear(ui.names);
  show(ui.names, false);
  delete ui.names.dataset.q;
  ui.names.dataset.state = 'empty';
}

// Show doc, the file-name search's document, for s; only: the search is
// the file-name search alone (the summary says the counts).
export function renderNames(s, doc, only) {
  const st = doc.stats || {};
  const n = st.matched_files | 0;
  const results = doc.results || [];
  const pattern = splitQ(s.p.q).pattern;
  s.nameRows = [];
  clear(ui.names);
  ui.names.dataset.q = s.p.q;
  ui.names.dataset.state = 'done';
  ui.names.classList.toggle('only', !!only);
  show(ui.names, results.length > 0);
  if (!results.length) return;
  if (!only) {
    const head = h('h2', 'names-head');
    head.id = 'names-head';
    head.appendChild(h('strong', null, num(n)));
    head.appendChild(document.createTextNode(' ' + plural(n, 'file', 'files') + ' named '));
    head.appendChild(h('code', null, pattern));
    ui.names.appendChild(head);
  }
  const list = h('ul', 'name-list');
  list.setAttribute('aria-label', 'Files whose path matches ' + pattern);
  for (const r of results) list.appendChild(nameHit(s, r));
  ui.names.appendChild(list);
  const more = n - results.length;
  if (more > 0) ui.names.appendChild(moreLine(s, pattern, more, only));
}

function nameHit(s, r) {
  const tree = r.tree ? String(r.tree) : '';
  const path = String(r.path);
  const li = h('li', 'name-hit');
  const a = h('a', 'name-link');
  a.href = fileURL(s.p, fileOf(tree, path), 0);
  a.setAttribute('aria-label', 'File ' + path + (tree ? ' in tree ' + tree : ''));
  appendHighlightedPath(a, path, tree, r.ranges);
  li.appendChild(a);
  if (r.lang) li.appendChild(h('span', 'name-lang', r.lang));
  li.dataset.path = path;
  if (tree) li.dataset.tree = tree;
  s.nameRows.push(li);
  return li;
}

// "and N more": beside a line search, a link to the file-name search
// alone; alone, what to do about it.
function moreLine(s, pattern, more, only) {
  const p = h('p', 'names-more');
  const what = num(more) + ' more ' + plural(more, 'file', 'files');
  if (only) {
    p.textContent = 'and ' + what + ': a longer pattern or a path filter narrows the list.';
    return p;
  }
  p.appendChild(document.createTextNode('and '));
  const a = h('a', 'names-all', what);
  a.href = buildURL(Object.assign({}, s.p, { q: fileOnlyQ(pattern) }), '', null);
  a.title = 'List every file named ' + pattern + ' (file:' + pattern + ')';
  p.appendChild(a);
  return p;
}

// The file names beside the lines could not be read: say so in the block.
export function namesFailed(s, text) {
  s.nameRows = [];
  clear(ui.names);
  ui.names.dataset.q = s.p.q;
  ui.names.dataset.state = 'error';
  ui.names.classList.remove('only');
  ui.names.appendChild(h('p', 'names-more', text));
  show(ui.names, true);
}
