// RaftNode: the real-time driver around the pure Server. It owns the shell
// pieces the core must not touch -- a timer for ticks, the Transport, the
// Storage and the StateMachine -- and runs design.md's node loop:
//
//   events (tick | message | propose | read) -> Server -> Ready
//   persist(hardState, entries) -> send(messages) -> apply(committed) -> advance
//
// Work that arrives in the same turn of the event loop is handled by one
// Ready: many proposals become one append, one fsync and one AppendEntries.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  EntryTooLargeError,
  LeaderNotReplicatingError,
  LeaseHandle,
  LeaseTimeToLive,
  NotLeaderError,
  NodeHandle,
  NodeStatus,
  TimeoutError,
} from '../api/node-handle';
import { LeaseKeeper, RaftView, minLeaseTtlSeconds } from '../kv/lease-keeper';
import { Lessor } from '../kv/lessor';
import { Message, MessageType, NodeId } from '../messages';
import { Storage } from '../log/storage';
import { LogEntry } from '../log/types';
import { SeededRng } from '../time/rng';
import { Transport } from '../transport/transport';
import { InitialState, ReadMode } from './config';
import { RaftEvent } from './events';
import { Ready } from './ready';
import { Server } from './server';
import { StateMachine } from './state-machine';
import { termJump } from './term-jump';

export interface RaftNodeOptions {
  name: NodeId;
  peers: NodeId[];
  /** Client API address of each member, for "not leader" answers (a Map, or the MemberDirectory). */
  apiAddresses?: { get(name: NodeId): string | undefined };
  storage: Storage;
  transport: Transport;
  stateMachine: StateMachine;
  /** Milliseconds per tick. */
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  initialState?: InitialState;
  /** A proposal or read not answered in this time fails with TimeoutError. */
  requestTimeoutMs?: number;
  onEvent?: (e: RaftEvent) => void;
  /** Sees each Ready as it is taken (the live view's appended and applied entries); must not modify it. */
  onReady?: (rd: Ready) => void;
  /** Seed for the election timer; random by default. */
  seed?: number;
  /** Snapshot the state machine and compact the log every this many applied entries (0: never). */
  snapshotEvery?: number;
  /** Storage failed while running: the node has stopped; the owner should exit non-zero. */
  onFatal?: (e: Error) => void;
  /** Largest client command the transport can carry in one message (bytes of {term, value} JSON). */
  maxEntryBytes?: number;
  checkQuorum?: boolean;
  readMode?: ReadMode;
  /**
   * Client key leases (docs/leases.md): the Lessor the state machine was
   * built with (new KvStore({ leases: lessor })). The node runs its leader-only
   * part: promotion, the expiry task, keep-alive and time-to-live.
   */
  lessor?: Lessor;
  /** Milliseconds, for ticks and lease deadlines; default a monotonic clock (performance.now). */
  clock?: () => number;
  /** How often the leader's expiry task looks for expired leases. Default 100 ms. */
  leaseCheckMs?: number;
  /** Added to every lease deadline when a leader promotes its Lessor. Default one election timeout. */
  leaseExtendMs?: number;
}

/** What the node appends for a client command: the command and who waits for it. */
interface Envelope {
  id: string;
  command: unknown;
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Waits for a condition the node's loop may change (a lease becoming primary, a lease vanishing). */
interface Condition {
  /** Settle the promise and return true, or return false to keep waiting. */
  poll: () => boolean;
  timer: NodeJS.Timeout;
  reject: (e: Error) => void;
}

export class RaftNode implements NodeHandle {
  readonly name: NodeId;
  readonly server: Server;
  /** Client key leases, when the node was given a Lessor. */
  readonly leases?: LeaseHandle;
  /** The leader-only lease choreography (promote, demote, expiry), when leases are on. */
  readonly leaseKeeper: LeaseKeeper | null = null;
  private readonly clock: () => number;
  private leaseTimer: NodeJS.Timeout | null = null;
  private conditions: Condition[] = [];
  private readonly opts: RaftNodeOptions;
  private readonly tickMs: number;
  private readonly requestTimeoutMs: number;
  private readonly electionMs: number;
  private ticker: NodeJS.Timeout | null = null;
  private scheduled = false;
  private stopped = false;
  private seq = 0;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private readonly proposals = new Map<string, Waiter>();
  /** Reads waiting for their index (context -> waiter), then for apply. */
  private readonly reads = new Map<string, Waiter>();
  private readonly readsAt: { index: number; waiter: Waiter }[] = [];

