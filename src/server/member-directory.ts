// Members' client URLs, learned through the cluster itself.
//
// A follower answers lease keep-alive and time-to-live by asking the leader's
// client API (docs/leases.md), so it must know that URL. Passing every peer's
// API address on the command line (--peer-apis) works, but a user who starts
// one node per terminal should not have to. etcd solves the same problem by
// having each member publish its attributes (name, client URLs) through the
// log once it has started (etcd's EtcdServer.publish); every member applies
// them, so every member knows every other member's client URLs.
//
// We do the same: MemberDirectory wraps the node's state machine. It applies
// "publishMember" commands itself and hands every other entry to the wrapped
// machine. The published URLs are replicated state like the keys, so they go
// into snapshots (§7): a member that catches up from a snapshot knows them
// too. Addresses given on the command line stay local and are only a
// fallback; they never enter the replicated state, which must be identical
// on every member.

import { LogEntry } from '../log/types';
import { NodeId } from '../messages';
import { StateMachine } from './state-machine';

/** The command a member proposes about itself (etcd's Attributes{Name, ClientURLs}). */
export interface PublishMemberCommand {
  op: 'publishMember';
  name: string;
  clientUrls: string[];
}

/** Marks a snapshot that carries the directory ahead of the wrapped machine's bytes. */
const SNAPSHOT_FORMAT = 'simpleraft-members/1';
const MAX_NAME = 256;
const MAX_URL = 512;
const MAX_URLS = 8;

export function publishMemberCommand(name: NodeId, clientUrl: string): PublishMemberCommand {
  return { op: 'publishMember', name: String(name), clientUrls: [clientUrl] };
}

function isHttpUrl(u: unknown): u is string {
  if (typeof u !== 'string' || u.length === 0 || u.length > MAX_URL) return false;
  try {
    const p = new URL(u);
    return (p.protocol === 'http:' || p.protocol === 'https:') && p.pathname === '/' && u === p.origin;
  } catch {
    return false;
  }
}

/** A valid publishMember command, or null when `v` is anything else (the wrapped machine's). */
export function asPublishMember(v: unknown): PublishMemberCommand | null {
  if (typeof v !== 'object' || v === null || (v as { op?: unknown }).op !== 'publishMember') return null;
  const o = v as Record<string, unknown>;
  const name = o.name;
  const urls = o.clientUrls;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) return null;
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > MAX_URLS || !urls.every(isHttpUrl)) return null;
  return { op: 'publishMember', name, clientUrls: [...urls] };
}

export class MemberDirectory implements StateMachine {
  /** Replicated: name -> the client URLs it published last. */
  private readonly published = new Map<string, string[]>();

  /**
   * @param inner the node's own state machine (the KvStore)
   * @param configured client URLs from this node's command line (--peer-apis):
   *   a local fallback for members that have not published yet
   */
  constructor(
    private readonly inner: StateMachine,
    private readonly configured: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** The client URL of `name`: what it published, else what we were configured with. */
  get(name: NodeId): string | undefined {
    return this.published.get(String(name))?.[0] ?? this.configured.get(String(name));
  }

  /** Every published member and its URLs, by name. */
  members(): ReadonlyMap<string, readonly string[]> {
    return this.published;
  }

  apply(entry: LogEntry): unknown {
    const publish = asPublishMember(entry.value);
    if (publish === null) {
      // Not ours; a malformed publishMember also goes on, and the wrapped machine refuses it.
      return this.inner.apply(entry);
    }
    // Deterministic: the same entries in the same order give the same directory.
    this.published.set(publish.name, publish.clientUrls);
    return { kind: 'publishMember', name: publish.name };
  }

  /**
   * The directory as one JSON line, then the wrapped machine's snapshot
   * bytes unchanged. Names sorted, so equal states give equal bytes.
   */
  snapshot(): Uint8Array {
    const members = [...this.published.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const head = Buffer.from(JSON.stringify({ format: SNAPSHOT_FORMAT, members }) + '\n', 'utf8');
    return Buffer.concat([head, Buffer.from(this.inner.snapshot())]);
  }

  /**
   * Restore both parts. A snapshot made before the directory existed (the
   * wrapped machine's bytes alone) restores an empty directory. The head is
   * checked in full before anything changes.
   */
  restore(data: Uint8Array): void {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const members = new Map<string, string[]>();
    let rest = bytes;
    const nl = bytes.indexOf(0x0a);
    const head = nl < 0 ? null : parseHead(bytes.subarray(0, nl));
    if (head !== null) {
      for (const entry of head) {
        const m = Array.isArray(entry) ? asPublishMember({ op: 'publishMember', name: entry[0], clientUrls: entry[1] }) : null;
        if (m === null) throw new Error(`corrupt member directory in snapshot: bad entry ${JSON.stringify(entry)}`);
        members.set(m.name, m.clientUrls);
      }
      rest = bytes.subarray(nl + 1);
    }
    this.inner.restore(rest);
    this.published.clear();
    for (const [name, urls] of members) this.published.set(name, urls);
  }
}

/** The directory's entries if `line` is our head line, else null (an older snapshot). */
function parseHead(line: Buffer): unknown[] | null {
  let v: unknown;
  try {
    v = JSON.parse(line.toString('utf8'));
  } catch {
    return null;
  }
  const o = v as { format?: unknown; members?: unknown };
  if (typeof o !== 'object' || o === null || o.format !== SNAPSHOT_FORMAT) return null;
  if (!Array.isArray(o.members)) throw new Error('corrupt member directory in snapshot: members is not an array');
  return o.members;
}
