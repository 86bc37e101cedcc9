/*
 * api.js - the client of shardgrep's HTTP API (doc/api.md).
 *
 * Knows the API's paths and answers and nothing of the page: it touches no
 * element and writes no sentence.  What went wrong comes back as a named
 * error, which the page's modules turn into words:
 *
 *   ServerDown    no answer, 502/504, or a 503 other than overloaded
 *                 (shard_down, shutting_down): the page's "down or
 *                 restarting" notice, which polls /healthz.
 *   ServerBusy    503 overloaded, still, after BUSY_RETRIES waits.
 *   QueryDropped  404 on a query id, still, after running the query again.
 *   ApiError      any other error answer: the server's code and message
 *                 (ServerBusy and QueryDropped are ApiErrors too).
 *   AbortError    the caller's AbortSignal fired (a newer search).
 *
 * A busy server is not a server that is down: a 503 overloaded (the
 * admission queue is full, or too many large answers are being sent) is
 * waited out in request(), for what its Retry-After says (1 s without
 * one, at most RETRY_AFTER_MAX_S), BUSY_RETRIES times at most.
 *
 * One routine reads a query's results, RemoteQuery.page(): the first page
 * of a search and every "show more" go through it, so the two cannot
 * drift apart again (they had: a dropped id ran the query again under
 * "show more" but showed "server down" on the first page).  It submits the
 * query when it has no id yet, polls until the query no longer runs, and,
 * when the server has dropped the id (404 expired or not_found: evicted
 * by --keep-queries/--keep-seconds/--keep-memory, or the server restarted)
 * runs the same query again, once, and reads the same page from the new
 * id: results are in (path, line) order, so on an unchanged tree page N of
 * the re-run is page N of the first run.  The POST is never aborted, so an id the server
 * created is always known and can be cancelled (DELETE); the waits are.
 *
 * A server started with --token wants "Authorization: Bearer <token>" on
 * /api/: the token is kept in this browser's storage (never in an
 * address) and sent on every call.
 */

const WAIT_MS = 10000;          // long-poll for a query's answer
const BUSY_RETRIES = 5;         // waits for a 503 overloaded before ServerBusy
const BUSY_WAIT_S = 1;          // when the 503 has no Retry-After
const RETRY_AFTER_MAX_S = 10;   // a longer Retry-After is cut to this
const RERUNS = 1;               // runs of a query again when its id was dropped

