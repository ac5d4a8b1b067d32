// The HTTP API on 127.0.0.1 over a fake NodeHandle: etcd gateway shapes
// (compared with the recorded etcd 3.4 samples in ../shared), errors, limits,
// the 503 paths, and robustness against malformed input.

import { expect } from 'chai';
import * as net from 'node:net';
import { memberIdOf } from '../../src/api/ids';
import { SeededRng } from '../../src/time/rng';
import { b64, get, post, startApi } from './fake-node';

type Started = Awaited<ReturnType<typeof startApi>>;

/** Replace the header's IDs, which differ from etcd's, after checking their form. */
function masked(json: Record<string, unknown> | null): unknown {
  expect(json, 'a JSON body').to.not.equal(null);
  const h = json!.header as Record<string, unknown>;
  expect(h.cluster_id).to.match(/^[1-9][0-9]*$/);
  expect(h.member_id).to.match(/^[1-9][0-9]*$/);
  return { ...json, header: { ...h, cluster_id: 'C', member_id: 'M' } };
}

const hdr = (revision: string) => ({ cluster_id: 'C', member_id: 'M', revision, raft_term: '2' });

describe('HTTP API: etcd gateway shapes (recorded etcd 3.4 samples)', () => {
  let s: Started;
  before(async () => {
    s = await startApi('n1');
  });
  after(async () => {
    await s.api.close();
  });
  const rpc = (path: string, body: unknown, headers?: Record<string, string>) => post(s.url + path, body, headers);

  it('replays samples 1-9: put, put with prev_kv, ranges (prefix, keys_only+limit, count_only, missing)', async () => {
    let r = await rpc('/v3/kv/put', { key: 'ZGVtby9h', value: 'MQ==' });
    expect(r.status).to.equal(200);
    expect(masked(r.json)).to.deep.equal({ header: hdr('2') });
    expect(r.headers.get('content-type')).to.equal('application/json');

    r = await rpc('/v3/kv/put', { key: 'ZGVtby9h', value: 'Mg==', prev_kv: true });
    expect(masked(r.json)).to.deep.equal({
      header: hdr('3'),
      prev_kv: { key: 'ZGVtby9h', create_revision: '2', mod_revision: '2', version: '1', value: 'MQ==' },
    });
    // Key order as etcd writes it, not just the same members.
    expect(Object.keys((r.json!.prev_kv as object))).to.deep.equal(['key', 'create_revision', 'mod_revision', 'version', 'value']);

    r = await rpc('/v3/kv/put', { key: 'ZGVtby9i', value: 'eA==' });
    expect(masked(r.json)).to.deep.equal({ header: hdr('4') });

    const a = { key: 'ZGVtby9h', create_revision: '2', mod_revision: '3', version: '2', value: 'Mg==' };
    const bb = { key: 'ZGVtby9i', create_revision: '4', mod_revision: '4', version: '1', value: 'eA==' };
    r = await rpc('/v3/kv/range', { key: 'ZGVtby9h' });
    expect(masked(r.json)).to.deep.equal({ header: hdr('4'), kvs: [a], count: '1' });
    r = await rpc('/v3/kv/range', { key: 'ZGVtby9h', serializable: true });
    expect(masked(r.json)).to.deep.equal({ header: hdr('4'), kvs: [a], count: '1' });
    r = await rpc('/v3/kv/range', { key: 'ZGVtby8=', range_end: 'ZGVtbzA=' });
    expect(masked(r.json)).to.deep.equal({ header: hdr('4'), kvs: [a, bb], count: '2' });
    r = await rpc('/v3/kv/range', { key: 'ZGVtby8=', range_end: 'ZGVtbzA=', keys_only: true, limit: 1 });
    expect(masked(r.json)).to.deep.equal({
      header: hdr('4'),
      kvs: [{ key: 'ZGVtby9h', create_revision: '2', mod_revision: '3', version: '2' }],
      more: true,
      count: '2',
    });
    expect(Object.keys(r.json!)).to.deep.equal(['header', 'kvs', 'more', 'count']);
    r = await rpc('/v3/kv/range', { key: 'ZGVtby8=', range_end: 'ZGVtbzA=', count_only: true });
    expect(masked(r.json)).to.deep.equal({ header: hdr('4'), count: '2' });
    r = await rpc('/v3/kv/range', { key: 'ZGVtby9taXNzaW5n' });
    expect(masked(r.json)).to.deep.equal({ header: hdr('4') });
  });

  it('replays samples 35-37: deleterange one key, a missing key, a prefix with prev_kv', async () => {
    await rpc('/v3/kv/put', { key: b64('demo/c'), value: b64('y') }); // revision 5
    let r = await rpc('/v3/kv/deleterange', { key: 'ZGVtby9h' });
    expect(masked(r.json)).to.deep.equal({ header: hdr('6'), deleted: '1' });
    r = await rpc('/v3/kv/deleterange', { key: 'ZGVtby9h' });
    expect(masked(r.json)).to.deep.equal({ header: hdr('6') });
    r = await rpc('/v3/kv/deleterange', { key: 'ZGVtby8=', range_end: 'ZGVtbzA=', prev_kv: true });
    expect(masked(r.json)).to.deep.equal({
      header: hdr('7'),
      deleted: '2',
      prev_kvs: [
        { key: 'ZGVtby9i', create_revision: '4', mod_revision: '4', version: '1', value: 'eA==' },
        { key: 'ZGVtby9j', create_revision: '5', mod_revision: '5', version: '1', value: 'eQ==' },
      ],
    });
  });

  it('replays samples 38-39: txn compare-and-swap, holding and failing', async () => {
    await rpc('/v3/kv/put', { key: 'ZGVtby9jYXM=', value: 'b2xk' }); // revision 8
    const txn = {
      compare: [{ key: 'ZGVtby9jYXM=', target: 'VALUE', result: 'EQUAL', value: 'b2xk' }],
      success: [{ request_put: { key: 'ZGVtby9jYXM=', value: 'bmV3' } }],
      failure: [{ request_range: { key: 'ZGVtby9jYXM=' } }],
    };
    let r = await rpc('/v3/kv/txn', txn);
    expect(masked(r.json)).to.deep.equal({
      header: hdr('9'),
      succeeded: true,
      responses: [{ response_put: { header: { revision: '9' } } }],
    });
    r = await rpc('/v3/kv/txn', txn);
    expect(masked(r.json)).to.deep.equal({
      header: hdr('9'),
      responses: [
        {
          response_range: {
            header: { revision: '9' },
            kvs: [{ key: 'ZGVtby9jYXM=', create_revision: '8', mod_revision: '9', version: '2', value: 'bmV3' }],
            count: '1',
          },
        },
      ],
    });
  });

  it('replays samples 40-45: missing key, bad base64, truncated JSON, v3beta, v3alpha 404, GET 405', async () => {
    let r = await rpc('/v3/kv/put', { value: 'dg==' });
    expect(r.status).to.equal(400);
    expect(r.json).to.deep.equal({
      error: 'etcdserver: key is not provided', message: 'etcdserver: key is not provided', code: 3, field: 'key',
    });
    r = await rpc('/v3/kv/put', { key: '!!!' });
    expect(r.status).to.equal(400);
    expect(r.json).to.include({ code: 3, field: 'key' });
    expect(r.json!.error).to.equal('bad field "key": illegal base64 data at input byte 0');
    expect(r.json!.message).to.equal(r.json!.error);
    r = await rpc('/v3/kv/put', '{"key":');
    expect(r.status).to.equal(400);
    expect(r.json).to.include({ code: 3, field: 'body' });
    expect(r.json!.error).to.match(/^bad JSON body: /);
    r = await rpc('/v3beta/kv/range', { key: 'ZGVtby9ub25l' });
    expect(r.status).to.equal(200);
    expect(Object.keys(r.json!)).to.deep.equal(['header']);
    r = await rpc('/v3alpha/kv/range', { key: 'ZGVtby9ub25l' });
    expect([r.status, r.text]).to.deep.equal([404, '404 page not found\n']);
    const g = await get(s.url + '/v3/kv/range');
    expect([g.status, g.text, g.headers.get('allow')]).to.deep.equal([405, 'Method Not Allowed\n', 'POST']);
  });

  it('accepts int64 fields as numbers or strings; answers int64 as strings', async () => {
    await rpc('/v3/kv/put', { key: b64('i/1'), value: b64('x') });
    await rpc('/v3/kv/put', { key: b64('i/2'), value: b64('y'), lease: '0' });
    const asString = await rpc('/v3/kv/range', { key: b64('i/'), range_end: b64('i0'), limit: '1', revision: '0' });
    const asNumber = await rpc('/v3/kv/range', { key: b64('i/'), range_end: b64('i0'), limit: 1, revision: 0 });
    expect(asString.status).to.equal(200);
    expect(asString.json).to.deep.equal(asNumber.json);
    expect(asString.json).to.include({ more: true, count: '2' });
    const kv = (asString.json!.kvs as Record<string, unknown>[])[0];
    for (const f of ['create_revision', 'mod_revision', 'version']) expect(kv[f]).to.be.a('string');
    const h = asString.json!.header as Record<string, unknown>;
    for (const f of ['cluster_id', 'member_id', 'revision', 'raft_term']) expect(h[f]).to.be.a('string');
    expect(h.member_id).to.equal(memberIdOf('n1'));
  });

  it('reads int64 numbers of any size exactly, as etcd does: int64 max as a bare number, a string with spaces; etcd\'s 400 otherwise', async () => {
    const max = await rpc('/v3/kv/range', `{"key": "${b64('i/')}", "range_end": "${b64('i0')}", "limit": 9223372036854775807, "keys_only": true}`);
    expect(max.status, max.text).to.equal(200);
    expect(max.json).to.not.have.property('more');
    expect(max.json).to.include({ count: '2' });
    const spaced = await rpc('/v3/kv/range', { key: b64('i/'), range_end: b64('i0'), limit: ' 1 ' });
    expect(spaced.json).to.include({ more: true });
    // The rule in txn compares too: a revision past any the store has is greater than all of them.
    const cmp = await rpc('/v3/kv/txn', `{"compare": [{"key": "${b64('i/1')}", "target": "MOD", "result": "LESS", "mod_revision": 9223372036854775807}]}`);
    expect(cmp.json).to.include({ succeeded: true });
    for (const [body, text] of [
      [`{"key": "aw==", "limit": 1.5}`, '1.5'],
      [`{"key": "aw==", "limit": "99999999999999999999"}`, '99999999999999999999'],
    ]) {
      const r = await rpc('/v3/kv/range', body);
      expect(r.status).to.equal(400);
      expect(r.json).to.deep.equal({
        error: `json: cannot unmarshal number ${text} into Go value of type int64 (field "limit")`,
        message: `json: cannot unmarshal number ${text} into Go value of type int64 (field "limit")`,
        code: 3,
        field: 'limit',
      });
    }
  });

  it('leaves out empty values, and unknown request fields are ignored', async () => {
    await rpc('/v3/kv/put', { key: b64('empty'), whatever: [1, 2] });
    const r = await rpc('/v3/kv/range', { key: b64('empty'), flavour: 'vanilla' });
    const kv = (r.json!.kvs as Record<string, unknown>[])[0];
    expect(kv).to.not.have.property('value');
    expect(kv).to.not.have.property('lease');
  });

  it('sort_order and sort_target take names or numbers', async () => {
    const byName = await rpc('/v3/kv/range', { key: b64('i/'), range_end: b64('i0'), sort_order: 'DESCEND', keys_only: true });
    const byNumber = await rpc('/v3/kv/range', { key: b64('i/'), range_end: b64('i0'), sort_order: 2, keys_only: true });
    expect(byName.json).to.deep.equal(byNumber.json);
    expect((byName.json!.kvs as { key: string }[]).map((k) => k.key)).to.deep.equal([b64('i/2'), b64('i/1')]);
  });

  it('a put with a lease, with no lease keeper yet, is refused as etcd refuses an unknown lease (404)', async () => {
    const r = await rpc('/v3/kv/put', { key: b64('demo/x'), value: 'dg==', lease: 999 });
    expect(r.status).to.equal(404);
    expect(r.json).to.deep.equal({
      error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5,
    });
  });

  it('refuses a range at a past or future revision with a clear 400 (no history is kept)', async () => {
    let r = await rpc('/v3/kv/range', { key: 'ZGVtby9h', revision: 2 });
    expect(r.status).to.equal(400);
    expect(r.json).to.include({ code: 11, field: 'revision' });
    expect(r.json!.error).to.match(/historical reads are not supported/);
    r = await rpc('/v3/kv/range', { key: 'ZGVtby9h', revision: '999999' });
    expect(r.status).to.equal(400);
    expect(r.json!.error).to.equal('etcdserver: mvcc: required revision is a future revision');
  });
});

