// What each node's latest campaign showed of its log, for one check: a node
// whose RequestVote proved it lacks an entry we have committed cannot be a
// legitimate leader, of that term or of a later one it did not campaign for.
//
// Why (§5.4.1, §5.4.3): a committed entry is stored on a majority, a
// candidate needs the votes of a majority, and every voter refuses a
// candidate whose log is less up-to-date than its own; so the leader of a
// term holds every entry committed in earlier terms (Leader Completeness).
// A leader's log only grows while it leads, and what it adds is of its own
// term, so the log it campaigned with, (lastLogIndex, lastLogTerm), holds
// every entry of an older term that it will ever hold. We judge that log when
// its AppendEntries arrive, against the last entry we know committed, if that
// entry is older than the campaign: if the campaign's log ends before it (an
// older last term, or the same term and a smaller index), the sender lacks a
// committed entry.
//
// A Raft node never meets such a leader. simpleRaft's Candidate does lead
// that way (it counts refusals as votes: docs/simpleraft-errata.md), and its
// heartbeats show nothing of it: from an empty log they match any log at
// index 0. Refusing an AppendEntries is always safe (it changes nothing); the
// follower's timer then runs out, and a node that holds the committed entries
// is elected.
//
// The campaign of the leader's own term is judged as above. An older
// campaign says less: the node may have received the entry since, as a
// follower, and won a later election holding it, with its RequestVote to us
// lost on the way (the simulator found this: seeds 105 and 126, 5 nodes,
// harsh, when older records were judged like current ones). So an older
// record is judged only when the message itself proves nothing: an
// AppendEntries whose prevLogIndex is at or past our commit index shows, if
// it matches our log, that the sender holds our committed entries (§5.3 Log
// Matching), and a Raft leader never needs to reach below our commit index.
// simpleRaft's leader, which adopts a newer term and goes on leading without
// campaigning (docs/simpleraft-errata.md), sends heartbeats from index 0.

import { NodeId } from '../messages';

interface Campaign {
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
}

export class Campaigns {
  private readonly latest = new Map<string, Campaign>();

  /** A RequestVote of `term` from `candidate`, its last entry at (lastLogIndex, lastLogTerm). Only the newest counts. */
  note(candidate: NodeId, term: number, lastLogIndex: number, lastLogTerm: number): void {
    const key = String(candidate);
    const before = this.latest.get(key);
    if (before === undefined || before.term <= term) this.latest.set(key, { term, lastLogIndex, lastLogTerm });
  }

  /**
   * An AppendEntries or InstallSnapshot from `node` in `term`, reaching back
   * to `fromIndex` (prevLogIndex, or the snapshot's lastIncludedIndex): the
   * committed entry (our commitIndex, of term `committedTerm`) that its
   * latest campaign showed it lacks; null if none or if we cannot tell.
   */
  lacking(node: NodeId, term: number, fromIndex: number, committed: number, committedTerm: number): { index: number; campaignTerm: number } | null {
    const c = this.latest.get(String(node));
    // Entries of the campaign's term or newer may be the leader's own additions: no judgement.
    if (c === undefined || c.term > term || committed === 0 || committedTerm >= c.term) return null;
    // An older campaign, and a message that reaches our committed entries itself: no judgement.
    if (c.term < term && fromIndex >= committed) return null;
    const holdsIt = c.lastLogTerm > committedTerm || (c.lastLogTerm === committedTerm && c.lastLogIndex >= committed);
    return holdsIt ? null : { index: committed, campaignTerm: c.term };
  }
}
