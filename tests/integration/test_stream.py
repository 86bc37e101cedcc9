#!/usr/bin/env python3
"""Streamed results (GET /api/search?stream=1), against the real server:
NDJSON and Server-Sent Events, records as each shard sends them (shown by
stopping one worker with SIGSTOP: the other shard's records arrive before
it resumes), a client that leaves cancels its query, bad parameters are
refused.  What is streamed is checked against the files on disk
(sgtest.Corpus) and against the query's own final document."""

import http.client
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import Corpus, Lazy, Server, check, eq, expect_error, fail  # noqa: E402

R = sgtest.Runner("test_stream")
sgtest.register_common_self_checks(R)

SRV = Lazy(lambda: Server(["--workers", "2"]).start())
C = Lazy(Corpus)
R.finally_(*sgtest.stop_check(SRV))


def open_stream(srv, params, accept=None, timeout=60):
    """(connection, response) of a streamed search, headers read."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=timeout)
    q = urllib.parse.urlencode(dict(params, stream="1"), quote_via=urllib.parse.quote)
    headers = {"Accept": accept} if accept else {}
    conn.request("GET", "/api/search?" + q, headers=headers)
    return conn, conn.getresponse()


def ndjson_records(resp, on_record=None):
    """Every record of an NDJSON stream, in order."""
    out = []
    while True:
        line = resp.readline()
        if not line:
            break
        check(line.endswith(b"\n"), "a record ends with a newline: %r" % line[:200])
        rec = sgtest.strict_json(line)
        out.append(rec)
        if on_record:
            on_record(rec)
    return out


def stream(srv, **params):
    conn, resp = open_stream(srv, params)
    try:
        eq(resp.status, 200, "stream status")
        check(resp.getheader("Content-Type", "").startswith("application/x-ndjson"),
              "content type %r" % resp.getheader("Content-Type"))
        return ndjson_records(resp)
    finally:
        conn.close()


def check_shape(recs, what):
    types = [r["type"] for r in recs]
    check(types and types[0] == "begin" and types[-1] == "summary",
          "%s: begin first, summary last: %r" % (what, types[:3] + ["..."] + types[-3:]))
    eq(types.count("begin") + types.count("summary"), 2, "%s: one begin, one summary" % what)
    check(set(types) <= {"begin", "match", "shard", "summary"}, "%s: record types %r" %
          (what, set(types)))
    eq(recs[0]["id"], recs[-1]["id"], "%s: one id" % what)
    eq(recs[0]["shards"], 2, "%s: begin says how many shards will end" % what)


def key(r):
    return (r["path"].encode(), r.get("line", 0))


@R.test(timeout=120)
def ndjson_streams_every_match():
    srv = SRV()
    q = C().common_word()
    want = C().search(q)
    recs = stream(srv, q=q, max=100000)
    check_shape(recs, "max=100000")
    matches = [r for r in recs if r["type"] == "match"]
    eq(sorted((r["path"], r["line"]) for r in matches), sorted((p, n) for p, n, _, _ in want),
       "the streamed matches are every match")
    short = {(p, n): (t, rg) for p, n, t, rg in want if len(t.encode()) <= 1024}
    for r in matches:
        if (r["path"], r["line"]) in short:
            eq((r["text"], r["ranges"]), short[(r["path"], r["line"])], "text and ranges of %s:%d"
               % (r["path"], r["line"]))
    summary = recs[-1]
    eq((summary["status"], summary["stats"]["matched_lines"]), ("done", len(want)), "summary")
    shards = [r for r in recs if r["type"] == "shard"]
    eq(sorted(r["shard"] for r in shards), [0, 1], "one shard record each")
    eq(sum(r["matched_lines"] for r in shards), len(want), "the shards' counts add up")
    # The final document, by the id, is the ordered answer.
    doc = srv.wait_query(recs[0]["id"]).json
    eq([(r["path"], r["line"]) for r in doc["results"]],
       [(p, n) for p, n, _, _ in sorted(want, key=lambda x: (x[0].encode(), x[1]))],
       "the query's document after the stream")


@R.test(timeout=60)
def max_bounds_each_shard():
    srv = SRV()
    q = C().common_word()
    total = len(C().search(q))
    check(total > 4, "precondition")
    recs = stream(srv, q=q, max=2)
    check_shape(recs, "max=2")
    shards = {r["shard"]: r for r in recs if r["type"] == "shard"}
    n = sum(1 for r in recs if r["type"] == "match")
    eq(n, sum(min(2, s["matched_lines"]) for s in shards.values()),
       "at most max matches a shard")
    eq(recs[-1]["stats"]["returned"], 2, "the answer keeps max")
    eq(recs[-1]["stats"]["matched_lines"], total, "counts exact")


@R.test(timeout=60)
def files_paths_and_facets_stream():
    srv = SRV()
    q = C().common_word()
    recs = stream(srv, q=q, select="files", facets=1)
    check_shape(recs, "select=files")
    for r in recs:
        if r["type"] == "match":
            check("count" in r and "line" not in r, "a file record: %r" % r)
    check("facets" in recs[-1]["stats"], "the summary has the facets")
    recs = stream(srv, q="src", kind="path")
    check_shape(recs, "kind=path")
    paths = sorted(r["path"] for r in recs if r["type"] == "match")
    eq(paths, sorted(f for f in C().files if "src" in f), "kind=path streamed")
    recs = stream(srv, q=q, select="count")
    eq([r["type"] for r in recs].count("match"), 0, "select=count streams no match")


@R.test(timeout=60)
def server_sent_events():
    srv = SRV()
    q = C().common_word()
    conn, resp = open_stream(srv, {"q": q, "max": 5}, accept="text/event-stream")
    try:
        eq(resp.status, 200, "status")
        check(resp.getheader("Content-Type", "").startswith("text/event-stream"),
              "content type %r" % resp.getheader("Content-Type"))
        body = resp.read().decode()
    finally:
        conn.close()
    events = [e for e in body.split("\n\n") if e]
    recs = []
    for e in events:
        lines = e.split("\n")
        check(len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "),
              "an event is one event: line and one data: line: %r" % e[:200])
        rec = json.loads(lines[1][len("data: "):])
        eq(rec["type"], lines[0][len("event: "):], "the event is named by its type")
        recs.append(rec)
    check_shape(recs, "SSE")


@R.test(timeout=120)
def a_stopped_shard_does_not_hold_the_others():
    """Shard 1's worker is stopped (SIGSTOP): shard 0's matches and its
    shard record arrive while it is stopped; shard 1's come after it
    resumes (SIGCONT)."""
    srv = Server(["--workers", "2", "--unresponsive-ms", "60000"]).start()
    try:
        q = C().common_word()
        pids = [s["pid"] for s in srv.stats()["shards"]]
        per_shard = {r["shard"]: r["matched_lines"] for r in stream(srv, q=q) if
                     r["type"] == "shard"}
        check(per_shard.get(0) and per_shard.get(1), "precondition: %r in both shards" % q)
        os.kill(pids[1], signal.SIGSTOP)
        got = []
        shard0 = threading.Event()
        resumed = []
        try:
            conn, resp = open_stream(srv, {"q": q, "max": 100000})

            def on_record(rec):
                got.append((rec, bool(resumed)))
                if rec["type"] == "shard" and rec["shard"] == 0:
                    shard0.set()

            reader = threading.Thread(target=lambda: ndjson_records(resp, on_record), daemon=True)
            reader.start()
            check(shard0.wait(20), "shard 0's record did not arrive while shard 1 was stopped")
            time.sleep(0.3)  # nothing of shard 1 may come meanwhile
            before = [r for r, _ in got]
        finally:
            resumed.append(True)
            os.kill(pids[1], signal.SIGCONT)
        reader.join(30)
        conn.close()
        check(not reader.is_alive(), "the stream did not end after SIGCONT")
        eq(before[0]["type"], "begin", "begin first")
        eq(sum(1 for r in before if r["type"] == "match"), per_shard[0],
           "all of shard 0's matches arrived before shard 1 resumed")
        check(not any(r["type"] == "shard" and r["shard"] == 1 for r in before),
              "shard 1 ended while stopped")
        after = [r for r, late in got if late]
        eq(sum(1 for r in after if r["type"] == "match"), per_shard[1],
           "shard 1's matches after it resumed")
        eq([r["type"] for r in after][-2:], ["shard", "summary"], "then its end, then summary")
        eq(after[-1]["status"], "done", "the query is whole")
    finally:
        srv.stop()


@R.test(timeout=120)
def a_client_that_leaves_cancels():
    srv = Server(["--workers", "2", "--unresponsive-ms", "60000"]).start()
    try:
        pids = [s["pid"] for s in srv.stats()["shards"]]
        os.kill(pids[1], signal.SIGSTOP)
        try:
            conn, resp = open_stream(srv, {"q": C().common_word()})
            first = sgtest.strict_json(resp.readline())
            eq(first["type"], "begin", "begin")
            qid = first["id"]
            conn.sock.shutdown(2)
            conn.close()
            deadline = time.time() + 10
            status = None
            while time.time() < deadline:
                status = srv.get("/api/queries/" + qid).json["status"]
                if status == "cancelled":
                    break
                time.sleep(0.05)
            eq(status, "cancelled", "the query after its client left")
        finally:
            os.kill(pids[1], signal.SIGCONT)
        r = srv.search("x")
        eq(r.status, 200, "the server serves on")
    finally:
        srv.stop()


@R.test(timeout=60)
def bad_stream_parameters():
    srv = SRV()
    expect_error(srv.search("x", stream="2"), 400, "bad_parameter", "stream=2", "stream")
    for p in ("offset", "limit", "wait_ms"):
        expect_error(srv.search("x", stream="1", **{p: "1"}), 400, "bad_parameter",
                     "stream=1 with " + p, p)
    expect_error(srv.search("(", stream="1"), 400, "bad_regex", "a bad pattern is refused "
                 "before any stream")
    r = srv.post("/api/queries", {"q": "x", "stream": 1})
    expect_error(r, 400, "bad_parameter", "POST with stream", "stream")


if __name__ == "__main__":
    R.main()
