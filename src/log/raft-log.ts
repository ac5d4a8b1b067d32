// The Raft log as one node sees it, split as etcd raft's raftLog is:
//
//   storage (stable, persisted)      unstable (appended, not yet persisted)
//   [firstIndex ........ offset-1]   [offset ........ lastIndex]
//                     ^ applied <= committed
//
// Invariant: applied <= committed <= lastIndex().
// Invariant: unstable.entries[i].index === unstable.offset + i.
//
// The log never truncates entries on its own: only append() after a real
// conflict (§5.3) replaces a suffix, and it refuses to replace committed ones.
//
// Log compaction (§7): storage may start after a snapshot, so firstIndex() can
// be above 1 and term(firstIndex()-1) is the snapshot's last included term. A
// snapshot received from the leader waits here as `pendingSnapshot` (etcd's
// unstable snapshot) until the driver has saved it and restored the state
// machine from it; meanwhile the log is empty up to and including its index.

import { Storage } from './storage';
import { LogEntry, Snapshot } from './types';

export class RaftLog {
  /** Figure 2 commitIndex: highest index known to be committed. */
  committed: number;
  /** Figure 2 lastApplied: highest index handed to the state machine. */
  applied: number;
  private unstableOffset: number;
  private unstableEntries: LogEntry[] = [];
  /** §7, Figure 13: a snapshot from the leader, not yet saved and applied by the driver. */
  private pendingSnap: Snapshot | null = null;

  constructor(readonly storage: Storage) {
    // §7: a snapshot holds only committed entries, so its index is committed
    // even if the hard state saved with it says less.
    this.committed = Math.max(storage.hardState().commitIndex, storage.firstIndex() - 1);
    // A restarted node applies again from the start of what it holds: the
    // state machine (in memory) was lost with the crash, and the driver
    // restores it from the latest snapshot, which covers up to firstIndex-1.
    this.applied = storage.firstIndex() - 1;
    this.unstableOffset = storage.lastIndex() + 1;
  }

