// LeaseSim: client key leases in the seeded simulator, with simulated time.
//
// Each node of a SimCluster runs a KvStore with a Lessor (beside the
// ListStateMachine the Raft checker reads), and the same LeaseKeeper the real
// node runs (src/kv/lease-keeper.ts), driven by the simulated clock: after
// every simulated step each live node's keeper observes its Raft state
// (promote once an entry of its term is applied, demote at once otherwise)
// and runs its expiry task, which proposes revokes through the log.
//
// Clients grant leases, attach keys, send keep-alives (to any node: a
// follower forwards to its leader over the simulated network, as the HTTP API
// does), pause, resume and revoke. The LeaseChecker watches every applied
// entry and every acknowledged keep-alive:
//   Lease safety: a lease is never revoked by expiry before TTL has passed
//     since its grant was sent or since any keep-alive that was acknowledged
//     was sent (the client's clock starts when it sends).
//   Lease agreement: every replica revokes a lease at the same log index, and
//     replicas that applied the same index hold the same store and leases.
// One simulated tick is `msPerTick` ms (100 by default: the default election
// timeout of 10 ticks is 1 s, and the minimum TTL 2 s, as etcd's defaults).

import { createHash } from 'node:crypto';
import { NodeId } from '../messages';
import { LogEntry } from '../log/types';
import { KvCommandJson, KvResult, KvStore, LeaseBugs, LeaseKeeper, LeaseRevokeJson, Lessor, RaftView, minLeaseTtlSeconds } from '../kv';
import { SeededRng } from '../time/rng';
import { SafetyViolation } from './checker';
import { SimCluster, SimOptions } from './cluster';
import { ListStateMachine, SimStateMachine } from './state-machine';

/** What the simulated clients and expiry tasks put in the log: a tag and a KV command. */
export interface Envelope {
  /** 'c:N' for a client command, 'x:NODE:TERM:N' for an expiry task's revoke. */
  tag: string;
  command: KvCommandJson;
}

/** A node's state machine: the list the Raft checker reads, and the store with its Lessor. */
export class LeaseNodeMachine implements SimStateMachine {
  readonly list = new ListStateMachine();
  readonly lessor: Lessor;
  readonly kv: KvStore;

  constructor(
    readonly name: NodeId,
    retryMs: number,
    private readonly onResult: (name: NodeId, entry: LogEntry, env: Envelope | null, result: KvResult | null) => void,
  ) {
    this.lessor = new Lessor({ retryMs });
    this.kv = new KvStore({ leases: this.lessor });
  }

  get values(): string[] {
    return this.list.values;
  }

  apply(entry: LogEntry): unknown {
    this.list.apply(entry);
    const env = entry.value as Envelope | null;
    const result = this.kv.apply({ index: entry.index, term: entry.term, value: env === null ? null : env.command });
    this.onResult(this.name, entry, env, result);
    return result;
  }

  snapshot(): Uint8Array {
    const b64 = (x: Uint8Array) => Buffer.from(x).toString('base64');
    return Buffer.from(JSON.stringify({ list: b64(this.list.snapshot()), kv: b64(this.kv.snapshot()) }), 'utf8');
  }

  restore(data: Uint8Array): void {
    const o = JSON.parse(Buffer.from(data).toString('utf8')) as { list: string; kv: string };
    this.list.restore(Buffer.from(o.list, 'base64'));
    this.kv.restore(Buffer.from(o.kv, 'base64'));
  }

  /** The whole replicated state (store, dedup table, leases) as a short digest. */
  digest(): string {
    return createHash('sha1').update(this.kv.snapshot()).update(this.lessor.digest()).digest('hex');
  }
}

// ---- The checker -----------------------------------------------------------------------

interface Revocation {
  index: number;
  at: number;
  tag: string;
  expiry: boolean;
}

/** Lease safety and agreement (see the header). Throws SafetyViolation. */
export class LeaseChecker {
  private readonly ttl = new Map<bigint, number>();
  /** Earliest time (ms) an expiry may revoke the lease, and why. */
  private readonly bound = new Map<bigint, { at: number; why: string }>();
  private readonly revoked = new Map<bigint, Revocation>();
  /** Digest of the replicated state after each index, as the first node to apply it saw it. */
  private readonly digests = new Map<number, { node: NodeId; digest: string }>();
  /** Expiry-task revokes that were applied (committed), by tag. */
  readonly appliedExpiryTags = new Set<string>();
  expiryRevokes = 0;
  clientRevokes = 0;
  keepAlivesAcked = 0;

