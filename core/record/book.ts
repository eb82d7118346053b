/**
 * Recording Kraken WS v2 `book` frames so a book can be rebuilt at any
 * instant and verified, with the WS client's own book machinery
 * ({@linkcode BookSet}: exact wire digits, CRC32 checksum per frame).
 *
 * - **Bronze deltas.** Every book frame's entry becomes a
 *   {@linkcode BronzeBookRow}: the frame as received, its symbol, type,
 *   Kraken's checksum and timestamp, a sequence number in receive order
 *   (across restarts: the store hands out the next one), the stream it came
 *   on (a socket of one run: books restart from a snapshot on a new one),
 *   and what the recorder's book did with it (`applied`, `mismatch`,
 *   `ignored`).
 * - **Periodic snapshots.** {@linkcode BookRecorder.snapshot} copies a
 *   verified book (levels as exact text, and its checksum computed by
 *   {@linkcode bookChecksum}) as of the last frame's sequence number.
 * - **Rebuild.** {@linkcode rebuildBook} loads the nearest snapshot (as a
 *   v2 snapshot frame, so the stored levels are checked against the stored
 *   checksum) and applies the deltas after it in sequence order, each one
 *   verified against Kraken's checksum, with the same resync rule as the
 *   recorder (a new stream waits for its snapshot). It reports where its
 *   verdicts differ from the recorder's, which must be nowhere.
 *
 * @module
 */

import {
  BOOK_FRAME_BOOK,
  type BookFrameEntry,
  BookFrameScanner,
  ENTRY_ASKS_FROM,
  ENTRY_ASKS_TO,
  ENTRY_BIDS_FROM,
  ENTRY_BIDS_TO,
  ENTRY_CHECKSUM,
  ENTRY_STRIDE,
  scanBookFrame,
} from "../ws/_book_frame.ts";
import {
  type BookApplyResult,
  bookChecksum,
  type BookDepth,
  type BookIntegrity,
  type BookLevelView,
  BookSet,
} from "../ws/book.ts";

/** What the recorder's book did with a frame entry. */
export type BookRowStatus = "applied" | "mismatch" | "ignored";

/** One entry of a received `book` frame (a `bronze_book_kraken` row). */
export interface BronzeBookRow {
  /** Receive order, unique and increasing within a store. */
  seq: number;
  /** WS v2 symbol as sent (`BTC/USD`). */
  symbol: string;
  /** `snapshot` or `update`. */
  type: "snapshot" | "update";
  /** Kraken's checksum of the book after this entry (u32). */
  checksum: number;
  /** The update's timestamp as sent; `""` for snapshots. */
  timestamp: string;
  /** Bid levels in the entry. */
  bidLevels: number;
  /** Ask levels in the entry. */
  askLevels: number;
  /** What the recorder's book did with it. */
  status: BookRowStatus;
  /** Subscribed depth. */
  depth: BookDepth;
  /** Receive time, µs since the Unix epoch. */
  receivedUs: number;
  /** The WS `connection_id` of the socket (`""` if not known yet). */
  connectionId: string;
  /** The socket it came on, unique across runs (`<run>:<socket>`). */
  stream: string;
  /** The whole frame as received. */
  raw: string;
}

/** A verified book copied at a sequence number (a `book_snapshots` row). */
export interface BookSnapshotRow {
  /** WS v2 symbol. */
  symbol: string;
  /** The sequence number of the last frame applied to it. */
  seq: number;
  /** The stream of that frame. */
  stream: string;
  /** When it was taken (the receive time of that frame), µs. */
  takenUs: number;
  /** Subscribed depth. */
  depth: BookDepth;
  /** Checksum of the levels (Kraken's algorithm; equals that frame's). */
  checksum: number;
  /** Bids, best (highest) first, exact text. */
  bids: BookLevelView[];
  /** Asks, best (lowest) first, exact text. */
  asks: BookLevelView[];
}

/** A symbol to record the book of, with the precisions its checksum uses. */
export interface BookSymbol {
  /** WS v2 symbol. */
  symbol: string;
  /** `pair_decimals`: pad shorter prices to this. */
  priceDecimals?: number;
  /** `lot_decimals`: pad shorter quantities to this. */
  qtyDecimals?: number;
}

