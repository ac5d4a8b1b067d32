// npm run sim -- --seed N --trace FILE: the run's events for the live view's
// replay, with the injected faults and the failed safety check.

import { expect } from 'chai';
import { runSeed } from '../../src/sim/runner';
import { TRACE_FORMAT, TraceRecorder } from '../../src/sim/trace';
import { FIGURE8_BUG_RUN } from './figure8-run';


describe('simulator trace (--trace)', () => {
  it('the Figure 8 bug switch: the trace ends at the failed check, and holds the injected faults and every kind of event', () => {
    const recorder = new TraceRecorder();
    const r = runSeed({ ...FIGURE8_BUG_RUN, trace: recorder });
    expect(r.ok).to.equal(false);
    const t = recorder.trace(r.seed, r.replay);
    expect(t.format).to.equal(TRACE_FORMAT);
    expect(t.nodes).to.deep.equal(['n1', 'n2', 'n3']);
    expect(t.failure).to.not.equal(null);
    const failed = t.events[t.failure!.index];
    expect(failed).to.include({ kind: 'fault', fault: 'safety', node: 'checker' });
    expect(t.failure!.message).to.match(/Leader Completeness/);
    expect(t.failure!.index).to.equal(t.events.length - 1);
    const kinds = new Set(t.events.map((e) => e.kind));
    for (const k of ['term', 'role', 'vote', 'leader', 'send', 'receive', 'append', 'commit', 'apply', 'fault']) expect(kinds, k).to.include(k);
    const injected = new Set(t.events.flatMap((e) => (e.kind === 'fault' ? [e.fault] : [])));
    expect(injected).to.include('network');
    expect(injected).to.include('crashed');
    // Simulated time only moves forward, and the failure is at the step the runner reports.
    for (let i = 1; i < t.events.length; i++) expect(t.events[i].time).to.be.at.least(t.events[i - 1].time);
    expect(r.failure).to.contain(`(t=${failed.time})`);
  });

  it('a passing run has no failure, and recording does not change the run', () => {
    const recorder = new TraceRecorder();
    const traced = runSeed({ seed: 3, nodes: 3, steps: 300, trace: recorder });
    const plain = runSeed({ seed: 3, nodes: 3, steps: 300 });
    expect(traced.ok).to.equal(true);
    expect(recorder.trace(3, traced.replay).failure).to.equal(null);
    expect(traced.stats).to.deep.equal(plain.stats);
    expect(recorder.events.length).to.be.greaterThan(100);
  });
});
