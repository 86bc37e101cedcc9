#!/usr/bin/env python3
"""Faults, against the real server: a worker killed with SIGKILL in the
middle of a query, a worker that keeps dying, a master killed outright, and
files that cannot be read while a shard loads.

What a user must see (issue "Reliability and security"):
  - a worker killed mid-query: the queries it had end "partial" and name
    the shard in stats.shards.failed; no HTTP request hangs (every client
    here has a bounded timeout and must get an HTTP answer within it);
    /healthz answers 503 naming the shard, then 200 again with a new pid,
    and queries are whole again;
  - a worker that keeps dying is restarted with growing delays, as the
    "restarting shard N in X ms" log lines say and the clock confirms;
  - the master killed: every worker exits on its own within 1 s;
  - a file that cannot be read while loading: one log line naming it, and
    the rest of the tree loads.  As root, permissions do not stop a read,
    so the mode-000 case runs the server as "nobody" (setpriv) when this
    script runs as root; the other cases change a file between the
    start-up walk and the reload of a restarted worker (deleted, turned
    into a symbolic link to a file outside the root, turned into a FIFO),
    which is a real race a long-running server meets.  These run with
    --no-watch, so that the file table still lists what the disk no longer
    has (the watcher would drop those files first): the worker's own
    reading must refuse them.

Not covered here: running out of memory while loading (util.h makes an
allocation failure abort the worker by design; no honest, bounded way to
provoke it for one file only was found).

This process makes itself a child subreaper, so workers orphaned by their
master are re-parented here and stay visible (as zombies) until reaped."""

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (HEAVY_Q, LimitedServer, Lazy, Server, TempDir, check, eq, expect_json,  # noqa: E402
                    fail, reap_pid, same_process)

R = sgtest.Runner("test_faults")
sgtest.register_common_self_checks(R)

SUBREAPER = sgtest.set_child_subreaper()
HEAVY_TREE = Lazy(lambda: sgtest.make_heavy_tree(TempDir("sgfaults-").path))
HEAVY_FILES = 48

CLIENT_TIMEOUT = 20.0    # no request may take longer: past it, it "hangs"
MASTER_DEATH_S = 1.0     # workers gone within this after the master dies
BACK_TIMEOUT = 15.0      # a restarted worker is up again within this

RESTARTED_RE = re.compile(r"restarted shard (\d+) \(pid (\d+)\)")
RESTARTING_RE = re.compile(r"restarting shard (\d+) in (\d+) ms")


# ---------------------------------------------------------------------------
# Helpers


def now():
    return time.monotonic()


def wait_for(pred, timeout, step=0.02):
    """pred()'s first true value within timeout seconds, else None."""
    return sgtest.wait_for(pred, timeout, step)


def shard_pids(srv):
    """[pid of shard 0, pid of shard 1, ...] from /api/stats, each checked
    to be a live child of the master."""
    st = srv.stats()
    pids = [s.get("pid") for s in st.get("shards", [])]
    check(pids and all(isinstance(p, int) and p > 0 for p in pids),
          "worker pids in /api/stats: %r" % pids)
    kids = sgtest.children_of(srv.proc.pid)
    for p in pids:
        check(p in kids, "worker %d (from /api/stats) is not a child of the "
              "server %d (its children: %r; /proc says of %d: %r); log "
              "ends %r" % (p, srv.proc.pid, sorted(kids), p,
                           sgtest.proc_stat(p), srv.stderr_text()[-600:]))
        srv.descendants[p] = kids[p]
    return pids


def healthz(srv):
    return srv.get("/healthz", timeout=5)


