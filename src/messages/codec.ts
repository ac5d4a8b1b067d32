// The wire codec: the one place messages become bytes and bytes become
// messages. Every transport (MemoryBoard aside, which passes objects) uses it.
//
// decodeMessage() treats its input as hostile: it checks the size before
// parsing, then every field's presence and type, and builds a fresh object
// from the fields it knows. It throws only CodecError and never returns a
// half-valid message. The format is written down in docs/wire-format.md.

import { AppendEntriesData } from './append-entries';
import { RAFT_NUMBER_LIMIT, raftNumberProblem } from './bounds';
import { InstallSnapshotData } from './install-snapshot';
import { MessageType, NodeId, WireEntry } from './base';
import { Message } from './index';
import { RequestVoteData, RequestVoteResponseData } from './request-vote';
import { ResponseData } from './response';

/** Default cap on one encoded message; transports may pass a smaller one. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Nesting limit for entry values, so a hostile value cannot exhaust the stack. */
export const MAX_VALUE_DEPTH = 32;
/** Node names longer than this are refused. */
export const MAX_NODE_NAME_LENGTH = 128;

export type CodecErrorCode =
  | 'too-large'
  | 'bad-json'
  | 'bad-field'
  | 'out-of-range'
  | 'missing-field'
  | 'unexpected-key'
  | 'unknown-type';

/** The only error decodeMessage throws. `field` names the offending path. */
export class CodecError extends Error {
  constructor(
    readonly code: CodecErrorCode,
    readonly field: string,
    detail: string,
  ) {
    super(`${code} at ${field}: ${detail}`);
    this.name = 'CodecError';
  }
}

// Keys that must never be accepted from the wire, whatever the object.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const ENVELOPE_KEYS = ['type', 'sender', 'receiver', 'term', 'timestamp', 'data', 'id'];
const DATA_KEYS: Record<MessageType, { required: string[]; optional: string[] }> = {
  [MessageType.AppendEntries]: {
    required: ['leaderId', 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit'],
    optional: ['context'],
  },
  [MessageType.RequestVote]: { required: ['lastLogIndex', 'lastLogTerm'], optional: [] },
  [MessageType.RequestVoteResponse]: { required: ['response'], optional: [] },
  [MessageType.Response]: {
    required: ['response', 'currentTerm'],
    optional: ['matchIndex', 'conflictIndex', 'conflictTerm', 'context', 'snapshotOffset', 'rejectedIndex'],
  },
  [MessageType.InstallSnapshot]: {
    required: ['leaderId', 'lastIncludedIndex', 'lastIncludedTerm', 'offset', 'data', 'done'],
    optional: [],
  },
  [MessageType.ClientCommand]: { required: ['value'], optional: [] },
  [MessageType.ReadIndex]: { required: ['context'], optional: [] },
  [MessageType.ReadIndexResponse]: { required: ['context', 'index'], optional: [] },
};

/** Encode a message as canonical JSON: fixed key order, absent options omitted. */
export function encodeMessage(message: Message): string {
  return JSON.stringify(canonical(message));
}

/** The canonical object form of a message (key order as on the wire). */
export function canonical(message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: message.type,
    sender: message.sender,
    receiver: message.receiver,
    term: message.term,
    timestamp: message.timestamp,
    data: canonicalData(message),
  };
  if (message.id !== undefined) out.id = message.id;
  return out;
}

function canonicalData(message: Message): Record<string, unknown> {
  const spec = DATA_KEYS[message.type];
  const data = message.data as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of [...spec.required, ...spec.optional]) {
    if (data[key] !== undefined) out[key] = data[key];
  }
  return out;
}

/**
 * Decode and validate one message. Throws CodecError (and nothing else) on
 * any malformed, oversized or unexpected input.
 */
export function decodeMessage(input: string | Uint8Array, maxBytes = MAX_MESSAGE_BYTES): Message {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) throw new CodecError('too-large', '$', `${size} bytes > limit ${maxBytes}`);
  let text: string;
  try {
    // ignoreBOM keeps a leading byte order mark in the text, so JSON.parse
    // refuses it as it does in a string input (RFC 8259 §8.1: senders must not
    // add one). Without it, bytes with a BOM passed and the same text failed.
    text =
      typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
  } catch {
    throw new CodecError('bad-json', '$', 'not valid UTF-8');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CodecError('bad-json', '$', (e as Error).message);
  }
  try {
    return validateMessage(raw);
  } catch (e) {
    if (e instanceof CodecError) throw e;
    // A bug in the validator must still not escape as anything but CodecError.
    throw new CodecError('bad-field', '$', `internal: ${String(e)}`);
  }
}

