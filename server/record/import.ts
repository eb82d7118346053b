/**
 * `krakked record import <dir>`: a tree written by `krakked record export`
 * (server/record/export.ts; Parquet or CSV, hive-partitioned by exchange and
 * date) loaded back into a store, exactly once: to restore a store, move a
 * recording to another machine, or fold one machine's recording into
 * another store.
 *
 * - **The store's own dedupe.** Each batch is staged into the tables the
 *   live write path stages (`stage_frames`, `stage_trades`,
 *   `stage_rejected`, `stage_book`, `stage_book_snapshots`) and moved in by
 *   the same statements (`SELECT_NEW_TRADES`, `insertFramesSql`,
 *   `INSERT_BRONZE`, `SELECT_NEW_REJECTED`, `INSERT_REJECTED`,
 *   `INSERT_BOOK`, `INSERT_BOOK_SNAPSHOTS`): a trade silver holds already is
 *   not added again to silver nor bronze, a frame is written only with a row
 *   new to bronze, and a stored frame is never written twice. Only silver's
 *   insert is this module's own: it keeps every exported column, silver
 *   time (`silver_at`) included, where a live write stamps the write's time.
 * - **Bronze as it was.** Rows keep their price/qty/timestamp text, receive
 *   time, connection id, source (`ws`/`rest_backfill`) and frame; frames
 *   keep their text, receive time and source.
 * - **Gold rebuilt, not copied.** The store marks the minutes of the added
 *   trades dirty and builds every closed bucket from silver, as after a
 *   write; gold rows equal the exporting store's but for `built_at`. Vwap is
 *   rounded to each pair's `price_decimals` from `record_symbols`, which the
 *   export does not carry: pairs the store does not know are resolved by
 *   the caller (the CLI asks Kraken's, or the simulator's, AssetPairs).
 * - **All or nothing.** Everything is one transaction; any failure (a
 *   truncated file, a row the store's checks refuse, DuckDB out of memory)
 *   rolls it back, and the store is as it was.
 * - **Bounded memory.** A batch is one date partition, split by trade time
 *   (book frames by sequence number) into parts of at most `batchRows` rows.
 *
 * @module
 */

import { canonicalSymbol, KRAKEN_EXCHANGE } from "@krakked/core/record/silver";
import type { RecordStore, Row, SymbolInfo } from "./store.ts";
import {
  INSERT_BOOK,
  INSERT_BOOK_SNAPSHOTS,
  INSERT_BRONZE,
  INSERT_REJECTED,
  insertFramesSql,
  SELECT_NEW_REJECTED,
  SELECT_NEW_TRADES,
} from "./schema.ts";
import { exportSources } from "./export.ts";

/** What went wrong with an import; the store is unchanged in every case. */
export type ImportErrorKind =
  /** The directory does not exist or is not a directory. */
  | "not_found"
  /** The directory is not a tree `record export` wrote. */
  | "not_export"
  /** A file cannot be read (truncated, corrupted, wrong column types). */
  | "unreadable"
  /** Rows the store's checks refuse, or rows missing their bronze/frame. */
  | "bad_rows"
  /** Book frames at sequence numbers the store holds other frames at. */
  | "book_conflict";

/** A failed import. Nothing of it was written. */
export class ImportError extends Error {
  /** What kind of failure. */
  readonly kind: ImportErrorKind;
  /** The file or directory concerned, when one is. */
  readonly path: string | undefined;

  /**
   * @param kind What kind of failure.
   * @param message What happened, for people.
   * @param options The path concerned and the underlying error.
   */
  constructor(
    kind: ImportErrorKind,
    message: string,
    options: { path?: string | undefined; cause?: unknown } = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ImportError";
    this.kind = kind;
    this.path = options.path;
  }
}

/** Rows of one table: read from the export, added, and already present. */
export interface ImportCounts {
  /** The store table. */
  table: string;
  /** Rows read from the export. */
  read: number;
  /** Rows new to the store. */
  added: number;
  /** Rows the store held already (read − added). */
  present: number;
}

/** What {@linkcode importExport} did. */
export interface ImportResult {
  /** `parquet` or `csv`. */
  format: "parquet" | "csv";
  /** Per imported table (trades, frames, silver, book frames, snapshots). */
  tables: ImportCounts[];
  /** Gold rows (re)built after the import, all timeframes. */
  goldBuilt: number;
  /** Batches (transactional steps) the import took. */
  batches: number;
  /** Canonical symbols whose precision is unknown (gold vwap at 8 decimals). */
  unregistered: string[];
}

/** Progress of an import: trade and book rows handled so far. */
export interface ImportProgress {
  /** Rows handled (trades, then book frames and snapshots). */
  done: number;
  /** Rows in the export. */
  total: number;
}

