// Helpers for the paper tests: build one Server on MemoryStorage with a
// SeededRng, feed it messages and ticks, and read back what it wants done.
//
// The tests follow the "init, test, check" shape of etcd raft's
// raft_paper_test.go: set a node's state directly (through its storage, or by
// driving it through an election), call step()/tick()/propose(), then assert
// on the messages and state it hands out through ready().
//
// drain() plays the driver of design.md: persist each Ready's hard state and
// entries to the node's MemoryStorage, record its committed entries as
// applied, then advance(). Nothing here reads a clock or Math.random.

import { LogEntry } from '../../src/log/types';
import { MemoryStorage } from '../../src/log/storage';
import {
  AppendEntriesMessage,
  ClientCommandMessage,
  Message,
  MessageType,
  NodeId,
  RequestVoteMessage,
  RequestVoteResponseMessage,
  ResponseData,
  ResponseMessage,
  WireEntry,
} from '../../src/messages';
import { Bugs, InitialState, ReadMode } from '../../src/server/config';
import { RaftEvent } from '../../src/server/events';
import { Ready } from '../../src/server/ready';
import { Server } from '../../src/server/server';
import { SeededRng } from '../../src/time/rng';

export const ELECTION_TICKS = 10;
export const HEARTBEAT_TICKS = 3;

/** A log entry given by its term alone (value `v<index>`), or in full. */
export type EntrySpec = number | { term: number; value: unknown };

export interface ServerOptions {
  seed?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Persistent state to start from, as if read back from disk after a restart. */
  term?: number;
  votedFor?: NodeId | null;
  commitIndex?: number;
  /** Log entries from index 1, already on stable storage. */
  log?: EntrySpec[];
  bugs?: Partial<Bugs>;
  maxEntriesPerAppend?: number;
  maxInflight?: number;
  initialState?: InitialState;
  /**
   * Off by default here: these tests check Figure 2 of the paper, and
   * CheckQuorum with its vote-ignoring lease (thesis §4.2.3, §6.2) is an
   * extension on top of it that changes how a follower treats RequestVote.
   */
  checkQuorum?: boolean;
  readMode?: ReadMode;
  leaseDriftTicks?: number;
}

interface TestNode {
  name: NodeId;
  peers: NodeId[];
  opts: ServerOptions;
  storage: MemoryStorage;
  /** Every entry handed to the state machine by drain(), in order, this incarnation. */
  applied: LogEntry[];
  events: RaftEvent[];
  incarnation: number;
}

const nodes = new WeakMap<Server, TestNode>();

function nodeOf(s: Server): TestNode {
  const n = nodes.get(s);
  if (!n) throw new Error(`${s.name} was not built by newServer()`);
  return n;
}

/** The entries of `specs` with their 1-based indices. */
export function entries(specs: EntrySpec[], from = 1): LogEntry[] {
  return specs.map((spec, i) => {
    const index = from + i;
    return typeof spec === 'number' ? { index, term: spec, value: `v${index}` } : { index, term: spec.term, value: spec.value };
  });
}

/** A fresh server (or one restarted from the state in `opts`), as a follower. */
export function newServer(name: NodeId, peers: NodeId[], opts: ServerOptions = {}): Server {
  const storage = new MemoryStorage();
  const log = entries(opts.log ?? []);
  storage.append(log);
  storage.setHardState({
    currentTerm: opts.term ?? (log.length > 0 ? log[log.length - 1].term : 0),
    votedFor: opts.votedFor ?? null,
    commitIndex: opts.commitIndex ?? 0,
  });
  const node: TestNode = { name, peers, opts, storage, applied: [], events: [], incarnation: 0 };
  return start(node);
}

function start(node: TestNode): Server {
  const o = node.opts;
  const server = new Server({
    name: node.name,
    peers: node.peers,
    storage: node.storage,
    rng: new SeededRng((o.seed ?? 1) + 7919 * node.incarnation),
    electionTicks: o.electionTicks ?? ELECTION_TICKS,
    heartbeatTicks: o.heartbeatTicks ?? HEARTBEAT_TICKS,
    maxEntriesPerAppend: o.maxEntriesPerAppend,
    maxInflight: o.maxInflight,
    initialState: o.initialState,
    checkQuorum: o.checkQuorum ?? (o.readMode === 'lease'),
    readMode: o.readMode,
    leaseDriftTicks: o.leaseDriftTicks,
    bugs: o.bugs,
    onEvent: (e) => node.events.push(e),
  });
  nodes.set(server, node);
  return server;
}

