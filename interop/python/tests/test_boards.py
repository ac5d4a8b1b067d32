"""The boards (simpleraft_bridge/boards.py) on real sockets on 127.0.0.1.

UDP gossip always; ZeroMQ when pyzmq can be imported (Debian's python3-zmq,
for /usr/bin/python3: test/interop/python-vectors.test.ts runs these with a
python3 that has it). Peers that are not boards are raw sockets, so the bytes
on the wire are checked exactly as docs/wire-format.md (section 11) gives them.
"""

import json
import socket
import time
import unittest

import _support  # noqa: F401

from simpleraft_bridge import CodecError, codec, stand_ins
from simpleraft_bridge.boards import (
    BROADCAST_TOPIC,
    Peer,
    RemotePeer,
    UdpGossipBoard,
    decode_envelope,
    encode_envelope,
    parse_peers,
    topic_for,
)
from simpleraft_bridge.stand_in_states import Follower, Server

try:
    import zmq
except ImportError:  # pragma: no cover - depends on the machine
    zmq = None

LOOPBACK = "127.0.0.1"


def free_ports(kind, n):
    socks = [socket.socket(socket.AF_INET, kind) for _ in range(n)]
    try:
        for s in socks:
            s.bind((LOOPBACK, 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def vote_request(sender="a", receiver="b", term=3):
    return stand_ins.RequestVoteMessage(sender, receiver, term, {"lastLogIndex": 0, "lastLogTerm": None})


def wait_message(board, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = board.get_message(0.05)
        if m is not None:
            return m
    return None


class RawUdp(object):
    """A UDP socket standing in for a peer: records datagrams, sends raw bytes."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.sock.settimeout(2.0)
        self.port = self.sock.getsockname()[1]

    def recv_envelopes(self, n):
        out = []
        for _ in range(n):
            data, _ = self.sock.recvfrom(70000)
            out.append(json.loads(data.decode("utf-8")))
        return out

    def nothing_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            self.sock.recvfrom(70000)
            return False
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(2.0)

    def close(self):
        self.sock.close()


class Envelopes(unittest.TestCase):
    BODY = codec.encode_message(vote_request())

    def test_encode_is_the_documented_bytes(self):
        self.assertEqual(
            encode_envelope("9f3a01c2-41", "n1", 2, self.BODY),
            b'{"v":1,"id":"9f3a01c2-41","origin":"n1","ttl":2,"msg":' + self.BODY + b"}")
        self.assertIn(b'"origin":7,', encode_envelope("x", 7, 0, self.BODY))

    def test_decode_round_trip(self):
        env = decode_envelope(encode_envelope("id-1", "a", 1, self.BODY))
        self.assertEqual((env["v"], env["id"], env["origin"], env["ttl"]), (1, "id-1", "a", 1))
        self.assertEqual(codec.encode_dict(env["msg"]), self.BODY)

    def test_refusals_name_the_same_code_and_field_as_the_typescript_transport(self):
        msg = self.BODY.decode()
        cases = [
            (b"\xff", "bad-json", "$"),
            (b"[]", "bad-field", "$"),
            (b'{"v":1,"id":"a","origin":"a","ttl":1,"msg":%s,"x":1}' % self.BODY, "unexpected-key", "$.x"),
            (b'{"v":1,"id":"a","origin":"a","msg":%s}' % self.BODY, "missing-field", "$.ttl"),
            (b'{"v":2,"id":"a","origin":"a","ttl":1,"msg":%s}' % self.BODY, "bad-field", "$.v"),
            (b'{"v":1,"id":"","origin":"a","ttl":1,"msg":%s}' % self.BODY, "bad-field", "$.id"),
            (b'{"v":1,"id":"%s","origin":"a","ttl":1,"msg":%s}' % (b"i" * 65, self.BODY), "bad-field", "$.id"),
            (b'{"v":1,"id":"a","origin":"","ttl":1,"msg":%s}' % self.BODY, "bad-field", "$.origin"),
            (b'{"v":1,"id":"a","origin":"a","ttl":17,"msg":%s}' % self.BODY, "bad-field", "$.ttl"),
            (b'{"v":1,"id":"a","origin":"a","ttl":1.5,"msg":%s}' % self.BODY, "bad-field", "$.ttl"),
            (('{"v":1,"id":"a","origin":"a","ttl":1,"msg":%s}' % msg.replace('"term":3', '"term":-3')).encode(),
             "bad-field", "$.msg.term"),
            (b'{"v":1,"id":"a","origin":"a","ttl":1,"msg":[]}', "bad-field", "$.msg"),
            (b'{"v":1,"id":"a","origin":"a","ttl":1,"msg":{"type":9}}', "missing-field", "$.msg.sender"),
            (b" " * 65508, "too-large", "$"),
        ]
        for data, code, field in cases:
            with self.subTest(data=data[:80]):
                with self.assertRaises(CodecError) as cm:
                    decode_envelope(data)
                self.assertEqual((cm.exception.code, cm.exception.field), (code, field), str(cm.exception))

    def test_parse_peers(self):
        ps = parse_peers("n1=127.0.0.1:5001, n2=localhost:5002,v6=[::1]:5003")
        self.assertEqual([(p.name, p.host, p.port) for p in ps],
                         [("n1", "127.0.0.1", 5001), ("n2", "localhost", 5002), ("v6", "::1", 5003)])
        self.assertEqual(parse_peers(""), [])
        for bad in ("n1", "n1=host", "n1=host:0", "=h:1", "n1=h:x"):
            with self.assertRaises(ValueError):
                parse_peers(bad)


class UdpBoard(unittest.TestCase):
    def setUp(self):
        self.raw = [RawUdp(), RawUdp()]
        self.port = free_ports(socket.SOCK_DGRAM, 1)[0]
        self.board = UdpGossipBoard("me", LOOPBACK, self.port,
                                    [Peer("x", LOOPBACK, self.raw[0].port), Peer("3", LOOPBACK, self.raw[1].port)])

    def tearDown(self):
        self.board.close()
        for r in self.raw:
            r.close()

    def inject(self, msg_dict, env_id="ext-1", origin="x", ttl=2):
        body = codec.encode_dict(dict(msg_dict, timestamp=0))
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        raw.sendto(encode_envelope(env_id, origin, ttl, body), (LOOPBACK, self.port))
        raw.close()

    def test_a_message_arrives_as_a_message_object_and_in_order(self):
        for term in (1, 2, 3):
            self.inject({"type": 1, "sender": "x", "receiver": "me", "term": term,
                         "data": {"lastLogIndex": 0, "lastLogTerm": None}}, env_id="e%d" % term)
        got = [wait_message(self.board) for _ in range(3)]
        self.assertEqual([m.term for m in got], [1, 2, 3])  # arrival order, not MemoryBoard's
        self.assertEqual((got[0].type, got[0].sender, got[0].receiver), (1, "x", "me"))
        self.assertIsNone(got[0].data["lastLogTerm"])

    def test_an_integer_sender_is_the_peer_of_the_same_name(self):
        self.inject({"type": 2, "sender": 3, "receiver": "me", "term": 1, "data": {"response": True}}, origin=3)
        m = wait_message(self.board)
        self.assertEqual(m.sender, "3")  # as configured, so simpleRaft's == finds the neighbour

    def test_server_send_message_gives_each_neighbour_its_own_copy(self):
        # simpleRaft's Server.send_message reuses one object and changes _receiver
        # between neighbours: each copy must leave addressed to its neighbour.
        server = Server("me", Follower(), [], self.board, self.board.neighbors())
        server.send_message(vote_request("me", None, 7))
        envs = self.raw[0].recv_envelopes(2) + self.raw[1].recv_envelopes(2)
        self.assertEqual(sorted(e["msg"]["receiver"] for e in envs), ["3", "3", "x", "x"])
        self.assertEqual(len(set(e["id"] for e in envs)), 2)
        for e in envs:
            self.assertEqual((e["v"], e["origin"], e["ttl"], e["msg"]["term"]), (1, "me", 2, 7))
            self.assertIsInstance(e["msg"]["timestamp"], int)
        self.assertEqual(self.board.counters["sent"], 2)

    def test_send_message_response_reaches_only_the_receiver_and_a_relay(self):
        peers = self.board.neighbors()
        self.assertTrue(all(isinstance(p, RemotePeer) for p in peers))
        server = Server("me", Follower(), [], self.board, peers)
        server.send_message_response(stand_ins.ResponseMessage("me", "x", 4, {"response": True, "currentTerm": 4}))
        a = self.raw[0].recv_envelopes(1)[0]
        b = self.raw[1].recv_envelopes(1)[0]  # fanout 2: the other peer gets it to relay
        self.assertEqual(a, b)
        self.assertEqual(a["msg"]["receiver"], "x")

    def test_a_broadcast_goes_to_fanout_peers(self):
        self.board.send(vote_request("me", None, 2))
        envs = self.raw[0].recv_envelopes(1) + self.raw[1].recv_envelopes(1)
        self.assertTrue(all(e["msg"]["receiver"] is None for e in envs))

    def test_relays_a_message_for_another_node_once_with_ttl_minus_one(self):
        self.inject({"type": 2, "sender": "3", "receiver": "x", "term": 1, "data": {"response": False}},
                    env_id="r1", origin="3", ttl=2)
        self.assertIsNone(self.board.get_message(0.2))  # not for us: relayed, never delivered
        relayed = self.raw[0].recv_envelopes(1)[0]
        self.assertEqual((relayed["id"], relayed["origin"], relayed["ttl"]), ("r1", "3", 1))
        self.assertTrue(self.raw[1].nothing_within(0.2))  # never back to its origin
        self.inject({"type": 2, "sender": "3", "receiver": "x", "term": 1, "data": {"response": False}},
                    env_id="r1", origin="3", ttl=2)
        self.assertIsNone(self.board.get_message(0.2))
        self.assertEqual(self.board.counters["dropped:duplicate"], 1)
        self.assertEqual(self.board.counters["relayed"], 1)
        self.assertTrue(self.raw[0].nothing_within(0.2))

    def test_ttl_zero_is_not_relayed_and_a_broadcast_is_delivered_and_relayed(self):
        self.inject({"type": 2, "sender": "3", "receiver": "x", "term": 1, "data": {"response": False}},
                    env_id="t0", origin="3", ttl=0)
        self.assertIsNone(self.board.get_message(0.2))
        self.assertTrue(self.raw[0].nothing_within(0.2))
        self.inject({"type": 1, "sender": "3", "receiver": None, "term": 5,
                     "data": {"lastLogIndex": 0, "lastLogTerm": None}}, env_id="b1", origin="3", ttl=1)
        self.assertEqual(wait_message(self.board).term, 5)  # delivered, and relayed to x:
        self.assertEqual(self.raw[0].recv_envelopes(1)[0]["ttl"], 0)

    def test_malformed_datagrams_are_dropped_counted_and_do_not_stop_the_board(self):
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for junk in (b"", b"not json", b'{"v":1}', b"\xff\xfe",
                     encode_envelope("m", "x", 1, b'{"type":1}')):
            raw.sendto(junk, (LOOPBACK, self.port))
        raw.close()
        self.inject({"type": 2, "sender": "x", "receiver": "me", "term": 9, "data": {"response": True}}, env_id="ok")
        m = wait_message(self.board)
        self.assertEqual(m.term, 9)
        self.assertEqual(self.board.counters["dropped:malformed"], 5)

    def test_misaddressed_is_not_delivered_and_unknown_receivers_are_not_sent(self):
        self.assertFalse(self.board.send(vote_request("me", "nobody", 1)))
        self.assertEqual(self.board.counters["dropped:unknown-peer"], 1)

    def test_an_unsendable_message_is_dropped_not_raised(self):
        bad = stand_ins.AppendEntriesMessage("me", "x", 1, {"leaderId": "me"})
        self.assertFalse(self.board.send(bad))
        self.assertEqual(self.board.counters["dropped:unsendable"], 1)

    def test_simpleRafts_null_prevLogTerm_goes_out_as_0(self):
        hb = stand_ins.AppendEntriesMessage("me", None, 1, {"leaderId": "me", "prevLogIndex": 0, "prevLogTerm": None,
                                                            "entries": [], "leaderCommit": 0})
        self.board.send(hb, receiver="x")
        e = self.raw[0].recv_envelopes(1)[0]
        self.assertEqual(e["msg"]["data"]["prevLogTerm"], 0)

    def test_oversized_is_dropped(self):
        big = stand_ins.ClientCommandMessage("me", "x", 1, {"value": "v" * 70000})
        self.assertFalse(self.board.send(big))
        self.assertEqual(self.board.counters["dropped:oversized"], 1)


@unittest.skipIf(zmq is None, "pyzmq is not installed (apt-get install python3-zmq)")
class ZeroMQBoardTests(unittest.TestCase):
    def setUp(self):
        from simpleraft_bridge.boards import ZeroMQBoard

        self.ZeroMQBoard = ZeroMQBoard
        self.ctx = zmq.Context()
        self.closers = []

    def tearDown(self):
        for c in reversed(self.closers):
            c()
        self.ctx.term()

    def raw_socket(self, kind):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        self.closers.append(s.close)
        return s

    def board(self, *args, **kw):
        b = self.ZeroMQBoard(*args, **kw)
        self.closers.append(b.close)
        return b

    def pump_until(self, boards, cond, timeout=5.0):
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            for b in boards:
                m = b.get_message(0.01)
                if m is not None:
                    got.append((b, m))
            if cond(got):
                return got
        self.fail("condition not reached within %s s" % timeout)

    def test_two_boards_become_ready_and_exchange_messages(self):
        pa, pb = free_ports(socket.SOCK_STREAM, 2)
        a = self.board("a", LOOPBACK, pa, [Peer("b", LOOPBACK, pb)])
        b = self.board("b", LOOPBACK, pb, [Peer("a", LOOPBACK, pa)])
        self.pump_until([a, b], lambda got: a.ready_peers() == {"b"} and b.ready_peers() == {"a"})
        a.send(vote_request("a", "b", 4))
        got = self.pump_until([a, b], lambda got: got)
        board, m = got[0]
        self.assertIs(board, b)
        self.assertEqual((m.type, m.sender, m.receiver, m.term), (1, "a", "b", 4))
        a.send(vote_request("a", None, 5))  # broadcast: one frame under all\0
        got = self.pump_until([a, b], lambda got: got)
        self.assertEqual((got[0][1].term, got[0][1].receiver), (5, None))

    def test_frames_are_the_documented_ones(self):
        pa, = free_ports(socket.SOCK_STREAM, 1)
        a = self.board("a", LOOPBACK, pa, [Peer("x", LOOPBACK, 1), Peer("y", LOOPBACK, 2)])
        sub = self.raw_socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect("tcp://%s:%d" % (LOOPBACK, pa))
        sub.setsockopt(zmq.RCVTIMEO, 100)
        server = Server("a", Follower(), [], a, a.neighbors())
        frames = None
        deadline = time.monotonic() + 5
        while frames is None and time.monotonic() < deadline:  # the slow joiner: resend until connected
            server.send_message(vote_request("a", None, 6))
            a.get_message(0.01)
            try:
                frames = [sub.recv_multipart(), sub.recv_multipart()]
            except zmq.Again:
                pass
        self.assertIsNotNone(frames)
        topics = sorted(f[0] for f in frames)
        self.assertEqual(topics, [b"to:x\x00", b"to:y\x00"])
        for topic, body in frames:
            self.assertEqual(len(body), len(body.strip()))
            d = json.loads(body)
            self.assertEqual(topic, topic_for(d["receiver"]))
            self.assertEqual(list(d), ["type", "sender", "receiver", "term", "timestamp", "data"])
        a.send(vote_request("a", None, 7))
        self.assertEqual(sub.recv_multipart()[0], BROADCAST_TOPIC)

    def test_bad_frames_and_bad_json_are_dropped_and_counted(self):
        pa, pp = free_ports(socket.SOCK_STREAM, 2)
        pub = self.raw_socket(zmq.PUB)
        pub.bind("tcp://%s:%d" % (LOOPBACK, pp))
        a = self.board("a", LOOPBACK, pa, [Peer("p", LOOPBACK, pp)])
        good = codec.encode_dict({"type": 2, "sender": "p", "receiver": "a", "term": 1, "timestamp": 0,
                                  "data": {"response": True}})
        other = codec.encode_dict({"type": 2, "sender": "p", "receiver": "zz", "term": 1, "timestamp": 0,
                                   "data": {"response": True}})
        deadline = time.monotonic() + 5
        seen = None
        while seen is None and time.monotonic() < deadline:
            pub.send_multipart([b"to:a\x00", good, b"extra"])
            pub.send_multipart([b"to:a\x00", b"{not json"])
            pub.send_multipart([BROADCAST_TOPIC, other])
            pub.send_multipart([b"to:a\x00", good])
            seen = a.get_message(0.05)
        self.assertIsNotNone(seen)
        self.assertEqual((seen.sender, seen.term), ("p", 1))
        for key in ("dropped:bad-frames", "dropped:malformed", "dropped:misaddressed"):
            self.assertGreaterEqual(a.counters[key], 1, key)
        self.assertGreaterEqual(a.counters["malformed:bad-json"], 1)

    def test_a_peer_is_heard_again_after_a_frame_over_the_size_limit(self):
        # libzmq drops a link that carried a frame over MAXMSGSIZE and, after
        # that protocol error, never reconnects by itself.
        pa, pp = free_ports(socket.SOCK_STREAM, 2)
        pub = self.raw_socket(zmq.PUB)
        pub.bind("tcp://%s:%d" % (LOOPBACK, pp))
        a = self.board("a", LOOPBACK, pa, [Peer("p", LOOPBACK, pp)], max_message_bytes=4096)

        def good(term):
            return codec.encode_dict({"type": 2, "sender": "p", "receiver": "a", "term": term, "timestamp": 0,
                                      "data": {"response": True}})

        def resend_until_heard(term):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pub.send_multipart([b"to:a\x00", good(term)])
                m = a.get_message(0.05)
                if m is not None and m.term == term:
                    return m
            return None

        self.assertIsNotNone(resend_until_heard(1))
        pub.send_multipart([b"to:a\x00", b"x" * (4096 + 1024 + 1)])
        self.assertIsNotNone(resend_until_heard(2))
        self.assertGreaterEqual(a.counters["reconnects"], 1)


if __name__ == "__main__":
    unittest.main()