  constructor(opts: RaftNodeOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.tickMs = opts.tickMs ?? 10;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 3000;
    this.electionMs = (opts.electionTicks ?? 100) * this.tickMs;
    this.server = new Server({
      name: opts.name,
      peers: opts.peers,
      storage: opts.storage,
      rng: new SeededRng(opts.seed ?? randomBytes(4).readUInt32LE(0)),
      electionTicks: opts.electionTicks ?? 100,
      heartbeatTicks: opts.heartbeatTicks ?? 10,
      initialState: opts.initialState,
      checkQuorum: opts.checkQuorum,
      readMode: opts.readMode,
      onEvent: opts.onEvent,
    });
    // A restarted node resumes from its latest snapshot (§7), then replays the log after it.
    const snap = opts.storage.snapshot();
    if (snap) opts.stateMachine.restore(snap.data);
    this.lastSnapshotIndex = snap?.index ?? 0;

    this.clock = opts.clock ?? (() => performance.now());
    if (opts.lessor) {
      const electionMs = this.electionMs;
      this.leaseKeeper = new LeaseKeeper(opts.lessor, {
        extendMs: opts.leaseExtendMs ?? electionMs,
        // The expiry task's revoke: the same command as a client's, through the log.
        propose: (command) => void this.propose(command).catch(() => undefined),
      });
      const minTtlSeconds = minLeaseTtlSeconds(electionMs);
      this.leases = {
        minTtlSeconds,
        keepAlive: (id) => this.leaseKeepAlive(id),
        timeToLive: (id) => this.leaseTimeToLive(id),
        list: () => opts.lessor!.ids(),
      };
    }
  }

  private lastSnapshotIndex: number;

  async start(): Promise<void> {
    // The clock is read before the transport starts (a message may arrive
    // while it binds) and again after it: the time spent binding is not an
    // election timeout elapsing.
    this.lastTickAt = this.clock();
    await this.opts.transport.start((m, from) => this.onMessage(m, from));
    this.lastTickAt = this.clock();
    this.ticker = setInterval(() => this.catchUpTicks(), this.tickMs);
    // A restarted node may have work before any event: entries committed
    // before the restart, to apply again (§7: the state machine was rebuilt
    // from the latest snapshot only).
    this.schedule();
    if (this.leaseKeeper) {
      // The expiry task: it runs everywhere but does something only on the
      // primary (the leader, once an entry of its term is applied).
      this.leaseTimer = setInterval(() => {
        this.leaseKeeper!.check(this.raftView(), this.clock());
        this.pollConditions();
      }, this.opts.leaseCheckMs ?? 100);
    }
  }

