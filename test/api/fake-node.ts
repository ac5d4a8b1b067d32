// A fake NodeHandle for API tests: a one-node "cluster" that applies each
// proposal to a KvStore at once, or refuses as configured. Proposals go
// through a JSON round trip, as they would through the log and the wire, and
// one that does not survive it unchanged is refused: what the API proposes
// must be plain JSON, or replicas would apply different things.

import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { ApiServer, ApiServerOptions } from '../../src/api/http-server';
import { EntryTooLargeError, NodeHandle, NodeStatus, NotLeaderError, TimeoutError } from '../../src/api/node-handle';
import { KvStore } from '../../src/kv';

export type FakeMode = 'ok' | 'no-leader' | 'not-leader' | 'timeout' | 'hang' | 'too-large';

export class FakeNode implements NodeHandle {
  mode: FakeMode = 'ok';
  role: NodeStatus['role'] = 'leader';
  term = 2;
  leader: string | null;
  /** For 'not-leader': the leader's API URL the error carries. */
  leaderApi: string | null = null;
  index = 0;
  proposals: unknown[] = [];
  barriers = 0;

  constructor(
    readonly name: string,
    readonly kv: KvStore,
    public peers: NodeStatus['peers'] = [],
  ) {
    this.leader = name;
  }

  private refuse(what: string): Promise<never> | null {
    switch (this.mode) {
      case 'ok':
        return null;
      case 'no-leader':
        return Promise.reject(new NotLeaderError(null, null));
      case 'not-leader':
        return Promise.reject(new NotLeaderError(this.leader, this.leaderApi));
      case 'timeout':
        return Promise.reject(new TimeoutError(what, this.leader));
      case 'hang':
        return new Promise<never>(() => undefined);
      case 'too-large':
        return Promise.reject(new EntryTooLargeError(5000, 4096));
    }
  }

  propose(command: unknown): Promise<unknown> {
    this.proposals.push(command);
    const refused = this.refuse('proposal');
    if (refused) return refused;
    const onTheWire = JSON.parse(JSON.stringify(command));
    if (!isDeepStrictEqual(onTheWire, command)) {
      return Promise.reject(new Error('proposal is not plain JSON'));
    }
    this.index += 1;
    return Promise.resolve(this.kv.apply({ index: this.index, term: this.term, value: onTheWire }));
  }

  readBarrier(): Promise<void> {
    this.barriers += 1;
    return this.refuse('read') ?? Promise.resolve();
  }

  status(): NodeStatus {
    return {
      name: this.name,
      role: this.role,
      term: this.term,
      leader: this.leader,
      commitIndex: this.index,
      lastApplied: this.index,
      lastLogIndex: this.index,
      peers: this.peers,
    };
  }
}

/** Start an ApiServer on 127.0.0.1, any free port, over a FakeNode. */
export async function startApi(
  name = 'n1',
  options: Partial<ApiServerOptions> = {},
  peers: NodeStatus['peers'] = [],
): Promise<{ api: ApiServer; node: FakeNode; kv: KvStore; url: string }> {
  const kv = new KvStore();
  const node = new FakeNode(name, kv, peers);
  const api = new ApiServer({ node, kv, host: '127.0.0.1', port: 0, ...options });
  const url = await api.listen();
  return { api, node, kv, url };
}

export interface Reply {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
  headers: Headers;
}

/** POST a body (an object is sent as JSON, a string or Buffer as is). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: data,
    signal: AbortSignal.timeout(10_000),
  });
  return reply(res);
}

export async function get(url: string): Promise<Reply> {
  return reply(await fetch(url, { signal: AbortSignal.timeout(10_000) }));
}

async function reply(res: Response): Promise<Reply> {
  const text = await res.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers };
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A loopback URL where nothing listens (a port we bound, then released). */
export async function deadEndpoint(): Promise<string> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
