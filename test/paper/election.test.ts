// Paper tests for terms and leader election: Figure 2 "Rules for Servers",
// "RequestVote RPC", §5.1, §5.2 and §5.4.1. Each test is init, test, check:
// set a node up, feed it ticks and messages, then look at what it asks the
// driver to persist and send (its Ready) and at its state.

import { expect } from 'chai';
import { Message, MessageType } from '../../src/messages';
import { MAX_RAFT_NUMBER } from '../../src/messages/bounds';
import { Server } from '../../src/server/server';
import {
  ELECTION_TICKS,
  appendEntries,
  appendResponse,
  drain,
  drainReadies,
  electLeader,
  eventsOf,
  firstTimeout,
  newServer,
  ofType,
  requestVote,
  responsesTo,
  tickN,
  ticksUntilCandidate,
  voteResponse,
  votesTo,
} from './helpers';

const PEERS3 = ['n2', 'n3'];
const PEERS5 = ['n2', 'n3', 'n4', 'n5'];

/** A node in each of the three roles, in term 2 (the candidate and leader on 5 nodes). */
function inRole(role: 'follower' | 'candidate' | 'leader'): Server {
  const s = newServer('n1', PEERS5, { term: 1, log: [1] });
  if (role === 'candidate') ticksUntilCandidate(s);
  if (role === 'leader') electLeader(s);
  drain(s);
  if (role === 'follower') {
    s.step(appendEntries('n2', 'n1', 2, { prevLogIndex: 1, prevLogTerm: 1 }));
    drain(s);
  }
  expect(s.state.role).to.equal(role);
  expect(s.currentTerm).to.equal(2);
  return s;
}

