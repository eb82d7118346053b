/**
 * Books out of the store: rebuild a symbol's L2 book at any instant from
 * the nearest stored snapshot and the deltas after it (core's
 * `rebuildBook`, which verifies every frame against Kraken's checksum),
 * and the `record validate` check that does so at a few instants. The rows
 * come through {@linkcode BookRows}: the embedded store's here, ClickHouse's
 * in server/record/clickhouse_validate.ts, the same rebuild for both.
 *
 * @module
 */

import type { BookDepth } from "@krakked/core/ws/book";
import {
  type BookSnapshotRow,
  rebuildBook,
  type RebuildFrame,
  type RebuiltBook,
} from "@krakked/core/record/mod";
import type { RecordStore } from "./store.ts";
import { check, type CheckResult } from "./check_kit.ts";

/** A book rebuilt at an instant. */
export interface BookAt extends RebuiltBook {
  /** WS v2 symbol. */
  symbol: string;
  /** The instant, µs: every frame received by then is applied. */
  atUs: number;
  /** The stored snapshot it started from, if any (its seq). */
  fromSeq: number | undefined;
  /** The stored verdict of the last frame (`applied` when the live book was verified there). */
  liveStatus: string | undefined;
}

function n(value: unknown): number {
  return typeof value === "bigint" ? Number(value) : Number(value ?? 0);
}

