// MemoryBoard: simpleRaft's in-process message board (boards/memory_board.py),
// with its order fixed. simpleRaft sorts by whole-second timestamps and pops
// from the end, so within one second the newest message comes out first
// (last-in, first-out). Raft does not need FIFO for safety, but a board that
// reorders on purpose makes every test harder to read: ours is a plain queue.

import { Message, NodeId } from '../messages';
import { Transport } from './transport';

export class MemoryBoard {
  private owner: NodeId | null = null;
  private readonly queue: Message[] = [];
  private head = 0;

  /** simpleRaft's set_owner: the node that reads this board. */
  setOwner(owner: NodeId): void {
    this.owner = owner;
  }

  getOwner(): NodeId | null {
    return this.owner;
  }

  /** simpleRaft's post_message. */
  postMessage(message: Message): void {
    this.queue.push(message);
  }

  /** simpleRaft's get_message: the oldest message, or undefined when empty. */
  getMessage(): Message | undefined {
    if (this.head >= this.queue.length) return undefined;
    const message = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return message;
  }

  get length(): number {
    return this.queue.length - this.head;
  }
}

/**
 * Boards wired together in one process: each node posts to its peers' boards
 * (as simpleRaft's Server does with its neighbors). `disconnect` and
 * `connect` cut and mend links, one direction at a time if wanted.
 */
export class MemoryNetwork {
  private readonly boards = new Map<NodeId, MemoryBoard>();
  private readonly cut = new Set<string>();

  board(name: NodeId): MemoryBoard {
    let b = this.boards.get(name);
    if (!b) {
      b = new MemoryBoard();
      b.setOwner(name);
      this.boards.set(name, b);
    }
    return b;
  }

  /** Deliver `message` (a broadcast goes to every other board). */
  post(message: Message): void {
    const targets = message.receiver === null ? [...this.boards.keys()].filter((n) => n !== message.sender) : [message.receiver];
    for (const to of targets) {
      if (this.cut.has(link(message.sender, to))) continue;
      this.boards.get(to)?.postMessage(message);
    }
  }

  disconnect(from: NodeId, to: NodeId, bothWays = true): void {
    this.cut.add(link(from, to));
    if (bothWays) this.cut.add(link(to, from));
  }

  connect(from: NodeId, to: NodeId, bothWays = true): void {
    this.cut.delete(link(from, to));
    if (bothWays) this.cut.delete(link(to, from));
  }

  transport(name: NodeId): MemoryTransport {
    return new MemoryTransport(this, name);
  }
}

function link(from: NodeId, to: NodeId): string {
  return JSON.stringify([from, to]);
}

/** The Transport interface over a MemoryNetwork; the driver pumps it with drain(). */
export class MemoryTransport implements Transport {
  private handler: ((m: Message) => void) | null = null;

  constructor(
    private readonly network: MemoryNetwork,
    readonly name: NodeId,
  ) {
    network.board(name);
  }

  async start(handler: (m: Message) => void): Promise<void> {
    this.handler = handler;
  }

  send(message: Message): void {
    this.network.post(message);
  }

  /** Hand every queued message to the handler, oldest first; returns how many. */
  drain(): number {
    const board = this.network.board(this.name);
    let n = 0;
    for (let m = board.getMessage(); m !== undefined; m = board.getMessage()) {
      n++;
      this.handler?.(m);
    }
    return n;
  }

  async close(): Promise<void> {
    this.handler = null;
  }
}