  /** Stop ticking and receiving, fail everything waiting, close the transport. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.leaseKeeper?.lessor.demote();
    const err = new TimeoutError('request (node shutting down)', this.server.leaderId);
    for (const w of [...this.proposals.values(), ...this.reads.values(), ...this.readsAt.map((r) => r.waiter)]) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    for (const c of this.conditions) {
      clearTimeout(c.timer);
      c.reject(err);
    }
    this.conditions = [];
    this.proposals.clear();
    this.reads.clear();
    this.readsAt.length = 0;
    // Let a write already on its way to the disk finish before the owner closes the storage.
    await this.persisting?.catch(() => undefined);
    await this.opts.transport.close();
  }

  /**
   * Time enters the core as ticks. A timer may fire late or not at all while
   * the event loop is busy (garbage collection, a snapshot): give the core
   * every tick it is owed, so its timeouts -- and the leader lease, which
   * must never outlive real time -- follow the clock, not the timer.
   */
  private catchUpTicks(): void {
    if (this.stopped) return;
    const now = this.clock();
    const owed = Math.min(Math.floor((now - this.lastTickAt) / this.tickMs), 100_000);
    if (owed <= 0) return;
    this.lastTickAt += owed * this.tickMs;
    if (now - this.lastTickAt > this.tickMs) this.lastTickAt = now; // more than the cap was owed
    for (let i = 0; i < owed; i++) this.server.tick();
    this.schedule();
  }

  private lastTickAt = 0;
  /** Messages whose term was TERM_JUMP_WARN_MARGIN or more ahead of ours (term-jump.ts). */
  private termJumps = 0;

  private onMessage(message: Message, from?: string): void {
    if (this.stopped) return;
    // Time first: a message that waited out a stall must meet the timers as
    // they are now. Otherwise a follower acknowledges a heartbeat (resetting
    // its timer) and the owed ticks then expire that fresh timer at once, so
    // it votes 0 ms after the acknowledgement (§4.2.3); and a leader judges
    // a forwarded lease read on a clock that stopped at the stall (§6.4).
    this.catchUpTicks();
    // Legal Raft, but a signal (term-jump.ts): say who and from where, before
    // the term rule adopts it. Non-members are dropped by step() and not counted here.
    const ourTerm = this.server.currentTerm;
    const jump = termJump(message, ourTerm);
    if (jump !== null && this.server.isPeer(message.sender)) {
      this.termJumps++;
      this.opts.onEvent?.({ kind: 'term-jump', term: ourTerm + jump, from: message.sender, ourTerm, address: from ?? null });
    }
    this.server.step(message);
    this.schedule();
  }

  // ---- NodeHandle -------------------------------------------------------------

  propose(command: unknown): Promise<unknown> {
    if (this.stopped) return Promise.reject(new TimeoutError('proposal (node stopped)', null));
    const id = `${this.idPrefix}-${++this.seq}`;
    const envelope: Envelope = { id, command };
    if (this.opts.maxEntryBytes !== undefined) {
      // The term is at most 2^53: measure the entry as it will travel.
      const bytes = Buffer.byteLength(JSON.stringify({ term: Number.MAX_SAFE_INTEGER, value: envelope }));
      if (bytes > this.opts.maxEntryBytes) return Promise.reject(new EntryTooLargeError(bytes, this.opts.maxEntryBytes));
    }
    const result = this.server.propose(envelope);
    if (result.kind === 'not-leader') return Promise.reject(this.notLeader(result.leader));
    this.schedule();
    const waiting = this.wait(this.proposals, id, 'proposal');
    if (result.kind === 'forwarded') this.failIfLeaderSilent(this.proposals, id, result.leader);
    return waiting;
  }

  readBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(new TimeoutError('read (node stopped)', null));
    this.catchUpTicks(); // a leader lease is judged on the clock as of now
    const context = `${this.idPrefix}-r${++this.seq}`;
    const result = this.server.readIndex(context);
    if (result.kind === 'not-leader') return Promise.reject(this.notLeader(result.leader));
    this.schedule();
    const waiting = this.wait(this.reads, context, 'read');
    if (result.kind === 'forwarded') this.failIfLeaderSilent(this.reads, context, result.leader);
    return waiting.then(() => undefined);
  }

