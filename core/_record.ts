/**
 * Reading untyped JSON: is this value an object with keys? Private to core
 * (not in `@krakked/core`'s exports): the REST parser, the WS frame parser
 * and the trading transports use it on wire input.
 *
 * @module
 */

/**
 * Whether a value is a plain JSON object: not `null`, not an array.
 *
 * @param value Anything, usually parsed JSON.
 * @returns `true` when its keys can be read as a record.
 * @example Check
 * ```ts
 * import { isRecord } from "./_record.ts";
 * isRecord({ error: [] }); // true
 * isRecord([1, 2]); // false
 * ```
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A value as a record, or an empty one when it is not an object, so a
 * tolerant reader can look up fields of bad wire input without a check at
 * every step (missing fields then read as `undefined`).
 *
 * @param value Anything, usually parsed JSON.
 * @returns `value` itself when {@linkcode isRecord}, else `{}`.
 * @example Read a field of anything
 * ```ts
 * import { record } from "./_record.ts";
 * record({ txid: ["O1"] }).txid; // ["O1"]
 * record("oops").txid; // undefined
 * ```
 */
export function record(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
