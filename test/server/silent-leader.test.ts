// A follower forwards client commands and reads to its leader. A leader that
// never replicates (a simpleRaft leader: no client path, no nextIndex) would
// leave them waiting for the whole request timeout; the follower fails them
// one election timeout after forwarding instead, with an error that says why,
// unless an entry of the leader's term (its §8 no-op) has reached its log.

import { expect } from 'chai';
import { LeaderNotReplicatingError } from '../../src/api/node-handle';
import { Message, MessageType } from '../../src/messages';
import { MemoryStorage } from '../../src/log/storage';
import { RaftNode } from '../../src/server/node';
import { FakeTransport } from './fake-transport';
import { waitFor } from '../net/wait';

const TICK_MS = 10;
const ELECTION_TICKS = 10; // one election timeout: 100 ms
const REQUEST_TIMEOUT_MS = 10_000;

function append(from: string, prevLogIndex: number, prevLogTerm: number, values: unknown[], leaderCommit: number): Message {
  return {
    type: MessageType.AppendEntries,
    sender: from,
    receiver: 'f',
    term: 1,
    timestamp: 0,
    data: { leaderId: from, prevLogIndex, prevLogTerm, entries: values.map((value) => ({ term: 1, value })), leaderCommit },
  };
}

/** Follower f on a clock that never moves (so it never campaigns), with requests timing out after 10 s. */
async function follower() {
  const transport = new FakeTransport();
  const node = new RaftNode({
    name: 'f',
    peers: ['p1', 'n2'],
    storage: new MemoryStorage(),
    transport,
    stateMachine: { apply: (e) => `applied ${e.index}`, snapshot: () => Buffer.alloc(0), restore: () => {} },
    tickMs: TICK_MS,
    electionTicks: ELECTION_TICKS,
    heartbeatTicks: 3,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    clock: () => 0,
    seed: 1,
  });
  await node.start();
  return { node, transport, deliver: (m: Message) => transport.handler!(m) };
}

async function settle<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const t0 = Date.now();
  try {
    return { ms: Date.now() - t0, value: await p };
  } catch (e) {
    return { ms: Date.now() - t0, error: e as Error };
  }
}

describe('RaftNode forwarding to a leader that never replicates', () => {
  it('a put and a linearizable read fail within 2 s naming the limitation, not at the request timeout', async function () {
    this.timeout(15_000);
    const { node, transport, deliver } = await follower();
    try {
      // simpleRaft's heartbeat from an empty log: p1 leads term 1, and never sends an entry.
      deliver(append('p1', 0, 0, [], 0));
      await waitFor(() => node.status().leader === 'p1', 5000, 'p1 known as the leader');
      const [put, read] = await Promise.all([settle(node.propose({ put: 'k' })), settle(node.readBarrier())]);
      for (const r of [put, read]) {
        expect(r.error, 'rejected').to.be.instanceOf(LeaderNotReplicatingError);
        expect(r.error!.message).to.include("no entry of the leader p1's term 1 has reached this node").and.include('simpleRaft');
        expect(r.ms).to.be.below(2000);
      }
      // They were forwarded all the same (the leader might have been a slow one).
      expect(transport.sent.filter((m) => m.receiver === 'p1').map((m) => m.type)).to.include.members([MessageType.ClientCommand, MessageType.ReadIndex]);
    } finally {
      await node.stop();
    }
  });

  it('a leader whose no-op has arrived is waited for as long as the request timeout allows', async function () {
    this.timeout(15_000);
    const { node, transport, deliver } = await follower();
    try {
      deliver(append('n2', 0, 0, [null], 0)); // a TypeScript leader's first AppendEntries: its no-op (§8)
      await waitFor(() => node.status().lastLogIndex === 1, 5000, 'the no-op');
      const put = settle(node.propose({ put: 'k' }));
      await waitFor(() => transport.sent.some((m) => m.type === MessageType.ClientCommand), 5000, 'the forwarded command');
      const forwarded = transport.sent.find((m) => m.type === MessageType.ClientCommand)!;
      // The window under test: three election timeouts pass with the command not yet replicated.
      await new Promise((r) => setTimeout(r, 3 * ELECTION_TICKS * TICK_MS));
      deliver(append('n2', 1, 1, [forwarded.data.value], 2));
      const r = await put;
      expect(r.error).to.equal(undefined);
      expect(r.value).to.equal('applied 2');
    } finally {
      await node.stop();
    }
  });
});
