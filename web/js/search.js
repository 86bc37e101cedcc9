/*
 * search.js - the life of a search, from parameters to results shown.
 *
 * A search is one or two RemoteQuery (api.js) and what the page shows of
 * them: the line search (s.query, with facets=1 for the side panel) and
 * the file-name search (s.names, kind=path: with the "file names" toggle,
 * beside the line search; for a box that starts with "file:", alone).
 * The two run at once and each is shown when it comes (names.js shows the
 * file names above the lines, whichever comes first).
 *
 * The line search is streamed (GET /api/search?stream=1, api.js's
 * streamSearch()): its matches are shown as the shards send them, in
 * their final place (results.js), so the first results show before the
 * slowest shard ends; the summary then says the first page is whole, or
 * the page is read by the query's id.  Every other read (the file names,
 * "show more", that page) goes through RemoteQuery.page(), the one
 * routine that submits, polls, waits out a busy server and runs the query
 * again when the server dropped its id; this module only decides what
 * each outcome shows.
 *
 * A newer search supersedes the current one: its waits and its stream are
 * aborted (the server cancels a query whose stream is closed), its other
 * ids are cancelled on the server (DELETE) unless known to have finished,
 * and every answer is checked against the current search before it is
 * shown, so a stale answer (of either query) can never overwrite a newer
 * one.  A search that failed (either query) is run again by the same
 * parameters when asked (Enter, a changed option, the server coming
 * back); typing the same thing again does not.
 */

import { RemoteQuery, ServerBusy, QueryDropped, ServerDown, isAbort, streamSearch } from './api.js';
import { ui } from './dom.js';
import { BESIDE, ONLY, clearNames, namesFailed, renderNames } from './names.js';
import { serverTrouble } from './notice.js';
import { keyOf, splitQ } from './params.js';
import { PAGE, clearQError, showWelcome, showNoSearch, showQueryError, showReadFailed,
         renderAnswer, renderMore, renderNamesOnly, namesRendered, moreLoading, moreFailed,
         streamBegin, streamMatches, streamShard, streamEnd, streamStopped } from './results.js';
import { needToken } from './token.js';

const MAX = 2000;               // results the server keeps for one query

let current = null;             // the search shown or in flight
let busyTimer = 0;

function setBusy(on) {
  clearTimeout(busyTimer);
  for (const el of [ui.results, ui.names, ui.facets]) {
    if (on) el.setAttribute('aria-busy', 'true');
    else el.removeAttribute('aria-busy');
  }
  // Show the progress bar only if the answer takes a moment.
  if (on) busyTimer = setTimeout(() => { document.body.classList.add('busy'); }, 150);
  else document.body.classList.remove('busy');
}

function supersede() {
  const s = current;
  if (!s) return;
  current = null;
  s.stop.abort();
  if (s.query) s.query.cancel();
  if (s.names) s.names.cancel();
  streamStopped();
  setBusy(false);
}

// The fields both searches send.  tree and lang only when set: a server
// with one tree gets the body it always got.
function commonBody(p, q) {
  const body = { q, literal: p.literal, case: p.case, path: p.path, exclude: p.exclude };
  if (p.tree) body.tree = p.tree;
  if (p.lang) body.lang = p.lang;
  return body;
}

// select=files lists each matching file once (no context: no lines).
function lineBody(p) {
  const body = Object.assign(commonBody(p, p.q), { max: MAX, facets: true });
  if (p.select === 'files') body.select = 'files';
  else body.context = p.context;
  return body;
}

// The file-name search: pattern against paths (no context: a path has no
// lines around it); alone, it brings the side panel's facets too.
function nameBody(p, pattern, only) {
  const body = Object.assign(commonBody(p, pattern), { kind: 'path', max: only ? ONLY : BESIDE });
  if (only) body.facets = true;
  return body;
}

// Run p unless it is what is already shown or in flight (force: even so).
export function search(p, force) {
  const key = keyOf(p);
  if (!force && current && current.key === key && !current.failed) return;
  supersede();
  clearQError();
  const { fileOnly, pattern } = splitQ(p.q);
  if (!pattern) {
    if (fileOnly) showNoSearch('Type a pattern after file: to search file names.');
    else showWelcome();
    return;
  }
  const s = { p, key, stop: new AbortController(), failed: false, pending: 0, fileOnly,
              query: fileOnly ? null : new RemoteQuery(lineBody(p)),
              names: fileOnly || p.names ? new RemoteQuery(nameBody(p, pattern, fileOnly)) : null,
              doc: null, groups: [], matchRows: [], nameRows: [], shown: 0, returned: 0 };
  current = s;
  if (!s.names) clearNames();
  setBusy(true);
  if (s.query) runStream(s);
  if (fileOnly) run(s, s.names, ONLY, (doc) => renderNamesOnly(s, doc), (e) => mainFailed(s, e));
  else if (s.names) run(s, s.names, BESIDE, (doc) => { renderNames(s, doc, false); namesRendered(s, doc); }, (e) => besideFailed(s, e));
}

