/**
 * Gold candles built entirely in DuckDB, exact and equal to core's
 * `goldFromTrades` / `rollupGold` (docs/recorder.md, "Gold in SQL").
 *
 * Open/close by trade id, extremes, volume, count and ids are DuckDB
 * aggregates over `DECIMAL(38,18)` / `BIGINT`, exact and cheap. Σ price ×
 * qty needs 36 fraction digits (more than any DECIMAL holds), so it is kept
 * as five same-scale HUGEINT sums of 9-digit limbs (`n0` whole × whole,
 * `n9`, `n18`, `n27`, `n36`), carried into digits here and printed as
 * core's `formatNormalized` prints them. vwap is the half-up quotient of
 * two HUGEINTs (see {@linkcode finishGoldSql}).
 *
 * Limbs come from text: turning a stored `DECIMAL(38,18)` into anything
 * costs ≈ 1 µs a value in DuckDB (a 128-bit division), against ≈ 20 ns for
 * the aggregates. So the bulk path writes each batch's limb sums per
 * (symbol, minute) into `gold_notional_1m` from the wire text it already
 * holds, and a minute whose parts count exactly its silver trades uses
 * them; any other minute (live writes, older stores) converts its silver
 * rows. DuckDB aborts a transaction on any overflow, so nothing here may
 * overflow: {@linkcode GOLD_GUARD} finds, from aggregates only, any bucket
 * whose intermediates could leave HUGEINT, and the caller builds such a
 * timeframe with core's bigint code instead.
 *
 * @module
 */

/** One minute in µs. */
const MINUTE_US = 60_000_000;

/**
 * Limb columns `<p>h` (whole, HUGEINT), `<p>a` and `<p>b` (fraction digits
 * 1–9 and 10–18, BIGINT) of plain decimal text `col` (at most 18 fraction
 * digits, no sign, no exponent).
 */
function limbsOf(col: string, p: string): string {
  return `CAST(split_part(${col}, '.', 1) AS HUGEINT) AS ${p}h,
    CAST(rpad(split_part(${col}, '.', 2), 18, '0')[1:9] AS BIGINT) AS ${p}a,
    CAST(rpad(split_part(${col}, '.', 2), 18, '0')[10:18] AS BIGINT) AS ${p}b`;
}

/** The five limb sums of Σ price × qty over rows with `ph…qb` columns. */
const LIMB_SUMS = `sum(ph * qh) AS n0, sum(ph * qa + pa * qh) AS n9,
  sum(ph * qb + pa * qa + pb * qh) AS n18, sum(pa * qb + pb * qa) AS n27,
  sum(pb * qb) AS n36`;

/**
 * A bulk batch's limb sums per (symbol, minute), from the new trades' wire
 * digits (`bulk_new`: whole parts `pw`/`qw` and the 18 fraction digits
 * `pfi`/`qfi` as BIGINT, from bulk_scan.ts); with at most 15
 * whole digits a factor (the bulk grammar), no sum of fewer than 10^8 rows
 * can overflow.
 */
export const INSERT_NOTIONAL_PARTS = `INSERT INTO gold_notional_1m
  WITH l AS (
    SELECT s_symbol, (epoch_us(ts) // ${MINUTE_US}) * ${MINUTE_US} AS b,
      CAST(pw AS HUGEINT) AS ph, pfi // 1000000000 AS pa, pfi % 1000000000 AS pb,
      CAST(qw AS HUGEINT) AS qh, qfi // 1000000000 AS qa, qfi % 1000000000 AS qb
    FROM bulk_new)
  SELECT 'kraken', s_symbol, b, count(*), ${LIMB_SUMS}
  FROM l GROUP BY s_symbol, b`;

/**
 * 1m aggregates of the staged buckets (`stage_buckets`) from silver into
 * `gold_agg` (`$1`/`$2` bound the trade times), with the maxima the guard
 * needs.
 */
export function oneMinuteAggSql(span: number): string {
  return `CREATE OR REPLACE TEMP TABLE gold_agg AS
    SELECT s.exchange, s.symbol, w.bucket_us,
      arg_min(s.price, s.exchange_trade_id) AS open, max(s.price) AS high,
      min(s.price) AS low, arg_max(s.price, s.exchange_trade_id) AS close,
      sum(s.qty) AS volume, count(*) AS n,
      min(s.exchange_trade_id) AS first_id, max(s.exchange_trade_id) AS last_id,
      max(s.qty) AS max_qty
    FROM silver_trades_data s JOIN stage_buckets w
      ON s.symbol = w.symbol AND (epoch_us(s.ts) // ${span}) * ${span} = w.bucket_us
    WHERE s.ts >= make_timestamp($1) AND s.ts < make_timestamp($2)
    GROUP BY s.exchange, s.symbol, w.bucket_us`;
}

