// The Python probe (interop/python/simpleraft_bridge/probe.py: the bridge's
// stand-in node, no simpleRaft needed) as the third member of a live cluster
// of two TypeScript nodes (real processes, src/main.ts), over ZeroMQ and over
// UDP gossip. It shows that the two sides speak one wire format:
//
//   * the TypeScript leader's AppendEntries reach the probe, which answers them,
//     and its first AppendEntries puts the first entries into the probe's empty log;
//   * a successful Response without matchIndex (as simpleRaft sends) never
//     moves the leader's matchIndex for the probe; with matchIndex it does;
//   * messages of an older term are refused with the current term;
//   * RequestVote: a short log (lastLogTerm null) and a longer log with an
//     older last term are refused, an up-to-date log in a new term is granted
//     (and granted again when repeated), and the probe can then lead a
//     TypeScript follower.
//
// Members: n1, n2 (TypeScript) and p1 (the probe); a majority is 2, so the
// TypeScript nodes commit without the probe, which lets the probe answer
// (or not) as each test needs.

import { expect } from 'chai';
import { MessageType } from '../../src/messages';
import { InteropCluster, Probe, requirePython, TsNode, until } from './harness';
import { freeTcpPorts } from '../net/ports';

for (const transport of ['zmq', 'udp'] as const) {
  describe(`interop: the Python probe in a TypeScript cluster over ${transport}`, function () {
    this.timeout(60_000);
    let c: InteropCluster;
    let probe: Probe;
    let ts: TsNode[] = [];
    let leader: TsNode;
    let follower: TsNode;
    let term: number;

    const statusOf = async (n: TsNode) => {
      const s = await n.status();
      if (s === null) throw new Error(`${n.name} does not answer /status:\n${n.text().slice(-2000)}`);
      return s;
    };

    before(async function () {
      requirePython();
      c = InteropCluster.create(transport);
      const [r1, r2, rp] = await c.raftPorts(3);
      const [a1, a2] = await freeTcpPorts(2);
      const n1 = { name: 'n1', port: r1 };
      const n2 = { name: 'n2', port: r2 };
      const p1 = { name: 'p1', port: rp };
      probe = c.startProbe(p1, [n1, n2]);
      ts = [c.startTs(n1, a1, [n2, p1]), c.startTs(n2, a2, [n1, p1])];
      await probe.started;
      // Answer as simpleRaft does: no matchIndex; and every answer twice.
      expect((await probe.cmd({ cmd: 'config', dispatch: true, matchIndex: false, duplicate: true })).ok).to.equal(true);
      await c.waitServing(ts);
    });

    after(async () => {
      await c?.stop();
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed' && c) process.stderr.write(`\n${c.logs()}\n`);
    });

    it('the TypeScript nodes elect a leader, and the probe follows it and answers its AppendEntries', async () => {
      const name = await until(async () => {
        const [s1, s2] = await Promise.all(ts.map((n) => n.status()));
        if (!s1 || !s2) return undefined;
        const l = [s1, s2].find((s) => s.role === 'leader');
        return l && s1.leader === l.name && s2.leader === l.name && s1.term === s2.term ? l.name : undefined;
      }, 30_000, 'one TypeScript leader both TypeScript nodes agree on');
      leader = ts.find((n) => n.name === name)!;
      follower = ts.find((n) => n.name !== name)!;
      term = (await statusOf(leader)).term;
      const st = await until(async () => {
        const s = await probe.status();
        return s.term === term && s.leader === leader.name && (s.stats['received:AppendEntries'] ?? 0) >= 5 && (s.stats['responses-true'] ?? 0) >= 5
          ? s
          : undefined;
      }, 10_000, 'the probe to follow the leader and answer 5 AppendEntries');
      expect(st.role).to.equal('follower');
    });

    it("the leader's first AppendEntries puts the first entries into the probe's empty log; a put follows", async () => {
      const put = await leader.put('from-typescript', 'hello python');
      expect(put.status, JSON.stringify(put.body)).to.equal(200);
      const ls = await statusOf(leader);
      const st = await until(async () => {
        const s = await probe.status();
        // At least: entries may follow the put (a member's publishMember, docs/api.md).
        return s.log.length >= ls.lastLogIndex ? s : undefined;
      }, 10_000, `the probe's log to reach the leader's last index ${ls.lastLogIndex}`);
      // The first AppendEntries with entries found the log empty: prevLogIndex 0, the paper's "before the first entry".
      expect(st.firstAppend, JSON.stringify(st)).to.include({ sender: leader.name, term, prevLogIndex: 0, logBefore: 0 });
      expect(st.firstAppend.entries[0]).to.deep.equal({ term, value: null }); // the leader's no-op (§8)
      expect(st.log.every((e: { term: number }) => e.term === term)).to.equal(true);
    });

    it('successful Responses without matchIndex (twice each) never move the leader\'s matchIndex for the probe', async () => {
      const before = (await probe.status()).stats;
      await until(async () => {
        const s = (await probe.status()).stats;
        return (s['responses-true'] ?? 0) >= (before['responses-true'] ?? 0) + 20 ? true : undefined;
      }, 10_000, '20 more successful answers from the probe');
      const st = await probe.status();
      expect(st.stats['duplicate-responses'] ?? 0, 'the probe answered twice').to.be.greaterThan(0);
      const ls = await statusOf(leader);
      expect(st.log.length, 'the probe holds the whole log').to.equal(ls.lastLogIndex);
      expect(ls.role).to.equal('leader');
      expect(ls.term).to.equal(term);
      expect(TsNode.matchIndexOf(ls, 'p1'), 'matchIndex advanced on a guess').to.equal(0);
      expect(ls.commitIndex, 'the TypeScript majority still commits').to.equal(ls.lastLogIndex);
    });

    it("with matchIndex in its Responses, the leader's matchIndex for the probe follows the log", async () => {
      expect((await probe.cmd({ cmd: 'config', matchIndex: true })).ok).to.equal(true);
      let ls = await statusOf(leader);
      const last = ls.lastLogIndex;
      await until(async () => (TsNode.matchIndexOf(await leader.status(), 'p1') === last ? true : undefined), 10_000, `matchIndex for p1 to reach ${last}`);
      const put = await leader.put('second', 'entry');
      expect(put.status, JSON.stringify(put.body)).to.equal(200);
      ls = await statusOf(leader);
      expect(ls.lastLogIndex).to.equal(last + 1);
      await until(async () => (TsNode.matchIndexOf(await leader.status(), 'p1') === last + 1 ? true : undefined), 10_000, `matchIndex for p1 to reach ${last + 1}`);
      expect((await probe.status()).log.length).to.equal(last + 1);
    });

    it('AppendEntries and RequestVote of an older term are refused with the current term, by follower and leader', async () => {
      const stale = term - 1;
      const fs = await statusOf(follower);
      for (const target of [follower, leader]) {
        const ae = await probe.request(
          {
            type: MessageType.AppendEntries,
            receiver: target.name,
            term: stale,
            data: { leaderId: 'p1', prevLogIndex: 0, prevLogTerm: 0, entries: [{ term: stale, value: 'stale' }], leaderCommit: 0 },
          },
          MessageType.Response,
          target.name,
        );
        expect(ae.term, JSON.stringify(ae)).to.equal(term);
        expect(ae.data).to.include({ response: false, currentTerm: term });
        const rv = await probe.request(
          { type: MessageType.RequestVote, receiver: target.name, term: stale, data: { lastLogIndex: 1000, lastLogTerm: stale } },
          MessageType.RequestVoteResponse,
          target.name,
        );
        expect(rv.term, JSON.stringify(rv)).to.equal(term);
        expect(rv.data).to.deep.equal({ response: false });
      }
      const [after, ls] = [await statusOf(follower), await statusOf(leader)];
      expect(after.lastLogIndex, 'the stale entry was not stored').to.equal(fs.lastLogIndex);
      expect([ls.role, ls.term, after.term, after.leader]).to.deep.equal(['leader', term, term, leader.name]);
    });

    it('RequestVote: a short log and an older last term are refused, an up-to-date log in a new term is granted', async () => {
      // The follower ignores RequestVotes while it hears from a leader (thesis
      // §4.2.3), so stop the leader and let the follower campaign; the probe
      // stops answering so that the follower cannot win.
      expect((await probe.cmd({ cmd: 'config', dispatch: false })).ok).to.equal(true);
      const probeLog = (await probe.status()).log as { term: number }[];
      await leader.kill();
      const fs = await until(async () => {
        const s = await follower.status();
        return s && s.role === 'candidate' ? s : undefined;
      }, 10_000, `${follower.name} to campaign`);
      expect(fs.lastLogIndex, 'the follower holds what the probe holds').to.equal(probeLog.length);
      const vote = (t: number, lastLogIndex: number, lastLogTerm: number | null) =>
        probe.request(
          { type: MessageType.RequestVote, receiver: follower.name, term: t, data: { lastLogIndex, lastLogTerm } },
          MessageType.RequestVoteResponse,
          follower.name,
          t,
        );
      const x = fs.term + 10;
      // An empty log (simpleRaft's lastLogTerm null): refused, in the new term.
      const empty = await vote(x, 0, null);
      expect([empty.term, empty.data.response], JSON.stringify(empty)).to.deep.equal([x, false]);
      // A longer log whose last term is older: refused (§5.4.1; simpleRaft's Voter compares only the index).
      const older = await vote(x + 10, 1000, 0);
      expect([older.term, older.data.response], JSON.stringify(older)).to.deep.equal([x + 10, false]);
      // As long, with a last term at least as new: granted, in a new term; asked again, granted again.
      const lastTerm = probeLog[probeLog.length - 1].term;
      const good = await vote(x + 20, fs.lastLogIndex, lastTerm);
      expect([good.term, good.data.response], JSON.stringify(good)).to.deep.equal([x + 20, true]);
      const again = await vote(x + 20, fs.lastLogIndex, lastTerm);
      expect([again.term, again.data.response], JSON.stringify(again)).to.deep.equal([x + 20, true]);
      // With that vote and its own, the probe leads term x + 20: its heartbeat is accepted.
      const hb = await probe.request(
        {
          type: MessageType.AppendEntries,
          receiver: follower.name,
          term: x + 20,
          data: { leaderId: 'p1', prevLogIndex: fs.lastLogIndex, prevLogTerm: lastTerm, entries: [], leaderCommit: 0 },
        },
        MessageType.Response,
        follower.name,
        x + 20,
      );
      expect(hb.data, JSON.stringify(hb)).to.deep.include({ response: true, currentTerm: x + 20, matchIndex: fs.lastLogIndex });
      const after = await statusOf(follower);
      expect([after.role, after.term, after.leader]).to.deep.equal(['follower', x + 20, 'p1']);
    });
  });
}
