import { RunOptions } from '../../src/sim/runner';

/** The README's Figure 8 bug command finds this run; it fails Leader Completeness at t=789. */
export const FIGURE8_BUG_RUN: RunOptions = { seed: 17, nodes: 3, steps: 2000, liveness: false, profile: 'harsh', bugs: { commitPreviousTermByCount: true } };
