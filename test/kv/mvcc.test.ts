// MVCC history of the KvStore: reads at past revisions after overwrites,
// deletes and compaction, the compaction command and its errors, and the
// history carried through snapshots, identical on every replica.

import { expect } from 'chai';
import { KeyValue, KvRequestError, KvStore, prefixEnd, rangeRequest } from '../../src/kv';
import { SeededRng } from '../../src/time/rng';
import { Driver, b } from './helpers';

const rangeOf = (key: string) => rangeRequest({ key: b(key) });

const ALL = ['\0', '\0'] as const;
const compaction = (revision: number) => ({ op: 'compaction', revision });

/** What a range over every key at `revision` returns, as [key, value, mod_revision]. */
function view(d: Driver, revision: number): [string, string, number][] {
  return d.range(ALL[0], ALL[1], { revision }).kvs.map((kv) => [kv.key.toString(), kv.value.toString(), kv.modRevision]);
}

describe('KvStore: MVCC history', () => {
  let d: Driver;
  beforeEach(() => {
    d = new Driver();
    d.put('a', '1'); // 2
    d.put('b', '1'); // 3
    d.put('a', '2'); // 4
    d.del('b'); // 5
    d.put('b', '3'); // 6 (created anew)
    d.del('a'); // 7
  });

  it('reads each past revision as it was: overwrites, deletes, re-creation', () => {
    expect(view(d, 1)).to.deep.equal([]);
    expect(view(d, 2)).to.deep.equal([['a', '1', 2]]);
    expect(view(d, 3)).to.deep.equal([['a', '1', 2], ['b', '1', 3]]);
    expect(view(d, 4)).to.deep.equal([['a', '2', 4], ['b', '1', 3]]);
    expect(view(d, 5)).to.deep.equal([['a', '2', 4]]);
    expect(view(d, 6)).to.deep.equal([['a', '2', 4], ['b', '3', 6]]);
    expect(view(d, 7)).to.deep.equal([['b', '3', 6]]);
    const b6 = d.range('b', undefined, { revision: 6 }).kvs[0];
    expect([b6.createRevision, b6.version]).to.deep.equal([6, 1]);
    // The header revision is the store's current one, as in etcd.
    expect(d.range('a', undefined, { revision: 3 }).revision).to.equal(7);
  });

  it('count, limit and filters apply to the past view', () => {
    expect(d.range(ALL[0], ALL[1], { revision: 6, countOnly: true }).count).to.equal(2);
    const r = d.range(ALL[0], ALL[1], { revision: 6, limit: 1 });
    expect([r.kvs.length, r.more, r.count]).to.deep.equal([1, true, 2]);
    expect(d.keys(ALL[0], ALL[1], { revision: 6, minModRevision: 5 })).to.deep.equal(['b']);
    expect(d.keys('a', prefixEnd(b('a')), { revision: 4 })).to.deep.equal(['a']);
  });

  it('compaction keeps what reads at or after its revision need, refuses reads below it', () => {
    const before = [5, 6, 7].map((r) => view(d, r));
    expect(d.applyValue(compaction(5))).to.deep.equal({ kind: 'compaction', revision: 7 });
    expect(d.kv.compactRevision).to.equal(5);
    expect(d.kv.revision).to.equal(7); // a compaction does not move the revision
    expect([5, 6, 7].map((r) => view(d, r))).to.deep.equal(before);
    expect(() => view(d, 4))
      .to.throw(KvRequestError, 'etcdserver: mvcc: required revision has been compacted')
      .with.property('code', 'compacted');
    // a@4 (the version visible at 5) and its tombstone at 7 stay; a@2, b@3 and b's tombstone at 5 go.
    expect(d.kv.keyHistory.size).to.equal(3);
  });

  it('a compaction at or below the last one, or above the revision, fails with etcd\'s errors and changes nothing', () => {
    d.applyValue(compaction(4));
    const snap = Buffer.from(d.kv.snapshot());
    expect(d.applyValue(compaction(4))).to.deep.equal({
      kind: 'error', code: 'compacted', message: 'etcdserver: mvcc: required revision has been compacted',
    });
    expect(d.applyValue(compaction(3))).to.have.property('code', 'compacted');
    expect(d.applyValue(compaction(8))).to.deep.equal({
      kind: 'error', code: 'future-revision', message: 'etcdserver: mvcc: required revision is a future revision',
    });
    expect(Buffer.from(d.kv.snapshot()).equals(snap)).to.equal(true);
  });

  it('a key deleted before the compacted revision is gone from the history; one deleted after stays readable', () => {
    d.applyValue(compaction(7));
    expect(d.kv.keyHistory.size).to.equal(1); // only b@6
    expect(view(d, 7)).to.deep.equal([['b', '3', 6]]);
  });

  it('a txn range at a past revision reads the history, not the txn\'s own writes; a bad revision fails the txn', () => {
    const r = d.txn({
      compare: [],
      success: [
        { op: 'put', request: { key: b('a'), value: b('new'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } },
        { op: 'range', request: { ...rangeOf('a'), revision: 7 } },
        { op: 'range', request: { ...rangeOf('a'), revision: 4 } },
        { op: 'range', request: rangeOf('a') },
      ],
      failure: [],
    });
    expect(r.kind).to.equal('txn');
    const ranges = (r as { responses: { kvs?: KeyValue[] }[] }).responses.slice(1).map((x) => x.kvs!.map((kv) => kv.value.toString()));
    expect(ranges).to.deep.equal([[], ['2'], ['new']]);
    d.applyValue(compaction(5));
    const bad = d.txn({ compare: [], success: [{ op: 'range', request: { ...rangeOf('a'), revision: 4 } }], failure: [] });
    expect(bad).to.have.property('code', 'compacted');
  });

  it('changesSince and previous give the events a watch replays, with prev_kv', () => {
    const events = [...d.kv.keyHistory.changesSince(4)].map((kv) => [kv.key.toString(), kv.version === 0 ? 'DELETE' : 'PUT', kv.modRevision]);
    expect(events).to.deep.equal([['a', 'PUT', 4], ['b', 'DELETE', 5], ['b', 'PUT', 6], ['a', 'DELETE', 7]]);
    const [a4, b5, b6] = [...d.kv.keyHistory.changesSince(4)];
    expect(d.kv.keyHistory.previous(a4)?.value.toString()).to.equal('1');
    expect(d.kv.keyHistory.previous(b5)?.value.toString()).to.equal('1');
    expect(d.kv.keyHistory.previous(b6)).to.equal(undefined); // b did not exist at 5
  });

  it('history and compacted revision survive snapshot and restore, byte for byte', () => {
    d.applyValue(compaction(4));
    d.put('c', 'x'); // 8
    const copy = new Driver(new KvStore());
    copy.kv.restore(d.kv.snapshot());
    expect(Buffer.from(copy.kv.snapshot()).equals(Buffer.from(d.kv.snapshot()))).to.equal(true);
    expect(copy.kv.compactRevision).to.equal(4);
    for (let r = 4; r <= 8; r++) expect(view(copy, r), `revision ${r}`).to.deep.equal(view(d, r));
    expect(() => view(copy, 3)).to.throw(KvRequestError);
  });

  it('reads a version 1 snapshot (no history) as a store compacted at its revision', () => {
    const v1 = {
      format: 'simpleraft-kv/1', revision: 7, sessions: [], leases: [],
      kvs: [[b('b').toString('base64'), b('3').toString('base64'), 6, 6, 1, '0']],
    };
    const s = new Driver(new KvStore());
    s.kv.restore(Buffer.from(JSON.stringify(v1)));
    expect(view(s, 7)).to.deep.equal([['b', '3', 6]]);
    expect(s.kv.compactRevision).to.equal(7);
  });

  it('randomized (seeded): every revision since the compaction reads as the store was then, on replicas and restored copies', () => {
    for (let seed = 1; seed <= 15; seed++) {
      const rng = new SeededRng(seed);
      const keys = ['a', 'ab', 'b', 'b/1', 'b/2', 'c'];
      const main = new Driver();
      // The oracle: the current state read right after each revision was made.
      const states = new Map<number, [string, string, number][]>([[1, []]]);
      const log: unknown[] = [];
      let restoredAt = -1;
      for (let i = 0; i < 300; i++) {
        const k = keys[rng.int(0, keys.length)];
        const key = b(k).toString('base64');
        const roll = rng.next();
        let value: unknown;
        if (roll < 0.55) value = { op: 'put', key, value: b(`${i}`).toString('base64') };
        else if (roll < 0.8) value = { op: 'deleteRange', key, rangeEnd: prefixEnd(b(k)).toString('base64') };
        else if (roll < 0.9) value = compaction(rng.int(1, main.kv.revision + 2));
        else value = { op: 'txn', compare: [], success: [{ op: 'put', key, value: 'eA==' }, { op: 'deleteRange', key: 'eg==' }] };
        log.push(value);
        main.applyValue(value);
        states.set(main.kv.revision, view(main, 0));
        if (i === 150) restoredAt = main.index;
      }
      const ctx = `seed ${seed}`;
      for (let r = Math.max(1, main.kv.compactRevision); r <= main.kv.revision; r++) {
        const expected = [...states.entries()].filter(([rev]) => rev <= r).pop()![1];
        expect(view(main, r), `${ctx} revision ${r}`).to.deep.equal(expected);
      }
      // A replica that installs a snapshot midway and applies the rest ends identical.
      const first = new Driver();
      log.slice(0, restoredAt).forEach((v) => first.applyValue(v));
      const replica = new Driver(new KvStore());
      replica.kv.restore(first.kv.snapshot());
      replica.index = restoredAt;
      log.slice(restoredAt).forEach((v) => replica.applyValue(v));
      expect(Buffer.from(replica.kv.snapshot()).equals(Buffer.from(main.kv.snapshot())), ctx).to.equal(true);
      expect(replica.kv.keyHistory.size, ctx).to.equal(main.kv.keyHistory.size);
    }
  });
});
