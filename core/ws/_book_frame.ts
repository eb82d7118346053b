/**
 * A scanner for raw Kraken WebSocket v2 `book` frames that keeps every price
 * and quantity exactly as written on the wire.
 *
 * `JSON.parse` turns `"qty":0.10000000` into `0.1` and `"price":45281.0` into
 * `45281`, losing the trailing zeros that Kraken's CRC32 book checksum hashes.
 * This scanner reads the frame text once, char by char, and encodes each
 * number as an exact fixed-point value: an integer *mantissa* (every digit of
 * the token with the `.` removed) and a *scale* (how many of those digits are
 * decimals). `0.10000000` is mantissa 10000000, scale 8; `45281.0` is
 * 452810, scale 1. For the checksum, "remove the `.` and strip leading zeros"
 * is exactly the decimal digits of the mantissa, and prices can be ordered by
 * `mantissa / 10^scale` without building a string.
 *
 * Mantissas of up to 15 significant digits are one exact `number` (`lo`,
 * with `hi = 0`); longer ones, up to 30 digits, are split as
 * `hi * 10^15 + lo` with `lo < 10^15`, still exact.
 *
 * Tolerance: keys in any order, whitespace anywhere JSON allows it, unknown
 * keys (skipped), several objects in `data`, numbers written as strings
 * (`"price":"45281.0"`) and exponent forms (`1e-08` becomes mantissa 1,
 * scale 8) are accepted. Anything else that is wrong (truncated text, wrong
 * types, a missing `symbol` or `checksum`, negative numbers, more than 30
 * digits) gives a {@linkcode BOOK_FRAME_MALFORMED} result with a reason; the
 * scanner never throws.
 *
 * Two ways to use it:
 * - {@linkcode scanBookFrame}: one call, plain objects with decimal text. For
 *   tests, tools and cold paths.
 * - {@linkcode BookFrameScanner}: reusable, allocation-free typed-array
 *   results for the hot path (the order book uses it).
 *
 * Private to `core/ws/` (not in `@krakked/core`'s exports): `BookSet` in
 * `book.ts` is the public use.
 *
 * @module
 */

/** Scan result code: a well-formed `book` frame. */
export const BOOK_FRAME_BOOK = 0;
/** Scan result code: well-formed JSON object of another channel (or none). */
export const BOOK_FRAME_OTHER = 1;
/** Scan result code: not a usable frame; see `reason`. */
export const BOOK_FRAME_MALFORMED = 2;

/** A scan result code. */
export type BookFrameCode =
  | typeof BOOK_FRAME_BOOK
  | typeof BOOK_FRAME_OTHER
  | typeof BOOK_FRAME_MALFORMED;

/** Numbers per level in {@linkcode BookFrameScanner.levels}. */
export const LEVEL_STRIDE = 6;
/** Level field offset: low 15 digits of the price mantissa. */
export const LEVEL_PRICE_LO = 0;
/** Level field offset: price mantissa digits above the low 15 (usually 0). */
export const LEVEL_PRICE_HI = 1;
/** Level field offset: price scale (number of decimals on the wire). */
export const LEVEL_PRICE_SCALE = 2;
/** Level field offset: low 15 digits of the qty mantissa. */
export const LEVEL_QTY_LO = 3;
/** Level field offset: qty mantissa digits above the low 15 (usually 0). */
export const LEVEL_QTY_HI = 4;
/** Level field offset: qty scale (number of decimals on the wire). */
export const LEVEL_QTY_SCALE = 5;

/** Numbers per entry in {@linkcode BookFrameScanner.entries}. */
export const ENTRY_STRIDE = 10;
/** Entry field offset: index of the symbol's first char in the text. */
export const ENTRY_SYMBOL_START = 0;
/** Entry field offset: index after the symbol's last char in the text. */
export const ENTRY_SYMBOL_END = 1;
/** Entry field offset: 32-bit hash of the (decoded) symbol, see {@linkcode symbolHash}. */
export const ENTRY_SYMBOL_HASH = 2;
/** Entry field offset: the checksum (unsigned 32-bit integer). */
export const ENTRY_CHECKSUM = 3;
/** Entry field offset: first bid level index. */
export const ENTRY_BIDS_FROM = 4;
/** Entry field offset: index after the last bid level. */
export const ENTRY_BIDS_TO = 5;
/** Entry field offset: first ask level index. */
export const ENTRY_ASKS_FROM = 6;
/** Entry field offset: index after the last ask level. */
export const ENTRY_ASKS_TO = 7;
/** Entry field offset: index of the timestamp's first char, or -1 when absent. */
export const ENTRY_TIMESTAMP_START = 8;
/** Entry field offset: index after the timestamp's last char, or -1. */
export const ENTRY_TIMESTAMP_END = 9;

/** Most significant digits a price or qty may have (two 15-digit halves). */
export const MAX_DIGITS = 30;
/** Largest scale (decimals) a price or qty may have. */
export const MAX_SCALE = 30;

const E14 = 1e14;

/**
 * The 32-bit FNV-1a hash of a symbol's char codes, as the scanner stores in
 * {@linkcode ENTRY_SYMBOL_HASH}. Lets a caller find a book without slicing
 * the symbol out of the frame text.
 *
 * @param symbol The symbol, e.g. `BTC/USD`.
 * @returns A signed 32-bit hash.
 * @example Hash
 * ```ts
 * import { symbolHash } from "./_book_frame.ts";
 * symbolHash("BTC/USD") === symbolHash("BTC/USD"); // true
 * ```
 */
