/**
 * The matching engine in process: every order type against the seeded
 * market, fees, balances, ledgers, holds, triggers, conditional closes,
 * expiries, the dead man's switch, the trading counter and the rows it
 * publishes. The clock only moves when a test moves it.
 */

import assert from "node:assert/strict";
import { feeTier } from "../../../server/sim/exchange/account.ts";
import {
  divideRounded,
  formatUnits,
  rescaleUnits,
} from "../../../server/sim/exchange/units.ts";
import { SimApiError } from "../../../server/sim/exchange/params.ts";
import { resolvePair } from "../../../server/sim/exchange/pairs.ts";
import type { SimOrder } from "../../../server/sim/exchange/account.ts";
import {
  type EngineHarness,
  engineHarness,
  futureTrades,
  HOUR_MS,
  START_MS,
  text,
} from "./_engine_harness.ts";

const XBT = resolvePair("XBTUSD")!;

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SimApiError, String(error));
    assert.equal(error.code, code);
    return true;
  });
}

/** USD cost of an order's fills (a USD-quoted pair), as a decimal string. */
function fillsUsd(h: EngineHarness, order: SimOrder): string {
  let units = 0n;
  for (const id of order.tradeIds) units += h.account.trade(id)!.costUnits;
  return String(Number(units) / 10_000);
}

function perMillion(percent: number): bigint {
  return BigInt(Math.round(percent * 10_000));
}

Deno.test("a market buy walks the book with taker fees and two ledger entries per trade", () => {
  using h = engineHarness();
  // Top levels hold realistic sizes (tenths of a BTC and more): fund the walk.
  h.account.deposit("ZUSD", 100_000_000_000n, START_MS - 1);
  h.rows.length = 0;
  const book = h.market.book("XBTUSD", { depth: 5 });
  const [a0, a1] = [book.asks[0]!, book.asks[1]!];
  const volume = BigInt(a0.qtyUnits) + BigInt(a1.qtyUnits) / 2n;
  const usdBefore = h.account.balance("ZUSD");
  const btcBefore = h.account.balance("XXBT");

  const placed = h.engine.add({
    ordertype: "market",
    type: "buy",
    volume: formatUnits(volume, 8),
  }, { pair: "XBTUSD", nowMs: START_MS });
  const order = placed.order!;
  assert.equal(
    placed.descr.order,
    `buy ${formatUnits(volume, 8)} XBTUSD @ market`,
  );
  assert.equal(order.status, "closed");
  const trades = order.tradeIds.map((id) => h.account.trade(id)!);
  assert.deepEqual(trades.map((t) => t.priceUnits), [
    BigInt(a0.priceUnits),
    BigInt(a1.priceUnits),
  ]);
  assert.deepEqual(trades.map((t) => t.volumeUnits), [
    BigInt(a0.qtyUnits),
    BigInt(a1.qtyUnits) / 2n,
  ]);
  let cost = 0n;
  let fees = 0n;
  // An order's earlier fills count in the 30-day volume of its later ones:
  // a walk of realistic levels can reach the next fee tier.
  let volume30 = h.account.thirtyDayUsd(START_MS) - Number(fillsUsd(h, order));
  for (const trade of trades) {
    const fee = feeTier(XBT.fees, volume30).fee;
    volume30 += Number(trade.costUnits) / 10_000;
    const expectedCost = rescaleUnits(
      trade.priceUnits * trade.volumeUnits,
      9,
      4,
    );
    assert.equal(trade.costUnits, expectedCost);
    assert.equal(
      trade.feeUnits,
      divideRounded(expectedCost * perMillion(fee), 1_000_000n),
    );
    assert.equal(trade.maker, false);
    const [quote, base] = trade.ledgerIds.map((id) =>
      h.account.ledgerEntry(id)!
    );
    assert.equal(quote!.refid, trade.txid);
    assert.equal(base!.refid, trade.txid);
    assert.equal(quote!.asset, "ZUSD");
    assert.equal(quote!.amountUnits, -trade.costUnits);
    assert.equal(quote!.feeUnits, trade.feeUnits);
    assert.equal(base!.asset, "XXBT");
    assert.equal(base!.amountUnits, trade.volumeUnits * 100n);
    cost += trade.costUnits;
    fees += trade.feeUnits;
  }
  assert.equal(h.account.balance("ZUSD"), usdBefore - cost - fees);
  assert.equal(h.account.balance("XXBT"), btcBefore + volume * 100n);
  assert.deepEqual(h.execTypes(order.txid), [
    "pending_new",
    "new",
    "trade",
    "trade",
    "filled",
  ]);
  const balanceRows = h.rows.filter((r) => r.channel === "balances");
  assert.equal(balanceRows.length, 4);
  assert.deepEqual(
    balanceRows.map((r) => r.row.ref_id),
    [trades[0]!.txid, trades[0]!.txid, trades[1]!.txid, trades[1]!.txid],
  );
});

