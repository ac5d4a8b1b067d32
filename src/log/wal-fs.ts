// The file-system calls FileStorage makes, and nothing else, behind one small
// interface: so a test can put a wrapper in between that fails a write,
// tears it, or "loses power" and throws away what was never synced
// (test/log/faulty-fs.ts). All calls are synchronous: the driver persists a
// Ready before it sends anything, so there is nothing to overlap them with.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WalFs {
  /** Names (not paths) of the entries of `dir`. */
  readdir(dir: string): string[];
  exists(p: string): boolean;
  readFile(p: string): Buffer;
  /** Create `dir` (and missing parents). */
  mkdir(dir: string): void;
  /** Create a new file (it must not exist) and open it for writing. */
  create(p: string): number;
  /** Open an existing file for appending. */
  openAppend(p: string): number;
  /** Write all of `data` at the end of the file. */
  write(fd: number, data: Uint8Array): void;
  /** Make the file's data and size durable. */
  fsync(fd: number): void;
  /** fsync on libuv's thread pool, so the event loop keeps running meanwhile (optional). */
  fsyncAsync?(fd: number): Promise<void>;
  close(fd: number): void;
  /** Make the directory's entries (created, renamed, removed files) durable. */
  fsyncDir(dir: string): void;
  rename(from: string, to: string): void;
  unlink(p: string): void;
  truncate(p: string, length: number): void;
}

/** The real thing: node:fs, synchronous. */
export const realFs: WalFs = {
  readdir: (dir) => fs.readdirSync(dir),
  exists: (p) => fs.existsSync(p),
  readFile: (p) => fs.readFileSync(p),
  mkdir: (dir) => {
    fs.mkdirSync(dir, { recursive: true });
  },
  create: (p) => fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_APPEND, 0o644),
  openAppend: (p) => fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_APPEND),
  write: (fd, data) => {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
  },
  fsync: (fd) => fs.fsyncSync(fd),
  fsyncAsync: (fd) => new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve()))),
  close: (fd) => fs.closeSync(fd),
  fsyncDir: (dir) => {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (p) => fs.unlinkSync(p),
  truncate: (p, length) => fs.truncateSync(p, length),
};

/** Write `data` to `file` atomically: temp file, fsync, rename, fsync the directory. */
export function writeFileAtomic(wfs: WalFs, file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp`;
  if (wfs.exists(tmp)) wfs.unlink(tmp);
  const fd = wfs.create(tmp);
  try {
    wfs.write(fd, data);
    wfs.fsync(fd);
  } finally {
    wfs.close(fd);
  }
  wfs.rename(tmp, file);
  wfs.fsyncDir(path.dirname(file));
}
