/**
 * `krakked load validate`: the checks of `krakked record validate`
 * (server/record/validate.ts) on the ClickHouse layers, with the same names,
 * result shape and independent references:
 *
 * - `bronze_native`: Kraken's format, the price and quantity verbatim in
 *   the raw frame;
 * - `silver_normalized`: every silver row equals core's `toSilver` of its
 *   bronze row — the proof that the SQL of the `bronze_to_silver_kraken`
 *   view normalizes as core does;
 * - `gold_recomputed`: the gold views (materialized from silver inside
 *   ClickHouse) equal core's `TradeCandleBuilder` over silver, for every
 *   closed bucket of every timeframe;
 * - `no_duplicates` (counted on the physical rows, before any merge or
 *   FINAL: a replayed batch would show here), `no_gaps`,
 *   `ordered_timestamps`, `positive_values`, and `latency`
 *   (receive-to-silver: the recorder's receive time to the silver view's
 *   `silver_at`).
 *
 * - `gold_matches_rest_ohlc`: 1m gold equals Kraken's REST `OHLC` for every
 *   minute the recording covers completely (as `record validate`).
 * - `book_rebuild`: books rebuilt from ClickHouse's `book_snapshots` and
 *   `bronze_book_kraken` with core's `rebuildBook`, verified against the
 *   stored checksums at several instants (server/record/book.ts, the same
 *   code as `record validate`).
 *
 * @module
 */

import { compareDecimal } from "@krakked/core/decimal";
import { GOLD_TIMEFRAMES, spanUs } from "@krakked/core/record/gold";
import { toSilver } from "@krakked/core/record/silver";
import type { ClickHouseSink } from "./clickhouse.ts";
import { goldNames, sqlString } from "./clickhouse_schema.ts";
import {
  bookRebuildCheck,
  type BookRows,
  frameOf,
  precisionsOf,
  snapshotOf,
  summaryOf,
} from "./book.ts";
import {
  check,
  type CheckResult,
  type CheckTally,
  compareWithRecomputation,
  compareWithRest,
  type GoldRow,
  num as n,
  type OhlcSource,
  recomputeCheck,
  restCheck,
  restTally,
  text as s,
} from "./check_kit.ts";

/** Options of {@linkcode validateClickhouse}. */
export interface ClickhouseValidateOptions {
  /** Clock, ms: which buckets are closed (the gold views use the server's). */
  now: () => number;
  /** REST OHLC for the comparison; omit to skip that check (it then fails as not run). */
  rest?: OhlcSource;
  /** p99 receive-to-silver limit, ms (default 1,000). */
  maxLatencyMs?: number;
}

interface SilverRow {
  symbol: string;
  tradeId: string;
  id: number;
  side: string;
  price: string;
  qty: string;
  tsUs: number;
  source: string;
  original: Record<string, string>;
}

/**
 * Validate the ClickHouse layers.
 *
 * @param sink The ClickHouse.
 * @param options Clock and latency limit.
 * @returns One result per check, in `record validate`'s order.
 */
export async function validateClickhouse(
  sink: ClickHouseSink,
  options: ClickhouseValidateOptions,
): Promise<CheckResult[]> {
  const db = sink.database;
  const silver: SilverRow[] = (await sink.query(
    `SELECT symbol, trade_id, exchange_trade_id AS id, side,
       toString(price) AS price, toString(qty) AS qty,
       toUnixTimestamp64Micro(ts) AS ts_us, source, original
     FROM ${db}.silver_trades FINAL ORDER BY symbol, exchange_trade_id`,
  )).map((r) => ({
    symbol: s(r.symbol),
    tradeId: s(r.trade_id),
    id: n(r.id),
    side: s(r.side),
    price: s(r.price),
    qty: s(r.qty),
    tsUs: n(r.ts_us),
    source: s(r.source),
    original: (r.original ?? {}) as Record<string, string>,
  }));
  const out: CheckResult[] = [];
  out.push(await bronzeNative(sink));
  out.push(await silverNormalized(sink, silver));
  out.push(await goldRecomputed(sink, silver, options.now() * 1000));
  out.push(
    await goldMatchesRest(sink, silver, options.now() * 1000, options.rest),
  );
  out.push(await noDuplicates(sink));
  out.push(noGaps(silver));
  out.push(orderedTimestamps(silver));
  out.push(positiveValues(silver));
  out.push(await latency(sink, options.maxLatencyMs ?? 1_000));
  out.push(await bookRebuildCheck(clickhouseBookRows(sink)));
  return out;
}

