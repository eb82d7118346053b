/**
 * The embedded recorder store: one DuckDB file holding bronze, silver and
 * gold (docs/recorder.md).
 *
 * - **Bulk, not per value.** A batch is written as one tab-separated file,
 *   loaded into session-only staging tables by DuckDB's parallel CSV reader
 *   (typed columns, no inference), then moved into the layer tables by one
 *   `INSERT … SELECT` each. (The DataChunk appender converts each value
 *   through a JS→C call, and parsing text into `DECIMAL(38,18)` is ~60×
 *   slower than into a 64-bit decimal, so decimals are staged split into a
 *   whole part and a fraction; see schema.ts.)
 * - **Dedupe without an index.** A PRIMARY KEY makes DuckDB probe an ART
 *   index per row and store it; instead a batch is deduplicated in memory
 *   and anti-joined against silver rows within its trade-time range, which
 *   DuckDB prunes by row-group min/max.
 * - **Frames once.** Bronze rows point at their frame
 *   (`bronze_frames_kraken`, by a 64-bit hash of the text) instead of
 *   repeating a 50-trade snapshot fifty times. A frame is written only
 *   with a row new to bronze, which keeps it unique without an index.
 * - **Idempotent.** Silver is unique by the deterministic trade id and
 *   bronze by (symbol, trade_id) (both written from the same new-trade set),
 *   gold by (exchange, symbol, bucket) with `INSERT OR REPLACE`, so a
 *   replayed batch or a restart never duplicates a row.
 * - **Nothing acknowledged is lost.** A batch (bronze + silver + the gold
 *   it closes) is one transaction; {@linkcode RecordStore.write} resolves
 *   after COMMIT, which DuckDB makes durable in its write-ahead log. A
 *   `kill -9` before that loses only the unacknowledged batch, which the
 *   next run finds again as a trade-id gap and backfills from REST.
 * - **Gold per closed bucket.** DuckDB has no materialized views: buckets
 *   touched by new trades are marked dirty and rebuilt once closed, all in
 *   SQL (gold_sql.ts: 1m from silver and the bulk path's notional parts,
 *   each coarser one from the one before through the exact notional); a
 *   late trade (a backfill) marks its closed bucket dirty again. At open,
 *   buckets whose gold disagrees with silver are marked dirty, so a crash
 *   between batches cannot leave stale gold behind.
 *
 * @module
 */

import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBValue,
} from "@duckdb/node-api";
import type { BookSnapshotRow, BronzeBookRow } from "@krakked/core/record/mod";
import type { BronzeSource, BronzeTrade } from "@krakked/core/record/bronze";
import type { TrackedSymbol } from "@krakked/core/record/gaps";
import {
  bucketStartUs,
  GOLD_TIMEFRAMES,
  type GoldCandle,
  goldFromTrades,
  type GoldTimeframe,
  isBucketClosed,
  rollupGold,
  spanUs,
} from "@krakked/core/record/gold";
import {
  canonicalSymbol,
  KRAKEN_EXCHANGE,
  parseTimestampUs,
  type SilverTrade,
} from "@krakked/core/record/silver";
import {
  BULK_INSERT_ALL_FRAMES,
  BULK_INSERT_BRONZE,
  BULK_INSERT_FRAMES,
  BULK_INSERT_SILVER,
  BULK_NEW,
  bulkDedupSql,
  bulkRowsSql,
  goldTable,
  INSERT_BOOK,
  INSERT_BOOK_SNAPSHOTS,
  INSERT_BRONZE,
  INSERT_REJECTED,
  INSERT_SILVER,
  insertFramesSql,
  insertGoldSql,
  MIGRATE_FRAMES_V2,
  MIGRATE_SILVER_V1,
  schemaSql,
  SELECT_NEW_REJECTED,
  SELECT_NEW_TRADES,
  STAGE_COLUMNS,
  type StageTable,
} from "./schema.ts";
import { FrameScanner } from "./bulk_scan.ts";
import {
  finishGoldSql,
  GOLD_GUARD,
  INSERT_NOTIONAL_PARTS,
  oneMinuteAggSql,
  oneMinuteLimbsSql,
  rollupAggSql,
} from "./gold_sql.ts";

/** A recorded symbol and the precisions its gold needs. */
export interface SymbolInfo {
  /** Exchange (`kraken`). */
  exchange: string;
  /** Canonical symbol (`BTC/USD`). */
  symbol: string;
  /** The exchange's own symbol (WS v2 `BTC/USD`). */
  exchangeSymbol: string;
  /** REST pair key (`XXBTZUSD`). */
  restPair: string;
  /** `pair_decimals`: vwap is rounded to this. */
  priceDecimals: number;
  /** `lot_decimals`. */
  volumeDecimals: number;
}

/** What one write did. */
export interface WriteResult {
  /** Bronze rows new to the store. */
  bronzeInserted: number;
  /** Silver rows new to the store. */
  silverInserted: number;
  /** Gold rows (re)built, all timeframes. */
  goldBuilt: number;
}

/** A received WS text frame for {@linkcode RecordStore.writeFrames}. */
export interface BulkFrame {
  /** The frame as received. */
  text: string;
  /** Receive time, µs since the Unix epoch. */
  receivedUs: number;
}

/** What one bulk write did. */
export interface BulkWriteResult extends WriteResult {
  /**
   * Indexes of the frames the SQL path did not read (any frame not exactly
   * a Kraken trade push as sent, or with a row silver would reject): feed
   * them through core's `TradeRecorder` and {@linkcode RecordStore.write}.
   */
  fallback: number[];
  /** Trades the SQL path read (duplicates included). */
  trades: number;
}

/** Frame text the bulk staging file cannot carry as one unquoted field. */
const NOT_BULK_TEXT = /[\t\n\r]/;

