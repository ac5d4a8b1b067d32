// npm run bench:restart -- [--entries 100000,1000000] [--batch 4096] [--value-bytes 64] [--runs 3] [--dir <path>]
//
// How long a node takes to restart with a long log, and how much memory it
// needs. For each --entries count it writes a log of that many committed
// client puts (1,000 keys) with FileStorage directly, in saves of --batch
// entries (one write + one fsync each), never compacted, so the replay is as
// long as it can get. Then it times --runs restarts, each in a fresh child
// process so its peak resident set size (RSS) is the restart's alone:
// FileStorage.open (read every segment, check every checksum, rebuild the log
// in memory), a RaftNode with the key-value store built on it, and applying
// every committed entry (in Readys of at most maxCommittedEntriesPerReady, one
// per turn of the event loop, as a real node does).
//
// The data goes to a temp directory under --dir (default: the system's temp
// directory), removed at the end.

import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KvStore, Lessor } from '../src/kv';
import { FileStorage } from '../src/log/file-storage';
import { Message } from '../src/messages';
import { RaftNode } from '../src/server/node';
import { Transport } from '../src/transport/transport';
import { writeLongLog } from '../test/log/long-log';

const opts = new Command()
  .name('bench:restart')
  .description('Time and peak memory of the restart (open + replay + apply) of a node with a long write-ahead log')
  .option('--entries <list>', 'log lengths to measure, comma-separated', '100000')
  .option('--batch <n>', 'entries per save when writing the log (one fsync each)', '4096')
  .option('--value-bytes <n>', 'bytes of each put value', '64')
  .option('--runs <n>', 'restarts to time per length', '3')
  .option('--dir <path>', 'parent of the temp data directory', os.tmpdir())
  .option('--child <dir>', '(internal) restart the node in <dir> once and print the figures as JSON')
  .parse()
  .opts();

interface RestartFigures {
  openMs: number;
  applyMs: number;
  totalMs: number;
  cpuMs: number;
  applied: number;
  peakRssMiB: number;
  heapMiB: number;
}

/** Messages go nowhere: the node stays a follower and only replays its log. */
class Silent implements Transport {
  async start(_h: (m: Message) => void): Promise<void> {}
  send(_m: Message): void {}
  async close(): Promise<void> {}
}

/** One restart, in this process (the child). */
async function restartOnce(dir: string): Promise<RestartFigures> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const storage = FileStorage.open({ dir, clusterId: 'simpleraft', node: 'n1' });
  const t1 = performance.now();
  const target = storage.hardState().commitIndex;
  const lessor = new Lessor();
  const node = new RaftNode({
    name: 'n1',
    peers: ['n2', 'n3'],
    storage,
    transport: new Silent(),
    stateMachine: new KvStore({ leases: lessor }),
    lessor,
    tickMs: 60_000, // no election while we measure
    snapshotEvery: 0,
    seed: 1,
  });
  await node.start();
  await new Promise<void>((resolve) => {
    const poll = () => (node.status().lastApplied >= target ? resolve() : setTimeout(poll, 1));
    poll();
  });
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const figures: RestartFigures = {
    openMs: t1 - t0,
    applyMs: t2 - t1,
    totalMs: t2 - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    applied: node.status().lastApplied,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapMiB: process.memoryUsage().heapUsed / 1024 / 1024,
  };
  await node.stop();
  storage.close();
  return figures;
}

function runChild(dir: string): RestartFigures {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, '--child', dir], {
    cwd: path.resolve(__dirname, '..'),
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`restart failed (exit ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as RestartFigures;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function measure(parent: string, entries: number): void {
  const dir = fs.mkdtempSync(path.join(parent, 'simpleraft-bench-restart-'));
  try {
    const t0 = performance.now();
    const saves = writeLongLog({ dir, node: 'n1', entries, batch: Number(opts.batch), valueBytes: Number(opts.valueBytes) });
    const writeMs = performance.now() - t0;
    const files = fs.readdirSync(dir);
    const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    console.log(
      `${entries} entries: wrote ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${files.filter((f) => f.startsWith('wal-')).length} segment(s), ` +
        `${saves} saves, in ${(writeMs / 1000).toFixed(1)} s`,
    );
    const runs: RestartFigures[] = [];
    for (let k = 0; k < Number(opts.runs); k++) {
      const f = runChild(dir);
      if (f.applied !== entries) throw new Error(`applied ${f.applied} entries, wanted ${entries}`);
      runs.push(f);
      console.log(
        `  restart ${k + 1}: open + replay ${f.openMs.toFixed(0)} ms, apply ${f.applyMs.toFixed(0)} ms, total ${f.totalMs.toFixed(0)} ms ` +
          `(CPU ${f.cpuMs.toFixed(0)} ms); peak RSS ${f.peakRssMiB.toFixed(0)} MiB, heap after ${f.heapMiB.toFixed(0)} MiB`,
      );
    }
    console.log(
      `  ${entries} entries, median of ${runs.length}: total ${median(runs.map((r) => r.totalMs)).toFixed(0)} ms ` +
        `(open + replay ${median(runs.map((r) => r.openMs)).toFixed(0)} ms, apply ${median(runs.map((r) => r.applyMs)).toFixed(0)} ms), ` +
        `CPU ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms, peak RSS ${median(runs.map((r) => r.peakRssMiB)).toFixed(0)} MiB`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (opts.child) {
    console.log(JSON.stringify(await restartOnce(opts.child)));
    return;
  }
  const lengths = String(opts.entries)
    .split(',')
    .map((s) => Number(s.trim()));
  if (lengths.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error(`--entries: "${opts.entries}" is not a list of positive integers`);
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, data under ${opts.dir}`);
  for (const n of lengths) measure(opts.dir, n);
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
