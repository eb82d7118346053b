/**
 * `krakked record validate`: proves each layer of a store, one pass/fail
 * check per property, each with its counts.
 *
 * - bronze keeps Kraken's native format (and the exact wire text: the price
 *   and quantity are found verbatim in the stored frame);
 * - silver is bronze normalized (re-derived with core's `toSilver`);
 * - gold equals a recomputation from silver by an independent builder
 *   (core/market/ohlc.ts's `TradeCandleBuilder`), and equals Kraken's REST
 *   `OHLC` for every bucket the recording covers completely;
 * - data quality: no duplicate ids, no gaps in the trade ids, timestamps
 *   ordered with the ids, positive prices and quantities, and the
 *   receive-to-silver latency percentiles against a limit;
 * - books (with the `book` channel): rebuilt at a few instants from the
 *   stored snapshots and deltas, each verified against Kraken's checksum
 *   (server/record/book.ts).
 *
 * @module
 */

import { compareDecimal } from "@krakked/core/decimal";
import {
  GOLD_TIMEFRAMES,
  type GoldTimeframe,
  spanUs,
} from "@krakked/core/record/gold";
import { toSilver } from "@krakked/core/record/silver";
import { bookRebuildCheck } from "./book.ts";
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
  type RecomputeTrade,
  restCheck,
  restTally,
  text as s,
} from "./check_kit.ts";
import type { RecordStore } from "./store.ts";

export type { CheckResult, OhlcSource } from "./check_kit.ts";

/** Options of {@linkcode validateStore}. */
export interface ValidateOptions {
  /** Market clock, ms (which buckets are closed). */
  now: () => number;
  /** REST OHLC for the comparison; omit to skip that check (it then fails as not run). */
  rest?: OhlcSource;
  /** p99 receive-to-silver limit, ms (default 250). */
  maxLatencyMs?: number;
}

/** Timeframes compared with REST `OHLC`. */
const REST_TIMEFRAMES: readonly GoldTimeframe[] = ["1m"];

const MINUTES: Record<GoldTimeframe, number> = {
  "1m": 1,
  "5m": 5,
  "15m": 15,
  "1h": 60,
  "1d": 1440,
};

/**
 * Validate a store.
 *
 * @param store The store (opened by this process).
 * @param options Clock, REST and the latency limit.
 * @returns One result per check, in a fixed order.
 */
export async function validateStore(
  store: RecordStore,
  options: ValidateOptions,
): Promise<CheckResult[]> {
  // Buckets close at the clock's time, or where the last recording stopped
  // if that was earlier: a bucket forming then was not fully recorded.
  const until = await store.recordedUntil();
  const nowUs = Math.min(options.now() * 1000, until ?? Infinity);
  const out: CheckResult[] = [];
  out.push(await bronzeNative(store));
  out.push(await silverNormalized(store));
  out.push(await goldRecomputed(store, nowUs));
  out.push(await goldMatchesRest(store, nowUs, options.rest));
  out.push(await noDuplicates(store));
  out.push(await noGaps(store));
  out.push(await orderedTimestamps(store));
  out.push(await positiveValues(store));
  out.push(await latency(store, options.maxLatencyMs ?? 250));
  out.push(await bookRebuildCheck(store));
  return out;
}