export function symbolHash(symbol: string): number {
  let h = -2128831035;
  for (let i = 0; i < symbol.length; i++) {
    h = Math.imul(h ^ symbol.charCodeAt(i), 16777619);
  }
  return h;
}

// Key ids: channel level, entry level, level level.
const KEY_OTHER = 0;
const KEY_CHANNEL = 1;
const KEY_TYPE = 2;
const KEY_DATA = 3;
const KEY_SYMBOL = 4;
const KEY_BIDS = 5;
const KEY_ASKS = 6;
const KEY_CHECKSUM = 7;
const KEY_TIMESTAMP = 8;
const KEY_PRICE = 9;
const KEY_QTY = 10;

// Literal pieces of a frame laid out exactly as Kraken sends it.
const HEAD = '{"channel":"book","type":"';
const SNAPSHOT_DATA = 'snapshot","data":[';
const UPDATE_DATA = 'update","data":[';
const ENTRY_SYMBOL = '{"symbol":"';
const SYMBOL_BIDS = '","bids":[';
const BIDS_ASKS = ',"asks":[';
const ASKS_CHECKSUM = ',"checksum":';
const CHECKSUM_TIMESTAMP = ',"timestamp":"';
const LEVEL_PRICE = '{"price":';
const LEVEL_QTY = ',"qty":';

/** Whether `text` holds `literal` at index `i`. */
function matchAt(text: string, i: number, literal: string): boolean {
  for (let k = 0; k < literal.length; k++) {
    if (text.charCodeAt(i + k) !== literal.charCodeAt(k)) return false;
  }
  return true;
}

/** Thrown inside the scanner only; caught by `scan`, never escapes. */
class ScanStop {
  constructor(readonly reason: string) {}
}

/** Describes the char at `i` for error reasons. */
function describeAt(text: string, i: number): string {
  if (i >= text.length) return `end of text at offset ${i}`;
  return `${JSON.stringify(text.charAt(i))} at offset ${i}`;
}

/**
 * Multiply a two-part mantissa by 10 and add a digit, exactly: the result is
 * written to `out[0]` (hi) and `out[1]` (lo, below 10^15).
 */
function shiftIn(hi: number, lo: number, digit: number, out: Float64Array) {
  if (lo < E14 && hi === 0) {
    out[0] = 0;
    out[1] = lo * 10 + digit;
    return;
  }
  const top = Math.floor(lo / E14);
  out[0] = hi * 10 + top;
  out[1] = (lo - top * E14) * 10 + digit;
}

/**
 * Decimal text of a fixed-point value (mantissa `hi * 10^15 + lo`, `scale`
 * decimals), e.g. (0, 10000000, 8) → `"0.10000000"`.
 *
 * @param hi Mantissa digits above the low 15 (0 for ordinary numbers).
 * @param lo Low 15 digits of the mantissa.
 * @param scale Number of decimals.
 * @returns Plain decimal text with exactly `scale` decimals.
 * @example Format
 * ```ts
 * import { formatFixed } from "./_book_frame.ts";
 * formatFixed(0, 452810, 1); // "45281.0"
 * formatFixed(0, 100000, 8); // "0.00100000"
 * ```
 */
export function formatFixed(hi: number, lo: number, scale: number): string {
  let digits = hi > 0 ? String(hi) + String(lo).padStart(15, "0") : String(lo);
  if (scale <= 0) return digits;
  if (digits.length <= scale) digits = digits.padStart(scale + 1, "0");
  const point = digits.length - scale;
  return digits.slice(0, point) + "." + digits.slice(point);
}

/**
 * A reusable, allocation-free scanner for raw v2 book frames. After
 * {@linkcode BookFrameScanner.scan} returns {@linkcode BOOK_FRAME_BOOK}, the
 * frame's entries and levels are in {@linkcode BookFrameScanner.entries} and
 * {@linkcode BookFrameScanner.levels} (see the `ENTRY_*` and `LEVEL_*`
 * offsets) until the next scan.
 *
 * @example Scan a frame
 * ```ts
 * import { BOOK_FRAME_BOOK, BookFrameScanner, ENTRY_CHECKSUM } from "./_book_frame.ts";
 * const scanner = new BookFrameScanner();
 * const text = '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD",' +
 *   '"bids":[{"price":45283.5,"qty":0.10000000}],"asks":[],"checksum":7,' +
 *   '"timestamp":"2025-03-04T10:21:00.881043Z"}]}';
 * if (scanner.scan(text) === BOOK_FRAME_BOOK) {
 *   scanner.symbol(0); // "BTC/USD"
 *   scanner.entries[ENTRY_CHECKSUM]; // 7
 *   scanner.levelQtyText(0); // "0.10000000"
 * }
 * ```
 */
export class BookFrameScanner {
  #text = "";
  #pos = 0;
  #levels = new Float64Array(64 * LEVEL_STRIDE);
  #levelCount = 0;
  #entries = new Float64Array(4 * ENTRY_STRIDE);
  #entryCount = 0;
  #decodedSymbols: (string | undefined)[] = [];
  #hasDecodedSymbols = false;
  #isSnapshot = false;
  #reason = "";
  #channel = "";
  #shift = new Float64Array(2);
  #fastPath: boolean;

  /**
   * Create a scanner.
   *
   * @param options `fastPath: false` turns off the exact-layout fast path
   *   (for tests that compare both paths); results are the same either way.
   */
  constructor(options: { fastPath?: boolean } = {}) {
    this.#fastPath = options.fastPath ?? true;
  }

