// FaultyFs: a WalFs wrapper for crash tests. It passes every call to the real
// file system, and keeps a model of what the disk has made durable:
//
//   - file data is durable up to the length it had at its last fsync;
//   - a created, renamed or removed name is durable after an fsync of its
//     directory.
//
// powerLoss() then does to the real files what a power cut may do: each file
// keeps its durable bytes and a random prefix of the rest (a torn write), and
// a random prefix of the directory changes since the last directory fsync
// survives; the others are undone. A process crash (no power loss) keeps
// everything written, as the page cache survives the process.
//
// A fault is planned at the n-th mutating call (create, write, fsync, close,
// fsyncDir, rename, unlink, truncate):
//   crash-before  the process dies before the call (SimulatedCrash)
//   crash-after   the call completes, then the process dies
//   torn          a write puts only a prefix of its bytes down, then the process dies
//   eio           the call fails with EIO (InjectedIoError) and the process
//                 lives on; a failed fsync may have dropped the unsynced data
//                 (Linux does), which we model by a power loss of that file
//
// The real fsync is never called: the model, not the kernel, decides what
// survives, so these tests run at memory speed.

import * as path from 'node:path';
import { WalFs, realFs } from '../../src/log/wal-fs';
import { SeededRng } from '../../src/time/rng';

export class SimulatedCrash extends Error {
  constructor(at: string) {
    super(`simulated crash at ${at}`);
    this.name = 'SimulatedCrash';
  }
}

export class InjectedIoError extends Error {
  readonly code = 'EIO';
  constructor(at: string) {
    super(`EIO: injected i/o error at ${at}`);
    this.name = 'InjectedIoError';
  }
}

export type FaultKind = 'crash-before' | 'crash-after' | 'torn' | 'eio';
export const FAULT_KINDS: FaultKind[] = ['crash-before', 'crash-after', 'torn', 'eio'];

type DirOp =
  | { kind: 'create'; path: string }
  | { kind: 'rename'; from: string; to: string; overwritten: { data: Buffer; durable: number } | null }
  | { kind: 'unlink'; path: string; data: Buffer; durable: number };

export class FaultyFs implements WalFs {
  /** Mutating calls made so far. */
  ops = 0;
  /** Fault to inject at mutating call number `at` (1-based, counting from creation). */
  plan: { at: number; kind: FaultKind } | null = null;
  /** Every mutating call, for tests that want to see where faults landed. */
  readonly trace: string[] = [];
  traceOn = false;
  /** For showing the checks can fail: fsync and directory fsync make nothing durable. */
  fsyncLies = false;
  /** The process is dead (a crash happened): every call throws until revive(). */
  dead = false;
  private readonly durable = new Map<string, number>();
  private pendingDir: DirOp[] = [];
  private readonly fdPath = new Map<number, string>();

  constructor(
    private readonly rng: SeededRng,
    private readonly inner: WalFs = realFs,
  ) {}

  // ---- Fault control ----------------------------------------------------------

  /** Plan a fault `inOps` mutating calls from now. */
  planIn(inOps: number, kind: FaultKind): void {
    this.plan = { at: this.ops + inOps, kind };
  }

  /**
   * The machine lost power: unsynced data and directory changes are lost in
   * part (random, from the seed). Closes every open descriptor.
   */
  powerLoss(): void {
    this.closeAll();
    // Directory changes: a prefix survives, the rest is undone, newest first.
    const keep = this.rng.int(0, this.pendingDir.length + 1);
    const undo = this.pendingDir.slice(keep).reverse();
    this.pendingDir = [];
    for (const op of undo) this.undoDirOp(op);
    // File data: the durable part and a random prefix of the rest.
    for (const [p, durable] of this.durable) {
      if (!this.inner.exists(p)) {
        this.durable.delete(p);
        continue;
      }
      const size = this.inner.readFile(p).length;
      if (size > durable) {
        const keepBytes = durable + this.rng.int(0, size - durable + 1);
        this.inner.truncate(p, keepBytes);
      }
      this.durable.set(p, Math.min(durable, size));
    }
  }

  /** The process died; the machine did not: everything written stays. */
  processCrash(): void {
    this.closeAll();
  }

  /** A new process starts on this disk: no fault planned, calls work again. */
  revive(): void {
    this.dead = false;
    this.plan = null;
  }

  private closeAll(): void {
    for (const fd of this.fdPath.keys()) {
      try {
        this.inner.close(fd);
      } catch {
        // already closed
      }
    }
    this.fdPath.clear();
  }

  private undoDirOp(op: DirOp): void {
    switch (op.kind) {
      case 'create':
        if (this.inner.exists(op.path)) this.inner.unlink(op.path);
        this.durable.delete(op.path);
        break;
      case 'rename': {
        if (this.inner.exists(op.to)) {
          const data = this.inner.readFile(op.to);
          this.inner.unlink(op.to);
          this.restore(op.from, data, this.durable.get(op.to) ?? 0);
          this.durable.delete(op.to);
        }
        if (op.overwritten) this.restore(op.to, op.overwritten.data, op.overwritten.durable);
        break;
      }
      case 'unlink':
        this.restore(op.path, op.data, op.durable);
        break;
    }
  }

  private restore(p: string, data: Buffer, durable: number): void {
    if (this.inner.exists(p)) this.inner.unlink(p);
    const fd = this.inner.create(p);
    this.inner.write(fd, data);
    this.inner.close(fd);
    this.durable.set(p, Math.min(durable, data.length));
  }

