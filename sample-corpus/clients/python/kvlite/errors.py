"""Exceptions raised by the kvlite client."""


class KvError(Exception):
    """Base class for every error reported by the kvlite client."""

    status = -1

    def __init__(self, message="", key=None):
        super().__init__(message or self.__class__.__doc__)
        self.key = key


class KeyNotFound(KvError, KeyError):
    """The requested key does not exist."""

    status = -2


class ValueTooLarge(KvError):
    """The key or value exceeds the server limit."""

    status = -3


class ConnectionClosed(KvError):
    """The server closed the connection."""


_BY_STATUS = {cls.status: cls for cls in (KvError, KeyNotFound, ValueTooLarge)}


def from_status(status, key=None):
    """Map a wire status code onto an exception instance."""
    cls = _BY_STATUS.get(status, KvError)
    return cls("server returned status %d" % status, key=key)
