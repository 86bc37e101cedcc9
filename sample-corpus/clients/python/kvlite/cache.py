"""A read-through LRU cache in front of a KvStore."""

from collections import OrderedDict


class CachedKvStore:
    """Wraps a kvstore client and keeps recently read values in memory.

    Writes go straight through to the server and invalidate the cached copy.
    """

    def __init__(self, kvstore, capacity=1024):
        self._kv = kvstore
        self._capacity = capacity
        self._cache = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
        if key in self._cache:
            self._cache.move_to_end(key)
            self.hits += 1
            return self._cache[key]
        self.misses += 1
        value = self._kv.get(key)
        if value is None:
            return default
        self._remember(key, value)
        return value

    def put(self, key, value):
        self._kv.put(key, value)
        self._cache.pop(key, None)

    def delete(self, key):
        self._cache.pop(key, None)
        return self._kv.delete(key)

    def _remember(self, key, value):
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    def stats(self):
        total = self.hits + self.misses
        ratio = self.hits / total if total else 0.0
        return {"hits": self.hits, "misses": self.misses, "hit_ratio": ratio}

    # FIXME: entries never expire; a server-side change is invisible until evicted