describe('HTTP API: reads and writes go through the NodeHandle', () => {
  let s: Started;
  beforeEach(async () => {
    s = await startApi('n1');
  });
  afterEach(async () => {
    await s.api.close();
  });

  it('a default range waits for the read barrier; serializable reads do not', async () => {
    await post(s.url + '/v3/kv/range', { key: b64('k') });
    expect(s.node.barriers).to.equal(1);
    await post(s.url + '/v3/kv/range', { key: b64('k'), serializable: true });
    expect(s.node.barriers).to.equal(1);
  });

  it('writes are proposed as plain JSON commands, with a session only when x-request-id asks for one', async () => {
    await post(s.url + '/v3/kv/put', { key: b64('k'), value: b64('v'), prev_kv: true });
    await post(s.url + '/v3/kv/put', { key: b64('k'), value: b64('w') }, { 'x-request-id': 'abc' });
    expect(s.node.proposals).to.have.length(2);
    const [plain, retriable] = s.node.proposals as Record<string, unknown>[];
    expect(plain).to.include({ op: 'put', key: b64('k'), value: b64('v'), prevKv: true });
    expect(plain).to.not.have.property('clientId');
    expect(plain).to.not.have.property('seq');
    expect(retriable).to.include({ op: 'put', clientId: 'req:abc', seq: 1 });
  });

  it('the same x-request-id is applied once and answered twice alike', async () => {
    const body = { key: b64('counter'), value: b64('1'), prev_kv: true };
    await post(s.url + '/v3/kv/put', { key: b64('counter'), value: b64('0') });
    const first = await post(s.url + '/v3/kv/put', body, { 'x-request-id': 'retry-me-1' });
    const again = await post(s.url + '/v3/kv/put', body, { 'x-request-id': 'retry-me-1' });
    expect(first.status).to.equal(200);
    expect(again.json).to.deep.equal(first.json);
    expect(s.kv.revision).to.equal(3);
    expect(s.node.proposals).to.have.length(3); // proposed twice, applied once
    const other = await post(s.url + '/v3/kv/put', body, { 'x-request-id': 'retry-me-2' });
    expect((other.json!.header as { revision: string }).revision).to.equal('4');
  });

  it('default limits: a 1 MiB value is accepted, one byte more is 413, a body over 1.5 MiB is 413', async () => {
    const mib = 1024 * 1024;
    let r = await post(s.url + '/v3/kv/put', { key: b64('big'), value: Buffer.alloc(mib, 1).toString('base64') });
    expect(r.status).to.equal(200);
    expect(s.kv.get(Buffer.from('big'))!.value.length).to.equal(mib);
    r = await post(s.url + '/v3/kv/put', { key: b64('big'), value: Buffer.alloc(mib + 1).toString('base64') });
    expect([r.status, r.json!.field]).to.deep.equal([413, 'value']);
    r = await post(s.url + '/v3/kv/put', { key: b64('big'), value: 'A'.repeat(1.6 * mib) });
    expect([r.status, r.json!.field]).to.deep.equal([413, 'body']);
  });

  it('an x-request-id reused for a different request gets 409, and a malformed one 400', async () => {
    await post(s.url + '/v3/kv/put', { key: b64('a'), value: b64('1') }, { 'x-request-id': 'id-1' });
    const r = await post(s.url + '/v3/kv/put', { key: b64('b'), value: b64('1') }, { 'x-request-id': 'id-1' });
    expect(r.status).to.equal(409);
    expect(r.json).to.include({ code: 10, field: 'x-request-id' });
    const bad = await post(s.url + '/v3/kv/put', { key: b64('b'), value: b64('1') }, { 'x-request-id': 'has space' });
    expect(bad.status).to.equal(400);
    expect(bad.json).to.include({ field: 'x-request-id' });
    expect(s.kv.get(Buffer.from('b'))).to.equal(undefined);
  });
});