def wait_replaced(srv, shard, old_pid, timeout=BACK_TIMEOUT):
    """Waits until /api/stats shows a new worker for shard, up, and
    /healthz says 200 (the master may not have seen the death yet when we
    first ask); returns its pid, checked to be a child of the master."""
    def replaced():
        st = srv.stats()["shards"][shard]
        if st.get("pid") != old_pid and st.get("up") is True and \
                healthz(srv).status == 200:
            return st["pid"]
        return None
    pid = wait_for(replaced, timeout, 0.05)
    check(pid, "shard %d: no new worker up within %.0fs of killing pid %d; "
          "log ends %r" % (shard, timeout, old_pid, srv.stderr_text()[-800:]))
    eq(shard_pids(srv)[shard], pid, "shard %d's pid" % shard)
    return pid


def wait_healthy(srv, timeout=BACK_TIMEOUT):
    last = [None]

    def ok():
        last[0] = healthz(srv)
        return last[0].status == 200
    if not wait_for(ok, timeout, 0.05):
        fail("/healthz not 200 within %.0fs; last answer %r" % (timeout, last[0]))
    srv.note_descendants()


def log_matches(srv, rx):
    return rx.findall(srv.stderr_text())


class Inflight:
    """One HTTP request run in a thread, with the time its answer came."""

    def __init__(self, what, fn):
        self.what = what
        self.result = None
        self.error = None
        self.t_end = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.result = fn()
        except Exception as e:  # a connection error or a client timeout
            self.error = e
        self.t_end = now()

    def answer(self, within):
        """The HTTP answer; fails if none came within `within` seconds (a
        hang) or if the request ended with a connection error."""
        self.thread.join(within)
        if self.thread.is_alive():
            fail("%s: no answer within %.0fs (hangs)" % (self.what, within))
        if self.error is not None:
            fail("%s: %s: %s instead of an HTTP answer"
                 % (self.what, type(self.error).__name__, self.error))
        return self.result


def failed_shards(doc):
    out = []
    for f in doc.get("stats", {}).get("shards", {}).get("failed", []):
        out.append(f.get("shard") if isinstance(f, dict) else f)
    return out


def expect_partial(r, shard, what):
    expect_json(r, 200, what)
    eq(r.json.get("status"), "partial", "%s: status" % what)
    check(shard in failed_shards(r.json),
          "%s: stats.shards.failed should name shard %d: %r"
          % (what, shard, r.json["stats"]["shards"]))


def gone_or_zombie(pid, starttime):
    state = same_process(pid, starttime)
    if state is None:
        return True
    if state == "Z":
        reap_pid(pid)
        return True
    return False


def end_all(srv, extra=()):
    """Ends the server and every worker it had, by pid."""
    srv.kill()
    for pid in list(srv.descendants) + list(extra):
        reap_pid(pid)


# ---------------------------------------------------------------------------
# A worker killed in the middle of a query


