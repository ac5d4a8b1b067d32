// CheckQuorum and the leader lease for reads (thesis §6.2, §4.2.3, §6.4),
// in the simulator with simulated time and a calm network (1-tick delay).

import { expect } from 'chai';
import { NodeId } from '../../src/messages';
import { Leader } from '../../src/states/leader';
import { SafetyViolation } from '../../src/sim/checker';
import { SimCluster } from '../../src/sim/cluster';

function leaseCluster(bugs = {}): { c: SimCluster; leader: NodeId; others: NodeId[] } {
  const c = new SimCluster({ nodes: 3, seed: 7, readMode: 'lease', bugs, electionTicks: 10, heartbeatTicks: 2 });
  expect(c.advanceUntil(() => c.leader() !== null, 200)).to.equal(true);
  const leader = c.leader()!;
  c.propose(leader, { id: 1 });
  c.advance(20);
  return { c, leader, others: c.names.filter((n) => n !== leader) };
}

function holdsLease(c: SimCluster, name: NodeId): boolean {
  const state = c.server(name).state;
  return state instanceof Leader && state.holdsLeaderLease();
}

describe('leader lease and CheckQuorum (thesis §6.2, §6.4)', () => {
  it('a healthy leader serves lease reads without a round trip', () => {
    const { c, leader } = leaseCluster();
    expect(holdsLease(c, leader)).to.equal(true);
    c.read(leader, 'r1');
    // Served within the same step: no heartbeat round was needed.
    expect(c.readsServed.get('r1')).to.equal(c.server(leader).log.committed);
  });

  it('§6.4: a partitioned leader stops serving lease reads before a new leader can commit', () => {
    const { c, leader, others } = leaseCluster();
    c.network.partition([leader]);
    let lastLeaseTick = -1;
    let firstNewCommitTick = -1;
    const committedBefore = c.server(others[0]).log.committed;
    for (let t = 0; t < 200 && firstNewCommitTick < 0; t++) {
      c.step();
      if (c.isUp(leader) && holdsLease(c, leader)) lastLeaseTick = c.now;
      const newLeader = others.find((n) => c.server(n).softState().role === 'leader');
      if (newLeader && c.server(newLeader).log.committed > committedBefore) firstNewCommitTick = c.now;
    }
    expect(lastLeaseTick, 'the old leader held its lease for a while').to.be.greaterThan(0);
    expect(firstNewCommitTick, 'the majority side elected a leader and committed').to.be.greaterThan(0);
    expect(lastLeaseTick).to.be.lessThan(firstNewCommitTick);
  });

  it('§6.2 CheckQuorum: a leader cut off from a majority steps down within two election timeouts', () => {
    const { c, leader } = leaseCluster();
    c.network.partition([leader]);
    c.advance(2 * c.electionTicks);
    expect(c.server(leader).softState().role).to.equal('follower');
  });

  it('§4.2.3: a follower that hears from its leader ignores a higher-term RequestVote', () => {
    const { c, leader, others } = leaseCluster();
    const [a, b] = others;
    // a stops hearing the leader (one-way cut) and campaigns; b still hears the leader.
    c.network.disconnect(leader, a, true);
    c.advance(5 * c.electionTicks);
    expect(c.leader()).to.equal(leader);
    expect(c.server(b).currentTerm).to.equal(c.server(leader).currentTerm);
    expect(c.server(a).currentTerm).to.be.greaterThan(c.server(leader).currentTerm);
  });

  it('without the §4.2.3 vote rule the lease is unsound: a stale lease read is caught', () => {
    const { c, leader, others } = leaseCluster({ leaseWithoutVoteRule: true });
    const [a, b] = others;
    c.network.disconnect(leader, a); // a and the old leader cannot talk; a campaigns
    let caught: unknown = null;
    let cutB = false;
    try {
      for (let t = 0; t < 400 && caught === null; t++) {
        c.step();
        if (!cutB && c.server(a).softState().role === 'candidate') {
          // b's answers stop reaching the old leader, so it keeps the lease b
          // gave it a moment ago while b goes on to vote for a.
          c.network.disconnect(b, leader, true);
          cutB = true;
        }
        if (c.server(a).softState().role === 'leader' && c.server(a).log.committed > c.server(leader).log.committed) {
          c.read(leader, `stale-${t}`);
        }
      }
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(SafetyViolation);
    expect((caught as SafetyViolation).property).to.equal('Linearizable reads');
  });
});
