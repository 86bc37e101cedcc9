"""Python client for the kvlite key-value server."""

from .client import KvStore, connect
from .errors import KvError, KeyNotFound, ValueTooLarge, ConnectionClosed

__all__ = [
    "KvStore",
    "connect",
    "KvError",
    "KeyNotFound",
    "ValueTooLarge",
    "ConnectionClosed",
]

__version__ = "0.4.2"

KVSTORE_DEFAULT_PORT = 7379
