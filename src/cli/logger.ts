// Log lines for a learner (human) or a machine (json): one line per event
// that matters -- term changes, role changes with the reason, votes granted
// and refused with the reason, leader elected, entries committed.

import { describeEvent, RaftEvent } from '../server/events';

export type LogFormat = 'human' | 'json';

/** Events logged at other than info; a human line names the level when it is not info. */
const EVENT_LEVEL: Partial<Record<RaftEvent['kind'], string>> = {
  'drop': 'debug',
  'term-jump': 'warn',
  'term-exhausted': 'error',
};

export interface Logger {
  event(e: RaftEvent): void;
  info(message: string, fields?: Record<string, unknown>): void;
  /** Written only with --log-level debug. */
  debug(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(node: string, format: LogFormat, debug: boolean, out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Logger {
  const time = () => new Date().toISOString().slice(11, 23);
  const line = (level: string, message: string, fields: Record<string, unknown>) => {
    if (format === 'json') out(JSON.stringify({ time: new Date().toISOString(), level, node, message, ...fields }));
    else out(`${time()} ${node} ${level === 'info' || level === 'debug' ? '' : `${level.toUpperCase()}: `}${message}`);
  };
  return {
    event(e) {
      if (e.kind === 'drop' && !debug) return;
      line(EVENT_LEVEL[e.kind] ?? 'info', describeEvent(e), { event: e.kind, ...e });
    },
    info(message, fields = {}) {
      line('info', message, fields);
    },
    debug(message, fields = {}) {
      if (debug) line('debug', message, fields);
    },
    error(message, fields = {}) {
      line('error', message, fields);
    },
  };
}
