"""The runner: one Python Raft node in a terminal, hosting simpleRaft's own Server and states.

    python3 -m simpleraft_bridge --name p1 --port 5004 \\
        --peers n1=127.0.0.1:5001,n2=127.0.0.1:5002 --simpleraft /path/to/simpleRaft

simpleRaft has the states and the messages of Raft but nothing that makes
time pass and nothing that puts a message on a wire. The runner adds both
around simpleRaft's unchanged ``Server``, ``Follower``, ``Candidate`` and
``Leader`` (imported from the clone given by ``--simpleraft``; nothing of
simpleRaft is copied here):

* a board (boards.py) that carries simpleRaft's messages over ZeroMQ or UDP
  gossip in simpleraft-ts's wire format, so TypeScript nodes and this node
  form one cluster;
* the **election timer** simpleRaft lacks (its Follower computes a
  ``_timeoutTime`` in seconds that nothing reads): a Follower that for a
  random time in [t, 2t) neither hears an AppendEntries of its term (or a
  newer one) nor grants a vote, or a Candidate whose election has not ended
  in that time, becomes a new ``Candidate()``; simpleRaft's own
  ``Candidate.set_server`` then raises the term and sends the RequestVotes
  (Figure 2, Followers and Candidates);
* the **heartbeat timer**: while the state is simpleRaft's ``Leader``, its
  own ``_send_heart_beat()`` is called every heartbeat interval, the first
  time as soon as it leads (Figure 2, Leaders; §5.2).

Without ``--simpleraft`` it hosts stand_in_states.py instead: a small node of
the same shape that follows the paper (the CI probe).

What the runner does around simpleRaft, each documented because it changes
what a reader sees (docs/python-interop.md, "What the runner adds"):

1. Message kinds other than 0-3 (this project's snapshots, forwarded client
   commands, ReadIndex) are dropped before they reach simpleRaft: its
   ``State.on_message`` returns None for them and ``Server.on_message`` fails
   to unpack it (codec.SIMPLERAFT_TYPE_CODES).
2. An exception raised inside simpleRaft's ``Server.on_message`` is caught,
   logged as an ``error`` event naming the message and the state, and the
   node goes on: simpleRaft raises on several ordinary messages (a Leader
   given a RequestVote, a Candidate given an AppendEntries, a Follower given
   a vote reply: their handlers return None; IndexError on some logs).
3. Messages are held, and the timers wait, until enough peers are
   reachable to form a majority (ZeroMQ tells; UDP has no connections), or
   ``--wait-for-peers`` ms pass: an answer sent before a ZeroMQ peer is
   connected is lost, and simpleRaft votes only once in its life. Then, by
   default (``--first-election-timer after-peer``), a follower arms its
   first election timer only when a first message from a peer arrives:
   started beside running TypeScript nodes, it hears their leader (or a
   candidate, which it can vote for) before it could campaign itself, so it
   joins the cluster instead of racing it (docs/python-interop.md).
4. If simpleRaft's ``server.py`` cannot be imported because pyzmq is
   missing (it imports ``zmq`` at the top, for ZeroMQServer, which the
   runner does not use), an empty ``zmq`` module stands in for the import.

The runner does not repair simpleRaft. In particular ``Leader.set_sever``
(the typo) stays uncalled: a new simpleRaft Leader sends no heartbeat and
sets no nextIndex/matchIndex; the runner logs that as a ``defect`` event and
its heartbeat timer sends the first heartbeat. Other defects it sees are
logged as ``defect`` events too (a Candidate counting refusals, a Follower
answering one AppendEntries twice); docs/simpleraft-errata.md explains them.

Log: one line per event, ``--log-format human`` (default) or ``json`` (one
object per line: t, node, event, term, role, log, commit, and the event's
fields). Ctrl-C (SIGINT) or SIGTERM stops the node cleanly.
"""

import argparse
import collections
import json
import os
import random
import signal
import sys
import time
import types

from . import codec, stand_in_states, stand_ins
from .boards import UdpGossipBoard, ZeroMQBoard, name_text, parse_peers
from .codec import SIMPLERAFT_TYPE_CODES

