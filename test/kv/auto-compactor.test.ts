// The auto-compaction task's decisions, on an injected clock: what it
// proposes in periodic and revision mode, only as leader, never twice, and
// how etcd's flags are read.

import { expect } from 'chai';
import { AutoCompactor, parseAutoCompaction } from '../../src/kv';

const H = 3_600_000;

describe('AutoCompactor', () => {
  it('revision mode: proposes revision - N once the history is longer than N, once per target', () => {
    const c = new AutoCompactor({ mode: 'revision', retention: 100 });
    expect(c.check(0, { isLeader: true, revision: 100, compactRevision: 0 })).to.equal(null);
    expect(c.check(0, { isLeader: true, revision: 150, compactRevision: 0 })).to.equal(50);
    expect(c.check(1, { isLeader: true, revision: 150, compactRevision: 0 })).to.equal(null); // already proposed
    expect(c.check(2, { isLeader: true, revision: 151, compactRevision: 50 })).to.equal(51);
  });

  it('proposes nothing unless leader', () => {
    const c = new AutoCompactor({ mode: 'revision', retention: 10 });
    expect(c.check(0, { isLeader: false, revision: 1000, compactRevision: 0 })).to.equal(null);
    expect(new AutoCompactor({ mode: 'off', retention: 0 }).check(0, { isLeader: true, revision: 1000, compactRevision: 0 })).to.equal(null);
  });

  it('periodic mode: samples every retention/10 and compacts at the revision sampled a retention ago (1 h window)', () => {
    const c = new AutoCompactor({ mode: 'periodic', retention: H });
    expect(c.intervalMs()).to.equal(H / 10);
    const proposals: [number, number][] = [];
    // One revision per second of writes, checked every 6 minutes, for 3 hours.
    for (let t = 0; t <= 3 * H; t += H / 10) {
      const r = c.check(t, { isLeader: true, revision: 1 + t / 1000, compactRevision: proposals.length ? proposals[proposals.length - 1][1] : 0 });
      if (r !== null) proposals.push([t, r]);
    }
    expect(proposals[0]).to.deep.equal([H, 1]); // the first sample (t=0) is an hour old at t=1h
    // From then on, each check compacts at the revision of exactly an hour before.
    for (const [t, r] of proposals) expect(r).to.equal(1 + (t - H) / 1000);
    expect(proposals).to.have.length(21);
  });

  it('a new leader starts its own window (no samples from before it led)', () => {
    const c = new AutoCompactor({ mode: 'periodic', retention: 1000 });
    c.check(0, { isLeader: true, revision: 5, compactRevision: 0 });
    c.check(500, { isLeader: false, revision: 9, compactRevision: 0 });
    expect(c.check(1000, { isLeader: true, revision: 12, compactRevision: 0 })).to.equal(null);
    expect(c.check(2000, { isLeader: true, revision: 20, compactRevision: 0 })).to.equal(12);
  });

  it('reads etcd\'s flags: periodic durations (bare number = hours), revision counts; refuses bad ones', () => {
    expect(parseAutoCompaction('periodic', '1h')).to.deep.equal({ mode: 'periodic', retention: H });
    expect(parseAutoCompaction('periodic', '2')).to.deep.equal({ mode: 'periodic', retention: 2 * H });
    expect(parseAutoCompaction('periodic', '30m')).to.deep.equal({ mode: 'periodic', retention: 30 * 60_000 });
    expect(parseAutoCompaction('revision', '1000')).to.deep.equal({ mode: 'revision', retention: 1000 });
    expect(parseAutoCompaction('revision', '1h')).to.match(/revisions/);
    expect(parseAutoCompaction('periodic', 'soon')).to.match(/duration/);
    expect(parseAutoCompaction('weekly', '1')).to.match(/periodic, revision or off/);
  });
});
