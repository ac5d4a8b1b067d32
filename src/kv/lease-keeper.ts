// LeaseKeeper: when a node's Lessor is primary, and its expiry task. The same
// code runs in the real node (src/server/node.ts, real clock and timers) and in
// the simulator (src/sim/lease-sim.ts, simulated time), so the simulator checks
// what the node does.
//
// The rules (docs/leases.md explains why they are enough):
// - Only the leader is primary, and only once an entry of its own term is
//   committed and applied locally. That is when etcd promotes its lessor: on
//   applying the new leader's empty entry, "when the local member is leader and
//   finished applying all entries from the last term" (etcd-io/etcd
//   server/etcdserver/server.go, applyEntryNormal). Any revoke an old leader
//   left in our log is applied before that, so we never arm, renew or report a
//   lease that is about to vanish under us (as ReadIndex waits, thesis §6.4
//   step 1).
// - Promotion re-arms every lease at now + TTL + extendMs (etcd's
//   Promote(electionTimeout); etcd PR #4778: "The new leader needs to refresh
//   with an extened TTL to gracefully handle the potential concurrent leaders
//   issue").
// - The moment the node is no longer leader of the term it was promoted in,
//   the lessor is demoted: every deadline is dropped and the expiry task stops.
// - The expiry task proposes a revoke through the log for each expired lease:
//   the same command as a client's revoke. A revoke proposed in an old term
//   commits only if our entries of that term survive, i.e. only if we were the
//   legitimate leader ("The old primary leader cannot affect the correctness
//   since its proposal has a smaller term and will not be committed", etcd-io/
//   etcd server/lease/lessor.go).
// - A keep-alive is acknowledged only by the primary, after a ReadIndex round
//   (thesis §6.4) confirms that it still leads, and it renews from the time the
//   keep-alive arrived (etcd does the same since etcd-io/etcd#15247:
//   ensureLeadership before LeaseRenew).
//
// The bug switches put back classic mistakes, one at a time, for the
// simulator to catch (test/sim/lease.test.ts). They exist only for tests.

import { LeaseRevokeJson } from './commands';
import { Lessor } from './lessor';
import { LeaseId } from './types';

/** Classic lease bugs, for the simulator to catch. All false by default; never set outside tests. */
export interface LeaseBugs {
  /** (a) Followers keep deadlines from when they applied the grant and revoke expired leases themselves. */
  followerExpiry: boolean;
  /** (b) Every node keeps deadlines from when it applied the grant; a new leader uses them as they are. */
  noRearmOnPromote: boolean;
  /** (c) A leader that steps down keeps its deadlines and its expiry task keeps proposing revokes. */
  expiryAfterStepDown: boolean;
  /**
   * (d) A new leader is primary at once, before an entry of its term is
   * applied. Alone, the confirmation round of keep-alives hides it (ReadIndex
   * waits for that entry too); with (e) it lets a new leader acknowledge a
   * keep-alive for a lease that an old leader's revoke, committed together
   * with the new leader's first entry, is about to delete.
   */
  promoteBeforeOwnTermCommit: boolean;
  /**
   * (e) The primary acknowledges keep-alives without confirming that it still
   * leads (etcd before etcd-io/etcd#15247): a stalled leader that wakes up
   * renews leases that a newer leader may already be expiring.
   */
  ackWithoutConfirm: boolean;
}

export const NO_LEASE_BUGS: LeaseBugs = {
  followerExpiry: false,
  noRearmOnPromote: false,
  expiryAfterStepDown: false,
  promoteBeforeOwnTermCommit: false,
  ackWithoutConfirm: false,
};

/** What the keeper needs to know of the Raft node, read fresh at every call. */
export interface RaftView {
  role: 'follower' | 'candidate' | 'leader';
  term: number;
  /** Term of the last entry applied to the state machine (0 if none). */
  appliedTerm: number;
}