/** Tables an import reads, with their file columns (partition columns aside). */
const FILE_COLUMNS = {
  bronze_trades_kraken: [
    ["symbol", "VARCHAR"],
    ["side", "VARCHAR"],
    ["price", "VARCHAR"],
    ["qty", "VARCHAR"],
    ["ord_type", "VARCHAR"],
    ["trade_id", "BIGINT"],
    ["timestamp", "VARCHAR"],
    ["received_at", "TIMESTAMP"],
    ["connection_id", "VARCHAR"],
    ["source", "VARCHAR"],
    ["frame_id", "UBIGINT"],
  ],
  bronze_frames_kraken: [
    ["frame_id", "UBIGINT"],
    ["received_at", "TIMESTAMP"],
    ["connection_id", "VARCHAR"],
    ["source", "VARCHAR"],
    ["raw", "VARCHAR"],
  ],
  silver_trades: [
    ["symbol", "VARCHAR"],
    ["trade_id", "VARCHAR"],
    ["exchange_trade_id", "BIGINT"],
    ["side", "VARCHAR"],
    ["price", "DECIMAL(38,18)"],
    ["qty", "DECIMAL(38,18)"],
    ["ts", "TIMESTAMP"],
    ["received_at", "TIMESTAMP"],
    ["silver_at", "TIMESTAMP"],
    ["source", "VARCHAR"],
    // Not read (bronze has the original fields); listed for CSV's order.
    ["original", "VARCHAR"],
  ],
  bronze_book_kraken: [
    ["seq", "BIGINT"],
    ["symbol", "VARCHAR"],
    ["type", "VARCHAR"],
    ["checksum", "UBIGINT"],
    ["timestamp", "VARCHAR"],
    ["bid_levels", "INTEGER"],
    ["ask_levels", "INTEGER"],
    ["status", "VARCHAR"],
    ["depth", "INTEGER"],
    ["received_at", "TIMESTAMP"],
    ["connection_id", "VARCHAR"],
    ["stream", "VARCHAR"],
    ["raw", "VARCHAR"],
  ],
  book_snapshots: [
    ["symbol", "VARCHAR"],
    ["seq", "BIGINT"],
    ["stream", "VARCHAR"],
    ["taken_at", "TIMESTAMP"],
    ["depth", "INTEGER"],
    ["checksum", "UBIGINT"],
    ["bids", "STRUCT(price VARCHAR, qty VARCHAR)[]"],
    ["asks", "STRUCT(price VARCHAR, qty VARCHAR)[]"],
  ],
} as const;

type ImportTable = keyof typeof FILE_COLUMNS;

const TRADE_TABLES = [
  "bronze_trades_kraken",
  "bronze_frames_kraken",
  "silver_trades",
] as const;

/** One `exchange=…/date=…` directory of a table. */
interface Partition {
  exchange: string;
  date: string;
  files: string[];
}

/** A scanned export tree. */
interface Tree {
  format: "parquet" | "csv";
  tables: Map<string, Partition[]>;
}

/** Default rows per batch: well inside DuckDB's 256MB default limit. */
export const DEFAULT_BATCH_ROWS = 50_000;

/**
 * Import an export tree into a store, exactly once, in one transaction;
 * then build the gold of the buckets it touched (closed at `nowUs`).
 *
 * @param store An open store (set its `memory_limit` first).
 * @param dir The directory `record export --out` wrote.
 * @param options `nowUs` (which gold buckets are closed), `batchRows`,
 *   `books` (default true; false leaves the book tables out, to merge the
 *   trades of two recordings that both hold books),
 *   `resolveSymbols` (precisions of pairs the store does not know) and
 *   `onProgress`.
 * @returns Rows read, added and present per table, gold rows built.
 * @throws {ImportError} For a missing directory, a tree that is not an
 *   export, a file DuckDB cannot read, or rows the store refuses; nothing
 *   was written.
 * @throws {Error} DuckDB's own error (e.g. out of memory); rolled back.
 */
export async function importExport(
  store: RecordStore,
  dir: string,
  options: {
    nowUs: number;
    batchRows?: number;
    resolveSymbols?: (symbols: string[]) => Promise<SymbolInfo[]>;
    books?: boolean;
    onProgress?: (progress: ImportProgress) => void;
  },
): Promise<ImportResult> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!(Number.isInteger(batchRows) && batchRows >= 1)) {
    throw new RangeError(`batchRows must be a whole number ≥ 1`);
  }
  const tree = await scanTree(dir);
  // Read before anything is written: an unreadable list fails the import.
  const listed = await exportedSymbols(store, dir, tree.format);
  const importer = new Importer(
    store,
    tree,
    batchRows,
    options.onProgress,
    options.books ?? true,
  );
  await store.query("BEGIN TRANSACTION");
  try {
    await importer.run();
    await store.query("COMMIT");
  } catch (error) {
    await store.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await importer.dropTemp().catch(() => {});
  }
  // Pairs the store does not know yet: their precisions, for gold's vwap,
  // from the export itself, else from the caller.
  const known = new Set(store.symbols.map((s) => s.symbol));
  let missing = [...importer.maxIds.keys()].filter((s) => !known.has(s));
  if (missing.length > 0) {
    const exported = listed.filter((s) => missing.includes(s.symbol));
    await store.registerSymbols(exported);
    const got = new Set(exported.map((s) => s.symbol));
    missing = missing.filter((s) => !got.has(s));
  }
  if (missing.length > 0 && options.resolveSymbols !== undefined) {
    const found = (await options.resolveSymbols(missing))
      .filter((s) => missing.includes(s.symbol));
    await store.registerSymbols(found);
    const got = new Set(found.map((s) => s.symbol));
    missing = missing.filter((s) => !got.has(s));
  }
  store.noteImported(importer.maxIds, importer.minutes());
  const goldBuilt = await store.flushGold(options.nowUs);
  // A store that recorded until some time says buckets after it were not
  // fully recorded (validate expects no gold there); gold is now built for
  // every bucket closed at nowUs, so that is how far the store is complete.
  // A store without the mark (a fresh one) gets it too: the bucket still
  // open at nowUs has silver but no gold, and closes later without a
  // recorder to build it.
  const until = await store.recordedUntil();
  if (until === undefined || until < options.nowUs) {
    await store.setRecordedUntil(options.nowUs);
  }
  return {
    format: tree.format,
    tables: importer.counts(),
    goldBuilt,
    batches: importer.batches,
    unregistered: missing.sort(),
  };
}

/**
 * The pairs an export lists in `record_symbols/` (exports before it was
 * written have none: empty). Rows that are not a pair's precisions are
 * skipped; the trades they would describe stay unregistered.
 */
