import { LogEntry } from '../log/types';

/**
 * The pluggable replicated state machine (§5: "each server stores a log
 * containing a series of commands, which its state machine executes in
 * order"). The driver calls apply() for each committed entry, in index order,
 * exactly once per incarnation; a value of null is the leader's no-op (§8)
 * and must change nothing.
 *
 * apply() must be deterministic: no clock, no randomness, no I/O, so every
 * replica reaches the same state from the same log.
 */
export interface StateMachine {
  /** Apply one committed entry; the result goes back to the client that proposed it. */
  apply(entry: LogEntry): unknown;
  /** The whole state as bytes, for a snapshot (log compaction, §7). */
  snapshot(): Uint8Array;
  /** Replace the whole state with a snapshot's. */
  restore(data: Uint8Array): void;
}
