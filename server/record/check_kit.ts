/**
 * What `record validate` (DuckDB) and `load validate` (ClickHouse) share:
 * the result shape of a check, reading numbers and text out of either
 * engine's rows, comparing candles exactly, and the comparison of gold
 * with Kraken's REST OHLC. Each validator reads its own engine; the rules
 * a store is judged by are written once, here.
 *
 * @module
 */

import { canonicalDecimal, compareDecimal } from "@krakked/core/decimal";
import { TradeCandleBuilder } from "@krakked/core/market/ohlc";
import {
  GOLD_TIMEFRAMES,
  type GoldTimeframe,
  spanUs,
} from "@krakked/core/record/gold";
import type { OhlcResult, TradeRow } from "@krakked/core/rest/types";

/** Decimals silver keeps of a price or quantity (`DECIMAL(38,18)` in both engines). */
const SILVER_DECIMALS = 18;

/** One check's outcome. */
export interface CheckResult {
  /** Stable name, e.g. `no_gaps`. */
  name: string;
  /** Whether it passed. */
  ok: boolean;
  /** One line for people. */
  summary: string;
  /** The counts behind it. */
  counts: Record<string, number>;
  /** Up to ten examples of what failed. */
  examples: string[];
}

/** What validation needs from REST. */
export interface OhlcSource {
  /** REST `OHLC` of one pair. */
  ohlc(
    pair: string,
    options: { interval: number; since?: number },
  ): Promise<OhlcResult>;
}

/** One gold candle as both engines print it (exact decimal text). */
export interface GoldRow {
  /** First price. */
  open: string;
  /** Highest price. */
  high: string;
  /** Lowest price. */
  low: string;
  /** Last price. */
  close: string;
  /** Volume-weighted average price. */
  vwap: string;
  /** Base volume. */
  volume: string;
  /** Trades. */
  count: number;
}

/**
 * A number from an engine's row (DuckDB gives BIGINT as bigint).
 *
 * @param value A cell.
 * @returns The number (0 for null).
 */
export function num(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : Number(value ?? 0);
}

/**
 * Text from an engine's row.
 *
 * @param value A cell.
 * @returns The text ("" for null).
 */
export function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/**
 * A check's result, with at most ten examples.
 *
 * @param name Stable name.
 * @param ok Whether it passed.
 * @param summary One line for people.
 * @param counts The counts behind it.
 * @param examples What failed.
 * @returns The result.
 */
export function check(
  name: string,
  ok: boolean,
  summary: string,
  counts: Record<string, number>,
  examples: string[] = [],
): CheckResult {
  return { name, ok, summary, counts, examples: examples.slice(0, 10) };
}

/**
 * Whether two candles are equal, decimals compared by value.
 *
 * @param a One candle.
 * @param b The other.
 * @returns Equal in every field.
 */
export function sameCandle(a: GoldRow, b: GoldRow): boolean {
  const eq = (x: string, y: string) => compareDecimal(x, y) === 0;
  return eq(a.open, b.open) && eq(a.high, b.high) && eq(a.low, b.low) &&
    eq(a.close, b.close) && eq(a.vwap, b.vwap) && eq(a.volume, b.volume) &&
    a.count === b.count;
}

/** The running tally of a comparison ({@linkcode compareWithRest}, {@linkcode compareWithRecomputation}). */
export interface CheckTally {
  /** compared, wrong, missing, extra, symbols. */
  counts: Record<string, number>;
  /** What failed. */
  examples: string[];
}

/** A fresh tally for {@linkcode compareWithRest}. */
export function restTally(): CheckTally {
  return {
    counts: { compared: 0, wrong: 0, missing: 0, extra: 0, symbols: 0 },
    examples: [],
  };
}

/**
 * Compare one symbol's gold with REST OHLC over the recorded range: every
 * closed REST candle wholly inside `[fromUs, toUs]` must have a gold row
 * equal to it, and a REST candle with no trades must have none. REST's
 * last candle (still open) is skipped.
 *
 * @param tally Counts and examples, updated.
 * @param what The timeframe and symbol, for examples (`1m BTC/USD`).
 * @param rows REST's candles.
 * @param range The recorded range and the bucket span, µs.
 * @param goldAt The gold row starting at a Unix second, if any.
 */
export function compareWithRest(
  tally: CheckTally,
  what: string,
  rows: OhlcResult["rows"],
  range: { fromUs: number; toUs: number; spanUs: number },
  goldAt: (startSec: number) => GoldRow | undefined,
): void {
  const { counts, examples } = tally;
  for (const row of rows.slice(0, -1)) {
    const startUs = row[0] * 1e6;
    if (startUs < range.fromUs || startUs + range.spanUs > range.toUs) {
      continue;
    }
    counts.compared!++;
    const got = goldAt(row[0]);
    if (row[7] === 0) {
      if (got !== undefined) {
        counts.extra!++;
        examples.push(`${what} ${row[0]}: gold row where REST has no trades`);
      }
      continue;
    }
    const want: GoldRow = {
      open: row[1],
      high: row[2],
      low: row[3],
      close: row[4],
      vwap: row[5],
      volume: row[6],
      count: row[7],
    };
    if (got === undefined) {
      counts.missing!++;
      examples.push(`${what} ${row[0]}: no gold row`);
    } else if (!sameCandle(got, want)) {
      counts.wrong!++;
      examples.push(
        `${what} ${row[0]}: gold ${
          canonicalDecimal(got.close)
        }/${got.count} vs REST ${canonicalDecimal(want.close)}/${want.count}`,
      );
    }
  }
}

