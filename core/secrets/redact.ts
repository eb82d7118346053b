/**
 * Redaction: keep keys, secrets, tokens and passwords out of every message,
 * log line and serialised error.
 *
 * Two layers: value-based (every registered secret value is replaced wherever
 * it appears) and name-based (fields whose name looks secret — `secret`,
 * `password`, `token`, `api-sign`, `signature`, `nonce`, `otp`, `key` — are
 * masked whatever their value).
 *
 * @module
 */

import { Secret } from "./secret.ts";

const MASK = "[redacted]";
const SECRET_FIELD =
  /^(?:.*secret.*|.*password.*|.*passphrase.*|.*token.*|api[-_]?sign|.*signature.*|nonce|otp|api[-_]?key|key|authorization|cookie|set-cookie)$/i;

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
 * Replace every occurrence of each secret value in a text with `[redacted]`.
 * Values shorter than 4 characters are ignored (they would mangle text).
 *
 * @param text Text that may contain secrets.
 * @param secrets Values to remove.
 * @returns The text without them.
 * @example Redact
 * ```ts
 * import { redactAll } from "./redact.ts";
 * redactAll("key=abcd", ["abcd"]); // "key=[redacted]"
 * ```
 */
export function redactAll(
  text: string,
  secrets: Iterable<string | Secret>,
): string {
  let out = text;
  for (const s of secrets) {
    const value = typeof s === "string" ? s : s.reveal();
    if (value.length >= 4 && out.includes(value)) {
      out = out.split(value).join(MASK);
    }
  }
  return out;
}

/**
 * A registry of live secret values and the functions that scrub them.
 * One per process: credentials, the master password and WS tokens are
 * registered as they are loaded.
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
  #values = new Set<string>();

  /**
   * Register a value that must never be shown.
   *
   * @param value The secret (plain or wrapped).
   */
  register(value: string | Secret): void {
    const v = typeof value === "string" ? value : value.reveal();
    if (v.length >= 4) this.#values.add(v);
  }

  /**
   * Forget a value (e.g. an expired WS token).
   *
   * @param value The secret (plain or wrapped).
   */
  forget(value: string | Secret): void {
    this.#values.delete(typeof value === "string" ? value : value.reveal());
  }

  /**
   * Scrub registered values from a text.
   *
   * @param text Any text.
   * @returns The text with every registered value replaced.
   */
  text(text: string): string {
    return redactAll(text, this.#values);
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
        ...(typeof kind === "string" ? { kind } : {}),
        message: this.text(error.message),
      };
    }
    return { name: "Error", message: this.text(String(error)) };
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
      for (const [k, v] of Object.entries(value)) {
        out[k] = isSecretFieldName(k) ? MASK : this.#scrub(v, depth + 1);
      }
      return out;
    }
    return value;
  }
}
