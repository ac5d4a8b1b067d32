// ZeroMqTransport on 127.0.0.1: real sockets, free ports, bounded waits.
//
// A PUB socket drops what it sends before a subscriber's subscription has
// arrived (ZeroMQ's "slow joiner"), so a first message is retried until it is
// delivered (retryUntil), as Raft itself retries; after that, delivery on one
// connection is in order.

import { expect } from 'chai';
import * as zmq from 'zeromq';
import { MAX_RAFT_NUMBER } from '../../src/messages/bounds';
import { MessageType, NodeId } from '../../src/messages';
import { encodeMessage } from '../../src/messages/codec';
import { PeerAddress } from '../../src/transport/transport';
import { encodedEntryBytes } from '../../src/transport/split';
import { BROADCAST_TOPIC, topicFor, ZeroMqTransport, ZeroMqTransportOptions } from '../../src/transport/zeromq';
import { appendEntries, Inbox, requestVote } from './fixtures';
import { freeTcpPorts, LOOPBACK } from './ports';
import { retryUntil, waitFor } from './wait';

const WAIT_MS = 5000;

describe('ZeroMqTransport (127.0.0.1)', function () {
  this.timeout(20000);

  let open: { close(): unknown }[] = [];

  afterEach(async () => {
    await Promise.all(open.map((t) => t.close()));
    open = [];
  });

  /** Transports for `names` on fresh ports, each with all the others as peers (not started). */
  async function cluster(names: NodeId[], extra: Partial<ZeroMqTransportOptions> = {}) {
    const ports = await freeTcpPorts(names.length);
    const addrs: PeerAddress[] = names.map((name, i) => ({ name, host: LOOPBACK, port: ports[i] }));
    const make = (i: number) => {
      const t = new ZeroMqTransport({ name: names[i], port: ports[i], peers: addrs.filter((_, j) => j !== i), ...extra });
      open.push(t);
      return t;
    };
    return { addrs, make, ports };
  }

  async function startAll(names: NodeId[], extra: Partial<ZeroMqTransportOptions> = {}) {
    const c = await cluster(names, extra);
    const ts = names.map((_, i) => c.make(i));
    const inboxes = names.map(() => new Inbox());
    await Promise.all(ts.map((t, i) => t.start(inboxes[i].handler)));
    return { ...c, ts, inboxes };
  }

  it('delivers addressed messages both ways between two nodes', async () => {
    const { ts: [a, b], inboxes: [ia, ib] } = await startAll(['a', 'b']);
    await retryUntil(() => a.send(requestVote('a', 'b', 1)), () => ib.has(1), WAIT_MS, 'a -> b');
    await retryUntil(() => b.send(requestVote('b', 'a', 2)), () => ia.has(2), WAIT_MS, 'b -> a');
    const got = ib.messages.find((m) => m.term === 1)!;
    expect(got.sender).to.equal('a');
    expect(got.receiver).to.equal('b');
    expect(got.type).to.equal(MessageType.RequestVote);
    expect(got.timestamp).to.be.greaterThan(1.6e9); // stamped on send, in seconds
    // Once connected, a burst arrives whole and in order.
    for (let t = 10; t < 60; t++) a.send(requestVote('a', 'b', t));
    await waitFor(() => ib.messages.filter((m) => m.term >= 10).length === 50, WAIT_MS, 'burst');
    expect(ib.terms().filter((t) => t >= 10)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 10));
    expect(a.counters().sent).to.be.greaterThan(50);
  });

  it('delivers a broadcast to every peer, and an addressed message only to its receiver (n1 vs n10)', async () => {
    // "to:n1" is a prefix of "to:n10": the NUL that ends a topic keeps a
    // message for n10 away from n1's subscription.
    const { ts: [n1, n10, n2], inboxes: [i1, i10, i2] } = await startAll(['n1', 'n10', 'n2']);
    // Wait until every subscription has reached n2's PUB.
    await retryUntil(() => n2.send(requestVote('n2', null, 1)), () => i1.has(1) && i10.has(1), WAIT_MS, 'broadcast from n2');
    await retryUntil(() => n2.send(requestVote('n2', 'n1', 2)), () => i1.has(2), WAIT_MS, 'n2 -> n1');
    await retryUntil(() => n2.send(requestVote('n2', 'n10', 3)), () => i10.has(3), WAIT_MS, 'n2 -> n10');
    // Addressed ones, then a broadcast: on one connection delivery is in
    // order, so whoever has the broadcast would have had the others before it.
    n2.send(requestVote('n2', 'n1', 4));
    n2.send(requestVote('n2', 'n10', 5));
    n2.send(requestVote('n2', null, 6));
    await waitFor(() => i1.has(6) && i10.has(6), WAIT_MS, 'second broadcast');
    expect(i1.has(4) && i10.has(5)).to.equal(true);
    expect(i1.messages.every((m) => m.receiver === null || m.receiver === 'n1')).to.equal(true);
    expect(i10.messages.every((m) => m.receiver === null || m.receiver === 'n10')).to.equal(true);
    // Filtered by the publisher, not thrown away on arrival.
    for (const t of [n1, n10]) {
      expect(t.counters().misaddressed).to.equal(0);
      expect(t.counters().badFrames).to.equal(0);
    }
    // A sender does not hear its own broadcast.
    expect(i2.messages).to.have.length(0);
  });

  it('reaches a peer that starts late, without intervention', async () => {
    const c = await cluster(['a', 'b']);
    const a = c.make(0);
    const ia = new Inbox();
    await a.start(ia.handler);
    // b is not up: sends are dropped by the PUB socket, and nothing blocks.
    for (let t = 0; t < 100; t++) a.send(requestVote('a', 'b', 1000 + t));
    await waitFor(() => a.counters().sent === 100, WAIT_MS, 'sends drained while b is down');
    const b = c.make(1);
    const ib = new Inbox();
    await b.start(ib.handler);
    await retryUntil(() => a.send(requestVote('a', 'b', 1)), () => ib.has(1), WAIT_MS, 'a -> late b');
    await retryUntil(() => b.send(requestVote('b', 'a', 2)), () => ia.has(2), WAIT_MS, 'late b -> a');
  });

  it('reaches a peer again after it restarts on the same port (three times)', async () => {
    const c = await cluster(['a', 'b']);
    const a = c.make(0);
    const ia = new Inbox();
    await a.start(ia.handler);
    let term = 1;
    let previous: { b: ZeroMqTransport; inbox: Inbox } | null = null;
    for (let round = 0; round < 3; round++) {
      if (previous) {
        await previous.b.close();
        previous.b.send(requestVote('b', 'a', 999)); // after close: dropped and counted
        expect(previous.b.counters().droppedClosed).to.equal(1);
      }
      const b = c.make(1);
      const inbox = new Inbox();
      await b.start(inbox.handler);
      const there = term++;
      await retryUntil(() => a.send(requestVote('a', 'b', there)), () => inbox.has(there), WAIT_MS, `a -> b, round ${round}`);
      const back = term++;
      await retryUntil(() => b.send(requestVote('b', 'a', back)), () => ia.has(back), WAIT_MS, `b -> a, round ${round}`);
      if (previous) expect(previous.inbox.has(there)).to.equal(false);
      previous = { b, inbox };
    }
  });

  it('drops and counts malformed frames, and keeps working', async () => {
    const ports = await freeTcpPorts(2);
    // "evil" is a peer of a that speaks raw ZeroMQ.
    const evil = new zmq.Publisher({ linger: 0 });
    open.push(evil);
    await evil.bind(`tcp://${LOOPBACK}:${ports[1]}`);
    const a = new ZeroMqTransport({ name: 'a', port: ports[0], peers: [{ name: 'evil', host: LOOPBACK, port: ports[1] }] });
    open.push(a);
    const ia = new Inbox();
    await a.start(ia.handler);
    const valid = (term: number) => encodeMessage(requestVote('evil', 'a', term));
    await retryUntil(() => void evil.send([topicFor('a'), valid(1)]), () => ia.has(1), WAIT_MS, 'evil connected');

    const bad: (string | Buffer)[][] = [
      [topicFor('a'), 'not json'],
      [topicFor('a'), '{"type":99,"sender":"evil","receiver":"a","term":1,"timestamp":0,"data":{}}'],
      [topicFor('a'), '{"type":1,"sender":"evil","receiver":"a","term":-1,"timestamp":0,"data":{"lastLogIndex":0,"lastLogTerm":null}}'],
      [topicFor('a'), Buffer.from([0xff, 0xfe, 0x00])],
      [topicFor('a'), '{"__proto__":{"x":1}}'],
      [BROADCAST_TOPIC, '[]'],
    ];
    for (const frames of bad) await evil.send(frames);
    await evil.send([topicFor('a'), valid(2), 'a third frame']); // bad frame count
    await evil.send(Buffer.concat([topicFor('a'), Buffer.from(valid(3))])); // one frame
    await evil.send([BROADCAST_TOPIC, valid(4).replace('"receiver":"a"', '"receiver":"b"')]); // not for a
    await evil.send([topicFor('a'), valid(5)]);
    await waitFor(() => ia.has(5), WAIT_MS, 'valid message after the bad ones');

    const c = a.counters();
    expect(c.malformed).to.equal(bad.length);
    expect(c.malformedByCode['bad-json']).to.equal(2);
    expect(c.malformedByCode['unknown-type']).to.equal(1);
    expect(c.badFrames).to.equal(2);
    expect(c.misaddressed).to.equal(1);
    expect(ia.terms()).to.deep.equal([...ia.terms().filter((t) => t === 1), 5]);
  });

  it('hears a peer again after it sent a frame over the size limit (libzmq drops that link for good)', async () => {
    const ports = await freeTcpPorts(2);
    const evil = new zmq.Publisher({ linger: 0 });
    open.push(evil);
    await evil.bind(`tcp://${LOOPBACK}:${ports[1]}`);
    const maxMessageBytes = 4096;
    const a = new ZeroMqTransport({ name: 'a', port: ports[0], maxMessageBytes, peers: [{ name: 'evil', host: LOOPBACK, port: ports[1] }] });
    open.push(a);
    const ia = new Inbox();
    await a.start(ia.handler);
    const valid = (term: number) => encodeMessage(requestVote('evil', 'a', term));
    await retryUntil(() => void evil.send([topicFor('a'), valid(1)]), () => ia.has(1), WAIT_MS, 'evil connected');
    // Just over the SUB socket's maxMessageSize (maxMessageBytes + 1 KiB).
    await evil.send([topicFor('a'), Buffer.alloc(maxMessageBytes + 1024 + 1, 'x')]);
    await retryUntil(() => void evil.send([topicFor('a'), valid(2)]), () => ia.has(2), WAIT_MS, 'a message after the oversized frame');
    expect(a.counters().reconnects).to.be.at.least(1);
    expect(ia.terms().filter((t) => t !== 1 && t !== 2)).to.deep.equal([]);
  });

  it('takes from a peer\'s socket only messages that name that peer as sender; an outsider cannot inject at all', async () => {
    // Issue 18: forged messages naming a member. "b" is a member whose port a raw PUB holds.
    const ports = await freeTcpPorts(3);
    const squatter = new zmq.Publisher({ linger: 0 });
    open.push(squatter);
    await squatter.bind(`tcp://${LOOPBACK}:${ports[1]}`);
    const a = new ZeroMqTransport({
      name: 'a', port: ports[0],
      peers: [{ name: 'b', host: LOOPBACK, port: ports[1] }, { name: 'c', host: LOOPBACK, port: ports[2] }],
    });
    open.push(a);
    const ia = new Inbox();
    await a.start(ia.handler);
    await retryUntil(() => void squatter.send([topicFor('a'), encodeMessage(requestVote('b', 'a', 1))]), () => ia.has(1), WAIT_MS, 'connected');
    await squatter.send([topicFor('a'), encodeMessage(requestVote('c', 'a', 2))]); // c's name on b's socket
    await squatter.send([BROADCAST_TOPIC, encodeMessage(requestVote('zz', null, 3))]); // not a member at all
    await squatter.send([topicFor('a'), encodeMessage(requestVote('b', 'a', 4))]);
    await waitFor(() => ia.has(4), WAIT_MS, 'the message naming b');
    expect(a.counters().notMember).to.equal(2);
    expect(ia.terms().filter((t) => t !== 1)).to.deep.equal([4]);

    // An outsider that connects to a's PUB port and sends: a PUB socket reads
    // only subscriptions, so nothing reaches the node, whatever the socket type.
    const before = a.counters().received;
    const outsiders = [new zmq.Publisher({ linger: 0 }), new zmq.Dealer({ linger: 0 }), new zmq.Subscriber({ linger: 0 })];
    for (const o of outsiders) {
      open.push(o);
      o.connect(`tcp://${LOOPBACK}:${ports[0]}`);
    }
    const forged = encodeMessage(requestVote('b', 'a', 99));
    const xsub = new zmq.XSubscriber({ linger: 0 });
    open.push(xsub);
    xsub.connect(`tcp://${LOOPBACK}:${ports[0]}`);
    for (let i = 0; i < 20; i++) {
      await (outsiders[0] as zmq.Publisher).send([topicFor('a'), forged]);
      await xsub.send([topicFor('a'), forged]);
      await xsub.send(Buffer.concat([Buffer.from([1]), topicFor('a')])); // a subscription: the only thing a PUB reads
    }
    // The genuine peer still gets through after them, so they had their chance to arrive first.
    await squatter.send([topicFor('a'), encodeMessage(requestVote('b', 'a', 5))]);
    await waitFor(() => ia.has(5), WAIT_MS, 'a genuine message after the outsiders');
    expect(ia.has(99)).to.equal(false);
    expect(a.counters().received - before).to.equal(1);
  });

  it('splits an AppendEntries too large for one frame into consecutive pieces', async () => {
    const { ts: [a], inboxes: [, ib] } = await startAll(['a', 'b'], { maxMessageBytes: 1024 });
    await retryUntil(() => a.send(requestVote('a', 'b', 1)), () => ib.has(1), WAIT_MS, 'connected');
    const entries = Array.from({ length: 30 }, (_, i) => ({ term: 2 + i, value: `v${i}-${'x'.repeat(80)}` }));
    a.send(appendEntries('a', 'b', 7, 1, entries));
    await waitFor(
      () => ib.messages.flatMap((m) => (m.type === MessageType.AppendEntries ? m.data.entries : [])).length === 30,
      WAIT_MS,
      'all entries',
    );
    const pieces = ib.messages.filter((m) => m.type === MessageType.AppendEntries);
    expect(pieces.length).to.be.greaterThan(1);
    expect(a.counters().split).to.equal(1);
    let next = 7;
    for (const p of pieces) {
      if (p.type !== MessageType.AppendEntries) continue;
      expect(p.data.prevLogIndex).to.equal(next);
      expect(p.data.prevLogTerm).to.equal(next === 7 ? 1 : entries[next - 8].term);
      expect(Buffer.byteLength(encodeMessage(p))).to.be.at.most(1024);
      next += p.data.entries.length;
    }
    expect(pieces.flatMap((p) => (p.type === MessageType.AppendEntries ? p.data.entries : []))).to.deep.equal(entries);
    // An entry of exactly maxEntryBytes fits, even with the largest numbers...
    const max = a.maxEntryBytes();
    const big = MAX_RAFT_NUMBER; // as many digits as 2^53 - 1
    const fits = { term: big, value: '' };
    fits.value = 'y'.repeat(max - encodedEntryBytes(fits));
    expect(encodedEntryBytes(fits)).to.equal(max);
    const ae = appendEntries('a', 'b', big - 1, big, [fits], big);
    ae.data.leaderCommit = big;
    a.send(ae);
    await waitFor(() => ib.messages.some((m) => m.term === big), WAIT_MS, 'largest entry');
    // ...one that does not fit in a frame even alone is dropped and counted.
    a.send(appendEntries('a', 'b', 37, 4, [{ term: 4, value: 'y'.repeat(1024) }]));
    expect(a.counters().oversized).to.equal(1);
  });

  it('refuses to start on a port already bound, with a clear error', async () => {
    const { ports, addrs } = await cluster(['a', 'b']);
    const first = new ZeroMqTransport({ name: 'a', port: ports[0], peers: [addrs[1]] });
    open.push(first);
    await first.start(() => {});
    const second = new ZeroMqTransport({ name: 'a', port: ports[0], peers: [addrs[1]] });
    open.push(second);
    let err: Error | null = null;
    await second.start(() => {}).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/cannot bind tcp:\/\/127\.0\.0\.1:\d+/);
    expect(() => new ZeroMqTransport({ name: 'a', port: 1, peers: [{ name: 'a', host: LOOPBACK, port: 2 }] })).to.throw(/duplicate/);
  });
});