  /** Count a mutating call and apply the planned fault, if it is this one. */
  private step(what: string, perform: () => void, tornWrite?: (bytes: number) => void, size = 0): void {
    if (this.dead) throw new SimulatedCrash(`${what} after the crash`);
    this.ops++;
    if (this.traceOn) this.trace.push(`${this.ops} ${what}`);
    const plan = this.plan;
    if (plan === null || plan.at !== this.ops) {
      perform();
      return;
    }
    this.plan = null;
    switch (plan.kind) {
      case 'crash-before':
        this.dead = true;
        throw new SimulatedCrash(`before ${what}`);
      case 'crash-after':
        perform();
        this.dead = true;
        throw new SimulatedCrash(`after ${what}`);
      case 'torn':
        if (tornWrite && size > 1) tornWrite(this.rng.int(1, size));
        this.dead = true;
        throw new SimulatedCrash(`torn ${what}`);
      case 'eio':
        if (tornWrite && size > 1 && this.rng.chance(0.5)) tornWrite(this.rng.int(1, size)); // a short write, then the error
        throw new InjectedIoError(what);
    }
  }

  // ---- WalFs ----------------------------------------------------------------------

  readdir(dir: string): string[] {
    this.alive();
    return this.inner.readdir(dir);
  }
  exists(p: string): boolean {
    this.alive();
    return this.inner.exists(p);
  }
  readFile(p: string): Buffer {
    this.alive();
    return this.inner.readFile(p);
  }
  mkdir(dir: string): void {
    this.alive();
    this.inner.mkdir(dir); // treated as durable: tests make the parent directory
  }

  create(p: string): number {
    let fd = -1;
    this.step(`create ${path.basename(p)}`, () => {
      fd = this.inner.create(p);
      this.fdPath.set(fd, p);
      this.durable.set(p, 0);
      this.pendingDir.push({ kind: 'create', path: p });
    });
    return fd;
  }

  openAppend(p: string): number {
    this.alive();
    const fd = this.inner.openAppend(p);
    this.fdPath.set(fd, p);
    if (!this.durable.has(p)) this.durable.set(p, this.inner.readFile(p).length);
    return fd;
  }

  write(fd: number, data: Uint8Array): void {
    const p = this.fdPath.get(fd) ?? '?';
    this.step(
      `write ${data.length} bytes to ${path.basename(p)}`,
      () => this.inner.write(fd, data),
      (bytes) => this.inner.write(fd, data.subarray(0, bytes)),
      data.length,
    );
  }

  fsync(fd: number): void {
    const p = this.fdPath.get(fd) ?? '?';
    const sync = () => {
      if (!this.fsyncLies) this.durable.set(p, this.inner.readFile(p).length);
    };
    try {
      this.step(`fsync ${path.basename(p)}`, sync);
    } catch (e) {
      if (e instanceof InjectedIoError) this.loseUnsynced(p);
      throw e;
    }
  }

  /** After a failed fsync the kernel may have dropped the file's dirty pages. */
  private loseUnsynced(p: string): void {
    if (!this.inner.exists(p)) return;
    const size = this.inner.readFile(p).length;
    const durable = this.durable.get(p) ?? 0;
    if (size > durable) this.inner.truncate(p, durable + this.rng.int(0, size - durable + 1));
  }

  /** The asynchronous fsync of the real node's write path: the same model, one turn later. */
  fsyncAsync(fd: number): Promise<void> {
    return Promise.resolve().then(() => this.fsync(fd));
  }

  close(fd: number): void {
    this.step(`close`, () => {
      this.inner.close(fd);
      this.fdPath.delete(fd);
    });
  }

  fsyncDir(dir: string): void {
    this.step(`fsync dir`, () => {
      if (!this.fsyncLies) this.pendingDir = this.pendingDir.filter((op) => path.dirname(opPath(op)) !== path.resolve(dir));
    });
  }

  rename(from: string, to: string): void {
    this.step(`rename ${path.basename(from)} -> ${path.basename(to)}`, () => {
      const overwritten = this.inner.exists(to) ? { data: this.inner.readFile(to), durable: this.durable.get(to) ?? 0 } : null;
      this.inner.rename(from, to);
      this.durable.set(to, this.durable.get(from) ?? 0);
      this.durable.delete(from);
      for (const [fd, p] of this.fdPath) if (p === from) this.fdPath.set(fd, to);
      this.pendingDir.push({ kind: 'rename', from, to, overwritten });
    });
  }

  unlink(p: string): void {
    this.step(`unlink ${path.basename(p)}`, () => {
      const data = this.inner.readFile(p);
      const durable = this.durable.get(p) ?? data.length;
      this.inner.unlink(p);
      this.durable.delete(p);
      this.pendingDir.push({ kind: 'unlink', path: p, data, durable });
    });
  }

  truncate(p: string, length: number): void {
    this.step(`truncate ${path.basename(p)} to ${length}`, () => {
      this.inner.truncate(p, length);
      // Shrinking is treated as durable at once (recovery fsyncs it next anyway).
      this.durable.set(p, Math.min(this.durable.get(p) ?? length, length));
    });
  }

  private alive(): void {
    if (this.dead) throw new SimulatedCrash('a read after the crash');
  }
}

function opPath(op: DirOp): string {
  return op.kind === 'rename' ? op.to : op.path;
}
