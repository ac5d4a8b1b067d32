"""Boards: simpleRaft's Board interface over the network, in simpleraft-ts's wire format.

simpleRaft (github.com/streed/simpleRaft) reads its messages from a *board*
(simpleRaft/boards/board.py: ``set_owner``, ``post_message``, ``get_message``)
and sends them through its *neighbours*: ``Server.send_message`` sets the
message's ``_receiver`` to each neighbour's ``_name`` in turn and calls that
neighbour's ``post_message`` with the same object; ``send_message_response``
posts to the one neighbour whose ``_name`` is the receiver. With MemoryBoard
the neighbours are other Server objects in the same process. Its ZeroMQ server
never got a message across (its facts are in docs/simpleraft-errata.md).

The two boards here put the wire between the servers:

* ``ZeroMQBoard``: the framing of src/transport/zeromq.ts (two frames,
  topic ``to:<name>\\0`` or ``all\\0``, then the message JSON);
* ``UdpGossipBoard``: the envelope of src/transport/udp-gossip.ts
  (``{"v":1,"id":..,"origin":..,"ttl":..,"msg":..}``, relayed to random
  subgroups, duplicates dropped by id).

Both are described byte for byte in docs/wire-format.md (section 11). A board
is two things at once:

* **the owner's inbox** (simpleRaft's Board): ``get_message(timeout)`` returns
  the next message that arrived for this node, decoded into simpleRaft's own
  message classes (or the stand-ins), or None; ``post_message`` puts one on
  it (what ``Server.post_message`` does);
* **the way out**: ``neighbors()`` gives one ``RemotePeer`` per peer, to pass
  as simpleRaft's ``neighbors``. A RemotePeer's ``post_message`` encodes the
  message *at once*, addressed to that peer, and sends it. Encoding at once is
  what makes simpleRaft's broadcast work: it reuses one message object for
  every neighbour and only changes ``_receiver`` between the calls, so anything
  that kept the object for later would send every copy to the last neighbour.

``send(message)`` sends any message object; ``receiver`` None is a broadcast
(ZeroMQ: one frame under ``all\\0``, which every peer receives; UDP: gossip).
Everything from the network is validated by the codec and dropped and
counted when wrong, never raised. Node names are compared as text, as the
TypeScript transports do: an incoming integer ``3`` is the peer named ``"3"``,
and the board hands it on under the name it was configured with, so that
simpleRaft's ``n._name == message.receiver`` finds the neighbour.

Boards are single-threaded: one loop calls ``get_message`` and sends.
"""

import collections
import os
import random
import select
import socket
import time

from . import codec, jsjson
from .codec import CodecError, MAX_MESSAGE_BYTES

__all__ = [
    "Peer",
    "parse_peers",
    "name_text",
    "RemotePeer",
    "NetworkBoard",
    "ZeroMQBoard",
    "UdpGossipBoard",
    "topic_for",
    "BROADCAST_TOPIC",
    "encode_envelope",
    "decode_envelope",
    "GOSSIP_VERSION",
    "MAX_TTL",
    "MAX_ENVELOPE_ID_LENGTH",
    "UDP_MAX_PAYLOAD",
    "DEFAULT_MAX_DATAGRAM_BYTES",
]

GOSSIP_VERSION = 1
MAX_TTL = 16
MAX_ENVELOPE_ID_LENGTH = 64
UDP_MAX_PAYLOAD = 65507
DEFAULT_MAX_DATAGRAM_BYTES = 60 * 1024

BROADCAST_TOPIC = b"all\x00"


def name_text(name):
    """A node name as the transports write it: a string as it is, an integer in decimal."""
    return name if isinstance(name, str) else str(name)


def topic_for(name):
    """The ZeroMQ topic frame of a message addressed to ``name``."""
    return b"to:" + name_text(name).encode("utf-8") + b"\x00"


class Peer(object):
    """Another member: its name and address."""

    __slots__ = ("name", "host", "port")

    def __init__(self, name, host, port):
        self.name = name
        self.host = host
        self.port = int(port)

    def __repr__(self):
        return "Peer(%r, %r, %d)" % (self.name, self.host, self.port)


