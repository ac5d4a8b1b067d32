// POST /v3/watch: etcd's Watch stream as its JSON gateway serves it.
//
// The request body is a stream of JSON objects, each one of
//   {"create_request": {key, range_end, start_revision, prev_kv, progress_notify, filters, watch_id}}
//   {"cancel_request": {watch_id}}
//   {"progress_request": {}}
// and the reply is a stream of lines {"result": WatchResponse}, open until the
// client goes away (etcd's gateway keeps it open after the body ends too).
// Shapes, field order and the IDs follow etcd 3.4 (docs/api.md, "Watch"):
// a create is answered {"watch_id", "created": true} before any event; IDs
// left at 0 are assigned from 0 up; events are {"type"?: "DELETE", "kv",
// "prev_kv"?}; a start below the compacted revision is answered with
// "compact_revision" and "canceled"; a progress request with watch_id -1.
//
// Backpressure: once more than maxBufferedBytes wait in the socket for the
// client, every watcher of the stream is left behind (WatchableStore) and
// caught up from the history when the socket drains; a client that falls so
// far behind that its next revision is compacted is canceled with a reason.
// A client that keeps sending requests without reading, so that their
// answers pile up past the limit, is cut off. Either way, a slow client cannot grow the node's memory.

import * as http from 'node:http';
import { WatchEvent, WatchSpec, Watcher, WatchableStore } from '../kv';
import { ApiError, ApiLimits, Fields, JsonObjectSplitter, badField, kvJson } from './gateway';

export interface WatchStreamOptions {
  store: WatchableStore;
  /** The response header as of now (etcd's ResponseHeader). */
  header: () => Record<string, string>;
  limits: ApiLimits;
  /** Bytes waiting for the client above which the stream's watchers are left behind. */
  maxBufferedBytes: number;
  /** How often a watcher with progress_notify and nothing new hears the current revision (etcd: 10 min). */
  progressIntervalMs: number;
  /** An error before the first line: an ordinary error reply. */
  sendError: (res: http.ServerResponse, e: unknown) => void;
  toApiError: (e: unknown) => ApiError;
}

const FILTER_NAMES = ['NOPUT', 'NODELETE'];
const DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';

interface Entry {
  watcher: Watcher | null;
  progressNotify: boolean;
  /** Something was sent for it since the last progress tick. */
  active: boolean;
}

class WatchStream {
  private readonly watchers = new Map<number, Entry>();
  private nextId = 0;
  private started = false;
  private closed = false;
  /** Bytes of answers written while the client was already over the limit. */
  private overflow = 0;
  private readonly progressTimer: NodeJS.Timeout;

  constructor(
    private readonly o: WatchStreamOptions,
    private readonly res: http.ServerResponse,
  ) {
    this.progressTimer = setInterval(() => this.progress(), o.progressIntervalMs);
    this.progressTimer.unref();
    res.on('drain', () => this.resumeAll());
  }

  /** Handle one object of the request body. */
  handle(obj: Record<string, unknown>): void {
    if (this.closed) return;
    const f = new Fields(obj, this.o.limits);
    const create = f.object('create_request');
    const cancel = f.object('cancel_request');
    if (create) this.create(create);
    else if (cancel) this.cancel(cancel);
    else if (f.object('progress_request')) this.write({ header: this.o.header(), watch_id: '-1' });
    // Anything else is ignored, as etcd does.
  }

