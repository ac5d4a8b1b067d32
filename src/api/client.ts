// A small client for the etcd-style HTTP API (fetch-based, Node >= 18).
//
// Endpoint failover: a call goes to the endpoint that answered last; on a
// connection failure, a per-attempt timeout or a 503 it tries the next
// endpoint, and when a 503 names the leader's URL (`leader_url`) it tries the
// leader next. After a full round of failures it backs off briefly and goes
// round again, until the call's deadline. Any other HTTP error (400, 404,
// 413, ...) is final and thrown as an ApiClientError.
//
// Every write carries one `x-request-id` for all its attempts, so a write that
// reached the cluster before its answer was lost is not applied twice when
// retried elsewhere (the server's dedup table, thesis §6.3).

import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { prefixEnd } from '../kv/bytes';

export interface ClientOptions {
  endpoints: string[];
  /** Deadline for one call, all attempts included. Default 5000 ms. */
  timeoutMs?: number;
  /** Deadline for one attempt on one endpoint. Default min(timeoutMs, 2000 ms). */
  attemptTimeoutMs?: number;
}

/** An error reply from the API, or no usable reply at all. */
export class ApiClientError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no endpoint answered. */
    readonly status: number,
    /** etcd's gRPC code from the body, when there was one. */
    readonly code: number | null,
    readonly endpoint: string | null,
    readonly body: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export interface Header {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID as a decimal string ("0" = none). */
  lease: string;
}

export interface GetOptions {
  /** Every key with `key` as prefix. */
  prefix?: boolean;
  /** Every key >= `key`. */
  fromKey?: boolean;
  /** Explicit end of the range [key, rangeEnd). */
  rangeEnd?: string | Buffer;
  limit?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
  /** Local read on the endpoint, possibly stale. */
  serializable?: boolean;
}

export interface StatusJson {
  name: string | number;
  memberId: string;
  role: string;
  term: number;
  leader: string | number | null;
  leaderUrl: string | null;
  commitIndex: number;
  lastApplied: number;
  lastLogIndex: number;
  revision: number;
  api: string | null;
  peers: { name: string | number; memberId: string; matchIndex?: number; api?: string }[];
}

export interface Member {
  id: string;
  name: string;
  clientUrls: string[];
}

type Json = Record<string, unknown>;

/** "127.0.0.1:8001" -> "http://127.0.0.1:8001"; throws on anything that is not an http(s) URL. */
export function normalizeEndpoint(e: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(e) ? e : `http://${e}`;
  const u = new URL(withScheme);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported endpoint scheme in ${e}`);
  return `${u.protocol}//${u.host}`;
}

export class RaftClient {
  readonly endpoints: string[];
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  /** The endpoint that answered last: the next call starts there. */
  private preferred: string;

  constructor(options: ClientOptions) {
    if (options.endpoints.length === 0) throw new Error('no endpoints');
    this.endpoints = options.endpoints.map(normalizeEndpoint);
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? Math.min(this.timeoutMs, 2000);
    this.preferred = this.endpoints[0];
  }

  // ---- KV ------------------------------------------------------------------------

  async put(key: string | Buffer, value: string | Buffer, opts: { lease?: string; prevKv?: boolean } = {}) {
    const body: Json = { key: b64(key), value: b64(value) };
    if (opts.lease !== undefined && opts.lease !== '0') body.lease = opts.lease;
    if (opts.prevKv) body.prev_kv = true;
    const r = await this.call('/v3/kv/put', body, randomUUID());
    return { header: header(r), prevKv: r.prev_kv ? kv(r.prev_kv as Json) : undefined, raw: r };
  }

  async get(key: string | Buffer, opts: GetOptions = {}) {
    const [k, end] = rangeOf(key, opts);
    const body: Json = { key: k.toString('base64') };
    if (end) body.range_end = end.toString('base64');
    if (opts.limit) body.limit = opts.limit;
    if (opts.keysOnly) body.keys_only = true;
    if (opts.countOnly) body.count_only = true;
    if (opts.serializable) body.serializable = true;
    const r = await this.call('/v3/kv/range', body, null);
    return {
      header: header(r),
      kvs: ((r.kvs as Json[] | undefined) ?? []).map(kv),
      count: Number(r.count ?? 0),
      more: r.more === true,
      raw: r,
    };
  }

  async delete(key: string | Buffer, opts: Omit<GetOptions, 'limit' | 'keysOnly' | 'countOnly' | 'serializable'> & { prevKv?: boolean } = {}) {
    const [k, end] = rangeOf(key, opts);
    const body: Json = { key: k.toString('base64') };
    if (end) body.range_end = end.toString('base64');
    if (opts.prevKv) body.prev_kv = true;
    const r = await this.call('/v3/kv/deleterange', body, randomUUID());
    return {
      header: header(r),
      deleted: Number(r.deleted ?? 0),
      prevKvs: ((r.prev_kvs as Json[] | undefined) ?? []).map(kv),
      raw: r,
    };
  }

