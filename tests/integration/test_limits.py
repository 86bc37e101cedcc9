#!/usr/bin/env python3
"""The master's memory limits, against the real server: what it admits, what
it refuses, and that it survives when memory runs out.

What a user must see (issue "Hardening, second round"):
  - --answer-memory counts an answer by what it will be once JSON-escaped:
    a page or a file view of lines full of control bytes (each written as
    \\u0001, six bytes) is refused with 503 overloaded while other answers
    hold the budget, instead of being admitted on a sixth of its size;
  - a search refused that way has run: the 503 names its id, and the
    client pages it later without running it again;
  - one answer larger than the whole budget (a file view) still goes when
    nothing else is held, even when its JSON outgrows the file;
  - under an address-space limit (ulimit -v) with the default budgets,
    four large searches at once do not bring the master down: each gets a
    JSON answer (200, or 503 with a reason), and the server goes on.

Every client here reads with a bounded timeout; every server runs on
127.0.0.1 with a free port."""

import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (HOST, LimitedServer, wait_for, Server, TempDir, check, eq, expect_error,  # noqa: E402
                    expect_json)

R = sgtest.Runner("test_limits")
sgtest.register_common_self_checks(R)

MIB = 1 << 20



def budget_tree():
    """wide.txt: 6000 rows of 1000 bytes (about 6 MB of JSON as a page);
    ctl.txt: 1500 lines of 1000 control bytes (\\x01), 1.5 MB on disk and
    about 9 MB once escaped."""
    tmp = TempDir("sglimits-")
    with open(os.path.join(tmp.path, "wide.txt"), "w") as f:
        f.write("".join("row %05d %s\n" % (i, "x" * 990) for i in range(6000)))
    with open(os.path.join(tmp.path, "ctl.txt"), "wb") as f:
        f.write(b"".join(b"ctl %05d " % i + b"\x01" * 1000 + b"\n" for i in range(1500)))
    return tmp


class SlowReader:
    """A client that asks for a large answer and reads none of it: the
    server holds the answer in its budget until it is gone."""

    def __init__(self, srv, path):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect((HOST, srv.port))
        self.sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


def held(srv):
    return srv.stats()["memory"].get("answer_bytes") or 0


def hold_wide(srv, at_least):
    slow = SlowReader(srv, "/api/search?q=row&max=100000")
    h = wait_for(lambda: held(srv) >= at_least and held(srv), 20)
    check(h, "the slow client's answer is not held: answer_bytes %r" % held(srv))
    return slow, h


@R.test(timeout=120)
def escaped_size_is_counted():
    """With 6 MB of answer held for a slow client and --answer-memory 12M,
    a page of ctl.txt (1.5 MB of text, 9 MB of JSON) does not fit: 503.
    It was admitted on its raw size before (6 + 1.6 < 12), the budget then
    overrun by the escaping.  The same for the file view, which is checked
    on its lines once they are in (it was reserved on the file's size
    only).  Once the slow client is gone, both are served."""
    tmp = budget_tree()
    srv = Server(["--workers", "2", "--answer-memory", "12M"], root=tmp.path).start()
    slow = None
    try:
        slow, h = hold_wide(srv, 5 * MIB)
        check(h < 12 * MIB, "precondition: the held answer is under the budget (%d)" % h)
        r = srv.search("ctl", max=100000)
        expect_error(r, 503, "overloaded", "a page of control bytes over the budget")
        r = srv.files("ctl.txt")
        expect_error(r, 503, "overloaded", "a file view of control bytes over the budget")
        eq(srv.search_ok("row 00042")["stats"]["matched_lines"], 1, "a small answer still goes")
        print("  # held %.1f MB; ctl.txt refused as a page and as a file view" % (h / 1e6))
        slow.close()
        check(wait_for(lambda: held(srv) == 0, 20), "answer_bytes once the slow client left")
        page = srv.search_ok("ctl", max=100000)
        eq(page["stats"]["returned"], 1500, "the page once there is room")
        r = srv.files("ctl.txt")
        expect_json(r, 200, "the file view once there is room")
        eq(r.json["line_count"], 1500, "its lines")
        check(len(r.body) > 8 * MIB, "the file view is %d bytes: escaping not as assumed"
              % len(r.body))
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        if slow:
            slow.close()
        srv.kill()


