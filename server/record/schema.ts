/**
 * The embedded recorder's DuckDB schema: one table per layer, as described
 * in docs/recorder.md. Prices and quantities are `DECIMAL(38,18)` (exact,
 * above any Kraken precision, 20 integer digits); times are `TIMESTAMP` in
 * UTC with microseconds. Trades are unique by key through the store's
 * anti-join (no index), frames by being written only with a new row
 * (below); rebuilt gold replaces its row by primary key.
 *
 * @module
 */

import { GOLD_TIMEFRAMES, type GoldTimeframe } from "@krakked/core/record/gold";

/** Schema version written to `record_meta`; bump on an incompatible change. */
export const SCHEMA_VERSION = 3;

/** The table of one gold timeframe. */
export function goldTable(timeframe: GoldTimeframe): string {
  return `ohlcv_${timeframe}`;
}

const GOLD_COLUMNS = `
  exchange VARCHAR NOT NULL,
  symbol VARCHAR NOT NULL,
  bucket TIMESTAMP NOT NULL,
  open DECIMAL(38,18) NOT NULL,
  high DECIMAL(38,18) NOT NULL,
  low DECIMAL(38,18) NOT NULL,
  close DECIMAL(38,18) NOT NULL,
  volume DECIMAL(38,18) NOT NULL,
  vwap DECIMAL(38,18) NOT NULL,
  trade_count BIGINT NOT NULL,
  notional VARCHAR NOT NULL,
  first_trade_id BIGINT NOT NULL,
  last_trade_id BIGINT NOT NULL,
  built_at TIMESTAMP NOT NULL,
  PRIMARY KEY (exchange, symbol, bucket)`;

/**
 * Moves a schema-1 store's silver table (the original fields stored as a
 * MAP) into `silver_trades_data`; run before {@linkcode schemaSql} when
 * `silver_trades` is still a table.
 */
export const MIGRATE_SILVER_V1 = [
  `CREATE TABLE silver_trades_data AS
    SELECT exchange, symbol, trade_id, exchange_trade_id, side, price, qty, ts,
      received_at, silver_at, source,
      coalesce(original['symbol'], symbol) AS exchange_symbol
    FROM silver_trades`,
  `DROP TABLE silver_trades`,
];

/** `bronze_frames_kraken`'s columns (no key: see {@linkcode INSERT_FRAMES}). */
const FRAMES_COLUMNS = `
      frame_id UBIGINT NOT NULL,
      received_at TIMESTAMP NOT NULL,
      connection_id VARCHAR NOT NULL,
      source VARCHAR NOT NULL,
      raw VARCHAR NOT NULL`;

/**
 * Rebuilds a schema-2 store's `bronze_frames_kraken` (a `frame_id` PRIMARY
 * KEY) without the key: run before {@linkcode schemaSql} when the table
 * still has one. DuckDB cannot drop a key in place. The view over it is
 * dropped here and created again by `schemaSql`.
 */
export const MIGRATE_FRAMES_V2 = [
  `CREATE TABLE bronze_frames_kraken_v3 (${FRAMES_COLUMNS})`,
  `INSERT INTO bronze_frames_kraken_v3 SELECT * FROM bronze_frames_kraken`,
  `DROP VIEW IF EXISTS bronze_trades_kraken_raw`,
  `DROP TABLE bronze_frames_kraken`,
  `ALTER TABLE bronze_frames_kraken_v3 RENAME TO bronze_frames_kraken`,
];

