// npm run sim -- --seeds 100 --steps 2000 --nodes 3,5
//
// Runs the seeded cluster simulator and prints one line per failing seed with
// the command that replays it exactly. `--visible` prints every protocol event
// of a single run, for watching an election and replication happen.
// `--leases` runs the client key lease simulator instead (src/sim/lease-sim.ts,
// docs/leases.md), with `--lease-bug` to switch a classic lease bug back on.

import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { LeaseBugs, NO_LEASE_BUGS } from '../kv/lease-keeper';
import { Bugs, NO_BUGS } from '../server/config';
import { runLeaseSeed } from './lease-sim';
import { runSeed } from './runner';
import { TraceRecorder } from './trace';

const program = new Command()
  .name('sim')
  .description('Deterministic Raft cluster simulator with safety checks after every step')
  .option('--seed <n>', 'run exactly this seed', (v) => parseIntArg(v, '--seed'))
  .option('--seeds <n>', 'run seeds 1..n', (v) => parseIntArg(v, '--seeds'), 20)
  .option('--steps <n>', 'steps (ticks) per run', (v) => parseIntArg(v, '--steps'), 2000)
  .option('--nodes <list>', 'cluster sizes, comma-separated', '3,5')
  .option('--no-faults', 'no message loss, delay, partitions or crashes')
  .option('--no-liveness', 'skip the heal-and-converge phase')
  .option('--visible', 'print every protocol event')
  .option('--trace <file>', 'with --seed and one --nodes size: write the run\'s events for the live view\'s replay (npm start, then load the file)')
  .option('--no-compaction', 'never snapshot or compact logs (§7)')
  .option('--snapshot-every <n>', 'compact every n applied entries instead of the seed\'s choice', (v) => parseIntArg(v, '--snapshot-every'))
  .addOption(new Option('--profile <name>', 'default faults, or harsh: aimed at leaders').choices(['default', 'harsh']).default('default'))
  .addOption(new Option('--read-mode <mode>', 'how leaders confirm linearizable reads').choices(['index', 'lease']).default('index'))
  .addOption(new Option('--bug <name...>', 'switch a classic bug back on (to watch it get caught)').choices(Object.keys(NO_BUGS)))
  .option('--leases', 'run the client key lease simulator (grant, keep-alive, expiry) instead')
  .addOption(new Option('--lease-bug <name...>', 'with --leases: switch a classic lease bug back on').choices(Object.keys(NO_LEASE_BUGS)))
  .showHelpAfterError();

function parseIntArg(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`${flag}: expected a non-negative integer, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}

const opts = program.parse().opts();
const sizes = String(opts.nodes)
  .split(',')
  .map((s) => parseIntArg(s.trim(), '--nodes'));
if (sizes.some((n) => n < 1)) {
  console.error('--nodes: cluster sizes must be at least 1');
  process.exit(2);
}
const bugs: Partial<Bugs> = {};
for (const b of (opts.bug as (keyof Bugs)[] | undefined) ?? []) bugs[b] = true;
const seeds: number[] = opts.seed !== undefined ? [opts.seed] : Array.from({ length: opts.seeds }, (_, i) => i + 1);
if (opts.trace !== undefined && (opts.seed === undefined || sizes.length !== 1 || opts.leases)) {
  console.error('--trace: give one --seed and one --nodes size (and no --leases)');
  process.exit(2);
}

let failed = 0;
let runs = 0;
const started = Date.now();
const leaseBugs: Partial<LeaseBugs> = {};
for (const b of (opts.leaseBug as (keyof LeaseBugs)[] | undefined) ?? []) leaseBugs[b] = true;

for (const nodes of sizes) {
  for (const seed of seeds) {
    runs++;
    if (opts.leases) {
      const r = runLeaseSeed({ seed, nodes, steps: opts.steps, leaseBugs });
      const flags = Object.keys(leaseBugs).map((b) => ` --lease-bug ${b}`).join('');
      if (!r.ok) {
        failed++;
        console.log(`FAIL seed ${seed}, ${nodes} nodes: ${r.failure}\n  replay: npm run sim -- --leases --seed ${seed} --nodes ${nodes} --steps ${opts.steps}${flags}`);
      } else if (seeds.length === 1) {
        console.log(`ok seed ${seed}, ${nodes} nodes: ${JSON.stringify(r.stats)}`);
      }
      continue;
    }
    const recorder = opts.trace !== undefined ? new TraceRecorder() : undefined;
    const r = runSeed({
      seed,
      nodes,
      steps: opts.steps,
      faults: opts.faults,
      liveness: opts.liveness,
      readMode: opts.readMode,
      profile: opts.profile,
      compaction: opts.compaction,
      snapshotEvery: opts.snapshotEvery,
      bugs,
      log: opts.visible ? (line) => console.log(line) : undefined,
      trace: recorder,
    });
    if (recorder) {
      writeFileSync(opts.trace, JSON.stringify(recorder.trace(seed, r.replay)));
      console.log(`trace: ${recorder.events.length} events written to ${opts.trace}`);
    }
    if (!r.ok) {
      failed++;
      console.log(`FAIL seed ${seed}, ${nodes} nodes: ${r.failure}\n  replay: ${r.replay}`);
      if (seeds.length === 1) console.log(`  stats: ${JSON.stringify(r.stats)}`);
    } else if (opts.visible || seeds.length === 1) {
      console.log(`ok seed ${seed}, ${nodes} nodes: ${JSON.stringify(r.stats)}`);
    }
  }
}
console.log(`${runs - failed} passed, ${failed} failed (${runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed > 0 ? 1 : 0);
