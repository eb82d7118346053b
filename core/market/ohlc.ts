/**
 * Candles: timeframes, conversion from REST rows, the closed-only rule,
 * merging, and building candles from public trades.
 *
 * Facts (docs/kraken/REST.md §6): `interval` is in minutes and only
 * 1, 5, 15, 30, 60, 240, 1440, 10080 and 21600 exist; a row's time is the
 * candle's start; the last REST row is the candle still forming.
 *
 * @module
 */

import type { OhlcRow, TradeRow } from "../rest/types.ts";
import {
  divideRounded,
  formatScaled,
  parseScaled,
  pow10,
  rescale,
} from "../decimal.ts";

/** The timeframes Kraken serves, by label. */
export const TIMEFRAMES: readonly [
  "1m",
  "5m",
  "15m",
  "30m",
  "1h",
  "4h",
  "1d",
  "1w",
  "15d",
] = Object.freeze(
  ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "15d"] as const,
);

/** A Kraken timeframe label. */
export type Timeframe = typeof TIMEFRAMES[number];

const MINUTES: Readonly<Record<Timeframe, number>> = {
  "1m": 1,
  "5m": 5,
  "15m": 15,
  "30m": 30,
  "1h": 60,
  "4h": 240,
  "1d": 1440,
  "1w": 10080,
  "15d": 21600,
};

/**
 * A timeframe that Kraken does not serve.
 *
 * @example Check the kind
 * ```ts
 * import { UnknownTimeframeError } from "./ohlc.ts";
 * new UnknownTimeframeError("2h").kind; // "unknown_timeframe"
 * ```
 */
export class UnknownTimeframeError extends Error {
  /** Discriminator. */
  readonly kind = "unknown_timeframe" as const;
  /** Error name. */
  override name = "UnknownTimeframeError";
  /** The rejected value. */
  readonly input: string | number;

  /**
   * Creates the error.
   *
   * @param input The rejected label or minute count.
   */
  constructor(input: string | number) {
    super(
      `Unknown timeframe ${
        typeof input === "string" ? `"${input}"` : `${input} min`
      }: use one of ${TIMEFRAMES.join(", ")}`,
    );
    this.input = input;
  }
}

/**
 * Checks and returns a timeframe label (`"1h"`; surrounding space and upper
 * case `H`, `D`, `W` are accepted, so `"1H"` works; `"1M"` is not a minute).
 *
 * @param text The label.
 * @returns The timeframe.
 * @throws {UnknownTimeframeError} When the label is not a Kraken timeframe.
 * @example Parse a label
 * ```ts
 * import { parseTimeframe } from "./ohlc.ts";
 * parseTimeframe("4h"); // "4h"
 * ```
 */
export function parseTimeframe(text: string): Timeframe {
  const trimmed = text.trim();
  const label = trimmed.toLowerCase();
  // "1M" usually means a month, which Kraken does not serve: no case folding.
  if (!trimmed.includes("M") && Object.hasOwn(MINUTES, label)) {
    return label as Timeframe;
  }
  throw new UnknownTimeframeError(text);
}

/**
 * Returns Kraken's `interval` (minutes) for a timeframe.
 *
 * @param timeframe The timeframe.
 * @returns Minutes: 1, 5, 15, 30, 60, 240, 1440, 10080 or 21600.
 * @throws {UnknownTimeframeError} When called with an unchecked string.
 * @example Hours to minutes
 * ```ts
 * import { timeframeToMinutes } from "./ohlc.ts";
 * timeframeToMinutes("4h"); // 240
 * ```
 */
export function timeframeToMinutes(timeframe: Timeframe): number {
  const minutes = MINUTES[timeframe];
  if (minutes === undefined) throw new UnknownTimeframeError(timeframe);
  return minutes;
}

/**
 * Returns a timeframe's length in seconds.
 *
 * @param timeframe The timeframe.
 * @returns Seconds (`"1h"` → 3600).
 * @throws {UnknownTimeframeError} When called with an unchecked string.
 * @example One day
 * ```ts
 * import { timeframeToSeconds } from "./ohlc.ts";
 * timeframeToSeconds("1d"); // 86400
 * ```
 */
