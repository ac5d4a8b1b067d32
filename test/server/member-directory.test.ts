// MemberDirectory: members' client URLs as replicated state beside the KV
// store (applied in log order, kept in snapshots), and the publisher that
// proposes a member's own URL until it is applied.

import { expect } from 'chai';
import { KvStore } from '../../src/kv';
import { LogEntry } from '../../src/log/types';
import { MemberDirectory, publishMemberCommand } from '../../src/server/member-directory';
import { publishMember } from '../../src/server/publish-member';

const put = (key: string, value: string) => ({
  op: 'put',
  key: Buffer.from(key).toString('base64'),
  value: Buffer.from(value).toString('base64'),
});

/** Apply `values` as consecutive log entries (through JSON, as they travel). */
function applyAll(sm: { apply(e: LogEntry): unknown }, values: unknown[]): unknown[] {
  return values.map((v, i) => sm.apply({ index: i + 1, term: 1, value: JSON.parse(JSON.stringify(v)) }));
}

describe('MemberDirectory', () => {
  it('applies publishMember itself and hands every other entry to the wrapped store', () => {
    const kv = new KvStore();
    const dir = new MemberDirectory(kv);
    applyAll(dir, [null, put('a', '1'), publishMemberCommand('n2', 'http://127.0.0.1:8002'), put('b', '2')]);
    expect(dir.get('n2')).to.equal('http://127.0.0.1:8002');
    // The store saw the two puts only: the same state as a store given just them.
    const alone = new KvStore();
    applyAll(alone, [put('a', '1'), put('b', '2')]);
    expect(Buffer.from(kv.snapshot()).equals(Buffer.from(alone.snapshot()))).to.equal(true);
  });

  it('a published URL wins over the configured one; the configured one is the fallback', () => {
    const dir = new MemberDirectory(new KvStore(), new Map([['n2', 'http://h:1'], ['n3', 'http://h:3']]));
    expect(dir.get('n2')).to.equal('http://h:1');
    applyAll(dir, [publishMemberCommand('n2', 'http://h:2')]);
    expect(dir.get('n2')).to.equal('http://h:2');
    expect(dir.get('n3')).to.equal('http://h:3');
    expect(dir.get('n4')).to.equal(undefined);
  });

  it('a later publish replaces an earlier one (a member restarted on another port)', () => {
    const dir = new MemberDirectory(new KvStore());
    applyAll(dir, [publishMemberCommand('n1', 'http://h:1'), publishMemberCommand('n1', 'http://h:9')]);
    expect(dir.get('n1')).to.equal('http://h:9');
  });

  it('a malformed publishMember changes no URL and reaches the store, which refuses it', () => {
    const kv = new KvStore();
    const dir = new MemberDirectory(kv);
    const bad = [
      { op: 'publishMember', name: 'n1', clientUrls: ['ftp://h:1'] },
      { op: 'publishMember', name: 'n1', clientUrls: ['http://h:1/path'] },
      { op: 'publishMember', name: '', clientUrls: ['http://h:1'] },
      { op: 'publishMember', name: 'n1', clientUrls: [] },
      { op: 'publishMember', name: 'n1', clientUrls: 'http://h:1' },
    ];
    for (const r of applyAll(dir, bad)) expect(r).to.deep.include({ kind: 'error', code: 'invalid-command' });
    expect(dir.members().size).to.equal(0);
  });

  it('snapshot and restore carry the directory and the store; equal states give equal bytes', () => {
    const entries = [put('k', 'v'), publishMemberCommand('n3', 'http://h:3'), publishMemberCommand('n1', 'http://h:1')];
    const a = new MemberDirectory(new KvStore());
    applyAll(a, entries);
    const snap = a.snapshot();
    const kv = new KvStore();
    const b = new MemberDirectory(kv);
    b.restore(snap);
    expect(b.get('n1')).to.equal('http://h:1');
    expect(b.get('n3')).to.equal('http://h:3');
    expect(kv.revision).to.equal(2);
    expect(Buffer.from(b.snapshot()).equals(Buffer.from(snap))).to.equal(true);
    // Published in the other order: the same state, the same bytes.
    const c = new MemberDirectory(new KvStore());
    applyAll(c, [entries[0], entries[2], entries[1]]);
    expect(Buffer.from(c.snapshot()).equals(Buffer.from(snap))).to.equal(true);
  });

  it("restores a snapshot made before the directory existed (the store's bytes alone) with an empty directory", () => {
    const old = new KvStore();
    applyAll(old, [put('k', 'v')]);
    const kv = new KvStore();
    const dir = new MemberDirectory(kv);
    applyAll(dir, [publishMemberCommand('n1', 'http://h:1')]);
    dir.restore(old.snapshot());
    expect(dir.members().size).to.equal(0);
    expect(kv.revision).to.equal(2);
  });

  it('refuses a corrupt directory head before changing anything', () => {
    const kv = new KvStore();
    const dir = new MemberDirectory(kv);
    applyAll(dir, [put('k', 'v'), publishMemberCommand('n1', 'http://h:1')]);
    const inner = Buffer.from(new KvStore().snapshot());
    const head = Buffer.from(JSON.stringify({ format: 'simpleraft-members/1', members: [['n2', ['not a url']]] }) + '\n');
    expect(() => dir.restore(Buffer.concat([head, inner]))).to.throw(/corrupt member directory/);
    expect(dir.get('n1')).to.equal('http://h:1');
    expect(kv.revision).to.equal(2);
  });
});

describe('publishMember (the publisher)', () => {
  it('retries a refused proposal until it is applied, then stops', async () => {
    const proposed: unknown[] = [];
    let refusals = 2;
    const node = {
      propose: async (cmd: unknown) => {
        proposed.push(cmd);
        if (refusals-- > 0) throw new Error('no leader');
        return { kind: 'publishMember' };
      },
    };
    let published = 0;
    const p = publishMember(node, 'n1', 'http://h:1', { retryMs: 1, onPublished: () => published++ });
    await p.done;
    expect(proposed).to.deep.equal([1, 2, 3].map(() => publishMemberCommand('n1', 'http://h:1')));
    expect(published).to.equal(1);
  });

  it('a proposal that timed out but was applied meanwhile is not proposed again', async () => {
    let calls = 0;
    let applied = false;
    const node = {
      propose: async () => {
        calls++;
        applied = true; // committed and applied after all, but the answer came too late
        throw new Error('request timed out');
      },
    };
    let published = 0;
    const p = publishMember(node, 'n1', 'http://h:1', { retryMs: 1, isPublished: () => applied, onPublished: () => published++ });
    await p.done;
    expect([calls, published]).to.deep.equal([1, 1]);
  });

  it('stop() ends the retries at once', async () => {
    let calls = 0;
    const node = { propose: async () => { calls++; throw new Error('no leader'); } };
    const p = publishMember(node, 'n1', 'http://h:1', { retryMs: 60_000 });
    await new Promise((r) => setImmediate(r));
    p.stop();
    await p.done; // would wait a minute without stop()
    expect(calls).to.equal(1);
  });
});
