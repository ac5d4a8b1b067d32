// Term jumps: a message whose term is far ahead of ours.
//
// Figure 2 (All Servers) makes any higher term legal: we adopt it and follow.
// But terms grow by one per election (§5.2), so a node can only fall far
// behind by missing many elections. Without pre-vote an isolated node gains at
// most one term per election timeout (at least 1 s by default), so a jump of
// TERM_JUMP_WARN_MARGIN terms means about 17 minutes of isolation at the
// least -- or a forged message (issue 18). The host logs such a jump at warn
// with its sender and source address and counts it; the protocol still obeys it.

import { Message, MessageType } from '../messages';

/** A jump of at least this many terms is logged at warn and counted. */
export const TERM_JUMP_WARN_MARGIN = 1000;

/**
 * The term a message asks us to adopt under Figure 2's term rule, or null for
 * messages the rule does not apply to (forwarded commands and reads, see
 * State.onMessage). A Response names the responder's term twice; the higher counts.
 */
export function claimedTerm(message: Message): number | null {
  switch (message.type) {
    case MessageType.ClientCommand:
    case MessageType.ReadIndex:
    case MessageType.ReadIndexResponse:
      return null;
    case MessageType.Response:
      return Math.max(message.term, message.data.currentTerm);
    default:
      return message.term;
  }
}

/** How far `message` would move our term, when that is at least TERM_JUMP_WARN_MARGIN; else null. */
export function termJump(message: Message, currentTerm: number): number | null {
  const term = claimedTerm(message);
  return term !== null && term - currentTerm >= TERM_JUMP_WARN_MARGIN ? term - currentTerm : null;
}
