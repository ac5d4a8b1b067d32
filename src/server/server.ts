// Server: one Raft node's state (Figure 2 "State") and its current role.
//
// simpleRaft's Server (servers/server.py) holds the log, the terms and a
// State object, and swaps the State for whatever a handler returns. We keep
// that shape, and add what the paper needs that simpleRaft lacks: injected
// time (tick) and randomness (Rng), persistence through a Ready batch, and a
// state machine fed only with committed entries.
//
// The core is pure: no clock, no Math.random, no disk, no sockets.

import { MAX_RAFT_NUMBER } from '../messages/bounds';
import { Message, NodeId } from '../messages';
import { RaftLog } from '../log/raft-log';
import { HardState, sameHardState, Snapshot } from '../log/types';
import { Candidate } from '../states/candidate';
import { Follower } from '../states/follower';
import { Leader } from '../states/leader';
import { State } from '../states/state';
import { Campaigns } from './campaigns';
import { Bugs, NO_BUGS, ReadMode, ServerConfig } from './config';
import { RaftEvent } from './events';
import { ReadState, Ready, SoftState } from './ready';

/** What became of a client command (simpleRaft's on_client_command). */
export type ProposeResult =
  | { kind: 'appended'; index: number; term: number }
  | { kind: 'forwarded'; leader: NodeId }
  | { kind: 'not-leader'; leader: NodeId | null };

/** What became of a read request (ReadIndex, thesis §6.4). */
export type ReadResult =
  | { kind: 'pending' }
  | { kind: 'forwarded'; leader: NodeId }
  | { kind: 'not-leader'; leader: NodeId | null };

/** Outgoing message before the envelope's sender and timestamp are filled in. */
export type Outgoing = Omit<Message, 'sender' | 'timestamp'>;

export class Server {
  readonly name: NodeId;
  readonly peers: readonly NodeId[];
  readonly bugs: Bugs;
  readonly heartbeatTicks: number;
  readonly maxEntriesPerAppend: number;
  readonly maxInflight: number;
  readonly maxSnapshotChunkBytes: number;
  readonly maxCommittedEntriesPerReady: number;
  readonly electionTicks: number;
  readonly checkQuorum: boolean;
  readonly readMode: ReadMode;
  readonly leaseDriftTicks: number;

  // Persistent state on all servers (Figure 2), saved through Ready.hardState
  // and Ready.entries before any message that depends on it is sent.
  private term: number;
  private vote: NodeId | null;
  readonly log: RaftLog;

  // Volatile state on all servers: commitIndex and lastApplied live in `log`.
  /** The leader of the current term, once known (§5.2). */
  leaderId: NodeId | null = null;
  /** Each node's latest campaign, for refusing a leader that lacks our committed entries (§5.4). */
  readonly campaigns = new Campaigns();
  state: State;

  private readonly config: ServerConfig;
  private outbox: Message[] = [];
  private readStates: ReadState[] = [];
  private persistedHardState: HardState;
  private lastReportedCommit: number;

  constructor(config: ServerConfig) {
    if (config.heartbeatTicks <= 0 || config.electionTicks <= config.heartbeatTicks) {
      throw new Error('need 0 < heartbeatTicks < electionTicks');
    }
    if (config.peers.includes(config.name)) throw new Error(`${config.name} is among its own peers`);
    if (new Set(config.peers).size !== config.peers.length) throw new Error('duplicate peer names');
    this.config = config;
    this.name = config.name;
    this.peers = [...config.peers];
    this.bugs = { ...NO_BUGS, ...config.bugs };
    this.heartbeatTicks = config.heartbeatTicks;
    this.maxEntriesPerAppend = config.maxEntriesPerAppend ?? 256;
    this.maxInflight = config.maxInflight ?? 64;
    this.maxSnapshotChunkBytes = config.maxSnapshotChunkBytes ?? 64 * 1024;
    if (!(this.maxSnapshotChunkBytes >= 1)) throw new Error('maxSnapshotChunkBytes must be at least 1');
    this.maxCommittedEntriesPerReady = config.maxCommittedEntriesPerReady ?? 1024;
    if (!(this.maxCommittedEntriesPerReady >= 1)) throw new Error('maxCommittedEntriesPerReady must be at least 1');
    this.electionTicks = config.electionTicks;
    this.checkQuorum = config.checkQuorum ?? true;
    this.readMode = config.readMode ?? 'index';
    this.leaseDriftTicks = config.leaseDriftTicks ?? Math.ceil(config.electionTicks / 10);
    if (this.readMode === 'lease' && !this.checkQuorum) throw new Error('readMode lease needs checkQuorum');
    if (this.leaseDriftTicks >= config.electionTicks) throw new Error('leaseDriftTicks must be below electionTicks');
    const hs = config.storage.hardState();
    this.term = hs.currentTerm;
    this.vote = hs.votedFor;
    this.persistedHardState = hs;
    this.log = new RaftLog(config.storage);
    this.lastReportedCommit = this.log.committed;
    // Every server starts as a follower (§5.2); simpleRaft's 'candidate'
    // initial state campaigns at the first tick instead of waiting -- on a
    // fresh node only. A node restarting with a term may have acknowledged a
    // leader just before it stopped, so it waits like any follower (§4.2.3).
    const campaignAtOnce = config.initialState === 'candidate' && hs.currentTerm === 0;
    const follower = new Follower(this, campaignAtOnce ? 0 : undefined);
    // Thesis §4.2.3 at start-up: a node restarting with a term may have
    // acknowledged a leader just before it stopped, so it keeps refusing
    // higher-term votes for the minimum election timeout. A node at term 0
    // has never seen any term, so never a leader: it has no lease to keep.
    follower.justStarted = hs.currentTerm > 0;
    this.state = follower;
  }

