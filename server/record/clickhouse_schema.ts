/**
 * The recorder's layers in ClickHouse (the scale-out path of
 * docs/record/CLICKHOUSE.md): the same bronze, silver and gold as the
 * embedded DuckDB store (server/record/schema.ts), but kept by the engine
 * itself with materialized views, so `krakked load` only inserts bronze.
 *
 * - `record_symbols`: pair precisions (vwap is rounded to `price_decimals`).
 * - BRONZE `bronze_trades_kraken`: the JetStream message as published by
 *   server/record/log.ts, plus its stream sequence. ReplacingMergeTree keyed
 *   by `(symbol, trade_id)` — never by price/timestamp, since two fills can
 *   share a microsecond — with a non-replicated deduplication window, so an
 *   insert repeated with the same `insert_deduplication_token` is dropped
 *   whole, and its materialized views are not fed a second time.
 * - SILVER `silver_trades`: the materialized view `bronze_to_silver_kraken`
 *   normalizes each bronze row exactly as core/record/silver.ts's `toSilver`
 *   does (canonical `BASE/QUOTE`, id `kraken:BTC/USD:<trade_id>`, BUY/SELL,
 *   exact Decimal(38,18), DateTime64(6,'UTC'), the original fields as a Map).
 * - GOLD `ohlcv_<tf>_state` (AggregatingMergeTree: argMin/argMax by trade
 *   id for open/close, max/min, exact sums of qty and price×qty, count),
 *   fed by one materialized view per timeframe from silver; the views
 *   `ohlcv_<tf>` finalize them (vwap rounded half up to the pair's
 *   decimals) and `ohlcv_<tf>_all` aggregates across exchanges.
 * - Books (with `record --channels trade,book`): `bronze_book_kraken` (each
 *   book frame entry as received) and `book_snapshots` (verified copies),
 *   the embedded store's tables, so a book rebuilds at any instant the same
 *   way from either (server/record/book.ts).
 *
 * @module
 */

import { LEGACY_ASSET_ALTNAMES } from "@krakked/core/market/assets";
import {
  GOLD_TIMEFRAMES,
  type GoldTimeframe,
  spanUs,
} from "@krakked/core/record/gold";
import { canonicalSymbol } from "@krakked/core/record/silver";

/** Default ClickHouse database of the recorder's tables. */
export const DEFAULT_CLICKHOUSE_DATABASE = "krakked";

/**
 * How many recent insert tokens bronze remembers (per table). A batch
 * replayed after more than this many later inserts would no longer be
 * recognized by its token; the loader also skips rows already present by
 * key, so it still is not counted twice.
 */
export const DEDUP_WINDOW = 10_000;

/** Largest pair precision the vwap rounding covers. */
const MAX_PRICE_DECIMALS = 18;

const DEC = "Decimal(38, 18)";
const NOTIONAL = "Decimal(76, 36)";
const TS = "DateTime64(6, 'UTC')";

/** A quoted SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A validated identifier (database names come from URLs). */
export function sqlIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
    throw new TypeError(
      `Cannot use ClickHouse database name ${
        JSON.stringify(name)
      }: letters, digits and _ only`,
    );
  }
  return name;
}

/**
 * The SQL of one asset code's common name, generated from core's tables so
 * it cannot drift from `canonicalSymbol`: legacy keys (`XXBT`, `ZUSD`) and
 * altnames (`XBT`, `XDG`) map to common codes, anything else passes through
 * upper-cased and trimmed (a prefix is never guessed at).
 */
function assetSql(expr: string): string {
  const codes = new Set<string>(["XBT", "XDG"]);
  for (const [key, alt] of Object.entries(LEGACY_ASSET_ALTNAMES)) {
    codes.add(key);
    codes.add(alt);
  }
  const from: string[] = [];
  const to: string[] = [];
  for (const code of [...codes].sort()) {
    const common = canonicalSymbol(`${code}/USD`).split("/")[0]!;
    if (common !== code) {
      from.push(sqlString(code));
      to.push(sqlString(common));
    }
  }
  const upper = `upper(trimBoth(${expr}))`;
  return `transform(${upper}, [${from.join(", ")}], [${
    to.join(", ")
  }], ${upper})`;
}

const SPAN_SQL: Record<GoldTimeframe, string> = {
  "1m": "INTERVAL 1 MINUTE",
  "5m": "INTERVAL 5 MINUTE",
  "15m": "INTERVAL 15 MINUTE",
  "1h": "INTERVAL 1 HOUR",
  "1d": "INTERVAL 1 DAY",
};

/** `Decimal` rounded half up to a per-row number of decimals. */
function roundHalfUpSql(value: string, decimals: string): string {
  const cases: string[] = [];
  for (let d = 0; d <= MAX_PRICE_DECIMALS; d++) {
    cases.push(`${decimals} = ${d}, round(${value}, ${d})`);
  }
  return `multiIf(${cases.join(", ")}, ${value})`;
}

