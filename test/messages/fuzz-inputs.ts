// Seeded generators of wire inputs for the codec's property tests: valid
// messages of every kind, random JSON, and valid encodings mutated the ways a
// network or a hostile peer mutates them (bit flips, truncation, keys deleted
// or inserted, values swapped for the wrong type, numbers rewritten, nesting
// deepened). Shared by test/messages/codec.test.ts and the differential test
// against the Python decoder (test/interop/python-vectors.test.ts).

import { encodeMessage, MAX_NODE_NAME_LENGTH, MAX_VALUE_DEPTH } from '../../src/messages/codec';
import { MAX_RAFT_NUMBER, RAFT_NUMBER_LIMIT } from '../../src/messages/bounds';
import { Message, MessageType, NodeId, WireEntry } from '../../src/messages';
import { SeededRng } from '../../src/time/rng';

export interface FuzzInput {
  /** What goes to decodeMessage: text, or raw bytes (possibly invalid UTF-8). */
  input: string | Uint8Array;
  /** A size limit to pass instead of the default, when the case tests the limit. */
  maxBytes?: number;
  /** How the input was made, for failure reports. */
  how: string;
}

/** Every type code the codec knows, read from the enum so new kinds are fuzzed too. */
export const ALL_TYPES: MessageType[] = Object.values(MessageType).filter(
  (v): v is MessageType => typeof v === 'number',
);

function pick<T>(rng: SeededRng, xs: readonly T[]): T {
  return xs[rng.int(0, xs.length)];
}

const NAMES: NodeId[] = [
  'a',
  'node-1',
  '127.0.0.1:6666',
  'tcp://localhost:6667',
  'ü-名前-🚀',
  'n'.repeat(MAX_NODE_NAME_LENGTH),
  0,
  1,
  2,
  42,
  MAX_RAFT_NUMBER, // integer names share the bound on terms and indices
];

function randomIndex(rng: SeededRng): number {
  switch (rng.int(0, 5)) {
    case 0:
      return 0;
    case 1:
      return rng.int(1, 10);
    case 2:
      return rng.int(0, 1_000_000);
    case 3:
      return MAX_RAFT_NUMBER - rng.int(0, 3); // at the bound (bounds.ts)
    default:
      return rng.int(0, 100);
  }
}

const STRINGS = [
  '',
  'x',
  'set k v',
  'quote " backslash \\ slash /',
  'control \u0000\u0001\b\f\n\r\t\u001f\u007f',
  'line sep \u2028 para sep \u2029',
  'lone \ud800 high',
  'lone \udfff low',
  'pair 😀',
  'ünïcödé 名前',
  '__proto__',
  'constructor',
];

function randomString(rng: SeededRng): string {
  if (rng.chance(0.6)) return pick(rng, STRINGS);
  let s = '';
  const n = rng.int(0, 12);
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.chance(0.8) ? rng.int(0x20, 0x7f) : rng.int(0, 0x10000));
  return s;
}

const NUMBERS = [0, 1, -1, 0.1, 0.5, -2.5, 1e21, 1e-7, 123456789.125, 5e-324, 1.7976931348623157e308, 2 ** 53, 2 ** 60, 100, 1e300];

function randomNumber(rng: SeededRng): number {
  switch (rng.int(0, 4)) {
    case 0:
      return pick(rng, NUMBERS);
    case 1:
      return rng.int(-1000, 1000);
    case 2:
      return (rng.next() - 0.5) * 10 ** rng.int(-10, 25);
    default:
      return rng.next();
  }
}

// Keys for random objects: ordinary ones and integer-like ones, whose order
// JavaScript objects rearrange (array-index keys first, ascending).
const VALUE_KEYS = ['k', 'value', 'b', 'a', '1', '0', '10', '2', '01', '4294967295', 'term', 'ä', ''];

/** A random JSON value nested at most `depth` levels (no forbidden keys). */
export function randomJson(rng: SeededRng, depth: number): unknown {
  const kind = depth <= 0 ? rng.int(0, 4) : rng.int(0, 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return randomNumber(rng);
    case 3:
      return randomString(rng);
    case 4: {
      const n = rng.int(0, 4);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(randomJson(rng, depth - 1));
      return out;
    }
    default: {
      const n = rng.int(0, 4);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) out[pick(rng, VALUE_KEYS)] = randomJson(rng, depth - 1);
      return out;
    }
  }
}

