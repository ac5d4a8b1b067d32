// The live view's event stream (src/ui): the schema of what a node publishes,
// nothing built while nobody watches, and a viewer that falls behind is cut
// off instead of growing the node's memory.

import { expect } from 'chai';
import { Message, MessageType } from '../../src/messages';
import { MemoryStorage } from '../../src/log/storage';
import { RaftNode } from '../../src/server/node';
import { EventHub, ViewerSink } from '../../src/ui/event-hub';
import { summarizeMessage, ViewEvent } from '../../src/ui/events';
import { publishReady } from '../../src/ui/node-observer';
import { ObservedTransport } from '../../src/ui/observed-transport';
import { waitFor } from '../net/wait';
import { FakeTransport } from '../server/fake-transport';

/** A viewer that takes every frame at once and keeps the parsed events. */
function fastViewer(): ViewerSink & { events: ViewEvent[]; ended: boolean } {
  const v = {
    events: [] as ViewEvent[],
    ended: false,
    write(chunk: string) {
      expect(chunk).to.match(/^data: .*\n\n$/s);
      v.events.push(JSON.parse(chunk.slice('data: '.length)));
      return true;
    },
    onDrain() {},
    end() {
      v.ended = true;
    },
  };
  return v;
}

/** The fields each kind must carry, and their types. */
const SCHEMA: Record<string, Record<string, string>> = {
  term: { term: 'number', reason: 'string' },
  role: { role: 'string', term: 'number', reason: 'string' },
  vote: { term: 'number', candidate: 'string', granted: 'boolean', reason: 'string' },
  leader: { term: 'number', leader: 'string' },
  commit: { term: 'number', commitIndex: 'number' },
  drop: { reason: 'string' },
  send: { message: 'object' },
  receive: { message: 'object' },
  append: { firstIndex: 'number', terms: 'object' },
  apply: { index: 'number', term: 'number' },
  fault: { fault: 'string', detail: 'string' },
};

function checkSchema(e: ViewEvent): void {
  expect(e.node).to.be.a('string');
  expect(e.seq).to.be.a('number');
  expect(e.time).to.be.a('number');
  const fields = SCHEMA[e.kind];
  expect(fields, `kind ${e.kind}`).to.not.equal(undefined);
  for (const [k, t] of Object.entries(fields)) expect(typeof (e as unknown as Record<string, unknown>)[k], `${e.kind}.${k}`).to.equal(t);
  if (e.kind === 'send' || e.kind === 'receive') {
    expect(e.message.kind).to.be.a('string');
    expect(e.message.term).to.be.a('number');
    expect(e.message.from).to.be.a('string');
    expect(e.message.fields).to.be.an('object');
  }
}

