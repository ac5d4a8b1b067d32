// The golden vectors of the wire format (interop/vectors/), as typed cases.
// test/messages/vectors.test.ts checks that the files on disk are exactly
// what encodeMessage makes of these messages, and that each invalid file is
// refused with its code; the Python bridge's tests read the same files.
//
// To add a case: add it here, run the vectors test with REWRITE_VECTORS=1 to
// write the files, and review the diff (as etcd's datadriven tests do).

import { CodecErrorCode, encodeMessage } from '../../src/messages/codec';
import { MAX_RAFT_NUMBER } from '../../src/messages/bounds';
import { Message, MessageType } from '../../src/messages';

export interface ValidVector {
  /** File name without the .json extension. */
  name: string;
  note: string;
  message: Message;
}

export interface InvalidVector {
  /** File name, in interop/vectors/invalid/. */
  file: string;
  note: string;
  bytes: Buffer;
  code: CodecErrorCode;
  field: string;
  /** A size limit to decode with instead of the default. */
  maxBytes?: number;
}

const T = 1_700_000_000; // a whole-second timestamp, as simpleRaft's int(time.time())

export const VALID_VECTORS: ValidVector[] = [
  {
    name: 'append-entries-heartbeat',
    note: 'AppendEntries heartbeat (entries: []) broadcast to every peer (receiver null), on an empty log',
    message: {
      type: MessageType.AppendEntries, sender: 'n1', receiver: null, term: 2, timestamp: T,
      data: { leaderId: 'n1', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0 },
    },
  },
  {
    name: 'append-entries-largest-numbers',
    note: 'every term and index at MAX_RAFT_NUMBER = 2^53 - 2^20 - 1, the largest accepted (bounds.ts)',
    message: {
      type: MessageType.AppendEntries, sender: 'n1', receiver: 'n2', term: MAX_RAFT_NUMBER, timestamp: T,
      data: {
        leaderId: 'n1', prevLogIndex: MAX_RAFT_NUMBER, prevLogTerm: MAX_RAFT_NUMBER,
        entries: [{ term: MAX_RAFT_NUMBER, value: null }], leaderCommit: MAX_RAFT_NUMBER,
      },
    },
  },
  {
    name: 'append-entries-heartbeat-to-peer',
    note: 'AppendEntries heartbeat to one peer, past the first entries',
    message: {
      type: MessageType.AppendEntries, sender: 'n1', receiver: 'n2', term: 3, timestamp: T,
      data: { leaderId: 'n1', prevLogIndex: 5, prevLogTerm: 2, entries: [], leaderCommit: 5 },
    },
  },
  {
    name: 'append-entries-with-entries',
    note: 'AppendEntries carrying entries {term, value}; their indices are prevLogIndex+1, +2',
    message: {
      type: MessageType.AppendEntries, sender: 'n1', receiver: 'n2', term: 3, timestamp: T,
      data: {
        leaderId: 'n1', prevLogIndex: 5, prevLogTerm: 2,
        entries: [{ term: 2, value: 'set x 1' }, { term: 3, value: { op: 'put', key: 'k', value: 'v' } }],
        leaderCommit: 5,
      },
    },
  },
  {
    name: 'append-entries-integer-names',
    note: 'integer node names, as simpleRaft allows',
    message: {
      type: MessageType.AppendEntries, sender: 1, receiver: 2, term: 1, timestamp: T,
      data: { leaderId: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, value: 42 }], leaderCommit: 0 },
    },
  },
  {
    name: 'append-entries-with-id',
    note: 'the optional message id (extension), as gossip transports use to drop duplicates',
    message: {
      type: MessageType.AppendEntries, sender: 'n1', receiver: null, term: 4, timestamp: 0,
      data: { leaderId: 'n1', prevLogIndex: 9, prevLogTerm: 4, entries: [], leaderCommit: 9 },
      id: 'n1-17',
    },
  },
  {
    name: 'append-entries-read-context',
    note: 'AppendEntries with the read-round context extension (ReadIndex, thesis §6.4)',
    message: {
      type: MessageType.AppendEntries, sender: 'n1', receiver: 'n3', term: 4, timestamp: 0,
      data: { leaderId: 'n1', prevLogIndex: 9, prevLogTerm: 4, entries: [], leaderCommit: 9, context: 7 },
    },
  },
  {
    name: 'request-vote-empty-log',
    note: 'RequestVote broadcast by a candidate with an empty log: lastLogTerm null, as simpleRaft sends',
    message: {
      type: MessageType.RequestVote, sender: 'n2', receiver: null, term: 1, timestamp: T,
      data: { lastLogIndex: 0, lastLogTerm: null },
    },
  },
  {
    name: 'request-vote',
    note: 'RequestVote to one peer (candidateId is the sender)',
    message: {
      type: MessageType.RequestVote, sender: 'n2', receiver: 'n3', term: 7, timestamp: T,
      data: { lastLogIndex: 12, lastLogTerm: 6 },
    },
  },
  {
    name: 'request-vote-integer-names',
    note: 'RequestVote between integer-named nodes',
    message: {
      type: MessageType.RequestVote, sender: 3, receiver: 0, term: 2, timestamp: T,
      data: { lastLogIndex: 1, lastLogTerm: 1 },
    },
  },
  {
    name: 'request-vote-response-granted',
    note: 'RequestVoteResponse, vote granted (response is the paper\'s voteGranted)',
    message: { type: MessageType.RequestVoteResponse, sender: 'n3', receiver: 'n2', term: 7, timestamp: T, data: { response: true } },
  },
  {
    name: 'request-vote-response-denied',
    note: 'RequestVoteResponse, vote denied',
    message: { type: MessageType.RequestVoteResponse, sender: 'n1', receiver: 'n2', term: 7, timestamp: T, data: { response: false } },
  },
  {
    name: 'request-vote-response-unicode-names',
    note: 'node names with non-ASCII characters (written as UTF-8, not escaped)',
    message: { type: MessageType.RequestVoteResponse, sender: 'nœud-α', receiver: 'ノード-2', term: 1, timestamp: T, data: { response: true } },
  },
  {
    name: 'response-simpleraft',
    note: 'Response as simpleRaft sends it: response and currentTerm only, no matchIndex',
    message: { type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: T, data: { response: true, currentTerm: 3 } },
  },
  {
    name: 'response-stale-term',
    note: 'Response rejecting a message with a stale term, without any hint, as simpleRaft sends',
    message: { type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 2, timestamp: T, data: { response: false, currentTerm: 5 } },
  },
  {
    name: 'response-success-match-index',
    note: 'Response success with the matchIndex extension',
    message: { type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { response: true, currentTerm: 3, matchIndex: 17 } },
  },
  {
    name: 'response-reject-conflict-hint',
    note: 'Response rejection with the conflict hint (§5.3): first index of conflictTerm',
    message: {
      type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0,
      data: { response: false, currentTerm: 3, conflictIndex: 5, conflictTerm: 2 },
    },
  },
  {
    name: 'response-reject-log-too-short',
    note: 'Response rejection from a follower whose log is too short: conflictIndex only',
    message: { type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { response: false, currentTerm: 3, conflictIndex: 9 } },
  },
  {
    name: 'response-reject-rejected-index',
    note: 'Response rejection as this port sends it: the conflict hint and rejectedIndex, the prevLogIndex it rejects',
    message: {
      type: MessageType.Response, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0,
      data: { response: false, currentTerm: 3, conflictIndex: 5, conflictTerm: 2, rejectedIndex: 6 },
    },
  },
  {
    name: 'response-read-context',
    note: 'Response echoing the read-round context',
    message: {
      type: MessageType.Response, sender: 'n3', receiver: 'n1', term: 4, timestamp: 0,
      data: { response: true, currentTerm: 4, matchIndex: 9, context: 7 },
    },
  },
  {
    name: 'response-snapshot-offset',
    note: 'Response to an InstallSnapshot chunk that did not finish the snapshot',
    message: { type: MessageType.Response, sender: 'n3', receiver: 'n1', term: 4, timestamp: 0, data: { response: true, currentTerm: 4, snapshotOffset: 65536 } },
  },
  {
    name: 'install-snapshot-chunk',
    note: 'InstallSnapshot (§7, Figure 13): a first chunk, bytes in base64',
    message: {
      type: MessageType.InstallSnapshot, sender: 'n1', receiver: 'n3', term: 4, timestamp: 0,
      data: { leaderId: 'n1', lastIncludedIndex: 100, lastIncludedTerm: 4, offset: 0, data: 'eyJrIjoidiJ9', done: false },
    },
  },
  {
    name: 'install-snapshot-last-chunk',
    note: 'InstallSnapshot: the last chunk (done), empty',
    message: {
      type: MessageType.InstallSnapshot, sender: 'n1', receiver: 'n3', term: 4, timestamp: 0,
      data: { leaderId: 'n1', lastIncludedIndex: 100, lastIncludedTerm: 4, offset: 9, data: '', done: true },
    },
  },
  {
    name: 'client-command',
    note: 'ClientCommand: a follower forwards a client command to the leader',
    message: {
      type: MessageType.ClientCommand, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0,
      data: { value: { op: 'put', key: 'greeting', value: 'hello' } }, id: 'n2-1',
    },
  },
  {
    name: 'client-command-json-values',
    note: 'a command value that pins down number and string formatting and object key order',
    message: {
      type: MessageType.ClientCommand, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0.5,
      data: {
        value: {
          b: 'keys that are array indices come first, in numeric order',
          10: 'ten',
          2: 'two',
          numbers: [0, -7, 0.1, -2.5, 1e21, 1e-7, 0.000001, 123456789012345680000, 2 ** 60, 5e-324,
            1.7976931348623157e308, Number.MAX_SAFE_INTEGER],
          strings: ['quote " backslash \\ slash /', 'control \u0000\u0001\b\t\n\f\r\u001f', 'del \u007f',
            'separators \u2028\u2029', 'emoji 😀', 'lone surrogates \ud800 \udfff', ''],
          nested: [[[]], {}, null, true, false],
        },
      },
    },
  },
  {
    name: 'read-index',
    note: 'ReadIndex: a follower asks the leader for a read index',
    message: { type: MessageType.ReadIndex, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { context: 'r-1' } },
  },
  {
    name: 'read-index-response',
    note: 'ReadIndexResponse: the read index for that context',
    message: { type: MessageType.ReadIndexResponse, sender: 'n1', receiver: 'n2', term: 3, timestamp: 0, data: { context: 'r-1', index: 40 } },
  },
];