/**
 * Crash `s` (everything it did not persist is lost) and start a new Server on
 * the same storage. The state machine starts empty again.
 */
export function restart(s: Server): Server {
  const node = nodeOf(s);
  node.incarnation++;
  node.applied = [];
  return start(node);
}

export function storageOf(s: Server): MemoryStorage {
  return nodeOf(s).storage;
}

/** Entries drain() has applied on this incarnation of the node, in order. */
export function appliedOf(s: Server): LogEntry[] {
  return nodeOf(s).applied;
}

export function eventsOf(s: Server): RaftEvent[] {
  return nodeOf(s).events;
}

/** What a randomized election timeout drawn first from `seed` will be. */
export function firstTimeout(seed: number, electionTicks = ELECTION_TICKS): number {
  return new SeededRng(seed).int(electionTicks, 2 * electionTicks);
}

// ---- The driver -------------------------------------------------------------

/** Step 1 of the driver loop: write a Ready to the node's stable storage. */
export function persist(s: Server, rd: Ready): void {
  const node = nodeOf(s);
  if (rd.hardState) node.storage.setHardState(rd.hardState);
  node.storage.append(rd.entries);
}

/** Persist, "send" (return), apply and advance every Ready the node has. */
export function drainReadies(s: Server): Ready[] {
  const out: Ready[] = [];
  while (s.hasReady()) {
    // A node that never settles is a bug; fail rather than loop forever.
    if (out.length >= 1000) throw new Error(`${s.name} still has a Ready after 1000 rounds`);
    const rd = s.ready();
    persist(s, rd);
    for (const e of rd.committedEntries) nodeOf(s).applied.push(e);
    s.advance(rd);
    out.push(rd);
  }
  return out;
}

/** drainReadies(), returning only the messages to send, in order. */
export function drain(s: Server): Message[] {
  return drainReadies(s).flatMap((rd) => rd.messages);
}

export function tickN(s: Server, n: number): void {
  for (let i = 0; i < n; i++) s.tick();
}

/** Tick until the election timer fires; returns the ticks it took. */
export function ticksUntilCandidate(s: Server, max = 10 * ELECTION_TICKS): number {
  const term = s.currentTerm;
  for (let i = 1; i <= max; i++) {
    s.tick();
    if (s.currentTerm > term) return i;
  }
  throw new Error(`${s.name} did not campaign within ${max} ticks`);
}

/**
 * Drive `s` to leadership in a new term: let its election timer fire, then
 * hand it grants from just enough peers. Returns what the new leader sends.
 */
export function electLeader(s: Server, voters?: NodeId[]): Message[] {
  ticksUntilCandidate(s);
  drain(s);
  const from = voters ?? s.peers.slice(0, s.quorum() - 1);
  for (const peer of from) {
    if (s.state.role === 'leader') break;
    s.step(voteResponse(peer, s.name, s.currentTerm, true));
  }
  if (s.state.role !== 'leader') throw new Error(`${s.name} did not win with votes from ${from.join(',')}`);
  return drain(s);
}

// ---- Reading state ------------------------------------------------------------

/** The terms of the node's log, index 1 first. */
export function logTerms(s: Server): number[] {
  return s.log.slice(1, s.log.lastIndex() + 1).map((e) => e.term);
}

/** The node's log as {term, value} pairs, index 1 first. */
export function logOf(s: Server): WireEntry[] {
  return s.log.slice(1, s.log.lastIndex() + 1).map((e) => ({ term: e.term, value: e.value }));
}

/** The log held in stable storage (what survives a crash), as {term, value}. */
export function storedLog(s: Server): WireEntry[] {
  const st = storageOf(s);
  return st.entries(1, st.lastIndex() + 1).map((e) => ({ term: e.term, value: e.value }));
}

export function ofType<T extends MessageType>(msgs: Message[], type: T): Extract<Message, { type: T }>[] {
  return msgs.filter((m) => m.type === type) as Extract<Message, { type: T }>[];
}

export function appendsTo(msgs: Message[], to: NodeId): AppendEntriesMessage[] {
  return ofType(msgs, MessageType.AppendEntries).filter((m) => m.receiver === to);
}

export function responsesTo(msgs: Message[], to: NodeId): ResponseMessage[] {
  return ofType(msgs, MessageType.Response).filter((m) => m.receiver === to);
}

