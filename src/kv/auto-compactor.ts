// AutoCompactor: etcd's --auto-compaction-mode/--auto-compaction-retention,
// so the history (and a node's memory) stays bounded without an operator.
//
// Like the lease expiry task (lease-keeper.ts) it is leader-only and never
// touches the store: it *proposes* a compaction command through the log, and
// every replica applies it at the same index. apply() reads no clock; only
// this task does, on the leader. Safety needs nothing more: the store checks
// each compaction when it is applied (a revision at or below the compacted
// one, or above the current one, is refused on every replica alike), so a
// stale leader's proposal either commits as a valid compaction or is
// discarded with its term (§5.3).
//
// The modes, after etcd 3.4 (etcd-io/etcd etcdserver/api/v3compactor):
// - periodic, retention D: keep at least D of history. Every D/10 (D capped
//   at 1 h for this) the task samples the store's revision; once a sample is
//   D old, it proposes a compaction at it. So history covers between D and
//   D + D/10.
// - revision, retention N: keep the last N revisions: when the revision is
//   more than N past the compacted one, propose a compaction at revision - N.
//   etcd checks every 5 minutes; we check every `checkMs` (default 1 s) so a
//   burst of writes cannot outgrow the bound for long.

import { CompactionJson } from './commands';

export type AutoCompactionMode = 'periodic' | 'revision' | 'off';

export interface AutoCompactionConfig {
  mode: AutoCompactionMode;
  /** periodic: milliseconds of history to keep; revision: revisions to keep. */
  retention: number;
}

/** Our default: the last 10,000 revisions (etcd's is off, which lets memory grow without bound). */
export const DEFAULT_AUTO_COMPACTION: AutoCompactionConfig = { mode: 'revision', retention: 10_000 };

/** What the task sees of the node and its store, read fresh at each check. */
export interface CompactorView {
  isLeader: boolean;
  revision: number;
  compactRevision: number;
}

const HOUR_MS = 3_600_000;

export class AutoCompactor {
  /** periodic: (time, revision) samples, oldest first. */
  private samples: { at: number; revision: number }[] = [];
  private lastSampleAt = -Infinity;
  /** The last revision proposed, so one is not proposed again while it commits. */
  private proposed = 0;

  constructor(private readonly config: AutoCompactionConfig) {}

  /** How often the shell should call check(): every sample (periodic) or checkMs (revision). */
  intervalMs(checkMs = 1000): number {
    if (this.config.mode === 'periodic') return Math.max(1, Math.min(this.config.retention, HOUR_MS) / 10);
    return checkMs;
  }

  /** Decide at time `now` (ms, any monotonic origin); returns a revision to compact at, or null. */
  check(now: number, view: CompactorView): number | null {
    if (this.config.mode === 'off') return null;
    if (!view.isLeader) {
      // A follower keeps no samples: a new leader starts its own window.
      this.samples = [];
      this.lastSampleAt = -Infinity;
      return null;
    }
    const target = this.config.mode === 'revision' ? view.revision - this.config.retention : this.periodic(now, view.revision);
    if (target === null || target <= view.compactRevision || target <= this.proposed || target > view.revision) return null;
    this.proposed = target;
    return target;
  }

  private periodic(now: number, revision: number): number | null {
    const every = Math.max(1, Math.min(this.config.retention, HOUR_MS) / 10);
    if (now - this.lastSampleAt >= every) {
      this.samples.push({ at: now, revision });
      this.lastSampleAt = now;
    }
    // The newest sample at least `retention` old is the revision to keep from.
    let target: number | null = null;
    while (this.samples.length > 0 && now - this.samples[0].at >= this.config.retention) {
      target = this.samples.shift()!.revision;
    }
    return target;
  }
}

/**
 * Parse etcd's flags: periodic retention is a duration ("1h", "30m", "90s",
 * or a bare number of hours, as etcd reads it); revision retention is a count.
 * Returns the configuration, or a message naming the bad flag.
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompactionConfig | string {
  if (mode !== 'periodic' && mode !== 'revision' && mode !== 'off') return `--auto-compaction-mode: expected periodic, revision or off, got ${mode}`;
  if (mode === 'off') return { mode, retention: 0 };
  if (mode === 'revision') {
    if (!/^[0-9]+$/.test(retention) || Number(retention) < 1 || !Number.isSafeInteger(Number(retention))) {
      return `--auto-compaction-retention: expected a number of revisions >= 1 in revision mode, got ${retention}`;
    }
    return { mode, retention: Number(retention) };
  }
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(retention);
  const unit = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS };
  const ms = m ? Number(m[1]) * unit[(m[2] ?? 'h') as keyof typeof unit] : NaN;
  if (!(ms >= 1)) return `--auto-compaction-retention: expected a duration such as 1h, 30m or 90s in periodic mode, got ${retention}`;
  return { mode, retention: ms };
}

export interface AutoCompactionTask {
  config: AutoCompactionConfig;
  /** Read fresh at each check. */
  view: () => CompactorView;
  /** Propose a command through the log (the node's propose). */
  propose: (command: CompactionJson) => Promise<unknown>;
  /** Milliseconds, monotonic; default performance.now. */
  now?: () => number;
  /** Revision mode: how often to check (default 1 s). */
  checkMs?: number;
}

/** Run the task on a timer (the shell's part); returns a function that stops it. */
export function startAutoCompaction(t: AutoCompactionTask): () => void {
  if (t.config.mode === 'off') return () => undefined;
  const compactor = new AutoCompactor(t.config);
  const now = t.now ?? (() => performance.now());
  const timer = setInterval(() => {
    const revision = compactor.check(now(), t.view());
    // A proposal lost in an election is simply made again later, at a newer revision.
    if (revision !== null) void t.propose({ op: 'compaction', revision }).catch(() => undefined);
  }, compactor.intervalMs(t.checkMs));
  timer.unref();
  return () => clearInterval(timer);
}
