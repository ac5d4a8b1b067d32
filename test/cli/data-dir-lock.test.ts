// The data directory lock (src/cli/data-dir-lock.ts): one owner at a time; a
// lock left by a dead process is taken over at once.

import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DataDirLockedError, lockDataDir } from '../../src/cli/data-dir-lock';

describe('data directory lock', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'raft-lock-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes this process id to LOCK, leaves no temporary file, and removes LOCK on release', () => {
    const lock = lockDataDir(dir);
    expect(readFileSync(lock.file, 'utf8').trim()).to.equal(String(process.pid));
    expect(readdirSync(dir)).to.deep.equal(['LOCK']);
    lock.release();
    expect(existsSync(lock.file)).to.equal(false);
  });

  it('refuses a second lock while the owner runs, naming the owner and the file', () => {
    const lock = lockDataDir(dir);
    expect(() => lockDataDir(dir)).to.throw(DataDirLockedError, new RegExp(`in use by process ${process.pid} .*${lock.file}`));
    lock.release();
  });

  it('takes over a lock whose process is gone (a SIGKILLed node)', () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(path.join(dir, 'LOCK'), `${dead}\n`);
    const lock = lockDataDir(dir);
    expect(readFileSync(lock.file, 'utf8').trim()).to.equal(String(process.pid));
    lock.release();
  });

  it('release leaves alone a LOCK that is no longer its own', () => {
    const lock = lockDataDir(dir);
    writeFileSync(lock.file, '1\n');
    lock.release();
    expect(readFileSync(lock.file, 'utf8')).to.equal('1\n');
  });
});
