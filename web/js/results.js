/*
 * results.js - what the search view shows: the result list, its summary
 * and warnings, the "show more" row, the keyboard selection in the list,
 * the welcome panel, and why there are no results (an error next to the
 * box, or a search that could not be read).
 *
 * Results arrive sorted by path then line (by tree first, with several
 * trees), a page at a time.  Each file is a group, headed by its path and,
 * when the result names its tree (the server has several), the tree's
 * label; its links address the file as params.js's fileOf() says.  Lines
 * shared by the context of neighbouring matches are shown once, and a gap
 * marker separates runs that are not contiguous.  A match
 * line that an earlier match showed as context is upgraded, across pages
 * too.  The list's state lives on the search it shows (s.groups,
 * s.matchRows, s.shown, s.returned: search.js owns s), so a list can
 * never be appended to by another search's page.
 *
 * With "Show: files" (select=files) the list is each matching file once,
 * with its count of matching lines, paged the same way.
 *
 * The file-name hits (names.js) and the side panel (facets.js) are shown
 * with the answer that brings them; a search alone of file names ("file:")
 * has its counts in the summary and no line list.  The keyboard moves over
 * the rows search.js hands it (the file-name hits, then the match lines).
 *
 * Every render ends with an "sg:rendered" event on document, {q, id, what:
 * "first"|"more"|"names", shown} or {q, error}: the browser tests and the
 * latency figures in the README wait on it.
 */

import { getStats } from './api.js';
import { ui, h, clear, show, appendPath, scrollIntoViewUnderHeader } from './dom.js';
import { clearFacets, renderFacets } from './facets.js';
import { resultLinks } from './links.js';
import { num, plural, capital, fmtMs, fmtBytes } from './format.js';
import { clearNames, renderNames } from './names.js';
import { fileOf, fileURL, splitQ } from './params.js';
import { paintLine } from './syntax.js';
import { needToken } from './token.js';
import { shardCount, treeRank } from './trees.js';

export const PAGE = 200;        // results shown per page ("show more" reads the next)

let selected = null;            // the selected row (keyboard), or null

function emit(detail) {
  document.dispatchEvent(new CustomEvent('sg:rendered', { detail }));
}

/* ------------------------------------------------------------------ *
 * The list.
 * ------------------------------------------------------------------ */

function clearResults() {
  // A file-name hit stays selected when the lines come after it.
  if (selected && !ui.names.contains(selected)) selected = null;
  clear(ui.results);
  showSearching(null);
  show(ui.moreRow, false);
  showWarning('');
  delete ui.results.dataset.q;
  ui.results.dataset.state = 'empty';
}

// The first page of s: doc is the query document.
export function renderAnswer(s, doc) {
  s.doc = doc;
  s.groups = [];
  s.matchRows = [];
  clearResults();
  show(ui.welcome, false);
  const st = doc.stats || {};
  s.returned = st.returned | 0;
  ui.results.dataset.q = s.p.q;
  ui.results.dataset.id = doc.id;
  ui.results.dataset.state = 'done';
  appendResults(s, doc.results || []);
  s.shown = ((doc.page && doc.page.offset) | 0) + ((doc.page && doc.page.count) | 0);
  renderSummary(s, doc);
  renderFacets(s, st.facets, 'lines');
  updateMore(s);
  if (!ui.searchView.hidden) document.title = s.p.q + ' · shardgrep';
  emit({ q: s.p.q, id: doc.id, what: 'first', shown: s.shown });
}

// The answer of a search of file names alone ("file:"): its counts in the
// summary, the hits in the file-name block, and no line list.
export function renderNamesOnly(s, doc) {
  s.doc = doc;
  clearResults();
  show(ui.welcome, false);
  const st = doc.stats || {};
  const n = st.matched_files | 0;
  const pattern = splitQ(s.p.q).pattern;
  clear(ui.summary);
  if (n === 0) {
    ui.summary.appendChild(document.createTextNode('No file names match'));
  } else {
    ui.summary.appendChild(h('strong', null, num(n)));
    ui.summary.appendChild(document.createTextNode(' ' + plural(n, 'file', 'files') + ' named '));
    ui.summary.appendChild(h('code', null, pattern));
  }
  ui.summary.appendChild(h('span', 'elapsed', ' · ' + fmtMs(st.elapsed_ms)));
  showWarning(statusWarnings(doc).join(' '));
  renderNames(s, doc, true);
  renderFacets(s, st.facets, 'files');
  if (n === 0) ui.results.appendChild(noResults(s, doc, 'No file path matches ', pattern));
  if (!ui.searchView.hidden) document.title = s.p.q + ' · shardgrep';
  emit({ q: s.p.q, id: doc.id, what: 'names', shown: (doc.results || []).length });
}

