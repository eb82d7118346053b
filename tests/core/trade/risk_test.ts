import assert from "node:assert/strict";
import {
  fillEstimate,
  isProtectiveStop,
  judgeCancel,
  judgeStopAmend,
  openBuyVolume,
  planCancelAll,
  planExit,
  reservedVolume,
  type RiskAccount,
  type RiskOrder,
  stopVolume,
  uncoveredVolume,
} from "../../../core/trade/risk.ts";

function order(overrides: Partial<RiskOrder>): RiskOrder {
  return {
    id: "O1",
    pair: "XBTUSD",
    base: "BTC",
    side: "sell",
    type: "stop-loss",
    remaining: "0.1",
    price: "24000",
    closeAttached: false,
    ...overrides,
  };
}

/** 0.3 BTC held; two stops (0.1 older, 0.2 newer) and a take-profit limit. */
const ACCOUNT: RiskAccount = {
  held: { BTC: "0.3", USD: "1000" },
  orders: [
    order({ id: "S1", remaining: "0.1", price: "24000" }),
    order({ id: "S2", remaining: "0.2", price: "24500" }),
    order({
      id: "B1",
      side: "buy",
      type: "limit",
      remaining: "0.05",
      price: "23000",
      closeAttached: true,
    }),
    order({
      id: "E1",
      pair: "ETHUSD",
      base: "ETH",
      side: "sell",
      type: "stop-loss",
      remaining: "1",
    }),
  ],
};

Deno.test("isProtectiveStop() counts sell stops of every stop type, nothing else", () => {
  for (
    const type of [
      "stop-loss",
      "stop-loss-limit",
      "trailing-stop",
      "trailing-stop-limit",
    ]
  ) {
    assert.equal(isProtectiveStop(order({ type })), true, type);
    assert.equal(isProtectiveStop(order({ type, side: "buy" })), false, type);
  }
  for (
    const type of [
      "limit",
      "market",
      "take-profit",
      "take-profit-limit",
      "iceberg",
    ]
  ) {
    assert.equal(isProtectiveStop(order({ type })), false, type);
  }
});

Deno.test("holdings, stops, reserved and open buys per asset", () => {
  assert.equal(stopVolume(ACCOUNT, "BTC"), "0.3");
  assert.equal(reservedVolume(ACCOUNT, "BTC"), "0.3");
  assert.equal(uncoveredVolume(ACCOUNT, "BTC"), "0");
  assert.equal(
    uncoveredVolume({ held: { BTC: "0.5" }, orders: [] }, "BTC"),
    "0.5",
  );
  // Over-hedged is not negative.
  assert.equal(
    uncoveredVolume({ held: {}, orders: ACCOUNT.orders }, "BTC"),
    "0",
  );
  assert.deepEqual(openBuyVolume(ACCOUNT, "BTC").volume, "0.05");
  assert.deepEqual(openBuyVolume(ACCOUNT, "BTC", "B1").volume, "0");
});

Deno.test("judgeCancel() refuses only a stop whose removal uncovers its holding", () => {
  assert.equal(judgeCancel(ACCOUNT, "B1"), null, "an entry may go");
  assert.equal(judgeCancel(ACCOUNT, "missing"), null);
  const refusal = judgeCancel(ACCOUNT, "S1");
  assert.equal(refusal?.rule, "stop_protects_position");
  assert.match(refusal!.message, /0\.1 BTC unprotected/);
  // A stop beyond what is held (over-hedged) may be cancelled.
  const over = { ...ACCOUNT, held: { BTC: "0.2" } };
  assert.equal(judgeCancel(over, "S1"), null);
  // Pre-existing uncovered holdings do not block unrelated cancels, but a
  // cancel may not grow them.
  const bare = { ...ACCOUNT, held: { BTC: "1" } };
  assert.equal(judgeCancel(bare, "S2")?.rule, "stop_protects_position");
});

Deno.test("judgeStopAmend() guards the quantity and the trigger side", () => {
  const s2 = ACCOUNT.orders[1]!;
  assert.equal(
    judgeStopAmend(ACCOUNT, s2, { remaining: "0.1" })?.rule,
    "stop_protects_position",
  );
  assert.equal(
    judgeStopAmend(ACCOUNT, s2, { remaining: "0.3" }),
    null,
    "growing is fine",
  );
  assert.equal(
    judgeStopAmend(ACCOUNT, s2, { triggerPrice: "25000" })?.rule,
    "price_unavailable",
  );
  assert.equal(
    judgeStopAmend(ACCOUNT, s2, { triggerPrice: "25000", bestBid: "25000" })
      ?.rule,
    "stop_loss_wrong_side",
  );
  assert.equal(
    judgeStopAmend(ACCOUNT, s2, { triggerPrice: "24900", bestBid: "25000" }),
    null,
  );
});

Deno.test("planCancelAll() keeps stops unless told, and then names what is unprotected", () => {
  const kept = planCancelAll(ACCOUNT, false);
  assert.deepEqual(kept.cancel.map((o) => o.id), ["B1"]);
  assert.deepEqual(kept.kept.map((o) => o.id), ["S1", "S2", "E1"]);
  assert.deepEqual(kept.uncovered, {});
  const all = planCancelAll(ACCOUNT, true);
  assert.deepEqual(all.cancel.map((o) => o.id), ["S1", "S2", "B1", "E1"]);
  assert.deepEqual(all.uncovered, { BTC: "0.3" }, "ETH is not held");
});

