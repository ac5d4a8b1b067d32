// etcd identifies members and clusters by uint64 IDs; our nodes have names.
// We derive the IDs from the names (the first 8 bytes of a SHA-256), so every
// node computes the same member_id for a given name, and `leader` in a status
// reply matches the leader's own header.member_id, as in etcd.

import { createHash } from 'node:crypto';
import { NodeId } from '../messages';

const cache = new Map<string, string>();

function id64(text: string): string {
  let id = cache.get(text);
  if (id === undefined) {
    const n = BigInt('0x' + createHash('sha256').update(text).digest('hex').slice(0, 16));
    id = (n === 0n ? 1n : n).toString(); // 0 means "none" in etcd
    // Every response header names these IDs: hash each name once (a cluster has few).
    if (cache.size < 1024) cache.set(text, id);
  }
  return id;
}

/** The uint64 member ID (decimal string) of the node named `name`. */
export function memberIdOf(name: NodeId): string {
  return id64(`simpleraft member ${String(name)}`);
}

/** The uint64 cluster ID (decimal string) of a cluster made of these members. */
export function clusterIdOf(names: readonly NodeId[]): string {
  return id64(`simpleraft cluster ${[...names].map(String).sort().join(',')}`);
}
