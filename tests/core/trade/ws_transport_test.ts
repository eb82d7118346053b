import assert from "node:assert/strict";
import { KrakenError } from "../../../core/rest/errors.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import {
  CONNECTION_LOST_CODE,
  NOT_SENT_CODE,
} from "../../../core/trade/transport.ts";
import { isStaleTokenError } from "../../../core/trade/ws_session.ts";
import { PrivateWsSession } from "../../../core/trade/ws_session.ts";
import { WsOrderTransport } from "../../../core/trade/ws_transport.ts";
import { xbtusd } from "./_fixtures.ts";
import { live, sentRequests, wsHarness } from "./_transport_helpers.ts";

function code(expected: string) {
  return (error: unknown) =>
    error instanceof KrakenError && error.code === expected;
}

Deno.test("PrivateWsSession fetches one token per connection and a fresh one after a reconnect", async () => {
  using h = wsHarness();
  h.session.connect();
  const first = await h.open();
  const a = h.session.request("cancel_all", {});
  const [sentA] = await sentRequests(h.clock, first, "cancel_all");
  assert.deepEqual(
    (sentA!.params as Record<string, unknown>).token,
    h.tokens[0],
  );
  h.answer(first, sentA!.req_id, "cancel_all", { result: { count: 0 } });
  const answerA = await a;
  assert.equal(answerA.frames.length, 1);
  const b = h.session.request("cancel_all", {});
  const sent = await sentRequests(h.clock, first, "cancel_all", 2);
  h.answer(first, sent[1]!.req_id, "cancel_all", { result: { count: 0 } });
  await b;
  assert.equal(h.tokens.length, 1, "one token per connection");
  first.drop();
  h.clock.advance(1_000);
  const second = await h.open();
  assert.notEqual(second, first);
  const c = h.session.request("cancel_all", {});
  const [sentC] = await sentRequests(h.clock, second, "cancel_all");
  assert.equal((sentC!.params as Record<string, unknown>).token, h.tokens[1]);
  h.answer(second, sentC!.req_id, "cancel_all", { result: { count: 2 } });
  await c;
  assert.equal(h.tokens.length, 2);
});

Deno.test("PrivateWsSession matches answers to requests by req_id", async () => {
  using h = wsHarness();
  const transport = new WsOrderTransport(h.session);
  assert.equal(transport.kind, "ws");
  h.session.connect();
  const socket = await h.open();
  const one = transport.addOrder(
    live({ clientRef: { kind: "userref", userref: 1 } }),
  );
  const two = transport.addOrder(
    live({ clientRef: { kind: "userref", userref: 2 } }),
  );
  const sent = await sentRequests(h.clock, socket, "add_order", 2);
  const byRef = new Map(
    sent.map((s) => [
      (s.params as Record<string, unknown>).order_userref,
      s.req_id,
    ]),
  );
  // Unknown and id-less answers are ignored; the second order is answered first.
  h.answer(socket, 99_999, "add_order", { result: { order_id: "OX" } });
  socket.receive({ method: "add_order", success: true, result: {} });
  h.answer(socket, byRef.get(2), "add_order", {
    result: { "order_id": "OB", "order_userref": 2 },
  });
  h.answer(socket, byRef.get(1), "add_order", {
    result: { "order_id": "OA", "order_userref": 1 },
  });
  assert.deepEqual(await one, { orderId: "OA" });
  assert.deepEqual(await two, { orderId: "OB" });
  assert.equal(h.session.inflight, 0);
});