export function timeframeToSeconds(timeframe: Timeframe): number {
  return timeframeToMinutes(timeframe) * 60;
}

/**
 * Returns the timeframe for Kraken's `interval` in minutes.
 *
 * @param minutes The interval.
 * @returns The timeframe (`60` → `"1h"`).
 * @throws {UnknownTimeframeError} When Kraken has no such interval.
 * @example Minutes to a label
 * ```ts
 * import { minutesToTimeframe } from "./ohlc.ts";
 * minutesToTimeframe(10080); // "1w"
 * ```
 */
export function minutesToTimeframe(minutes: number): Timeframe {
  for (const timeframe of TIMEFRAMES) {
    if (MINUTES[timeframe] === minutes) return timeframe;
  }
  throw new UnknownTimeframeError(minutes);
}

/**
 * One candle. Prices and volume stay exact decimal strings.
 */
export interface Candle {
  /** Start of the interval, Unix seconds. */
  openTimeSec: number;
  /** First trade price. */
  open: string;
  /** Highest trade price. */
  high: string;
  /** Lowest trade price. */
  low: string;
  /** Last trade price. */
  close: string;
  /** Volume-weighted average price. */
  vwap: string;
  /** Base volume. */
  volume: string;
  /** Number of trades. */
  count: number;
}

/**
 * Converts a REST OHLC row.
 *
 * @param row `[time, open, high, low, close, vwap, volume, count]`.
 * @returns The candle.
 * @example Convert a row
 * ```ts
 * import { candleFromRow } from "./ohlc.ts";
 * candleFromRow([1548115200, "3533.4", "3543.7", "3530.7", "3539.4", "3539.8", "83.09287787", 232]).close; // "3539.4"
 * ```
 */
export function candleFromRow(row: OhlcRow): Candle {
  return {
    openTimeSec: row[0],
    open: row[1],
    high: row[2],
    low: row[3],
    close: row[4],
    vwap: row[5],
    volume: row[6],
    count: row[7],
  };
}

/**
 * Converts a candle back to a REST OHLC row.
 *
 * @param candle The candle.
 * @returns `[time, open, high, low, close, vwap, volume, count]`.
 * @example Round trip
 * ```ts
 * import { candleFromRow, candleToRow } from "./ohlc.ts";
 * const row = [60, "1", "2", "1", "2", "1.5", "3.00000000", 2] as const;
 * candleToRow(candleFromRow([...row])); // same as row
 * ```
 */
export function candleToRow(candle: Candle): OhlcRow {
  return [
    candle.openTimeSec,
    candle.open,
    candle.high,
    candle.low,
    candle.close,
    candle.vwap,
    candle.volume,
    candle.count,
  ];
}

/**
 * Keeps the candles whose interval has ended at `nowSec`
 * (`openTimeSec + interval ≤ nowSec`).
 *
 * @param candles Candles of one timeframe.
 * @param timeframe Their timeframe.
 * @param nowSec The current time, Unix seconds.
 * @returns The closed candles, in input order.
 * @example Drop the forming candle
 * ```ts
 * import { closedCandles } from "./ohlc.ts";
 * // at 120 s, a 1m candle opened at 60 has closed; one opened at 120 has not
 * ```
 */
export function closedCandles(
  candles: readonly Candle[],
  timeframe: Timeframe,
  nowSec: number,
): Candle[] {
  const lastOpen = nowSec - timeframeToSeconds(timeframe);
  return candles.filter((candle) => candle.openTimeSec <= lastOpen);
}

/**
 * Converts REST OHLC rows to closed candles: the last row is always dropped
 * (Kraken's forming candle, whatever its time says), and so is any row whose
 * interval has not ended at `nowSec`.
 *
 * @param rows The rows of one `OHLC` answer, oldest first.
 * @param timeframe The requested timeframe.
 * @param nowSec The current time, Unix seconds.
 * @returns Closed candles, in row order.
 * @example Drop the forming row
 * ```ts
 * import { closedCandlesFromRows } from "./ohlc.ts";
 * closedCandlesFromRows([], "1m", 0); // []
 * ```
 */
