// KvStore: the replicated state machine of the key-value store (§5: "each
// server stores a log containing a series of commands, which its state machine
// executes in order"), with etcd v3's data model: byte keys in byte order, one
// global revision, and per key create_revision, mod_revision, version, lease.
//
// Rules, all as etcd's mvcc store:
// - The revision starts at 1 on an empty store. Each command that changes
//   something increments it exactly once (a txn with three puts too); a
//   delete that finds nothing, or a failed command, leaves it alone.
// - A put sets mod_revision to the new revision and increments version; a
//   put to a missing key also sets create_revision, and version becomes 1.
// - Deleting a key forgets it: a later put creates it anew.
// - Every version of every key is kept (history.ts) until a compaction
//   command, itself a log entry, drops those older than its revision; a range
//   at a revision reads the store as it was then (etcd's MVCC), below the
//   compacted revision it is refused. Snapshots carry the history and the
//   compacted revision, so every replica keeps the same.
//
// apply() is deterministic: it reads no clock, no randomness, no I/O, and
// decodes each entry with commands.decodeCommand(), which depends on nothing
// configurable. The same log gives the same store, byte for byte, on every
// replica (snapshot() is canonical; the tests compare snapshots).

import { LogEntry } from '../log/types';
import { StateMachine } from '../server/state-machine';
import { INT64_MAX, INT64_MIN, keyString, parseCanonicalBase64, toBase64 } from './bytes';
import { CommandError, KvCommand, decodeCommand, fingerprint } from './commands';
import { HistoryReader, KeyHistory, isTombstone, lowerBound, tombstone } from './history';
import { ClientSessions, DEFAULT_MAX_CLIENTS, SessionRecord, failure } from './sessions';
import {
  CompactionResult,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResult,
  KeyValue,
  KvFailure,
  KvRequestError,
  KvResult,
  LeaseGrantResult,
  LeaseId,
  LeaseRegistry,
  LeaseRevokeResult,
  NO_LEASE,
  OpResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  RequestOp,
  TxnRequest,
  TxnResult,
  isLeaseStore,
} from './types';

export interface KvStoreOptions {
  /** Clients kept in the dedup table; must be the same on every replica. */
  maxClients?: number;
  /** Bytes of results kept in the dedup table; must be the same on every replica. */
  maxResultBytes?: number;
  /** The lease keeper; without one every lease is unknown. */
  leases?: LeaseRegistry;
}

/** etcd's error texts, so etcd users recognise them. */
export const KV_ERRORS = {
  leaseNotFound: 'etcdserver: requested lease not found',
  leaseExists: 'etcdserver: lease already exists',
  keyNotFound: 'etcdserver: key not found',
  duplicateKey: 'etcdserver: duplicate key given in txn request',
  futureRevision: 'etcdserver: mvcc: required revision is a future revision',
  compacted: 'etcdserver: mvcc: required revision has been compacted',
};

/** Version 1 had no history; it is still read (as a store compacted at its revision). */
const SNAPSHOT_FORMAT_V1 = 'simpleraft-kv/1';
const SNAPSHOT_FORMAT = 'simpleraft-kv/2';
const EMPTY = Buffer.alloc(0);

export class KvStore implements StateMachine {
  private rev = 1;
  /** Every key, as keyString(), in byte order: the range index. */
  private index: string[] = [];
  private keys = new Map<string, KeyValue>();
  private bytes = 0;
  /** Every version of every key since the compacted revision. */
  private history = new KeyHistory();
  private readonly sessions: ClientSessions;
  private leases: LeaseRegistry | null;
  private readonly appliedListeners: (() => void)[] = [];

  constructor(options: KvStoreOptions = {}) {
    this.sessions = new ClientSessions(options.maxClients ?? DEFAULT_MAX_CLIENTS, options.maxResultBytes);
    this.leases = options.leases ?? null;
  }

  /** The store's current revision (1 when empty and never written). */
  get revision(): number {
    return this.rev;
  }

  /** The revision of the last compaction (0: never compacted). */
  get compactRevision(): number {
    return this.history.compactRevision;
  }

  /** The key history, read by watches (src/kv/watchable.ts). */
  get keyHistory(): HistoryReader {
    return this.history;
  }

  /** Number of keys. */
  get size(): number {
    return this.index.length;
  }

  /** Total bytes of keys and values (a stand-in for etcd's dbSize). */
  get approximateBytes(): number {
    return this.bytes;
  }

  /** Number of clients in the dedup table. */
  get clientCount(): number {
    return this.sessions.size;
  }