__all__ = ["Host", "StateClasses", "load_simpleraft", "stand_in_classes", "main", "build_board", "Logger"]

KIND = {0: "AppendEntries", 1: "RequestVote", 2: "RequestVoteResponse", 3: "Response",
        4: "InstallSnapshot", 5: "ClientCommand", 6: "ReadIndex", 7: "ReadIndexResponse"}


class StateClasses(object):
    """The classes a Host runs: a Server class and the three states, plus the message classes."""

    def __init__(self, server, follower, candidate, leader, messages, flavor, path=None):
        self.server = server
        self.follower = follower
        self.candidate = candidate
        self.leader = leader
        self.messages = messages
        self.flavor = flavor  # "simpleRaft" or "stand-in"
        self.path = path


def stand_in_classes():
    messages = {
        0: stand_ins.AppendEntriesMessage, 1: stand_ins.RequestVoteMessage,
        2: stand_ins.RequestVoteResponseMessage, 3: stand_ins.ResponseMessage,
        4: stand_ins.InstallSnapshotMessage, 5: stand_ins.ClientCommandMessage,
        6: stand_ins.ReadIndexMessage, 7: stand_ins.ReadIndexResponseMessage,
    }
    return StateClasses(stand_in_states.Server, stand_in_states.Follower, stand_in_states.Candidate,
                        stand_in_states.Leader, messages, "stand-in")


def load_simpleraft(path):
    """Import simpleRaft's Server, states and messages from a clone at ``path``.

    ``path`` is the clone (the directory holding the ``simpleRaft`` package)
    or the package directory itself. Raises ImportError with a clear message.
    """
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isfile(os.path.join(path, "simpleRaft", "__init__.py")):
        root = path
    elif os.path.basename(path) == "simpleRaft" and os.path.isfile(os.path.join(path, "__init__.py")):
        root = os.path.dirname(path)
    else:
        raise ImportError("%s is not a clone of simpleRaft (no simpleRaft/__init__.py)" % path)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        import zmq  # noqa: F401
    except ImportError:
        # Workaround 4: simpleRaft/servers/server.py imports zmq at the top for
        # its ZeroMQServer, which we do not use.
        sys.modules["zmq"] = types.ModuleType("zmq")
    import importlib

    pkg = importlib.import_module("simpleRaft")
    where = os.path.dirname(os.path.abspath(pkg.__file__))
    if where != os.path.join(root, "simpleRaft"):
        raise ImportError("simpleRaft was imported from %s, not from %s" % (where, root))
    server = importlib.import_module("simpleRaft.servers.server")
    follower = importlib.import_module("simpleRaft.states.follower")
    candidate = importlib.import_module("simpleRaft.states.candidate")
    leader = importlib.import_module("simpleRaft.states.leader")
    ae = importlib.import_module("simpleRaft.messages.append_entries")
    rv = importlib.import_module("simpleRaft.messages.request_vote")
    resp = importlib.import_module("simpleRaft.messages.response")
    messages = {
        0: ae.AppendEntriesMessage, 1: rv.RequestVoteMessage, 2: rv.RequestVoteResponseMessage,
        3: resp.ResponseMessage,
        4: stand_ins.InstallSnapshotMessage, 5: stand_ins.ClientCommandMessage,
        6: stand_ins.ReadIndexMessage, 7: stand_ins.ReadIndexResponseMessage,
    }
    return StateClasses(server.Server, follower.Follower, candidate.Candidate, leader.Leader, messages,
                        "simpleRaft", root)


class Logger(object):
    """One line per event, for people (human) or programs (json), on a stream."""

    def __init__(self, name, fmt="human", stream=None):
        self.name = name
        self.fmt = fmt
        self.stream = stream or sys.stdout

    def __call__(self, event, fields):
        now = time.time()
        try:
            if self.fmt == "json":
                obj = {"t": round(now, 3), "node": self.name, "event": event}
                obj.update(fields)
                line = json.dumps(obj, default=repr, ensure_ascii=False)
            else:
                head = "%s.%03d %s [term %s %s]" % (time.strftime("%H:%M:%S", time.localtime(now)), int(now * 1000) % 1000,
                                                    self.name, fields.get("term"), fields.get("role"))
                text = fields.get("text") or ""
                line = "%s %s: %s" % (head, event, text)
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            pass


