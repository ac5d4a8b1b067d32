// Figure 8 of the paper, step by step (§5.4.2):
//
//   "A time sequence showing why a leader cannot determine commitment using
//   log entries from older terms."
//
//        index:  1  2  3                     index:  1  2  3
//   (c)  S1     [1][2][4]  leader, term 4    (d)  S1 [1][2][4]   (crashed)
//        S2     [1][2]                            S2 [1][3][5]
//        S3     [1][2]                            S3 [1][3][5]
//        S4     [1]                               S4 [1][3][5]
//        S5     [1][3]     (crashed)              S5 [1][3][5]  leader, term 5
//
// (a) S1 leads term 2 and writes an entry at index 2. (b) S1 crashes; S5 is
// elected for term 3 by S3, S4 and itself, and writes a different entry at
// index 2. (c) S5 crashes; S1 restarts, is elected for term 4, and replicates
// its term-2 entry to S2 and S3: a majority holds it, yet it is NOT committed.
// (d) S1 crashes; S5 is elected (votes from S2, S3, S4) and overwrites index
// 2 everywhere: safe, because nothing had committed it. (e) Had S1 first
// replicated an entry of its own term to a majority, that entry would be
// committed, and S5 could never win.
//
// One difference from the paper's drawing: in (a) S1's term-2 entry reaches
// no one, and S1 copies it to S2 and S3 in term 4. The leader must learn that
// a follower holds index 2 from that follower's reply in its own term; this
// way it does, and picture (c) is the paper's exactly.
//
// Every leader here sends at most one entry per AppendEntries, so that the
// test can hand out index 2 without index 3 (maxEntriesPerAppend: 1).

import { expect } from 'chai';
import { Message, MessageType } from '../../src/messages';
import { Server } from '../../src/server/server';
import { HEARTBEAT_TICKS, Net, appliedOf, logTerms, newServer, ticksUntilCandidate } from './helpers';

const NAMES = ['S1', 'S2', 'S3', 'S4', 'S5'];

function newCluster(bugs: boolean): Net {
  return new Net(
    NAMES.map((n, i) =>
      newServer(
        n,
        NAMES.filter((m) => m !== n),
        {
          seed: 80 + i,
          term: 1,
          log: [{ term: 1, value: 'x' }], // index 1, committed everywhere
          commitIndex: 1,
          maxEntriesPerAppend: 1,
          bugs: bugs ? { commitPreviousTermByCount: true } : undefined,
        },
      ),
    ),
  );
}

const isAppend = (m: Message) => m.type === MessageType.AppendEntries || m.type === MessageType.Response;

/**
 * Campaign until `name` leads, delivering only RequestVote and votes: the new
 * leader's first AppendEntries are held back, so the test decides who
 * receives its entries.
 */
function elect(net: Net, name: string): Server {
  const s = net.get(name);
  for (let round = 0; round < 5; round++) {
    ticksUntilCandidate(s);
    net.flush(name);
    net.run(isAppend);
    if (s.state.role === 'leader') return s;
  }
  throw new Error(`${name} was not elected`);
}

/**
 * A new leader's entry of its term at the next index: the §8 no-op it
 * appended on election or, under the bug flag (which skips the no-op, as the
 * paper's Figure 8 leaders do), a client command.
 */
function writeOwnEntry(net: Net, leader: Server, value: string): void {
  if (leader.log.lastTerm() !== leader.currentTerm) leader.propose(value);
  net.flush(leader.name);
  net.clear(); // it reaches no one
}

/** Steps (a), (b), (c). Returns S1, leader of term 4. */
function upToC(net: Net): Server {
  // (a) S1 leads term 2 and writes index 2; it reaches no one, S1 crashes.
  const s1a = elect(net, 'S1');
  expect(s1a.currentTerm).to.equal(2);
  writeOwnEntry(net, s1a, 'a');
  expect(logTerms(s1a)).to.deep.equal([1, 2]);
  net.crash('S1');

  // (b) S5 leads term 3 (votes from S2, S3, S4) and writes a different index 2.
  const s5b = elect(net, 'S5');
  expect(s5b.currentTerm).to.equal(3);
  writeOwnEntry(net, s5b, 'b');
  expect(logTerms(s5b)).to.deep.equal([1, 3]);
  net.crash('S5');

  // (c) S1 restarts and leads term 4 (term 3 is taken: everyone voted for S5).
  net.restart('S1');
  const s1 = elect(net, 'S1');
  expect(s1.currentTerm).to.equal(4);
  // It replicates index 2 to S2 and S3 only. Its term-4 entry reaches them
  // only while they lack index 2 (and so refuse it), and no news of a commit
  // leaves S1 (it crashes first, under the bug).
  net.tick('S1', HEARTBEAT_TICKS);
  net.run(
    (m) =>
      m.sender === 'S1' &&
      m.type === MessageType.AppendEntries &&
      (m.receiver === 'S4' ||
        (m.data.entries.some((e) => e.term === 4) && net.get(m.receiver!).log.lastIndex() >= 2) ||
        m.data.leaderCommit > 1),
  );
  const progress = s1.status().progress!;
  expect([progress.S2.matchIndex, progress.S3.matchIndex], 'S1 knows S2 and S3 hold index 2').to.deep.equal([2, 2]);
  expect(['S2', 'S3', 'S4'].map((n) => logTerms(net.get(n)))).to.deep.equal([[1, 2], [1, 2], [1]]);
  return s1;
}

