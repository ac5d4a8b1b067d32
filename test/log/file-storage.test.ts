// FileStorage: the write-ahead log in a data directory (issue 3). Round
// trips, batching, segments, identity, snapshots and compaction (§7), and the
// two recovery outcomes: a torn tail is cut away and reported; corruption
// anywhere else stops recovery with the file and offset, modifying nothing.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DataDirMismatchError,
  FileStorage,
  FileStorageOptions,
  OutOfRangeDataError,
  StorageCorruptionError,
  StorageFailedError,
  UnwritableValueError,
} from '../../src/log/file-storage';
import { RAFT_NUMBER_LIMIT } from '../../src/messages/bounds';
import { MemoryStorage } from '../../src/log/storage';
import { HardState } from '../../src/log/types';
import { encodeSnapshotFile, scanSegment, snapshotName } from '../../src/log/wal';
import { SeededRng } from '../../src/time/rng';
import { FaultyFs, InjectedIoError } from './faulty-fs';
import { appendUncheckedHardState, CountingFs, dirPicture, entries, removeTempDirs, samePicture, storageState, tempDir } from './helpers';

const HS = (currentTerm: number, votedFor: string | null, commitIndex: number): HardState => ({ currentTerm, votedFor, commitIndex });

function open(dir: string, extra: Partial<FileStorageOptions> = {}): FileStorage {
  return FileStorage.open({ dir, clusterId: 'test-cluster', node: 'n1', ...extra });
}

/** What opening `dir` throws (null when it opens). */
function openError(dir: string): unknown {
  try {
    open(dir).close();
    return null;
  } catch (e) {
    return e;
  }
}

function segments(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('wal-')).sort();
}

/** A directory holding 40 entries in several segments, hard state last. */
function filled(dir: string): FileStorage {
  const s = open(dir, { segmentBytes: 600 });
  for (let i = 1; i <= 40; i += 4) {
    s.save({ hardState: HS(2, 'n2', Math.max(0, i - 2)), entries: entries(i, i + 3, 2), snapshot: null });
  }
  return s;
}

