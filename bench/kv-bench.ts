// npm run bench -- [--duration 5] [--compare etcd]
//
// Starts 3 node processes on 127.0.0.1 (ZeroMQ, file storage with fsync),
// drives N concurrent in-flight puts of 64-byte values through the HTTP API
// for T seconds each, for N = 1, 16, 128, then linearizable reads at 16, and
// prints ops/s and latency p50/p99. With --compare etcd (and Debian's
// etcd-server installed), the same load generator drives a 3-member etcd
// cluster started on loopback, and each row shows ours/etcd.

import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';

const opts = new Command()
  .name('bench')
  .description('Key-value throughput and latency, ours and (optionally) etcd, on 3 local processes')
  .option('--duration <s>', 'seconds per row', '5')
  .option('--concurrency <list>', 'in-flight puts per row', '1,16,128')
  .option('--read-concurrency <n>', 'in-flight linearizable reads', '16')
  .option('--transport <kind>', 'zmq or udp', 'zmq')
  .option('--compare <system>', 'also run against: etcd')
  .option('--value-bytes <n>', 'value size', '64')
  .option('--node-args <args>', 'extra arguments for every node, space-separated', '')
  .parse()
  .opts();

const DURATION_MS = Number(opts.duration) * 1000;
const CONCURRENCY = String(opts.concurrency).split(',').map(Number);
const READ_CONCURRENCY = Number(opts.readConcurrency);
const VALUE = Buffer.alloc(Number(opts.valueBytes), 'x').toString('base64');
const ROOT = path.resolve(__dirname, '..');

interface Row {
  name: string;
  ops: number;
  p50: number;
  p99: number;
}

interface Cluster {
  clientUrls: string[];
  leaderUrl(): Promise<string>;
  stop(): Promise<void>;
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function killAll(children: ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5000).unref();
    })),
  ).then(() => undefined);
}

