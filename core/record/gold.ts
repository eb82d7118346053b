/**
 * GOLD: OHLCV candles of silver trades at 1m, 5m, 15m, 1h and 1d, per
 * exchange and symbol, with Kraken's REST `OHLC` semantics (REST.md §3.1
 * and the simulator's `Market.candles`):
 *
 * - a trade belongs to the bucket `floor(time / span) · span` (UTC, whole
 *   microseconds, so no float can move a trade across a boundary);
 * - open and close are the prices of the first and last trade by Kraken
 *   trade id, high and low the extremes, volume the exact sum of quantities,
 *   count the number of trades;
 * - vwap = Σ(price × qty) / Σqty rounded half up to the pair's price
 *   decimals. The exact Σ(price × qty) is kept as `notional`, so coarser
 *   buckets are rolled up from finer ones exactly ({@linkcode rollupGold});
 * - only buckets with trades exist. Kraken's `OHLC` also prints quiet
 *   intervals (previous close, volume 0, vwap 0); a gold table has no row
 *   for them, and validation checks exactly that.
 *
 * Gold is only written for closed buckets ({@linkcode isBucketClosed}); a
 * bucket that receives a trade after it was written (a backfill) is simply
 * recomputed, which is why every function here is a pure recomputation.
 *
 * @module
 */

import {
  divideWith,
  formatNormalized,
  parseScaled,
  rescale,
} from "../decimal.ts";
import type { SilverTrade } from "./silver.ts";

/** The gold timeframes, finest first. */
export const GOLD_TIMEFRAMES = ["1m", "5m", "15m", "1h", "1d"] as const;

/** One gold timeframe. */
export type GoldTimeframe = typeof GOLD_TIMEFRAMES[number];

const SPAN_US: Readonly<Record<GoldTimeframe, number>> = {
  "1m": 60_000_000,
  "5m": 300_000_000,
  "15m": 900_000_000,
  "1h": 3_600_000_000,
  "1d": 86_400_000_000,
};

/** Internal scale of prices and quantities: above any Kraken precision. */
const SCALE = 18;

/**
 * The span of a gold timeframe in microseconds.
 *
 * @param timeframe A gold timeframe.
 * @returns Its length in µs.
 * @example Span
 * ```ts
 * import { spanUs } from "./gold.ts";
 * spanUs("5m"); // 300000000
 * ```
 */
export function spanUs(timeframe: GoldTimeframe): number {
  return SPAN_US[timeframe];
}

/**
 * The start of the bucket a time falls in.
 *
 * @param tsUs µs since the Unix epoch.
 * @param timeframe The timeframe.
 * @returns The bucket start, µs.
 * @example Bucket
 * ```ts
 * import { bucketStartUs } from "./gold.ts";
 * bucketStartUs(61_500_000, "1m"); // 60000000
 * ```
 */
export function bucketStartUs(tsUs: number, timeframe: GoldTimeframe): number {
  const span = SPAN_US[timeframe];
  return Math.floor(tsUs / span) * span;
}

/**
 * Whether a bucket has ended at `nowUs` (Kraken's forming candle has not).
 *
 * @param startUs Bucket start, µs.
 * @param timeframe The timeframe.
 * @param nowUs Current time, µs.
 * @returns `true` when `start + span ≤ now`.
 * @example Closed
 * ```ts
 * import { isBucketClosed } from "./gold.ts";
 * isBucketClosed(0, "1m", 60_000_000); // true
 * ```
 */
export function isBucketClosed(
  startUs: number,
  timeframe: GoldTimeframe,
  nowUs: number,
): boolean {
  return startUs + SPAN_US[timeframe] <= nowUs;
}

/** One gold candle (a row of `ohlcv_<timeframe>`). */
export interface GoldCandle {
  /** Exchange. */
  exchange: string;
  /** Canonical symbol. */
  symbol: string;
  /** Timeframe. */
  timeframe: GoldTimeframe;
  /** Bucket start, µs since the Unix epoch. */
  bucketStartUs: number;
  /** First trade's price (canonical decimal text). */
  open: string;
  /** Highest price. */
  high: string;
  /** Lowest price. */
  low: string;
  /** Last trade's price. */
  close: string;
  /** Σ qty, exact. */
  volume: string;
  /** Σ price × qty, exact (for exact roll-ups). */
  notional: string;
  /** notional / volume, rounded half up to the pair's price decimals (canonical text). */
  vwap: string;
  /** Number of trades. */
  count: number;
  /** Lowest exchange trade id in the bucket. */
  firstTradeId: number;
  /** Highest exchange trade id in the bucket. */
  lastTradeId: number;
}

