// `npm start`: a 3-node cluster on 127.0.0.1 in one terminal. Each node is its
// own process (src/main.ts), exactly as you would start it by hand in three
// terminals; their log lines are prefixed and coloured per node here.
// Ctrl-C stops all three cleanly.

import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { styleText } from 'node:util';
import { Command } from 'commander';
import { UiServer } from '../ui/ui-server';

const opts = new Command()
  .name('start-cluster')
  .description('Start a local 3-node cluster (one process per node) and show their logs')
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
const nodes = Array.from({ length: count }, (_, i) => ({ name: `n${i + 1}`, port: base + i + 1, api: base + 3001 + i }));
const root = path.resolve(__dirname, '..', '..');
const children: ChildProcess[] = [];
let stopping = false;
/** Nodes the live view stopped on purpose: their exit leaves the others running. */
const stoppedByView = new Set<string>();

function startNode(i: number): ChildProcess {
  const n = nodes[i];
  const others = nodes.filter((o) => o !== n);
  const args = [
    '-r', 'ts-node/register/transpile-only',
    path.join(root, 'src', 'main.ts'),
    '--name', n.name,
    '--port', String(n.port),
    '--api-port', String(n.api),
    '--transport', opts.transport,
    '--data-dir', path.join(opts.dataRoot, n.name),
    '--observe',
  ];
  if (opts.slow) args.push('--election-timeout', '10000', '--heartbeat-interval', '1000');
  if (others.length > 0) {
    args.push('--peers', others.map((o) => `${o.name}=127.0.0.1:${o.port}`).join(','));
    args.push('--peer-apis', others.map((o) => `${o.name}=127.0.0.1:${o.api}`).join(','));
  }
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = styleText(colours[i % colours.length], `[${n.name}]`);
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (line) => console.log(`${prefix} ${line}`));
  }
  child.on('exit', (code, signal) => {
    console.log(`${prefix} exited (${signal ?? `code ${code}`})`);
    if (!stopping && !stoppedByView.has(n.name)) shutdown(1);
  });
  children[i] = child;
  return child;
}

for (const i of nodes.keys()) startNode(i);

// The live view (src/ui): the page, and stop/restart of these processes.
const uiPort = Number(opts.uiPort);
const ui =
  uiPort > 0
    ? new UiServer({
        port: uiPort,
        members: nodes.map((n) => ({ name: n.name, api: `http://127.0.0.1:${n.api}` })),
        processes: {
          stop: async (name) => {
            const i = nodes.findIndex((n) => n.name === name);
            stoppedByView.add(name);
            await stopChild(children[i]);
          },
          restart: async (name) => {
            const i = nodes.findIndex((n) => n.name === name);
            stoppedByView.add(name);
            await stopChild(children[i]);
            stoppedByView.delete(name);
            startNode(i);
          },
        },
      })
    : null;
ui?.listen().then(
  (url) => console.log(styleText('bold', `Watch it: ${url}`)),
  (e) => console.error(`--ui-port ${uiPort}: ${(e as Error).message} (the cluster runs without its page)`),
);

function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });
}

const endpoints = nodes.map((n) => `http://127.0.0.1:${n.api}`).join(',');
console.log(styleText('bold', `\nCluster of ${count} starting. Client endpoints: ${endpoints}`));
console.log(`Try:  npx raftctl --endpoints ${endpoints} put hello world`);
console.log(`      npx raftctl --endpoints ${endpoints} get hello`);
console.log(`      npx raftctl --endpoints ${endpoints} endpoint status`);
console.log(`      curl -s -XPOST http://127.0.0.1:${nodes[0].api}/v3/kv/range -d '{"key":"aGVsbG8="}'`);
console.log('Stop a node with Ctrl-C in its own terminal, or stop all three here with Ctrl-C.\n');

function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  void ui?.close();
  const deadline = setTimeout(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }, 5000);
  Promise.all(children.map(stopChild)).then(() => {
    clearTimeout(deadline);
    process.exit(code);
  });
}

process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
