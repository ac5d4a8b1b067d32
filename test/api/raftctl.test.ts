// raftctl against fake-node API servers on 127.0.0.1: a few runs as a user
// runs it (a separate process through bin/raftctl, which runs the compiled
// dist/ that `npm test` builds first; bounded by a timeout), and the rest
// in-process through main(args, io), the same code without a process each.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { deadEndpoint, startApi } from './fake-node';
import { Run, runRaftctl } from './run-raftctl';

type Started = Awaited<ReturnType<typeof startApi>>;

const RAFTCTL = path.join(__dirname, '..', '..', 'bin', 'raftctl');

/** Run bin/raftctl asynchronously (the servers live in this process) with a hard timeout. */
function spawnRaftctl(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.RAFTCTL_ENDPOINTS;
    delete env.ETCDCTL_ENDPOINTS;
    Object.assign(env, extraEnv);
    execFile(process.execPath, [RAFTCTL, ...args], { timeout: 20_000, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const raftctl = (args: string[]) => runRaftctl(args);

const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());

describe('raftctl', function () {
  this.timeout(60_000);
  let a: Started;
  let b: Started;
  let dead: string;
  before(async () => {
    a = await startApi('n1', { requestTimeoutMs: 300 });
    b = await startApi('n2', { requestTimeoutMs: 300 }, [{ name: 'n1' }]);
    a.node.peers = [{ name: 'n2', matchIndex: 0, api: b.url }];
    b.node.role = 'follower';
    b.node.leader = 'n1';
    dead = await deadEndpoint();
  });
  after(async () => {
    await a.api.close();
    await b.api.close();
  });

  describe('spawned (bin/raftctl)', () => {
    it('put, get and del', async () => {
      const ep = ['--endpoints', a.url];
      expect(await spawnRaftctl([...ep, 'put', 'sp/a', 'hello'])).to.deep.equal({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(await spawnRaftctl([...ep, 'get', 'sp/', '--prefix'])).to.deep.equal({
        code: 0, stdout: 'sp/a\nhello\n', stderr: '',
      });
      expect(await spawnRaftctl([...ep, 'del', 'sp/a'])).to.deep.equal({ code: 0, stdout: '1\n', stderr: '' });
      expect(a.kv.get(Buffer.from('sp/a'))).to.equal(undefined);
    });

    it('takes its endpoints from RAFTCTL_ENDPOINTS, else from ETCDCTL_ENDPOINTS (host:port as etcdctl takes it); --endpoints wins', async () => {
      const etcdStyle = a.url.replace('http://', '');
      expect(await spawnRaftctl(['put', 'sp/env', 'e'], { ETCDCTL_ENDPOINTS: etcdStyle })).to.deep.equal({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(a.kv.get(Buffer.from('sp/env'))!.value.toString()).to.equal('e');
      // Ours first: a dead ETCDCTL_ENDPOINTS is not used when RAFTCTL_ENDPOINTS is set.
      const both = await spawnRaftctl(['get', 'sp/env'], { RAFTCTL_ENDPOINTS: a.url, ETCDCTL_ENDPOINTS: dead });
      expect(both).to.deep.equal({ code: 0, stdout: 'sp/env\ne\n', stderr: '' });
      const flag = await spawnRaftctl(['--endpoints', a.url, 'get', 'sp/env'], { RAFTCTL_ENDPOINTS: dead, ETCDCTL_ENDPOINTS: dead });
      expect(flag).to.deep.equal({ code: 0, stdout: 'sp/env\ne\n', stderr: '' });
    });

    it('fails over to the second endpoint when the first is down', async () => {
      const r = await spawnRaftctl(['--endpoints', `${dead},${a.url}`, 'put', 'sp/fo', 'x']);
      expect(r).to.deep.equal({ code: 0, stdout: 'OK\n', stderr: '' });
      expect(a.kv.get(Buffer.from('sp/fo'))!.value.toString()).to.equal('x');
    });

    it('endpoint status: a table of every endpoint', async () => {
      const r = await spawnRaftctl(['--endpoints', `${a.url},${b.url}`, 'endpoint', 'status']);
      expect(r.code, r.stderr).to.equal(0);
      const lines = r.stdout.trim().split('\n');
      expect(cells(lines[1])).to.deep.equal(['ENDPOINT', 'NAME', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'REVISION']);
      const rows = lines.filter((l) => l.startsWith('| http')).map(cells);
      expect(rows.map((c) => c.slice(0, 5))).to.deep.equal([
        [a.url, 'n1', 'leader', '2', 'n1'],
        [b.url, 'n2', 'follower', '2', 'n1'],
      ]);
    });
  });

  describe('in-process (main)', () => {
    it('put --prev-kv, get --keys-only --limit, --count-only, -w json, del --prefix --prev-kv', async () => {
      const ep = ['--endpoints', a.url];
      expect((await raftctl([...ep, 'put', 'demo/a', 'hello'])).stdout).to.equal('OK\n');
      expect((await raftctl([...ep, 'put', 'demo/b', 'world', '--prev-kv'])).stdout).to.equal('OK\n');
      expect((await raftctl([...ep, 'put', 'demo/a', 'again', '--prev-kv'])).stdout).to.equal('OK\ndemo/a\nhello\n');
      expect(await raftctl([...ep, 'get', 'demo/a'])).to.deep.equal({ code: 0, stdout: 'demo/a\nagain\n', stderr: '' });
      expect((await raftctl([...ep, 'get', 'demo/', '--prefix', '--keys-only', '--limit', '1'])).stdout).to.equal('demo/a\n');
      expect((await raftctl([...ep, 'get', 'demo/', '--prefix', '--print-value-only'])).stdout).to.equal('again\nworld\n');
      expect((await raftctl([...ep, 'get', 'demo/', '--prefix', '--count-only'])).stdout).to.equal('2\n');
      expect((await raftctl([...ep, 'get', 'demo/a', 'demo/c', '--consistency', 's'])).stdout).to.equal(
        'demo/a\nagain\ndemo/b\nworld\n',
      );
      const j = await raftctl([...ep, '-w', 'json', 'get', 'demo/b']);
      expect(JSON.parse(j.stdout).kvs[0]).to.include({ key: Buffer.from('demo/b').toString('base64'), version: '1' });
      expect(await raftctl([...ep, 'del', 'demo/', '--prefix', '--prev-kv'])).to.deep.equal({
        code: 0, stdout: '2\ndemo/a\nagain\ndemo/b\nworld\n', stderr: '',
      });
      expect(await raftctl([...ep, 'get', 'demo/', '--prefix'])).to.deep.equal({ code: 0, stdout: '', stderr: '' });
    });

    it('fails over past an endpoint with no leader', async () => {
      b.node.mode = 'no-leader';
      try {
        const r = await raftctl(['--endpoints', `${b.url},${a.url}`, 'put', 'fo/2', 'y']);
        expect(r.code, r.stderr).to.equal(0);
        expect(a.kv.get(Buffer.from('fo/2'))!.value.toString()).to.equal('y');
        expect(b.kv.get(Buffer.from('fo/2'))).to.equal(undefined);
      } finally {
        b.node.mode = 'ok';
      }
    });

    it('endpoint status with a dead endpoint: the others are shown, the dead one reported, exit 1', async () => {
      const r = await raftctl(['--endpoints', `${a.url},${dead}`, 'endpoint', 'status']);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.include('n1');
      expect(r.stderr).to.include(`Failed to get the status of endpoint ${dead}`);
    });

    it('endpoint health and member list', async () => {
      const h = await raftctl(['--endpoints', a.url, 'endpoint', 'health']);
      expect(h.code, h.stderr).to.equal(0);
      expect(h.stdout).to.match(/is healthy/);
      const r = await raftctl(['--endpoints', a.url, 'member', 'list']);
      expect(r.code, r.stderr).to.equal(0);
      const rows = r.stdout.trim().split('\n').filter((l) => l.startsWith('| ') && !l.includes('CLIENT URLS')).map(cells);
      expect(rows.map((c) => c.slice(1))).to.deep.equal([
        ['n1', a.url],
        ['n2', b.url],
      ]);
    });

    it('errors exit 1 with the server\'s message, or when nothing answers within --command-timeout', async () => {
      const bad = await raftctl(['--endpoints', a.url, 'get', '']);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.include('Error: etcdserver: key is not provided');
      const started = Date.now();
      const none = await raftctl(['--endpoints', dead, '--command-timeout', '500ms', 'get', 'k']);
      expect(none.code).to.equal(1);
      expect(none.stderr).to.match(/^Error: .*ECONNREFUSED/);
      expect(Date.now() - started).to.be.below(5_000);
    });

    it('usage errors exit 2: unknown command or option, missing argument, bad values', async () => {
      for (const args of [
        ['frobnicate'],
        ['--bogus', 'get', 'k'],
        ['put', 'only-key'],
        ['get', 'k', '--limit', 'ten'],
        ['get', 'k', '--prefix', '--from-key'],
        ['get', 'k', '--consistency', 'x'],
        ['put', 'k', 'v', '--lease', 'xyz'],
        ['--endpoints', 'ftp://x', 'get', 'k'],
        ['--command-timeout', 'soon', 'get', 'k'],
      ]) {
        const r = await raftctl(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
        expect(r.stderr.length, args.join(' ')).to.be.greaterThan(0);
      }
      expect((await raftctl(['--help'])).code).to.equal(0);
    });
  });
});