interface Acc {
  exchange: string;
  symbol: string;
  startUs: number;
  openId: number;
  open: bigint;
  closeId: number;
  close: bigint;
  high: bigint;
  low: bigint;
  volume: bigint;
  notional: bigint;
  count: number;
}

function scaled(text: string): bigint {
  return rescale(parseScaled(text), SCALE);
}

function text(units: bigint, scale = SCALE): string {
  return formatNormalized({ units, scale });
}

/**
 * VWAP as Kraken prints it: Σ(price × qty) / Σqty rounded half up to the
 * pair's price decimals.
 *
 * @param notional Σ price × qty, decimal text.
 * @param volume Σ qty, decimal text (not zero).
 * @param priceDecimals The pair's `pair_decimals`.
 * @returns Canonical decimal text.
 * @throws {RangeError} When `volume` is zero.
 * @throws {SyntaxError} When a value is not decimal text.
 * @example VWAP
 * ```ts
 * import { vwapText } from "./gold.ts";
 * vwapText("406", "4", 1); // "101.5"
 * ```
 */
export function vwapText(
  notional: string,
  volume: string,
  priceDecimals: number,
): string {
  const n = parseScaled(notional);
  const v = parseScaled(volume);
  // (n.units / 10^n.scale) / (v.units / 10^v.scale) at 10^-priceDecimals.
  const exponent = priceDecimals + v.scale - n.scale;
  const num = exponent >= 0 ? n.units * 10n ** BigInt(exponent) : n.units;
  const den = exponent >= 0 ? v.units : v.units * 10n ** BigInt(-exponent);
  return formatNormalized({
    units: divideWith(num, den, "half_up"),
    scale: priceDecimals,
  });
}

function finish(
  acc: Acc,
  timeframe: GoldTimeframe,
  priceDecimals: number,
): GoldCandle {
  const volume = text(acc.volume);
  const notional = text(acc.notional, SCALE * 2);
  return {
    exchange: acc.exchange,
    symbol: acc.symbol,
    timeframe,
    bucketStartUs: acc.startUs,
    open: text(acc.open),
    high: text(acc.high),
    low: text(acc.low),
    close: text(acc.close),
    volume,
    notional,
    vwap: vwapText(notional, volume, priceDecimals),
    count: acc.count,
    firstTradeId: acc.openId,
    lastTradeId: acc.closeId,
  };
}

/** Options of {@linkcode goldFromTrades} and {@linkcode rollupGold}. */
export interface GoldOptions {
  /** The target timeframe. */
  timeframe: GoldTimeframe;
  /** Price decimals per canonical symbol (the pair's `pair_decimals`). */
  priceDecimals: (symbol: string) => number;
}

/**
 * Candles of a set of silver trades, one per (exchange, symbol, bucket) that
 * has trades, in any input order (open/close follow the trade id, not the
 * input). The trades should be unique by id (dedupe first).
 *
 * @param trades Silver trades, any order.
 * @param options Timeframe and price decimals.
 * @returns Candles sorted by exchange, symbol, bucket.
 * @throws {SyntaxError} When a price or quantity is not decimal text.
 * @example Two trades
 * ```ts
 * import { goldFromTrades } from "./gold.ts";
 * const t = { exchange: "kraken", symbol: "BTC/USD", side: "BUY" as const,
 *   receivedUs: 0, source: "ws" as const, original: {} };
 * goldFromTrades([
 *   { ...t, tradeId: "kraken:BTC/USD:2", exchangeTradeId: 2, price: "102", qty: "3", tsUs: 61_500_000 },
 *   { ...t, tradeId: "kraken:BTC/USD:1", exchangeTradeId: 1, price: "100", qty: "1", tsUs: 60_500_000 },
 * ], { timeframe: "1m", priceDecimals: () => 1 })[0]?.vwap; // "101.5"
 * ```
 */
