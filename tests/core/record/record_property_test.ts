/**
 * Property tests of the recorder core: random trade streams delivered with
 * dropped, replayed and reordered frames and reconnect snapshots, healed by
 * a REST `Trades` backfill from the truth, always end with every trade
 * exactly once, no gap, and gold equal to a recomputation.
 */
import assert from "node:assert/strict";
import { TradeCandleBuilder } from "../../../core/market/ohlc.ts";
import { canonicalDecimal, formatScaled } from "../../../core/decimal.ts";
import { backfillCursor, missingIds } from "../../../core/record/gaps.ts";
import {
  GOLD_TIMEFRAMES,
  type GoldCandle,
  goldFromTrades,
  rollupGold,
} from "../../../core/record/gold.ts";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import {
  formatTimestampUs,
  type SilverTrade,
} from "../../../core/record/silver.ts";
import type { TradeRow } from "../../../core/rest/types.ts";
import { prng } from "../../fakes/prng.ts";

interface Pair {
  symbol: string;
  canonical: string;
  priceDecimals: number;
}

const PAIRS: Pair[] = [
  { symbol: "BTC/USD", canonical: "BTC/USD", priceDecimals: 1 },
  { symbol: "XBT/EUR", canonical: "BTC/EUR", priceDecimals: 1 },
  { symbol: "DOGE/USD", canonical: "DOGE/USD", priceDecimals: 7 },
];

interface TruthTrade {
  symbol: string;
  id: number;
  tsUs: number;
  priceUnits: bigint;
  qtyUnits: bigint;
  side: "buy" | "sell";
  ordType: "market" | "limit";
  priceDecimals: number;
}

function generate(random: () => number, count: number): TruthTrade[] {
  const out: TruthTrade[] = [];
  for (const pair of PAIRS) {
    let id = 1 + Math.floor(random() * 1e6);
    let tsUs = Date.UTC(2026, 0, 1) * 1000 + Math.floor(random() * 3.6e9);
    let price = BigInt(1 + Math.floor(random() * 1e6));
    for (let i = 0; i < count; i++) {
      // Bursts share a microsecond; quiet spells skip minutes.
      const r = random();
      tsUs += r < 0.2
        ? 0
        : r < 0.9
        ? Math.floor(random() * 20e6)
        : Math.floor(random() * 600e6);
      price += BigInt(Math.floor(random() * 21) - 10);
      if (price < 1n) price = 1n;
      out.push({
        symbol: pair.symbol,
        id: id++,
        tsUs,
        priceUnits: price,
        qtyUnits: BigInt(1 + Math.floor(random() * 5e8)),
        side: random() < 0.5 ? "buy" : "sell",
        ordType: random() < 0.5 ? "market" : "limit",
        priceDecimals: pair.priceDecimals,
      });
    }
  }
  return out;
}

function wsRow(t: TruthTrade): string {
  // Numbers at full precision with trailing zeros, as Kraken prints them.
  return `{"symbol":"${t.symbol}","side":"${t.side}","price":${
    formatScaled(t.priceUnits, t.priceDecimals)
  },"qty":${
    formatScaled(t.qtyUnits, 8)
  },"ord_type":"${t.ordType}","trade_id":${t.id},"timestamp":"${
    formatTimestampUs(t.tsUs)
  }"}`;
}

function wsFrame(type: "snapshot" | "update", trades: TruthTrade[]): string {
  return `{"channel":"trade","type":"${type}","data":[${
    trades.map(wsRow).join(",")
  }]}`;
}

/** REST `Trades` over the truth: trades after `since` ns, `count` per page. */
function restTrades(
  truth: TruthTrade[],
  symbol: string,
  since: string,
  count: number,
) {
  const sinceNs = BigInt(since);
  const trades = truth.filter((t) =>
    t.symbol === symbol && BigInt(t.tsUs) * 1000n > sinceNs
  )
    .slice(0, count);
  const rows: TradeRow[] = trades.map((t) => [
    formatScaled(
      t.priceUnits * 10n ** BigInt(Math.max(5 - t.priceDecimals, 0)),
      Math.max(t.priceDecimals, 5),
    ),
    formatScaled(t.qtyUnits, 8),
    t.tsUs / 1e6,
    t.side === "buy" ? "b" : "s",
    t.ordType === "market" ? "m" : "l",
    "",
    t.id,
  ]);
  const last = trades.length === 0
    ? since
    : (BigInt(trades.at(-1)!.tsUs) * 1000n).toString();
  return { pair: `REST${symbol}`, rows, last };
}

