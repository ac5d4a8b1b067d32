// ZeroMqTransport: simpleRaft's ZeroMQServer (servers/server.py), made to work.
//
// As there, each node binds one PUB socket on its own port and subscribes to
// every peer's PUB -- here with one SUB socket per peer, so that we know which
// peer each message came from. simpleRaft's version never delivered a
// message (../shared/simpleraft-facts.md, fact 10): it ignored its port, set no
// subscription (a SUB socket with none receives nothing) and sent Python
// objects instead of bytes. Here:
//
//   * every message is two frames: [topic, JSON] (docs/wire-format.md);
//   * the topic names the receiver: "to:<name>\0", or "all\0" for a broadcast
//     (receiver null). The NUL ends the name, so that ZeroMQ's prefix matching
//     cannot deliver "to:n10\0" to the subscriber of "to:n1\0"; node names
//     never contain NUL (the codec refuses control characters), and "all\0"
//     cannot be mistaken for "to:...", so no name can clash with it;
//   * a node subscribes to exactly its own topic and "all\0", so the PUB side
//     filters and a node receives only what is meant for it;
//   * the JSON frame is the codec's (messages/codec.ts); anything that does
//     not decode is dropped and counted, never thrown;
//   * a message must name as its sender the peer whose PUB it came from;
//     anything else is dropped and counted (`notMember`). A SUB socket only
//     connects out, and a PUB socket ignores whatever a connecting socket
//     sends it, so a process outside the cluster cannot inject at all -- unless
//     it holds a member's configured port (the member down, or on its host),
//     and then it can speak only as that member (docs/wire-format.md);
//   * ZeroMQ reconnects by itself to peers that start late or restart
//     (reconnectInterval). One case it does not: a frame over the SUB
//     socket's maxMessageSize is a protocol error to libzmq, which drops that
//     peer's session for good. So on every disconnect of a peer we connect
//     to it afresh (see reconnect).
//
// Sending never blocks the node: a PUB socket drops messages for a peer that
// is not connected or whose queue is full (its high-water mark). zeromq v6's
// send() is asynchronous and allows one call in flight at a time, so messages
// wait in a bounded queue here; when it is full the oldest is dropped (newer
// messages carry newer terms and indices, and Raft retries anyway).

import * as zmq from 'zeromq';
import { CodecError, CodecErrorCode, decodeMessage, encodeMessage, MAX_MESSAGE_BYTES } from '../messages/codec';
import { Message, NodeId } from '../messages';
import { fitMessage, maxEntryBytesFor, sameNode, withConfiguredNames, withDefaults } from './split';
import { PeerAddress, Transport } from './transport';

/** The topic frame of a message addressed to `name`: "to:<name>" and a NUL byte, UTF-8. */
export function topicFor(name: NodeId): Buffer {
  return Buffer.from(`to:${String(name)}\0`, 'utf8');
}

/** The topic frame of a broadcast (receiver null). */
export const BROADCAST_TOPIC: Buffer = Buffer.from('all\0', 'utf8');

export interface ZeroMqTransportOptions {
  /** This node's name; it subscribes to topicFor(name). */
  name: NodeId;
  /** Port of this node's PUB socket. */
  port: number;
  /** Address the PUB socket binds to (default 127.0.0.1). */
  host?: string;
  /** Every other node; the SUB socket connects to each one's PUB. */
  peers: PeerAddress[];
  /** Largest JSON frame sent or accepted (default the codec's MAX_MESSAGE_BYTES, 4 MiB). */
  maxMessageBytes?: number;
  /** Messages waiting for the socket before the oldest is dropped (default 10000). */
  sendQueueLimit?: number;
  /** ZeroMQ high-water marks, in messages, per peer (default 10000). */
  highWaterMark?: number;
  /** First delay before reconnecting to a peer that is down, ms (default 100). */
  reconnectIntervalMs?: number;
  /** Longest delay between reconnection attempts, ms (default 1000). */
  reconnectIntervalMaxMs?: number;
  /** How long start() retries binding a port still held by a socket just closed, ms (default 500). */
  bindRetryMs?: number;
  /** Wall clock in ms for the message timestamp (default Date.now). */
  now?: () => number;
  /** Called for every dropped message with the reason: hook a debug log here. */
  onDrop?: (reason: ZeroMqDropReason, detail: string) => void;
}

