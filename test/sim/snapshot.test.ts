// Snapshot catch-up (§7, Figure 13) in the simulator: a follower that missed
// entries the leader has compacted away gets the leader's snapshot through
// InstallSnapshot, in chunks, and converges; a transfer cut short (chunks
// dropped, the follower crashing) is retried and never half-installed.

import { expect } from 'chai';
import { InstallSnapshotMessage, Message, MessageType, NodeId } from '../../src/messages';
import { SimCluster } from '../../src/sim/cluster';

const CHUNK = 64;

function cluster(seed = 11): SimCluster {
  return new SimCluster({ nodes: 3, seed, snapshotEvery: 10, maxSnapshotChunkBytes: CHUNK, maxEntriesPerAppend: 8, maxInflight: 4 });
}

/** Record every InstallSnapshot chunk put on the wire. */
function watchChunks(c: SimCluster): InstallSnapshotMessage[] {
  const chunks: InstallSnapshotMessage[] = [];
  const send = c.network.send.bind(c.network);
  c.network.send = (m: Message, now: number) => {
    if (m.type === MessageType.InstallSnapshot) chunks.push(m);
    send(m, now);
  };
  return chunks;
}

/** Elect a leader, crash one follower, and commit `n` commands without it. */
function leaderCompactsWithoutFollower(c: SimCluster, n: number): { leader: NodeId; follower: NodeId } {
  expect(c.advanceUntil(() => c.leader() !== null, 500)).to.equal(true);
  const leader = c.leader()!;
  // Let everyone catch up on the no-op first, so the follower has a log.
  c.advance(20);
  const follower = c.names.find((x) => x !== leader)!;
  c.crashPeer(follower);
  for (let i = 0; i < n; i++) c.propose(leader, { id: i, pad: 'x'.repeat(20) });
  expect(c.advanceUntil(() => c.server(leader).log.applied >= n, 1000)).to.equal(true);
  return { leader, follower };
}

function converged(c: SimCluster, a: NodeId, b: NodeId): boolean {
  const sa = c.server(a);
  const sb = c.server(b);
  return sb.log.applied === sa.log.applied && JSON.stringify(c.stateMachine(a).values) === JSON.stringify(c.stateMachine(b).values);
}

describe('snapshot catch-up through InstallSnapshot (§7)', function () {
  this.timeout(60_000);

  it('a follower kept down while the leader compacts rejoins via InstallSnapshot and converges', () => {
    const c = cluster();
    const chunks = watchChunks(c);
    const { leader, follower } = leaderCompactsWithoutFollower(c, 60);
    const followerLast = c.server(leader).log.lastIndex() - 60; // roughly where it stopped
    // The leader no longer holds what the follower needs next.
    expect(c.server(leader).log.firstIndex()).to.be.greaterThan(followerLast + 1);

    c.restartPeer(follower);
    expect(c.advanceUntil(() => converged(c, leader, follower), 2000), 'follower did not converge').to.equal(true);
    const toFollower = chunks.filter((m) => m.receiver === follower);
    // Chunked: several messages, each at most CHUNK bytes, one `done`.
    expect(toFollower.length).to.be.greaterThan(2);
    for (const m of toFollower) expect(Buffer.from(m.data.data, 'base64').length).to.be.at.most(CHUNK);
    expect(toFollower.filter((m) => m.data.done).length).to.be.at.least(1);
    expect(c.snapshotsInstalled).to.be.at.least(1);
    // It continues from the log after the snapshot.
    const fLog = c.server(follower).log;
    expect(fLog.firstIndex()).to.be.greaterThan(1);
    for (let i = 60; i < 70; i++) c.propose(leader, { id: i });
    expect(c.advanceUntil(() => converged(c, leader, follower) && c.server(follower).log.applied >= fLog.committed && c.stateMachine(follower).values.length >= 70, 1000)).to.equal(true);
  });

  it('a transfer whose chunks are dropped is retried, and nothing is installed until the last chunk', () => {
    const c = cluster(12);
    const chunks = watchChunks(c);
    const { leader, follower } = leaderCompactsWithoutFollower(c, 60);
    c.restartPeer(follower);
    expect(c.server(follower).log.snapshot()).to.equal(null);
    // What the follower itself had committed before it went down (it applies that again).
    const own = c.server(follower).log.committed;
    const leaderValues = c.stateMachine(leader).values;

    // Cut the transfer short: every chunk after the first two is lost.
    c.network.filter = (m) => !(m.type === MessageType.InstallSnapshot && m.data.offset >= 2 * CHUNK);
    for (let t = 0; t < 300; t++) {
      c.step();
      // Never half-installed: no snapshot, and a state machine holding only
      // what the follower committed itself before.
      expect(c.server(follower).log.snapshot()).to.equal(null);
      expect(c.server(follower).log.pendingSnapshot()).to.equal(null);
      const values = c.stateMachine(follower).values;
      expect(values.length).to.be.at.most(own);
      expect(values).to.deep.equal(leaderValues.slice(0, values.length));
    }
    const blocked = chunks.filter((m) => m.receiver === follower && m.data.offset === 2 * CHUNK);
    expect(blocked.length, 'the lost chunk was sent again').to.be.greaterThan(3);
    expect(c.snapshotsInstalled).to.equal(0);

    c.network.filter = null;
    expect(c.advanceUntil(() => converged(c, leader, follower), 2000)).to.equal(true);
    expect(c.snapshotsInstalled).to.equal(1);
    // Resumed where it stopped: the chunks at offset 0 and CHUNK did not have to go again and again.
    const starts = chunks.filter((m) => m.receiver === follower && m.data.offset === 0).length;
    expect(starts).to.be.lessThan(blocked.length);
  });

  it('a follower that crashes mid-transfer starts the snapshot over and installs it whole', () => {
    const c = cluster(13);
    const chunks = watchChunks(c);
    const { leader, follower } = leaderCompactsWithoutFollower(c, 60);
    c.restartPeer(follower);
    // Let a few chunks arrive, then the follower dies.
    expect(c.advanceUntil(() => chunks.filter((m) => m.receiver === follower).length >= 3, 500)).to.equal(true);
    c.crashPeer(follower);
    c.advance(30);
    expect(c.snapshotsInstalled).to.equal(0);
    c.restartPeer(follower);
    const sent = chunks.length;
    expect(c.advanceUntil(() => converged(c, leader, follower), 2000)).to.equal(true);
    // The partial transfer lived only in memory: the restarted follower began again at offset 0.
    expect(chunks.slice(sent).some((m) => m.receiver === follower && m.data.offset === 0)).to.equal(true);
    expect(c.snapshotsInstalled).to.equal(1);
  });

  it('with loss, duplication and delay, followers still converge through snapshots', () => {
    for (const seed of [21, 22, 23, 24, 25]) {
      const c = cluster(seed);
      c.network.faults = { dropRate: 0.2, duplicateRate: 0.2, minDelay: 1, maxDelay: 6 };
      const { leader, follower } = leaderCompactsWithoutFollower(c, 80);
      c.restartPeer(follower);
      expect(c.advanceUntil(() => converged(c, leader, follower), 5000), `seed ${seed}`).to.equal(true);
    }
  });
});
