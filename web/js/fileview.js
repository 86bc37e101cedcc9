/*
 * fileview.js - one indexed file, whole, with the query's matches marked
 * and a line or range selected (#L120, #L120-L130).
 *
 * The file is read once per FILE (GET /api/files/FILE: the path, or
 * TREE/PATH with several trees, params.js's fileOf()) and kept while the
 * view shows it: moving between lines, or between queries over the same
 * file, only re-marks.  Its heading shows the tree as trees.js splits
 * FILE, then as the file's answer names it ("tree"), which is the truth.
 * Matches come from one search limited to this exact path in this tree
 * (the query's own pattern and case, max 100000; none for a search of
 * file names alone, "file:"), so they are the
 * server's matches, highlighted with the same byte ranges as the result
 * list.  An answer for a file no longer shown is dropped (fileState.token
 * counts the files opened).  The selected lines are the address's hash:
 * a click on a line number sets it, shift-click extends it from the anchor.
 *
 * Windowing: the rows are laid out in chunks of CHUNK lines, and a chunk
 * is built (its rows made) only when it is needed.  A file first gets all
 * its chunks as empty placeholders (class "unbuilt", as high as CHUNK
 * lines: style.css, the height an off-screen chunk is given anyway), so
 * the scrollbar and the place of every line hold from the start; then the chunks within NEAR lines of the line
 * shown (#L, else line 1) are built before the first paint, and the rest
 * after it, a slice per idle moment (buildLater()), from there down, then
 * up, so the whole text is soon in the page (the browser's find, a
 * select-all).  A placeholder that comes within a screen of the viewport
 * first is built at once (an IntersectionObserver), and anything that
 * goes to a line (an #L address, n / p) builds its chunks first
 * (buildAround()).  A 20,000-line file is 60,000 elements: making them all
 * before the first paint was most of the time to open it.  State that a
 * row shows (colours, marks, selected lines) lives in fileState, not in
 * the rows, so a row built late is built with it (buildChunk()).
 *
 * Syntax colours (syntax.js) come after the file is shown, and only where
 * it is looked at: an IntersectionObserver colours a chunk when it comes
 * within a screen of the viewport (the first ones right after the first
 * paint), so a file of 20,000 lines costs colouring only for what is
 * scrolled through.  The language is the file name's, as the server's
 * /api/langs globs say (langs.js).  A row is painted from its text, its
 * colours (once its chunk is coloured) and its matches, so the two
 * arrive in either order, and before or after the row is built.
 */

import { getFile, searchNow, ServerDown } from './api.js';
import { ui, h, clear, show, appendPath, scrollIntoViewUnderHeader } from './dom.js';
import { capital, num, plural } from './format.js';
import { langOfPath, whenLangsKnown } from './langs.js';
import { fillLine, setHref } from './links.js';
import { grammarOf, paint, ready, tokenizeLines } from './syntax.js';
import { buildURL, globQuote, keyOf, parseLines, parseLocation, splitQ } from './params.js';
import { serverTrouble } from './notice.js';
import { splitFile } from './trees.js';
import { needToken } from './token.js';

// path: FILE as read; tree and inTree: the answer's tree ('' with one
// tree) and the path within it.
// rows[no]: line no's row once its chunk is built; range: the lines
// selected ({from, to} or null); builder: the observer that builds the
// placeholders coming into view.
const fileState = { path: '', tree: '', inTree: '', doc: null, rows: [], token: 0, matchLines: [], hlKey: '', anchor: 0,
                    range: null, clipped: new Set(), grammar: '', tokens: [], marks: [], chunks: [], observer: null, builder: null };

const CHUNK = 100;              // lines per chunk: the unit built, and coloured, at once
const NEAR = 100;               // lines built each side of the line shown, before the first paint
const FRAME_MS = 8;             // building or colouring a frame may take, past its first chunk

// The next openFileView() reads the file again (the server came back).
export function forgetFile() { fileState.path = ''; }

