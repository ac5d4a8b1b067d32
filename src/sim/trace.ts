// A simulator run recorded for the live view's replay (src/ui/static): every
// event of every node, in the order they happened, with the simulated time,
// the faults the simulator injected, and -- when a safety check failed --
// which event was the failure. `npm run sim -- --seed N --trace FILE` writes
// one; the page loads it and plays it back with a slider.

import { ViewEvent, ViewEventBody } from '../ui/events';

export const TRACE_FORMAT = 'simpleraft-trace/1';

export interface Trace {
  format: typeof TRACE_FORMAT;
  seed: number;
  nodes: string[];
  /** The command that reproduces the run. */
  replay: string;
  /** The failed check: the index of its event in `events` (a fault of kind 'safety'), and what it said. */
  failure: { index: number; message: string } | null;
  events: ViewEvent[];
}

export class TraceRecorder {
  readonly events: ViewEvent[] = [];
  private failure: Trace['failure'] = null;

  private now: () => number = () => 0;
  private nodes: string[] = [];

  /** The cluster being run: its nodes' names, and its simulated time (steps) for each event. */
  attach(nodes: string[], now: () => number): void {
    this.nodes = nodes;
    this.now = now;
  }

  record(node: string, body: ViewEventBody): void {
    this.events.push({ ...body, node, seq: this.events.length + 1, time: this.now() });
  }

  /** The run failed: record why, as the event the replay highlights. */
  fail(message: string, safety: boolean): void {
    this.record('checker', { kind: 'fault', fault: safety ? 'safety' : 'liveness', detail: message });
    this.failure = { index: this.events.length - 1, message };
  }

  trace(seed: number, replay: string): Trace {
    return { format: TRACE_FORMAT, seed, nodes: this.nodes, replay, failure: this.failure, events: this.events };
  }
}
