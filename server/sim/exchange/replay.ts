/**
 * Replay of recorded public trades (`krakked sim --replay <store>`): the
 * trade-source interface the simulator reads, and the placement of the
 * recorded trades on the simulator's clock at N× speed.
 *
 * The simulator never imports the recorder (nor any client or server
 * code): the server-side command fills a {@linkcode TradeSource} from a
 * `krakked record` store and hands it over. A replayed pair's public tape
 * is then exactly the recorded trades (ids, prices, quantities, sides,
 * order types and their order), played back from `startMs` with the gaps
 * between them divided by `speed`; Trades, OHLC, the ticker, the book's top
 * and the WS `trade`/`ticker`/`ohlc` channels all follow that tape, as they
 * follow the generated one. Pairs without recorded trades keep the model.
 *
 * @module
 */

import type { SimPair } from "./pairs.ts";
import type { BookTapeBuilder } from "./book_tape.ts";
import { parseUnits } from "./units.ts";

/** One recorded public trade, as Kraken's WS v2 `trade` channel sent it. */
export interface RecordedTrade {
  /** Kraken's trade id (per pair, increasing). */
  readonly tradeId: number;
  /** Price as sent (decimal text). */
  readonly price: string;
  /** Quantity as sent (decimal text). */
  readonly qty: string;
  /** Taker side. */
  readonly side: "buy" | "sell";
  /** Taker order type. */
  readonly ordType: "market" | "limit";
  /** Trade time as recorded, µs since the Unix epoch. */
  readonly timeUs: number;
}

/** Where replayed trades come from (filled outside the simulator). */
export interface TradeSource {
  /** WS v2 symbols (`BTC/USD`) that have recorded trades. */
  readonly symbols: readonly string[];
  /**
   * A symbol's recorded trades, in the order they happened (time, then id).
   *
   * @param symbol One of {@linkcode TradeSource.symbols}.
   */
  trades(symbol: string): readonly RecordedTrade[];
  /**
   * Called once the simulator has placed every trade: a source may drop
   * its data then (the simulator keeps its own compact copy).
   */
  release?(): void;
}

/** One level of a recorded book frame, as exact decimal text. */
export interface RecordedBookLevel {
  /** Price as sent. */
  readonly price: string;
  /** Quantity as sent (zero deletes the level in an update). */
  readonly qty: string;
}

/** One symbol's entry of a recorded WS v2 `book` frame. */
export interface RecordedBookFrame {
  /** `snapshot` replaces the book; `update` changes levels. */
  readonly type: "snapshot" | "update";
  /** Receive time, µs since the Unix epoch. */
  readonly timeUs: number;
  /** The socket it came on: a new one's book starts from its snapshot. */
  readonly stream: string;
  /** Subscribed depth (10, 25, 100, 500 or 1000). */
  readonly depth: number;
  /** Kraken's checksum of the book after this frame (u32). */
  readonly checksum: number;
  /** Bid levels in wire order. */
  readonly bids: readonly RecordedBookLevel[];
  /** Ask levels in wire order. */
  readonly asks: readonly RecordedBookLevel[];
}

/** Where replayed books come from (filled outside the simulator). */
export interface BookSource {
  /** WS v2 symbols that have recorded book frames. */
  readonly symbols: readonly string[];
  /**
   * A symbol's recorded frames, in the order they were received.
   *
   * @param symbol One of {@linkcode BookSource.symbols}.
   */
  frames(symbol: string): readonly RecordedBookFrame[];
  /**
   * Called once the simulator has built every book tape: a source may drop
   * its frames then (a tape is a fraction of their size).
   */
  release?(): void;
}

/**
 * Recorded books already checked into tape builders as they were read
 * (`book_tape.ts`): a loader that streams a long recording feeds each
 * pair's {@linkcode BookTapeBuilder} and drops the frames, so they never
 * all sit in memory. The simulator only places the tapes on its clock.
 */
export interface BookTapeSource {
  /** WS v2 symbols that have recorded book frames. */
  readonly symbols: readonly string[];
  /**
   * A symbol's builder, every frame of it pushed (at the pair the
   * simulator resolves the symbol to).
   *
   * @param symbol One of {@linkcode BookTapeSource.symbols}.
   */
  builder(symbol: string): BookTapeBuilder;
  /** Called once the simulator has placed every tape. */
  release?(): void;
}

/** How to replay a {@linkcode TradeSource} (and a {@linkcode BookSource}). */
export interface ReplayOptions {
  /** The recorded trades. */
  readonly source: TradeSource;
  /**
   * Recorded books: a pair's WS `book` channel, REST `Depth`, the ticker's
   * best bid and ask and the fills of market orders follow them once their
   * first verified frame plays (`book_tape.ts`).
   */
  readonly books?: BookSource | BookTapeSource;
  /** Playback speed: gaps between trades are divided by it (default 1). */
  readonly speed?: number;
  /**
   * Simulator time (ms) at which the earliest recorded trade plays
   * (default: one second after the market clock when the market is
   * created).
   */
  readonly startMs?: number;
}