  /**
   * Exact encoded levels of the last book frame, {@linkcode LEVEL_STRIDE}
   * numbers per level. Valid until the next scan; may be longer than needed.
   */
  get levels(): Float64Array {
    return this.#levels;
  }

  /**
   * Entries (objects of `data`) of the last book frame,
   * {@linkcode ENTRY_STRIDE} numbers per entry. Valid until the next scan.
   */
  get entries(): Float64Array {
    return this.#entries;
  }

  /** How many entries the last book frame had (at least 1). */
  get entryCount(): number {
    return this.#entryCount;
  }

  /** Whether the last book frame was a snapshot (else an update). */
  get isSnapshot(): boolean {
    return this.#isSnapshot;
  }

  /** Why the last frame was malformed (empty otherwise). */
  get reason(): string {
    return this.#reason;
  }

  /**
   * The channel of the last frame when it was not a book frame (`""` when the
   * frame had no `channel`, e.g. a method response).
   */
  get channel(): string {
    return this.#channel;
  }

  /** The text of the last scan. */
  get text(): string {
    return this.#text;
  }

  /**
   * Scan one frame. Never throws.
   *
   * @param text Raw frame text as received from the socket.
   * @returns {@linkcode BOOK_FRAME_BOOK}, {@linkcode BOOK_FRAME_OTHER} or
   *   {@linkcode BOOK_FRAME_MALFORMED}.
   */
  scan(text: string): BookFrameCode {
    this.#text = text;
    this.#pos = 0;
    this.#levelCount = 0;
    this.#entryCount = 0;
    this.#reason = "";
    this.#channel = "";
    if (this.#hasDecodedSymbols) {
      this.#decodedSymbols.length = 0;
      this.#hasDecodedSymbols = false;
    }
    if (this.#fastPath && this.#scanCanonical(text)) return BOOK_FRAME_BOOK;
    this.#levelCount = 0;
    this.#entryCount = 0;
    try {
      return this.#scanFrame();
    } catch (error) {
      this.#entryCount = 0;
      this.#reason = error instanceof ScanStop
        ? error.reason
        : `Cannot read book frame: ${String(error)}`;
      return BOOK_FRAME_MALFORMED;
    }
  }

  /**
   * The symbol of entry `e` of the last book frame (allocates a string).
   *
   * @param e Entry index, `0..entryCount-1`.
   * @returns The symbol, escapes decoded.
   */
  symbol(e: number): string {
    const decoded = this.#decodedSymbols[e];
    if (decoded !== undefined) return decoded;
    const base = e * ENTRY_STRIDE;
    return this.#text.slice(
      this.#entries[base + ENTRY_SYMBOL_START],
      this.#entries[base + ENTRY_SYMBOL_END],
    );
  }

  /**
   * Whether entry `e`'s symbol equals `symbol`, without allocating.
   *
   * @param e Entry index.
   * @param symbol The symbol to compare with.
   * @returns `true` when equal.
   */
  symbolEquals(e: number, symbol: string): boolean {
    const decoded = this.#decodedSymbols[e];
    if (decoded !== undefined) return decoded === symbol;
    const base = e * ENTRY_STRIDE;
    const start = this.#entries[base + ENTRY_SYMBOL_START] as number;
    const end = this.#entries[base + ENTRY_SYMBOL_END] as number;
    if (end - start !== symbol.length) return false;
    const text = this.#text;
    for (let i = 0; i < symbol.length; i++) {
      if (text.charCodeAt(start + i) !== symbol.charCodeAt(i)) return false;
    }
    return true;
  }

  /**
   * The timestamp text of entry `e`, if it had one.
   *
   * @param e Entry index.
   * @returns The RFC 3339 text as sent, or `undefined`.
   */
  timestamp(e: number): string | undefined {
    const base = e * ENTRY_STRIDE;
    const start = this.#entries[base + ENTRY_TIMESTAMP_START] as number;
    if (start < 0) return undefined;
    return this.#text.slice(start, this.#entries[base + ENTRY_TIMESTAMP_END]);
  }

  /**
   * Decimal text of level `l`'s price (exact wire digits; exponent forms
   * expanded).
   *
   * @param l Level index.
   * @returns Plain decimal text, e.g. `"45281.0"`.
   */
  levelPriceText(l: number): string {
    const b = l * LEVEL_STRIDE;
    const v = this.#levels;
    return formatFixed(
      v[b + LEVEL_PRICE_HI] as number,
      v[b + LEVEL_PRICE_LO] as number,
      v[b + LEVEL_PRICE_SCALE] as number,
    );
  }

  /**
   * Decimal text of level `l`'s qty (exact wire digits; exponent forms
   * expanded).
   *
   * @param l Level index.
   * @returns Plain decimal text, e.g. `"0.10000000"`.
   */
  levelQtyText(l: number): string {
    const b = l * LEVEL_STRIDE;
    const v = this.#levels;
    return formatFixed(
      v[b + LEVEL_QTY_HI] as number,
      v[b + LEVEL_QTY_LO] as number,
      v[b + LEVEL_QTY_SCALE] as number,
    );
  }

