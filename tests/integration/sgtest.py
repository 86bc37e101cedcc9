"""Shared helpers for the shardgrep integration tests.

The tests start the real binary on a free port (--port 0), read the port back
from its one line on stdout, and talk HTTP to it on 127.0.0.1 only.  Expected
answers are never taken from the server: they are computed here, from the
files on disk, with independent tools (ripgrep for the ignore rules, GNU grep
for matching, Python's re for byte ranges).

Environment:
  SHARDGREP_BIN     the server binary (default ../../src/shardgrep)
  SHARDGREP_CORPUS  the corpus served (default ../../sample-corpus)

Each test script builds a Runner, registers tests with @R.test, and calls
R.main(), which ends the process: the last line it prints is "N passed, N
failed", and its exit status is 0 only if nothing failed.  Every server a
script starts is stopped when the script ends, even on failure or Ctrl-C.
"""

import atexit
import http.client
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("SHARDGREP_BIN") or os.path.normpath(
    os.path.join(HERE, "..", "..", "src", "shardgrep"))
CORPUS = os.environ.get("SHARDGREP_CORPUS") or os.path.normpath(
    os.path.join(HERE, "..", "..", "sample-corpus"))
HOST = "127.0.0.1"
# SG_WRAP runs every server under a tool (tests/valgrind sets it to a
# valgrind command line); SG_SLOW scales the start-up wait to match.
WRAP = shlex.split(os.environ.get("SG_WRAP", ""))
SLOW = float(os.environ.get("SG_SLOW", "1") or 1)
START_TIMEOUT = 30.0 * SLOW
LISTEN_RE = re.compile(r"^listening on http://([^/\s]+):(\d+)$")
VCS_DIRS = {".git", ".hg", ".svn"}

# The pattern used for "heavy" queries: on words of 18 letters it backtracks
# a few thousand times per start position, so a few MB of such lines keep the
# workers busy for seconds, without ever reaching PCRE2's match limit.  Each
# heavy line ends in " ;" so a ';' is always present (no required-character
# short cut) but the pattern cannot match it; only the "end;" lines match.
HEAVY_Q = r"(\w|\w\w)+;"


# ---------------------------------------------------------------------------
# Assertions


class TestFailure(AssertionError):
    pass


def _short(v, limit=600):
    s = repr(v)
    if len(s) > limit:
        s = s[: limit // 2] + " ... " + s[-limit // 2:]
    return s


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %s, got %s"
                          % (what, _short(expected), _short(actual)))


def fail(msg):
    raise TestFailure(msg)


def set_diff(actual, expected, what, limit=10):
    """Fails listing what is missing from and extra in `actual`."""
    actual, expected = set(actual), set(expected)
    if actual == expected:
        return
    missing = sorted(expected - actual)[:limit]
    extra = sorted(actual - expected)[:limit]
    raise TestFailure("%s differ: %d missing %s; %d extra %s"
                      % (what, len(expected - actual), _short(missing),
                         len(actual - expected), _short(extra)))


# ---------------------------------------------------------------------------
# Strict JSON


class JSONProblem(ValueError):
    pass


