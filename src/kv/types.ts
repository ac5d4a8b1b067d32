// The data model of the replicated key-value store, after etcd v3's mvccpb
// and etcdserverpb: keys and values are bytes, one global revision counts
// the store's changes, and each key carries the revisions of its creation and
// last modification, a version (how many times it was put since it was
// created) and the lease it is attached to (0 = none).
//
// Everything here is plain data. Buffers and bigints are used in memory; the
// log carries the JSON form of commands (commands.ts), and snapshots carry the
// JSON form of the whole store (kv-store.ts).

/** A lease ID, an int64 as in etcd; 0n means "no lease". */
export type LeaseId = bigint;
export const NO_LEASE: LeaseId = 0n;

/** One key as etcd's mvccpb.KeyValue. Treated as immutable once stored. */
export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  /** Revision of the put that created the key (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the last put to the key. */
  readonly modRevision: number;
  /** Puts since creation: 1 after the first put; a delete resets the key. */
  readonly version: number;
  readonly lease: LeaseId;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/**
 * etcd's RangeRequest. `rangeEnd` empty means the single key `key`; a single
 * zero byte means every key >= `key`; otherwise the half-open [key, rangeEnd).
 */
export interface RangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  /** 0 = no limit. */
  limit: number;
  /** 0 = current; otherwise read the store as of this revision (not below the compacted one). */
  revision: number;
  keysOnly: boolean;
  countOnly: boolean;
  sortOrder: SortOrder;
  sortTarget: SortTarget;
  /** Filters on the results (0 = no filter), as etcd's min/max_*_revision. */
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease: LeaseId;
  prevKv: boolean;
  /** Keep the key's current value (the key must exist); `value` must be empty. */
  ignoreValue: boolean;
  /** Keep the key's current lease (the key must exist); `lease` must be 0. */
  ignoreLease: boolean;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  prevKv: boolean;
}

/** etcd's LeaseGrantRequest as it is applied: the ID and TTL are final (chosen before proposing). */
export interface LeaseGrantRequest {
  /** Positive. */
  id: LeaseId;
  /** Seconds, positive (already raised to the cluster's minimum by the proposer). */
  ttl: number;
}

export interface LeaseRevokeRequest {
  id: LeaseId;
}

export type CompareTarget = 'version' | 'create' | 'mod' | 'value' | 'lease';
export type CompareResult = 'equal' | 'greater' | 'less' | 'notEqual';

/** etcd's Compare: `target` of every key in the range, against a constant. */
export interface Compare {
  key: Buffer;
  rangeEnd: Buffer;
  target: CompareTarget;
  result: CompareResult;
  /** Buffer for target 'value', bigint for 'lease', number otherwise. */
  operand: Buffer | bigint | number;
}

/** etcd's CompactionRequest: forget the history before `revision`. */
export interface CompactionRequest {
  /** Positive, at most the store's revision, above the last compacted one. */
  revision: number;
}

export type RequestOp =
  | { op: 'range'; request: RangeRequest }
  | { op: 'put'; request: PutRequest }
  | { op: 'deleteRange'; request: DeleteRangeRequest };

/** etcd's TxnRequest without nested txns: if all compares hold, success, else failure. */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

// ---- Results --------------------------------------------------------------
// What apply() returns for a command, and what the node hands back to the
// client that proposed it. The store also keeps the last result per client
// (the dedup table), so results must be serializable: kv-store.ts does it.

export interface RangeResult {
  kind: 'range';
  /** The store's revision when the range was served. */
  revision: number;
  kvs: KeyValue[];
  /** Number of keys in the range, before limit and filters (as etcd). */
  count: number;
  /** More keys than `limit` were in the range. */
  more: boolean;
}

