// etcd clients that others wrote, unchanged, against three real node processes
// started as the README's one-node-per-terminal recipe (no --peer-apis), each
// through a follower so every lease call is also forwarded to the leader:
//
// - tooz's own coordination test suite (Debian python3-tooz 3.1), with
//   TOOZ_TEST_URL="etcd3+http://127.0.0.1:PORT?api_version=v3". Against real
//   etcd 3.4.23 it gives 52 passed, 24 skipped (the skips are tooz's own
//   NotImplemented); ours must give the same.
// - etcd3gw (Debian python3-etcd3gw 2.0) used directly: test/interop/etcd3gw.
//
// Debian's tooz 3.1 passes api_path= to etcd3gw.client(), which etcd3gw 2.0
// does not take; test/interop/tooz/sitecustomize.py (on PYTHONPATH) wraps that
// helper. Neither package is changed. Each run is bounded: a hang fails.

import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ProcessCluster } from '../net/cluster-harness';
import { waitFor } from '../net/wait';
import { PY_ENV, ROOT } from './harness';

const PYTHON = '/usr/bin/python3';
const PACKAGES = 'python3-tooz python3-etcd3gw python3-pytest python3-fixtures python3-testtools';
const RUN_TIMEOUT_MS = 240_000;

/** The directory of tooz's own tests in the installed package, or a clear error. */
function toozTestsDir(): string {
  const r = spawnSync(PYTHON, ['-c', 'import os, etcd3gw, fixtures, pytest, testtools, tooz.tests; print(os.path.dirname(tooz.tests.__file__))'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`${PYTHON} cannot import tooz, etcd3gw, pytest, fixtures and testtools: apt-get install ${PACKAGES}\n${r.stderr}`);
  return r.stdout.trim();
}

interface PytestRun {
  code: number | null;
  output: string;
  counts: Record<string, number>;
}

/** `python3 -m pytest FILE` with `env`, in its own process group, killed after RUN_TIMEOUT_MS. */
function pytest(file: string, env: Record<string, string>): Promise<PytestRun> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'pytest-'));
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', file], {
      cwd,
      env: { ...PY_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      output += `\n[killed after ${RUN_TIMEOUT_MS} ms]`;
      kill();
    }, RUN_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      kill(); // anything it left behind
      rmSync(cwd, { recursive: true, force: true });
      // pytest's last line: "52 passed, 24 skipped, 1 warning in 4.9s".
      const counts: Record<string, number> = {};
      const summary = output.trim().split('\n').pop() ?? '';
      for (const m of summary.matchAll(/(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)/g)) counts[m[2].replace(/s$/, '')] = Number(m[1]);
      resolve({ code, output, counts });
    });
  });
}

describe('etcd clients others wrote: tooz and etcd3gw, unchanged, on a 3-node cluster (no --peer-apis)', function () {
  this.timeout(RUN_TIMEOUT_MS + 120_000);
  let c: ProcessCluster;
  let followerUrl: URL;
  let testsDir: string;

  before(async () => {
    testsDir = toozTestsDir();
    c = await ProcessCluster.start({ transport: 'zmq', peerApis: false });
    const leader = await c.waitForLeader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    // The follower forwards lease calls once it knows the leader's published client URL.
    await waitFor(async () => (await c.status(follower) as { leaderUrl?: string } | null)?.leaderUrl === c.url(leader), 20_000, "the leader's URL on the follower", 50);
    followerUrl = new URL(c.url(follower));
  });
  after(async () => {
    await c?.stop();
  });

  it("tooz's own coordination suite: 52 passed, 24 skipped, as against etcd 3.4", async () => {
    const run = await pytest(path.join(testsDir, 'test_coordination.py'), {
      TOOZ_TEST_URL: `etcd3+http://${followerUrl.host}?api_version=v3`,
      PYTHONPATH: path.join(ROOT, 'test', 'interop', 'tooz'),
    });
    expect(run.counts, run.output).to.deep.equal({ passed: 52, skipped: 24 });
    expect(run.code).to.equal(0);
  });

  it('etcd3gw directly: lease grant, time-to-live, refresh, keys, revoke; put with a lease; lock acquire and release', async () => {
    const run = await pytest(path.join(ROOT, 'test', 'interop', 'etcd3gw', 'test_leases_locks.py'), { ETCD3GW_URL: followerUrl.origin });
    expect(run.counts, run.output).to.deep.equal({ passed: 6 });
    expect(run.code).to.equal(0);
  });
});
