// SimCluster: N servers on a SimNetwork with a simulated clock and one seed.
// It drives each Server exactly as the real node does (persist the Ready,
// send, apply, advance), with MemoryStorage standing in for the disk: a crash
// throws away the Server and everything unpersisted, a restart builds a new
// Server on the same storage. A StorageProvider may put real FileStorage in
// its place, with faults injected at every write (test/sim/crash.test.ts).
//
// Each node runs a ListStateMachine, or what the `stateMachine` option builds
// (src/sim/lease-sim.ts runs a KvStore with a Lessor beside the list, so the
// checks below still see every value). With snapshotEvery set, a node compacts
// its log (§7) once that many entries were applied since its last snapshot,
// so lagging followers catch up through InstallSnapshot.
//
// The words follow eliben/raft's test harness (crashPeer, restartPeer,
// checkSingleLeader); advance(ticks) replaces its real sleeps.

import { Message, MessageType, NodeId } from '../messages';
import { MemoryStorage, Storage } from '../log/storage';
import { LogEntry } from '../log/types';
import { Bugs, ReadMode } from '../server/config';
import { RaftEvent, describeEvent } from '../server/events';
import { Ready } from '../server/ready';
import { ProposeResult, Server } from '../server/server';
import { commandLabel, summarizeMessage, ViewEventBody } from '../ui/events';
import { SeededRng } from '../time/rng';
import { NodeView, SafetyChecker, SafetyViolation } from './checker';
import { ListStateMachine, SimStateMachine } from './state-machine';
import { SimNetwork } from './network';

export interface SimOptions {
  nodes: number;
  seed: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  maxEntriesPerAppend?: number;
  maxInflight?: number;
  readMode?: ReadMode;
  bugs?: Partial<Bugs>;
  /** Print every protocol event (for `npm start` before the real cluster exists). */
  log?: (line: string) => void;
  /** Compact a node's log once this many entries were applied since its last snapshot (§7); 0: never. */
  snapshotEvery?: number;
  maxSnapshotChunkBytes?: number;
  /** Most committed entries per Ready (Server's default 1024 unless given). */
  maxCommittedEntriesPerReady?: number;
  /** Where nodes keep their "disk"; MemoryStorage per node unless given. */
  storage?: StorageProvider;
  /** Builds each incarnation's state machine (a fresh one at every start); ListStateMachine unless given. */
  stateMachine?: (name: NodeId) => SimStateMachine;
  /** Every event of every node as the live view shows it (src/ui/events.ts), for a replayable trace (src/sim/trace.ts). */
  trace?: (node: string, event: ViewEventBody) => void;
}

/** Where simulated nodes keep what survives a crash. */
export interface StorageProvider {
  /** Open (and recover) a node's storage. Throwing a fault leaves the node down for now. */
  open(name: NodeId): Storage;
  /** The node crashed (process death or power loss): what was not durable may be lost. */
  crash(name: NodeId): void;
  /** Is `e` an injected storage fault (the node dies) rather than a bug (the run fails)? */
  isFault(e: unknown): boolean;
  /** No more faults from now on (the runner's liveness phase). */
  heal?(): void;
}

/** The default: one MemoryStorage per node, which a simulated crash leaves intact. */
export class MemoryStorageProvider implements StorageProvider {
  private readonly disks = new Map<NodeId, MemoryStorage>();
  open(name: NodeId): Storage {
    let s = this.disks.get(name);
    if (!s) this.disks.set(name, (s = new MemoryStorage()));
    return s;
  }
  crash(): void {}
  isFault(): boolean {
    return false;
  }
}

interface SimNode {
  name: NodeId;
  storage: Storage | null; // null while crashed
  server: Server | null; // null while crashed
  view: NodeView | null;
  commit: number;
  applied: LogEntry[]; // this incarnation's state machine: everything applied, in order
  sm: SimStateMachine;
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
  readonly snapshotEvery: number;
  readonly storageProvider: StorageProvider;
  /** Snapshots taken (local compaction) and installed (InstallSnapshot), for tests and reports. */
  snapshotsTaken = 0;
  snapshotsInstalled = 0;
  /**
   * AppendEntries answers reaching a leader: rejections, and successes that
   * advanced its matchIndex for the sender. Many rejections per useful
   * answer mean replication keeps falling back to probing.
   */
  appendRejections = 0;
  usefulAppendAcks = 0;
  /** Nodes crashed by an injected storage fault. */
  storageFaults = 0;
  now = 0;
  /** Called for every entry any node applies (the runner tracks commands with it). */
  onApplied: ((node: NodeId, entry: LogEntry) => void) | null = null;
  private readonly nodes = new Map<NodeId, SimNode>();

