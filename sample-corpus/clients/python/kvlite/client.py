"""Blocking TCP client for kvlite."""

import socket

from . import protocol
from .errors import ConnectionClosed, KeyNotFound, from_status


class KvStore:
    """A connection to a kvlite server.

    >>> with KvStore("127.0.0.1", 7379) as kv:
    ...     kv.put("a", b"1")
    ...     kv.get("a")
    b'1'
    """

    def __init__(self, host="127.0.0.1", port=7379, timeout=5.0):
        self.host = host
        self.port = port
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = bytearray()

    # -- context manager -------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # -- low level -------------------------------------------------------
    def _roundtrip(self, frame):
        if self._sock is None:
            raise ConnectionClosed("client is closed")
        self._sock.sendall(protocol.encode(frame))
        while True:
            reply, used = protocol.decode(self._buf)
            if reply is not None:
                del self._buf[:used]
                return reply
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionClosed()
            self._buf.extend(chunk)

    # -- public API ------------------------------------------------------
    def ping(self):
        return self._roundtrip(protocol.Frame(protocol.OP_PING)).status == 0

    def get(self, key, default=None):
        k = protocol.as_bytes(key)
        reply = self._roundtrip(protocol.Frame(protocol.OP_GET, k))
        if reply.status == KeyNotFound.status:
            return default
        if reply.status != 0:
            raise from_status(reply.status, key)
        return reply.value

    def put(self, key, value):
        k = protocol.as_bytes(key)
        v = protocol.as_bytes(value)
        reply = self._roundtrip(protocol.Frame(protocol.OP_PUT, k, v))
        if reply.status != 0:
            raise from_status(reply.status, key)

    def delete(self, key):
        k = protocol.as_bytes(key)
        reply = self._roundtrip(protocol.Frame(protocol.OP_DEL, k))
        if reply.status == KeyNotFound.status:
            return False
        if reply.status != 0:
            raise from_status(reply.status, key)
        return True

    # dict-style helpers
    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyNotFound(key=key)
        return value

    def __setitem__(self, key, value):
        self.put(key, value)

    def __delitem__(self, key):
        if not self.delete(key):
            raise KeyNotFound(key=key)

    def __contains__(self, key):
        return self.get(key) is not None

    # TODO: pipelining -- send many frames before reading replies


def connect(url="kvlite://127.0.0.1:7379"):
    """Open a KvStore from a kvlite:// URL."""
    if not url.startswith("kvlite://"):
        raise ValueError("unsupported URL: %s" % url)
    hostport = url[len("kvlite://"):]
    host, _, port = hostport.partition(":")
    return KvStore(host or "127.0.0.1", int(port or 7379))
