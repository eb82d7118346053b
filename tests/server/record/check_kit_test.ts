/**
 * `gold_recomputed` (check_kit.ts): gold is judged against an independent
 * recomputation from silver. Gold keeps open/high/low/close and volume
 * exact and rounds only vwap to the pair's decimals, so a trade priced
 * more precisely than the pair's decimals must not make a correct bucket
 * "wrong", and a bucket that differs in any digit, in any field, must be.
 */
import assert from "node:assert/strict";
import {
  GOLD_TIMEFRAMES,
  goldFromTrades,
  type GoldTimeframe,
} from "@krakked/core/record/gold";
import type { SilverTrade } from "@krakked/core/record/silver";
import {
  compareWithRecomputation,
  type GoldRow,
  recomputeCheck,
  type RecomputeTrade,
  restTally,
} from "../../../server/record/check_kit.ts";

const T0 = Date.UTC(2026, 0, 1) * 1000;
const DAY_US = 86_400e6;

/** Trades of BTC/USD (pair decimals 1) with 0–18 decimal prices. */
function trades(seed: number, n: number): SilverTrade[] {
  let a = seed;
  const random = () => {
    a = (a * 1_103_515_245 + 12_345) % 2 ** 31;
    return a / 2 ** 31;
  };
  const out: SilverTrade[] = [];
  for (let i = 1; i <= n; i++) {
    const digits = Math.floor(random() * 19);
    const frac = String(Math.floor(random() * 1e9)).padStart(9, "0")
      .repeat(2).slice(0, digits);
    const price = `${60_000 + Math.floor(random() * 500)}${
      digits > 0 ? `.${frac}` : ""
    }`;
    const qty = `0.${String(1 + Math.floor(random() * 99_999_999))}`;
    out.push({
      exchange: "kraken",
      symbol: "BTC/USD",
      tradeId: `kraken:BTC/USD:${i}`,
      exchangeTradeId: i,
      side: random() < 0.5 ? "BUY" : "SELL",
      price,
      qty,
      tsUs: T0 + Math.floor(i * 7.3e6),
      receivedUs: 0,
      source: "ws",
      original: {},
    } as SilverTrade);
  }
  return out;
}

function goldOf(list: SilverTrade[], tf: GoldTimeframe): Map<string, GoldRow> {
  return new Map(
    goldFromTrades(list, { timeframe: tf, priceDecimals: () => 1 }).map((
      c,
    ) => [`${c.symbol}|${c.bucketStartUs}`, {
      open: c.open,
      high: c.high,
      low: c.low,
      close: c.close,
      vwap: c.vwap,
      volume: c.volume,
      count: c.count,
    }]),
  );
}

function compare(
  list: SilverTrade[],
  gold: Map<string, GoldRow>,
  tf: GoldTimeframe,
) {
  const tally = restTally();
  const bySymbol = new Map<string, RecomputeTrade[]>([[
    "BTC/USD",
    list.map((t) => ({
      price: t.price,
      qty: t.qty,
      tsUs: t.tsUs,
      id: t.exchangeTradeId,
    })),
  ]]);
  compareWithRecomputation(tally, tf, bySymbol, gold, {
    nowUs: T0 + 3 * DAY_US,
    priceDecimals: () => 1,
    formingInGold: false,
  });
  return tally;
}

for (const tf of GOLD_TIMEFRAMES) {
  Deno.test(`gold_recomputed ${tf}: over-precise prices are not wrong`, () => {
    const list = trades(11, 600);
    assert.ok(list.some((t) => (t.price.split(".")[1]?.length ?? 0) > 10));
    const tally = compare(list, goldOf(list, tf), tf);
    assert.equal(tally.counts.wrong, 0, tally.examples.join("\n"));
    assert.equal(tally.counts.missing, 0);
    assert.equal(tally.counts.extra, 0);
    assert.ok(tally.counts.compared! > 0);
    assert.equal(recomputeCheck(tally).ok, true);
  });
}

Deno.test("gold_recomputed: a change in any field, at any digit, is wrong", () => {
  const list = trades(5, 300);
  const fields = ["open", "high", "low", "close", "vwap", "volume"] as const;
  for (const field of fields) {
    const gold = goldOf(list, "1m");
    const [key, row] = [...gold].find(([, r]) => r[field].includes("."))!;
    // The last digit, however deep: beyond the pair's one decimal too.
    const text = row[field];
    const last = Number(text.at(-1));
    gold.set(key, {
      ...row,
      [field]: `${text.slice(0, -1)}${(last + 1) % 10}`,
    });
    const tally = compare(list, gold, "1m");
    assert.equal(tally.counts.wrong, 1, `${field}: ${tally.examples}`);
    assert.equal(recomputeCheck(tally).ok, false);
  }
  const gold = goldOf(list, "1m");
  const [key, row] = [...gold][0]!;
  gold.set(key, { ...row, count: row.count + 1 });
  assert.equal(compare(list, gold, "1m").counts.wrong, 1, "count");
});

Deno.test("gold_recomputed: a missing bucket and a bucket with no trades are counted", () => {
  const list = trades(7, 200);
  const gold = goldOf(list, "5m");
  const [first] = gold.keys();
  gold.delete(first!);
  gold.set(`BTC/USD|${T0 + DAY_US}`, gold.values().next().value!);
  const tally = compare(list, gold, "5m");
  assert.equal(tally.counts.missing, 1);
  assert.equal(tally.counts.extra, 1);
  assert.equal(recomputeCheck(tally).ok, false);
});