async function bronzeNative(store: RecordStore): Promise<CheckResult> {
  const rows = await store.query(
    `SELECT t.source, count(*) AS n,
       count(*) FILTER (WHERE NOT (
         (t.source = 'ws' AND t.side IN ('buy', 'sell')
           AND t.ord_type IN ('market', 'limit', '')
           AND regexp_full_match(t.timestamp, '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z'))
         OR (t.source = 'rest_backfill' AND t.side IN ('b', 's')
           AND t.ord_type IN ('m', 'l')
           AND regexp_full_match(t.timestamp, '\\d+(\\.\\d+)?'))
         ) OR NOT regexp_full_match(t.price, '\\d+(\\.\\d+)?')
           OR NOT regexp_full_match(t.qty, '\\d+(\\.\\d+)?')) AS not_native,
       count(*) FILTER (WHERE f.frame_id IS NULL) AS no_frame,
       count(*) FILTER (WHERE f.frame_id IS NOT NULL AND t.source = 'ws' AND (
         strpos(f.raw, '"price":' || t.price) = 0
         OR strpos(f.raw, '"qty":' || t.qty) = 0
         -- The id too: a frame id is a 64-bit hash of the text, so this is
         -- also what would catch two frames colliding.
         OR (strpos(f.raw, '"trade_id":' || t.trade_id || ',') = 0
           AND strpos(f.raw, '"trade_id":' || t.trade_id || '}') = 0))) AS not_verbatim
     FROM bronze_trades_kraken t
     LEFT JOIN bronze_frames_kraken f USING (frame_id)
     GROUP BY t.source ORDER BY t.source`,
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
  const ok = counts.rows! > 0 && counts.notNative === 0 &&
    counts.noFrame === 0 && counts.notVerbatim === 0;
  return check(
    "bronze_native",
    ok,
    `bronze keeps Kraken's format: ${counts.rows} rows (ws ${
      counts.ws ?? 0
    }, rest_backfill ${
      counts.rest_backfill ?? 0
    }), ${counts.notNative} not native, ${counts.notVerbatim} not verbatim in their frame, ${counts.noFrame} without a frame`,
    counts,
  );
}

async function silverNormalized(store: RecordStore): Promise<CheckResult> {
  const rows = await store.query(
    `SELECT b.symbol, b.side, b.price, b.qty, b.ord_type, b.trade_id, b.timestamp,
       b.source, s.exchange, s.symbol AS s_symbol, s.trade_id AS s_trade_id,
       s.side AS s_side, CAST(s.price AS VARCHAR) AS s_price,
       CAST(s.qty AS VARCHAR) AS s_qty, epoch_us(s.ts) AS s_ts, s.source AS s_source
     FROM bronze_trades_kraken b
     FULL OUTER JOIN silver_trades_data s
       ON s.exchange_symbol = b.symbol AND s.exchange_trade_id = b.trade_id`,
  );
  let compared = 0;
  let wrong = 0;
  let bronzeOnly = 0;
  let silverOnly = 0;
  const examples: string[] = [];
  for (const r of rows) {
    if (r.s_trade_id === null) {
      bronzeOnly++;
      examples.push(`bronze ${s(r.symbol)} ${s(r.trade_id)} has no silver row`);
      continue;
    }
    if (r.symbol === null) {
      silverOnly++;
      examples.push(`silver ${s(r.s_trade_id)} has no bronze row`);
      continue;
    }
    compared++;
    let problem: string | undefined;
    try {
      const want = toSilver({
        symbol: s(r.symbol),
        side: s(r.side),
        price: s(r.price),
        qty: s(r.qty),
        ordType: s(r.ord_type),
        tradeId: n(r.trade_id),
        timestamp: s(r.timestamp),
        receivedUs: 0,
        connectionId: "",
        source: s(r.source) === "ws" ? "ws" : "rest_backfill",
        raw: "",
      });
      if (
        want.symbol !== s(r.s_symbol) || want.tradeId !== s(r.s_trade_id) ||
        want.side !== s(r.s_side) ||
        compareDecimal(want.price, s(r.s_price)) !== 0 ||
        compareDecimal(want.qty, s(r.s_qty)) !== 0 ||
        want.tsUs !== n(r.s_ts) || want.source !== s(r.s_source)
      ) problem = `silver ${s(r.s_trade_id)} differs from its bronze row`;
    } catch (error) {
      problem = `bronze ${s(r.symbol)} ${s(r.trade_id)}: ${
        error instanceof Error ? error.message : String(error)
      }`;
    }
    if (problem !== undefined) {
      wrong++;
      examples.push(problem);
    }
  }
  return check(
    "silver_normalized",
    compared > 0 && wrong === 0 && bronzeOnly === 0 && silverOnly === 0,
    `silver is bronze normalized: ${compared} rows compared, ${wrong} wrong, ${bronzeOnly} bronze rows without silver, ${silverOnly} silver rows without bronze`,
    { compared, wrong, bronzeOnly, silverOnly },
    examples,
  );
}

async function goldRows(
  store: RecordStore,
  tf: GoldTimeframe,
): Promise<Map<string, GoldRow>> {
  const rows = await store.query(
    `SELECT symbol, epoch_us(bucket) AS b, CAST(open AS VARCHAR) AS open,
       CAST(high AS VARCHAR) AS high, CAST(low AS VARCHAR) AS low,
       CAST(close AS VARCHAR) AS close, CAST(vwap AS VARCHAR) AS vwap,
       CAST(volume AS VARCHAR) AS volume, trade_count
     FROM ohlcv_${tf}`,
  );
  const out = new Map<string, GoldRow>();
  for (const r of rows) {
    out.set(`${s(r.symbol)}|${n(r.b)}`, {
      open: s(r.open),
      high: s(r.high),
      low: s(r.low),
      close: s(r.close),
      vwap: s(r.vwap),
      volume: s(r.volume),
      count: n(r.trade_count),
    });
  }
  return out;
}

async function goldRecomputed(
  store: RecordStore,
  nowUs: number,
): Promise<CheckResult> {
  const tally: CheckTally = {
    counts: { compared: 0, wrong: 0, missing: 0, extra: 0 },
    examples: [],
  };
  const trades = await store.query(
    `SELECT symbol, exchange_trade_id AS id, CAST(price AS VARCHAR) AS price,
       CAST(qty AS VARCHAR) AS qty, epoch_us(ts) AS ts_us
     FROM silver_trades ORDER BY symbol, exchange_trade_id`,
  );
  const bySymbol = new Map<string, RecomputeTrade[]>();
  for (const t of trades) {
    const list = bySymbol.get(s(t.symbol)) ?? [];
    list.push({
      price: s(t.price),
      qty: s(t.qty),
      tsUs: n(t.ts_us),
      id: n(t.id),
    });
    bySymbol.set(s(t.symbol), list);
  }
  for (const tf of GOLD_TIMEFRAMES) {
    compareWithRecomputation(tally, tf, bySymbol, await goldRows(store, tf), {
      nowUs,
      priceDecimals: (symbol) => store.priceDecimals(symbol),
      formingInGold: false,
    });
  }
  return recomputeCheck(tally);
}

async function goldMatchesRest(
  store: RecordStore,
  nowUs: number,
  rest: OhlcSource | undefined,
): Promise<CheckResult> {
  if (rest === undefined) return restCheck(undefined);
  const tally = restTally();
  // The recording covers every bucket after the one holding its first trade
  // and ending by its last trade's time: with no id gaps, any trade in
  // those buckets is stored (its id lies between the first and the last).
  // REST is asked for 1m only: Kraken allows about one public call a
  // second, and coarser gold is checked against silver above; the same
  // comparison holds for 5m…1d (rolled up exactly from 1m).
  const ranges = await store.query(
    `SELECT symbol, epoch_us(min(ts)) AS first_us, epoch_us(max(ts)) AS last_us
     FROM silver_trades GROUP BY symbol ORDER BY symbol`,
  );
  const symbols = new Map(store.symbols.map((x) => [x.symbol, x]));
  const goldByTf = new Map<GoldTimeframe, Map<string, GoldRow>>();
  for (const r of ranges) {
    const info = symbols.get(s(r.symbol));
    if (info === undefined) continue;
    tally.counts.symbols!++;
    for (const tf of REST_TIMEFRAMES) {
      const span = spanUs(tf);
      const fromUs = Math.floor(n(r.first_us) / span) * span + span;
      const toUs = Math.min(n(r.last_us), nowUs);
      if (fromUs + span > toUs) continue;
      const gold = goldByTf.get(tf) ??
        goldByTf.set(tf, await goldRows(store, tf)).get(tf)!;
      const answer = await rest.ohlc(info.restPair, { interval: MINUTES[tf] });
      compareWithRest(
        tally,
        `${tf} ${info.symbol}`,
        answer.rows,
        { fromUs, toUs, spanUs: span },
        (startSec) => gold.get(`${info.symbol}|${startSec * 1e6}`),
      );
    }
  }
  return restCheck(tally);
}

async function noDuplicates(store: RecordStore): Promise<CheckResult> {
  const [r] = await store.query(
    `SELECT
       (SELECT count(*) FROM (SELECT trade_id FROM silver_trades GROUP BY trade_id HAVING count(*) > 1)) AS silver_dupes,
       (SELECT count(*) FROM (SELECT symbol, trade_id FROM bronze_trades_kraken GROUP BY ALL HAVING count(*) > 1)) AS bronze_dupes,
       (SELECT count(*) FROM (SELECT frame_id FROM bronze_frames_kraken GROUP BY frame_id HAVING count(*) > 1)) AS frame_dupes,
       (SELECT count(*) FROM silver_trades) AS silver_rows`,
  );
  // Frames have no key since schema 3: the writer keeps them unique (a
  // frame is stored only with a row new to bronze), and this proves it.
  const counts = {
    silverRows: n(r?.silver_rows),
    silverDuplicates: n(r?.silver_dupes),
    bronzeDuplicates: n(r?.bronze_dupes),
    frameDuplicates: n(r?.frame_dupes),
  };
  return check(
    "no_duplicates",
    counts.silverDuplicates === 0 && counts.bronzeDuplicates === 0 &&
      counts.frameDuplicates === 0,
    `no duplicate ids: ${counts.silverRows} silver rows, ${counts.silverDuplicates} duplicated in silver, ${counts.bronzeDuplicates} in bronze, ${counts.frameDuplicates} raw frames stored twice`,
    counts,
  );
}

async function noGaps(store: RecordStore): Promise<CheckResult> {
  const gaps = await store.query(
    `SELECT symbol, exchange_trade_id + 1 AS from_id, next_id - 1 AS to_id
     FROM (SELECT symbol, exchange_trade_id,
             lead(exchange_trade_id) OVER (PARTITION BY symbol ORDER BY exchange_trade_id) AS next_id
           FROM silver_trades)
     WHERE next_id > exchange_trade_id + 1 ORDER BY symbol, from_id`,
  );
  const [sym] = await store.query(
    `SELECT count(DISTINCT symbol) AS symbols FROM silver_trades`,
  );
  let missing = 0;
  for (const g of gaps) missing += n(g.to_id) - n(g.from_id) + 1;
  return check(
    "no_gaps",
    gaps.length === 0,
    `no gaps in trade ids: ${
      n(sym?.symbols)
    } symbols, ${gaps.length} gaps, ${missing} ids missing`,
    { symbols: n(sym?.symbols), gaps: gaps.length, missingIds: missing },
    gaps.map((g) => `${s(g.symbol)} ${n(g.from_id)}..${n(g.to_id)}`),
  );
}

async function orderedTimestamps(store: RecordStore): Promise<CheckResult> {
  const [r] = await store.query(
    `SELECT count(*) FILTER (WHERE ts < prev_ts) AS backwards, count(*) AS rows
     FROM (SELECT ts, lag(ts) OVER (PARTITION BY symbol ORDER BY exchange_trade_id) AS prev_ts
           FROM silver_trades)`,
  );
  const counts = { rows: n(r?.rows), backwards: n(r?.backwards) };
  return check(
    "ordered_timestamps",
    counts.backwards === 0,
    `timestamps follow trade ids: ${counts.rows} rows, ${counts.backwards} earlier than the trade before`,
    counts,
  );
}

async function positiveValues(store: RecordStore): Promise<CheckResult> {
  const [r] = await store.query(
    `SELECT count(*) FILTER (WHERE price <= 0) AS bad_price,
       count(*) FILTER (WHERE qty <= 0) AS bad_qty, count(*) AS rows
     FROM silver_trades`,
  );
  const counts = {
    rows: n(r?.rows),
    nonPositivePrices: n(r?.bad_price),
    nonPositiveQty: n(r?.bad_qty),
  };
  return check(
    "positive_values",
    counts.nonPositivePrices === 0 && counts.nonPositiveQty === 0,
    `positive prices and quantities: ${counts.rows} rows, ${counts.nonPositivePrices} prices ≤ 0, ${counts.nonPositiveQty} quantities ≤ 0`,
    counts,
  );
}

async function latency(
  store: RecordStore,
  maxMs: number,
): Promise<CheckResult> {
  const [r] = await store.query(
    `SELECT count(*) AS rows,
       quantile_disc(d, 0.5) AS p50, quantile_disc(d, 0.9) AS p90,
       quantile_disc(d, 0.99) AS p99, max(d) AS worst
     FROM (SELECT (epoch_us(silver_at) - epoch_us(received_at)) / 1000.0 AS d
           FROM silver_trades WHERE source = 'ws')`,
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