Deno.test("a resting limit holds funds and fills at its price when the market trades through it", () => {
  using h = engineHarness();
  const end = START_MS + 2 * HOUR_MS;
  const trades = futureTrades("XBTUSD", START_MS, end);
  const lowest = Math.min(...trades.map((t) => t.priceUnits));
  const limit = BigInt(lowest + 1);
  const bestAsk = BigInt(h.market.book("XBTUSD").asks[0]!.priceUnits);
  assert.ok(limit < bestAsk, "the limit rests below the ask");
  const firstCross = trades.find((t) => BigInt(t.priceUnits) <= limit)!;
  const heldBefore = h.account.holds().get("ZUSD") ?? 0n;

  const order = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: formatUnits(limit, 1),
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  assert.equal(order.status, "open");
  assert.equal(
    (h.account.holds().get("ZUSD") ?? 0n) - heldBefore,
    rescaleUnits(1_000_000n * limit, 9, 4),
  );

  h.clock.ms = Math.floor(firstCross.timeUs / 1000) - 1;
  h.engine.sync();
  assert.equal(order.volExecUnits, 0n, "nothing before the crossing trade");
  h.clock.ms = end;
  h.engine.sync();
  assert.equal(order.status, "closed");
  const fills = order.tradeIds.map((id) => h.account.trade(id)!);
  assert.ok(fills.every((t) => t.priceUnits === limit && t.maker));
  assert.equal(fills[0]!.timeMs, firstCross.timeUs / 1000);
  const makerFee = feeTier(XBT.feesMaker, h.account.thirtyDayUsd(START_MS)).fee;
  assert.equal(
    fills[0]!.feeUnits,
    divideRounded(fills[0]!.costUnits * perMillion(makerFee), 1_000_000n),
  );
  // The order's hold is released: the same account without it holds as much
  // (the seeded account's other orders may fill meanwhile).
  using twin = engineHarness();
  twin.clock.ms = end;
  twin.engine.sync();
  assert.equal(
    h.account.holds().get("ZUSD") ?? 0n,
    twin.account.holds().get("ZUSD") ?? 0n,
  );
});

Deno.test("replay results do not depend on how time is split into sync windows", () => {
  const run = (steps: number) => {
    using h = engineHarness();
    const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
    h.engine.add({
      ordertype: "limit",
      type: "buy",
      volume: "0.02",
      price: formatUnits(last - 1200n, 1),
    }, { pair: "XBTUSD", nowMs: START_MS });
    h.engine.add({
      ordertype: "trailing-stop",
      type: "sell",
      volume: "0.01",
      price: "+0.1%",
    }, { pair: "XBTUSD", nowMs: START_MS });
    for (let i = 1; i <= steps; i++) {
      h.clock.ms = START_MS + Math.round((2 * HOUR_MS * i) / steps);
      h.engine.sync();
    }
    return JSON.stringify({
      orders: h.account.orders().map((o) => h.account.orderInfo(o)),
      trades: h.account.trades().map((t) => h.account.tradeInfo(t)),
    });
  };
  assert.equal(run(97), run(1));
});

Deno.test("an attached stop-loss is created on the fill and triggers later", () => {
  using h = engineHarness();
  const end = START_MS + 2 * HOUR_MS;
  const trades = futureTrades("XBTUSD", START_MS, end);
  const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
  const lowest = BigInt(Math.min(...trades.map((t) => t.priceUnits)));
  const stop = (last + lowest) / 2n;
  const placed = h.engine.add({
    ordertype: "market",
    type: "buy",
    volume: "0.01",
    closeOrdertype: "stop-loss",
    closePrice: formatUnits(stop, 1),
  }, { pair: "XBTUSD", nowMs: START_MS });
  assert.equal(
    placed.descr.close,
    `close position @ stop loss ${formatUnits(stop, 1)}`,
  );
  const primary = placed.order!;
  const close = h.account.orders().find((o) =>
    o.terms?.refid === primary.txid
  )!;
  assert.ok(close, "the close order exists once the primary filled");
  assert.equal(close.type, "sell");
  assert.equal(close.volumeUnits, primary.volExecUnits);
  assert.equal(close.status, "open");
  const info = h.account.orderInfo(close);
  assert.equal(info.refid, primary.txid);
  assert.equal(
    info.descr.order,
    `sell 0.01000000 XBTUSD @ stop loss ${formatUnits(stop, 1)}`,
  );
  assert.equal(info.trigger, "last");

  h.clock.ms = end;
  h.engine.sync();
  const firing = trades.find((t) => BigInt(t.priceUnits) <= stop)!;
  assert.equal(close.status, "closed");
  assert.match(close.misc, /stopped/);
  assert.equal(h.account.orderInfo(close).stopprice, formatUnits(stop, 1));
  const fill = h.account.trade(close.tradeIds[0]!)!;
  assert.equal(fill.timeMs, firing.timeUs / 1000);
  assert.equal(fill.maker, false);
  assert.deepEqual(h.execTypes(close.txid).slice(0, 3), [
    "pending_new",
    "new",
    "status",
  ]);
  assert.equal(h.execTypes(close.txid).at(-1), "filled");
});

