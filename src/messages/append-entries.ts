import { BaseMessage, MessageType, NodeId, WireEntry } from './base';

/**
 * §5.3, Figure 2 "AppendEntries RPC" arguments. The keys are the paper's and
 * simpleRaft's (messages/append_entries.py). A heartbeat has `entries: []`.
 *
 * Indices are the paper's: 1-based, 0 meaning "before the first entry".
 */
export interface AppendEntriesData {
  leaderId: NodeId;
  /** Index of the log entry immediately preceding the new ones. */
  prevLogIndex: number;
  /** Term of the prevLogIndex entry (0 when prevLogIndex is 0). */
  prevLogTerm: number;
  /** Entries to store; their indices are prevLogIndex+1, prevLogIndex+2, ... */
  entries: WireEntry[];
  /** The leader's commitIndex. */
  leaderCommit: number;
  /**
   * Extension: the leader's read round when it sent this message. The
   * follower echoes it in its Response, so the leader knows the follower
   * still recognised it after a read arrived (ReadIndex, thesis §6.4).
   */
  context?: number;
}

export type AppendEntriesMessage = BaseMessage<MessageType.AppendEntries, AppendEntriesData>;
