// RaftNode, the real-time driver, around an asynchronous write: messages that
// arrive while a Ready's write is on the disk go into the next Ready, and a
// truncation meanwhile never makes the node fail.

import { expect } from 'chai';
import { Message, MessageType } from '../../src/messages';
import { MemoryStorage } from '../../src/log/storage';
import { PersistBatch } from '../../src/log/types';
import { describeEvent, RaftEvent } from '../../src/server/events';
import { RaftNode } from '../../src/server/node';
import { TERM_JUMP_WARN_MARGIN } from '../../src/server/term-jump';
import { waitFor } from '../net/wait';
import { FakeTransport } from './fake-transport';

/** MemoryStorage whose saveAsync resolves only when the test says so. */
class HeldStorage extends MemoryStorage {
  private held: (() => void)[] = [];
  saveAsync(batch: PersistBatch): Promise<void> {
    this.save(batch);
    return new Promise((resolve) => this.held.push(resolve));
  }
  release(): boolean {
    const r = this.held.shift();
    r?.();
    return r !== undefined;
  }
  get pending(): number {
    return this.held.length;
  }
}

const turn = () => new Promise((r) => setImmediate(r));

function append(from: string, term: number, prevLogIndex: number, prevLogTerm: number, terms: number[], leaderCommit: number): Message {
  return {
    type: MessageType.AppendEntries,
    sender: from,
    receiver: 'f',
    term,
    timestamp: 0,
    data: { leaderId: from, prevLogIndex, prevLogTerm, entries: terms.map((t, i) => ({ term: t, value: { id: `x${i}`, command: i } })), leaderCommit },
  };
}

describe('RaftNode with an asynchronous write in flight', () => {
  it('a conflicting AppendEntries during the write, then compaction: no failure, the new entry wins, the snapshot waits until stable', async () => {
    const storage = new HeldStorage();
    const transport = new FakeTransport();
    const applied: number[] = [];
    const fatal: Error[] = [];
    const node = new RaftNode({
      name: 'f',
      peers: ['a', 'b'],
      storage,
      transport,
      stateMachine: { apply: (e) => applied.push(e.index), snapshot: () => Buffer.from(JSON.stringify(applied)), restore: () => {} },
      snapshotEvery: 1,
      tickMs: 1_000_000, // no ticks during the test
      onFatal: (e) => fatal.push(e),
      seed: 1,
    });
    await node.start();
    try {
      transport.handler!(append('a', 2, 0, 0, [2, 2, 2], 2));
      await turn();
      expect(storage.pending).to.equal(1); // Ready 1: entries 1-3 (term 2), commit 2, on its way to disk
      // Meanwhile the leader of term 3 replaces entry 3.
      transport.handler!(append('b', 3, 2, 2, [3], 2));
      await turn();
      expect(transport.sent.filter((m) => m.type === MessageType.Response)).to.have.length(0); // nothing promised yet
      storage.release();
      await turn();
      await turn();
      expect(fatal).to.deep.equal([]);
      expect(applied).to.deep.equal([1, 2]);
      // Ready 2 carries the replacement; until it is stable, no snapshot at 2.
      expect(storage.snapshot()).to.equal(null);
      while (storage.release()) await turn();
      await turn();
      expect(fatal).to.deep.equal([]);
      expect(storage.term(3)).to.equal(3);
      expect(storage.snapshot()?.index).to.equal(2);
      // Both AppendEntries were answered once their entries were durable.
      const acks = transport.sent.filter((m) => m.type === MessageType.Response && m.data.response);
      expect(acks.map((m) => m.receiver)).to.include.members(['a', 'b']);
    } finally {
      while (storage.release()) await turn();
      await node.stop();
    }
  });
});

