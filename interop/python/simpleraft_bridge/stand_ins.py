"""Message classes of the same shape as simpleRaft's, for when it is not installed.

simpleRaft (github.com/streed/simpleRaft, simpleRaft/messages/) builds every
message as ``Kind(sender, receiver, term, data)`` and keeps the fields as
``_sender``, ``_receiver``, ``_term``, ``_data`` and ``_timestamp`` (set to
``int(time.time())`` by the constructor), with the type code in a class
attribute ``_type`` and read-only properties of the same names without the
underscore. These classes are written from that description (none of
simpleRaft's code is copied) so code written against simpleRaft's messages
runs against them unchanged, and the codec treats both alike.

The kinds simpleRaft does not have (type codes 4 and up: this project's
extensions) always use the classes here. ``_id`` holds the optional message id
of the wire format; simpleRaft's classes have no such attribute, so the codec
sets it on the instance only when a message carries one.
"""

import time

__all__ = [
    "BaseMessage",
    "AppendEntriesMessage",
    "RequestVoteMessage",
    "RequestVoteResponseMessage",
    "ResponseMessage",
    "InstallSnapshotMessage",
    "ClientCommandMessage",
    "ReadIndexMessage",
    "ReadIndexResponseMessage",
]


class BaseMessage(object):
    # simpleRaft's type codes, as class attributes of the base class.
    AppendEntries = 0
    RequestVote = 1
    RequestVoteResponse = 2
    Response = 3
    # This project's extensions; simpleRaft nodes never see these kinds.
    InstallSnapshot = 4
    ClientCommand = 5
    ReadIndex = 6
    ReadIndexResponse = 7

    _type = None
    _id = None

    def __init__(self, sender, receiver, term, data):
        self._timestamp = int(time.time())
        self._sender = sender
        self._receiver = receiver
        self._term = term
        self._data = data

    @property
    def sender(self):
        return self._sender

    @property
    def receiver(self):
        return self._receiver

    @property
    def term(self):
        return self._term

    @property
    def data(self):
        return self._data

    @property
    def timestamp(self):
        return self._timestamp

    @property
    def type(self):
        return self._type

    @property
    def id(self):
        return self._id

    def __repr__(self):
        return "%s(sender=%r, receiver=%r, term=%r, data=%r, timestamp=%r%s)" % (
            type(self).__name__,
            self._sender,
            self._receiver,
            self._term,
            self._data,
            self._timestamp,
            "" if self._id is None else ", id=%r" % (self._id,),
        )


class AppendEntriesMessage(BaseMessage):
    """data: leaderId, prevLogIndex, prevLogTerm, entries, leaderCommit [, context]."""

    _type = BaseMessage.AppendEntries


class RequestVoteMessage(BaseMessage):
    """data: lastLogIndex, lastLogTerm (None on an empty log)."""

    _type = BaseMessage.RequestVote


class RequestVoteResponseMessage(BaseMessage):
    """data: response (the paper's voteGranted)."""

    _type = BaseMessage.RequestVoteResponse


class ResponseMessage(BaseMessage):
    """data: response (success), currentTerm [, matchIndex, conflictIndex, conflictTerm, context]."""

    _type = BaseMessage.Response


class InstallSnapshotMessage(BaseMessage):
    """Ours (type 4): one chunk of a snapshot, Raft paper §7, Figure 13."""

    _type = BaseMessage.InstallSnapshot


class ClientCommandMessage(BaseMessage):
    """Ours (type 5): data: value, a client command forwarded to the leader."""

    _type = BaseMessage.ClientCommand


class ReadIndexMessage(BaseMessage):
    """Ours (type 6): data: context, a follower asking the leader for a read index."""

    _type = BaseMessage.ReadIndex


class ReadIndexResponseMessage(BaseMessage):
    """Ours (type 7): data: context, index."""

    _type = BaseMessage.ReadIndexResponse