async function exportedSymbols(
  store: RecordStore,
  dir: string,
  format: "parquet" | "csv",
): Promise<SymbolInfo[]> {
  const files: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`);
      else if (e.isFile && e.name.endsWith(`.${format}`)) {
        files.push(`${d}/${e.name}`);
      }
    }
  };
  try {
    await walk(`${dir}/record_symbols`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  if (files.length === 0) return [];
  const list = `[${
    files.map((f) => `'${f.replaceAll("'", "''")}'`).join(", ")
  }]`;
  let rows: Record<string, unknown>[];
  try {
    rows = await store.query(
      `SELECT CAST(exchange AS VARCHAR) AS exchange,
         CAST(symbol AS VARCHAR) AS symbol,
         CAST(exchange_symbol AS VARCHAR) AS exchange_symbol,
         CAST(rest_pair AS VARCHAR) AS rest_pair,
         TRY_CAST(price_decimals AS INTEGER) AS price_decimals,
         TRY_CAST(volume_decimals AS INTEGER) AS volume_decimals
       FROM ${
        format === "parquet"
          ? `read_parquet(${list}, hive_partitioning = true)`
          : `read_csv(${list}, header = true, hive_partitioning = true,
               all_varchar = true)`
      }`,
    );
  } catch (error) {
    throw new ImportError(
      "unreadable",
      `Cannot read ${dir}/record_symbols: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { path: `${dir}/record_symbols`, cause: error },
    );
  }
  const out: SymbolInfo[] = [];
  for (const r of rows) {
    const price = r.price_decimals;
    const volume = r.volume_decimals;
    if (
      typeof r.exchange !== "string" || typeof r.symbol !== "string" ||
      typeof r.exchange_symbol !== "string" ||
      typeof r.rest_pair !== "string" ||
      typeof price !== "number" || typeof volume !== "number" ||
      !(price >= 0 && price <= 18 && volume >= 0 && volume <= 18)
    ) continue;
    out.push({
      exchange: r.exchange,
      symbol: r.symbol,
      exchangeSymbol: r.exchange_symbol,
      restPair: r.rest_pair,
      priceDecimals: price,
      volumeDecimals: volume,
    });
  }
  return out;
}

/** One import's state while its transaction runs. */
class Importer {
  readonly maxIds = new Map<string, number>();
  batches = 0;
  #minutes = new Map<string, Set<number>>();
  /** Per canonical symbol, silver's highest Kraken trade id (this import's included). */
  #silverMax = new Map<string, number>();
  #books: boolean;
  #store: RecordStore;
  #tree: Tree;
  #batchRows: number;
  #onProgress: ((progress: ImportProgress) => void) | undefined;
  #counts = new Map<string, ImportCounts>();
  #done = 0;
  #total = 0;
  #temps = new Set<string>();
  #views = new Set<string>();

  constructor(
    store: RecordStore,
    tree: Tree,
    batchRows: number,
    onProgress: ((progress: ImportProgress) => void) | undefined,
    books: boolean,
  ) {
    this.#books = books;
    this.#store = store;
    this.#tree = tree;
    this.#batchRows = batchRows;
    this.#onProgress = onProgress;
  }