/** A recorded trade placed on the simulator's clock, in the pair's units. */
export interface PlacedTrade {
  /** The recorded trade id. */
  readonly tradeId: number;
  /** Simulator time, µs. */
  readonly timeUs: number;
  /** Orders trades sharing a µs (0, 1, … below 500; own fills use 500+). */
  readonly subNs: number;
  /** Price in ticks (`10^-pair_decimals`). */
  readonly priceUnits: number;
  /** Quantity in lots (`10^-lot_decimals`). */
  readonly volumeUnits: number;
  /** Taker side, REST letters. */
  readonly side: "b" | "s";
  /** Order type, REST letters. */
  readonly orderType: "m" | "l";
}

/**
 * The earliest recorded time over every symbol of a source, trades and
 * books, µs (`undefined` when both are empty): the instant that plays at
 * `startMs`, so the pairs, and a pair's trades and book, keep their
 * relative timing.
 *
 * @param source The recorded trades.
 * @param books The recorded books, if any.
 * @returns The earliest time, µs.
 * @example Empty
 * ```ts
 * import { earliestUs } from "./replay.ts";
 * earliestUs({ symbols: [], trades: () => [] }); // undefined
 * ```
 */
export function earliestUs(
  source: TradeSource,
  books?: BookSource | BookTapeSource,
): number | undefined {
  let first: number | undefined;
  const see = (timeUs: number | undefined) => {
    if (timeUs !== undefined && (first === undefined || timeUs < first)) {
      first = timeUs;
    }
  };
  for (const symbol of source.symbols) see(source.trades(symbol)[0]?.timeUs);
  for (const symbol of books?.symbols ?? []) {
    see(
      "frames" in books!
        ? books.frames(symbol)[0]?.timeUs
        : books!.builder(symbol).firstUs,
    );
  }
  return first;
}

/**
 * Place one pair's recorded trades on the simulator clock: recorded time
 * `t` plays at `startMs·1000 + ⌊(t − originUs) / speed⌋` µs; trades that
 * land on the same µs keep their order through `subNs`.
 *
 * @param pair The simulator's pair (its decimals).
 * @param trades The pair's recorded trades, in order.
 * @param timing `originUs` (plays at `startMs`), `startMs`, `speed`.
 * @returns The placed trades, in order.
 * @throws {RangeError} For a speed that is not a positive finite number,
 *   a price or quantity that is not a positive decimal, or trades out of
 *   time order.
 * @example Twice as fast
 * ```ts
 * import { placeTrades } from "./replay.ts";
 * import { resolvePair } from "./pairs.ts";
 * const placed = placeTrades(resolvePair("XBTUSD")!, [
 *   { tradeId: 7, price: "97000.1", qty: "0.01", side: "buy", ordType: "market", timeUs: 2_000_000 },
 *   { tradeId: 8, price: "97000.2", qty: "0.02", side: "sell", ordType: "limit", timeUs: 4_000_000 },
 * ], { originUs: 2_000_000, startMs: 1_000, speed: 2 });
 * placed[1]!.timeUs; // 2_000_000
 * ```
 */
export function placeTrades(
  pair: SimPair,
  trades: readonly RecordedTrade[],
  timing: { originUs: number; startMs: number; speed: number },
): PlacedTrade[] {
  const { originUs, startMs, speed } = timing;
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new RangeError(`Replay speed must be a positive number: ${speed}`);
  }
  const out: PlacedTrade[] = [];
  let lastRecordedUs = -Infinity;
  let lastUs = -Infinity;
  let subNs = 0;
  for (const t of trades) {
    if (t.timeUs < lastRecordedUs) {
      throw new RangeError(
        `Recorded trades of ${pair.symbol} are out of time order at id ${t.tradeId}`,
      );
    }
    lastRecordedUs = t.timeUs;
    const price = parseUnits(t.price, pair.pairDecimals);
    const qty = parseUnits(t.qty, pair.lotDecimals);
    if (price === undefined || price <= 0n || qty === undefined || qty <= 0n) {
      throw new RangeError(
        `Recorded trade ${t.tradeId} of ${pair.symbol} has no positive price and quantity`,
      );
    }
    let timeUs = startMs * 1000 + Math.floor((t.timeUs - originUs) / speed);
    if (timeUs <= lastUs) {
      timeUs = lastUs;
      subNs++;
      if (subNs > 499) {
        timeUs++;
        subNs = 0;
      }
    } else {
      subNs = 0;
    }
    lastUs = timeUs;
    out.push({
      tradeId: t.tradeId,
      timeUs,
      subNs,
      priceUnits: Number(price),
      volumeUnits: Number(qty),
      side: t.side === "buy" ? "b" : "s",
      orderType: t.ordType === "limit" ? "l" : "m",
    });
  }
  return out;
}
