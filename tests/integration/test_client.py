#!/usr/bin/env python3
"""shardgrep-query, the terminal client (issue 14), against the real server
on the sample corpus, compared with ripgrep run on the same files.

For each set of flags the client's output and `rg` with the equivalent
flags (plus -n: the client always prints line numbers) are parsed into
(path, line, kind, text) records and compared file by file, "--"
separators included; rg's order of files is its own, the client's must
be the server's (byte order of paths).  rg is told to see what the
server indexes (hidden files, .gitignore without git) and its output is
kept to the files the server indexes (not binary ones).  A line over 1024
bytes is clipped by the server: there the client's text must be a part
of rg's line, not all of it.

Also: exit status 0 / 1 / 2 (match, none, bad regex, no server, unknown
flag), SHARDGREP_URL and --server, --token and SHARDGREP_TOKEN, colour
(--color=always, never when piped, rg's exact escapes and headings on a
terminal: both programs are run under a pseudo-terminal), an answer
longer than a page (every line of the corpus), --max and its notice, the
man page and --help.
"""

import os
import pty
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import BIN, CORPUS, Corpus, Lazy, Server, check, eq, fail  # noqa: E402

CLIENT = os.path.join(os.path.dirname(BIN), "shardgrep-query")
MAN = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "..", "shardgrep-query.1"))

R = sgtest.Runner("test_client")
sgtest.register_common_self_checks(R)

SRV = Lazy(lambda: Server(["--workers", "2"]).start())
C = Lazy(Corpus)
R.finally_(*sgtest.stop_check(SRV))

# rg searching what shardgrep indexes: hidden files too, .gitignore and
# .ignore files inside the tree with or without git, nothing from outside.
RG_BASE = ["rg", "--no-config", "--hidden", "--no-require-git", "--no-ignore-parent",
           "--no-ignore-global", "--no-ignore-exclude"]
SGR_MATCH = b"\x1b[0m\x1b[1m\x1b[31m"
CLIP = 1024


