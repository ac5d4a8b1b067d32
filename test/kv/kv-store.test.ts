// The KV state machine on its own: etcd's revision and range rules, client
// dedup, lease hooks, txn, and snapshots.

import { expect } from 'chai';
import {
  KvRequestError,
  KvStore,
  NO_LEASE,
  prefixEnd,
  putRequest,
  rangeRequest,
  deleteRangeRequest,
} from '../../src/kv';
import { SeededRng } from '../../src/time/rng';
import { Driver, FakeLeases, b, plain } from './helpers';

describe('KvStore: revisions and versions (etcd mvcc rules)', () => {
  it('starts at revision 1; each put increments it once and sets create/mod/version', () => {
    const d = new Driver();
    expect(d.kv.revision).to.equal(1);
    expect(d.put('a', '1')).to.deep.equal({ kind: 'put', revision: 2 });
    expect(plain(d.kv.get(b('a')))).to.deep.equal({
      key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: NO_LEASE,
    });
    const r = d.put('a', '2', { prevKv: true });
    expect(r.kind).to.equal('put');
    expect(r.kind === 'put' && plain(r.prevKv)).to.deep.equal({
      key: 'a', value: '1', createRevision: 2, modRevision: 2, version: 1, lease: NO_LEASE,
    });
    expect(plain(d.kv.get(b('a')))).to.include({ value: '2', createRevision: 2, modRevision: 3, version: 2 });
    expect(d.kv.revision).to.equal(3);
  });

  it('prev_kv is absent when the key did not exist', () => {
    const d = new Driver();
    expect(d.put('a', '1', { prevKv: true })).to.deep.equal({ kind: 'put', revision: 2 });
  });

  it('a deleted key is forgotten: the next put creates it anew with version 1', () => {
    const d = new Driver();
    d.put('a', '1');
    d.put('a', '2');
    expect(d.del('a')).to.deep.equal({ kind: 'deleteRange', revision: 4, deleted: 1 });
    expect(d.kv.get(b('a'))).to.equal(undefined);
    d.put('a', '3');
    expect(plain(d.kv.get(b('a')))).to.include({ createRevision: 5, modRevision: 5, version: 1 });
  });

  it('a delete that finds nothing leaves the revision alone', () => {
    const d = new Driver();
    d.put('a', '1');
    expect(d.del('zzz')).to.deep.equal({ kind: 'deleteRange', revision: 2, deleted: 0 });
    expect(d.del('b', 'c', { prevKv: true })).to.deep.equal({ kind: 'deleteRange', revision: 2, deleted: 0, prevKvs: [] });
    expect(d.kv.revision).to.equal(2);
  });

  it('deleting a range removes every key in it in one revision, returning prev_kvs in key order', () => {
    const d = new Driver();
    for (const k of ['demo/a', 'demo/b', 'demo/c', 'demo0', 'other']) d.put(k, k.toUpperCase());
    const r = d.del('demo/', prefixEnd(b('demo/')), { prevKv: true });
    expect(r.kind === 'deleteRange' && r.deleted).to.equal(3);
    expect(r.kind === 'deleteRange' && r.prevKvs!.map((kv) => kv.key.toString())).to.deep.equal([
      'demo/a', 'demo/b', 'demo/c',
    ]);
    expect(d.kv.revision).to.equal(7);
    expect(d.keys('\0', '\0')).to.deep.equal(['demo0', 'other']);
  });

  it('the null entry (a new leader\'s no-op, §8) changes nothing and returns null', () => {
    const d = new Driver();
    d.put('a', '1');
    const before = Buffer.from(d.kv.snapshot());
    expect(d.applyValue(null)).to.equal(null);
    expect(Buffer.from(d.kv.snapshot()).equals(before)).to.equal(true);
  });

  it('an entry that is not a valid command changes nothing and says why', () => {
    const d = new Driver();
    d.put('a', '1');
    const before = Buffer.from(d.kv.snapshot());
    for (const bad of [42, 'put', {}, { op: 'put' }, { op: 'put', key: '!!' }, { op: 'launch', key: 'YQ==' }]) {
      const r = d.applyValue(bad);
      expect(r, JSON.stringify(bad)).to.have.property('kind', 'error');
      expect(r).to.have.property('code', 'invalid-command');
    }
    expect(Buffer.from(d.kv.snapshot()).equals(before)).to.equal(true);
  });
});

