import { BaseMessage, MessageType, NodeId } from './base';

/**
 * §7, Figure 13 "InstallSnapshot RPC" arguments: the leader sends a follower
 * the snapshot that replaced the entries it needs, in chunks, so that no
 * single message is large. Type code 4 is ours; simpleRaft has no snapshots
 * and ignores it.
 *
 * The follower replies to each chunk with a Response (type 3): on the last
 * chunk, once the snapshot is installed, `{response: true, matchIndex:
 * lastIncludedIndex}`, which the leader reads like any AppendEntries success;
 * before that, `snapshotOffset` says how many bytes it holds, so the leader
 * sends the next chunk from there (or starts again from 0).
 */
export interface InstallSnapshotData {
  leaderId: NodeId;
  /** The snapshot replaces all entries up through and including this index. */
  lastIncludedIndex: number;
  /** Term of lastIncludedIndex. */
  lastIncludedTerm: number;
  /** Byte offset where this chunk is positioned in the snapshot file. */
  offset: number;
  /** Raw bytes of the chunk, starting at offset, in standard base64 (JSON has no bytes). */
  data: string;
  /** True if this is the last chunk. */
  done: boolean;
}

export type InstallSnapshotMessage = BaseMessage<MessageType.InstallSnapshot, InstallSnapshotData>;
