// raftctl's main() run in this process, its output captured: the same code as
// bin/raftctl without a process each.

import { Readable } from 'node:stream';
import { main } from '../../src/api/raftctl';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** What raftctl reads on standard input (txn). */
  stdin?: string;
  /** Interrupts a command that runs until Ctrl-C (watch, keep-alive). */
  signal?: AbortSignal;
  /** Called with all of stdout so far after each write. */
  onOut?: (stdout: string) => void;
}

export async function runRaftctl(args: string[], o: RunOptions = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: {
      write: (d: string | Uint8Array) => {
        stdout += Buffer.from(d).toString();
        o.onOut?.(stdout);
      },
    },
    stderr: { write: (d: string | Uint8Array) => (stderr += Buffer.from(d).toString()) },
    stdin: o.stdin === undefined ? undefined : Readable.from([o.stdin]),
    signal: o.signal,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