// The file-name hits beside the lines were shown.
export function namesRendered(s, doc) {
  emit({ q: s.p.q, id: doc.id, what: 'names', shown: (doc.results || []).length });
}

// A later page of s, read from offset.
export function renderMore(s, doc, offset) {
  appendResults(s, doc.results || []);
  s.shown = offset + ((doc.page && doc.page.count) | 0);
  s.returned = doc.stats ? doc.stats.returned : s.returned;
  ui.more.disabled = false;
  updateMore(s);
  emit({ q: s.p.q, id: doc.id, what: 'more', shown: s.shown });
}

/* ------------------------------------------------------------------ *
 * The first page, streamed (search.js reads GET /api/search?stream=1).
 *
 * Matches come as each shard sends them: each shard's in (path, line)
 * order, the shards interleaved.  Each is put where the final answer
 * has it among those shown: a file's group at its place in the server's
 * order (tree, in the server's order of trees, then the path's bytes),
 * a line in its group by number (a file lives on one shard, so its
 * lines mostly come in order and are appended; one that does not redraws
 * its group).  Only the first PAGE in that order are kept: each shard
 * sends at most max (>= PAGE) in order, so once every shard is done the
 * PAGE kept are the first PAGE of the final answer, which is then shown
 * as it is.  When that cannot be known (a shard failed or the query
 * stopped short; a path with U+FFFD, whose real bytes are not known; a
 * tree whose place is not known) search.js reads the page by the id
 * instead and renderAnswer() draws it.
 * ------------------------------------------------------------------ */

// UTF-16 code units -> an order that is the order of code points, which
// is the order of the UTF-8 bytes (the server's strcmp of paths).
function cpUnit(c) {
  return c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c;
}
function cmpBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return cpUnit(x) - cpUnit(y);
  }
  return a.length - b.length;
}

function cmpFile(s, ta, pa, tb, pb) {
  if (ta !== tb) {
    const ra = treeRank(ta), rb = treeRank(tb);
    if (ra < 0 || rb < 0) s.live.unsure = true;
    return ra !== rb ? ra - rb : cmpBytes(ta, tb);
  }
  return cmpBytes(pa, pb);
}

// Index of the first of items (sorted, each {tree, path}) not before
// (tree, path), and whether it is that file.
function findFile(s, items, tree, path) {
  let lo = 0, hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmpFile(s, items[mid].tree, items[mid].path, tree, path) < 0) lo = mid + 1;
    else hi = mid;
  }
  const found = lo < items.length && items[lo].tree === tree && items[lo].path === path;
  return { at: lo, found };
}

// The query began: nothing shown of it yet but "searching".
export function streamBegin(s, rec) {
  s.live = { started: false, count: 0, shardsDone: 0, shards: shardCount(), unsure: false,
             id: String(rec.id || ''), query: rec.query || null, files: [] };
  ui.results.dataset.streamId = s.live.id;
  showSearching(s.live);
}

// A shard finished (whatever its status): the indicator counts it.
export function streamShard(s) {
  if (!s.live) return;
  s.live.shardsDone++;
  showSearching(s.live);
}

// The search stopped (superseded, failed): no indicator.
export function streamStopped() { showSearching(null); }

function showSearching(live) {
  if (!live) { show(ui.searching, false); ui.searching.textContent = ''; return; }
  ui.searching.textContent = live.shards
    ? 'Searching… ' + live.shardsDone + ' ' + plural(live.shardsDone, 'shard', 'shards') + ' of ' + live.shards
    : 'Searching… ' + live.shardsDone + ' ' + plural(live.shardsDone, 'shard', 'shards') + ' done';
  show(ui.searching, true);
}

