// The key-value store's commands as they travel in log entries.
//
// A command is proposed on one node and applied on every node, so its log form
// must be plain JSON (it crosses the wire in AppendEntries and lands in the
// write-ahead log): bytes as canonical base64, int64 lease IDs as decimal
// strings (JSON numbers lose precision above 2^53), revisions as integers.
//
// decodeCommand() treats an entry value as hostile, like the message codec:
// it checks every field's presence and type, refuses unknown fields, and
// builds a fresh object. It depends on nothing configurable, so every replica
// decodes the same entry the same way (a size limit that differed between
// nodes would let one replica apply what another refuses). Size limits belong
// at the edge, in the HTTP API.
//
// Each client command may carry a session {clientId, seq} (thesis §6.3): the
// store remembers each client's last seq and result, so a retried command is
// applied once and answered with the first result.

import { createHash } from 'node:crypto';
import { INT64_MAX, INT64_MIN, parseCanonicalBase64, toBase64 } from './bytes';
import {
  CompactionRequest,
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  LeaseGrantRequest,
  LeaseId,
  LeaseRevokeRequest,
  NO_LEASE,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from './types';

/** At most this many operations in one txn branch, and compares (etcd's --max-txn-ops default). */
export const MAX_TXN_OPS = 128;
/** Client ids longer than this are refused. */
export const MAX_CLIENT_ID_LENGTH = 256;

/** A client's identity for deduplication (thesis §6.3). */
export interface Session {
  clientId: string;
  /** Positive; a client numbers its commands 1, 2, 3, ... (or uses one id per command). */
  seq: number;
}

/** A decoded command, ready to apply. */
export type KvCommand =
  | { op: 'put'; session: Session | null; request: PutRequest }
  | { op: 'deleteRange'; session: Session | null; request: DeleteRangeRequest }
  | { op: 'txn'; session: Session | null; request: TxnRequest }
  | { op: 'leaseGrant'; session: Session | null; request: LeaseGrantRequest }
  | { op: 'leaseRevoke'; session: Session | null; request: LeaseRevokeRequest }
  | { op: 'compaction'; session: Session | null; request: CompactionRequest };

// ---- The JSON (log) form ---------------------------------------------------

export interface PutJson {
  op: 'put';
  key: string;
  value?: string;
  lease?: string;
  prevKv?: true;
  ignoreValue?: true;
  ignoreLease?: true;
}

export interface DeleteRangeJson {
  op: 'deleteRange';
  key: string;
  rangeEnd?: string;
  prevKv?: true;
}

export interface RangeJson {
  op: 'range';
  key: string;
  rangeEnd?: string;
  limit?: number;
  revision?: number;
  keysOnly?: true;
  countOnly?: true;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface CompareJson {
  key: string;
  rangeEnd?: string;
  target: CompareTarget;
  result: CompareResult;
  /** base64 for target 'value', decimal int64 string for 'lease', integer otherwise. */
  operand: string | number;
}

export interface TxnJson {
  op: 'txn';
  compare: CompareJson[];
  success: (RangeJson | PutJson | DeleteRangeJson)[];
  failure: (RangeJson | PutJson | DeleteRangeJson)[];
}

/** A lease grant (etcd's LeaseGrant). The ID is a positive int64 as a decimal string. */
export interface LeaseGrantJson {
  op: 'leaseGrant';
  id: string;
  ttl: number;
}

/** A lease revoke, by a client or by the leader's expiry task (the same command). */
export interface LeaseRevokeJson {
  op: 'leaseRevoke';
  id: string;
}

/** A compaction (etcd's Compact), by a client or by the leader's auto-compaction. */
export interface CompactionJson {
  op: 'compaction';
  revision: number;
}

type CommandBodyJson = PutJson | DeleteRangeJson | TxnJson | LeaseGrantJson | LeaseRevokeJson | CompactionJson;

/** What a log entry's value holds for a KV command. */
export type KvCommandJson = CommandBodyJson & {
  clientId?: string;
  seq?: number;
};

/** The one error decodeCommand throws; `field` is the path of the offending field. */
export class CommandError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`invalid command at ${field}: ${detail}`);
    this.name = 'CommandError';
  }
}