Deno.test("planExit() frees only the stop volume the sale needs and re-protects the rest", async (t) => {
  await t.step("nothing held, or more than held", () => {
    const none = planExit({ held: {}, orders: [] }, "BTC", "0.1");
    assert.equal(!none.ok && none.rejection.rule, "exit_without_position");
    const over = planExit(ACCOUNT, "BTC", "0.31");
    assert.equal(!over.ok && over.rejection.rule, "exit_exceeds_position");
  });
  await t.step("free volume first: no stop is touched", () => {
    const account = { ...ACCOUNT, held: { BTC: "0.5" } };
    const plan = planExit(account, "BTC", "0.2");
    assert.ok(plan.ok);
    assert.deepEqual(plan.cancel, []);
    assert.equal(plan.reprotect, "0");
  });
  await t.step(
    "newest stop first, the remainder re-protected at the nearest trigger",
    () => {
      const plan = planExit(ACCOUNT, "BTC", "0.05");
      assert.ok(plan.ok);
      assert.deepEqual(plan.cancel.map((o) => o.id), ["S2"]);
      assert.equal(plan.reprotect, "0.15");
      assert.equal(plan.reprotectTrigger, "24500");
    },
  );
  await t.step("all: every stop goes, nothing to re-protect", () => {
    const plan = planExit(ACCOUNT, "BTC", "all");
    assert.ok(plan.ok);
    assert.equal(plan.volume, "0.3");
    assert.deepEqual(plan.cancel.map((o) => o.id), ["S2", "S1"]);
    assert.equal(plan.reprotect, "0");
  });
  await t.step(
    "all rounds down to what the pair can trade; the dust stays",
    () => {
      // Balance reports 10 decimals for LTC, the pair trades 8.
      const account = { held: { LTC: "1.3291000057" }, orders: [] };
      const plan = planExit(account, "LTC", "all", { volumeDecimals: 8 });
      assert.ok(plan.ok);
      assert.equal(plan.volume, "1.3291");
    },
  );
  await t.step("a resting take-profit sell blocks what it holds", () => {
    const account: RiskAccount = {
      held: { BTC: "0.3" },
      orders: [
        order({ id: "S1", remaining: "0.1" }),
        order({ id: "T1", type: "limit", remaining: "0.2", price: "30000" }),
      ],
    };
    const plan = planExit(account, "BTC", "0.2");
    assert.equal(!plan.ok && plan.rejection.rule, "exit_blocked_by_orders");
    assert.match(!plan.ok ? plan.rejection.message : "", /T1/);
  });
});

Deno.test("fillEstimate() walks the book to the order's size, up to its limit", async (t) => {
  const book = {
    bids: [{ price: "99", qty: "1" }, { price: "98", qty: "1" }],
    asks: [{ price: "100", qty: "1" }, { price: "102", qty: "1" }],
  };
  await t.step("market buy across two levels", () => {
    const fill = fillEstimate({ side: "buy", volume: "2" }, book)!;
    assert.equal(fill.first, "100");
    assert.equal(fill.average, "101");
    assert.equal(fill.marketable, true);
    assert.equal(fill.thin, false);
  });
  await t.step(
    "market sell beyond the book is thin, priced at the last level",
    () => {
      const fill = fillEstimate({ side: "sell", volume: "3" }, book)!;
      assert.equal(fill.first, "99");
      assert.equal(fill.average, "98.333333333333"); // (99 + 98 + 98) / 3
      assert.equal(fill.thin, true);
    },
  );
  await t.step(
    "a marketable limit fills at the book, the rest rests at the limit",
    () => {
      const fill = fillEstimate(
        { side: "buy", volume: "2", limit: "101" },
        book,
      )!;
      assert.equal(fill.first, "100");
      assert.equal(fill.average, "100.5");
    },
  );
  await t.step("a limit below the ask rests at its limit", () => {
    const fill = fillEstimate({ side: "buy", volume: "1", limit: "95" }, book)!;
    assert.deepEqual(fill, {
      first: "95",
      average: "95",
      marketable: false,
      thin: false,
    });
  });
  await t.step("a market order on an empty side has no estimate", () => {
    assert.equal(
      fillEstimate({ side: "buy", volume: "1" }, { bids: [], asks: [] }),
      undefined,
    );
  });
});

Deno.test("judgeCancel names the pair as people read it in its advice", () => {
  const account = {
    held: { BTC: "0.1" },
    orders: [{
      id: "O1",
      pair: "XBTUSD",
      symbol: "BTC/USD",
      base: "BTC",
      side: "sell" as const,
      type: "stop-loss",
      remaining: "0.1",
      price: "24000",
      closeAttached: false,
    }],
  };
  const refusal = judgeCancel(account, "O1");
  assert.equal(refusal?.rule, "stop_protects_position");
  assert.match(refusal?.message ?? "", /krakked close BTC\/USD/);
  const { symbol: _symbol, ...withoutSymbol } = account.orders[0]!;
  assert.match(
    judgeCancel({ ...account, orders: [withoutSymbol] }, "O1")?.message ?? "",
    /krakked close XBTUSD/,
  );
});
