// The lease endpoints of the HTTP API, the client library and raftctl, over a
// real in-process cluster: three RaftNodes (with KvStore + Lessor) on a
// MemoryNetwork, each behind its own ApiServer on 127.0.0.1. The replies are
// compared with the recorded etcd 3.4 samples 11-34
// (../shared/etcd-gateway-samples.md): int64s as strings, zero fields left
// out, keep-alive as newline-delimited {"result": ...} lines.

import { expect } from 'chai';
import * as http from 'node:http';
import { ApiServer } from '../../src/api/http-server';
import { RaftClient } from '../../src/api/client';
import { KvStore, Lessor } from '../../src/kv';
import { MemoryStorage } from '../../src/log/storage';
import { RaftNode } from '../../src/server/node';
import { MemoryNetwork, MemoryTransport } from '../../src/transport/memory-board';
import { waitFor } from '../net/wait';
import { b64, post } from './fake-node';
import { runRaftctl } from './run-raftctl';

interface Member {
  name: string;
  node: RaftNode;
  api: ApiServer;
  url: string;
  kv: KvStore;
  lessor: Lessor;
}

/** Three nodes, election timeout 700 ms (so the minimum TTL is 2 s, as etcd's defaults give). */
async function startCluster(): Promise<{ members: Member[]; stop: () => Promise<void> }> {
  const net = new MemoryNetwork();
  const names = ['n1', 'n2', 'n3'];
  const apis = new Map<string, string>();
  const transports: MemoryTransport[] = [];
  const members: Member[] = [];
  for (const name of names) {
    const transport = net.transport(name);
    transports.push(transport);
    const lessor = new Lessor();
    const kv = new KvStore({ leases: lessor });
    const node = new RaftNode({
      name,
      peers: names.filter((n) => n !== name),
      apiAddresses: apis,
      storage: new MemoryStorage(),
      transport,
      stateMachine: kv,
      lessor,
      tickMs: 10,
      electionTicks: 70,
      heartbeatTicks: 10,
      requestTimeoutMs: 3000,
      leaseCheckMs: 20,
    });
    const api = new ApiServer({ node, kv, host: '127.0.0.1', port: 0, requestTimeoutMs: 3000 });
    const url = await api.listen();
    apis.set(name, url);
    members.push({ name, node, api, url, kv, lessor });
  }
  // The memory network delivers when pumped.
  const pump = setInterval(() => {
    for (const t of transports) t.drain();
  }, 1);
  for (const m of members) await m.node.start();
  return {
    members,
    stop: async () => {
      clearInterval(pump);
      for (const m of members) {
        await m.api.close();
        await m.node.stop();
      }
    },
  };
}

