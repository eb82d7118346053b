/**
 * Exact decimal arithmetic on scaled BigInts, private to core/market.
 *
 * Kraken sends prices and volumes as decimal strings; summing them as floats
 * drifts (`0.1 + 0.2`), so candle volumes and VWAPs are computed on integers
 * scaled by a power of ten and formatted back to fixed decimals.
 *
 * @module
 */

/** A decimal as `units / 10^scale`. */
export interface Scaled {
  /** The value times `10^scale`. */
  units: bigint;
  /** The number of decimals `units` carries. */
  scale: number;
}

const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const POWERS: bigint[] = [];

/**
 * Returns `10^exponent` as a BigInt, cached for small exponents.
 *
 * @param exponent A non-negative integer.
 * @returns `10n ** BigInt(exponent)`.
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
 */
export function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const negative = (numerator < 0n) !== (denominator < 0n);
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = (n + d / 2n) / d;
  return negative ? -quotient : quotient;
}

/**
 * Changes the scale of a value, rounding half away from zero when decimals
 * are dropped.
 *
 * @param value The value.
 * @param scale The wanted number of decimals.
 * @returns The units at `scale`.
 */
export function rescale(value: Scaled, scale: number): bigint {
  if (scale >= value.scale) return value.units * pow10(scale - value.scale);
  return divideRounded(value.units, pow10(value.scale - scale));
}

/**
 * Formats scaled units with exactly `scale` decimals, keeping trailing zeros
 * as Kraken does (`"1.25000000"`).
 *
 * @param units The value times `10^scale`.
 * @param scale The number of decimals to print.
 * @returns The decimal text.
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
 * @returns The text with exactly `scale` decimals.
 * @throws {SyntaxError} When `text` is not a decimal number.
 */
export function toFixedDecimals(text: string, scale: number): string {
  return formatScaled(rescale(parseScaled(text), scale), scale);
}

/**
 * Counts the fraction digits of decimal text (`"0.00010"` → 5).
 *
 * @param text The decimal text.
 * @returns The number of digits after the point, 0 when there is none.
 */
export function decimalsOf(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}
