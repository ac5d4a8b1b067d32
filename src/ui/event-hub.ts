// EventHub: fans a node's view events out to the browsers watching it.
//
// Two promises to the node being watched:
// - Nobody watching costs nothing: `listening` is false, and every publisher
//   checks it before building an event object (see node-observer.ts).
// - A viewer that cannot keep up is cut off, not buffered without end: each
//   viewer has a bounded queue of frames its connection has not taken yet;
//   when it overflows the viewer is closed (it may reconnect and fetch a
//   fresh state snapshot), so the node's memory never grows with a slow tab.

import { ViewEvent, ViewEventBody } from './events';

/** Where a viewer's frames go: an HTTP response, or a test double. */
export interface ViewerSink {
  /** Returns false when the connection's buffer is full (as Writable.write). */
  write(chunk: string): boolean;
  /** Called once the buffer has room again. */
  onDrain(listener: () => void): void;
  end(): void;
}

export interface EventHubOptions {
  node: string;
  /** Frames a viewer may have waiting before it is cut off. */
  maxQueued?: number;
  clock?: () => number;
}

class Viewer {
  readonly queued: string[] = [];
  blocked = false;
  constructor(readonly sink: ViewerSink) {}
}

export class EventHub {
  readonly node: string;
  readonly maxQueued: number;
  /** Viewers cut off for falling behind, since start. */
  cutOff = 0;
  private readonly viewers = new Set<Viewer>();
  private readonly clock: () => number;
  private seq = 0;

  constructor(options: EventHubOptions) {
    this.node = options.node;
    this.maxQueued = options.maxQueued ?? 1000;
    this.clock = options.clock ?? Date.now;
  }

  /** True while at least one viewer is connected: publishers build events only then. */
  get listening(): boolean {
    return this.viewers.size > 0;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Frames waiting for the slowest viewer (the bound the tests check). */
  get maxBacklog(): number {
    let most = 0;
    for (const v of this.viewers) most = Math.max(most, v.queued.length);
    return most;
  }

  /** Add a viewer; returns the function that removes it (call it when its connection closes). */
  subscribe(sink: ViewerSink): () => void {
    const viewer = new Viewer(sink);
    this.viewers.add(viewer);
    sink.onDrain(() => this.flush(viewer));
    return () => this.viewers.delete(viewer);
  }

  publish(body: ViewEventBody): void {
    if (this.viewers.size === 0) return;
    const event: ViewEvent = { ...body, node: this.node, seq: ++this.seq, time: this.clock() };
    this.relay(JSON.stringify(event));
  }

  /** Pass on an event another hub already built (the UI server relays its nodes' streams), as JSON text. */
  relay(eventJson: string): void {
    const frame = `data: ${eventJson}\n\n`;
    for (const v of this.viewers) this.deliver(v, frame);
  }

  /** Close every viewer (the node is shutting down). */
  close(): void {
    for (const v of this.viewers) v.sink.end();
    this.viewers.clear();
  }

  private deliver(v: Viewer, frame: string): void {
    if (v.blocked) {
      if (v.queued.length >= this.maxQueued) return this.cut(v);
      v.queued.push(frame);
      return;
    }
    if (!v.sink.write(frame)) v.blocked = true;
  }

  private flush(v: Viewer): void {
    if (!this.viewers.has(v)) return;
    v.blocked = false;
    while (v.queued.length > 0 && !v.blocked) {
      if (!v.sink.write(v.queued.shift()!)) v.blocked = true;
    }
  }

  private cut(v: Viewer): void {
    this.viewers.delete(v);
    v.queued.length = 0;
    this.cutOff++;
    v.sink.end();
  }
}
