// The client API each node serves: etcd v3's JSON gateway over node:http,
// in front of a NodeHandle (the running Raft node) and the node's KvStore.
//
//   POST /v3/kv/put, /v3/kv/range, /v3/kv/deleterange, /v3/kv/txn, /v3/kv/compaction
//   POST /v3/lease/grant, /v3/lease/revoke, /v3/lease/keepalive (streaming),
//        /v3/lease/timetolive, /v3/lease/leases (and etcd's /v3/kv/lease/* aliases)
//   POST /v3/watch (streaming, src/api/watch.ts)
//   POST /v3/maintenance/status, /v3/cluster/member/list   (also under /v3beta/)
//   GET  /status, /health, /version
//
// Lease grant and revoke are log commands like writes. Keep-alive and
// time-to-live need the leader's deadlines (docs/leases.md): a follower
// forwards them to the leader's API over HTTP, once (a forwarded request that
// lands on a non-leader is answered 503 with the leader hint, never forwarded
// again).
//
// Writes become log entries through NodeHandle.propose() and are answered
// once applied on this node (a follower forwards to the leader; we just wait,
// up to a bounded time). Reads are linearizable by default: ReadIndex
// (thesis §6.4) through NodeHandle.readBarrier(), then a read of the local
// store; `serializable: true` reads the local store at once, possibly stale.
//
// Each write carries a session {clientId, seq} for the store's dedup table
// (thesis §6.3). A client that may retry sends an `x-request-id` header; the
// same id maps to the same session, so a retry (to this node or another) is
// applied at most once and gets the first answer. Without the header, each
// request gets a fresh session, which still protects it from being applied
// twice if the node itself re-proposes it. See docs/api.md.

import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  KvCommand,
  KvRequestError,
  KvResult,
  KvStore,
  MAX_LEASE_TTL_SECONDS,
  WatchableStore,
  Session,
  encodeCommand,
  toBase64,
} from '../kv';
import { NodeId } from '../messages';
import {
  ApiError,
  ApiLimits,
  DEFAULT_LIMITS,
  Fields,
  GrpcCode,
  JsonObjectSplitter,
  badField,
  deleteRangeJson,
  failureToApiError,
  parseBody,
  parseDeleteRange,
  parsePut,
  parseRange,
  parseTxn,
  putJson,
  rangeJson,
  txnJson,
} from './gateway';
import { clusterIdOf, memberIdOf } from './ids';
import { EntryTooLargeError, LeaderNotReplicatingError, LeaseHandle, NodeHandle, NodeStatus, NotLeaderError, TimeoutError } from './node-handle';
import { WatchStreamOptions, serveWatch } from './watch';

export const API_VERSION = '0.1.0';
/**
 * The etcd API level GET /version reports (etcd's own reply is
 * {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}): clients that pick their
 * paths by version see the 3.4 gateway, which is the one we serve.
 */
export const ETCD_API_VERSION = '3.4.0';

export interface ApiServerOptions {
  node: NodeHandle;
  /** The node's state machine, read locally for ranges and status. */
  kv: KvStore;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** How clients reach this API; default http://host:port once listening. */
  advertiseUrl?: string;
  /** Other members' API URLs by name, when NodeStatus.peers does not carry them. */
  peerApis?: Record<string, string>;
  /** Longest a request waits for propose() or readBarrier() before a 503. Default 5000 ms. */
  requestTimeoutMs?: number;
  /** Longest GET /health waits for a read barrier. Default 1000 ms. */
  healthTimeoutMs?: number;
  limits?: Partial<ApiLimits>;
  /** Called with unexpected errors (bugs), which also get a 500 reply. */
  log?: (line: string) => void;
  /** Called with what is nobody's fault here, such as a client that went away mid-request (--log-level debug). */
  debug?: (line: string) => void;
  /** More routes served beside the API (the live view's /ui/, src/ui/node-observer.ts): true if it answered. */
  extraRoutes?: (req: http.IncomingMessage, res: http.ServerResponse, path: string) => boolean;
  /** Watch streams: bytes waiting for a client before its watchers are left behind (default 1 MiB). */
  watchMaxBufferedBytes?: number;
  /** Watch progress notifications for idle watchers that asked for them (default 10 min, as etcd). */
  watchProgressIntervalMs?: number;
}

