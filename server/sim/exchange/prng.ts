/**
 * Deterministic randomness for the simulator: a stateless integer hash (so
 * any trade, book level or candle can be computed on its own, at any time,
 * without replaying history) and a small seeded stream generator for
 * one-off sequences such as ids and the seeded account.
 *
 * Everything here is pure 32-bit integer arithmetic (`Math.imul`), so results
 * are identical on every platform.
 *
 * @module
 */

const TWO_POW_32 = 4294967296;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixNumber(h: number, x: number): number {
  // Integers up to 2^53 in two 32-bit halves; the high half is 0 for
  // ordinary indices, so small and large inputs never collide.
  const lo = x | 0;
  const hi = Math.floor(x / TWO_POW_32) | 0;
  return mix(mix(h, lo), hi);
}

/**
 * Hash a seed and up to four integers to an unsigned 32-bit integer
 * (MurmurHash3 mixing). Inputs are integers in ±2^53; fractions are dropped.
 *
 * @param seed The simulator seed (any integer).
 * @param a First input, e.g. a channel constant.
 * @param b Second input (default 0).
 * @param c Third input (default 0).
 * @param d Fourth input (default 0).
 * @returns An integer in `[0, 2^32)`.
 * @example Hash
 * ```ts
 * import { hash32 } from "./prng.ts";
 * hash32(42, 1, 2) === hash32(42, 1, 2); // true
 * ```
 */
export function hash32(
  seed: number,
  a: number,
  b = 0,
  c = 0,
  d = 0,
): number {
  let h = mixNumber(0x9747b28c, seed);
  h = mixNumber(h, a);
  h = mixNumber(h, b);
  h = mixNumber(h, c);
  h = mixNumber(h, d);
  return finish(h ^ 40);
}

/**
 * The state of {@linkcode hash32} after its first three inputs, for hashing
 * many values that share them (a pair's minutes, a path's knots): finish
 * with {@linkcode hashTail}. `hashTail(hashPrefix(s, a, b), c, d)` equals
 * `hash32(s, a, b, c, d)`.
 *
 * @param seed The simulator seed.
 * @param a First input.
 * @param b Second input.
 * @returns The intermediate state (an int32).
 * @example Same as hash32
 * ```ts
 * import { hash32, hashPrefix, hashTail } from "./prng.ts";
 * hashTail(hashPrefix(7, 1, 2), 3, 4) === hash32(7, 1, 2, 3, 4); // true
 * ```
 */
export function hashPrefix(seed: number, a: number, b: number): number {
  let h = mixNumber(0x9747b28c, seed);
  h = mixNumber(h, a);
  return mixNumber(h, b);
}

/**
 * Finish a {@linkcode hashPrefix} with the last two inputs of
 * {@linkcode hash32}.
 *
 * @param prefix The state from {@linkcode hashPrefix}.
 * @param c Third input.
 * @param d Fourth input (default 0).
 * @returns An integer in `[0, 2^32)`.
 * @example Finish
 * ```ts
 * import { hashPrefix, hashTail } from "./prng.ts";
 * hashTail(hashPrefix(7, 1, 2), 3); // = hash32(7, 1, 2, 3)
 * ```
 */
export function hashTail(prefix: number, c: number, d = 0): number {
  return finish(mixNumber(mixNumber(prefix, c), d) ^ 40);
}

/**
 * Like {@linkcode hash32}, scaled to a float in `[0, 1)`.
 *
 * @param seed The simulator seed.
 * @param a First input.
 * @param b Second input (default 0).
 * @param c Third input (default 0).
 * @param d Fourth input (default 0).
 * @returns A float in `[0, 1)`.
 * @example Uniform
 * ```ts
 * import { unit } from "./prng.ts";
 * const u = unit(42, 7); // 0 ≤ u < 1
 * ```
 */
export function unit(
  seed: number,
  a: number,
  b = 0,
  c = 0,
  d = 0,
): number {
  return hash32(seed, a, b, c, d) / TWO_POW_32;
}

/**
 * An approximately standard-normal value (sum of four uniforms, rescaled):
 * cheap, bounded to ±3.46 and deterministic.
 *
 * @param seed The simulator seed.
 * @param a First input.
 * @param b Second input (default 0).
 * @param c Third input (default 0).
 * @returns A value with mean 0 and variance 1.
 * @example Normal
 * ```ts
 * import { normal } from "./prng.ts";
 * const z = normal(42, 7, 1); // |z| < 3.5
 * ```
 */
export function normal(seed: number, a: number, b = 0, c = 0): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += unit(seed, a, b, c, 1000 + i);
  // Sum of 4 U(0,1): mean 2, variance 4/12.
  return (sum - 2) * Math.sqrt(3);
}

/**
 * Hash a string to a 32-bit integer (for pair and asset names).
 *
 * @param text Any text.
 * @returns An unsigned 32-bit integer.
 * @example Name hash
 * ```ts
 * import { hashText } from "./prng.ts";
 * hashText("XXBTZUSD") === hashText("XXBTZUSD"); // true
 * ```
 */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = mix(h, text.charCodeAt(i));
  }
  return finish(h ^ text.length);
}

/**
 * A seeded sequential generator (mulberry32). Used where a stream is natural
 * (account history, ids, tokens); market data uses the stateless hash.
 *
 * @example Stream
 * ```ts
 * import { SeededRandom } from "./prng.ts";
 * const random = new SeededRandom(42);
 * random.next(); // a float in [0, 1), the same for every run with seed 42
 * ```
 */
export class SeededRandom {
  #state: number;

  /**
   * Start a stream.
   *
   * @param seed Any integer.
   */
  constructor(seed: number) {
    this.#state = hash32(seed, 0x5eed) | 0;
  }

  /**
   * The next float in `[0, 1)`.
   *
   * @returns A float.
   */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_POW_32;
  }

  /**
   * An integer in `[min, max]`.
   *
   * @param min Lower bound (inclusive).
   * @param max Upper bound (inclusive).
   * @returns An integer.
   */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /**
   * One element of a non-empty list.
   *
   * @param items The list.
   * @returns One of its elements.
   * @throws {RangeError} When the list is empty.
   */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) {
      throw new RangeError("Cannot pick from an empty list");
    }
    return items[Math.floor(this.next() * items.length)]!;
  }
}