export type ZeroMqDropReason =
  | 'malformed'
  | 'bad-frames'
  | 'misaddressed'
  | 'not-member'
  | 'queue-full'
  | 'oversized'
  | 'send-error'
  | 'handler-error'
  | 'closed';

export interface ZeroMqCounters {
  /** Messages handed to the PUB socket (one per piece of a split message). */
  sent: number;
  /** Messages delivered to the handler. */
  received: number;
  /** JSON frames the codec refused, total and by CodecError code. */
  malformed: number;
  malformedByCode: Partial<Record<CodecErrorCode, number>>;
  /** Multipart messages with other than 2 frames, or a topic not ours. */
  badFrames: number;
  /** Valid messages whose receiver is another node. */
  misaddressed: number;
  /** Valid messages whose sender is not the peer whose PUB socket they came from. */
  notMember: number;
  /** Outgoing messages dropped because the send queue was full. */
  queueFull: number;
  /** Outgoing messages (or entries) too large for maxMessageBytes. */
  oversized: number;
  /** Outgoing AppendEntries cut into more than one message. */
  split: number;
  sendErrors: number;
  /** Exceptions thrown by the handler (caught so the receive loop survives). */
  handlerErrors: number;
  /** Messages given to send() before start() or after close() that were not sent. */
  droppedClosed: number;
  /** Peer links connected afresh after ZeroMQ reported them disconnected. */
  reconnects: number;
}

function zeroCounters(): ZeroMqCounters {
  return {
    sent: 0,
    received: 0,
    malformed: 0,
    malformedByCode: {},
    badFrames: 0,
    misaddressed: 0,
    notMember: 0,
    queueFull: 0,
    oversized: 0,
    split: 0,
    sendErrors: 0,
    handlerErrors: 0,
    droppedClosed: 0,
    reconnects: 0,
  };
}

function endpoint(host: string, port: number): string {
  return host.includes(':') ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}

/** Which counter each kind of drop increments. */
const DROP_COUNTER: Record<ZeroMqDropReason, keyof Omit<ZeroMqCounters, 'malformedByCode'>> = {
  'malformed': 'malformed',
  'bad-frames': 'badFrames',
  'misaddressed': 'misaddressed',
  'not-member': 'notMember',
  'queue-full': 'queueFull',
  'oversized': 'oversized',
  'send-error': 'sendErrors',
  'handler-error': 'handlerErrors',
  'closed': 'droppedClosed',
};

export class ZeroMqTransport implements Transport {
  readonly name: NodeId;
  private readonly opts: Required<Omit<ZeroMqTransportOptions, 'onDrop'>> & Pick<ZeroMqTransportOptions, 'onDrop'>;
  private readonly counts = zeroCounters();
  private readonly ownTopic: Buffer;
  /** Each peer's name by its text (1 and "1" are one node). */
  private readonly peerNames = new Map<string, NodeId>();
  private pub: zmq.Publisher | null = null;
  /** One SUB socket per peer, connected to that peer's PUB only. */
  private subs: zmq.Subscriber[] = [];
  private handler: ((m: Message, from?: string) => void) | null = null;
  private state: 'new' | 'started' | 'closed' = 'new';
  // The send queue: frames waiting for the PUB socket, oldest at `head`.
  private queue: [Buffer, Buffer][] = [];
  private head = 0;
  private pumping = false;
  private receiving: Promise<void>[] = [];

  constructor(options: ZeroMqTransportOptions) {
    this.name = options.name;
    const names = new Set<string>([String(options.name)]);
    for (const p of options.peers) {
      if (names.has(String(p.name))) throw new Error(`duplicate node name ${JSON.stringify(p.name)} among self and peers`);
      names.add(String(p.name));
      this.peerNames.set(String(p.name), p.name);
    }
    this.opts = withDefaults(
      {
        host: '127.0.0.1',
        maxMessageBytes: MAX_MESSAGE_BYTES,
        sendQueueLimit: 10000,
        highWaterMark: 10000,
        reconnectIntervalMs: 100,
        reconnectIntervalMaxMs: 1000,
        bindRetryMs: 500,
        now: Date.now,
      },
      options,
    );
    this.ownTopic = topicFor(options.name);
  }