Deno.test("take-profit, stop-loss-limit and take-profit-limit fire on the right side", async (t) => {
  const end = START_MS + 2 * HOUR_MS;
  const trades = futureTrades("XBTUSD", START_MS, end);
  const highest = BigInt(Math.max(...trades.map((x) => x.priceUnits)));
  const lowest = BigInt(Math.min(...trades.map((x) => x.priceUnits)));

  await t.step("a sell take-profit fires when the price rises to it", () => {
    using h = engineHarness();
    const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
    const trigger = (last + highest) / 2n;
    const order = h.engine.add({
      ordertype: "take-profit",
      type: "sell",
      volume: "0.01",
      price: formatUnits(trigger, 1),
    }, { pair: "XBTUSD", nowMs: START_MS }).order!;
    assert.equal(order.status, "open");
    h.clock.ms = end;
    h.engine.sync();
    assert.equal(order.status, "closed");
    const firing = trades.find((x) => BigInt(x.priceUnits) >= trigger)!;
    assert.equal(
      h.account.trade(order.tradeIds[0]!)!.timeMs,
      firing.timeUs / 1000,
    );
  });

  await t.step(
    "a buy stop-loss-limit becomes a limit at price2 and takes",
    () => {
      using h = engineHarness();
      const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
      const trigger = (last + highest) / 2n;
      const limit = trigger + 500n;
      const order = h.engine.add({
        ordertype: "stop-loss-limit",
        type: "buy",
        volume: "0.01",
        price: formatUnits(trigger, 1),
        price2: formatUnits(limit, 1),
      }, { pair: "XBTUSD", nowMs: START_MS }).order!;
      assert.equal(
        order.limitUnits,
        undefined,
        "no live limit before the trigger",
      );
      assert.equal(
        h.account.orderInfo(order).descr.order,
        `buy 0.01000000 XBTUSD @ stop loss ${
          formatUnits(trigger, 1)
        } -> limit ${formatUnits(limit, 1)}`,
      );
      h.clock.ms = end;
      h.engine.sync();
      assert.equal(order.limitUnits, limit);
      assert.equal(
        h.account.orderInfo(order).limitprice,
        formatUnits(limit, 1),
      );
      assert.equal(order.status, "closed");
      assert.ok(
        order.tradeIds.every((id) => h.account.trade(id)!.priceUnits <= limit),
      );
    },
  );

  await t.step(
    "a buy take-profit-limit fires when the price falls to it",
    () => {
      using h = engineHarness();
      const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
      const trigger = (last + lowest) / 2n;
      const order = h.engine.add({
        ordertype: "take-profit-limit",
        type: "buy",
        volume: "0.01",
        price: formatUnits(trigger, 1),
        price2: formatUnits(trigger, 1),
      }, { pair: "XBTUSD", nowMs: START_MS }).order!;
      h.clock.ms = end;
      h.engine.sync();
      assert.equal(order.misc, "stopped");
      assert.ok(order.volExecUnits > 0n);
    },
  );

  await t.step(
    "a stop already through the market triggers on placement",
    () => {
      using h = engineHarness();
      const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
      const order = h.engine.add({
        ordertype: "stop-loss",
        type: "sell",
        volume: "0.01",
        price: formatUnits(last + 100n, 1),
      }, { pair: "XBTUSD", nowMs: START_MS }).order!;
      assert.equal(order.status, "closed");
    },
  );
});

