/**
 * The live cache: per pair, the latest ticker, best bid/ask (from the ticker
 * or the book, whichever is newer), latest trade and forming candle per
 * interval, each with the local time it was last updated.
 *
 * Reads are strict: data older than `staleToleranceSec` (default 60, the
 * config's `stale_tolerance_seconds`) raises {@linkcode StaleDataError};
 * nothing received yet raises {@linkcode NoDataError}. Ages use the injected
 * clock's receive time, not Kraken's timestamps, so a skewed or stalled
 * exchange clock cannot make data look fresh.
 *
 * Pairs are keyed by `canonical(symbol)` (identity by default), so a caller
 * can key by its own pair id (e.g. `XBTUSD`) and read with either spelling.
 *
 * @module
 */

import { type Now, systemClock } from "../clock.ts";
import type { DecimalString } from "../decimal.ts";
import type { BookApplyResult } from "./book.ts";
import { CandleTracker, type WsCandle } from "./candles.ts";
import type { Ticker, Trade, WsFrame } from "./protocol.ts";

/** Why a live read failed. */
export type LiveDataErrorKind = "stale" | "no_data";

/** What a live read asked for. */
export type LiveDataWhat =
  | "price"
  | "best_bid_ask"
  | "ohlc"
  | "ticker"
  | "trade";

/** Base of the live cache's read errors; switch on `kind`. */
export class LiveDataError extends Error {
  /** Error name. */
  override name = "LiveDataError";
  /** Why the read failed. */
  readonly kind: LiveDataErrorKind;
  /** The pair asked for. */
  readonly pair: string;
  /** What was asked for. */
  readonly what: LiveDataWhat;

  /**
   * Create an error.
   *
   * @param kind Why.
   * @param details Pair, what and the message.
   */
  constructor(
    kind: LiveDataErrorKind,
    details: { pair: string; what: LiveDataWhat; message: string },
  ) {
    super(details.message);
    this.kind = kind;
    this.pair = details.pair;
    this.what = details.what;
  }
}

/** The newest data for a read is older than the tolerance. */
export class StaleDataError extends LiveDataError {
  /** Error name. */
  override name = "StaleDataError";
  /** How old the data is. */
  readonly ageMs: number;
  /** The tolerance it exceeded. */
  readonly toleranceSec: number;

  /**
   * Create an error.
   *
   * @param pair The pair.
   * @param details What, age and tolerance.
   */
  constructor(
    pair: string,
    details: { what: LiveDataWhat; ageMs: number; toleranceSec: number },
  ) {
    super("stale", {
      pair,
      what: details.what,
      message: `Live ${
        details.what.replaceAll("_", " ")
      } for "${pair}" is stale: ${details.ageMs} ms old, tolerance is ${details.toleranceSec} s`,
    });
    this.ageMs = details.ageMs;
    this.toleranceSec = details.toleranceSec;
  }
}

/** Nothing has arrived yet for a read. */
export class NoDataError extends LiveDataError {
  /** Error name. */
  override name = "NoDataError";

  /**
   * Create an error.
   *
   * @param pair The pair.
   * @param what What was asked for (with the interval for candles).
   * @param detail Extra text, e.g. `" at 5 min"`.
   */
  constructor(pair: string, what: LiveDataWhat, detail = "") {
    super("no_data", {
      pair,
      what,
      message: `No live ${
        what.replaceAll("_", " ")
      } for "${pair}"${detail} has arrived yet`,
    });
  }
}

/** A value with its local update time and age. */
export interface Timed {
  /** When it was last updated (local clock, ms). */
  updatedAtMs: number;
  /** Age at the time of the read. */
  ageMs: number;
}

/** Latest price of a pair. */
export interface LivePrice extends Timed {
  /** The pair key. */
  pair: string;
  /** Price. */
  price: DecimalString;
  /** Where it came from. */
  source: "trade" | "ticker";
}

/** Best bid and ask of a pair. */
export interface LiveBestBidAsk extends Timed {
  /** The pair key. */
  pair: string;
  /** Best bid price. */
  bid: DecimalString;
  /** Best ask price. */
  ask: DecimalString;
  /** Size at the best bid. */
  bidQty: DecimalString;
  /** Size at the best ask. */
  askQty: DecimalString;
  /** Where it came from. */
  source: "ticker" | "book";
}

/** The forming candle of a pair and interval. */
export interface LiveCandle extends WsCandle, Timed {}

/** The latest ticker of a pair. */
export interface LiveTicker extends Timed {
  /** The ticker row. */
  ticker: Ticker;
}

/** The latest trade of a pair. */
export interface LiveTrade extends Timed {
  /** The trade. */
  trade: Trade;
}