  onGrantSent(id: bigint, ttl: number, sentAt: number): void {
    if (!this.ttl.has(id)) this.ttl.set(id, ttl);
    this.raise(id, sentAt + ttl * 1000, `grant sent at ${sentAt} ms with TTL ${ttl} s`);
  }

  /** A keep-alive the client sent at `sentAt` was acknowledged (renewed) at `now`. */
  onKeepAliveAcked(id: bigint, sentAt: number, now: number, by: NodeId): void {
    this.keepAlivesAcked++;
    const ttl = this.ttl.get(id);
    if (ttl === undefined) return;
    this.raise(id, sentAt + ttl * 1000, `keep-alive sent at ${sentAt} ms, acknowledged by ${by} at ${now} ms`);
  }

  private raise(id: bigint, at: number, why: string): void {
    const b = this.bound.get(id);
    if (!b || at > b.at) this.bound.set(id, { at, why });
    this.check(id);
  }

  private check(id: bigint): void {
    const r = this.revoked.get(id);
    const b = this.bound.get(id);
    if (!r || !r.expiry || !b) return;
    if (r.at < b.at) {
      throw new SafetyViolation(
        'Lease safety',
        `lease ${id} was revoked by expiry (${r.tag}, index ${r.index}) at ${r.at} ms, before ${b.at} ms: TTL after the ${b.why}`,
      );
    }
  }

  onApplied(node: NodeId, entry: LogEntry, env: Envelope | null, result: KvResult | null, digest: string, now: number): void {
    const first = this.digests.get(entry.index);
    if (!first) this.digests.set(entry.index, { node, digest });
    else if (first.digest !== digest) {
      throw new SafetyViolation('Lease agreement', `${node} and ${first.node} hold different stores or leases after index ${entry.index}`);
    }
    if (env === null || env.command.op !== 'leaseRevoke' || result === null || result.kind !== 'leaseRevoke') return;
    const id = BigInt(env.command.id);
    const seen = this.revoked.get(id);
    if (seen) {
      if (seen.index !== entry.index) {
        throw new SafetyViolation('Lease agreement', `lease ${id} revoked at index ${seen.index} on one node and ${entry.index} on ${node}`);
      }
      return;
    }
    const expiry = env.tag.startsWith('x:');
    this.revoked.set(id, { index: entry.index, at: now, tag: env.tag, expiry });
    if (expiry) {
      this.expiryRevokes++;
      this.appliedExpiryTags.add(env.tag);
    } else this.clientRevokes++;
    this.check(id);
  }

  revocation(id: bigint): Revocation | undefined {
    return this.revoked.get(id);
  }
}

// ---- The simulator -----------------------------------------------------------------------

export interface LeaseSimOptions extends Omit<SimOptions, 'stateMachine'> {
  /** Simulated milliseconds per tick (default 100). */
  msPerTick?: number;
  /** Added to every lease at promotion (default one election timeout, as the node). */
  extendMs?: number;
  /** The classic lease bugs to switch back on (tests only). */
  leaseBugs?: Partial<LeaseBugs>;
  /** Retry interval of the Lessor's expiry (default 1000 ms). */
  retryMs?: number;
}

/** A client command in flight: done once applied on the node it was sent to. */
export interface Op {
  tag: string;
  node: NodeId;
  sentAt: number;
  done: boolean;
  result: KvResult | null;
  /** Why it failed before reaching the log, if it did. */
  failed?: string;
}

export type KeepAliveOutcome = 'renewed' | 'not-found' | 'dropped';

/** A keep-alive in flight from a client. */
export interface KeepAlive {
  n: number;
  lease: bigint;
  sentAt: number;
  /** The node that has it now (the leader once forwarded). */
  at: NodeId;
  arriveAt: number;
  hops: number;
  stage: 'travel' | 'wait-primary' | 'confirm';
  receivedAt?: number;
  epoch?: number;
  context?: string;
  outcome?: KeepAliveOutcome;
  ttl?: number;
  /** Who acknowledged it. */
  by?: NodeId;
}

interface NodeLeases {
  machine: LeaseNodeMachine;
  keeper: LeaseKeeper;
  expirySeq: number;
}

