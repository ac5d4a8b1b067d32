// The wire codec (src/messages/codec.ts, contract in docs/wire-format.md):
// round trips of every message kind, the exact CodecError for each kind of bad
// input, and a seeded fuzz run asserting decodeMessage either returns a message
// that survives re-encoding unchanged or throws CodecError, and nothing else.

import { expect } from 'chai';
import { isDeepStrictEqual } from 'node:util';
import {
  CodecError,
  CodecErrorCode,
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  MAX_NODE_NAME_LENGTH,
  MAX_VALUE_DEPTH,
  tryDecodeMessage,
} from '../../src/messages/codec';
import { MAX_RAFT_NUMBER, RAFT_NUMBER_LIMIT } from '../../src/messages/bounds';
import { Message, MessageType } from '../../src/messages';
import { SeededRng } from '../../src/time/rng';
import { ALL_TYPES, fuzzInput, randomMessage } from './fuzz-inputs';

/** Decode and expect a CodecError with this code and field. */
function expectRejected(input: string | Uint8Array, code: CodecErrorCode, field: string, maxBytes?: number): CodecError {
  let caught: unknown;
  try {
    decodeMessage(input, maxBytes);
  } catch (e) {
    caught = e;
  }
  expect(caught, 'decodeMessage accepted the input').to.be.instanceOf(CodecError);
  const err = caught as CodecError;
  expect({ code: err.code, field: err.field }, err.message).to.deep.equal({ code, field });
  return err;
}

/** encode -> decode gives the same message; decode -> encode gives the same text. */
function roundTrip(message: Message): string {
  const text = encodeMessage(message);
  const decoded = decodeMessage(text);
  expect(decoded).to.deep.equal(message);
  expect(encodeMessage(decoded)).to.equal(text);
  // The same bytes, as a transport hands them over, decode the same way.
  expect(decodeMessage(Buffer.from(text, 'utf8'))).to.deep.equal(message);
  return text;
}

const heartbeat: Message = {
  type: MessageType.AppendEntries,
  sender: 'n1',
  receiver: null,
  term: 3,
  timestamp: 1_700_000_000,
  data: { leaderId: 'n1', prevLogIndex: 7, prevLogTerm: 2, entries: [], leaderCommit: 5 },
};

/** A valid message as a mutable JSON object, for building bad inputs from. */
function valid(over: (m: Record<string, any>) => void, base: Message = heartbeat): string {
  const m = JSON.parse(encodeMessage(base));
  over(m);
  return JSON.stringify(m);
}

/** Insert `"key":value,` right after the first `{` following `after` in the text. */
function insertKey(text: string, after: string, key: string, value: string): string {
  const at = text.indexOf('{', text.indexOf(after)) + 1;
  expect(at, `no object after ${after}`).to.be.greaterThan(0);
  const rest = text.slice(at);
  return `${text.slice(0, at)}${JSON.stringify(key)}:${value}${rest.startsWith('}') ? '' : ','}${rest}`;
}

