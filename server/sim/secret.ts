/**
 * The simulator's holder of its test API secret: it prints `[redacted]`
 * in strings, JSON and inspection, and gives the text only through
 * `reveal()`. The simulator's own, so it takes nothing from the client it
 * tests; callers that hand the secret to a client wrap `reveal()` in the
 * client's type.
 *
 * @module
 */

/** A secret that never prints itself. */
export class SimSecret {
  readonly #text: string;

  /**
   * Wraps the text.
   *
   * @param text The secret.
   */
  constructor(text: string) {
    this.#text = text;
  }

  /**
   * The secret's text.
   *
   * @returns The text.
   */
  reveal(): string {
    return this.#text;
  }

  /** Length of the text. */
  get length(): number {
    return this.#text.length;
  }

  /**
   * Never the text.
   *
   * @returns `[redacted]`.
   */
  toString(): string {
    return "[redacted]";
  }

  /**
   * Never the text.
   *
   * @returns `[redacted]`.
   */
  toJSON(): string {
    return "[redacted]";
  }

  /**
   * Never the text, in `Deno.inspect` and `console.log`.
   *
   * @returns `[redacted]`.
   */
  [Symbol.for("Deno.customInspect")](): string {
    return "[redacted]";
  }
}