describe('KvStore: range (etcd semantics)', () => {
  let d: Driver;
  beforeEach(() => {
    d = new Driver();
    for (const k of ['a', 'b', 'demo/a', 'demo/b', 'demo/c', 'demo0', 'z']) d.put(k, `v-${k}`);
  });

  it('an empty range_end means the single key; a missing key gives nothing', () => {
    expect(d.keys('demo/b')).to.deep.equal(['demo/b']);
    const r = d.range('demo/x');
    expect(r).to.deep.equal({ kind: 'range', revision: 8, kvs: [], count: 0, more: false });
  });

  it('range_end is exclusive: [key, range_end)', () => {
    expect(d.keys('b', 'demo/c')).to.deep.equal(['b', 'demo/a', 'demo/b']);
  });

  it('a prefix range uses the prefix with its last byte incremented', () => {
    expect(d.keys('demo/', prefixEnd(b('demo/')))).to.deep.equal(['demo/a', 'demo/b', 'demo/c']);
  });

  it('range_end "\\0" means every key >= key; key "\\0" with it means all keys', () => {
    expect(d.keys('demo0', '\0')).to.deep.equal(['demo0', 'z']);
    expect(d.keys('\0', '\0')).to.have.length(7);
  });

  it('a range_end at or below key selects nothing', () => {
    expect(d.keys('z', 'a')).to.deep.equal([]);
    expect(d.keys('b', 'b')).to.deep.equal([]);
  });

  it('limit cuts the result and sets more; count is the whole range', () => {
    const r = d.range('demo/', prefixEnd(b('demo/')), { limit: 2 });
    expect(r.kvs.map((kv) => kv.key.toString())).to.deep.equal(['demo/a', 'demo/b']);
    expect(r.more).to.equal(true);
    expect(r.count).to.equal(3);
    const all = d.range('demo/', prefixEnd(b('demo/')), { limit: 3 });
    expect(all.more).to.equal(false);
    expect(all.kvs).to.have.length(3);
  });

  it('count_only returns the count and no keys; keys_only drops values', () => {
    expect(d.range('\0', '\0', { countOnly: true })).to.deep.equal({ kind: 'range', revision: 8, kvs: [], count: 7, more: false });
    const r = d.range('demo/', prefixEnd(b('demo/')), { keysOnly: true });
    expect(r.kvs.map((kv) => kv.value.length)).to.deep.equal([0, 0, 0]);
    expect(r.kvs[0].modRevision).to.equal(4);
  });

  it('sorts by any target, descending, and then applies the limit', () => {
    d.put('demo/a', 'again'); // demo/a now has the highest mod revision
    expect(d.keys('demo/', prefixEnd(b('demo/')), { sortOrder: 'descend' })).to.deep.equal(['demo/c', 'demo/b', 'demo/a']);
    expect(d.keys('demo/', prefixEnd(b('demo/')), { sortTarget: 'mod', sortOrder: 'descend', limit: 1 })).to.deep.equal(['demo/a']);
    // A non-key target without an order sorts ascending, as etcd does.
    expect(d.keys('demo/', prefixEnd(b('demo/')), { sortTarget: 'version' })).to.deep.equal(['demo/b', 'demo/c', 'demo/a']);
    expect(d.keys('\0', '\0', { sortTarget: 'value', sortOrder: 'descend', limit: 2 })).to.deep.equal(['z', 'demo0']);
  });

  it('filters on mod and create revisions', () => {
    expect(d.keys('\0', '\0', { minModRevision: 4, maxModRevision: 6 })).to.deep.equal(['demo/a', 'demo/b', 'demo/c']);
    expect(d.keys('\0', '\0', { maxCreateRevision: 3 })).to.deep.equal(['a', 'b']);
  });

  it('serves the current and past revisions; refuses future ones with etcd\'s error', () => {
    expect(d.range('a', undefined, { revision: 8 }).kvs).to.have.length(1);
    expect(d.keys('\0', '\0', { revision: 3 })).to.deep.equal(['a', 'b']);
    expect(() => d.range('a', undefined, { revision: 9 }))
      .to.throw(KvRequestError, 'etcdserver: mvcc: required revision is a future revision')
      .with.property('code', 'future-revision');
  });

  it('orders keys bytewise, including bytes above 0x7f', () => {
    const s = new KvStore();
    let i = 0;
    const keys = [Buffer.from([0xff]), Buffer.from([0x80, 0x01]), Buffer.from([0x7f]), Buffer.from([0x00, 0x01])];
    for (const key of keys) {
      s.apply({ index: ++i, term: 1, value: JSON.parse(JSON.stringify({ op: 'put', key: key.toString('base64') })) });
    }
    const all = s.range(rangeRequest({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }));
    expect(all.kvs.map((kv) => kv.key.toString('hex'))).to.deep.equal(['0001', '7f', '8001', 'ff']);
    // prefixEnd of 0xff... is "\0": every key from there on.
    expect(prefixEnd(Buffer.from([0xff])).equals(Buffer.from([0]))).to.equal(true);
  });
});

