// The package as a user gets it: `npm pack` (which builds dist/ through the
// prepare script), then the tarball installed in an empty folder, offline:
// its dependencies come packed from this project's node_modules. Then the
// installed commands run (compiled JavaScript, no ts-node), and
// require('simpleraft-ts') gives the library without side effects.

import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: none of the npm_* variables `npm test` sets, npm offline. */
function userEnv(cache: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, npm_config_offline: 'true', npm_config_cache: cache, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `name` and everything it depends on, as installed in this project's node_modules. */
function dependencyClosure(names: string[], seen = new Set<string>()): Set<string> {
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    dependencyClosure(Object.keys(pkg.dependencies ?? {}), seen);
  }
  return seen;
}

describe('the npm package', function () {
  this.timeout(600_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let app: string;
  let files: string[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'raft-pack-'));
    env = userEnv(path.join(dir, 'npm-cache'));
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], ROOT, env);
    expect(packed.code, packed.stderr).to.equal(0);
    // npm prints the prepare script's output before the JSON.
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('\n[') + 1))[0] as { filename: string; files: { path: string }[] };
    files = info.files.map((f) => f.path);

    const deps = path.join(dir, 'deps');
    mkdirSync(deps);
    const own = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const tarballs = [path.join(dir, info.filename)];
    for (const name of dependencyClosure(Object.keys(own.dependencies))) {
      const r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', deps, path.join(ROOT, 'node_modules', name)], dir, env);
      expect(r.code, r.stderr).to.equal(0);
      tarballs.push(path.join(deps, JSON.parse(r.stdout)[0].filename));
    }

    app = path.join(dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const installed = await run('npm', ['install', ...tarballs], app, env);
    expect(installed.code, installed.stderr).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the compiled library and the commands, and no tests, benchmarks, interop or TypeScript sources', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/main.js', 'dist/api/raftctl.js', 'dist/cli/start-cluster.js', 'bin/raftctl', 'bin/simpleraft-node']) {
      expect(files, f).to.include(f);
    }
    expect(files.filter((f) => /^(test|bench|interop|src)\//.test(f))).to.deep.equal([]);
  });

  it('npx raftctl --help and npx simpleraft-node --help work from the installed package, without ts-node', async () => {
    const raftctl = await run('npx', ['raftctl', '--help'], app, env);
    expect(raftctl.code, raftctl.stderr).to.equal(0);
    expect(raftctl.stdout).to.match(/^Usage: raftctl/);
    const node = await run('npx', ['simpleraft-node', '--help'], app, env);
    expect(node.code, node.stderr).to.equal(0);
    expect(node.stdout).to.match(/^Usage: simpleraft-node/);
    expect(node.stdout).to.match(/--data-dir/);
  });

  it("require('simpleraft-ts') gives the client, the core and the transports, and starts nothing", async () => {
    const script = [
      "const m = require('simpleraft-ts');",
      "const names = ['RaftClient', 'Server', 'RaftNode', 'MemoryStorage', 'FileStorage', 'ZeroMqTransport', 'UdpGossipTransport', 'MemoryNetwork', 'encodeMessage', 'decodeMessage', 'KvStore'];",
      "console.log(names.map((n) => n + ':' + typeof m[n]).join(' '));",
    ].join('\n');
    const r = await run(process.execPath, ['-e', script], app, env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal(
      'RaftClient:function Server:function RaftNode:function MemoryStorage:function FileStorage:function ZeroMqTransport:function UdpGossipTransport:function MemoryNetwork:function encodeMessage:function decodeMessage:function KvStore:function',
    );
  });
});