/** POST a raw body and return the status and the reply's lines. */
function rawPost(url: string, body: string): Promise<{ status: number; lines: string[]; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text, lines: text.split('\n').filter((l) => l.length > 0) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const HEADER_KEYS = ['cluster_id', 'member_id', 'revision', 'raft_term'];

function expectHeader(h: unknown): void {
  expect(h).to.be.an('object');
  expect(Object.keys(h as object)).to.deep.equal(HEADER_KEYS);
  for (const k of HEADER_KEYS) expect((h as Record<string, unknown>)[k]).to.match(/^[0-9]+$/);
}

describe('lease API (etcd gateway samples 11-34) on a 3-node in-process cluster', function () {
  this.timeout(60_000);
  let c: Awaited<ReturnType<typeof startCluster>>;
  let leader: Member;
  let follower: Member;

  before(async () => {
    c = await startCluster();
    await waitFor(() => {
      const l = c.members.find((m) => m.node.status().role === 'leader');
      return l !== undefined && l.node.leaseKeeper!.primary && c.members.every((m) => m.node.status().leader === l.name);
    }, 20_000, 'a leader with a primary Lessor', 10);
    leader = c.members.find((m) => m.node.status().role === 'leader')!;
    follower = c.members.find((m) => m !== leader)!;
  });
  after(async () => {
    await c?.stop();
  });

  it('samples 11-14: grant with a server-chosen ID (a string above 2^53), a chosen ID, a duplicate (412), a TTL raised to the minimum', async () => {
    const r11 = await post(`${follower.url}/v3/lease/grant`, { TTL: 5 });
    expect(r11.status).to.equal(200);
    expect(Object.keys(r11.json!)).to.deep.equal(['header', 'ID', 'TTL']);
    expectHeader(r11.json!.header);
    expect(r11.json!.ID).to.match(/^[1-9][0-9]{0,18}$/);
    expect(r11.json!.TTL).to.equal('5');
    const r12 = await post(`${leader.url}/v3/lease/grant`, { TTL: 60, ID: 12345 });
    expect(r12.json).to.deep.include({ ID: '12345', TTL: '60' });
    const r13 = await post(`${follower.url}/v3/lease/grant`, { TTL: 60, ID: '12345' });
    expect(r13.status).to.equal(412);
    expect(r13.json).to.deep.equal({ error: 'etcdserver: lease already exists', message: 'etcdserver: lease already exists', code: 9 });
    for (const ttl of [1, 0, -3]) {
      const r14 = await post(`${leader.url}/v3/lease/grant`, { TTL: ttl });
      expect(r14.json!.TTL, `TTL ${ttl}`).to.equal('2');
    }
    const big = await post(`${leader.url}/v3/lease/grant`, { TTL: 60, ID: '9168662553930758675' });
    expect(big.json!.ID).to.equal('9168662553930758675');
    // The same ID as a bare JSON number is the same lease, read exactly: it already exists.
    expect((await rawPost(`${leader.url}/v3/lease/grant`, '{"TTL": 60, "ID": 9168662553930758675}')).status).to.equal(412);
    expect((await post(`${leader.url}/v3/lease/grant`, { TTL: 9_000_000_001 })).json).to.include({ code: 11 });
    // The grant is replicated: every node knows the lease.
    await waitFor(() => c.members.every((m) => m.lessor.exists(12345n) && m.lessor.exists(9168662553930758675n)), 5000, 'replicated');
  });

  it('samples 15-21, 29: leases (and the alias), put with a lease as number or string, unknown lease 404, timetolive with and without keys, through a follower too', async () => {
    const leases = await post(`${follower.url}/v3/lease/leases`, {});
    expect(Object.keys(leases.json!)).to.deep.equal(['header', 'leases']);
    const ids = (leases.json!.leases as { ID: string }[]).map((l) => l.ID);
    expect(ids).to.include.members(['12345', '9168662553930758675']);
    expect((await post(`${leader.url}/v3/kv/lease/leases`, {})).json!.leases).to.deep.equal(leases.json!.leases);

    expect((await post(`${leader.url}/v3/kv/put`, { key: b64('demo/leased'), value: b64('v'), lease: 12345 })).status).to.equal(200);
    expect((await post(`${follower.url}/v3/kv/put`, { key: b64('demo/leased2'), value: b64('v'), lease: '12345' })).status).to.equal(200);
    const range = await post(`${leader.url}/v3/kv/range`, { key: b64('demo/leased') });
    expect((range.json!.kvs as Record<string, unknown>[])[0].lease).to.equal('12345');

    const rev = (await post(`${leader.url}/v3/kv/range`, { key: b64('x') })).json!.header as Record<string, string>;
    const r19 = await post(`${follower.url}/v3/kv/put`, { key: b64('demo/x'), value: b64('v'), lease: 999 });
    expect(r19.status).to.equal(404);
    expect(r19.json).to.deep.equal({ error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5 });
    const after = (await post(`${leader.url}/v3/kv/range`, { key: b64('demo/x') })).json!;
    expect(after.kvs).to.equal(undefined);
    expect((after.header as Record<string, string>).revision).to.equal(rev.revision);

    for (const m of [leader, follower]) {
      const r20 = await post(`${m.url}/v3/lease/timetolive`, { ID: 12345, keys: true });
      expect(r20.status, m.name).to.equal(200);
      expect(Object.keys(r20.json!)).to.deep.equal(['header', 'ID', 'TTL', 'grantedTTL', 'keys']);
      expect(r20.json).to.deep.include({ ID: '12345', grantedTTL: '60', keys: [b64('demo/leased'), b64('demo/leased2')] });
      expect(Number(r20.json!.TTL)).to.be.within(55, 60);
      const r21 = await post(`${m.url}/v3/kv/lease/timetolive`, { ID: '12345' });
      expect(Object.keys(r21.json!)).to.deep.equal(['header', 'ID', 'TTL', 'grantedTTL']);
    }
  });

  it("etcd3gw's form: lease IDs above 2^53 sent back as bare JSON numbers are read exactly, on every lease call and in a put", async () => {
    // A JS client would round 9168662553930758684 to ...8000; the body is written by hand, as Python's json writes it.
    const id = '9168662553930758684';
    const grant = await rawPost(`${follower.url}/v3/lease/grant`, `{"TTL": 60, "ID": ${id}}`);
    expect(grant.status, grant.text).to.equal(200);
    expect(JSON.parse(grant.text)).to.deep.include({ ID: id });
    const put = await rawPost(`${follower.url}/v3/kv/put`, `{"key": "${b64('big/lease')}", "value": "${b64('v')}", "lease": ${id}}`);
    expect(put.status, put.text).to.equal(200);
    const range = await post(`${leader.url}/v3/kv/range`, { key: b64('big/lease') });
    expect((range.json!.kvs as { lease: string }[])[0].lease).to.equal(id);
    const ttl = await rawPost(`${follower.url}/v3/kv/lease/timetolive`, `{"ID": ${id}, "keys": true}`);
    expect(JSON.parse(ttl.text)).to.deep.include({ ID: id, grantedTTL: '60', keys: [b64('big/lease')] });
    const ka = await rawPost(`${follower.url}/v3/lease/keepalive`, `{"ID": ${id}}`);
    expect(JSON.parse(ka.lines[0]).result).to.deep.include({ ID: id, TTL: '60' });
    // The neighbour that a double would have rounded to is another lease: not found.
    const rounded = await rawPost(`${leader.url}/v3/kv/lease/revoke`, `{"ID": 9168662553930758000}`);
    expect(rounded.status).to.equal(404);
    const revoke = await rawPost(`${leader.url}/v3/kv/lease/revoke`, `{"ID": ${id}}`);
    expect(revoke.status, revoke.text).to.equal(200);
    const gone = await post(`${leader.url}/v3/kv/range`, { key: b64('big/lease') });
    expect(gone.json).to.not.have.property('kvs');
  });

  it('every lease call under /v3beta/ and the /v3/kv/lease/* aliases, as etcd 3.4 serves them (etcd3gw uses both)', async () => {
    const grant = await post(`${follower.url}/v3beta/lease/grant`, { TTL: 30, ID: 777 });
    expect(grant.json).to.deep.include({ ID: '777', TTL: '30' });
    for (const path of ['/v3beta/lease/leases', '/v3/kv/lease/leases', '/v3beta/kv/lease/leases']) {
      const ids = ((await post(follower.url + path, {})).json!.leases as { ID: string }[]).map((l) => l.ID);
      expect(ids, path).to.include('777');
    }
    for (const path of ['/v3beta/lease/timetolive', '/v3/kv/lease/timetolive', '/v3beta/kv/lease/timetolive']) {
      expect((await post(follower.url + path, { ID: 777 })).json, path).to.deep.include({ ID: '777', grantedTTL: '30' });
    }
    const ka = await rawPost(`${follower.url}/v3beta/lease/keepalive`, '{"ID": 777}');
    expect(JSON.parse(ka.lines[0]).result).to.deep.include({ ID: '777', TTL: '30' });
    expect((await post(`${follower.url}/v3beta/kv/lease/revoke`, { ID: 777 })).status).to.equal(200);
    expect((await post(`${follower.url}/v3/kv/lease/revoke`, { ID: 777 })).status).to.equal(404);
  });

  it('samples 22-23: keep-alive, one message or several in one body, one {"result"} line each; through a follower too', async () => {
    for (const m of [leader, follower]) {
      const one = await rawPost(`${m.url}/v3/lease/keepalive`, '{"ID":12345}');
      expect(one.status).to.equal(200);
      expect(one.lines.length).to.equal(1);
      const r = JSON.parse(one.lines[0]);
      expect(Object.keys(r)).to.deep.equal(['result']);
      expect(Object.keys(r.result)).to.deep.equal(['header', 'ID', 'TTL']);
      expect(r.result).to.deep.include({ ID: '12345', TTL: '60' });
      const two = await rawPost(`${m.url}/v3/lease/keepalive`, '{"ID":12345}\n{"ID":"12345"}');
      expect(two.lines.map((l) => JSON.parse(l).result.TTL)).to.deep.equal(['60', '60']);
      const glued = await rawPost(`${m.url}/v3/lease/keepalive`, '{"ID":12345}{"ID":"12345"} {"ID":12345}');
      expect(glued.lines.length).to.equal(3);
    }
    // The keep-alive renewed the lease on the leader: almost its full TTL is left.
    const ttl = await post(`${leader.url}/v3/lease/timetolive`, { ID: 12345 });
    expect(Number(ttl.json!.TTL)).to.be.at.least(58);
  });

  it('a keep-alive stream stays open: each object written later gets its line as soon as it is renewed', async () => {
    const lines: string[] = [];
    let status = 0;
    const req = http.request(`${follower.url}/v3/lease/keepalive`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    const ended = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        status = res.statusCode!;
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            lines.push(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        res.on('end', () => resolve());
      });
    });
    req.write('{"ID":');
    req.write('"12345"}\n');
    await waitFor(() => lines.length === 1, 5000, 'first reply line');
    req.write('{"ID":12345}');
    await waitFor(() => lines.length === 2, 5000, 'second reply line');
    req.end();
    await ended;
    expect(status).to.equal(200);
    expect(lines.map((l) => JSON.parse(l).result.ID)).to.deep.equal(['12345', '12345']);
  });

  it('errors: a bad first object is an ordinary 400; garbage after a good one ends the stream with an {"error"} line', async () => {
    const bad = await rawPost(`${leader.url}/v3/lease/keepalive`, '{"ID":"x"}');
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.text)).to.include({ code: 3 });
    const mixed = await rawPost(`${leader.url}/v3/lease/keepalive`, '{"ID":12345} nope');
    expect(mixed.status).to.equal(200);
    expect(JSON.parse(mixed.lines[0]).result.TTL).to.equal('60');
    expect(JSON.parse(mixed.lines[1]).error).to.include({ grpc_code: 3, http_code: 400 });
    expect((await rawPost(`${leader.url}/v3/lease/keepalive`, '{"ID":12345')).status).to.equal(400);
    const get = await fetch(`${leader.url}/v3/lease/keepalive`);
    expect(get.status).to.equal(405);
    await get.text();
  });

  it('samples 24-28: revoke deletes the keys in one revision; then revoke 404, timetolive TTL -1, keep-alive without TTL', async () => {
    const before = Number(((await post(`${leader.url}/v3/kv/range`, { key: b64('a') })).json!.header as Record<string, string>).revision);
    const r24 = await post(`${follower.url}/v3/lease/revoke`, { ID: 12345 });
    expect(r24.status).to.equal(200);
    expect(Object.keys(r24.json!)).to.deep.equal(['header']);
    expect((r24.json!.header as Record<string, string>).revision).to.equal(String(before + 1));
    const r25 = await post(`${leader.url}/v3/kv/range`, { key: b64('demo/leased'), range_end: b64('demo/leasee') });
    expect(r25.json!.kvs).to.equal(undefined);
    const r26 = await post(`${leader.url}/v3/kv/lease/revoke`, { ID: 12345 });
    expect(r26.status).to.equal(404);
    expect(r26.json).to.include({ code: 5, message: 'etcdserver: requested lease not found' });
    for (const m of [leader, follower]) {
      const r27 = await post(`${m.url}/v3/lease/timetolive`, { ID: 12345, keys: true });
      expect(Object.keys(r27.json!)).to.deep.equal(['header', 'ID', 'TTL']);
      expect(r27.json).to.deep.include({ ID: '12345', TTL: '-1' });
      const r28 = await rawPost(`${m.url}/v3/lease/keepalive`, '{"ID":12345}');
      const res = JSON.parse(r28.lines[0]).result;
      expect(Object.keys(res)).to.deep.equal(['header', 'ID']);
    }
    await waitFor(() => c.members.every((m) => !m.lessor.exists(12345n) && m.kv.get(Buffer.from('demo/leased2')) === undefined), 5000, 'revoke everywhere');
  });

  it('samples 30-34: a lease with no keep-alive expires on every node no earlier than its TTL; afterwards TTL -1 and no TTL in keep-alive', async () => {
    const sent = Date.now();
    const grant = await post(`${follower.url}/v3/lease/grant`, { TTL: 2 });
    const id = grant.json!.ID as string;
    expect((await post(`${follower.url}/v3/kv/put`, { key: b64('demo/expiring'), value: b64('v'), lease: id })).status).to.equal(200);
    const here = (m: Member) => m.kv.get(Buffer.from('demo/expiring')) !== undefined;
    expect(c.members.some(here)).to.equal(true);
    await waitFor(() => c.members.every((m) => !here(m)), 10_000, 'expiry on every node', 10);
    expect(Date.now() - sent).to.be.at.least(2000);
    const ttl = await post(`${leader.url}/v3/lease/timetolive`, { ID: id, keys: true });
    expect(ttl.json).to.deep.include({ ID: id, TTL: '-1' });
    const ka = await rawPost(`${follower.url}/v3/lease/keepalive`, JSON.stringify({ ID: id }));
    expect(JSON.parse(ka.lines[0]).result.TTL).to.equal(undefined);
  });

  it('client library: grant, put with lease, keep-alive once, time-to-live, list, streaming keep-alive, revoke; IDs as exact strings', async () => {
    const client = new RaftClient({ endpoints: [follower.url, leader.url], timeoutMs: 5000 });
    const g = await client.leaseGrant(3);
    expect(g.ttl).to.equal(3);
    expect(BigInt(g.id) > 0n).to.equal(true);
    await client.put('svc/one', 'up', { lease: g.id });
    expect((await client.leaseKeepAliveOnce(g.id)).ttl).to.equal(3);
    const t = await client.leaseTimeToLive(g.id, { keys: true });
    expect(t.grantedTtl).to.equal(3);
    expect(t.keys.map(String)).to.deep.equal(['svc/one']);
    expect((await client.leaseLeases()).ids).to.include(g.id);
    // Streaming keep-alive for 4 s (> TTL): renewals every TTL/3, the key stays.
    const stop = new AbortController();
    const renewals: number[] = [];
    const started = Date.now();
    const running = client.leaseKeepAlive(g.id, (r) => renewals.push(r.ttl), stop.signal);
    // The property is about time: kept alive for longer than its TTL, the key stays.
    await waitFor(() => Date.now() - started >= 4000 && renewals.length >= 3, 8000, 'renewals for 4 s', 50);
    stop.abort();
    expect(await running).to.equal('aborted');
    expect(renewals.length).to.be.at.least(3);
    expect(c.members.every((m) => m.kv.get(Buffer.from('svc/one')) !== undefined)).to.equal(true);
    await client.leaseRevoke(g.id);
    const gone = await client.leaseKeepAliveOnce(g.id).catch((e) => e);
    expect(gone).to.include({ status: 404, message: 'etcdserver: requested lease not found' });
    expect(await client.leaseKeepAlive(g.id, () => undefined, new AbortController().signal)).to.equal('not-found');
    expect((await client.leaseTimeToLive(g.id)).ttl).to.equal(-1);
  });

  it('raftctl: lease grant, put --lease, timetolive --keys, list, keep-alive (until interrupted, and --once), revoke', async () => {
    const run = (args: string[], signal?: AbortSignal, onOut?: (stdout: string) => void) =>
      runRaftctl(['--endpoints', `${follower.url},${leader.url}`, ...args], { signal, onOut });
    const g = await run(['lease', 'grant', '30']);
    expect(g.code, g.stderr).to.equal(0);
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(30s\)\n$/.exec(g.stdout);
    expect(m, g.stdout).to.not.equal(null);
    const hex = m![1];
    expect((await run(['put', 'cfg/a', '1', '--lease', hex])).stdout).to.equal('OK\n');
    const ttl = await run(['lease', 'timetolive', hex, '--keys']);
    expect(ttl.stdout).to.match(new RegExp(`^lease ${hex} granted with TTL\\(30s\\), remaining\\((29|30)s\\), attached keys\\(\\[cfg/a\\]\\)\\n$`));
    expect((await run(['lease', 'list'])).stdout).to.include(`${hex}\n`);
    expect((await run(['lease', 'keep-alive', '--once', hex])).stdout).to.equal(`lease ${hex} keepalived with TTL(30)\n`);
    // Until interrupted: the first renewal is printed at once.
    const stop = new AbortController();
    let printed = '';
    const ka = run(['lease', 'keep-alive', hex], stop.signal, (o) => (printed = o));
    await waitFor(() => printed.length > 0, 5000, 'the first renewal printed');
    stop.abort();
    const out = await ka;
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.match(new RegExp(`^(lease ${hex} keepalived with TTL\\(30\\)\\n)+$`));
    expect((await run(['lease', 'revoke', hex])).stdout).to.equal(`lease ${hex} revoked\n`);
    expect((await run(['lease', 'timetolive', hex])).stdout).to.equal(`lease ${hex} already expired\n`);
    expect((await run(['lease', 'keep-alive', hex])).stdout).to.equal(`lease ${hex} expired or revoked.\n`);
    const revokeAgain = await run(['lease', 'revoke', hex]);
    expect(revokeAgain.code).to.equal(1);
    expect(revokeAgain.stderr).to.include('requested lease not found');
    expect((await run(['lease', 'revoke', 'not-hex'])).code).to.equal(2);
  });
});
