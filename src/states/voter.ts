// Voter: vote granting, shared by Follower and Candidate (simpleRaft's
// states/voter.py), and the election timer both of them run.

import { MessageType, RequestVoteMessage } from '../messages';
import type { Server } from '../server/server';
import { refuseVote, State } from './state';

export abstract class Voter extends State {
  /** Ticks since the timer was last reset, and the randomized timeout (§5.2). */
  protected electionElapsed = 0;
  protected electionTimeout: number;

  constructor(server: Server, timeout?: number) {
    super();
    this.electionTimeout = timeout ?? server.randomElectionTimeout();
  }

  /**
   * A follower that heard from its leader within the minimum election timeout.
   * A node that has just restarted with a term counts as having heard from
   * one: it may have acknowledged a leader's heartbeat just before it crashed
   * (thesis §6.4). A fresh node (term 0) never heard from any leader.
   */
  protected override inLease(server: Server): boolean {
    return this.role === 'follower' && (server.leaderId !== null || this.justStarted) && this.electionElapsed < server.electionTicks;
  }

  /** Set on the follower a node restarts as with a term; cleared by its first reset or timeout. */
  justStarted = false;

  protected resetElectionTimer(server: Server): void {
    this.justStarted = false;
    this.electionElapsed = 0;
    this.electionTimeout = server.randomElectionTimeout();
  }

  override electionTimer(): { elapsed: number; timeout: number } {
    return { elapsed: this.electionElapsed, timeout: this.electionTimeout };
  }

  /** §5.2: if the election timeout elapses, start a new election. */
  onTick(server: Server): State {
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      return server.becomeCandidate(`no leader heard for ${this.electionElapsed} ticks`);
    }
    return this;
  }

  /**
   * Figure 2 RequestVote receiver (the term rules already ran in onMessage):
   * grant if votedFor is null or candidateId (§5.2), and the candidate's log is
   * at least as up-to-date as ours (§5.4.1).
   */
  override onVoteRequest(server: Server, message: RequestVoteMessage): State {
    const candidate = message.sender;
    // We can vote if this repeats the vote we already cast in this term...
    // ...or if we have not voted in this term yet.
    const free = server.votedFor === null || server.votedFor === candidate;
    if (!free) {
      refuseVote(server, message, `already voted for ${server.votedFor} in term ${server.currentTerm}`);
      return this;
    }
    // simpleRaft sends lastLogTerm null for an empty log: the paper's term 0.
    const lastLogTerm = message.data.lastLogTerm ?? 0;
    const upToDate = server.bugs.ignoreLastLogTerm
      ? message.data.lastLogIndex >= server.log.lastIndex()
      : server.log.isUpToDate(message.data.lastLogIndex, lastLogTerm);
    if (!upToDate) {
      refuseVote(
        server,
        message,
        `its log (last term ${lastLogTerm}, index ${message.data.lastLogIndex}) is behind ours ` +
          `(last term ${server.log.lastTerm()}, index ${server.log.lastIndex()})`,
      );
      return this;
    }
    server.grantVote(candidate);
    // Figure 2 Followers: granting a vote resets the election timer.
    this.resetElectionTimer(server);
    server.emit({ kind: 'vote', term: server.currentTerm, candidate, granted: true, reason: 'its log is up to date' });
    server.send({
      type: MessageType.RequestVoteResponse,
      receiver: candidate,
      term: server.currentTerm,
      data: { response: true },
    });
    return this;
  }
}
