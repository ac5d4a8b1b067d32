// Randomness enters the protocol core only through an Rng, so a seed
// reproduces a run exactly. Nothing in src/states or src/server may call
// Math.random.

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number;
}

/**
 * A small seeded generator (the public-domain mulberry32 algorithm): 32 bits of
 * state, fast, and good enough for timeouts and fault injection.
 */
export class SeededRng implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A new generator whose sequence is derived from this one. */
  fork(): SeededRng {
    return new SeededRng(Math.floor(this.next() * 4294967296));
  }
}
