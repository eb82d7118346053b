/**
 * Closed-candle history: reads from an {@linkcode OhlcStore} and backfill from
 * Kraken's `OHLC` and `Trades` endpoints.
 *
 * `OHLC` returns at most the 720 most recent rows whatever `since` says
 * (docs/kraken/REST.md §6). Older history is rebuilt from `Trades`,
 * paging with the 19-digit nanosecond `last` cursor; Kraken derives its
 * candles from the same trades, so both agree where they overlap.
 *
 * @module
 */

import { type Now, systemClock } from "../clock.ts";
import type { OhlcResult, TradesResult } from "../rest/types.ts";
import { fractionDigits } from "../decimal.ts";
import {
  type Candle,
  closedCandles,
  closedCandlesFromRows,
  type Timeframe,
  timeframeToMinutes,
  timeframeToSeconds,
  TradeCandleBuilder,
} from "./ohlc.ts";
import type { OhlcStore, UpsertResult } from "./ohlc_store.ts";

/** The `OHLC` call; the REST client fits it. */
export interface OhlcSource {
  /** One `OHLC` page: rows oldest first, the last one still forming. */
  ohlc(
    pair: string,
    options: { interval: number; since?: number },
  ): Promise<OhlcResult>;
}

/** The `Trades` call; the REST client fits it. */
export interface TradesSource {
  /** One `Trades` page (up to 1000 rows) after the `since` cursor. */
  trades(
    pair: string,
    options: { since?: string; count?: number },
  ): Promise<TradesResult>;
}

/**
 * No candle is stored for a pair and timeframe (it was never backfilled).
 *
 * @example Check the kind
 * ```ts
 * import { NoOhlcDataError } from "./ohlc_history.ts";
 * new NoOhlcDataError("XBTUSD", "1h").kind; // "no_data"
 * ```
 */
export class NoOhlcDataError extends Error {
  /** Discriminator. */
  readonly kind = "no_data" as const;
  /** Error name. */
  override name = "NoOhlcDataError";
  /** The pair asked for. */
  readonly pair: string;
  /** The timeframe asked for. */
  readonly timeframe: Timeframe;

  /**
   * Creates the error.
   *
   * @param pair The pair asked for.
   * @param timeframe The timeframe asked for.
   */
  constructor(pair: string, timeframe: Timeframe) {
    super(
      `No ${timeframe} candles stored for "${pair}": run a backfill first`,
    );
    this.pair = pair;
    this.timeframe = timeframe;
  }
}

/** A backfill progress report. */
export interface BackfillProgress {
  /** Which endpoint is being paged. */
  phase: "ohlc" | "trades";
  /** Intervals covered so far. */
  done: number;
  /** Intervals in the whole range (an estimate: quiet intervals have no candle). */
  total: number;
  /** Estimated time left in ms, or `null` before anything is known. */
  etaMs: number | null;
}

/** What a backfill did. */
export interface BackfillReport extends UpsertResult {
  /** `OHLC` calls made. */
  ohlcPages: number;
  /** `Trades` calls made. */
  tradePages: number;
  /** Candles built from trades (before deduplication by the store). */
  candlesFromTrades: number;
  /** Earliest open time the backfill wrote, or `null`. */
  firstOpenTimeSec: number | null;
  /** Latest open time the backfill wrote, or `null`. */
  lastOpenTimeSec: number | null;
}

/** The effects a backfill needs. */
export interface BackfillDeps {
  /** Where candles go. */
  store: OhlcStore;
  /** The REST calls (`trades` only for trade rebuilds). */
  source: OhlcSource & Partial<TradesSource>;
  /** Clock, ms since the epoch (default `systemClock.now`). */
  now?: Now;
  /** Waits for the shared rate limiter before each REST call. */
  acquire?: () => Promise<void>;
}

/** Options of {@linkcode backfillOhlc}. */
export interface BackfillOptions {
  /**
   * Earliest open time wanted, Unix seconds (aligned down to the interval).
   * Default: resume after the newest stored candle, or the whole `OHLC`
   * window when nothing is stored.
   */
  since?: number;
  /** Called after each page. */
  onProgress?: (progress: BackfillProgress) => void;
  /**
   * Rebuild the part of `since…` older than the `OHLC` window from `Trades`
   * (default `false`: that part stays empty).
   */
  fromTrades?: boolean;
  /** Price decimals for trade candles (default: read off the `OHLC` rows). */
  priceDecimals?: number;
  /** Volume decimals for trade candles (default: read off the `OHLC` rows, else 8). */
  volumeDecimals?: number;
  /** Safety stop on the number of pages per endpoint (default 100000). */
  maxPages?: number;
}

