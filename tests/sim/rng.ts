/**
 * The simulator's one source of randomness: mulberry32, a 32-bit generator that is tiny, fast and
 * replays exactly from a seed. Every choice of a run (faults, delays, node ids) draws from one instance.
 */

import { Mulberry32 } from "../helpers/rng.ts";

/** The simulator's generator: mulberry32 from a mixed seed, with the draws a run needs. */
export class Rng extends Mulberry32 {
  constructor(seed: number) {
    // Mix the seed so that neighbouring seeds do not start on neighbouring states.
    super(Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x6d2b79f5);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max] (both included). */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** The elements of an array in a random order (a new array). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
