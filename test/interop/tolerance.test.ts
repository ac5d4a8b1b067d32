// What Python simpleRaft nodes send, given to our core Server (and, for node
// names, to our transports): a TypeScript node accepts all of it and never
// crashes or corrupts its state on any of it (issue 6, item 4).
//
//   * RequestVote with lastLogTerm null (simpleRaft's empty log): the paper's 0;
//   * a Response without matchIndex: never moves matchIndex or the commit index;
//   * duplicate messages (simpleRaft's Follower answers some AppendEntries twice);
//   * integer node names, and the integer 2 for the node configured as "2";
//   * simpleRaft's stale-term rejection (its envelope term is the request's
//     term, its own term is only in data.currentTerm), and its 0-based
//     prevLogIndex with a real prevLogTerm.
//
// The core tests use test/paper/helpers (one Server on MemoryStorage, driven by
// hand). CheckQuorum is off there, as in the paper tests; the probe test
// (python-probe.test.ts) covers the same messages against real nodes with it on.

import { expect } from 'chai';
import * as dgram from 'node:dgram';
import * as zmq from 'zeromq';
import { encodeMessage } from '../../src/messages/codec';
import { Message, MessageType, NodeId } from '../../src/messages';
import { Server } from '../../src/server/server';
import { Leader } from '../../src/states/leader';
import { encodeEnvelope, UdpGossipTransport } from '../../src/transport/udp-gossip';
import { BROADCAST_TOPIC, topicFor, ZeroMqTransport } from '../../src/transport/zeromq';
import {
  appendEntries,
  appendResponse,
  appendsTo,
  drain,
  electLeader,
  logOf,
  Net,
  newServer,
  requestVote,
  responsesTo,
  voteResponse,
  votesTo,
} from '../paper/helpers';
import { Inbox } from '../net/fixtures';
import { freeTcpPorts, freeUdpPorts, LOOPBACK } from '../net/ports';
import { retryUntil, waitFor } from '../net/wait';

function progressOf(s: Server, peer: NodeId): { matchIndex: number; nextIndex: number } {
  expect(s.state).to.be.instanceOf(Leader);
  return (s.state as Leader).progressReport()[String(peer)];
}

/** A leader of term 1 for peers a, b (or `peers`), with one client command appended and sent. */
function leaderWithEntry(peers: NodeId[] = ['a', 'b']): Server {
  const s = newServer('me', peers, { seed: 3 });
  electLeader(s);
  expect(s.propose('cmd').kind).to.equal('appended');
  drain(s);
  return s;
}

