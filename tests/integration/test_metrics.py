#!/usr/bin/env python3
"""For operators (issue 14), against the real server: GET /metrics and the
request log.

What an operator must see:
  - /metrics in Prometheus' text format 0.0.4, which promtool (Debian's
    prometheus package; tools/deps-debian --tests installs it, so a missing
    promtool fails this test rather than skipping it) accepts;
  - counters that move by exactly what was done: searches by final status
    (done, timed_out, cancelled; a bad regex is no search), their duration
    histogram, results returned, HTTP answers by status, refusals by
    reason, connections, worker restarts;
  - gauges that say what GET /api/stats says: shards by state, files,
    lines, bytes;
  - /metrics open like /healthz, behind --token when it is set; GET only,
    no parameters;
  - one line on stderr per request answered, with its method, path,
    status, bytes and time; no query text unless --log-queries; one JSON
    object per line with --log-format json; none with --no-request-log.

Every server runs on 127.0.0.1 with a free port."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (HEAVY_Q, HOST, Lazy, raw_exchange, wait_for, Server, TempDir, check, eq, expect_error,  # noqa: E402
                    expect_json, fail)

R = sgtest.Runner("test_metrics")
sgtest.register_common_self_checks(R)

TOKEN = "metrics-test-token"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TEXT_LINE = re.compile(r"^shardgrep: (\S+) (\S+) (\d{3}) (\d+|-) B (\d+\.\d) ms( aborted)?$")
QUERY_STATUSES = ("done", "partial", "timed_out", "cancelled", "failed")
REFUSALS = ("connection_limit", "overloaded", "body_too_large", "bad_request")



# ---------------------------------------------------------------------------
# Reading the exposition format


def parse_metrics(text):
    """{series: value} of the text, series as written ('name{k="v"}'),
    after checking each family's HELP and TYPE come before its samples."""
    out = {}
    typed = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            typed[name] = kind
            continue
        check(line and not line.startswith("#"), "unexpected line %r" % line)
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        check(name in typed or typed.get(base) == "histogram",
              "sample %r before its TYPE" % line)
        check(series not in out, "series %r twice" % series)
        out[series] = float(value)
    return out


def scrape(srv, headers=None, source=None):
    """GET /metrics (from the address source when given: any 127.x.y.z
    reaches the server); ({series: value}, text)."""
    if source:
        conn = http.client.HTTPConnection(HOST, srv.port, timeout=30,
                                          source_address=(source, 0))
        try:
            conn.request("GET", "/metrics", headers=headers or {})
            resp = conn.getresponse()
            r = sgtest.Resp(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                            resp.read())
        finally:
            conn.close()
    else:
        room(srv, 2)
        r = srv.request("GET", "/metrics", headers=headers)
    eq(r.status, 200, "GET /metrics status (body %r)" % r.body[:300])
    eq(r.headers.get("content-type"), TEXT_TYPE, "GET /metrics Content-Type")
    return parse_metrics(r.body.decode("utf-8")), r.body


def delta(after, before, series):
    return after.get(series, 0) - before.get(series, 0)


def q_total(status):
    return 'shardgrep_queries_total{status="%s"}' % status


def refused(reason):
    return 'shardgrep_http_refused_total{reason="%s"}' % reason


def code(c):
    return 'shardgrep_http_requests_total{code="%d"}' % c



def settled(srv, before, expect_200, check_fn, what, timeout=5.0 * sgtest.SLOW):
    """Scrapes until the counters of answered requests have caught up: a
    request is counted when its answer is done, which may be just after
    the client has read it.  Each scrape is itself one more 200 for the
    next one; expect_200 is the count before the first scrape after
    `before` (which includes `before` itself).  The scrapes come from
    127.0.0.2, whose connections no per-address limit of 127.0.0.1's
    holds back."""
    deadline = time.monotonic() + timeout
    scrapes = 0
    while True:
        now, body = scrape(srv, source="127.0.0.2")
        got = delta(now, before, code(200))
        want = expect_200 + scrapes
        if got > want:
            fail("%s: %d more 200 answers counted, expected %d" % (what, got, want))
        if got == want and check_fn(now):
            return now, body
        if time.monotonic() > deadline:
            fail("%s: the counters did not settle: 200s %d (want %d); text:\n%s"
                 % (what, got, want, body.decode()[:3000]))
        scrapes += 1
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# A tree with slow lines (for a timed-out and a cancelled search)