  constructor(private readonly options: SimOptions) {
    this.rng = new SeededRng(options.seed);
    this.names = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.network = new SimNetwork(this.rng.fork(), this.names);
    if (options.log || options.trace) {
      this.network.onFault = (what) => {
        options.log?.(`[t=${this.now}] network: ${what}`);
        options.trace?.('network', { kind: 'fault', fault: 'network', detail: what });
      };
    }
    this.electionTicks = options.electionTicks ?? 10;
    this.heartbeatTicks = options.heartbeatTicks ?? 3;
    // Small batches and windows on some seeds exercise probing and pipelining.
    this.maxEntriesPerAppend = options.maxEntriesPerAppend ?? [4, 64, 256][this.rng.int(0, 3)];
    this.maxInflight = options.maxInflight ?? [1, 4, 64][this.rng.int(0, 3)];
    this.snapshotEvery = options.snapshotEvery ?? 0;
    this.storageProvider = options.storage ?? new MemoryStorageProvider();
    for (const name of this.names) {
      const node: SimNode = { name, storage: null, server: null, view: null, commit: 0, applied: [], sm: this.newStateMachine(name) };
      this.nodes.set(name, node);
      this.start(node);
    }
  }

  private newStateMachine(name: NodeId): SimStateMachine {
    return this.options.stateMachine ? this.options.stateMachine(name) : new ListStateMachine();
  }

