/**
 * Level 2 order books for Kraken WebSocket v2 `book` channels, with the CRC32
 * checksum computed from the exact wire digits.
 *
 * {@linkcode BookSet} keeps one book per tracked symbol at its subscribed
 * depth (10, 25, 100, 500 or 1000) and takes raw frame text from the socket:
 *
 * 1. A `snapshot` replaces the book; an `update` applies its levels in array
 *    order (`qty` zero deletes; the same price may repeat).
 * 2. Each side is then truncated to the depth (Kraken never deletes levels
 *    pushed out of range).
 * 3. The checksum (top 10 asks ascending, then top 10 bids descending; price
 *    then qty; `.` removed and leading zeros stripped; CRC-32 of the digits)
 *    is compared with the frame's `checksum`.
 * 4. On a mismatch the book is dropped and marked `resyncing`; its updates
 *    are ignored until a new snapshot, and the first mismatch of each episode
 *    asks the caller to resubscribe (unsubscribe + subscribe, same depth).
 *    Other symbols are not touched.
 *
 * Numbers never go through floats: each price and qty is kept as an exact
 * fixed-point value (mantissa + scale, see `_book_frame.ts`), so `45281.0` and
 * `0.10000000` hash with their trailing zeros, and the CRC is fed the
 * mantissa digits directly. Prices are ordered by `mantissa / 10^scale`,
 * which is exact for prices of up to 15 significant digits.
 *
 * Precision: Kraken prints every price and qty with the pair's full
 * precision, and the checksum depends on it. If a feed prints fewer decimals
 * (e.g. `0.1` where the pair's qty precision is 8), pass `priceDecimals` /
 * `qtyDecimals` to {@linkcode BookSet.track} (from the `instrument` channel's
 * `price_precision` / `qty_precision`, or REST `pair_decimals` /
 * `lot_decimals`): shorter numbers are then padded with trailing zeros to that
 * many decimals before hashing and in {@linkcode BookSet.top}. Numbers with
 * more decimals than configured are kept as sent.
 *
 * @module
 */

import {
  BOOK_FRAME_BOOK,
  BOOK_FRAME_MALFORMED,
  BookFrameScanner,
  ENTRY_ASKS_FROM,
  ENTRY_ASKS_TO,
  ENTRY_BIDS_FROM,
  ENTRY_BIDS_TO,
  ENTRY_CHECKSUM,
  ENTRY_STRIDE,
  ENTRY_SYMBOL_HASH,
  formatFixed,
  LEVEL_STRIDE,
  MAX_SCALE,
  symbolHash,
} from "./_book_frame.ts";
import {
  CRC32_INITIAL,
  crc32Final,
  crc32ShiftZeros,
  crc32UpdateByte,
  crc32UpdateDigits,
  crc32UpdatePaddedDigits,
} from "./_crc32.ts";

/** A subscribable v2 book depth. */
export type BookDepth = 10 | 25 | 100 | 500 | 1000;

/**
 * State of one symbol's book: `ok` (checksum verified), `resyncing`
 * (dropped after a mismatch, waiting for a snapshot) or `empty` (tracked, no
 * snapshot yet, or not tracked at all).
 */
export type BookIntegrity = "ok" | "resyncing" | "empty";

/** What {@linkcode BookSet.applyText} did with a frame. */
export type BookApplyResult =
  | { kind: "applied"; symbol: string; type: "snapshot" | "update" }
  | {
    kind: "mismatch";
    symbol: string;
    expected: number;
    actual: number;
    /** True only on the first mismatch since the last snapshot. */
    resubscribe: boolean;
  }
  | { kind: "ignored"; symbol: string; reason: string }
  | { kind: "malformed"; reason: string };

/** One price level as exact decimal text. */
export interface BookLevelView {
  /** Price, e.g. `"45281.0"`. */
  price: string;
  /** Quantity, e.g. `"0.10000000"`. */
  qty: string;
}

/** Options of {@linkcode BookSet.track}. */
export interface BookTrackOptions {
  /** Subscribed depth; defaults to the set's `defaultDepth`. */
  depth?: BookDepth;
  /** Pair price precision: pad shorter prices to this many decimals. */
  priceDecimals?: number;
  /** Pair qty precision: pad shorter quantities to this many decimals. */
  qtyDecimals?: number;
}