/**
 * The `gold_matches_rest_ohlc` result of a finished tally, or the
 * not-run result without REST.
 *
 * @param tally The tally, or `undefined` when there was no REST source.
 * @returns The result.
 */
export function restCheck(tally: CheckTally | undefined): CheckResult {
  if (tally === undefined) {
    return check(
      "gold_matches_rest_ohlc",
      false,
      "gold = REST OHLC: not run (no REST connection)",
      {},
    );
  }
  const { counts, examples } = tally;
  return check(
    "gold_matches_rest_ohlc",
    counts.compared! > 0 && counts.wrong === 0 && counts.missing === 0 &&
      counts.extra === 0,
    `gold = REST OHLC for fully recorded closed minutes: ${counts.compared} compared over ${counts.symbols} symbols, ${counts.wrong} wrong, ${counts.missing} missing, ${counts.extra} extra`,
    counts,
    examples,
  );
}

/** One silver trade as the recomputation reads it. */
export interface RecomputeTrade {
  /** Exact price text. */
  price: string;
  /** Exact quantity text. */
  qty: string;
  /** Trade time, µs. */
  tsUs: number;
  /** Exchange trade id. */
  id: number;
}

/**
 * Compare one timeframe's gold with an independent recomputation from
 * silver (core's {@linkcode TradeCandleBuilder}): every closed bucket must
 * be in gold and equal; a gold bucket with no trades behind it is extra.
 * `formingInGold`: the engine's gold also holds buckets still forming by
 * `nowUs` (ClickHouse views); those are not counted as extra.
 *
 * @param tally `compared`, `wrong`, `missing`, `extra` and examples, updated.
 * @param tf The timeframe.
 * @param bySymbol Silver trades per symbol, in trade-id order.
 * @param gold Gold rows keyed `symbol|startUs`.
 * @param options The time now, price decimals per symbol, and whether gold
 *   holds forming buckets.
 */
export function compareWithRecomputation(
  tally: CheckTally,
  tf: GoldTimeframe,
  bySymbol: ReadonlyMap<string, readonly RecomputeTrade[]>,
  gold: ReadonlyMap<string, GoldRow>,
  options: {
    nowUs: number;
    priceDecimals: (symbol: string) => number;
    formingInGold: boolean;
  },
): void {
  const { counts, examples } = tally;
  const seen = new Set<string>();
  for (const [symbol, list] of bySymbol) {
    // Gold keeps open/high/low/close and volume exact (silver's 18
    // decimals) and rounds only vwap to the pair's decimals, as Kraken
    // prints it: one builder at 18 decimals for the first, one at the
    // pair's for vwap. A single builder at the pair's decimals would round
    // an over-precise trade's price and report a correct bucket as wrong.
    const exact = new TradeCandleBuilder(tf, {
      priceDecimals: SILVER_DECIMALS,
      volumeDecimals: SILVER_DECIMALS,
      fillEmpty: false,
    });
    const rounded = new TradeCandleBuilder(tf, {
      priceDecimals: options.priceDecimals(symbol),
      volumeDecimals: SILVER_DECIMALS,
      fillEmpty: false,
    });
    try {
      for (const t of list) {
        const row: TradeRow = [
          t.price,
          t.qty,
          t.tsUs / 1e6,
          "b",
          "l",
          "",
          t.id,
        ];
        exact.add(row);
        rounded.add(row);
      }
    } catch (error) {
      counts.wrong!++;
      examples.push(`${tf} ${symbol}: cannot recompute: ${String(error)}`);
      continue;
    }
    const vwapAt = new Map(
      rounded.flush().map((c) => [c.openTimeSec, c.vwap]),
    );
    for (const candle of exact.flush()) {
      const c = { ...candle, vwap: vwapAt.get(candle.openTimeSec)! };
      const startUs = c.openTimeSec * 1e6;
      if (startUs + spanUs(tf) > options.nowUs) continue; // still forming
      const key = `${symbol}|${startUs}`;
      seen.add(key);
      const got = gold.get(key);
      counts.compared!++;
      const when = new Date(startUs / 1000).toISOString();
      if (got === undefined) {
        counts.missing!++;
        examples.push(`${tf} ${symbol} ${when} missing`);
      } else if (!sameCandle(got, c)) {
        counts.wrong!++;
        examples.push(`${tf} ${symbol} ${when} differs`);
      }
    }
  }
  for (const key of gold.keys()) {
    if (options.formingInGold) {
      const startUs = Number(key.slice(key.lastIndexOf("|") + 1));
      if (startUs + spanUs(tf) > options.nowUs) continue;
    }
    if (!seen.has(key)) {
      counts.extra!++;
      examples.push(`${tf} ${key} has no closed trades behind it`);
    }
  }
}

/**
 * The `gold_recomputed` result of a finished tally.
 *
 * @param tally The tally.
 * @returns The result.
 */
export function recomputeCheck(tally: CheckTally): CheckResult {
  const { counts, examples } = tally;
  return check(
    "gold_recomputed",
    counts.compared! > 0 && counts.wrong === 0 && counts.missing === 0 &&
      counts.extra === 0,
    `gold = recomputation from silver (${
      GOLD_TIMEFRAMES.join(", ")
    }): ${counts.compared} closed buckets compared, ${counts.wrong} wrong, ${counts.missing} missing, ${counts.extra} extra`,
    counts,
    examples,
  );
}