  firstIndex(): number {
    return this.pendingSnap ? this.pendingSnap.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.unstableOffset + this.unstableEntries.length - 1;
    return this.pendingSnap ? this.pendingSnap.index : this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /**
   * Term of entry i; 0 for index 0; undefined when i is past the end or was
   * compacted away (§7: only the last included index keeps its term).
   */
  term(i: number): number | undefined {
    if (i === 0) return 0;
    if (i > this.lastIndex() || i < this.firstIndex() - 1) return undefined;
    if (this.pendingSnap && i === this.pendingSnap.index) return this.pendingSnap.term;
    if (i >= this.unstableOffset) return this.unstableEntries[i - this.unstableOffset].term;
    return this.storage.term(i);
  }

  /** Does our log hold an entry at index i with term t? (§5.3 consistency check) */
  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /**
   * Entries [lo, hi). Callers keep the range bounded (maxEntriesPerAppend,
   * maxCommittedEntriesPerReady); even so nothing here spreads a list into
   * one call's arguments, which overflows the stack at ~10^5 elements.
   */
  slice(lo: number, hi: number): LogEntry[] {
    if (lo >= hi) return [];
    const stable = lo < this.unstableOffset ? this.storage.entries(lo, Math.min(hi, this.unstableOffset)) : [];
    if (hi <= this.unstableOffset) return stable;
    const from = Math.max(lo, this.unstableOffset) - this.unstableOffset;
    const unstable = this.unstableEntries.slice(from, hi - this.unstableOffset);
    return stable.length === 0 ? unstable : stable.concat(unstable);
  }

  entry(i: number): LogEntry | undefined {
    return i >= this.firstIndex() && i <= this.lastIndex() ? this.slice(i, i + 1)[0] : undefined;
  }

  /**
   * §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up-to-date as
   * ours? "If the logs have last entries with different terms, then the log
   * with the later term is more up-to-date. If the logs end with the same
   * term, then whichever log is longer is more up-to-date."
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Append entries that follow on from index entries[0].index - 1, replacing
   * whatever we hold from entries[0].index on. Callers have already checked
   * that there is a real conflict (findConflict); replacing a committed entry
   * would break State Machine Safety, so it is refused.
   */
  append(entries: LogEntry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first <= this.committed) {
      throw new Error(`refusing to overwrite committed entry ${first} (committed ${this.committed})`);
    }
    if (first > this.lastIndex() + 1) throw new Error(`append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first >= this.unstableOffset) {
      this.unstableEntries.length = first - this.unstableOffset;
    } else {
      // The conflict reaches into stable storage: the new suffix will replace
      // it there when the driver persists from the new offset.
      this.unstableOffset = first;
      this.unstableEntries = [];
    }
    for (const e of entries) this.unstableEntries.push(e);
  }

  /**
   * The index of the first entry in `entries` that is missing from our log or
   * conflicts with it (same index, different term); 0 if we hold them all.
   * Figure 2, AppendEntries receiver 3-4: only a real conflict truncates.
   */
  findConflict(entries: LogEntry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** Figure 2 "Rules for Servers": commitIndex only moves forward. */
  commitTo(i: number): void {
    if (i > this.committed) {
      if (i > this.lastIndex()) throw new Error(`commit ${i} is past the last index ${this.lastIndex()}`);
      this.committed = i;
    }
  }

  /**
   * Entries committed but not yet applied: (applied, committed], at most
   * `max` of them (at least one), the oldest first; the rest come in later
   * Readys. None while a snapshot waits to be installed: the state machine
   * must first be reset from it (Figure 13 receiver 8), and the entries after
   * it follow.
   */
  nextCommittedEntries(max: number): LogEntry[] {
    if (this.pendingSnap) return [];
    return this.slice(this.applied + 1, Math.min(this.committed, this.applied + max) + 1);
  }

  hasNextCommittedEntries(): boolean {
    return this.pendingSnap === null && this.committed > this.applied;
  }

  appliedTo(i: number): void {
    if (i > this.committed || i < this.applied) {
      throw new Error(`applied ${i} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = i;
  }

  /** Entries the driver must persist. */
  unstable(): LogEntry[] {
    return this.unstableEntries.slice();
  }

  hasUnstable(): boolean {
    return this.unstableEntries.length > 0;
  }

  /**
   * The driver persisted entries up to (index, term). If the unstable suffix
   * was replaced meanwhile (the term differs), nothing is marked stable.
   */
  stableTo(index: number, term: number): void {
    if (index < this.unstableOffset) return;
    const pos = index - this.unstableOffset;
    if (pos >= this.unstableEntries.length || this.unstableEntries[pos].term !== term) return;
    this.unstableEntries = this.unstableEntries.slice(pos + 1);
    this.unstableOffset = index + 1;
  }

  /** Highest index that is in stable storage (and so may count toward a majority). */
  stableLastIndex(): number {
    return this.unstableOffset - 1;
  }

  // ---- Snapshots (§7) ---------------------------------------------------------

  /**
   * Figure 13 InstallSnapshot receiver 7-8: the leader's snapshot replaces our
   * entire log. Call only when the log does not already hold the snapshot's
   * last entry (receiver 6 keeps the log instead) and the snapshot is beyond
   * commitIndex, so nothing committed is lost. The driver saves it and resets
   * the state machine from it (Ready.snapshot), then advance() calls
   * snapshotApplied().
   */
  restore(snapshot: Snapshot): void {
    if (snapshot.index <= this.committed) {
      throw new Error(`snapshot at ${snapshot.index} is not beyond commitIndex ${this.committed}`);
    }
    this.pendingSnap = snapshot;
    this.unstableEntries = [];
    this.unstableOffset = snapshot.index + 1;
    this.committed = snapshot.index;
  }

  /** The snapshot waiting for the driver, if any. */
  pendingSnapshot(): Snapshot | null {
    return this.pendingSnap;
  }

  /** The driver saved the pending snapshot and restored the state machine from it. */
  snapshotApplied(index: number): void {
    if (this.pendingSnap === null || this.pendingSnap.index !== index) return;
    this.pendingSnap = null;
    // Invariant: applied <= committed; the snapshot's index is committed.
    this.applied = Math.max(this.applied, index);
  }

  /** The latest snapshot: the one to send a follower that needs compacted entries (§7). */
  snapshot(): Snapshot | null {
    return this.pendingSnap ?? this.storage.snapshot();
  }

  /**
   * §7: "Each server takes snapshots independently, covering just the
   * committed entries in its log." Only applied entries may be covered (the
   * state machine's state must include them) and only stable ones (storage
   * holds them). The write itself goes to storage; called from the driver
   * through Server.compact.
   */
  compact(index: number, data: Uint8Array): Snapshot {
    if (index > this.applied) throw new Error(`cannot snapshot at ${index}: only ${this.applied} applied`);
    if (index > this.stableLastIndex()) throw new Error(`cannot snapshot at ${index}: only ${this.stableLastIndex()} stable`);
    if (this.pendingSnap) throw new Error('cannot snapshot while a received snapshot waits to be installed');
    return this.storage.createSnapshot(index, data);
  }
}
