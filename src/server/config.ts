import { NodeId } from '../messages';
import { Storage } from '../log/storage';
import { Rng } from '../time/rng';
import { RaftEvent } from './events';

/**
 * Classic Raft bugs that tests can switch back on, to show the simulator's
 * safety checks catch each of them (test/sim/bugs.test.ts). Never set outside
 * tests; every one is false by default.
 */
export interface Bugs {
  /** Candidate counts RequestVoteResponses whether granted or not (simpleRaft). */
  countRejectedVotes: boolean;
  /** Voter compares only lastLogIndex, ignoring lastLogTerm (simpleRaft, §5.4.1). */
  ignoreLastLogTerm: boolean;
  /**
   * Leader commits a previous-term entry by counting replicas (Figure 8,
   * §5.4.2). As in the paper's Figure 8, the new leader then also skips the
   * no-op of §8: that no-op, sent with the old entries, hides the bug in
   * almost every schedule.
   */
  commitPreviousTermByCount: boolean;
  /** Follower counts entries as committed on arrival, ignoring leaderCommit (simpleRaft). */
  followerCommitsOnArrival: boolean;
  /** Follower drops everything after a (possibly stale) AppendEntries' last entry. */
  truncateOnStaleAppend: boolean;
  /** Leader answers ReadIndex without a majority confirming it still leads (thesis §6.4). */
  readsWithoutQuorum: boolean;
  /**
   * Servers grant votes even right after hearing from a leader (no §4.2.3
   * rule), while the leader still serves lease reads: the lease is unsound.
   */
  leaseWithoutVoteRule: boolean;
}

export const NO_BUGS: Bugs = {
  countRejectedVotes: false,
  ignoreLastLogTerm: false,
  commitPreviousTermByCount: false,
  followerCommitsOnArrival: false,
  truncateOnStaleAppend: false,
  readsWithoutQuorum: false,
  leaseWithoutVoteRule: false,
};

export type InitialState = 'follower' | 'candidate';

/**
 * How a leader confirms it may serve a linearizable read (thesis §6.4):
 * 'index' asks a majority each time (ReadIndex, the default); 'lease' trusts
 * a majority's recent heartbeat acknowledgements for one election timeout
 * less a clock-drift bound, and needs checkQuorum.
 */
export type ReadMode = 'index' | 'lease';

export interface ServerConfig {
  /** This node's name. */
  name: NodeId;
  /** The other members of the cluster (the configuration is fixed). */
  peers: NodeId[];
  storage: Storage;
  rng: Rng;
  /**
   * §5.2: the election timeout is drawn at random from
   * [electionTicks, 2 * electionTicks) every time the timer is reset.
   */
  electionTicks: number;
  /** The leader sends heartbeats every heartbeatTicks (< electionTicks). */
  heartbeatTicks: number;
  /**
   * simpleRaft's initial state: 'follower' waits for a leader or its timeout;
   * 'candidate' campaigns on the first tick of a fresh node (one restarting
   * with a saved term waits like a follower). Both are safe: a candidate still
   * needs a majority of votes in a fresh term.
   */
  initialState?: InitialState;
  /** Most entries in one AppendEntries. */
  maxEntriesPerAppend?: number;
  /** Most AppendEntries with entries in flight to one follower (pipelining). */
  maxInflight?: number;
  /**
   * Most committed entries handed out in one Ready (default 1024), as etcd
   * raft's MaxCommittedSizePerReady bounds them (by bytes there). A node
   * restarting with a long unsnapshotted log has all of it committed at once;
   * it is applied over many Readys, so no single Ready, list or call grows
   * with the log's length, and a driver can serve its clients between them.
   * We count entries rather than bytes because entries reach the core as
   * values, not bytes (measuring them would mean encoding each once more);
   * each is already bounded in size where it enters (a proposal's
   * maxEntryBytes, the codec's limits), so this bounds the bytes as well.
   */
  maxCommittedEntriesPerReady?: number;
  /** Largest chunk of a snapshot in one InstallSnapshot message, in bytes (§7; default 64 KiB). */
  maxSnapshotChunkBytes?: number;
  /**
   * etcd's CheckQuorum (thesis §6.2): a leader that has not heard from a
   * majority within an election timeout steps down; and a server that heard
   * from a leader within the minimum election timeout ignores RequestVote of
   * a higher term (thesis §4.2.3). Default true.
   */
  checkQuorum?: boolean;
  readMode?: ReadMode;
  /** The clock-drift bound taken off a leader lease, in ticks (default electionTicks / 10). */
  leaseDriftTicks?: number;
  /** Receives one event per protocol step that matters to a reader of the logs. */
  onEvent?: (e: RaftEvent) => void;
  bugs?: Partial<Bugs>;
}