/** Like decodeMessage, but returns the error instead of throwing it. */
export function tryDecodeMessage(
  input: string | Uint8Array,
  maxBytes = MAX_MESSAGE_BYTES,
): { ok: true; message: Message } | { ok: false; error: CodecError } {
  try {
    return { ok: true, message: decodeMessage(input, maxBytes) };
  } catch (e) {
    return { ok: false, error: e as CodecError };
  }
}

/** Validate an already-parsed JSON value as a message (used by decodeMessage). */
export function validateMessage(raw: unknown): Message {
  const env = plainObject(raw, '$');
  checkKeys(env, '$', ['type', 'sender', 'receiver', 'term', 'timestamp', 'data'], ENVELOPE_KEYS);
  const type = env.type;
  if (typeof type !== 'number' || !(type in DATA_KEYS)) {
    throw new CodecError('unknown-type', '$.type', `unknown message type ${JSON.stringify(type)}`);
  }
  const mtype = zero(type) as MessageType;
  const sender = nodeId(env.sender, '$.sender');
  const receiver = env.receiver === null ? null : nodeId(env.receiver, '$.receiver');
  const term = index(env.term, '$.term');
  const timestamp = nonNegativeNumber(env.timestamp, '$.timestamp');
  const rawData = plainObject(env.data, '$.data');
  const spec = DATA_KEYS[mtype];
  checkKeys(rawData, '$.data', spec.required, [...spec.required, ...spec.optional]);
  const data = decodeData(mtype, rawData);
  const message = { type: mtype, sender, receiver, term, timestamp, data } as Message;
  if (env.id !== undefined) message.id = messageId(env.id, '$.id');
  return message;
}

function decodeData(type: MessageType, d: Record<string, unknown>): Message['data'] {
  switch (type) {
    case MessageType.AppendEntries: {
      const data: AppendEntriesData = {
        leaderId: nodeId(d.leaderId, '$.data.leaderId'),
        prevLogIndex: index(d.prevLogIndex, '$.data.prevLogIndex'),
        prevLogTerm: index(d.prevLogTerm, '$.data.prevLogTerm'),
        entries: entries(d.entries, '$.data.entries'),
        leaderCommit: index(d.leaderCommit, '$.data.leaderCommit'),
      };
      if (d.context !== undefined) data.context = index(d.context, '$.data.context');
      return data;
    }
    case MessageType.RequestVote: {
      const data: RequestVoteData = {
        lastLogIndex: index(d.lastLogIndex, '$.data.lastLogIndex'),
        lastLogTerm: d.lastLogTerm === null ? null : index(d.lastLogTerm, '$.data.lastLogTerm'),
      };
      return data;
    }
    case MessageType.RequestVoteResponse: {
      const data: RequestVoteResponseData = { response: bool(d.response, '$.data.response') };
      return data;
    }
    case MessageType.Response: {
      const data: ResponseData = {
        response: bool(d.response, '$.data.response'),
        currentTerm: index(d.currentTerm, '$.data.currentTerm'),
      };
      if (d.matchIndex !== undefined) data.matchIndex = index(d.matchIndex, '$.data.matchIndex');
      if (d.conflictIndex !== undefined) data.conflictIndex = index(d.conflictIndex, '$.data.conflictIndex');
      if (d.conflictTerm !== undefined) data.conflictTerm = index(d.conflictTerm, '$.data.conflictTerm');
      if (d.context !== undefined) data.context = index(d.context, '$.data.context');
      if (d.snapshotOffset !== undefined) data.snapshotOffset = index(d.snapshotOffset, '$.data.snapshotOffset');
      if (d.rejectedIndex !== undefined) data.rejectedIndex = index(d.rejectedIndex, '$.data.rejectedIndex');
      return data;
    }
    case MessageType.InstallSnapshot: {
      const data: InstallSnapshotData = {
        leaderId: nodeId(d.leaderId, '$.data.leaderId'),
        lastIncludedIndex: index(d.lastIncludedIndex, '$.data.lastIncludedIndex'),
        lastIncludedTerm: index(d.lastIncludedTerm, '$.data.lastIncludedTerm'),
        offset: index(d.offset, '$.data.offset'),
        data: base64(d.data, '$.data.data'),
        done: bool(d.done, '$.data.done'),
      };
      return data;
    }
    case MessageType.ClientCommand:
      return { value: jsonValue(d.value, '$.data.value', 0) };
    case MessageType.ReadIndex:
      return { context: messageId(d.context, '$.data.context') };
    case MessageType.ReadIndexResponse:
      return { context: messageId(d.context, '$.data.context'), index: index(d.index, '$.data.index') };
  }
}