const BOOK_PREFIX = /^\s*\{\s*"channel"\s*:\s*"book"/;

/**
 * Whether a WS text frame could be a `book` push (a prefix test).
 *
 * @param text A frame.
 * @returns `true` when it starts like a book push.
 * @example Test
 * ```ts
 * import { isBookFrameText } from "./book.ts";
 * isBookFrameText('{"channel":"book","type":"update","data":[]}'); // true
 * ```
 */
export function isBookFrameText(text: string): boolean {
  return BOOK_PREFIX.test(text);
}

/** One symbol's entry of a stored book frame, levels as exact wire text. */
export type StoredBookEntry = BookFrameEntry;

/**
 * The entries of a stored book frame (`bronze_book_kraken.raw`, the frame
 * as received), with every price and quantity as the exact text Kraken
 * sent (trailing zeros kept), e.g. for a replay that checks the frames
 * with its own book code.
 *
 * @param raw The frame text.
 * @returns One entry per `data` object of the frame.
 * @throws {TypeError} When the text is not a well-formed `book` frame.
 * @example Read
 * ```ts
 * import { storedBookEntries } from "./book.ts";
 * const [entry] = storedBookEntries(
 *   '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD",' +
 *     '"bids":[{"price":97000.10,"qty":0}],"asks":[],"checksum":7}]}',
 * );
 * entry?.bids[0]?.price; // "97000.10"
 * ```
 */
export function storedBookEntries(raw: string): StoredBookEntry[] {
  const result = scanBookFrame(raw);
  if (result.kind === "book") return result.entries;
  throw new TypeError(
    result.kind === "malformed"
      ? `Not a well-formed book frame: ${result.reason}`
      : `Not a book frame (channel ${JSON.stringify(result.channel)})`,
  );
}

function statusOf(result: BookApplyResult | undefined): BookRowStatus {
  if (result === undefined) return "ignored";
  return result.kind === "applied"
    ? "applied"
    : result.kind === "mismatch"
    ? "mismatch"
    : "ignored";
}

/**
 * Keeps the recorded books and turns each received book frame into bronze
 * rows. Feed it every text frame of the socket(s) in receive order.
 *
 * @example Record a snapshot
 * ```ts
 * import { BookRecorder } from "./book.ts";
 * const r = new BookRecorder({ symbols: [{ symbol: "BTC/USD" }] });
 * const [row] = r.onFrame(
 *   '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
 *     '"bids":[{"price":45283.5,"qty":0.10000000}],' +
 *     '"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":2383917627}]}',
 *   { stream: "run:1", receivedUs: 1, connectionId: "" },
 * );
 * row?.status; // "applied"
 * r.snapshot("BTC/USD")?.checksum; // 2383917627
 * ```
 */
export class BookRecorder {
  #books: BookSet;
  #scanner = new BookFrameScanner();
  #depth: BookDepth;
  #symbols: string[];
  #nextSeq: number;
  #stream: string | undefined;
  #last = new Map<
    string,
    { seq: number; stream: string; receivedUs: number }
  >();
  #malformed = 0;

  /**
   * Create a recorder.
   *
   * @param options The symbols, the subscribed `depth` (default 10) and the
   *   first sequence number (`nextSeq`, default 1: one above the store's).
   * @throws {RangeError} When the depth or a precision is invalid.
   */
  constructor(options: {
    symbols: readonly BookSymbol[];
    depth?: BookDepth;
    nextSeq?: number;
  }) {
    this.#depth = options.depth ?? 10;
    this.#books = new BookSet({ defaultDepth: this.#depth });
    this.#symbols = [];
    for (const s of options.symbols) {
      this.#books.track(s.symbol, {
        ...(s.priceDecimals !== undefined
          ? { priceDecimals: s.priceDecimals }
          : {}),
        ...(s.qtyDecimals !== undefined ? { qtyDecimals: s.qtyDecimals } : {}),
      });
      this.#symbols.push(s.symbol.toUpperCase());
    }
    this.#nextSeq = options.nextSeq ?? 1;
  }

  /** Book frames that could not be read (not recorded). */
  get malformedFrames(): number {
    return this.#malformed;
  }

  /**
   * Take one received text frame.
   *
   * @param text The frame as received.
   * @param receipt The stream (`<run>:<socket>`), receive time and the
   *   socket's connection id.
   * @returns One row per entry of a book frame; none for other frames.
   */
  onFrame(
    text: string,
    receipt: { stream: string; receivedUs: number; connectionId: string },
  ): BronzeBookRow[] {
    if (!isBookFrameText(text)) return [];
    if (this.#stream !== receipt.stream) {
      // A new socket: its books start from its snapshot, as the WS client's.
      if (this.#stream !== undefined) {
        for (const s of this.#symbols) this.#books.markResyncing(s);
      }
      this.#stream = receipt.stream;
    }
    const scanner = this.#scanner;
    if (scanner.scan(text) !== BOOK_FRAME_BOOK) {
      this.#malformed++;
      return [];
    }
    const entries = scanner.entries;
    const rows: BronzeBookRow[] = [];
    for (let e = 0; e < scanner.entryCount; e++) {
      const base = e * ENTRY_STRIDE;
      rows.push({
        seq: 0,
        symbol: scanner.symbol(e),
        type: scanner.isSnapshot ? "snapshot" : "update",
        checksum: entries[base + ENTRY_CHECKSUM] as number,
        timestamp: scanner.timestamp(e) ?? "",
        bidLevels: (entries[base + ENTRY_BIDS_TO] as number) -
          (entries[base + ENTRY_BIDS_FROM] as number),
        askLevels: (entries[base + ENTRY_ASKS_TO] as number) -
          (entries[base + ENTRY_ASKS_FROM] as number),
        status: "ignored",
        depth: this.#depth,
        receivedUs: receipt.receivedUs,
        connectionId: receipt.connectionId,
        stream: receipt.stream,
        raw: text,
      });
    }
    const results = this.#books.applyTextAll(text);
    for (let e = 0; e < rows.length; e++) {
      const row = rows[e]!;
      row.status = statusOf(results[e]);
      row.seq = this.#nextSeq++;
      this.#last.set(row.symbol.toUpperCase(), {
        seq: row.seq,
        stream: row.stream,
        receivedUs: row.receivedUs,
      });
    }
    return rows;
  }

  /**
   * Integrity of a symbol's recorded book.
   *
   * @param symbol WS v2 symbol.
   * @returns `ok`, `resyncing` or `empty`.
   */
  integrity(symbol: string): BookIntegrity {
    return this.#books.integrity(symbol);
  }

  /**
   * A copy of a verified book as of its last frame.
   *
   * @param symbol WS v2 symbol.
   * @returns The snapshot row, or `undefined` when the book is not `ok`.
   */
  snapshot(symbol: string): BookSnapshotRow | undefined {
    const key = symbol.toUpperCase();
    const last = this.#last.get(key);
    const top = this.#books.top(key);
    if (last === undefined || top === undefined) return undefined;
    return {
      symbol: key,
      seq: last.seq,
      stream: last.stream,
      takenUs: last.receivedUs,
      depth: this.#depth,
      checksum: bookChecksum(top.asks, top.bids),
      bids: top.bids,
      asks: top.asks,
    };
  }

  /** The recorded symbols (upper case). */
  get symbols(): string[] {
    return [...this.#symbols];
  }
}

