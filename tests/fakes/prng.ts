/**
 * A small seeded PRNG (mulberry32) for property tests: the same seed gives
 * the same sequence, so a failing run can be replayed from its seed.
 *
 * @module
 */

/**
 * Returns a generator of numbers in [0, 1) from a 32-bit seed.
 *
 * @param seed Any integer; only its low 32 bits count.
 * @returns The generator.
 * @example Reproducible
 * ```ts
 * import { prng } from "./prng.ts";
 * prng(7)() === prng(7)(); // true
 * ```
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