  /**
   * Call `listener` after every applied entry and restored snapshot (for
   * watches). It runs outside the replicated state: it may read the store,
   * never change it.
   */
  onApplied(listener: () => void): void {
    this.appliedListeners.push(listener);
  }

  /** Attach the lease keeper (the leases issue's Lessor). */
  setLeaseRegistry(leases: LeaseRegistry | null): void {
    this.leases = leases;
  }

  // ---- StateMachine ----------------------------------------------------------

  /**
   * Apply one committed entry. Returns null for the leader's no-op (§8),
   * otherwise the command's result; a value that is not a valid command
   * changes nothing and gives an 'invalid-command' failure.
   */
  apply(entry: LogEntry): KvResult | null {
    const result = this.applyEntry(entry);
    for (const l of this.appliedListeners) l();
    return result;
  }

  private applyEntry(entry: LogEntry): KvResult | null {
    if (entry.value === null) return null;
    let cmd: KvCommand;
    try {
      cmd = decodeCommand(entry.value);
    } catch (e) {
      if (e instanceof CommandError) return failure('invalid-command', e.message);
      throw e;
    }
    if (cmd.session === null) return this.execute(cmd);
    // Thesis §6.3: a command already applied for this client is answered with
    // its first result and not applied again.
    const fp = fingerprint(cmd);
    const seen = this.sessions.lookup(cmd.session, fp);
    if (seen.kind === 'answered') return seen.result;
    const result = this.execute(cmd);
    this.sessions.record(cmd.session, fp, result);
    return result;
  }

  private execute(cmd: KvCommand): KvResult {
    switch (cmd.op) {
      case 'put': {
        const err = this.checkPut(cmd.request);
        if (err) return err;
        const rev = this.rev + 1;
        const result = this.putAt(cmd.request, rev);
        this.rev = rev;
        return result;
      }
      case 'deleteRange': {
        const rev = this.rev + 1;
        const result = this.deleteRangeAt(cmd.request, rev);
        if (result.deleted > 0) this.rev = rev;
        return { ...result, revision: this.rev };
      }
      case 'txn':
        return this.txn(cmd.request);
      case 'leaseGrant':
        return this.leaseGrant(cmd.request.id, cmd.request.ttl);
      case 'leaseRevoke':
        return this.leaseRevoke(cmd.request.id);
      case 'compaction':
        return this.compact(cmd.request.revision);
    }
  }

  /**
   * etcd's Compact: forget the versions older than `revision` that a read at
   * `revision` or later cannot see. The revision itself does not move. As
   * every command, it runs at the same point of the log on every replica, so
   * all keep the same history; `physical` (wait for the disk) means nothing
   * to an in-memory store and is not part of the command.
   */
  private compact(revision: number): CompactionResult | KvFailure {
    const err = this.checkRevision(revision);
    if (err) return err;
    // etcd: compacting at the compacted revision again is refused too.
    if (revision === this.history.compactRevision) return failure('compacted', KV_ERRORS.compacted);
    this.history.compact(revision);
    return { kind: 'compaction', revision: this.rev };
  }

  /** Why a read at `revision` (> 0) cannot be served, or null. */
  private checkRevision(revision: number): (KvFailure & { code: 'future-revision' | 'compacted' }) | null {
    if (revision > this.rev) return { kind: 'error', code: 'future-revision', message: KV_ERRORS.futureRevision };
    if (revision < this.history.compactRevision) return { kind: 'error', code: 'compacted', message: KV_ERRORS.compacted };
    return null;
  }

  // ---- Leases (the Lessor's replicated part, driven from the log) --------------

  /**
   * etcd's LeaseGrant as applied: the ID and TTL come from the command (the
   * proposer chose the ID and raised the TTL to the minimum), so every replica
   * does the same thing. A grant changes no key and keeps the revision.
   */
  private leaseGrant(id: LeaseId, ttl: number): LeaseGrantResult | KvFailure {
    if (!isLeaseStore(this.leases)) return failure('invalid-command', 'this store keeps no leases');
    if (!this.leases.grant(id, ttl)) return failure('lease-exists', KV_ERRORS.leaseExists);
    return { kind: 'leaseGrant', revision: this.rev, id, ttl };
  }

  /**
   * etcd's LeaseRevoke: the lease and every key attached to it go, the keys
   * in one revision and in byte order (deleteKeys), so every replica deletes
   * alike. The same command serves a client's revoke and the leader's expiry.
   */
  private leaseRevoke(id: LeaseId): LeaseRevokeResult | KvFailure {
    if (!isLeaseStore(this.leases)) return failure('invalid-command', 'this store keeps no leases');
    const keys = this.leases.keysOf(id);
    if (keys === null) return failure('lease-not-found', KV_ERRORS.leaseNotFound);
    const { revision, deleted } = this.deleteKeys(keys);
    this.leases.remove(id);
    return { kind: 'leaseRevoke', revision, deleted: deleted.length };
  }

