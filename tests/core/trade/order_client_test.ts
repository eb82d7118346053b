import assert from "node:assert/strict";
import { KrakenError } from "../../../core/rest/errors.ts";
import type { OrderInfo } from "../../../core/rest/types.ts";
import type { PreparedOrder } from "../../../core/trade/gates.ts";
import {
  OrderClient,
  type OrderClientEvent,
  type OrderClientOptions,
  orderKey,
} from "../../../core/trade/order_client.ts";
import { PaperBroker } from "../../../core/trade/paper.ts";
import { PrivateStream } from "../../../core/trade/private_stream.ts";
import { OrderRejectedError } from "../../../core/trade/rules.ts";
import {
  type AddOrderAck,
  type AmendRequest,
  CONNECTION_LOST_CODE,
  notSentError,
  type OrderTarget,
  type OrderTransport,
} from "../../../core/trade/transport.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { entry, gateConfig, NOW_MS, xbtusd } from "./_fixtures.ts";
import {
  FakeCaller,
  krakenError,
  LIVE_CONFIG,
  sentRequests,
  wsHarness,
} from "./_transport_helpers.ts";

/** A UUID source whose userrefs are 1, 2, 3, … */
function refs(): () => string {
  let n = 0;
  return () =>
    `${(++n).toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
}

type AddHandler = (
  prepared: PreparedOrder,
) => AddOrderAck | Promise<AddOrderAck>;

/** A scripted transport that records every call. */
class FakeTransport implements OrderTransport {
  readonly kind = "rest" as const;
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  add: AddHandler = () => ({ orderId: "OA" });
  deadMan: (timeoutSec: number) => Promise<void> = () => Promise.resolve();

  addOrder(prepared: PreparedOrder) {
    this.calls.push({ method: "addOrder", args: [prepared] });
    return Promise.resolve().then(() => this.add(prepared));
  }
  addOrderBatch(prepared: readonly PreparedOrder[]) {
    this.calls.push({ method: "addOrderBatch", args: [prepared] });
    if (prepared.length === 3) {
      return Promise.reject(krakenError("EGeneral:Invalid arguments"));
    }
    return Promise.resolve([
      { orderId: "OB1", error: null },
      { orderId: null, error: "EOrder:Insufficient funds" },
    ]);
  }
  amendOrder(request: AmendRequest) {
    this.calls.push({ method: "amendOrder", args: [request] });
    return Promise.resolve({ amendId: "AM1" });
  }
  editOrder() {
    return Promise.reject(new Error("not used"));
  }
  cancelOrder(target: OrderTarget, hints?: unknown) {
    this.calls.push({ method: "cancelOrder", args: [target, hints] });
    return Promise.resolve({ count: 1 });
  }
  cancelOrderBatch() {
    return Promise.resolve({ count: 0 });
  }
  cancelAll() {
    this.calls.push({ method: "cancelAll", args: [] });
    return Promise.resolve({ count: 2 });
  }
  async cancelAllOrdersAfter(timeoutSec: number) {
    this.calls.push({ method: "cancelAllOrdersAfter", args: [timeoutSec] });
    await this.deadMan(timeoutSec);
    return {
      currentTime: "2025-03-04T10:30:00Z",
      triggerTime: timeoutSec === 0 ? "0" : "2025-03-04T10:31:00Z",
    };
  }
  of(method: string) {
    return this.calls.filter((c) => c.method === method);
  }
}

/** An OrderInfo as OpenOrders/ClosedOrders return it for the default entry. */
function orderInfo(overrides: Partial<OrderInfo> = {}): OrderInfo {
  return {
    refid: null,
    userref: 1,
    status: "open",
    opentm: NOW_MS / 1000 + 0.5,
    starttm: 0,
    expiretm: 0,
    descr: {
      pair: "XBTUSD",
      type: "buy",
      ordertype: "limit",
      price: "25000.1",
      price2: "0",
      leverage: "none",
      order: "buy 0.01000000 XBTUSD @ limit 25000.1",
      close: "close position @ stop loss 24000.0",
    },
    vol: "0.01000000",
    "vol_exec": "0.00000000",
    cost: "0.00000",
    fee: "0.00000",
    price: "0.00000",
    stopprice: "0.00000",
    limitprice: "0.00000",
    misc: "",
    oflags: "fciq",
    ...overrides,
  } as OrderInfo;
}

const HOLDS_ONE_BTC = { held: { BTC: "0.02" }, orders: [] };

const BOOK = {
  bids: [{ price: "25000", qty: "1" }],
  asks: [{ price: "25100", qty: "1" }],
};

function setup(
  options: Partial<OrderClientOptions> & { withTransport?: boolean } = {},
) {
  const clock = new FakeClock(NOW_MS);
  const transport = new FakeTransport();
  const rest = new FakeCaller(() => ({ open: {}, closed: {} }));
  const { withTransport = true, ...rest_ } = options;
  const client = new OrderClient({
    config: LIVE_CONFIG,
    liveSwitch: true,
    pairs: (s) => (s === "XBTUSD" || s === "BTC/USD" ? xbtusd() : undefined),
    ...(withTransport ? { transport } : {}),
    rest,
    now: clock.now,
    setTimer: clock.setTimer,
    randomUuid: refs(),
    // An empty account and a book around the default entry (limit buy
    // 25000.1 rests below the 25100 ask): the risk model has its own tests.
    readAccount: () => Promise.resolve({ held: {}, orders: [] }),
    books: () => BOOK,
    ...rest_,
  });
  const events: OrderClientEvent[] = [];
  client.on((event) => events.push(event));
  return {
    clock,
    transport,
    rest,
    client,
    events,
    of<T extends OrderClientEvent["type"]>(type: T) {
      return events.filter((e) => e.type === type) as Extract<
        OrderClientEvent,
        { type: T }
      >[];
    },
  };
}

Deno.test("OrderClient.place() on dry_run encodes the order and sends nothing", async () => {
  const s = setup({ config: gateConfig({ mode: "dry_run" }) });
  const result = await s.client.place(entry());
  assert.equal(result.route, "dry_run");
  if (result.route !== "dry_run") return;
  assert.deepEqual(result.rest.slice(0, 4), [
    ["ordertype", "limit"],
    ["type", "buy"],
    ["volume", "0.01"],
    ["pair", "XBTUSD"],
  ]);
  assert.equal(result.ws?.symbol, "BTC/USD");
  assert.equal(result.prepared.route, "dry_run");
  assert.equal(s.transport.calls.length, 0);
  assert.equal(s.client.orders().length, 0);
});

Deno.test("OrderClient.place() names the rule that refused an order", async (t) => {
  await t.step("read_only", async () => {
    const s = setup({ config: gateConfig({ mode: "read_only" }) });
    await assert.rejects(
      s.client.place(entry()),
      (error: unknown) =>
        error instanceof OrderRejectedError && error.rule === "mode_read_only",
    );
  });
  await t.step("no stop-loss", async () => {
    const s = setup();
    await assert.rejects(
      s.client.place(entry({ stopLoss: undefined })),
      (error: unknown) =>
        error instanceof OrderRejectedError &&
        error.rule === "stop_loss_required",
    );
    assert.equal(s.transport.calls.length, 0);
  });
  await t.step("unknown pair", async () => {
    const s = setup({
      pairs: () => {
        throw new Error("no such pair");
      },
    });
    await assert.rejects(s.client.place(entry()), RangeError);
    const t2 = setup();
    await assert.rejects(t2.client.place(entry({ pair: "FOOUSD" })), /FOOUSD/);
  });
  await t.step("live without a transport", async () => {
    const s = setup({ withTransport: false });
    await assert.rejects(s.client.place(entry()), /no transport configured/);
  });
});

Deno.test("OrderClient places a live order and follows executions to filled", async () => {
  const s = setup();
  const placed = await s.client.place(entry(), { referencePrice: "25000" });
  assert.equal(placed.route, "live");
  if (placed.route !== "live") return;
  assert.equal(placed.key, "userref:1");
  assert.equal(placed.state.status, "new");
  assert.equal(placed.state.orderId, "OA");
  assert.deepEqual(placed.ack, { orderId: "OA" });
  const trade = {
    "order_id": "OA",
    "exec_type": "trade",
    "exec_id": "T1",
    "last_qty": "0.004",
    "last_price": "25000.1",
    cost: "100.0004",
    "cum_qty": "0.004",
    "order_status": "partially_filled",
    fees: [{ asset: "USD", qty: "0.26" }],
  };
  const filled = {
    "order_id": "OA",
    "exec_type": "filled",
    "order_status": "filled",
    "cum_qty": "0.01",
    "avg_price": "25000.1",
  };
  // Out of order and duplicated: the fill counts once, filled stays filled.
  s.client.applyExecutions([trade], 7);
  s.client.applyExecutions([filled], 9);
  s.client.applyExecutions([trade], 7);
  s.client.applyExecutions([{
    ...trade,
    "exec_id": "T2",
    "last_qty": "0.006",
    "cum_qty": "0.01",
  }], 8);
  const order = s.client.order("OA")!;
  assert.equal(order.state.status, "filled");
  assert.equal(order.state.filledQty, "0.01");
  assert.deepEqual(s.of("fill").map((e) => e.fill.execId), ["T1", "T2"]);
  assert.deepEqual(s.of("state").map((e) => `${e.from}→${e.to}`), [
    "pending_new→new",
    "new→partially_filled",
    "partially_filled→filled",
  ]);
  // Reports of orders the client does not track are ignored.
  s.client.applyExecutions([{ "order_id": "OTHER", "exec_type": "new" }]);
  assert.equal(s.client.orders().length, 1);
  assert.equal(s.transport.of("addOrder").length, 1);
});

Deno.test("OrderClient matches executions that arrive before the reply by client ref", async () => {
  const s = setup();
  let answer: (ack: AddOrderAck) => void = () => {};
  s.transport.add = () => new Promise((resolve) => (answer = resolve));
  const placing = s.client.place(entry());
  await s.clock.flush();
  s.client.applyExecutions([{
    "order_id": "OA",
    "exec_type": "pending_new",
    "order_status": "pending_new",
    "order_userref": 1,
    symbol: "BTC/USD",
    side: "buy",
  }], 1);
  s.client.applyExecutions([{ "order_id": "OA", "exec_type": "new" }], 2);
  assert.equal(s.client.order("userref:1")!.state.status, "new");
  answer({ orderId: "OA" });
  const placed = await placing;
  assert.equal(placed.route === "live" && placed.state.status, "new");
});

Deno.test("OrderClient marks a refused order rejected without reconciling", async () => {
  const s = setup();
  s.transport.add = () => {
    throw krakenError("EOrder:Insufficient funds");
  };
  const placed = await s.client.place(entry());
  assert.equal(placed.route, "live");
  if (placed.route !== "live") return;
  assert.equal(placed.state.status, "rejected");
  assert.equal(placed.state.reason, "EOrder:Insufficient funds");
  assert.equal(placed.error?.code, "EOrder:Insufficient funds");
  s.clock.advance(10_000);
  assert.equal(s.rest.calls.length, 0);
  assert.equal((await s.client.whenSettled(placed.key)).status, "rejected");
});

Deno.test("OrderClient reconciles an ambiguous placement instead of resending", async (t) => {
  await t.step("timeout, then found in OpenOrders", async () => {
    const s = setup();
    s.transport.add = () => {
      throw krakenError("Krakked:Timeout");
    };
    s.rest.handler = (call) =>
      call.method === "OpenOrders"
        ? { open: { OUF4EM: orderInfo() } }
        : { closed: {} };
    const placed = await s.client.place(entry());
    assert.equal(placed.route === "live" && placed.state.status, "ambiguous");
    const settled = s.client.whenSettled("userref:1");
    s.clock.advance(1_999);
    assert.equal(s.rest.calls.length, 0, "waits before reconciling");
    s.clock.advance(1);
    const state = await settled;
    assert.equal(state.status, "new");
    assert.equal(state.orderId, "OUF4EM");
    assert.deepEqual(s.rest.calls.map((c) => [c.method, c.params]), [
      ["OpenOrders", { userref: 1 }],
    ]);
    assert.equal(s.transport.of("addOrder").length, 1, "never resent");
    assert.deepEqual(s.of("reconcile").map((e) => e.outcome), ["found"]);
  });
  await t.step("lost connection, then found closed", async () => {
    const s = setup();
    s.transport.add = () => {
      throw krakenError(CONNECTION_LOST_CODE);
    };
    s.rest.handler = (call) =>
      call.method === "OpenOrders" ? { open: {} } : {
        closed: {
          OUF4EM: orderInfo({
            status: "closed",
            "vol_exec": "0.01000000",
            cost: "250.001",
            price: "25000.1",
          }),
        },
      };
    await s.client.place(entry());
    s.clock.advance(2_000);
    const state = await s.client.whenSettled("userref:1");
    assert.equal(state.status, "filled");
    assert.equal(state.avgPrice, "25000.1");
    assert.deepEqual(s.rest.calls.map((c) => c.method), [
      "OpenOrders",
      "ClosedOrders",
    ]);
    assert.equal(
      s.rest.calls[1]!.params.start,
      Math.floor(NOW_MS / 1000) - 60,
    );
  });
  await t.step("service error, then not found: not_placed", async () => {
    const s = setup();
    s.transport.add = () => {
      throw krakenError("EService:Unavailable");
    };
    // A different order with the same userref does not count.
    s.rest.handler = (call) =>
      call.method === "OpenOrders"
        ? { open: { OOTHER: orderInfo({ vol: "5" }) } }
        : { closed: {} };
    await s.client.place(entry());
    s.clock.advance(2_000);
    assert.equal(
      (await s.client.whenSettled("userref:1")).status,
      "not_placed",
    );
    assert.deepEqual(s.of("reconcile").map((e) => e.outcome), ["not_found"]);
    // A not_placed order may be placed again with a new ref.
    s.transport.add = () => ({ orderId: "OC" });
    const again = await s.client.place(entry());
    assert.equal(again.route === "live" && again.key, "userref:2");
  });
  await t.step("evidence from executions settles it first", async () => {
    const s = setup();
    s.transport.add = () => {
      throw krakenError("Krakked:Timeout");
    };
    await s.client.place(entry());
    s.client.applyExecutions([{
      "order_id": "OA",
      "exec_type": "new",
      "order_status": "new",
      "order_userref": 1,
      symbol: "BTC/USD",
      side: "buy",
    }]);
    s.clock.advance(5_000);
    assert.equal(s.client.order("userref:1")!.state.status, "new");
    assert.equal(s.rest.calls.length, 0);
  });
  await t.step("failed reads are retried, then given up", async () => {
    const s = setup({ maxReconcileAttempts: 2, reconcileRetryMs: 1_000 });
    s.transport.add = () => {
      throw krakenError("Krakked:Timeout");
    };
    s.rest.handler = () => {
      throw krakenError("EService:Busy");
    };
    await s.client.place(entry());
    s.clock.advance(2_000);
    await s.clock.flush();
    s.clock.advance(1_000);
    await s.clock.flush();
    s.clock.advance(10_000);
    await s.clock.flush();
    assert.equal(s.rest.calls.length, 2);
    const outcomes = s.of("reconcile");
    assert.deepEqual(outcomes.map((e) => e.outcome), ["failed", "failed"]);
    assert.match(outcomes[1]!.message!, /gave up after 2 attempts/);
    assert.equal(s.client.order("userref:1")!.state.status, "ambiguous");
  });
  await t.step(
    "without a REST reader it stays ambiguous and says so",
    async () => {
      const clock = new FakeClock(NOW_MS);
      const transport = new FakeTransport();
      transport.add = () => {
        throw krakenError("Krakked:Timeout");
      };
      const client = new OrderClient({
        config: LIVE_CONFIG,
        liveSwitch: true,
        pairs: () => xbtusd(),
        transport,
        now: clock.now,
        setTimer: clock.setTimer,
        randomUuid: refs(),
        readAccount: () => Promise.resolve({ held: {}, orders: [] }),
        books: () => BOOK,
      });
      const events: OrderClientEvent[] = [];
      client.on((e) => events.push(e));
      await client.place(entry());
      clock.advance(2_000);
      await clock.flush();
      assert.match(
        events.find((e) => e.type === "reconcile")?.type === "reconcile"
          ? (events.find((e) => e.type === "reconcile") as { message: string })
            .message
          : "",
        /No REST reader/,
      );
      await client.close();
    },
  );
});

Deno.test("OrderClient settles a provably unsent order as not_placed without asking Kraken", async (t) => {
  await t.step("not sent", async () => {
    const s = setup();
    s.transport.add = () => {
      throw notSentError("add_order", "the socket did not open in time");
    };
    const placed = await s.client.place(entry());
    assert.equal(placed.route === "live" && placed.state.status, "not_placed");
    s.clock.advance(10_000);
    assert.equal(s.rest.calls.length, 0);
    assert.match(s.client.order("userref:1")!.error!, /did not open/);
  });
  await t.step("a local error is rethrown after settling", async () => {
    const s = setup();
    s.transport.add = () => {
      throw new RangeError("Cannot send order_qty");
    };
    await assert.rejects(s.client.place(entry()), RangeError);
    assert.equal(s.client.order("userref:1")!.state.status, "not_placed");
  });
});

Deno.test("OrderClient refuses a client ref that an unfinished order holds", async () => {
  const s = setup();
  const ref = { kind: "cl_ord_id", clOrdId: "bot-1" } as const;
  await s.client.place(
    entry({ stopLoss: undefined, intent: "exit", clientRef: ref }),
    {
      account: HOLDS_ONE_BTC,
    },
  ).catch((e) => {
    // A buy exit needs a short; use a sell exit instead below.
    assert.ok(e instanceof OrderRejectedError);
  });
  const exit = entry({
    side: "sell",
    intent: "exit",
    stopLoss: undefined,
    clientRef: ref,
  });
  await s.client.place(exit, { account: HOLDS_ONE_BTC });
  await assert.rejects(
    s.client.place(exit, { account: HOLDS_ONE_BTC }),
    /already used by an unfinished order/,
  );
  assert.equal(orderKey(ref), "cl_ord_id:bot-1");
});

Deno.test("OrderClient validate-only orders are sent but not tracked", async () => {
  const s = setup();
  s.transport.add = () => ({ orderId: null });
  const placed = await s.client.place(entry({ validateOnly: true }));
  assert.equal(placed.route === "live" && placed.ack?.orderId, null);
  assert.equal(s.client.orders().length, 0);
  s.transport.add = () => {
    throw krakenError("EOrder:Invalid price");
  };
  const refused = await s.client.place(entry({ validateOnly: true }));
  assert.equal(
    refused.route === "live" && refused.error?.code,
    "EOrder:Invalid price",
  );
  s.transport.add = () => {
    throw new TypeError("boom");
  };
  await assert.rejects(
    s.client.place(entry({ validateOnly: true })),
    TypeError,
  );
});

Deno.test("OrderClient announces the stop-loss Kraken creates on a fill", async () => {
  const s = setup();
  await s.client.place(entry());
  const close = {
    "order_id": "OCLOSE",
    "ord_ref_id": "OA",
    "exec_type": "new",
    "order_type": "stop-loss",
    side: "sell" as const,
    "order_userref": 1,
  };
  s.client.applyExecutions([close]);
  s.client.applyExecutions([close]);
  s.client.applyExecutions([{
    "order_id": "OX",
    "ord_ref_id": "OUNKNOWN",
    "exec_type": "new",
  }]);
  const announced = s.of("close_order");
  assert.equal(announced.length, 1);
  assert.equal(announced[0]!.parentOrderId, "OA");
  assert.equal(announced[0]!.orderId, "OCLOSE");
  assert.deepEqual(s.client.order("OA")!.closeOrderIds, ["OCLOSE"]);
  assert.equal(s.client.order("OA")!.state.status, "new");
  // Without ord_ref_id: a new opposite-side order with the parent's userref.
  s.client.applyExecutions([{
    "order_id": "OCLOSE2",
    "exec_type": "pending_new",
    "order_status": "pending_new",
    "order_userref": 1,
    side: "sell",
    symbol: "BTC/USD",
    "order_type": "stop-loss",
  }]);
  // Its later sparse updates carry only the userref: not the parent's.
  s.client.applyExecutions([{
    "order_id": "OCLOSE2",
    "exec_type": "canceled",
    "order_status": "canceled",
    "order_userref": 1,
  }]);
  // Same side or another userref is not a close.
  s.client.applyExecutions([{
    "order_id": "OX2",
    "exec_type": "new",
    "order_userref": 1,
    side: "buy",
  }, {
    "order_id": "OX3",
    "exec_type": "new",
    "order_userref": 9,
    side: "sell",
  }]);
  assert.deepEqual(s.client.order("OA")!.closeOrderIds, [
    "OCLOSE",
    "OCLOSE2",
  ]);
  assert.equal(s.client.order("OA")!.state.status, "new");
  assert.equal(s.of("close_order")[1]!.parentOrderId, "OA");
});

Deno.test("OrderClient.applyResync() brings unfinished orders up to date", async () => {
  const s = setup();
  await s.client.place(entry());
  s.transport.add = () => {
    throw krakenError("Krakked:Timeout");
  };
  await s.client.place(entry({ volume: "0.015" }));
  assert.equal(s.client.order("userref:2")!.state.status, "ambiguous");
  s.client.applyResync({
    reason: "gap",
    open: {
      OB: orderInfo({ userref: 2, vol: "0.01500000" }),
    },
    closed: {
      OA: orderInfo({
        status: "canceled",
        reason: "User requested",
      }),
    },
    balances: null,
    atMs: NOW_MS + 1_000,
  });
  assert.equal(s.client.order("userref:1")!.state.status, "canceled");
  assert.equal(s.client.order("userref:1")!.state.reason, "User requested");
  assert.equal(s.client.order("userref:2")!.state.status, "new");
  assert.equal(s.client.order("userref:2")!.state.orderId, "OB");
  // Nothing found for a terminal or unknown order changes nothing.
  s.client.applyResync({
    reason: "gap",
    open: {},
    closed: {},
    balances: null,
    atMs: NOW_MS + 2_000,
  });
  assert.equal(s.client.order("userref:2")!.state.status, "new");
});

Deno.test("OrderClient cancels and amends with the order's age", async () => {
  const s = setup();
  await s.client.place(entry());
  s.clock.advance(20_000);
  assert.deepEqual(await s.client.cancel("userref:1"), { count: 1 });
  const [cancel] = s.transport.of("cancelOrder");
  assert.deepEqual(cancel!.args, [{ orderId: "OA" }, {
    pair: "XBTUSD",
    ageMs: 20_000,
  }]);
  assert.equal(s.client.order("OA")!.state.status, "canceled");

  s.transport.add = () => ({ orderId: "OB" });
  await s.client.place(entry());
  s.clock.advance(7_000);
  assert.deepEqual(
    await s.client.amend("OB", { limitPrice: "25000.5" }),
    { amendId: "AM1" },
  );
  const [amend] = s.transport.of("amendOrder");
  assert.deepEqual(amend!.args[0], {
    target: { orderId: "OB" },
    pair: "XBTUSD",
    ageMs: 7_000,
    limitPrice: "25000.5",
  });
  s.clock.advance(3_000);
  await s.client.cancel("OB");
  assert.equal(
    (s.transport.of("cancelOrder")[1]!.args[1] as { ageMs: number }).ageMs,
    3_000,
    "the age restarts at the amend",
  );
  await assert.rejects(s.client.cancel("nope"), RangeError);
  assert.deepEqual(await s.client.cancelAll({ includeStops: true }), {
    count: 2,
    keptStops: [],
    uncovered: {},
  });
});

Deno.test("OrderClient cancels and amends an order whose id is not known yet by client ref", async () => {
  const s = setup({ readAccount: () => Promise.resolve(HOLDS_ONE_BTC) });
  s.transport.add = () => {
    throw krakenError("Krakked:Timeout");
  };
  await s.client.place(entry());
  await s.client.cancel("userref:1");
  assert.deepEqual(s.transport.of("cancelOrder")[0]!.args[0], { userref: 1 });
  await assert.rejects(
    s.client.amend("userref:1", { limitPrice: "1" }),
    /order id is not known yet/,
  );
  const exit = entry({
    side: "sell",
    intent: "exit",
    stopLoss: undefined,
    clientRef: { kind: "cl_ord_id", clOrdId: "bot-9" },
  });
  await s.client.place(exit, { account: HOLDS_ONE_BTC });
  await s.client.amend("cl_ord_id:bot-9", { orderQty: "0.005" });
  await s.client.cancel("cl_ord_id:bot-9");
  assert.deepEqual(s.transport.of("amendOrder")[0]!.args[0], {
    target: { clOrdId: "bot-9" },
    pair: "XBTUSD",
    ageMs: 0,
    orderQty: "0.005",
  });
  assert.deepEqual(s.transport.of("cancelOrder")[1]!.args[0], {
    clOrdId: "bot-9",
  });
});

Deno.test("OrderClient.placeBatch() tracks each row", async () => {
  const s = setup();
  const keys = await s.client.placeBatch([
    entry(),
    entry({ price: "25000.2" }),
  ]);
  assert.deepEqual(keys, ["userref:1", "userref:2"]);
  assert.equal(s.client.order(keys[0]!)!.state.status, "new");
  assert.equal(s.client.order(keys[1]!)!.state.status, "rejected");
  assert.equal(s.client.order(keys[1]!)!.error, "EOrder:Insufficient funds");
  const small = entry({ volume: "0.005" });
  const refused = await s.client.placeBatch([small, small, small]);
  for (const key of refused) {
    assert.equal(s.client.order(key)!.state.status, "rejected");
  }
  const dry = setup({ config: gateConfig({ mode: "dry_run" }) });
  await assert.rejects(
    dry.client.placeBatch([entry(), entry()]),
    /only placed on the live route/,
  );
});

Deno.test("OrderClient arms, refreshes and disarms the dead-man switch", async () => {
  const s = setup();
  const dms = s.client.startDeadMan({ timeoutSec: 60, refreshMs: 20_000 });
  assert.equal(s.client.startDeadMan(), dms, "one switch per client");
  await s.clock.flush();
  assert.deepEqual(
    s.transport.of("cancelAllOrdersAfter").map((c) => c.args[0]),
    [60],
  );
  assert.equal(dms.state.phase, "armed");
  s.clock.advance(20_000);
  await s.clock.flush();
  s.clock.advance(20_000);
  await s.clock.flush();
  assert.deepEqual(
    s.transport.of("cancelAllOrdersAfter").map((c) => c.args[0]),
    [60, 60, 60],
  );
  // A failed refresh is reported and retried.
  s.transport.deadMan = (t) =>
    t === 60 ? Promise.reject(krakenError("EService:Busy")) : Promise.resolve();
  s.clock.advance(20_000);
  await s.clock.flush();
  assert.equal(s.of("dead_man").length, 1);
  s.transport.deadMan = () => Promise.resolve();
  await s.client.close();
  assert.deepEqual(
    s.transport.of("cancelAllOrdersAfter").map((c) => c.args[0]).at(-1),
    0,
  );
  assert.equal(s.clock.pendingTimers, 0);
  await s.client.close();
  await assert.rejects(s.client.place(entry()), /client is closed/);
  await assert.rejects(s.client.placeBatch([entry(), entry()]), /closed/);
});

Deno.test("OrderClient trades on paper through the same lifecycle", async () => {
  const clock = new FakeClock(NOW_MS);
  const paper = new PaperBroker({
    pairs: [xbtusd()],
    balances: { USD: "700" },
    now: clock.now,
  });
  const client = new OrderClient({
    config: gateConfig({ mode: "paper" }),
    pairs: () => xbtusd(),
    paper,
    now: clock.now,
    setTimer: clock.setTimer,
    randomUuid: refs(),
  });
  const events: OrderClientEvent[] = [];
  client.on((e) => events.push(e));
  const book = {
    bids: [{ price: "24999.0", qty: "1" }],
    asks: [{ price: "25000.0", qty: "1" }],
  };
  const filled = await client.place(entry(), { book });
  assert.equal(filled.route, "paper");
  if (filled.route !== "paper") return;
  assert.equal(filled.state.status, "filled");
  assert.equal(filled.state.filledQty, "0.01");
  const closeOrder = events.find((e) => e.type === "close_order");
  assert.ok(closeOrder, "the attached stop-loss was created on the fill");
  const resting = await client.place(entry({
    price: "24000.1",
    stopLoss: {
      type: "stop-loss",
      triggerPrice: "23500",
    },
  }));
  assert.equal(resting.route === "paper" && resting.state.status, "new");
  const key = resting.route === "paper" ? resting.key : "";
  client.updatePaperBook("XBTUSD", {
    bids: [{ price: "23990.0", qty: "1" }],
    asks: [{ price: "24000.0", qty: "1" }],
  });
  assert.equal(client.order(key)!.state.status, "filled");
  const third = await client.place(entry({
    price: "20000.1",
    stopLoss: {
      type: "stop-loss",
      triggerPrice: "19500",
    },
  }));
  const thirdKey = third.route === "paper" ? third.key : "";
  assert.deepEqual(await client.cancel(thirdKey), { count: 1 });
  assert.equal(client.order(thirdKey)!.state.status, "canceled");
  const broke = await client.place(
    entry({
      volume: "0.024",
      price: "20000.1",
      stopLoss: {
        type: "stop-loss",
        triggerPrice: "19500",
      },
    }),
  );
  assert.equal(broke.route === "paper" && broke.state.status, "rejected");
  assert.match(
    broke.route === "paper" ? broke.state.reason ?? "" : "",
    /EOrder:Paper/,
  );
  // Paper orders amend in place (issue 18); a cancelled one is not open.
  await assert.rejects(
    client.amend(thirdKey, { limitPrice: "1" }),
    /No open order/,
  );
  const fourth = await client.place(entry({
    price: "20000.1",
    stopLoss: {
      type: "stop-loss",
      triggerPrice: "19500",
    },
  }));
  assert.equal(fourth.route === "paper" && fourth.state.status, "new");
  assert.equal((await client.cancelAll()).count >= 1, true);
  await client.close();
  const noPaper = new OrderClient({
    config: gateConfig({ mode: "paper" }),
    pairs: () => xbtusd(),
  });
  await assert.rejects(noPaper.place(entry(), { book }), /no paper broker/);
  assert.throws(() => noPaper.updatePaperBook("XBTUSD", book), TypeError);
});

Deno.test("OrderClient follows a private stream's executions and resyncs", async () => {
  using h = wsHarness();
  const rest = new FakeCaller((call) =>
    call.method === "OpenOrders"
      ? { open: {} }
      : call.method === "ClosedOrders"
      ? {
        closed: {
          OA: orderInfo({ status: "closed", "vol_exec": "0.01", cost: "250" }),
        },
      }
      : {}
  );
  const stream = new PrivateStream(h.session, {
    rest,
    balances: false,
    now: h.clock.now,
  });
  const transport = new FakeTransport();
  const client = new OrderClient({
    config: LIVE_CONFIG,
    liveSwitch: true,
    pairs: () => xbtusd(),
    transport,
    rest,
    stream,
    now: h.clock.now,
    setTimer: h.clock.setTimer,
    randomUuid: refs(),
    books: () => BOOK,
  });
  client.attach(stream);
  stream.start();
  h.session.connect();
  const socket = await h.open();
  await sentRequests(h.clock, socket, "subscribe");
  await client.place(entry());
  socket.receive({
    channel: "executions",
    type: "snapshot",
    sequence: 1,
    data: [{ "order_id": "OA", "exec_type": "new", "order_status": "new" }],
  });
  // The fill messages (2, 3) are lost; 4 says nothing new, so the gap's
  // resync has to tell that the order filled.
  socket.receive({
    channel: "executions",
    type: "update",
    sequence: 4,
    data: [],
  });
  await h.clock.until(() => client.order("OA")!.state.status === "filled");
  assert.equal(stream.gaps, 1);
  await client.close();
  stream.stop();
});

Deno.test("OrderClient.whenSettled() refuses unknown keys", async () => {
  const s = setup();
  await assert.rejects(s.client.whenSettled("userref:9"), RangeError);
  assert.equal(s.client.order("userref:9"), undefined);
  assert.ok(new KrakenError("x", { codes: ["EOrder:Invalid order"] }));
});
