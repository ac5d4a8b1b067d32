"""The Python codec on its own: the same refusals as src/messages/codec.ts (code
and field), JavaScript's number and string formatting, deep nesting, and the
message objects (simpleRaft's classes, a look-alike package, the stand-ins).
"""

import importlib
import math
import sys
import types
import unittest

import _support  # noqa: F401

from simpleraft_bridge import (
    CodecError,
    MAX_MESSAGE_BYTES,
    MAX_NODE_NAME_LENGTH,
    MAX_VALUE_DEPTH,
    codec,
    decode_dict,
    decode_message,
    encode_dict,
    encode_message,
    list_position_to_wire_index,
    stand_ins,
    wire_index_to_list_position,
)
from simpleraft_bridge import jsjson

HEARTBEAT = ('{"type":0,"sender":"n1","receiver":null,"term":3,"timestamp":1700000000,'
             '"data":{"leaderId":"n1","prevLogIndex":7,"prevLogTerm":2,"entries":[],"leaderCommit":5}}')
ENTRIES = HEARTBEAT.replace('"entries":[]', '"entries":[{"term":1,"value":{"a":[{"b":1}]}}]')
COMMAND = '{"type":5,"sender":"a","receiver":"b","term":1,"timestamp":0,"data":{"value":{"x":{}}}}'


def _simpleraft_importable():
    try:
        importlib.import_module("simpleRaft.messages.base")
        return True
    except ImportError:
        return False