describe('HTTP API: no leader, no quorum, timeouts (503, bounded)', () => {
  let s: Started;
  beforeEach(async () => {
    s = await startApi('n2', { requestTimeoutMs: 300, healthTimeoutMs: 300 }, [
      { name: 'n1', api: 'http://127.0.0.1:18001' },
      { name: 'n3' },
    ]);
  });
  afterEach(async () => {
    await s.api.close();
  });

  it('no leader known: 503 Unavailable, no hint', async () => {
    s.node.mode = 'no-leader';
    s.node.leader = null;
    const r = await post(s.url + '/v3/kv/put', { key: b64('k'), value: b64('v') });
    expect(r.status).to.equal(503);
    expect(r.json).to.deep.equal({ error: 'etcdserver: no leader', message: 'etcdserver: no leader', code: 14 });
  });

  it('a node timeout: 503 naming the leader and its API URL', async () => {
    s.node.mode = 'timeout';
    s.node.leader = 'n1';
    for (const [path, body] of [
      ['/v3/kv/put', { key: b64('k'), value: b64('v') }],
      ['/v3/kv/range', { key: b64('k') }],
    ] as const) {
      const r = await post(s.url + path, body);
      expect(r.status, path).to.equal(503);
      expect(r.json).to.deep.equal({
        error: 'etcdserver: request timed out',
        message: 'etcdserver: request timed out',
        code: 14,
        leader: 'n1',
        leader_id: memberIdOf('n1'),
        leader_url: 'http://127.0.0.1:18001',
      });
    }
  });

  it('NotLeaderError with the leader\'s API: the hint carries it', async () => {
    s.node.mode = 'not-leader';
    s.node.leader = 'n3';
    s.node.leaderApi = 'http://127.0.0.1:18003';
    const r = await post(s.url + '/v3/kv/deleterange', { key: b64('k') });
    expect(r.status).to.equal(503);
    expect(r.json).to.include({ leader: 'n3', leader_url: 'http://127.0.0.1:18003' });
  });

  it('a node that never answers: 503 after the bounded timeout, for writes and linearizable reads', async () => {
    s.node.mode = 'hang';
    s.node.leader = 'n1';
    for (const [path, body] of [
      ['/v3/kv/put', { key: b64('k'), value: b64('v') }],
      ['/v3/kv/range', { key: b64('k') }],
    ] as const) {
      const started = Date.now();
      const r = await post(s.url + path, body);
      const took = Date.now() - started;
      expect(r.status, path).to.equal(503);
      expect(r.json).to.include({ code: 14, leader: 'n1' });
      expect(took, `${path} took ${took} ms`).to.be.below(3000);
    }
    // A serializable read does not need the node: it is served at once.
    const local = await post(s.url + '/v3/kv/range', { key: b64('k'), serializable: true });
    expect(local.status).to.equal(200);
    const health = await get(s.url + '/health');
    expect(health.status).to.equal(503);
    expect(health.json).to.include({ health: 'false' });
  });
});

