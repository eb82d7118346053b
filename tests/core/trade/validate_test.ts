import assert from "node:assert/strict";
import type { OrderRequest } from "../../../core/trade/order.ts";
import {
  expectedPrice,
  priceProblem,
  validateOrder,
} from "../../../core/trade/validate.ts";
import { entry, NOW_MS, type OrderOverrides, xbtusd } from "./_fixtures.ts";

const NOW_SEC = NOW_MS / 1000;

function check(order: OrderRequest, pair = xbtusd(), referencePrice?: string) {
  return validateOrder(order, pair, {
    nowMs: NOW_MS,
    ...(referencePrice === undefined ? {} : { referencePrice }),
  });
}

Deno.test("validateOrder() accepts every order type in its valid form", async (t) => {
  const valid: Record<string, OrderOverrides> = {
    market: { type: "market", price: undefined },
    limit: {},
    iceberg: { type: "iceberg", displayVolume: "0.001" },
    "stop-loss": { type: "stop-loss", price: "26000" },
    "take-profit": { type: "take-profit", price: "24500" },
    "stop-loss-limit": {
      type: "stop-loss-limit",
      price: "26000",
      price2: "26100",
    },
    "take-profit-limit": {
      type: "take-profit-limit",
      price: "24500",
      price2: "24600",
    },
    "trailing-stop (quote)": {
      type: "trailing-stop",
      price: undefined,
      trailingOffset: { amount: "50", unit: "quote" },
    },
    "trailing-stop (pct)": {
      type: "trailing-stop",
      price: undefined,
      trailingOffset: { amount: "1.5", unit: "pct" },
    },
    "post-only GTD": {
      postOnly: true,
      timeInForce: "GTD",
      expireAtSec: NOW_SEC + 3600,
    },
    IOC: { timeInForce: "IOC" },
    "leverage offered": { leverage: 2 },
    "client ref": { clientRef: { kind: "userref", userref: 42 } },
    "stop-loss-limit close": {
      stopLoss: {
        type: "stop-loss-limit",
        triggerPrice: "24000",
        limitPrice: "23900",
      },
    },
    "pair by v2 symbol": { pair: "btc/usd" },
  };
  for (const [name, overrides] of Object.entries(valid)) {
    await t.step(name, () => {
      assert.equal(check(entry(overrides), xbtusd(), "25000"), null);
    });
  }
});