/** Options of {@linkcode BookSet}. */
export interface BookSetOptions {
  /** Depth of symbols tracked without one; defaults to 10. */
  defaultDepth?: BookDepth;
}

const DEPTHS: readonly number[] = [10, 25, 100, 500, 1000];
const CHECKSUM_LEVELS = 10;

// Book side layout: STRIDE numbers per level, best level first.
const STRIDE = 10;
const KEY = 0; // price value (negated for bids) so both sides ascend
const P_LO = 1;
const P_HI = 2;
const P_SCALE = 3;
const Q_LO = 4;
const Q_HI = 5;
const Q_SCALE = 6;
// The level's checksum piece: CRC register of its digits (price then qty)
// fed from state 0, and how many digits that is. See crc32ShiftZeros.
const PIECE = 7;
const PIECE_LENGTH = 8;

// Moves of up to this many numbers are done by a loop: cheaper than a
// copyWithin call for the short sides of depth-10 books.
const SMALL_MOVE = 256;

const E15 = 1e15;
const E14 = 1e14;
const POW10: number[] = [];
for (let k = 0, p = 1; k <= MAX_SCALE + 16; k++, p *= 10) POW10.push(p);

const STATE_EMPTY = 0;
const STATE_OK = 1;
const STATE_RESYNCING = 2;

/** Scratch for `padTo` (hi, lo). */
const PAD = new Float64Array(2);

/**
 * Appends `zeros` zero digits to the mantissa `hi * 10^15 + lo`, exactly;
 * the result goes to `PAD`.
 */
function padTo(hi: number, lo: number, zeros: number): void {
  if (hi === 0 && lo * (POW10[zeros] as number) < E15) {
    PAD[0] = 0;
    PAD[1] = lo * (POW10[zeros] as number);
    return;
  }
  for (let k = 0; k < zeros; k++) {
    const top = Math.floor(lo / E14);
    hi = hi * 10 + top;
    lo = (lo - top * E14) * 10;
  }
  PAD[0] = hi;
  PAD[1] = lo;
}

/** Feeds the mantissa `hi * 10^15 + lo` (no leading zeros) into a CRC state. */
function feedMantissa(c: number, hi: number, lo: number): number {
  if (hi === 0) return crc32UpdateDigits(c, lo);
  return crc32UpdatePaddedDigits(crc32UpdateDigits(c, hi), lo, 15);
}

/** Number of digits of the mantissa `hi * 10^15 + lo` (0 for zero). */
function digitCount(hi: number, lo: number): number {
  let d = 0;
  if (hi !== 0) {
    while (hi >= (POW10[d] as number)) d++;
    return d + 15;
  }
  while (lo >= (POW10[d] as number)) d++;
  return d;
}

/** Ordering value of a fixed-point price. */
function priceValue(hi: number, lo: number, scale: number): number {
  return (hi === 0 ? lo : hi * E15 + lo) / (POW10[scale] as number);
}

/** One side of a book: a sorted struct-of-arrays, best level first. */
class BookSide {
  data = new Float64Array(32 * STRIDE);
  length = 0;
  /** Lowest index changed since the last checksum (large when none). */
  dirty = 1 << 30;

  clear(): void {
    this.length = 0;
    this.dirty = 0;
  }