def _role(state):
    return type(state).__name__.lower()


class Host(object):
    """Runs one Server (simpleRaft's or a stand-in) on a board, with the timers it lacks.

    Drive it with ``run()`` (until stopped) or ``run_once(max_wait)``. Times
    are in milliseconds; an election timeout of 0 disables the election
    timer (the probe never campaigns by itself).
    """

    def __init__(self, name, board, classes, election_timeout_ms=1000, heartbeat_ms=100,
                 initial_state="follower", log=None, rng=None, wait_for_peers_ms=5000, dispatch=True,
                 stats_every_ms=1000, timer_after_peer=True):
        self.name = name
        self.board = board
        self.classes = classes
        self.election_timeout_ms = election_timeout_ms
        self.heartbeat_ms = heartbeat_ms
        self.initial_state = initial_state
        self.rng = rng or random.Random()
        self.log = log or (lambda event, fields: None)
        self.dispatch = dispatch
        self.stats = collections.Counter()
        self.defects = collections.Counter()
        self.inbound_hooks = []
        self._limiter = {}
        self._current = None   # the message being handled, and what was sent for it
        self._sent_now = []
        board.on_send = self._on_send
        board.on_drop = self._on_drop
        self.server = classes.server(name, classes.follower(), [], board, board.neighbors())
        self.majority = (len(board.peers) + 1) // 2 + 1
        now = time.monotonic()
        self._start = now
        self._wait_until = now + wait_for_peers_ms / 1000.0
        self._ready = False
        self.timer_after_peer = timer_after_peer
        self._heard_peer = False
        self._held = []
        self._election_deadline = None
        self._next_heartbeat = None
        self.stats_every_s = stats_every_ms / 1000.0
        self._next_summary = now + self.stats_every_s
        self._leader_seen = None
        self._last = self._snapshot()
        self.emit("start", text="%s classes%s, %d peers (%s), election timeout %s, heartbeat %d ms, initial state %s" % (
            classes.flavor, "" if classes.path is None else " from " + classes.path, len(board.peers),
            ", ".join(name_text(p.name) for p in board.peers), election_timeout_ms or "off", heartbeat_ms, initial_state),
            flavor=classes.flavor, peers=[p.name for p in board.peers])

    # --- Events -----------------------------------------------------------

    def _snapshot(self):
        s = self.server
        return {"term": s._currentTerm, "role": _role(s._state), "log": len(s._log), "commit": s._commitIndex}

    def emit(self, event, text="", **fields):
        out = self._snapshot()
        out.update(fields)
        out["text"] = text
        self.log(event, out)

    def emit_limited(self, key, event, text="", **fields):
        """The first 3 of a kind, then at most one per stats interval (with how many were left out)."""
        now = time.monotonic()
        seen, last, skipped = self._limiter.get(key, (0, 0.0, 0))
        seen += 1
        if seen <= 3 or now - last >= self.stats_every_s:
            if skipped:
                fields["skipped"] = skipped
                text += " (and %d more like it)" % skipped
            self.emit(event, text, **fields)
            self._limiter[key] = (seen, now, 0)
        else:
            self._limiter[key] = (seen, last, skipped + 1)

    def defect(self, key, text, **fields):
        self.defects[key] += 1
        self.emit_limited("defect:" + key, "defect", text, defect=key, count=self.defects[key], **fields)

    # --- Board hooks ----------------------------------------------------------

    def _on_send(self, d):
        t = d["type"]
        self.stats["sent:" + KIND[t]] += 1
        if self._current is not None:
            self._sent_now.append(d)
        if t == 2:
            granted = d["data"]["response"]
            self.stats["votes-granted" if granted else "votes-refused"] += 1
            if granted and _role(self.server._state) == "follower":
                self._reset_election_timer()
            self.emit("vote", "%s %s in term %d" % ("granted to" if granted else "refused to", d["receiver"], d["term"]),
                      candidate=d["receiver"], granted=granted, voteTerm=d["term"])
        elif t == 3:
            self.stats["responses-true" if d["data"]["response"] else "responses-false"] += 1

    def _on_drop(self, reason, detail):
        self.stats["dropped:" + reason] += 1
        if reason != "duplicate":
            self.emit_limited("drop:" + reason, "drop", "%s: %s" % (reason, detail), reason=reason)

    # --- Timers ---------------------------------------------------------------

    def _reset_election_timer(self):
        if self.election_timeout_ms > 0:
            t = self.election_timeout_ms
            self._election_deadline = time.monotonic() + self.rng.uniform(t, 2 * t) / 1000.0

    def campaign(self, reason):
        """Figure 2: the election timer fired (or we start as a candidate): become a new Candidate."""
        s = self.server
        candidate = self.classes.candidate()
        s._state = candidate
        self.stats["campaigns"] += 1
        self._current = "campaign"
        self._sent_now = []
        try:
            candidate.set_server(s)  # simpleRaft's Candidate starts its election here
        except Exception as e:
            self.emit("error", "%s.set_server raised %s: %s" % (type(candidate).__name__, type(e).__name__, e),
                      error=type(e).__name__)
        finally:
            sent = [d for d in self._sent_now if d["type"] == 1]
            self._current = None
        self._reset_election_timer()
        self.emit("campaign", "%s: candidate in term %d, RequestVote sent to %d peers" % (reason, s._currentTerm, len(sent)),
                  sentTo=[d["receiver"] for d in sent])
        self._after_change()

    def heartbeat(self):
        """Figure 2 Leaders: the leader's own heartbeat, every heartbeat interval."""
        state = self.server._state
        self._current = "heartbeat"
        self._sent_now = []
        try:
            state._send_heart_beat()
        except Exception as e:
            self.emit_limited("error:heartbeat", "error", "%s._send_heart_beat raised %s: %s" % (
                type(state).__name__, type(e).__name__, e), error=type(e).__name__)
        finally:
            self._current = None
        self.stats["heartbeats-sent"] += 1
        self._next_heartbeat = time.monotonic() + self.heartbeat_ms / 1000.0
        self._after_change()

    # --- Messages -------------------------------------------------------------

    def handle(self, message):
        """One message from the board: filter, hand to the Server, log what changed."""
        t = message.type
        self.stats["received:" + KIND.get(t, str(t))] += 1
        for hook in self.inbound_hooks:
            hook(message)
        if t not in SIMPLERAFT_TYPE_CODES:
            # Workaround 1: simpleRaft's State.on_message returns None for these.
            self.emit_limited("kind:%d" % t, "drop", "%s from %s: not a kind simpleRaft has" % (KIND.get(t, t), message.sender),
                              reason="kind", kind=t)
            return
        if name_text(message.sender) not in set(name_text(p.name) for p in self.board.peers):
            self.emit_limited("stranger", "drop", "message from %r, not a member" % (message.sender,), reason="stranger")
            return
        if not self._heard_peer:
            self._heard_peer = True
            if self._election_deadline is None and _role(self.server._state) == "follower":
                self._reset_election_timer()  # the first election timer: a peer has spoken
        if not self.dispatch:
            return
        s = self.server
        role_before = _role(s._state)
        state_before = s._state
        new_leader = False
        if t == 0:
            entries = message.data.get("entries") or []
            self.stats["appends-received" if entries else "heartbeats-received"] += 1
            if message.term >= s._currentTerm and self._leader_seen != (message.sender, message.term):
                self._leader_seen = (message.sender, message.term)
                new_leader = True
        elif t == 2 and role_before == "candidate":
            self.emit("vote-reply", "%s %s its vote in term %d" % (
                message.sender, "granted" if message.data["response"] else "refused", message.term),
                voter=message.sender, granted=bool(message.data["response"]), voteTerm=message.term)
        term_before = s._currentTerm
        log_before = [dict(e) for e in s._log] if len(s._log) < 64 else None
        len_before = len(s._log)
        self._current = message
        self._sent_now = []
        try:
            s.on_message(message)
        except Exception as e:
            # Workaround 2: simpleRaft raised; the node goes on.
            self.stats["errors"] += 1
            self.emit_limited("error:%s:%s:%d" % (type(e).__name__, role_before, t), "error",
                              "simpleRaft raised %s handling %s from %s as %s: %s" % (
                                  type(e).__name__, KIND[t], message.sender, role_before.capitalize(), e),
                              error=type(e).__name__, kind=t, sender=message.sender, asRole=role_before, detail=str(e))
        finally:
            sent = self._sent_now
            self._current = None
        if new_leader:
            self.emit("leader", "AppendEntries from %s, leader of term %d" % (message.sender, message.term),
                      leader=message.sender, leaderTerm=message.term)
        if t == 0 and message.term >= term_before and _role(s._state) == "follower":
            # Figure 2 Followers: an AppendEntries from the leader of our term resets the timer.
            self._reset_election_timer()
        if t == 0:
            answers = [d for d in sent if d["type"] == 3 and name_text(d["receiver"]) == name_text(message.sender)]
            if len(answers) > 1:
                self.stats["duplicate-responses"] += len(answers) - 1
                if self.classes.flavor == "simpleRaft":
                    self.defect("two-responses", "answered one AppendEntries from %s with %d Responses (%s)" % (
                        message.sender, len(answers), ", ".join(str(d["data"]["response"]).lower() for d in answers)),
                        responses=[d["data"]["response"] for d in answers])
            entries = message.data.get("entries") or []
            len_after = len(s._log)
            if len_after != len_before or (entries and log_before is not None and log_before != s._log):
                kind = "append" if len_after > len_before else ("truncate" if len_after < len_before else "rewrite")
                if len_before == 0 and len_after > 0:
                    self.stats["first-entries"] += 1
                self.emit_limited("log:" + kind, kind, "log %d -> %d entries after AppendEntries from %s "
                                  "(prevLogIndex %d, prevLogTerm %s, %d entries)" % (
                                      len_before, len_after, message.sender, message.data["prevLogIndex"],
                                      message.data["prevLogTerm"], len(entries)),
                                  before=len_before, after=len_after, prevLogIndex=message.data["prevLogIndex"],
                                  entries=len(entries), fromEmpty=len_before == 0,
                                  terms=[e.get("term") for e in s._log[-8:]])
        if _role(s._state) == "leader" and role_before == "candidate":
            self._became_leader(state_before, sent)
        self._after_change()

    def _became_leader(self, candidate, sent):
        s = self.server
        votes = getattr(candidate, "_votes", None)
        granted, refused = [], []
        if isinstance(votes, dict):  # simpleRaft: sender -> the RequestVoteResponse it counted
            for who, m in votes.items():
                (granted if m.data.get("response") else refused).append(who)
        elif votes is not None:  # the stand-in: the names that granted, ourselves included
            granted = [v for v in votes if v != name_text(self.name)]
        self.emit("leader-elected", "won the election of term %d: votes counted from %s; granted by %s, refused by %s" % (
            s._currentTerm, sorted(map(str, granted + refused)) or "nobody", sorted(map(str, granted)) or "nobody",
            sorted(map(str, refused)) or "nobody"), granted=granted, refused=refused)
        if self.classes.flavor == "simpleRaft":
            if refused:
                self.defect("counted-refusal", "Candidate counted %d refusal(s) as votes (granted: %d, cluster of %d, "
                            "_total_nodes = %s)" % (len(refused), len(granted), len(self.board.peers) + 1,
                                                    getattr(s, "_total_nodes", "?")), granted=len(granted), refused=len(refused))
            if not [d for d in sent if d["type"] == 0]:
                self.defect("no-heartbeat-on-election", "the new Leader sent no heartbeat and set no nextIndex/matchIndex "
                            "(Leader.set_sever typo: State.set_server ran instead); the runner's heartbeat timer sends it now",
                            nextIndexes=len(getattr(s._state, "_nextIndexes", {}) or {}))
        self._next_heartbeat = time.monotonic()  # the first heartbeat: now

    def _after_change(self):
        snap = self._snapshot()
        last = self._last
        if snap["term"] != last["term"]:
            self.emit("term", "term %s -> %s" % (last["term"], snap["term"]), previous=last["term"])
        if snap["role"] != last["role"]:
            self.emit("role", "%s -> %s" % (last["role"], snap["role"]), previous=last["role"])
            if snap["role"] == "leader":
                self._election_deadline = None
                if self._next_heartbeat is None:
                    self._next_heartbeat = time.monotonic()
            else:
                self._next_heartbeat = None
                if last["role"] == "leader":
                    self._reset_election_timer()
        if snap["commit"] != last["commit"]:
            self.emit_limited("commit", "commit", "commitIndex %s -> %s" % (last["commit"], snap["commit"]),
                              previous=last["commit"])
        self._last = snap

    def summary(self):
        st = self.stats
        self.emit("stats", "heartbeats received %d, appends received %d, responses sent %d (%d true, %d false, %d duplicate), "
                  "heartbeats sent %d, votes granted %d, refused %d, campaigns %d, errors %d" % (
                      st["heartbeats-received"], st["appends-received"], st["responses-true"] + st["responses-false"],
                      st["responses-true"], st["responses-false"], st["duplicate-responses"], st["heartbeats-sent"],
                      st["votes-granted"], st["votes-refused"], st["campaigns"], st["errors"]),
                  stats=dict(st), defects=dict(self.defects))

    # --- The loop -----------------------------------------------------------------

    def _check_ready(self, now):
        ready = self.board.ready_peers()
        if len(ready) + 1 >= self.majority or now >= self._wait_until:
            self._ready = True
            waiting = self.initial_state == "follower" and self.timer_after_peer and not self._heard_peer and not self._held
            self.emit("ready", "peers reachable: %s%s%s" % (", ".join(sorted(name_text(p) for p in ready)) or "none",
                                                            "" if len(ready) + 1 >= self.majority else " (stopped waiting)",
                                                            "; the election timer starts at the first message from a peer"
                                                            if waiting and self.election_timeout_ms else ""),
                      reachable=sorted(name_text(p) for p in ready))
            if self.initial_state == "candidate":
                self.campaign("initial state candidate")
            elif not self.timer_after_peer or self._heard_peer:
                self._reset_election_timer()
            held, self._held = self._held, []
            for m in held:
                self.handle(m)

    def run_once(self, max_wait=0.05):
        now = time.monotonic()
        if not self._ready:
            self._check_ready(now)
            if not self._ready:
                m = self.board.get_message(min(max_wait, 0.01))
                if m is not None:
                    self._held.append(m)  # workaround 3: hold until peers can hear our answers
                return
        deadlines = [d for d in (self._election_deadline, self._next_heartbeat, self._next_summary) if d is not None]
        wait = max(0.0, min([max_wait] + [d - now for d in deadlines]))
        m = self.board.get_message(wait)
        if m is not None:
            self.handle(m)
        now = time.monotonic()
        role = _role(self.server._state)
        if role == "leader":
            if self._next_heartbeat is not None and now >= self._next_heartbeat:
                self.heartbeat()
        elif self._election_deadline is not None and now >= self._election_deadline:
            self.campaign("election timeout (%s)" % ("no leader heard" if role == "follower" else "election not won"))
        if now >= self._next_summary:
            self._next_summary = now + self.stats_every_s
            self.summary()

    def run(self, should_stop=lambda: False):
        while not should_stop():
            self.run_once()


