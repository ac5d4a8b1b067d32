// The live view's web server: the page (static files in ./static), and one
// place the page talks to for the whole cluster. It relays every member's
// event stream into one (only while a browser watches, so an unwatched
// cluster pays nothing), gathers their state snapshots, and carries the
// page's controls to the right node:
//
//   GET  /                         the page
//   GET  /api/cluster              members, and whether stop/restart are possible
//   GET  /api/events               Server-Sent Events of every member (ViewEvent)
//   GET  /api/state                every member's NodeView (or why it is unreachable)
//   POST /api/nodes/NAME/put       {"key","value"} as text: a put through that node's API
//   POST /api/nodes/NAME/isolate   {"isolated": bool}: through that node's transport
//   POST /api/nodes/NAME/stop      stop the node's process (when processes are ours)
//   POST /api/nodes/NAME/restart   start it again from its data directory
//
// `npm start` runs one beside its three node processes; a node started with
// --ui runs one for itself and its --peer-apis.

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { EventHub } from './event-hub';
import { readJsonObject, sendError, sendJson, streamEvents, UiRequestError } from './http-util';

export interface Member {
  name: string;
  /** The member's client API, e.g. http://127.0.0.1:8001 (it serves /ui/ with --observe). */
  api: string;
}

/** Stops and restarts member processes; only the owner of the processes (npm start) has one. */
export interface ProcessControl {
  stop(name: string): Promise<void>;
  restart(name: string): Promise<void>;
}

export interface UiServerOptions {
  members: Member[];
  host?: string;
  /** Default 8000; 0 for any free port. */
  port?: number;
  processes?: ProcessControl;
  /** How long a state or isolate request to a member may take. Default 2000 ms. */
  memberTimeoutMs?: number;
  /** How long a put may take (a follower forwards it, and answers once it applied it). Default 10000 ms. */
  putTimeoutMs?: number;
  /** How often a put is retried after a 503 (no leader yet, or the forwarded command was lost). Default 3. */
  putRetries?: number;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const STATIC_DIR = path.join(__dirname, 'static');
const KEY_LIMIT = 1024;
const VALUE_LIMIT = 64 * 1024;

export class UiServer {
  readonly http: http.Server;
  /** The browsers watching; fed with the members' relayed events. */
  readonly hub = new EventHub({ node: 'ui' });
  private readonly members: Map<string, Member>;
  private readonly upstreams = new Map<string, http.ClientRequest>();
  private watcher: NodeJS.Timeout | null = null;

  constructor(private readonly o: UiServerOptions) {
    this.members = new Map(o.members.map((m) => [m.name, m]));
    this.http = http.createServer((req, res) => {
      res.on('error', () => undefined);
      this.route(req, res).catch((e) => sendError(res, e));
    });
  }

