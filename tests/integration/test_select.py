#!/usr/bin/env python3
"""The searches code searchers ask for, against the real server: file-name
search (kind=path), files and counts (select=files, select=count),
languages (lang=, GET /api/langs, "lang" on each result) and facets
(stats.facets).  Expected answers come from the files on disk
(sgtest.Corpus, Python's re) and from a small table of extensions written
here, never from the server."""

import collections
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import (Corpus, Lazy, Server, TempDir, byte_ranges, check,  # noqa: E402
                    compile_like_shardgrep, eq, expect_error, expect_json, set_diff)

R = sgtest.Runner("test_select")
sgtest.register_common_self_checks(R)

SRV = Lazy(lambda: Server(["--workers", "2"]).start())
C = Lazy(Corpus)
R.finally_(*sgtest.stop_check(SRV))

# A few languages by extension, independent of the server's table: each
# file of the sample corpus with one of these is of that language.
EXT_LANG = {".c": "c", ".h": "c", ".go": "go", ".py": "python", ".js": "js",
            ".md": "markdown", ".sh": "sh", ".html": "html", ".css": "css"}
NAME_LANG = {"Makefile": "make", "go.mod": None}


def lang_of(path):
    base = path.rsplit("/", 1)[-1]
    if base in NAME_LANG:
        return NAME_LANG[base]
    ext = os.path.splitext(base)[1]
    return EXT_LANG.get(ext)


def expected_paths(q, literal=False, case="auto", path="", exclude=""):
    """[(path, ranges)] of the indexed files whose path matches q."""
    rx = compile_like_shardgrep(q, literal, case)
    out = []
    for f in C().select(path, exclude):
        r = byte_ranges(rx, f)
        if r or (rx.search(f) is not None):
            out.append((f, r))
    return out


def common_word():
    return C().common_word()


def files_of(hits):
    """{path: matching lines} from Corpus.search results."""
    counts = collections.Counter()
    for p, _, _, _ in hits:
        counts[p] += 1
    return counts


# ---------------------------------------------------------------------------
# kind=path


@R.test(timeout=120)
def path_search_matches_paths():
    srv = SRV()
    cases = [("kv", {}), (r"\.h$", {}), ("Makefile", {"case": "yes"}),
             ("makefile", {"case": "no"}), ("src/net", {"literal": "1"}),
             (r"(^|/)test_\w+\.c$", {}), ("c", {"path": "src/", "exclude": "*.h"}),
             ("main", {"path": "cli/**/*.go"})]
    for q, opts in cases:
        doc = srv.search_ok(q, kind="path", max=100000, **opts)
        want = expected_paths(q, literal=opts.get("literal") == "1",
                              case=opts.get("case", "auto"), path=opts.get("path", ""),
                              exclude=opts.get("exclude", ""))
        check(want, "precondition: %r matches some path" % q)
        got = [(r["path"], r["ranges"]) for r in doc["results"]]
        eq(got, want, "kind=path %r %r: paths and ranges in order" % (q, opts))
        st = doc["stats"]
        eq((st["matched_files"], st["matched_lines"], st["returned"], st["truncated"]),
           (len(want), 0, len(want), False), "kind=path %r: stats" % q)
        eq((doc["query"]["kind"], doc["query"]["select"]), ("path", "files"), "query echo")
        for r in doc["results"]:
            check("line" not in r and "text" not in r, "a path result has no line: %r" % r)


@R.test(timeout=60)
def path_search_leaves_out_what_is_not_indexed():
    srv = SRV()
    c = C()
    check(c.binary and c.ignored, "precondition: the corpus has binary and ignored files")
    names = [os.path.basename(p) for p in c.binary + c.ignored]
    for name in names:
        doc = srv.search_ok(name, kind="path", literal=1, case="yes", max=100000)
        got = {r["path"] for r in doc["results"]}
        want = {f for f in c.files if name in f}
        set_diff(got, want, "kind=path for the unindexed file %r" % name)


@R.test(timeout=60)
def path_search_max_paging_and_count():
    srv = SRV()
    want = [p for p, _ in expected_paths("s")]
    check(len(want) > 6, "precondition: many paths hold an s")
    doc = srv.search_ok("s", kind="path", max=5)
    eq([r["path"] for r in doc["results"]], want[:5], "max=5: the first five paths")
    st = doc["stats"]
    eq((st["matched_files"], st["returned"], st["truncated"]), (len(want), 5, True),
       "max=5: counts stay exact")
    sub = srv.post_query({"q": "s", "kind": "path", "max": 100000})
    page = srv.wait_query(sub["id"], offset=3, limit=4).json
    eq([r["path"] for r in page["results"]], want[3:7], "a page of a kind=path query")
    cnt = srv.search_ok("s", kind="path", select="count")
    eq((cnt["results"], cnt["stats"]["matched_files"], cnt["stats"]["returned"]),
       ([], len(want), 0), "kind=path select=count: totals only")


# ---------------------------------------------------------------------------
# select=files and select=count