def client(args, env=None, server=True, timeout=60):
    """Runs the client (with --server of the shared server unless
    server=False); (code, stdout bytes, stderr text)."""
    if not os.access(CLIENT, os.X_OK):
        fail("client not built: %s" % CLIENT)
    cmd = [CLIENT] + (["--server", SRV().base] if server else []) + list(args)
    full_env = dict(os.environ)
    for k in ("SHARDGREP_URL", "SHARDGREP_TOKEN", "NO_COLOR"):
        full_env.pop(k, None)
    full_env.update(env or {})
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=full_env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def rg(args):
    p = subprocess.run(RG_BASE + list(args), cwd=CORPUS, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode not in (0, 1):
        fail("rg %s failed: %s" % (args, p.stderr.decode()[:300]))
    return p.returncode, p.stdout


def decodings(raw):
    """The ways the server may have stored raw bytes as text."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return {raw.decode("utf-8", "replace"), sgtest.decode_per_byte(raw)}


def parse_records(out, files):
    """{path: [(kind, line, raw text) or ('--',)]} from path:N:text lines;
    a "--" between two files belongs to neither.  Also the order in which
    files appeared and the number of "--" lines."""
    by_file, order, seps = {}, [], 0
    cur, pending = None, False
    for raw in out.split(b"\n")[:-1] if out.endswith(b"\n") or not out else out.split(b"\n"):
        if raw == b"--":
            seps += 1
            pending = True
            continue
        m = None
        for i, ch in enumerate(raw):
            if ch in b":-" and raw[:i].decode("utf-8", "replace") in files:
                m = re.match(rb"(\d+)" + re.escape(bytes([ch])), raw[i + 1:])
                if m:
                    path, kind = raw[:i].decode("utf-8", "replace"), chr(ch)
                    break
        if not m:
            fail("cannot parse output line %r" % raw[:200])
        text = raw[i + 1 + m.end():]
        if path != cur:
            order.append(path)
            cur = path
        elif pending:
            by_file[path].append(("--",))
        pending = False
        by_file.setdefault(path, []).append((kind, int(m.group(1)), text))
    return by_file, order, seps


def same_record(got, want, where):
    if got[:2] != want[:2]:
        fail("%s: client has %r, rg %r" % (where, got[:2], want[:2]))
    if len(want) < 3:
        return
    text = got[2].decode("utf-8")
    options = decodings(want[2])
    if len(want[2]) <= CLIP:
        check(text in options, "%s line %d: client printed %r, rg %r"
              % (where, got[1], text[:200], want[2][:200]))
    else:
        check(len(got[2]) <= CLIP + 64 and any(text in o for o in options),
              "%s line %d (%d bytes): the clipped text %r is not a part of rg's line"
              % (where, got[1], len(want[2]), text[:200]))


def compare_lines(args, rg_args=None, expect_match=True):
    """Client args vs rg (-n --no-heading --color=never + rg_args or args)."""
    files = set(C().files)
    code, out, err = client(args)
    rcode, rout = rg(["-n", "--no-heading", "--color=never"] + list(rg_args or args))
    eq(code, 0 if expect_match else 1, "exit status of %s (stderr %r)" % (args, err))
    eq(rcode, code, "exit status of rg %s vs the client" % (rg_args or args,))
    got, order, gseps = parse_records(out, files)
    want, _, wseps = parse_records(
        b"".join(l + b"\n" for l in rout.split(b"\n") if l and (
            l == b"--" or any(l.startswith(f.encode() + s) for f in files for s in (b":", b"-")))),
        files)
    sgtest.set_diff(got.keys(), want.keys(), "files with matches for %s" % (args,))
    for path in want:
        g, w = got[path], want[path]
        eq(len(g), len(w), "output lines for %s in %s (client %r ... rg %r ...)"
           % (path, args, g[:3], w[:3]))
        for a, b in zip(g, w):
            same_record(a, b, "%s %s" % (args, path))
    eq(order, sorted(order, key=lambda p: p.encode()), "order of files (server's: byte order)")
    eq(gseps, wseps, "number of -- separators for %s" % (args,))
    check(err == "", "stderr for %s: %r" % (args, err))
    return got


def _lines_test(name, args, rg_args=None, expect_match=True):
    def t():
        got = compare_lines(args, rg_args, expect_match)
        if expect_match:
            check(got, "no output for %s" % (args,))
    t.__name__ = "same_as_rg_" + name
    R.test(t)


_lines_test("plain", ["kv_get"])
_lines_test("regex", [r"^#include <[a-z_/]+\.h>"])
_lines_test("literal", ["-F", "malloc("])
_lines_test("literal_dots", ["-F", "..."])
_lines_test("default_case_sensitive", ["KV_OK"])
_lines_test("ignore_case", ["-i", "kvstore"])
_lines_test("smart_case_lower", ["-S", "kv_ok"])
_lines_test("smart_case_upper", ["-S", "Kv_OK"], expect_match=False)
_lines_test("case_sensitive_last_wins", ["-i", "-s", "Kvstore"])
_lines_test("ignore_case_last_wins", ["-s", "-i", "KVSTORE"])
_lines_test("word", ["-w", "kv_put"])
_lines_test("word_literal", ["-w", "-F", "kv_get(kv,"])
# \b(?:kv_get\()\b would match "kv_get(kv"; rg's -w does not.
_lines_test("word_ending_in_punctuation", ["-w", "-F", "kv_get("], expect_match=False)
_lines_test("glob", ["-g", "*.c", "kv_"])
_lines_test("two_globs", ["-g", "*.c", "-g", "*.h", "-i", "todo"])
_lines_test("negated_glob", ["-g", "!docs/", "kv_get"])
_lines_test("unicode", ["Größe"])
_lines_test("context", ["-C", "2", "kv_get"])
_lines_test("context_glob_word", ["-C", "1", "-w", "-g", "*.md", "kv_put"])
# Every line of the corpus: more than a page of results (2000), merged
# context across the page boundary, the long minified line clipped.
_lines_test("every_line", ["^"])
_lines_test("every_line_context", ["-C", "3", "^"])
_lines_test("long_line", ["kv_del"])


def _files_test(name, flag, q):
    def t():
        files = set(C().files)
        code, out, err = client([flag, q])
        rcode, rout = rg([flag, "--color=never", q])
        eq(code, 0, "exit status of %s %s (stderr %r)" % (flag, q, err))
        got = out.decode().splitlines()
        want = [l for l in rout.decode("utf-8", "replace").splitlines()
                if l.rsplit(":", 1)[0] in files]
        check(got, "no output")
        sgtest.set_diff(got, want, "%s %s output lines" % (flag, q))
        eq(len(got), len(want), "number of lines")
        eq(got, sorted(got, key=lambda p: p.encode()), "order (server's)")
    t.__name__ = "same_as_rg_" + name
    R.test(t)


_files_test("files_with_matches", "-l", "TODO")
_files_test("count", "-c", "kv_get")


@R.test
def exit_1_no_match():
    code, out, err = client(["zz_no_such_thing_qq"])
    eq((code, out, err), (1, b"", ""), "no match: status, stdout, stderr")


@R.test
def exit_2_bad_regex():
    code, out, err = client(["kv_get("])
    eq(code, 2, "exit status for a bad regex")
    eq(out, b"", "stdout for a bad regex")
    check("bad_regex" in err and "parenthesis" in err,
          "stderr should carry the server's bad_regex message: %r" % err)


@R.test
def exit_2_usage():
    for args in (["--bogus", "x"], [], ["-C", "11", "x"], ["--color=sometimes", "x"],
                 ["a", "b"]):
        code, out, err = client(args)
        eq(code, 2, "exit status for %s (stderr %r)" % (args, err))
        check(err.strip() and out == b"", "message on stderr only for %s" % (args,))


def dead_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return "http://127.0.0.1:%d" % port


@R.test
def exit_2_server_down_names_the_url():
    url = dead_url()
    code, out, err = client(["--server", url, "kv_get"], server=False)
    eq(code, 2, "exit status with no server")
    check(url in err and "refused" in err.lower(),
          "stderr should name %s and say why: %r" % (url, err))
    code, _, err = client(["--server", "https://127.0.0.1:1", "x"], server=False)
    eq(code, 2, "exit status for an https URL")
    check("https" in err, "stderr for an https URL: %r" % err)


@R.test
def shardgrep_url_and_server_option():
    code, out, err = client(["-c", "kv_get"], env={"SHARDGREP_URL": SRV().base}, server=False)
    eq(code, 0, "SHARDGREP_URL alone (stderr %r)" % err)
    check(b"src/kvstore.c:1" in out, "output via SHARDGREP_URL: %r" % out[:300])
    dead = dead_url()
    code, out2, err = client(["-c", "kv_get"], env={"SHARDGREP_URL": dead})
    eq((code, out2), (0, out), "--server beats SHARDGREP_URL (stderr %r)" % err)
    code, _, err = client(["--server", dead, "-c", "kv_get"],
                          env={"SHARDGREP_URL": SRV().base}, server=False)
    eq(code, 2, "a dead --server with a good SHARDGREP_URL")
    check(dead in err, "stderr names the --server URL: %r" % err)


@R.test
def token():
    srv = Server(["--workers", "1", "--token", "s3cret"]).start()
    try:
        code, out, err = client(["--server", srv.base, "kv_get"], server=False)
        eq(code, 2, "no token for a server with --token")
        check("token" in err.lower(), "stderr should mention the token: %r" % err)
        code, out, err = client(["--server", srv.base, "-c", "kv_get"], server=False,
                                env={"SHARDGREP_TOKEN": "s3cret"})
        eq(code, 0, "SHARDGREP_TOKEN (stderr %r)" % err)
        code, out, err = client(["--server", srv.base, "--token", "s3cret", "-l", "kv_get"],
                                server=False, env={"SHARDGREP_TOKEN": "wrong"})
        eq(code, 0, "--token beats SHARDGREP_TOKEN (stderr %r)" % err)
    finally:
        sgtest.assert_stops_clean(srv, sgtest.signal.SIGTERM)


@R.test
def colour_always_and_never_when_piped():
    code, out, _ = client(["kv_get"])
    check(b"\x1b" not in out, "escape sequences in piped output: %r" % out[:200])
    code, out, _ = client(["--color=always", "kv_get"])
    _, rout = rg(["-n", "--no-heading", "--color=always", "-g", "src/kvstore.c", "kv_get"])
    check(SGR_MATCH + b"kv_get\x1b[0m" in out, "no highlighted match: %r" % out[:300])
    check(rout in out, "rg's coloured line %r not in the client's output %r"
          % (rout, out[:600]))
    code, out, _ = client(["--color=never", "kv_get"])
    check(b"\x1b" not in out, "escapes with --color=never")


def run_in_pty(cmd, cwd=None, env=None):
    """Runs cmd with stdout on a pseudo-terminal; its output bytes."""
    master, slave = pty.openpty()
    full_env = dict(os.environ, TERM="xterm")
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=subprocess.PIPE, env=full_env)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    p.wait(30)
    return p.returncode, b"".join(chunks).replace(b"\r\n", b"\n")


@R.test
def terminal_shape_is_rgs():
    """On a terminal both print headings, colours and blank lines between
    files: the blocks of each file must be the same bytes."""
    for args in (["kv_get"], ["-C", "1", "kv_put"]):
        code, out = run_in_pty([CLIENT, "--server", SRV().base] + args)
        eq(code, 0, "client exit status on a terminal for %s" % args)
        rcode, rout = run_in_pty(RG_BASE + args, cwd=CORPUS)
        # Files rg prints as they are and the server does not: Latin-1
        # bytes (U+FFFD there) and lines over 1024 bytes (clipped).
        files = set(f for f in C().files if C().is_utf8(f)
                    and max([len(l.encode()) for l in C().lines(f)] or [0]) <= CLIP)

        def blocks(b):
            out = {}
            for block in b.strip(b"\n").split(b"\n\n"):
                head = block.split(b"\n")[0]
                path = head.replace(b"\x1b[0m", b"").replace(b"\x1b[35m", b"")
                out[path.decode("utf-8", "replace")] = block
            return out
        got, want = blocks(out), blocks(rout)
        sgtest.set_diff(got.keys(), want.keys(), "files on a terminal for %s" % args)
        got = set(v for k, v in got.items() if k in files)
        want = set(v for k, v in want.items() if k in files)
        check(len(want) >= 3, "too few files compared: %r" % want)
        check(b"\x1b[0m\x1b[35m" in out, "no coloured path heading: %r" % out[:300])
        sgtest.set_diff(got, want, "file blocks on a terminal for %s" % args)


@R.test
def truncated_answer_is_said():
    code, out, err = client(["--max", "3", "kv_get"])
    eq(code, 0, "exit status of a truncated answer")
    eq(len(out.splitlines()), 3, "lines printed with --max 3")
    check("truncated" in err and "3 of 16" in err,
          "stderr should say the answer is cut (3 of 16): %r" % err)


@R.test
def json_lines_are_results():
    code, out, err = client(["--json", "-C", "1", "kv_get"])
    eq(code, 0, "exit status of --json")
    rows = [sgtest.strict_json(l) for l in out.splitlines()]
    eq(len(rows), 16, "one JSON object per matching line")
    check(all({"path", "line", "text", "ranges", "before", "after"} <= set(r) for r in rows),
          "result objects lack fields: %r" % rows[:1])


@R.test
def help_version_and_man_page():
    code, out, _ = client(["--help"], server=False)
    eq(code, 0, "--help exit status")
    for flag in ("-i", "-s", "-S", "-F", "-w", "-g", "-l", "-c", "-C", "--json", "--color",
                 "--server", "--token", "SHARDGREP_URL", "--max"):
        check(flag.encode() in out, "--help does not mention %s" % flag)
    code, out, _ = client(["--version"], server=False)
    eq(code, 0, "--version exit status")
    check(re.match(rb"shardgrep-query .*\d+\.\d+", out), "--version: %r" % out)
    with open(MAN) as f:
        man = f.read()
    for word in ("SHARDGREP_URL", "SHARDGREP_TOKEN", "EXIT STATUS", "clipped", "\\-\\-json"):
        check(word in man, "the man page does not mention %s" % word)
    if sgtest.have_tool("man"):
        p = subprocess.run(["man", "-l", "-Tutf8", MAN], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode == 0:
            check(b"shardgrep-query" in p.stdout, "man renders nothing useful")


if __name__ == "__main__":
    R.main()
