// Leader (simpleRaft's states/leader.py): replicates its log to every
// follower and decides when entries are committed (§5.3, §5.4.2).
//
// Replication keeps, per follower, the paper's nextIndex and matchIndex, and
// a flow-control mode in the manner of etcd raft's Progress:
//   probe:     we do not know where the follower's log matches ours; send one
//              AppendEntries at a time and back up on each rejection (§5.3);
//   replicate: the follower's log matched at matchIndex; stream entries
//              without waiting for each reply (up to maxInflight messages),
//              moving nextIndex ahead optimistically.
//   snapshot:  the entry the follower needs next was compacted away (§7):
//              send it our snapshot with InstallSnapshot, one chunk at a time,
//              each chunk answered before the next goes out.

import { AppendEntriesMessage, MessageType, NodeId, ResponseMessage } from '../messages';
import { Snapshot } from '../log/types';
import type { ProposeResult, ReadResult, Server } from '../server/server';
import { rejectReplication, State } from './state';

interface Progress {
  /** Figure 2: index of the next log entry to send to that server. */
  nextIndex: number;
  /** Figure 2: index of the highest log entry known to be replicated on that server. */
  matchIndex: number;
  mode: 'probe' | 'replicate' | 'snapshot';
  /** probe: a probe is out and unanswered; wait for its reply or the next heartbeat. */
  probeSent: boolean;
  /** snapshot: the snapshot being sent (fixed for the whole transfer) and the next byte to send. */
  snapshot?: Snapshot;
  snapshotOffset?: number;
  /** snapshot: a chunk is out and unanswered, and the offset its acknowledgement will carry. */
  chunkSent?: boolean;
  chunkEnd?: number;
  /** snapshot: where a late or refusing answer says the follower is; used if the transfer stalls. */
  snapshotHint?: number;
  /** replicate: the last index carried by each AppendEntries still unanswered. */
  inflight: number[];
  /** replicate: did any reply advance matchIndex since the last heartbeat? */
  progressedSinceHeartbeat: boolean;
}

export class Leader extends State {
  readonly role = 'leader' as const;
  private readonly progress = new Map<NodeId, Progress>();
  private heartbeatElapsed = 0;
  /** Client commands were appended since the last Ready: send them out. */
  private pendingAppend = false;

  // ReadIndex (thesis §6.4). Each read opens a new round; every AppendEntries
  // carries the current round as `context` and followers echo it. A read of
  // round r is safe once a majority has answered a message of round >= r:
  // they still recognised us as leader after the read arrived.
  private readRound = 0;
  private readonly ackedRound = new Map<NodeId, number>();
  private pendingReads: { context: string; from: NodeId | null; round: number }[] = [];

  // CheckQuorum (thesis §6.2) and the leader lease for reads (thesis §6.4).
  /** Ticks since we became leader: the leader's own clock. */
  private now = 0;
  /** Peers heard from since the last quorum check. */
  private readonly recentlyActive = new Set<NodeId>();
  private quorumCheckElapsed = 0;
  /** When each still-unconfirmed read round was opened, oldest first: [round, tick]. */
  private roundOpenedAt: [number, number][] = [[0, 0]];
  /** The leader lease holds until this tick (exclusive). */
  private leaderLeaseUntil = 0;

  /**
   * Figure 2 Leaders: upon election, initialize nextIndex to the leader's last
   * log index + 1 and matchIndex to 0; send initial empty AppendEntries.
   * We also append a no-op entry of the new term (§8): it lets the leader
   * commit entries of earlier terms (§5.4.2) and serve reads at once.
   */
  constructor(server: Server) {
    super();
    const next = server.log.lastIndex() + 1;
    for (const peer of server.peers) {
      this.progress.set(peer, {
        nextIndex: next,
        matchIndex: 0,
        mode: 'probe',
        probeSent: false,
        inflight: [],
        progressedSinceHeartbeat: false,
      });
    }
    if (!server.bugs.commitPreviousTermByCount) {
      server.log.append([{ index: next, term: server.currentTerm, value: null }]);
    }
    for (const peer of server.peers) this.sendAppend(server, peer, true);
  }