  // ---- Leases (docs/leases.md) ---------------------------------------------------------
  // Lease IDs are int64s above 2^53: strings here, as on the wire.

  /** Grant a lease of `ttl` seconds (raised to the cluster's minimum); `id` "0" or absent: the server picks. */
  async leaseGrant(ttl: number, opts: { id?: string } = {}) {
    const body: Json = { TTL: ttl };
    if (opts.id !== undefined && opts.id !== '0') body.ID = opts.id;
    const r = await this.call('/v3/lease/grant', body, randomUUID());
    return { header: header(r), id: String(r.ID ?? '0'), ttl: Number(r.TTL ?? 0), raw: r };
  }

  /** Revoke a lease and delete its keys; an unknown lease is a 404 ApiClientError. */
  async leaseRevoke(id: string) {
    const r = await this.call('/v3/lease/revoke', { ID: id }, randomUUID());
    return { header: header(r), raw: r };
  }

  /**
   * One keep-alive. Resolves with the TTL it was renewed for; an unknown or
   * expired lease (the gateway's reply without TTL) is an ApiClientError with
   * status 404, as etcd's client reports ErrLeaseNotFound.
   */
  async leaseKeepAliveOnce(id: string) {
    const r = await this.call('/v3/lease/keepalive', { ID: id }, null);
    return keepAliveResult((r.result ?? {}) as Json, null);
  }

  /** Remaining TTL (-1: no such lease), granted TTL, and the keys when asked. */
  async leaseTimeToLive(id: string, opts: { keys?: boolean } = {}) {
    const body: Json = { ID: id };
    if (opts.keys) body.keys = true;
    const r = await this.call('/v3/lease/timetolive', body, null);
    return {
      header: header(r),
      id: String(r.ID ?? id),
      ttl: Number(r.TTL ?? 0),
      grantedTtl: Number(r.grantedTTL ?? 0),
      keys: ((r.keys as string[] | undefined) ?? []).map((k) => Buffer.from(String(k), 'base64')),
      raw: r,
    };
  }

  /** Every lease ID. */
  async leaseLeases() {
    const r = await this.call('/v3/lease/leases', {}, null);
    return { header: header(r), ids: ((r.leases as Json[] | undefined) ?? []).map((l) => String(l.ID)), raw: r };
  }

  /**
   * Keep a lease alive until `signal` aborts or the lease is gone, over etcd's
   * streaming keep-alive: one POST whose body stays open, one JSON object
   * written every TTL/3 (as etcd's client), one reply line each. `onRenew` is
   * called with each reply. If the stream breaks (the endpoint dies, the
   * leader changes), it reconnects, to the next endpoint after a failure.
   * Resolves 'aborted', or 'not-found' once the lease is unknown or expired.
   */
  async leaseKeepAlive(
    id: string,
    onRenew: (r: { id: string; ttl: number; raw: Json }) => void,
    signal: AbortSignal,
  ): Promise<'aborted' | 'not-found'> {
    let i = Math.max(0, this.endpoints.indexOf(this.preferred));
    let failures = 0;
    while (!signal.aborted) {
      const endpoint = this.endpoints[i];
      const outcome = await keepAliveStream(endpoint, id, signal, this.attemptTimeoutMs, (r) => {
        failures = 0;
        this.preferred = endpoint;
        onRenew(r);
      });
      if (outcome === 'not-found') return 'not-found';
      if (outcome === 'aborted' || signal.aborted) return 'aborted';
      // A broken stream or an error reply: next endpoint, pausing after a full round.
      failures++;
      i = (i + 1) % this.endpoints.length;
      if (failures % this.endpoints.length === 0) await sleep(Math.min(100 * 2 ** (failures / this.endpoints.length), 1000), signal);
    }
    return 'aborted';
  }

  // ---- Cluster -------------------------------------------------------------------------

  /** GET /status of one endpoint (no failover: it is that endpoint we ask about). */
  async statusOf(endpoint: string): Promise<StatusJson> {
    const url = normalizeEndpoint(endpoint);
    const res = await this.attempt(url, '/status', null, null, this.timeoutMs);
    if (res.status === 0) throw res.error!;
    if (res.status !== 200) throw errorFrom(url, res.status, res.body);
    return res.body as unknown as StatusJson;
  }

