/**
 * The simulator's deterministic market: public trades, candles, the L2 book,
 * ticker and spread for every catalogue pair, all pure functions of
 * `(seed, pair, time)` evaluated lazily at the injected clock's `now()`.
 *
 * ## How the data is made
 *
 * - **Price path.** Each asset has a USD log-price made of value noise at
 *   nine time scales (1 minute … 45 days, amplitude ∝ √scale, so it looks
 *   like a random walk) around the asset's reference price. A pair's price is
 *   `base / quote` plus a small pair-specific component, so cross pairs stay
 *   consistent with USD pairs. The path can be evaluated at any minute
 *   without iterating from the beginning.
 * - **Trades.** Day `d` of a pair has `N_d` trades (hashed around the pair's
 *   `tradesPerDay`); they are spread over the day's minutes by hashed
 *   weights (so some minutes are busy and some empty), and each trade's time
 *   (µs), side, order type, volume (lot units) and price (tick units, path
 *   plus micro-noise) is hashed from `(seed, pair, minute, k)`. Trade ids are
 *   contiguous per pair: `1 + Σ N_k` over earlier days plus the position in
 *   the day. Trades exist mathematically at all times; the market shows
 *   those in `[historyStartMs, now()]`.
 * - **Candles** are aggregated from exactly those trades (cached per
 *   1440/60/15/1-minute block), so REST `OHLC` equals candles rebuilt from
 *   REST `Trades` by construction: open/close = first/last trade, high/low,
 *   volume = Σ volume, count, vwap = Σ(price×volume)/Σvolume rounded half up
 *   to `pair_decimals`. An interval without trades repeats the previous close
 *   with volume 0, count 0 and vwap 0.
 * - **Book.** Levels sit on an absolute price grid (one level per block of
 *   ticks, hashed offset), each with a quantity that changes at its own
 *   hashed period. The top of book follows the latest trade: a buy leaves the
 *   best ask at the trade price, a sell leaves the best bid there, and the
 *   other side is a hashed spread away. So Depth, Ticker `a`/`b`/`c` and
 *   Spread agree at every instant, and a moving price changes only the
 *   levels near the top.
 *
 * ## API for the WebSocket side
 *
 * - {@linkcode Market.book} — the L2 book at any instant and depth, with
 *   exact decimal text at the instrument precisions (`pair_decimals`,
 *   `lot_decimals`), as the v2 checksum needs.
 * - {@linkcode Market.tradesBetween} — trades in `(fromMs, toMs]`.
 * - {@linkcode Market.advance} — everything that changed in `(fromMs, toMs]`
 *   for one pair: new trades, the new book and the level changes to send
 *   (via {@linkcode diffBooks}). The WS layer owns the timer and calls this
 *   with consecutive windows; the result is a pure function of the window.
 * - {@linkcode Market.candles}, {@linkcode Market.ticker} for `ohlc` and
 *   `ticker` channels; {@linkcode Market.pairs} / {@linkcode Market.pair} for
 *   `instrument` (precisions, `ordermin`, `costmin`, tick size).
 *
 * @module
 */

import { normal, unit } from "./prng.ts";
import { divideRounded, formatUnits, pow10 } from "./units.ts";
import { type SimAsset, SimCatalogue, type SimPair } from "./pairs.ts";
import { hashText } from "./prng.ts";

const MINUTE_MS = 60_000;
const MINUTE_US = 60_000_000;
const DAY_MIN = 1440;
const DAY_MS = 86_400_000;
/** Trade offsets stay 1 ms clear of the next minute, so `floor(time / 60)` is safe in float. */
const MINUTE_SPAN_US = 59_999_000;

/** Value-noise scales of the price path, in minutes (1 min … ≈45 days). */
const SCALES_MIN = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];
/** Cached block sizes for candle aggregation, largest first. */
const BLOCK_MIN = [1440, 60, 15, 1];

/** Candle intervals Kraken accepts, in minutes (REST.md §6). */
export const OHLC_INTERVALS: readonly number[] = Object.freeze([
  1,
  5,
  15,
  30,
  60,
  240,
  1440,
  10080,
  21600,
]);

// Hash channels: one constant per independent random quantity.
const CH_PATH = 11;
const CH_PAIR_PATH = 12;
const CH_DAY_COUNT = 13;
const CH_WEIGHT = 14;
const CH_TIME = 15;
const CH_SUB_US = 16;
const CH_SIDE = 17;
const CH_TYPE = 18;
const CH_VOLUME = 19;
const CH_BIG = 20;
const CH_MICRO = 21;
const CH_SPREAD = 22;
const CH_LEVEL_AT = 23;
const CH_LEVEL_PERIOD = 24;
const CH_LEVEL_PHASE = 25;
const CH_LEVEL_QTY = 26;
const CH_LEVEL_WALL = 27;

/** One public trade. Prices and volumes are integer units of the pair's decimals. */
export interface SimTrade {
  /** REST pair key. */
  readonly pair: string;
  /** Trade id, contiguous and increasing per pair. */
  readonly tradeId: number;
  /** Microseconds since the Unix epoch (exact). */
  readonly timeUs: number;
  /** Nanoseconds since the Unix epoch: the `Trades` `last` cursor. */
  readonly timeNs: bigint;
  /** Price in units of `10^-pair_decimals`. */
  readonly priceUnits: number;
  /** Volume in units of `10^-lot_decimals`. */
  readonly volumeUnits: number;
  /** Taker side. */
  readonly side: "b" | "s";
  /** Taker order type: market or limit. */
  readonly orderType: "m" | "l";
}

/** An exact aggregate of trades (candle body). */
export interface TradeAggregate {
  /** Number of trades. */
  readonly count: number;
  /** Σ volume in lot units. */
  readonly volume: bigint;
  /** Σ price×volume in (price units × lot units). */
  readonly pv: bigint;
  /** First trade's price (units). */
  readonly open: number;
  /** Highest price (units). */
  readonly high: number;
  /** Lowest price (units). */
  readonly low: number;
  /** Last trade's price (units). */
  readonly close: number;
}

