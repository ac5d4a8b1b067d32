// Messages for the transport tests.

import { AppendEntriesMessage, Message, MessageType, NodeId, RequestVoteMessage, WireEntry } from '../../src/messages';

/** A RequestVote from `sender` to `receiver` (null: broadcast); `term` tells copies apart. */
export function requestVote(sender: NodeId, receiver: NodeId | null, term: number): RequestVoteMessage {
  return {
    type: MessageType.RequestVote,
    sender,
    receiver,
    term,
    timestamp: 0,
    data: { lastLogIndex: 0, lastLogTerm: null },
  };
}

export function appendEntries(
  sender: NodeId,
  receiver: NodeId,
  prevLogIndex: number,
  prevLogTerm: number,
  entries: WireEntry[],
  term = 3,
): AppendEntriesMessage {
  return {
    type: MessageType.AppendEntries,
    sender,
    receiver,
    term,
    timestamp: 0,
    data: { leaderId: sender, prevLogIndex, prevLogTerm, entries, leaderCommit: prevLogIndex },
  };
}

/** Collects what a transport delivers. */
export class Inbox {
  readonly messages: Message[] = [];
  readonly handler = (m: Message): void => {
    this.messages.push(m);
  };

  terms(): number[] {
    return this.messages.map((m) => m.term);
  }

  has(term: number): boolean {
    return this.messages.some((m) => m.term === term);
  }
}
