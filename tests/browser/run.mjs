// Browser tests of the shardgrep search page (web/): the real page in
// headless Chromium (Debian's chromium, driven by playwright-core) against
// the real server over the sample corpus.
//
//   cd tests/browser && npm ci && node run.mjs      (or: node tests/browser/run.mjs)
//
// Environment: SHARDGREP_BIN (default ../../src/shardgrep), SHARDGREP_CORPUS
// (../../sample-corpus), SHARDGREP_WEB (../../web), SHARDGREP_ARTIFACTS
// (../artifacts: screenshots, latency.json), CHROMIUM (/usr/bin/chromium),
// SHARDGREP_ARGS (more server options), TEST_FILTER (run only the tests
// whose name contains it), LATENCY_WORDS (queries of the latency test),
// SHARDGREP_BROWSER_SKIP=missing (exit 77 if playwright-core is missing).
// The last line printed is "N passed, N failed"; the exit status is 0 only
// when every test passed.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const BIN = resolve(env.SHARDGREP_BIN || resolve(here, '../../src/shardgrep'));
const CORPUS = resolve(env.SHARDGREP_CORPUS || resolve(here, '../../sample-corpus'));
const WEB = resolve(env.SHARDGREP_WEB || resolve(here, '../../web'));
const ARTIFACTS = resolve(env.SHARDGREP_ARTIFACTS || resolve(here, '../artifacts'));
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const EXTRA_ARGS = (env.SHARDGREP_ARGS || '').split(/\s+/).filter(Boolean);   // e.g. --no-ignore

// playwright-core comes from tests/browser/node_modules (npm ci there).
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  // SHARDGREP_BROWSER_SKIP=missing: skip (automake's 77) where the npm
  // packages cannot be installed, e.g. an unpacked distcheck tree.
  if (env.SHARDGREP_BROWSER_SKIP === 'missing') {
    console.log(`SKIP - playwright-core is not installed in ${here}`);
    console.log('0 passed, 0 failed');
    process.exit(77);
  }
  console.log(`FAIL - setup: playwright-core is not installed (run "npm ci" in ${here}): ${e.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const FILTER = env.TEST_FILTER || '';
const TEST_TIMEOUT_MS = 30000;
const STEP_TIMEOUT_MS = 10000;
const START_TIMEOUT_MS = Number(env.SHARDGREP_START_TIMEOUT_MS) || 60000;   // loading a big tree takes a while
// A guard against a hang the limits above miss (a stuck cleanup), not a
// speed check: on 2 loaded cores (load average 15) the tests take twice
// their idle 85 s.
const RUN_TIMEOUT_MS = 300000;
const DEBOUNCE_MS = 90;        // the page's (web/app.js)
const PAGE = 200;              // results per page in the page
const MAX = 2000;              // max the page asks for

// ---------------------------------------------------------------- server

let server = null;     // {proc, port, base, log, stopping, exit}
let browser = null;
const servers = [];    // every server started, to check how each one ended

const SANITIZER_REPORT = /ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/;
const LOG_KEEP = 256 * 1024;

// trees: the server's [NAME=]DIR arguments (default: the one corpus).
function startServer(port, more = [], trees = [CORPUS]) {
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(BIN, ['--port', String(port), '--web-root', WEB, ...EXTRA_ARGS, ...more, ...trees],
                       { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`server did not start in ${START_TIMEOUT_MS} ms:\n` + out)), START_TIMEOUT_MS);
    function finish(err, val) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { try { proc.kill('SIGKILL'); } catch { /* gone */ } reject(err); } else resolvePromise(val);
    }
    // What the server prints is kept (its tail) after it is listening too:
    // a crash or a sanitizer report fails the test that was running.
    const s = { proc, port: 0, base: '', args: [...more, ...(trees.length === 1 && trees[0] === CORPUS ? [] : trees)],
                log: '', stopping: false, exit: null, reported: false };
    const onData = (d) => {
      out += d;
      s.log = (s.log + d).slice(-LOG_KEEP);
      if (done) return;
      const m = /listening on (http:\/\/[^\s]+?:(\d+))\b/.exec(out);
      if (m) {
        s.port = Number(m[2]);
        s.base = m[1].replace(/\/$/, '');
        servers.push(s);
        finish(null, s);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('error', (e) => finish(e));
    proc.on('exit', (code, sig) => {
      s.exit = { code, sig };
      finish(new Error(`server exited (${code ?? sig}) before listening:\n${out}`));
    });
  });
}

// Problems of the servers started so far that were not yet reported: an
// exit nobody asked for, a sanitizer report, or a stop (SIGTERM) that did
// not end with status 0 as the server promises.
function serverProblems() {
  const probs = [];
  for (const s of servers) {
    if (s.reported) continue;
    const why = [];
    if (s.exit && !s.stopping) why.push(`exited on its own (${s.exit.code ?? s.exit.sig})`);
    if (s.exit && s.stopping === 'SIGTERM' && s.exit.code !== 0) why.push(`ended with ${s.exit.code ?? s.exit.sig} after SIGTERM`);
    if (SANITIZER_REPORT.test(s.log)) why.push('printed a sanitizer report');
    if (!why.length) continue;
    s.reported = true;
    const tail = s.log.split('\n').slice(-40).join('\n        ');
    probs.push(`server ${s.base} (${['shardgrep', ...s.args].join(' ')}) ${why.join(', ')}; the end of its output:\n        ${tail}`);
  }
  return probs;
}

function stopServer(s, signal = 'SIGTERM') {
  if (s && !s.stopping) s.stopping = signal;
  if (!s || s.proc.exitCode !== null || s.proc.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => { try { s.proc.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
    s.proc.once('exit', () => { clearTimeout(t); res(); });
    try { s.proc.kill(signal); } catch { clearTimeout(t); res(); }
  });
}

async function restartOnSamePort(port) {
  let last;
  for (let i = 0; i < 40; i++) {
    try { return await startServer(port); } catch (e) { last = e; await sleep(250); }
  }
  throw last;
}

// ---------------------------------------------------------------- helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class AssertionError extends Error {}
function assert(cond, msg) { if (!cond) throw new AssertionError(msg); }
function eq(actual, expected, msg) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a === e) return;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    let i = 0;
    while (i < actual.length && i < expected.length && JSON.stringify(actual[i]) === JSON.stringify(expected[i])) i++;
    throw new AssertionError(`${msg}: ${actual.length} items, expected ${expected.length}; first difference at [${i}]` +
      `\n      expected: ${JSON.stringify(expected[i])?.slice(0, 400)}\n      actual:   ${JSON.stringify(actual[i])?.slice(0, 400)}`);
  }
  throw new AssertionError(`${msg}\n      expected: ${e.slice(0, 600)}\n      actual:   ${a.slice(0, 600)}`);
}

async function api(path, init, base = server.base) {
  const r = await fetch(base + path, init);
  const body = await r.json();
  return { status: r.status, body };
}
// The API's answer to what the page sends for these parameters.
async function apiSearch(p, extra = {}, base = server.base) {
  const sp = new URLSearchParams();
  sp.set('q', p.q);
  if (p.literal) sp.set('literal', '1');
  sp.set('case', p.case || 'auto');
  if (p.path) sp.set('path', p.path);
  if (p.exclude) sp.set('exclude', p.exclude);
  sp.set('context', String(p.context ?? 2));
  sp.set('max', String(MAX));
  for (const [k, v] of Object.entries(extra)) sp.set(k, String(v));
  const { status, body } = await api('/api/search?' + sp, undefined, base);
  assert(status === 200, `API search ${sp} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}
const utf8slice = (text, a, b) => Buffer.from(text, 'utf8').subarray(a, b).toString('utf8');

// The query a request starts, as its fields: a POST /api/queries body,
// or a streamed GET /api/search?...&stream=1 (the page's line search:
// its fields from the query string, stream: '1' among them); else null.
function searchOf(r) {
  const u = new URL(r.url());
  if (r.method() === 'POST' && u.pathname === '/api/queries') {
    try { return JSON.parse(r.postData() || '{}'); } catch { return {}; }
  }
  if (r.method() === 'GET' && u.pathname === '/api/search' && u.searchParams.get('stream') === '1') return Object.fromEntries(u.searchParams);
  return null;
}
const STREAM_URL = /\/api\/search\?.*stream=1/;

// Collects what a page does that a test may want to check afterwards.
async function newPage(opts = {}) {
  const ctx = await browser.newContext({
    viewport: opts.viewport || { width: 1280, height: 800 },
    colorScheme: opts.colorScheme || 'light',
    deviceScaleFactor: opts.deviceScaleFactor || 1,
    isMobile: !!opts.isMobile,
    hasTouch: !!opts.isMobile,
  });
  const page = await ctx.newPage();
  // A stuck wait fails on its own, naming itself, well before the test's limit.
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const rec = { console: [], pageErrors: [], dialogs: [], requests: [], responses: [], failed: [], allow: [] };
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') rec.console.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => rec.pageErrors.push(String(e && e.message || e)));
  page.on('dialog', (d) => { rec.dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => {
    if (r.url().includes('/api/') || r.url().endsWith('/healthz')) {
      rec.requests.push({ method: r.method(), url: r.url(), body: r.postData(), search: searchOf(r), t: Date.now() });
    }
  });
  page.on('requestfailed', (r) => { if (r.url().includes('/api/')) rec.failed.push({ url: r.url(), error: r.failure() && r.failure().errorText }); });
  page.on('response', async (r) => {
    const req = r.request();
    if (req.method() === 'POST' && r.url().endsWith('/api/queries')) {
      try {
        const body = await r.json();
        rec.responses.push({ q: JSON.parse(req.postData() || '{}').q, id: body.id, status: r.status() });
      } catch { /* page gone */ }
    }
  });
  await page.addInitScript(() => {
    // Test instrumentation: an in-page log (page clock) of API calls and
    // renders, and of CSP violations.
    window.__t = { log: [], csp: [] };
    const origFetch = window.fetch;
    window.fetch = function (input, init) {
      const url = String((input && input.url) || input);
      const method = (init && init.method) || 'GET';
      let q;
      if (method === 'POST' && init && init.body) { try { q = JSON.parse(init.body).q; } catch { /* not json */ } }
      const t0 = performance.now();
      window.__t.log.push({ t: t0, kind: 'fetch', method, url, q });
      return origFetch.apply(this, arguments).then((r) => {
        window.__t.log.push({ t: performance.now(), kind: 'answer', method, url, status: r.status, ms: Math.round(performance.now() - t0) });
        return r;
      }, (e) => {
        window.__t.log.push({ t: performance.now(), kind: 'fetch-error', method, url, error: String(e && e.name), ms: Math.round(performance.now() - t0) });
        throw e;
      });
    };
    document.addEventListener('sg:rendered', (e) => window.__t.log.push({ t: performance.now(), kind: 'rendered', ...e.detail }));
    // Where clicks land (capture phase, before the page sees them).
    const describe = (el) => !el || !el.tagName ? String(el) : el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
    for (const type of ['pointerdown', 'pointerup', 'click']) {
      window.addEventListener(type, (e) => window.__t.log.push({ t: performance.now(), kind: type, target: describe(e.target), x: Math.round(e.clientX), y: Math.round(e.clientY), scrollY: Math.round(window.scrollY), prevented: e.defaultPrevented }), true);
    }
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__t.csp.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
  });
  page.__rec = rec;
  return page;
}

// Problems a page showed that no test expected.
async function pageProblems(page) {
  const rec = page.__rec;
  const probs = [];
  const allowed = (s) => rec.allow.some((re) => re.test(s));
  for (const c of rec.console) if (!allowed(c)) probs.push('console ' + c);
  for (const e of rec.pageErrors) probs.push('page error: ' + e);
  for (const d of rec.dialogs) probs.push('dialog opened: ' + d);
  try {
    const csp = await page.evaluate(() => window.__t.csp);
    for (const c of csp) probs.push('CSP violation: ' + c);
  } catch { /* page closed */ }
  return probs;
}

// Click an element far down the results once the layout around it has
// settled.  Result files off screen are laid out only when scrolled to
// (content-visibility: auto keeps the first screen of a large page fast);
// when the scroll to the element brings some into view, they take their
// real height a frame or more later.  A person aims after that; a test
// clicking at once could press on the button and release on the line that
// moved under the pointer, and no click would happen (seen under load:
// pointerdown on button#more, pointerup on span.src).
async function clickSettled(page, selector) {
  await page.$eval(selector, (el) => el.scrollIntoView({ block: 'center' }));
  const frames = await page.evaluate((sel) => new Promise((resolve) => {
    const el = document.querySelector(sel);
    let last = null, same = 0, n = 0;
    const t0 = performance.now();
    const look = () => {
      n++;
      const r = el.getBoundingClientRect();
      const now = `${Math.round(r.top)},${Math.round(r.left)},${Math.round(r.height)}`;
      same = now === last ? same + 1 : 0;
      last = now;
      if (same >= 3) resolve(n);
      else if (performance.now() - t0 > 5000) resolve(-1);
      else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  }), selector);
  assert(frames > 0, `${selector} still moving 5 s after it was scrolled to`);
  await page.click(selector);
}

async function waitResults(page, q, timeout = 8000) {
  await page.waitForFunction((q) => {
    const r = document.getElementById('results');
    return r.dataset.state === 'done' && r.dataset.q === q && !r.hasAttribute('aria-busy');
  }, q, { timeout });
}

// Back or forward one history entry, and wait until the page is there.
// pushState is the renderer's; the browser process learns of the new entry a
// moment later, and a traversal it starts before then goes from the entry it
// knows (or is cancelled by the late commit), so wait for it to catch up first.
async function traverse(page, delta) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const href = await page.evaluate(() => location.href);
    let h;
    for (const deadline = Date.now() + 5000; ;) {
      h = await cdp.send('Page.getNavigationHistory');
      if (h.entries[h.currentIndex].url === href) break;
      if (Date.now() > deadline) throw new Error(`the browser's history stays at ${h.entries[h.currentIndex].url}; the page is at ${href}`);
      await sleep(20);
    }
    const target = h.entries[h.currentIndex + delta];
    if (!target) throw new Error(`no history entry at ${delta} from ${href} (${h.entries.length} entries)`);
    await (delta < 0 ? page.goBack({ waitUntil: 'commit', timeout: 5000 }) : page.goForward({ waitUntil: 'commit', timeout: 5000 }));
    await page.waitForFunction((u) => location.href === u, target.url, { timeout: 5000 });
  } finally {
    await cdp.detach().catch(() => {});
  }
}

async function summaryCounts(page) {
  const text = await page.textContent('#summary');
  const m = /([\d,]+) matching lines? in ([\d,]+) files?/.exec(text);
  if (!m) return { text, lines: /No matches/.test(text) ? 0 : NaN, files: /No matches/.test(text) ? 0 : NaN };
  return { text, lines: Number(m[1].replace(/,/g, '')), files: Number(m[2].replace(/,/g, '')) };
}

// What the page shows as results: match rows and their highlights.
async function shownRows(page) {
  return page.$$eval('#results .row.match', (rows) => rows.map((r) => ({
    path: r.dataset.path,
    line: Number(r.dataset.line),
    shownLine: r.querySelector('.ln').textContent,
    text: r.querySelector('.src').textContent,
    marks: Array.from(r.querySelectorAll('mark')).map((m) => m.textContent),
    clipStart: r.querySelector('.src').classList.contains('clip-start'),
    clipEnd: r.querySelector('.src').classList.contains('clip-end'),
  })));
}
const groupPaths = (page) => page.$$eval('#results section.file .file-link', (as) => as.map((a) => a.textContent));

async function typeQuery(page, q, delay = 25) {
  await page.click('#q');
  await page.fill('#q', '');
  await page.keyboard.type(q, { delay });
}

function expectRowsFromAPI(doc, n = PAGE) {
  return doc.results.slice(0, n).map((r) => ({ path: r.path, line: r.line, text: r.text }));
}

async function inViewport(page, selector) {
  return page.$eval(selector, (el) => {
    const r = el.getBoundingClientRect();
    const top = document.getElementById('top');
    const cs = getComputedStyle(top);
    const headerBottom = cs.position === 'sticky' ? top.getBoundingClientRect().bottom : 0;
    // In view: entirely, or (a row taller than the window) from its top.
    const tall = r.height > window.innerHeight - headerBottom;
    return r.height > 0 && r.top >= headerBottom - 1 && (r.bottom <= window.innerHeight + 1 || (tall && r.top < window.innerHeight / 2));
  });
}

// ---------------------------------------------------------------- tests

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const notes = [];

test('typing a query shows the right results and counts', async (page) => {
  await page.goto(server.base + '/');
  await typeQuery(page, 'kv_get');
  await waitResults(page, 'kv_get');
  const doc = await apiSearch({ q: 'kv_get' });
  const c = await summaryCounts(page);
  eq([c.lines, c.files], [doc.stats.matched_lines, doc.stats.matched_files], 'summary counts vs the API');
  assert(/ms/.test(c.text), 'summary shows the elapsed time: ' + c.text);
  const rows = await shownRows(page);
  eq(rows.map((r) => ({ path: r.path, line: r.line, text: r.text })), expectRowsFromAPI(doc), 'result rows vs the API');
  const clipped = doc.results.map((r, i) => [r, rows[i]]).filter(([r]) => r.clipped);
  assert(clipped.length > 0 && clipped.every(([r, row]) => row.clipEnd && row.clipStart === (r.column > 0)),
    'long lines clipped by the server are marked with ellipses');
  assert(rows.every((r) => r.shownLine === String(r.line)), 'each row shows its line number');
  eq(await groupPaths(page), [...new Set(doc.results.map((r) => r.path))], 'results grouped by file, in order');
  const live = await page.getAttribute('#summary', 'aria-live');
  eq(live, 'polite', 'the summary is an aria-live region');
  eq(new URL(page.url()).search, '?q=kv_get', 'the address reflects the query');
  eq(await page.title(), 'kv_get · shardgrep', 'title');
});

