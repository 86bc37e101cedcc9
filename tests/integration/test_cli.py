#!/usr/bin/env python3
"""Command line of shardgrep: --help, --version, bad options and values
(exit 2, one line on stderr), --port 0 and a fixed port, --workers,
--max-file-size, --no-ignore, --bind, --timeout-ms, the default DIR.

Start-up (issue 9, item 4; issue 10, item 10): a port in use, a bind
name that does not resolve or an address this host does not have fail
at once, with the system's reason, before the tree is loaded; --bind
takes a name (localhost) and ::1, and warns about a missing --token only
for a non-loopback address; the workers do not hold the listening
socket; started with descriptors 0 to 2 closed, the server holds them
with /dev/null instead of letting its sockets take them."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (CORPUS, Corpus, Server, TempDir, check, eq, expect_error,  # noqa: E402
                    expect_json, fail, run_cli)

R = sgtest.Runner("test_cli")
sgtest.register_common_self_checks(R)

OPTIONS = ["--port", "--bind", "--workers", "--max-file-size", "--no-ignore",
           "--web-root", "--keep-queries", "--keep-seconds", "--keep-memory",
           "--query-memory", "--answer-memory", "--timeout-ms",
           "--max-running", "--max-queued", "--max-connections",
           "--max-connections-per-ip", "--head-timeout", "--body-timeout",
           "--token", "--help", "--version"]


@R.test
def help_mentions_every_option():
    code, out, err = run_cli(["--help"])
    eq(code, 0, "exit status of --help")
    missing = [o for o in OPTIONS if o not in out]
    check(not missing, "--help output (stdout) does not mention %s; it was: %r"
          % (missing, out[:1500]))


@R.test
def version_prints_one_line():
    code, out, err = run_cli(["--version"])
    eq(code, 0, "exit status of --version")
    lines = out.splitlines()
    eq(len(lines), 1, "number of lines of --version on stdout (%r)" % out)
    check("shardgrep" in lines[0] and re.search(r"\d+\.\d+", lines[0]),
          "--version line should name shardgrep and a version: %r" % lines[0])


def _bad(args, why):
    def t():
        code, out, err = run_cli(args, timeout=10)
        if code is None:
            fail("%s: still running after 10s (it should refuse to start); "
                 "stdout %r" % (why, out[:200]))
        eq(code, 2, "exit status for %s (%s)" % (args, why))
        lines = [l for l in err.splitlines()]
        eq(len(lines), 1, "lines on stderr for %s (stderr %r)" % (args, err))
        check(lines[0].strip(), "empty error line for %s" % (args,))
        check("listening" not in out, "printed %r for %s" % (out, args))
    t.__name__ = "rejects_" + why
    R.test(t)


def _not_a_dir():
    return os.path.join(CORPUS, "README.md")


_bad(["--bogus-option", CORPUS], "unknown_option")
_bad(["-Z", CORPUS], "unknown_short_option")
_bad(["--workers", "0", CORPUS], "workers_0")
_bad(["--workers", "abc", CORPUS], "workers_abc")
_bad(["--workers", "-2", CORPUS], "workers_negative")
_bad(["--port", "70000", CORPUS], "port_70000")
_bad(["--port", "-1", CORPUS], "port_negative")
_bad(["--port", "80x", CORPUS], "port_trailing_garbage")
_bad(["--max-file-size", "x", CORPUS], "max_file_size_x")
_bad(["--max-file-size", "10Q", CORPUS], "max_file_size_bad_suffix")
_bad(["--keep-queries", "abc", CORPUS], "keep_queries_abc")
_bad(["--keep-seconds", "x", CORPUS], "keep_seconds_x")
_bad(["--timeout-ms", "abc", CORPUS], "timeout_ms_abc")
_bad(["--max-connections", "0", CORPUS], "max_connections_0")
_bad(["--keep-memory", "lots", CORPUS], "keep_memory_lots")
_bad(["--query-memory", "100K", CORPUS], "query_memory_under_1m")
_bad(["--answer-memory", "2000G", CORPUS], "answer_memory_over_1024g")
_bad(["--keep-memory", "64M", "--query-memory", "128M", CORPUS], "query_memory_over_keep_memory")
_bad(["--max-connections-per-ip", "-1", CORPUS], "max_connections_per_ip_negative")
_bad(["--max-connections-per-ip", "lots", CORPUS], "max_connections_per_ip_lots")
_bad(["--head-timeout", "0", CORPUS], "head_timeout_0")
_bad(["--body-timeout", "3601", CORPUS], "body_timeout_over_an_hour")
_bad([CORPUS, "--workers"], "workers_missing_value")
_bad([os.path.join(CORPUS, "no-such-dir-here")], "nonexistent_dir")
_bad([_not_a_dir()], "dir_is_a_file")


@R.test
def port_0_prints_real_port_and_serves():
    srv = Server(["--workers", "2"]).start()
    try:
        eq(srv.listen_host, "127.0.0.1", "host in the listening line")
        check(0 < srv.port < 65536, "port %d out of range" % srv.port)
        r = srv.get("/healthz")
        expect_json(r, 200, "GET /healthz on the printed port")
        check(re.search(r"\d", srv.stderr_text()),
              "no load figures logged on stderr: %r" % srv.stderr_text()[:300])
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
        eq(srv.stdout_lines, [srv.listen_line],
           "stdout of the whole run (exactly one line)")
    finally:
        srv.kill()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@R.test
def fixed_port_and_bind():
    port = _free_port()
    srv = Server(["--bind", "127.0.0.1", "--workers", "1"], port=port).start()
    try:
        eq(srv.port, port, "port in the listening line")
        eq(srv.listen_host, "127.0.0.1", "host in the listening line")
        expect_json(srv.get("/healthz"), 200, "GET /healthz")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


# What the server logs once it walks and loads the tree.
LOAD_LINES = re.compile(r"serving .*files to load|loaded \d+ files|shard \d+ \(pid")


def _fails_before_loading(args, what, reason):
    """Starting with args fails: non-zero exit, one error line matching
    the regex `reason`, nothing loaded, nothing listened."""
    code, out, err = run_cli(args + ["--workers", "1", CORPUS], timeout=20)
    check(code is not None, "%s: still running after 20s; stderr %r" % (what, err[-500:]))
    check(code != 0, "%s: exit status 0; stderr %r" % (what, err[-500:]))
    check("listening" not in out, "%s: it listened: %r" % (what, out))
    check(not LOAD_LINES.search(err), "%s: it walked or loaded the tree before failing: %r"
          % (what, err[-800:]))
    check(re.search(reason, err), "%s: stderr does not give the reason (%s): %r"
          % (what, reason, err))
    print("  # %s: exit %d, %s" % (what, code, err.strip()))


@R.test
def port_in_use_fails_before_loading():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        _fails_before_loading(["--port", str(port)], "port %d in use" % port,
                              r"cannot listen on 127\.0\.0\.1 port %d: Address already in use"
                              % port)
    finally:
        taken.close()


@R.test
def bind_name_that_does_not_resolve_fails_before_loading():
    _fails_before_loading(["--port", "0", "--bind", "no-such-host.invalid"],
                          "--bind no-such-host.invalid",
                          r"cannot listen on no-such-host\.invalid: \S")


@R.test
def bind_address_not_on_this_host_fails_before_loading():
    # 192.0.2.1 is TEST-NET-1: never a local address.
    _fails_before_loading(["--port", "0", "--bind", "192.0.2.1"], "--bind 192.0.2.1",
                          r"cannot listen on 192\.0\.2\.1 port 0: Cannot assign requested "
                          r"address")


def _serves_at(args, addr, host_in_line):
    """Starts with args; the listening line names host_in_line, /healthz
    answers at addr, and nothing warns about --token."""
    srv = Server(args + ["--workers", "1"], wait_healthy=False).start()
    try:
        eq(srv.listen_host, host_in_line, "host in the listening line")
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _ = sgtest.http_get(addr, srv.port)
                if status == 200 or time.monotonic() > deadline:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
        eq(status, 200, "GET /healthz at %s port %d" % (addr, srv.port))
        check("warning" not in srv.stderr_text(),
              "a warning for a loopback bind (%s): %r" % (args, srv.stderr_text()))
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def bind_localhost_works_as_a_name():
    infos = socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    check(infos, "precondition: localhost resolves")
    # Of several addresses the server takes the first this host has.
    usable = []
    for fam, _, _, _, sa in infos:
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as t:
                t.bind((sa[0], 0))
            usable.append(sa[0])
        except OSError:
            continue
    check(usable, "precondition: no address of localhost can be bound here: %r" % infos)
    _serves_at(["--bind", "localhost"], usable[0], "localhost")


@R.test
def bind_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t:
            t.bind(("::1", 0))
    except OSError as e:
        fail("precondition: this host cannot bind ::1 (%s)" % e)
    _serves_at(["--bind", "::1"], "::1", "[::1]")


def _listening_inode(pid, port):
    found = sgtest.listening_sockets(pid, port)
    return found[0][2] if found else None
    return None


def _holds_socket(pid, inode):
    want = "socket:[%s]" % inode
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == want:
                return True
        except OSError:
            continue
    return False


@R.test
def workers_do_not_hold_the_listening_socket():
    """The socket is bound before the workers are forked; a worker that
    kept it would keep the port when the master is gone."""
    srv = Server(["--workers", "2"]).start()
    try:
        inode = _listening_inode(srv.proc.pid, srv.port)
        check(inode, "precondition: the listening socket of port %d not found" % srv.port)
        check(_holds_socket(srv.proc.pid, inode), "precondition: the master does not hold "
              "socket %s" % inode)
        pids = [s["pid"] for s in srv.stats()["shards"]]
        held = [p for p in pids if _holds_socket(p, inode)]
        eq(held, [], "workers holding the listening socket")
        os.kill(pids[0], signal.SIGKILL)
        new = _restarted(srv, 0, pids[0])
        check(not _holds_socket(new, inode), "the restarted worker %d holds the listening "
              "socket" % new)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


def _restarted(srv, shard, old_pid, within=30):
    """Waits until shard is up again under another pid than old_pid (the
    master sees a death only once it takes the SIGCHLD); that pid."""
    deadline = time.monotonic() + within * sgtest.SLOW
    while time.monotonic() < deadline:
        s = srv.stats()["shards"][shard]
        if s["up"] and s["pid"] != old_pid:
            return s["pid"]
        time.sleep(0.1)
    fail("shard %d not back under a new pid %.0fs after its worker %d was killed"
         % (shard, within, old_pid))


def _fd_targets(pid, fds=(0, 1, 2)):
    out = {}
    for fd in fds:
        try:
            out[fd] = os.readlink("/proc/%d/fd/%d" % (pid, fd))
        except OSError:
            out[fd] = None
    return out


@R.test(timeout=90, plain=True)
def started_with_stdin_and_stderr_closed():
    """Descriptor 2 closed at start became the workers' result socket, and
    log lines went into it.  Now 0 and 2 are /dev/null in the master and
    every worker, searches are right, a killed worker (which logs) comes
    back, and SIGTERM stops it all."""
    want = len(Corpus().search("kv_get"))
    srv = Server(["--workers", "2"], closed_fds=(0, 2)).start()
    try:
        pids = [srv.proc.pid] + [s["pid"] for s in srv.stats()["shards"]]
        for pid in pids:
            fds = _fd_targets(pid)
            eq((fds[0], fds[2]), ("/dev/null", "/dev/null"),
               "descriptors 0 and 2 of %s %d (all: %r)"
               % ("the master" if pid == srv.proc.pid else "worker", pid, fds))
        eq(srv.search_ok("kv_get")["stats"]["matched_lines"], want, "kv_get lines")
        os.kill(pids[1], signal.SIGKILL)
        new = _restarted(srv, 0, pids[1])
        expect_json(srv.get("/healthz"), 200, "/healthz once shard 0 is back")
        eq(srv.search_ok("kv_get")["stats"]["matched_lines"], want, "kv_get lines after it")
        eq(_fd_targets(new, (2,)), {2: "/dev/null"}, "descriptor 2 of the restarted worker")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=60)
def started_with_all_standard_descriptors_closed():
    port = _free_port()
    p = subprocess.Popen([sgtest.BIN, "--port", str(port), "--workers", "1", CORPUS],
                         preexec_fn=lambda: [os.close(fd) for fd in (0, 1, 2)])
    try:
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and p.poll() is None:
            try:
                status, _ = sgtest.http_get("127.0.0.1", port)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        eq(status, 200, "/healthz of a server started with 0, 1 and 2 closed (exit %s)"
           % p.poll())
        eq(_fd_targets(p.pid), {0: "/dev/null", 1: "/dev/null", 2: "/dev/null"},
           "descriptors 0 to 2 of the master")
        status, body = sgtest.http_get("127.0.0.1", port, "/api/search?q=kv_get")
        eq(status, 200, "a search")
        p.send_signal(signal.SIGTERM)
        eq(p.wait(15), 0, "exit status after SIGTERM")
    finally:
        if p.poll() is None:
            kids = sgtest.children_of(p.pid)
            p.kill()
            p.wait()
            for pid in kids:
                sgtest.kill_quietly(pid)


def _workers_case(n):
    def t():
        srv = Server(["--workers", str(n)]).start()
        try:
            st = srv.stats()
            shards = st.get("shards")
            check(isinstance(shards, list), "stats.shards not a list: %r" % st)
            eq(len(shards), n, "number of shards in /api/stats")
            eq(sorted(s.get("shard") for s in shards), list(range(n)),
               "shard numbers")
            pids = [s.get("pid") for s in shards]
            eq(len(set(pids)), n, "distinct worker pids %r" % pids)
            kids = sgtest.children_of(srv.proc.pid)
            for p in pids:
                check(p in kids, "worker pid %r is not a child of the server "
                      "%d (children %r)" % (p, srv.proc.pid, sorted(kids)))
            check(all(s.get("up") is True for s in shards),
                  "a shard is not up: %r" % shards)
            h = srv.get("/healthz")
            expect_json(h, 200, "GET /healthz")
            eq(h.json.get("shards_total"), n, "healthz shards_total")
            eq(h.json.get("shards_up"), n, "healthz shards_up")
            sgtest.assert_stops_clean(srv, signal.SIGTERM)
        finally:
            srv.kill()
    t.__name__ = "workers_%d_gives_%d_shards" % (n, n)
    R.test(t)


_workers_case(1)
_workers_case(3)


@R.test
def max_file_size_with_suffix():
    tmp = TempDir()
    files = {"small.txt": b"size_marker small\n",
             "exact.txt": (b"size_marker exact\n" + b"x" * 1024)[:1023] + b"\n",
             "over.txt": (b"size_marker over\n" + b"x" * 1024)[:1024] + b"\n",
             "big/two_k.txt": b"size_marker two_k\n" + b"y" * 2048 + b"\n"}
    for rel, data in files.items():
        full = os.path.join(tmp.path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    eq(os.path.getsize(os.path.join(tmp.path, "exact.txt")), 1024, "setup")
    srv = Server(["--max-file-size", "1K", "--workers", "2"],
                 root=tmp.path).start()
    try:
        st = srv.stats()
        eq(st.get("files"), 2, "files indexed with --max-file-size 1K "
           "(small.txt and the 1024-byte exact.txt)")
        eq((st.get("skipped") or {}).get("too_large"), 2,
           "skipped.too_large with --max-file-size 1K")
        doc = srv.search_ok("size_marker")
        eq(sorted(r["path"] for r in doc["results"]),
           ["exact.txt", "small.txt"], "files that match size_marker")
        expect_error(srv.files("over.txt"), 404, "not_found",
                     "GET /api/files/over.txt (too large)")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()
    srv = Server(["--max-file-size", "2M", "--workers", "1"],
                 root=tmp.path).start()
    try:
        eq(srv.stats().get("files"), 4, "files indexed with --max-file-size 2M")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def no_ignore_indexes_ignored_files():
    want = Corpus(no_ignore=True)
    srv = Server(["--no-ignore", "--workers", "2"]).start()
    try:
        st = srv.stats()
        eq(st.get("files"), len(want.files),
           "files indexed with --no-ignore (expected: %d non-binary files)"
           % len(want.files))
        doc = srv.search_ok("ignored_marker", max=100000)
        expected = sorted({p for p, _, _, _ in want.search("ignored_marker")})
        got = sorted({r["path"] for r in doc["results"]})
        eq(got, expected, "files with ignored_marker under --no-ignore")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def default_dir_is_bundled_corpus():
    """--help says DIR defaults to the bundled sample-corpus: started from an
    unrelated directory without DIR, the server indexes that corpus."""
    tmp = TempDir()
    with open(os.path.join(tmp.path, "here.txt"), "w") as f:
        f.write("cwd_marker one\n")
    srv = Server(["--workers", "1"], root="", cwd=tmp.path).start()
    try:
        eq(srv.stats().get("files"), len(Corpus().files),
           "files indexed when DIR is left out")
        eq(srv.search_ok("cwd_marker")["results"], [],
           "the current directory is not what is served")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def timeout_ms_caps_query_deadline():
    srv = Server(["--timeout-ms", "5000", "--workers", "1"]).start()
    try:
        doc = srv.search_ok("kv", timeout_ms=5000)
        eq(doc.get("query", {}).get("timeout_ms"), 5000, "query.timeout_ms")
        doc = srv.search_ok("kv")
        eq(doc.get("query", {}).get("timeout_ms"), 5000,
           "query.timeout_ms defaults to --timeout-ms")
        expect_error(srv.search("kv", timeout_ms=5001), 400, "bad_parameter",
                     "timeout_ms above --timeout-ms", param="timeout_ms")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.self_check
def man_pages_keep_their_quotes():
    """groff takes a '"' in the argument of a font macro (.B, .I, .BR ...)
    as argument quoting, and it vanishes from the page: the error example
    {"error": {"code": ...}} lost its quotes that way.  Write such text
    inline (\\fB...\\fR) instead."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pages = sorted(n for n in os.listdir(root) if re.fullmatch(r"[\w.-]+\.[1-8]", n))
    check(pages, "no man page found in %s" % root)
    for name in pages:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                # JSON in a macro's arguments: its quotes open and close
                # groff arguments (", " between alternating fonts is meant).
                if re.match(r"\.(B|I|SM|SB|BI|BR|IB|IR|RB|RI)\s", line) and re.search(
                        r'[{\[,:]\s*"|"\s*:', line.replace('", "', "")):
                    check(False, "%s:%d: a quote a macro will eat: %s" % (name, n, line.strip()))


if __name__ == "__main__":
    R.main()
