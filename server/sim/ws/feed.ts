/**
 * The market side of the simulator's public WebSocket v2 feed: turns the
 * deterministic {@linkcode Market} into channel frames, one window of time
 * at a time.
 *
 * The feed keeps a cursor. {@linkcode WsFeed.advance} covers
 * `(cursor, now]` and moves the cursor to `now`; snapshots are always taken
 * at the cursor, so a snapshot followed by the next window's updates is
 * exactly the market's state (no trade twice, no book change lost). Frames
 * are built once per step and shared by every connection.
 *
 * Per window and pair (WS_V2.md §3, §9):
 * - `book`: the levels that differ between the top-`depth` books at the
 *   cursor and at `now` (`diffBooks`): changed and new levels, `qty` zero for
 *   levels gone from inside the depth, nothing for levels merely pushed out
 *   of scope. The checksum is computed from the same decimal text that goes
 *   on the wire (the simulator's own `bookChecksum`, `checksum.ts`).
 * - `trade`: every trade of the window, oldest first, batched.
 * - `ticker`: trigger `trades` → one update when the window had trades;
 *   trigger `bbo` → one update when the best bid or ask (price or qty)
 *   changed. Both show the market's ticker at `now`, so `last` equals REST
 *   `Ticker` `c[0]` at the same instant.
 * - `ohlc`: for each interval touched by the window's trades, the running
 *   candle (REST `OHLC` values); a row with a later `interval_begin` follows
 *   the final row of the previous interval.
 *
 * @module
 */

import {
  type BookSnapshot,
  diffBooks,
  type Market,
  type SimTrade,
} from "../exchange/market.ts";
import type { SimPair } from "../exchange/pairs.ts";
import { bookChecksum } from "./checksum.ts";
import {
  bookFrame,
  instrumentSnapshotFrame,
  ohlcFrame,
  ohlcRow,
  tickerFrame,
  tickerRow,
  tradeFrame,
  tradeRow,
  type WireObject,
} from "./wire.ts";

/** Recent trades in a `trade` snapshot (WS_V2.md §3.3). */
export const TRADE_SNAPSHOT_COUNT = 50;
/** Most candles in an `ohlc` snapshot ([OBS] "a handful"; the last is the forming one). */
export const OHLC_SNAPSHOT_COUNT = 5;
/** Most trades per `trade` update frame when a window holds many. */
export const TRADE_BATCH_MAX = 500;

const MINUTE_MS = 60_000;

/** What the connections need from one pair in a window. */
export interface PairDemand {
  /** Largest book depth subscribed (0: none). */
  bookDepth: number;
  /** Whether a `ticker` with `event_trigger: "bbo"` is subscribed. */
  tickerBbo: boolean;
  /** Whether a `ticker` with `event_trigger: "trades"` is subscribed. */
  tickerTrades: boolean;
  /** Whether `trade` is subscribed. */
  trade: boolean;
  /** Subscribed `ohlc` intervals, minutes. */
  ohlcIntervals: Set<number>;
}

/**
 * An empty demand, to fill in.
 *
 * @returns A demand for nothing.
 * @example Demand
 * ```ts
 * import { emptyDemand } from "./feed.ts";
 * const demand = emptyDemand();
 * demand.bookDepth = 25;
 * ```
 */
export function emptyDemand(): PairDemand {
  return {
    bookDepth: 0,
    tickerBbo: false,
    tickerTrades: false,
    trade: false,
    ohlcIntervals: new Set(),
  };
}

function sliceBook(book: BookSnapshot, depth: number): BookSnapshot {
  if (book.asks.length <= depth && book.bids.length <= depth) return book;
  return {
    ...book,
    asks: book.asks.slice(0, depth),
    bids: book.bids.slice(0, depth),
  };
}

/**
 * The checksum of a book as the simulator sends it (top 10 per side).
 *
 * @param book The book (levels carry exact decimal text).
 * @returns The unsigned CRC32.
 * @example Checksum
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { checksumOf } from "./feed.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * checksumOf(market.book("BTC/USD", { depth: 10 }));
 * ```
 */
export function checksumOf(book: BookSnapshot): number {
  return bookChecksum(book.asks, book.bids);
}

/** The frames of one window for one pair, built on first use and shared. */
class PairStep {
  /** The pair. */
  readonly pair: SimPair;
  /** The window's trades, oldest first. */
  readonly trades: readonly SimTrade[];
  #feed: WsFeed;
  #before: BookSnapshot | undefined;
  #after: BookSnapshot | undefined;
  #nowMs: number;
  #books = new Map<string, string | null>();
  #ticker: string | null | undefined;
  #ohlc = new Map<number, string | null>();
  #tradeFrames: string[] | undefined;

