// One seeded simulator run: random client commands and faults for `steps`
// steps with the safety checker watching every step, then (liveness mode) the
// network heals, every node restarts, and we require a leader within 10
// election timeouts and every command still pending to commit.

import { NodeId } from '../messages';
import { Bugs, ReadMode } from '../server/config';
import { SeededRng } from '../time/rng';
import { SafetyViolation } from './checker';
import { SimCluster, StorageProvider } from './cluster';
import { TraceRecorder } from './trace';

export interface RunOptions {
  seed: number;
  nodes: number;
  steps: number;
  faults?: boolean;
  liveness?: boolean;
  readMode?: ReadMode;
  /**
   * 'harsh' aims faults at leaders: cut off right after appending a command
   * or advancing commitIndex, with an idle client, so the rare schedules of
   * Figure 8 and stale reads come up within a few hundred seeds.
   */
  profile?: 'default' | 'harsh';
  bugs?: Partial<Bugs>;
  log?: (line: string) => void;
  /**
   * Log compaction (§7), on by default: each seed picks how often nodes
   * snapshot (sometimes never) and the InstallSnapshot chunk size.
   */
  compaction?: boolean;
  /** Override the seed's choice: compact every this many applied entries (0: never). */
  snapshotEvery?: number;
  /** Storage for the nodes (test/sim/crash.test.ts: FileStorage with injected faults). */
  storage?: StorageProvider;
  /** Record every event for the live view's replay (src/sim/trace.ts). */
  trace?: TraceRecorder;
}

export interface RunResult {
  ok: boolean;
  seed: number;
  failure?: string;
  /** The command that replays this run exactly. */
  replay: string;
  stats: {
    committed: number;
    reads: number;
    proposed: number;
    elections: number;
    messages: number;
    dropped: number;
    ticks: number;
    snapshotsTaken: number;
    snapshotsInstalled: number;
    /** AppendEntries rejections that reached a leader, and answers that advanced a matchIndex. */
    appendRejections: number;
    usefulAppendAcks: number;
    storageFaults: number;
  };
}

export function replayCommand(o: RunOptions): string {
  const bugs = Object.entries(o.bugs ?? {})
    .filter(([, on]) => on)
    .map(([b]) => ` --bug ${b}`)
    .join('');
  return `npm run sim -- --seed ${o.seed} --nodes ${o.nodes} --steps ${o.steps}${o.faults === false ? ' --no-faults' : ''}${o.liveness === false ? ' --no-liveness' : ''}${o.readMode === 'lease' ? ' --read-mode lease' : ''}${o.profile === 'harsh' ? ' --profile harsh' : ''}${o.compaction === false ? ' --no-compaction' : ''}${o.snapshotEvery !== undefined ? ` --snapshot-every ${o.snapshotEvery}` : ''}${bugs}`;
}

