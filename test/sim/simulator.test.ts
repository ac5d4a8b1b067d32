// The simulator in CI: hundreds of seeded runs with faults, safety checked
// after every step, then the liveness phase. A failure names the seed and the
// command that replays it.

import { expect } from 'chai';
import { runSeed } from '../../src/sim/runner';

const SEEDS = Number(process.env.SIM_SEEDS ?? 500);
const STEPS = Number(process.env.SIM_STEPS ?? 2000);

describe('simulator: safety after every step, then liveness', function () {
  this.timeout(600_000);

  for (const nodes of [3, 5]) {
    it(`${SEEDS} seeds x ${STEPS} steps, ${nodes} nodes, with loss, delay, duplication, partitions and crashes`, () => {
      const failures: string[] = [];
      let committed = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runSeed({ seed, nodes, steps: STEPS });
        committed += r.stats.committed;
        if (!r.ok) failures.push(`seed ${seed}: ${r.failure}\n    replay: ${r.replay}`);
      }
      expect(failures, failures.join('\n')).to.deep.equal([]);
      // The runs did real work: on average well over a hundred commits each.
      expect(committed / SEEDS).to.be.greaterThan(100);
    });
  }

  it(`leader-lease reads: ${Math.ceil(SEEDS / 2)} seeds x ${STEPS} steps, 3 and 5 nodes`, () => {
    const failures: string[] = [];
    let reads = 0;
    for (const nodes of [3, 5]) {
      for (let seed = 1; seed <= Math.ceil(SEEDS / 2); seed++) {
        const r = runSeed({ seed, nodes, steps: STEPS, readMode: 'lease' });
        reads += r.stats.reads;
        if (!r.ok) failures.push(`seed ${seed}: ${r.failure}\n    replay: ${r.replay}`);
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect(reads).to.be.greaterThan(1000);
  });

  it(`harsh faults aimed at leaders: ${Math.ceil(SEEDS / 2)} seeds x ${STEPS} steps, 3 and 5 nodes`, () => {
    const failures: string[] = [];
    for (const nodes of [3, 5]) {
      for (let seed = 1; seed <= Math.ceil(SEEDS / 2); seed++) {
        const r = runSeed({ seed, nodes, steps: STEPS, profile: 'harsh' });
        if (!r.ok) failures.push(`seed ${seed}: ${r.failure}\n    replay: ${r.replay}`);
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('seed 10500057 (lease reads, harsh, 20000 steps): stale rejections do not keep followers from catching up', () => {
    // A lossy, duplicating network delivers many late rejections; taken at
    // face value, each threw a follower back to probing, and this seed ended
    // with 16 commands still pending after 20 election timeouts.
    const r = runSeed({ seed: 10500057, nodes: 3, steps: 20000, readMode: 'lease', profile: 'harsh' });
    expect(r.ok, `${r.failure}\n    replay: ${r.replay}`).to.equal(true);
  });

  it('a single node elects itself and commits', () => {
    const r = runSeed({ seed: 1, nodes: 1, steps: 2000, faults: false });
    expect(r.ok, r.failure).to.equal(true);
    expect(r.stats.committed).to.be.greaterThan(20);
  });

  it('the same seed replays the same run exactly', () => {
    const a = runSeed({ seed: 42, nodes: 5, steps: 1500 });
    const b = runSeed({ seed: 42, nodes: 5, steps: 1500 });
    expect(a).to.deep.equal(b);
  });
});
