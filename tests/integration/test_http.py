#!/usr/bin/env python3
"""The HTTP front against a hostile client, over raw sockets (issue 10:
"what a hostile probe broke", items 5 to 7).

What a client must see:
  - request smuggling primitives are refused with 400 and a closed
    connection, and nothing after them is run as another request: two
    Content-Length headers (equal or not), Content-Length with
    Transfer-Encoding, a Transfer-Encoding that does not end in one
    chunked (501 for a coding before chunked), Transfer-Encoding in
    HTTP/1.0, HTTP/1.1 without Host or with two, bare LF line ends, a
    folded header line, a space before a header's colon, a raw space in
    the request target (RFC 9112);
  - ordinary requests are not caught by that: many headers, empty and
    padded values, a cookie, keep-alive, pipelining, a chunked body;
  - a chunked request is the last on its connection (0.9.75 reads chunk
    lines ended by a bare LF, out of the server's sight);
  - a body over 64 KiB is refused with 413 and a closed connection as
    soon as that is known: a declared Content-Length before any "100
    Continue" and before any of the body is read, an endless chunked body
    once it passes the limit;
  - a request head that is still incomplete some seconds after its first
    byte, or a body after the head, gets its connection closed, however
    steadily its bytes trickle in, while other clients are answered; a
    handler waiting for a query, and a kept-alive connection that is
    merely silent, are not cut.

Every connection goes to 127.0.0.1 (or 127.0.0.2), with bounded time and
bytes; no test asserts a duration, only that the server closed or
answered within a generous bound."""

import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (HOST, Lazy, Server, check, eq, expect_json, fail)  # noqa: E402

R = sgtest.Runner("test_http")
sgtest.register_common_self_checks(R)

BODY_MAX = 64 * 1024
SRV = Lazy(lambda: Server(["--workers", "1"]).start())
R.finally_(*sgtest.stop_check(SRV, "server stops cleanly"))


# ---------------------------------------------------------------------------
# Raw exchanges