// The first matches replace what the last search showed.
function startLive(s) {
  s.live.started = true;
  s.groups = [];
  s.matchRows = [];
  clearResults();
  showSearching(s.live);
  show(ui.welcome, false);
  ui.results.dataset.q = s.p.q;
  ui.results.dataset.id = s.live.id;
  ui.results.dataset.streamId = s.live.id;
  ui.results.dataset.state = 'streaming';
}

// Match records of a chunk of the stream.
export function streamMatches(s, recs) {
  if (!s.live || !recs.length) return;
  if (!s.live.started) startLive(s);
  if (s.p.select === 'files') {
    for (const r of recs) liveFile(s, r);
    s.matchRows = s.live.files.map((x) => x.li);
  } else {
    const dirty = new Set();
    for (const r of recs) liveLine(s, r, dirty);
    for (const g of dirty) redrawGroup(s, g);
    s.matchRows = rowsOf(s);
  }
  keepSelection(s.matchRows);
}

function noteUnsure(s, tree, path) {
  if (path.indexOf('\ufffd') >= 0 || tree.indexOf('\ufffd') >= 0) s.live.unsure = true;
}

function liveLine(s, r, dirty) {
  const tree = r.tree ? String(r.tree) : '';
  const path = String(r.path);
  const line = r.line | 0;
  noteUnsure(s, tree, path);
  const groups = s.groups;
  if (s.live.count >= PAGE) {
    // Past the last one kept: not on the first page.
    const lg = groups[groups.length - 1];
    const c = cmpFile(s, tree, path, lg.tree, lg.path);
    if (c > 0 || (c === 0 && line > (lg.results[lg.results.length - 1].line | 0))) return;
  }
  const f = findFile(s, groups, tree, path);
  const g = f.found ? groups[f.at] : newGroup(s, tree, path, f.at);
  const res = g.results;
  if (!res.length || (res[res.length - 1].line | 0) < line) {
    res.push(r);
    if (!dirty.has(g)) addResult(s, g, r);
  } else {
    let k = res.length;
    while (k > 0 && (res[k - 1].line | 0) > line) k--;
    res.splice(k, 0, r);
    dirty.add(g);
  }
  if (++s.live.count > PAGE) {
    const lg = groups[groups.length - 1];
    lg.results.pop();
    s.live.count--;
    if (lg.results.length) {
      dirty.add(lg);
    } else {
      lg.sec.remove();
      groups.pop();
      dirty.delete(lg);
    }
  }
}

function liveFile(s, r) {
  const tree = r.tree ? String(r.tree) : '';
  const path = String(r.path);
  noteUnsure(s, tree, path);
  const items = s.live.files;
  const f = findFile(s, items, tree, path);
  if (f.found || f.at >= PAGE) return;
  let list = ui.results.querySelector('.file-counts');
  if (!list) {
    list = h('ul', 'file-counts');
    list.setAttribute('aria-label', 'Matching files');
    ui.results.appendChild(list);
  }
  const li = fileItem(s, r);
  list.insertBefore(li, f.at < items.length ? items[f.at].li : null);
  items.splice(f.at, 0, { tree, path, li });
  if (items.length > PAGE) items.pop().li.remove();
}

// A row redrawn (or dropped) under the keyboard's selection: select its
// new self, or nothing.
function keepSelection(rows) {
  if (!selected || selected.isConnected) return;
  const old = selected;
  selected = null;
  const same = rows.find((r) => r.dataset.path === old.dataset.path && r.dataset.line === old.dataset.line &&
                                r.dataset.tree === old.dataset.tree);
  if (same) {
    selected = same;
    same.classList.add('sel');
    same.setAttribute('aria-current', 'true');
  }
}