  /** Figure 2 Leaders: send heartbeats during idle periods (§5.2). */
  onTick(server: Server): State {
    this.now++;
    if (server.checkQuorum && ++this.quorumCheckElapsed >= server.electionTicks) {
      this.quorumCheckElapsed = 0;
      // CheckQuorum: a leader cut off from a majority steps down by itself
      // rather than keep accepting commands it can never commit.
      if (this.recentlyActive.size + 1 < server.quorum()) {
        return server.becomeFollower(server.currentTerm, null, `heard from only ${this.recentlyActive.size} of ${server.peers.length} peers in an election timeout`);
      }
      this.recentlyActive.clear();
    }
    this.heartbeatElapsed++;
    if (this.heartbeatElapsed >= server.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      // Each heartbeat opens a read round, so the leader lease keeps renewing.
      if (server.readMode === 'lease') this.openReadRound(server);
      for (const peer of server.peers) this.heartbeat(server, peer);
    }
    return this;
  }

  /** The leader ignores vote requests of higher terms while checkQuorum keeps it leader (§4.2.3). */
  protected override inLease(_server: Server): boolean {
    return true;
  }

  private openReadRound(server: Server): number {
    this.readRound++;
    if (server.readMode === 'lease') this.roundOpenedAt.push([this.readRound, this.now]);
    return this.readRound;
  }

  /**
   * Leader lease (thesis §6.4): a majority answered a message sent at tick t,
   * so none of them will vote for another leader before t + the minimum
   * election timeout (see State.inLease); no other leader can exist before
   * then, less the clock-drift bound we assume between servers.
   */
  private extendLeaderLease(server: Server, confirmedRound: number): void {
    let openedAt: number | undefined;
    while (this.roundOpenedAt.length > 0 && this.roundOpenedAt[0][0] <= confirmedRound) {
      openedAt = this.roundOpenedAt.shift()![1];
    }
    if (openedAt === undefined) return;
    this.roundOpenedAt.unshift([confirmedRound, openedAt]);
    this.leaderLeaseUntil = Math.max(this.leaderLeaseUntil, openedAt + server.electionTicks - server.leaseDriftTicks);
  }

  /** Does the leader lease hold now? */
  holdsLeaderLease(): boolean {
    return this.now < this.leaderLeaseUntil;
  }

  /**
   * Only one leader exists per term (Election Safety), so an AppendEntries of
   * our own term cannot come from a legitimate leader: refuse it.
   */
  onAppendEntries(server: Server, message: AppendEntriesMessage): State {
    server.emit({ kind: 'drop', reason: `AppendEntries from ${message.sender} in our own term ${message.term}` });
    rejectReplication(server, message.sender);
    return this;
  }

