// SimCluster: N servers on a SimNetwork with a simulated clock and one seed.
// It drives each Server exactly as the real node does (persist the Ready,
// send, apply, advance), with MemoryStorage standing in for the disk: a crash
// throws away the Server and everything unpersisted, a restart builds a new
// Server on the same storage.
//
// The words follow eliben/raft's test harness (crashPeer, restartPeer,
// checkSingleLeader); advance(ticks) replaces its real sleeps.

import { Message, NodeId } from '../messages';
import { MemoryStorage } from '../log/storage';
import { LogEntry } from '../log/types';
import { Bugs } from '../server/config';
import { RaftEvent, describeEvent } from '../server/events';
import { ProposeResult, Server } from '../server/server';
import { SeededRng } from '../time/rng';
import { NodeView, SafetyChecker, SafetyViolation } from './checker';
import { SimNetwork } from './network';

export interface SimOptions {
  nodes: number;
  seed: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  maxEntriesPerAppend?: number;
  maxInflight?: number;
  bugs?: Partial<Bugs>;
  /** Print every protocol event (for `npm start` before the real cluster exists). */
  log?: (line: string) => void;
}

interface SimNode {
  name: NodeId;
  storage: MemoryStorage;
  server: Server | null; // null while crashed
  view: NodeView | null;
  commit: number;
  applied: LogEntry[]; // this incarnation's state machine: everything applied, in order
}

export class SimCluster {
  readonly rng: SeededRng;
  readonly network: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly names: NodeId[];
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly maxEntriesPerAppend: number;
  readonly maxInflight: number;
  now = 0;
  /** Called for every entry any node applies (the runner tracks commands with it). */
  onApplied: ((node: NodeId, entry: LogEntry) => void) | null = null;
  private readonly nodes = new Map<NodeId, SimNode>();

  constructor(private readonly options: SimOptions) {
    this.rng = new SeededRng(options.seed);
    this.names = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.network = new SimNetwork(this.rng.fork(), this.names);
    this.electionTicks = options.electionTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? 3;
    // Small batches and windows on some seeds exercise probing and pipelining.
    this.maxEntriesPerAppend = options.maxEntriesPerAppend ?? [4, 64, 256][this.rng.int(0, 3)];
    this.maxInflight = options.maxInflight ?? [1, 4, 64][this.rng.int(0, 3)];
    for (const name of this.names) {
      const node: SimNode = { name, storage: new MemoryStorage(), server: null, view: null, commit: 0, applied: [] };
      this.nodes.set(name, node);
      this.start(node);
    }
  }

  private start(node: SimNode): void {
    const server = new Server({
      name: node.name,
      peers: this.names.filter((n) => n !== node.name),
      storage: node.storage,
      rng: this.rng.fork(),
      electionTicks: this.electionTicks,
      heartbeatTicks: this.heartbeatTicks,
      maxEntriesPerAppend: this.maxEntriesPerAppend,
      maxInflight: this.maxInflight,
      bugs: this.options.bugs,
      onEvent: this.options.log ? (e: RaftEvent) => this.options.log!(`[t=${this.now}] ${node.name}: ${describeEvent(e)}`) : undefined,
    });
    node.server = server;
    node.commit = server.log.committed;
    node.applied = [];
    node.view = {
      name: node.name,
      soft: () => server.softState(),
      term: (i) => server.log.term(i),
      entry: (i) => server.log.entry(i),
      lastIndex: () => server.log.lastIndex(),
      commitIndex: () => server.log.committed,
    };
    this.checker.track(node.view);
  }

  // ---- Harness verbs ---------------------------------------------------------

  server(name: NodeId): Server {
    const s = this.nodes.get(name)?.server;
    if (!s) throw new Error(`${name} is down`);
    return s;
  }

  isUp(name: NodeId): boolean {
    return this.nodes.get(name)?.server != null;
  }

  upNodes(): NodeId[] {
    return this.names.filter((n) => this.isUp(n));
  }

  /** Lose power: everything not persisted is gone. */
  crashPeer(name: NodeId): void {
    const node = this.nodes.get(name)!;
    node.server = null;
    node.view = null;
  }

  restartPeer(name: NodeId): void {
    const node = this.nodes.get(name)!;
    if (node.server) return;
    this.checker.onRestart(name);
    this.start(node);
  }