function randomEntries(rng: SeededRng): WireEntry[] {
  const n = rng.chance(0.3) ? 0 : rng.int(1, 5);
  const out: WireEntry[] = [];
  for (let i = 0; i < n; i++) out.push({ term: randomIndex(rng), value: randomJson(rng, 3) });
  return out;
}

/** A random valid message of any kind, with every optional field sometimes present. */
export function randomMessage(rng: SeededRng): Message {
  const type = pick(rng, ALL_TYPES);
  const sender = pick(rng, NAMES);
  const receiver = rng.chance(0.3) ? null : pick(rng, NAMES);
  const term = randomIndex(rng);
  const timestamp = rng.chance(0.5) ? 0 : rng.chance(0.8) ? 1_700_000_000 + rng.int(0, 1e6) : rng.next() * 1e9;
  const base = { sender, receiver, term, timestamp };
  const withId = <M extends Message>(m: M): M => {
    if (rng.chance(0.3)) m.id = rng.chance(0.5) ? `${sender}-${rng.int(0, 1e6)}` : randomString(rng) || 'i';
    return m;
  };
  switch (type) {
    case MessageType.AppendEntries: {
      const m: Message = {
        ...base,
        type,
        data: {
          leaderId: sender,
          prevLogIndex: randomIndex(rng),
          prevLogTerm: randomIndex(rng),
          entries: randomEntries(rng),
          leaderCommit: randomIndex(rng),
        },
      };
      if (rng.chance(0.2)) m.data.context = randomIndex(rng);
      return withId(m);
    }
    case MessageType.RequestVote:
      return withId({
        ...base,
        type,
        data: { lastLogIndex: randomIndex(rng), lastLogTerm: rng.chance(0.3) ? null : randomIndex(rng) },
      });
    case MessageType.RequestVoteResponse:
      return withId({ ...base, type, data: { response: rng.chance(0.5) } });
    case MessageType.Response: {
      const m: Message = { ...base, type, data: { response: rng.chance(0.5), currentTerm: randomIndex(rng) } };
      if (rng.chance(0.4)) m.data.matchIndex = randomIndex(rng);
      if (rng.chance(0.3)) m.data.conflictIndex = randomIndex(rng);
      if (rng.chance(0.3)) m.data.conflictTerm = randomIndex(rng);
      if (rng.chance(0.2)) m.data.context = randomIndex(rng);
      if (rng.chance(0.2)) m.data.snapshotOffset = randomIndex(rng);
      if (rng.chance(0.3)) m.data.rejectedIndex = randomIndex(rng);
      return withId(m);
    }
    case MessageType.InstallSnapshot: {
      const bytes = Buffer.alloc(rng.int(0, 40));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 256);
      return withId({
        ...base,
        type,
        data: {
          leaderId: sender,
          lastIncludedIndex: randomIndex(rng),
          lastIncludedTerm: randomIndex(rng),
          offset: randomIndex(rng),
          data: bytes.toString('base64'),
          done: rng.chance(0.5),
        },
      });
    }
    case MessageType.ClientCommand:
      return withId({ ...base, type, data: { value: randomJson(rng, 4) } });
    case MessageType.ReadIndex:
      return withId({ ...base, type, data: { context: `read-${rng.int(0, 1e6)}` } });
    case MessageType.ReadIndexResponse:
      return withId({ ...base, type, data: { context: `read-${rng.int(0, 1e6)}`, index: randomIndex(rng) } });
    case MessageType.InstallSnapshot: {
      const bytes = Buffer.from(Array.from({ length: rng.int(0, 48) }, () => rng.int(0, 256)));
      const data = {
        leaderId: base.sender,
        lastIncludedIndex: randomIndex(rng),
        lastIncludedTerm: randomIndex(rng),
        offset: randomIndex(rng),
        data: bytes.toString('base64'),
        done: rng.chance(0.5),
      };
      return withId({ ...base, type, data });
    }
    default: {
      // A new message kind was added to MessageType: teach this generator to make it.
      const unhandled: never = type;
      throw new Error(`randomMessage: no generator for type ${String(unhandled)}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Mutations

type Container = Record<string, unknown> | unknown[];

/** Every object and array in a parsed value, with the root first. */
function containers(v: unknown, out: Container[] = []): Container[] {
  if (typeof v === 'object' && v !== null) {
    out.push(v as Container);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

/** Set an own, enumerable property even for `__proto__` (plain assignment would set the prototype). */
function defineKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const INSERT_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'extra',
  'id',
  'matchIndex',
  'conflictTerm',
  'context',
  'value',
  'term',
  'entries',
  'receiver',
  '1',
  'toString',
  'hasOwnProperty',
];

function deepValue(rng: SeededRng): unknown {
  const depth = MAX_VALUE_DEPTH - 3 + rng.int(0, 8);
  let v: unknown = rng.chance(0.5) ? 1 : {};
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : { d: v };
  return v;
}

/** A value of some type, often the wrong one for wherever it lands. */
function swapValue(rng: SeededRng): unknown {
  switch (rng.int(0, 16)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return -1;
    case 3:
      return 0.5;
    case 4:
      // Whole numbers at and beyond the bound on terms and indices (bounds.ts).
      return pick(rng, [RAFT_NUMBER_LIMIT, RAFT_NUMBER_LIMIT + 1, Number.MAX_SAFE_INTEGER, 2 ** 53, 2 ** 63, 1e300]);
    case 5:
      return '';
    case 6:
      return 'x';
    case 7:
      return [];
    case 8:
      return {};
    case 9:
      return pick(rng, ['c\u0001trl', 'QQ==', 'QR==', 'QQ', 'Q===', '====', 'QUJD\nRA==', 'QUJD']);
    case 10:
      return 'n'.repeat(MAX_NODE_NAME_LENGTH + 1);
    case 11:
      return 'i'.repeat(257);
    case 12:
      return deepValue(rng);
    case 13:
      return JSON.parse('{"__proto__":{"polluted":true}}');
    case 14:
      return rng.int(0, 10);
    default:
      return randomJson(rng, 2);
  }
}

function mutateTree(rng: SeededRng, root: unknown): string {
  const all = containers(root);
  if (all.length === 0) return JSON.stringify(swapValue(rng));
  const target = pick(rng, all);
  const keys = Object.keys(target);
  const op = rng.int(0, 3);
  if (Array.isArray(target)) {
    if (op === 0 && target.length > 0) target.splice(rng.int(0, target.length), 1);
    else if (op === 1 || target.length === 0) target.splice(rng.int(0, target.length + 1), 0, swapValue(rng));
    else target[rng.int(0, target.length)] = swapValue(rng);
  } else if (op === 0 && keys.length > 0) {
    delete target[pick(rng, keys)]; // key deletion
  } else if (op === 1 || keys.length === 0) {
    defineKey(target, pick(rng, INSERT_KEYS), swapValue(rng)); // key insertion
  } else {
    defineKey(target, pick(rng, keys), swapValue(rng)); // type swap
  }
  return JSON.stringify(root);
}

// Number spellings that JSON.stringify never produces: -0, overflow, exponents,
// fractions that are whole, integers beyond 2^53, and some that are not JSON.
const NUMBER_TEXTS = [
  '-0',
  '-0.0',
  '-1',
  '1.5',
  '1.0',
  '1E2',
  '1e400',
  '-1e400',
  '9007199254740993',
  '9007199254740991',
  '1' + '0'.repeat(400),
  '0.0000001',
  '5e-324',
  '2e-400',
  'NaN',
  'Infinity',
  '01',
  '1e',
  '-',
  '1.',
  '.5',
  '0x10',
];

function mutateText(rng: SeededRng, text: string): string {
  switch (rng.int(0, 7)) {
    case 0: {
      // Rewrite one number.
      const numbers = [...text.matchAll(/-?\d+(\.\d+)?([eE][-+]?\d+)?/g)];
      if (numbers.length === 0) return text;
      const m = pick(rng, numbers);
      return text.slice(0, m.index) + pick(rng, NUMBER_TEXTS) + text.slice(m.index! + m[0].length);
    }
    case 1: {
      // Insert a key right after some '{' (a duplicate of a known key, or a forbidden one).
      const opens = [...text.matchAll(/\{/g)];
      if (opens.length === 0) return text;
      const at = pick(rng, opens).index! + 1;
      const key = pick(rng, INSERT_KEYS);
      const value = pick(rng, ['{"polluted":true}', '1', 'null', '"x"', '[]', '{}']);
      const rest = text.slice(at);
      return text.slice(0, at) + JSON.stringify(key) + ':' + value + (rest.startsWith('}') ? '' : ',') + rest;
    }
    case 2:
      // Deep nesting, well beyond any recursion limit.
      return '['.repeat(rng.int(1, 5000)) + (rng.chance(0.5) ? text : '') + ']'.repeat(rng.int(0, 5000));
    case 3:
      return pick(rng, ['\ufeff', ' ', '\n', '\t', '\u00a0', '\r\n']) + text + pick(rng, ['', ' ', '\n', 'x', ',', '}']);
    case 4: {
      // Replace one character by a JSON-significant one.
      const i = rng.int(0, text.length);
      return text.slice(0, i) + pick(rng, ['"', '\\', '{', '}', '[', ']', ',', ':', '\u0000', '\ud800']) + text.slice(i + 1);
    }
    case 5:
      return text.replace(/"type":\d+/, `"type":${pick(rng, ['4', '8', '9', '-1', '0.5', '"0"', 'null', '1e0', '3.0', '-0'])}`);
    default:
      return text.slice(0, rng.int(0, text.length)); // truncation
  }
}

function mutateBytes(rng: SeededRng, text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return bytes;
  const op = rng.int(0, 3);
  if (op === 0) {
    // Byte flips.
    const n = rng.int(1, 4);
    for (let i = 0; i < n; i++) bytes[rng.int(0, bytes.length)] ^= 1 << rng.int(0, 8);
    return bytes;
  }
  if (op === 1) {
    // Bytes set to values that break UTF-8 or JSON.
    const n = rng.int(1, 3);
    for (let i = 0; i < n; i++) {
      bytes[rng.int(0, bytes.length)] = pick(rng, [0x00, 0x22, 0x5c, 0x7b, 0x7d, 0x80, 0xbf, 0xc0, 0xc3, 0xed, 0xf4, 0xf8, 0xff]);
    }
    return bytes;
  }
  return bytes.subarray(0, rng.int(0, bytes.length)); // truncation, possibly inside a UTF-8 sequence
}

/** One fuzz input: random JSON, or a valid encoding mutated one to three times. */
export function fuzzInput(rng: SeededRng): FuzzInput {
  const r = rng.next();
  if (r < 0.15) {
    // Random JSON, sometimes shaped like an envelope.
    const v = randomJson(rng, 4);
    if (rng.chance(0.5)) {
      const env: Record<string, unknown> = {};
      for (const k of ['type', 'sender', 'receiver', 'term', 'timestamp', 'data', 'id']) {
        if (rng.chance(0.8)) env[k] = k === 'type' ? rng.int(0, 9) : k === 'data' ? randomJson(rng, 2) : swapValue(rng);
      }
      return { input: JSON.stringify(env), how: 'random envelope' };
    }
    return { input: JSON.stringify(v) ?? 'null', how: 'random json' };
  }
  const message = randomMessage(rng);
  const text = encodeMessage(message);
  if (r < 0.22) return { input: text, how: 'valid' };
  if (r < 0.27) {
    // The size limit: a limit near the message's own size.
    const size = Buffer.byteLength(text, 'utf8');
    return { input: text, maxBytes: Math.max(0, size + rng.int(-3, 3)), how: 'size limit' };
  }
  if (r < 0.45) return { input: mutateBytes(rng, text), how: 'bytes' };
  let out = text;
  const rounds = rng.int(1, 4);
  const how: string[] = [];
  for (let i = 0; i < rounds; i++) {
    if (rng.chance(0.6)) {
      let tree: unknown;
      try {
        tree = JSON.parse(out);
      } catch {
        tree = undefined;
      }
      if (tree !== undefined) {
        out = mutateTree(rng, tree);
        how.push('tree');
        continue;
      }
    }
    out = mutateText(rng, out);
    how.push('text');
  }
  return { input: out, how: how.join('+') };
}