  // ---- Reads -------------------------------------------------------------------

  /** One key, or undefined. */
  get(key: Uint8Array): KeyValue | undefined {
    return this.keys.get(keyString(key));
  }

  /** Every key in byte order (for the Lessor to rebuild its key sets after restore). */
  *entries(): IterableIterator<KeyValue> {
    for (const k of this.index) yield this.keys.get(k)!;
  }

  /**
   * etcd's Range, on the current state (revision 0) or as of a past
   * revision. A local read: the caller makes it linearizable first
   * (ReadIndex) when it must be. Throws KvRequestError for a revision above
   * the current one or below the compacted one.
   */
  range(req: RangeRequest): RangeResult {
    if (req.revision > 0) {
      const err = this.checkRevision(req.revision);
      if (err) throw new KvRequestError(err.code, err.message);
    }
    return this.rangeAt(req, req.revision === this.rev ? 0 : req.revision);
  }

  /** range() at a checked revision: 0 reads the current state (a txn's own writes included). */
  private rangeAt(req: RangeRequest, revision: number): RangeResult {
    // Past revisions come from the history as one list; the current state
    // is read in place from the index.
    const past = revision > 0 ? this.pastIn(req.key, req.rangeEnd, revision) : null;
    const [lo, hi] = past ? [0, past.length] : this.bounds(req.key, req.rangeEnd);
    const at = past ? (i: number) => past[i] : (i: number) => this.keys.get(this.index[i])!;
    const count = hi - lo;
    if (req.countOnly) return { kind: 'range', revision: this.rev, kvs: [], count, more: false };

    // Following etcd's v3 server Range: without sorting or filters, take
    // limit + 1 keys to learn `more`; otherwise take all, filter, sort, cut.
    const filtered =
      req.minModRevision > 0 || req.maxModRevision > 0 || req.minCreateRevision > 0 || req.maxCreateRevision > 0;
    let order = req.sortOrder;
    if (req.sortTarget !== 'key' && order === 'none') order = 'ascend'; // etcd does the same
    const reorder = order === 'descend' || (order === 'ascend' && req.sortTarget !== 'key');
    const take = filtered || reorder || req.limit === 0 ? count : Math.min(count, req.limit + 1);
    let kvs: KeyValue[] = [];
    for (let i = lo; i < lo + take; i++) kvs.push(at(i));

    if (filtered) {
      kvs = kvs.filter(
        (kv) =>
          (req.minModRevision === 0 || kv.modRevision >= req.minModRevision) &&
          (req.maxModRevision === 0 || kv.modRevision <= req.maxModRevision) &&
          (req.minCreateRevision === 0 || kv.createRevision >= req.minCreateRevision) &&
          (req.maxCreateRevision === 0 || kv.createRevision <= req.maxCreateRevision),
      );
    }
    if (reorder) {
      const sign = order === 'descend' ? -1 : 1;
      const by = sortKey(req.sortTarget);
      // Stable sort; ties keep key order, so every replica answers the same.
      kvs.sort((a, b) => sign * by(a, b));
    }
    let more = false;
    if (req.limit > 0 && kvs.length > req.limit) {
      kvs = kvs.slice(0, req.limit);
      more = true;
    }
    if (req.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { kind: 'range', revision: this.rev, kvs, count, more };
  }

  /** The live keys etcd's (key, range_end) selects, as of a past revision. */
  private pastIn(key: Buffer, rangeEnd: Buffer, revision: number): KeyValue[] {
    const k = keyString(key);
    if (rangeEnd.length === 0) {
      const kv = this.history.at(k, revision);
      return kv ? [kv] : [];
    }
    if (rangeEnd.length === 1 && rangeEnd[0] === 0) return this.history.rangeAt(k, null, revision);
    const end = keyString(rangeEnd);
    return end <= k ? [] : this.history.rangeAt(k, end, revision);
  }

  /** [lo, hi) positions in the index of the keys etcd's (key, range_end) selects. */
  private bounds(key: Buffer, rangeEnd: Buffer): [number, number] {
    const k = keyString(key);
    if (rangeEnd.length === 0) {
      // A single key.
      const i = lowerBound(this.index, k);
      return this.index[i] === k ? [i, i + 1] : [i, i];
    }
    const lo = lowerBound(this.index, k);
    // range_end "\0" means every key >= key.
    if (rangeEnd.length === 1 && rangeEnd[0] === 0) return [lo, this.index.length];
    const end = keyString(rangeEnd);
    if (end <= k) return [lo, lo]; // an empty interval
    return [lo, lowerBound(this.index, end)];
  }

  // ---- Writes (called only from apply, with the revision being written) ---------

  /** etcd's checks before a put changes anything (applyV3 checkRequestPut). */
  private checkPut(req: PutRequest): KvFailure | null {
    let lease = req.lease;
    if (req.ignoreValue || req.ignoreLease) {
      const prev = this.keys.get(keyString(req.key));
      if (!prev) return failure('key-not-found', KV_ERRORS.keyNotFound);
      if (req.ignoreLease) lease = prev.lease;
    }
    if (lease !== NO_LEASE && !this.leases?.exists(lease)) {
      return failure('lease-not-found', KV_ERRORS.leaseNotFound);
    }
    return null;
  }

  private putAt(req: PutRequest, rev: number): PutResult {
    const k = keyString(req.key);
    const prev = this.keys.get(k);
    const value = req.ignoreValue && prev ? prev.value : req.value;
    const lease = req.ignoreLease && prev ? prev.lease : req.lease;
    const kv: KeyValue = {
      key: prev ? prev.key : Buffer.from(req.key),
      value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    if (!prev) this.index.splice(lowerBound(this.index, k), 0, k);
    this.keys.set(k, kv);
    this.history.record(kv);
    this.bytes += kv.key.length + kv.value.length - (prev ? prev.key.length + prev.value.length : 0);
    // A put without a lease detaches the key; a put under another lease moves it.
    if (prev && prev.lease !== NO_LEASE && prev.lease !== lease) this.leases?.detach(prev.lease, kv.key);
    if (lease !== NO_LEASE && (!prev || prev.lease !== lease)) this.leases?.attach(lease, kv.key);
    const result: PutResult = { kind: 'put', revision: rev };
    if (req.prevKv && prev) result.prevKv = prev;
    return result;
  }

  private deleteRangeAt(req: DeleteRangeRequest, rev: number): DeleteRangeResult {
    const [lo, hi] = this.bounds(req.key, req.rangeEnd);
    const removed = this.removeAt(lo, hi, rev);
    const result: DeleteRangeResult = {
      kind: 'deleteRange',
      revision: removed.length > 0 ? rev : this.rev,
      deleted: removed.length,
    };
    if (req.prevKv) result.prevKvs = removed;
    return result;
  }

  /** Remove index positions [lo, hi) at revision `rev`; keys in byte order, so every replica detaches alike. */
  private removeAt(lo: number, hi: number, rev: number): KeyValue[] {
    if (hi <= lo) return [];
    const removedKeys = this.index.splice(lo, hi - lo);
    const removed: KeyValue[] = [];
    for (const k of removedKeys) {
      const kv = this.keys.get(k)!;
      this.keys.delete(k);
      this.bytes -= kv.key.length + kv.value.length;
      if (kv.lease !== NO_LEASE) this.leases?.detach(kv.lease, kv.key);
      this.history.record(tombstone(kv.key, rev));
      removed.push(kv);
    }
    return removed;
  }

  /**
   * Delete the given keys in one revision (missing ones are skipped), in byte
   * order. For the Lessor's revoke, which must run inside apply(): etcd's
   * revoke sorts the keys "so deletes are in same order among all members".
   */
  deleteKeys(keys: Uint8Array[]): { revision: number; deleted: KeyValue[] } {
    const sorted = [...new Set(keys.map(keyString))].sort();
    const deleted: KeyValue[] = [];
    for (const k of sorted) {
      const i = lowerBound(this.index, k);
      if (this.index[i] === k) deleted.push(...this.removeAt(i, i + 1, this.rev + 1));
    }
    if (deleted.length > 0) this.rev += 1;
    return { revision: this.rev, deleted };
  }

  // ---- Txn -----------------------------------------------------------------------

  /** etcd's Txn: compares on the current state, then one branch, all in one revision. */
  private txn(req: TxnRequest): TxnResult | KvFailure {
    const succeeded = req.compare.every((c) => this.compare(c));
    const ops = succeeded ? req.success : req.failure;
    const err = this.checkOps(ops);
    if (err) return err;
    const rev = this.rev + 1;
    let changed = false;
    const responses: OpResult[] = [];
    for (const op of ops) {
      switch (op.op) {
        case 'range':
          // Reads at revision 0 see the txn's earlier writes, as in etcd; a
          // revision was checked in checkOps and reads the history, where
          // this txn's writes (at rev) are above it.
          responses.push(this.rangeAt(op.request, op.request.revision));
          break;
        case 'put':
          responses.push(this.putAt(op.request, rev));
          changed = true;
          break;
        case 'deleteRange': {
          const r = this.deleteRangeAt(op.request, rev);
          if (r.deleted > 0) changed = true;
          responses.push(r);
          break;
        }
      }
    }
    if (changed) this.rev = rev;
    // Each inner response reports the txn's revision, as etcd's do.
    for (const r of responses) r.revision = this.rev;
    return { kind: 'txn', revision: this.rev, succeeded, responses };
  }

  /** Everything that could make a branch fail is checked before it changes anything. */
  private checkOps(ops: RequestOp[]): KvFailure | null {
    const puts = new Set<string>();
    for (const op of ops) {
      if (op.op === 'put') {
        const k = keyString(op.request.key);
        if (puts.has(k)) return failure('duplicate-key', KV_ERRORS.duplicateKey);
        const err = this.checkPut(op.request);
        if (err) return err;
        puts.add(k);
      } else if (op.op === 'range' && op.request.revision > 0) {
        const err = this.checkRevision(op.request.revision);
        if (err) return err;
      }
    }
    // etcd also refuses a put to a key that a delete in the same branch covers.
    for (const op of ops) {
      if (op.op !== 'deleteRange') continue;
      const { key, rangeEnd } = op.request;
      const lo = keyString(key);
      for (const k of puts) {
        const inside =
          rangeEnd.length === 0
            ? k === lo
            : k >= lo && ((rangeEnd.length === 1 && rangeEnd[0] === 0) || k < keyString(rangeEnd));
        if (inside) return failure('duplicate-key', KV_ERRORS.duplicateKey);
      }
    }
    return null;
  }

  /** etcd's applyCompare: true if every key in the range satisfies it. */
  private compare(c: Compare): boolean {
    const [lo, hi] = this.bounds(c.key, c.rangeEnd);
    if (lo === hi) {
      // No key: compare against a zero KeyValue, except that a value compare
      // always fails ("no way to represent missing value", etcd).
      if (c.target === 'value') return false;
      return compareOne(c, { key: EMPTY, value: EMPTY, createRevision: 0, modRevision: 0, version: 0, lease: 0n });
    }
    for (let i = lo; i < hi; i++) if (!compareOne(c, this.keys.get(this.index[i])!)) return false;
    return true;
  }

  // ---- Snapshots ---------------------------------------------------------------------

  /**
   * The whole state as canonical JSON (UTF-8): the revision, the compacted
   * revision, the history (the versions older than the change list, in key
   * order, then the change list in order; a tombstone is [key, mod_revision]),
   * and the dedup table from least to most recently used. The current keys
   * are the history's latest versions. Equal states give equal bytes.
   */
  snapshot(): Uint8Array {
    const h = this.history.parts();
    const sessions = this.sessions.records().map((r) => [r.clientId, r.seq, r.fingerprint, encodeResult(r.result)]);
    // Leases as [id, ttl] in ID order; key attachments are in the kvs' lease field.
    const leases = isLeaseStore(this.leases) ? this.leases.list().map(([id, ttl]) => [id.toString(), ttl]) : [];
    const json = JSON.stringify({
      format: SNAPSHOT_FORMAT,
      revision: this.rev,
      compacted: h.compacted,
      base: h.base.map(encodeVersion),
      changes: h.changes.map(encodeVersion),
      sessions,
      leases,
    });
    return Buffer.from(json, 'utf8');
  }

  /**
   * Replace the whole state with a snapshot's. The snapshot is checked in
   * full first; on any error this throws and the store is left as it was.
   * With a LeaseStore (the Lessor) the leases are restored too, and their
   * key sets rebuilt from the keys' lease fields; a snapshot without a
   * `leases` field (made before leases existed) holds none.
   */
  restore(data: Uint8Array): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    } catch (e) {
      throw new Error(`corrupt KV snapshot: not JSON (${(e as Error).message})`);
    }
    const s = parsed as Record<string, unknown>;
    check(typeof s === 'object' && s !== null && !Array.isArray(s), 'not an object');
    check(s.format === SNAPSHOT_FORMAT || s.format === SNAPSHOT_FORMAT_V1, `unknown format ${JSON.stringify(s.format)}`);
    check(isCount(s.revision) && (s.revision as number) >= 1, 'bad revision');
    const revision = s.revision as number;
    check(Array.isArray(s.sessions), 'sessions is not an array');
    const { compacted, base, changes } = s.format === SNAPSHOT_FORMAT_V1 ? historyOfV1(s, revision) : decodeHistory(s, revision);
    const history = new KeyHistory();
    history.load(compacted, base, changes);

    const index: string[] = [];
    const keys = new Map<string, KeyValue>();
    let bytes = 0;
    for (const kv of history.latest()) {
      const k = keyString(kv.key);
      index.push(k);
      keys.set(k, kv);
      bytes += kv.key.length + kv.value.length;
    }
    const records: SessionRecord[] = (s.sessions as unknown[]).map((raw, i) => {
      check(Array.isArray(raw) && raw.length === 4, `sessions[${i}]: not a 4-tuple`);
      const [clientId, seq, fp, result] = raw as unknown[];
      check(typeof clientId === 'string' && clientId.length > 0, `sessions[${i}]: bad client id`);
      check(isCount(seq) && (seq as number) >= 1, `sessions[${i}]: bad seq`);
      check(typeof fp === 'string', `sessions[${i}]: bad fingerprint`);
      return {
        clientId: clientId as string,
        seq: seq as number,
        fingerprint: fp as string,
        result: decodeResult(result, `sessions[${i}].result`),
      };
    });

    const leases: [LeaseId, number][] = [];
    if (s.leases !== undefined) {
      check(Array.isArray(s.leases), 'leases is not an array');
      (s.leases as unknown[]).forEach((raw, i) => {
        check(Array.isArray(raw) && raw.length === 2, `leases[${i}]: not a pair`);
        const [id, ttl] = raw as unknown[];
        check(typeof id === 'string' && /^[1-9][0-9]{0,18}$/.test(id) && BigInt(id) <= INT64_MAX, `leases[${i}]: bad id`);
        check(isCount(ttl) && (ttl as number) >= 1, `leases[${i}]: bad ttl`);
        const leaseId = BigInt(id as string);
        check(leases.length === 0 || leases[leases.length - 1][0] < leaseId, `leases[${i}]: ids out of order`);
        leases.push([leaseId, ttl as number]);
      });
    }
    if (isLeaseStore(this.leases)) {
      // Every attached key must name a lease of the snapshot.
      const ids = new Set(leases.map(([id]) => id));
      for (const kv of keys.values()) {
        check(kv.lease === NO_LEASE || ids.has(kv.lease), `key attached to unknown lease ${kv.lease}`);
      }
    } else {
      check(leases.length === 0, 'the snapshot holds leases but this store keeps none');
    }

    // All checked: swap.
    this.rev = revision;
    this.history = history;
    this.index = index;
    this.keys = keys;
    this.bytes = bytes;
    this.sessions.load(records);
    if (isLeaseStore(this.leases)) this.leases.restore(leases, this.entries());
    for (const l of this.appliedListeners) l();
  }
}