/**
 * The book rows of the ClickHouse layers, for server/record/book.ts's
 * rebuild: read with `FINAL`, so a row a replayed batch wrote twice before
 * a merge counts once.
 *
 * @param sink The ClickHouse.
 * @returns The reader.
 */
export function clickhouseBookRows(sink: ClickHouseSink): BookRows {
  const db = sink.database;
  const snapshotColumns = `symbol, seq, stream,
    toUnixTimestamp64Micro(taken_at) AS taken_us, depth, checksum, bids, asks`;
  const bySymbol = (symbol: string) =>
    `upper(symbol) = upper(${sqlString(symbol)})`;
  return {
    async summary() {
      return (await sink.query(
        `SELECT symbol, count() AS frames,
           countIf(status = 'mismatch') AS mismatches,
           toUnixTimestamp64Micro(min(received_at)) AS first_us,
           toUnixTimestamp64Micro(max(received_at)) AS last_us
         FROM ${db}.bronze_book_kraken FINAL GROUP BY symbol ORDER BY symbol`,
      )).map(summaryOf);
    },
    async snapshotCount() {
      const [row] = await sink.query(
        `SELECT count() AS n FROM ${db}.book_snapshots FINAL`,
      );
      return n(row?.n);
    },
    async snapshotAt(symbol, seq, strict) {
      const [row] = await sink.query(
        `SELECT ${snapshotColumns} FROM ${db}.book_snapshots FINAL
         WHERE ${bySymbol(symbol)} AND seq ${strict ? "<" : "<="} ${
          Math.floor(seq)
        } ORDER BY seq DESC LIMIT 1`,
      );
      return row === undefined ? undefined : snapshotOf(row);
    },
    async snapshots(symbol) {
      return (await sink.query(
        `SELECT ${snapshotColumns} FROM ${db}.book_snapshots FINAL
         WHERE ${bySymbol(symbol)} ORDER BY seq`,
      )).map(snapshotOf);
    },
    async frames(symbol, afterSeq, throughSeq) {
      return (await sink.query(
        `SELECT seq, stream, raw, status, checksum, depth
         FROM ${db}.bronze_book_kraken FINAL
         WHERE ${bySymbol(symbol)} AND seq > ${Math.floor(afterSeq)}
           AND seq <= ${Math.floor(throughSeq)} ORDER BY seq`,
      )).map(frameOf);
    },
    async lastAt(symbol, atUs) {
      const [row] = await sink.query(
        `SELECT seq, status FROM ${db}.bronze_book_kraken FINAL
         WHERE ${bySymbol(symbol)}
           AND toUnixTimestamp64Micro(received_at) <= ${Math.floor(atUs)}
         ORDER BY seq DESC LIMIT 1`,
      );
      return row === undefined
        ? undefined
        : { seq: n(row.seq), status: s(row.status) };
    },
    async precisions(symbol) {
      const [row] = await sink.query(
        `SELECT price_decimals, volume_decimals FROM ${db}.record_symbols FINAL
         WHERE exchange = 'kraken'
           AND upper(exchange_symbol) = upper(${sqlString(symbol)})`,
      );
      return precisionsOf(row);
    },
  };
}

