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
  | { kind: 'drop'; reason: string };

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
  }
}
