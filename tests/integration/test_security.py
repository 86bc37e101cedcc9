#!/usr/bin/env python3
"""Hostile input, against the real server: patterns that backtrack
catastrophically, cancellation, admission control, the size limits, floods
of connections, paths that try to leave the root, and what the server
exposes (token, bind address, CORS).

What a user must see (issue "Reliability and security"):
  - a catastrophic pattern ends "timed_out" (or "partial" with limit_hits and
    an error text) within its deadline plus the master's grace, with
    whatever it found; other requests keep being answered meanwhile;
  - DELETE, or a client that goes away from a waiting search, frees the
    workers: the next quick query is answered long before the slow one's
    deadline;
  - --max-running 1 --max-queued 1: running, queued (position 1), then 503
    "overloaded" with Retry-After; the queued one runs once the first ends;
  - q over 4096 bytes: 400; a body over 64 KiB: 413; an oversized header
    or request line, garbage, a slow client, 600 idle connections: the
    server survives and answers the next client;
  - /api/files/ and static paths with "..", percent-encoded dots and
    slashes, absolute paths, NUL bytes, backslashes, and symbolic links
    leaving the root: 404, and nothing from outside in any body;
  - --token / SHARDGREP_TOKEN: 401 with WWW-Authenticate on /api/ without
    the right bearer token, /healthz and the page stay open, a malformed
    token is refused at start-up (exit 2); the default bind is 127.0.0.1,
    a non-loopback bind without a token warns (checked inside a private
    network namespace, so nothing is exposed); no CORS header on any
    answer.

Every request goes to 127.0.0.1 with a bounded timeout, and paths are sent
raw (http.client.putrequest), never normalised by the client."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (BIN, CORPUS, HOST, Lazy, Resp, Server, TempDir, check,  # noqa: E402
                    eq, expect_error, expect_json, fail)

R = sgtest.Runner("test_security")
sgtest.register_common_self_checks(R)

SLOW_FILES = 12
SLOW_REPS = 100
SLOW_WIDTH = 40
CATASTROPHIC = ["(a+)+$", "(x+x+)+y", "(.*a){20}"]
SLOW_Q = "(a+)+$"
DEADLINE_MS = 3000        # timeout_ms of the catastrophic queries
DEADLINE_SLACK = 2.0      # the master's 0.5 s grace, plus noise
SERVER_TIMEOUT_MS = 30000  # the slow query's deadline where it is cancelled
# A cancelled or abandoned query must free the workers: the next quick
# query is then answered long before the slow one's deadline.  Half of
# what it had left is the bound: far from scheduling noise on a busy
# machine, far below what a worker still scanning would take.
FREED_WITHIN = (SERVER_TIMEOUT_MS / 1000.0 - 0.5) / 2

OUTSIDE_MARKERS = [b"root:", b"outside_marker", b"int main(", b"server_run(",
                   b"PATH=/"]


# ---------------------------------------------------------------------------
# Trees and servers


def slow_tree():
    """Lines that make the catastrophic patterns backtrack: runs of 'a'
    ending in '!', runs of 'x' followed by ' y', and 'a b a b ...'.  With
    two workers each pattern needs far longer than DEADLINE_MS."""
    root = TempDir("sgslow-").path
    for i in range(SLOW_FILES):
        lines = []
        for k in range(SLOW_REPS):
            n = SLOW_WIDTH + k % 5
            lines.append("a" * n + "!")
            lines.append("x" * n + " y")
            lines.append("a b" * (n // 2))
        with open(os.path.join(root, "h%02d.txt" % i), "w") as f:
            f.write("\n".join(lines) + "\n")
    with open(os.path.join(root, "quick.txt"), "w") as f:
        f.write("quick_needle here\n")
    return root


SLOW_TREE = Lazy(slow_tree)
SLOW_SRV = Lazy(lambda: Server(["--workers", "2", "--timeout-ms",
                                str(SERVER_TIMEOUT_MS)],
                               root=SLOW_TREE()).start())
R.finally_(*sgtest.stop_check(SLOW_SRV, "slow-tree server stops cleanly"))

PLAIN_SRV = Lazy(lambda: Server(["--workers", "2"]).start())
R.finally_(*sgtest.stop_check(PLAIN_SRV, "sample-corpus server stops cleanly"))


def path_tree():
    """Regular files, and symbolic links: to /etc/passwd, to /etc, to a
    file and a folder outside the root, and to a file inside it."""
    root = TempDir("sgpaths-").path
    outside = TempDir("sgoutside-").path
    with open(os.path.join(outside, "outside.txt"), "w") as f:
        f.write("outside_marker root:x:0:0\n")
    files = {"a.txt": "alpha_marker\n", "src/x.c": "int x_marker;\n",
             "docs/readme.md": "readme_marker\n"}
    for rel, text in files.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    links = {"link_passwd": "/etc/passwd", "link_etc": "/etc",
             "link_outside.txt": os.path.join(outside, "outside.txt"),
             "src/link_dir": outside, "inner_link.txt": "a.txt",
             "src/up.txt": "../../" + os.path.basename(outside) + "/outside.txt"}
    for rel, target in links.items():
        os.symlink(target, os.path.join(root, rel))
    return root, files, links


PATHS = Lazy(path_tree)
PATH_SRV = Lazy(lambda: Server(["--workers", "2"], root=PATHS()[0]).start())
R.finally_(*sgtest.stop_check(PATH_SRV, "path-tree server stops cleanly"))

TOKEN = "s3cr3t-Token_1.2~3+4/5="
TOKEN_SRV = Lazy(lambda: Server(["--workers", "1", "--token", TOKEN]).start())
R.finally_(*sgtest.stop_check(TOKEN_SRV, "--token server stops cleanly"))


# ---------------------------------------------------------------------------
# HTTP without a client's normalisation


def raw(srv, method, path, headers=None, body=None, timeout=10):
    """One request with the path sent exactly as given."""
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        h = {}
        for k, v in r.getheaders():
            k = k.lower()
            h[k] = h[k] + ", " + v if k in h else v
        return Resp(r.status, h, data)
    finally:
        conn.close()



def raw_bytes(srv, data, timeout=10):
    """What came back for bytes sent on a fresh connection, up to its head
    and 4 KiB (sgtest.raw_exchange)."""
    return sgtest.raw_exchange(srv, data, timeout,
                               enough=lambda got: b"\r\n\r\n" in got and len(got) > 4096)


def still_serving(srv, what, within=5.0):
    """The server process is alive and answers /healthz 200 within."""
    check(srv.alive(), "%s: the server process died (exit %s); stderr ends %r"
          % (what, srv.proc.poll(), srv.stderr_text()[-800:]))
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        try:
            r = srv.get("/healthz", timeout=within)
            if r.status == 200:
                return
            last = r
        except OSError as e:
            last = e
        time.sleep(0.1)
    fail("%s: /healthz not 200 within %.0fs: %r" % (what, within, last))


def no_outside_bytes(r, what):
    for m in OUTSIDE_MARKERS:
        check(m not in r.body, "%s: the body holds %r from outside the root: "
              "%r" % (what, m, r.body[:300]))


def timed(fn):
    t0 = time.monotonic()
    v = fn()
    return v, time.monotonic() - t0


def quick_search(srv, timeout=30):
    """A query that finds one line; (document, seconds)."""
    r, dt = timed(lambda: srv.search("quick_needle", timeout=timeout,
                                     literal=1))
    expect_json(r, 200, "quick search")
    return r.json, dt


def wait_idle(srv, limit=25.0):
    """Waits until a quick query is answered in under a second (the workers
    are done with whatever an earlier test left them)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        doc, dt = quick_search(srv)
        if dt < 1.0 and doc["status"] == "done":
            return
    fail("the workers are still busy %.0fs later" % limit)


