// npx ts-node --transpile-only bench/json-parse.ts
//
// What reading int64s exactly costs the API per request body: parseExactJson
// (src/api/exact-json.ts) against plain JSON.parse, on put bodies with a small
// and a 1 MiB value, each with the lease ID as a string (the fast path: no
// number past 15 digits) and as a bare JSON number (the rewrite path, as
// Python's etcd3gw sends it). Median of 7 rounds, each timing many parses.

import { parseExactJson } from '../src/api/exact-json';

const LEASE = '9168662553930758684';

function body(valueBytes: number, leaseAsNumber: boolean): string {
  const value = Buffer.alloc(valueBytes, 7).toString('base64');
  const lease = leaseAsNumber ? LEASE : JSON.stringify(LEASE);
  return `{"key": "${Buffer.from('bench/key/000123').toString('base64')}", "value": "${value}", "lease": ${lease}}`;
}

/** Microseconds per parse: the median of 7 rounds of `n` parses. */
function time(parse: (t: string) => unknown, text: string, n: number): number {
  for (let i = 0; i < Math.min(n, 100); i++) parse(text);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) parse(text);
    rounds.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return rounds.sort((a, b) => a - b)[3];
}

console.log('| body | JSON.parse | parseExactJson |');
console.log('|---|---|---|');
for (const [valueBytes, n] of [
  [100, 100_000],
  [1024 * 1024, 30],
] as const) {
  for (const asNumber of [false, true]) {
    const text = body(valueBytes, asNumber);
    const what = `${valueBytes >= 1024 ? `${valueBytes / 1024 / 1024} MiB` : `${valueBytes} B`} value, lease as ${asNumber ? 'a number' : 'a string'} (${text.length} B)`;
    const plain = time(JSON.parse, text, n);
    const exact = time(parseExactJson, text, n);
    console.log(`| ${what} | ${plain.toFixed(2)} µs | ${exact.toFixed(2)} µs |`);
  }
}
