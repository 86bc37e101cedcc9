#!/usr/bin/env python3
"""Stopping: SIGTERM or SIGINT while a heavy query runs makes the server
exit 0 within a few seconds, with every worker reaped (none left, none a
zombie).  If the master is killed outright, the workers notice and exit on
their own within 2 seconds.  And a worker that dies is restarted.

This process makes itself a child subreaper, so workers orphaned by their
master are re-parented here rather than to PID 1: a worker the master did
not reap stays visible (as a zombie) instead of being hidden by init."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (HEAVY_Q, Lazy, Server, TempDir, check, eq, expect_json,  # noqa: E402
                    fail, reap_pid, same_process)

R = sgtest.Runner("test_signals")
sgtest.register_common_self_checks(R)

SUBREAPER = sgtest.set_child_subreaper()
HEAVY_TREE = Lazy(lambda: sgtest.make_heavy_tree(TempDir("sgheavy-").path))
EXIT_WITHIN = 6.0


def start_heavy(workers=2):
    return Server(["--workers", str(workers), "--timeout-ms", "60000"],
                  root=HEAVY_TREE()).start()


def worker_pids(srv):
    """{pid: starttime} of the workers, as /api/stats reports them, checked
    against /proc (they must be children of the server)."""
    st = srv.stats()
    pids = [s.get("pid") for s in st.get("shards", [])]
    check(pids and all(isinstance(p, int) for p in pids),
          "worker pids in /api/stats: %r" % pids)
    kids = sgtest.children_of(srv.proc.pid)
    out = {}
    for p in pids:
        check(p in kids, "worker %d is not a child of the server %d"
              % (p, srv.proc.pid))
        out[p] = kids[p]
    srv.descendants.update(out)
    return out


def start_heavy_query(srv, **extra):
    body = {"q": HEAVY_Q}
    body.update(extra)
    r = srv.post("/api/queries", body)
    expect_json(r, 202, "POST heavy query")
    qid = r.json["id"]
    r = srv.get("/api/queries/" + qid, {"wait_ms": 300})
    expect_json(r, 200, "GET heavy query")
    eq(r.json.get("status"), "running", "heavy query status before signal")
    return qid


def blocked_client(srv, results):
    """A client waiting on a heavy search while the server stops: it must
    get an answer or a closed connection, not hang."""
    def run():
        try:
            results.append(srv.search(HEAVY_Q, timeout=30, timeout_ms=60000))
        except Exception as e:
            results.append(e)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def stop_during_heavy_query(sig):
    srv = start_heavy()
    try:
        workers = worker_pids(srv)
        eq(len(workers), 2, "workers")
        start_heavy_query(srv)
        waiting = []
        t = blocked_client(srv, waiting)
        time.sleep(0.3)
        t0 = time.monotonic()
        srv.send(sig)
        code = srv.wait(EXIT_WITHIN)
        dt = time.monotonic() - t0
        if code is None:
            fail("server still running %.0fs after %s during a heavy query"
                 % (EXIT_WITHIN, signal.Signals(sig).name))
        eq(code, 0, "exit status after %s" % signal.Signals(sig).name)
        eq(sgtest.proc_stat(srv.proc.pid), None, "the master in /proc")
        sgtest.assert_gone(workers, "after the server exited on %s (%.2fs)"
                           % (signal.Signals(sig).name, dt))
        t.join(10)
        check(not t.is_alive(), "a client waiting on a search still hangs "
              "10s after the server exited")
    finally:
        srv.kill()
        for p in list(srv.descendants):
            reap_pid(p)


@R.test
def sigterm_during_heavy_query():
    stop_during_heavy_query(signal.SIGTERM)


@R.test
def sigint_during_heavy_query():
    stop_during_heavy_query(signal.SIGINT)


@R.test
def waiting_client_gets_503_shutting_down():
    """api.md: 503 shutting_down when the server is stopping.  A client
    waiting on a search when SIGTERM arrives gets that answer."""
    srv = start_heavy()
    try:
        got = []
        t = blocked_client(srv, got)
        time.sleep(0.5)
        check(not got, "the heavy search finished before the signal: %r" % got)
        srv.send(signal.SIGTERM)
        t.join(15)
        check(got, "waiting client got nothing within 15s")
        r = got[0]
        if isinstance(r, Exception):
            fail("waiting client got %s (%s) instead of an HTTP answer"
                 % (type(r).__name__, r))
        sgtest.expect_error(r, 503, "shutting_down",
                            "answer to a search waiting at SIGTERM")
        eq(srv.wait(EXIT_WITHIN), 0, "exit status")
    finally:
        srv.kill()
        for p in list(srv.descendants):
            reap_pid(p)


@R.test
def sigterm_idle_after_queries():
    srv = Server(["--workers", "3"]).start()
    try:
        workers = worker_pids(srv)
        srv.search_ok("kv")
        sgtest.assert_stops_clean(srv, signal.SIGTERM, timeout=EXIT_WITHIN)
        sgtest.assert_gone(workers, "after SIGTERM")
    finally:
        srv.kill()


def kill_master(heavy):
    srv = start_heavy() if heavy else Server(["--workers", "2"]).start()
    workers = {}
    try:
        workers = worker_pids(srv)
        if heavy:
            start_heavy_query(srv)
        srv.proc.kill()
        srv.proc.wait(5)
        t0 = time.monotonic()
        left = dict(workers)
        while left and time.monotonic() - t0 < 2.0:
            for p, st in list(left.items()):
                state = same_process(p, st)
                if state is None or state == "Z":
                    reap_pid(p)
                    del left[p]
            time.sleep(0.05)
        if left:
            fail("workers still running 2s after the master was killed%s: %s"
                 % (" during a heavy query" if heavy else "",
                    sorted(left)))
    finally:
        srv.kill()
        for p, st in workers.items():
            if same_process(p, st):
                sgtest.kill_quietly(p)
            reap_pid(p)


@R.test
def sigkill_master_workers_exit_on_their_own():
    kill_master(heavy=False)


@R.test
def sigkill_master_during_heavy_query_workers_exit():
    kill_master(heavy=True)


@R.test(timed=True)
def worker_death_query_partial_and_worker_restarted():
    srv = start_heavy()
    try:
        workers = worker_pids(srv)
        before = srv.search_ok("quick_needle")["results"]
        r = srv.post("/api/queries", {"q": HEAVY_Q, "path": "heavy0/"})
        expect_json(r, 202, "POST heavy query on a quarter of the tree")
        qid = r.json["id"]
        time.sleep(0.4)
        st = srv.stats()
        victim = st["shards"][0]["pid"]
        os.kill(victim, signal.SIGKILL)
        r = srv.get("/api/queries/" + qid, {"wait_ms": 30000}, timeout=60)
        expect_json(r, 200, "GET query after a worker died")
        eq(r.json.get("status"), "partial", "status of a query whose worker "
           "died")
        failed = r.json["stats"]["shards"].get("failed")
        check(failed and (0 in failed or any(isinstance(f, dict) and
                                             f.get("shard") == 0
                                             for f in failed)),
              "stats.shards.failed should name shard 0: %r" % failed)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            h = srv.get("/healthz")
            if h.status == 200:
                break
            time.sleep(0.1)
        expect_json(h, 200, "/healthz after a worker was restarted")
        st = srv.stats()
        new_pid = st["shards"][0]["pid"]
        check(new_pid != victim and st["shards"][0].get("up") is True,
              "shard 0 after restart: %r" % st["shards"][0])
        check(new_pid in sgtest.children_of(srv.proc.pid),
              "restarted worker %r is not a child of the server" % new_pid)
        srv.note_descendants()
        eq(srv.search_ok("quick_needle")["results"], before,
           "results after the restart")
        eq(st.get("files"), len(sgtest.all_regular_files(HEAVY_TREE())),
           "files after the restart")
        eq(same_process(victim, workers[victim]), None,
           "the killed worker was reaped")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.self_check
def selfcheck_subreaper():
    check(SUBREAPER, "could not become a child subreaper (prctl)")


if __name__ == "__main__":
    R.main()
