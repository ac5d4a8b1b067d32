// The bound on every term and index a node accepts, keeps or writes.
//
// JavaScript numbers are doubles: integers are exact only up to 2^53 - 1
// (Number.MAX_SAFE_INTEGER). Beyond it `term + 1 === term`, so a node at such a
// term could never start a newer election, and a log index could no longer
// grow. Raft does arithmetic on every one of these numbers -- currentTerm + 1
// (§5.2), nextIndex = lastLogIndex + 1 (§5.3), prevLogIndex + entries.length,
// matchIndex + n -- so the bound sits below 2^53 with headroom: 2^20 (about a
// million) terms or indices of room above the largest value we accept, more
// than any single step of the protocol adds. Every sum of an accepted value
// and the length of one batch of entries is then still exact.
//
// The bound is not a real limit: at one election per millisecond, reaching
// 2^53 - 2^20 terms takes 285,000 years. A value near it comes from a bug or a
// forged message, which is why it is refused at the edge (codec.ts) and never
// written to disk (log/file-storage.ts).

/** Terms and indices are integers in [0, RAFT_NUMBER_LIMIT): 2^53 - 2^20. */
export const RAFT_NUMBER_LIMIT = 2 ** 53 - 2 ** 20;

/** The largest term or index accepted: RAFT_NUMBER_LIMIT - 1. */
export const MAX_RAFT_NUMBER = RAFT_NUMBER_LIMIT - 1;

/** Why a value is not a term or index: 'range' for a whole number too large, 'type' otherwise. */
export function raftNumberProblem(v: unknown): 'type' | 'range' | null {
  if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isInteger(v) || v < 0) return 'type';
  return v < RAFT_NUMBER_LIMIT ? null : 'range';
}