function text(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** The encoding of a valid vector, to build invalid ones from. */
function encoded(name: string): string {
  const v = VALID_VECTORS.find((x) => x.name === name);
  if (!v) throw new Error(`no valid vector ${name}`);
  return encodeMessage(v.message);
}

const heartbeat = encoded('append-entries-heartbeat');
const withEntries = encoded('append-entries-with-entries');
const command = encoded('client-command');

export const INVALID_VECTORS: InvalidVector[] = [
  { file: 'bad-json-truncated.json', note: 'a heartbeat cut short', bytes: text(heartbeat.slice(0, 60)), code: 'bad-json', field: '$' },
  {
    file: 'bad-utf8.json', note: 'a byte that is not UTF-8 (0xff) inside a node name',
    bytes: Buffer.concat([text(heartbeat.slice(0, 20)), Buffer.from([0xff]), text(heartbeat.slice(21))]), code: 'bad-json', field: '$',
  },
  {
    file: 'byte-order-mark.json', note: 'a valid message after a UTF-8 byte order mark (RFC 8259 §8.1)',
    bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text(heartbeat)]), code: 'bad-json', field: '$',
  },
  { file: 'nan.json', note: 'NaN is not JSON', bytes: text(heartbeat.replace('"term":2', '"term":NaN')), code: 'bad-json', field: '$' },
  { file: 'not-an-object.json', note: 'JSON, but an array', bytes: text('[0,"n1",null,2]'), code: 'bad-field', field: '$' },
  { file: 'too-large.json', note: 'a valid heartbeat, over a limit of 64 bytes', bytes: text(heartbeat), code: 'too-large', field: '$', maxBytes: 64 },
  { file: 'unknown-type.json', note: 'type code 9 is not defined', bytes: text(heartbeat.replace('"type":0', '"type":9')), code: 'unknown-type', field: '$.type' },
  { file: 'type-as-string.json', note: 'a type code must be a number', bytes: text(heartbeat.replace('"type":0', '"type":"0"')), code: 'unknown-type', field: '$.type' },
  {
    file: 'missing-receiver.json', note: 'receiver must be present (null for a broadcast)',
    bytes: text(heartbeat.replace('"receiver":null,', '')), code: 'missing-field', field: '$.receiver',
  },
  {
    file: 'missing-entries.json', note: 'AppendEntries without entries (a heartbeat has entries: [])',
    bytes: text(heartbeat.replace('"entries":[],', '')), code: 'missing-field', field: '$.data.entries',
  },
  { file: 'negative-term.json', note: 'terms are non-negative', bytes: text(heartbeat.replace('"term":2', '"term":-2')), code: 'bad-field', field: '$.term' },
  { file: 'term-as-string.json', note: 'terms are numbers', bytes: text(heartbeat.replace('"term":2', '"term":"2"')), code: 'bad-field', field: '$.term' },
  {
    file: 'fractional-index.json', note: 'indices are integers',
    bytes: text(heartbeat.replace('"prevLogIndex":0', '"prevLogIndex":1.5')), code: 'bad-field', field: '$.data.prevLogIndex',
  },
  {
    file: 'unsafe-integer.json', note: '2^53 + 1 has no exact double: refused, not rounded',
    bytes: text(heartbeat.replace('"leaderCommit":0', '"leaderCommit":9007199254740993')), code: 'out-of-range', field: '$.data.leaderCommit',
  },
  {
    file: 'term-at-limit.json', note: 'a term of RAFT_NUMBER_LIMIT = 2^53 - 2^20, the first refused (bounds.ts)',
    bytes: text(heartbeat.replace('"term":2', '"term":9007199253692416')), code: 'out-of-range', field: '$.term',
  },
  {
    file: 'term-max-safe-integer.json', note: 'a term of 2^53 - 1: safe, but without headroom for term + 1',
    bytes: text(heartbeat.replace('"term":2', '"term":9007199254740991')), code: 'out-of-range', field: '$.term',
  },
  {
    file: 'term-2-to-63.json', note: 'a term of 2^63 (an int64 overflow on other systems)',
    bytes: text(heartbeat.replace('"term":2', '"term":9223372036854775808')), code: 'out-of-range', field: '$.term',
  },
  {
    file: 'index-exponent.json', note: 'a prevLogIndex in exponent notation, 1e300: whole, but far beyond the limit',
    bytes: text(heartbeat.replace('"prevLogIndex":0', '"prevLogIndex":1e300')), code: 'out-of-range', field: '$.data.prevLogIndex',
  },
  {
    file: 'entry-term-at-limit.json', note: 'an entry term at the limit: entries are bounded as the envelope is',
    bytes: text(withEntries.replace('{"term":2,', '{"term":9007199253692416,')), code: 'out-of-range', field: '$.data.entries[0].term',
  },
  {
    file: 'negative-exponent-index.json', note: 'a negative whole number in exponent notation is malformed, not out of range',
    bytes: text(heartbeat.replace('"leaderCommit":0', '"leaderCommit":-1e300')), code: 'bad-field', field: '$.data.leaderCommit',
  },
  {
    file: 'null-prev-log-term.json', note: 'prevLogTerm null (simpleRaft\'s _lastLogTerm on an empty log): the wire says 0',
    bytes: text(heartbeat.replace('"prevLogTerm":0', '"prevLogTerm":null')), code: 'bad-field', field: '$.data.prevLogTerm',
  },
  {
    file: 'control-char-node-name.json', note: 'node names are printable',
    bytes: text(heartbeat.replace('"sender":"n1"', '"sender":"n\\u00001"')), code: 'bad-field', field: '$.sender',
  },
  {
    file: 'unexpected-envelope-key.json', note: 'no keys beyond the envelope\'s',
    bytes: text(heartbeat.replace('{"type"', '{"extra":1,"type"')), code: 'unexpected-key', field: '$.extra',
  },
  {
    file: 'unexpected-data-key.json', note: 'matchIndex belongs to Response, not AppendEntries',
    bytes: text(heartbeat.replace('"leaderCommit":0', '"leaderCommit":0,"matchIndex":0')), code: 'unexpected-key', field: '$.data.matchIndex',
  },
  {
    file: 'unexpected-entry-key.json', note: 'an entry is {term, value} and nothing else',
    bytes: text(withEntries.replace('{"term":2,', '{"index":6,"term":2,')), code: 'unexpected-key', field: '$.data.entries[0].index',
  },
  {
    file: 'proto-envelope.json', note: '__proto__ is refused wherever it appears',
    bytes: text(heartbeat.replace('{"type"', '{"__proto__":{"polluted":true},"type"')), code: 'unexpected-key', field: '$.__proto__',
  },
  {
    file: 'proto-in-entry-value.json', note: '__proto__ nested inside an entry value',
    bytes: text(withEntries.replace('"key":"k"', '"key":{"__proto__":{"polluted":true}}')), code: 'unexpected-key',
    field: '$.data.entries[1].value.key.__proto__',
  },
  {
    file: 'constructor-in-command.json', note: 'constructor inside a command value',
    bytes: text(command.replace('"op":"put"', '"constructor":{"prototype":1}')), code: 'unexpected-key', field: '$.data.value.constructor',
  },
  {
    file: 'too-deep-value.json', note: 'a command value nested 34 levels deep (the limit is MAX_VALUE_DEPTH = 32 below the value)',
    bytes: text(command.replace('"hello"', '['.repeat(33) + ']'.repeat(33))), code: 'bad-field',
    field: '$.data.value.value' + '[0]'.repeat(32),
  },
  {
    file: 'bad-base64.json', note: 'InstallSnapshot data must be padded, canonical base64',
    bytes: text(encoded('install-snapshot-chunk').replace('"eyJrIjoidiJ9"', '"eyJrIjoidiJ"')), code: 'bad-field', field: '$.data.data',
  },
];