/** One candle, with wire text and units. */
export interface Candle {
  /** Interval start, Unix seconds. */
  readonly time: number;
  /** Interval in minutes. */
  readonly intervalMin: number;
  /** Open price text (`pair_decimals`). */
  readonly open: string;
  /** High price text. */
  readonly high: string;
  /** Low price text. */
  readonly low: string;
  /** Close price text. */
  readonly close: string;
  /** VWAP text (`pair_decimals`; `0` when there were no trades). */
  readonly vwap: string;
  /** Volume text (`lot_decimals`). */
  readonly volume: string;
  /** Number of trades. */
  readonly count: number;
  /** Whether the interval has not ended yet at the evaluation time. */
  readonly forming: boolean;
}

/** One L2 level. */
export interface BookLevel {
  /** Price text at `pair_decimals` (the v2 `price_precision`). */
  readonly price: string;
  /** Quantity text at `lot_decimals` (the v2 `qty_precision`). */
  readonly qty: string;
  /** Price in tick units. */
  readonly priceUnits: number;
  /** Quantity in lot units. */
  readonly qtyUnits: number;
  /** When the level last changed, ms since the epoch. */
  readonly updatedMs: number;
}

/** An L2 book snapshot: asks ascending, bids descending. */
export interface BookSnapshot {
  /** REST pair key. */
  readonly pair: string;
  /** The instant it describes, ms. */
  readonly atMs: number;
  /** Asks, best (lowest) first. */
  readonly asks: readonly BookLevel[];
  /** Bids, best (highest) first. */
  readonly bids: readonly BookLevel[];
}

/** Levels to send to go from one book to the next (`qty` zero = delete). */
export interface BookChanges {
  /** Changed ask levels, in book order. */
  readonly asks: readonly BookLevel[];
  /** Changed bid levels, in book order. */
  readonly bids: readonly BookLevel[];
}

/** Ticker values at one instant (REST `Ticker` semantics). */
export interface TickerSnapshot {
  /** REST pair key. */
  readonly pair: string;
  /** Best ask level. */
  readonly ask: BookLevel;
  /** Best bid level. */
  readonly bid: BookLevel;
  /** Latest trade (possibly before the history start). */
  readonly last: SimTrade;
  /** Since 00:00 UTC. */
  readonly today: TradeAggregate | undefined;
  /** Rolling 24 h. */
  readonly day: TradeAggregate | undefined;
}

/** Everything that changed for one pair in a window. */
export interface MarketStep {
  /** Trades with `fromMs < time ≤ toMs`, oldest first. */
  readonly trades: readonly SimTrade[];
  /** The book at `toMs`. */
  readonly book: BookSnapshot;
  /** Level changes from the book at `fromMs` to the book at `toMs`. */
  readonly changes: BookChanges;
}

/** Options of {@linkcode Market}. */
export interface MarketOptions {
  /** Seed of every random quantity (default 1). */
  seed?: number;
  /** The clock, ms since the epoch (default `Date.now`). */
  now?: () => number;
  /**
   * Days of visible history before the clock's time at creation, counted
   * from 00:00 UTC (default 40: enough for 720 hourly candles and a 30-day
   * 1-minute backfill from Trades).
   */
  historyDays?: number;
  /** Override the visible-history start, ms (wins over `historyDays`). */
  historyStartMs?: number;
  /** The pairs and assets it trades (default: the standard catalogue). */
  catalogue?: SimCatalogue;
}

interface PairModel {
  readonly pair: SimPair;
  readonly base: SimAsset;
  readonly quote: SimAsset;
  readonly baseSalt: number;
  readonly quoteSalt: number;
  /** Volatility of the pair-specific component. */
  readonly pairVolatility: number;
  /** Micro-noise around the path per trade (log units). */
  readonly microSigma: number;
  /** Typical trade volume in base units. */
  readonly tradeVolume: number;
  /** Typical spread in ticks (≥ 1). */
  readonly spreadTicks: number;
  /** Ticks per book-level block (≥ 1). */
  readonly levelBlock: number;
  /** `10^pair_decimals`. */
  readonly priceScale: number;
  /** `10^lot_decimals`. */
  readonly lotScale: number;
  /** Cumulative trade counts per day since 1970 (grown on demand). */
  dayIds: Float64Array;
  dayIdsLength: number;
}

interface LastTrade {
  readonly trade: SimTrade;
}

class BoundedMap<K, V> {
  #map = new Map<K, V>();
  #cap: number;
  constructor(cap: number) {
    this.#cap = cap;
  }
  get(key: K): V | undefined {
    return this.#map.get(key);
  }
  set(key: K, value: V): void {
    if (this.#map.size >= this.#cap) {
      const first = this.#map.keys().next();
      if (!first.done) this.#map.delete(first.value);
    }
    this.#map.set(key, value);
  }
}

const EMPTY: readonly SimTrade[] = Object.freeze([]);

interface Store {
  dayPrefix: BoundedMap<string, Uint32Array>;
  minuteTrades: BoundedMap<string, readonly SimTrade[]>;
  blocks: BoundedMap<string, TradeAggregate | null>;
}

const STORES = new Map<number, Store>();

function storeFor(seed: number): Store {
  let store = STORES.get(seed);
  if (!store) {
    if (STORES.size >= 4) STORES.delete(STORES.keys().next().value!);
    store = {
      dayPrefix: new BoundedMap(4096),
      minuteTrades: new BoundedMap(20_000),
      blocks: new BoundedMap(400_000),
    };
    STORES.set(seed, store);
  }
  return store;
}