  /**
   * Figure 2 Leaders: "If successful: update nextIndex and matchIndex for
   * follower (§5.3). If AppendEntries fails because of log inconsistency:
   * decrement nextIndex and retry (§5.3)."
   */
  override onResponseReceived(server: Server, message: ResponseMessage): State {
    const pr = this.progress.get(message.sender);
    if (pr === undefined) return this;
    const d = message.data;
    this.recentlyActive.add(message.sender);
    if (d.context !== undefined && d.context > (this.ackedRound.get(message.sender) ?? 0)) {
      this.ackedRound.set(message.sender, d.context);
      if (server.readMode === 'lease') this.extendLeaderLease(server, this.confirmedRound(server));
      this.releaseReads(server);
    }
    if (pr.mode === 'snapshot') {
      // §7: a snapshot is on its way to this follower.
      if (d.snapshotOffset !== undefined) {
        if (d.response && pr.chunkSent && d.snapshotOffset === pr.chunkEnd) {
          // Figure 13 receiver 4 acknowledged the chunk that is out: send the next.
          pr.snapshotOffset = d.snapshotOffset;
          pr.chunkSent = false;
          pr.snapshotHint = undefined;
          pr.progressedSinceHeartbeat = true;
          this.sendAppend(server, message.sender, false);
        } else {
          // A late or duplicated answer, or a refusal (a chunk was lost, or
          // the follower restarted): remember where the follower says it is,
          // and resend from there if the transfer stalls (heartbeat). Sending
          // on every such answer would let duplicates multiply the chunks in
          // flight without bound.
          pr.snapshotHint = d.snapshotOffset <= pr.snapshot!.data.length ? d.snapshotOffset : 0;
        }
        return this;
      }
      const done = d.response && d.matchIndex !== undefined && d.matchIndex >= pr.snapshot!.index && d.matchIndex <= server.log.lastIndex();
      if (!done) {
        // A late answer to an AppendEntries sent before the transfer began;
        // a success still tells us what matches.
        if (d.response && d.matchIndex !== undefined && d.matchIndex <= server.log.lastIndex() && d.matchIndex > pr.matchIndex) {
          pr.matchIndex = d.matchIndex;
          this.maybeCommit(server);
        }
        return this;
      }
      // The snapshot is installed (or was not needed): the follower's log
      // matches ours up to matchIndex; carry on with entries after it.
      pr.mode = 'probe';
      pr.snapshot = undefined;
      pr.chunkSent = false;
    } else if (d.snapshotOffset !== undefined) {
      // A late answer to a chunk of a transfer that is over: not about entries.
      return this;
    }
    if (d.response) {
      // A success without matchIndex (as simpleRaft sends) says nothing
      // certain about what matched: never advance matchIndex on a guess.
      if (d.matchIndex === undefined || d.matchIndex > server.log.lastIndex()) return this;
      pr.inflight = pr.inflight.filter((i) => i > d.matchIndex!);
      if (d.matchIndex > pr.matchIndex) {
        pr.matchIndex = d.matchIndex;
        pr.progressedSinceHeartbeat = true;
        this.maybeCommit(server);
      }
      pr.nextIndex = Math.max(pr.nextIndex, pr.matchIndex + 1);
      if (pr.mode === 'probe') {
        pr.mode = 'replicate';
        pr.probeSent = false;
        pr.nextIndex = pr.matchIndex + 1;
      }
    } else {
      if (this.isStaleRejection(pr, d.rejectedIndex)) return this;
      // §5.3 (end): back up using the follower's hint, else one entry.
      let next: number;
      if (d.conflictIndex === undefined) next = pr.nextIndex - 1;
      else if (d.conflictTerm === undefined) next = d.conflictIndex;
      else {
        const last = this.lastIndexOfTerm(server, d.conflictTerm, Math.min(pr.nextIndex - 1, server.log.lastIndex()));
        next = last > 0 ? last + 1 : d.conflictIndex;
      }
      // Entries at or below matchIndex are known to match: never back up past them.
      pr.nextIndex = Math.max(pr.matchIndex + 1, Math.min(next, server.log.lastIndex() + 1));
      pr.mode = 'probe';
      pr.probeSent = false;
      pr.inflight = [];
    }
    this.sendAppend(server, message.sender, false);
    return this;
  }

  /**
   * §5.3 backs nextIndex up on a rejection; but not on one that answers an
   * AppendEntries we no longer wait on (etcd's Progress.MaybeDecrTo): it is
   * late, duplicated or overtaken, and acting
   * on it would throw replication back to probing for nothing. At or below
   * matchIndex our logs are known to match, so a rejection there is old; in
   * probe mode only the probe at nextIndex - 1 is outstanding. A rejection
   * without rejectedIndex (simpleRaft) cannot be told apart: it counts.
   */
  private isStaleRejection(pr: Progress, rejectedIndex: number | undefined): boolean {
    if (rejectedIndex === undefined) return false;
    if (rejectedIndex <= pr.matchIndex) return true;
    return pr.mode === 'probe' && rejectedIndex !== pr.nextIndex - 1;
  }

  /** Our last index holding `term`, searching down from `from`; 0 if none. */
  private lastIndexOfTerm(server: Server, term: number, from: number): number {
    for (let i = from; i > 0; i--) {
      const t = server.log.term(i);
      if (t === undefined || t < term) return 0; // terms never decrease along a log
      if (t === term) return i;
    }
    return 0;
  }

  /** Figure 2 Leaders: a client command is appended to our log, then replicated. */
  onClientCommand(server: Server, value: unknown): ProposeResult {
    const index = server.log.lastIndex() + 1;
    server.log.append([{ index, term: server.currentTerm, value }]);
    // Commands that arrive together leave in one AppendEntries (beforeReady).
    this.pendingAppend = true;
    return { kind: 'appended', index, term: server.currentTerm };
  }

  protected override onClientCommandMessage(server: Server, message: { data: { value: unknown } }): State {
    this.onClientCommand(server, message.data.value);
    return this;
  }