Deno.test("PrivateWsSession fails requests in the ways the lifecycle needs", async (t) => {
  await t.step("no answer in time is a timeout", async () => {
    using h = wsHarness({ requestTimeoutMs: 5_000 });
    h.session.connect();
    const socket = await h.open();
    const pending = h.session.request("add_order", { symbol: "BTC/USD" });
    pending.catch(() => {});
    await sentRequests(h.clock, socket, "add_order");
    h.clock.advance(4_999);
    assert.equal(h.session.inflight, 1);
    h.clock.advance(1);
    await assert.rejects(pending, code("Krakked:Timeout"));
  });
  await t.step(
    "a dropped socket after sending is a lost connection",
    async () => {
      using h = wsHarness();
      h.session.connect();
      const socket = await h.open();
      const pending = h.session.request("add_order", {});
      pending.catch(() => {});
      await sentRequests(h.clock, socket, "add_order");
      socket.drop();
      await assert.rejects(pending, code(CONNECTION_LOST_CODE));
    },
  );
  await t.step("a socket that never opens means not sent", async () => {
    using h = wsHarness({ requestTimeoutMs: 3_000 });
    h.session.connect();
    const pending = h.session.request("add_order", {});
    pending.catch(() => {});
    await h.clock.flush();
    h.clock.advance(3_000);
    await assert.rejects(pending, code(NOT_SENT_CODE));
  });
  await t.step(
    "a request made before the socket opens waits for it",
    async () => {
      using h = wsHarness();
      h.session.connect();
      const pending = h.session.request("cancel_all", {});
      await h.clock.flush();
      const socket = await h.open();
      const [sent] = await sentRequests(h.clock, socket, "cancel_all");
      h.answer(socket, sent!.req_id, "cancel_all", { result: { count: 1 } });
      assert.equal((await pending).frames.length, 1);
    },
  );
  await t.step(
    "no token means not sent, and the next request asks again",
    async () => {
      using h = wsHarness();
      h.session.connect();
      const socket = await h.open();
      h.failNextToken();
      await assert.rejects(
        h.session.request("cancel_all", {}),
        code(NOT_SENT_CODE),
      );
      const retry = h.session.request("cancel_all", {});
      const [sent] = await sentRequests(h.clock, socket, "cancel_all");
      h.answer(socket, sent!.req_id, "cancel_all", { result: { count: 0 } });
      await retry;
      assert.equal(h.tokens.length, 1);
    },
  );
  await t.step("an aborted request is not sent", async () => {
    using h = wsHarness();
    h.session.connect();
    const controller = new AbortController();
    const pending = h.session.request("cancel_all", {}, {
      signal: controller.signal,
    });
    pending.catch(() => {});
    await h.clock.flush();
    controller.abort();
    await assert.rejects(pending, code(NOT_SENT_CODE));
  });
  await t.step("a closed session sends nothing", async () => {
    using h = wsHarness();
    h.session.connect();
    await h.open();
    h.session.close();
    await assert.rejects(
      h.session.request("cancel_all", {}),
      code(NOT_SENT_CODE),
    );
  });
  await t.step("Kraken's refusal carries its error string", async () => {
    using h = wsHarness();
    const transport = new WsOrderTransport(h.session);
    h.session.connect();
    const socket = await h.open();
    const pending = transport.addOrder(live());
    pending.catch(() => {});
    const [sent] = await sentRequests(h.clock, socket, "add_order");
    h.answer(socket, sent!.req_id, "add_order", {
      error: "EOrder:Insufficient funds",
    });
    await assert.rejects(pending, code("EOrder:Insufficient funds"));
  });
});

Deno.test("PrivateWsSession refreshes a stale token and reconnects", async () => {
  using h = wsHarness();
  h.session.connect();
  const first = await h.open();
  const pending = h.session.request("add_order", {});
  pending.catch(() => {});
  const [sent] = await sentRequests(h.clock, first, "add_order");
  h.answer(first, sent!.req_id, "add_order", { error: "EAPI:Invalid token" });
  await assert.rejects(pending, code("EAPI:Invalid token"));
  assert.equal(h.session.tokenRefreshes, 1);
  assert.ok(first.closedByClient, "the stale session's socket is replaced");
  h.clock.advance(1_000);
  const second = await h.open();
  const again = h.session.request("cancel_all", {});
  const [resent] = await sentRequests(h.clock, second, "cancel_all");
  assert.equal((resent!.params as Record<string, unknown>).token, h.tokens[1]);
  h.answer(second, resent!.req_id, "cancel_all", { result: { count: 0 } });
  await again;
  assert.equal(isStaleTokenError("ESession:Invalid session"), true);
  assert.equal(isStaleTokenError("EOrder:Invalid order"), false);
  assert.equal(isStaleTokenError(undefined), false);
});

