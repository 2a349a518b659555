/**
 * Seeded randomness for tests: mulberry32, a tiny 32-bit generator that replays exactly from its
 * seed, so a failing seed reproduces. The simulator (tests/sim/rng.ts) builds on the same generator.
 */

/** The mulberry32 generator itself. */
export class Mulberry32 {
  private state: number;

  constructor(state: number) {
    this.state = state >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** The generator as a `() => number` function. */
  asFunction(): () => number {
    return () => this.next();
  }
}

/** The generator of the differential and unit tests. */
export class Rng extends Mulberry32 {
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}