// The summary came.  Shows it and returns true when what is shown is the
// final first page; false when search.js must read it by the id.
export function streamEnd(s, sum) {
  const live = s.live;
  showSearching(null);
  const st = sum.stats || {};
  const n = s.p.select === 'files' ? live.files.length : live.count;
  if (sum.status !== 'done' || live.unsure || n !== Math.min(PAGE, st.returned | 0)) return false;
  if (!live.started) startLive(s);
  const doc = { id: sum.id, status: sum.status, query: live.query, stats: st,
                page: { offset: 0, limit: PAGE, count: n }, results: [] };
  if (sum.error) doc.error = sum.error;
  s.doc = doc;
  s.returned = st.returned | 0;
  s.shown = n;
  ui.results.dataset.id = doc.id;
  ui.results.dataset.state = 'done';
  renderSummary(s, doc);
  renderFacets(s, st.facets, 'lines');
  updateMore(s);
  if (!ui.searchView.hidden) document.title = s.p.q + ' · shardgrep';
  emit({ q: s.p.q, id: doc.id, what: 'first', shown: s.shown });
  return true;
}

function appendResults(s, results) {
  if (s.p.select === 'files') { appendFiles(s, results); return; }
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    const tree = r.tree ? String(r.tree) : '';
    let g = s.groups[s.groups.length - 1];
    if (!g || g.path !== r.path || g.tree !== tree) g = newGroup(s, tree, r.path, -1);
    g.results.push(r);
    addResult(s, g, r);
  }
  s.matchRows = rowsOf(s);
}

// The match rows of the groups, in the order shown.
function rowsOf(s) {
  const rows = [];
  for (const g of s.groups) for (const r of g.rows) rows.push(r);
  return rows;
}

// select=files: each matching file once, with its count of matching
// lines (like rg -c), linking to its file view; the keyboard moves over
// these rows as over match lines.
function appendFiles(s, results) {
  let list = ui.results.querySelector('.file-counts');
  if (!list && results.length) {
    list = h('ul', 'file-counts');
    list.setAttribute('aria-label', 'Matching files');
    ui.results.appendChild(list);
  }
  for (const r of results) {
    const li = fileItem(s, r);
    list.appendChild(li);
    s.matchRows.push(li);
  }
}

function fileItem(s, r) {
  const tree = r.tree ? String(r.tree) : '';
  const path = String(r.path);
  const n = r.count | 0;
  const li = h('li', 'file-count');
  const a = h('a', 'file-link');
  a.href = fileURL(s.p, fileOf(tree, path), 0);
  appendPath(a, path, tree);
  li.appendChild(a);
  li.appendChild(h('span', 'count', num(n) + ' matching ' + plural(n, 'line', 'lines')));
  const links = resultLinks(r, (tree ? tree + '/' : '') + path);
  if (links) li.appendChild(links);
  li.dataset.path = path;
  if (tree) li.dataset.tree = tree;
  li.dataset.count = String(n);
  return li;
}

// A file's group, at index in s.groups (-1: after the last).
function newGroup(s, tree, path, index) {
  const file = fileOf(tree, path);
  const sec = h('section', 'file');
  sec.setAttribute('aria-label', tree ? path + ' in tree ' + tree : path);
  const head = h('h2', 'file-head-r');
  const a = h('a', 'file-link');
  a.href = fileURL(s.p, file, 0);
  appendPath(a, path, tree);
  head.appendChild(a);
  const count = h('span', 'count');
  head.appendChild(count);
  const body = h('div', 'lines code d2');
  sec.appendChild(head);
  sec.appendChild(body);
  const g = { tree, path, file, sec, body, count, lang: '', matches: 0, last: 0, tail: [], firstLine: 0, link: a, digits: 2,
              results: [], rows: [] };
  if (index >= 0 && index < s.groups.length) {
    ui.results.insertBefore(sec, s.groups[index].sec);
    s.groups.splice(index, 0, g);
  } else {
    ui.results.appendChild(sec);
    s.groups.push(g);
  }
  return g;
}

// Draw g again from its results (one came in before others shown).
function redrawGroup(s, g) {
  clear(g.body);
  g.body.className = 'lines code d2';
  Object.assign(g, { matches: 0, last: 0, tail: [], firstLine: 0, digits: 2, rows: [] });
  for (const r of g.results) addResult(s, g, r);
}

