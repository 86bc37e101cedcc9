#!/usr/bin/env python3
"""The living index, against the real server on a temporary tree that changes
on disk while it runs.

After each change, the test waits (a bounded poll, never a timing assertion)
until the server's answers equal what an independent view of the tree says
(sgtest.Corpus: ripgrep's file list, Python's re for the lines), for a set of
queries, and until /api/stats says no change is pending.  How long that took
is printed, not asserted.

What is covered (issue "A living index"):
  - save, append, truncate, create (in new folders too), delete, rename,
    move a folder within the tree, out of it and into it, chmod, an
    editor's save (write a new file, rename it over), a file replaced by a
    link, a folder replaced by a link to outside the tree (nothing outside
    is read), a file that grows past --max-file-size or turns binary and
    comes back, .gitignore edits, git checkout and git stash;
  - a churn of random changes while queries run: none fails, and the
    answers are right once it stops; the same with a worker killed during
    the churn (the restarted worker loads what the table says now);
  - a lost event queue (the test switch SHARDGREP_TEST_OVERFLOW_AFTER) and
    too few watches (SHARDGREP_TEST_MAX_WATCHES): the rescan catches up;
  - a burst to a stopped worker whose queue is full (the test switch
    SHARDGREP_TEST_QUEUE_BYTES): nothing is lost;
  - --no-watch, then SIGHUP and POST /api/reindex."""

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import Corpus, Server, TempDir, check, eq, expect_json, fail  # noqa: E402

R = sgtest.Runner("test_live")
sgtest.register_common_self_checks(R)

CONVERGE_S = 30.0 * sgtest.SLOW   # a change not visible by then is lost
QUERIES = ["marker", "alpha|beta", "zeta", "^line \\d+$"]


def write(root, rel, text, mode="w"):
    full = os.path.join(root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, mode) as f:
        f.write(text)


def server_answer(srv, q, max_size=None):
    r = srv.search(q, max=100000, timeout=30)
    expect_json(r, 200, "search %r" % q)
    doc = r.json
    if doc["status"] != "done":
        return None, doc["status"]
    return ([(x["path"], x["line"], x["text"], x["ranges"]) for x in doc["results"]],
            doc["stats"]["matched_lines"])


def expected(root, q, no_ignore=False, max_size=None):
    found = Corpus(root, no_ignore=no_ignore, max_size=max_size).search(q)
    return [(p, n, t, [list(r) for r in rs]) for p, n, t, rs in found]


def converge(srv, root, what, queries=QUERIES, max_size=None):
    """Waits until every query answers as the tree says and nothing is
    pending; returns the seconds it took."""
    t0 = time.monotonic()
    last = None
    while True:
        ok = True
        for q in queries:
            want = expected(root, q, max_size=max_size)
            got, count = server_answer(srv, q)
            if got != want or count != len(want):
                ok = False
                last = (q, got, want)
                break
        if ok:
            live = srv.stats()["live"]
            if live["pending"] == 0:
                dt = time.monotonic() - t0
                print("  # %s: followed in %.0f ms" % (what, dt * 1000))
                return dt
            last = ("pending", live, None)
        if time.monotonic() - t0 > CONVERGE_S:
            q, got, want = last
            if q == "pending":
                fail("%s: still %r after %.0f s" % (what, got, CONVERGE_S))
            gs, ws = set(map(repr, got or [])), set(map(repr, want))
            fail("%s: after %.0f s, query %r differs from the tree: only in the server's "
                 "answer %s; only in the tree %s"
                 % (what, CONVERGE_S, q, sorted(gs - ws)[:5], sorted(ws - gs)[:5]))
        time.sleep(0.05)


def base_tree(prefix="sglive-"):
    tmp = TempDir(prefix)
    root = tmp.path
    write(root, "a.txt", "alpha marker one\nline 1\n")
    write(root, "b.txt", "beta\nmarker b\n")
    write(root, "src/c.c", "int zeta;\n/* marker c */\n")
    write(root, "src/deep/d.h", "#define BETA 1\nline 2\n")
    write(root, "docs/e.md", "# alpha\nmarker e\n")
    return tmp


def start(root, *args, env=None):
    srv = Server(["--workers", "2"] + list(args), root=root)
    if env:
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            srv.start()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    else:
        srv.start()
    # The watcher walks the tree once after start-up: let it settle.
    wait_state(srv, ("watching", "polling", "off"))
    return srv


def wait_state(srv, states, timeout=20.0):
    deadline = time.monotonic() + timeout * sgtest.SLOW
    while time.monotonic() < deadline:
        live = srv.stats()["live"]
        if live["state"] in states and live["pending"] == 0:
            return live
        time.sleep(0.05)
    fail("live state never became %r: %r" % (states, srv.stats()["live"]))


