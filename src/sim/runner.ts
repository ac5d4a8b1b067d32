// One seeded simulator run: random client commands and faults for `steps`
// steps with the safety checker watching every step, then (liveness mode) the
// network heals, every node restarts, and we require a leader within 10
// election timeouts and every command still pending to commit.

import { NodeId } from '../messages';
import { Bugs } from '../server/config';
import { SafetyViolation } from './checker';
import { SimCluster } from './cluster';

export interface RunOptions {
  seed: number;
  nodes: number;
  steps: number;
  faults?: boolean;
  liveness?: boolean;
  bugs?: Partial<Bugs>;
  log?: (line: string) => void;
}

export interface RunResult {
  ok: boolean;
  seed: number;
  failure?: string;
  /** The command that replays this run exactly. */
  replay: string;
  stats: { committed: number; reads: number; proposed: number; elections: number; messages: number; dropped: number; ticks: number };
}

export function replayCommand(o: RunOptions): string {
  const bugs = Object.entries(o.bugs ?? {})
    .filter(([, on]) => on)
    .map(([b]) => ` --bug ${b}`)
    .join('');
  return `npm run sim -- --seed ${o.seed} --nodes ${o.nodes} --steps ${o.steps}${o.faults === false ? ' --no-faults' : ''}${o.liveness === false ? ' --no-liveness' : ''}${bugs}`;
}

export function runSeed(o: RunOptions): RunResult {
  const c = new SimCluster({ nodes: o.nodes, seed: o.seed, bugs: o.bugs, log: o.log });
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

  const offer = (id: number) => {
    pending.set(id, c.now);
    const up = c.upNodes();
    if (up.length === 0) return;
    const target = c.leader() ?? up[rng.int(0, up.length)];
    c.propose(target, { id });
  };

  const stats = () => ({
    committed: c.checker.committedCount(),
    reads: c.readsServed.size,
    proposed: nextId - 1,
    elections,
    messages: c.network.sent,
    dropped: c.network.dropped,
    ticks: c.now,
  });

  try {
    // Some seeds have a busy client, some an idle one.
    const clientRate = [0.02, 0.1, 0.3][rng.int(0, 3)];
    if (faults) {
      c.network.faults = {
        dropRate: rng.next() * 0.15,
        duplicateRate: rng.next() * 0.1,
        minDelay: 1,
        maxDelay: 1 + rng.int(0, 5),
      };
    }
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
      c.step();
      const l = c.leader();
      if (l !== lastLeader) {
        if (l !== null) elections++;
        lastLeader = l;
      }
    }
    if (o.liveness !== false) {
      // The faults stop: heal, restart everyone, deliver reliably.
      c.network.heal();
      c.network.faults = { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: 2 };
      for (const n of c.names) c.restartPeer(n);
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