@R.test(timeout=90, timed=True)
def worker_sigkill_mid_query():
    tree = HEAVY_TREE()
    srv = Server(["--workers", "2", "--timeout-ms", "60000"], root=tree).start()
    try:
        pids = shard_pids(srv)
        whole = srv.search_ok("end;", literal=1, max=1000)
        eq(whole["stats"]["matched_files"], HEAVY_FILES, "files holding 'end;'")

        # Two clients waiting on a heavy query over three files (about two
        # seconds of work here) when shard 0's worker dies.  A worker runs
        # one query at a time, so the second ends after both: on a loaded
        # machine that can take long without anything hanging.  A hang is
        # an answer missing well past what the work takes here and now:
        # the limit grows with the time one such query took just before.
        half = "heavy0/f00*"
        t0 = now()
        srv.search_ok(HEAVY_Q, path=half)
        limit = max(CLIENT_TIMEOUT, 6 * (now() - t0))
        print("  # one heavy query: %.2fs; hang limit %.0fs" % (now() - t0, limit))
        waiting = Inflight("GET /api/search (waiting on a heavy query)",
                           lambda: srv.search(HEAVY_Q, timeout=limit,
                                              path=half))
        r = srv.post("/api/queries", {"q": HEAVY_Q, "path": half})
        expect_json(r, 202, "POST heavy query")
        qid = r.json["id"]
        polling = Inflight("GET /api/queries/{id}?wait_ms=30000",
                           lambda: srv.get("/api/queries/" + qid,
                                           {"wait_ms": 30000},
                                           timeout=limit))
        time.sleep(0.5)
        r = srv.get("/api/queries/" + qid)
        expect_json(r, 200, "GET heavy query")
        eq(r.json.get("status"), "running", "heavy query still running before "
           "the kill (precondition)")

        os.kill(pids[0], signal.SIGKILL)
        t_kill = now()

        # /healthz says which shard is down, until it is back.
        seen = []

        def degraded():
            h = healthz(srv)
            seen.append(h.status)
            return h if h.status == 503 else None
        h = wait_for(degraded, 3.0, 0.01)
        check(h is not None, "/healthz never answered 503 in the 3s after "
              "the kill (answers: %r)" % sorted(set(seen)))
        expect_json(h, 503, "/healthz while shard 0 is down")
        eq(h.json.get("status"), "degraded", "/healthz status")
        eq(h.json.get("down"), [0], "/healthz down")
        eq(h.json.get("shards_up"), 1, "/healthz shards_up")

        # While it is down: a new search and file views are answered.
        fresh = Inflight("GET /api/search while shard 0 is down",
                         lambda: srv.search("quick_needle",
                                            timeout=limit))
        views = [Inflight("GET /api/files/%s while shard 0 is down" % rel,
                          lambda rel=rel: srv.files(rel))
                 for rel in sgtest.all_regular_files(tree)[:24]]

        # The queries in flight end "partial", naming shard 0.
        expect_partial(waiting.answer(limit), 0,
                       "waiting GET /api/search")
        expect_partial(polling.answer(limit), 0,
                       "GET /api/queries/{id}?wait_ms")
        r = srv.get("/api/queries/" + qid)
        expect_partial(r, 0, "GET /api/queries/{id} afterwards")

        r = fresh.answer(limit)
        expect_json(r, 200, fresh.what)
        st = r.json.get("status")
        if st == "partial":
            check(0 in failed_shards(r.json), "%s: failed should name shard 0: "
                  "%r" % (fresh.what, r.json["stats"]["shards"]))
        else:
            # It may also have waited for the restarted worker: then whole.
            eq(st, "done", "%s: status (partial, or done once whole)"
               % fresh.what)
            eq(failed_shards(r.json), [], fresh.what + ": failed")
        for v in views:
            r = v.answer(limit)
            if r.status == 503:
                sgtest.expect_error(r, 503, "shard_down", v.what)
            else:
                expect_json(r, 200, v.what)

        # Back: 200, a new pid, whole answers.
        wait_replaced(srv, 0, pids[0])
        eq(srv.stats()["shards"][1].get("pid"), pids[1],
           "shard 1's pid (untouched)")
        srv.note_descendants()
        again = srv.search_ok("end;", literal=1, max=1000)
        eq(failed_shards(again), [], "failed after the restart")
        eq(again["stats"]["matched_files"], HEAVY_FILES,
           "matched_files after the restart")
        eq(again["results"], whole["results"], "results after the restart")
        for rel in sgtest.all_regular_files(tree):
            r = srv.files(rel)
            expect_json(r, 200, "GET /api/files/%s after the restart" % rel)
        log = srv.stderr_text()
        check(re.search(r"worker for shard 0 \(pid %d\) was killed by signal 9"
                        % pids[0], log),
              "no log line about shard 0's worker killed by signal 9: %r"
              % log[-1500:])
        print("  # in-flight queries ended, shard 0 back and whole answers checked "
              "%.2fs after the kill" % (now() - t_kill))
    finally:
        end_all(srv)


# ---------------------------------------------------------------------------
# A worker that keeps dying


