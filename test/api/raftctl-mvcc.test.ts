// raftctl's history commands against a fake-node API server on 127.0.0.1,
// in-process through main(args, io): get --rev, compaction, txn in etcdctl's
// syntax from stdin, and watch in etcdctl's output format (compared with
// etcdctl 3.4.23's output for the same commands, docs/api.md).

import { expect } from 'chai';
import { waitFor } from '../net/wait';
import { startApi } from './fake-node';
import { RunOptions, runRaftctl } from './run-raftctl';

type Started = Awaited<ReturnType<typeof startApi>>;

describe('raftctl: revisions, compaction, txn, watch', function () {
  this.timeout(30_000);
  let s: Started;
  beforeEach(async () => {
    s = await startApi('n1');
  });
  afterEach(async () => {
    await s.api.close();
  });

  const raftctl = (args: string[], o: RunOptions = {}) => runRaftctl(['--endpoints', s.url, ...args], o);

  it('get --rev reads a past revision; compaction prints etcdctl\'s line; a compacted read fails', async () => {
    await raftctl(['put', 'k', 'one']); // 2
    await raftctl(['put', 'k', 'two']); // 3
    expect((await raftctl(['get', 'k', '--rev', '2'])).stdout).to.equal('k\none\n');
    expect((await raftctl(['get', 'k'])).stdout).to.equal('k\ntwo\n');
    expect(await raftctl(['compaction', '3'])).to.deep.include({ code: 0, stdout: 'compacted revision 3\n' });
    const r = await raftctl(['get', 'k', '--rev', '2']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('etcdserver: mvcc: required revision has been compacted');
  });

  it('txn from stdin in etcdctl\'s syntax, with etcdctl\'s output (SUCCESS and FAILURE)', async () => {
    await raftctl(['put', 't1', 'v1']);
    const ok = await raftctl(['txn'], {
      stdin: 'mod("t1") > "0"\nvalue("t1") = "v1"\n\nput t1 "new value"\nget t1\ndel nokey\n\nput t1 failed\n\n',
    });
    expect(ok).to.deep.include({ code: 0, stdout: 'SUCCESS\n\nOK\n\nt1\nnew value\n\n0\n' });
    const failed = await raftctl(['txn'], { stdin: 'value("t1") = "zzz"\n\nput t1 x\n\nget t1 --prefix\ndel t1 --prev-kv\n' });
    expect(failed).to.deep.include({ code: 0, stdout: 'FAILURE\n\nt1\nnew value\n\n1\nt1\nnew value\n' });
    const bad = await raftctl(['txn'], { stdin: 'mood("t1") > "0"\n\n\n' });
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('unknown compare target mood');
  });

  it('watch --prefix --rev --prev-kv prints etcdctl\'s format until interrupted', async () => {
    await raftctl(['put', 't1', 'v1']); // 2
    await raftctl(['put', 't1', 'new value']); // 3
    await raftctl(['del', 't1']); // 4
    const stop = new AbortController();
    const expected = 'PUT\nt1\nv1\nPUT\nt1\nv1\nt1\nnew value\nDELETE\nt1\nnew value\nt1\n\nPUT\nt1\nagain\n';
    let seen = '';
    const running = raftctl(['watch', 't', '--prefix', '--rev', '2', '--prev-kv'], { signal: stop.signal, onOut: (all) => (seen = all) });
    await waitFor(() => seen.length > 0, 10_000, 'the replayed events');
    await raftctl(['put', 't1', 'again']); // 5: live
    await waitFor(() => seen === expected, 10_000, 'the live event');
    stop.abort();
    expect(await running).to.deep.include({ code: 0, stdout: expected });
  });

  it('watch from a compacted revision fails as etcdctl\'s does', async () => {
    await raftctl(['put', 'k', '1']);
    await raftctl(['put', 'k', '2']);
    await raftctl(['compaction', '3']);
    const r = await raftctl(['watch', 'k', '--rev', '2']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal('watch was canceled (etcdserver: mvcc: required revision has been compacted)\nError: watch is canceled by the server\n');
  });

  it('ETCDCTL_ENDPOINTS is honoured when RAFTCTL_ENDPOINTS and --endpoints are not given', async () => {
    await raftctl(['put', 'k', 'v']);
    const saved = { r: process.env.RAFTCTL_ENDPOINTS, e: process.env.ETCDCTL_ENDPOINTS };
    delete process.env.RAFTCTL_ENDPOINTS;
    process.env.ETCDCTL_ENDPOINTS = s.url;
    let stdout = '';
    try {
      const r = await runRaftctl(['get', 'k']);
      expect(r.code, r.stderr).to.equal(0);
      stdout = r.stdout;
    } finally {
      if (saved.r === undefined) delete process.env.RAFTCTL_ENDPOINTS;
      else process.env.RAFTCTL_ENDPOINTS = saved.r;
      if (saved.e === undefined) delete process.env.ETCDCTL_ENDPOINTS;
      else process.env.ETCDCTL_ENDPOINTS = saved.e;
    }
    expect(stdout).to.equal('k\nv\n');
  });
});