  async memberList(): Promise<{ members: Member[]; raw: Json }> {
    const r = await this.call('/v3/cluster/member/list', {}, null);
    const members = ((r.members as Json[] | undefined) ?? []).map((m) => ({
      id: String(m.ID ?? ''),
      name: String(m.name ?? ''),
      clientUrls: ((m.clientURLs as string[] | undefined) ?? []).map(String),
    }));
    return { members, raw: r };
  }

  // ---- Transport with failover -------------------------------------------------------------

  /** POST `body` to `path`, failing over between endpoints until the deadline. */
  async call(path: string, body: Json, requestId: string | null): Promise<Json> {
    const deadline = Date.now() + this.timeoutMs;
    const n = this.endpoints.length;
    let i = Math.max(0, this.endpoints.indexOf(this.preferred));
    let next: string = this.preferred;
    let failuresInRound = 0;
    let round = 0;
    let lastError: ApiClientError | null = null;
    /** What went wrong at each endpoint tried, the latest per endpoint, to name them all in the end. */
    const failures = new Map<string, string>();
    const seenHints = new Set<string>();

    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const endpoint = next;
      const res = await this.attempt(endpoint, path, body, requestId, Math.min(this.attemptTimeoutMs, remaining));
      if (res.status === 200) {
        this.preferred = endpoint;
        return res.body;
      }
      if (res.status !== 0 && res.status !== 503) throw errorFrom(endpoint, res.status, res.body);
      lastError = res.status === 0 ? (res.error as ApiClientError) : errorFrom(endpoint, res.status, res.body);
      failures.set(endpoint, res.status === 0 ? lastError.message : `${endpoint}: HTTP ${res.status} ${lastError.message}`);

      // Follow the leader hint once per call per URL; otherwise the next endpoint.
      const hint = typeof res.body.leader_url === 'string' ? safeEndpoint(res.body.leader_url) : null;
      if (hint && hint !== endpoint && !seenHints.has(hint)) {
        seenHints.add(hint);
        next = hint;
        continue;
      }
      i = (i + 1) % n;
      next = this.endpoints[i];
      failuresInRound += 1;
      if (failuresInRound >= n) {
        // A full round failed (an election, say): wait a little, then go again.
        failuresInRound = 0;
        seenHints.clear();
        round += 1;
        const pause = Math.min(50 * 2 ** round, 500, Math.max(0, deadline - Date.now()));
        await new Promise((r) => setTimeout(r, pause));
      }
    }
    if (lastError === null) throw new ApiClientError(`no endpoint answered within ${this.timeoutMs} ms`, 0, null, null);
    const tried = [...failures.values()].join('; ');
    throw new ApiClientError(
      `no endpoint could serve the request within ${this.timeoutMs} ms: ${tried}`,
      lastError.status,
      lastError.code,
      lastError.endpoint,
      lastError.body,
    );
  }

  /** One HTTP exchange; status 0 means no HTTP answer (connection failure or timeout). */
  private async attempt(
    endpoint: string,
    path: string,
    body: Json | null,
    requestId: string | null,
    timeoutMs: number,
  ): Promise<{ status: number; body: Json; error?: ApiClientError }> {
    const headers: Record<string, string> = {};
    if (body !== null) headers['content-type'] = 'application/json';
    if (requestId) headers['x-request-id'] = requestId;
    try {
      const res = await fetch(endpoint + path, {
        method: body === null ? 'GET' : 'POST',
        headers,
        body: body === null ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
      });
      const text = await res.text();
      let parsed: Json = {};
      try {
        const j = JSON.parse(text);
        if (j && typeof j === 'object' && !Array.isArray(j)) parsed = j as Json;
      } catch {
        parsed = { error: text.trim() };
      }
      return { status: res.status, body: parsed };
    } catch (e) {
      return { status: 0, body: {}, error: new ApiClientError(`${endpoint}: ${whyNoAnswer(e as FetchFailure, timeoutMs)}`, 0, null, endpoint) };
    }
  }
}

// ---- Helpers -----------------------------------------------------------------------------

function b64(x: string | Buffer): string {
  return (typeof x === 'string' ? Buffer.from(x, 'utf8') : x).toString('base64');
}

function rangeOf(key: string | Buffer, opts: GetOptions): [Buffer, Buffer | null] {
  let k = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (opts.rangeEnd !== undefined) {
    return [k, typeof opts.rangeEnd === 'string' ? Buffer.from(opts.rangeEnd, 'utf8') : opts.rangeEnd];
  }
  if (opts.prefix || opts.fromKey) {
    // etcdctl: an empty key with --prefix or --from-key means every key.
    if (k.length === 0) {
      k = Buffer.from([0]);
      return [k, Buffer.from([0])];
    }
    return [k, opts.prefix ? prefixEnd(k) : Buffer.from([0])];
  }
  return [k, null];
}