export function goldFromTrades(
  trades: Iterable<SilverTrade>,
  options: GoldOptions,
): GoldCandle[] {
  const accs = new Map<string, Acc>();
  for (const t of trades) {
    const startUs = bucketStartUs(t.tsUs, options.timeframe);
    const key = `${t.exchange}\u0000${t.symbol}\u0000${startUs}`;
    const price = scaled(t.price);
    const qty = scaled(t.qty);
    const id = t.exchangeTradeId;
    const acc = accs.get(key);
    if (acc === undefined) {
      accs.set(key, {
        exchange: t.exchange,
        symbol: t.symbol,
        startUs,
        openId: id,
        open: price,
        closeId: id,
        close: price,
        high: price,
        low: price,
        volume: qty,
        notional: price * qty,
        count: 1,
      });
      continue;
    }
    if (id < acc.openId) {
      acc.openId = id;
      acc.open = price;
    }
    if (id > acc.closeId) {
      acc.closeId = id;
      acc.close = price;
    }
    if (price > acc.high) acc.high = price;
    if (price < acc.low) acc.low = price;
    acc.volume += qty;
    acc.notional += price * qty;
    acc.count += 1;
  }
  return sortCandles(
    [...accs.values()].map((acc) =>
      finish(acc, options.timeframe, options.priceDecimals(acc.symbol))
    ),
  );
}

/**
 * Roll finer candles up into a coarser timeframe exactly (sums of volume,
 * notional and count; open of the lowest first trade id, close of the
 * highest last trade id). Equal to {@linkcode goldFromTrades} on the same
 * trades, which the property tests check.
 *
 * @param candles Finer candles (any timeframe that divides the target).
 * @param options Target timeframe and price decimals.
 * @returns Candles sorted by exchange, symbol, bucket.
 * @throws {RangeError} When a candle's timeframe is not finer than the target.
 * @example 1m → 5m
 * ```ts ignore
 * import { rollupGold } from "./gold.ts";
 * rollupGold(oneMinute, { timeframe: "5m", priceDecimals: () => 1 });
 * ```
 */
export function rollupGold(
  candles: Iterable<GoldCandle>,
  options: GoldOptions,
): GoldCandle[] {
  const accs = new Map<string, Acc>();
  const target = SPAN_US[options.timeframe];
  for (const c of candles) {
    if (SPAN_US[c.timeframe] >= target || target % SPAN_US[c.timeframe]) {
      throw new RangeError(
        `Cannot roll ${c.timeframe} candles up into ${options.timeframe}`,
      );
    }
    const startUs = bucketStartUs(c.bucketStartUs, options.timeframe);
    const key = `${c.exchange}\u0000${c.symbol}\u0000${startUs}`;
    const open = scaled(c.open);
    const close = scaled(c.close);
    const high = scaled(c.high);
    const low = scaled(c.low);
    const volume = scaled(c.volume);
    const notional = rescale(parseScaled(c.notional), SCALE * 2);
    const acc = accs.get(key);
    if (acc === undefined) {
      accs.set(key, {
        exchange: c.exchange,
        symbol: c.symbol,
        startUs,
        openId: c.firstTradeId,
        open,
        closeId: c.lastTradeId,
        close,
        high,
        low,
        volume,
        notional,
        count: c.count,
      });
      continue;
    }
    if (c.firstTradeId < acc.openId) {
      acc.openId = c.firstTradeId;
      acc.open = open;
    }
    if (c.lastTradeId > acc.closeId) {
      acc.closeId = c.lastTradeId;
      acc.close = close;
    }
    if (high > acc.high) acc.high = high;
    if (low < acc.low) acc.low = low;
    acc.volume += volume;
    acc.notional += notional;
    acc.count += c.count;
  }
  return sortCandles(
    [...accs.values()].map((acc) =>
      finish(acc, options.timeframe, options.priceDecimals(acc.symbol))
    ),
  );
}

function sortCandles(candles: GoldCandle[]): GoldCandle[] {
  return candles.sort((a, b) =>
    a.exchange < b.exchange
      ? -1
      : a.exchange > b.exchange
      ? 1
      : a.symbol < b.symbol
      ? -1
      : a.symbol > b.symbol
      ? 1
      : a.bucketStartUs - b.bucketStartUs
  );
}