describe('codec: round trips', () => {
  it('AppendEntries heartbeat (entries: [], broadcast)', () => {
    expect(roundTrip(heartbeat)).to.equal(
      '{"type":0,"sender":"n1","receiver":null,"term":3,"timestamp":1700000000,' +
        '"data":{"leaderId":"n1","prevLogIndex":7,"prevLogTerm":2,"entries":[],"leaderCommit":5}}',
    );
  });

  it('AppendEntries with entries of every JSON value type', () => {
    roundTrip({
      type: MessageType.AppendEntries,
      sender: 'n1',
      receiver: 'n2',
      term: 4,
      timestamp: 0,
      data: {
        leaderId: 'n1',
        prevLogIndex: 0,
        prevLogTerm: 0,
        entries: [
          { term: 1, value: 'set x 1' },
          { term: 1, value: { op: 'put', key: 'k', value: [1, 2.5, -3, null, true, false, 'ü😀\u2028'] } },
          { term: 4, value: null },
          { term: 4, value: 0 },
          { term: 4, value: [[[]], {}] },
        ],
        leaderCommit: 0,
      },
    });
  });

  it('AppendEntries with the read-round context extension', () => {
    roundTrip({ ...heartbeat, data: { ...heartbeat.data, context: 12 } } as Message);
  });

  it('RequestVote, with lastLogTerm null as simpleRaft sends on an empty log', () => {
    const text = roundTrip({
      type: MessageType.RequestVote,
      sender: 'n2',
      receiver: null,
      term: 1,
      timestamp: 1_700_000_000,
      data: { lastLogIndex: 0, lastLogTerm: null },
    });
    expect(text).to.contain('"lastLogTerm":null');
    roundTrip({
      type: MessageType.RequestVote,
      sender: 'n2',
      receiver: 'n3',
      term: 9,
      timestamp: 0,
      data: { lastLogIndex: 12, lastLogTerm: 8 },
    });
  });

  it('RequestVoteResponse granted and denied', () => {
    for (const response of [true, false]) {
      roundTrip({ type: MessageType.RequestVoteResponse, sender: 'n3', receiver: 'n2', term: 1, timestamp: 0, data: { response } });
    }
  });

  it('Response without any extension, as simpleRaft sends it', () => {
    const text = roundTrip({
      type: MessageType.Response,
      sender: 'n2',
      receiver: 'n1',
      term: 3,
      timestamp: 1_700_000_000,
      data: { response: true, currentTerm: 3 },
    });
    expect(text).to.not.match(/matchIndex|conflict|context/);
  });

  it('Response with matchIndex, and with the conflict hint', () => {
    const base = { type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0 } as const;
    roundTrip({ ...base, data: { response: true, currentTerm: 3, matchIndex: 17 } });
    roundTrip({ ...base, data: { response: false, currentTerm: 3, conflictIndex: 5, conflictTerm: 2 } });
    roundTrip({ ...base, data: { response: false, currentTerm: 3, conflictIndex: 9 } });
    roundTrip({ ...base, data: { response: true, currentTerm: 3, matchIndex: 17, context: 4 } });
  });

  it('Response keeps the canonical key order whatever order the fields arrive in', () => {
    const shuffled =
      '{"data":{"conflictTerm":2,"conflictIndex":5,"currentTerm":3,"response":false},' +
      '"id":"m1","timestamp":0,"term":3,"receiver":"n1","sender":"n2","type":3}';
    expect(encodeMessage(decodeMessage(shuffled))).to.equal(
      '{"type":3,"sender":"n2","receiver":"n1","term":3,"timestamp":0,' +
        '"data":{"response":false,"currentTerm":3,"conflictIndex":5,"conflictTerm":2},"id":"m1"}',
    );
  });

  it('InstallSnapshot chunks, and the Response that acknowledges part of one', () => {
    const base = { type: MessageType.InstallSnapshot, sender: 'n1', receiver: 'n3', term: 4, timestamp: 0 } as const;
    roundTrip({ ...base, data: { leaderId: 'n1', lastIncludedIndex: 100, lastIncludedTerm: 4, offset: 0, data: 'eyJrIjoidiJ9', done: false } });
    roundTrip({ ...base, data: { leaderId: 'n1', lastIncludedIndex: 100, lastIncludedTerm: 4, offset: 9, data: '', done: true } });
    roundTrip({ type: MessageType.Response, sender: 'n3', receiver: 'n1', term: 4, timestamp: 0, data: { response: true, currentTerm: 4, snapshotOffset: 9 } });
  });

  it('ClientCommand, ReadIndex and ReadIndexResponse', () => {
    roundTrip({ type: MessageType.ClientCommand, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { value: { put: ['k', 'v'] } }, id: 'n2-1' });
    roundTrip({ type: MessageType.ReadIndex, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { context: 'r-1' } });
    roundTrip({ type: MessageType.ReadIndexResponse, sender: 'n1', receiver: 'n2', term: 3, timestamp: 0, data: { context: 'r-1', index: 40 } });
  });

  it('integer node names, as simpleRaft allows', () => {
    const text = roundTrip({
      type: MessageType.AppendEntries,
      sender: 1,
      receiver: 0,
      term: 2,
      timestamp: 0,
      data: { leaderId: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 },
    });
    expect(text).to.contain('"sender":1,"receiver":0');
    expect(decodeMessage(text).sender).to.be.a('number');
  });

  it('string node names up to the length limit, any printable characters', () => {
    for (const name of ['a', '127.0.0.1:6666', 'ü-名前-🚀', 'n'.repeat(MAX_NODE_NAME_LENGTH)]) {
      roundTrip({ type: MessageType.RequestVoteResponse, sender: name, receiver: name, term: 0, timestamp: 0, data: { response: true } });
    }
  });

  it('the optional id is kept when present and absent when absent', () => {
    const withId = roundTrip({ ...heartbeat, id: 'n1-42' } as Message);
    expect(withId.endsWith(',"id":"n1-42"}')).to.equal(true);
    const without = decodeMessage(encodeMessage(heartbeat));
    expect(Object.prototype.hasOwnProperty.call(without, 'id')).to.equal(false);
  });

  it('reads spellings JSON.stringify never makes as the same numbers (1.0, 1E1, -0)', () => {
    const m = decodeMessage(valid((x) => x).replace('"term":3', '"term":3.0').replace('"leaderCommit":5', '"leaderCommit":5E0'));
    expect(m.term).to.equal(3);
    expect(encodeMessage(m)).to.equal(encodeMessage(heartbeat));
    // -0 is read as 0, so the decoded message equals its own re-decoding.
    const z = decodeMessage(valid((x) => x).replace('"prevLogIndex":7', '"prevLogIndex":-0'));
    expect(Object.is((z.data as { prevLogIndex: number }).prevLogIndex, 0)).to.equal(true);
  });

  it('a message exactly at the size limit is accepted', () => {
    const text = encodeMessage(heartbeat);
    const size = Buffer.byteLength(text);
    expect(decodeMessage(text, size)).to.deep.equal(heartbeat);
    expect(decodeMessage(Buffer.from(text), size)).to.deep.equal(heartbeat);
  });

  it('tryDecodeMessage returns the error instead of throwing', () => {
    const r = tryDecodeMessage('{');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.error.code).to.equal('bad-json');
    const s = tryDecodeMessage(encodeMessage(heartbeat));
    expect(s.ok).to.equal(true);
  });
});

