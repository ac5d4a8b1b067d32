// Real node processes (src/main.ts) on 127.0.0.1 with free ports, for the few
// end-to-end tests. Every process runs in its own process group and is killed
// in stop(); the data root is a temp dir removed in stop().

import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freeTcpPorts, freeUdpPorts, LOOPBACK } from './ports';
import { waitFor } from './wait';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ClusterOptions {
  nodes?: number;
  transport?: 'zmq' | 'udp';
  electionMs?: number;
  heartbeatMs?: number;
  udpDropRate?: number;
  extraArgs?: string[];
  /** Fill a node's data directory before its first launch (e.g. a long log written by FileStorage directly). */
  prepareDataDir?: (dir: string, name: string) => void;
  /** Pass --peer-apis (default true); false starts nodes as the README's one-node-per-terminal recipe does. */
  peerApis?: boolean;
}

export interface Status {
  name: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  lastApplied: number;
  lastLogIndex: number;
  /** Term jumps and the transport's drop counters (docs/wire-format.md, "Transport counters"). */
  counters?: { termJumps: number; transport: Record<string, unknown> };
  peers: { name: string | number; matchIndex?: number }[];
}

interface NodeProc {
  name: string;
  port: number;
  api: number;
  child: ChildProcess | null;
  output: string[];
}