describe('HTTP API: malformed input (400 naming the field), limits (413), unknown paths', () => {
  let s: Started;
  before(async () => {
    s = await startApi('n1', { limits: { maxRequestBytes: 64 * 1024, maxKeyBytes: 100, maxValueBytes: 1000 } });
  });
  after(async () => {
    await s.api.close();
  });

  const cases: [string, string, unknown, string][] = [
    ['body is an array', '/v3/kv/put', [1], 'body'],
    ['body is a string', '/v3/kv/range', '"key"', 'body'],
    ['body is not JSON', '/v3/kv/range', 'key=a', 'body'],
    ['key is a number', '/v3/kv/put', { key: 5 }, 'key'],
    ['key is empty', '/v3/kv/range', { key: '' }, 'key'],
    ['value is not base64', '/v3/kv/put', { key: 'aw==', value: 'a$b=' }, 'value'],
    ['value is an object', '/v3/kv/put', { key: 'aw==', value: {} }, 'value'],
    ['range_end is not base64', '/v3/kv/range', { key: 'aw==', range_end: '@' }, 'range_end'],
    ['lease is fractional', '/v3/kv/put', { key: 'aw==', lease: 1.5 }, 'lease'],
    ['lease is not decimal', '/v3/kv/put', { key: 'aw==', lease: '0x10' }, 'lease'],
    ['lease is out of int64 range', '/v3/kv/put', { key: 'aw==', lease: '9223372036854775808' }, 'lease'],
    ['lease is past int64 as a bare number', '/v3/kv/put', '{"key": "aw==", "lease": 9223372036854775808}', 'lease'],
    ['limit is below int64 as a bare number', '/v3/kv/range', '{"key": "aw==", "limit": -9223372036854775809}', 'limit'],
    ['limit has an exponent', '/v3/kv/range', '{"key": "aw==", "limit": 1e3}', 'limit'],
    ['limit is 1.0', '/v3/kv/range', '{"key": "aw==", "limit": 1.0}', 'limit'],
    ['limit is "1.5"', '/v3/kv/range', { key: 'aw==', limit: '1.5' }, 'limit'],
    ['limit has a plus sign', '/v3/kv/range', { key: 'aw==', limit: '+1' }, 'limit'],
    ['limit has a leading zero', '/v3/kv/range', { key: 'aw==', limit: '01' }, 'limit'],
    ['limit is true', '/v3/kv/range', { key: 'aw==', limit: true }, 'limit'],
    ['a txn compare revision is fractional', '/v3/kv/txn', '{"compare": [{"key": "aw==", "target": "MOD", "mod_revision": 2.5}]}', 'compare[0].mod_revision'],
    ['a nested txn put lease is past int64', '/v3/kv/txn', '{"success": [{"request_put": {"key": "aw==", "lease": 99999999999999999999}}]}', 'success[0].request_put.lease'],
    ['sort_order is a negative number', '/v3/kv/range', { key: 'aw==', sort_order: -1 }, 'sort_order'],
    ['prev_kv is a string', '/v3/kv/put', { key: 'aw==', prev_kv: 'yes' }, 'prev_kv'],
    ['ignore_value with a value', '/v3/kv/put', { key: 'aw==', value: 'dg==', ignore_value: true }, 'value'],
    ['limit is a word', '/v3/kv/range', { key: 'aw==', limit: 'ten' }, 'limit'],
    ['serializable is 1', '/v3/kv/range', { key: 'aw==', serializable: 1 }, 'serializable'],
    ['sort_order is unknown', '/v3/kv/range', { key: 'aw==', sort_order: 'UP' }, 'sort_order'],
    ['prev_kv on delete is a number', '/v3/kv/deleterange', { key: 'aw==', prev_kv: 0 }, 'prev_kv'],
    ['txn compare is not a list', '/v3/kv/txn', { compare: {} }, 'compare'],
    ['txn op has no request', '/v3/kv/txn', { success: [{}] }, 'success[0].request'],
    ['txn put has a bad key', '/v3/kv/txn', { success: [{ request_put: { key: '!' } }] }, 'success[0].request_put.key'],
    ['txn compare has a bad target', '/v3/kv/txn', { compare: [{ key: 'aw==', target: 'SIZE' }] }, 'compare[0].target'],
  ];
  for (const [what, path, body, field] of cases) {
    it(`400 when ${what}, naming "${field}"`, async () => {
      const r = await post(s.url + path, body);
      expect(r.status, r.text).to.equal(400);
      expect(r.json).to.include({ code: 3, field });
      expect(r.json!.error).to.equal(r.json!.message);
      expect(r.json!.error).to.include(field);
    });
  }

  it('413 for a body over the limit, and for a key or value over theirs', async () => {
    let r = await post(s.url + '/v3/kv/put', { key: 'aw==', value: Buffer.alloc(70 * 1024).toString('base64') });
    expect(r.status).to.equal(413);
    expect(r.json).to.include({ code: 3, field: 'body' });
    r = await post(s.url + '/v3/kv/put', { key: 'aw==', value: Buffer.alloc(1001).toString('base64') });
    expect(r.status).to.equal(413);
    expect(r.json).to.include({ field: 'value' });
    expect(r.json!.error).to.match(/1001 bytes, the limit is 1000/);
    r = await post(s.url + '/v3/kv/range', { key: Buffer.alloc(101).toString('base64') });
    expect(r.status).to.equal(413);
    expect(r.json).to.include({ field: 'key' });
    expect(s.node.proposals).to.have.length(0);
  });

  it("413 with etcd's message, never 500, for a command the cluster's transport cannot carry", async () => {
    s.node.mode = 'too-large';
    try {
      const r = await post(s.url + '/v3/kv/put', { key: 'aw==', value: 'dg==' });
      expect(r.status, r.text).to.equal(413);
      expect(r.json).to.include({ code: 3, message: 'etcdserver: request is too large', bytes: 5000, limit: 4096 });
    } finally {
      s.node.mode = 'ok';
    }
  });

  it('413 for a chunked body (no content-length) over the limit', async () => {
    const big = Buffer.alloc(200 * 1024, 'a');
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 16 * 1024) c.enqueue(big.subarray(i, i + 16 * 1024));
        c.close();
      },
    });
    const res = await fetch(s.url + '/v3/kv/put', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).to.equal(413);
    expect(await res.json()).to.include({ field: 'body' });
  });

  it('404 for unknown paths, 405 for the wrong method', async () => {
    for (const p of ['/', '/v3/kv', '/v3/kv/put/', '/v3/lease/grants', '/status/x', '/v2/keys/a']) {
      const r = await post(s.url + p, {});
      expect(r.status, p).to.equal(404);
    }
    expect((await post(s.url + '/status', {})).status).to.equal(405);
    const put = await fetch(s.url + '/v3/kv/put', { method: 'PUT', body: '{}' });
    expect(put.status).to.equal(405);
    await put.text();
  });

  it('keeps serving after garbage on the socket and a seeded storm of malformed bodies', async () => {
    // Raw garbage that is not HTTP at all, then a truncated request line.
    for (const junk of ['\x00\x01\x02 not http\r\n\r\n', 'POST /v3/kv/put HTTP/1.1\r\nContent-Length: 99\r\n\r\n{"k']) {
      await new Promise<void>((resolve) => {
        const sock = net.connect(s.api.port, '127.0.0.1', () => sock.end(junk));
        sock.on('error', () => resolve());
        sock.on('close', () => resolve());
        sock.resume();
      });
    }
    const rng = new SeededRng(7);
    const fields = ['key', 'value', 'range_end', 'lease', 'limit', 'prev_kv', 'keys_only', 'count_only', 'revision', 'sort_order', 'compare', 'success', '__proto__'];
    const values = [null, true, 0, -1, 1.5, 2 ** 60, '', 'aw==', '!!', '0', '-5', 'ASCEND', [], {}, [{}], { request_put: {} }, 'x'.repeat(300)];
    const paths = ['/v3/kv/put', '/v3/kv/range', '/v3/kv/deleterange', '/v3/kv/txn', '/v3/maintenance/status'];
    for (let i = 0; i < 150; i++) {
      const body: Record<string, unknown> = {};
      const n = rng.int(0, 5);
      for (let j = 0; j < n; j++) body[fields[rng.int(0, fields.length)]] = values[rng.int(0, values.length)];
      let text = JSON.stringify(body);
      if (rng.next() < 0.2) text = text.slice(0, rng.int(0, text.length));
      const r = await post(s.url + paths[rng.int(0, paths.length)], text);
      expect(r.status, `case ${i}: ${text} -> ${r.text}`).to.be.oneOf([200, 400, 404, 413]);
      expect(r.json, `case ${i}`).to.have.property(r.status === 200 ? 'header' : 'code');
    }
    const ok = await post(s.url + '/v3/kv/put', { key: b64('still'), value: b64('alive') });
    expect(ok.status).to.equal(200);
  });
});

