// RaftNode, the real-time driver, around an asynchronous write: messages that
// arrive while a Ready's write is on the disk go into the next Ready, and a
// truncation meanwhile never makes the node fail.

import { expect } from 'chai';
import { Message, MessageType } from '../../src/messages';
import { MemoryStorage } from '../../src/log/storage';
import { PersistBatch } from '../../src/log/types';
import { RaftNode } from '../../src/server/node';
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
  handler: ((m: Message) => void) | null = null;
  sent: Message[] = [];
  async start(h: (m: Message) => void): Promise<void> {
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
