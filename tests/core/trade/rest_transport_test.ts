import assert from "node:assert/strict";
import { RestClient } from "../../../core/rest/client.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import {
  checkDeadManTimeout,
  RestOrderTransport,
} from "../../../core/trade/rest_transport.ts";
import {
  cancelBatchSize,
  DEFAULT_TRADING_COST_MARGIN,
  notSentError,
  wasNeverSent,
} from "../../../core/trade/transport.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeFetch, jsonResponse } from "../../fakes/fetch.ts";
import { ethusd, NOW_MS, xbtusd } from "./_fixtures.ts";
import { FakeCaller, live } from "./_transport_helpers.ts";

/** Kraken's exact table, without the jitter margin. */
const EXACT = { tradingCostMargin: 0 };

Deno.test("RestOrderTransport.addOrder() sends the encoded order once on the pair's counter", async () => {
  const rest = new FakeCaller(() => ({
    descr: {
      order: "buy 0.01000000 XBTUSD @ limit 25000.1",
      close: "close position @ stop loss 24000.0",
    },
    txid: ["OUF4EM-FRGI2-MQMWZD"],
  }));
  const transport = new RestOrderTransport(rest, EXACT);
  assert.equal(transport.kind, "rest");
  const ack = await transport.addOrder(live());
  assert.deepEqual(ack, {
    orderId: "OUF4EM-FRGI2-MQMWZD",
    description: "buy 0.01000000 XBTUSD @ limit 25000.1",
  });
  assert.equal(rest.calls.length, 1);
  const [call] = rest.calls;
  assert.equal(call!.method, "AddOrder");
  assert.deepEqual(Object.entries(call!.params), [
    ["ordertype", "limit"],
    ["type", "buy"],
    ["volume", "0.01"],
    ["pair", "XBTUSD"],
    ["price", "25000.1"],
    ["close[ordertype]", "stop-loss"],
    ["close[price]", "24000"],
    ["userref", "1"],
  ]);
  assert.deepEqual(call!.options, { pair: "XBTUSD", tradingCost: 1 });
});

Deno.test("RestOrderTransport.addOrder() handles validate-only and malformed answers", async (t) => {
  await t.step("validate-only has a description and no txid", async () => {
    const rest = new FakeCaller(() => ({ descr: { order: "buy …" } }));
    const ack = await new RestOrderTransport(rest).addOrder(
      live({ validateOnly: true }),
    );
    assert.deepEqual(ack, { orderId: null, description: "buy …" });
    assert.equal(rest.calls[0]!.params.validate, "true");
  });
  await t.step(
    "a real order without txid is an unexpected result",
    async () => {
      const rest = new FakeCaller(() => ({ descr: {} }));
      await assert.rejects(
        new RestOrderTransport(rest).addOrder(live()),
        (error: unknown) =>
          error instanceof KrakenError &&
          error.code === "Krakked:Unexpected result",
      );
    },
  );
  await t.step("Kraken's refusal passes through", async () => {
    const rest = new FakeCaller(() => {
      throw KrakenError.fromCodes(["EOrder:Insufficient funds"]);
    });
    await assert.rejects(
      new RestOrderTransport(rest).addOrder(live()),
      (error: unknown) =>
        error instanceof KrakenError && error.code ===
          "EOrder:Insufficient funds",
    );
  });
});

Deno.test("RestOrderTransport.addOrderBatch() sends one JSON batch with nested closes and maps rows", async () => {
  const rest = new FakeCaller(() => ({
    orders: [
      { txid: "OAAAAA-BBBBB-CCCCC1", descr: { order: "buy" } },
      { error: "EOrder:Insufficient funds" },
      { txid: "OAAAAA-BBBBB-CCCCC3", descr: { order: "buy" } },
    ],
  }));
  const orders = [
    live({ clientRef: { kind: "userref", userref: 11 } }),
    live({ clientRef: { kind: "userref", userref: 12 }, price: "25000.2" }),
    live({
      clientRef: { kind: "userref", userref: 13 },
      stopLoss: {
        type: "stop-loss-limit",
        triggerPrice: "24000",
        limitPrice: "23900",
      },
    }),
  ];
  const rows = await new RestOrderTransport(rest, EXACT).addOrderBatch(orders);
  assert.deepEqual(rows, [
    { orderId: "OAAAAA-BBBBB-CCCCC1", error: null },
    { orderId: null, error: "EOrder:Insufficient funds" },
    { orderId: "OAAAAA-BBBBB-CCCCC3", error: null },
  ]);
  const [call] = rest.calls;
  assert.equal(call!.method, "AddOrderBatch");
  assert.equal(call!.params.pair, "XBTUSD");
  const sent = call!.params.orders as Array<Record<string, unknown>>;
  assert.deepEqual(sent[2], {
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: "25000.1",
    close: { ordertype: "stop-loss-limit", price: "24000", price2: "23900" },
    userref: 13,
  });
  assert.deepEqual(call!.options, { pair: "XBTUSD", tradingCost: 1.5 });
});