test('highlights cover exactly the matched bytes (multi-byte UTF-8 before and inside matches)', async (page) => {
  const queries = [
    // (Alternatives in a group: see the note on top-level alternation in
    // the report; the page is what is under test here.)
    { q: '(?:kv_get vergleicht|deploy note|encodeURIComponent|coöperate|kv_put_raw)', path: 'docs/i18n.md' },
    { q: '(?:Größe|日本語|🔑|Привет|naïve|שלום|مرحبا)', path: 'docs/' },
    { q: '[a-z]{3,}', path: 'docs/i18n.md', context: 0 },
    { q: '(?:kv|_get)', path: 'src/', context: 0 },      // adjacent matches: two marks
  ];
  let checked = 0, nonAscii = 0;
  await page.goto(server.base + '/');
  for (const p of queries) {
    const url = `/?q=${encodeURIComponent(p.q)}&path=${encodeURIComponent(p.path)}` + (p.context === 0 ? '&context=0' : '');
    await page.goto(server.base + url);
    await waitResults(page, p.q);
    const doc = await apiSearch(p);
    assert(doc.results.length > 0, 'query has results: ' + p.q);
    const rows = await shownRows(page);
    eq(rows.length, Math.min(doc.results.length, PAGE), 'row count for ' + p.q);
    rows.forEach((row, i) => {
      const r = doc.results[i];
      const expected = r.ranges.map(([a, b]) => utf8slice(r.text, a, b));
      eq(row.text, r.text, `line ${r.path}:${r.line} text`);
      eq(row.marks, expected, `highlights on ${r.path}:${r.line}`);
      if (/[^\x00-\x7f]/.test(r.text.slice(0, r.text.indexOf(expected[0])))) nonAscii++;
      checked++;
    });
  }
  assert(nonAscii >= 5, 'several checked lines have multi-byte text before a match: ' + nonAscii);
  notes.push(`highlights: ${checked} lines checked, ${nonAscii} with multi-byte text before the first match`);
});

test('a superseded query never shows; superseded streams are closed', async (page) => {
  await page.goto(server.base + '/');
  await page.waitForSelector('#welcome:not([hidden])');
  // Make the network out of order: the streams of "kv_" and "kv_p" are
  // held back until "kv_put" has been sent, so they would arrive after
  // the page moved on.  Held by query, not for a fixed time: on a loaded
  // machine the keystrokes can be further apart than the debounce, and
  // "kv_p" answered in full before "ut" was typed (it was then the newest
  // query, and rightly shown).
  const isSent = (q) => postsOf(page, q).length > 0;
  const until = async (cond) => { for (let i = 0; i < 500 && !cond(); i++) await sleep(20); };
  await page.route(STREAM_URL, async (route) => {
    const q = new URL(route.request().url()).searchParams.get('q');
    if (q === 'kv_' || q === 'kv_p') {
      const res = await route.fetch().catch(() => null);
      await until(() => isSent('kv_put'));
      await sleep(200);
      if (res) await route.fulfill({ response: res }).catch(() => {});
      return;
    }
    await route.continue().catch(() => {});
  });
  await page.click('#q');
  await page.keyboard.type('kv_', { delay: 10 });
  await until(() => isSent('kv_'));    // "kv_" is sent (its answer is held)
  await page.keyboard.type('p', { delay: 10 });
  await until(() => isSent('kv_p'));   // "kv_p" is sent (its answer is held)
  await sleep(30);
  await page.keyboard.type('ut', { delay: 10 });
  await waitResults(page, 'kv_put');
  await sleep(1500);                   // let the held answers arrive
  await page.unroute(STREAM_URL);
  // Then fast typing, as a user would.
  await page.fill('#q', '');
  await page.keyboard.type('wal_replay', { delay: 15 });
  await waitResults(page, 'wal_replay');
  await sleep(400);

  const log = await page.evaluate(() => window.__t.log);
  // Every render shows the newest query sent before it.
  let lastSent = null;
  const rendered = [];
  for (const e of log) {
    if (e.kind === 'fetch' && STREAM_URL.test(e.url)) lastSent = new URL(e.url, server.base).searchParams.get('q');
    if (e.kind === 'rendered' && !e.error) {
      rendered.push(e.q);
      eq(e.q, lastSent, 'a render shows the newest query sent');
    }
  }
  assert(!rendered.includes('kv_') && !rendered.includes('kv_p'), 'stale queries never rendered: ' + rendered.join(', '));
  eq(await page.$eval('#results', (r) => r.dataset.q), 'wal_replay', 'final results are those of the last query');
  const doc = await apiSearch({ q: 'wal_replay' });
  eq((await shownRows(page)).map((r) => [r.path, r.line]), doc.results.map((r) => [r.path, r.line]), 'final rows vs the API');
  // The superseded streams were closed by the page (aborted), not left to run.
  const aborted = new Set(page.__rec.failed.filter((f) => STREAM_URL.test(f.url)).map((f) => new URL(f.url).searchParams.get('q')));
  assert(aborted.has('kv_') && aborted.has('kv_p'), 'the streams of "kv_" and "kv_p" were aborted: ' + JSON.stringify([...aborted]));
  const sent = searchBodies(page).map((b) => b.q);
  notes.push(`supersede: queries sent ${JSON.stringify(sent)}, rendered ${JSON.stringify(rendered)}, ${aborted.size} streams aborted`);
});

// Streamed results (GET /api/search?stream=1): a server whose shard 1
// is stopped (SIGSTOP) answers from shard 0 only until it is continued;
// --unresponsive-ms keeps the stopped worker from being taken for hung.
async function stoppableServer(ctx) {
  const s = await startServer(0, ['--unresponsive-ms', '60000']);
  ctx.cleanup.push(() => stopServer(s));
  const stats = await api('/api/stats', undefined, s.base);
  const pids = stats.body.shards.map((x) => x.pid);
  assert(pids.length >= 2 && pids.every((p) => p > 0), 'two workers or more, with pids: ' + JSON.stringify(pids));
  return { s, pids };
}