@R.test(timeout=120)
def select_files_counts_each_file():
    srv = SRV()
    c = C()
    for q, opts in [(common_word(), {}), ("include", {"path": "*.c"}), (r"\bint\b", {})]:
        hits = c.search(q, path=opts.get("path", ""))
        counts = files_of(hits)
        check(counts, "precondition: %r matches" % q)
        want = sorted(counts.items(), key=lambda kv: kv[0].encode())
        doc = srv.search_ok(q, select="files", max=100000, **opts)
        got = [(r["path"], r["count"]) for r in doc["results"]]
        eq(got, want, "select=files %r: each file once with its count, in path order" % q)
        st = doc["stats"]
        eq((st["matched_lines"], st["matched_files"], st["returned"], st["truncated"]),
           (len(hits), len(want), len(want), False), "select=files %r: stats" % q)
        cut = srv.search_ok(q, select="files", max=2, **opts)
        eq([(r["path"], r["count"]) for r in cut["results"]], want[:2],
           "select=files max=2: the first two files, counts whole")
        eq((cut["stats"]["matched_lines"], cut["stats"]["matched_files"],
            cut["stats"]["truncated"]), (len(hits), len(want), len(want) > 2),
           "select=files max=2: counts exact")


@R.test(timeout=60)
def select_files_paged_by_id():
    srv = SRV()
    q = common_word()
    want = sorted(files_of(C().search(q)).items(), key=lambda kv: kv[0].encode())
    check(len(want) > 3, "precondition: %r is in several files" % q)
    sub = srv.post_query({"q": q, "select": "files"})
    page = srv.wait_query(sub["id"], offset=1, limit=2).json
    eq([(r["path"], r["count"]) for r in page["results"]], want[1:3], "page 1..3 of the files")
    eq(page["page"]["count"], 2, "page count")


@R.test(timeout=60)
def select_count_returns_totals():
    srv = SRV()
    q = common_word()
    hits = C().search(q)
    doc = srv.search_ok(q, select="count")
    eq(doc["results"], [], "select=count: no results")
    st = doc["stats"]
    eq((st["matched_lines"], st["matched_files"], st["returned"], st["truncated"]),
       (len(hits), len(files_of(hits)), 0, False), "select=count: exact totals, nothing cut")
    eq(doc["query"]["select"], "count", "query echo")


# ---------------------------------------------------------------------------
# Languages


@R.test(timeout=60)
def langs_are_listed():
    srv = SRV()
    r = srv.get("/api/langs")
    expect_json(r, 200, "GET /api/langs")
    langs = r.json["langs"]
    names = [x["name"] for x in langs]
    eq(len(names), len(set(names)), "language names are unique")
    by = {x["name"]: x["globs"] for x in langs}
    for name, globs in [("c", ["*.c", "*.h"]), ("go", ["*.go"]), ("make", ["Makefile"]),
                        ("python", ["*.py"]), ("docker", ["Dockerfile"])]:
        check(name in by, "%s is listed" % name)
        for g in globs:
            check(g in by[name], "%s lists %s: %r" % (name, g, by[name]))
    seen = collections.Counter(g for x in langs for g in x["globs"])
    dup = [g for g, n in seen.items() if n > 1]
    eq(dup, [], "no glob belongs to two languages")
    expect_error(srv.get("/api/langs?x=1"), 400, "bad_parameter", "GET /api/langs?x=1", "x")
    r = srv.request("POST", "/api/langs", body={})
    eq(r.status, 405, "POST /api/langs")


@R.test(timeout=120)
def lang_filters_and_labels():
    srv = SRV()
    c = C()
    q = common_word()
    every = c.search(q)
    for langs in ["c", "go", "c,markdown", "GO"]:
        wanted = set(langs.lower().split(","))
        want = [(p, n) for p, n, _, _ in every if lang_of(p) in wanted]
        doc = srv.search_ok(q, lang=langs, max=100000)
        got = [(r["path"], r["line"]) for r in doc["results"]]
        eq(got, want, "lang=%s: exactly the lines of those files" % langs)
        eq(doc["query"]["lang"], langs, "query echo of lang")
    # Every result names its language where the table here knows it.
    doc = srv.search_ok(q, max=100000)
    for r in doc["results"]:
        known = lang_of(r["path"])
        if known:
            eq(r.get("lang"), known, "lang of %s" % r["path"])
    # Files and paths too.
    for r in srv.search_ok(q, select="files")["results"] + \
            srv.search_ok(".", kind="path", max=100000)["results"]:
        known = lang_of(r["path"])
        if known:
            eq(r.get("lang"), known, "lang of %s" % r["path"])
    # lang=none: the files of no known language (here: none of the table's).
    doc = srv.search_ok(".", kind="path", lang="none", max=100000)
    got = [r["path"] for r in doc["results"]]
    check(got and all("lang" not in r for r in doc["results"]), "lang=none: files of no language")
    for f in got:
        check(lang_of(f) is None, "lang=none listed %s" % f)
    # The file view says its language too.
    for f in ("src/kvstore.c", "Makefile", "README.md"):
        r = srv.files(f)
        expect_json(r, 200, "file view of %s" % f)
        eq(r.json.get("lang"), lang_of(f), "lang of the file view of %s" % f)
    # kind=path with lang: the paths of that language.
    doc = srv.search_ok(".", kind="path", lang="go", max=100000)
    eq([r["path"] for r in doc["results"]], [f for f in c.files if lang_of(f) == "go"],
       "kind=path lang=go")


