// End-to-end leases on real node processes (src/main.ts, ZeroMQ, real clocks):
// a key attached to a 3-second lease disappears from all three nodes once the
// lease expires, no earlier than its TTL, and stays while a keep-alive runs.

import { expect } from 'chai';
import { RaftClient } from '../../src/api/client';
import { ProcessCluster } from './cluster-harness';
import { waitFor } from './wait';

describe('leases on real processes', function () {
  this.timeout(60_000);
  let c: ProcessCluster;
  let client: RaftClient;

  before(async () => {
    c = await ProcessCluster.start({ transport: 'zmq' });
    await c.waitForLeader();
    client = new RaftClient({ endpoints: [0, 1, 2].map((i) => c.url(i)), timeoutMs: 5000 });
  });
  after(async () => {
    await c?.stop();
  });

  /** The key's value on each node's own copy (serializable reads). */
  const everywhere = (key: string) => Promise.all([0, 1, 2].map((i) => c.localGet(i, key)));

  it('a key with a 3-second lease disappears from all three nodes after expiry, not before', async () => {
    const sent = Date.now();
    const g = await client.leaseGrant(3);
    expect(g.ttl).to.equal(3);
    await client.put('svc/expiring', 'up', { lease: g.id });
    await waitFor(async () => (await everywhere('svc/expiring')).every((v) => v === 'up'), 5000, 'the key on every node', 20);
    // Poll until it is gone from all three; none may lose it before the TTL.
    let goneAt = 0;
    await waitFor(
      async () => {
        const values = await everywhere('svc/expiring');
        if (values.some((v) => v === null) && goneAt === 0) goneAt = Date.now();
        return values.every((v) => v === null);
      },
      10_000,
      'the key gone from every node',
      20,
    );
    expect(goneAt - sent, 'first node lost it after').to.be.at.least(3000);
    expect((await client.leaseTimeToLive(g.id)).ttl).to.equal(-1);
  });

  it('the key stays while a keep-alive runs (twice its TTL), and goes a TTL after the keep-alive stops', async () => {
    const g = await client.leaseGrant(3);
    await client.put('svc/kept', 'up', { lease: g.id });
    const stop = new AbortController();
    let renewals = 0;
    const keepAlive = client.leaseKeepAlive(g.id, () => renewals++, stop.signal);
    const started = Date.now();
    let lost = false;
    await waitFor(
      async () => {
        if ((await everywhere('svc/kept')).some((v) => v !== 'up')) lost = true;
        return lost || Date.now() - started >= 6000;
      },
      10_000,
      'six seconds of keep-alive',
      100,
    );
    stop.abort();
    expect(await keepAlive).to.equal('aborted');
    expect(lost, 'the key vanished while kept alive').to.equal(false);
    expect(renewals).to.be.at.least(5);
    // One last renewal, timed from when it was sent; then nobody renews.
    const lastSent = Date.now();
    expect((await client.leaseKeepAliveOnce(g.id)).ttl).to.equal(3);
    let goneAt = 0;
    await waitFor(
      async () => {
        const values = await everywhere('svc/kept');
        if (values.some((v) => v === null) && goneAt === 0) goneAt = Date.now();
        return values.every((v) => v === null);
      },
      10_000,
      'the key gone from every node',
      20,
    );
    expect(goneAt - lastSent).to.be.at.least(3000);
  });
});