def parse_peers(text):
    """``"n1=127.0.0.1:5001,n2=127.0.0.1:5002"`` -> [Peer, ...] (names stay strings)."""
    peers = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, address = item.partition("=")
        host, colon, port = address.rpartition(":")
        if not sep or not name or not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("%r is not name=host:port" % (item,))
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        peers.append(Peer(name, host, int(port)))
    return peers


PYZMQ_MISSING = "pyzmq is not installed for this Python; use /usr/bin/python3 or install python3-zmq"


class RemotePeer(object):
    """A neighbour on the other side of the wire, as simpleRaft's Server sees its neighbours.

    It has the ``_name`` simpleRaft reads (and ``_port`` as simpleRaft's
    ZeroMQServer expects); ``post_message`` sends a copy of the message,
    addressed to this peer, through the board, at once.
    """

    def __init__(self, board, peer):
        self._board = board
        self._name = peer.name
        self._host = peer.host
        self._port = peer.port

    def post_message(self, message):
        self._board.send(message, receiver=self._name)

    def __repr__(self):
        return "RemotePeer(%r)" % (self._name,)


_KEEP = object()


class NetworkBoard(object):
    """What both boards share: the inbox, the neighbours, encoding, counting.

    Hooks (all optional, each called with a canonical message dict):
    ``on_send(d)`` after a message went out, ``on_receive(d)`` when one
    arrived for us, ``on_drop(reason, detail)`` for everything dropped.
    """

    def __init__(self, name, peers, classes=None, max_message_bytes=MAX_MESSAGE_BYTES,
                 on_send=None, on_receive=None, on_drop=None, clock=time.time):
        self._name = name
        self._own_text = name_text(name)
        self._peers = list(peers)
        self._by_text = {}
        for p in self._peers:
            t = name_text(p.name)
            if t == self._own_text or t in self._by_text:
                raise ValueError("duplicate node name %r among self and peers" % (t,))
            self._by_text[t] = p
        self._classes = classes
        self._max_message_bytes = max_message_bytes
        self._inbox = collections.deque()
        self._owner = None
        self._neighbors = None
        self._clock = clock
        self._closed = False
        self.on_send = on_send
        self.on_receive = on_receive
        self.on_drop = on_drop
        self.counters = collections.Counter()

    # --- simpleRaft's Board interface -------------------------------------

    def set_owner(self, owner):
        self._owner = owner

    def post_message(self, message):
        """Put a message on this board, for the owner to read (Server.post_message)."""
        self._inbox.append(message)

    def get_message(self, timeout=0.0):
        """The next message for the owner, or None after ``timeout`` seconds (0: do not wait).

        Unlike simpleRaft's MemoryBoard (which sorts by whole-second
        timestamps and pops the newest), messages come out in arrival order.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._inbox:
                return self._inbox.popleft()
            if self._closed:
                return None
            remaining = deadline - time.monotonic()
            self._receive(max(0.0, remaining))
            if self._inbox:
                return self._inbox.popleft()
            if remaining <= 0:
                return None

    # --- The way out ------------------------------------------------------

    @property
    def name(self):
        return self._name

    @property
    def peers(self):
        return list(self._peers)

    def neighbors(self):
        """One RemotePeer per peer, for simpleRaft's ``Server(..., neighbors)``."""
        if self._neighbors is None:
            self._neighbors = [RemotePeer(self, p) for p in self._peers]
        return list(self._neighbors)

    def send(self, message, receiver=_KEEP):
        """Encode a message object (simpleRaft's, a stand-in, any look-alike) and send it.

        ``receiver`` overrides the message's own. Returns True when it went
        out; a message that cannot be encoded is dropped and counted
        ``unsendable`` (it would be refused by every peer anyway).
        """
        try:
            d = codec.message_to_wire_dict(message)
        except CodecError as e:
            self._drop("unsendable", str(e))
            return False
        if receiver is not _KEEP:
            d["receiver"] = receiver
        return self.send_dict(d)

    def send_dict(self, d):
        """Send a message given as a dict of the wire's shape; the timestamp is stamped here."""
        if self._closed:
            self._drop("closed", "send after close")
            return False
        d = dict(d)
        d["timestamp"] = int(self._clock())
        if d.get("sender") is None:
            d["sender"] = self._name
        try:
            body = codec.encode_dict(d)
        except CodecError as e:
            self._drop("unsendable", str(e))
            return False
        if d["receiver"] is not None and name_text(d["receiver"]) not in self._by_text:
            self._drop("unknown-peer", "receiver %r is not a peer" % (d["receiver"],))
            return False
        if not self._transmit(d, body):
            return False
        self.counters["sent"] += 1
        if self.on_send is not None:
            self.on_send(d)
        return True

    def ready_peers(self):
        """The peers that can hear us and be heard, as far as the transport can tell."""
        return set(p.name for p in self._peers)

    def close(self):
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- For the transports ---------------------------------------------

    def _deliver(self, d):
        """A validated message dict arrived: check its address, then put it in the inbox."""
        receiver = d["receiver"]
        if receiver is not None and name_text(receiver) != self._own_text:
            self._drop("misaddressed", "receiver %r" % (receiver,))
            return
        peer = self._by_text.get(name_text(d["sender"]))
        if peer is not None:
            d["sender"] = peer.name  # the name as configured: simpleRaft compares with ==
        if receiver is not None:
            d["receiver"] = self._name
        self.counters["received"] += 1
        if self.on_receive is not None:
            self.on_receive(d)
        self.post_message(codec.message_from_dict(d, self._classes))

    def _drop(self, reason, detail):
        self.counters["dropped:" + reason] += 1
        if self.on_drop is not None:
            self.on_drop(reason, detail)

    def _transmit(self, d, body):
        raise NotImplementedError

    def _receive(self, timeout):
        raise NotImplementedError