/** Fresh and stale pairs, for the data status. */
export interface LiveFreshness {
  /** Pairs with some data within the tolerance. */
  fresh: string[];
  /** Pairs whose newest data is older than the tolerance. */
  stale: string[];
}

/** Options of {@linkcode LiveCache}. */
export interface LiveCacheOptions {
  /** Clock in ms; defaults to `systemClock.now`. */
  now?: Now;
  /** Oldest data a read accepts, in seconds. Default 60. */
  staleToleranceSec?: number;
  /** Maps a WS v2 symbol to the pair key used for storage and reads. */
  canonical?: (symbol: string) => string;
  /** Called once per closed candle. */
  onCandleClosed?: (candle: WsCandle) => void;
}

/** The parts of a connection {@linkcode LiveCache.attach} listens to. */
export interface LiveSource {
  /** Listen to parsed frames. */
  on(event: "frame", fn: (frame: WsFrame) => void): () => void;
  /** Listen to book results. */
  on(event: "book", fn: (result: BookApplyResult) => void): () => void;
  /** The books the connection feeds. */
  readonly books: {
    bestBidAsk(
      symbol: string,
    ): { bid: string; ask: string; bidQty: string; askQty: string } | undefined;
  };
}

interface BidAsk {
  bid: DecimalString;
  ask: DecimalString;
  bidQty: DecimalString;
  askQty: DecimalString;
  atMs: number;
}

interface PairState {
  ticker: { ticker: Ticker; atMs: number } | undefined;
  tickerBidAsk: BidAsk | undefined;
  bookBidAsk: BidAsk | undefined;
  trade: { trade: Trade; atMs: number } | undefined;
  candles: Map<number, number>;
  lastAtMs: number;
}

/**
 * Latest market data per pair with staleness checks.
 *
 * @example Read a price
 * ```ts
 * import { LiveCache, NoDataError } from "./live.ts";
 * import { parseWsFrame } from "./protocol.ts";
 * const live = new LiveCache({ staleToleranceSec: 30 });
 * live.applyFrame(parseWsFrame('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":97012.4,"qty":0.0125,"ord_type":"market","trade_id":1,"timestamp":"2025-03-04T10:22:15.031244Z"}]}'));
 * live.getLatestPrice("BTC/USD").price; // "97012.4"
 * try { live.getLatestPrice("ETH/USD"); } catch (e) { console.assert(e instanceof NoDataError); }
 * ```
 */
export class LiveCache {
  #now: Now;
  #toleranceSec: number;
  #canonical: (symbol: string) => string;
  #pairs = new Map<string, PairState>();
  /** WS symbol behind each pair state (candles are tracked by symbol). */
  #symbols = new WeakMap<PairState, string>();
  #candles: CandleTracker;

