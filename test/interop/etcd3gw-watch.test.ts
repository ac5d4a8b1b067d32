// etcd3gw, a Python etcd client others wrote (Debian python3-etcd3gw 2.0),
// used unchanged against a live 3-node cluster of ours: watch a key and a
// prefix, and replay from a past revision with prev_kv, on a follower. The
// script (etcd3gw_watch.py) passes against etcd 3.4.23 too.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ProcessCluster } from '../net/cluster-harness';

const PYTHON = '/usr/bin/python3';
const hasEtcd3gw = spawnSync(PYTHON, ['-c', 'import etcd3gw'], { stdio: 'ignore', timeout: 20_000 }).status === 0;

describe('etcd3gw watches our cluster', function () {
  this.timeout(120_000);
  let c: ProcessCluster;

  before(async function () {
    if (!hasEtcd3gw) return this.skip(); // apt-get install python3-etcd3gw (CI installs it)
    c = await ProcessCluster.start({ transport: 'zmq' });
  });
  after(async () => {
    await c?.stop();
  });

  it('watch on a key and a prefix, and a replay from start_revision with prev_kv, on a follower', async () => {
    const leader = await c.waitForLeader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const r = spawnSync(PYTHON, [path.join(__dirname, 'etcd3gw_watch.py'), '127.0.0.1', String(c.nodes[follower].api)], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).to.equal(0);
    expect(r.stdout).to.include('all etcd3gw watch checks passed');
  });
});