def _pairs_no_dup(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise JSONProblem("duplicate key %r" % k)
        seen.add(k)
    return dict(pairs)


def _no_constants(name):
    raise JSONProblem("non-standard constant %s" % name)


def _check_strings(v, where="$"):
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise JSONProblem("string at %s holds a lone surrogate: %r"
                              % (where, v[:80]))
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_strings(k, where)
            _check_strings(x, where + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _check_strings(x, "%s[%d]" % (where, i))


def strict_json(body):
    """Parses bytes as JSON the way a strict client would: UTF-8 only, no
    duplicate keys, no NaN, no lone surrogates."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JSONProblem("body is not UTF-8: %s" % e)
    try:
        v = json.loads(text, object_pairs_hook=_pairs_no_dup,
                       parse_constant=_no_constants)
    except ValueError as e:
        raise JSONProblem("body is not JSON: %s; body starts %r"
                          % (e, text[:200]))
    _check_strings(v)
    return v


# ---------------------------------------------------------------------------
# Processes


def proc_stat(pid):
    """(state, ppid, starttime) of a process, or None if it does not exist."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def children_of(pid):
    """{child pid: starttime} of the live children of pid."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[1] == pid:
            out[int(name)] = st[2]
    return out


def same_process(pid, starttime):
    """The state letter of pid if it is still the process that had this
    start time (Z for a zombie), else None."""
    st = proc_stat(pid)
    if st is None or st[2] != starttime:
        return None
    return st[0]


def set_child_subreaper():
    """Orphaned descendants (workers whose master died) are re-parented to
    this process instead of PID 1, so they can be seen and reaped here."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:
        return False


def reap_pid(pid):
    """Reaps pid if it is a zombie child of ours; True if reaped."""
    try:
        got, _ = os.waitpid(pid, os.WNOHANG)
        return got == pid
    except ChildProcessError:
        return False


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# ---------------------------------------------------------------------------
# Server

_live_servers = []


class ServerStartError(Exception):
    pass


class Resp:
    """An HTTP answer: unpacks as (status, headers, json)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.content_type = headers.get("content-type", "")
        self.json = None
        self.json_error = None
        if self.content_type.split(";")[0].strip() == "application/json":
            try:
                self.json = strict_json(body)
            except JSONProblem as e:
                self.json_error = str(e)

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.content_type, self.body[:300])


def quote_path(p):
    return urllib.parse.quote(p, safe="/")


def encode_params(params):
    items = []
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "1" if v else "0"
        items.append((k, str(v)))
    return urllib.parse.urlencode(items, quote_via=urllib.parse.quote)


class Server:
    """One shardgrep process: Server(args, root).start() ... stop()."""

    def __init__(self, args=(), root=None, start_timeout=START_TIMEOUT,
                 wait_healthy=True, port=0, cwd=None, closed_fds=()):
        self.args = list(args)
        self.closed_fds = tuple(closed_fds)  # of 0, 2: started with them closed
        self.root = root if root is not None else CORPUS
        self.port_arg = port
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.wait_healthy = wait_healthy
        self.proc = None
        self.port = None
        self.listen_line = None
        self.stdout_lines = []
        self.descendants = {}
        self._stderr = None
        self._line_event = threading.Event()
        self.exit_code = None

    # -- life cycle -------------------------------------------------------

    def command(self):
        cmd = WRAP + [BIN, "--port", str(self.port_arg)] + self.args
        if WRAP and not any(a.startswith("--unresponsive-ms") for a in self.args):
            # Under valgrind a worker's step can take seconds: do not take
            # a slow worker for a hung one.
            cmd[len(WRAP) + 3:len(WRAP) + 3] = ["--unresponsive-ms", "600000"]
        if self.root:
            cmd.append(self.root)
        return cmd

    def start(self):
        if not os.path.isfile(BIN) or not os.access(BIN, os.X_OK):
            raise ServerStartError("server binary not found: %s" % BIN)
        self._stderr = tempfile.TemporaryFile()
        closed = self.closed_fds

        def close_fds():
            for fd in closed:
                os.close(fd)
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, cwd=self.cwd,
            stdout=subprocess.PIPE, stderr=self._stderr,
            preexec_fn=close_fds if closed else None)
        _live_servers.append(self)
        threading.Thread(target=self._read_stdout, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not self._line_event.wait(0.05):
            if self.proc.poll() is not None:
                self._line_event.wait(0.5)
                if self.listen_line is None:
                    raise ServerStartError(
                        "server exited with %s before listening; stderr: %s"
                        % (self.proc.returncode, self.stderr_text()[-2000:]))
            if time.monotonic() > deadline:
                self.kill()
                raise ServerStartError(
                    "no 'listening on' line within %.0fs; stderr: %s"
                    % (self.start_timeout, self.stderr_text()[-2000:]))
        if self.listen_line is None:  # stdout ended without a line
            self.wait(5)
            raise ServerStartError(
                "server closed its stdout before listening (exit %s); stderr: %s"
                % (self.proc.poll(), self.stderr_text()[-2000:]))
        m = LISTEN_RE.match(self.listen_line)
        if not m:
            self.kill()
            raise ServerStartError("first stdout line is %r, not 'listening "
                                   "on http://HOST:PORT'" % self.listen_line)
        self.listen_host, self.port = m.group(1), int(m.group(2))
        self.base = "http://%s:%d" % (HOST, self.port)
        self.note_descendants()
        if self.wait_healthy:
            self._wait_healthy(deadline)
        return self

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            if self.listen_line is None:
                self.listen_line = line
                self._line_event.set()
        self._line_event.set()

    def _wait_healthy(self, deadline):
        last = None
        while time.monotonic() < deadline:
            try:
                r = self.request("GET", "/healthz", timeout=5)
                if r.status == 200:
                    self.note_descendants()
                    return
                last = r
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise ServerStartError("/healthz not 200 within %.0fs: %r"
                               % (self.start_timeout, last))

    def note_descendants(self):
        """Remembers the current children (workers) so that cleanup can end
        them by pid even if the master is gone."""
        if self.proc and self.proc.poll() is None:
            for pid, st in children_of(self.proc.pid).items():
                self.descendants[pid] = st
        return self.descendants

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        if not self._stderr:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def send(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            self.exit_code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def stop(self, sig=signal.SIGTERM, timeout=10.0, expect_code=0):
        """Signals the server and waits; asserts it exits with expect_code
        within timeout.  Kills it (and its workers) if it does not."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.note_descendants()
            self.proc.send_signal(sig)
        code = self.wait(timeout)
        if code is None:
            self.kill()
            fail("server did not exit within %.0fs of %s"
                 % (timeout, signal.Signals(sig).name))
        self._forget()
        if expect_code is not None:
            eq(code, expect_code, "exit status after %s"
               % signal.Signals(sig).name)
        return code

    def kill(self):
        """Ends the master and every worker seen, by pid, no questions."""
        if self.proc is None:
            return
        self.note_descendants()
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._end_descendants()
        self._forget()

    def _end_descendants(self):
        for pid, st in self.descendants.items():
            if same_process(pid, st):
                kill_quietly(pid)
        for pid in self.descendants:
            reap_pid(pid)

    def _forget(self):
        if self in _live_servers:
            _live_servers.remove(self)

    # -- HTTP ---------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)) or (
                    body is not None and not isinstance(body, (bytes, str))):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            h = {}
            for k, v in r.getheaders():
                k = k.lower()
                h[k] = h[k] + ", " + v if k in h else v
            return Resp(r.status, h, data)
        finally:
            conn.close()

    def get(self, path, params=None, timeout=30):
        if params:
            path += ("&" if "?" in path else "?") + encode_params(params)
        return self.request("GET", path, timeout=timeout)

    def post(self, path, obj, timeout=30):
        return self.request("POST", path, body=obj, timeout=timeout)

    def delete(self, path, timeout=30):
        return self.request("DELETE", path, timeout=timeout)

    def search(self, q, timeout=60, **params):
        params = dict(params)
        params["q"] = q
        return self.get("/api/search", params, timeout=timeout)

    def search_ok(self, q, timeout=60, **params):
        """GET /api/search; asserts 200, JSON, status done; the document."""
        r = self.search(q, timeout=timeout, **params)
        expect_json(r, 200, "search %r %r" % (q, params))
        eq(r.json.get("status"), "done", "status of search %r %r" % (q, params))
        return r.json

    def stats(self):
        r = self.get("/api/stats")
        expect_json(r, 200, "GET /api/stats")
        return r.json

    def files(self, rel):
        return self.get("/api/files/" + quote_path(rel))

    def post_query(self, body):
        r = self.post("/api/queries", body)
        expect_json(r, 202, "POST /api/queries %r" % (body,))
        return r.json

    def wait_query(self, qid, wait_ms=30000, timeout=None, **params):
        params["wait_ms"] = wait_ms
        return self.get("/api/queries/" + qid, params,
                        timeout=timeout or wait_ms / 1000.0 + 30)


def wait_for(pred, timeout, step=0.05):
    """pred()'s first true value within timeout seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def raw_exchange(srv, data, timeout=10, enough=None):
    """Sends bytes on a fresh connection; returns what came back before the
    server closed it, the timeout passed, or enough(what came) said so
    (b"" if nothing).  The server may close while we still send."""
    s = socket.create_connection((HOST, srv.port), timeout=timeout)
    got = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass
        try:
            while not (enough and enough(got)):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except OSError:
            pass
    finally:
        s.close()
    return got


def http_get(addr, port, path="/healthz", source=None, timeout=10):
    """(status, body) of GET path at a numeric address (IPv4 or IPv6),
    the client's end bound to source when given (any 127.x.y.z reaches a
    server on 127.0.0.1)."""
    conn = http.client.HTTPConnection(addr, port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def listening_sockets(pid, port):
    """pid's listening TCP sockets on port, from /proc/<pid>/net/tcp and
    tcp6: [(table, local address in the kernel's hex, inode)]."""
    out = []
    for name in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, name)) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    addr, p = parts[1].split(":")
                    if parts[3] == "0A" and int(p, 16) == port:
                        out.append((name, addr, parts[9]))
        except FileNotFoundError:
            pass
    return out


