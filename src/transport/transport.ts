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
  /**
   * Start delivering messages addressed to this node (or broadcast) to
   * `handler`, with the source address (host:port) of the datagram or
   * connection it came in on, when the transport knows it.
   */
  start(handler: (message: Message, from?: string) => void): Promise<void>;
  /** Send one message; receiver null means one copy to every peer. */
  send(message: Message): void;
  /** Stop receiving and release sockets. */
  close(): Promise<void>;
  /** What was sent, received and dropped, by reason (docs/wire-format.md, "Transport counters"). */
  counters?(): object;
}

/** Who the transport talks to: a peer's name and address. */
export interface PeerAddress {
  name: NodeId;
  host: string;
  port: number;
}