// Show the file view for an address's state {params, file, lines}.
export function openFileView(st) {
  show(ui.searchView, false);
  show(ui.fileView, true);
  show(ui.fileBar, true);
  document.body.classList.add('in-file');
  const p = st.params;
  ui.back.href = buildURL(p, '', null);
  ui.backLabel.textContent = p.q ? 'Back to results' : 'New search';
  document.title = st.file + ' · shardgrep';

  if (fileState.path === st.file && fileState.doc) {
    showFileName(fileState.tree, fileState.inTree);
    fileMatches(p, st.file);
    applyLines(st.lines, true);
    return;
  }
  const token = ++fileState.token;
  fileState.path = st.file;
  fileState.doc = null;
  fileState.rows = [];
  fileState.hlKey = '';
  stopColouring();
  stopBuilding();
  const guess = splitFile(st.file);
  fileState.tree = guess.tree;
  fileState.inTree = guess.path;
  showFileName(guess.tree, guess.path);
  clear(ui.fileBody);
  ui.fileMeta.textContent = '';
  showFileLinks(0);
  ui.fileStatus.textContent = 'Loading…';
  ui.fileView.dataset.state = 'loading';     // not "done": that was the last file
  getFile(st.file).then((doc) => {
    if (token !== fileState.token) return;
    // The answer names the file's tree when the server has several.
    fileState.tree = doc.tree ? String(doc.tree) : '';
    fileState.inTree = fileState.tree ? st.file.slice(fileState.tree.length + 1) : st.file;
    showFileName(fileState.tree, fileState.inTree);
    const range = parseLines(location.hash);
    renderFile(doc, range ? range.from : 1);
    colourFile(token);
    fileMatches(p, st.file);
    applyLines(range, true);
    document.dispatchEvent(new CustomEvent('sg:file', { detail: { path: st.file } }));
  }, (e) => {
    if (token !== fileState.token) return;
    fileState.path = '';
    if (e instanceof ServerDown) {
      ui.fileStatus.textContent = 'Waiting for the server to come back…';
      serverTrouble();
      return;
    }
    if (needToken(e)) { ui.fileStatus.textContent = 'This server wants an access token.'; return; }
    ui.fileStatus.textContent = e.status === 404
      ? 'This file is not in the index: ' + st.file
      : 'Could not load the file: ' + e.message;
    ui.fileView.dataset.state = 'error';
  });
}

function showFileName(tree, path) {
  clear(ui.filePath);
  appendPath(ui.filePath, path, tree);
}

// Show doc: every chunk as a placeholder, those around line focus built.
function renderFile(doc, focus) {
  fileState.doc = doc;
  fileState.tokens = [];
  fileState.marks = [];
  fileState.matchLines = [];
  fileState.range = null;
  const n = doc.lines.length;
  fileState.clipped = new Set((doc.clipped_lines || []).map(Number));
  ui.fileStatus.textContent = '';
  ui.fileMeta.textContent = num(doc.line_count | 0) + ' ' + plural(doc.line_count | 0, 'line', 'lines');
  const digits = String(Math.max(n, 1)).length;
  ui.fileBody.className = 'file-body code d' + Math.min(Math.max(digits, 2), 7);
  const frag = document.createDocumentFragment();
  const chunks = [];
  for (let i = 0; i < n; i += CHUNK) {
    const chunk = h('div', 'chunk unbuilt');
    chunk.dataset.from = String(i + 1);
    chunks.push(chunk);
    frag.appendChild(chunk);
  }
  if (n === 0) frag.appendChild(h('p', 'file-empty', 'This file is empty.'));
  clear(ui.fileBody);
  ui.fileBody.appendChild(frag);
  fileState.rows = new Array(n + 1);
  fileState.chunks = chunks;
  buildAround(focus);
  buildLater(fileState.token, Math.floor((Math.min(Math.max(focus, 1), n) - 1) / CHUNK));
  ui.fileView.dataset.state = 'done';
}

/* ------------------------------------------------------------------ *
 * Rows, a chunk at a time: near the line shown first, the rest later.
 * ------------------------------------------------------------------ */

// Rows are copies of one (cloning is the cheapest way to make many).
let protoRow = null;

