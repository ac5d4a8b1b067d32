// `npm start`: a local cluster on 127.0.0.1 in one terminal, as a console.
// Each node is its own process (src/main.ts), exactly as you would start it
// by hand in separate terminals; their log lines are prefixed and coloured
// per node here. A node that exits (kill it, even with SIGKILL, to watch a
// failover) leaves the others running; press its number to start it again.
// Ctrl-C stops every node cleanly.

import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { styleText } from 'node:util';
import { Command } from 'commander';
import { UiServer } from '../ui/ui-server';

const opts = new Command()
  .name('start-cluster')
  .description('Start a local cluster (one process per node) and show their logs')
  .option('--nodes <n>', 'how many nodes', '3')
  .option('--base-port <port>', 'Raft ports are base+1.., API ports base+3001..', '5000')
  .option('--transport <kind>', 'zmq or udp', 'zmq')
  .option('--data-root <dir>', 'parent of each node\'s data directory', 'data')
  .option('--ui-port <port>', 'the live view\'s web page (0: none)', '8000')
  .option('--slow', 'slow motion for a learner: 10x the election timeout and heartbeat interval')
  .parse()
  .opts();

const count = Number(opts.nodes);
const base = Number(opts.basePort);
if (!Number.isInteger(count) || count < 1 || count > 9 || !Number.isInteger(base) || base < 1 || base + 3000 + count > 65535) {
  console.error('--nodes must be 1-9 and --base-port leave room for base+3000+nodes');
  process.exit(2);
}

const colours = ['cyan', 'magenta', 'yellow', 'green', 'blue', 'red', 'white', 'gray', 'cyanBright'] as const;

interface ConsoleNode {
  name: string;
  /** The key that restarts it: its number. */
  key: string;
  prefix: string;
  /** main.ts's flags. */
  args: string[];
  child: ChildProcess | null;
}

// Run main as this file is run: compiled (dist/main.js, `npm start`) or, in
// development, the TypeScript source through ts-node.
const mainFile = path.join(__dirname, '..', `main${path.extname(__filename)}`);
const loader = mainFile.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
const addresses = Array.from({ length: count }, (_, i) => ({ name: `n${i + 1}`, port: base + i + 1, api: base + 3001 + i }));
const nodes: ConsoleNode[] = addresses.map((n, i) => {
  const others = addresses.filter((o) => o !== n);
  const args = [
    '--name', n.name,
    '--port', String(n.port),
    '--api-port', String(n.api),
    '--transport', opts.transport,
    '--data-dir', path.join(opts.dataRoot, n.name),
    '--observe', // the live view's events and state (src/ui)
  ];
  if (opts.slow) args.push('--election-timeout', '10000', '--heartbeat-interval', '1000');
  if (others.length > 0) {
    args.push('--peers', others.map((o) => `${o.name}=127.0.0.1:${o.port}`).join(','));
    args.push('--peer-apis', others.map((o) => `${o.name}=127.0.0.1:${o.api}`).join(','));
  }
  return { name: n.name, key: String(i + 1), prefix: styleText(colours[i % colours.length], `[${n.name}]`), args, child: null };
});
let stopping = false;

function isRunning(n: ConsoleNode): boolean {
  return n.child !== null && n.child.exitCode === null && n.child.signalCode === null;
}

function launch(n: ConsoleNode): void {
  const child = spawn(process.execPath, [...loader, mainFile, ...n.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  n.child = child;
  console.log(`${n.prefix} started, pid ${child.pid}`);
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(`${n.prefix} ${line}`));
  }
  child.on('exit', (code, signal) => {
    console.log(`${n.prefix} exited (${signal ?? `code ${code}`})`);
    if (stopping) return;
    const up = nodes.filter(isRunning).map((o) => o.name);
    console.log(
      `${n.prefix} ${up.length > 0 ? `${up.join(', ')} keep running` : 'no node is running'}. ` +
        `Press ${n.key} to restart ${n.name}, or start it by hand: npx simpleraft-node ${n.args.join(' ')}`,
    );
  });
}

function restart(key: string): void {
  const n = nodes.find((o) => o.key === key || o.name === key);
  if (n === undefined || stopping) return;
  if (isRunning(n)) console.log(`${n.prefix} is running (pid ${n.child!.pid}); kill it first to watch a failover`);
  else launch(n);
}

// The live view (src/ui): the page, and stop/restart of these processes from it.
const uiPort = Number(opts.uiPort);
const ui =
  uiPort > 0
    ? new UiServer({
        port: uiPort,
        members: addresses.map((n) => ({ name: n.name, api: `http://127.0.0.1:${n.api}` })),
        processes: {
          stop: (name) => stopNode(nodes.find((n) => n.name === name)!),
          restart: async (name) => {
            const n = nodes.find((o) => o.name === name)!;
            await stopNode(n);
            if (!stopping) launch(n);
          },
        },
      })
    : null;

/** SIGTERM one node and wait for it to exit (it flushes its storage first). */
function stopNode(n: ConsoleNode): Promise<void> {
  if (!isRunning(n)) return Promise.resolve();
  return new Promise((resolve) => {
    n.child!.once('exit', () => resolve());
    n.child!.kill('SIGTERM');
  });
}

function shutdown(): void {
  if (stopping) return;
  stopping = true;
  void ui?.close();
  const running = nodes.filter(isRunning).map((n) => n.child!);
  for (const c of running) c.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }, 5000);
  Promise.all(running.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r))))).then(() => {
    clearTimeout(deadline);
    process.exit(0);
  });
}

/** Keys from a terminal (one key, no Enter), or lines from a pipe ("2" or "n2"). */
function listen(): void {
  if (process.stdin.isTTY) {
    readline.emitKeypressEvents(process.stdin);
    process.stdin.setRawMode(true);
    process.stdin.on('keypress', (_s: string, key: { name?: string; ctrl?: boolean; sequence?: string }) => {
      // Raw mode turns Ctrl-C into a key press rather than SIGINT.
      if ((key.ctrl && key.name === 'c') || key.name === 'q') shutdown();
      else if (key.sequence) restart(key.sequence);
    });
  } else {
    readline.createInterface({ input: process.stdin }).on('line', (line) => restart(line.trim()));
  }
}

for (const n of nodes) launch(n);
const endpoints = addresses.map((n) => `http://127.0.0.1:${n.api}`).join(',');
console.log(styleText('bold', `\nCluster of ${count} starting. Client endpoints: ${endpoints}`));
console.log(`Try:  npx raftctl --endpoints ${endpoints} put hello world`);
console.log(`      npx raftctl --endpoints ${endpoints} get hello`);
console.log(`      npx raftctl --endpoints ${endpoints} endpoint status`);
console.log(`      curl -s -XPOST http://127.0.0.1:${addresses[0].api}/v3/kv/range -d '{"key":"aGVsbG8="}'`);
console.log(
  'To watch a failover, kill a node (kill -9 <pid>, the pids are above): the others keep running and elect a new leader.\n' +
    `Press a node's number (1-${count}) to restart it. Ctrl-C (or q) stops every node.\n`,
);
ui?.listen().then(
  (url) => console.log(styleText('bold', `Watch it: ${url}`)),
  (e) => console.error(`--ui-port ${uiPort}: ${(e as Error).message} (the cluster runs without its page)`),
);
listen();
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
