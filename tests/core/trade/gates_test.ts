import assert from "node:assert/strict";
import {
  prepareOrder,
  type PrepareResult,
  resolveRoute,
} from "../../../core/trade/gates.ts";
import {
  context,
  entry,
  ethxbt,
  gateConfig,
  includeInUniverse,
  NOW_MS,
  type OrderOverrides,
} from "./_fixtures.ts";

function rejected(result: PrepareResult) {
  assert.equal(result.ok, false, "expected a rejection");
  return (result as Extract<PrepareResult, { ok: false }>).rejection;
}

function accepted(result: PrepareResult) {
  if (!result.ok) {
    assert.fail(
      `expected acceptance, got ${result.rejection.rule}: ${result.rejection.message}`,
    );
  }
  return result.prepared;
}

Deno.test("resolveRoute(): read_only refuses, live needs both switches", async (t) => {
  await t.step("read_only (the default) refuses every order", () => {
    const r = resolveRoute(gateConfig({ mode: "read_only" }), true);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.rejection.rule, "mode_read_only");
  });
  await t.step("dry_run and paper pass through", () => {
    assert.deepEqual(resolveRoute(gateConfig({ mode: "dry_run" }), false), {
      ok: true,
      route: "dry_run",
    });
    assert.deepEqual(resolveRoute(gateConfig({ mode: "paper" }), true), {
      ok: true,
      route: "paper",
    });
  });
  const cases: Array<[boolean, boolean, string | null]> = [
    [
      false,
      false,
      "trading.enable_live_orders is false and the --live flag (or KRAKKED_LIVE=1) was not given",
    ],
    [true, false, "the --live flag (or KRAKKED_LIVE=1) was not given"],
    [false, true, "trading.enable_live_orders is false"],
    [true, true, null],
  ];
  for (const [config, flag, missing] of cases) {
    await t.step(
      `live with enable_live_orders=${config} and switch=${flag}`,
      () => {
        const r = resolveRoute(
          gateConfig({ mode: "live", enable_live_orders: config }),
          flag,
        );
        if (missing === null) {
          assert.deepEqual(r, { ok: true, route: "live" });
        } else {
          assert.equal(r.ok, false);
          assert.equal(!r.ok && r.rejection.rule, "live_not_enabled");
          assert.equal(
            !r.ok && r.rejection.message,
            `Live orders need both switches: ${missing}`,
          );
        }
      },
    );
  }
});

Deno.test("prepareOrder() accepts a protected entry and allocates a userref", () => {
  const prepared = accepted(prepareOrder(entry(), context()));
  assert.equal(prepared.route, "paper");
  assert.equal(prepared.expectedPrice, "25000.1");
  assert.equal(prepared.notionalUsd, "250.001");
  assert.equal(prepared.preparedAtMs, NOW_MS);
  assert.equal(prepared.order.intent, "entry");
  // The first fake UUID is 00000000-0000-0000-0000-000000000001: 0 → 1.
  assert.deepEqual(prepared.order.clientRef, { kind: "userref", userref: 1 });
  assert.equal(prepared.pair.id, "XBTUSD");
});