Deno.test("PrivateWsSession refreshes the token when a private subscription is refused as stale", async () => {
  using h = wsHarness();
  const sub = h.session.connection.subscribe({ channel: "executions" });
  h.session.connect();
  const first = await h.open();
  const [subscribe] = await sentRequests(h.clock, first, "subscribe");
  assert.equal(
    (subscribe!.params as Record<string, unknown>).token,
    h.tokens[0],
  );
  first.receive({
    method: "subscribe",
    "req_id": subscribe!.req_id,
    success: false,
    error: "ESession:Invalid session",
  });
  assert.equal(h.session.tokenRefreshes, 1);
  h.clock.advance(1_000);
  const second = await h.open();
  const [again] = await sentRequests(h.clock, second, "subscribe");
  assert.equal((again!.params as Record<string, unknown>).token, h.tokens[1]);
  sub.release();
});

Deno.test("PrivateWsSession collects multi-frame answers", async (t) => {
  await t.step("all frames arrive", async () => {
    using h = wsHarness();
    h.session.connect();
    const socket = await h.open();
    const pending = h.session.request("cancel_order", {
      "order_id": ["A", "B"],
    }, {
      frames: 2,
    });
    const [sent] = await sentRequests(h.clock, socket, "cancel_order");
    h.answer(socket, sent!.req_id, "cancel_order", {
      result: { order_id: "A" },
    });
    h.answer(socket, sent!.req_id, "cancel_order", {
      error: "EOrder:Invalid order",
    });
    const answer = await pending;
    assert.deepEqual(answer.frames.map((f) => f.success), [true, false]);
  });
  await t.step("a timeout returns the frames so far", async () => {
    using h = wsHarness({ requestTimeoutMs: 1_000 });
    h.session.connect();
    const socket = await h.open();
    const pending = h.session.request("cancel_order", {}, { frames: 3 });
    const [sent] = await sentRequests(h.clock, socket, "cancel_order");
    h.answer(socket, sent!.req_id, "cancel_order", {
      result: { order_id: "A" },
    });
    h.clock.advance(1_000);
    assert.equal((await pending).frames.length, 1);
  });
  await t.step("a drop returns the frames so far", async () => {
    using h = wsHarness();
    h.session.connect();
    const socket = await h.open();
    const pending = h.session.request("cancel_order", {}, { frames: 3 });
    const [sent] = await sentRequests(h.clock, socket, "cancel_order");
    h.answer(socket, sent!.req_id, "cancel_order", {
      result: { order_id: "A" },
    });
    socket.drop();
    assert.equal((await pending).frames.length, 1);
  });
});

Deno.test("WsOrderTransport refuses a negative margin", () => {
  using h = wsHarness();
  assert.throws(
    () => new WsOrderTransport(h.session, { tradingCostMargin: -0.1 }),
    RangeError,
  );
});

Deno.test("PrivateWsSession refuses a bad timeout", () => {
  assert.throws(
    () =>
      new PrivateWsSession("wss://x.test/v2", {
        getToken: () => Promise.resolve("t"),
        requestTimeoutMs: 0,
        WebSocket: class {} as never,
      }),
    RangeError,
  );
});