function addResult(s, g, r) {
  const before = Array.isArray(r.before) ? r.before : [];
  const after = Array.isArray(r.after) ? r.after : [];
  const line = r.line | 0;
  const start = line - before.length;
  if (!g.lang && r.lang) g.lang = String(r.lang);
  // Context lines after the previous match that this result covers again.
  while (g.tail.length && g.tail[g.tail.length - 1].n >= start) {
    const t = g.tail.pop();
    if (t.gap) t.gap.remove();
    t.el.remove();
    g.last = t.n - 1;
  }
  for (let k = 0; k < before.length; k++) emitLine(s, g, start + k, before[k], null, null);
  emitLine(s, g, line, String(r.text), r.ranges || [], r);
  g.tail = [];
  for (let k = 0; k < after.length; k++) {
    const el = emitLine(s, g, line + 1 + k, after[k], null, null);
    if (el) g.tail.push(el);
  }
  g.matches++;
  g.count.textContent = num(g.matches) + ' ' + plural(g.matches, 'match', 'matches');
  if (!g.firstLine) {
    g.firstLine = line;
    g.link.href = fileURL(s.p, g.file, line);
  }
}

function emitLine(s, g, n, text, ranges, r) {
  if (n <= g.last) return null;
  let gap = null;
  if (g.last && n > g.last + 1) {
    gap = h('div', 'row gap');
    gap.appendChild(h('span', 'ln', '⋯'));
    gap.appendChild(h('span', 'src'));
    gap.setAttribute('aria-hidden', 'true');
    g.body.appendChild(gap);
  }
  const digits = String(n).length;
  if (digits > g.digits) {
    // The gutter fits the widest line number (a class: no inline styles).
    g.body.classList.replace('d' + g.digits, 'd' + Math.min(digits, 7));
    g.digits = Math.min(digits, 7);
  }
  const row = h('div', r ? 'row match' : 'row ctx');
  const ln = h('a', 'ln', String(n));
  ln.href = fileURL(s.p, g.file, n);
  ln.setAttribute('aria-label', (r ? 'Line ' : 'Context line ') + n + ' of ' + g.path + (g.tree ? ' in tree ' + g.tree : ''));
  if (!r) ln.tabIndex = -1;
  const src = h('span', 'src');
  if (r) {
    paintLine(src, text, ranges, g.lang);
    if (r.clipped) {
      // Ellipses drawn by CSS, so that copied text is the line's own.
      if ((r.column | 0) > 0) src.classList.add('clip-start');
      src.classList.add('clip-end');
      row.title = 'Long line: shown around the match (from byte ' + (r.column | 0) + ')';
    }
    row.dataset.path = g.path;
    if (g.tree) row.dataset.tree = g.tree;
    row.dataset.line = String(n);
    g.rows.push(row);
  } else {
    paintLine(src, String(text), null, g.lang);
  }
  row.appendChild(ln);
  row.appendChild(src);
  // Editor and code-host links, as the server made them (links.js).
  const links = r ? resultLinks(r, 'line ' + n + ' of ' + (g.tree ? g.tree + '/' : '') + g.path) : null;
  if (links) {
    row.classList.add('has-links');
    row.appendChild(links);
  }
  g.body.appendChild(row);
  g.last = n;
  return { n, el: row, gap };
}

/* ------------------------------------------------------------------ *
 * Summary, warnings, "show more".
 * ------------------------------------------------------------------ */

function showWarning(text) {
  ui.warning.textContent = text;
  show(ui.warning, !!text);
}

function renderSummary(s, doc) {
  const st = doc.stats || {};
  const lines = st.matched_lines | 0, files = st.matched_files | 0;
  clear(ui.summary);
  if (lines === 0) {
    ui.summary.appendChild(document.createTextNode('No matches'));
  } else {
    ui.summary.appendChild(h('strong', null, num(lines)));
    ui.summary.appendChild(document.createTextNode(' matching ' + plural(lines, 'line', 'lines') + ' in '));
    ui.summary.appendChild(h('strong', null, num(files)));
    ui.summary.appendChild(document.createTextNode(' ' + plural(files, 'file', 'files')));
  }
  ui.summary.appendChild(h('span', 'elapsed', ' · ' + fmtMs(st.elapsed_ms)));

  const warn = [];
  if (st.truncated) {
    warn.push('Only the first ' + num(st.returned | 0) + ' of ' + num(s.p.select === 'files' ? files : lines) +
              ' matching ' + (s.p.select === 'files' ? 'files' : 'lines') +
              ' are listed: narrow the search (a path filter, a longer pattern) to see the rest.');
  }
  showWarning(warn.concat(statusWarnings(doc)).join(' '));
  if (lines === 0) ui.results.appendChild(noResults(s, doc, 'Nothing matches ', s.p.q));
}

