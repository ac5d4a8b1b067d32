// Command-line options of one node (src/main.ts), parsed with commander and
// validated here: every problem becomes a ConfigError with one clear line,
// which main.ts prints before exiting with code 2.

import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { PeerAddress } from '../transport/transport';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface NodeOptions {
  name: string;
  host: string;
  port: number;
  peers: PeerAddress[];
  apiHost: string;
  apiPort: number;
  /** Each peer's client API address (for redirecting clients to the leader). */
  peerApis: Map<string, string>;
  transport: 'zmq' | 'udp';
  initialState: 'follower' | 'candidate';
  dataDir: string | null;
  electionTimeoutMs: number;
  heartbeatMs: number;
  tickMs: number;
  logFormat: 'human' | 'json';
  logLevel: 'info' | 'debug';
  readMode: 'index' | 'lease';
  clusterId: string;
  snapshotEvery: number;
  /** UDP gossip: datagram loss to inject (testing only). */
  udpDropRate: number;
  /** Serve the live view's /ui/ endpoints (events, state, isolate) on the client API. */
  observe: boolean;
  /** Also serve the web page of the live view on uiPort (implies observe); null: no page. */
  uiPort: number | null;
}

export function buildCommand(): Command {
  return new Command()
    .name('simpleraft-node')
    .description(
      'Run one Raft node (one per terminal). Example:\n' +
        '  npx simpleraft-node --name n1 --port 5001 --peers n2=127.0.0.1:5002,n3=127.0.0.1:5003 --api-port 8001',
    )
    // --name and --port are required, but checked after parsing: commander
    // checks required options before unknown ones, so a misspelled `--nmae`
    // would be reported as a missing --name.
    .option('--name <name>', 'this node\'s name, unique in the cluster (required)')
    .option('--port <port>', 'Raft port: ZeroMQ PUB socket or UDP socket (required)')
    .option('--host <host>', 'address to bind and advertise', '127.0.0.1')
    .option('--peers <list>', 'the other members: name=host:port,name=host:port', '')
    .option('--api-port <port>', 'HTTP client API port (etcd v3 JSON gateway shape)')
    .option('--api-host <host>', 'HTTP client API address', '127.0.0.1')
    .option('--peer-apis <list>', 'the other members\' API addresses: name=host:port,...', '')
    .addOption(new Option('--transport <kind>', 'message transport').choices(['zmq', 'udp']).default('zmq'))
    .addOption(
      new Option('--initial-state <state>', 'follower: wait for a leader; candidate: campaign at once')
        .choices(['follower', 'candidate'])
        .default('follower'),
    )
    .option('--data-dir <dir>', 'write-ahead log and snapshots (default data/<name>); "none" keeps everything in memory')
    .option('--election-timeout <ms>', 'minimum election timeout; each timeout is drawn from [t, 2t)', '1000')
    .option('--heartbeat-interval <ms>', 'leader heartbeat interval', '100')
    .option('--tick <ms>', 'protocol clock resolution', '10')
    .option('--snapshot-every <n>', 'snapshot and compact the log after this many applied entries (0 = never)', '10000')
    .option('--cluster-id <id>', 'cluster identity stored in the data directory', 'simpleraft')
    .addOption(
      new Option('--read-mode <mode>', 'linearizable reads: index (ReadIndex, a heartbeat round per read) or lease (leader lease; assumes bounded clock drift)')
        .choices(['index', 'lease'])
        .default('index'),
    )
    .addOption(new Option('--log-format <format>', 'log lines for people or machines').choices(['human', 'json']).default('human'))
    .addOption(new Option('--log-level <level>', 'debug adds dropped messages and more').choices(['info', 'debug']).default('info'))
    .option('--observe', 'serve the live view\'s events, state and isolate control under /ui/ on the client API')
    .option('--ui', 'serve the live view\'s web page (this node and its --peer-apis) on --ui-port; implies --observe')
    .option('--ui-port <port>', 'port of the web page with --ui', '8000')
    .addOption(new Option('--udp-drop-rate <p>', 'inject UDP datagram loss (testing)').default('0').hideHelp())
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
}