Deno.test("RestOrderTransport.addOrderBatch() refuses batches Kraken would refuse", async (t) => {
  const transport = new RestOrderTransport(new FakeCaller());
  await t.step("one order", async () => {
    await assert.rejects(transport.addOrderBatch([live()]), RangeError);
  });
  await t.step("two pairs", async () => {
    const eth = live({
      pair: "ETHUSD",
      price: "2255",
      stopLoss: { type: "stop-loss", triggerPrice: "2200" },
    }, { pair: ethusd() });
    await assert.rejects(
      transport.addOrderBatch([live(), eth]),
      /one pair, got XBTUSD and ETHUSD/,
    );
  });
  await t.step("validate-only batches ask Kraken to validate", async () => {
    const rest = new FakeCaller(() => ({ orders: [{}, {}] }));
    const rows = await new RestOrderTransport(rest).addOrderBatch([
      live({ validateOnly: true }),
      live({ validateOnly: true }),
    ]);
    assert.equal(rest.calls[0]!.params.validate, true);
    assert.deepEqual(rows, [{ orderId: null, error: null }, {
      orderId: null,
      error: null,
    }]);
  });
  await t.step("an answer without rows is unexpected", async () => {
    const rest = new FakeCaller(() => ({}));
    await assert.rejects(
      new RestOrderTransport(rest).addOrderBatch([live(), live()]),
      /unexpected shape: no orders/,
    );
  });
});