class _Stop(Exception):
    pass


def build_board(args, classes, peers):
    common = {"classes": classes.messages}
    if args.transport == "zmq":
        return ZeroMQBoard(args.name, args.host, args.port, peers, **common)
    return UdpGossipBoard(args.name, args.host, args.port, peers, fanout=args.fanout, max_hops=args.max_hops, **common)


def arg_parser(prog="python3 -m simpleraft_bridge"):
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run one Python Raft node (simpleRaft's classes with --simpleraft, else the bridge's stand-ins) "
                    "in a cluster of simpleraft-ts nodes.")
    p.add_argument("--name", required=True, help="this node's name (unique in the cluster)")
    p.add_argument("--port", required=True, type=int, help="ZeroMQ publisher port or UDP port")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--peers", default="", help="the other members: name=host:port,name=host:port")
    p.add_argument("--transport", choices=["zmq", "udp"], default="zmq")
    p.add_argument("--fanout", type=int, default=2, help="UDP gossip: peers each message is sent to (default 2)")
    p.add_argument("--max-hops", type=int, default=2, help="UDP gossip: how often a message may be relayed (default 2; "
                   "0: this node relays nothing)")
    p.add_argument("--simpleraft", metavar="PATH",
                   help="a clone of github.com/streed/simpleRaft; without it the stand-in classes run")
    p.add_argument("--initial-state", choices=["follower", "candidate"], default="follower")
    p.add_argument("--election-timeout", type=int, default=1000, metavar="MS",
                   help="minimum election timeout; each is drawn from [t, 2t) (0: never campaign)")
    p.add_argument("--heartbeat-interval", type=int, default=100, metavar="MS")
    p.add_argument("--wait-for-peers", type=int, default=5000, metavar="MS",
                   help="how long to wait for a majority of peers to be reachable before starting")
    p.add_argument("--first-election-timer", choices=["after-peer", "at-start"], default="after-peer",
                   help="after-peer (default): a follower arms its first election timer when a first message from a "
                        "peer arrives, so it joins a running cluster instead of racing it; at-start: as soon as it "
                        "is ready (a cluster of Python nodes only needs one such node, or a candidate)")
    p.add_argument("--log-format", choices=["human", "json"], default="human")
    p.add_argument("--stats-every", type=int, metavar="MS",
                   help="how often to log the counters (default 5000 ms, 1000 ms with --log-format json)")
    p.add_argument("--seed", type=int, help="seed for the random election timeouts")
    return p


