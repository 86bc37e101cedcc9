#!/usr/bin/env python3
"""Every endpoint and every error of doc/api.md against one server on the
sample corpus.  Expected results come from the files on disk (sgtest.Corpus,
Python's re), never from the server."""

import collections
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (Corpus, Lazy, Server, TempDir, check, compile_like_shardgrep,  # noqa: E402
                    byte_ranges, decode_per_byte, eq, expect_error, expect_json,
                    quote_path, set_diff)

R = sgtest.Runner("test_api")
sgtest.register_common_self_checks(R)

WORKERS = 2
SRV = Lazy(lambda: Server(["--workers", str(WORKERS)]).start())
C = Lazy(Corpus)
R.finally_(*sgtest.stop_check(SRV))

HEX32 = re.compile(r"^[0-9a-f]{32}$")
CLIP = 1024


# ---------------------------------------------------------------------------
# Words picked from the corpus (so the tests do not depend on its content)

def _tokens():
    return C().word_counts()


def common_word():
    return C().common_word()


def word_with_case_variants():
    """(lower, Upper): a word that occurs in lower case and in another case."""
    counts, _ = _tokens()
    by_lower = collections.defaultdict(set)
    for w in counts:
        if w.isalpha():
            by_lower[w.lower()].add(w)
    best = None
    for low, forms in sorted(by_lower.items()):
        if low in forms and len(forms) >= 2:
            other = sorted(f for f in forms if f != low)[0]
            score = sum(counts[f] for f in forms)
            if best is None or score > best[0]:
                best = (score, low, other)
    check(best, "precondition: no word with case variants in the corpus")
    return best[1], best[2]


def metachar_string():
    """A string with regex metacharacters that occurs in the corpus."""
    c = C()
    counts = collections.Counter()
    for f in c.files:
        for line in c.lines(f):
            for m in re.findall(r"[A-Za-z_]\w*\([^()\s]{0,6}\)|\*\.\w+|\w+\.\w+\(",
                                line):
                counts[m] += 1
    check(counts, "precondition: no string with metacharacters found")
    return counts.most_common(1)[0][0]


# ---------------------------------------------------------------------------
# Comparing answers with the reference


def clip_ok(got, full):
    """A context line: equal to the full line, or its first <=1024 bytes."""
    fb = full.encode("utf-8")
    if len(fb) <= CLIP:
        return got == full
    gb = got.encode("utf-8")
    return CLIP - 3 <= len(gb) <= CLIP and fb.startswith(gb)