/**
 * Limb sums of each `gold_agg` 1m bucket into `gold_limbs`: the stored
 * parts where they count exactly the bucket's silver trades (they were
 * written with those trades, in the same transactions), else the silver
 * rows' own digits (`$1`/`$2` bound the trade times).
 */
export function oneMinuteLimbsSql(span: number): string {
  return `CREATE OR REPLACE TEMP TABLE gold_limbs AS
    WITH p AS (
      SELECT g.exchange, g.symbol, g.bucket_us, sum(g.trades) AS n,
        sum(g.n0) AS n0, sum(g.n9) AS n9, sum(g.n18) AS n18,
        sum(g.n27) AS n27, sum(g.n36) AS n36
      FROM gold_notional_1m g JOIN stage_buckets w
        ON g.symbol = w.symbol AND g.bucket_us = w.bucket_us
      GROUP BY g.exchange, g.symbol, g.bucket_us),
    matched AS (
      SELECT p.exchange, p.symbol, p.bucket_us, p.n0, p.n9, p.n18, p.n27, p.n36
      FROM p JOIN gold_agg a USING (exchange, symbol, bucket_us)
      WHERE p.n = a.n),
    rest AS (
      SELECT a.exchange, a.symbol, a.bucket_us FROM gold_agg a
      ANTI JOIN matched m USING (exchange, symbol, bucket_us)),
    t AS (
      SELECT s.exchange, s.symbol, r.bucket_us,
        CAST(s.price AS VARCHAR) AS pt, CAST(s.qty AS VARCHAR) AS qt
      FROM silver_trades_data s JOIN rest r
        ON s.exchange = r.exchange AND s.symbol = r.symbol
          AND (epoch_us(s.ts) // ${span}) * ${span} = r.bucket_us
      WHERE s.ts >= make_timestamp($1) AND s.ts < make_timestamp($2)),
    l AS (SELECT exchange, symbol, bucket_us, ${limbsOf("pt", "p")},
      ${limbsOf("qt", "q")} FROM t)
    SELECT * FROM matched
    UNION ALL
    SELECT exchange, symbol, bucket_us, ${LIMB_SUMS}
    FROM l GROUP BY exchange, symbol, bucket_us`;
}

/**
 * Rollup of the finer timeframe's stored rows into `gold_agg` and
 * `gold_limbs` for the staged buckets of span `span` (`$1`/`$2` bound the
 * finer buckets). The notional text (≤ 36 fraction digits) is split into
 * the same limbs.
 */
export function rollupAggSql(finerTable: string, span: number): string[] {
  const from = `FROM ${finerTable} g JOIN stage_buckets w
      ON g.symbol = w.symbol AND (epoch_us(g.bucket) // ${span}) * ${span} = w.bucket_us
    WHERE g.bucket >= make_timestamp($1) AND g.bucket < make_timestamp($2)`;
  return [
    `CREATE OR REPLACE TEMP TABLE gold_agg AS
    SELECT g.exchange, g.symbol, w.bucket_us,
      arg_min(g.open, g.first_trade_id) AS open, max(g.high) AS high,
      min(g.low) AS low, arg_max(g.close, g.last_trade_id) AS close,
      sum(g.volume) AS volume, sum(g.trade_count) AS n,
      min(g.first_trade_id) AS first_id, max(g.last_trade_id) AS last_id,
      max(g.volume) AS max_qty
    ${from}
    GROUP BY g.exchange, g.symbol, w.bucket_us`,
    `CREATE OR REPLACE TEMP TABLE gold_limbs AS
    WITH t AS (
      SELECT g.exchange, g.symbol, w.bucket_us,
        CAST(split_part(g.notional, '.', 1) AS HUGEINT) AS w0,
        rpad(split_part(g.notional, '.', 2), 36, '0') AS f
      ${from})
    SELECT exchange, symbol, bucket_us, sum(w0) AS n0,
      sum(CAST(f[1:9] AS BIGINT)) AS n9, sum(CAST(f[10:18] AS BIGINT)) AS n18,
      sum(CAST(f[19:27] AS BIGINT)) AS n27, sum(CAST(f[28:36] AS BIGINT)) AS n36
    FROM t GROUP BY exchange, symbol, bucket_us`,
  ];
}