// ---- Encoding ---------------------------------------------------------------

/** The canonical JSON form of a command: fixed key order, defaults omitted. */
export function encodeCommand(cmd: KvCommand): KvCommandJson {
  let body: CommandBodyJson;
  switch (cmd.op) {
    case 'compaction':
      body = { op: 'compaction', revision: cmd.request.revision };
      break;
    case 'leaseGrant':
      body = { op: 'leaseGrant', id: cmd.request.id.toString(), ttl: cmd.request.ttl };
      break;
    case 'leaseRevoke':
      body = { op: 'leaseRevoke', id: cmd.request.id.toString() };
      break;
    case 'put':
      body = encodePut(cmd.request);
      break;
    case 'deleteRange':
      body = encodeDeleteRange(cmd.request);
      break;
    case 'txn':
      body = encodeTxn(cmd.request);
      break;
  }
  return cmd.session ? { ...body, clientId: cmd.session.clientId, seq: cmd.session.seq } : body;
}

function encodePut(r: PutRequest): PutJson {
  const out: PutJson = { op: 'put', key: toBase64(r.key) };
  if (r.value.length > 0) out.value = toBase64(r.value);
  if (r.lease !== NO_LEASE) out.lease = r.lease.toString();
  if (r.prevKv) out.prevKv = true;
  if (r.ignoreValue) out.ignoreValue = true;
  if (r.ignoreLease) out.ignoreLease = true;
  return out;
}

function encodeDeleteRange(r: DeleteRangeRequest): DeleteRangeJson {
  const out: DeleteRangeJson = { op: 'deleteRange', key: toBase64(r.key) };
  if (r.rangeEnd.length > 0) out.rangeEnd = toBase64(r.rangeEnd);
  if (r.prevKv) out.prevKv = true;
  return out;
}

function encodeRange(r: RangeRequest): RangeJson {
  const out: RangeJson = { op: 'range', key: toBase64(r.key) };
  if (r.rangeEnd.length > 0) out.rangeEnd = toBase64(r.rangeEnd);
  if (r.limit) out.limit = r.limit;
  if (r.revision) out.revision = r.revision;
  if (r.keysOnly) out.keysOnly = true;
  if (r.countOnly) out.countOnly = true;
  if (r.sortOrder !== 'none') out.sortOrder = r.sortOrder;
  if (r.sortTarget !== 'key') out.sortTarget = r.sortTarget;
  if (r.minModRevision) out.minModRevision = r.minModRevision;
  if (r.maxModRevision) out.maxModRevision = r.maxModRevision;
  if (r.minCreateRevision) out.minCreateRevision = r.minCreateRevision;
  if (r.maxCreateRevision) out.maxCreateRevision = r.maxCreateRevision;
  return out;
}

function encodeOp(op: RequestOp): RangeJson | PutJson | DeleteRangeJson {
  switch (op.op) {
    case 'range':
      return encodeRange(op.request);
    case 'put':
      return encodePut(op.request);
    case 'deleteRange':
      return encodeDeleteRange(op.request);
  }
}

function encodeTxn(r: TxnRequest): TxnJson {
  return {
    op: 'txn',
    compare: r.compare.map((c) => ({
      key: toBase64(c.key),
      ...(c.rangeEnd.length > 0 ? { rangeEnd: toBase64(c.rangeEnd) } : {}),
      target: c.target,
      result: c.result,
      operand: encodeOperand(c.operand),
    })),
    success: r.success.map(encodeOp),
    failure: r.failure.map(encodeOp),
  };
}

