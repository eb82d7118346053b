/**
 * Live OHLC candles from the v2 `ohlc` channel, closed exactly once.
 *
 * Kraken sends the running candle of an interval on every trade and never
 * says when it is final. A candle is closed when a row with a later
 * `interval_begin` arrives for the same symbol and interval
 * (docs/kraken/WS_V2.md §3.4). {@linkcode CandleTracker} keeps the
 * forming candle per (symbol, interval) and emits each closed candle once:
 * snapshot rows count (sorted by open time first), rows for the forming
 * candle replace it (they are cumulative), and rows at or before the last
 * closed candle — a re-sent snapshot after a reconnect, out-of-order
 * updates — are ignored. Empty intervals simply have no candle.
 *
 * Wall-clock closing (`interval_begin + interval` has passed) is not done
 * here: a late update could still revise such a candle, and a closed candle
 * must never change.
 *
 * Number format: every decimal is in the shortest canonical form of
 * `normalizeDecimal` (no exponent, no trailing fractional zeros:
 * `142.20` → `"142.2"`, `1311.42118000` → `"1311.42118"`), whatever precision
 * the wire or runtime printed, so live candles compare equal across
 * reconnects and runtimes. Normalise REST candles the same way to compare.
 *
 * @module
 */

import type { DecimalString } from "../decimal.ts";
import {
  normalizeDecimal,
  type OhlcFrame,
  type WsOhlcRow,
} from "./protocol.ts";

/** One candle. */
export interface WsCandle {
  /** Pair (v2 symbol). */
  symbol: string;
  /** Interval in minutes. */
  intervalMin: number;
  /** Open time in ms since the Unix epoch (`interval_begin`). */
  openTimeMs: number;
  /** Open time as Kraken printed it (RFC 3339). */
  intervalBegin: string;
  /** Open price. */
  open: DecimalString;
  /** High price. */
  high: DecimalString;
  /** Low price. */
  low: DecimalString;
  /** Close price. */
  close: DecimalString;
  /** Volume-weighted average price, when sent. */
  vwap: DecimalString | undefined;
  /** Base volume. */
  volume: DecimalString;
  /** Number of trades, when sent. */
  trades: number | undefined;
}

/** Options of {@linkcode CandleTracker}. */
export interface CandleTrackerOptions {
  /** Called once per closed candle, oldest first. */
  onClosed?: (candle: WsCandle) => void;
}

interface Series {
  current: WsCandle | undefined;
  lastClosedMs: number;
}

/**
 * Convert a wire row to a {@linkcode WsCandle} with canonical decimals.
 *
 * @param row A parsed `ohlc` row.
 * @returns The candle.
 * @example Convert
 * ```ts
 * import { toCandle } from "./candles.ts";
 * import { parseWsFrame } from "./protocol.ts";
 * const f = parseWsFrame('{"channel":"ohlc","type":"update","data":[{"symbol":"SOL/USD","open":142.31,"high":142.77,"low":142.20,"close":142.66,"trades":87,"volume":1311.42118000,"vwap":142.5019,"interval_begin":"2025-03-04T10:20:00.000000000Z","interval":5}]}');
 * if (f.kind === "ohlc") toCandle(f.candles[0]!).low; // "142.2"
 * ```
 */
export function toCandle(row: WsOhlcRow): WsCandle {
  return {
    symbol: row.symbol,
    intervalMin: row.intervalMin,
    openTimeMs: row.intervalBeginMs,
    intervalBegin: row.intervalBegin,
    open: canonical(row.open),
    high: canonical(row.high),
    low: canonical(row.low),
    close: canonical(row.close),
    vwap: row.vwap === undefined ? undefined : canonical(row.vwap),
    volume: canonical(row.volume),
    trades: row.trades,
  };
}

function canonical(value: DecimalString): DecimalString {
  return normalizeDecimal(value) ?? value;
}