Deno.test("prepareOrder() fires every gate with its rule and reason", async (t) => {
  const cases: Array<
    [string, OrderOverrides, Parameters<typeof context>[0], string, RegExp]
  > = [
    [
      "read_only mode",
      {},
      { config: gateConfig({ mode: "read_only" }) },
      "mode_read_only",
      /trading.mode is read_only/,
    ],
    [
      "live without the flag",
      {},
      { config: gateConfig({ mode: "live", enable_live_orders: true }) },
      "live_not_enabled",
      /--live flag/,
    ],
    [
      "validation comes before the gates",
      { price: "25000.15" },
      {},
      "price_decimals",
      /2 decimals/,
    ],
    [
      "allowlist",
      {},
      { config: gateConfig({ allowed_symbols: ["ETHUSD", "SOL/USD"] }) },
      "symbol_not_allowed",
      /XBTUSD is not in trading.allowed_symbols \(ETHUSD, SOL\/USD\)/,
    ],
    [
      "empty allowlist means the universe",
      {},
      { universe: ["ETHUSD"] },
      "symbol_not_allowed",
      /not in the trading universe/,
    ],
    [
      "leverage without margin",
      { leverage: 2 },
      {},
      "margin_not_allowed",
      /leverage 2 needs margin.*region.supports_margin is false/,
    ],
    [
      "reduce-only without margin",
      { reduceOnly: true },
      {},
      "margin_not_allowed",
      /reduceOnly applies to margin positions/,
    ],
    [
      "spot sell entry",
      { side: "sell", stopLoss: { type: "stop-loss", triggerPrice: "26000" } },
      {},
      "sell_entry_needs_margin",
      /would open a short/,
    ],
    [
      "entry without stop-loss",
      { stopLoss: undefined },
      {},
      "stop_loss_required",
      /Every entry order needs an attached stopLoss/,
    ],
    [
      "buy stop above entry",
      { stopLoss: { type: "stop-loss", triggerPrice: "25100" } },
      {},
      "stop_loss_wrong_side",
      /stopLoss.triggerPrice 25100 must be below the price the buy can fill at, 25000.1/,
    ],
    [
      "buy stop at the entry",
      { stopLoss: { type: "stop-loss", triggerPrice: "25000.1" } },
      {},
      "stop_loss_wrong_side",
      /must be below/,
    ],
    [
      "stop-limit limit above its trigger",
      {
        stopLoss: {
          type: "stop-loss-limit",
          triggerPrice: "24000",
          limitPrice: "24100",
        },
      },
      {},
      "stop_loss_wrong_side",
      /stopLoss.limitPrice 24100 must be at or below the trigger 24000 \(the close sells\)/,
    ],
    // 25000.1 − 22000 = 3000.1 = 11.99995… % of 25000.1, shown rounded to 12 %, > 10 %
    [
      "stop too far",
      { stopLoss: { type: "stop-loss", triggerPrice: "22000" } },
      {},
      "stop_loss_too_far",
      /stopLoss.triggerPrice 22000 is 12 % from the entry price 25000.1; trading.stop_loss_max_distance_pct is 10 %/,
    ],
    [
      "market entry without a reference price",
      { type: "market", price: undefined },
      { referencePrice: undefined },
      "price_unavailable",
      /needs the market price/,
    ],
    [
      "non-USD quote without a USD price",
      {
        pair: "ETHXBT",
        volume: "0.1",
        price: "0.05",
        stopLoss: { type: "stop-loss", triggerPrice: "0.048" },
      },
      {
        pair: ethxbt(),
        config: includeInUniverse(gateConfig(), "ETHXBT"),
        referencePrice: "0.051",
      },
      "price_unavailable",
      /No USD price for BTC/,
    ],
    // 0.02 × 25000.1 = 500.002 USD > 500
    [
      "max notional",
      { volume: "0.02" },
      {},
      "max_notional",
      /Order notional 500.002 USD \(volume 0.02 × price 25000.1 USD\) exceeds trading.max_notional_usd 500 USD/,
    ],
    // (0.035 + 0.01) × 25000.1 = 1125.0045 USD > 1000
    [
      "max position",
      {},
      { positionBase: "0.035" },
      "max_position",
      /exposure would be 0.045 BTC \(position 0.035 \+ order 0.01\) = 1125.0045 USD, above trading.max_position_notional_usd 1000 USD/,
    ],
    [
      "exit with a stop-loss",
      { intent: "exit", side: "sell" },
      { positionBase: "1" },
      "stop_loss_on_exit",
      /carries no stopLoss/,
    ],
    [
      "exit without position",
      { intent: "exit", side: "sell", stopLoss: undefined },
      {},
      "exit_without_position",
      /sell exit needs a long BTC position on XBTUSD, position is unknown/,
    ],
    [
      "sell exit of a short",
      { intent: "exit", side: "sell", stopLoss: undefined },
      { positionBase: "-0.5" },
      "exit_without_position",
      /position is -0.5/,
    ],
    [
      "exit beyond the position",
      { intent: "exit", side: "sell", stopLoss: undefined, volume: "0.02" },
      { positionBase: "0.015" },
      "exit_exceeds_position",
      /exit volume 0.02 exceeds the XBTUSD position 0.015 BTC/,
    ],
  ];
  for (const [name, order, ctx, rule, message] of cases) {
    await t.step(name, () => {
      const rejection = rejected(prepareOrder(entry(order), context(ctx)));
      assert.equal(rejection.rule, rule, rejection.message);
      assert.match(rejection.message, message);
    });
  }
});