export interface LeaseKeeperOptions {
  /** Added to every deadline at promotion (default 0; the node uses one election timeout). */
  extendMs?: number;
  /** Proposes a command through the log (a revoke of the expiry task). */
  propose: (command: LeaseRevokeJson) => void;
  /** At most this many revokes per expiry check (etcd limits its revoke rate likewise). */
  maxRevokesPerCheck?: number;
  bugs?: Partial<LeaseBugs>;
}

export class LeaseKeeper {
  readonly lessor: Lessor;
  readonly extendMs: number;
  readonly bugs: LeaseBugs;
  private readonly propose: (command: LeaseRevokeJson) => void;
  private readonly maxRevokes: number;
  /** The term we are primary in, or null. Invariant: lessor.isPrimary when not null (unless bugs). */
  private promotedTerm: number | null = null;
  /** Bumped at every promotion and demotion: a keep-alive checks it did not change while it waited. */
  private epochCounter = 0;
  /** Bug (c): we stepped down but our expiry task runs on. */
  private zombie = false;

  constructor(lessor: Lessor, options: LeaseKeeperOptions) {
    this.lessor = lessor;
    this.extendMs = options.extendMs ?? 0;
    this.propose = options.propose;
    this.maxRevokes = options.maxRevokesPerCheck ?? 1000;
    this.bugs = { ...NO_LEASE_BUGS, ...options.bugs };
  }

  /** Primary: leader of the current term with an entry of that term applied. */
  get primary(): boolean {
    return this.promotedTerm !== null;
  }

  get epoch(): number {
    return this.epochCounter;
  }

  /** Must a keep-alive confirm leadership (ReadIndex) before it is acknowledged? */
  get confirmsLeadership(): boolean {
    return !this.bugs.ackWithoutConfirm;
  }

  /**
   * Promote or demote as the Raft state says. Call after every Ready the
   * driver handled, and before every use of the lessor's deadlines.
   */
  observe(view: RaftView, now: number): void {
    const leader = view.role === 'leader';
    if (this.promotedTerm !== null && (!leader || view.term !== this.promotedTerm)) {
      // We stepped down (or lost and won again in a new term): stop at once.
      this.promotedTerm = null;
      this.epochCounter++;
      if (this.bugs.expiryAfterStepDown) this.zombie = true;
      else if (!this.bugs.noRearmOnPromote) this.lessor.demote();
    }
    if (leader && this.promotedTerm === null) {
      // §6.4 step 1, as for reads: wait for an entry of our own term.
      if (view.appliedTerm === view.term || this.bugs.promoteBeforeOwnTermCommit) {
        if (!(this.bugs.noRearmOnPromote && this.lessor.isPrimary)) this.lessor.promote(now, this.extendMs);
        this.promotedTerm = view.term;
        this.zombie = false;
        this.epochCounter++;
      }
    }
    // Bugs (a), (b): every node keeps deadlines from the time it learns of a lease.
    if ((this.bugs.followerExpiry || this.bugs.noRearmOnPromote) && !this.lessor.isPrimary) this.lessor.promote(now, 0);
    this.lessor.armPending(now);
  }

  /** The expiry task: propose a revoke for every lease that expired. Returns them. */
  check(view: RaftView, now: number): LeaseId[] {
    this.observe(view, now);
    const runs =
      this.primary || (this.bugs.followerExpiry && view.role !== 'leader') || (this.bugs.expiryAfterStepDown && this.zombie);
    if (!runs) return [];
    const ids = this.lessor.expired(now, this.maxRevokes);
    for (const id of ids) this.propose({ op: 'leaseRevoke', id: id.toString() });
    return ids;
  }
}

/** The smallest TTL granted, in seconds: etcd's ceil(1.5 x election timeout), at least 1. */
export function minLeaseTtlSeconds(electionTimeoutMs: number): number {
  return Math.max(1, Math.ceil((1.5 * electionTimeoutMs) / 1000));
}

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;