const TOKEN_KEY = 'shardgrep.token';
let token = '';
try { token = localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { token = ''; }

export function hasToken() { return !!token; }

export function setToken(t) {
  token = t;
  try { localStorage.setItem(TOKEN_KEY, t); } catch (e) { /* kept for this page only */ }
}

function authHeaders(h = {}) {
  if (token) h.Authorization = 'Bearer ' + token;
  return h;
}

/* ------------------------------------------------------------------ *
 * Errors.
 * ------------------------------------------------------------------ */

// An error answer: status, and the server's {code, message, param, offset}.
export class ApiError extends Error {
  constructor(status, e) {
    super(String(e.message || e.code || 'error'));
    this.name = 'ApiError';
    this.status = status;
    this.code = String(e.code || 'http_' + status);
    this.param = e.param;
    this.offset = e.offset;
  }
}
export class ServerBusy extends ApiError {
  constructor(status, e) { super(status, e); this.name = 'ServerBusy'; }
}
export class QueryDropped extends ApiError {
  constructor(status, e) { super(status, e); this.name = 'QueryDropped'; }
}
export class ServerDown extends Error {
  constructor(status) {
    super(status ? 'the server answered HTTP ' + status : 'no answer from the server');
    this.name = 'ServerDown';
    this.status = status;
  }
}

export function isAbort(e) { return !!e && e.name === 'AbortError'; }
function abortError() { return new DOMException('superseded', 'AbortError'); }

// The error document of an answer, or one made from its status.
function errorDoc(res) {
  const e = res.data && res.data.error;
  return e && typeof e === 'object' ? e : { code: 'http_' + res.status, message: 'HTTP ' + res.status };
}

// The named error for an answer that is not what was asked for.
function failure(res) {
  const e = errorDoc(res);
  if (res.status === 0 || res.status === 502 || res.status === 504 ||
      (res.status === 503 && e.code !== 'overloaded')) return new ServerDown(res.status);
  if (res.status === 503) return new ServerBusy(res.status, e);
  return new ApiError(res.status, e);
}

/* ------------------------------------------------------------------ *
 * Requests.
 * ------------------------------------------------------------------ */

// Seconds a 503 asks to wait (Retry-After: seconds or an HTTP date).
function retryAfter(r) {
  const v = r.headers.get('Retry-After');
  if (v === null) return BUSY_WAIT_S;
  const s = /^\s*\d+\s*$/.test(v) ? Number(v) : (Date.parse(v) - Date.now()) / 1000;
  if (!isFinite(s)) return BUSY_WAIT_S;
  return Math.min(Math.max(s, 0), RETRY_AFTER_MAX_S);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) { reject(abortError()); return; }
    const onAbort = () => { clearTimeout(t); reject(abortError()); };
    const t = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

// One HTTP exchange: resolves to {status, data, wait} (data: the parsed
// JSON or null; wait: Retry-After in seconds); rejects with ServerDown
// when no answer came, or an AbortError.
async function call(method, url, body, signal) {
  const init = { method, cache: 'no-store', credentials: 'same-origin', headers: authHeaders() };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (signal) init.signal = signal;
  let r, text;
  try {
    r = await fetch(url, init);
    text = await r.text();
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ServerDown(0);
  }
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  return { status: r.status, data, wait: retryAfter(r) };
}

// call(), waiting out a busy server (see the top).  signal aborts the
// waits, and the exchange itself unless opts.keepExchange.
async function request(method, url, opts = {}) {
  const signal = opts.signal;
  for (let busy = 0; ; busy++) {
    const res = await call(method, url, opts.body, opts.keepExchange ? undefined : signal);
    if (res.status !== 503 || errorDoc(res).code !== 'overloaded') return res;
    if (busy >= BUSY_RETRIES) throw failure(res);
    await sleep(res.wait * 1000, signal);
  }
}

/* ------------------------------------------------------------------ *
 * Queries.
 * ------------------------------------------------------------------ */

// One search on the server, by id.  body: the query fields (q, literal,
// case, path, exclude, context, max; kind, lang, facets...).  id is '' until submitted, and
// changes when the query is run again; finished says the last answer read
// was final (so there is nothing left to cancel).
export class RemoteQuery {
  constructor(body) {
    this.body = body;
    this.id = '';
    this.finished = false;
    this.cancelled = false;
  }

  // The query document with results [offset, offset + limit), once the
  // query no longer runs.  See the top for what it waits out and throws.
  async page(offset, limit, signal) {
    for (let reruns = 0; ; reruns++) {
      if (!this.id) await this.submit(signal);
      try {
        return await this.read(offset, limit, signal);
      } catch (e) {
        if (!(e instanceof QueryDropped) || reruns >= RERUNS) throw e;
        this.id = '';
        this.finished = false;
      }
    }
  }

  async submit(signal) {
    const res = await request('POST', '/api/queries', { body: this.body, signal, keepExchange: true });
    if (res.status !== 202 || !res.data || !res.data.id) throw failure(res);
    this.id = String(res.data.id);
    if (this.cancelled || (signal && signal.aborted)) {
      this.cancel();
      throw abortError();
    }
  }

  async read(offset, limit, signal) {
    for (;;) {
      const url = '/api/queries/' + encodeURIComponent(this.id) + '?wait_ms=' + WAIT_MS +
                  '&offset=' + offset + '&limit=' + limit;
      const res = await request('GET', url, { signal });
      if (res.status === 200 && res.data) {
        if (res.data.status === 'running') continue;
        this.finished = true;
        return res.data;
      }
      if (res.status === 404) throw new QueryDropped(res.status, errorDoc(res));
      throw failure(res);
    }
  }

  // Stop it on the server unless it finished; a submit still under way
  // cancels the id it gets, and page() then throws an AbortError.
  cancel() {
    this.cancelled = true;
    this.remove(false);
  }

  // The page is going away: stop it on the server with a request that
  // outlives the page.  Not cancel(): a page kept in the back-forward
  // cache may come back to this query.
  leave() {
    this.remove(true);
  }

  remove(keepalive) {
    if (!this.id || this.finished) return;
    const init = { method: 'DELETE', headers: authHeaders() };
    if (keepalive) init.keepalive = true;
    try {
      fetch('/api/queries/' + encodeURIComponent(this.id), init).catch(() => {});
    } catch (e) { /* leaving anyway */ }
  }
}

/* ------------------------------------------------------------------ *
 * Streams.
 * ------------------------------------------------------------------ */

// A query's fields as a query string: booleans as 1 (false and '' are
// the defaults, so they are left out).
function queryString(fields) {
  const sp = new URLSearchParams();
  for (const k in fields) {
    const v = fields[k];
    if (v === false || v === '' || v === undefined || v === null) continue;
    sp.set(k, v === true ? '1' : String(v));
  }
  return sp.toString();
}

// Hand the NDJSON records of body to onRecords, a chunk's worth at a
// time (one call per read: the page renders once per chunk, not once
// per record).  Resolves when the body ends.
async function readRecords(body, onRecords) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    const nl = buf.lastIndexOf('\n');
    if (nl < 0) continue;
    const lines = buf.slice(0, nl).split('\n');
    buf = buf.slice(nl + 1);
    const recs = [];
    for (const line of lines) if (line) recs.push(JSON.parse(line));
    if (recs.length) onRecords(recs);
  }
  buf += dec.decode();
  if (buf.trim()) onRecords([JSON.parse(buf)]);
}

