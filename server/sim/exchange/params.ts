/**
 * Request parameters and API errors for the simulator's REST methods.
 *
 * Kraken reads parameters from the query string (public GET), a form body
 * or a JSON body (REST.md §1); {@linkcode Params} gives one view over all
 * three. Handlers throw {@linkcode SimApiError} with a Kraken error string
 * and the router answers `{"error":["…"]}` with HTTP 200.
 *
 * @module
 */

/** Kraken's "bad arguments" string. */
export const INVALID_ARGUMENTS = "EGeneral:Invalid arguments";

/**
 * A Kraken API error: the router answers `{"error":[code]}` (HTTP 200).
 *
 * @example Throw
 * ```ts
 * import { SimApiError } from "./params.ts";
 * throw new SimApiError("EQuery:Unknown asset pair");
 * ```
 */
export class SimApiError extends Error {
  /** The error class name. */
  override name = "SimApiError";

  /**
   * Create the error.
   *
   * @param code The Kraken error string, e.g. `EGeneral:Invalid arguments`.
   */
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Parameters of one call, from a query string, a form body or a JSON body.
 *
 * @example Read parameters
 * ```ts
 * import { Params } from "./params.ts";
 * const params = Params.fromForm("pair=XBTUSD&count=10&trades=true");
 * params.get("pair"); // "XBTUSD"
 * params.int("count", { min: 1, max: 500 }); // 10
 * params.bool("trades"); // true
 * ```
 */
export class Params {
  #values: Map<string, string>;
  #json: Record<string, unknown> | undefined;

  /**
   * Wrap parsed values.
   *
   * @param values Name → text value.
   * @param json The parsed JSON body, when the body was JSON.
   */
  constructor(values: Map<string, string>, json?: Record<string, unknown>) {
    this.#values = values;
    this.#json = json;
  }

  /**
   * Parse a form (or query) string.
   *
   * @param text `a=1&b=2` text.
   * @returns The parameters.
   */
  static fromForm(text: string): Params {
    const values = new Map<string, string>();
    for (const [k, v] of new URLSearchParams(text)) values.set(k, v);
    return new Params(values);
  }

  /**
   * Wrap a parsed JSON object: scalars become text (`true` → `"true"`),
   * arrays become comma lists; the object stays available as `json`.
   *
   * @param json The parsed body.
   * @returns The parameters.
   */
  static fromJson(json: Record<string, unknown>): Params {
    const values = new Map<string, string>();
    for (const [k, v] of Object.entries(json)) {
      if (typeof v === "string") values.set(k, v);
      else if (typeof v === "number" || typeof v === "boolean") {
        values.set(k, String(v));
      } else if (
        Array.isArray(v) &&
        v.every((x) => typeof x === "string" || typeof x === "number")
      ) {
        values.set(k, v.join(","));
      }
    }
    return new Params(values, json);
  }

  /** The parsed JSON body, when the body was JSON. */
  get json(): Record<string, unknown> | undefined {
    return this.#json;
  }

  /**
   * Merge another set under this one (this one wins).
   *
   * @param other Lower-priority parameters.
   * @returns A new set.
   */
  withDefaults(other: Params): Params {
    const values = new Map(other.#values);
    for (const [k, v] of this.#values) values.set(k, v);
    return new Params(values, this.#json ?? other.#json);
  }

  /**
   * A raw value.
   *
   * @param name Parameter name.
   * @returns The text, or `undefined` when absent.
   */
  get(name: string): string | undefined {
    return this.#values.get(name);
  }

  /**
   * A comma-separated list (empty entries dropped).
   *
   * @param name Parameter name.
   * @returns The entries, or `undefined` when absent or empty.
   */
  list(name: string): string[] | undefined {
    const text = this.#values.get(name);
    if (text === undefined) return undefined;
    const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
    return items.length === 0 ? undefined : items;
  }

  /**
   * A boolean (`true`/`false`, also `1`/`0`).
   *
   * @param name Parameter name.
   * @param fallback Value when absent (default `false`).
   * @returns The boolean.
   * @throws {SimApiError} `EGeneral:Invalid arguments` for other text.
   */
  bool(name: string, fallback = false): boolean {
    const text = this.#values.get(name);
    if (text === undefined || text === "") return fallback;
    if (text === "true" || text === "1") return true;
    if (text === "false" || text === "0") return false;
    throw new SimApiError(INVALID_ARGUMENTS);
  }

  /**
   * An integer within bounds.
   *
   * @param name Parameter name.
   * @param options Bounds and default.
   * @returns The integer, or the default (possibly `undefined`) when absent.
   * @throws {SimApiError} `EGeneral:Invalid arguments` when not an integer or out of bounds.
   */
  int(
    name: string,
    options: { min?: number; max?: number; fallback?: number } = {},
  ): number | undefined {
    const text = this.#values.get(name);
    if (text === undefined || text === "") return options.fallback;
    if (!/^-?\d{1,16}$/.test(text.trim())) {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    const value = Number(text);
    if (options.min !== undefined && value < options.min) {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    if (options.max !== undefined && value > options.max) {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    return value;
  }

  /**
   * A decimal number (Unix seconds with fractions).
   *
   * @param name Parameter name.
   * @returns The number, or `undefined` when absent.
   * @throws {SimApiError} `EGeneral:Invalid arguments` when not a number.
   */
  number(name: string): number | undefined {
    const text = this.#values.get(name);
    if (text === undefined || text === "") return undefined;
    if (!/^-?\d+(\.\d+)?$/.test(text.trim())) {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    return Number(text);
  }
}

/**
 * Find the nonce text in a private body exactly as sent: the form field, or
 * the JSON member (string or number, read from the raw text so that
 * 19-digit nonces keep every digit).
 *
 * @param body The raw body.
 * @param isJson Whether the body is JSON.
 * @returns The nonce text, or `undefined` when there is none.
 * @example Nonce from JSON
 * ```ts
 * import { nonceOf } from "./params.ts";
 * nonceOf('{"nonce":1700000000000000000}', true); // "1700000000000000000"
 * nonceOf("nonce=42&pair=XBTUSD", false); // "42"
 * ```
 */
export function nonceOf(body: string, isJson: boolean): string | undefined {
  if (isJson) {
    const match = /"nonce"\s*:\s*"?([^",}\s]*)"?/.exec(body);
    return match?.[1];
  }
  return new URLSearchParams(body).get("nonce") ?? undefined;
}