  /** Bind the PUB socket, connect to every peer, and start delivering to `handler`. */
  async start(handler: (message: Message, from?: string) => void): Promise<void> {
    if (this.state !== 'new') throw new Error('ZeroMqTransport: start() called twice or after close()');
    this.handler = handler;
    const { host, port, highWaterMark, reconnectIntervalMs, reconnectIntervalMaxMs, maxMessageBytes } = this.opts;
    const ipv6 = host.includes(':');
    const common = { linger: 0, reconnectInterval: reconnectIntervalMs, reconnectMaxInterval: reconnectIntervalMaxMs, ipv6 };
    const pub = new zmq.Publisher({ ...common, sendHighWaterMark: highWaterMark });
    try {
      await this.bindWithRetry(pub);
    } catch (e) {
      pub.close();
      this.state = 'closed';
      throw new Error(`cannot bind ${endpoint(host, port)}: ${(e as Error).message}`);
    }
    this.pub = pub;
    this.state = 'started';
    for (const peer of this.opts.peers) {
      // A SUB socket disconnects a peer that sends a frame larger than
      // maxMessageSize, so a hostile peer cannot make us buffer an unbounded
      // frame; the disconnect handler then connects afresh (see reconnect).
      const sub = new zmq.Subscriber({ ...common, receiveHighWaterMark: highWaterMark, maxMessageSize: maxMessageBytes + 1024 });
      sub.subscribe(this.ownTopic);
      sub.subscribe(BROADCAST_TOPIC);
      const address = endpoint(peer.host, peer.port);
      sub.events.on('disconnect', (e) => {
        if (e.address === address) this.reconnect(sub, address);
      });
      sub.connect(address);
      this.subs.push(sub);
      this.receiving.push(this.receiveLoop(sub, peer));
    }
    void this.pump();
  }