async function bronzeNative(sink: ClickHouseSink): Promise<CheckResult> {
  const rows = await sink.query(
    `SELECT source, count() AS n,
       countIf(NOT (
         (source = 'ws' AND side IN ('buy', 'sell')
           AND ord_type IN ('market', 'limit', '')
           AND match(timestamp, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?Z$'))
         OR (source = 'rest_backfill' AND side IN ('b', 's')
           AND ord_type IN ('m', 'l')
           AND match(timestamp, '^[0-9]+([.][0-9]+)?$')))
         OR NOT match(price, '^[0-9]+([.][0-9]+)?$')
         OR NOT match(qty, '^[0-9]+([.][0-9]+)?$')) AS not_native,
       countIf(raw = '') AS no_frame,
       countIf(raw != '' AND source = 'ws' AND (
         position(raw, concat('"price":', price)) = 0
         OR position(raw, concat('"qty":', qty)) = 0)) AS not_verbatim
     FROM ${sink.database}.bronze_trades_kraken FINAL
     GROUP BY source ORDER BY source`,
  );
  const counts: Record<string, number> = {
    rows: 0,
    notNative: 0,
    noFrame: 0,
    notVerbatim: 0,
  };
  for (const r of rows) {
    counts[s(r.source)] = n(r.n);
    counts.rows! += n(r.n);
    counts.notNative! += n(r.not_native);
    counts.noFrame! += n(r.no_frame);
    counts.notVerbatim! += n(r.not_verbatim);
  }
  return check(
    "bronze_native",
    counts.rows! > 0 && counts.notNative === 0 && counts.noFrame === 0 &&
      counts.notVerbatim === 0,
    `bronze keeps Kraken's format: ${counts.rows} rows (ws ${
      counts.ws ?? 0
    }, rest_backfill ${
      counts.rest_backfill ?? 0
    }), ${counts.notNative} not native, ${counts.notVerbatim} not verbatim in their frame, ${counts.noFrame} without a frame`,
    counts,
  );
}

async function silverNormalized(
  sink: ClickHouseSink,
  silver: readonly SilverRow[],
): Promise<CheckResult> {
  const bronze = await sink.query(
    `SELECT symbol, side, price, qty, ord_type, trade_id, timestamp, source
     FROM ${sink.database}.bronze_trades_kraken FINAL`,
  );
  const bySource = new Map<string, SilverRow>();
  for (const r of silver) {
    bySource.set(`${r.original.symbol}\u0000${r.id}`, r);
  }
  let compared = 0;
  let wrong = 0;
  let bronzeOnly = 0;
  const examples: string[] = [];
  const matched = new Set<SilverRow>();
  for (const b of bronze) {
    const got = bySource.get(`${s(b.symbol)}\u0000${n(b.trade_id)}`);
    if (got === undefined) {
      bronzeOnly++;
      examples.push(`bronze ${s(b.symbol)} ${s(b.trade_id)} has no silver row`);
      continue;
    }
    matched.add(got);
    compared++;
    let problem: string | undefined;
    try {
      const want = toSilver({
        symbol: s(b.symbol),
        side: s(b.side),
        price: s(b.price),
        qty: s(b.qty),
        ordType: s(b.ord_type),
        tradeId: n(b.trade_id),
        timestamp: s(b.timestamp),
        receivedUs: 0,
        connectionId: "",
        source: s(b.source) === "ws" ? "ws" : "rest_backfill",
        raw: "",
      });
      const originalSame = Object.entries(want.original).every(([k, v]) =>
        got.original[k] === v
      );
      if (
        want.symbol !== got.symbol || want.tradeId !== got.tradeId ||
        want.side !== got.side || compareDecimal(want.price, got.price) !== 0 ||
        compareDecimal(want.qty, got.qty) !== 0 || want.tsUs !== got.tsUs ||
        want.source !== got.source || !originalSame
      ) problem = `silver ${got.tradeId} differs from its bronze row`;
    } catch (error) {
      problem = `bronze ${s(b.symbol)} ${s(b.trade_id)}: ${
        error instanceof Error ? error.message : String(error)
      }`;
    }
    if (problem !== undefined) {
      wrong++;
      examples.push(problem);
    }
  }
  const silverOnly = silver.length - matched.size;
  return check(
    "silver_normalized",
    compared > 0 && wrong === 0 && bronzeOnly === 0 && silverOnly === 0,
    `silver is bronze normalized: ${compared} rows compared, ${wrong} wrong, ${bronzeOnly} bronze rows without silver, ${silverOnly} silver rows without bronze`,
    { compared, wrong, bronzeOnly, silverOnly },
    examples,
  );
}

