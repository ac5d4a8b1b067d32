// Mixed clusters for the interop tests: TypeScript nodes (src/main.ts) and
// Python nodes (the bridge's runner, `python3 -m simpleraft_bridge`, or its
// probe, `python3 -m simpleraft_bridge.probe`), as real processes on
// 127.0.0.1 with free ports. Every process runs in its own process group and
// is killed (SIGKILL to the group) by stop(), which also removes the temp dir;
// call it from an after() hook so it runs even when a test fails.

import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freeTcpPorts, freeUdpPorts, LOOPBACK } from '../net/ports';
import { waitFor } from '../net/wait';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PYTHON_DIR = path.join(ROOT, 'interop', 'python');

let zmqPython: string | null | undefined;

/**
 * A python3 that can `import zmq` (pyzmq is Debian's python3-zmq, installed
 * for /usr/bin/python3, so that one is tried first), or null.
 */
export function pythonWithZmq(): string | null {
  if (zmqPython !== undefined) return zmqPython;
  zmqPython = null;
  for (const candidate of [process.env.PYTHON, '/usr/bin/python3', 'python3', 'python'].filter((p): p is string => !!p)) {
    const r = spawnSync(candidate, ['-c', 'import sys, zmq; assert sys.version_info >= (3, 8)'], { stdio: 'ignore', timeout: 20_000 });
    if (r.status === 0) {
      zmqPython = candidate;
      break;
    }
  }
  return zmqPython;
}

/** pythonWithZmq(), or a clear error for the test report. */
export function requirePython(): string {
  const p = pythonWithZmq();
  if (p === null) throw new Error('no python3 (>= 3.8) that can import zmq: install python3-zmq (apt-get install python3-zmq)');
  return p;
}

/** The clone of streed/simpleRaft that SIMPLERAFT_PATH points at, or null. */
export function simpleRaftPath(): string | null {
  const p = process.env.SIMPLERAFT_PATH;
  if (!p) return null;
  return existsSync(path.join(p, 'simpleRaft', 'states', 'leader.py')) ? path.resolve(p) : null;
}

export const PY_ENV = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };

export type Transport = 'zmq' | 'udp';

export interface Member {
  name: string;
  port: number;
}

export interface Status {
  name: string;
  role: string;
  term: number;
  leader: string | null;
  commitIndex: number;
  lastLogIndex: number;
  peers: { name: string; matchIndex?: number }[];
}

/** One JSON log line of the Python runner. */
export interface PyEvent {
  t: number;
  node: string;
  event: string;
  term: number;
  role: string;
  log: number;
  commit: number;
  text: string;
  [k: string]: any;
}

class Proc {
  readonly output: string[] = [];
  constructor(readonly name: string, readonly child: ChildProcess) {}

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  text(): string {
    return this.output.join('');
  }

  kill(): Promise<void> {
    const c = this.child;
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        resolve();
      }
    });
  }
}

export class TsNode extends Proc {
  constructor(name: string, child: ChildProcess, readonly api: number) {
    super(name, child);
  }

  async status(): Promise<Status | null> {
    try {
      const res = await fetch(`http://${LOOPBACK}:${this.api}/status`, { signal: AbortSignal.timeout(1000) });
      return res.ok ? ((await res.json()) as Status) : null;
    } catch {
      return null;
    }
  }

