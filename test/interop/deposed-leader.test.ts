// The deposed-leader scenario (docs/simpleraft-errata.md, "A Candidate that
// counts refusals deposes a leader"): a simpleRaft node campaigns in a newer
// term with a log that lacks entries the TypeScript nodes have committed. Every
// TypeScript node refuses its vote, simpleRaft counts a refusal as a vote,
// declares itself leader, and sends heartbeats from its empty log, which match
// any log at index 0. A TypeScript node never follows it: it refuses those
// AppendEntries (server/campaigns.ts, §5.4 Leader Completeness), keeps its log,
// lets its election timer run out, and elects a leader that has the entries.
// Its committed entries are safe in any case: RaftLog.append refuses to
// replace one (src/log/raft-log.ts).

import { expect } from 'chai';
import { Server } from '../../src/server/server';
import { appendEntries, appendResponse, drain, ELECTION_TICKS, electLeader, eventsOf, logTerms, newServer, requestVote, responsesTo, ticksUntilCandidate } from '../paper/helpers';

/** n2, a follower of n1 in term 1 holding two committed entries, heard from n1 just now. */
function followerWithCommittedEntries(): Server {
  const s = newServer('n2', ['n1', 'p1'], { log: [1, 1], term: 1, checkQuorum: true, seed: 4 });
  s.step(appendEntries('n1', 'n2', 1, { prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2 }));
  drain(s);
  expect([s.leaderId, s.log.committed]).to.deep.equal(['n1', 2]);
  return s;
}

/** simpleRaft's heartbeat from an empty log. */
const emptyHeartbeat = (term: number) => appendEntries('p1', 'n2', term, { prevLogIndex: 0, prevLogTerm: 0 });

function refusals(s: Server): string[] {
  return eventsOf(s).flatMap((e) => (e.kind === 'refuse-leader' ? [`${e.leader} ${e.term}: ${e.reason}`] : []));
}

