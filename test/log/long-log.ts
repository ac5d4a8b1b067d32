// A long, unsnapshotted log written straight into a data directory by the
// storage layer, as a node that ran with --snapshot-every 0 would leave it:
// every entry a client's put, all of them committed. Used by the restart
// test (test/net/long-log.test.ts) and `npm run bench:restart`.

import { FileStorage } from '../../src/log/file-storage';
import { LogEntry } from '../../src/log/types';

export interface LongLogOptions {
  dir: string;
  node: string;
  entries: number;
  /** Must match the node's --cluster-id (main.ts's default is 'simpleraft'). */
  clusterId?: string;
  /** Entries per save (one write + one fsync each). */
  batch?: number;
  /** Distinct keys the puts cycle through. */
  keys?: number;
  /** Pad each value to about this many bytes. */
  valueBytes?: number;
}

/** The key and value of the put at log index i. */
export function longLogPut(i: number, keys: number, pad = ''): { key: string; value: string } {
  return { key: `key-${i % keys}`, value: `${i}${pad}` };
}

/** Write the log and close the storage; returns the number of saves. */
export function writeLongLog(o: LongLogOptions): number {
  const keys = o.keys ?? 1000;
  const batchSize = o.batch ?? 4096;
  const pad = 'x'.repeat(Math.max(0, (o.valueBytes ?? 0) - 8));
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const s = FileStorage.open({ dir: o.dir, clusterId: o.clusterId ?? 'simpleraft', node: o.node });
  let saves = 0;
  try {
    let batch: LogEntry[] = [];
    for (let i = 1; i <= o.entries; i++) {
      const { key, value } = longLogPut(i, keys, pad);
      // The node's envelope around a KV command, as RaftNode.propose appends it.
      batch.push({ index: i, term: 1, value: { id: `longlog-${i}`, command: { op: 'put', key: b64(key), value: b64(value) } } });
      if (batch.length === batchSize || i === o.entries) {
        s.save({ hardState: { currentTerm: 1, votedFor: o.node, commitIndex: i }, entries: batch, snapshot: null });
        saves++;
        batch = [];
      }
    }
  } finally {
    s.close();
  }
  return saves;
}
