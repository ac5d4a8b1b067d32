// Client sessions: "linearizable semantics for duplicate commands" (thesis
// §6.3). Each client tags its commands with a unique id and a sequence number;
// the state machine remembers, per client, the last sequence number it applied
// and the result, and answers a repeat with that result instead of applying
// the command again.
//
// The table is part of the replicated state: it changes only inside apply(),
// in log order, and goes into snapshots, so every replica deduplicates the same
// way. It is bounded: beyond `maxClients` the client seen least recently (in
// log order) is forgotten, as the thesis suggests ("a server can safely discard
// a session..."); a retry that arrives after its client was forgotten would be
// applied again. Results can be large (a prev_kv holds a whole value), so the
// table is also bounded by the bytes of the results it keeps. Both bounds must
// be the same on every replica: they decide which retries are answered from
// the table, and so what the store does.

import { Session } from './commands';
import { KeyValue, KvFailure, KvResult, OpResult } from './types';

export const DEFAULT_MAX_CLIENTS = 10_000;
/** Bound on the bytes of keys and values held in remembered results. */
export const DEFAULT_MAX_RESULT_BYTES = 64 * 1024 * 1024;

export interface SessionRecord {
  clientId: string;
  seq: number;
  /** commands.fingerprint() of the command that produced `result`. */
  fingerprint: string;
  result: KvResult;
}

export type SessionLookup =
  | { kind: 'new' }
  /** Already applied, or refused: answer with `result` and change nothing. */
  | { kind: 'answered'; result: KvResult };

export class ClientSessions {
  // Map iteration order is insertion order: we re-insert on every use, so the
  // first entry is always the client seen least recently.
  private readonly table = new Map<string, SessionRecord>();
  private resultBytes = 0;

  constructor(
    readonly maxClients: number = DEFAULT_MAX_CLIENTS,
    readonly maxResultBytes: number = DEFAULT_MAX_RESULT_BYTES,
  ) {
    if (!Number.isSafeInteger(maxClients) || maxClients < 1) throw new Error('maxClients must be >= 1');
    if (!Number.isSafeInteger(maxResultBytes) || maxResultBytes < 0) throw new Error('maxResultBytes must be >= 0');
  }

  get size(): number {
    return this.table.size;
  }

  /** Has this command already been applied (or is it a stale or mismatched retry)? */
  lookup(session: Session, fingerprint: string): SessionLookup {
    const rec = this.table.get(session.clientId);
    if (!rec || session.seq > rec.seq) return { kind: 'new' };
    if (session.seq < rec.seq) {
      return {
        kind: 'answered',
        result: failure(
          'stale-request',
          `request ${session.seq} of client ${session.clientId} is older than its last applied request ` +
            `${rec.seq}; its result is no longer kept`,
        ),
      };
    }
    if (rec.fingerprint !== fingerprint) {
      return {
        kind: 'answered',
        result: failure(
          'request-id-reused',
          `request ${session.seq} of client ${session.clientId} was already used for a different request`,
        ),
      };
    }
    // A retry of the last command: the first result, again. Touch the client
    // so an active one is not the next to be forgotten.
    this.table.delete(session.clientId);
    this.table.set(session.clientId, rec);
    return { kind: 'answered', result: rec.result };
  }

  record(session: Session, fingerprint: string, result: KvResult): void {
    this.remove(session.clientId);
    this.add({ clientId: session.clientId, seq: session.seq, fingerprint, result });
    this.evict();
  }

  /** Least recently seen first. */
  records(): SessionRecord[] {
    return [...this.table.values()];
  }

  /** Replace the table (from a snapshot), least recently seen first. */
  load(records: SessionRecord[]): void {
    this.table.clear();
    this.resultBytes = 0;
    for (const r of records) {
      this.remove(r.clientId);
      this.add(r);
    }
    this.evict();
  }

  private add(r: SessionRecord): void {
    this.table.set(r.clientId, r);
    this.resultBytes += resultBytes(r.result);
  }

  private remove(clientId: string): void {
    const r = this.table.get(clientId);
    if (!r) return;
    this.table.delete(clientId);
    this.resultBytes -= resultBytes(r.result);
  }

  private evict(): void {
    while (this.table.size > this.maxClients || (this.resultBytes > this.maxResultBytes && this.table.size > 0)) {
      this.remove(this.table.keys().next().value as string);
    }
  }
}

/** Bytes of keys and values a result holds (deterministic: results are). */
export function resultBytes(r: KvResult | OpResult): number {
  const kvBytes = (kvs: KeyValue[] | undefined) => (kvs ?? []).reduce((n, kv) => n + kv.key.length + kv.value.length, 0);
  switch (r.kind) {
    case 'error':
      return r.message.length;
    case 'put':
      return r.prevKv ? kvBytes([r.prevKv]) : 0;
    case 'deleteRange':
      return kvBytes(r.prevKvs);
    case 'range':
      return kvBytes(r.kvs);
    case 'txn':
      return r.responses.reduce((n, x) => n + resultBytes(x), 0);
    case 'leaseGrant':
    case 'leaseRevoke':
    case 'compaction':
      return 0;
  }
}

export function failure(code: KvFailure['code'], message: string): KvFailure {
  return { kind: 'error', code, message };
}
