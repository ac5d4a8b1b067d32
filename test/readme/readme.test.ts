// The README's commands, run as a reader runs them, with the outcome each one
// claims checked. Every shell line of the README is either run here (RUN) or
// listed with the reason it is not (NOT_RUN); a new README command fails the
// first test until it is put in one of the two.
//
// Two changes to the lines as written, so that the test can run beside
// others on a shared machine: the README's ports (Raft 5001-5004, client API
// 8001-8003) become free ports below 32768 (the same offsets from one base),
// and data directories go to a temporary folder. `npm start` gets the
// matching `--base-port` and `--data-root`. Everything runs through bash from
// the repository root, so `npx raftctl` is the package's own command, run
// from the dist/ that `npm test` builds.

import { expect } from 'chai';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { agreedLeader, Status, statusAt } from '../net/cluster-harness';
import { freeBasePort } from '../net/ports';
import { waitFor } from '../net/wait';
import { readmeCommands } from './commands';

const ROOT = path.resolve(__dirname, '..', '..');
const SIMPLERAFT = process.env.SIMPLERAFT_PATH;

const E = 'http://127.0.0.1:8001,http://127.0.0.1:8002,http://127.0.0.1:8003';

/** README lines run by the tests below, in README order. */
const RUN = {
  npmStart: 'npm start',
  put: `npx raftctl --endpoints ${E} put hello world`,
  get: `npx raftctl --endpoints ${E} get hello`,
  endpointStatus: `npx raftctl --endpoints ${E} endpoint status`,
  curl: `curl -s -XPOST http://127.0.0.1:8001/v3/kv/range -d '{"key":"aGVsbG8="}'`,
  terminal1: 'npx simpleraft-node --name n1 --port 5001 --api-port 8001 --peers n2=127.0.0.1:5002,n3=127.0.0.1:5003 --data-dir data/n1',
  terminal2: 'npx simpleraft-node --name n2 --port 5002 --api-port 8002 --peers n1=127.0.0.1:5001,n3=127.0.0.1:5003 --data-dir data/n2',
  terminal3: 'npx simpleraft-node --name n3 --port 5003 --api-port 8003 --peers n1=127.0.0.1:5001,n2=127.0.0.1:5002 --data-dir data/n3',
  mixed1: 'npx simpleraft-node --name n1 --port 5001 --api-port 8001 --peers n2=127.0.0.1:5002,p1=127.0.0.1:5004 --data-dir none',
  mixed2: 'npx simpleraft-node --name n2 --port 5002 --api-port 8002 --peers n1=127.0.0.1:5001,p1=127.0.0.1:5004 --data-dir none',
  mixedPython:
    'cd interop/python && /usr/bin/python3 -m simpleraft_bridge --name p1 --port 5004 --peers n1=127.0.0.1:5001,n2=127.0.0.1:5002 --simpleraft /tmp/simpleRaft',
  setE: `E=${E}`,
  putGreeting: 'npx raftctl --endpoints $E put greeting hello',
  getPrefix: 'npx raftctl --endpoints $E get greet --prefix',
  leaseGrant: 'npx raftctl --endpoints $E lease grant 10',
  putWithLease: 'npx raftctl --endpoints $E put session alive --lease <ID>',
  keepAlive: 'npx raftctl --endpoints $E lease keep-alive <ID>',
  memberList: 'npx raftctl --endpoints $E member list',
  tooz: [
    "PYTHONPATH=test/interop/tooz /usr/bin/python3 - <<'EOF'",
    'from tooz import coordination',
    "c = coordination.get_coordinator('etcd3+http://127.0.0.1:8001?api_version=v3', b'worker-1')",
    'c.start(start_heart=True)',
    "with c.get_lock(b'my-lock'):",
    "    print('holding my-lock')",
    "c.create_group(b'workers').get()",
    "c.join_group(b'workers').get()",
    "print(sorted(c.get_members(b'workers').get()))",
    'c.stop()',
    'EOF',
  ].join('\n'),
};