def line_text_variants(c, path, n):
    """Acceptable stored forms of line n of path: Python's U+FFFD repair and
    one U+FFFD per invalid byte."""
    ref = c.lines(path)[n - 1]
    if "\ufffd" not in ref:
        return [ref]
    raw = c.raw(path).split(b"\n")[n - 1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return [ref, decode_per_byte(raw)]


def check_results(doc, expected, rx, what, complete=True, context=0):
    """Compares results with the reference [(path, line, text, ranges)]."""
    c = C()
    res = doc.get("results")
    check(isinstance(res, list), "%s: results is not a list" % what)
    got_keys = [(r.get("path"), r.get("line")) for r in res]
    want_keys = [(p, n) for p, n, _, _ in expected]
    if complete:
        if got_keys != want_keys:
            set_diff(got_keys, want_keys, "%s: (path, line) results" % what)
            eq(got_keys, want_keys, "%s: order of results" % what)
    for r in res:
        where = "%s: %s:%s" % (what, r.get("path"), r.get("line"))
        check(isinstance(r.get("text"), str), "%s: text missing" % where)
        full_variants = line_text_variants(c, r["path"], r["line"])
        full = full_variants[0]
        text = r["text"]
        if len(full.encode("utf-8")) > CLIP:
            check_clipped(r, full, rx, where)
        else:
            check(not r.get("clipped"), "%s: clipped on a short line" % where)
            check(text in full_variants, "%s: text %r, file has %r"
                  % (where, text, full))
            tb = text.encode("utf-8")
            for a, b in r.get("ranges") or []:
                check(isinstance(a, int) and isinstance(b, int)
                      and 0 <= a < b <= len(tb)
                      and rx.fullmatch(tb[a:b].decode("utf-8", "replace")),
                      "%s: range %r covers %r, not a match of %r"
                      % (where, [a, b], tb[a:b] if isinstance(a, int) else a,
                         rx.pattern))
            eq(r.get("ranges"), byte_ranges(rx, text), "%s: ranges" % where)
        check_context(r, context, where)


def check_clipped(r, full, rx, where):
    tb = r["text"].encode("utf-8")
    fb = full.encode("utf-8")
    eq(r.get("clipped"), True, "%s: clipped flag on a %d-byte line"
       % (where, len(fb)))
    col = r.get("column")
    check(isinstance(col, int) and col >= 0, "%s: column %r" % (where, col))
    check(len(tb) <= CLIP, "%s: clipped text is %d bytes" % (where, len(tb)))
    eq(fb[col:col + len(tb)], tb, "%s: text against the full line at column"
       % where)
    ranges = r.get("ranges") or []
    check(ranges, "%s: no ranges on a clipped line" % where)
    first = byte_ranges(rx, full)[0]
    eq([col + ranges[0][0], col + ranges[0][1]], first,
       "%s: first range (plus column) against the first match in the full "
       "line" % where)
    for a, b in ranges:
        check(0 <= a < b <= len(tb), "%s: range %r outside text" % (where, [a, b]))
        check(rx.fullmatch(tb[a:b].decode("utf-8", "replace")),
              "%s: range %r covers %r" % (where, [a, b], tb[a:b]))


def check_context(r, context, where):
    c = C()
    if context == 0:
        check(not r.get("before") and not r.get("after"),
              "%s: context lines without context" % where)
        return
    lines = c.lines(r["path"])
    n = r["line"]
    want_before = lines[max(0, n - 1 - context):n - 1]
    want_after = lines[n:n + context]
    first_before = max(1, n - context)
    for key, want, first in (("before", want_before, first_before),
                             ("after", want_after, n + 1)):
        got = r.get(key)
        check(isinstance(got, list), "%s: %s missing with context=%d"
              % (where, key, context))
        eq(len(got), len(want), "%s: number of %s lines" % (where, key))
        for i, g in enumerate(got):
            variants = line_text_variants(c, r["path"], first + i)
            check(isinstance(g, str) and any(clip_ok(g, v) for v in variants),
                  "%s: %s line %d is %r, file has %r"
                  % (where, key, first + i, str(g)[:200], variants[0][:200]))


def run_and_compare(q, what=None, context=0, **params):
    srv, c = SRV(), C()
    literal = params.get("literal", False)
    literal = literal not in (False, 0, "0", "false")
    case = params.get("case", "auto")
    mx = params.pop("max", 100000)
    doc = srv.search_ok(q, max=mx, context=context, **params)
    expected = c.search(q, literal=literal, case=case,
                        path=params.get("path", ""),
                        exclude=params.get("exclude", ""))
    rx = compile_like_shardgrep(q, literal, case)
    what = what or "q=%r %r" % (q, params)
    check_results(doc, expected[:mx], rx, what, context=context)
    st = doc["stats"]
    eq(st.get("matched_lines"), len(expected), what + ": matched_lines")
    eq(st.get("matched_files"), len({p for p, _, _, _ in expected}),
       what + ": matched_files")
    return doc, expected


@R.self_check
def selfcheck_corpus_preconditions():
    c = C()
    check(len(c.search(common_word())) >= 10, "common word")
    low, other = word_with_case_variants()
    check(len(c.search(low)) > len(c.search(other)), "case variants")
    check(c.search(metachar_string(), literal=True), "metachar string")
    for params in GLOB_CASES:
        sel = c.select(params.get("path", ""), params.get("exclude", ""))
        check(0 < len(sel) < len(c.files), "glob %r selects %d" % (params, len(sel)))
    for m in ("ignored_marker", "binary_marker"):
        eq(c.search(m), [], "reference for " + m)


# ---------------------------------------------------------------------------
# Search


@R.test
def search_document_shape():
    w = common_word()
    doc, expected = run_and_compare(w, max=1000)
    check(HEX32.match(str(doc.get("id"))), "id %r is not 32 hex" % doc.get("id"))
    q = doc.get("query")
    check(isinstance(q, dict), "query object missing")
    eq({k: q.get(k) for k in ("q", "literal", "case", "path", "exclude", "max",
                              "context")},
       {"q": w, "literal": False, "case": "auto", "path": "", "exclude": "",
        "max": 1000, "context": 0}, "query echo")
    check(isinstance(q.get("timeout_ms"), int) and q["timeout_ms"] > 0,
          "query.timeout_ms %r" % q.get("timeout_ms"))
    eq(q.get("ignore_case"), w.lower() == w, "query.ignore_case for %r" % w)
    st = doc["stats"]
    eq(st.get("returned"), min(len(expected), 1000), "returned")
    eq(st.get("truncated"), len(expected) > 1000, "truncated")
    check(isinstance(st.get("elapsed_ms"), (int, float)) and st["elapsed_ms"] >= 0,
          "elapsed_ms %r" % st.get("elapsed_ms"))
    eq(st.get("shards"), {"total": WORKERS, "done": WORKERS, "failed": [], "unresponsive": []},
       "stats.shards")
    page = doc.get("page")
    check(isinstance(page, dict), "page missing")
    eq(page.get("offset"), 0, "page.offset")
    eq(page.get("count"), len(doc["results"]), "page.count")
    check(len(expected) >= 10, "precondition: %r on >= 10 lines" % w)


@R.test
def results_ordered_by_path_bytes_then_line():
    doc = SRV().search_ok(".", max=100000)
    keys = [(r["path"].encode("utf-8"), r["line"]) for r in doc["results"]]
    for a, b in zip(keys, keys[1:]):
        check(a < b, "results out of order: %r then %r" % (a, b))
    eq(len(keys), len(C().search(".")), "lines matching '.'")


@R.test
def literal_query_ranges():
    run_and_compare(common_word(), literal=True)


@R.test
def regex_query_ranges():
    for q in (r"\b[a-z]+_[a-z]+\(", r"(get|set|put)\w*", r"[0-9]{2,}",
              r"^#\s*include", r"\w+_marker\b"):
        doc, expected = run_and_compare(q)
        check(expected, "precondition: %r matches something" % q)


@R.test
def case_insensitive_query_ranges():
    low, other = word_with_case_variants()
    doc, expected = run_and_compare(low, case="no")
    texts = "\n".join(x[2] for x in expected)
    check(other in texts and low in texts,
          "precondition: both %r and %r found" % (low, other))


@R.test
def literal_with_metacharacters():
    s = metachar_string()
    doc, expected = run_and_compare(s, literal=True)
    check(expected, "precondition: %r found" % s)
    eq(doc["query"].get("literal"), True, "query.literal echo")
    doc, expected = run_and_compare("foo(", literal=1)
    doc, expected = run_and_compare("(" + s, literal="true")


@R.test
def case_modes():
    low, other = word_with_case_variants()
    for q, case in ((low, "auto"), (other, "auto"), (low, "yes"),
                    (other, "no"), (low, "no"), (other, "yes")):
        doc, expected = run_and_compare(q, case=case)
        check(expected, "precondition: %r case=%s matches" % (q, case))
        eq(doc["query"].get("case"), case, "query.case echo")
        eq(doc["query"].get("ignore_case"),
           case == "no" or (case == "auto" and q == q.lower()), "query.ignore_case")
    # PCRE2 names and verbs are not text: auto stays case-insensitive
    for q, want in (("(?<Name>%s)" % low, True), ("(*NO_JIT)" + low, True),
                    ("(?<Name>%s)" % other, False), ("[A-Z]" + low, False)):
        doc = SRV().search_ok(q, max=0)
        eq(doc["query"].get("ignore_case"), want, "query.ignore_case for %r" % q)
        if want:
            eq(doc["stats"]["matched_lines"],
               SRV().search_ok(low, max=0, case="no")["stats"]["matched_lines"],
               "%r matches as %r case=no" % (q, low))
    # auto is the default and is smart
    n_low = SRV().search_ok(low, max=0)["stats"]["matched_lines"]
    n_no = SRV().search_ok(low, max=0, case="no")["stats"]["matched_lines"]
    n_other = SRV().search_ok(other, max=0)["stats"]["matched_lines"]
    n_other_yes = SRV().search_ok(other, max=0, case="yes")["stats"]["matched_lines"]
    eq(n_low, n_no, "lower-case q with default case is insensitive")
    eq(n_other, n_other_yes, "q with an upper-case letter is sensitive")
    check(n_other < n_low, "precondition: variants differ in count")


GLOB_CASES = [
    {"path": "*.c"},
    {"path": "src/"},
    {"path": "**/*.py"},
    {"path": "*.{c,h}"},
    {"path": "src/*.h"},
    {"path": "src/**/*.c"},
    {"path": "tests"},
    {"path": "*.c,*.py"},
    {"exclude": "*.h"},
    {"exclude": "src/,web/"},
    {"path": "*.{c,h,go}", "exclude": "src/net/"},
    {"path": "{src,web}/"},
    {"path": "**/src/"},
    {"path": "**/src/*.js"},
]


@R.test
def path_and_exclude_globs():
    c = C()
    for params in GLOB_CASES:
        sel = c.select(params.get("path", ""), params.get("exclude", ""))
        check(sel and len(sel) < len(c.files),
              "precondition: %r selects some but not all files (%d)"
              % (params, len(sel)))
        doc, expected = run_and_compare(".", **params)
        got_files = {r["path"] for r in doc["results"]}
        check(got_files <= set(sel), "%r: results outside the selection %r"
              % (params, sorted(got_files - set(sel))))
        echo = doc["query"]
        for k, v in params.items():
            eq(echo.get(k), v, "query.%s echo" % k)


@R.test
def max_truncates_but_counts_stay_exact():
    srv, c = SRV(), C()
    w = common_word()
    expected = c.search(w)
    n = len(expected)
    nfiles = len({p for p, _, _, _ in expected})
    check(n > 5, "precondition")
    rx = compile_like_shardgrep(w)
    for m in (0, 1, 3, n - 1, n, n + 1, 100000):
        doc = srv.search_ok(w, max=m)
        st = doc["stats"]
        eq(st.get("matched_lines"), n, "matched_lines with max=%d" % m)
        eq(st.get("matched_files"), nfiles, "matched_files with max=%d" % m)
        eq(st.get("returned"), min(n, m), "returned with max=%d" % m)
        eq(st.get("truncated"), n > m, "truncated with max=%d" % m)
        eq(len(doc["results"]), min(n, m), "len(results) with max=%d" % m)
        eq(doc["query"].get("max"), m, "query.max echo")
        check_results(doc, expected[:m], rx, "max=%d" % m)


@R.test
def context_lines_match_file():
    for ctx in (1, 2, 10):
        run_and_compare(".", context=ctx, what="context=%d" % ctx)
    doc, _ = run_and_compare(common_word(), context=3)
    eq(doc["query"].get("context"), 3, "query.context echo")


@R.test
def context_lines_match_api_files():
    srv = SRV()
    doc = srv.search_ok(common_word(), context=2, max=50)
    cache = {}
    for r in doc["results"]:
        p = r["path"]
        if p not in cache:
            f = srv.files(p)
            expect_json(f, 200, "GET /api/files/%s" % p)
            cache[p] = f.json["lines"]
        lines, n = cache[p], r["line"]
        for key, want in (("before", lines[max(0, n - 3):n - 1]),
                          ("after", lines[n:n + 2])):
            got = r.get(key) or []
            check(len(got) == len(want) and all(
                clip_ok(g, w) for g, w in zip(got, want)),
                "%s:%d %s %r vs /api/files %r"
                % (p, n, key, [g[:80] for g in got], [w[:80] for w in want]))
        if not r.get("clipped"):
            eq(r["text"], lines[n - 1], "%s:%d text vs /api/files" % (p, n))


@R.test
def long_line_is_clipped_around_match():
    c = C()
    longs = [(f, i + 1) for f in c.files for i, l in enumerate(c.lines(f))
             if len(l.encode("utf-8")) > CLIP]
    check(longs, "precondition: a line over 1024 bytes in the corpus")
    doc, expected = run_and_compare("longline_marker")
    check(expected, "precondition: longline_marker found")
    clipped = [r for r in doc["results"] if r.get("clipped")]
    check(clipped, "no clipped result for longline_marker: %r"
          % [(r["path"], r["line"], len(r["text"])) for r in doc["results"]])
    # a match deep inside a long line: pick a word near its end
    f, n = longs[0]
    full = c.lines(f)[n - 1]
    fb = full.encode("utf-8")
    tail_words = re.findall(r"[A-Za-z_]{6,}", fb[len(fb) * 3 // 4:].decode(
        "utf-8", "ignore"))
    if tail_words:
        w = tail_words[-1]
        run_and_compare(w, literal=True, case="yes", path=f)


@R.test
def latin1_line_is_valid_utf8_with_ranges():
    srv, c = SRV(), C()
    bad = [f for f in c.files if not c.is_utf8(f)]
    check(bad, "precondition: a non-UTF-8 file in the corpus")
    run_and_compare("legacy_marker")
    tried = 0
    for f in bad:
        for i, line in enumerate(c.lines(f)):
            k = line.find("\ufffd")
            if k < 0:
                continue
            after = re.findall(r"[A-Za-z]{4,}", line[k:])
            if not after:
                continue
            w = after[0]
            doc = srv.search_ok(w, literal=True, case="yes", path=f)
            rows = [r for r in doc["results"] if r["line"] == i + 1]
            eq(len(rows), 1, "%s:%d found by %r" % (f, i + 1, w))
            r = rows[0]
            check("\ufffd" in r["text"], "%s:%d: no U+FFFD in %r"
                  % (f, i + 1, r["text"]))
            check(r["text"] in line_text_variants(c, f, i + 1),
                  "%s:%d text %r" % (f, i + 1, r["text"]))
            tb = r["text"].encode("utf-8")
            check(r["ranges"], "%s:%d no ranges" % (f, i + 1))
            for a, b in r["ranges"]:
                eq(tb[a:b], w.encode(), "%s:%d range %r" % (f, i + 1, [a, b]))
            eq(r["ranges"], byte_ranges(re.compile(re.escape(w)), r["text"]),
               "%s:%d ranges" % (f, i + 1))
            tried += 1
            if tried >= 3:
                return
    check(tried, "precondition: a Latin-1 line with a word after the bad byte")


@R.test
def crlf_lines_have_no_cr():
    srv, c = SRV(), C()
    crlf = [f for f in c.files if b"\r\n" in c.raw(f)]
    check(crlf, "precondition: a CRLF file in the corpus")
    run_and_compare("crlf_marker")
    for f in crlf:
        doc, expected = run_and_compare(".", path=f)
        for r in doc["results"]:
            check("\r" not in r["text"], "%s:%d has a CR: %r"
                  % (f, r["line"], r["text"]))
        r = srv.files(f)
        expect_json(r, 200, "GET /api/files/" + f)
        check(not any("\r" in l for l in r.json["lines"]),
              "/api/files/%s lines hold a CR" % f)


@R.test
def markers():
    srv, c = SRV(), C()
    for m in ("ignored_marker", "binary_marker"):
        doc = srv.search_ok(m)
        eq([(r["path"], r["line"]) for r in doc["results"]], [],
           "results for %s" % m)
        eq(doc["stats"]["matched_lines"], 0, "matched_lines for %s" % m)
    for m in ("negated_keep_marker", "anchored_keep_marker", "longline_marker",
              "crlf_marker", "legacy_marker", "dotfile_marker", "xss_marker",
              "no_final_newline_marker"):
        doc, expected = run_and_compare(m)
        check(expected, "precondition: %s in an indexed file" % m)
        check(doc["results"], "%s not found" % m)


@R.test
def paging_on_search():
    srv = SRV()
    w = common_word()
    full = srv.search_ok(w)["results"]
    check(len(full) >= 6, "precondition")
    doc = srv.search_ok(w, offset=2, limit=3)
    eq(doc["results"], full[2:5], "results of offset=2 limit=3")
    eq(doc.get("page"), {"offset": 2, "limit": 3, "count": 3}, "page")
    eq(doc["stats"]["returned"], len(full), "returned is not the page size")


# ---------------------------------------------------------------------------
# Files


@R.test
def files_equal_disk():
    srv, c = SRV(), C()
    for f in c.files:
        r = srv.files(f)
        expect_json(r, 200, "GET /api/files/%s" % f)
        d = r.json
        eq(d.get("path"), f, "path of /api/files/%s" % f)
        want = c.lines(f)
        eq(d.get("line_count"), len(want), "line_count of %s" % f)
        got = d.get("lines")
        check(isinstance(got, list), "lines of %s" % f)
        if c.is_utf8(f) and b"\r" not in c.raw(f):
            eq(got, c.raw(f).decode("utf-8").split("\n")[:len(want)],
               "lines of %s (file split on LF)" % f)
        for i, g in enumerate(got):
            check(g in line_text_variants(c, f, i + 1),
                  "%s:%d: %r, file has %r" % (f, i + 1, g[:200], want[i][:200]))
        check(not d.get("clipped_lines"), "%s: clipped_lines %r without a "
              "line over 63 KiB" % (f, d.get("clipped_lines")))


@R.test
def files_line_over_63k_is_cut_and_listed():
    tmp = TempDir()
    big = "y" * 70000 + " tail_marker " + "z" * 30000
    with open(os.path.join(tmp.path, "big.txt"), "w") as f:
        f.write("first line\n" + big + "\nlast line\n")
    srv = Server(["--workers", "1"], root=tmp.path).start()
    try:
        r = srv.files("big.txt")
        expect_json(r, 200, "GET /api/files/big.txt")
        d = r.json
        eq(d.get("line_count"), 3, "line_count")
        lines = d.get("lines")
        eq((lines[0], lines[2]), ("first line", "last line"), "short lines")
        lb = lines[1].encode("utf-8")
        check(63 * 1024 - 3 <= len(lb) <= 63 * 1024 and big.startswith(lines[1]),
              "the long line should be its first 63 KiB, got %d bytes" % len(lb))
        eq(d.get("clipped_lines"), [2], "clipped_lines")
        doc = srv.search_ok("tail_marker")
        eq(len(doc["results"]), 1, "results for tail_marker")
        res = doc["results"][0]
        check_clipped(res, big, re.compile("tail_marker"), "big.txt:2")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


ODD_NAMES = [b"with space.c", "\u00e9\u65e5\u672c.c".encode(), b"hash#x.c", b"q?mark.c",
             b"pct%41.c", b"plus+x.c", b"comma,x.c", b"new\nline.c", b"star*x.c",
             b"brack[1].c", b"back\\slash.c", b"semi;colon.c", b"amp&x.c", b"quote'\".c",
             b"dir with space/inner.c", b"-dash.c", b".hidden.c", b"tab\tname.c",
             b"bad\xffname.c", b"two\xfe.c", b"two\xff.c", b"caf\xe9/x.c"]


@R.test
def odd_file_names_round_trip():
    """Every name a result shows opens in the file view: spaces, '#', '?',
    '%', newlines, non-ASCII, and names that are not UTF-8 (shown, and
    looked up, with U+FFFD for each bad byte; of two that read the same,
    the first in byte order opens)."""
    tmp = TempDir()
    root = tmp.path.encode()
    for i, name in enumerate(ODD_NAMES):
        full = os.path.join(root, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(b"int oddneedle_%d;\n" % i)
    srv = Server(["--workers", "2"], root=tmp.path).start()
    try:
        doc = srv.search_ok("oddneedle_", max=100)
        eq(doc["stats"]["matched_files"], len(ODD_NAMES), "files found")
        shown = {n.decode("utf-8", "replace"): n for n in sorted(ODD_NAMES, reverse=True)}
        for r in doc["results"]:
            check(r["path"] in shown, "unexpected path %r" % r["path"])
            resp = srv.files(r["path"])
            expect_json(resp, 200, "GET /api/files/ for %r" % r["path"])
            want = b"int oddneedle_%d;" % ODD_NAMES.index(shown[r["path"]])
            eq(resp.json.get("lines"), [want.decode()], "the lines of %r" % r["path"])
        eq(sorted(r["path"] for r in doc["results"]),
           sorted(n.decode("utf-8", "replace") for n in ODD_NAMES), "paths as shown")
        expect_error(srv.files("two\ufffd\ufffd.c"), 404, "not_found", "two U+FFFD for one byte")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test
def files_edge_cases():
    srv, c = SRV(), C()
    empty = [f for f in c.files if not c.raw(f)]
    nonl = [f for f in c.files if c.raw(f) and not c.raw(f).endswith(b"\n")]
    check(empty and nonl, "precondition: an empty file and one without a "
          "final newline")
    r = srv.files(empty[0])
    expect_json(r, 200, "GET /api/files/" + empty[0])
    eq((r.json.get("line_count"), r.json.get("lines")), (0, []), "empty file")
    r = srv.files(nonl[0])
    expect_json(r, 200, "GET /api/files/" + nonl[0])
    eq(r.json.get("lines")[-1], c.lines(nonl[0])[-1], "last line without LF")


@R.test
def files_not_indexed_are_404():
    srv, c = SRV(), C()
    paths = []
    check(c.ignored and c.binary, "precondition: ignored and binary files")
    paths += ["/api/files/" + quote_path(c.ignored[0]),
              "/api/files/" + quote_path(c.binary[0]),
              "/api/files/../etc/passwd",
              "/api/files/%2e%2e/etc/passwd",
              "/api/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
              "/api/files/src/../../../../etc/passwd",
              "/api/files//etc/passwd",
              "/api/files/%2Fetc%2Fpasswd",
              "/api/files/no/such/file.c",
              "/api/files/src",
              "/api/files/"]
    for p in paths:
        r = srv.request("GET", p)
        expect_error(r, 404, "not_found", "GET %s" % p)
        check(b"root:" not in r.body, "GET %s leaked /etc/passwd" % p)


# ---------------------------------------------------------------------------
# Stats, health, static


@R.test
def stats_figures():
    srv, c = SRV(), C()
    st = srv.stats()
    eq(st.get("files"), len(c.files), "stats.files (indexable files)")
    check(isinstance(st.get("lines"), int) and st["lines"] > 0, "stats.lines")
    eq(st["lines"], c.total_lines(), "stats.lines (sum of files' lines)")
    check(isinstance(st.get("bytes"), int) and st["bytes"] > 0, "stats.bytes")
    shards = st.get("shards")
    check(isinstance(shards, list) and len(shards) == WORKERS, "shards %r" % shards)
    for key in ("files", "lines", "bytes"):
        eq(sum(s.get(key, 0) for s in shards), st[key], "sum of shards' %s" % key)
    for s in shards:
        check(s.get("up") is True and isinstance(s.get("pid"), int)
              and isinstance(s.get("load_ms"), (int, float)),
              "shard entry %r" % s)
    sk = st.get("skipped")
    check(isinstance(sk, dict) and all(isinstance(sk.get(k), int) for k in
                                       ("binary", "too_large", "ignored",
                                        "unreadable")), "skipped %r" % sk)
    eq(sk["binary"], len(c.binary), "skipped.binary")
    check(sk["ignored"] > 0, "skipped.ignored is 0 with ignored files")
    mem = st.get("memory")
    check(isinstance(mem, dict) and mem.get("rss_bytes", 0) > 0
          and mem.get("master_rss_bytes", 0) > 0
          and mem.get("workers_rss_bytes", 0) > 0, "memory %r" % mem)
    check(mem["rss_bytes"] >= mem["master_rss_bytes"], "rss < master rss")
    check(isinstance(st.get("uptime_s"), (int, float)) and st["uptime_s"] >= 0,
          "uptime_s %r" % st.get("uptime_s"))
    qs = st.get("queries")
    check(isinstance(qs, dict) and all(isinstance(qs.get(k), int) for k in
                                       ("total", "running", "kept")), "queries %r" % qs)
    srv.search_ok(common_word())
    qs2 = srv.stats()["queries"]
    check(qs2["total"] >= qs["total"] + 1, "queries.total did not grow: %r -> %r"
          % (qs, qs2))


@R.test
def healthz():
    r = SRV().get("/healthz")
    expect_json(r, 200, "GET /healthz")
    eq({k: r.json.get(k) for k in ("status", "shards_up", "shards_total")},
       {"status": "ok", "shards_up": WORKERS, "shards_total": WORKERS},
       "healthz body")


@R.test
def root_serves_html():
    r = SRV().get("/")
    eq(r.status, 200, "GET / status")
    check(r.content_type.split(";")[0].strip() == "text/html",
          "GET / Content-Type %r" % r.content_type)
    check(b"<html" in r.body.lower() or b"<!doctype" in r.body.lower(),
          "GET / body is not HTML: %r" % r.body[:200])


@R.test
def web_root_option_serves_static_files():
    tmp = TempDir()
    root = os.path.join(tmp.path, "www")
    os.makedirs(os.path.join(root, "js"))
    files = {"index.html": b"<!doctype html><html><body>sg_index</body></html>\n",
             "js/app.js": b"console.log('sg_app');\n",
             "style.css": b"body { color: red }\n"}
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
    with open(os.path.join(tmp.path, "secret.txt"), "wb") as f:
        f.write(b"sg_secret_outside_root\n")
    srv = Server(["--workers", "1", "--web-root", root]).start()
    try:
        for path, rel, ctype in (("/", "index.html", "text/html"),
                                 ("/index.html", "index.html", "text/html"),
                                 ("/js/app.js", "js/app.js", "javascript"),
                                 ("/style.css", "style.css", "text/css")):
            r = srv.get(path)
            eq(r.status, 200, "GET %s status" % path)
            eq(r.body, files[rel], "GET %s body" % path)
            check(ctype in r.content_type, "GET %s Content-Type %r, want %s"
                  % (path, r.content_type, ctype))
        for path in ("/../secret.txt", "/%2e%2e/secret.txt",
                     "/js/../../secret.txt", "/%2e%2e%2fsecret.txt"):
            r = srv.request("GET", path)
            check(b"sg_secret_outside_root" not in r.body,
                  "GET %s served a file outside the web root" % path)
            check(r.status in (400, 403, 404), "GET %s status %d"
                  % (path, r.status))
        r = srv.get("/no-such-page.html")
        expect_error(r, 404, "not_found", "GET /no-such-page.html")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


# ---------------------------------------------------------------------------
# Errors


@R.test
def unknown_routes_404_json():
    srv = SRV()
    for p in ("/api/nope", "/api/search/extra", "/api", "/api/",
              "/no-such-page.html"):
        expect_error(srv.request("GET", p), 404, "not_found", "GET %s" % p)


@R.test
def wrong_method_405_with_allow():
    srv = SRV()
    qid = srv.post_query({"q": common_word()})["id"]
    cases = [("POST", "/api/search?q=x", ["GET"]),
             ("DELETE", "/api/search?q=x", ["GET"]),
             ("GET", "/api/queries", ["POST"]),
             ("PUT", "/api/queries", ["POST"]),
             ("POST", "/api/queries/" + qid, ["GET", "DELETE"]),
             ("PUT", "/api/queries/" + qid, ["GET", "DELETE"]),
             ("DELETE", "/api/stats", ["GET"]),
             ("POST", "/healthz", ["GET"]),
             ("DELETE", "/api/files/README.md", ["GET"])]
    for method, path, allow in cases:
        r = srv.request(method, path, body=b"{}" if method in ("POST", "PUT")
                        else None)
        expect_error(r, 405, "method_not_allowed", "%s %s" % (method, path))
        hdr = r.headers.get("allow")
        check(hdr is not None, "%s %s: no Allow header" % (method, path))
        methods = {m.strip().upper() for m in hdr.split(",")}
        for m in allow:
            check(m in methods, "%s %s: Allow %r lacks %s"
                  % (method, path, hdr, m))
        check(method not in methods, "%s %s: Allow %r lists %s"
              % (method, path, hdr, method))


@R.test
def bad_regex_400_with_offset():
    srv = SRV()
    for q, off in (("foo(", 4), ("[a-", None), ("a{2,1}", None), ("(?<x", None),
                   ("x**", None), ("\\", None)):
        err = expect_error(srv.search(q), 400, "bad_regex", "q=%r" % q)
        check(isinstance(err.get("offset"), int) and 0 <= err["offset"] <= len(q),
              "q=%r: offset %r" % (q, err.get("offset")))
        if off is not None:
            eq(err["offset"], off, "q=%r: offset" % q)
    expect_error(srv.post("/api/queries", {"q": "foo("}), 400, "bad_regex",
                 "POST q=foo(")


@R.test
def missing_q_400():
    srv = SRV()
    expect_error(srv.request("GET", "/api/search"), 400, "missing_parameter",
                 "no q", param="q")
    expect_error(srv.request("GET", "/api/search?q="), 400, "missing_parameter",
                 "empty q", param="q")
    expect_error(srv.request("GET", "/api/search?max=3"), 400,
                 "missing_parameter", "no q with max", param="q")
    expect_error(srv.post("/api/queries", {}), 400, "missing_parameter",
                 "POST {}", param="q")
    expect_error(srv.post("/api/queries", {"q": ""}), 400, "missing_parameter",
                 "POST q empty", param="q")


@R.test
def q_length_limit():
    srv = SRV()
    doc = srv.search_ok("a" * 4096)
    eq(doc["stats"]["matched_lines"], 0, "4096-byte q")
    expect_error(srv.search("a" * 4097), 400, "bad_parameter",
                 "4097-byte q", param="q")


BAD_SEARCH_VALUES = [
    ("max", "-1"), ("max", "100001"), ("max", "abc"), ("max", "1.5"),
    ("max", "10x"),
    ("context", "11"), ("context", "-1"), ("context", "x"),
    ("case", "maybe"), ("case", "YESS"),
    ("literal", "2"), ("literal", "maybe"),
    ("offset", "-1"), ("offset", "abc"),
    ("limit", "-1"), ("limit", "100001"), ("limit", "x"),
    ("timeout_ms", "0"), ("timeout_ms", "abc"), ("timeout_ms", "-5"),
]


@R.test
def bad_parameter_values_on_search():
    srv = SRV()
    for name, val in BAD_SEARCH_VALUES:
        r = srv.get("/api/search", {"q": "kv", name: val})
        expect_error(r, 400, "bad_parameter", "%s=%r" % (name, val), param=name)


@R.test
def good_boundary_values_accepted():
    srv = SRV()
    for name, val in (("max", "0"), ("max", "100000"), ("context", "0"),
                      ("context", "10"), ("literal", "true"),
                      ("literal", "false"), ("literal", "0"), ("case", "yes"),
                      ("limit", "0"), ("limit", "100000"), ("timeout_ms", "1"),
                      ("offset", "0")):
        r = srv.get("/api/search", {"q": "kv", name: val})
        expect_json(r, 200, "%s=%s" % (name, val))


@R.test
def unknown_or_repeated_parameters_400():
    """GET refuses what it does not take, as POST refuses an unknown field:
    a typo such as paths= used to search everything, quietly."""
    srv = SRV()
    qid = srv.post_query({"q": common_word()})["id"]
    for path, name in (("/api/search?q=kv_get&paths=src", "paths"),
                       ("/api/search?q=kv_get&Max=3", "Max"),
                       ("/api/search?q=kv_get&flag", "flag"),
                       ("/api/search?q=kv_get&%E2%82%AC=1", "\u20ac"),
                       ("/api/queries/%s?wait=5" % qid, "wait"),
                       ("/api/queries/%s?q=x" % qid, "q"),
                       ("/api/stats?verbose=1", "verbose"),
                       ("/api/files/README.md?line=3", "line")):
        err = expect_error(srv.get(path), 400, "bad_parameter", path, param=name)
        check(name in err["message"], "%s: the message does not name %r: %r" % (path, name, err))
    for path, name in (("/api/search?q=kv_get&q=kv_put", "q"),
                       ("/api/search?q=kv_get&max=3&max=4", "max"),
                       ("/api/queries/%s?limit=1&limit=2" % qid, "limit")):
        err = expect_error(srv.get(path), 400, "bad_parameter", path, param=name)
        check("more than once" in err["message"], "%s: %r" % (path, err))
    expect_error(srv.request("POST", "/api/queries?q=kv_get", body={"q": "kv_get"}), 400,
                 "bad_parameter", "POST /api/queries?q=", param="q")
    # What each route takes is still taken, and /healthz (for probes that
    # add their own parameters) takes anything.
    every = {"q": "kv_get", "literal": "1", "case": "no", "path": "*", "exclude": "x",
             "tree": "*", "max": "5", "context": "1", "timeout_ms": "5000", "offset": "0",
             "limit": "5", "wait_ms": "0"}
    eq(srv.get("/api/search", every).json["status"], "done", "every search parameter")
    expect_json(srv.get("/api/queries/" + qid, {"offset": "0", "limit": "1", "wait_ms": "10"}),
                200, "GET a query with its paging parameters")
    expect_json(srv.get("/healthz?probe=1"), 200, "/healthz?probe=1")


@R.test
def match_limit_is_partial():
    """Lines PCRE2 gives up on (its match limit) leave the results
    incomplete: the status says partial and why, in the documented shape
    (it used to say done, with a bare "error" string beside it)."""
    srv = SRV()
    r = srv.search("(*LIMIT_MATCH=1)(a|b)*c+.x")
    expect_json(r, 200, "a search over the limit")
    doc = r.json
    st = doc["stats"]
    check(st.get("limit_hits", 0) > 0, "no limit_hits: %r" % st)
    eq((doc["status"], st["incomplete"]), ("partial", ["match_limit"]), "status, stats.incomplete")
    eq(doc["error"]["code"], "match_limit", "error.code")
    check(str(st["limit_hits"]) in doc["error"]["message"], "the message does not count the lines: %r"
          % doc["error"])
    eq(st["shards"]["failed"], [], "no shard failed")
    whole = srv.search_ok("kv_get")
    eq((whole["stats"]["incomplete"], "error" in whole), ([], False), "a whole answer's gaps")


@R.test
def bad_parameter_values_on_queries():
    srv = SRV()
    qid = srv.post_query({"q": common_word()})["id"]
    for name, val in (("offset", "-1"), ("offset", "x"), ("limit", "-1"),
                      ("limit", "100001"), ("limit", "x"), ("wait_ms", "-1"),
                      ("wait_ms", "60001"), ("wait_ms", "soon")):
        r = srv.get("/api/queries/" + qid, {name: val})
        expect_error(r, 400, "bad_parameter", "GET query %s=%r" % (name, val),
                     param=name)
    for body, name in (({"q": "x", "max": "abc"}, "max"),
                       ({"q": "x", "max": -1}, "max"),
                       ({"q": "x", "max": 100001}, "max"),
                       ({"q": "x", "context": 11}, "context"),
                       ({"q": "x", "case": "maybe"}, "case"),
                       ({"q": "x", "literal": 2}, "literal"),
                       ({"q": "x", "literal": "maybe"}, "literal"),
                       ({"q": "x", "timeout_ms": 0}, "timeout_ms"),
                       ({"q": 5}, "q"),
                       ({"q": ["x"]}, "q")):
        expect_error(srv.post("/api/queries", body), 400, "bad_parameter",
                     "POST %r" % body, param=name)
    for body in ({"q": "x", "literal": True, "max": 5, "case": "no"},
                 {"q": "x", "literal": 1, "context": 2, "path": "*.c",
                  "exclude": "tests"},
                 {"q": "x", "literal": False}):
        r = srv.post("/api/queries", body)
        expect_json(r, 202, "POST %r" % body)


@R.test
def bad_json_400():
    srv = SRV()
    for body in (b"{", b"[1, 2]", b'"q"', b"null", b"42", b"", b"{'q': 'x'}",
                 b'{"q": "x"} trailing'):
        r = srv.request("POST", "/api/queries", body=body,
                        headers={"Content-Type": "application/json"})
        expect_error(r, 400, "bad_json", "POST body %r" % body)


@R.test
def body_too_large_413():
    srv = SRV()
    pad = "a" * (64 * 1024)
    body = ('{"q": "x", "pad": "%s"}' % pad).encode()
    r = srv.request("POST", "/api/queries", body=body,
                    headers={"Content-Type": "application/json"})
    expect_error(r, 413, "body_too_large", "POST of %d bytes" % len(body))
    body = ('{"q": "kv", "path": "%s"}' % ("*," * 20000)).encode()
    check(len(body) < 64 * 1024, "setup")
    r = srv.request("POST", "/api/queries", body=body,
                    headers={"Content-Type": "application/json"})
    check(r.status != 413, "a %d-byte body was refused as too large"
          % len(body))


@R.test
def json_content_type_has_charset():
    r = SRV().get("/api/stats")
    ct = r.content_type.lower().replace(" ", "")
    eq(ct, "application/json;charset=utf-8", "Content-Type of /api/stats")


if __name__ == "__main__":
    R.main()