describe('FileStorage', () => {
  afterEach(removeTempDirs);

  describe('round trip', () => {
    it('a new directory gets meta.json and a first segment; a reopen gives back hard state and entries', () => {
      const dir = path.join(tempDir(), 'data');
      const s = open(dir);
      expect(s.recovery.created).to.equal(true);
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['meta.json', 'wal-0000000000000001.log']);
      s.save({ hardState: HS(3, 'n2', 2), entries: entries(1, 5, 3), snapshot: null });
      const before = storageState(s);
      s.close();
      const r = open(dir);
      expect(r.recovery.created).to.equal(false);
      expect(r.recovery.tornTail).to.equal(null);
      expect(storageState(r)).to.deep.equal(before);
      expect(r.hardState()).to.deep.equal(HS(3, 'n2', 2));
      expect(r.entries(1, 6).map((e) => e.value)).to.deep.equal([{ v: 1 }, { v: 2 }, { v: 3 }, { v: 4 }, { v: 5 }]);
      r.close();
    });

    it('numeric node names and null votes survive too', () => {
      const dir = tempDir();
      const s = FileStorage.open({ dir, clusterId: 'c', node: 7 });
      s.setHardState({ currentTerm: 1, votedFor: 3, commitIndex: 0 });
      s.setHardState({ currentTerm: 2, votedFor: null, commitIndex: 0 });
      s.close();
      const r = FileStorage.open({ dir, clusterId: 'c', node: 7 });
      expect(r.hardState()).to.deep.equal({ currentTerm: 2, votedFor: null, commitIndex: 0 });
      r.close();
    });

    it('one save of many entries is one write and one fsync (a Ready is one batch)', () => {
      const counting = new CountingFs();
      const s = open(tempDir(), { fs: counting });
      counting.reset();
      s.save({ hardState: HS(1, 'n1', 0), entries: entries(1, 500, 1), snapshot: null });
      expect(counting.counts.write).to.equal(1);
      expect(counting.counts.fsync).to.equal(1);
      expect(counting.counts.fsyncDir).to.equal(undefined);
      s.close();
    });

    it('a save with nothing in it touches nothing', () => {
      const counting = new CountingFs();
      const s = open(tempDir(), { fs: counting });
      counting.reset();
      s.save({ hardState: null, entries: [], snapshot: null });
      expect(counting.counts).to.deep.equal({});
      s.close();
    });

    it('rotates segments at segmentBytes (with an fsync of the directory) and replays across them', () => {
      const dir = tempDir();
      const counting = new CountingFs();
      const s = open(dir, { segmentBytes: 600, fs: counting });
      counting.reset();
      for (let i = 1; i <= 40; i += 4) s.save({ hardState: HS(2, 'n2', 0), entries: entries(i, i + 3, 2), snapshot: null });
      expect(segments(dir).length).to.be.greaterThan(2);
      expect(counting.counts.fsyncDir).to.equal(segments(dir).length - 1);
      const before = storageState(s);
      s.close();
      const r = open(dir, { segmentBytes: 600 });
      expect(r.recovery.segments).to.equal(segments(dir).length);
      expect(storageState(r)).to.deep.equal(before);
      r.close();
    });

    it('a conflicting append (§5.3) replaces the suffix, across a restart too', () => {
      const dir = tempDir();
      const s = open(dir);
      s.append(entries(1, 6, 1));
      s.append(entries(4, 5, 2, 'w'));
      expect(s.lastIndex()).to.equal(5);
      s.close();
      const r = open(dir);
      expect(r.entries(1, 6).map((e) => e.term)).to.deep.equal([1, 1, 1, 2, 2]);
      expect(r.entries(4, 5)[0].value).to.deep.equal({ w: 4 });
      r.close();
    });

    it('refuses an append that would leave a gap, writing nothing', () => {
      const dir = tempDir();
      const s = open(dir);
      s.append(entries(1, 2, 1));
      const before = dirPicture(dir);
      expect(() => s.append(entries(5, 6, 1))).to.throw(RangeError);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
      s.append(entries(3, 3, 1)); // still usable
      s.close();
    });
  });

  describe('identity', () => {
    it('refuses a directory of another cluster or another node, with a clear message, changing nothing', () => {
      const dir = tempDir();
      filled(dir).close();
      const before = dirPicture(dir);
      expect(() => FileStorage.open({ dir, clusterId: 'other-cluster', node: 'n1' }))
        .to.throw(DataDirMismatchError)
        .with.property('message')
        .that.matches(/belongs to node "n1" of cluster "test-cluster", not node "n1" of cluster "other-cluster"/);
      expect(() => FileStorage.open({ dir, clusterId: 'test-cluster', node: 'n2' }))
        .to.throw(DataDirMismatchError)
        .with.property('message')
        .that.matches(/not node "n2"/);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });

    it('refuses WAL segments without meta.json', () => {
      const dir = tempDir();
      filled(dir).close();
      fs.unlinkSync(path.join(dir, 'meta.json'));
      const before = dirPicture(dir);
      expect(() => open(dir)).to.throw(StorageCorruptionError, /meta\.json.*missing/);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });

    it('refuses a segment copied in from another node (its header names that node)', () => {
      const a = tempDir();
      const b = tempDir();
      filled(a).close();
      FileStorage.open({ dir: b, clusterId: 'test-cluster', node: 'n2' }).close();
      fs.copyFileSync(path.join(a, segments(a)[0]), path.join(b, segments(b)[0]));
      expect(() => FileStorage.open({ dir: b, clusterId: 'test-cluster', node: 'n2' })).to.throw(StorageCorruptionError, /node n1/);
    });
  });

  describe('snapshots and compaction (§7)', () => {
    it('createSnapshot discards the log prefix and the segments it covers; restart = snapshot + remaining log', () => {
      const dir = tempDir();
      const s = filled(dir);
      const segsBefore = segments(dir);
      const snap = s.createSnapshot(30, Buffer.from('state after 30'));
      expect(snap).to.include({ index: 30, term: 2 });
      expect(s.firstIndex()).to.equal(31);
      expect(s.term(30)).to.equal(2);
      expect(() => s.term(29)).to.throw(RangeError);
      const segsAfter = segments(dir);
      expect(segsAfter.length).to.be.lessThan(segsBefore.length);
      expect(segsAfter[segsAfter.length - 1]).to.equal(segsBefore[segsBefore.length - 1]);
      expect(fs.readdirSync(dir).filter((n) => n.endsWith('.snap'))).to.deep.equal([snapshotName(30, 2)]);
      const before = storageState(s);
      s.close();
      const r = open(dir, { segmentBytes: 600 });
      expect(storageState(r)).to.deep.equal(before);
      expect(r.recovery.snapshotIndex).to.equal(30);
      expect(Buffer.from(r.snapshot()!.data).toString()).to.equal('state after 30');
      // A later snapshot replaces the earlier file.
      r.createSnapshot(40, Buffer.from('state after 40'));
      expect(fs.readdirSync(dir).filter((n) => n.endsWith('.snap'))).to.deep.equal([snapshotName(40, 2)]);
      expect(r.lastIndex()).to.equal(40);
      r.close();
      const r2 = open(dir);
      expect(r2.firstIndex()).to.equal(41);
      expect(r2.lastIndex()).to.equal(40);
      expect(r2.term(40)).to.equal(2);
      r2.append(entries(41, 41, 3));
      r2.close();
    });

    it('the hard state survives when the segments that held it are compacted away', () => {
      const dir = tempDir();
      const s = open(dir, { segmentBytes: 300 });
      s.save({ hardState: HS(9, 'n3', 0), entries: [], snapshot: null });
      for (let i = 1; i <= 30; i++) s.append(entries(i, i, 9));
      s.createSnapshot(30, Buffer.from('x'));
      expect(segments(dir)).to.have.length(1);
      s.close();
      const r = open(dir);
      expect(r.hardState()).to.deep.equal(HS(9, 'n3', 0));
      r.close();
    });

    it('applySnapshot from the leader discards the entire log (Figure 13 receiver 7), also after a restart', () => {
      const dir = tempDir();
      const s = open(dir);
      s.append(entries(1, 10, 1));
      s.save({ hardState: HS(3, 'n2', 20), entries: entries(21, 22, 3), snapshot: { index: 20, term: 3, data: Buffer.from('leader state') } });
      expect(s.firstIndex()).to.equal(21);
      expect(s.lastIndex()).to.equal(22);
      const before = storageState(s);
      s.close();
      const r = open(dir);
      expect(storageState(r)).to.deep.equal(before);
      r.close();
    });

    it('a snapshot saved without its log record (crash in between) is applied again on restart', () => {
      const dir = tempDir();
      const s = open(dir);
      s.append(entries(1, 10, 1));
      s.close();
      // As if the leader's snapshot at 20 had been renamed into place and the
      // process died before its WAL record was written.
      fs.writeFileSync(path.join(dir, snapshotName(20, 3)), encodeSnapshotFile(20, 3, Buffer.from('leader state')));
      const lines: string[] = [];
      const r = open(dir, { log: (l) => lines.push(l) });
      expect(r.recovery.reappliedSnapshot).to.equal(true);
      expect(r.firstIndex()).to.equal(21);
      expect(r.lastIndex()).to.equal(20);
      expect(lines.join('\n')).to.match(/snapshot at 20 was saved without its log record/);
      r.close();
    });

    it('a snapshot whose last entry matches our log keeps the entries after it (§7)', () => {
      const dir = tempDir();
      const s = open(dir);
      s.append(entries(1, 10, 1));
      s.close();
      fs.writeFileSync(path.join(dir, snapshotName(6, 1)), encodeSnapshotFile(6, 1, Buffer.from('s')));
      const r = open(dir);
      expect(r.recovery.reappliedSnapshot).to.equal(false);
      expect([r.firstIndex(), r.lastIndex()]).to.deep.equal([7, 10]);
      r.close();
    });

    it('on open, leftover temp files and superseded snapshots are removed and reported', () => {
      const dir = tempDir();
      const s = filled(dir);
      s.createSnapshot(20, Buffer.from('a'));
      s.close();
      fs.writeFileSync(path.join(dir, snapshotName(10, 2)), encodeSnapshotFile(10, 2, Buffer.from('old')));
      fs.writeFileSync(path.join(dir, `${snapshotName(30, 2)}.tmp`), 'half a snapshot');
      const r = open(dir);
      expect(r.recovery.removed.sort()).to.deep.equal([snapshotName(10, 2), `${snapshotName(30, 2)}.tmp`].sort());
      expect(r.recovery.snapshotIndex).to.equal(20);
      r.close();
    });

    it('MemoryStorage follows the same rules', () => {
      const m = new MemoryStorage();
      m.append(entries(1, 10, 1));
      m.createSnapshot(4, Buffer.from('x'));
      expect([m.firstIndex(), m.lastIndex(), m.term(4)]).to.deep.equal([5, 10, 1]);
      expect(() => m.entries(4, 5)).to.throw(RangeError);
      expect(() => m.append(entries(3, 3, 1))).to.throw(RangeError);
      m.applySnapshot({ index: 12, term: 2, data: Buffer.from('y') });
      expect([m.firstIndex(), m.lastIndex(), m.term(12)]).to.deep.equal([13, 12, 2]);
      expect(() => m.applySnapshot({ index: 12, term: 2, data: Buffer.from('y') })).to.throw(RangeError);
    });
  });

  describe('bounds on terms and indices (issue 18): never written, and named when read', () => {
    const LIMIT = RAFT_NUMBER_LIMIT;
    const refusals: [string, (s: FileStorage) => unknown, RegExp][] = [
      ['a term at the limit', (s) => s.save({ hardState: HS(LIMIT, null, 0), entries: [], snapshot: null }), /currentTerm 9007199253692416/],
      ['a term of 2^53', (s) => s.save({ hardState: HS(2 ** 53, null, 0), entries: [], snapshot: null }), /currentTerm 9007199254740992/],
      ['a commit index of 2^63', (s) => s.save({ hardState: HS(1, null, 2 ** 63), entries: [], snapshot: null }), /commitIndex/],
      ['a vote for a name the codec refuses', (s) => s.save({ hardState: HS(1, 'a\u0000b', 0), entries: [], snapshot: null }), /votedFor/],
      ['an entry of term 2^53 - 1', (s) => s.save({ hardState: null, entries: [{ index: 6, term: 2 ** 53 - 1, value: 1 }], snapshot: null }), /entry 6 term/],
      ['a good entry with a bad one after it', (s) => s.save({ hardState: HS(3, 'n2', 5), entries: [{ index: 6, term: 3, value: 1 }, { index: 7, term: LIMIT, value: 1 }], snapshot: null }), /entry 7 term/],
      ['a snapshot of term 1e300', (s) => s.save({ hardState: null, entries: [], snapshot: { index: 9, term: 1e300, data: Buffer.from('x') } }), /snapshot term/],
      ['a fractional term, asynchronously', (s) => s.saveAsync({ hardState: HS(3.5, null, 0), entries: [], snapshot: null }), /currentTerm 3\.5/],
    ];
    for (const [what, write, message] of refusals) {
      it(`refuses ${what} before writing anything; the directory still opens`, async () => {
        const dir = tempDir();
        const s = open(dir);
        s.save({ hardState: HS(3, 'n2', 5), entries: entries(1, 5, 3), snapshot: null });
        const state = storageState(s);
        const before = dirPicture(dir);
        let err: unknown = null;
        try {
          await write(s);
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(UnwritableValueError);
        expect((err as Error).message).to.match(message);
        expect(samePicture(before, dirPicture(dir)), 'the directory changed').to.equal(true);
        expect(storageState(s)).to.deep.equal(state);
        // Not a disk failure: the storage takes the next good batch.
        s.save({ hardState: HS(4, null, 5), entries: [], snapshot: null });
        s.close();
        expect(open(dir).hardState()).to.deep.equal(HS(4, null, 5));
      });
    }

    it('a directory an older version wrote with term 2^53 stops with OutOfRangeDataError naming the value, modifying nothing', () => {
      const dir = tempDir();
      const s = open(dir);
      s.save({ hardState: HS(3, 'n2', 0), entries: [], snapshot: null });
      s.close();
      appendUncheckedHardState(dir, { currentTerm: 2 ** 53, votedFor: null, commitIndex: 0 });
      const before = dirPicture(dir);
      const err = openError(dir);
      expect(err).to.be.instanceOf(OutOfRangeDataError);
      expect((err as Error).message).to.match(/wal-0000000000000001\.log at offset \d+: currentTerm 9007199254740992 is not below 9007199253692416/);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });
  });

  describe('recovery: corruption stops the node, nothing modified', () => {
    it('a bit flip anywhere in the middle of a segment names the file and the offset of its record', () => {
      const dir = tempDir();
      filled(dir).close();
      const segs = segments(dir);
      const target = path.join(dir, segs[Math.floor(segs.length / 2)]);
      const original = fs.readFileSync(target);
      const recordStarts = scanSegment(original, target, false).records.map((r) => r.offset);
      const rng = new SeededRng(3);
      for (let trial = 0; trial < 40; trial++) {
        // Anywhere in the middle of the file: header, checksum or body.
        const pos = rng.int(Math.floor(original.length / 4), Math.floor((3 * original.length) / 4));
        const bit = 1 << rng.int(0, 8);
        const bad = Buffer.from(original);
        bad[pos] ^= bit;
        fs.writeFileSync(target, bad);
        const before = dirPicture(dir);
        const err = openError(dir);
        expect(err, `flip of bit ${bit} at ${pos}`).to.be.instanceOf(StorageCorruptionError);
        const c = err as StorageCorruptionError;
        const expectedOffset = Math.max(...recordStarts.filter((o) => o <= pos));
        expect(c.file).to.equal(target);
        expect(c.offset).to.equal(expectedOffset);
        expect(c.message).to.contain(target).and.to.contain(`offset ${expectedOffset}`);
        expect(samePicture(before, dirPicture(dir)), 'the directory was modified').to.equal(true);
      }
      fs.writeFileSync(target, original);
      open(dir).close();
    });

    it('a bit flip in the last record of the last segment is corruption too, not a torn tail', () => {
      const dir = tempDir();
      filled(dir).close();
      const last = path.join(dir, segments(dir).at(-1)!);
      const buf = fs.readFileSync(last);
      buf[buf.length - 3] ^= 0x10;
      fs.writeFileSync(last, buf);
      const before = dirPicture(dir);
      expect(() => open(dir)).to.throw(StorageCorruptionError, /checksum mismatch/);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });

    it('a record cut short at the end of a segment that is not the last is corruption', () => {
      const dir = tempDir();
      filled(dir).close();
      const first = path.join(dir, segments(dir)[0]);
      fs.truncateSync(first, fs.statSync(first).size - 5);
      const before = dirPicture(dir);
      expect(() => open(dir)).to.throw(StorageCorruptionError, /not the last/);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });

    it('a missing segment in the middle is corruption', () => {
      const dir = tempDir();
      filled(dir).close();
      const segs = segments(dir);
      fs.unlinkSync(path.join(dir, segs[1]));
      const before = dirPicture(dir);
      expect(() => open(dir)).to.throw(StorageCorruptionError, /missing/);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });

    it('a damaged snapshot file is corruption', () => {
      const dir = tempDir();
      const s = filled(dir);
      s.createSnapshot(20, Buffer.from('some state machine state'));
      s.close();
      const file = path.join(dir, snapshotName(20, 2));
      const buf = fs.readFileSync(file);
      buf[buf.length - 4] ^= 1;
      fs.writeFileSync(file, buf);
      const before = dirPicture(dir);
      expect(() => open(dir)).to.throw(StorageCorruptionError, /snapshot checksum mismatch/).with.property('file', file);
      expect(samePicture(before, dirPicture(dir))).to.equal(true);
    });
  });

  describe('recovery: a torn tail is cut away, reported and logged', () => {
    for (const cut of [1, 5, 13, 20]) {
      it(`the last record cut ${cut} bytes short: truncated at its start; the node carries on`, () => {
        const dir = tempDir();
        const s = filled(dir);
        const expected = storageState(s);
        s.close();
        const last = path.join(dir, segments(dir).at(-1)!);
        const full = fs.readFileSync(last);
        const records = scanSegment(full, last, true).records;
        const lastStart = records[records.length - 1].offset;
        const lastLen = full.length - lastStart;
        fs.truncateSync(last, full.length - Math.min(cut, lastLen - 1));
        const lines: string[] = [];
        const r = open(dir, { log: (l) => lines.push(l) });
        expect(r.recovery.tornTail).to.include({ file: last, offset: lastStart });
        expect(lines.join('\n')).to.match(new RegExp(`truncated a torn record at the end of .*${path.basename(last)}: offset ${lastStart}`));
        expect(fs.statSync(last).size).to.equal(lastStart);
        // The last record of filled() is its final hard state: the one before stands.
        expect(r.hardState()).to.deep.equal(HS(2, 'n2', 31));
        expect(r.entries(1, 41)).to.deep.equal(expected.entries);
        // It carries on: new writes land after the cut, and a reopen is clean.
        r.save({ hardState: HS(3, null, 40), entries: entries(41, 42, 3), snapshot: null });
        r.close();
        const again = open(dir);
        expect(again.recovery.tornTail).to.equal(null);
        expect(again.lastIndex()).to.equal(42);
        expect(again.hardState()).to.deep.equal(HS(3, null, 40));
        again.close();
      });
    }

    it('a zero-filled tail (the file grew, its data never arrived) is torn too', () => {
      const dir = tempDir();
      const s = filled(dir);
      const expected = storageState(s);
      s.close();
      const last = path.join(dir, segments(dir).at(-1)!);
      const size = fs.statSync(last).size;
      fs.appendFileSync(last, Buffer.alloc(700));
      const r = open(dir);
      expect(r.recovery.tornTail).to.include({ file: last, offset: size, droppedBytes: 700 });
      expect(storageState(r)).to.deep.equal(expected);
      r.close();
    });

    it('a last record whose end is zeros (partly written) is torn', () => {
      const dir = tempDir();
      const s = filled(dir);
      s.append(entries(41, 41, 2));
      s.close();
      const last = path.join(dir, segments(dir).at(-1)!);
      const buf = fs.readFileSync(last);
      const start = scanSegment(buf, last, true).records.at(-1)!.offset;
      buf.fill(0, buf.length - 6);
      fs.writeFileSync(last, buf);
      const r = open(dir);
      expect(r.recovery.tornTail).to.include({ offset: start });
      expect(r.lastIndex()).to.equal(40);
      r.close();
    });
  });

  describe('failures while running', () => {
    it('after a failed write every later call fails (the node must restart and recover)', () => {
      const dir = tempDir();
      const ffs = new FaultyFs(new SeededRng(1));
      const s = open(dir, { fs: ffs });
      s.append(entries(1, 3, 1));
      ffs.planIn(1, 'eio');
      expect(() => s.append(entries(4, 4, 1))).to.throw(InjectedIoError);
      expect(() => s.append(entries(4, 4, 1))).to.throw(StorageFailedError);
      expect(() => s.setHardState(HS(1, null, 0))).to.throw(StorageFailedError);
      ffs.processCrash();
      ffs.revive();
      const r = open(dir, { fs: ffs });
      expect(r.lastIndex()).to.be.oneOf([3, 4]);
      r.close();
    });
  });
});
