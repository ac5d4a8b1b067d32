// POST /v3/watch over HTTP on 127.0.0.1, against a fake node: etcd 3.4's
// stream shapes (recorded from a real etcd 3.4.23 on loopback, see
// docs/api.md), history replay, compaction, and a client that stops reading.

import { expect } from 'chai';
import { waitFor } from '../net/wait';
import { b64, post, startApi } from './fake-node';
import { WatchClient } from './watch-client';

type Started = Awaited<ReturnType<typeof startApi>>;

const hdr = (revision?: string) => ({ cluster_id: 'C', member_id: 'M', ...(revision ? { revision } : {}), raft_term: '2' });

describe('HTTP API: watch (etcd 3.4 stream shapes)', () => {
  let s: Started;
  const clients: WatchClient[] = [];
  const watch = () => {
    const c = new WatchClient(s.url);
    clients.push(c);
    return c;
  };
  const put = (k: string, v: string) => post(s.url + '/v3/kv/put', { key: b64(k), value: b64(v) });
  beforeEach(async () => {
    s = await startApi('n1');
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await s.api.close();
  });

  it('replays history with prev_kv, then streams PUT and DELETE events (as recorded from etcd)', async () => {
    await put('a', '1'); // 2
    await put('a', '2'); // 3
    await post(s.url + '/v3/kv/deleterange', { key: b64('a') }); // 4
    const w = watch();
    w.send({ create_request: { key: b64('a'), start_revision: '2', prev_kv: true } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('4'), created: true } });
    const a2 = { key: 'YQ==', create_revision: '2', mod_revision: '2', version: '1', value: 'MQ==' };
    const a3 = { key: 'YQ==', create_revision: '2', mod_revision: '3', version: '2', value: 'Mg==' };
    expect(await w.next()).to.deep.equal({
      result: {
        header: hdr('4'),
        events: [{ kv: a2 }, { kv: a3, prev_kv: a2 }, { type: 'DELETE', kv: { key: 'YQ==', mod_revision: '4' }, prev_kv: a3 }],
      },
    });
    await put('a', '3'); // 5
    expect(await w.next()).to.deep.equal({
      result: { header: hdr('5'), events: [{ kv: { key: 'YQ==', create_revision: '5', mod_revision: '5', version: '1', value: 'Mw==' } }] },
    });
  });

  it('watch IDs, filters, progress and cancel requests, a duplicate ID', async () => {
    await put('a', '1'); // 2
    const w = watch();
    w.send({ create_request: { key: b64('a'), watch_id: '3', filters: ['NODELETE'] } });
    w.send({ create_request: { key: b64('b') } });
    w.send({ progress_request: {} });
    w.send({ create_request: { key: b64('b'), watch_id: 3 } });
    w.send({ cancel_request: { watch_id: '3' } });
    w.send({ cancel_request: { watch_id: '55' } }); // unknown: no answer
    w.send({ create_request: { key: b64('b'), watch_id: '0', filters: [0] } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2'), watch_id: '3', created: true } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2'), created: true } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2'), watch_id: '-1' } });
    expect(await w.next()).to.deep.equal({
      result: { header: hdr('2'), watch_id: '-1', created: true, canceled: true, cancel_reason: 'mvcc: duplicate watch ID provided on the WatchStream' },
    });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2'), watch_id: '3', canceled: true } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2'), watch_id: '1', created: true } });
    await put('b', 'x'); // 3: watcher 0 sees it; watcher 1 filters puts out
    await post(s.url + '/v3/kv/deleterange', { key: b64('b') }); // 4
    const ev = await w.next();
    expect(ev.result).to.deep.include({ events: [{ kv: { key: 'Yg==', create_revision: '3', mod_revision: '3', version: '1', value: 'eA==' } }] });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('4'), events: [{ type: 'DELETE', kv: { key: 'Yg==', mod_revision: '4' } }] } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('4'), watch_id: '1', events: [{ type: 'DELETE', kv: { key: 'Yg==', mod_revision: '4' } }] } });
  });

  it('a start below the compacted revision: created, then canceled with compact_revision (header without revision)', async () => {
    for (let i = 0; i < 4; i++) await put('a', `${i}`); // 2..5
    expect((await post(s.url + '/v3/kv/compaction', { revision: '4' })).status).to.equal(200);
    const w = watch();
    w.send({ create_request: { key: b64('a'), start_revision: '3' } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('5'), created: true } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr(), canceled: true, compact_revision: '4' } });
  });

  it('progress_notify: a watcher that asked hears the current revision when idle; one that did not ask never does', async () => {
    await s.api.close();
    s = await startApi('n1', { watchProgressIntervalMs: 200 });
    const w = watch();
    w.send({ create_request: { key: b64('p'), progress_notify: true } });
    w.send({ create_request: { key: b64('q') } }); // did not ask: never notified
    expect((await w.next()).result).to.have.property('created', true);
    expect((await w.next()).result).to.deep.equal({ header: hdr('1'), watch_id: '1', created: true });
    await put('p', 'x'); // 2
    expect((await w.next()).result).to.have.property('events');
    // The next lines are progress notifications for watcher 0 only, at the current revision.
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2') } });
    expect(await w.next()).to.deep.equal({ result: { header: hdr('2') } });
  });

  it('a bad create is refused with 400 before the stream starts', async () => {
    const w = watch();
    w.send({ create_request: { key: '!!' } });
    w.req.end();
    await new Promise((r) => w.req.once('response', r));
    expect(w.res!.statusCode).to.equal(400);
  });

  it('a client that stops reading is left behind, caught up in order when it reads, canceled with a reason once compacted past', async () => {
    await s.api.close();
    s = await startApi('n1', { watchMaxBufferedBytes: 16 * 1024 });
    const w = watch();
    w.send({ create_request: { key: b64('k/'), range_end: b64('k0') } });
    expect((await w.next()).result).to.have.property('created', true);
    const value = 'v'.repeat(64 * 1024);
    let last = 0;
    /** Put until the watcher is left behind: the kernel's socket buffers fill first (bounded: 2000 puts). */
    const putUntilBehind = async () => {
      for (let i = 0; s.api.watchable.unsynced === 0; i++) {
        expect(i, 'the watcher was never left behind').to.be.below(2000);
        last = Number(((await put(`k/${i % 7}`, value)).json!.header as { revision: string }).revision);
      }
    };
    w.res!.pause(); // stop reading
    await putUntilBehind();
    await put('k/x', 'one more while behind');
    last += 1;
    // Read again: every revision 2..last arrives once, in order.
    w.res!.resume();
    const revs: number[] = [];
    while (revs[revs.length - 1] !== last) {
      const line = await w.next();
      for (const e of (line.result as { events: { kv: { mod_revision: string } }[] }).events) revs.push(Number(e.kv.mod_revision));
    }
    expect(revs).to.deep.equal(Array.from({ length: last - 1 }, (_, i) => i + 2));
    await waitFor(() => s.api.watchable.unsynced === 0, 5000, 'the watcher to be synced again');
    // Stop reading again, write on, compact past what it has: it is canceled with a reason.
    w.res!.pause();
    await putUntilBehind();
    for (let i = 0; i < 3; i++) await put('k/y', `${i}`); // not sent: it is behind
    last += 3;
    await post(s.url + '/v3/kv/compaction', { revision: String(last) });
    expect(s.api.watchable.size).to.equal(0);
    w.res!.resume();
    let line;
    do line = await w.next();
    while (!(line.result as Record<string, unknown>).canceled);
    expect(line.result).to.include({ compact_revision: String(last) });
    expect((line.result as Record<string, string>).cancel_reason).to.match(/fell behind/);
  });
});
