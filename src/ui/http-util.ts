// Small HTTP helpers shared by the node's view endpoints and the UI server.

import * as http from 'node:http';
import { EventHub } from './event-hub';

/** A client's mistake, answered 4xx with a JSON body naming the field. */
export class UiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'UiRequestError';
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendError(res: http.ServerResponse, e: unknown): void {
  if (e instanceof UiRequestError) sendJson(res, e.status, { error: e.message, ...(e.field ? { field: e.field } : {}) });
  else sendJson(res, 500, { error: `internal error: ${(e as Error)?.message ?? String(e)}` });
}

/** The request's JSON object body, at most `maxBytes`. */
export function readJsonObject(req: http.IncomingMessage, maxBytes = 16 * 1024): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      // Too big: answer at once and let the rest drain unread, so the reply still reaches the client.
      if (size > maxBytes) reject(new UiRequestError(413, `body larger than ${maxBytes} bytes`));
      else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > maxBytes) return;
      let v: unknown;
      try {
        v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return reject(new UiRequestError(400, 'body is not JSON'));
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return reject(new UiRequestError(400, 'body must be a JSON object'));
      resolve(v as Record<string, unknown>);
    });
  });
}

/** Turn `res` into a Server-Sent Events stream fed by `hub` until the client goes away or is cut off. */
export function streamEvents(req: http.IncomingMessage, res: http.ServerResponse, hub: EventHub): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write('retry: 1000\n\n');
  const unsubscribe = hub.subscribe({
    write: (chunk) => res.write(chunk),
    onDrain: (listener) => res.on('drain', listener),
    end: () => res.end(),
  });
  req.on('close', unsubscribe);
}
