// Bad configuration is refused with one clear line (main.ts prints it and
// exits with code 2; test/net/processes.test.ts checks the exit code).

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, parseNodeOptions } from '../../src/cli/node-options';

describe('node options', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'raft-opts-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = () => ['--name', 'n1', '--port', '5001', '--peers', 'n2=127.0.0.1:5002,n3=127.0.0.1:5003', '--data-dir', path.join(dir, 'n1')];

  it('parses a full command line with defaults', () => {
    const o = parseNodeOptions([...base(), '--api-port', '8001', '--initial-state', 'candidate', '--transport', 'udp']);
    expect(o.name).to.equal('n1');
    expect(o.port).to.equal(5001);
    expect(o.peers).to.deep.equal([
      { name: 'n2', host: '127.0.0.1', port: 5002 },
      { name: 'n3', host: '127.0.0.1', port: 5003 },
    ]);
    expect(o.apiPort).to.equal(8001);
    expect(o.initialState).to.equal('candidate');
    expect(o.transport).to.equal('udp');
    expect(o.electionTimeoutMs).to.equal(1000);
    expect(o.heartbeatMs).to.equal(100);
    expect(o.logFormat).to.equal('human');
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown flag', ['--frobnicate'], /unknown option '--frobnicate'/],
    ['a port out of range', ['--port', '70000'], /--port: "70000" is not a port/],
    ['a port that is not a number', ['--port', 'abc'], /--port: "abc" is not a port/],
    ['itself among its peers', ['--peers', 'n1=127.0.0.1:5009'], /n1 is this node itself/],
    ['duplicate peer names', ['--peers', 'n2=127.0.0.1:5002,n2=127.0.0.1:5003'], /duplicate name n2/],
    ['a malformed peer', ['--peers', 'n2@127.0.0.1'], /"n2@127.0.0.1" is not name=host:port/],
    ['heartbeat not below the election timeout', ['--heartbeat-interval', '1000'], /must be below --election-timeout/],
    ['an unknown transport', ['--transport', 'carrier-pigeon'], /carrier-pigeon/],
    ['an unknown initial state', ['--initial-state', 'leader'], /leader/],
  ];
  for (const [what, extra, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parseNodeOptions([...base(), ...extra])).to.throw(ConfigError, message);
    });
  }

  it('refuses a data directory that is a file', () => {
    const file = path.join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    expect(() => parseNodeOptions([...base(), '--data-dir', file])).to.throw(ConfigError, /is not a directory/);
  });

  it('names a misspelled flag rather than the required one it stands for', () => {
    expect(() => parseNodeOptions(['--nmae', 'n1', '--port', '5001'])).to.throw(ConfigError, /unknown option '--nmae'/);
  });

  it('refuses a missing --name', () => {
    expect(() => parseNodeOptions(['--port', '5001'])).to.throw(ConfigError, /--name/);
  });

  it('the live view: off by default; --ui serves the page on --ui-port (8000) and implies --observe; a bad --ui-port is refused', () => {
    const plain = parseNodeOptions(base());
    expect([plain.observe, plain.uiPort]).to.deep.equal([false, null]);
    expect(parseNodeOptions([...base(), '--observe']).observe).to.equal(true);
    const ui = parseNodeOptions([...base(), '--ui']);
    expect([ui.observe, ui.uiPort]).to.deep.equal([true, 8000]);
    expect(parseNodeOptions([...base(), '--ui', '--ui-port', '9000']).uiPort).to.equal(9000);
    expect(() => parseNodeOptions([...base(), '--ui', '--ui-port', '70000'])).to.throw(ConfigError, /--ui-port/);
  });
});