class LimitedServer(Server):
    """The server under an address-space limit (prlimit --as)."""

    def __init__(self, limit, *args, **kw):
        super().__init__(*args, **kw)
        self.limit = limit

    def command(self):
        prlimit = shutil.which("prlimit")
        if not prlimit:
            fail("prlimit (util-linux) is missing")
        return [prlimit, "--as=%d" % self.limit, "--"] + super().command()


def expect_json(r, status, what):
    """Asserts the status and that the answer is application/json and parses."""
    if r.status != status:
        fail("%s: expected HTTP %d, got %d; body %r"
             % (what, status, r.status, r.body[:400]))
    check(r.content_type.split(";")[0].strip() == "application/json",
          "%s: Content-Type is %r, not application/json"
          % (what, r.content_type))
    if r.json_error:
        fail("%s: %s" % (what, r.json_error))


def expect_error(r, status, code, what, param=None):
    """Asserts an error answer: status, JSON {"error": {code, message}},
    and the param it names (when given)."""
    expect_json(r, status, what)
    err = r.json.get("error") if isinstance(r.json, dict) else None
    check(isinstance(err, dict), "%s: no error object in %r" % (what, r.json))
    eq(err.get("code"), code, "%s: error code" % what)
    check(isinstance(err.get("message"), str) and err["message"],
          "%s: error message missing or empty: %r" % (what, err))
    if param is not None:
        eq(err.get("param"), param, "%s: error param" % what)
    return err


