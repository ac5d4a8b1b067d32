// Lessor: client key leases, as etcd's lessor (etcd-io/etcd server/lease/lessor.go)
// and Xline's LeaseCollection (xline-kv/Xline crates/xline/src/storage/lease_store/
// lease_collection.rs) keep them. Named apart from the Raft leader lease for
// reads (`leaderLease`, thesis §6.4, src/states/leader.ts): this is the other
// kind of lease, the one clients grant and attach keys to.
//
// It has two parts, which must not be confused:
//
// 1. Replicated state: the lease map (id -> TTL and attached keys) and the
//    key -> lease map, as Xline's `lease_map` and `item_map`. It changes only
//    inside apply(), in log order, through the LeaseStore methods KvStore
//    calls for grant, revoke and puts (attach / detach / move). It reads no
//    clock, so every replica holds exactly the same leases at the same log
//    index, and it goes into the KvStore snapshot (and so survives restarts
//    and InstallSnapshot).
//
// 2. Leader-only ("primary") state: one deadline per lease, in a binary heap
//    ordered by deadline (etcd's LeaseQueue). Deadlines come from an injected
//    clock: each method that needs the time takes `now` (milliseconds) as an
//    argument, the real clock in the node and the simulated one in the
//    simulator. Only the primary has deadlines: promote(now, extend) arms every
//    lease at now + TTL + extend (etcd's Promote), demote() drops them all at
//    once (Xline's demote sets every lease to "forever"; we simply forget).
//    The expiry task asks expired(now) for leases to revoke and proposes a
//    revoke for each through the log; nothing here deletes anything.
//
// When to promote and demote, and how keep-alives are confirmed, is the
// LeaseKeeper's business (src/kv/lease-keeper.ts); see docs/leases.md for the
// guarantee and why it holds.

import { keyFromString, keyString } from './bytes';
import { KeyValue, LeaseId, LeaseStore, NO_LEASE } from './types';

/** One lease in the replicated state. */
interface LeaseEntry {
  /** Seconds, as granted. */
  ttl: number;
  /** Attached keys, as keyString(). */
  keys: Set<string>;
}

/** What renew() made of a keep-alive. */
export type RenewResult =
  /** Renewed: the lease lives at least `ttl` seconds from the keep-alive's arrival. */
  | { kind: 'renewed'; ttl: number }
  /** No such lease (never granted, or revoked and applied). */
  | { kind: 'not-found' }
  /**
   * Its deadline passed on this primary: a revoke is (or will be) proposed.
   * A keep-alive must not bring it back, or the revoke already on its way
   * would delete the keys of a lease the client was just told is alive.
   */
  | { kind: 'expired' }
  /** This lessor keeps no deadlines (not the leader, or not promoted yet). */
  | { kind: 'not-primary' };

export interface LessorOptions {
  /**
   * An expired lease handed out by expired() comes back after this long if it
   * is still there (its revoke got lost, e.g. the proposal timed out). etcd
   * retries after 3 s; default 1000 ms.
   */
  retryMs?: number;
}

export class Lessor implements LeaseStore {
  // ---- Replicated state (changed only by applied commands and restore) ----------
  private leases = new Map<LeaseId, LeaseEntry>();
  private keyLease = new Map<string, LeaseId>();

  // ---- Leader-only state (never in snapshots) -------------------------------------
  private primary = false;
  /** The deadline (ms) of every armed lease. Invariant: only while primary. */
  private readonly deadlines = new Map<LeaseId, number>();
  /** Deadlines in a heap; entries that no longer match `deadlines` are stale and skipped. */
  private readonly heap = new ExpiryHeap();
  /**
   * Leases granted (applied) while primary, not yet given a deadline: apply()
   * must not read the clock, so the driver arms them right after the apply
   * (armPending), at a time no earlier than the grant was applied.
   */
  private readonly unarmed = new Set<LeaseId>();
  /** Leases whose deadline passed on this primary: they stay expired until revoked. */
  private readonly expiredIds = new Set<LeaseId>();
  readonly retryMs: number;

  constructor(options: LessorOptions = {}) {
    this.retryMs = options.retryMs ?? 1000;
  }

