/**
 * The simulator's deterministic market: public trades, candles, the L2 book,
 * ticker and spread for every catalogue pair, as functions of
 * `(seed, activity, pair, time)` evaluated lazily at the injected clock's
 * `now()`, plus the simulator's own fills, which join the same tape.
 *
 * ## How the data is made (docs/kraken/MARKET.md has the targets)
 *
 * - **Price path.** Each asset has a USD log-price made of value noise at
 *   nine time scales (1 minute … 45 days, amplitude ∝ √scale, so it looks
 *   like a random walk) around the asset's reference price. A pair's price is
 *   `base / quote` plus a small pair-specific component, so cross pairs stay
 *   consistent with USD pairs. The path can be evaluated at any minute
 *   without iterating from the beginning.
 * - **Trade counts.** Day `d` of a pair has `N_d = R + D(d+1) − D(d)` trades
 *   (`R` the pair's daily rate × the activity factor, `D` hashed in
 *   `[0, 0.35 R)`), so the id base of a day, `d·R + D(d) − D(0)`, is closed
 *   form: no walk from 1970. The day's trades are spread over its minutes by
 *   weights that switch regime (calm, normal, busy per 15 minutes), drift on
 *   hour and 10-minute scales and follow the UTC day: minutes are bursty, and
 *   quiet pairs have empty minutes.
 * - **Trades in a minute** come from one seeded stream per minute: taker
 *   orders of 1…n fills (a geometric count, larger on the majors), their
 *   arrival gaps a mixture of short (≈80 ms, self-exciting bursts) and long
 *   gaps, each order at the top of the book around the path (1-tick spread on
 *   the majors) and walking the book's price grid for its later fills. Sizes
 *   are heavy-tailed: log-normal body with a Pareto tail, some rounded to
 *   one significant digit as people type them. Trade ids are contiguous per
 *   pair.
 * - **Candles** are aggregated from exactly those trades (15-minute, hour
 *   and day blocks cached per pair), so REST `OHLC` equals candles rebuilt
 *   from REST `Trades` by construction: open/close = first/last trade,
 *   high/low, volume = Σ volume, count, vwap = Σ(price×volume)/Σvolume
 *   rounded half up to `pair_decimals`. An interval without trades repeats
 *   the previous close with volume 0, count 0 and vwap 0.
 * - **Book.** Levels sit on an absolute price grid (one level per block of
 *   ticks, hashed offset), each with a quantity that grows with the distance
 *   from the top and changes at its own hashed period (hundreds of ms on the
 *   majors, so the top 10 changes tens of times a second). The top follows
 *   the latest trade: a buy leaves the best ask at the trade price, a sell
 *   the best bid, and the other side is a hashed spread away. So Depth,
 *   Ticker `a`/`b`/`c` and Spread agree at every instant.
 * - **Own fills.** {@linkcode Market.recordTrade} puts a fill of the
 *   simulator's own orders on the public tape (same id sequence: later
 *   trades shift up by one) and consumes the book level it took from; the
 *   level refills exponentially. Everything before the fill stays a pure
 *   function of seed and time; a simulator that traded differs from one
 *   that did not only from its first fill on.
 *
 * Time: a window `(fromMs, toMs]` covers the microseconds
 * `(fromMs·1000 + 999, toMs·1000 + 999]` — the whole current millisecond is
 * visible, so a fill recorded at `now` (at the end of the millisecond) is
 * visible at once and never shifts a trade already shown.
 *
 * ## API for the WebSocket side
 *
 * - {@linkcode Market.book} — the L2 book at any instant and depth, with
 *   exact decimal text at the instrument precisions (`pair_decimals`,
 *   `lot_decimals`), as the v2 checksum needs.
 * - {@linkcode Market.tradesBetween} — trades in `(fromMs, toMs]`.
 * - {@linkcode Market.advance} — everything that changed in `(fromMs, toMs]`
 *   for one pair: new trades, the new book and the level changes to send
 *   (via {@linkcode diffBooks}).
 * - {@linkcode Market.candles}, {@linkcode Market.ticker} for `ohlc` and
 *   `ticker` channels; {@linkcode Market.pairs} / {@linkcode Market.pair} for
 *   `instrument` (precisions, `ordermin`, `costmin`, tick size).
 *
 * @module
 */

import {
  hash32,
  hashPrefix,
  hashTail,
  hashText,
  normal,
  unit,
} from "./prng.ts";
import { divideRounded, formatUnits, pow10 } from "./units.ts";
import { type SimAsset, SimCatalogue, type SimPair } from "./pairs.ts";
import { Lru } from "./lru.ts";
import { earliestUs, placeTrades, type ReplayOptions } from "./replay.ts";
import {
  type BookTape,
  BookTapeBuilder,
  type BookTapeCounts,
} from "./book_tape.ts";

const MINUTE_MS = 60_000;
const MINUTE_US = 60_000_000;
const DAY_MIN = 1440;
const DAY_MS = 86_400_000;
/** Trade offsets stay 1 ms clear of the next minute, so `floor(time / 60)` is safe in float. */
const MINUTE_SPAN_US = 59_999_000;

/** Value-noise scales of the price path, in minutes (1 min … ≈45 days). */
const SCALES_MIN = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536];
/** Weights of the scales, `√(scale / 1 day)`. */
const SCALE_WEIGHTS = SCALES_MIN.map((s) => Math.sqrt(s / 1440));
/** Scales of a pair's own price component, minutes, and their weights. */
const PAIR_SCALES_MIN = [1, 16, 256];
const PAIR_SCALE_WEIGHTS = PAIR_SCALES_MIN.map((s) => Math.sqrt(s / 1440));
/** Cached block sizes for candle aggregation, largest first (1 = a minute). */
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

/** How busy the simulated market is (`--activity`). */
export type SimActivity = "quiet" | "normal" | "busy";

/** The activity levels, quietest first. */
export const SIM_ACTIVITIES: readonly SimActivity[] = Object.freeze([
  "quiet",
  "normal",
  "busy",
]);

/**
 * Trade-rate factor of each activity level: `normal` is the documented live
 * rate (docs/kraken/MARKET.md), `quiet` about what the simulator traded
 * before issue 15 (for tests that page through weeks of trades), `busy` a
 * load test.
 */
export const ACTIVITY_FACTOR: Readonly<Record<SimActivity, number>> = Object
  .freeze({ quiet: 0.02, normal: 1, busy: 3 });

// Hash channels: one constant per independent random quantity.
const CH_PATH = 11;
const CH_PAIR_PATH = 12;
const CH_DAY_COUNT = 13;
const CH_WEIGHT = 14;
const CH_MINUTE = 15;
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
  /** Set on a fill of the simulator's own orders (see {@linkcode Market.recordTrade}). */
  readonly own?: true;
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
  /** How busy the market is (default `normal`: live Kraken rates). */
  activity?: SimActivity;
  /**
   * Replay recorded trades: the pairs of the source trade exactly the
   * recorded tape (see `replay.ts`); the others keep the model.
   */
  replay?: ReplayOptions;
}

interface PairModel {
  readonly pair: SimPair;
  readonly base: SimAsset;
  readonly quote: SimAsset;
  readonly baseSalt: number;
  readonly quoteSalt: number;
  /** {@linkcode hashPrefix} of the seed, `CH_MINUTE` and the pair index. */
  readonly minuteHash: number;
  /** `ln(usdPrice)` of the base and the quote (`ln 1` for a price of 0). */
  readonly baseLogUsd: number;
  readonly quoteLogUsd: number;
  /** Volatility of the pair-specific component. */
  readonly pairVolatility: number;
  /** Noise of an order's price around the path (log units). */
  readonly microSigma: number;
  /** Trades per day at this activity (≥ 4). */
  readonly dayRate: number;
  /** Mean fills per taker order (≥ 1). */
  readonly fillsMean: number;
  /** Mean trade volume in base units. */
  readonly meanVolume: number;
  /** Mean quantity of the best level, base units. */
  readonly topQty: number;
  /** Typical spread in ticks (≥ 1). */
  readonly spreadTicks: number;
  /** Ticks per book-level block (≥ 1). */
  readonly levelBlock: number;
  /** Shortest period of a level's quantity, ms. */
  readonly levelPeriodMs: number;
  /** Time constant of a consumed level's refill, ms. */
  readonly refillMs: number;
  /** `10^pair_decimals`. */
  readonly priceScale: number;
  /** `10^lot_decimals`. */
  readonly lotScale: number;
  /** Value-noise knots of the base, quote and pair paths (pure, per seed). */
  readonly baseKnots: Knots;
  readonly quoteKnots: Knots;
  readonly pairKnots: Knots;
  /** The last log price computed, by minute (consecutive minutes share ends). */
  lastLogMinute: number;
  lastLogPrice: number;
  /**
   * Direct-mapped cache of level offsets by block (`block & LEVEL_CACHE_MASK`):
   * the block each slot holds (NaN: empty) and its hashed offset. Trades
   * walk the same few blocks near the price over and over.
   */
  readonly levelTags: Float64Array;
  readonly levelOffsets: Int32Array;
}

const LEVEL_CACHE_SIZE = 256;
const LEVEL_CACHE_MASK = LEVEL_CACHE_SIZE - 1;

/** Liquidity the simulator's own fills took from one level. */
interface Consumption {
  readonly atMs: number;
  readonly qtyUnits: number;
}

/** What the simulator's own fills changed for one pair (private to a market). */
interface OwnTape {
  /** Own trades, oldest first. */
  readonly trades: TapeTrade[];
  /** Consumed liquidity by `a:<price>` / `b:<price>`. */
  readonly consumed: Map<string, Consumption[]>;
}

/**
 * Per-pair caches, sized per pair. Pure entries (day prefixes, generated
 * minutes) may be shared by every market with the same seed and activity;
 * the aggregates and the merged tape are private once a market has own
 * trades on the pair.
 */