def _cleanup_all():
    for s in list(_live_servers):
        try:
            if s.alive():
                s.note_descendants()
                s.proc.send_signal(signal.SIGTERM)
                if s.wait(5) is None:
                    s.proc.kill()
                    s.wait(5)
            s._end_descendants()
        except Exception:
            pass
        s._forget()


atexit.register(_cleanup_all)


def _on_term(signum, frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


def run_cli(args, timeout=10, root=None):
    """Runs the binary with args (no --port added); returns (code, stdout,
    stderr).  A process still running after timeout is ended (with its
    children) and code is None."""
    p = subprocess.Popen(WRAP + [BIN] + list(args), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout * SLOW)
        return p.returncode, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        kids = children_of(p.pid)
        p.kill()
        out, err = p.communicate()
        for pid, st in kids.items():
            if same_process(pid, st):
                kill_quietly(pid)
        return None, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Independent view of the corpus


def have_tool(name):
    return shutil.which(name) is not None


def rg_file_list(root, no_ignore=False):
    """Files under root that pass the ignore rules, according to ripgrep
    (.gitignore and .ignore files inside root, with or without git)."""
    if not have_tool("rg"):
        fail("ripgrep (rg) is needed to compute the expected file list")
    cmd = ["rg", "--no-config", "--files", "--hidden", "--no-require-git",
           "--no-ignore-parent", "--no-ignore-global", "--no-ignore-exclude",
           "--null"]
    if no_ignore:
        cmd.append("--no-ignore")
    p = subprocess.run(cmd, cwd=root, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        fail("rg --files failed: %s" % p.stderr.decode()[:500])
    out = []
    for raw in p.stdout.split(b"\0"):
        if not raw:
            continue
        rel = raw.decode("utf-8", "surrogateescape")
        if rel.startswith("./"):
            rel = rel[2:]
        out.append(rel)
    return out


def all_regular_files(root):
    """Every regular file under root (no symlinks followed, VCS dirs
    skipped), relative, '/'-separated."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in VCS_DIRS
                       and not os.path.islink(os.path.join(dirpath, d))]
        for fn in filenames:
            full = os.path.join(dirpath, fn)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            out.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return sorted(out)


def is_binary(full):
    with open(full, "rb") as f:
        return b"\0" in f.read()


def split_lines(data):
    """The lines shardgrep stores for file bytes: split on LF, a final LF
    ends the last line, a CR before LF dropped, invalid UTF-8 -> U+FFFD."""
    if not data:
        return []
    parts = data.split(b"\n")
    if data.endswith(b"\n"):
        parts.pop()
    out = []
    for i, p in enumerate(parts):
        ended_by_lf = i < len(parts) - 1 or data.endswith(b"\n")
        if ended_by_lf and p.endswith(b"\r"):
            p = p[:-1]
        out.append(p.decode("utf-8", "replace"))
    return out


def decode_per_byte(b):
    """Alternative repair: every byte of an invalid sequence becomes one
    U+FFFD (Python's 'replace' groups a truncated sequence into one)."""
    out = []
    i = 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                out.append(b[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


class Corpus:
    """What shardgrep should index under root, computed without it."""

    def __init__(self, root=None, no_ignore=False, max_size=None):
        self.root = root or CORPUS
        kept = set(rg_file_list(self.root, no_ignore))
        self.all_files = all_regular_files(self.root)
        self.files = []
        self.binary = []
        self.too_large = []
        self.ignored = []
        for rel in self.all_files:
            full = os.path.join(self.root, rel)
            if rel not in kept:
                self.ignored.append(rel)
            elif max_size is not None and os.path.getsize(full) > max_size:
                self.too_large.append(rel)
            elif is_binary(full):
                self.binary.append(rel)
            else:
                self.files.append(rel)
        self.files.sort(key=lambda p: p.encode("utf-8", "surrogateescape"))
        self._lines = {}

    def raw(self, rel):
        with open(os.path.join(self.root, rel), "rb") as f:
            return f.read()

    def lines(self, rel):
        if rel not in self._lines:
            self._lines[rel] = split_lines(self.raw(rel))
        return self._lines[rel]

    def total_lines(self):
        return sum(len(self.lines(f)) for f in self.files)

    def is_utf8(self, rel):
        try:
            self.raw(rel).decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    def word_counts(self):
        """(Counter of identifiers by lines, {identifier: set of files})."""
        import collections
        counts = collections.Counter()
        files_of = collections.defaultdict(set)
        for f in self.files:
            for line in self.lines(f):
                for w in set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{3,}", line)):
                    counts[w] += 1
                    files_of[w].add(f)
        return counts, files_of

    def common_word(self, min_files=3, min_lines=10):
        """A lower-case identifier on many lines of several files."""
        counts, files_of = self.word_counts()
        for w, n in counts.most_common():
            if (w.islower() and len(files_of[w]) >= min_files
                    and n >= min_lines and "marker" not in w):
                return w
        fail("precondition: no common word in the corpus")

    def select(self, path="", exclude=""):
        return [f for f in self.files if path_selected(f, path, exclude)]

    def search(self, q, literal=False, case="auto", path="", exclude=""):
        """[(path, line, text, ranges)] by Python's re (ASCII classes, as
        PCRE2 without UCP), ranges as UTF-8 byte offsets into text."""
        rx = compile_like_shardgrep(q, literal, case)
        out = []
        for f in self.select(path, exclude):
            for n, text in enumerate(self.lines(f), 1):
                ranges = byte_ranges(rx, text)
                if ranges:
                    out.append((f, n, text, ranges))
        return out

    def mirror(self, dest):
        """Writes the indexed files, as shardgrep stores them (CR before LF
        dropped, invalid UTF-8 repaired), under dest: a tree that grep can
        search without CRLF or Latin-1 surprises."""
        for rel in self.files:
            full = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            lines = self.lines(rel)
            data = "\n".join(lines)
            if self.raw(rel).endswith(b"\n"):
                data += "\n"
            with open(full, "wb") as f:
                f.write(data.encode("utf-8"))
        return dest


def smart_case_insensitive(q, case):
    if case == "yes":
        return False
    if case == "no":
        return True
    return not any(c.isupper() for c in q)


def compile_like_shardgrep(q, literal=False, case="auto"):
    flags = re.ASCII
    if smart_case_insensitive(q, case):
        flags |= re.IGNORECASE
    return re.compile(re.escape(q) if literal else q, flags)


def byte_ranges(rx, text):
    out = []
    for m in rx.finditer(text):
        if m.end() == m.start():
            continue
        a = len(text[: m.start()].encode("utf-8"))
        b = a + len(m.group(0).encode("utf-8"))
        out.append([a, b])
    return out


def grep_search(tree, files, q, literal=False, case="auto"):
    """{(path, line)} that GNU grep -P (PCRE2, UTF-8 locale) finds in
    exactly these files under tree."""
    if not have_tool("grep"):
        fail("GNU grep is needed for parity")
    opts = ["-n", "-H", "-Z", "-a", "--no-messages"]
    opts.append("-F" if literal else "-P")
    if smart_case_insensitive(q, case):
        opts.append("-i")
    env = dict(os.environ, LC_ALL="C.UTF-8")
    hits = set()
    for i in range(0, len(files), 500):
        chunk = files[i:i + 500]
        p = subprocess.run(["grep"] + opts + ["-e", q, "--"] + chunk,
                           cwd=tree, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode not in (0, 1):
            fail("grep failed (%d): %s" % (p.returncode, p.stderr[:300]))
        for rec in p.stdout.split(b"\n"):
            if not rec:
                continue
            name, _, rest = rec.partition(b"\0")
            num = rest.split(b":", 1)[0]
            hits.add((name.decode("utf-8", "surrogateescape"), int(num)))
    return hits


# ---------------------------------------------------------------------------
# Globs, as doc/api.md defines them (computed here, not by the server)


def split_top_commas(s):
    out, cur, depth = [], "", 0
    for ch in s:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        cur += ch
    out.append(cur)
    return [g for g in out if g]


def expand_braces(g):
    i = g.find("{")
    if i < 0:
        return [g]
    depth = 0
    for j in range(i, len(g)):
        if g[j] == "{":
            depth += 1
        elif g[j] == "}":
            depth -= 1
            if depth == 0:
                break
    else:
        return [g]
    out = []
    for alt in split_top_commas(g[i + 1:j]) or [""]:
        out.extend(expand_braces(g[:i] + alt + g[j + 1:]))
    return out


def glob_regex(g):
    out, i = "", 0
    while i < len(g):
        if g.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if g.startswith("**", i):
            out += ".*"
            i += 2
            continue
        c = g[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = g.find("]", i + 2)
            if j < 0:
                out += re.escape(c)
            else:
                body = g[i + 1:j]
                neg = body[:1] in ("!", "^")
                if neg:
                    body = body[1:]
                body = body.replace("\\", "\\\\")
                out += "(?!/)[" + ("^" if neg else "") + body + "]"
                i = j + 1
                continue
        elif c == "\\" and i + 1 < len(g):
            out += re.escape(g[i + 1])
            i += 2
            continue
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def glob_selects(glob, path):
    """True if glob selects the file at path (relative, '/'-separated): a
    glob without '/' matches a file or folder name at any depth, one with
    '/' is anchored at the root, a trailing '/' only matches folders, and a
    selected folder selects everything beneath it."""
    comps = path.split("/")
    for g in expand_braces(glob):
        dir_only = g.endswith("/")
        anchored = "/" in g
        g = g.strip("/") if anchored else g
        if not g:
            continue
        rx = glob_regex(g)
        n = len(comps) - 1 if dir_only else len(comps)
        if not anchored:
            if any(rx.match(c) for c in comps[:n]):
                return True
        else:
            for k in range(1, n + 1):
                if rx.match("/".join(comps[:k])):
                    return True
    return False


def path_selected(path, include="", exclude=""):
    inc = split_top_commas(include or "")
    exc = split_top_commas(exclude or "")
    if inc and not any(glob_selects(g, path) for g in inc):
        return False
    return not any(glob_selects(g, path) for g in exc)


# ---------------------------------------------------------------------------
# Generated trees


def make_heavy_tree(dest, files=48, lines=2500, wordlen=18, seed=7):
    """Lines of three long words and ' ;': HEAVY_Q spends ~0.2 ms of PCRE2
    time on each, so the default tree (7 MB) keeps two cores busy for about
    10 s.  Each file ends with 'end;' (one match per file)."""
    rnd = random.Random(seed)
    to_letters = bytes(ord("a") + b % 10 for b in range(256))
    per_line = 3 * wordlen
    for i in range(files):
        d = os.path.join(dest, "heavy%d" % (i % 4))
        os.makedirs(d, exist_ok=True)
        letters = rnd.randbytes(per_line * lines).translate(to_letters)
        buf = []
        for k in range(lines):
            chunk = letters[k * per_line:(k + 1) * per_line]
            buf.append(b" ".join(chunk[j * wordlen:(j + 1) * wordlen]
                                 for j in range(3)) + b" ;\n")
        buf.append(b"end;\n")
        with open(os.path.join(d, "f%03d.txt" % i), "wb") as f:
            f.write(b"".join(buf))
    with open(os.path.join(dest, "quick.txt"), "w") as f:
        f.write("quick_needle here\n")
    return dest


class TempDir:
    def __init__(self, prefix="sgtest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        atexit.register(self.remove)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


# ---------------------------------------------------------------------------
# Runner


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("test exceeded its time limit")


_asan = None


def built_with_asan():
    """Whether BIN was built with --enable-sanitizers."""
    global _asan
    if _asan is None:
        try:
            with open(BIN, "rb") as f:
                _asan = b"__asan_init" in f.read()
        except OSError:
            _asan = False
    return _asan


class Runner:
    """A tiny test runner: @R.test registers a test (run in order), @R.self_check
    a check that needs no server, R.finally_(fn) a closing check run last
    (counted like a test).  main() prints one line per test and, last,
    'N passed, N failed'; it ends the process, with status 0 only if
    nothing failed (a script that dropped main()'s result once hid its
    failures from make check)."""

    def __init__(self, name):
        self.name = name
        self.tests = []
        self.checks = []
        self.closers = []
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def test(self, fn=None, timeout=120, timed=False, bare=False, plain=False):
        """timed=True: the test holds a server to a wall-clock bound on heavy
        work, which means nothing under a wrapper (SG_WRAP) that makes
        every instruction tens of times slower; it is skipped there.
        bare=True: it limits the server's address space, which a wrapper or
        AddressSanitizer's shadow memory would exhaust first; skipped
        under either.  plain=True: it limits or inspects the server's
        process itself (prlimit on its pid, its open descriptors), which
        under a wrapper is the wrapper's (valgrind opens its log on a
        closed descriptor 0); skipped there."""
        def reg(f):
            if timed and WRAP:
                why = "timed; not under %s" % WRAP[0]
            elif plain and WRAP:
                why = "limits or inspects the server's own process; not under %s" % WRAP[0]
            elif bare and (WRAP or built_with_asan()):
                why = "limits memory; not under %s" % (
                    WRAP[0] if WRAP else "AddressSanitizer")
            else:
                self.tests.append((f.__name__, f, timeout * SLOW))
                return f
            self.tests.append((f.__name__, why, 0))
            return f
        return reg(fn) if fn else reg

    def self_check(self, fn):
        self.checks.append((fn.__name__, fn, 60))
        return fn

    def finally_(self, name, fn, timeout=60):
        self.closers.append((name, fn, timeout * SLOW))

    def _run_one(self, name, fn, timeout):
        t0 = time.monotonic()
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(int(timeout))
        try:
            fn()
            ok, msg = True, ""
        except (TestFailure, ServerStartError, _Timeout) as e:
            ok, msg = False, "%s" % e
        except Exception:
            ok, msg = False, traceback.format_exc(limit=6).rstrip()
        finally:
            signal.alarm(0)
        dt = time.monotonic() - t0
        if ok:
            self.passed += 1
            print("PASS %s (%.2fs)" % (name, dt), flush=True)
        else:
            self.failed += 1
            print("FAIL %s (%.2fs): %s" % (name, dt, msg), flush=True)

    def main(self, argv=None):
        argv = sys.argv[1:] if argv is None else argv
        only = None
        if "-k" in argv:
            only = argv[argv.index("-k") + 1]
        if "--self-check" in argv:
            todo = list(self.checks)
            closers = []
        else:
            todo = list(self.checks) + list(self.tests)
            closers = self.closers
        print("# %s: binary %s, corpus %s" % (self.name, BIN, CORPUS),
              flush=True)
        interrupted = False
        try:
            for name, fn, timeout in todo:
                if only and only not in name:
                    continue
                if isinstance(fn, str):
                    self.skipped += 1
                    print("SKIP %s (%s)" % (name, fn), flush=True)
                    continue
                self._run_one(name, fn, timeout)
        except KeyboardInterrupt:
            interrupted = True
            self.failed += 1
            print("FAIL interrupted", flush=True)
        finally:
            for name, fn, timeout in closers:
                self._run_one(name, fn, timeout)
            _cleanup_all()
        print("%d passed, %d failed%s" % (
            self.passed, self.failed,
            ", %d skipped" % self.skipped if self.skipped else ""), flush=True)
        sys.exit(0 if self.failed == 0 and not interrupted else 1)


class Lazy:
    """A value built on first use; a failure to build is remembered and
    re-raised for every test that needs it."""

    def __init__(self, build):
        self._build = build
        self._value = None
        self._error = None
        self.built = False

    def __call__(self):
        if self._error is not None:
            raise ServerStartError("(setup failed earlier) %s" % self._error)
        if not self.built:
            try:
                self._value = self._build()
            except Exception as e:
                self._error = e if isinstance(e, (TestFailure, ServerStartError)) \
                    else "%s: %s" % (type(e).__name__, e)
                raise
            self.built = True
        return self._value

    def peek(self):
        return self._value if self.built else None


def stop_check(lazy_server, name="server stops cleanly on SIGTERM"):
    """A closing check for a script's shared server: SIGTERM, exit 0, and
    no worker left behind."""
    def run():
        srv = lazy_server.peek()
        if srv is None:
            return
        assert_stops_clean(srv, signal.SIGTERM)
    return name, run


def assert_stops_clean(srv, sig, timeout=10.0):
    workers = dict(srv.note_descendants())
    srv.stop(sig, timeout=timeout)
    assert_gone(workers, "after %s" % signal.Signals(sig).name)


def assert_gone(workers, when, grace=0.0):
    deadline = time.monotonic() + grace
    while True:
        left = {p: same_process(p, st) for p, st in workers.items()}
        left = {p: s for p, s in left.items() if s}
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if left:
        for p, s in left.items():
            reap_pid(p)
        fail("worker processes remain %s: %s" % (when, ", ".join(
            "%d (%s)" % (p, "zombie" if s == "Z" else "state " + s)
            for p, s in sorted(left.items()))))


# ---------------------------------------------------------------------------
# Shared self-checks (no server needed)


def register_common_self_checks(R):
    @R.self_check
    def selfcheck_globs():
        cases = [
            ("*.c", "src/a.c", True), ("*.c", "a.c", True),
            ("*.c", "src/a.h", False), ("src/", "src/x/y.c", True),
            ("src/", "web/src/a.js", False), ("src/", "src", False),
            ("**/*.py", "a.py", True), ("**/*.py", "x/y/a.py", True),
            ("**/*.py", "x/a.pyc", False), ("*.{c,h}", "q/w.h", True),
            ("*.{c,h}", "q/w.go", False), ("src/*.h", "src/a.h", True),
            ("src/*.h", "src/net/a.h", False), ("tests", "a/tests/b.c", True),
            ("tests", "a/tests.c", False), ("src/**/x.c", "src/x.c", True),
            ("src/**/x.c", "src/a/b/x.c", True), ("t?st", "a/test/z", True),
            ("[ab]*.c", "d/b1.c", True), ("[!ab]*.c", "d/b1.c", False),
            ("{src,web}/", "web/a", True), ("{src,web}/", "cli/a", False),
            ("**/src/", "web/src/a.js", True), ("**/src/", "src/a.c", True),
            ("**/src/", "web/src", False),
        ]
        for g, p, want in cases:
            eq(glob_selects(g, p), want, "glob %r on %r" % (g, p))
        eq(split_top_commas("*.{c,h},src/"), ["*.{c,h}", "src/"], "split")
        eq(path_selected("src/a.c", "*.c", "src/"), False, "exclude wins")
        eq(path_selected("a.c", "", ""), True, "no filter")

    @R.self_check
    def selfcheck_line_split():
        eq(split_lines(b""), [], "empty")
        eq(split_lines(b"a\nb"), ["a", "b"], "no final newline")
        eq(split_lines(b"a\r\nb\r\n"), ["a", "b"], "crlf")
        eq(split_lines(b"a\rb\n\n"), ["a\rb", ""], "lone cr, empty line")
        eq(split_lines(b"caf\xe9\n"), ["caf\ufffd"], "latin-1")
        eq(decode_per_byte(b"\xe2\x82x"), "\ufffd\ufffdx", "per byte")
        rx = compile_like_shardgrep("b", case="auto")
        eq(byte_ranges(rx, "\u00e9bB"), [[2, 3], [3, 4]], "byte ranges")

    @R.self_check
    def selfcheck_strict_json():
        eq(strict_json(b'{"a": [1, "x"]}'), {"a": [1, "x"]}, "parse")
        for bad in (b'{"a":1,"a":2}', b'[NaN]', b'"\\ud800"', b'\xff', b'{'):
            try:
                strict_json(bad)
            except JSONProblem:
                continue
            fail("strict_json accepted %r" % bad)

    @R.self_check
    def selfcheck_corpus_view():
        check(os.path.isdir(CORPUS), "corpus missing: %s" % CORPUS)
        c = Corpus()
        check(c.files, "no indexable file found in the corpus")
        for rel in c.files:
            check(not any(part in VCS_DIRS for part in rel.split("/")),
                  "VCS file listed: %s" % rel)