function s(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

/** A stored frame as a rebuild reads it. */
export type StoredFrame = RebuildFrame & { depth: number };

/** Per symbol: how many frames, how many failed live, when. */
export interface BookSymbolSummary {
  /** WS v2 symbol. */
  symbol: string;
  /** Frame rows. */
  frames: number;
  /** Rows whose checksum failed live. */
  mismatches: number;
  /** First and last receive time, µs. */
  firstUs: number;
  lastUs: number;
}

/**
 * Where the book rows are: the embedded store ({@linkcode storeBookRows})
 * or ClickHouse (server/record/clickhouse_validate.ts). The rebuild and its
 * checks are the same for both.
 */
export interface BookRows {
  /** Every symbol with frames, in symbol order. */
  summary(): Promise<BookSymbolSummary[]>;
  /** Stored snapshots, all symbols. */
  snapshotCount(): Promise<number>;
  /**
   * The latest stored snapshot of a symbol at (or, `strict`, before) a seq.
   */
  snapshotAt(
    symbol: string,
    seq: number,
    strict: boolean,
  ): Promise<BookSnapshotRow | undefined>;
  /** A symbol's stored snapshots, in seq order. */
  snapshots(symbol: string): Promise<BookSnapshotRow[]>;
  /** A symbol's frames with `afterSeq < seq ≤ throughSeq`, in seq order. */
  frames(
    symbol: string,
    afterSeq: number,
    throughSeq: number,
  ): Promise<StoredFrame[]>;
  /** A symbol's last frame received at or before an instant. */
  lastAt(
    symbol: string,
    atUs: number,
  ): Promise<{ seq: number; status: string } | undefined>;
  /** Pair precisions (none when the symbol is not registered). */
  precisions(
    symbol: string,
  ): Promise<{ priceDecimals?: number; qtyDecimals?: number }>;
}

/**
 * Levels read back: JSON text (DuckDB lists are not JS arrays, so the
 * store's queries read them `to_json`), or an array of `{price, qty}`
 * objects or `[price, qty]` pairs (ClickHouse's named tuples).
 */
function levels(value: unknown): { price: string; qty: string }[] {
  const list = typeof value === "string" ? JSON.parse(value || "[]") : value;
  if (!Array.isArray(list)) return [];
  return list.map((l) =>
    Array.isArray(l) ? { price: s(l[0]), qty: s(l[1]) } : {
      price: s((l as { price?: unknown }).price),
      qty: s((l as { qty?: unknown }).qty),
    }
  );
}

/**
 * A stored snapshot row (`symbol, seq, stream, taken_us, depth, checksum,
 * bids, asks`) as a rebuild reads it.
 *
 * @param r The row.
 * @returns The snapshot.
 */
export function snapshotOf(r: Record<string, unknown>): BookSnapshotRow {
  return {
    symbol: s(r.symbol),
    seq: n(r.seq),
    stream: s(r.stream),
    takenUs: n(r.taken_us),
    depth: n(r.depth) as BookDepth,
    checksum: n(r.checksum),
    bids: levels(r.bids),
    asks: levels(r.asks),
  };
}

/** The columns of a `book_snapshots` row as {@linkcode snapshotOf} reads them (DuckDB SQL). */
export const SNAPSHOT_COLUMNS =
  `symbol, seq, stream, epoch_us(taken_at) AS taken_us,
  depth, checksum, CAST(to_json(bids) AS VARCHAR) AS bids,
  CAST(to_json(asks) AS VARCHAR) AS asks`;

/**
 * The book rows of an embedded store.
 *
 * @param store An open store.
 * @returns The reader.
 */
export function storeBookRows(store: RecordStore): BookRows {
  return {
    async summary() {
      return (await store.query(
        `SELECT symbol, count(*)::BIGINT AS frames,
           count(*) FILTER (WHERE status = 'mismatch')::BIGINT AS mismatches,
           epoch_us(min(received_at)) AS first_us,
           epoch_us(max(received_at)) AS last_us
         FROM bronze_book_kraken GROUP BY symbol ORDER BY symbol`,
      )).map(summaryOf);
    },
    async snapshotCount() {
      const [row] = await store.query(
        `SELECT count(*)::BIGINT AS n FROM book_snapshots`,
      );
      return n(row?.n);
    },
    async snapshotAt(symbol, seq, strict) {
      const [row] = await store.query(
        `SELECT ${SNAPSHOT_COLUMNS} FROM book_snapshots
         WHERE symbol = upper($1) AND seq ${strict ? "<" : "<="} $2
         ORDER BY seq DESC LIMIT 1`,
        [symbol, seq],
      );
      return row === undefined ? undefined : snapshotOf(row);
    },
    async snapshots(symbol) {
      return (await store.query(
        `SELECT ${SNAPSHOT_COLUMNS} FROM book_snapshots WHERE symbol = upper($1)
         ORDER BY seq`,
        [symbol],
      )).map(snapshotOf);
    },
    async frames(symbol, afterSeq, throughSeq) {
      return (await store.query(
        `SELECT seq, stream, raw, status, checksum, depth FROM bronze_book_kraken
         WHERE upper(symbol) = upper($1) AND seq > $2 AND seq <= $3 ORDER BY seq`,
        [symbol, afterSeq, throughSeq],
      )).map(frameOf);
    },
    async lastAt(symbol, atUs) {
      const [last] = await store.query(
        `SELECT seq, status FROM bronze_book_kraken
         WHERE upper(symbol) = upper($1) AND received_at <= make_timestamp($2)
         ORDER BY seq DESC LIMIT 1`,
        [symbol, atUs],
      );
      return last === undefined
        ? undefined
        : { seq: n(last.seq), status: s(last.status) };
    },
    async precisions(symbol) {
      const [row] = await store.query(
        `SELECT price_decimals, volume_decimals FROM record_symbols
         WHERE exchange = 'kraken' AND upper(exchange_symbol) = upper($1)`,
        [symbol],
      );
      return precisionsOf(row);
    },
  };
}

/**
 * A per-symbol summary row (`symbol, frames, mismatches, first_us,
 * last_us`).
 *
 * @param r The row.
 * @returns The summary.
 */
export function summaryOf(r: Record<string, unknown>): BookSymbolSummary {
  return {
    symbol: s(r.symbol),
    frames: n(r.frames),
    mismatches: n(r.mismatches),
    firstUs: n(r.first_us),
    lastUs: n(r.last_us),
  };
}

/**
 * Pair precisions from a `record_symbols` row (`price_decimals,
 * volume_decimals`), none without one.
 *
 * @param row The row, if the symbol is registered.
 * @returns The precisions.
 */
export function precisionsOf(
  row: Record<string, unknown> | undefined,
): { priceDecimals?: number; qtyDecimals?: number } {
  return row === undefined ? {} : {
    priceDecimals: n(row.price_decimals),
    qtyDecimals: n(row.volume_decimals),
  };
}

/**
 * A stored frame row (`seq, stream, raw, status, checksum, depth`) as a
 * rebuild reads it.
 *
 * @param r The row.
 * @returns The frame.
 */
export function frameOf(r: Record<string, unknown>): StoredFrame {
  return {
    seq: n(r.seq),
    stream: s(r.stream),
    raw: s(r.raw),
    status: s(r.status) as RebuildFrame["status"],
    checksum: n(r.checksum),
    depth: n(r.depth),
  };
}

/** An open store or any other {@linkcode BookRows}. */
function rowsOf(source: RecordStore | BookRows): BookRows {
  return "summary" in source ? source : storeBookRows(source);
}

/**
 * Rebuild a book through a stored sequence number: from the latest stored
 * snapshot at or before it (or from the symbol's first frame), then every
 * frame up to it.
 *
 * @param source An open store, or another place with the book rows.
 * @param symbol WS v2 symbol.
 * @param seq The last frame to apply.
 * @param options `fromBefore`: start from a snapshot strictly before `seq`
 *   (to check a stored snapshot against an independent rebuild).
 * @returns The rebuilt book.
 */
export async function bookThrough(
  source: RecordStore | BookRows,
  symbol: string,
  seq: number,
  options: { fromBefore?: boolean } = {},
): Promise<RebuiltBook & { fromSeq: number | undefined }> {
  const rows = rowsOf(source);
  const from = await rows.snapshotAt(symbol, seq, options.fromBefore === true);
  const frames = await rows.frames(symbol, from?.seq ?? 0, seq);
  const depth = (from?.depth ?? frames[0]?.depth ?? 10) as BookDepth;
  const book = rebuildBook({
    symbol,
    depth,
    ...(await rows.precisions(symbol)),
    ...(from !== undefined ? { from } : {}),
    frames,
  });
  return { ...book, fromSeq: from?.seq };
}

/**
 * A symbol's book as it was at an instant (every frame received by then
 * applied), rebuilt and verified.
 *
 * @param source An open store, or another place with the book rows.
 * @param symbol WS v2 symbol (`BTC/USD`).
 * @param atUs The instant, µs since the Unix epoch.
 * @returns The book; `integrity` is `empty` before the first frame.
 */
export async function bookAt(
  source: RecordStore | BookRows,
  symbol: string,
  atUs: number,
): Promise<BookAt> {
  const rows = rowsOf(source);
  const last = await rows.lastAt(symbol, atUs);
  const book = await bookThrough(rows, symbol, last?.seq ?? 0);
  return {
    ...book,
    symbol: symbol.toUpperCase(),
    atUs,
    liveStatus: last?.status,
  };
}

/** Counts and failures of {@linkcode verifyBooks}. */
export interface BookVerification {
  /** Symbols with book frames. */
  symbols: number;
  /** Book frame rows. */
  frames: number;
  /** Stored snapshots. */
  snapshots: number;
  /** Frames whose checksum failed live (Kraken's side, or a corrupted frame). */
  liveMismatches: number;
  /** Instants rebuilt where the live book was verified. */
  instants: number;
  /** Stored snapshots compared with a rebuild from the one before. */
  snapshotsCompared: number;
  /** What failed. */
  failures: string[];
}

/**
 * Rebuild books at a few instants per symbol and check each against the
 * stored checksums: at evenly spaced instants the rebuilt book must be
 * verified with the checksum of the last frame, and a few stored snapshots
 * must equal (levels and checksum) a rebuild from the snapshot before them.
 * Everywhere, the rebuild's verdict on each frame must equal the recorder's.
 *
 * @param source An open store, or another place with the book rows.
 * @param options Instants per symbol (default 5) and snapshots compared per
 *   symbol (default 3).
 * @returns The counts and failures.
 */
export async function verifyBooks(
  source: RecordStore | BookRows,
  options: { instants?: number; snapshots?: number } = {},
): Promise<BookVerification> {
  const rows = rowsOf(source);
  const perSymbol = options.instants ?? 5;
  const snapshotsPerSymbol = options.snapshots ?? 3;
  const out: BookVerification = {
    symbols: 0,
    frames: 0,
    snapshots: await rows.snapshotCount(),
    liveMismatches: 0,
    instants: 0,
    snapshotsCompared: 0,
    failures: [],
  };
  for (const row of await rows.summary()) {
    const symbol = row.symbol;
    out.symbols++;
    out.frames += row.frames;
    out.liveMismatches += row.mismatches;
    const first = row.firstUs;
    const last = row.lastUs;
    const report = (what: string, book: RebuiltBook) => {
      if (book.disagreements.length > 0) {
        out.failures.push(
          `${symbol} ${what}: the rebuild judged seq ${
            book.disagreements.slice(0, 3).join(", ")
          } differently from the recorder`,
        );
      }
    };
    for (let k = 1; k <= perSymbol; k++) {
      const atUs = Math.round(first + ((last - first) * k) / perSymbol);
      const book = await bookAt(rows, symbol, atUs);
      report(`at ${new Date(atUs / 1000).toISOString()}`, book);
      if (book.liveStatus !== "applied") continue;
      out.instants++;
      if (
        book.integrity !== "ok" || book.checksum !== book.expectedChecksum ||
        !book.snapshotValid
      ) {
        out.failures.push(
          `${symbol} at ${
            new Date(atUs / 1000).toISOString()
          }: rebuilt book is ${book.integrity}, checksum ${book.checksum} vs stored ${book.expectedChecksum}${
            book.snapshotValid ? "" : " (its snapshot fails its checksum)"
          }`,
        );
      }
    }
    const snaps = await rows.snapshots(symbol);
    const step = Math.max(1, Math.floor(snaps.length / snapshotsPerSymbol));
    for (
      let i = snaps.length - 1, c = 0;
      i >= 0 && c < snapshotsPerSymbol;
      i -= step, c++
    ) {
      const stored = snaps[i]!;
      const book = await bookThrough(rows, symbol, stored.seq, {
        fromBefore: true,
      });
      out.snapshotsCompared++;
      report(`snapshot ${stored.seq}`, book);
      const same = book.integrity === "ok" &&
        book.checksum === stored.checksum &&
        JSON.stringify(book.bids) === JSON.stringify(stored.bids) &&
        JSON.stringify(book.asks) === JSON.stringify(stored.asks);
      if (!same) {
        out.failures.push(
          `${symbol} snapshot at seq ${stored.seq}: a rebuild from ${
            book.fromSeq === undefined
              ? "the first frame"
              : `seq ${book.fromSeq}`
          } gives ${book.integrity} checksum ${book.checksum}, stored ${stored.checksum}`,
        );
      }
    }
  }
  return out;
}

/**
 * The `book_rebuild` check of `record validate` and `load validate`:
 * {@linkcode verifyBooks} as a pass/fail line with counts. It passes with
 * no books recorded, and fails when a rebuild disagrees or no instant had
 * a verified live book to compare with.
 *
 * @param source An open store, or another place with the book rows.
 * @returns The check.
 */
export async function bookRebuildCheck(
  source: RecordStore | BookRows,
): Promise<CheckResult> {
  const v = await verifyBooks(source);
  const counts = {
    symbols: v.symbols,
    frames: v.frames,
    snapshots: v.snapshots,
    instants: v.instants,
    snapshotsCompared: v.snapshotsCompared,
    liveMismatches: v.liveMismatches,
    failures: v.failures.length,
  };
  if (v.frames === 0) {
    return check(
      "book_rebuild",
      true,
      "books: none recorded (record with --channels trade,book)",
      counts,
    );
  }
  const ok = v.failures.length === 0 && v.instants > 0;
  return check(
    "book_rebuild",
    ok,
    `books rebuild and verify: ${v.symbols} symbols, ${v.frames} frames; ${v.instants} instants match the stored checksum, ${v.snapshotsCompared} stored snapshots equal a rebuild (${v.liveMismatches} failed their checksum live and were resynced)${
      v.instants === 0 ? "; no instant with a verified live book" : ""
    }`,
    counts,
    v.failures,
  );
}
