// An exclusive lock on a node's data directory, taken before anything in it is
// read: two nodes on one write-ahead log would each append to it and each
// believe its own hard state, which breaks every promise the log makes.
//
// The lock is the file LOCK holding the owner's process id. It is created
// whole and at once: the id is written to a private temporary file, which is
// then hard-linked to LOCK (link() fails if LOCK exists). A LOCK whose process
// no longer runs was left by a node that was killed (SIGKILL, a crash) and is
// taken over at once, so a killed node can be restarted at once.
//
// Why not a library: Node has no flock(), and lockfile libraries (such as
// proper-lockfile) judge a lock stale by its age, so a SIGKILLed node's lock
// would stand for seconds and refuse the restart that `npm start` offers.
// Like any lock judged by its owner's liveness, it trusts that a process id
// is not reused between the owner's death and the next start (if it was, the
// error names the process and the file to remove), and that two nodes do not
// take over the same dead owner's lock in the same instant.

import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Remove LOCK if it is still ours. Safe to call more than once, and from an 'exit' handler. */
  release(): void;
}

export function lockDataDir(dir: string): DataDirLock {
  const file = path.join(dir, 'LOCK');
  const mine = String(process.pid);
  const temp = path.join(dir, `LOCK.${mine}.tmp`);
  writeFileSync(temp, `${mine}\n`);
  try {
    // Two tries: the second after removing a lock whose owner is gone.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temp, file);
        return {
          file,
          release: () => {
            if (ownerOf(file) === mine) rmSync(file, { force: true });
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = ownerOf(file);
      if (owner !== null && isRunning(Number(owner))) {
        throw new DataDirLockedError(
          `--data-dir: ${dir} is in use by process ${owner} (another node?); stop it first, or remove ${file} if that process is not a node`,
        );
      }
      rmSync(file, { force: true });
    }
    throw new DataDirLockedError(`--data-dir: ${dir}: another process keeps taking ${file}`);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The process id in LOCK, or null if it is gone or holds no id. */
function ownerOf(file: string): string | null {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^[1-9][0-9]*$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    // EPERM: it exists, but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
