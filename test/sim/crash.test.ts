// Crash-restart with nothing lost (issue 3), through the simulator: every
// node keeps real FileStorage in a temp directory, behind a FaultyFs that
// fails, tears or loses power at random write points (before or after a
// write, before or after an fsync, in the middle of a write). A node whose
// storage faults dies on the spot, as a real node must; the runner also
// crashes nodes at random, and each crash is a power loss half the time.
//
// What must hold, checked after every simulated step (src/sim/checker.ts):
//   - no committed entry is lost: Leader Completeness and State Machine
//     Safety, for logs and for snapshots (§5.4, §7);
//   - no vote is cast twice in one term (§5.2), seen on the wire;
//   - nothing is applied twice or skipped, across restarts and snapshot
//     installs (each incarnation's state machine starts from the snapshot);
// and afterwards every command still gets committed (liveness).
//
// The last test shows the checks can fail: with an fsync that lies, the
// same runs break safety.

import { expect } from 'chai';
import * as fs from 'node:fs';
import { runSeed } from '../../src/sim/runner';
import { SeededRng } from '../../src/time/rng';
import { removeTempDirs, tempDir } from '../log/helpers';
import { FaultyFileProvider } from './faulty-file-provider';

const SEEDS = Number(process.env.CRASH_SEEDS ?? 300);
const STEPS = 1000;

function run(seed: number, nodes: number, opts: { fsyncLies?: boolean } = {}) {
  const root = tempDir('simpleraft-crash-');
  try {
    const provider = new FaultyFileProvider(root, new SeededRng(seed * 7 + nodes), { faultChance: 0.6, ...opts });
    const snapshotEvery = [3, 10, 40][seed % 3];
    const r = runSeed({ seed, nodes, steps: STEPS, storage: provider, snapshotEvery });
    return { r, provider };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

describe('crash-restart with FileStorage and injected faults (simulator)', function () {
  this.timeout(300_000);
  afterEach(removeTempDirs);

  it(`${SEEDS} seeds x ${STEPS} steps, 3 and 5 nodes, faults at random write points: safe and live`, () => {
    const failures: string[] = [];
    const totals = { faults: 0, torn: 0, power: 0, installed: 0, taken: 0, committed: 0 };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const nodes = seed % 4 === 0 ? 5 : 3;
      const { r, provider } = run(seed, nodes);
      if (!r.ok) failures.push(`seed ${seed} (${nodes} nodes): ${r.failure}`);
      totals.faults += r.stats.storageFaults;
      totals.torn += provider.tornTails;
      totals.power += provider.powerLosses;
      totals.installed += r.stats.snapshotsInstalled;
      totals.taken += r.stats.snapshotsTaken;
      totals.committed += r.stats.committed;
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    // The runs exercised what they claim to.
    expect(totals.faults, 'storage faults injected').to.be.greaterThan(SEEDS);
    expect(totals.torn, 'torn tails recovered').to.be.greaterThan(0);
    expect(totals.power, 'power losses').to.be.greaterThan(SEEDS / 2);
    expect(totals.taken, 'snapshots taken').to.be.greaterThan(SEEDS);
    expect(totals.installed, 'snapshots installed').to.be.greaterThan(0);
    expect(totals.committed / SEEDS).to.be.greaterThan(30);
  });

  it('the same runs with an fsync that lies lose votes or committed entries, and the checker says so', () => {
    let caught: string | null = null;
    for (let seed = 1; seed <= 60 && caught === null; seed++) {
      const { r } = run(seed, 3, { fsyncLies: true });
      if (!r.ok && r.failure!.startsWith('safety: ')) caught = `seed ${seed}: ${r.failure}`;
    }
    expect(caught, 'a lying fsync was never caught').to.not.equal(null);
  });
});