export class LeaseSim {
  readonly cluster: SimCluster;
  readonly checker = new LeaseChecker();
  readonly msPerTick: number;
  readonly extendMs: number;
  readonly minTtl: number;
  private readonly leaseBugs: Partial<LeaseBugs>;
  private readonly nodes = new Map<NodeId, NodeLeases>();
  private readonly ops = new Map<string, Op>();
  private opSeq = 0;
  private kaSeq = 0;
  readonly keepAlives: KeepAlive[] = [];
  /** Tags of every revoke an expiry task proposed, with the term and node that proposed it. */
  readonly expiryProposals: { tag: string; node: NodeId; term: number; at: number; lease: bigint }[] = [];
  /** Called when a keep-alive is answered (tests and the runner's clients). */
  onKeepAlive: ((ka: KeepAlive) => void) | null = null;
  /** Called whenever an expiry task proposes a revoke (the runner crashes leaders right after, sometimes). */
  onExpiryProposal: ((node: NodeId, lease: bigint) => void) | null = null;

  constructor(options: LeaseSimOptions) {
    this.msPerTick = options.msPerTick ?? 100;
    this.leaseBugs = options.leaseBugs ?? {};
    // Known before the cluster starts its nodes (and builds their keepers).
    const electionMs = (options.electionTicks ?? 10) * this.msPerTick;
    this.extendMs = options.extendMs ?? electionMs;
    this.minTtl = minLeaseTtlSeconds(electionMs);
    const retryMs = options.retryMs ?? 1000;
    this.cluster = new SimCluster({
      ...options,
      stateMachine: (name) => {
        // A fresh incarnation: a new store, Lessor and keeper (a crash lost the old ones).
        const machine = new LeaseNodeMachine(name, retryMs, (n, e, env, r) => this.onResult(n, e, env, r));
        const state: NodeLeases = {
          machine,
          keeper: new LeaseKeeper(machine.lessor, {
            extendMs: this.extendMs,
            propose: (cmd) => this.proposeExpiry(name, state, cmd),
            bugs: this.leaseBugs,
          }),
          expirySeq: 0,
        };
        this.nodes.set(name, state);
        return machine;
      },
    });
  }

  get nowMs(): number {
    return this.cluster.now * this.msPerTick;
  }

  machine(name: NodeId): LeaseNodeMachine {
    return this.nodes.get(name)!.machine;
  }

  kv(name: NodeId): KvStore {
    return this.machine(name).kv;
  }

  lessor(name: NodeId): Lessor {
    return this.machine(name).lessor;
  }

  keeper(name: NodeId): LeaseKeeper {
    return this.nodes.get(name)!.keeper;
  }

  leader(): NodeId | null {
    return this.cluster.leader();
  }

  raftView(name: NodeId): RaftView {
    const s = this.cluster.server(name);
    const applied = s.log.applied;
    return { role: s.state.role, term: s.currentTerm, appliedTerm: applied > 0 ? (s.log.term(applied) ?? 0) : 0 };
  }

  // ---- Clients -----------------------------------------------------------------------------

  private send(node: NodeId, command: KvCommandJson): Op {
    const tag = `c:${++this.opSeq}`;
    const op: Op = { tag, node, sentAt: this.nowMs, done: false, result: null };
    if (!this.cluster.isUp(node)) {
      op.done = true;
      op.failed = 'node down';
      return op;
    }
    const r = this.cluster.propose(node, { tag, command } satisfies Envelope);
    if (r.kind === 'not-leader') {
      op.done = true;
      op.failed = 'no leader';
      return op;
    }
    this.ops.set(tag, op);
    return op;
  }

  /** Grant a lease (the TTL is raised to the minimum, as the API does). */
  grant(node: NodeId, ttl: number, id: bigint): Op {
    const t = Math.max(this.minTtl, ttl);
    this.checker.onGrantSent(id, t, this.nowMs);
    return this.send(node, { op: 'leaseGrant', id: id.toString(), ttl: t });
  }

  put(node: NodeId, key: string, value: string, lease: bigint = 0n): Op {
    const cmd: KvCommandJson = { op: 'put', key: Buffer.from(key).toString('base64') };
    if (value) cmd.value = Buffer.from(value).toString('base64');
    if (lease !== 0n) cmd.lease = lease.toString();
    return this.send(node, cmd);
  }

  /** Compact the key history at `revision` (a log command, as auto-compaction proposes it). */
  compact(node: NodeId, revision: number): Op {
    return this.send(node, { op: 'compaction', revision });
  }