// The streamed records of a query, read from the API.
async function apiStream(base, qs) {
  const r = await fetch(base + '/api/search?' + qs + '&stream=1');
  assert(r.status === 200, 'the stream answers 200: ' + r.status);
  return (await r.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('streamed results: the first shard\'s rows show while another is stopped; the final rows are the API\'s', async (page, ctx) => {
  const { s, pids } = await stoppableServer(ctx);
  const q = 'kv_get';
  // A query that matches in both shards, from the stream's shard records.
  const recs = await apiStream(s.base, 'q=' + q + '&context=2&max=2000');
  const byShard = recs.filter((r) => r.type === 'shard').map((r) => [r.shard, r.matched_lines]);
  assert(byShard.length === pids.length && byShard.every(([, n]) => n > 0), 'the query matches in every shard: ' + JSON.stringify(byShard));
  const doc = await apiSearch({ q }, {}, s.base);
  const want = doc.results.map((r) => [r.path, r.line, r.text]);
  await page.goto(s.base + '/');
  await page.waitForSelector('#welcome:not([hidden])');
  process.kill(pids[1], 'SIGSTOP');
  let stoppedRows, searching, state;
  try {
    await typeQuery(page, q);
    await page.waitForFunction(() => document.querySelectorAll('#results .row.match').length > 0);
    await sleep(300);                  // shard 0 long done; shard 1 still stopped
    stoppedRows = (await shownRows(page)).map((r) => [r.path, r.line, r.text]);
    searching = await page.isVisible('#searching') ? await page.textContent('#searching') : null;
    state = await page.$eval('#results', (r) => [r.dataset.state, r.hasAttribute('aria-busy')]);
    await page.screenshot({ path: resolve(ARTIFACTS, 'results-streaming.png') });
  } finally {
    process.kill(pids[1], 'SIGCONT');
  }
  const shard0 = byShard.find(([n]) => n === 0)[1];
  assert(stoppedRows.length > 0 && stoppedRows.length < want.length, `some rows, not all, while shard 1 is stopped: ${stoppedRows.length} of ${want.length}`);
  eq(stoppedRows.length, Math.min(shard0, PAGE), 'every match of shard 0 shown');
  const order = stoppedRows.map((r) => want.findIndex((w) => JSON.stringify(w) === JSON.stringify(r)));
  assert(order.every((i) => i >= 0), 'each row shown is one of the final answer\'s');
  assert(order.every((i, k) => k === 0 || i > order[k - 1]), 'in the final (path, line) order: ' + JSON.stringify(order));
  assert(searching && /Searching/.test(searching) && /1 shard of 2/.test(searching), 'a "searching" indicator counts the shards: ' + searching);
  eq(state, ['streaming', true], 'the results say they are still coming');
  await waitResults(page, q);
  eq((await shownRows(page)).map((r) => [r.path, r.line, r.text]), want.slice(0, PAGE), 'the final rows vs GET /api/search, in order');
  eq(await groupPaths(page), [...new Set(doc.results.slice(0, PAGE).map((r) => r.path))], 'groups in the server\'s order');
  const c = await summaryCounts(page);
  eq([c.lines, c.files], [doc.stats.matched_lines, doc.stats.matched_files], 'the summary counts');
  assert(await page.isHidden('#searching'), 'no "searching" once the summary came');
  notes.push(`streaming: ${stoppedRows.length} of ${want.length} rows shown while shard 1 was stopped`);
});

test('streamed results: more matches than the page shows come out as the API\'s first page, in (path, line) order', async (page) => {
  // "e" over the corpus: each shard streams up to max, far more than the
  // page shows; what stays is the API's first PAGE.
  for (const url of ['/?q=e&context=0', '/?q=e&context=2', '/?q=e&select=files']) {
    await page.goto(server.base + url);
    const files = url.includes('select=files');
    if (files) {
      await page.waitForFunction(() => document.querySelectorAll('#results .file-count').length > 0 && !document.getElementById('results').hasAttribute('aria-busy'));
      const doc = await apiSearch({ q: 'e' }, { select: 'files' });
      eq(await page.$$eval('#results .file-count', (ls) => ls.map((l) => l.dataset.path)), doc.results.slice(0, PAGE).map((r) => r.path), 'files vs the API');
    } else {
      await waitResults(page, 'e');
      const doc = await apiSearch({ q: 'e', context: url.includes('context=2') ? 2 : 0 });
      eq((await shownRows(page)).map((r) => [r.path, r.line, r.text]), doc.results.slice(0, PAGE).map((r) => [r.path, r.line, r.text]), 'rows vs the API for ' + url);
    }
  }
  // The keyboard moves over the rows in the order shown.
  await page.goto(server.base + '/?q=e&context=0');
  await waitResults(page, 'e');
  await page.click('#summary');
  for (let i = 0; i < 5; i++) await page.keyboard.press('j');
  const rows = await shownRows(page);
  eq(await page.$$eval('#results .row.match', (rs) => rs.findIndex((r) => r.classList.contains('sel'))), 4, 'j five times: the fifth row');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done' && !document.getElementById('file-view').hidden);
  eq([new URL(page.url()).searchParams.get('file'), new URL(page.url()).hash], [rows[4].path, '#L' + rows[4].line], 'Enter opens it');
});

test('streamed results: a new keystroke closes the old stream, and the server cancels its query', async (page, ctx) => {
  const { s, pids } = await stoppableServer(ctx);
  await page.goto(s.base + '/');
  await page.waitForSelector('#welcome:not([hidden])');
  process.kill(pids[1], 'SIGSTOP');
  let oldId, old;
  try {
    await typeQuery(page, 'kv_get');
    await page.waitForFunction(() => document.querySelectorAll('#results .row.match').length > 0 && document.getElementById('results').dataset.streamId);
    oldId = await page.$eval('#results', (r) => r.dataset.streamId);
    eq((await api('/api/queries/' + oldId, undefined, s.base)).body.status, 'running', 'the old query runs (shard 1 is stopped)');
    await page.keyboard.type('x');     // kv_getx: a new search
    await page.waitForFunction((id) => document.getElementById('results').dataset.streamId !== id, oldId);
    for (let i = 0; i < 50; i++) {
      old = (await api('/api/queries/' + oldId, undefined, s.base)).body;
      if (old.status !== 'running') break;
      await sleep(100);
    }
  } finally {
    process.kill(pids[1], 'SIGCONT');
  }
  eq(old.status, 'cancelled', 'the server cancelled the old query when its stream closed');
  assert(page.__rec.failed.some((f) => STREAM_URL.test(f.url) && new URL(f.url).searchParams.get('q') === 'kv_get'), 'the page aborted the old stream');
  eq(page.__rec.requests.filter((r) => r.method === 'DELETE').length, 0, 'no DELETE: closing the stream is the cancel');
  await waitResults(page, 'kv_getx');
  eq((await summaryCounts(page)).lines, 0, 'the new search shown');
});

// ---------------------------------------------------------------- syntax colours

// A row's text as pieces [text, token class or '', marked]: what the
// reader sees of the colours and the marks on top of them.
const pieces = (page, sel) => page.$$eval(sel, (srcs) => srcs.map((src) => {
  const out = [];
  const walk = (node, cls, marked) => {
    for (const c of node.childNodes) {
      if (c.nodeType === Node.TEXT_NODE) out.push([c.textContent, cls, marked]);
      else walk(c, c.tagName === 'SPAN' ? c.className : cls, marked || c.tagName === 'MARK');
    }
  };
  walk(src, '', false);
  return out;
}));

test('syntax colours: C results are coloured, the matches marked on top', async (page) => {
  const p = { q: 'return', path: '*.c', context: 1 };
  await page.goto(server.base + '/?q=return&path=' + encodeURIComponent('*.c') + '&context=1');
  await waitResults(page, 'return');
  await page.waitForFunction(() => document.querySelectorAll('#results .row.match .src .hljs-keyword').length > 0);
  const doc = await apiSearch(p);
  const rows = await shownRows(page);
  eq(rows.map((r) => [r.path, r.line, r.text]), expectRowsFromAPI(doc).map((r) => [r.path, r.line, r.text]), 'rows vs the API');
  rows.forEach((row, i) => {
    const r = doc.results[i];
    eq(row.marks, r.ranges.map(([a, b]) => utf8slice(r.text, a, b)), `marks on ${r.path}:${r.line}`);
  });
  const all = await pieces(page, '#results .row.match .src');
  let onTop = 0, coloured = 0;
  all.forEach((ps) => {
    if (ps.some(([, cls]) => /hljs-/.test(cls))) coloured++;
    // "return" is a C keyword: its mark holds the keyword's colour.
    if (ps.some(([t, cls, m]) => m && t === 'return' && /hljs-keyword/.test(cls))) onTop++;
  });
  eq(coloured, rows.length, 'every C match line has token colours');
  eq(onTop, rows.length, 'every mark sits on top of the keyword colour');
  const ctx = await page.$$eval('#results .row.ctx .src', (s) => s.filter((x) => x.querySelector('[class^="hljs-"]')).length);
  assert(ctx > 0, 'context lines are coloured too');
  const kw = await page.$eval('#results .row.match mark .hljs-keyword', (e) => [getComputedStyle(e).color, getComputedStyle(e.parentElement).backgroundColor]);
  assert(kw[0] !== 'rgb(31, 35, 40)' && kw[1] !== 'rgba(0, 0, 0, 0)', 'the keyword has its colour and the mark its background: ' + JSON.stringify(kw));
  // Markup in a line stays text when coloured (an HTML file, the xml grammar).
  await page.goto(server.base + '/?q=alert&path=' + encodeURIComponent('*.html'));
  await waitResults(page, 'alert');
  await page.waitForFunction(() => document.querySelectorAll('#results .row.match .src [class^="hljs-"]').length > 0);
  const texts = await page.$$eval('#results .src', (s) => s.map((x) => x.textContent));
  assert(texts.includes('<script>alert(1)</script>'), 'the script line shows literally, coloured');
  const tags = await page.$$eval('#results .src *', (els) => [...new Set(els.map((e) => e.tagName))]);
  eq(tags.filter((t) => t !== 'SPAN' && t !== 'MARK'), [], 'only spans and marks in the lines');
  await page.screenshot({ path: resolve(ARTIFACTS, 'results-syntax.png') });
});

test('syntax colours: the file view of a C file, matches marked on top', async (page) => {
  await page.goto(server.base + '/?q=return&file=src/kvstore.c');
  await page.waitForFunction(() => /matching/.test(document.getElementById('file-meta').textContent));
  await page.waitForSelector('#file-body[data-grammar="c"] .chunk[data-coloured]');
  const file = (await api('/api/files/src/kvstore.c')).body;
  eq(await page.$$eval('#file-body .row .src', (s) => s.map((x) => x.textContent)), file.lines, 'every line\'s text as the file has it');
  const ret = await apiSearch({ q: 'return', path: 'src/kvstore.c', context: 0 });
  const marked = await page.$$eval('#file-body .row.has-match', (rs) => rs.map((r) => [Number(r.id.slice(1)), Array.from(r.querySelectorAll('mark')).map((m) => m.textContent)]));
  eq(marked, ret.results.map((r) => [r.line, r.ranges.map(([a, b]) => utf8slice(r.text, a, b))]), 'the matches marked in the file');
  const first = ret.results[0].line;
  const ps = (await pieces(page, `#L${first} .src`))[0];
  assert(ps.some(([t, cls, m]) => m && t === 'return' && /hljs-keyword/.test(cls)), `line ${first}: the mark sits on the keyword colour: ` + JSON.stringify(ps));
  const kinds = await page.$$eval('#file-body .src [class^="hljs-"]', (e) => [...new Set(e.map((x) => x.className.split(' ')[0]))]);
  for (const k of ['hljs-keyword', 'hljs-comment', 'hljs-string', 'hljs-type']) assert(kinds.includes(k), `${k} in the file view: ${kinds.join(' ')}`);
  await page.screenshot({ path: resolve(ARTIFACTS, 'file-view-syntax.png') });
  const dark = await newPage({ colorScheme: 'dark' });
  try {
    await dark.goto(server.base + '/?q=return&file=src/kvstore.c');
    await dark.waitForSelector('#file-body .chunk[data-coloured] .hljs-keyword');
    const c = await dark.$eval('#file-body .hljs-keyword', (e) => getComputedStyle(e).color);
    eq(c, 'rgb(255, 123, 114)', 'keywords have the dark theme\'s colour');
    await dark.screenshot({ path: resolve(ARTIFACTS, 'file-view-syntax-dark.png') });
  } finally {
    await dark.context().close();
  }
});

// A C file of n lines: functions with comments, strings and numbers, a
// block comment across lines, and needle_marker on a few lines.
function bigC(n) {
  const out = ['/* big.c - generated for the browser tests', ' * (a block comment over three lines)', ' */', '#include <stdio.h>'];
  for (let i = 0; out.length < n; i++) {
    out.push('', `/* f${i}: returns ${i} times two. */`, `static int f${i}(int x)`, '{',
             `    const char *name = "f${i}";   // a string and a comment`,
             `    if (x > ${i % 97}) return x * 2 + 0x${(i % 4096).toString(16)};`,
             i % 200 === 7 ? '    return needle_marker(x);' : '    printf("%s %d\\n", name, x);', '    return 0;', '}');
  }
  out.length = n;
  return out.join('\n') + '\n';
}

test('syntax colours: a 20,000-line file opens fast and is coloured as it scrolls into view (timings)', async (page, ctx) => {
  const N = 20000;
  const top = mkdtempSync(resolve(tmpdir(), 'shardgrep-big-'));
  ctx.cleanup.push(() => rmSync(top, { recursive: true, force: true }));
  writeFileSync(resolve(top, 'big.c'), bigC(N));
  writeFileSync(resolve(top, 'small.c'), 'int needle_marker(int x) { return x; }\n');
  const s = await startServer(0, [], [top]);
  ctx.cleanup.push(() => stopServer(s));
  await page.goto(s.base + '/?q=needle_marker');
  await waitResults(page, 'needle_marker');
  // From the click on the file's link to the first frame that shows its
  // lines (the file read included), then to its visible lines coloured.
  const t = await page.evaluate(() => new Promise((done) => {
    const link = Array.from(document.querySelectorAll('#results .file-link')).find((a) => a.textContent === 'big.c');
    const out = {};
    const t0 = performance.now();
    document.addEventListener('sg:file', () => {
      out.rendered = performance.now() - t0;
      out.unbuilt = document.querySelectorAll('#file-body .chunk.unbuilt').length;
      requestAnimationFrame(() => setTimeout(() => { out.painted = performance.now() - t0; }, 0));
      const look = () => {
        if (document.querySelector('#file-body .chunk[data-coloured]') && out.painted) {
          out.coloured = performance.now() - t0;
          out.colouredChunks = document.querySelectorAll('#file-body .chunk[data-coloured]').length;
          done(out);
        } else requestAnimationFrame(look);
      };
      requestAnimationFrame(look);
    }, { once: true });
    link.click();
  }));
  // The rows near the line shown come before the first paint, the rest
  // after it, in idle moments: soon every line is in the page.
  await page.waitForFunction((n) => document.querySelectorAll('#file-body .row').length === n, N);
  eq(await page.$$eval('#file-body .chunk.unbuilt', (c) => c.length), 0, 'no placeholder left');
  const chunks = await page.$$eval('#file-body .chunk', (c) => c.length);
  assert(t.unbuilt > chunks / 2, `only the rows near the line shown are made before the first paint: ${chunks - t.unbuilt} of ${chunks} chunks`);
  assert(t.colouredChunks < chunks / 10, `only the chunks near the viewport are coloured: ${t.colouredChunks} of ${chunks}`);
  assert(await page.$eval('#L1 .src', (e) => !!e.querySelector('.hljs-comment')), 'the first lines are coloured');
  // Scroll to the end: the last lines are coloured as they come into view,
  // the middle of the file is not; frame gaps measured while scrolling.
  const scroll = await page.evaluate(() => new Promise((done) => {
    const gaps = [];
    let last = performance.now();
    const t0 = last;
    const step = Math.max(400, Math.floor(document.documentElement.scrollHeight / 60));
    const tick = () => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
      if (window.scrollY + window.innerHeight < document.documentElement.scrollHeight - 2) {
        window.scrollBy(0, step);
        requestAnimationFrame(tick);
      } else {
        done({ ms: now - t0, frames: gaps.length, maxGap: Math.max(...gaps), medianGap: gaps.sort((a, b) => a - b)[gaps.length >> 1] });
      }
    };
    requestAnimationFrame(tick);
  }));
  const chunkColoured = (id) => page.waitForFunction((id) => document.getElementById(id).closest('.chunk').dataset.coloured === '1', id);
  await chunkColoured('L' + N);
  const lastChunk = await page.$eval('#file-body .chunk:last-child', (c) => [c.dataset.coloured, c.querySelectorAll('[class^="hljs-"]').length]);
  assert(lastChunk[0] === '1' && lastChunk[1] > 0, 'the last lines are coloured once scrolled to: ' + JSON.stringify(lastChunk));
  const coloured = await page.$$eval('#file-body .chunk[data-coloured]', (c) => c.length);
  // The needle lines: marked on top of their colours, at the end too.
  const needle = await page.$$eval('#file-body .row.has-match', (rs) => rs.map((r) => r.id));
  assert(needle.length >= 10, 'the needle lines are marked: ' + needle.length);
  const lastNeedle = needle[needle.length - 1];
  // Coloured once in view (a chunk passed in a fast scroll on a busy
  // machine may never have been near the viewport long enough).
  await page.$eval('#' + lastNeedle, (e) => e.scrollIntoView({ block: 'center' }));
  await chunkColoured(lastNeedle);
  const ps = (await pieces(page, `#${lastNeedle} .src`))[0];
  assert(ps.some(([t, , m]) => m && t === 'needle_marker') && ps.some(([, cls]) => /hljs-keyword/.test(cls)), `${lastNeedle}: marked and coloured: ` + JSON.stringify(ps));

  // A deep link far down lands on its line, and p from the top wraps to
  // the last match, at the end of the file: their rows are made first.
  // The rows made in idle moments are held back (requestIdleCallback never
  // calls), so these rows come from going there.
  // (about:blank first: each address is a new page, not a new #L.)
  await page.addInitScript(() => { window.requestIdleCallback = () => 0; });
  const text = bigC(N).split('\n');
  const needles = text.map((l, i) => [l, i + 1]).filter(([l]) => l.includes('needle_marker')).map(([, no]) => no);
  await page.goto('about:blank');
  await page.goto(s.base + '/?q=needle_marker&file=big.c#L15000-L15002');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  eq(await page.$$eval('#file-body .row.target', (r) => r.map((x) => x.id)), ['L15000', 'L15001', 'L15002'], '#L15000-L15002 selected');
  eq(await page.$eval('#L15000 .src', (e) => e.textContent), text[14999], 'line 15000\'s text');
  assert(await inViewport(page, '#L15000'), '#L15000 scrolled into view');
  await page.goto('about:blank');
  await page.goto(s.base + '/?q=needle_marker&file=big.c#L2');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  await page.waitForFunction(() => /matching/.test(document.getElementById('file-meta').textContent));
  await page.keyboard.press('p');
  const last = needles[needles.length - 1];
  eq(new URL(page.url()).hash, `#L${last}`, 'p from the top: the last match');
  assert(await inViewport(page, `#L${last}`), 'p scrolls to it');
  assert(await page.$eval(`#L${last}`, (e) => e.classList.contains('target') && e.classList.contains('has-match') && !!e.querySelector('mark')),
         'the last match selected and marked');
  await page.click(`#L${last - 3} .ln`);
  await page.click(`#L${last + 2} .ln`, { modifiers: ['Shift'] });
  eq(new URL(page.url()).hash, `#L${last - 3}-L${last + 2}`, 'click and shift-click there');
  eq(await page.$$eval('#file-body .row.target', (r) => r.length), 6, 'six lines selected');
  assert(await page.$eval('#file-body .chunk[data-from="10001"]', (c) => c.classList.contains('unbuilt')), 'the middle of the file not made (held back)');

  const result = { lines: N, click_to_rendered_ms: +t.rendered.toFixed(1), click_to_first_paint_ms: +t.painted.toFixed(1),
                   click_to_visible_coloured_ms: +t.coloured.toFixed(1), chunks, chunks_coloured_at_open: t.colouredChunks,
                   scroll_to_end: { ms: +scroll.ms.toFixed(0), frames: scroll.frames, median_frame_ms: +scroll.medianGap.toFixed(1), max_frame_ms: +scroll.maxGap.toFixed(1), chunks_coloured_after: coloured } };
  writeFileSync(resolve(ARTIFACTS, 'fileview-timing.json'), JSON.stringify(result, null, 2) + '\n');
  notes.push(`file view of ${N.toLocaleString('en-US')} lines of C: ${t.painted.toFixed(1)} ms from the click to the first paint of its lines (${t.rendered.toFixed(1)} ms to rendered), ` +
             `${t.coloured.toFixed(1)} ms to its visible lines coloured (${t.colouredChunks} of ${chunks} chunks); scrolled to the end in ${scroll.frames} frames, ` +
             `median ${scroll.medianGap.toFixed(1)} ms, longest ${scroll.maxGap.toFixed(1)} ms; ${coloured} chunks coloured after`);
});

test('options and path filters change the results', async (page) => {
  page.__rec.allow.push(/status of 400/);     // "malloc(" as a regex, on purpose
  await page.goto(server.base + '/?q=kv_get');
  await waitResults(page, 'kv_get');
  const all = await apiSearch({ q: 'kv_get' });

  // Path filter.
  await page.fill('#path', 'src/');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('path') === 'src/');
  await waitResults(page, 'kv_get');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('#results .row.match')).every((r) => r.dataset.path.startsWith('src/')));
  const inSrc = await apiSearch({ q: 'kv_get', path: 'src/' });
  assert(inSrc.stats.matched_lines < all.stats.matched_lines, 'the path filter narrows the API answer');
  eq((await summaryCounts(page)).lines, inSrc.stats.matched_lines, 'count with path=src/');
  eq((await shownRows(page)).map((r) => [r.path, r.line]), inSrc.results.map((r) => [r.path, r.line]), 'rows with path=src/');

  // Exclude filter.
  await page.fill('#exclude', '*.h');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('exclude') === '*.h');
  const noH = await apiSearch({ q: 'kv_get', path: 'src/', exclude: '*.h' });
  await page.waitForFunction((n) => /matching|No matches/.test(document.getElementById('summary').textContent) &&
    document.querySelectorAll('#results .row.match').length === n, noH.results.length);
  const rowsNoH = await shownRows(page);
  assert(rowsNoH.every((r) => !r.path.endsWith('.h')), 'no .h files with exclude=*.h');
  eq(rowsNoH.map((r) => [r.path, r.line]), noH.results.map((r) => [r.path, r.line]), 'rows with exclude=*.h');

  // Case: an upper-case pattern is case-sensitive in auto mode; "no" makes it insensitive.
  await page.fill('#path', '');
  await page.fill('#exclude', '');
  await typeQuery(page, 'KV_GET', 5);
  await waitResults(page, 'KV_GET');
  const autoUpper = await apiSearch({ q: 'KV_GET' });
  eq((await summaryCounts(page)).lines, autoUpper.stats.matched_lines, 'KV_GET, case auto');
  await page.selectOption('#case', 'no');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('case') === 'no');
  const insensitive = await apiSearch({ q: 'KV_GET', case: 'no' });
  assert(insensitive.stats.matched_lines > autoUpper.stats.matched_lines, 'case=no finds more');
  await page.waitForFunction((n) => {
    const m = /([\d,]+) matching/.exec(document.getElementById('summary').textContent);
    return m && Number(m[1].replace(/,/g, '')) === n;
  }, insensitive.stats.matched_lines);

  // Literal: "malloc(" is a bad regex but fine as text.
  await page.selectOption('#case', 'auto');
  await typeQuery(page, 'malloc(', 5);
  await page.waitForSelector('#q-error:not([hidden])');
  await page.check('#mode-literal');
  await waitResults(page, 'malloc(');
  const lit = await apiSearch({ q: 'malloc(', literal: true });
  eq((await summaryCounts(page)).lines, lit.stats.matched_lines, 'literal malloc( count');
  assert(await page.isHidden('#q-error'), 'no error in literal mode');
  eq(new URL(page.url()).searchParams.get('literal'), '1', 'literal in the address');
  const rowsLit = await shownRows(page);
  assert(rowsLit.length > 0 && rowsLit.every((r) => r.marks.every((m) => m === 'malloc(')), 'literal highlights');

  // Context lines: dimmed, and the number follows the option.
  await page.selectOption('#context', '0');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('context') === '0');
  await page.waitForFunction(() => document.querySelectorAll('#results .row.match').length > 0 &&
    document.querySelectorAll('#results .row.ctx').length === 0);
  await page.selectOption('#context', '4');
  await page.waitForFunction(() => document.querySelectorAll('#results .row.ctx').length > 0);
  const colors = await page.evaluate(() => ({
    ctx: getComputedStyle(document.querySelector('#results .row.ctx .src')).color,
    match: getComputedStyle(document.querySelector('#results .row.match .src')).color,
  }));
  assert(colors.ctx !== colors.match, 'context lines are dimmed: ' + JSON.stringify(colors));
  const ctxDoc = await apiSearch({ q: 'malloc(', literal: true, context: 4 });
  // Every context line of the API answer is shown once, at its line number.
  const expectCtx = new Map();
  for (const r of ctxDoc.results) {
    r.before.forEach((t, i) => expectCtx.set(`${r.path}:${r.line - r.before.length + i}`, t));
    r.after.forEach((t, i) => expectCtx.set(`${r.path}:${r.line + 1 + i}`, t));
  }
  for (const r of ctxDoc.results) expectCtx.delete(`${r.path}:${r.line}`);
  const shownCtx = await page.$$eval('#results section.file', (secs) => secs.flatMap((s) =>
    Array.from(s.querySelectorAll('.row.ctx')).map((r) => [`${s.getAttribute('aria-label')}:${r.querySelector('.ln').textContent}`, r.querySelector('.src').textContent])));
  eq(shownCtx.length, expectCtx.size, 'each context line shown once');
  for (const [k, t] of shownCtx) eq(t, expectCtx.get(k), 'context line ' + k);
});

test('"show more" reads the next page of the same query id; truncation is said', async (page) => {
  await page.goto(server.base + '/?q=e&context=0');
  await waitResults(page, 'e');
  const doc = await apiSearch({ q: 'e', context: 0 });
  assert(doc.stats.returned > 2 * PAGE, 'enough results for two pages');
  eq((await shownRows(page)).length, PAGE, 'first page');
  assert(await page.isVisible('#more'), 'a "show more" button');
  const id = await page.$eval('#results', (r) => r.dataset.id);
  await clickSettled(page, '#more');
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, 2 * PAGE);
  const rows = await shownRows(page);
  eq(rows.map((r) => [r.path, r.line, r.text]), doc.results.slice(0, 2 * PAGE).map((r) => [r.path, r.line, r.text]), 'two pages vs the API');
  const pageReq = page.__rec.requests.find((r) => r.method === 'GET' && r.url.includes(`/api/queries/${id}?`) && r.url.includes(`offset=${PAGE}`));
  assert(pageReq, 'the next page was read from the same id with offset=' + PAGE);
  assert(/limit=200/.test(pageReq.url), 'with a limit');
  eq(searchBodies(page).length, 1, 'no new query for "show more"');
  assert((await page.textContent('#more-count')).includes(`Showing ${2 * PAGE} of`), 'count next to the button');

  // More matches than the page asks the server to keep: said plainly.
  await page.goto(server.base + '/?q=.&context=0');
  await waitResults(page, '.');
  const dot = await apiSearch({ q: '.', context: 0 });
  assert(dot.stats.truncated, 'the API truncates "."');
  const warn = await page.textContent('#warning');
  assert(await page.isVisible('#warning'), 'truncation notice visible');
  assert(warn.includes(`first ${MAX.toLocaleString('en-US')} of ${dot.stats.matched_lines.toLocaleString('en-US')}`), 'truncation notice: ' + warn);
});

test('"show more" after the server dropped the query id runs it again', async (page, ctx) => {
  page.__rec.allow.push(/status of 404/);
  // A server that keeps one finished query: the next one to finish drops ours.
  const forgetful = await startServer(0, ['--keep-queries', '1']);
  ctx.cleanup.push(() => stopServer(forgetful));
  await page.goto(forgetful.base + '/?q=e&context=0');
  await waitResults(page, 'e');
  eq((await shownRows(page)).length, PAGE, 'first page');
  const id = await page.$eval('#results', (r) => r.dataset.id);
  const other = await (await fetch(forgetful.base + '/api/search?q=kv_get')).json();
  assert(other.status === 'done', 'another query finished');
  const old = await fetch(`${forgetful.base}/api/queries/${id}`);
  eq(old.status, 404, 'the first id is gone');
  await clickSettled(page, '#more');
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, 2 * PAGE);
  const doc = await apiSearch({ q: 'e', context: 0 }, {}, forgetful.base);
  eq((await shownRows(page)).map((r) => [r.path, r.line, r.text]), doc.results.slice(0, 2 * PAGE).map((r) => [r.path, r.line, r.text]), 'two pages vs the API');
  const posts = searchBodies(page);
  eq([posts.length, posts[1].q, 'stream' in posts[1]], [2, 'e', false], 'the query was submitted again once (streamed first, then POSTed)');
  assert(page.__rec.requests.some((r) => r.method === 'GET' && r.url.includes('offset=' + PAGE) && !r.url.includes(id)), 'the page was read from the new id');
  assert(await page.isHidden('#warning'), 'no warning: ' + await page.textContent('#warning'));
});