  /**
   * Hold one pair's window.
   *
   * @param feed The feed (for tickers and candles).
   * @param pair The pair.
   * @param options Trades, books at both ends (when a book is wanted), end time.
   */
  constructor(
    feed: WsFeed,
    pair: SimPair,
    options: {
      trades: readonly SimTrade[];
      before?: BookSnapshot;
      after?: BookSnapshot;
      nowMs: number;
    },
  ) {
    this.#feed = feed;
    this.pair = pair;
    this.trades = options.trades;
    this.#before = options.before;
    this.#after = options.after;
    this.#nowMs = options.nowMs;
  }

  /** The book update for a depth, or `undefined` when nothing changed. */
  bookUpdate(
    depth: number,
    options: { corrupt?: boolean } = {},
  ): string | undefined {
    const key = `${depth}|${options.corrupt === true}`;
    let frame = this.#books.get(key);
    if (frame === undefined) {
      frame = null;
      if (this.#before && this.#after) {
        const before = sliceBook(this.#before, depth);
        const after = sliceBook(this.#after, depth);
        const changes = diffBooks(before, after);
        if (changes.asks.length > 0 || changes.bids.length > 0) {
          const checksum = checksumOf(after);
          frame = bookFrame("update", {
            symbol: this.pair.symbol,
            bids: changes.bids,
            asks: changes.asks,
            // A wrong checksum for fault injection: still a valid u32.
            checksum: options.corrupt === true
              ? (checksum ^ 0x5a5a5a5a) >>> 0
              : checksum,
            timeMs: this.#nowMs,
          });
        }
      }
      this.#books.set(key, frame);
    }
    return frame ?? undefined;
  }

  /** Whether the best bid or ask (price or qty) changed in the window. */
  get topChanged(): boolean {
    const a = this.#before;
    const b = this.#after;
    if (!a || !b) return false;
    return a.asks[0]?.price !== b.asks[0]?.price ||
      a.asks[0]?.qty !== b.asks[0]?.qty ||
      a.bids[0]?.price !== b.bids[0]?.price ||
      a.bids[0]?.qty !== b.bids[0]?.qty;
  }

  /** The ticker update for a trigger, or `undefined` when it did not fire. */
  tickerUpdate(trigger: "trades" | "bbo"): string | undefined {
    const fired = trigger === "trades"
      ? this.trades.length > 0
      : this.topChanged;
    if (!fired) return undefined;
    if (this.#ticker === undefined) {
      this.#ticker = tickerFrame(
        "update",
        this.#feed.tickerRowAt(this.pair, this.#nowMs),
      );
    }
    return this.#ticker ?? undefined;
  }

  /** The trade updates (batched), possibly none. */
  tradeUpdates(): readonly string[] {
    if (this.#tradeFrames === undefined) {
      this.#tradeFrames = [];
      for (let i = 0; i < this.trades.length; i += TRADE_BATCH_MAX) {
        const rows = this.trades.slice(i, i + TRADE_BATCH_MAX).map((t) =>
          tradeRow(this.pair, t)
        );
        this.#tradeFrames.push(tradeFrame("update", rows));
      }
    }
    return this.#tradeFrames;
  }

  /** The ohlc update for an interval, or `undefined` without trades. */
  ohlcUpdate(intervalMin: number): string | undefined {
    let frame = this.#ohlc.get(intervalMin);
    if (frame === undefined) {
      frame = null;
      if (this.trades.length > 0) {
        const spanMs = intervalMin * MINUTE_MS;
        const begins = new Set(
          this.trades.map((t) => Math.floor(t.timeUs / 1000 / spanMs) * spanMs),
        );
        const first = Math.min(...begins);
        const forming = Math.floor(this.#nowMs / spanMs) * spanMs;
        const count = Math.round((forming - first) / spanMs) + 1;
        const rows = this.#feed.market
          .candles(this.pair.key, intervalMin, { count, atMs: this.#nowMs })
          .filter((c) => begins.has(c.time * 1000))
          .map((c) => ohlcRow(this.pair, c));
        if (rows.length > 0) {
          frame = ohlcFrame("update", { rows, timeMs: this.#nowMs });
        }
      }
      this.#ohlc.set(intervalMin, frame);
    }
    return frame ?? undefined;
  }
}

/** The frames of one window: look pairs up by REST key. */
export class FeedStep {
  /** Window start (exclusive), ms. */
  readonly fromMs: number;
  /** Window end (inclusive), ms. */
  readonly toMs: number;
  #pairs: Map<string, PairStep>;

  /**
   * Wrap per-pair steps.
   *
   * @param window The window.
   * @param pairs Pair key → step.
   */
  constructor(
    window: { fromMs: number; toMs: number },
    pairs: Map<string, PairStep>,
  ) {
    this.fromMs = window.fromMs;
    this.toMs = window.toMs;
    this.#pairs = pairs;
  }

  /**
   * The step of one pair (`undefined` when it had no demand).
   *
   * @param pairKey REST pair key.
   * @returns The pair's frames.
   */
  pair(pairKey: string): PairStep | undefined {
    return this.#pairs.get(pairKey);
  }
}

/** The per-pair frames of a {@linkcode FeedStep}. */
export type { PairStep };

/**
 * The market feed behind the public channels.
 *
 * @example Advance one window
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { emptyDemand, WsFeed } from "./feed.ts";
 * let t = Date.UTC(2025, 0, 10);
 * const market = new Market({ now: () => t });
 * const feed = new WsFeed(market);
 * const demand = emptyDemand();
 * demand.bookDepth = 10;
 * const snapshot = feed.bookSnapshot("XXBTZUSD", 10);
 * t += 250;
 * const step = feed.advance(t, new Map([["XXBTZUSD", demand]]));
 * step.pair("XXBTZUSD")?.bookUpdate(10); // the changes, or undefined
 * ```
 */
export class WsFeed {
  /** The market. */
  readonly market: Market;
  #cursorMs: number;
  /** The book of each pair at the cursor, at the largest depth asked for. */
  #books = new Map<string, { depth: number; book: BookSnapshot }>();
  #instrument: string | undefined;
  /** Own trades of the market seen so far. */
  #ownSeen: number;

  /**
   * Start the feed at the market's current time.
   *
   * @param market The market.
   */
  constructor(market: Market) {
    this.market = market;
    this.#cursorMs = market.now();
    this.#ownSeen = market.ownTradesSince(0).length;
  }

  /** The time the last window ended (snapshots describe this instant), ms. */
  get cursorMs(): number {
    return this.#cursorMs;
  }

  /**
   * Cover `(cursor, nowMs]` for the pairs in `demand` and move the cursor.
   * A `nowMs` at or before the cursor gives an empty step.
   *
   * @param nowMs The window end (the market's `now()`).
   * @param demand REST pair key → what is subscribed.
   * @returns The step's frames.
   */
  advance(nowMs: number, demand: ReadonlyMap<string, PairDemand>): FeedStep {
    const fromMs = this.#cursorMs;
    const pairs = new Map<string, PairStep>();
    if (nowMs <= fromMs) return new FeedStep({ fromMs, toMs: fromMs }, pairs);
    // Own fills recorded in the millisecond the last window ended in are
    // behind the cursor: send them first.
    const late = new Map<string, SimTrade[]>();
    const fresh = this.market.ownTradesSince(this.#ownSeen);
    this.#ownSeen += fresh.length;
    for (const t of fresh) {
      if (t.timeUs > fromMs * 1000 + 999) continue;
      const list = late.get(t.pair) ?? [];
      list.push(t);
      late.set(t.pair, list);
    }
    for (const [pairKey, want] of demand) {
      const pair = this.market.pair(pairKey);
      if (!pair) continue;
      const needsTrades = want.trade || want.tickerTrades ||
        want.ohlcIntervals.size > 0;
      const trades = needsTrades
        ? [
          ...(late.get(pair.key) ?? []),
          ...this.market.tradesBetween(pair.key, fromMs, nowMs),
        ]
        : [];
      const depth = Math.max(want.bookDepth, want.tickerBbo ? 1 : 0);
      let before: BookSnapshot | undefined;
      let after: BookSnapshot | undefined;
      if (depth > 0) {
        before = this.#bookAtCursor(pair.key, depth);
        after = this.market.book(pair.key, { depth, atMs: nowMs });
        this.#books.set(pair.key, { depth, book: after });
      }
      pairs.set(
        pair.key,
        new PairStep(this, pair, {
          trades,
          ...(before && after ? { before, after } : {}),
          nowMs,
        }),
      );
    }
    for (const key of [...this.#books.keys()]) {
      const want = demand.get(key);
      if (!want || (want.bookDepth === 0 && !want.tickerBbo)) {
        this.#books.delete(key);
      }
    }
    this.#cursorMs = nowMs;
    return new FeedStep({ fromMs, toMs: nowMs }, pairs);
  }

  /**
   * The book at the cursor: what a client holds after the snapshot and every
   * update so far.
   *
   * @param pairKey Any pair spelling.
   * @param depth The depth.
   * @returns The book, `depth` levels per side.
   */
  bookAtCursor(pairKey: string, depth: number): BookSnapshot {
    return sliceBook(this.#bookAtCursor(pairKey, depth), depth);
  }

  #bookAtCursor(pairKey: string, depth: number): BookSnapshot {
    const pair = this.#pair(pairKey);
    const cached = this.#books.get(pair.key);
    if (
      cached && cached.book.atMs === this.#cursorMs && cached.depth >= depth
    ) return cached.book;
    const book = this.market.book(pair.key, { depth, atMs: this.#cursorMs });
    this.#books.set(pair.key, { depth, book });
    return book;
  }

  /**
   * The `book` snapshot at the cursor.
   *
   * @param pairKey REST pair key.
   * @param depth Subscribed depth.
   * @returns The frame text.
   */
  bookSnapshot(pairKey: string, depth: number): string {
    const book = this.bookAtCursor(pairKey, depth);
    const pair = this.#pair(pairKey);
    return bookFrame("snapshot", {
      symbol: pair.symbol,
      bids: book.bids,
      asks: book.asks,
      checksum: checksumOf(book),
      timeMs: this.#cursorMs,
    });
  }

  /**
   * The ticker row at an instant (the market's ticker).
   *
   * @param pair The pair.
   * @param atMs The instant.
   * @returns The row.
   */
  tickerRowAt(pair: SimPair, atMs: number): WireObject {
    return tickerRow(pair, this.market.ticker(pair.key, atMs));
  }

  /**
   * The `ticker` snapshot at the cursor.
   *
   * @param pairKey REST pair key.
   * @returns The frame text.
   */
  tickerSnapshot(pairKey: string): string {
    return tickerFrame(
      "snapshot",
      this.tickerRowAt(this.#pair(pairKey), this.#cursorMs),
    );
  }

  /**
   * The `trade` snapshot at the cursor: the 50 most recent trades.
   *
   * @param pairKey REST pair key.
   * @returns The frame text (its `data` may be empty for a quiet pair).
   */
  tradeSnapshot(pairKey: string): string {
    const pair = this.#pair(pairKey);
    const trades = this.#recentTrades(pair, TRADE_SNAPSHOT_COUNT);
    return tradeFrame("snapshot", trades.map((t) => tradeRow(pair, t)));
  }

  #recentTrades(pair: SimPair, count: number): SimTrade[] {
    const floorMs = this.market.historyStartMs;
    let trades: SimTrade[] = [];
    for (let spanMs = MINUTE_MS; spanMs <= 8 * 86_400_000; spanMs *= 4) {
      trades = this.market.tradesBetween(
        pair.key,
        this.#cursorMs - spanMs,
        this.#cursorMs,
      );
      if (trades.length >= count || this.#cursorMs - spanMs <= floorMs) break;
    }
    return trades.slice(-count);
  }

  /**
   * The `ohlc` snapshot at the cursor: the latest non-empty candles (up to
   * five, the last possibly still forming).
   *
   * @param pairKey REST pair key.
   * @param intervalMin The interval.
   * @returns The frame text.
   */
  ohlcSnapshot(pairKey: string, intervalMin: number): string {
    const pair = this.#pair(pairKey);
    const rows = this.market
      .candles(pair.key, intervalMin, { count: 60, atMs: this.#cursorMs })
      .filter((c) => c.count > 0)
      .slice(-OHLC_SNAPSHOT_COUNT)
      .map((c) => ohlcRow(pair, c));
    return ohlcFrame("snapshot", { rows, timeMs: this.#cursorMs });
  }

  /**
   * The `instrument` snapshot (cached: the catalogue is static).
   *
   * @returns The frame text.
   */
  instrumentSnapshot(): string {
    this.#instrument ??= instrumentSnapshotFrame(this.market.catalogue);
    return this.#instrument;
  }

  #pair(pairKey: string): SimPair {
    const pair = this.market.pair(pairKey);
    if (!pair) throw new RangeError(`Unknown asset pair: ${pairKey}`);
    return pair;
  }
}