Deno.test("RestOrderTransport charges amends, edits and cancels by the order's age", async (t) => {
  const rest = new FakeCaller((call) => {
    switch (call.method) {
      case "AmendOrder":
        return { "amend_id": "TEZA4R-DSDGT-IJBOJK" };
      case "EditOrder":
        return {
          status: "ok",
          txid: "ONEW00-AAAAA-BBBBBB",
          originaltxid: "OOLD00-AAAAA-BBBBBB",
        };
      case "CancelOrder":
        return { count: 1, pending: false };
      default:
        return { count: 3 };
    }
  });
  const transport = new RestOrderTransport(rest, EXACT);
  await t.step("amend at 7 s costs 1 + 2", async () => {
    const ack = await transport.amendOrder({
      target: { orderId: "OQCLML-BW3P3-BUCMWZ" },
      pair: "XBTUSD",
      ageMs: 7_000,
      orderQty: "0.02",
      limitPrice: "25000.5",
      triggerPrice: "24000.1",
      displayQty: "0.002",
      postOnly: true,
    });
    assert.deepEqual(ack, { amendId: "TEZA4R-DSDGT-IJBOJK" });
    const call = rest.of("AmendOrder")[0]!;
    assert.deepEqual(call.params, {
      txid: "OQCLML-BW3P3-BUCMWZ",
      "order_qty": "0.02",
      "display_qty": "0.002",
      "limit_price": "25000.5",
      "trigger_price": "24000.1",
      "post_only": true,
    });
    assert.deepEqual(call.options, { pair: "XBTUSD", tradingCost: 3 });
  });
  await t.step(
    "amend by cl_ord_id of unknown age costs the worst case",
    async () => {
      await transport.amendOrder({
        target: { clOrdId: "bot-1" },
        limitPrice: "1",
      });
      const call = rest.of("AmendOrder")[1]!;
      assert.equal(call.params.cl_ord_id, "bot-1");
      assert.deepEqual(call.options, { tradingCost: 4 });
    },
  );
  await t.step("edit at 50 s costs 1 + 1", async () => {
    const ack = await transport.editOrder({
      orderId: "OOLD00-AAAAA-BBBBBB",
      pair: xbtusd(),
      ageMs: 50_000,
      volume: "0.02",
      price: "25001",
      postOnly: true,
    });
    assert.deepEqual(ack, {
      orderId: "ONEW00-AAAAA-BBBBBB",
      originalOrderId: "OOLD00-AAAAA-BBBBBB",
    });
    const call = rest.of("EditOrder")[0]!;
    assert.equal(call.params.pair, "XBTUSD");
    assert.equal(call.params.oflags, "post");
    assert.deepEqual(call.options, { pair: "XBTUSD", tradingCost: 2 });
  });
  await t.step("cancel at 20 s costs 4, by each kind of target", async () => {
    assert.deepEqual(
      await transport.cancelOrder({ orderId: "OA" }, {
        pair: "XBTUSD",
        ageMs: 20_000,
      }),
      { count: 1, pending: false },
    );
    await transport.cancelOrder({ clOrdId: "bot-1" });
    await transport.cancelOrder({ userref: 42 }, { ageMs: 400_000 });
    const calls = rest.of("CancelOrder");
    assert.deepEqual(calls.map((c) => c.params), [
      { txid: "OA" },
      { "cl_ord_id": "bot-1" },
      { userref: 42 },
    ]);
    assert.deepEqual(calls.map((c) => c.options), [
      { pair: "XBTUSD", tradingCost: 4 },
      { tradingCost: 8 },
      { tradingCost: 0 },
    ]);
  });
  await t.step("batch cancel of 3 at 100 s costs 3 × 1", async () => {
    const ack = await transport.cancelOrderBatch({
      orderIds: ["OA", "OB"],
      clOrdIds: ["bot-3"],
      pair: "XBTUSD",
      ageMs: 100_000,
    });
    assert.deepEqual(ack, { count: 3 });
    const call = rest.of("CancelOrderBatch")[0]!;
    assert.deepEqual(call.params, {
      orders: ["OA", "OB"],
      "cl_ord_ids": ["bot-3"],
    });
    assert.deepEqual(call.options, { pair: "XBTUSD", tradingCost: 3 });
  });
});

Deno.test("RestOrderTransport.cancelAll() and the dead-man call", async (t) => {
  await t.step("CancelAll", async () => {
    const rest = new FakeCaller(() => ({ count: 4 }));
    assert.deepEqual(await new RestOrderTransport(rest, EXACT).cancelAll(), {
      count: 4,
    });
    assert.deepEqual(rest.calls[0]!.options, { tradingCost: 1 });
  });
  await t.step("CancelAllOrdersAfter arms and disarms", async () => {
    const rest = new FakeCaller((call) =>
      call.params.timeout === 0
        ? { currentTime: "2025-03-04T10:30:00Z", triggerTime: "0" }
        : {
          currentTime: "2025-03-04T10:30:00Z",
          triggerTime: "2025-03-04T10:31:00Z",
        }
    );
    const transport = new RestOrderTransport(rest);
    assert.deepEqual(await transport.cancelAllOrdersAfter(60), {
      currentTime: "2025-03-04T10:30:00Z",
      triggerTime: "2025-03-04T10:31:00Z",
    });
    assert.equal(
      (await transport.cancelAllOrdersAfter(0)).triggerTime,
      "0",
    );
    assert.deepEqual(rest.calls.map((c) => c.params), [{ timeout: 60 }, {
      timeout: 0,
    }]);
  });
  await t.step("a bad countdown is refused before any I/O", async () => {
    const rest = new FakeCaller();
    for (const bad of [-1, 1.5, 86_400]) {
      await assert.rejects(
        new RestOrderTransport(rest).cancelAllOrdersAfter(bad),
        RangeError,
      );
    }
    assert.equal(rest.calls.length, 0);
    checkDeadManTimeout(86_399);
  });
  await t.step("a count that is not an integer is unexpected", async () => {
    const rest = new FakeCaller(() => ({ count: "many" }));
    await assert.rejects(
      new RestOrderTransport(rest).cancelAll(),
      /unexpected shape: count/,
    );
  });
  await t.step("batch cancel needs 1–50 ids", async () => {
    const transport = new RestOrderTransport(new FakeCaller());
    await assert.rejects(transport.cancelOrderBatch({}), RangeError);
    assert.throws(
      () => cancelBatchSize({ orderIds: Array.from({ length: 51 }, String) }),
      /1 to 50 ids, got 51/,
    );
  });
});

