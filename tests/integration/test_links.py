#!/usr/bin/env python3
"""Editor and code-host links (--editor-url, --link-url [TREE=]TEMPLATE;
issue 14), against the real server over two trees: each result of a line
search, select=files and kind=path carries "editor_url" and "link_url"
(the tree's own --link-url, or the default), the values expanded and
percent-encoded (a file whose name has a space, a '#' and non-ASCII
bytes); the streamed match records carry the same; the file view carries
"links" with {line} left in; without the options no such field appears;
and a bad template or an unknown tree stops the server at start-up with
exit 2 and one line on stderr."""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sgtest  # noqa: E402
from sgtest import CORPUS, Server, TempDir, check, eq, expect_json, fail, run_cli  # noqa: E402

R = sgtest.Runner("test_links")
sgtest.register_common_self_checks(R)

EDITOR = "vscode://file/{abspath}:{line}"
HOST_A = "https://git.example.org/alpha/blob/main/{path}#L{line}"
HOST_DEFAULT = "https://code.example.org/{tree}/{path}?line={line}"
ODD = "docs/read me #1 caf\u00e9.md"


def write(root, rel, text):
    full = os.path.join(root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def make_trees():
    a = TempDir("sglinksA-").path
    b = TempDir("sglinks B-").path
    write(a, "src/main.c", "int x;\nint linkmark = 1;\n")
    write(b, ODD, "# title\n\nlinkmark here\n")
    return a, b


def enc(s):
    """What the server puts in for a path value: every byte but the
    unreserved ones and '/' as %HH (upper-case)."""
    return urllib.parse.quote(s.encode("utf-8"), safe="/-._~")


def want(tree, root, path, line):
    real = os.path.realpath(root)
    editor = "vscode://file/%s:%d" % (enc(real + "/" + path), line)
    if tree == "alpha":
        host = "https://git.example.org/alpha/blob/main/%s#L%d" % (enc(path), line)
    else:
        host = "https://code.example.org/%s/%s?line=%d" % (enc(tree), enc(path), line)
    return editor, host


def start(a, b, extra=()):
    args = ["--workers", "2", "--editor-url", EDITOR, "--link-url", "alpha=" + HOST_A,
            "--link-url", HOST_DEFAULT] + list(extra) + ["alpha=" + a, "beta=" + b]
    return Server(args, root="").start()


ROOTS = {}


@R.test(timeout=120)
def results_carry_their_links():
    a, b = make_trees()
    ROOTS.update(alpha=a, beta=b)
    srv = start(a, b)
    try:
        r = srv.search("linkmark")
        expect_json(r, 200, "search")
        got = [(x["tree"], x["path"], x["line"], x.get("editor_url"), x.get("link_url"))
               for x in r.json["results"]]
        exp = [("alpha", "src/main.c", 2) + want("alpha", a, "src/main.c", 2),
               ("beta", ODD, 3) + want("beta", b, ODD, 3)]
        eq(got, exp, "results with their editor_url and link_url")
        check("%20%231%20caf%C3%A9.md" in got[1][3],
              "the space, '#' and UTF-8 bytes are encoded: %r" % got[1][3])

        # select=files and kind=path: {line} is 1
        r = srv.search("linkmark", select="files")
        expect_json(r, 200, "select=files")
        eq([(x["path"], x.get("editor_url"), x.get("link_url")) for x in r.json["results"]],
           [("src/main.c",) + want("alpha", a, "src/main.c", 1), (ODD,) + want("beta", b, ODD, 1)],
           "select=files results' links (line 1)")
        r = srv.search("read me", kind="path")
        expect_json(r, 200, "kind=path")
        eq([(x["path"], x.get("editor_url"), x.get("link_url")) for x in r.json["results"]],
           [(ODD,) + want("beta", b, ODD, 1)], "kind=path results' links (line 1)")

        # the stream's match records carry the same
        r = srv.get("/api/search", {"q": "linkmark", "stream": "1"})
        eq(r.status, 200, "stream status")
        recs = [json.loads(l) for l in r.body.decode("utf-8").splitlines() if l.strip()]
        matches = sorted((x["tree"], x["path"], x["line"], x.get("editor_url"), x.get("link_url"))
                         for x in recs if x["type"] == "match")
        eq(matches, exp, "streamed match records with their links")

        # the file view: {line} left in for the page
        r = srv.files("beta/" + ODD)
        expect_json(r, 200, "file view")
        e, h = want("beta", b, ODD, 7)
        eq(r.json.get("links"), {"editor": e.replace(":7", ":{line}"),
                                 "link": h.replace("line=7", "line={line}")},
           "the file view's links")
        r = srv.files("alpha/src/main.c")
        expect_json(r, 200, "file view in alpha")
        eq(r.json["links"]["link"], "https://git.example.org/alpha/blob/main/src/main.c#L{line}",
           "alpha's own --link-url")
    finally:
        srv.stop()


@R.test(timeout=120)
def only_a_tree_link_without_a_default():
    a, b = make_trees()
    srv = Server(["--workers", "1", "--link-url", "beta=" + HOST_DEFAULT,
                  "alpha=" + a, "beta=" + b], root="").start()
    try:
        r = srv.search("linkmark")
        expect_json(r, 200, "search")
        res = r.json["results"]
        eq([sorted(k for k in x if k.endswith("_url")) for x in res], [[], ["link_url"]],
           "alpha has no link, beta its own, and no editor_url anywhere")
        r = srv.files("alpha/src/main.c")
        check("links" not in r.json, "alpha's file view has no links: %r" % r.json)
    finally:
        srv.stop()


@R.test(timeout=120)
def without_the_options_nothing_changes():
    srv = Server(["--workers", "1"]).start()
    try:
        for params in ({}, {"select": "files"}, {"kind": "path"}):
            r = srv.search("kv", **params)
            expect_json(r, 200, "search %r" % params)
            for x in r.json["results"]:
                check(not any(k in x for k in ("editor_url", "link_url")),
                      "a link without the options: %r" % x)
        path = srv.search("kv").json["results"][0]["path"]
        r = srv.files(path)
        expect_json(r, 200, "file view")
        check("links" not in r.json, "links in the file view without the options")
    finally:
        srv.stop()


def _refused(args, says):
    code, out, err = run_cli(args + [CORPUS], timeout=10)
    if code is None:
        fail("%s: still running after 10 s" % args)
    eq(code, 2, "exit status for %s" % args)
    lines = err.splitlines()
    eq(len(lines), 1, "one line on stderr for %s: %r" % (args, err))
    check(says in lines[0], "the message for %s should say %r: %r" % (args, says, lines[0]))
    check("listening" not in out, "it listened: %r" % out)


@R.test
def bad_templates_stop_the_start():
    _refused(["--editor-url", "javascript:alert(document.cookie)//{path}"], "javascript:")
    _refused(["--editor-url", "data:text/html,{path}"], "data:")
    _refused(["--link-url", "https://h/{file}#L{line}"], "{file}")
    _refused(["--editor-url", "https://h/{path} x"], "0x20")
    _refused(["--editor-url", "no-scheme/{path}"], "scheme")
    _refused(["--link-url", "nosuchtree=https://h/{path}"], "nosuchtree")
    _refused(["--link-url", "https://a/{path}", "--link-url", "https://b/{path}"], "twice")


@R.test
def help_names_the_options():
    code, out, _ = run_cli(["--help"])
    eq(code, 0, "--help")
    check("--editor-url" in out and "--link-url" in out, "--help names both options")


if __name__ == "__main__":
    R.main()
