"""The stand-in node (stand_in_states.py) and the runner's Host (runner.py).

The states are driven by hand with recording neighbours (as simpleRaft's own
tests wire Servers to each other); the Host runs three stand-in nodes on UDP
boards on 127.0.0.1, stepped in one thread, and a runner process is started
once to check its command line, its log and SIGINT.
"""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import unittest

import _support  # noqa: F401
from _support import NullBoard, Recorder
from _support import PYTHON_ROOT

from simpleraft_bridge import codec, stand_ins
from simpleraft_bridge.boards import Peer, UdpGossipBoard
from simpleraft_bridge.runner import Host, stand_in_classes
from simpleraft_bridge.stand_in_states import Candidate, Follower, Leader, Server


def node(name="me", peers=("a", "b"), state=None, log=None, term=None):
    sent = []
    s = Server(name, state or Follower(), list(log or []), NullBoard(), [Recorder(p, sent) for p in peers])
    if term is not None:
        s._currentTerm = term
    return s, sent


def msg(cls, sender, receiver, term, data):
    return codec.message_from_dict({"type": cls._type, "sender": sender, "receiver": receiver, "term": term,
                                    "timestamp": 0, "data": data}, {cls._type: cls})


def rv(sender, term, last_index, last_term):
    return msg(stand_ins.RequestVoteMessage, sender, "me", term, {"lastLogIndex": last_index, "lastLogTerm": last_term})


def ae(sender, term, prev, prev_term, entries, commit=0):
    return msg(stand_ins.AppendEntriesMessage, sender, "me", term,
               {"leaderId": sender, "prevLogIndex": prev, "prevLogTerm": prev_term, "entries": entries,
                "leaderCommit": commit})


def resp(sender, term, ok, **extra):
    data = {"response": ok, "currentTerm": term}
    data.update(extra)
    return msg(stand_ins.ResponseMessage, sender, "me", term, data)


E = lambda t, v=None: {"term": t, "value": v}  # noqa: E731


class StandInVotes(unittest.TestCase):
    def test_grants_an_empty_log_with_null_lastLogTerm_once_per_term(self):
        s, sent = node()
        s.on_message(rv("a", 1, 0, None))
        s.on_message(rv("b", 1, 0, None))
        s.on_message(rv("a", 1, 0, None))  # the same candidate again: granted again
        self.assertEqual([(m["receiver"], m["data"]["response"], m["term"]) for m in sent],
                         [("a", True, 1), ("b", False, 1), ("a", True, 1)])
        s.on_message(rv("b", 2, 0, None))  # a new term, a new vote (simpleRaft votes once in its life)
        self.assertEqual(sent[-1]["data"]["response"], True)

    def test_up_to_date_is_last_term_then_length(self):
        s, sent = node(log=[E(1), E(3)], term=3)
        for term, index, last_term, granted in [(4, 100, 2, False), (5, 1, 3, False), (6, 2, 3, True), (7, 1, 4, True)]:
            s.on_message(rv("a", term, index, last_term))
            self.assertEqual(sent[-1]["data"]["response"], granted, (term, index, last_term))

    def test_stale_terms_are_refused_with_the_current_term(self):
        s, sent = node(term=5)
        s.on_message(rv("a", 4, 9, 4))
        s.on_message(ae("a", 3, 0, 0, [E(3)]))
        self.assertEqual([(m["type"], m["term"], m["data"]["response"]) for m in sent], [(2, 5, False), (3, 5, False)])
        self.assertEqual(sent[1]["data"]["currentTerm"], 5)
        self.assertEqual(s._log, [])

    def test_a_candidate_counts_only_grants_and_wins_with_a_majority(self):
        s, sent = node(peers=("a", "b", "c", "d"), state=Candidate())
        self.assertEqual((s._currentTerm, s._votedFor, sorted(m["receiver"] for m in sent)), (1, "me", ["a", "b", "c", "d"]))
        vr = lambda who, ok: msg(stand_ins.RequestVoteResponseMessage, who, "me", 1, {"response": ok})  # noqa: E731
        s.on_message(vr("a", False))
        s.on_message(vr("b", False))
        s.on_message(vr("c", True))
        s.on_message(vr("c", True))  # a duplicate counts once
        self.assertIsInstance(s._state, Candidate)
        s.on_message(vr("d", True))
        self.assertIsInstance(s._state, Leader)
        self.assertEqual(sent[-1]["type"], 0)  # the heartbeat on election

    def test_a_newer_term_makes_a_leader_a_follower(self):
        s, sent = node(state=Candidate())
        s.on_message(msg(stand_ins.RequestVoteResponseMessage, "a", "me", 1, {"response": True}))
        self.assertIsInstance(s._state, Leader)
        s.on_message(rv("b", 9, 0, None))
        self.assertIsInstance(s._state, Follower)
        self.assertEqual((s._currentTerm, sent[-1]["data"]["response"]), (9, True))