Deno.test("prepareOrder() passes what the gates allow", async (t) => {
  await t.step("live with both switches", () => {
    const prepared = accepted(prepareOrder(
      entry(),
      context({
        config: gateConfig({ mode: "live", enable_live_orders: true }),
        liveSwitch: true,
      }),
    ));
    assert.equal(prepared.route, "live");
  });
  await t.step("dry_run still runs every gate", () => {
    const config = gateConfig({ mode: "dry_run" });
    assert.equal(
      accepted(prepareOrder(entry(), context({ config }))).route,
      "dry_run",
    );
    const r = rejected(
      prepareOrder(entry({ stopLoss: undefined }), context({ config })),
    );
    assert.equal(r.rule, "stop_loss_required");
  });
  await t.step("allowlist by any spelling, universe by id", () => {
    for (const symbol of ["BTC/USD", "XBTUSD", "XXBTZUSD"]) {
      const config = gateConfig({ allowed_symbols: [symbol] });
      accepted(prepareOrder(entry(), context({ config })));
    }
    accepted(prepareOrder(entry(), context({ universe: new Set(["XBTUSD"]) })));
  });
  await t.step("a stop exactly at the maximum distance", () => {
    // 25000 − 22500 = 2500 = 10 % of 25000 exactly.
    accepted(prepareOrder(
      entry({
        price: "25000",
        stopLoss: { type: "stop-loss", triggerPrice: "22500" },
      }),
      context(),
    ));
  });
  await t.step("notional exactly at the maximum", () => {
    // 0.02 × 25000 = 500 USD.
    accepted(
      prepareOrder(entry({ volume: "0.02", price: "25000" }), context()),
    );
  });
  await t.step("market entry sized by the reference price", () => {
    const prepared = accepted(prepareOrder(
      entry({ type: "market", price: undefined }),
      context({ referencePrice: "25010" }),
    ));
    assert.equal(prepared.notionalUsd, "250.1");
  });
  await t.step("non-USD quote converted with the price lookup", () => {
    // 0.1 ETH × 0.05 BTC × 60000 USD/BTC = 300 USD
    const prepared = accepted(prepareOrder(
      entry({
        pair: "ETHXBT",
        volume: "0.1",
        price: "0.05",
        stopLoss: { type: "stop-loss", triggerPrice: "0.048" },
      }),
      context({
        pair: ethxbt(),
        config: includeInUniverse(gateConfig(), "ETHXBT"),
        referencePrice: "0.051",
        usdPrice: (asset) => asset === "BTC" ? "60000" : undefined,
      }),
    ));
    assert.equal(prepared.notionalUsd, "300");
  });
  await t.step(
    "a sell exit of a held position gets a cl_ord_id and skips the notional cap",
    () => {
      const prepared = accepted(prepareOrder(
        entry({
          intent: "exit",
          side: "sell",
          stopLoss: undefined,
          volume: "0.03",
        }),
        context({ positionBase: "0.03" }),
      ));
      assert.equal(prepared.order.clientRef.kind, "cl_ord_id");
      assert.equal(prepared.notionalUsd, "750.003");
    },
  );
  await t.step("leverage and short entries on a margin region", () => {
    const config = gateConfig({}, true);
    const prepared = accepted(prepareOrder(
      entry({
        side: "sell",
        leverage: 2,
        stopLoss: { type: "stop-loss", triggerPrice: "26000" },
      }),
      context({ config }),
    ));
    assert.equal(prepared.order.leverage, 2);
    const wrong = rejected(prepareOrder(
      entry({
        side: "sell",
        leverage: 2,
        stopLoss: { type: "stop-loss", triggerPrice: "24000" },
      }),
      context({ config }),
    ));
    assert.equal(wrong.rule, "stop_loss_wrong_side");
    assert.match(wrong.message, /must be above the price the sell can fill at/);
  });
  await t.step("a caller-chosen client ref is kept", () => {
    const prepared = accepted(prepareOrder(
      entry({ clientRef: { kind: "userref", userref: 77 } }),
      context(),
    ));
    assert.deepEqual(prepared.order.clientRef, {
      kind: "userref",
      userref: 77,
    });
  });
});