test('"show more" on a busy server (503 overloaded) tries again, then says so', async (page) => {
  page.__rec.allow.push(/status of 503/);
  // The server's 503 overloaded (too many large answers in flight) is tested
  // against the server; here the next-page answers are made busy on purpose.
  const overloaded = { error: { code: 'overloaded', message: 'large answers being sent hold 1024 MiB (--answer-memory 1024 MiB): try again shortly' } };
  let busy = 2, nextPage = 0;
  await page.route(/\/api\/queries\/[0-9a-f]+\?.*offset=[1-9]/, async (route) => {
    nextPage++;
    if (busy > 0) {
      busy--;
      await route.fulfill({ status: 503, contentType: 'application/json', headers: { 'Retry-After': '1' }, body: JSON.stringify(overloaded) });
    } else {
      await route.continue();
    }
  });
  await page.goto(server.base + '/?q=e&context=0');
  await waitResults(page, 'e');
  await clickSettled(page, '#more');
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, 2 * PAGE);
  eq(nextPage, 3, 'two busy answers, then the page');
  assert(await page.isHidden('#notice'), 'a busy server is not a server that is down');
  assert(await page.isHidden('#warning'), 'no warning once the page came');
  eq(searchBodies(page).length, 1, 'the search was not started over');
  const doc = await apiSearch({ q: 'e', context: 0 });
  eq((await shownRows(page)).map((r) => [r.path, r.line]), doc.results.slice(0, 2 * PAGE).map((r) => [r.path, r.line]), 'two pages vs the API');

  // Busy for longer than the page waits: it says so and keeps what it shows.
  busy = 1000;
  nextPage = 0;
  await clickSettled(page, '#more');
  await page.waitForSelector('#warning:not([hidden])', { timeout: 9000 });
  const warn = await page.textContent('#warning');
  assert(warn.includes('Could not load more results') && warn.includes('try again shortly'), 'the warning names the cause: ' + warn);
  eq(nextPage, 6, 'five retries, then it gives up');
  eq((await shownRows(page)).length, 2 * PAGE, 'the rows shown stay');
  assert(await page.isEnabled('#more') && /more/.test(await page.textContent('#more')), 'the button can be clicked again');
  assert(await page.isHidden('#notice'), 'still no "server down" notice');
  eq(searchBodies(page).length, 1, 'still one search');
});

// The first page and "show more" read through one routine (web/js/api.js,
// RemoteQuery.page); these two tests hold its first-page behaviour (a
// search of file names reads its first page so; the line search streams
// it, and waits out a busy server before its stream as RemoteQuery does).
// The queries a page started (POSTed, or streamed), each as its fields.
const searchBodies = (page) => page.__rec.requests.filter((r) => r.search).map((r) => r.search);
const postsOf = (page, q) => searchBodies(page).filter((b) => b.q === q);
const healthPolls = (page) => page.__rec.requests.filter((r) => r.url.endsWith('/healthz')).length;

test('the first page after the server dropped the query id runs it again, with no "server down"', async (page, ctx) => {
  page.__rec.allow.push(/status of 404/);
  // A server that keeps one finished query: the first read of the page's
  // query is held until another query has finished and dropped it, so the
  // page's first read gets the server's own 404.
  const forgetful = await startServer(0, ['--keep-queries', '1']);
  ctx.cleanup.push(() => stopServer(forgetful));
  let held = 0, dropped = '';
  await page.route(/\/api\/queries\/[0-9a-f]+\?.*offset=0&/, async (route) => {
    if (++held === 1) {
      const id = /\/api\/queries\/([0-9a-f]+)\?/.exec(route.request().url())[1];
      await fetch(`${forgetful.base}/api/queries/${id}?wait_ms=5000`);
      await fetch(`${forgetful.base}/api/search?q=kv_get`);
      if ((await fetch(`${forgetful.base}/api/queries/${id}`)).status === 404) dropped = id;
    }
    await route.continue().catch(() => {});
  });
  await page.goto(forgetful.base + '/?q=' + encodeURIComponent('file:kvstore'));
  await waitNames(page, 'file:kvstore');
  assert(dropped, 'the first id was dropped before the page read it');
  const doc = await apiNames({ q: 'kvstore' }, { max: 1000 }, forgetful.base);
  eq(namesOf(await shownNames(page)), expectNames(doc), 'file names vs the API');
  eq(postsOf(page, 'kvstore').length, 2, 'the query was submitted again once');
  const shownId = (await page.evaluate(() => window.__t.log)).filter((l) => l.kind === 'rendered' && l.q === 'file:kvstore').pop().id;
  assert(shownId && shownId !== dropped, 'the page shows the new id: ' + shownId);
  eq(healthPolls(page), 0, 'no /healthz poll: the server was up all along');
  assert(await page.isHidden('#notice'), 'no "server down" notice');
  assert(await page.isHidden('#warning'), 'no warning: ' + await page.textContent('#warning'));

  // Dropped again after it was run again: said under the results, not
  // taken for a server that is down, and Enter searches again.
  await page.unroute(/\/api\/queries\/[0-9a-f]+\?.*offset=0&/);
  const expired = (id) => JSON.stringify({ error: { code: 'expired', message: `query ${id} has expired` } });
  await page.route(/\/api\/queries\/[0-9a-f]+\?.*offset=0&/, (route) => {
    const id = /\/api\/queries\/([0-9a-f]+)\?/.exec(route.request().url())[1];
    return route.fulfill({ status: 404, contentType: 'application/json', body: expired(id) });
  });
  await page.goto(forgetful.base + '/?q=' + encodeURIComponent('file:wal'));
  await page.waitForFunction(() => document.getElementById('results').dataset.state === 'error');
  assert(/could not be read/.test(await page.textContent('#summary')), 'the summary says so: ' + await page.textContent('#summary'));
  const warn = await page.textContent('#warning');
  assert(await page.isVisible('#warning') && /has expired/.test(warn) && /Enter/.test(warn), 'the warning names the cause: ' + warn);
  eq(postsOf(page, 'wal').length, 2, 'run again once, not in a loop');
  eq(healthPolls(page), 0, 'still no /healthz poll');
  assert(await page.isHidden('#notice'), 'still no "server down" notice');
  await page.unroute(/\/api\/queries\/[0-9a-f]+\?.*offset=0&/);
  await page.focus('#q');
  await page.keyboard.press('Enter');
  await waitNames(page, 'file:wal');
  assert(await page.isHidden('#warning'), 'the warning goes with the results');
  eq(postsOf(page, 'wal').length, 3, 'Enter ran it again');
});

test('the first page on a busy server (503 overloaded) waits as Retry-After says, then says so', async (page) => {
  page.__rec.allow.push(/status of 503/);
  const overloaded = JSON.stringify({ error: { code: 'overloaded', message: '2 queries are running and 64 waiting: try again shortly' } });
  // Busy twice: first asking for 2 s, then without Retry-After (the page
  // waits 1 s).  Only lower bounds are checked: a slow machine waits longer.
  let busy = [{ 'Retry-After': '2' }, {}];
  await page.route(STREAM_URL, async (route) => {
    if (busy.length) {
      const headers = busy.shift();
      await route.fulfill({ status: 503, contentType: 'application/json', headers, body: overloaded });
    } else {
      await route.continue().catch(() => {});
    }
  });
  await page.goto(server.base + '/?q=kv_get');
  await waitResults(page, 'kv_get');
  const doc = await apiSearch({ q: 'kv_get' });
  eq((await shownRows(page)).map((r) => [r.path, r.line]), expectRowsFromAPI(doc).map((r) => [r.path, r.line]), 'rows vs the API');
  const sent = (await page.evaluate(() => window.__t.log)).filter((l) => l.kind === 'fetch' && STREAM_URL.test(l.url)).map((l) => l.t);
  eq(sent.length, 3, 'two busy answers, then the query');
  assert(sent[1] - sent[0] >= 1900, `Retry-After: 2 waited: ${Math.round(sent[1] - sent[0])} ms`);
  assert(sent[2] - sent[1] >= 900, `no Retry-After: 1 s waited: ${Math.round(sent[2] - sent[1])} ms`);
  eq(healthPolls(page), 0, 'a busy server is not a server that is down: no /healthz poll');
  assert(await page.isHidden('#notice') && await page.isHidden('#warning'), 'no notice, no warning');

  // Busy for longer than the page waits: five retries, then it says so.
  busy = Array.from({ length: 1000 }, () => ({ 'Retry-After': '0' }));
  await page.goto(server.base + '/?q=wal_replay');
  await page.waitForFunction(() => document.getElementById('results').dataset.state === 'error');
  eq(postsOf(page, 'wal_replay').length, 6, 'five retries, then it gives up');
  const warn = await page.textContent('#warning');
  assert(await page.isVisible('#warning') && warn.includes('try again shortly'), 'the warning names the cause: ' + warn);
  assert(await page.isHidden('#notice'), 'no "server down" notice');
  eq(healthPolls(page), 0, 'no /healthz poll');
  busy = [];
  await page.focus('#q');
  await page.keyboard.press('Enter');
  await waitResults(page, 'wal_replay');

  // The file view reads its file through the same wait.
  let fileBusy = 1;
  await page.route('**/api/files/**', async (route) => {
    if (fileBusy-- > 0) await route.fulfill({ status: 503, contentType: 'application/json', headers: { 'Retry-After': '0' }, body: overloaded });
    else await route.continue().catch(() => {});
  });
  await page.goto(server.base + '/?q=kv_get&file=src/kvstore.c#L3');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  assert(fileBusy < 0, 'the file was read after a busy answer');
  assert(await page.isHidden('#notice'), 'no "server down" notice for the file view');
});

test('a bad regex shows PCRE2\'s message next to the box', async (page) => {
  page.__rec.allow.push(/status of 400/);
  await page.goto(server.base + '/');
  await typeQuery(page, 'foo(');
  await page.waitForSelector('#q-error:not([hidden])');
  const apiErr = await api('/api/search?q=' + encodeURIComponent('foo('));
  eq(apiErr.status, 400, 'the API refuses foo(');
  const text = await page.textContent('#q-error-text');
  assert(text.includes(apiErr.body.error.message), `message "${text}" includes PCRE2's "${apiErr.body.error.message}"`);
  eq(await page.getAttribute('#q', 'aria-invalid'), 'true', 'box marked invalid');
  eq(await page.$$eval('#results .row', (r) => r.length), 0, 'no results');
  eq(page.__rec.dialogs.length, 0, 'no alert');
  // The error sits next to the box: just below it, in the header.
  const [box, err] = await Promise.all([page.$eval('#q', (e) => e.getBoundingClientRect().toJSON()), page.$eval('#q-error', (e) => e.getBoundingClientRect().toJSON())]);
  assert(err.top >= box.bottom && err.top - box.bottom < 30, 'error right under the box');
  await page.keyboard.type(')');
  await waitResults(page, 'foo()');
  assert(await page.isHidden('#q-error'), 'error cleared once the pattern is valid');
});

test('lines over the regex match limit: the page says the results may miss matches', async (page) => {
  page.__rec.allow.push(/status of 400/); // half-typed patterns such as "(*LIMIT_MATCH" are refused
  const q = '(*LIMIT_MATCH=1)(a|b)*c+.x';
  const doc = await api('/api/search?q=' + encodeURIComponent(q));
  eq([doc.body.status, doc.body.stats.incomplete], ['partial', ['match_limit']], 'the API: status, stats.incomplete');
  await page.goto(server.base + '/');
  await typeQuery(page, q);
  await waitResults(page, q);
  const warn = await page.textContent('#warning');
  assert(await page.isVisible('#warning') && warn.includes('match limit'), 'the warning names the match limit: ' + warn);
  assert(warn.includes(String(doc.body.stats.limit_hits)), `the warning counts the lines (${doc.body.stats.limit_hits}): ` + warn);
  assert(!warn.includes('failed during this search'), 'no worker is said to have failed: ' + warn);
  await typeQuery(page, 'kv_get');
  await waitResults(page, 'kv_get');
  assert(await page.isHidden('#warning'), 'a whole answer shows no warning');
});

test('a permalink reload reproduces the page', async (page) => {
  const url = '/?q=' + encodeURIComponent('kv_(get|put)') + '&case=yes&path=src%2F&exclude=' + encodeURIComponent('*.h') + '&context=1';
  await page.goto(server.base + url);
  await waitResults(page, 'kv_(get|put)');
  const controls = () => page.evaluate(() => ({
    q: document.getElementById('q').value,
    literal: document.getElementById('mode-literal').checked,
    case: document.getElementById('case').value,
    path: document.getElementById('path').value,
    exclude: document.getElementById('exclude').value,
    context: document.getElementById('context').value,
  }));
  const expectControls = { q: 'kv_(get|put)', literal: false, case: 'yes', path: 'src/', exclude: '*.h', context: '1' };
  eq(await controls(), expectControls, 'controls from the address');
  const doc = await apiSearch({ q: 'kv_(get|put)', case: 'yes', path: 'src/', exclude: '*.h', context: 1 });
  const before = await shownRows(page);
  eq(before.map((r) => [r.path, r.line]), doc.results.map((r) => [r.path, r.line]), 'rows vs the API');
  const html = await page.$eval('#results', (r) => r.textContent);
  await page.reload();
  await waitResults(page, 'kv_(get|put)');
  eq(await controls(), expectControls, 'controls after reload');
  eq(await page.$eval('#results', (r) => r.textContent), html, 'same results after reload');
  eq(page.url(), server.base + url, 'address kept');
});

test('back/forward move between queries', async (page) => {
  const back = () => traverse(page, -1);
  const forward = () => traverse(page, 1);
  await page.goto(server.base + '/');
  // A pause inside the burst (its query runs and takes an entry), then the
  // last letter and Enter: still the one entry.
  await typeQuery(page, 'kv_ge');
  await waitResults(page, 'kv_ge');
  await page.keyboard.type('t');
  await page.keyboard.press('Enter');
  await waitResults(page, 'kv_get');
  // A new query after clearing the box, typed in one burst: one entry.
  await page.fill('#q', '');
  await page.keyboard.type('kv_put', { delay: 20 });
  await page.keyboard.press('Enter');
  await waitResults(page, 'kv_put');
  await page.selectOption('#context', '0');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('context') === '0');
  await waitResults(page, 'kv_put');
  await back();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('context') === null);
  await waitResults(page, 'kv_put');
  eq(await page.$eval('#context', (s) => s.value), '2', 'context back to 2');
  await back();
  await waitResults(page, 'kv_get');
  eq(await page.inputValue('#q'), 'kv_get', 'box shows the earlier query');
  const doc = await apiSearch({ q: 'kv_get' });
  eq((await summaryCounts(page)).lines, doc.stats.matched_lines, 'earlier results shown');
  await back();
  await page.waitForSelector('#welcome:not([hidden])');
  eq(await page.inputValue('#q'), '', 'the empty start page');
  await forward();
  await waitResults(page, 'kv_get');
  await forward();
  await waitResults(page, 'kv_put');
  eq(await page.inputValue('#q'), 'kv_put', 'forward to the later query');
  const put = await apiSearch({ q: 'kv_put' });
  eq((await shownRows(page)).map((r) => [r.path, r.line]), put.results.map((r) => [r.path, r.line]), 'later results');
  // Results -> file view -> back.
  await page.click('#results .row.match .src');
  await page.waitForSelector('#file-view:not([hidden])');
  await back();
  await waitResults(page, 'kv_put');
  assert(await page.isVisible('#search-view') && await page.isHidden('#file-view'), 'back from the file view to the results');
  await forward();
  await page.waitForSelector('#file-view:not([hidden])');
});

test('the file view opens at the line, with #L anchors and ranges', async (page) => {
  await page.goto(server.base + '/?q=kv_get');
  await waitResults(page, 'kv_get');
  const rows = await shownRows(page);
  const target = rows.find((r) => r.path === 'src/kvstore.c') || rows[rows.length - 1];
  await clickSettled(page, `#results .row.match[data-path="${target.path}"][data-line="${target.line}"] .src`);
  await page.waitForSelector('#file-view:not([hidden])');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  const u = new URL(page.url());
  eq([u.searchParams.get('file'), u.hash, u.searchParams.get('q')], [target.path, `#L${target.line}`, 'kv_get'], 'file view address');
  const file = await api('/api/files/' + target.path.split('/').map(encodeURIComponent).join('/'));
  eq(await page.$$eval('#file-body .row', (r) => r.length), file.body.line_count, 'every line shown');
  eq(await page.$eval(`#L${target.line} .src`, (e) => e.textContent), file.body.lines[target.line - 1], 'the line text');
  assert(await page.$eval(`#L${target.line}`, (e) => e.classList.contains('target')), 'the line is highlighted');
  assert(await inViewport(page, `#L${target.line}`), 'the line is scrolled into view');
  eq(await page.$$eval('#file-body .row.target', (r) => r.length), 1, 'only that line');
  const marks = await page.$$eval(`#L${target.line} mark`, (m) => m.map((x) => x.textContent));
  assert(marks.includes('kv_get'), 'query matches highlighted in the file: ' + JSON.stringify(marks));
  assert((await page.textContent('#file-path')) === target.path, 'path shown');
  await page.screenshot({ path: resolve(ARTIFACTS, 'file-view.png') });

  // Click a line number, then shift-click another: a range.
  const a = Math.max(1, target.line - 2), b = Math.min(file.body.line_count, target.line + 3);
  await page.click(`#L${a} .ln`);
  eq(new URL(page.url()).hash, `#L${a}`, 'click sets #L');
  await page.click(`#L${b} .ln`, { modifiers: ['Shift'] });
  eq(new URL(page.url()).hash, `#L${a}-L${b}`, 'shift-click sets a range');
  eq(await page.$$eval('#file-body .row.target', (r) => r.map((x) => x.id)),
     Array.from({ length: b - a + 1 }, (_, i) => `L${a + i}`), 'range highlighted');

  // A range permalink, reloaded, deep in a longer file.
  const big = await api('/api/files/src/kvstore.c');
  const lo = Math.max(1, big.body.line_count - 20), hi = big.body.line_count - 10;
  await page.goto(server.base + `/?q=kv_get&file=src/kvstore.c#L${lo}-L${hi}`);
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  eq(await page.$$eval('#file-body .row.target', (r) => r.length), hi - lo + 1, 'range from the address');
  assert(await inViewport(page, `#L${lo}`), 'range start in view');
  await page.screenshot({ path: resolve(ARTIFACTS, 'file-view-range.png') });

  // n / p jump between the query's matches in the file.
  await page.goto(server.base + '/?q=return&file=src/kvstore.c');
  await page.waitForFunction(() => /matching/.test(document.getElementById('file-meta').textContent));
  const ret = await apiSearch({ q: 'return', path: 'src/kvstore.c', context: 0 });
  const retLines = ret.results.filter((r) => r.path === 'src/kvstore.c').map((r) => r.line);
  eq(await page.$$eval('#file-body .row.has-match', (r) => r.map((x) => Number(x.id.slice(1)))), retLines, 'matching lines marked in the file');
  // The page moves on the key's event; on a loaded machine the address
  // may change a moment after press() returns.
  const hashAfter = async (key, want) => {
    await page.keyboard.press(key);
    await page.waitForFunction((h) => location.hash === h, want, { timeout: 5000 }).catch(() => {});
    return new URL(page.url()).hash;
  };
  eq(await hashAfter('n', `#L${retLines[0]}`), `#L${retLines[0]}`, 'n: first match');
  eq(await hashAfter('n', `#L${retLines[1]}`), `#L${retLines[1]}`, 'n: next match');
  assert(await inViewport(page, `#L${retLines[1]}`), 'n scrolls to the match');
  eq(await hashAfter('p', `#L${retLines[0]}`), `#L${retLines[0]}`, 'p: previous match');
  await page.goto(server.base + '/?q=kv_get&file=src/kvstore.c');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');

  // Back to the results.
  await page.click('#back');
  await waitResults(page, 'kv_get');
  assert(await page.isVisible('#search-view') && await page.isHidden('#file-view'), 'back to the results');
  eq(new URL(page.url()).search, '?q=kv_get', 'results address');
});

