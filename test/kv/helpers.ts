// Small helpers for driving a KvStore the way the node does: commands are
// built, encoded to their JSON log form, sent through a JSON round trip (as
// they would cross the wire) and applied as log entries in index order.

import {
  KeyValue,
  KvCommand,
  KvResult,
  KvStore,
  LeaseId,
  Session,
  TxnRequest,
  deleteRangeRequest,
  encodeCommand,
  putRequest,
  rangeRequest,
  RangeRequest,
  PutRequest,
  DeleteRangeRequest,
} from '../../src/kv';

export const b = (s: string): Buffer => Buffer.from(s, 'utf8');

export class Driver {
  index = 0;
  constructor(readonly kv: KvStore = new KvStore()) {}

  applyValue(value: unknown): KvResult | null {
    this.index += 1;
    return this.kv.apply({ index: this.index, term: 1, value: JSON.parse(JSON.stringify(value)) });
  }

  applyCommand(cmd: KvCommand): KvResult | null {
    return this.applyValue(encodeCommand(cmd));
  }

  put(key: string, value: string, opts: Partial<PutRequest> = {}, session: Session | null = null): KvResult {
    return this.applyCommand({ op: 'put', session, request: putRequest({ key: b(key), value: b(value), ...opts }) })!;
  }

  del(key: string, rangeEnd?: string | Buffer, opts: Partial<DeleteRangeRequest> = {}, session: Session | null = null): KvResult {
    const end = rangeEnd === undefined ? undefined : typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd;
    return this.applyCommand({
      op: 'deleteRange',
      session,
      request: deleteRangeRequest({ key: b(key), rangeEnd: end, ...opts }),
    })!;
  }

  txn(request: TxnRequest, session: Session | null = null): KvResult {
    return this.applyCommand({ op: 'txn', session, request })!;
  }

  range(key: string, rangeEnd?: string | Buffer, opts: Partial<RangeRequest> = {}) {
    const end = rangeEnd === undefined ? undefined : typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd;
    return this.kv.range(rangeRequest({ key: b(key), rangeEnd: end, ...opts }));
  }

  keys(key: string, rangeEnd?: string | Buffer, opts: Partial<RangeRequest> = {}): string[] {
    return this.range(key, rangeEnd, opts).kvs.map((kv) => kv.key.toString());
  }
}

/** A KeyValue as plain comparable data. */
export function plain(kv: KeyValue | undefined) {
  if (!kv) return undefined;
  return {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

/** A lease registry that records calls, with a fixed set of existing leases. */
export class FakeLeases {
  calls: string[] = [];
  constructor(readonly existing: Set<LeaseId>) {}
  exists(id: LeaseId): boolean {
    return this.existing.has(id);
  }
  attach(id: LeaseId, key: Buffer): void {
    this.calls.push(`attach ${id} ${key.toString()}`);
  }
  detach(id: LeaseId, key: Buffer): void {
    this.calls.push(`detach ${id} ${key.toString()}`);
  }
}
