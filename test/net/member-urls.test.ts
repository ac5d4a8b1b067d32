// Lease calls on any member with no extra flag: three real node processes
// started as the README's one-node-per-terminal recipe (no --peer-apis).
// Each member publishes its client URL through the log; a follower then
// forwards keep-alive and time-to-live to the leader's API, also after the
// leader changes.

import { expect } from 'chai';
import { ProcessCluster, b64 } from './cluster-harness';
import { waitFor } from './wait';

describe('members learn client URLs through the cluster (no --peer-apis)', function () {
  this.timeout(90_000);
  let c: ProcessCluster;

  before(async () => {
    c = await ProcessCluster.start({ transport: 'zmq', peerApis: false });
  });
  after(async () => {
    await c?.stop();
  });

  /** Every running node's /status names the leader and that leader's published URL. */
  async function waitForLeaderUrlEverywhere(): Promise<number> {
    const leader = await c.waitForLeader();
    await waitFor(
      async () => {
        const statuses = await Promise.all(c.nodes.map((_, i) => (c.isRunning(i) ? c.status(i) : Promise.resolve(null))));
        return statuses.every((s, i) => !c.isRunning(i) || (s as { leaderUrl?: string } | null)?.leaderUrl === c.url(leader));
      },
      20_000,
      "the leader's URL on every node",
      50,
    );
    return leader;
  }

  /** Keep-alive, time-to-live (with keys) and leases through node `i`. */
  async function leaseCallsThrough(i: number, id: string, key: string): Promise<void> {
    const ka = await c.post(i, 'lease/keepalive', { ID: id });
    expect(ka.status, JSON.stringify(ka.body)).to.equal(200);
    expect(ka.body.result).to.deep.include({ ID: id, TTL: '30' });
    const ttl = await c.post(i, 'lease/timetolive', { ID: id, keys: true });
    expect(ttl.status, JSON.stringify(ttl.body)).to.equal(200);
    expect(ttl.body).to.deep.include({ ID: id, grantedTTL: '30', keys: [b64(key)] });
    const leases = await c.post(i, 'lease/leases', {});
    expect(leases.body.leases).to.deep.include({ ID: id });
  }

  it('a follower answers keep-alive, time-to-live and leases via the leader, before and after a leader change', async () => {
    const leader = await waitForLeaderUrlEverywhere();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const grant = await c.post(follower, 'lease/grant', { TTL: 30 });
    expect(grant.status, JSON.stringify(grant.body)).to.equal(200);
    const id = grant.body.ID as string;
    expect((await c.post(follower, 'kv/put', { key: b64('svc/a'), value: b64('up'), lease: id })).status).to.equal(200);
    await leaseCallsThrough(follower, id, 'svc/a');

    // Every member publishes, so member/list comes to give every client URL.
    const expected = Object.fromEntries(c.nodes.map((n, i) => [n.name, [c.url(i)]]));
    let urls: Record<string, unknown> = {};
    await waitFor(
      async () => {
        const list = await c.post(follower, 'cluster/member/list', {});
        urls = Object.fromEntries((list.body.members as { name: string; clientURLs?: string[] }[]).map((m) => [m.name, m.clientURLs]));
        return Object.keys(expected).every((name) => urls[name] !== undefined);
      },
      20_000,
      'every member in member/list with a client URL',
      50,
    );
    expect(urls).to.deep.equal(expected);

    // The new leader's URL is known too: it published when it started.
    await c.kill(leader);
    const next = await waitForLeaderUrlEverywhere();
    const other = [0, 1, 2].find((i) => i !== leader && i !== next)!;
    await leaseCallsThrough(other, id, 'svc/a');
  });
});