def _endpoint(host, port):
    return "tcp://[%s]:%d" % (host, port) if ":" in host else "tcp://%s:%d" % (host, port)


class ZeroMQBoard(NetworkBoard):
    """The ZeroMQ framing of docs/wire-format.md, section 11 (ZeroMQ framing).

    One publishing socket bound on our port, one SUB socket connected to every
    peer and subscribed to ``to:<our name>\\0`` and ``all\\0``. The publisher is
    an XPUB (to a subscriber it is the same as a PUB): it also tells us which
    peers have subscribed to us, and a monitor on the SUB socket tells us which
    peers we are connected to, so ``ready_peers()`` knows who can hear us
    before anything is sent (ZeroMQ drops what a PUB sends before the
    subscriber is connected). A peer that is not up yet is retried every
    ``reconnect_ms`` (no growing back-off by default: a peer that starts late
    is connected within 100 ms, before its first election timeout; the runner
    relies on that, see runner.py, workaround 3). Needs pyzmq (Debian's
    python3-zmq).
    """

    def __init__(self, name, host, port, peers, reconnect_ms=100, reconnect_max_ms=100,
                 high_water_mark=10000, **kw):
        NetworkBoard.__init__(self, name, peers, **kw)
        try:
            import zmq  # only this board needs pyzmq
            from zmq.utils.monitor import recv_monitor_message
        except ImportError:
            # Also when runner.load_simpleraft's empty stand-in (workaround 4)
            # shadows the missing package: say what is wrong, not how it broke.
            raise ImportError(PYZMQ_MISSING)

        self._zmq = zmq
        self._recv_monitor_message = recv_monitor_message
        self._own_topic = topic_for(name)
        self._ctx = zmq.Context()
        self._pub = self._ctx.socket(zmq.XPUB)
        self._sub = self._ctx.socket(zmq.SUB)
        self._monitor = None
        try:
            for s in (self._pub, self._sub):
                s.setsockopt(zmq.LINGER, 0)
                s.setsockopt(zmq.RECONNECT_IVL, reconnect_ms)
                s.setsockopt(zmq.RECONNECT_IVL_MAX, reconnect_max_ms)
                if ":" in host:
                    s.setsockopt(zmq.IPV6, 1)
            self._pub.setsockopt(zmq.SNDHWM, high_water_mark)
            self._sub.setsockopt(zmq.RCVHWM, high_water_mark)
            # A peer sending a larger frame is disconnected by ZeroMQ, which
            # never reconnects after such a protocol error: _read_monitor
            # connects afresh to every peer whose link goes down.
            self._sub.setsockopt(zmq.MAXMSGSIZE, self._max_message_bytes + 1024)
            self._pub.bind(_endpoint(host, port))
            self._sub.setsockopt(zmq.SUBSCRIBE, self._own_topic)
            self._sub.setsockopt(zmq.SUBSCRIBE, BROADCAST_TOPIC)
            self._monitor = self._sub.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
            self._endpoint_peer = {}
            for p in self._peers:
                ep = _endpoint(p.host, p.port)
                self._endpoint_peer[ep] = name_text(p.name)
                self._sub.connect(ep)
        except Exception:
            self._close_sockets()
            raise
        self._connected = set()   # peers our SUB socket is connected to (name text)
        self._subscribed = set()  # peers subscribed to us on our XPUB (name text)
        self._poller = zmq.Poller()
        for s in (self._sub, self._pub, self._monitor):
            self._poller.register(s, zmq.POLLIN)

    def ready_peers(self):
        both = self._connected & self._subscribed
        return set(p.name for p in self._peers if name_text(p.name) in both)

    def _transmit(self, d, body):
        topic = BROADCAST_TOPIC if d["receiver"] is None else topic_for(d["receiver"])
        try:
            self._pub.send_multipart([topic, body], flags=self._zmq.NOBLOCK)
        except self._zmq.Again:
            self._drop("queue-full", "to %r" % (d["receiver"],))
            return False
        except self._zmq.ZMQError as e:
            self._drop("send-error", str(e))
            return False
        return True

    def _receive(self, timeout):
        zmq = self._zmq
        try:
            events = dict(self._poller.poll(int(timeout * 1000)))
        except zmq.ZMQError:
            return
        if self._pub in events:
            self._read_subscriptions()
        if self._monitor in events:
            self._read_monitor()
        if self._sub in events:
            for _ in range(1000):
                try:
                    frames = self._sub.recv_multipart(flags=zmq.NOBLOCK)
                except zmq.Again:
                    break
                self._on_frames(frames)

    def _read_subscriptions(self):
        zmq = self._zmq
        while True:
            try:
                frame = self._pub.recv(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frame) < 2:
                continue
            topic = frame[1:]
            if topic.startswith(b"to:") and topic.endswith(b"\x00"):
                try:
                    who = topic[3:-1].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if who in self._by_text:
                    if frame[0] == 1:
                        self._subscribed.add(who)
                    else:
                        self._subscribed.discard(who)

    def _read_monitor(self):
        zmq = self._zmq
        while True:
            try:
                ev = self._recv_monitor_message(self._monitor, flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:
                return
            endpoint = ev.get("endpoint")
            if isinstance(endpoint, bytes):
                endpoint = endpoint.decode("utf-8", "replace")
            who = self._endpoint_peer.get(endpoint)
            if who is None:
                continue
            if ev["event"] == zmq.EVENT_CONNECTED:
                self._connected.add(who)
            elif ev["event"] == zmq.EVENT_DISCONNECTED:
                self._connected.discard(who)
                self._reconnect(endpoint)

    def _reconnect(self, endpoint):
        # After a lost connection ZeroMQ would reconnect by itself, after an
        # oversized frame (a protocol error) never; the event does not say
        # which, so drop the link and connect anew: one link per peer either way.
        try:
            self._sub.disconnect(endpoint)
        except self._zmq.ZMQError:
            pass  # already gone
        self._sub.connect(endpoint)
        self.counters["reconnects"] += 1

    def _on_frames(self, frames):
        self.counters["frames"] += 1
        if len(frames) != 2:
            self._drop("bad-frames", "%d frames" % len(frames))
            return
        topic, body = frames
        if topic != BROADCAST_TOPIC and topic != self._own_topic:
            self._drop("bad-frames", "topic %r" % (topic,))
            return
        try:
            d = codec.decode_dict(body, self._max_message_bytes)
        except CodecError as e:
            self.counters["malformed:" + e.code] += 1
            self._drop("malformed", str(e))
            return
        self._deliver(d)

    def _close_sockets(self):
        if self._monitor is not None:
            try:
                self._sub.disable_monitor()
            except Exception:
                pass
            self._monitor.close(linger=0)
        self._sub.close(linger=0)
        self._pub.close(linger=0)
        self._ctx.term()

    def close(self):
        if self._closed:
            return
        NetworkBoard.close(self)
        self._close_sockets()


# --------------------------------------------------------------------------
# UDP gossip


def encode_envelope(env_id, origin, ttl, body):
    """The datagram of one gossip envelope around ``body`` (a message's canonical JSON bytes)."""
    return b"".join([
        b'{"v":1,"id":', jsjson.quote(env_id).encode("utf-8"),
        b',"origin":', jsjson.stringify(origin).encode("utf-8"),
        b',"ttl":', str(int(ttl)).encode("ascii"),
        b',"msg":', body, b"}",
    ])


_ENVELOPE_KEYS = ("v", "id", "origin", "ttl", "msg")


def decode_envelope(data):
    """Decode and validate one datagram: {"v", "id", "origin", "ttl", "msg" (a canonical message dict)}.

    Raises CodecError only, with the code and field src/transport/udp-gossip.ts
    gives (errors inside the message are reported at ``$.msg...``).
    """
    if len(data) > UDP_MAX_PAYLOAD:
        raise CodecError("too-large", "$", "%d bytes" % len(data))
    try:
        raw = jsjson.parse(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, jsjson.JSONTextError) as e:
        raise CodecError("bad-json", "$", str(e)) from None
    if not isinstance(raw, dict):
        raise CodecError("bad-field", "$", "expected an object")
    for k in jsjson.js_key_order(raw):
        if k not in _ENVELOPE_KEYS:
            raise CodecError("unexpected-key", "$." + k, "key not allowed here")
    for k in _ENVELOPE_KEYS:
        if k not in raw:
            raise CodecError("missing-field", "$." + k, "required")
    v = raw["v"]
    if isinstance(v, bool) or v != GOSSIP_VERSION or not isinstance(v, int):
        raise CodecError("bad-field", "$.v", "expected %d" % GOSSIP_VERSION)
    env_id = raw["id"]
    if not isinstance(env_id, str) or len(env_id) == 0 or jsjson.utf16_length(env_id) > MAX_ENVELOPE_ID_LENGTH:
        raise CodecError("bad-field", "$.id", "expected a string of 1-%d characters" % MAX_ENVELOPE_ID_LENGTH)
    origin = codec._node_id(raw["origin"], "$.origin")
    ttl = raw["ttl"]
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL:
        raise CodecError("bad-field", "$.ttl", "expected an integer 0-%d" % MAX_TTL)
    try:
        msg = codec.validate(raw["msg"])
    except CodecError as e:
        raise CodecError(e.code, "$.msg" + e.field[1:], e.detail) from None
    except Exception as e:  # a bug in the validator must not escape as anything else
        raise CodecError("bad-field", "$.msg", "internal: %r" % (e,)) from None
    return {"v": GOSSIP_VERSION, "id": env_id, "origin": origin, "ttl": ttl, "msg": msg}


class UdpGossipBoard(NetworkBoard):
    """The UDP gossip envelope of docs/wire-format.md, section 11 (UDP gossip envelope).

    One UDP socket; each message goes to a random subgroup of ``fanout``
    peers (the receiver always among them) with ``ttl = max_hops``; a message
    for another node, or a broadcast, is relayed once with ttl - 1 to a new
    subgroup (never back to its origin); ids already seen are dropped (a ring
    of the last ``dedup_capacity``). ``rng`` chooses the subgroups.

    A message whose datagram would exceed ``max_datagram_bytes`` is dropped
    and counted ``oversized``: unlike the TypeScript transport, this board
    does not split large AppendEntries (a simpleRaft node never sends one).
    """

    def __init__(self, name, host, port, peers, fanout=2, max_hops=2,
                 max_datagram_bytes=DEFAULT_MAX_DATAGRAM_BYTES, dedup_capacity=8192, rng=None, **kw):
        NetworkBoard.__init__(self, name, peers, **kw)
        if fanout < 1 or not 0 <= max_hops <= MAX_TTL or not 512 <= max_datagram_bytes <= UDP_MAX_PAYLOAD:
            raise ValueError("bad gossip parameters")
        self._fanout = fanout
        self._max_hops = max_hops
        self._max_datagram_bytes = max_datagram_bytes
        self._dedup_capacity = dedup_capacity
        self._seen = collections.OrderedDict()
        self._rng = rng or random.Random()
        self._nonce = os.urandom(4).hex()
        self._seq = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            except OSError:
                pass
            self._sock.bind((host, port))
            self._sock.setblocking(False)
        except Exception:
            self._sock.close()
            raise
        self._addresses = {}
        for p in self._peers:
            self._addresses[name_text(p.name)] = (p.host, p.port)

    def bound_port(self):
        return self._sock.getsockname()[1]

    def _remember(self, env_id):
        """Record an id; False when it was already there."""
        if env_id in self._seen:
            return False
        self._seen[env_id] = True
        if len(self._seen) > self._dedup_capacity:
            self._seen.popitem(last=False)
        return True

    def _subgroup(self, receiver, exclude):
        out = []
        addressee = None if receiver is None else self._by_text.get(name_text(receiver))
        if addressee is not None:
            out.append(addressee)
        pool = [p for p in self._peers if name_text(p.name) not in exclude and p is not addressee]
        self._rng.shuffle(pool)
        return out + pool[:max(0, self._fanout - len(out))]

    def _sendto(self, peer, data, relay):
        try:
            self._sock.sendto(data, self._addresses[name_text(peer.name)])
        except (BlockingIOError, InterruptedError):
            self._drop("queue-full", "to %r" % (peer.name,))
            return
        except OSError as e:
            self._drop("send-error", "to %r: %s" % (peer.name, e))
            return
        self.counters["datagrams-sent"] += 1
        if relay:
            self.counters["relayed"] += 1

    def _transmit(self, d, body):
        env_id = "%s-%d" % (self._nonce, self._seq)
        self._seq += 1
        data = encode_envelope(env_id, self._name, self._max_hops, body)
        if len(data) > self._max_datagram_bytes:
            self._drop("oversized", "type %d to %r: %d bytes" % (d["type"], d["receiver"], len(data)))
            return False
        self._remember(env_id)
        for peer in self._subgroup(d["receiver"], {self._own_text}):
            self._sendto(peer, data, False)
        return True

    def _receive(self, timeout):
        try:
            readable, _, _ = select.select([self._sock], [], [], timeout)
        except (OSError, ValueError):
            return
        if not readable:
            return
        for _ in range(1000):
            try:
                data, _addr = self._sock.recvfrom(UDP_MAX_PAYLOAD + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._on_datagram(data)

    def _on_datagram(self, data):
        self.counters["datagrams-received"] += 1
        try:
            env = decode_envelope(data)
        except CodecError as e:
            self.counters["malformed:" + e.code] += 1
            self._drop("malformed", str(e))
            return
        if not self._remember(env["id"]):
            self._drop("duplicate", env["id"])
            return
        msg = env["msg"]
        receiver = msg["receiver"]
        for_me = receiver is None or name_text(receiver) == self._own_text
        ttl = min(env["ttl"], self._max_hops)
        if (receiver is None or name_text(receiver) != self._own_text) and ttl > 0:
            relay = encode_envelope(env["id"], env["origin"], ttl - 1, codec.encode_dict(msg, check=False))
            for peer in self._subgroup(receiver, {self._own_text, name_text(env["origin"])}):
                self._sendto(peer, relay, True)
        if for_me:
            self._deliver(msg)

    def close(self):
        if self._closed:
            return
        NetworkBoard.close(self)
        self._sock.close()