describe('live view: the event stream', () => {
  it('a node publishes role, term, vote outcome, messages with their key fields, appended, committed and applied entries, in the schema', async () => {
    const hub = new EventHub({ node: 'a' });
    const viewer = fastViewer();
    hub.subscribe(viewer);
    const network = new FakeTransport();
    const node = new RaftNode({
      name: 'a',
      peers: ['b'],
      storage: new MemoryStorage(),
      transport: new ObservedTransport(network, hub),
      stateMachine: { apply: () => null, snapshot: () => new Uint8Array(), restore: () => undefined },
      tickMs: 1,
      // Campaign at the first tick, then no second election while the test answers.
      initialState: 'candidate',
      electionTicks: 60_000,
      heartbeatTicks: 5,
      seed: 1,
      onEvent: (e) => hub.publish(e),
      onReady: (rd) => publishReady(hub, rd),
    });
    await node.start();
    try {
      await waitFor(() => network.sent.some((m) => m.type === MessageType.RequestVote), 10_000);
      const ask = network.sent.find((m) => m.type === MessageType.RequestVote)!;
      network.handler!({ type: MessageType.RequestVoteResponse, sender: 'b', receiver: 'a', term: ask.term, timestamp: 0, data: { response: true } });
      await waitFor(() => node.server.state.role === 'leader' && node.server.log.lastIndex() === 1, 10_000);
      const ack: Message = { type: MessageType.Response, sender: 'b', receiver: 'a', term: ask.term, timestamp: 0, data: { response: true, currentTerm: ask.term, matchIndex: 1 } };
      network.handler!(ack);
      await waitFor(() => viewer.events.some((e) => e.kind === 'apply'), 10_000);
    } finally {
      await node.stop();
    }
    for (const e of viewer.events) checkSchema(e);
    const kinds = new Set(viewer.events.map((e) => e.kind));
    for (const k of ['term', 'role', 'leader', 'send', 'receive', 'append', 'commit', 'apply']) expect(kinds, k).to.include(k);
    const vote = viewer.events.find((e) => e.kind === 'send' && e.message.kind === 'RequestVote');
    expect(vote && vote.kind === 'send' && vote.message.fields).to.include({ lastLogIndex: 0, lastLogTerm: 0 });
    const granted = viewer.events.find((e) => e.kind === 'receive' && e.message.kind === 'RequestVoteResponse');
    expect(granted && granted.kind === 'receive' && granted.message.fields).to.include({ voteGranted: true });
    const seqs = viewer.events.map((e) => e.seq);
    expect(seqs).to.deep.equal([...seqs].sort((x, y) => x - y));
  });

  it('a message summary names the paper\'s fields, counts entries and never carries values or snapshot bytes', () => {
    const append = summarizeMessage({
      type: MessageType.AppendEntries,
      sender: 'a',
      receiver: 'b',
      term: 3,
      timestamp: 0,
      data: { leaderId: 'a', prevLogIndex: 4, prevLogTerm: 2, entries: [{ term: 3, value: 'secret' }, { term: 3, value: 'x' }], leaderCommit: 4 },
    });
    expect(append).to.deep.equal({ kind: 'AppendEntries', term: 3, from: 'a', to: 'b', fields: { leaderId: 'a', prevLogIndex: 4, prevLogTerm: 2, entries: 2, leaderCommit: 4 } });
    const reply = summarizeMessage({ type: MessageType.Response, sender: 'b', receiver: 'a', term: 3, timestamp: 0, data: { response: false, currentTerm: 3, conflictIndex: 2 } });
    expect(reply.fields).to.deep.equal({ success: false, term: 3, conflictIndex: 2 });
    const chunk = summarizeMessage({
      type: MessageType.InstallSnapshot,
      sender: 'a',
      receiver: null,
      term: 3,
      timestamp: 0,
      data: { leaderId: 'a', lastIncludedIndex: 9, lastIncludedTerm: 2, offset: 0, data: 'AAAA', done: true },
    });
    expect(chunk.to).to.equal(null);
    expect(chunk.fields).to.not.have.property('data');
  });

  it('nobody watching: no event is built for messages', () => {
    const hub = new EventHub({ node: 'a' });
    let built = 0;
    const publish = hub.publish.bind(hub);
    hub.publish = (b) => {
      built++;
      publish(b);
    };
    const t = new ObservedTransport(new FakeTransport(), hub);
    const m: Message = { type: MessageType.RequestVote, sender: 'a', receiver: 'b', term: 1, timestamp: 0, data: { lastLogIndex: 0, lastLogTerm: 0 } };
    for (let i = 0; i < 100; i++) t.send(m);
    expect(built).to.equal(0);
    hub.subscribe(fastViewer());
    t.send(m);
    expect(built).to.equal(1);
  });

  it('a viewer that stops reading is cut off at maxQueued frames; a fast viewer gets every event', () => {
    const hub = new EventHub({ node: 'a', maxQueued: 50 });
    let slowWrites = 0;
    let slowEnded = false;
    hub.subscribe({
      write: () => {
        slowWrites++;
        return false; // its connection's buffer is full and stays full
      },
      onDrain: () => undefined,
      end: () => {
        slowEnded = true;
      },
    });
    const fast = fastViewer();
    hub.subscribe(fast);
    let worst = 0;
    for (let i = 0; i < 10_000; i++) {
      hub.publish({ kind: 'commit', term: 1, commitIndex: i });
      worst = Math.max(worst, hub.maxBacklog);
    }
    expect(slowWrites).to.equal(1);
    expect(worst).to.be.at.most(50);
    expect(slowEnded).to.equal(true);
    expect(hub.cutOff).to.equal(1);
    expect(hub.viewerCount).to.equal(1);
    expect(fast.events.map((e) => e.kind === 'commit' && e.commitIndex)).to.deep.equal([...Array(10_000).keys()]);
  });

  it('a viewer that falls behind and catches up (drain) receives every frame in order', () => {
    const hub = new EventHub({ node: 'a', maxQueued: 50 });
    const got: number[] = [];
    let full = true;
    let drain: () => void = () => undefined;
    hub.subscribe({
      write: (chunk) => {
        got.push(JSON.parse(chunk.slice(6)).commitIndex);
        return !full;
      },
      onDrain: (l) => (drain = l),
      end: () => expect.fail('cut off'),
    });
    for (let i = 0; i < 30; i++) hub.publish({ kind: 'commit', term: 1, commitIndex: i });
    full = false;
    drain();
    for (let i = 30; i < 40; i++) hub.publish({ kind: 'commit', term: 1, commitIndex: i });
    expect(got).to.deep.equal([...Array(40).keys()]);
  });
});