test('keyboard: / focuses, arrows and j/k move, Enter opens, Esc goes back and clears, ? helps', async (page) => {
  await page.goto(server.base + '/?q=kv_get');
  await waitResults(page, 'kv_get');
  await page.click('#summary');                    // focus out of the box
  await page.keyboard.press('/');
  eq(await page.evaluate(() => document.activeElement.id), 'q', '/ focuses the box');
  const rows = await shownRows(page);
  const sel = () => page.$$eval('#results .row.match', (rs) => rs.findIndex((r) => r.classList.contains('sel')));
  await page.keyboard.press('ArrowDown');
  eq(await sel(), 0, '↓ from the box selects the first result');
  eq(await page.evaluate(() => document.activeElement.id), 'q', 'the box keeps the focus');
  await page.keyboard.press('ArrowDown');
  eq(await sel(), 1, '↓ again');
  await page.keyboard.press('ArrowUp');
  eq(await sel(), 0, '↑');
  await page.click('#summary');                    // out of the box
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  eq(await sel(), 3, 'j moves down');
  await page.keyboard.press('k');
  eq(await sel(), 2, 'k moves up');
  assert(await inViewport(page, '#results .row.match.sel'), 'the selected row is in view');
  // Many j presses scroll the selection along.
  for (let i = 0; i < 12; i++) await page.keyboard.press('j');
  const n = Math.min(14, rows.length - 1);
  eq(await sel(), n, 'j many times');
  assert(await inViewport(page, '#results .row.match.sel'), 'the selection is scrolled into view');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done' && !document.getElementById('file-view').hidden);
  const u = new URL(page.url());
  eq([u.searchParams.get('file'), u.hash], [rows[n].path, `#L${rows[n].line}`], 'Enter opens the selected result');
  assert(await inViewport(page, `#L${rows[n].line}`), 'opened at the line');
  await page.keyboard.press('Escape');
  await waitResults(page, 'kv_get');
  assert(await page.isVisible('#search-view'), 'Esc in the file view goes back to the results');
  await page.keyboard.press('?');
  assert(await page.isVisible('#help'), '? opens the help');
  assert((await page.textContent('#help')).includes('Next / previous result'), 'help lists the keys');
  await page.keyboard.press('Escape');
  assert(await page.isHidden('#help'), 'Esc closes the help');
  await page.keyboard.press('/');
  await page.keyboard.press('Escape');
  eq(await page.inputValue('#q'), '', 'Esc clears the box');
  await page.waitForSelector('#welcome:not([hidden])');
  eq(await page.$$eval('#results .row', (r) => r.length), 0, 'and the results');
  eq(new URL(page.url()).search, '', 'and the address');
  // Enter from the box with nothing selected searches at once.
  await page.fill('#q', 'wal_');
  await page.keyboard.press('Enter');
  await waitResults(page, 'wal_');
});

test('the XSS files stay inert: markup in results and files is shown as text', async (page) => {
  const allowedTags = new Set(['SECTION', 'H2', 'A', 'SPAN', 'DIV', 'MARK', 'CODE']);
  const check = async (root) => {
    const tags = await page.$$eval(`${root} *`, (els) => [...new Set(els.map((e) => e.tagName))]);
    const bad = tags.filter((t) => !allowedTags.has(t));
    eq(bad, [], `only the page's own elements under ${root}`);
    const attrs = await page.$$eval(`${root} *`, (els) => els.flatMap((e) => Array.from(e.attributes).map((a) => a.name))
      .filter((n) => n.startsWith('on') || n === 'src' || n === 'style' || n === 'srcdoc'));
    eq(attrs, [], 'no event handler, src or style attributes');
  };
  for (const q of ['xss_marker', 'alert']) {
    await page.goto(server.base + '/?q=' + q + '&context=3');
    await waitResults(page, q);
    await check('#results');
    const texts = await page.$$eval('#results .src', (s) => s.map((x) => x.textContent));
    assert(texts.includes('<script>alert(1)</script>'), 'the script line shows literally');
    assert(texts.includes('<img src=x onerror=alert(2)>'), 'the img line shows literally');
    assert(texts.includes('</textarea><script>document.title=\'pwned\'</script>'), 'textarea breakout literal');
    await page.hover('#results .row.match');
  }
  await page.screenshot({ path: resolve(ARTIFACTS, 'results-xss.png') });
  // The file view of the payload.
  await page.goto(server.base + '/?q=alert&file=web/xss/payload.html#L4');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  await check('#file-body');
  eq(await page.$eval('#L4 .src', (e) => e.textContent), '<script>alert(1)</script>', 'line 4 literal in the file view');
  await page.hover('#L7');
  await sleep(300);
  eq(page.__rec.dialogs, [], 'no dialog');
  eq(await page.title(), 'web/xss/payload.html · shardgrep', 'title untouched');
  eq(await page.$$eval('script', (s) => s.map((x) => x.getAttribute('src'))), ['app.js'], 'only the page\'s own script');
  assert(await page.$eval('body', (b) => getComputedStyle(b).display !== 'none'), 'no injected style');
});

test('no console errors or CSP violations in any view; the CSP is really sent', async (page) => {
  const r = await fetch(server.base + '/');
  const csp = r.headers.get('content-security-policy') || '';
  assert(/script-src 'self'/.test(csp) && /style-src 'self'/.test(csp), 'CSP header on the page: ' + csp);
  for (const f of ['/app.js', '/style.css', '/favicon.svg']) {
    const fr = await fetch(server.base + f);
    eq(fr.status, 200, f + ' served');
  }
  // The page is ES modules (app.js imports the rest): each is served as
  // JavaScript, which a browser requires of a module, and each is used.
  const modules = readdirSync(WEB, { recursive: true }).filter((f) => /\.m?js$/.test(f)).map((f) => '/' + f.split('\\').join('/'));
  for (const f of modules) {
    const fr = await fetch(server.base + f);
    eq([fr.status, (fr.headers.get('content-type') || '').split(';')[0]], [200, 'text/javascript'], f + ' served as JavaScript');
  }
  await page.goto(server.base + '/');
  await page.waitForFunction(() => document.getElementById('index-stats').textContent.length > 0);
  const loaded = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname));
  // The page's own modules and highlight.js's core are loaded at once; a
  // language's grammar only when a line of it is shown.
  const onDemand = (f) => f.startsWith('/vendor/highlight/languages/');
  eq(modules.filter((f) => !onDemand(f) && !loaded.includes(f)), [], 'every script in the web root is loaded by the page');
  eq(loaded.filter(onDemand), [], 'no grammar loaded before a line of its language is shown');
  await page.goto(server.base + '/?q=kv_get&context=3');
  await waitResults(page, 'kv_get');
  // Grammars load after the rows are drawn (those near the viewport
  // first): give the C one a moment on a slow machine.
  const grammarsNow = () => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.includes('/languages/'));
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => new URL(e.name).pathname === '/vendor/highlight/languages/c.min.js'), null, { timeout: 10000 }).catch(() => {});
  const grammars = await page.evaluate(grammarsNow);
  assert(grammars.includes('/vendor/highlight/languages/c.min.js'), 'the C grammar is loaded for C results: ' + JSON.stringify(grammars));
  await page.keyboard.press('?');
  await page.keyboard.press('Escape');
  await page.click('#results .row.match .ln');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  await traverse(page, -1);
  await waitResults(page, 'kv_get');
  const probs = await pageProblems(page);
  eq(probs, [], 'no console errors, page errors or CSP violations');
});

test('phone layout: readable, no horizontal scroll, dark mode', async (page, ctx) => {
  const phone = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2, colorScheme: 'dark' });
  ctx.extraPages.push(phone);
  await phone.goto(server.base + '/?q=kv_get');
  await waitResults(phone, 'kv_get');
  const w = await phone.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert(w.sw <= w.cw, 'no horizontal scrolling on a phone: ' + JSON.stringify(w));
  const bg = await phone.evaluate(() => getComputedStyle(document.body).backgroundColor);
  eq(bg, 'rgb(13, 17, 23)', 'dark background with prefers-color-scheme: dark');
  const box = await phone.$eval('#q', (e) => e.getBoundingClientRect().width);
  assert(box > 280, 'the search box spans the phone width: ' + box);
  await phone.screenshot({ path: resolve(ARTIFACTS, 'results-phone-dark.png') });
  await phone.click('#results .row.match .src');
  await phone.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  await phone.screenshot({ path: resolve(ARTIFACTS, 'file-view-phone-dark.png') });
  eq(await pageProblems(phone), [], 'no problems on the phone page');
  // The light desktop page, for the record.
  await page.goto(server.base + '/?q=kv_(get|put)&context=2');
  await waitResults(page, 'kv_(get|put)');
  await page.screenshot({ path: resolve(ARTIFACTS, 'results.png') });
  const dark = await newPage({ colorScheme: 'dark' });
  ctx.extraPages.push(dark);
  await dark.goto(server.base + '/?q=kv_(get|put)&context=2');
  await waitResults(dark, 'kv_(get|put)');
  await dark.screenshot({ path: resolve(ARTIFACTS, 'results-dark.png') });
  await dark.goto(server.base + '/');
  await dark.waitForFunction(() => document.getElementById('index-stats').textContent.length > 0);
  await dark.screenshot({ path: resolve(ARTIFACTS, 'start-dark.png') });
});

test('keystroke to results: latency', async (page) => {
  await page.goto(server.base + '/');
  await page.waitForSelector('#welcome:not([hidden])');
  // LATENCY_WORDS (comma-separated) to measure over another corpus, e.g.
  // SHARDGREP_CORPUS=~/src/linux TEST_FILTER=latency LATENCY_WORDS=kmalloc,...
  const words = env.LATENCY_WORDS ? env.LATENCY_WORDS.split(',') :
    ['kv_get', 'wal_replay', 'malloc', 'struct', 'TODO', 'return', 'hash', 'error', 'const', 'include', 'bucket', 'client'];
  const samples = [];
  for (const w of words) {
    await page.fill('#q', w.slice(0, -1));
    await waitResults(page, w.slice(0, -1)).catch(() => {});
    await sleep(50);
    await page.evaluate((w) => {
      window.__lat = null;
      const box = document.getElementById('q');
      let t0 = 0;
      const onInput = () => { t0 = performance.now(); };
      box.addEventListener('input', onInput, { once: true, capture: true });
      const onRender = (e) => {
        if (e.detail.q !== w) return;
        const t1 = performance.now();
        document.removeEventListener('sg:rendered', onRender);
        // After the DOM is updated; the next frame is when it is painted.
        requestAnimationFrame(() => setTimeout(() => { window.__lat = { rendered: t1 - t0, painted: performance.now() - t0 }; }, 0));
      };
      document.addEventListener('sg:rendered', onRender);
    }, w);
    await page.keyboard.type(w.slice(-1));            // one keystroke
    await page.waitForFunction(() => window.__lat !== null, null, { timeout: 15000 });
    samples.push(await page.evaluate(() => window.__lat));
  }
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const rendered = med(samples.map((s) => s.rendered)), painted = med(samples.map((s) => s.painted));
  const result = {
    corpus: CORPUS, queries: words, debounce_ms: DEBOUNCE_MS,
    median_input_to_rendered_ms: +rendered.toFixed(1), median_input_to_next_frame_ms: +painted.toFixed(1),
    max_input_to_next_frame_ms: +Math.max(...samples.map((s) => s.painted)).toFixed(1),
    samples,
  };
  writeFileSync(resolve(ARTIFACTS, 'latency.json'), JSON.stringify(result, null, 2) + '\n');
  notes.push(`keystroke to results over ${CORPUS} (median of ${samples.length}): ${rendered.toFixed(1)} ms to rendered, ${painted.toFixed(1)} ms to the next frame (of which ${DEBOUNCE_MS} ms debounce)`);
  assert(painted < 1000, 'results within a second of the keystroke: ' + painted);
});

test('server down: a notice, then recovery on the same port', async (page) => {
  page.__rec.allow.push(/ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|status of 503|status of 404/);
  await page.goto(server.base + '/?q=kv_get');
  await waitResults(page, 'kv_get');
  const port = server.port;
  await stopServer(server);
  await typeQuery(page, 'kv_put', 10);
  await page.waitForSelector('#notice:not([hidden])', { timeout: 5000 });
  const text = await page.textContent('#notice-text');
  assert(/server/i.test(text) && /(down|restart|reach)/i.test(text), 'the notice says the server is down: ' + text);
  assert(await page.isVisible('#notice'), 'notice visible');
  await sleep(1200);                     // a few failed health polls
  server = await restartOnSamePort(port);
  eq(server.port, port, 'restarted on the same port');
  await page.waitForSelector('#notice', { state: 'hidden', timeout: 10000 });
  await waitResults(page, 'kv_put', 10000);
  const doc = await apiSearch({ q: 'kv_put' });
  eq((await shownRows(page)).map((r) => [r.path, r.line]), doc.results.map((r) => [r.path, r.line]), 'the query ran once the server was back');
  eq((await summaryCounts(page)).lines, doc.stats.matched_lines, 'counts after recovery');
  assert(page.__rec.requests.some((r) => r.url.endsWith('/healthz')), 'the page polled /healthz while the server was down');
});

test('a server started with --token: the page asks for the token once', async (page, ctx) => {
  page.__rec.allow.push(/status of 401/);
  const TOKEN = 'browser-test-' + process.pid;
  const guarded = await startServer(0, ['--token', TOKEN]);
  ctx.cleanup.push(() => stopServer(guarded));
  await page.goto(guarded.base + '/?q=kv_get');
  await page.waitForSelector('#token-form:not([hidden])');
  eq(await page.evaluate(() => document.activeElement.id), 'token', 'the token field has the focus');
  await page.fill('#token', 'wrong');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /refused/.test(document.getElementById('token-error').textContent));
  await page.fill('#token', TOKEN);
  await page.click('#token-form button');
  await waitResults(page, 'kv_get');
  assert(await page.isHidden('#token-form'), 'the form goes away');
  const r = await fetch(guarded.base + '/api/search?q=kv_get&context=2&max=2000', { headers: { Authorization: 'Bearer ' + TOKEN } });
  const doc = await r.json();
  eq((await summaryCounts(page)).lines, doc.stats.matched_lines, 'results with the token');
  assert(!page.url().includes(TOKEN), 'the token is not in the address');
  await page.reload();
  await waitResults(page, 'kv_get');
  assert(await page.isHidden('#token-form'), 'remembered after a reload');
  await page.click('#results .row.match .src');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
});

// ---------------------------------------------------------------- several trees

// Two small trees made for these tests, served by a server of their own:
// "alpha" (named with NAME=) and a folder named site[2], which names its
// tree by its base name, brackets and all (the filter must quote it).  Both
// hold src/common.c, the last file of one and the first of the other, so
// results of the same path in two trees must stay two files; the second
// holds a path that needs encoding in an address.
const SITE = 'site[2]';
const TREE_FILES = {
  alpha: {
    'src/common.c': 'int treemark_shared(void)\n{\n    return 1;   /* alpha */\n}\n',
    'lib/only_alpha.c': '/* alpha alone */\nstatic int treemark_alpha = 1;\n',
  },
  [SITE]: {
    'src/common.c': 'int treemark_shared(void)\n{\n    return 2;   /* site */\n}\n',
    'web/read me #1.md': '# Read me\n\nThe site docs: a treemark here,\nand more text below.\n',
  },
};

async function startTreesServer(ctx) {
  const top = mkdtempSync(resolve(tmpdir(), 'shardgrep-trees-'));
  ctx.cleanup.push(() => rmSync(top, { recursive: true, force: true }));
  for (const [tree, files] of Object.entries(TREE_FILES)) {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(resolve(top, tree, path)), { recursive: true });
      writeFileSync(resolve(top, tree, path), text);
    }
  }
  const s = await startServer(0, [], ['alpha=' + resolve(top, 'alpha'), resolve(top, SITE)]);
  ctx.cleanup.push(() => stopServer(s));
  const { body } = await api('/api/stats', undefined, s.base);
  eq(body.trees.map((t) => t.name), ['alpha', SITE], 'the server names the trees as the test expects');
  return s;
}

// The page has read the server's trees (its /api/stats answer came).
const treesRead = (page) => page.waitForFunction(() => window.__t.log.some((l) => l.kind === 'answer' && l.url.includes('/api/stats')));
const treeParamOf = (page) => new URL(page.url()).searchParams.get('tree');
// The groups as shown: [tree label ('' without), text of the file link].
const groupTrees = (page) => page.$$eval('#results section.file .file-link', (as) => as.map((a) => {
  const t = a.querySelector('.tree');
  return [t ? t.textContent : '', a.textContent];
}));
// The tree filter's boxes: [label, checked].
const treeBoxes = (page) => page.$$eval('#tree-chips input', (is) => is.map((i) => [document.querySelector(`label[for="${i.id}"]`).textContent, i.checked]));
const treeRows = (page) => page.$$eval('#results .row.match', (rs) => rs.map((r) => [r.dataset.tree || '', r.dataset.path, Number(r.dataset.line), r.querySelector('.src').textContent]));
const apiTreeRows = (doc) => doc.results.map((r) => [r.tree, r.path, r.line, r.text]);

