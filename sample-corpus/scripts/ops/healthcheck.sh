#!/bin/sh
# Exit 0 if a kvlite server answers PING, 1 otherwise.
# Intended for container HEALTHCHECK and monitoring probes.

ADDR=${KVLITE_ADDR:-127.0.0.1:7379}
HOST=${ADDR%:*}
PORT=${ADDR##*:}
TIMEOUT=${KVLITE_TIMEOUT:-2}

if command -v kvctl >/dev/null 2>&1; then
    exec kvctl -addr "$ADDR" -timeout "${TIMEOUT}s" ping >/dev/null
fi

# Fallback: hand-craft a PING frame (8 zero bytes) and expect an 8-byte
# reply whose first byte is 0x80 and second byte (status) is 0.
reply=$(printf '\000\000\000\000\000\000\000\000' |
        timeout "$TIMEOUT" nc "$HOST" "$PORT" 2>/dev/null |
        od -An -tx1 -N2 | tr -d ' \n')

if [ "$reply" = "8000" ]; then
    exit 0
fi
echo "kvlite at $ADDR unhealthy (reply: ${reply:-none})" >&2
exit 1