/**
 * Tracks the forming candle per (symbol, interval) and closes candles
 * exactly once.
 *
 * @example Close a candle
 * ```ts
 * import { CandleTracker } from "./candles.ts";
 * import { parseWsFrame } from "./protocol.ts";
 * const tracker = new CandleTracker();
 * const row = (begin: string) =>
 *   `{"channel":"ohlc","type":"update","data":[{"symbol":"BTC/USD","open":1,"high":1,"low":1,"close":1,"volume":1,"interval_begin":"${begin}","interval":1}]}`;
 * for (const text of [row("2025-01-01T00:00:00Z"), row("2025-01-01T00:01:00Z")]) {
 *   const f = parseWsFrame(text);
 *   if (f.kind === "ohlc") console.log(tracker.apply(f).length); // 0, then 1
 * }
 * ```
 */
export class CandleTracker {
  #series = new Map<string, Series>();
  #onClosed: ((candle: WsCandle) => void) | undefined;

  /**
   * Create a tracker.
   *
   * @param options `onClosed` callback.
   */
  constructor(options: CandleTrackerOptions = {}) {
    this.#onClosed = options.onClosed;
  }

  /**
   * Apply an `ohlc` frame (or its rows).
   *
   * @param frame The frame or rows.
   * @returns The candles this frame closed, oldest first per series.
   * @example Apply
   * ```ts ignore
   * const closed = tracker.apply(frame);
   * ```
   */
  apply(frame: OhlcFrame | readonly WsOhlcRow[]): WsCandle[] {
    const rows = "candles" in frame ? frame.candles : frame;
    const ordered = "candles" in frame && frame.type === "snapshot"
      ? [...rows].sort((a, b) => a.intervalBeginMs - b.intervalBeginMs)
      : rows;
    const closed: WsCandle[] = [];
    for (const row of ordered) {
      const done = this.#applyRow(row);
      if (done !== undefined) {
        closed.push(done);
        this.#onClosed?.(done);
      }
    }
    return closed;
  }

  #applyRow(row: WsOhlcRow): WsCandle | undefined {
    const key = seriesKey(row.symbol, row.intervalMin);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { current: undefined, lastClosedMs: -Infinity };
      this.#series.set(key, series);
    }
    const openMs = row.intervalBeginMs;
    if (openMs <= series.lastClosedMs) return undefined; // already closed
    const current = series.current;
    if (current === undefined || openMs === current.openTimeMs) {
      series.current = toCandle(row);
      return undefined;
    }
    if (openMs < current.openTimeMs) return undefined; // older, out of order
    series.current = toCandle(row);
    series.lastClosedMs = current.openTimeMs;
    return current;
  }

  /**
   * The forming candle of a series.
   *
   * @param symbol Pair.
   * @param intervalMin Interval in minutes.
   * @returns The candle, or `undefined` before the first row.
   * @example Read
   * ```ts ignore
   * tracker.current("BTC/USD", 5)?.close;
   * ```
   */
  current(symbol: string, intervalMin: number): WsCandle | undefined {
    return this.#series.get(seriesKey(symbol, intervalMin))?.current;
  }

  /**
   * Open time of the last candle closed in a series.
   *
   * @param symbol Pair.
   * @param intervalMin Interval in minutes.
   * @returns Ms since the epoch, or `undefined` when none closed yet.
   * @example Read
   * ```ts ignore
   * tracker.lastClosedOpenTimeMs("BTC/USD", 5);
   * ```
   */
  lastClosedOpenTimeMs(
    symbol: string,
    intervalMin: number,
  ): number | undefined {
    const ms = this.#series.get(seriesKey(symbol, intervalMin))?.lastClosedMs;
    return ms === undefined || ms === -Infinity ? undefined : ms;
  }

  /**
   * Forget one symbol's series (all intervals), or everything.
   *
   * @param symbol Pair; omit to forget all.
   * @example Forget
   * ```ts ignore
   * tracker.forget("BTC/USD");
   * ```
   */
  forget(symbol?: string): void {
    if (symbol === undefined) {
      this.#series.clear();
      return;
    }
    for (const key of [...this.#series.keys()]) {
      if (key.startsWith(`${symbol}|`)) this.#series.delete(key);
    }
  }
}

function seriesKey(symbol: string, intervalMin: number): string {
  return `${symbol}|${intervalMin}`;
}