  revoke(node: NodeId, id: bigint): Op {
    return this.send(node, { op: 'leaseRevoke', id: id.toString() });
  }

  /** Send a keep-alive to `node`; it travels one tick, and a follower forwards it to its leader. */
  keepAlive(node: NodeId, lease: bigint): KeepAlive {
    const ka: KeepAlive = { n: ++this.kaSeq, lease, sentAt: this.nowMs, at: node, arriveAt: this.cluster.now + 1, hops: 0, stage: 'travel' };
    this.keepAlives.push(ka);
    return ka;
  }

  // ---- Time ---------------------------------------------------------------------------------

  /** One simulated step, then every node's lease work. */
  step(): void {
    this.cluster.step();
    this.leasePhase();
  }

  advance(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.step();
  }

  /** Step until `cond` holds; false if it did not within `maxTicks`. */
  runUntil(cond: () => boolean, maxTicks: number): boolean {
    for (let i = 0; i < maxTicks; i++) {
      if (cond()) return true;
      this.step();
    }
    return cond();
  }

  /** The expiry task and keep-alives on every live node, at the current simulated time. */
  private leasePhase(): void {
    const now = this.nowMs;
    for (const name of this.cluster.upNodes()) {
      if (!this.cluster.isPaused(name)) this.nodes.get(name)!.keeper.check(this.raftView(name), now);
    }
    for (const ka of [...this.keepAlives]) this.advanceKeepAlive(ka, false);
    // Client commands that will never be applied where they were sent.
    for (const [tag, op] of this.ops) {
      if (!this.cluster.isUp(op.node) || now - op.sentAt > 40 * this.cluster.electionTicks * this.msPerTick) {
        op.done = true;
        op.failed = op.failed ?? 'not applied in time (or node crashed)';
        this.ops.delete(tag);
      }
    }
  }

  private finish(ka: KeepAlive, outcome: KeepAliveOutcome): void {
    ka.outcome = outcome;
    this.keepAlives.splice(this.keepAlives.indexOf(ka), 1);
    this.onKeepAlive?.(ka);
  }

  /**
   * Move a keep-alive along: travel (and a follower's forward), then on the
   * leader wait to be primary, confirm leadership, renew. A paused node holds
   * what reached it and handles it when it resumes. A node gives up on a
   * request after a few election timeouts (the API's request timeout).
   */
  private advanceKeepAlive(ka: KeepAlive, resuming: boolean): void {
    const c = this.cluster;
    if (!c.isUp(ka.at)) return this.finish(ka, 'dropped');
    if (c.isPaused(ka.at) && (ka.stage !== 'travel' || c.now >= ka.arriveAt)) return;
    if (!resuming && this.nowMs - (ka.receivedAt ?? ka.sentAt) > 4 * c.electionTicks * this.msPerTick) return this.finish(ka, 'dropped');
    const server = c.server(ka.at);
    const leases = this.nodes.get(ka.at)!;
    switch (ka.stage) {
      case 'travel': {
        if (c.now < ka.arriveAt) return;
        if (server.state.role !== 'leader') {
          // A follower forwards to the leader it knows, once (the API never forwards twice).
          const leader = server.leaderId;
          if (ka.hops > 0 || leader === null || leader === ka.at || c.network.isCut(ka.at, leader)) return this.finish(ka, 'dropped');
          ka.at = leader;
          ka.hops++;
          ka.arriveAt = c.now + 1;
          return;
        }
        ka.receivedAt = this.nowMs;
        ka.stage = 'wait-primary';
        return this.advanceKeepAlive(ka, resuming);
      }
      case 'wait-primary': {
        leases.keeper.observe(this.raftView(ka.at), this.nowMs);
        if (server.state.role !== 'leader') return this.finish(ka, 'dropped');
        if (!leases.keeper.primary) return; // wait for an entry of our term
        ka.epoch = leases.keeper.epoch;
        if (!leases.keeper.confirmsLeadership) return this.renew(ka, leases);
        // Thesis §6.4: confirm we still lead (a ReadIndex round) before acknowledging.
        ka.context = `ka${ka.n}`;
        if (c.read(ka.at, ka.context).kind !== 'pending') return this.finish(ka, 'dropped');
        ka.stage = 'confirm';
        return;
      }
      case 'confirm': {
        const index = c.readsServed.get(ka.context!);
        if (index === undefined || server.log.applied < index) return;
        return this.renew(ka, leases);
      }
    }
  }