class Background:
    """A call run in a thread, with the time it ended."""

    def __init__(self, fn):
        self.t0 = time.monotonic()
        self.value = self.error = self.t_end = None
        self.thread = threading.Thread(target=self._run, args=(fn,),
                                       daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.value = fn()
        except Exception as e:
            self.error = e
        self.t_end = time.monotonic()

    def get(self, within, what):
        self.thread.join(within)
        check(not self.thread.is_alive(), "%s: no answer within %.0fs"
              % (what, within))
        if self.error is not None:
            fail("%s: %s: %s" % (what, type(self.error).__name__, self.error))
        return self.value


# ---------------------------------------------------------------------------
# Catastrophic patterns


def file_lines(root):
    out = {}
    for rel in sgtest.all_regular_files(root):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            out[rel] = f.read().split("\n")
    return out


def register_catastrophic(i, q):
    def t():
        srv = SLOW_SRV()
        wait_idle(srv)
        r, dt = timed(lambda: srv.search(q, timeout=30,
                                         timeout_ms=DEADLINE_MS))
        expect_json(r, 200, "search %r" % q)
        doc = r.json
        st = doc.get("status")
        stats = doc.get("stats", {})
        if st == "partial":
            check(stats.get("limit_hits", 0) > 0 and "match_limit" in stats.get("incomplete", [])
                  and (doc.get("error") or {}).get("code") == "match_limit",
                  "%r ended 'partial' in %.1fs without limit_hits and match_limit "
                  "named: %r %r" % (q, dt, stats, doc.get("error")))
        else:
            eq(st, "timed_out", "status of %r (%.1fs)" % (q, dt))
        check(dt <= DEADLINE_MS / 1000.0 + DEADLINE_SLACK,
              "%r took %.2fs with timeout_ms=%d" % (q, dt, DEADLINE_MS))
        # What it found so far is real: lines of the tree, in order.
        lines = file_lines(SLOW_TREE())
        prev = None
        for x in doc.get("results", []):
            key = (x["path"], x["line"])
            check(prev is None or prev < key, "results out of order at %r"
                  % (key,))
            prev = key
            eq(x["text"], lines[x["path"]][x["line"] - 1],
               "text of %s:%d" % key)
        eq(stats.get("returned"), len(doc.get("results", [])), "returned")
        print("  # %s: %s in %.2fs, %d lines found, limit_hits %s"
              % (q, st, dt, stats.get("matched_lines", -1),
                 stats.get("limit_hits", 0)))
    t.__name__ = "catastrophic_pattern_%d" % (i + 1)
    R.test(t, timeout=60)


for _i, _q in enumerate(CATASTROPHIC):
    register_catastrophic(_i, _q)


@R.test(timeout=60, timed=True)
def other_requests_answered_during_a_slow_query():
    """While a slow query holds the workers, stats, health, a file view and
    a quick search are each answered before it ends (ordering, not a
    time bound: the slow query runs for a long deadline)."""
    srv = SLOW_SRV()
    wait_idle(srv)
    deadline_ms = 12000
    slow = Background(lambda: srv.search(SLOW_Q, timeout=40,
                                         timeout_ms=deadline_ms))
    time.sleep(0.5)
    check(slow.t_end is None, "precondition: the slow query is still running")
    answered_while = {}

    def during(what, fn):
        out, dt = timed(fn)
        answered_while[what] = (slow.t_end is None, dt)
        return out
    during("/api/stats", lambda: expect_json(srv.get("/api/stats"), 200, "stats"))
    during("/healthz", lambda: expect_json(srv.get("/healthz"), 200, "healthz"))
    r = during("a file view", lambda: srv.files("quick.txt"))
    expect_json(r, 200, "GET /api/files/quick.txt")
    doc, _ = during("a quick search", lambda: quick_search(srv))
    slow_doc = slow.get(40, "the slow query")
    print("  # while %s ran (%.2fs): %s"
          % (SLOW_Q, slow.t_end - slow.t0,
             ", ".join("%s %.2fs" % (w, dt) for w, (_, dt) in answered_while.items())))
    eq(doc["status"], "done", "quick search status")
    eq([(x["path"], x["line"]) for x in doc["results"]], [("quick.txt", 1)],
       "quick search results")
    expect_json(slow_doc, 200, "slow search")
    for what, (still, dt) in answered_while.items():
        check(still, "%s was answered only after the slow query ended (%.2fs): "
              "requests do not keep being answered" % (what, dt))


@R.test(timeout=60, timed=True)
def delete_stops_a_slow_query():
    srv = SLOW_SRV()
    wait_idle(srv)
    r = srv.post("/api/queries", {"q": SLOW_Q, "timeout_ms": SERVER_TIMEOUT_MS})
    expect_json(r, 202, "POST slow query")
    qid = r.json["id"]
    time.sleep(0.5)
    r = srv.get("/api/queries/" + qid)
    eq(r.json.get("status"), "running", "slow query before DELETE")
    r, t_del = timed(lambda: srv.delete("/api/queries/" + qid, timeout=10))
    t_after = time.monotonic()
    expect_json(r, 200, "DELETE")
    eq(r.json.get("status"), "cancelled", "status in the DELETE answer")
    check(t_del < FREED_WITHIN, "DELETE took %.2fs" % t_del)
    doc, t_quick = quick_search(srv)
    since = time.monotonic() - t_after
    print("  # DELETE %.2fs; next quick query answered %.2fs after it "
          "(the slow query had %.1fs left)"
          % (t_del, since, SERVER_TIMEOUT_MS / 1000.0 - 0.5))
    eq(doc["status"], "done", "quick query after DELETE")
    check(since < FREED_WITHIN, "the next quick query came %.2fs after the "
          "DELETE: the workers went on scanning the cancelled query" % since)
    r = srv.get("/api/queries/" + qid)
    eq(r.json.get("status"), "cancelled", "GET after DELETE")


@R.test(timeout=60, timed=True)
def client_leaving_a_waiting_search_frees_the_workers():
    srv = SLOW_SRV()
    wait_idle(srv)
    path = "/api/search?" + sgtest.encode_params(
        {"q": SLOW_Q, "timeout_ms": SERVER_TIMEOUT_MS})
    s = socket.create_connection((HOST, srv.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode())
    time.sleep(0.5)
    running = srv.stats()["queries"]["running"]
    eq(running, 1, "queries running while the client waits")
    s.close()
    t_close = time.monotonic()

    def idle():
        return srv.stats()["queries"]["running"] == 0
    gone = None
    while time.monotonic() - t_close < FREED_WITHIN:
        if idle():
            gone = time.monotonic() - t_close
            break
        time.sleep(0.05)
    doc, _ = quick_search(srv)
    since = time.monotonic() - t_close
    print("  # after the client left: no query running after %s s, next quick "
          "query answered %.2fs after the close (the slow one had %.1fs left)"
          % ("%.2f" % gone if gone is not None else "> %.0f" % FREED_WITHIN, since,
             SERVER_TIMEOUT_MS / 1000.0 - 0.5))
    check(gone is not None, "the search stayed running %.0fs after its client "
          "left" % FREED_WITHIN)
    eq(doc["status"], "done", "quick query after the client left")
    check(since < FREED_WITHIN, "the next quick query came %.2fs after "
          "the client left: the workers went on scanning for nobody" % since)


@R.test(timeout=60)
def admission_running_queued_overloaded():
    srv = Server(["--workers", "2", "--max-running", "1", "--max-queued", "1",
                  "--timeout-ms", str(SERVER_TIMEOUT_MS)],
                 root=SLOW_TREE()).start()
    try:
        body = {"q": SLOW_Q, "timeout_ms": 2500}
        r1 = srv.post("/api/queries", body)
        expect_json(r1, 202, "POST #1")
        eq(r1.json.get("status"), "running", "POST #1 status")
        r2 = srv.post("/api/queries", body)
        expect_json(r2, 202, "POST #2")
        eq(r2.json.get("status"), "queued", "POST #2 status")
        eq(r2.json.get("queue_position"), 1, "POST #2 queue_position")
        r3 = srv.post("/api/queries", body)
        expect_error(r3, 503, "overloaded", "POST #3")
        ra = r3.headers.get("retry-after", "")
        check(ra.isdigit() and int(ra) >= 1, "POST #3: Retry-After %r" % ra)
        r = srv.search("quick_needle", timeout=10)
        expect_error(r, 503, "overloaded", "GET /api/search when full")
        check(r.headers.get("retry-after", "").isdigit(),
              "GET /api/search 503: Retry-After %r" % r.headers.get("retry-after"))
        q = srv.stats()["queries"]
        eq((q.get("running"), q.get("queued")), (1, 1), "stats running, queued")
        id1, id2 = r1.json["id"], r2.json["id"]
        r = srv.get("/api/queries/" + id2)
        eq((r.json.get("status"), r.json.get("queue_position")), ("queued", 1),
           "GET #2 while #1 runs")

        d1 = srv.wait_query(id1, wait_ms=15000)
        t1 = time.monotonic()
        check(d1.json.get("status") in ("timed_out", "done"),
              "#1 ended: %r" % d1.json.get("status"))

        def started():
            st = srv.get("/api/queries/" + id2).json.get("status")
            return st if st != "queued" else None
        st2 = None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not st2:
            st2 = started()
            time.sleep(0.02)
        check(st2 is not None, "#2 still queued %.0fs after #1 ended" % 3)
        d2 = srv.wait_query(id2, wait_ms=15000)
        t2 = time.monotonic()
        check(d2.json.get("status") in ("timed_out", "done"),
              "#2 ended: %r" % d2.json.get("status"))
        check(t2 - t1 >= 1.5, "#2 ended %.2fs after #1: it did not run its "
              "own %.1fs after #1 ended" % (t2 - t1, 2.5))
        r4 = srv.post("/api/queries", {"q": "quick_needle"})
        expect_json(r4, 202, "POST #4 once both ended")
        eq(r4.json.get("status"), "running", "POST #4 status")
        print("  # #2 ran after #1: ended %.2fs later" % (t2 - t1))
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


# ---------------------------------------------------------------------------
# Size limits and floods


@R.test(timeout=90)
def answer_memory_is_bounded():
    """--answer-memory: while a client reads a 26 MB answer slowly, another
    large answer (a query page, a file view) is refused with 503
    overloaded and Retry-After, small answers still go, and once the slow
    client is gone the large answer is served again."""
    tmp = TempDir()
    with open(os.path.join(tmp.path, "wide.txt"), "w") as f:
        f.write("".join("row %05d %s\n" % (i, "x" * 600) for i in range(6000)))
    srv = Server(["--workers", "2", "--answer-memory", "1M"], root=tmp.path).start()
    slow = None
    try:
        def held():
            return srv.stats()["memory"].get("answer_bytes")

        eq(held(), 0, "answer_bytes at rest")
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(10)
        slow.connect((HOST, srv.port))
        slow.sendall(b"GET /api/search?q=row&max=100000&context=3 HTTP/1.1\r\n"
                     b"Host: x\r\n\r\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (held() or 0) < 2 << 20:
            time.sleep(0.05)
        h = held()
        check(h >= 2 << 20, "the slow client's answer is not counted: answer_bytes %r" % h)

        r = srv.search("row", max=100000, context=3)
        expect_error(r, 503, "overloaded", "a second large answer")
        check(r.headers.get("retry-after", "").isdigit(),
              "503 without Retry-After: %r" % r.headers.get("retry-after"))
        expect_error(srv.files("wide.txt"), 503, "overloaded", "a large file view")
        small = srv.search_ok("row 00042")
        eq(small["stats"]["matched_lines"], 1, "a small answer still goes")

        slow.close()
        slow = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and held():
            time.sleep(0.05)
        eq(held(), 0, "answer_bytes once the slow client left")
        big = srv.search_ok("row", max=100000, context=3)
        eq((big["stats"]["returned"], len(big["results"])), (6000, 6000), "the large answer")
        r = srv.files("wide.txt")
        expect_json(r, 200, "the file view")
        eq(r.json.get("line_count"), 6000, "the file view's lines")
        deadline = time.monotonic() + 5   # freed just after the last byte left
        while time.monotonic() < deadline and held():
            time.sleep(0.02)
        eq(held(), 0, "answer_bytes after they were sent")
        print("  # %.1f MB held for the slow client with --answer-memory 1M" % (h / 1e6))
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        if slow:
            slow.close()
        srv.kill()


@R.test(timeout=60)
def results_memory_is_bounded():
    """--query-memory: a query's results stop short of max, at a point that
    keeps them the first ones in order, with exact counts; --keep-memory:
    the finished queries' results are dropped oldest first past it."""
    full = PLAIN_SRV().search_ok(".", max=100000, context=10)
    check("memory_cut" not in full["stats"] and not full["stats"]["truncated"],
          "the default server cut '.' context=10 over the sample corpus: %r" % full["stats"])
    srv = Server(["--workers", "2", "--query-memory", "1M", "--keep-memory", "3M"]).start()
    try:
        cut = srv.search_ok(".", max=100000, context=10)
        st = cut["stats"]
        eq((st.get("memory_cut"), st["truncated"]), (True, True), "memory_cut, truncated")
        eq((st["matched_lines"], st["matched_files"]),
           (full["stats"]["matched_lines"], full["stats"]["matched_files"]), "exact counts")
        n = st["returned"]
        check(0 < n < len(full["results"]), "returned %d of %d" % (n, len(full["results"])))
        eq(len(cut["results"]), n, "results listed")
        eq(cut["results"], full["results"][:n], "the first %d results, context and all" % n)

        small = srv.search_ok("kv_put", context=10)
        check("memory_cut" not in small["stats"] and not small["stats"]["truncated"],
              "a small query was cut: %r" % small["stats"])

        ids = []
        for q in (".", "e", "t", "a", "o"):
            ids.append(srv.post_query({"q": q, "max": 100000, "context": 10})["id"])
            d = srv.wait_query(ids[-1], wait_ms=20000)
            eq(d.json.get("status"), "done", "POST %r" % q)
        kept = srv.stats()["queries"]
        check(0 < kept["kept_bytes"] <= 3 << 20,
              "kept_bytes %r with --keep-memory 3M" % kept["kept_bytes"])
        r = srv.get("/api/queries/" + ids[0])
        expect_error(r, 404, "expired", "the oldest big query")
        r = srv.get("/api/queries/" + ids[-1], {"limit": 5})
        expect_json(r, 200, "the newest big query")
        eq(r.json.get("status"), "done", "the newest big query's status")
        eq(len(r.json.get("results", [])), 5, "the newest big query's first page")
        print("  # '.' context=10: %d of %d results kept under --query-memory 1M; "
              "%d bytes kept for %d queries" % (n, len(full["results"]), kept["kept_bytes"],
                                                kept["kept"]))
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def q_length_limit():
    srv = PLAIN_SRV()
    r = srv.search("a" * 4097)
    expect_error(r, 400, "bad_parameter", "GET q of 4097 bytes", param="q")
    r = srv.post("/api/queries", {"q": "a" * 4097})
    expect_error(r, 400, "bad_parameter", "POST q of 4097 bytes", param="q")
    r = srv.search("a" * 4096)
    expect_json(r, 200, "GET q of 4096 bytes")
    eq(r.json.get("status"), "done", "q of 4096 bytes")
    r = srv.search("\u00e9" * 2049)  # 4098 bytes, 2049 characters
    expect_error(r, 400, "bad_parameter", "GET q of 4098 bytes in 2049 "
                 "characters", param="q")


@R.test
def body_size_limit():
    srv = PLAIN_SRV()
    head = b'{"q": "kv"}'
    exact = head + b" " * (65536 - len(head))
    r = raw(srv, "POST", "/api/queries", {"Content-Type": "application/json"},
            exact)
    expect_json(r, 202, "POST body of exactly 64 KiB")
    over = head + b" " * (65537 - len(head))
    r = raw(srv, "POST", "/api/queries", {"Content-Type": "application/json"},
            over)
    expect_error(r, 413, "body_too_large", "POST body of 64 KiB + 1")
    # 1 MiB: the server answers 413 on the declared length and closes.  A
    # client that asked (Expect: 100-continue) reads it before sending
    # the body.  One that sends it all anyway may find the connection
    # reset by then (TCP drops what the server did not read, and may drop
    # the answer with it): what it got, if anything, is the 413.
    big = b'{"q": "' + b"a" * (1 << 20) + b'"}'
    head = (b"POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n" % len(big))
    got = raw_bytes(srv, head + b"Expect: 100-continue\r\n\r\n")
    check(got.startswith(b"HTTP/1.1 413 ") and b'"body_too_large"' in got,
          "POST of 1 MiB with Expect: 100-continue: %r" % got[:200])
    got = raw_bytes(srv, head + b"\r\n" + big, timeout=30)
    check(got == b"" or (got.startswith(b"HTTP/1.1 413 ") and b'"body_too_large"' in got),
          "POST body of 1 MiB sent whole: %r" % got[:200])
    still_serving(srv, "after oversized bodies")


@R.test
def oversized_header_and_request_line():
    srv = PLAIN_SRV()
    answers = []
    for what, data in (
            ("a 70 KB header", b"GET /api/stats HTTP/1.1\r\nHost: x\r\nX-Big: "
             + b"a" * 70000 + b"\r\n\r\n"),
            ("300 headers of 1 KB", b"GET /api/stats HTTP/1.1\r\nHost: x\r\n"
             + b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 1000) for i in range(300))
             + b"\r\n"),
            ("a 70 KB request line", b"GET /api/search?q=" + b"c" * 70000
             + b" HTTP/1.1\r\nHost: x\r\n\r\n")):
        got = raw_bytes(srv, data)
        status = got.split(b"\r\n", 1)[0]
        answers.append("%s -> %r" % (what, status[:40] or "closed"))
        if got:
            m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
            check(m and 400 <= int(m.group(1)) < 500,
                  "%s: answer %r, expected a 4xx or a closed connection"
                  % (what, got[:100]))
        still_serving(srv, "after " + what)
    print("  # " + "; ".join(answers))


@R.test
def garbage_and_slow_clients():
    srv = PLAIN_SRV()
    # (what, bytes, whether an answer must be an error): a NUL in a header
    # value may be refused or read leniently; the rest is not HTTP.
    for what, data, must_err in (
            ("binary garbage", bytes(range(256)) * 8, True),
            ("a bad request line", b"GET\r\n\r\n", True),
            ("HTTP/9.9", b"GET / HTTP/9.9\r\n\r\n", True),
            ("a NUL in a header", b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", False),
            ("a negative length", b"POST /api/queries HTTP/1.1\r\n"
             b"Host: x\r\nContent-Length: -5\r\n\r\n{}", True)):
        got = raw_bytes(srv, data, timeout=5)
        if got:
            m = re.match(rb"HTTP/1\.[01] (\d{3})", got)
            check(m and (int(m.group(1)) >= 400 or not must_err),
                  "%s: answer %r" % (what, got[:80]))
        still_serving(srv, "after " + what)
    # A client that sends half a request and stays must not hold others.
    slow = socket.create_connection((HOST, srv.port), timeout=10)
    try:
        slow.sendall(b"GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for _ in range(3):
            r, dt = timed(lambda: srv.get("/api/stats", timeout=10))
            expect_json(r, 200, "stats while a slow client holds a connection")
            # Held behind it, stats would wait for the head timeout (10 s)
            # to close the slow connection.
            check(dt < 5.0, "stats took %.2fs next to a slow client" % dt)
            slow.sendall(b"z")
            time.sleep(0.2)
    finally:
        slow.close()


def held_open(socks):
    """How many of socks the server still holds open (a closed one reads
    EOF at once; an open one has nothing to read)."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += s.recv(1) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


@R.test(timeout=90)
def flood_of_idle_connections():
    """600 connections from one address that send nothing: the server
    keeps at most --max-connections-per-ip of them, and a client from
    another address is answered during the flood."""
    srv = Server(["--workers", "1", "--max-connections-per-ip", "50"]).start()
    socks, refused = [], 0
    try:
        for _ in range(600):
            try:
                socks.append(socket.create_connection((HOST, srv.port),
                                                      timeout=5))
            except OSError:
                refused += 1
        # The server accepts (and closes) the surplus at its own pace.
        deadline = time.monotonic() + 10 * sgtest.SLOW
        kept = held_open(socks)
        while kept > 50 and time.monotonic() < deadline:
            time.sleep(0.1)
            kept = held_open(socks)
        eq(kept, 50, "idle connections from 127.0.0.1 the server holds "
           "(of %d opened, %d refused at connect)" % (len(socks), refused))
        t0 = time.monotonic()
        status, body = sgtest.http_get(HOST, srv.port, "/api/search?q=kv", source="127.0.0.2")
        dt = time.monotonic() - t0
        eq(status, 200, "a search from 127.0.0.2 during the flood")
        check(b'"matched_lines"' in body, "answer from 127.0.0.2: %r"
              % body[:200])
        check(srv.alive(), "the server died during the flood")
    finally:
        for s in socks:
            s.close()
    t0 = time.monotonic()
    still_serving(srv, "once 600 idle connections closed", within=5.0)
    print("  # %d connections opened, %d held; 127.0.0.2 answered in %.2fs "
          "during the flood; 127.0.0.1 again in %.2fs after it"
          % (len(socks), kept, dt, time.monotonic() - t0))
    doc = srv.search_ok("kv")
    check(doc["stats"]["matched_lines"] > 0, "a search after the flood")
    sgtest.assert_stops_clean(srv, signal.SIGTERM)


# ---------------------------------------------------------------------------
# Hostile paths


FILE_PATHS = [
    "../etc/passwd", "../../../../../../etc/passwd", "..%2fetc%2fpasswd",
    "..%2F..%2F..%2Fetc%2Fpasswd", "%2e%2e/etc/passwd", "%2e%2e%2fetc%2fpasswd",
    "%2E%2E/%2E%2E/etc/passwd", ".%2e/etc/passwd", "%252e%252e/etc/passwd",
    "a.txt/../../etc/passwd", "src/../a.txt", "src/%2e%2e/a.txt", "./a.txt",
    "src/./x.c", "src//x.c", "/etc/passwd", "//etc/passwd", "%2Fetc%2Fpasswd",
    "%2fetc/passwd", "..\\..\\etc\\passwd", "src\\x.c", "src%5Cx.c",
    "..%5C..%5Cetc%5Cpasswd", "..;/etc/passwd", "a.txt/", "%2e", "%2e%2e",
    ".", "..", "~/.bashrc", "link_passwd", "link_etc/passwd", "link_etc",
    "link_outside.txt", "src/link_dir/outside.txt", "src/link_dir",
    "src/up.txt", "inner_link.txt", "/proc/self/environ",
    "..%c0%af..%c0%afetc%c0%afpasswd", "%c0%ae%c0%ae/etc/passwd",
]

NUL_FILE_PATHS = ["%00", "a.txt%00", "a.txt%00.png", "src/x.c%00/../a.txt",
                  "%00../etc/passwd", "a.txt%00/../../etc/passwd"]


@R.test
def symlinks_are_not_indexed():
    root, files, links = PATHS()
    srv = PATH_SRV()
    st = srv.stats()
    eq(st["files"], len(files), "stats.files (regular files only)")
    for marker in ("outside_marker", "root:x:0:0", "root:"):
        doc = srv.search_ok(marker, literal=1)
        eq(doc["stats"]["matched_lines"], 0, "search %r" % marker)
    doc = srv.search_ok("alpha_marker", literal=1)
    eq([x["path"] for x in doc["results"]], ["a.txt"],
       "alpha_marker found once (not again through inner_link.txt)")
    for rel in links:
        r = raw(srv, "GET", "/api/files/" + urllib.parse.quote(rel))
        expect_error(r, 404, "not_found", "GET /api/files/%s (a link)" % rel)
        no_outside_bytes(r, rel)
    for rel in files:
        r = raw(srv, "GET", "/api/files/" + rel)
        expect_json(r, 200, "GET /api/files/%s (control)" % rel)


@R.test
def file_paths_leaving_the_root():
    root = PATHS()[0]
    srv = PATH_SRV()
    paths = FILE_PATHS + [root + "/a.txt", root.lstrip("/") + "/a.txt",
                          urllib.parse.quote(root + "/a.txt", safe="")]
    wrong = []
    for p in paths:
        r = raw(srv, "GET", "/api/files/" + p)
        no_outside_bytes(r, "/api/files/" + p)
        if r.status != 404 or (r.json or {}).get("error", {}).get("code") != \
                "not_found":
            wrong.append("%s -> %d %r" % (p, r.status, r.body[:60]))
    if wrong:
        fail("%d paths not answered 404 not_found: %s"
             % (len(wrong), "; ".join(wrong)))
    still_serving(srv, "after hostile file paths")


@R.test
def file_paths_with_nul_bytes():
    srv = PATH_SRV()
    wrong = []
    for p in NUL_FILE_PATHS:
        r = raw(srv, "GET", "/api/files/" + p)
        no_outside_bytes(r, "/api/files/" + p)
        if r.status != 404:
            wrong.append("%s -> %d %r" % (p, r.status, r.body[:50]))
    if wrong:
        fail("paths holding a NUL byte are not 404 (the path is cut at the "
             "NUL and the rest served): %s" % "; ".join(wrong))


STATIC_PATHS = [
    "/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2f..%2fetc%2fpasswd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/.%2e/.%2e/etc/passwd",
    "/%252e%252e/etc/passwd", "/web/../src/main.c", "/../src/main.c",
    "/%2e%2e/src/main.c", "/index.html/../../src/main.c", "/src/main.c",
    "/main.c", "/Makefile.am", "/configure.ac", "/config.h", "/README",
    "/web/index.html", "/.git/config", "/.git/HEAD", "/.clang-format",
    "//etc/passwd", "/etc/passwd", "/%2fetc%2fpasswd", "/..\\..\\etc\\passwd",
    "/\\..\\src\\main.c", "/..%5c..%5cetc%5cpasswd", "/proc/self/environ",
    "/index.html/", "/app.js/..", "/%c0%ae%c0%ae/etc/passwd", "/..;/etc/passwd",
    "/" + os.path.join(CORPUS, "README.md").lstrip("/"),
]

NUL_STATIC_PATHS = ["/%00", "/index.html%00", "/index.html%00.png",
                    "/app.js%00/../../etc/passwd", "/%00/../etc/passwd"]


@R.test
def static_paths_leaving_the_web_root():
    srv = PATH_SRV()
    r = raw(srv, "GET", "/")
    eq(r.status, 200, "GET / (control)")
    wrong = []
    for p in STATIC_PATHS:
        r = raw(srv, "GET", p)
        no_outside_bytes(r, p)
        if r.status != 404:
            wrong.append("%s -> %d %r" % (p, r.status, r.body[:50]))
    if wrong:
        fail("%d static paths not 404: %s" % (len(wrong), "; ".join(wrong)))
    still_serving(srv, "after hostile static paths")


@R.test
def static_paths_with_nul_bytes():
    srv = PATH_SRV()
    wrong = []
    for p in NUL_STATIC_PATHS:
        r = raw(srv, "GET", p)
        no_outside_bytes(r, p)
        if r.status != 404:
            wrong.append("%s -> %d %s" % (p, r.status, r.content_type))
    if wrong:
        fail("static paths holding a NUL byte are not 404 (the path is cut "
             "at the NUL and the file before it served): %s" % "; ".join(wrong))


# ---------------------------------------------------------------------------
# Exposure


def listening_addresses(pid, port):
    """Local addresses of pid's listening TCP sockets on port (hex as the
    kernel writes them)."""
    return [(name, addr) for name, addr, _ in sgtest.listening_sockets(pid, port)]


@R.test
def default_bind_is_loopback():
    srv = PLAIN_SRV()
    eq(srv.listen_host, "127.0.0.1", "host in the 'listening on' line")
    eq(listening_addresses(srv.proc.pid, srv.port), [("tcp", "0100007F")],
       "listening sockets on port %d (127.0.0.1 only)" % srv.port)


AUTH_CASES = [
    ("no Authorization", None),
    ("a wrong token", "Bearer wrong"),
    ("the token with a byte more", "Bearer " + TOKEN + "x"),
    ("the token less its last byte", "Bearer " + TOKEN[:-1]),
    ("the token as Basic", "Basic " + TOKEN),
    ("the token alone", TOKEN),
    ("an empty bearer", "Bearer "),
]


def api_requests(qid=None):
    out = [("GET", "/api/stats", None), ("GET", "/api/search?q=kv", None),
           ("POST", "/api/queries", b'{"q": "kv"}'),
           ("POST", "/api/reindex", b"{}"),
           ("GET", "/api/files/README.md", None), ("GET", "/api/nope", None),
           ("GET", "/api", None)]
    if qid:
        out += [("GET", "/api/queries/" + qid, None),
                ("DELETE", "/api/queries/" + qid, None)]
    return out


def check_token_server(srv, token):
    ok = {"Authorization": "Bearer " + token}
    r = raw(srv, "POST", "/api/queries", dict(ok, **{
        "Content-Type": "application/json"}), b'{"q": "kv"}')
    expect_json(r, 202, "POST with the right token")
    qid = r.json["id"]
    for what, auth in AUTH_CASES:
        for method, path, body in api_requests(qid):
            h = {"Content-Type": "application/json"} if body else {}
            if auth is not None:
                h["Authorization"] = auth
            r = raw(srv, method, path, h, body)
            expect_error(r, 401, "unauthorized", "%s %s with %s"
                         % (method, path, what))
            check(r.headers.get("www-authenticate", "").lower()
                  .startswith("bearer"), "%s %s with %s: WWW-Authenticate %r"
                  % (method, path, what, r.headers.get("www-authenticate")))
            check(b"kv" not in r.body or b"unauthorized" in r.body,
                  "a 401 leaks data: %r" % r.body[:200])
    want = {"/api/stats": 200, "/api/search?q=kv": 200,
            "/api/files/README.md": 200, "/api/nope": 404,
            "/api/queries/" + qid: 200}
    for path, status in want.items():
        r = raw(srv, "GET", path, ok)
        expect_json(r, status, "GET %s with the right token" % path)
    r = raw(srv, "POST", "/api/reindex", dict(ok, **{
        "Content-Type": "application/json"}), b"{}")
    expect_json(r, 202, "POST /api/reindex with the right token")
    r = raw(srv, "GET", "/api/stats", {"Authorization": "bearer  " + token})
    expect_json(r, 200, "GET /api/stats with 'bearer' and two spaces")
    for path in ("/healthz", "/", "/app.js"):
        r = raw(srv, "GET", path)
        eq(r.status, 200, "GET %s without a token" % path)


@R.test
def token_option_guards_the_api():
    check_token_server(TOKEN_SRV(), TOKEN)


@R.test
def token_from_environment_guards_the_api():
    token = "env-" + "t" * 40
    old = os.environ.get("SHARDGREP_TOKEN")
    os.environ["SHARDGREP_TOKEN"] = token
    try:
        srv = Server(["--workers", "1"]).start()
    finally:
        if old is None:
            del os.environ["SHARDGREP_TOKEN"]
        else:
            os.environ["SHARDGREP_TOKEN"] = old
    try:
        check_token_server(srv, token)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


def start_and_wait_exit(args, env_token=None, timeout=10):
    env = dict(os.environ)
    env.pop("SHARDGREP_TOKEN", None)
    if env_token is not None:
        env["SHARDGREP_TOKEN"] = env_token
    p = subprocess.Popen([BIN, "--port", "0"] + args + [CORPUS],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        kids = sgtest.children_of(p.pid)
        p.kill()
        out, err = p.communicate()
        for pid in kids:
            sgtest.kill_quietly(pid)
            sgtest.reap_pid(pid)
        return None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


@R.test
def bad_token_refused_at_start_up():
    cases = [("--token ''", ["--token", ""], None),
             ("a space", ["--token", "two words"], None),
             ("a quote", ["--token", 'a"b'], None),
             ("non-ASCII", ["--token", "t\u00f6ken"], None),
             ("1025 bytes", ["--token", "a" * 1025], None),
             ("a newline", ["--token", "abc\nInjected: 1"], None),
             ("SHARDGREP_TOKEN with a space", [], "bad token"),
             ("SHARDGREP_TOKEN with a colon", [], "a:b")]
    for what, args, env in cases:
        code, out, err = start_and_wait_exit(args, env)
        eq(code, 2, "exit status with a token of %s (stderr %r)" % (what, err))
        check("listening" not in out, "%s: it listened: %r" % (what, out))
        check("token" in err.lower(), "%s: stderr does not mention the token: "
              "%r" % (what, err))


@R.test
def longest_token_accepted():
    token = "A" * 1024
    srv = Server(["--workers", "1", "--token", token]).start()
    try:
        r = raw(srv, "GET", "/api/stats", {"Authorization": "Bearer " + token})
        expect_json(r, 200, "GET /api/stats with a 1024-byte token")
        r = raw(srv, "GET", "/api/stats", {"Authorization": "Bearer " + token[:-1]})
        expect_error(r, 401, "unauthorized", "a 1023-byte prefix of it")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


def netns_prefix():
    """A command prefix that runs a program in a new network namespace of
    its own (only a loopback device, down): binding 0.0.0.0 there exposes
    nothing."""
    unshare = shutil.which("unshare")
    if not unshare:
        fail("unshare (util-linux) is needed to test a non-loopback bind "
             "safely")
    for prefix in ([unshare, "--net"], [unshare, "--map-root-user", "--net"]):
        if subprocess.run(prefix + ["true"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            return prefix
    fail("cannot create a network namespace (unshare --net) to test a "
         "non-loopback bind safely")


def start_in_netns(args, timeout=20):
    """Starts the server in its own network namespace; returns (first
    stdout line, stderr so far) once it listens, then stops it."""
    p = subprocess.Popen(netns_prefix() + [BIN, "--port", "0"] + args + [CORPUS],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        line = [None]
        t = threading.Thread(target=lambda: line.__setitem__(
            0, p.stdout.readline().decode("utf-8", "replace")), daemon=True)
        t.start()
        t.join(timeout)
        kids = sgtest.children_of(p.pid)
        p.terminate()
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
        for pid, st in kids.items():
            if sgtest.same_process(pid, st):
                sgtest.kill_quietly(pid)
            sgtest.reap_pid(pid)
        return line[0] or "", err.decode("utf-8", "replace")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@R.test
def non_loopback_bind_warns_without_token():
    line, err = start_in_netns(["--workers", "1", "--bind", "0.0.0.0"])
    check(line.startswith("listening on http://0.0.0.0:"),
          "server in a private namespace did not listen: %r %r" % (line, err))
    check(re.search(r"warning: .*0\.0\.0\.0.*--token", err),
          "no warning about --token on stderr: %r" % err)
    line, err = start_in_netns(["--workers", "1", "--bind", "0.0.0.0",
                                "--token", TOKEN])
    check(line.startswith("listening on"), "with --token: %r %r" % (line, err))
    check("warning" not in err, "a warning with --token: %r" % err)
    line, err = start_in_netns(["--workers", "1", "--bind", "127.0.0.2"])
    check(line.startswith("listening on"), "127.0.0.2: %r %r" % (line, err))
    check("warning" not in err, "a warning for a loopback address: %r" % err)


@R.test
def no_cors_headers():
    srv = PLAIN_SRV()
    tsrv = TOKEN_SRV()
    origin = {"Origin": "http://evil.example"}
    pre = dict(origin, **{"Access-Control-Request-Method": "POST",
                          "Access-Control-Request-Headers":
                          "authorization, content-type"})
    reqs = [(srv, "GET", "/", origin, None), (srv, "GET", "/app.js", origin, None),
            (srv, "GET", "/healthz", origin, None),
            (srv, "GET", "/api/stats", origin, None),
            (srv, "GET", "/api/search?q=kv", origin, None),
            (srv, "POST", "/api/queries", dict(origin, **{
                "Content-Type": "application/json"}), b'{"q": "kv"}'),
            (srv, "GET", "/api/files/README.md", origin, None),
            (srv, "GET", "/api/files/../etc/passwd", origin, None),
            (srv, "GET", "/nope", origin, None),
            (srv, "OPTIONS", "/api/queries", pre, None),
            (srv, "OPTIONS", "/api/search?q=kv", pre, None),
            (srv, "OPTIONS", "/", pre, None),
            (srv, "OPTIONS", "*", pre, None),
            (tsrv, "GET", "/api/stats", origin, None),
            (tsrv, "OPTIONS", "/api/stats", pre, None),
            (tsrv, "GET", "/api/stats", dict(origin, Authorization="Bearer " +
                                             TOKEN), None)]
    seen = []
    for s, method, path, headers, body in reqs:
        r = raw(s, method, path, headers, body)
        seen.append("%s %s %d" % (method, path, r.status))
        cors = {k: v for k, v in r.headers.items()
                if k.startswith("access-control-")}
        check(not cors, "%s %s answered CORS headers %r" % (method, path, cors))
        if method == "OPTIONS":
            check(r.status >= 400, "%s %s: a preflight answered %d"
                  % (method, path, r.status))


@R.self_check
def selfcheck_slow_tree_lines():
    eq(len(CATASTROPHIC), 3, "patterns")
    check(all(re.compile(q) for q in CATASTROPHIC), "patterns compile")
    eq(json.loads(json.dumps({"q": SLOW_Q}))["q"], SLOW_Q, "json round trip")


if __name__ == "__main__":
    R.main()
