/**
 * Seeded random numbers for preparing datasets: a counter hashed with the seed
 * (`hash01` of `src/io/hash.ts`), so that the same seed gives the same sequence on any
 * machine. Independent purposes (shuffling, augmentation) use different streams.
 * @module
 */

import { hash01 } from "../io/hash.ts";

/** A seeded sequence of uniform numbers. */
export class SeededRandom {
  private key: number;
  private counter = 0;

  /**
   * @param seed the user's seed (an integer).
   * @param stream which of the seed's independent sequences (a small integer).
   */
  constructor(seed: number, stream: number) {
    this.key = (Math.imul(seed | 0, 0x2545F491) ^ Math.imul(stream + 1, 0x9E3779B9)) >>> 0;
  }

  /** A number uniform in `[0, 1)` (24 bits). */
  next(): number {
    return hash01(this.key, this.counter++);
  }

  /** A number uniform in `[a, b)`. */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** An integer uniform in `0 … n − 1` (`n` at most 2^24). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns them. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