function header(r: Json) {
  const h = (r.header ?? {}) as Json;
  return {
    clusterId: String(h.cluster_id ?? '0'),
    memberId: String(h.member_id ?? '0'),
    revision: Number(h.revision ?? 0),
    raftTerm: Number(h.raft_term ?? 0),
  } satisfies Header;
}

function kv(j: Json): KeyValue {
  return {
    key: Buffer.from(String(j.key ?? ''), 'base64'),
    value: Buffer.from(String(j.value ?? ''), 'base64'),
    createRevision: Number(j.create_revision ?? 0),
    modRevision: Number(j.mod_revision ?? 0),
    version: Number(j.version ?? 0),
    lease: String(j.lease ?? '0'),
  };
}

function keepAliveResult(r: Json, endpoint: string | null) {
  const ttl = Number(r.TTL ?? 0);
  if (!(ttl > 0)) {
    throw new ApiClientError('etcdserver: requested lease not found', 404, 5, endpoint, r);
  }
  return { id: String(r.ID ?? '0'), ttl, raw: r };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * One streaming keep-alive request on one endpoint (node:http: fetch cannot
 * read the reply while the request body is still open). Writes a keep-alive
 * at once and then every TTL/3 after each reply.
 */
function keepAliveStream(
  endpoint: string,
  id: string,
  signal: AbortSignal,
  replyTimeoutMs: number,
  onRenew: (r: { id: string; ttl: number; raw: Json }) => void,
): Promise<'aborted' | 'not-found' | 'broken'> {
  return new Promise((resolve) => {
    const url = new URL('/v3/lease/keepalive', endpoint);
    const lib = url.protocol === 'https:' ? https : http;
    let settled = false;
    let next: NodeJS.Timeout | null = null;
    let replyTimer: NodeJS.Timeout | null = null;
    const finish = (how: 'aborted' | 'not-found' | 'broken') => {
      if (settled) return;
      settled = true;
      if (next) clearTimeout(next);
      if (replyTimer) clearTimeout(replyTimer);
      signal.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(how);
    };
    const onAbort = () => finish('aborted');
    const send = () => {
      if (settled) return;
      req.write(JSON.stringify({ ID: id }) + '\n');
      // No reply in time: the stream is stuck (a partition); try elsewhere.
      replyTimer = setTimeout(() => finish('broken'), replyTimeoutMs);
    };
    const req = lib.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => finish(signal.aborted ? 'aborted' : 'broken'));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return finish('broken');
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line.length === 0) continue;
          let msg: Json;
          try {
            msg = JSON.parse(line) as Json;
          } catch {
            return finish('broken');
          }
          if (replyTimer) clearTimeout(replyTimer);
          const result = msg.result as Json | undefined;
          if (!result) return finish('broken'); // {"error": ...}
          const ttl = Number(result.TTL ?? 0);
          if (!(ttl > 0)) return finish('not-found');
          onRenew({ id: String(result.ID ?? id), ttl, raw: result });
          next = setTimeout(send, Math.max(100, (ttl * 1000) / 3));
        }
      });
      res.on('end', () => finish('broken'));
      res.on('error', () => finish('broken'));
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return finish('aborted');
    send();
  });
}

/** What fetch throws: the system's error (ECONNREFUSED, HPE_..., ...) is its cause. */
type FetchFailure = Error & { cause?: { code?: string; message?: string } };

/** Why an endpoint gave no HTTP answer, in words a user can act on (the system's code kept for searching). */
function whyNoAnswer(err: FetchFailure, timeoutMs: number): string {
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = err.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused: nothing listens there (ECONNREFUSED)';
  // Node's HTTP parser rejected the bytes: something answered, but not HTTP.
  // A node's Raft port (ZeroMQ greets with a binary handshake) is the usual one.
  if (code?.startsWith('HPE_')) return `the answer is not HTTP: is this a node's Raft port rather than its client API port (--api-port)? (${code})`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `the connection was closed without an HTTP answer (${code})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `unknown host (${code})`;
  return code ?? err.cause?.message ?? err.message;
}

function errorFrom(endpoint: string, status: number, body: Json): ApiClientError {
  const message = typeof body.message === 'string' ? body.message : typeof body.error === 'string' ? body.error : `HTTP ${status}`;
  const code = typeof body.code === 'number' ? body.code : null;
  return new ApiClientError(message, status, code, endpoint, body);
}

function safeEndpoint(url: string): string | null {
  try {
    return normalizeEndpoint(url);
  } catch {
    return null;
  }
}
