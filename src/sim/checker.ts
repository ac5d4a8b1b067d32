// Safety checks for the simulator: the properties of the paper's Figure 3,
// plus our own: commitIndex never goes back, nothing applied twice, one vote
// per server per term (§5.2, which a lost hard state would break), and State
// Machine Safety for snapshots: a state machine reset from a snapshot (§7)
// must hold exactly the committed values up to its index.
// The cluster calls these hooks as things happen, and checkStep() after every
// simulated step; each check is incremental so thousands of steps stay cheap.

import { NodeId } from '../messages';
import { HardState, LogEntry } from '../log/types';
import { SoftState } from '../server/ready';

export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

interface Committed {
  term: number;
  value: string;
  /** The lowest term in which any node saw this index committed. */
  commitTerm: number;
}

/** What the checker needs to read from a live node. */
export interface NodeView {
  name: NodeId;
  soft(): SoftState;
  /** Term of our log's entry at index i (undefined if absent). */
  term(i: number): number | undefined;
  entry(i: number): LogEntry | undefined;
  lastIndex(): number;
  commitIndex(): number;
  /** First index still in the log; entries below it were compacted into a snapshot (§7). */
  firstIndex?(): number;
}

export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Log Matching: for each (index, term) the value and the previous entry's term. */
  private readonly entriesSeen = new Map<string, { value: string; prevTerm: number }>();
  private readonly committed = new Map<number, Committed>();
  private readonly applied = new Map<number, string>();
  private readonly lastPersistedCommit = new Map<NodeId, number>();
  private readonly lastApplied = new Map<NodeId, number>();
  private readonly leaders = new Map<NodeId, number>(); // node -> term it currently leads
  private readonly votes = new Map<string, NodeId>(); // `${voter}@${term}` -> candidate

  /** A node is about to persist `entries` (already in its log) and `hs`. */
  onPersist(node: NodeView, entries: LogEntry[], hs: HardState | null, storedTerm: (i: number) => number | undefined): void {
    for (const e of entries) {
      // No committed entry is ever removed from a log: the one being replaced
      // at this index must not be the committed one.
      const old = storedTerm(e.index);
      const c = this.committed.get(e.index);
      if (old !== undefined && old !== e.term && c !== undefined && c.term === old) {
        throw new SafetyViolation('Leader Completeness', `${node.name} replaced committed entry ${e.index} (term ${old}) with term ${e.term}`);
      }
      // Log Matching: entries with the same index and term hold the same
      // command and follow the same history (checked one link at a time).
      const key = `${e.index}:${e.term}`;
      const value = JSON.stringify(e.value);
      const prevTerm = node.term(e.index - 1) ?? -1;
      const seen = this.entriesSeen.get(key);
      if (seen === undefined) this.entriesSeen.set(key, { value, prevTerm });
      else if (seen.value !== value || seen.prevTerm !== prevTerm) {
        throw new SafetyViolation(
          'Log Matching',
          `${node.name} holds entry ${key} = ${value} after term ${prevTerm}; another log has ${seen.value} after term ${seen.prevTerm}`,
        );
      }
    }
    if (hs !== null) {
      const before = this.lastPersistedCommit.get(node.name) ?? 0;
      if (hs.commitIndex < before) {
        throw new SafetyViolation('Monotonic commit', `${node.name} commitIndex went from ${before} back to ${hs.commitIndex}`);
      }
    }
  }

  /** The node's storage saved `hs` (the write returned: it is durable). */
  onSaved(node: NodeView, hs: HardState | null): void {
    if (hs !== null) this.lastPersistedCommit.set(node.name, hs.commitIndex);
  }

  /** A node's commitIndex now covers (from, to]; record and cross-check. */
  onCommit(node: NodeView, from: number, to: number): void {
    const term = node.soft().term;
    for (let i = from + 1; i <= to; i++) {
      const e = node.entry(i);
      if (e === undefined) throw new SafetyViolation('Commit', `${node.name} committed ${i} which it does not hold`);
      const value = JSON.stringify(e.value);
      const c = this.committed.get(i);
      if (c === undefined) {
        this.committed.set(i, { term: e.term, value, commitTerm: term });
        // Leader Completeness for leaders of later terms that already exist.
        for (const [leader, leaderTerm] of this.leaders) {
          if (leaderTerm > term) this.requireHolds(leader, leaderTerm, i, e.term);
        }
      } else if (c.term !== e.term || c.value !== value) {
        throw new SafetyViolation(
          'State Machine Safety',
          `index ${i} committed as term ${c.term} ${c.value} elsewhere but as term ${e.term} ${value} on ${node.name}`,
        );
      } else if (term < c.commitTerm) c.commitTerm = term;
    }
  }

  /** A node's state machine applied `entries` (an incarnation starts at `from`). */
  onApply(node: NodeView, entries: LogEntry[]): void {
    let last = this.lastApplied.get(node.name) ?? 0;
    for (const e of entries) {
      if (e.index !== last + 1) {
        throw new SafetyViolation('Applied once, in order', `${node.name} applied ${e.index} after ${last}`);
      }
      last = e.index;
      const value = `${e.term}:${JSON.stringify(e.value)}`;
      const other = this.applied.get(e.index);
      if (other === undefined) this.applied.set(e.index, value);
      else if (other !== value) {
        throw new SafetyViolation('State Machine Safety', `${node.name} applied ${value} at ${e.index}; another node applied ${other}`);
      }
    }
    this.lastApplied.set(node.name, last);
  }

  /**
   * A node restarted: its (in-memory) state machine starts again from
   * nothing, or from the snapshot its storage holds (up to `appliedFrom`).
   */
  onRestart(name: NodeId, appliedFrom = 0): void {
    if (appliedFrom > 0) this.lastApplied.set(name, appliedFrom);
    else this.lastApplied.delete(name);
    this.leaders.delete(name);
  }

  /**
   * A node's state machine was reset from a snapshot (§7: installed from the
   * leader, or loaded at restart) and now holds `values`, the JSON of the
   * values of entries 1..index in order. State Machine Safety: each must be
   * the value committed at that index; none missing, none twice.
   */
  onSnapshotRestore(name: NodeId, index: number, values: string[]): void {
    if (values.length !== index) {
      throw new SafetyViolation('State Machine Safety', `${name} restored a snapshot at ${index} holding ${values.length} values`);
    }
    for (let i = 1; i <= index; i++) {
      const c = this.committed.get(i);
      if (c === undefined) {
        throw new SafetyViolation('State Machine Safety', `${name}'s snapshot at ${index} holds entry ${i}, which no node committed`);
      }
      if (c.value !== values[i - 1]) {
        throw new SafetyViolation('State Machine Safety', `${name}'s snapshot holds ${values[i - 1]} at ${i}, but ${c.value} was committed there`);
      }
    }
    this.lastApplied.set(name, index);
  }

  /**
   * §5.2: "each server will vote for at most one candidate in a given term".
   * Seen on the wire, so a vote forgotten across a crash (hard state not
   * durable before the reply left) shows as a second grant.
   */
  onVoteGranted(voter: NodeId, term: number, candidate: NodeId): void {
    const key = `${voter}@${term}`;
    const before = this.votes.get(key);
    if (before === undefined) this.votes.set(key, candidate);
    else if (before !== candidate) {
      throw new SafetyViolation('One vote per term', `${voter} voted for ${before} and for ${candidate} in term ${term}`);
    }
  }

  /** After every step: Election Safety and Leader Completeness for new leaders. */
  checkStep(nodes: NodeView[]): void {
    for (const node of nodes) {
      const s = node.soft();
      if (s.role !== 'leader') {
        this.leaders.delete(node.name);
        continue;
      }
      const holder = this.leaderOfTerm.get(s.term);
      if (holder === undefined) this.leaderOfTerm.set(s.term, node.name);
      else if (holder !== node.name) {
        throw new SafetyViolation('Election Safety', `both ${holder} and ${node.name} are leaders of term ${s.term}`);
      }
      if (this.leaders.get(node.name) !== s.term) {
        this.leaders.set(node.name, s.term);
        // Leader Completeness: a new leader holds every entry committed in an earlier term.
        for (const [i, c] of this.committed) {
          if (c.commitTerm < s.term) this.requireHolds(node.name, s.term, i, c.term, node);
        }
      }
    }
  }

  private nodeViews = new Map<NodeId, NodeView>();

  /** Register the live view of a node (replaced on restart). */
  track(node: NodeView): void {
    this.nodeViews.set(node.name, node);
  }

  private requireHolds(leader: NodeId, leaderTerm: number, index: number, term: number, view?: NodeView): void {
    const node = view ?? this.nodeViews.get(leader);
    if (node === undefined) return;
    // Compacted into the leader's snapshot (§7), whose contents were checked
    // against the committed values when it was made or installed.
    if (node.firstIndex !== undefined && index < node.firstIndex()) return;
    if (node.term(index) !== term) {
      throw new SafetyViolation(
        'Leader Completeness',
        `${leader}, leader of term ${leaderTerm}, lacks committed entry ${index} (term ${term}); it has term ${node.term(index)}`,
      );
    }
  }

  /** How many indices are committed (for reports). */
  committedCount(): number {
    return this.committed.size;
  }
}