describe('paper: Figure 8 (§5.4.2)', () => {
  it('§5.4.2 Figure 8 (c): the term-4 leader does not commit the term-2 entry held by a majority; (d) S5 overwrites it safely', () => {
    const net = newCluster(false);
    const s1 = upToC(net);
    expect(logTerms(s1), 'S1 holds its term-4 no-op at index 3').to.deep.equal([1, 2, 4]);
    expect(s1.log.committed, 'index 2 is on S1, S2, S3, but of term 2: not committed by counting').to.equal(1);
    expect(appliedOf(s1).map((e) => e.index)).to.deep.equal([1]);

    // (d) S1 crashes; S5 restarts and is elected in term 5 by S2, S3 and S4:
    // its last entry (term 3) is more up-to-date than their term 2 (§5.4.1).
    net.crash('S1');
    net.restart('S5');
    const s5 = elect(net, 'S5');
    expect(s5.currentTerm).to.equal(5);
    net.tick('S5', HEARTBEAT_TICKS);
    net.run();
    net.tick('S5', HEARTBEAT_TICKS); // carries the new commit index to everyone
    net.run();
    for (const n of ['S2', 'S3', 'S4', 'S5']) {
      expect(logTerms(net.get(n)), n).to.deep.equal([1, 3, 5]);
      expect(net.get(n).log.committed, n).to.equal(3);
    }
    // State Machine Safety: index 2 was applied, everywhere, as S5's term-3
    // entry; S1's term-2 entry was never applied anywhere.
    for (const n of ['S2', 'S3', 'S4', 'S5']) {
      const at2 = appliedOf(net.get(n)).find((e) => e.index === 2)!;
      expect([at2.term, at2.value], n).to.deep.equal([3, null]);
    }
  });

  it('§5.4.2 Figure 8 (e): once S1 commits an entry of term 4 on a majority, index 2 is committed with it and S5 cannot win', () => {
    const net = newCluster(false);
    const s1 = upToC(net);
    // The term-4 entry now reaches S2 and S3: a heartbeat interval without
    // progress makes S1 probe again from matchIndex + 1 and resend it.
    for (let beat = 0; beat < 3 && s1.log.committed < 3; beat++) {
      net.tick('S1', HEARTBEAT_TICKS);
      net.run((m) => m.receiver === 'S4');
    }
    expect(s1.log.committed, 'index 3 (term 4) on S1, S2, S3 commits indices 2 and 3').to.equal(3);
    expect(appliedOf(s1).map((e) => [e.index, e.term])).to.deep.equal([
      [1, 1],
      [2, 2],
      [3, 4],
    ]);

    net.crash('S1');
    net.restart('S5');
    const s5 = net.get('S5');
    for (let round = 0; round < 4; round++) {
      ticksUntilCandidate(s5);
      net.flush('S5');
      net.run();
      expect(s5.state.role, `round ${round}: S2 and S3 hold term 4, S5 only term 3`).to.not.equal('leader');
    }
    expect(['S2', 'S3'].map((n) => logTerms(net.get(n)))).to.deep.equal([
      [1, 2, 4],
      [1, 2, 4],
    ]);
  });

  it('§5.4.2 Figure 8 with the bug commitPreviousTermByCount: the leader commits the term-2 entry by counting, and a different entry is later committed at the same index', () => {
    const net = newCluster(true);
    const s1 = upToC(net);
    // Under the bug S1 appended no no-op: its log is [1, 2], and the replicas
    // of index 2 on S1, S2, S3 are counted as a commit.
    expect(logTerms(s1)).to.deep.equal([1, 2]);
    expect(s1.log.committed).to.equal(2);
    const s1Applied = appliedOf(s1).find((e) => e.index === 2)!;
    expect([s1Applied.term, s1Applied.value], 'S1 applied (and would answer its client)').to.deep.equal([2, 'a']);

    // (d) as before: S1 crashes before telling anyone; S5 is elected and
    // overwrites index 2, then commits its own entry there by counting too.
    net.crash('S1');
    net.restart('S5');
    const s5 = elect(net, 'S5');
    expect(s5.currentTerm).to.equal(5);
    net.tick('S5', HEARTBEAT_TICKS);
    net.run();
    expect(s5.log.committed).to.equal(2);
    const s5Applied = appliedOf(s5).find((e) => e.index === 2)!;
    expect([s5Applied.term, s5Applied.value]).to.deep.equal([3, 'b']);
    for (const n of ['S2', 'S3', 'S4']) expect(logTerms(net.get(n)), n).to.deep.equal([1, 3]);

    // The unsafe outcome: two servers applied different commands at index 2
    // (State Machine Safety, Figure 3, is violated).
    expect([s1Applied.term, s1Applied.value]).to.not.deep.equal([s5Applied.term, s5Applied.value]);
  });
});