  // ---- Figure 2 persistent state, read by the states ----------------------

  get currentTerm(): number {
    return this.term;
  }

  get votedFor(): NodeId | null {
    return this.vote;
  }

  /** Votes or acknowledgements needed: a majority of the whole cluster. */
  quorum(): number {
    return Math.floor((this.peers.length + 1) / 2) + 1;
  }

  isPeer(id: NodeId): boolean {
    return this.peers.includes(id);
  }

  // ---- Events in ------------------------------------------------------------

  /** One unit of time passes (the only way time enters the core). */
  tick(): void {
    this.state = this.state.onTick(this);
  }

  /** simpleRaft's on_message: a message arrived from the network. */
  step(message: Message): void {
    if (message.receiver !== null && message.receiver !== this.name) {
      this.emit({ kind: 'drop', reason: `addressed to ${message.receiver}` });
      return;
    }
    if (!this.isPeer(message.sender)) {
      this.emit({ kind: 'drop', reason: `sender ${message.sender} is not a member` });
      return;
    }
    this.state = this.state.onMessage(this, message);
  }

  /** A client command (simpleRaft's on_client_command). */
  propose(value: unknown): ProposeResult {
    return this.state.onClientCommand(this, value);
  }

  /**
   * Ask for a linearizable read index (thesis §6.4). When it is known, a
   * ReadState {context, index} appears in a Ready: the read may be served once
   * the state machine has applied `index`.
   */
  readIndex(context: string): ReadResult {
    return this.state.onReadIndex(this, context, null);
  }

  /** A read index is known (called by the states). */
  addReadState(context: string, index: number): void {
    this.readStates.push({ context, index });
  }

  // ---- Transitions: the only places the role changes -----------------------

  /** §5.1: adopt a newer term (clearing the vote) or stay, and follow. */
  becomeFollower(term: number, leader: NodeId | null, reason: string): Follower {
    this.setTerm(term, reason);
    this.setLeader(leader);
    const wasFollower = this.state instanceof Follower;
    const next = new Follower(this);
    if (!wasFollower) this.emit({ kind: 'role', role: 'follower', term: this.term, reason });
    return next;
  }

  /** §5.2: increment currentTerm, vote for self, and ask every peer for a vote. */
  becomeCandidate(reason: string): State {
    if (this.term >= MAX_RAFT_NUMBER) {
      // §5.1 needs a newer term for every election, and terms are bounded
      // (messages/bounds.ts): at the bound there is none. We refuse to campaign
      // rather than overflow into a term no peer would accept or we could read
      // back, and stay a follower: a leader of this term may still exist. Only
      // a forged or buggy message can bring a node here (docs/wire-format.md §5).
      this.emit({ kind: 'term-exhausted', term: this.term });
      return this.becomeFollower(this.term, null, 'cannot campaign: no term left');
    }
    this.setTerm(this.term + 1, `starting an election: ${reason}`);
    this.vote = this.name;
    this.setLeader(null);
    this.emit({ kind: 'role', role: 'candidate', term: this.term, reason });
    const candidate = new Candidate(this);
    // A cluster of one elects itself at once.
    return candidate.votes.size >= this.quorum() ? this.becomeLeader() : candidate;
  }