@R.test(timeout=300)
def edits_are_followed():
    tmp = base_tree()
    root = tmp.path
    outside = TempDir("sgliveout-").path
    write(outside, "o/outside.txt", "marker outside root:x:0:0\n")
    srv = start(root, "--max-file-size", "4K")
    try:
        converge(srv, root, "start", max_size=4096)
        steps = [
            ("save", lambda: write(root, "a.txt", "alpha marker changed\nline 10\n")),
            ("append", lambda: write(root, "b.txt", "marker appended\n", "a")),
            ("truncate", lambda: open(os.path.join(root, "docs/e.md"), "w").close()),
            ("create in new folders", lambda: write(root, "n/e/w/f.txt", "zeta marker new\n")),
            ("delete", lambda: os.unlink(os.path.join(root, "src/c.c"))),
            ("rename", lambda: os.rename(os.path.join(root, "b.txt"),
                                         os.path.join(root, "b2.txt"))),
            ("move a folder", lambda: os.rename(os.path.join(root, "src/deep"),
                                                os.path.join(root, "moved"))),
            ("move a folder out", lambda: shutil.move(os.path.join(root, "n"),
                                                      os.path.join(outside, "n"))),
            ("move a folder in", lambda: shutil.move(os.path.join(outside, "n"),
                                                     os.path.join(root, "back"))),
            ("chmod", lambda: os.chmod(os.path.join(root, "a.txt"), 0o600)),
            ("editor save", lambda: (write(root, ".a.txt.swp", "alpha marker saved\n"),
                                     os.rename(os.path.join(root, ".a.txt.swp"),
                                               os.path.join(root, "a.txt")))),
            ("file replaced by a link", lambda: (os.unlink(os.path.join(root, "b2.txt")),
                                                 os.symlink("a.txt",
                                                            os.path.join(root, "b2.txt")))),
            ("folder replaced by a link out", lambda: (
                shutil.rmtree(os.path.join(root, "moved")),
                os.symlink(os.path.join(outside, "o"), os.path.join(root, "moved")))),
            ("grows past --max-file-size", lambda: write(root, "a.txt", "marker big\n" * 600)),
            ("shrinks back", lambda: write(root, "a.txt", "marker small again\n")),
            ("turns binary", lambda: write(root, "back/e/w/f.txt", "zeta\0marker\n")),
            ("turns text", lambda: write(root, "back/e/w/f.txt", "zeta marker text\n")),
            (".gitignore added", lambda: write(root, ".gitignore", "*.md\nback/\n")),
            (".gitignore removed", lambda: os.unlink(os.path.join(root, ".gitignore"))),
        ]
        for what, act in steps:
            act()
            converge(srv, root, what, max_size=4096)
        doc = srv.search_ok("root:x|outside", max=100)
        eq(doc["stats"]["matched_lines"], 0, "nothing outside the tree was read")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