  /** Entries this node's state machine has applied since it last started. */
  appliedOn(name: NodeId): LogEntry[] {
    return this.nodes.get(name)!.applied;
  }

  /** Give a command to a node, as a client would. */
  propose(name: NodeId, value: unknown): ProposeResult {
    const result = this.server(name).propose(value);
    this.processReady(this.nodes.get(name)!);
    return result;
  }

  /**
   * Ask a node for a linearizable read (ReadIndex). When its ReadState comes
   * out, the cluster checks the read index covers every entry that any node
   * knew committed when the read was asked (linearizability, thesis §6.4).
   */
  read(name: NodeId, context: string): ReturnType<Server['readIndex']> {
    let known = 0;
    for (const n of this.nodes.values()) if (n.server) known = Math.max(known, n.server.log.committed);
    this.readsAsked.set(context, known);
    const result = this.server(name).readIndex(context);
    this.processReady(this.nodes.get(name)!);
    return result;
  }

  /** Reads answered so far: context -> read index. */
  readonly readsServed = new Map<string, number>();
  private readonly readsAsked = new Map<string, number>();

  /** The leader of the highest term among live nodes, if exactly one claims it. */
  leader(): NodeId | null {
    let best: { name: NodeId; term: number } | null = null;
    for (const name of this.upNodes()) {
      const s = this.server(name).softState();
      if (s.role === 'leader' && (best === null || s.term > best.term)) best = { name, term: s.term };
    }
    return best?.name ?? null;
  }

  /** eliben's checkSingleLeader: exactly one live leader in the highest term. */
  checkSingleLeader(): NodeId {
    const leader = this.leader();
    if (leader === null) throw new Error(`no leader at t=${this.now}`);
    return leader;
  }

  // ---- Time ---------------------------------------------------------------

  /** One step: deliver what is due, tick every live node, check safety. */
  step(): void {
    this.now++;
    for (const { to, message } of this.network.due(this.now)) this.deliver(to, message);
    for (const node of this.nodes.values()) {
      if (!node.server) continue;
      node.server.tick();
      this.processReady(node);
    }
    this.checker.checkStep(this.views());
  }

  advance(ticks: number): void {
    for (let i = 0; i < ticks; i++) this.step();
  }

  /** Step until `cond` holds; false if it did not within `maxTicks`. */
  advanceUntil(cond: () => boolean, maxTicks: number): boolean {
    for (let i = 0; i < maxTicks; i++) {
      if (cond()) return true;
      this.step();
    }
    return cond();
  }

  private deliver(to: NodeId, message: Message): void {
    const node = this.nodes.get(to);
    if (!node?.server) return;
    node.server.step(message);
    this.processReady(node);
    this.checker.checkStep(this.views());
  }

  private views(): NodeView[] {
    const out: NodeView[] = [];
    for (const n of this.nodes.values()) if (n.view) out.push(n.view);
    return out;
  }

  /** The driver loop of design.md: persist, send, apply, advance. */
  private processReady(node: SimNode): void {
    const server = node.server!;
    const view = node.view!;
    while (server.hasReady()) {
      const rd = server.ready();
      this.checker.onPersist(view, rd.entries, rd.hardState, (i) => (i <= node.storage.lastIndex() ? node.storage.term(i) : undefined));
      if (rd.hardState) node.storage.setHardState(rd.hardState);
      node.storage.append(rd.entries);
      if (server.log.committed > node.commit) {
        this.checker.onCommit(view, node.commit, server.log.committed);
        node.commit = server.log.committed;
      }
      for (const rs of rd.readStates) {
        const floor = this.readsAsked.get(rs.context);
        if (floor !== undefined && rs.index < floor) {
          throw new SafetyViolation('Linearizable reads', `read ${rs.context} on ${node.name} got index ${rs.index}, below ${floor} committed before it was asked`);
        }
        this.readsServed.set(rs.context, rs.index);
      }
      for (const m of rd.messages) this.network.send({ ...m, timestamp: Math.floor(this.now / 100) }, this.now);
      this.checker.onApply(view, rd.committedEntries);
      node.applied.push(...rd.committedEntries);
      if (this.onApplied) for (const e of rd.committedEntries) this.onApplied(node.name, e);
      server.advance(rd);
    }
  }
}
