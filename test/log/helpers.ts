// Helpers for the storage tests: temp directories that are always removed,
// a byte-for-byte picture of a directory, and a WalFs that counts calls.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32 } from '../../src/log/crc32';
import { Storage } from '../../src/log/storage';
import { LogEntry } from '../../src/log/types';
import { realFs, WalFs } from '../../src/log/wal-fs';

/** A fresh temp directory; removeTempDirs() (call it in afterEach) removes them all. */
const made: string[] = [];
export function tempDir(prefix = 'simpleraft-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}
export function removeTempDirs(): void {
  while (made.length > 0) fs.rmSync(made.pop()!, { recursive: true, force: true });
}

/** Every file of a directory with its bytes, to show nothing was modified. */
export function dirPicture(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of fs.readdirSync(dir).sort()) out.set(name, fs.readFileSync(path.join(dir, name)));
  return out;
}

export function samePicture(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

/** A WalFs that counts the calls made through it. */
export class CountingFs implements WalFs {
  counts: Record<string, number> = {};
  constructor(private readonly inner: WalFs = realFs) {}
  private n(k: string): void {
    this.counts[k] = (this.counts[k] ?? 0) + 1;
  }
  reset(): void {
    this.counts = {};
  }
  readdir(d: string) { this.n('readdir'); return this.inner.readdir(d); }
  exists(p: string) { this.n('exists'); return this.inner.exists(p); }
  readFile(p: string) { this.n('readFile'); return this.inner.readFile(p); }
  mkdir(d: string) { this.n('mkdir'); this.inner.mkdir(d); }
  create(p: string) { this.n('create'); return this.inner.create(p); }
  openAppend(p: string) { this.n('openAppend'); return this.inner.openAppend(p); }
  write(fd: number, d: Uint8Array) { this.n('write'); this.inner.write(fd, d); }
  fsync(fd: number) { this.n('fsync'); this.inner.fsync(fd); }
  close(fd: number) { this.n('close'); this.inner.close(fd); }
  fsyncDir(d: string) { this.n('fsyncDir'); this.inner.fsyncDir(d); }
  rename(a: string, b: string) { this.n('rename'); this.inner.rename(a, b); }
  unlink(p: string) { this.n('unlink'); this.inner.unlink(p); }
  truncate(p: string, l: number) { this.n('truncate'); this.inner.truncate(p, l); }
}

/** Everything a Storage shows, in one comparable value. */
export function storageState(s: Storage): {
  hardState: ReturnType<Storage['hardState']>;
  firstIndex: number;
  lastIndex: number;
  baseTerm: number;
  entries: LogEntry[];
  snapshot: { index: number; term: number; data: string } | null;
} {
  const snap = s.snapshot();
  return {
    hardState: s.hardState(),
    firstIndex: s.firstIndex(),
    lastIndex: s.lastIndex(),
    baseTerm: s.term(s.firstIndex() - 1),
    entries: s.entries(s.firstIndex(), s.lastIndex() + 1),
    snapshot: snap ? { index: snap.index, term: snap.term, data: Buffer.from(snap.data).toString('base64') } : null,
  };
}

export function entries(from: number, to: number, term: number, tag = 'v'): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, value: { [tag]: i } });
  return out;
}

/**
 * Append a hard state record to the last WAL segment of `dir` as a version
 * before the bound on terms (issue 18) could write it: framed like any
 * record, without the check encodeHardState makes now.
 */
export function appendUncheckedHardState(dir: string, hs: { currentTerm: number; votedFor: string | null; commitIndex: number }): void {
  const last = fs.readdirSync(dir).filter((n) => n.startsWith('wal-')).sort().pop()!;
  const body = Buffer.concat([Buffer.from([2]), Buffer.from(JSON.stringify(hs))]);
  const header = Buffer.alloc(12);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE((body.length ^ 0xffffffff) >>> 0, 4);
  header.writeUInt32LE(crc32(body), 8);
  fs.appendFileSync(path.join(dir, last), Buffer.concat([header, body]));
}
