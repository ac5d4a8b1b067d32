"""A Server and Follower/Candidate/Leader of simpleRaft's shape, correct enough to stand in for it.

The runner (``python3 -m simpleraft_bridge``) hosts simpleRaft's own classes
when given ``--simpleraft PATH``; without it, it hosts these. They are the
"Python probe" of the CI tests: a Python node that joins a TypeScript cluster
with no simpleRaft installed.

They keep simpleRaft's shape, so the runner drives both alike:
``Server(name, state, log, messageBoard, neighbors)`` with the fields
``_name``, ``_currentTerm``, ``_commitIndex``, ``_log`` (a Python list of
``{"term", "value"}``), ``send_message`` (one copy per neighbour, receiver set
on each), ``send_message_response`` (to the neighbour named by the receiver)
and ``on_message`` (the state returns ``(next_state, response)``); states have
``set_server``, ``on_message``, ``on_append_entries``, ``on_vote_request``,
``on_vote_received``, ``on_response_received`` and the Leader
``_send_heart_beat``. Written from that description, none of simpleRaft's code
is copied.

Where simpleRaft departs from the Raft paper, these follow the paper:
log indices on the wire are the paper's (1-based; wire index i is list
position i - 1); a newer term makes any state a Follower and clears the vote
(§5.1); a vote is granted once per term, to an up-to-date log only (§5.4.1);
refusals are not votes and a majority is of the whole cluster (§5.2); the
Follower checks prevLogIndex/prevLogTerm, truncates only on a real conflict
and answers once (§5.3); the Leader keeps nextIndex and matchIndex, advances
matchIndex only from a reply's ``matchIndex`` (never on a guess), and commits
an entry of its own term once a majority holds it (§5.4.2). Message kinds
other than 0-3 are ignored instead of crashing (simpleRaft returns None).

Two switches on the Server make it a probe: ``_send_match_index`` (default
True; False answers like simpleRaft, without the match index) and
``_duplicate_responses`` (default False; True sends every answer twice, as
simpleRaft's Follower sometimes does).
"""

from .boards import name_text
from .stand_ins import (
    AppendEntriesMessage,
    RequestVoteMessage,
    RequestVoteResponseMessage,
    ResponseMessage,
)

__all__ = ["Server", "State", "Follower", "Candidate", "Leader"]

#: Most entries one AppendEntries carries.
MAX_ENTRIES_PER_APPEND = 64


class Server(object):
    """simpleRaft's Server, in shape; the cluster size is known (``_total_nodes``)."""

    def __init__(self, name, state, log, messageBoard, neighbors):
        self._name = name
        self._state = state
        self._log = log
        self._messageBoard = messageBoard
        self._neighbors = neighbors
        self._total_nodes = len(neighbors) + 1
        self._commitIndex = 0
        self._currentTerm = 0
        self._lastApplied = 0
        self._votedFor = None
        self._leaderId = None
        self._send_match_index = True
        self._duplicate_responses = False
        self._state.set_server(self)
        self._messageBoard.set_owner(self)

    @property
    def _lastLogIndex(self):
        """The paper's lastLogIndex: the number of entries (0 when empty)."""
        return len(self._log)

    @property
    def _lastLogTerm(self):
        return self._log[-1]["term"] if self._log else None

    def term_at(self, index):
        """The term of the entry at wire index ``index`` (0 before the first entry)."""
        return 0 if index == 0 else self._log[index - 1]["term"]

    def send_message(self, message):
        for n in self._neighbors:
            message._receiver = n._name
            n.post_message(message)

    def send_message_response(self, message):
        for n in self._neighbors:
            if name_text(n._name) == name_text(message.receiver):
                n.post_message(message)
                return

    def post_message(self, message):
        self._messageBoard.post_message(message)

    def on_message(self, message):
        state, response = self._state.on_message(message)
        self._state = state

    def on_client_command(self, value):
        """Append a command if we lead; returns its wire index, or None."""
        if isinstance(self._state, Leader):
            return self._state.on_client_command(value)
        return None