function encodeOperand(o: Buffer | bigint | number): string | number {
  if (typeof o === 'bigint') return o.toString();
  if (typeof o === 'number') return o;
  return toBase64(o);
}

/**
 * A fingerprint of what a command does, without its session: a retry must
 * carry the same command, and the store refuses a reused (clientId, seq) whose
 * fingerprint differs instead of answering with an unrelated result.
 */
export function fingerprint(cmd: KvCommand): string {
  const json = JSON.stringify(encodeCommand({ ...cmd, session: null } as KvCommand));
  return createHash('sha256').update(json).digest('base64').slice(0, 22);
}

// ---- Builders (defaults filled in) -------------------------------------------

export function putRequest(p: Partial<PutRequest> & { key: Uint8Array }): PutRequest {
  return {
    key: Buffer.from(p.key),
    value: Buffer.from(p.value ?? Buffer.alloc(0)),
    lease: p.lease ?? NO_LEASE,
    prevKv: p.prevKv ?? false,
    ignoreValue: p.ignoreValue ?? false,
    ignoreLease: p.ignoreLease ?? false,
  };
}

export function deleteRangeRequest(p: Partial<DeleteRangeRequest> & { key: Uint8Array }): DeleteRangeRequest {
  return {
    key: Buffer.from(p.key),
    rangeEnd: Buffer.from(p.rangeEnd ?? Buffer.alloc(0)),
    prevKv: p.prevKv ?? false,
  };
}

export function rangeRequest(p: Partial<RangeRequest> & { key: Uint8Array }): RangeRequest {
  return {
    key: Buffer.from(p.key),
    rangeEnd: Buffer.from(p.rangeEnd ?? Buffer.alloc(0)),
    limit: p.limit ?? 0,
    revision: p.revision ?? 0,
    keysOnly: p.keysOnly ?? false,
    countOnly: p.countOnly ?? false,
    sortOrder: p.sortOrder ?? 'none',
    sortTarget: p.sortTarget ?? 'key',
    minModRevision: p.minModRevision ?? 0,
    maxModRevision: p.maxModRevision ?? 0,
    minCreateRevision: p.minCreateRevision ?? 0,
    maxCreateRevision: p.maxCreateRevision ?? 0,
  };
}

// ---- Decoding -----------------------------------------------------------------

type Obj = Record<string, unknown>;

const SESSION_KEYS = ['clientId', 'seq'];
const PUT_KEYS = ['op', 'key', 'value', 'lease', 'prevKv', 'ignoreValue', 'ignoreLease'];
const DELETE_KEYS = ['op', 'key', 'rangeEnd', 'prevKv'];
const RANGE_KEYS = [
  'op',
  'key',
  'rangeEnd',
  'limit',
  'revision',
  'keysOnly',
  'countOnly',
  'sortOrder',
  'sortTarget',
  'minModRevision',
  'maxModRevision',
  'minCreateRevision',
  'maxCreateRevision',
];
const TXN_KEYS = ['op', 'compare', 'success', 'failure'];
const LEASE_GRANT_KEYS = ['op', 'id', 'ttl'];
const LEASE_REVOKE_KEYS = ['op', 'id'];
const COMPACTION_KEYS = ['op', 'revision'];
const COMPARE_KEYS = ['key', 'rangeEnd', 'target', 'result', 'operand'];

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['version', 'create', 'mod', 'value', 'lease'];
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'notEqual'];