interface Run {
  silver: Map<string, SilverTrade>;
  bronzeKeys: Map<string, number>;
  written: number;
}

/** Deliver the truth with faults, heal gaps from REST, store by id (first wins). */
function record(
  truth: TruthTrade[],
  random: () => number,
  pageSize: number,
): Run {
  const recorder = new TradeRecorder();
  const run: Run = { silver: new Map(), bronzeKeys: new Map(), written: 0 };
  const store = (
    batch: {
      bronze: { symbol: string; tradeId: number }[];
      silver: SilverTrade[];
    },
  ) => {
    for (const b of batch.bronze) {
      const key = `${b.symbol}|${b.tradeId}`;
      run.bronzeKeys.set(key, (run.bronzeKeys.get(key) ?? 0) + 1);
    }
    for (const s of batch.silver) {
      run.written++;
      if (!run.silver.has(s.tradeId)) run.silver.set(s.tradeId, s);
    }
  };
  let socket = 1;
  let now = 0;
  // Frames of 1–5 trades, interleaving pairs in time order.
  const ordered = [...truth].sort((a, b) => a.tsUs - b.tsUs || a.id - b.id);
  const frames: TruthTrade[][] = [];
  for (let i = 0; i < ordered.length;) {
    const symbol = ordered[i]!.symbol;
    const n = 1 + Math.floor(random() * 5);
    const frame: TruthTrade[] = [];
    while (
      i < ordered.length && frame.length < n && ordered[i]!.symbol === symbol
    ) {
      frame.push(ordered[i++]!);
    }
    frames.push(frame);
  }
  // A recording starts at the first trade it sees and ends at the last, so
  // each pair's first and last frames arrive; any other may be lost.
  const firstFrameOf = new Map<string, number>();
  const lastFrameOf = new Map<string, number>();
  frames.forEach((f, i) => {
    if (!firstFrameOf.has(f[0]!.symbol)) firstFrameOf.set(f[0]!.symbol, i);
    lastFrameOf.set(f[0]!.symbol, i);
  });
  const deliver = (text: string) => {
    const batch = recorder.onFrame(text, socket, now++);
    store(batch);
    for (const gap of batch.gaps) {
      let cursor = backfillCursor(gap);
      for (let pages = 0; pages < 10_000; pages++) {
        const page = restTrades(truth, gap.symbol, cursor, pageSize);
        const step = recorder.onBackfillPage(gap, page, {
          cursor,
          receivedUs: now++,
        });
        store(step);
        if (step.state !== "more") break;
        cursor = step.next;
      }
    }
  };
  let held: string | undefined;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    const text = wsFrame("update", frame);
    const mustArrive = lastFrameOf.get(frame[0]!.symbol) === i ||
      firstFrameOf.get(frame[0]!.symbol) === i;
    const r = random();
    if (r < 0.08 && !mustArrive) continue; // dropped
    if (r < 0.12) {
      deliver(text);
      deliver(text); // replayed
      continue;
    }
    if (r < 0.16 && !mustArrive && held === undefined) {
      held = text; // delivered late, after the next frame
      continue;
    }
    if (r < 0.18) {
      // Reconnect: a new socket and a snapshot of recent trades.
      socket++;
      deliver(
        `{"channel":"status","type":"update","data":[{"system":"online","connection_id":${socket}}]}`,
      );
      const recent = ordered.filter((t) =>
        t.symbol === frame[0]!.symbol && t.id < frame[0]!.id
      )
        .slice(-50);
      if (recent.length > 0) deliver(wsFrame("snapshot", recent));
    }
    deliver(text);
    if (held !== undefined) {
      deliver(held);
      held = undefined;
    }
  }
  if (held !== undefined) deliver(held);
  return run;
}

