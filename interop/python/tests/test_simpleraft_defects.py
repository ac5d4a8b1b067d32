"""simpleRaft's own classes through the bridge: the defects the runner works around or reports.

Runs only when SIMPLERAFT_PATH points at a clone of github.com/streed/simpleRaft
(skipped otherwise). simpleRaft is imported from there, as the runner imports
it (runner.load_simpleraft); nothing of it is copied. Each test shows one
departure from the Raft paper as simpleRaft actually behaves, which is what
docs/simpleraft-errata.md ("Interop findings") explains and what the mixed
clusters of test/interop/simpleraft-mixed.test.ts run into.
"""

import collections
import os
import sys
import unittest

import _support  # noqa: F401
from _support import NullBoard, Recorder

from simpleraft_bridge import codec, stand_ins
from simpleraft_bridge.runner import Host, load_simpleraft

PATH = os.environ.get("SIMPLERAFT_PATH")
AVAILABLE = bool(PATH) and os.path.isfile(os.path.join(PATH, "simpleRaft", "states", "leader.py"))
SR = None
_saved_path = None


def setUpModule():
    global SR, _saved_path
    if AVAILABLE:
        _saved_path = list(sys.path)
        SR = load_simpleraft(PATH)


def tearDownModule():
    # Leave no trace for the other test modules (test_codec decides at import
    # time whether simpleRaft is importable).
    if AVAILABLE:
        sys.path[:] = _saved_path
        for k in [k for k in sys.modules if k == "simpleRaft" or k.startswith("simpleRaft.")]:
            del sys.modules[k]
        codec._classes_cache = None


def server(state, log=None, peers=("a", "b")):
    sent = []
    s = SR.server("me", state, list(log or []), NullBoard(), [Recorder(p, sent) for p in peers])
    return s, sent


def m(code, sender, term, data, receiver="me"):
    return codec.message_from_dict({"type": code, "sender": sender, "receiver": receiver, "term": term, "timestamp": 0,
                                    "data": data}, SR.messages)


def ae(sender, term, prev, prev_term, entries, commit=0):
    return m(0, sender, term, {"leaderId": sender, "prevLogIndex": prev, "prevLogTerm": prev_term, "entries": entries,
                               "leaderCommit": commit})


def rv(sender, term, last_index=0, last_term=None):
    return m(1, sender, term, {"lastLogIndex": last_index, "lastLogTerm": last_term})


def vote(sender, term, granted):
    return m(2, sender, term, {"response": granted})


@unittest.skipUnless(AVAILABLE, "SIMPLERAFT_PATH does not point at a clone of simpleRaft")
class Elections(unittest.TestCase):
    def test_a_new_Leader_sends_no_heartbeat_and_sets_no_indices_the_set_sever_typo(self):
        self.assertIn("set_sever", SR.leader.__dict__)
        self.assertNotIn("set_server", SR.leader.__dict__)
        s, sent = server(SR.candidate())
        self.assertEqual([(d["type"], d["receiver"], d["term"]) for d in sent], [(1, "a", 1), (1, "b", 1)])
        del sent[:]
        s.on_message(vote("a", 1, True))
        self.assertIsInstance(s._state, SR.leader)
        self.assertEqual(sent, [], "simpleRaft's Leader sent something on election")
        self.assertEqual(dict(s._state._nextIndexes), {})
        # What the runner's heartbeat timer calls: simpleRaft's own method works once _server is set.
        s._state._send_heart_beat()
        self.assertEqual([(d["type"], d["receiver"], d["data"]["prevLogTerm"]) for d in sent], [(0, "a", 0), (0, "b", 0)])

    def test_a_Candidate_counts_a_refusal_as_a_vote_and_needs_only_one(self):
        s, sent = server(SR.candidate(), peers=("a", "b", "c", "d"))
        self.assertEqual(s._total_nodes, 0)  # never computed
        s.on_message(vote("a", 1, False))
        self.assertIsInstance(s._state, SR.leader)

    def test_a_refusal_of_a_later_term_makes_a_leader_of_that_term(self):
        # How a fresh simpleRaft node comes to lead a term that already has a leader.
        s, sent = server(SR.candidate())
        s.on_message(vote("a", 7, False))
        self.assertEqual((type(s._state), s._currentTerm), (SR.leader, 7))

    def test_a_Voter_votes_once_in_its_life_and_compares_only_the_last_index(self):
        s, sent = server(SR.follower())
        s.on_message(rv("a", 1))
        s.on_message(rv("b", 2))
        self.assertEqual([(d["receiver"], d["data"]["response"]) for d in sent], [("a", True), ("b", False)])
        t, sent2 = server(SR.follower(), log=[{"term": 3, "value": 1}])
        t._lastLogTerm = 3
        t.on_message(rv("a", 4, last_index=0, last_term=1))  # an older last term: the paper refuses (§5.4.1)
        self.assertEqual(sent2[-1]["data"]["response"], True)

    def test_a_newer_term_raises_the_term_but_no_state_steps_down(self):
        s, sent = server(SR.candidate())
        s.on_message(vote("a", 1, True))
        with self.assertRaises(TypeError):  # Leader has no on_vote_request: State's returns None
            s.on_message(rv("b", 5))
        self.assertEqual((type(s._state), s._currentTerm), (SR.leader, 5))
        c, _ = server(SR.candidate())
        with self.assertRaises(TypeError):  # Candidate has no on_append_entries
            c.on_message(ae("a", 3, 0, 0, []))
        self.assertEqual((type(c._state), c._currentTerm), (SR.candidate, 3))

    def test_a_kind_other_than_0_to_3_crashes_Server_on_message(self):
        s, sent = server(SR.follower())
        with self.assertRaises(TypeError):
            s.on_message(stand_ins.ClientCommandMessage("a", "me", 0, {"value": 1}))
        with self.assertRaises(TypeError):  # a Follower given a vote reply: also None
            s.on_message(vote("a", 0, True))