Deno.test("a trailing stop follows the best price and fires on the retrace", () => {
  using h = engineHarness();
  const end = START_MS + 2 * HOUR_MS;
  const trades = futureTrades("XBTUSD", START_MS, end);
  let peak = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
  // Oracle: the same rule, step by step (0.1 % of the peak, half up, in ticks).
  let firing: number | undefined;
  for (const trade of trades) {
    const price = BigInt(trade.priceUnits);
    if (price > peak) peak = price;
    const trigger = peak - (peak * 100_000n + 50_000_000n) / 100_000_000n;
    if (price <= trigger) {
      firing = trade.timeUs / 1000;
      break;
    }
  }
  assert.ok(firing !== undefined, "the market retraces within two hours");
  const order = h.engine.add({
    ordertype: "trailing-stop",
    type: "sell",
    volume: "0.01",
    price: "+0.1%",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  assert.equal(
    h.account.orderInfo(order).descr.order,
    "sell 0.01000000 XBTUSD @ trailing stop +0.1%",
  );
  h.clock.ms = end;
  h.engine.sync();
  assert.equal(order.status, "closed");
  assert.equal(h.account.trade(order.tradeIds[0]!)!.timeMs, firing);
});

Deno.test("an iceberg fills at most its visible slice per trade and refills", () => {
  using h = engineHarness();
  const end = START_MS + 2 * HOUR_MS;
  const trades = futureTrades("XBTUSD", START_MS, end);
  const sorted = trades.map((t) => t.priceUnits).sort((a, b) => a - b);
  const limit = BigInt(sorted[12]!);
  const order = h.engine.add({
    ordertype: "iceberg",
    type: "buy",
    volume: "0.05",
    displayvol: "0.01",
    price: formatUnits(limit, 1),
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  assert.equal(order.status, "open");
  h.clock.ms = end;
  h.engine.sync();
  const fills = order.tradeIds.map((id) => h.account.trade(id)!);
  assert.ok(fills.length >= 2, `several fills, got ${fills.length}`);
  assert.ok(fills.every((t) => t.volumeUnits <= 1_000_000n));
  assert.equal(
    fills.reduce((sum, t) => sum + t.volumeUnits, 0n),
    order.volExecUnits,
  );
  assert.ok(h.execTypes(order.txid).includes("iceberg_refill"));
});

Deno.test("post-only, IOC and GTD", async (t) => {
  await t.step(
    "a post-only order that would take is cancelled: Post only order",
    () => {
      using h = engineHarness();
      const ask = h.market.book("XBTUSD").asks[0]!;
      const placed = h.engine.add({
        ordertype: "limit",
        type: "buy",
        volume: "0.01",
        price: ask.price,
        oflags: "post",
      }, { pair: "XBTUSD", nowMs: START_MS });
      assert.equal(placed.order!.status, "canceled");
      assert.equal(placed.order!.reason, "Post only order");
      assert.equal(placed.order!.tradeIds.length, 0);
      assert.equal(placed.order!.oflags, "post,fciq");
    },
  );

  await t.step("a post-only order below the ask rests", () => {
    using h = engineHarness();
    const bid = h.market.book("XBTUSD").bids[0]!;
    const placed = h.engine.add({
      ordertype: "limit",
      type: "buy",
      volume: "0.01",
      price: bid.price,
      oflags: "post",
    }, { pair: "XBTUSD", nowMs: START_MS });
    assert.equal(placed.order!.status, "open");
  });

  await t.step("IOC fills what crosses and cancels the rest", () => {
    using h = engineHarness();
    h.account.deposit("ZUSD", 100_000_000_000n, START_MS - 1);
    const ask = h.market.book("XBTUSD").asks[0]!;
    const volume = BigInt(ask.qtyUnits) * 2n;
    const order = h.engine.add({
      ordertype: "limit",
      type: "buy",
      volume: formatUnits(volume, 8),
      price: ask.price,
      timeinforce: "IOC",
    }, { pair: "XBTUSD", nowMs: START_MS }).order!;
    assert.equal(order.volExecUnits, BigInt(ask.qtyUnits));
    assert.equal(order.status, "canceled");
    assert.equal(order.reason, "Immediate or cancel");
  });

  await t.step("GTD expires at expiretm", () => {
    using h = engineHarness();
    const order = h.engine.add({
      ordertype: "limit",
      type: "buy",
      volume: "0.01",
      price: "-10%",
      timeinforce: "GTD",
      expiretm: "+60",
    }, { pair: "XBTUSD", nowMs: START_MS }).order!;
    assert.equal(order.expiretmMs, START_MS + 60_000);
    h.clock.ms = START_MS + 59_000;
    h.engine.sync();
    assert.equal(order.status, "open");
    h.clock.ms = START_MS + 61_000;
    h.engine.sync();
    assert.equal(order.status, "expired");
    assert.equal(order.closetmMs, START_MS + 60_000);
    assert.equal(h.execTypes(order.txid).at(-1), "expired");
  });
});

Deno.test("the dead man's switch cancels every open order when the clock passes it", () => {
  using h = engineHarness();
  const order = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: "-10%",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  assert.deepEqual(h.engine.cancelAllAfter(30, START_MS), {
    currentTime: "2025-06-15T12:00:00Z",
    triggerTime: "2025-06-15T12:00:30Z",
  });
  h.clock.ms = START_MS + 29_000;
  h.engine.sync();
  assert.equal(order.status, "open");
  h.clock.ms = START_MS + 31_000;
  h.engine.sync();
  assert.equal(order.status, "canceled");
  assert.equal(order.reason, "Dead man's switch");
  assert.equal(order.closetmMs, START_MS + 30_000);
  assert.equal(h.account.orders().filter((o) => o.status === "open").length, 0);
  assert.equal(h.engine.deadManMs, undefined, "it disarms after firing");
  assert.deepEqual(h.engine.cancelAllAfter(0, h.clock.ms), {
    currentTime: "2025-06-15T12:00:31Z",
    triggerTime: "0",
  });
  expectCode(
    () => h.engine.cancelAllAfter(86_400, h.clock.ms),
    "EGeneral:Invalid arguments",
  );
});

Deno.test("the per-pair trading counter refuses a burst and charges the fixed part even on failure", async (t) => {
  await t.step(
    "60 adds fit the Starter threshold, the 61st is refused, decay lets one more in",
    () => {
      using h = engineHarness();
      const add = () =>
        h.engine.add({
          ordertype: "limit",
          type: "buy",
          volume: "0.01",
          price: "-10%",
          validate: "true",
        }, { pair: "XBTUSD", nowMs: h.clock.ms });
      for (let i = 0; i < 60; i++) add();
      expectCode(add, "EOrder:Rate limit exceeded");
      assert.equal(h.engine.counterLevel("XBTUSD"), 61);
      h.clock.ms += 2_000;
      assert.doesNotThrow(add);
      // Another pair has its own counter.
      assert.doesNotThrow(() =>
        h.engine.add({
          ordertype: "market",
          type: "buy",
          volume: "0.01",
          validate: "true",
        }, {
          pair: "ETHUSD",
          nowMs: h.clock.ms,
        })
      );
    },
  );

  await t.step("invalid orders charge too", () => {
    using h = engineHarness();
    for (let i = 0; i < 60; i++) {
      expectCode(
        () =>
          h.engine.add({
            ordertype: "limit",
            type: "buy",
            volume: "0.01",
            price: "1.23",
          }, {
            pair: "XBTUSD",
            nowMs: START_MS,
          }),
        "EOrder:Invalid price",
      );
    }
    expectCode(
      () =>
        h.engine.add({ ordertype: "market", type: "buy", volume: "0.01" }, {
          pair: "XBTUSD",
          nowMs: START_MS,
        }),
      "EOrder:Rate limit exceeded",
    );
  });

  await t.step("cancels and amends add their age penalties", () => {
    using h = engineHarness();
    const order = h.engine.add({
      ordertype: "limit",
      type: "buy",
      volume: "0.01",
      price: "-10%",
    }, { pair: "XBTUSD", nowMs: START_MS }).order!;
    assert.equal(h.engine.counterLevel("XBTUSD", START_MS), 1);
    h.engine.amend({ txid: order.txid }, { orderQty: "0.02" }, START_MS);
    assert.equal(
      h.engine.counterLevel("XBTUSD", START_MS),
      5,
      "+1 fixed +3 under 5 s",
    );
    h.engine.cancel({ txids: [order.txid] }, { nowMs: START_MS, strict: true });
    assert.equal(h.engine.counterLevel("XBTUSD", START_MS), 13, "+8 under 5 s");
  });

  await t.step("the open-order cap answers Orders limit exceeded", () => {
    using h = engineHarness({ maxOpenOrdersPerPair: 2 });
    const add = () =>
      h.engine.add({
        ordertype: "limit",
        type: "buy",
        volume: "0.01",
        price: "-10%",
      }, {
        pair: "XBTUSD",
        nowMs: START_MS,
      });
    add(); // the seeded account already has one XBTUSD order open
    expectCode(add, "EOrder:Orders limit exceeded");
  });
});

Deno.test("funds: holds, insufficient funds and the fee currency", async (t) => {
  await t.step("a buy beyond the available quote is refused", () => {
    using h = engineHarness();
    expectCode(
      () =>
        h.engine.add({
          ordertype: "limit",
          type: "buy",
          volume: "10",
          price: "-1%",
        }, {
          pair: "XBTUSD",
          nowMs: START_MS,
        }),
      "EOrder:Insufficient funds",
    );
    expectCode(
      () =>
        h.engine.add({ ordertype: "market", type: "sell", volume: "1000" }, {
          pair: "ETHUSD",
          nowMs: START_MS,
        }),
      "EOrder:Insufficient funds",
    );
  });

  await t.step("fcib on a buy takes the fee from the base received", () => {
    using h = engineHarness();
    const order = h.engine.add({
      ordertype: "market",
      type: "buy",
      volume: "0.001",
      oflags: "fcib",
    }, { pair: "XBTUSD", nowMs: START_MS }).order!;
    const trade = h.account.trade(order.tradeIds[0]!)!;
    const [quote, base] = trade.ledgerIds.map((id) =>
      h.account.ledgerEntry(id)!
    );
    assert.equal(quote!.feeUnits, 0n);
    assert.ok(base!.feeUnits > 0n);
    assert.ok(
      trade.feeUnits > 0n,
      "the trade's fee is still reported in quote",
    );
    assert.equal(order.oflags, "fcib");
  });

  await t.step("a sell defaults to fcib: the fee is charged in base", () => {
    using h = engineHarness();
    const order = h.engine.add({
      ordertype: "market",
      type: "sell",
      volume: "0.001",
    }, {
      pair: "XBTUSD",
      nowMs: START_MS,
    }).order!;
    const trade = h.account.trade(order.tradeIds[0]!)!;
    const [quote, base] = trade.ledgerIds.map((id) =>
      h.account.ledgerEntry(id)!
    );
    assert.equal(quote!.feeUnits, 0n);
    assert.equal(base!.amountUnits, -trade.volumeUnits * 100n);
    assert.ok(base!.feeUnits > 0n);
  });
});

Deno.test("amend keeps the txid, records the history and can take", () => {
  using h = engineHarness();
  const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
  const order = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: formatUnits(last - 5000n, 1),
    userref: "17",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  h.clock.ms += 6_000;
  const { amendId } = h.engine.amend({ txid: order.txid }, {
    orderQty: "0.02",
    limitPrice: formatUnits(last - 4000n, 1),
  }, h.clock.ms);
  assert.match(amendId, /^T[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/);
  assert.equal(order.volumeUnits, 2_000_000n);
  assert.equal(order.limitUnits, last - 4000n);
  assert.equal(order.misc, "amended");
  assert.equal(
    h.account.orderInfo(order).descr.order,
    `buy 0.02000000 XBTUSD @ limit ${formatUnits(last - 4000n, 1)}`,
  );
  const history = h.engine.amendsOf(order.txid)!;
  assert.deepEqual(history.map((a) => [a.amend_type, a.order_qty]), [
    ["original", "0.01000000"],
    ["user", "0.02000000"],
  ]);
  assert.ok(h.execTypes(order.txid).includes("amended"));
  const amendedRow = h.rows.find((r) => r.row.exec_type === "amended")!;
  assert.equal(text(amendedRow.row.order_qty), "0.02000000");
  // Amend into the market: it takes.
  const ask = h.market.book("XBTUSD", { atMs: h.clock.ms }).asks[0]!;
  h.engine.amend({ txid: order.txid }, { limitPrice: ask.price }, h.clock.ms);
  assert.ok(order.volExecUnits > 0n);
  expectCode(
    () =>
      h.engine.amend(
        { txid: "OAAAAA-BBBBB-CCCCCC" },
        { orderQty: "1" },
        h.clock.ms,
      ),
    "EOrder:Unknown order",
  );
  h.engine.cancel({ userrefs: [17] }, { nowMs: h.clock.ms, strict: true });
  expectCode(
    () => h.engine.amend({ txid: order.txid }, { orderQty: "1" }, h.clock.ms),
    "EOrder:Invalid order",
  );
});

Deno.test("edit replaces the order with a new txid", () => {
  using h = engineHarness();
  const original = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: "-5%",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  const { placed } = h.engine.edit(original.txid, { volume: "0.03" }, {
    pair: "XBTUSD",
    nowMs: START_MS,
  });
  assert.notEqual(placed.order!.txid, original.txid);
  assert.equal(placed.order!.volumeUnits, 3_000_000n);
  assert.equal(placed.order!.limitUnits, original.limitUnits);
  assert.equal(original.status, "canceled");
  expectCode(
    () =>
      h.engine.edit(original.txid, { volume: "0.02" }, {
        pair: "XBTUSD",
        nowMs: START_MS,
      }),
    "EOrder:Invalid order",
  );
});

Deno.test("system and pair status gate new orders, not cancels", async (t) => {
  const market = { ordertype: "market", type: "buy", volume: "0.01" };
  await t.step("system cancel_only, post_only, maintenance", () => {
    using h = engineHarness();
    const order = h.engine.add(
      { ...market, ordertype: "limit", price: "-5%" },
      {
        pair: "XBTUSD",
        nowMs: START_MS,
      },
    ).order!;
    h.control.set({ systemStatus: "cancel_only" });
    expectCode(
      () => h.engine.add(market, { pair: "XBTUSD", nowMs: START_MS }),
      "EService:Market in cancel_only mode",
    );
    assert.equal(
      h.engine.cancel({ txids: [order.txid] }, {
        nowMs: START_MS,
        strict: true,
      }).length,
      1,
    );
    h.control.set({ systemStatus: "post_only" });
    expectCode(
      () => h.engine.add(market, { pair: "XBTUSD", nowMs: START_MS }),
      "EService:Market in post_only mode",
    );
    assert.doesNotThrow(() =>
      h.engine.add({
        ...market,
        ordertype: "limit",
        price: "-5%",
        oflags: "post",
      }, {
        pair: "XBTUSD",
        nowMs: START_MS,
      })
    );
    h.control.set({ systemStatus: "maintenance" });
    expectCode(
      () => h.engine.add(market, { pair: "XBTUSD", nowMs: START_MS }),
      "EService:Unavailable",
    );
  });

  await t.step("pair statuses from the catalogue", () => {
    using h = engineHarness();
    const cases: Array<[string, string]> = [
      ["REPUSD", "EService:Market in cancel_only mode"],
      ["COMPUSD", "EService:Market in post_only mode"],
      ["SANDUSD", "EService:Market in limit_only mode"],
      ["MLNUSD", "EService:Market in reduce_only mode"],
    ];
    for (const [pair, code] of cases) {
      expectCode(
        () =>
          h.engine.add({ ...market, volume: "10" }, { pair, nowMs: START_MS }),
        code,
      );
    }
    expectCode(
      () =>
        h.engine.add({ ...market, reduceOnly: "true" }, {
          pair: "XBTUSD",
          nowMs: START_MS,
        }),
      "EOrder:Reduce only:No position exists",
    );
    expectCode(
      () => h.engine.add(market, { pair: "NOPEUSD", nowMs: START_MS }),
      "EQuery:Unknown asset pair",
    );
  });
});

Deno.test("cancel by txid, client order id and user reference", () => {
  using h = engineHarness();
  const place = (extra: Record<string, string>) =>
    h.engine.add({
      ordertype: "limit",
      type: "buy",
      volume: "0.01",
      price: "-5%",
      ...extra,
    }, {
      pair: "XBTUSD",
      nowMs: START_MS,
    }).order!;
  const a = place({ clOrdId: "bot-1" });
  expectCode(() => place({ clOrdId: "bot-1" }), "EGeneral:Invalid arguments");
  const b = place({ userref: "9" });
  const c = place({ userref: "9" });
  assert.deepEqual(
    h.engine.cancel({ clOrdIds: ["bot-1"] }, { nowMs: START_MS, strict: true })
      .map((o) => o.txid),
    [a.txid],
  );
  assert.deepEqual(
    h.engine.cancel({ userrefs: [9] }, { nowMs: START_MS, strict: true }).map((
      o,
    ) => o.txid),
    [b.txid, c.txid],
  );
  expectCode(
    () =>
      h.engine.cancel({ txids: [a.txid] }, { nowMs: START_MS, strict: true }),
    "EOrder:Invalid order",
  );
  expectCode(
    () =>
      h.engine.cancel({ txids: ["OAAAAA-BBBBB-CCCCCC"] }, {
        nowMs: START_MS,
        strict: true,
      }),
    "EOrder:Unknown order",
  );
  assert.equal(h.engine.cancelAll(START_MS), 4, "the four seeded open orders");
});

Deno.test("amend stops, icebergs and quantities; post-only amends that would take are refused", () => {
  using h = engineHarness();
  // Enough for the orders below ($20,000 and 1 BTC), not for 5 BTC.
  h.account.deposit("ZUSD", 200_000_000n, START_MS - 1);
  h.account.deposit("XXBT", 10_000_000_000n, START_MS - 1);
  const last = BigInt(Math.round(h.market.lastPrice("XBTUSD") * 10));
  const stop = h.engine.add({
    ordertype: "stop-loss-limit",
    type: "sell",
    volume: "0.01",
    price: formatUnits(last - 3000n, 1),
    price2: formatUnits(last - 3100n, 1),
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  h.engine.amend({ txid: stop.txid }, {
    triggerPrice: formatUnits(last - 2000n, 1),
    limitPrice: formatUnits(last - 2100n, 1),
  }, START_MS);
  const info = h.account.orderInfo(stop);
  assert.equal(info.descr.price, formatUnits(last - 2000n, 1));
  assert.equal(info.descr.price2, formatUnits(last - 2100n, 1));
  expectCode(
    () => h.engine.amend({ txid: stop.txid }, { displayQty: "0.01" }, START_MS),
    "EGeneral:Invalid arguments",
  );

  const iceberg = h.engine.add({
    ordertype: "iceberg",
    type: "buy",
    volume: "0.15",
    displayvol: "0.01",
    price: "-5%",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  h.engine.amend({ txid: iceberg.txid }, { displayQty: "0.02" }, START_MS);
  assert.equal(
    h.engine.amendsOf(iceberg.txid)!.at(-1)!.display_qty,
    "0.02000000",
  );
  expectCode(
    () =>
      h.engine.amend({ txid: iceberg.txid }, { displayQty: "0.001" }, START_MS),
    "EGeneral:Invalid arguments",
  );
  expectCode(
    () =>
      h.engine.amend({ txid: iceberg.txid }, { triggerPrice: "1" }, START_MS),
    "EGeneral:Invalid arguments",
  );

  const post = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: "-1%",
    oflags: "post",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  const ask = h.market.book("XBTUSD").asks[0]!;
  expectCode(
    () =>
      h.engine.amend({ txid: post.txid }, { limitPrice: ask.price }, START_MS),
    "EOrder:Post only order",
  );
  expectCode(
    () =>
      h.engine.amend(
        { txid: post.txid },
        { deadline: "2025-06-15T11:00:00Z" },
        START_MS,
      ),
    "EService:Deadline elapsed",
  );
  expectCode(
    () => h.engine.amend({}, { orderQty: "1" }, START_MS),
    "EGeneral:Invalid arguments",
  );
  expectCode(
    () => h.engine.amend({ clOrdId: "nobody" }, { orderQty: "1" }, START_MS),
    "EOrder:Unknown order",
  );
  expectCode(
    () => h.engine.amend({ txid: post.txid }, { orderQty: "5" }, START_MS),
    "EOrder:Insufficient funds",
  );

  // Down to what was executed: the rest is cancelled.
  const partial = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.02",
    price: "-10%",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  h.engine.amend({ txid: partial.txid }, { orderQty: "0.0001" }, START_MS);
  assert.equal(h.account.order(partial.txid)!.status, "open");
  const book = h.market.book("XBTUSD").asks[0]!;
  h.account.deposit("ZUSD", 100_000_000_000n, START_MS - 1); // 3 top levels
  const taker = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: formatUnits(BigInt(book.qtyUnits) * 3n, 8),
    price: book.price,
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  assert.equal(taker.volExecUnits, BigInt(book.qtyUnits));
  h.engine.amend({ txid: taker.txid }, {
    orderQty: formatUnits(taker.volExecUnits, 8),
  }, START_MS);
  assert.equal(taker.status, "closed");
  assert.equal(h.execTypes(taker.txid).at(-1), "filled");
});

Deno.test("a trailing-stop-limit sets its limit from the trigger when it fires", () => {
  using h = engineHarness();
  const order = h.engine.add({
    ordertype: "trailing-stop-limit",
    type: "sell",
    volume: "0.01",
    price: "+0.05%",
    price2: "-20",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  assert.equal(
    h.account.orderInfo(order).descr.order,
    "sell 0.01000000 XBTUSD @ trailing stop +0.05% -> limit -20.0",
  );
  h.clock.ms = START_MS + 2 * HOUR_MS;
  h.engine.sync();
  assert.equal(order.misc, "stopped");
  const stop = BigInt(h.account.orderInfo(order).stopprice.replace(".", ""));
  assert.equal(order.limitUnits, stop - 200n);
});

Deno.test("changes made directly on the account are published too", () => {
  using h = engineHarness();
  h.account.deposit("ZUSD", 1_000_000n, START_MS);
  const row = h.rows.find((r) => r.channel === "balances")!;
  assert.equal(row.row.type, "deposit");
  assert.equal(text(row.row.amount), "100.0000");
  const direct = h.account.openOrder({
    pair: "XBTUSD",
    type: "buy",
    ordertype: "limit",
    limitUnits: 500_000n,
    volumeUnits: 1_000_000n,
    timeMs: START_MS,
  });
  assert.deepEqual(h.execTypes(direct.txid), ["new"]);
  h.account.closeOrder(direct.txid, {
    status: "canceled",
    reason: "User requested",
    timeMs: START_MS,
  });
  assert.deepEqual(h.execTypes(direct.txid), ["new", "canceled"]);
});

Deno.test("edit: validate, new userref and refusals", () => {
  using h = engineHarness();
  const order = h.engine.add({
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: "-5%",
    userref: "3",
  }, { pair: "XBTUSD", nowMs: START_MS }).order!;
  const dry = h.engine.edit(order.txid, { price: "60000", validate: "true" }, {
    pair: "XBTUSD",
    nowMs: START_MS,
  });
  assert.equal(dry.placed.order, undefined);
  assert.equal(dry.placed.descr.order, "buy 0.01000000 XBTUSD @ limit 60000.0");
  assert.equal(order.status, "open");
  expectCode(
    () =>
      h.engine.edit(order.txid, { price: "60000" }, {
        pair: "ETHUSD",
        nowMs: START_MS,
      }),
    "EGeneral:Invalid arguments",
  );
  expectCode(
    () =>
      h.engine.edit(order.txid, { oflags: "fcib" }, {
        pair: "XBTUSD",
        nowMs: START_MS,
      }),
    "EGeneral:Invalid arguments",
  );
  expectCode(
    () =>
      h.engine.edit("OAAAAA-BBBBB-CCCCCC", {}, {
        pair: "XBTUSD",
        nowMs: START_MS,
      }),
    "EOrder:Unknown order",
  );
  const { placed } = h.engine.edit("3", { userref: "4", oflags: "post" }, {
    pair: "XBTUSD",
    nowMs: START_MS,
  });
  assert.equal(placed.order!.userref, 4);
  assert.equal(placed.order!.oflags, "post,fciq");
});
