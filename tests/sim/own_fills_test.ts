/**
 * The simulator's own fills are part of the public market (issue 15): a
 * market buy through REST shows in public `Trades`, `OHLC` and ticker
 * volume with the trade id its `TradesHistory` row carries (one sequence),
 * takes the liquidity it walked from the book, and the book refills.
 */

import assert from "node:assert/strict";
import { startSimulator } from "@krakked/sim";
import { Market } from "../../server/sim/exchange/market.ts";
import { emptyDemand, WsFeed } from "../../server/sim/ws/feed.ts";
import { privateCall, publicCall, TestClock, units } from "./_client.ts";

Deno.test("an own market buy is on the public tape, in OHLC and ticker volume, and moves the book", async () => {
  const clock = new TestClock();
  await using sim = await startSimulator({
    seed: 21,
    now: clock.now,
    engine: { tickMs: 0 },
  });
  const creds = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  sim.account.deposit("ZUSD", 10_000_000_000n, clock.ms - 1);
  clock.advance(5);

  const depth = async () =>
    (await publicCall(sim.url, "Depth", { pair: "XBTUSD", count: "20" }))
      .result.XXBTZUSD as { asks: [string, string, number][] };
  const ticker = async () =>
    (await publicCall(sim.url, "Ticker", { pair: "XBTUSD" })).result.XXBTZUSD;
  const ohlc = async () =>
    (await publicCall(sim.url, "OHLC", { pair: "XBTUSD", interval: "1" }))
      .result.XXBTZUSD as string[][];

  const before = await depth();
  const tickerBefore = await ticker();
  const candleBefore = (await ohlc()).at(-1)!;
  // Walk the best ask and half of the second level. REST Depth prints
  // volumes at 3 decimals as Kraken does; the exact level sizes come from
  // the simulator's own book.
  const exact = () =>
    sim.market.book("XBTUSD", { depth: 20, atMs: clock.ms }).asks;
  const exactBefore = exact();
  assert.equal(
    units(before.asks[0]![0], 5),
    BigInt(exactBefore[0]!.priceUnits) * 10_000n,
    "REST Depth shows the same book",
  );
  const a0 = BigInt(exactBefore[0]!.qtyUnits);
  const a1 = BigInt(exactBefore[1]!.qtyUnits);
  const volume = a0 + a1 / 2n;
  const volumeText = (Number(volume) / 1e8).toFixed(8);

  const placed = await privateCall(sim.url, "AddOrder", {
    pair: "XBTUSD",
    type: "buy",
    ordertype: "market",
    volume: volumeText,
  }, creds);
  assert.deepEqual(placed.error, []);
  const txid = placed.result.txid[0] as string;

  const history = await privateCall(sim.url, "TradesHistory", {}, creds);
  const own = Object.values(
    history.result.trades as Record<string, Record<string, unknown>>,
  ).filter((t) => t.ordertxid === txid);
  assert.equal(own.length, 2, "two levels walked, two fills");

  const trades = await publicCall(sim.url, "Trades", {
    pair: "XBTUSD",
    count: "50",
  });
  const rows = trades.result.XXBTZUSD as unknown[][];
  for (const fill of own) {
    const row = rows.find((r) => r[6] === fill.trade_id);
    assert.ok(row, `public trade ${fill.trade_id} of the own fill`);
    assert.equal(
      units(String(row[0]), 5),
      units(String(fill.price), 1) * 10_000n,
    );
    assert.equal(row[1], fill.vol);
    assert.equal(row[3], "b");
    assert.equal(row[4], "m");
  }
  // One id sequence: contiguous over the window, the fills in it.
  const ids = rows.map((r) => r[6] as number);
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);

  const tickerAfter = await ticker();
  const grew = units(tickerAfter.v[1], 8) - units(tickerBefore.v[1], 8);
  assert.ok(grew >= volume, `24 h volume grew by the fills (${grew})`);
  assert.ok(tickerAfter.t[1] >= tickerBefore.t[1] + 2);
  assert.equal(tickerAfter.c[0], rows.at(-1)![0], "last trade is the fill");

  const candleAfter = (await ohlc()).at(-1)!;
  if (candleAfter[0] === candleBefore[0]) {
    assert.ok(
      units(candleAfter[6]!, 8) - units(candleBefore[6]!, 8) >= volume,
      "the forming candle holds the fills",
    );
  }

  // The book lost the first level and part of the second.
  const after = await depth();
  assert.notEqual(after.asks[0]![0], before.asks[0]![0]);
  assert.equal(after.asks[0]![0], before.asks[1]![0]);
  assert.equal(BigInt(exact()[0]!.qtyUnits) < a1, true);

  // It refills: after ten refill time constants the book is the pure
  // model's again (a fresh simulator with no own fills).
  clock.advance(10 * sim.market.profile("XBTUSD").refillMs + 1000);
  const later = await depth();
  await using fresh = await startSimulator({
    seed: 21,
    now: clock.now,
    engine: false,
  });
  const pure = (await publicCall(fresh.url, "Depth", {
    pair: "XBTUSD",
    count: "20",
  })).result.XXBTZUSD;
  assert.deepEqual(later.asks.slice(0, 5), pure.asks.slice(0, 5));
});

Deno.test("the trade channel sends an own fill recorded in the millisecond the last window ended in", () => {
  let t = Date.UTC(2025, 5, 15, 12);
  const market = new Market({ seed: 22, now: () => t });
  const feed = new WsFeed(market);
  const demand = emptyDemand();
  demand.trade = true;
  const wants = new Map([["XXBTZUSD", demand]]);
  t += 250;
  feed.advance(t, wants);
  const ask = market.book("XBTUSD", { depth: 1 }).asks[0]!;
  const fill = market.recordTrade("XBTUSD", {
    priceUnits: ask.priceUnits,
    volumeUnits: 1000,
    side: "b",
    orderType: "m",
  });
  t += 250;
  const step = feed.advance(t, wants).pair("XXBTZUSD")!;
  assert.equal(step.trades[0], fill);
  const frame = JSON.parse(step.tradeUpdates()[0]!);
  assert.equal(frame.data[0].trade_id, fill.tradeId);
  // Ids stay one sequence across the fill.
  const ids = step.trades.map((x) => x.tradeId);
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1]! + 1);
});
