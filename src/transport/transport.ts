import { Message, NodeId } from '../messages';

/**
 * How a node's messages reach its peers: simpleRaft's "Board", turned into a
 * push interface (hashicorp/raft's Transport). Implementations: MemoryTransport
 * (in-process, tests), ZeroMQ and UDP gossip (one node per terminal).
 *
 * Every network transport decodes with messages/codec.ts, so what reaches the
 * handler is always a valid Message; malformed input is dropped and counted.
 */
export interface Transport {
  /** Start delivering messages addressed to this node (or broadcast) to `handler`. */
  start(handler: (message: Message) => void): Promise<void>;
  /** Send one message; receiver null means one copy to every peer. */
  send(message: Message): void;
  /** Stop receiving and release sockets. */
  close(): Promise<void>;
}

/** Who the transport talks to: a peer's name and address. */
export interface PeerAddress {
  name: NodeId;
  host: string;
  port: number;
}