class State(object):
    def set_server(self, server):
        self._server = server

    def on_message(self, message):
        s = self._server
        if message.term > s._currentTerm:
            # §5.1, Figure 2 All Servers: adopt the term, clear the vote, follow.
            s._currentTerm = message.term
            s._votedFor = None
            s._leaderId = None
            if not isinstance(self, Follower):
                follower = Follower()
                follower.set_server(s)
                return follower._dispatch(message)
        elif message.term < s._currentTerm:
            return self._on_stale(message)
        return self._dispatch(message)

    def _dispatch(self, message):
        handler = {
            0: self.on_append_entries,
            1: self.on_vote_request,
            2: self.on_vote_received,
            3: self.on_response_received,
        }.get(message.type)
        if handler is None:
            return self, None  # not a kind this node has; simpleRaft would return None here
        return handler(message)

    def _on_stale(self, message):
        # §5.1: reject a request of an older term, with our term so the sender
        # steps down; stale replies answer questions we no longer ask.
        if message.type == 0:
            self._reply(message, ResponseMessage, {"response": False, "currentTerm": self._server._currentTerm})
        elif message.type == 1:
            self._reply(message, RequestVoteResponseMessage, {"response": False})
        return self, None

    def _reply(self, to, cls, data):
        s = self._server
        reply = cls(s._name, to.sender, s._currentTerm, data)
        s.send_message_response(reply)
        if s._duplicate_responses:
            s.send_message_response(reply)

    def on_append_entries(self, message):
        return self, None

    def on_vote_request(self, message):
        self._reply(message, RequestVoteResponseMessage, {"response": False})
        return self, None

    def on_vote_received(self, message):
        return self, None

    def on_response_received(self, message):
        return self, None


class Follower(State):
    def on_append_entries(self, message):
        s = self._server
        s._leaderId = message.sender
        d = message.data
        log = s._log
        prev = d["prevLogIndex"]
        answer = {"response": False, "currentTerm": s._currentTerm}
        if "context" in d:
            answer["context"] = d["context"]
        if prev > len(log):
            # Figure 2 receiver 2: our log is too short; hint where it ends (§5.3).
            answer["conflictIndex"] = len(log) + 1
        elif prev > 0 and log[prev - 1]["term"] != d["prevLogTerm"]:
            # Receiver 2: the terms differ at prevLogIndex; hint the first index of that term.
            conflict_term = log[prev - 1]["term"]
            first = prev
            while first - 1 > max(s._commitIndex, 0) and log[first - 2]["term"] == conflict_term:
                first -= 1
            answer["conflictIndex"] = first
            answer["conflictTerm"] = conflict_term
        else:
            # Receivers 3-4: truncate only at a real conflict, append what is new.
            for i, entry in enumerate(d["entries"]):
                index = prev + 1 + i
                if index <= len(log):
                    if log[index - 1]["term"] == entry["term"]:
                        continue
                    del log[index - 1:]
                log.append({"term": entry["term"], "value": entry["value"]})
            last_new = prev + len(d["entries"])
            # Receiver 5.
            if d["leaderCommit"] > s._commitIndex:
                s._commitIndex = min(d["leaderCommit"], last_new)
            answer["response"] = True
            if s._send_match_index:
                answer["matchIndex"] = last_new
        self._reply(message, ResponseMessage, answer)
        return self, None

    def on_vote_request(self, message):
        s = self._server
        free = s._votedFor is None or name_text(s._votedFor) == name_text(message.sender)
        last_term = message.data["lastLogTerm"] or 0  # simpleRaft's null: the paper's 0
        mine = s._lastLogTerm or 0
        # §5.4.1: the later last term wins; with equal terms, the longer log.
        up_to_date = last_term > mine or (last_term == mine and message.data["lastLogIndex"] >= len(s._log))
        granted = free and up_to_date
        if granted:
            s._votedFor = message.sender
        self._reply(message, RequestVoteResponseMessage, {"response": granted})
        return self, None


