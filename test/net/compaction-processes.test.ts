// Auto-compaction on real node processes: the leader proposes compactions
// through the log, and every member ends with the same compacted revision
// and refuses reads below it (revision mode and periodic mode).

import { expect } from 'chai';
import { ProcessCluster, b64 } from './cluster-harness';
import { waitFor } from './wait';

describe('auto-compaction on real processes', function () {
  this.timeout(120_000);
  let c: ProcessCluster | null = null;
  afterEach(async () => {
    await c?.stop();
    c = null;
  });

  /** /status compactRevision of every node. */
  const compacted = async (cl: ProcessCluster) => Promise.all([0, 1, 2].map(async (i) => ((await cl.status(i)) as unknown as { compactRevision?: number })?.compactRevision));

  async function writeAndSettle(cl: ProcessCluster, puts: number): Promise<number> {
    const leader = await cl.waitForLeader();
    let last = 0;
    for (let i = 0; i < puts; i++) last = Number((await cl.put(leader, `k${i % 3}`, `v${i}`)).body.header.revision);
    return last;
  }

  it('revision mode keeps the last N revisions on every member', async () => {
    c = await ProcessCluster.start({ extraArgs: ['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '5'] });
    const last = await writeAndSettle(c, 20);
    const cl = c;
    await waitFor(async () => (await compacted(cl)).every((r) => r === last - 5), 20_000, `every member compacted at ${last - 5}`, 50);
    for (let i = 0; i < 3; i++) {
      const old = await c.post(i, 'kv/range', { key: b64('k0'), revision: String(last - 6), serializable: true });
      expect(old.body.error, `node ${i}`).to.equal('etcdserver: mvcc: required revision has been compacted');
      const kept = await c.post(i, 'kv/range', { key: b64('k0'), revision: String(last - 5), serializable: true });
      expect(kept.status, `node ${i}`).to.equal(200);
    }
  });

  it('periodic mode compacts what is older than the window, proposed by the leader', async () => {
    c = await ProcessCluster.start({ extraArgs: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '2s'] });
    const last = await writeAndSettle(c, 10);
    const cl = c;
    // Within a window and a sampling interval of the last write, everything up to it is compacted.
    await waitFor(async () => (await compacted(cl)).every((r) => r === last), 20_000, `every member compacted at ${last}`, 50);
  });
});