// GET /api/search?...&stream=1 (doc/api.md): the query's records
// (begin, match, shard, summary) handed to onRecords as the shards send
// them.  Resolves once the summary came; a 503 overloaded before the
// stream begins is waited out as request() does; an answer cut before
// its summary is a server that went away (ServerDown).  Aborting signal
// closes the connection, which cancels the query on the server: there
// is no id to DELETE.
export async function streamSearch(fields, signal, onRecords) {
  const url = '/api/search?' + queryString(fields) + '&stream=1';
  for (let busy = 0; ; busy++) {
    const init = { method: 'GET', cache: 'no-store', credentials: 'same-origin',
                   headers: authHeaders({ Accept: 'application/x-ndjson' }), signal };
    let r;
    try {
      r = await fetch(url, init);
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new ServerDown(0);
    }
    if (r.status === 200 && r.body) {
      let summary = false, pageError = null;
      try {
        await readRecords(r.body, (recs) => {
          if (recs.some((x) => x && x.type === 'summary')) summary = true;
          try { onRecords(recs); } catch (e) { pageError = e; throw e; }
        });
      } catch (e) {
        if (pageError) throw pageError;            // the page's own bug: not the network's
        if (isAbort(e) || (signal && signal.aborted)) throw abortError();
        if (e instanceof SyntaxError) throw new ApiError(r.status, { code: 'bad_stream', message: 'the server sent a record that is not JSON' });
        throw new ServerDown(0);
      }
      if (!summary) throw new ServerDown(0);
      return;
    }
    let text = '';
    try { text = await r.text(); } catch (e) {
      if (isAbort(e)) throw e;
      throw new ServerDown(0);
    }
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    const res = { status: r.status, data, wait: retryAfter(r) };
    if (r.status !== 503 || errorDoc(res).code !== 'overloaded' || busy >= BUSY_RETRIES) throw failure(res);
    await sleep(res.wait * 1000, signal);
  }
}

/* ------------------------------------------------------------------ *
 * Files, one-shot searches, stats and health.
 * ------------------------------------------------------------------ */

function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

// One indexed file's lines: {lines, line_count, clipped_lines, and tree
// with several trees}; path is the file's path, or TREE/PATH then.
export async function getFile(path) {
  const res = await request('GET', '/api/files/' + encodePath(path));
  if (res.status !== 200 || !res.data || !Array.isArray(res.data.lines)) throw failure(res);
  return res.data;
}

// GET /api/search: run a query and wait for its document.
export async function searchNow(fields) {
  const sp = new URLSearchParams();
  for (const k in fields) sp.set(k, String(fields[k]));
  const res = await request('GET', '/api/search?' + sp.toString());
  if (res.status !== 200 || !res.data || !Array.isArray(res.data.results)) throw failure(res);
  return res.data;
}

// GET /api/langs: the languages a lang= may name, [{name, globs}].
export async function getLangs() {
  const res = await request('GET', '/api/langs');
  if (res.status !== 200 || !res.data || !Array.isArray(res.data.langs)) throw failure(res);
  return res.data.langs;
}

export async function getStats() {
  const res = await call('GET', '/api/stats');
  if (res.status !== 200 || !res.data) throw failure(res);
  return res.data;
}

// /healthz as it answers: {status, data}; 503 with data.status
// "degraded" while workers restart.  Rejects with ServerDown.
export function getHealth() {
  return call('GET', '/healthz');
}