async function goldRecomputed(
  sink: ClickHouseSink,
  silver: readonly SilverRow[],
  nowUs: number,
): Promise<CheckResult> {
  const tally: CheckTally = {
    counts: { compared: 0, wrong: 0, missing: 0, extra: 0 },
    examples: [],
  };
  const decimals = new Map<string, number>();
  for (
    const r of await sink.query(
      `SELECT symbol, price_decimals FROM ${sink.database}.record_symbols FINAL`,
    )
  ) decimals.set(s(r.symbol), n(r.price_decimals));
  const bySymbol = new Map<string, SilverRow[]>();
  for (const t of silver) {
    const list = bySymbol.get(t.symbol) ?? [];
    list.push(t);
    bySymbol.set(t.symbol, list);
  }
  for (const tf of GOLD_TIMEFRAMES) {
    const gold = new Map<string, GoldRow>();
    for (
      const r of await sink.query(
        `SELECT symbol, toUnixTimestamp(bucket) AS b, toString(open) AS open,
           toString(high) AS high, toString(low) AS low,
           toString(close) AS close, toString(vwap) AS vwap,
           toString(volume) AS volume, trade_count
         FROM ${sink.database}.${goldNames(tf).view}`,
      )
    ) {
      gold.set(`${s(r.symbol)}|${n(r.b) * 1_000_000}`, {
        open: s(r.open),
        high: s(r.high),
        low: s(r.low),
        close: s(r.close),
        vwap: s(r.vwap),
        volume: s(r.volume),
        count: n(r.trade_count),
      });
    }
    compareWithRecomputation(tally, tf, bySymbol, gold, {
      nowUs,
      priceDecimals: (symbol) => decimals.get(symbol) ?? 8,
      // The views close buckets by the server's clock: a bucket still
      // forming by this clock is not compared.
      formingInGold: true,
    });
  }
  return recomputeCheck(tally);
}

async function goldMatchesRest(
  sink: ClickHouseSink,
  silver: readonly SilverRow[],
  nowUs: number,
  rest: OhlcSource | undefined,
): Promise<CheckResult> {
  if (rest === undefined) return restCheck(undefined);
  const tally = restTally();
  const db = sink.database;
  const pairs = new Map<string, string>();
  for (
    const r of await sink.query(
      `SELECT symbol, rest_pair FROM ${db}.record_symbols FINAL`,
    )
  ) pairs.set(s(r.symbol), s(r.rest_pair));
  // First and last trade time per symbol (silver is ordered by symbol, id).
  const ranges = new Map<string, { first: number; last: number }>();
  for (const t of silver) {
    const range = ranges.get(t.symbol);
    if (range === undefined) {
      ranges.set(t.symbol, { first: t.tsUs, last: t.tsUs });
    } else {
      range.first = Math.min(range.first, t.tsUs);
      range.last = Math.max(range.last, t.tsUs);
    }
  }
  const gold = new Map<string, GoldRow>();
  for (
    const r of await sink.query(
      `SELECT symbol, toUnixTimestamp(bucket) AS b, toString(open) AS open,
         toString(high) AS high, toString(low) AS low,
         toString(close) AS close, toString(vwap) AS vwap,
         toString(volume) AS volume, trade_count
       FROM ${db}.${goldNames("1m").view}`,
    )
  ) {
    gold.set(`${s(r.symbol)}|${n(r.b)}`, {
      open: s(r.open),
      high: s(r.high),
      low: s(r.low),
      close: s(r.close),
      vwap: s(r.vwap),
      volume: s(r.volume),
      count: n(r.trade_count),
    });
  }
  // The recording covers every minute after the one of its first trade
  // and ending by its last trade (no gaps: checked above).
  const span = spanUs("1m");
  for (const [symbol, range] of ranges) {
    const restPair = pairs.get(symbol);
    if (restPair === undefined) continue;
    const fromUs = Math.floor(range.first / span) * span + span;
    const toUs = Math.min(range.last, nowUs);
    if (fromUs + span > toUs) continue;
    tally.counts.symbols!++;
    const answer = await rest.ohlc(restPair, { interval: 1 });
    compareWithRest(
      tally,
      `1m ${symbol}`,
      answer.rows,
      { fromUs, toUs, spanUs: span },
      (startSec) => gold.get(`${symbol}|${startSec}`),
    );
  }
  return restCheck(tally);
}