export function closedCandlesFromRows(
  rows: readonly OhlcRow[],
  timeframe: Timeframe,
  nowSec: number,
): Candle[] {
  return closedCandles(
    rows.slice(0, -1).map(candleFromRow),
    timeframe,
    nowSec,
  );
}

function isSortedUnique(candles: readonly Candle[]): boolean {
  for (let i = 1; i < candles.length; i++) {
    if (
      (candles[i] as Candle).openTimeSec <=
        (candles[i - 1] as Candle).openTimeSec
    ) {
      return false;
    }
  }
  return true;
}

function normalize(candles: readonly Candle[]): readonly Candle[] {
  if (isSortedUnique(candles)) return candles;
  const byTime = new Map<number, Candle>();
  for (const candle of candles) byTime.set(candle.openTimeSec, candle);
  return [...byTime.values()].sort((a, b) => a.openTimeSec - b.openTimeSec);
}

/**
 * Merges two candle lists: deduplicated by open time, sorted oldest first.
 * For the same open time, `newer` wins over `older`, and within one list the
 * later element wins: newer data describes the same interval with more
 * trades (or corrects an edge-cache answer), so it replaces what was kept.
 *
 * Runs in linear time when both lists are already sorted and unique.
 *
 * @param older Candles already held.
 * @param newer Candles just received.
 * @returns A new sorted, unique list.
 * @example Newer data wins
 * ```ts
 * import { mergeCandles } from "./ohlc.ts";
 * // mergeCandles([a60, a120], [b120, b180]) → [a60, b120, b180]
 * ```
 */
export function mergeCandles(
  older: readonly Candle[],
  newer: readonly Candle[],
): Candle[] {
  const a = normalize(older);
  const b = normalize(newer);
  const out: Candle[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Candle;
    const y = b[j] as Candle;
    if (x.openTimeSec < y.openTimeSec) {
      out.push(x);
      i++;
    } else if (x.openTimeSec > y.openTimeSec) {
      out.push(y);
      j++;
    } else {
      out.push(y);
      i++;
      j++;
    }
  }
  while (i < a.length) out.push(a[i++] as Candle);
  while (j < b.length) out.push(b[j++] as Candle);
  return out;
}

/**
 * Whether two candles carry the same data (all fields, exact strings).
 *
 * @param a One candle.
 * @param b The other.
 * @returns `true` when every field is equal.
 * @example Compare
 * ```ts
 * import { sameCandle } from "./ohlc.ts";
 * ```
 */
export function sameCandle(a: Candle, b: Candle): boolean {
  return a.openTimeSec === b.openTimeSec && a.open === b.open &&
    a.high === b.high && a.low === b.low && a.close === b.close &&
    a.vwap === b.vwap && a.volume === b.volume && a.count === b.count;
}

/** Formatting of candles built from trades. */
export interface TradeCandleOptions {
  /** Decimals of open/high/low/close and vwap: the pair's `priceDecimals`. */
  priceDecimals: number;
  /** Decimals of volume: the pair's `volumeDecimals` (default 8). */
  volumeDecimals?: number;
  /**
   * Emit a candle for an interval without trades once a previous close is
   * known, as Kraken's `OHLC` does: open = high = low = close = previous
   * close, vwap 0, volume 0, count 0 (default `true`).
   */
  fillEmpty?: boolean;
}

interface Bucket {
  openTimeSec: number;
  open: bigint;
  high: bigint;
  low: bigint;
  close: bigint;
  /** Σ volume at `volumeScale`. */
  volume: bigint;
  /** Σ price × volume at `priceScale + volumeScale`. */
  notional: bigint;
  count: number;
}