def parse_args(argv, prog="python3 -m simpleraft_bridge"):
    p = arg_parser(prog)
    args = p.parse_args(argv)
    try:
        args.peer_list = parse_peers(args.peers)
    except ValueError as e:
        p.error("--peers: %s" % e)
    if args.election_timeout < 0 or args.heartbeat_interval < 1:
        p.error("--election-timeout must be >= 0 and --heartbeat-interval >= 1")
    if args.fanout < 1 or not 0 <= args.max_hops <= 16:
        p.error("--fanout must be >= 1 and --max-hops 0-16")
    if args.election_timeout and args.heartbeat_interval >= args.election_timeout:
        p.error("--heartbeat-interval must be below --election-timeout")
    return args


def load_classes(args):
    if args.simpleraft:
        try:
            return load_simpleraft(args.simpleraft)
        except ImportError as e:
            sys.stderr.write("error: --simpleraft %s: %s\n" % (args.simpleraft, e))
            sys.exit(2)
    return stand_in_classes()


def _install_signals():
    def on_term(signum, frame):
        raise _Stop()

    signal.signal(signal.SIGTERM, on_term)
    # Also when started in the background by a shell, which ignores SIGINT there.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    classes = load_classes(args)
    logger = Logger(args.name, args.log_format)
    try:
        board = build_board(args, classes, args.peer_list)
    except Exception as e:
        sys.stderr.write("error: cannot open the %s board on %s:%d: %s\n" % (args.transport, args.host, args.port, e))
        return 2
    host = Host(args.name, board, classes, args.election_timeout, args.heartbeat_interval, args.initial_state,
                log=logger, rng=random.Random(args.seed), wait_for_peers_ms=args.wait_for_peers,
                stats_every_ms=args.stats_every or (1000 if args.log_format == "json" else 5000),
                timer_after_peer=args.first_election_timer == "after-peer")
    _install_signals()
    reason = "SIGINT"
    try:
        host.run()
    except KeyboardInterrupt:
        pass
    except _Stop:
        reason = "SIGTERM"
    finally:
        try:
            host.summary()
            host.emit("stop", "%s: shutting down" % reason)
        finally:
            board.close()
    return 0
