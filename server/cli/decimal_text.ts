/**
 * Decimal display helpers for the CLI, on top of core's exact decimal
 * arithmetic (`core/decimal.ts`).
 *
 * @module
 */

import {
  decimalsOf,
  subtractDecimal,
  toFixedDecimals,
} from "../../core/decimal.ts";

const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * `a − b` on decimal strings, exactly, keeping the larger of the two scales
 * (so balances keep their trailing zeros).
 *
 * @param a The minuend, e.g. `"1.5000"`.
 * @param b The subtrahend, e.g. `"0.25"`.
 * @returns The difference, e.g. `"1.2500"`.
 * @throws {SyntaxError} When either is not a plain decimal.
 * @example Available balance
 * ```ts
 * import { subtractDecimalText } from "./decimal_text.ts";
 * subtractDecimalText("33194.1921", "1664.3252"); // "31529.8669"
 * ```
 */
export function subtractDecimalText(a: string, b: string): string {
  for (const text of [a, b]) {
    if (!PLAIN_DECIMAL.test(text.trim())) {
      throw new SyntaxError(`Cannot read ${JSON.stringify(text)} as a decimal`);
    }
  }
  const scale = Math.max(decimalsOf(a.trim()), decimalsOf(b.trim()));
  return toFixedDecimals(subtractDecimal(a.trim(), b.trim()), scale);
}
