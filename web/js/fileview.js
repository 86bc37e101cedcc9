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
 * Syntax colours (syntax.js) come after the file is shown, and only where
 * it is looked at: the rows are laid out in chunks of CHUNK lines, and an
 * IntersectionObserver colours a chunk when it comes within a screen of
 * the viewport (the first ones right after the first paint), so a file of
 * 20,000 lines opens as fast as it did plain and costs colouring only for
 * what is scrolled through.  The language is the file name's, as the
 * server's /api/langs globs say (langs.js).  A row is painted from its
 * text, its colours (once its chunk is coloured) and its matches, so the
 * two arrive in either order.
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
const fileState = { path: '', tree: '', inTree: '', doc: null, rows: [], token: 0, matchLines: [], hlKey: '', anchor: 0,
                    grammar: '', tokens: [], marks: [], chunks: [], observer: null };

const CHUNK = 100;              // lines per chunk: the unit coloured at once
const FRAME_MS = 8;             // colouring a frame may take, past its first chunk

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
    renderFile(doc);
    colourFile(token);
    fileMatches(p, st.file);
    applyLines(parseLines(location.hash), true);
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

function renderFile(doc) {
  fileState.doc = doc;
  fileState.tokens = [];
  fileState.marks = [];
  fileState.matchLines = [];
  const lines = doc.lines;
  const n = lines.length;
  const clipped = {};
  (doc.clipped_lines || []).forEach((l) => { clipped[l] = true; });
  ui.fileStatus.textContent = '';
  ui.fileMeta.textContent = num(doc.line_count | 0) + ' ' + plural(doc.line_count | 0, 'line', 'lines');
  const digits = String(Math.max(n, 1)).length;
  ui.fileBody.className = 'file-body code d' + Math.min(Math.max(digits, 2), 7);
  const frag = document.createDocumentFragment();
  const rows = new Array(n + 1);
  const chunks = [];
  let chunk = null;
  // Rows are copies of one (a 20,000-line file makes 60,000 elements:
  // cloning is the cheapest way there is).
  const proto = h('div', 'row');
  proto.appendChild(h('a', 'ln'));
  proto.appendChild(h('span', 'src'));
  for (let i = 0; i < n; i++) {
    if (i % CHUNK === 0) {
      chunk = h('div', 'chunk');
      chunk.dataset.from = String(i + 1);
      chunks.push(chunk);
      frag.appendChild(chunk);
    }
    const no = i + 1;
    const row = proto.cloneNode(true);
    row.id = 'L' + no;
    const a = row.firstChild, src = row.lastChild;
    a.textContent = String(no);
    a.setAttribute('href', '#L' + no);
    a.setAttribute('aria-label', 'Line ' + no);
    src.textContent = lines[i];
    if (clipped[no]) { src.classList.add('clip-end'); row.title = 'Line cut at 63 KiB'; }
    chunk.appendChild(row);
    rows[no] = row;
  }
  if (n === 0) frag.appendChild(h('p', 'file-empty', 'This file is empty.'));
  clear(ui.fileBody);
  ui.fileBody.appendChild(frag);
  fileState.rows = rows;
  fileState.chunks = chunks;
  ui.fileView.dataset.state = 'done';
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
      if (!fileState.rows[no]) return;
      fileState.rows[no].classList.remove('has-match');
      paintRow(no);
    });
    doc.results.forEach((r) => {
      if (r.path !== path || (r.tree || '') !== tree) return;
      const row = fileState.rows[r.line];
      if (!row) return;
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
      paintRow(r.line);
      row.classList.add('has-match');
      lines.push(r.line);
    });
    fileState.matchLines = lines;
    const c = lines.length;
    const n = fileState.doc.line_count | 0;
    if (c) ui.fileMeta.textContent = num(n) + ' ' + plural(n, 'line', 'lines') + ' · ' + num(c) + ' matching ' + plural(c, 'line', 'lines');
  }, () => {});
}

// Mark the lines of range (null: none); scroll: bring its start into view.
export function applyLines(range, scroll) {
  const rows = fileState.rows;
  const old = ui.fileBody.querySelectorAll('.row.target');
  for (let i = 0; i < old.length; i++) old[i].classList.remove('target', 'target-first', 'target-last');
  showFileLinks(range ? range.from : 1);
  if (!range || !rows.length) { if (scroll) fileState.anchor = 0; return; }
  const to = Math.min(range.to, rows.length - 1);
  for (let n = range.from; n <= to; n++) {
    if (!rows[n]) continue;
    rows[n].classList.add('target');
    if (n === range.from) rows[n].classList.add('target-first');
    if (n === to) rows[n].classList.add('target-last');
  }
  if (scroll) {
    fileState.anchor = range.from;
    if (rows[range.from]) scrollIntoViewUnderHeader(rows[range.from], true);
  }
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
