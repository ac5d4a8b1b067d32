import { BaseMessage, MessageType } from './base';

/**
 * §5.2, Figure 2 "RequestVote RPC" arguments (candidateId is the envelope's
 * sender, as in simpleRaft's messages/request_vote.py).
 */
export interface RequestVoteData {
  lastLogIndex: number;
  /**
   * Term of the candidate's last log entry. simpleRaft sends null for an empty
   * log; we read null as the paper's 0 and keep it so the message re-encodes
   * to the same JSON.
   */
  lastLogTerm: number | null;
}

export type RequestVoteMessage = BaseMessage<MessageType.RequestVote, RequestVoteData>;

/**
 * Figure 2 "RequestVote RPC" results. simpleRaft names voteGranted `response`;
 * the reply's term is the envelope's term.
 */
export interface RequestVoteResponseData {
  /** The paper's voteGranted. */
  response: boolean;
}

export type RequestVoteResponseMessage = BaseMessage<
  MessageType.RequestVoteResponse,
  RequestVoteResponseData
>;