describe('HTTP API: status, maintenance status, member list, health', () => {
  let s: Started;
  before(async () => {
    s = await startApi('n1', {}, [
      { name: 'n2', matchIndex: 4, api: 'http://127.0.0.1:18002' },
      { name: 'n3', matchIndex: 3 },
    ]);
  });
  after(async () => {
    await s.api.close();
  });

  it('GET /status describes the node, with each peer\'s matchIndex when leader', async () => {
    await post(s.url + '/v3/kv/put', { key: b64('k'), value: b64('v') });
    const r = await get(s.url + '/status');
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({
      name: 'n1',
      memberId: memberIdOf('n1'),
      role: 'leader',
      term: 2,
      leader: 'n1',
      leaderUrl: s.url,
      commitIndex: 1,
      lastApplied: 1,
      lastLogIndex: 1,
      revision: 2,
      api: s.url,
      peers: [
        { name: 'n2', memberId: memberIdOf('n2'), matchIndex: 4, api: 'http://127.0.0.1:18002' },
        { name: 'n3', memberId: memberIdOf('n3'), matchIndex: 3 },
      ],
    });
  });

  it('POST /v3/maintenance/status in etcd\'s shape: leader is a member_id', async () => {
    const r = await post(s.url + '/v3/maintenance/status', {});
    expect(r.status).to.equal(200);
    const j = r.json!;
    expect(j.leader).to.equal((j.header as { member_id: string }).member_id);
    expect(j).to.include({ raftIndex: '1', raftTerm: '2', raftAppliedIndex: '1', dbSize: '2', dbSizeInUse: '2' });
    expect(j.version).to.be.a('string');
    // An empty body is accepted, as etcd's gateway accepts it.
    const empty = await post(s.url + '/v3/maintenance/status', '');
    expect(empty.status).to.equal(200);
  });

  it('POST /v3/cluster/member/list: every member with its ID and client URL when known', async () => {
    const r = await post(s.url + '/v3/cluster/member/list', {});
    expect(r.json!.members).to.deep.equal([
      { ID: memberIdOf('n1'), name: 'n1', clientURLs: [s.url] },
      { ID: memberIdOf('n2'), name: 'n2', clientURLs: ['http://127.0.0.1:18002'] },
      { ID: memberIdOf('n3'), name: 'n3' },
    ]);
  });

  it('GET /version in etcd\'s shape (the etcd API level we serve, and our own version); POST is 405 as in etcd', async () => {
    const r = await get(s.url + '/version');
    expect([r.status, r.headers.get('content-type'), r.json]).to.deep.equal([
      200,
      'application/json',
      { etcdserver: '3.4.0', etcdcluster: '3.4.0', simpleraft: '0.1.0' },
    ]);
    expect((await post(s.url + '/version', {})).status).to.equal(405);
    expect((await post(s.url + '/health', {})).status).to.equal(405);
  });

  it('GET /health is true with a leader and a working read barrier, 503 without a leader', async () => {
    let r = await get(s.url + '/health');
    expect([r.status, r.json]).to.deep.equal([200, { health: 'true' }]);
    s.node.leader = null;
    r = await get(s.url + '/health');
    expect([r.status, r.json]).to.deep.equal([503, { health: 'false', reason: 'no leader' }]);
    s.node.leader = 'n1';
  });
});