  /** §5.2: a candidate with votes from a majority becomes leader. */
  becomeLeader(): Leader {
    this.setLeader(this.name);
    this.emit({ kind: 'role', role: 'leader', term: this.term, reason: 'won the election' });
    return new Leader(this);
  }

  /** §5.2, §5.4.1: record a vote; the Ready persists it before the reply goes out. */
  grantVote(candidate: NodeId): void {
    this.vote = candidate;
  }

  private setTerm(term: number, reason: string): void {
    if (term > this.term) {
      this.term = term;
      this.vote = null; // a new term, a new vote
      this.emit({ kind: 'term', term, reason });
    }
  }

  setLeader(leader: NodeId | null): void {
    if (leader !== this.leaderId) {
      this.leaderId = leader;
      if (leader !== null) this.emit({ kind: 'leader', term: this.term, leader });
    }
  }

  randomElectionTimeout(): number {
    return this.config.rng.int(this.config.electionTicks, 2 * this.config.electionTicks);
  }

  // ---- Effects out ----------------------------------------------------------

  send(message: Outgoing): void {
    this.outbox.push({ ...message, sender: this.name, timestamp: 0 } as Message);
  }

  emit(event: RaftEvent): void {
    this.config.onEvent?.(event);
  }

  softState(): SoftState {
    return { role: this.state.role, term: this.term, leader: this.leaderId };
  }

  hardState(): HardState {
    return { currentTerm: this.term, votedFor: this.vote, commitIndex: this.log.committed };
  }

  hasReady(): boolean {
    this.state.beforeReady(this);
    return (
      this.outbox.length > 0 ||
      this.readStates.length > 0 ||
      this.log.pendingSnapshot() !== null ||
      this.log.hasUnstable() ||
      this.log.hasNextCommittedEntries() ||
      !sameHardState(this.hardState(), this.persistedHardState)
    );
  }

  /** Take the pending batch of work; hand it back through advance() once done. */
  ready(): Ready {
    this.state.beforeReady(this);
    if (this.log.committed > this.lastReportedCommit) {
      this.lastReportedCommit = this.log.committed;
      this.emit({ kind: 'commit', term: this.term, commitIndex: this.log.committed });
    }
    const hs = this.hardState();
    const rd: Ready = {
      softState: this.softState(),
      hardState: sameHardState(hs, this.persistedHardState) ? null : hs,
      entries: this.log.unstable(),
      messages: this.outbox,
      committedEntries: this.log.nextCommittedEntries(this.maxCommittedEntriesPerReady),
      readStates: this.readStates,
      snapshot: this.log.pendingSnapshot(),
    };
    this.outbox = [];
    this.readStates = [];
    return rd;
  }

  /** The driver persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    // §7: the snapshot was saved and the state machine reset from it.
    if (rd.snapshot) this.log.snapshotApplied(rd.snapshot.index);
    if (rd.hardState) this.persistedHardState = rd.hardState;
    const last = rd.entries[rd.entries.length - 1];
    if (last) this.log.stableTo(last.index, last.term);
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied) this.log.appliedTo(applied.index);
    // The leader counts itself toward a majority only for what is now stable.
    this.state.onPersisted(this);
  }

  /**
   * Log compaction (§7): the driver's state machine, having applied entries
   * up to `index`, serialized itself as `data`; save it as a snapshot and
   * discard the log prefix it covers. Call between advance() and the next
   * ready(), with index <= log.applied (usually exactly log.applied). The
   * write goes to the storage the driver gave us; the core decides only
   * whether it is allowed. Returns the snapshot, or null if `index` is
   * already covered by one.
   */
  compact(index: number, data: Uint8Array): Snapshot | null {
    if (index <= this.log.firstIndex() - 1) return null;
    return this.log.compact(index, data);
  }

  /** A snapshot of the node's state for status pages and tests. */
  status(): {
    name: NodeId;
    role: string;
    term: number;
    leader: NodeId | null;
    commitIndex: number;
    lastApplied: number;
    lastLogIndex: number;
    progress?: Record<string, { matchIndex: number; nextIndex: number }>;
  } {
    return {
      name: this.name,
      role: this.state.role,
      term: this.term,
      leader: this.leaderId,
      commitIndex: this.log.committed,
      lastApplied: this.log.applied,
      lastLogIndex: this.log.lastIndex(),
      progress: this.state instanceof Leader ? this.state.progressReport() : undefined,
    };
  }
}

