// JSON.parse that keeps every number exact.
//
// etcd's gateway reads int64 fields with Go's decoder, so a client may send a
// lease ID such as 9168662553930758684 as a bare JSON number (Python's
// etcd3gw does). JSON.parse would round it to a double (...8000), another
// lease. Lossless parsers on npm (lossless-json, json-bigint) solve this by
// parsing the whole text in JavaScript, a character at a time: on this
// project's 2-core VM lossless-json takes 100-250 ms for a body with a 1 MiB
// value, against about 1 ms for JSON.parse, and that time blocks the node's
// event loop and so its heartbeats. So we keep JSON.parse for the work and do
// one cheap pass first, which finds the number tokens: string contents are
// skipped with indexOf, and etcd bodies have little else outside strings.
//
// - Every number a safe integer of at most 15 digits (nearly every request):
//   plain JSON.parse. Each such number is exact as a double.
// - Otherwise each other number token (a big integer, a fraction, an
//   exponent) is rewritten as a one-member object {SENTINEL: "token"}, which
//   JSON.parse's reviver turns into a JsonNumber holding the token's text.
//   A client may write that object itself; in a body that also holds such a
//   number it then reads as the number it spells, which the client could
//   have sent as a number anyway; elsewhere it stays an object.
//
// Callers read numbers as `number` (a safe integer) or JsonNumber (its text).

/** A JSON number token kept as its text, exactly as the client wrote it. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

const SENTINEL = '\u0000simpleraft:number';
/** A token that is exact as a double: an integer of at most 15 digits (< 2^53). */
const SAFE_INTEGER = /^-?(0|[1-9][0-9]{0,14})$/;
/** JSON's number syntax (RFC 8259 §6). */
export const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;

function startsNumber(c: number): boolean {
  return c === MINUS || (c >= 0x30 && c <= 0x39);
}

function inNumber(c: number): boolean {
  // Digits, '+', '-', '.', 'e', 'E': what may follow inside a number token.
  return (c >= 0x30 && c <= 0x39) || c === 0x2b || c === MINUS || c === 0x2e || c === 0x65 || c === 0x45;
}

/** Where the string starting at the quote `open` ends (index of its closing quote), or -1. */
function stringEnd(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  while (q >= 0) {
    let backslashes = 0;
    for (let j = q - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
  return -1;
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== SENTINEL) return value;
  const text = (value as Record<string, unknown>)[SENTINEL];
  return typeof text === 'string' ? new JsonNumber(text) : value;
}

/**
 * JSON.parse(text), except that a number that is not a safe integer of at
 * most 15 digits comes back as a JsonNumber with its exact text. Throws
 * JSON.parse's SyntaxError for text that is not JSON.
 */
export function parseExactJson(text: string): unknown {
  const parts: string[] = [];
  let copied = 0;
  for (let i = 0; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break; // unterminated: JSON.parse says so below
      i = end + 1;
    } else if (startsNumber(c)) {
      const start = i;
      while (i < text.length && inNumber(text.charCodeAt(i))) i++;
      const token = text.slice(start, i);
      if (SAFE_INTEGER.test(token)) continue;
      if (!JSON_NUMBER.test(token)) break; // not JSON: JSON.parse says so below
      parts.push(text.slice(copied, start), JSON.stringify({ [SENTINEL]: token }));
      copied = i;
    } else {
      i++;
    }
  }
  if (parts.length === 0) return JSON.parse(text);
  parts.push(text.slice(copied));
  let parsed: unknown;
  try {
    parsed = JSON.parse(parts.join(''), revive);
  } catch {
    JSON.parse(text); // throws the error with the client's own positions
    throw new SyntaxError('not JSON');
  }
  return parsed;
}
