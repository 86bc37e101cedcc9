#!/usr/bin/env python3
"""The answer does not depend on the number of workers: the same queries
against servers with --workers 1, 2 and 7 give byte-identical results.  And
a large answer from 7 workers (a generated tree of 600,000 lines) comes back
complete, ordered, without duplicates and with every text intact."""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import Corpus, Lazy, Server, TempDir, check, eq, fail  # noqa: E402

R = sgtest.Runner("test_workers")
sgtest.register_common_self_checks(R)

COUNTS = (1, 2, 7)
SERVERS = {n: Lazy(lambda n=n: Server(["--workers", str(n)]).start())
           for n in COUNTS}
for _n in COUNTS:
    R.finally_(*sgtest.stop_check(SERVERS[_n], "server --workers %d stops "
                                  "cleanly" % _n))
C = Lazy(Corpus)

QUERIES = [
    {"q": "kv"},
    {"q": "return", "context": 2},
    {"q": ".", "max": 100000},
    {"q": r"\b[a-z]+_[a-z]+\(", "max": 100000},
    {"q": "longline_marker", "context": 1},
    {"q": "legacy_marker", "context": 2},
    {"q": "crlf_marker", "context": 1},
    {"q": "kv", "max": 5},
    {"q": "marker", "path": "*.{c,h,js,txt}", "exclude": "src/net/"},
    {"q": "(?i)ERROR|warn", "case": "yes", "context": 1},
    {"q": "()", "literal": 1, "path": "**/*.py"},
    {"q": "^$", "max": 100000},
]

LARGE_FILES = 300
LARGE_LINES = 2000
LARGE_DIRS = ["B", "a-b", "a.b", "a", "a_b", "z/deep"]


