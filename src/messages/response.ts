import { BaseMessage, MessageType } from './base';

/**
 * Figure 2 "AppendEntries RPC" results, simpleRaft's ResponseMessage
 * (messages/response.py): `response` is the paper's success and `currentTerm`
 * its term. simpleRaft also sends it to reject any message with a stale term.
 *
 * The optional fields are this port's extensions; a simpleRaft node neither
 * sends nor reads them, and a leader never guesses them when they are absent.
 */
export interface ResponseData {
  /** The paper's success. */
  response: boolean;
  /** The paper's term: the responder's currentTerm. */
  currentTerm: number;
  /**
   * On success: the highest index the follower now knows matches the leader's
   * log (prevLogIndex + entries.length). The leader advances matchIndex only
   * from this, never from a guess.
   */
  matchIndex?: number;
  /**
   * On rejection, the fast-backtracking hint of §5.3 (end of the section):
   * the first index the follower holds for `conflictTerm`, or its last index
   * + 1 when its log is too short (then conflictTerm is absent).
   */
  conflictIndex?: number;
  conflictTerm?: number;
  /**
   * On rejection: the prevLogIndex of the AppendEntries rejected (etcd's
   * MsgAppResp Index with Reject set). It tells the leader which of its
   * requests this answers, so a late or duplicated rejection of an old one
   * is ignored instead of sending replication back to probing.
   */
  rejectedIndex?: number;
  /**
   * Reply to an InstallSnapshot chunk that did not finish the snapshot (§7,
   * Figure 13 receiver 4, "reply and wait for more data chunks"): how many
   * bytes of the leader's snapshot the follower now holds, in order. The
   * leader sends the next chunk from this offset; 0 means start again.
   */
  snapshotOffset?: number;
  /** The AppendEntries' `context`, echoed (ReadIndex, thesis §6.4). */
  context?: number;
}

export type ResponseMessage = BaseMessage<MessageType.Response, ResponseData>;
