// npm run bench:mvcc -- [--puts 1000000] [--keys 10000] [--value-bytes 64] [--mode periodic] [--retention 1h] [--snapshot-every 10000]
//
// The key history's cost in one process: a KvStore applies `puts` put
// commands (as log entries, JSON-decoded as the node applies them) spread
// over `keys` keys, while the leader's AutoCompactor runs on a simulated
// clock advancing 1 ms per put (so 1,000,000 puts span 1,000 s: a 1-hour
// periodic window compacts nothing, and every version is kept: the worst
// case of that window). Every `snapshot-every` entries it takes a snapshot
// as the node does. Prints apply throughput, RSS and live heap (after a full
// GC), versions kept, and the last snapshot's size and time, and a restore.
// Run with node --expose-gc (the npm script does).

import { Command } from 'commander';
import { AutoCompactor, KvStore, parseAutoCompaction } from '../src/kv';

const o = new Command()
  .option('--puts <n>', 'puts to apply', '1000000')
  .option('--keys <n>', 'distinct keys', '10000')
  .option('--value-bytes <n>', 'value size', '64')
  .option('--mode <mode>', 'auto-compaction mode: periodic, revision or off', 'periodic')
  .option('--retention <r>', 'auto-compaction retention (as the node flag)', '1h')
  .option('--snapshot-every <n>', 'take a snapshot every n entries (0: never)', '10000')
  .parse()
  .opts();

const PUTS = Number(o.puts);
const KEYS = Number(o.keys);
const SNAPSHOT_EVERY = Number(o.snapshotEvery);
const parsed = parseAutoCompaction(String(o.mode), String(o.retention));
if (typeof parsed === 'string') throw new Error(parsed);
const config = parsed;

const gc = (globalThis as { gc?: () => void }).gc;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
function memory(): string {
  gc?.();
  const m = process.memoryUsage();
  return `RSS ${mib(m.rss)}, heap used ${mib(m.heapUsed)}`;
}

function main(): void {
  if (!gc) console.error('(run with node --expose-gc for RSS after a full GC)');
  console.log(`${PUTS} puts on ${KEYS} keys, ${o.valueBytes}-byte values, auto-compaction ${config.mode} ${o.retention}, snapshot every ${SNAPSHOT_EVERY}`);
  console.log(`before: ${memory()}`);
  const kv = new KvStore();
  const compactor = new AutoCompactor(config);
  const value = Buffer.alloc(Number(o.valueBytes), 'x').toString('base64');
  const keys = Array.from({ length: KEYS }, (_, i) => Buffer.from(`bench/key/${i}`).toString('base64'));
  let index = 0;
  let snapshotMs = 0;
  let snapshots = 0;
  let lastSnapshot = 0;
  let compactions = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PUTS; i++) {
    // As the node applies it: the entry's value is the command's JSON, parsed from the log.
    kv.apply({ index: ++index, term: 1, value: JSON.parse(JSON.stringify({ op: 'put', key: keys[i % KEYS], value })) });
    // The leader's task, on simulated time (1 ms per put), checked at its own interval.
    if (i % 1000 === 0) {
      const target = compactor.check(i, { isLeader: true, revision: kv.revision, compactRevision: kv.compactRevision });
      if (target !== null) {
        kv.apply({ index: ++index, term: 1, value: { op: 'compaction', revision: target } });
        compactions++;
      }
    }
    if (SNAPSHOT_EVERY > 0 && index % SNAPSHOT_EVERY === 0) {
      const s0 = process.hrtime.bigint();
      lastSnapshot = kv.snapshot().byteLength;
      snapshotMs += Number(process.hrtime.bigint() - s0) / 1e6;
      snapshots++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const applyOnly = seconds - snapshotMs / 1000;
  console.log(`applied ${PUTS} puts in ${seconds.toFixed(1)} s: ${(PUTS / seconds).toFixed(0)} puts/s with snapshots, ${(PUTS / applyOnly).toFixed(0)} puts/s apply alone`);
  console.log(`compactions: ${compactions}, compacted revision ${kv.compactRevision}, revision ${kv.revision}, versions kept ${kv.keyHistory.size}`);
  console.log(`after: ${memory()}`);
  if (snapshots > 0) {
    console.log(`snapshots: ${snapshots}, ${(snapshotMs / 1000).toFixed(1)} s in all; the last ${mib(lastSnapshot)}`);
  }
  const s0 = process.hrtime.bigint();
  const snap = kv.snapshot();
  const s1 = process.hrtime.bigint();
  new KvStore().restore(snap);
  const s2 = process.hrtime.bigint();
  console.log(`final snapshot ${mib(snap.byteLength)}: taken in ${(Number(s1 - s0) / 1e6).toFixed(0)} ms, restored in ${(Number(s2 - s1) / 1e6).toFixed(0)} ms`);
}

main();