interface PairState {
  readonly model: PairModel;
  /** Day → cumulative trade counts at each minute (1441). */
  readonly prefixes: Lru<number, Uint16Array | Uint32Array>;
  /** Minute → generated trades (ids before any own trade). */
  readonly synth: Lru<number, readonly SimTrade[]>;
  /** Minute → its aggregate (edges of ranges only). */
  aggs: Lru<number, TradeAggregate | null>;
  /** `start·4 + size index` → aggregate of a 15/60/1440-minute block. */
  blocks: Lru<number, TradeAggregate | null>;
  /** Minute → synthetic and own trades with final ids (when `own`). */
  merged: Lru<number, readonly SimTrade[]> | undefined;
  own: OwnTape | undefined;
  /** A replayed pair's recorded tape (the generator is not used). */
  readonly replay?: ReplayTape;
}

/** A replayed pair's trades on the simulator clock. */
interface ReplayTape {
  /** Every replayed trade, in order. */
  readonly trades: readonly TapeTrade[];
  /** Minute → its trades. */
  readonly minutes: ReadonlyMap<number, readonly TapeTrade[]>;
  /** What the book and `last` follow before the first trade plays. */
  readonly reference: TapeTrade;
  /** The recorded book (from its first verified frame on). */
  readonly book?: BookTape;
}

const EMPTY: readonly SimTrade[] = Object.freeze([]);

// Scratch buffers of the generators (single-threaded, never held across calls).
const DAY_WEIGHTS = new Float64Array(1440);
/**
 * Cached single-minute aggregates per pair (×2 generations): the edges of
 * the open windows (≤ 14 whole minutes at each end of a 24 h window); 256
 * grew to 512 per pair as a streaming window slid.
 */
const MINUTE_AGGS = 32;
const PREFIX_SCRATCH = new Uint32Array(1441);
/** The UTC day's activity profile by minute (busiest at 13:00 + 6 h). */
const DAY_PROFILE = Float64Array.from(
  { length: 1440 },
  (_, m) => 1 + 0.45 * Math.sin((2 * Math.PI * (m - 780)) / 1440),
);
const FILLS: number[] = [];
let ARRIVALS = new Float64Array(256);
let FILL_SIZES = new Int32Array(256);

/** Shared pure caches: `seed|activity` → pair key → state (four stores at most). */
const STORES = new Map<string, Map<string, PairState>>();

function sharedStore(seed: number, activity: SimActivity): Map<
  string,
  PairState
> {
  const key = `${seed}|${activity}`;
  let store = STORES.get(key);
  if (!store) {
    if (STORES.size >= 4) STORES.delete(STORES.keys().next().value!);
    store = new Map();
    STORES.set(key, store);
  }
  return store;
}

/** A float stream (mulberry32): the cheap source of a minute's or a day's draws. */
class Stream {
  state: number;
  constructor(state: number) {
    this.state = state | 0;
  }
  /** The next float in `[0, 1)`. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A stream over one hash of its inputs. */
function stream(seed: number, a: number, b: number, c: number): Stream {
  return new Stream(hash32(seed, a, b, c));
}

/** Inverse standard normal CDF at 4,096 midpoints (Acklam's rational approximation). */
const NORMAL_TABLE = (() => {
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [
    0.007784695709041462,
    0.3224671290700398,
    2.445134137142996,
    3.754408661907416,
  ];
  const inverse = (p: number): number => {
    if (p < 0.02425) {
      const q = Math.sqrt(-2 * Math.log(p));
      return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) *
          q + c[5]!) /
        ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
    }
    if (p > 1 - 0.02425) return -inverse(1 - p);
    const q = p - 0.5;
    const r = q * q;
    return (((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r +
      a[5]!) *
      q /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  };
  const table = new Float64Array(4097);
  for (let i = 0; i < 4096; i++) table[i] = inverse((i + 0.5) / 4096);
  table[4096] = table[4095]!;
  return table;
})();

/** A standard normal from one draw (table of the inverse CDF, interpolated; |z| ≤ 3.7). */
function gauss(rng: Stream): number {
  const x = rng.next() * 4096;
  const i = x | 0;
  const lo = NORMAL_TABLE[i]!;
  return lo + (NORMAL_TABLE[i + 1]! - lo) * (x - i);
}

/** Mean of `min(50, Pareto(α = 1.6))`, the tail factor of trade sizes. */
const TAIL_MEAN = (() => {
  // E[min(c, P)] for P ≥ 1 with P(P > x) = x^-α: (α − c^(1−α)) / (α − 1).
  const a = 1.6;
  const c = 50;
  return (a - c ** (1 - a)) / (a - 1);
})();
const TAIL_SHARE = 0.04;
const SIZE_SIGMA = 1.3;
const SIZE_NORM = 1 - TAIL_SHARE + TAIL_SHARE * TAIL_MEAN;

/** A heavy-tailed size factor with mean 1. */
function sizeFactor(rng: Stream): number {
  const body = Math.exp(SIZE_SIGMA * gauss(rng) - SIZE_SIGMA ** 2 / 2);
  const tail = rng.next() < TAIL_SHARE
    ? Math.min(50, (1 - rng.next()) ** (-1 / 1.6))
    : 1;
  return (body * tail) / SIZE_NORM;
}

/** `x` rounded to one significant digit (`0.0734` → `0.07`). */
function roundSignificant(x: number): number {
  if (x <= 0) return x;
  const scale = 10 ** Math.floor(Math.log10(x));
  return Math.max(1, Math.round(x / scale)) * scale;
}

/** A spread in ticks around the typical one: 1 tick most of the time on the majors. */
function spreadOf(spreadTicks: number, u: number): number {
  return Math.max(1, Math.round(spreadTicks * (0.4 + 1.2 * u)));
}

/**
 * The deterministic market. Create one per simulator; every method is a
 * function of the seed, the activity, the pair, the time it is asked about
 * and the own fills recorded so far (the caches only save work).
 *
 * @example Query the market at a fixed time
 * ```ts
 * import { Market } from "./market.ts";
 * const market = new Market({ seed: 7, now: () => Date.UTC(2025, 0, 10) });
 * const book = market.book("XBTUSD", { depth: 10 });
 * const candles = market.candles("XBTUSD", 60, { count: 24 });
 * const trades = market.tradesBetween("XBTUSD", Date.UTC(2025, 0, 9, 23, 59), Date.UTC(2025, 0, 10));
 * ```
 */
export class Market {
  #seed: number;
  #now: () => number;
  #historyStartMs: number;
  #catalogue: SimCatalogue;
  #activity: SimActivity;
  #shared: Map<string, PairState>;
  #states = new Map<string, PairState>();
  /**
   * Each pair's last book (depth ≤ 100): levels whose quantity and time did
   * not change since are handed out again instead of rebuilt. The feed asks
   * for every streaming pair's book ten times a second and keeps it for a
   * step, so fresh level objects and their two strings each were promoted
   * to the old generation at that rate (most of the simulator's garbage).
   */
  #lastBooks = new Map<string, BookSnapshot>();
  /** What loading each recorded book kept (`replayedBooks`). */
  readonly #bookReplay = new Map<string, BookTapeCounts>();
  /** Trades placed per replayed pair (`replayedTrades`). */
  readonly #tradeReplay = new Map<string, number>();
  #ownLog: SimTrade[] = [];