def git(root, *args):
    subprocess.run(["git", "-C", root, "-c", "user.email=t@example.org", "-c", "user.name=t"]
                   + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


@R.test(timeout=300)
def git_checkout_and_stash_are_followed():
    if not sgtest.have_tool("git"):
        fail("git is needed (tools/deps-debian --tests installs it)")
    tmp = base_tree("sglivegit-")
    root = tmp.path
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    git(root, "checkout", "-q", "-b", "other")
    for i in range(40):
        write(root, "gen/g%02d.txt" % i, "marker generated %d\nline %d\n" % (i, i))
    os.unlink(os.path.join(root, "b.txt"))
    write(root, "a.txt", "alpha marker on the other branch\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "two")
    srv = start(root)
    try:
        converge(srv, root, "on branch other")
        git(root, "checkout", "-q", "main")
        converge(srv, root, "git checkout main (40 files gone, 2 changed)")
        git(root, "checkout", "-q", "other")
        converge(srv, root, "git checkout other (40 files back)")
        write(root, "a.txt", "alpha marker uncommitted\n")
        write(root, "gen/g00.txt", "zeta changed\n")
        converge(srv, root, "uncommitted edits")
        git(root, "stash", "-q")
        converge(srv, root, "git stash")
        git(root, "stash", "pop", "-q")
        converge(srv, root, "git stash pop")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


class Querier(threading.Thread):
    """Queries in a loop until stopped; counts what did not answer 200
    done."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.stop = threading.Event()
        self.n = 0
        self.bad = []

    def run(self):
        while not self.stop.is_set():
            q = random.choice(QUERIES)
            try:
                r = self.srv.search(q, max=50, timeout=30)
                if r.status != 200 or (r.json or {}).get("status") not in ("done", "partial"):
                    self.bad.append((q, r.status, (r.json or {}).get("status")))
            except OSError as e:
                self.bad.append((q, "error", str(e)))
            self.n += 1


def churn(root, rng, ops, kill=None):
    """ops random changes: writes, creates, deletes, renames, folder moves."""
    for i in range(ops):
        files = [os.path.relpath(os.path.join(d, f), root)
                 for d, _, fs in os.walk(root) for f in fs]
        k = rng.random()
        if kill and i == ops // 2:
            kill()
        if k < 0.35 or not files:
            write(root, "c%d/f%03d.txt" % (rng.randrange(5), rng.randrange(60)),
                  "line %d\nmarker %d %s\n" % (i, i, rng.choice(["alpha", "beta", "zeta"])))
        elif k < 0.55:
            os.unlink(os.path.join(root, rng.choice(files)))
        elif k < 0.75:
            src = rng.choice(files)
            dst = "r%d/m%03d.txt" % (rng.randrange(3), i)
            os.makedirs(os.path.join(root, os.path.dirname(dst)), exist_ok=True)
            os.rename(os.path.join(root, src), os.path.join(root, dst))
        elif k < 0.85:
            d = "c%d" % rng.randrange(5)
            if os.path.isdir(os.path.join(root, d)):
                os.rename(os.path.join(root, d), os.path.join(root, "d%d" % i))
        else:
            write(root, rng.choice(files), "zeta %d\nline %d\n" % (i, i), "a")
        if rng.random() < 0.3:
            time.sleep(rng.random() * 0.02)


def churn_test(seed, kill_worker):
    tmp = base_tree("sglivechurn-")
    root = tmp.path
    srv = start(root)
    q = Querier(srv)
    try:
        converge(srv, root, "start")
        q.start()
        rng = random.Random(seed)

        def kill():
            pid = srv.stats()["shards"][1]["pid"]
            os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        churn(root, rng, 300, kill if kill_worker else None)
        took = time.monotonic() - t0
        converge(srv, root, "after 300 random changes in %.1f s" % took)
        q.stop.set()
        q.join(60)
        print("  # %d queries during the churn" % q.n)
        check(q.n > 0, "no query ran during the churn")
        if kill_worker:
            for b in q.bad:
                check(b[2] == "partial" or b[1] == 503,
                      "a query failed other than by the killed worker: %r" % (b,))
        else:
            eq(q.bad, [], "queries that failed during the churn")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        q.stop.set()
        srv.kill()


@R.test(timeout=300)
def churn_while_querying():
    churn_test(7, False)


@R.test(timeout=300)
def worker_killed_during_churn():
    churn_test(8, True)


@R.test(timeout=300)
def lost_events_are_recovered_by_a_rescan():
    tmp = base_tree("sgliveovf-")
    root = tmp.path
    srv = start(root, env={"SHARDGREP_TEST_OVERFLOW_AFTER": "10"})
    try:
        for i in range(30):  # in a watched folder: an event each
            write(root, "burst%02d.txt" % i, "marker burst %d\n" % i)
        converge(srv, root, "a burst past the (simulated) overflow")
        live = srv.stats()["live"]
        check(live["overflows"] >= 1, "no overflow counted: %r" % live)
        check("overflowed" in srv.stderr_text(), "no warning logged")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=300)
def too_few_watches_fall_back_to_rescans():
    tmp = base_tree("sglivelim-")
    root = tmp.path
    srv = start(root, "--rescan-interval", "1", env={"SHARDGREP_TEST_MAX_WATCHES": "2"})
    try:
        live = srv.stats()["live"]
        eq(live["state"], "polling", "live.state with too few watches")
        check("cannot watch" in srv.stderr_text(), "no warning about the watch limit")
        write(root, "src/deep/d.h", "zeta deep change\n")
        write(root, "docs/new.md", "marker new doc\n")
        converge(srv, root, "changes in folders not watched")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=300)
def no_watch_then_rescan_on_request():
    tmp = base_tree("sglivenw-")
    root = tmp.path
    srv = start(root, "--no-watch")
    try:
        eq(srv.stats()["live"]["state"], "off", "live.state with --no-watch")
        write(root, "a.txt", "alpha marker while not watched\n")
        time.sleep(1.0)
        got, _ = server_answer(srv, "while not watched")
        eq(got, [], "a change followed with --no-watch")
        srv.send(signal.SIGHUP)
        converge(srv, root, "SIGHUP")
        write(root, "b.txt", "beta marker for reindex\n")
        r = srv.post("/api/reindex", {})
        expect_json(r, 202, "POST /api/reindex")
        converge(srv, root, "POST /api/reindex")
        eq(srv.get("/api/reindex").status, 405, "GET /api/reindex")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=300)
def restarted_worker_loads_the_table():
    """A worker restarted after changes loads the files as they are now
    (the table's), not the start-up walk's list."""
    tmp = base_tree("sgliverestart-")
    root = tmp.path
    srv = start(root)
    try:
        write(root, "late/new.txt", "zeta marker late\n")
        os.unlink(os.path.join(root, "b.txt"))
        write(root, "a.txt", "alpha marker after\n")
        converge(srv, root, "changes before the restart")
        for shard in (0, 1):
            old = srv.stats()["shards"][shard]["pid"]
            os.kill(old, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                st = srv.stats()["shards"][shard]
                if st["pid"] != old and st["up"] and srv.get("/healthz").status == 200:
                    break
                time.sleep(0.05)
            else:
                fail("shard %d not back" % shard)
        converge(srv, root, "after both workers were restarted")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=300)
def stopped_during_a_burst():
    """SIGTERM while a burst is being applied: the server stops cleanly.
    The watchers were freed while the aggregator's thread could still
    deliver an APPLIED to them (a use after free that AddressSanitizer
    caught once in the browser suite); three tries, each stopping the
    server in the middle of applying."""
    for attempt in range(3):
        tmp = base_tree("sglivestop-")
        root = tmp.path
        srv = start(root)
        try:
            for i in range(1500):
                write(root, "burst/%02d/f%04d.txt" % (i % 30, i), "burst marker %d\n" % i)
            deadline = time.monotonic() + 30 * sgtest.SLOW
            while time.monotonic() < deadline:
                live = srv.stats()["live"]
                if live.get("applied", 0) > 0:
                    break
                time.sleep(0.01)
            check(live.get("applied", 0) > 0, "try %d: no change applied before the stop: %r"
                  % (attempt, live))
            sgtest.assert_stops_clean(srv, signal.SIGTERM, timeout=30 * sgtest.SLOW)
        finally:
            srv.kill()


@R.test(timeout=300)
def burst_to_a_stopped_worker_is_not_lost():
    """A worker stopped (SIGSTOP) while a burst comes in, its request queue
    full (the test switch SHARDGREP_TEST_QUEUE_BYTES leaves room for about
    one message): the watcher keeps what the queue cannot take and sends it
    when there is room, so once the worker goes on, every change is in.
    Sends used to give up after a second, and the changes were lost for
    good (the file table had them, so no rescan found them)."""
    tmp = base_tree("sgliveburst-")
    root = tmp.path
    names = ["burst/folder-%02d/a-rather-long-file-name-to-fill-messages-%04d.txt" % (i % 20, i)
             for i in range(800)]
    for i, rel in enumerate(names):
        write(root, rel, "line %d\nalpha %d\n" % (i, i))
    srv = start(root, "--unresponsive-ms", "600000",
                env={"SHARDGREP_TEST_QUEUE_BYTES": "40000"})
    try:
        converge(srv, root, "start")
        pid = srv.stats()["shards"][1]["pid"]
        os.kill(pid, signal.SIGSTOP)
        try:
            for r in range(4):  # a batch (a message or more per shard) each
                for i, rel in enumerate(names):
                    write(root, rel, "marker %d appended in round %d\n" % (i, r), "a")
                time.sleep(0.2)
            # Longer than a send used to wait for room.
            time.sleep(2.0 * sgtest.SLOW)
            live = srv.stats()["live"]
            check(live["pending"] > 0, "nothing pending while a worker is stopped: %r" % live)
        finally:
            os.kill(pid, signal.SIGCONT)
        converge(srv, root, "800 files appended to 4 times while a worker was stopped")
        for q in QUERIES:
            doc = srv.search_ok(q, max=10)
            eq(doc["status"], "done", "query %r after the burst" % q)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


def snapshot_server(root, idx, *args):
    srv = start(root, "--index-dir", idx, *args)
    return srv


def wait_log(srv, text, timeout=20.0):
    deadline = time.monotonic() + timeout * sgtest.SLOW
    while time.monotonic() < deadline:
        if text in srv.stderr_text():
            return
        time.sleep(0.05)
    fail("no log line with %r; log ends %r" % (text, srv.stderr_text()[-1500:]))


@R.test(timeout=300)
def restart_from_snapshots():
    """--index-dir: a restart maps each shard's snapshot back and reads
    only the files changed, added or gone since; the answers are the
    tree's."""
    tmp = base_tree("sglivesnap-")
    root = tmp.path
    idx = os.path.join(TempDir("sgliveidx-").path, "index")
    srv = snapshot_server(root, idx)
    try:
        wait_log(srv, "snapshot written")
        converge(srv, root, "first start")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()
    write(root, "a.txt", "alpha marker changed while stopped\n")
    os.unlink(os.path.join(root, "b.txt"))
    write(root, "new/n.txt", "zeta marker new while stopped\n")
    srv = snapshot_server(root, idx)
    try:
        wait_log(srv, "from its snapshot")
        log = srv.stderr_text()
        check("snapshot written" not in log, "the tree was read again: %r" % log[-800:])
        converge(srv, root, "restart from the snapshots")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=300)
def bad_snapshots_are_rebuilt():
    """A damaged, truncated or foreign snapshot is never used: the worker
    says why, reads the tree, and writes a good one."""
    tmp = base_tree("sglivebad-")
    root = tmp.path
    idx = os.path.join(TempDir("sgliveidx-").path, "index")
    srv = snapshot_server(root, idx)
    try:
        wait_log(srv, "snapshot written")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()
    snap0 = os.path.join(idx, "shard-0.snap")
    size = os.path.getsize(snap0)
    # The last byte of the file is the last byte of its last segment's
    # index postings (the middle can be padding between segments).
    cases = [
        ("a byte flipped", lambda: flip(snap0, size - 1), "does not match its checksum"),
        ("cut short", lambda: os.truncate(snap0, size - 100), "outside the file"),
        ("not a snapshot", lambda: open(snap0, "w").write("hello"), "not a snapshot"),
    ]
    for what, damage, reason in cases:
        damage()
        srv = snapshot_server(root, idx)
        try:
            wait_log(srv, "shard 0: snapshot in %s: " % idx)
            # The reason, waited for too: the log was once read with the
            # line's start in it and not yet its end.
            wait_log(srv, reason)
            converge(srv, root, "after a snapshot %s" % what)
            wait_log(srv, "shard 0: snapshot written")
            sgtest.assert_stops_clean(srv, signal.SIGTERM)
        finally:
            srv.kill()
        size = os.path.getsize(snap0)
    srv = snapshot_server(root, idx, "--max-file-size", "1M")
    try:
        wait_log(srv, "made for other trees or options")
        converge(srv, root, "after another --max-file-size")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=600)
def segments_follow_a_rewrite():
    """A shard held in many small segments (--segment-size 256K, one
    worker): rewriting every file passes the fold threshold, so segments
    are folded one at a time as the changes come; the answers stay the
    tree's, and a restart maps the segments back from --index-dir."""
    tmp = TempDir("sglivesegs-")
    root = tmp.path
    rng = random.Random(11)
    words = ["alpha", "beta", "zeta", "marker", "line", "gamma", "delta"]

    def body(i, round_):
        lines = ["line %d" % n if n % 7 == 0 else
                 " ".join(rng.choice(words) for _ in range(8)) for n in range(1400)]
        lines[i % 1400] = "marker %d round %d" % (i, round_)
        return "\n".join(lines) + "\n"
    nfiles = 150  # about 64 KB each: 9.6 MB, past the 8 MB a fold waits for
    for i in range(nfiles):
        write(root, "s%02d/f%03d.txt" % (i % 12, i), body(i, 0))
    idx = os.path.join(TempDir("sgsegidx-").path, "index")
    queries = ["marker \\d+ round 1", "zeta gamma", "^line \\d+$"]
    srv = start(root, "--workers", "1", "--segment-size", "256K", "--index-dir", idx)
    try:
        wait_log(srv, "snapshot written")
        converge(srv, root, "start", queries=queries)
        for i in range(nfiles):
            write(root, "s%02d/f%03d.txt" % (i % 12, i), body(i, 1))
        converge(srv, root, "every file rewritten", queries=queries)
        # Each fold writes the snapshot again: a second one means folds ran.
        deadline = time.monotonic() + 120 * sgtest.SLOW
        while srv.stderr_text().count("snapshot written") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        check(srv.stderr_text().count("snapshot written") >= 2,
              "no fold after every file was rewritten: %r" % srv.stderr_text()[-800:])
        converge(srv, root, "after the folds", queries=queries)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()
    write(root, "s00/f000.txt", body(0, 1) + "zeta gamma while stopped\n")
    srv = start(root, "--workers", "1", "--segment-size", "256K", "--index-dir", idx)
    try:
        wait_log(srv, "from its snapshot")
        converge(srv, root, "restart from the segments", queries=queries)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


def flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x5A]))


if __name__ == "__main__":
    R.main()