/**
 * Builds candles from public trades, one trade at a time, for any timeframe
 * and range. Exact: volume and VWAP are sums of scaled BigInts.
 *
 * Formatting follows Kraken's `OHLC` rows (and the simulator's): prices and
 * VWAP with the pair's price decimals, VWAP = Σ(price × volume) / Σvolume
 * rounded half up; volume with the pair's volume decimals. A trade belongs to
 * the interval `floor(time / interval) · interval`; its float time is used as
 * given (REST.md §3.1 notes float times can lose the last digit). Intervals
 * without trades are filled as Kraken does (see `fillEmpty`), except before
 * the first trade when no earlier close is known (see `seed`).
 *
 * Trades must arrive oldest first; one older than the current interval throws.
 *
 * @example Aggregate two trades
 * ```ts
 * import { TradeCandleBuilder } from "./ohlc.ts";
 * const builder = new TradeCandleBuilder("1m", { priceDecimals: 1 });
 * builder.add(["100.0", "1.00000000", 60.5, "b", "m", "", 1]);
 * builder.add(["102.0", "3.00000000", 61.5, "s", "l", "", 2]);
 * builder.flush()[0]?.vwap; // "101.5"
 * ```
 */
export class TradeCandleBuilder {
  #intervalSec: number;
  #priceScale: number;
  #priceDecimals: number;
  #volumeDecimals: number;
  #volumeScale: number;
  #fillEmpty: boolean;
  #current: Bucket | null = null;
  /** Open time and close of the last finished interval (for filling). */
  #previous: { openTimeSec: number; close: bigint } | null = null;
  #done: Candle[] = [];

  /**
   * Creates a builder.
   *
   * @param timeframe The candle timeframe.
   * @param options Output decimals and filling.
   * @throws {UnknownTimeframeError} When the timeframe is not Kraken's.
   */
  constructor(timeframe: Timeframe, options: TradeCandleOptions) {
    this.#intervalSec = timeframeToSeconds(timeframe);
    this.#priceDecimals = options.priceDecimals;
    this.#volumeDecimals = options.volumeDecimals ?? 8;
    this.#fillEmpty = options.fillEmpty ?? true;
    // Internal scales keep every input digit; output is rounded at the end.
    this.#priceScale = Math.max(this.#priceDecimals, 10);
    this.#volumeScale = Math.max(this.#volumeDecimals, 10);
  }

