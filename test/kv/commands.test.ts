// The log form of KV commands: canonical encoding, and a decoder that treats
// entry values as hostile (they arrive from the network and the disk).

import { expect } from 'chai';
import {
  CommandError,
  KvCommand,
  MAX_TXN_OPS,
  decodeCommand,
  deleteRangeRequest,
  encodeCommand,
  fingerprint,
  parseBase64,
  putRequest,
  rangeRequest,
} from '../../src/kv';
import { b } from './helpers';

describe('KV commands: encoding', () => {
  const commands: KvCommand[] = [
    { op: 'put', session: null, request: putRequest({ key: b('k'), value: b('v') }) },
    {
      op: 'put',
      session: { clientId: 'client-1', seq: 7 },
      request: putRequest({ key: b('k'), value: Buffer.from([0, 255]), lease: 2n ** 63n - 1n, prevKv: true }),
    },
    { op: 'deleteRange', session: null, request: deleteRangeRequest({ key: b('a'), rangeEnd: b('b'), prevKv: true }) },
    {
      op: 'txn',
      session: { clientId: 'c', seq: 1 },
      request: {
        compare: [
          { key: b('k'), rangeEnd: Buffer.alloc(0), target: 'value', result: 'equal', operand: b('x') },
          { key: b('k'), rangeEnd: b('l'), target: 'lease', result: 'notEqual', operand: -5n },
          { key: b('k'), rangeEnd: Buffer.alloc(0), target: 'mod', result: 'less', operand: 9 },
        ],
        success: [{ op: 'put', request: putRequest({ key: b('k'), value: b('y') }) }],
        failure: [{ op: 'range', request: rangeRequest({ key: b('k'), limit: 2, sortOrder: 'descend', sortTarget: 'mod' }) }],
      },
    },
  ];

  it('round-trips every command kind through JSON', () => {
    for (const cmd of commands) {
      const json = JSON.parse(JSON.stringify(encodeCommand(cmd)));
      expect(decodeCommand(json)).to.deep.equal(cmd);
    }
  });

  it('is canonical: defaults omitted, int64 as strings, bytes as base64', () => {
    expect(encodeCommand(commands[0])).to.deep.equal({ op: 'put', key: 'aw==', value: 'dg==' });
    expect(encodeCommand(commands[1])).to.deep.equal({
      op: 'put', key: 'aw==', value: 'AP8=', lease: '9223372036854775807', prevKv: true, clientId: 'client-1', seq: 7,
    });
  });

  it('fingerprints ignore the session and tell different commands apart', () => {
    const a = commands[1];
    expect(fingerprint(a)).to.equal(fingerprint({ ...a, session: { clientId: 'other', seq: 99 } } as KvCommand));
    expect(fingerprint(a)).to.not.equal(fingerprint(commands[0]));
  });
});

describe('KV commands: decoding hostile values', () => {
  const put = { op: 'put', key: 'aw==', value: 'dg==' };
  const cases: [string, unknown, string][] = [
    ['not an object', 'put', '$'],
    ['an array', [put], '$'],
    ['unknown op', { ...put, op: 'drop' }, '$.op'],
    ['missing key', { op: 'put', value: 'dg==' }, '$.key'],
    ['empty key', { ...put, key: '' }, '$.key'],
    ['key not a string', { ...put, key: 5 }, '$.key'],
    ['bad base64', { ...put, key: 'a!==' }, '$.key'],
    ['non-canonical base64 (unpadded)', { ...put, value: 'dg' }, '$.value'],
    ['lease as a number', { ...put, lease: 5 }, '$.lease'],
    ['lease not decimal', { ...put, lease: '0x10' }, '$.lease'],
    ['lease out of int64 range', { ...put, lease: '9223372036854775808' }, '$.lease'],
    ['prevKv not boolean', { ...put, prevKv: 'yes' }, '$.prevKv'],
    ['unexpected field', { ...put, extra: 1 }, '$.extra'],
    ['__proto__ field', JSON.parse('{"op":"put","key":"aw==","__proto__":{"x":1}}'), '$.__proto__'],
    ['seq without clientId', { ...put, seq: 1 }, '$.clientId'],
    ['seq zero', { ...put, clientId: 'c', seq: 0 }, '$.seq'],
    ['seq fractional', { ...put, clientId: 'c', seq: 1.5 }, '$.seq'],
    ['clientId too long', { ...put, clientId: 'x'.repeat(257), seq: 1 }, '$.clientId'],
    ['txn op unknown', { op: 'txn', success: [{ op: 'nuke' }] }, '$.success[0].op'],
    ['txn compare bad target', { op: 'txn', compare: [{ key: 'aw==', target: 'size', result: 'equal', operand: 1 }] }, '$.compare[0].target'],
    ['txn compare value operand not base64', { op: 'txn', compare: [{ key: 'aw==', target: 'value', result: 'equal', operand: 1 }] }, '$.compare[0].operand'],
    ['txn range negative limit', { op: 'txn', failure: [{ op: 'range', key: 'aw==', limit: -1 }] }, '$.failure[0].limit'],
    ['txn too many ops', { op: 'txn', success: new Array(MAX_TXN_OPS + 1).fill(put) }, '$.success'],
    ['txn nested session field', { op: 'txn', success: [{ ...put, clientId: 'c' }] }, '$.success[0].clientId'],
  ];
  for (const [what, value, field] of cases) {
    it(`refuses ${what}, naming ${field}`, () => {
      let err: unknown;
      try {
        decodeCommand(value);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(CommandError);
      expect((err as CommandError).field).to.equal(field);
    });
  }
});

describe('base64 as etcd\'s gateway reads it (Go StdEncoding)', () => {
  it('accepts padded standard base64 and reports the first bad byte otherwise', () => {
    expect(parseBase64('ZGVtby9h')).to.deep.equal({ ok: true, bytes: b('demo/a') });
    expect(parseBase64('')).to.deep.equal({ ok: true, bytes: Buffer.alloc(0) });
    expect(parseBase64('!!!')).to.deep.equal({ ok: false, error: 'illegal base64 data at input byte 0' });
    expect(parseBase64('ZGV-')).to.deep.equal({ ok: false, error: 'illegal base64 data at input byte 3' });
    expect(parseBase64('ZGVtbw')).to.deep.equal({ ok: false, error: 'illegal base64 data at input byte 4' });
    expect(parseBase64('ZQ==ZQ==')).to.deep.equal({ ok: false, error: 'illegal base64 data at input byte 4' });
  });
});
