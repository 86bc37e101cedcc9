/*
 * facets.js - the side panel of one-click filters: where the matches are
 * (the query document's stats.facets, asked for with facets=1).
 *
 * Three sections, each as the server sorts it (busiest first): the
 * top-level folders, the folders inside the busiest of them, and the
 * languages.  Each row is a button with the name, the count and a bar
 * whose length is the count over the section's largest: matching lines
 * for a line search, files for a file-name search (its facets count no
 * lines).  A folder sets the path filter to it (path=src/, and with
 * several trees the tree filter to its tree), a language the language
 * filter; the row of the filter in force shows pressed, and clicking it
 * again removes that filter.  Files of no known language ("lang": "") are
 * one row, "other", which sets lang=none.  Root files are in no folder
 * row.
 *
 * The bars are SVG rectangles whose width attribute is the proportion:
 * the page's Content-Security-Policy allows no inline style.  On a narrow
 * screen the panel sits above the results, folded under its toggle.
 * onFacetClick() only sets the controls and says so; the entry module
 * then searches, as for any other control.
 */

import { ui, h, clear, show } from './dom.js';
import { num, plural } from './format.js';
import { setLangControl } from './langs.js';
import { globQuote, treeParam } from './params.js';
import { setTreeControl, treeControlValue } from './trees.js';

const SVG = 'http://www.w3.org/2000/svg';

export function clearFacets() {
  clear(ui.facetsBody);
  show(ui.facets, false);
  delete ui.facets.dataset.q;
}

// Show facets (stats.facets of s's document, or undefined: no panel);
// unit: 'lines' or 'files', what the bars count.
export function renderFacets(s, facets, unit) {
  clear(ui.facetsBody);
  const f = facets && typeof facets === 'object' ? facets : null;
  const folders = f && Array.isArray(f.folders) ? f.folders : [];
  const subs = f && Array.isArray(f.subfolders) ? f.subfolders : [];
  const langs = f && Array.isArray(f.langs) ? f.langs : [];
  ui.facets.dataset.q = s.p.q;
  ui.facets.dataset.unit = unit;
  if (!folders.length && !langs.length) { show(ui.facets, false); return; }
  show(ui.facets, true);
  const count = (x) => (unit === 'files' ? x.files : x.lines) | 0;
  const folderRow = (x) => ({
    kind: 'path', value: String(x.path), tree: x.tree ? String(x.tree) : '', n: count(x), files: x.files | 0,
    label: (x.tree ? x.tree + '/' : '') + x.path,
    on: s.p.path === String(x.path) && (!x.tree || s.p.tree === globQuote(String(x.tree)))
  });
  if (folders.length) section('facet-folders', 'Folders', folders.map(folderRow), unit);
  if (subs.length && folders.length) {
    section('facet-subfolders', 'In ', subs.map(folderRow), unit, folderRow(folders[0]).label);
  }
  if (langs.length) {
    section('facet-langs', 'Languages', langs.map((x) => ({
      kind: 'lang', value: x.lang ? String(x.lang) : 'none', tree: '', n: count(x), files: x.files | 0,
      label: x.lang ? String(x.lang) : 'other', on: s.p.lang === (x.lang ? String(x.lang) : 'none')
    })), unit);
  }
}

// A section: its heading (title, then a folder's name as it is written),
// and a row per entry.
function section(id, title, rows, unit, folder) {
  const sec = h('section', 'facet-sec');
  sec.id = id;
  const head = h('h2', 'facet-h', title);
  if (folder) head.appendChild(h('span', 'facet-in', folder));
  head.id = id + '-h';
  sec.setAttribute('aria-labelledby', head.id);
  sec.appendChild(head);
  const list = h('ul', 'facet-list');
  const max = Math.max(1, ...rows.map((r) => r.n));
  for (const r of rows) {
    const li = h('li');
    li.appendChild(facetRow(r, max, unit));
    list.appendChild(li);
  }
  sec.appendChild(list);
  ui.facetsBody.appendChild(sec);
}

// A row: a button for a filter; a plain row for the "other" languages.
function facetRow(r, max, unit) {
  const filters = r.kind === 'path' || r.value !== '';
  const row = h(filters ? 'button' : 'div', 'facet' + (filters ? '' : ' other'));
  const what = num(r.n) + ' ' + (unit === 'files' ? plural(r.n, 'file', 'files')
    : plural(r.n, 'matching line', 'matching lines') + ' in ' + num(r.files) + ' ' + plural(r.files, 'file', 'files'));
  if (filters) {
    row.type = 'button';
    row.dataset.kind = r.kind;
    row.dataset.value = r.value;
    if (r.tree) row.dataset.tree = r.tree;
    row.setAttribute('aria-pressed', r.on ? 'true' : 'false');
    row.title = (r.on ? 'Remove the filter ' : (r.kind === 'path' ? 'Search only in ' : 'Search only language ')) +
      (r.value === 'none' && r.kind === 'lang' ? 'other (files of no known language)' : r.label) + ': ' + what;
  } else {
    row.title = 'Files of no known language: ' + what;
  }
  row.appendChild(h('span', 'facet-name', r.label));
  row.appendChild(h('span', 'facet-n', num(r.n)));
  const bar = document.createElementNS(SVG, 'svg');
  bar.setAttribute('class', 'facet-bar');
  bar.setAttribute('viewBox', '0 0 100 1');
  bar.setAttribute('preserveAspectRatio', 'none');
  bar.setAttribute('aria-hidden', 'true');
  const fill = document.createElementNS(SVG, 'rect');
  fill.setAttribute('class', 'facet-fill');
  fill.setAttribute('width', String(100 * r.n / max));
  fill.setAttribute('height', '1');
  bar.appendChild(fill);
  row.appendChild(bar);
  return row;
}

// A click in the panel: set the filter its row says (or remove it, if the
// row is the filter in force), and say whether a control changed.
export function onFacetClick(e) {
  const b = e.target.closest && e.target.closest('button.facet');
  if (!b || !ui.facetsBody.contains(b)) return false;
  const on = b.getAttribute('aria-pressed') === 'true';
  if (b.dataset.kind === 'path') {
    ui.path.value = on ? '' : b.dataset.value;
    if (!on && b.dataset.tree && treeControlValue() !== treeParam([b.dataset.tree])) {
      setTreeControl(treeParam([b.dataset.tree]));
    }
  } else if (b.dataset.kind === 'lang') {
    setLangControl(on ? '' : b.dataset.value);
  } else {
    return false;
  }
  return true;
}

// The panel's own toggle (shown on narrow screens).
export function onFacetsToggle() {
  const open = !ui.facets.classList.contains('open');
  ui.facets.classList.toggle('open', open);
  ui.facetsToggle.setAttribute('aria-expanded', open ? 'true' : 'false');
}