async function startOurs(): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'raft-bench-'));
  const raft = await freePorts(3);
  const api = await freePorts(3);
  const names = ['n1', 'n2', 'n3'];
  const children = names.map((name, i) => {
    const peers = names.filter((_, j) => j !== i).map((p) => `${p}=127.0.0.1:${raft[names.indexOf(p)]}`).join(',');
    const peerApis = names.filter((_, j) => j !== i).map((p) => `${p}=127.0.0.1:${api[names.indexOf(p)]}`).join(',');
    return spawn(
      process.execPath,
      [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), '-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src', 'main.ts'), '--name', name, '--port', String(raft[i]), '--api-port', String(api[i]),
        '--peers', peers, '--peer-apis', peerApis, '--transport', opts.transport, '--data-dir', path.join(dir, name), '--log-format', 'json',
        ...String(opts.nodeArgs).split(' ').filter(Boolean)],
      { cwd: ROOT, stdio: 'ignore' },
    );
  });
  const urls = api.map((p) => `http://127.0.0.1:${p}`);
  const leaderUrl = async () => {
    for (;;) {
      for (const u of urls) {
        const s = await new Promise<any>((resolve) => {
          http.get(`${u}/status`, { agent }, (res) => {
            let t = '';
            res.on('data', (c) => (t += c));
            res.on('end', () => resolve(JSON.parse(t)));
          }).on('error', () => resolve(null));
        });
        if (s?.role === 'leader') return u;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitFor(async () => (await Promise.race([leaderUrl(), new Promise<string>((r) => setTimeout(() => r(''), 1000))])) !== '', 30_000, 'our leader');
  return { clientUrls: urls, leaderUrl, stop: async () => { await killAll(children); rmSync(dir, { recursive: true, force: true }); } };
}

async function startEtcd(): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'etcd-bench-'));
  const peer = await freePorts(3);
  const client = await freePorts(3);
  const names = ['e1', 'e2', 'e3'];
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${peer[i]}`).join(',');
  const children = names.map((name, i) =>
    spawn('etcd', [
      '--name', name, '--data-dir', path.join(dir, name),
      '--listen-peer-urls', `http://127.0.0.1:${peer[i]}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer[i]}`,
      '--listen-client-urls', `http://127.0.0.1:${client[i]}`, '--advertise-client-urls', `http://127.0.0.1:${client[i]}`,
      '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bench',
    ], { stdio: 'ignore' }),
  );
  const urls = client.map((p) => `http://127.0.0.1:${p}`);
  const leaderUrl = async () => {
    for (;;) {
      const statuses = await Promise.all(urls.map((u) => post(`${u}/v3/maintenance/status`, '{}').then((r) => JSON.parse(r.text)).catch(() => null)));
      const i = statuses.findIndex((s) => s && s.leader && s.header && s.leader === s.header.member_id);
      if (i >= 0) return urls[i];
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitFor(async () => (await Promise.race([leaderUrl(), new Promise<string>((r) => setTimeout(() => r(''), 1000))])) !== '', 30_000, 'the etcd leader');
  return { clientUrls: urls, leaderUrl, stop: async () => { await killAll(children); rmSync(dir, { recursive: true, force: true }); } };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `n` loops, each with one request in flight, for DURATION_MS. */
async function drive(name: string, n: number, send: (worker: number, i: number) => Promise<boolean>): Promise<Row> {
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + DURATION_MS;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: n }, async (_, w) => {
      for (let i = 0; Date.now() < end; i++) {
        const t0 = process.hrtime.bigint();
        const ok = await send(w, i).catch(() => false);
        if (ok) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        else errors++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (errors > 0) console.error(`  (${name}: ${errors} errors)`);
  latencies.sort((a, b) => a - b);
  return { name, ops: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function runSuite(label: string, c: Cluster): Promise<Row[]> {
  const leader = await c.leaderUrl();
  const rows: Row[] = [];
  const key = (w: number, i: number) => Buffer.from(`bench/${w}/${i % 1000}`).toString('base64');
  // Warm up connections and JIT.
  await drive('warmup', 16, (w, i) => post(`${leader}/v3/kv/put`, JSON.stringify({ key: key(w, i), value: VALUE })).then((r) => r.status === 200)).catch(() => undefined);
  for (const n of CONCURRENCY) {
    const row = await drive(`put x${n}`, n, (w, i) => post(`${leader}/v3/kv/put`, JSON.stringify({ key: key(w, i), value: VALUE })).then((r) => r.status === 200));
    rows.push(row);
    console.error(`  ${label} ${row.name}: ${row.ops.toFixed(0)} ops/s, p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms`);
  }
  const read = await drive(`linearizable read x${READ_CONCURRENCY}`, READ_CONCURRENCY, (w, i) =>
    post(`${leader}/v3/kv/range`, JSON.stringify({ key: key(w, i) })).then((r) => r.status === 200),
  );
  rows.push(read);
  console.error(`  ${label} ${read.name}: ${read.ops.toFixed(0)} ops/s, p50 ${read.p50.toFixed(2)} ms, p99 ${read.p99.toFixed(2)} ms`);
  return rows;
}

async function main(): Promise<void> {
  console.error(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${DURATION_MS / 1000} s per row, ${Number(opts.valueBytes)}-byte values`);
  let ours: Row[];
  const cluster = await startOurs();
  try {
    ours = await runSuite('simpleraft-ts', cluster);
  } finally {
    await cluster.stop();
  }
  let theirs: Row[] | null = null;
  if (opts.compare === 'etcd') {
    if (spawnSync('etcd', ['--version']).status !== 0) {
      console.error('etcd not found: install Debian\'s etcd-server to compare (apt-get install etcd-server)');
    } else {
      const etcd = await startEtcd();
      try {
        theirs = await runSuite('etcd', etcd);
      } finally {
        await etcd.stop();
      }
    }
  }
  const fmt = (r: Row) => `${r.ops.toFixed(0).padStart(7)} ops/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms`;
  console.log(`\n| workload | simpleraft-ts | ${theirs ? 'etcd | ours/etcd |' : ''}`);
  console.log(`|---|---|${theirs ? '---|---|' : ''}`);
  ours.forEach((r, i) => {
    const t = theirs?.[i];
    console.log(`| ${r.name} | ${fmt(r)} | ${t ? `${fmt(t)} | ${(r.ops / t.ops).toFixed(2)} |` : ''}`);
  });
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
