// Crash injection at every write point of FileStorage (issue 3).
//
// A fixed workload (appends, a §5.3 conflict, hard states, segment rotation,
// local compaction and a snapshot from the leader, §7) is run once to count
// the file-system calls it makes. Then, for every one of those calls and
// every fault (crash before it, crash after it, a torn write, an I/O error),
// with and without a power loss afterwards (FaultyFs drops what was never
// fsynced), the workload runs again up to the fault, the storage is
// reopened, and what it recovered must be exactly one of:
//   - the state after the last operation that returned (it was durable), or
//   - that state plus a prefix of the interrupted operation (records are
//     written in order: snapshot, entries, then the hard state).
// So nothing that save() promised is ever lost (no vote forgotten, no
// acknowledged entry missing) and nothing appears that was never written.
// Then the recovered storage must take new writes and survive another reopen.

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileStorage } from '../../src/log/file-storage';
import { MemoryStorage, Storage } from '../../src/log/storage';
import { HardState, LogEntry, PersistBatch } from '../../src/log/types';
import { SeededRng } from '../../src/time/rng';
import { FAULT_KINDS, FaultyFs, InjectedIoError, SimulatedCrash } from './faulty-fs';
import { entries, removeTempDirs, storageState, tempDir } from './helpers';

type Op = { kind: 'save'; batch: PersistBatch } | { kind: 'snapshot'; index: number; data: string };

const hs = (currentTerm: number, votedFor: string | null, commitIndex: number): HardState => ({ currentTerm, votedFor, commitIndex });
const save = (hardState: HardState | null, ents: LogEntry[], snapshot: PersistBatch['snapshot'] = null): Op => ({
  kind: 'save',
  batch: { hardState, entries: ents, snapshot },
});

function workload(): Op[] {
  const ops: Op[] = [
    save(hs(1, 'n2', 0), []), // a vote
    save(null, entries(1, 6, 1)),
    save(hs(1, 'n2', 3), entries(7, 9, 1)),
    save(hs(2, null, 3), entries(5, 7, 2, 'w')), // §5.3: a new leader's entries replace 5..9
    save(hs(2, 'n1', 6), []),
    { kind: 'snapshot', index: 4, data: 'state@4' },
  ];
  // Small appends, enough to roll over several segments.
  for (let i = 8; i <= 16; i++) ops.push(save(hs(2, 'n1', i - 2), entries(i, i, 2)));
  ops.push({ kind: 'snapshot', index: 12, data: 'state@12' });
  // A snapshot from the leader that does not match our log: receiver 7.
  ops.push(save(hs(3, 'n3', 30), entries(31, 32, 3), { index: 30, term: 3, data: Buffer.from('leader@30') }));
  ops.push(save(null, entries(33, 35, 3)));
  ops.push({ kind: 'snapshot', index: 33, data: 'state@33' });
  ops.push(save(hs(4, 'n3', 35), entries(36, 37, 4)));
  return ops;
}

function apply(s: Storage, op: Op): void {
  if (op.kind === 'save') s.save(op.batch);
  else s.createSnapshot(op.index, Buffer.from(op.data));
}

/** The states a crash during op k (0-based; -1: during open) may leave behind. */
function candidates(ops: Op[], k: number): ReturnType<typeof storageState>[] {
  const base = (): MemoryStorage => {
    const m = new MemoryStorage();
    for (let i = 0; i < k; i++) apply(m, ops[i]);
    return m;
  };
  const out = [storageState(base())];
  if (k < 0 || k >= ops.length) return out;
  const op = ops[k];
  if (op.kind === 'snapshot') {
    const m = base();
    apply(m, op);
    out.push(storageState(m));
    return out;
  }
  const { snapshot, entries: ents } = op.batch;
  if (snapshot) {
    const m = base();
    m.applySnapshot(snapshot);
    out.push(storageState(m));
  }
  for (let j = 1; j <= ents.length; j++) {
    const m = base();
    m.save({ hardState: null, entries: ents.slice(0, j), snapshot });
    out.push(storageState(m));
  }
  const m = base();
  apply(m, op);
  out.push(storageState(m));
  return out;
}

const OPTS = { clusterId: 'crash-test', node: 'n1', segmentBytes: 256 };