@R.test(timeout=90)
def repeated_crashes_back_off():
    srv = Server(["--workers", "2"]).start()
    try:
        whole = srv.search_ok("kv", max=100000)
        victim = shard_pids(srv)[0]
        kills = 5
        gaps = []
        for k in range(kills):
            os.kill(victim, signal.SIGKILL)
            t_kill = now()

            def restarted(k=k):
                found = log_matches(srv, RESTARTED_RE)
                found = [(int(s), int(p)) for s, p in found if s == "0"]
                return found[k] if len(found) > k else None
            got = wait_for(restarted, 40.0, 0.005)
            check(got is not None, "no 'restarted shard 0' line #%d within 40s "
                  "of kill #%d; log ends %r"
                  % (k + 1, k + 1, srv.stderr_text()[-1500:]))
            gaps.append(now() - t_kill)
            victim = got[1]
            srv.note_descendants()
        delays = [int(ms) for s, ms in log_matches(srv, RESTARTING_RE)
                  if s == "0"]
        eq(len(delays), kills, "'restarting shard 0 in X ms' lines (one per "
           "death)")
        for i in range(1, kills):
            check(delays[i] > delays[i - 1], "back-off does not grow: %r"
                  % delays)
        check(delays[-1] >= 8 * delays[0], "back-off grows too little over %d "
              "quick deaths: %r" % (kills, delays))
        for i, (gap, ms) in enumerate(zip(gaps, delays)):
            check(gap >= ms / 1000.0 - 0.05,
                  "death #%d: restarted %.3fs after the kill, before the "
                  "announced %d ms" % (i + 1, gap, ms))
        # Left alone, it comes back and answers are whole again.
        wait_healthy(srv, BACK_TIMEOUT + delays[-1] / 1000.0)
        eq(len([1 for s, _ in log_matches(srv, RESTARTED_RE) if s == "0"]),
           kills, "restarts of shard 0 (no restart loop)")
        again = srv.search_ok("kv", max=100000)
        eq(again["results"], whole["results"], "results after the crashes")
        print("  # delays %r ms; kill-to-restart %s s"
              % (delays, ", ".join("%.2f" % g for g in gaps)))
    finally:
        end_all(srv)


# ---------------------------------------------------------------------------
# The master killed


def kill_master_and_watch(srv, what, waiting=None):
    srv.note_descendants()
    workers = {}
    kids = sgtest.children_of(srv.proc.pid)
    for p in shard_pids(srv):
        workers[p] = kids[p]
    srv.proc.kill()
    t0 = now()
    srv.proc.wait(5)
    left = dict(workers)
    while left and now() - t0 < MASTER_DEATH_S:
        for p, st in list(left.items()):
            if gone_or_zombie(p, st):
                del left[p]
        time.sleep(0.01)
    took = now() - t0
    if left:
        fail("%s: workers %s still running %.1fs after the master was killed"
             % (what, sorted(left), MASTER_DEATH_S))
    if waiting is not None:
        # The client waiting on the dead master gets a closed connection,
        # not a hang.
        waiting.thread.join(CLIENT_TIMEOUT)
        check(not waiting.thread.is_alive(), "%s: a client waiting on a "
              "search still hangs %.0fs after the master died"
              % (what, CLIENT_TIMEOUT))
    return took


@R.test(timeout=60)
def sigkill_master_idle():
    srv = Server(["--workers", "3"]).start()
    try:
        took = kill_master_and_watch(srv, "idle server")
        print("  # workers gone %.3fs after the master" % took)
    finally:
        end_all(srv)


@R.test(timeout=60)
def sigkill_master_mid_query():
    srv = Server(["--workers", "2", "--timeout-ms", "60000"],
                 root=HEAVY_TREE()).start()
    try:
        r = srv.post("/api/queries", {"q": HEAVY_Q})
        expect_json(r, 202, "POST heavy query")
        waiting = Inflight("GET /api/search on a heavy query",
                           lambda: srv.search(HEAVY_Q, timeout=CLIENT_TIMEOUT))
        time.sleep(0.4)
        r = srv.get("/api/queries/" + r.json["id"])
        eq(r.json.get("status"), "running", "heavy query running (precondition)")
        took = kill_master_and_watch(srv, "during a heavy query", waiting)
        print("  # workers gone %.3fs after the master" % took)
    finally:
        end_all(srv)


