// The client library against fake-node API servers: endpoint failover on
// connection failure and 503, following the leader hint, final errors.

import { expect } from 'chai';
import { ApiClientError, RaftClient, normalizeEndpoint } from '../../src/api/client';
import * as zmq from 'zeromq';
import { deadEndpoint, startApi } from './fake-node';

type Started = Awaited<ReturnType<typeof startApi>>;

describe('RaftClient', () => {
  let a: Started;
  let b: Started;
  let dead: string;
  beforeEach(async () => {
    a = await startApi('n1', { requestTimeoutMs: 300 });
    b = await startApi('n2', { requestTimeoutMs: 300 });
    dead = await deadEndpoint();
  });
  afterEach(async () => {
    await a.api.close();
    await b.api.close();
  });

  it('puts, gets (single, prefix, from-key, limit) and deletes', async () => {
    const c = new RaftClient({ endpoints: [a.url] });
    await c.put('demo/a', '1');
    const p = await c.put('demo/b', '2');
    expect(p.header.revision).to.equal(3);
    await c.put('other', '3');
    const one = await c.get('demo/a');
    expect(one.kvs.map((kv) => [kv.key.toString(), kv.value.toString(), kv.version])).to.deep.equal([['demo/a', '1', 1]]);
    expect((await c.get('demo/', { prefix: true })).kvs.map((kv) => kv.key.toString())).to.deep.equal(['demo/a', 'demo/b']);
    expect((await c.get('demo/b', { fromKey: true })).count).to.equal(2);
    expect((await c.get('', { prefix: true })).count).to.equal(3);
    const lim = await c.get('demo/', { prefix: true, limit: 1 });
    expect([lim.kvs.length, lim.more, lim.count]).to.deep.equal([1, true, 2]);
    const d = await c.delete('demo/', { prefix: true, prevKv: true });
    expect(d.deleted).to.equal(2);
    expect(d.prevKvs.map((kv) => kv.value.toString())).to.deep.equal(['1', '2']);
  });

  it('fails over from an endpoint that refuses connections, and sticks to the one that answered', async () => {
    const c = new RaftClient({ endpoints: [dead, a.url] });
    await c.put('k', 'v');
    expect(a.kv.revision).to.equal(2);
    const proposalsBefore = a.node.proposals.length;
    await c.put('k', 'w');
    expect(a.node.proposals.length).to.equal(proposalsBefore + 1);
  });

  it('fails over on 503 to the next endpoint', async () => {
    a.node.mode = 'no-leader';
    a.node.leader = null;
    const c = new RaftClient({ endpoints: [a.url, b.url] });
    await c.put('k', 'v');
    expect(b.kv.revision).to.equal(2);
    expect(a.kv.revision).to.equal(1);
  });

  it('follows the leader hint of a 503 to an endpoint not in its list, with the same request id', async () => {
    a.node.mode = 'timeout';
    a.node.leader = 'n2';
    a.node.peers = [{ name: 'n2', api: b.url }];
    const c = new RaftClient({ endpoints: [a.url] });
    await c.put('k', 'v');
    expect(b.kv.revision).to.equal(2);
    const sentToA = a.node.proposals[0] as { clientId: string };
    const sentToB = b.node.proposals[0] as { clientId: string };
    expect(sentToB.clientId).to.equal(sentToA.clientId);
    expect(sentToA.clientId).to.match(/^req:/);
  });

  it('gives up at its deadline when no endpoint works, with the last error', async () => {
    a.node.mode = 'no-leader';
    const c = new RaftClient({ endpoints: [dead, a.url], timeoutMs: 600 });
    const started = Date.now();
    let err: unknown;
    try {
      await c.put('k', 'v');
    } catch (e) {
      err = e;
    }
    expect(Date.now() - started).to.be.below(3000);
    expect(err).to.be.instanceOf(ApiClientError);
    expect((err as ApiClientError).status).to.be.oneOf([0, 503]);
  });

  /** The ApiClientError a put throws, or a failed assertion. */
  async function putError(c: RaftClient): Promise<ApiClientError> {
    try {
      await c.put('k', 'v');
    } catch (e) {
      if (e instanceof ApiClientError) return e;
      throw e;
    }
    throw new Error('the put succeeded');
  }

  it('when nothing answers, names every endpoint tried and what happened at each', async () => {
    const dead2 = await deadEndpoint();
    const err = await putError(new RaftClient({ endpoints: [dead, dead2], timeoutMs: 300 }));
    expect(err.status).to.equal(0);
    for (const ep of [dead, dead2]) expect(err.message).to.include(`${ep}: connection refused: nothing listens there (ECONNREFUSED)`);
  });

  it('says in words that an endpoint is a Raft (ZeroMQ) port rather than a client API port', async () => {
    const pub = new zmq.Publisher();
    await pub.bind('tcp://127.0.0.1:0');
    try {
      const raftPort = pub.lastEndpoint!.replace('tcp://', 'http://');
      const err = await putError(new RaftClient({ endpoints: [raftPort], timeoutMs: 300 }));
      expect(err.message).to.match(/the answer is not HTTP: is this a node's Raft port rather than its client API port/);
    } finally {
      pub.close();
    }
  });

  it('does not retry a final error (400), and reports its message and code', async () => {
    const c = new RaftClient({ endpoints: [a.url, b.url] });
    let err: ApiClientError | null = null;
    try {
      await c.get('');
    } catch (e) {
      err = e as ApiClientError;
    }
    expect(err).to.not.equal(null);
    expect([err!.status, err!.code, err!.message]).to.deep.equal([400, 3, 'etcdserver: key is not provided']);
    expect(b.node.barriers).to.equal(0);
  });

  it('reads one endpoint\'s status, and lists members', async () => {
    const c = new RaftClient({ endpoints: [a.url] });
    const st = await c.statusOf(a.url);
    expect([st.name, st.role, st.term]).to.deep.equal(['n1', 'leader', 2]);
    const m = await c.memberList();
    expect(m.members.map((x) => x.name)).to.deep.equal(['n1']);
    let err: unknown;
    try {
      await c.statusOf(dead);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ApiClientError);
  });

  it('normalizes endpoints and refuses non-http ones', () => {
    expect(normalizeEndpoint('127.0.0.1:8001')).to.equal('http://127.0.0.1:8001');
    expect(normalizeEndpoint('http://127.0.0.1:8001/')).to.equal('http://127.0.0.1:8001');
    expect(() => normalizeEndpoint('ftp://127.0.0.1:21')).to.throw(/unsupported/);
  });
});
