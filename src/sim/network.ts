// SimNetwork: messages in flight between simulated nodes, with the faults a
// real network has: loss, delay (and so reordering), duplication, and
// partitions that may cut a link in one direction only. All randomness comes
// from the seeded Rng, so a seed replays a run exactly.

import { Message, MessageType, NodeId } from '../messages';
import { SeededRng } from '../time/rng';

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  minDelay: number;
  maxDelay: number;
}

export const CALM: NetworkFaults = { dropRate: 0, duplicateRate: 0, minDelay: 1, maxDelay: 1 };

interface InFlight {
  deliverAt: number;
  seq: number;
  to: NodeId;
  message: Message;
}

export class SimNetwork {
  faults: NetworkFaults = CALM;
  private inFlight: InFlight[] = [];
  private readonly cut = new Set<string>();
  private seq = 0;
  sent = 0;
  dropped = 0;
  /** Tests may drop chosen messages: return false to lose `message` on its way to `to`. */
  filter: ((message: Message, to: NodeId) => boolean) | null = null;
  /** Told of every fault as it happens (`--visible`), so a learner sees causes, not only effects. */
  onFault: ((what: string) => void) | null = null;

  constructor(
    private readonly rng: SeededRng,
    private readonly members: NodeId[],
  ) {}

  send(message: Message, now: number): void {
    const targets = message.receiver === null ? this.members.filter((m) => m !== message.sender) : [message.receiver];
    for (const to of targets) {
      this.sent++;
      if ((this.filter && !this.filter(message, to)) || this.rng.chance(this.faults.dropRate)) {
        this.dropped++;
        this.onFault?.(`lost ${describe(message, to)}`);
        continue;
      }
      const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
      if (copies > 1) this.onFault?.(`duplicated ${describe(message, to)}`);
      for (let c = 0; c < copies; c++) {
        const delay = this.rng.int(this.faults.minDelay, this.faults.maxDelay + 1);
        this.inFlight.push({ deliverAt: now + delay, seq: this.seq++, to, message });
      }
    }
  }

  /** Messages due at `now`, in (deliverAt, send order); cut links drop theirs. */
  due(now: number): { to: NodeId; message: Message }[] {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.inFlight) (f.deliverAt <= now ? ready : rest).push(f);
    this.inFlight = rest;
    ready.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
    return ready.filter((f) => {
      if (!this.isCut(f.message.sender, f.to)) return true;
      this.onFault?.(`lost ${describe(f.message, f.to)} (link cut)`);
      return false;
    });
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /** Cut the link from -> to (and to -> from unless oneWay). */
  disconnect(from: NodeId, to: NodeId, oneWay = false): void {
    this.cutLink(from, to, oneWay);
    this.onFault?.(`cut the link ${from} ${oneWay ? '->' : '<->'} ${to}`);
  }

  /** Split the members into two sides that cannot talk. */
  partition(side: NodeId[]): void {
    const other = this.members.filter((b) => !side.includes(b));
    for (const a of side) for (const b of other) this.cutLink(a, b, false);
    this.onFault?.(`partition {${side.join(', ')}} | {${other.join(', ')}}`);
  }

  heal(): void {
    if (this.cut.size > 0) this.onFault?.('healed every link');
    this.cut.clear();
  }

  private cutLink(from: NodeId, to: NodeId, oneWay: boolean): void {
    this.cut.add(`${from}>${to}`);
    if (!oneWay) this.cut.add(`${to}>${from}`);
  }

  hasCuts(): boolean {
    return this.cut.size > 0;
  }

  pending(): number {
    return this.inFlight.length;
  }
}

/** "AppendEntries n1 -> n2 (term 3)", for the fault log. */
function describe(message: Message, to: NodeId): string {
  return `${MessageType[message.type]} ${message.sender} -> ${to} (term ${message.term})`;
}