/** Options of {@linkcode backfillFromTrades}. */
export interface TradeBackfillOptions {
  /** Start of the range, Unix seconds (aligned down to the interval). */
  sinceSec: number;
  /** End of the range, exclusive, Unix seconds (default and cap: now). */
  untilSec?: number;
  /** Price decimals of the pair. */
  priceDecimals: number;
  /** Volume decimals (default 8). */
  volumeDecimals?: number;
  /** Called after each page. */
  onProgress?: (progress: BackfillProgress) => void;
  /** Safety stop on the number of pages (default 100000). */
  maxPages?: number;
}

const NS_PER_SEC = 1_000_000_000n;
const DEFAULT_MAX_PAGES = 100_000;

function alignDown(timeSec: number, intervalSec: number): number {
  return Math.floor(timeSec / intervalSec) * intervalSec;
}

class Tally {
  added = 0;
  changed = 0;
  first: number | null = null;
  last: number | null = null;

  async write(
    store: OhlcStore,
    pair: string,
    timeframe: Timeframe,
    candles: readonly Candle[],
  ): Promise<void> {
    if (candles.length === 0) return;
    const result = await store.upsert(pair, timeframe, candles);
    this.added += result.added;
    this.changed += result.changed;
    for (const candle of candles) {
      if (this.first === null || candle.openTimeSec < this.first) {
        this.first = candle.openTimeSec;
      }
      if (this.last === null || candle.openTimeSec > this.last) {
        this.last = candle.openTimeSec;
      }
    }
  }
}

class ProgressClock {
  #startMs: number;
  #now: Now;
  #onProgress: ((progress: BackfillProgress) => void) | undefined;

  constructor(
    now: Now,
    onProgress: ((progress: BackfillProgress) => void) | undefined,
  ) {
    this.#now = now;
    this.#startMs = now();
    this.#onProgress = onProgress;
  }