describe('paper: terms and leader election (§5.1, §5.2, §5.4.1)', () => {
  // §5.1, Figure 2 "Rules for Servers / All Servers": if an RPC request or
  // response contains term T > currentTerm, set currentTerm = T and convert
  // to follower. votedFor belongs to a term, so it is cleared with it.
  it('§5.1 any message with a higher term makes any server adopt the term, become follower and clear its vote', () => {
    const kinds: [string, (t: number) => Message][] = [
      ['AppendEntries', (t) => appendEntries('n5', 'n1', t, { prevLogIndex: 0, prevLogTerm: 0 })],
      ['RequestVoteResponse', (t) => voteResponse('n5', 'n1', t, false)],
      ['Response', (t) => appendResponse('n5', 'n1', t, false)],
      // A RequestVote whose log is behind ours: we adopt the term but refuse the vote.
      ['RequestVote', (t) => requestVote('n5', 'n1', t, 0, 0)],
    ];
    for (const role of ['follower', 'candidate', 'leader'] as const) {
      for (const [kind, make] of kinds) {
        const s = inRole(role);
        s.step(make(7));
        const [rd] = drainReadies(s);
        const what = `${role} receiving ${kind}`;
        expect(s.currentTerm, what).to.equal(7);
        expect(s.state.role, what).to.equal('follower');
        expect(s.votedFor, what).to.equal(null);
        // The new term and the cleared vote go to stable storage.
        expect(rd.hardState, what).to.include({ currentTerm: 7, votedFor: null });
        // Only an AppendEntries names the leader of the new term.
        expect(s.leaderId, what).to.equal(kind === 'AppendEntries' ? 'n5' : null);
      }
    }
  });

  // §5.1: "If a server receives a request with a stale term number, it rejects
  // the request." Figure 2 AppendEntries receiver 1 and RequestVote receiver
  // 1: reply false; the reply carries currentTerm so the sender updates itself.
  it('§5.1 an AppendEntries with a lower term is rejected, carrying the current term', () => {
    const s = newServer('n1', PEERS3, { term: 3, log: [1, 3] });
    s.step(appendEntries('n2', 'n1', 2, { prevLogIndex: 2, prevLogTerm: 3, entries: [2], leaderCommit: 2 }));
    const out = drain(s);
    const [resp] = responsesTo(out, 'n2');
    expect(resp.data).to.deep.equal({ response: false, currentTerm: 3 });
    expect(resp.term).to.equal(3);
    expect(s.log.lastIndex()).to.equal(2);
    expect(s.log.committed).to.equal(0);
    expect(s.leaderId).to.equal(null);
  });

  it('§5.1 a RequestVote with a lower term is refused, carrying the current term, and the vote is kept', () => {
    const s = newServer('n1', PEERS3, { term: 3, votedFor: null });
    s.step(requestVote('n2', 'n1', 2, 10, 2));
    const out = drain(s);
    const [vote] = votesTo(out, 'n2');
    expect(vote.data.response).to.equal(false);
    expect(vote.term).to.equal(3);
    expect(s.votedFor).to.equal(null);
    expect(s.currentTerm).to.equal(3);
  });

  // §5.1: stale replies answer a question we no longer ask (a vote of an old
  // term, an AppendEntries result of an old term): they are dropped.
  it('§5.1 a vote granted in an older term does not count in the current election', () => {
    const s = newServer('n1', PEERS3, { term: 4 });
    ticksUntilCandidate(s);
    drain(s);
    expect(s.currentTerm).to.equal(5);
    s.step(voteResponse('n2', 'n1', 4, true));
    expect(s.state.role).to.equal('candidate');
    expect(drain(s)).to.deep.equal([]);
  });

  // §5.2: "To begin an election, a follower increments its current term and
  // transitions to candidate state. It then votes for itself and issues
  // RequestVote RPCs in parallel to each of the other servers." Figure 2
  // RequestVote arguments: lastLogIndex, lastLogTerm.
  it('§5.2 the election timeout starts an election: term + 1, vote for self, RequestVote with lastLogIndex/lastLogTerm', () => {
    const seed = 11;
    const timeout = firstTimeout(seed);
    const s = newServer('n1', PEERS5, { seed, term: 2, log: [1, 2, 2] });
    tickN(s, timeout - 1);
    expect(s.state.role).to.equal('follower');
    expect(drain(s)).to.deep.equal([]);

    s.tick();
    expect(s.state.role).to.equal('candidate');
    expect(s.currentTerm).to.equal(3);
    expect(s.votedFor).to.equal('n1');
    const [rd] = drainReadies(s);
    // Persist before send (§5.1, thesis §3.8): the self-vote travels with the request.
    expect(rd.hardState).to.include({ currentTerm: 3, votedFor: 'n1' });
    const reqs = ofType(rd.messages, MessageType.RequestVote);
    expect(reqs).to.have.length(1);
    expect(reqs[0].receiver).to.equal(null); // broadcast to every peer, as simpleRaft sends it
    expect(reqs[0].term).to.equal(3);
    expect(reqs[0].data).to.deep.equal({ lastLogIndex: 3, lastLogTerm: 2 });
  });

  // §5.1 needs a newer term for each election; terms are bounded
  // (messages/bounds.ts), so at MAX_RAFT_NUMBER there is none. Issue 18.
  it('§5.2 at the largest term a node refuses to campaign, says why, and stays a follower; one below, it campaigns to it', () => {
    const below = newServer('n1', PEERS3, { term: MAX_RAFT_NUMBER - 1, log: [1] });
    ticksUntilCandidate(below);
    expect(below.currentTerm).to.equal(MAX_RAFT_NUMBER);
    drain(below);

    const s = newServer('n1', PEERS3, { term: MAX_RAFT_NUMBER, log: [1] });
    tickN(s, 5 * ELECTION_TICKS);
    expect(s.state.role).to.equal('follower');
    expect(s.currentTerm).to.equal(MAX_RAFT_NUMBER);
    expect(ofType(drain(s), MessageType.RequestVote)).to.deep.equal([]);
    const refusals = eventsOf(s).filter((e) => e.kind === 'term-exhausted');
    // Once per election timeout (the timer is reset), not once per tick.
    expect(refusals.length).to.be.within(2, 5);
    expect(refusals[0]).to.deep.equal({ kind: 'term-exhausted', term: MAX_RAFT_NUMBER });
    // It still follows a leader of that term.
    s.step(appendEntries('n2', 'n1', MAX_RAFT_NUMBER, { prevLogIndex: 1, prevLogTerm: 1 }));
    expect(s.leaderId).to.equal('n2');
  });

  // §5.2: "election timeouts are chosen randomly from a fixed interval
  // (e.g., 150-300ms)"; here [electionTicks, 2 * electionTicks), drawn from
  // the injected Rng, and drawn again every time the timer is reset.
  it('§5.2 the randomized election timeout lies in [electionTicks, 2*electionTicks) and varies', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 100; seed++) {
      const s = newServer('n1', PEERS3, { seed });
      const t = ticksUntilCandidate(s);
      expect(t, `seed ${seed}`).to.equal(firstTimeout(seed));
      expect(t).to.be.within(ELECTION_TICKS, 2 * ELECTION_TICKS - 1);
      seen.add(t);
    }
    expect(seen.size).to.be.at.least(ELECTION_TICKS / 2);

    // One node, many elections in a row: each timeout is drawn anew.
    const s = newServer('n1', PEERS3, { seed: 5 });
    const gaps = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const t = ticksUntilCandidate(s);
      expect(t).to.be.within(ELECTION_TICKS, 2 * ELECTION_TICKS - 1);
      gaps.add(t);
    }
    expect(gaps.size).to.be.greaterThan(1);
  });

  // §5.2: "A candidate wins an election if it receives votes from a majority
  // of the servers in the full cluster for the same term. Each server will
  // vote for at most one candidate in a given term." Refusals are not votes,
  // and the same voter answering twice is still one vote.
  it('§5.2 a candidate wins only with a majority of distinct granted votes (itself included)', () => {
    const s = newServer('n1', PEERS5);
    ticksUntilCandidate(s);
    drain(s);
    const term = s.currentTerm;
    s.step(voteResponse('n2', 'n1', term, false));
    s.step(voteResponse('n3', 'n1', term, false));
    expect(s.state.role, 'refusals are not votes').to.equal('candidate');
    s.step(voteResponse('n4', 'n1', term, true));
    s.step(voteResponse('n4', 'n1', term, true));
    s.step(voteResponse('n4', 'n1', term, true));
    expect(s.state.role, 'n1 + n4 is 2 of 5, however often n4 answers').to.equal('candidate');
    // A grant from outside the cluster is dropped.
    s.step(voteResponse('n9', 'n1', term, true));
    expect(s.state.role).to.equal('candidate');
    expect(drain(s)).to.deep.equal([]);

    s.step(voteResponse('n5', 'n1', term, true));
    expect(s.state.role, 'n1 + n4 + n5 is 3 of 5').to.equal('leader');
    expect(s.leaderId).to.equal('n1');
    expect(s.currentTerm).to.equal(term);
  });

  // §5.2: "The third possible outcome is that a candidate neither wins nor
  // loses the election ... each candidate will time out and start a new
  // election by incrementing its term and initiating another round."
  it('§5.2 a candidate that does not win starts a new election when its timer fires again', () => {
    const s = newServer('n1', PEERS5, { seed: 3 });
    ticksUntilCandidate(s);
    drain(s);
    expect(s.currentTerm).to.equal(1);
    s.step(voteResponse('n2', 'n1', 1, true));
    drain(s);

    const t = ticksUntilCandidate(s);
    expect(t).to.be.within(ELECTION_TICKS, 2 * ELECTION_TICKS - 1);
    expect(s.state.role).to.equal('candidate');
    expect(s.currentTerm).to.equal(2);
    expect(s.votedFor).to.equal('n1');
    const reqs = ofType(drain(s), MessageType.RequestVote);
    expect(reqs.map((m) => m.term)).to.deep.equal([2]);
    // Votes are counted per term: n2's term-1 vote does not carry over.
    s.step(voteResponse('n3', 'n1', 2, true));
    expect(s.state.role, 'n1 + n3 is 2 of 5').to.equal('candidate');
    s.step(voteResponse('n2', 'n1', 2, true));
    expect(s.state.role).to.equal('leader');
  });

  // §5.2: "If the AppendEntries RPC is received from another server claiming
  // to be leader and the leader's term is at least as large as the
  // candidate's current term, then the candidate recognizes the leader as
  // legitimate and returns to follower state."
  it('§5.2 a candidate steps down on an AppendEntries of its own term, and handles it as a follower', () => {
    const s = newServer('n1', PEERS3);
    ticksUntilCandidate(s);
    drain(s);
    expect(s.currentTerm).to.equal(1);
    s.step(appendEntries('n2', 'n1', 1, { prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: 1, value: null }] }));
    expect(s.state.role).to.equal('follower');
    expect(s.currentTerm).to.equal(1);
    expect(s.leaderId).to.equal('n2');
    expect(s.votedFor, 'its vote for itself in term 1 stands').to.equal('n1');
    const [resp] = responsesTo(drain(s), 'n2');
    expect(resp.data).to.deep.include({ response: true, matchIndex: 1 });
    expect(s.log.lastIndex()).to.equal(1);
  });

  // §5.2, Figure 2 RequestVote receiver 2: "If votedFor is null or
  // candidateId, and ...": at most one vote per term, persisted (votedFor).
  it('§5.2 a server grants at most one vote per term (votedFor), repeats it, and votes anew in a new term', () => {
    const s = newServer('n1', PEERS5);
    s.step(requestVote('n2', 'n1', 1, 0, 0));
    expect(votesTo(drain(s), 'n2')[0].data.response).to.equal(true);
    expect(s.votedFor).to.equal('n2');

    s.step(requestVote('n3', 'n1', 1, 5, 1));
    expect(votesTo(drain(s), 'n3')[0].data.response, 'a second candidate in the same term').to.equal(false);
    expect(s.votedFor).to.equal('n2');

    // A retransmitted request from the candidate we voted for gets the same answer.
    s.step(requestVote('n2', 'n1', 1, 0, 0));
    expect(votesTo(drain(s), 'n2')[0].data.response).to.equal(true);

    s.step(requestVote('n3', 'n1', 2, 0, 0));
    expect(votesTo(drain(s), 'n3')[0].data.response, 'a new term, a new vote').to.equal(true);
    expect(s.votedFor).to.equal('n3');
    expect(s.currentTerm).to.equal(2);
  });

  // §5.4.1: "Raft determines which of two logs is more up-to-date by
  // comparing the index and term of the last entries in the logs. If the
  // logs have last entries with different terms, then the log with the later
  // term is more up-to-date. If the logs end with the same term, then
  // whichever log is longer is more up-to-date."
  it('§5.4.1 a vote goes only to a candidate whose log is at least as up-to-date: last term first, then index', () => {
    // The voter's log ends at index 3 with term 2.
    const cases: { lastLogIndex: number; lastLogTerm: number; granted: boolean; why: string }[] = [
      { lastLogIndex: 1, lastLogTerm: 3, granted: true, why: 'later last term, though shorter' },
      { lastLogIndex: 3, lastLogTerm: 2, granted: true, why: 'same last term, same length' },
      { lastLogIndex: 4, lastLogTerm: 2, granted: true, why: 'same last term, longer' },
      { lastLogIndex: 2, lastLogTerm: 2, granted: false, why: 'same last term, shorter' },
      { lastLogIndex: 9, lastLogTerm: 1, granted: false, why: 'earlier last term, though longer' },
      { lastLogIndex: 0, lastLogTerm: 0, granted: false, why: 'empty log' },
    ];
    for (const c of cases) {
      const s = newServer('n1', PEERS3, { term: 2, log: [1, 2, 2] });
      s.step(requestVote('n2', 'n1', 3, c.lastLogIndex, c.lastLogTerm));
      const [vote] = votesTo(drain(s), 'n2');
      expect(vote.data.response, c.why).to.equal(c.granted);
      expect(vote.term, c.why).to.equal(3);
      expect(s.votedFor, c.why).to.equal(c.granted ? 'n2' : null);
    }
  });

  // Figure 2 Followers: "If election timeout elapses without receiving
  // AppendEntries RPC from current leader or granting vote to candidate:
  // convert to candidate." Granting a vote resets the timer; refusing does not.
  it('§5.2 granting a vote resets the election timer, refusing one does not', () => {
    const seed = 21;
    const timeout = firstTimeout(seed);

    // The requests are of the current term: a higher term would replace the
    // follower (and its timer) before the vote is even considered.
    const granted = newServer('n1', PEERS3, { seed, term: 1 });
    tickN(granted, timeout - 1);
    granted.step(requestVote('n2', 'n1', 1, 0, 0));
    expect(votesTo(drain(granted), 'n2')[0].data.response).to.equal(true);
    // The new timeout is at least ELECTION_TICKS: nothing happens before that.
    tickN(granted, ELECTION_TICKS - 1);
    expect(granted.state.role).to.equal('follower');
    expect(granted.currentTerm).to.equal(1);

    const refused = newServer('n1', PEERS3, { seed, term: 1, log: [1] });
    tickN(refused, timeout - 1);
    refused.step(requestVote('n2', 'n1', 1, 0, 0)); // behind our log: refused
    expect(votesTo(drain(refused), 'n2')[0].data.response).to.equal(false);
    refused.tick();
    expect(refused.state.role).to.equal('candidate');
    expect(refused.currentTerm).to.equal(2);
  });

  // Figure 2 Followers: hearing AppendEntries from the current leader resets
  // the election timer (§5.2: "followers remain in follower state as long as
  // they receive valid RPCs from a leader").
  it('§5.2 AppendEntries from the current leader resets the election timer', () => {
    const s = newServer('n1', PEERS3, { seed: 4 });
    // Every timeout is at least ELECTION_TICKS, so ELECTION_TICKS - 1 ticks
    // between heartbeats never fire it; 5 rounds are past any single timeout.
    for (let round = 0; round < 5; round++) {
      tickN(s, ELECTION_TICKS - 1);
      s.step(appendEntries('n2', 'n1', 1, { prevLogIndex: 0, prevLogTerm: 0 }));
      drain(s);
    }
    expect(s.state.role).to.equal('follower');
    expect(s.currentTerm).to.equal(1);
  });

  // Persist before you promise (§5.1 Figure 2 "updated on stable storage
  // before responding to RPCs"; thesis §3.8): the vote and the term it was
  // cast in are in the very Ready whose messages carry the grant.
  it('§5.2 persist before send: a vote\'s hard state is in the same Ready as the vote reply', () => {
    const s = newServer('n1', PEERS3);
    s.step(requestVote('n3', 'n1', 4, 0, 0));
    expect(s.hasReady()).to.equal(true);
    const rd = s.ready();
    expect(rd.hardState).to.deep.equal({ currentTerm: 4, votedFor: 'n3', commitIndex: 0 });
    expect(votesTo(rd.messages, 'n3').map((m) => m.data.response)).to.deep.equal([true]);
    s.advance(rd);
    expect(s.hasReady()).to.equal(false);
  });

  it('§5.2 a leader refuses a vote in its own term (it voted for itself)', () => {
    const s = newServer('n1', PEERS3);
    electLeader(s);
    s.step(requestVote('n3', 'n1', s.currentTerm, 100, 100));
    const votes = votesTo(drain(s), 'n3');
    expect(votes.map((v) => v.data.response)).to.deep.equal([false]);
    expect(s.state.role).to.equal('leader');
    expect(s.votedFor).to.equal('n1');
  });

  it('§5.2 a cluster of one elects itself on its first timeout', () => {
    const s = newServer('solo', []);
    ticksUntilCandidate(s);
    expect(s.state.role).to.equal('leader');
    expect(s.currentTerm).to.equal(1);
    // Its RequestVote broadcast reaches no one; no AppendEntries has a receiver.
    const out: Message[] = drain(s);
    expect(ofType(out, MessageType.AppendEntries)).to.deep.equal([]);
    // Its no-op commits as soon as it is on its own disk (§8, majority of 1).
    expect(s.log.committed).to.equal(1);
  });
});