  private create(f: Fields): void {
    const spec: WatchSpec = {
      key: f.bytes('key', 'key'),
      rangeEnd: f.bytes('range_end', 'key'),
      startRevision: f.count('start_revision'),
      prevKv: f.bool('prev_kv'),
      noPut: false,
      noDelete: false,
    };
    f.list('filters').forEach((v, i) => {
      const n = typeof v === 'string' ? FILTER_NAMES.indexOf(v) : typeof v === 'number' && Number.isInteger(v) ? v : -1;
      if (n === 0) spec.noPut = true;
      else if (n === 1) spec.noDelete = true;
      else throw badField(`${f.name('filters')}[${i}]`, `must be one of ${FILTER_NAMES.join(', ')}`);
    });
    const progressNotify = f.bool('progress_notify');
    const asked = Number(f.count('watch_id'));
    if (asked > 0 && this.watchers.has(asked)) {
      this.write({ header: this.o.header(), watch_id: '-1', created: true, canceled: true, cancel_reason: DUPLICATE_ID });
      return;
    }
    let id = asked;
    if (asked === 0) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    }
    const entry: Entry = { watcher: null, progressNotify, active: false };
    this.watchers.set(id, entry);
    this.write({ header: this.o.header(), ...watchId(id), created: true });
    entry.watcher = this.o.store.watch(spec, {
      events: (events) => {
        entry.active = true;
        return this.write({ header: this.o.header(), ...watchId(id), events: events.map(eventJson) });
      },
      compacted: (compactRevision, behind) => {
        this.watchers.delete(id);
        // etcd's header here carries no revision.
        const { revision: _r, ...header } = this.o.header();
        const out: Record<string, unknown> = { header, ...watchId(id), canceled: true, compact_revision: String(compactRevision) };
        if (behind) {
          out.cancel_reason = `the watcher fell behind: the revisions it had yet to receive were compacted at ${compactRevision}; resume from a revision at or above it`;
        }
        this.write(out);
      },
    });
  }

  private cancel(f: Fields): void {
    const id = Number(f.count('watch_id'));
    const entry = this.watchers.get(id);
    if (!entry) return; // etcd answers nothing for an unknown ID
    if (entry.watcher) this.o.store.cancel(entry.watcher);
    this.watchers.delete(id);
    this.write({ header: this.o.header(), ...watchId(id), canceled: true });
  }

  /** etcd's progress notification: a watcher with nothing new hears the current revision. */
  private progress(): void {
    for (const [id, e] of this.watchers) {
      if (e.progressNotify && !e.active && e.watcher?.synced) this.write({ header: this.o.header(), ...watchId(id) });
      e.active = false;
    }
  }

  /** Write one line; false when the client is too far behind to take more. */
  private write(result: Record<string, unknown>): boolean {
    if (this.closed) return false;
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'content-type': 'application/json' });
    }
    const line = JSON.stringify({ result }) + '\n';
    // Events are written only below the limit (the watcher is left behind
    // above it); what else arrives above it is a client asking without reading.
    if (this.res.writableLength > this.o.maxBufferedBytes) {
      this.overflow += line.length;
      if (this.overflow > this.o.maxBufferedBytes) {
        this.res.destroy();
        this.close();
        return false;
      }
    }
    this.res.write(line);
    return this.res.writableLength <= this.o.maxBufferedBytes;
  }

  private resumeAll(): void {
    for (const e of this.watchers.values()) if (e.watcher && !e.watcher.synced) this.o.store.resume(e.watcher);
  }

  /** A bad request: before the first line, an error reply; after, an error line, and the stream ends. */
  fail(e: unknown): void {
    if (this.closed) return;
    if (!this.started) {
      this.started = true;
      this.o.sendError(this.res, e);
    } else {
      const err = this.o.toApiError(e);
      const body = { grpc_code: err.code, http_code: err.status, message: err.message, http_status: http.STATUS_CODES[err.status] ?? '' };
      this.res.end(JSON.stringify({ error: body }) + '\n');
    }
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    for (const e of this.watchers.values()) if (e.watcher) this.o.store.cancel(e.watcher);
    this.watchers.clear();
  }
}

function watchId(id: number): Record<string, string> {
  return id === 0 ? {} : { watch_id: String(id) };
}

function eventJson(e: WatchEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.type === 'DELETE') out.type = 'DELETE';
  out.kv = kvJson(e.kv);
  if (e.prevKv) out.prev_kv = kvJson(e.prevKv);
  return out;
}

/** Serve one POST /v3/watch until the client goes away. */
export function serveWatch(o: WatchStreamOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const stream = new WatchStream(o, res);
  const splitter = new JsonObjectSplitter(o.limits.maxRequestBytes);
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.close();
      resolve();
    };
    req.on('data', (chunk: Buffer) => {
      try {
        for (const obj of splitter.push(chunk)) stream.handle(obj as Record<string, unknown>);
      } catch (e) {
        stream.fail(e);
      }
    });
    req.on('end', () => {
      try {
        splitter.end();
      } catch (e) {
        stream.fail(e);
      }
    });
    res.on('close', done);
    req.on('error', done);
  });
}
