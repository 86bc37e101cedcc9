#!/usr/bin/env python3
"""Several trees served by one server (shardgrep [NAME=]DIR...), against the
real server: results name their tree and come in (tree, path, line) order,
tree= filters by names or globs, the file view addresses a file by tree and
path, changes in every tree are followed, and one tree keeps the API as it
was (no "tree" anywhere).  Expected answers come from an independent view of
each tree (sgtest.Corpus)."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import Corpus, Server, TempDir, check, eq, expect_error, expect_json, fail  # noqa: E402

R = sgtest.Runner("test_trees")
sgtest.register_common_self_checks(R)


def write(root, rel, text):
    full = os.path.join(root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def make_trees():
    a = TempDir("sgtreeA-").path
    b = TempDir("sgtreeB-").path
    write(a, "src/same.c", "needle in a\nother\n")
    write(a, "z.txt", "needle z a\n")
    write(b, "src/same.c", "needle in b\n")
    write(b, "a.txt", "needle first in b\nneedle again\n")
    write(b, "docs/x.md", "nothing\n")
    return a, b


def expected(trees, q):
    """[(tree, path, line, text)] in (tree, path, line) order."""
    out = []
    for name, root in trees:
        for p, n, t, _ in Corpus(root).search(q):
            out.append((name, p, n, t))
    return out


def got(srv, q, **params):
    r = srv.search(q, max=100000, **params)
    expect_json(r, 200, "search %r %r" % (q, params))
    doc = r.json
    eq(doc["status"], "done", "status")
    return doc, [(x.get("tree"), x["path"], x["line"], x["text"]) for x in doc["results"]]


@R.test(timeout=120)
def results_name_their_tree_in_order():
    a, b = make_trees()
    base_b = os.path.basename(b)
    srv = Server(["--workers", "2", "alpha=" + a, b], root="").start()
    try:
        trees = [("alpha", a), (base_b, b)]
        doc, res = got(srv, "needle")
        eq(res, expected(trees, "needle"), "results of both trees, in order")
        eq(doc["stats"]["matched_lines"], len(res), "matched_lines")
        eq(doc["stats"]["matched_files"], 4, "matched_files (src/same.c in each tree counts)")
        names = [t["name"] for t in srv.stats()["trees"]]
        eq(names, ["alpha", base_b], "stats.trees")
        _, res = got(srv, "needle", tree=base_b)
        eq(res, expected([(base_b, b)], "needle"), "tree=%s" % base_b)
        _, res = got(srv, "needle", tree="alph*")
        eq(res, expected([("alpha", a)], "needle"), "tree=alph* (a glob)")
        _, res = got(srv, "needle", tree="alpha,%s" % base_b, path="src/")
        eq([(t, p) for t, p, _, _ in res], [("alpha", "src/same.c"), (base_b, "src/same.c")],
           "tree= with path=")
        r = srv.post("/api/queries", {"q": "needle", "tree": base_b})
        expect_json(r, 202, "POST with tree")
        d = srv.wait_query(r.json["id"])
        eq({x["tree"] for x in d.json["results"]}, {base_b}, "POST tree= results")
        expect_error(srv.search("needle", tree="nope"), 400, "bad_parameter", "tree=nope",
                     param="tree")
        # A slip among good names is said, not searched without.
        r = srv.search("needle", tree="alpha,nosuch")
        expect_error(r, 400, "bad_parameter", "tree=alpha,nosuch", param="tree")
        check("nosuch" in r.json["error"]["message"], "the message names the slip: %r" % r.json)
        expect_error(srv.search("needle", tree="al[pha"), 400, "bad_parameter",
                     "tree= with a bad glob", param="tree")
        r = srv.files("alpha/src/same.c")
        expect_json(r, 200, "file view alpha/src/same.c")
        eq((r.json["tree"], r.json["path"], r.json["lines"]), ("alpha", "src/same.c",
                                                               ["needle in a", "other"]),
           "the file view names its tree")
        r = srv.files(base_b + "/src/same.c")
        expect_json(r, 200, "file view of the other tree")
        eq(r.json["lines"], ["needle in b"], "the other tree's file")
        expect_error(srv.files("src/same.c"), 404, "not_found", "a path without its tree")
        expect_error(srv.files("nope/src/same.c"), 404, "not_found", "an unknown tree")
        # File names, files and facets name their tree too.
        d = srv.search_ok("same", kind="path")
        eq([(x["tree"], x["path"]) for x in d["results"]],
           [("alpha", "src/same.c"), (base_b, "src/same.c")], "kind=path in both trees")
        d = srv.search_ok("needle", select="files", tree=base_b)
        eq([(x["tree"], x["path"], x["count"]) for x in d["results"]],
           [(base_b, "a.txt", 2), (base_b, "src/same.c", 1)], "select=files in one tree")
        f = srv.search_ok("needle", facets=1)["stats"]["facets"]
        eq(sorted((x["tree"], x["path"], x["lines"]) for x in f["folders"]),
           sorted([("alpha", "src/", 1), (base_b, "src/", 1)]), "folders per tree")
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=120)
def changes_in_every_tree_are_followed():
    a, b = make_trees()
    srv = Server(["--workers", "2", "one=" + a, "two=" + b], root="").start()
    try:
        write(a, "new/file.txt", "needle new in one\n")
        write(b, "src/same.c", "needle changed in two\n")
        os.unlink(os.path.join(b, "a.txt"))
        trees = [("one", a), ("two", b)]
        deadline = time.monotonic() + 30 * sgtest.SLOW
        while True:
            _, res = got(srv, "needle")
            if res == expected(trees, "needle"):
                break
            if time.monotonic() > deadline:
                fail("changes not followed: %r, want %r" % (res, expected(trees, "needle")))
            time.sleep(0.05)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=60)
def one_tree_keeps_the_api():
    a, _ = make_trees()
    srv = Server(["--workers", "2"], root=a).start()
    try:
        doc, res = got(srv, "needle")
        check(res and all(t is None for t, _, _, _ in res), "a result names a tree: %r" % res)
        check("tree" not in doc["query"], "query.tree with one tree: %r" % doc["query"])
        r = srv.files("src/same.c")
        expect_json(r, 200, "file view")
        check("tree" not in r.json, "the file view names a tree: %r" % r.json)
        sgtest.assert_stops_clean(srv, signal.SIGTERM)
    finally:
        srv.kill()


@R.test(timeout=60)
def tree_names_must_be_unique():
    a, b = make_trees()
    same = TempDir("sgtreeC-").path
    os.makedirs(os.path.join(same, "x"))
    os.makedirs(os.path.join(a, "x"), exist_ok=True)
    code, out, err = sgtest.run_cli([os.path.join(a, "x"), os.path.join(same, "x")])
    eq(code, 2, "exit status with two trees named x")
    check("two trees are named 'x'" in err and "NAME=DIR" in err, "message: %r" % err)
    code, out, err = sgtest.run_cli(["name=", a])
    eq(code, 2, "exit status for NAME= without a folder")
    check("missing" in err, "message: %r" % err)


if __name__ == "__main__":
    R.main()
