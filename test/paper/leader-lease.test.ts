// CheckQuorum and the leader lease for reads (thesis §6.2, §4.2.3, §6.4),
// in the simulator with simulated time and a calm network (1-tick delay).

import { expect } from 'chai';
import { NodeId } from '../../src/messages';
import { Leader } from '../../src/states/leader';
import { SafetyViolation } from '../../src/sim/checker';
import { SimCluster } from '../../src/sim/cluster';
import {
  appendResponse,
  appendsTo,
  drain,
  electLeader,
  ELECTION_TICKS,
  firstTimeout,
  newServer,
  requestVote,
  ticksUntilCandidate,
  tickN,
  votesTo,
} from './helpers';

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

// The same rules on one hand-driven server (test/paper/helpers.ts), where the
// exact tick at which each one starts and stops holding can be checked.
describe('the §4.2.3 vote rule and the leader lease, tick by tick', () => {
  const peers = ['n2', 'n3'];

  it('§4.2.3: a fresh node (term 0) never heard from a leader, so it grants a vote at boot', () => {
    const s = newServer('n1', peers, { checkQuorum: true });
    s.step(requestVote('n2', 'n1', 1, 0, 0));
    expect(votesTo(drain(s), 'n2').map((m) => m.data.response)).to.deep.equal([true]);
    expect(s.votedFor).to.equal('n2');
  });

  it('§4.2.3, §6.4: a node restarting with a term refuses higher-term votes for the minimum election timeout', () => {
    // It may have acknowledged a leader's heartbeat just before it stopped:
    // that leader may still be serving lease reads on the strength of it.
    const s = newServer('n1', peers, { checkQuorum: true, term: 2, seed: 3 });
    s.step(requestVote('n2', 'n1', 3, 0, 0));
    expect(votesTo(drain(s), 'n2')).to.deep.equal([]);
    expect(s.currentTerm).to.equal(2);
    tickN(s, ELECTION_TICKS - 1);
    s.step(requestVote('n2', 'n1', 3, 0, 0));
    expect(votesTo(drain(s), 'n2')).to.deep.equal([]);
    // Once the minimum election timeout has passed, it votes again.
    tickN(s, 1);
    s.step(requestVote('n3', 'n1', 9, 0, 0));
    expect(votesTo(drain(s), 'n3').map((m) => m.data.response)).to.deep.equal([true]);
  });

  it("§4.2.3: initialState 'candidate' campaigns at once only on a fresh node; with a saved term it waits like a follower", () => {
    const fresh = newServer('n1', peers, { initialState: 'candidate' });
    fresh.tick();
    expect(fresh.state.role).to.equal('candidate');
    const seed = 5;
    const restarted = newServer('n1', peers, { initialState: 'candidate', term: 2, seed });
    expect(ticksUntilCandidate(restarted)).to.equal(firstTimeout(seed));
  });

  it('thesis §6.4: the lease ends the minimum election timeout less the drift bound after the acknowledged round was opened', () => {
    const drift = 3;
    const s = newServer('n1', peers, { readMode: 'lease', leaseDriftTicks: drift, heartbeatTicks: 3 });
    electLeader(s);
    const leader = s.state as Leader;
    // The first heartbeat opens read round 1 at the leader's tick 3; n2 answers it.
    tickN(s, 3);
    const round = appendsTo(drain(s), 'n2')[0].data.context!;
    s.step(appendResponse('n2', 'n1', s.currentTerm, true, { matchIndex: s.log.lastIndex(), context: round }));
    drain(s);
    const until = 3 + ELECTION_TICKS - drift;
    for (let now = 3; now < until; now++) {
      expect(leader.holdsLeaderLease(), `lease at tick ${now}`).to.equal(true);
      s.tick();
    }
    expect(leader.holdsLeaderLease(), `lease at tick ${until}`).to.equal(false);
    expect(s.state).to.equal(leader); // still leader (CheckQuorum heard n2): only the lease ended
  });
});
