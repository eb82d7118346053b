/**
 * Display formatting for the market-watch page. Pure functions.
 *
 * @module
 */

const COMPACT = new Intl.NumberFormat("en-US", {
  notation: "compact",
  maximumFractionDigits: 1,
});

/**
 * Format a price at the pair's precision.
 *
 * @param value The price.
 * @param decimals Price decimals of the pair.
 * @returns Text such as `97012.4`, or `—` when missing.
 * @example Format
 * ```ts
 * import { formatPrice } from "./format.ts";
 * formatPrice(97012.4, 1); // "97012.4"
 * ```
 */
export function formatPrice(
  value: number | undefined,
  decimals: number,
): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return value.toFixed(Math.max(0, Math.min(decimals, 12)));
}

/**
 * Format a percentage change with its sign.
 *
 * @param pct Percent points.
 * @returns Text such as `+1.70 %`.
 * @example Format
 * ```ts
 * import { formatPct } from "./format.ts";
 * formatPct(-0.5); // "−0.50 %"
 * ```
 */
export function formatPct(pct: number | undefined): string {
  if (pct === undefined || !Number.isFinite(pct)) return "—";
  const sign = pct > 0 ? "+" : pct < 0 ? "−" : "";
  return `${sign}${Math.abs(pct).toFixed(2)} %`;
}

/**
 * Format an amount of US dollars compactly.
 *
 * @param usd The amount.
 * @returns Text such as `$1.2M`.
 * @example Format
 * ```ts
 * import { formatUsdCompact } from "./format.ts";
 * formatUsdCompact(1_234_567); // "$1.2M"
 * ```
 */
export function formatUsdCompact(usd: number | undefined): string {
  if (usd === undefined || !Number.isFinite(usd)) return "—";
  return `$${COMPACT.format(usd)}`;
}

/**
 * A 24 h volume in the pair's quote currency, in USD: times the quote's USD
 * rate, the last price of `QUOTE/USD` (or `1 / USD/QUOTE`'s). No such
 * market, no figure: a EUR or BTC amount is never shown as dollars, and
 * never sorted among them.
 *
 * @param volumeQuote Volume in the quote currency (volume × VWAP).
 * @param quote The quote's common code (`USD`, `EUR`, `BTC`).
 * @param lastOf The last price of a WS v2 symbol, if known.
 * @returns USD, or `undefined` when no rate is known.
 * @example In EUR
 * ```ts
 * import { usdVolume } from "./format.ts";
 * usdVolume(1000, "EUR", (s) => (s === "EUR/USD" ? 1.1 : undefined)); // 1100
 * ```
 */
export function usdVolume(
  volumeQuote: number | undefined,
  quote: string,
  lastOf: (symbol: string) => number | undefined,
): number | undefined {
  if (volumeQuote === undefined) return undefined;
  if (quote === "USD") return volumeQuote;
  const direct = lastOf(`${quote}/USD`);
  if (direct !== undefined && direct > 0) return volumeQuote * direct;
  const inverse = lastOf(`USD/${quote}`);
  if (inverse !== undefined && inverse > 0) return volumeQuote / inverse;
  return undefined;
}

/**
 * The spread in basis points of the mid price.
 *
 * @param bid Best bid.
 * @param ask Best ask.
 * @returns Basis points, or `undefined` when either side is missing.
 * @example Compute
 * ```ts
 * import { spreadBps } from "./format.ts";
 * spreadBps(99.99, 100.01); // ≈ 2
 * ```
 */
export function spreadBps(
  bid: number | undefined,
  ask: number | undefined,
): number | undefined {
  if (bid === undefined || ask === undefined || bid <= 0 || ask <= 0) {
    return undefined;
  }
  return (ask - bid) / ((ask + bid) / 2) * 10_000;
}

/**
 * The book's spread at the pair's price precision, with basis points of the
 * mid price: the ladder's prices and the spread read alike.
 *
 * @param bid Best bid.
 * @param ask Best ask.
 * @param decimals Price decimals of the pair.
 * @returns Text such as `spread 1.9 · 0.2 bp`, or `""` when a side is missing.
 * @example Format
 * ```ts
 * import { formatSpread } from "./format.ts";
 * formatSpread(97010.5, 97012.4, 1); // "spread 1.9 · 0.2 bp"
 * ```
 */
