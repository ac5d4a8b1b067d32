// UdpGossipTransport: what simpleRaft's README promised ("gossiping using
// randomized subgroups") and its boards/gossiping_board.py never implemented.
//
// Every message travels in an envelope (docs/wire-format.md):
//
//   {"v":1,"id":"<unique id>","origin":<sender name>,"ttl":<relays left>,"msg":<codec JSON>}
//
// one envelope per UDP datagram.
//
//   * The origin sends a message to a random subgroup of `fanout` peers, which
//     always includes the message's receiver when it has one.
//   * A node that receives a message addressed to another node relays it,
//     once, to a new random subgroup (again always including the receiver,
//     never the origin) with ttl - 1, while ttl > 0. A broadcast (receiver
//     null) is delivered by every node and relayed the same way.
//   * Every node remembers the ids it has seen (a ring of the last
//     `dedupCapacity` ids: bounded memory) and ignores a copy it has seen
//     before, whether it arrives directly or by a relay.
//
// So an addressed message reaches its receiver directly and, in a cluster of
// three or more, through at least one other node as well: with 20% loss per
// datagram, one copy gets through with probability 1 - 0.2 * (1 - 0.8^2) =
// 0.928 in a 3-node cluster with fanout 2, and Raft's retries do the rest.
//
// Size: a datagram stays at most `maxDatagramBytes` (60 KiB by default, under
// UDP's 65,507-byte limit on loopback; use ~1,400 on a real network to avoid
// IP fragmentation). An AppendEntries too large is split into several with
// consecutive entries (split.ts); one entry too large for a datagram cannot be
// sent: the node should refuse the client command (maxEntryBytes()), and if
// such an entry still reaches send() it is dropped and counted.
//
// Membership at the edge: a datagram is accepted only when its source ip:port
// (that of the hop that sent it: the origin, or a relay) is the configured
// address of a member, and its origin -- who must also be the message's sender
// -- is a member. Anything else is dropped and counted (`notMember`) before it
// can touch the duplicate memory. This keeps out a process that merely
// reaches the port; it does not authenticate: a process that can send from a
// member's address (on that host, or by spoofing UDP source addresses) can
// still speak for any member, until peer authentication (issue 17).
// Everything is also validated by the codec and dropped and counted when wrong.

import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { CodecError, CodecErrorCode, canonical, nodeId, validateMessage } from '../messages/codec';
import { Message, NodeId } from '../messages';
import { fitMessage, maxEntryBytesFor, sameNode, withConfiguredNames, withDefaults } from './split';
import { PeerAddress, Transport } from './transport';

/** Envelope format version, the "v" key. */
export const GOSSIP_VERSION = 1;
/** A ttl above this is refused as malformed. */
export const MAX_TTL = 16;
/** Envelope ids longer than this are refused. */
export const MAX_ID_LENGTH = 64;
/** The largest UDP payload (IPv4): datagrams up to this size are accepted. */
export const UDP_MAX_PAYLOAD = 65507;
/** Default datagram limit: 60 KiB. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 60 * 1024;

export interface UdpGossipOptions {
  /** This node's name (the envelope's "origin" for what it sends). */
  name: NodeId;
  /** UDP port to bind. */
  port: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Every other node. */
  peers: PeerAddress[];
  /** Size of each random subgroup, receiver included (default 2). */
  fanout?: number;
  /** ttl the origin puts on a message: how many relays may follow (default 2). */
  maxHops?: number;
  /** Largest datagram sent, envelope included (default 61,440; at most 65,507). */
  maxDatagramBytes?: number;
  /** How many recent message ids are remembered for duplicate suppression (default 8192). */
  dedupCapacity?: number;
  /** Datagrams handed to the socket and not yet sent, before new ones are dropped (default 4096). */
  maxInFlight?: number;
  /**
   * Test option: the probability that an outgoing datagram is dropped on
   * purpose, fixed or per destination (default 0).
   */
  dropRate?: number | ((to: NodeId) => number);
  /** Random source in [0, 1) for the subgroup choice (default Math.random). */
  random?: () => number;
  /** Random source in [0, 1) for dropRate (default Math.random). */
  dropRandom?: () => number;
  /** Wall clock in ms for the message timestamp (default Date.now). */
  now?: () => number;
  /** Called for every dropped message with the reason: hook a debug log here. */
  onDrop?: (reason: UdpDropReason, detail: string) => void;
}