// Make chunk k's rows, as its lines' text, colours, marks and the lines
// selected say; nothing if they are made already.
function buildChunk(k) {
  const chunk = fileState.chunks[k];
  if (!chunk || !chunk.classList.contains('unbuilt')) return;
  if (!protoRow) {
    protoRow = h('div', 'row');
    protoRow.appendChild(h('a', 'ln'));
    protoRow.appendChild(h('span', 'src'));
  }
  const lines = fileState.doc.lines, rows = fileState.rows, range = fileState.range;
  const a = k * CHUNK, b = Math.min(a + CHUNK, lines.length);
  const frag = document.createDocumentFragment();
  for (let i = a; i < b; i++) {
    const no = i + 1;
    const row = protoRow.cloneNode(true);
    row.id = 'L' + no;
    const ln = row.firstChild, src = row.lastChild;
    ln.textContent = String(no);
    ln.setAttribute('href', '#L' + no);
    ln.setAttribute('aria-label', 'Line ' + no);
    const segs = fileState.tokens[no] || null, marks = fileState.marks[no] || null;
    if (segs || marks) paint(src, lines[i], segs, marks);
    else src.textContent = lines[i];
    if (marks) row.classList.add('has-match');
    if (fileState.clipped.has(no)) { src.classList.add('clip-end'); row.title = 'Line cut at 63 KiB'; }
    if (range && no >= range.from && no <= range.to) markTarget(row, no, range);
    frag.appendChild(row);
    rows[no] = row;
  }
  chunk.appendChild(frag);
  chunk.classList.remove('unbuilt');
  if (fileState.builder) fileState.builder.unobserve(chunk);
}

// Build the chunks within NEAR lines of line no (what a screen shows
// around it), so that going there shows its rows at once.
function buildAround(no) {
  const n = fileState.doc ? fileState.doc.lines.length : 0;
  if (!n) return;
  const first = Math.max(1, no - NEAR), last = Math.min(n, no + NEAR);
  for (let k = Math.floor((first - 1) / CHUNK); k <= Math.floor((last - 1) / CHUNK); k++) buildChunk(k);
}

// After the first paint: build the placeholders that come within a screen
// of the viewport at once, and all the others in idle moments, FRAME_MS a
// slice, from chunk `from` to the end, then back up to the start
// (token: the file opened; a slice for another file stops).
function buildLater(token, from) {
  const chunks = fileState.chunks;
  const order = [];
  for (let k = from; k < chunks.length; k++) order.push(k);
  for (let k = from - 1; k >= 0; k--) order.push(k);
  let next = 0;
  const unbuilt = () => {
    while (next < order.length && !chunks[order[next]].classList.contains('unbuilt')) next++;
    return next < order.length;
  };
  if (!unbuilt()) return;
  fileState.builder = new IntersectionObserver((entries) => {
    for (const e of entries) if (e.isIntersecting) buildChunk(((e.target.dataset.from | 0) - 1) / CHUNK);
  }, { rootMargin: '100% 0px' });
  for (const c of chunks) if (c.classList.contains('unbuilt')) fileState.builder.observe(c);
  const idle = window.requestIdleCallback ? (fn) => window.requestIdleCallback(fn) : (fn) => setTimeout(fn, 1);
  const slice = () => {
    if (token !== fileState.token) return;
    const t0 = performance.now();
    while (unbuilt() && performance.now() - t0 < FRAME_MS) buildChunk(order[next]);
    if (unbuilt()) idle(slice);
    else stopBuilding();
  };
  idle(slice);
}

function stopBuilding() {
  if (fileState.builder) fileState.builder.disconnect();
  fileState.builder = null;
}

// Draw line no again from its text, colours and matches.
function paintRow(no) {
  const row = fileState.rows[no];
  if (!row) return;
  const src = row.lastChild;
  clear(src);
  paint(src, fileState.doc.lines[no - 1], fileState.tokens[no] || null, fileState.marks[no] || null);
}

/* ------------------------------------------------------------------ *
 * Colours, a chunk at a time as it comes into view.
 * ------------------------------------------------------------------ */

function stopColouring() {
  if (fileState.observer) fileState.observer.disconnect();
  fileState.observer = null;
  fileState.grammar = '';
  fileState.chunks = [];
  delete ui.fileBody.dataset.grammar;
}