/**
 * A stored snapshot as a WS v2 book snapshot frame (numbers as their exact
 * text), so {@linkcode BookSet} can load it and check its checksum.
 *
 * @param snapshot The snapshot.
 * @returns Frame text.
 * @throws {TypeError} When a level is not plain decimal text.
 */
export function snapshotFrameText(snapshot: BookSnapshotRow): string {
  const side = (levels: readonly BookLevelView[]) =>
    levels.map((l) => {
      if (!/^\d+(\.\d+)?$/.test(l.price) || !/^\d+(\.\d+)?$/.test(l.qty)) {
        throw new TypeError(
          `Cannot load book snapshot of ${snapshot.symbol} at ${snapshot.seq}: level ${
            JSON.stringify(l)
          } is not plain decimal text`,
        );
      }
      return `{"price":${l.price},"qty":${l.qty}}`;
    }).join(",");
  return `{"channel":"book","type":"snapshot","data":[{"symbol":${
    JSON.stringify(snapshot.symbol)
  },"bids":[${side(snapshot.bids)}],"asks":[${
    side(snapshot.asks)
  }],"checksum":${snapshot.checksum}}]}`;
}

/** A frame row as {@linkcode rebuildBook} reads it. */
export type RebuildFrame = Pick<
  BronzeBookRow,
  "seq" | "stream" | "raw" | "status" | "checksum"
