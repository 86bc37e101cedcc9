#!/usr/bin/env python3
"""The life of an asynchronous query: POST, wait, page, cancel, time out,
expire.  A generated tree of long words keeps a regex busy for seconds so
that a query can be seen running and then cancelled."""

import os
import re
import secrets
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (HEAVY_Q, Corpus, Lazy, Server, TempDir, check, eq,  # noqa: E402
                    expect_error, expect_json)

R = sgtest.Runner("test_async")
sgtest.register_common_self_checks(R)

HEX32 = re.compile(r"^[0-9a-f]{32}$")
C = Lazy(Corpus)
SRV = Lazy(lambda: Server(["--workers", "2"]).start())
HEAVY_TREE = Lazy(lambda: sgtest.make_heavy_tree(TempDir("sgheavy-").path))
HEAVY = Lazy(lambda: Server(["--workers", "2", "--timeout-ms", "60000"],
                            root=HEAVY_TREE()).start())
R.finally_(*sgtest.stop_check(SRV, "corpus server stops cleanly"))
R.finally_(*sgtest.stop_check(HEAVY, "heavy-tree server stops cleanly"))

BROAD = "."


def _common():
    return C().common_word(min_lines=20)


def post(srv, body):
    r = srv.post("/api/queries", body)
    expect_json(r, 202, "POST /api/queries %r" % (body,))
    check(HEX32.match(str(r.json.get("id"))), "id %r is not 32 lower-case hex"
          % r.json.get("id"))
    # With every slot taken (--max-running) a new query waits its turn.
    st = r.json.get("status")
    check(st in ("running", "queued"), "status in the 202 answer: %r" % st)
    if st == "queued":
        check(isinstance(r.json.get("queue_position"), int)
              and r.json["queue_position"] >= 1,
              "queue_position of a queued query: %r" % r.json)
    return r.json["id"]


def get_q(srv, qid, what=None, status=200, **params):
    r = srv.get("/api/queries/" + qid, params,
                timeout=params.get("wait_ms", 0) / 1000.0 + 30)
    expect_json(r, status, what or "GET /api/queries/%s %r" % (qid, params))
    return r.json


def wait_done(srv, qid, what=None, **params):
    doc = get_q(srv, qid, what, wait_ms=30000, **params)
    eq(doc.get("status"), "done", (what or qid) + ": status after wait_ms")
    return doc


@R.self_check
def selfcheck_heavy_tree_shape():
    tmp = TempDir()
    sgtest.make_heavy_tree(tmp.path, files=2, lines=10)
    files = sgtest.all_regular_files(tmp.path)
    eq(len(files), 3, "files in a small heavy tree")
    with open(os.path.join(tmp.path, files[0])) as f:
        lines = f.read().split("\n")
    eq(lines[-2], "end;", "last line")
    check(lines[0].endswith(" ;") and len(lines[0]) == 3 * 18 + 4, "line shape")


@R.test
def life_of_a_query():
    srv = SRV()
    w = _common()
    qid = post(srv, {"q": w})
    doc = wait_done(srv, qid)
    eq(doc.get("id"), qid, "id of the document")
    ref = srv.search_ok(w)
    eq(doc.get("results"), ref.get("results"), "results vs GET /api/search")
    for k in ("matched_lines", "matched_files", "returned", "truncated"):
        eq(doc["stats"].get(k), ref["stats"].get(k), "stats.%s" % k)
    eq(doc["stats"]["matched_lines"], len(C().search(w)), "matched_lines")
    eq(doc["query"].get("q"), w, "query.q echo")
    again = get_q(srv, qid)
    eq(again.get("status"), "done", "status on a second GET")
    eq(again.get("results"), doc.get("results"), "results on a second GET")


@R.test
def post_fields_are_honoured():
    srv = SRV()
    w = _common()
    qid = post(srv, {"q": w, "max": 3, "context": 1, "case": "yes",
                     "literal": False, "path": "*.c", "exclude": "tests"})
    doc = wait_done(srv, qid)
    q = doc["query"]
    eq({k: q.get(k) for k in ("q", "max", "context", "case", "literal", "path",
                              "exclude")},
       {"q": w, "max": 3, "context": 1, "case": "yes", "literal": False,
        "path": "*.c", "exclude": "tests"}, "query echo")
    ref = C().search(w, case="yes", path="*.c", exclude="tests")
    eq(doc["stats"]["matched_lines"], len(ref), "matched_lines")
    eq([(r["path"], r["line"]) for r in doc["results"]],
       [(p, n) for p, n, _, _ in ref[:3]], "first 3 results")
    for r in doc["results"]:
        check("before" in r and "after" in r, "context=1 lines missing: %r" % r)


