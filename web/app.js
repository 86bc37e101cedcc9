/*
 * app.js - the shardgrep search page.
 *
 * Plain script, no framework, no build step; works under the server's
 * Content-Security-Policy (no inline script or style: every look is a CSS
 * class).  Everything that comes from the index (paths, lines) is put in the
 * page as text (textContent, createTextNode), never parsed as markup.
 *
 * How a search runs: each (debounced) change of the query becomes one
 * POST /api/queries, whose id is then read with GET ...?wait_ms= for the
 * first page.  A newer query supersedes it: the wait is aborted, the old id
 * is cancelled on the server (DELETE) unless it is known to have finished,
 * and every answer is checked against the current search before it is
 * shown, so a stale answer can never overwrite a newer one.  "Show more"
 * reads the next page of the same id (offset/limit).
 *
 * The address is the state: /?q=..&literal=1&case=..&path=..&exclude=..
 * &context=.. for a search, plus &file=PATH and #L10 or #L10-L20 for the
 * file view.  Loading any such address reproduces the view; typing replaces
 * the history entry while a burst of typing lasts and pushes a new one
 * otherwise, so back/forward move between queries.
 */
(function () {
  'use strict';

  var PAGE = 200;            // results shown per page ("show more" reads the next)
  var MAX = 2000;            // results the server keeps for one query
  var DEBOUNCE_MS = 90;      // typing pause before a query is sent
  var WAIT_MS = 10000;       // long-poll for a query's answer
  var BURST_MS = 1200;       // typing within this of the last update replaces the history entry
  var DEFAULTS = { q: '', literal: false, case: 'auto', path: '', exclude: '', context: 2 };
  var CASES = { auto: 1, yes: 1, no: 1 };

  function $(id) { return document.getElementById(id); }
  var ui = {
    form: $('search-form'), q: $('q'), regex: $('mode-regex'), literal: $('mode-literal'),
    caseSel: $('case'), path: $('path'), exclude: $('exclude'), context: $('context'),
    qError: $('q-error'), qErrorText: $('q-error-text'), asLiteral: $('as-literal'),
    notice: $('notice'), noticeText: $('notice-text'), noticeRetry: $('notice-retry'),
    searchView: $('search-view'), summary: $('summary'), warning: $('warning'),
    results: $('results'), moreRow: $('more-row'), moreCount: $('more-count'), more: $('more'),
    welcome: $('welcome'), indexStats: $('index-stats'),
    fileView: $('file-view'), fileBar: $('file-bar'), back: $('back'), backLabel: $('back-label'),
    filePath: $('file-path'), fileMeta: $('file-meta'), fileStatus: $('file-status'),
    fileBody: $('file-body'), help: $('help'), helpBtn: $('help-btn'), helpClose: $('help-close'),
    top: $('top'), tokenForm: $('token-form'), token: $('token'), tokenError: $('token-error')
  };

  var nf = new Intl.NumberFormat('en-US');
  function num(n) { return nf.format(n); }
  function plural(n, one, many) { return n === 1 ? one : many; }

  /* ------------------------------------------------------------------ *
   * Small DOM helpers: text only.
   * ------------------------------------------------------------------ */
  function h(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function show(node, on) { node.hidden = !on; }

  /* ------------------------------------------------------------------ *
   * Addresses: parameters <-> URL.
   * ------------------------------------------------------------------ */
  function normParams(p) {
    var c = parseInt(p.context, 10);
    return {
      q: String(p.q || ''),
      literal: !!p.literal,
      case: CASES[p.case] ? p.case : 'auto',
      path: String(p.path || '').trim(),
      exclude: String(p.exclude || '').trim(),
      context: isFinite(c) ? Math.max(0, Math.min(10, c)) : DEFAULTS.context
    };
  }

  function parseLocation() {
    var sp = new URLSearchParams(location.search);
    var lit = sp.get('literal');
    var ctx = sp.get('context');
    var params = normParams({
      q: sp.get('q') || '',
      literal: lit === '1' || lit === 'true',
      case: sp.get('case') || 'auto',
      path: sp.get('path') || '',
      exclude: sp.get('exclude') || '',
      context: ctx === null ? DEFAULTS.context : ctx
    });
    return { params: params, file: sp.get('file') || '', lines: parseLines(location.hash) };
  }

  // "#L12" or "#L12-L20" (also "#L12-20") -> {from, to}, or null.
  function parseLines(hash) {
    var m = /^#L(\d+)(?:-L?(\d+))?$/.exec(hash || '');
    if (!m) return null;
    var a = parseInt(m[1], 10), b = m[2] ? parseInt(m[2], 10) : a;
    if (!(a > 0) || !(b > 0)) return null;
    return { from: Math.min(a, b), to: Math.max(a, b) };
  }
  function linesHash(r) {
    if (!r) return '';
    return r.from === r.to ? '#L' + r.from : '#L' + r.from + '-L' + r.to;
  }

  function buildURL(p, file, lines) {
    var sp = new URLSearchParams();
    if (p.q) sp.set('q', p.q);
    if (p.literal) sp.set('literal', '1');
    if (p.case !== DEFAULTS.case) sp.set('case', p.case);
    if (p.path) sp.set('path', p.path);
    if (p.exclude) sp.set('exclude', p.exclude);
    if (p.context !== DEFAULTS.context) sp.set('context', String(p.context));
    if (file) sp.set('file', file);
    var s = sp.toString();
    return location.pathname + (s ? '?' + s : '') + linesHash(lines);
  }

  function keyOf(p) {
    return JSON.stringify([p.q, p.literal, p.case, p.path, p.exclude, p.context]);
  }

  /* ------------------------------------------------------------------ *
   * Controls <-> parameters.
   * ------------------------------------------------------------------ */
  function readControls() {
    return normParams({
      q: ui.q.value,
      literal: ui.literal.checked,
      case: ui.caseSel.value,
      path: ui.path.value,
      exclude: ui.exclude.value,
      context: ui.context.value
    });
  }
  function writeControls(p) {
    if (ui.q.value !== p.q) ui.q.value = p.q;
    ui.literal.checked = p.literal;
    ui.regex.checked = !p.literal;
    ui.caseSel.value = p.case;
    if (ui.path.value.trim() !== p.path) ui.path.value = p.path;
    if (ui.exclude.value.trim() !== p.exclude) ui.exclude.value = p.exclude;
    ui.context.value = String(p.context);
  }

  /* ------------------------------------------------------------------ *
   * The API.
   * ------------------------------------------------------------------ */
  function encodePath(path) {
    return path.split('/').map(encodeURIComponent).join('/');
  }

  // A server started with --token wants "Authorization: Bearer <token>"
  // on /api/: the page asks for it once (on a 401) and keeps it in this
  // browser's storage.  It never goes into an address.
  var TOKEN_KEY = 'shardgrep.token';
  var token = '';
  try { token = localStorage.getItem(TOKEN_KEY) || ''; } catch (e) { token = ''; }
  function authHeaders(h) {
    h = h || {};
    if (token) h.Authorization = 'Bearer ' + token;
    return h;
  }

  // Resolves to {status, data}; rejects on a network failure or an abort.
  function api(method, url, body, signal) {
    var init = { method: method, cache: 'no-store', credentials: 'same-origin', headers: authHeaders() };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (signal) init.signal = signal;
    return fetch(url, init).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { status: r.status, data: data };
      });
    });
  }
  function errOf(res) {
    var e = res && res.data && res.data.error;
    return e && typeof e === 'object' ? e : { code: 'http_' + (res ? res.status : 0), message: 'HTTP ' + (res ? res.status : '?') };
  }
  function needToken(res) {
    if (res.status !== 401) return false;
    ui.tokenError.textContent = token ? 'The server refused this token.' : '';
    if (ui.tokenForm.hidden) {
      show(ui.tokenForm, true);
      ui.token.value = '';
      ui.token.focus();
    }
    return true;
  }
  function tokenBlocked() {
    clearResults();
    show(ui.welcome, false);
    ui.summary.textContent = 'No search: this server wants an access token (above).';
  }
  function useToken(e) {
    e.preventDefault();
    var t = ui.token.value.trim();
    if (!t) return;
    token = t;
    try { localStorage.setItem(TOKEN_KEY, t); } catch (err) { /* kept for this page only */ }
    show(ui.tokenForm, false);
    ui.tokenError.textContent = '';
    statsLoaded = false;
    route({ force: true });
    ui.q.focus();
  }

  function isDownStatus(res) {
    return res.status === 503 || res.status === 502 || res.status === 504 || res.status === 0;
  }
  function cancelQuery(id) {
    api('DELETE', '/api/queries/' + encodeURIComponent(id)).catch(function () {});
  }
  function queryBody(p) {
    return { q: p.q, literal: p.literal, case: p.case, path: p.path, exclude: p.exclude,
             context: p.context, max: MAX };
  }

  /* ------------------------------------------------------------------ *
   * Server down / restarting: a notice, a /healthz poll, and recovery.
   * ------------------------------------------------------------------ */
  var health = { polling: false, timer: 0, delay: 500 };

  function serverTrouble(text) {
    ui.noticeText.textContent = text;
    show(ui.notice, true);
    document.body.classList.add('offline');
    if (!health.polling) {
      health.polling = true;
      health.delay = 500;
      health.timer = setTimeout(pollHealth, health.delay);
    }
  }
  function pollHealth() {
    health.timer = 0;
    api('GET', '/healthz').then(function (res) {
      if (res.status === 200) return recovered();
      var d = res.data || {};
      if (res.status === 503 && d.status === 'degraded') {
        var down = Array.isArray(d.down) ? d.down.join(', ') : '?';
        ui.noticeText.textContent = 'Some search workers are restarting (shard ' + down +
          ' down, ' + (d.shards_up | 0) + ' of ' + (d.shards_total | 0) + ' up). Waiting for them…';
      } else {
        ui.noticeText.textContent = 'The shardgrep server is not answering (HTTP ' + res.status + '). Retrying…';
      }
      again();
    }, function () {
      ui.noticeText.textContent = 'Cannot reach the shardgrep server: it is down or restarting. Retrying…';
      again();
    });
    function again() {
      health.delay = Math.min(health.delay * 1.5, 3000);
      health.timer = setTimeout(pollHealth, health.delay);
    }
  }
  function retryNow() {
    if (health.timer) clearTimeout(health.timer);
    health.delay = 500;
    pollHealth();
  }
  function recovered() {
    health.polling = false;
    show(ui.notice, false);
    document.body.classList.remove('offline');
    route({ force: true });
  }

  /* ------------------------------------------------------------------ *
   * Searching.
   * ------------------------------------------------------------------ */
  var current = null;        // the search shown or in flight
  var debounceTimer = 0;
  var lastTypeURL = 0;       // time of the last history update made by typing
  var busyTimer = 0;

  function setBusy(on) {
    clearTimeout(busyTimer);
    if (on) {
      ui.results.setAttribute('aria-busy', 'true');
      // Show the progress bar only if the answer takes a moment.
      busyTimer = setTimeout(function () { document.body.classList.add('busy'); }, 150);
    } else {
      ui.results.removeAttribute('aria-busy');
      document.body.classList.remove('busy');
    }
  }

  function supersede() {
    var s = current;
    if (!s) return;
    current = null;
    s.dead = true;
    if (s.wait) s.wait.abort();
    if (s.id && !s.finished) cancelQuery(s.id);
    setBusy(false);
  }

  // Run p unless it is what is already shown or in flight.
  function search(p, force) {
    var key = keyOf(p);
    if (!force && current && current.key === key && !current.failed) return;
    supersede();
    clearQError();
    if (!p.q) {
      showWelcome();
      return;
    }
    var s = { p: p, key: key, id: null, wait: null, finished: false, dead: false,
              failed: false, doc: null, shown: 0, returned: 0 };
    current = s;
    setBusy(true);
    submit(s).then(function (ok) {
      if (!ok || s !== current) return;
      return waitFirstPage(s);
    }).catch(function (e) { searchFailed(s, e); });
  }

  // POST the query; on success s.id is set.  Never aborted, so that an id
  // the server created is always known and can be cancelled.
  function submit(s) {
    return api('POST', '/api/queries', queryBody(s.p)).then(function (res) {
      if (res.status === 202 && res.data && res.data.id) {
        s.id = res.data.id;
        if (s.dead) { cancelQuery(s.id); return false; }
        return true;
      }
      if (s !== current) return false;
      if (isDownStatus(res)) throw new Error('down');
      s.failed = true;
      setBusy(false);
      if (needToken(res)) { tokenBlocked(); return false; }
      showQueryError(errOf(res));
      return false;
    });
  }

  function waitFirstPage(s) {
    s.wait = new AbortController();
    var url = '/api/queries/' + encodeURIComponent(s.id) + '?wait_ms=' + WAIT_MS +
              '&offset=0&limit=' + PAGE;
    return api('GET', url, undefined, s.wait.signal).then(function (res) {
      if (s !== current) return;               // superseded: never shown
      if (res.status !== 200 || !res.data) {
        if (isDownStatus(res) || res.status === 404) throw new Error('down');
        s.failed = true;
        setBusy(false);
        if (needToken(res)) { tokenBlocked(); return; }
        showQueryError(errOf(res));
        return;
      }
      if (res.data.status === 'running') return waitFirstPage(s);
      s.finished = true;
      setBusy(false);
      renderAnswer(s, res.data);
    });
  }

  function searchFailed(s, e) {
    if (s !== current) return;                 // includes aborted waits
    if (e && e.name === 'AbortError') return;
    s.failed = true;
    setBusy(false);
    serverTrouble('Cannot reach the shardgrep server: it is down or restarting. Retrying…');
  }

  function showMore() {
    var s = current;
    if (!s || !s.doc || s.shown >= s.returned) return;
    ui.more.disabled = true;
    ui.more.textContent = 'Loading…';
    var offset = s.shown;
    var rerun = false, busyTries = 0;
    function read() {
      var url = '/api/queries/' + encodeURIComponent(s.id) + '?wait_ms=' + WAIT_MS +
                '&offset=' + offset + '&limit=' + PAGE;
      return api('GET', url).then(function (res) {
        if (s !== current) return null;
        if (res.status === 404 && !rerun) {
          // The server dropped the id (expired, or it restarted): run the
          // same query again and read the page from the new id once it
          // has finished.
          rerun = true;
          return api('POST', '/api/queries', queryBody(s.p)).then(function (r2) {
            if (r2.status !== 202 || !r2.data) return r2;
            s.id = r2.data.id;
            s.finished = false;
            if (s !== current) { cancelQuery(s.id); return null; }
            return read();
          });
        }
        if (res.status === 200 && res.data && res.data.status === 'running') return read();
        // Too many large answers in flight: the server asks to come back
        // in a moment; that is no reason to start the search over.
        if (res.status === 503 && errOf(res).code === 'overloaded' && ++busyTries <= 5) {
          return new Promise(function (ok) { setTimeout(ok, 1000); }).then(read);
        }
        return res;
      });
    }
    read().then(function (res) {
      if (!res || s !== current) return;
      if (res.status === 200 && res.data) s.finished = true;   // read() waited out 'running'
      if (res.status !== 200 || !res.data) {
        if (isDownStatus(res) && errOf(res).code !== 'overloaded') throw new Error('down');
        ui.more.disabled = false;
        updateMore(s);
        if (needToken(res)) return;
        showWarning('Could not load more results: ' + errOf(res).message);
        return;
      }
      appendResults(s, res.data.results || []);
      s.shown = offset + ((res.data.page && res.data.page.count) | 0);
      s.returned = res.data.stats ? res.data.stats.returned : s.returned;
      ui.more.disabled = false;
      updateMore(s);
      emitRendered(s, 'more');
    }).catch(function () {
      if (s !== current) return;
      ui.more.disabled = false;
      updateMore(s);
      serverTrouble('Cannot reach the shardgrep server: it is down or restarting. Retrying…');
    });
  }

  /* ------------------------------------------------------------------ *
   * Errors next to the search box.
   * ------------------------------------------------------------------ */
  function showQueryError(err) {
    var msg = String(err.message || err.code || 'error');
    var text;
    if (err.code === 'bad_regex') text = 'Invalid regular expression: ' + msg;
    else if (err.param && err.param !== 'q' && msg.indexOf(err.param + ':') !== 0) text = capital(err.param) + ': ' + msg;
    else text = capital(msg);
    ui.qErrorText.textContent = text;
    show(ui.asLiteral, err.code === 'bad_regex');
    show(ui.qError, true);
    var bad = err.param === 'path' ? ui.path : err.param === 'exclude' ? ui.exclude : ui.q;
    bad.setAttribute('aria-invalid', 'true');
    clearResults();
    show(ui.welcome, false);
    ui.summary.textContent = err.code === 'bad_regex'
      ? 'No search: the pattern is not a valid regular expression.'
      : err.param === 'path' || err.param === 'exclude'
        ? 'No search: the ' + err.param + ' filter is not valid.'
        : 'No search: the server refused the query.';
    ui.results.dataset.state = 'error';
    document.dispatchEvent(new CustomEvent('sg:rendered', { detail: { q: current ? current.p.q : '', error: err.code } }));
  }
  function clearQError() {
    show(ui.qError, false);
    ui.qErrorText.textContent = '';
    ui.q.setAttribute('aria-invalid', 'false');
    ui.path.removeAttribute('aria-invalid');
    ui.exclude.removeAttribute('aria-invalid');
  }
  function capital(s) { s = String(s); return s.charAt(0).toUpperCase() + s.slice(1); }

  /* ------------------------------------------------------------------ *
   * Rendering results.
   * ------------------------------------------------------------------ */

  // Byte offsets into the UTF-8 encoding of str -> indices into the JS
  // (UTF-16) string.  An offset inside a character moves to its end.
  function byteToIndex(str, offsets) {
    var order = offsets.map(function (_, i) { return i; })
      .sort(function (a, b) { return offsets[a] - offsets[b]; });
    var out = new Array(offsets.length);
    var i = 0, b = 0, n = str.length;
    for (var k = 0; k < order.length; k++) {
      var target = offsets[order[k]];
      while (i < n && b < target) {
        var c = str.charCodeAt(i);
        if (c < 0x80) { b += 1; i += 1; }
        else if (c < 0x800) { b += 2; i += 1; }
        else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n &&
                 (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { b += 4; i += 2; }
        else { b += 3; i += 1; }
      }
      out[order[k]] = i;
    }
    return out;
  }

  // Append text to node with the byte ranges wrapped in <mark>.
  function appendHighlighted(node, text, ranges) {
    if (!ranges || !ranges.length) { node.appendChild(document.createTextNode(text)); return 0; }
    var flat = [];
    ranges.forEach(function (r) { flat.push(r[0] | 0, r[1] | 0); });
    var idx = byteToIndex(text, flat);
    var spans = [];
    for (var k = 0; k < idx.length; k += 2) {
      if (idx[k + 1] > idx[k]) spans.push([idx[k], idx[k + 1]]);
    }
    spans.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    spans.forEach(function (r) {
      var last = merged[merged.length - 1];
      // Overlapping ranges merge; adjacent matches stay separate marks.
      if (last && r[0] < last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    });
    var pos = 0;
    merged.forEach(function (r) {
      if (r[0] > pos) node.appendChild(document.createTextNode(text.slice(pos, r[0])));
      node.appendChild(h('mark', 'hl', text.slice(r[0], r[1])));
      pos = r[1];
    });
    if (pos < text.length) node.appendChild(document.createTextNode(text.slice(pos)));
    return merged.length;
  }

  function fileURL(p, path, line) {
    return buildURL(p, path, line ? { from: line, to: line } : null);
  }

  function clearResults() {
    clear(ui.results);
    show(ui.moreRow, false);
    showWarning('');
    selected = -1;
    delete ui.results.dataset.q;
    ui.results.dataset.state = 'empty';
  }

  function showWelcome() {
    clearResults();
    ui.summary.textContent = '';
    show(ui.welcome, true);
    loadIndexStats();
    document.title = 'shardgrep';
  }

  function showWarning(text) {
    ui.warning.textContent = text;
    show(ui.warning, !!text);
  }

  function renderAnswer(s, doc) {
    s.doc = doc;
    s.groups = [];
    s.matchRows = [];
    clearResults();
    show(ui.welcome, false);
    var st = doc.stats || {};
    s.returned = st.returned | 0;
    ui.results.dataset.q = s.p.q;
    ui.results.dataset.id = s.id;
    ui.results.dataset.state = 'done';
    appendResults(s, doc.results || []);
    s.shown = ((doc.page && doc.page.offset) | 0) + ((doc.page && doc.page.count) | 0);
    renderSummary(s, doc);
    updateMore(s);
    if (view === 'search') document.title = s.p.q + ' · shardgrep';
    emitRendered(s, 'first');
  }

  function emitRendered(s, what) {
    document.dispatchEvent(new CustomEvent('sg:rendered', {
      detail: { q: s.p.q, id: s.id, what: what, shown: s.shown }
    }));
  }

  function fmtMs(ms) {
    ms = Number(ms) || 0;
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + ' s';
    if (ms >= 10) return Math.round(ms) + ' ms';
    return ms.toFixed(ms >= 1 ? 1 : 2) + ' ms';
  }

  function renderSummary(s, doc) {
    var st = doc.stats || {};
    var lines = st.matched_lines | 0, files = st.matched_files | 0;
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

    var warn = [];
    if (st.truncated) {
      warn.push('Only the first ' + num(st.returned | 0) + ' of ' + num(lines) +
                ' matching lines are listed: narrow the search (a path filter, a longer pattern) to see the rest.');
    }
    if (doc.status === 'timed_out') warn.push('The search hit its time limit: the results and counts are incomplete.');
    if (doc.status === 'partial' || (st.shards && st.shards.failed && st.shards.failed.length)) {
      var f = (st.shards && st.shards.failed) || [];
      warn.push('Search worker' + (f.length === 1 ? ' ' : 's ') + f.join(', ') +
                ' failed during this search: the results are incomplete. Search again in a moment.');
    }
    if (doc.status === 'cancelled') warn.push('The search was cancelled on the server.');
    if (doc.status === 'failed') warn.push('The search failed on the server.');
    showWarning(warn.join(' '));

    if (lines === 0) {
      var empty = h('div', 'no-results');
      empty.appendChild(document.createTextNode('Nothing matches '));
      empty.appendChild(h('code', null, s.p.q));
      var hints = [];
      if (s.p.path) hints.push('the path filter');
      if (s.p.exclude) hints.push('the exclude filter');
      // The server says what case=auto decided (group names and verbs
      // such as (?<Name>...) do not make a search case-sensitive).
      if (doc.query && doc.query.ignore_case === false) hints.push('case sensitivity');
      empty.appendChild(document.createTextNode(hints.length ? '. Check ' + hints.join(', ') + '.' : '.'));
      ui.results.appendChild(empty);
    }
  }

  function updateMore(s) {
    var remaining = s.returned - s.shown;
    show(ui.moreRow, remaining > 0);
    ui.moreCount.textContent = 'Showing ' + num(s.shown) + ' of ' + num(s.returned) +
      (s.doc && s.doc.stats && s.doc.stats.truncated ? ' listed' : '') + ' matching lines';
    ui.more.textContent = 'Show ' + num(Math.min(PAGE, remaining)) + ' more';
  }

  // Results arrive sorted by path then line.  Each file is a group; lines
  // shared by the context of neighbouring matches are shown once, and a
  // gap marker separates runs that are not contiguous.  A match line that
  // an earlier match showed as context is upgraded, across pages too.
  function appendResults(s, results) {
    for (var i = 0; i < results.length; i++) {
      var r = results[i];
      var g = s.groups[s.groups.length - 1];
      if (!g || g.path !== r.path) g = newGroup(s, r.path);
      addResult(s, g, r);
    }
  }

  function newGroup(s, path) {
    var sec = h('section', 'file');
    sec.setAttribute('aria-label', path);
    var head = h('h2', 'file-head-r');
    var a = h('a', 'file-link');
    a.href = fileURL(s.p, path, 0);
    var slash = path.lastIndexOf('/');
    if (slash >= 0) a.appendChild(h('span', 'dir', path.slice(0, slash + 1)));
    a.appendChild(h('span', 'base', path.slice(slash + 1)));
    head.appendChild(a);
    var count = h('span', 'count');
    head.appendChild(count);
    var body = h('div', 'lines code d2');
    sec.appendChild(head);
    sec.appendChild(body);
    ui.results.appendChild(sec);
    var g = { path: path, body: body, count: count, matches: 0, last: 0, tail: [], firstLine: 0, link: a, digits: 2 };
    s.groups.push(g);
    return g;
  }

  function addResult(s, g, r) {
    var before = Array.isArray(r.before) ? r.before : [];
    var after = Array.isArray(r.after) ? r.after : [];
    var line = r.line | 0;
    var start = line - before.length;
    // Context lines after the previous match that this result covers again.
    while (g.tail.length && g.tail[g.tail.length - 1].n >= start) {
      var t = g.tail.pop();
      if (t.gap) t.gap.remove();
      t.el.remove();
      g.last = t.n - 1;
    }
    for (var k = 0; k < before.length; k++) emitLine(s, g, start + k, before[k], null, null);
    emitLine(s, g, line, String(r.text), r.ranges || [], r);
    g.tail = [];
    for (k = 0; k < after.length; k++) {
      var el = emitLine(s, g, line + 1 + k, after[k], null, null);
      if (el) g.tail.push(el);
    }
    g.matches++;
    g.count.textContent = num(g.matches) + ' ' + plural(g.matches, 'match', 'matches');
    if (!g.firstLine) {
      g.firstLine = line;
      g.link.href = fileURL(s.p, g.path, line);
    }
  }

  function emitLine(s, g, n, text, ranges, r) {
    if (n <= g.last) return null;
    var gap = null;
    if (g.last && n > g.last + 1) {
      gap = h('div', 'row gap');
      gap.appendChild(h('span', 'ln', '⋯'));
      gap.appendChild(h('span', 'src'));
      gap.setAttribute('aria-hidden', 'true');
      g.body.appendChild(gap);
    }
    var digits = String(n).length;
    if (digits > g.digits) {
      // The gutter fits the widest line number (a class: no inline styles).
      g.body.classList.replace('d' + g.digits, 'd' + Math.min(digits, 7));
      g.digits = Math.min(digits, 7);
    }
    var row = h('div', r ? 'row match' : 'row ctx');
    var ln = h('a', 'ln', String(n));
    ln.href = fileURL(s.p, g.path, n);
    ln.setAttribute('aria-label', (r ? 'Line ' : 'Context line ') + n + ' of ' + g.path);
    if (!r) ln.tabIndex = -1;
    var src = h('span', 'src');
    if (r) {
      appendHighlighted(src, text, ranges);
      if (r.clipped) {
        // Ellipses drawn by CSS, so that copied text is the line's own.
        if ((r.column | 0) > 0) src.classList.add('clip-start');
        src.classList.add('clip-end');
        row.title = 'Long line: shown around the match (from byte ' + (r.column | 0) + ')';
      }
      row.dataset.path = g.path;
      row.dataset.line = String(n);
      s.matchRows.push(row);
    } else {
      src.textContent = text;
    }
    row.appendChild(ln);
    row.appendChild(src);
    g.body.appendChild(row);
    g.last = n;
    return { n: n, el: row, gap: gap };
  }

  /* ------------------------------------------------------------------ *
   * Keyboard selection of results.
   * ------------------------------------------------------------------ */
  var selected = -1;

  function select(i, focusLink) {
    var rows = current && current.matchRows;
    if (!rows || !rows.length) return;
    i = Math.max(0, Math.min(rows.length - 1, i));
    if (selected >= 0 && rows[selected]) {
      rows[selected].classList.remove('sel');
      rows[selected].removeAttribute('aria-current');
    }
    selected = i;
    var row = rows[i];
    row.classList.add('sel');
    row.setAttribute('aria-current', 'true');
    if (focusLink) row.firstChild.focus({ preventScroll: true });
    scrollIntoViewUnderHeader(row, false);
  }
  function move(delta) {
    var rows = current && current.matchRows;
    if (!rows || !rows.length) return;
    if (selected < 0) select(delta > 0 ? 0 : rows.length - 1, document.activeElement !== ui.q);
    else select(selected + delta, document.activeElement !== ui.q);
  }
  function openSelected() {
    var rows = current && current.matchRows;
    if (!rows || selected < 0 || !rows[selected]) return false;
    openResult(rows[selected].firstChild.getAttribute('href'));
    return true;
  }
  // Open a result's file view; "back to results" then returns to this entry.
  function openResult(href) {
    navigate(href, true);
    history.replaceState(Object.assign({}, history.state, { fromResults: true }), '');
  }

  function headerBottom() {
    var cs = getComputedStyle(ui.top);
    return cs.position === 'sticky' || cs.position === 'fixed' ? ui.top.getBoundingClientRect().bottom : 0;
  }
  function scrollIntoViewUnderHeader(el, center) {
    var r = el.getBoundingClientRect();
    var top = headerBottom() + 8, bottom = window.innerHeight - 8;
    if (center) {
      if (r.top < top || r.bottom > bottom) {
        window.scrollBy(0, r.top - top - Math.max(0, (bottom - top - r.height) / 3));
      }
      return;
    }
    if (r.top < top) window.scrollBy(0, r.top - top);
    else if (r.bottom > bottom) window.scrollBy(0, r.bottom - bottom);
  }

  /* ------------------------------------------------------------------ *
   * The file view.
   * ------------------------------------------------------------------ */
  var fileState = { path: '', doc: null, rows: [], token: 0, matchLines: [], hlKey: '', anchor: 0 };

  function openFileView(st) {
    show(ui.searchView, false);
    show(ui.fileView, true);
    show(ui.fileBar, true);
    document.body.classList.add('in-file');
    var p = st.params;
    ui.back.href = buildURL(p, '', null);
    ui.backLabel.textContent = p.q ? 'Back to results' : 'New search';
    clear(ui.filePath);
    var slash = st.file.lastIndexOf('/');
    if (slash >= 0) ui.filePath.appendChild(h('span', 'dir', st.file.slice(0, slash + 1)));
    ui.filePath.appendChild(h('span', 'base', st.file.slice(slash + 1)));
    document.title = st.file + ' · shardgrep';

    if (fileState.path === st.file && fileState.doc) {
      fileMatches(p, st.file);
      applyLines(st.lines, true);
      return;
    }
    var token = ++fileState.token;
    fileState.path = st.file;
    fileState.doc = null;
    fileState.rows = [];
    fileState.hlKey = '';
    clear(ui.fileBody);
    ui.fileMeta.textContent = '';
    ui.fileStatus.textContent = 'Loading…';
    api('GET', '/api/files/' + encodePath(st.file)).then(function (res) {
      if (token !== fileState.token) return;
      if (res.status !== 200 || !res.data || !Array.isArray(res.data.lines)) {
        if (isDownStatus(res)) throw new Error('down');
        fileState.path = '';
        var e = errOf(res);
        if (needToken(res)) { ui.fileStatus.textContent = 'This server wants an access token.'; return; }
        ui.fileStatus.textContent = res.status === 404
          ? 'This file is not in the index: ' + st.file
          : 'Could not load the file: ' + e.message;
        ui.fileView.dataset.state = 'error';
        return;
      }
      renderFile(res.data);
      fileMatches(p, st.file);
      applyLines(parseLines(location.hash), true);
      document.dispatchEvent(new CustomEvent('sg:file', { detail: { path: st.file } }));
    }).catch(function () {
      if (token !== fileState.token) return;
      fileState.path = '';
      ui.fileStatus.textContent = 'Waiting for the server to come back…';
      serverTrouble('Cannot reach the shardgrep server: it is down or restarting. Retrying…');
    });
  }

  function renderFile(doc) {
    fileState.doc = doc;
    var lines = doc.lines;
    var n = lines.length;
    var clipped = {};
    (doc.clipped_lines || []).forEach(function (l) { clipped[l] = true; });
    ui.fileStatus.textContent = '';
    ui.fileMeta.textContent = num(doc.line_count | 0) + ' ' + plural(doc.line_count | 0, 'line', 'lines');
    var digits = String(Math.max(n, 1)).length;
    ui.fileBody.className = 'file-body code d' + Math.min(Math.max(digits, 2), 7);
    var frag = document.createDocumentFragment();
    var rows = new Array(n + 1);
    for (var i = 0; i < n; i++) {
      var no = i + 1;
      var row = h('div', 'row');
      row.id = 'L' + no;
      var a = h('a', 'ln', String(no));
      a.href = '#L' + no;
      a.setAttribute('aria-label', 'Line ' + no);
      var src = h('span', 'src', lines[i]);
      if (clipped[no]) { src.classList.add('clip-end'); row.title = 'Line cut at 63 KiB'; }
      row.appendChild(a);
      row.appendChild(src);
      frag.appendChild(row);
      rows[no] = row;
    }
    if (n === 0) frag.appendChild(h('p', 'file-empty', 'This file is empty.'));
    clear(ui.fileBody);
    ui.fileBody.appendChild(frag);
    fileState.rows = rows;
    ui.fileView.dataset.state = 'done';
  }

  // Highlight the current query's matches in the file (one search limited
  // to this exact path).
  function globEscape(path) {
    return '/' + path.replace(/[\\*?[\]{},]/g, '\\$&');
  }
  function fileMatches(p, path) {
    var key = keyOf(p) + '\n' + path;
    if (!p.q || fileState.hlKey === key || !fileState.doc) return;
    fileState.hlKey = key;
    var token = fileState.token;
    var sp = new URLSearchParams();
    sp.set('q', p.q);
    if (p.literal) sp.set('literal', '1');
    sp.set('case', p.case);
    sp.set('path', globEscape(path));
    sp.set('max', '100000');
    api('GET', '/api/search?' + sp.toString()).then(function (res) {
      if (token !== fileState.token || fileState.hlKey !== key) return;
      if (res.status !== 200 || !res.data || !Array.isArray(res.data.results)) return;
      var lines = [];
      res.data.results.forEach(function (r) {
        if (r.path !== path) return;
        var row = fileState.rows[r.line];
        if (!row) return;
        var src = row.lastChild;
        var full = src.textContent, ranges = r.ranges || [];
        if (r.clipped) {
          // r.text is a window of the line from byte r.column.
          var col = r.column | 0;
          ranges = ranges.map(function (x) { return [x[0] + col, x[1] + col]; });
        } else if (full !== r.text) {
          return;
        }
        clear(src);
        appendHighlighted(src, full, ranges);
        row.classList.add('has-match');
        lines.push(r.line);
      });
      fileState.matchLines = lines;
      var c = lines.length;
      if (c) ui.fileMeta.textContent = num(fileState.doc.line_count | 0) + ' lines · ' + num(c) + ' matching ' + plural(c, 'line', 'lines');
    }).catch(function () {});
  }

  function applyLines(range, scroll) {
    var rows = fileState.rows;
    var old = ui.fileBody.querySelectorAll('.row.target');
    for (var i = 0; i < old.length; i++) old[i].classList.remove('target', 'target-first', 'target-last');
    if (!range || !rows.length) { if (scroll) fileState.anchor = 0; return; }
    var to = Math.min(range.to, rows.length - 1);
    for (var n = range.from; n <= to; n++) {
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

  function setLines(range, scroll) {
    var st = parseLocation();
    history.replaceState(history.state, '', buildURL(st.params, st.file, range));
    applyLines(range, scroll);
  }

  function onFileClick(e) {
    var a = e.target.closest && e.target.closest('a.ln');
    if (!a || !ui.fileBody.contains(a)) return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.altKey) return;
    e.preventDefault();
    var n = parseInt(a.textContent, 10);
    var cur = parseLines(location.hash);
    if (e.shiftKey && cur) {
      var anchor = fileState.anchor || cur.from;
      setLines({ from: Math.min(anchor, n), to: Math.max(anchor, n) }, false);
      var sel = window.getSelection && window.getSelection();
      if (sel) sel.removeAllRanges();
    } else {
      fileState.anchor = n;
      setLines({ from: n, to: n }, false);
    }
  }

  function jumpMatch(delta) {
    var ml = fileState.matchLines;
    if (!ml.length) return;
    var cur = parseLines(location.hash);
    var at = cur ? cur.from : 0;
    var next = null;
    if (delta > 0) { for (var i = 0; i < ml.length; i++) if (ml[i] > at) { next = ml[i]; break; } if (next === null) next = ml[0]; }
    else { for (var j = ml.length - 1; j >= 0; j--) if (ml[j] < at) { next = ml[j]; break; } if (next === null) next = ml[ml.length - 1]; }
    fileState.anchor = next;
    setLines({ from: next, to: next }, true);
  }

  /* ------------------------------------------------------------------ *
   * Routing and history.
   * ------------------------------------------------------------------ */
  var view = '';

  function route(opts) {
    opts = opts || {};
    var st = parseLocation();
    writeControls(st.params);
    if (st.file) {
      view = 'file';
      // Keep the query behind the file view current, so that "back to
      // results" is instant; it runs only if it is not already there.
      if (st.params.q) search(st.params, opts.force);
      if (opts.force) fileState.path = '';
      openFileView(st);
    } else {
      var wasFile = view === 'file';
      view = 'search';
      show(ui.fileView, false);
      show(ui.fileBar, false);
      show(ui.searchView, true);
      document.body.classList.remove('in-file');
      search(st.params, opts.force);
      if (!st.params.q) document.title = 'shardgrep';
      else if (current) document.title = st.params.q + ' · shardgrep';
      var y = history.state && typeof history.state.y === 'number' ? history.state.y : (wasFile ? null : undefined);
      if (typeof y === 'number') window.scrollTo(0, y);
      else if (y === null) window.scrollTo(0, 0);
    }
  }

  function saveScroll() {
    var s = history.state && typeof history.state === 'object' ? Object.assign({}, history.state) : {};
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

  // Update the address for new controls; typing bursts share one entry,
  // and Enter at the end of a burst stays in it (it ends the burst).
  function updateURL(p, how) {
    var url = buildURL(p, '', null);
    var here = location.pathname + location.search + location.hash;
    if (url === here) { if (how !== 'type') lastTypeURL = 0; return; }
    var now = Date.now();
    var typed = how === 'type' || how === 'enter';
    var replace = typed && lastTypeURL && now - lastTypeURL < BURST_MS && view === 'search';
    if (replace) history.replaceState(history.state, '', url);
    else { saveScroll(); history.pushState({}, '', url); }
    lastTypeURL = how === 'type' ? now : 0;
  }

  function fromControls(how) {
    clearTimeout(debounceTimer);
    debounceTimer = 0;
    var p = readControls();
    if (view === 'file') {
      // Typing in the box from the file view goes back to the results.
      view = 'search';
      show(ui.fileView, false);
      show(ui.fileBar, false);
      show(ui.searchView, true);
      document.body.classList.remove('in-file');
      document.title = 'shardgrep';
    }
    updateURL(p, how);
    search(p, how !== 'type' && current && current.key === keyOf(p) && current.failed);
  }
  function debounced() {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(function () { fromControls('type'); }, DEBOUNCE_MS);
  }

  function clearSearch() {
    ui.q.value = '';
    fromControls('commit');
    ui.q.focus();
  }

  /* ------------------------------------------------------------------ *
   * The welcome panel's index figures.
   * ------------------------------------------------------------------ */
  var statsLoaded = false;
  function loadIndexStats() {
    if (statsLoaded) return;
    api('GET', '/api/stats').then(function (res) {
      if (needToken(res) || res.status !== 200 || !res.data) return;
      statsLoaded = true;
      var d = res.data;
      var shards = Array.isArray(d.shards) ? d.shards.length : 0;
      ui.indexStats.textContent = 'Index: ' + num(d.files | 0) + ' files, ' + num(d.lines | 0) +
        ' lines, ' + fmtBytes(d.bytes || 0) + ' across ' + shards + ' ' + plural(shards, 'worker', 'workers') + '.';
    }).catch(function () {});
  }
  function fmtBytes(b) {
    var u = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(b >= 100 ? 0 : 1) : String(b)) + ' ' + u[i];
  }

  /* ------------------------------------------------------------------ *
   * Events.
   * ------------------------------------------------------------------ */
  function isTextField(t) {
    if (!t || !t.tagName) return false;
    var tag = t.tagName;
    if (tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable) return true;
    if (tag !== 'INPUT') return false;
    return !/^(radio|checkbox|button|submit|reset)$/.test(t.type);
  }

  ui.q.addEventListener('input', debounced);
  ui.path.addEventListener('input', debounced);
  ui.exclude.addEventListener('input', debounced);
  [ui.regex, ui.literal, ui.caseSel, ui.context].forEach(function (c) {
    c.addEventListener('change', function () { fromControls('commit'); });
  });
  ui.form.addEventListener('submit', function (e) {
    e.preventDefault();
    fromControls('enter');
  });
  ui.asLiteral.addEventListener('click', function () {
    ui.literal.checked = true;
    fromControls('commit');
    ui.q.focus();
  });
  ui.more.addEventListener('click', showMore);
  ui.tokenForm.addEventListener('submit', useToken);
  ui.noticeRetry.addEventListener('click', retryNow);
  ui.fileBody.addEventListener('click', onFileClick);

  ui.back.addEventListener('click', function (e) {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    goBackToResults();
  });
  function goBackToResults() {
    // If we came from the results, going back restores their history entry
    // (and scroll position); otherwise push the results' address.
    if (history.state && history.state.fromResults) history.back();
    else navigate(ui.back.getAttribute('href'), true);
  }

  // Same-page links (results, file links, examples, brand) route without a
  // reload; modified clicks (new tab) keep the browser's behaviour.
  document.addEventListener('click', function (e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    var a = e.target.closest && e.target.closest('a[href]');
    if (a && a !== ui.back && !ui.fileBody.contains(a) && !a.classList.contains('skip')) {
      var u = new URL(a.href, location.href);
      if (u.origin !== location.origin || u.pathname !== location.pathname) return;
      e.preventDefault();
      if (view === 'search' && u.searchParams.has('file')) openResult(u.pathname + u.search + u.hash);
      else navigate(u.pathname + u.search + u.hash, true);
      return;
    }
    // A click on a result's text (not a selection of it) opens it too.
    var row = e.target.closest && e.target.closest('#results .row.match');
    if (row && !(window.getSelection && String(window.getSelection()))) {
      openResult(row.firstChild.getAttribute('href'));
    }
  });

  window.addEventListener('popstate', function () { lastTypeURL = 0; route(); });
  window.addEventListener('hashchange', function () {
    if (view === 'file') applyLines(parseLines(location.hash), true);
  });
  window.addEventListener('pagehide', function () {
    if (current && current.id && !current.finished) {
      try {
        fetch('/api/queries/' + encodeURIComponent(current.id), { method: 'DELETE', keepalive: true, headers: authHeaders() });
      } catch (e) { /* leaving anyway */ }
    }
  });

  // Help dialog.
  function openHelp() { if (!ui.help.open) ui.help.showModal(); }
  ui.helpBtn.addEventListener('click', openHelp);
  ui.helpClose.addEventListener('click', function () { ui.help.close(); });
  ui.help.addEventListener('click', function (e) { if (e.target === ui.help) ui.help.close(); });

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (ui.help.open) return;                 // the dialog handles Esc itself
    var t = e.target;
    var typing = isTextField(t);
    var inBox = t === ui.q;
    var onControl = !typing && t && (t.tagName === 'BUTTON' || (t.tagName === 'A' && !t.classList.contains('ln')));
    var key = e.key;

    if (key === '/' && !typing) { e.preventDefault(); ui.q.focus(); ui.q.select(); return; }
    if (key === '?' && !typing) { e.preventDefault(); openHelp(); return; }

    if (view === 'file') {
      if (key === 'Escape') { e.preventDefault(); goBackToResults(); return; }
      if (typing) return;
      if (key === 'n') { e.preventDefault(); jumpMatch(1); }
      else if (key === 'p' || key === 'N') { e.preventDefault(); jumpMatch(-1); }
      return;
    }

    if (key === 'Escape') {
      if (typing && !inBox) { t.blur(); return; }
      e.preventDefault();
      clearSearch();
      return;
    }
    if ((key === 'ArrowDown' || key === 'ArrowUp') && (inBox || !typing)) {
      if (!current || !current.matchRows || !current.matchRows.length) return;
      e.preventDefault();
      move(key === 'ArrowDown' ? 1 : -1);
      return;
    }
    if ((key === 'j' || key === 'k') && !typing) {
      e.preventDefault();
      move(key === 'j' ? 1 : -1);
      return;
    }
    if (key === 'Enter' && (inBox || (!typing && !onControl))) {
      if (selected >= 0 && openSelected()) { e.preventDefault(); return; }
    }
    if (key === 'Enter' && (inBox || t === ui.path || t === ui.exclude)) {
      // Search now (the form has several text fields, so the browser
      // would not submit it on Enter by itself).
      e.preventDefault();
      fromControls('enter');
    }
  });

  /* ------------------------------------------------------------------ *
   * Start.
   * ------------------------------------------------------------------ */
  if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
  route();
  if (view === 'search' && !ui.q.value) ui.q.focus();
})();