  /**
   * Fast path for frames laid out exactly as Kraken sends them: canonical key
   * order, no whitespace, plain numbers of at most 15 significant digits.
   * Returns false on the first deviation (nothing is reported); the general
   * scanner then reads the frame. Never throws.
   */
  #scanCanonical(text: string): boolean {
    if (!matchAt(text, 0, HEAD)) return false;
    let i = HEAD.length;
    if (matchAt(text, i, SNAPSHOT_DATA)) {
      this.#isSnapshot = true;
      i += SNAPSHOT_DATA.length;
    } else if (matchAt(text, i, UPDATE_DATA)) {
      this.#isSnapshot = false;
      i += UPDATE_DATA.length;
    } else {
      return false;
    }
    let levels = this.#levels;
    let levelCount = 0;
    let e = 0;
    for (;;) {
      if (!matchAt(text, i, ENTRY_SYMBOL)) return false;
      i += ENTRY_SYMBOL.length;
      const symbolStart = i;
      let h = -2128831035;
      let c = text.charCodeAt(i);
      while (c !== 34) {
        if (c === 92 || c !== c) return false;
        h = Math.imul(h ^ c, 16777619);
        c = text.charCodeAt(++i);
      }
      const symbolEnd = i;
      if (!matchAt(text, i, SYMBOL_BIDS)) return false;
      i += SYMBOL_BIDS.length;
      const bidsFrom = levelCount;
      let asksFrom = 0;
      for (let side = 0; side < 2; side++) {
        if (text.charCodeAt(i) === 93) {
          i++;
        } else {
          for (;;) {
            if (!matchAt(text, i, LEVEL_PRICE)) return false;
            i += LEVEL_PRICE.length;
            let slot = levelCount * LEVEL_STRIDE;
            if (slot + LEVEL_STRIDE > levels.length) {
              const grown = new Float64Array(levels.length * 2);
              grown.set(levels);
              this.#levels = levels = grown;
            }
            for (let field = 0; field < 2; field++) {
              // Plain number: digits, optional '.', digits; <= 15 significant.
              let lo = 0;
              let significant = 0;
              let digits = 0;
              let scale = 0;
              c = text.charCodeAt(i);
              while (c >= 48 && c <= 57) {
                lo = lo * 10 + (c - 48);
                if (lo !== 0) significant++;
                digits++;
                c = text.charCodeAt(++i);
              }
              if (c === 46) {
                c = text.charCodeAt(++i);
                while (c >= 48 && c <= 57) {
                  lo = lo * 10 + (c - 48);
                  if (lo !== 0) significant++;
                  scale++;
                  c = text.charCodeAt(++i);
                }
                if (scale === 0) return false;
              }
              if (digits === 0 || significant > 15) return false;
              levels[slot] = lo;
              levels[slot + 1] = 0;
              levels[slot + 2] = scale;
              if (field === 0) {
                if (!matchAt(text, i, LEVEL_QTY)) return false;
                i += LEVEL_QTY.length;
                slot += 3;
              }
            }
            levelCount++;
            if (text.charCodeAt(i) !== 125) return false;
            c = text.charCodeAt(++i);
            i++;
            if (c === 44) continue;
            if (c === 93) break;
            return false;
          }
        }
        if (side === 0) {
          if (!matchAt(text, i, BIDS_ASKS)) return false;
          i += BIDS_ASKS.length;
          asksFrom = levelCount;
        }
      }
      const asksTo = levelCount;
      if (!matchAt(text, i, ASKS_CHECKSUM)) return false;
      i += ASKS_CHECKSUM.length;
      let checksum = 0;
      let checksumDigits = 0;
      c = text.charCodeAt(i);
      while (c >= 48 && c <= 57 && checksumDigits < 10) {
        checksum = checksum * 10 + (c - 48);
        checksumDigits++;
        c = text.charCodeAt(++i);
      }
      if (checksumDigits === 0 || checksum > 0xffffffff) return false;
      let timestampStart = -1;
      let timestampEnd = -1;
      if (c === 44) {
        if (!matchAt(text, i, CHECKSUM_TIMESTAMP)) return false;
        i += CHECKSUM_TIMESTAMP.length;
        timestampStart = i;
        const q = text.indexOf('"', i);
        if (q === -1 || text.charCodeAt(q - 1) === 92) return false;
        timestampEnd = q;
        i = q + 1;
        c = text.charCodeAt(i);
      }
      if (c !== 125) return false;
      let entries = this.#entries;
      if ((e + 1) * ENTRY_STRIDE > entries.length) {
        const grown = new Float64Array(entries.length * 2);
        grown.set(entries);
        this.#entries = entries = grown;
      }
      const base = e * ENTRY_STRIDE;
      entries[base + ENTRY_SYMBOL_START] = symbolStart;
      entries[base + ENTRY_SYMBOL_END] = symbolEnd;
      entries[base + ENTRY_SYMBOL_HASH] = h;
      entries[base + ENTRY_CHECKSUM] = checksum;
      entries[base + ENTRY_BIDS_FROM] = bidsFrom;
      entries[base + ENTRY_BIDS_TO] = asksFrom;
      entries[base + ENTRY_ASKS_FROM] = asksFrom;
      entries[base + ENTRY_ASKS_TO] = asksTo;
      entries[base + ENTRY_TIMESTAMP_START] = timestampStart;
      entries[base + ENTRY_TIMESTAMP_END] = timestampEnd;
      e++;
      c = text.charCodeAt(++i);
      if (c === 44) {
        i++;
        continue;
      }
      if (c === 93 && text.charCodeAt(i + 1) === 125 && i + 2 === text.length) {
        this.#entryCount = e;
        this.#levelCount = levelCount;
        return true;
      }
      return false;
    }
  }

  #stop(reason: string): never {
    throw new ScanStop(reason);
  }

  #expected(what: string): never {
    this.#stop(
      `Cannot read book frame: expected ${what}, found ${
        describeAt(this.#text, this.#pos)
      }`,
    );
  }

  /** Skips JSON whitespace and returns the char code at the new position (NaN at end). */
  #peek(): number {
    const text = this.#text;
    let i = this.#pos;
    let c = text.charCodeAt(i);
    while (c === 32 || c === 10 || c === 13 || c === 9) {
      c = text.charCodeAt(++i);
    }
    this.#pos = i;
    return c;
  }

  #scanFrame(): BookFrameCode {
    const text = this.#text;
    if (this.#peek() !== 123) this.#expected("'{' to start the frame");
    this.#pos++;
    let channelSeen = false;
    let isBook = false;
    let typeSeen = false;
    let dataSeen = false;
    let dataError = "";
    let c = this.#peek();
    if (c === 125) {
      this.#pos++;
    } else {
      for (;;) {
        const key = this.#readKey(0);
        if (this.#peek() !== 58) this.#expected("':' after a key");
        this.#pos++;
        c = this.#peek();
        if (key === KEY_CHANNEL) {
          if (c !== 34) this.#expected("a string for channel");
          const start = this.#pos + 1;
          const end = this.#skipString();
          channelSeen = true;
          isBook = end - start === 4 && text.startsWith("book", start);
          if (!isBook) {
            this.#channel = this.#decodeString(start, end);
            isBook = this.#channel === "book";
          }
        } else if (key === KEY_TYPE) {
          if (c === 34) {
            const start = this.#pos + 1;
            const end = this.#skipString();
            if (end - start === 8 && text.startsWith("snapshot", start)) {
              this.#isSnapshot = true;
              typeSeen = true;
            } else if (end - start === 6 && text.startsWith("update", start)) {
              this.#isSnapshot = false;
              typeSeen = true;
            }
          } else {
            this.#skipValue();
          }
        } else if (key === KEY_DATA) {
          dataSeen = true;
          if (channelSeen) {
            if (isBook) this.#readData();
            else this.#skipValue();
          } else {
            // The channel comes later (keys in any order): read the data as a
            // book, and if that fails, skip it and decide once channel is known.
            const start = this.#pos;
            try {
              this.#readData();
            } catch (error) {
              if (!(error instanceof ScanStop)) throw error;
              dataError = error.reason;
              this.#entryCount = 0;
              this.#pos = start;
              this.#skipValue();
            }
          }
        } else {
          this.#skipValue();
        }
        c = this.#peek();
        if (c === 44) {
          this.#pos++;
          continue;
        }
        if (c === 125) {
          this.#pos++;
          break;
        }
        this.#expected("',' or '}' in the frame");
      }
    }
    this.#peek();
    if (this.#pos < text.length) this.#expected("the end of the frame");
    if (!channelSeen || !isBook) {
      this.#entryCount = 0;
      return BOOK_FRAME_OTHER;
    }
    if (dataError !== "") this.#stop(dataError);
    if (!typeSeen) {
      this.#stop(
        'Cannot read book frame: type is missing or not "snapshot" or "update"',
      );
    }
    if (!dataSeen) this.#stop("Cannot read book frame: data is missing");
    if (this.#entryCount === 0) {
      this.#stop("Cannot read book frame: data is empty");
    }
    return BOOK_FRAME_BOOK;
  }

  /**
   * Reads a key string at the current position (after whitespace) and
   * returns its id for the given nesting level (0 frame, 1 entry, 2 level).
   */
  #readKey(level: number): number {
    const text = this.#text;
    if (this.#peek() !== 34) this.#expected("'\"' to start a key");
    const start = this.#pos + 1;
    let i = start;
    let c = text.charCodeAt(i);
    while (c !== 34 && c !== 92 && c === c) c = text.charCodeAt(++i);
    let length = i - start;
    let keyStart = start;
    let source = text;
    if (c === 34) {
      this.#pos = i + 1;
    } else {
      // Escaped key (legal JSON, never sent by Kraken) or truncated text:
      // decode, then match.
      const end = this.#skipString();
      source = this.#decodeString(start, end);
      keyStart = 0;
      length = source.length;
    }
    const first = source.charCodeAt(keyStart);
    if (level === 2) {
      if (
        length === 5 && first === 112 && source.startsWith("price", keyStart)
      ) {
        return KEY_PRICE;
      }
      if (length === 3 && first === 113 && source.startsWith("qty", keyStart)) {
        return KEY_QTY;
      }
      return KEY_OTHER;
    }
    if (level === 1) {
      switch (length) {
        case 4:
          if (first === 98 && source.startsWith("bids", keyStart)) {
            return KEY_BIDS;
          }
          if (first === 97 && source.startsWith("asks", keyStart)) {
            return KEY_ASKS;
          }
          return KEY_OTHER;
        case 6:
          return source.startsWith("symbol", keyStart) ? KEY_SYMBOL : KEY_OTHER;
        case 8:
          return source.startsWith("checksum", keyStart)
            ? KEY_CHECKSUM
            : KEY_OTHER;
        case 9:
          return source.startsWith("timestamp", keyStart)
            ? KEY_TIMESTAMP
            : KEY_OTHER;
        default:
          return KEY_OTHER;
      }
    }
    switch (length) {
      case 7:
        return source.startsWith("channel", keyStart) ? KEY_CHANNEL : KEY_OTHER;
      case 4:
        if (first === 116 && source.startsWith("type", keyStart)) {
          return KEY_TYPE;
        }
        if (first === 100 && source.startsWith("data", keyStart)) {
          return KEY_DATA;
        }
        return KEY_OTHER;
      default:
        return KEY_OTHER;
    }
  }

  /** Decodes the JSON string whose content is `text[start..end)`. */
  #decodeString(start: number, end: number): string {
    const raw = this.#text.slice(start, end);
    if (raw.indexOf("\\") === -1) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      this.#stop(
        `Cannot read book frame: bad escape in string at offset ${start}`,
      );
    }
  }

  /**
   * Skips the string starting at the current `"`; leaves the position after
   * the closing quote and returns the index of that quote.
   */
  #skipString(): number {
    const text = this.#text;
    let from = this.#pos + 1;
    for (;;) {
      const q = text.indexOf('"', from);
      if (q === -1) {
        this.#pos = text.length;
        this.#stop(
          `Cannot read book frame: unterminated string at offset ${from - 1}`,
        );
      }
      let backslashes = 0;
      while (text.charCodeAt(q - 1 - backslashes) === 92) backslashes++;
      if ((backslashes & 1) === 0) {
        this.#pos = q + 1;
        return q;
      }
      from = q + 1;
    }
  }

  /** Skips any JSON value at the current position (after whitespace). */
  #skipValue(): void {
    const text = this.#text;
    let c = this.#peek();
    if (c === 34) {
      this.#skipString();
      return;
    }
    if (c === 123 || c === 91) {
      let depth = 0;
      for (;;) {
        if (c === 34) {
          this.#skipString();
        } else {
          if (c === 123 || c === 91) depth++;
          else if (c === 125 || c === 93) depth--;
          else if (c !== c) {
            this.#stop(
              `Cannot read book frame: text ends inside a value at offset ${this.#pos}`,
            );
          }
          this.#pos++;
          if (depth === 0) return;
        }
        c = text.charCodeAt(this.#pos);
      }
    }
    // Number or literal: runs until a delimiter.
    const start = this.#pos;
    let i = start;
    while (
      i < text.length && c !== 44 && c !== 125 && c !== 93 && c !== 32 &&
      c !== 10 && c !== 13 && c !== 9
    ) {
      c = text.charCodeAt(++i);
    }
    if (i === start) this.#expected("a value");
    this.#pos = i;
  }

  #readData(): void {
    if (this.#peek() !== 91) this.#expected("'[' for data");
    this.#pos++;
    if (this.#peek() === 93) {
      this.#pos++;
      return;
    }
    for (;;) {
      this.#readEntry();
      const c = this.#peek();
      if (c === 44) {
        this.#pos++;
        continue;
      }
      if (c === 93) {
        this.#pos++;
        return;
      }
      this.#expected("',' or ']' in data");
    }
  }

  #readEntry(): void {
    const e = this.#entryCount;
    if ((e + 1) * ENTRY_STRIDE > this.#entries.length) {
      const grown = new Float64Array(this.#entries.length * 2);
      grown.set(this.#entries);
      this.#entries = grown;
    }
    const entries = this.#entries;
    const base = e * ENTRY_STRIDE;
    entries[base + ENTRY_SYMBOL_START] = -1;
    entries[base + ENTRY_CHECKSUM] = -1;
    entries[base + ENTRY_BIDS_FROM] = 0;
    entries[base + ENTRY_BIDS_TO] = 0;
    entries[base + ENTRY_ASKS_FROM] = 0;
    entries[base + ENTRY_ASKS_TO] = 0;
    entries[base + ENTRY_TIMESTAMP_START] = -1;
    entries[base + ENTRY_TIMESTAMP_END] = -1;
    if (this.#peek() !== 123) this.#expected("'{' for a data entry");
    this.#pos++;
    let c = this.#peek();
    if (c !== 125) {
      for (;;) {
        const key = this.#readKey(1);
        if (this.#peek() !== 58) this.#expected("':' after a key");
        this.#pos++;
        c = this.#peek();
        switch (key) {
          case KEY_SYMBOL:
            this.#readSymbol(e, base);
            break;
          case KEY_BIDS:
            entries[base + ENTRY_BIDS_FROM] = this.#levelCount;
            this.#readLevels("bids");
            entries[base + ENTRY_BIDS_TO] = this.#levelCount;
            break;
          case KEY_ASKS:
            entries[base + ENTRY_ASKS_FROM] = this.#levelCount;
            this.#readLevels("asks");
            entries[base + ENTRY_ASKS_TO] = this.#levelCount;
            break;
          case KEY_CHECKSUM:
            entries[base + ENTRY_CHECKSUM] = this.#readChecksum();
            break;
          case KEY_TIMESTAMP:
            if (c === 34) {
              entries[base + ENTRY_TIMESTAMP_START] = this.#pos + 1;
              entries[base + ENTRY_TIMESTAMP_END] = this.#skipString();
            } else {
              // Tolerated: the book does not need the timestamp.
              this.#skipValue();
            }
            break;
          default:
            this.#skipValue();
        }
        c = this.#peek();
        if (c === 44) {
          this.#pos++;
          continue;
        }
        if (c === 125) break;
        this.#expected("',' or '}' in a data entry");
      }
    }
    this.#pos++;
    if (entries[base + ENTRY_SYMBOL_START] === -1) {
      this.#stop(`Cannot read book frame: data[${e}] has no symbol`);
    }
    if (entries[base + ENTRY_CHECKSUM] === -1) {
      this.#stop(`Cannot read book frame: data[${e}] has no checksum`);
    }
    this.#entryCount = e + 1;
  }

  #readSymbol(e: number, base: number): void {
    const text = this.#text;
    if (text.charCodeAt(this.#pos) !== 34) {
      this.#expected("a string for symbol");
    }
    const start = this.#pos + 1;
    let h = -2128831035;
    let i = start;
    let c = text.charCodeAt(i);
    while (c !== 34 && c !== 92 && c === c) {
      h = Math.imul(h ^ c, 16777619);
      c = text.charCodeAt(++i);
    }
    const entries = this.#entries;
    if (c === 34) {
      this.#pos = i + 1;
      entries[base + ENTRY_SYMBOL_START] = start;
      entries[base + ENTRY_SYMBOL_END] = i;
      entries[base + ENTRY_SYMBOL_HASH] = h;
      return;
    }
    // Escapes (e.g. "BTC\/USD") or truncation: take the slow path.
    const end = this.#skipString();
    const decoded = this.#decodeString(start, end);
    this.#decodedSymbols[e] = decoded;
    this.#hasDecodedSymbols = true;
    entries[base + ENTRY_SYMBOL_START] = start;
    entries[base + ENTRY_SYMBOL_END] = end;
    entries[base + ENTRY_SYMBOL_HASH] = symbolHash(decoded);
  }

  #readChecksum(): number {
    // Decode as a level number into a scratch slot past the used levels.
    const slot = this.#reserveLevel();
    this.#readNumber(slot, "checksum");
    const v = this.#levels;
    const hi = v[slot + LEVEL_PRICE_HI] as number;
    const lo = v[slot + LEVEL_PRICE_LO] as number;
    const scale = v[slot + LEVEL_PRICE_SCALE] as number;
    if (hi !== 0 || scale !== 0 || lo > 0xffffffff) {
      this.#stop(
        `Cannot read book frame: checksum is not an unsigned 32-bit integer (${
          formatFixed(hi, lo, scale)
        })`,
      );
    }
    return lo;
  }

  /** Makes room for one more level and returns its base offset (not counted). */
  #reserveLevel(): number {
    const base = this.#levelCount * LEVEL_STRIDE;
    if (base + LEVEL_STRIDE > this.#levels.length) {
      const grown = new Float64Array(this.#levels.length * 2);
      grown.set(this.#levels);
      this.#levels = grown;
    }
    return base;
  }

  #readLevels(side: string): void {
    if (this.#peek() !== 91) this.#expected(`'[' for ${side}`);
    this.#pos++;
    if (this.#peek() === 93) {
      this.#pos++;
      return;
    }
    for (;;) {
      this.#readLevel(side);
      const c = this.#peek();
      if (c === 44) {
        this.#pos++;
        continue;
      }
      if (c === 93) {
        this.#pos++;
        return;
      }
      this.#expected(`',' or ']' in ${side}`);
    }
  }

  #readLevel(side: string): void {
    if (this.#peek() !== 123) this.#expected(`'{' for a level in ${side}`);
    this.#pos++;
    const base = this.#reserveLevel();
    let seen = 0;
    if (this.#peek() !== 125) {
      for (;;) {
        const key = this.#readKey(2);
        if (this.#peek() !== 58) this.#expected("':' after a key");
        this.#pos++;
        if (key === KEY_PRICE) {
          this.#peek();
          this.#readNumber(base, "price");
          seen |= 1;
        } else if (key === KEY_QTY) {
          this.#peek();
          this.#readNumber(base + 3, "qty");
          seen |= 2;
        } else {
          this.#skipValue();
        }
        const c = this.#peek();
        if (c === 44) {
          this.#pos++;
          continue;
        }
        if (c === 125) break;
        this.#expected(`',' or '}' in a level of ${side}`);
      }
    }
    this.#pos++;
    if (seen !== 3) {
      this.#stop(
        `Cannot read book frame: a level in ${side} has no ${
          (seen & 1) === 0 ? "price" : "qty"
        }`,
      );
    }
    this.#levelCount++;
  }

  /**
   * Reads a non-negative decimal number (bare or inside a string) at the
   * current position into `levels[slot..slot+3)` as (lo, hi, scale).
   */
  #readNumber(slot: number, what: string): void {
    const text = this.#text;
    let i = this.#pos;
    let c = text.charCodeAt(i);
    const quoted = c === 34;
    if (quoted) c = text.charCodeAt(++i);
    let lo = 0;
    let hi = 0;
    let significant = 0;
    let scale = 0;
    let digits = 0;
    // Integer part. Fast path: up to 15 significant digits in one number.
    while (c >= 48 && c <= 57) {
      if (significant < 15) {
        lo = lo * 10 + (c - 48);
        if (lo !== 0) significant++;
      } else {
        shiftIn(hi, lo, c - 48, this.#shift);
        hi = this.#shift[0] as number;
        lo = this.#shift[1] as number;
        significant++;
      }
      digits++;
      c = text.charCodeAt(++i);
    }
    if (c === 46) {
      c = text.charCodeAt(++i);
      const before = digits;
      while (c >= 48 && c <= 57) {
        if (significant < 15) {
          lo = lo * 10 + (c - 48);
          if (lo !== 0) significant++;
        } else {
          shiftIn(hi, lo, c - 48, this.#shift);
          hi = this.#shift[0] as number;
          lo = this.#shift[1] as number;
          significant++;
        }
        digits++;
        scale++;
        c = text.charCodeAt(++i);
      }
      if (digits === before) {
        this.#pos = i;
        this.#expected(`a digit after '.' in ${what}`);
      }
    }
    if (digits === 0) {
      this.#pos = i;
      if (c === 45) {
        this.#stop(
          `Cannot read book frame: ${what} is negative at offset ${i}`,
        );
      }
      this.#expected(`a number for ${what}`);
    }
    if (c === 101 || c === 69) {
      c = text.charCodeAt(++i);
      let negative = false;
      if (c === 45 || c === 43) {
        negative = c === 45;
        c = text.charCodeAt(++i);
      }
      let exponent = 0;
      let expDigits = 0;
      while (c >= 48 && c <= 57) {
        if (exponent < 1000) exponent = exponent * 10 + (c - 48);
        expDigits++;
        c = text.charCodeAt(++i);
      }
      if (expDigits === 0) {
        this.#pos = i;
        this.#expected(`a digit in the exponent of ${what}`);
      }
      if (negative) {
        scale += exponent;
      } else if (exponent <= scale) {
        scale -= exponent;
      } else {
        let zeros = exponent - scale;
        scale = 0;
        if (lo === 0 && hi === 0) zeros = 0;
        if (significant + zeros > MAX_DIGITS) {
          this.#pos = i;
          this.#stop(
            `Cannot read book frame: ${what} has more than ${MAX_DIGITS} digits at offset ${i}`,
          );
        }
        significant += zeros;
        for (; zeros > 0; zeros--) {
          shiftIn(hi, lo, 0, this.#shift);
          hi = this.#shift[0] as number;
          lo = this.#shift[1] as number;
        }
      }
    }
    if (significant > MAX_DIGITS || scale > MAX_SCALE) {
      this.#pos = i;
      this.#stop(
        `Cannot read book frame: ${what} is out of range (more than ${MAX_DIGITS} digits or ${MAX_SCALE} decimals) at offset ${i}`,
      );
    }
    if (quoted) {
      if (c !== 34) {
        this.#pos = i;
        this.#expected(`'"' to end ${what}`);
      }
      i++;
    } else if (c === 34 || (c >= 65 && c <= 122)) {
      // e.g. `12abc` or `1.5"`: not a number token.
      this.#pos = i;
      this.#expected(`the end of the number in ${what}`);
    }
    this.#pos = i;
    const levels = this.#levels;
    levels[slot] = lo;
    levels[slot + 1] = hi;
    levels[slot + 2] = scale;
  }
}