/** Text that must be quoted in a staging file. */
const NEEDS_QUOTES = /[\t\n\r"]/;

/** A DuckDB connection and the staging file its loads go through. */
interface Session {
  db: DuckDBConnection;
  stageFile: string;
}

/** A row of a query: column name → value. */
export type Row = Record<string, DuckDBValue>;

function num(value: DuckDBValue | undefined): number {
  return typeof value === "bigint" ? Number(value) : Number(value);
}

/**
 * `sql` with its `$1…` parameters written as integer literals, when every
 * value is a safe integer (else `undefined`: bind them). Deno's Node-API
 * layer keeps 32 bytes for good per external the binding creates, and a
 * statement with n parameters creates 3 + n of them against 1 for plain
 * SQL (docs/recorder.md, Memory): the live write path runs two such
 * statements per commit.
 */
function withIntegers(
  sql: string,
  values: readonly number[],
): string | undefined {
  if (!values.every(Number.isSafeInteger)) return undefined;
  return sql.replace(/\$(\d+)(?!\d)/g, (all, n: string) => {
    const v = values[Number(n) - 1];
    // Parenthesized: a negative value after a minus sign is not `--`.
    return v === undefined ? all : `(${v})`;
  });
}

function str(value: DuckDBValue | undefined): string {
  return value === null || value === undefined ? "" : String(value);
}

/**
 * The embedded store. Not safe for concurrent writers: one recorder owns a
 * file (DuckDB itself refuses a second process).
 */
export class RecordStore implements AsyncDisposable {
  readonly path: string;
  #stageFile: string;
  #instance: DuckDBInstance;
  #db: DuckDBConnection;
  #main: Session;
  /** Gold's own connection (opened by the first flushGold), see flushGold. */
  #gold: Session | undefined;
  #symbols = new Map<string, SymbolInfo>();
  #dirty = new Map<GoldTimeframe, Map<string, Set<number>>>();
  /**
   * Per Kraken canonical symbol, an upper bound of the highest trade id in
   * silver (loaded at open, raised before every write): a trade above it is
   * new without looking at silver. Never lowered, so it stays an upper bound
   * even when a write rolls back.
   */
  #watermark = new Map<string, number>();
  #canonicalOf = new Map<string, string | null>();
  #scanner = new FrameScanner();
  #closed = false;
  /** DuckDB settings made with {@linkcode RecordStore.set}, as given. */
  #settings = new Map<string, string>();
  /**
   * Gold builds of one timeframe so far: all in SQL, or (a bucket whose
   * sums could overflow HUGEINT) through core's bigint code.
   */
  readonly goldBuilds = { sql: 0, core: 0 };

  private constructor(
    path: string,
    stageFile: string,
    instance: DuckDBInstance,
    db: DuckDBConnection,
  ) {
    this.path = path;
    this.#stageFile = stageFile;
    this.#instance = instance;
    this.#db = db;
    this.#main = { db, stageFile };
    for (const tf of GOLD_TIMEFRAMES) this.#dirty.set(tf, new Map());
  }

  /**
   * Open (or create) a store file, create the schema, load the symbols and
   * mark for rebuild every gold bucket that disagrees with silver.
   *
   * @param path The DuckDB file (`:memory:` for a throwaway store).
   * @returns The store; close it (or `await using`).
   * @throws {Error} DuckDB's error when the file cannot be opened (e.g.
   *   another process holds it).
   */
  static async open(path: string): Promise<RecordStore> {
    const stageFile = path === ":memory:"
      ? await Deno.makeTempFile({ prefix: "krakked_stage_", suffix: ".ndjson" })
      : `${path}.stage.ndjson`;
    const instance = await DuckDBInstance.create(path);
    const db = await instance.connect();
    const store = new RecordStore(path, stageFile, instance, db);
    // No query here depends on physical row order (every read that needs
    // one says ORDER BY or picks by trade id), and without the guarantee
    // DuckDB runs the bulk path's inserts and CREATE … AS in parallel:
    // ≈ 17% less wall time per million trades on two cores.
    await db.run("SET preserve_insertion_order = false");
    try {
      const [old] = await store.query(
        `SELECT table_type FROM information_schema.tables
         WHERE table_schema = 'main' AND table_name = 'silver_trades'`,
      );
      const [keyed] = await store.query(
        `SELECT count(*) AS n FROM duckdb_constraints()
         WHERE schema_name = 'main' AND table_name = 'bronze_frames_kraken'
           AND constraint_type = 'PRIMARY KEY'`,
      );
      const migrations = [
        // A schema-1 file: silver moves to silver_trades_data, once.
        ...(old?.table_type === "BASE TABLE" ? MIGRATE_SILVER_V1 : []),
        // Schema 1 or 2: frames lose their PRIMARY KEY, once.
        ...(num(keyed?.n) > 0 ? MIGRATE_FRAMES_V2 : []),
      ];
      if (migrations.length > 0) {
        await db.run("BEGIN TRANSACTION");
        try {
          for (const sql of migrations) await db.run(sql);
          await db.run("COMMIT");
        } catch (error) {
          await db.run("ROLLBACK").catch(() => {});
          throw error;
        }
      }
      for (const sql of schemaSql()) await db.run(sql);
      for (const row of await store.query(`SELECT * FROM record_symbols`)) {
        const info: SymbolInfo = {
          exchange: str(row.exchange),
          symbol: str(row.symbol),
          exchangeSymbol: str(row.exchange_symbol),
          restPair: str(row.rest_pair),
          priceDecimals: num(row.price_decimals),
          volumeDecimals: num(row.volume_decimals),
        };
        store.#symbols.set(info.symbol, info);
      }
      await store.#markStaleGold();
      for (
        const row of await store.query(
          `SELECT symbol, max(exchange_trade_id) AS max_id FROM silver_trades_data
           WHERE exchange = '${KRAKEN_EXCHANGE}' GROUP BY symbol`,
        )
      ) store.#watermark.set(str(row.symbol), num(row.max_id));
    } catch (error) {
      db.closeSync();
      instance.closeSync();
      throw error;
    }
    return store;
  }

  /**
   * Record symbols and their precisions (replacing earlier entries).
   *
   * @param symbols The symbols.
   */
  async registerSymbols(symbols: readonly SymbolInfo[]): Promise<void> {
    for (const s of symbols) {
      await this.#db.run(
        `INSERT OR REPLACE INTO record_symbols VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          s.exchange,
          s.symbol,
          s.exchangeSymbol,
          s.restPair,
          s.priceDecimals,
          s.volumeDecimals,
        ],
      );
      this.#symbols.set(s.symbol, { ...s });
    }
  }

  /** The registered symbols. */
  get symbols(): SymbolInfo[] {
    return [...this.#symbols.values()];
  }

  /**
   * Price decimals of a canonical symbol (8 when it was never registered).
   *
   * @param symbol Canonical symbol.
   * @returns `pair_decimals`.
   */
  priceDecimals(symbol: string): number {
    return this.#symbols.get(symbol)?.priceDecimals ?? 8;
  }

  /**
   * Write a batch in one transaction: bronze and silver rows (duplicates
   * ignored), then gold for every dirty bucket closed at `nowUs`.
   * Resolves after COMMIT: the rows are then durable.
   *
   * @param batch Bronze and silver rows.
   * @param nowUs The current time, µs: which buckets are closed.
   * @param options `silverUs`: the silver time stamped on new rows (default
   *   `nowUs`); `gold: false` defers gold (a bulk load builds it once at
   *   the end with {@linkcode RecordStore.flushGold}).
   * @returns How many rows were new, and gold rows built.
   * @throws {Error} DuckDB's error; the transaction is rolled back.
   */
  async write(
    batch: { bronze: readonly BronzeTrade[]; silver: readonly SilverTrade[] },
    nowUs: number,
    options: { gold?: boolean; silverUs?: number } = {},
  ): Promise<WriteResult> {
    const { minUs, maxUs, rejected } = await this.#stageTrades(batch);
    for (const s of batch.silver) {
      if (s.exchange === KRAKEN_EXCHANGE) {
        this.#raiseWatermark(s.symbol, s.exchangeTradeId);
      }
    }
    await this.#db.run("BEGIN TRANSACTION");
    try {
      await this.#runIntegers(SELECT_NEW_TRADES, [
        minUs - 1_000_000,
        maxUs + 1_000_000,
      ]);
      const silver = await this.#runIntegers(INSERT_SILVER, [
        options.silverUs ?? nowUs,
      ]);
      if (rejected > 0) await this.#db.run(SELECT_NEW_REJECTED);
      await this.#db.run(insertFramesSql(rejected > 0));
      const bronze = await this.#db.run(INSERT_BRONZE);
      let bronzeInserted = bronze.rowsChanged;
      if (rejected > 0) {
        bronzeInserted += (await this.#db.run(INSERT_REJECTED)).rowsChanged;
      }
      // With gold deferred, buckets are marked after COMMIT: a flushGold
      // running meanwhile on its own connection may have read silver
      // without these rows, and the mark makes the next one rebuild them.
      const deferred = options.gold === false;
      if (!deferred) {
        for (const s of batch.silver) this.#markDirty(s.symbol, s.tsUs);
      }
      const goldBuilt = deferred ? 0 : await this.#buildGold(nowUs);
      await this.#db.run("COMMIT");
      if (deferred) {
        for (const s of batch.silver) this.#markDirty(s.symbol, s.tsUs);
      }
      return {
        bronzeInserted,
        silverInserted: silver.rowsChanged,
        goldBuilt,
      };
    } catch (error) {
      await this.#db.run("ROLLBACK").catch(() => {});
      throw error;
    }
  }

  /**
   * Bulk-write received Kraken WS v2 frames (a replay) in one transaction,
   * normalized to silver in SQL: each frame is checked in JS against a
   * strict grammar (bulk_scan.ts, `BULK_FRAME_PATTERN`), its symbols mapped
   * through core's `canonicalSymbol` (cached) and its times read; the frames
   * that pass are staged once, split into trades in SQL, deduplicated in
   * the batch, and against silver only where a
   * trade id is not above its symbol's stored maximum (Kraken's ids are
   * contiguous per pair, so a replay continuing the store touches no
   * stored row). Frames the grammar does not take are returned untouched
   * for core's parser; `record validate` recomputes silver from bronze with
   * core's `toSilver`, which proves the two paths agree.
   *
   * @param frames The frames, in receive order.
   * @param nowUs The current time, µs: which gold buckets are closed.
   * @param options `connectionId` and `source` of every frame (default
   *   `''`, `ws`); `silverUs` and `gold` as for {@linkcode RecordStore.write}.
   * @returns Rows new to the store, gold built, and the frames left to core.
   * @throws {Error} DuckDB's error; the transaction is rolled back.
   */
  async writeFrames(
    frames: readonly BulkFrame[],
    nowUs: number,
    options: {
      connectionId?: string;
      source?: BronzeSource;
      gold?: boolean;
      silverUs?: number;
    } = {},
  ): Promise<BulkWriteResult> {
    const fallback: number[] = [];
    const frameLines: string[] = [];
    const map = new Map<string, string>();
    // Per canonical symbol: the highest id read so far (an id at or below
    // it may repeat one in the batch) and the stored watermark.
    const batchMax = new Map<string, number>();
    let repeats = false;
    let checks = 0;
    let checkMinUs = Infinity;
    let checkMaxUs = -Infinity;
    let trades = 0;
    const rowSymbol: string[] = [];
    const rowCanon: string[] = [];
    const rowTs: number[] = [];
    const scan = this.#scanner;
    for (let i = 0; i < frames.length; i++) {
      const text = frames[i]!.text;
      let ok = text.length <= 8_000_000 && !NOT_BULK_TEXT.test(text) &&
        text.isWellFormed() && scan.scan(text);
      // A row silver would reject (unknown symbol, impossible date, zero
      // price or quantity) sends its whole frame to core, and so does a
      // brace in a string (SQL splits trades on `},{`).
      for (let r = 0; ok && r < scan.count; r++) {
        const symbol = text.slice(scan.symbolStart[r]!, scan.symbolEnd[r]!);
        const canon = this.#canonical(symbol);
        rowSymbol[r] = symbol;
        const tsUs = tradeTimeUs(text, scan.tsStart[r]!);
        if (
          canon === undefined || tsUs === undefined || !scan.positive[r] ||
          scan.braces[r]
        ) {
          ok = false;
        } else {
          rowCanon[r] = canon;
          rowTs[r] = tsUs;
        }
      }
      if (!ok) {
        fallback.push(i);
        continue;
      }
      const receivedUs = frames[i]!.receivedUs;
      frameLines.push(i + "\t" + receivedUs + "\t" + text);
      for (let r = 0; r < scan.count; r++) {
        const canon = rowCanon[r]!;
        const tsUs = rowTs[r]!;
        const id = scan.tradeId[r]!;
        map.set(rowSymbol[r]!, canon);
        const max = batchMax.get(canon);
        if (max === undefined || id > max) batchMax.set(canon, id);
        else repeats = true;
        // At or below the stored watermark: compared with silver.
        if (id <= (this.#watermark.get(canon) ?? -1)) {
          checks++;
          if (tsUs < checkMinUs) checkMinUs = tsUs;
          if (tsUs > checkMaxUs) checkMaxUs = tsUs;
        }
      }
      trades += scan.count;
    }
    const empty = { bronzeInserted: 0, silverInserted: 0, goldBuilt: 0 };
    if (frameLines.length === 0) return { ...empty, fallback, trades: 0 };
    await Deno.writeTextFile(this.#stageFile, frameLines.join("\n") + "\n");
    const file = this.#stageFile.replaceAll("'", "''");
    await this.#db.run(
      `CREATE OR REPLACE TEMP TABLE bulk_frames AS
       SELECT *, hash(raw) AS h FROM read_csv('${file}', delim = '\t',
         header = false, quote = '', escape = '', auto_detect = false,
         max_line_size = 16777216,
         columns = {i: 'BIGINT', received_us: 'BIGINT', raw: 'VARCHAR'})`,
    );
    await this.#stageAs(
      "bulk_map",
      { symbol: "VARCHAR", canonical: "VARCHAR" },
      [...map],
    );
    await this.#stageAs(
      "bulk_watermark",
      { symbol: "VARCHAR", max_id: "BIGINT" },
      [...this.#watermark].map(([symbol, id]) => [symbol, id]),
    );
    // A batch that repeats no id and reaches no stored one (a replay
    // continuing the store) is its own new-trade set: no window, no
    // anti-join, no copy.
    const direct = !repeats && checks === 0;
    await this.#db.run(bulkRowsSql(direct ? "bulk_new" : "bulk_rows"));
    const source = options.source ?? "ws";
    const connectionId = options.connectionId ?? "";
    for (const [symbol, id] of batchMax) this.#raiseWatermark(symbol, id);
    if (!direct) await this.#db.run(bulkDedupSql(!repeats));
    await this.#db.run("BEGIN TRANSACTION");
    try {
      const minUs = checks === 0 ? 0 : checkMinUs;
      const maxUs = checks === 0 ? 0 : checkMaxUs;
      if (!direct) {
        await this.#db.run(BULK_NEW, [minUs - 1_000_000, maxUs + 1_000_000]);
      }
      const silver = await this.#db.run(BULK_INSERT_SILVER, [
        options.silverUs ?? nowUs,
        source,
      ]);
      // Σ price × qty of these trades per minute, for gold (gold_sql.ts).
      if (silver.rowsChanged > 0) await this.#db.run(INSERT_NOTIONAL_PARTS);
      await this.#db.run(
        direct ? BULK_INSERT_ALL_FRAMES : BULK_INSERT_FRAMES,
        [connectionId, source],
      );
      const bronze = await this.#db.run(BULK_INSERT_BRONZE, [
        connectionId,
        source,
      ]);
      const touched = await this.query(
        `SELECT DISTINCT s_symbol, (epoch_us(ts) // 60000000) * 60000000 AS b
         FROM bulk_new`,
      );
      // Deferred gold: marked after COMMIT, as in write().
      const deferred = options.gold === false;
      if (!deferred) {
        for (const row of touched) {
          this.#markDirty(str(row.s_symbol), num(row.b));
        }
      }
      const goldBuilt = deferred ? 0 : await this.#buildGold(nowUs);
      await this.#db.run("COMMIT");
      if (deferred) {
        for (const row of touched) {
          this.#markDirty(str(row.s_symbol), num(row.b));
        }
      }
      return {
        bronzeInserted: bronze.rowsChanged,
        silverInserted: silver.rowsChanged,
        goldBuilt,
        fallback,
        trades,
      };
    } catch (error) {
      await this.#db.run("ROLLBACK").catch(() => {});
      throw error;
    }
  }

  /**
   * Account for trades that SQL outside {@linkcode RecordStore.write} and
   * {@linkcode RecordStore.writeFrames} committed into silver on this
   * store's connection (`record import`, server/record/import.ts): raise
   * each Kraken symbol's watermark (else the bulk path would take a later
   * copy of those trades for new) and mark their gold buckets dirty, for
   * {@linkcode RecordStore.flushGold} to build once closed.
   *
   * @param maxIds Per canonical Kraken symbol, the highest trade id added.
   * @param minutes `[symbol, minute start µs]` of every trade added.
   */
  noteImported(
    maxIds: Iterable<readonly [string, number]>,
    minutes: Iterable<readonly [string, number]>,
  ): void {
    for (const [symbol, id] of maxIds) this.#raiseWatermark(symbol, id);
    for (const [symbol, us] of minutes) this.#markDirty(symbol, us);
  }

  /**
   * Write book frame rows and snapshots in one transaction (a row whose
   * sequence number is stored already is skipped).
   *
   * @param rows Bronze book rows (core's `BookRecorder`).
   * @param snapshots Verified books copied at a sequence number.
   * @returns Rows and snapshots written.
   * @throws {Error} DuckDB's error; the transaction is rolled back.
   */
  async writeBook(
    rows: readonly BronzeBookRow[],
    snapshots: readonly BookSnapshotRow[] = [],
  ): Promise<{ rows: number; snapshots: number }> {
    if (rows.length === 0 && snapshots.length === 0) {
      return { rows: 0, snapshots: 0 };
    }
    let minSeq = Infinity;
    let maxSeq = -Infinity;
    for (const r of rows) {
      if (r.seq < minSeq) minSeq = r.seq;
      if (r.seq > maxSeq) maxSeq = r.seq;
    }
    await this.#stageJson(
      "stage_book",
      rows.map((r) => [
        r.seq,
        r.symbol,
        r.type,
        r.checksum,
        r.timestamp,
        r.bidLevels,
        r.askLevels,
        r.status,
        r.depth,
        r.receivedUs,
        r.connectionId,
        r.stream,
        r.raw,
      ]),
    );
    await this.#stageJson(
      "stage_book_snapshots",
      snapshots.map((s) => [
        s.symbol,
        s.seq,
        s.stream,
        s.takenUs,
        s.depth,
        s.checksum,
        JSON.stringify(s.bids.map((l) => ({ price: l.price, qty: l.qty }))),
        JSON.stringify(s.asks.map((l) => ({ price: l.price, qty: l.qty }))),
      ]),
    );
    await this.#db.run("BEGIN TRANSACTION");
    try {
      const written = rows.length === 0 ? 0 : (await this.#db.run(
        INSERT_BOOK,
        [minSeq, maxSeq],
      )).rowsChanged;
      const snaps = snapshots.length === 0
        ? 0
        : (await this.#db.run(INSERT_BOOK_SNAPSHOTS)).rowsChanged;
      await this.#db.run("COMMIT");
      return { rows: written, snapshots: snaps };
    } catch (error) {
      await this.#db.run("ROLLBACK").catch(() => {});
      throw error;
    }
  }

  /**
   * The next book sequence number (one above the highest stored).
   *
   * @returns A sequence number.
   */
  async nextBookSeq(): Promise<number> {
    const [row] = await this.query(
      `SELECT coalesce(max(seq), 0) + 1 AS next FROM bronze_book_kraken`,
    );
    return num(row?.next);
  }

  /**
   * Build gold for dirty buckets closed at `nowUs` (what `write` does after
   * its trades), for a quiet market where no write comes.
   *
   * @param nowUs The current time, µs.
   * @returns Gold rows built.
   */
  async flushGold(nowUs: number): Promise<number> {
    if (!this.#hasClosedDirty(nowUs)) return 0;
    // Its own connection (DuckDB runs transactions of one instance side by
    // side): gold writes only gold tables and reads a snapshot of silver,
    // so trade writes on the main connection commit while it builds. A
    // trade committed after that snapshot into a bucket being built marks
    // the bucket dirty again after its commit (write with gold: false), so
    // the next flush rebuilds it.
    const c = await this.#goldSession();
    const taken = this.#takeClosed(nowUs);
    await c.db.run("BEGIN TRANSACTION");
    try {
      const built = await this.#buildGold(nowUs, c, taken);
      await c.db.run("COMMIT");
      return built;
    } catch (error) {
      await c.db.run("ROLLBACK").catch(() => {});
      this.#untake(taken);
      throw error;
    }
  }

  async #goldSession(): Promise<Session> {
    if (this.#gold === undefined) {
      const db = await this.#instance.connect();
      const stageFile = this.path === ":memory:"
        ? await Deno.makeTempFile({
          prefix: "krakked_stage_gold_",
          suffix: ".tsv",
        })
        : `${this.path}.stage-gold.tsv`;
      this.#gold ??= { db, stageFile };
    }
    return this.#gold;
  }

  /**
   * Note how far (market time) the recording ran, at a clean stop: buckets
   * closed by then have their gold; later ones were not fully recorded.
   *
   * @param nowUs The market time of the last gold flush, µs.
   */
  async setRecordedUntil(nowUs: number): Promise<void> {
    await this.#db.run(
      `INSERT OR REPLACE INTO record_meta VALUES ('recorded_until_us', $1)`,
      [String(nowUs)],
    );
  }

  /**
   * How far the last recording ran (see {@linkcode RecordStore.setRecordedUntil}).
   *
   * @returns µs, or `undefined` before any clean stop.
   */
  async recordedUntil(): Promise<number | undefined> {
    const [row] = await this.query(
      `SELECT value FROM record_meta WHERE key = 'recorded_until_us'`,
    );
    return row === undefined ? undefined : Number(row.value);
  }

  /** Buckets waiting to be built (not closed yet, or closed since the last write). */
  get dirtyBuckets(): number {
    let n = 0;
    for (const bySymbol of this.#dirty.values()) {
      for (const set of bySymbol.values()) n += set.size;
    }
    return n;
  }

  /**
   * The highest stored trade id per exchange symbol and its time, to start
   * a {@linkcode TrackedSymbol} tracker after a restart.
   *
   * @returns One entry per symbol in bronze.
   */
  async tracked(): Promise<TrackedSymbol[]> {
    const rows = await this.query(
      `SELECT symbol, max(trade_id) AS last_id,
         arg_max(timestamp, trade_id) AS last_ts
       FROM bronze_trades_kraken GROUP BY symbol`,
    );
    const out: TrackedSymbol[] = [];
    for (const r of rows) {
      try {
        out.push({
          symbol: str(r.symbol),
          lastId: num(r.last_id),
          lastUs: parseTimestampUs(str(r.last_ts)),
        });
      } catch {
        // A row silver could not read has no usable time; skip the symbol's
        // tracking rather than invent one (the next trade starts it afresh).
      }
    }
    return out;
  }

  /**
   * Run a read query.
   *
   * @param sql SQL with `$1…` parameters.
   * @param params Parameter values.
   * @returns The rows as objects.
   */
  async query(sql: string, params: DuckDBValue[] = []): Promise<Row[]> {
    return await this.#query(this.#main, sql, params);
  }

  async #query(
    c: Session,
    sql: string,
    params: DuckDBValue[] = [],
  ): Promise<Row[]> {
    const reader = await c.db.runAndReadAll(sql, params);
    return reader.getRowObjects();
  }

  /** Run `sql` on the writer's connection with integers inlined if it can. */
  #runIntegers(
    sql: string,
    values: readonly number[],
  ): ReturnType<DuckDBConnection["run"]> {
    const inlined = withIntegers(sql, values);
    return inlined === undefined
      ? this.#db.run(sql, [...values])
      : this.#db.run(inlined);
  }

  /** Write everything to the main file (DuckDB checkpoint). */
  async checkpoint(): Promise<void> {
    await this.#db.run("CHECKPOINT");
  }

  /**
   * Checkpoint, then close the DuckDB instance and open a fresh one on the
   * same file, keeping this store's own state (symbols, watermarks, dirty
   * gold buckets) and the settings made with {@linkcode RecordStore.set}.
   * Native memory the instance holds on to while it runs (it grows with the
   * statements executed; see docs/recorder.md, Memory) goes with the old
   * instance. Call it only between writes, with no gold build running.
   *
   * @throws {Error} For a `:memory:` store (closing it would lose it), or
   *   DuckDB's error when the file cannot be reopened.
   */
  async recycle(): Promise<void> {
    if (this.#closed) throw new Error("the store is closed");
    if (this.path === ":memory:") {
      throw new Error("an in-memory store cannot be reopened");
    }
    await this.#db.run("CHECKPOINT");
    const gold = this.#gold;
    this.#gold = undefined;
    gold?.db.closeSync();
    this.#db.closeSync();
    this.#instance.closeSync();
    this.#instance = await DuckDBInstance.create(this.path);
    this.#db = await this.#instance.connect();
    this.#main = { db: this.#db, stageFile: this.#stageFile };
    await this.#db.run("SET preserve_insertion_order = false");
    for (const [name, value] of this.#settings) {
      await this.#db.run(`SET ${name} = $1`, [value]);
    }
  }

  /**
   * Set a DuckDB setting for this store (e.g. `memory_limit`), kept as
   * given across {@linkcode RecordStore.recycle} (DuckDB prints sizes
   * rounded, so reading one back and setting it again would drift).
   *
   * @param name The setting's name (letters and underscores).
   * @param value Its value, as DuckDB's `SET` takes it (`256MB`, `2`).
   * @throws {TypeError} For a name that is not a plain identifier.
   * @throws {Error} DuckDB's error for an unknown setting or a bad value.
   */
  async set(name: string, value: string): Promise<void> {
    if (!/^[a-z_]+$/.test(name)) {
      throw new TypeError(`not a DuckDB setting name: ${JSON.stringify(name)}`);
    }
    await this.#db.run(`SET ${name} = $1`, [value]);
    this.#settings.set(name, value);
  }

  /** Close the store. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const file of [this.#stageFile, this.#gold?.stageFile]) {
      if (file === undefined) continue;
      try {
        Deno.removeSync(file);
      } catch {
        // Never written, or already gone.
      }
    }
    this.#gold?.db.closeSync();
    this.#db.closeSync();
    this.#instance.closeSync();
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Core's canonical symbol of a Kraken symbol, cached; `undefined` when silver cannot read it. */
  #canonical(symbol: string): string | undefined {
    let canon = this.#canonicalOf.get(symbol);
    if (canon === undefined) {
      try {
        canon = canonicalSymbol(symbol);
      } catch {
        canon = null;
      }
      this.#canonicalOf.set(symbol, canon);
    }
    return canon ?? undefined;
  }

  #raiseWatermark(symbol: string, id: number): void {
    if (!(id <= (this.#watermark.get(symbol) ?? -1))) {
      this.#watermark.set(symbol, id);
    }
  }

  /** A small session-only table of given columns and rows (mappings, watermarks). */
  async #stageAs(
    table: string,
    columns: Record<string, string>,
    rows: readonly (readonly (string | number)[])[],
    c: Session = this.#main,
  ): Promise<void> {
    await c.db.run(
      `CREATE OR REPLACE TEMP TABLE ${table} (${
        Object.entries(columns).map(([n, t]) => `${n} ${t}`).join(", ")
      })`,
    );
    if (rows.length === 0) return;
    const appender = await c.db.createAppender(table, "main", "temp");
    for (const row of rows) {
      for (const value of row) {
        if (typeof value === "number") appender.appendBigInt(BigInt(value));
        else appender.appendVarchar(value);
      }
      appender.endRow();
    }
    appender.closeSync();
  }

  #markDirty(symbol: string, tsUs: number): void {
    for (const tf of GOLD_TIMEFRAMES) {
      const bySymbol = this.#dirty.get(tf)!;
      let set = bySymbol.get(symbol);
      if (set === undefined) bySymbol.set(symbol, set = new Set());
      set.add(bucketStartUs(tsUs, tf));
    }
  }

  #hasClosedDirty(nowUs: number): boolean {
    for (const [tf, bySymbol] of this.#dirty) {
      for (const set of bySymbol.values()) {
        for (const b of set) if (isBucketClosed(b, tf, nowUs)) return true;
      }
    }
    return false;
  }

  /** Take the closed dirty buckets of a timeframe into stage_buckets. */
  /**
   * Take the closed dirty buckets of every timeframe at once. flushGold
   * takes them before its transaction reads anything: a bucket a trade
   * write marks later is built again by the next flush, and one marked
   * earlier was committed before the build's snapshot.
   */
  #takeClosed(nowUs: number): Map<GoldTimeframe, [string, number][]> {
    const taken = new Map<GoldTimeframe, [string, number][]>();
    for (const tf of GOLD_TIMEFRAMES) {
      const rows: [string, number][] = [];
      for (const [symbol, set] of this.#dirty.get(tf)!) {
        for (const b of set) {
          if (!isBucketClosed(b, tf, nowUs)) continue;
          set.delete(b);
          rows.push([symbol, b]);
        }
      }
      if (rows.length > 0) taken.set(tf, rows);
    }
    return taken;
  }

  /** Put taken buckets back (a build that failed). */
  #untake(taken: Map<GoldTimeframe, [string, number][]>): void {
    for (const [tf, rows] of taken) {
      const bySymbol = this.#dirty.get(tf)!;
      for (const [symbol, b] of rows) {
        let set = bySymbol.get(symbol);
        if (set === undefined) bySymbol.set(symbol, set = new Set());
        set.add(b);
      }
    }
  }

  async #buildGold(
    nowUs: number,
    c: Session = this.#main,
    taken = this.#takeClosed(nowUs),
  ): Promise<number> {
    let built = 0;
    if (taken.size === 0) return 0;
    // Each symbol's pair_decimals, for vwap in SQL.
    const symbols = new Set<string>();
    for (const buckets of taken.values()) {
      for (const [symbol] of buckets) symbols.add(symbol);
    }
    await this.#stageAs(
      "gold_decimals",
      { symbol: "VARCHAR", d: "BIGINT" },
      [...symbols].map((s) => [s, this.priceDecimals(s)]),
      c,
    );
    for (const tf of GOLD_TIMEFRAMES) {
      const buckets = taken.get(tf);
      // Nothing to build: no statement at all (a live write runs this often).
      if (buckets === undefined) continue;
      const closed = { fromUs: Infinity, toUs: -Infinity };
      for (const [, b] of buckets) {
        if (b < closed.fromUs) closed.fromUs = b;
        if (b + spanUs(tf) > closed.toUs) closed.toUs = b + spanUs(tf);
      }
      try {
        await this.#stage("stage_buckets", buckets, c);
        const span = spanUs(tf);
        const range = [closed.fromUs, closed.toUs];
        const finer = tf === "1m"
          ? undefined
          : GOLD_TIMEFRAMES[GOLD_TIMEFRAMES.indexOf(tf) - 1]!;
        // Exact aggregates first; they cannot overflow a gold column
        // that could hold the result.
        if (finer === undefined) await c.db.run(oneMinuteAggSql(span), range);
        else {
          await c.db.run(rollupAggSql(goldTable(finer), span)[0]!, range);
        }
        const [guard] = await this.#query(c, GOLD_GUARD);
        if (num(guard?.unsafe) === 0) {
          // All in SQL: limbs, carries, vwap, one INSERT.
          await c.db.run(
            finer === undefined
              ? oneMinuteLimbsSql(span)
              : rollupAggSql(goldTable(finer), span)[1]!,
            range,
          );
          built += (await c.db.run(finishGoldSql(goldTable(tf)), [nowUs]))
            .rowsChanged;
          this.goldBuilds.sql++;
          continue;
        }
        this.goldBuilds.core++;
        // A bucket whose sums could leave HUGEINT: core's bigint code.
        const options = {
          timeframe: tf,
          priceDecimals: (s: string) => this.priceDecimals(s),
        };
        let candles: GoldCandle[];
        if (finer === undefined) {
          const agg = await this.#query(
            c,
            `SELECT s.exchange, s.symbol,
               string_agg(s.exchange_trade_id || ' ' || CAST(s.price AS VARCHAR) || ' ' ||
                 CAST(s.qty AS VARCHAR) || ' ' || epoch_us(s.ts), ',') AS trades
             FROM silver_trades_data s JOIN stage_buckets w
               ON s.symbol = w.symbol AND (epoch_us(s.ts) // ${span}) * ${span} = w.bucket_us
             WHERE s.ts >= make_timestamp($1) AND s.ts < make_timestamp($2)
             GROUP BY s.exchange, s.symbol, w.bucket_us`,
            range,
          );
          candles = goldFromTrades(agg.flatMap(silverOfBucket), options);
        } else {
          // Each timeframe rolls up from the one before (every span
          // divides the next): far fewer rows read back than from 1m.
          const rows = await this.#query(
            c,
            `SELECT g.exchange, g.symbol, epoch_us(g.bucket) AS bucket_us,
               CAST(g.open AS VARCHAR) AS open, CAST(g.high AS VARCHAR) AS high,
               CAST(g.low AS VARCHAR) AS low, CAST(g.close AS VARCHAR) AS close,
               CAST(g.volume AS VARCHAR) AS volume, g.notional, g.trade_count,
               g.first_trade_id, g.last_trade_id
             FROM ${goldTable(finer)} g JOIN stage_buckets w
               ON g.symbol = w.symbol AND (epoch_us(g.bucket) // ${span}) * ${span} = w.bucket_us
             WHERE g.bucket >= make_timestamp($1) AND g.bucket < make_timestamp($2)`,
            range,
          );
          candles = rollupGold(
            rows.map((r) => candleOfRow(r, finer)),
            options,
          );
        }
        await this.#stageGold(candles, c);
        await c.db.run(insertGoldSql(tf), [nowUs]);
        built += candles.length;
      } finally {
        // Left in place, a stale stage would be built again next time.
        await c.db.run("DROP TABLE IF EXISTS stage_buckets");
        await c.db.run("DROP TABLE IF EXISTS stage_gold");
      }
    }
    return built;
  }

  /** Mark for rebuild every closed bucket whose gold disagrees with its source. */
  async #markStaleGold(): Promise<void> {
    const oneMinute = await this.query(
      `WITH s AS (
         SELECT exchange, symbol, (epoch_us(ts) // 60000000) * 60000000 AS b,
           count(*) AS n, max(exchange_trade_id) AS last_id
         FROM silver_trades_data GROUP BY ALL)
       SELECT s.symbol, s.b FROM s LEFT JOIN ohlcv_1m g
         ON g.exchange = s.exchange AND g.symbol = s.symbol AND epoch_us(g.bucket) = s.b
       WHERE g.trade_count IS DISTINCT FROM s.n OR g.last_trade_id IS DISTINCT FROM s.last_id`,
    );
    for (const r of oneMinute) this.#markDirty(str(r.symbol), num(r.b));
    for (const tf of GOLD_TIMEFRAMES.slice(1)) {
      const span = spanUs(tf);
      const stale = await this.query(
        `WITH m AS (
           SELECT exchange, symbol, (epoch_us(bucket) // ${span}) * ${span} AS b,
             sum(trade_count) AS n, max(last_trade_id) AS last_id
           FROM ohlcv_1m GROUP BY ALL)
         SELECT m.symbol, m.b FROM m LEFT JOIN ${goldTable(tf)} g
           ON g.exchange = m.exchange AND g.symbol = m.symbol AND epoch_us(g.bucket) = m.b
         WHERE g.trade_count IS DISTINCT FROM m.n OR g.last_trade_id IS DISTINCT FROM m.last_id`,
      );
      for (const r of stale) {
        const bySymbol = this.#dirty.get(tf)!;
        const symbol = str(r.symbol);
        let set = bySymbol.get(symbol);
        if (set === undefined) bySymbol.set(symbol, set = new Set());
        set.add(num(r.b));
      }
    }
  }

  /**
   * Load rows into a session-only staging table through one tab-separated
   * file read by DuckDB's parallel CSV reader with typed columns. Text is
   * quoted only when it holds a tab, a newline or a quote (raw frames), and
   * empty text is quoted so it stays empty rather than NULL.
   */
  async #stage(
    table: StageTable,
    rows: readonly (readonly (string | number)[])[],
    c: Session = this.#main,
  ): Promise<void> {
    const lines: string[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) lines[i] = tsvLine(rows[i]!);
    await this.#stageLines(table, lines, c);
  }

  /** Load ready TSV lines into a staging table with DuckDB's CSV reader. */
  async #stageLines(
    table: StageTable,
    lines: readonly string[],
    c: Session = this.#main,
  ): Promise<void> {
    if (lines.length === 0) return await this.#stageEmpty(table, c);
    await Deno.writeTextFile(c.stageFile, lines.join("\n") + "\n");
    const file = c.stageFile.replaceAll("'", "''");
    await c.db.run(
      `CREATE OR REPLACE TEMP TABLE ${table} AS
       SELECT * FROM read_csv('${file}', delim = '\t', header = false,
         quote = '"', escape = '"', allow_quoted_nulls = false,
         auto_detect = false, columns = {${stageColumns(table)}})`,
    );
  }

  /**
   * Load rows as newline-delimited JSON arrays with DuckDB's JSON reader:
   * for long text full of quotes (raw frames), where JSON.stringify's
   * native escaping is far cheaper than CSV quoting in JS.
   */
  async #stageJson(
    table: StageTable,
    rows: readonly (readonly (string | number)[])[],
  ): Promise<void> {
    if (rows.length === 0) return await this.#stageEmpty(table);
    const names = Object.keys(STAGE_COLUMNS[table]);
    let text = "";
    for (const row of rows) text += JSON.stringify(row) + "\n";
    await Deno.writeTextFile(this.#stageFile, text);
    const file = this.#stageFile.replaceAll("'", "''");
    const types = Object.values(STAGE_COLUMNS[table]);
    await this.#db.run(
      `CREATE OR REPLACE TEMP TABLE ${table} AS
       SELECT ${
        names.map((n, i) => `CAST(json ->> '$[${i}]' AS ${types[i]}) AS ${n}`)
          .join(", ")
      }
       FROM read_json('${file}', format = 'newline_delimited', records = false,
         columns = {json: 'JSON'})`,
    );
  }

  async #stageEmpty(
    table: StageTable,
    c: Session = this.#main,
  ): Promise<void> {
    await c.db.run(
      `CREATE OR REPLACE TEMP TABLE ${table} (${
        Object.entries(STAGE_COLUMNS[table])
          .map(([name, type]) => `${name} ${type}`).join(", ")
      })`,
    );
  }

  /**
   * Stage a batch: its frames once each, one row per trade with its bronze
   * and silver fields, and bronze rows silver rejected.
   */
  async #stageTrades(
    batch: { bronze: readonly BronzeTrade[]; silver: readonly SilverTrade[] },
  ): Promise<{ minUs: number; maxUs: number; rejected: number }> {
    // Which silver row each bronze row became (none when silver rejected
    // it). Batches from TradeRecorder list silver rows in their bronze
    // rows' order, so one pointer walks both; any other order falls back
    // to a lookup.
    const pairs = pairSilver(batch.bronze, batch.silver);
    const frames = new Map<string, number>();
    const frameRows: (string | number)[][] = [];
    const trades: string[] = [];
    const tradeSource: string[] = [];
    const tradeReceived: number[] = [];
    const firstOf = new Map<string, number>();
    const rejected: (string | number)[][] = [];
    let minUs = Infinity;
    let maxUs = -Infinity;
    for (let i = 0; i < batch.bronze.length; i++) {
      const r = batch.bronze[i]!;
      let f = frames.get(r.raw);
      if (f === undefined) {
        f = frameRows.length;
        frames.set(r.raw, f);
        frameRows.push([f, r.receivedUs, r.connectionId, r.source, r.raw]);
      }
      const s = pairs[i];
      if (s === undefined) {
        rejected.push([
          r.symbol,
          r.side,
          r.price,
          r.qty,
          r.ordType,
          r.tradeId,
          r.timestamp,
          r.receivedUs,
          r.connectionId,
          r.source,
          f,
        ]);
        continue;
      }
      if (s.tsUs < minUs) minUs = s.tsUs;
      if (s.tsUs > maxUs) maxUs = s.tsUs;
      // One row per trade id: a WS copy before a REST one, then the earliest.
      const seen = firstOf.get(s.tradeId);
      if (seen !== undefined) {
        const better = (r.source === "ws" && tradeSource[seen] !== "ws") ||
          (r.source === tradeSource[seen] &&
            r.receivedUs < tradeReceived[seen]!);
        if (!better) continue;
      }
      // Fields silver has read (decimals, times, sides, ids) need no
      // quoting; free text from the wire goes through field().
      const line = field(r.symbol) + "\t" + r.side + "\t" + r.price + "\t" +
        r.qty + "\t" + field(r.ordType) + "\t" + r.tradeId + "\t" +
        r.timestamp + "\t" + r.receivedUs + "\t" + field(r.connectionId) +
        "\t" + r.source + "\t" + f + "\t" + field(s.exchange) + "\t" +
        field(s.symbol) + "\t" + field(s.tradeId) + "\t" + s.side + "\t" +
        wholePart(s.price) + "\t" + fractionPart(s.price) + "\t" +
        wholePart(s.qty) + "\t" + fractionPart(s.qty) + "\t" + s.tsUs;
      const at = seen ?? trades.length;
      if (seen === undefined) firstOf.set(s.tradeId, at);
      trades[at] = line;
      tradeSource[at] = r.source;
      tradeReceived[at] = r.receivedUs;
    }
    await this.#stageJson("stage_frames", frameRows);
    await this.#stageLines("stage_trades", trades);
    // Read only when there are some (INSERT_REJECTED): one statement less
    // per live write.
    if (rejected.length > 0) await this.#stage("stage_rejected", rejected);
    return {
      minUs: Number.isFinite(minUs) ? minUs : 0,
      maxUs: Number.isFinite(maxUs) ? maxUs : 0,
      rejected: rejected.length,
    };
  }

  async #stageGold(
    candles: readonly GoldCandle[],
    c: Session,
  ): Promise<void> {
    await this.#stage(
      "stage_gold",
      candles.map((g) => [
        g.exchange,
        g.symbol,
        g.bucketStartUs,
        g.open,
        g.high,
        g.low,
        g.close,
        g.volume,
        g.vwap,
        g.count,
        g.notional,
        g.firstTradeId,
        g.lastTradeId,
      ]),
      c,
    );
  }
}

/** µs at the start of each `YYYY-MM-DDTHH:MM` seen, `null` when no such minute exists. */
const minuteStarts = new Map<string, number | null>();
let lastMinute = "";
let lastMinuteStart: number | null = null;

/**
 * The trade time of grammar-checked `YYYY-MM-DDTHH:MM:SS.ffffffZ` text at
 * `at`, as core's `parseTimestampUs` reads it, or `undefined` for a date
 * that does not exist (30 February: DuckDB's cast refuses it, core's parser
 * would roll it over; such a frame goes to core, as before). One `Date.UTC`
 * per minute.
 */
function tradeTimeUs(text: string, at: number): number | undefined {
  let start: number | null | undefined;
  if (lastMinute !== "" && text.startsWith(lastMinute, at)) {
    start = lastMinuteStart;
  } else {
    const key = text.slice(at, at + 16);
    start = minuteStarts.get(key);
    if (start === undefined) {
      const d = Number(key.slice(8, 10));
      const ms = Date.UTC(
        Number(key.slice(0, 4)),
        Number(key.slice(5, 7)) - 1,
        d,
        Number(key.slice(11, 13)),
        Number(key.slice(14, 16)),
      );
      start = new Date(ms).getUTCDate() === d ? ms * 1000 : null;
      if (minuteStarts.size > 100_000) minuteStarts.clear();
      minuteStarts.set(key, start);
    }
    lastMinute = key;
    lastMinuteStart = start;
  }
  if (start === null) return undefined;
  const c = (k: number) => text.charCodeAt(at + k) - 48;
  return start + (c(17) * 10 + c(18)) * 1_000_000 +
    ((((c(20) * 10 + c(21)) * 10 + c(22)) * 10 + c(23)) * 10 + c(24)) * 10 +
    c(25);
}

/** The `columns = {…}` of a staging table for DuckDB's readers. */
function stageColumns(table: StageTable): string {
  return Object.entries(STAGE_COLUMNS[table])
    .map(([name, type]) => `${name}: '${type}'`).join(", ");
}

/** Free text as one TSV field: quoted only when it holds a tab, newline or quote; empty text quoted so it stays empty, not NULL. */
function field(value: string): string {
  if (value === "") return '""';
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Pair each bronze row with the silver row it became, or `undefined`. */
function pairSilver(
  bronze: readonly BronzeTrade[],
  silver: readonly SilverTrade[],
): (SilverTrade | undefined)[] {
  const out: (SilverTrade | undefined)[] = new Array(bronze.length);
  let j = 0;
  for (let i = 0; i < bronze.length; i++) {
    const r = bronze[i]!;
    const s = silver[j];
    if (
      s !== undefined && s.exchangeTradeId === r.tradeId &&
      s.source === r.source && s.receivedUs === r.receivedUs &&
      s.original.symbol === r.symbol
    ) {
      out[i] = s;
      j++;
    }
  }
  if (j === silver.length) return out;
  // Not in bronze order: look each one up.
  const key = (
    symbol: string | undefined,
    id: number,
    source: string,
    at: number,
  ) => `${symbol}\u0000${id}\u0000${source}\u0000${at}`;
  const bySilver = new Map(
    silver.map((
      s,
    ) => [
      key(s.original.symbol, s.exchangeTradeId, s.source, s.receivedUs),
      s,
    ]),
  );
  return bronze.map((r) =>
    bySilver.get(key(r.symbol, r.tradeId, r.source, r.receivedUs))
  );
}

/** One staging line: tab-separated, text quoted only when it must be. */
function tsvLine(values: readonly (string | number)[]): string {
  let line = "";
  for (let c = 0; c < values.length; c++) {
    const value = values[c]!;
    if (c > 0) line += "\t";
    if (typeof value === "number") line += value;
    else if (value === "") line += '""';
    else if (NEEDS_QUOTES.test(value)) {
      line += `"${value.replaceAll('"', '""')}"`;
    } else line += value;
  }
  return line;
}

/** The whole part of positive canonical decimal text, as a number. */
function wholePart(text: string): number {
  const dot = text.indexOf(".");
  const whole = Number(dot < 0 ? text : text.slice(0, dot));
  if (!Number.isSafeInteger(whole)) {
    throw new RangeError(
      `Cannot store decimal "${text}": the whole part exceeds 2^53`,
    );
  }
  return whole;
}

/** The fraction of decimal text as `0.xxx` (silver's `DECIMAL(38,18)` holds 18 digits). */
function fractionPart(text: string): string {
  const dot = text.indexOf(".");
  if (dot < 0) return "0";
  if (text.length - dot - 1 > 18) {
    throw new RangeError(
      `Cannot store decimal "${text}": more than 18 fraction digits`,
    );
  }
  return `0.${text.slice(dot + 1)}`;
}

/** The trades of one bucket's `string_agg` row (what gold reads of them). */
function silverOfBucket(r: Row): SilverTrade[] {
  const exchange = str(r.exchange) || KRAKEN_EXCHANGE;
  const symbol = str(r.symbol);
  return str(r.trades).split(",").map((t) => {
    const [id, price, qty, tsUs] = t.split(" ");
    return {
      exchange,
      symbol,
      tradeId: `${exchange}:${symbol}:${id}`,
      exchangeTradeId: Number(id),
      side: "BUY",
      price: price!,
      qty: qty!,
      tsUs: Number(tsUs),
      receivedUs: 0,
      source: "ws",
      original: {},
    };
  });
}

/** A stored gold row of `timeframe` as a candle (vwap unused by rollups). */
function candleOfRow(r: Row, timeframe: GoldTimeframe): GoldCandle {
  return {
    exchange: str(r.exchange),
    symbol: str(r.symbol),
    timeframe,
    bucketStartUs: num(r.bucket_us),
    open: str(r.open),
    high: str(r.high),
    low: str(r.low),
    close: str(r.close),
    volume: str(r.volume),
    notional: str(r.notional),
    vwap: "0",
    count: num(r.trade_count),
    firstTradeId: num(r.first_trade_id),
    lastTradeId: num(r.last_trade_id),
  };
}
