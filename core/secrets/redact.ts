/**
 * Redaction: keep keys, secrets, signatures, tokens and passwords out of
 * every message, log line, HTTP body, event and serialised error.
 *
 * Two layers: value-based (every registered secret value is replaced wherever
 * it appears, also in the spellings an echo may use: JSON-escaped, with `\/`,
 * percent- and form-encoded) and name-based for structured log fields
 * (fields whose name looks secret — `secret`, `password`, `token`,
 * `api-sign`, `signature`, `nonce`, `otp`, `key` — are masked whatever their
 * value).
 *
 * Values shorter than {@linkcode MIN_REDACTED_LENGTH} characters are not
 * registered: masking them would mangle ordinary words ("The password is too
 * short" must not become "The password is too [redacted]") and the mask's
 * position would itself disclose the value. Every real secret is longer:
 * Kraken keys (56), secrets (88), signatures (88), nonces (16 digits),
 * WebSocket tokens, and master passwords (the vault needs 8 or more).
 *
 * Cost: the value set (with its encoded spellings) is built once, when a
 * value is registered; scrubbing a text is one `includes` per value, and a
 * text shorter than the shortest value is returned at once.
 *
 * @module
 */

import { Secret } from "./secret.ts";

const MASK = "[redacted]";
const SECRET_FIELD =
  /^(?:.*secret.*|.*password.*|.*passphrase.*|.*token.*|api[-_]?sign|.*signature.*|nonce|otp|api[-_]?key|key|authorization|cookie|set-cookie)$/i;

/**
 * The shortest value that is redacted by value (8 characters). Shorter
 * values are ignored: see the module doc.
 */
export const MIN_REDACTED_LENGTH = 8;

/**
 * Whether a field name should be masked regardless of its value.
 *
 * @param name A field, header or parameter name.
 * @returns `true` for names such as `secret`, `API-Sign`, `token`, `nonce`.
 * @example Check a name
 * ```ts
 * import { isSecretFieldName } from "./redact.ts";
 * isSecretFieldName("API-Sign"); // true
 * isSecretFieldName("pair"); // false
 * ```
 */
export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/**
 * The spellings of a value an echo may carry: as is, JSON-escaped (also with
 * `/` escaped as `\/`, as PHP does), percent-encoded and form-encoded.
 *
 * @param value A secret value.
 * @returns The distinct spellings, the value itself first.
 * @example Spellings of a base64 secret
 * ```ts
 * import { secretSpellings } from "./redact.ts";
 * secretSpellings("a/b+c=d=="); // ["a/b+c=d==", "a\\/b+c=d==", "a%2Fb%2Bc%3Dd%3D%3D"]
 * ```
 */
export function secretSpellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  const percent = encodeURIComponent(value);
  const spellings = [
    value,
    json,
    json.replaceAll("/", "\\/"),
    percent,
    percent.replaceAll("%20", "+"),
  ];
  return [...new Set(spellings)];
}

/**
 * Replace every occurrence of each secret value in a text with `[redacted]`.
 * Values shorter than {@linkcode MIN_REDACTED_LENGTH} are ignored.
 *
 * @param text Text that may contain secrets.
 * @param secrets Values to remove.
 * @returns The text without them.
 * @example Redact
 * ```ts
 * import { redactAll } from "./redact.ts";
 * redactAll("key=abcdefgh", ["abcdefgh"]); // "key=[redacted]"
 * ```
 */
export function redactAll(
  text: string,
  secrets: Iterable<string | Secret>,
): string {
  const r = new Redactor();
  for (const s of secrets) r.register(s);
  return r.text(text);
}

/**
 * A registry of live secret values and the functions that scrub them.
 * One per process: credentials, the master password and WS tokens are
 * registered as they are loaded. The REST client scrubs the per-request
 * values (signature, nonce, one-time password) of each call itself.
 *
 * @example Scrub a log line
 * ```ts
 * import { Redactor } from "./redact.ts";
 * const r = new Redactor();
 * r.register("s3cr3t-value");
 * r.text("failed with s3cr3t-value"); // "failed with [redacted]"
 * ```
 */
export class Redactor {
  /** Registered values, each with its spellings. */
  #values = new Map<string, readonly string[]>();
  /** Every spelling, longest first (a longer one may contain a shorter). */
  #needles: string[] = [];
  #shortest = Infinity;
  #names = new Map<string, boolean>();