/** The client closed or reset its connection before its request was read: there is no one to answer. */
export class ClientAbortError extends Error {
  constructor(reason: string) {
    super(`client went away before its request body was read (${reason})`);
    this.name = 'ClientAbortError';
  }
}

/**
 * How long a client may take to send its request's headers (a slow-headers
 * client holds a socket and memory). node:http checks this timeout only every
 * connectionsCheckingInterval (30 s by default, which stretched 10 s into
 * 10-40 s): we check every HTTP_TIMEOUT_CHECK_MS, so a slow-headers socket is
 * answered 408 and closed between HEADERS_TIMEOUT_MS and HEADERS_TIMEOUT_MS +
 * HTTP_TIMEOUT_CHECK_MS after its first byte (docs/api.md).
 */
export const HEADERS_TIMEOUT_MS = 10_000;
const HTTP_TIMEOUT_CHECK_MS = 1_000;

type Handler = (body: Fields, req: http.IncomingMessage) => Promise<unknown>;

const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
/** Marks a lease request a follower forwarded to the leader (it is never forwarded twice). */
const FORWARDED_HEADER = 'x-simpleraft-forwarded';
const KEEPALIVE_PATHS = new Set(['/v3/lease/keepalive', '/v3beta/lease/keepalive']);
const WATCH_PATHS = new Set(['/v3/watch', '/v3beta/watch']);
/** Random lease IDs are positive int64s (etcd's are too: 18-19 digits). */
const INT63_MASK = (1n << 63n) - 1n;

export class ApiServer {
  readonly http: http.Server;
  readonly limits: ApiLimits;
  private readonly node: NodeHandle;
  private readonly kv: KvStore;
  private readonly requestTimeoutMs: number;
  private readonly healthTimeoutMs: number;
  private url: string | null = null;
  private readonly rpc = new Map<string, Handler>();
  private readonly watch: WatchStreamOptions;
  /** The watches this API serves from the node's applied state. */
  readonly watchable: WatchableStore;

  constructor(private readonly options: ApiServerOptions) {
    this.node = options.node;
    this.kv = options.kv;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 1000;
    this.watchable = new WatchableStore(this.kv);
    this.watch = {
      store: this.watchable,
      header: () => this.header(),
      limits: this.limits,
      maxBufferedBytes: options.watchMaxBufferedBytes ?? 1024 * 1024,
      progressIntervalMs: options.watchProgressIntervalMs ?? 10 * 60 * 1000,
      sendError: (res, e) => this.sendError(res, e),
      toApiError: (e) => this.toApiError(e),
    };
    const routes: [string, Handler][] = [
      ['kv/put', (f, req) => this.put(f, req)],
      ['kv/range', (f) => this.range(f)],
      ['kv/deleterange', (f, req) => this.deleteRange(f, req)],
      ['kv/txn', (f, req) => this.txn(f, req)],
      ['kv/compaction', (f, req) => this.compaction(f, req)],
      ['maintenance/status', () => this.maintenanceStatus()],
      ['cluster/member/list', () => this.memberList()],
      ['lease/grant', (f, req) => this.leaseGrant(f, req)],
      ['lease/revoke', (f, req) => this.leaseRevoke(f, req)],
      ['lease/timetolive', (f, req) => this.leaseTimeToLive(f, req)],
      ['lease/leases', () => this.leaseLeases()],
      // etcd 3.4's older aliases.
      ['kv/lease/revoke', (f, req) => this.leaseRevoke(f, req)],
      ['kv/lease/timetolive', (f, req) => this.leaseTimeToLive(f, req)],
      ['kv/lease/leases', () => this.leaseLeases()],
    ];
    for (const [path, h] of routes) {
      this.rpc.set(`/v3/${path}`, h);
      this.rpc.set(`/v3beta/${path}`, h);
    }
    this.http = http.createServer({ connectionsCheckingInterval: HTTP_TIMEOUT_CHECK_MS }, (req, res) => {
      this.handle(req, res).catch((e) => this.internalError(res, e));
    });
    // Bound slow clients: a request body must arrive within 30 s (readBody).
    // node:http's own requestTimeout would also cut the streaming keep-alive,
    // whose body stays open as long as the client renews, so it is off.
    this.http.requestTimeout = 0;
    this.http.headersTimeout = HEADERS_TIMEOUT_MS;
  }