  async put(key: string, value: string): Promise<{ status: number; body: any }> {
    const res = await fetch(`http://${LOOPBACK}:${this.api}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }),
      signal: AbortSignal.timeout(8000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body };
  }

  /** The matchIndex this node (a leader) reports for `peer`. */
  static matchIndexOf(s: Status | null, peer: string): number | undefined {
    return s?.peers.find((p) => p.name === peer)?.matchIndex;
  }
}

/** The runner (`python3 -m simpleraft_bridge --log-format json`): its events, parsed. */
export class PyNode extends Proc {
  readonly events: PyEvent[] = [];
  private partial = '';

  constructor(name: string, child: ChildProcess) {
    super(name, child);
    child.stdout!.on('data', (d: Buffer) => {
      this.output.push(d.toString('utf8'));
      this.partial += d.toString('utf8');
      const lines = this.partial.split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.events.push(JSON.parse(line) as PyEvent);
        } catch {
          /* not an event line */
        }
      }
    });
  }

  of(event: string): PyEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  last(): PyEvent | undefined {
    return this.events[this.events.length - 1];
  }

  /** The counters of the latest stats line (zeros before the first). */
  stats(): Record<string, number> {
    const s = this.of('stats');
    return s.length ? s[s.length - 1].stats : {};
  }

  defects(key: string): PyEvent[] {
    return this.of('defect').filter((e) => e.defect === key);
  }
}

/** The probe: commands on stdin, one JSON answer per line on stdout. */
export class Probe extends Proc {
  private nextId = 1;
  private partial = '';
  private readonly waiting = new Map<number, (a: any) => void>();
  started: Promise<void>;

  constructor(name: string, child: ChildProcess) {
    super(name, child);
    let onStarted!: () => void;
    this.started = new Promise((resolve) => (onStarted = resolve));
    child.stdout!.on('data', (d: Buffer) => {
      this.partial += d.toString('utf8');
      const lines = this.partial.split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        let a: any;
        try {
          a = JSON.parse(line);
        } catch {
          continue;
        }
        if (a.event === 'started') onStarted();
        const w = a.id !== undefined ? this.waiting.get(a.id) : undefined;
        if (w) {
          this.waiting.delete(a.id);
          w(a);
        }
      }
    });
  }

  /** Send a command; resolves with its answer (rejects after timeoutMs). */
  cmd(c: Record<string, unknown>, timeoutMs = 15_000): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`probe: no answer to ${JSON.stringify(c)} within ${timeoutMs} ms; stderr:\n${this.text().slice(-3000)}`));
      }, timeoutMs);
      this.waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.child.stdin!.write(JSON.stringify({ ...c, id }) + '\n');
    });
  }

  status(): Promise<any> {
    return this.cmd({ cmd: 'status' });
  }

  /** Send `msg` and wait for the first message of `type` from `from` with a term >= minTerm. */
  async request(msg: Record<string, unknown>, type: number, from: string, minTerm?: number, timeoutMs = 5000): Promise<any> {
    const expect: Record<string, unknown> = { type, sender: from };
    if (minTerm !== undefined) expect.minTerm = minTerm;
    const a = await this.cmd({ cmd: 'request', msg, expect, timeoutMs, retryMs: 500 }, timeoutMs + 5000);
    if (!a.ok) throw new Error(`probe: no ${type} from ${from} in answer to ${JSON.stringify(msg)}: ${JSON.stringify(a)}`);
    return a.reply;
  }
}

/** A cluster of processes, each addressable by name, on one transport. */
export class InteropCluster {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'raft-interop-'));
  readonly procs: Proc[] = [];

  private constructor(readonly transport: Transport) {}

  static create(transport: Transport): InteropCluster {
    return new InteropCluster(transport);
  }

  /** `n` free ports for the transport (TCP for ZeroMQ, UDP for gossip). */
  raftPorts(n: number): Promise<number[]> {
    return this.transport === 'zmq' ? freeTcpPorts(n) : freeUdpPorts(n);
  }

  static peerList(peers: Member[]): string {
    return peers.map((p) => `${p.name}=${LOOPBACK}:${p.port}`).join(',');
  }

  /** A TypeScript node; `peers` must list every other member (Python ones too). */
  startTs(self: Member, api: number, peers: Member[], electionMs = 300, heartbeatMs = 50, extra: string[] = []): TsNode {
    const args = [
      '-r', 'ts-node/register/transpile-only',
      path.join(ROOT, 'src', 'main.ts'),
      '--name', self.name,
      '--port', String(self.port),
      '--api-port', String(api),
      '--transport', this.transport,
      '--data-dir', path.join(this.dir, self.name),
      '--election-timeout', String(electionMs),
      '--heartbeat-interval', String(heartbeatMs),
      '--tick', '5',
      '--peers', InteropCluster.peerList(peers),
      ...extra,
    ];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const node = new TsNode(self.name, child, api);
    child.stdout!.on('data', (d) => node.output.push(String(d)));
    child.stderr!.on('data', (d) => node.output.push(String(d)));
    this.procs.push(node);
    return node;
  }

  private spawnPython(module: string, self: Member, peers: Member[], extra: string[], stdin: 'pipe' | 'ignore') {
    const args = ['-m', module, '--name', self.name, '--port', String(self.port), '--peers', InteropCluster.peerList(peers), '--transport', this.transport, ...extra];
    return spawn(requirePython(), args, { cwd: PYTHON_DIR, env: PY_ENV, stdio: [stdin, 'pipe', 'pipe'], detached: true });
  }

  /** The runner, logging JSON; `extra` e.g. ['--simpleraft', path, '--initial-state', 'candidate']. */
  startPy(self: Member, peers: Member[], extra: string[] = []): PyNode {
    const child = this.spawnPython('simpleraft_bridge', self, peers, ['--log-format', 'json', '--stats-every', '200', ...extra], 'ignore');
    const node = new PyNode(self.name, child);
    child.stderr!.on('data', (d) => node.output.push(String(d)));
    this.procs.push(node);
    return node;
  }

  startProbe(self: Member, peers: Member[], extra: string[] = []): Probe {
    const child = this.spawnPython('simpleraft_bridge.probe', self, peers, extra, 'pipe');
    const probe = new Probe(self.name, child);
    child.stderr!.on('data', (d) => probe.output.push(String(d)));
    child.stdin!.on('error', () => {});
    this.procs.push(probe);
    return probe;
  }

  /** Wait until every given TypeScript node serves /status. */
  async waitServing(nodes: TsNode[], timeoutMs = 40_000): Promise<void> {
    await waitFor(async () => {
      for (const n of nodes) {
        if (!n.running) throw new Error(`${n.name} exited:\n${n.text().slice(-3000)}`);
        if ((await n.status()) === null) return false;
      }
      return true;
    }, timeoutMs, 'the TypeScript nodes to serve /status', 100);
  }

  /** What every process wrote, for a failure message. */
  logs(maxPer = 4000): string {
    return this.procs.map((p) => `--- ${p.name} ---\n${p.text().slice(-maxPer)}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Poll `fn` until it returns a value that is not undefined (bounded). */
export async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, everyMs = 25): Promise<T> {
  let value: T | undefined;
  await waitFor(async () => (value = await fn()) !== undefined, timeoutMs, what, everyMs);
  return value!;
}
