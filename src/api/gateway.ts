// etcd v3's JSON gateway shapes: reading request bodies and writing replies,
// as recorded from a real etcd 3.4 (../shared/etcd-gateway-samples.md):
// - `bytes` fields are standard padded base64;
// - int64 fields are accepted as JSON numbers of any size or as decimal strings,
//   read exactly (a JSON number never passes through a JS double:
//   exact-json.ts), and written as strings;
// - zero, false and empty fields are left out of replies;
// - unknown request fields are ignored, and null means "absent";
// - errors are {error, message, code} with the gRPC code, and the HTTP status
//   grpc-gateway derives from it.
// Everything a client sends is checked here; a bad field gives a 400 whose
// message (and `field`) names it.

import {
  Compare,
  CompareResult,
  CompareTarget,
  DeleteRangeRequest,
  DeleteRangeResult,
  INT64_MAX,
  INT64_MIN,
  KeyValue,
  KvFailure,
  MAX_TXN_OPS,
  OpResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResult,
  parseBase64,
  toBase64,
} from '../kv';
import { JSON_NUMBER, JsonNumber, parseExactJson } from './exact-json';

/** gRPC status codes etcd's errors carry. */
export const GrpcCode = {
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
} as const;

/** Size limits enforced at the edge (see docs/api.md). */
export interface ApiLimits {
  /** Whole request body. etcd's default --max-request-bytes is 1.5 MiB. */
  maxRequestBytes: number;
  /** A key (or range_end) after base64 decoding. */
  maxKeyBytes: number;
  /** A value after base64 decoding. */
  maxValueBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxKeyBytes: 32 * 1024,
  maxValueBytes: 1024 * 1024,
};

/** An error reply: HTTP status, and the body {error, message, code, ...extra}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): Record<string, unknown> {
    return { error: this.message, message: this.message, code: this.code, ...this.extra };
  }
}

export function badField(field: string, detail: string): ApiError {
  return new ApiError(400, GrpcCode.InvalidArgument, `bad field "${field}": ${detail}`, { field });
}

function tooLarge(field: string, size: number, max: number): ApiError {
  return new ApiError(413, GrpcCode.InvalidArgument, `field "${field}" is too large: ${size} bytes, the limit is ${max}`, {
    field,
  });
}

/** What a KV failure result means for the client. */
export function failureToApiError(f: KvFailure): ApiError {
  switch (f.code) {
    case 'lease-not-found':
      return new ApiError(404, GrpcCode.NotFound, f.message);
    case 'lease-exists':
      return new ApiError(412, GrpcCode.FailedPrecondition, f.message);
    case 'key-not-found':
    case 'duplicate-key':
      return new ApiError(400, GrpcCode.InvalidArgument, f.message);
    case 'stale-request':
    case 'request-id-reused':
      return new ApiError(409, GrpcCode.Aborted, f.message, { field: 'x-request-id' });
    case 'invalid-command':
      return new ApiError(500, GrpcCode.Internal, `the store refused the command: ${f.message}`);
  }
}

// ---- Reading request fields ----------------------------------------------------

type Obj = Record<string, unknown>;

/**
 * Parse a request body: empty means {}; otherwise it must be a JSON object.
 * A number arrives as a safe integer or as a JsonNumber with its exact text,
 * so an int64 such as a lease ID above 2^53 is read as Go's decoder reads it
 * in etcd's gateway; Fields converts each number to the type its field needs.
 */
export function parseBody(body: Buffer): Obj {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = parseExactJson(body.toString('utf8'));
  } catch (e) {
    throw new ApiError(400, GrpcCode.InvalidArgument, `bad JSON body: ${(e as Error).message}`, { field: 'body' });
  }
  if (!isObject(parsed)) throw badField('body', 'must be a JSON object');
  return parsed;
}

/** A JSON object (not an array, not a number kept as JsonNumber). */
function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);
}

/** The text of a JSON number (a safe integer or a JsonNumber), or null for any other value. */
function numberText(v: unknown): string | null {
  if (v instanceof JsonNumber) return v.text;
  return typeof v === 'number' ? String(v) : null;
}

/** JSON's integer syntax: what Go's decoder accepts for an int64. */
const JSON_INTEGER = /^-?(0|[1-9][0-9]*)$/;

/** etcd's 400 for a number that is not an int64 (Go's encoding/json message), naming our field. */
function notInt64(field: string, text: string): ApiError {
  return new ApiError(400, GrpcCode.InvalidArgument, `json: cannot unmarshal number ${text} into Go value of type int64 (field "${field}")`, {
    field,
  });
}

