#!/usr/bin/env python3
"""Parity with an independent tool: for each query, the (path, line) set
shardgrep returns (max=100000) equals what GNU grep -P finds in the same
files, and matched_lines/matched_files equal grep's counts.

The file list is computed without shardgrep: ripgrep's ignore rules
(.gitignore, .ignore, negations, anchors; no git needed), minus symlinks,
VCS folders and files holding a NUL byte.  grep then searches a mirror of
those files written the way shardgrep stores text (a CR before LF dropped,
invalid UTF-8 turned into U+FFFD), so CRLF and Latin-1 lines compare
honestly."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (CORPUS, Corpus, Lazy, Server, TempDir, check, eq,  # noqa: E402
                    grep_search, set_diff)

R = sgtest.Runner("test_parity")
sgtest.register_common_self_checks(R)

C = Lazy(Corpus)
SRV = Lazy(lambda: Server(["--workers", "2"]).start())
R.finally_(*sgtest.stop_check(SRV))


def _mirror():
    return C().mirror(os.path.join(TempDir("sgmirror-").path, "m"))


MIRROR = Lazy(_mirror)


def rare_word():
    counts, _ = C().word_counts()
    for w, n in sorted(counts.items()):
        if n == 1 and w.islower() and "marker" not in w and len(w) >= 6:
            return w
    sgtest.fail("precondition: no rare word")


def non_ascii_word():
    for f in C().files:
        for line in C().lines(f):
            for w in re.findall(r"\w*[^\x00-\x7f\ufffd]\w*", line):
                if len(w) >= 3 and w.isalpha():
                    return w
    sgtest.fail("precondition: no non-ASCII word")


# (q, params) -- params may hold literal, case, path, exclude
QUERIES = [
    (lambda: rare_word(), {}),
    (lambda: C().common_word(), {}),
    (lambda: C().common_word(), {"literal": True, "case": "yes"}),
    ("negated_keep_marker", {}),
    ("anchored_keep_marker", {}),
    (r"\bkv_\w+", {}),
    (r"(get|set|put|del)_?[a-z]+", {}),
    (r"[A-Z]{3,}", {}),
    (r"[A-Z][a-z]+[A-Z]\w*", {"case": "yes"}),
    (r"^\s*#", {}),
    (r"^[a-z_]+:", {}),
    (r"\d{4}-\d{2}-\d{2}", {}),
    (r";\s*$", {}),
    (r"^$", {}),
    (r"\bint\b", {}),
    ("error", {"case": "no"}),
    ("Error", {}),
    ("ERROR", {"case": "yes"}),
    ("()", {"literal": True}),
    ("*.o", {"literal": True}),
    ("->", {"literal": True}),
    ("a.b", {"literal": True}),
    (r"\w+\(\)", {}),
    (r'"[^"]*"', {}),
    (r"x{2,}|z{2,}|q{2,}", {}),
    (r"\t", {}),
    (".", {}),
    (r"\S+=\S+", {"case": "yes"}),
    ("return", {"path": "*.c"}),
    ("import", {"path": "**/*.py"}),
    ("kv", {"exclude": "src/**,*.md"}),
    ("kv", {"path": "*.{c,h,go}", "exclude": "tests"}),
    ("marker", {"path": "{web,scripts}/", "exclude": "*.html"}),
    (lambda: non_ascii_word(), {"literal": True, "case": "yes"}),
    ("caf.", {}),
    ("ελληνικά", {"case": "no"}),
    ("crlf_marker", {}),
    ("legacy_marker.*", {}),
    (r"\w+\s*$", {}),
    # Top-level alternation: no branch's literal alone may narrow the scan.
    ("kv_get|kv_put", {}),
    ("TODO|FIXME", {"case": "yes"}),
    (r"hash_bucket|malloc\(", {}),
    ("kvstore|render", {"case": "no"}),
    ("(?i)kvstore", {"case": "yes"}),
    ("struct kv_store", {"literal": True, "case": "no"}),
    (r"kv_open\(.*\)", {}),
]


def parity(q, params):
    srv, c = SRV(), C()
    literal = bool(params.get("literal"))
    case = params.get("case", "auto")
    files = c.select(params.get("path", ""), params.get("exclude", ""))
    want = grep_search(MIRROR(), files, q, literal=literal, case=case)
    doc = srv.search_ok(q, max=100000, **params)
    got = [(r["path"], r["line"]) for r in doc["results"]]
    what = "q=%r %r" % (q, params)
    eq(len(got), len(set(got)), what + ": duplicate results")
    set_diff(got, want, what + ": (path, line) vs grep")
    eq(doc["stats"].get("matched_lines"), len(want), what + ": matched_lines")
    eq(doc["stats"].get("matched_files"), len({p for p, _ in want}),
       what + ": matched_files")
    eq(doc["stats"].get("truncated"), False, what + ": truncated")
    return want


def _register(i, q, params):
    def t():
        qq = q() if callable(q) else q
        parity(qq, params)
    name = q if isinstance(q, str) else "picked_word"
    t.__name__ = "parity_%02d_%s" % (i, "".join(
        ch if ch.isalnum() else "_" for ch in name)[:30] or "q")
    R.test(t)


for _i, (_q, _p) in enumerate(QUERIES):
    _register(_i, _q, _p)


@R.test
def parity_is_not_vacuous():
    hits = 0
    for q, params in QUERIES:
        qq = q() if callable(q) else q
        files = C().select(params.get("path", ""), params.get("exclude", ""))
        if grep_search(MIRROR(), files, qq, bool(params.get("literal")),
                       params.get("case", "auto")):
            hits += 1
    check(hits >= 25, "only %d of %d parity queries match anything"
          % (hits, len(QUERIES)))


@R.test
def indexed_files_match_the_independent_list():
    st = SRV().stats()
    eq(st.get("files"), len(C().files), "stats.files")
    doc = SRV().search_ok(r"^", max=100000)
    got = {r["path"] for r in doc["results"]}
    want = {f for f in C().files if C().lines(f)}
    set_diff(got, want, "files with at least one line (q=^)")


@R.self_check
def selfcheck_file_list_against_git():
    """rg's view of the ignore rules agrees with git's, except for what
    .ignore files add (git does not read them)."""
    if not sgtest.have_tool("git"):
        return
    tmp = TempDir()
    dst = os.path.join(tmp.path, "c")
    shutil.copytree(CORPUS, dst, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".hg", ".svn"))
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null",
               GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", dst], check=True, env=env)
    p = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard"],
                       cwd=dst, stdout=subprocess.PIPE, check=True, env=env)
    git_files = {x.decode() for x in p.stdout.split(b"\0") if x}
    git_files = {f for f in git_files if not os.path.islink(os.path.join(dst, f))}
    rg_files = set(sgtest.rg_file_list(CORPUS))
    rg_files = {f for f in rg_files if not os.path.islink(os.path.join(CORPUS, f))}
    check(rg_files <= git_files, "rg lists files git ignores: %r"
          % sorted(rg_files - git_files))
    ignore_dirs = [os.path.dirname(os.path.relpath(os.path.join(d, ".ignore"), dst))
                   for d, _, fs in os.walk(dst) if ".ignore" in fs]
    for f in git_files - rg_files:
        check(any(d == "" or f.startswith(d + "/") for d in ignore_dirs),
              "%s ignored by rg but not by git, and no .ignore above it" % f)


@R.self_check
def selfcheck_queries_run_on_grep():
    for q, params in QUERIES:
        qq = q() if callable(q) else q
        files = C().select(params.get("path", ""), params.get("exclude", ""))
        grep_search(MIRROR(), files, qq, bool(params.get("literal")),
                    params.get("case", "auto"))


if __name__ == "__main__":
    R.main()