  report(phase: BackfillProgress["phase"], done: number, total: number): void {
    if (this.#onProgress === undefined) return;
    const clamped = Math.max(0, Math.min(done, total));
    const elapsedMs = this.#now() - this.#startMs;
    const etaMs = clamped <= 0
      ? null
      : Math.max(0, Math.round(elapsedMs / clamped * (total - clamped)));
    this.#onProgress({ phase, done: clamped, total, etaMs });
  }
}

/**
 * Rebuilds closed candles from `Trades` for `[sinceSec, untilSec)` and
 * upserts them. Pages by the nanosecond `last` cursor (compared as BigInt:
 * 19 digits exceed float precision) and stops at `untilSec`, at now, on an
 * empty page or when the cursor stops advancing. Trades repeated across
 * pages are skipped by `trade_id`. Only intervals that ended by the stop
 * time are written.
 *
 * @param pair Pair id, sent to the source and used as the store key.
 * @param timeframe Candle timeframe.
 * @param options Range, decimals, progress, store, source and limiter.
 * @returns What was written.
 * @throws {TypeError} When the source has no `trades` method.
 * @example Rebuild a day of 1h candles
 * ```ts
 * import { backfillFromTrades } from "./ohlc_history.ts";
 * // await backfillFromTrades("XBTUSD", "1h", { sinceSec, priceDecimals: 1, store, source });
 * ```
 */
export async function backfillFromTrades(
  pair: string,
  timeframe: Timeframe,
  options: TradeBackfillOptions & BackfillDeps,
): Promise<BackfillReport> {
  const now = options.now ?? systemClock.now;
  const progress = new ProgressClock(now, options.onProgress);
  const tally = new Tally();
  const pages = await tradesPhase(pair, timeframe, {
    ...options,
    now,
    tally,
    progress,
    doneBefore: 0,
    totalExtra: 0,
  });
  return {
    added: tally.added,
    changed: tally.changed,
    ohlcPages: 0,
    tradePages: pages.pages,
    candlesFromTrades: pages.candles,
    firstOpenTimeSec: tally.first,
    lastOpenTimeSec: tally.last,
  };
}

async function tradesPhase(
  pair: string,
  timeframe: Timeframe,
  options: TradeBackfillOptions & BackfillDeps & {
    now: Now;
    tally: Tally;
    progress: ProgressClock;
    doneBefore: number;
    totalExtra: number;
  },
): Promise<{ pages: number; candles: number }> {
  const source = options.source;
  if (typeof source.trades !== "function") {
    throw new TypeError(
      `Cannot rebuild ${timeframe} candles for "${pair}" from trades: the source has no trades method`,
    );
  }
  const intervalSec = timeframeToSeconds(timeframe);
  const nowSec = Math.floor(options.now() / 1000);
  const startSec = alignDown(options.sinceSec, intervalSec);
  const endSec = Math.min(options.untilSec ?? nowSec, nowSec);
  const total = Math.max(0, Math.ceil((endSec - startSec) / intervalSec));
  if (endSec <= startSec) return { pages: 0, candles: 0 };
  const builder = new TradeCandleBuilder(timeframe, {
    priceDecimals: options.priceDecimals,
    volumeDecimals: options.volumeDecimals ?? 8,
  });
  // The stored candle just before the range gives the close that quiet
  // intervals at the start of the range repeat.
  const before = await options.store.since(
    pair,
    timeframe,
    startSec - intervalSec,
  );
  const seed = before[0];
  if (seed !== undefined && seed.openTimeSec === startSec - intervalSec) {
    builder.seed(seed.openTimeSec, seed.close);
  }
  const endNs = BigInt(endSec) * NS_PER_SEC;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  // One ns before the range, so a trade at exactly `startSec` is included.
  let cursor = BigInt(startSec) * NS_PER_SEC - 1n;
  let lastTradeId = -Infinity;
  let pages = 0;
  let candles = 0;
  const write = async (finished: Candle[]) => {
    candles += finished.length;
    await options.tally.write(options.store, pair, timeframe, finished);
  };
  while (pages < maxPages) {
    await options.acquire?.();
    const page = await source.trades(pair, { since: cursor.toString() });
    pages++;
    let reachedEnd = false;
    let lastTimeSec = startSec;
    for (const trade of page.rows) {
      const timeSec = trade[2];
      if (timeSec >= endSec) {
        reachedEnd = true;
        break;
      }
      const tradeId = trade[6];
      if (tradeId !== undefined) {
        if (tradeId <= lastTradeId) continue;
        lastTradeId = tradeId;
      }
      if (timeSec < startSec) continue;
      builder.add(trade);
      lastTimeSec = timeSec;
    }
    await write(builder.takeFinished());
    const done = Math.floor((lastTimeSec - startSec) / intervalSec);
    options.progress.report(
      "trades",
      options.doneBefore + (reachedEnd ? total : done),
      total + options.totalExtra,
    );
    const next = BigInt(page.last);
    if (reachedEnd || page.rows.length === 0 || next <= cursor) break;
    cursor = next;
    if (cursor >= endNs) break;
  }
  await write(builder.flush(endSec));
  options.progress.report(
    "trades",
    options.doneBefore + total,
    total + options.totalExtra,
  );
  return { pages, candles };
}

/** Reads the price and volume decimals off OHLC rows (Kraken pads them). */
function inferDecimals(
  candles: readonly Candle[],
): { price: number; volume: number } | undefined {
  if (candles.length === 0) return undefined;
  let price = 0;
  let volume = 0;
  for (const candle of candles.slice(0, 50)) {
    for (const text of [candle.open, candle.high, candle.low, candle.close]) {
      price = Math.max(price, fractionDigits(text));
    }
    volume = Math.max(volume, fractionDigits(candle.volume));
  }
  return { price, volume };
}

/**
 * Backfills closed candles into the store.
 *
 * 1. Pages `OHLC` from `since` (or from the newest stored candle), writing
 *    closed candles only, until the closed candles reach the forming one, a
 *    page brings nothing new, or the `last` cursor stops advancing. Kraken
 *    answers with its whole 720-row window, so this is usually one call.
 * 2. With `fromTrades`, rebuilds `[since, start of the OHLC window)` from
 *    `Trades` (see {@linkcode backfillFromTrades}).
 *
 * Idempotent: a second run over the same data writes nothing new
 * (`added` and `changed` are 0). Calls `acquire()` before every request.
 *
 * @param pair Pair id, sent to the source and used as the store key.
 * @param timeframe Candle timeframe.
 * @param options Range, progress, trade rebuild, store, source, limiter.
 * @returns What was written.
 * @throws {TypeError} When `fromTrades` is set and the price decimals are
 *   neither given nor inferable, or the source has no `trades` method.
 * @example Backfill the last 720 hours
 * ```ts
 * import { backfillOhlc } from "./ohlc_history.ts";
 * import { MemoryOhlcStore } from "./ohlc_store.ts";
 * const store = new MemoryOhlcStore();
 * const source = { ohlc: () => Promise.resolve({ pair: "XXBTZUSD", rows: [], last: 0 }) };
 * await backfillOhlc("XBTUSD", "1h", { store, source });
 * ```
 */
export async function backfillOhlc(
  pair: string,
  timeframe: Timeframe,
  options: BackfillOptions & BackfillDeps,
): Promise<BackfillReport> {
  const now = options.now ?? systemClock.now;
  const intervalSec = timeframeToSeconds(timeframe);
  const nowSec = Math.floor(now() / 1000);
  const progress = new ProgressClock(now, options.onProgress);
  const tally = new Tally();
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const startSec = options.since === undefined
    ? await options.store.latestOpenTime(pair, timeframe)
    : alignDown(options.since, intervalSec);
  const lastOpenSec = alignDown(nowSec, intervalSec);
  const total = (from: number) =>
    Math.max(1, Math.ceil((lastOpenSec - from) / intervalSec));

  // An explicit `since` must include the candle opening at it, whether
  // Kraken's filter is inclusive or not; a resume already holds that candle.
  let cursor = startSec === null
    ? undefined
    : options.since === undefined
    ? startSec
    : startSec - 1;
  let windowStartSec: number | null = null;
  let sample: Candle[] = [];
  let ohlcPages = 0;
  while (ohlcPages < maxPages) {
    await options.acquire?.();
    const page = await options.source.ohlc(pair, {
      interval: timeframeToMinutes(timeframe),
      ...(cursor === undefined ? {} : { since: cursor }),
    });
    ohlcPages++;
    const firstRow = page.rows[0];
    if (firstRow !== undefined && windowStartSec === null) {
      windowStartSec = firstRow[0];
    }
    let closed = closedCandlesFromRows(page.rows, timeframe, nowSec);
    if (startSec !== null) {
      closed = closed.filter((candle) => candle.openTimeSec >= startSec);
    }
    if (sample.length === 0) sample = closed;
    await tally.write(options.store, pair, timeframe, closed);
    const newestClosed = closed.at(-1)?.openTimeSec;
    const reached = newestClosed === undefined
      ? lastOpenSec
      : newestClosed + intervalSec;
    const windowFrom = Math.max(
      startSec ?? -Infinity,
      windowStartSec ?? lastOpenSec,
    );
    progress.report(
      "ohlc",
      (reached - windowFrom) / intervalSec,
      total(startSec ?? windowFrom),
    );
    // Done when this page reached the forming candle or brought nothing new;
    // otherwise page on with `last` while it advances.
    if (reached >= lastOpenSec) break;
    if (cursor !== undefined && page.last <= cursor) break;
    cursor = page.last;
  }

  let tradePages = 0;
  let tradeCandles = 0;
  const gapEndSec = windowStartSec ?? lastOpenSec;
  if (
    options.fromTrades === true && startSec !== null && startSec < gapEndSec
  ) {
    const inferred = inferDecimals(sample);
    const priceDecimals = options.priceDecimals ?? inferred?.price;
    const volumeDecimals = options.volumeDecimals ?? inferred?.volume;
    if (priceDecimals === undefined) {
      throw new TypeError(
        `Cannot rebuild ${timeframe} candles for "${pair}" from trades: priceDecimals is missing and OHLC returned no rows to infer it`,
      );
    }
    const ohlcCovered = Math.max(0, (lastOpenSec - gapEndSec) / intervalSec);
    const result = await tradesPhase(pair, timeframe, {
      store: options.store,
      source: options.source,
      now,
      ...(options.acquire === undefined ? {} : { acquire: options.acquire }),
      sinceSec: startSec,
      untilSec: gapEndSec,
      priceDecimals,
      ...(volumeDecimals === undefined ? {} : { volumeDecimals }),
      ...(options.maxPages === undefined ? {} : { maxPages: options.maxPages }),
      tally,
      progress,
      doneBefore: ohlcCovered,
      totalExtra: ohlcCovered,
    });
    tradePages = result.pages;
    tradeCandles = result.candles;
  }
  return {
    added: tally.added,
    changed: tally.changed,
    ohlcPages,
    tradePages,
    candlesFromTrades: tradeCandles,
    firstOpenTimeSec: tally.first,
    lastOpenTimeSec: tally.last,
  };
}

/** Options of {@linkcode OhlcHistory}. */
export interface OhlcHistoryOptions {
  /** Where candles are kept. */
  store: OhlcStore;
  /** REST calls for backfill (optional for read-only use). */
  source?: OhlcSource & Partial<TradesSource>;
  /** Clock, ms since the epoch (default `systemClock.now`). */
  now?: Now;
  /** Waits for the shared rate limiter before each REST call. */
  acquire?: () => Promise<void>;
  /** Maps any spelling to the canonical id (default: identity). */
  resolvePair?: (spelling: string) => string;
}

/**
 * Reads closed candles from a store and backfills it.
 *
 * Reads return closed candles only (`openTimeSec + interval ≤ now`),
 * oldest first, unique by open time. Not enough data is not an error: a read
 * returns the candles there are, possibly fewer than asked for. When nothing
 * at all is stored for the pair and timeframe, reads throw
 * {@linkcode NoOhlcDataError}.
 *
 * @example Read the last 100 hours
 * ```ts
 * import { OhlcHistory } from "./ohlc_history.ts";
 * import { MemoryOhlcStore } from "./ohlc_store.ts";
 * const history = new OhlcHistory({ store: new MemoryOhlcStore() });
 * // await history.getOhlc("XBTUSD", "1h", 100);
 * ```
 */
export class OhlcHistory {
  #store: OhlcStore;
  #source: (OhlcSource & Partial<TradesSource>) | undefined;
  #now: Now;
  #acquire: (() => Promise<void>) | undefined;
  #resolve: (spelling: string) => string;