describe('KvStore: duplicate client commands (thesis §6.3)', () => {
  it('a retried command is applied once and answered with the first result', () => {
    const d = new Driver();
    d.put('a', 'old');
    const session = { clientId: 'c1', seq: 1 };
    const first = d.put('a', 'new', { prevKv: true }, session);
    const again = d.put('a', 'new', { prevKv: true }, session);
    expect(again).to.deep.equal(first);
    expect(d.kv.revision).to.equal(3);
    expect(plain(d.kv.get(b('a')))).to.include({ value: 'new', version: 2 });
  });

  it('a duplicate delete does not delete a key created in between', () => {
    const d = new Driver();
    d.put('a', '1');
    const s = { clientId: 'c1', seq: 1 };
    expect(d.del('a', undefined, {}, s)).to.have.property('deleted', 1);
    d.put('a', '2', {}, { clientId: 'c2', seq: 1 });
    expect(d.del('a', undefined, {}, s)).to.have.property('deleted', 1); // the first answer
    expect(plain(d.kv.get(b('a')))).to.include({ value: '2' });
  });

  it('the next seq of the same client is applied; an older seq is refused as stale', () => {
    const d = new Driver();
    d.put('a', '1', {}, { clientId: 'c', seq: 1 });
    d.put('a', '2', {}, { clientId: 'c', seq: 2 });
    expect(d.kv.revision).to.equal(3);
    expect(d.put('a', '1', {}, { clientId: 'c', seq: 1 })).to.include({ kind: 'error', code: 'stale-request' });
    expect(d.kv.revision).to.equal(3);
  });

  it('a (clientId, seq) reused for a different command is refused, not answered with the old result', () => {
    const d = new Driver();
    d.put('a', '1', {}, { clientId: 'c', seq: 1 });
    expect(d.put('b', '1', {}, { clientId: 'c', seq: 1 })).to.include({ kind: 'error', code: 'request-id-reused' });
    expect(d.kv.get(b('b'))).to.equal(undefined);
  });

  it('failures are remembered too: a retry gets the same error', () => {
    const d = new Driver();
    const s = { clientId: 'c', seq: 1 };
    const first = d.put('a', '1', { lease: 7n }, s);
    expect(first).to.include({ code: 'lease-not-found' });
    expect(d.put('a', '1', { lease: 7n }, s)).to.deep.equal(first);
  });

  it('the table is bounded: beyond maxClients the least recently seen client is forgotten', () => {
    const d = new Driver(new KvStore({ maxClients: 2 }));
    d.put('k', '1', {}, { clientId: 'c1', seq: 1 });
    d.put('k', '2', {}, { clientId: 'c2', seq: 1 });
    d.put('k', '1', {}, { clientId: 'c1', seq: 1 }); // a retry touches c1: c2 is now the oldest
    d.put('k', '3', {}, { clientId: 'c3', seq: 1 });
    expect(d.kv.clientCount).to.equal(2);
    expect(d.kv.revision).to.equal(4);
    d.put('k', '1', {}, { clientId: 'c1', seq: 1 }); // still remembered
    expect(d.kv.revision).to.equal(4);
    d.put('k', '2', {}, { clientId: 'c2', seq: 1 }); // forgotten: applied again
    expect(d.kv.revision).to.equal(5);
  });

  it('the table is also bounded by the bytes of the results it keeps', () => {
    const d = new Driver(new KvStore({ maxResultBytes: 1000 }));
    d.put('k', 'x'.repeat(600));
    d.put('k', 'y'.repeat(600), { prevKv: true }, { clientId: 'c1', seq: 1 }); // keeps 601 bytes
    d.put('k', 'z'.repeat(600), { prevKv: true }, { clientId: 'c2', seq: 1 }); // 1202 > 1000: c1 goes
    expect(d.kv.clientCount).to.equal(1);
    const rev = d.kv.revision;
    d.put('k', 'z'.repeat(600), { prevKv: true }, { clientId: 'c2', seq: 1 });
    expect(d.kv.revision).to.equal(rev);
  });
});

