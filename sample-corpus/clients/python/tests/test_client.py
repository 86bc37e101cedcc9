import os
import unittest

from kvlite import KvStore, KeyNotFound
from kvlite import protocol
from kvlite.cache import CachedKvStore

PORT = int(os.environ.get("KVLITE_PORT", "7379"))


class ProtocolTests(unittest.TestCase):
    def test_roundtrip(self):
        f = protocol.Frame(protocol.OP_PUT, b"key", b"value")
        data = protocol.encode(f)
        g, used = protocol.decode(data)
        self.assertEqual(used, len(data))
        self.assertEqual(g.key, b"key")
        self.assertEqual(g.value, b"value")

    def test_partial(self):
        data = protocol.encode(protocol.Frame(protocol.OP_GET, b"abc"))
        self.assertEqual(protocol.decode(data[:-1]), (None, 0))

    def test_key_too_long(self):
        with self.assertRaises(ValueError):
            protocol.encode(protocol.Frame(protocol.OP_GET, b"k" * 300))


class FakeKv:
    def __init__(self):
        self.data = {}
        self.calls = 0

    def get(self, key):
        self.calls += 1
        return self.data.get(key)

    def put(self, key, value):
        self.data[key] = value

    def delete(self, key):
        return self.data.pop(key, None) is not None


class CacheTests(unittest.TestCase):
    def test_hit(self):
        fake = FakeKv()
        fake.put("a", b"1")
        c = CachedKvStore(fake)
        self.assertEqual(c.get("a"), b"1")
        self.assertEqual(c.get("a"), b"1")
        self.assertEqual(fake.calls, 1)
        self.assertEqual(c.stats()["hits"], 1)

    def test_put_invalidates(self):
        fake = FakeKv()
        c = CachedKvStore(fake)
        c.put("a", b"1")
        c.get("a")
        c.put("a", b"2")
        self.assertEqual(c.get("a"), b"2")


@unittest.skipUnless(os.environ.get("KVLITE_PORT"), "no live server")
class LiveTests(unittest.TestCase):
    def setUp(self):
        self.kv = KvStore("127.0.0.1", PORT)

    def tearDown(self):
        self.kv.close()

    def test_put_get_delete(self):
        self.kv.put("py:test", b"hello")
        self.assertEqual(self.kv.get("py:test"), b"hello")
        self.assertTrue(self.kv.delete("py:test"))
        self.assertIsNone(self.kv.get("py:test"))

    def test_missing_key_raises(self):
        with self.assertRaises(KeyNotFound):
            self.kv["definitely-not-there"]


if __name__ == "__main__":
    unittest.main()