describe('interop: TypeScript nodes tolerate what simpleRaft sends', () => {
  describe('RequestVote with lastLogTerm null (an empty simpleRaft log)', () => {
    it('is granted by a follower whose log is empty too (§5.4.1, null read as term 0)', () => {
      const s = newServer('me', ['a', 'b']);
      s.step(requestVote('a', 'me', 1, 0, null));
      const [v] = votesTo(drain(s), 'a');
      expect([v.term, v.data.response]).to.deep.equal([1, true]);
      expect(s.votedFor).to.equal('a');
    });

    it('is refused by a follower that has entries, however long the candidate claims its log is', () => {
      const s = newServer('me', ['a', 'b'], { log: [1, 1] });
      s.step(requestVote('a', 'me', 2, 0, null));
      s.step(requestVote('b', 'me', 3, 50, null));
      expect(votesTo(drain(s), 'a').map((v) => v.data.response)).to.deep.equal([false]);
      expect(s.votedFor).to.equal(null);
      expect(logOf(s)).to.have.length(2);
    });
  });

  describe('a Response without matchIndex (all simpleRaft sends)', () => {
    it('never moves matchIndex or the commit index, however often it comes', () => {
      const s = leaderWithEntry();
      const before = progressOf(s, 'a');
      for (let i = 0; i < 5; i++) {
        s.step(appendResponse('a', 'me', 1, true));
        drain(s);
      }
      expect(progressOf(s, 'a')).to.deep.equal(before);
      expect(before.matchIndex).to.equal(0);
      expect(s.log.committed, 'committed on a guess').to.equal(0);
      expect(s.state.role).to.equal('leader');
    });

    it('leaves the leader able to commit from a reply that has one', () => {
      const s = leaderWithEntry();
      s.step(appendResponse('a', 'me', 1, true));
      s.step(appendResponse('a', 'me', 1, true, { matchIndex: 2 }));
      drain(s);
      expect(progressOf(s, 'a').matchIndex).to.equal(2);
      expect(s.log.committed).to.equal(2);
    });

    it('a simpleRaft rejection (no hint) backs nextIndex up one entry, never below matchIndex + 1', () => {
      const s = leaderWithEntry();
      const next = progressOf(s, 'b').nextIndex;
      s.step(appendResponse('b', 'me', 1, false));
      const sent = appendsTo(drain(s), 'b');
      expect(progressOf(s, 'b').nextIndex).to.equal(Math.max(1, next - 1));
      expect(sent.at(-1)!.data.prevLogIndex).to.equal(progressOf(s, 'b').nextIndex - 1);
      for (let i = 0; i < 5; i++) {
        s.step(appendResponse('b', 'me', 1, false));
        drain(s);
      }
      expect(progressOf(s, 'b').nextIndex).to.equal(1);
      expect(logOf(s)).to.have.length(2);
    });
  });

  describe('duplicate messages', () => {
    it('a duplicate success with matchIndex changes nothing more', () => {
      const s = leaderWithEntry(['a', 'b', 'c', 'd']);
      s.step(appendResponse('a', 'me', 1, true, { matchIndex: 2 }));
      drain(s);
      const once = { p: progressOf(s, 'a'), c: s.log.committed };
      s.step(appendResponse('a', 'me', 1, true, { matchIndex: 2 }));
      drain(s);
      expect({ p: progressOf(s, 'a'), c: s.log.committed }).to.deep.equal(once);
      expect(once.c, 'one follower of four is no majority').to.equal(0);
    });

    it('a duplicate vote grant is counted once (5 members need 3 votes)', () => {
      const s = newServer('me', ['a', 'b', 'c', 'd'], { seed: 5 });
      for (let i = 0; i < 200 && s.state.role !== 'candidate'; i++) s.tick();
      drain(s);
      s.step(voteResponse('a', 'me', s.currentTerm, true));
      s.step(voteResponse('a', 'me', s.currentTerm, true));
      s.step(voteResponse('b', 'me', s.currentTerm, false));
      expect(s.state.role).to.equal('candidate');
      s.step(voteResponse('c', 'me', s.currentTerm, true));
      expect(s.state.role).to.equal('leader');
    });

    it('a duplicate RequestVote from the same candidate is granted again; another candidate is refused', () => {
      const s = newServer('me', ['a', 'b']);
      s.step(requestVote('a', 'me', 1, 0, null));
      s.step(requestVote('a', 'me', 1, 0, null));
      s.step(requestVote('b', 'me', 1, 0, null));
      const out = drain(s);
      expect(votesTo(out, 'a').map((v) => v.data.response)).to.deep.equal([true, true]);
      expect(votesTo(out, 'b').map((v) => v.data.response)).to.deep.equal([false]);
    });

    it('a duplicate AppendEntries leaves the log as it was and is answered alike', () => {
      const s = newServer('me', ['a', 'b']);
      const ae = appendEntries('a', 'me', 1, { prevLogIndex: 0, prevLogTerm: 0, entries: [1, 1], leaderCommit: 1 });
      s.step(ae);
      s.step(ae);
      const rs = responsesTo(drain(s), 'a');
      expect(rs.map((r) => r.data)).to.deep.equal([
        { response: true, currentTerm: 1, matchIndex: 2 },
        { response: true, currentTerm: 1, matchIndex: 2 },
      ]);
      expect(logOf(s)).to.have.length(2);
      expect(s.log.committed).to.equal(1);
    });
  });

  describe("simpleRaft's other habits", () => {
    it("its stale-term rejection (envelope term = the request's term): we adopt its currentTerm (§5.1), nothing lost", () => {
      // simpleRaft's State answers a message of an older term with
      // ResponseMessage(me, sender, msg.term, {response: false, currentTerm: its term}).
      const s = leaderWithEntry();
      const log = logOf(s);
      s.step({ ...appendResponse('a', 'me', 1, false), data: { response: false, currentTerm: 9 } });
      drain(s);
      expect(logOf(s)).to.deep.equal(log);
      expect(s.currentTerm).to.equal(9);
      expect(s.state.role).to.equal('follower');
      // A Response sent to a candidate (simpleRaft rejects a stale vote reply with one) is ignored.
      const c = newServer('me', ['a', 'b'], { seed: 9 });
      for (let i = 0; i < 200 && c.state.role !== 'candidate'; i++) c.tick();
      drain(c);
      c.step(appendResponse('a', 'me', c.currentTerm, false));
      expect(c.state.role).to.equal('candidate');
    });

    it('its heartbeat with a 0-based prevLogIndex and a real prevLogTerm is refused, not misapplied', () => {
      // A simpleRaft leader with one entry sends prevLogIndex 0 (= len(log) - 1) and prevLogTerm 3.
      const s = newServer('me', ['a', 'b']);
      s.step(appendEntries('a', 'me', 3, { prevLogIndex: 0, prevLogTerm: 3, entries: [] }));
      const [r] = responsesTo(drain(s), 'a');
      expect(r.data.response).to.equal(false);
      expect(s.leaderId).to.equal('a');
      expect(logOf(s)).to.deep.equal([]);
    });

    it('its heartbeat from an empty log (prevLogTerm null, sent as 0) is accepted', () => {
      const s = newServer('me', ['a', 'b']);
      s.step(appendEntries('a', 'me', 1, { prevLogIndex: 0, prevLogTerm: 0, entries: [] }));
      expect(responsesTo(drain(s), 'a')[0].data).to.deep.equal({ response: true, currentTerm: 1, matchIndex: 0 });
    });
  });

  describe('integer node names', () => {
    it('a cluster named 1, 2, 3 (as simpleRaft names its test servers) elects and replicates', () => {
      const names: NodeId[] = [1, 2, 3];
      const net = new Net(names.map((n) => newServer(n, names.filter((m) => m !== n), { seed: 10 + Number(n) })));
      for (let i = 0; i < 100 && ![...net.servers.values()].some((s) => s.state.role === 'leader'); i++) {
        for (const n of names) net.tick(n);
        net.run();
      }
      const leader = [...net.servers.values()].find((s) => s.state.role === 'leader')!;
      expect(leader.propose({ v: 1 }).kind).to.equal('appended');
      net.flush(leader.name);
      net.run();
      for (let i = 0; i < 5; i++) {
        net.tick(leader.name, 3);
        net.run();
      }
      for (const s of net.servers.values()) expect(s.log.committed, `node ${s.name}`).to.equal(2);
    });

    // The transports treat 2 and "2" as one node (docs/wire-format.md §11);
    // the core compares names with ===, so the transports hand messages on with
    // the names spelled as configured.
    const pythonVote = (sender: NodeId, receiver: NodeId): Message => ({
      type: MessageType.RequestVoteResponse,
      sender,
      receiver,
      term: 1,
      timestamp: 0,
      data: { response: true },
    });

    it('over UDP gossip, a message from 2 to 1 reaches the node configured as "1" as one from "2"', async () => {
      const [port, peerPort] = await freeUdpPorts(2);
      const t = new UdpGossipTransport({ name: '1', port, peers: [{ name: '2', host: LOOPBACK, port: peerPort }] });
      const inbox = new Inbox();
      await t.start(inbox.handler);
      // The peer's configured address: datagrams from anywhere else are refused.
      const raw = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => raw.bind(peerPort, LOOPBACK, () => resolve()));
      try {
        const env = encodeEnvelope({ v: 1, id: 'py-1', origin: 2, ttl: 0, msg: pythonVote(2, 1) });
        await new Promise<void>((resolve, reject) => raw.send(env, port, LOOPBACK, (e) => (e ? reject(e) : resolve())));
        await waitFor(() => inbox.messages.length === 1, 5000, 'the vote');
        expect([inbox.messages[0].sender, inbox.messages[0].receiver]).to.deep.equal(['2', '1']);
      } finally {
        raw.close();
        await t.close();
      }
    });

    it('over ZeroMQ, likewise', async function () {
      this.timeout(20_000);
      const [port, peerPort] = await freeTcpPorts(2);
      const t = new ZeroMqTransport({ name: '1', port, peers: [{ name: '2', host: LOOPBACK, port: peerPort }] });
      const pub = new zmq.Publisher({ linger: 0 });
      await pub.bind(`tcp://${LOOPBACK}:${peerPort}`);
      const inbox = new Inbox();
      await t.start(inbox.handler);
      try {
        const body = Buffer.from(encodeMessage(pythonVote(2, 1)));
        const broadcast = Buffer.from(encodeMessage({ ...pythonVote(2, 1), receiver: null }));
        await retryUntil(
          () => {
            void pub.send([topicFor(1), body]).catch(() => {});
          },
          () => inbox.messages.length > 0,
          10_000,
          'the vote over ZeroMQ',
          50,
        );
        expect([inbox.messages[0].sender, inbox.messages[0].receiver]).to.deep.equal(['2', '1']);
        const n = inbox.messages.length;
        await retryUntil(() => void pub.send([BROADCAST_TOPIC, broadcast]).catch(() => {}), () => inbox.messages.length > n, 5000, 'the broadcast', 50);
        expect([inbox.messages[n].sender, inbox.messages[n].receiver]).to.deep.equal(['2', null]);
      } finally {
        pub.close();
        await t.close();
      }
    });
  });
});