test('several trees: results show their trees in order; the filter narrows them, lands in the address, and back/forward restore it', async (page, ctx) => {
  const trees = await startTreesServer(ctx);
  await page.goto(trees.base + '/?q=treemark');
  await waitResults(page, 'treemark');
  await treesRead(page);
  const all = await apiSearch({ q: 'treemark' }, {}, trees.base);
  eq(all.results.map((r) => r.tree), ['alpha', 'alpha', SITE, SITE], 'the API orders results by tree first');
  eq(await treeRows(page), apiTreeRows(all), 'rows, with their trees, vs the API');
  const files = [...new Map(all.results.map((r) => [r.tree + '/' + r.path, [r.tree, r.tree + '/' + r.path]])).values()];
  eq(files.map((f) => f[1]), ['alpha/lib/only_alpha.c', 'alpha/src/common.c', `${SITE}/src/common.c`, `${SITE}/web/read me #1.md`], 'the files expected');
  eq(await groupTrees(page), files, 'one group per file of a tree, labelled with its tree, in order (src/common.c twice)');
  assert(await page.isVisible('#results .file-link .tree'), 'the tree label is visible');
  eq(await treeBoxes(page), [['All', true], ['alpha', false], [SITE, false]], 'the filter lists the trees, All checked');
  await page.screenshot({ path: resolve(ARTIFACTS, 'results-trees.png') });

  // Check site[2]: only its results; the address says tree= (quoted).
  await page.click(`label[for="tree-1"]`);
  await page.waitForFunction(() => new URL(location.href).searchParams.get('tree') !== null);
  eq(treeParamOf(page), 'site\\[2\\]', 'the address has the tree, quoted as a glob');
  const site = await apiSearch({ q: 'treemark' }, { tree: 'site\\[2\\]' }, trees.base);
  eq(site.results.map((r) => r.tree), [SITE, SITE], 'the API answers the quoted name with that tree only');
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, site.results.length);
  await waitResults(page, 'treemark');
  eq(await treeRows(page), apiTreeRows(site), 'rows with the filter vs the API');
  eq((await summaryCounts(page)).lines, site.stats.matched_lines, 'counts with the filter');
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, true]], 'the box is checked, All is not');
  const post = searchBodies(page).pop();
  eq(post.tree, 'site\\[2\\]', 'the query sent has tree=');

  // Check alpha too: every tree is All again, and the address drops tree=.
  await page.click(`label[for="tree-0"]`);
  await page.waitForFunction(() => new URL(location.href).searchParams.get('tree') === null);
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, all.results.length);
  eq(await treeRows(page), apiTreeRows(all), 'every tree again');
  eq(await treeBoxes(page), [['All', true], ['alpha', false], [SITE, false]], 'all trees checked reads as All');

  // Back: the filter and its results; back again: all; forward: the filter.
  await traverse(page, -1);
  await page.waitForFunction(() => new URL(location.href).searchParams.get('tree') !== null);
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, site.results.length);
  await waitResults(page, 'treemark');
  eq(await treeRows(page), apiTreeRows(site), 'back: the filtered results');
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, true]], 'back: the box checked again');
  await traverse(page, -1);
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, all.results.length);
  eq(treeParamOf(page), null, 'back again: no tree=');
  eq(await treeBoxes(page), [['All', true], ['alpha', false], [SITE, false]], 'back again: All');
  await traverse(page, 1);
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, site.results.length);
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, true]], 'forward: the filter again');

  // A permalink with the filter, reloaded.
  await page.reload();
  await waitResults(page, 'treemark');
  await treesRead(page);
  eq(await treeRows(page), apiTreeRows(site), 'reload: the filtered results');
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, true]], 'reload: the box checked');
});

test('several trees: a result of the second tree opens its file view, with that tree\'s text', async (page, ctx) => {
  const trees = await startTreesServer(ctx);
  await page.goto(trees.base + '/?q=treemark');
  await waitResults(page, 'treemark');
  const docPath = 'web/read me #1.md';
  const text = TREE_FILES[SITE][docPath].split('\n').slice(0, -1);
  const line = text.findIndex((l) => l.includes('treemark')) + 1;
  await clickSettled(page, `#results .row.match[data-tree="${SITE}"][data-path="${docPath}"] .src`);
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  const u = new URL(page.url());
  eq([u.searchParams.get('file'), u.hash, u.searchParams.get('q')], [`${SITE}/${docPath}`, `#L${line}`, 'treemark'], 'the file view\'s address: TREE/PATH');
  eq(await page.textContent('#file-path'), `${SITE}/${docPath}`, 'the heading reads TREE/PATH');
  eq(await page.textContent('#file-path .tree'), SITE, 'with the tree as a label');
  eq(await page.$$eval('#file-body .row .src', (s) => s.map((x) => x.textContent)), text, 'the file\'s lines, as written in that tree');
  assert(page.__rec.requests.some((r) => r.url.endsWith('/api/files/site%5B2%5D/web/read%20me%20%231.md')), 'read from /api/files/TREE/PATH, each part encoded');
  await page.waitForSelector(`#L${line}.has-match mark`);
  eq(await page.$$eval('#file-body .row.has-match', (r) => r.map((x) => x.id)), [`L${line}`], 'the match marked');
  eq(await page.$$eval(`#L${line} mark`, (m) => m.map((x) => x.textContent)), ['treemark'], 'the match highlighted');
  assert(await page.$eval(`#L${line}`, (e) => e.classList.contains('target')), 'the line is selected');

  // The same path in both trees: each group opens its own tree's file.
  await page.click('#back');
  await waitResults(page, 'treemark');
  for (const [tree, want] of [['alpha', 'return 1;'], [SITE, 'return 2;']]) {
    await clickSettled(page, `#results .row.match[data-tree="${tree}"][data-path="src/common.c"] .src`);
    await page.waitForFunction((t) => document.getElementById('file-view').dataset.state === 'done' &&
      document.getElementById('file-path').textContent === t + '/src/common.c', tree);
    const body = await page.textContent('#file-body');
    assert(body.includes(want) && !body.includes(want === 'return 1;' ? 'return 2;' : 'return 1;'), `${tree}/src/common.c shows ${want}: ${body}`);
    await page.waitForSelector('#L1.has-match mark');
    await traverse(page, -1);
    await waitResults(page, 'treemark');
  }
  // The start page names the trees.
  await page.goto(trees.base + '/');
  await page.waitForFunction(() => document.getElementById('index-stats').textContent.length > 0);
  assert((await page.textContent('#index-stats')).includes('in 2 trees: alpha, site[2].'), 'the index figures name the trees: ' + await page.textContent('#index-stats'));
  // A permalink to the file view, loaded afresh.
  await page.goto(trees.base + '/?q=treemark&file=' + encodeURIComponent(`${SITE}/${docPath}`) + `#L${line}`);
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  eq(await page.textContent('#file-path .tree'), SITE, 'the permalink shows the tree');
  eq(await page.$eval(`#L${line} .src`, (e) => e.textContent), text[line - 1], 'and the line');
});

test('several trees: a tree filter the server refuses shows next to the box; a glob is kept', async (page, ctx) => {
  page.__rec.allow.push(/status of 400/);
  const trees = await startTreesServer(ctx);
  await page.goto(trees.base + '/?q=treemark&tree=nosuch');
  await page.waitForSelector('#q-error:not([hidden])');
  const apiErr = await api('/api/search?q=treemark&tree=nosuch', undefined, trees.base);
  eq([apiErr.status, apiErr.body.error.param], [400, 'tree'], 'the API refuses tree=nosuch');
  const text = await page.textContent('#q-error-text');
  assert(text.includes(apiErr.body.error.message.replace(/^tree: /, '')), `the message "${text}" is the server's "${apiErr.body.error.message}"`);
  eq(await page.getAttribute('#tree-filter', 'aria-invalid'), 'true', 'the filter is marked invalid');
  eq(await page.getAttribute('#q', 'aria-invalid'), 'false', 'not the box');
  await treesRead(page);
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, false], ['nosuch', true]], 'the unknown name shows as a checked box');
  eq(await page.$$eval('#results .row', (r) => r.length), 0, 'no results');
  // All: the error goes, every tree is searched.
  await page.click('label[for="tree-all"]');
  await waitResults(page, 'treemark');
  assert(await page.isHidden('#q-error'), 'the error goes');
  eq(treeParamOf(page), null, 'no tree= in the address');
  eq(await treeBoxes(page), [['All', true], ['alpha', false], [SITE, false]], 'the unknown name is gone');
  assert(!(await page.getAttribute('#tree-filter', 'aria-invalid')), 'the filter is no longer marked');

  // A glob from the address is sent as it is and kept.
  await page.goto(trees.base + '/?q=treemark&tree=al*');
  await waitResults(page, 'treemark');
  await treesRead(page);
  const al = await apiSearch({ q: 'treemark' }, { tree: 'al*' }, trees.base);
  eq(await treeRows(page), apiTreeRows(al), 'rows for tree=al* vs the API');
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, false], ['al*', true]], 'the glob shows as a checked box');
  // Checking a tree replaces the glob.
  await page.click('label[for="tree-1"]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('tree') === 'site\\[2\\]');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('#results .row.match')).every((r) => r.dataset.tree === 'site[2]'));
  eq(await treeBoxes(page), [['All', false], ['alpha', false], [SITE, true]], 'the tree replaces the glob');
});

test('one tree: no tree label, no tree filter, nothing about trees sent', async (page) => {
  page.__rec.allow.push(/status of 400/);
  await page.goto(server.base + '/?q=kv_get');
  await waitResults(page, 'kv_get');
  await treesRead(page);
  const { body: stats } = await api('/api/stats');
  eq(stats.trees.length, 1, 'the server has one tree');
  assert(await page.isHidden('#tree-filter'), 'no tree filter');
  eq(await page.$$eval('#tree-chips *', (e) => e.length), 0, 'no tree boxes');
  eq(await page.$$eval('.tree', (e) => e.length), 0, 'no tree label anywhere');
  eq(await page.$$eval('#results .row.match[data-tree]', (e) => e.length), 0, 'no row names a tree');
  const doc = await apiSearch({ q: 'kv_get' });
  assert(doc.results.every((r) => !('tree' in r)), 'the API names no tree');
  eq(await groupPaths(page), [...new Set(doc.results.map((r) => r.path))], 'groups are the bare paths');
  const href = await page.$eval('#results .file-link', (a) => a.getAttribute('href'));
  eq(new URL(href, server.base).searchParams.get('file'), doc.results[0].path, 'file links carry the bare path');
  for (const b of searchBodies(page)) {
    assert(!('tree' in b), 'no tree in the query sent: ' + JSON.stringify(b));
  }
  await page.click('#results .row.match .src');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  eq(await page.$$eval('#file-path .tree', (e) => e.length), 0, 'no tree label in the file view');
  eq(await page.textContent('#file-path'), doc.results[0].path, 'the file view heading is the path');
  await page.goto(server.base + '/');
  await page.waitForFunction(() => document.getElementById('index-stats').textContent.length > 0);
  assert(!/tree/.test(await page.textContent('#index-stats')), 'the index figures name no tree');
  assert(await page.isHidden('#tree-filter'), 'no tree filter on the start page');

  // A tree= in the address (a permalink from a server with several
  // trees): the filter shows, so that it can be seen and removed.
  await page.goto(server.base + '/?q=kv_get&tree=nosuch');
  await page.waitForSelector('#q-error:not([hidden])');
  await treesRead(page);
  await page.waitForSelector('#tree-filter:not([hidden])');
  eq(await treeBoxes(page), [['All', false], [stats.trees[0].name, false], ['nosuch', true]], 'the filter, to remove it');
  await page.click('label[for="tree-all"]');
  await waitResults(page, 'kv_get');
  assert(await page.isHidden('#tree-filter'), 'gone again once removed');
  eq(new URL(page.url()).search, '?q=kv_get', 'and the address is today\'s');
});

// ---------------------------------------------------------------- file names, languages, facets