export interface PutResult {
  kind: 'put';
  /** The revision of this put. */
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeResult {
  kind: 'deleteRange';
  /** The revision after the delete (unchanged when nothing was deleted). */
  revision: number;
  deleted: number;
  prevKvs?: KeyValue[];
}

export type OpResult = RangeResult | PutResult | DeleteRangeResult;

/** A compaction was applied. */
export interface CompactionResult {
  kind: 'compaction';
  /** The store's revision (a compaction does not move it). */
  revision: number;
}

export interface TxnResult {
  kind: 'txn';
  /** The revision after the txn (unchanged when it wrote nothing). */
  revision: number;
  succeeded: boolean;
  responses: OpResult[];
}

/**
 * Why a command changed nothing. These are results, not exceptions: they are
 * decided deterministically by apply() and are the same on every replica.
 */
export type KvErrorCode =
  /** The log entry's value is not a command this store understands. */
  | 'invalid-command'
  /** A put or a revoke names a lease that does not exist. */
  | 'lease-not-found'
  /** A grant names a lease ID that is already in use. */
  | 'lease-exists'
  /** ignore_value / ignore_lease on a key that does not exist. */
  | 'key-not-found'
  /** A txn branch writes the same key twice. */
  | 'duplicate-key'
  /** A client's seq is older than the last one applied for it; its result is gone. */
  | 'stale-request'
  /** A client reused (clientId, seq) for a different command. */
  | 'request-id-reused'
  /** A read or compaction at a revision above the store's. */
  | 'future-revision'
  /** A read or compaction at a revision the history no longer holds. */
  | 'compacted';

export interface KvFailure {
  kind: 'error';
  code: KvErrorCode;
  message: string;
}

/** A lease was granted (etcd's LeaseGrantResponse): its ID and the TTL it got, in seconds. */
export interface LeaseGrantResult {
  kind: 'leaseGrant';
  /** The store's revision (a grant changes no key, so it does not move it). */
  revision: number;
  id: LeaseId;
  ttl: number;
}

/** A lease was revoked: it and its keys are gone, the keys in one revision. */
export interface LeaseRevokeResult {
  kind: 'leaseRevoke';
  /** The revision after the revoke (unchanged when the lease held no key). */
  revision: number;
  /** How many keys the revoke deleted. */
  deleted: number;
}

export type KvResult =
  | PutResult
  | DeleteRangeResult
  | TxnResult
  | LeaseGrantResult
  | LeaseRevokeResult
  | CompactionResult
  | KvFailure;

/** Thrown by KvStore.range() for a request it cannot serve (a local read, not a command). */
export class KvRequestError extends Error {
  constructor(
    readonly code: 'future-revision' | 'compacted' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'KvRequestError';
  }
}

/**
 * What the store needs from a lease keeper (the Lessor of the leases issue).
 * Calls happen inside apply(), so an implementation must itself be
 * deterministic replicated state (no clock). Without one, every lease is
 * unknown and a put with a lease fails with 'lease-not-found'.
 */
export interface LeaseRegistry {
  /** Does lease `id` exist at this point of the log? */
  exists(id: LeaseId): boolean;
  /** `key` is now attached to lease `id`. */
  attach(id: LeaseId, key: Buffer): void;
  /** `key` is no longer attached to lease `id` (deleted, or moved to another lease). */
  detach(id: LeaseId, key: Buffer): void;
}

/**
 * A lease keeper that also holds the leases themselves (the Lessor,
 * src/kv/lessor.ts): with one, the store applies lease grant and revoke
 * commands and carries the leases in its snapshots. Every method is called
 * inside apply() or restore() and must be deterministic (no clock).
 */
export interface LeaseStore extends LeaseRegistry {
  /** Create lease `id` with `ttl` seconds; false (and no change) if it exists. */
  grant(id: LeaseId, ttl: number): boolean;
  /** The keys attached to lease `id`, or null if there is no such lease. */
  keysOf(id: LeaseId): Buffer[] | null;
  /** Forget lease `id` (its keys were deleted first). */
  remove(id: LeaseId): void;
  /** Every lease as [id, ttl], in ascending ID order (for snapshots). */
  list(): [LeaseId, number][];
  /** Replace every lease (from a snapshot) and rebuild key attachments from `kvs`. */
  restore(leases: [LeaseId, number][], kvs: Iterable<KeyValue>): void;
}

export function isLeaseStore(r: LeaseRegistry | null): r is LeaseStore {
  return r !== null && typeof (r as Partial<LeaseStore>).grant === 'function';
}
