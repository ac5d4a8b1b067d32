// Debug log lines for the messages a transport drops (`--log-level debug`),
// bounded so that a flood cannot drown the log: in each window (one second by
// default) the first `perWindow` drops get a line each, with their detail;
// the rest are only counted, and when the window closes one line per reason
// says how many more were dropped. A burst of 416 malformed frames thus gives
// 5 lines and then "malformed: 411 more within 1000 ms", not 416 lines.

export interface DropLogOptions {
  /** Writes one line (main.ts: the logger's 'drop' event). */
  log: (reason: string) => void;
  windowMs?: number;
  perWindow?: number;
  /** Schedules the end of a window (default: an unref'd setTimeout). */
  schedule?: (fn: () => void, ms: number) => { cancel(): void };
}

export class DropLog {
  private readonly windowMs: number;
  private readonly perWindow: number;
  private readonly schedule: NonNullable<DropLogOptions['schedule']>;
  private shownInWindow = 0;
  private readonly suppressed = new Map<string, number>();
  private windowEnd: { cancel(): void } | null = null;

  constructor(private readonly o: DropLogOptions) {
    this.windowMs = o.windowMs ?? 1000;
    this.perWindow = o.perWindow ?? 5;
    this.schedule =
      o.schedule ??
      ((fn, ms) => {
        const t = setTimeout(fn, ms).unref();
        return { cancel: () => clearTimeout(t) };
      });
  }

  /** The transports' onDrop handler. */
  readonly onDrop = (reason: string, detail: string): void => {
    this.windowEnd ??= this.schedule(() => this.closeWindow(), this.windowMs);
    if (this.shownInWindow < this.perWindow) {
      this.shownInWindow++;
      this.o.log(`${reason} (${detail})`);
    } else {
      this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
    }
  };

  /** Report what is still counted and stop the window timer (at shutdown). */
  close(): void {
    this.windowEnd?.cancel();
    this.closeWindow();
  }

  private closeWindow(): void {
    this.windowEnd = null;
    this.shownInWindow = 0;
    for (const [reason, n] of this.suppressed) this.o.log(`${reason}: ${n} more within ${this.windowMs} ms, not logged one by one`);
    this.suppressed.clear();
  }
}