describe('FileStorage: crash injection at every write point', function () {
  this.timeout(120_000);
  afterEach(removeTempDirs);

  const ops = workload();

  it('the workload reaches every kind of write (rotation, snapshots, purge)', () => {
    const dir = tempDir();
    const ffs = new FaultyFs(new SeededRng(1));
    ffs.traceOn = true;
    const s = FileStorage.open({ dir, fs: ffs, ...OPTS });
    for (const op of ops) apply(s, op);
    const expected = new MemoryStorage();
    for (const op of ops) apply(expected, op);
    expect(storageState(s)).to.deep.equal(storageState(expected));
    s.close();
    const calls = ffs.trace.join('\n');
    for (const what of [/create wal-0+3\.log/, /rename snap-.*\.tmp -> snap-/, /unlink wal-/, /unlink snap-/, /fsync dir/]) {
      expect(calls).to.match(what);
    }
  });

  it('after any fault at any call, the reopened storage holds a state the writes allow, and carries on', () => {
    // Count the mutating calls of a clean run.
    const dry = new FaultyFs(new SeededRng(1));
    const drySt = FileStorage.open({ dir: tempDir(), fs: dry, ...OPTS });
    for (const op of ops) apply(drySt, op);
    drySt.close();
    const total = dry.ops;
    expect(total).to.be.greaterThan(100);

    const root = tempDir();
    let cases = 0;
    let torn = 0;
    const outcomes = new Set<string>();
    for (let at = 1; at <= total; at++) {
      for (const kind of FAULT_KINDS) {
        for (const power of [false, true]) {
          const dir = path.join(root, `${at}-${kind}-${power ? 'power' : 'process'}`);
          const ffs = new FaultyFs(new SeededRng(at * 131 + (power ? 7 : 3)));
          ffs.planIn(at, kind);
          let k = -1; // the operation under way when the fault hit
          const where = `fault ${kind} at call ${at}${power ? ' + power loss' : ''}`;
          try {
            const s = FileStorage.open({ dir, fs: ffs, ...OPTS });
            for (k = 0; k < ops.length; k++) apply(s, ops[k]);
            s.close();
            k = ops.length;
          } catch (e) {
            if (!(e instanceof SimulatedCrash || e instanceof InjectedIoError)) throw new Error(`${where}: ${String(e)}`);
          }
          expect(k, `${where}: the fault never fired`).to.be.lessThan(ops.length);
          if (power) ffs.powerLoss();
          else ffs.processCrash();
          ffs.revive();

          const r = FileStorage.open({ dir, fs: ffs, ...OPTS });
          if (r.recovery.tornTail) torn++;
          const got = storageState(r);
          const allowed = candidates(ops, k);
          const match = allowed.findIndex((c) => JSON.stringify(c) === JSON.stringify(got));
          expect(match, `${where} (during op ${k}): recovered ${JSON.stringify(got)}\nallowed:\n${allowed.map((c) => JSON.stringify(c)).join('\n')}`).to.be.at.least(0);
          outcomes.add(`${k}:${match}`);

          // What recovery found is durable before the node acts on it: the
          // power fails right after the reopen, and the same state is back.
          ffs.powerLoss();
          ffs.revive();
          const r2 = FileStorage.open({ dir, fs: ffs, ...OPTS });
          expect(storageState(r2), `${where}: power lost after recovery`).to.deep.equal(got);

          // It carries on: a new term and entry, durable across another reopen.
          const next = { ...got.hardState, currentTerm: got.hardState.currentTerm + 1, votedFor: 'n1' };
          r2.save({ hardState: next, entries: [{ index: r2.lastIndex() + 1, term: next.currentTerm, value: 'after' }], snapshot: null });
          const expectedAfter = storageState(r2);
          r2.close();
          const again = FileStorage.open({ dir, fs: ffs, ...OPTS });
          expect(storageState(again), `${where}: after carrying on`).to.deep.equal(expectedAfter);
          expect(again.recovery.tornTail).to.equal(null);
          again.close();
          fs.rmSync(dir, { recursive: true, force: true });
          cases++;
        }
      }
    }
    // Torn tails and in-between states did occur (the test looked at them).
    expect(cases).to.equal(total * FAULT_KINDS.length * 2);
    expect(torn).to.be.greaterThan(10);
    expect([...outcomes].filter((o) => !o.endsWith(':0')).length).to.be.greaterThan(10);
  });

  it('with an fsync that lies, the same check catches lost writes (the test can fail)', () => {
    let lost = 0;
    for (let at = 20; at <= 120; at += 5) {
      const dir = tempDir();
      const ffs = new FaultyFs(new SeededRng(at));
      ffs.fsyncLies = true;
      ffs.planIn(at, 'crash-before');
      let k = -1;
      try {
        const s = FileStorage.open({ dir, fs: ffs, ...OPTS });
        for (k = 0; k < ops.length; k++) apply(s, ops[k]);
      } catch (e) {
        if (!(e instanceof SimulatedCrash)) throw e;
      }
      ffs.powerLoss();
      ffs.revive();
      try {
        const got = storageState(FileStorage.open({ dir, fs: ffs, ...OPTS }));
        if (!candidates(ops, k).some((c) => JSON.stringify(c) === JSON.stringify(got))) lost++;
      } catch {
        lost++; // or recovery refused what was left
      }
    }
    expect(lost).to.be.greaterThan(0);
  });
});