// Read the first limit results of q for s, and show what came unless s
// was superseded.
function run(s, q, limit, shown, failed) {
  s.pending++;
  const done = () => { if (--s.pending === 0) setBusy(false); };
  q.page(0, limit, s.stop.signal).then((doc) => {
    if (s !== current) return;                 // superseded: never shown
    done();
    shown(doc);
  }, (e) => {
    if (s !== current || isAbort(e)) return;
    done();
    failed(e);
  });
}

// The line search, streamed: its records shown as they come (results.js)
// unless s was superseded; then, if the summary cannot vouch for what is
// shown, the first page read by the query's id.  The id is s.query's only
// once the query ended: while it streams, closing the stream (the abort)
// is what cancels it, and there is nothing to DELETE.
function runStream(s) {
  s.pending++;
  const done = () => { if (--s.pending === 0) setBusy(false); };
  let summary = null;
  streamSearch(s.query.body, s.stop.signal, (recs) => {
    if (s !== current) return;
    const matches = [];
    for (const rec of recs) {
      if (rec.type === 'match') matches.push(rec);
      else if (rec.type === 'begin') streamBegin(s, rec);
      else if (rec.type === 'shard') { streamMatches(s, matches.splice(0)); streamShard(s, rec); }
      else if (rec.type === 'summary') summary = rec;
    }
    streamMatches(s, matches);
  }).then(() => {
    if (s !== current) return;
    s.query.id = String(summary.id);
    s.query.finished = true;
    if (streamEnd(s, summary)) { done(); return; }
    s.query.page(0, PAGE, s.stop.signal).then((doc) => {
      if (s !== current) return;
      done();
      renderAnswer(s, doc);
    }, (e) => {
      if (s !== current || isAbort(e)) return;
      done();
      mainFailed(s, e);
    });
  }, (e) => {
    if (s !== current || isAbort(e)) return;
    streamStopped();
    done();
    mainFailed(s, e);
  });
}

// The search's main answer (the lines, or the file names alone) failed.
function mainFailed(s, e) {
  s.failed = true;
  if (e instanceof ServerDown) serverTrouble();
  else if (needToken(e)) showNoSearch('No search: this server wants an access token (above).');
  else if (e instanceof ServerBusy || e instanceof QueryDropped) showReadFailed(e, s.p.q);
  else showQueryError(e, s.p.q);
}

// The file names beside the lines failed: a refused query is the line
// search's to explain (the same fields), the rest is said in the block.
function besideFailed(s, e) {
  s.failed = true;
  if (e instanceof ServerDown) { clearNames(); serverTrouble(); }
  else if (needToken(e) || (e.status === 400 && s.query)) clearNames();
  else namesFailed(s, 'The file names could not be read: ' + e.message + '.');
}

// The next page of the current line search, below the ones shown.
export function showMore() {
  const s = current;
  if (!s || !s.query || !s.doc || s.shown >= s.returned) return;
  moreLoading();
  const offset = s.shown;
  s.query.page(offset, PAGE, s.stop.signal).then((doc) => {
    if (s !== current) return;
    renderMore(s, doc, offset);
  }, (e) => {
    if (s !== current || isAbort(e)) return;
    if (e instanceof ServerDown) {
      moreFailed(s, '');
      serverTrouble();
    } else {
      moreFailed(s, needToken(e) ? '' : 'Could not load more results: ' + e.message);
    }
  });
}

// The last search for p failed (so asking again should run it again).
export function searchFailed(p) {
  return !!current && current.key === keyOf(p) && current.failed;
}

// The rows the keyboard moves over: the file-name hits, then the lines.
export function currentRows() {
  return current && current.nameRows.concat(current.matchRows);
}

// The page is going away: stop its searches on the server.
export function cancelOnLeave() {
  if (!current) return;
  if (current.query) current.query.leave();
  if (current.names) current.names.leave();
}