/** Reads the fields of one JSON object; `prefix` names nested objects in messages. */
export class Fields {
  constructor(
    private readonly o: Obj,
    private readonly limits: ApiLimits,
    private readonly prefix = '',
  ) {}

  private get(name: string): unknown {
    // Own properties only: a body cannot reach Object.prototype through us.
    const v = Object.prototype.hasOwnProperty.call(this.o, name) ? this.o[name] : undefined;
    return v === null ? undefined : v;
  }

  name(n: string): string {
    return this.prefix + n;
  }

  has(n: string): boolean {
    return this.get(n) !== undefined;
  }

  bytes(n: string, kind: 'key' | 'value'): Buffer {
    const v = this.get(n);
    if (v === undefined) return Buffer.alloc(0);
    if (typeof v !== 'string') throw badField(this.name(n), 'must be a base64 string');
    const r = parseBase64(v);
    if (!r.ok) throw badField(this.name(n), r.error);
    const max = kind === 'key' ? this.limits.maxKeyBytes : this.limits.maxValueBytes;
    if (r.bytes.length > max) throw tooLarge(this.name(n), r.bytes.length, max);
    return r.bytes;
  }

  /** The `key` field, which every KV request needs (etcd: "key is not provided"). */
  key(n = 'key'): Buffer {
    const k = this.bytes(n, 'key');
    if (k.length === 0) {
      throw new ApiError(400, GrpcCode.InvalidArgument, 'etcdserver: key is not provided', { field: this.name(n) });
    }
    return k;
  }

  /**
   * An int64 field, exactly: a JSON number (any size) or a decimal string, as
   * grpc-gateway accepts either. The string form may carry surrounding
   * whitespace (Go's decoder reads its content as a JSON number); a fraction,
   * an exponent or a value outside int64 gets etcd's 400.
   */
  int64(n: string): bigint {
    const v = this.get(n);
    if (v === undefined) return 0n;
    const text = typeof v === 'string' ? v.trim() : numberText(v);
    if (text === null) throw badField(this.name(n), 'must be an integer or a decimal string');
    if (!JSON_INTEGER.test(text)) {
      if (JSON_NUMBER.test(text)) throw notInt64(this.name(n), text);
      throw badField(this.name(n), 'must be an integer or a decimal string');
    }
    const x = BigInt(text);
    if (x < INT64_MIN || x > INT64_MAX) throw notInt64(this.name(n), text);
    return x;
  }

  /**
   * An int64 used as a count or revision: negative means 0, as in etcd. The
   * store's counts and revisions stay below 2^53, so a larger value is held
   * at Number.MAX_SAFE_INTEGER, which compares with every one of them as the
   * int64 itself would (a limit that large means no limit; such a revision
   * is still in the future).
   */
  count(n: string): number {
    const x = this.int64(n);
    if (x <= 0n) return 0;
    return x > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(x);
  }

  bool(n: string): boolean {
    const v = this.get(n);
    if (v === undefined) return false;
    if (typeof v !== 'boolean') throw badField(this.name(n), 'must be true or false');
    return v;
  }

  /** A protobuf enum: its name or its number. */
  enumOf<T extends string>(n: string, names: readonly string[], values: readonly T[]): T {
    const v = this.get(n);
    if (v === undefined) return values[0];
    if (typeof v === 'string' && names.includes(v)) return values[names.indexOf(v)];
    const text = numberText(v);
    if (text !== null && /^(0|[1-9][0-9]*)$/.test(text) && Number(text) < values.length) return values[Number(text)];
    throw badField(this.name(n), `must be one of ${names.join(', ')}`);
  }

  list(n: string): unknown[] {
    const v = this.get(n);
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw badField(this.name(n), 'must be an array');
    return v;
  }

  object(n: string): Fields | undefined {
    const v = this.get(n);
    if (v === undefined) return undefined;
    if (!isObject(v)) throw badField(this.name(n), 'must be an object');
    return new Fields(v, this.limits, `${this.name(n)}.`);
  }
}

const SORT_ORDER_NAMES = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGET_NAMES = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const COMPARE_RESULT_NAMES = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'notEqual'];
const COMPARE_TARGET_NAMES = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['version', 'create', 'mod', 'value', 'lease'];