  /** Pause a node's process (see SimCluster.pausePeer). */
  pause(name: NodeId): void {
    this.cluster.pausePeer(name);
  }

  /**
   * Resume a paused node. Its process picks up where it stopped: its timers
   * fire (the expiry task runs on deadlines that passed meanwhile) and it
   * handles the client requests that waited for it, before the Raft messages
   * that arrived meanwhile (delivered at the next step) tell it of a newer
   * term: the window in which a stalled leader does harm (etcd-io/etcd#15247).
   */
  resume(name: NodeId): void {
    if (!this.cluster.isPaused(name)) return;
    this.cluster.resumePeer(name);
    this.nodes.get(name)!.keeper.check(this.raftView(name), this.nowMs);
    for (const ka of [...this.keepAlives]) if (ka.at === name) this.advanceKeepAlive(ka, true);
  }

  private renew(ka: KeepAlive, leases: NodeLeases): void {
    leases.keeper.observe(this.raftView(ka.at), this.nowMs);
    if (leases.keeper.epoch !== ka.epoch || !leases.keeper.primary) return this.finish(ka, 'dropped');
    const r = leases.keeper.lessor.renew(ka.lease, ka.receivedAt!, this.nowMs);
    if (r.kind === 'renewed') {
      ka.ttl = r.ttl;
      ka.by = ka.at;
      this.checker.onKeepAliveAcked(ka.lease, ka.sentAt, this.nowMs, ka.at);
      return this.finish(ka, 'renewed');
    }
    // 'expired' is answered as not found (etcd's Renew waits for the revoke; the client's view is the same).
    return this.finish(ka, r.kind === 'not-primary' ? 'dropped' : 'not-found');
  }

  private proposeExpiry(name: NodeId, state: NodeLeases, cmd: LeaseRevokeJson): void {
    if (!this.cluster.isUp(name)) return;
    const term = this.cluster.server(name).currentTerm;
    const tag = `x:${name}:${term}:${++state.expirySeq}`;
    this.expiryProposals.push({ tag, node: name, term, at: this.nowMs, lease: BigInt(cmd.id) });
    this.cluster.propose(name, { tag, command: cmd } satisfies Envelope);
    this.onExpiryProposal?.(name, BigInt(cmd.id));
  }

  private onResult(name: NodeId, entry: LogEntry, env: Envelope | null, result: KvResult | null): void {
    const machine = this.nodes.get(name)?.machine;
    if (!machine) return;
    this.checker.onApplied(name, entry, env, result, machine.digest(), this.nowMs);
    if (env === null) return;
    const op = this.ops.get(env.tag);
    if (op && op.node === name) {
      op.done = true;
      op.result = result;
      this.ops.delete(env.tag);
    }
  }

  /** Every live node that has applied exactly `index` holds the same state. */
  converged(): boolean {
    const up = this.cluster.upNodes();
    if (up.length === 0) return false;
    const applied = up.map((n) => this.cluster.server(n).log.applied);
    if (!applied.every((a) => a === applied[0])) return false;
    const commit = Math.max(...up.map((n) => this.cluster.server(n).log.committed));
    if (applied[0] < commit) return false;
    const digests = up.map((n) => this.machine(n).digest());
    return digests.every((d) => d === digests[0]);
  }
}

// ---- Seeded random runs -----------------------------------------------------------------

export interface LeaseRunOptions {
  seed: number;
  nodes?: number;
  steps?: number;
  leaseBugs?: Partial<LeaseBugs>;
  /** Override the promotion extension (default one election timeout). */
  extendMs?: number;
}

export interface LeaseRunResult {
  ok: boolean;
  seed: number;
  failure?: string;
  stats: {
    grants: number;
    keepAlivesAcked: number;
    expiryRevokes: number;
    clientRevokes: number;
    leaderChanges: number;
    snapshotsInstalled: number;
    ticks: number;
  };
}

interface Client {
  n: number;
  state: 'idle' | 'granting' | 'active';
  lease: bigint;
  ttl: number;
  nextKeepAlive: number;
  pausedUntil: number;
  op: Op | null;
  /** The node this client talks to, as an etcd client sticks to one endpoint until it fails. */
  target: NodeId | null;
  /** Keep-alives sent and not answered yet. */
  waiting: KeepAlive[];
  /**
   * Never switches away from a live node (as an etcd client whose keep-alive
   * stream stays open to a stalled server): its keep-alives pile up there.
   */
  sticky: boolean;
}

