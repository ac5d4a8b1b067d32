// parseExactJson: JSON.parse, except that numbers that are not exact as a
// double come back as JsonNumber with the client's own text.

import { expect } from 'chai';
import { JsonNumber, parseExactJson } from '../../src/api/exact-json';
import { SeededRng } from '../../src/time/rng';

const n = (text: string) => new JsonNumber(text);

describe('parseExactJson', () => {
  it('safe integers of up to 15 digits are plain numbers', () => {
    expect(parseExactJson('{"a": 123, "b": [0, -5, 999999999999999], "c": {"d": -0}}')).to.deep.equal({
      a: 123,
      b: [0, -5, 999999999999999],
      c: { d: -0 },
    });
  });

  it('a larger integer, a fraction or an exponent keeps its exact text, at any depth and at the top', () => {
    expect(
      parseExactJson('{"ID": 9168662553930758684, "x": [1.0, -0.5E+2, 1e3], "y": {"z": -9223372036854775809}, "s": 9007199254740993}'),
    ).to.deep.equal({
      ID: n('9168662553930758684'),
      x: [n('1.0'), n('-0.5E+2'), n('1e3')],
      y: { z: n('-9223372036854775809') },
      s: n('9007199254740993'),
    });
    expect(parseExactJson('1234567890123456')).to.deep.equal(n('1234567890123456'));
    // 16 digits is past what we take as exact, even when the double would be.
    expect(parseExactJson('[1000000000000000]')).to.deep.equal([n('1000000000000000')]);
  });

  it('strings with digits, escaped quotes and backslashes are left to JSON.parse, untouched', () => {
    const text = String.raw`{"a": "x\"1.5\\", "b\\": 9007199254740993, "c": "\\\"12345678901234567890\"", "d": "\u00e9 1e3"}`;
    expect(parseExactJson(text)).to.deep.equal({ a: 'x"1.5\\', 'b\\': n('9007199254740993'), c: '\\"12345678901234567890"', d: 'é 1e3' });
  });

  it('text that is not JSON throws the SyntaxError JSON.parse throws for it', () => {
    for (const bad of ['{"a": 1.2.3}', '{"a": 99999999999999999999,}', '{"a": 1.5, "b": "open', '{"a": -}', '{"a": 01}', '[1.5] x', '']) {
      let expected: Error | null = null;
      try {
        JSON.parse(bad);
      } catch (e) {
        expected = e as Error;
      }
      expect(expected, bad).to.be.instanceOf(SyntaxError);
      expect(() => parseExactJson(bad), bad).to.throw(SyntaxError, expected!.message);
    }
  });

  it('an own property named __proto__ stays an own property (no prototype change)', () => {
    const v = parseExactJson('{"__proto__": {"polluted": 1.5}, "a": 12345678901234567890}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).to.equal(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(v, '__proto__')).to.equal(true);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('agrees with a model on 2000 random documents (seeded): structure as JSON.parse, every number token exact', () => {
    const rng = new SeededRng(10);
    const pick = <T>(xs: T[]): T => xs[rng.int(0, xs.length)];
    const digits = (k: number) => Array.from({ length: k }, (_, i) => String(i === 0 ? rng.int(1, 10) : rng.int(0, 10))).join('');
    /** A number token and what parseExactJson must give for it. */
    const number = (): [string, unknown] => {
      const sign = rng.chance(0.3) ? '-' : '';
      const int = rng.chance(0.1) ? '0' : digits(rng.int(1, 22));
      let token = sign + int;
      if (rng.chance(0.2)) token += '.' + digits(rng.int(1, 4));
      if (rng.chance(0.15)) token += pick(['e', 'E']) + pick(['', '+', '-']) + digits(rng.int(1, 3));
      return [token, /^-?(0|[1-9][0-9]{0,14})$/.test(token) ? Number(token) : n(token)];
    };
    const str = (): string => {
      const chars = ['a', '1', '"', '\\', '.', 'e', '-', ' ', 'é', '{', '}', '[', ']', ':', ',', '\n', '\u0000'];
      return Array.from({ length: rng.int(0, 8) }, () => pick(chars)).join('');
    };
    const value = (depth: number): [string, unknown] => {
      const kind = depth > 3 ? rng.int(0, 3) : rng.int(0, 5);
      if (kind === 0) return number();
      if (kind === 1) {
        const s = str();
        return [JSON.stringify(s), s];
      }
      if (kind === 2) {
        const lit = pick(['true', 'false', 'null']);
        return [lit, JSON.parse(lit)];
      }
      const items = Array.from({ length: rng.int(0, 4) }, () => value(depth + 1));
      const ws = () => pick(['', ' ', '\n\t']);
      if (kind === 3) return [`[${ws()}${items.map(([t]) => t).join(`${ws()},${ws()}`)}${ws()}]`, items.map(([, v]) => v)];
      const keys = items.map((_, i) => `${str()}#${i}`); // distinct keys: JSON.parse keeps the last of duplicates
      return [
        `{${items.map(([t], i) => `${ws()}${JSON.stringify(keys[i])}${ws()}:${ws()}${t}`).join(',')}${ws()}}`,
        Object.fromEntries(items.map(([, v], i) => [keys[i], v])),
      ];
    };
    for (let i = 0; i < 2000; i++) {
      const [text, expected] = value(0);
      expect(parseExactJson(text), text).to.deep.equal(expected);
    }
  });
});