@R.test
def post_literal_true():
    srv = SRV()
    qid = post(srv, {"q": "foo(", "literal": True})
    doc = wait_done(srv, qid)
    eq(doc["query"].get("literal"), True, "query.literal echo")
    eq(doc["stats"]["matched_lines"], len(C().search("foo(", literal=True)),
       "matched_lines of literal foo(")


@R.test
def paging_concatenates_to_full_list():
    srv = SRV()
    qid = post(srv, {"q": BROAD, "max": 100000})
    full = wait_done(srv, qid)
    res = full["results"]
    n = full["stats"]["returned"]
    eq(len(res), n, "unpaged GET returns every kept result")
    check(n > 100, "precondition: %d results" % n)
    for limit in (1, 7, 100, n):
        pages, off = [], 0
        while off < n:
            doc = get_q(srv, qid, offset=off, limit=limit)
            page = doc.get("page")
            eq(page, {"offset": off, "limit": limit,
                      "count": min(limit, n - off)},
               "page object at offset=%d limit=%d" % (off, limit))
            eq(len(doc["results"]), page["count"], "len(results) = page.count")
            eq(doc["stats"]["returned"], n, "stats.returned on a page")
            pages.extend(doc["results"])
            off += limit
        eq(pages == res, True, "pages of %d concatenated equal the full list"
           % limit)
    doc = get_q(srv, qid, offset=n + 5, limit=10)
    eq((doc["results"], doc["page"]["count"]), ([], 0), "page past the end")
    doc = get_q(srv, qid, offset=3, limit=0)
    eq((doc["results"], doc["page"]["count"]), ([], 0), "limit=0")
    doc = get_q(srv, qid, offset=n - 2)
    eq(doc["results"], res[n - 2:], "offset without limit: the rest")


@R.test
def concurrent_queries_do_not_mix():
    srv, c = SRV(), C()
    qs = [_common(), "int", r"\bkv_\w+", "static", "def ", "#include",
          "marker", "the"]
    ids = [post(srv, {"q": q, "max": 100000}) for q in qs]
    for q, qid in zip(qs, ids):
        doc = wait_done(srv, qid, "query %r" % q)
        ref = c.search(q)
        eq(doc["query"]["q"], q, "query.q of id %s" % qid)
        eq([(r["path"], r["line"]) for r in doc["results"]],
           [(p, n) for p, n, _, _ in ref], "results of %r" % q)


@R.test
def delete_right_after_post():
    srv = SRV()
    qid = post(srv, {"q": BROAD, "max": 100000, "context": 3})
    r = srv.delete("/api/queries/" + qid)
    expect_json(r, 200, "DELETE /api/queries/" + qid)
    st = r.json.get("status")
    check(st in ("cancelled", "done"), "status after DELETE: %r" % st)
    eq(r.json.get("id"), qid, "id in the DELETE answer")
    doc = get_q(srv, qid, wait_ms=2000)
    eq(doc.get("status"), st, "status after DELETE is final")


@R.test
def delete_finished_query_keeps_status():
    srv = SRV()
    qid = post(srv, {"q": _common()})
    done = wait_done(srv, qid)
    r = srv.delete("/api/queries/" + qid)
    expect_json(r, 200, "DELETE of a finished query")
    eq(r.json.get("status"), "done", "status of a finished query after DELETE")
    eq(r.json.get("results"), done["results"], "results after DELETE")


@R.test
def unknown_ids_404():
    srv = SRV()
    for qid in (secrets.token_hex(16), "xyz", "0" * 32, "A" * 32):
        expect_error(srv.get("/api/queries/" + qid), 404, "not_found",
                     "GET unknown id %s" % qid)
        expect_error(srv.delete("/api/queries/" + qid), 404, "not_found",
                     "DELETE unknown id %s" % qid)


@R.test
def heavy_query_runs_and_wait_ms_waits():
    srv = HEAVY()
    qid = post(srv, {"q": HEAVY_Q, "max": 10})
    t0 = time.monotonic()
    doc = get_q(srv, qid)
    dt = time.monotonic() - t0
    eq(doc.get("status"), "running", "status of the heavy query at once")
    check(dt < 4, "GET without wait_ms took %.2fs" % dt)
    t0 = time.monotonic()
    doc = get_q(srv, qid, wait_ms=800)
    dt = time.monotonic() - t0
    eq(doc.get("status"), "running", "status after wait_ms=800")
    check(0.6 <= dt < 6, "wait_ms=800 on a running query took %.2fs" % dt)
    st = srv.stats()["queries"]
    check(st.get("running", 0) >= 1, "stats.queries.running %r" % st)
    r = srv.delete("/api/queries/" + qid)
    expect_json(r, 200, "DELETE running heavy query")
    eq(r.json.get("status"), "cancelled", "status after DELETE")