# ---------------------------------------------------------------------------
# Facets


@R.test(timeout=120)
def facets_count_exactly():
    srv = SRV()
    c = C()
    q = common_word()
    hits = c.search(q)
    lines_by = collections.Counter()
    files_by = collections.defaultdict(set)
    sub_lines = collections.Counter()
    sub_files = collections.defaultdict(set)
    lang_lines = collections.Counter()
    for p, _, _, _ in hits:
        parts = p.split("/")
        if len(parts) > 1:
            lines_by[parts[0] + "/"] += 1
            files_by[parts[0] + "/"].add(p)
        if len(parts) > 2:
            sub_lines[parts[0] + "/" + parts[1] + "/"] += 1
            sub_files[parts[0] + "/" + parts[1] + "/"].add(p)
        if lang_of(p):
            lang_lines[lang_of(p)] += 1
    check(len(lines_by) >= 2, "precondition: %r is in several folders" % q)
    for mx in (100000, 1):
        doc = srv.search_ok(q, facets=1, max=mx)
        f = doc["stats"]["facets"]
        got = {x["path"]: (x["lines"], x["files"]) for x in f["folders"]}
        want = {k: (v, len(files_by[k])) for k, v in lines_by.items()}
        eq(got, want, "max=%d: top-level folders, exact" % mx)
        order = [(x["lines"], x["files"]) for x in f["folders"]]
        eq(order, sorted(order, reverse=True), "folders busiest first")
        busiest = f["folders"][0]["path"]
        want_sub = {k: (v, len(sub_files[k])) for k, v in sub_lines.items()
                    if k.startswith(busiest)}
        got_sub = {x["path"]: (x["lines"], x["files"]) for x in f["subfolders"]}
        eq(got_sub, want_sub, "subfolders of the busiest (%s)" % busiest)
        langs = {x["lang"]: x["lines"] for x in f["langs"]}
        for name, n in lang_lines.items():
            eq(langs.get(name), n, "lines in %s files" % name)
        eq(sum(x["lines"] for x in f["langs"]), len(hits), "languages add up to every line")
    # A folder row is a path= filter.
    folder = f["folders"][0]["path"]
    narrowed = srv.search_ok(q, path=folder, max=100000)
    eq(narrowed["stats"]["matched_lines"], lines_by[folder], "path=%s gives its count" % folder)
    # Not asked for: not there.
    check("facets" not in srv.search_ok(q)["stats"], "facets only when asked for")


@R.test(timeout=60)
def facets_of_a_path_search():
    srv = SRV()
    want = expected_paths("c")
    doc = srv.search_ok("c", kind="path", facets=1, max=1)
    f = doc["stats"]["facets"]
    top = collections.Counter(p.split("/")[0] + "/" for p, _ in want if "/" in p)
    eq({x["path"]: x["files"] for x in f["folders"]}, dict(top), "folders count files")


# ---------------------------------------------------------------------------
# Bad input


@R.test(timeout=60)
def bad_values_are_refused():
    srv = SRV()
    for params, param in [({"kind": "paths"}, "kind"), ({"select": "file"}, "select"),
                          ({"lang": "klingon"}, "lang"), ({"lang": "c,"}, "lang"),
                          ({"facets": "maybe"}, "facets"),
                          ({"kind": "path", "context": "2"}, "context"),
                          ({"kind": "path", "select": "lines"}, "select")]:
        r = srv.search("x", **params)
        expect_error(r, 400, "bad_parameter", "GET %r" % params, param)
        body = dict(params, q="x")
        r = srv.post("/api/queries", body)
        expect_error(r, 400, "bad_parameter", "POST %r" % body, param)
    r = srv.search("x", lang="klingon")
    check("/api/langs" in r.json["error"]["message"], "the error says where the names are")


# ---------------------------------------------------------------------------
# The living index


@R.test(timeout=120)
def path_search_follows_the_tree():
    root = TempDir("sgselect-").path
    os.makedirs(os.path.join(root, "src"))
    with open(os.path.join(root, "src", "old.c"), "w") as f:
        f.write("int x;\n")
    srv = Server(["--workers", "2"], root=root).start()
    try:
        eq([r["path"] for r in srv.search_ok("new_name", kind="path")["results"]], [],
           "before the file exists")
        with open(os.path.join(root, "src", "new_name.go"), "w") as f:
            f.write("package x\n")
        os.unlink(os.path.join(root, "src", "old.c"))
        deadline = time.time() + 20
        while time.time() < deadline:
            got = [r["path"] for r in srv.search_ok(".", kind="path")["results"]]
            if got == ["src/new_name.go"]:
                break
            time.sleep(0.05)
        eq(got, ["src/new_name.go"], "kind=path sees the new file, and not the deleted one")
        eq(srv.search_ok(".", kind="path", lang="go")["stats"]["matched_files"], 1,
           "and its language")
    finally:
        srv.stop()


if __name__ == "__main__":
    R.main()