def heavy_server():
    tmp = TempDir("sgmetrics-")
    sgtest.make_heavy_tree(tmp.path, files=16)
    srv = Server(["--workers", "2", "--max-running", "1", "--max-queued", "0"],
                 root=tmp.path).start()
    srv.tmp = tmp
    return srv


HEAVY = Lazy(heavy_server)
R.finally_(*sgtest.stop_check(HEAVY, "heavy server stops cleanly"))


@R.test(timeout=180)
def queries_counted_by_outcome():
    srv = HEAVY()
    before, _ = scrape(srv)
    returned = 0
    doc = srv.search_ok("quick_needle")
    returned += doc["stats"]["returned"]
    eq(doc["stats"]["returned"], 1, "quick_needle results")
    doc = srv.search_ok("end;", literal=1, max=5)
    returned += doc["stats"]["returned"]
    eq(doc["stats"]["returned"], 5, "end; results at max=5")
    # A bad regex is refused before it is a query.
    expect_error(srv.search("("), 400, "bad_regex", "a bad regex")
    # Timed out: the heavy pattern over a 100 ms deadline.
    r = srv.search(HEAVY_Q, timeout_ms=100)
    expect_json(r, 200, "heavy search with timeout_ms=100")
    eq(r.json["status"], "timed_out", "status of the heavy search at 100 ms")
    returned += r.json["stats"]["returned"]
    # Cancelled: submitted, then deleted while it runs; meanwhile the one
    # slot is taken, so another search is refused as overloaded.
    sub = srv.post_query({"q": HEAVY_Q})
    r = srv.search("quick_needle")
    expect_error(r, 503, "overloaded", "a search while the only slot is taken")
    r = srv.delete("/api/queries/" + sub["id"])
    expect_json(r, 200, "DELETE the heavy query")
    eq(r.json["status"], "cancelled", "status after DELETE")
    returned += r.json["stats"]["returned"]

    after, body = scrape(srv)
    want = {"done": 2, "timed_out": 1, "cancelled": 1, "partial": 0, "failed": 0}
    got = {s: delta(after, before, q_total(s)) for s in QUERY_STATUSES}
    eq(got, want, "queries_total moved by")
    eq(delta(after, before, "shardgrep_query_duration_seconds_count"), 4,
       "duration histogram count moved by")
    eq(delta(after, before, "shardgrep_results_returned_total"), returned,
       "results_returned_total moved by")
    eq(delta(after, before, refused("overloaded")), 1, "overloaded refusals moved by")
    # The histogram: cumulative, +Inf is the count, and the timed-out
    # search alone took 100 ms.
    buckets = [(k, v) for k, v in after.items()
               if k.startswith("shardgrep_query_duration_seconds_bucket")]
    eq(len(buckets), 15, "histogram buckets")
    values = [v for _, v in buckets]
    check(values == sorted(values), "buckets not cumulative: %r" % buckets)
    eq(buckets[-1][0], 'shardgrep_query_duration_seconds_bucket{le="+Inf"}', "last bucket")
    eq(buckets[-1][1], after["shardgrep_query_duration_seconds_count"], "+Inf bucket = count")
    check(delta(after, before, "shardgrep_query_duration_seconds_sum") >= 0.1,
          "duration sum moved by less than the 100 ms the timed-out search took")
    check(after['shardgrep_query_duration_seconds_bucket{le="0.05"}']
          < after["shardgrep_query_duration_seconds_count"],
          "the 100 ms search is in the 50 ms bucket")
    print("  # %d done, 1 timed out, 1 cancelled; %d results; sum %.3f s"
          % (want["done"], returned, after["shardgrep_query_duration_seconds_sum"]))