Deno.test("validateOrder() names the rule and the field for each problem", async (t) => {
  const cases: Array<
    [string, OrderOverrides, string, string | undefined, RegExp]
  > = [
    [
      "bad side",
      { side: "hold" as "buy" },
      "order_invalid",
      "side",
      /side must be buy or sell, got "hold"/,
    ],
    [
      "bad type",
      { type: "oco" as "limit" },
      "order_invalid",
      "type",
      /type must be one of market, limit/,
    ],
    [
      "other pair",
      { pair: "ETHUSD" },
      "pair_mismatch",
      "pair",
      /"ETHUSD" does not match the metadata of XBTUSD/,
    ],
    [
      "volume text",
      { volume: "1e-3" },
      "volume_invalid",
      "volume",
      /volume must be a positive decimal number, got "1e-3"/,
    ],
    ["volume zero", { volume: "0" }, "volume_invalid", "volume", /got "0"/],
    [
      "volume decimals",
      { volume: "0.000000001" },
      "volume_decimals",
      "volume",
      /9 decimals; XBTUSD allows at most 8/,
    ],
    [
      "ordermin",
      { volume: "0.00005" },
      "volume_below_ordermin",
      "volume",
      /below the XBTUSD minimum order 0.0001 BTC/,
    ],
    [
      "limit without price",
      { price: undefined },
      "price_required",
      "price",
      /price is required for a limit order/,
    ],
    [
      "market with price",
      { type: "market" },
      "price_not_allowed",
      "price",
      /price is not used by a market order, got "25000.1"/,
    ],
    [
      "limit with price2",
      { price2: "1" },
      "price_not_allowed",
      "price2",
      /price2 is not used by a limit order/,
    ],
    [
      "stop-loss-limit without price2",
      { type: "stop-loss-limit", price: "26000" },
      "price_required",
      "price2",
      /price2 is required/,
    ],
    [
      "negative price",
      { price: "-1" },
      "price_invalid",
      "price",
      /price must be a positive decimal number, got "-1"/,
    ],
    [
      "price decimals",
      { price: "25000.15" },
      "price_decimals",
      "price",
      /price 25000.15 has 2 decimals; XBTUSD allows at most 1/,
    ],
    [
      "trailing offset on a limit",
      { trailingOffset: { amount: "5", unit: "quote" } },
      "price_not_allowed",
      "trailingOffset",
      /only used by a trailing-stop order/,
    ],
    [
      "trailing without offset",
      { type: "trailing-stop", price: undefined },
      "price_required",
      "trailingOffset",
      /trailingOffset is required/,
    ],
    [
      "trailing offset zero",
      {
        type: "trailing-stop",
        price: undefined,
        trailingOffset: { amount: "0", unit: "quote" },
      },
      "trailing_offset_invalid",
      "trailingOffset.amount",
      /positive decimal number, got "0"/,
    ],
    [
      "trailing pct too big",
      {
        type: "trailing-stop",
        price: undefined,
        trailingOffset: { amount: "100", unit: "pct" },
      },
      "trailing_offset_invalid",
      "trailingOffset.amount",
      /below 100 %/,
    ],
    [
      "trailing quote off decimals",
      {
        type: "trailing-stop",
        price: undefined,
        trailingOffset: { amount: "5.05", unit: "quote" },
      },
      "price_decimals",
      "trailingOffset.amount",
      /trailingOffset.amount 5.05 has 2 decimals/,
    ],
    [
      "iceberg without display",
      { type: "iceberg" },
      "display_volume_invalid",
      "displayVolume",
      /required for an iceberg/,
    ],
    [
      "iceberg display below 1/15",
      { type: "iceberg", volume: "0.15", displayVolume: "0.0099" },
      "display_volume_invalid",
      "displayVolume",
      /between volume \/ 15 and volume \(0.15\)/,
    ],
    [
      "iceberg display above volume",
      { type: "iceberg", displayVolume: "0.02" },
      "display_volume_invalid",
      "displayVolume",
      /got "0.02"/,
    ],
    [
      "display on a limit",
      { displayVolume: "0.01" },
      "display_volume_invalid",
      "displayVolume",
      /only used by an iceberg/,
    ],
    [
      "post-only market",
      { type: "market", price: undefined, postOnly: true },
      "post_only_not_allowed",
      "postOnly",
      /limit and iceberg orders only, got market/,
    ],
    [
      "bad tif",
      { timeInForce: "FOK" as "GTC" },
      "time_in_force_invalid",
      "timeInForce",
      /got "FOK"/,
    ],
    [
      "IOC post-only",
      { timeInForce: "IOC", postOnly: true },
      "time_in_force_invalid",
      "timeInForce",
      /IOC cannot be combined with postOnly/,
    ],
    [
      "GTD without expiry",
      { timeInForce: "GTD" },
      "expiry_invalid",
      "expireAtSec",
      /required with timeInForce GTD/,
    ],
    [
      "GTD too soon",
      { timeInForce: "GTD", expireAtSec: NOW_SEC + 4 },
      "expiry_invalid",
      "expireAtSec",
      /from 5 s to 30 days ahead, got 1741084204 \(now 1741084200\)/,
    ],
    [
      "GTD too far",
      { timeInForce: "GTD", expireAtSec: NOW_SEC + 31 * 86400 },
      "expiry_invalid",
      "expireAtSec",
      /30 days ahead/,
    ],
    [
      "expiry without GTD",
      { expireAtSec: NOW_SEC + 60 },
      "expiry_invalid",
      "expireAtSec",
      /only used with timeInForce GTD, got timeInForce GTC/,
    ],
    [
      "leverage not offered",
      { leverage: 10 },
      "leverage_invalid",
      "leverage",
      /leverage 10 is not offered for buys on XBTUSD \(offered: 2, 3, 4, 5\)/,
    ],
    [
      "bad userref",
      { clientRef: { kind: "userref", userref: 2 ** 31 } },
      "client_ref_invalid",
      "clientRef",
      /signed 32-bit/,
    ],
    [
      "cl_ord_id with close",
      { clientRef: { kind: "cl_ord_id", clOrdId: "bot-1" } },
      "client_ref_invalid",
      "clientRef",
      /cl_ord_id cannot be combined with an attached stop-loss/,
    ],
    [
      "bad close type",
      { stopLoss: { type: "take-profit" as "stop-loss", triggerPrice: "1" } },
      "stop_loss_invalid",
      "stopLoss.type",
      /got "take-profit"/,
    ],
    [
      "close trigger off tick",
      { stopLoss: { type: "stop-loss", triggerPrice: "24000.05" } },
      "price_decimals",
      "stopLoss.triggerPrice",
      /stopLoss.triggerPrice 24000.05/,
    ],
    [
      "stop-loss-limit without limit",
      { stopLoss: { type: "stop-loss-limit", triggerPrice: "24000" } },
      "stop_loss_invalid",
      "stopLoss.limitPrice",
      /required for a stop-loss-limit/,
    ],
    [
      "stop-loss with limit",
      {
        stopLoss: {
          type: "stop-loss",
          triggerPrice: "24000",
          limitPrice: "23900",
        },
      },
      "stop_loss_invalid",
      "stopLoss.limitPrice",
      /only used by a stop-loss-limit/,
    ],
    [
      "close limit invalid",
      {
        stopLoss: {
          type: "stop-loss-limit",
          triggerPrice: "24000",
          limitPrice: "x",
        },
      },
      "price_invalid",
      "stopLoss.limitPrice",
      /got "x"/,
    ],
    [
      "costmin",
      { volume: "0.0001", price: "4000" },
      "cost_below_costmin",
      "volume",
      /order cost 0.4 USD \(volume 0.0001 × price 4000\) is below the XBTUSD minimum cost 0.5 USD/,
    ],
  ];
  for (const [name, overrides, rule, field, message] of cases) {
    await t.step(name, () => {
      const rejection = check(entry(overrides));
      assert.ok(rejection, `${name}: expected a rejection`);
      assert.equal(rejection.rule, rule, rejection.message);
      assert.equal(rejection.field, field);
      assert.match(rejection.message, message);
    });
  }
});

