// State: what every role shares (simpleRaft's states/state.py): dispatch on
// the message type, and Figure 2's "Rules for Servers / All Servers" on terms,
// applied once here before any role-specific handler runs (as etcd raft's
// Step does before stepFollower/stepCandidate/stepLeader).

import {
  AppendEntriesMessage,
  ClientCommandMessage,
  InstallSnapshotMessage,
  Message,
  MessageType,
  RequestVoteMessage,
  RequestVoteResponseMessage,
  ResponseMessage,
} from '../messages';
import { Role } from '../server/events';
import { NodeId } from '../messages';
import type { ProposeResult, ReadResult, Server } from '../server/server';

export abstract class State {
  abstract readonly role: Role;

  /** simpleRaft's on_message: term rules, then dispatch. Returns the next state. */
  onMessage(server: Server, message: Message): State {
    // Forwarded client commands and reads are not Raft RPCs: their term
    // carries no claim to leadership, so the term rules below do not apply.
    if (
      message.type === MessageType.ClientCommand ||
      message.type === MessageType.ReadIndex ||
      message.type === MessageType.ReadIndexResponse
    ) {
      return this.dispatch(server, message);
    }

    if (message.type === MessageType.RequestVote) {
      // Even a RequestVote we ignore tells us the log its sender would lead with.
      server.campaigns.note(message.sender, message.term, message.data.lastLogIndex, message.data.lastLogTerm ?? 0);
    } else if ((message.type === MessageType.AppendEntries || message.type === MessageType.InstallSnapshot) && message.term >= server.currentTerm) {
      const why = this.cannotBeOurLeader(server, message);
      if (why !== null) return this.refuseLeader(server, message, why);
    }

    if (message.type === MessageType.RequestVote && message.term > server.currentTerm && server.checkQuorum && this.inLease(server) && !server.bugs.leaseWithoutVoteRule) {
      // Thesis §4.2.3: "if a server receives a RequestVote request within the
      // minimum election timeout of hearing from a current leader, it does
      // not update its term or grant its vote." This keeps a partitioned
      // server from deposing a healthy leader, and is what makes a leader
      // lease (§6.4) sound.
      server.emit({ kind: 'vote', term: server.currentTerm, candidate: message.sender, granted: false, reason: 'heard from a leader within the minimum election timeout' });
      return this;
    }
    // A Response names the responder's term twice: in the envelope and as
    // currentTerm (Figure 2's "term" result). simpleRaft's rejection of a
    // stale request puts the request's term in the envelope and its own only
    // in currentTerm, so we read the higher of the two.
    const term = message.type === MessageType.Response ? Math.max(message.term, message.data.currentTerm) : message.term;
    if (term > server.currentTerm) {
      // §5.1, Figure 2 All Servers: "If RPC request or response contains term
      // T > currentTerm: set currentTerm = T, convert to follower." Only an
      // AppendEntries (or InstallSnapshot, §7) tells us who leads that term.
      const leader =
        message.type === MessageType.AppendEntries || message.type === MessageType.InstallSnapshot ? message.sender : null;
      const follower = server.becomeFollower(term, leader, `saw term ${term} from ${message.sender}`);
      return follower.dispatch(server, message);
    }
    if (term < server.currentTerm) return this.onStaleMessage(server, message);
    return this.dispatch(server, message);
  }

  /**
   * Why the sender of this AppendEntries or InstallSnapshot (of our term or
   * a newer one) cannot be a legitimate leader, or null. Neither ever holds
   * of a Raft leader; simpleRaft's Candidate, which counts refusals as votes,
   * leads anyway (docs/simpleraft-errata.md).
   */
  private cannotBeOurLeader(server: Server, message: AppendEntriesMessage | InstallSnapshotMessage): string | null {
    // §5.2 Election Safety: at most one leader per term, and we know this one's.
    const known = server.leaderId;
    if (message.term === server.currentTerm && known !== null && known !== message.sender && this.role !== 'leader') {
      return `the leader of term ${message.term} is ${known}; a term has at most one leader (§5.2)`;
    }
    // §5.4 Leader Completeness: its campaign showed it lacks a committed entry (server/campaigns.ts).
    const committed = server.log.committed;
    const fromIndex = message.type === MessageType.AppendEntries ? message.data.prevLogIndex : message.data.lastIncludedIndex;
    const lacking = server.campaigns.lacking(message.sender, message.term, fromIndex, committed, server.log.term(committed) ?? Infinity);
    if (lacking === null) return null;
    return `its campaign in term ${lacking.campaignTerm} showed a log without our committed entry ${lacking.index}; a leader holds every committed entry (§5.4)`;
  }

  /**
   * Refuse an AppendEntries or InstallSnapshot from a node that is no leader
   * of ours: no leader recorded, no timer reset, the log untouched. A newer
   * term is still adopted (§5.1), so nobody can lead us in an older one.
   */
  private refuseLeader(server: Server, message: AppendEntriesMessage | InstallSnapshotMessage, reason: string): State {
    const next = message.term > server.currentTerm ? server.becomeFollower(message.term, null, `saw term ${message.term} from ${message.sender}`) : this;
    server.emit({ kind: 'refuse-leader', term: message.term, leader: message.sender, reason });
    // rejectedIndex lets a leader we refused by mistake see a late message for what it is (Leader.isStaleRejection).
    const rejectedIndex = message.type === MessageType.AppendEntries ? message.data.prevLogIndex : undefined;
    rejectReplication(server, message.sender, rejectedIndex);
    return next;
  }