def large_tree():
    """300 files x 2,000 lines, every line holding common_word; the text of
    each line is unique and known.  Folder and file names put byte order and
    folder-by-folder order at odds ("a-b/" < "a.b/" < "a/" < "a_b/", and
    "f10" < "f2")."""
    tmp = TempDir("sglarge-").path
    rnd = random.Random(11)
    expected = {}
    for i in range(LARGE_FILES):
        d = LARGE_DIRS[i % len(LARGE_DIRS)]
        rel = "%s/f%d.txt" % (d, i // len(LARGE_DIRS))
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
        lines = []
        for n in range(1, LARGE_LINES + 1):
            pad = rnd.choice(["", "x" * rnd.randint(1, 40), "\u00e9t\u00e9",
                              "\u65e5\u672c", "tab\there", '"quoted" \\ back'])
            lines.append("F%03d L%04d common_word %s" % (i, n, pad))
        with open(os.path.join(tmp, rel), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        expected[rel] = lines
    return tmp, expected


LARGE = Lazy(large_tree)
LARGE_SRV = Lazy(lambda: Server(["--workers", "7"], root=LARGE()[0]).start())
R.finally_(*sgtest.stop_check(LARGE_SRV, "large-tree server stops cleanly"))


def canon(doc):
    return json.dumps(doc.get("results"), sort_keys=True, ensure_ascii=False)


STAT_KEYS = ("matched_lines", "matched_files", "returned", "truncated")


def _register(i, params):
    def t():
        docs = {}
        for n in COUNTS:
            p = dict(params)
            q = p.pop("q")
            docs[n] = SERVERS[n]().search_ok(q, **p)
            eq(docs[n]["stats"]["shards"].get("total"), n,
               "stats.shards.total with --workers %d" % n)
            eq(docs[n]["stats"]["shards"].get("failed"), [],
               "stats.shards.failed with --workers %d" % n)
        base = docs[COUNTS[0]]
        check(base["stats"]["matched_lines"] > 0,
              "precondition: %r matches something" % params)
        for n in COUNTS[1:]:
            for k in STAT_KEYS:
                eq(docs[n]["stats"].get(k), base["stats"].get(k),
                   "%r: stats.%s with --workers %d vs 1" % (params, k, n))
            a, b = canon(base), canon(docs[n])
            if a != b:
                ra, rb = base["results"], docs[n]["results"]
                for j, (x, y) in enumerate(zip(ra, rb)):
                    if x != y:
                        fail("%r: result %d differs, --workers 1: %s; "
                             "--workers %d: %s" % (params, j, json.dumps(x)[:300],
                                                   n, json.dumps(y)[:300]))
                fail("%r: %d results with --workers 1, %d with --workers %d"
                     % (params, len(ra), len(rb), n))
    t.__name__ = "same_results_%02d" % i
    R.test(t)


for _i, _p in enumerate(QUERIES):
    _register(_i, _p)


@R.test
def same_stats_figures():
    base = SERVERS[1]().stats()
    for n in COUNTS[1:]:
        st = SERVERS[n]().stats()
        for k in ("files", "lines", "bytes"):
            eq(st.get(k), base.get(k), "stats.%s with --workers %d vs 1" % (k, n))
        eq(len(st.get("shards", [])), n, "shards with --workers %d" % n)
        eq(sum(s["files"] for s in st["shards"]), st["files"],
           "files summed over %d shards" % n)
        check(all(s["files"] > 0 for s in st["shards"]) or st["files"] < n,
              "a shard with no file while there are %d files: %r"
              % (st["files"], [s["files"] for s in st["shards"]]))
    eq(base.get("files"), len(C().files), "stats.files")


def check_large(doc, want_keys, expected, what):
    res = doc["results"]
    eq(len(res), len(want_keys), what + ": number of results")
    seen = set()
    prev = None
    for j, r in enumerate(res):
        key = (r.get("path"), r.get("line"))
        if key in seen:
            fail("%s: duplicate result %r at %d" % (what, key, j))
        seen.add(key)
        bkey = (key[0].encode("utf-8"), key[1])
        if prev is not None and not prev < bkey:
            fail("%s: result %d %r not after %r" % (what, j, key, prev))
        prev = bkey
        if key != want_keys[j]:
            fail("%s: result %d is %r, expected %r" % (what, j, key,
                                                       want_keys[j]))
        want_text = expected[key[0]][key[1] - 1]
        if r.get("text") != want_text:
            fail("%s: text of %s:%d is %r, file has %r"
                 % (what, key[0], key[1], r.get("text"), want_text))
        tb = want_text.encode("utf-8")
        a = tb.index(b"common_word")
        if r.get("ranges") != [[a, a + len("common_word")]]:
            fail("%s: ranges of %s:%d are %r" % (what, key[0], key[1],
                                                 r.get("ranges")))


@R.test(timeout=180)
def large_answer_from_seven_workers():
    tmp, expected = LARGE()
    srv = LARGE_SRV()
    st = srv.stats()
    eq(st.get("files"), LARGE_FILES, "files in the large tree")
    eq(st.get("lines"), LARGE_FILES * LARGE_LINES, "lines in the large tree")
    order = sorted(expected, key=lambda p: p.encode("utf-8"))
    all_keys = [(p, n) for p in order for n in range(1, LARGE_LINES + 1)]
    doc = srv.search_ok("common_word", max=100000, timeout=120)
    s = doc["stats"]
    eq((s.get("matched_lines"), s.get("matched_files"), s.get("returned"),
        s.get("truncated")), (len(all_keys), LARGE_FILES, 100000, True),
       "stats (matched_lines, matched_files, returned, truncated)")
    check_large(doc, all_keys[:100000], expected, "max=100000 over all")


@R.test(timeout=180)
def large_answer_complete_folder():
    tmp, expected = LARGE()
    srv = LARGE_SRV()
    sel = sorted([p for p in expected if p.startswith("a/")],
                 key=lambda p: p.encode("utf-8"))
    keys = [(p, n) for p in sel for n in range(1, LARGE_LINES + 1)]
    check(len(keys) == 100000, "setup: %d lines under a/" % len(keys))
    doc = srv.search_ok("common_word", max=100000, path="a/", timeout=120)
    s = doc["stats"]
    eq((s.get("matched_lines"), s.get("matched_files"), s.get("returned"),
        s.get("truncated")), (100000, len(sel), 100000, False),
       "stats for path=a/")
    check_large(doc, keys, expected, "path=a/")


@R.test(timeout=180)
def large_answer_paged_async():
    tmp, expected = LARGE()
    srv = LARGE_SRV()
    order = sorted(expected, key=lambda p: p.encode("utf-8"))
    keys = [(p, n) for p in order for n in range(1, LARGE_LINES + 1)]
    r = srv.post("/api/queries", {"q": r"L\d{4} common", "max": 100000,
                                  "case": "yes", "exclude": "z/"})
    sgtest.expect_json(r, 202, "POST")
    qid = r.json["id"]
    doc = srv.wait_query(qid, wait_ms=60000)
    sgtest.expect_json(doc, 200, "GET wait")
    eq(doc.json["status"], "done", "status")
    keys = [k for k in keys if not k[0].startswith("z/")]
    eq(doc.json["stats"]["matched_lines"], len(keys), "matched_lines")
    got = []
    for off in range(0, 100000, 30000):
        page = srv.get("/api/queries/" + qid, {"offset": off, "limit": 30000},
                       timeout=60)
        sgtest.expect_json(page, 200, "page %d" % off)
        got.extend((x["path"], x["line"]) for x in page.json["results"])
    eq(got == keys[:100000], True, "pages of 30000 equal the first 100000 "
       "lines in order")


@R.self_check
def selfcheck_large_tree_order():
    names = ["a/f1.txt", "a-b/f1.txt", "a.b/f1.txt", "a_b/f1.txt", "B/f1.txt",
             "a/f10.txt", "a/f2.txt"]
    got = sorted(names, key=lambda p: p.encode())
    eq(got, ["B/f1.txt", "a-b/f1.txt", "a.b/f1.txt", "a/f1.txt", "a/f10.txt",
             "a/f2.txt", "a_b/f1.txt"], "byte order")


if __name__ == "__main__":
    R.main()