@R.test(timeout=120)
def refused_search_keeps_its_id():
    """GET /api/search refused by the answer budget has already run in
    full: the 503 names its id, and paging that id once there is room gives
    the results without running the search again."""
    tmp = budget_tree()
    srv = Server(["--workers", "2", "--answer-memory", "4M"], root=tmp.path).start()
    slow = None
    try:
        slow, _ = hold_wide(srv, 4 * MIB)
        before = srv.stats()["queries"]["total"]
        r = srv.search("row", max=100000, path="wide.txt")
        expect_error(r, 503, "overloaded", "a second large page")
        qid = r.json["error"].get("id")
        check(isinstance(qid, str) and len(qid) == 32, "the 503 names no query id: %r"
              % r.json["error"])
        check(qid in r.json["error"]["message"], "the message does not say where to find it: %r"
              % r.json["error"]["message"])
        slow.close()
        check(wait_for(lambda: held(srv) == 0, 20), "answer_bytes once the slow client left")
        d = srv.get("/api/queries/" + qid, {"offset": 5990, "limit": 100})
        expect_json(d, 200, "GET the kept id")
        eq((d.json["status"], d.json["stats"]["matched_lines"], len(d.json["results"])),
           ("done", 6000, 10), "the kept query, its last page")
        eq(d.json["results"][-1]["line"], 6000, "its last result")
        eq(srv.stats()["queries"]["total"], before + 1, "queries run (none again)")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        if slow:
            slow.close()
        srv.kill()


@R.test(timeout=120)
def file_larger_than_the_budget_alone():
    """A file view larger than all of --answer-memory goes when nothing else
    is held, even once its JSON (many short lines, quotes escaped) turns
    out larger than the file: it was admitted on the file's size, then
    refused on the difference, for the room it held itself ("hold 0 MiB",
    for ever)."""
    tmp = TempDir("sglimits-")
    with open(os.path.join(tmp.path, "many.txt"), "w") as f:
        f.write("".join('line %06d "q"\n' % i for i in range(300000)))
    srv = Server(["--workers", "2", "--answer-memory", "1M"], root=tmp.path).start()
    try:
        eq(held(srv), 0, "answer_bytes at rest")
        r = srv.files("many.txt")
        expect_json(r, 200, "a 4.8 MB file view, alone, with --answer-memory 1M")
        eq(r.json["line_count"], 300000, "its lines")
        eq(r.json["lines"][-1], 'line 299999 "q"', "its last line")
        check(len(r.body) > os.path.getsize(os.path.join(tmp.path, "many.txt")) + 64 * 1024,
              "the view is %d bytes: not larger than the file as assumed" % len(r.body))
        check(wait_for(lambda: held(srv) == 0, 20), "answer_bytes once it was sent")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=300, bare=True)
def large_searches_under_ulimit_v():
    """Four large searches at once, the server under ulimit -v with its
    default budgets (sized from the limit): the master used to abort when
    an allocation failed.  Now every client gets a JSON answer (200, or
    503 overloaded / out_of_memory), and the server is still whole after."""
    tmp = TempDir("sgulimit-")
    line = "big %s\n" % ("y" * 1500)
    for k in range(6):  # 36 MB of text, about 110 MB of JSON with context=2
        with open(os.path.join(tmp.path, "big%d.txt" % k), "w") as f:
            for i in range(4000 * k, 4000 * (k + 1)):
                f.write("%06d " % i + line)
    srv = LimitedServer(640 * MIB, ["--workers", "2"], root=tmp.path).start()
    try:
        answers = [None] * 4

        def one(i):
            try:
                r = srv.search("big", timeout=120, max=100000, context=2)
                answers[i] = (r.status, (r.json or {}).get("status")
                              or ((r.json or {}).get("error") or {}).get("code"))
            except OSError as e:
                answers[i] = ("no answer", str(e))
        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(150)
        print("  # answers: %r" % answers)
        check(srv.alive(), "the server died; log ends %r" % srv.stderr_text()[-1500:])
        for st in answers:
            check(st and (st[0] == 200 or (st[0] == 503 and st[1] in
                                              ("overloaded", "out_of_memory"))),
                  "an answer that is neither 200 nor a 503 with a reason: %r" % (st,))
        check(any(st[0] == 200 for st in answers), "no search was served at all: %r" % answers)
        eq(srv.get("/healthz").status, 200, "/healthz after")
        eq(srv.search_ok("000042", literal=1)["stats"]["matched_lines"], 1, "a search after")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


if __name__ == "__main__":
    R.main()