@R.test(timeout=60)
def sigkill_master_after_a_restart():
    """A restarted worker is started another way (fork and exec from the
    running master): it too must die with the master."""
    srv = Server(["--workers", "2"]).start()
    try:
        old = shard_pids(srv)
        os.kill(old[1], signal.SIGKILL)
        wait_replaced(srv, 1, old[1])
        took = kill_master_and_watch(srv, "after shard 1 was restarted")
        print("  # workers gone %.3fs after the master" % took)
    finally:
        end_all(srv)


# ---------------------------------------------------------------------------
# Files that cannot be read while loading


def small_tree(prefix, names):
    """A tree anyone can read: {relative name: text}."""
    root = TempDir(prefix).path
    os.chmod(root, 0o755)
    for rel, text in names.items():
        full = os.path.join(root, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        os.chmod(os.path.dirname(full), 0o755)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, 0o644)
    return root


class UnprivilegedServer(Server):
    """The server run as "nobody" when this script runs as root, so that a
    file's permissions apply to it."""

    def command(self):
        cmd = super().command()
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if not setpriv:
                fail("running as root and setpriv (util-linux) is missing: "
                     "cannot drop privileges to test an unreadable file")
            return [setpriv, "--reuid=65534", "--regid=65534",
                    "--clear-groups", "--"] + cmd
        return cmd


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])  # effective
    return None


def expect_skipped_log(srv, rel, reason_rx, what):
    rx = re.compile(r"cannot read %s: (.*) \(skipped\)" % re.escape(rel))
    m = wait_for(lambda: rx.search(srv.stderr_text()), 5.0)
    check(m, "%s: no log line 'cannot read %s: ...'; log ends %r"
          % (what, rel, srv.stderr_text()[-1500:]))
    check(re.search(reason_rx, m.group(1)), "%s: the log line gives %r as the "
          "reason, expected /%s/" % (what, m.group(1), reason_rx))
    lines = [ln for ln in srv.stderr_text().splitlines() if rel in ln]
    eq(len(lines), 1, "%s: log lines naming %s" % (what, rel))


def expect_loaded(srv, present, absent, what):
    for marker, rel in present.items():
        doc = srv.search_ok(marker, literal=1)
        eq([(x["path"], x["line"]) for x in doc["results"]], [(rel, 1)],
           "%s: search %r" % (what, marker))
    for marker in absent:
        doc = srv.search_ok(marker, literal=1)
        eq(doc["stats"]["matched_lines"], 0, "%s: search %r" % (what, marker))


FILES = {
    "a.txt": "alpha_marker\n",
    "b.txt": "bravo_marker\n",
    "sub/c.txt": "charlie_marker\n",
    "sub/d.txt": "delta_marker\n",
}


def expect_only_skipped(srv, rel, marker, what):
    """FILES loaded and rel (holding marker) counted unreadable and not
    served; the server healthy."""
    st = srv.stats()
    eq(st["skipped"].get("unreadable"), 1, "stats.skipped.unreadable")
    eq(st["files"], len(FILES), "stats.files (the rest of the tree)")
    expect_loaded(srv, {"alpha_marker": "a.txt", "bravo_marker": "b.txt",
                        "charlie_marker": "sub/c.txt",
                        "delta_marker": "sub/d.txt"}, [marker], what)
    sgtest.expect_error(srv.files(rel), 404, "not_found",
                        "GET /api/files/" + rel)
    eq(healthz(srv).status, 200, "/healthz")


@R.test(timeout=60)
def unreadable_file_at_start_up():
    names = dict(FILES)
    names["secret.txt"] = "secret_marker\n"
    root = small_tree("sgunread-", names)
    os.chmod(os.path.join(root, "secret.txt"), 0)
    srv = UnprivilegedServer(["--workers", "2"], root=root).start()
    try:
        check(proc_uid(srv.proc.pid) != 0, "precondition: the server runs as "
              "root, so mode 000 would not stop it reading")
        expect_skipped_log(srv, "secret.txt", "[Pp]ermission denied",
                           "mode 000 file")
        expect_only_skipped(srv, "secret.txt", "secret_marker",
                            "with secret.txt unreadable")
    finally:
        end_all(srv)