class Answer:
    """What came back on one connection: the responses parsed from the
    bytes (status, headers, body), and whether the server closed it."""

    def __init__(self, data, closed):
        self.data = data
        self.closed = closed
        self.responses = []
        rest = data
        while rest.startswith(b"HTTP/"):
            head, sep, rest = rest.partition(b"\r\n\r\n")
            if not sep:
                break
            lines = head.split(b"\r\n")
            m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
            if not m:
                break
            hdrs = {}
            for ln in lines[1:]:
                k, _, v = ln.partition(b":")
                hdrs[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
            n = int(hdrs.get("content-length", "0") or 0)
            status = int(m.group(1))
            if status < 200:
                n = 0
            if len(rest) < n:
                break  # not all of it yet
            self.responses.append((status, hdrs, rest[:n]))
            rest = rest[n:]

    @property
    def statuses(self):
        return [s for s, _, _ in self.responses]

    def __repr__(self):
        return "<statuses %s, closed %s, %r>" % (self.statuses, self.closed, self.data[:300])


def exchange(srv, data, wait=10.0, source=None):
    """Sends data on a fresh connection and reads until the server closes
    it or nothing more comes for `wait` seconds."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(wait)
    s.connect((HOST, srv.port))
    got, closed = b"", False
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
    finally:
        s.close()
    return Answer(got, closed)


def read_answer(s):
    """Reads one whole answer from a kept-alive connection."""
    data = b""
    while not Answer(data, False).responses:
        c = s.recv(65536)
        if not c:
            break
        data += c
    return Answer(data, False)


def expect_refused(a, status, code, what):
    """One answer, `status` with a JSON error `code`, Connection: close,
    and the connection closed: nothing after it was run."""
    check(a.responses, "%s: no answer (%r)" % (what, a))
    eq(a.statuses, [status], "%s: the answers on the connection (%r)" % (what, a))
    _, hdrs, body = a.responses[0]
    check(hdrs.get("content-type", "").startswith("application/json"),
          "%s: Content-Type %r" % (what, hdrs.get("content-type")))
    err = sgtest.strict_json(body).get("error", {})
    eq(err.get("code"), code, "%s: error code" % what)
    check(err.get("message"), "%s: no error message" % what)
    eq(hdrs.get("connection", "").lower(), "close", "%s: Connection header" % what)
    check(a.closed, "%s: the connection was left open after the %d" % (what, status))


def still_serving(srv, what):
    check(srv.alive(), "%s: the server died; stderr ends %r" % (what, srv.stderr_text()[-600:]))
    expect_json(srv.get("/healthz", timeout=10), 200, "/healthz after %s" % what)


QUERY = b'{"q":"kv"}'                 # 10 bytes
SECOND = b"GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n"   # smuggled


# ---------------------------------------------------------------------------
# Framing


@R.test
def two_content_lengths_refused():
    srv = SRV()
    for what, lengths in (("two different", (10, 10 + len(SECOND))),
                          ("two equal", (10, 10)),
                          ("second smaller", (10 + len(SECOND), 10))):
        head = b"POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += b"".join(b"Content-Length: %d\r\n" % n for n in lengths)
        a = exchange(srv, head + b"\r\n" + QUERY + SECOND)
        expect_refused(a, 400, "bad_request", "Content-Length %s" % what)
    still_serving(srv, "two Content-Lengths")


@R.test
def content_length_with_transfer_encoding_refused():
    srv = SRV()
    chunked = b"a\r\n" + QUERY + b"\r\n0\r\n\r\n"
    for what, hdrs in (("Content-Length first", b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"),
                       ("Transfer-Encoding first", b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"),
                       ("Content-Length 0", b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n")):
        a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n"
                     + chunked + SECOND)
        expect_refused(a, 400, "bad_request", what)
    still_serving(srv, "Content-Length with Transfer-Encoding")


@R.test
def transfer_codings_other_than_one_final_chunked():
    srv = SRV()
    chunked = b"a\r\n" + QUERY + b"\r\n0\r\n\r\n"
    for what, version, coding, status, code in (
            ("gzip alone", b"1.1", b"gzip", 400, "bad_request"),
            ("chunked then gzip", b"1.1", b"chunked, gzip", 400, "bad_request"),
            ("chunked twice", b"1.1", b"chunked, chunked", 400, "bad_request"),
            ("gzip then chunked", b"1.1", b"gzip, chunked", 501, "not_implemented"),
            ("chunked in HTTP/1.0", b"1.0", b"chunked", 400, "bad_request")):
        a = exchange(srv, b"POST /api/queries HTTP/" + version + b"\r\nHost: x\r\n"
                     b"Transfer-Encoding: " + coding + b"\r\n\r\n" + chunked + SECOND, wait=5)
        expect_refused(a, status, code, "Transfer-Encoding: %s (%s)" % (coding.decode(), what))
    a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n" + chunked, wait=5)
    expect_refused(a, 400, "bad_request", "two Transfer-Encoding headers")
    still_serving(srv, "transfer codings")


@R.test
def host_header_rules():
    srv = SRV()
    a = exchange(srv, b"GET /healthz HTTP/1.1\r\n\r\n" + SECOND)
    expect_refused(a, 400, "bad_request", "HTTP/1.1 without Host")
    a = exchange(srv, b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SECOND)
    expect_refused(a, 400, "bad_request", "two Host headers")
    a = exchange(srv, b"GET /healthz HTTP/1.0\r\n\r\n")
    eq(a.statuses, [200], "HTTP/1.0 without Host (allowed) %r" % a)


@R.test
def line_ends_and_malformed_lines_refused():
    srv = SRV()
    cases = [
        ("bare LF everywhere", b"GET /healthz HTTP/1.1\nHost: x\n\n"),
        ("bare LF after the request line", b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n"),
        ("bare LF after a header", b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n"),
        ("bare LF after an empty value", b"GET /healthz HTTP/1.1\r\nX-E:\nHost: x\r\n\r\n"),
        ("bare LF ending the head", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n"),
        ("a folded header", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-F: a\r\n b\r\n\r\n"),
        ("a space before the colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-S : y\r\n\r\n"),
        ("a CR inside a value", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-C: a\rb\r\n\r\n"),
        ("a raw space in the target", b"GET /healthz x HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("a tab in the target", b"GET /api/search?q=a\tb HTTP/1.1\r\nHost: x\r\n\r\n"),
    ]
    wrong = []
    for what, data in cases:
        a = exchange(srv, data + SECOND, wait=5)
        try:
            expect_refused(a, 400, "bad_request", what)
        except sgtest.TestFailure as e:
            wrong.append(str(e))
    if wrong:
        fail("%d of %d malformed heads not refused: %s" % (len(wrong), len(cases), "; ".join(wrong)))
    still_serving(srv, "malformed heads")


@R.test
def ordinary_requests_are_not_refused():
    """The framing checks must not catch what real clients send."""
    srv = SRV()
    many = b"".join(b"X-H%d: value %d\r\n" % (i, i) for i in range(60))
    reqs = [
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /api/search?q=kv_get&path=*.c HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n"
        b"User-Agent: test\r\nCookie: a=1; b=2\r\nX-Empty:\r\nX-Pad:   padded   \r\n"
        b"X-Tab:\tt\r\n" + many + b"\r\n",
        b"GET /api/search?q=a%20b HTTP/1.1\r\nhost: x\r\n\r\n",
        b"GET /api/search?q=kv_get+x&case=no HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10\r\n\r\n" + QUERY,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    want = [200, 200, 200, 200, 202, 200]
    # One at a time on one kept-alive connection, then all pipelined.
    s = socket.create_connection((HOST, srv.port), timeout=10)
    try:
        got = []
        for r in reqs:
            s.sendall(r)
            got.extend(read_answer(s).statuses)
        eq(got, want, "answers one by one on a kept-alive connection")
    finally:
        s.close()
    a = exchange(srv, b"".join(reqs) + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    eq(a.statuses, want + [200], "answers to the same requests pipelined")
    for what, data in (
            ("two chunks", b"Transfer-Encoding: chunked\r\n\r\n4\r\n" + QUERY[:4]
             + b"\r\n6\r\n" + QUERY[4:] + b"\r\n0\r\n\r\n"),
            ("Chunked and a trailer", b"Transfer-Encoding: Chunked\r\n\r\na\r\n" + QUERY
             + b"\r\n0\r\nX-Trailer: t\r\n\r\n")):
        a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\n" + data)
        eq(a.statuses, [202], "a chunked body, %s %r" % (what, a))
    body = b'{"q": "kv", "max": 5}' + b" " * (BODY_MAX - 21)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 5000]), body[i:i + 5000])
                      for i in range(0, len(body), 5000))
    a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
    eq(a.statuses, [202], "a chunked body of exactly 64 KiB %r" % a)


@R.test
def chunked_request_ends_its_connection():
    """libmicrohttpd 0.9.75 takes a bare LF for CRLF in chunk lines, where
    the server cannot see it: so nothing after a chunked body on the same
    connection is run as another request, whatever the body's framing."""
    srv = SRV()
    for what, body in (("well formed", b"a\r\n" + QUERY + b"\r\n0\r\n\r\n"),
                       ("bare LF after a chunk size", b"a\n" + QUERY + b"\r\n0\r\n\r\n"),
                       ("bare LF ending the last chunk", b"a\r\n" + QUERY + b"\r\n0\n\n")):
        a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                     b"chunked\r\n\r\n" + body + SECOND, wait=5)
        eq(a.statuses[1:], [], "answers after a chunked body (%s): %r" % (what, a))
        check(a.closed, "a chunked body (%s) left the connection open: %r" % (what, a))
        if a.responses:
            eq(a.responses[0][1].get("connection", "").lower(), "close",
               "Connection header after a chunked body (%s)" % what)