/** Decode and validate a log entry's value. Throws CommandError only. */
export function decodeCommand(value: unknown): KvCommand {
  const o = object(value, '$');
  const session = decodeSession(o);
  const op = o.op;
  switch (op) {
    case 'put':
      onlyKeys(o, '$', [...PUT_KEYS, ...SESSION_KEYS]);
      return { op, session, request: decodePut(o, '$') };
    case 'deleteRange':
      onlyKeys(o, '$', [...DELETE_KEYS, ...SESSION_KEYS]);
      return { op, session, request: decodeDeleteRange(o, '$') };
    case 'txn':
      onlyKeys(o, '$', [...TXN_KEYS, ...SESSION_KEYS]);
      return { op, session, request: decodeTxn(o, '$') };
    case 'leaseGrant': {
      onlyKeys(o, '$', [...LEASE_GRANT_KEYS, ...SESSION_KEYS]);
      const ttl = integer(o.ttl, '$.ttl');
      if (ttl < 1) throw new CommandError('$.ttl', 'must be positive');
      return { op, session, request: { id: leaseId(o.id, '$.id'), ttl } };
    }
    case 'leaseRevoke':
      onlyKeys(o, '$', [...LEASE_REVOKE_KEYS, ...SESSION_KEYS]);
      return { op, session, request: { id: leaseId(o.id, '$.id') } };
    case 'compaction': {
      onlyKeys(o, '$', [...COMPACTION_KEYS, ...SESSION_KEYS]);
      const revision = integer(o.revision, '$.revision');
      if (revision < 1) throw new CommandError('$.revision', 'must be positive');
      return { op, session, request: { revision } };
    }
    default:
      throw new CommandError('$.op', `unknown op ${short(op)}`);
  }
}

function decodeSession(o: Obj): Session | null {
  if (o.clientId === undefined && o.seq === undefined) return null;
  const clientId = o.clientId;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw new CommandError('$.clientId', `must be a string of 1-${MAX_CLIENT_ID_LENGTH} characters`);
  }
  const seq = o.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new CommandError('$.seq', 'must be a positive integer');
  }
  return { clientId, seq };
}

function decodePut(o: Obj, path: string): PutRequest {
  return {
    key: bytes(o.key, `${path}.key`, true),
    value: o.value === undefined ? Buffer.alloc(0) : bytes(o.value, `${path}.value`, false),
    lease: o.lease === undefined ? NO_LEASE : int64(o.lease, `${path}.lease`),
    prevKv: flag(o.prevKv, `${path}.prevKv`),
    ignoreValue: flag(o.ignoreValue, `${path}.ignoreValue`),
    ignoreLease: flag(o.ignoreLease, `${path}.ignoreLease`),
  };
}

function decodeDeleteRange(o: Obj, path: string): DeleteRangeRequest {
  return {
    key: bytes(o.key, `${path}.key`, true),
    rangeEnd: o.rangeEnd === undefined ? Buffer.alloc(0) : bytes(o.rangeEnd, `${path}.rangeEnd`, false),
    prevKv: flag(o.prevKv, `${path}.prevKv`),
  };
}

function decodeRange(o: Obj, path: string): RangeRequest {
  return {
    key: bytes(o.key, `${path}.key`, true),
    rangeEnd: o.rangeEnd === undefined ? Buffer.alloc(0) : bytes(o.rangeEnd, `${path}.rangeEnd`, false),
    limit: count(o.limit, `${path}.limit`),
    revision: count(o.revision, `${path}.revision`),
    keysOnly: flag(o.keysOnly, `${path}.keysOnly`),
    countOnly: flag(o.countOnly, `${path}.countOnly`),
    sortOrder: o.sortOrder === undefined ? 'none' : oneOf(o.sortOrder, SORT_ORDERS, `${path}.sortOrder`),
    sortTarget: o.sortTarget === undefined ? 'key' : oneOf(o.sortTarget, SORT_TARGETS, `${path}.sortTarget`),
    minModRevision: count(o.minModRevision, `${path}.minModRevision`),
    maxModRevision: count(o.maxModRevision, `${path}.maxModRevision`),
    minCreateRevision: count(o.minCreateRevision, `${path}.minCreateRevision`),
    maxCreateRevision: count(o.maxCreateRevision, `${path}.maxCreateRevision`),
  };
}

