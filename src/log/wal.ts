// The write-ahead log's on-disk format: records, segment and snapshot files.
// docs/storage.md describes the same layout for a reader with a hex dump.
//
// A record is a 12-byte header and a body:
//
//   offset 0   u32 LE  body length n (>= 1)
//   offset 4   u32 LE  n XOR 0xffffffff: checks the length before we trust it,
//                      so a flipped length bit is caught, not read as a tail
//   offset 8   u32 LE  CRC-32 of the body
//   offset 12  body    u8 type, then the payload
//
// Types and payloads:
//   1 segment header  JSON {seq, clusterId, node}: first record of a segment
//   2 hard state      JSON {currentTerm, votedFor, commitIndex}
//   3 entry           f64 index, f64 term, JSON value (UTF-8)
//   4 snapshot        f64 index, f64 term: a snapshot from the leader was
//                     installed here (§7, Figure 13 receiver 7: the log
//                     before this point is discarded unless it holds the
//                     snapshot's last entry)
//
// Replay applies the records in order. An entry record at index i replaces
// whatever the log held from i on (that is how a §5.3 conflict truncation is
// written: append-only, the newer record wins).
//
// No complete body ever ends in a zero byte (JSON text ends in a printable
// character; a marker ends in the high byte of a non-zero float). So a last
// record whose checksum fails and whose last byte is zero was cut short by a
// crash (the file grew but the data never arrived), not corrupted later.

import { CodecError, nodeId } from '../messages/codec';
import { RAFT_NUMBER_LIMIT, raftNumberProblem } from '../messages/bounds';
import { crc32 } from './crc32';
import { HardState, LogEntry } from './types';

export const HEADER_BYTES = 12;
/** Refuse bodies larger than this (a length this large is corruption, not data). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export enum RecordType {
  SegmentHeader = 1,
  HardState = 2,
  Entry = 3,
  Snapshot = 4,
}

export const META_FILE = 'meta.json';
export const FORMAT = 'simpleraft-wal';
export const FORMAT_VERSION = 1;
const SEGMENT_RE = /^wal-([0-9a-f]{16})\.log$/;
const SNAPSHOT_RE = /^snap-([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const SNAPSHOT_MAGIC = Buffer.from('SRSNAP01', 'ascii');

/** A checksum or format failure in a file that was complete when written. Nothing on disk was changed. */
export class StorageCorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`corrupt data in ${file} at offset ${offset}: ${reason} (nothing on disk was modified)`);
    this.name = 'StorageCorruptionError';
  }
}

/** The data directory belongs to another cluster or node. Nothing on disk was changed. */
export class DataDirMismatchError extends Error {
  constructor(
    readonly dir: string,
    readonly expected: { clusterId: string; node: string },
    readonly found: { clusterId: string; node: string },
  ) {
    super(
      `data directory ${dir} belongs to node ${JSON.stringify(found.node)} of cluster ${JSON.stringify(found.clusterId)}, ` +
        `not node ${JSON.stringify(expected.node)} of cluster ${JSON.stringify(expected.clusterId)}; refusing to use it`,
    );
    this.name = 'DataDirMismatchError';
  }
}

/**
 * A term, index or vote the codec would refuse (messages/bounds.ts): never
 * written, so that no data directory holds what this program cannot read back.
 * Thrown before anything of the batch reaches the disk.
 */
export class UnwritableValueError extends RangeError {
  constructor(readonly what: string, readonly value: unknown) {
    super(`refusing to write ${what} ${JSON.stringify(value) ?? String(value)}: not an integer in [0, ${RAFT_NUMBER_LIMIT}) (docs/wire-format.md §5)`);
    this.name = 'UnwritableValueError';
  }
}

/**
 * A data directory holding a term or index at or beyond RAFT_NUMBER_LIMIT:
 * written by a version before the bound (issue 18), it cannot be used. Nothing
 * on disk was changed; the node must be wiped and rejoin (docs/storage.md).
 */
export class OutOfRangeDataError extends StorageCorruptionError {
  constructor(file: string, offset: number, readonly what: string, readonly value: number) {
    super(file, offset, `${what} ${value} is not below ${RAFT_NUMBER_LIMIT}, the largest term or index this version accepts`);
    this.name = 'OutOfRangeDataError';
  }
}

/** `v` as a term or index we may write; else UnwritableValueError. */
function writable(v: number, what: string): number {
  if (raftNumberProblem(v) !== null) throw new UnwritableValueError(what, v);
  return v;
}

export function segmentName(seq: number): string {
  return `wal-${seq.toString(16).padStart(16, '0')}.log`;
}

export function parseSegmentName(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? parseInt(m[1], 16) : null;
}

