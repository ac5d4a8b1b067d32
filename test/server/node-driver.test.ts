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
import { Transport } from '../../src/transport/transport';

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

class FakeTransport implements Transport {
  handler: ((m: Message, from?: string) => void) | null = null;
  sent: Message[] = [];
  async start(h: (m: Message, from?: string) => void): Promise<void> {
    this.handler = h;
  }
  send(m: Message): void {
    this.sent.push(m);
  }
  async close(): Promise<void> {}
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