/** DDL of the persistent tables and views, idempotent. */
export function schemaSql(): string[] {
  const statements = [
    `CREATE TABLE IF NOT EXISTS record_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS record_symbols (
      exchange VARCHAR NOT NULL,
      symbol VARCHAR NOT NULL,
      exchange_symbol VARCHAR NOT NULL,
      rest_pair VARCHAR NOT NULL,
      price_decimals INTEGER NOT NULL,
      volume_decimals INTEGER NOT NULL,
      PRIMARY KEY (exchange, symbol))`,
    // The frame a row came in, stored once however many trades it holds.
    // No PRIMARY KEY: its ART index cost ≈ 45 MB of file per million
    // trades (a third of the store) and memory that only grows; frames
    // are unique because one is written only with a row new to bronze.
    `CREATE TABLE IF NOT EXISTS bronze_frames_kraken (${FRAMES_COLUMNS})`,
    `CREATE TABLE IF NOT EXISTS bronze_trades_kraken (
      symbol VARCHAR NOT NULL,
      side VARCHAR NOT NULL,
      price VARCHAR NOT NULL,
      qty VARCHAR NOT NULL,
      ord_type VARCHAR NOT NULL,
      trade_id BIGINT NOT NULL,
      timestamp VARCHAR NOT NULL,
      received_at TIMESTAMP NOT NULL,
      connection_id VARCHAR NOT NULL,
      source VARCHAR NOT NULL,
      frame_id UBIGINT NOT NULL)`,
    `CREATE OR REPLACE VIEW bronze_trades_kraken_raw AS
      SELECT t.*, f.raw FROM bronze_trades_kraken t
      JOIN bronze_frames_kraken f USING (frame_id)`,
    // Silver's stored columns. The original fields are not stored twice:
    // the silver_trades view takes them from bronze (exchange_symbol +
    // exchange_trade_id is bronze's key), which made bulk ingest faster
    // (building and compressing the MAP was two thirds of the silver insert).
    `CREATE TABLE IF NOT EXISTS silver_trades_data (
      exchange VARCHAR NOT NULL,
      symbol VARCHAR NOT NULL,
      trade_id VARCHAR NOT NULL,
      exchange_trade_id BIGINT NOT NULL,
      side VARCHAR NOT NULL,
      price DECIMAL(38,18) NOT NULL,
      qty DECIMAL(38,18) NOT NULL,
      ts TIMESTAMP NOT NULL,
      received_at TIMESTAMP NOT NULL,
      silver_at TIMESTAMP NOT NULL,
      source VARCHAR NOT NULL,
      exchange_symbol VARCHAR NOT NULL)`,
    // SILVER as users see it: every stored column but exchange_symbol, and
    // a map of the original fields as the exchange sent them (core's
    // toSilver map). Another exchange adds a branch for its bronze table.
    // Equalities only in the join condition: with `s.exchange = 'kraken'`
    // as a term of its own DuckDB planned a blockwise nested-loop join,
    // quadratic in the rows (38 s to export 200,000 trades).
    `CREATE OR REPLACE VIEW silver_trades AS
      SELECT s.exchange, s.symbol, s.trade_id, s.exchange_trade_id, s.side,
        s.price, s.qty, s.ts, s.received_at, s.silver_at, s.source,
        CAST({'symbol': b.symbol, 'side': b.side, 'price': b.price,
          'qty': b.qty, 'ord_type': b.ord_type,
          'trade_id': CAST(b.trade_id AS VARCHAR), 'timestamp': b.timestamp}
          AS MAP(VARCHAR, VARCHAR)) AS original
      FROM silver_trades_data s LEFT JOIN bronze_trades_kraken b
        ON b.symbol = CASE WHEN s.exchange = 'kraken' THEN s.exchange_symbol END
          AND b.trade_id = s.exchange_trade_id`,
    // Book frames as received, one row per entry (core/record/book.ts).
    `CREATE TABLE IF NOT EXISTS bronze_book_kraken (
      seq BIGINT NOT NULL,
      symbol VARCHAR NOT NULL,
      type VARCHAR NOT NULL,
      checksum UBIGINT NOT NULL,
      timestamp VARCHAR NOT NULL,
      bid_levels INTEGER NOT NULL,
      ask_levels INTEGER NOT NULL,
      status VARCHAR NOT NULL,
      depth INTEGER NOT NULL,
      received_at TIMESTAMP NOT NULL,
      connection_id VARCHAR NOT NULL,
      stream VARCHAR NOT NULL,
      raw VARCHAR NOT NULL)`,
    // Verified books copied every so often: where a rebuild starts.
    `CREATE TABLE IF NOT EXISTS book_snapshots (
      symbol VARCHAR NOT NULL,
      seq BIGINT NOT NULL,
      stream VARCHAR NOT NULL,
      taken_at TIMESTAMP NOT NULL,
      depth INTEGER NOT NULL,
      checksum UBIGINT NOT NULL,
      bids STRUCT(price VARCHAR, qty VARCHAR)[] NOT NULL,
      asks STRUCT(price VARCHAR, qty VARCHAR)[] NOT NULL,
      PRIMARY KEY (symbol, seq))`,
    // Σ price × qty of the trades each bulk write added to a minute, as
    // HUGEINT sums of 9-digit limbs (server/record/gold_sql.ts): 1m gold
    // reads these instead of converting every silver DECIMAL (≈ 1 µs a
    // value), whenever they count exactly the minute's silver trades.
    `CREATE TABLE IF NOT EXISTS gold_notional_1m (
      exchange VARCHAR NOT NULL,
      symbol VARCHAR NOT NULL,
      bucket_us BIGINT NOT NULL,
      trades BIGINT NOT NULL,
      n0 HUGEINT NOT NULL,
      n9 HUGEINT NOT NULL,
      n18 HUGEINT NOT NULL,
      n27 HUGEINT NOT NULL,
      n36 HUGEINT NOT NULL)`,
  ];
  for (const tf of GOLD_TIMEFRAMES) {
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${goldTable(tf)} (${GOLD_COLUMNS})`,
      // Across exchanges: sums, extremes, and open/close of the exchange
      // whose first/last trade id came first/last within the bucket.
      `CREATE OR REPLACE VIEW ${goldTable(tf)}_all AS
        SELECT symbol, bucket,
          arg_min(open, first_trade_id) AS open, max(high) AS high,
          min(low) AS low, arg_max(close, last_trade_id) AS close,
          sum(volume) AS volume, sum(trade_count) AS trade_count,
          count(*) AS exchanges
        FROM ${goldTable(tf)} GROUP BY symbol, bucket`,
    );
  }
  statements.push(
    `INSERT OR REPLACE INTO record_meta VALUES ('schema_version', '${SCHEMA_VERSION}')`,
  );
  return statements;
}

/** Column types of each staging table (filled by `read_csv`). */
export const STAGE_COLUMNS = {
  stage_frames: {
    f: "BIGINT",
    received_us: "BIGINT",
    connection_id: "VARCHAR",
    source: "VARCHAR",
    raw: "VARCHAR",
  },
  // One row per trade: its bronze fields (as sent) and its silver ones.
  stage_trades: {
    symbol: "VARCHAR",
    side: "VARCHAR",
    price: "VARCHAR",
    qty: "VARCHAR",
    ord_type: "VARCHAR",
    trade_id: "BIGINT",
    timestamp: "VARCHAR",
    received_us: "BIGINT",
    connection_id: "VARCHAR",
    source: "VARCHAR",
    f: "BIGINT",
    exchange: "VARCHAR",
    s_symbol: "VARCHAR",
    s_trade_id: "VARCHAR",
    s_side: "VARCHAR",
    price_i: "BIGINT",
    price_f: "VARCHAR",
    qty_i: "BIGINT",
    qty_f: "VARCHAR",
    ts_us: "BIGINT",
  },
  // Bronze rows silver could not read (kept as received, rare).
  stage_rejected: {
    symbol: "VARCHAR",
    side: "VARCHAR",
    price: "VARCHAR",
    qty: "VARCHAR",
    ord_type: "VARCHAR",
    trade_id: "BIGINT",
    timestamp: "VARCHAR",
    received_us: "BIGINT",
    connection_id: "VARCHAR",
    source: "VARCHAR",
    f: "BIGINT",
  },
  stage_gold: {
    exchange: "VARCHAR",
    symbol: "VARCHAR",
    bucket_us: "BIGINT",
    open: "VARCHAR",
    high: "VARCHAR",
    low: "VARCHAR",
    close: "VARCHAR",
    volume: "VARCHAR",
    vwap: "VARCHAR",
    trade_count: "BIGINT",
    notional: "VARCHAR",
    first_trade_id: "BIGINT",
    last_trade_id: "BIGINT",
  },
  stage_buckets: { symbol: "VARCHAR", bucket_us: "BIGINT" },
  stage_book: {
    seq: "BIGINT",
    symbol: "VARCHAR",
    type: "VARCHAR",
    checksum: "UBIGINT",
    timestamp: "VARCHAR",
    bid_levels: "INTEGER",
    ask_levels: "INTEGER",
    status: "VARCHAR",
    depth: "INTEGER",
    received_us: "BIGINT",
    connection_id: "VARCHAR",
    stream: "VARCHAR",
    raw: "VARCHAR",
  },
  stage_book_snapshots: {
    symbol: "VARCHAR",
    seq: "BIGINT",
    stream: "VARCHAR",
    taken_us: "BIGINT",
    depth: "INTEGER",
    checksum: "UBIGINT",
    bids: "JSON",
    asks: "JSON",
  },
} as const;

/** A staging table's name. */
export type StageTable = keyof typeof STAGE_COLUMNS;

/**
 * Moves in the staged frames that hold a row new to bronze (frame id =
 * DuckDB's 64-bit hash of the text), with `rejected` the staged rejected
 * rows new to bronze (`new_rejected`) too. This is what keeps frames
 * unique without a key: a stored frame had every one of its rows stored
 * with it or before it (a WS frame's rows are all in its batch; a REST
 * "frame" is one row), so a frame sent again holds no new row and is not
 * written again; and `stage_frames` holds each text once.
 */
export function insertFramesSql(rejected: boolean): string {
  return `INSERT INTO bronze_frames_kraken
  SELECT hash(raw), make_timestamp(received_us), connection_id, source, raw
  FROM stage_frames
  WHERE f IN (SELECT f FROM new_trades${
    rejected ? " UNION ALL SELECT f FROM new_rejected" : ""
  })`;
}

/**
 * Picks the staged trades that are new (none already in silver; the
 * staging holds one row per trade id, a WS copy before a REST one).
 * `$1`/`$2` bound the stored rows compared (the batch's trade times ± 1 s):
 * a duplicate has the same trade time, and the bound lets DuckDB skip row
 * groups by their min/max instead of probing an index, which is what keeps
 * bulk appends fast without a PRIMARY KEY. Bronze and silver are written
 * together from this set, so they hold the same trades.
 */
export const SELECT_NEW_TRADES = `CREATE OR REPLACE TEMP TABLE new_trades AS
  SELECT * FROM stage_trades s
  WHERE NOT EXISTS (
    SELECT 1 FROM silver_trades_data t
    WHERE t.trade_id = s.s_trade_id
      AND t.ts BETWEEN make_timestamp($1) AND make_timestamp($2))`;

/**
 * A staged decimal as `DECIMAL(38,18)`: its whole part (BIGINT) plus its
 * fraction (`0.xxx`, read as the int64-backed `DECIMAL(18,18)`). DuckDB
 * parses text into a 128-bit decimal about 60× slower than into a 64-bit
 * one (1.1 s against 17 ms per 200,000 values here), and the split is exact.
 */
function decimalOf(column: string): string {
  return `(CAST(${column}_i AS DECIMAL(38,18)) + CAST(${column}_f AS DECIMAL(18,18)))`;
}

/** Moves the new trades into silver (`$1` = silver time, µs). */
export const INSERT_SILVER = `INSERT INTO silver_trades_data
  SELECT exchange, s_symbol, s_trade_id, trade_id, s_side,
    ${decimalOf("price")}, ${decimalOf("qty")},
    make_timestamp(ts_us), make_timestamp(received_us), make_timestamp($1), source,
    symbol
  FROM new_trades`;

/** Moves the new trades into bronze, as received. */
export const INSERT_BRONZE = `INSERT INTO bronze_trades_kraken
  SELECT t.symbol, t.side, t.price, t.qty, t.ord_type, t.trade_id, t.timestamp,
    make_timestamp(t.received_us), t.connection_id, t.source, hash(f.raw)
  FROM new_trades t JOIN stage_frames f ON f.f = t.f`;

/** Picks the staged rejected rows bronze lacks, one per (symbol, trade id). */
export const SELECT_NEW_REJECTED = `CREATE OR REPLACE TEMP TABLE new_rejected AS
  SELECT * FROM (SELECT DISTINCT ON (symbol, trade_id) * FROM stage_rejected) b
  WHERE NOT EXISTS (
    SELECT 1 FROM bronze_trades_kraken t
    WHERE t.symbol = b.symbol AND t.trade_id = b.trade_id)`;

/** Moves the new rejected rows (`new_rejected`) into bronze. */
export const INSERT_REJECTED = `INSERT INTO bronze_trades_kraken
  SELECT b.symbol, b.side, b.price, b.qty, b.ord_type, b.trade_id, b.timestamp,
    make_timestamp(b.received_us), b.connection_id, b.source, hash(f.raw)
  FROM new_rejected b JOIN stage_frames f ON f.f = b.f`;

/** Staged book rows into bronze, unless stored already (`$1`/`$2` bound the seqs compared). */
export const INSERT_BOOK = `INSERT INTO bronze_book_kraken
  SELECT seq, symbol, type, checksum, timestamp, bid_levels, ask_levels,
    status, depth, make_timestamp(received_us), connection_id, stream, raw
  FROM stage_book s
  WHERE NOT EXISTS (
    SELECT 1 FROM bronze_book_kraken b
    WHERE b.seq = s.seq AND b.seq BETWEEN $1 AND $2)`;

/** A staged level list as `STRUCT(price, qty)[]`. */
const LEVELS = `'[{"price":"VARCHAR","qty":"VARCHAR"}]'`;

/** Staged book snapshots, replacing one at the same (symbol, seq). */
export const INSERT_BOOK_SNAPSHOTS = `INSERT OR REPLACE INTO book_snapshots
  SELECT symbol, seq, stream, make_timestamp(taken_us), depth, checksum,
    from_json(bids, ${LEVELS}), from_json(asks, ${LEVELS})
  FROM stage_book_snapshots`;

/** Replaces gold rows of one timeframe with the staged ones (`$1` = build time, µs). */
export function insertGoldSql(timeframe: GoldTimeframe): string {
  return `INSERT OR REPLACE INTO ${goldTable(timeframe)}
    SELECT exchange, symbol, make_timestamp(bucket_us),
      ${decimalOfText("open")}, ${decimalOfText("high")},
      ${decimalOfText("low")}, ${decimalOfText("close")},
      ${decimalOfText("volume")}, ${decimalOfText("vwap")},
      trade_count, notional, first_trade_id, last_trade_id, make_timestamp($1)
    FROM stage_gold`;
}

// The bulk replay path (RecordStore.writeFrames): frames whose text is
// exactly Kraken's WS v2 trade push, field for field, are normalized to
// silver in SQL. Any other text (whitespace, escapes, exponents, other key
// orders, out-of-range values) does not match and goes through core's
// parser instead, so the grammar only has to be a strict subset of what
// core reads the same way.
const STR = '[^"\\\\\\x00-\\x1f]*';
const NUM = "(?:0|[1-9][0-9]{0,14})(?:\\.[0-9]{1,18})?";
const ID = "(?:0|[1-9][0-9]{0,14})";
const TS = "[12][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])" +
  "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{6}Z";
const OBJ = `\\{"symbol":"${STR}","side":"(?:buy|sell)","price":${NUM},` +
  `"qty":${NUM},"ord_type":"${STR}","trade_id":${ID},"timestamp":"${TS}"\\}`;

/**
 * RE2 pattern of a frame the SQL path takes: a WS v2 `trade` update or
 * snapshot with at least one trade, fields in Kraken's order, strings
 * without escapes, plain decimals (≤ 15 whole, ≤ 18 fraction digits) and
 * RFC 3339 times with six fraction digits in UTC.
 */
export const BULK_FRAME_PATTERN =
  `\\{"channel":"trade","type":"(?:update|snapshot)","data":\\[${OBJ}(?:,${OBJ})*\\]\\}`;

/** `DECIMAL(38,18)` of plain decimal text (split as in `decimalOf`, exact). */
function decimalOfText(column: string): string {
  return `(CAST(CAST(split_part(${column}, '.', 1) AS HUGEINT) AS DECIMAL(38,18)) +
    CAST('0.' || coalesce(nullif(split_part(${column}, '.', 2), ''), '0') AS DECIMAL(18,18)))`;
}

/**
 * Staged bulk frames (`bulk_frames`: i, received_us, raw, h), every one
 * already checked by server/record/bulk_scan.ts against
 * {@linkcode BULK_FRAME_PATTERN} (no string holding `},{`), into `table`:
 * one row per trade with its bronze text fields, canonical symbol
 * (`bulk_map`) and id, exact decimals, the whole part and 18 fraction
 * digits as BIGINT (gold's limbs), and `chk` (the id is at or below its
 * symbol's stored watermark, `bulk_watermark`). Split on `},{`, then on
 * `"`, each field sits at a fixed offset.
 */
export function bulkRowsSql(table: string): string {
  return `CREATE OR REPLACE TEMP TABLE ${table} AS
  WITH t AS (
    SELECT i, received_us, h,
      string_split(unnest(string_split(raw[strpos(raw, '[') + 2 : -4], '},{')), '"') AS p
    FROM bulk_frames),
  r AS (
    SELECT i, received_us, h, p[4] AS symbol, p[8] AS side, p[11][2:-2] AS price,
      p[13][2:-2] AS qty, p[16] AS ord_type, CAST(p[19][2:-2] AS BIGINT) AS trade_id,
      p[22] AS timestamp
    FROM t),
  d AS (
    SELECT *, CAST(split_part(price, '.', 1) AS BIGINT) AS pw,
      split_part(price, '.', 2) AS pf, CAST(split_part(qty, '.', 1) AS BIGINT) AS qw,
      split_part(qty, '.', 2) AS qf
    FROM r)
  SELECT d.i, d.received_us, d.h, d.symbol, d.side, d.price, d.qty, d.ord_type,
    d.trade_id, d.timestamp, CAST(d.timestamp AS TIMESTAMP) AS ts,
    m.canonical AS s_symbol,
    'kraken:' || m.canonical || ':' || d.trade_id AS s_trade_id,
    CAST(d.pw AS DECIMAL(38,18)) + CAST('0.' || d.pf AS DECIMAL(18,18)) AS price_d,
    CAST(d.qw AS DECIMAL(38,18)) + CAST('0.' || d.qf AS DECIMAL(18,18)) AS qty_d,
    d.pw, CAST(rpad(d.pf, 18, '0') AS BIGINT) AS pfi,
    d.qw, CAST(rpad(d.qf, 18, '0') AS BIGINT) AS qfi,
    d.trade_id <= coalesce(w.max_id, -1) AS chk
  FROM d JOIN bulk_map m ON m.symbol = d.symbol
  LEFT JOIN bulk_watermark w ON w.symbol = m.canonical`;
}

/**
 * `bulk_rows` → `bulk_dedup`, one row per trade id when `unique` is false
 * (the earliest received, then the first frame). With `unique` (no id of
 * the batch at or below an earlier one of its symbol, so none repeats) the
 * window that picks one is skipped: it is the dearest step here.
 */
export function bulkDedupSql(unique: boolean): string {
  return `CREATE OR REPLACE TEMP TABLE bulk_dedup AS
  SELECT * FROM bulk_rows${
    unique ? "" : `
  QUALIFY row_number() OVER (PARTITION BY s_symbol, trade_id ORDER BY received_us, i) = 1`
  }`;
}

/**
 * New trades of the batch: above the symbol's stored watermark (new by
 * construction), plus those at or below it (`chk`) that silver lacks
 * (`$1`/`$2` bound the stored rows compared to the overlap's trade times
 * ± 1 s).
 */
export const BULK_NEW = `CREATE OR REPLACE TEMP TABLE bulk_new AS
  SELECT * FROM bulk_dedup WHERE NOT chk
  UNION ALL
  SELECT * FROM bulk_dedup d WHERE d.chk AND NOT EXISTS (
    SELECT 1 FROM silver_trades_data t
    WHERE t.trade_id = d.s_trade_id
      AND t.ts BETWEEN make_timestamp($1) AND make_timestamp($2))`;

/** The new bulk trades into silver (`$1` silver time µs, `$2` source). */
export const BULK_INSERT_SILVER = `INSERT INTO silver_trades_data
  SELECT 'kraken', s_symbol, s_trade_id, trade_id,
    CASE side WHEN 'buy' THEN 'BUY' ELSE 'SELL' END,
    price_d, qty_d, ts, make_timestamp(received_us), make_timestamp($1), $2,
    symbol
  FROM bulk_new`;

/**
 * Frames of the new bulk trades, once each (`$1` connection id, `$2`
 * source): a stored frame holds no new trade (see {@linkcode insertFramesSql}).
 */
export const BULK_INSERT_FRAMES = `INSERT INTO bronze_frames_kraken
  SELECT DISTINCT ON (h) h, make_timestamp(received_us), $1, $2, raw
  FROM bulk_frames WHERE i IN (SELECT i FROM bulk_new)
  ORDER BY h, received_us`;

/** The new bulk trades into bronze, as received (`$1` connection id, `$2` source). */
export const BULK_INSERT_BRONZE = `INSERT INTO bronze_trades_kraken
  SELECT symbol, side, price, qty, ord_type, trade_id, timestamp,
    make_timestamp(received_us), $1, $2, h
  FROM bulk_new`;

/**
 * Every staged frame, when each holds a new trade and none repeats (the
 * direct path: the batch repeats no trade id, so no frame twice, and a
 * stored frame's trades are all in silver already, at or below the
 * watermark, so none of these is stored).
 */
export const BULK_INSERT_ALL_FRAMES = `INSERT INTO bronze_frames_kraken
  SELECT h, make_timestamp(received_us), $1, $2, raw FROM bulk_frames`;