// ---- Helpers ---------------------------------------------------------------------------

function sortKey(target: RangeRequest['sortTarget']): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'key':
      return (a, b) => Buffer.compare(a.key, b.key);
    case 'version':
      return (a, b) => a.version - b.version;
    case 'create':
      return (a, b) => a.createRevision - b.createRevision;
    case 'mod':
      return (a, b) => a.modRevision - b.modRevision;
    case 'value':
      return (a, b) => Buffer.compare(a.value, b.value);
  }
}

function compareOne(c: Compare, kv: KeyValue): boolean {
  let cmp: number;
  switch (c.target) {
    case 'value':
      cmp = Buffer.compare(kv.value, c.operand as Buffer);
      break;
    case 'lease': {
      const o = c.operand as bigint;
      cmp = kv.lease < o ? -1 : kv.lease > o ? 1 : 0;
      break;
    }
    case 'version':
      cmp = Math.sign(kv.version - (c.operand as number));
      break;
    case 'create':
      cmp = Math.sign(kv.createRevision - (c.operand as number));
      break;
    case 'mod':
      cmp = Math.sign(kv.modRevision - (c.operand as number));
      break;
  }
  switch (c.result) {
    case 'equal':
      return cmp === 0;
    case 'notEqual':
      return cmp !== 0;
    case 'greater':
      return cmp > 0;
    case 'less':
      return cmp < 0;
  }
}