describe('codec: rejections name the code and the field', () => {
  it('oversized input, as text and as bytes, before parsing it', () => {
    const text = encodeMessage(heartbeat);
    const size = Buffer.byteLength(text);
    expectRejected(text, 'too-large', '$', size - 1);
    expectRejected(Buffer.from(text), 'too-large', '$', size - 1);
    // Multi-byte characters count as their UTF-8 bytes, not as characters.
    expectRejected('"' + 'é'.repeat(10) + '"', 'too-large', '$', 21);
    // The default limit; the input would not even parse, so the size is checked first.
    expectRejected('x'.repeat(MAX_MESSAGE_BYTES + 1), 'too-large', '$');
  });

  it('bad JSON', () => {
    for (const bad of ['', '{', '{"type":0,}', "{'type':0}", 'NaN', '{"a":Infinity}', '[1,]', '01', 'null x']) {
      expectRejected(bad, 'bad-json', '$');
    }
  });

  it('a byte order mark, whether the input is text or bytes (RFC 8259 §8.1)', () => {
    const text = encodeMessage(heartbeat);
    expectRejected('\ufeff' + text, 'bad-json', '$');
    expectRejected(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'bad-json', '$');
  });

  it('invalid UTF-8 bytes', () => {
    const text = Buffer.from(valid((m) => (m.data.leaderId = 'AB')));
    const at = text.indexOf('AB');
    for (const bad of [[0xff, 0x41], [0xc3, 0x28], [0xed, 0xa0], [0x80, 0x41], [0xc0, 0xaf]]) {
      const b = Buffer.from(text);
      b[at] = bad[0];
      b[at + 1] = bad[1];
      expectRejected(b, 'bad-json', '$');
    }
    expectRejected(Buffer.from([0xe2, 0x82]), 'bad-json', '$'); // truncated sequence
  });

  it('input that is JSON but not an object', () => {
    for (const v of ['null', '[]', '1', '"x"', 'true']) expectRejected(v, 'bad-field', '$');
    expectRejected(valid((m) => (m.data = [])), 'bad-field', '$.data');
    expectRejected(valid((m) => (m.data = null)), 'bad-field', '$.data');
  });

  it('missing fields at envelope, data and entry level', () => {
    for (const k of ['type', 'sender', 'receiver', 'term', 'timestamp', 'data']) {
      expectRejected(valid((m) => delete m[k]), 'missing-field', `$.${k}`);
    }
    for (const k of ['leaderId', 'prevLogIndex', 'prevLogTerm', 'entries', 'leaderCommit']) {
      expectRejected(valid((m) => delete m.data[k]), 'missing-field', `$.data.${k}`);
    }
    expectRejected(valid((m) => (m.data.entries = [{ term: 1 }])), 'missing-field', '$.data.entries[0].value');
    expectRejected(valid((m) => (m.data.entries = [{ term: 1, value: 1 }, { value: 1 }])), 'missing-field', '$.data.entries[1].term');
    const vote: Message = { type: MessageType.RequestVote, sender: 'a', receiver: null, term: 1, timestamp: 0, data: { lastLogIndex: 0, lastLogTerm: null } };
    expectRejected(valid((m) => delete m.data.lastLogTerm, vote), 'missing-field', '$.data.lastLogTerm');
    const resp: Message = { type: MessageType.Response, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { response: true, currentTerm: 1 } };
    expectRejected(valid((m) => delete m.data.currentTerm, resp), 'missing-field', '$.data.currentTerm');
  });

  it('wrong types', () => {
    expectRejected(valid((m) => (m.term = '3')), 'bad-field', '$.term');
    expectRejected(valid((m) => (m.term = true)), 'bad-field', '$.term');
    expectRejected(valid((m) => (m.term = null)), 'bad-field', '$.term');
    expectRejected(valid((m) => (m.sender = null)), 'bad-field', '$.sender');
    expectRejected(valid((m) => (m.sender = ['a'])), 'bad-field', '$.sender');
    expectRejected(valid((m) => (m.receiver = {})), 'bad-field', '$.receiver');
    expectRejected(valid((m) => (m.timestamp = '2024')), 'bad-field', '$.timestamp');
    expectRejected(valid((m) => (m.data.entries = {})), 'bad-field', '$.data.entries');
    expectRejected(valid((m) => (m.data.entries = ['x'])), 'bad-field', '$.data.entries[0]');
    expectRejected(valid((m) => (m.data.prevLogTerm = null)), 'bad-field', '$.data.prevLogTerm');
    expectRejected(valid((m) => (m.id = 7)), 'bad-field', '$.id');
    expectRejected(valid((m) => (m.id = '')), 'bad-field', '$.id');
    expectRejected(valid((m) => (m.id = 'i'.repeat(257))), 'bad-field', '$.id');
    const vote: Message = { type: MessageType.RequestVoteResponse, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { response: true } };
    expectRejected(valid((m) => (m.data.response = 1), vote), 'bad-field', '$.data.response');
    expectRejected(valid((m) => (m.data.response = 'true'), vote), 'bad-field', '$.data.response');
    const read: Message = { type: MessageType.ReadIndex, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { context: 'r' } };
    expectRejected(valid((m) => (m.data.context = 5), read), 'bad-field', '$.data.context');
  });

  it('InstallSnapshot data that is not canonical padded base64', () => {
    const chunk: Message = {
      type: MessageType.InstallSnapshot, sender: 'n1', receiver: 'n3', term: 4, timestamp: 0,
      data: { leaderId: 'n1', lastIncludedIndex: 1, lastIncludedTerm: 1, offset: 0, data: 'QQ==', done: true },
    };
    expect(decodeMessage(encodeMessage(chunk)).type).to.equal(MessageType.InstallSnapshot);
    for (const bad of ['QR==', 'QQ', 'Q===', 'QUJD=', '=QQ=', 'QU JD', 'QUJD\n', '-_-_', 7, null]) {
      expectRejected(valid((m) => (m.data.data = bad), chunk), 'bad-field', '$.data.data');
    }
    expectRejected(valid((m) => (m.data.done = 1), chunk), 'bad-field', '$.data.done');
  });

  it('node names: empty, too long, control characters, negative', () => {
    expectRejected(valid((m) => (m.sender = '')), 'bad-field', '$.sender');
    expectRejected(valid((m) => (m.sender = 'n'.repeat(MAX_NODE_NAME_LENGTH + 1))), 'bad-field', '$.sender');
    expectRejected(valid((m) => (m.receiver = 'a\nb')), 'bad-field', '$.receiver');
    expectRejected(valid((m) => (m.receiver = 'a\u007fb')), 'bad-field', '$.receiver');
    expectRejected(valid((m) => (m.data.leaderId = -1)), 'bad-field', '$.data.leaderId');
    expectRejected(valid((m) => (m.data.leaderId = 1.5)), 'bad-field', '$.data.leaderId');
  });

  it('negative, fractional and unsafe integers', () => {
    expectRejected(valid((m) => (m.term = -1)), 'bad-field', '$.term');
    expectRejected(valid((m) => (m.term = 1.5)), 'bad-field', '$.term');
    expectRejected(valid((m) => (m.term = 2 ** 53)), 'out-of-range', '$.term');
    expectRejected(valid((m) => (m.data.prevLogIndex = 0.1)), 'bad-field', '$.data.prevLogIndex');
    expectRejected(valid((m) => (m.data.leaderCommit = -5)), 'bad-field', '$.data.leaderCommit');
    expectRejected(valid((m) => (m.data.entries = [{ term: -1, value: 1 }])), 'bad-field', '$.data.entries[0].term');
    expectRejected(valid((m) => (m.timestamp = -1)), 'bad-field', '$.timestamp');
    // Spelled so that JSON.stringify could not: 2^53 + 1, and an overflow to Infinity.
    expectRejected(encodeMessage(heartbeat).replace('"term":3', '"term":9007199254740993'), 'out-of-range', '$.term');
    expectRejected(encodeMessage(heartbeat).replace('"term":3', '"term":1e400'), 'bad-field', '$.term');
    expectRejected(encodeMessage(heartbeat).replace('"timestamp":1700000000', '"timestamp":1e400'), 'bad-field', '$.timestamp');
  });

  it('unknown type codes', () => {
    const next = Math.max(...ALL_TYPES) + 1; // the first code not yet defined
    for (const t of [next, 99, -1, 0.5, 1e21, '0', null, true, [0]]) {
      expectRejected(valid((m) => (m.type = t)), 'unknown-type', '$.type');
    }
  });

  it('unexpected keys at envelope, data and entry level', () => {
    expectRejected(valid((m) => (m.extra = 1)), 'unexpected-key', '$.extra');
    expectRejected(valid((m) => (m.data.matchIndex = 1)), 'unexpected-key', '$.data.matchIndex'); // a Response key on AppendEntries
    expectRejected(valid((m) => (m.data.entries = [{ term: 1, value: 1, index: 1 }])), 'unexpected-key', '$.data.entries[0].index');
    // Array-index keys come first in a JavaScript object, so the error names them first.
    expectRejected(valid((m) => { m.zzz = 1; m['1'] = 1; }), 'unexpected-key', '$.1');
  });

  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`${key} as a key anywhere: envelope, data, entry, and nested in entry and command values`, () => {
      const text = encodeMessage({
        ...heartbeat,
        data: { ...heartbeat.data, entries: [{ term: 1, value: { a: [{ b: 1 }] } }] },
      } as Message);
      expectRejected(insertKey(text, '', key, '{"polluted":true}'), 'unexpected-key', `$.${key}`);
      expectRejected(insertKey(text, '"data"', key, '1'), 'unexpected-key', `$.data.${key}`);
      expectRejected(insertKey(text, '"entries"', key, '1'), 'unexpected-key', `$.data.entries[0].${key}`);
      expectRejected(insertKey(text, '"value"', key, '{"polluted":true}'), 'unexpected-key', `$.data.entries[0].value.${key}`);
      expectRejected(insertKey(text, '"a"', key, '{"polluted":true}'), 'unexpected-key', `$.data.entries[0].value.a[0].${key}`);
      const cmd = encodeMessage({ type: MessageType.ClientCommand, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { value: { x: {} } } });
      expectRejected(insertKey(cmd, '"x"', key, '{"polluted":true}'), 'unexpected-key', `$.data.value.x.${key}`);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });
  }

  it('values nested deeper than MAX_VALUE_DEPTH, in entries and in commands', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const entry = (v: string) => valid((m) => (m.data.entries = [{ term: 1, value: 0 }])).replace('"value":0', `"value":${v}`);
    // A value of n nested arrays holds values down to depth n - 1; the limit is on that depth.
    expect(decodeMessage(entry(nest(MAX_VALUE_DEPTH + 1))).type).to.equal(MessageType.AppendEntries);
    const err = expectRejected(entry(nest(MAX_VALUE_DEPTH + 2)), 'bad-field', '$.data.entries[0].value' + '[0]'.repeat(MAX_VALUE_DEPTH + 1));
    expect(err.message).to.contain('deeper');
    const cmd = encodeMessage({ type: MessageType.ClientCommand, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { value: 0 } });
    const deepObject = '{"k":'.repeat(MAX_VALUE_DEPTH + 2) + '1' + '}'.repeat(MAX_VALUE_DEPTH + 2);
    expectRejected(cmd.replace('"value":0', `"value":${deepObject}`), 'bad-field', '$.data.value' + '.k'.repeat(MAX_VALUE_DEPTH + 1));
    // Nesting far beyond any stack is still a CodecError, wherever it is.
    expectRejected(nest(200_000), 'bad-field', '$');
    expectRejected(entry(nest(200_000)), 'bad-field', '$.data.entries[0].value' + '[0]'.repeat(MAX_VALUE_DEPTH + 1));
  });

  it('non-finite numbers in values (1e400 overflows to Infinity)', () => {
    const cmd = encodeMessage({ type: MessageType.ClientCommand, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { value: [0] } });
    expectRejected(cmd.replace('[0]', '[1e400]'), 'bad-field', '$.data.value[0]');
  });
});