  /**
   * Creates the history.
   *
   * @param options Store, source, clock, limiter and pair resolver.
   */
  constructor(options: OhlcHistoryOptions) {
    this.#store = options.store;
    this.#source = options.source;
    this.#now = options.now ?? systemClock.now;
    this.#acquire = options.acquire;
    this.#resolve = options.resolvePair ?? ((spelling) => spelling);
  }

  /**
   * The newest `lookback` closed candles.
   *
   * @param pair Any spelling the resolver accepts.
   * @param timeframe The timeframe.
   * @param lookback How many candles (a non-negative integer).
   * @returns Up to `lookback` candles, oldest first.
   * @throws {RangeError} When `lookback` is not a non-negative integer.
   * @throws {NoOhlcDataError} When nothing is stored for the pair.
   */
  async getOhlc(
    pair: string,
    timeframe: Timeframe,
    lookback: number,
  ): Promise<Candle[]> {
    if (!Number.isSafeInteger(lookback) || lookback < 0) {
      throw new RangeError(
        `Cannot read candles: lookback must be a non-negative integer, got ${lookback}`,
      );
    }
    const id = this.#resolve(pair);
    const candles = await this.#store.last(id, timeframe, lookback + 1);
    if (candles.length === 0) await this.#requireData(id, timeframe);
    const nowSec = Math.floor(this.#now() / 1000);
    const closed = closedCandles(candles, timeframe, nowSec);
    return lookback === 0 ? [] : closed.slice(-lookback);
  }

  /**
   * Closed candles opened at or after `sinceSec`.
   *
   * @param pair Any spelling the resolver accepts.
   * @param timeframe The timeframe.
   * @param sinceSec Earliest open time, inclusive, Unix seconds.
   * @returns The candles, oldest first (empty when none is that recent).
   * @throws {NoOhlcDataError} When nothing is stored for the pair.
   */
  async getOhlcSince(
    pair: string,
    timeframe: Timeframe,
    sinceSec: number,
  ): Promise<Candle[]> {
    const id = this.#resolve(pair);
    const candles = await this.#store.since(id, timeframe, sinceSec);
    if (candles.length === 0) await this.#requireData(id, timeframe);
    return closedCandles(candles, timeframe, Math.floor(this.#now() / 1000));
  }

  async #requireData(pair: string, timeframe: Timeframe): Promise<void> {
    if (await this.#store.latestOpenTime(pair, timeframe) === null) {
      throw new NoOhlcDataError(pair, timeframe);
    }
  }

  /**
   * Backfills the store (see {@linkcode backfillOhlc}).
   *
   * @param pair Any spelling the resolver accepts.
   * @param timeframe The timeframe.
   * @param options Range, progress and trade rebuild.
   * @returns What was written.
   * @throws {TypeError} When the history has no source.
   */
  backfillOhlc(
    pair: string,
    timeframe: Timeframe,
    options: BackfillOptions = {},
  ): Promise<BackfillReport> {
    const source = this.#source;
    if (source === undefined) {
      return Promise.reject(
        new TypeError(
          `Cannot backfill "${pair}": the OHLC history has no source`,
        ),
      );
    }
    return backfillOhlc(this.#resolve(pair), timeframe, {
      ...options,
      store: this.#store,
      source,
      now: this.#now,
      ...(this.#acquire === undefined ? {} : { acquire: this.#acquire }),
    });
  }
}
