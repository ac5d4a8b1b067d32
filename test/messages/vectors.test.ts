// The golden vectors (interop/vectors/): every valid file decodes and
// re-encodes to the same bytes, and is exactly what encodeMessage makes of its
// case in vector-cases.ts; every invalid file is refused with the code and
// field its manifest names. The Python bridge checks the same files
// (interop/python/tests/test_vectors.py), so both sides agree byte for byte.
//
// REWRITE_VECTORS=1 writes the files from vector-cases.ts instead of only
// reading them; review the diff before committing.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodecError, decodeMessage, encodeMessage } from '../../src/messages/codec';
import { Message, MessageType } from '../../src/messages';
import { ALL_TYPES } from './fuzz-inputs';
import { INVALID_VECTORS, VALID_VECTORS } from './vector-cases';

const VECTORS = path.join(__dirname, '..', '..', 'interop', 'vectors');
const INVALID = path.join(VECTORS, 'invalid');
const MANIFEST = path.join(INVALID, 'manifest.json');

interface ManifestCase {
  file: string;
  code: string;
  field: string;
  maxBytes?: number;
  note: string;
}

function manifestFromCases(): { version: number; cases: ManifestCase[] } {
  return {
    version: 1,
    cases: INVALID_VECTORS.map((v) => ({
      file: v.file,
      code: v.code,
      field: v.field,
      ...(v.maxBytes !== undefined ? { maxBytes: v.maxBytes } : {}),
      note: v.note,
    })),
  };
}

if (process.env.REWRITE_VECTORS) {
  fs.mkdirSync(INVALID, { recursive: true });
  for (const v of VALID_VECTORS) fs.writeFileSync(path.join(VECTORS, `${v.name}.json`), encodeMessage(v.message));
  for (const v of INVALID_VECTORS) fs.writeFileSync(path.join(INVALID, v.file), v.bytes);
  fs.writeFileSync(MANIFEST, JSON.stringify(manifestFromCases(), null, 2) + '\n');
}

const jsonFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('golden vectors: valid', () => {
  it('the folder holds one file per case, and no others', () => {
    expect(jsonFiles(VECTORS)).to.deep.equal(VALID_VECTORS.map((v) => `${v.name}.json`).sort());
  });

  for (const v of VALID_VECTORS) {
    it(`${v.name}: decodes, and re-encodes byte-identical`, () => {
      const bytes = fs.readFileSync(path.join(VECTORS, `${v.name}.json`));
      const text = bytes.toString('utf8');
      expect(text, 'one line, no trailing newline').to.not.contain('\n');
      const decoded = decodeMessage(bytes);
      expect(Buffer.from(encodeMessage(decoded), 'utf8').equals(bytes), encodeMessage(decoded)).to.equal(true);
      expect(decoded).to.deep.equal(v.message);
      expect(text).to.equal(encodeMessage(v.message));
    });
  }

  it('cover every message kind and every form the contract names', () => {
    const ms: Message[] = VALID_VECTORS.map((v) => v.message);
    expect([...new Set(ms.map((m) => m.type))].sort()).to.deep.equal([...ALL_TYPES].sort());
    const has = (p: (m: Message) => boolean, what: string) => expect(ms.some(p), what).to.equal(true);
    has((m) => m.type === MessageType.AppendEntries && m.data.entries.length === 0, 'heartbeat');
    has((m) => m.type === MessageType.AppendEntries && m.data.entries.length > 1, 'entries');
    has((m) => m.receiver === null, 'broadcast');
    has((m) => typeof m.sender === 'number' && typeof m.receiver === 'number', 'integer names');
    has((m) => typeof m.sender === 'string', 'string names');
    has((m) => m.id !== undefined, 'message id');
    has((m) => m.type === MessageType.RequestVote && m.data.lastLogTerm === null, 'null lastLogTerm');
    has((m) => m.type === MessageType.Response && Object.keys(m.data).length === 2, 'Response as simpleRaft sends');
    has((m) => m.type === MessageType.Response && m.data.response && m.data.matchIndex !== undefined, 'success with matchIndex');
    has((m) => m.type === MessageType.Response && !m.data.response && m.data.conflictTerm !== undefined, 'rejection with hint');
    has((m) => m.type === MessageType.RequestVoteResponse && m.data.response, 'vote granted');
    has((m) => m.type === MessageType.RequestVoteResponse && !m.data.response, 'vote denied');
  });
});

describe('golden vectors: invalid', () => {
  const manifest = JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as { version: number; cases: ManifestCase[] };

  it('the manifest lists every file in the folder, as vector-cases.ts defines them', () => {
    expect(manifest).to.deep.equal(manifestFromCases());
    expect(jsonFiles(INVALID).filter((f) => f !== 'manifest.json')).to.deep.equal(manifest.cases.map((c) => c.file).sort());
    for (const v of INVALID_VECTORS) {
      expect(fs.readFileSync(path.join(INVALID, v.file)).equals(v.bytes), v.file).to.equal(true);
    }
  });

  for (const c of INVALID_VECTORS) {
    it(`${c.file}: refused with ${c.code} at ${c.field}`, () => {
      const bytes = fs.readFileSync(path.join(INVALID, c.file));
      let caught: unknown;
      try {
        decodeMessage(bytes, c.maxBytes);
      } catch (e) {
        caught = e;
      }
      expect(caught, 'accepted').to.be.instanceOf(CodecError);
      const err = caught as CodecError;
      expect({ code: err.code, field: err.field }, err.message).to.deep.equal({ code: c.code, field: c.field });
    });
  }
});
