// The Lessor on its own (src/kv/lessor.ts): its replicated part driven through
// KvStore by applied commands (grant, revoke, puts that attach, detach and
// move keys), snapshots, the leader-only deadline heap, and the LeaseKeeper's
// promote / demote / expiry rules (src/kv/lease-keeper.ts).

import { expect } from 'chai';
import {
  CommandError,
  ExpiryHeap,
  KvStore,
  LeaseKeeper,
  LeaseRevokeJson,
  Lessor,
  NO_LEASE,
  RaftView,
  decodeCommand,
  encodeCommand,
  minLeaseTtlSeconds,
} from '../../src/kv';
import { SeededRng } from '../../src/time/rng';
import { Driver, b } from './helpers';

function leased(): { d: Driver; lessor: Lessor } {
  const lessor = new Lessor();
  return { d: new Driver(new KvStore({ leases: lessor })), lessor };
}

function grant(d: Driver, id: bigint, ttl: number) {
  return d.applyCommand({ op: 'leaseGrant', session: null, request: { id, ttl } });
}

function revoke(d: Driver, id: bigint) {
  return d.applyCommand({ op: 'leaseRevoke', session: null, request: { id } });
}

describe('ExpiryHeap: a binary min-heap by deadline, then ID', () => {
  it('pops random deadlines in order, ties by ID', () => {
    const rng = new SeededRng(7);
    const h = new ExpiryHeap();
    const items: { deadline: number; id: bigint }[] = [];
    for (let i = 0; i < 500; i++) {
      const item = { deadline: rng.int(0, 50), id: BigInt(rng.int(1, 1_000_000)) };
      items.push(item);
      h.push(item);
      // Interleave pops, as the expiry task does.
      if (rng.chance(0.2)) {
        const top = h.pop()!;
        items.splice(items.indexOf(top), 1);
        for (const it of items) {
          expect(it.deadline > top.deadline || (it.deadline === top.deadline && it.id >= top.id)).to.equal(true);
        }
      }
    }
    const sorted = [...items].sort((a, b) => a.deadline - b.deadline || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const popped = [];
    while (h.size > 0) popped.push(h.pop());
    expect(popped).to.deep.equal(sorted);
    expect(h.pop()).to.equal(undefined);
  });
});

describe('Lessor: replicated state, changed only by applied commands', () => {
  it('grant returns ID and TTL and keeps the revision; a duplicate ID is refused', () => {
    const { d, lessor } = leased();
    const big = 9168662553930758671n; // an etcd-sized ID, above 2^53
    expect(grant(d, big, 5)).to.deep.equal({ kind: 'leaseGrant', revision: 1, id: big, ttl: 5 });
    expect(grant(d, big, 60)).to.deep.equal({ kind: 'error', code: 'lease-exists', message: 'etcdserver: lease already exists' });
    expect(lessor.ttlOf(big)).to.equal(5);
    expect(lessor.ids()).to.deep.equal([big]);
    expect(d.kv.revision).to.equal(1);
  });

  it('a put attaches, a put without lease detaches, a put under another lease moves; unknown lease changes nothing', () => {
    const { d, lessor } = leased();
    grant(d, 10n, 5);
    grant(d, 20n, 5);
    d.put('a', '1', { lease: 10n });
    d.put('b', '1', { lease: 10n });
    expect(lessor.keysOf(10n)!.map(String)).to.deep.equal(['a', 'b']);
    expect(lessor.leaseOf(b('a'))).to.equal(10n);
    d.put('a', '2', { lease: 20n }); // move
    expect(lessor.keysOf(10n)!.map(String)).to.deep.equal(['b']);
    expect(lessor.keysOf(20n)!.map(String)).to.deep.equal(['a']);
    d.put('b', '2'); // detach
    expect(lessor.keysOf(10n)).to.deep.equal([]);
    expect(lessor.leaseOf(b('b'))).to.equal(NO_LEASE);
    const before = Buffer.from(d.kv.snapshot());
    expect(d.put('c', '1', { lease: 999n })).to.deep.include({ kind: 'error', code: 'lease-not-found' });
    expect(Buffer.from(d.kv.snapshot()).equals(before)).to.equal(true);
    // A delete detaches too.
    d.del('a');
    expect(lessor.keysOf(20n)).to.deep.equal([]);
  });

  it('revoke deletes the lease and all its keys in ONE revision, in byte order', () => {
    const { d, lessor } = leased();
    grant(d, 7n, 5);
    for (const k of ['z', 'a', 'm']) d.put(k, 'v', { lease: 7n });
    d.put('free', 'v');
    const rev = d.kv.revision;
    const deletes: string[] = [];
    const detach = lessor.detach.bind(lessor);
    lessor.detach = (id, key) => {
      deletes.push(key.toString());
      detach(id, key);
    };
    expect(revoke(d, 7n)).to.deep.equal({ kind: 'leaseRevoke', revision: rev + 1, deleted: 3 });
    expect(deletes).to.deep.equal(['a', 'm', 'z']);
    expect(d.kv.size).to.equal(1);
    expect(lessor.exists(7n)).to.equal(false);
    expect(d.kv.revision).to.equal(rev + 1);
  });

  it('revoke of an unknown lease is lease-not-found and changes nothing; a lease without keys keeps the revision', () => {
    const { d } = leased();
    d.put('a', '1');
    const before = Buffer.from(d.kv.snapshot());
    expect(revoke(d, 42n)).to.deep.equal({ kind: 'error', code: 'lease-not-found', message: 'etcdserver: requested lease not found' });
    expect(Buffer.from(d.kv.snapshot()).equals(before)).to.equal(true);
    grant(d, 42n, 3);
    expect(revoke(d, 42n)).to.deep.equal({ kind: 'leaseRevoke', revision: 2, deleted: 0 });
  });

  it('without a Lessor, lease commands are refused and change nothing', () => {
    const d = new Driver();
    expect(grant(d, 1n, 5)).to.deep.include({ kind: 'error', code: 'invalid-command' });
    expect(revoke(d, 1n)).to.deep.include({ kind: 'error', code: 'invalid-command' });
  });

  it('a retried grant (same session) is answered with the first result, not refused as a duplicate', () => {
    const { d } = leased();
    const s = { clientId: 'c1', seq: 1 };
    const first = d.applyCommand({ op: 'leaseGrant', session: s, request: { id: 5n, ttl: 9 } });
    expect(d.applyCommand({ op: 'leaseGrant', session: s, request: { id: 5n, ttl: 9 } })).to.deep.equal(first);
  });
});

describe('Lessor: snapshots carry leases and attachments', () => {
  function populated() {
    const { d, lessor } = leased();
    grant(d, 9168662553930758684n, 5);
    grant(d, 3n, 60);
    d.put('k1', 'v', { lease: 3n });
    d.put('k2', 'v', { lease: 9168662553930758684n });
    d.put('k3', 'v');
    d.applyCommand({ op: 'leaseGrant', session: { clientId: 'c', seq: 1 }, request: { id: 77n, ttl: 4 } });
    return { d, lessor };
  }

  it('restore gives the same leases, TTLs, key attachments and snapshot bytes', () => {
    const { d, lessor } = populated();
    const snap = d.kv.snapshot();
    const other = new Lessor();
    const kv2 = new KvStore({ leases: other });
    kv2.restore(snap);
    expect(other.digest()).to.equal(lessor.digest());
    expect(Buffer.from(kv2.snapshot()).equals(Buffer.from(snap))).to.equal(true);
    expect(other.keysOf(3n)!.map(String)).to.deep.equal(['k1']);
    // The restored store goes on like the original: revoke deletes the right keys.
    const d2 = new Driver(kv2);
    d2.index = d.index;
    expect(revoke(d2, 3n)).to.deep.include({ kind: 'leaseRevoke', deleted: 1 });
    expect(revoke(d, 3n)).to.deep.include({ kind: 'leaseRevoke', deleted: 1 });
    expect(Buffer.from(kv2.snapshot()).equals(Buffer.from(d.kv.snapshot()))).to.equal(true);
    // The retried grant is still answered from the dedup table after the restore.
    expect(d2.applyCommand({ op: 'leaseGrant', session: { clientId: 'c', seq: 1 }, request: { id: 77n, ttl: 4 } })).to.deep.equal({
      kind: 'leaseGrant', revision: 4, id: 77n, ttl: 4,
    });
  });

  it('refuses a snapshot whose key names a lease it does not hold; accepts one from before leases existed', () => {
    const { d } = populated();
    const j = JSON.parse(Buffer.from(d.kv.snapshot()).toString());
    j.leases = j.leases.filter((l: [string, number]) => l[0] !== '3');
    const target = new KvStore({ leases: new Lessor() });
    expect(() => target.restore(Buffer.from(JSON.stringify(j)))).to.throw(/unknown lease 3/);
    delete j.leases;
    const unleased = (kv: unknown[]) => kv.length === 2 || kv[5] === '0';
    j.base = j.base.filter(unleased);
    j.changes = j.changes.filter(unleased);
    const lessor = new Lessor();
    new KvStore({ leases: lessor }).restore(Buffer.from(JSON.stringify(j)));
    expect(lessor.size).to.equal(0);
  });
});

describe('Lessor: leader-only deadlines (injected clock)', () => {
  function withLeases(): { d: Driver; lessor: Lessor } {
    const { d, lessor } = leased();
    grant(d, 1n, 5);
    grant(d, 2n, 10);
    return { d, lessor };
  }

  it('keeps no deadlines unless primary', () => {
    const { lessor } = withLeases();
    expect(lessor.expired(1e12)).to.deep.equal([]);
    expect(lessor.renew(1n, 0, 0)).to.deep.equal({ kind: 'not-primary' });
    expect(lessor.remainingMs(1n, 0)).to.equal(null);
  });

  it('promote arms every lease at now + TTL + extension; expired() lists them in deadline order', () => {
    const { lessor } = withLeases();
    lessor.promote(1000, 300);
    expect(lessor.deadlineOf(1n)).to.equal(6300);
    expect(lessor.deadlineOf(2n)).to.equal(11300);
    expect(lessor.expired(6299)).to.deep.equal([]);
    expect(lessor.expired(20000)).to.deep.equal([1n, 2n]);
    // Handed out once; again only after retryMs if still not revoked.
    expect(lessor.expired(20000)).to.deep.equal([]);
    expect(lessor.expired(20000 + lessor.retryMs)).to.deep.equal([1n, 2n]);
  });

  it('renew counts from the arrival time, never shortens, and refuses an expired lease', () => {
    const { lessor } = withLeases();
    lessor.promote(0, 1000);
    expect(lessor.deadlineOf(1n)).to.equal(6000);
    // Arrived at 2000, confirmed at 2500: deadline 2000 + 5000 = 7000.
    expect(lessor.renew(1n, 2000, 2500)).to.deep.equal({ kind: 'renewed', ttl: 5 });
    expect(lessor.deadlineOf(1n)).to.equal(7000);
    // An older keep-alive (arrived at 1000) must not pull it back.
    lessor.renew(1n, 1000, 2600);
    expect(lessor.deadlineOf(1n)).to.equal(7000);
    expect(lessor.remainingMs(1n, 4000)).to.equal(3000);
    // Past its deadline it stays expired, even before the expiry task ran.
    expect(lessor.renew(1n, 7000, 7000)).to.deep.equal({ kind: 'expired' });
    expect(lessor.expired(7000)).to.deep.equal([1n]);
    expect(lessor.renew(1n, 7001, 7001)).to.deep.equal({ kind: 'expired' });
    expect(lessor.renew(99n, 0, 0)).to.deep.equal({ kind: 'not-found' });
  });

  it('a grant applied while primary is armed by armPending (apply reads no clock); revoke drops the deadline', () => {
    const { d, lessor } = withLeases();
    lessor.promote(0);
    grant(d, 3n, 2);
    expect(lessor.deadlineOf(3n)).to.equal(undefined);
    lessor.armPending(500);
    expect(lessor.deadlineOf(3n)).to.equal(2500);
    revoke(d, 3n);
    expect(lessor.deadlineOf(3n)).to.equal(undefined);
    expect(lessor.expired(1e9)).to.deep.equal([1n, 2n]);
  });

  it('demote drops every deadline at once', () => {
    const { lessor } = withLeases();
    lessor.promote(0);
    lessor.demote();
    expect(lessor.isPrimary).to.equal(false);
    expect(lessor.deadlineOf(1n)).to.equal(undefined);
    expect(lessor.expired(1e12)).to.deep.equal([]);
  });

  it('the heap does not grow without bound under constant renewals', () => {
    const { lessor } = withLeases();
    lessor.promote(0);
    for (let t = 0; t < 10_000; t++) lessor.renew(1n, t, t);
    expect((lessor as unknown as { heap: ExpiryHeap }).heap.size).to.be.below(100);
    expect(lessor.deadlineOf(1n)).to.equal(9999 + 5000);
  });
});

describe('LeaseKeeper: promote after an own-term entry is applied, demote at once', () => {
  function keeper(bugs = {}) {
    const { d, lessor } = leased();
    grant(d, 1n, 5);
    const proposed: LeaseRevokeJson[] = [];
    const k = new LeaseKeeper(lessor, { extendMs: 1000, propose: (c) => proposed.push(c), bugs });
    return { d, lessor, k, proposed };
  }
  const follower: RaftView = { role: 'follower', term: 2, appliedTerm: 1 };
  const newLeader: RaftView = { role: 'leader', term: 2, appliedTerm: 1 };
  const leader: RaftView = { role: 'leader', term: 2, appliedTerm: 2 };

  it('a new leader is not primary until an entry of its term is applied; then leases get TTL + extension', () => {
    const { k, lessor, proposed } = keeper();
    k.observe(follower, 0);
    expect(lessor.isPrimary).to.equal(false);
    expect(k.check(newLeader, 100_000)).to.deep.equal([]);
    expect(k.primary).to.equal(false);
    k.observe(leader, 10_000);
    expect(k.primary).to.equal(true);
    expect(lessor.deadlineOf(1n)).to.equal(16_000);
    expect(k.check(leader, 15_999)).to.deep.equal([]);
    expect(k.check(leader, 16_000)).to.deep.equal([1n]);
    expect(proposed).to.deep.equal([{ op: 'leaseRevoke', id: '1' }]);
  });

  it('stepping down (or a new term) demotes and stops the expiry task', () => {
    const { k, lessor, proposed } = keeper();
    k.observe(leader, 0);
    const epoch = k.epoch;
    expect(k.check({ ...leader, role: 'follower' }, 1e9)).to.deep.equal([]);
    expect(lessor.isPrimary).to.equal(false);
    expect(k.epoch).to.not.equal(epoch);
    k.observe(leader, 0);
    expect(k.check({ role: 'leader', term: 3, appliedTerm: 2 }, 1e9)).to.deep.equal([]);
    expect(proposed).to.deep.equal([]);
  });

  it('the bug switches change exactly what they say', () => {
    // (a) a follower expires leases on its own.
    const a = keeper({ followerExpiry: true });
    a.k.observe(follower, 0);
    expect(a.k.check(follower, 5000)).to.deep.equal([1n]);
    // (b) no re-arm: the deadline from when the node first learnt of the lease stays.
    const b2 = keeper({ noRearmOnPromote: true });
    b2.k.observe(follower, 0);
    b2.k.observe(leader, 10_000);
    expect(b2.lessor.deadlineOf(1n)).to.equal(5000);
    // (c) the expiry task survives a step-down.
    const c = keeper({ expiryAfterStepDown: true });
    c.k.observe(leader, 0);
    expect(c.k.check(follower, 1e9)).to.deep.equal([1n]);
    // (d) primary at once; (e) keep-alives skip the leadership check.
    const d4 = keeper({ promoteBeforeOwnTermCommit: true });
    d4.k.observe(newLeader, 0);
    expect(d4.k.primary).to.equal(true);
    expect(d4.k.confirmsLeadership).to.equal(true);
    expect(keeper({ ackWithoutConfirm: true }).k.confirmsLeadership).to.equal(false);
  });

  it('minimum TTL is etcd\'s ceil(1.5 x election timeout): 2 s for 1000 ms', () => {
    expect(minLeaseTtlSeconds(1000)).to.equal(2);
    expect(minLeaseTtlSeconds(300)).to.equal(1);
    expect(minLeaseTtlSeconds(5000)).to.equal(8);
  });
});

describe('Lease commands in the log', () => {
  it('round-trip through their JSON form; IDs stay exact above 2^53', () => {
    const grantCmd = { op: 'leaseGrant' as const, session: { clientId: 'c', seq: 2 }, request: { id: 9168662553930758675n, ttl: 2 } };
    const json = encodeCommand(grantCmd);
    expect(json).to.deep.equal({ op: 'leaseGrant', id: '9168662553930758675', ttl: 2, clientId: 'c', seq: 2 });
    expect(decodeCommand(JSON.parse(JSON.stringify(json)))).to.deep.equal(grantCmd);
    expect(decodeCommand({ op: 'leaseRevoke', id: '12345' })).to.deep.equal({ op: 'leaseRevoke', session: null, request: { id: 12345n } });
  });

  for (const [what, value, field] of [
    ['a grant ID of 0', { op: 'leaseGrant', id: '0', ttl: 5 }, '$.id'],
    ['a negative ID', { op: 'leaseRevoke', id: '-4' }, '$.id'],
    ['an ID as a JSON number', { op: 'leaseRevoke', id: 12345 }, '$.id'],
    ['a zero TTL', { op: 'leaseGrant', id: '1', ttl: 0 }, '$.ttl'],
    ['a fractional TTL', { op: 'leaseGrant', id: '1', ttl: 1.5 }, '$.ttl'],
    ['an unknown field', { op: 'leaseRevoke', id: '1', keys: [] }, '$.keys'],
  ] as const) {
    it(`refuses ${what}`, () => {
      expect(() => decodeCommand(value)).to.throw(CommandError).with.property('field', field);
    });
  }
});