Deno.test("WsOrderTransport encodes every trading method", async () => {
  using h = wsHarness();
  const transport = new WsOrderTransport(h.session);
  h.session.connect();
  const socket = await h.open();
  const params = (s: Record<string, unknown>) => {
    const { token, ...rest } = s.params as Record<string, unknown>;
    assert.equal(token, h.tokens[0]);
    return rest;
  };
  async function roundTrip<T>(
    method: string,
    call: Promise<T>,
    body: { result?: unknown; error?: string },
    frames = 1,
  ): Promise<{ value: T; sent: Record<string, unknown> }> {
    const before = socket.sentMethod(method).length;
    const all = await sentRequests(h.clock, socket, method, before + 1);
    const sent = all[before]!;
    for (let i = 0; i < frames; i++) {
      h.answer(socket, sent.req_id, method, body);
    }
    return { value: await call, sent: params(sent) };
  }

  const add = await roundTrip(
    "add_order",
    transport.addOrder(live({
      stopLoss: {
        type: "stop-loss-limit",
        triggerPrice: "24000",
        limitPrice: "23900",
      },
    })),
    { result: { "order_id": "OA", "order_userref": 1 } },
  );
  assert.deepEqual(add.value, { orderId: "OA" });
  assert.deepEqual(add.sent, {
    symbol: "BTC/USD",
    side: "buy",
    "order_type": "limit",
    "order_qty": 0.01,
    "limit_price": 25000.1,
    conditional: {
      "order_type": "stop-loss-limit",
      "trigger_price": 24000,
      "limit_price": 23900,
    },
    "order_userref": 1,
  });

  const validated = await roundTrip(
    "add_order",
    transport.addOrder(live({ validateOnly: true })),
    { result: { "order_id": "" } },
  );
  assert.deepEqual(validated.value, { orderId: null });
  assert.equal(validated.sent.validate, true);

  const batch = await roundTrip(
    "batch_add",
    transport.addOrderBatch([
      live({ clientRef: { kind: "userref", userref: 7 } }),
      live({ clientRef: { kind: "userref", userref: 8 } }),
    ]),
    {
      result: [{ "order_id": "OB1", "order_userref": 7 }, {
        "order_id": "",
        error: "EOrder:Insufficient funds",
      }],
    },
  );
  assert.deepEqual(batch.value, [
    { orderId: "OB1", error: null },
    { orderId: null, error: "EOrder:Insufficient funds" },
  ]);
  assert.equal(batch.sent.symbol, "BTC/USD");
  const rows = batch.sent.orders as Array<Record<string, unknown>>;
  assert.deepEqual(rows.map((r) => r.order_userref), [7, 8]);
  assert.equal(rows[0]!.symbol, undefined);

  const amend = await roundTrip(
    "amend_order",
    transport.amendOrder({
      target: { clOrdId: "bot-1" },
      orderQty: "0.02",
      limitPrice: "25000.5",
      postOnly: true,
    }),
    { result: { "amend_id": "TEZA4R" } },
  );
  assert.deepEqual(amend.value, { amendId: "TEZA4R" });
  assert.deepEqual(amend.sent, {
    "cl_ord_id": "bot-1",
    "order_qty": 0.02,
    "limit_price": 25000.5,
    "post_only": true,
  });

  const edit = await roundTrip(
    "edit_order",
    transport.editOrder({
      orderId: "OOLD",
      pair: xbtusd(),
      volume: "0.03",
      price: "25001",
      postOnly: false,
      ageMs: 1_000,
    }),
    { result: { "order_id": "ONEW", "original_order_id": "OOLD" } },
  );
  assert.deepEqual(edit.value, { orderId: "ONEW", originalOrderId: "OOLD" });
  assert.deepEqual(edit.sent, {
    "order_id": "OOLD",
    symbol: "BTC/USD",
    "order_qty": 0.03,
    "limit_price": 25001,
    "post_only": false,
  });

  for (
    const [target, wire] of [
      [{ orderId: "OA" }, { "order_id": ["OA"] }],
      [{ clOrdId: "bot-1" }, { "cl_ord_id": ["bot-1"] }],
      [{ userref: 42 }, { "order_userref": [42] }],
    ] as const
  ) {
    const cancel = await roundTrip(
      "cancel_order",
      transport.cancelOrder(target),
      { result: { "order_id": "OA" } },
    );
    assert.deepEqual(cancel.value, { count: 1 });
    assert.deepEqual(cancel.sent, wire);
  }

  const batchCancel = await roundTrip(
    "batch_cancel",
    transport.cancelOrderBatch({ orderIds: ["OA", "7"], clOrdIds: ["bot-1"] }),
    { result: { count: 3 } },
  );
  assert.deepEqual(batchCancel.value, { count: 3 });
  assert.deepEqual(batchCancel.sent, {
    orders: ["OA", "7"],
    "cl_ord_id": ["bot-1"],
  });

  const all = await roundTrip("cancel_all", transport.cancelAll(), {
    result: { count: 5 },
  });
  assert.deepEqual(all.value, { count: 5 });
  assert.deepEqual(all.sent, {});

  const after = await roundTrip(
    "cancel_all_orders_after",
    transport.cancelAllOrdersAfter(60),
    {
      result: {
        currentTime: "2025-03-04T10:40:00Z",
        triggerTime: "2025-03-04T10:41:00Z",
      },
    },
  );
  assert.deepEqual(after.value, {
    currentTime: "2025-03-04T10:40:00Z",
    triggerTime: "2025-03-04T10:41:00Z",
  });
  assert.deepEqual(after.sent, { timeout: 60 });
  await assert.rejects(transport.cancelAllOrdersAfter(86_400), RangeError);
});

