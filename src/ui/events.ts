// The view's event schema: what a node (or a simulated node) publishes to a
// watching browser, one event per step a learner wants to see. It extends the
// events the terminal log prints (server/events.ts: term, role, vote, leader,
// commit, drop) with what only the driver sees: messages sent and received,
// entries appended and applied, faults. A replayed simulator trace is a list
// of the same events, so the page draws live runs and replays alike.

import { Message, MessageType } from '../messages';
import { RaftEvent } from '../server/events';

/** A message as the view shows it: its kind, term, ends and key fields (no entry values, no snapshot bytes). */
export interface MessageSummary {
  kind: string;
  term: number;
  from: string;
  /** null: to every peer. */
  to: string | null;
  /** Numbers, booleans and strings from the message's data, named as in the paper; arrays by their length. */
  fields: Record<string, number | boolean | string | null>;
}

export type ViewEventBody =
  | RaftEvent
  | { kind: 'send'; message: MessageSummary }
  | { kind: 'receive'; message: MessageSummary }
  /** Entries written to this node's log (§5.3) from firstIndex on, replacing any after it: the term of each. */
  | { kind: 'append'; firstIndex: number; terms: number[] }
  /** An entry applied to the state machine (Figure 2, "Rules for Servers"): its command's label (commandLabel). */
  | { kind: 'apply'; index: number; term: number; label: string | null }
  /**
   * Something done to the node from outside: isolated, healed, storage. In a
   * simulator trace also crashed, paused, resumed, restarted, network (from
   * node "network") and safety or liveness (from "checker", the failed check).
   */
  | { kind: 'fault'; fault: string; detail: string };

/** One event as it travels: the body, the node that saw it, a sequence number per source and a time in ms. */
export type ViewEvent = ViewEventBody & { node: string; seq: number; time: number };

/** The wire's `response` is the paper's success (Response) or voteGranted (RequestVoteResponse). */
const PAPER_NAMES: Partial<Record<MessageType, Record<string, string>>> = {
  [MessageType.Response]: { response: 'success', currentTerm: 'term' },
  [MessageType.RequestVoteResponse]: { response: 'voteGranted' },
};

/** Fields too big or too private to show: snapshot bytes, client commands. */
const HIDDEN = new Set(['data', 'command', 'value']);

export function summarizeMessage(m: Message): MessageSummary {
  const names = PAPER_NAMES[m.type] ?? {};
  const fields: MessageSummary['fields'] = {};
  for (const [key, v] of Object.entries(m.data as unknown as Record<string, unknown>)) {
    if (HIDDEN.has(key)) continue;
    const name = names[key] ?? key;
    if (Array.isArray(v)) fields[name] = v.length;
    else if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') fields[name] = v;
  }
  return { kind: MessageType[m.type] ?? String(m.type), term: m.term, from: String(m.sender), to: m.receiver === null ? null : String(m.receiver), fields };
}

/**
 * A short label for a log entry's command, as a learner would name it: `put
 * hello` (a KV command inside the node's envelope, key decoded), `leaseGrant`,
 * `#7` (a simulator command), or null for the leader's no-op (§8).
 */
export function commandLabel(value: unknown): string | null {
  const command = (value as { command?: unknown } | null)?.command ?? value;
  if (command === null || typeof command !== 'object') return null;
  const c = command as { op?: unknown; key?: unknown; id?: unknown };
  if (typeof c.op === 'string') {
    if (typeof c.key !== 'string') return c.op;
    const key = Buffer.from(c.key, 'base64').toString('utf8');
    return `${c.op} ${key.length > 24 ? `${key.slice(0, 24)}…` : key}`;
  }
  return typeof c.id === 'number' ? `#${c.id}` : null;
}
