// FileStorage: the Storage a real node keeps in its data directory, a
// write-ahead log (WAL) of records in segment files plus snapshot files.
// Figure 2: currentTerm, votedFor and log[] are "updated on stable storage
// before responding to RPCs"; save() returns only once they are.
//
// Layout (docs/storage.md has the details and the record format, wal.ts the
// code):
//
//   <dir>/meta.json                  who owns the directory: format, version,
//                                    cluster id, node name
//   <dir>/wal-<seq:16 hex>.log       WAL segments, append-only; a new one is
//                                    started once the current one passes
//                                    segmentBytes
//   <dir>/snap-<index>-<term>.snap   the latest snapshot (§7); written to a
//                                    .tmp file, fsynced, renamed
//
// Reads are served from an in-memory mirror (a MemoryStorage) of what the
// files hold, as etcd raft serves them from its MemoryStorage in front of its
// WAL; compaction (§7) keeps that mirror, and the files, bounded.
//
// Durability: each save() writes its records with one write() and makes them
// durable with one fsync(); a file created or renamed is followed by an
// fsync of the directory. A failed write or fsync leaves the storage unusable
// (every later call throws): after an fsync error the page cache may have
// dropped the data, so the only safe way on is a restart that reads the disk.
//
// Recovery (open): read and check everything first; only if all of it is
// sound, repair (cut a torn tail, remove leftover temp files and superseded
// snapshots). A checksum failure anywhere but a torn tail throws
// StorageCorruptionError naming the file and offset, with nothing modified.

import * as path from 'node:path';
import { NodeId } from '../messages';
import { MemoryStorage, Storage } from './storage';
import { EMPTY_HARD_STATE, HardState, LogEntry, PersistBatch, Snapshot } from './types';
import {
  DataDirMismatchError,
  decodeSnapshotFile,
  encodeEntry,
  encodeHardState,
  encodeSegmentHeader,
  encodeSnapshotFile,
  encodeSnapshotMarker,
  FORMAT,
  FORMAT_VERSION,
  META_FILE,
  parseSegmentName,
  parseSnapshotName,
  RecordType,
  scanSegment,
  segmentName,
  snapshotName,
  StorageCorruptionError,
  TornTail,
  WalRecord,
} from './wal';
import { realFs, WalFs, writeFileAtomic } from './wal-fs';

export { DataDirMismatchError, OutOfRangeDataError, StorageCorruptionError, UnwritableValueError } from './wal';
export type { TornTail } from './wal';

export interface FileStorageOptions {
  /** The data directory; created if missing. */
  dir: string;
  /** The cluster this node belongs to; a directory of another cluster is refused. */
  clusterId: string;
  /** This node's name; a directory of another node is refused. */
  node: NodeId;
  /** Start a new segment once the current one is this large (default 64 MiB). */
  segmentBytes?: number;
  /** The file system (tests wrap it to inject faults). */
  fs?: WalFs;
  /** Recovery reports what it repaired here (a torn tail, leftover files). */
  log?: (line: string) => void;
}

/** What open() found and repaired. */
export interface RecoveryReport {
  /** The directory was empty: a new node. */
  created: boolean;
  segments: number;
  records: number;
  /** Index of the snapshot loaded (0: none). */
  snapshotIndex: number;
  /** Entries in the log after the snapshot. */
  entries: number;
  /** A record cut short by a crash at the end of the last segment, truncated away. */
  tornTail: TornTail | null;
  /**
   * A snapshot from the leader was saved but the crash came before its WAL
   * record: Figure 13 receiver 7 was applied again (log discarded).
   */
  reappliedSnapshot: boolean;
  /** Leftover files removed: temp files of interrupted writes, superseded snapshots. */
  removed: string[];
}