// The API's file-name search (kind=path) for what the page sends: the
// pattern after "file:" (or the box, with the toggle), the same options.
async function apiNames(p, extra = {}, base = server.base) {
  const sp = new URLSearchParams();
  sp.set('q', p.q);
  sp.set('kind', 'path');
  if (p.literal) sp.set('literal', '1');
  sp.set('case', p.case || 'auto');
  if (p.path) sp.set('path', p.path);
  if (p.exclude) sp.set('exclude', p.exclude);
  if (p.lang) sp.set('lang', p.lang);
  for (const [k, v] of Object.entries(extra)) sp.set(k, String(v));
  const { status, body } = await api('/api/search?' + sp, undefined, base);
  assert(status === 200, `API search ${sp} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

// Which UTF-16 units of text fall in the byte ranges (UTF-8): '1' marked,
// '0' not; what the page's marks must cover, exactly.
function rangeMask(text, ranges) {
  let mask = '', b = 0;
  for (const ch of text) {
    const on = ranges.some(([x, y]) => b >= x && b < y);
    mask += (on ? '1' : '0').repeat(ch.length);
    b += Buffer.byteLength(ch, 'utf8');
  }
  return mask;
}

// The file-name hits as shown: path, link text, the mask of marked
// characters of the path (the tree's label left out), language, link.
const shownNames = (page) => page.$$eval('#names .name-hit', (lis) => lis.map((li) => {
  const a = li.querySelector('.name-link');
  let mask = '';
  const walk = (node, marked) => {
    for (const c of node.childNodes) {
      if (c.nodeType === Node.TEXT_NODE) mask += (marked ? '1' : '0').repeat(c.textContent.length);
      else if (!c.classList.contains('tree') && !c.classList.contains('tree-sep')) walk(c, marked || c.tagName === 'MARK');
    }
  };
  walk(a, false);
  const lang = li.querySelector('.name-lang');
  return { path: li.dataset.path, text: a.textContent, mask, marks: a.querySelectorAll('mark').length,
           lang: lang ? lang.textContent : '', href: a.getAttribute('href') };
}));
const expectNames = (doc) => doc.results.map((r) => ({ path: r.path, text: r.path, mask: rangeMask(r.path, r.ranges), lang: r.lang || '' }));
const namesOf = (shown) => shown.map(({ path, text, mask, lang }) => ({ path, text, mask, lang }));

async function waitNames(page, q, timeout = 8000) {
  await page.waitForFunction((q) => {
    const n = document.getElementById('names');
    return n.dataset.state === 'done' && n.dataset.q === q && !n.hasAttribute('aria-busy');
  }, q, { timeout });
}
const postBodies = searchBodies;

test('file names: "file:" searches file names only, as the API\'s kind=path, highlighted, no line results', async (page) => {
  await page.goto(server.base + '/');
  await page.waitForSelector('#welcome:not([hidden])');
  await typeQuery(page, 'file:kvstore');
  await waitNames(page, 'file:kvstore');
  const doc = await apiNames({ q: 'kvstore' }, { max: 1000 });
  assert(doc.results.length >= 2, 'the API finds files named kvstore: ' + doc.results.length);
  const shown = await shownNames(page);
  eq(namesOf(shown), expectNames(doc), 'the file names shown, with their marks, vs the API');
  assert(shown.every((n) => n.marks > 0), 'every name has its match marked');
  assert(await page.isVisible('#names'), 'the block is visible');
  eq(await page.$$eval('#results .row', (r) => r.length), 0, 'no line results');
  assert(await page.isHidden('#more-row') && await page.isHidden('#welcome'), 'no "show more", no welcome');
  const summary = await page.textContent('#summary');
  assert(summary.startsWith(`${doc.stats.matched_files} files named kvstore`), 'the summary counts the files: ' + summary);
  const posts = postBodies(page).filter((b) => b.q === 'kvstore');
  assert(posts.length >= 1 && posts.every((b) => b.kind === 'path' && !('context' in b)), 'only file-name searches sent: ' + JSON.stringify(posts));
  // Typed a key at a time: on a slow machine "f", "fi", "fil", "file"
  // may each have had their line search before the prefix was whole.
  assert(postBodies(page).every((b) => b.kind === 'path' || 'file:'.startsWith(b.q)),
         'no line search sent for "file:" patterns: ' + JSON.stringify(postBodies(page)));
  eq(new URL(page.url()).searchParams.get('q'), 'file:kvstore', 'the address keeps the box as typed');

  // A match across a folder's end is marked on both sides; the path
  // filter applies; a name links to its file view.
  await page.goto(server.base + '/?q=' + encodeURIComponent('file:c/k') + '&path=src%2F');
  await waitNames(page, 'file:c/k');
  const cross = await apiNames({ q: 'c/k', path: 'src/' }, { max: 1000 });
  assert(cross.results.length > 0 && cross.results.every((r) => r.path.startsWith('src/')), 'the API: src/k* files');
  eq(namesOf(await shownNames(page)), expectNames(cross), 'names across the folder end vs the API');
  const first = (await shownNames(page))[0];
  await page.click('#names .name-link');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  eq(new URL(page.url()).searchParams.get('file'), first.path, 'a name opens its file view');
  eq(await page.textContent('#file-path'), first.path, 'the file view heading');
  eq(await page.$$eval('#file-body mark', (m) => m.length), 0, 'no lines marked for a file-name search');
  await page.click('#back');
  await waitNames(page, 'file:c/k');

  // Nothing named so: said, with the filter that could be why.
  await page.goto(server.base + '/?q=' + encodeURIComponent('file:zz_no_such_name') + '&path=src%2F');
  await waitNames(page, 'file:zz_no_such_name');
  eq((await apiNames({ q: 'zz_no_such_name' })).stats.matched_files, 0, 'the API finds none');
  assert(/No file names match/.test(await page.textContent('#summary')), 'the summary says none');
  assert(/path filter/.test(await page.textContent('#results .no-results')), 'and names the path filter');
  assert(await page.isHidden('#names'), 'no empty block');
});

test('file names: the toggle lists file hits above line hits; a hit opens the file; the keyboard goes through them first', async (page) => {
  await page.goto(server.base + '/?q=kvstore');
  await waitResults(page, 'kvstore');
  assert(await page.isHidden('#names'), 'no file names without the toggle');
  eq(await page.isChecked('#file-names'), false, 'the toggle is off');
  await page.click('label[for="file-names"]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('names') === '1');
  await waitNames(page, 'kvstore');
  await waitResults(page, 'kvstore');
  const names = await apiNames({ q: 'kvstore' }, { max: 50 });
  const lines = await apiSearch({ q: 'kvstore' });
  eq(namesOf(await shownNames(page)), expectNames(names), 'file hits vs the API');
  eq((await shownRows(page)).map((r) => [r.path, r.line]), expectRowsFromAPI(lines).map((r) => [r.path, r.line]), 'line hits vs the API');
  const head = await page.textContent('#names .names-head');
  eq(head, `${names.stats.matched_files} files named kvstore`, 'the block says how many files');
  const order = await page.evaluate(() => {
    const n = document.getElementById('names'), r = document.querySelector('#results .row.match');
    return { before: !!(n.compareDocumentPosition(r) & Node.DOCUMENT_POSITION_FOLLOWING),
             above: n.getBoundingClientRect().bottom <= r.getBoundingClientRect().top };
  });
  eq(order, { before: true, above: true }, 'file hits come before the line hits, and above them');
  const sent = postBodies(page).filter((b) => b.kind === 'path');
  eq(sent.map((b) => [b.q, 'context' in b]), [['kvstore', false]], 'one file-name search sent, with the pattern and no context');

  // The keyboard: file hits first, then the lines; Enter opens a file hit.
  await page.click('#summary');
  await page.keyboard.press('j');
  eq(await page.$$eval('#names .name-hit', (l) => l.findIndex((x) => x.classList.contains('sel'))), 0, 'j selects the first file hit');
  for (let i = 1; i < names.results.length; i++) await page.keyboard.press('j');
  await page.keyboard.press('j');
  eq(await page.$$eval('#names .name-hit.sel', (l) => l.length), 0, 'past the file hits...');
  eq(await page.$$eval('#results .row.match', (rs) => rs.findIndex((r) => r.classList.contains('sel'))), 0, '...the first line hit');
  await page.keyboard.press('k');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done' && !document.getElementById('file-view').hidden);
  const last = names.results[names.results.length - 1].path;
  eq([new URL(page.url()).searchParams.get('file'), new URL(page.url()).hash], [last, ''], 'Enter opens the file hit at its top');
  await page.keyboard.press('Escape');
  await waitResults(page, 'kvstore');

  // A click on a file hit opens the file view of that file.
  const target = names.results[1].path;
  await clickSettled(page, `#names .name-hit[data-path="${target}"] .name-link`);
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  eq(new URL(page.url()).searchParams.get('file'), target, 'the click opens that file');
  const file = await api('/api/files/' + target.split('/').map(encodeURIComponent).join('/'));
  eq(await page.$$eval('#file-body .row', (r) => r.length), file.body.line_count, 'its lines shown');
  await page.click('#back');
  await waitNames(page, 'kvstore');

  // More files named so than the page lists beside lines: "and N more",
  // a link to the file-name search alone, which lists them all.
  await typeQuery(page, '/', 5);
  await waitNames(page, '/');
  const many = await apiNames({ q: '/' }, { max: 50 });
  assert(many.stats.matched_files > 50, 'the API: more than 50 paths with a /');
  eq(namesOf(await shownNames(page)), expectNames(many), 'the first 50 vs the API');
  eq(await page.textContent('#names .names-more'), `and ${many.stats.matched_files - 50} more files`, '"and N more"');
  await page.click('#names .names-all');
  await waitNames(page, 'file:/');
  const all = await apiNames({ q: '/' }, { max: 1000 });
  eq(namesOf(await shownNames(page)), expectNames(all), 'the file-name search alone lists every one');
  eq(await page.$$eval('#names .names-more', (m) => m.length), 0, 'and nothing more');

  // The toggle off: the block goes, and names= leaves the address.
  await typeQuery(page, 'kvstore', 5);
  await waitNames(page, 'kvstore');
  await page.click('label[for="file-names"]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('names') === null);
  await waitResults(page, 'kvstore');
  assert(await page.isHidden('#names'), 'no file names once the toggle is off');
});

test('file names: a stale file-name answer never shows over a newer search', async (page) => {
  await page.goto(server.base + '/?names=1');
  await page.waitForSelector('#welcome:not([hidden])');
  const isSent = (q) => page.__rec.requests.some((r) => r.method === 'POST' && JSON.parse(r.body || '{}').q === q);
  const until = async (cond) => { for (let i = 0; i < 500 && !(await cond()); i++) await sleep(20); };
  const newestShown = () => page.evaluate(() => document.getElementById('names').dataset.q === 'kvstore' &&
    document.getElementById('names').dataset.state === 'done');
  // The file-name search for "kvs" answers only after "kvstore" is shown.
  await page.route('**/api/queries', async (route) => {
    const req = route.request();
    const b = req.method() === 'POST' ? JSON.parse(req.postData() || '{}') : {};
    if (b.kind === 'path' && b.q === 'kvs') {
      const res = await route.fetch();
      await until(newestShown);
      await sleep(100);
      await route.fulfill({ response: res }).catch(() => {});
      return;
    }
    await route.continue().catch(() => {});
  });
  await page.click('#q');
  await page.keyboard.type('kvs');
  await until(() => isSent('kvs'));
  await sleep(150);
  await page.keyboard.type('tore', { delay: 10 });
  await waitNames(page, 'kvstore');
  await sleep(600);                    // the held answer arrives meanwhile
  const doc = await apiNames({ q: 'kvstore' }, { max: 50 });
  eq(namesOf(await shownNames(page)), expectNames(doc), 'the newest search\'s file names stay');
  const log = await page.evaluate(() => window.__t.log);
  const late = log.filter((l) => l.kind === 'rendered' && l.what === 'names' && l.q === 'kvs');
  eq(late.length, 0, 'the stale file-name answer was never rendered');
  await page.unroute('**/api/queries');
});

// The language filter's options: [value, text].
const langOptions = (page) => page.$$eval('#lang option', (os) => os.map((o) => [o.value, o.textContent]));
const langsRead = (page) => page.waitForFunction(() => document.getElementById('lang').options.length > 2);

test('language filter: lists /api/langs, narrows to the language, lands in the address', async (page) => {
  page.__rec.allow.push(/status of 400/);
  await page.goto(server.base + '/?q=client');
  await waitResults(page, 'client');
  await langsRead(page);
  const { body } = await api('/api/langs');
  eq(await langOptions(page), [['', 'All languages'], ...body.langs.map((l) => [l.name, l.name])], 'All languages, then the API\'s names');
  eq(await page.inputValue('#lang'), '', 'all languages by default');
  const all = await apiSearch({ q: 'client' });
  await page.selectOption('#lang', 'go');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('lang') === 'go');
  const go = await apiSearch({ q: 'client' }, { lang: 'go' });
  assert(go.stats.matched_lines > 0 && go.stats.matched_lines < all.stats.matched_lines, 'lang=go narrows the API answer');
  await page.waitForFunction((n) => document.querySelectorAll('#results .row.match').length === n, Math.min(go.results.length, PAGE));
  await waitResults(page, 'client');
  const rows = await shownRows(page);
  assert(rows.length > 0 && rows.every((r) => r.path.endsWith('.go')), 'every result is a .go file: ' + [...new Set(rows.map((r) => r.path))].join(', '));
  eq(rows.map((r) => [r.path, r.line]), expectRowsFromAPI(go).map((r) => [r.path, r.line]), 'rows vs the API with lang=go');
  eq((await summaryCounts(page)).lines, go.stats.matched_lines, 'counts with lang=go');
  eq(postBodies(page).pop().lang, 'go', 'the query sent has lang=go');
  // With the file names too: only Go files named so.
  await page.click('label[for="file-names"]');
  await waitNames(page, 'client');
  const goNames = await apiNames({ q: 'client', lang: 'go' }, { max: 50 });
  eq(namesOf(await shownNames(page)), expectNames(goNames), 'file names with lang=go vs the API');
  assert((await shownNames(page)).every((n) => n.path.endsWith('.go') && n.lang === 'go'), 'Go files only, labelled go');
  // Back to all languages.
  await page.selectOption('#lang', '');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('lang') === null);
  await page.waitForFunction((n) => /matching/.test(document.getElementById('summary').textContent) &&
    document.getElementById('summary').textContent.startsWith(n.toLocaleString('en-US') + ' '), all.stats.matched_lines);

  // A language the server does not know, from an address: shown, marked,
  // the server's message next to the box, and removable.
  await page.goto(server.base + '/?q=client&lang=nosuchlang');
  await page.waitForSelector('#q-error:not([hidden])');
  const refused = await api('/api/search?q=client&lang=nosuchlang');
  eq([refused.status, refused.body.error.param], [400, 'lang'], 'the API refuses it');
  const shownErr = await page.textContent('#q-error-text');
  assert(shownErr.toLowerCase().includes(refused.body.error.message.toLowerCase()), `the server's message shown: ${shownErr}`);
  eq(await page.getAttribute('#lang', 'aria-invalid'), 'true', 'the filter marked');
  eq(await page.inputValue('#lang'), 'nosuchlang', 'the filter shows the value');
  await page.selectOption('#lang', '');
  await waitResults(page, 'client');
  assert(await page.isHidden('#q-error'), 'the error goes with it');
});

// The side panel's sections as shown: [name, count, bar width in px,
// button or not, pressed].
const facetRows = (page, id) => page.$$eval(`#${id} .facet`, (fs) => fs.map((f) => [
  f.querySelector('.facet-name').textContent, Number(f.querySelector('.facet-n').textContent.replace(/,/g, '')),
  f.querySelector('.facet-fill').getBoundingClientRect().width, f.tagName === 'BUTTON', f.getAttribute('aria-pressed') === 'true']));

// Bars: the largest count has the widest bar, the whole track; the others
// in proportion (to a pixel).
async function checkBars(page, id, rows) {
  const track = await page.$eval(`#${id} .facet-bar`, (b) => b.getBoundingClientRect().width);
  assert(track > 50, `${id}: the bars have room: ${track}`);
  const max = Math.max(...rows.map((r) => r[1]));
  const widest = Math.max(...rows.map((r) => r[2]));
  for (const [name, n, w] of rows) {
    assert(Math.abs(w - track * n / max) <= 1, `${id}: ${name}'s bar (${w}px) is ${n}/${max} of ${track}px`);
    if (n === max) assert(w === widest, `${id}: ${name}, the largest, has the widest bar`);
  }
}

test('facets: folders, their subfolders and languages as the API counts them; a click filters', async (page) => {
  await page.goto(server.base + '/?q=e&context=0');
  await waitResults(page, 'e');
  await page.waitForSelector('#facets:not([hidden])');
  const doc = await apiSearch({ q: 'e', context: 0 }, { facets: 1 });
  const f = doc.stats.facets;
  assert(f.folders.length > 2 && f.subfolders.length > 0 && f.langs.some((l) => l.lang === ''), 'the API gives folders, subfolders and an unknown language');
  const folders = await facetRows(page, 'facet-folders');
  eq(folders.map((r) => [r[0], r[1]]), f.folders.map((x) => [x.path, x.lines]), 'folders and their line counts vs the API');
  const subs = await facetRows(page, 'facet-subfolders');
  eq(subs.map((r) => [r[0], r[1]]), f.subfolders.map((x) => [x.path, x.lines]), 'subfolders of the busiest vs the API');
  eq(await page.textContent('#facet-subfolders .facet-h'), 'In ' + f.folders[0].path, 'named for the busiest folder');
  const langs = await facetRows(page, 'facet-langs');
  eq(langs.map((r) => [r[0], r[1], r[3]]), f.langs.map((x) => [x.lang || 'other', x.lines, true]), 'languages vs the API, each a button');
  await checkBars(page, 'facet-folders', folders);
  await checkBars(page, 'facet-subfolders', subs);
  await checkBars(page, 'facet-langs', langs);
  assert(folders.every((r) => r[3] && !r[4]), 'every folder is a button, none pressed');
  const root = doc.stats.matched_lines - f.folders.reduce((a, x) => a + x.lines, 0);
  assert(root > 0 && !folders.some((r) => !r[0].endsWith('/')), `root files (${root} lines) are in no folder row`);
  const side = await page.evaluate(() => ({ facets: document.getElementById('facets').getBoundingClientRect().toJSON(),
                                            results: document.getElementById('results').getBoundingClientRect().toJSON() }));
  assert(side.facets.right <= side.results.left && side.facets.top < side.results.bottom, 'the panel is beside the results: ' + JSON.stringify(side));
  await page.screenshot({ path: resolve(ARTIFACTS, 'results-facets.png') });

  // A folder other than the busiest: path= in the address, its results only.
  const pick = f.folders[1];
  await page.click(`#facet-folders button.facet[data-value="${pick.path}"]`);
  await page.waitForFunction((p) => new URL(location.href).searchParams.get('path') === p, pick.path);
  eq(await page.inputValue('#path'), pick.path, 'the path filter is the folder');
  await page.waitForFunction((n) => /matching/.test(document.getElementById('summary').textContent) &&
    document.getElementById('summary').textContent.startsWith(n.toLocaleString('en-US') + ' '), pick.lines);
  await waitResults(page, 'e');
  const rows = await shownRows(page);
  assert(rows.length > 0 && rows.every((r) => r.path.startsWith(pick.path)), 'every result is under ' + pick.path);
  eq((await summaryCounts(page)).files, pick.files, 'as many files as the folder\'s count');
  const inFolder = await facetRows(page, 'facet-folders');
  eq(inFolder.map((r) => [r[0], r[4]]), [[pick.path, true]], 'the folder row shows pressed');

  // A language: lang= in the address, as well as the folder.
  const lf = (await apiSearch({ q: 'e', context: 0, path: pick.path }, { facets: 1 })).stats.facets.langs.find((l) => l.lang);
  await page.click(`#facet-langs button.facet[data-value="${lf.lang}"]`);
  await page.waitForFunction((l) => new URL(location.href).searchParams.get('lang') === l, lf.lang);
  eq(await page.inputValue('#lang'), lf.lang, 'the language filter follows');
  eq(new URL(page.url()).searchParams.get('path'), pick.path, 'the folder stays');
  await page.waitForFunction((n) => document.getElementById('summary').textContent.startsWith(n.toLocaleString('en-US') + ' '), lf.lines);
  await waitResults(page, 'e');
  const both = await apiSearch({ q: 'e', context: 0, path: pick.path }, { lang: lf.lang });
  eq((await shownRows(page)).map((r) => [r.path, r.line]), expectRowsFromAPI(both).map((r) => [r.path, r.line]), 'rows vs the API');
  // The pressed language again removes it.
  await page.click(`#facet-langs button.facet[aria-pressed="true"]`);
  await page.waitForFunction(() => new URL(location.href).searchParams.get('lang') === null);
  await page.waitForFunction((n) => document.getElementById('summary').textContent.startsWith(n.toLocaleString('en-US') + ' '), pick.lines);
  // A subfolder of the busiest folder, from the first search.
  await traverse(page, -1);
  await traverse(page, -1);
  await traverse(page, -1);
  await waitResults(page, 'e');
  eq(new URL(page.url()).searchParams.get('path'), null, 'back to the first search');
  // "other": the files of no known language (lang=none).
  const none = f.langs.find((x) => x.lang === '');
  await page.click('#facet-langs button.facet[data-value="none"]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('lang') === 'none');
  await page.waitForFunction((n) => document.getElementById('summary').textContent.startsWith(n.toLocaleString('en-US') + ' '), none.lines);
  await waitResults(page, 'e');
  const noLang = await apiSearch({ q: 'e', context: 0 }, { lang: 'none' });
  assert(noLang.results.every((r) => !('lang' in r)), 'lang=none: files of no language only');
  eq((await shownRows(page)).map((r) => [r.path, r.line]), expectRowsFromAPI(noLang).map((r) => [r.path, r.line]), 'rows of lang=none vs the API');
  await traverse(page, -1);
  await waitResults(page, 'e');
  eq(new URL(page.url()).searchParams.get('lang'), null, 'back again');
  const sub = f.subfolders[0];
  await page.waitForSelector(`#facet-subfolders button.facet[data-value="${sub.path}"]`);
  await page.click(`#facet-subfolders button.facet[data-value="${sub.path}"]`);
  await page.waitForFunction((p) => new URL(location.href).searchParams.get('path') === p, sub.path);
  await page.waitForFunction((n) => document.getElementById('summary').textContent.startsWith(n.toLocaleString('en-US') + ' '), sub.lines);
  await waitResults(page, 'e');
  assert((await shownRows(page)).every((r) => r.path.startsWith(sub.path)), 'every result is under ' + sub.path);
});

test('facets: a file-name search counts files; on a phone the panel is folded above the results', async (page, ctx) => {
  await page.goto(server.base + '/?q=' + encodeURIComponent('file:kv'));
  await waitNames(page, 'file:kv');
  await page.waitForSelector('#facets:not([hidden])');
  const doc = await apiNames({ q: 'kv' }, { max: 1000, facets: 1 });
  const folders = await facetRows(page, 'facet-folders');
  eq(folders.map((r) => [r[0], r[1]]), doc.stats.facets.folders.map((x) => [x.path, x.files]), 'folders count files for a file-name search');
  await checkBars(page, 'facet-folders', folders);
  await page.click(`#facet-folders button.facet[data-value="${doc.stats.facets.folders[0].path}"]`);
  await page.waitForFunction((p) => new URL(location.href).searchParams.get('path') === p, doc.stats.facets.folders[0].path);
  await page.waitForFunction((n) => document.querySelectorAll('#names .name-hit').length === n && !document.getElementById('names').hasAttribute('aria-busy'),
    doc.stats.facets.folders[0].files);
  assert((await shownNames(page)).every((n) => n.path.startsWith(doc.stats.facets.folders[0].path)), 'the names under the folder only');

  const phone = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 });
  ctx.extraPages.push(phone);
  await phone.goto(server.base + '/?q=kv_get&names=1');
  await waitResults(phone, 'kv_get');
  await phone.waitForSelector('#facets:not([hidden])');
  assert(await phone.isHidden('#facets-body'), 'folded on a phone');
  const pos = await phone.evaluate(() => [document.getElementById('facets').getBoundingClientRect().bottom, document.getElementById('results').getBoundingClientRect().top]);
  assert(pos[0] <= pos[1], 'above the results');
  await phone.click('#facets-toggle');
  assert(await phone.isVisible('#facets-body'), 'unfolded by its toggle');
  eq(await phone.getAttribute('#facets-toggle', 'aria-expanded'), 'true', 'which says so');
  const w = await phone.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert(w.sw <= w.cw, 'no horizontal scrolling: ' + JSON.stringify(w));
  await phone.screenshot({ path: resolve(ARTIFACTS, 'results-facets-phone.png') });
  eq(await pageProblems(phone), [], 'no problems on the phone page');
});