export type UdpDropReason =
  | 'malformed'
  | 'duplicate'
  | 'not-member'
  | 'injected-loss'
  | 'queue-full'
  | 'oversized'
  | 'send-error'
  | 'handler-error'
  | 'closed';

export interface UdpGossipCounters {
  /** Messages given to send() and sent (a split message counts once per piece). */
  sentMessages: number;
  /** Datagrams handed to the socket (own messages and relays). */
  sentDatagrams: number;
  /** Datagrams sent on behalf of other nodes. */
  relayed: number;
  /** Datagrams received. */
  receivedDatagrams: number;
  /** Messages delivered to the handler. */
  delivered: number;
  /** Copies of already-seen messages ignored. */
  duplicates: number;
  /**
   * Datagrams from a source address that is not a member's, or whose origin
   * (or sender) is not a member, or whose sender is not its origin.
   */
  notMember: number;
  /** Datagrams refused by envelope or codec validation, total and by CodecError code. */
  malformed: number;
  malformedByCode: Partial<Record<CodecErrorCode, number>>;
  /** Datagrams dropped by the dropRate test option. */
  injectedLoss: number;
  /** Datagrams dropped because maxInFlight were already waiting. */
  queueFull: number;
  /** Messages (or their tail of entries) too large for one datagram. */
  oversized: number;
  /** AppendEntries cut into more than one datagram. */
  split: number;
  /** Largest datagram sent, in bytes. */
  maxDatagramSent: number;
  sendErrors: number;
  handlerErrors: number;
  /** Messages given to send() before start() or after close(). */
  droppedClosed: number;
}

function zeroCounters(): UdpGossipCounters {
  return {
    sentMessages: 0,
    sentDatagrams: 0,
    relayed: 0,
    receivedDatagrams: 0,
    delivered: 0,
    duplicates: 0,
    notMember: 0,
    malformed: 0,
    malformedByCode: {},
    injectedLoss: 0,
    queueFull: 0,
    oversized: 0,
    split: 0,
    maxDatagramSent: 0,
    sendErrors: 0,
    handlerErrors: 0,
    droppedClosed: 0,
  };
}

/** A gossip envelope, decoded. */
export interface GossipEnvelope {
  v: number;
  id: string;
  origin: NodeId;
  ttl: number;
  msg: Message;
}

/** The datagram bytes of an envelope: JSON with keys in the order v, id, origin, ttl, msg. */
export function encodeEnvelope(env: GossipEnvelope): Buffer {
  return Buffer.from(
    `{"v":${env.v},"id":${JSON.stringify(env.id)},"origin":${JSON.stringify(env.origin)},"ttl":${env.ttl},"msg":${JSON.stringify(canonical(env.msg))}}`,
    'utf8',
  );
}

