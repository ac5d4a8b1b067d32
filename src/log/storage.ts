import { EMPTY_HARD_STATE, HardState, LogEntry } from './types';

/**
 * Stable storage: what survives a crash. The Raft log reads persisted entries
 * from here; the driver writes here (setHardState, append) before it sends any
 * message that depends on what it wrote (Figure 2: "updated on stable storage
 * before responding to RPCs").
 *
 * Indices: entries occupy [firstIndex(), lastIndex()]. term(firstIndex()-1) is
 * the term of the entry just before them (0 for index 0, the empty log).
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

  setHardState(hs: HardState): void;
  /**
   * Append entries, replacing any stored entries at or after entries[0].index.
   * entries[0].index must be <= lastIndex()+1.
   */
  append(entries: LogEntry[]): void;
}

/** Storage in memory: for tests and the simulator, where "disk" survives a simulated crash. */
export class MemoryStorage implements Storage {
  private hs: HardState = { ...EMPTY_HARD_STATE };
  private log: LogEntry[] = [];

  hardState(): HardState {
    return { ...this.hs };
  }

  firstIndex(): number {
    return 1;
  }

  lastIndex(): number {
    return this.log.length;
  }

  term(i: number): number {
    if (i === 0) return 0;
    const e = this.log[i - 1];
    if (e === undefined) throw new RangeError(`term(${i}) outside [0, ${this.log.length}]`);
    return e.term;
  }

  entries(lo: number, hi: number): LogEntry[] {
    if (lo < 1 || hi > this.log.length + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}) outside [1, ${this.log.length + 1}]`);
    }
    return this.log.slice(lo - 1, hi - 1);
  }

  setHardState(hs: HardState): void {
    this.hs = { ...hs };
  }

  append(entries: LogEntry[]): void {
    if (entries.length === 0) return;
    const first = entries[0].index;
    if (first > this.log.length + 1) throw new RangeError(`append at ${first} leaves a gap after ${this.log.length}`);
    this.log.length = first - 1;
    for (const e of entries) this.log.push({ ...e });
  }
}
