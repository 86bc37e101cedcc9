#!/usr/bin/env python3
"""Import a kvlite v1 text dump into a running v2+ server.

v1 dumps are one ``key<TAB>value`` record per line, usually Latin-1.
"""

import argparse
import sys

from kvlite import KvStore, KvError


def parse_dump(path, encoding):
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip(b"\r\n")
            if not line:
                continue
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError as exc:
                print("%s:%d: %s" % (path, lineno, exc), file=sys.stderr)
                continue
            key, sep, value = text.partition("\t")
            if not sep:
                print("%s:%d: no TAB, skipping" % (path, lineno), file=sys.stderr)
                continue
            yield key, value


class DryRun:
    """Stands in for KvStore when --dry-run is given."""

    def __init__(self):
        self.n = 0

    def get(self, key):
        return None

    def put(self, key, value):
        self.n += 1
        print("%s = %r" % (key, value))

    def close(self):
        pass


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("dump")
    p.add_argument("--encoding", default="latin-1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7379)
    p.add_argument("--prefix", default="", help="prepend to every key")
    p.add_argument("--skip-existing", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)

    kv = DryRun() if args.dry_run else KvStore(args.host, args.port)
    imported = skipped = 0
    try:
        for key, value in parse_dump(args.dump, args.encoding):
            key = args.prefix + key
            if args.skip_existing and kv.get(key) is not None:
                skipped += 1
                continue
            try:
                kv.put(key, value)
                imported += 1
            except KvError as exc:
                print("put %r failed: %s" % (key, exc), file=sys.stderr)
    finally:
        kv.close()
    print("imported %d, skipped %d" % (imported, skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main())
