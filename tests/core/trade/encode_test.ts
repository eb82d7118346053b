import assert from "node:assert/strict";
import { encodeForm } from "../../../core/auth/sign.ts";
import {
  addOrderRestParams,
  addOrderWsParams,
  wsNumber,
} from "../../../core/trade/encode.ts";
import { prepareOrder } from "../../../core/trade/gates.ts";
import { context, entry, NOW_MS, xbtusd, xdgusd } from "./_fixtures.ts";
import restGolden from "./testdata/add_order_rest.json" with { type: "json" };

const WS_GOLDEN = (await Deno.readTextFile(
  new URL("./testdata/add_order_ws.jsonl", import.meta.url),
)).trim().split("\n").map((line) => JSON.parse(line));

/** A golden WS request's params without the token the transport adds. */
function wsGolden(index: number): Record<string, unknown> {
  const { token: _token, ...params } = WS_GOLDEN[index].params;
  return params;
}

Deno.test("addOrderRestParams() reproduces REST.md's stop-loss-limit close body", () => {
  const pairs = addOrderRestParams(
    entry({
      stopLoss: {
        type: "stop-loss-limit",
        triggerPrice: "22000",
        limitPrice: "21000",
      },
    }),
    xbtusd(),
  );
  const golden = restGolden.stop_loss_limit_close;
  // Same parameters in the same order, and the same signed body bytes.
  assert.deepEqual(
    pairs,
    [...new URLSearchParams(golden).entries()],
    "REST.md §4.3: ordertype, type, volume, pair, price, then close[ordertype], close[price], close[price2]",
  );
  assert.equal(encodeForm(pairs), new URLSearchParams(golden).toString());
  assert.equal(
    encodeForm(pairs),
    "ordertype=limit&type=buy&volume=0.01&pair=XBTUSD&price=25000.1&close%5Bordertype%5D=stop-loss-limit&close%5Bprice%5D=22000&close%5Bprice2%5D=21000",
  );
});

Deno.test("addOrderRestParams() reproduces the spec's add_example body", () => {
  const pairs = addOrderRestParams({
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "1.25",
    price: "27500",
    clientRef: {
      kind: "cl_ord_id",
      clOrdId: "6d1b345e-2821-40e2-ad83-4ecb18a06876",
    },
  }, xbtusd());
  assert.deepEqual(pairs, Object.entries(restGolden.add_example));
});

Deno.test("addOrderRestParams() encodes each order type and flag", async (t) => {
  const pair = xbtusd();
  const cases: Array<
    [string, Parameters<typeof entry>[0], [string, string][]]
  > = [
    ["market", { type: "market", price: undefined, stopLoss: undefined }, [
      ["ordertype", "market"],
      ["type", "buy"],
      ["volume", "0.01"],
      ["pair", "XBTUSD"],
    ]],
    ["iceberg with display volume", {
      type: "iceberg",
      displayVolume: "0.001",
      stopLoss: undefined,
    }, [
      ["ordertype", "iceberg"],
      ["type", "buy"],
      ["volume", "0.01"],
      ["pair", "XBTUSD"],
      ["price", "25000.1"],
      ["displayvol", "0.001"],
    ]],
    ["take-profit-limit with index trigger", {
      type: "take-profit-limit",
      price: "24000",
      price2: "24100",
      trigger: "index",
      stopLoss: undefined,
    }, [
      ["ordertype", "take-profit-limit"],
      ["type", "buy"],
      ["volume", "0.01"],
      ["pair", "XBTUSD"],
      ["price", "24000"],
      ["price2", "24100"],
      ["trigger", "index"],
    ]],
    ["trailing-stop by amount and percent", {
      side: "sell",
      type: "trailing-stop",
      price: undefined,
      trailingOffset: { amount: "150", unit: "quote" },
      stopLoss: undefined,
    }, [
      ["ordertype", "trailing-stop"],
      ["type", "sell"],
      ["volume", "0.01"],
      ["pair", "XBTUSD"],
      ["price", "+150"],
    ]],
    ["post-only GTD with leverage, reduce-only, userref and validate", {
      postOnly: true,
      timeInForce: "GTD",
      expireAtSec: 1741087800,
      leverage: 2,
      reduceOnly: true,
      clientRef: { kind: "userref", userref: 123456 },
      validateOnly: true,
    }, [
      ["ordertype", "limit"],
      ["type", "buy"],
      ["volume", "0.01"],
      ["pair", "XBTUSD"],
      ["price", "25000.1"],
      ["leverage", "2"],
      ["reduce_only", "true"],
      ["oflags", "post"],
      ["timeinforce", "GTD"],
      ["expiretm", "1741087800"],
      ["close[ordertype]", "stop-loss"],
      ["close[price]", "24000"],
      ["userref", "123456"],
      ["validate", "true"],
    ]],
  ];
  for (const [name, order, expected] of cases) {
    await t.step(name, () => {
      assert.deepEqual(addOrderRestParams(entry(order), pair), expected);
    });
  }
  await t.step(
    "a percent trailing offset carries + and % (sent as %2B)",
    () => {
      const pairs = addOrderRestParams(
        entry({
          side: "sell",
          type: "trailing-stop",
          price: undefined,
          trailingOffset: { amount: "2.5", unit: "pct" },
          stopLoss: undefined,
        }),
        pair,
      );
      assert.deepEqual(pairs.at(-1), ["price", "+2.5%"]);
      assert.match(encodeForm(pairs), /price=%2B2\.5%25$/);
    },
  );
});