export function formatSpread(
  bid: number,
  ask: number,
  decimals: number,
): string {
  if (!Number.isFinite(bid) || !Number.isFinite(ask)) return "";
  const bps = spreadBps(bid, ask);
  const price = formatPrice(ask - bid, decimals);
  return bps === undefined
    ? `spread ${price}`
    : `spread ${price} · ${bps.toFixed(bps < 10 ? 1 : 0)} bp`;
}

/**
 * Format an age for people.
 *
 * @param ageMs The age.
 * @returns Text such as `4 s`, `3 min`, `2 h`.
 * @example Format
 * ```ts
 * import { formatAge } from "./format.ts";
 * formatAge(4_200); // "4 s"
 * ```
 */
export function formatAge(ageMs: number): string {
  const sec = Math.max(0, Math.floor(ageMs / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min`;
  const hours = Math.floor(min / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

/** Freshness of a row. */
export type Freshness =
  | { kind: "live" }
  | { kind: "stale"; ageMs: number }
  | { kind: "none" };

/**
 * Decide a row's freshness badge. A value is current while the stream that
 * carries it keeps delivering frames (Kraken sends a ticker only when it
 * changes, and heartbeats otherwise), so the age is measured from the newer
 * of the row's last update and the stream's last frame.
 *
 * @param updatedAtMs When the row last changed, if ever.
 * @param lastFrameAtMs When the stream last delivered anything, if ever.
 * @param nowMs Now.
 * @param toleranceSec Stale tolerance.
 * @returns `live`, `stale` with its age, or `none`.
 * @example A stalled stream
 * ```ts
 * import { freshness } from "./format.ts";
 * freshness(0, 1_000, 10_000, 2); // { kind: "stale", ageMs: 9000 }
 * ```
 */
export function freshness(
  updatedAtMs: number | undefined,
  lastFrameAtMs: number | undefined,
  nowMs: number,
  toleranceSec: number,
): Freshness {
  if (updatedAtMs === undefined) return { kind: "none" };
  const confirmedAtMs = Math.max(updatedAtMs, lastFrameAtMs ?? 0);
  const ageMs = Math.max(0, nowMs - confirmedAtMs);
  return ageMs > toleranceSec * 1000
    ? { kind: "stale", ageMs }
    : { kind: "live" };
}

/**
 * Format a trade time as `HH:MM:SS` (local time).
 *
 * @param timeMs Ms since the epoch.
 * @returns The clock time.
 * @example Format
 * ```ts
 * import { formatClock } from "./format.ts";
 * formatClock(0).length; // 8
 * ```
 */
export function formatClock(timeMs: number): string {
  const d = new Date(timeMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/**
 * Format a signed amount (P&L, fees) at fixed decimals with a true minus
 * sign, so the column keeps its width as the value ticks.
 *
 * @param text Decimal text from the server (or `null`).
 * @param decimals Decimals to show.
 * @returns Text such as `−0.0005`, `+12.3400`, or `—` when missing.
 * @example Format
 * ```ts
 * import { formatSigned } from "./format.ts";
 * formatSigned("-0.0005", 4); // "−0.0005"
 * ```
 */
export function formatSigned(text: string | null, decimals: number): string {
  const value = text === null ? NaN : Number(text);
  if (!Number.isFinite(value)) return "—";
  const fixed = Math.abs(value).toFixed(decimals);
  if (Number(fixed) === 0) return fixed;
  return `${value < 0 ? "−" : "+"}${fixed}`;
}

/**
 * Format an unsigned amount at fixed decimals.
 *
 * @param text Decimal text from the server (or `null`).
 * @param decimals Decimals to show.
 * @returns Text such as `60.50`, or `—` when missing.
 * @example Format
 * ```ts
 * import { formatAmount } from "./format.ts";
 * formatAmount("60.5", 2); // "60.50"
 * ```
 */
export function formatAmount(text: string | null, decimals: number): string {
  const value = text === null ? NaN : Number(text);
  return Number.isFinite(value) ? value.toFixed(decimals) : "—";
}