def promtool_check(body, what):
    promtool = shutil.which("promtool")
    if not promtool:
        fail("promtool is missing: install Debian's prometheus package "
             "(tools/deps-debian --tests does)")
    p = subprocess.run([promtool, "check", "metrics"], input=body,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode("utf-8", "replace").strip()
    eq(p.returncode, 0, "promtool check metrics on %s (said %r)" % (what, out))
    check(not out, "promtool check metrics on %s found problems: %s" % (what, out))


@R.test(timeout=120)
def promtool_accepts_the_text():
    srv = HEAVY()
    srv.search_ok("quick_needle")
    srv.request("GET", "/no-such-page")
    srv.request("POST", "/healthz")
    _, body = scrape(srv)
    promtool_check(body, "a server that answered 200, 404, 405, 503")
    text = body.decode()
    for family, kind in (("shardgrep_queries_total", "counter"),
                         ("shardgrep_query_duration_seconds", "histogram"),
                         ("shardgrep_shards", "gauge"),
                         ("shardgrep_http_requests_total", "counter"),
                         ("shardgrep_http_refused_total", "counter"),
                         ("shardgrep_worker_restarts_total", "counter"),
                         ("shardgrep_live_lag_seconds", "gauge"),
                         ("shardgrep_uptime_seconds", "gauge")):
        check("# TYPE %s %s\n" % (family, kind) in text, "no TYPE %s %s" % (family, kind))
        check("# HELP %s " % family in text, "no HELP for %s" % family)


# ---------------------------------------------------------------------------
# The sample corpus: gauges, HTTP counters, restarts


PLAIN = Lazy(lambda: Server(["--workers", "2", "--max-connections-per-ip", "3"]).start())
R.finally_(*sgtest.stop_check(PLAIN, "plain server stops cleanly"))


def _gauged(st):
    """What of /api/stats the gauges show."""
    return ([(x["shard"], x["up"], x["responsive"]) for x in st["shards"]],
            st["files"], st["lines"], st["bytes"], st["live"]["state"], st["live"]["pending"])


def scrape_settled(srv, timeout=30.0):
    """A scrape and the /api/stats read on both sides of it, when both
    say the same of what the gauges show: the live state, for one, moves
    by itself (a rescan after loading), and a scrape can only be held to
    a state that lasted across it. (metrics, stats), or fails."""
    last = []

    def once():
        st = srv.stats()
        m, _ = scrape(srv)
        again = srv.stats()
        last[:] = [_gauged(st), _gauged(again)]
        return (m, st) if last[0] == last[1] else None
    got = wait_for(once, timeout, step=0.1)
    check(got, "/api/stats did not hold still across a scrape for %g s: %r" % (timeout, last))
    return got


def gauges_match_stats(m, st, what):
    shards = st["shards"]
    eq(m['shardgrep_shards{state="up"}'],
       sum(1 for s in shards if s["up"] and s["responsive"]), what + ": shards up")
    eq(m['shardgrep_shards{state="unresponsive"}'],
       sum(1 for s in shards if s["up"] and not s["responsive"]), what + ": unresponsive")
    eq(m['shardgrep_shards{state="down"}'],
       sum(1 for s in shards if not s["up"]), what + ": shards down")
    for k in ("files", "lines", "bytes"):
        eq(m["shardgrep_" + k], st[k], "%s: shardgrep_%s vs /api/stats" % (what, k))
    for s in shards:
        check('shardgrep_worker_rss_bytes{shard="%d"}' % s["shard"] in m,
              "%s: no rss for shard %d" % (what, s["shard"]))
    check(m["shardgrep_master_rss_bytes"] > 0, what + ": master rss is 0")
    eq(m['shardgrep_live_state{state="%s"}' % st["live"]["state"]], 1,
       what + ": live state")
    eq(m["shardgrep_live_pending_changes"], st["live"]["pending"], what + ": live pending")


@R.test
def gauges_say_what_stats_says():
    srv = PLAIN()
    m, st = scrape_settled(srv)
    gauges_match_stats(m, st, "all up")
    eq(m['shardgrep_shards{state="up"}'], 2, "shards up")
    check(m["shardgrep_files"] > 0 and m["shardgrep_lines"] > 0, "nothing loaded?")
    check(m["shardgrep_uptime_seconds"] > 0, "uptime is 0")


def _tcp_rows():
    """/proc/net/tcp's rows: (local port, remote address as hex, remote
    port, state as hex, inode)."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            x = line.split()
            raddr, rport = x[2].split(":")
            yield int(x[1].split(":")[1], 16), raddr, int(rport, 16), x[3], int(x[9])


def _accepted(port, peer_port):
    """Whether the server on port has accepted the connection from
    peer_port: in /proc/net/tcp, a connection still in the listen queue
    has no inode yet."""
    for lport, _, rport, _, inode in _tcp_rows():
        if lport == port and rport == peer_port:
            return inode != 0
    return False


def _held(port):
    """How many connections from 127.0.0.1 the server on port still holds:
    established (accepted or about to be), closed by the client but not yet
    by the server, or still owning a descriptor in the server (an inode) in
    any state. The last matters: libmicrohttpd shuts a finished connection
    down (FIN_WAIT) before it closes it and gives its place in the
    per-address limit back, and a slow run (valgrind) can see that gap."""
    return sum(1 for lport, raddr, _, state, inode in _tcp_rows()
               if lport == port and raddr == "0100007F"
               and (state in ("01", "08") or inode != 0))


def room(srv, most):
    """Waits until the server holds at most `most` connections from
    127.0.0.1: the ones it has not closed yet (earlier tests', requests
    just answered) count against PLAIN's limit of 3, and a loaded machine
    (valgrind, CI) may close them well after the client has read its
    answer."""
    check(wait_for(lambda: _held(srv.port) <= most, 10 * sgtest.SLOW),
          "the server still holds %d connections from 127.0.0.1 after %.0f s"
          % (_held(srv.port), 10 * sgtest.SLOW))


@R.test
def http_answers_and_refusals_counted():
    srv = PLAIN()

    before, _ = scrape(srv)
    for _ in range(3):
        room(srv, 2)
        eq(srv.request("GET", "/healthz").status, 200, "GET /healthz")
    room(srv, 2)
    eq(srv.request("GET", "/no-such-page").status, 404, "GET /no-such-page")
    room(srv, 2)
    eq(srv.request("POST", "/metrics").status, 405, "POST /metrics")
    room(srv, 2)
    r = srv.get("/metrics?x=1")
    expect_error(r, 400, "bad_parameter", "GET /metrics?x=1", param="x")
    room(srv, 1)
    got = raw_exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 413"), "declared 70000-byte body: %r" % got[:80])
    got = raw_exchange(srv, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                            b"Content-Length: 0\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 400"), "two Content-Length: %r" % got[:80])
    # Three connections held from this address; a fourth is refused.
    room(srv, 0)
    held = [socket.create_connection((HOST, srv.port), timeout=5) for _ in range(3)]
    try:
        # the master has accepted all three (a loaded machine may take a while)
        if not wait_for(lambda: all(_accepted(srv.port, s.getsockname()[1]) for s in held),
                        10 * sgtest.SLOW):
            fail("the three held connections were not accepted in %.0f s (accepted: %s; "
                 "held by the server: %d)"
                 % (10 * sgtest.SLOW, [_accepted(srv.port, s.getsockname()[1]) for s in held],
                    _held(srv.port)))
        fourth = raw_exchange(srv, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        check(not fourth.startswith(b"HTTP/1.1 200"),
              "a fourth connection from one address was served: %r" % fourth[:80])
    finally:
        for s in held:
            s.close()
    # 200s: 3 healthz + the scrape `before`.
    def settled_ok(m):
        return (delta(m, before, code(404)) == 1 and delta(m, before, code(405)) == 1
                and delta(m, before, code(400)) == 2 and delta(m, before, code(413)) == 1
                and m["shardgrep_http_connections_open"] == 1)
    after, body = settled(srv, before, 4, settled_ok, "after 200, 404, 405, 400, 413")
    eq({r: delta(after, before, refused(r)) for r in REFUSALS},
       {"connection_limit": 1, "overloaded": 0, "body_too_large": 1, "bad_request": 1},
       "refusals moved by")
    # Connections since `before` was rendered: 3 healthz, the 404, 405 and
    # 400, 2 raw, 3 held, and every scrape of settled() (their 200s, but
    # for the last, are counted: 4 + scrapes - 1); the refused fourth was
    # never accepted.
    scrapes = int(delta(after, before, code(200))) - 3
    eq(delta(after, before, "shardgrep_http_connections_accepted_total"), 6 + 2 + 3 + scrapes,
       "connections accepted moved by")


@R.test(timeout=120)
def a_killed_worker_shows_and_its_restart_counts():
    srv = PLAIN()
    before, _ = scrape(srv)
    st = srv.stats()
    pid = st["shards"][0]["pid"]
    os.kill(pid, signal.SIGKILL)

    def down_seen():
        m, _ = scrape(srv)
        return m if m['shardgrep_shards{state="up"}'] < 2 else None
    # It may come back before a scrape sees it down: then only the count says so.
    down = wait_for(down_seen, 2.0, step=0.01)
    if down:
        eq(down['shardgrep_shards{state="down"}'] + down['shardgrep_shards{state="up"}'], 2,
           "shards while one restarts")

    def back():
        s = srv.stats()
        return s if all(x["up"] and x["responsive"] for x in s["shards"]) \
            and s["shards"][0]["pid"] != pid else None
    st = wait_for(back, 30.0, step=0.1)
    check(st, "shard 0 did not come back after SIGKILL")
    after, st = scrape_settled(srv)
    eq(delta(after, before, "shardgrep_worker_restarts_total"), 1, "restarts moved by")
    gauges_match_stats(after, st, "after the restart")


# ---------------------------------------------------------------------------
# Access: --token, methods, parameters


@R.test
def metrics_behind_token_when_set():
    srv = Server(["--workers", "1", "--token", TOKEN]).start()
    try:
        r = srv.request("GET", "/metrics")
        expect_error(r, 401, "unauthorized", "GET /metrics without the token")
        check("bearer" in r.headers.get("www-authenticate", "").lower(),
              "no WWW-Authenticate on the 401")
        r = srv.request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})
        eq(r.status, 401, "GET /metrics with a wrong token")
        m, body = scrape(srv, headers={"Authorization": "Bearer " + TOKEN})
        check("shardgrep_queries_total" in body.decode(), "no queries_total with the token")
        eq(srv.request("GET", "/healthz").status, 200, "/healthz stays open")
        r = srv.request("HEAD", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
        eq((r.status, r.body), (200, b""), "HEAD /metrics")
    finally:
        srv.stop()


@R.test
def metrics_open_without_token():
    srv = PLAIN()
    r = srv.request("GET", "/metrics")
    eq(r.status, 200, "GET /metrics with no --token")
    eq(r.headers.get("cache-control"), "no-store", "Cache-Control of /metrics")
    r = srv.request("DELETE", "/metrics")
    expect_error(r, 405, "method_not_allowed", "DELETE /metrics")
    eq(r.headers.get("allow"), "GET", "Allow of /metrics")


# ---------------------------------------------------------------------------
# The request log


def request_lines(srv):
    return [ln for ln in srv.stderr_text().splitlines() if TEXT_LINE.match(ln)]


def json_lines(srv):
    return [json.loads(ln) for ln in srv.stderr_text().splitlines() if ln.startswith("{")]


def exchange_all(srv):
    """Requests of known outcome; [(method, path, status, body bytes)]."""
    done = []

    def note(method, path, r, sent_path=None):
        done.append((method, sent_path or path.split("?")[0], r.status, len(r.body)))

    r = srv.request("GET", "/api/search?q=Secret%20Word&max=1")
    note("GET", "/api/search", r)
    r = srv.request("GET", "/api/search?q=(")
    note("GET", "/api/search", r)
    r = srv.request("POST", "/api/queries", body={"q": "kv_get"})
    note("POST", "/api/queries", r)
    r = srv.request("GET", "/api/stats")
    note("GET", "/api/stats", r)
    r = srv.request("GET", "/no/such%0Apage")
    note("GET", "/no/such%0Apage", r)
    r = srv.request("GET", "/")
    note("GET", "/", r)
    r = srv.request("HEAD", "/healthz")
    note("HEAD", "/healthz", r)
    r = srv.request("GET", "/api/search?q=kv_get&stream=1")
    note("GET", "/api/search", r)
    got = raw_exchange(srv, b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3})", got)
    check(m, "a control byte in the target: %r" % got[:80])
    body = got.split(b"\r\n\r\n", 1)[1]
    done.append(("GET", "/a%01b", int(m.group(1)), len(body)))
    return done


def lines_so_far(srv, parse):
    """How many request lines there are once the readiness check's GET
    /healthz is logged (its line is written just after its answer)."""
    check(wait_for(lambda: parse(srv), 5.0 * sgtest.SLOW),
          "the readiness check's GET /healthz was not logged: %r" % srv.stderr_text()[-800:])
    time.sleep(0.2)
    return len(parse(srv))


def logged_after(srv, count_before, want, parse):
    """The lines logged after the first count_before, once there are
    `want` more (a line is written when the answer is done)."""
    def enough():
        lines = parse(srv)
        return lines[count_before:] if len(lines) - count_before >= want else None
    got = wait_for(enough, 5.0 * sgtest.SLOW)
    if got is None:
        fail("expected %d request lines; stderr ends %r" % (want, srv.stderr_text()[-1500:]))
    time.sleep(0.2)
    got = parse(srv)[count_before:]
    eq(len(got), want, "request lines (stderr ends %r)" % srv.stderr_text()[-1500:])
    return got


@R.test
def one_text_line_per_request_without_the_query():
    srv = Server(["--workers", "2"]).start()
    try:
        n0 = lines_so_far(srv, request_lines)
        done = exchange_all(srv)
        lines = logged_after(srv, n0, len(done), request_lines)
        seen = []
        for ln in lines:
            m = TEXT_LINE.match(ln)
            check(not m.group(6), "a request logged as aborted: %r" % ln)
            seen.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4))))
        eq(sorted(seen), sorted(done), "(method, path, status, bytes) logged")
        text = srv.stderr_text()
        check("Secret" not in text and "Word" not in text,
              "the query text is in the log without --log-queries")
        check("\x01" not in text, "a raw control byte reached the log")
        print("  # e.g. %s" % lines[0])
    finally:
        srv.stop()


@R.test
def log_queries_shows_the_query_string_as_sent():
    srv = Server(["--workers", "1", "--log-queries"]).start()
    try:
        n0 = lines_so_far(srv, request_lines)
        r = srv.request("GET", "/api/search?q=Secret%20Word&max=1&path=*.c")
        eq(r.status, 200, "search")
        lines = logged_after(srv, n0, 1, request_lines)
        m = TEXT_LINE.match(lines[0])
        eq(m.group(2), "/api/search?q=Secret%20Word&max=1&path=*.c", "path logged")
        eq(int(m.group(4)), len(r.body), "bytes logged")
    finally:
        srv.stop()


@R.test
def log_format_json_one_object_per_line():
    srv = Server(["--workers", "2", "--log-format", "json", "--log-queries"]).start()
    try:
        n0 = lines_so_far(srv, json_lines)
        done = exchange_all(srv)
        objs = logged_after(srv, n0, len(done), json_lines)
        seen = []
        for o in objs:
            keys = set(o)
            check({"time", "method", "path", "status", "bytes", "ms"} <= keys,
                  "keys of %r" % o)
            check(keys <= {"time", "method", "path", "status", "bytes", "ms", "query"},
                  "unexpected keys in %r" % o)
            check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", o["time"]),
                  "time %r" % o["time"])
            check(isinstance(o["ms"], float) and o["ms"] >= 0, "ms %r" % o["ms"])
            seen.append((o["method"], o["path"], o["status"], o["bytes"]))
        eq(sorted(seen), sorted(done), "(method, path, status, bytes) logged")
        queries = sorted(o.get("query") for o in objs if o.get("query"))
        eq(queries, sorted(["q=Secret%20Word&max=1", "q=(", "q=kv_get&stream=1"]),
           "queries logged")
        # Other log lines stay text.
        check(any(ln.startswith("shardgrep: loaded ") for ln in srv.stderr_text().splitlines()),
              "the start-up lines are gone")
    finally:
        srv.stop()


@R.test
def no_request_log_turns_it_off():
    srv = Server(["--workers", "1", "--no-request-log"]).start()
    try:
        srv.search_ok("kv_get")
        eq(srv.request("GET", "/nope").status, 404, "GET /nope")
        time.sleep(0.3)
        eq(request_lines(srv), [], "request lines with --no-request-log")
        # The counters still count.
        m, _ = scrape(srv)
        check(m[code(200)] >= 2, "200 answers not counted with the log off")
    finally:
        srv.stop()


@R.test
def bad_log_format_is_refused():
    code_, out, err = sgtest.run_cli(["--log-format", "xml"])
    eq(code_, 2, "exit status of --log-format xml")
    check("--log-format" in err, "the error does not name the option: %r" % err)


R.main()