/** etcd RangeRequest, plus `serializable`, which picks the read path. */
export function parseRange(f: Fields): { request: RangeRequest; serializable: boolean } {
  return {
    request: {
      key: f.key(),
      rangeEnd: f.bytes('range_end', 'key'),
      limit: f.count('limit'),
      revision: f.count('revision'),
      keysOnly: f.bool('keys_only'),
      countOnly: f.bool('count_only'),
      sortOrder: f.enumOf('sort_order', SORT_ORDER_NAMES, SORT_ORDERS),
      sortTarget: f.enumOf('sort_target', SORT_TARGET_NAMES, SORT_TARGETS),
      minModRevision: f.count('min_mod_revision'),
      maxModRevision: f.count('max_mod_revision'),
      minCreateRevision: f.count('min_create_revision'),
      maxCreateRevision: f.count('max_create_revision'),
    },
    serializable: f.bool('serializable'),
  };
}

export function parsePut(f: Fields): PutRequest {
  const request: PutRequest = {
    key: f.key(),
    value: f.bytes('value', 'value'),
    lease: f.int64('lease'),
    prevKv: f.bool('prev_kv'),
    ignoreValue: f.bool('ignore_value'),
    ignoreLease: f.bool('ignore_lease'),
  };
  // etcd's checkPutRequest.
  if (request.ignoreValue && request.value.length > 0) {
    throw new ApiError(400, GrpcCode.InvalidArgument, 'etcdserver: value is provided', { field: f.name('value') });
  }
  if (request.ignoreLease && request.lease !== 0n) {
    throw new ApiError(400, GrpcCode.InvalidArgument, 'etcdserver: lease is provided', { field: f.name('lease') });
  }
  return request;
}

export function parseDeleteRange(f: Fields): DeleteRangeRequest {
  return { key: f.key(), rangeEnd: f.bytes('range_end', 'key'), prevKv: f.bool('prev_kv') };
}

export function parseTxn(f: Fields, limits: ApiLimits): TxnRequest {
  const compare = f.list('compare');
  const success = f.list('success');
  const failure = f.list('failure');
  if (compare.length > MAX_TXN_OPS || success.length > MAX_TXN_OPS || failure.length > MAX_TXN_OPS) {
    throw new ApiError(400, GrpcCode.InvalidArgument, 'etcdserver: too many operations in txn request', {
      field: 'compare/success/failure',
    });
  }
  const obj = (v: unknown, name: string): Fields => {
    if (!isObject(v)) throw badField(name, 'must be an object');
    return new Fields(v, limits, `${name}.`);
  };
  return {
    compare: compare.map((c, i) => parseCompare(obj(c, `compare[${i}]`))),
    success: success.map((op, i) => parseRequestOp(obj(op, `success[${i}]`))),
    failure: failure.map((op, i) => parseRequestOp(obj(op, `failure[${i}]`))),
  };
}

function parseCompare(f: Fields): Compare {
  const target = f.enumOf('target', COMPARE_TARGET_NAMES, COMPARE_TARGETS);
  let operand: Buffer | bigint | number;
  switch (target) {
    case 'value':
      operand = f.bytes('value', 'value');
      break;
    case 'lease':
      operand = f.int64('lease');
      break;
    case 'version':
      operand = f.count('version');
      break;
    case 'create':
      operand = f.count('create_revision');
      break;
    case 'mod':
      operand = f.count('mod_revision');
      break;
  }
  return {
    key: f.key(),
    rangeEnd: f.bytes('range_end', 'key'),
    target,
    result: f.enumOf('result', COMPARE_RESULT_NAMES, COMPARE_RESULTS),
    operand,
  };
}

function parseRequestOp(f: Fields): RequestOp {
  const range = f.object('request_range');
  const put = f.object('request_put');
  const del = f.object('request_delete_range');
  if (f.has('request_txn')) {
    throw new ApiError(400, GrpcCode.Unimplemented, 'nested txn (request_txn) is not supported', {
      field: f.name('request_txn'),
    });
  }
  const given = [range, put, del].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw badField(f.name('request'), 'needs exactly one of request_range, request_put, request_delete_range');
  }
  if (range) {
    const r = parseRange(range);
    if (r.request.revision !== 0) {
      throw badField(range.name('revision'), 'only the current revision is kept; use 0 inside a txn');
    }
    return { op: 'range', request: r.request };
  }
  if (put) return { op: 'put', request: parsePut(put) };
  return { op: 'deleteRange', request: parseDeleteRange(del!) };
}

// ---- Writing replies ---------------------------------------------------------------

export interface ResponseHeader {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}