# ---------------------------------------------------------------------------
# Oversized bodies


@R.test
def declared_oversized_body_refused_before_100_continue():
    srv = SRV()
    a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100000000\r\nExpect: 100-continue\r\n\r\n", wait=10)
    check(not a.data.startswith(b"HTTP/1.1 100"),
          "100 Continue for a declared 100 MB body: %r" % a.data[:120])
    expect_refused(a, 413, "body_too_large", "Expect: 100-continue with 100 MB declared")
    a = exchange(srv, b"POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Length: 65537\r\n"
                 b"Expect: 100-continue\r\n\r\n", wait=10)
    expect_refused(a, 413, "body_too_large", "Expect: 100-continue with 64 KiB + 1 declared")
    still_serving(srv, "declared oversized bodies")


@R.test
def declared_oversized_body_refused_without_reading_it():
    """A client that declares 100 MB and sends a little of it gets the 413
    at once, not after the server waits for (and reads) the rest; on any
    route, not only where the API reads bodies."""
    srv = SRV()
    for path in (b"/api/queries", b"/api/stats", b"/"):
        a = exchange(srv, b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100000000\r\n\r\n" + b"a" * (256 * 1024), wait=10)
        expect_refused(a, 413, "body_too_large", "POST %s declaring 100 MB, 256 KiB sent"
                       % path.decode())
    still_serving(srv, "a declared 100 MB body")


def pump_chunked(srv, cap, seconds):
    """Sends an endless chunked body (up to cap bytes or seconds) while
    reading; (Answer, bytes sent, whether the sender was stopped by the
    server rather than by the cap)."""
    s = socket.create_connection((HOST, srv.port), timeout=seconds + 5)
    s.sendall(b"POST /api/queries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    sent = [0, False]
    done = threading.Event()

    def pump():
        t0 = time.monotonic()
        try:
            while not done.is_set() and sent[0] < cap and time.monotonic() - t0 < seconds:
                s.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            sent[1] = True
    t = threading.Thread(target=pump, daemon=True)
    t.start()
    got, closed = b"", False
    try:
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not c:
                closed = True
                break
            got += c
    finally:
        done.set()
        t.join(seconds + 5)
        s.close()
    return Answer(got, closed), sent[0], sent[1] or (closed and sent[0] < cap)


@R.test(timeout=90)
def endless_chunked_body_refused():
    srv = SRV()
    cap = 256 << 20
    a, sent, cut = pump_chunked(srv, cap, 20)
    print("  # %.1f MB sent before the server closed" % (sent / 1e6))
    expect_refused(a, 413, "body_too_large", "an endless chunked body")
    check(cut and sent < cap, "the server read the chunked body to the client's own end "
          "(%d bytes) before answering" % sent)
    still_serving(srv, "an endless chunked body")


# ---------------------------------------------------------------------------
# Deadlines


def dribble(port, first, rest, limit, source=None, every=1.0):
    """Opens a connection, sends `first`, then one byte of `rest` every
    `every` seconds; returns ("closed" | "answered" | "open", seconds)
    once the server closes or answers, or after `limit` seconds."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.settimeout(5)
    s.connect((HOST, port))
    t0 = time.monotonic()
    try:
        s.sendall(first)
        i = 0
        while time.monotonic() - t0 < limit:
            r, _, _ = select.select([s], [], [], every)
            if r:
                try:
                    data = s.recv(4096)
                except OSError:
                    return "closed", time.monotonic() - t0
                return ("answered: %r" % data[:40] if data else "closed"), time.monotonic() - t0
            try:
                s.sendall(rest[i:i + 1] or b"z")
            except OSError:
                return "closed", time.monotonic() - t0
            i += 1
        return "open", time.monotonic() - t0
    finally:
        s.close()


@R.test(timeout=90)
def slow_head_is_cut_off():
    """Four clients from two addresses send a request head a byte a second
    (never silent, so the idle timeout never fires): with the default
    deadline each is closed, and meanwhile others are answered."""
    srv = Server(["--workers", "1"]).start()
    try:
        results = {}
        threads = []
        head = b"GET /api/stats HTTP/1.1\r\nHost: x\r\n"
        for i, src in enumerate(("127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2")):
            def run(i=i, src=src):
                results[i] = dribble(srv.port, head, b"X-Slow: " + b"s" * 100, 25, src)
            t = threading.Thread(target=run, daemon=True)
            t.start()
            threads.append(t)
        answered = 0
        while any(t.is_alive() for t in threads):
            r = srv.get("/api/stats", timeout=10)
            expect_json(r, 200, "/api/stats while slow clients send their heads")
            answered += 1
            time.sleep(1)
        for t in threads:
            t.join()
        print("  # " + ", ".join("%s after %.1fs" % v for _, v in sorted(results.items()))
              + "; %d other requests answered meanwhile" % answered)
        wrong = ["client %d: %s after %.1fs" % (i, v[0], v[1])
                 for i, v in sorted(results.items()) if v[0] != "closed"]
        check(not wrong, "slow heads not cut off within 25 s: %s" % "; ".join(wrong))
        still_serving(srv, "slow heads")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=60)
def slow_body_is_cut_off():
    srv = Server(["--workers", "1", "--head-timeout", "2", "--body-timeout", "2"]).start()
    try:
        how, dt = dribble(srv.port, b"POST /api/queries HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
                          b"{" + b" " * 999, 15)
        print("  # a body sent a byte a second: %s after %.1fs" % (how, dt))
        eq(how, "closed", "a body sent a byte a second with --body-timeout 2 (%.1fs)" % dt)
        how, dt = dribble(srv.port, b"GET /api/stats HTTP/1.1\r\n", b"Host: x\r\nX-S: " + b"s" * 99,
                          15)
        eq(how, "closed", "a head sent a byte a second with --head-timeout 2 (%.1fs)" % dt)
        still_serving(srv, "slow bodies")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=90)
def waiting_and_silent_connections_are_not_cut():
    """With deadlines of 1 s: a GET that waits 4 s for a query (a worker is
    stopped, so the query cannot end sooner) is answered, a search that
    waits for its deadline too, and a kept-alive connection silent for 3 s
    still serves its next request."""
    srv = Server(["--workers", "2", "--head-timeout", "1", "--body-timeout", "1"]).start()
    worker = None
    try:
        worker = srv.stats()["shards"][0]["pid"]
        os.kill(worker, signal.SIGSTOP)
        qid = srv.post_query({"q": "kv_get"})["id"]
        s = socket.create_connection((HOST, srv.port), timeout=60)
        try:
            t0 = time.monotonic()
            s.sendall(b"GET /api/queries/" + qid.encode() + b"?wait_ms=4000 HTTP/1.1\r\n"
                      b"Host: x\r\n\r\n")
            a = read_answer(s)
            waited = time.monotonic() - t0
            eq(a.statuses, [200], "a GET waiting 4 s for a query (%.1fs)" % waited)
            eq(json.loads(a.responses[0][2]).get("status"), "running",
               "the query while its worker is stopped")
            s.sendall(b"GET /api/search?q=kv_put&timeout_ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n")
            a = read_answer(s)
            eq(a.statuses, [200], "a search waiting for its 3 s deadline")
            print("  # the GET waited %.1fs; the search %s after %.1fs"
                  % (waited, json.loads(a.responses[0][2]).get("status"),
                     time.monotonic() - t0 - waited))
            os.kill(worker, signal.SIGCONT)
            worker = None
            time.sleep(3)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            eq(read_answer(s).statuses, [200], "a request after 3 s of silence on the "
               "kept-alive connection")
        finally:
            s.close()
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        if worker:
            sgtest.kill_quietly(worker, signal.SIGCONT)
        srv.kill()


if __name__ == "__main__":
    R.main()