function decodeTxn(o: Obj, path: string): TxnRequest {
  const compare = list(o.compare, `${path}.compare`).map((c, i) => decodeCompare(c, `${path}.compare[${i}]`));
  const success = list(o.success, `${path}.success`).map((op, i) => decodeOp(op, `${path}.success[${i}]`));
  const failure = list(o.failure, `${path}.failure`).map((op, i) => decodeOp(op, `${path}.failure[${i}]`));
  return { compare, success, failure };
}

function decodeCompare(value: unknown, path: string): Compare {
  const o = object(value, path);
  onlyKeys(o, path, COMPARE_KEYS);
  const target = oneOf(o.target, COMPARE_TARGETS, `${path}.target`);
  const operandPath = `${path}.operand`;
  let operand: Buffer | bigint | number;
  if (target === 'value') operand = bytes(o.operand, operandPath, false);
  else if (target === 'lease') operand = int64(o.operand, operandPath);
  else operand = integer(o.operand, operandPath);
  return {
    key: bytes(o.key, `${path}.key`, true),
    rangeEnd: o.rangeEnd === undefined ? Buffer.alloc(0) : bytes(o.rangeEnd, `${path}.rangeEnd`, false),
    target,
    result: oneOf(o.result, COMPARE_RESULTS, `${path}.result`),
    operand,
  };
}

function decodeOp(value: unknown, path: string): RequestOp {
  const o = object(value, path);
  switch (o.op) {
    case 'range':
      onlyKeys(o, path, RANGE_KEYS);
      return { op: 'range', request: decodeRange(o, path) };
    case 'put':
      onlyKeys(o, path, PUT_KEYS);
      return { op: 'put', request: decodePut(o, path) };
    case 'deleteRange':
      onlyKeys(o, path, DELETE_KEYS);
      return { op: 'deleteRange', request: decodeDeleteRange(o, path) };
    default:
      throw new CommandError(`${path}.op`, `unknown op ${short(o.op)}`);
  }
}

// ---- Field readers ---------------------------------------------------------------

function object(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CommandError(path, 'must be an object');
  }
  return value as Obj;
}

function onlyKeys(o: Obj, path: string, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new CommandError(`${path}.${k}`, 'unexpected field');
  }
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new CommandError(path, 'must be an array');
  if (value.length > MAX_TXN_OPS) throw new CommandError(path, `more than ${MAX_TXN_OPS} items`);
  return value;
}

function bytes(value: unknown, path: string, nonEmpty: boolean): Buffer {
  if (typeof value !== 'string') throw new CommandError(path, 'must be a base64 string');
  const b = parseCanonicalBase64(value);
  if (b === null) throw new CommandError(path, 'must be canonical base64');
  if (nonEmpty && b.length === 0) throw new CommandError(path, 'must not be empty');
  return b;
}

function flag(value: unknown, path: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new CommandError(path, 'must be a boolean');
  return value;
}

function integer(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new CommandError(path, 'must be a safe integer');
  }
  return value;
}

/** A non-negative integer, 0 when absent. */
function count(value: unknown, path: string): number {
  if (value === undefined) return 0;
  const n = integer(value, path);
  if (n < 0) throw new CommandError(path, 'must not be negative');
  return n;
}

/** An int64 as a canonical decimal string. */
function int64(value: unknown, path: string): LeaseId {
  if (typeof value !== 'string' || !/^(0|-?[1-9][0-9]{0,18})$/.test(value)) {
    throw new CommandError(path, 'must be a decimal int64 string');
  }
  const n = BigInt(value);
  if (n < INT64_MIN || n > INT64_MAX) throw new CommandError(path, 'out of int64 range');
  return n;
}

/** A lease ID in a lease command: a positive int64 (0 means "no lease" and is never an ID). */
function leaseId(value: unknown, path: string): LeaseId {
  const id = int64(value, path);
  if (id <= 0n) throw new CommandError(path, 'must be a positive lease ID');
  return id;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new CommandError(path, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function short(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
