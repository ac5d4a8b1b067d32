// The live view's side of one real node: its events (EventHub), its state
// snapshot, and the isolate control, served under /ui/ by the node's client
// API (ApiServer's `extraRoutes` hook):
//
//   GET  /ui/events    Server-Sent Events, one ViewEvent per frame (events.ts)
//   GET  /ui/state     NodeView: Figure 2's state as the page draws it
//   POST /ui/isolate   {"isolated": true|false}: drop every message in and out
//
// Only a node started with --observe (or --ui) has them.

import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Lessor } from '../kv/lessor';
import { Ready } from '../server/ready';
import { RaftNode } from '../server/node';
import { EventHub } from './event-hub';
import { commandLabel } from './events';
import { readJsonObject, sendError, sendJson, streamEvents, UiRequestError } from './http-util';
import { ObservedTransport } from './observed-transport';

/** How many of the last log entries the state snapshot carries. */
export const LOG_TAIL = 40;

export interface NodeView {
  node: string;
  role: string;
  term: number;
  votedFor: string | null;
  leader: string | null;
  /** Figure 2 volatile state. */
  commitIndex: number;
  lastApplied: number;
  /** First index still in the log (earlier ones are in the snapshot, §7). */
  firstIndex: number;
  lastIndex: number;
  /** The last LOG_TAIL entries: index, term and the command's label (commandLabel). */
  log: { index: number; term: number; label: string | null }[];
  /** §5.2 election timer in ms; null on a leader. */
  electionTimer: { elapsedMs: number; timeoutMs: number } | null;
  /** Figure 2 leader state per peer; null unless leader. */
  progress: Record<string, { nextIndex: number; matchIndex: number }> | null;
  /** Client key leases: granted TTL, and on the leader the time left. */
  leases: { id: string; ttl: number; remainingMs: number | null }[];
  isolated: boolean;
  viewers: number;
  viewersCutOff: number;
}

/** The view events in one Ready: entries appended and entries applied. */
export function publishReady(hub: EventHub, rd: Ready): void {
  if (!hub.listening) return;
  if (rd.entries.length > 0) hub.publish({ kind: 'append', firstIndex: rd.entries[0].index, terms: rd.entries.map((e) => e.term) });
  for (const e of rd.committedEntries) hub.publish({ kind: 'apply', index: e.index, term: e.term, label: commandLabel(e.value) });
}

export interface NodeObserverOptions {
  node: RaftNode;
  hub: EventHub;
  transport: ObservedTransport;
  tickMs: number;
  lessor?: Lessor;
  clock?: () => number;
}

export class NodeObserver {
  constructor(private readonly o: NodeObserverOptions) {}

  view(): NodeView {
    const server = this.o.node.server;
    const log = server.log;
    const lastIndex = log.lastIndex();
    const from = Math.max(log.firstIndex(), lastIndex - LOG_TAIL + 1);
    const tail: NodeView['log'] = [];
    for (let i = from; i <= lastIndex; i++) {
      const entry = log.entry(i);
      tail.push({ index: i, term: entry?.term ?? 0, label: entry ? commandLabel(entry.value) : null });
    }
    const timer = server.state.electionTimer();
    const status = server.status();
    const now = this.o.clock ? this.o.clock() : performance.now();
    const lessor = this.o.lessor;
    return {
      node: String(server.name),
      role: status.role,
      term: status.term,
      votedFor: server.votedFor === null ? null : String(server.votedFor),
      leader: status.leader === null ? null : String(status.leader),
      commitIndex: status.commitIndex,
      lastApplied: status.lastApplied,
      firstIndex: log.firstIndex(),
      lastIndex,
      log: tail,
      electionTimer: timer && { elapsedMs: timer.elapsed * this.o.tickMs, timeoutMs: timer.timeout * this.o.tickMs },
      progress: status.progress ?? null,
      leases: lessor ? lessor.list().map(([id, ttl]) => ({ id: String(id), ttl, remainingMs: lessor.remainingMs(id, now) })) : [],
      isolated: this.o.transport.isolated,
      viewers: this.o.hub.viewerCount,
      viewersCutOff: this.o.hub.cutOff,
    };
  }

  /** Serve a /ui/ path; false for any other path (the caller answers it). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean {
    if (!path.startsWith('/ui/')) return false;
    if (req.method === 'GET' && path === '/ui/events') streamEvents(req, res, this.o.hub);
    else if (req.method === 'GET' && path === '/ui/state') sendJson(res, 200, this.view());
    else if (req.method === 'POST' && path === '/ui/isolate') void this.isolate(req, res);
    else {
      req.resume();
      sendJson(res, 404, { error: `no ${req.method} ${path}` });
    }
    return true;
  }

  private async isolate(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const body = await readJsonObject(req);
      if (typeof body.isolated !== 'boolean') throw new UiRequestError(400, 'isolated must be true or false', 'isolated');
      this.o.transport.setIsolated(body.isolated);
      sendJson(res, 200, this.view());
    } catch (e) {
      sendError(res, e);
    }
  }
}