class StandInAppends(unittest.TestCase):
    def test_the_first_entries_into_an_empty_log_then_a_repeat_changes_nothing(self):
        s, sent = node(term=2)
        for _ in range(2):
            s.on_message(ae("a", 2, 0, 0, [E(2, "x"), E(2, "y")], commit=1))
            self.assertEqual(s._log, [E(2, "x"), E(2, "y")])
            self.assertEqual(sent[-1]["data"], {"response": True, "currentTerm": 2, "matchIndex": 2})
        self.assertEqual(s._commitIndex, 1)
        self.assertEqual(len(sent), 2)  # one answer per AppendEntries

    def test_too_short_and_conflicting_logs_get_hints_and_conflicts_are_truncated(self):
        s, sent = node(log=[E(1), E(1), E(2)], term=3)
        s.on_message(ae("a", 3, 5, 3, []))
        self.assertEqual(sent[-1]["data"], {"response": False, "currentTerm": 3, "conflictIndex": 4})
        s.on_message(ae("a", 3, 3, 3, []))
        self.assertEqual(sent[-1]["data"], {"response": False, "currentTerm": 3, "conflictIndex": 3, "conflictTerm": 2})
        s.on_message(ae("a", 3, 2, 1, [E(3, "new")]))
        self.assertEqual(s._log, [E(1), E(1), E(3, "new")])
        self.assertEqual(sent[-1]["data"]["matchIndex"], 3)

    def test_without_matchIndex_and_twice_as_simpleRaft_answers(self):
        s, sent = node(term=1)
        s._send_match_index = False
        s._duplicate_responses = True
        s.on_message(ae("a", 1, 0, 0, [E(1)]))
        self.assertEqual([m["data"] for m in sent], [{"response": True, "currentTerm": 1}] * 2)

    def test_the_leader_advances_matchIndex_only_from_matchIndex_and_commits_by_majority(self):
        s, sent = node(peers=("a", "b"), state=Candidate())
        s.on_message(msg(stand_ins.RequestVoteResponseMessage, "a", "me", 1, {"response": True}))
        leader = s._state
        self.assertEqual(s.on_client_command("v1"), 1)
        s.on_message(resp("a", 1, True))  # no matchIndex: nothing learnt
        self.assertEqual((leader._matchIndex["a"], s._commitIndex), (0, 0))
        s.on_message(resp("a", 1, True, matchIndex=1))
        s.on_message(resp("a", 1, True, matchIndex=1))  # duplicate: harmless
        self.assertEqual((leader._matchIndex["a"], s._commitIndex), (1, 1))
        s.on_message(resp("b", 1, False, conflictIndex=1))
        self.assertEqual(leader._nextIndex["b"], 1)
        self.assertEqual(sent[-1]["data"]["prevLogIndex"], 0)
        self.assertEqual(sent[-1]["data"]["entries"], [E(1, "v1")])

    def test_kinds_other_than_0_to_3_are_ignored_not_crashing(self):
        s, sent = node(term=1)
        s.on_message(msg(stand_ins.ClientCommandMessage, "a", "me", 1, {"value": 1}))
        self.assertEqual(sent, [])