class Rejections(unittest.TestCase):
    def assertRefused(self, data, code, field, **kwargs):
        with self.assertRaises(CodecError) as cm:
            decode_dict(data, **kwargs)
        self.assertEqual((cm.exception.code, cm.exception.field), (code, field), str(cm.exception))
        return cm.exception

    def test_a_valid_heartbeat_is_accepted(self):
        d = decode_dict(HEARTBEAT)
        self.assertEqual(d["data"]["prevLogIndex"], 7)
        self.assertIsNone(d["receiver"])

    def test_size_is_checked_first_and_counts_utf8_bytes(self):
        size = len(HEARTBEAT.encode())
        self.assertEqual(decode_dict(HEARTBEAT, max_bytes=size)["term"], 3)
        self.assertRefused(HEARTBEAT, "too-large", "$", max_bytes=size - 1)
        self.assertRefused(HEARTBEAT.encode(), "too-large", "$", max_bytes=size - 1)
        self.assertRefused('"' + "\u00e9" * 10 + '"', "too-large", "$", max_bytes=21)
        self.assertRefused("x" * (MAX_MESSAGE_BYTES + 1), "too-large", "$")

    def test_bad_json(self):
        for bad in ["", "{", '{"type":0,}', "{'type':0}", "NaN", '{"a":Infinity}', '{"a":-Infinity}', "[1,]",
                    "01", "null x", "1.", ".5", "\u00a0{}", '"\\x"', '"\x01"', "[\u0661]", "[1\u0661]"]:
            with self.subTest(bad=bad):
                self.assertRefused(bad, "bad-json", "$")

    def test_byte_order_mark_as_text_and_as_bytes(self):
        self.assertRefused("\ufeff" + HEARTBEAT, "bad-json", "$")
        self.assertRefused(b"\xef\xbb\xbf" + HEARTBEAT.encode(), "bad-json", "$")

    def test_invalid_utf8(self):
        for bad in [b"\xff\x41", b"\xc3\x28", b"\xed\xa0\x80", b"\x80", b"\xc0\xaf", b"\xe2\x82"]:
            with self.subTest(bad=bad):
                self.assertRefused(HEARTBEAT.encode().replace(b"n1", bad, 1), "bad-json", "$")

    def test_not_an_object(self):
        for v in ["null", "[]", "1", '"x"', "true"]:
            self.assertRefused(v, "bad-field", "$")
        data = HEARTBEAT[HEARTBEAT.index('"data":') + 7:-1]
        self.assertRefused(HEARTBEAT.replace(data, "[]"), "bad-field", "$.data")
        self.assertRefused(HEARTBEAT.replace(data, "null"), "bad-field", "$.data")

    def test_missing_fields(self):
        self.assertRefused(HEARTBEAT.replace('"receiver":null,', ""), "missing-field", "$.receiver")
        self.assertRefused(HEARTBEAT.replace('"term":3,', ""), "missing-field", "$.term")
        self.assertRefused(HEARTBEAT.replace('"entries":[],', ""), "missing-field", "$.data.entries")
        self.assertRefused(HEARTBEAT.replace('"entries":[]', '"entries":[{"term":1}]'), "missing-field",
                           "$.data.entries[0].value")

    def test_wrong_types(self):
        self.assertRefused(HEARTBEAT.replace('"term":3', '"term":"3"'), "bad-field", "$.term")
        self.assertRefused(HEARTBEAT.replace('"term":3', '"term":true'), "bad-field", "$.term")  # bool is not int here
        self.assertRefused(HEARTBEAT.replace('"term":3', '"term":null'), "bad-field", "$.term")
        self.assertRefused(HEARTBEAT.replace('"sender":"n1"', '"sender":null'), "bad-field", "$.sender")
        self.assertRefused(HEARTBEAT.replace('"sender":"n1"', '"sender":true'), "bad-field", "$.sender")
        self.assertRefused(HEARTBEAT.replace('"timestamp":1700000000', '"timestamp":"now"'), "bad-field", "$.timestamp")
        self.assertRefused(HEARTBEAT.replace('"entries":[]', '"entries":{}'), "bad-field", "$.data.entries")
        self.assertRefused(HEARTBEAT.replace('"prevLogTerm":2', '"prevLogTerm":null'), "bad-field", "$.data.prevLogTerm")
        self.assertRefused(HEARTBEAT.replace("}}", '},"id":7}'), "bad-field", "$.id")
        self.assertRefused(HEARTBEAT.replace("}}", '},"id":"%s"}' % ("i" * 257)), "bad-field", "$.id")
        vote = '{"type":2,"sender":"a","receiver":"b","term":1,"timestamp":0,"data":{"response":1}}'
        self.assertRefused(vote, "bad-field", "$.data.response")

    def test_node_names_count_utf16_units_as_javascript_does(self):
        ok = HEARTBEAT.replace('"sender":"n1"', '"sender":"%s"' % ("\U0001F680" * (MAX_NODE_NAME_LENGTH // 2)))
        self.assertEqual(len(decode_dict(ok)["sender"]), MAX_NODE_NAME_LENGTH // 2)
        long = HEARTBEAT.replace('"sender":"n1"', '"sender":"%s"' % ("\U0001F680" * (MAX_NODE_NAME_LENGTH // 2 + 1)))
        self.assertRefused(long, "bad-field", "$.sender")
        self.assertRefused(HEARTBEAT.replace('"sender":"n1"', '"sender":""'), "bad-field", "$.sender")
        self.assertRefused(HEARTBEAT.replace('"sender":"n1"', '"sender":"a\\u007fb"'), "bad-field", "$.sender")
        self.assertRefused(HEARTBEAT.replace('"leaderId":"n1"', '"leaderId":-1'), "bad-field", "$.data.leaderId")

    def test_negative_fractional_unsafe_and_overflowing_integers(self):
        for spelled in ["-1", "1.5", "-1e300", "1e400", "1" + "0" * 5000]:
            with self.subTest(term=spelled):
                self.assertRefused(HEARTBEAT.replace('"term":3', '"term":' + spelled), "bad-field", "$.term")
        # Whole numbers at or beyond RAFT_NUMBER_LIMIT = 2**53 - 2**20 (bounds.ts).
        for spelled in ["9007199253692416", "9007199254740991", "9007199254740992", "9007199254740993",
                        "9223372036854775808", "1e300", "1E16"]:
            with self.subTest(term=spelled):
                self.assertRefused(HEARTBEAT.replace('"term":3', '"term":' + spelled), "out-of-range", "$.term")
        largest = decode_dict(HEARTBEAT.replace('"term":3', '"term":9007199253692415'))
        self.assertEqual(largest["term"], codec.RAFT_NUMBER_LIMIT - 1)
        self.assertRefused(HEARTBEAT.replace('"timestamp":1700000000', '"timestamp":-1'), "bad-field", "$.timestamp")

    def test_numbers_javascript_reads_as_integers_are_integers(self):
        for spelled in ["3.0", "3E0", "0.3e1", "30e-1"]:
            d = decode_dict(HEARTBEAT.replace('"term":3', '"term":' + spelled))
            self.assertEqual(d["term"], 3)
            self.assertIs(type(d["term"]), int)
        d = decode_dict(HEARTBEAT.replace('"prevLogIndex":7', '"prevLogIndex":-0'))
        self.assertEqual(d["data"]["prevLogIndex"], 0)
        self.assertEqual(encode_dict(d), HEARTBEAT.replace('"prevLogIndex":7', '"prevLogIndex":0').encode())

    def test_unknown_type_codes(self):
        undefined = str(max(codec.DATA_SPECS) + 1)
        for t in [undefined, "99", "-1", "0.5", '"0"', "null", "true", "false", "[]", "1e21"]:
            with self.subTest(type=t):
                self.assertRefused(HEARTBEAT.replace('"type":0', '"type":' + t), "unknown-type", "$.type")

    def test_unexpected_keys_in_javascript_key_order(self):
        self.assertRefused(HEARTBEAT.replace('{"type"', '{"extra":1,"type"'), "unexpected-key", "$.extra")
        self.assertRefused(HEARTBEAT.replace('"leaderCommit":5', '"leaderCommit":5,"matchIndex":1'),
                           "unexpected-key", "$.data.matchIndex")
        self.assertRefused(HEARTBEAT.replace('"entries":[]', '"entries":[{"term":1,"value":1,"index":1}]'),
                           "unexpected-key", "$.data.entries[0].index")
        # Array-index keys come first in a JavaScript object, so "1" is named, not "zzz".
        self.assertRefused(HEARTBEAT.replace('{"type"', '{"zzz":1,"1":1,"type"'), "unexpected-key", "$.1")

    def test_forbidden_keys_anywhere(self):
        for key in ["__proto__", "constructor", "prototype"]:
            with self.subTest(key=key):
                k = '"%s":{"polluted":true},' % key
                self.assertRefused(ENTRIES.replace('{"type"', "{" + k + '"type"'), "unexpected-key", "$." + key)
                self.assertRefused(ENTRIES.replace('{"leaderId"', "{" + k + '"leaderId"'), "unexpected-key",
                                   "$.data." + key)
                self.assertRefused(ENTRIES.replace('{"term":1', "{" + k + '"term":1'), "unexpected-key",
                                   "$.data.entries[0]." + key)
                self.assertRefused(ENTRIES.replace('{"a"', "{" + k + '"a"'), "unexpected-key",
                                   "$.data.entries[0].value." + key)
                self.assertRefused(ENTRIES.replace('{"b"', "{" + k + '"b"'), "unexpected-key",
                                   "$.data.entries[0].value.a[0]." + key)
                self.assertRefused(COMMAND.replace('"x":{}', '"x":{"%s":1}' % key), "unexpected-key",
                                   "$.data.value.x." + key)

    def test_depth_limit(self):
        def entry(v):
            return HEARTBEAT.replace('"entries":[]', '"entries":[{"term":1,"value":%s}]' % v)

        def nest(n):
            return "[" * n + "]" * n

        decode_dict(entry(nest(MAX_VALUE_DEPTH + 1)))
        self.assertRefused(entry(nest(MAX_VALUE_DEPTH + 2)), "bad-field",
                           "$.data.entries[0].value" + "[0]" * (MAX_VALUE_DEPTH + 1))
        deep_object = '{"k":' * (MAX_VALUE_DEPTH + 2) + "1" + "}" * (MAX_VALUE_DEPTH + 2)
        self.assertRefused(COMMAND.replace('{"x":{}}', deep_object), "bad-field",
                           "$.data.value" + ".k" * (MAX_VALUE_DEPTH + 1))

    def test_nesting_beyond_pythons_recursion_limit_gets_the_same_answer(self):
        # json's C parser stops at about a thousand levels; JSON.parse does not.
        # The iterative fallback must give the error the TypeScript codec gives.
        deep = "[" * 200000 + "]" * 200000
        self.assertRefused(deep, "bad-field", "$")
        self.assertRefused(HEARTBEAT.replace('"entries":[]', '"entries":[{"term":1,"value":%s}]' % deep),
                           "bad-field", "$.data.entries[0].value" + "[0]" * (MAX_VALUE_DEPTH + 1))
        self.assertRefused(HEARTBEAT.replace('"entries":[]', '"zz":%s,"entries":[]' % deep), "unexpected-key",
                           "$.data.zz")
        self.assertRefused("[" * 5000 + "]" * 4999, "bad-json", "$")
        self.assertRefused("[" * 5000 + "]" * 5001, "bad-json", "$")
        self.assertRefused('{"a":' * 5000 + "1" + "}" * 5000 + ",", "bad-json", "$")


class DeepParser(unittest.TestCase):
    """The iterative fallback parser reads what json reads, and refuses what it refuses."""

    def test_same_values_as_json(self):
        docs = ['{"a":[1,2.5,-0,1e2,"x\\u00e9\\ud83d\\ude00",true,false,null,{}],"1":{"b":[]},"a ":{"a":1,"a":2}}',
                " [ 1 , { \"k\" : [ ] } ] ", '"\\ud800"', "0", "-1.5e-3", "[[[[]]]]"]
        for doc in docs:
            with self.subTest(doc=doc):
                self.assertEqual(jsjson._parse_deep(doc), jsjson.parse(doc))

    def test_same_refusals_as_json(self):
        for doc in ["", " ", "[", "]", "[1,]", "[,1]", "{,}", '{"a"}', '{"a":}', '{"a":1,}', '{1:2}', "[1 2]",
                    "tru", "nul", "NaN", "[01]", "[1.]", '"\x01"', '"\\q"', "[]]", "{}{}", '{"a":1}}']:
            with self.subTest(doc=doc):
                with self.assertRaises(jsjson.JSONTextError):
                    jsjson.parse(doc)
                with self.assertRaises(jsjson.JSONTextError):
                    jsjson._parse_deep(doc)


class Formatting(unittest.TestCase):
    """Numbers and strings exactly as JSON.stringify writes them (outputs taken from Node.js)."""

    def test_numbers(self):
        cases = [
            (0, "0"), (-0.0, "0"), (7, "7"), (-7, "-7"), (0.1, "0.1"), (-2.5, "-2.5"), (1e21, "1e+21"),
            (1e20, "100000000000000000000"), (1e-7, "1e-7"), (0.000001, "0.000001"), (1.5e-10, "1.5e-10"),
            (123456789012345680000.0, "123456789012345680000"), (2**60, "1152921504606847000"),
            (2.0**60, "1152921504606847000"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (2**53 - 1, "9007199254740991"), (2**53 + 1, "9007199254740992"), (100.0, "100"), (0.5, "0.5"),
            (1e300, "1e+300"), (123e-20, "1.23e-18"), (1 / 3, "0.3333333333333333"),
        ]
        for value, text in cases:
            with self.subTest(value=value):
                self.assertEqual(jsjson.format_number(value), text)
        for bad in [math.inf, -math.inf, math.nan]:
            with self.assertRaises(ValueError):
                jsjson.format_number(bad)

    def test_strings(self):
        self.assertEqual(jsjson.quote('q " b \\ s /'), '"q \\" b \\\\ s /"')
        self.assertEqual(jsjson.quote("\x00\x01\b\t\n\f\r\x1f\x7f\u2028"), '"\\u0000\\u0001\\b\\t\\n\\f\\r\\u001f\x7f\u2028"')
        self.assertEqual(jsjson.quote("\ud800 \U0001F600"), '"\\ud800 \U0001F600"')
        # A surrogate pair held as two code points is one character in JavaScript.
        self.assertEqual(jsjson.quote("\ud83d\ude00"), '"\U0001F600"')

    def test_key_order(self):
        self.assertEqual(jsjson.js_key_order(["b", "10", "2", "01", "4294967295", "4294967294", "a", "0", ""]),
                         ["0", "2", "10", "4294967294", "b", "01", "4294967295", "a", ""])
        self.assertEqual(jsjson.stringify({"b": 1, "1": 2}), '{"1":2,"b":1}')


class MessageObjects(unittest.TestCase):
    def tearDown(self):
        codec._classes_cache = None

    @unittest.skipIf(_simpleraft_importable(), "simpleRaft is installed: its classes are used instead")
    def test_stand_ins_when_simpleraft_is_absent(self):
        m = decode_message(HEARTBEAT)
        self.assertIsInstance(m, stand_ins.AppendEntriesMessage)
        self.assertEqual((m.sender, m.receiver, m.term, m.timestamp, m.type), ("n1", None, 3, 1700000000, 0))
        self.assertEqual(m.data["leaderCommit"], 5)
        self.assertIsNone(m.id)

    def test_extension_kinds_always_use_stand_ins(self):
        self.assertIsInstance(decode_message(COMMAND), stand_ins.ClientCommandMessage)

    def test_a_simpleraft_shaped_package_is_used_when_importable(self):
        # A package laid out like simpleRaft's (simpleRaft/messages/*.py), with
        # classes of the same shape, written here for the test.
        class Base(object):
            def __init__(self, sender, receiver, term, data):
                self._timestamp = 12345  # simpleRaft stamps int(time.time()) here
                self._sender, self._receiver, self._term, self._data = sender, receiver, term, data

            @property
            def type(self):
                return self._type

        kinds = {"append_entries": ["AppendEntriesMessage"],
                 "request_vote": ["RequestVoteMessage", "RequestVoteResponseMessage"],
                 "response": ["ResponseMessage"]}
        codes = {"AppendEntriesMessage": 0, "RequestVoteMessage": 1, "RequestVoteResponseMessage": 2,
                 "ResponseMessage": 3}
        saved = {k: v for k, v in sys.modules.items() if k == "simpleRaft" or k.startswith("simpleRaft.")}
        made = {}
        try:
            sys.modules["simpleRaft"] = types.ModuleType("simpleRaft")
            sys.modules["simpleRaft.messages"] = types.ModuleType("simpleRaft.messages")
            for module, names in kinds.items():
                mod = types.ModuleType("simpleRaft.messages." + module)
                for name in names:
                    made[name] = type(name, (Base,), {"_type": codes[name]})
                    setattr(mod, name, made[name])
                sys.modules["simpleRaft.messages." + module] = mod
            codec._classes_cache = None
            vote = '{"type":1,"sender":2,"receiver":null,"term":1,"timestamp":99,"data":{"lastLogIndex":0,"lastLogTerm":null}}'
            m = decode_message(vote)
            self.assertIs(type(m), made["RequestVoteMessage"])
            self.assertEqual((m._sender, m._receiver, m._term, m._timestamp), (2, None, 1, 99))
            self.assertEqual(m._data, {"lastLogIndex": 0, "lastLogTerm": None})
            self.assertEqual(encode_message(m), vote.encode())
            self.assertIs(type(decode_message(HEARTBEAT)), made["AppendEntriesMessage"])
        finally:
            for k in [k for k in sys.modules if k == "simpleRaft" or k.startswith("simpleRaft.")]:
                del sys.modules[k]
            sys.modules.update(saved)

    @unittest.skipUnless(_simpleraft_importable(), "simpleRaft is not importable")
    def test_simpleraft_own_classes(self):
        from simpleRaft.messages.append_entries import AppendEntriesMessage
        from simpleRaft.messages.response import ResponseMessage

        m = decode_message(HEARTBEAT)
        self.assertIsInstance(m, AppendEntriesMessage)
        self.assertEqual((m.sender, m.receiver, m.term, m.timestamp), ("n1", None, 3, 1700000000))
        self.assertEqual(encode_message(m), HEARTBEAT.encode())
        # A Response exactly as simpleRaft's State._send_response_message builds one.
        r = ResponseMessage("n2", "n1", 3, {"response": True, "currentTerm": 3})
        d = decode_dict(encode_message(r))
        self.assertEqual(d["data"], {"response": True, "currentTerm": 3})
        self.assertEqual(d["timestamp"], r.timestamp)

    def test_wire_timestamp_and_id_are_kept(self):
        m = decode_message(HEARTBEAT.replace("}}", '},"id":"n1-9"}'))
        self.assertEqual(m._timestamp, 1700000000)
        self.assertEqual(m._id, "n1-9")
        self.assertEqual(encode_message(m), HEARTBEAT.replace("}}", '},"id":"n1-9"}').encode())

    def test_simpleraft_heartbeat_with_prev_log_term_none_is_sent_as_0(self):
        m = stand_ins.AppendEntriesMessage("n1", None, 1, {"leaderId": "n1", "prevLogIndex": 0, "prevLogTerm": None,
                                                           "entries": [], "leaderCommit": 0})
        m._timestamp = 5
        self.assertEqual(decode_dict(encode_message(m))["data"]["prevLogTerm"], 0)
        self.assertIsNone(m.data["prevLogTerm"])  # the caller's dict is left alone

    def test_encoding_refuses_what_a_peer_would_drop(self):
        def response(data, term=3):
            m = stand_ins.ResponseMessage("n2", "n1", term, data)
            m._timestamp = 0
            return m

        with self.assertRaises(CodecError) as cm:
            encode_message(response({"response": True, "currentTerm": 3, "extra": 1}))
        self.assertEqual((cm.exception.code, cm.exception.field), ("unexpected-key", "$.data.extra"))
        with self.assertRaises(CodecError) as cm:
            encode_message(response({"response": True}))
        self.assertEqual((cm.exception.code, cm.exception.field), ("missing-field", "$.data.currentTerm"))
        with self.assertRaises(CodecError) as cm:
            encode_message(response({"response": True, "currentTerm": 3}, term=-1))
        self.assertEqual((cm.exception.code, cm.exception.field), ("bad-field", "$.term"))
        with self.assertRaises(CodecError) as cm:
            encode_message(response({"response": "yes", "currentTerm": 3}))
        self.assertEqual((cm.exception.code, cm.exception.field), ("bad-field", "$.data.response"))
        for value in [{1, 2}, float("nan"), {1: "non-string key"}, object()]:
            cmd = stand_ins.ClientCommandMessage("a", "b", 1, {"value": value})
            with self.assertRaises(CodecError):
                encode_message(cmd)
        # Optional fields set to None are left out, as if absent.
        self.assertEqual(decode_dict(encode_message(response({"response": True, "currentTerm": 3, "matchIndex": None})))
                         ["data"], {"response": True, "currentTerm": 3})

    def test_encoding_objects_without_underscored_fields(self):
        class Plain(object):
            type, sender, receiver, term, timestamp = 2, "a", "b", 1, 0
            data = {"response": True}

        self.assertEqual(encode_message(Plain()),
                         b'{"type":2,"sender":"a","receiver":"b","term":1,"timestamp":0,"data":{"response":true}}')


class IndexBase(unittest.TestCase):
    def test_wire_index_i_is_list_position_i_minus_1(self):
        log = [{"term": 1, "value": "a"}, {"term": 1, "value": "b"}, {"term": 2, "value": "c"}]
        self.assertEqual(log[wire_index_to_list_position(1)]["value"], "a")
        self.assertEqual(log[wire_index_to_list_position(3)]["value"], "c")
        self.assertEqual(list_position_to_wire_index(len(log) - 1), len(log))  # lastLogIndex == len(log)
        with self.assertRaises(ValueError):
            wire_index_to_list_position(0)  # "before the first entry"
        with self.assertRaises(ValueError):
            list_position_to_wire_index(-1)


if __name__ == "__main__":
    unittest.main()