  // ZeroMQ closes sockets on its own I/O thread, a moment after close()
  // returns: a node restarted in the same process may find its port still
  // held for a few milliseconds. So EADDRINUSE is retried for bindRetryMs
  // (a port truly in use fails after that).
  private async bindWithRetry(pub: zmq.Publisher): Promise<void> {
    const ep = endpoint(this.opts.host, this.opts.port);
    const deadline = Date.now() + this.opts.bindRetryMs;
    for (;;) {
      try {
        await pub.bind(ep);
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== 'EADDRINUSE' || Date.now() >= deadline) throw e;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  /**
   * Queue one message for the PUB socket (never blocks). The timestamp is
   * stamped here, as simpleRaft's int(time.time()). An AppendEntries too large
   * for one frame is split (see split.ts).
   */
  send(message: Message): void {
    if (this.state === 'closed') {
      this.drop('closed', 'send after close');
      return;
    }
    const stamped = { ...message, timestamp: Math.floor(this.opts.now() / 1000) } as Message;
    const fit = fitMessage(stamped, this.opts.maxMessageBytes);
    if (fit.oversized) this.drop('oversized', `type ${message.type} to ${String(message.receiver)}: ${fit.droppedEntries} entries dropped`);
    if (fit.pieces.length > 1) this.counts.split++;
    const topic = message.receiver === null ? BROADCAST_TOPIC : topicFor(message.receiver);
    for (const piece of fit.pieces) {
      this.queue.push([topic, Buffer.from(encodeMessage(piece), 'utf8')]);
      if (this.queue.length - this.head > this.opts.sendQueueLimit) {
        this.head++;
        this.drop('queue-full', 'oldest queued message dropped');
      }
    }
    void this.pump();
  }

  /** Stop receiving, drop what is queued, close both sockets. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handler = null;
    this.queue = [];
    this.head = 0;
    for (const sub of this.subs) sub.close();
    if (this.pub) {
      // Unbind first: the port is released sooner (see bindWithRetry).
      await this.pub.unbind(endpoint(this.opts.host, this.opts.port)).catch(() => {});
      this.pub.close();
    }
    await Promise.all(this.receiving);
  }

  /** A copy of the counters. */
  counters(): ZeroMqCounters {
    return { ...this.counts, malformedByCode: { ...this.counts.malformedByCode } };
  }

  /** The largest entry a client command may produce (see split.ts: maxEntryBytesFor). */
  maxEntryBytes(): number {
    return maxEntryBytesFor(
      this.name,
      this.opts.peers.map((p) => p.name),
      this.opts.maxMessageBytes,
    );
  }

  /** The largest encoded message (codec JSON, in bytes) sent or accepted. */
  maxEncodedMessageBytes(): number {
    return this.opts.maxMessageBytes;
  }

  /**
   * A peer's link went down. After a lost connection ZeroMQ would reconnect
   * by itself, but after a protocol error -- a frame over maxMessageSize, from
   * a peer or anything else on its port -- it never does, and we would never
   * hear that peer again. We cannot tell the two apart from the event, so we
   * always drop the old link and connect anew: one link per peer either way.
   */
  private reconnect(sub: zmq.Subscriber, address: string): void {
    if (this.state !== 'started') return;
    try {
      sub.disconnect(address);
    } catch {
      // Already gone (the protocol-error case): nothing to drop.
    }
    sub.connect(address);
    this.counts.reconnects++;
  }

  private drop(reason: ZeroMqDropReason, detail: string): void {
    this.counts[DROP_COUNTER[reason]]++;
    this.opts.onDrop?.(reason, detail);
  }

  // One send() in flight at a time (zeromq v6's rule); a PUB socket's send
  // resolves at once (it drops rather than blocks), so this loop drains fast.
  private async pump(): Promise<void> {
    if (this.pumping || this.state !== 'started' || !this.pub) return;
    this.pumping = true;
    const pub = this.pub;
    try {
      while (this.state === 'started' && this.head < this.queue.length) {
        const frames = this.queue[this.head++];
        try {
          await pub.send(frames);
          this.counts.sent++;
        } catch (e) {
          if (this.state !== 'started') break;
          this.drop('send-error', (e as Error).message);
        }
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async receiveLoop(sub: zmq.Subscriber, peer: PeerAddress): Promise<void> {
    while (this.state === 'started') {
      let frames: Buffer[];
      try {
        frames = await sub.receive();
      } catch {
        // Only closing the socket makes receive() fail on a SUB socket.
        break;
      }
      this.onFrames(frames, peer);
    }
  }

  private onFrames(frames: Buffer[], peer: PeerAddress): void {
    if (frames.length !== 2) {
      this.drop('bad-frames', `${frames.length} frames`);
      return;
    }
    const [topic, body] = frames;
    const broadcast = topic.equals(BROADCAST_TOPIC);
    if (!broadcast && !topic.equals(this.ownTopic)) {
      this.drop('bad-frames', `topic ${JSON.stringify(topic.toString('latin1'))}`);
      return;
    }
    let message: Message;
    try {
      message = decodeMessage(body, this.opts.maxMessageBytes);
    } catch (e) {
      const code = e instanceof CodecError ? e.code : 'bad-json';
      this.counts.malformedByCode[code] = (this.counts.malformedByCode[code] ?? 0) + 1;
      this.drop('malformed', (e as Error).message);
      return;
    }
    // The topic routed it here; the JSON must agree (defence in depth).
    if (message.receiver !== null && !sameNode(message.receiver, this.name)) {
      this.drop('misaddressed', `receiver ${String(message.receiver)} on topic for ${String(this.name)}`);
      return;
    }
    // Only the peer itself publishes on its PUB socket: a message naming
    // another sender was relayed or forged, and ZeroMQ never relays.
    const from = endpoint(peer.host, peer.port).slice('tcp://'.length);
    if (!sameNode(message.sender, peer.name)) {
      this.drop('not-member', `sender ${String(message.sender)} on the socket of ${String(peer.name)} (${from})`);
      return;
    }
    this.counts.received++;
    message = withConfiguredNames(message, this.name, (text) => this.peerNames.get(text));
    try {
      this.handler?.(message, from);
    } catch (e) {
      this.drop('handler-error', (e as Error).message);
    }
  }
}