>;

/** What {@linkcode rebuildBook} found. */
export interface RebuiltBook {
  /** Integrity after the last frame. */
  integrity: BookIntegrity;
  /** The levels (when `ok`). */
  bids: BookLevelView[];
  /** The levels (when `ok`). */
  asks: BookLevelView[];
  /** Checksum of the rebuilt levels (when `ok`), by {@linkcode bookChecksum}. */
  checksum: number | undefined;
  /** Kraken's checksum of the last frame applied (what `checksum` must equal). */
  expectedChecksum: number | undefined;
  /** Sequence number of the last frame read. */
  lastSeq: number | undefined;
  /** Frames applied with a matching checksum. */
  applied: number;
  /** Sequence numbers whose checksum did not match. */
  mismatches: number[];
  /** Sequence numbers where the rebuild's verdict differs from the stored one. */
  disagreements: number[];
  /** Whether the starting snapshot's levels matched its checksum. */
  snapshotValid: boolean;
}

/**
 * Rebuild one symbol's book: from a stored snapshot (or from nothing), then
 * each later frame in sequence order, each verified against Kraken's
 * checksum.
 *
 * @param options The symbol, its depth and precisions, the starting
 *   snapshot (`from`) and the frames after it, in sequence order.
 * @returns The book after the last frame, and what the rebuild saw.
 * @throws {RangeError} When the depth or a precision is invalid.
 * @example From nothing
 * ```ts
 * import { rebuildBook } from "./book.ts";
 * const raw = '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
 *   '"bids":[{"price":45283.5,"qty":0.10000000}],' +
 *   '"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":2383917627}]}';
 * const book = rebuildBook({
 *   symbol: "BTC/USD",
 *   depth: 10,
 *   frames: [{ seq: 1, stream: "r:1", raw, status: "applied", checksum: 2383917627 }],
 * });
 * book.checksum === book.expectedChecksum; // true
 * ```
 */
export function rebuildBook(options: {
  symbol: string;
  depth: BookDepth;
  priceDecimals?: number;
  qtyDecimals?: number;
  from?: BookSnapshotRow;
  frames: Iterable<RebuildFrame>;
}): RebuiltBook {
  const symbol = options.symbol.toUpperCase();
  const books = new BookSet({ defaultDepth: options.depth });
  books.track(symbol, {
    ...(options.priceDecimals !== undefined
      ? { priceDecimals: options.priceDecimals }
      : {}),
    ...(options.qtyDecimals !== undefined
      ? { qtyDecimals: options.qtyDecimals }
      : {}),
  });
  const out: RebuiltBook = {
    integrity: "empty",
    bids: [],
    asks: [],
    checksum: undefined,
    expectedChecksum: undefined,
    lastSeq: undefined,
    applied: 0,
    mismatches: [],
    disagreements: [],
    snapshotValid: true,
  };
  let stream: string | undefined;
  if (options.from !== undefined) {
    const result = books.applyText(snapshotFrameText(options.from));
    out.snapshotValid = result.kind === "applied";
    stream = options.from.stream;
    out.lastSeq = options.from.seq;
    out.expectedChecksum = options.from.checksum;
  }
  for (const frame of options.frames) {
    if (stream !== undefined && frame.stream !== stream) {
      books.markResyncing(symbol);
    }
    stream = frame.stream;
    let status: BookRowStatus = "ignored";
    for (const r of books.applyTextAll(frame.raw)) {
      if (r.kind !== "malformed" && r.symbol === symbol) status = statusOf(r);
    }
    if (status === "applied") {
      out.applied++;
      out.expectedChecksum = frame.checksum;
    } else if (status === "mismatch") out.mismatches.push(frame.seq);
    if (status !== frame.status) out.disagreements.push(frame.seq);
    out.lastSeq = frame.seq;
  }
  out.integrity = books.integrity(symbol);
  const top = books.top(symbol);
  if (top !== undefined) {
    out.bids = top.bids;
    out.asks = top.asks;
    out.checksum = bookChecksum(top.asks, top.bids);
  } else out.expectedChecksum = undefined;
  return out;
}
