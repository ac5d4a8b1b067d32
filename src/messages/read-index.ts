import { BaseMessage, MessageType } from './base';

/**
 * ReadIndex (Ongaro's thesis §6.4): a follower asks the leader for an index
 * at which a linearizable read may be served, as etcd raft's MsgReadIndex.
 * `context` identifies the read; the reply carries it back. Codes 6 and 7 are
 * ours; simpleRaft ignores them.
 */
export interface ReadIndexData {
  context: string;
}

export type ReadIndexMessage = BaseMessage<MessageType.ReadIndex, ReadIndexData>;

export interface ReadIndexResponseData {
  context: string;
  /** The leader's commitIndex when the read arrived, confirmed by a majority. */
  index: number;
}

export type ReadIndexResponseMessage = BaseMessage<MessageType.ReadIndexResponse, ReadIndexResponseData>;