/** One price level of {@linkcode scanBookFrame}, as exact decimal text. */
export interface BookFrameLevel {
  /** Price, e.g. `"45281.0"` (wire digits kept; exponents expanded). */
  price: string;
  /** Quantity, e.g. `"0.10000000"`; all zeros means delete. */
  qty: string;
}

/** One object of a book frame's `data` array. */
export interface BookFrameEntry {
  /** Pair symbol, e.g. `BTC/USD`. */
  symbol: string;
  /** Bid levels in wire order. */
  bids: BookFrameLevel[];
  /** Ask levels in wire order. */
  asks: BookFrameLevel[];
  /** The CRC32 checksum Kraken sent (unsigned 32-bit). */
  checksum: number;
  /** RFC 3339 timestamp text, when present as a string. */
  timestamp?: string;
}

/** Result of {@linkcode scanBookFrame}. */
export type BookFrameResult =
  | {
    kind: "book";
    type: "snapshot" | "update";
    entries: BookFrameEntry[];
  }
  | { kind: "other"; channel: string }
  | { kind: "malformed"; reason: string };

/**
 * Scan a raw v2 book frame into plain objects with exact decimal text.
 * Convenient for tests and tools; the order book uses
 * {@linkcode BookFrameScanner} directly. Never throws.
 *
 * @param text Raw frame text.
 * @returns A `book` result with one entry per `data` object, `other` for a
 *   frame of another channel (or without one), or `malformed` with a reason.
 * @example Keep trailing zeros
 * ```ts
 * import { scanBookFrame } from "./_book_frame.ts";
 * const result = scanBookFrame(
 *   '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
 *     '"bids":[{"price":45281.0,"qty":0.10000000}],"asks":[],"checksum":1}]}',
 * );
 * if (result.kind === "book") result.entries[0]?.bids[0]; // { price: "45281.0", qty: "0.10000000" }
 * ```
 */