/**
 * One seeded run: clients grant leases, attach keys, keep them alive through
 * the node they talk to (pausing now and then, which lets leases lapse), and
 * revoke; meanwhile the network drops, delays and partitions, nodes crash,
 * restart and stall (a paused process), and a leader that just proposed an
 * expiry revoke sometimes crashes at once. The checkers run throughout; at
 * the end the faults stop and every node must converge to the same store and
 * leases.
 */
export function runLeaseSeed(o: LeaseRunOptions): LeaseRunResult {
  const rng = new SeededRng((o.seed * 2246822519) ^ 0x1ea5e);
  const snapshotEvery = [0, 15, 40][rng.int(0, 3)];
  const sim = new LeaseSim({
    nodes: o.nodes ?? 3,
    seed: o.seed,
    snapshotEvery,
    maxSnapshotChunkBytes: [1024, 64 * 1024][rng.int(0, 2)],
    leaseBugs: o.leaseBugs,
    extendMs: o.extendMs,
  });
  const c = sim.cluster;
  const steps = o.steps ?? 2500;
  const clients: Client[] = Array.from({ length: 4 }, (_, n) => ({
    n, state: 'idle', lease: 0n, ttl: 0, nextKeepAlive: 0, pausedUntil: 0, op: null, target: null, waiting: [], sticky: n % 2 === 1,
  }));
  let grants = 0;
  let leaderChanges = 0;
  let lastLeader: NodeId | null = null;
  let crashAfterExpiry = false;
  const resumeAt = new Map<NodeId, number>();
  sim.onExpiryProposal = (node) => {
    if (c.leader() === node && rng.chance(0.2)) crashAfterExpiry = true;
  };
  sim.onKeepAlive = (ka) => {
    const cl = clients.find((x) => x.state === 'active' && x.lease === ka.lease);
    if (cl && ka.outcome === 'not-found') cl.state = 'idle'; // the lease is gone: start over
  };
  const world: World = {
    sim,
    rng,
    randomUp: () => {
      const up = c.upNodes();
      return up.length === 0 ? null : up[rng.int(0, up.length)];
    },
  };

  const stats = () => ({
    grants,
    keepAlivesAcked: sim.checker.keepAlivesAcked,
    expiryRevokes: sim.checker.expiryRevokes,
    clientRevokes: sim.checker.clientRevokes,
    leaderChanges,
    snapshotsInstalled: c.snapshotsInstalled,
    ticks: c.now,
  });

  try {
    c.network.faults = { dropRate: rng.next() * 0.1, duplicateRate: rng.next() * 0.05, minDelay: 1, maxDelay: 1 + rng.int(0, 3) };
    for (let i = 0; i < steps; i++) {
      for (const [n, at] of resumeAt) {
        if (c.now >= at || !c.isUp(n)) {
          resumeAt.delete(n);
          sim.resume(n);
        }
      }
      for (const cl of clients) if (clientStep(world, cl)) grants++;
      injectLeaseFault(c, rng);
      if (crashAfterExpiry) {
        crashAfterExpiry = false;
        const l = c.leader();
        if (l !== null) c.crashPeer(l);
      }
      // A stalled process (a long GC pause, a stuck disk): most often the leader's.
      if (rng.chance(0.003)) {
        const victim = rng.chance(0.7) ? c.leader() : world.randomUp();
        if (victim !== null && !c.isPaused(victim)) {
          sim.pause(victim);
          resumeAt.set(victim, c.now + rng.int(c.electionTicks, 6 * c.electionTicks));
        }
      }
      // The leader's auto-compaction, every 150 steps, keeping the last 3 revisions: history,
      // compaction and snapshots must stay identical on every replica (the digest covers them).
      // It draws nothing from `rng`, so the faults of a seed stay as they were.
      const compactor = c.leader();
      if (i % 150 === 149 && compactor !== null && sim.kv(compactor).revision > 3) sim.compact(compactor, sim.kv(compactor).revision - 3);
      sim.step();
      const l = c.leader();
      if (l !== lastLeader) {
        if (l !== null) leaderChanges++;
        lastLeader = l;
      }
    }
    // The faults stop: everyone up and running, every link healed; the replicas must converge.
    for (const n of [...resumeAt.keys()]) sim.resume(n);
    c.network.heal();
    c.network.faults = { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: 2 };
    for (const n of c.names) c.restartPeer(n);
    if (!sim.runUntil(() => c.leader() !== null, 40 * c.electionTicks)) throw new Error('liveness: no leader after the faults stopped');
    if (!sim.runUntil(() => sim.converged(), 150 * c.electionTicks)) throw new Error('liveness: the replicas did not converge');
    return { ok: true, seed: o.seed, stats: stats() };
  } catch (e) {
    const reason = e instanceof SafetyViolation ? `safety: ${e.message}` : e instanceof Error ? e.message : String(e);
    return { ok: false, seed: o.seed, failure: `${reason} (t=${c.now})`, stats: stats() };
  }
}

