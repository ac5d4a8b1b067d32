// Byte helpers shared by the store, its commands and the HTTP gateway.

/** int64 bounds, as etcd's lease IDs and revisions are int64. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/**
 * A key as a JS string whose UTF-16 code units are the key's bytes (latin1).
 * JS compares strings by code units, so comparing these strings compares the
 * keys bytewise, as etcd orders keys. Used as map keys and for the sorted index.
 */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export function keyFromString(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** Standard base64 with padding, as Go's base64.StdEncoding writes it. */
export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/**
 * Strict base64 (standard alphabet, padded), as Go's base64.StdEncoding reads
 * it, which is what etcd's JSON gateway uses for `bytes` fields. Returns the
 * bytes, or a message in Go's words naming the first bad input byte.
 * (Buffer.from(s, 'base64') alone would silently skip bad characters.)
 */
export function parseBase64(s: string): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  // Go's decoder skips CR and LF anywhere; everything else must be alphabet or padding.
  const clean = s.includes('\n') || s.includes('\r') ? s.replace(/[\r\n]/g, '') : s;
  let padStart = -1;
  for (let i = 0; i < clean.length; i++) {
    const c = clean.charCodeAt(i);
    const alpha =
      (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (c === 61 /* = */) {
      if (padStart < 0) padStart = i;
      continue;
    }
    if (!alpha || padStart >= 0) return { ok: false, error: `illegal base64 data at input byte ${i}` };
  }
  if (clean.length % 4 !== 0) {
    return { ok: false, error: `illegal base64 data at input byte ${clean.length - (clean.length % 4)}` };
  }
  if (padStart >= 0 && clean.length - padStart > 2) {
    return { ok: false, error: `illegal base64 data at input byte ${padStart}` };
  }
  return { ok: true, bytes: Buffer.from(clean, 'base64') };
}

/** base64 exactly as toBase64() writes it: the only form accepted inside log entries. */
export function parseCanonicalBase64(s: string): Buffer | null {
  const r = parseBase64(s);
  if (!r.ok || r.bytes.toString('base64') !== s) return null;
  return r.bytes;
}

/** etcd's prefix range end: the prefix with its last byte below 0xff incremented. */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff (or empty): no upper bound, i.e. every key >= prefix.
  return Buffer.from([0]);
}
