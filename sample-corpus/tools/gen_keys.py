#!/usr/bin/env python3
"""Generate a synthetic data set and load it into kvlite.

Useful for exercising hash_bucket distribution and WAL replay time.
"""

import argparse
import random
import string
import time

from kvlite import KvStore

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
         "hotel", "india", "juliet", "kilo", "lima", "mike", "november"]


def random_value(rng, size):
    return "".join(rng.choice(string.ascii_letters) for _ in range(size))


def make_key(rng, i):
    kind = rng.choice(["user", "session", "cache", "lock"])
    if kind == "user":
        return "user:%d:%s" % (i, rng.choice(["name", "email", "plan"]))
    if kind == "session":
        return "session:%08x" % rng.getrandbits(32)
    if kind == "cache":
        return "cache:%s:%s" % (rng.choice(WORDS), rng.choice(WORDS))
    return "lock:%s" % rng.choice(WORDS)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-n", type=int, default=10000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port", type=int, default=7379)
    args = p.parse_args()

    rng = random.Random(args.seed)
    start = time.monotonic()
    with KvStore("127.0.0.1", args.port) as kv:
        for i in range(args.n):
            kv.put(make_key(rng, i), random_value(rng, args.size))
    elapsed = time.monotonic() - start
    print("loaded %d keys in %.2fs (%.0f/s)" % (args.n, elapsed, args.n / elapsed))
    # TODO: add a --verify pass that calls kv.get on a sample


if __name__ == "__main__":
    main()
