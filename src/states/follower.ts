// Follower (simpleRaft's states/follower.py): "Followers are passive: they
// issue no requests on their own but simply respond to requests from leaders
// and candidates" (§5.1).

import { AppendEntriesMessage, InstallSnapshotMessage, MessageType, ResponseData } from '../messages';
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
      const rejectedIndex = d.prevLogIndex; // which request this answers, for the leader
      this.reply(server, message, { response: false, currentTerm: server.currentTerm, rejectedIndex, ...this.conflictHint(server, prevLogIndex) });
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

  /**
   * §7, Figure 13: the snapshot being received from the leader of this term,
   * chunk by chunk, in order. It lives only in memory and only in this
   * Follower (a new term, a new Follower, a fresh start): nothing touches the
   * log or the state machine until the last chunk is in, so a transfer cut
   * short leaves no trace (never half-installed).
   */
  private incoming: { index: number; term: number; chunks: Buffer[]; size: number } | null = null;

  /** Figure 13 "InstallSnapshot RPC", receiver implementation (receiver 1 ran in State). */
  override onInstallSnapshot(server: Server, message: InstallSnapshotMessage): State {
    const d = message.data;
    const log = server.log;
    // Like an AppendEntries, a chunk comes from the one leader of our term
    // and resets the election timer (Figure 2 Followers).
    server.setLeader(message.sender);
    this.resetElectionTimer(server);
    const reply = (data: ResponseData) =>
      server.send({ type: MessageType.Response, receiver: message.sender, term: server.currentTerm, data });

    // Everything the snapshot covers is already committed here: nothing to
    // install. matchIndex = commitIndex lets the leader go on from there
    // (committed entries match on every server, §5.4).
    if (d.lastIncludedIndex <= log.committed) {
      this.incoming = null;
      reply({ response: true, currentTerm: server.currentTerm, matchIndex: log.committed });
      return this;
    }

    // Receiver 2: "Create new snapshot file if first chunk (offset is 0)";
    // receiver 5 also discards "any existing or partial snapshot with a
    // smaller index". A first chunk of the snapshot we are already receiving
    // is a duplicate or a leader starting over: we keep what we have and say
    // where we are, so the leader resumes instead of resending it all.
    const same = this.incoming !== null && this.incoming.index === d.lastIncludedIndex && this.incoming.term === d.lastIncludedTerm;
    if (d.offset === 0 && !same) {
      this.incoming = { index: d.lastIncludedIndex, term: d.lastIncludedTerm, chunks: [], size: 0 };
    }
    const inc = this.incoming;
    if (inc === null || inc.index !== d.lastIncludedIndex || inc.term !== d.lastIncludedTerm || d.offset !== inc.size) {
      // A chunk was lost, delayed or duplicated: accept only the next byte in
      // order, and tell the leader which one that is.
      reply({ response: false, currentTerm: server.currentTerm, snapshotOffset: same ? inc!.size : 0 });
      return this;
    }
    // Receiver 3: "Write data into snapshot file at given offset."
    const chunk = Buffer.from(d.data, 'base64');
    inc.chunks.push(chunk);
    inc.size += chunk.length;
    // Receiver 4: "Reply and wait for more data chunks if done is false."
    if (!d.done) {
      reply({ response: true, currentTerm: server.currentTerm, snapshotOffset: inc.size });
      return this;
    }

    // Receiver 5: the snapshot is complete (the driver saves it with the Ready).
    this.incoming = null;
    const snapshot = { index: inc.index, term: inc.term, data: new Uint8Array(Buffer.concat(inc.chunks, inc.size)) };
    if (log.matchTerm(snapshot.index, snapshot.term)) {
      // Receiver 6: "If existing log entry has same index and term as
      // snapshot's last included entry, retain log entries following it and
      // reply." We hold every entry it covers, so we commit them and apply
      // them from our own log (as etcd raft does) instead of the snapshot.
      log.commitTo(snapshot.index);
    } else {
      // Receivers 7-8: "Discard the entire log"; "Reset state machine using
      // snapshot contents". Both happen when the driver takes the Ready.
      log.restore(snapshot);
    }
    // Sent only after the Ready persisted the snapshot (persist before you promise).
    reply({ response: true, currentTerm: server.currentTerm, matchIndex: snapshot.index });
    return this;
  }

  /** §8: a follower redirects clients; we forward the command to the leader we know. */
  onClientCommand(server: Server, value: unknown): ProposeResult {
    const leader = server.leaderId;
    if (leader === null) return { kind: 'not-leader', leader: null };
    server.send({ type: MessageType.ClientCommand, receiver: leader, term: server.currentTerm, data: { value } });
    return { kind: 'forwarded', leader };
  }
}