/** Decode and validate a datagram; throws CodecError only. */
export function decodeEnvelope(bytes: Uint8Array): GossipEnvelope {
  if (bytes.byteLength > UDP_MAX_PAYLOAD) throw new CodecError('too-large', '$', `${bytes.byteLength} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new CodecError('bad-json', '$', (e as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CodecError('bad-field', '$', 'expected an object');
  const obj = raw as Record<string, unknown>;
  const keys = ['v', 'id', 'origin', 'ttl', 'msg'];
  for (const k of Object.keys(obj)) if (!keys.includes(k)) throw new CodecError('unexpected-key', `$.${k}`, 'key not allowed here');
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(obj, k)) throw new CodecError('missing-field', `$.${k}`, 'required');
  if (obj.v !== GOSSIP_VERSION) throw new CodecError('bad-field', '$.v', `expected ${GOSSIP_VERSION}`);
  if (typeof obj.id !== 'string' || obj.id.length === 0 || obj.id.length > MAX_ID_LENGTH) {
    throw new CodecError('bad-field', '$.id', `expected a string of 1-${MAX_ID_LENGTH} characters`);
  }
  const origin = nodeId(obj.origin, '$.origin');
  if (typeof obj.ttl !== 'number' || !Number.isInteger(obj.ttl) || obj.ttl < 0 || obj.ttl > MAX_TTL) {
    throw new CodecError('bad-field', '$.ttl', `expected an integer 0-${MAX_TTL}`);
  }
  let msg: Message;
  try {
    msg = validateMessage(obj.msg);
  } catch (e) {
    if (e instanceof CodecError) throw new CodecError(e.code, e.field.replace(/^\$/, '$.msg'), e.message);
    throw new CodecError('bad-field', '$.msg', `internal: ${String(e)}`);
  }
  return { v: GOSSIP_VERSION, id: obj.id, origin, ttl: obj.ttl, msg };
}

/** Remembers the last `capacity` ids: a Set for lookup, a ring for eviction. */
class RecentIds {
  private readonly set = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  /** Record `id`; false when it was already there. */
  add(id: string): boolean {
    if (this.set.has(id)) return false;
    const old = this.ring[this.next];
    if (old !== undefined) this.set.delete(old);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.set.add(id);
    return true;
  }

  get size(): number {
    return this.set.size;
  }
}

/** Which counter each kind of drop increments. */
const DROP_COUNTER: Record<UdpDropReason, keyof Omit<UdpGossipCounters, 'malformedByCode'>> = {
  'malformed': 'malformed',
  'duplicate': 'duplicates',
  'not-member': 'notMember',
  'injected-loss': 'injectedLoss',
  'queue-full': 'queueFull',
  'oversized': 'oversized',
  'send-error': 'sendErrors',
  'handler-error': 'handlerErrors',
  'closed': 'droppedClosed',
};

export class UdpGossipTransport implements Transport {
  readonly name: NodeId;
  private readonly opts: ReturnType<typeof resolveOptions>;
  private readonly counts = zeroCounters();
  private readonly seen: RecentIds;
  private readonly peersByName = new Map<string, PeerAddress>();
  /** Each member's source address "ip:port", resolved at start(). */
  private readonly memberAddresses = new Set<string>();
  /** Envelope ids: this instance's random nonce and a sequence number. */
  private readonly nonce = randomBytes(4).toString('hex');
  private seq = 0;
  /** Bytes an envelope adds around the message JSON, at most, for our own sends. */
  private readonly overhead: number;
  private socket: dgram.Socket | null = null;
  private handler: ((m: Message, from?: string) => void) | null = null;
  private state: 'new' | 'started' | 'closed' = 'new';
  private inFlight = 0;

  constructor(options: UdpGossipOptions) {
    this.name = options.name;
    this.opts = resolveOptions(options);
    for (const p of options.peers) {
      if (sameNode(p.name, options.name) || this.peersByName.has(String(p.name))) {
        throw new Error(`duplicate node name ${JSON.stringify(p.name)} among self and peers`);
      }
      this.peersByName.set(String(p.name), p);
    }
    const { fanout, maxHops, maxDatagramBytes, dedupCapacity } = this.opts;
    if (!Number.isInteger(fanout) || fanout < 1) throw new Error('fanout must be an integer >= 1');
    if (!Number.isInteger(maxHops) || maxHops < 0 || maxHops > MAX_TTL) throw new Error(`maxHops must be an integer 0-${MAX_TTL}`);
    if (!Number.isInteger(maxDatagramBytes) || maxDatagramBytes < 512 || maxDatagramBytes > UDP_MAX_PAYLOAD) {
      throw new Error(`maxDatagramBytes must be an integer 512-${UDP_MAX_PAYLOAD}`);
    }
    if (!Number.isInteger(dedupCapacity) || dedupCapacity < 1) throw new Error('dedupCapacity must be an integer >= 1');
    this.seen = new RecentIds(dedupCapacity);
    // The longest id we make: 8 hex digits, '-', a sequence number of up to 16 digits.
    const longestId = `${this.nonce}-${Number.MAX_SAFE_INTEGER}`;
    this.overhead = Buffer.byteLength(
      `{"v":${GOSSIP_VERSION},"id":${JSON.stringify(longestId)},"origin":${JSON.stringify(this.name)},"ttl":${maxHops},"msg":}`,
      'utf8',
    );
  }

  /** Bind the socket and start delivering to `handler`. */
  async start(handler: (message: Message, from?: string) => void): Promise<void> {
    if (this.state !== 'new') throw new Error('UdpGossipTransport: start() called twice or after close()');
    this.handler = handler;
    const { host, port } = this.opts;
    const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      socket.close();
      this.state = 'closed';
      throw new Error(`cannot bind udp ${host}:${port}: ${(e as Error).message}`);
    }
    // Roomier kernel buffers (Linux caps them at net.core.[rw]mem_max).
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      socket.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      /* keep the defaults */
    }
    try {
      for (const p of this.peersByName.values()) {
        for (const { address } of await lookup(p.host, { all: true, verbatim: true })) {
          this.memberAddresses.add(sourceKey(address, p.port));
        }
      }
    } catch (e) {
      socket.close();
      this.state = 'closed';
      throw new Error(`cannot resolve a peer's host: ${(e as Error).message}`);
    }
    socket.on('error', (e) => this.drop('send-error', e.message));
    socket.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo));
    this.socket = socket;
    this.state = 'started';
  }

  /**
   * Send one message (never blocks): stamp its timestamp, split it if it is an
   * AppendEntries too big for one datagram, and gossip each piece.
   */
  send(message: Message): void {
    if (this.state !== 'started') {
      this.drop('closed', `send while ${this.state}`);
      return;
    }
    const stamped = { ...message, timestamp: Math.floor(this.opts.now() / 1000) } as Message;
    const fit = fitMessage(stamped, this.opts.maxDatagramBytes, this.overhead);
    if (fit.oversized) {
      this.drop('oversized', `type ${message.type} to ${String(message.receiver)}: ${fit.droppedEntries} entries dropped`);
    }
    if (fit.pieces.length > 1) this.counts.split++;
    for (const msg of fit.pieces) {
      const env: GossipEnvelope = { v: GOSSIP_VERSION, id: `${this.nonce}-${this.seq++}`, origin: this.name, ttl: this.opts.maxHops, msg };
      this.seen.add(env.id);
      this.counts.sentMessages++;
      const targets = this.subgroup(msg.receiver, new Set([String(this.name)]));
      const bytes = encodeEnvelope(env);
      for (const to of targets) this.sendDatagram(to, bytes, false);
    }
  }

  /** Stop receiving and close the socket. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const socket = this.socket;
    this.state = 'closed';
    this.handler = null;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  /** A copy of the counters. */
  counters(): UdpGossipCounters {
    return { ...this.counts, malformedByCode: { ...this.counts.malformedByCode } };
  }

  /** The port actually bound (useful when started with port 0). */
  boundPort(): number | null {
    return this.socket ? this.socket.address().port : null;
  }

  /**
   * The largest log entry, encoded as {"term":T,"value":V}, that fits in one
   * datagram whatever the peer, term and indices. A node must refuse a client
   * command whose entry is larger; a ClientCommand carrying such a value fits.
   */
  maxEntryBytes(): number {
    return maxEntryBytesFor(
      this.name,
      [...this.peersByName.values()].map((p) => p.name),
      this.opts.maxDatagramBytes,
      this.overhead,
    );
  }

  /**
   * The largest encoded message (codec JSON, in bytes) one datagram carries:
   * size InstallSnapshot chunks (base64 grows 4/3) and other unsplittable
   * messages below this.
   */
  maxEncodedMessageBytes(): number {
    return this.opts.maxDatagramBytes - this.overhead;
  }

  /** How many message ids are remembered now (at most dedupCapacity). */
  rememberedIds(): number {
    return this.seen.size;
  }

  /**
   * A random subgroup of `fanout` peers, not in `exclude`; the receiver, when
   * the message has one and it is a peer, is always in it.
   */
  private subgroup(receiver: NodeId | null, exclude: Set<string>): PeerAddress[] {
    const out: PeerAddress[] = [];
    const addressee = receiver === null ? undefined : this.peersByName.get(String(receiver));
    if (addressee) out.push(addressee);
    const pool = [...this.peersByName.values()].filter((p) => !exclude.has(String(p.name)) && p !== addressee);
    // Partial Fisher-Yates shuffle with the injected random source.
    const want = Math.min(pool.length, this.opts.fanout - out.length);
    for (let i = 0; i < want; i++) {
      const j = i + Math.min(pool.length - i - 1, Math.floor(this.opts.random() * (pool.length - i)));
      [pool[i], pool[j]] = [pool[j], pool[i]];
      out.push(pool[i]);
    }
    return out;
  }

  private sendDatagram(to: PeerAddress, bytes: Buffer, relay: boolean): void {
    const socket = this.socket;
    if (!socket) return;
    const { dropRate, dropRandom, maxInFlight } = this.opts;
    const p = typeof dropRate === 'function' ? dropRate(to.name) : dropRate;
    if (p > 0 && dropRandom() < p) {
      this.drop('injected-loss', `to ${String(to.name)}`);
      return;
    }
    if (this.inFlight >= maxInFlight) {
      this.drop('queue-full', `to ${String(to.name)}`);
      return;
    }
    this.inFlight++;
    this.counts.sentDatagrams++;
    if (relay) this.counts.relayed++;
    if (bytes.length > this.counts.maxDatagramSent) this.counts.maxDatagramSent = bytes.length;
    socket.send(bytes, to.port, to.host, (err) => {
      this.inFlight--;
      if (err && this.state === 'started') this.drop('send-error', `to ${String(to.name)}: ${err.message}`);
    });
  }

  private onDatagram(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.state !== 'started') return;
    this.counts.receivedDatagrams++;
    const from = sourceKey(rinfo.address, rinfo.port);
    if (!this.memberAddresses.has(from)) {
      this.drop('not-member', `datagram from ${from}, not a member's address`);
      return;
    }
    let env: GossipEnvelope;
    try {
      env = decodeEnvelope(buf);
    } catch (e) {
      const code = e instanceof CodecError ? e.code : 'bad-json';
      this.counts.malformedByCode[code] = (this.counts.malformedByCode[code] ?? 0) + 1;
      this.drop('malformed', (e as Error).message);
      return;
    }
    const { msg } = env;
    // The origin is who wrote the message: a member other than us, and its sender.
    if (!this.peersByName.has(String(env.origin)) || !sameNode(msg.sender, env.origin)) {
      this.drop('not-member', `origin ${String(env.origin)}, sender ${String(msg.sender)}, from ${from}`);
      return;
    }
    if (!this.seen.add(env.id)) {
      this.drop('duplicate', env.id);
      return;
    }
    const forMe = msg.receiver === null || sameNode(msg.receiver, this.name);
    // Relay what is not only for us, once (we just recorded its id), while
    // hops remain. Never more than our own maxHops, whatever the ttl says.
    const ttl = Math.min(env.ttl, this.opts.maxHops);
    if (!sameNode(msg.receiver, this.name) && ttl > 0) {
      const exclude = new Set([String(this.name), String(env.origin)]);
      const bytes = encodeEnvelope({ ...env, ttl: ttl - 1 });
      for (const to of this.subgroup(msg.receiver, exclude)) this.sendDatagram(to, bytes, true);
    }
    if (!forMe) return;
    this.counts.delivered++;
    try {
      this.handler?.(withConfiguredNames(msg, this.name, (text) => this.peersByName.get(text)?.name), from);
    } catch (e) {
      this.drop('handler-error', (e as Error).message);
    }
  }

  private drop(reason: UdpDropReason, detail: string): void {
    this.counts[DROP_COUNTER[reason]]++;
    this.opts.onDrop?.(reason, detail);
  }
}

/** "ip:port" of a datagram's source, with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) read as IPv4. */
function sourceKey(address: string, port: number): string {
  const ip = address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function resolveOptions(options: UdpGossipOptions) {
  return withDefaults(
    {
      host: '127.0.0.1',
      fanout: 2,
      maxHops: 2,
      maxDatagramBytes: DEFAULT_MAX_DATAGRAM_BYTES,
      dedupCapacity: 8192,
      maxInFlight: 4096,
      dropRate: 0 as number | ((to: NodeId) => number),
      random: Math.random as () => number,
      dropRandom: Math.random as () => number,
      now: Date.now as () => number,
    },
    options,
  );
}
