/**
 * Exact decimal arithmetic on scaled BigInts, shared by core/market and
 * core/trade.
 *
 * Kraken sends prices, volumes, costs and fees as decimal strings; doing
 * money on binary floats drifts (`0.1 + 0.2`), so values are integers scaled
 * by a power of ten. Two layers:
 *
 * - {@linkcode Scaled} values (`units / 10^scale`) with `parseScaled`,
 *   `rescale`, `formatScaled`, for hot paths that keep BigInts around.
 * - Text in, text out (`addDecimal("0.1", "0.2")` → `"0.3"`), for code that
 *   stores money as JSON-friendly strings. Results are normalised: no
 *   trailing fraction zeros, no `-0`.
 *
 * @module
 */

/**
 * A decimal number kept as exact text, e.g. `"30010.00000"`: an optional
 * sign, digits and an optional fraction, never exponent notation. Kraken's
 * REST answers and WS v2 frames carry money this way, and the text
 * functions here take and return it.
 */
export type DecimalString = string;

/** A decimal as `units / 10^scale`. */
export interface Scaled {
  /** The value times `10^scale`. */
  units: bigint;
  /** The number of decimals `units` carries. */
  scale: number;
}

/**
 * How to round when decimals are dropped: `half_up` (half away from zero),
 * `down` (toward zero), `up` (away from zero), `floor` (toward −∞) or
 * `ceiling` (toward +∞).
 */
export type Rounding = "half_up" | "down" | "up" | "floor" | "ceiling";

const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const POWERS: bigint[] = [];

/**
 * Returns `10^exponent` as a BigInt, cached for small exponents.
 *
 * @param exponent A non-negative integer.
 * @returns `10n ** BigInt(exponent)`.
 * @example Powers
 * ```ts
 * import { pow10 } from "./decimal.ts";
 * pow10(3); // 1000n
 * ```
 */
export function pow10(exponent: number): bigint {
  if (exponent < 64) {
    let cached = POWERS[exponent];
    if (cached === undefined) {
      cached = 10n ** BigInt(exponent);
      POWERS[exponent] = cached;
    }
    return cached;
  }
  return 10n ** BigInt(exponent);
}

/**
 * Parses a decimal string such as `"30010.00000"` exactly.
 *
 * @param text The decimal text: optional sign, digits, optional fraction.
 * @returns The scaled value; the scale is the number of fraction digits.
 * @throws {SyntaxError} When `text` is not a plain decimal number.
 * @example Parse
 * ```ts
 * import { parseScaled } from "./decimal.ts";
 * parseScaled("1.50"); // { units: 150n, scale: 2 }
 * ```
 */
export function parseScaled(text: string): Scaled {
  const match = DECIMAL_PATTERN.exec(text);
  const whole = match?.[2] ?? "";
  const fraction = match?.[3] ?? "";
  if (match === null || (whole === "" && fraction === "")) {
    throw new SyntaxError(`Cannot parse decimal: "${text}" is not a number`);
  }
  const units = BigInt(whole + fraction || "0");
  return { units: match[1] === "-" ? -units : units, scale: fraction.length };
}

/**
 * Divides and rounds half away from zero.
 *
 * @param numerator The dividend.
 * @param denominator The divisor, not zero.
 * @returns The rounded quotient.
 * @example Round half away from zero
 * ```ts
 * import { divideRounded } from "./decimal.ts";
 * divideRounded(-5n, 2n); // -3n
 * ```
 */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  return divideWith(numerator, denominator, "half_up");
}

/**
 * Divides two BigInts with the given rounding.
 *
 * @param numerator The dividend.
 * @param denominator The divisor.
 * @param rounding How to round the quotient.
 * @returns The rounded quotient.
 * @throws {RangeError} When `denominator` is zero.
 * @example Floor and ceiling
 * ```ts
 * import { divideWith } from "./decimal.ts";
 * divideWith(-7n, 2n, "floor"); // -4n
 * divideWith(7n, 2n, "ceiling"); // 4n
 * ```
 */
export function divideWith(
  numerator: bigint,
  denominator: bigint,
  rounding: Rounding,
): bigint {
  if (denominator === 0n) {
    throw new RangeError(`Cannot divide ${numerator} by zero`);
  }
  const negative = (numerator < 0n) !== (denominator < 0n);
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const truncated = n / d;
  const remainder = n % d;
  let magnitude = truncated;
  if (remainder !== 0n) {
    const away = rounding === "up" ||
      (rounding === "half_up" && remainder * 2n >= d) ||
      (rounding === "floor" && negative) ||
      (rounding === "ceiling" && !negative);
    if (away) magnitude += 1n;
  }
  return negative ? -magnitude : magnitude;
}

/**
 * Changes the scale of a value, rounding (half away from zero by default)
 * when decimals are dropped.
 *
 * @param value The value.
 * @param scale The wanted number of decimals.
 * @param rounding How to round when `scale` is smaller (default `half_up`).
 * @returns The units at `scale`.
 * @example Rescale
 * ```ts
 * import { rescale } from "./decimal.ts";
 * rescale({ units: 125n, scale: 2 }, 1); // 13n
 * ```
 */
