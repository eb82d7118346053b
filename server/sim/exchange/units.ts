/**
 * Fixed-point helpers for the simulator. Prices, volumes, costs and balances
 * are held as integer units of `10^-decimals` (BigInt where sums can exceed
 * 2^53) and printed with exactly `decimals` digits, keeping trailing zeros
 * as Kraken does (`"30010.00000"`, `"1.25000000"`).
 *
 * @module
 */

const POWERS: bigint[] = [];

/**
 * `10^exponent` as a BigInt (cached).
 *
 * @param exponent A non-negative integer.
 * @returns The power of ten.
 * @example Power
 * ```ts
 * import { pow10 } from "./units.ts";
 * pow10(3); // 1000n
 * ```
 */
export function pow10(exponent: number): bigint {
  let cached = POWERS[exponent];
  if (cached === undefined) {
    cached = 10n ** BigInt(exponent);
    POWERS[exponent] = cached;
  }
  return cached;
}

/**
 * Print integer units with exactly `decimals` digits after the point.
 *
 * @param units The value times `10^decimals`.
 * @param decimals Digits after the point (0 prints an integer).
 * @returns The decimal text.
 * @example Format
 * ```ts
 * import { formatUnits } from "./units.ts";
 * formatUnits(125000000n, 8); // "1.25000000"
 * formatUnits(-5n, 4); // "-0.0005"
 * ```
 */
export function formatUnits(units: bigint | number, decimals: number): string {
  const value = typeof units === "bigint" ? units : BigInt(units);
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString();
  if (decimals > 0) {
    digits = digits.padStart(decimals + 1, "0");
    digits = `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  }
  return negative ? `-${digits}` : digits;
}

/**
 * Change the scale of integer units, rounding half away from zero when
 * digits are dropped.
 *
 * @param units The value times `10^from`.
 * @param from The current number of decimals.
 * @param to The wanted number of decimals.
 * @returns The value times `10^to`.
 * @example Rescale
 * ```ts
 * import { rescaleUnits } from "./units.ts";
 * rescaleUnits(12345n, 4, 2); // 123n
 * rescaleUnits(15n, 1, 0); // 2n
 * ```
 */
export function rescaleUnits(units: bigint, from: number, to: number): bigint {
  if (to >= from) return units * pow10(to - from);
  return divideRounded(units, pow10(from - to));
}

/**
 * Divide and round half away from zero.
 *
 * @param numerator The dividend.
 * @param denominator The divisor (not zero).
 * @returns The rounded quotient.
 * @example Divide
 * ```ts
 * import { divideRounded } from "./units.ts";
 * divideRounded(7n, 2n); // 4n
 * divideRounded(-7n, 2n); // -4n
 * ```
 */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const negative = (numerator < 0n) !== (denominator < 0n);
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const q = (n + d / 2n) / d;
  return negative ? -q : q;
}

/**
 * Parse decimal text exactly into units of `10^-decimals`. Extra fraction
 * digits are rounded half away from zero.
 *
 * @param text Plain decimal text (`"1.25"`, `"-0.5"`, `"30010"`).
 * @param decimals The scale of the result.
 * @returns The units, or `undefined` when the text is not a plain decimal.
 * @example Parse
 * ```ts
 * import { parseUnits } from "./units.ts";
 * parseUnits("1.25", 8); // 125000000n
 * parseUnits("abc", 8); // undefined
 * ```
 */
export function parseUnits(text: string, decimals: number): bigint | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (match === null) return undefined;
  const whole = match[2] ?? "";
  const fraction = match[3] ?? "";
  if (whole === "" && fraction === "") return undefined;
  const units = rescaleUnits(
    BigInt((whole + fraction) || "0"),
    fraction.length,
    decimals,
  );
  return match[1] === "-" ? -units : units;
}

/**
 * Round a float to units of `10^-decimals` (for generated values; never for
 * amounts read back from the wire).
 *
 * @param value A finite float.
 * @param decimals The scale.
 * @returns The nearest integer units as a BigInt.
 * @example Round
 * ```ts
 * import { floatToUnits } from "./units.ts";
 * floatToUnits(1.23456, 2); // 123n
 * ```
 */
export function floatToUnits(value: number, decimals: number): bigint {
  return BigInt(Math.round(value * 10 ** decimals));
}

/**
 * The plain decimal text of a JSON number as it arrived (a WS v2 price or
 * quantity), never in exponent form: `1e-8` → `"0.00000001"`, `2.5e21` →
 * `"2500000000000000000000"`. JavaScript's shortest round-trip text is kept
 * digit for digit; only the exponent is written out.
 *
 * @param value A finite number.
 * @returns Decimal text (a leading `-` for negatives).
 * @throws {RangeError} When the number is not finite.
 * @example Exponents written out
 * ```ts
 * import { numberText } from "./units.ts";
 * numberText(0.1); // "0.1"
 * numberText(1e-8); // "0.00000001"
 * numberText(-1.5e-7); // "-0.00000015"
 * ```
 */
export function numberText(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RangeError(`${value} is not a finite number`);
  }
  const text = String(value);
  const exponent = text.indexOf("e");
  if (exponent === -1) return text;
  const negative = text.startsWith("-");
  const mantissa = text.slice(negative ? 1 : 0, exponent);
  const shift = Number(text.slice(exponent + 1));
  const point = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  // Position of the decimal point within `digits` after the shift.
  const at = (point === -1 ? mantissa.length : point) + shift;
  let out: string;
  if (at <= 0) out = `0.${"0".repeat(-at)}${digits}`;
  else if (at >= digits.length) out = digits + "0".repeat(at - digits.length);
  else out = `${digits.slice(0, at)}.${digits.slice(at)}`;
  return negative ? `-${out}` : out;
}
