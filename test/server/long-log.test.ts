// Issue 19: nothing grows with the log's length in one call. A node restarted
// with a long unsnapshotted log has all of it committed at once; the core
// hands it out in bounded shares (etcd raft's MaxCommittedSizePerReady idea)
// and the driver applies one share per turn of the event loop.

import { expect } from 'chai';
import { Message } from '../../src/messages';
import { RaftLog } from '../../src/log/raft-log';
import { MemoryStorage } from '../../src/log/storage';
import { LogEntry } from '../../src/log/types';
import { RaftNode } from '../../src/server/node';
import { Server } from '../../src/server/server';
import { SeededRng } from '../../src/time/rng';
import { Transport } from '../../src/transport/transport';

/** Well past the ~125,000 arguments at which spreading a list into one call overflows the stack. */
const LONG = 400_000;

function ents(from: number, to: number, term = 1): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, value: null });
  return out;
}

/** Storage as a node with a long log finds it on restart: every entry committed, none applied. */
function committedLog(n: number): MemoryStorage {
  const st = new MemoryStorage();
  st.append(ents(1, n));
  st.setHardState({ currentTerm: 1, votedFor: null, commitIndex: n });
  return st;
}

function server(storage: MemoryStorage, maxCommittedEntriesPerReady?: number): Server {
  return new Server({ name: 'a', peers: ['b', 'c'], storage, rng: new SeededRng(1), electionTicks: 10, heartbeatTicks: 3, maxCommittedEntriesPerReady });
}

describe('a long log in the core (issue 19)', () => {
  it(`RaftLog.slice over ${LONG} entries, stable and unstable, does not overflow the stack`, () => {
    const log = new RaftLog(committedLog(LONG / 2));
    log.append(ents(LONG / 2 + 1, LONG));
    const all = log.slice(1, LONG + 1);
    expect(all).to.have.length(LONG);
    expect(all[0].index).to.equal(1);
    expect(all[LONG - 1].index).to.equal(LONG);
    expect(all.every((e, k) => e.index === k + 1)).to.equal(true);
  });

  it(`a restart with ${LONG} committed entries: each Ready carries at most maxCommittedEntriesPerReady, all applied once, in order`, () => {
    const st = committedLog(LONG);
    const s = server(st);
    let next = 1;
    let readys = 0;
    let largest = 0;
    let outOfOrder = 0;
    while (s.hasReady()) {
      const rd = s.ready();
      readys++;
      largest = Math.max(largest, rd.committedEntries.length);
      for (const e of rd.committedEntries) if (e.index !== next++) outOfOrder++;
      st.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      s.advance(rd);
    }
    expect(largest).to.equal(1024);
    expect(outOfOrder).to.equal(0);
    expect(next - 1).to.equal(LONG);
    expect(s.log.applied).to.equal(LONG);
    expect(readys).to.equal(Math.ceil(LONG / 1024));
  });

  it('the budget is the configured one, and must be at least 1', () => {
    expect(server(committedLog(1)).maxCommittedEntriesPerReady, 'the default').to.equal(1024);
    const s = server(committedLog(10), 3);
    expect(s.ready().committedEntries.map((e) => e.index)).to.deep.equal([1, 2, 3]);
    expect(() => server(committedLog(1), 0)).to.throw(/maxCommittedEntriesPerReady/);
  });
});

class QuietTransport implements Transport {
  async start(_h: (m: Message) => void): Promise<void> {}
  send(_m: Message): void {}
  async close(): Promise<void> {}
}

describe('RaftNode applying a long log after a restart (issue 19)', () => {
  it('applies it one share per turn of the event loop, so timers and sockets are served in between', async () => {
    const N = 100_000;
    let applied = 0;
    const node = new RaftNode({
      name: 'a',
      peers: ['b', 'c'],
      storage: committedLog(N),
      transport: new QuietTransport(),
      stateMachine: { apply: () => void applied++, snapshot: () => new Uint8Array(), restore: () => {} },
      tickMs: 1_000_000, // no ticks during the test
      seed: 1,
    });
    await node.start();
    try {
      // The node has work at once (the committed log); a timer due now must
      // not wait until all of it is applied.
      const seenByTimer = await new Promise<number>((resolve) => setTimeout(() => resolve(applied), 0));
      expect(seenByTimer, 'entries applied when a timer due at once ran').to.be.greaterThan(0).and.below(N);
      await new Promise<void>((resolve) => {
        const poll = () => (applied === N ? resolve() : setImmediate(poll));
        poll();
      });
      expect(node.status().lastApplied).to.equal(N);
    } finally {
      await node.stop();
    }
  });
});
