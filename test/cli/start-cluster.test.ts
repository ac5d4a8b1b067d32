// `npm start` (src/cli/start-cluster.ts) as a console, with real processes:
// one node's death (SIGKILL) leaves the others running and electing a leader;
// its number restarts it; Ctrl-C (SIGINT) stops every node. Bounded, and it
// kills the whole process group and removes its data even on failure.

import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { agreedLeader, statusAt } from '../net/cluster-harness';
import { freeBasePort } from '../net/ports';
import { waitFor } from '../net/wait';

const ROOT = path.resolve(__dirname, '..', '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start: a console for a local cluster', function () {
  this.timeout(180_000);
  let dataRoot: string;
  let console_: ChildProcess;
  let output = '';

  before(async () => {
    dataRoot = mkdtempSync(path.join(tmpdir(), 'raft-console-'));
  });
  after(() => {
    try {
      if (console_?.pid) process.kill(-console_.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('a SIGKILLed node leaves the others running with a leader; its number restarts it; Ctrl-C stops all', async () => {
    const base = await freeBasePort([1, 2, 3, 3001, 3002, 3003]);
    const apis = [base + 3001, base + 3002, base + 3003];
    console_ = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(ROOT, 'src', 'cli', 'start-cluster.ts'), '--base-port', String(base), '--data-root', dataRoot],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, NO_COLOR: '1' } },
    );
    console_.stdout!.on('data', (d) => (output += d));
    console_.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((r) => console_.once('exit', (code) => r(code)));

    const leaderOf = async (candidates: number[]): Promise<number> => Number((await agreedLeader(candidates.map((i) => apis[i]))).slice(1)) - 1;
    const leader = await leaderOf([0, 1, 2]);
    expect(output).to.match(/Ctrl-C \(or q\) stops every node/);
    expect(output).to.not.match(/in its own terminal/);
    const name = `n${leader + 1}`;
    const pids = Object.fromEntries([...output.matchAll(/\[(n\d)\] started, pid (\d+)/g)].map((m) => [m[1], Number(m[2])]));
    expect(Object.keys(pids)).to.have.length(3);

    process.kill(pids[name], 'SIGKILL');
    await waitFor(() => output.includes(`[${name}] exited (SIGKILL)`), 30_000, 'the console to report the death');
    const others = [0, 1, 2].filter((i) => i !== leader);
    await leaderOf(others);
    expect(console_.exitCode).to.equal(null);
    expect(output).to.match(new RegExp(`\\[${name}\\] ${others.map((i) => `n${i + 1}`).join(', ')} keep running\\. Press ${leader + 1} to restart ${name}`));

    console_.stdin!.write(`${leader + 1}\n`);
    await waitFor(async () => (await statusAt(apis[leader])) !== null, 60_000, `${name} to serve again after its restart`, 100);
    await leaderOf([0, 1, 2]);

    const restartedPid = Number([...output.matchAll(new RegExp(`\\[${name}\\] started, pid (\\d+)`, 'g'))].at(-1)![1]);
    console_.kill('SIGINT');
    expect(await exited).to.equal(0);
    for (const pid of [...others.map((i) => pids[`n${i + 1}`]), restartedPid]) expect(alive(pid), `pid ${pid}`).to.equal(false);
  });
});