export function snapshotName(index: number, term: number): string {
  return `snap-${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

export function parseSnapshotName(name: string): { index: number; term: number } | null {
  const m = SNAPSHOT_RE.exec(name);
  return m ? { index: parseInt(m[1], 16), term: parseInt(m[2], 16) } : null;
}

// ---- Encoding ----------------------------------------------------------------

function frame(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt32LE(body.length, 0);
  out.writeUInt32LE((body.length ^ 0xffffffff) >>> 0, 4);
  out.writeUInt32LE(crc32(body), 8);
  body.copy(out, HEADER_BYTES);
  return out;
}

function jsonRecord(type: RecordType, value: unknown): Buffer {
  const text = JSON.stringify(value);
  const body = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
  body[0] = type;
  body.write(text, 1, 'utf8');
  return frame(body);
}

export function encodeSegmentHeader(seq: number, clusterId: string, node: string): Buffer {
  return jsonRecord(RecordType.SegmentHeader, { seq, clusterId, node });
}

export function encodeHardState(hs: HardState): Buffer {
  if (hs.votedFor !== null) {
    try {
      nodeId(hs.votedFor, 'votedFor');
    } catch (e) {
      if (e instanceof CodecError) throw new UnwritableValueError('votedFor', hs.votedFor);
      throw e;
    }
  }
  return jsonRecord(RecordType.HardState, {
    currentTerm: writable(hs.currentTerm, 'currentTerm'),
    votedFor: hs.votedFor,
    commitIndex: writable(hs.commitIndex, 'commitIndex'),
  });
}

export function encodeEntry(e: LogEntry): Buffer {
  const text = JSON.stringify(e.value === undefined ? null : e.value);
  const body = Buffer.allocUnsafe(17 + Buffer.byteLength(text));
  body[0] = RecordType.Entry;
  body.writeDoubleLE(writable(e.index, 'entry index'), 1);
  body.writeDoubleLE(writable(e.term, `entry ${e.index} term`), 9);
  body.write(text, 17, 'utf8');
  return frame(body);
}

export function encodeSnapshotMarker(index: number, term: number): Buffer {
  const body = Buffer.allocUnsafe(17);
  body[0] = RecordType.Snapshot;
  body.writeDoubleLE(writable(index, 'snapshot index'), 1);
  body.writeDoubleLE(writable(term, 'snapshot term'), 9);
  return frame(body);
}

// ---- Decoding ----------------------------------------------------------------

export type WalRecord =
  | { type: RecordType.SegmentHeader; seq: number; clusterId: string; node: string }
  | { type: RecordType.HardState; hardState: HardState }
  /**
   * An entry; its value is parsed only when asked for, so a replay does not
   * build values for the many entries a snapshot covers.
   */
  | { type: RecordType.Entry; index: number; term: number; value: () => unknown }
  | { type: RecordType.Snapshot; index: number; term: number };

export interface ScannedRecord {
  record: WalRecord;
  offset: number;
}

export interface TornTail {
  file: string;
  /** Where the torn record starts: the file is cut back to this length. */
  offset: number;
  /** Bytes after `offset` that are dropped. */
  droppedBytes: number;
  reason: string;
}

export interface SegmentScan {
  records: ScannedRecord[];
  /** Only in the last segment: a record cut short by a crash, to be truncated away. */
  torn: TornTail | null;
}

function allZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Read every record of one segment. In the last segment, a record cut short
 * at the end of the file (or a zero-filled tail) is reported as torn; the
 * same anywhere else, and any checksum failure that is not such a tail,
 * throws StorageCorruptionError naming the file and offset.
 */
export function scanSegment(buf: Buffer, file: string, isLast: boolean): SegmentScan {
  const records: ScannedRecord[] = [];
  const torn = (offset: number, reason: string): SegmentScan => {
    if (!isLast) throw new StorageCorruptionError(file, offset, `${reason} in a segment that is not the last`);
    return { records, torn: { file, offset, droppedBytes: buf.length - offset, reason } };
  };
  let o = 0;
  while (o < buf.length) {
    if (allZero(buf, o, buf.length)) return torn(o, 'zero-filled tail (the file grew, the data never arrived)');
    if (buf.length - o < HEADER_BYTES) return torn(o, 'incomplete record header');
    const n = buf.readUInt32LE(o);
    if (buf.readUInt32LE(o + 4) !== (n ^ 0xffffffff) >>> 0) {
      throw new StorageCorruptionError(file, o, 'record length fails its check');
    }
    if (n < 1 || n > MAX_RECORD_BYTES) throw new StorageCorruptionError(file, o, `record length ${n} out of range`);
    const end = o + HEADER_BYTES + n;
    if (end > buf.length) return torn(o, `record of ${n} bytes runs past the end of the file`);
    const body = buf.subarray(o + HEADER_BYTES, end);
    const stored = buf.readUInt32LE(o + 8);
    const actual = crc32(body);
    if (stored !== actual) {
      if (isLast && end === buf.length && body[body.length - 1] === 0) {
        return torn(o, 'last record only partly written (ends in zeros, checksum fails)');
      }
      throw new StorageCorruptionError(file, o, `checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`);
    }
    records.push({ record: decodeBody(body, file, o), offset: o });
    o = end;
  }
  return { records, torn: null };
}

function decodeBody(body: Buffer, file: string, offset: number): WalRecord {
  const bad = (why: string) => new StorageCorruptionError(file, offset, why);
  const json = (): Record<string, unknown> => {
    try {
      const v: unknown = JSON.parse(body.toString('utf8', 1));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (e) {
      throw bad(`record payload is not valid JSON: ${(e as Error).message}`);
    }
  };
  const idx = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`bad ${what} ${String(v)}`);
    return v;
  };
  // Terms and indices: bounded as on the wire; beyond the bound is a directory
  // from an older version, told apart so the node can say how to recover.
  const raftNumber = (v: unknown, what: string): number => {
    const problem = raftNumberProblem(v);
    if (problem === 'range') throw new OutOfRangeDataError(file, offset, what, v as number);
    if (problem === 'type') throw bad(`bad ${what} ${String(v)}`);
    return v as number;
  };
  switch (body[0]) {
    case RecordType.SegmentHeader: {
      const v = json();
      if (typeof v.clusterId !== 'string' || typeof v.node !== 'string') throw bad('bad segment header');
      return { type: RecordType.SegmentHeader, seq: idx(v.seq, 'segment number'), clusterId: v.clusterId, node: v.node };
    }
    case RecordType.HardState: {
      const v = json();
      const votedFor = v.votedFor;
      if (votedFor !== null && typeof votedFor !== 'string' && typeof votedFor !== 'number') throw bad('bad votedFor');
      return {
        type: RecordType.HardState,
        hardState: { currentTerm: raftNumber(v.currentTerm, 'currentTerm'), votedFor, commitIndex: raftNumber(v.commitIndex, 'commitIndex') },
      };
    }
    case RecordType.Entry: {
      if (body.length < 17) throw bad('entry record too short');
      const index = raftNumber(body.readDoubleLE(1), 'entry index');
      const term = raftNumber(body.readDoubleLE(9), 'entry term');
      if (index < 1) throw bad('entry index 0');
      const value = () => {
        try {
          return JSON.parse(body.toString('utf8', 17)) as unknown;
        } catch (e) {
          throw bad(`entry ${index} value is not valid JSON: ${(e as Error).message}`);
        }
      };
      return { type: RecordType.Entry, index, term, value };
    }
    case RecordType.Snapshot: {
      if (body.length !== 17) throw bad('snapshot record of the wrong size');
      return { type: RecordType.Snapshot, index: raftNumber(body.readDoubleLE(1), 'snapshot index'), term: raftNumber(body.readDoubleLE(9), 'snapshot term') };
    }
    default:
      throw bad(`unknown record type ${body[0]}`);
  }
}

// ---- Snapshot files ------------------------------------------------------------
//
//   offset 0   8 bytes  magic "SRSNAP01"
//   offset 8   u32 LE   CRC-32 of everything from offset 12 to the end
//   offset 12  f64 LE   last included index
//   offset 20  f64 LE   last included term
//   offset 28  data     the state machine's snapshot, to the end of the file

export function encodeSnapshotFile(index: number, term: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(28 + data.length);
  SNAPSHOT_MAGIC.copy(out, 0);
  out.writeDoubleLE(index, 12);
  out.writeDoubleLE(term, 20);
  out.set(data, 28);
  out.writeUInt32LE(crc32(out.subarray(12)), 8);
  return out;
}

export function decodeSnapshotFile(buf: Buffer, file: string, expect: { index: number; term: number }): Uint8Array {
  if (buf.length < 28 || !buf.subarray(0, 8).equals(SNAPSHOT_MAGIC)) throw new StorageCorruptionError(file, 0, 'not a snapshot file (bad magic or too short)');
  const stored = buf.readUInt32LE(8);
  const actual = crc32(buf.subarray(12));
  if (stored !== actual) {
    throw new StorageCorruptionError(file, 8, `snapshot checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)})`);
  }
  if (buf.readDoubleLE(12) !== expect.index || buf.readDoubleLE(20) !== expect.term) {
    throw new StorageCorruptionError(file, 12, 'snapshot index or term differs from its file name');
  }
  // A copy, so the (possibly large) file buffer is not kept alive by a view.
  return new Uint8Array(buf.subarray(28));
}