  /**
   * Create the market.
   *
   * @param options Seed, clock, history depth, catalogue and activity.
   * @throws {RangeError} For an unknown activity.
   */
  constructor(options: MarketOptions = {}) {
    this.#seed = Math.trunc(options.seed ?? 1);
    this.#now = options.now ?? Date.now;
    this.#catalogue = options.catalogue ?? SimCatalogue.standard();
    this.#activity = options.activity ?? "normal";
    if (!SIM_ACTIVITIES.includes(this.#activity)) {
      throw new RangeError(`Unknown activity: ${String(options.activity)}`);
    }
    // Everything generated is a pure function of the seed and activity, so
    // markets with the same ones (e.g. one per test) share that work.
    this.#shared = sharedStore(this.#seed, this.#activity);
    const startNow = this.#now();
    this.#historyStartMs = options.historyStartMs ??
      Math.floor(startNow / DAY_MS) * DAY_MS -
        (options.historyDays ?? 40) * DAY_MS;
    if (options.replay) this.#loadReplay(options.replay, startNow);
  }

  /**
   * Put each recorded pair's tape in place of its generator (private
   * states): its trades, and its book when the source has one. A pair with
   * a recorded book and no recorded trades replays the book with no public
   * trades at all.
   */
  #loadReplay(replay: ReplayOptions, startNow: number): void {
    const books = replay.books;
    const originUs = earliestUs(replay.source, books);
    if (originUs === undefined) return;
    const timing = {
      originUs,
      // A second after start-up: a client connecting with the simulator
      // still sees the first trade on the WS trade channel.
      startMs: replay.startMs ?? startNow + 1000,
      speed: replay.speed ?? 1,
    };
    // By pair, whatever spelling each source uses for it.
    const pairs = new Map<
      string,
      { pair: SimPair; trades?: string; books?: string }
    >();
    const add = (symbol: string, kind: "trades" | "books") => {
      const pair = this.#catalogue.resolvePair(symbol);
      if (!pair) throw new RangeError(`Unknown asset pair: ${symbol}`);
      const entry = pairs.get(pair.key) ?? { pair };
      entry[kind] = symbol;
      pairs.set(pair.key, entry);
    };
    for (const symbol of replay.source.symbols) add(symbol, "trades");
    for (const symbol of books?.symbols ?? []) add(symbol, "books");
    for (
      const { pair, trades: tradeSymbol, books: bookSymbol } of pairs.values()
    ) {
      const placed = tradeSymbol === undefined
        ? []
        : placeTrades(pair, replay.source.trades(tradeSymbol), timing);
      let book: BookTape | undefined;
      if (books !== undefined && bookSymbol !== undefined) {
        // A streaming source built its tapes as it read; frames are
        // checked here, by the same builder.
        let builder: BookTapeBuilder;
        if ("frames" in books) {
          builder = new BookTapeBuilder(pair);
          for (const frame of books.frames(bookSymbol)) builder.push(frame);
        } else {
          builder = books.builder(bookSymbol);
          if (builder.pair.key !== pair.key) {
            throw new RangeError(
              `Book of ${bookSymbol} was checked as ${builder.pair.symbol}, not ${pair.symbol}`,
            );
          }
        }
        const loaded = builder.finish(timing);
        this.#bookReplay.set(pair.symbol, loaded.counts);
        if (loaded.tape.length > 0) book = loaded.tape;
      }
      const trades = placed.map((t) =>
        new TapeTrade(
          pair.key,
          t.tradeId,
          t.timeUs,
          t.subNs,
          t.priceUnits,
          t.volumeUnits,
          t.side,
          t.orderType,
        )
      );
      // What `last` is before the first trade: the first trade's price, or
      // (a book-only pair) the first verified book's best bid.
      const firstTop = book?.topAt(book.firstUs!);
      const first = trades[0] ??
        (firstTop === undefined ? undefined : new TapeTrade(
          pair.key,
          1,
          0,
          0,
          firstTop.bestBid,
          1,
          "s",
          "l",
        ));
      if (first === undefined) continue;
      const minutes = new Map<number, TapeTrade[]>();
      for (const t of trades) {
        const m = Math.floor(t.timeUs / MINUTE_US);
        const list = minutes.get(m);
        if (list) list.push(t);
        else minutes.set(m, [t]);
      }
      const model = this.#buildModel(pair);
      this.#states.set(pair.key, {
        model,
        prefixes: new Lru(3),
        synth: new Lru(64),
        aggs: new Lru(MINUTE_AGGS),
        blocks: new Lru(1024),
        merged: undefined,
        own: undefined,
        replay: {
          trades,
          minutes,
          reference: new TapeTrade(
            pair.key,
            first.tradeId - 1,
            this.#historyStartMs * 1000 - 1,
            0,
            first.priceUnits,
            first.volumeUnits,
            first.side,
            first.orderType,
          ),
          ...(book === undefined ? {} : { book }),
        },
      });
      if (tradeSymbol !== undefined) {
        this.#tradeReplay.set(pair.symbol, trades.length);
      }
    }
    replay.source.release?.();
    books?.release?.();
  }

  /** Recorded trades placed on each replayed pair's tape (by WS symbol). */
  get replayedTrades(): ReadonlyMap<string, number> {
    return this.#tradeReplay;
  }

  /**
   * What loading each recorded book kept and dropped (by WS symbol):
   * frames verified with the simulator's own checksum, and those that
   * failed it or had no verified book under them (`book_tape.ts`).
   */
  get replayedBooks(): ReadonlyMap<string, BookTapeCounts> {
    return this.#bookReplay;
  }

  /** The seed. */
  get seed(): number {
    return this.#seed;
  }

  /** The activity level. */
  get activity(): SimActivity {
    return this.#activity;
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

  /**
   * The model parameters of a pair at this activity: trades per day, mean
   * trade volume and best-level quantity (base units), typical spread in
   * ticks, the shortest level period and the refill time constant (ms).
   * For the realism report and tests.
   *
   * @param pairName Any spelling of the pair.
   * @returns The parameters.
   * @throws {RangeError} For an unknown pair.
   */
  profile(pairName: string): {
    tradesPerDay: number;
    meanVolume: number;
    topQty: number;
    spreadTicks: number;
    levelPeriodMs: number;
    refillMs: number;
  } {
    const m = this.#state(pairName).model;
    return {
      tradesPerDay: m.dayRate,
      meanVolume: m.meanVolume,
      topQty: m.topQty,
      spreadTicks: m.spreadTicks,
      levelPeriodMs: m.levelPeriodMs,
      refillMs: m.refillMs,
    };
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
    const model = this.#state(pairName).model;
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
    const state = this.#state(pairName);
    return this.#lastTrade(state, horizonUs(atMs)).priceUnits /
      state.model.priceScale;
  }

  // -------------------------------------------------------------------------
  // Trades

  /**
   * Trades with `fromMs < time ≤ toMs` (in whole milliseconds: the µs
   * `(fromMs·1000 + 999, toMs·1000 + 999]`), clamped to visible history and
   * to now, oldest first.
   *
   * @param pairName Any spelling of the pair.
   * @param fromMs Exclusive start, ms.
   * @param toMs Inclusive end, ms (clamped to now).
   * @returns The trades.
   * @throws {RangeError} For an unknown pair.
   */
  tradesBetween(pairName: string, fromMs: number, toMs: number): SimTrade[] {
    const state = this.#state(pairName);
    const endUs = horizonUs(Math.min(toMs, this.#now()));
    const startUs = Math.max(
      horizonUs(fromMs),
      this.#historyStartMs * 1000 - 1,
    );
    const out: SimTrade[] = [];
    if (endUs <= startUs) return out;
    const lastMinute = Math.floor(endUs / MINUTE_US);
    for (let m = Math.floor((startUs + 1) / MINUTE_US); m <= lastMinute; m++) {
      for (const t of this.#minute(state, m)) {
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
    const state = this.#state(pairName);
    const count = options.count ?? 1000;
    const nowUs = horizonUs(this.#now());
    const historyUs = this.#historyStartMs * 1000;
    const trades: SimTrade[] = [];
    if (options.sinceNs === undefined) {
      const firstMinute = Math.floor(historyUs / MINUTE_US);
      for (
        let m = Math.floor(nowUs / MINUTE_US);
        m >= firstMinute && trades.length < count;
        m--
      ) {
        const minute = this.#minute(state, m);
        for (let i = minute.length - 1; i >= 0 && trades.length < count; i--) {
          const t = minute[i]!;
          if (t.timeUs <= nowUs && t.timeUs >= historyUs) trades.push(t);
        }
        if (minute.length === 0) m = this.#skipEmptyBack(state, m, firstMinute);
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
      const minute = this.#minute(state, m);
      for (const t of minute) {
        if (trades.length >= count) break;
        if (t.timeNs > startNs && t.timeUs <= nowUs) trades.push(t);
      }
      if (minute.length === 0) m = this.#skipEmptyForward(state, m, lastMinute);
    }
    return { trades, lastNs: trades.at(-1)?.timeNs ?? since };
  }

  /**
   * Put a fill of the simulator's own orders on the public tape at `atMs`
   * (normally now): it gets the next trade id of the pair (every later
   * trade's id moves up by one, so ids stay one contiguous sequence), shows
   * in `Trades`, the `trade` channel, OHLC and the ticker, becomes the last
   * trade the book's top follows, and takes `volumeUnits` from the level at
   * `priceUnits` on the side it traded against; the level refills
   * exponentially (`refillMs` of the pair). Trades already visible never
   * change.
   *
   * @param pairName Any spelling of the pair.
   * @param fill Price (tick units), volume (lot units), taker side, order type, time.
   * @returns The public trade, with its id.
   * @throws {RangeError} For an unknown pair or a non-positive volume.
   */
  recordTrade(
    pairName: string,
    fill: {
      priceUnits: number;
      volumeUnits: number;
      side: "b" | "s";
      orderType: "m" | "l";
      atMs?: number;
    },
  ): SimTrade {
    if (!(fill.volumeUnits > 0) || !(fill.priceUnits > 0)) {
      throw new RangeError("An own trade needs a positive price and volume");
    }
    const state = this.#own(pairName);
    const own = state.own!;
    const atMs = Math.floor(fill.atMs ?? this.#now());
    const previous = own.trades.at(-1);
    let timeUs = horizonUs(atMs);
    let subNs = 500;
    if (previous && !earlier(previous, timeUs, subNs)) {
      timeUs = previous.timeUs;
      subNs = previous.subNs + 1;
      if (subNs > 999) {
        timeUs += 1;
        subNs = 500;
      }
    }
    const minute = Math.floor(timeUs / MINUTE_US);
    let before: number;
    if (state.replay) {
      // The recorded id of the last replayed trade before it.
      const tape = state.replay.trades;
      const i = firstAtOrAfter(tape, timeUs, subNs);
      before = i > 0 ? tape[i - 1]!.tradeId : state.replay.reference.tradeId;
    } else {
      const day = Math.floor(minute / DAY_MIN);
      const prefix = this.#prefix(state, day);
      before = this.#dayIdBase(state.model, day) +
        prefix[minute - day * DAY_MIN]!;
      for (const s of this.#synth(state, minute)) {
        const t = s as TapeTrade;
        if (t.timeUs < timeUs || (t.timeUs === timeUs && t.subNs < subNs)) {
          before++;
        }
      }
    }
    const trade = new TapeTrade(
      state.model.pair.key,
      before + own.trades.length + 1,
      timeUs,
      subNs,
      fill.priceUnits,
      fill.volumeUnits,
      fill.side,
      fill.orderType,
      true,
    );
    own.trades.push(trade);
    this.#ownLog.push(trade);
    // Taker buys take asks, sells take bids.
    const key = `${fill.side === "b" ? "a" : "b"}:${fill.priceUnits}`;
    const list = own.consumed.get(key) ?? [];
    list.push({ atMs, qtyUnits: fill.volumeUnits });
    own.consumed.set(key, list);
    // Forget what the fill changed: its minute and later, blocks that cover it.
    state.merged!.deleteWhere((m) => m >= minute);
    state.aggs.deleteWhere((m) => m >= minute);
    state.blocks.deleteWhere((k) => {
      const start = Math.floor(k / 4);
      return start + BLOCK_MIN[k % 4]! > minute;
    });
    return trade;
  }

  /**
   * Own trades recorded after the first `from` (all pairs, in the order
   * they were recorded): a streaming consumer whose window already passed
   * a fill's instant (same millisecond) still sends it.
   *
   * @param from How many own trades the consumer has seen.
   * @returns The new ones.
   */
  ownTradesSince(from: number): readonly SimTrade[] {
    return this.#ownLog.slice(from);
  }

  /**
   * A trade's id on the tape now: own fills recorded after a trade was
   * read shift the ids of trades behind them, so a trade read ahead of time
   * (e.g. a replay window) asks for its current id here.
   *
   * @param trade A trade this market returned.
   * @returns Its current id.
   * @throws {RangeError} For an unknown pair.
   */
  tradeIdNow(trade: SimTrade): number {
    const state = this.#state(trade.pair);
    const own = state.own?.trades;
    if (!(trade instanceof TapeTrade) || trade.own || !own) {
      return trade.tradeId;
    }
    return trade.baseId + firstAtOrAfter(own, trade.timeUs, trade.subNs);
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
    const state = this.#state(pairName);
    return this.#aggregateUs(state, fromMs * 1000, toMs * 1000) ?? undefined;
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
    const state = this.#state(pairName);
    const model = state.model;
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
      const endUs = Math.min((start + spanMs) * 1000, horizonUs(atMs) + 1);
      const agg = this.#aggregateUs(state, start * 1000, endUs);
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
        prevClose ??= this.#lastTrade(state, start * 1000 - 1).priceUnits;
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
   * ascending and bids descending, consistent with the latest trade and
   * with the liquidity the simulator's own fills took.
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
    const state = this.#state(pairName);
    const model = state.model;
    const atMs = options.atMs ?? this.#now();
    const depth = Math.max(1, Math.min(options.depth ?? 10, 1000));
    const tape = state.replay?.book;
    if (tape) {
      const recorded = this.#tapeBook(state, tape, atMs, depth);
      if (recorded) return recorded;
    }
    const last = this.#lastTrade(state, horizonUs(atMs));
    const { bestBid, bestAsk } = this.#top(model, last);
    const asks: BookLevel[] = [];
    const bids: BookLevel[] = [];
    const topMs = Math.floor(last.timeUs / 1000);
    const previous = this.#lastBooks.get(model.pair.key);
    const prevAsks = previous?.asks;
    const prevBids = previous?.bids;
    // Bounded walks: a level emptied by own fills is skipped, not looped on.
    // Depth grows with the distance from a per-minute reference of the path,
    // not from the top: a level keeps its size when trades move the top.
    const ref = Math.round(
      Math.exp(this.#logPrice(model, Math.floor(atMs / MINUTE_MS))) *
        model.priceScale,
    );
    let level = this.#level(
      state,
      "a",
      bestAsk,
      atMs,
      topMs,
      Math.abs(bestAsk - ref),
      prevAsks,
    );
    if (level) asks.push(level);
    for (
      let i = bestAsk + 1, n = 0;
      asks.length < depth && n < 4 * depth;
      n++
    ) {
      const next = this.#nextLevelUp(model, i);
      level = this.#level(
        state,
        "a",
        next,
        atMs,
        0,
        Math.abs(next - ref),
        prevAsks,
      );
      if (level) asks.push(level);
      i = next + 1;
    }
    level = this.#level(
      state,
      "b",
      bestBid,
      atMs,
      topMs,
      Math.abs(ref - bestBid),
      prevBids,
    );
    if (level) bids.push(level);
    for (
      let i = bestBid - 1, n = 0;
      bids.length < depth && i >= 1 && n < 4 * depth;
      n++
    ) {
      const next = this.#nextLevelDown(model, i);
      if (next < 1) break;
      level = this.#level(
        state,
        "b",
        next,
        atMs,
        0,
        Math.abs(ref - next),
        prevBids,
      );
      if (level) bids.push(level);
      i = next - 1;
    }
    const book = { pair: model.pair.key, atMs, asks, bids };
    // Keep the deepest recent book (a depth-1 ticker read between two
    // depth-10 feed reads does not replace it), never a huge REST one.
    const size = asks.length + bids.length;
    if (
      depth <= 100 &&
      (!previous || size >= previous.asks.length + previous.bids.length ||
        Math.abs(atMs - previous.atMs) > 1000)
    ) {
      this.#lastBooks.set(model.pair.key, book);
    }
    return book;
  }

  /**
   * Ticker values at an instant: best bid/ask, last trade, today's (since
   * 00:00 UTC) and rolling 24 h aggregates (from cached 15-minute, hour and
   * day blocks: no re-aggregation of the day per call).
   *
   * @param pairName Any spelling of the pair.
   * @param atMs The instant (default now).
   * @returns The snapshot.
   * @throws {RangeError} For an unknown pair.
   */
  ticker(pairName: string, atMs: number = this.#now()): TickerSnapshot {
    const state = this.#state(pairName);
    const book = this.book(state.model.pair.key, { depth: 1, atMs });
    const last = this.#lastTrade(state, horizonUs(atMs));
    const endUs = horizonUs(atMs) + 1;
    const dayStartMs = Math.floor(atMs / DAY_MS) * DAY_MS;
    return {
      pair: state.model.pair.key,
      ask: book.asks[0]!,
      bid: book.bids[0]!,
      last,
      today: this.#aggregateUs(state, dayStartMs * 1000, endUs) ?? undefined,
      day: this.#aggregateUs(state, endUs - DAY_MS * 1000, endUs) ??
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
    const state = this.#state(pairName);
    const atMs = options.atMs ?? this.#now();
    const limit = options.limit ?? 200;
    const nowUs = horizonUs(atMs);
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
      const minute = this.#minute(state, m);
      for (let i = minute.length - 1; i >= 0 && rows.length < limit; i--) {
        const t = minute[i]!;
        if (t.timeUs > nowUs) continue;
        const { bestBid, bestAsk } = state.replay?.book?.topAt(t.timeUs) ??
          this.#top(state.model, t);
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
      if (minute.length === 0) m = this.#skipEmptyBack(state, m, floorMinute);
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
  // Internals: state and model

  #state(name: string): PairState {
    const pair = this.#catalogue.resolvePair(name);
    if (!pair) throw new RangeError(`Unknown asset pair: ${name}`);
    let state = this.#states.get(pair.key) ?? this.#shared.get(pair.key);
    if (!state) {
      const model = this.#buildModel(pair);
      const perMinute = model.dayRate / DAY_MIN;
      state = {
        model,
        prefixes: new Lru(3),
        // About 2,000 generated trades per pair (×2 generations), 4 to 16
        // minutes: a streaming pair needs the minutes at its windows' edges
        // (now and 24 h ago) and the trade channel's; a Trades page walks
        // minutes once. 20,000 let each pair's cache grow by ~1 MiB of trade
        // objects per simulated hour of streaming until full.
        synth: new Lru(
          Math.min(16, Math.max(4, Math.ceil(2_000 / perMinute))),
        ),
        aggs: new Lru(MINUTE_AGGS),
        blocks: new Lru(1024),
        merged: undefined,
        own: undefined,
      };
      this.#shared.set(pair.key, state);
    }
    return state;
  }

  /** The pair's state, private to this market (own trades change it). */
  #own(name: string): PairState {
    const state = this.#state(name);
    if (state.own) return state;
    const mine: PairState = {
      model: state.model,
      prefixes: state.prefixes,
      synth: state.synth,
      aggs: new Lru(MINUTE_AGGS),
      blocks: new Lru(1024),
      merged: new Lru(64),
      own: { trades: [], consumed: new Map() },
      ...(state.replay ? { replay: state.replay } : {}),
    };
    this.#states.set(state.model.pair.key, mine);
    return mine;
  }

  #buildModel(pair: SimPair): PairModel {
    const base = this.#catalogue.asset(pair.base)!;
    const quote = this.#catalogue.asset(pair.quote)!;
    const price = this.#catalogue.referencePrice(pair);
    const tick = 10 ** -pair.pairDecimals;
    const spreadTicks = Math.max(
      1,
      Math.round((price * pair.spreadBps * 1e-4) / tick),
    );
    const dayRate = Math.max(
      4,
      Math.round(pair.tradesPerDay * ACTIVITY_FACTOR[this.#activity]),
    );
    const meanVolume = pair.tradeUsd / (base.usdPrice || 1);
    const levelPeriodMs = Math.min(
      15_000,
      Math.max(150, Math.round(4000 / Math.sqrt(Math.max(1, dayRate) / 1000))),
    );
    return {
      pair,
      base,
      quote,
      baseSalt: hashText(base.key),
      quoteSalt: hashText(quote.key),
      minuteHash: hashPrefix(this.#seed, CH_MINUTE, pair.index),
      baseLogUsd: Math.log(base.usdPrice || 1),
      quoteLogUsd: Math.log(quote.usdPrice || 1),
      pairVolatility: 0.08 *
        Math.max(base.dailyVolatility, quote.dailyVolatility),
      microSigma: Math.max(pair.spreadBps * 1e-4 * 1.5, (2 * tick) / price),
      dayRate,
      // The shape of an order does not depend on the activity level.
      fillsMean: 1 +
        0.9 * Math.min(1, Math.log10(Math.max(10, pair.tradesPerDay)) / 5),
      meanVolume,
      topQty: meanVolume * 8,
      spreadTicks,
      levelBlock: Math.max(2, spreadTicks),
      levelPeriodMs,
      refillMs: Math.min(120_000, Math.max(5_000, levelPeriodMs * 40)),
      priceScale: 10 ** pair.pairDecimals,
      lotScale: 10 ** pair.lotDecimals,
      baseKnots: new Knots(
        this.#seed,
        CH_PATH,
        hashText(base.key),
        SCALES_MIN.length,
      ),
      quoteKnots: new Knots(
        this.#seed,
        CH_PATH,
        hashText(quote.key),
        SCALES_MIN.length,
      ),
      pairKnots: new Knots(this.#seed, CH_PAIR_PATH, pair.index, 3),
      lastLogMinute: NaN,
      lastLogPrice: 0,
      levelTags: new Float64Array(LEVEL_CACHE_SIZE).fill(NaN),
      levelOffsets: new Int32Array(LEVEL_CACHE_SIZE),
    };
  }

  #assetLog(
    asset: SimAsset,
    logUsd: number,
    knots: Knots,
    tMin: number,
  ): number {
    if (asset.dailyVolatility === 0) return logUsd;
    const sum = knots.weightedSum(SCALES_MIN, SCALE_WEIGHTS, tMin);
    return logUsd + 0.45 * asset.dailyVolatility * sum;
  }

  #logPrice(model: PairModel, tMin: number): number {
    if (tMin === model.lastLogMinute) return model.lastLogPrice;
    const knots = model.pairKnots;
    const own = knots.weightedSum(PAIR_SCALES_MIN, PAIR_SCALE_WEIGHTS, tMin);
    const value =
      this.#assetLog(model.base, model.baseLogUsd, model.baseKnots, tMin) -
      this.#assetLog(model.quote, model.quoteLogUsd, model.quoteKnots, tMin) +
      model.pairVolatility * own;
    model.lastLogMinute = tMin;
    model.lastLogPrice = value;
    return value;
  }

  // -------------------------------------------------------------------------
  // Internals: counts and ids

  #dayShift(model: PairModel, day: number): number {
    return Math.floor(
      0.35 * model.dayRate *
        unit(this.#seed, CH_DAY_COUNT, model.pair.index, day),
    );
  }

  /** Id of the first trade of `day` minus one (closed form). */
  #dayIdBase(model: PairModel, day: number): number {
    return day * model.dayRate + this.#dayShift(model, day) -
      this.#dayShift(model, 0);
  }

  /**
   * Cumulative trade counts at each minute of the day (length 1441), in 16
   * bits when the day's total fits (most pairs: half the memory).
   */
  #prefix(state: PairState, day: number): Uint16Array | Uint32Array {
    let prefix = state.prefixes.get(day);
    if (prefix) return prefix;
    const model = state.model;
    const total = model.dayRate + this.#dayShift(model, day + 1) -
      this.#dayShift(model, day);
    const rng = stream(this.#seed, CH_WEIGHT, model.pair.index, day);
    const hourKnots = new Float64Array(25);
    for (let i = 0; i < 25; i++) hourKnots[i] = gauss(rng);
    const tenKnots = new Float64Array(145);
    for (let i = 0; i < 145; i++) tenKnots[i] = gauss(rng);
    // Regimes per 15 minutes, a Markov chain: stay with 0.8, else redraw.
    const regimes = new Float64Array(96);
    let regime = 1;
    for (let i = 0; i < 96; i++) {
      if (i === 0 || rng.next() < 0.2) {
        const u = rng.next();
        regime = u < 0.12 ? 2.5 : u < 0.4 ? 0.45 : 1;
      }
      regimes[i] = regime;
    }
    const weights = DAY_WEIGHTS;
    let sum = 0;
    for (let m = 0; m < DAY_MIN; m++) {
      const w = DAY_PROFILE[m]! * regimes[Math.floor(m / 15)]! *
        Math.exp(
          0.5 * smooth(hourKnots, m / 60) + 0.35 * smooth(tenKnots, m / 10) +
            0.5 * gauss(rng),
        );
      weights[m] = w;
      sum += w;
    }
    // Filled in one 32-bit scratch array, then copied: a store loop over
    // either width was a deopt at every change of width.
    const scratch = PREFIX_SCRATCH;
    let acc = 0;
    for (let m = 0; m < DAY_MIN; m++) {
      acc += weights[m]!;
      scratch[m + 1] = m === DAY_MIN - 1
        ? total
        : Math.floor((total * acc) / sum);
    }
    prefix = prefixOf(total, scratch);
    state.prefixes.set(day, prefix);
    return prefix;
  }

  /** Trades in one minute, own ones included. */
  #minuteSize(state: PairState, minute: number): number {
    if (state.replay) {
      return (state.replay.minutes.get(minute)?.length ?? 0) +
        this.#ownIn(state, minute);
    }
    const day = Math.floor(minute / DAY_MIN);
    const prefix = this.#prefix(state, day);
    const m = minute - day * DAY_MIN;
    const n = prefix[m + 1]! - prefix[m]!;
    return n + this.#ownIn(state, minute);
  }

  // -------------------------------------------------------------------------
  // Internals: trades

  /** Every generated trade of one minute, ids as if no own trade existed. */
  #synth(state: PairState, minute: number): readonly SimTrade[] {
    if (state.replay) return state.replay.minutes.get(minute) ?? EMPTY;
    const cached = state.synth.get(minute);
    if (cached) return cached;
    const trades: TapeTrade[] = [];
    const key = state.model.pair.key;
    const day = Math.floor(minute / DAY_MIN);
    const firstId = this.#dayIdBase(state.model, day) +
      this.#prefix(state, day)[minute - day * DAY_MIN]! + 1;
    this.#generate(
      state,
      minute,
      (timeUs, subNs, priceUnits, volumeUnits, side, orderType) => {
        trades.push(
          new TapeTrade(
            key,
            firstId + trades.length,
            timeUs,
            subNs,
            priceUnits,
            volumeUnits,
            side,
            orderType,
          ),
        );
      },
    );
    const out = trades.length === 0 ? EMPTY : trades;
    state.synth.set(minute, out);
    return out;
  }

  /**
   * Generate one minute's trades into `sink`, oldest first (one seeded
   * stream per minute). Returns the id of its first trade (before own trades;
   * 0 when `sink` is an aggregate, which needs no ids).
   */
  #generate(
    state: PairState,
    minute: number,
    sink: TradeSink | Accumulator,
  ): number {
    // Aggregates take the monomorphic path (no closure call per fill).
    const acc = sink instanceof Accumulator ? sink : undefined;
    const emit = acc ? undefined : sink as TradeSink;
    if (state.replay) {
      const list: readonly TapeTrade[] = state.replay.minutes.get(minute) ??
        [];
      for (const t of list) {
        if (acc) acc.add(t.priceUnits, t.volumeUnits);
        else {
          emit!(
            t.timeUs,
            t.subNs,
            t.priceUnits,
            t.volumeUnits,
            t.side,
            t.orderType,
          );
        }
      }
      return 0;
    }
    const model = state.model;
    const day = Math.floor(minute / DAY_MIN);
    const prefix = this.#prefix(state, day);
    const m = minute - day * DAY_MIN;
    const count = prefix[m + 1]! - prefix[m]!;
    // Aggregates need no ids (the id base costs two hashes a minute).
    const firstId = acc ? 0 : this.#dayIdBase(model, day) + prefix[m]! + 1;
    if (count === 0) return firstId;
    const rng = new Stream(hashTail(model.minuteHash, minute));
    // Taker orders of 1…n fills.
    const fills = FILLS;
    fills.length = 0;
    const more = 1 - 1 / model.fillsMean;
    for (let left = count; left > 0;) {
      let k = 1;
      while (k < left && rng.next() < more) k++;
      fills.push(k);
      left -= k;
    }
    // Arrival gaps: bursts of short gaps between long ones, scaled to the minute.
    const n = fills.length;
    const longMean = Math.max(0.1, (60 - 0.052 * n) / (0.35 * n + 1));
    if (ARRIVALS.length < n) ARRIVALS = new Float64Array(n * 2);
    const at = ARRIVALS;
    let clock = 0;
    for (let i = 0; i <= n; i++) {
      const mean = i > 0 && rng.next() < 0.65 ? 0.08 : longMean;
      clock += -Math.log(1 - rng.next()) * mean;
      if (i < n) at[i] = clock;
    }
    const room = MINUTE_SPAN_US - count;
    const l0 = this.#logPrice(model, minute);
    const l1 = this.#logPrice(model, minute + 1);
    const buyShare = l1 >= l0 ? 0.55 : 0.45;
    const minuteUs = minute * MINUTE_US;
    let lastUs = -1;
    // The aggregate path sums in locals and hands the minute over once (a
    // call per fill with unsafe-integer arguments costs an allocation each).
    let sumVolume = 0;
    let sumPv = 0;
    let bigVolume = 0n;
    let bigPv = 0n;
    let runOpen = 0;
    let runHigh = -Infinity;
    let runLow = Infinity;
    let runClose = 0;
    let runCount = 0;
    for (let i = 0; i < n; i++) {
      const offsetUs = Math.floor((at[i]! / clock) * room);
      const logP = l0 + (l1 - l0) * (offsetUs / MINUTE_US) +
        model.microSigma * gauss(rng);
      const mid = Math.exp(logP) * model.priceScale;
      const spread = spreadOf(model.spreadTicks, rng.next());
      const bid = Math.max(1, Math.round(mid - spread / 2));
      const side: "b" | "s" = rng.next() < buyShare ? "b" : "s";
      const orderType: "m" | "l" = rng.next() < 0.35 ? "l" : "m";
      const rounded = rng.next() < 0.15;
      let price = side === "b" ? bid + spread : bid;
      for (let j = 0; j < fills[i]!; j++) {
        if (j > 0) {
          if (side === "b") price = this.#nextLevelUp(model, price + 1);
          else {
            const down = this.#nextLevelDown(model, price - 1);
            if (down >= 1) price = down;
          }
        }
        let volume = model.meanVolume * sizeFactor(rng);
        if (rounded) volume = roundSignificant(volume);
        lastUs = Math.max(offsetUs + j, lastUs + 1);
        const subNs = Math.floor(rng.next() * 500);
        const volumeUnits = Math.max(1, Math.round(volume * model.lotScale));
        if (acc) {
          const p = price * volumeUnits;
          if (Number.isSafeInteger(p) && Number.isSafeInteger(sumPv + p)) {
            sumPv += p;
          } else {
            bigPv += BigInt(price) * BigInt(volumeUnits);
          }
          if (Number.isSafeInteger(sumVolume + volumeUnits)) {
            sumVolume += volumeUnits;
          } else {
            bigVolume += BigInt(volumeUnits);
          }
          if (runCount === 0) runOpen = price;
          if (price > runHigh) runHigh = price;
          if (price < runLow) runLow = price;
          runClose = price;
          runCount++;
        } else {
          emit!(minuteUs + lastUs, subNs, price, volumeUnits, side, orderType);
        }
      }
    }
    acc?.addRun(
      runCount,
      sumVolume,
      sumPv,
      bigVolume,
      bigPv,
      runOpen,
      runHigh,
      runLow,
      runClose,
    );
    return firstId;
  }

  /**
   * {@linkcode Market.#generate} into an accumulator, for a generated (not
   * replayed) minute: the same draws in the same order, with the stream,
   * the normal table lookups and the size factor written out in place. The
   * 24 h window of a first ticker generates every trade of the day (≈1 M at
   * 300 pairs); as calls, each draw returned a boxed double.
   */
  #generateSums(state: PairState, minute: number, acc: Accumulator): void {
    const model = state.model;
    const day = Math.floor(minute / DAY_MIN);
    const prefix = this.#prefix(state, day);
    const m = minute - day * DAY_MIN;
    const count = prefix[m + 1]! - prefix[m]!;
    if (count === 0) return;
    // mulberry32, as in Stream.next: `s` is the state, `t` scratch.
    let s = hashTail(model.minuteHash, minute) | 0;
    let t = 0;
    // Fill counts of the taker orders in a reused Int32Array (emptying an
    // array by `length = 0` frees its store, so every minute re-grew it).
    if (FILL_SIZES.length < count) FILL_SIZES = new Int32Array(count * 2);
    const fills = FILL_SIZES;
    let n = 0;
    const more = 1 - 1 / model.fillsMean;
    for (let left = count; left > 0;) {
      let k = 1;
      while (
        k < left &&
        (s = (s + 0x6d2b79f5) | 0,
            t = Math.imul(s ^ (s >>> 15), s | 1),
            t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
            ((t ^ (t >>> 14)) >>> 0) / 4294967296) < more
      ) k++;
      fills[n++] = k;
      left -= k;
    }

    const longMean = Math.max(0.1, (60 - 0.052 * n) / (0.35 * n + 1));
    if (ARRIVALS.length < n) ARRIVALS = new Float64Array(n * 2);
    const at = ARRIVALS;
    let clock = 0;
    for (let i = 0; i <= n; i++) {
      const mean = i > 0 &&
          (s = (s + 0x6d2b79f5) | 0,
              t = Math.imul(s ^ (s >>> 15), s | 1),
              t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
              ((t ^ (t >>> 14)) >>> 0) / 4294967296) < 0.65
        ? 0.08
        : longMean;
      clock += -Math.log(
        1 -
          (s = (s + 0x6d2b79f5) | 0,
            t = Math.imul(s ^ (s >>> 15), s | 1),
            t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
            ((t ^ (t >>> 14)) >>> 0) / 4294967296),
      ) * mean;
      if (i < n) at[i] = clock;
    }
    const room = MINUTE_SPAN_US - count;
    const l0 = this.#logPrice(model, minute);
    const l1 = this.#logPrice(model, minute + 1);
    const buyShare = l1 >= l0 ? 0.55 : 0.45;
    const table = NORMAL_TABLE;
    let sumVolume = 0;
    let sumPv = 0;
    let bigVolume = 0n;
    let bigPv = 0n;
    let runOpen = 0;
    let runHigh = -Infinity;
    let runLow = Infinity;
    let runClose = 0;
    let runCount = 0;
    for (let i = 0; i < n; i++) {
      const offsetUs = Math.floor((at[i]! / clock) * room);
      let x =
        (s = (s + 0x6d2b79f5) | 0,
          t = Math.imul(s ^ (s >>> 15), s | 1),
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
          ((t ^ (t >>> 14)) >>> 0) / 4294967296) * 4096;
      let xi = x | 0;
      let lo = table[xi]!;
      const z = lo + (table[xi + 1]! - lo) * (x - xi);
      const logP = l0 + (l1 - l0) * (offsetUs / MINUTE_US) +
        model.microSigma * z;
      const mid = Math.exp(logP) * model.priceScale;
      const spread = spreadOf(
        model.spreadTicks,
        (s = (s + 0x6d2b79f5) | 0,
          t = Math.imul(s ^ (s >>> 15), s | 1),
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
          ((t ^ (t >>> 14)) >>> 0) / 4294967296),
      );
      const bid = Math.max(1, Math.round(mid - spread / 2));
      const buy =
        (s = (s + 0x6d2b79f5) | 0,
          t = Math.imul(s ^ (s >>> 15), s | 1),
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
          ((t ^ (t >>> 14)) >>> 0) / 4294967296) < buyShare;
      (s = (s + 0x6d2b79f5) | 0,
        t = Math.imul(s ^ (s >>> 15), s | 1),
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
        ((t ^ (t >>> 14)) >>> 0) / 4294967296); // order type: not part of an aggregate
      const rounded =
        (s = (s + 0x6d2b79f5) | 0,
          t = Math.imul(s ^ (s >>> 15), s | 1),
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
          ((t ^ (t >>> 14)) >>> 0) / 4294967296) < 0.15;
      let price = buy ? bid + spread : bid;
      for (let j = 0; j < fills[i]!; j++) {
        if (j > 0) {
          if (buy) price = this.#nextLevelUp(model, price + 1);
          else {
            const down = this.#nextLevelDown(model, price - 1);
            if (down >= 1) price = down;
          }
        }
        // sizeFactor, written out.
        x =
          (s = (s + 0x6d2b79f5) | 0,
            t = Math.imul(s ^ (s >>> 15), s | 1),
            t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
            ((t ^ (t >>> 14)) >>> 0) / 4294967296) * 4096;
        xi = x | 0;
        lo = table[xi]!;
        const body = Math.exp(
          SIZE_SIGMA * (lo + (table[xi + 1]! - lo) * (x - xi)) -
            SIZE_SIGMA ** 2 / 2,
        );
        const tail =
          (s = (s + 0x6d2b79f5) | 0,
              t = Math.imul(s ^ (s >>> 15), s | 1),
              t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
              ((t ^ (t >>> 14)) >>> 0) / 4294967296) < TAIL_SHARE
            ? Math.min(
              50,
              (1 -
                (s = (s + 0x6d2b79f5) | 0,
                  t = Math.imul(s ^ (s >>> 15), s | 1),
                  t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
                  ((t ^ (t >>> 14)) >>> 0) / 4294967296)) ** (-1 / 1.6),
            )
            : 1;
        let volume = model.meanVolume * ((body * tail) / SIZE_NORM);
        if (rounded) volume = roundSignificant(volume);
        (s = (s + 0x6d2b79f5) | 0,
          t = Math.imul(s ^ (s >>> 15), s | 1),
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61),
          ((t ^ (t >>> 14)) >>> 0) / 4294967296); // sub-nanoseconds: not part of an aggregate
        const volumeUnits = Math.max(1, Math.round(volume * model.lotScale));
        const pv = price * volumeUnits;
        if (Number.isSafeInteger(pv) && Number.isSafeInteger(sumPv + pv)) {
          sumPv += pv;
        } else {
          bigPv += BigInt(price) * BigInt(volumeUnits);
        }
        if (Number.isSafeInteger(sumVolume + volumeUnits)) {
          sumVolume += volumeUnits;
        } else {
          bigVolume += BigInt(volumeUnits);
        }
        if (runCount === 0) runOpen = price;
        if (price > runHigh) runHigh = price;
        if (price < runLow) runLow = price;
        runClose = price;
        runCount++;
      }
    }
    acc.addRun(
      runCount,
      sumVolume,
      sumPv,
      bigVolume,
      bigPv,
      runOpen,
      runHigh,
      runLow,
      runClose,
    );
  }

  /** A minute's aggregate without keeping its trades when it can. */
  #minuteAggregate(state: PairState, minute: number): TradeAggregate | null {
    const cached = state.synth.get(minute);
    if (cached || this.#ownIn(state, minute) > 0) {
      return aggregateOf(this.#minute(state, minute));
    }
    const acc = new Accumulator();
    if (state.replay) this.#generate(state, minute, acc);
    else this.#generateSums(state, minute, acc);
    return acc.result();
  }

  /** Own trades in one minute. */
  #ownIn(state: PairState, minute: number): number {
    const trades = state.own?.trades;
    if (!trades || trades.length === 0) return 0;
    return firstAtOrAfter(trades, (minute + 1) * MINUTE_US, 0) -
      firstAtOrAfter(trades, minute * MINUTE_US, 0);
  }

  /** Every trade of one minute with final ids, own trades merged in. */
  #minute(state: PairState, minute: number): readonly SimTrade[] {
    const synth = this.#synth(state, minute);
    const own = state.own;
    if (!own || own.trades.length === 0) return synth;
    const cached = state.merged!.get(minute);
    if (cached) return cached;
    const from = firstAtOrAfter(own.trades, minute * MINUTE_US, 0);
    const to = firstAtOrAfter(own.trades, (minute + 1) * MINUTE_US, 0);
    let out: readonly SimTrade[] = synth;
    if (from > 0 || to > from) {
      const merged: SimTrade[] = [];
      let p = from;
      for (const s of synth) {
        const t = s as TapeTrade;
        while (p < to && earlier(own.trades[p]!, t.timeUs, t.subNs)) {
          merged.push(own.trades[p++]!);
        }
        merged.push(p === 0 ? t : t.withId(t.tradeId + p));
      }
      while (p < to) merged.push(own.trades[p++]!);
      out = merged;
    }
    state.merged!.set(minute, out);
    return out;
  }

  /** Skip back over empty minutes; returns the minute before the next busy one (loop does m--). */
  #skipEmptyBack(
    state: PairState,
    minute: number,
    floorMinute: number,
  ): number {
    let m = minute - 1;
    while (m >= floorMinute && this.#minuteSize(state, m) === 0) m--;
    return m + 1;
  }

  #skipEmptyForward(
    state: PairState,
    minute: number,
    lastMinute: number,
  ): number {
    let m = minute + 1;
    while (m <= lastMinute && this.#minuteSize(state, m) === 0) m++;
    return m - 1;
  }

  /** The latest trade at or before `atUs` (visible or not). */
  #lastTrade(state: PairState, atUs: number): SimTrade {
    let m = Math.floor(atUs / MINUTE_US);
    if (state.replay) {
      // Start at the latest replayed or own trade at or before `atUs`.
      const tape = state.replay.trades;
      const own = state.own?.trades ?? [];
      const i = firstAtOrAfter(tape, atUs + 1, 0);
      const j = firstAtOrAfter(own, atUs + 1, 0);
      const latest = Math.max(
        i > 0 ? tape[i - 1]!.timeUs : -Infinity,
        j > 0 ? own[j - 1]!.timeUs : -Infinity,
      );
      if (latest === -Infinity) return state.replay.reference;
      m = Math.floor(latest / MINUTE_US);
    }
    // Bounded search: even the quietest pair trades every few hours.
    for (let steps = 0; steps < 60 * DAY_MIN; steps++, m--) {
      if (this.#minuteSize(state, m) === 0) continue;
      const minute = this.#minute(state, m);
      for (let i = minute.length - 1; i >= 0; i--) {
        if (minute[i]!.timeUs <= atUs) return minute[i]!;
      }
    }
    throw new RangeError(
      `No trade found before ${atUs} for ${state.model.pair.key}`,
    );
  }

  // -------------------------------------------------------------------------
  // Internals: book

  #top(model: PairModel, last: SimTrade): { bestBid: number; bestAsk: number } {
    const spread = spreadOf(
      model.spreadTicks,
      unit(this.#seed, CH_SPREAD, model.pair.index, last.timeUs),
    );
    const price = last.priceUnits;
    if (last.side === "b") {
      return { bestAsk: price, bestBid: Math.max(1, price - spread) };
    }
    return { bestBid: price, bestAsk: price + spread };
  }

  #levelIn(model: PairModel, block: number): number {
    const size = model.levelBlock;
    const slot = block & LEVEL_CACHE_MASK;
    if (model.levelTags[slot] === block) {
      return block * size + model.levelOffsets[slot]!;
    }
    const offset = hashOffset(this.#seed, model.pair.index, block) % size;
    model.levelTags[slot] = block;
    model.levelOffsets[slot] = offset;
    return block * size + offset;
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

  /**
   * What own fills took from a level and has not refilled by `atMs`
   * (`undefined` when none ever did), and when that last changed it. A
   * level refills exponentially (`refillMs`), in tenth steps of the time
   * constant so it changes a few times, not on every tick.
   */
  #taken(
    state: PairState,
    side: "a" | "b",
    priceUnits: number,
    atMs: number,
  ): { units: number; updatedMs: number } | undefined {
    const consumed = state.own?.consumed.get(`${side}:${priceUnits}`);
    if (!consumed) return undefined;
    const refillMs = state.model.refillMs;
    const step = refillMs / 10;
    let taken = 0;
    let updatedMs = -Infinity;
    for (const c of consumed) {
      // Fully refilled after ten time constants.
      if (c.atMs > atMs || atMs - c.atMs >= 10 * refillMs) continue;
      const steps = Math.floor((atMs - c.atMs) / step);
      taken += c.qtyUnits * Math.exp((-steps * step) / refillMs);
      updatedMs = Math.max(updatedMs, c.atMs + steps * step);
    }
    return { units: Math.round(taken), updatedMs };
  }

  /**
   * A replayed pair's recorded book at `atMs` (`undefined` before its first
   * verified frame, or when own fills left a side empty: the model's book
   * stands in), less what own fills took from its levels.
   */
  #tapeBook(
    state: PairState,
    tape: BookTape,
    atMs: number,
    depth: number,
  ): BookSnapshot | undefined {
    const view = tape.at(horizonUs(atMs));
    if (!view) return undefined;
    const asks = this.#tapeSide(state, "a", view.asks, atMs, depth);
    const bids = this.#tapeSide(state, "b", view.bids, atMs, depth);
    if (asks.length === 0 || bids.length === 0) return undefined;
    return { pair: state.model.pair.key, atMs, asks, bids };
  }

  #tapeSide(
    state: PairState,
    side: "a" | "b",
    levels: readonly number[],
    atMs: number,
    depth: number,
  ): BookLevel[] {
    const pair = state.model.pair;
    const out: BookLevel[] = [];
    for (let i = 0; i < levels.length && out.length < depth; i += 3) {
      const priceUnits = levels[i]!;
      let qtyUnits = levels[i + 1]!;
      let updatedMs = Math.floor(levels[i + 2]! / 1000);
      const taken = this.#taken(state, side, priceUnits, atMs);
      if (taken) {
        qtyUnits -= taken.units;
        updatedMs = Math.max(updatedMs, taken.updatedMs);
        if (qtyUnits <= 0) continue;
      }
      out.push({
        price: formatUnits(priceUnits, pair.pairDecimals),
        qty: formatUnits(qtyUnits, pair.lotDecimals),
        priceUnits,
        qtyUnits,
        updatedMs,
      });
    }
    return out;
  }

  /** One level, or `undefined` when own fills emptied it. */
  #level(
    state: PairState,
    side: "a" | "b",
    priceUnits: number,
    atMs: number,
    minUpdatedMs: number,
    distanceTicks: number,
    previous?: readonly BookLevel[],
  ): BookLevel | undefined {
    const model = state.model;
    const seed = this.#seed;
    const idx = model.pair.index;
    const levels = distanceTicks / model.levelBlock;
    const periodMs = Math.round(
      model.levelPeriodMs *
        (1 + 3 * unit(seed, CH_LEVEL_PERIOD, idx, priceUnits)) *
        (1 + levels / 8),
    );
    const phaseMs = Math.floor(
      unit(seed, CH_LEVEL_PHASE, idx, priceUnits) * periodMs,
    );
    const epoch = Math.floor((atMs + phaseMs) / periodMs);
    const wall = unit(seed, CH_LEVEL_WALL, idx, priceUnits, epoch) < 0.05
      ? 6
      : 1;
    // Depth: +3 % per grid level from the minute's reference, at most 4×.
    const qty = model.topQty * Math.min(4, 1 + 0.03 * levels) * wall *
      Math.exp(
        0.9 * normal(seed, CH_LEVEL_QTY + idx * 64, priceUnits, epoch) - 0.405,
      );
    let qtyUnits = Math.max(1, Math.round(qty * model.lotScale));
    let updatedMs = Math.max(
      epoch * periodMs - phaseMs,
      Math.floor(minUpdatedMs),
    );
    const taken = this.#taken(state, side, priceUnits, atMs);
    if (taken) {
      updatedMs = Math.max(updatedMs, taken.updatedMs);
      qtyUnits -= taken.units;
      if (qtyUnits <= 0) return undefined;
    }
    if (previous) {
      for (const p of previous) {
        if (p.priceUnits !== priceUnits) continue;
        if (p.qtyUnits === qtyUnits && p.updatedMs === updatedMs) return p;
        break;
      }
    }
    return {
      price: formatUnits(priceUnits, model.pair.pairDecimals),
      qty: formatUnits(qtyUnits, model.pair.lotDecimals),
      priceUnits,
      qtyUnits,
      updatedMs,
    };
  }

  // -------------------------------------------------------------------------
  // Internals: aggregates

  /** Aggregate of trades with `fromUs ≤ time < toUs`, clamped to history and now. */
  #aggregateUs(
    state: PairState,
    fromUs: number,
    toUs: number,
  ): TradeAggregate | null {
    const lo = Math.max(fromUs, this.#historyStartMs * 1000);
    const hi = Math.min(toUs, horizonUs(this.#now()) + 1);
    if (hi <= lo) return null;
    const firstFull = Math.ceil(lo / MINUTE_US);
    const lastFull = Math.floor(hi / MINUTE_US); // exclusive
    // One running sum for the whole range: a ticker sums ~45 cached blocks
    // per window at every step, and merging immutable aggregates allocated
    // an object and two bigints per block.
    const acc = new Accumulator();
    if (firstFull >= lastFull) {
      this.#partial(state, lo, hi, acc);
    } else {
      this.#partial(state, lo, firstFull * MINUTE_US, acc);
      this.#wholeMinutes(state, firstFull, lastFull, acc);
      this.#partial(state, lastFull * MINUTE_US, hi, acc);
    }
    return acc.result();
  }

  #partial(
    state: PairState,
    fromUs: number,
    toUs: number,
    acc: Accumulator,
  ): void {
    if (toUs <= fromUs) return;
    for (let m = Math.floor(fromUs / MINUTE_US); m * MINUTE_US < toUs; m++) {
      for (const t of this.#minute(state, m)) {
        if (t.timeUs >= fromUs && t.timeUs < toUs) {
          acc.add(t.priceUnits, t.volumeUnits);
        }
      }
    }
  }

  #wholeMinutes(
    state: PairState,
    from: number,
    to: number,
    acc: Accumulator,
  ): void {
    let m = from;
    while (m < to) {
      let sizeIndex = 0;
      while (
        m % BLOCK_MIN[sizeIndex]! !== 0 || m + BLOCK_MIN[sizeIndex]! > to
      ) {
        sizeIndex++;
      }
      acc.addAggregate(this.#block(state, sizeIndex, m, true));
      m += BLOCK_MIN[sizeIndex]!;
    }
  }

  /** Aggregate of one aligned block; minutes are cached only as range edges. */
  #block(
    state: PairState,
    sizeIndex: number,
    start: number,
    edge: boolean,
  ): TradeAggregate | null {
    const size = BLOCK_MIN[sizeIndex]!;
    const cache = size === 1 ? state.aggs : state.blocks;
    const key = size === 1 ? start : start * 4 + sizeIndex;
    // Blocks asked for directly (range edges, candles) are cached; the
    // sub-blocks a larger block is summed from are reused when cached but
    // not stored: a 24 h window would otherwise keep four 15-minute blocks
    // under every hour block (≈ 90 aggregates a pair that nothing reads).
    if (size > 1 || edge) {
      const cached = cache.get(key);
      if (cached !== undefined) return cached;
    }
    let agg: TradeAggregate | null;
    if (size === 1) {
      agg = this.#minuteAggregate(state, start);
    } else if (size === BLOCK_MIN[BLOCK_MIN.length - 2]) {
      // The smallest cached block: one running sum over its minutes.
      const acc = new Accumulator();
      for (let m = start; m < start + size; m++) {
        if (state.synth.has(m) || this.#ownIn(state, m) > 0) {
          for (const t of this.#minute(state, m)) {
            acc.add(t.priceUnits, t.volumeUnits);
          }
        } else if (state.replay) {
          this.#generate(state, m, acc);
        } else {
          this.#generateSums(state, m, acc);
        }
      }
      agg = acc.result();
    } else {
      agg = null;
      const smaller = BLOCK_MIN[sizeIndex + 1]!;
      for (let m = start; m < start + size; m += smaller) {
        agg = merge(agg, this.#block(state, sizeIndex + 1, m, false));
      }
    }
    if (edge) cache.set(key, agg);
    return agg;
  }
}

/** The last microsecond a millisecond covers: windows are whole milliseconds. */
function horizonUs(ms: number): number {
  return Math.floor(ms) * 1000 + 999;
}

/** Index of the first trade at or after `(timeUs, subNs)` in a list sorted by time. */
function firstAtOrAfter(
  trades: readonly TapeTrade[],
  timeUs: number,
  subNs: number,
): number {
  let lo = 0;
  let hi = trades.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (earlier(trades[mid]!, timeUs, subNs)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether a trade is strictly before `(timeUs, subNs)`. */
function earlier(t: TapeTrade, timeUs: number, subNs: number): boolean {
  return t.timeUs < timeUs || (t.timeUs === timeUs && t.subNs < subNs);
}

/** Where generated trades go: a list or an aggregate. */
type TradeSink = (
  timeUs: number,
  subNs: number,
  priceUnits: number,
  volumeUnits: number,
  side: "b" | "s",
  orderType: "m" | "l",
) => void;

/** A trade of the tape; `timeNs` is made only when asked for. */
class TapeTrade implements SimTrade {
  readonly own?: true;
  constructor(
    readonly pair: string,
    readonly tradeId: number,
    readonly timeUs: number,
    /** Nanoseconds past `timeUs` (generated 0–499, own 500–999). */
    readonly subNs: number,
    readonly priceUnits: number,
    readonly volumeUnits: number,
    readonly side: "b" | "s",
    readonly orderType: "m" | "l",
    own = false,
    /** The id before own trades shifted it (generated trades). */
    readonly baseId: number = tradeId,
  ) {
    if (own) this.own = true;
  }

  get timeNs(): bigint {
    return BigInt(this.timeUs) * 1000n + BigInt(this.subNs);
  }

  /** The same trade under another id. */
  withId(tradeId: number): TapeTrade {
    return new TapeTrade(
      this.pair,
      tradeId,
      this.timeUs,
      this.subNs,
      this.priceUnits,
      this.volumeUnits,
      this.side,
      this.orderType,
      this.own === true,
      this.baseId,
    );
  }
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Exact running sums of trades in time order. */
class Accumulator {
  count = 0;
  #volume = 0;
  #pv = 0;
  #bigVolume = 0n;
  #bigPv = 0n;
  #open = 0;
  #high = -Infinity;
  #low = Infinity;
  #close = 0;

  add(priceUnits: number, volumeUnits: number): void {
    const p = priceUnits * volumeUnits;
    if (Number.isSafeInteger(p) && Number.isSafeInteger(this.#pv + p)) {
      this.#pv += p;
    } else {
      this.#bigPv += BigInt(priceUnits) * BigInt(volumeUnits);
    }
    if (Number.isSafeInteger(this.#volume + volumeUnits)) {
      this.#volume += volumeUnits;
    } else {
      this.#bigVolume += BigInt(volumeUnits);
    }
    if (this.count === 0) this.#open = priceUnits;
    if (priceUnits > this.#high) this.#high = priceUnits;
    if (priceUnits < this.#low) this.#low = priceUnits;
    this.#close = priceUnits;
    this.count++;
  }

  /**
   * Add a run of trades summed elsewhere (a generated minute): `volume` and
   * `pv` are safe integers, `bigVolume`/`bigPv` what did not fit.
   */
  addRun(
    count: number,
    volume: number,
    pv: number,
    bigVolume: bigint,
    bigPv: bigint,
    open: number,
    high: number,
    low: number,
    close: number,
  ): void {
    if (count === 0) return;
    if (Number.isSafeInteger(this.#pv + pv)) this.#pv += pv;
    else this.#bigPv += BigInt(pv);
    if (Number.isSafeInteger(this.#volume + volume)) this.#volume += volume;
    else this.#bigVolume += BigInt(volume);
    if (bigPv !== 0n) this.#bigPv += bigPv;
    if (bigVolume !== 0n) this.#bigVolume += bigVolume;
    if (this.count === 0) this.#open = open;
    if (high > this.#high) this.#high = high;
    if (low < this.#low) this.#low = low;
    this.#close = close;
    this.count += count;
  }

  /** Add an aggregate of later trades (`null`: none). */
  addAggregate(agg: TradeAggregate | null): void {
    if (agg === null || agg.count === 0) return;
    if (agg.volume <= MAX_SAFE_BIG) {
      const v = Number(agg.volume);
      if (Number.isSafeInteger(this.#volume + v)) this.#volume += v;
      else this.#bigVolume += agg.volume;
    } else this.#bigVolume += agg.volume;
    if (agg.pv <= MAX_SAFE_BIG) {
      const pv = Number(agg.pv);
      if (Number.isSafeInteger(this.#pv + pv)) this.#pv += pv;
      else this.#bigPv += agg.pv;
    } else this.#bigPv += agg.pv;
    if (this.count === 0) this.#open = agg.open;
    if (agg.high > this.#high) this.#high = agg.high;
    if (agg.low < this.#low) this.#low = agg.low;
    this.#close = agg.close;
    this.count += agg.count;
  }

  result(): TradeAggregate | null {
    if (this.count === 0) return null;
    return {
      count: this.count,
      volume: BigInt(this.#volume) + this.#bigVolume,
      pv: BigInt(this.#pv) + this.#bigPv,
      open: this.#open,
      high: this.#high,
      low: this.#low,
      close: this.#close,
    };
  }
}

/**
 * A copy of a day's prefix, 16-bit when the total fits. One copy site per
 * width: the JIT deoptimized a shared one whenever the width changed.
 */
function prefixOf(
  total: number,
  scratch: Uint32Array,
): Uint16Array | Uint32Array {
  if (total < 65536) {
    const narrow = new Uint16Array(DAY_MIN + 1);
    narrow.set(scratch);
    return narrow;
  }
  const wide = new Uint32Array(DAY_MIN + 1);
  wide.set(scratch);
  return wide;
}

/** Smooth interpolation between knots at integer positions. */
function smooth(knots: Float64Array, x: number): number {
  const k = Math.floor(x);
  const f = x - k;
  const a = knots[k] ?? 0;
  const b = knots[k + 1] ?? a;
  return a + (b - a) * f * f * (3 - 2 * f);
}

/** The exact aggregate of trades in time order (`null` for none). */
function aggregateOf(trades: readonly SimTrade[]): TradeAggregate | null {
  const acc = new Accumulator();
  for (const t of trades) acc.add(t.priceUnits, t.volumeUnits);
  return acc.result();
}

/**
 * Value noise of one path at several scales, with the two knots around the
 * last point asked for kept per scale: the same numbers as
 * value noise with smoothstep between hashed knots, without re-hashing knots shared by nearby minutes.
 */
class Knots {
  #prefix: number;
  #k: Float64Array;
  #a: Float64Array;
  #b: Float64Array;

  constructor(seed: number, channel: number, salt: number, scales: number) {
    this.#prefix = hashPrefix(seed, channel, salt);
    this.#k = new Float64Array(scales).fill(NaN);
    this.#a = new Float64Array(scales);
    this.#b = new Float64Array(scales);
  }

  /**
   * `Σ weights[i] · at(i, scales[i], tMin)`, in index order (one call per
   * minute instead of one per scale: the same sum, bit for bit).
   */
  weightedSum(
    scales: readonly number[],
    weights: readonly number[],
    tMin: number,
  ): number {
    const ks = this.#k;
    const as = this.#a;
    const bs = this.#b;
    let sum = 0;
    for (let i = 0; i < scales.length; i++) {
      const scale = scales[i]!;
      const x = tMin / scale;
      const k = Math.floor(x);
      if (ks[i] !== k) {
        const a = ks[i] === k - 1
          ? bs[i]!
          : hashTail(this.#prefix, scale, k) / 4294967296 * 2 - 1;
        as[i] = a;
        bs[i] = hashTail(this.#prefix, scale, k + 1) / 4294967296 * 2 - 1;
        ks[i] = k;
      }
      const f = x - k;
      const a = as[i]!;
      sum += weights[i]! * (a + (bs[i]! - a) * (f * f * (3 - 2 * f)));
    }
    return sum;
  }
}

function hashOffset(seed: number, index: number, block: number): number {
  return Math.floor(unit(seed, CH_LEVEL_AT, index, block) * 2 ** 31);
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
