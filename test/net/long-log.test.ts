// Issue 19: a node whose log holds a great many entries after its last
// snapshot must start again. Restart used to spread the whole unapplied
// suffix into one call (RaftLog.slice) and crashed with "Maximum call stack
// size exceeded" above about 125,000 entries, on every start, for good.

import { expect } from 'chai';
import * as http from 'node:http';
import { longLogPut, writeLongLog } from '../log/long-log';
import { ProcessCluster, Status } from './cluster-harness';
import { waitFor } from './wait';

// node:http with keep-alive: the test's own client must not be the bottleneck
// on a 2-core machine (fetch costs about twice the CPU per request).
function rawPut(agent: http.Agent, port: number, key: string, value: string): Promise<number> {
  const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') });
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/v3/kv/put', method: 'POST', agent, timeout: 10_000, headers: { 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('put timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('a node with a long unsnapshotted log starts again (issue 19)', function () {
  this.timeout(480_000);

  it('1,000,000 committed entries, no snapshot: the node starts, applies them all and serves', async () => {
    const ENTRIES = 1_000_000;
    const KEYS = 1000;
    const c = await ProcessCluster.start({
      nodes: 1,
      prepareDataDir: (dir, node) => writeLongLog({ dir, node, entries: ENTRIES, keys: KEYS }),
    });
    try {
      await waitFor(
        async () => {
          if (!c.isRunning(0)) throw new Error(`the node exited:\n${c.log(0)}`);
          return ((await c.status(0))?.lastApplied ?? 0) >= ENTRIES;
        },
        240_000,
        'the node to apply the whole log',
        250,
      );
      // What it applied is the log's last put of each key.
      for (const i of [ENTRIES, ENTRIES - 1, ENTRIES - KEYS + 1]) {
        const { key, value } = longLogPut(i, KEYS);
        expect(await c.localGet(0, key), key).to.equal(value);
      }
      // And it serves: it leads its cluster of one, takes a write and reads it back.
      await c.waitForLeader(60_000);
      const r = await c.put(0, 'after-restart', 'yes');
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(Number(r.body.header.revision)).to.be.greaterThan(ENTRIES);
      expect(await c.localGet(0, 'after-restart')).to.equal('yes');
    } finally {
      await c.stop();
    }
  });

  it('a 3-node cluster with --snapshot-every 0 past 200,000 puts: every node restarted, all come back', async () => {
    const PUTS = 200_000;
    const IN_FLIGHT = 256;
    const KEYS = 1000;
    const c = await ProcessCluster.start({ electionMs: 1000, heartbeatMs: 100, extraArgs: ['--snapshot-every', '0'] });
    try {
      // High concurrency keeps this within a few minutes: proposals that
      // arrive together share one append, one fsync and one AppendEntries.
      const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
      let leader = await c.waitForLeader(60_000);
      let next = 0;
      let acknowledged = 0;
      let refused = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < PUTS; i = next++) {
          for (;;) {
            if (refused > 1000) throw new Error(`${refused} puts refused; last leader n${leader + 1}`);
            const status = await rawPut(agent, c.nodes[leader].api, `key-${i % KEYS}`, `${i}`).catch(() => 0);
            if (status === 200) break;
            // A leader change mid-run: find the new one and send the put again.
            refused++;
            leader = await c.waitForLeader(60_000);
          }
          acknowledged++;
        }
      };
      try {
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      } finally {
        agent.destroy();
      }
      expect(acknowledged).to.equal(PUTS);
      const before = (await c.status(leader)) as Status;
      expect(before.commitIndex).to.be.greaterThan(PUTS);

      // Every node stops at once (kill -9) and starts again on its long log.
      await Promise.all([0, 1, 2].map((i) => c.kill(i)));
      for (const i of [0, 1, 2]) await c.restart(i);
      leader = await c.waitForLeader(60_000);
      await waitFor(
        async () => {
          for (const i of [0, 1, 2]) if (!c.isRunning(i)) throw new Error(`n${i + 1} exited:\n${c.log(i)}`);
          const all = await Promise.all([0, 1, 2].map((i) => c.status(i)));
          return all.every((s) => s !== null && s.lastApplied >= before.commitIndex);
        },
        120_000,
        'every node to apply the whole log again',
        250,
      );
      // All three hold the same data, and the cluster takes writes again.
      for (const k of [0, KEYS - 1]) {
        const values = await Promise.all([0, 1, 2].map((i) => c.localGet(i, `key-${k}`)));
        expect(values[0], `key-${k}`).to.match(/^[0-9]+$/);
        expect(values, `key-${k} on n1, n2, n3`).to.deep.equal([values[0], values[0], values[0]]);
      }
      const r = await c.put(leader, 'after-restart', 'yes');
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
    } finally {
      await c.stop();
    }
  });
});