Deno.test("RestOrderTransport through RestClient signs form and JSON bodies and paces the pair's counter", async () => {
  const clock = new FakeClock(NOW_MS);
  const limiter = new RateLimiter({
    tier: "pro",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  const fetch = new FakeFetch((request) => {
    const method = new URL(request.url).pathname.split("/").at(-1);
    const result = method === "AddOrder"
      ? { descr: { order: "buy" }, txid: ["OUF4EM-FRGI2-MQMWZD"] }
      : method === "AddOrderBatch"
      ? { orders: [{ txid: "O1" }, { txid: "O2" }] }
      : { count: 1 };
    return jsonResponse({ error: [], result });
  });
  const rest = new RestClient({
    baseUrl: "https://api.example.test",
    fetch: fetch.fetch,
    now: clock.now,
    setTimer: clock.setTimer,
    limiter,
    credentials: {
      key: "test-key",
      secret:
        "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==",
    },
  });
  const transport = new RestOrderTransport(rest, EXACT);
  await clock.settle(transport.addOrder(live()), { turns: 3 });
  await clock.settle(
    transport.addOrderBatch([
      live({ clientRef: { kind: "userref", userref: 5 } }),
      live({ clientRef: { kind: "userref", userref: 6 } }),
    ]),
    { turns: 3 },
  );
  await clock.settle(
    transport.cancelOrder({ orderId: "OUF4EM-FRGI2-MQMWZD" }, {
      pair: "XBTUSD",
      ageMs: 20_000,
    }),
    { turns: 3 },
  );
  const [add, batch, cancel] = fetch.calls;
  assert.match(
    decodeURIComponent(add!.body),
    /^nonce=\d+&ordertype=limit&type=buy&volume=0\.01&pair=XBTUSD&price=25000\.1&close\[ordertype\]=stop-loss&close\[price\]=24000&userref=1$/,
  );
  const json = JSON.parse(batch!.body);
  assert.equal(json.pair, "XBTUSD");
  assert.deepEqual(json.orders.map((o: { userref: number }) => o.userref), [
    5,
    6,
  ]);
  assert.equal(batch!.headers.get("Content-Type"), "application/json");
  assert.equal(cancel!.body.endsWith("&txid=OUF4EM-FRGI2-MQMWZD"), true);
  // add 1 + batch 1 + cancel at 20 s 4, no time passed.
  assert.equal(limiter.snapshot("trading", "XBTUSD").level, 6);
  rest.close();
  limiter.close();
});

Deno.test("RestOrderTransport adds a jitter margin to every charge by default", async () => {
  const rest = new FakeCaller(() => ({ txid: ["OA"], count: 1 }));
  const transport = new RestOrderTransport(rest);
  await transport.addOrder(live());
  await transport.cancelOrder({ orderId: "OA" }, { ageMs: 400_000 });
  assert.deepEqual(rest.calls.map((c) => c.options.tradingCost), [
    1 + DEFAULT_TRADING_COST_MARGIN,
    DEFAULT_TRADING_COST_MARGIN,
  ]);
  assert.throws(
    () => new RestOrderTransport(rest, { tradingCostMargin: -1 }),
    RangeError,
  );
});

Deno.test("wasNeverSent() tells provably unsent requests apart", () => {
  assert.equal(wasNeverSent(notSentError("add_order", "closed")), true);
  assert.equal(wasNeverSent(new RangeError("bad decimal")), true);
  assert.equal(
    wasNeverSent(KrakenError.fromCodes(["Krakked:No credentials"])),
    true,
  );
  assert.equal(wasNeverSent(KrakenError.fromCodes(["Krakked:Timeout"])), false);
  assert.equal(
    wasNeverSent(KrakenError.fromCodes(["EService:Unavailable"])),
    false,
  );
  const cause = new Error("inner");
  assert.equal(notSentError("x", "y", cause).cause, cause);
});