  /**
   * Create an empty cache.
   *
   * @param options Clock, tolerance, pair mapping, closed-candle callback.
   * @throws {RangeError} When `staleToleranceSec` is not a positive number.
   */
  constructor(options: LiveCacheOptions = {}) {
    this.#now = options.now ?? systemClock.now;
    const tolerance = options.staleToleranceSec ?? 60;
    if (!(tolerance > 0) || !Number.isFinite(tolerance)) {
      throw new RangeError(
        `Cannot create a live cache: staleToleranceSec must be a positive number, got ${tolerance}`,
      );
    }
    this.#toleranceSec = tolerance;
    this.#canonical = options.canonical ?? ((symbol) => symbol);
    const onClosed = options.onCandleClosed;
    this.#candles = new CandleTracker(
      onClosed === undefined ? {} : { onClosed },
    );
  }

  /** The tolerance in seconds. */
  get staleToleranceSec(): number {
    return this.#toleranceSec;
  }

  /**
   * Take what matters from a parsed frame (ticker, trade, ohlc); other frames
   * are ignored.
   *
   * @param frame A frame from `parseWsFrame`.
   * @example Apply
   * ```ts ignore
   * connection.on("frame", (frame) => live.applyFrame(frame));
   * ```
   */
  applyFrame(frame: WsFrame): void {
    const atMs = this.#now();
    switch (frame.kind) {
      case "ticker": {
        const t = frame.ticker;
        const state = this.#state(t.symbol, atMs);
        state.ticker = { ticker: t, atMs };
        if (
          t.bid !== undefined && t.ask !== undefined &&
          t.bidQty !== undefined && t.askQty !== undefined
        ) {
          state.tickerBidAsk = {
            bid: t.bid,
            ask: t.ask,
            bidQty: t.bidQty,
            askQty: t.askQty,
            atMs,
          };
        }
        return;
      }
      case "trade":
        for (const trade of frame.trades) {
          this.#state(trade.symbol, atMs).trade = { trade, atMs };
        }
        return;
      case "ohlc":
        this.#candles.apply(frame);
        for (const row of frame.candles) {
          const state = this.#state(row.symbol, atMs);
          const current = this.#candles.current(row.symbol, row.intervalMin);
          // Only rows that became (or refreshed) the forming candle count.
          if (current?.openTimeMs === row.intervalBeginMs) {
            state.candles.set(row.intervalMin, atMs);
          }
        }
        return;
      default:
        return;
    }
  }

  /**
   * Record the book's best bid and ask (`undefined` drops the book's value,
   * e.g. while it resyncs).
   *
   * @param symbol WS v2 symbol.
   * @param best Best levels from `BookSet.bestBidAsk`.
   * @example Apply
   * ```ts ignore
   * live.applyBook("BTC/USD", books.bestBidAsk("BTC/USD"));
   * ```
   */
  applyBook(
    symbol: string,
    best:
      | { bid: string; ask: string; bidQty: string; askQty: string }
      | undefined,
  ): void {
    const atMs = this.#now();
    if (best === undefined) {
      const state = this.#pairs.get(this.#canonical(symbol));
      if (state !== undefined) state.bookBidAsk = undefined;
      return;
    }
    this.#state(symbol, atMs).bookBidAsk = { ...best, atMs };
  }

  /**
   * Feed this cache from a connection's frames and books.
   *
   * @param source A `WsConnection` (or anything with the same events).
   * @returns A function that stops listening.
   * @example Attach
   * ```ts ignore
   * const detach = live.attach(connection);
   * ```
   */
  attach(source: LiveSource): () => void {
    const offFrame = source.on("frame", (frame) => this.applyFrame(frame));
    const offBook = source.on("book", (result) => {
      if (result.kind === "applied") {
        this.applyBook(result.symbol, source.books.bestBidAsk(result.symbol));
      } else if (result.kind === "mismatch") {
        this.applyBook(result.symbol, undefined);
      }
    });
    return () => {
      offFrame();
      offBook();
    };
  }

  /**
   * The latest price: the last trade or the ticker's `last`, whichever is
   * newer.
   *
   * @param pair Pair key (or a WS v2 symbol, mapped by `canonical`).
   * @returns The price with its source and age.
   * @throws {NoDataError} When neither arrived yet.
   * @throws {StaleDataError} When the newest is older than the tolerance.
   * @example Read
   * ```ts ignore
   * live.getLatestPrice("BTC/USD").price;
   * ```
   */
  getLatestPrice(pair: string): LivePrice {
    const state = this.#lookup(pair);
    const trade = state?.trade;
    const last = state?.ticker?.ticker.last;
    const tickerAt = last === undefined ? undefined : state?.ticker?.atMs;
    let price: DecimalString;
    let source: "trade" | "ticker";
    let atMs: number;
    if (
      trade !== undefined && (tickerAt === undefined || trade.atMs >= tickerAt)
    ) {
      price = trade.trade.price;
      source = "trade";
      atMs = trade.atMs;
    } else if (last !== undefined && tickerAt !== undefined) {
      price = last;
      source = "ticker";
      atMs = tickerAt;
    } else {
      throw new NoDataError(pair, "price");
    }
    const ageMs = this.#check(pair, "price", atMs);
    return { pair, price, source, updatedAtMs: atMs, ageMs };
  }

  /**
   * Best bid and ask from the ticker or the book, whichever is newer.
   *
   * @param pair Pair key.
   * @returns Prices, sizes, source and age.
   * @throws {NoDataError} When neither arrived yet.
   * @throws {StaleDataError} When the newest is older than the tolerance.
   * @example Read the spread
   * ```ts ignore
   * const { bid, ask } = live.getBestBidAsk("BTC/USD");
   * ```
   */
  getBestBidAsk(pair: string): LiveBestBidAsk {
    const state = this.#lookup(pair);
    const book = state?.bookBidAsk;
    const ticker = state?.tickerBidAsk;
    let best: BidAsk;
    let source: "ticker" | "book";
    if (
      book !== undefined && (ticker === undefined || book.atMs >= ticker.atMs)
    ) {
      best = book;
      source = "book";
    } else if (ticker !== undefined) {
      best = ticker;
      source = "ticker";
    } else {
      throw new NoDataError(pair, "best_bid_ask");
    }
    const ageMs = this.#check(pair, "best_bid_ask", best.atMs);
    return {
      pair,
      bid: best.bid,
      ask: best.ask,
      bidQty: best.bidQty,
      askQty: best.askQty,
      source,
      updatedAtMs: best.atMs,
      ageMs,
    };
  }

  /**
   * The forming candle of an interval.
   *
   * @param pair Pair key.
   * @param intervalMin Interval in minutes.
   * @returns The candle with its update time and age.
   * @throws {NoDataError} When no row arrived yet for that interval.
   * @throws {StaleDataError} When the last row is older than the tolerance.
   * @example Read
   * ```ts ignore
   * live.getLiveOhlc("BTC/USD", 5).close;
   * ```
   */
  getLiveOhlc(pair: string, intervalMin: number): LiveCandle {
    const state = this.#lookup(pair);
    const atMs = state?.candles.get(intervalMin);
    const symbol = state === undefined ? undefined : this.#symbols.get(state);
    const candle = symbol === undefined
      ? undefined
      : this.#candles.current(symbol, intervalMin);
    if (atMs === undefined || candle === undefined) {
      throw new NoDataError(pair, "ohlc", ` at ${intervalMin} min`);
    }
    const ageMs = this.#check(pair, "ohlc", atMs);
    return { ...candle, updatedAtMs: atMs, ageMs };
  }

  /**
   * The latest ticker row.
   *
   * @param pair Pair key.
   * @returns The row with its update time and age.
   * @throws {NoDataError} When none arrived yet.
   * @throws {StaleDataError} When it is older than the tolerance.
   * @example Read the 24 h volume
   * ```ts ignore
   * live.getTicker("BTC/USD").ticker.volume;
   * ```
   */
  getTicker(pair: string): LiveTicker {
    const ticker = this.#lookup(pair)?.ticker;
    if (ticker === undefined) throw new NoDataError(pair, "ticker");
    const ageMs = this.#check(pair, "ticker", ticker.atMs);
    return { ticker: ticker.ticker, updatedAtMs: ticker.atMs, ageMs };
  }

  /**
   * The latest trade.
   *
   * @param pair Pair key.
   * @returns The trade with its update time and age.
   * @throws {NoDataError} When none arrived yet.
   * @throws {StaleDataError} When it is older than the tolerance.
   * @example Read
   * ```ts ignore
   * live.getLatestTrade("BTC/USD").trade.side;
   * ```
   */
  getLatestTrade(pair: string): LiveTrade {
    const trade = this.#lookup(pair)?.trade;
    if (trade === undefined) throw new NoDataError(pair, "trade");
    const ageMs = this.#check(pair, "trade", trade.atMs);
    return { trade: trade.trade, updatedAtMs: trade.atMs, ageMs };
  }

  /**
   * Which pairs have data within the tolerance (any kind counts).
   *
   * @returns Fresh and stale pair keys, sorted.
   * @example Count stale pairs
   * ```ts ignore
   * live.freshness().stale.length;
   * ```
   */
  freshness(): LiveFreshness {
    const nowMs = this.#now();
    const fresh: string[] = [];
    const stale: string[] = [];
    for (const [pair, state] of this.#pairs) {
      (nowMs - state.lastAtMs > this.#toleranceSec * 1000 ? stale : fresh)
        .push(pair);
    }
    return { fresh: fresh.sort(), stale: stale.sort() };
  }

  /**
   * Every pair key seen.
   *
   * @returns Pair keys, sorted.
   * @example List
   * ```ts ignore
   * live.pairs();
   * ```
   */
  pairs(): string[] {
    return [...this.#pairs.keys()].sort();
  }

  #state(symbol: string, atMs: number): PairState {
    const pair = this.#canonical(symbol);
    let state = this.#pairs.get(pair);
    if (state === undefined) {
      state = {
        ticker: undefined,
        tickerBidAsk: undefined,
        bookBidAsk: undefined,
        trade: undefined,
        candles: new Map(),
        lastAtMs: atMs,
      };
      this.#pairs.set(pair, state);
    }
    this.#symbols.set(state, symbol);
    state.lastAtMs = Math.max(state.lastAtMs, atMs);
    return state;
  }

  #lookup(pair: string): PairState | undefined {
    const direct = this.#pairs.get(pair);
    if (direct !== undefined) return direct;
    try {
      return this.#pairs.get(this.#canonical(pair));
    } catch {
      // A mapper that rejects the spelling simply finds nothing.
      return undefined;
    }
  }

  #check(pair: string, what: LiveDataWhat, atMs: number): number {
    const ageMs = Math.max(0, this.#now() - atMs);
    if (ageMs > this.#toleranceSec * 1000) {
      throw new StaleDataError(pair, {
        what,
        ageMs,
        toleranceSec: this.#toleranceSec,
      });
    }
    return ageMs;
  }
}