async function noDuplicates(sink: ClickHouseSink): Promise<CheckResult> {
  const db = sink.database;
  const [r] = await sink.query(
    `SELECT
       (SELECT count() FROM (SELECT trade_id FROM ${db}.silver_trades GROUP BY trade_id HAVING count() > 1)) AS silver_dupes,
       (SELECT count() FROM (SELECT symbol, trade_id FROM ${db}.bronze_trades_kraken GROUP BY symbol, trade_id HAVING count() > 1)) AS bronze_dupes,
       (SELECT count() FROM ${db}.silver_trades) AS silver_rows`,
  );
  const counts = {
    silverRows: n(r?.silver_rows),
    silverDuplicates: n(r?.silver_dupes),
    bronzeDuplicates: n(r?.bronze_dupes),
  };
  return check(
    "no_duplicates",
    counts.silverDuplicates === 0 && counts.bronzeDuplicates === 0,
    `no duplicate ids: ${counts.silverRows} silver rows, ${counts.silverDuplicates} duplicated in silver, ${counts.bronzeDuplicates} in bronze (physical rows, no FINAL)`,
    counts,
  );
}

function noGaps(silver: readonly SilverRow[]): CheckResult {
  const examples: string[] = [];
  const symbols = new Set<string>();
  let gaps = 0;
  let missing = 0;
  for (let i = 0; i < silver.length; i++) {
    const t = silver[i]!;
    symbols.add(t.symbol);
    const prev = silver[i - 1];
    if (prev !== undefined && prev.symbol === t.symbol && t.id > prev.id + 1) {
      gaps++;
      missing += t.id - prev.id - 1;
      examples.push(`${t.symbol} ${prev.id + 1}..${t.id - 1}`);
    }
  }
  return check(
    "no_gaps",
    gaps === 0,
    `no gaps in trade ids: ${symbols.size} symbols, ${gaps} gaps, ${missing} ids missing`,
    { symbols: symbols.size, gaps, missingIds: missing },
    examples,
  );
}

function orderedTimestamps(silver: readonly SilverRow[]): CheckResult {
  let backwards = 0;
  for (let i = 1; i < silver.length; i++) {
    const t = silver[i]!;
    const prev = silver[i - 1]!;
    if (prev.symbol === t.symbol && t.tsUs < prev.tsUs) backwards++;
  }
  return check(
    "ordered_timestamps",
    backwards === 0,
    `timestamps follow trade ids: ${silver.length} rows, ${backwards} earlier than the trade before`,
    { rows: silver.length, backwards },
  );
}

function positiveValues(silver: readonly SilverRow[]): CheckResult {
  let badPrice = 0;
  let badQty = 0;
  for (const t of silver) {
    if (compareDecimal(t.price, "0") <= 0) badPrice++;
    if (compareDecimal(t.qty, "0") <= 0) badQty++;
  }
  return check(
    "positive_values",
    badPrice === 0 && badQty === 0,
    `positive prices and quantities: ${silver.length} rows, ${badPrice} prices ≤ 0, ${badQty} quantities ≤ 0`,
    {
      rows: silver.length,
      nonPositivePrices: badPrice,
      nonPositiveQty: badQty,
    },
  );
}

async function latency(
  sink: ClickHouseSink,
  maxMs: number,
): Promise<CheckResult> {
  const [r] = await sink.query(
    `SELECT count() AS rows,
       quantileExact(0.5)(d) AS p50, quantileExact(0.9)(d) AS p90,
       quantileExact(0.99)(d) AS p99, max(d) AS worst
     FROM (SELECT toInt64(toUnixTimestamp64Micro(silver_at) - toUnixTimestamp64Micro(received_at)) / 1000 AS d
           FROM ${sink.database}.silver_trades WHERE source = 'ws')`,
  );
  const counts = {
    rows: n(r?.rows),
    p50Ms: Math.round(n(r?.p50)),
    p90Ms: Math.round(n(r?.p90)),
    p99Ms: Math.round(n(r?.p99)),
    maxMs: Math.round(n(r?.worst)),
  };
  return check(
    "latency",
    counts.rows > 0 && counts.p99Ms <= maxMs,
    `receive-to-silver latency over ${counts.rows} WS trades: p50 ${counts.p50Ms} ms, p90 ${counts.p90Ms} ms, p99 ${counts.p99Ms} ms (limit ${maxMs}), max ${counts.maxMs} ms`,
    counts,
  );
}
