import { NodeId } from '../messages';

/**
 * A log entry as the node keeps it. On the wire only {term, value} travel; the
 * index follows from the AppendEntries' prevLogIndex. Indices are 1-based as in
 * the paper. A `value` of null is the no-op a new leader appends (§8).
 */
export interface LogEntry {
  index: number;
  term: number;
  value: unknown;
}

/**
 * Figure 2 "Persistent state on all servers" (currentTerm, votedFor), plus the
 * commitIndex, which etcd raft also persists so a restarted node need not wait
 * for a leader to learn what it had already applied.
 */
export interface HardState {
  currentTerm: number;
  votedFor: NodeId | null;
  commitIndex: number;
}

export const EMPTY_HARD_STATE: HardState = { currentTerm: 0, votedFor: null, commitIndex: 0 };

export function sameHardState(a: HardState, b: HardState): boolean {
  return a.currentTerm === b.currentTerm && a.votedFor === b.votedFor && a.commitIndex === b.commitIndex;
}

/**
 * §7, Figure 12: a snapshot replaces the log prefix it covers with the state
 * machine's state after applying it, plus "the last included index ... and the
 * last included term" so the AppendEntries consistency check still works for
 * the first entry after it. `data` is whatever the StateMachine's snapshot()
 * returned; the log never looks inside it.
 */
export interface Snapshot {
  /** lastIncludedIndex: the index of the last entry the snapshot replaces. */
  index: number;
  /** lastIncludedTerm: the term of that entry. */
  term: number;
  data: Uint8Array;
}

/**
 * One durable batch, as a Ready hands it to the driver: installed snapshot
 * first, then entries, then the hard state that may refer to both. A storage
 * makes the whole batch durable with one sync (etcd's WAL.Save).
 */
export interface PersistBatch {
  hardState: HardState | null;
  entries: LogEntry[];
  snapshot: Snapshot | null;
}
