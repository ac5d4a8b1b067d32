import { NodeId } from '../messages';

/**
 * What a learner watching a node wants to see: one event per step that
 * matters. The driver turns these into log lines (human or JSON).
 */
export type RaftEvent =
  | { kind: 'term'; term: number; reason: string }
  | { kind: 'role'; role: Role; term: number; reason: string }
  | { kind: 'vote'; term: number; candidate: NodeId; granted: boolean; reason: string }
  | { kind: 'leader'; term: number; leader: NodeId }
  | { kind: 'refuse-leader'; term: number; leader: NodeId; reason: string }
  | { kind: 'commit'; term: number; commitIndex: number }
  | { kind: 'drop'; reason: string }
  /** The term is at MAX_RAFT_NUMBER: no election can start (messages/bounds.ts). */
  | { kind: 'term-exhausted'; term: number }
  /** A message's term is far ahead of ours (TERM_JUMP_WARN_MARGIN): legal, but suspicious. */
  | { kind: 'term-jump'; term: number; from: NodeId; ourTerm: number; address: string | null };

export type Role = 'follower' | 'candidate' | 'leader';

export function describeEvent(e: RaftEvent): string {
  switch (e.kind) {
    case 'term':
      return `term is now ${e.term} (${e.reason})`;
    case 'role':
      return `became ${e.role} in term ${e.term} (${e.reason})`;
    case 'vote':
      return `${e.granted ? 'granted' : 'refused'} vote to ${e.candidate} in term ${e.term} (${e.reason})`;
    case 'leader':
      return `leader for term ${e.term} is ${e.leader}`;
    case 'refuse-leader':
      return `refused ${e.leader} as leader of term ${e.term} (${e.reason})`;
    case 'commit':
      return `committed up to index ${e.commitIndex} (term ${e.term})`;
    case 'drop':
      return `dropped a message: ${e.reason}`;
    case 'term-exhausted':
      return (
        `cannot start an election: term ${e.term} is the largest a node accepts (2^53 - 2^20 - 1). ` +
        'Only a forged or faulty message can cause this; see docs/storage.md, "Recovering a data directory"'
      );
    case 'term-jump':
      return (
        `term jump: ${e.from} (from ${e.address ?? 'an address the transport does not report'}) claims term ${e.term}, ` +
        `${e.term - e.ourTerm} ahead of our ${e.ourTerm}: a forged message, or a node isolated for a long time`
      );
  }
}