/**
 * The silver normalization of a bronze row in ClickHouse SQL (the select
 * list of `bronze_to_silver_kraken`).
 */
export function silverSelectSql(): string {
  const base = assetSql("splitByChar('/', bronze.symbol)[1]");
  const quote = assetSql("splitByChar('/', bronze.symbol)[2]");
  const canonical = `concat(${base}, '/', ${quote})`;
  return `'kraken' AS exchange,
      ${canonical} AS symbol,
      concat('kraken:', ${canonical}, ':', toString(bronze.trade_id)) AS trade_id,
      bronze.trade_id AS exchange_trade_id,
      if(bronze.side IN ('buy', 'b'), 'BUY', if(bronze.side IN ('sell', 's'), 'SELL', throwIf(1, 'bad side'))) AS side,
      toDecimal128(bronze.price, 18) AS price,
      toDecimal128(bronze.qty, 18) AS qty,
      if(match(bronze.timestamp, '^[0-9]+(\\\\.[0-9]+)?$'),
        fromUnixTimestamp64Micro(toInt64(round(toFloat64(bronze.timestamp) * 1000000)), 'UTC'),
        parseDateTime64BestEffort(bronze.timestamp, 6, 'UTC')) AS ts,
      bronze.received_at AS received_at,
      now64(6, 'UTC') AS silver_at,
      bronze.source AS source,
      map('symbol', bronze.symbol, 'side', bronze.side, 'price', bronze.price,
          'qty', bronze.qty, 'ord_type', bronze.ord_type,
          'trade_id', toString(bronze.trade_id), 'timestamp', bronze.timestamp) AS original`;
}

/**
 * The DDL of every table and view, idempotent, single-node (MergeTree
 * family). The cluster variants are in docs/record/CLICKHOUSE.md.
 *
 * @param database Database name.
 * @returns Statements in order.
 */
export function clickhouseSchemaSql(
  database: string = DEFAULT_CLICKHOUSE_DATABASE,
): string[] {
  const db = sqlIdent(database);
  const out = [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${db}.record_symbols (
      exchange LowCardinality(String),
      symbol String,
      exchange_symbol String,
      rest_pair String,
      price_decimals UInt8,
      volume_decimals UInt8
    ) ENGINE = ReplacingMergeTree ORDER BY (exchange, symbol)`,
    `CREATE TABLE IF NOT EXISTS ${db}.bronze_trades_kraken (
      symbol String,
      side LowCardinality(String),
      price String,
      qty String,
      ord_type LowCardinality(String),
      trade_id UInt64,
      timestamp String,
      received_at ${TS},
      connection_id String,
      source LowCardinality(String),
      raw String CODEC(ZSTD(3)),
      stream_seq UInt64,
      loaded_at ${TS} DEFAULT now64(6, 'UTC')
    ) ENGINE = ReplacingMergeTree
    ORDER BY (symbol, trade_id)
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    `CREATE TABLE IF NOT EXISTS ${db}.silver_trades (
      exchange LowCardinality(String),
      symbol LowCardinality(String),
      trade_id String,
      exchange_trade_id UInt64,
      side LowCardinality(String),
      price ${DEC},
      qty ${DEC},
      ts ${TS},
      received_at ${TS},
      silver_at ${TS},
      source LowCardinality(String),
      original Map(String, String)
    ) ENGINE = ReplacingMergeTree
    ORDER BY (exchange, symbol, exchange_trade_id)
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.bronze_to_silver_kraken
      TO ${db}.silver_trades AS
      SELECT ${silverSelectSql()}
      FROM ${db}.bronze_trades_kraken AS bronze`,
    // Book frames as received, one row per entry (core/record/book.ts), as
    // in the embedded store. `seq` is the recorder's receive order: a
    // recorder's seqs are unique, and a recorder that restarts after a
    // crash can hand a lost seq out again on a new stream, hence the key.
    `CREATE TABLE IF NOT EXISTS ${db}.bronze_book_kraken (
      seq UInt64,
      symbol String,
      type LowCardinality(String),
      checksum UInt32,
      timestamp String,
      bid_levels UInt32,
      ask_levels UInt32,
      status LowCardinality(String),
      depth UInt16,
      received_at ${TS},
      connection_id String,
      stream String,
      raw String CODEC(ZSTD(3)),
      stream_seq UInt64,
      loaded_at ${TS} DEFAULT now64(6, 'UTC')
    ) ENGINE = ReplacingMergeTree
    ORDER BY (symbol, seq, stream)
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    // Verified books the recorder copied every so often: where a rebuild
    // starts.
    `CREATE TABLE IF NOT EXISTS ${db}.book_snapshots (
      symbol String,
      seq UInt64,
      stream String,
      taken_at ${TS},
      depth UInt16,
      checksum UInt32,
      bids Array(Tuple(price String, qty String)),
      asks Array(Tuple(price String, qty String)),
      stream_seq UInt64
    ) ENGINE = ReplacingMergeTree
    ORDER BY (symbol, seq, stream)
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
  ];
  for (const tf of GOLD_TIMEFRAMES) out.push(...goldSql(db, tf));
  return out;
}