Deno.test("validateOrder() applies the pair's trading status", async (t) => {
  await t.step("cancel_only refuses every new order", () => {
    const r = check(entry(), xbtusd({ status: "cancel_only" }));
    assert.equal(r?.rule, "pair_cancel_only");
    assert.match(r?.message ?? "", /XBTUSD is in cancel_only status/);
  });
  await t.step("an unknown status such as offline refuses orders", () => {
    const r = check(entry(), xbtusd({ status: "offline" }));
    assert.equal(r?.rule, "pair_not_trading");
    assert.match(r?.message ?? "", /status is offline/);
  });
  await t.step("post_only accepts only post-only orders", () => {
    const pair = xbtusd({ status: "post_only" });
    assert.equal(check(entry(), pair)?.rule, "pair_post_only");
    assert.equal(check(entry({ postOnly: true }), pair), null);
  });
  await t.step("limit_only accepts only limit-priced orders and closes", () => {
    const pair = xbtusd({ status: "limit_only" });
    const market = check(
      entry({ type: "market", price: undefined }),
      pair,
      "25000",
    );
    assert.equal(market?.rule, "pair_limit_only");
    assert.equal(market?.field, "type");
    const stopClose = check(entry(), pair);
    assert.equal(stopClose?.rule, "pair_limit_only");
    assert.equal(stopClose?.field, "stopLoss.type");
    assert.equal(
      check(
        entry({
          stopLoss: {
            type: "stop-loss-limit",
            triggerPrice: "24000",
            limitPrice: "23900",
          },
        }),
        pair,
      ),
      null,
    );
    assert.equal(
      check(entry({ stopLoss: undefined, intent: "exit" }), pair),
      null,
    );
  });
  await t.step("reduce_only accepts only reduce-only orders", () => {
    const pair = xbtusd({ status: "reduce_only" });
    assert.equal(check(entry(), pair)?.rule, "pair_reduce_only");
    assert.equal(check(entry({ reduceOnly: true }), pair), null);
  });
});

Deno.test("validateOrder() checks tick size and costmin with the reference price", () => {
  const pair = xbtusd({ tick_size: "0.5" });
  const r = check(entry({ price: "25000.3" }), pair);
  assert.equal(r?.rule, "price_tick_size");
  assert.match(
    r?.message ?? "",
    /price 25000.3 is not a multiple of the XBTUSD tick size 0.5/,
  );
  const market = entry({ type: "market", price: undefined, volume: "0.0001" });
  assert.equal(check(market, xbtusd(), "4000")?.rule, "cost_below_costmin");
  assert.equal(check(market, xbtusd(), "6000"), null);
  // Without a reference price a market order's cost is not known here; the
  // gate refuses it later with price_unavailable.
  assert.equal(check(market, xbtusd()), null);
  assert.equal(priceProblem("price", "0", pair)?.rule, "price_invalid");
});

Deno.test("expectedPrice() uses the price the order executes at", () => {
  assert.equal(expectedPrice({ type: "limit", price: "1" }), "1");
  assert.equal(expectedPrice({ type: "iceberg", price: "2" }), "2");
  assert.equal(expectedPrice({ type: "stop-loss", price: "3" }), "3");
  assert.equal(expectedPrice({ type: "take-profit", price: "4" }), "4");
  assert.equal(
    expectedPrice({ type: "take-profit-limit", price: "5", price2: "6" }),
    "6",
  );
  assert.equal(expectedPrice({ type: "market" }, "7"), "7");
  assert.equal(expectedPrice({ type: "trailing-stop" }), undefined);
});