class Candidate(State):
    def set_server(self, server):
        # §5.2: a new term, a vote for ourselves, RequestVote to every peer.
        self._server = server
        server._currentTerm += 1
        server._votedFor = server._name
        server._leaderId = None
        self._votes = {name_text(server._name)}
        server.send_message(RequestVoteMessage(server._name, None, server._currentTerm, {
            "lastLogIndex": len(server._log),
            "lastLogTerm": server._lastLogTerm,
        }))

    def on_vote_received(self, message):
        s = self._server
        if message.data["response"] and message.term == s._currentTerm:
            self._votes.add(name_text(message.sender))
            if 2 * len(self._votes) > s._total_nodes:
                leader = Leader()
                leader.set_server(s)
                return leader, None
        return self, None

    def on_append_entries(self, message):
        # §5.2: a leader of our term exists: follow it.
        follower = Follower()
        follower.set_server(self._server)
        return follower.on_append_entries(message)


class Leader(State):
    def set_server(self, server):
        # Figure 2 Leaders: nextIndex = last index + 1, matchIndex = 0, heartbeat at once.
        self._server = server
        server._leaderId = server._name
        self._nextIndex = {}
        self._matchIndex = {}
        for n in server._neighbors:
            self._nextIndex[name_text(n._name)] = len(server._log) + 1
            self._matchIndex[name_text(n._name)] = 0
        self._send_heart_beat()

    def _send_heart_beat(self):
        for n in self._server._neighbors:
            self._send_append(n._name)

    def _send_append(self, peer):
        s = self._server
        key = name_text(peer)
        next_index = self._nextIndex[key]
        prev = next_index - 1
        entries = s._log[prev:prev + MAX_ENTRIES_PER_APPEND]
        s.send_message_response(AppendEntriesMessage(s._name, peer, s._currentTerm, {
            "leaderId": s._name,
            "prevLogIndex": prev,
            "prevLogTerm": s.term_at(prev),
            "entries": [{"term": e["term"], "value": e["value"]} for e in entries],
            "leaderCommit": s._commitIndex,
        }))

    def on_client_command(self, value):
        s = self._server
        s._log.append({"term": s._currentTerm, "value": value})
        self._send_heart_beat()
        return len(s._log)

    def on_response_received(self, message):
        s = self._server
        key = name_text(message.sender)
        if key not in self._nextIndex:
            return self, None
        d = message.data
        if d["response"]:
            match = d.get("matchIndex")
            if match is None or match > len(s._log):
                return self, None  # no match index: nothing certain to learn
            if match > self._matchIndex[key]:
                self._matchIndex[key] = match
                self._advance_commit()
            self._nextIndex[key] = max(self._nextIndex[key], match + 1)
            if self._nextIndex[key] <= len(s._log):
                self._send_append(message.sender)
        else:
            hint = d.get("conflictIndex")
            wanted = self._nextIndex[key] - 1 if hint is None else hint
            self._nextIndex[key] = max(self._matchIndex[key] + 1, min(wanted, len(s._log) + 1), 1)
            self._send_append(message.sender)
        return self, None

    def _advance_commit(self):
        # §5.3, §5.4.2: a majority holds N and log[N] is of our term.
        s = self._server
        for n in range(len(s._log), s._commitIndex, -1):
            if s._log[n - 1]["term"] != s._currentTerm:
                break
            holders = 1 + sum(1 for m in self._matchIndex.values() if m >= n)
            if 2 * holders > s._total_nodes:
                s._commitIndex = n
                break

    def on_append_entries(self, message):
        # One leader per term: an AppendEntries of our own term is refused.
        self._reply(message, ResponseMessage, {"response": False, "currentTerm": self._server._currentTerm})
        return self, None
