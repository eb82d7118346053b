import assert from "node:assert/strict";
import {
  diffBooks,
  Market,
  merge,
  OHLC_INTERVALS,
} from "../../../server/sim/exchange/market.ts";
import { NOW_MS } from "../_client.ts";

Deno.test("trades are a pure function of seed, pair and time", () => {
  const a = new Market({ seed: 5, now: () => NOW_MS });
  const b = new Market({ seed: 5, now: () => NOW_MS + 3_600_000 });
  const from = NOW_MS - 3_600_000;
  const x = a.tradesBetween("XBTUSD", from, NOW_MS);
  const y = b.tradesBetween("XBT/USD", from, NOW_MS);
  assert.ok(x.length > 10);
  assert.deepEqual(x, y, "a later clock sees the same past");
  const c = new Market({ seed: 6, now: () => NOW_MS });
  assert.notDeepEqual(c.tradesBetween("XBTUSD", from, NOW_MS), x);
  assert.ok(
    x.every((t, i) =>
      i === 0 ||
      (t.tradeId === x[i - 1]!.tradeId + 1 && t.timeNs > x[i - 1]!.timeNs)
    ),
  );
  assert.deepEqual(
    a.tradesBetween("XBTUSD", NOW_MS, NOW_MS + 60_000),
    [],
    "nothing after now",
  );
});

Deno.test("candles equal aggregates of the trades they cover", () => {
  const market = new Market({ seed: 5, now: () => NOW_MS });
  for (const interval of OHLC_INTERVALS.slice(0, 6)) {
    const candles = market.candles("SOLUSD", interval, { count: 30 });
    for (const candle of candles) {
      const start = candle.time * 1000;
      const agg = market.aggregate("SOLUSD", start, start + interval * 60_000);
      assert.equal(
        candle.count,
        agg?.count ?? 0,
        `${interval}m ${candle.time}`,
      );
    }
    assert.ok(candles.at(-1)!.forming);
    assert.ok(candles.slice(0, -1).every((c) => !c.forming));
  }
  assert.throws(() => market.candles("SOLUSD", 7), RangeError);
  assert.throws(() => market.book("NOPE"), RangeError);
});

Deno.test("history starts at 00:00 UTC historyDays before the clock", () => {
  const market = new Market({ seed: 5, now: () => NOW_MS, historyDays: 2 });
  assert.equal(market.historyStartMs, Date.UTC(2025, 5, 13));
  const daily = market.candles("XBTUSD", 1440);
  assert.deepEqual(daily.map((c) => c.time * 1000), [
    Date.UTC(2025, 5, 13),
    Date.UTC(2025, 5, 14),
    Date.UTC(2025, 5, 15),
  ]);
  const page = market.tradesPage("XBTUSD", { sinceNs: 0n, count: 1 });
  assert.ok(page.trades[0]!.timeUs >= market.historyStartMs * 1000);
});

Deno.test("book() gives any depth with exact text and diffBooks() yields v2-style updates", () => {
  let now = NOW_MS;
  const market = new Market({ seed: 5, now: () => now });
  const book = market.book("XBTUSD", { depth: 1000 });
  assert.equal(book.asks.length, 1000);
  assert.equal(book.bids.length, 1000);
  assert.match(book.asks[0]!.price, /^\d+\.\d$/);
  assert.match(book.asks[0]!.qty, /^\d+\.\d{8}$/);
  const top10 = market.book("XBTUSD", { depth: 10 });
  assert.deepEqual(top10.asks, book.asks.slice(0, 10));
  const before = market.book("XBTUSD", { depth: 10, atMs: now });
  now += 30_000;
  const step = market.advance("XBTUSD", {
    fromMs: NOW_MS,
    toMs: now,
    depth: 10,
  });
  assert.deepEqual(step.changes, diffBooks(before, step.book));
  // Applying the changes to the old book and truncating gives the new book.
  for (const side of ["asks", "bids"] as const) {
    const levels = new Map(before[side].map((l) => [l.priceUnits, l.qtyUnits]));
    for (const change of step.changes[side]) {
      if (change.qtyUnits === 0) levels.delete(change.priceUnits);
      else levels.set(change.priceUnits, change.qtyUnits);
    }
    const sorted = [...levels].sort((x, y) =>
      side === "asks" ? x[0] - y[0] : y[0] - x[0]
    ).slice(0, 10);
    assert.deepEqual(
      sorted,
      step.book[side].map((l) => [l.priceUnits, l.qtyUnits]),
      side,
    );
  }
  assert.deepEqual(step.trades, market.tradesBetween("XBTUSD", NOW_MS, now));
});

Deno.test("merge() combines aggregates in time order", () => {
  const a = {
    count: 1,
    volume: 2n,
    pv: 20n,
    open: 10,
    high: 10,
    low: 10,
    close: 10,
  };
  const b = {
    count: 2,
    volume: 3n,
    pv: 24n,
    open: 9,
    high: 9,
    low: 7,
    close: 7,
  };
  assert.deepEqual(merge(a, b), {
    count: 3,
    volume: 5n,
    pv: 44n,
    open: 10,
    high: 10,
    low: 7,
    close: 7,
  });
  assert.equal(merge(undefined, a), a);
});
