import { BaseMessage, MessageType } from './base';

/**
 * A client command a follower forwards to the leader it knows (the paper's §8:
 * "if a client contacts a follower, the follower redirects it"; we forward as
 * etcd raft's MsgProp does). Type code 5 is ours; simpleRaft ignores it.
 */
export interface ClientCommandData {
  value: unknown;
}

export type ClientCommandMessage = BaseMessage<MessageType.ClientCommand, ClientCommandData>;