export function rescale(
  value: Scaled,
  scale: number,
  rounding: Rounding = "half_up",
): bigint {
  if (scale >= value.scale) return value.units * pow10(scale - value.scale);
  return divideWith(value.units, pow10(value.scale - scale), rounding);
}

/**
 * Formats scaled units with exactly `scale` decimals, keeping trailing zeros
 * as Kraken does (`"1.25000000"`).
 *
 * @param units The value times `10^scale`.
 * @param scale The number of decimals to print.
 * @returns The decimal text.
 * @example Format
 * ```ts
 * import { formatScaled } from "./decimal.ts";
 * formatScaled(125000000n, 8); // "1.25000000"
 * ```
 */
export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, "0");
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/**
 * Reformats decimal text to a fixed number of decimals, exactly.
 *
 * @param text The decimal text.
 * @param scale The number of decimals wanted.
 * @param rounding How to round dropped decimals (default `half_up`).
 * @returns The text with exactly `scale` decimals.
 * @throws {SyntaxError} When `text` is not a decimal number.
 * @example Fix decimals
 * ```ts
 * import { toFixedDecimals } from "./decimal.ts";
 * toFixedDecimals("0.1", 8); // "0.10000000"
 * ```
 */
export function toFixedDecimals(
  text: string,
  scale: number,
  rounding: Rounding = "half_up",
): string {
  return formatScaled(rescale(parseScaled(text), scale, rounding), scale);
}

/**
 * Counts the fraction digits of decimal text (`"0.00010"` → 5).
 *
 * @param text The decimal text.
 * @returns The number of digits after the point, 0 when there is none.
 * @example Count fraction digits
 * ```ts
 * import { fractionDigits } from "./decimal.ts";
 * fractionDigits("0.00010"); // 5
 * ```
 */
export function fractionDigits(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/**
 * Formats a scaled value with trailing fraction zeros removed.
 *
 * @param value The value.
 * @returns Normalised text: `"1.5"`, `"0"`, `"-2"`.
 * @example Normalise
 * ```ts
 * import { formatNormalized } from "./decimal.ts";
 * formatNormalized({ units: 1500n, scale: 3 }); // "1.5"
 * ```
 */
export function formatNormalized(value: Scaled): string {
  let { units, scale } = value;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  if (units === 0n) return "0";
  return formatScaled(units, scale);
}

/** Brings two values to the larger of their scales. */
function aligned(a: Scaled, b: Scaled): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [rescale(a, scale), rescale(b, scale), scale];
}

/**
 * Whether text is a plain decimal number (`"1"`, `"-0.5"`, `".25"`).
 *
 * @param text Any text.
 * @param options `unsigned: true` refuses a leading sign.
 * @returns `true` when {@linkcode parseScaled} would accept it.
 * @example Check
 * ```ts
 * import { isDecimalText } from "./decimal.ts";
 * isDecimalText("1e5"); // false
 * isDecimalText("+1", { unsigned: true }); // false
 * ```
 */
export function isDecimalText(
  text: string,
  options: { unsigned?: boolean } = {},
): boolean {
  const match = DECIMAL_PATTERN.exec(text);
  if (match === null || (match[2] === "" && (match[3] ?? "") === "")) {
    return false;
  }
  return !(options.unsigned && match[1] !== "");
}

/**
 * Normalises decimal text: no trailing fraction zeros, no leading `+`.
 * Unlike `normalizeDecimal` in core/ws/protocol.ts (a tolerant wire parser
 * that returns `undefined`), this throws on bad text.
 *
 * @param text Decimal text.
 * @returns The same value as normalised text (`"1.2500"` → `"1.25"`).
 * @throws {SyntaxError} When `text` is not a decimal number.
 * @example Normalise
 * ```ts
 * import { canonicalDecimal } from "./decimal.ts";
 * canonicalDecimal("-0.000"); // "0"
 * ```
 */
export function canonicalDecimal(text: string): string {
  return formatNormalized(parseScaled(text));
}

/**
 * Adds two decimals exactly.
 *
 * @param a Decimal text.
 * @param b Decimal text.
 * @returns `a + b`, normalised.
 * @throws {SyntaxError} When an argument is not a decimal number.
 * @example Add
 * ```ts
 * import { addDecimal } from "./decimal.ts";
 * addDecimal("0.1", "0.2"); // "0.3"
 * ```
 */
export function addDecimal(a: string, b: string): string {
  const [x, y, scale] = aligned(parseScaled(a), parseScaled(b));
  return formatNormalized({ units: x + y, scale });
}

/**
 * Subtracts two decimals exactly.
 *
 * @param a Decimal text.
 * @param b Decimal text.
 * @returns `a − b`, normalised.
 * @throws {SyntaxError} When an argument is not a decimal number.
 * @example Subtract
 * ```ts
 * import { subtractDecimal } from "./decimal.ts";
 * subtractDecimal("1", "0.01"); // "0.99"
 * ```
 */
