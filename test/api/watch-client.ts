// A client of POST /v3/watch for tests: send request objects as the stream
// goes, read result lines one at a time (header IDs masked), close.

import { expect } from 'chai';
import * as http from 'node:http';

/** A watch stream: send request objects, read result lines one by one. */
export class WatchClient {
  private lines: string[] = [];
  private waiters: (() => void)[] = [];
  private buf = '';
  readonly req: http.ClientRequest;
  res: http.IncomingMessage | null = null;
  ended = false;

  constructor(url: string) {
    this.req = http.request(url + '/v3/watch', { method: 'POST', headers: { 'content-type': 'application/json' } });
    this.req.on('response', (res) => {
      this.res = res;
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        this.buf += s;
        let i;
        while ((i = this.buf.indexOf('\n')) >= 0) {
          this.lines.push(this.buf.slice(0, i));
          this.buf = this.buf.slice(i + 1);
        }
        this.wake();
      });
      // 'close', not only 'end': a stream destroyed after its response began never ends.
      res.on('close', () => {
        this.ended = true;
        this.wake();
      });
    });
    this.req.on('error', () => {
      this.ended = true;
      this.wake();
    });
    this.req.flushHeaders();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(obj: unknown): void {
    this.req.write(JSON.stringify(obj));
  }

  /** The next line as JSON, with the header's IDs masked; fails after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.ended) throw new Error('stream ended');
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
    const j = JSON.parse(this.lines.shift()!);
    const h = j.result?.header;
    if (h) {
      expect(h.cluster_id).to.match(/^[1-9][0-9]*$/);
      h.cluster_id = 'C';
      h.member_id = 'M';
    }
    return j;
  }

  close(): void {
    this.req.destroy();
    this.ended = true;
    this.wake();
  }
}