// What the answer's status and stats say is missing from it.
function statusWarnings(doc) {
  const st = doc.stats || {};
  const warn = [];
  if (doc.status === 'timed_out') warn.push('The search hit its time limit: the results and counts are incomplete.');
  const gaps = st.incomplete || [];
  const failed = (st.shards && st.shards.failed) || [];
  if (failed.length) {
    warn.push('Search worker' + (failed.length === 1 ? ' ' : 's ') + failed.join(', ') +
              ' failed during this search: the results are incomplete. Search again in a moment.');
  }
  if (gaps.includes('match_limit')) {
    const n = st.limit_hits | 0;
    warn.push(num(n) + ' ' + plural(n, 'line was', 'lines were') +
              ' too costly for this regex (PCRE2\'s match limit): matches in them are not listed.' +
              ' A simpler pattern or a path filter avoids it.');
  }
  if (doc.status === 'cancelled') warn.push('The search was cancelled on the server.');
  if (doc.status === 'failed') warn.push('The search failed on the server.');
  return warn;
}

// "Nothing matches PATTERN", and the filters that could be why.
function noResults(s, doc, text, pattern) {
  const empty = h('div', 'no-results');
  empty.appendChild(document.createTextNode(text));
  empty.appendChild(h('code', null, pattern));
  const hints = [];
  if (s.p.tree) hints.push('the tree filter');
  if (s.p.path) hints.push('the path filter');
  if (s.p.exclude) hints.push('the exclude filter');
  if (s.p.lang) hints.push('the language filter');
  // The server says what case=auto decided (group names and verbs
  // such as (?<Name>...) do not make a search case-sensitive).
  if (doc.query && doc.query.ignore_case === false) hints.push('case sensitivity');
  empty.appendChild(document.createTextNode(hints.length ? '. Check ' + hints.join(', ') + '.' : '.'));
  return empty;
}

function updateMore(s) {
  const remaining = s.returned - s.shown;
  show(ui.moreRow, remaining > 0);
  ui.moreCount.textContent = 'Showing ' + num(s.shown) + ' of ' + num(s.returned) +
    (s.doc && s.doc.stats && s.doc.stats.truncated ? ' listed' : '') +
    (s.p.select === 'files' ? ' matching files' : ' matching lines');
  ui.more.textContent = 'Show ' + num(Math.min(PAGE, remaining)) + ' more';
}

export function moreLoading() {
  ui.more.disabled = true;
  ui.more.textContent = 'Loading…';
}

// The next page did not come: the button again, and why (text: '' when
// something else says it, the token form or the "server down" notice).
export function moreFailed(s, text) {
  ui.more.disabled = false;
  updateMore(s);
  if (text) showWarning(text);
}

/* ------------------------------------------------------------------ *
 * No results: the welcome panel, or why not.
 * ------------------------------------------------------------------ */

let statsLoaded = false;

export function showWelcome() {
  clearResults();
  clearNames();
  clearFacets();
  ui.summary.textContent = '';
  show(ui.welcome, true);
  loadIndexStats();
  document.title = 'shardgrep';
}

// The index figures are read again next time (a token was given).
export function forgetIndexStats() { statsLoaded = false; }

function loadIndexStats() {
  if (statsLoaded) return;
  getStats().then((d) => {
    statsLoaded = true;
    const shards = Array.isArray(d.shards) ? d.shards.length : 0;
    const trees = Array.isArray(d.trees) && d.trees.length > 1 ? d.trees.map((t) => String(t.name)) : [];
    ui.indexStats.textContent = 'Index: ' + num(d.files | 0) + ' files, ' + num(d.lines | 0) +
      ' lines, ' + fmtBytes(d.bytes || 0) + ' across ' + shards + ' ' + plural(shards, 'worker', 'workers') +
      (trees.length ? ', in ' + trees.length + ' trees: ' + trees.join(', ') : '') + '.';
  }, (e) => { needToken(e); });
}

