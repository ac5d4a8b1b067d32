// npm run bench:soak -- [--minutes 3] [--snapshot-every 1000] [--report 10] [--restart-every 30] [--dir <path>]
//
// Memory under a long steady load (issue 3: "a node's resident memory stops
// growing once compaction is on"). Runs a 3-node cluster in this process:
// real Servers, real FileStorage in temp directories (one fsync per Ready),
// messages passed in memory. A client keeps up to 256 puts in flight to a
// small key-value state machine (1,000 keys, so its own size is bounded) for
// --minutes, and every --report seconds prints the resident set size (RSS),
// the V8 heap, the commit index, the log kept in memory and the WAL on disk.
// With --snapshot-every N each node snapshots and compacts after N applied
// entries (§7); with 0 it never does, to show the growth compaction stops.
// With --restart-every S a follower is restarted every S seconds (recovery
// from its data directory, catch-up by entries or InstallSnapshot).
//
// The temp directories are removed at the end (and on Ctrl-C).

import { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileStorage } from '../src/log/file-storage';
import { LogEntry } from '../src/log/types';
import { Message, NodeId } from '../src/messages';
import { Server } from '../src/server/server';
import { StateMachine } from '../src/server/state-machine';
import { SeededRng } from '../src/time/rng';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

// A full collection before each report, so the heap figure is live data, not garbage.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const opts = new Command()
  .name('bench:soak')
  .description('Steady writes to a 3-node in-process cluster on FileStorage; prints RSS over time')
  .option('--minutes <m>', 'how long to run', '3')
  .option('--snapshot-every <n>', 'compact after this many applied entries (0: never)', '1000')
  .option('--report <s>', 'seconds between reports', '10')
  .option('--restart-every <s>', 'restart a follower every s seconds (0: never)', '30')
  .option('--dir <path>', 'parent of the temp data directories', os.tmpdir())
  .parse()
  .opts();

const DURATION_MS = Number(opts.minutes) * 60_000;
const SNAPSHOT_EVERY = Number(opts.snapshotEvery);
const REPORT_MS = Number(opts.report) * 1000;
const RESTART_MS = Number(opts.restartEvery) * 1000;
const INFLIGHT = 256;
const KEYS = 1000;

/** A bounded key-value state machine: puts to KEYS keys. */
class Kv implements StateMachine {
  private map = new Map<string, string>();
  apply(e: LogEntry): unknown {
    const v = e.value as { key: string; value: string } | null;
    if (v) this.map.set(v.key, v.value);
    return null;
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify([...this.map]));
  }
  restore(data: Uint8Array): void {
    this.map = new Map(JSON.parse(Buffer.from(data).toString()) as [string, string][]);
  }
}

interface Node {
  name: NodeId;
  dir: string;
  storage: FileStorage;
  server: Server;
  kv: Kv;
}

const names: NodeId[] = ['n1', 'n2', 'n3'];
const root = fs.mkdtempSync(path.join(opts.dir, 'simpleraft-soak-'));
const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

const rng = new SeededRng(1);
const nodes = new Map<NodeId, Node>();
let queue: Message[] = [];

function start(name: NodeId): Node {
  const dir = path.join(root, String(name));
  const storage = FileStorage.open({ dir, clusterId: 'soak', node: name });
  const kv = new Kv();
  const snap = storage.snapshot();
  if (snap) kv.restore(snap.data);
  const server = new Server({
    name,
    peers: names.filter((n) => n !== name),
    storage,
    rng: rng.fork(),
    electionTicks: 20,
    heartbeatTicks: 4,
    maxEntriesPerAppend: 256,
    maxInflight: 8,
  });
  const node = { name, dir, storage, server, kv };
  nodes.set(name, node);
  return node;
}

/** The driver loop: persist, send, apply, advance, compact. */
function drive(n: Node): void {
  while (n.server.hasReady()) {
    const rd = n.server.ready();
    n.storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
    if (rd.snapshot) n.kv.restore(rd.snapshot.data);
    queue.push(...rd.messages);
    for (const e of rd.committedEntries) n.kv.apply(e);
    n.server.advance(rd);
    const applied = n.server.log.applied;
    if (SNAPSHOT_EVERY > 0 && applied - (n.server.log.firstIndex() - 1) >= SNAPSHOT_EVERY) {
      n.server.compact(applied, n.kv.snapshot());
    }
  }
}

