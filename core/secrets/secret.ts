/**
 * A holder for secret text that never prints its value.
 *
 * @module
 */

const REDACTED = "[redacted]";

/**
 * Secret text (API secret, password, WS token). `String()`, template
 * literals, `JSON.stringify`, `console.log` and Deno/Node inspection all
 * print `[redacted]`; only {@linkcode Secret.reveal} returns the value.
 *
 * @example Use
 * ```ts
 * import { Secret } from "./secret.ts";
 * const s = new Secret("hunter2");
 * `${s}`; // "[redacted]"
 * s.reveal(); // "hunter2"
 * ```
 */
export class Secret {
  #value: string;

  /**
   * Wrap a secret value.
   *
   * @param value The secret text.
   */
  constructor(value: string) {
    this.#value = value;
  }

  /**
   * The secret value. Call only where it is needed (signing, sealing).
   *
   * @returns The wrapped text.
   */
  reveal(): string {
    return this.#value;
  }

  /** Length of the secret, safe to report. */
  get length(): number {
    return this.#value.length;
  }

  /**
   * What `String(secret)` and template literals print instead of the value.
   *
   * @returns `[redacted]`
   */
  toString(): string {
    return REDACTED;
  }

  /**
   * What `JSON.stringify` print instead of the value.
   *
   * @returns `[redacted]`
   */
  toJSON(): string {
    return REDACTED;
  }

  /**
   * What Deno's `console.log` and `Deno.inspect` print instead of the value.
   *
   * @returns `[redacted]`
   */
  [Symbol.for("Deno.customInspect")](): string {
    return REDACTED;
  }

  /**
   * What Node's `util.inspect` and `console.log` print instead of the value.
   *
   * @returns `[redacted]`
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/**
 * Compare two strings in time that depends only on their lengths.
 *
 * @param a First string.
 * @param b Second string.
 * @returns Whether they are equal.
 * @example Compare tokens
 * ```ts
 * import { timingSafeEqual } from "./secret.ts";
 * timingSafeEqual("abc", "abc"); // true
 * ```
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