// Start colouring the file just shown (token: the file opened) once its
// language and grammar are known.
function colourFile(token) {
  whenLangsKnown(() => {
    if (token !== fileState.token || !fileState.doc) return;
    const g = grammarOf(langOfPath(fileState.inTree));
    if (!g) return;
    const start = () => {
      if (token !== fileState.token || !fileState.doc || fileState.observer) return;
      fileState.grammar = g;
      ui.fileBody.dataset.grammar = g;
      observeChunks();
    };
    if (ready(g, start)) start();
  });
}

function observeChunks() {
  const pending = new Set();
  let scheduled = false;
  // The chunks near the viewport, nearest first, FRAME_MS of them a frame
  // (scrolling stays smooth); one that left the area before its turn waits
  // until it comes back.
  const flush = () => {
    scheduled = false;
    const obs = fileState.observer;
    if (!obs) return;
    const mid = window.innerHeight / 2;
    const dist = (c) => { const r = c.getBoundingClientRect(); return r.bottom < mid ? mid - r.bottom : Math.max(0, r.top - mid); };
    const order = Array.from(pending).map((c) => [dist(c), c]).sort((x, y) => x[0] - y[0]);
    const t0 = performance.now();
    for (const [, chunk] of order) {
      if (performance.now() - t0 > FRAME_MS) break;
      pending.delete(chunk);
      obs.unobserve(chunk);
      colourChunk(chunk);
    }
    if (pending.size) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  };
  fileState.observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.isIntersecting && !e.target.dataset.coloured) pending.add(e.target);
      else pending.delete(e.target);
    }
    if (pending.size && !scheduled) {
      scheduled = true;
      requestAnimationFrame(flush);
    }
  }, { rootMargin: '100% 0px' });
  for (const c of fileState.chunks) fileState.observer.observe(c);
}

function colourChunk(chunk) {
  const lines = fileState.doc.lines;
  const a = (chunk.dataset.from | 0) - 1;
  const b = Math.min(a + CHUNK, lines.length);
  const segs = tokenizeLines(fileState.grammar, lines, a, b);
  for (let i = a; i < b; i++) {
    fileState.tokens[i + 1] = segs[i - a];
    if (segs[i - a]) paintRow(i + 1);
  }
  chunk.dataset.coloured = '1';
}

// Mark the query's matches in the file shown (file: FILE, as read).  A
// search of file names alone ("file:") has no lines to mark.
function fileMatches(p, file) {
  const key = keyOf(p) + '\n' + file;
  if (!p.q || splitQ(p.q).fileOnly || fileState.hlKey === key || !fileState.doc) return;
  fileState.hlKey = key;
  const token = fileState.token;
  const tree = fileState.tree, path = fileState.inTree;
  const fields = { q: p.q };
  if (p.literal) fields.literal = '1';
  fields.case = p.case;
  // Globs that select exactly this tree and this path (anchored: '/').
  if (tree) fields.tree = globQuote(tree);
  fields.path = '/' + globQuote(path);
  fields.max = '100000';
  searchNow(fields).then((doc) => {
    if (token !== fileState.token || fileState.hlKey !== key) return;
    const lines = [];
    // The last query's marks go (another query over the same file).
    const old = fileState.matchLines;
    fileState.marks = [];
    old.forEach((no) => {
      if (!fileState.rows[no]) return;      // not built: it will be, unmarked
      fileState.rows[no].classList.remove('has-match');
      paintRow(no);
    });
    doc.results.forEach((r) => {
      if (r.path !== path || (r.tree || '') !== tree) return;
      if (!(r.line >= 1 && r.line <= fileState.doc.lines.length)) return;
      const full = fileState.doc.lines[r.line - 1];
      let ranges = r.ranges || [];
      if (r.clipped) {
        // r.text is a window of the line from byte r.column.
        const col = r.column | 0;
        ranges = ranges.map((x) => [x[0] + col, x[1] + col]);
      } else if (full !== r.text) {
        return;
      }
      fileState.marks[r.line] = ranges;
      const row = fileState.rows[r.line];
      if (row) {                            // else buildChunk() marks it
        paintRow(r.line);
        row.classList.add('has-match');
      }
      lines.push(r.line);
    });
    fileState.matchLines = lines;
    const c = lines.length;
    const n = fileState.doc.line_count | 0;
    if (c) ui.fileMeta.textContent = num(n) + ' ' + plural(n, 'line', 'lines') + ' · ' + num(c) + ' matching ' + plural(c, 'line', 'lines');
  }, () => {});
}