/** A write failed earlier; the storage refuses all further writes until reopened. */
export class StorageFailedError extends Error {
  constructor(cause: unknown) {
    super(`storage failed earlier and must be reopened: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StorageFailedError';
  }
}

interface Segment {
  seq: number;
  name: string;
  /** Highest entry index any record in it holds (0: none): it may go once a snapshot covers this. */
  maxIndex: number;
  size: number;
}

interface Meta {
  format: string;
  version: number;
  clusterId: string;
  node: string;
}

export class FileStorage implements Storage {
  readonly dir: string;
  readonly recovery: RecoveryReport;
  private readonly fs: WalFs;
  private readonly clusterId: string;
  private readonly node: string;
  private readonly segmentBytes: number;
  private readonly mem: MemoryStorage;
  private readonly segments: Segment[];
  private fd: number | null = null;
  private failed: unknown = null;
  private closed = false;

  /** Open (create or recover) the data directory. Throws on corruption or a foreign directory. */
  static open(options: FileStorageOptions): FileStorage {
    return new FileStorage(options);
  }

  private constructor(o: FileStorageOptions) {
    this.dir = path.resolve(o.dir);
    this.fs = o.fs ?? realFs;
    this.clusterId = o.clusterId;
    this.node = String(o.node);
    this.segmentBytes = o.segmentBytes ?? 64 * 1024 * 1024;
    if (!(this.segmentBytes > 0)) throw new Error('segmentBytes must be positive');
    const log = o.log ?? (() => {});

    // ---- 1. Read and check everything; modify nothing. -----------------------
    const fresh = !this.fs.exists(this.dir);
    const names = fresh ? [] : this.fs.readdir(this.dir);
    const segs: { seq: number; name: string }[] = [];
    const snaps: { index: number; term: number; name: string }[] = [];
    const temps: string[] = [];
    for (const name of names) {
      const seq = parseSegmentName(name);
      const snap = parseSnapshotName(name);
      if (seq !== null) segs.push({ seq, name });
      else if (snap !== null) snaps.push({ ...snap, name });
      else if (name.endsWith('.tmp')) temps.push(name);
    }
    segs.sort((a, b) => a.seq - b.seq);
    snaps.sort((a, b) => b.index - a.index);

    const hasMeta = names.includes(META_FILE);
    if (hasMeta) this.checkMeta();
    else if (segs.length > 0 || snaps.length > 0) {
      throw new StorageCorruptionError(this.file(META_FILE), 0, `missing, but the directory holds ${segs.length} WAL segment(s) and ${snaps.length} snapshot(s)`);
    }

    // The latest snapshot: checked in full. Older ones are leftovers of a
    // crash between writing a new one and removing the old.
    let snapshot: Snapshot | null = null;
    if (snaps.length > 0) {
      const s = snaps[0];
      snapshot = { index: s.index, term: s.term, data: decodeSnapshotFile(this.fs.readFile(this.file(s.name)), this.file(s.name), s) };
    }

    for (let i = 1; i < segs.length; i++) {
      if (segs[i].seq !== segs[i - 1].seq + 1) {
        throw new StorageCorruptionError(this.file(segmentName(segs[i - 1].seq + 1)), 0, `missing: segments jump from ${segs[i - 1].seq} to ${segs[i].seq}`);
      }
    }

    // Replay. The log is `base` (index, term; term unknown when the first
    // kept segment starts mid-log after older segments were compacted
    // away) followed by `ents`.
    let hs: HardState = { ...EMPTY_HARD_STATE };
    let hsAt: { file: string; offset: number } | null = null;
    let baseIndex: number | null = null;
    let baseTerm: number | null = null;
    let ents: { index: number; term: number; value: () => unknown }[] = [];
    let records = 0;
    let tornTail: TornTail | null = null;
    const holds = (index: number, term: number): boolean => {
      if (baseIndex === null) return false;
      if (index === baseIndex) return baseTerm === term;
      const e = ents[index - baseIndex - 1];
      return e !== undefined && e.term === term;
    };
    const segments: Segment[] = [];
    // The last segment's records, if a crash cut short its first write
    // (header and hard state): it is rewritten whole before use (below).
    let rewriteLast: WalRecord[] | null = null;
    for (let k = 0; k < segs.length; k++) {
      const file = this.file(segs[k].name);
      const buf = this.fs.readFile(file);
      const isLast = k === segs.length - 1;
      const scan = scanSegment(buf, file, isLast);
      // Every segment starts with its header and the hard state of its
      // time, so a segment deleted by compaction never takes the only copy
      // of currentTerm and votedFor with it.
      const r0 = scan.records[0]?.record.type;
      const r1 = scan.records[1]?.record.type;
      if (r0 !== RecordType.SegmentHeader || r1 !== RecordType.HardState) {
        if (!isLast) throw new StorageCorruptionError(file, 0, 'segment does not start with its header and a hard state record');
        rewriteLast = scan.records.map((r) => r.record);
      }
      let maxIndex = 0;
      for (const { record: r, offset } of scan.records) {
        records++;
        switch (r.type) {
          case RecordType.SegmentHeader:
            if (offset !== 0 || r.seq !== segs[k].seq || r.clusterId !== this.clusterId || r.node !== this.node) {
              throw new StorageCorruptionError(file, offset, `segment header says segment ${r.seq} of node ${r.node} in cluster ${r.clusterId}`);
            }
            break;
          case RecordType.HardState:
            hs = r.hardState;
            hsAt = { file, offset };
            break;
          case RecordType.Entry: {
            const e = r;
            maxIndex = Math.max(maxIndex, e.index);
            if (baseIndex === null || (baseTerm === null && e.index <= baseIndex)) {
              // The first entry we see, or a §5.3 rewrite reaching below it
              // into segments compaction removed: the log is known from here.
              baseIndex = e.index - 1;
              baseTerm = null;
              ents = [];
            }
            if (e.index <= baseIndex || e.index > baseIndex + ents.length + 1) {
              throw new StorageCorruptionError(file, offset, `entry ${e.index} does not follow the log (${baseIndex + 1}..${baseIndex + ents.length})`);
            }
            ents.length = e.index - baseIndex - 1;
            ents.push(e);
            break;
          }
          case RecordType.Snapshot:
            // Figure 13 receivers 6-7, as they were applied when it was written.
            if (holds(r.index, r.term)) ents = ents.slice(r.index - baseIndex!);
            else ents = [];
            baseIndex = r.index;
            baseTerm = r.term;
            break;
        }
      }
      if (k === segs.length - 1) tornTail = scan.torn;
      segments.push({ seq: segs[k].seq, name: segs[k].name, maxIndex, size: scan.torn ? scan.torn.offset : buf.length });
    }

    // Restart = latest snapshot + remaining log (§7).
    let reappliedSnapshot = false;
    if (snapshot) {
      if (baseIndex === null) {
        baseIndex = snapshot.index;
        baseTerm = snapshot.term;
      } else if (holds(snapshot.index, snapshot.term) || (baseIndex === snapshot.index && baseTerm === null)) {
        ents = ents.slice(snapshot.index - baseIndex);
      } else if (baseIndex > snapshot.index) {
        throw new StorageCorruptionError(this.file(segs[0].name), 0, `the log starts after ${baseIndex} but the latest snapshot covers only up to ${snapshot.index}`);
      } else {
        // The snapshot was saved, its WAL record was not: a snapshot from
        // the leader that did not match our log. Receiver 7 again.
        ents = [];
        reappliedSnapshot = true;
      }
      baseIndex = snapshot.index;
      baseTerm = snapshot.term;
    } else if (baseIndex !== null && baseIndex !== 0) {
      const at = segs.length > 0 ? this.file(segs[0].name) : this.dir;
      throw new StorageCorruptionError(at, 0, `the log starts at ${baseIndex + 1} and there is no snapshot before it`);
    }
    // Parse the values of the entries we keep (a bad one is corruption, found
    // before anything is modified).
    const kept: LogEntry[] = ents.map((e) => ({ index: e.index, term: e.term, value: e.value() }));
    const lastIndex = (baseIndex ?? 0) + ents.length;
    if (hs.commitIndex > lastIndex && hsAt) {
      throw new StorageCorruptionError(hsAt.file, hsAt.offset, `hard state commits ${hs.commitIndex} but the log ends at ${lastIndex}`);
    }

    // ---- 2. Everything is sound: repair, then open for writing. -----------------
    const removed: string[] = [];
    if (fresh) {
      this.fs.mkdir(this.dir);
      this.fs.fsyncDir(path.dirname(this.dir));
    }
    for (const t of temps) {
      this.fs.unlink(this.file(t));
      removed.push(t);
    }
    if (!hasMeta) {
      const meta: Meta = { format: FORMAT, version: FORMAT_VERSION, clusterId: this.clusterId, node: this.node };
      writeFileAtomic(this.fs, this.file(META_FILE), Buffer.from(JSON.stringify(meta) + '\n'));
    }
    if (tornTail && !rewriteLast) {
      this.fs.truncate(tornTail.file, tornTail.offset);
      const fd = this.fs.openAppend(tornTail.file);
      try {
        this.fs.fsync(fd);
      } finally {
        this.fs.close(fd);
      }
    }
    if (tornTail) {
      log(`wal: truncated a torn record at the end of ${tornTail.file}: offset ${tornTail.offset}, ${tornTail.droppedBytes} bytes dropped (${tornTail.reason})`);
    }
    if (rewriteLast) {
      // The crash came during the write that created the last segment:
      // write it again, whole, with header and the recovered hard state
      // first, then its log records (replay gives the same log).
      const last = segments[segments.length - 1];
      const parts = [encodeSegmentHeader(last.seq, this.clusterId, this.node), encodeHardState(hs)];
      for (const r of rewriteLast) {
        if (r.type === RecordType.Entry) parts.push(encodeEntry({ index: r.index, term: r.term, value: r.value() }));
        else if (r.type === RecordType.Snapshot) parts.push(encodeSnapshotMarker(r.index, r.term));
      }
      const buf = Buffer.concat(parts);
      writeFileAtomic(this.fs, this.file(last.name), buf);
      last.size = buf.length;
      log(`wal: rewrote ${last.name}, whose first write was cut short`);
    }
    for (const s of snaps.slice(1)) {
      this.fs.unlink(this.file(s.name));
      removed.push(s.name);
    }
    if (removed.length > 0) {
      this.fs.fsyncDir(this.dir);
      log(`wal: removed leftover files ${removed.join(', ')}`);
    }
    if (reappliedSnapshot) log(`wal: snapshot at ${snapshot!.index} was saved without its log record; discarded the log before it (§7)`);

    this.mem = new MemoryStorage();
    if (snapshot) this.mem.applySnapshot(snapshot);
    this.mem.append(kept);
    this.mem.setHardState(hs);
    this.segments = segments;
    if (segments.length === 0) this.startSegment([], 1);
    else {
      this.fd = this.fs.openAppend(this.file(segments[segments.length - 1].name));
      // What we recovered may have been written and never synced (the last
      // process died before its fsync, the machine did not). We are about to
      // act on it (vote, acknowledge entries), so make it durable first: the
      // tail of the last segment, and every name in the directory.
      this.fs.fsync(this.fd);
      this.fs.fsyncDir(this.dir);
    }
    // What receiver 7 discarded again must stay discarded on the next replay:
    // write the snapshot's record that the crash kept from being written.
    if (reappliedSnapshot) this.writeRecords([encodeSnapshotMarker(snapshot!.index, snapshot!.term)], 0);

    this.recovery = {
      created: !hasMeta,
      segments: segs.length,
      records,
      snapshotIndex: snapshot?.index ?? 0,
      entries: ents.length,
      tornTail,
      reappliedSnapshot,
      removed,
    };
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private checkMeta(): void {
    const file = this.file(META_FILE);
    let meta: Meta;
    try {
      meta = JSON.parse(this.fs.readFile(file).toString('utf8')) as Meta;
    } catch (e) {
      throw new StorageCorruptionError(file, 0, `not valid JSON: ${(e as Error).message}`);
    }
    if (meta === null || typeof meta !== 'object' || meta.format !== FORMAT || typeof meta.clusterId !== 'string' || typeof meta.node !== 'string') {
      throw new StorageCorruptionError(file, 0, `not a ${FORMAT} identity file`);
    }
    if (meta.version !== FORMAT_VERSION) {
      throw new StorageCorruptionError(file, 0, `format version ${meta.version}; this build reads version ${FORMAT_VERSION}`);
    }
    if (meta.clusterId !== this.clusterId || meta.node !== this.node) {
      throw new DataDirMismatchError(this.dir, { clusterId: this.clusterId, node: this.node }, { clusterId: meta.clusterId, node: meta.node });
    }
  }

  // ---- Reads: from memory ------------------------------------------------------

  hardState(): HardState {
    return this.mem.hardState();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  entries(lo: number, hi: number): LogEntry[] {
    return this.mem.entries(lo, hi);
  }
  snapshot(): Snapshot | null {
    return this.mem.snapshot();
  }

  // ---- Writes ---------------------------------------------------------------------

  setHardState(hs: HardState): void {
    this.save({ hardState: hs, entries: [], snapshot: null });
  }

  append(entries: LogEntry[]): void {
    this.save({ hardState: null, entries, snapshot: null });
  }

  applySnapshot(snapshot: Snapshot): void {
    this.save({ hardState: null, entries: [], snapshot });
  }

  /**
   * One Ready's batch, durable when this returns. A snapshot from the leader
   * first goes to its own file (atomically), then one write carries its WAL
   * record, the entries and the hard state, and one fsync makes them durable.
   */
  save(batch: PersistBatch): void {
    this.usable();
    const { hardState, entries, snapshot } = batch;
    // Check first, so a bad call cannot leave half a batch on disk.
    const snapIndex = snapshot ? snapshot.index : this.mem.firstIndex() - 1;
    const last = snapshot ? snapshot.index : this.mem.lastIndex();
    if (snapshot && snapshot.index <= this.mem.firstIndex() - 1) {
      throw new RangeError(`snapshot at ${snapshot.index} is not newer than ours at ${this.mem.firstIndex() - 1}`);
    }
    if (entries.length > 0 && (entries[0].index <= snapIndex || entries[0].index > last + 1)) {
      throw new RangeError(`append at ${entries[0].index} outside [${snapIndex + 1}, ${last + 1}]`);
    }
    if (!snapshot && entries.length === 0 && !hardState) return;

    // Encoding refuses what we could not read back (UnwritableValueError),
    // before anything of the batch is written.
    const parts: Buffer[] = [];
    let maxIndex = 0;
    if (snapshot) parts.push(encodeSnapshotMarker(snapshot.index, snapshot.term));
    for (const e of entries) {
      parts.push(encodeEntry(e));
      maxIndex = Math.max(maxIndex, e.index);
    }
    if (hardState) parts.push(encodeHardState(hardState));
    this.guard(() => {
      // §7, Figure 13 receiver 5: "Save snapshot file".
      if (snapshot) this.writeSnapshotFile(snapshot);
      if (parts.length > 0) this.writeRecords(parts, maxIndex);
    });
    this.mem.save(batch);
    if (snapshot) this.guard(() => this.purge());
  }

  /**
   * save() with the fsync on libuv's thread pool: a follower keeps taking
   * AppendEntries and a leader keeps taking proposals while the disk works,
   * and they all go into the next batch (group commit). A snapshot or a
   * segment rotation (rare) takes the synchronous path.
   */
  async saveAsync(batch: PersistBatch): Promise<void> {
    const cur = this.segments[this.segments.length - 1];
    if (batch.snapshot || cur.size >= this.segmentBytes || !this.fs.fsyncAsync) {
      this.save(batch);
      return;
    }
    this.usable();
    const { hardState, entries } = batch;
    const last = this.mem.lastIndex();
    if (entries.length > 0 && (entries[0].index < this.mem.firstIndex() || entries[0].index > last + 1)) {
      throw new RangeError(`append at ${entries[0].index} outside [${this.mem.firstIndex()}, ${last + 1}]`);
    }
    if (entries.length === 0 && !hardState) return;
    const parts: Buffer[] = [];
    let maxIndex = 0;
    for (const e of entries) {
      parts.push(encodeEntry(e));
      maxIndex = Math.max(maxIndex, e.index);
    }
    if (hardState) parts.push(encodeHardState(hardState));
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    const fd = this.fd!;
    // Only commitIndex moved: nothing here was promised to anyone, and a
    // commitIndex lost in a crash is learned again from the leader (a
    // snapshot still counts as committed: RaftLog's constructor). So it is
    // written, not waited for (etcd raft's MustSync makes the same call).
    const mustSync = entries.length > 0 || !hardState || !sameVote(hardState, this.mem.hardState());
    this.guard(() => this.fs.write(fd, buf));
    cur.size += buf.length;
    cur.maxIndex = Math.max(cur.maxIndex, maxIndex);
    this.mem.save(batch);
    if (!mustSync) return;
    try {
      await this.fs.fsyncAsync(fd);
    } catch (e) {
      this.failed = e;
      throw new StorageFailedError(e);
    }
  }

  /**
   * §7 log compaction: save the state machine's state after entry `index` as
   * the snapshot, then discard the log prefix and WAL segments it covers.
   */
  createSnapshot(index: number, data: Uint8Array): Snapshot {
    this.usable();
    if (index < this.mem.firstIndex() || index > this.mem.lastIndex()) {
      throw new RangeError(`snapshot at ${index} outside [${this.mem.firstIndex()}, ${this.mem.lastIndex()}]`);
    }
    const snapshot: Snapshot = { index, term: this.mem.term(index), data };
    this.guard(() => this.writeSnapshotFile(snapshot));
    this.mem.compactTo(snapshot);
    this.guard(() => this.purge());
    return snapshot;
  }

  /** Close the current segment. The storage cannot be used afterwards. */
  close(): void {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      this.fs.close(fd);
    }
    this.closed = true;
  }

  /** Segment files currently in use (for tests and status pages). */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  // ---- Internals ---------------------------------------------------------------------

  private usable(): void {
    if (this.closed) throw new Error('storage is closed');
    if (this.failed !== null) throw new StorageFailedError(this.failed);
  }

  /** Run a write; if it fails, the storage is failed for good (see the top of the file). */
  private guard(write: () => void): void {
    try {
      write();
    } catch (e) {
      this.failed = e;
      throw e;
    }
  }

  private writeRecords(parts: Buffer[], maxIndex: number): void {
    const cur = this.segments[this.segments.length - 1];
    if (cur.size >= this.segmentBytes) {
      // Rotate: the new segment starts with its header and the hard state as
      // of now, so older segments can be deleted once a snapshot covers them.
      this.startSegment(parts, cur.seq + 1, maxIndex);
      return;
    }
    const buf = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.fs.write(this.fd!, buf);
    this.fs.fsync(this.fd!);
    cur.size += buf.length;
    cur.maxIndex = Math.max(cur.maxIndex, maxIndex);
  }

  /** Create segment `seq` holding a header, the current hard state, then `parts`; one fsync, then the directory's. */
  private startSegment(parts: Buffer[], seq: number, maxIndex = 0): void {
    const name = segmentName(seq);
    const buf = Buffer.concat([encodeSegmentHeader(seq, this.clusterId, this.node), encodeHardState(this.mem.hardState())].concat(parts));
    const fd = this.fs.create(this.file(name));
    if (this.fd !== null) {
      // The old segment may end in records written without an fsync
      // (saveAsync's commitIndex-only batches): make it whole before it stops
      // being the last segment, where only a torn tail is forgiven.
      this.fs.fsync(this.fd);
      this.fs.close(this.fd);
    }
    this.fd = fd;
    this.segments.push({ seq, name, maxIndex, size: 0 });
    this.fs.write(fd, buf);
    this.fs.fsync(fd);
    this.fs.fsyncDir(this.dir);
    this.segments[this.segments.length - 1].size = buf.length;
  }

  /** Atomically: temp file, fsync, rename, fsync the directory. */
  private writeSnapshotFile(s: Snapshot): void {
    writeFileAtomic(this.fs, this.file(snapshotName(s.index, s.term)), encodeSnapshotFile(s.index, s.term, s.data));
  }

  /**
   * Remove what the latest snapshot made unnecessary: older snapshot files,
   * and WAL segments (oldest first, never the current one) whose entries it
   * all covers. Each segment starts with the hard state of its time, so the
   * segments that stay still hold the latest one.
   */
  private purge(): void {
    const snapIndex = this.mem.firstIndex() - 1;
    let changed = false;
    for (const name of this.fs.readdir(this.dir)) {
      const s = parseSnapshotName(name);
      if (s && s.index < snapIndex) {
        this.fs.unlink(this.file(name));
        changed = true;
      }
    }
    while (this.segments.length > 1 && this.segments[0].maxIndex <= snapIndex) {
      this.fs.unlink(this.file(this.segments[0].name));
      this.segments.shift();
      changed = true;
    }
    if (changed) this.fs.fsyncDir(this.dir);
  }
}

/** Same term and vote: the hard state differs at most in commitIndex. */
function sameVote(a: HardState, b: HardState): boolean {
  return a.currentTerm === b.currentTerm && a.votedFor === b.votedFor;
}
