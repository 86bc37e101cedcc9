"""Encoding and decoding of kvlite wire frames.

Frame layout (big endian)::

    u8 op | i8 status | u16 key_len | u32 value_len | key | value
"""

import struct

HEADER = struct.Struct(">BbHI")
HEADER_SIZE = HEADER.size

OP_PING = 0x00
OP_GET = 0x01
OP_PUT = 0x02
OP_DEL = 0x03
OP_REPLY = 0x80

KVSTORE_MAX_KEY = 256
KVSTORE_MAX_VALUE = 1 << 20


class Frame:
    __slots__ = ("op", "status", "key", "value")

    def __init__(self, op, key=b"", value=b"", status=0):
        self.op = op
        self.status = status
        self.key = key
        self.value = value

    def __repr__(self):
        return "Frame(op=%#x, status=%d, key=%r, value=%d bytes)" % (
            self.op, self.status, self.key, len(self.value))


def encode(frame):
    if len(frame.key) > KVSTORE_MAX_KEY:
        raise ValueError("key too long: %d bytes" % len(frame.key))
    if len(frame.value) > KVSTORE_MAX_VALUE:
        raise ValueError("value too long: %d bytes" % len(frame.value))
    header = HEADER.pack(frame.op, frame.status, len(frame.key), len(frame.value))
    return header + frame.key + frame.value


def decode(buf):
    """Return (frame, consumed) or (None, 0) if buf holds a partial frame."""
    if len(buf) < HEADER_SIZE:
        return None, 0
    op, status, klen, vlen = HEADER.unpack_from(buf)
    end = HEADER_SIZE + klen + vlen
    if len(buf) < end:
        return None, 0
    key = bytes(buf[HEADER_SIZE:HEADER_SIZE + klen])
    value = bytes(buf[HEADER_SIZE + klen:end])
    return Frame(op, key, value, status), end


def as_bytes(s):
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8")
    raise TypeError("expected str or bytes, got %s" % type(s).__name__)