  /** Start a node on what its storage recovered; false if opening the storage failed. */
  private start(node: SimNode): boolean {
    let storage: Storage;
    try {
      storage = this.storageProvider.open(node.name);
    } catch (e) {
      if (!this.storageProvider.isFault(e)) throw e;
      this.storageFaults++;
      this.storageProvider.crash(node.name);
      return false;
    }
    node.storage = storage;
    // §7: "restart = latest snapshot + remaining log": the state machine
    // starts from the snapshot; the entries after it are applied again.
    node.sm = this.newStateMachine(node.name);
    const snap = storage.snapshot();
    if (snap) {
      node.sm.restore(snap.data);
      this.checker.onSnapshotRestore(node.name, snap.index, node.sm.values);
    }
    const server = new Server({
      name: node.name,
      peers: this.names.filter((n) => n !== node.name),
      storage,
      rng: this.rng.fork(),
      electionTicks: this.electionTicks,
      heartbeatTicks: this.heartbeatTicks,
      maxEntriesPerAppend: this.maxEntriesPerAppend,
      maxInflight: this.maxInflight,
      maxSnapshotChunkBytes: this.options.maxSnapshotChunkBytes,
      maxCommittedEntriesPerReady: this.options.maxCommittedEntriesPerReady,
      readMode: this.options.readMode,
      bugs: this.options.bugs,
      onEvent: this.options.log || this.options.trace ? (e: RaftEvent) => this.onServerEvent(node.name, e) : undefined,
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
      firstIndex: () => server.log.firstIndex(),
    };
    this.checker.track(node.view);
    // A commitIndex recovered from disk may never have been reported: the
    // write that saved it can have been durable and still "failed" (a crash
    // right after the fsync). Report it now, so what this node applies next
    // is checked against what was committed.
    if (server.log.committed > server.log.firstIndex() - 1) {
      this.checker.onCommit(node.view, server.log.firstIndex() - 1, server.log.committed);
    }
    return true;
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
    if (node.server) {
      this.storageProvider.crash(name);
      this.say(name, 'crashed', 'what it had not persisted is lost');
    }
    this.paused.delete(name);
    node.server = null;
    node.view = null;
    node.storage = null;
  }

  /**
   * Stop a node's process without killing it (SIGSTOP, a long GC pause, a
   * disk stall): it neither ticks nor handles messages; what arrives waits.
   * It keeps its state and, when resumed, still believes what it believed.
   */
  pausePeer(name: NodeId): void {
    if (this.isUp(name) && !this.paused.has(name)) {
      this.paused.set(name, []);
      this.say(name, 'paused', 'neither ticks nor handles messages');
    }
  }

  /** Let a paused node run again: what arrived meanwhile is delivered at the next step, in order. */
  resumePeer(name: NodeId): void {
    const held = this.paused.get(name);
    if (!held) return;
    this.paused.delete(name);
    this.say(name, 'resumed', `${held.length} messages waiting`);
    for (const message of held) this.heldForDelivery.push({ to: name, message });
  }

  isPaused(name: NodeId): boolean {
    return this.paused.has(name);
  }

  /** Paused nodes and the messages that arrived for them. */
  private readonly paused = new Map<NodeId, Message[]>();
  private heldForDelivery: { to: NodeId; message: Message }[] = [];

  /** Start a crashed node again; false if its storage could not be opened (it stays down). */
  restartPeer(name: NodeId): boolean {
    const node = this.nodes.get(name)!;
    if (node.server) return true;
    this.say(name, 'restarted', 'from what its storage kept');
    this.checker.onRestart(name);
    return this.start(node);
  }

  private onServerEvent(name: NodeId, e: RaftEvent): void {
    this.options.log?.(`[t=${this.now}] ${name}: ${describeEvent(e)}`);
    this.options.trace?.(String(name), e);
  }

  /** A line for `--visible` and a trace event: what happened to a node from outside the protocol. */
  private say(name: NodeId, fault: string, what: string): void {
    this.options.log?.(`[t=${this.now}] ${name}: ${fault} (${what})`);
    this.options.trace?.(String(name), { kind: 'fault', fault, detail: what });
  }

  /** The state machine of a node's current incarnation. */
  stateMachine(name: NodeId): SimStateMachine {
    return this.nodes.get(name)!.sm;
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
    const held = this.heldForDelivery;
    this.heldForDelivery = [];
    for (const { to, message } of held) this.deliver(to, message);
    for (const { to, message } of this.network.due(this.now)) this.deliver(to, message);
    for (const node of this.nodes.values()) {
      if (!node.server || this.paused.has(node.name)) continue;
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
    const held = this.paused.get(to);
    if (held) {
      held.push(message);
      return;
    }
    this.options.trace?.(String(to), { kind: 'receive', message: summarizeMessage(message) });
    const toLeader = message.type === MessageType.Response && message.data.snapshotOffset === undefined && node.server.state.role === 'leader';
    const matchBefore = toLeader ? this.matchIndexOf(node.server, message.sender) : 0;
    node.server.step(message);
    if (toLeader && message.type === MessageType.Response && node.server.state.role === 'leader') {
      if (!message.data.response) this.appendRejections++;
      else if (this.matchIndexOf(node.server, message.sender) > matchBefore) this.usefulAppendAcks++;
    }
    this.processReady(node);
    this.checker.checkStep(this.views());
  }

  private matchIndexOf(server: Server, peer: NodeId): number {
    return server.status().progress?.[String(peer)]?.matchIndex ?? 0;
  }

  private views(): NodeView[] {
    const out: NodeView[] = [];
    for (const n of this.nodes.values()) if (n.view) out.push(n.view);
    return out;
  }

  /**
   * The driver loop of design.md: persist, send, apply, advance; then
   * compact if due. A storage fault kills the node on the spot, as a failed
   * write or fsync must stop a real one: nothing of that Ready is sent.
   */
  private processReady(node: SimNode): void {
    try {
      this.drive(node);
    } catch (e) {
      if (!this.storageProvider.isFault(e)) throw e;
      this.storageFaults++;
      this.crashPeer(node.name);
    }
  }

  /** The trace's view of a Ready: entries appended, messages sent, entries applied. */
  private traceReady(name: NodeId, rd: Ready): void {
    const trace = this.options.trace!;
    const node = String(name);
    if (rd.entries.length > 0) trace(node, { kind: 'append', firstIndex: rd.entries[0].index, terms: rd.entries.map((e) => e.term) });
    for (const m of rd.messages) trace(node, { kind: 'send', message: summarizeMessage({ ...m, sender: name }) });
    for (const e of rd.committedEntries) trace(node, { kind: 'apply', index: e.index, term: e.term, label: commandLabel(e.value) });
  }

  private drive(node: SimNode): void {
    const server = node.server!;
    const view = node.view!;
    const storage = node.storage!;
    while (server.hasReady()) {
      const rd = server.ready();
      if (this.options.trace) this.traceReady(node.name, rd);
      const stored = (i: number) => (i >= storage.firstIndex() && i <= storage.lastIndex() ? storage.term(i) : undefined);
      this.checker.onPersist(view, rd.entries, rd.hardState, stored);
      storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      this.checker.onSaved(view, rd.hardState);
      if (rd.snapshot) {
        // §7, Figure 13 receiver 8: reset the state machine from the snapshot.
        node.sm.restore(rd.snapshot.data);
        this.checker.onSnapshotRestore(node.name, rd.snapshot.index, node.sm.values);
        node.commit = Math.max(node.commit, rd.snapshot.index);
        this.snapshotsInstalled++;
      }
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
      for (const m of rd.messages) {
        if (m.type === MessageType.RequestVoteResponse && m.data.response && m.receiver !== null) {
          this.checker.onVoteGranted(node.name, m.term, m.receiver);
        }
        this.network.send({ ...m, timestamp: Math.floor(this.now / 100) }, this.now);
      }
      this.checker.onApply(view, rd.committedEntries);
      for (const e of rd.committedEntries) {
        node.sm.apply(e);
        node.applied.push(e);
      }
      if (this.onApplied) for (const e of rd.committedEntries) this.onApplied(node.name, e);
      server.advance(rd);
      // §7: "Each server takes snapshots independently, covering just the
      // committed entries in its log", here every snapshotEvery entries.
      const applied = server.log.applied;
      if (this.snapshotEvery > 0 && applied - (server.log.firstIndex() - 1) >= this.snapshotEvery) {
        if (server.compact(applied, node.sm.snapshot())) this.snapshotsTaken++;
      }
    }
  }
}