  /**
   * Thesis §6.4: (1) the read index is our commitIndex, once an entry of our
   * term is committed (the no-op of §8); (2) confirm we are still leader by a
   * round of heartbeats acknowledged by a majority; (3) the read is served
   * once the state machine has applied the read index (the driver waits).
   */
  override onReadIndex(server: Server, context: string, from: NodeId | null): ReadResult {
    if (server.readMode === 'lease' && this.holdsLeaderLease() && server.log.term(server.log.committed) === server.currentTerm) {
      // Lease read: no round trip; our commitIndex is current while the lease holds.
      this.pendingReads.push({ context, from, round: 0 });
      this.releaseReads(server);
      return { kind: 'pending' };
    }
    // Reads that arrive together share one round of heartbeats, opened in
    // beforeReady: the round number it will get is the next one.
    this.pendingReads.push({ context, from, round: this.readRound + 1 });
    this.readRoundWanted = true;
    return { kind: 'pending' };
  }

  /** Reads are waiting for a round of heartbeats that has not been opened yet. */
  private readRoundWanted = false;

  /** The highest read round a majority (counting us) has answered. */
  private confirmedRound(server: Server): number {
    if (server.bugs.readsWithoutQuorum) return this.readRound;
    const rounds = [this.readRound, ...server.peers.map((p) => this.ackedRound.get(p) ?? 0)].sort((a, b) => b - a);
    return rounds[server.quorum() - 1];
  }

  private releaseReads(server: Server): void {
    if (this.pendingReads.length === 0) return;
    // §6.4 step 1: wait until an entry of our own term is committed.
    if (server.log.term(server.log.committed) !== server.currentTerm) return;
    const confirmed = this.confirmedRound(server);
    const index = server.log.committed;
    const still: typeof this.pendingReads = [];
    for (const read of this.pendingReads) {
      if (read.round > confirmed) still.push(read);
      else if (read.from === null) server.addReadState(read.context, index);
      else {
        server.send({
          type: MessageType.ReadIndexResponse,
          receiver: read.from,
          term: server.currentTerm,
          data: { context: read.context, index },
        });
      }
    }
    this.pendingReads = still;
  }

  override beforeReady(server: Server): void {
    if (this.readRoundWanted) {
      this.readRoundWanted = false;
      this.openReadRound(server);
      for (const peer of server.peers) this.sendHeartbeat(server, peer);
      this.releaseReads(server); // at once when no peer's answer is needed (a cluster of one)
    }
    if (!this.pendingAppend) return;
    this.pendingAppend = false;
    for (const peer of server.peers) this.sendAppend(server, peer, false);
  }

  override onPersisted(server: Server): void {
    // Our own entries count toward a majority once stable (thesis §10.2.1).
    this.maybeCommit(server);
  }

  /**
   * §5.3, §5.4.2, Figure 2 Leaders: "If there exists an N such that N >
   * commitIndex, a majority of matchIndex[i] >= N, and log[N].term ==
   * currentTerm: set commitIndex = N." Entries of earlier terms are committed
   * only indirectly, by committing one of the current term (Figure 8).
   */
  private maybeCommit(server: Server): void {
    const matches = [server.log.stableLastIndex(), ...[...this.progress.values()].map((p) => p.matchIndex)];
    matches.sort((a, b) => b - a);
    const n = matches[server.quorum() - 1];
    if (n <= server.log.committed) return;
    if (server.log.term(n) !== server.currentTerm && !server.bugs.commitPreviousTermByCount) return;
    server.log.commitTo(n);
    this.releaseReads(server);
    // Tell followers at once, so they apply without waiting for a heartbeat.
    // A follower still being probed learns it from the probe's answer instead.
    for (const peer of server.peers) {
      if (this.progress.get(peer)!.mode === 'replicate') this.sendAppend(server, peer, true);
    }
  }

  /**
   * Send what `peer` is missing, as flow control allows. With `allowEmpty`, an
   * empty AppendEntries goes out when there is nothing new (a heartbeat that
   * also carries our commitIndex).
   */
  private sendAppend(server: Server, peer: NodeId, allowEmpty: boolean): void {
    const pr = this.progress.get(peer)!;
    const log = server.log;
    // §7: "the leader must occasionally send snapshots to followers that lag
    // behind": the next entry this follower needs was discarded by compaction.
    if (pr.mode !== 'snapshot' && pr.nextIndex < log.firstIndex()) {
      pr.mode = 'snapshot';
      pr.snapshot = log.snapshot()!;
      pr.snapshotOffset = 0;
      pr.chunkSent = false;
      pr.inflight = [];
    }
    if (pr.mode === 'snapshot') {
      this.sendSnapshotChunk(server, peer, pr);
      return;
    }
    let sent = false;
    for (;;) {
      if (pr.mode === 'probe' && pr.probeSent) break;
      if (pr.mode === 'replicate' && pr.inflight.length >= server.maxInflight) break;
      const last = Math.min(log.lastIndex(), pr.nextIndex + server.maxEntriesPerAppend - 1);
      if (last < pr.nextIndex && (sent || !allowEmpty)) break;
      const prevLogIndex = pr.nextIndex - 1;
      const entries = log.slice(pr.nextIndex, last + 1);
      this.sendAppendEntries(server, peer, prevLogIndex, entries.map((e) => ({ term: e.term, value: e.value })));
      sent = true;
      if (pr.mode === 'probe') {
        pr.probeSent = true;
        break;
      }
      if (entries.length === 0) break;
      pr.inflight.push(last);
      pr.nextIndex = last + 1;
    }
    if (!sent && allowEmpty) this.sendHeartbeat(server, peer);
  }