  // ---- LeaseRegistry / LeaseStore: called inside apply() and restore() ------------

  exists(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  grant(id: LeaseId, ttl: number): boolean {
    if (id === NO_LEASE || this.leases.has(id)) return false;
    this.leases.set(id, { ttl, keys: new Set() });
    if (this.primary) this.unarmed.add(id);
    return true;
  }

  attach(id: LeaseId, key: Buffer): void {
    const lease = this.leases.get(id);
    if (!lease) return; // KvStore checked exists() first; nothing to attach to otherwise
    const k = keyString(key);
    const old = this.keyLease.get(k);
    if (old !== undefined && old !== id) this.leases.get(old)?.keys.delete(k);
    lease.keys.add(k);
    this.keyLease.set(k, id);
  }

  detach(id: LeaseId, key: Buffer): void {
    const k = keyString(key);
    this.leases.get(id)?.keys.delete(k);
    if (this.keyLease.get(k) === id) this.keyLease.delete(k);
  }

  keysOf(id: LeaseId): Buffer[] | null {
    const lease = this.leases.get(id);
    if (!lease) return null;
    // Byte order, so a revoke deletes in the same order everywhere (etcd's
    // Revoke sorts "so deletes are in same order among all members").
    return [...lease.keys].sort().map(keyFromString);
  }

  remove(id: LeaseId): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    for (const k of lease.keys) if (this.keyLease.get(k) === id) this.keyLease.delete(k);
    this.leases.delete(id);
    this.deadlines.delete(id);
    this.unarmed.delete(id);
    this.expiredIds.delete(id);
  }

  list(): [LeaseId, number][] {
    return [...this.leases.entries()].map(([id, l]) => [id, l.ttl] as [LeaseId, number]).sort((a, b) => cmp(a[0], b[0]));
  }

  restore(leases: [LeaseId, number][], kvs: Iterable<KeyValue>): void {
    this.leases = new Map(leases.map(([id, ttl]) => [id, { ttl, keys: new Set<string>() }]));
    this.keyLease = new Map();
    for (const kv of kvs) if (kv.lease !== NO_LEASE) this.attach(kv.lease, kv.key);
    // A snapshot replaces everything: deadlines of a primary start over.
    this.deadlines.clear();
    this.heap.clear();
    this.expiredIds.clear();
    this.unarmed.clear();
    if (this.primary) for (const id of this.leases.keys()) this.unarmed.add(id);
  }

  // ---- Replicated state, read-only --------------------------------------------------

  /** Every lease ID, ascending. */
  ids(): LeaseId[] {
    return [...this.leases.keys()].sort(cmp);
  }

  /** The granted TTL in seconds, or undefined for an unknown lease. */
  ttlOf(id: LeaseId): number | undefined {
    return this.leases.get(id)?.ttl;
  }

  /** The lease `key` is attached to, or NO_LEASE. */
  leaseOf(key: Uint8Array): LeaseId {
    return this.keyLease.get(keyString(key)) ?? NO_LEASE;
  }

  get size(): number {
    return this.leases.size;
  }

