// Free ports on 127.0.0.1 for tests that hand ports to other processes.
//
// Ports come from [20000, 32768), never from the kernel's ephemeral range
// (32768-60999 on Linux): a port the kernel picked with bind(0) is one it may
// hand to the next outgoing connection too, and a node started on it a moment
// later fails with EADDRINUSE. Each candidate is checked free for both TCP and
// UDP, and all n are held open together, so the n ports are distinct. Another
// process may still take a port between close and reuse; the random start
// keeps parallel test runs apart and tests use the ports at once.

import * as dgram from 'node:dgram';
import * as net from 'node:net';

export const LOOPBACK = '127.0.0.1';

const LOW = 20000;
const HIGH = 32768; // exclusive: the first port of Linux's ephemeral range

type Held = { close(): Promise<void> };

function holdTcp(port: number): Promise<Held | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, LOOPBACK, () => resolve({ close: () => new Promise<void>((r) => s.close(() => r())) }));
  });
}

function holdUdp(port: number): Promise<Held | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => { s.close(); resolve(undefined); });
    s.bind(port, LOOPBACK, () => resolve({ close: () => new Promise<void>((r) => s.close(() => r())) }));
  });
}

/** `n` distinct ports below 32768, free on 127.0.0.1 for TCP and UDP a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  const held: Held[] = [];
  let candidate = LOW + Math.floor(Math.random() * (HIGH - LOW));
  for (let tries = 0; ports.length < n; tries++) {
    if (tries >= HIGH - LOW) throw new Error(`no ${n} free ports in [${LOW}, ${HIGH})`);
    candidate = candidate + 1 >= HIGH ? LOW : candidate + 1;
    const tcp = await holdTcp(candidate);
    if (!tcp) continue;
    const udp = await holdUdp(candidate);
    if (!udp) { await tcp.close(); continue; }
    held.push(tcp, udp);
    ports.push(candidate);
  }
  await Promise.all(held.map((h) => h.close()));
  return ports;
}

/**
 * A base port b below 32768 such that b + each of `offsets` was free for TCP
 * and UDP a moment ago (for a program that derives its ports from one base,
 * as `npm start --base-port` does).
 */
export async function freeBasePort(offsets: number[]): Promise<number> {
  const top = Math.max(...offsets);
  for (let tries = 0; tries < 1000; tries++) {
    const b = LOW + Math.floor(Math.random() * (HIGH - LOW - top));
    const held: Held[] = [];
    for (const o of offsets) {
      const tcp = await holdTcp(b + o);
      const udp = tcp && (await holdUdp(b + o));
      if (tcp) held.push(tcp);
      if (udp) held.push(udp);
      if (!tcp || !udp) break;
    }
    await Promise.all(held.map((h) => h.close()));
    if (held.length === 2 * offsets.length) return b;
  }
  throw new Error(`no free base port for offsets ${offsets.join(', ')}`);
}

/** `n` distinct TCP ports (see freePorts). */
export const freeTcpPorts = freePorts;
/** `n` distinct UDP ports (see freePorts). */
export const freeUdpPorts = freePorts;