function recomputed(truth: TruthTrade[], pair: Pair): GoldCandle[] {
  // Independent oracle: core/market/ohlc.ts's builder on REST-shaped rows.
  const out: GoldCandle[] = [];
  const trades = truth.filter((t) => t.symbol === pair.symbol).sort((a, b) =>
    a.id - b.id
  );
  const builder = new TradeCandleBuilder("1m", {
    priceDecimals: pair.priceDecimals,
    volumeDecimals: 8,
    fillEmpty: false,
  });
  for (const t of trades) {
    builder.add([
      formatScaled(t.priceUnits, t.priceDecimals),
      formatScaled(t.qtyUnits, 8),
      t.tsUs / 1e6,
      t.side === "buy" ? "b" : "s",
      "m",
      "",
      t.id,
    ]);
  }
  for (const c of builder.flush()) {
    out.push({
      exchange: "kraken",
      symbol: pair.canonical,
      timeframe: "1m",
      bucketStartUs: c.openTimeSec * 1e6,
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
      volume: c.volume,
      notional: "",
      vwap: c.vwap,
      count: c.count,
      firstTradeId: 0,
      lastTradeId: 0,
    });
  }
  return out;
}

function comparable(c: GoldCandle): unknown[] {
  const n = canonicalDecimal;
  return [
    c.symbol,
    c.bucketStartUs,
    n(c.open),
    n(c.high),
    n(c.low),
    n(c.close),
    n(c.vwap),
    n(c.volume),
    c.count,
  ];
}

const decimalsOf = (symbol: string) =>
  PAIRS.find((p) => p.canonical === symbol)!.priceDecimals;

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  Deno.test(`recorder core, seed ${seed}: faults and backfill end with every trade once, no gap, gold = recomputation`, () => {
    const random = prng(seed);
    const truth = generate(random, 400);
    const run = record(truth, random, 1 + Math.floor(random() * 60));
    // Exactly the truth's ids, each once.
    const want = new Set(
      truth.map((t) =>
        `kraken:${PAIRS.find((p) => p.symbol === t.symbol)!.canonical}:${t.id}`
      ),
    );
    assert.equal(run.silver.size, want.size);
    for (const id of want) assert.ok(run.silver.has(id), `missing ${id}`);
    for (const pair of PAIRS) {
      const ids = [...run.silver.values()].filter((s) =>
        s.symbol === pair.canonical
      )
        .map((s) => s.exchangeTradeId);
      assert.deepEqual(missingIds(ids), [], `gap in ${pair.symbol}`);
    }
    // Something was replayed or refetched, so dedupe did real work.
    assert.ok(
      run.written > run.silver.size,
      "the faults delivered no duplicate",
    );
    // Silver equals the truth, whichever source delivered each trade.
    for (const t of truth) {
      const pair = PAIRS.find((p) => p.symbol === t.symbol)!;
      const s = run.silver.get(`kraken:${pair.canonical}:${t.id}`)!;
      assert.equal(s.tsUs, t.tsUs);
      assert.equal(
        Number(s.price),
        Number(formatScaled(t.priceUnits, t.priceDecimals)),
      );
      assert.equal(s.side, t.side === "buy" ? "BUY" : "SELL");
    }
    // Gold 1m equals the independent recomputation, for every pair.
    const silver = [...run.silver.values()];
    const oneMinute = goldFromTrades(silver, {
      timeframe: "1m",
      priceDecimals: decimalsOf,
    });
    const oracle = PAIRS.flatMap((p) => recomputed(truth, p))
      .sort((a, b) =>
        a.symbol < b.symbol
          ? -1
          : a.symbol > b.symbol
          ? 1
          : a.bucketStartUs - b.bucketStartUs
      );
    assert.deepEqual(oneMinute.map(comparable), oracle.map(comparable));
    // Coarser gold: rolled up from 1m equals built from trades; input order does not matter.
    const shuffled = [...silver].sort(() => random() - 0.5);
    for (const timeframe of GOLD_TIMEFRAMES.slice(1)) {
      const direct = goldFromTrades(shuffled, {
        timeframe,
        priceDecimals: decimalsOf,
      });
      assert.deepEqual(
        rollupGold(oneMinute, { timeframe, priceDecimals: decimalsOf }),
        direct,
        timeframe,
      );
    }
  });
}
