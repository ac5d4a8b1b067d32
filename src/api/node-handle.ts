// What the client API needs from a running Raft node. The real node
// (src/server/node.ts) implements it over a Transport and a Storage; tests may
// implement it over the simulator or a MemoryNetwork.

import { NodeId } from '../messages';

/** The leader is unknown, or is another node: the client should go there. */
export class NotLeaderError extends Error {
  constructor(readonly leader: NodeId | null, readonly leaderApi: string | null) {
    super(leader === null ? 'no leader is known' : `not the leader; the leader is ${leader}`);
    this.name = 'NotLeaderError';
  }
}

/** No answer within the bounded time (no quorum, partition, overload). */
export class TimeoutError extends Error {
  constructor(what: string, readonly leader: NodeId | null) {
    super(`${what} timed out`);
    this.name = 'TimeoutError';
  }
}

/**
 * The leader this node forwarded to has sent no entry of its own term within
 * an election timeout: it is not replicating (a simpleRaft leader never does),
 * so it can neither commit a command nor serve a read.
 */
export class LeaderNotReplicatingError extends Error {
  constructor(readonly leader: NodeId, readonly term: number, readonly waitedMs: number) {
    super(
      `no entry of the leader ${leader}'s term ${term} has reached this node in ${waitedMs} ms (a leader's first ` +
        `entry is its no-op, §8): the leader is not replicating to this node, so the outcome of this request is ` +
        `unknown. A simpleRaft leader never replicates (docs/python-interop.md); a TypeScript leader does within a ` +
        `round trip unless this node is far behind`,
    );
    this.name = 'LeaderNotReplicatingError';
  }
}

/** A command too large for the transport to carry: refused before it enters the log. */
export class EntryTooLargeError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`command of ${bytes} bytes exceeds the ${limit}-byte limit of this cluster's transport`);
    this.name = 'EntryTooLargeError';
  }
}

export interface NodeStatus {
  name: NodeId;
  role: 'follower' | 'candidate' | 'leader';
  term: number;
  leader: NodeId | null;
  commitIndex: number;
  lastApplied: number;
  lastLogIndex: number;
  /** When leader: each peer's matchIndex. */
  peers: { name: NodeId; matchIndex?: number; api?: string }[];
  /** Drops and warnings worth watching: term jumps, and the transport's counters. */
  counters?: { termJumps: number; transport: object };
}

/** What a lease keeper reports on one lease (etcd's LeaseTimeToLiveResponse). */
export interface LeaseTimeToLive {
  /** Seconds left (truncated), 0 once expired and waiting for its revoke. */
  ttl: number;
  /** The TTL it was granted, in seconds. */
  grantedTtl: number;
  /** Its keys, in byte order. */
  keys: Buffer[];
}

/**
 * Client key leases on a node (docs/leases.md). Grant and revoke are ordinary
 * commands (NodeHandle.propose); keep-alive and time-to-live need the
 * leader's deadlines and are answered by the leader alone: on any other node
 * they reject with NotLeaderError (naming the leader when known), and the
 * API forwards them there.
 */
export interface LeaseHandle {
  /** The smallest TTL the cluster grants, in seconds; a smaller request is raised to it (as etcd). */
  readonly minTtlSeconds: number;
  /**
   * Renew lease `id`: resolves with its TTL in seconds once renewed, or null
   * if there is no such lease (never granted, revoked, or expired).
   */
  keepAlive(id: bigint): Promise<number | null>;
  /** The lease's remaining and granted TTL and keys, or null if there is no such lease. */
  timeToLive(id: bigint): Promise<LeaseTimeToLive | null>;
  /** Every lease ID in this node's applied state, ascending (linearize with readBarrier() first). */
  list(): bigint[];
}

export interface NodeHandle {
  readonly name: NodeId;
  /** Present when the node keeps client key leases. */
  readonly leases?: LeaseHandle;
  /**
   * Propose a state machine command. Resolves with what the state machine's
   * apply() returned for it, once the entry is committed and applied on THIS
   * node (a follower forwards to the leader and waits for its own apply).
   * Rejects with NotLeaderError when no leader is known, TimeoutError when it
   * is not applied within the node's bounded timeout.
   */
  propose(command: unknown): Promise<unknown>;
  /**
   * Linearizable read barrier (ReadIndex, thesis §6.4): resolves once this
   * node's state machine has applied at least the leader's commitIndex as of
   * the call. Rejects like propose().
   */
  readBarrier(): Promise<void>;
  status(): NodeStatus;
}