  /** Start listening; resolves with the API's URL. */
  listen(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.http.once('error', onError);
      this.http.listen(this.options.port ?? 0, host, () => {
        this.http.off('error', onError);
        const { port } = this.http.address() as AddressInfo;
        this.url = this.options.advertiseUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
        resolve(this.url);
      });
    });
  }

  /** Stop accepting, drop open connections, and resolve once closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.http.listening) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  // ---- Routing --------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.on('error', () => undefined); // a reset client is not our problem
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return sendText(res, 400, 'Bad Request');
    }
    const rpc = this.rpc.get(path);
    const get = path === '/status' || path === '/health' || path === '/version';
    const stream = KEEPALIVE_PATHS.has(path) || WATCH_PATHS.has(path);
    if (!rpc && !get && !stream) {
      if (this.options.extraRoutes?.(req, res, path)) return;
      req.resume();
      return sendText(res, 404, '404 page not found'); // as etcd's gateway answers
    }
    const allowed = rpc || stream ? 'POST' : 'GET';
    if (req.method !== allowed) {
      req.resume();
      return sendText(res, 405, 'Method Not Allowed', { allow: allowed });
    }
    if (path === '/status') return sendJson(res, 200, this.statusJson());
    if (path === '/health') return this.health(res);
    if (path === '/version') return sendJson(res, 200, { etcdserver: ETCD_API_VERSION, etcdcluster: ETCD_API_VERSION, simpleraft: API_VERSION });
    if (WATCH_PATHS.has(path)) return serveWatch(this.watch, req, res);
    if (stream) return this.keepAliveStream(req, res);

    try {
      const body = await readBody(req, this.limits.maxRequestBytes);
      const reply = await rpc!(new Fields(parseBody(body), this.limits), req);
      sendJson(res, 200, reply);
    } catch (e) {
      this.sendError(res, e);
    }
  }

  private sendError(res: http.ServerResponse, e: unknown): void {
    if (e instanceof ClientAbortError) {
      this.options.debug?.(`api: ${e.message}`);
      res.destroy();
      return;
    }
    const err = this.toApiError(e);
    if (err.status === 500) this.options.log?.(`api: internal error: ${(e as Error)?.stack ?? String(e)}`);
    // After a 413 or 408 the rest of the body may still be arriving: close the connection.
    sendJson(res, err.status, err.body(), err.status === 413 || err.status === 408 ? { connection: 'close' } : {});
  }

  private internalError(res: http.ServerResponse, e: unknown): void {
    this.options.log?.(`api: internal error: ${(e as Error)?.stack ?? String(e)}`);
    sendJson(res, 500, new ApiError(500, GrpcCode.Internal, 'internal error').body());
  }

  private toApiError(e: unknown): ApiError {
    if (e instanceof ApiError) return e;
    if (e instanceof NotLeaderError) {
      const msg = e.leader === null ? 'etcdserver: no leader' : `etcdserver: not leader; the leader is ${e.leader}`;
      return new ApiError(503, GrpcCode.Unavailable, msg, this.leaderHint(e.leader, e.leaderApi));
    }
    if (e instanceof LeaderNotReplicatingError) {
      return new ApiError(503, GrpcCode.Unavailable, `etcdserver: ${e.message}`, this.leaderHint(e.leader, null));
    }
    if (e instanceof TimeoutError) {
      return new ApiError(503, GrpcCode.Unavailable, 'etcdserver: request timed out', this.leaderHint(e.leader, null));
    }
    if (e instanceof KvRequestError) return new ApiError(400, GrpcCode.OutOfRange, e.message, { field: 'revision' });
    if (e instanceof ForwardError) {
      return new ApiError(503, GrpcCode.Unavailable, `etcdserver: the leader could not be reached (${e.message})`, this.leaderHint(e.leader, e.url));
    }
    if (e instanceof EntryTooLargeError) {
      // etcd's ErrRequestTooLarge: the client's mistake, so a 4xx, never a 500.
      return new ApiError(413, GrpcCode.InvalidArgument, 'etcdserver: request is too large', { bytes: e.bytes, limit: e.limit });
    }
    return new ApiError(500, GrpcCode.Internal, `internal error: ${(e as Error)?.message ?? String(e)}`);
  }

  /** 503 replies name the leader, when known, and its API URL, so clients can go there. */
  private leaderHint(leader: NodeId | null, leaderApi: string | null): Record<string, unknown> {
    if (leader === null) leader = this.safeStatus()?.leader ?? null;
    if (leader === null) return {};
    const hint: Record<string, unknown> = { leader: String(leader), leader_id: memberIdOf(leader) };
    const url = leaderApi ?? this.apiOf(leader);
    if (url) hint.leader_url = url;
    return hint;
  }

  private apiOf(name: NodeId): string | null {
    if (String(name) === String(this.node.name)) return this.url;
    const peer = this.safeStatus()?.peers.find((p) => String(p.name) === String(name));
    return peer?.api ?? this.options.peerApis?.[String(name)] ?? null;
  }

  private safeStatus(): NodeStatus | null {
    try {
      return this.node.status();
    } catch {
      return null;
    }
  }

  // ---- Waiting on the node, bounded ----------------------------------------------------

  private bounded<T>(start: () => Promise<T>, what: string, ms = this.requestTimeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(what, this.safeStatus()?.leader ?? null)), ms);
      timer.unref(); // the listening server keeps the process alive, not a pending request
      Promise.resolve()
        .then(start)
        .then(
          (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          (e) => {
            clearTimeout(timer);
            reject(e);
          },
        );
    });
  }

  /** Propose a command and wait until it is applied here; a store failure becomes an ApiError. */
  private async write(cmd: KvCommand): Promise<Exclude<KvResult, { kind: 'error' }>> {
    const value = encodeCommand(cmd);
    const result = (await this.bounded(() => this.node.propose(value), 'request')) as KvResult | null;
    if (result === null || typeof result !== 'object' || typeof (result as { kind?: unknown }).kind !== 'string') {
      throw new ApiError(500, GrpcCode.Internal, 'the node returned no result for the command');
    }
    if (result.kind === 'error') throw failureToApiError(result);
    return result;
  }

  /**
   * The dedup session of a write (thesis §6.3). Only a client that may retry
   * needs one, and it says so with x-request-id; a request without the header
   * cannot be retried as the same request, so it carries none (and costs the
   * replicated dedup table nothing).
   */
  private session(req: http.IncomingMessage): Session | null {
    const h = req.headers[REQUEST_ID_HEADER];
    if (h === undefined) return null;
    if (typeof h !== 'string' || !REQUEST_ID.test(h)) {
      throw badField(REQUEST_ID_HEADER, 'must be 1-128 visible ASCII characters');
    }
    return { clientId: `req:${h}`, seq: 1 };
  }

  private header(revision: number = this.kv.revision): Record<string, string> {
    const st = this.node.status();
    return {
      cluster_id: clusterIdOf([st.name, ...st.peers.map((p) => p.name)]),
      member_id: memberIdOf(st.name),
      revision: String(revision),
      raft_term: String(st.term),
    };
  }

  // ---- RPCs ------------------------------------------------------------------------------

  private async put(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    const request = parsePut(f);
    const r = await this.write({ op: 'put', session: this.session(req), request });
    if (r.kind !== 'put') throw new ApiError(500, GrpcCode.Internal, `unexpected result ${r.kind}`);
    return putJson(this.header(r.revision), r);
  }

  private async deleteRange(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    const request = parseDeleteRange(f);
    const r = await this.write({ op: 'deleteRange', session: this.session(req), request });
    if (r.kind !== 'deleteRange') throw new ApiError(500, GrpcCode.Internal, `unexpected result ${r.kind}`);
    return deleteRangeJson(this.header(r.revision), r);
  }

  private async txn(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    const request = parseTxn(f, this.limits);
    const r = await this.write({ op: 'txn', session: this.session(req), request });
    if (r.kind !== 'txn') throw new ApiError(500, GrpcCode.Internal, `unexpected result ${r.kind}`);
    return txnJson(this.header(r.revision), r);
  }

  /**
   * etcd's Compact, through the log like a write, so every replica trims
   * its history at the same point. `physical` asks etcd to wait until the
   * disk is compacted; ours is done when applied, so it changes nothing.
   */
  private async compaction(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    const revision = f.count('revision');
    f.bool('physical');
    // etcd compacts at 0 without complaint, and there is nothing below it to forget.
    if (revision === 0) return { header: this.header() };
    const r = await this.write({ op: 'compaction', session: this.session(req), request: { revision } });
    return { header: this.header(r.revision) };
  }

  private async range(f: Fields): Promise<unknown> {
    const { request, serializable } = parseRange(f);
    // Linearizable unless asked otherwise: wait until this node has applied
    // everything committed when the read arrived (ReadIndex, thesis §6.4).
    if (!serializable) await this.bounded(() => this.node.readBarrier(), 'read');
    const r = this.kv.range(request);
    return rangeJson(this.header(r.revision), r);
  }

  private async maintenanceStatus(): Promise<unknown> {
    const st = this.node.status();
    const out: Record<string, unknown> = { header: this.header(), version: API_VERSION };
    const size = this.kv.approximateBytes;
    if (size) out.dbSize = String(size);
    if (st.leader !== null) out.leader = memberIdOf(st.leader);
    if (st.commitIndex) out.raftIndex = String(st.commitIndex);
    if (st.term) out.raftTerm = String(st.term);
    if (st.lastApplied) out.raftAppliedIndex = String(st.lastApplied);
    if (size) out.dbSizeInUse = String(size);
    return out;
  }

  private async memberList(): Promise<unknown> {
    const st = this.node.status();
    const members = [st.name, ...st.peers.map((p) => p.name)].map((name) => {
      const m: Record<string, unknown> = { ID: memberIdOf(name), name: String(name) };
      const api = this.apiOf(name);
      if (api) m.clientURLs = [api];
      return m;
    });
    return { header: this.header(), members };
  }

  // ---- Leases (docs/leases.md) ------------------------------------------------------------

  private requireLeases(): LeaseHandle {
    const leases = this.node.leases;
    if (!leases) throw new ApiError(501, GrpcCode.Unimplemented, 'leases are not enabled on this node');
    return leases;
  }

  /**
   * A lease ID for a grant that names none. With an x-request-id it is derived
   * from it, so a retry (to any node) proposes the very same command and the
   * dedup table answers it with the first result; otherwise it is random. As
   * etcd's, a positive int64, well above 2^53: it travels as a string.
   */
  private newLeaseId(req: http.IncomingMessage): bigint {
    const h = req.headers[REQUEST_ID_HEADER];
    const bytes =
      typeof h === 'string' && REQUEST_ID.test(h) ? createHash('sha256').update(`lease-id:${h}`).digest() : randomBytes(8);
    const id = bytes.readBigUInt64BE(0) & INT63_MASK;
    return id === 0n ? 1n : id;
  }

  private async leaseGrant(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    const leases = this.requireLeases();
    const requested = f.int64('TTL');
    if (requested > BigInt(MAX_LEASE_TTL_SECONDS)) {
      throw new ApiError(400, GrpcCode.OutOfRange, 'etcdserver: too large lease TTL', { field: 'TTL' });
    }
    // As etcd: a TTL below the minimum (0 and negative too) is raised to it.
    const ttl = Math.max(leases.minTtlSeconds, Number(requested));
    const given = f.int64('ID');
    if (given < 0n) throw badField('ID', 'a lease ID must be positive (0: let the server choose)');
    const chosen = given === 0n;
    for (let attempt = 0; ; attempt++) {
      const id = chosen ? this.newLeaseId(req) : given;
      try {
        const r = await this.write({ op: 'leaseGrant', session: this.session(req), request: { id, ttl } });
        if (r.kind !== 'leaseGrant') throw new ApiError(500, GrpcCode.Internal, `unexpected result ${r.kind}`);
        return { header: this.header(r.revision), ID: r.id.toString(), TTL: String(r.ttl) };
      } catch (e) {
        // A random ID that happens to be taken: draw again (a derived one would draw the same).
        const taken = e instanceof ApiError && e.status === 412;
        if (!(taken && chosen && req.headers[REQUEST_ID_HEADER] === undefined && attempt < 3)) throw e;
      }
    }
  }

  private async leaseRevoke(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    this.requireLeases();
    const id = f.int64('ID');
    if (id <= 0n) throw new ApiError(404, GrpcCode.NotFound, 'etcdserver: requested lease not found');
    const r = await this.write({ op: 'leaseRevoke', session: this.session(req), request: { id } });
    if (r.kind !== 'leaseRevoke') throw new ApiError(500, GrpcCode.Internal, `unexpected result ${r.kind}`);
    return { header: this.header(r.revision) };
  }

  private async leaseLeases(): Promise<unknown> {
    const leases = this.requireLeases();
    // Linearizable, like a default range: every grant and revoke committed before now is applied here.
    await this.bounded(() => this.node.readBarrier(), 'read');
    const ids = leases.list();
    const out: Record<string, unknown> = { header: this.header() };
    if (ids.length > 0) out.leases = ids.map((id) => ({ ID: id.toString() }));
    return out;
  }

  private async leaseTimeToLive(f: Fields, req: http.IncomingMessage): Promise<unknown> {
    const leases = this.requireLeases();
    const id = f.int64('ID');
    const keys = f.bool('keys');
    let info;
    try {
      info = id <= 0n ? null : await this.bounded(() => leases.timeToLive(id), 'request');
    } catch (e) {
      const fwd = this.forwardable(e, req);
      if (!fwd) throw e;
      const r = await this.forward(fwd, '/v3/lease/timetolive', { ID: id.toString(), keys });
      if (r.status !== 200) throw new ApiError(r.status, Number(r.json.code ?? GrpcCode.Unavailable), String(r.json.message ?? r.text), relayExtra(r.json));
      return r.json;
    }
    // etcd answers an unknown lease with TTL -1 and no grantedTTL.
    const out: Record<string, unknown> = { header: this.header(), ID: id.toString() };
    if (info === null) {
      out.TTL = '-1';
      return out;
    }
    if (info.ttl) out.TTL = String(info.ttl);
    out.grantedTTL = String(info.grantedTtl);
    if (keys && info.keys.length > 0) out.keys = info.keys.map(toBase64);
    return out;
  }

  /** One keep-alive: etcd's LeaseKeepAliveResponse (no TTL for an unknown or expired lease). */
  private async keepAliveOne(f: Fields, req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const leases = this.requireLeases();
    const id = f.int64('ID');
    let ttl: number | null;
    try {
      ttl = id <= 0n ? null : await this.bounded(() => leases.keepAlive(id), 'request');
    } catch (e) {
      const fwd = this.forwardable(e, req);
      if (!fwd) throw e;
      const r = await this.forward(fwd, '/v3/lease/keepalive', { ID: id.toString() });
      if (r.status !== 200) throw new ApiError(r.status, Number(r.json.code ?? GrpcCode.Unavailable), String(r.json.message ?? r.text), relayExtra(r.json));
      const line = r.text.split('\n').find((l) => l.trim().length > 0) ?? '';
      const parsed = safeJson(line);
      if (!parsed || typeof parsed.result !== 'object' || parsed.result === null) {
        const err = (parsed?.error ?? {}) as Record<string, unknown>;
        throw new ApiError(Number(err.http_code ?? 503), Number(err.grpc_code ?? GrpcCode.Unavailable), String(err.message ?? 'bad reply from the leader'));
      }
      return parsed.result as Record<string, unknown>;
    }
    const out: Record<string, unknown> = { header: this.header(), ID: id.toString() };
    if (ttl !== null && ttl > 0) out.TTL = String(ttl);
    return out;
  }

  /**
   * POST /v3/lease/keepalive, etcd's streaming form: the body may hold several
   * JSON objects back to back; each gets one reply line {"result": {...}} as
   * soon as it is renewed, and the reply ends when the body ends. A single
   * object works the same. If the first keep-alive fails, the reply is an
   * ordinary error (status and body); a later failure is written as a line
   * {"error": {...}} (grpc-gateway's stream error shape) and ends the reply.
   */
  private keepAliveStream(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const splitter = new JsonObjectSplitter(this.limits.maxRequestBytes);
    let started = false;
    let stopped = false;
    let count = 0;
    const fail = (e: unknown): void => {
      stopped = true;
      if (!started) return this.sendError(res, e);
      const err = this.toApiError(e);
      if (err.status === 500) this.options.log?.(`api: internal error: ${(e as Error)?.stack ?? String(e)}`);
      const body = { grpc_code: err.code, http_code: err.status, message: err.message, http_status: http.STATUS_CODES[err.status] ?? '' };
      res.end(JSON.stringify({ error: body }) + '\n');
    };
    const one = async (obj: unknown): Promise<void> => {
      if (stopped) return;
      count++;
      try {
        const result = await this.keepAliveOne(new Fields(obj as Record<string, unknown>, this.limits), req);
        if (stopped) return;
        if (!started) {
          started = true;
          res.writeHead(200, { 'content-type': 'application/json' });
        }
        res.write(JSON.stringify({ result }) + '\n');
      } catch (e) {
        fail(e);
      }
    };
    return new Promise<void>((resolve) => {
      // Objects are answered one at a time, in order, as they arrive.
      let chain = Promise.resolve();
      const enqueue = (f: () => Promise<void> | void) => {
        chain = chain.then(f).catch((e) => fail(e));
      };
      req.on('data', (chunk: Buffer) => {
        if (stopped) return;
        let objs: unknown[];
        try {
          objs = splitter.push(chunk);
        } catch (e) {
          enqueue(() => fail(e));
          return;
        }
        for (const o of objs) enqueue(() => one(o));
      });
      req.on('end', () => {
        enqueue(async () => {
          if (stopped) return;
          try {
            splitter.end();
          } catch (e) {
            return fail(e);
          }
          if (count === 0) await one({}); // an empty body counts as {}
          if (!stopped && !res.writableEnded) res.end();
        });
        enqueue(() => resolve());
      });
      req.on('close', () => {
        // The client went away mid-stream: stop answering.
        if (!req.complete) {
          stopped = true;
          resolve();
        }
      });
    });
  }

  /** Where to forward a lease request a non-leader refused, or null to answer with the error. */
  private forwardable(e: unknown, req: http.IncomingMessage): { leader: NodeId; url: string } | null {
    if (!(e instanceof NotLeaderError) || e.leader === null) return null;
    if (req.headers[FORWARDED_HEADER] !== undefined) return null; // forwarded once already
    const url = e.leaderApi ?? this.apiOf(e.leader);
    if (!url || url === this.url) return null;
    return { leader: e.leader, url };
  }

  /** POST a JSON body to the leader's API, bounded by the request timeout. */
  private async forward(to: { leader: NodeId; url: string }, path: string, body: unknown): Promise<{ status: number; text: string; json: Record<string, unknown> }> {
    try {
      const res = await fetch(to.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [FORWARDED_HEADER]: String(this.node.name) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      const text = await res.text();
      return { status: res.status, text, json: safeJson(text) ?? {} };
    } catch (e) {
      throw new ForwardError((e as Error)?.message ?? String(e), to.leader, to.url);
    }
  }

  // ---- Plain GET endpoints (ours, not etcd's gateway) --------------------------------------

  /** GET /status: the node as a learner wants to see it; numbers as JSON numbers. */
  statusJson(): Record<string, unknown> {
    const st = this.node.status();
    return {
      name: st.name,
      memberId: memberIdOf(st.name),
      role: st.role,
      term: st.term,
      leader: st.leader,
      leaderUrl: st.leader === null ? null : this.apiOf(st.leader),
      commitIndex: st.commitIndex,
      lastApplied: st.lastApplied,
      lastLogIndex: st.lastLogIndex,
      revision: this.kv.revision,
      compactRevision: this.kv.compactRevision,
      api: this.url,
      peers: st.peers.map((p) => {
        const peer: Record<string, unknown> = { name: p.name, memberId: memberIdOf(p.name) };
        if (p.matchIndex !== undefined) peer.matchIndex = p.matchIndex;
        const api = this.apiOf(p.name);
        if (api) peer.api = api;
        return peer;
      }),
      ...(st.counters ? { counters: st.counters } : {}),
    };
  }

  /** GET /health: healthy when a leader is known and a linearizable read completes (as etcd's). */
  private async health(res: http.ServerResponse): Promise<void> {
    const st = this.safeStatus();
    if (!st || st.leader === null) return sendJson(res, 503, { health: 'false', reason: 'no leader' });
    try {
      await this.bounded(() => this.node.readBarrier(), 'read', this.healthTimeoutMs);
      sendJson(res, 200, { health: 'true' });
    } catch (e) {
      sendJson(res, 503, { health: 'false', reason: (e as Error)?.message ?? String(e) });
    }
  }
}

