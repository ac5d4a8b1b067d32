// CRC-32 (IEEE 802.3, the polynomial of zip and PNG) for the checksums of the
// write-ahead log's records and snapshot files.
//
// Node 20.15+ has zlib.crc32 in C; older runtimes fall back to the classic
// table-driven loop below, which gives the same values.

import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `data` by the table, 0xffffffff in and out (the standard check value of "123456789" is 0xcbf43926). */
export function crc32Table(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

export function crc32(data: Uint8Array): number {
  return native ? native(data) >>> 0 : crc32Table(data);
}