function deliver(): void {
  while (queue.length > 0) {
    const batch = queue;
    queue = [];
    for (const m of batch) {
      const targets = m.receiver === null ? names.filter((x) => x !== m.sender) : [m.receiver];
      for (const t of targets) {
        const n = nodes.get(t);
        if (!n) continue;
        n.server.step(m);
        drive(n);
      }
    }
  }
}

function leader(): Node | null {
  for (const n of nodes.values()) if (n.server.state.role === 'leader') return n;
  return null;
}

function walBytes(dir: string): number {
  return fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

function main(): void {
  for (const name of names) start(name);
  console.log(
    `node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}; ${opts.minutes} min, ` +
      `snapshot every ${SNAPSHOT_EVERY || 'never'}, restart a follower every ${RESTART_MS ? RESTART_MS / 1000 + ' s' : 'never'}; data in ${root}`,
  );
  console.log('   t(s)   RSS(MiB)  heap(MiB)  buffers(MiB)  commitIndex  puts/s  log in memory (leader)  WAL+snap on disk (MiB, 3 nodes)');
  const began = Date.now();
  let nextReport = began + REPORT_MS;
  let nextRestart = RESTART_MS ? began + RESTART_MS : Infinity;
  let lastCommit = 0;
  let lastReportAt = began;
  let seq = 0;
  const rss: number[] = [];
  for (;;) {
    const now = Date.now();
    for (const n of nodes.values()) {
      n.server.tick();
      drive(n);
    }
    deliver();
    const l = leader();
    if (l) {
      // Keep INFLIGHT puts in flight: propose up to the window, in one batch.
      const inflight = l.server.log.lastIndex() - l.server.log.applied;
      for (let i = inflight; i < INFLIGHT; i++) {
        seq++;
        l.server.propose({ key: `k${seq % KEYS}`, value: `value-${seq}-${'x'.repeat(40)}` });
      }
      drive(l);
      deliver();
    }
    if (now >= nextRestart) {
      const followers = [...nodes.values()].filter((n) => n.server.state.role !== 'leader');
      const f = followers[rng.int(0, followers.length)];
      if (f) {
        f.storage.close();
        nodes.delete(f.name);
        start(f.name);
      }
      nextRestart = now + RESTART_MS;
    }
    if (now >= nextReport) {
      gc();
      const mem = process.memoryUsage();
      const ld = leader() ?? [...nodes.values()][0];
      const commit = ld.server.log.committed;
      const rate = ((commit - lastCommit) / ((now - lastReportAt) / 1000)).toFixed(0);
      const disk = [...nodes.values()].reduce((s, n) => s + walBytes(n.dir), 0);
      const inMem = ld.server.log.lastIndex() - ld.server.log.firstIndex() + 1;
      rss.push(mem.rss);
      console.log(
        `${((now - began) / 1000).toFixed(0).padStart(7)} ${mb(mem.rss).padStart(10)} ${mb(mem.heapUsed).padStart(10)} ${mb(mem.arrayBuffers).padStart(13)} ${String(commit).padStart(12)} ${rate.padStart(7)} ${String(inMem).padStart(23)} ${mb(disk).padStart(12)}`,
      );
      lastCommit = commit;
      lastReportAt = now;
      nextReport = now + REPORT_MS;
    }
    if (now - began >= DURATION_MS) break;
  }
  for (const n of nodes.values()) n.storage.close();
  const half = rss.slice(Math.floor(rss.length / 2));
  const firstHalfMax = Math.max(...rss.slice(0, Math.floor(rss.length / 2)));
  console.log(
    `RSS: first report ${mb(rss[0])} MiB, max in first half ${mb(firstHalfMax)} MiB, ` +
      `second half ${mb(Math.min(...half))}-${mb(Math.max(...half))} MiB, last ${mb(rss[rss.length - 1])} MiB`,
  );
}

try {
  main();
} finally {
  cleanup();
}
