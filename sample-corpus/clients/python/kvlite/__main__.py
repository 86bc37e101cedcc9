"""Minimal command line: python -m kvlite get|put|del KEY [VALUE]."""

import argparse
import sys

from .client import KvStore
from .errors import KvError


def main(argv=None):
    p = argparse.ArgumentParser(prog="kvlite-py")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7379)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("key")
    s = sub.add_parser("put")
    s.add_argument("key")
    s.add_argument("value")
    d = sub.add_parser("del")
    d.add_argument("key")
    args = p.parse_args(argv)

    try:
        with KvStore(args.host, args.port) as kv:
            if args.cmd == "get":
                value = kv.get(args.key)
                if value is None:
                    print("(nil)")
                    return 1
                sys.stdout.buffer.write(value + b"\n")
            elif args.cmd == "put":
                kv.put(args.key, args.value)
                print("OK")
            elif args.cmd == "del":
                print("1" if kv.delete(args.key) else "0")
    except (OSError, KvError) as exc:
        print("kvlite-py: %s" % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
