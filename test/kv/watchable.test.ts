// Watches over the store: live events, history replay, filters, prev_kv,
// compaction, and slow watchers caught up from the history without gaps or
// duplicates.

import { expect } from 'chai';
import { KvStore, WatchEvent, WatchSink, WatchSpec, WatchableStore, prefixEnd } from '../../src/kv';
import { SeededRng } from '../../src/time/rng';
import { Driver, b } from './helpers';

/** A sink that records what it gets, and says "full" while `room` is 0. */
class Recorder implements WatchSink {
  got: WatchEvent[] = [];
  batches: number[][] = [];
  compactedAt: [number, boolean] | null = null;
  room = Infinity;
  events(events: WatchEvent[]): boolean {
    this.got.push(...events);
    this.batches.push(events.map((e) => e.kv.modRevision));
    this.room -= 1;
    return this.room > 0;
  }
  compacted(rev: number, behind: boolean): void {
    this.compactedAt = [rev, behind];
  }
  lines(): string[] {
    return this.got.map((e) => `${e.type} ${e.kv.key} ${e.kv.modRevision}${e.prevKv ? ` prev=${e.prevKv.value}` : ''}`);
  }
}

const spec = (key: string, o: Partial<WatchSpec> = {}): WatchSpec => ({
  key: b(key), rangeEnd: Buffer.alloc(0), startRevision: 0, prevKv: false, noPut: false, noDelete: false, ...o,
});
const prefix = (p: string, o: Partial<WatchSpec> = {}) => spec(p, { rangeEnd: prefixEnd(b(p)), ...o });

describe('WatchableStore', () => {
  let d: Driver;
  let ws: WatchableStore;
  beforeEach(() => {
    d = new Driver();
    ws = new WatchableStore(d.kv, 3);
  });

  it('a synced watcher gets the changes in its range as they are applied, with prev_kv', () => {
    const r = new Recorder();
    ws.watch(prefix('p/', { prevKv: true }), r);
    d.put('p/a', '1'); // 2
    d.put('q', 'x'); // 3: outside
    d.put('p/a', '2'); // 4
    d.del('p/', prefixEnd(b('p/'))); // 5
    expect(r.lines()).to.deep.equal(['PUT p/a 2', 'PUT p/a 4 prev=1', 'DELETE p/a 5 prev=2']);
    expect(r.got[2].kv.version).to.equal(0); // a DELETE's kv has only key and mod_revision
  });

  it('filters NOPUT and NODELETE; a single-key watch sees only its key', () => {
    const puts = new Recorder();
    const dels = new Recorder();
    ws.watch(spec('k', { noDelete: true }), puts);
    ws.watch(spec('k', { noPut: true }), dels);
    d.put('k', '1');
    d.put('kk', '1');
    d.del('k');
    expect(puts.lines()).to.deep.equal(['PUT k 2']);
    expect(dels.lines()).to.deep.equal(['DELETE k 4']);
  });

  it('replays the history from start_revision; a start below the compacted revision is canceled', () => {
    for (let i = 0; i < 5; i++) d.put('k', `${i}`); // 2..6
    const r = new Recorder();
    ws.watch(spec('k', { startRevision: 4 }), r);
    expect(r.lines()).to.deep.equal(['PUT k 4', 'PUT k 5', 'PUT k 6']);
    d.applyValue({ op: 'compaction', revision: 5 });
    const late = new Recorder();
    expect(ws.watch(spec('k', { startRevision: 4 }), late)).to.equal(null);
    expect(late.compactedAt).to.deep.equal([5, false]);
    // Starting at the compacted revision itself is allowed (etcd refuses only below it).
    const at = new Recorder();
    ws.watch(spec('k', { startRevision: 5 }), at);
    expect(at.lines()).to.deep.equal(['PUT k 5', 'PUT k 6']);
  });

  it('a slow watcher is left behind, then caught up in batches that never split a revision, no gap, no duplicate', () => {
    const r = new Recorder();
    r.room = 1;
    const w = ws.watch(prefix('', { rangeEnd: Buffer.from([0]) }), r)!;
    d.put('a', '1'); // 2: delivered, then the sink is full
    expect(w.synced).to.equal(false);
    d.txn({
      compare: [],
      success: ['x', 'y', 'z', 'w'].map((k) => ({
        op: 'put' as const,
        request: { key: b(k), value: b('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
      })),
      failure: [],
    }); // 3: four events in one revision
    for (let i = 0; i < 4; i++) d.put('a', `${i}`); // 4..7
    expect(r.got).to.have.length(1); // nothing more while full
    r.room = Infinity;
    ws.resume(w);
    expect(r.batches).to.deep.equal([[2], [3, 3, 3, 3], [4, 5, 6], [7]]);
    expect(w.synced).to.equal(true);
  });

  it('a watcher too far behind, whose next revision is compacted, is canceled as behind', () => {
    const r = new Recorder();
    r.room = 1;
    ws.watch(spec('a'), r);
    d.put('a', '1');
    d.put('a', '2');
    d.put('a', '3');
    d.applyValue({ op: 'compaction', revision: 4 });
    expect(r.compactedAt).to.deep.equal([4, true]);
    expect(ws.size).to.equal(0);
  });

  it('a snapshot installed under a watcher hands it the changes it brings', () => {
    const r = new Recorder();
    ws.watch(spec('k'), r);
    const leader = new Driver();
    leader.put('k', '1');
    leader.put('k', '2');
    d.kv.restore(leader.kv.snapshot());
    expect(r.lines()).to.deep.equal(['PUT k 2', 'PUT k 3']);
  });

  it('randomized (seeded): a watcher that stalls and resumes sees exactly the committed changes in its range', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rng = new SeededRng(seed);
      const dd = new Driver(new KvStore());
      const w2 = new WatchableStore(dd.kv, 1 + rng.int(0, 5));
      const r = new Recorder();
      const w = w2.watch(prefix('b'), r)!;
      for (let i = 0; i < 200; i++) {
        const k = ['a', 'b', 'b/1', 'b/2', 'c'][rng.int(0, 5)];
        if (rng.next() < 0.7) dd.put(k, `${i}`);
        else dd.del(k);
        if (rng.next() < 0.1) r.room = rng.int(1, 3);
        if (!w.synced && rng.next() < 0.3) {
          r.room = Infinity;
          w2.resume(w);
        }
      }
      r.room = Infinity;
      w2.resume(w);
      const expected = [...dd.kv.keyHistory.changesSince(1)].filter((kv) => kv.key.toString().startsWith('b'));
      expect(r.got.map((e) => e.kv), `seed ${seed}`).to.deep.equal(expected);
    }
  });
});
