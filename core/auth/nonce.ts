/**
 * Strictly increasing microsecond nonces for Kraken private calls.
 *
 * Kraken requires every private request's nonce to be strictly greater than
 * the last one it accepted for that API key. Krakked uses microseconds since
 * the Unix epoch (16 digits today, far below 2^53, so a plain `number` is
 * exact) and never goes backwards: `max(nowMs * 1000, last + 1)`.
 *
 * A key that was ever used with a larger nonce scale (for example another
 * tool sending nanoseconds) has a stored nonce no microsecond nonce can pass.
 * Kraken offers no way to lower it: create a new API key for Krakked (or
 * raise the key's nonce window, which weakens replay protection).
 *
 * @module
 */

import { type Now, systemClock } from "../clock.ts";

/**
 * Compute the next nonce from the previous one and the current time.
 * Pure: the caller keeps the state.
 *
 * @param last The last nonce handed out (0 when none yet).
 * @param nowMs The current time in milliseconds since the Unix epoch.
 * @returns A nonce strictly greater than `last`.
 * @example Next nonce
 * ```ts
 * import { nextNonce } from "./nonce.ts";
 * nextNonce(0, 1_700_000_000_000); // 1_700_000_000_000_000
 * nextNonce(1_700_000_000_000_000, 1_700_000_000_000); // 1_700_000_000_000_001
 * ```
 */
export function nextNonce(last: number, nowMs: number): number {
  const fromClock = Math.floor(nowMs) * 1000;
  return fromClock > last ? fromClock : last + 1;
}

/** Options of {@linkcode NonceSource}. */
export interface NonceSourceOptions {
  /** Clock in milliseconds since the Unix epoch; defaults to `systemClock.now`. */
  now?: Now;
  /** Start above this nonce (e.g. one persisted from an earlier run). */
  floor?: number;
}

/**
 * A per-key nonce generator: strictly increasing microsecond nonces even for
 * many calls in one millisecond or when the clock steps backwards.
 *
 * @example Use
 * ```ts
 * import { NonceSource } from "./nonce.ts";
 * const nonces = new NonceSource();
 * const a = nonces.next();
 * const b = nonces.next();
 * console.assert(b > a);
 * ```
 */
export class NonceSource {
  #last: number;
  #now: Now;

  /**
   * Create a generator.
   *
   * @param options Clock and starting floor.
   */
  constructor(options: NonceSourceOptions = {}) {
    this.#now = options.now ?? systemClock.now;
    this.#last = options.floor ?? 0;
  }

  /**
   * The next nonce.
   *
   * @returns A nonce strictly greater than every earlier one.
   */
  next(): number {
    this.#last = nextNonce(this.#last, this.#now());
    return this.#last;
  }

  /** The last nonce handed out (0 before the first). */
  get last(): number {
    return this.#last;
  }
}
