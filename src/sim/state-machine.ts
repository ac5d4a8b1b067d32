// The simulator's state machine: the list of every value applied, in order.
// It is the simplest state machine whose state shows exactly what was
// applied, so the checker can compare a snapshot's contents (§7) with what
// was committed, index by index: nothing missing, nothing twice.

import { LogEntry } from '../log/types';
import { StateMachine } from '../server/state-machine';

/**
 * What the simulator needs of a node's state machine: the JSON of every value
 * applied, in order (ListStateMachine's `values`), so the checker can compare
 * a snapshot with what was committed.
 */
export interface SimStateMachine extends StateMachine {
  readonly values: string[];
}

export class ListStateMachine implements SimStateMachine {
  /** values[i - 1] is JSON.stringify of the value of entry i. */
  values: string[] = [];

  apply(entry: LogEntry): unknown {
    // Applied once, in order: entry i must come right after entry i - 1.
    if (entry.index !== this.values.length + 1) {
      throw new Error(`state machine at ${this.values.length} was given entry ${entry.index}`);
    }
    this.values.push(JSON.stringify(entry.value));
    return this.values.length;
  }

  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.values), 'utf8');
  }

  restore(data: Uint8Array): void {
    const parsed: unknown = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
      throw new Error('snapshot is not a list of values');
    }
    this.values = parsed as string[];
  }
}
