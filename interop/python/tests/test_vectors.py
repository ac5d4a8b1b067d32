"""The golden vectors (interop/vectors/), read by the Python bridge.

Every valid file decodes and re-encodes to the same bytes, both as a dict and
through message objects; every invalid file is refused with the code and
field of interop/vectors/invalid/manifest.json. test/messages/vectors.test.ts
holds the TypeScript codec to the same files.
"""

import json
import os
import unittest

import _support  # noqa: F401  (puts simpleraft_bridge on sys.path)
from _support import INVALID, VECTORS

from simpleraft_bridge import CodecError, decode_dict, decode_message, encode_dict, encode_message
from simpleraft_bridge.codec import DATA_SPECS


def _valid_files():
    return sorted(f for f in os.listdir(VECTORS) if f.endswith(".json"))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


class ValidVectors(unittest.TestCase):
    def test_there_are_vectors_of_every_type_code(self):
        files = _valid_files()
        self.assertGreaterEqual(len(files), 20)
        types = set(decode_dict(_read(os.path.join(VECTORS, f)))["type"] for f in files)
        self.assertEqual(types, set(DATA_SPECS))

    def test_decode_then_encode_gives_the_same_bytes(self):
        for name in _valid_files():
            with self.subTest(vector=name):
                raw = _read(os.path.join(VECTORS, name))
                self.assertNotIn(b"\n", raw)
                self.assertEqual(encode_dict(decode_dict(raw)), raw)
                # The same bytes given as text.
                self.assertEqual(encode_dict(decode_dict(raw.decode("utf-8"))), raw)

    def test_through_message_objects(self):
        for name in _valid_files():
            with self.subTest(vector=name):
                raw = _read(os.path.join(VECTORS, name))
                message = decode_message(raw)
                d = decode_dict(raw)
                self.assertEqual(message.type, d["type"])
                self.assertEqual(message._sender, d["sender"])
                self.assertEqual(message._receiver, d["receiver"])
                self.assertEqual(message._term, d["term"])
                self.assertEqual(message._timestamp, d["timestamp"])
                self.assertEqual(message._data, d["data"])
                self.assertEqual(encode_message(message), raw)


class InvalidVectors(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(INVALID, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)

    def test_the_manifest_lists_every_file(self):
        self.assertEqual(self.manifest["version"], 1)
        on_disk = sorted(f for f in os.listdir(INVALID) if f.endswith(".json") and f != "manifest.json")
        self.assertEqual(on_disk, sorted(c["file"] for c in self.manifest["cases"]))
        self.assertGreaterEqual(len(on_disk), 10)

    def test_each_is_refused_with_its_code_and_field(self):
        for case in self.manifest["cases"]:
            with self.subTest(vector=case["file"]):
                raw = _read(os.path.join(INVALID, case["file"]))
                kwargs = {"max_bytes": case["maxBytes"]} if "maxBytes" in case else {}
                with self.assertRaises(CodecError) as cm:
                    decode_message(raw, **kwargs)
                self.assertEqual((cm.exception.code, cm.exception.field), (case["code"], case["field"]),
                                 str(cm.exception))


if __name__ == "__main__":
    unittest.main()
