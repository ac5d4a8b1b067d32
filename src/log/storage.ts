import { EMPTY_HARD_STATE, HardState, LogEntry, PersistBatch, Snapshot } from './types';

/**
 * Stable storage: what survives a crash. The Raft log reads persisted entries
 * from here; the driver writes here (save) before it sends any message that
 * depends on what it wrote (Figure 2: "updated on stable storage before
 * responding to RPCs").
 *
 * Indices: entries occupy [firstIndex(), lastIndex()]. term(firstIndex()-1) is
 * the term of the entry just before them: 0 for index 0 (the empty log), or
 * the last included term of the snapshot that replaced the prefix (§7).
 * With nothing after the snapshot, lastIndex() = firstIndex()-1 = its index.
 *
 * Reads are answered from memory in both backends, so the protocol core may
 * call them freely; only the write methods touch a disk, and only the driver
 * calls them (Server.compact aside, which the driver calls in turn).
 */
export interface Storage {
  /** The hard state last saved. */
  hardState(): HardState;
  firstIndex(): number;
  lastIndex(): number;
  /** Term of entry i, for firstIndex()-1 <= i <= lastIndex(). */
  term(i: number): number;
  /** Entries [lo, hi), firstIndex() <= lo <= hi <= lastIndex()+1. */
  entries(lo: number, hi: number): LogEntry[];
  /** The latest snapshot (§7), or null if the log was never compacted. */
  snapshot(): Snapshot | null;

  /**
   * Make one Ready's worth of state durable, in one sync: the snapshot (if
   * any) as by applySnapshot, then the entries as by append, then the hard
   * state. When save returns, all of it survives a crash.
   */
  save(batch: PersistBatch): void;
  /**
   * Like save, but the wait for the disk does not block the event loop: the
   * promise resolves once the batch is durable. Reads see the batch at once.
   * At most one call may be in flight, and no other write meanwhile.
   * Optional: a driver without it (or a backend without a disk) uses save.
   */
  saveAsync?(batch: PersistBatch): Promise<void>;
  /** save({ hardState: hs, entries: [], snapshot: null }). */
  setHardState(hs: HardState): void;
  /**
   * Append entries, replacing any stored entries at or after entries[0].index.
   * firstIndex() <= entries[0].index <= lastIndex()+1.
   */
  append(entries: LogEntry[]): void;
  /**
   * Install a snapshot received from the leader (§7, Figure 13 InstallSnapshot
   * receiver 5 and 7): save it, and discard the entire log; the log continues
   * at snapshot.index + 1. Refused if it is not newer than the current one.
   * (Receiver 6, a log that already holds the snapshot's last entry, never
   * gets here: the core then keeps its log and only advances commitIndex.)
   */
  applySnapshot(snapshot: Snapshot): void;
  /**
   * Local compaction (§7): save `data`, the state machine's state after
   * applying entries up to `index`, as a snapshot, then discard the entries it
   * covers. firstIndex() <= index <= lastIndex(). Returns the snapshot.
   */
  createSnapshot(index: number, data: Uint8Array): Snapshot;
}

/**
 * Storage in memory: for tests and the simulator, where "disk" survives a
 * simulated crash. FileStorage keeps one of these as its in-memory mirror.
 */
export class MemoryStorage implements Storage {
  private hs: HardState = { ...EMPTY_HARD_STATE };
  /** The snapshot the log starts after; index 0 / term 0 when there is none. */
  private snap: Snapshot | null = null;
  private snapIndex = 0;
  private snapTerm = 0;
  /** ents[k] is the entry at index snapIndex + 1 + k. */
  private ents: LogEntry[] = [];

  hardState(): HardState {
    return { ...this.hs };
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.ents.length;
  }

  term(i: number): number {
    if (i === this.snapIndex) return this.snapTerm;
    const e = this.ents[i - this.snapIndex - 1];
    if (e === undefined) throw new RangeError(`term(${i}) outside [${this.snapIndex}, ${this.lastIndex()}]`);
    return e.term;
  }

  entries(lo: number, hi: number): LogEntry[] {
    if (lo < this.firstIndex() || hi > this.lastIndex() + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1}]`);
    }
    return this.ents.slice(lo - this.snapIndex - 1, hi - this.snapIndex - 1);
  }

  snapshot(): Snapshot | null {
    return this.snap;
  }

  save(batch: PersistBatch): void {
    if (batch.snapshot) this.applySnapshot(batch.snapshot);
    this.append(batch.entries);
    if (batch.hardState) this.setHardState(batch.hardState);
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
  }

  append(entries: LogEntry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first > this.lastIndex() + 1) throw new RangeError(`append at ${first} leaves a gap after ${this.lastIndex()}`);
    if (first <= this.snapIndex) throw new RangeError(`append at ${first} reaches into the snapshot (up to ${this.snapIndex})`);
    this.ents.length = first - this.snapIndex - 1;
    for (const e of entries) this.ents.push({ ...e });
  }

  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.index <= this.snapIndex) {
      throw new RangeError(`snapshot at ${snapshot.index} is not newer than ours at ${this.snapIndex}`);
    }
    // Figure 13 receiver 7: discard the entire log.
    this.setSnapshot(snapshot);
    this.ents = [];
  }

  createSnapshot(index: number, data: Uint8Array): Snapshot {
    if (index < this.firstIndex() || index > this.lastIndex()) {
      throw new RangeError(`snapshot at ${index} outside [${this.firstIndex()}, ${this.lastIndex()}]`);
    }
    const snapshot: Snapshot = { index, term: this.term(index), data };
    this.compactTo(snapshot);
    return snapshot;
  }

  /** Adopt `snapshot` and drop the entries it covers, keeping those after it (§7). */
  compactTo(snapshot: Snapshot): void {
    const keep = this.ents.slice(snapshot.index - this.snapIndex);
    this.setSnapshot(snapshot);
    this.ents = keep;
  }

  private setSnapshot(snapshot: Snapshot): void {
    this.snap = snapshot;
    this.snapIndex = snapshot.index;
    this.snapTerm = snapshot.term;
  }
}