// Snapshot encoding of keys and results: [key, value, create, mod, version, lease].
type KvTuple = [string, string, number, number, number, string];

/** A version in the history: a KvTuple, or [key, mod_revision] for a tombstone. */
function encodeVersion(kv: KeyValue): KvTuple | [string, number] {
  return isTombstone(kv) ? [toBase64(kv.key), kv.modRevision] : encodeKv(kv);
}

function decodeVersion(raw: unknown, where: string): KeyValue {
  if (!(Array.isArray(raw) && raw.length === 2)) return decodeKv(raw, where);
  const [k, mod] = raw as unknown[];
  const key = typeof k === 'string' ? parseCanonicalBase64(k) : null;
  check(key !== null && key.length > 0, `${where}: bad key`);
  check(isCount(mod) && (mod as number) >= 1, `${where}: bad mod_revision`);
  return tombstone(key!, mod as number);
}

interface HistoryParts {
  compacted: number;
  base: KeyValue[];
  changes: KeyValue[];
}

/**
 * The history of a version 2 snapshot, checked as KeyHistory.parts() writes
 * it: base versions in key order (one key's in revision order) and below the
 * first change, changes in revision order, at most one per key per revision,
 * nothing above the store's revision or, in the changes, below the compacted one.
 */
function decodeHistory(s: Record<string, unknown>, revision: number): HistoryParts {
  check(isCount(s.compacted) && (s.compacted as number) <= revision, 'bad compacted revision');
  const compacted = s.compacted as number;
  check(Array.isArray(s.base) && Array.isArray(s.changes), 'base or changes is not an array');
  const changes = (s.changes as unknown[]).map((raw, i) => decodeVersion(raw, `changes[${i}]`));
  const firstChange = changes.length > 0 ? changes[0].modRevision : revision + 1;
  check(changes.length === 0 || firstChange >= compacted, 'changes below the compacted revision');
  const seen = new Set<string>();
  changes.forEach((kv, i) => {
    check(kv.modRevision <= revision, `changes[${i}]: mod_revision above the store's revision`);
    const prev = changes[i - 1];
    if (prev && prev.modRevision !== kv.modRevision) seen.clear();
    check(!prev || prev.modRevision <= kv.modRevision, `changes[${i}]: out of order`);
    const k = keyString(kv.key);
    check(!seen.has(k), `changes[${i}]: a key changed twice in one revision`);
    seen.add(k);
  });
  const base = (s.base as unknown[]).map((raw, i) => decodeVersion(raw, `base[${i}]`));
  base.forEach((kv, i) => {
    check(kv.modRevision < firstChange, `base[${i}]: not older than the changes`);
    const prev = base[i - 1];
    if (!prev) return;
    const [a, b] = [keyString(prev.key), keyString(kv.key)];
    check(a < b || (a === b && prev.modRevision < kv.modRevision), `base[${i}]: out of order`);
  });
  return { compacted, base, changes };
}