test('file names and language: a permalink restores them; back and forward too', async (page) => {
  const url = '/?q=kvstore&lang=c&names=1';
  await page.goto(server.base + url);
  await waitNames(page, 'kvstore');
  await waitResults(page, 'kvstore');
  await langsRead(page);
  const state = () => page.evaluate(() => ({ q: document.getElementById('q').value, names: document.getElementById('file-names').checked,
                                              lang: document.getElementById('lang').value }));
  eq(await state(), { q: 'kvstore', names: true, lang: 'c' }, 'the controls from the address');
  const names = await apiNames({ q: 'kvstore', lang: 'c' }, { max: 50 });
  const lines = await apiSearch({ q: 'kvstore' }, { lang: 'c' });
  eq(namesOf(await shownNames(page)), expectNames(names), 'file names vs the API');
  eq((await shownRows(page)).map((r) => [r.path, r.line]), expectRowsFromAPI(lines).map((r) => [r.path, r.line]), 'lines vs the API');
  const text = await page.$eval('#search-view', (v) => v.textContent.replace(/ · [\d.]+ m?s/g, ''));
  await page.reload();
  await waitNames(page, 'kvstore');
  await waitResults(page, 'kvstore');
  await langsRead(page);
  eq(await state(), { q: 'kvstore', names: true, lang: 'c' }, 'the controls after a reload');
  eq(await page.$eval('#search-view', (v) => v.textContent.replace(/ · [\d.]+ m?s/g, '')), text, 'the same page after a reload');
  eq(page.url(), server.base + url, 'the address kept');
  // Off, then back: on again.
  await page.click('label[for="file-names"]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('names') === null);
  await waitResults(page, 'kvstore');
  await traverse(page, -1);
  await waitNames(page, 'kvstore');
  eq(await state(), { q: 'kvstore', names: true, lang: 'c' }, 'back: the toggle on again');
  await traverse(page, 1);
  await page.waitForFunction(() => document.getElementById('names').hidden && !document.getElementById('file-names').checked);
});

test('file names and facets stay inert: markup in paths is shown as text', async (page, ctx) => {
  // A tree whose folder and file names are markup.
  const top = mkdtempSync(resolve(tmpdir(), 'shardgrep-markup-'));
  ctx.cleanup.push(() => rmSync(top, { recursive: true, force: true }));
  const dir = '<i onmouseover=alert(4)>', file = '<img src=x onerror=alert(3)>.c';
  mkdirSync(resolve(top, dir));
  writeFileSync(resolve(top, dir, file), 'int markup_marker = 1;\n');
  writeFileSync(resolve(top, 'plain.txt'), 'markup_marker\n');
  const s = await startServer(0, [], [top]);
  ctx.cleanup.push(() => stopServer(s));
  const inert = async () => {
    for (const root of ['#names', '#facets']) {
      const tags = await page.$$eval(`${root} *`, (els) => [...new Set(els.map((e) => e.tagName.toLowerCase()))]);
      eq(tags.filter((t) => !['h2', 'ul', 'li', 'a', 'span', 'mark', 'code', 'strong', 'p', 'section', 'button', 'div', 'svg', 'rect'].includes(t)), [], `only the page's own elements in ${root}`);
      const attrs = await page.$$eval(`${root} *`, (els) => els.flatMap((e) => Array.from(e.attributes).map((a) => a.name))
        .filter((n) => n.startsWith('on') || n === 'src' || n === 'style'));
      eq(attrs, [], `no event handler, src or style attributes in ${root}`);
    }
    await page.hover('#facets .facet');
  };
  await page.goto(s.base + '/?q=' + encodeURIComponent('file:onerror'));
  await waitNames(page, 'file:onerror');
  await page.waitForSelector('#facets:not([hidden])');
  eq((await shownNames(page)).map((n) => n.text), [`${dir}/${file}`], 'the path shows as text');
  eq((await facetRows(page, 'facet-folders')).map((r) => r[0]), [dir + '/'], 'the folder shows as text');
  await inert();
  await page.hover('#names .name-link');
  await page.goto(s.base + '/?q=markup_marker');
  await waitResults(page, 'markup_marker');
  await page.waitForSelector('#facets:not([hidden])');
  eq((await facetRows(page, 'facet-folders')).map((r) => r[0]), [dir + '/'], 'the folder shows as text');
  await inert();
  await page.click('#facet-folders button.facet');
  await page.waitForFunction((p) => new URL(location.href).searchParams.get('path') === p, dir + '/');
  await waitResults(page, 'markup_marker');
  eq((await shownRows(page)).map((r) => r.path), [`${dir}/${file}`], 'the folder filter selects it');
  await sleep(200);
  eq(page.__rec.dialogs, [], 'no dialog');
});

test('show files: each matching file once with its count, as the API\'s select=files', async (page) => {
  await page.goto(server.base + '/?q=kv');
  await waitResults(page, 'kv');
  eq(await page.inputValue('#show'), 'lines', 'lines by default');
  await page.selectOption('#show', 'files');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('select') === 'files');
  await page.waitForFunction(() => document.querySelectorAll('#results .file-count').length > 0 && !document.getElementById('results').hasAttribute('aria-busy'));
  const doc = await apiSearch({ q: 'kv' }, { select: 'files' });
  const shown = await page.$$eval('#results .file-count', (ls) => ls.map((l) => [l.querySelector('.file-link').textContent, Number(l.dataset.count), l.querySelector('.count').textContent]));
  eq(shown, doc.results.map((r) => [r.path, r.count, `${r.count} matching ${r.count === 1 ? 'line' : 'lines'}`]), 'the files and their counts vs the API');
  eq(shown.reduce((a, r) => a + r[1], 0), doc.stats.matched_lines, 'the counts add up to the matching lines');
  const c = await summaryCounts(page);
  eq([c.lines, c.files], [doc.stats.matched_lines, doc.stats.matched_files], 'the summary counts');
  eq(await page.$$eval('#results .row', (r) => r.length), 0, 'no line rows');
  assert(await page.isDisabled('#context'), 'no context for a list of files');
  const post = postBodies(page).pop();
  eq([post.select, 'context' in post], ['files', false], 'the query sent asks for files');
  await page.click('#summary');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done' && !document.getElementById('file-view').hidden);
  eq(new URL(page.url()).searchParams.get('file'), doc.results[1].path, 'j, j, Enter opens the second file');
  await page.waitForSelector('#file-body .row.has-match');
  eq(await page.$$eval('#file-body .row.has-match', (r) => r.length), doc.results[1].count, 'its matching lines marked');
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => document.querySelectorAll('#results .file-count').length > 0);
  await page.selectOption('#show', 'lines');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('select') === null);
  await waitResults(page, 'kv');
  assert(await page.isEnabled('#context'), 'context again for lines');
  eq((await shownRows(page)).map((r) => [r.path, r.line]), expectRowsFromAPI(await apiSearch({ q: 'kv' })).map((r) => [r.path, r.line]), 'lines again');
});

// Editor and code-host links (--editor-url, --link-url; issue 14).  The
// editor template is an http:// address on the main test server's own port
// (a custom scheme such as vscode: would ask the system for an external
// application): clicking the link must request exactly the URL the API gave.
test('editor links: a result\'s and the file view\'s links are the API\'s, and a click requests exactly them', async (page, ctx) => {
  const top = mkdtempSync(resolve(tmpdir(), 'shardgrep-links-'));
  ctx.cleanup.push(() => rmSync(top, { recursive: true, force: true }));
  const odd = 'docs/read me #1.md';
  for (const [tree, path, text] of [['alpha', 'src/main.c', 'int x;\nint linkmark = 1;\n'], ['beta', odd, '# t\n\nlinkmark here\nend\n']]) {
    mkdirSync(dirname(resolve(top, tree, path)), { recursive: true });
    writeFileSync(resolve(top, tree, path), text);
  }
  const editor = `http://127.0.0.1:${server.port}/__editor?file={abspath}&line={line}`;
  const s = await startServer(0, ['--editor-url', editor, '--link-url', 'alpha=https://git.example.org/alpha/blob/main/{path}#L{line}'],
                              ['alpha=' + resolve(top, 'alpha'), 'beta=' + resolve(top, 'beta')]);
  ctx.cleanup.push(() => stopServer(s));
  const doc = await apiSearch({ q: 'linkmark', context: 0 }, {}, s.base);
  eq(doc.results.map((r) => [r.tree, r.path, !!r.editor_url, !!r.link_url]), [['alpha', 'src/main.c', true, true], ['beta', odd, true, false]], 'the API\'s links (beta has no code host)');
  // The "editor" answers 204: the browser asked for it and stays on the page.
  await page.route((u) => u.pathname === '/__editor', (r) => r.fulfill({ status: 204, body: '' }));
  await page.goto(s.base + '/?q=linkmark&context=0');
  await waitResults(page, 'linkmark');
  const shown = await page.$$eval('#results .row.match', (rows) => rows.map((r) => {
    const e = r.querySelector('a.xlink.editor'), h = r.querySelector('a.xlink.host');
    return [r.dataset.tree, r.dataset.path, e && e.getAttribute('href'), e && e.rel, h && h.getAttribute('href'), h && h.rel];
  }));
  eq(shown, doc.results.map((r) => [r.tree, r.path, r.editor_url, 'noreferrer noopener', r.link_url || null, r.link_url ? 'noreferrer noopener' : null]),
     'each row links to the API\'s editor_url (and link_url when it has one)');
  await page.hover('#results .row.match[data-tree="alpha"] .src');
  await page.screenshot({ path: resolve(ARTIFACTS, 'results-links.png') });
  // A click on the second row's editor link requests exactly its editor_url.
  const want = doc.results[1].editor_url;
  assert(want.includes('read%20me%20%231.md&line=3'), 'the path is encoded in the URL: ' + want);
  const sel = '#results .row.match[data-tree="beta"] a.xlink.editor';
  await page.hover('#results .row.match[data-tree="beta"] .src');
  const [req] = await Promise.all([page.waitForRequest((r) => r.url().includes('/__editor')), page.click(sel)]);
  eq(req.url(), want, 'the click requested the editor URL, as the API gave it');
  // Back to the results; the key e opens the selected result's link.
  await page.goto(s.base + '/?q=linkmark&context=0');
  await waitResults(page, 'linkmark');
  await page.click('#summary');
  await page.keyboard.press('j');
  const [req2] = await Promise.all([page.waitForRequest((r) => r.url().includes('/__editor')), page.keyboard.press('e')]);
  eq(req2.url(), doc.results[0].editor_url, 'j then e requests the first result\'s editor URL');
  // The file view: its bar links to the selected line, filled from the API's links.
  await page.goto(s.base + '/?q=linkmark&file=' + encodeURIComponent('beta/' + odd) + '#L3');
  await page.waitForFunction(() => document.getElementById('file-view').dataset.state === 'done');
  const fv = (await api('/api/files/beta/' + odd.split('/').map(encodeURIComponent).join('/'), undefined, s.base)).body;
  assert(fv.links && fv.links.editor && fv.links.editor.includes('{line}') && !fv.links.link, 'the file view\'s links: ' + JSON.stringify(fv.links));
  eq(await page.getAttribute('#file-editor', 'href'), fv.links.editor.replace('{line}', '3'), 'the bar\'s editor link is at line 3');
  assert(await page.isHidden('#file-host'), 'no code-host link for beta');
  await page.click('#L2 a.ln');
  eq(await page.getAttribute('#file-editor', 'href'), fv.links.editor.replace('{line}', '2'), 'a click on line 2 moves the link there');
  eq(await page.textContent('#file-editor'), 'Open line 2 in editor', 'and says so');
  const [req3] = await Promise.all([page.waitForRequest((r) => r.url().includes('/__editor')), page.click('#file-editor')]);
  eq(req3.url(), fv.links.editor.replace('{line}', '2'), 'clicking it requests exactly that URL');
  // Defence in depth: a javascript: URL sent by a server is never made a link.
  const refused = await page.evaluate(async () => {
    const m = await import('./js/links.js');
    return [m.safeHref('javascript:alert(1)'), m.safeHref('JaVaScRiPt:alert(1)'), m.safeHref('data:text/html,x'), m.safeHref(' javascript:x'), m.safeHref('vscode://file/x:1')];
  });
  eq(refused, ['', '', '', '', 'vscode://file/x:1'], 'safeHref refuses javascript: and data:');
});

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
  if (!existsSync(BIN)) throw new Error(`no server binary at ${BIN} (build it, or set SHARDGREP_BIN)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of readdirSync(ARTIFACTS)) if (/^fail-.*\.png$/.test(f)) rmSync(resolve(ARTIFACTS, f));   // last run's
  server = await startServer(0);
  console.log(`server ${server.base} (bin ${BIN}, corpus ${CORPUS}, web ${WEB})`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let passed = 0, failed = 0;
  for (const t of tests) {
    if (FILTER && !t.name.includes(FILTER)) continue;
    const t0 = Date.now();
    const ctx = { extraPages: [], cleanup: [] };
    let page, failure = null;
    const detail = [];
    try {
      if (!server || server.proc.exitCode !== null) server = await startServer(0);
      page = await newPage();
      let timer;
      await Promise.race([
        t.fn(page, ctx),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS); }),
      ]).finally(() => clearTimeout(timer));
      const probs = await pageProblems(page);
      assert(probs.length === 0, 'unexpected problems in the page:\n      ' + probs.join('\n      '));
    } catch (e) {
      failure = e;
      if (page) {
        try {
          const where = await page.evaluate(() => {
            const r = document.getElementById('results');
            const text = (id) => { const e = document.getElementById(id); return e && !e.hidden ? e.textContent : null; };
            return { url: location.href, history: history.length,
                     results: r && { state: r.dataset.state, q: r.dataset.q, busy: r.hasAttribute('aria-busy'),
                                     rows: r.querySelectorAll('.row.match').length },
                     summary: text('summary'), warning: text('warning'), notice: text('notice'),
                     more: text('more-row') && { text: document.getElementById('more').textContent, disabled: document.getElementById('more').disabled },
                     log: window.__t.log.slice(-16).map((l) => { const o = { ...l, t: Math.round(l.t) }; for (const k in o) if (o[k] === undefined) delete o[k]; return o; }) };
          });
          detail.push('page: ' + JSON.stringify(where, null, 1).replace(/\n\s*/g, ' ').replace(/\{ "t"/g, '\n        { "t"'));
        } catch { /* gone */ }
        try { await page.screenshot({ path: resolve(ARTIFACTS, 'fail-' + t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60) + '.png') }); } catch { /* gone */ }
      }
    } finally {
      for (const p of [page, ...ctx.extraPages]) if (p) await p.context().close().catch(() => {});
      for (const f of ctx.cleanup) await Promise.resolve().then(f).catch(() => {});
    }
    // The servers this test used (stopped ones included) must have stayed
    // up and clean, whatever the page showed.
    const sp = serverProblems();
    if (sp.length && !failure) failure = new AssertionError('a server went wrong during the test (below)');
    detail.push(...sp);
    const ms = Date.now() - t0;
    if (!failure) {
      passed++;
      console.log(`ok   - ${t.name} (${ms} ms)`);
    } else {
      failed++;
      console.log(`FAIL - ${t.name} (${ms} ms)\n      ${String(failure && failure.stack || failure).split('\n').slice(0, 6).join('\n      ')}`);
      for (const d of detail) console.log('      ' + d);
    }
  }
  // The last server is stopped here, so that how it ends is checked too.
  if (server) await stopServer(server);
  const sp = serverProblems();
  if (sp.length) {
    failed++;
    console.log(`FAIL - the servers stopped cleanly (status 0 on SIGTERM, no sanitizer report)`);
    for (const d of sp) console.log('      ' + d);
  } else {
    passed++;
    console.log(`ok   - the servers stopped cleanly (${servers.length}: status 0 on SIGTERM, no sanitizer report)`);
  }
  for (const n of notes) console.log('note: ' + n);
  console.log(`artifacts: ${ARTIFACTS}`);
  return { passed, failed };
}

let outcome = { passed: 0, failed: 1 };
const watchdog = setTimeout(async () => {
  console.log('FAIL - the whole run took over ' + RUN_TIMEOUT_MS / 1000 + ' s');
  await cleanup();
  console.log('0 passed, 1 failed');
  process.exit(1);
}, RUN_TIMEOUT_MS);

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (server) await stopServer(server).catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await cleanup(); console.log('0 passed, 1 failed'); process.exit(1); });
}

try {
  outcome = await main();
} catch (e) {
  console.log('FAIL - setup: ' + (e && e.stack || e));
  outcome = { passed: outcome.passed, failed: Math.max(1, outcome.failed) };
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
console.log(`${outcome.passed} passed, ${outcome.failed} failed`);
process.exit(outcome.failed === 0 && outcome.passed > 0 ? 0 : 1);