describe('KvStore: lease field and lease registry hooks', () => {
  it('without a registry every lease is unknown: the put fails and changes nothing', () => {
    const d = new Driver();
    expect(d.put('a', '1', { lease: 5n })).to.deep.equal({
      kind: 'error', code: 'lease-not-found', message: 'etcdserver: requested lease not found',
    });
    expect(d.kv.revision).to.equal(1);
    expect(d.kv.get(b('a'))).to.equal(undefined);
  });

  it('attach on put, detach on a put without the lease, move between leases, detach on delete', () => {
    const leases = new FakeLeases(new Set([5n, 6n, 2n ** 62n]));
    const d = new Driver(new KvStore({ leases }));
    d.put('a', '1', { lease: 5n });
    expect(d.kv.get(b('a'))!.lease).to.equal(5n);
    d.put('a', '2', { lease: 5n }); // same lease: nothing to do
    d.put('a', '3', { lease: 6n });
    d.put('a', '4');
    d.put('b', '1', { lease: 2n ** 62n });
    d.put('b', '2', { ignoreLease: true });
    expect(d.kv.get(b('b'))!.lease).to.equal(2n ** 62n);
    d.del('\0', '\0');
    expect(leases.calls).to.deep.equal([
      'attach 5 a',
      'detach 5 a',
      'attach 6 a',
      'detach 6 a',
      `attach ${2n ** 62n} b`,
      `detach ${2n ** 62n} b`,
    ]);
  });

  it('ignore_value and ignore_lease keep the current ones and need the key to exist', () => {
    const d = new Driver(new KvStore({ leases: new FakeLeases(new Set([5n])) }));
    expect(d.put('a', '', { ignoreValue: true })).to.include({ code: 'key-not-found' });
    d.put('a', 'v', { lease: 5n });
    d.put('a', '', { ignoreValue: true });
    expect(plain(d.kv.get(b('a')))).to.include({ value: 'v', version: 2, lease: NO_LEASE });
  });

  it('deleteKeys (for lease revoke) deletes in one revision and skips missing keys', () => {
    const d = new Driver();
    d.put('x', '1');
    d.put('y', '1');
    const r = d.kv.deleteKeys([b('y'), b('missing'), b('x'), b('y')]);
    expect(r.revision).to.equal(4);
    expect(r.deleted.map((kv) => kv.key.toString())).to.deep.equal(['x', 'y']);
    expect(d.kv.deleteKeys([b('x')]).revision).to.equal(4);
  });
});

describe('KvStore: txn', () => {
  const cas = (expected: string, next: string) => ({
    compare: [{ key: b('cas'), rangeEnd: Buffer.alloc(0), target: 'value' as const, result: 'equal' as const, operand: b(expected) }],
    success: [{ op: 'put' as const, request: putRequest({ key: b('cas'), value: b(next) }) }],
    failure: [{ op: 'range' as const, request: rangeRequest({ key: b('cas') }) }],
  });

  it('compare-and-swap: the success branch when the compare holds, else the failure branch', () => {
    const d = new Driver();
    d.put('cas', 'old');
    const ok = d.txn(cas('old', 'new'));
    expect(ok).to.deep.include({ kind: 'txn', revision: 3, succeeded: true });
    expect(ok.kind === 'txn' && ok.responses).to.deep.equal([{ kind: 'put', revision: 3 }]);
    const no = d.txn(cas('old', 'newer'));
    expect(no).to.deep.include({ kind: 'txn', revision: 3, succeeded: false });
    expect(no.kind === 'txn' && no.responses[0].kind === 'range' && plain(no.responses[0].kvs[0])).to.include({
      value: 'new', version: 2,
    });
  });

  it('a value compare on a missing key fails; a version compare sees version 0', () => {
    const d = new Driver();
    expect(d.txn(cas('', 'x'))).to.include({ succeeded: false });
    const createIfMissing = {
      compare: [{ key: b('k'), rangeEnd: Buffer.alloc(0), target: 'version' as const, result: 'equal' as const, operand: 0 }],
      success: [{ op: 'put' as const, request: putRequest({ key: b('k'), value: b('1') }) }],
      failure: [],
    };
    expect(d.txn(createIfMissing)).to.include({ succeeded: true });
    expect(d.txn(createIfMissing)).to.include({ succeeded: false });
  });

  it('all writes of a txn share one revision; reads inside it see its earlier writes', () => {
    const d = new Driver();
    d.put('gone', '1');
    const r = d.txn({
      compare: [],
      success: [
        { op: 'put', request: putRequest({ key: b('p'), value: b('1') }) },
        { op: 'put', request: putRequest({ key: b('q'), value: b('2') }) },
        { op: 'deleteRange', request: deleteRangeRequest({ key: b('gone') }) },
        { op: 'range', request: rangeRequest({ key: b('\0'), rangeEnd: b('\0') }) },
      ],
      failure: [],
    });
    expect(d.kv.revision).to.equal(3);
    expect(r.kind === 'txn' && r.responses.map((x) => x.revision)).to.deep.equal([3, 3, 3, 3]);
    const read = r.kind === 'txn' ? r.responses[3] : null;
    expect(read && read.kind === 'range' && read.kvs.map((kv) => kv.key.toString())).to.deep.equal(['p', 'q']);
    expect(plain(d.kv.get(b('q')))).to.include({ createRevision: 3, modRevision: 3 });
  });

  it('refuses a branch that writes a key twice, changing nothing', () => {
    const d = new Driver();
    const twice = d.txn({
      compare: [],
      success: [
        { op: 'put', request: putRequest({ key: b('k'), value: b('1') }) },
        { op: 'put', request: putRequest({ key: b('k'), value: b('2') }) },
      ],
      failure: [],
    });
    expect(twice).to.include({ kind: 'error', code: 'duplicate-key' });
    const putAndDelete = d.txn({
      compare: [],
      success: [
        { op: 'put', request: putRequest({ key: b('k/1'), value: b('1') }) },
        { op: 'deleteRange', request: deleteRangeRequest({ key: b('k/'), rangeEnd: prefixEnd(b('k/')) }) },
      ],
      failure: [],
    });
    expect(putAndDelete).to.include({ code: 'duplicate-key' });
    expect(d.kv.revision).to.equal(1);
    expect(d.kv.size).to.equal(0);
  });
});

