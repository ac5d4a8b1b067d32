// Follower (simpleRaft's states/follower.py): "Followers are passive: they
// issue no requests on their own but simply respond to requests from leaders
// and candidates" (§5.1).

import { AppendEntriesMessage, MessageType, ResponseData } from '../messages';
import { LogEntry } from '../log/types';
import type { ProposeResult, Server } from '../server/server';
import { State } from './state';
import { Voter } from './voter';

export class Follower extends Voter {
  readonly role = 'follower' as const;

  /**
   * Figure 2 AppendEntries RPC, receiver implementation. The term check
   * (receiver 1) already ran in State.onMessage.
   */
  onAppendEntries(server: Server, message: AppendEntriesMessage): State {
    const d = message.data;
    const log = server.log;
    // §5.2: an AppendEntries of the current term comes from its one leader.
    server.setLeader(message.sender);
    // Figure 2 Followers: hearing from the current leader resets the timer.
    this.resetElectionTimer(server);

    let prevLogIndex = d.prevLogIndex;
    let prevLogTerm = d.prevLogTerm;
    let incoming: LogEntry[] = d.entries.map((e, i) => ({ index: prevLogIndex + 1 + i, term: e.term, value: e.value }));

    // A delayed AppendEntries may start below our commitIndex. Committed
    // entries are on every later leader (§5.4, Leader Completeness), so the
    // part below commitIndex matches by construction: skip it.
    if (prevLogIndex < log.committed) {
      incoming = incoming.filter((e) => e.index > log.committed);
      prevLogIndex = log.committed;
      prevLogTerm = log.term(log.committed) ?? 0;
      if (d.prevLogIndex + d.entries.length < log.committed) {
        this.reply(server, message, { response: true, currentTerm: server.currentTerm, matchIndex: log.committed });
        return this;
      }
    }

    // Receiver 2 (§5.3): reply false if the log doesn't contain an entry at
    // prevLogIndex whose term matches prevLogTerm.
    if (!log.matchTerm(prevLogIndex, prevLogTerm)) {
      this.reply(server, message, { response: false, currentTerm: server.currentTerm, ...this.conflictHint(server, prevLogIndex) });
      return this;
    }

    // Receivers 3-4 (§5.3): delete an existing entry and all that follow it
    // only if it conflicts with a new one (same index, different term); append
    // any new entries not already in the log. A stale or duplicated
    // AppendEntries therefore never removes anything.
    const lastNewIndex = prevLogIndex + incoming.length;
    if (server.bugs.truncateOnStaleAppend && incoming.length > 0) {
      log.append(incoming); // BUG (test-only): replaces the whole suffix, conflict or not
    } else {
      const conflict = log.findConflict(incoming);
      if (conflict !== 0) log.append(incoming.slice(conflict - incoming[0].index));
    }

    // Receiver 5: if leaderCommit > commitIndex, set commitIndex =
    // min(leaderCommit, index of last new entry).
    if (server.bugs.followerCommitsOnArrival) {
      log.commitTo(lastNewIndex); // BUG (test-only): entries counted committed on arrival
    } else if (d.leaderCommit > log.committed) {
      log.commitTo(Math.min(d.leaderCommit, lastNewIndex));
    }

    this.reply(server, message, { response: true, currentTerm: server.currentTerm, matchIndex: lastNewIndex });
    return this;
  }

  /**
   * The fast-backtracking hint (§5.3, end): "the follower can include the term
   * of the conflicting entry and the first index it stores for that term", so
   * the leader skips a whole term per round trip instead of one entry.
   */
  private conflictHint(server: Server, prevLogIndex: number): { conflictIndex: number; conflictTerm?: number } {
    const log = server.log;
    if (prevLogIndex > log.lastIndex()) return { conflictIndex: log.lastIndex() + 1 };
    const conflictTerm = log.term(prevLogIndex) ?? 0;
    let first = prevLogIndex;
    while (first - 1 > log.committed && log.term(first - 1) === conflictTerm) first--;
    return { conflictIndex: first, conflictTerm };
  }

  private reply(server: Server, to: AppendEntriesMessage, data: ResponseData): void {
    // Echo the leader's read round: any answer of ours in its term confirms
    // its leadership for the reads it holds (thesis §6.4).
    if (to.data.context !== undefined) data.context = to.data.context;
    server.send({ type: MessageType.Response, receiver: to.sender, term: server.currentTerm, data });
  }

  /** §8: a follower redirects clients; we forward the command to the leader we know. */
  onClientCommand(server: Server, value: unknown): ProposeResult {
    const leader = server.leaderId;
    if (leader === null) return { kind: 'not-leader', leader: null };
    server.send({ type: MessageType.ClientCommand, receiver: leader, term: server.currentTerm, data: { value } });
    return { kind: 'forwarded', leader };
  }
}