describe('codec: every term and index is bounded below RAFT_NUMBER_LIMIT (bounds.ts)', () => {
  // Each field that carries a term or an index, in a message of its type.
  const vote: Message = { type: MessageType.RequestVote, sender: 'n2', receiver: null, term: 4, timestamp: 0, data: { lastLogIndex: 9, lastLogTerm: 3 } };
  const reply: Message = {
    type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0,
    data: { response: false, currentTerm: 3, matchIndex: 1, conflictIndex: 2, conflictTerm: 1, context: 4, snapshotOffset: 5 },
  };
  const chunk: Message = {
    type: MessageType.InstallSnapshot, sender: 'n1', receiver: 'n2', term: 3, timestamp: 0,
    data: { leaderId: 'n1', lastIncludedIndex: 10, lastIncludedTerm: 2, offset: 0, data: '', done: true },
  };
  const readReply: Message = { type: MessageType.ReadIndexResponse, sender: 'n1', receiver: 'n2', term: 3, timestamp: 0, data: { context: 'r', index: 4 } };
  const withEntry: Message = { ...heartbeat, data: { ...heartbeat.data, entries: [{ term: 2, value: 1 }] } } as Message;
  const FIELDS: [Message, (m: Record<string, any>, v: unknown) => void, string][] = [
    [heartbeat, (m, v) => (m.term = v), '$.term'],
    [heartbeat, (m, v) => (m.sender = v), '$.sender'],
    [heartbeat, (m, v) => (m.data.prevLogIndex = v), '$.data.prevLogIndex'],
    [heartbeat, (m, v) => (m.data.prevLogTerm = v), '$.data.prevLogTerm'],
    [heartbeat, (m, v) => (m.data.leaderCommit = v), '$.data.leaderCommit'],
    [withEntry, (m, v) => (m.data.entries[0].term = v), '$.data.entries[0].term'],
    [vote, (m, v) => (m.data.lastLogIndex = v), '$.data.lastLogIndex'],
    [vote, (m, v) => (m.data.lastLogTerm = v), '$.data.lastLogTerm'],
    ...['currentTerm', 'matchIndex', 'conflictIndex', 'conflictTerm', 'context', 'snapshotOffset'].map(
      (k) => [reply, (m: Record<string, any>, v: unknown) => (m.data[k] = v), `$.data.${k}`] as [Message, (m: Record<string, any>, v: unknown) => void, string],
    ),
    [chunk, (m, v) => (m.data.lastIncludedIndex = v), '$.data.lastIncludedIndex'],
    [chunk, (m, v) => (m.data.lastIncludedTerm = v), '$.data.lastIncludedTerm'],
    [chunk, (m, v) => (m.data.offset = v), '$.data.offset'],
    [readReply, (m, v) => (m.data.index = v), '$.data.index'],
  ];
  /** The message with the field spelled exactly `spelled` (which JSON.stringify may not be able to write). */
  const spell = (base: Message, set: (m: Record<string, any>, v: unknown) => void, spelled: string): string =>
    valid((m) => set(m, '@@number@@'), base).replace('"@@number@@"', spelled);

  it('accepts the largest, MAX_RAFT_NUMBER = 2^53 - 2^20 - 1, in every field', () => {
    expect(MAX_RAFT_NUMBER).to.equal(2 ** 53 - 2 ** 20 - 1);
    for (const [base, set, field] of FIELDS) {
      const m = decodeMessage(spell(base, set, String(MAX_RAFT_NUMBER)));
      expect(encodeMessage(m), field).to.include(String(MAX_RAFT_NUMBER));
    }
  });

  it('refuses, as out-of-range, the limit itself, 2^53 - 1, 2^53, 2^63 and exponent notation, in every field', () => {
    const spellings = [String(RAFT_NUMBER_LIMIT), String(RAFT_NUMBER_LIMIT + 1), '9007199254740991', '9007199254740992', '9223372036854775808', '1e300', '1E16', '9.007199254740991e15'];
    for (const [base, set, field] of FIELDS) {
      for (const spelled of spellings) expectRejected(spell(base, set, spelled), 'out-of-range', field);
    }
  });

  it('refuses, as bad-field, negative and fractional numbers, in every field', () => {
    for (const [base, set, field] of FIELDS) {
      for (const spelled of ['-1', '-1e300', '0.5', '1e-300', '1e400']) {
        expectRejected(spell(base, set, spelled), 'bad-field', field);
      }
    }
  });

  it('seeded: whole numbers below the limit pass unchanged, at or above it are out-of-range', () => {
    const rng = new SeededRng(18);
    for (let i = 0; i < 2000; i++) {
      const [base, set, field] = FIELDS[rng.int(0, FIELDS.length)];
      // Around the limit (within 2^21 either side) or anywhere up to 2^64.
      const near = RAFT_NUMBER_LIMIT + rng.int(-(2 ** 21), 2 ** 21);
      const v = rng.chance(0.5) ? near : Math.floor(rng.next() * 2 ** 64);
      const text = spell(base, set, String(v));
      if (v < RAFT_NUMBER_LIMIT) expect(encodeMessage(decodeMessage(text)), field).to.equal(text);
      else expectRejected(text, 'out-of-range', field);
    }
  });
});