// ---- HTTP plumbing ---------------------------------------------------------------------------

/** Forwarding a lease request to the leader failed (connection refused, timeout). */
class ForwardError extends Error {
  constructor(
    message: string,
    readonly leader: NodeId,
    readonly url: string,
  ) {
    super(message);
    this.name = 'ForwardError';
  }
}

function safeJson(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The extra fields of a relayed error body (field, leader hint), without error/message/code. */
function relayExtra(body: Record<string, unknown>): Record<string, unknown> {
  const { error: _e, message: _m, code: _c, ...extra } = body;
  return extra;
}

const BODY_TIMEOUT_MS = 30_000;

/** Read a request body of at most `max` bytes; a larger one is refused with 413. */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = () =>
    new ApiError(413, GrpcCode.InvalidArgument, `request body is too large; the limit is ${max} bytes`, {
      field: 'body',
    });
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      // Let the reply go out; the connection closes after it, so we read no more.
      req.resume();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // The whole body within 30 s (node:http's requestTimeout is off for the keep-alive stream).
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      chunks.length = 0;
      reject(new ApiError(408, GrpcCode.DeadlineExceeded, 'request body not received in time', { field: 'body' }));
    }, BODY_TIMEOUT_MS);
    timer.unref();
    req.once('close', () => clearTimeout(timer));
    req.once('end', () => clearTimeout(timer));
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    // A reset ('aborted') or a close before the end is the client leaving.
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(new ClientAbortError(e.message));
    });
    req.on('close', () => {
      if (done) return;
      done = true;
      reject(new ClientAbortError('connection closed'));
    });
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), 'application/json', headers);
}

function sendText(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  send(res, status, `${text}\n`, 'text/plain; charset=utf-8', headers);
}

function send(res: http.ServerResponse, status: number, body: string, type: string, headers: Record<string, string>): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': type, 'content-length': String(data.length), ...headers });
  res.end(data);
}