/** A version 1 snapshot (no history): its keys, as a store compacted at its revision. */
function historyOfV1(s: Record<string, unknown>, revision: number): HistoryParts {
  check(Array.isArray(s.kvs), 'kvs is not an array');
  const base = (s.kvs as unknown[]).map((raw, i) => {
    const kv = decodeKv(raw, `kvs[${i}]`);
    check(kv.modRevision <= revision, `kvs[${i}]: mod_revision above the store's revision`);
    check(i === 0 || keyString(base[i - 1].key) < keyString(kv.key), `kvs[${i}]: keys out of order`);
    return kv;
  });
  return { compacted: revision, base, changes: [] };
}

function encodeKv(kv: KeyValue): KvTuple {
  return [toBase64(kv.key), toBase64(kv.value), kv.createRevision, kv.modRevision, kv.version, kv.lease.toString()];
}

function decodeKv(raw: unknown, where: string): KeyValue {
  check(Array.isArray(raw) && raw.length === 6, `${where}: not a 6-tuple`);
  const [k, v, create, mod, version, lease] = raw as unknown[];
  const key = typeof k === 'string' ? parseCanonicalBase64(k) : null;
  check(key !== null && key.length > 0, `${where}: bad key`);
  const value = typeof v === 'string' ? parseCanonicalBase64(v) : null;
  check(value !== null, `${where}: bad value`);
  check(isCount(create) && (create as number) >= 1, `${where}: bad create_revision`);
  check(isCount(mod) && (mod as number) >= (create as number), `${where}: bad mod_revision`);
  check(isCount(version) && (version as number) >= 1, `${where}: bad version`);
  check(typeof lease === 'string' && /^(0|-?[1-9][0-9]{0,18})$/.test(lease), `${where}: bad lease`);
  const leaseId: LeaseId = BigInt(lease as string);
  check(leaseId >= INT64_MIN && leaseId <= INT64_MAX, `${where}: lease out of range`);
  return {
    key: key!,
    value: value!,
    createRevision: create as number,
    modRevision: mod as number,
    version: version as number,
    lease: leaseId,
  };
}