def free_udp_ports(n):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class HostsOnUdp(unittest.TestCase):
    def setUp(self):
        ports = free_udp_ports(3)
        names = ["h1", "h2", "h3"]
        self.events = []
        self.hosts = []
        for i, name in enumerate(names):
            peers = [Peer(n, "127.0.0.1", p) for n, p in zip(names, ports) if n != name]
            board = UdpGossipBoard(name, "127.0.0.1", ports[i], peers, rng=random.Random(i))
            log = (lambda n: lambda event, fields: self.events.append((n, event, fields)))(name)
            self.hosts.append(Host(name, board, stand_in_classes(), election_timeout_ms=150 + 100 * i, heartbeat_ms=30,
                                   log=log, rng=random.Random(i), wait_for_peers_ms=0, timer_after_peer=False))

    def tearDown(self):
        for h in self.hosts:
            h.board.close()

    def step_until(self, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for h in self.hosts:
                h.run_once(0.002)
            if cond():
                return
        self.fail("not reached in %s s; events: %s" % (timeout, [(n, e, f.get("text")) for n, e, f in self.events[-30:]]))

    def roles(self):
        return [type(h.server._state).__name__ for h in self.hosts]

    def test_three_stand_ins_elect_one_leader_replicate_and_commit(self):
        self.step_until(lambda: self.roles().count("Leader") == 1 and
                        len(set(h.server._currentTerm for h in self.hosts)) == 1 and
                        all(h.server._leaderId is not None for h in self.hosts))
        leader = next(h for h in self.hosts if type(h.server._state).__name__ == "Leader")
        self.assertTrue(any(e == "leader-elected" for _, e, _ in self.events))
        self.assertEqual(leader.server.on_client_command({"put": "k"}), 1)
        self.step_until(lambda: all(h.server._log == [{"term": leader.server._currentTerm, "value": {"put": "k"}}]
                                    for h in self.hosts) and leader.server._commitIndex == 1)
        term = leader.server._currentTerm
        self.step_until(lambda: leader.stats["heartbeats-sent"] >= 20)
        self.assertEqual([h.server._currentTerm for h in self.hosts], [term] * 3)  # heartbeats kept the peace
        self.assertEqual(self.roles().count("Leader"), 1)

    def test_an_election_timeout_of_0_never_campaigns(self):
        h = self.hosts[0]
        h.election_timeout_ms = 0
        h._election_deadline = None
        for _ in range(50):
            h.run_once(0.005)
        self.assertEqual(h.stats["campaigns"], 0)


class FirstElectionTimer(unittest.TestCase):
    """By default a follower arms its first election timer only when a peer has spoken."""

    def setUp(self):
        mine, theirs = free_udp_ports(2)
        self.peer = UdpGossipBoard("n1", "127.0.0.1", theirs, [Peer("p1", "127.0.0.1", mine)], rng=random.Random(1))
        self.events = []
        board = UdpGossipBoard("p1", "127.0.0.1", mine, [Peer("n1", "127.0.0.1", theirs)], rng=random.Random(2))
        self.host = Host("p1", board, stand_in_classes(), election_timeout_ms=50, heartbeat_ms=10,
                         log=lambda event, fields: self.events.append((event, fields)), rng=random.Random(3),
                         wait_for_peers_ms=0)

    def tearDown(self):
        self.host.board.close()
        self.peer.close()

    def run_for(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.host.run_once(0.005)

    def test_no_campaign_until_a_peer_speaks_then_the_timer_runs(self):
        self.run_for(0.5)  # ten of its longest election timeouts
        self.assertEqual(self.host.stats["campaigns"], 0)
        ready = [f["text"] for e, f in self.events if e == "ready"]
        self.assertIn("the election timer starts at the first message from a peer", ready[0])
        # A RequestVote from n1 (a peer speaks): granted, and from then on the timer runs.
        self.peer.neighbors()[0].post_message(stand_ins.RequestVoteMessage("n1", "p1", 1, {"lastLogIndex": 0, "lastLogTerm": 0}))
        deadline = time.monotonic() + 10
        while self.host.stats["campaigns"] == 0 and time.monotonic() < deadline:
            self.host.run_once(0.005)
        self.assertEqual(self.host.stats["votes-granted"], 1)
        self.assertGreaterEqual(self.host.stats["campaigns"], 1)


class RunnerProcess(unittest.TestCase):
    def test_runs_logs_json_and_stops_on_sigint(self):
        port, peer = free_udp_ports(2)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        p = subprocess.Popen([sys.executable, "-m", "simpleraft_bridge", "--name", "solo", "--port", str(port),
                              "--peers", "other=127.0.0.1:%d" % peer, "--transport", "udp", "--election-timeout", "100",
                              "--heartbeat-interval", "20", "--log-format", "json", "--wait-for-peers", "0",
                              "--first-election-timer", "at-start"],
                             cwd=PYTHON_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            events = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(e["event"] == "campaign" for e in events):
                line = p.stdout.readline()
                if not line:
                    break
                events.append(json.loads(line))
            self.assertEqual(events[0]["event"], "start")
            self.assertTrue(any(e["event"] == "campaign" for e in events), events)
            for e in events:
                self.assertTrue({"t", "node", "event", "term", "role", "log", "commit", "text"} <= set(e), e)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=10)
            self.assertEqual(p.returncode, 0, err)
            self.assertEqual(json.loads(out.splitlines()[-1])["event"], "stop")
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()

    def test_without_pyzmq_the_zmq_transport_says_so_and_exits_2(self):
        # No pyzmq at all (None in sys.modules makes `import zmq` fail), and no pyzmq behind the
        # empty stand-in module that --simpleraft installs for simpleRaft's own `import zmq`.
        for setup in ("sys.modules['zmq'] = None", "sys.modules['zmq'] = types.ModuleType('zmq')"):
            code = ("import sys, types; %s; from simpleraft_bridge.runner import main; "
                    "sys.exit(main(['--name', 'p1', '--port', '1', '--transport', 'zmq']))" % setup)
            r = subprocess.run([sys.executable, "-c", code], cwd=PYTHON_ROOT, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("pyzmq is not installed for this Python; use /usr/bin/python3 or install python3-zmq", r.stderr)
            self.assertNotIn("is not a package", r.stderr)

    def test_bad_arguments_exit_2(self):
        r = subprocess.run([sys.executable, "-m", "simpleraft_bridge", "--name", "x", "--port", "1", "--peers", "bad"],
                           cwd=PYTHON_ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--peers", r.stderr)
        r = subprocess.run([sys.executable, "-m", "simpleraft_bridge", "--name", "x", "--port", "1",
                            "--simpleraft", "/nonexistent"], cwd=PYTHON_ROOT, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a clone of simpleRaft", r.stderr)


if __name__ == "__main__":
    unittest.main()