Deno.test("addOrderWsParams() reproduces WS_V2.md's add_order examples", async (t) => {
  await t.step(
    "(a) post-only limit buy with a stop-loss-limit conditional",
    () => {
      const params = addOrderWsParams(
        {
          pair: "XBTUSD",
          side: "buy",
          type: "limit",
          volume: "0.0100",
          price: "96500.0",
          timeInForce: "GTC",
          postOnly: true,
          stopLoss: {
            type: "stop-loss-limit",
            triggerPrice: "95000.0",
            limitPrice: "94900.0",
          },
        },
        xbtusd(),
      );
      // Key order too: compare the serialised JSON.
      assert.equal(JSON.stringify(params), JSON.stringify(wsGolden(0)));
    },
  );
  await t.step("(c) plain limit sell with a client id", () => {
    const params = addOrderWsParams(
      {
        pair: "XDGUSD",
        side: "sell",
        type: "limit",
        volume: "2500",
        price: "0.18250",
        intent: "exit",
        clientRef: { kind: "cl_ord_id", clOrdId: "bot-20250304-0001" },
      },
      xdgusd(),
    );
    assert.equal(JSON.stringify(params), JSON.stringify(wsGolden(1)));
  });
});

Deno.test("addOrderWsParams() encodes triggers, flags and refs", async (t) => {
  const pair = xbtusd();
  await t.step("stop-loss: triggers with a static price", () => {
    const params = addOrderWsParams(
      entry({
        side: "sell",
        type: "stop-loss",
        price: "24000",
        stopLoss: undefined,
      }),
      pair,
    );
    assert.deepEqual(params, {
      symbol: "BTC/USD",
      side: "sell",
      order_type: "stop-loss",
      order_qty: 0.01,
      triggers: { reference: "last", price: 24000, price_type: "static" },
    });
  });
  await t.step(
    "stop-loss-limit: trigger in triggers, limit in limit_price",
    () => {
      const params = addOrderWsParams(
        entry({
          type: "stop-loss-limit",
          price: "26000",
          price2: "26100",
          trigger: "index",
        }),
        pair,
      );
      assert.equal(params.limit_price, 26100);
      assert.deepEqual(params.triggers, {
        reference: "index",
        price: 26000,
        price_type: "static",
      });
      assert.deepEqual(params.conditional, {
        order_type: "stop-loss",
        trigger_price: 24000,
      });
    },
  );
  await t.step("trailing-stop: distance in triggers, quote or pct", () => {
    const quote = addOrderWsParams(
      entry({
        side: "sell",
        type: "trailing-stop",
        price: undefined,
        trailingOffset: { amount: "150", unit: "quote" },
        stopLoss: undefined,
      }),
      pair,
    );
    assert.deepEqual(quote.triggers, {
      reference: "last",
      price: 150,
      price_type: "quote",
    });
    const pct = addOrderWsParams(
      entry({
        side: "sell",
        type: "trailing-stop",
        price: undefined,
        trailingOffset: { amount: "1.5", unit: "pct" },
        stopLoss: undefined,
      }),
      pair,
    );
    assert.equal(pct.triggers?.price_type, "pct");
    assert.equal(pct.limit_price, undefined);
  });
  await t.step(
    "iceberg, GTD, reduce-only, margin, userref and validate",
    () => {
      const params = addOrderWsParams(
        entry({
          type: "iceberg",
          displayVolume: "0.001",
          timeInForce: "GTD",
          expireAtSec: NOW_MS / 1000 + 3600,
          reduceOnly: true,
          leverage: 3,
          clientRef: { kind: "userref", userref: 9 },
          validateOnly: true,
        }),
        pair,
      );
      assert.deepEqual(params, {
        symbol: "BTC/USD",
        side: "buy",
        order_type: "iceberg",
        order_qty: 0.01,
        display_qty: 0.001,
        limit_price: 25000.1,
        time_in_force: "gtd",
        expire_time: "2025-03-04T11:30:00.000Z",
        reduce_only: true,
        margin: true,
        conditional: { order_type: "stop-loss", trigger_price: 24000 },
        order_userref: 9,
        validate: true,
      });
    },
  );
  await t.step("a prepared order encodes the same both ways", () => {
    const result = prepareOrder(entry(), context());
    assert.ok(result.ok);
    const { order, pair: meta } = result.prepared;
    assert.deepEqual(addOrderRestParams(order, meta).at(-1), ["userref", "1"]);
    assert.equal(addOrderWsParams(order, meta).order_userref, 1);
  });
});

Deno.test("wsNumber() refuses decimals a JSON number cannot carry exactly", () => {
  assert.equal(wsNumber("order_qty", "0.0100"), 0.01);
  assert.equal(wsNumber("limit_price", "0.18250"), 0.1825);
  assert.throws(
    () => wsNumber("order_qty", "1234567890.123456789"),
    { name: "RangeError", message: /order_qty "1234567890.123456789"/ },
  );
  assert.throws(() => wsNumber("limit_price", "abc"), RangeError);
});

Deno.test("the fee currency travels as oflags over REST and fee_preference over WS", () => {
  const pair = xbtusd();
  const order = (extra: Record<string, unknown>) => ({
    ...entry({ intent: "exit", side: "sell", stopLoss: undefined }),
    intent: "exit" as const,
    clientRef: { kind: "cl_ord_id" as const, clOrdId: "exit-1" },
    ...extra,
  });
  const flags = (extra: Record<string, unknown>) =>
    addOrderRestParams(order(extra), pair).filter(([k]) => k === "oflags");
  assert.deepEqual(flags({ feeIn: "quote" }), [["oflags", "fciq"]]);
  assert.deepEqual(flags({ feeIn: "base", postOnly: true }), [[
    "oflags",
    "post,fcib",
  ]]);
  assert.deepEqual(flags({}), []);
  assert.equal(
    addOrderWsParams(order({ feeIn: "quote" }), pair).fee_preference,
    "quote",
  );
  assert.equal(addOrderWsParams(order({}), pair).fee_preference, undefined);
});