@R.test
def cancel_stops_the_workers():
    srv = HEAVY()
    qid = post(srv, {"q": HEAVY_Q})
    doc = get_q(srv, qid, wait_ms=300)
    eq(doc.get("status"), "running", "heavy query before DELETE")
    t0 = time.monotonic()
    r = srv.delete("/api/queries/" + qid)
    expect_json(r, 200, "DELETE /api/queries/" + qid)
    eq(r.json.get("status"), "cancelled", "status in the DELETE answer")
    check(time.monotonic() - t0 < 5, "DELETE took %.2fs"
          % (time.monotonic() - t0))
    doc = get_q(srv, qid, wait_ms=1000)
    eq(doc.get("status"), "cancelled", "status after DELETE stays cancelled")
    t0 = time.monotonic()
    q = srv.search_ok("quick_needle", timeout=30)
    dt = time.monotonic() - t0
    eq([(x["path"], x["line"]) for x in q["results"]], [("quick.txt", 1)],
       "quick query after cancel")
    check(dt < 5.0, "a quick query after cancelling took %.2fs: the workers "
          "kept scanning for the cancelled query" % dt)
    deadline = time.monotonic() + 3
    while srv.stats()["queries"].get("running") and time.monotonic() < deadline:
        time.sleep(0.1)
    eq(srv.stats()["queries"].get("running"), 0, "queries.running after cancel")


@R.test
def timeout_gives_timed_out():
    srv = HEAVY()
    t0 = time.monotonic()
    r = srv.search(HEAVY_Q, timeout_ms=400, timeout=30)
    dt = time.monotonic() - t0
    expect_json(r, 200, "GET /api/search heavy with timeout_ms=400")
    eq(r.json.get("status"), "timed_out", "status")
    eq(r.json["query"].get("timeout_ms"), 400, "query.timeout_ms echo")
    check(dt < 4, "timeout_ms=400 answered after %.2fs (the heavy query "
          "runs for 10 s and more)" % dt)
    t0 = time.monotonic()
    srv.search_ok("quick_needle", timeout=30)
    dt = time.monotonic() - t0
    check(dt < 5.0, "a quick query after a timeout took %.2fs" % dt)


@R.test
def waiting_clients_all_wake_up():
    srv = HEAVY()
    qid = post(srv, {"q": HEAVY_Q})
    out = []

    def waiter():
        try:
            out.append(get_q(srv, qid, wait_ms=20000).get("status"))
        except Exception as e:  # reported below
            out.append(repr(e))
    ts = [threading.Thread(target=waiter) for _ in range(3)]
    for t in ts:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    r = srv.delete("/api/queries/" + qid)
    expect_json(r, 200, "DELETE")
    for t in ts:
        t.join(25)
    dt = time.monotonic() - t0
    eq(sorted(out), ["cancelled"] * 3, "statuses seen by 3 waiting clients")
    check(dt < 5.0, "waiting clients woke %.2fs after DELETE" % dt)


@R.test
def expiry_by_count():
    srv = Server(["--workers", "1", "--keep-queries", "2"]).start()
    try:
        ids = []
        for q in ("alpha_q1", "beta_q2", "gamma_q3", "delta_q4"):
            qid = post(srv, {"q": q})
            wait_done(srv, qid, "query %s" % q)
            ids.append(qid)
        expect_error(srv.get("/api/queries/" + ids[0]), 404, "expired",
                     "oldest of 4 with --keep-queries 2")
        expect_error(srv.get("/api/queries/" + ids[1]), 404, "expired",
                     "second of 4 with --keep-queries 2")
        for qid in ids[2:]:
            eq(get_q(srv, qid).get("status"), "done", "a kept query")
        expect_error(srv.get("/api/queries/" + secrets.token_hex(16)), 404,
                     "not_found", "unknown id is not_found, not expired")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def expiry_by_age():
    srv = Server(["--workers", "1", "--keep-seconds", "1"]).start()
    try:
        qid = post(srv, {"q": "kv"})
        wait_done(srv, qid)
        eq(get_q(srv, qid).get("status"), "done", "at once")
        time.sleep(2.2)
        expect_error(srv.get("/api/queries/" + qid), 404, "expired",
                     "2 s after finishing with --keep-seconds 1")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


if __name__ == "__main__":
    R.main()