/** mvccpb.KeyValue as JSON: int64 as strings, zero fields left out, in etcd's order. */
export function kvJson(kv: KeyValue): Record<string, unknown> {
  const out: Record<string, unknown> = { key: toBase64(kv.key) };
  if (kv.createRevision) out.create_revision = String(kv.createRevision);
  if (kv.modRevision) out.mod_revision = String(kv.modRevision);
  if (kv.version) out.version = String(kv.version);
  if (kv.value.length > 0) out.value = toBase64(kv.value);
  if (kv.lease !== 0n) out.lease = kv.lease.toString();
  return out;
}

export function rangeJson(header: object, r: RangeResult): Record<string, unknown> {
  const out: Record<string, unknown> = { header };
  if (r.kvs.length > 0) out.kvs = r.kvs.map(kvJson);
  if (r.more) out.more = true;
  if (r.count) out.count = String(r.count);
  return out;
}

export function putJson(header: object, r: PutResult): Record<string, unknown> {
  const out: Record<string, unknown> = { header };
  if (r.prevKv) out.prev_kv = kvJson(r.prevKv);
  return out;
}

export function deleteRangeJson(header: object, r: DeleteRangeResult): Record<string, unknown> {
  const out: Record<string, unknown> = { header };
  if (r.deleted) out.deleted = String(r.deleted);
  if (r.prevKvs && r.prevKvs.length > 0) out.prev_kvs = r.prevKvs.map(kvJson);
  return out;
}

export function txnJson(header: object, r: TxnResult): Record<string, unknown> {
  const out: Record<string, unknown> = { header };
  if (r.succeeded) out.succeeded = true;
  if (r.responses.length > 0) out.responses = r.responses.map(opJson);
  return out;
}

/** Inside a txn each response's header carries only the revision (as etcd's). */
function opJson(r: OpResult): Record<string, unknown> {
  const header = { revision: String(r.revision) };
  switch (r.kind) {
    case 'range':
      return { response_range: rangeJson(header, r) };
    case 'put':
      return { response_put: putJson(header, r) };
    case 'deleteRange':
      return { response_delete_range: deleteRangeJson(header, r) };
  }
}

// ---- Leases ---------------------------------------------------------------------------

/**
 * Splits a request body that holds several JSON objects back to back (etcd's
 * streaming keep-alive: `{"ID":1}{"ID":2}` or one per line) into the objects,
 * as the bytes arrive. Anything between objects other than whitespace is an
 * error; so is an object over `maxObjectBytes`.
 */
export class JsonObjectSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Where the object being read starts in `buf`, or -1 between objects. */
  private start = -1;
  private scanned = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly maxObjectBytes: number) {}

  /** Bad input found after objects that were complete: reported at the next call. */
  private failed: ApiError | null = null;

  /**
   * Feed bytes; returns the objects completed by them, in order. Throws
   * ApiError on bad input (once the objects before it were handed out).
   */
  push(chunk: Uint8Array): unknown[] {
    if (this.failed) throw this.failed;
    const out: unknown[] = [];
    try {
      this.scan(chunk, out);
    } catch (e) {
      if (out.length === 0 || !(e instanceof ApiError)) throw e;
      this.failed = e;
    }
    return out;
  }

  private scan(chunk: Uint8Array, out: unknown[]): void {
    this.buf += this.decoder.decode(chunk, { stream: true });
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.start < 0) {
        if (c === ' ' || c === '\n' || c === '\r' || c === '\t') continue;
        if (c !== '{') throw badField('body', 'a keep-alive stream must be JSON objects one after another');
        this.start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          out.push(parseBody(Buffer.from(this.buf.slice(this.start, i + 1), 'utf8')));
          this.buf = this.buf.slice(i + 1);
          i = -1;
          this.start = -1;
        }
      }
    }
    this.scanned = this.buf.length;
    if (this.start >= 0 && Buffer.byteLength(this.buf) > this.maxObjectBytes) {
      throw new ApiError(413, GrpcCode.InvalidArgument, `request body is too large; the limit is ${this.maxObjectBytes} bytes`, {
        field: 'body',
      });
    }
    if (this.start < 0) {
      this.buf = '';
      this.scanned = 0;
    }
  }

  /** The body ended: an object cut short is an error. */
  end(): void {
    if (this.failed) throw this.failed;
    this.buf += this.decoder.decode();
    if (this.start >= 0 || this.buf.trim().length > 0) {
      throw new ApiError(400, GrpcCode.InvalidArgument, 'bad JSON body: unexpected end of input', { field: 'body' });
    }
  }
}
