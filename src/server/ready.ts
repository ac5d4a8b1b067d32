import { Message, NodeId } from '../messages';
import { HardState, LogEntry, Snapshot } from '../log/types';
import { Role } from './events';

/** Volatile facts about the node a driver may show (not persisted). */
export interface SoftState {
  role: Role;
  term: number;
  leader: NodeId | null;
}

/** A read may be served once the state machine has applied `index` (thesis §6.4). */
export interface ReadState {
  context: string;
  index: number;
}

/**
 * Everything the protocol core wants done, handed to the driver as one batch
 * (etcd raft's Ready). The driver must, in this order:
 *   1. persist `snapshot` (if not null), `entries` and `hardState` (if not
 *      null) to stable storage, in that order, with one sync: storage.save()
 *      (entries[0].index may be <= the stored last index: replace from there);
 *      if `snapshot` is set, reset the state machine from snapshot.data
 *      (§7, Figure 13 InstallSnapshot receiver 8);
 *   2. send `messages` (they may promise what step 1 wrote: §5.1, thesis §3.8);
 *   3. apply `committedEntries` to the state machine, in order, then serve
 *      the reads in `readStates` whose index is applied;
 *   4. call server.advance(ready).
 */
export interface Ready {
  softState: SoftState;
  hardState: HardState | null;
  entries: LogEntry[];
  messages: Message[];
  /**
   * Committed entries to apply, oldest first: at most
   * maxCommittedEntriesPerReady of them; any more come in the next Readys
   * (hasReady() stays true).
   */
  committedEntries: LogEntry[];
  readStates: ReadState[];
  /**
   * A snapshot received from the leader (§7) that replaces the whole log and
   * the state machine's state. When set, committedEntries is empty: entries
   * after the snapshot are applied in later Readys.
   */
  snapshot: Snapshot | null;
}