export function votesTo(msgs: Message[], to: NodeId): RequestVoteResponseMessage[] {
  return ofType(msgs, MessageType.RequestVoteResponse).filter((m) => m.receiver === to);
}

// ---- Message builders (what another node would send) --------------------------

export function appendEntries(
  from: NodeId,
  to: NodeId,
  term: number,
  d: { prevLogIndex: number; prevLogTerm: number; entries?: EntrySpec[]; leaderCommit?: number },
): AppendEntriesMessage {
  return {
    type: MessageType.AppendEntries,
    sender: from,
    receiver: to,
    term,
    timestamp: 0,
    data: {
      leaderId: from,
      prevLogIndex: d.prevLogIndex,
      prevLogTerm: d.prevLogTerm,
      entries: entries(d.entries ?? [], d.prevLogIndex + 1).map((e) => ({ term: e.term, value: e.value })),
      leaderCommit: d.leaderCommit ?? 0,
    },
  };
}

export function requestVote(from: NodeId, to: NodeId | null, term: number, lastLogIndex: number, lastLogTerm: number | null): RequestVoteMessage {
  return { type: MessageType.RequestVote, sender: from, receiver: to, term, timestamp: 0, data: { lastLogIndex, lastLogTerm } };
}

export function voteResponse(from: NodeId, to: NodeId, term: number, granted: boolean): RequestVoteResponseMessage {
  return { type: MessageType.RequestVoteResponse, sender: from, receiver: to, term, timestamp: 0, data: { response: granted } };
}

export function appendResponse(
  from: NodeId,
  to: NodeId,
  term: number,
  success: boolean,
  extra: Omit<ResponseData, 'response' | 'currentTerm'> = {},
): ResponseMessage {
  return {
    type: MessageType.Response,
    sender: from,
    receiver: to,
    term,
    timestamp: 0,
    data: { response: success, currentTerm: term, ...extra },
  };
}

export function clientCommand(from: NodeId, to: NodeId, term: number, value: unknown): ClientCommandMessage {
  return { type: MessageType.ClientCommand, sender: from, receiver: to, term, timestamp: 0, data: { value } };
}

// ---- A hand-driven network ---------------------------------------------------------

/**
 * A few servers and a FIFO queue of messages between them, delivered only when
 * a test says so. Broadcasts (receiver null) become one copy per peer of the
 * sender. Messages to a server that is down, or that `drop` selects, vanish.
 */
export class Net {
  readonly servers = new Map<NodeId, Server>();
  readonly down = new Set<NodeId>();
  queue: Message[] = [];

  constructor(servers: Server[]) {
    for (const s of servers) this.servers.set(s.name, s);
  }

  get(name: NodeId): Server {
    const s = this.servers.get(name);
    if (!s) throw new Error(`no server ${name}`);
    return s;
  }

  /** Drain a server's Ready and queue its messages. */
  flush(name: NodeId): void {
    this.send(drain(this.get(name)));
  }

  send(msgs: Message[]): void {
    for (const m of msgs) {
      if (m.receiver !== null) this.queue.push(m);
      else for (const peer of this.get(m.sender).peers) this.queue.push({ ...m, receiver: peer });
    }
  }

  crash(name: NodeId): void {
    this.down.add(name);
    this.queue = this.queue.filter((m) => m.sender !== name && m.receiver !== name);
  }

  /** Restart a crashed server on its storage; returns the new Server. */
  restart(name: NodeId): Server {
    const s = restart(this.get(name));
    this.servers.set(name, s);
    this.down.delete(name);
    return s;
  }

  tick(name: NodeId, n = 1): void {
    tickN(this.get(name), n);
    this.flush(name);
  }

  /**
   * Deliver queued messages in order, and whatever they cause, until the
   * queue is empty. Returns the messages delivered.
   */
  run(drop: (m: Message) => boolean = () => false, limit = 10_000): Message[] {
    const delivered: Message[] = [];
    while (this.queue.length > 0) {
      if (delivered.length >= limit) throw new Error(`still busy after ${limit} messages`);
      const m = this.queue.shift()!;
      const to = m.receiver!;
      if (this.down.has(to) || this.down.has(m.sender) || drop(m)) continue;
      this.get(to).step(m);
      delivered.push(m);
      this.flush(to);
    }
    return delivered;
  }

  /** Throw away everything in flight. */
  clear(): void {
    this.queue = [];
  }
}