export function runSeed(o: RunOptions): RunResult {
  // Compaction settings come from their own stream, so they leave the
  // cluster's random choices (and so every older seed's schedule) as they were.
  const crng = new SeededRng((o.seed * 2654435761) ^ 0x5eed);
  const seedSnapshotEvery = [0, 3, 10, 40][crng.int(0, 4)];
  const chunkBytes = [16, 200, 64 * 1024][crng.int(0, 3)];
  // A restarted node applies its committed log over several Readys when the
  // share per Ready is small (issue 19): the checker sees each share.
  const committedPerReady = [1, 3, 1024][crng.int(0, 3)];
  const c = new SimCluster({
    nodes: o.nodes,
    seed: o.seed,
    bugs: o.bugs,
    log: o.log,
    readMode: o.readMode,
    snapshotEvery: o.compaction === false ? 0 : (o.snapshotEvery ?? seedSnapshotEvery),
    maxSnapshotChunkBytes: chunkBytes,
    maxCommittedEntriesPerReady: committedPerReady,
    storage: o.storage,
    trace: o.trace ? (node, e) => o.trace!.record(node, e) : undefined,
  });
  o.trace?.attach(c.names.map(String), () => c.now);
  const rng = c.rng.fork();
  const faults = o.faults !== false;
  const pending = new Map<number, number>(); // command id -> last time it was offered
  let nextId = 1;
  let elections = 0;
  let reads = 0;
  c.onApplied = (_node, e) => {
    const v = e.value as { id?: number } | null;
    if (v && typeof v.id === 'number') pending.delete(v.id);
  };
  let lastLeader: NodeId | null = null;

  let faultsOn = false;
  const harsh = o.profile === 'harsh';
  const offer = (id: number) => {
    pending.set(id, c.now);
    const up = c.upNodes();
    if (up.length === 0) return;
    const target = c.leader() ?? up[rng.int(0, up.length)];
    const result = c.propose(target, { id });
    // Now and then the leader is cut off just after it appended a command,
    // before its AppendEntries arrive: the divergent logs of Figure 8.
    if (faultsOn && result.kind === 'appended' && rng.chance(harsh ? 0.15 : 0.03)) c.network.partition([target]);
  };

  const stats = () => ({
    committed: c.checker.committedCount(),
    reads: c.readsServed.size,
    proposed: nextId - 1,
    elections,
    messages: c.network.sent,
    dropped: c.network.dropped,
    ticks: c.now,
    snapshotsTaken: c.snapshotsTaken,
    snapshotsInstalled: c.snapshotsInstalled,
    appendRejections: c.appendRejections,
    usefulAppendAcks: c.usefulAppendAcks,
    storageFaults: c.storageFaults,
  });

  try {
    // Some seeds have a busy client, some an idle one.
    const clientRate = harsh ? [0.02, 0.05][rng.int(0, 2)] : [0.02, 0.1, 0.3][rng.int(0, 3)];
    if (faults) {
      c.network.faults = {
        dropRate: rng.next() * 0.15,
        duplicateRate: rng.next() * 0.1,
        minDelay: 1,
        maxDelay: 1 + rng.int(0, 5),
      };
    }
    faultsOn = faults;
    for (let i = 0; i < o.steps; i++) {
      // A client with at most 16 commands outstanding, as real clients bound theirs.
      if (pending.size < 16 && rng.chance(clientRate)) offer(nextId++);
      for (const [id, at] of pending) if (c.now - at > 4 * c.electionTicks) offer(id);
      if (rng.chance(0.05)) {
        const up = c.upNodes();
        if (up.length > 0) {
          c.read(up[rng.int(0, up.length)], `r${reads++}`);
        }
      }
      if (faults) injectFault(c, rng);
      const leaderBefore = c.leader();
      const commitBefore = leaderBefore === null ? 0 : c.server(leaderBefore).log.committed;
      c.step();
      if (harsh && faults && leaderBefore !== null && c.isUp(leaderBefore)) {
        // The leader is cut off just after it advanced its commitIndex.
        if (c.server(leaderBefore).log.committed > commitBefore && rng.chance(0.3)) c.network.partition([leaderBefore]);
      }
      const l = c.leader();
      if (l !== lastLeader) {
        if (l !== null) elections++;
        lastLeader = l;
      }
    }
    if (o.liveness !== false) {
      // The faults stop: heal, restart everyone, deliver reliably.
      faultsOn = false;
      c.network.heal();
      c.network.faults = { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: 2 };
      c.storageProvider.heal?.();
      for (const n of c.names) {
        if (!c.restartPeer(n)) throw new Error(`liveness: ${n} cannot start once faults stopped`);
      }
      const electionTimeout = 2 * c.electionTicks;
      if (!c.advanceUntil(() => c.leader() !== null, 10 * electionTimeout)) {
        throw new Error(`liveness: no leader within 10 election timeouts after the network healed`);
      }
      const deadline = c.now + 20 * electionTimeout;
      while (pending.size > 0 && c.now < deadline) {
        for (const [id, at] of pending) if (c.now - at > 2 * electionTimeout) offer(id);
        c.step();
      }
      if (pending.size > 0) {
        throw new Error(`liveness: ${pending.size} commands still pending 20 election timeouts after a leader appeared`);
      }
    }
    return { ok: true, seed: o.seed, replay: replayCommand(o), stats: stats() };
  } catch (e) {
    const reason = e instanceof SafetyViolation ? `safety: ${e.message}` : e instanceof Error ? e.message : String(e);
    const failure = `${reason} (t=${c.now})`;
    o.trace?.fail(e instanceof Error ? e.message : String(e), e instanceof SafetyViolation);
    return { ok: false, seed: o.seed, failure, replay: replayCommand(o), stats: stats() };
  }
}

/** At most one fault per step, each rare enough that the cluster makes progress in between. */
function injectFault(c: SimCluster, rng: ReturnType<SimCluster['rng']['fork']>): void {
  const r = rng.next();
  const up = c.upNodes();
  const down = c.names.filter((n) => !c.isUp(n));
  if (r < 0.004) {
    // Symmetric partition: a random side of 1..n-1 nodes.
    const side = c.names.filter(() => rng.chance(0.5));
    if (side.length > 0 && side.length < c.names.length) c.network.partition(side);
  } else if (r < 0.007) {
    // One-way cut of a random link.
    const a = c.names[rng.int(0, c.names.length)];
    const b = c.names[rng.int(0, c.names.length)];
    if (a !== b) c.network.disconnect(a, b, true);
  } else if (r < 0.015) {
    c.network.heal();
  } else if (r < 0.019 && up.length > 0) {
    c.crashPeer(up[rng.int(0, up.length)]);
  } else if (r < 0.03 && down.length > 0) {
    c.restartPeer(down[rng.int(0, down.length)]);
  } else if (r < 0.035) {
    // Leaders crash soon after election more often than chance would have it:
    // the schedules of Figure 8 need exactly that.
    const leader = c.leader();
    if (leader !== null) c.crashPeer(leader);
  } else if (r < 0.045) {
    // Cut the leader off from everyone: it keeps taking commands it cannot commit.
    const leader = c.leader();
    if (leader !== null) c.network.partition([leader]);
  }
}
