// Watch on real node processes (src/main.ts, ZeroMQ): a client watches a
// prefix on a follower while the leader is killed and writes go on, then
// drops its stream and resumes from its last revision + 1 on another member.
// What it saw must be the committed writes exactly: every revision once, in
// order, no gap, no duplicate, each with the key and value that was written.

import { expect } from 'chai';
import { RaftClient } from '../../src/api/client';
import { WatchClient } from '../api/watch-client';
import { ProcessCluster, b64 } from './cluster-harness';
import { waitFor } from './wait';

interface Seen {
  rev: number;
  key: string;
  value: string;
}

describe('watch on real processes', function () {
  this.timeout(120_000);
  let c: ProcessCluster;
  const streams: WatchClient[] = [];

  before(async () => {
    c = await ProcessCluster.start({ transport: 'zmq' });
  });
  after(async () => {
    for (const w of streams) w.close();
    await c?.stop();
  });

  /** Watch prefix w/ on node i from `start`, pushing every event into `seen` as it arrives. */
  function follow(i: number, start: number, seen: Seen[]): WatchClient {
    const w = new WatchClient(c.url(i));
    streams.push(w);
    w.send({ create_request: { key: b64('w/'), range_end: b64('w0'), start_revision: String(start) } });
    void (async () => {
      for (;;) {
        let line;
        try {
          line = await w.next(600_000);
        } catch {
          return; // closed
        }
        const events = ((line.result as { events?: { kv: { key: string; value?: string; mod_revision: string } }[] }).events ?? []);
        for (const e of events) {
          seen.push({ rev: Number(e.kv.mod_revision), key: Buffer.from(e.kv.key, 'base64').toString(), value: Buffer.from(e.kv.value ?? '', 'base64').toString() });
        }
      }
    })();
    return w;
  }

  it('a prefix watched on a follower across a leader kill, resumed at last revision + 1 elsewhere, equals the committed writes', async () => {
    const leader = await c.waitForLeader();
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    const other = [0, 1, 2].find((i) => i !== leader && i !== follower)!;
    const client = new RaftClient({ endpoints: [0, 1, 2].map((i) => c.url(i)), timeoutMs: 15_000 });
    const start = Number((await client.get('w/', { prefix: true })).header.revision) + 1;

    const seen: Seen[] = [];
    const first = follow(follower, start, seen);
    const acked = new Map<number, Seen>();
    let n = 0;
    const write = async (count: number) => {
      for (let k = 0; k < count; k++, n++) {
        const r = await client.put(`w/${n}`, `v${n}`);
        const rev = Number(r.header.revision);
        acked.set(rev, { rev, key: `w/${n}`, value: `v${n}` });
      }
    };

    await write(30);
    await c.kill(leader); // SIGKILL: no goodbye
    await write(30); // the client fails over; a new leader is elected
    await waitFor(() => seen.length > 0 && seen[seen.length - 1].rev >= Math.max(...acked.keys()), 20_000, 'the follower to stream the writes so far');
    // Drop the stream and resume on the other member from the last revision + 1.
    first.close();
    const resumeAt = seen[seen.length - 1].rev + 1;
    await write(30); // written while no one watches
    follow(other, resumeAt, seen);
    await write(30);

    const last = Math.max(...acked.keys());
    await waitFor(() => seen.length > 0 && seen[seen.length - 1].rev >= last, 20_000, 'the resumed watch to catch up');
    // Every revision from the start to the last once, in order; each as acknowledged.
    expect(seen.map((s) => s.rev)).to.deep.equal(Array.from({ length: last - start + 1 }, (_, i) => start + i));
    for (const s of seen) {
      const a = acked.get(s.rev);
      if (a) expect(s).to.deep.equal(a);
      else expect(s.key).to.match(/^w\/[0-9]+$/); // a write whose answer was lost in the failover, committed once
    }
    expect(new Set(seen.map((s) => s.key)).size).to.equal(seen.length);
    expect(acked.size).to.equal(120);
  });
});