  async run(): Promise<void> {
    const trades = this.#tree.tables.get("bronze_trades_kraken") ?? [];
    const books = this.#books
      ? this.#tree.tables.get("bronze_book_kraken") ?? []
      : [];
    const snaps = this.#books
      ? this.#tree.tables.get("book_snapshots") ?? []
      : [];
    // Rows per partition first (Parquet's footers: no data read), for the
    // batch split and the progress total.
    const sizes = new Map<Partition, number>();
    for (
      const [table, parts] of [
        ["bronze_trades_kraken", trades],
        ["bronze_book_kraken", books],
        ["book_snapshots", snaps],
      ] as const
    ) {
      for (const p of parts) {
        const [row] = await this.#read(
          table,
          p.files,
          (src) => `SELECT count(*)::BIGINT AS n FROM ${src}`,
        );
        const n = Number(row?.n ?? 0);
        sizes.set(p, n);
        this.#total += n;
      }
    }
    for (const t of TRADE_TABLES) this.#count(t, 0, 0);
    if (trades.length > 0) {
      await this.#mapSymbols(trades);
      await this.#indexFrames();
      await this.#temp(
        "import_frames_done",
        `SELECT 0::UBIGINT AS frame_id LIMIT 0`,
      );
      for (
        const r of await this.#store.query(
          `SELECT symbol, max(exchange_trade_id) AS max_id
           FROM silver_trades_data WHERE exchange = '${KRAKEN_EXCHANGE}'
           GROUP BY symbol`,
        )
      ) this.#silverMax.set(String(r.symbol), Number(r.max_id));
      for (const p of trades) await this.#tradePartition(p, sizes.get(p)!);
    }
    for (const p of books) await this.#bookPartition(p, sizes.get(p)!);
    for (const p of snaps) await this.#snapshotPartition(p, sizes.get(p)!);
  }

  /** Per table counts, in a stable order. */
  counts(): ImportCounts[] {
    return [...this.#counts.values()];
  }

  /** `[symbol, minute µs]` of every trade added. */
  *minutes(): Iterable<[string, number]> {
    for (const [symbol, set] of this.#minutes) {
      for (const us of set) yield [symbol, us];
    }
  }

  async dropTemp(): Promise<void> {
    for (const t of this.#temps) {
      await this.#store.query(`DROP TABLE IF EXISTS temp.${t}`);
    }
    for (const v of this.#views) await this.#dropView(v);
  }

  /** A temp view in place of a table of the same name (no copy). */
  async #view(name: string, sql: string): Promise<void> {
    if (!this.#views.has(name)) {
      // A staging table of the store's own writes on this connection.
      await this.#store.query(`DROP TABLE IF EXISTS temp.${name}`);
      this.#temps.delete(name);
      this.#views.add(name);
    }
    await this.#store.query(`CREATE OR REPLACE TEMP VIEW ${name} AS ${sql}`);
  }

  async #dropView(name: string): Promise<void> {
    if (!this.#views.delete(name)) return;
    await this.#store.query(`DROP VIEW IF EXISTS temp.${name}`);
  }

  #count(table: string, read: number, added: number): void {
    const c = this.#counts.get(table) ??
      { table, read: 0, added: 0, present: 0 };
    c.read += read;
    c.added += added;
    c.present = c.read - c.added;
    this.#counts.set(table, c);
  }

  #progress(rows: number): void {
    this.#done += rows;
    this.#onProgress?.({ done: this.#done, total: this.#total });
  }

  async #run(sql: string, params: number[] = []): Promise<number> {
    const rows = await this.#store.query(sql, params);
    return Number(rows[0]?.Count ?? 0);
  }

  async #temp(name: string, sql: string): Promise<void> {
    await this.#dropView(name);
    this.#temps.add(name);
    await this.#store.query(`CREATE OR REPLACE TEMP TABLE ${name} AS ${sql}`);
  }

  /** Run a query over a table's files; a read failure is an {@linkcode ImportError}. */
  async #read(
    table: ImportTable,
    files: readonly string[],
    sql: (source: string) => string,
    run: (sql: string) => Promise<Row[]> = (q) => this.#store.query(q),
  ): Promise<Row[]> {
    try {
      return await run(sql(sourceSql(this.#tree.format, table, files)));
    } catch (error) {
      throw readError(table, files, error);
    }
  }

  async #readInto(
    name: string,
    table: ImportTable,
    files: readonly string[],
    sql: (source: string) => string,
  ): Promise<void> {
    await this.#read(table, files, sql, (q) => {
      this.#temps.add(name);
      return this.#store.query(
        `CREATE OR REPLACE TEMP TABLE ${name} AS ${q}`,
      );
    });
  }

  /** Bronze symbols → canonical ones (core's mapping), as `import_map`. */
  async #mapSymbols(parts: readonly Partition[]): Promise<void> {
    const rows = await this.#read(
      "bronze_trades_kraken",
      parts.flatMap((p) => p.files),
      (src) => `SELECT DISTINCT symbol FROM ${src}`,
    );
    const values: string[] = [];
    for (const r of rows) {
      const symbol = String(r.symbol);
      let canon: string | null = null;
      try {
        canon = canonicalSymbol(symbol);
      } catch {
        // Silver cannot read it: its rows can only be bronze's rejected ones.
      }
      values.push(
        `(${quote(symbol)}, ${canon === null ? "NULL" : quote(canon)})`,
      );
    }
    await this.#temp(
      "import_map",
      values.length === 0
        ? `SELECT ''::VARCHAR AS symbol, ''::VARCHAR AS canonical LIMIT 0`
        : `SELECT * FROM (VALUES ${values.join(", ")}) v(symbol, canonical)`,
    );
  }

  /** Which file holds each exported frame (`import_frame_at`). */
  async #indexFrames(): Promise<void> {
    const parts = this.#tree.tables.get("bronze_frames_kraken") ?? [];
    const files = parts.flatMap((p) => p.files);
    await this.#readInto(
      "import_frame_at",
      "bronze_frames_kraken",
      files,
      (src) => `SELECT frame_id, filename FROM ${src}`,
    );
    const [row] = await this.#store.query(
      `SELECT count(*)::BIGINT AS n, count(DISTINCT frame_id)::BIGINT AS d
       FROM import_frame_at`,
    );
    this.#count("bronze_frames_kraken", Number(row?.n), 0);
    if (Number(row?.n) !== Number(row?.d)) {
      throw new ImportError(
        "bad_rows",
        "bronze_frames_kraken lists a frame more than once: not an export of one store",
      );
    }
  }

  /** Split a partition into windows of at most batchRows rows of `key`. */
  async #windows(
    table: ImportTable,
    files: readonly string[],
    rows: number,
    key: string,
  ): Promise<(readonly [number, number] | undefined)[]> {
    const k = Math.ceil(rows / this.#batchRows);
    if (k <= 1) return [undefined];
    const qs = Array.from({ length: k - 1 }, (_, i) => (i + 1) / k);
    const [row] = await this.#read(
      table,
      files,
      (src) =>
        `SELECT quantile_disc(${key}, [${qs.join(", ")}]) AS q FROM ${src}`,
    );
    const cuts = [
      ...new Set(
        (row?.q as { items: unknown[] } | null)?.items
          .map(Number) ?? [],
      ),
    ].sort((a, b) => a - b);
    const bounds = [-(2 ** 62), ...cuts, 2 ** 62];
    const out: [number, number][] = [];
    for (let i = 0; i + 1 < bounds.length; i++) {
      out.push([bounds[i]!, bounds[i + 1]!]);
    }
    return out;
  }

  async #tradePartition(p: Partition, rows: number): Promise<void> {
    if (p.exchange !== KRAKEN_EXCHANGE) {
      throw new ImportError(
        "not_export",
        `bronze_trades_kraken holds exchange=${p.exchange}: only Kraken is recorded`,
        { path: p.files[0] },
      );
    }
    const silver = (this.#tree.tables.get("silver_trades") ?? []).filter((s) =>
      s.date === p.date
    );
    for (const s of silver) {
      if (s.exchange !== KRAKEN_EXCHANGE) {
        throw new ImportError(
          "not_export",
          `silver_trades holds exchange=${s.exchange}: the embedded store has no bronze for it`,
          { path: s.files[0] },
        );
      }
    }
    // Bronze rows whose text is not a time (silver rejected them) count as
    // the first window's.
    const bronzeKey =
      `coalesce(epoch_us(TRY_CAST("timestamp" AS TIMESTAMP)), -(2::BIGINT ** 62))`;
    const windows = await this.#windows(
      "bronze_trades_kraken",
      p.files,
      rows,
      bronzeKey,
    );
    for (const w of windows) {
      const where = (key: string) =>
        w === undefined ? "" : `WHERE ${key} >= ${w[0]} AND ${key} < ${w[1]}`;
      await this.#tradeBatch(
        p,
        silver.flatMap((s) => s.files),
        where(bronzeKey),
        where("epoch_us(ts)"),
      );
    }
    // A partition without silver files and without bronze rows is fine.
    const orphan = (this.#tree.tables.get("silver_trades") ?? []).filter((s) =>
      !(this.#tree.tables.get("bronze_trades_kraken") ?? []).some((b) =>
        b.date === s.date
      )
    );
    if (orphan.length > 0) {
      throw new ImportError(
        "bad_rows",
        `silver_trades has a date (${
          orphan[0]!.date
        }) bronze_trades_kraken lacks: every silver row needs its bronze row`,
        { path: orphan[0]!.files[0] },
      );
    }
  }

  async #tradeBatch(
    p: Partition,
    silverFiles: readonly string[],
    bronzeWhere: string,
    silverWhere: string,
  ): Promise<void> {
    this.batches++;
    await this.#readInto(
      "import_bronze",
      "bronze_trades_kraken",
      p.files,
      (src) => `SELECT * FROM ${src} ${bronzeWhere}`,
    );
    if (silverFiles.length > 0) {
      await this.#readInto(
        "import_silver",
        "silver_trades",
        silverFiles,
        (src) => `SELECT * EXCLUDE (original) FROM ${src} ${silverWhere}`,
      );
    } else {
      await this.#temp(
        "import_silver",
        `SELECT * EXCLUDE (original) FROM ${
          sourceSql("parquet", "silver_trades", [])
        } LIMIT 0`,
      );
    }
    // The store's checks on silver rows (positive decimals, sides, ids).
    const [bad] = await this.#store.query(
      `SELECT count(*)::BIGINT AS n, any_value(trade_id) AS example
       FROM import_silver
       WHERE NOT (price > 0 AND qty > 0 AND side IN ('BUY', 'SELL')
         AND trade_id = '${KRAKEN_EXCHANGE}:' || symbol || ':' || exchange_trade_id
         AND source IN ('ws', 'rest_backfill'))
         OR (symbol, trade_id, exchange_trade_id, side, price, qty, ts,
           received_at, silver_at, source) IS NULL
         OR symbol IS NULL OR ts IS NULL OR received_at IS NULL
         OR silver_at IS NULL`,
    );
    if (Number(bad?.n) > 0) {
      throw new ImportError(
        "bad_rows",
        `silver_trades has ${bad!.n} rows the store refuses (e.g. ${
          String(bad!.example)
        }: a price or quantity not above zero, an unknown side or source, an id not kraken:<symbol>:<id>)`,
        { path: silverFiles[0] },
      );
    }
    const [badBronze] = await this.#store.query(
      `SELECT count(*)::BIGINT AS n, any_value(symbol || ' ' || trade_id) AS example
       FROM import_bronze
       WHERE source NOT IN ('ws', 'rest_backfill') OR source IS NULL
         OR symbol IS NULL OR side IS NULL OR price IS NULL OR qty IS NULL
         OR ord_type IS NULL OR trade_id IS NULL OR "timestamp" IS NULL
         OR received_at IS NULL OR connection_id IS NULL OR frame_id IS NULL`,
    );
    if (Number(badBronze?.n) > 0) {
      throw new ImportError(
        "bad_rows",
        `bronze_trades_kraken has ${
          badBronze!.n
        } rows the store refuses (e.g. ${
          String(badBronze!.example)
        }: a missing field or a source other than ws/rest_backfill)`,
        { path: p.files[0] },
      );
    }
    // The frames of these rows, from the files holding them.
    const frameFiles = (await this.#store.query(
      `SELECT DISTINCT filename FROM import_frame_at
       WHERE frame_id IN (SELECT frame_id FROM import_bronze)`,
    )).map((r) => String(r.filename));
    if (frameFiles.length > 0) {
      await this.#readInto(
        "import_frames",
        "bronze_frames_kraken",
        frameFiles,
        (src) =>
          // f, the staging's frame key, is the frame id itself.
          `SELECT frame_id AS f,
             epoch_us(received_at) AS received_us, connection_id, source, raw, frame_id
           FROM ${src} WHERE frame_id IN (SELECT frame_id FROM import_bronze)`,
      );
    } else {
      await this.#temp(
        "import_frames",
        `SELECT 0::UBIGINT AS f, 0::BIGINT AS received_us, ''::VARCHAR AS connection_id,
           ''::VARCHAR AS source, ''::VARCHAR AS raw, 0::UBIGINT AS frame_id LIMIT 0`,
      );
    }
    const [lost] = await this.#store.query(
      `SELECT count(*)::BIGINT AS n FROM import_bronze b
       WHERE NOT EXISTS (SELECT 1 FROM import_frames f WHERE f.frame_id = b.frame_id)`,
    );
    if (Number(lost?.n) > 0) {
      throw new ImportError(
        "bad_rows",
        `${
          lost!.n
        } bronze_trades_kraken rows point at frames bronze_frames_kraken lacks`,
        { path: p.files[0] },
      );
    }
    // One row per silver trade with its bronze fields, as a live write
    // stages them (stage_trades' columns), plus silver's own values.
    await this.#temp(
      "stage_trades",
      `SELECT b.symbol, b.side, b.price, b.qty, b.ord_type, b.trade_id,
         b."timestamp", epoch_us(b.received_at) AS received_us, b.connection_id,
         b.source, b.frame_id AS f, '${KRAKEN_EXCHANGE}' AS exchange, s.symbol AS s_symbol,
         s.trade_id AS s_trade_id, s.side AS s_side,
         epoch_us(s.ts) AS ts_us, s.price AS price_d, s.qty AS qty_d,
         epoch_us(s.received_at) AS s_received_us,
         epoch_us(s.silver_at) AS silver_us, s.source AS s_source
       FROM import_silver s
       JOIN import_map m ON m.canonical = s.symbol
       JOIN import_bronze b ON b.symbol = m.symbol AND b.trade_id = s.exchange_trade_id`,
    );
    const [pairs] = await this.#store.query(
      `SELECT (SELECT count(*) FROM import_silver)::BIGINT AS silver,
         (SELECT count(*) FROM stage_trades)::BIGINT AS paired,
         (SELECT count(DISTINCT s_trade_id) FROM stage_trades)::BIGINT AS ids,
         (SELECT count(*) FROM import_bronze)::BIGINT AS bronze,
         (SELECT min(ts_us) FROM stage_trades) AS min_us,
         (SELECT max(ts_us) FROM stage_trades) AS max_us`,
    );
    const silverRead = Number(pairs?.silver);
    // Each silver row pairs with one bronze row (the export's silver is
    // unique by trade id and bronze by symbol and id): more pairs than rows
    // is a repeated id, fewer a silver row without bronze.
    if (
      Number(pairs?.paired) !== silverRead ||
      Number(pairs?.ids) !== silverRead
    ) {
      throw new ImportError(
        "bad_rows",
        `${
          silverRead - Number(pairs?.paired)
        } silver_trades rows of ${p.date} have no bronze row, or repeat a trade id`,
        { path: silverFiles[0] },
      );
    }
    const rejected = Number(pairs?.bronze) - silverRead;
    if (rejected > 0) await this.#stageRejected(p);
    const minUs = Number(pairs?.min_us ?? 0);
    const maxUs = Number(pairs?.max_us ?? 0);
    // The trades silver lacks. As the bulk path does: when each symbol's
    // lowest id here is above silver's highest (a fresh store, or an export
    // continuing the store), all are new without looking; else the store's
    // anti-join.
    const lows = await this.#store.query(
      `SELECT s_symbol, min(trade_id) AS lo FROM stage_trades GROUP BY s_symbol`,
    );
    const direct = lows.every((r) =>
      Number(r.lo) > (this.#silverMax.get(String(r.s_symbol)) ?? -1)
    );
    if (direct) await this.#view("new_trades", `SELECT * FROM stage_trades`);
    else {
      await this.#dropView("new_trades");
      await this.#store.query(
        inline(SELECT_NEW_TRADES, [minUs - 1_000_000, maxUs + 1_000_000]),
      );
      this.#temps.add("new_trades");
    }
    const silverAdded = await this.#run(
      `INSERT INTO silver_trades_data
       SELECT exchange, s_symbol, s_trade_id, trade_id, s_side, price_d, qty_d,
         make_timestamp(ts_us), make_timestamp(s_received_us),
         make_timestamp(silver_us), s_source, symbol
       FROM new_trades`,
    );
    if (rejected > 0) {
      await this.#store.query(SELECT_NEW_REJECTED);
      this.#temps.add("new_rejected");
    }
    // stage_frames without the frames stored already: insertFramesSql
    // writes a frame per new row, and a frame can be stored by an earlier
    // batch (its trades fall in two) or by the store itself (the same text
    // recorded there). With only new ids (direct) the store holds none of
    // these frames (a stored frame's trades are all stored), so only this
    // import's own are looked at, not every stored frame.
    await this.#view(
      "stage_frames",
      `SELECT * FROM import_frames i WHERE NOT EXISTS (
         SELECT 1 FROM ${
        direct ? "import_frames_done" : "bronze_frames_kraken"
      } b WHERE b.frame_id = i.frame_id)`,
    );
    const framesAdded = await this.#run(insertFramesSql(rejected > 0));
    await this.#store.query(
      `INSERT INTO import_frames_done SELECT frame_id FROM stage_frames
       WHERE f IN (SELECT f FROM new_trades${
        rejected > 0 ? " UNION ALL SELECT f FROM new_rejected" : ""
      })`,
    );
    // Every frame again, for bronze's join.
    await this.#view("stage_frames", `SELECT * FROM import_frames`);
    let bronzeAdded = await this.#run(INSERT_BRONZE);
    if (rejected > 0) bronzeAdded += await this.#run(INSERT_REJECTED);
    this.#count("bronze_trades_kraken", Number(pairs?.bronze), bronzeAdded);
    // Read counted once, in #indexFrames: a frame whose trades fall in two
    // batches is staged by both.
    this.#count("bronze_frames_kraken", 0, framesAdded);
    this.#count("silver_trades", silverRead, silverAdded);
    if (silverAdded > 0) {
      const touched = await this.#store.query(
        `SELECT s_symbol, max(trade_id) AS max_id,
           list(DISTINCT (ts_us // 60000000) * 60000000) AS minutes
         FROM new_trades GROUP BY s_symbol`,
      );
      for (const r of touched) {
        const symbol = String(r.s_symbol);
        const id = Number(r.max_id);
        if (!(id <= (this.maxIds.get(symbol) ?? -1))) {
          this.maxIds.set(symbol, id);
        }
        if (!(id <= (this.#silverMax.get(symbol) ?? -1))) {
          this.#silverMax.set(symbol, id);
        }
        let set = this.#minutes.get(symbol);
        if (set === undefined) this.#minutes.set(symbol, set = new Set());
        for (const m of (r.minutes as { items: unknown[] }).items) {
          set.add(Number(m));
        }
      }
    }
    this.#progress(Number(pairs?.bronze));
  }

  /** Bronze rows of the batch without a silver row, checked. */
  async #stageRejected(p: Partition): Promise<void> {
    // Bronze rows silver refused when recorded (kept as received).
    await this.#temp(
      "stage_rejected",
      `SELECT b.symbol, b.side, b.price, b.qty, b.ord_type, b.trade_id,
         b."timestamp", epoch_us(b.received_at) AS received_us, b.connection_id,
         b.source, b.frame_id AS f
       FROM import_bronze b
       WHERE NOT EXISTS (
         SELECT 1 FROM stage_trades t WHERE t.symbol = b.symbol AND t.trade_id = b.trade_id)`,
    );
    // A row silver would read must have come with its silver row.
    const [readable] = await this.#store.query(
      `SELECT count(*)::BIGINT AS n, any_value(r.symbol || ' ' || r.trade_id) AS example
       FROM stage_rejected r JOIN import_map m ON m.symbol = r.symbol
       WHERE m.canonical IS NOT NULL AND r.side IN ('buy', 'sell')
         AND TRY_CAST(r.price AS DECIMAL(38,18)) > 0
         AND TRY_CAST(r.qty AS DECIMAL(38,18)) > 0
         AND TRY_CAST(r."timestamp" AS TIMESTAMP) IS NOT NULL`,
    );
    if (Number(readable?.n) > 0) {
      throw new ImportError(
        "bad_rows",
        `${
          readable!.n
        } bronze_trades_kraken rows of ${p.date} lack their silver row (e.g. ${
          String(readable!.example)
        })`,
        { path: p.files[0] },
      );
    }
  }

  async #bookPartition(p: Partition, rows: number): Promise<void> {
    for (
      const w of await this.#windows("bronze_book_kraken", p.files, rows, "seq")
    ) {
      this.batches++;
      const where = w === undefined
        ? ""
        : `WHERE seq >= ${w[0]} AND seq < ${w[1]}`;
      await this.#readInto(
        "stage_book",
        "bronze_book_kraken",
        p.files,
        (src) =>
          `SELECT seq, symbol, type, checksum, "timestamp", bid_levels,
             ask_levels, status, depth, epoch_us(received_at) AS received_us,
             connection_id, stream, raw
           FROM ${src} ${where}`,
      );
      const [range] = await this.#store.query(
        `SELECT count(*)::BIGINT AS n, min(seq) AS lo, max(seq) AS hi,
           count(*) FILTER (WHERE (seq, symbol, type, checksum, "timestamp",
             bid_levels, ask_levels, status, depth, received_us, connection_id,
             stream, raw) IS NULL OR seq IS NULL OR symbol IS NULL OR raw IS NULL
             OR stream IS NULL OR received_us IS NULL)::BIGINT AS bad
         FROM stage_book`,
      );
      const n = Number(range?.n);
      if (n === 0) continue;
      if (Number(range?.bad) > 0) {
        throw new ImportError(
          "bad_rows",
          `bronze_book_kraken has ${range!.bad} rows with a missing field`,
          { path: p.files[0] },
        );
      }
      const lo = Number(range?.lo);
      const hi = Number(range?.hi);
      // Sequence numbers are the store's own: the same number must be the
      // same frame, else these are another recording's books.
      const [clash] = await this.#store.query(
        `SELECT count(*)::BIGINT AS n, any_value(s.seq) AS seq FROM stage_book s
         JOIN bronze_book_kraken b ON b.seq = s.seq
         WHERE b.seq BETWEEN ${lo} AND ${hi}
           AND (b.symbol <> s.symbol OR b.stream <> s.stream OR b.raw <> s.raw
             OR epoch_us(b.received_at) <> s.received_us)`,
      );
      if (Number(clash?.n) > 0) {
        throw new ImportError(
          "book_conflict",
          `the store holds other book frames at ${
            clash!.n
          } of the export's sequence numbers (e.g. ${
            clash!.seq
          }): book frames of two recordings cannot be merged (import without books to merge the trades)`,
          { path: p.files[0] },
        );
      }
      const added = await this.#run(inline(INSERT_BOOK, [lo, hi]));
      this.#count("bronze_book_kraken", n, added);
      this.#progress(n);
    }
  }

  async #snapshotPartition(p: Partition, rows: number): Promise<void> {
    for (
      const w of await this.#windows("book_snapshots", p.files, rows, "seq")
    ) {
      this.batches++;
      const where = w === undefined
        ? ""
        : `WHERE seq >= ${w[0]} AND seq < ${w[1]}`;
      await this.#readInto(
        "import_snapshots",
        "book_snapshots",
        p.files,
        (src) => `SELECT * FROM ${src} ${where}`,
      );
      const [counts] = await this.#store.query(
        `SELECT count(*)::BIGINT AS n,
           count(*) FILTER (WHERE (symbol, seq, stream, taken_at, depth,
             checksum, bids, asks) IS NULL OR symbol IS NULL OR seq IS NULL
             OR bids IS NULL OR asks IS NULL)::BIGINT AS bad
         FROM import_snapshots`,
      );
      const n = Number(counts?.n);
      if (n === 0) continue;
      if (Number(counts?.bad) > 0) {
        throw new ImportError(
          "bad_rows",
          `book_snapshots has ${counts!.bad} rows with a missing field`,
          { path: p.files[0] },
        );
      }
      const [clash] = await this.#store.query(
        `SELECT count(*)::BIGINT AS n FROM import_snapshots s
         JOIN book_snapshots b USING (symbol, seq)
         WHERE b.stream <> s.stream OR b.checksum <> s.checksum
           OR b.taken_at <> s.taken_at OR b.bids <> s.bids OR b.asks <> s.asks`,
      );
      if (Number(clash?.n) > 0) {
        throw new ImportError(
          "book_conflict",
          `the store holds other book snapshots at ${
            clash!.n
          } of the export's (symbol, seq)`,
          { path: p.files[0] },
        );
      }
      // Snapshots stored already are left alone (INSERT OR REPLACE would
      // rewrite them unchanged).
      await this.#temp(
        "stage_book_snapshots",
        `SELECT symbol, seq, stream, epoch_us(taken_at) AS taken_us, depth,
           checksum, to_json(bids) AS bids, to_json(asks) AS asks
         FROM import_snapshots s WHERE NOT EXISTS (
           SELECT 1 FROM book_snapshots b WHERE b.symbol = s.symbol AND b.seq = s.seq)`,
      );
      const added = await this.#run(INSERT_BOOK_SNAPSHOTS);
      this.#count("book_snapshots", n, added);
      this.#progress(n);
    }
  }
}