describe('KvStore: snapshot and restore', () => {
  function busyStore(): Driver {
    const d = new Driver();
    d.put('a', '1', {}, { clientId: 'c1', seq: 1 });
    d.put('b', 'two', { prevKv: true }, { clientId: 'c2', seq: 4 });
    d.put('a', '3', { prevKv: true }, { clientId: 'c1', seq: 2 });
    d.put(Buffer.from([0xff, 0x00]).toString('latin1'), '');
    d.del('b', undefined, { prevKv: true }, { clientId: 'c3', seq: 1 });
    return d;
  }

  it('restore(snapshot()) gives the same state, byte for byte, dedup table included', () => {
    const d = busyStore();
    const snap = d.kv.snapshot();
    const copy = new KvStore();
    copy.restore(snap);
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(snap))).to.equal(true);
    expect(copy.revision).to.equal(d.kv.revision);
    // A retry after the restore is still answered from the table, not re-applied.
    const c = new Driver(copy);
    c.index = d.index;
    const retried = c.del('b', undefined, { prevKv: true }, { clientId: 'c3', seq: 1 });
    const original = d.del('b', undefined, { prevKv: true }, { clientId: 'c3', seq: 1 });
    expect(retried).to.deep.equal(original);
    expect(copy.revision).to.equal(d.kv.revision);
  });

  it('a corrupt snapshot is refused and the store is left as it was', () => {
    const d = busyStore();
    const before = Buffer.from(d.kv.snapshot());
    const good = JSON.parse(before.toString());
    const bad = [
      Buffer.from('not json'),
      Buffer.from(JSON.stringify({ ...good, format: 'other' })),
      Buffer.from(JSON.stringify({ ...good, revision: -1 })),
      Buffer.from(JSON.stringify({ ...good, changes: [...good.changes].reverse() })),
      Buffer.from(JSON.stringify({ ...good, changes: [['!!', '', 1, 1, 1, '0']] })),
      Buffer.from(JSON.stringify({ ...good, changes: [...good.changes, good.changes[0]] })),
      Buffer.from(JSON.stringify({ ...good, base: [['YQ==', 9]] })),
      Buffer.from(JSON.stringify({ ...good, compacted: 99 })),
      Buffer.from(JSON.stringify({ ...good, sessions: [['c', 1, 'fp', { kind: 'put' }]] })),
    ];
    for (const data of bad) {
      expect(() => d.kv.restore(data), data.toString().slice(0, 60)).to.throw(/corrupt KV snapshot/);
      expect(Buffer.from(d.kv.snapshot()).equals(before)).to.equal(true);
    }
  });

  it('two replicas applying the same log reach identical snapshots (randomized, seeded)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new SeededRng(seed);
      const log: unknown[] = [];
      const keys = ['a', 'ab', 'b', 'b/1', 'b/2', 'c'];
      for (let i = 0; i < 200; i++) {
        const k = keys[rng.int(0, keys.length)];
        const roll = rng.next();
        const session = rng.next() < 0.5 ? { clientId: `c${rng.int(0, 4)}`, seq: rng.int(1, 5) } : undefined;
        const key = b(k).toString('base64');
        if (roll < 0.6) log.push({ op: 'put', key, value: b(`${i}`).toString('base64'), ...session });
        else if (roll < 0.9) log.push({ op: 'deleteRange', key, rangeEnd: prefixEnd(b(k)).toString('base64'), ...session });
        else log.push(null);
      }
      const r1 = new Driver(new KvStore({ maxClients: 3 }));
      const r2 = new Driver(new KvStore({ maxClients: 3 }));
      const results1 = log.map((v) => r1.applyValue(v));
      const results2 = log.map((v) => r2.applyValue(v));
      expect(Buffer.from(r1.kv.snapshot()).equals(Buffer.from(r2.kv.snapshot())), `seed ${seed}`).to.equal(true);
      expect(results1).to.deep.equal(results2);
      // A replica restored from a mid-log snapshot converges too.
      const r3 = new Driver(new KvStore({ maxClients: 3 }));
      const mid = new Driver(new KvStore({ maxClients: 3 }));
      log.slice(0, 100).forEach((v) => mid.applyValue(v));
      r3.kv.restore(mid.kv.snapshot());
      log.slice(100).forEach((v) => r3.applyValue(v));
      expect(Buffer.from(r3.kv.snapshot()).equals(Buffer.from(r1.kv.snapshot())), `seed ${seed} restored`).to.equal(true);
    }
  });
});

