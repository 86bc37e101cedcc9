/*
 * search.js - the life of a search, from parameters to results shown.
 *
 * A search is one RemoteQuery (api.js) and what the page shows of it.  Its
 * first page and each "show more" are read through RemoteQuery.page(), the
 * one routine that submits, polls, waits out a busy server and runs the
 * query again when the server dropped its id; this module only decides
 * what each outcome shows.
 *
 * A newer search supersedes the current one: its waits are aborted, its
 * id is cancelled on the server (DELETE) unless it is known to have
 * finished, and every answer is checked against the current search before
 * it is shown, so a stale answer can never overwrite a newer one.  A
 * search that failed is run again by the same parameters when asked
 * (Enter, a changed option, the server coming back); typing the same
 * thing again does not.
 */

import { RemoteQuery, ServerBusy, QueryDropped, ServerDown, isAbort } from './api.js';
import { ui } from './dom.js';
import { serverTrouble } from './notice.js';
import { keyOf } from './params.js';
import { PAGE, clearQError, showWelcome, showNoSearch, showQueryError, showReadFailed,
         renderAnswer, renderMore, moreLoading, moreFailed } from './results.js';
import { needToken } from './token.js';

const MAX = 2000;               // results the server keeps for one query

let current = null;             // the search shown or in flight
let busyTimer = 0;

function setBusy(on) {
  clearTimeout(busyTimer);
  if (on) {
    ui.results.setAttribute('aria-busy', 'true');
    // Show the progress bar only if the answer takes a moment.
    busyTimer = setTimeout(() => { document.body.classList.add('busy'); }, 150);
  } else {
    ui.results.removeAttribute('aria-busy');
    document.body.classList.remove('busy');
  }
}

function supersede() {
  const s = current;
  if (!s) return;
  current = null;
  s.stop.abort();
  s.query.cancel();
  setBusy(false);
}

// tree only when set: a server with one tree gets the body it always got.
function queryBody(p) {
  const body = { q: p.q, literal: p.literal, case: p.case, path: p.path, exclude: p.exclude,
                 context: p.context, max: MAX };
  if (p.tree) body.tree = p.tree;
  return body;
}

// Run p unless it is what is already shown or in flight (force: even so).
export function search(p, force) {
  const key = keyOf(p);
  if (!force && current && current.key === key && !current.failed) return;
  supersede();
  clearQError();
  if (!p.q) {
    showWelcome();
    return;
  }
  const s = { p, key, query: new RemoteQuery(queryBody(p)), stop: new AbortController(),
              failed: false, doc: null, groups: [], matchRows: [], shown: 0, returned: 0 };
  current = s;
  setBusy(true);
  s.query.page(0, PAGE, s.stop.signal).then((doc) => {
    if (s !== current) return;                 // superseded: never shown
    setBusy(false);
    renderAnswer(s, doc);
  }, (e) => {
    if (s !== current || isAbort(e)) return;
    s.failed = true;
    setBusy(false);
    if (e instanceof ServerDown) serverTrouble();
    else if (needToken(e)) showNoSearch('No search: this server wants an access token (above).');
    else if (e instanceof ServerBusy || e instanceof QueryDropped) showReadFailed(e, p.q);
    else showQueryError(e, p.q);
  });
}

// The next page of the current search, below the ones shown.
export function showMore() {
  const s = current;
  if (!s || !s.doc || s.shown >= s.returned) return;
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

// The match rows of the search shown, for the keyboard.
export function currentRows() {
  return current && current.matchRows;
}

// The page is going away: stop its search on the server.
export function cancelOnLeave() {
  if (current) current.query.leave();
}