describe('codec: fuzz', function () {
  this.timeout(120_000);
  const SEED = 20_240_601;
  const N = 100_000;

  it(`${N} random and mutated inputs: a message that re-encodes to itself, or a CodecError`, () => {
    const rng = new SeededRng(SEED);
    const protoNames = Object.getOwnPropertyNames(Object.prototype).sort().join();
    const arrayProtoNames = Object.getOwnPropertyNames(Array.prototype).sort().join();
    const codes = new Map<string, number>();
    const hows = new Map<string, number>();
    let accepted = 0;
    const started = Date.now();
    for (let i = 0; i < N; i++) {
      const { input, maxBytes, how } = fuzzInput(rng);
      const where = () =>
        `seed ${SEED}, input #${i} (${how}): ${typeof input === 'string' ? JSON.stringify(input.slice(0, 300)) : Buffer.from(input).toString('hex').slice(0, 600)}`;
      let message: Message;
      try {
        message = decodeMessage(input, maxBytes);
      } catch (e) {
        if (!(e instanceof CodecError)) throw new Error(`threw ${String(e)}, not a CodecError; ${where()}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        continue;
      }
      accepted++;
      hows.set(how, (hows.get(how) ?? 0) + 1);
      const text = encodeMessage(message);
      let again: Message;
      try {
        again = decodeMessage(text);
      } catch (e) {
        throw new Error(`re-encoding was rejected (${String(e)}): ${text.slice(0, 300)}; ${where()}`);
      }
      if (!isDeepStrictEqual(again, message)) {
        expect(again, `decode(encode(m)) differs from m; ${where()}`).to.deep.equal(message);
        throw new Error(`decode(encode(m)) differs from m; ${where()}`);
      }
      if (encodeMessage(again) !== text) throw new Error(`encoding is not stable; ${where()}`);
      if (i % 1000 === 0 || how.includes('tree')) {
        for (const key in {}) throw new Error(`Object.prototype polluted with ${key}; ${where()}`);
      }
    }
    const elapsed = Date.now() - started;
    expect(Object.getOwnPropertyNames(Object.prototype).sort().join()).to.equal(protoNames);
    expect(Object.getOwnPropertyNames(Array.prototype).sort().join()).to.equal(arrayProtoNames);
    // The inputs reach every path: messages of every kind get through, and every error code occurs.
    expect(accepted, 'too few inputs accepted').to.be.greaterThan(N / 10);
    expect([...codes.keys()].sort()).to.deep.equal(
      ['bad-field', 'bad-json', 'missing-field', 'out-of-range', 'too-large', 'unexpected-key', 'unknown-type'],
    );
    for (const [code, n] of codes) expect(n, `only ${n} inputs rejected with ${code}`).to.be.greaterThan(100);
    expect([...hows.keys()].some((h) => h.includes('tree')), 'no mutated input was accepted').to.equal(true);
    if (process.env.FUZZ_VERBOSE) console.log({ elapsed, accepted, codes, hows });
    expect(elapsed, 'the fuzz run is too slow for the suite').to.be.lessThan(60_000);
  });

  it('every message kind from the generator round-trips', () => {
    const rng = new SeededRng(SEED + 1);
    const seen = new Set<MessageType>();
    for (let i = 0; i < 2000; i++) {
      const m = randomMessage(rng);
      seen.add(m.type);
      const text = encodeMessage(m);
      const decoded = decodeMessage(text);
      expect(encodeMessage(decoded), text).to.equal(text);
    }
    expect([...seen].sort()).to.deep.equal([...ALL_TYPES].sort());
  });
});
