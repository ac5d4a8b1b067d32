// Clients that misbehave at the socket (issue 19): one that leaves in the
// middle of its request body, and one that sends its headers too slowly.
// Real sockets on 127.0.0.1 against the API over a fake NodeHandle.

import { expect } from 'chai';
import * as net from 'node:net';
import { HEADERS_TIMEOUT_MS } from '../../src/api/http-server';
import { waitFor } from '../net/wait';
import { b64, post, startApi } from './fake-node';

describe('HTTP API: clients that misbehave at the socket', function () {
  this.timeout(60_000);

  it('a client that disconnects mid-body is a client abort, logged at debug: not an internal error', async () => {
    const errors: string[] = [];
    const debug: string[] = [];
    const s = await startApi('n1', { log: (l) => errors.push(l), debug: (l) => debug.push(l) });
    try {
      await new Promise<void>((resolve, reject) => {
        const sock = net.connect(s.api.port, '127.0.0.1', () => {
          // Promise 1000 bytes, send 10, and reset the connection.
          sock.write('POST /v3/kv/put HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"key":"a"');
          setImmediate(() => sock.resetAndDestroy());
        });
        sock.on('close', () => resolve());
        sock.on('error', (e) => (e.message.includes('ECONNRESET') ? resolve() : reject(e)));
      });
      await waitFor(() => debug.length > 0 || errors.length > 0, 10_000, 'the server to notice the client left');
      expect(errors, 'error log').to.deep.equal([]);
      expect(debug).to.have.length(1);
      expect(debug[0]).to.match(/^api: client went away before its request body was read/);
      expect(debug[0]).to.not.match(/\n\s+at /); // no stack trace
      const ok = await post(s.url + '/v3/kv/put', { key: b64('still'), value: b64('serving') });
      expect(ok.status).to.equal(200);
    } finally {
      await s.api.close();
    }
  });

  it(`a client sending its headers too slowly gets 408 and is closed ${HEADERS_TIMEOUT_MS / 1000} s after its first byte (docs/api.md), not later`, async () => {
    const s = await startApi('n1');
    let sock: net.Socket | null = null;
    let trickle: NodeJS.Timeout | null = null;
    try {
      const { elapsed, reply } = await new Promise<{ elapsed: number; reply: string }>((resolve, reject) => {
        let started = 0;
        let reply = '';
        const give = setTimeout(() => reject(new Error('the socket is still open after 45 s')), 45_000);
        sock = net.connect(s.api.port, '127.0.0.1', () => {
          started = Date.now();
          sock!.write('POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1\r\n');
          // One more header line every 500 ms, never the blank line that ends them.
          let n = 0;
          trickle = setInterval(() => sock!.write(`X-Slow-${n++}: 1\r\n`), 500);
        });
        sock.on('data', (d) => (reply += d));
        sock.on('error', () => undefined); // a write after the server closed
        sock.on('close', () => {
          clearTimeout(give);
          resolve({ elapsed: Date.now() - started, reply });
        });
      });
      expect(reply).to.match(/^HTTP\/1\.1 408 /);
      expect(elapsed, 'not before the timeout').to.be.at.least(HEADERS_TIMEOUT_MS - 50);
      // The server looks once a second; the rest is slack for a loaded machine.
      expect(elapsed, 'soon after the timeout').to.be.at.most(HEADERS_TIMEOUT_MS + 4_000);
    } finally {
      if (trickle) clearInterval(trickle);
      (sock as net.Socket | null)?.destroy();
      await s.api.close();
    }
  });
});