@R.test(timeout=120, bare=True)
def out_of_memory_while_loading():
    """A file too big for the memory the worker may have: one log line
    names it, the rest of the tree loads, the server answers."""
    mib = 1 << 20
    root = small_tree("sgoom-", FILES)
    line = b"huge_marker " + b"x" * 115 + b"\n"
    with open(os.path.join(root, "huge.txt"), "wb") as f:
        block = line * (mib // len(line))
        for _ in range(300):
            f.write(block)
    # One worker: its arena takes the 300 MiB, and reading the file needs
    # as much again, past the 600 MiB the whole server may map.
    srv = LimitedServer(600 * mib, ["--workers", "1", "--max-file-size", "1G"],
                        root=root).start()
    try:
        rx = re.compile(r"out of memory (?:reading|loading) huge\.txt "
                        r"\((\d+) bytes\); skipped")
        m = wait_for(lambda: rx.search(srv.stderr_text()), 5.0)
        check(m, "no 'out of memory ... huge.txt ...; skipped' log line; log "
              "ends %r" % srv.stderr_text()[-1500:])
        eq(int(m.group(1)), 300 * (mib // len(line)) * len(line),
           "size in the log line")
        expect_only_skipped(srv, "huge.txt", "huge_marker",
                            "with huge.txt past the memory limit")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        end_all(srv)


def restart_only_worker(srv):
    """Kills the single worker and waits until its successor has loaded."""
    old = shard_pids(srv)[0]
    os.kill(old, signal.SIGKILL)
    wait_replaced(srv, 0, old)


@R.test(timeout=60)
def file_deleted_or_linked_out_before_a_reload():
    """Between the start-up walk and a restarted worker's reload, one file
    is deleted and another becomes a symbolic link to a file outside the
    root: both are skipped with a log line, nothing outside is read, the
    rest loads."""
    names = dict(FILES)
    names["gone.txt"] = "gone_marker\n"
    names["link.txt"] = "link_marker\n"
    root = small_tree("sgreload-", names)
    outside = TempDir("sgoutside-").path
    secret = os.path.join(outside, "outside.txt")
    with open(secret, "w") as f:
        f.write("outside_marker root:x:0:0\n")
    srv = Server(["--workers", "1", "--no-watch"], root=root).start()
    try:
        eq(srv.stats()["files"], len(names), "files before")
        os.unlink(os.path.join(root, "gone.txt"))
        os.unlink(os.path.join(root, "link.txt"))
        os.symlink(secret, os.path.join(root, "link.txt"))
        restart_only_worker(srv)
        expect_skipped_log(srv, "gone.txt", "No such file", "deleted file")
        expect_skipped_log(srv, "link.txt", "symbolic link|Too many levels",
                           "file turned into a link")
        st = srv.stats()
        eq(st["skipped"].get("unreadable"), 2, "stats.skipped.unreadable")
        eq(st["files"], len(FILES), "stats.files (the rest of the tree)")
        expect_loaded(srv, {"alpha_marker": "a.txt",
                            "delta_marker": "sub/d.txt"},
                      ["gone_marker", "link_marker", "outside_marker",
                       "root:x:0:0"], "after the reload")
        for rel in ("gone.txt", "link.txt"):
            r = srv.files(rel)
            check(b"outside_marker" not in r.body, "GET /api/files/%s shows "
                  "the file outside the root" % rel)
            sgtest.expect_error(r, 404, "not_found", "GET /api/files/" + rel)
    finally:
        end_all(srv)


@R.test(timeout=60)
def file_turned_into_fifo_before_a_reload():
    """A file that became a FIFO (nobody writing to it) must be skipped
    like any file that is not regular, not block the reload forever."""
    names = dict(FILES)
    names["pipe.txt"] = "pipe_marker\n"
    root = small_tree("sgfifo-", names)
    srv = Server(["--workers", "1", "--no-watch"], root=root).start()
    try:
        os.unlink(os.path.join(root, "pipe.txt"))
        os.mkfifo(os.path.join(root, "pipe.txt"))
        old = shard_pids(srv)[0]
        os.kill(old, signal.SIGKILL)
        t0 = now()
        wait_replaced(srv, 0, old, timeout=10.0)
        print("  # back after %.2fs" % (now() - t0))
        check(re.search(r"pipe\.txt", srv.stderr_text()),
              "no log line names pipe.txt")
        expect_loaded(srv, {"alpha_marker": "a.txt"}, ["pipe_marker"],
                      "after the reload")
    finally:
        end_all(srv)


@R.test(timeout=60)
def folder_linked_out_before_a_reload():
    """A folder of the tree replaced by a symbolic link to a folder outside
    it, then a worker restarted (a crash, the OOM killer): the restarted
    worker reads its old file list, and must not follow the link to serve
    what is outside.  Its files are skipped with a log line each."""
    names = dict(FILES)
    names["keep/x.txt"] = "keep_marker\n"
    root = small_tree("sgdirlink-", names)
    outside = TempDir("sgoutside-").path
    with open(os.path.join(outside, "x.txt"), "w") as f:
        f.write("outside_marker root:x:0:0\n")
    srv = Server(["--workers", "1", "--no-watch"], root=root).start()
    try:
        eq(srv.stats()["files"], len(names), "files before")
        shutil.rmtree(os.path.join(root, "keep"))
        os.symlink(outside, os.path.join(root, "keep"))
        restart_only_worker(srv)
        expect_skipped_log(srv, "keep/x.txt", "symbolic link|Too many levels|Not a directory",
                           "a file under a folder turned into a link")
        expect_loaded(srv, {"alpha_marker": "a.txt"}, ["outside_marker", "keep_marker"],
                      "after the reload")
        r = srv.files("keep/x.txt")
        check(b"outside_marker" not in r.body, "GET /api/files/keep/x.txt shows the file "
              "outside the root")
        sgtest.expect_error(r, 404, "not_found", "GET /api/files/keep/x.txt")
    finally:
        end_all(srv)


def make_deep(root, levels, name, text):
    """levels nested folders "d" under root, and name (holding text) in the
    deepest: made through folder descriptors, since the path may be longer
    than a path may be."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            try:
                os.mkdir("d", dir_fd=fd)
            except FileExistsError:
                pass
            nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        wfd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
        os.write(wfd, text.encode())
        os.close(wfd)
    finally:
        os.close(fd)


@R.test(timeout=120)
def deep_tree_loads():
    """2,040 nested folders (a path still under 4,096 bytes) used to
    overflow the stack of the recursive walk: no message, a segfault.  Now
    the deep file loads; one deeper still, whose path is longer than a
    path may be, is skipped, counted and logged."""
    tmp = TempDir("sgdeep-")
    root = tmp.path
    with open(os.path.join(root, "top.txt"), "w") as f:
        f.write("top_marker\n")
    make_deep(root, 2040, "deep.txt", "deep_marker\n")
    make_deep(root, 2100, "deeper.txt", "deeper_marker\n")
    srv = Server(["--workers", "2"], root=root).start()
    try:
        doc = srv.search_ok("deep_marker", literal=1)
        eq(len(doc["results"]), 1, "the file 2,040 folders down")
        path = doc["results"][0]["path"]
        eq((len(path), path.endswith("/deep.txt")), (2040 * 2 + 8, True), "its path")
        eq(srv.search_ok("deeper_marker", literal=1)["stats"]["matched_lines"], 0,
           "the file past PATH_MAX")
        st = srv.stats()
        eq(st["skipped"].get("path_too_long"), 1, "stats.skipped.path_too_long")
        check(re.search(r"a path of 4096 bytes or more", srv.stderr_text()),
              "no log line for the path too long; log ends %r" % srv.stderr_text()[-600:])
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()
        subprocess.run(["rm", "-rf", root], check=False)


@R.test(timeout=120, plain=True)
def failed_restart_is_retried():
    """A worker restart that fails (here: no file descriptor left for its
    socket pair, as under a low ulimit -n) is tried again with back-off;
    it used to be dropped, and the shard stayed down (503) until some other
    signal came."""
    srv = Server(["--workers", "2"]).start()
    pid = srv.proc.pid
    try:
        old = shard_pids(srv)[0]
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        # No new descriptor at all (the standard three are all it keeps
        # room for): a limit of "as many as are open now" was one too many
        # when a connection the test had used was still closing, and the
        # socket pair was made (seen on a fresh Debian 12 root).
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, hard))
        try:
            os.kill(old, signal.SIGKILL)
            rx = re.compile(r"cannot restart shard 0: socketpair: Too many open files")
            check(wait_for(lambda: rx.search(srv.stderr_text()), 10.0),
                  "the restart did not fail as set up; log ends %r" % srv.stderr_text()[-800:])
            time.sleep(0.5)
        finally:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        wait_replaced(srv, 0, old, timeout=30.0)
        tries = len(re.findall(r"cannot restart shard 0", srv.stderr_text()))
        print("  # %d failed restart(s), then shard 0 was back" % tries)
        eq(srv.search_ok("kv_put")["stats"]["shards"]["failed"], [], "failed shards after")
    finally:
        end_all(srv)


@R.test(timeout=120)
def stopped_worker_is_seen():
    """A worker that stops answering (SIGSTOP here; a hang, a swap storm)
    used to leave /healthz at 200 while every query waited for its
    deadline.  Now its heartbeat lapses: /healthz answers 503 naming it
    unresponsive, queries end partial naming it, and all is whole again
    once it answers."""
    srv = Server(["--workers", "2", "--unresponsive-ms", "1000"]).start()
    try:
        whole = srv.search_ok("kv_put")
        stopped = shard_pids(srv)[1]
        os.kill(stopped, signal.SIGSTOP)
        try:
            def seen():
                r = healthz(srv)
                return r if r.status == 503 else None
            r = wait_for(seen, 20.0, 0.1)
            check(r, "/healthz still 200 with shard 1 stopped for 20 s")
            eq((r.json.get("unresponsive"), r.json.get("down")), ([1], []),
               "/healthz unresponsive, down")
            check(srv.stats()["shards"][1]["responsive"] is False, "stats: shard 1 responsive")
            r = srv.search("kv_put", timeout=CLIENT_TIMEOUT)
            expect_json(r, 200, "a search while shard 1 is stopped")
            eq((r.json["status"], r.json["stats"]["shards"]["failed"]), ("partial", [1]),
               "status, failed shards")
            err = r.json.get("error") or {}
            check(err.get("code") == "shard_unresponsive" and "shard 1" in err.get("message", ""),
                  "the answer does not say why: %r" % err)
        finally:
            os.kill(stopped, signal.SIGCONT)
        wait_healthy(srv, 20.0)
        eq(srv.search_ok("kv_put")["stats"]["matched_lines"], whole["stats"]["matched_lines"],
           "a search once it answers again")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        end_all(srv)


@R.self_check
def selfcheck_subreaper():
    check(SUBREAPER, "could not become a child subreaper (prctl)")


@R.self_check
def selfcheck_regexes():
    eq(RESTARTED_RE.findall("shardgrep: restarted shard 0 (pid 123); it "
                            "reloads its files"), [("0", "123")], "restarted")
    eq(RESTARTING_RE.findall("shardgrep: restarting shard 1 in 400 ms"),
       [("1", "400")], "restarting")


if __name__ == "__main__":
    R.main()
