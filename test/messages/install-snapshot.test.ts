// The wire format of InstallSnapshot (type 4, §7 Figure 13) and the
// Response's snapshotOffset: valid chunks round-trip; anything malformed is a
// CodecError naming the field, as for every other message.

import { expect } from 'chai';
import { CodecError, decodeMessage, encodeMessage } from '../../src/messages/codec';
import { InstallSnapshotMessage, MessageType } from '../../src/messages';

const chunk: InstallSnapshotMessage = {
  type: MessageType.InstallSnapshot,
  sender: 'n1',
  receiver: 'n2',
  term: 3,
  timestamp: 0,
  data: {
    leaderId: 'n1',
    lastIncludedIndex: 120,
    lastIncludedTerm: 2,
    offset: 65536,
    data: Buffer.from([0, 1, 2, 250, 255]).toString('base64'),
    done: false,
  },
};

function withData(patch: Record<string, unknown>): string {
  const raw = JSON.parse(encodeMessage(chunk));
  Object.assign(raw.data, patch);
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete raw.data[k];
  return JSON.stringify(raw);
}

function codecError(input: string): CodecError {
  try {
    decodeMessage(input);
  } catch (e) {
    expect(e).to.be.instanceOf(CodecError);
    return e as CodecError;
  }
  throw new Error(`accepted ${input}`);
}

describe('codec: InstallSnapshot (type 4)', () => {
  it('round-trips, keys in the order of Figure 13', () => {
    const text = encodeMessage(chunk);
    expect(decodeMessage(text)).to.deep.equal(chunk);
    expect(Object.keys(JSON.parse(text).data)).to.deep.equal(['leaderId', 'lastIncludedIndex', 'lastIncludedTerm', 'offset', 'data', 'done']);
  });

  it('an empty last chunk is fine', () => {
    const m = decodeMessage(withData({ data: '', done: true })) as InstallSnapshotMessage;
    expect(m.data).to.include({ data: '', done: true });
  });

  for (const [name, patch, field] of [
    ['a missing done', { done: undefined }, '$.data.done'],
    ['a missing lastIncludedTerm', { lastIncludedTerm: undefined }, '$.data.lastIncludedTerm'],
    ['a negative offset', { offset: -1 }, '$.data.offset'],
    ['a fractional index', { lastIncludedIndex: 1.5 }, '$.data.lastIncludedIndex'],
    ['done as a string', { done: 'true' }, '$.data.done'],
    ['data as an array of bytes', { data: [1, 2, 3] }, '$.data.data'],
    ['data not base64', { data: 'not base64!' }, '$.data.data'],
    ['base64 without padding', { data: 'AAE' }, '$.data.data'],
    ['base64 in URL alphabet', { data: 'AA-_' }, '$.data.data'],
    ['non-canonical base64 (stray bits)', { data: 'AAF=' }, '$.data.data'],
    ['an unknown key', { chunkCrc: 5 }, '$.data.chunkCrc'],
    ['a bad leaderId', { leaderId: '' }, '$.data.leaderId'],
  ] as [string, Record<string, unknown>, string][]) {
    it(`refuses ${name}`, () => {
      expect(codecError(withData(patch)).field).to.equal(field);
    });
  }

  it('Response carries snapshotOffset, a non-negative integer', () => {
    const ok = decodeMessage(JSON.stringify({ type: 3, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { response: true, currentTerm: 3, snapshotOffset: 4096 } }));
    expect(ok.data).to.deep.equal({ response: true, currentTerm: 3, snapshotOffset: 4096 });
    const bad = codecError(JSON.stringify({ type: 3, sender: 'n2', receiver: 'n1', term: 3, timestamp: 0, data: { response: true, currentTerm: 3, snapshotOffset: -4 } }));
    expect(bad.field).to.equal('$.data.snapshotOffset');
  });
});