  /**
   * A request forwarded to `leader` waits on the leader's entries. A leader's
   * first act is to append a no-op entry of its term and send it (§8), and it
   * serves no read before an entry of its term is committed (thesis §6.4). So
   * if one election timeout after forwarding no entry of the leader's term has
   * reached this log while it still leads, it is not replicating and cannot
   * answer: fail now, saying why, rather than at the request timeout. A
   * simpleRaft leader is one (docs/python-interop.md).
   */
  private failIfLeaderSilent(table: Map<string, Waiter>, key: string, leader: NodeId): void {
    const term = this.server.currentTerm;
    if (this.server.log.lastTerm() >= term) return;
    setTimeout(() => {
      const w = table.get(key);
      const s = this.server;
      if (w === undefined || s.currentTerm !== term || s.leaderId !== leader || s.log.lastTerm() >= term) return;
      table.delete(key);
      clearTimeout(w.timer);
      w.reject(new LeaderNotReplicatingError(leader, term, this.electionMs));
    }, this.electionMs).unref();
  }

  status(): NodeStatus {
    const s = this.server.status();
    return {
      name: s.name,
      role: s.role as NodeStatus['role'],
      term: s.term,
      leader: s.leader,
      commitIndex: s.commitIndex,
      lastApplied: s.lastApplied,
      lastLogIndex: s.lastLogIndex,
      peers: this.opts.peers.map((p) => ({
        name: p,
        matchIndex: s.progress?.[String(p)]?.matchIndex,
        api: this.opts.apiAddresses?.get(p),
      })),
      counters: { termJumps: this.termJumps, transport: this.opts.transport.counters?.() ?? {} },
    };
  }

  private notLeader(leader: NodeId | null): NotLeaderError {
    return new NotLeaderError(leader, leader === null ? null : (this.opts.apiAddresses?.get(leader) ?? null));
  }