/**
 * The deterministic market. Create one per simulator; every method is a
 * pure function of the seed, the pair and the time it is asked about (the
 * caches only save work).
 *
 * @example Query the market at a fixed time
 * ```ts
 * import { Market } from "./market.ts";
 * const market = new Market({ seed: 7, now: () => Date.UTC(2025, 0, 10) });
 * const book = market.book("XBTUSD", { depth: 10 });
 * const candles = market.candles("XBTUSD", 60, { count: 24 });
 * const trades = market.tradesBetween("XBTUSD", Date.UTC(2025, 0, 9, 23), Date.UTC(2025, 0, 10));
 * ```
 */
export class Market {
  #seed: number;
  #now: () => number;
  #historyStartMs: number;
  #catalogue: SimCatalogue;
  #models = new Map<string, PairModel>();
  #dayPrefix: BoundedMap<string, Uint32Array>;
  #minuteTrades: BoundedMap<string, readonly SimTrade[]>;
  #blocks: BoundedMap<string, TradeAggregate | null>;

  /**
   * Create the market.
   *
   * @param options Seed, clock, history depth and catalogue.
   */
  constructor(options: MarketOptions = {}) {
    this.#seed = Math.trunc(options.seed ?? 1);
    this.#now = options.now ?? Date.now;
    this.#catalogue = options.catalogue ?? SimCatalogue.standard();
    // Everything cached is a pure function of the seed, so markets with the
    // same seed (e.g. one per test) share the work.
    const store = storeFor(this.#seed);
    this.#dayPrefix = store.dayPrefix;
    this.#minuteTrades = store.minuteTrades;
    this.#blocks = store.blocks;
    const startNow = this.#now();
    this.#historyStartMs = options.historyStartMs ??
      Math.floor(startNow / DAY_MS) * DAY_MS -
        (options.historyDays ?? 40) * DAY_MS;
  }

  /** The seed. */
  get seed(): number {
    return this.#seed;
  }

  /** The clock (ms since the epoch). */
  now(): number {
    return this.#now();
  }

  /** Start of visible history, ms since the epoch. */
  get historyStartMs(): number {
    return this.#historyStartMs;
  }

  /** The catalogue: every pair and asset this market lists. */
  get catalogue(): SimCatalogue {
    return this.#catalogue;
  }

  /** Every pair of the catalogue. */
  get pairs(): readonly SimPair[] {
    return this.#catalogue.pairs;
  }

  /**
   * Resolve a pair of the catalogue from any spelling (key, altname,
   * wsname, v2 symbol).
   *
   * @param name The spelling.
   * @returns The pair, or `undefined`.
   */
  pair(name: string): SimPair | undefined {
    return this.#catalogue.resolvePair(name);
  }

  // -------------------------------------------------------------------------
  // Prices

  /**
   * The model price (before tick rounding and micro-noise) at an instant.
   * Useful to seed account history at realistic prices.
   *
   * @param pairName Any spelling of the pair.
   * @param atMs The instant, ms.
   * @returns The price in quote units.
   * @throws {RangeError} For an unknown pair.
   */
  modelPrice(pairName: string, atMs: number): number {
    const model = this.#model(pairName);
    return Math.exp(this.#logPrice(model, atMs / MINUTE_MS));
  }

  /**
   * The last trade price at an instant, in quote units (the latest trade at
   * or before `atMs`, visible or not).
   *
   * @param pairName Any spelling of the pair.
   * @param atMs The instant (default now).
   * @returns The price.
   * @throws {RangeError} For an unknown pair.
   */
  lastPrice(pairName: string, atMs: number = this.#now()): number {
    const model = this.#model(pairName);
    return this.#lastTrade(model, atMs * 1000).trade.priceUnits /
      model.priceScale;
  }

  // -------------------------------------------------------------------------
  // Trades

  /**
   * Trades with `fromMs < time ≤ toMs` (clamped to visible history and to
   * now), oldest first.
   *
   * @param pairName Any spelling of the pair.
   * @param fromMs Exclusive start, ms.
   * @param toMs Inclusive end, ms (clamped to now).
   * @returns The trades.
   * @throws {RangeError} For an unknown pair.
   */
  tradesBetween(pairName: string, fromMs: number, toMs: number): SimTrade[] {
    const model = this.#model(pairName);
    const endUs = Math.min(toMs, this.#now()) * 1000;
    const startUs = Math.max(fromMs * 1000, this.#historyStartMs * 1000 - 1);
    const out: SimTrade[] = [];
    if (endUs <= startUs) return out;
    const lastMinute = Math.floor(endUs / MINUTE_US);
    for (let m = Math.floor((startUs + 1) / MINUTE_US); m <= lastMinute; m++) {
      for (const t of this.#minute(model, m)) {
        if (t.timeUs > startUs && t.timeUs <= endUs) out.push(t);
      }
    }
    return out;
  }

  /**
   * A page of the REST `Trades` endpoint: without `sinceNs`, the newest
   * `count` visible trades; with it, the first `count` visible trades after
   * `sinceNs` (exclusive). Oldest first either way.
   *
   * @param pairName Any spelling of the pair.
   * @param options `sinceNs` cursor and `count` (default 1000).
   * @returns The trades and the `last` cursor (ns; echoes `sinceNs` when empty).
   * @throws {RangeError} For an unknown pair.
   */
  tradesPage(
    pairName: string,
    options: { sinceNs?: bigint; count?: number } = {},
  ): { trades: SimTrade[]; lastNs: bigint } {
    const model = this.#model(pairName);
    const count = options.count ?? 1000;
    const nowUs = this.#now() * 1000;
    const historyUs = this.#historyStartMs * 1000;
    const trades: SimTrade[] = [];
    if (options.sinceNs === undefined) {
      const firstMinute = Math.floor(historyUs / MINUTE_US);
      for (
        let m = Math.floor(nowUs / MINUTE_US);
        m >= firstMinute && trades.length < count;
        m--
      ) {
        const minute = this.#minute(model, m);
        for (let i = minute.length - 1; i >= 0 && trades.length < count; i--) {
          const t = minute[i]!;
          if (t.timeUs <= nowUs && t.timeUs >= historyUs) trades.push(t);
        }
        if (minute.length === 0) m = this.#skipEmptyBack(model, m, firstMinute);
      }
      trades.reverse();
      const lastNs = trades.at(-1)?.timeNs ?? BigInt(nowUs) * 1000n;
      return { trades, lastNs };
    }
    const since = options.sinceNs;
    const lastMinute = Math.floor(nowUs / MINUTE_US);
    const startNs = since < BigInt(historyUs) * 1000n
      ? BigInt(historyUs) * 1000n - 1n
      : since;
    for (
      let m = Number(startNs / 60_000_000_000n);
      m <= lastMinute && trades.length < count;
      m++
    ) {
      const minute = this.#minute(model, m);
      for (const t of minute) {
        if (trades.length >= count) break;
        if (t.timeNs > startNs && t.timeUs <= nowUs) trades.push(t);
      }
      if (minute.length === 0) m = this.#skipEmptyForward(model, m, lastMinute);
    }
    return { trades, lastNs: trades.at(-1)?.timeNs ?? since };
  }

  // -------------------------------------------------------------------------
  // Candles and aggregates

  /**
   * Exact aggregate of visible trades with `fromMs ≤ time < toMs` (clamped
   * to history and now).
   *
   * @param pairName Any spelling of the pair.
   * @param fromMs Inclusive start, ms.
   * @param toMs Exclusive end, ms.
   * @returns The aggregate, or `undefined` when there were no trades.
   * @throws {RangeError} For an unknown pair.
   */
  aggregate(
    pairName: string,
    fromMs: number,
    toMs: number,
  ): TradeAggregate | undefined {
    const model = this.#model(pairName);
    return this.#aggregateUs(model, fromMs * 1000, toMs * 1000) ?? undefined;
  }

  /**
   * The most recent candles of an interval, oldest first, ending with the
   * candle that contains `atMs` (still forming). Candles start at multiples
   * of the interval since the epoch; none start before the history start's
   * interval. Empty intervals repeat the previous close (volume 0, count 0,
   * vwap 0).
   *
   * @param pairName Any spelling of the pair.
   * @param intervalMin One of {@linkcode OHLC_INTERVALS}.
   * @param options `count` (default 720) and `atMs` (default now).
   * @returns The candles.
   * @throws {RangeError} For an unknown pair or interval.
   */
  candles(
    pairName: string,
    intervalMin: number,
    options: { count?: number; atMs?: number } = {},
  ): Candle[] {
    const model = this.#model(pairName);
    if (!OHLC_INTERVALS.includes(intervalMin)) {
      throw new RangeError(`Unknown OHLC interval: ${intervalMin}`);
    }
    const atMs = Math.min(options.atMs ?? this.#now(), this.#now());
    const count = options.count ?? 720;
    const spanMs = intervalMin * MINUTE_MS;
    const formingStart = Math.floor(atMs / spanMs) * spanMs;
    const firstAllowed = Math.floor(this.#historyStartMs / spanMs) * spanMs;
    const firstStart = Math.max(
      firstAllowed,
      formingStart - (count - 1) * spanMs,
    );
    const out: Candle[] = [];
    if (formingStart < firstAllowed) return out;
    const d = model.pair.pairDecimals;
    const lot = model.pair.lotDecimals;
    let prevClose: number | undefined;
    for (let start = firstStart; start <= formingStart; start += spanMs) {
      const endUs = Math.min((start + spanMs) * 1000, atMs * 1000 + 1);
      const agg = this.#aggregateUs(model, start * 1000, endUs);
      if (agg) {
        out.push({
          time: start / 1000,
          intervalMin,
          open: formatUnits(agg.open, d),
          high: formatUnits(agg.high, d),
          low: formatUnits(agg.low, d),
          close: formatUnits(agg.close, d),
          vwap: formatUnits(vwapUnits(agg, 0), d),
          volume: formatUnits(agg.volume, lot),
          count: agg.count,
          forming: start === formingStart,
        });
        prevClose = agg.close;
      } else {
        prevClose ??= this.#lastTrade(model, start * 1000 - 1).trade.priceUnits;
        const close = formatUnits(prevClose, d);
        out.push({
          time: start / 1000,
          intervalMin,
          open: close,
          high: close,
          low: close,
          close,
          vwap: formatUnits(0, d),
          volume: formatUnits(0, lot),
          count: 0,
          forming: start === formingStart,
        });
      }
    }
    return out;
  }

  // -------------------------------------------------------------------------
  // Book, ticker, spread

  /**
   * The L2 book at an instant: `depth` levels per side (1–1000), asks
   * ascending and bids descending, consistent with the latest trade.
   *
   * @param pairName Any spelling of the pair.
   * @param options `depth` (default 10) and `atMs` (default now).
   * @returns The snapshot.
   * @throws {RangeError} For an unknown pair.
   */
  book(
    pairName: string,
    options: { depth?: number; atMs?: number } = {},
  ): BookSnapshot {
    const model = this.#model(pairName);
    const atMs = options.atMs ?? this.#now();
    const depth = Math.max(1, Math.min(options.depth ?? 10, 1000));
    const last = this.#lastTrade(model, atMs * 1000).trade;
    const { bestBid, bestAsk } = this.#top(model, last);
    const asks: BookLevel[] = [];
    const bids: BookLevel[] = [];
    const topMs = last.timeUs / 1000;
    asks.push(this.#level(model, bestAsk, atMs, topMs));
    for (let i = bestAsk + 1; asks.length < depth;) {
      const next = this.#nextLevelUp(model, i);
      asks.push(this.#level(model, next, atMs, 0));
      i = next + 1;
    }
    bids.push(this.#level(model, bestBid, atMs, topMs));
    for (let i = bestBid - 1; bids.length < depth && i >= 1;) {
      const next = this.#nextLevelDown(model, i);
      if (next < 1) break;
      bids.push(this.#level(model, next, atMs, 0));
      i = next - 1;
    }
    return { pair: model.pair.key, atMs, asks, bids };
  }

  /**
   * Ticker values at an instant: best bid/ask, last trade, today's (since
   * 00:00 UTC) and rolling 24 h aggregates.
   *
   * @param pairName Any spelling of the pair.
   * @param atMs The instant (default now).
   * @returns The snapshot.
   * @throws {RangeError} For an unknown pair.
   */
  ticker(pairName: string, atMs: number = this.#now()): TickerSnapshot {
    const model = this.#model(pairName);
    const book = this.book(model.pair.key, { depth: 1, atMs });
    const last = this.#lastTrade(model, atMs * 1000).trade;
    const endUs = atMs * 1000 + 1;
    const dayStartMs = Math.floor(atMs / DAY_MS) * DAY_MS;
    return {
      pair: model.pair.key,
      ask: book.asks[0]!,
      bid: book.bids[0]!,
      last,
      today: this.#aggregateUs(model, dayStartMs * 1000, endUs) ?? undefined,
      day: this.#aggregateUs(model, (atMs - DAY_MS) * 1000 + 1, endUs) ??
        undefined,
    };
  }

  /**
   * Recent top-of-book changes (each trade moves the top), oldest first:
   * at most `limit` rows, from the last 24 h, consecutive duplicates removed.
   *
   * @param pairName Any spelling of the pair.
   * @param options `limit` (default 200) and `atMs` (default now).
   * @returns Rows of `{timeMs, bidUnits, askUnits}`.
   * @throws {RangeError} For an unknown pair.
   */
  spreads(
    pairName: string,
    options: { limit?: number; atMs?: number } = {},
  ): Array<{ timeMs: number; bidUnits: number; askUnits: number }> {
    const model = this.#model(pairName);
    const atMs = options.atMs ?? this.#now();
    const limit = options.limit ?? 200;
    const nowUs = atMs * 1000;
    const floorMinute = Math.floor(
      Math.max(atMs - DAY_MS, this.#historyStartMs) / MINUTE_MS,
    );
    const rows: Array<{ timeMs: number; bidUnits: number; askUnits: number }> =
      [];
    for (
      let m = Math.floor(nowUs / MINUTE_US);
      m >= floorMinute && rows.length < limit;
      m--
    ) {
      const minute = this.#minute(model, m);
      for (let i = minute.length - 1; i >= 0 && rows.length < limit; i--) {
        const t = minute[i]!;
        if (t.timeUs > nowUs) continue;
        const { bestBid, bestAsk } = this.#top(model, t);
        const newest = rows.at(-1);
        if (
          newest && newest.bidUnits === bestBid && newest.askUnits === bestAsk
        ) {
          // Same top as the later row: the change happened earlier.
          newest.timeMs = t.timeUs / 1000;
          continue;
        }
        rows.push({
          timeMs: t.timeUs / 1000,
          bidUnits: bestBid,
          askUnits: bestAsk,
        });
      }
      if (minute.length === 0) m = this.#skipEmptyBack(model, m, floorMinute);
    }
    return rows.reverse();
  }

  /**
   * What changed for one pair in `(fromMs, toMs]`: new trades, the book at
   * `toMs` and the level changes from the book at `fromMs` (both at
   * `depth`). The WS layer calls this with consecutive windows.
   *
   * @param pairName Any spelling of the pair.
   * @param options Window and book depth (default 10).
   * @returns The step.
   * @throws {RangeError} For an unknown pair.
   * @example Stream one pair
   * ```ts
   * import { Market } from "./market.ts";
   * let t = Date.UTC(2025, 0, 10);
   * const market = new Market({ seed: 1, now: () => t });
   * const before = t;
   * t += 1000;
   * const step = market.advance("BTC/USD", { fromMs: before, toMs: t, depth: 10 });
   * step.trades; step.changes.asks; step.book.bids;
   * ```
   */
  advance(
    pairName: string,
    options: { fromMs: number; toMs: number; depth?: number },
  ): MarketStep {
    const depth = options.depth ?? 10;
    const before = this.book(pairName, { depth, atMs: options.fromMs });
    const after = this.book(pairName, { depth, atMs: options.toMs });
    return {
      trades: this.tradesBetween(pairName, options.fromMs, options.toMs),
      book: after,
      changes: diffBooks(before, after),
    };
  }

  // -------------------------------------------------------------------------
  // Internals

  #model(name: string): PairModel {
    const pair = this.#catalogue.resolvePair(name);
    if (!pair) throw new RangeError(`Unknown asset pair: ${name}`);
    let model = this.#models.get(pair.key);
    if (!model) {
      const base = this.#catalogue.asset(pair.base)!;
      const quote = this.#catalogue.asset(pair.quote)!;
      const price = this.#catalogue.referencePrice(pair);
      const tick = 10 ** -pair.pairDecimals;
      const spreadTicks = Math.max(
        1,
        Math.round((price * pair.spreadBps * 1e-4) / tick),
      );
      model = {
        pair,
        base,
        quote,
        baseSalt: hashText(base.key),
        quoteSalt: hashText(quote.key),
        pairVolatility: 0.08 *
          Math.max(base.dailyVolatility, quote.dailyVolatility),
        microSigma: pair.spreadBps * 1e-4 * 1.5,
        tradeVolume: pair.tradeUsd / base.usdPrice,
        spreadTicks,
        levelBlock: spreadTicks,
        priceScale: 10 ** pair.pairDecimals,
        lotScale: 10 ** pair.lotDecimals,
        dayIds: new Float64Array(0),
        dayIdsLength: 0,
      };
      this.#models.set(pair.key, model);
    }
    return model;
  }

  #assetLog(asset: SimAsset, salt: number, tMin: number): number {
    if (asset.dailyVolatility === 0) return Math.log(asset.usdPrice || 1);
    let sum = 0;
    for (const scale of SCALES_MIN) {
      sum += Math.sqrt(scale / DAY_MIN) *
        valueNoise(this.#seed, CH_PATH, salt, scale, tMin);
    }
    return Math.log(asset.usdPrice) + 0.45 * asset.dailyVolatility * sum;
  }

  #logPrice(model: PairModel, tMin: number): number {
    let own = 0;
    for (const scale of [1, 16, 256]) {
      own += Math.sqrt(scale / DAY_MIN) *
        valueNoise(this.#seed, CH_PAIR_PATH, model.pair.index, scale, tMin);
    }
    return this.#assetLog(model.base, model.baseSalt, tMin) -
      this.#assetLog(model.quote, model.quoteSalt, tMin) +
      model.pairVolatility * own;
  }

  #dayCount(model: PairModel, day: number): number {
    const u = unit(this.#seed, CH_DAY_COUNT, model.pair.index, day);
    return Math.round(model.pair.tradesPerDay * (0.5 + u));
  }

  /** Id of the first trade of `day` minus one. */
  #dayIdBase(model: PairModel, day: number): number {
    if (day <= 0) return 0;
    if (model.dayIdsLength < day + 1) {
      const size = Math.max(day + 1, model.dayIds.length * 2, 1024);
      const next = new Float64Array(size);
      next.set(model.dayIds.subarray(0, model.dayIdsLength));
      let k = model.dayIdsLength;
      if (k === 0) {
        next[0] = 0;
        k = 1;
      }
      for (; k < size; k++) {
        next[k] = next[k - 1]! + this.#dayCount(model, k - 1);
      }
      model.dayIds = next;
      model.dayIdsLength = size;
    }
    return model.dayIds[day]!;
  }

  /** Cumulative trade counts at each minute of the day (length 1441). */
  #prefix(model: PairModel, day: number): Uint32Array {
    const key = `${model.pair.index}:${day}`;
    let prefix = this.#dayPrefix.get(key);
    if (prefix) return prefix;
    const total = this.#dayCount(model, day);
    const weights = new Float64Array(DAY_MIN);
    let sum = 0;
    const firstMinute = day * DAY_MIN;
    for (let m = 0; m < DAY_MIN; m++) {
      // Busier in US/EU hours, clustered activity, some dead minutes.
      const profile = 1 + 0.5 * Math.sin((2 * Math.PI * (m - 780)) / DAY_MIN);
      const w = profile *
        Math.exp(
          1.4 *
            normal(this.#seed, CH_WEIGHT, model.pair.index, firstMinute + m),
        );
      weights[m] = w;
      sum += w;
    }
    prefix = new Uint32Array(DAY_MIN + 1);
    let acc = 0;
    for (let m = 0; m < DAY_MIN; m++) {
      acc += weights[m]!;
      prefix[m + 1] = m === DAY_MIN - 1
        ? total
        : Math.floor((total * acc) / sum);
    }
    this.#dayPrefix.set(key, prefix);
    return prefix;
  }

  #minuteCount(model: PairModel, minute: number): number {
    const day = Math.floor(minute / DAY_MIN);
    const prefix = this.#prefix(model, day);
    const m = minute - day * DAY_MIN;
    return prefix[m + 1]! - prefix[m]!;
  }

  /** Every trade of one minute (not filtered by now or history). */
  #minute(model: PairModel, minute: number): readonly SimTrade[] {
    const key = `${model.pair.index}:${minute}`;
    const cached = this.#minuteTrades.get(key);
    if (cached) return cached;
    const day = Math.floor(minute / DAY_MIN);
    const prefix = this.#prefix(model, day);
    const m = minute - day * DAY_MIN;
    const count = prefix[m + 1]! - prefix[m]!;
    if (count === 0) {
      this.#minuteTrades.set(key, EMPTY);
      return EMPTY;
    }
    const seed = this.#seed;
    const idx = model.pair.index;
    const firstId = this.#dayIdBase(model, day) + prefix[m]! + 1;
    const offsets: number[] = [];
    for (let k = 0; k < count; k++) {
      offsets.push(
        Math.floor(unit(seed, CH_TIME, idx, minute, k) * MINUTE_SPAN_US),
      );
    }
    offsets.sort((a, b) => a - b);
    for (let k = 1; k < count; k++) {
      if (offsets[k]! <= offsets[k - 1]!) offsets[k] = offsets[k - 1]! + 1;
    }
    const l0 = this.#logPrice(model, minute);
    const l1 = this.#logPrice(model, minute + 1);
    const rising = l1 >= l0;
    const trades: SimTrade[] = [];
    for (let k = 0; k < count; k++) {
      const offsetUs = offsets[k]!;
      const frac = offsetUs / MINUTE_US;
      const logP = l0 + (l1 - l0) * frac +
        model.microSigma * normal(seed, CH_MICRO, idx, minute * 64 + k);
      const priceUnits = Math.max(
        1,
        Math.round(Math.exp(logP) * model.priceScale),
      );
      const big = unit(seed, CH_BIG, idx, minute, k) < 0.04 ? 6 : 1;
      const volume = model.tradeVolume * big *
        Math.exp(0.9 * normal(seed, CH_VOLUME, idx, minute * 64 + k));
      const volumeUnits = Math.max(1, Math.round(volume * model.lotScale));
      const buyShare = rising ? 0.6 : 0.4;
      const timeUs = minute * MINUTE_US + offsetUs;
      trades.push({
        pair: model.pair.key,
        tradeId: firstId + k,
        timeUs,
        timeNs: BigInt(timeUs) * 1000n +
          BigInt(Math.floor(unit(seed, CH_SUB_US, idx, minute, k) * 1000)),
        priceUnits,
        volumeUnits,
        side: unit(seed, CH_SIDE, idx, minute, k) < buyShare ? "b" : "s",
        orderType: unit(seed, CH_TYPE, idx, minute, k) < 0.3 ? "l" : "m",
      });
    }
    this.#minuteTrades.set(key, trades);
    return trades;
  }

  /** Skip back over empty minutes; returns the minute before the next busy one (loop does m--). */
  #skipEmptyBack(
    model: PairModel,
    minute: number,
    floorMinute: number,
  ): number {
    let m = minute - 1;
    while (m >= floorMinute && this.#minuteCount(model, m) === 0) m--;
    return m + 1;
  }

  #skipEmptyForward(
    model: PairModel,
    minute: number,
    lastMinute: number,
  ): number {
    let m = minute + 1;
    while (m <= lastMinute && this.#minuteCount(model, m) === 0) m++;
    return m - 1;
  }

  /** The latest trade at or before `atUs` (visible or not). */
  #lastTrade(model: PairModel, atUs: number): LastTrade {
    let m = Math.floor(atUs / MINUTE_US);
    // Bounded search: even the quietest pair trades every few hours.
    for (let steps = 0; steps < 60 * DAY_MIN; steps++, m--) {
      if (this.#minuteCount(model, m) === 0) continue;
      const minute = this.#minute(model, m);
      for (let i = minute.length - 1; i >= 0; i--) {
        if (minute[i]!.timeUs <= atUs) return { trade: minute[i]! };
      }
    }
    throw new RangeError(`No trade found before ${atUs} for ${model.pair.key}`);
  }

  #top(model: PairModel, last: SimTrade): { bestBid: number; bestAsk: number } {
    const jitter = 0.4 +
      1.2 * unit(this.#seed, CH_SPREAD, model.pair.index, last.tradeId);
    const spread = Math.max(1, Math.round(model.spreadTicks * jitter));
    const price = last.priceUnits;
    if (last.side === "b") {
      return { bestAsk: price, bestBid: Math.max(1, price - spread) };
    }
    return { bestBid: price, bestAsk: price + spread };
  }

  #levelIn(model: PairModel, block: number): number {
    const size = model.levelBlock;
    return block * size +
      (hashOffset(this.#seed, model.pair.index, block) % size);
  }

  /** Smallest level price ≥ `from`. */
  #nextLevelUp(model: PairModel, from: number): number {
    const size = model.levelBlock;
    let block = Math.floor(from / size);
    for (;;) {
      const at = this.#levelIn(model, block);
      if (at >= from) return at;
      block++;
    }
  }

  /** Largest level price ≤ `from` (may be < 1 when the grid runs out). */
  #nextLevelDown(model: PairModel, from: number): number {
    const size = model.levelBlock;
    let block = Math.floor(from / size);
    for (;;) {
      const at = this.#levelIn(model, block);
      if (at <= from) return at;
      block--;
      if (block < 0) return 0;
    }
  }

  #level(
    model: PairModel,
    priceUnits: number,
    atMs: number,
    minUpdatedMs: number,
  ): BookLevel {
    const seed = this.#seed;
    const idx = model.pair.index;
    const periodMs = 4_000 +
      Math.floor(unit(seed, CH_LEVEL_PERIOD, idx, priceUnits) * 56_000);
    const phaseMs = Math.floor(
      unit(seed, CH_LEVEL_PHASE, idx, priceUnits) * periodMs,
    );
    const epoch = Math.floor((atMs + phaseMs) / periodMs);
    const wall = unit(seed, CH_LEVEL_WALL, idx, priceUnits, epoch) < 0.05
      ? 8
      : 1;
    const qty = model.tradeVolume * 1.5 * wall *
      Math.exp(normal(seed, CH_LEVEL_QTY + idx * 64, priceUnits, epoch));
    const qtyUnits = Math.max(1, Math.round(qty * model.lotScale));
    const updatedMs = Math.max(
      epoch * periodMs - phaseMs,
      Math.floor(minUpdatedMs),
    );
    return {
      price: formatUnits(priceUnits, model.pair.pairDecimals),
      qty: formatUnits(qtyUnits, model.pair.lotDecimals),
      priceUnits,
      qtyUnits,
      updatedMs,
    };
  }

  /** Aggregate of trades with `fromUs ≤ time < toUs`, clamped to history and now. */
  #aggregateUs(
    model: PairModel,
    fromUs: number,
    toUs: number,
  ): TradeAggregate | null {
    const lo = Math.max(fromUs, this.#historyStartMs * 1000);
    const hi = Math.min(toUs, this.#now() * 1000 + 1);
    if (hi <= lo) return null;
    const firstFull = Math.ceil(lo / MINUTE_US);
    const lastFull = Math.floor(hi / MINUTE_US); // exclusive
    if (firstFull >= lastFull) return this.#partial(model, lo, hi);
    let agg = this.#partial(model, lo, firstFull * MINUTE_US);
    agg = merge(agg, this.#wholeMinutes(model, firstFull, lastFull));
    return merge(agg, this.#partial(model, lastFull * MINUTE_US, hi));
  }

  #partial(
    model: PairModel,
    fromUs: number,
    toUs: number,
  ): TradeAggregate | null {
    if (toUs <= fromUs) return null;
    let agg: TradeAggregate | null = null;
    for (let m = Math.floor(fromUs / MINUTE_US); m * MINUTE_US < toUs; m++) {
      for (const t of this.#minute(model, m)) {
        if (t.timeUs >= fromUs && t.timeUs < toUs) agg = merge(agg, single(t));
      }
    }
    return agg;
  }

  #wholeMinutes(
    model: PairModel,
    from: number,
    to: number,
  ): TradeAggregate | null {
    let agg: TradeAggregate | null = null;
    let m = from;
    while (m < to) {
      const size = BLOCK_MIN.find((s) => m % s === 0 && m + s <= to) ?? 1;
      agg = merge(agg, this.#block(model, size, m));
      m += size;
    }
    return agg;
  }

  #block(model: PairModel, size: number, start: number): TradeAggregate | null {
    if (size === 1) {
      let agg: TradeAggregate | null = null;
      for (const t of this.#minute(model, start)) agg = merge(agg, single(t));
      return agg;
    }
    const key = `${model.pair.index}:${size}:${start}`;
    const cached = this.#blocks.get(key);
    if (cached !== undefined) return cached;
    const smaller = BLOCK_MIN[BLOCK_MIN.indexOf(size) + 1] ?? 1;
    let agg: TradeAggregate | null = null;
    for (let m = start; m < start + size; m += smaller) {
      agg = merge(agg, this.#block(model, smaller, m));
    }
    this.#blocks.set(key, agg);
    return agg;
  }
}

function valueNoise(
  seed: number,
  channel: number,
  salt: number,
  scale: number,
  tMin: number,
): number {
  const x = tMin / scale;
  const k = Math.floor(x);
  const f = x - k;
  const a = unit(seed, channel, salt, scale, k) * 2 - 1;
  const b = unit(seed, channel, salt, scale, k + 1) * 2 - 1;
  const s = f * f * (3 - 2 * f);
  return a + (b - a) * s;
}

function hashOffset(seed: number, index: number, block: number): number {
  return Math.floor(unit(seed, CH_LEVEL_AT, index, block) * 2 ** 31);
}

function single(t: SimTrade): TradeAggregate {
  const volume = BigInt(t.volumeUnits);
  return {
    count: 1,
    volume,
    pv: volume * BigInt(t.priceUnits),
    open: t.priceUnits,
    high: t.priceUnits,
    low: t.priceUnits,
    close: t.priceUnits,
  };
}

/**
 * Merge two aggregates, `a` covering earlier trades than `b`.
 *
 * @param a The earlier aggregate (or `null`/`undefined` for none).
 * @param b The later aggregate (or `null`/`undefined` for none).
 * @returns The combined aggregate, `null` when both are empty.
 * @example Merge
 * ```ts
 * import { merge } from "./market.ts";
 * merge(null, null); // null
 * ```
 */
export function merge(
  a: TradeAggregate | null | undefined,
  b: TradeAggregate | null | undefined,
): TradeAggregate | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return {
    count: a.count + b.count,
    volume: a.volume + b.volume,
    pv: a.pv + b.pv,
    open: a.open,
    high: Math.max(a.high, b.high),
    low: Math.min(a.low, b.low),
    close: b.close,
  };
}

/**
 * VWAP of an aggregate in price units, with `extraDecimals` more digits than
 * `pair_decimals`, rounded half up: `round(Σ(p×v) × 10^extra / Σv)`.
 *
 * @param agg The aggregate.
 * @param extraDecimals Extra digits beyond the pair's price decimals (≥ 0).
 * @returns The VWAP units (0 when the volume is 0).
 * @example VWAP
 * ```ts
 * import { vwapUnits } from "./market.ts";
 * vwapUnits({ count: 2, volume: 3n, pv: 10n, open: 3, high: 4, low: 3, close: 4 }, 0); // 3n
 * ```
 */
export function vwapUnits(agg: TradeAggregate, extraDecimals: number): bigint {
  if (agg.volume === 0n) return 0n;
  return divideRounded(agg.pv * pow10(extraDecimals), agg.volume);
}

/**
 * The level changes that turn book `before` into book `after` (both
 * top-`depth` snapshots of the same pair), as Kraken's v2 `book` updates
 * carry them: new or changed levels with their quantity, and deleted levels
 * with quantity zero. A level that only fell below the depth because better
 * levels arrived is not deleted explicitly (clients truncate).
 *
 * @param before The earlier snapshot.
 * @param after The later snapshot.
 * @returns Changed levels per side, in book order.
 * @example Diff
 * ```ts
 * import { diffBooks, Market } from "./market.ts";
 * const t = Date.UTC(2025, 0, 10);
 * const market = new Market({ seed: 1, now: () => t + 5000 });
 * const changes = diffBooks(
 *   market.book("XBTUSD", { depth: 10, atMs: t }),
 *   market.book("XBTUSD", { depth: 10, atMs: t + 5000 }),
 * );
 * ```
 */
export function diffBooks(
  before: BookSnapshot,
  after: BookSnapshot,
): BookChanges {
  return {
    asks: diffSide(before.asks, after.asks, (a, b) => a <= b),
    bids: diffSide(before.bids, after.bids, (a, b) => a >= b),
  };
}

function diffSide(
  before: readonly BookLevel[],
  after: readonly BookLevel[],
  betterOrEqual: (a: number, b: number) => boolean,
): BookLevel[] {
  const out: BookLevel[] = [];
  const next = new Map(after.map((l) => [l.priceUnits, l]));
  const prev = new Map(before.map((l) => [l.priceUnits, l]));
  const worst = after.at(-1);
  for (const level of before) {
    if (next.has(level.priceUnits)) continue;
    // Inside the new book's range → really gone; beyond it → just truncated.
    if (worst && betterOrEqual(level.priceUnits, worst.priceUnits)) {
      out.push({ ...level, qty: zeroText(level.qty), qtyUnits: 0 });
    }
  }
  for (const level of after) {
    const old = prev.get(level.priceUnits);
    if (!old || old.qtyUnits !== level.qtyUnits) out.push(level);
  }
  out.sort((a, b) => (betterOrEqual(a.priceUnits, b.priceUnits) ? -1 : 1));
  return out;
}

/** Zero at the same number of decimals as `qty` (`"1234.5000"` → `"0.0000"`). */
function zeroText(qty: string): string {
  const dot = qty.indexOf(".");
  return dot < 0 ? "0" : "0." + "0".repeat(qty.length - dot - 1);
}
