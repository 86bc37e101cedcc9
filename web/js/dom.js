/*
 * dom.js - the page's elements, and the one way text goes into them.
 *
 * Everything that comes from the index (paths, lines) is put in the page
 * as text (textContent, createTextNode) through h(), never parsed as
 * markup; and no element gets an inline style, which the page's
 * Content-Security-Policy forbids: every look is a CSS class.  ui names
 * the elements of index.html that the modules use, found once.
 */

function $(id) { return document.getElementById(id); }

export const ui = {
  form: $('search-form'), q: $('q'), regex: $('mode-regex'), literal: $('mode-literal'),
  caseSel: $('case'), path: $('path'), exclude: $('exclude'), context: $('context'),
  lang: $('lang'), fileNames: $('file-names'), show: $('show'),
  treeFilter: $('tree-filter'), treeChips: $('tree-chips'),
  qError: $('q-error'), qErrorText: $('q-error-text'), asLiteral: $('as-literal'),
  notice: $('notice'), noticeText: $('notice-text'), noticeRetry: $('notice-retry'),
  searchView: $('search-view'), summary: $('summary'), searching: $('searching'), warning: $('warning'),
  results: $('results'), moreRow: $('more-row'), moreCount: $('more-count'), more: $('more'),
  names: $('names'), facets: $('facets'), facetsBody: $('facets-body'), facetsToggle: $('facets-toggle'),
  welcome: $('welcome'), indexStats: $('index-stats'),
  fileView: $('file-view'), fileBar: $('file-bar'), back: $('back'), backLabel: $('back-label'),
  filePath: $('file-path'), fileMeta: $('file-meta'), fileStatus: $('file-status'),
  fileLinks: $('file-links'), fileEditor: $('file-editor'), fileHost: $('file-host'),
  fileBody: $('file-body'), help: $('help'), helpBtn: $('help-btn'), helpClose: $('help-close'),
  top: $('top'), tokenForm: $('token-form'), token: $('token'), tokenError: $('token-error')
};

// A new element with a class and text (as text, never markup).
export function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

export function show(node, on) { node.hidden = !on; }

// A tree's name as a label before a path ("TREE/"); nothing without one.
export function appendTreeLabel(node, tree) {
  if (!tree) return;
  const t = h('span', 'tree', tree);
  t.title = 'Tree ' + tree;
  node.appendChild(t);
  node.appendChild(h('span', 'tree-sep', '/'));
}

// "path/to/file.c" as a dimmed folder and a bold base name; with a tree
// (the server has several), its name first, as a label: the text reads
// TREE/PATH, as the address and /api/files name the file.
export function appendPath(node, path, tree) {
  appendTreeLabel(node, tree);
  const slash = path.lastIndexOf('/');
  if (slash >= 0) node.appendChild(h('span', 'dir', path.slice(0, slash + 1)));
  node.appendChild(h('span', 'base', path.slice(slash + 1)));
}

// The header sticks to the top on wide screens: scrolling to a row keeps
// it below the header.  center: put the row a third of the way down.
function headerBottom() {
  const cs = getComputedStyle(ui.top);
  return cs.position === 'sticky' || cs.position === 'fixed' ? ui.top.getBoundingClientRect().bottom : 0;
}
export function scrollIntoViewUnderHeader(el, center) {
  const r = el.getBoundingClientRect();
  const top = headerBottom() + 8, bottom = window.innerHeight - 8;
  if (center) {
    if (r.top < top || r.bottom > bottom) {
      window.scrollBy(0, r.top - top - Math.max(0, (bottom - top - r.height) / 3));
    }
    return;
  }
  if (r.top < top) window.scrollBy(0, r.top - top);
  else if (r.bottom > bottom) window.scrollBy(0, r.bottom - bottom);
}