/**
 * How many `gold_agg` buckets could overflow HUGEINT (`unsafe`), from
 * aggregates only: the limb sums are below volume × high + count × (high
 * + max qty + 1) × 10^9 + count × 3·10^18, and vwap's numerator is
 * 2 × notional × 10^(18 + decimals) + volume × 10^18 with notional ≤
 * volume × high. Decimals above 18 do not fit `DECIMAL(38,18)`.
 */
export const GOLD_GUARD = `SELECT count(*) AS unsafe FROM (
    SELECT a.*, CAST(a.volume AS DOUBLE) AS v, CAST(a.high AS DOUBLE) AS h,
      CAST(a.max_qty AS DOUBLE) AS q, coalesce(d.d, 8) AS dd
    FROM gold_agg a LEFT JOIN gold_decimals d ON d.symbol = a.symbol)
  WHERE dd < 0 OR dd > 18 OR v >= 1e19 OR n >= 1e12
    OR v * h + n * (h + q + 1) * 1e9 >= 1e36
    OR 2 * (v * h + 1) * pow(10, 18 + dd) >= 1e38`;

/**
 * Replace the gold rows of `table` with `gold_agg` + `gold_limbs` (`$1` =
 * build time, µs): carries the limbs into nine-digit groups, prints the
 * notional like core's `formatNormalized`, and computes vwap =
 * ⌊(2·N·10^d + V) / (2·V)⌋ (half up) with N the notional × 10^36 and V
 * the volume × 10^18, as
 * ⌊(2·Nh·10^d + V + ⌊2·Nl·10^d / 10^18⌋) / (2·V)⌋ where N = Nh·10^18 + Nl
 * (⌊x/B⌋ = ⌊⌊x⌋/B⌋ for a whole B), so no product leaves HUGEINT once
 * {@linkcode GOLD_GUARD} passed.
 */
export function finishGoldSql(table: string): string {
  const e9 = "CAST(1000000000 AS HUGEINT)";
  const e18 = "CAST(1000000000000000000 AS HUGEINT)";
  return `INSERT OR REPLACE INTO ${table}
    WITH j AS (
      SELECT a.exchange, a.symbol, a.bucket_us, a.open, a.high, a.low, a.close,
        a.volume, a.n, a.first_id, a.last_id, coalesce(d.d, 8) AS dd,
        CAST('1' || repeat('0', coalesce(d.d, 8)) AS HUGEINT) AS p10,
        CAST(replace(CAST(a.volume AS VARCHAR), '.', '') AS HUGEINT) AS vv,
        l.n36 % ${e9} AS d36, l.n27 + l.n36 // ${e9} AS t27,
        l.n18, l.n9, l.n0
      FROM gold_agg a JOIN gold_limbs l USING (exchange, symbol, bucket_us)
      LEFT JOIN gold_decimals d ON d.symbol = a.symbol),
    c1 AS (SELECT *, t27 % ${e9} AS d27, n18 + t27 // ${e9} AS t18 FROM j),
    c2 AS (SELECT *, t18 % ${e9} AS d18, n9 + t18 // ${e9} AS t9 FROM c1),
    c3 AS (SELECT *, t9 % ${e9} AS d9, n0 + t9 // ${e9} AS t0 FROM c2),
    c4 AS (
      SELECT *,
        rtrim(lpad(CAST(d9 AS VARCHAR), 9, '0') || lpad(CAST(d18 AS VARCHAR), 9, '0') ||
          lpad(CAST(d27 AS VARCHAR), 9, '0') || lpad(CAST(d36 AS VARCHAR), 9, '0'), '0') AS frac,
        (2 * (t0 * ${e18} + d9 * ${e9} + d18) * p10 + vv +
          (2 * (d27 * ${e9} + d36) * p10) // ${e18}) // (2 * vv) AS u
      FROM c3)
    SELECT exchange, symbol, make_timestamp(bucket_us), open, high, low, close,
      volume,
      CAST(u // p10 AS DECIMAL(38,18)) + CASE WHEN dd = 0 THEN CAST(0 AS DECIMAL(18,18))
        ELSE CAST('0.' || lpad(CAST(u % p10 AS VARCHAR), CAST(dd AS INTEGER), '0') AS DECIMAL(18,18)) END,
      n, CAST(t0 AS VARCHAR) || CASE WHEN frac = '' THEN '' ELSE '.' || frac END,
      first_id, last_id, make_timestamp($1)
    FROM c4`;
}
