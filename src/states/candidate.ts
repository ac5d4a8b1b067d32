// Candidate (simpleRaft's states/candidate.py): asks for votes and counts
// them (§5.2).

import { AppendEntriesMessage, InstallSnapshotMessage, MessageType, NodeId, RequestVoteResponseMessage } from '../messages';
import type { ProposeResult, Server } from '../server/server';
import { State } from './state';
import { Voter } from './voter';

export class Candidate extends Voter {
  readonly role = 'candidate' as const;
  /** Distinct members that granted us their vote in this term, ourselves included. */
  readonly votes = new Set<NodeId>();

  /** §5.2: on conversion to candidate: vote for self, send RequestVote to all. */
  constructor(server: Server) {
    super(server);
    this.votes.add(server.name);
    if (server.peers.length > 0) {
      // receiver null: a broadcast, as simpleRaft's candidate sends it.
      server.send({
        type: MessageType.RequestVote,
        receiver: null,
        term: server.currentTerm,
        data: { lastLogIndex: server.log.lastIndex(), lastLogTerm: server.log.lastTerm() },
      });
    }
  }

  /**
   * §5.2: "A candidate wins an election if it receives votes from a majority of
   * the servers in the full cluster for the same term." Replies of other terms
   * never get here (State.onMessage); refusals are not votes.
   */
  override onVoteReceived(server: Server, message: RequestVoteResponseMessage): State {
    if (message.data.response || server.bugs.countRejectedVotes) this.votes.add(message.sender);
    if (this.votes.size >= server.quorum()) return server.becomeLeader();
    return this;
  }

  /**
   * §5.2: "If the AppendEntries RPC is received from another server claiming to
   * be leader and the leader's term is at least as large as the candidate's
   * current term, then the candidate recognizes the leader as legitimate and
   * returns to follower state."
   */
  onAppendEntries(server: Server, message: AppendEntriesMessage): State {
    const follower = server.becomeFollower(message.term, message.sender, `heard from leader ${message.sender}`);
    return follower.onAppendEntries(server, message);
  }

  /** §5.2 as for AppendEntries: a snapshot from the leader of our term makes us its follower (§7). */
  override onInstallSnapshot(server: Server, message: InstallSnapshotMessage): State {
    const follower = server.becomeFollower(message.term, message.sender, `heard from leader ${message.sender}`);
    return follower.onInstallSnapshot(server, message);
  }

  onClientCommand(_server: Server, _value: unknown): ProposeResult {
    return { kind: 'not-leader', leader: null };
  }
}