interface World {
  sim: LeaseSim;
  rng: SeededRng;
  randomUp: () => NodeId | null;
}

/** One client's move this step; true if it sent a grant. */
function clientStep(w: World, cl: Client): boolean {
  const { sim, rng } = w;
  const c = sim.cluster;
  const now = sim.nowMs;
  // No answer within a second: try another node next time (the request itself may still be handled).
  if (!cl.sticky && cl.waiting.some((ka) => ka.outcome === undefined && now - ka.sentAt >= 1000)) cl.target = null;
  cl.waiting = cl.waiting.filter((ka) => ka.outcome === undefined && now - ka.sentAt < 1000);
  if (cl.target === null || !c.isUp(cl.target)) cl.target = w.randomUp();
  const target = cl.target;
  if (target === null) return false;
  switch (cl.state) {
    case 'idle': {
      if (!rng.chance(0.02)) return false;
      cl.lease = (BigInt(rng.int(1, 2 ** 31)) << 31n) | BigInt(rng.int(0, 2 ** 31));
      cl.ttl = [2, 3, 5][rng.int(0, 3)];
      cl.op = sim.grant(target, cl.ttl, cl.lease);
      cl.state = 'granting';
      return true;
    }
    case 'granting': {
      const op = cl.op!;
      if (!op.done) return false;
      if (op.result?.kind !== 'leaseGrant') {
        cl.state = 'idle';
        cl.target = null;
        return false;
      }
      cl.state = 'active';
      cl.nextKeepAlive = now + (cl.ttl * 1000) / 3;
      cl.pausedUntil = 0;
      const keys = rng.int(1, 4);
      for (let k = 0; k < keys; k++) sim.put(target, `c${cl.n}/${cl.lease}/${k}`, 'v', cl.lease);
      return false;
    }
    case 'active': {
      if (rng.chance(0.001)) {
        sim.revoke(target, cl.lease);
        cl.state = 'idle';
        return false;
      }
      // A client that stalls (a GC pause, a lost connection) stops renewing for a while.
      if (cl.pausedUntil <= now && rng.chance(0.004)) cl.pausedUntil = now + cl.ttl * 1000 * (0.5 + rng.next() * 1.5);
      if (now < cl.pausedUntil || now < cl.nextKeepAlive) return false;
      cl.waiting.push(sim.keepAlive(target, cl.lease));
      cl.nextKeepAlive = now + (cl.ttl * 1000) / 3;
      return false;
    }
  }
}

/** At most one fault per step, as the Raft runner's, tilted towards leader failures. */
function injectLeaseFault(c: SimCluster, rng: SeededRng): void {
  const r = rng.next();
  const up = c.upNodes();
  const down = c.names.filter((n) => !c.isUp(n));
  if (r < 0.003) {
    const side = c.names.filter(() => rng.chance(0.5));
    if (side.length > 0 && side.length < c.names.length) c.network.partition(side);
  } else if (r < 0.005) {
    const a = c.names[rng.int(0, c.names.length)];
    const b = c.names[rng.int(0, c.names.length)];
    if (a !== b) c.network.disconnect(a, b, true);
  } else if (r < 0.013) {
    c.network.heal();
  } else if (r < 0.016 && up.length > 0) {
    c.crashPeer(up[rng.int(0, up.length)]);
  } else if (r < 0.03 && down.length > 0) {
    c.restartPeer(down[rng.int(0, down.length)]);
  } else if (r < 0.033) {
    const leader = c.leader();
    if (leader !== null) c.crashPeer(leader);
  } else if (r < 0.038) {
    // Cut the leader off: it goes on believing it leads for up to an election timeout.
    const leader = c.leader();
    if (leader !== null) c.network.partition([leader]);
  }
}