// Mark the lines of range (null: none); scroll: bring its start into
// view.  Rows not built yet are marked when they are (buildChunk()).
export function applyLines(range, scroll) {
  const old = ui.fileBody.querySelectorAll('.row.target');
  for (let i = 0; i < old.length; i++) old[i].classList.remove('target', 'target-first', 'target-last');
  showFileLinks(range ? range.from : 1);
  const n = fileState.doc ? fileState.doc.lines.length : 0;
  fileState.range = range && n ? { from: range.from, to: Math.min(range.to, n) } : null;
  if (!fileState.range) { if (scroll) fileState.anchor = 0; return; }
  range = fileState.range;
  const rows = fileState.rows;
  for (let no = range.from; no <= range.to; no++) if (rows[no]) markTarget(rows[no], no, range);
  if (scroll) {
    fileState.anchor = range.from;
    buildAround(range.from);
    if (rows[range.from]) scrollIntoViewUnderHeader(rows[range.from], true);
  }
}

function markTarget(row, no, range) {
  row.classList.add('target');
  if (no === range.from) row.classList.add('target-first');
  if (no === range.to) row.classList.add('target-last');
}

// The bar's editor and code-host links (the file's "links", doc/api.md)
// at line no, the first line selected (1: none is); 0: none shown.
function showFileLinks(no) {
  const links = no && fileState.doc && fileState.doc.links && typeof fileState.doc.links === 'object' ? fileState.doc.links : {};
  const what = 'line ' + no;
  const e = setHref(ui.fileEditor, links.editor ? fillLine(String(links.editor), no) : '');
  const o = setHref(ui.fileHost, links.link ? fillLine(String(links.link), no) : '');
  ui.fileEditor.textContent = 'Open ' + what + ' in editor';
  ui.fileEditor.title = 'Open ' + what + ' in your editor (e)';
  ui.fileHost.textContent = capital(what) + ' on the code host';
  ui.fileHost.title = 'Open ' + what + ' on the code host, in a new tab (o)';
  show(ui.fileLinks, e || o);
}

// The bar's link of a kind ('editor', 'host') when it is shown, or null.
export function fileLink(kind) {
  const a = kind === 'editor' ? ui.fileEditor : ui.fileHost;
  return !ui.fileLinks.hidden && a.hasAttribute('href') ? a : null;
}

function setLines(range, scroll) {
  const st = parseLocation();
  history.replaceState(history.state, '', buildURL(st.params, st.file, range));
  applyLines(range, scroll);
}

// A click in the file body: on a line number, select it (shift: a range).
export function onFileClick(e) {
  const a = e.target.closest && e.target.closest('a.ln');
  if (!a || !ui.fileBody.contains(a)) return;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.altKey) return;
  e.preventDefault();
  const n = parseInt(a.textContent, 10);
  const cur = parseLines(location.hash);
  if (e.shiftKey && cur) {
    const anchor = fileState.anchor || cur.from;
    setLines({ from: Math.min(anchor, n), to: Math.max(anchor, n) }, false);
    const sel = window.getSelection && window.getSelection();
    if (sel) sel.removeAllRanges();
  } else {
    fileState.anchor = n;
    setLines({ from: n, to: n }, false);
  }
}

// n / p: the next (delta 1) or previous (-1) match, wrapping around.
export function jumpMatch(delta) {
  const ml = fileState.matchLines;
  if (!ml.length) return;
  const cur = parseLines(location.hash);
  const at = cur ? cur.from : 0;
  let next = null;
  if (delta > 0) {
    for (let i = 0; i < ml.length; i++) if (ml[i] > at) { next = ml[i]; break; }
    if (next === null) next = ml[0];
  } else {
    for (let j = ml.length - 1; j >= 0; j--) if (ml[j] < at) { next = ml[j]; break; }
    if (next === null) next = ml[ml.length - 1];
  }
  fileState.anchor = next;
  setLines({ from: next, to: next }, true);
}