/** `sql` with `$1…` written as integer literals (parenthesized). */
function inline(sql: string, values: readonly number[]): string {
  return sql.replace(/\$(\d+)(?!\d)/g, (all, n: string) => {
    const v = values[Number(n) - 1];
    if (v === undefined) return all;
    if (!Number.isSafeInteger(v)) throw new RangeError(`not an integer: ${v}`);
    return `(${v})`;
  });
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A typed SELECT over some of a table's files (no partition columns). */
function sourceSql(
  format: "parquet" | "csv",
  table: ImportTable,
  files: readonly string[],
): string {
  const columns = FILE_COLUMNS[table];
  if (files.length === 0) {
    return `(SELECT ${
      columns.map(([n, t]) => `NULL::${t} AS "${n}"`).join(", ")
    }, ''::VARCHAR AS filename LIMIT 0)`;
  }
  const list = `[${files.map(quote).join(", ")}]`;
  // `original` (silver's map) is not read: bronze holds those fields.
  const select = columns.map(([n, t]) =>
    n === "original"
      ? `NULL::VARCHAR AS "original"`
      : `CAST("${n}" AS ${t}) AS "${n}"`
  ).join(", ");
  if (format === "parquet") {
    return `(SELECT ${select}, filename FROM read_parquet(${list},
      hive_partitioning = false, filename = true))`;
  }
  // Every CSV column as text, cast after: no type guessing (a price must
  // stay its text), and nested columns parse from DuckDB's own printing.
  const all = columns.map(([n]) => `'${n}': 'VARCHAR'`).join(", ");
  return `(SELECT ${select}, filename FROM read_csv(${list}, header = true,
    auto_detect = false, delim = ',', quote = '"', escape = '"',
    allow_quoted_nulls = false, hive_partitioning = false, filename = true,
    columns = {${all}}))`;
}

function readError(
  table: string,
  files: readonly string[],
  error: unknown,
): unknown {
  if (error instanceof ImportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // DuckDB names the file it failed on; else the table's first file.
  const named = files.find((f) => message.includes(f));
  return new ImportError(
    "unreadable",
    `Cannot read ${table} from the export: ${message.split("\n")[0]}`,
    { path: named ?? files[0], cause: error },
  );
}

/**
 * The tables of an export tree and their partitions, checked against the
 * layout `record export` writes: `<table>/exchange=<x>/date=<YYYY-MM-DD>/
 * <file>.parquet|csv`, one format throughout.
 */
async function scanTree(dir: string): Promise<Tree> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    throw new ImportError(
      "not_found",
      `Cannot import ${dir}: ${
        error instanceof Deno.errors.NotFound
          ? "no such directory"
          : String(error)
      }`,
      { path: dir, cause: error },
    );
  }
  if (!info.isDirectory) {
    throw new ImportError(
      "not_found",
      `Cannot import ${dir}: not a directory`,
      {
        path: dir,
      },
    );
  }
  const known = new Set(exportSources().map((s) => s.table));
  const tables = new Map<string, Partition[]>();
  const formats = new Set<"parquet" | "csv">();
  const notExport = (path: string, why: string) =>
    new ImportError(
      "not_export",
      `${dir} is not a tree written by 'krakked record export': ${why}`,
      { path },
    );
  for await (const top of Deno.readDir(dir)) {
    if (!top.isDirectory || !known.has(top.name)) continue;
    const parts: Partition[] = [];
    const tableDir = `${dir}/${top.name}`;
    for await (const ex of Deno.readDir(tableDir)) {
      const exchange = /^exchange=(.+)$/.exec(ex.name)?.[1];
      if (!ex.isDirectory || exchange === undefined) {
        throw notExport(
          `${tableDir}/${ex.name}`,
          `${top.name}/${ex.name} is not exchange=<name>/`,
        );
      }
      for await (const d of Deno.readDir(`${tableDir}/${ex.name}`)) {
        const date = /^date=(\d{4}-\d{2}-\d{2})$/.exec(d.name)?.[1];
        const dateDir = `${tableDir}/${ex.name}/${d.name}`;
        if (!d.isDirectory || date === undefined) {
          throw notExport(dateDir, `${d.name} is not date=YYYY-MM-DD/`);
        }
        const files: string[] = [];
        for await (const f of Deno.readDir(dateDir)) {
          const ext = /\.(parquet|csv)$/.exec(f.name)?.[1] as
            | "parquet"
            | "csv"
            | undefined;
          if (!f.isFile || ext === undefined) {
            throw notExport(
              `${dateDir}/${f.name}`,
              `${f.name} is not a .parquet or .csv file`,
            );
          }
          formats.add(ext);
          files.push(`${dateDir}/${f.name}`);
        }
        if (files.length > 0) {
          parts.push({
            exchange: decodeURIComponent(exchange),
            date,
            files: files.sort(),
          });
        }
      }
    }
    parts.sort((a, b) =>
      a.date < b.date
        ? -1
        : a.date > b.date
        ? 1
        : a.exchange < b.exchange
        ? -1
        : 1
    );
    tables.set(top.name, parts);
  }
  if (formats.size > 1) {
    throw notExport(dir, "it mixes Parquet and CSV files");
  }
  const importable = [...TRADE_TABLES, "bronze_book_kraken", "book_snapshots"];
  if (
    ![...tables].some(([t, parts]) =>
      importable.includes(t) && parts.length > 0
    )
  ) {
    throw notExport(
      dir,
      `it holds none of ${
        importable.join(", ")
      } (export with --layers bronze,silver)`,
    );
  }
  const trades = TRADE_TABLES.filter((t) => (tables.get(t) ?? []).length > 0);
  if (trades.length > 0 && trades.length < TRADE_TABLES.length) {
    throw notExport(
      dir,
      `trades need ${TRADE_TABLES.join(", ")} together; it lacks ${
        TRADE_TABLES.filter((t) => !trades.includes(t)).join(", ")
      } (export with --layers bronze,silver)`,
    );
  }
  return { format: [...formats][0] ?? "parquet", tables };
}
