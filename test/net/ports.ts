// Free ports on 127.0.0.1 for tests: bind port 0 (the kernel picks a free
// port), read it, close. All n sockets are open at once, so the n ports are
// distinct. Another process may take a port between close and reuse; tests
// use them at once to keep that window small.

import * as dgram from 'node:dgram';
import * as net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** `n` distinct TCP ports that were free on 127.0.0.1 a moment ago. */
export async function freeTcpPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, LOOPBACK, () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** `n` distinct UDP ports that were free on 127.0.0.1 a moment ago. */
export async function freeUdpPorts(n: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: n }, () => new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      s.once('error', reject);
      s.bind(0, LOOPBACK, () => resolve(s));
    })),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