Deno.test("WsOrderTransport rejects answers with an unexpected shape", async () => {
  using h = wsHarness();
  const transport = new WsOrderTransport(h.session);
  h.session.connect();
  const socket = await h.open();
  const cases: Array<[string, Promise<unknown>, unknown]> = [
    ["add_order", transport.addOrder(live()), {}],
    ["batch_add", transport.addOrderBatch([live(), live()]), {}],
    [
      "amend_order",
      transport.amendOrder({ target: { orderId: "OA" }, orderQty: "1" }),
      {},
    ],
    [
      "edit_order",
      transport.editOrder({ orderId: "OA", pair: xbtusd() }),
      {},
    ],
    ["cancel_all", transport.cancelAll(), { count: -1 }],
  ];
  for (const [method, call, result] of cases) {
    call.catch(() => {});
    const [sent] = await sentRequests(h.clock, socket, method);
    h.answer(socket, sent!.req_id, method, { result });
    await assert.rejects(call, code("Krakked:Unexpected result"), method);
  }
});

Deno.test("WsOrderTransport charges the shared trading counter by the order's age", async () => {
  using h = wsHarness();
  const limiter = new RateLimiter({
    tier: "pro",
    now: h.clock.now,
    setTimer: h.clock.setTimer,
  });
  const transport = new WsOrderTransport(h.session, {
    limiter,
    tradingCostMargin: 0,
  });
  h.session.connect();
  const socket = await h.open();
  const add = transport.addOrder(live());
  const [sentAdd] = await sentRequests(h.clock, socket, "add_order");
  h.answer(socket, sentAdd!.req_id, "add_order", {
    result: { order_id: "OA" },
  });
  await add;
  const cancel = transport.cancelOrder({ orderId: "OA" }, {
    pair: "XBTUSD",
    ageMs: 20_000,
  });
  const [sentCancel] = await sentRequests(h.clock, socket, "cancel_order");
  h.answer(socket, sentCancel!.req_id, "cancel_order", {
    result: { order_id: "OA" },
  });
  await cancel;
  assert.equal(limiter.snapshot("trading", "XBTUSD").level, 5);
  const all = transport.cancelAll();
  const [sentAll] = await sentRequests(h.clock, socket, "cancel_all");
  h.answer(socket, sentAll!.req_id, "cancel_all", { result: { count: 0 } });
  await all;
  assert.equal(limiter.snapshot("trading", "*").level, 1);
  limiter.close();
  // A closed limiter refuses before anything is sent.
  await assert.rejects(transport.cancelAll(), code(NOT_SENT_CODE));
});
