// FileStorage.saveAsync: the node's write path, with the fsync off the event
// loop; a batch that moves only commitIndex is written but not fsynced.

import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FileStorage } from '../../src/log/file-storage';
import { realFs, WalFs } from '../../src/log/wal-fs';

describe('FileStorage.saveAsync', () => {
  let dir: string;
  let syncs: number;
  const countingFs: WalFs = {
    ...realFs,
    fsync: (fd) => {
      syncs++;
      realFs.fsync(fd);
    },
    fsyncAsync: (fd) => {
      syncs++;
      return realFs.fsyncAsync!(fd);
    },
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'raft-async-'));
    syncs = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes entries and a new vote durable with one fsync each batch, and they survive a reopen', async () => {
    const s = FileStorage.open({ dir, clusterId: 'c', node: 'n1', fs: countingFs });
    const before = syncs;
    await s.saveAsync({ hardState: { currentTerm: 2, votedFor: 'n2', commitIndex: 0 }, entries: [{ index: 1, term: 2, value: { a: 1 } }], snapshot: null });
    expect(syncs - before).to.equal(1);
    await s.saveAsync({ hardState: null, entries: [{ index: 2, term: 2, value: 'b' }, { index: 3, term: 2, value: null }], snapshot: null });
    expect(syncs - before).to.equal(2);
    s.close();
    const r = FileStorage.open({ dir, clusterId: 'c', node: 'n1' });
    expect(r.hardState()).to.deep.equal({ currentTerm: 2, votedFor: 'n2', commitIndex: 0 });
    expect(r.entries(1, 4).map((e) => e.value)).to.deep.equal([{ a: 1 }, 'b', null]);
    r.close();
  });

  it('writes a commitIndex-only batch without an fsync, and it is read back after a clean close', async () => {
    const s = FileStorage.open({ dir, clusterId: 'c', node: 'n1', fs: countingFs });
    await s.saveAsync({ hardState: { currentTerm: 1, votedFor: null, commitIndex: 0 }, entries: [{ index: 1, term: 1, value: 1 }], snapshot: null });
    const before = syncs;
    await s.saveAsync({ hardState: { currentTerm: 1, votedFor: null, commitIndex: 1 }, entries: [], snapshot: null });
    expect(syncs).to.equal(before);
    // A change of vote is never left unsynced.
    await s.saveAsync({ hardState: { currentTerm: 2, votedFor: 'n1', commitIndex: 1 }, entries: [], snapshot: null });
    expect(syncs).to.equal(before + 1);
    s.close();
    const r = FileStorage.open({ dir, clusterId: 'c', node: 'n1' });
    expect(r.hardState()).to.deep.equal({ currentTerm: 2, votedFor: 'n1', commitIndex: 1 });
    r.close();
  });
});

describe('FileStorage.saveAsync across a power loss', () => {
  it('a commitIndex-only record left unsynced never turns into "corruption" once its segment rotates', async () => {
    // Power cuts at random moments of a workload of saveAsync batches, some of
    // them commit-only, in tiny segments that rotate every few batches.
    const { FaultyFs } = await import('./faulty-fs');
    const { SeededRng } = await import('../../src/time/rng');
    for (let seed = 1; seed <= 30; seed++) {
      const dir = mkdtempSync(path.join(tmpdir(), 'raft-async-power-'));
      try {
        const ffs = new FaultyFs(new SeededRng(seed));
        const s = FileStorage.open({ dir, clusterId: 'c', node: 'n1', fs: ffs, segmentBytes: 300 });
        const stopAt = 5 + (seed % 20);
        let durable = 0;
        for (let i = 1; i <= stopAt; i++) {
          await s.saveAsync({ hardState: { currentTerm: 1, votedFor: null, commitIndex: i - 1 }, entries: [{ index: i, term: 1, value: `v${i}` }], snapshot: null });
          durable = i;
          await s.saveAsync({ hardState: { currentTerm: 1, votedFor: null, commitIndex: i }, entries: [], snapshot: null });
        }
        ffs.powerLoss();
        ffs.revive();
        const r = FileStorage.open({ dir, clusterId: 'c', node: 'n1', fs: ffs, segmentBytes: 300 });
        // Every entry whose save resolved is there; no corruption error was thrown.
        expect(r.lastIndex(), `seed ${seed}`).to.be.at.least(durable);
        r.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