export function scanBookFrame(text: string): BookFrameResult {
  const scanner = new BookFrameScanner();
  const code = scanner.scan(text);
  if (code === BOOK_FRAME_MALFORMED) {
    return { kind: "malformed", reason: scanner.reason };
  }
  if (code === BOOK_FRAME_OTHER) {
    return { kind: "other", channel: scanner.channel };
  }
  const entries: BookFrameEntry[] = [];
  const raw = scanner.entries;
  for (let e = 0; e < scanner.entryCount; e++) {
    const base = e * ENTRY_STRIDE;
    const side = (from: number, to: number) => {
      const out: BookFrameLevel[] = [];
      for (let l = from; l < to; l++) {
        out.push({
          price: scanner.levelPriceText(l),
          qty: scanner.levelQtyText(l),
        });
      }
      return out;
    };
    const entry: BookFrameEntry = {
      symbol: scanner.symbol(e),
      bids: side(
        raw[base + ENTRY_BIDS_FROM] as number,
        raw[base + ENTRY_BIDS_TO] as number,
      ),
      asks: side(
        raw[base + ENTRY_ASKS_FROM] as number,
        raw[base + ENTRY_ASKS_TO] as number,
      ),
      checksum: raw[base + ENTRY_CHECKSUM] as number,
    };
    const timestamp = scanner.timestamp(e);
    if (timestamp !== undefined) entry.timestamp = timestamp;
    entries.push(entry);
  }
  return {
    kind: "book",
    type: scanner.isSnapshot ? "snapshot" : "update",
    entries,
  };
}