  /**
   * A heartbeat. In replicate mode it checks the log at matchIndex, which is
   * known to match, so it cannot fail because entries are still in flight.
   * If entries were sent but nothing was acknowledged for a whole heartbeat
   * interval, some were lost: go back to probing from matchIndex + 1.
   */
  private heartbeat(server: Server, peer: NodeId): void {
    const pr = this.progress.get(peer)!;
    if (pr.mode === 'replicate' && pr.inflight.length > 0 && !pr.progressedSinceHeartbeat) {
      pr.mode = 'probe';
      pr.inflight = [];
      pr.nextIndex = pr.matchIndex + 1;
    }
    // A chunk unanswered for a whole heartbeat interval was probably lost:
    // send it again. (The chunk also keeps the follower's election timer
    // quiet, as a heartbeat would.)
    if (pr.mode === 'snapshot' && !pr.progressedSinceHeartbeat) {
      pr.chunkSent = false;
      if (pr.snapshotHint !== undefined) pr.snapshotOffset = pr.snapshotHint;
      pr.snapshotHint = undefined;
    }
    pr.progressedSinceHeartbeat = false;
    if (pr.mode === 'probe') pr.probeSent = false; // the last probe may have been lost: send again
    this.sendAppend(server, peer, true);
  }

  private sendHeartbeat(server: Server, peer: NodeId): void {
    const pr = this.progress.get(peer)!;
    // Never below our snapshot (§7): the term of a compacted entry is gone.
    // A follower that lacks firstIndex-1 refuses, and the refusal leads to
    // a snapshot.
    const prev = Math.max(pr.mode === 'replicate' ? pr.matchIndex : pr.nextIndex - 1, server.log.firstIndex() - 1);
    this.sendAppendEntries(server, peer, prev, []);
  }

  /**
   * §7, Figure 13 InstallSnapshot arguments: the chunk of `pr.snapshot` at
   * pr.snapshotOffset, at most maxSnapshotChunkBytes, `done` on the last.
   * One chunk at a time: the follower's answer says where to go on from.
   */
  private sendSnapshotChunk(server: Server, peer: NodeId, pr: Progress): void {
    if (pr.chunkSent) return;
    const snap = pr.snapshot!;
    const offset = pr.snapshotOffset!;
    const end = Math.min(snap.data.length, offset + server.maxSnapshotChunkBytes);
    server.send({
      type: MessageType.InstallSnapshot,
      receiver: peer,
      term: server.currentTerm,
      data: {
        leaderId: server.name,
        lastIncludedIndex: snap.index,
        lastIncludedTerm: snap.term,
        offset,
        data: Buffer.from(snap.data.buffer, snap.data.byteOffset + offset, end - offset).toString('base64'),
        done: end === snap.data.length,
      },
    });
    pr.chunkSent = true;
    pr.chunkEnd = end;
  }

  private sendAppendEntries(server: Server, peer: NodeId, prevLogIndex: number, entries: { term: number; value: unknown }[]): void {
    server.send({
      type: MessageType.AppendEntries,
      receiver: peer,
      term: server.currentTerm,
      data: {
        leaderId: server.name,
        prevLogIndex,
        prevLogTerm: server.log.term(prevLogIndex) ?? 0,
        entries,
        leaderCommit: server.log.committed,
        context: this.readRound,
      },
    });
  }

  progressReport(): Record<string, { matchIndex: number; nextIndex: number }> {
    const out: Record<string, { matchIndex: number; nextIndex: number }> = {};
    for (const [peer, pr] of this.progress) out[String(peer)] = { matchIndex: pr.matchIndex, nextIndex: pr.nextIndex };
    return out;
  }
}