  /**
   * Register a value that must never be shown. Values shorter than
   * {@linkcode MIN_REDACTED_LENGTH} are ignored.
   *
   * @param value The secret (plain or wrapped).
   */
  register(value: string | Secret): void {
    const v = typeof value === "string" ? value : value.reveal();
    if (v.length < MIN_REDACTED_LENGTH || this.#values.has(v)) return;
    this.#values.set(v, secretSpellings(v));
    this.#rebuild();
  }

  /**
   * Forget a value (e.g. an expired WS token).
   *
   * @param value The secret (plain or wrapped).
   */
  forget(value: string | Secret): void {
    if (
      this.#values.delete(typeof value === "string" ? value : value.reveal())
    ) {
      this.#rebuild();
    }
  }

  /** Whether no value is registered (scrubbing is then the identity). */
  get empty(): boolean {
    return this.#values.size === 0;
  }

  #rebuild(): void {
    const needles = new Set<string>();
    for (const spellings of this.#values.values()) {
      for (const s of spellings) needles.add(s);
    }
    this.#needles = [...needles].sort((a, b) => b.length - a.length);
    this.#shortest = this.#needles.reduce(
      (min, s) => Math.min(min, s.length),
      Infinity,
    );
  }

  /**
   * Scrub registered values from a text.
   *
   * @param text Any text.
   * @returns The text with every registered value replaced.
   */
  text(text: string): string {
    if (text.length < this.#shortest) return text;
    let out = text;
    for (const needle of this.#needles) {
      if (out.includes(needle)) out = out.split(needle).join(MASK);
    }
    return out;
  }

  /**
   * Scrub registered values from every string of a JSON-like value,
   * object keys included; names are not masked (use
   * {@linkcode Redactor.fields} for log fields).
   *
   * @param value Any JSON-like value (a Kraken `result`, an event).
   * @returns A scrubbed deep copy (the value itself when nothing is
   *   registered).
   */
  value<T>(value: T): T {
    if (this.#needles.length === 0) return value;
    return this.#deep(value, 0) as T;
  }

  /**
   * `JSON.stringify` of a value with every registered value removed: the
   * text that may leave the process (an HTTP body, an SSE `data:` line).
   * A value with nothing to remove costs one `includes` per spelling over
   * its JSON.
   *
   * @param value Any JSON-serialisable value.
   * @returns Its JSON, scrubbed.
   */
  json(value: unknown): string {
    const text = JSON.stringify(value) ?? "null";
    if (text.length < this.#shortest) return text;
    for (const needle of this.#needles) {
      if (text.includes(needle)) return JSON.stringify(this.#deep(value, 0));
    }
    return text;
  }

  /**
   * Scrub a structured value for logging: secret-looking field names are
   * masked and registered values removed from every string.
   *
   * @param value Any JSON-like value.
   * @returns A scrubbed deep copy.
   */
  fields(value: unknown): unknown {
    return this.#scrub(value, 0);
  }

  /**
   * A safe, serialisable summary of an error: name, `kind` if any, and a
   * scrubbed message. Stack and cause are not included.
   *
   * @param error Anything thrown.
   * @returns `{ name, kind?, message }` with no secret values.
   */
  error(error: unknown): { name: string; kind?: string; message: string } {
    if (error instanceof Error) {
      const kind = (error as { kind?: unknown }).kind;
      return {
        name: error.name,
        ...(typeof kind === "string" ? { kind: this.text(kind) } : {}),
        message: this.text(error.message),
      };
    }
    return { name: "Error", message: this.text(String(error)) };
  }

  #deep(value: unknown, depth: number): unknown {
    if (typeof value === "string") return this.text(value);
    if (value instanceof Secret) return MASK;
    if (depth > 64) return "[…]";
    if (Array.isArray(value)) return value.map((v) => this.#deep(v, depth + 1));
    if (typeof value === "object" && value !== null) {
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
        return this.#deep(
          (value as { toJSON(): unknown }).toJSON(),
          depth + 1,
        );
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        out[this.text(k)] = this.#deep(v, depth + 1);
      }
      return out;
    }
    return value;
  }

  /** Field names repeat (every log line has the same few): decided once. */
  #secretName(name: string): boolean {
    let secret = this.#names.get(name);
    if (secret === undefined) {
      secret = isSecretFieldName(name);
      if (this.#names.size < 1024) this.#names.set(name, secret);
    }
    return secret;
  }

  #scrub(value: unknown, depth: number): unknown {
    if (depth > 8) return "[…]";
    if (typeof value === "string") return this.text(value);
    if (value instanceof Secret) return MASK;
    if (Array.isArray(value)) {
      return value.map((v) => this.#scrub(v, depth + 1));
    }
    if (value instanceof Error) return this.error(value);
    if (typeof value === "object" && value !== null) {
      const out: Record<string, unknown> = {};
      for (const k in value) {
        if (!Object.hasOwn(value, k)) continue;
        const v = (value as Record<string, unknown>)[k];
        const name = k.length < this.#shortest ? k : this.text(k);
        out[name] = this.#secretName(k) ? MASK : this.#scrub(v, depth + 1);
      }
      return out;
    }
    return value;
  }
}
