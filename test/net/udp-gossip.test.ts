// UdpGossipTransport on 127.0.0.1: real sockets, free ports, seeded randomness,
// bounded waits on conditions.
//
// Loss is injected at the sender (dropRate), so every datagram that does go on
// the wire is counted: "all datagrams sent have been received" is a condition
// a test can wait for instead of sleeping.

import { expect } from 'chai';
import * as dgram from 'node:dgram';
import { MAX_RAFT_NUMBER } from '../../src/messages/bounds';
import { MessageType, NodeId } from '../../src/messages';
import { SeededRng } from '../../src/time/rng';
import { encodedEntryBytes } from '../../src/transport/split';
import { PeerAddress } from '../../src/transport/transport';
import { decodeEnvelope, encodeEnvelope, UdpGossipOptions, UdpGossipTransport } from '../../src/transport/udp-gossip';
import { appendEntries, Inbox, requestVote } from './fixtures';
import { freeUdpPorts, LOOPBACK } from './ports';
import { waitFor } from './wait';

const WAIT_MS = 5000;

describe('UdpGossipTransport (127.0.0.1)', function () {
  this.timeout(20000);

  let open: { close(): unknown }[] = [];

  afterEach(async () => {
    await Promise.all(open.map((t) => t.close()));
    open = [];
  });

  async function startAll(names: NodeId[], extra: (name: NodeId) => Partial<UdpGossipOptions> = () => ({})) {
    const ports = await freeUdpPorts(names.length);
    const addrs: PeerAddress[] = names.map((name, i) => ({ name, host: LOOPBACK, port: ports[i] }));
    const ts = names.map((name, i) => {
      const rng = new SeededRng(100 + i);
      const t = new UdpGossipTransport({
        name,
        port: ports[i],
        peers: addrs.filter((_, j) => j !== i),
        random: () => rng.next(),
        ...extra(name),
      });
      open.push(t);
      return t;
    });
    const inboxes = names.map(() => new Inbox());
    await Promise.all(ts.map((t, i) => t.start(inboxes[i].handler)));
    return { ts, inboxes, addrs, ports };
  }

  /** Every datagram that went on the wire has arrived (loss is only injected). */
  function settled(ts: UdpGossipTransport[]): () => boolean {
    return () => {
      const cs = ts.map((t) => t.counters());
      return cs.reduce((n, c) => n + c.sentDatagrams, 0) === cs.reduce((n, c) => n + c.receivedDatagrams, 0);
    };
  }

  function rawSocket(): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    open.push({ close: () => new Promise<void>((resolve) => s.close(() => resolve())) });
    return new Promise((resolve) => s.bind(0, LOOPBACK, () => resolve(s)));
  }

  it('delivers addressed and broadcast messages, once each', async () => {
    const { ts, inboxes: [ia, ib, ic] } = await startAll(['a', 'b', 'c']);
    const [a, b] = ts;
    a.send(requestVote('a', 'b', 1));
    b.send(requestVote('b', 'a', 2));
    a.send(requestVote('a', null, 3));
    await waitFor(() => ib.has(1) && ia.has(2) && ib.has(3) && ic.has(3), WAIT_MS, 'delivery');
    await waitFor(settled(ts), WAIT_MS, 'all datagrams');
    expect(ib.terms().sort()).to.deep.equal([1, 3]);
    expect(ia.terms()).to.deep.equal([2]);
    expect(ic.terms()).to.deep.equal([3]); // c relayed a -> b but did not deliver it
    expect(ia.messages[0].timestamp).to.be.greaterThan(1.6e9);
    // fanout 2 of 2 peers: b got a -> b directly and through c; one was suppressed.
    expect(b.counters().duplicates).to.be.greaterThan(0);
    expect(ts[2].counters().relayed).to.be.greaterThan(0);
  });

  it('reaches the receiver through a relay when the direct link drops everything', async () => {
    const { ts, inboxes: [, ib] } = await startAll(['a', 'b', 'c'], (name) =>
      name === 'a' ? { dropRate: (to: NodeId) => (to === 'b' ? 1 : 0) } : {},
    );
    const [a, , c] = ts;
    for (let t = 1; t <= 20; t++) a.send(requestVote('a', 'b', t));
    await waitFor(() => ib.messages.length === 20, WAIT_MS, 'all 20 through c');
    expect(ib.terms()).to.have.members(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(a.counters().injectedLoss).to.equal(20);
    expect(c.counters().relayed).to.equal(20);
    expect(c.counters().delivered).to.equal(0);
  });

  it('relays no further than maxHops', async () => {
    // a -> b is cut, and the only relay, c, is given no hops to spend.
    const { ts, inboxes: [, ib] } = await startAll(['a', 'b', 'c'], (name) =>
      name === 'a' ? { maxHops: 0, dropRate: (to: NodeId) => (to === 'b' ? 1 : 0) } : {},
    );
    ts[0].send(requestVote('a', 'b', 1));
    await waitFor(() => ts[2].counters().receivedDatagrams === 1, WAIT_MS, 'c got it');
    await waitFor(settled(ts), WAIT_MS, 'all datagrams');
    expect(ts[2].counters().relayed).to.equal(0);
    expect(ib.messages).to.have.length(0);
  });

  /**
   * Node 'a' alone, whose peer 'b' is a raw socket the test writes datagrams
   * from: they come from a member's address, as a real b's would.
   */
  async function startWithRawPeer(extra: Partial<UdpGossipOptions> = {}) {
    const raw = await rawSocket();
    const [port] = await freeUdpPorts(1);
    const a = new UdpGossipTransport({ name: 'a', port, peers: [{ name: 'b', host: LOOPBACK, port: raw.address().port }], ...extra });
    open.push(a);
    const ia = new Inbox();
    await a.start(ia.handler);
    const send = (bytes: Buffer | string) => new Promise<void>((resolve) => raw.send(bytes, port, LOOPBACK, () => resolve()));
    return { a, ia, raw, send };
  }

  it('suppresses a replayed datagram, and remembers a bounded number of ids', async () => {
    const { a, ia, send } = await startWithRawPeer({ dedupCapacity: 16 });
    const datagram = encodeEnvelope({ v: 1, id: 'replay-1', origin: 'b', ttl: 0, msg: requestVote('b', 'a', 7) });
    await send(datagram);
    await send(datagram);
    await send(datagram);
    await waitFor(() => a.counters().receivedDatagrams === 3, WAIT_MS, 'three copies');
    expect(ia.terms()).to.deep.equal([7]);
    expect(a.counters().duplicates).to.equal(2);
    for (let i = 0; i < 100; i++) {
      await send(encodeEnvelope({ v: 1, id: `id-${i}`, origin: 'b', ttl: 0, msg: requestVote('b', 'a', 100 + i) }));
    }
    await waitFor(() => ia.messages.length === 101, WAIT_MS, '100 more');
    expect(a.rememberedIds()).to.equal(16);
    // Forgotten ids are accepted again: that is the price of bounded memory,
    // and why ids carry a per-process nonce and a sequence number.
    await send(datagram);
    await waitFor(() => ia.messages.length === 102, WAIT_MS, 'forgotten id accepted');
  });

  it('drops and counts malformed datagrams, and keeps working', async () => {
    const { a, ia, send } = await startWithRawPeer();
    const msg = requestVote('b', 'a', 1);
    const bad = [
      'not json',
      '[]',
      JSON.stringify({ v: 2, id: 'x', origin: 'b', ttl: 0, msg }),
      JSON.stringify({ v: 1, id: 'x', origin: 'b', ttl: 99, msg }),
      JSON.stringify({ v: 1, id: '', origin: 'b', ttl: 0, msg }),
      JSON.stringify({ v: 1, id: 'x', origin: 'b', ttl: 0, msg: { ...msg, type: 42 } }),
      JSON.stringify({ v: 1, id: 'x', origin: 'b', ttl: 0, msg, extra: 1 }),
      Buffer.from([0xc3, 0x28]),
    ];
    for (const b of bad) await send(b);
    await send(encodeEnvelope({ v: 1, id: 'ok', origin: 'b', ttl: 0, msg }));
    await waitFor(() => ia.has(1), WAIT_MS, 'the valid one');
    expect(a.counters().malformed).to.equal(bad.length);
    expect(a.counters().malformedByCode['unknown-type']).to.equal(1);
    expect(() => decodeEnvelope(Buffer.from(bad[5] as string))).to.throw(/\$\.msg\.type/);
  });

  it('drops and counts datagrams from an address that is not a member, and messages not from their member origin', async () => {
    // Issue 18: a process outside the cluster sent well-formed messages naming a member.
    const { ts: [a], inboxes: [ia], ports } = await startAll(['a', 'b', 'c']);
    const outsider = await rawSocket();
    const sendFrom = (s: dgram.Socket, bytes: Buffer) => new Promise<void>((resolve) => s.send(bytes, ports[0], LOOPBACK, () => resolve()));
    await sendFrom(outsider, encodeEnvelope({ v: 1, id: 'forged-1', origin: 'b', ttl: 0, msg: requestVote('b', 'a', 50) }));
    await sendFrom(outsider, encodeEnvelope({ v: 1, id: 'forged-2', origin: 'b', ttl: 0, msg: appendEntries('b', 'a', 0, 0, [{ term: 51, value: 'pwned' }], 51) }));
    await waitFor(() => a.counters().receivedDatagrams === 2, WAIT_MS, 'both forged datagrams');
    expect(a.counters().notMember).to.equal(2);
    expect(a.counters().delivered).to.equal(0);
    // From a member's address (a raw peer), but naming a non-member origin, or a sender other than the origin.
    const { a: a2, ia: ia2, send } = await startWithRawPeer();
    await send(encodeEnvelope({ v: 1, id: 'x-1', origin: 'zz', ttl: 0, msg: requestVote('zz', 'a', 60) }));
    await send(encodeEnvelope({ v: 1, id: 'x-2', origin: 'b', ttl: 0, msg: requestVote('c', 'a', 61) }));
    await send(encodeEnvelope({ v: 1, id: 'x-3', origin: 'a', ttl: 0, msg: requestVote('a', 'a', 62) }));
    await send(encodeEnvelope({ v: 1, id: 'ok', origin: 'b', ttl: 0, msg: requestVote('b', 'a', 63) }));
    await waitFor(() => ia2.has(63), WAIT_MS, 'the genuine one');
    expect(a2.counters().notMember).to.equal(3);
    expect(ia2.terms()).to.deep.equal([63]);
    expect(ia.messages).to.have.length(0);
    // A forged id does not enter the duplicate memory, so it cannot shadow a genuine message.
    await send(encodeEnvelope({ v: 1, id: 'x-1', origin: 'b', ttl: 0, msg: requestVote('b', 'a', 64) }));
    await waitFor(() => ia2.has(64), WAIT_MS, 'the id a forged datagram used');
  });

  it('splits a large AppendEntries into consecutive pieces that each fit a datagram', async () => {
    const limit = 2048;
    const { ts: [a], inboxes: [, ib] } = await startAll(['a', 'b'], () => ({ maxDatagramBytes: limit }));
    // Each entry has its own term, so a wrong prevLogTerm at any split point shows.
    const entries = Array.from({ length: 60 }, (_, i) => ({ term: 2 + i, value: { k: `key${i}`, v: 'z'.repeat(150) } }));
    a.send(appendEntries('a', 'b', 40, 1, entries));
    const got = () => ib.messages.flatMap((m) => (m.type === MessageType.AppendEntries ? [m] : []));
    await waitFor(() => got().reduce((n, m) => n + m.data.entries.length, 0) === 60, WAIT_MS, 'all entries');
    const pieces = got().sort((x, y) => x.data.prevLogIndex - y.data.prevLogIndex);
    expect(pieces.length).to.be.greaterThan(5);
    expect(a.counters().split).to.equal(1);
    expect(a.counters().maxDatagramSent).to.be.at.most(limit);
    let next = 40;
    for (const p of pieces) {
      expect(p.data.prevLogIndex).to.equal(next);
      // The split point's term is the term of the entry just before it.
      expect(p.data.prevLogTerm).to.equal(next === 40 ? 1 : entries[next - 41].term);
      expect(p.data.leaderCommit).to.equal(40);
      next += p.data.entries.length;
    }
    expect(pieces.flatMap((p) => p.data.entries)).to.deep.equal(entries);
  });

  it('sends an entry of exactly maxEntryBytes in the worst case; drops and counts one too big for any datagram', async () => {
    const limit = 4096;
    const { ts: [a], inboxes: [, ib] } = await startAll(['a', 'bee'], () => ({ maxDatagramBytes: limit }));
    const max = a.maxEntryBytes();
    expect(max).to.be.within(limit - 400, limit - 100);
    const big = MAX_RAFT_NUMBER; // as many digits as 2^53 - 1
    const entryOf = (bytes: number) => {
      const e = { term: big, value: '' };
      e.value = 'q'.repeat(bytes - encodedEntryBytes(e));
      expect(encodedEntryBytes(e)).to.equal(bytes);
      return e;
    };
    // The worst case: every number as long as it can be.
    const fits = appendEntries('a', 'bee', big - 1, big, [entryOf(max)], big);
    fits.data.leaderCommit = big;
    a.send(fits);
    await waitFor(() => ib.has(big), WAIT_MS, 'largest entry');
    expect(a.counters().maxDatagramSent).to.be.at.most(limit);
    // The same value forwarded as a ClientCommand fits too.
    a.send({ type: MessageType.ClientCommand, sender: 'a', receiver: 'bee', term: big - 5, timestamp: 0, data: { value: entryOf(max).value } });
    await waitFor(() => ib.has(big - 5), WAIT_MS, 'client command');
    // One byte more cannot go in any datagram: the entries before it are
    // sent, it and the rest are dropped and counted.
    const small = { term: 3, value: 's' };
    a.send(appendEntries('a', 'bee', 10, 3, [small, entryOf(limit), small], 9));
    await waitFor(() => ib.has(9), WAIT_MS, 'the piece before the oversized entry');
    const piece = ib.messages.find((m) => m.term === 9)!;
    expect(piece.type === MessageType.AppendEntries && piece.data.entries).to.deep.equal([small]);
    expect(a.counters().oversized).to.equal(1);
  });

  it('delivers most messages under 20% datagram loss (seeded)', async () => {
    // Every datagram from every node is dropped with probability 0.2. An
    // addressed message a -> b goes directly and through c, so it arrives with
    // probability 1 - 0.2 * (1 - 0.8 * 0.8) = 0.928; a broadcast from a reaches
    // c directly or through b with the same probability.
    const seeds: Record<string, number> = { a: 11, b: 22, c: 33 };
    const { ts, inboxes: [, ib, ic] } = await startAll(['a', 'b', 'c'], (name) => {
      const rng = new SeededRng(seeds[String(name)]);
      return { dropRate: 0.2, dropRandom: () => rng.next() };
    });
    const n = 300;
    // In batches, so loopback socket buffers never overflow: loss is ours only.
    for (let start = 0; start < n; start += 25) {
      for (let t = start; t < start + 25; t++) ts[0].send(requestVote('a', t % 2 === 0 ? 'b' : null, t));
      await waitFor(settled(ts), WAIT_MS, `batch ${start}`);
    }
    const addressed = n / 2;
    const toB = ib.messages.filter((m) => m.receiver === 'b').length;
    const toC = ic.messages.length;
    const attempts = ts.reduce((k, t) => k + t.counters().sentDatagrams + t.counters().injectedLoss, 0);
    const lost = ts.reduce((k, t) => k + t.counters().injectedLoss, 0);
    expect(lost / attempts).to.be.within(0.15, 0.25);
    expect(toB / addressed).to.be.greaterThan(0.85);
    expect(toC / (n / 2)).to.be.greaterThan(0.85);
    // Without the relay, b would have got only about 80%.
    expect(toB).to.be.lessThanOrEqual(addressed);
    expect(ib.messages.length).to.equal(new Set(ib.terms()).size); // no duplicates delivered
  });

  it('refuses a port already bound, and bad options, with a clear error', async () => {
    const { ports } = await startAll(['a', 'b']);
    const again = new UdpGossipTransport({ name: 'a', port: ports[0], peers: [] });
    open.push(again);
    let err: Error | null = null;
    await again.start(() => {}).catch((e: Error) => (err = e));
    expect(String(err)).to.match(/cannot bind udp 127\.0\.0\.1:\d+/);
    expect(() => new UdpGossipTransport({ name: 'a', port: 1, peers: [{ name: 'a', host: LOOPBACK, port: 2 }] })).to.throw(/duplicate/);
    expect(() => new UdpGossipTransport({ name: 'a', port: 1, peers: [], maxDatagramBytes: 70000 })).to.throw(/maxDatagramBytes/);
    expect(() => new UdpGossipTransport({ name: 'a', port: 1, peers: [], fanout: 0 })).to.throw(/fanout/);
  });
});