  /**
   * The replicated state as canonical text (for tests and the simulator):
   * equal on two replicas iff they hold the same leases and attachments.
   */
  digest(): string {
    const leases = this.ids().map((id) => [id.toString(), this.leases.get(id)!.ttl, [...this.leases.get(id)!.keys].sort()]);
    const keys = [...this.keyLease.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, id]) => [k, id.toString()]);
    return JSON.stringify({ leases, keys });
  }

  // ---- Leader-only: deadlines ----------------------------------------------------------

  get isPrimary(): boolean {
    return this.primary;
  }

  /**
   * Become the primary: arm every lease at now + TTL + extendMs (etcd's
   * Promote(extend), with extend = one election timeout). A new leader knows
   * nothing of the keep-alives its predecessor acknowledged, so each lease
   * gets at least its full TTL from now.
   */
  promote(now: number, extendMs = 0): void {
    this.primary = true;
    this.deadlines.clear();
    this.heap.clear();
    this.unarmed.clear();
    this.expiredIds.clear();
    for (const [id, lease] of this.leases) this.arm(id, now + lease.ttl * 1000 + extendMs);
  }

  /** Stop being primary: every deadline goes at once (a follower never expires anything). */
  demote(): void {
    this.primary = false;
    this.deadlines.clear();
    this.heap.clear();
    this.unarmed.clear();
    this.expiredIds.clear();
  }

  /** Arm the leases granted since the last call at now + TTL. No-op unless primary. */
  armPending(now: number): void {
    if (!this.primary || this.unarmed.size === 0) return;
    for (const id of [...this.unarmed].sort(cmp)) {
      const lease = this.leases.get(id);
      if (lease) this.arm(id, now + lease.ttl * 1000);
    }
    this.unarmed.clear();
  }

  /**
   * A keep-alive for `id` that arrived at `receivedAt` and was confirmed by
   * `now` (the keeper checked, in between, that we still lead). The deadline
   * becomes at least receivedAt + TTL; it never moves earlier (a promotion's
   * extension is kept). An expired lease is not renewed.
   */
  renew(id: LeaseId, receivedAt: number, now: number): RenewResult {
    if (!this.primary) return { kind: 'not-primary' };
    const lease = this.leases.get(id);
    if (!lease) return { kind: 'not-found' };
    this.armPending(now);
    const deadline = this.deadlines.get(id)!;
    if (this.expiredIds.has(id) || deadline <= now) return { kind: 'expired' };
    const next = Math.max(deadline, receivedAt + lease.ttl * 1000);
    if (next !== deadline) this.arm(id, next);
    return { kind: 'renewed', ttl: lease.ttl };
  }

  /** Milliseconds left before `id` expires (0 once expired); null if unknown or not primary. */
  remainingMs(id: LeaseId, now: number): number | null {
    if (!this.primary || !this.leases.has(id)) return null;
    this.armPending(now);
    if (this.expiredIds.has(id)) return 0;
    return Math.max(0, this.deadlines.get(id)! - now);
  }

  /** The deadline of `id` (tests), or undefined. */
  deadlineOf(id: LeaseId): number | undefined {
    return this.deadlines.get(id);
  }

  /**
   * The leases whose deadline is at or before `now`, earliest first, at most
   * `max` of them (etcd rate-limits revokes the same way). Each is marked
   * expired and comes back after retryMs if it is still not revoked then.
   * Empty unless primary.
   */
  expired(now: number, max = Infinity): LeaseId[] {
    if (!this.primary) return [];
    this.armPending(now);
    const out: LeaseId[] = [];
    while (out.length < max) {
      const top = this.heap.peek();
      if (!top || top.deadline > now) break;
      this.heap.pop();
      if (this.deadlines.get(top.id) !== top.deadline) continue; // stale: renewed or removed since
      out.push(top.id);
      this.expiredIds.add(top.id);
      this.arm(top.id, now + this.retryMs);
    }
    return out;
  }

  private arm(id: LeaseId, deadline: number): void {
    this.deadlines.set(id, deadline);
    this.heap.push({ deadline, id });
    // Renewals leave stale entries behind; rebuild before they pile up.
    if (this.heap.size > 2 * this.deadlines.size + 64) {
      this.heap.clear();
      for (const [i, d] of this.deadlines) this.heap.push({ deadline: d, id: i });
    }
  }
}

/** Ascending bigint order. */
function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface HeapItem {
  deadline: number;
  id: LeaseId;
}

/**
 * A binary min-heap of (deadline, id): the root is the earliest deadline,
 * ties broken by ID so the order is the same on every run. Written out by
 * hand: an array where the children of i are 2i + 1 and 2i + 2.
 */
export class ExpiryHeap {
  private items: HeapItem[] = [];

  get size(): number {
    return this.items.length;
  }

  clear(): void {
    this.items = [];
  }

  peek(): HeapItem | undefined {
    return this.items[0];
  }

  push(item: HeapItem): void {
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  pop(): HeapItem | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const x = this.items[i];
    const y = this.items[j];
    return x.deadline < y.deadline || (x.deadline === y.deadline && x.id < y.id);
  }

  private swap(i: number, j: number): void {
    const t = this.items[i];
    this.items[i] = this.items[j];
    this.items[j] = t;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.less(l, smallest)) smallest = l;
      if (r < n && this.less(r, smallest)) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