/** README lines not run here, and why. */
const NOT_RUN: Record<string, string> = {
  'npm install': 'CI runs its equivalent, npm ci (with the same prepare build), before every test run',
  'git clone https://github.com/streed/simpleRaft /tmp/simpleRaft': 'fetches from the network; the mixed-cluster test below runs when SIMPLERAFT_PATH names a clone',
  'apt-get install python3-zmq': 'installs a system package; .ci/run does it',
  'apt-get install python3-tooz python3-etcd3gw': 'installs system packages; .ci/run does it',
  'npm run bench -- --compare etcd': 'a benchmark of minutes; its figures are in docs/benchmarks.md with the machine',
  'npm run bench:restart': 'a benchmark; docs/benchmarks.md',
  'npm run bench:soak': 'a benchmark of minutes; docs/benchmarks.md',
  'npm run sim -- --seeds 500 --steps 2000 --nodes 3,5': 'test/sim/simulator.test.ts runs the same seeds and steps in process',
  'npm run sim -- --seed 7 --nodes 3 --visible': 'test/sim/readme-commands.test.ts runs it and checks its claim',
  'npm run sim -- --seeds 100 --profile harsh --no-liveness --bug commitPreviousTermByCount': 'test/sim/readme-commands.test.ts runs it and checks its claim',
  'npm run sim -- --seed 17 --nodes 3 --no-liveness --profile harsh --bug commitPreviousTermByCount --trace /tmp/figure8.json':
    'test/sim/readme-commands.test.ts runs it and checks its claim; test/ui/browser.test.ts replays the same run in the page',
  // "Watch it" repeats `npm start` (run above) for its page.
  'npm start': 'its page at http://127.0.0.1:8000/: test/ui/browser.test.ts runs npm start and drives the page in chromium',
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The README's ports and data directories mapped to this test's (see the top of the file). */
class Mapping {
  constructor(
    readonly base: number,
    readonly dataRoot: string,
  ) {}

  raft(k: number): number {
    return this.base + k;
  }

  api(k: number): number {
    return this.base + 3000 + k;
  }

  apply(line: string): string {
    return line
      .replace(/\b500(\d)\b/g, (_, k) => String(this.raft(Number(k))))
      .replace(/\b800(\d)\b/g, (_, k) => String(this.api(Number(k))))
      .replace(/--data-dir data\//g, `--data-dir ${this.dataRoot}/`)
      .replace('/tmp/simpleRaft', SIMPLERAFT ?? '/tmp/simpleRaft');
  }
}

function bash(script: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd: ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A long-running README line in its own process group (killed as a whole in cleanup). */
function background(script: string, output: string[]): ChildProcess {
  const child = spawn('bash', ['-c', script], { cwd: ROOT, detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  child.stdout!.on('data', (d) => output.push(String(d)));
  child.stderr!.on('data', (d) => output.push(String(d)));
  return child;
}

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

describe('README commands', function () {
  this.timeout(300_000);
  let tmp: string;
  let map: Mapping;
  const processes: ChildProcess[] = [];

  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'raft-readme-'));
    map = new Mapping(await freeBasePort([1, 2, 3, 4, 3001, 3002, 3003]), tmp);
  });
  // Each test's processes end with it: the next test uses the same ports.
  afterEach(async () => {
    const ended = processes.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once('exit', r))));
    for (const p of processes) killGroup(p);
    await Promise.all(ended);
    processes.length = 0;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('every shell line of the README is run here or listed with the reason it is not', () => {
    const listed = [...Object.values(RUN), ...Object.keys(NOT_RUN)];
    expect(readmeCommands(path.join(ROOT, 'README.md'))).to.have.members(listed);
  });

  it('npm start, then the raftctl and curl lines and the key-value and lease lines, with the outcomes they claim', async () => {
    const consoleOutput: string[] = [];
    const console_ = background(`${RUN.npmStart} -- --base-port ${map.base} --data-root ${tmp}/console`, consoleOutput);
    processes.push(console_);
    const apis = [1, 2, 3].map((k) => map.api(k));
    await agreedLeader(apis);
    // "It prints each node's process id, the client endpoints and a first command to try."
    const banner = consoleOutput.join('');
    expect(banner).to.match(/\[n1\] started, pid \d+/);
    expect(banner).to.include(`Client endpoints: ${apis.map((a) => `http://127.0.0.1:${a}`).join(',')}`);
    expect(banner).to.include('Try:  npx raftctl');
    const run = async (line: string, vars = '') => {
      const r = await bash(`${vars}${map.apply(line)}`);
      expect(r.code, `${line}\n${r.stderr}`).to.equal(0);
      return r.stdout;
    };

    expect(await run(RUN.put)).to.equal('OK\n');
    expect(await run(RUN.get)).to.equal('hello\nworld\n');
    const table = await run(RUN.endpointStatus);
    for (const a of apis) expect(table).to.include(`http://127.0.0.1:${a}`);
    expect(table.match(/\| leader +\|/g), table).to.have.length(1);
    const range = JSON.parse(await run(RUN.curl));
    expect(Buffer.from(range.kvs[0].value, 'base64').toString()).to.equal('world');

    const setE = `${map.apply(RUN.setE)}; `;
    expect(await run(RUN.putGreeting, setE)).to.equal('OK\n');
    expect(await run(RUN.getPrefix, setE)).to.equal('greeting\nhello\n');
    const granted = /^lease ([0-9a-f]+) granted with TTL\(10s\)\n$/.exec(await run(RUN.leaseGrant, setE));
    expect(granted, 'lease grant prints the lease ID').to.not.equal(null);
    const id = granted![1];
    expect(await run(RUN.putWithLease.replace('<ID>', id), setE)).to.equal('OK\n');

    // "until Ctrl-C; then the key expires"
    const renewals: string[] = [];
    const keepAlive = background(`${setE}${map.apply(RUN.keepAlive.replace('<ID>', id))}`, renewals);
    processes.push(keepAlive);
    await waitFor(() => renewals.join('').includes(`lease ${id} keepalived with TTL(10)`), 30_000, 'a keep-alive renewal');
    const stopped = new Promise((r) => keepAlive.once('exit', r));
    killGroup(keepAlive, 'SIGINT');
    await stopped;
    const getSession = `npx raftctl --endpoints $E get session`;
    expect(await run(getSession, setE)).to.equal('session\nalive\n');
    await waitFor(async () => (await run(getSession, setE)) === '', 60_000, 'the key of the lease no longer kept alive to expire', 500);

    const members = await run(RUN.memberList, setE);
    for (const n of ['n1', 'n2', 'n3']) expect(members).to.match(new RegExp(`\\| ${n} +\\|`));

    // "Ctrl-C stops every node": the terminal sends SIGINT to the whole foreground group.
    const exited = new Promise((r) => console_.once('close', r)); // after its output
    killGroup(console_, 'SIGINT');
    await exited;
    for (const n of ['n1', 'n2', 'n3']) expect(consoleOutput.join(''), n).to.include(`[${n}] exited (code 0)`);
  });

  it('one node per terminal: they elect a leader, take a write and serve tooz, and a new leader takes over when the leader is killed', async () => {
    const nodes = [RUN.terminal1, RUN.terminal2, RUN.terminal3].map((line) => background(map.apply(line), []));
    processes.push(...nodes);
    const apis = [1, 2, 3].map((k) => map.api(k));
    const first = await agreedLeader(apis);
    const put = await bash(`npx raftctl --endpoints ${apis.map((a) => `127.0.0.1:${a}`).join(',')} put after hello`);
    expect(put.stdout).to.equal('OK\n');
    // "Use it as a tooz backend", against this cluster: a lock, a group, its member.
    const tooz = await bash(map.apply(RUN.tooz), 120_000);
    expect(tooz.code, tooz.stderr).to.equal(0);
    expect(tooz.stdout).to.equal("holding my-lock\n[b'worker-1']\n");
    const i = Number(first.slice(1)) - 1;
    const gone = new Promise((r) => nodes[i].once('exit', r));
    killGroup(nodes[i], 'SIGKILL');
    await gone;
    const next = await agreedLeader(apis.filter((_, j) => j !== i));
    expect(next).to.not.equal(first);
    for (const k of [1, 2, 3]) expect(existsSync(path.join(tmp, `n${k}`, 'meta.json')), `data/n${k}`).to.equal(true);
  });

  it('two TypeScript nodes and one simpleRaft node elect a leader (SIMPLERAFT_PATH)', async function () {
    if (!SIMPLERAFT) this.skip();
    const output: string[] = [];
    const nodes = [RUN.mixed1, RUN.mixed2, RUN.mixedPython].map((line) => background(map.apply(line), output));
    processes.push(...nodes);
    // "Watch them elect a leader (curl -s 127.0.0.1:8001/status)": the two TypeScript nodes
    // follow one leader; which of the three it is depends on the timers.
    let statuses: (Status | null)[] = [];
    await waitFor(async () => {
      statuses = await Promise.all([1, 2].map((k) => statusAt(map.api(k))));
      return statuses.every((x) => x !== null && x.leader !== null) && statuses[0]!.leader === statuses[1]!.leader;
    }, 60_000, 'a leader the TypeScript nodes agree on');
    // These are the nodes of this cluster, whose third member is the simpleRaft node.
    expect(statuses.map((x) => x!.name)).to.deep.equal(['n1', 'n2']);
    expect(statuses[0]!.peers.map((p) => String(p.name))).to.have.members(['n2', 'p1']);
    expect(['n1', 'n2', 'p1']).to.include(String(statuses[0]!.leader));
  });
});