  private wait(table: Map<string, Waiter>, key: string, what: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        table.delete(key);
        reject(new TimeoutError(what, this.server.leaderId));
      }, this.requestTimeoutMs);
      table.set(key, { resolve, reject, timer });
    });
  }

  // ---- Client key leases (docs/leases.md) -------------------------------------

  private raftView(): RaftView {
    const applied = this.server.log.applied;
    return { role: this.server.state.role, term: this.server.currentTerm, appliedTerm: applied > 0 ? (this.server.log.term(applied) ?? 0) : 0 };
  }

  /** NotLeaderError naming the leader we know of (never ourselves). */
  private leaseNotLeader(): NotLeaderError {
    const leader = this.server.leaderId;
    return this.notLeader(leader === this.name ? null : leader);
  }

  /**
   * Resolve with poll()'s value once it gives one ({ value }), re-polled after
   * every Ready and expiry check; reject with what poll() throws, or with a
   * TimeoutError after the request timeout.
   */
  private waitUntil<T>(poll: () => { value: T } | undefined, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const c: Condition = {
        poll: () => {
          let r: { value: T } | undefined;
          try {
            r = poll();
          } catch (e) {
            reject(e as Error);
            return true;
          }
          if (r === undefined) return false;
          resolve(r.value);
          return true;
        },
        timer: setTimeout(() => {
          this.conditions = this.conditions.filter((x) => x !== c);
          reject(new TimeoutError(what, this.server.leaderId));
        }, this.requestTimeoutMs),
        reject,
      };
      if (c.poll()) clearTimeout(c.timer);
      else this.conditions.push(c);
    });
  }

  private pollConditions(): void {
    if (this.conditions.length === 0) return;
    this.conditions = this.conditions.filter((c) => {
      if (!c.poll()) return true;
      clearTimeout(c.timer);
      return false;
    });
  }

  /**
   * Wait until this node is the primary lessor (leader with an entry of its
   * term applied), then confirm with a ReadIndex round that it still leads
   * (thesis §6.4; etcd's ensureLeadership). Resolves with the promotion epoch
   * that must still hold when the caller acts. A follower rejects at once with
   * NotLeaderError, so the API forwards to the leader.
   */
  private async leasePrimary(what: string): Promise<number> {
    const keeper = this.leaseKeeper!;
    if (this.stopped) throw new TimeoutError(`${what} (node stopped)`, null);
    await this.waitUntil(() => {
      keeper.observe(this.raftView(), this.clock());
      if (this.server.state.role !== 'leader') throw this.leaseNotLeader();
      return keeper.primary ? { value: true } : undefined;
    }, what);
    const epoch = keeper.epoch;
    if (keeper.confirmsLeadership) await this.readBarrier();
    keeper.observe(this.raftView(), this.clock());
    if (keeper.epoch !== epoch || !keeper.primary) throw this.leaseNotLeader();
    return epoch;
  }

  /**
   * KeepAlive, on the leader only and without a log entry: the lease lives at
   * least TTL from when this request arrived. An expired lease is not renewed;
   * as etcd's Renew we wait until its revoke is applied (then: not found) or
   * we stop being primary (then: not leader; the client tries again there).
   */
  private async leaseKeepAlive(id: bigint): Promise<number | null> {
    const receivedAt = this.clock();
    const keeper = this.leaseKeeper!;
    const epoch = await this.leasePrimary('lease keep-alive');
    const r = keeper.lessor.renew(id, receivedAt, this.clock());
    switch (r.kind) {
      case 'renewed':
        return r.ttl;
      case 'not-found':
        return null;
      case 'not-primary':
        throw this.leaseNotLeader();
      case 'expired':
        return this.waitUntil<null>(() => {
          keeper.observe(this.raftView(), this.clock());
          if (!keeper.lessor.exists(id)) return { value: null };
          if (keeper.epoch !== epoch) throw this.leaseNotLeader();
          return undefined;
        }, 'lease keep-alive');
    }
  }

  /** TimeToLive, on the leader only: remaining TTL (etcd truncates to whole seconds), granted TTL, keys. */
  private async leaseTimeToLive(id: bigint): Promise<LeaseTimeToLive | null> {
    const lessor = this.leaseKeeper!.lessor;
    await this.leasePrimary('lease time-to-live');
    const granted = lessor.ttlOf(id);
    const remaining = lessor.remainingMs(id, this.clock());
    if (granted === undefined || remaining === null) return null;
    return { ttl: Math.floor(remaining / 1000), grantedTtl: granted, keys: lessor.keysOf(id) ?? [] };
  }

  // ---- The node loop ------------------------------------------------------

  /** Handle everything pending once the current turn of the event loop ends. */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.processReady();
    });
  }

  private processReady(): void {
    // One Ready at a time: while its write is on the disk, the core keeps
    // taking messages and proposals, and they all go into the next Ready.
    while (this.persisting === null && !this.stopped && this.server.hasReady()) {
      const rd = this.server.ready();
      this.opts.onReady?.(rd);
      const now = Math.floor(Date.now() / 1000);
      // Thesis §10.2.1: a leader may send AppendEntries before its own write
      // to disk finishes (it counts itself toward a majority only after:
      // Server.advance); everything else waits for the write.
      const early: Message[] = rd.softState.role === 'leader' ? rd.messages.filter((m) => m.type === MessageType.AppendEntries) : [];
      for (const m of early) this.opts.transport.send({ ...m, timestamp: now });
      const storage = this.opts.storage;
      const batch = { hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot };
      const writes = rd.hardState !== null || rd.entries.length > 0 || rd.snapshot !== null;
      if (writes && storage.saveAsync && !rd.snapshot) {
        this.persisting = storage.saveAsync(batch).then(
          () => {
            this.persisting = null;
            if (this.stopped) return;
            try {
              this.finishReady(rd, early, now);
              if (!this.yieldsToApplyMore(rd)) this.processReady();
            } catch (e) {
              this.fail(e);
            }
          },
          (e) => {
            this.persisting = null;
            this.fail(e);
          },
        );
        return;
      }
      try {
        this.persist(rd);
        this.finishReady(rd, early, now);
      } catch (e) {
        this.fail(e);
        return;
      }
      if (this.yieldsToApplyMore(rd)) return;
    }
    if (this.persisting === null && this.leaseKeeper) {
      // Promote once an entry of our term is applied; demote at once on a step-down.
      this.leaseKeeper.observe(this.raftView(), this.clock());
      this.pollConditions();
    }
  }

  /** The write of `rd` is durable: send what depended on it, apply, advance. */
  private finishReady(rd: Ready, early: Message[], now: number): void {
    for (const m of rd.messages) if (!early.includes(m)) this.opts.transport.send({ ...m, timestamp: now });
    for (const e of rd.committedEntries) this.apply(e);
    for (const rs of rd.readStates) this.readIndexKnown(rs.context, rs.index);
    this.server.advance(rd);
    this.releaseReads();
    this.maybeCompact();
  }

  /**
   * A Ready carries a bounded share of the committed entries (Server's
   * maxCommittedEntriesPerReady). When more wait -- a restart with a long
   * log commits all of it at once -- take the next share in a later turn of
   * the event loop, so messages, ticks and clients are served in between.
   */
  private yieldsToApplyMore(rd: Ready): boolean {
    if (rd.committedEntries.length === 0 || !this.server.log.hasNextCommittedEntries()) return false;
    this.schedule();
    return true;
  }

  /** The write in flight, if any. */
  private persisting: Promise<void> | null = null;

  /** Storage failed: nothing more may be promised. Stop, and let the owner exit. */
  private fail(e: unknown): void {
    this.opts.onFatal?.(e instanceof Error ? e : new Error(String(e)));
    void this.stop();
  }

  /**
   * Figure 2: persist before responding (the messages of this Ready), in one
   * sync. A snapshot from the leader also resets the state machine (§7,
   * Figure 13 receiver 8) before any later entry is applied.
   */
  private persist(rd: Ready): void {
    this.opts.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
    if (rd.snapshot) {
      this.opts.stateMachine.restore(rd.snapshot.data);
      this.lastSnapshotIndex = rd.snapshot.index;
    }
  }

  /** §7: snapshot the state machine and drop the log prefix it covers. */
  private maybeCompact(): void {
    const every = this.opts.snapshotEvery ?? 0;
    const applied = this.server.log.applied;
    if (every <= 0 || applied - this.lastSnapshotIndex < every) return;
    // The snapshot is the state machine at `applied`; the log may hold it
    // only once that index is stable (a truncation during the last write can
    // leave it unstable for one more Ready): try again next time.
    if (applied > this.server.log.stableLastIndex()) return;
    if (this.server.compact(applied, this.opts.stateMachine.snapshot())) this.lastSnapshotIndex = applied;
  }

  private apply(entry: LogEntry): void {
    const envelope = entry.value as Envelope | null;
    const command = envelope === null ? null : envelope.command;
    let result: unknown;
    try {
      result = this.opts.stateMachine.apply({ index: entry.index, term: entry.term, value: command });
    } catch (e) {
      // A state machine must not throw on a committed entry: every replica
      // would throw alike, so the entry is skipped everywhere; tell the client.
      result = e;
    }
    if (envelope === null || typeof envelope.id !== 'string') return;
    const w = this.proposals.get(envelope.id);
    if (!w) return;
    this.proposals.delete(envelope.id);
    clearTimeout(w.timer);
    if (result instanceof Error) w.reject(result);
    else w.resolve(result);
  }

  private readIndexKnown(context: string, index: number): void {
    const w = this.reads.get(context);
    if (!w) return;
    this.reads.delete(context);
    this.readsAt.push({ index, waiter: w });
  }

  /** Thesis §6.4 step 4: serve a read once the state machine reached its index. */
  private releaseReads(): void {
    const applied = this.server.log.applied;
    for (let i = this.readsAt.length - 1; i >= 0; i--) {
      const r = this.readsAt[i];
      if (r.index <= applied) {
        this.readsAt.splice(i, 1);
        clearTimeout(r.waiter.timer);
        r.waiter.resolve(undefined);
      }
    }
  }
}