/** A result as JSON, for the dedup table in snapshots. */
export function encodeResult(r: KvResult | OpResult): unknown {
  switch (r.kind) {
    case 'error':
      return { kind: r.kind, code: r.code, message: r.message };
    case 'put':
      return r.prevKv ? { kind: r.kind, revision: r.revision, prevKv: encodeKv(r.prevKv) } : { kind: r.kind, revision: r.revision };
    case 'deleteRange':
      return r.prevKvs
        ? { kind: r.kind, revision: r.revision, deleted: r.deleted, prevKvs: r.prevKvs.map(encodeKv) }
        : { kind: r.kind, revision: r.revision, deleted: r.deleted };
    case 'range':
      return { kind: r.kind, revision: r.revision, kvs: r.kvs.map(encodeKv), count: r.count, more: r.more };
    case 'txn':
      return { kind: r.kind, revision: r.revision, succeeded: r.succeeded, responses: r.responses.map(encodeResult) };
    case 'leaseGrant':
      return { kind: r.kind, revision: r.revision, id: r.id.toString(), ttl: r.ttl };
    case 'leaseRevoke':
      return { kind: r.kind, revision: r.revision, deleted: r.deleted };
    case 'compaction':
      return { kind: r.kind, revision: r.revision };
  }
}

const ERROR_CODES: KvFailure['code'][] = [
  'invalid-command',
  'lease-not-found',
  'lease-exists',
  'key-not-found',
  'duplicate-key',
  'stale-request',
  'request-id-reused',
  'future-revision',
  'compacted',
];

