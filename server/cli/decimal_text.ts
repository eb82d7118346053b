/**
 * Exact arithmetic on Kraken's decimal strings (no float rounding), for the
 * few sums the CLI shows.
 *
 * @module
 */

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

function parse(text: string): { units: bigint; scale: number } {
  const m = DECIMAL.exec(text.trim());
  if (m === null) {
    throw new SyntaxError(`Cannot read ${JSON.stringify(text)} as a decimal`);
  }
  const fraction = m[3] ?? "";
  const units = BigInt(`${m[2]}${fraction}`);
  return { units: m[1] ? -units : units, scale: fraction.length };
}

/**
 * `a − b` on decimal strings, exactly, with the larger of the two scales.
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
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  const diff = x.units * 10n ** BigInt(scale - x.scale) -
    y.units * 10n ** BigInt(scale - y.scale);
  const negative = diff < 0n;
  const digits = (negative ? -diff : diff).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${fraction}` : ""}`;
}