@unittest.skipUnless(AVAILABLE, "SIMPLERAFT_PATH does not point at a clone of simpleRaft")
class Replication(unittest.TestCase):
    def test_the_first_entry_arrives_answered_twice_then_the_next_AppendEntries_deletes_it(self):
        s, sent = server(SR.follower())
        first = ae("a", 1, 0, 0, [{"term": 1, "value": "x"}])
        s.on_message(first)
        self.assertEqual(s._log, [{"term": 1, "value": "x"}])
        self.assertEqual([d["data"] for d in sent], [{"response": True, "currentTerm": 1}] * 2)  # two, no matchIndex
        self.assertEqual(s._commitIndex, 1)  # committed on arrival
        del sent[:]
        s.on_message(ae("a", 1, 0, 0, [{"term": 1, "value": "x"}]))  # the same AppendEntries again
        # log[0] is compared with prevLogTerm 0 (a 0-based prevLogIndex): a "conflict" deletes the entry.
        self.assertEqual(s._log, [])
        self.assertEqual([d["data"]["response"] for d in sent], [False])
        self.assertEqual(s._commitIndex, 0)  # and the commit index goes back

    def test_a_paper_prevLogIndex_equal_to_the_log_length_raises_IndexError(self):
        s, sent = server(SR.follower(), log=[{"term": 1, "value": "x"}])
        with self.assertRaises(IndexError):
            s.on_message(ae("a", 1, 1, 1, [{"term": 1, "value": "y"}]))


class FakePeer(object):
    def __init__(self, board, name):
        self._name = name
        self._board = board

    def post_message(self, message):
        self._board.send(message, receiver=self._name)


class FakeBoard(object):
    """The board interface the Host uses, in memory."""

    class P(object):
        def __init__(self, name):
            self.name = name

    def __init__(self, peers):
        self.peers = [self.P(p) for p in peers]
        self.inbox = collections.deque()
        self.sent = []
        self.on_send = self.on_drop = None

    def neighbors(self):
        return [FakePeer(self, p.name) for p in self.peers]

    def set_owner(self, owner):
        pass

    def post_message(self, message):
        self.inbox.append(message)

    def ready_peers(self):
        return set(p.name for p in self.peers)

    def get_message(self, timeout=0):
        return self.inbox.popleft() if self.inbox else None

    def send(self, message, receiver):
        d = codec.message_to_wire_dict(message)
        d["receiver"] = receiver
        self.sent.append(d)
        self.on_send(d)


@unittest.skipUnless(AVAILABLE, "SIMPLERAFT_PATH does not point at a clone of simpleRaft")
class TheRunnerAroundSimpleRaft(unittest.TestCase):
    def test_reports_the_defects_catches_the_crashes_and_drives_the_heartbeat(self):
        board = FakeBoard(["a", "b"])
        events = []
        host = Host("me", board, SR, election_timeout_ms=1000, heartbeat_ms=10, initial_state="candidate",
                    log=lambda e, f: events.append((e, f)), wait_for_peers_ms=0)
        host.run_once(0)
        self.assertEqual([(d["type"], d["receiver"]) for d in board.sent], [(1, "a"), (1, "b")])
        del board.sent[:]
        board.post_message(vote("a", 1, False))
        host.run_once(0)
        kinds = [e for e, _ in events]
        self.assertIn("leader-elected", kinds)
        defects = [f["defect"] for e, f in events if e == "defect"]
        self.assertEqual(sorted(defects), ["counted-refusal", "no-heartbeat-on-election"])
        # Right after the election, from the runner's heartbeat timer (simpleRaft's own _send_heart_beat).
        self.assertEqual([(d["type"], d["receiver"]) for d in board.sent], [(0, "a"), (0, "b")])
        self.assertEqual(host.stats["heartbeats-sent"], 1)
        board.post_message(rv("b", 9))  # simpleRaft raises: the host logs it and goes on
        board.post_message(stand_ins.ClientCommandMessage("a", "me", 9, {"value": 1}))  # never reaches simpleRaft
        host.run_once(0)
        host.run_once(0)
        errors = [f for e, f in events if e == "error"]
        self.assertEqual([(f["error"], f["asRole"], f["kind"]) for f in errors], [("TypeError", "leader", 1)])
        self.assertTrue(any(e == "drop" and f.get("kind") == 5 for e, f in events))
        self.assertEqual(host.server._currentTerm, 9)
        self.assertIsInstance(host.server._state, SR.leader)


if __name__ == "__main__":
    unittest.main()