/** Parse argv (without node and script) into validated options; throws ConfigError. */
export function parseNodeOptions(argv: string[]): NodeOptions {
  const cmd = buildCommand();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') throw e;
      // One line: commander puts its "(Did you mean --name?)" on a second.
      throw new ConfigError(e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '));
    }
    throw e;
  }
  const o = cmd.opts();
  for (const flag of ['name', 'port'] as const) {
    if (o[flag] === undefined) throw new ConfigError(`required option '--${flag}' not specified`);
  }
  const name = String(o.name);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new ConfigError(`--name: "${name}" must be 1-64 letters, digits, '.', '_' or '-'`);
  const port = parsePort(o.port, '--port');
  const host = String(o.host);
  const peers = parseAddressList(String(o.peers), '--peers');
  const names = new Set<string>();
  for (const p of peers) {
    const n = String(p.name);
    if (n === name) throw new ConfigError(`--peers: ${name} is this node itself; list only the other members`);
    if (names.has(n)) throw new ConfigError(`--peers: duplicate name ${n}`);
    names.add(n);
    if (p.host === host && p.port === port) throw new ConfigError(`--peers: ${n} has this node's own address ${host}:${port}`);
  }
  const peerApis = new Map<string, string>();
  for (const a of parseAddressList(String(o.peerApis), '--peer-apis')) {
    if (!names.has(String(a.name))) throw new ConfigError(`--peer-apis: ${a.name} is not among --peers`);
    peerApis.set(String(a.name), `http://${a.host}:${a.port}`);
  }
  const apiPort = o.apiPort === undefined ? port + 3000 : parsePort(o.apiPort, '--api-port');
  if (apiPort > 65535) throw new ConfigError(`--api-port: default ${apiPort} (port + 3000) is out of range; give --api-port`);
  const electionTimeoutMs = parsePositive(o.electionTimeout, '--election-timeout');
  const heartbeatMs = parsePositive(o.heartbeatInterval, '--heartbeat-interval');
  const tickMs = parsePositive(o.tick, '--tick');
  if (heartbeatMs >= electionTimeoutMs) {
    throw new ConfigError(`--heartbeat-interval (${heartbeatMs} ms) must be below --election-timeout (${electionTimeoutMs} ms)`);
  }
  if (tickMs > heartbeatMs) throw new ConfigError(`--tick (${tickMs} ms) must not exceed --heartbeat-interval (${heartbeatMs} ms)`);
  const udpDropRate = Number(o.udpDropRate);
  if (!(udpDropRate >= 0 && udpDropRate < 1)) throw new ConfigError('--udp-drop-rate: expected a number in [0, 1)');
  const snapshotEvery = Number(o.snapshotEvery);
  if (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 0) throw new ConfigError('--snapshot-every: expected a whole number >= 0');
  const dataDir = o.dataDir === 'none' ? null : String(o.dataDir ?? `data/${name}`);
  if (dataDir !== null) checkDataDir(dataDir);
  return {
    name,
    host,
    port,
    peers,
    apiHost: String(o.apiHost),
    apiPort,
    peerApis,
    transport: o.transport,
    initialState: o.initialState,
    dataDir,
    electionTimeoutMs,
    heartbeatMs,
    tickMs,
    logFormat: o.logFormat,
    logLevel: o.logLevel,
    readMode: o.readMode,
    clusterId: String(o.clusterId),
    snapshotEvery,
    udpDropRate,
    observe: Boolean(o.observe || o.ui),
    uiPort: o.ui ? parsePort(o.uiPort, '--ui-port') : null,
  };
}

function parsePort(v: unknown, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`${flag}: "${v}" is not a port (1-65535)`);
  return n;
}

function parsePositive(v: unknown, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${flag}: "${v}" is not a positive whole number of milliseconds`);
  return n;
}

/** "n2=127.0.0.1:5002,n3=127.0.0.1:5003" */
export function parseAddressList(text: string, flag: string): PeerAddress[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item) => {
    const m = /^([A-Za-z0-9_.-]{1,64})=([^:=\s]+):(\d+)$/.exec(item.trim());
    if (!m) throw new ConfigError(`${flag}: "${item}" is not name=host:port`);
    return { name: m[1], host: m[2], port: parsePort(m[3], `${flag} ${m[1]}`) };
  });
}

function checkDataDir(dir: string): void {
  try {
    makeDirs(dir);
    if (!statSync(dir).isDirectory()) throw new ConfigError(`--data-dir: ${dir} is not a directory`);
    accessSync(dir, constants.R_OK | constants.W_OK);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`--data-dir: ${dir} is not usable: ${(e as Error).message}`);
  }
}

/**
 * `mkdir -p`, one level at a time. Node's own recursive mkdir never returns
 * when the kernel answers ENOENT for a directory it refuses to create (as
 * /proc does for /proc/nope): it retries the same path forever.
 */
function makeDirs(dir: string): void {
  const absolute = path.resolve(dir);
  if (existsSync(absolute)) return;
  const parent = path.dirname(absolute);
  if (parent !== absolute) makeDirs(parent);
  mkdirSync(absolute);
}
