// BaseMessage: the envelope every message shares, as in simpleRaft's
// messages/base.py (sender, receiver, term, timestamp, type, data).
//
// simpleRaft keeps these as `_sender`, `_receiver`, ... on a class; we keep
// plain JSON-able objects tagged by `type`, so one discriminated union
// (`Message`, in index.ts) describes everything that crosses the wire.

/** A node's name. simpleRaft nodes may be named by strings or integers. */
export type NodeId = string | number;

/** simpleRaft's type codes 0-3, kept; new kinds take new codes. */
export enum MessageType {
  AppendEntries = 0,
  RequestVote = 1,
  RequestVoteResponse = 2,
  Response = 3,
  /** Ours: §7, Figure 13 InstallSnapshot, one chunk of a snapshot. */
  InstallSnapshot = 4,
  /** Ours: a follower forwards a client command to the leader (etcd's MsgProp). */
  ClientCommand = 5,
  /** Ours: a follower asks the leader for a read index (thesis §6.4). */
  ReadIndex = 6,
  /** Ours: the leader's answer to ReadIndex. */
  ReadIndexResponse = 7,
}

export interface BaseMessage<T extends MessageType, D> {
  type: T;
  sender: NodeId;
  /** null means broadcast: the transport delivers one copy to every peer. */
  receiver: NodeId | null;
  term: number;
  /**
   * Seconds since the epoch when the message was put on the wire, as
   * simpleRaft's `int(time.time())`. The protocol core never reads a clock,
   * so it leaves 0 here and the transport stamps the message on send.
   */
  timestamp: number;
  data: D;
  /**
   * Optional unique message id (extension). Gossip transports use it to
   * suppress duplicates; simpleRaft neither sends nor needs it.
   */
  id?: string;
}

/** A log entry on the wire, exactly as simpleRaft stores it: {term, value}. */
export interface WireEntry {
  term: number;
  value: unknown;
}
