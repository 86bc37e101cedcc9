/*
 * router.js - which view the address shows, and how the address moves.
 *
 * route() makes the page show what the address says (params.js reads it):
 * the controls, the search (search.js runs it unless it is already shown
 * or in flight) and, with &file=, the file view over it.  The address
 * changes through navigate() (links, back to results) and updateURL()
 * (the controls).  Typing replaces the history entry while a burst of
 * typing lasts (BURST_MS between updates) and pushes a new one otherwise,
 * so back and forward move between queries, not keystrokes; Enter at the
 * end of a burst stays in its entry.  Each search entry keeps its scroll
 * position (history.state.y), restored on back and forward.
 */

import { ui, show } from './dom.js';
import { forgetFile, openFileView } from './fileview.js';
import { langControlValue, setLangControl } from './langs.js';
import { buildURL, normParams, parseLocation } from './params.js';
import { search, searchFailed } from './search.js';
import { setTreeControl, treeControlValue } from './trees.js';

const DEBOUNCE_MS = 90;         // typing pause before a query is sent
const BURST_MS = 1200;          // typing within this of the last update replaces the history entry

let view = '';                  // 'search' or 'file'
let debounceTimer = 0;
let lastTypeURL = 0;            // time of the last history update made by typing

export function currentView() { return view; }

/* ------------------------------------------------------------------ *
 * Controls <-> parameters.
 * ------------------------------------------------------------------ */

function readControls() {
  return normParams({
    q: ui.q.value,
    literal: ui.literal.checked,
    case: ui.caseSel.value,
    tree: treeControlValue(),
    path: ui.path.value,
    exclude: ui.exclude.value,
    lang: langControlValue(),
    context: ui.context.value,
    names: ui.fileNames.checked,
    select: ui.show.value
  });
}

function writeControls(p) {
  if (ui.q.value !== p.q) ui.q.value = p.q;
  ui.literal.checked = p.literal;
  ui.regex.checked = !p.literal;
  ui.caseSel.value = p.case;
  setTreeControl(p.tree);
  if (ui.path.value.trim() !== p.path) ui.path.value = p.path;
  if (ui.exclude.value.trim() !== p.exclude) ui.exclude.value = p.exclude;
  setLangControl(p.lang);
  ui.context.value = String(p.context);
  ui.fileNames.checked = p.names;
  ui.show.value = p.select;
  dependentControls(p);
}

// Context lines go with matching lines: a list of files has none.
function dependentControls(p) {
  ui.context.disabled = p.select === 'files';
}

/* ------------------------------------------------------------------ *
 * Address -> page.
 * ------------------------------------------------------------------ */

function showSearchView() {
  view = 'search';
  show(ui.fileView, false);
  show(ui.fileBar, false);
  show(ui.searchView, true);
  document.body.classList.remove('in-file');
}

// opts.force: run the search and read the file again even if shown.
export function route(opts = {}) {
  const st = parseLocation();
  writeControls(st.params);
  if (st.file) {
    view = 'file';
    // Keep the query behind the file view current, so that "back to
    // results" is instant; it runs only if it is not already there.
    if (st.params.q) search(st.params, opts.force);
    if (opts.force) forgetFile();
    openFileView(st);
  } else {
    const wasFile = view === 'file';
    showSearchView();
    search(st.params, opts.force);
    document.title = st.params.q ? st.params.q + ' · shardgrep' : 'shardgrep';
    const y = history.state && typeof history.state.y === 'number' ? history.state.y : (wasFile ? null : undefined);
    if (typeof y === 'number') window.scrollTo(0, y);
    else if (y === null) window.scrollTo(0, 0);
  }
}

function saveScroll() {
  const s = history.state && typeof history.state === 'object' ? Object.assign({}, history.state) : {};
  s.y = window.scrollY;
  history.replaceState(s, '');
}

function navigate(url, push) {
  if (view === 'search') saveScroll();
  if (push) history.pushState({}, '', url);
  else history.replaceState({}, '', url);
  lastTypeURL = 0;
  route();
  if (view === 'file' || !parseLocation().params.q) window.scrollTo(0, 0);
}

// Open a result's file view; "back to results" then returns to this entry.
export function openResult(href) {
  navigate(href, true);
  history.replaceState(Object.assign({}, history.state, { fromResults: true }), '');
}

export function goBackToResults() {
  // If we came from the results, going back restores their history entry
  // (and scroll position); otherwise push the results' address.
  if (history.state && history.state.fromResults) history.back();
  else navigate(ui.back.getAttribute('href'), true);
}

// Back or forward.
export function onPopState() {
  lastTypeURL = 0;
  route();
}

// Same-page links (results, file links, examples, brand) route without a
// reload; modified clicks (new tab) keep the browser's behaviour.  A click
// on a result's text (not a selection of it) opens it too.
export function onLinkClick(e) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest('a[href]');
  if (a && a !== ui.back && !ui.fileBody.contains(a) && !a.classList.contains('skip')) {
    const u = new URL(a.href, location.href);
    if (u.origin !== location.origin || u.pathname !== location.pathname) return;
    e.preventDefault();
    if (view === 'search' && u.searchParams.has('file')) openResult(u.pathname + u.search + u.hash);
    else navigate(u.pathname + u.search + u.hash, true);
    return;
  }
  const row = e.target.closest && e.target.closest('#results .row.match');
  if (row && !(window.getSelection && String(window.getSelection()))) {
    openResult(row.firstChild.getAttribute('href'));
  }
}

/* ------------------------------------------------------------------ *
 * Controls -> address.
 * ------------------------------------------------------------------ */

// Update the address for new controls; typing bursts share one entry,
// and Enter at the end of a burst stays in it (it ends the burst).
function updateURL(p, how) {
  const url = buildURL(p, '', null);
  const here = location.pathname + location.search + location.hash;
  if (url === here) { if (how !== 'type') lastTypeURL = 0; return; }
  const now = Date.now();
  const typed = how === 'type' || how === 'enter';
  const replace = typed && lastTypeURL && now - lastTypeURL < BURST_MS && view === 'search';
  if (replace) history.replaceState(history.state, '', url);
  else { saveScroll(); history.pushState({}, '', url); }
  lastTypeURL = how === 'type' ? now : 0;
}

// The controls changed: how is 'type' (a debounced keystroke), 'enter'
// or 'commit' (an option, a button).  A failed search runs again unless
// this is typing.
export function fromControls(how) {
  clearTimeout(debounceTimer);
  debounceTimer = 0;
  const p = readControls();
  dependentControls(p);
  if (view === 'file') {
    // Typing in the box from the file view goes back to the results.
    showSearchView();
    document.title = 'shardgrep';
  }
  updateURL(p, how);
  search(p, how !== 'type' && searchFailed(p));
}

export function debounced() {
  clearTimeout(debounceTimer);
  debounceTimer = setTimeout(() => { fromControls('type'); }, DEBOUNCE_MS);
}

export function clearSearch() {
  ui.q.value = '';
  fromControls('commit');
  ui.q.focus();
}

// The "search as literal text" button under a regex error.
export function searchAsLiteral() {
  ui.literal.checked = true;
  fromControls('commit');
  ui.q.focus();
}
