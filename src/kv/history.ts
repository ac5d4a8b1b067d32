// KeyHistory: every revision of every key, until compacted -- the "multi-
// version" in etcd's MVCC store, kept in memory.
//
// Two views of the same KeyValue objects:
// - per key, its versions in revision order (etcd's keyIndex), to read the
//   store as of a past revision: the version of a key at revision R is its
//   last version with mod_revision <= R, unless that is a tombstone;
// - one change list in revision order (etcd's revision-keyed backend), to
//   replay what happened since a revision (watch) and to find what a
//   compaction must trim without scanning every key.
// A deletion is recorded as a tombstone: a KeyValue with only the key and
// mod_revision set (version 0), which is also exactly the kv of etcd's DELETE
// event.
//
// Compaction at revision C (etcd's rule, mvcc/key_index.go compact): each key
// keeps its versions above C and its last version at or below C, unless that
// one is a tombstone; reads below C are refused from then on. The change list
// keeps the changes at C and above, so a watch may still start at C itself
// (etcd refuses only start revisions below the compacted one).
//
// Everything here runs inside apply() or restore(): deterministic, no clock.

import { keyString } from './bytes';
import { KeyValue } from './types';

const EMPTY = Buffer.alloc(0);

export function tombstone(key: Buffer, rev: number): KeyValue {
  return { key, value: EMPTY, createRevision: 0, modRevision: rev, version: 0, lease: 0n };
}

export function isTombstone(kv: KeyValue): boolean {
  return kv.version === 0;
}

/** What readers of the history (watches, tests) may use: nothing that changes it. */
export type HistoryReader = Pick<KeyHistory, 'compactRevision' | 'size' | 'at' | 'rangeAt' | 'previous' | 'changesSince'>;

export class KeyHistory {
  private compacted = 0;
  /** Each key's versions, oldest first (keyString -> versions). */
  private versions = new Map<string, KeyValue[]>();
  /** Every key that has a version, in byte order. */
  private index: string[] = [];
  /** Every change since the compacted revision, in the order applied; live part starts at `head`. */
  private changes: KeyValue[] = [];
  private head = 0;

  /** The revision of the last compaction (0: never compacted). */
  get compactRevision(): number {
    return this.compacted;
  }

  /** Versions kept, tombstones included (for status and benchmarks). */
  get size(): number {
    let n = 0;
    for (const v of this.versions.values()) n += v.length;
    return n;
  }

  /** Record a put (the new KeyValue) or a delete (a tombstone). At most one change per key per revision. */
  record(kv: KeyValue): void {
    const k = keyString(kv.key);
    let vs = this.versions.get(k);
    if (!vs) {
      vs = [];
      this.versions.set(k, vs);
      this.index.splice(lowerBound(this.index, k), 0, k);
    }
    vs.push(kv);
    this.changes.push(kv);
  }

  /** The live KeyValue of key `k` (a keyString) at revision `rev`, or undefined. */
  at(k: string, rev: number): KeyValue | undefined {
    const vs = this.versions.get(k);
    if (!vs) return undefined;
    const i = lastAtOrBelow(vs, rev);
    return i < 0 || isTombstone(vs[i]) ? undefined : vs[i];
  }

  /**
   * The live keys at revision `rev` whose keyString lies in [lo, hi) (hi null:
   * no upper bound), in byte order.
   */
  rangeAt(lo: string, hi: string | null, rev: number): KeyValue[] {
    const out: KeyValue[] = [];
    const end = hi === null ? this.index.length : lowerBound(this.index, hi);
    for (let i = lowerBound(this.index, lo); i < end; i++) {
      const kv = this.at(this.index[i], rev);
      if (kv) out.push(kv);
    }
    return out;
  }

  /** The version a change replaced (etcd's prev_kv), if it is still kept and was live. */
  previous(change: KeyValue): KeyValue | undefined {
    return this.at(keyString(change.key), change.modRevision - 1);
  }

  /** The changes at revision `from` and above, in order. Precondition: from >= compactRevision. */
  *changesSince(from: number): IterableIterator<KeyValue> {
    let lo = this.head;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.changes[mid].modRevision < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.changes.length; i++) yield this.changes[i];
  }

  /** Compact at `rev` (caller checked compactRevision < rev <= current revision). */
  compact(rev: number): void {
    this.trimChanged(rev);
    while (this.head < this.changes.length && this.changes[this.head].modRevision < rev) this.head++;
    if (this.head > 1024 && this.head * 2 > this.changes.length) {
      this.changes = this.changes.slice(this.head);
      this.head = 0;
    }
    this.compacted = rev;
  }

  /**
   * Trim every key changed at or below `rev` (etcd's keyIndex.compact).
   * Only keys changed since the last compaction can hold more than one
   * version at or below `rev`, or a tombstone there: the others were trimmed then.
   */
  private trimChanged(rev: number): void {
    const touched = new Set<string>();
    for (let i = this.head; i < this.changes.length && this.changes[i].modRevision <= rev; i++) {
      touched.add(keyString(this.changes[i].key));
    }
    let emptied = false;
    for (const k of touched) {
      // A key may be gone already: its tombstone at the last compacted revision is still a change.
      const vs = this.versions.get(k);
      if (!vs) continue;
      const last = lastAtOrBelow(vs, rev);
      const drop = last < 0 ? 0 : isTombstone(vs[last]) ? last + 1 : last;
      if (drop > 0) vs.splice(0, drop);
      if (vs.length === 0) {
        this.versions.delete(k);
        emptied = true;
      }
    }
    if (emptied) this.index = this.index.filter((k) => this.versions.has(k));
  }

  // ---- Snapshots -----------------------------------------------------------------

  /**
   * The kept versions in two parts, for a snapshot: `base`, those older than
   * the change list (at most one per key, in key order), and `changes`, the
   * change list in order. load() rebuilds the very same history from them.
   */
  parts(): { compacted: number; base: KeyValue[]; changes: KeyValue[] } {
    const firstChange = this.head < this.changes.length ? this.changes[this.head].modRevision : Infinity;
    const base: KeyValue[] = [];
    for (const k of this.index) {
      const vs = this.versions.get(k)!;
      for (const kv of vs) if (kv.modRevision < firstChange) base.push(kv);
    }
    return { compacted: this.compacted, base, changes: this.changes.slice(this.head) };
  }

  /** Replace everything with parts() of another history (already validated by the caller). */
  load(compacted: number, base: KeyValue[], changes: KeyValue[]): void {
    this.versions = new Map();
    this.index = [];
    this.changes = [];
    this.head = 0;
    for (const kv of base) {
      const k = keyString(kv.key);
      const vs = this.versions.get(k);
      if (vs) vs.push(kv);
      else this.versions.set(k, [kv]);
    }
    this.index = [...this.versions.keys()].sort();
    for (const kv of changes) this.record(kv);
    // The changes at the compacted revision itself were trimmed from the keys' versions.
    this.trimChanged(compacted);
    this.compacted = compacted;
  }

  /** The live version of every key at the newest revision, in byte order. */
  *latest(): IterableIterator<KeyValue> {
    for (const k of this.index) {
      const vs = this.versions.get(k)!;
      const kv = vs[vs.length - 1];
      if (!isTombstone(kv)) yield kv;
    }
  }
}

/** Index of the last version with mod_revision <= rev, or -1. */
function lastAtOrBelow(vs: KeyValue[], rev: number): number {
  let lo = 0;
  let hi = vs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (vs[mid].modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export function lowerBound(a: string[], k: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