  /**
   * Declares the candle just before the first trade to come (e.g. the last
   * stored candle before a backfill range), so quiet intervals at the start
   * of the range are filled from its close as Kraken does. Ignored once a
   * trade has been added.
   *
   * @param openTimeSec Open time of that earlier candle.
   * @param close Its close, as decimal text.
   * @throws {SyntaxError} When `close` is not a decimal.
   */
  seed(openTimeSec: number, close: string): void {
    if (this.#current !== null || this.#previous !== null) return;
    this.#previous = {
      openTimeSec,
      close: rescale(parseScaled(close), this.#priceScale),
    };
  }

  /** Open time of the interval being built, or `null` when none is. */
  get currentOpenTimeSec(): number | null {
    return this.#current?.openTimeSec ?? null;
  }

  /**
   * Adds one trade.
   *
   * @param trade A public trade row (`[price, volume, time, …]`).
   * @throws {RangeError} When the trade is older than the current interval.
   * @throws {SyntaxError} When price or volume is not a decimal.
   */
  add(trade: TradeRow): void {
    const timeSec = trade[2];
    const openTimeSec = Math.floor(timeSec / this.#intervalSec) *
      this.#intervalSec;
    const price = rescale(parseScaled(trade[0]), this.#priceScale);
    const volume = rescale(parseScaled(trade[1]), this.#volumeScale);
    let bucket = this.#current;
    const floorSec = bucket?.openTimeSec ?? this.#previous?.openTimeSec;
    if (
      floorSec !== undefined &&
      (openTimeSec < floorSec || (bucket === null && openTimeSec === floorSec))
    ) {
      throw new RangeError(
        `Cannot add trade at ${timeSec}: older than the interval at ${floorSec}`,
      );
    }
    if (bucket === null || openTimeSec > bucket.openTimeSec) {
      if (bucket !== null) this.#finish(bucket);
      this.#fill(openTimeSec);
      bucket = {
        openTimeSec,
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 0n,
        notional: 0n,
        count: 0,
      };
      this.#current = bucket;
    }
    if (price > bucket.high) bucket.high = price;
    if (price < bucket.low) bucket.low = price;
    bucket.close = price;
    bucket.volume += volume;
    bucket.notional += price * volume;
    bucket.count += 1;
  }

  /**
   * Takes the candles that are finished because a later interval has
   * started; the interval being built stays.
   *
   * @returns Finished candles, oldest first.
   */
  takeFinished(): Candle[] {
    const done = this.#done;
    this.#done = [];
    return done;
  }

  /**
   * Takes the candles whose interval ended by `beforeSec`, filling quiet
   * intervals up to it; with no argument, takes every candle including the
   * one being built (and fills nothing after it).
   *
   * @param beforeSec Keep building intervals that end after this time.
   * @returns Finished candles, oldest first.
   */
  flush(beforeSec = Infinity): Candle[] {
    const current = this.#current;
    if (
      current !== null && current.openTimeSec + this.#intervalSec <= beforeSec
    ) {
      this.#finish(current);
      this.#current = null;
    }
    if (this.#current === null && Number.isFinite(beforeSec)) {
      this.#fill(
        Math.floor(beforeSec / this.#intervalSec) * this.#intervalSec,
      );
    }
    return this.takeFinished();
  }

  /** Emits empty candles for the intervals before `untilOpenSec`. */
  #fill(untilOpenSec: number): void {
    const previous = this.#previous;
    if (!this.#fillEmpty || previous === null) return;
    const close = this.#price(previous.close);
    const zeroVwap = formatScaled(0n, this.#priceDecimals);
    const zeroVolume = formatScaled(0n, this.#volumeDecimals);
    let openTimeSec = previous.openTimeSec + this.#intervalSec;
    for (; openTimeSec < untilOpenSec; openTimeSec += this.#intervalSec) {
      this.#done.push({
        openTimeSec,
        open: close,
        high: close,
        low: close,
        close,
        vwap: zeroVwap,
        volume: zeroVolume,
        count: 0,
      });
      this.#previous = { openTimeSec, close: previous.close };
    }
  }

  #price(units: bigint): string {
    return formatScaled(
      divideRounded(units, pow10(this.#priceScale - this.#priceDecimals)),
      this.#priceDecimals,
    );
  }

  #finish(bucket: Bucket): void {
    // vwap = Σ(p·v) / Σv; the volume scale cancels, leaving the price scale.
    const vwap = bucket.volume === 0n
      ? this.#price(bucket.close)
      : formatScaled(
        divideRounded(
          bucket.notional * pow10(this.#priceDecimals),
          bucket.volume * pow10(this.#priceScale),
        ),
        this.#priceDecimals,
      );
    this.#done.push({
      openTimeSec: bucket.openTimeSec,
      open: this.#price(bucket.open),
      high: this.#price(bucket.high),
      low: this.#price(bucket.low),
      close: this.#price(bucket.close),
      vwap,
      volume: formatScaled(
        divideRounded(
          bucket.volume,
          pow10(this.#volumeScale - this.#volumeDecimals),
        ),
        this.#volumeDecimals,
      ),
      count: bucket.count,
    });
    this.#previous = { openTimeSec: bucket.openTimeSec, close: bucket.close };
  }
}

/**
 * Builds candles from trades in one go (see {@linkcode TradeCandleBuilder}).
 *
 * @param trades Public trades, oldest first.
 * @param timeframe The candle timeframe.
 * @param options Output decimals.
 * @returns One candle per interval that has trades, oldest first, including
 *   the last (possibly unfinished) interval; filter with
 *   {@linkcode closedCandles}.
 * @throws {RangeError} When trades are out of order.
 * @example Aggregate
 * ```ts
 * import { candlesFromTrades } from "./ohlc.ts";
 * candlesFromTrades([["1.5", "2", 0, "b", "m", "", 1]], "1m", { priceDecimals: 2 })[0]?.open; // "1.50"
 * ```
 */
export function candlesFromTrades(
  trades: Iterable<TradeRow>,
  timeframe: Timeframe,
  options: TradeCandleOptions,
): Candle[] {
  const builder = new TradeCandleBuilder(timeframe, options);
  for (const trade of trades) builder.add(trade);
  return builder.flush();
}