  /** First index whose key is >= `key`. */
  lowerBound(key: number): number {
    const data = this.data;
    let lo = 0;
    let hi = this.length;
    if (hi <= 16) {
      while (lo < hi && (data[lo * STRIDE] as number) < key) lo++;
      return lo;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((data[mid * STRIDE] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Opens a slot at `index`, shifting deeper levels down. */
  insertAt(index: number): void {
    let data = this.data;
    if ((this.length + 1) * STRIDE > data.length) {
      const grown = new Float64Array(data.length * 2);
      grown.set(data);
      this.data = data = grown;
    }
    const from = index * STRIDE;
    const end = this.length * STRIDE;
    if (end - from > SMALL_MOVE) {
      data.copyWithin(from + STRIDE, from, end);
    } else {
      for (let k = end - 1; k >= from; k--) {
        data[k + STRIDE] = data[k] as number;
      }
    }
    this.length++;
    if (index < this.dirty) this.dirty = index;
  }

  /** Removes the level at `index`. */
  removeAt(index: number): void {
    const data = this.data;
    const to = index * STRIDE;
    const end = this.length * STRIDE;
    if (end - to > SMALL_MOVE) {
      data.copyWithin(to, to + STRIDE, end);
    } else {
      for (let k = to + STRIDE; k < end; k++) {
        data[k - STRIDE] = data[k] as number;
      }
    }
    this.length--;
    if (index < this.dirty) this.dirty = index;
  }

  view(index: number): BookLevelView {
    const data = this.data;
    const b = index * STRIDE;
    return {
      price: formatFixed(
        data[b + P_HI] as number,
        data[b + P_LO] as number,
        data[b + P_SCALE] as number,
      ),
      qty: formatFixed(
        data[b + Q_HI] as number,
        data[b + Q_LO] as number,
        data[b + Q_SCALE] as number,
      ),
    };
  }
}

/** One symbol's book and its integrity state. */
class Book {
  readonly asks = new BookSide();
  readonly bids = new BookSide();
  state = STATE_EMPTY;
  failures = 0;
  /** Whether this resync episode already asked for a resubscribe. */
  resubscribeAsked = false;
  /** Next book whose symbol has the same hash key. */
  nextSameHash: Book | undefined = undefined;
  /** CRC state after each of the top levels (asks then bids); [0] initial. */
  readonly crcStates = new Int32Array(2 * CHECKSUM_LEVELS + 1);
  readonly appliedSnapshot: BookApplyResult;
  readonly appliedUpdate: BookApplyResult;
  readonly ignoredResyncing: BookApplyResult;
  readonly ignoredEmpty: BookApplyResult;

  constructor(
    readonly symbol: string,
    readonly depth: number,
    readonly priceDecimals: number,
    readonly qtyDecimals: number,
  ) {
    this.crcStates[0] = CRC32_INITIAL;
    // Shared, frozen results keep the hot path free of allocations.
    this.appliedSnapshot = Object.freeze({
      kind: "applied",
      symbol,
      type: "snapshot",
    });
    this.appliedUpdate = Object.freeze({
      kind: "applied",
      symbol,
      type: "update",
    });
    this.ignoredResyncing = Object.freeze({
      kind: "ignored",
      symbol,
      reason:
        `Book update for "${symbol}" ignored: the book is resyncing and waits for a snapshot`,
    });
    this.ignoredEmpty = Object.freeze({
      kind: "ignored",
      symbol,
      reason:
        `Book update for "${symbol}" ignored: no snapshot has arrived yet`,
    });
  }

  /** Drops every level (the book is invalid or not started). */
  drop(): void {
    this.asks.clear();
    this.bids.clear();
  }

  /**
   * Applies one level from the scanner's `levels` at offset `src`. Bids have
   * `sign` -1 so their keys ascend best first like the asks'.
   */
  applyLevel(side: BookSide, sign: number, levels: Float64Array, src: number) {
    let pLo = levels[src] as number;
    let pHi = levels[src + 1] as number;
    let pScale = levels[src + 2] as number;
    let qLo = levels[src + 3] as number;
    let qHi = levels[src + 4] as number;
    let qScale = levels[src + 5] as number;
    const key = sign * priceValue(pHi, pLo, pScale);
    const index = side.lowerBound(key);
    const found = index < side.length &&
      (side.data[index * STRIDE] as number) === key;
    if (qLo === 0 && qHi === 0) {
      if (found) side.removeAt(index);
      // Deleting an unknown level (e.g. one truncated away) is a no-op.
      return;
    }
    if (pScale < this.priceDecimals) {
      padTo(pHi, pLo, this.priceDecimals - pScale);
      pHi = PAD[0] as number;
      pLo = PAD[1] as number;
      pScale = this.priceDecimals;
    }
    if (qScale < this.qtyDecimals) {
      padTo(qHi, qLo, this.qtyDecimals - qScale);
      qHi = PAD[0] as number;
      qLo = PAD[1] as number;
      qScale = this.qtyDecimals;
    }
    if (!found) side.insertAt(index);
    else if (index < side.dirty) side.dirty = index;
    const data = side.data;
    const b = index * STRIDE;
    data[b + KEY] = key;
    data[b + P_LO] = pLo;
    data[b + P_HI] = pHi;
    data[b + P_SCALE] = pScale;
    data[b + Q_LO] = qLo;
    data[b + Q_HI] = qHi;
    data[b + Q_SCALE] = qScale;
    data[b + PIECE] = feedMantissa(feedMantissa(0, pHi, pLo), qHi, qLo);
    data[b + PIECE_LENGTH] = digitCount(pHi, pLo) + digitCount(qHi, qLo);
  }

  /**
   * Truncates both sides to the depth and returns the checksum of the top
   * levels, recomputing only from the first changed top level.
   */
  finish(): number {
    const asks = this.asks;
    const bids = this.bids;
    if (asks.length > this.depth) asks.length = this.depth;
    if (bids.length > this.depth) bids.length = this.depth;
    const askTop = asks.length < CHECKSUM_LEVELS
      ? asks.length
      : CHECKSUM_LEVELS;
    const bidTop = bids.length < CHECKSUM_LEVELS
      ? bids.length
      : CHECKSUM_LEVELS;
    const total = askTop + bidTop;
    const states = this.crcStates;
    let start = total;
    if (asks.dirty < CHECKSUM_LEVELS) start = asks.dirty;
    else if (bids.dirty < CHECKSUM_LEVELS) start = askTop + bids.dirty;
    asks.dirty = 1 << 30;
    bids.dirty = 1 << 30;
    if (start < total) {
      let c = states[start] as number;
      for (let k = start; k < total; k++) {
        const side = k < askTop ? asks : bids;
        const b = (k < askTop ? k : k - askTop) * STRIDE;
        const data = side.data;
        c = crc32ShiftZeros(c, data[b + PIECE_LENGTH] as number) ^
          (data[b + PIECE] as number);
        states[k + 1] = c;
      }
    }
    return crc32Final(states[total] as number);
  }
}

/** Throws a RangeError unless `value` is a whole number in 0..MAX_SCALE. */
function checkDecimals(name: string, value: number | undefined): number {
  if (value === undefined) return -1;
  if (!Number.isInteger(value) || value < 0 || value > MAX_SCALE) {
    throw new RangeError(
      `Cannot track book: ${name} must be a whole number from 0 to ${MAX_SCALE}, got ${value}`,
    );
  }
  return value;
}

/** Throws a RangeError unless `depth` is a v2 book depth. */
function checkDepth(depth: number): BookDepth {
  if (!DEPTHS.includes(depth)) {
    throw new RangeError(
      `Cannot track book: depth must be one of ${
        DEPTHS.join(", ")
      }, got ${depth}`,
    );
  }
  return depth as BookDepth;
}

/** Result priority when a frame has several entries: higher wins. */
function priority(result: BookApplyResult): number {
  switch (result.kind) {
    case "mismatch":
      return 3;
    case "malformed":
      return 2;
    case "ignored":
      return 1;
    default:
      return 0;
  }
}

/**
 * Order books of several symbols fed by raw v2 `book` frame text.
 *
 * @example Track, apply, read
 * ```ts
 * import { BookSet } from "./book.ts";
 * const books = new BookSet({ defaultDepth: 10 });
 * books.track("BTC/USD");
 * const result = books.applyText(
 *   '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
 *     '"bids":[{"price":45283.5,"qty":0.10000000}],' +
 *     '"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":2383917627}]}',
 * );
 * if (result.kind === "mismatch" && result.resubscribe) {
 *   // unsubscribe + subscribe BTC/USD again at the same depth
 * }
 * books.bestBidAsk("BTC/USD"); // { bid: "45283.5", ask: "45285.2", ... }
 * ```
 */
export class BookSet {
  #defaultDepth: BookDepth;
  #books = new Map<string, Book>();
  #byHash = new Map<number, Book>();
  #scanner = new BookFrameScanner();
  #failuresOfUntracked = 0;

  /**
   * Create an empty set.
   *
   * @param options `defaultDepth` for symbols tracked without a depth (10).
   * @throws {RangeError} When `defaultDepth` is not 10, 25, 100, 500 or 1000.
   */
  constructor(options: BookSetOptions = {}) {
    this.#defaultDepth = checkDepth(options.defaultDepth ?? 10);
  }

  /**
   * Start (or restart) keeping the book of a symbol. The book is empty until
   * a snapshot arrives. Tracking a symbol again applies the new options and
   * drops its book (a new subscription brings a new snapshot); its failure
   * count is kept.
   *
   * @param symbol v2 symbol, e.g. `BTC/USD` (upper-cased, as Kraken echoes it).
   * @param options Depth and optional pair precisions for padding.
   * @throws {RangeError} When the depth or a precision is invalid.
   */
  track(symbol: string, options: BookTrackOptions = {}): void {
    const depth = checkDepth(options.depth ?? this.#defaultDepth);
    const priceDecimals = checkDecimals("priceDecimals", options.priceDecimals);
    const qtyDecimals = checkDecimals("qtyDecimals", options.qtyDecimals);
    const key = symbol.toUpperCase();
    const previous = this.#books.get(key);
    if (previous !== undefined) this.#unlink(previous);
    const book = new Book(key, depth, priceDecimals, qtyDecimals);
    if (previous !== undefined) book.failures = previous.failures;
    this.#books.set(key, book);
    const hashKey = symbolHash(key) & 0x3fffffff;
    book.nextSameHash = this.#byHash.get(hashKey);
    this.#byHash.set(hashKey, book);
  }

  /**
   * Stop keeping a symbol's book (its failures still count in the total).
   *
   * @param symbol v2 symbol.
   */
  untrack(symbol: string): void {
    const book = this.#books.get(symbol.toUpperCase());
    if (book === undefined) return;
    this.#unlink(book);
    this.#books.delete(book.symbol);
    this.#failuresOfUntracked += book.failures;
  }

  #unlink(book: Book): void {
    const hashKey = symbolHash(book.symbol) & 0x3fffffff;
    let head = this.#byHash.get(hashKey);
    if (head === book) {
      head = book.nextSameHash;
      if (head === undefined) this.#byHash.delete(hashKey);
      else this.#byHash.set(hashKey, head);
      return;
    }
    while (head !== undefined && head.nextSameHash !== book) {
      head = head.nextSameHash;
    }
    if (head !== undefined) head.nextSameHash = book.nextSameHash;
  }

  /**
   * Apply one raw frame from the socket: scan, apply, truncate, verify the
   * checksum. Never throws. A frame of another channel is `ignored` with
   * symbol `""`. When a frame has several `data` objects (Kraken sends one),
   * every object is applied and the most important result is returned
   * (mismatch, then ignored, then applied); use
   * {@linkcode BookSet.applyTextAll} to see each one.
   *
   * @param text Raw frame text.
   * @returns What happened.
   */
  applyText(text: string): BookApplyResult {
    return this.#apply(text, undefined);
  }

  /**
   * Like {@linkcode BookSet.applyText} but returns one result per `data`
   * object (a single result for malformed or non-book frames).
   *
   * @param text Raw frame text.
   * @returns The results, in `data` order.
   */
  applyTextAll(text: string): BookApplyResult[] {
    const all: BookApplyResult[] = [];
    this.#apply(text, all);
    return all;
  }

  #apply(text: string, all: BookApplyResult[] | undefined): BookApplyResult {
    const scanner = this.#scanner;
    let result: BookApplyResult;
    try {
      const code = scanner.scan(text);
      if (code !== BOOK_FRAME_BOOK) {
        result = code === BOOK_FRAME_MALFORMED
          ? { kind: "malformed", reason: scanner.reason }
          : {
            kind: "ignored",
            symbol: "",
            reason: `Frame ignored: channel is ${
              JSON.stringify(scanner.channel)
            }, not "book"`,
          };
        all?.push(result);
        return result;
      }
      const entries = scanner.entries;
      const levels = scanner.levels;
      const snapshot = scanner.isSnapshot;
      result = this.#applyEntry(scanner, entries, levels, 0, snapshot);
      all?.push(result);
      for (let e = 1; e < scanner.entryCount; e++) {
        const next = this.#applyEntry(scanner, entries, levels, e, snapshot);
        all?.push(next);
        if (priority(next) > priority(result)) result = next;
      }
      return result;
    } catch (error) {
      // Defensive: a bug must not break the caller's socket loop.
      result = {
        kind: "malformed",
        reason: `Cannot apply book frame: ${String(error)}`,
      };
      all?.push(result);
      return result;
    }
  }

  #applyEntry(
    scanner: BookFrameScanner,
    entries: Float64Array,
    levels: Float64Array,
    e: number,
    snapshot: boolean,
  ): BookApplyResult {
    const base = e * ENTRY_STRIDE;
    const hashKey = (entries[base + ENTRY_SYMBOL_HASH] as number) & 0x3fffffff;
    let book = this.#byHash.get(hashKey);
    while (book !== undefined && !scanner.symbolEquals(e, book.symbol)) {
      book = book.nextSameHash;
    }
    if (book === undefined) {
      const symbol = scanner.symbol(e);
      return {
        kind: "ignored",
        symbol,
        reason: `Book frame for "${symbol}" ignored: the symbol is not tracked`,
      };
    }
    if (snapshot) {
      book.drop();
      book.resubscribeAsked = false;
    } else if (book.state !== STATE_OK) {
      return book.state === STATE_RESYNCING
        ? book.ignoredResyncing
        : book.ignoredEmpty;
    }
    const bidsTo = entries[base + ENTRY_BIDS_TO] as number;
    for (let l = entries[base + ENTRY_BIDS_FROM] as number; l < bidsTo; l++) {
      book.applyLevel(book.bids, -1, levels, l * LEVEL_STRIDE);
    }
    const asksTo = entries[base + ENTRY_ASKS_TO] as number;
    for (let l = entries[base + ENTRY_ASKS_FROM] as number; l < asksTo; l++) {
      book.applyLevel(book.asks, 1, levels, l * LEVEL_STRIDE);
    }
    const actual = book.finish();
    const expected = entries[base + ENTRY_CHECKSUM] as number;
    if (actual === expected) {
      book.state = STATE_OK;
      return snapshot ? book.appliedSnapshot : book.appliedUpdate;
    }
    book.state = STATE_RESYNCING;
    book.drop();
    book.failures++;
    const resubscribe = !book.resubscribeAsked;
    book.resubscribeAsked = true;
    return {
      kind: "mismatch",
      symbol: book.symbol,
      expected,
      actual,
      resubscribe,
    };
  }

  /**
   * Mark a symbol's book invalid (e.g. after a reconnect) until its next
   * snapshot: the book is dropped and updates are ignored.
   *
   * @param symbol v2 symbol.
   */
  markResyncing(symbol: string): void {
    const book = this.#books.get(symbol.toUpperCase());
    if (book === undefined) return;
    book.state = STATE_RESYNCING;
    book.drop();
  }

  /**
   * Integrity of a symbol's book.
   *
   * @param symbol v2 symbol.
   * @returns `ok`, `resyncing`, or `empty` (no snapshot yet, or not tracked).
   */
  integrity(symbol: string): BookIntegrity {
    const book = this.#books.get(symbol.toUpperCase());
    if (book === undefined) return "empty";
    return book.state === STATE_OK
      ? "ok"
      : book.state === STATE_RESYNCING
      ? "resyncing"
      : "empty";
  }

  /**
   * Checksum mismatches counted so far.
   *
   * @param symbol One symbol, or all symbols (including untracked ones) when
   *   omitted.
   * @returns The count.
   */
  checksumFailures(symbol?: string): number {
    if (symbol !== undefined) {
      return this.#books.get(symbol.toUpperCase())?.failures ?? 0;
    }
    let total = this.#failuresOfUntracked;
    for (const book of this.#books.values()) total += book.failures;
    return total;
  }

  /**
   * The best levels of a verified book as exact decimal text.
   *
   * @param symbol v2 symbol.
   * @param levels How many levels per side (default: the depth).
   * @returns Bids (highest first) and asks (lowest first), or `undefined`
   *   when the book is not `ok`.
   */
  top(
    symbol: string,
    levels?: number,
  ): { bids: BookLevelView[]; asks: BookLevelView[] } | undefined {
    const book = this.#books.get(symbol.toUpperCase());
    if (book === undefined || book.state !== STATE_OK) return undefined;
    const limit = levels ?? book.depth;
    const bids: BookLevelView[] = [];
    const asks: BookLevelView[] = [];
    for (let i = 0; i < book.bids.length && i < limit; i++) {
      bids.push(book.bids.view(i));
    }
    for (let i = 0; i < book.asks.length && i < limit; i++) {
      asks.push(book.asks.view(i));
    }
    return { bids, asks };
  }

  /**
   * Best bid and ask of a verified book.
   *
   * @param symbol v2 symbol.
   * @returns Prices and quantities as exact decimal text, or `undefined` when
   *   the book is not `ok` or a side is empty.
   */
  bestBidAsk(
    symbol: string,
  ): { bid: string; ask: string; bidQty: string; askQty: string } | undefined {
    const book = this.#books.get(symbol.toUpperCase());
    if (
      book === undefined || book.state !== STATE_OK ||
      book.bids.length === 0 || book.asks.length === 0
    ) {
      return undefined;
    }
    const bid = book.bids.view(0);
    const ask = book.asks.view(0);
    return { bid: bid.price, ask: ask.price, bidQty: bid.qty, askQty: ask.qty };
  }

  /**
   * The tracked symbols, in the order they were first tracked.
   *
   * @returns Symbols (upper case).
   */
  symbols(): string[] {
    return [...this.#books.keys()];
  }
}

/** A level for {@linkcode bookChecksum}: `{ price, qty }` or `[price, qty]`. */
export type BookChecksumLevel =
  | BookLevelView
  | readonly [price: string, qty: string];

/** Options of {@linkcode bookChecksum}. */
export interface BookChecksumOptions {
  /** Pad prices with fewer decimals to this many. */
  priceDecimals?: number;
  /** Pad quantities with fewer decimals to this many. */
  qtyDecimals?: number;
}

/** Feeds a plain decimal text the way Kraken's checksum formats it. */
function feedDecimalText(
  c: number,
  text: string,
  decimals: number,
  what: string,
): number {
  let i = 0;
  let digits = 0;
  let fraction = -1;
  let leading = true;
  for (; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 46 && fraction === -1 && digits > 0) {
      fraction = 0;
      continue;
    }
    if (ch < 48 || ch > 57) break;
    digits++;
    if (fraction !== -1) fraction++;
    if (leading && ch === 48) continue;
    leading = false;
    c = crc32UpdateByte(c, ch);
  }
  if (i !== text.length || digits === 0 || fraction === 0) {
    throw new TypeError(
      `Cannot compute book checksum: ${what} is not a plain decimal, got ${
        JSON.stringify(text)
      }`,
    );
  }
  const scale = fraction === -1 ? 0 : fraction;
  if (!leading) {
    for (let k = scale; k < decimals; k++) c = crc32UpdateByte(c, 48);
  }
  return c;
}

/**
 * Kraken v2 book checksum of levels given as exact decimal text: the top 10
 * asks (lowest first) then the top 10 bids (highest first), each price then
 * qty with the `.` removed and leading zeros stripped, CRC-32 over the ASCII.
 * Levels beyond the first 10 of each side are ignored.
 *
 * The texts must carry the pair's full precision (`"45281.0"`,
 * `"0.10000000"`), or give `priceDecimals` / `qtyDecimals` to pad shorter
 * ones with trailing zeros.
 *
 * @param asks Ask levels, best (lowest) first.
 * @param bids Bid levels, best (highest) first.
 * @param options Optional precisions for padding.
 * @returns The checksum as an unsigned 32-bit integer.
 * @throws {TypeError} When a price or qty is not plain decimal text.
 * @example Kraken's documented example, first levels
 * ```ts
 * import { bookChecksum } from "./book.ts";
 * bookChecksum([["45285.2", "0.00100000"]], [{ price: "45283.5", qty: "0.10000000" }]);
 * ```
 */
export function bookChecksum(
  asks: readonly BookChecksumLevel[],
  bids: readonly BookChecksumLevel[],
  options: BookChecksumOptions = {},
): number {
  const priceDecimals = options.priceDecimals ?? 0;
  const qtyDecimals = options.qtyDecimals ?? 0;
  let c = CRC32_INITIAL;
  for (const side of [asks, bids]) {
    for (let i = 0; i < side.length && i < CHECKSUM_LEVELS; i++) {
      const level = side[i] as BookChecksumLevel;
      const price = "price" in level ? level.price : level[0];
      const qty = "qty" in level ? level.qty : level[1];
      c = feedDecimalText(c, price, priceDecimals, "price");
      c = feedDecimalText(c, qty, qtyDecimals, "qty");
    }
  }
  return crc32Final(c);
}
