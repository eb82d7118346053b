/**
 * The embedded recorder's DuckDB schema: one table per layer, as described
 * in docs/recorder.md. Prices and quantities are `DECIMAL(38,18)` (exact,
 * above any Kraken precision, 20 integer digits); times are `TIMESTAMP` in
 * UTC with microseconds. Trades are unique by key through the store's
 * anti-join (no index); rebuilt gold replaces its row by primary key.
 *
 * @module
 */

import { GOLD_TIMEFRAMES, type GoldTimeframe } from "@krakked/core/record/gold";

/** Schema version written to `record_meta`; bump on an incompatible change. */
export const SCHEMA_VERSION = 1;

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
    `CREATE TABLE IF NOT EXISTS bronze_frames_kraken (
      frame_id UBIGINT NOT NULL PRIMARY KEY,
      received_at TIMESTAMP NOT NULL,
      connection_id VARCHAR NOT NULL,
      source VARCHAR NOT NULL,
      raw VARCHAR NOT NULL)`,
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
    `CREATE TABLE IF NOT EXISTS silver_trades (
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
      original MAP(VARCHAR, VARCHAR) NOT NULL)`,
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
    `INSERT OR IGNORE INTO record_meta VALUES ('schema_version', '${SCHEMA_VERSION}')`,
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
} as const;

/** A staging table's name. */
export type StageTable = keyof typeof STAGE_COLUMNS;

/** Moves staged frames in (frame id = DuckDB's 64-bit hash of the text). */
export const INSERT_FRAMES = `INSERT OR IGNORE INTO bronze_frames_kraken
  SELECT hash(raw), make_timestamp(received_us), connection_id, source, raw
  FROM stage_frames`;

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
    SELECT 1 FROM silver_trades t
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
export const INSERT_SILVER = `INSERT INTO silver_trades
  SELECT exchange, s_symbol, s_trade_id, trade_id, s_side,
    ${decimalOf("price")}, ${decimalOf("qty")},
    make_timestamp(ts_us), make_timestamp(received_us), make_timestamp($1), source,
    MAP {'symbol': symbol, 'side': side, 'price': price, 'qty': qty,
         'ord_type': ord_type, 'timestamp': timestamp}
  FROM new_trades`;

/** Moves the new trades into bronze, as received. */
export const INSERT_BRONZE = `INSERT INTO bronze_trades_kraken
  SELECT t.symbol, t.side, t.price, t.qty, t.ord_type, t.trade_id, t.timestamp,
    make_timestamp(t.received_us), t.connection_id, t.source, hash(f.raw)
  FROM new_trades t JOIN stage_frames f ON f.f = t.f`;

/** Moves rejected rows into bronze unless bronze holds that (symbol, trade id). */
export const INSERT_REJECTED = `INSERT INTO bronze_trades_kraken
  SELECT b.symbol, b.side, b.price, b.qty, b.ord_type, b.trade_id, b.timestamp,
    make_timestamp(b.received_us), b.connection_id, b.source, hash(f.raw)
  FROM (SELECT DISTINCT ON (symbol, trade_id) * FROM stage_rejected) b
  JOIN stage_frames f ON f.f = b.f
  WHERE NOT EXISTS (
    SELECT 1 FROM bronze_trades_kraken t
    WHERE t.symbol = b.symbol AND t.trade_id = b.trade_id)`;

/** Replaces gold rows of one timeframe with the staged ones (`$1` = build time, µs). */
export function insertGoldSql(timeframe: GoldTimeframe): string {
  return `INSERT OR REPLACE INTO ${goldTable(timeframe)}
    SELECT exchange, symbol, make_timestamp(bucket_us),
      CAST(open AS DECIMAL(38,18)), CAST(high AS DECIMAL(38,18)),
      CAST(low AS DECIMAL(38,18)), CAST(close AS DECIMAL(38,18)),
      CAST(volume AS DECIMAL(38,18)), CAST(vwap AS DECIMAL(38,18)),
      trade_count, notional, first_trade_id, last_trade_id, make_timestamp($1)
    FROM stage_gold`;
}