// No list, and a sentence in the summary saying why.
export function showNoSearch(text) {
  clearResults();
  clearNames();
  clearFacets();
  show(ui.welcome, false);
  ui.summary.textContent = text;
}

// The server refused the query (400 bad_regex, a bad glob...): the
// message next to the box, the field marked.
export function showQueryError(err, q) {
  const msg = String(err.message || err.code || 'error');
  let text;
  if (err.code === 'bad_regex') text = 'Invalid regular expression: ' + msg;
  else if (err.param && err.param !== 'q' && msg.indexOf(err.param + ':') !== 0) text = capital(err.param) + ': ' + msg;
  else text = capital(msg);
  ui.qErrorText.textContent = text;
  show(ui.asLiteral, err.code === 'bad_regex');
  show(ui.qError, true);
  const bad = { path: ui.path, exclude: ui.exclude, tree: ui.treeFilter, lang: ui.lang }[err.param] || ui.q;
  bad.setAttribute('aria-invalid', 'true');
  showNoSearch(err.code === 'bad_regex'
    ? 'No search: the pattern is not a valid regular expression.'
    : err.param === 'path' || err.param === 'exclude'
      ? 'No search: the ' + err.param + ' filter is not valid.'
      : err.param === 'tree'
        ? 'No search: the tree filter selects no tree.'
        : err.param === 'lang'
          ? 'No search: the language filter names no language this server knows.'
          : 'No search: the server refused the query.');
  ui.results.dataset.state = 'error';
  emit({ q, error: err.code });
}

export function clearQError() {
  show(ui.qError, false);
  ui.qErrorText.textContent = '';
  ui.q.setAttribute('aria-invalid', 'false');
  ui.path.removeAttribute('aria-invalid');
  ui.exclude.removeAttribute('aria-invalid');
  ui.treeFilter.removeAttribute('aria-invalid');
  ui.lang.removeAttribute('aria-invalid');
}

// The query was fine but its results could not be read (the server stayed
// busy, or dropped the query again after it was run again).
export function showReadFailed(err, q) {
  showNoSearch('No results: the search could not be read.');
  showWarning(capital(err.message) + '. Press Enter to search again.');
  ui.results.dataset.state = 'error';
  emit({ q, error: err.code });
}

/* ------------------------------------------------------------------ *
 * Keyboard selection (rows: what search.js's currentRows() gives, the
 * file-name hits then the match rows; each row's first child is its link).
 * The selection is the row itself, so rows added above it (file names
 * that came after the lines) do not move it.
 * ------------------------------------------------------------------ */

function select(rows, i, focusLink) {
  if (!rows || !rows.length) return;
  i = Math.max(0, Math.min(rows.length - 1, i));
  if (selected) {
    selected.classList.remove('sel');
    selected.removeAttribute('aria-current');
  }
  const row = rows[i];
  selected = row;
  row.classList.add('sel');
  row.setAttribute('aria-current', 'true');
  if (focusLink) row.firstChild.focus({ preventScroll: true });
  scrollIntoViewUnderHeader(row, false);
}

export function move(rows, delta) {
  if (!rows || !rows.length) return;
  const focusLink = document.activeElement !== ui.q;
  const at = selected ? rows.indexOf(selected) : -1;
  if (at < 0) select(rows, delta > 0 ? 0 : rows.length - 1, focusLink);
  else select(rows, at + delta, focusLink);
}

// The selected result's link of a kind ('editor', 'host'), or null.
export function selectedLink(rows, kind) {
  if (!rows || !selected || rows.indexOf(selected) < 0) return null;
  return selected.querySelector('a.xlink.' + kind + '[href]');
}

// The address of the selected result's file view, or ''.
export function selectedHref(rows) {
  if (!rows || !selected || rows.indexOf(selected) < 0) return '';
  return selected.firstChild.getAttribute('href');
}