describe('interop: a simpleRaft leader that lacks committed entries is never followed', () => {
  it('a follower refuses its AppendEntries of the term it campaigned for, keeps its log, and campaigns itself', () => {
    const s = followerWithCommittedEntries();
    // p1's RequestVote of term 2 from an empty log: ignored (n2 heard from n1 within the minimum
    // election timeout, thesis §4.2.3), but what it shows of p1's log is noted.
    s.step(requestVote('p1', 'n2', 2, 0, null));
    drain(s);
    expect(s.currentTerm).to.equal(1);
    // p1, having counted n1's refusal as a vote, leads term 2.
    s.step(emptyHeartbeat(2));
    const [r] = responsesTo(drain(s), 'p1');
    expect(r.data).to.deep.equal({ response: false, currentTerm: 2, rejectedIndex: 0 });
    expect([s.currentTerm, s.leaderId, s.state.role]).to.deep.equal([2, null, 'follower']);
    expect(refusals(s)[0]).to.equal('p1 2: its campaign in term 2 showed a log without our committed entry 2; a leader holds every committed entry (§5.4)');
    // Entries from it change nothing either.
    s.step(appendEntries('p1', 'n2', 2, { prevLogIndex: 0, prevLogTerm: 0, entries: [2], leaderCommit: 1 }));
    expect(responsesTo(drain(s), 'p1')[0].data.response).to.equal(false);
    expect([logTerms(s), s.log.committed]).to.deep.equal([[1, 1], 2]);
    // Its heartbeats did not reset the election timer: n2 campaigns for a leader that has the entries.
    expect(ticksUntilCandidate(s), 'ticks to a campaign').to.be.below(2 * ELECTION_TICKS); // §5.2: one randomized timeout
    expect(s.currentTerm).to.equal(3);
  });

  it('nor in a later term it did not campaign for (simpleRaft adopts newer terms and goes on leading)', () => {
    const s = followerWithCommittedEntries();
    s.step(requestVote('p1', 'n2', 2, 0, null));
    s.step(emptyHeartbeat(5));
    expect(responsesTo(drain(s), 'p1')[0].data.response).to.equal(false);
    expect([s.currentTerm, s.leaderId]).to.deep.equal([5, null]);
    expect(logTerms(s)).to.deep.equal([1, 1]);
  });

  it('but a Raft leader of a later term whose RequestVote we missed is followed: its AppendEntries match our committed entries (§5.3)', () => {
    // n3 campaigned in term 2 with an empty log and lost; it then received the
    // entries as a follower and won term 5, its RequestVote to us lost. The
    // simulator found this (seeds 105 and 126, 5 nodes, harsh) when an older
    // campaign was judged like the current one.
    const s = newServer('n2', ['n1', 'n3'], { log: [1, 1], term: 1, checkQuorum: true, seed: 4 });
    s.step(appendEntries('n1', 'n2', 1, { prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2 }));
    s.step(requestVote('n3', 'n2', 2, 0, null));
    drain(s);
    s.step(appendEntries('n3', 'n2', 5, { prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2 }));
    expect(responsesTo(drain(s), 'n3')[0].data.response).to.equal(true);
    expect([s.currentTerm, s.leaderId]).to.deep.equal([5, 'n3']);
    expect(refusals(s)).to.deep.equal([]);
  });

  it('judged against what is committed when its AppendEntries arrive, not when it campaigned', () => {
    // n2 holds two entries of term 1 and knows only the first committed when p1 campaigns
    // claiming a log that ends at entry 1; n1's next heartbeat commits entry 2.
    const s = newServer('n2', ['n1', 'p1'], { log: [1, 1], term: 1, checkQuorum: true, seed: 4 });
    s.step(appendEntries('n1', 'n2', 1, { prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 1 }));
    s.step(requestVote('p1', 'n2', 2, 1, 1));
    s.step(appendEntries('n1', 'n2', 1, { prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2 }));
    drain(s);
    expect(s.log.committed).to.equal(2);
    s.step(appendEntries('p1', 'n2', 2, { prevLogIndex: 1, prevLogTerm: 1 }));
    expect(responsesTo(drain(s), 'p1')[0].data.response).to.equal(false);
    expect(refusals(s)[0]).to.include('without our committed entry 2');
  });

  it('a second leader of a term whose leader we know is refused (§5.2: one leader per term)', () => {
    // simpleRaft, leading by a counted refusal, adopts the newer term of every RequestVote it
    // sees and goes on sending heartbeats in it, beside the leader that really won that term.
    const s = followerWithCommittedEntries();
    s.step(emptyHeartbeat(1));
    expect(responsesTo(drain(s), 'p1')[0].data).to.deep.equal({ response: false, currentTerm: 1, rejectedIndex: 0 });
    expect(s.leaderId).to.equal('n1');
    expect(refusals(s)).to.deep.equal(['p1 1: the leader of term 1 is n1; a term has at most one leader (§5.2)']);
  });

  it('a deposed TypeScript leader refuses it too', () => {
    const s = newServer('n1', ['n2', 'p1'], { seed: 2 });
    electLeader(s);
    expect(s.propose('x').kind).to.equal('appended');
    drain(s);
    s.step(appendResponse('n2', 'n1', s.currentTerm, true, { matchIndex: 2 }));
    drain(s);
    expect(s.log.committed).to.equal(2);
    const term = s.currentTerm;
    s.step(requestVote('p1', 'n1', term + 1, 0, null)); // §5.1: n1 steps down, and refuses the vote (§5.4.1)
    drain(s);
    expect(s.state.role).to.equal('follower');
    s.step(appendEntries('p1', 'n1', term + 1, { prevLogIndex: 0, prevLogTerm: 0 }));
    expect(responsesTo(drain(s), 'p1')[0].data.response).to.equal(false);
    expect(s.leaderId).to.equal(null);
    expect(s.log.lastIndex()).to.equal(2);
  });

  it('once it campaigns again with the committed entries, it may lead (the rule lasts until its next campaign)', () => {
    const s = followerWithCommittedEntries();
    s.step(requestVote('p1', 'n2', 2, 0, null));
    s.step(emptyHeartbeat(2));
    drain(s);
    ticksUntilCandidate(s); // n2 campaigns in term 3
    drain(s);
    s.step(requestVote('p1', 'n2', 4, 2, 1)); // now p1's log holds entry 2
    drain(s);
    s.step(appendEntries('p1', 'n2', 4, { prevLogIndex: 2, prevLogTerm: 1, leaderCommit: 2 }));
    expect(responsesTo(drain(s), 'p1')[0].data).to.deep.equal({ response: true, currentTerm: 4, matchIndex: 2 });
    expect(s.leaderId).to.equal('p1');
  });
});
