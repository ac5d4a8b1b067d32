// The key history in the simulator: compactions go through the log, and
// every replica, including one that restarts and installs a snapshot, keeps
// the same history and compacted revision. The checker compares the digest
// of every replica's whole store (history included) after each applied
// entry; a deliberately broken replica (test code) is caught.

import { expect } from 'chai';
import { rangeRequest } from '../../src/kv';
import { NodeId } from '../../src/messages';
import { LeaseSim, Op } from '../../src/sim/lease-sim';
import { SafetyViolation } from '../../src/sim/checker';

function leaderOf(sim: LeaseSim): NodeId {
  expect(sim.runUntil(() => sim.leader() !== null, 500), 'a leader').to.equal(true);
  return sim.leader()!;
}

function settle(sim: LeaseSim, op: Op): void {
  expect(sim.runUntil(() => op.done, 300), `op ${op.tag} done`).to.equal(true);
  expect(op.failed, `op ${op.tag}`).to.equal(undefined);
}

/** Every key's value at `revision` on `node`, as "key=value" strings. */
function view(sim: LeaseSim, node: NodeId, revision: number): string[] {
  return sim.kv(node).range(rangeRequest({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), revision })).kvs.map((kv) => `${kv.key}=${kv.value}`);
}

describe('MVCC history in the simulator', function () {
  this.timeout(60_000);

  it('a compaction through the log trims every replica alike; a restarted one installs the same history from a snapshot', () => {
    const sim = new LeaseSim({ nodes: 3, seed: 21, snapshotEvery: 5, maxSnapshotChunkBytes: 256 });
    const leader = leaderOf(sim);
    const down = sim.cluster.names.find((n) => n !== leader)!;
    sim.cluster.crashPeer(down);
    for (let i = 0; i < 12; i++) settle(sim, sim.put(leader, `k${i % 4}`, `v${i}`));
    const rev = sim.kv(leader).revision;
    settle(sim, sim.compact(leader, rev - 4));
    for (let i = 0; i < 3; i++) settle(sim, sim.put(leader, `k${i}`, `w${i}`));
    sim.cluster.restartPeer(down);
    const last = sim.kv(leader).revision;
    expect(sim.runUntil(() => sim.cluster.names.every((n) => sim.kv(n).revision === last), 2000), 'all caught up').to.equal(true);
    expect(sim.cluster.snapshotsInstalled, 'the restarted node installed a snapshot').to.be.above(0);
    for (const n of sim.cluster.names) {
      expect(sim.kv(n).compactRevision, String(n)).to.equal(rev - 4);
      for (let r = rev - 4; r <= last; r++) expect(view(sim, n, r), `${n} at ${r}`).to.deep.equal(view(sim, leader, r));
      expect(() => view(sim, n, rev - 5)).to.throw(/compacted/);
      expect(Buffer.from(sim.kv(n).snapshot()).equals(Buffer.from(sim.kv(leader).snapshot())), String(n)).to.equal(true);
    }
  });

  it('catches a replica that ignores compactions (a deliberate bug in test code)', () => {
    const sim = new LeaseSim({ nodes: 3, seed: 22 });
    const leader = leaderOf(sim);
    const broken = sim.kv(sim.cluster.names.find((n) => n !== leader)!);
    const apply = broken.apply.bind(broken);
    // The bug: this replica skips every compaction command.
    broken.apply = (entry) => {
      const command = entry.value as { op?: string } | null;
      return command?.op === 'compaction' ? null : apply(entry);
    };
    for (let i = 0; i < 5; i++) settle(sim, sim.put(leader, `k${i}`, 'v'));
    sim.compact(leader, 4);
    expect(() => sim.runUntil(() => false, 300)).to.throw(SafetyViolation, /different stores/);
  });
});