export function decodeResult(raw: unknown, where: string): KvResult {
  const r = decodeAnyResult(raw, where);
  check(r.kind !== 'range', `${where}: a range is not a command result`);
  return r as KvResult;
}

function decodeAnyResult(raw: unknown, where: string): KvResult | OpResult {
  check(typeof raw === 'object' && raw !== null && !Array.isArray(raw), `${where}: not an object`);
  const o = raw as Record<string, unknown>;
  if (o.kind === 'error') {
    check(ERROR_CODES.includes(o.code as KvFailure['code']), `${where}: bad error code`);
    check(typeof o.message === 'string', `${where}: bad message`);
    return { kind: 'error', code: o.code as KvFailure['code'], message: o.message as string };
  }
  check(isCount(o.revision) && (o.revision as number) >= 1, `${where}: bad revision`);
  const revision = o.revision as number;
  switch (o.kind) {
    case 'put': {
      const r: PutResult = { kind: 'put', revision };
      if (o.prevKv !== undefined) r.prevKv = decodeKv(o.prevKv, `${where}.prevKv`);
      return r;
    }
    case 'deleteRange': {
      check(isCount(o.deleted), `${where}: bad deleted`);
      const r: DeleteRangeResult = { kind: 'deleteRange', revision, deleted: o.deleted as number };
      if (o.prevKvs !== undefined) {
        check(Array.isArray(o.prevKvs), `${where}: bad prevKvs`);
        r.prevKvs = (o.prevKvs as unknown[]).map((kv, i) => decodeKv(kv, `${where}.prevKvs[${i}]`));
      }
      return r;
    }
    case 'range':
      check(Array.isArray(o.kvs) && isCount(o.count) && typeof o.more === 'boolean', `${where}: bad range`);
      return {
        kind: 'range',
        revision,
        kvs: (o.kvs as unknown[]).map((kv, i) => decodeKv(kv, `${where}.kvs[${i}]`)),
        count: o.count as number,
        more: o.more as boolean,
      };
    case 'txn': {
      check(typeof o.succeeded === 'boolean' && Array.isArray(o.responses), `${where}: bad txn`);
      const responses = (o.responses as unknown[]).map((x, i) => {
        const r = decodeAnyResult(x, `${where}.responses[${i}]`);
        check(r.kind === 'range' || r.kind === 'put' || r.kind === 'deleteRange', `${where}.responses[${i}]: bad kind`);
        return r as OpResult;
      });
      return { kind: 'txn', revision, succeeded: o.succeeded as boolean, responses };
    }
    case 'leaseGrant':
      check(typeof o.id === 'string' && /^[1-9][0-9]{0,18}$/.test(o.id) && isCount(o.ttl), `${where}: bad lease grant`);
      return { kind: 'leaseGrant', revision, id: BigInt(o.id as string), ttl: o.ttl as number };
    case 'leaseRevoke':
      check(isCount(o.deleted), `${where}: bad deleted`);
      return { kind: 'leaseRevoke', revision, deleted: o.deleted as number };
    case 'compaction':
      return { kind: 'compaction', revision };
    default:
      throw new Error(`corrupt KV snapshot: ${where}: unknown kind`);
  }
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`corrupt KV snapshot: ${what}`);
}