function plainObject(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CodecError('bad-field', field, 'expected an object');
  }
  return v as Record<string, unknown>;
}

function checkKeys(obj: Record<string, unknown>, field: string, required: string[], allowed: string[]): void {
  for (const key of Object.keys(obj)) {
    if (FORBIDDEN_KEYS.has(key) || !allowed.includes(key)) {
      throw new CodecError('unexpected-key', `${field}.${key}`, 'key not allowed here');
    }
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) {
      throw new CodecError('missing-field', `${field}.${key}`, 'required');
    }
  }
}

/**
 * A term or log index: an integer in [0, RAFT_NUMBER_LIMIT) (bounds.ts says
 * why the limit sits below 2^53). A whole number at or above it -- 2^53 - 1,
 * 2^63, 1e300 -- is 'out-of-range', so a forged huge term shows in the counters
 * apart from plain garbage; anything else (negative, fractional, not a number)
 * is 'bad-field'.
 */
function index(v: unknown, field: string): number {
  const problem = raftNumberProblem(v);
  if (problem === 'type') throw new CodecError('bad-field', field, 'expected a non-negative integer');
  if (problem === 'range') throw new CodecError('out-of-range', field, `${String(v)} is not below the limit ${RAFT_NUMBER_LIMIT}`);
  return zero(v as number);
}

function nonNegativeNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new CodecError('bad-field', field, 'expected a non-negative number');
  }
  return zero(v);
}

/**
 * JSON "-0" parses to -0, which passes every check above (-0 < 0 is false)
 * but encodes as "0". We read it as 0, so a decoded message equals the
 * decoding of its own encoding.
 */
function zero(v: number): number {
  return v === 0 ? 0 : v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new CodecError('bad-field', field, 'expected true or false');
  return v;
}

/** A node name: a non-empty printable string or a non-negative integer. */
export function nodeId(v: unknown, field: string): NodeId {
  if (typeof v === 'number') return index(v, field);
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NODE_NAME_LENGTH || /[\x00-\x1f\x7f]/.test(v)) {
    throw new CodecError('bad-field', field, `expected a node name (1-${MAX_NODE_NAME_LENGTH} printable characters or an integer)`);
  }
  return v;
}

/**
 * Standard base64 (RFC 4648 §4) with padding, in canonical form: decoding
 * then encoding gives the same text, so no two strings carry the same bytes
 * and nothing is silently skipped by a lenient decoder.
 */
function base64(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw new CodecError('bad-field', field, 'expected standard base64 with padding');
  }
  if (Buffer.from(v, 'base64').toString('base64') !== v) {
    throw new CodecError('bad-field', field, 'base64 not in canonical form');
  }
  return v;
}

function messageId(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) {
    throw new CodecError('bad-field', field, 'expected a string of 1-256 characters');
  }
  return v;
}

function entries(v: unknown, field: string): WireEntry[] {
  if (!Array.isArray(v)) throw new CodecError('bad-field', field, 'expected an array');
  return v.map((e, i) => {
    const f = `${field}[${i}]`;
    const obj = plainObject(e, f);
    checkKeys(obj, f, ['term', 'value'], ['term', 'value']);
    return { term: index(obj.term, `${f}.term`), value: jsonValue(obj.value, `${f}.value`, 0) };
  });
}

/** Any JSON value, copied, with forbidden keys refused and depth bounded. */
function jsonValue(v: unknown, field: string, depth: number): unknown {
  if (depth > MAX_VALUE_DEPTH) throw new CodecError('bad-field', field, `nested deeper than ${MAX_VALUE_DEPTH}`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CodecError('bad-field', field, 'non-finite number');
    return zero(v);
  }
  if (Array.isArray(v)) return v.map((x, i) => jsonValue(x, `${field}[${i}]`, depth + 1));
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (FORBIDDEN_KEYS.has(k)) throw new CodecError('unexpected-key', `${field}.${k}`, 'key not allowed');
      out[k] = jsonValue(x, `${field}.${k}`, depth + 1);
    }
    return out;
  }
  throw new CodecError('bad-field', field, 'not a JSON value');
}