/** Run src/main.ts with `args`; resolves with its exit code and output (bounded by timeoutMs). */
export function runNode(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src', 'main.ts'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** GET /status of the node whose client API is on 127.0.0.1:`apiPort`; null while it does not answer. */
export async function statusAt(apiPort: number): Promise<Status | null> {
  try {
    const res = await fetch(`http://${LOOPBACK}:${apiPort}/status`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as Status) : null;
  } catch {
    return null;
  }
}

/** The name of the one leader that every node with a client API on `apiPorts` follows, once there is one. */
export async function agreedLeader(apiPorts: number[], timeoutMs = 60_000): Promise<string> {
  let leader = '';
  await waitFor(async () => {
    const s = await Promise.all(apiPorts.map(statusAt));
    const leaders = s.filter((x) => x?.role === 'leader');
    if (leaders.length !== 1 || !s.every((x) => x !== null && x.leader === leaders[0]!.name)) return false;
    leader = leaders[0]!.name;
    return true;
  }, timeoutMs, `one leader among the nodes with client APIs on ${apiPorts.join(', ')}`, 50);
  return leader;
}

export class ProcessCluster {
  readonly dataRoot = mkdtempSync(path.join(tmpdir(), 'raft-proc-'));
  readonly nodes: NodeProc[] = [];
  readonly electionMs: number;

  private constructor(private readonly o: Required<Omit<ClusterOptions, 'extraArgs' | 'prepareDataDir'>> & { extraArgs: string[] }) {
    this.electionMs = o.electionMs;
  }

  static async start(options: ClusterOptions = {}): Promise<ProcessCluster> {
    const o = {
      nodes: 3,
      transport: 'zmq' as const,
      electionMs: 300,
      heartbeatMs: 50,
      udpDropRate: 0,
      extraArgs: [],
      peerApis: true,
      ...options,
    };
    const c = new ProcessCluster(o);
    const raftPorts = o.transport === 'zmq' ? await freeTcpPorts(o.nodes) : await freeUdpPorts(o.nodes);
    const apiPorts = await freeTcpPorts(o.nodes);
    for (let i = 0; i < o.nodes; i++) {
      c.nodes.push({ name: `n${i + 1}`, port: raftPorts[i], api: apiPorts[i], child: null, output: [] });
    }
    try {
      for (const n of c.nodes) options.prepareDataDir?.(c.dataDir(n.name), n.name);
      for (let i = 0; i < o.nodes; i++) c.launch(i);
      await c.waitUntilServing();
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  private launch(i: number): void {
    const n = this.nodes[i];
    const others = this.nodes.filter((m) => m !== n);
    const args = [
      '-r', 'ts-node/register/transpile-only',
      path.join(ROOT, 'src', 'main.ts'),
      '--name', n.name,
      '--port', String(n.port),
      '--api-port', String(n.api),
      '--transport', this.o.transport,
      '--data-dir', this.dataDir(n.name),
      '--election-timeout', String(this.o.electionMs),
      '--heartbeat-interval', String(this.o.heartbeatMs),
      '--tick', '5',
      '--udp-drop-rate', String(this.o.udpDropRate),
      ...this.o.extraArgs,
    ];
    if (others.length > 0) {
      args.push('--peers', others.map((m) => `${m.name}=${LOOPBACK}:${m.port}`).join(','));
      if (this.o.peerApis) args.push('--peer-apis', others.map((m) => `${m.name}=${LOOPBACK}:${m.api}`).join(','));
    }
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    n.output = [];
    child.stdout!.on('data', (d) => n.output.push(String(d)));
    child.stderr!.on('data', (d) => n.output.push(String(d)));
    n.child = child;
  }

  dataDir(name: string): string {
    return path.join(this.dataRoot, name);
  }

  url(i: number): string {
    return `http://${LOOPBACK}:${this.nodes[i].api}`;
  }

  async status(i: number): Promise<Status | null> {
    return statusAt(this.nodes[i].api);
  }

  isRunning(i: number): boolean {
    const c = this.nodes[i].child;
    return c !== null && c.exitCode === null && c.signalCode === null;
  }

  async waitUntilServing(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      for (let i = 0; i < this.nodes.length; i++) if (this.isRunning(i) && (await this.status(i)) === null) return false;
      return true;
    }, timeoutMs, 'every node to serve /status', 100);
  }

  /** The index of the one leader all running nodes agree on, once there is one. */
  async waitForLeader(timeoutMs = 20_000): Promise<number> {
    let leader = -1;
    await waitFor(async () => {
      const statuses = await Promise.all(this.nodes.map((_, i) => (this.isRunning(i) ? this.status(i) : Promise.resolve(null))));
      const live = statuses.filter((s): s is Status => s !== null);
      const leaders = live.filter((s) => s.role === 'leader');
      if (leaders.length !== 1) return false;
      const name = leaders[0].name;
      if (!live.every((s) => s.leader === name && s.term === leaders[0].term)) return false;
      leader = this.nodes.findIndex((n) => n.name === name);
      return true;
    }, timeoutMs, 'a single leader', 20);
    return leader;
  }

  /**
   * Until the leader has heard every running follower acknowledge its log
   * (matchIndex at the leader's commit index): then every follower's link to
   * the leader carries messages, not only the leader's to it. Over ZeroMQ a
   * link comes up some time after the node starts (PUB/SUB connects with
   * back-off), and a command a follower forwards before then is lost.
   */
  async waitForLinks(leader: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => {
      const st = await this.status(leader);
      if (st === null || st.role !== 'leader' || st.commitIndex === 0) return false;
      const running = new Set(this.nodes.filter((_, i) => i !== leader && this.isRunning(i)).map((n) => n.name));
      return st.peers.filter((p) => running.has(String(p.name))).every((p) => (p.matchIndex ?? 0) >= st.commitIndex);
    }, timeoutMs, `every follower's acknowledgement at ${this.nodes[leader].name}`, 20);
  }

  async post(i: number, rpc: string, body: unknown, timeoutMs = 8000): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url(i)}/v3/${rpc}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  }

  async put(i: number, key: string, value: string): Promise<{ status: number; body: any }> {
    return this.post(i, 'kv/put', { key: b64(key), value: b64(value) });
  }

  /** The value of `key` on node i (serializable: that node's own copy), or null. */
  async localGet(i: number, key: string): Promise<string | null> {
    const r = await this.post(i, 'kv/range', { key: b64(key), serializable: true });
    // A failed read is not an absent key: say so rather than answer null.
    if (r.status !== 200) throw new Error(`n${i + 1} answered a serializable range with ${r.status}: ${JSON.stringify(r.body)}`);
    const kv = r.body?.kvs?.[0];
    return kv ? Buffer.from(kv.value ?? '', 'base64').toString() : null;
  }

  kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const c = this.nodes[i].child;
    if (!c || !this.isRunning(i)) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      try {
        process.kill(-c.pid!, signal);
      } catch {
        resolve();
      }
    });
  }

  /** Stop node i (SIGKILL unless told) if it runs, start it again on its data directory, wait until it serves. */
  async restart(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(i, signal);
    this.launch(i);
    await waitFor(async () => (await this.status(i)) !== null, 30_000, `${this.nodes[i].name} to serve again`, 100);
  }

  log(i: number): string {
    return this.nodes[i].output.join('');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i, 'SIGKILL')));
    rmSync(this.dataRoot, { recursive: true, force: true });
  }
}

export function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}
