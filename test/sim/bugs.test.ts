// Evidence the safety checks can fail: each classic bug, switched back on,
// is caught by the simulator within a bounded number of seeds. The failure
// must be a safety violation (not merely slowness), found while faults run.

import { expect } from 'chai';
import { Bugs, NO_BUGS } from '../../src/server/config';
import { runSeed } from '../../src/sim/runner';

const MAX_SEEDS = 200;

function firstCaught(bug: keyof Bugs, nodes: number): { seed: number; failure: string } | null {
  for (let seed = 1; seed <= MAX_SEEDS; seed++) {
    const r = runSeed({ seed, nodes, steps: 2000, liveness: false, profile: 'harsh', bugs: { [bug]: true } });
    if (!r.ok) return { seed, failure: r.failure! };
  }
  return null;
}

describe('simulator catches each classic bug', function () {
  this.timeout(600_000);

  // leaseWithoutVoteRule needs a particular partition to show: see
  // test/paper/leader-lease.test.ts.
  const randomlyCaught = (Object.keys(NO_BUGS) as (keyof Bugs)[]).filter((b) => b !== 'leaseWithoutVoteRule');
  for (const bug of randomlyCaught) {
    it(`${bug} is caught within ${MAX_SEEDS} seeds`, () => {
      const caught = firstCaught(bug, 3) ?? firstCaught(bug, 5);
      expect(caught, `${bug} was never caught`).to.not.equal(null);
      expect(caught!.failure).to.match(/^safety: /);
    });
  }

  it('the same seeds pass with every bug switched off', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSeed({ seed, nodes: 3, steps: 2000, liveness: false });
      expect(r.ok, r.failure).to.equal(true);
    }
  });
});
