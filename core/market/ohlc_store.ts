/**
 * Where closed candles are kept: the store interface and an in-memory store.
 *
 * Stores are keyed by canonical pair id (`XBTUSD`) and timeframe; they do not
 * resolve spellings. They hold closed candles only, unique by open time and
 * sorted oldest first.
 *
 * @module
 */

import {
  type Candle,
  mergeCandles,
  sameCandle,
  type Timeframe,
} from "./ohlc.ts";

/** What an upsert changed. */
export interface UpsertResult {
  /** Candles whose open time was new. */
  added: number;
  /** Candles that replaced a stored one with different data. */
  changed: number;
  /**
   * Set when the write also repaired what was stored and so holds fewer
   * rows than were loaded (duplicated rows collapsed, a torn or garbled
   * tail dropped): how many rows went, and where the old copy was kept.
   */
  repaired?: StoreRepair;
}

/** A store write that dropped stored rows (see {@linkcode UpsertResult.repaired}). */
export interface StoreRepair {
  /** Rows in the stored copy before the write. */
  rowsBefore: number;
  /** Rows the write dropped from it (duplicates, a bad tail). */
  rowsDropped: number;
  /** Where the stored copy was kept before it was replaced, if anywhere. */
  backup?: string;
}

/**
 * Async candle storage for one or many pairs and timeframes.
 *
 * Implementations: {@linkcode MemoryOhlcStore} here, `FileOhlcStore` in the
 * server, an IndexedDB store in the worker.
 */
export interface OhlcStore {
  /**
   * Inserts or replaces candles by open time; a candle equal to the stored
   * one is not counted. Input need not be sorted or unique (the later of two
   * equal open times wins).
   */
  upsert(
    pair: string,
    timeframe: Timeframe,
    candles: readonly Candle[],
  ): Promise<UpsertResult>;
  /** The newest `n` candles, oldest first (fewer when fewer are held). */
  last(pair: string, timeframe: Timeframe, n: number): Promise<Candle[]>;
  /** Candles with `openTimeSec >= sinceSec`, oldest first. */
  since(
    pair: string,
    timeframe: Timeframe,
    sinceSec: number,
  ): Promise<Candle[]>;
  /** Open time of the newest candle, or `null` when none is held. */
  latestOpenTime(pair: string, timeframe: Timeframe): Promise<number | null>;
}

/**
 * Counts how `incoming` changes `existing` (both sorted and unique).
 *
 * @param existing Stored candles.
 * @param incoming Candles to upsert.
 * @returns The numbers of new and changed candles.
 * @example Count an append
 * ```ts
 * import { diffCandles } from "./ohlc_store.ts";
 * diffCandles([], []); // { added: 0, changed: 0 }
 * ```
 */
export function diffCandles(
  existing: readonly Candle[],
  incoming: readonly Candle[],
): UpsertResult {
  let added = 0;
  let changed = 0;
  for (const candle of incoming) {
    const index = findIndex(existing, candle.openTimeSec);
    const held = existing[index];
    if (held === undefined || held.openTimeSec !== candle.openTimeSec) {
      added++;
    } else if (!sameCandle(held, candle)) {
      changed++;
    }
  }
  return { added, changed };
}

/**
 * Finds the first index whose open time is `>= openTimeSec` (binary search).
 *
 * @param candles Candles sorted oldest first.
 * @param openTimeSec The time to look for.
 * @returns The index, `candles.length` when every candle is older.
 * @example Search
 * ```ts
 * import { findIndex } from "./ohlc_store.ts";
 * findIndex([], 60); // 0
 * ```
 */
export function findIndex(
  candles: readonly Candle[],
  openTimeSec: number,
): number {
  let low = 0;
  let high = candles.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((candles[middle] as Candle).openTimeSec < openTimeSec) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Candles held in a Map, for tests, the browser fallback and short runs.
 *
 * @example Store and read
 * ```ts
 * import { MemoryOhlcStore } from "./ohlc_store.ts";
 * const store = new MemoryOhlcStore();
 * await store.upsert("XBTUSD", "1m", [{ openTimeSec: 60, open: "1", high: "1", low: "1", close: "1", vwap: "1", volume: "1", count: 1 }]);
 * await store.latestOpenTime("XBTUSD", "1m"); // 60
 * ```
 */
export class MemoryOhlcStore implements OhlcStore {
  #series = new Map<string, Candle[]>();

  #get(pair: string, timeframe: Timeframe): Candle[] {
    return this.#series.get(`${timeframe}\u0000${pair}`) ?? [];
  }

  /**
   * Inserts or replaces candles by open time.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @param candles Closed candles, any order.
   * @returns How many were new and how many changed.
   */
  upsert(
    pair: string,
    timeframe: Timeframe,
    candles: readonly Candle[],
  ): Promise<UpsertResult> {
    const existing = this.#get(pair, timeframe);
    const incoming = mergeCandles([], candles);
    const result = diffCandles(existing, incoming);
    if (result.added + result.changed > 0) {
      this.#series.set(
        `${timeframe}\u0000${pair}`,
        mergeCandles(existing, incoming),
      );
    }
    return Promise.resolve(result);
  }

  /**
   * The newest `n` candles.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @param n How many (0 or more).
   * @returns Up to `n` candles, oldest first.
   */
  last(pair: string, timeframe: Timeframe, n: number): Promise<Candle[]> {
    const series = this.#get(pair, timeframe);
    return Promise.resolve(n <= 0 ? [] : series.slice(-n));
  }

  /**
   * Candles from `sinceSec` on.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @param sinceSec Earliest open time, inclusive.
   * @returns The candles, oldest first.
   */
  since(
    pair: string,
    timeframe: Timeframe,
    sinceSec: number,
  ): Promise<Candle[]> {
    const series = this.#get(pair, timeframe);
    return Promise.resolve(series.slice(findIndex(series, sinceSec)));
  }

  /**
   * Open time of the newest candle.
   *
   * @param pair Canonical pair id.
   * @param timeframe The timeframe.
   * @returns Unix seconds, or `null` when nothing is held.
   */
  latestOpenTime(pair: string, timeframe: Timeframe): Promise<number | null> {
    const series = this.#get(pair, timeframe);
    return Promise.resolve(series.at(-1)?.openTimeSec ?? null);
  }
}