// The node's timer may fire late while the event loop is stalled (GC, a
// snapshot, a slow disk). Simulated here: the node's clock jumps, and a
// message arrives before the timer has noticed.
describe('RaftNode after an event-loop stall: owed ticks come before any message', () => {
  const TICK_MS = 10;
  const ELECTION_TICKS = 10;

  /** A node on a clock the test moves; every message it sends is stamped with that clock. */
  async function stalledNode(name: string) {
    let now = 0;
    const transport = new FakeTransport();
    const sentAt: { at: number; m: Message }[] = [];
    transport.send = (m) => {
      transport.sent.push(m);
      sentAt.push({ at: now, m });
    };
    const node = new RaftNode({
      name,
      peers: ['a', 'b'],
      storage: new MemoryStorage(),
      transport,
      stateMachine: { apply: () => undefined, snapshot: () => Buffer.alloc(0), restore: () => {} },
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 3,
      readMode: 'lease',
      clock: () => now,
      seed: 1,
    });
    await node.start();
    return { node, transport, sentAt, advance: (ms: number) => (now += ms), deliver: (m: Message) => transport.handler!(m) };
  }

  it('§4.2.3: a follower never acknowledges a leader and then votes or campaigns within the minimum election timeout', async () => {
    const { node, sentAt, advance, deliver } = await stalledNode('f');
    try {
      deliver(append('a', 1, 0, 0, [], 0));
      await waitFor(() => sentAt.length > 0, 5000, 'the first acknowledgement');
      // A stall of 50 ticks; a heartbeat sent meanwhile is handled before the timer runs.
      advance(50 * TICK_MS);
      deliver(append('a', 1, 0, 0, [], 0));
      await waitFor(() => sentAt.some(({ m }) => m.type === MessageType.RequestVote), 5000, 'the election the stall made due');
      const acks = sentAt.filter(({ m }) => m.type === MessageType.Response && m.data.response);
      const campaign = sentAt.find(({ m }) => m.type === MessageType.RequestVote)!;
      for (const ack of acks) expect(campaign.at - ack.at, 'ms from an acknowledgement to a campaign').to.be.at.least(ELECTION_TICKS * TICK_MS);
    } finally {
      await node.stop();
    }
  });

  it('§6.4: a leader never answers a forwarded lease read after its lease has run out during a stall', async () => {
    const { node, transport, sentAt, advance, deliver } = await stalledNode('l');
    try {
      // Elect l: its timer fires, a grants the vote.
      advance(2 * ELECTION_TICKS * TICK_MS);
      await waitFor(() => sentAt.some(({ m }) => m.type === MessageType.RequestVote), 5000, 'a campaign');
      deliver({ type: MessageType.RequestVoteResponse, sender: 'a', receiver: 'l', term: 1, timestamp: 0, data: { response: true } });
      await waitFor(() => node.status().role === 'leader', 5000, 'leadership');
      // a acknowledges the no-op and the first heartbeat's read round: the lease is held.
      advance(3 * TICK_MS);
      const round = await waitForRound(transport, 1);
      deliver({ type: MessageType.Response, sender: 'a', receiver: 'l', term: 1, timestamp: 0, data: { response: true, currentTerm: 1, matchIndex: 1, context: round } });
      await waitFor(() => node.status().commitIndex === 1, 5000, 'the no-op committed');
      const roundOpenedAt = sentAt.find(({ m }) => m.type === MessageType.AppendEntries && m.data.context === round)!.at;
      const forwardedRead = (context: string): Message => ({ type: MessageType.ReadIndex, sender: 'b', receiver: 'l', term: 1, timestamp: 0, data: { context } });
      const answers = () => sentAt.filter(({ m }) => m.type === MessageType.ReadIndexResponse);
      // Within the lease, a forwarded read is answered without a round trip.
      deliver(forwardedRead('before-stall'));
      await waitFor(() => answers().length === 1, 5000, 'the lease read before the stall');
      // A stall of 60 ticks; b's next forwarded read arrives before the timer runs.
      advance(60 * TICK_MS);
      deliver(forwardedRead('after-stall'));
      await turn();
      await turn();
      for (const { at } of answers()) expect(at - roundOpenedAt, 'ms from the acknowledged round to a lease read').to.be.below(ELECTION_TICKS * TICK_MS);
    } finally {
      await node.stop();
    }
  });
});

describe('RaftNode: term jumps (issue 18)', () => {
  it(`a member's message ${TERM_JUMP_WARN_MARGIN} or more terms ahead is reported with its sender and address, and counted; a smaller jump is not`, async () => {
    const transport = new FakeTransport();
    const events: RaftEvent[] = [];
    const node = new RaftNode({
      name: 'f',
      peers: ['a', 'b'],
      storage: new MemoryStorage(),
      transport,
      stateMachine: { apply: () => {}, snapshot: () => Buffer.alloc(0), restore: () => {} },
      tickMs: 1_000_000,
      onEvent: (e) => events.push(e),
      seed: 1,
    });
    await node.start();
    try {
      const jumps = () => events.filter((e) => e.kind === 'term-jump');
      transport.handler!(append('a', TERM_JUMP_WARN_MARGIN - 1, 0, 0, [], 0), '127.0.0.1:7001'); // 0 -> 999: not counted
      transport.handler!(append('a', 2 * TERM_JUMP_WARN_MARGIN - 1, 0, 0, [], 0), '127.0.0.1:7001'); // +1000
      transport.handler!(append('zz', 10 * TERM_JUMP_WARN_MARGIN, 0, 0, [], 0), '127.0.0.1:9999'); // not a member: dropped, not counted
      expect(jumps()).to.deep.equal([
        { kind: 'term-jump', term: 2 * TERM_JUMP_WARN_MARGIN - 1, from: 'a', ourTerm: TERM_JUMP_WARN_MARGIN - 1, address: '127.0.0.1:7001' },
      ]);
      expect(node.status().counters?.termJumps).to.equal(1);
      expect(node.server.currentTerm).to.equal(2 * TERM_JUMP_WARN_MARGIN - 1); // still legal Raft: adopted
      expect(describeEvent(jumps()[0])).to.match(/a \(from 127\.0\.0\.1:7001\) claims term 1999, 1000 ahead of our 999/);
    } finally {
      await node.stop();
    }
  });
});

/** The read round carried by the first AppendEntries to `a` with context >= `min`. */
async function waitForRound(transport: FakeTransport, min: number): Promise<number> {
  let round = 0;
  await waitFor(
    () => {
      const m = transport.sent.find((x) => x.type === MessageType.AppendEntries && x.receiver === 'a' && (x.data.context ?? 0) >= min);
      if (m && m.type === MessageType.AppendEntries) round = m.data.context!;
      return round >= min;
    },
    5000,
    `a heartbeat of read round ${min}`,
  );
  return round;
}
