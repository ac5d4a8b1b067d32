// npm run bench:restart -- [--entries 100000] [--batch 64] [--value-bytes 64] [--runs 5] [--dir <path>]
//
// How long a node takes to restart with a long log: writes --entries entries
// to a FileStorage (in Ready-sized batches of --batch, each with its hard
// state, one fsync each, as a follower does), closes it, then times --runs
// restarts: FileStorage.open (read every segment, check every checksum,
// rebuild the log in memory) and a Server built on it. The log is never
// compacted here, so the replay is as long as it can get.
//
// The data goes to a temp directory under --dir (default: the system's temp
// directory), removed at the end.

import { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileStorage } from '../src/log/file-storage';
import { LogEntry } from '../src/log/types';
import { Server } from '../src/server/server';
import { SeededRng } from '../src/time/rng';

const opts = new Command()
  .name('bench:restart')
  .description('Time the restart (open + replay) of a node with a long write-ahead log')
  .option('--entries <n>', 'log entries', '100000')
  .option('--batch <n>', 'entries per save (one fsync each)', '64')
  .option('--value-bytes <n>', 'bytes of each entry value', '64')
  .option('--runs <n>', 'restarts to time', '5')
  .option('--dir <path>', 'parent of the temp data directory', os.tmpdir())
  .parse()
  .opts();

const ENTRIES = Number(opts.entries);
const BATCH = Number(opts.batch);
const RUNS = Number(opts.runs);
const PAD = 'x'.repeat(Math.max(0, Number(opts.valueBytes) - 30));

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(opts.dir, 'simpleraft-bench-restart-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, data in ${dir}`);

    // ---- Write the log -------------------------------------------------------
    const s = FileStorage.open({ dir, clusterId: 'bench', node: 'n1' });
    const t0 = process.hrtime.bigint();
    let batch: LogEntry[] = [];
    let saves = 0;
    for (let i = 1; i <= ENTRIES; i++) {
      batch.push({ index: i, term: 1 + Math.floor(i / 25000), value: { op: 'put', key: `key-${i % 1000}`, value: `${i}-${PAD}` } });
      if (batch.length === BATCH || i === ENTRIES) {
        s.save({ hardState: { currentTerm: batch[batch.length - 1].term, votedFor: 'n2', commitIndex: Math.max(0, i - BATCH) }, entries: batch, snapshot: null });
        saves++;
        batch = [];
      }
    }
    const writeMs = ms(process.hrtime.bigint() - t0);
    s.close();
    const files = fs.readdirSync(dir);
    const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    console.log(
      `wrote ${ENTRIES} entries in ${saves} saves (one write + one fsync each) in ${writeMs.toFixed(0)} ms: ` +
        `${Math.round(ENTRIES / (writeMs / 1000))} entries/s, ${(writeMs / saves).toFixed(2)} ms per save; ` +
        `${(bytes / 1024 / 1024).toFixed(1)} MiB in ${files.filter((f) => f.startsWith('wal-')).length} segment(s)`,
    );

    // ---- Restart it, several times -----------------------------------------
    const totals: number[] = [];
    const cpus: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const cpu0 = process.cpuUsage();
      const a = process.hrtime.bigint();
      const r = FileStorage.open({ dir, clusterId: 'bench', node: 'n1' });
      const b = process.hrtime.bigint();
      const server = new Server({ name: 'n1', peers: ['n2', 'n3'], storage: r, rng: new SeededRng(1), electionTicks: 10, heartbeatTicks: 3 });
      const c = process.hrtime.bigint();
      const cpu = process.cpuUsage(cpu0);
      if (server.log.lastIndex() !== ENTRIES || r.recovery.records < ENTRIES) throw new Error(`replayed ${server.log.lastIndex()} entries, wanted ${ENTRIES}`);
      r.close();
      totals.push(ms(c - a));
      cpus.push((cpu.user + cpu.system) / 1000);
      console.log(
        `restart ${run + 1}: open + replay ${ms(b - a).toFixed(0)} ms, + Server ${ms(c - b).toFixed(1)} ms ` +
          `(${r.recovery.records} records; CPU ${cpus[cpus.length - 1].toFixed(0)} ms)`,
      );
    }
    const sorted = [...totals].sort((x, y) => x - y);
    const cpuSorted = [...cpus].sort((x, y) => x - y);
    console.log(
      `restart of a ${ENTRIES}-entry log: median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms, ` +
        `best ${sorted[0].toFixed(0)} ms, worst ${sorted[sorted.length - 1].toFixed(0)} ms wall; ` +
        `median CPU ${cpuSorted[Math.floor(cpuSorted.length / 2)].toFixed(0)} ms (first run includes a cold JIT; CPU time is what a busy machine does not inflate)`,
    );
  } finally {
    cleanup();
  }
}

main();