/** Gold table and view names of a timeframe. */
export function goldNames(
  tf: GoldTimeframe,
): { state: string; view: string; all: string; mv: string } {
  return {
    state: `ohlcv_${tf}_state`,
    view: `ohlcv_${tf}`,
    all: `ohlcv_${tf}_all`,
    mv: `silver_to_ohlcv_${tf}`,
  };
}

function goldSql(db: string, tf: GoldTimeframe): string[] {
  const n = goldNames(tf);
  const bucket = tf === "1d"
    ? "toStartOfDay(ts, 'UTC')"
    : `toStartOfInterval(ts, ${SPAN_SQL[tf]}, 'UTC')`;
  const spanS = spanUs(tf) / 1_000_000;
  const byTime = `tuple(ts, exchange_trade_id)`;
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${n.state} (
      exchange LowCardinality(String),
      symbol LowCardinality(String),
      bucket DateTime('UTC'),
      open AggregateFunction(argMin, ${DEC}, UInt64),
      high AggregateFunction(max, ${DEC}),
      low AggregateFunction(min, ${DEC}),
      close AggregateFunction(argMax, ${DEC}, UInt64),
      first_by_time AggregateFunction(argMin, ${DEC}, Tuple(${TS}, UInt64)),
      last_by_time AggregateFunction(argMax, ${DEC}, Tuple(${TS}, UInt64)),
      volume AggregateFunction(sum, ${DEC}),
      notional AggregateFunction(sum, ${NOTIONAL}),
      trade_count AggregateFunction(count),
      first_trade_id SimpleAggregateFunction(min, UInt64),
      last_trade_id SimpleAggregateFunction(max, UInt64)
    ) ENGINE = AggregatingMergeTree ORDER BY (exchange, symbol, bucket)
    SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${n.mv} TO ${db}.${n.state} AS
      SELECT exchange, symbol, toDateTime(${bucket}, 'UTC') AS bucket,
        argMinState(price, exchange_trade_id) AS open,
        maxState(price) AS high,
        minState(price) AS low,
        argMaxState(price, exchange_trade_id) AS close,
        argMinState(price, ${byTime}) AS first_by_time,
        argMaxState(price, ${byTime}) AS last_by_time,
        sumState(qty) AS volume,
        sumState(toDecimal256(price, 18) * toDecimal256(qty, 18)) AS notional,
        countState() AS trade_count,
        min(exchange_trade_id) AS first_trade_id,
        max(exchange_trade_id) AS last_trade_id
      FROM ${db}.silver_trades
      GROUP BY exchange, symbol, bucket`,
    // Closed buckets only (the bucket has ended by the server's clock).
    `CREATE VIEW IF NOT EXISTS ${db}.${n.view} AS
      SELECT g.exchange AS exchange, g.symbol AS symbol, g.bucket AS bucket,
        g.open AS open, g.high AS high, g.low AS low, g.close AS close,
        g.volume AS volume,
        ${
      roundHalfUpSql(
        "g.notional / g.volume",
        "if(p.known = 1, p.price_decimals, 8)",
      )
    } AS vwap,
        g.trade_count AS trade_count,
        g.first_trade_id AS first_trade_id, g.last_trade_id AS last_trade_id
      FROM (
        SELECT s.exchange AS exchange, s.symbol AS symbol, s.bucket AS bucket,
          argMinMerge(s.open) AS open, maxMerge(s.high) AS high,
          minMerge(s.low) AS low, argMaxMerge(s.close) AS close,
          sumMerge(s.volume) AS volume, sumMerge(s.notional) AS notional,
          countMerge(s.trade_count) AS trade_count,
          min(s.first_trade_id) AS first_trade_id,
          max(s.last_trade_id) AS last_trade_id
        FROM ${db}.${n.state} AS s
        WHERE s.bucket + ${spanS} <= now()
        GROUP BY s.exchange, s.symbol, s.bucket
      ) AS g
      LEFT JOIN (SELECT exchange, symbol, price_decimals, toUInt8(1) AS known
                 FROM ${db}.record_symbols FINAL) AS p
        ON p.exchange = g.exchange AND p.symbol = g.symbol`,
    // Across exchanges: open/close of the first/last trade by time.
    `CREATE VIEW IF NOT EXISTS ${db}.${n.all} AS
      SELECT s.symbol AS symbol, s.bucket AS bucket,
        argMinMerge(s.first_by_time) AS open, maxMerge(s.high) AS high,
        minMerge(s.low) AS low, argMaxMerge(s.last_by_time) AS close,
        sumMerge(s.volume) AS volume,
        sumMerge(s.notional) / sumMerge(s.volume) AS vwap,
        countMerge(s.trade_count) AS trade_count,
        uniqExact(s.exchange) AS exchanges
      FROM ${db}.${n.state} AS s
      WHERE s.bucket + ${spanS} <= now()
      GROUP BY s.symbol, s.bucket`,
  ];
}