describe('KvStore: against a simple model (randomized, seeded)', () => {
  it('range, put and deleteRange agree with a sorted-map model', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = new SeededRng(seed);
      const d = new Driver();
      const model = new Map<string, { value: string; create: number; mod: number; version: number }>();
      let rev = 1;
      const alphabet = ['a', 'b', '\u00ff', '\u0000'];
      const randKey = () => {
        let s = alphabet[rng.int(0, alphabet.length)];
        while (rng.next() < 0.5) s += alphabet[rng.int(0, alphabet.length)];
        return s;
      };
      const kb = (s: string) => Buffer.from(s, 'latin1');
      const inRange = (k: string, key: string, end: string | null) =>
        end === null ? k === key : end === '\0' ? k >= key : k >= key && k < end;
      for (let step = 0; step < 150; step++) {
        const key = randKey();
        const end = rng.next() < 0.3 ? null : rng.next() < 0.2 ? '\0' : randKey();
        const roll = rng.next();
        if (roll < 0.5) {
          const value = `${step}`;
          d.applyCommand({ op: 'put', session: null, request: putRequest({ key: kb(key), value: b(value) }) });
          rev += 1;
          const prev = model.get(key);
          model.set(key, { value, create: prev ? prev.create : rev, mod: rev, version: prev ? prev.version + 1 : 1 });
        } else if (roll < 0.7) {
          d.applyCommand({
            op: 'deleteRange',
            session: null,
            request: deleteRangeRequest({ key: kb(key), rangeEnd: end === null ? undefined : kb(end) }),
          });
          const doomed = [...model.keys()].filter((k) => inRange(k, key, end));
          doomed.forEach((k) => model.delete(k));
          if (doomed.length > 0) rev += 1;
        } else {
          const limit = rng.int(0, 4);
          const got = d.kv.range(rangeRequest({ key: kb(key), rangeEnd: end === null ? undefined : kb(end), limit }));
          const want = [...model.keys()].filter((k) => inRange(k, key, end)).sort();
          expect(got.count, `seed ${seed} step ${step}`).to.equal(want.length);
          const shown = limit > 0 ? want.slice(0, limit) : want;
          expect(got.more).to.equal(limit > 0 && want.length > limit);
          expect(got.kvs.map((kv) => [kv.key.toString('latin1'), kv.value.toString(), kv.createRevision, kv.modRevision, kv.version]))
            .to.deep.equal(shown.map((k) => { const m = model.get(k)!; return [k, m.value, m.create, m.mod, m.version]; }));
        }
        expect(d.kv.revision, `seed ${seed} step ${step}`).to.equal(rev);
      }
    }
  });
});