  /** Has this server heard from a current leader within the minimum election timeout? */
  protected inLease(_server: Server): boolean {
    return false;
  }

  /** Hand a message of the current term to the handler for its type. */
  dispatch(server: Server, message: Message): State {
    switch (message.type) {
      case MessageType.AppendEntries:
        return this.onAppendEntries(server, message);
      case MessageType.RequestVote:
        return this.onVoteRequest(server, message);
      case MessageType.RequestVoteResponse:
        return this.onVoteReceived(server, message);
      case MessageType.Response:
        return this.onResponseReceived(server, message);
      case MessageType.ClientCommand:
        return this.onClientCommandMessage(server, message);
      case MessageType.InstallSnapshot:
        return this.onInstallSnapshot(server, message);
      case MessageType.ReadIndex:
        this.onReadIndex(server, message.data.context, message.sender);
        return this;
      case MessageType.ReadIndexResponse:
        // The leader confirmed `index` with a majority after our request left.
        server.addReadState(message.data.context, message.data.index);
        return this;
    }
  }

  /**
   * §5.1: "If a server receives a request with a stale term number, it rejects
   * the request." The rejection carries our term so the sender steps down.
   * Stale replies are answers to questions we no longer ask: drop them.
   */
  protected onStaleMessage(server: Server, message: Message): State {
    // Figure 13 InstallSnapshot receiver 1: "Reply immediately if term < currentTerm."
    if (message.type === MessageType.AppendEntries || message.type === MessageType.InstallSnapshot) {
      rejectReplication(server, message.sender);
    } else if (message.type === MessageType.RequestVote) {
      server.emit({
        kind: 'vote',
        term: server.currentTerm,
        candidate: message.sender,
        granted: false,
        reason: `its term ${message.term} is older than ours`,
      });
      server.send({
        type: MessageType.RequestVoteResponse,
        receiver: message.sender,
        term: server.currentTerm,
        data: { response: false },
      });
    }
    return this;
  }

  /** Figure 2 AppendEntries receiver; only followers accept entries. */
  abstract onAppendEntries(server: Server, message: AppendEntriesMessage): State;

  /**
   * §7, Figure 13: a chunk of a snapshot from the leader of our term. Only a
   * follower installs one (Follower, Candidate override this); a leader
   * refuses, as it refuses an AppendEntries of its own term.
   */
  onInstallSnapshot(server: Server, message: InstallSnapshotMessage): State {
    server.emit({ kind: 'drop', reason: `InstallSnapshot from ${message.sender} in our own term ${message.term}` });
    rejectReplication(server, message.sender);
    return this;
  }

  /** A vote request in our term. Voter grants; a leader has voted for itself. */
  onVoteRequest(server: Server, message: RequestVoteMessage): State {
    refuseVote(server, message, 'we lead this term');
    return this;
  }

  /** A vote reply; only a candidate counts them. */
  onVoteReceived(_server: Server, _message: RequestVoteResponseMessage): State {
    return this;
  }

  /** An AppendEntries reply; only a leader uses them. */
  onResponseReceived(_server: Server, _message: ResponseMessage): State {
    return this;
  }

  /** A client command given to this node. */
  abstract onClientCommand(server: Server, value: unknown): ProposeResult;

  /** A client command forwarded to us by another node. */
  protected onClientCommandMessage(server: Server, message: ClientCommandMessage): State {
    // Not the leader (any more): drop it; the client's retry finds the leader.
    server.emit({ kind: 'drop', reason: `client command from ${message.sender}, but we do not lead` });
    return this;
  }

  /**
   * A linearizable read (thesis §6.4, ReadIndex), from a local client (from
   * null) or forwarded by a follower. Only the leader can answer; a follower
   * forwards a local read to the leader it knows.
   */
  onReadIndex(server: Server, context: string, from: NodeId | null): ReadResult {
    if (from === null && this.role === 'follower' && server.leaderId !== null) {
      server.send({ type: MessageType.ReadIndex, receiver: server.leaderId, term: server.currentTerm, data: { context } });
      return { kind: 'forwarded', leader: server.leaderId };
    }
    if (from !== null) server.emit({ kind: 'drop', reason: `read request from ${from}, but we do not lead` });
    return { kind: 'not-leader', leader: server.leaderId };
  }

  /** One tick of time. Returns the next state. */
  abstract onTick(server: Server): State;

  /** The election timer (§5.2) for a view of the node: ticks elapsed and the timeout; null on a leader, which runs none. */
  electionTimer(): { elapsed: number; timeout: number } | null {
    return null;
  }

  /** Called before a Ready is taken (the leader flushes batched appends). */
  beforeReady(_server: Server): void {}

  /** Called after the driver persisted a Ready. */
  onPersisted(_server: Server): void {}
}

/** Answer an AppendEntries or InstallSnapshot with a rejection carrying our term. */
export function rejectReplication(server: Server, to: NodeId, rejectedIndex?: number): void {
  server.send({
    type: MessageType.Response,
    receiver: to,
    term: server.currentTerm,
    data: { response: false, currentTerm: server.currentTerm, ...(rejectedIndex === undefined ? {} : { rejectedIndex }) },
  });
}

export function refuseVote(server: Server, message: RequestVoteMessage, reason: string): void {
  server.emit({ kind: 'vote', term: server.currentTerm, candidate: message.sender, granted: false, reason });
  server.send({
    type: MessageType.RequestVoteResponse,
    receiver: message.sender,
    term: server.currentTerm,
    data: { response: false },
  });
}