export function subtractDecimal(a: string, b: string): string {
  const [x, y, scale] = aligned(parseScaled(a), parseScaled(b));
  return formatNormalized({ units: x - y, scale });
}

/**
 * Multiplies two decimals exactly (the result keeps every digit).
 *
 * @param a Decimal text.
 * @param b Decimal text.
 * @returns `a × b`, normalised.
 * @throws {SyntaxError} When an argument is not a decimal number.
 * @example Multiply
 * ```ts
 * import { multiplyDecimal } from "./decimal.ts";
 * multiplyDecimal("0.01", "25000.1"); // "250.001"
 * ```
 */
export function multiplyDecimal(a: string, b: string): string {
  const x = parseScaled(a);
  const y = parseScaled(b);
  return formatNormalized({
    units: x.units * y.units,
    scale: x.scale + y.scale,
  });
}

/**
 * Divides two decimals, rounded to `scale` decimals.
 *
 * @param a Dividend, decimal text.
 * @param b Divisor, decimal text, not zero.
 * @param scale Decimals of the result.
 * @param rounding How to round (default `half_up`).
 * @returns `a ÷ b` rounded, normalised.
 * @throws {SyntaxError} When an argument is not a decimal number.
 * @throws {RangeError} When `b` is zero.
 * @example Divide
 * ```ts
 * import { divideDecimal } from "./decimal.ts";
 * divideDecimal("2", "3", 4); // "0.6667"
 * divideDecimal("2", "3", 4, "down"); // "0.6666"
 * ```
 */
export function divideDecimal(
  a: string,
  b: string,
  scale: number,
  rounding: Rounding = "half_up",
): string {
  const x = parseScaled(a);
  const y = parseScaled(b);
  // a/b at `scale` = (x.units·10^(scale + y.scale)) / (y.units·10^x.scale)
  const numerator = x.units * pow10(scale + y.scale);
  const denominator = y.units * pow10(x.scale);
  return formatNormalized({
    units: divideWith(numerator, denominator, rounding),
    scale,
  });
}

/**
 * Rounds a decimal to `scale` decimals.
 *
 * @param text Decimal text.
 * @param scale Decimals to keep.
 * @param rounding How to round (default `half_up`).
 * @returns The rounded value, normalised.
 * @throws {SyntaxError} When `text` is not a decimal number.
 * @example Round
 * ```ts
 * import { roundDecimal } from "./decimal.ts";
 * roundDecimal("0.0325", 3); // "0.033"
 * roundDecimal("0.0325", 3, "down"); // "0.032"
 * ```
 */
export function roundDecimal(
  text: string,
  scale: number,
  rounding: Rounding = "half_up",
): string {
  const value = parseScaled(text);
  return formatNormalized({ units: rescale(value, scale, rounding), scale });
}

/**
 * Compares two decimals.
 *
 * @param a Decimal text.
 * @param b Decimal text.
 * @returns `-1` when `a < b`, `0` when equal, `1` when `a > b`.
 * @throws {SyntaxError} When an argument is not a decimal number.
 * @example Compare
 * ```ts
 * import { compareDecimal } from "./decimal.ts";
 * compareDecimal("1.10", "1.1"); // 0
 * ```
 */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const [x, y] = aligned(parseScaled(a), parseScaled(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Whether `value` is a whole multiple of `step` (tick-size checks).
 *
 * @param value Decimal text.
 * @param step Decimal text, positive.
 * @returns `true` when `value / step` is an integer.
 * @throws {SyntaxError} When an argument is not a decimal number.
 * @example Tick size
 * ```ts
 * import { isMultipleOf } from "./decimal.ts";
 * isMultipleOf("25000.5", "0.5"); // true
 * isMultipleOf("25000.3", "0.5"); // false
 * ```
 */
export function isMultipleOf(value: string, step: string): boolean {
  const [x, y] = aligned(parseScaled(value), parseScaled(step));
  return y !== 0n && x % y === 0n;
}

/**
 * Converts a JavaScript number to exact decimal text of its shortest
 * round-trip form (`0.26` → `"0.26"`, `1e-7` → `"0.0000001"`).
 *
 * For numbers Kraken sends as JSON numbers (fee percents, WS prices): the
 * shortest form is the text Kraken printed whenever that had at most 15
 * significant digits.
 *
 * @param value A finite number.
 * @returns Decimal text without an exponent.
 * @throws {RangeError} When `value` is not finite.
 * @example Convert
 * ```ts
 * import { decimalFromNumber } from "./decimal.ts";
 * decimalFromNumber(2.5e-7); // "0.00000025"
 * ```
 */
export function decimalFromNumber(value: number): string {
  if (!Number.isFinite(value)) {
    throw new RangeError(`Cannot convert ${value} to a decimal`);
  }
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const digits = (match[2] ?? "") + (match[3] ?? "");
  const scale = (match[3] ?? "").length - Number(match[4]);
  const units = BigInt(digits) * (match[1] === "-" ? -1n : 1n);
  return scale >= 0
    ? formatNormalized({ units, scale })
    : formatNormalized({ units: units * pow10(-scale), scale: 0 });
}
