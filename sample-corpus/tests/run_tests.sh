#!/bin/sh
# Build and run the C unit tests, then the Python client tests if a
# server binary is available.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build/tests"
CC=${CC:-cc}
CFLAGS=${CFLAGS:-"-std=c11 -Wall -Wextra -O1 -g"}

mkdir -p "$BUILD"

run() {
    name=$1; shift
    echo "==> $name"
    "$CC" $CFLAGS -o "$BUILD/$name" "$@"
    "$BUILD/$name"
}

run test_hash    "$ROOT/tests/test_hash.c" "$ROOT/src/hash.c"
run test_kvstore "$ROOT/tests/test_kvstore.c" "$ROOT/src/kvstore.c" \
                 "$ROOT/src/hash.c" "$ROOT/src/wal.c" "$ROOT/src/util/crc32.c"

if [ -x "$ROOT/build/kvlite" ] && command -v python3 >/dev/null 2>&1; then
    echo "==> python client"
    "$ROOT/build/kvlite" -p 17379 -d "$BUILD" &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    sleep 1
    KVLITE_PORT=17379 PYTHONPATH="$ROOT/clients/python" \
        python3 -m unittest discover -s "$ROOT/clients/python/tests"
else
    echo "skipping python client tests (no server binary)"
fi

echo "all tests passed"
