// Fitting messages into a size limit, shared by the network transports.
//
// A transport has a largest unit it can carry (one UDP datagram, one ZeroMQ
// frame). An AppendEntries that is too big for it is cut into several
// AppendEntries carrying consecutive runs of the same entries. Each piece is a
// valid AppendEntries on its own (§5.3, Figure 2 "AppendEntries RPC"):
//
//   piece k starts after entry `start` of the original, so
//     prevLogIndex = original.prevLogIndex + start
//     prevLogTerm  = start === 0 ? original.prevLogTerm : entries[start - 1].term
//
// i.e. the term of the split point is the term of the entry just before it,
// which is exactly what the follower's consistency check compares. Every piece
// keeps leaderCommit: a follower sets commitIndex = min(leaderCommit, index of
// last new entry) (Figure 2, receiver rule 5), so a piece never makes it commit
// more than it holds.
//
// One entry bigger than the unit cannot be sent at all. The pieces before it
// are still sent; it and everything after it are dropped (the follower would
// reject the later ones anyway: their prevLogIndex would point past its log).
// A node avoids this by refusing such a command up front (maxEntryBytes()).

import { AppendEntriesMessage, Message, MessageType, NodeId, WireEntry } from '../messages';
import { encodeMessage } from '../messages/codec';

/** Bytes of one entry as the codec writes it inside `entries` (no comma). */
export function encodedEntryBytes(entry: WireEntry): number {
  return Buffer.byteLength(JSON.stringify(entry), 'utf8');
}

/** Bytes of a message as the codec writes it. */
export function encodedMessageBytes(message: Message): number {
  return Buffer.byteLength(encodeMessage(message), 'utf8');
}

export interface SplitResult {
  /** Messages to send, in order; each fits within the limit. */
  pieces: Message[];
  /** Entries that could not be sent (the first is larger than the limit on its own). */
  droppedEntries: number;
  /** True when the message could not be sent whole or in part because it is too big. */
  oversized: boolean;
}

/**
 * Cut `message` into pieces whose encoding is at most `limitBytes` once the
 * transport has added `overheadBytes` around it. Messages other than
 * AppendEntries are never split: they fit or they are dropped.
 */
export function fitMessage(message: Message, limitBytes: number, overheadBytes = 0): SplitResult {
  const budget = limitBytes - overheadBytes;
  const whole = encodedMessageBytes(message);
  if (whole <= budget) return { pieces: [message], droppedEntries: 0, oversized: false };
  if (message.type !== MessageType.AppendEntries) return { pieces: [], droppedEntries: 0, oversized: true };
  return splitAppendEntries(message, budget);
}

function splitAppendEntries(message: AppendEntriesMessage, budget: number): SplitResult {
  const entries = message.data.entries;
  // A piece's prevLogIndex and prevLogTerm may be longer than the original's:
  // measure the frame with the longest safe integers in them.
  const big = Number.MAX_SAFE_INTEGER;
  const base = encodedMessageBytes({ ...message, data: { ...message.data, prevLogIndex: big, prevLogTerm: big, entries: [] } });
  const sizes = entries.map(encodedEntryBytes);
  const pieces: Message[] = [];
  let start = 0;
  while (start < entries.length) {
    let bytes = base;
    let end = start;
    while (end < entries.length) {
      const add = sizes[end] + (end > start ? 1 : 0); // 1 for the comma
      if (bytes + add > budget) break;
      bytes += add;
      end++;
    }
    if (end === start) {
      // entries[start] does not fit even alone.
      return { pieces, droppedEntries: entries.length - start, oversized: true };
    }
    pieces.push(piece(message, start, end));
    start = end;
  }
  return { pieces, droppedEntries: 0, oversized: false };
}

function piece(message: AppendEntriesMessage, start: number, end: number): AppendEntriesMessage {
  const entries = message.data.entries;
  const out: AppendEntriesMessage = {
    ...message,
    data: {
      ...message.data,
      prevLogIndex: message.data.prevLogIndex + start,
      prevLogTerm: start === 0 ? message.data.prevLogTerm : entries[start - 1].term,
      entries: entries.slice(start, end),
    },
  };
  // A message id, if the core ever sets one, must stay unique per piece.
  if (message.id !== undefined && start > 0) out.id = `${message.id}#${start}`.slice(0, 256);
  return out;
}

/**
 * The largest entry (encoded as {"term":T,"value":V}, see encodedEntryBytes)
 * that fits in one AppendEntries of `limitBytes` with `overheadBytes` of
 * transport framing, whatever the peer, term and indices: the node refuses a
 * client command whose entry is larger. A ClientCommand forwarding the same
 * value is smaller than such an AppendEntries, so it fits too.
 */
export function maxEntryBytesFor(sender: NodeId, peers: NodeId[], limitBytes: number, overheadBytes = 0): number {
  const big = Number.MAX_SAFE_INTEGER;
  let worst = 0;
  for (const receiver of peers.length > 0 ? peers : [sender]) {
    const m: AppendEntriesMessage = {
      type: MessageType.AppendEntries,
      sender,
      receiver,
      term: big,
      timestamp: big,
      data: { leaderId: sender, prevLogIndex: big, prevLogTerm: big, entries: [], leaderCommit: big },
    };
    worst = Math.max(worst, encodedMessageBytes(m));
  }
  return Math.max(0, limitBytes - overheadBytes - worst);
}

/** Node names compare by their text: 1 and "1" are the same node on the wire. */
export function sameNode(a: NodeId | null, b: NodeId | null): boolean {
  if (a === null || b === null) return a === b;
  return String(a) === String(b);
}

/**
 * A received message with its sender and receiver spelled as this node's
 * configuration spells them. The transports treat 1 and "1" as one node, but
 * the protocol core compares names with ===, so without this a Python peer
 * that names the node "2" as the integer 2 would be dropped as a stranger.
 * `self` is this node's name; `peerName` maps a name's text to the configured
 * name (undefined for a stranger, whose name is left as it came). The receiver
 * has already been checked to be this node or null.
 */
export function withConfiguredNames(message: Message, self: NodeId, peerName: (text: string) => NodeId | undefined): Message {
  const sender = peerName(String(message.sender)) ?? message.sender;
  const receiver = message.receiver === null ? null : self;
  if (sender === message.sender && receiver === message.receiver) return message;
  return { ...message, sender, receiver } as Message;
}

/** `defaults` overridden by the options that are not undefined. */
export function withDefaults<T extends object, D extends Partial<T>>(defaults: D, options: T): D & T {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) out[k] = v;
  return out as D & T;
}
