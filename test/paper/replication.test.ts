// Paper tests for log replication and commitment: Figure 2 "AppendEntries
// RPC" and "Rules for Servers", §5.3, §5.4.2, §8. Init, test, check: set a
// node's log up through its storage, step messages into it, then read what it
// persists, sends and applies (its Ready).

import { expect } from 'chai';
import { MessageType } from '../../src/messages';
import {
  HEARTBEAT_TICKS,
  Net,
  appendEntries,
  appendResponse,
  appendsTo,
  appliedOf,
  drain,
  drainReadies,
  electLeader,
  logOf,
  logTerms,
  newServer,
  ofType,
  persist,
  responsesTo,
  storedLog,
  tickN,
  ticksUntilCandidate,
} from './helpers';

const PEERS3 = ['n2', 'n3'];
const PEERS5 = ['n2', 'n3', 'n4', 'n5'];

describe('paper: log replication and commitment (§5.3, §5.4.2, §8)', () => {
  // Figure 2 Leaders: "Upon election: send initial empty AppendEntries RPCs
  // (heartbeat) to each server; repeat during idle periods to prevent
  // election timeouts (§5.2)."
  it('§5.2 a leader sends a heartbeat to every follower every heartbeatTicks', () => {
    const s = newServer('n1', PEERS3);
    electLeader(s);
    s.step(appendResponse('n2', 'n1', 1, true, { matchIndex: 1 }));
    drain(s);
    // n3 never answers: it is heartbeated all the same.
    for (let round = 0; round < 3; round++) {
      tickN(s, HEARTBEAT_TICKS - 1);
      expect(drain(s), `round ${round}: nothing before the interval`).to.deep.equal([]);
      s.tick();
      const out = drain(s);
      const aes = ofType(out, MessageType.AppendEntries);
      expect(aes.map((m) => m.receiver).sort(), `round ${round}`).to.deep.equal(['n2', 'n3']);
      const [toN2] = appendsTo(out, 'n2');
      expect(toN2.term).to.equal(1);
      expect(toN2.data).to.deep.include({ leaderId: 'n1', prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1 });
      // n3 has acknowledged nothing: its heartbeat probes at nextIndex - 1 and
      // carries what it lacks (the no-op).
      const [toN3] = appendsTo(out, 'n3');
      expect(toN3.data).to.deep.include({ prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 1 });
      expect(toN3.data.entries).to.deep.equal([{ term: 1, value: null }]);
    }
  });

  // §8: "Raft handles this by having each leader commit a blank no-op entry
  // into the log at the start of its term." Figure 2 Leaders: nextIndex
  // starts at the leader's last log index + 1.
  it('§8 a new leader appends a no-op entry of its term and sends it to every follower', () => {
    const s = newServer('n1', PEERS3, { term: 2, log: [1, 2] });
    const out = electLeader(s);
    expect(s.currentTerm).to.equal(3);
    expect(s.log.lastIndex()).to.equal(3);
    expect(s.log.entry(3)).to.deep.equal({ index: 3, term: 3, value: null });
    for (const peer of PEERS3) {
      const [ae] = appendsTo(out, peer);
      expect(ae.term).to.equal(3);
      expect(ae.data).to.deep.include({ prevLogIndex: 2, prevLogTerm: 2, leaderCommit: 0 });
      expect(ae.data.entries).to.deep.equal([{ term: 3, value: null }]);
    }
    expect(storedLog(s)).to.deep.equal([{ term: 1, value: 'v1' }, { term: 2, value: 'v2' }, { term: 3, value: null }]);
    expect(s.status().progress).to.deep.equal({ n2: { matchIndex: 0, nextIndex: 3 }, n3: { matchIndex: 0, nextIndex: 3 } });
  });

  // Figure 2 AppendEntries receiver 2 (§5.3): "Reply false if log doesn't
  // contain an entry at prevLogIndex whose term matches prevLogTerm." With
  // the hint of §5.3's last paragraphs: the conflicting term and the first
  // index the follower holds for it, or its log length when too short.
  it('§5.3 the follower checks prevLogIndex/prevLogTerm and rejects with a conflict hint', () => {
    const s = newServer('n1', PEERS3, { term: 2, log: [1, 2, 2, 2] });

    s.step(appendEntries('n2', 'n1', 3, { prevLogIndex: 4, prevLogTerm: 3, entries: [3] }));
    let [resp] = responsesTo(drain(s), 'n2');
    expect(resp.data).to.deep.include({ response: false, currentTerm: 3, conflictTerm: 2, conflictIndex: 2, rejectedIndex: 4 });

    s.step(appendEntries('n2', 'n1', 3, { prevLogIndex: 7, prevLogTerm: 3, entries: [3] }));
    [resp] = responsesTo(drain(s), 'n2');
    expect(resp.data).to.deep.include({ response: false, conflictIndex: 5 });
    expect(resp.data.conflictTerm, 'a log too short has no conflicting term').to.equal(undefined);
    expect(logTerms(s), 'a rejected AppendEntries changes nothing').to.deep.equal([1, 2, 2, 2]);

    s.step(appendEntries('n2', 'n1', 3, { prevLogIndex: 1, prevLogTerm: 1, entries: [3] }));
    [resp] = responsesTo(drain(s), 'n2');
    expect(resp.data).to.deep.include({ response: true, currentTerm: 3, matchIndex: 2 });
    expect(logTerms(s)).to.deep.equal([1, 3]);
  });

  // Figure 2 AppendEntries receiver 3-4 (§5.3): "If an existing entry
  // conflicts with a new one (same index but different terms), delete the
  // existing entry and all that follow it. Append any new entries not
  // already in the log." A delayed or duplicated AppendEntries holds only
  // entries we already have: it must not cut off the ones after them.
  it('§5.3 the follower truncates only on a real conflict; a stale or duplicated AppendEntries removes nothing', () => {
    const s = newServer('n1', PEERS3, { term: 2, log: [1, 2, 2] });

    // Stale: covers index 2 only, which we already hold.
    s.step(appendEntries('n2', 'n1', 2, { prevLogIndex: 1, prevLogTerm: 1, entries: [2] }));
    let rds = drainReadies(s);
    expect(logTerms(s)).to.deep.equal([1, 2, 2]);
    expect(rds.flatMap((rd) => rd.entries), 'nothing to persist').to.deep.equal([]);
    expect(responsesTo(rds.flatMap((rd) => rd.messages), 'n2')[0].data).to.deep.include({ response: true, matchIndex: 2 });

    // Duplicate of everything.
    s.step(appendEntries('n2', 'n1', 2, { prevLogIndex: 0, prevLogTerm: 0, entries: [1, 2, 2] }));
    rds = drainReadies(s);
    expect(logTerms(s)).to.deep.equal([1, 2, 2]);
    expect(rds.flatMap((rd) => rd.entries)).to.deep.equal([]);

    // A real conflict: a term-3 leader holds a different entry at index 2.
    s.step(appendEntries('n3', 'n1', 3, { prevLogIndex: 1, prevLogTerm: 1, entries: [{ term: 3, value: 'x' }] }));
    rds = drainReadies(s);
    expect(logOf(s)).to.deep.equal([{ term: 1, value: 'v1' }, { term: 3, value: 'x' }]);
    expect(rds.flatMap((rd) => rd.entries), 'the new suffix replaces the old on disk').to.deep.equal([{ index: 2, term: 3, value: 'x' }]);
    expect(storedLog(s)).to.deep.equal([{ term: 1, value: 'v1' }, { term: 3, value: 'x' }]);
  });

  // Figure 2 AppendEntries receiver 5: "If leaderCommit > commitIndex, set
  // commitIndex = min(leaderCommit, index of last new entry)." Entries past
  // the last new one may be stale leftovers that the leader has not checked.
  it('§5.3 a follower commits min(leaderCommit, index of last new entry), and never moves commitIndex back', () => {
    const fresh = newServer('n1', PEERS3);
    fresh.step(appendEntries('n2', 'n1', 1, { prevLogIndex: 0, prevLogTerm: 0, entries: [1, 1], leaderCommit: 5 }));
    drain(fresh);
    expect(fresh.log.committed).to.equal(2);

    // Old uncommitted entries 2 and 3 from term 1; the term-2 leader has
    // checked only up to index 1.
    const s = newServer('n1', PEERS3, { term: 1, log: [1, 1, 1] });
    s.step(appendEntries('n3', 'n1', 2, { prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 3 }));
    drain(s);
    expect(s.log.committed, 'not 3: entries 2-3 may not be the leader\'s').to.equal(1);
    s.step(appendEntries('n3', 'n1', 2, { prevLogIndex: 1, prevLogTerm: 1, entries: [2], leaderCommit: 3 }));
    drain(s);
    expect(logTerms(s)).to.deep.equal([1, 2]);
    expect(s.log.committed).to.equal(2);
    s.step(appendEntries('n3', 'n1', 2, { prevLogIndex: 2, prevLogTerm: 2, entries: [], leaderCommit: 0 }));
    drain(s);
    expect(s.log.committed).to.equal(2);
  });

  // §5.4.2: "Raft never commits log entries from previous terms by counting
  // replicas. Only log entries from the leader's current term are committed
  // by counting replicas." Figure 2 Leaders: "If there exists an N such that
  // N > commitIndex, a majority of matchIndex[i] >= N, and log[N].term ==
  // currentTerm: set commitIndex = N."
  it('§5.4.2 a leader commits by majority, and only an entry of its current term', () => {
    const s = newServer('n1', PEERS5, { term: 2, log: [1, 2], commitIndex: 1 });
    electLeader(s); // term 3, no-op at index 3
    expect(s.log.committed).to.equal(1);

    // Index 2 (term 2) reaches n2 and n3: on 3 of 5 servers, yet not committed.
    s.step(appendResponse('n2', 'n1', 3, true, { matchIndex: 2 }));
    s.step(appendResponse('n3', 'n1', 3, true, { matchIndex: 2 }));
    drain(s);
    expect(s.status().progress!.n2.matchIndex).to.equal(2);
    expect(s.log.committed, 'a term-2 entry is never committed by counting').to.equal(1);

    // Index 3 (term 3) on n1 and n2: 2 of 5, not a majority.
    s.step(appendResponse('n2', 'n1', 3, true, { matchIndex: 3 }));
    drain(s);
    expect(s.log.committed).to.equal(1);

    // On n1, n2, n3: a majority; committing it commits index 2 with it.
    s.step(appendResponse('n3', 'n1', 3, true, { matchIndex: 3 }));
    const out = drain(s);
    expect(s.log.committed).to.equal(3);
    expect(appliedOf(s).map((e) => e.index)).to.deep.equal([1, 2, 3]);
    // Followers that are replicating hear of it at once; n4, still being
    // probed, learns it from the answer to its probe instead.
    expect(appendsTo(out, 'n2')[0].data.leaderCommit).to.equal(3);
    expect(appendsTo(out, 'n4')).to.have.length(0);
  });

  // §5.3 (end): "the follower can include the term of the conflicting entry
  // and the first index it stores for that term. With this information, the
  // leader can decrement nextIndex to bypass all of the conflicting entries
  // in that term." Without a hint (as simpleRaft replies), back up by one.
  it('§5.3 the leader backs nextIndex up using the follower\'s hint, or by one without it', () => {
    // The leader's log of Figure 7, term 8 after the election.
    const s = newServer('n1', PEERS5, { term: 7, log: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6] });
    electLeader(s);
    expect(s.log.lastIndex()).to.equal(11);

    const cases: { peer: string; hint: { conflictIndex?: number; conflictTerm?: number }; prevLogIndex: number; why: string }[] = [
      { peer: 'n2', hint: { conflictIndex: 10 }, prevLogIndex: 9, why: 'log too short: its length + 1' },
      { peer: 'n3', hint: { conflictTerm: 4, conflictIndex: 4 }, prevLogIndex: 5, why: 'we hold term 4: after our last term-4 entry' },
      { peer: 'n4', hint: { conflictTerm: 3, conflictIndex: 7 }, prevLogIndex: 6, why: 'we hold no term 3: its first term-3 index' },
      { peer: 'n5', hint: {}, prevLogIndex: 9, why: 'no hint: back up by one' },
    ];
    for (const c of cases) {
      s.step(appendResponse(c.peer, 'n1', 8, false, c.hint));
      const [ae] = appendsTo(drain(s), c.peer);
      expect(ae.data.prevLogIndex, c.why).to.equal(c.prevLogIndex);
      expect(ae.data.prevLogTerm, c.why).to.equal(s.log.term(c.prevLogIndex));
      expect(ae.data.entries.length, c.why).to.equal(11 - c.prevLogIndex);
      expect(s.status().progress![c.peer].nextIndex, c.why).to.equal(c.prevLogIndex + 1);
    }
  });

  it('§5.3 only a rejection of the request still outstanding backs nextIndex up; a late or duplicated one is ignored', () => {
    // As etcd's Progress.MaybeDecrTo: rejectedIndex says which AppendEntries
    // a rejection answers. Acting on an old one would throw a follower that
    // is being streamed to back to one probe per round trip.
    const s = newServer('n1', PEERS3, { term: 1, log: [1, 1, 1, 1] });
    electLeader(s);
    expect(s.log.lastIndex()).to.equal(5);
    // n2 holds only 2 entries: it rejects the first probe (prevLogIndex 4).
    const rejection = appendResponse('n2', 'n1', 2, false, { conflictIndex: 3, rejectedIndex: 4 });
    s.step(rejection);
    expect(appendsTo(drain(s), 'n2').map((m) => m.data.prevLogIndex)).to.deep.equal([2]);
    // The same rejection again (the network duplicated it): the probe at 2 is still out.
    s.step(rejection);
    expect(appendsTo(drain(s), 'n2'), 'a duplicated rejection sends nothing').to.deep.equal([]);
    // n2 accepts the probe at 2: replication streams from matchIndex 5.
    s.step(appendResponse('n2', 'n1', 2, true, { matchIndex: 5 }));
    drain(s);
    // The first rejection arrives once more, late: our logs match up to 5, so it is old.
    s.step(rejection);
    expect(appendsTo(drain(s), 'n2'), 'a late rejection sends nothing').to.deep.equal([]);
    // Still streaming: two commands go out one after the other, unanswered.
    s.propose('a');
    const first = appendsTo(drain(s), 'n2');
    s.propose('b');
    const second = appendsTo(drain(s), 'n2');
    expect([...first, ...second].map((m) => [m.data.prevLogIndex, m.data.entries.length])).to.deep.equal([
      [5, 1],
      [6, 1],
    ]);
  });

  // Figure 7 end to end: the leader of term 8 and followers (a)-(f). The
  // hint skips a whole term per round trip: follower (f) is probed at 10, 6
  // and 3, where backing up one entry at a time would probe 10, 9, ..., 3.
  it('§5.3 Figure 7: the leader brings every follower\'s log to its own, in few round trips', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const names = ['leader', ...Object.keys(followers)];
    const peersOf = (n: string) => names.filter((m) => m !== n);
    const leader = newServer('leader', peersOf('leader'), { term: 7, log: leaderLog });
    const net = new Net([leader, ...Object.entries(followers).map(([n, log]) => newServer(n, peersOf(n), { term: 7, log }))]);

    ticksUntilCandidate(leader);
    net.flush('leader');
    const delivered = net.run();
    expect(leader.state.role, 'a, b, e, f vote for it; c and d hold more up-to-date logs').to.equal('leader');
    expect(leader.currentTerm).to.equal(8);

    const expected = [...leaderLog, 8];
    for (const n of Object.keys(followers)) expect(logTerms(net.get(n)), n).to.deep.equal(expected);
    expect(leader.log.committed).to.equal(11);

    // Where the leader probed each follower's log: every prevLogIndex it sent
    // entries after, in order, without repeats.
    const probes = (n: string) => [
      ...new Set(
        delivered.filter((m) => m.type === MessageType.AppendEntries && m.receiver === n && m.data.entries.length > 0).map((m) => (m.type === MessageType.AppendEntries ? m.data.prevLogIndex : -1)),
      ),
    ];
    expect(Object.fromEntries(Object.keys(followers).map((n) => [n, probes(n)]))).to.deep.equal({
      a: [10, 9], // too short: conflictIndex 10
      b: [10, 4], // too short: conflictIndex 5
      c: [10], // matches at 10; its extra entry 11 conflicts and goes
      d: [10], // matches at 10; its term-7 entries 11-12 go
      e: [10, 7, 5], // too short, then conflictTerm 4: after our last term-4 entry
      f: [10, 6, 3], // conflictTerm 3, then conflictTerm 2: terms we never had
    });
  });

  // §5.3: "When the entry has been safely replicated, the leader applies the
  // entry to its state machine." Figure 2 All Servers: "If commitIndex >
  // lastApplied: increment lastApplied, apply log[lastApplied] to state
  // machine." In order, each entry once: ready().committedEntries.
  it('§5.3 committed entries are applied in index order, each exactly once, on leader and followers', () => {
    const n1 = newServer('n1', PEERS3);
    const net = new Net([n1, newServer('n2', ['n1', 'n3']), newServer('n3', ['n1', 'n2'])]);
    ticksUntilCandidate(n1);
    net.flush('n1');
    net.run();
    n1.propose('a');
    n1.propose('b');
    net.flush('n1');
    net.run();
    n1.propose('c');
    net.flush('n1');
    const log = net.run();
    // Deliver every AppendEntries of that exchange a second time.
    net.send(log.filter((m) => m.type === MessageType.AppendEntries));
    net.run();
    net.tick('n1', HEARTBEAT_TICKS);
    net.run();

    for (const name of ['n1', 'n2', 'n3']) {
      const s = net.get(name);
      expect(appliedOf(s).map((e) => [e.index, e.value]), name).to.deep.equal([
        [1, null],
        [2, 'a'],
        [3, 'b'],
        [4, 'c'],
      ]);
      expect(s.log.committed, name).to.equal(4);
      expect(s.log.applied, name).to.equal(4);
      expect(s.hasReady(), name).to.equal(false);
    }
  });

  // Persist before you promise (§5.3; thesis §10.2.1): "the leader can write
  // to its disk in parallel with replicating to the followers", but it counts
  // itself toward a majority only for entries on its own stable storage.
  it('§5.3 the leader counts itself toward a majority only once its entries are persisted (advance)', () => {
    const s = newServer('n1', PEERS3);
    electLeader(s);
    s.step(appendResponse('n2', 'n1', 1, true, { matchIndex: 1 }));
    drain(s);
    expect(s.log.committed).to.equal(1);

    s.propose('x');
    const rd = s.ready();
    expect(rd.entries.map((e) => e.index)).to.deep.equal([2]);
    expect(appendsTo(rd.messages, 'n2')[0].data.entries, 'sent before our own write').to.deep.equal([{ term: 1, value: 'x' }]);
    // n2 acknowledges index 2 before our write is done: n2 alone is 1 of 3.
    s.step(appendResponse('n2', 'n1', 1, true, { matchIndex: 2 }));
    expect(s.log.committed).to.equal(1);
    persist(s, rd);
    s.advance(rd);
    expect(s.log.committed, 'n1 (now stable) + n2 is 2 of 3').to.equal(2);
  });

  // Figure 2: "updated on stable storage before responding to RPCs": a
  // success reply is in the same Ready as the entries it acknowledges, so
  // the driver writes them before sending it.
  it('§5.3 persist before send: an AppendEntries success travels in the same Ready as its entries', () => {
    const s = newServer('n1', PEERS3);
    s.step(appendEntries('n2', 'n1', 2, { prevLogIndex: 0, prevLogTerm: 0, entries: [1, 2] }));
    const rd = s.ready();
    expect(rd.entries.map((e) => [e.index, e.term])).to.deep.equal([[1, 1], [2, 2]]);
    expect(rd.hardState).to.include({ currentTerm: 2 });
    expect(responsesTo(rd.messages, 'n2')[0].data).to.deep.include({ response: true, matchIndex: 2 });
  });

  // The paper's indices are 1-based: "log[] log entries; ... first index is
  // 1". Index 0 with term 0 stands for the empty log (prevLogIndex 0 always
  // matches).
  it('§5.3 indices are 1-based; index 0 with term 0 is the empty log', () => {
    const s = newServer('n1', PEERS3);
    expect(s.log.lastIndex()).to.equal(0);
    expect(s.log.lastTerm()).to.equal(0);
    expect(s.log.term(0)).to.equal(0);
    expect(s.log.entry(0)).to.equal(undefined);

    const leader = newServer('n2', ['n1', 'n3']);
    ticksUntilCandidate(leader);
    const [req] = ofType(drain(leader), MessageType.RequestVote);
    expect(req.data).to.deep.equal({ lastLogIndex: 0, lastLogTerm: 0 });
    leader.step({ type: MessageType.RequestVoteResponse, sender: 'n1', receiver: 'n2', term: 1, timestamp: 0, data: { response: true } });
    const [ae] = appendsTo(drain(leader), 'n1');
    expect(ae.data).to.deep.include({ prevLogIndex: 0, prevLogTerm: 0 });

    s.step(ae);
    const [resp] = responsesTo(drain(s), 'n2');
    expect(s.log.entry(1)).to.deep.equal({ index: 1, term: 1, value: null });
    expect(resp.data.matchIndex).to.equal(1);
    expect(storedLog(s)).to.deep.equal([{ term: 1, value: null }]);
  });
});
