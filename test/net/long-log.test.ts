// Issue 19: a node whose log holds a great many entries after its last
// snapshot must start again. Restart used to spread the whole unapplied
// suffix into one call (RaftLog.slice) and crashed with "Maximum call stack
// size exceeded" above about 125,000 entries, on every start, for good.

import { expect } from 'chai';
import { longLogPut, writeLongLog } from '../log/long-log';
import { ProcessCluster } from './cluster-harness';
import { waitFor } from './wait';

describe('a node with a long unsnapshotted log starts again (issue 19)', function () {
  this.timeout(300_000);

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
});