  listen(): Promise<string> {
    const host = this.o.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.o.port ?? 8000, host, () => {
        this.http.off('error', reject);
        // Follow the browsers: relay the members' streams while anyone watches.
        this.watcher = setInterval(() => this.followViewers(), 250);
        resolve(`http://${host}:${(this.http.address() as AddressInfo).port}/`);
      });
    });
  }

  close(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    for (const up of this.upstreams.values()) up.destroy();
    this.upstreams.clear();
    this.hub.close();
    return new Promise((resolve) => {
      if (!this.http.listening) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private followViewers(): void {
    for (const m of this.members.values()) {
      const up = this.upstreams.get(m.name);
      if (this.hub.listening && !up) this.connect(m);
      if (!this.hub.listening && up) {
        up.destroy();
        this.upstreams.delete(m.name);
      }
    }
  }

  /** Relay one member's /ui/events; on any end the next followViewers() reconnects. */
  private connect(m: Member): void {
    const req = http.get(`${m.api}/ui/events`, (res) => {
      if (res.statusCode !== 200) return req.destroy();
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const frame = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          for (const line of frame.split('\n')) if (line.startsWith('data: ')) this.hub.relay(line.slice(6));
        }
      });
      res.on('close', () => this.forget(m.name, req));
    });
    req.on('error', () => this.forget(m.name, req));
    this.upstreams.set(m.name, req);
  }

  private forget(name: string, req: http.ClientRequest): void {
    if (this.upstreams.get(name) === req) this.upstreams.delete(name);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const file = STATIC[p];
    if (req.method === 'GET' && file) {
      const body = await readFile(path.join(STATIC_DIR, file.file));
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
      return void res.end(body);
    }
    if (req.method === 'GET' && p === '/api/cluster') {
      return sendJson(res, 200, { members: [...this.members.values()], processes: this.o.processes !== undefined });
    }
    if (req.method === 'GET' && p === '/api/events') return streamEvents(req, res, this.hub);
    if (req.method === 'GET' && p === '/api/state') return sendJson(res, 200, { nodes: await this.states() });
    const control = /^\/api\/nodes\/([^/]+)\/(put|isolate|stop|restart)$/.exec(p);
    if (req.method === 'POST' && control) {
      const member = this.members.get(decodeURIComponent(control[1]));
      if (!member) throw new UiRequestError(404, `no member ${control[1]}`, 'node');
      return this.control(member, control[2], await readJsonObject(req), res);
    }
    req.resume();
    sendJson(res, 404, { error: `no ${req.method} ${p}` });
  }

  private async states(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        try {
          const r = await this.call(m, '/ui/state');
          out[m.name] = r.ok ? await r.json() : { node: m.name, error: `HTTP ${r.status}` };
        } catch (e) {
          out[m.name] = { node: m.name, error: `unreachable (${(e as Error).message})` };
        }
      }),
    );
    return out;
  }

  private async control(m: Member, action: string, body: Record<string, unknown>, res: http.ServerResponse): Promise<void> {
    if (action === 'stop' || action === 'restart') {
      if (!this.o.processes) throw new UiRequestError(409, 'this view does not own the node processes (start them with npm start)');
      await this.o.processes[action](m.name);
      return sendJson(res, 200, { node: m.name, done: action });
    }
    if (action === 'isolate') {
      if (typeof body.isolated !== 'boolean') throw new UiRequestError(400, 'isolated must be true or false', 'isolated');
      return this.forward(m, '/ui/isolate', { isolated: body.isolated }, res);
    }
    // put: text key and value, as the etcd gateway's base64.
    const { key, value } = body;
    if (typeof key !== 'string' || key.length === 0 || key.length > KEY_LIMIT) throw new UiRequestError(400, `key must be text of 1-${KEY_LIMIT} characters`, 'key');
    if (typeof value !== 'string' || value.length > VALUE_LIMIT) throw new UiRequestError(400, `value must be text of at most ${VALUE_LIMIT} characters`, 'value');
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    // A follower forwards the put once; right after an election or a restart
    // that message may be lost and the API answers 503. Retry as etcd's
    // clients do, under one request id, so the put is applied at most once
    // (docs/api.md, thesis §6.3).
    const request = { 'x-request-id': `ui-${randomUUID()}` };
    const put = { key: b64(key), value: b64(value) };
    return this.forward(m, '/v3/kv/put', put, res, { timeoutMs: this.o.putTimeoutMs ?? 10_000, retries: this.o.putRetries ?? 3, headers: request });
  }

  private async forward(
    m: Member,
    p: string,
    body: unknown,
    res: http.ServerResponse,
    o: { timeoutMs?: number; retries?: number; headers?: Record<string, string> } = {},
  ): Promise<void> {
    let r: Response;
    try {
      r = await this.call(m, p, body, o.timeoutMs, o.headers);
      for (let i = 0; r.status === 503 && i < (o.retries ?? 0); i++) r = await this.call(m, p, body, o.timeoutMs, o.headers);
    } catch (e) {
      throw new UiRequestError(502, `${m.name} is unreachable (${(e as Error).message})`);
    }
    const text = await r.text();
    res.writeHead(r.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(text);
  }

  private call(m: Member, p: string, body?: unknown, timeoutMs = this.o.memberTimeoutMs ?? 2000, headers: Record<string, string> = {}): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    if (body === undefined) return fetch(`${m.api}${p}`, { signal: timeout });
    return fetch(`${m.api}${p}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers }, signal: timeout });
  }
}
