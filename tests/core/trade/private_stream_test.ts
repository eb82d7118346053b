import assert from "node:assert/strict";
import {
  normalizeExecutionReport,
  PrivateStream,
  type PrivateStreamEvent,
} from "../../../core/trade/private_stream.ts";
import type { FakeWebSocket } from "../../fakes/websocket.ts";
import { NOW_MS } from "./_fixtures.ts";
import { FakeCaller, sentRequests, wsHarness } from "./_transport_helpers.ts";

function executions(
  sequence: number,
  data: unknown[],
  type: "snapshot" | "update" = "update",
): Record<string, unknown> {
  return { channel: "executions", type, data, sequence };
}

function restForResync(): FakeCaller {
  return new FakeCaller((call) => {
    switch (call.method) {
      case "OpenOrders":
        return { open: { OA: { status: "open" } } };
      case "ClosedOrders":
        return { closed: { OB: { status: "closed" } }, count: 1 };
      default:
        return { ZUSD: "100.5", XXBT: "0.25" };
    }
  });
}

async function started(
  options: { rest?: FakeCaller; balances?: boolean } = {},
) {
  const h = wsHarness();
  const stream = new PrivateStream(h.session, {
    now: h.clock.now,
    ...options,
  });
  const events: PrivateStreamEvent[] = [];
  stream.on((event) => events.push(event));
  stream.start();
  stream.start();
  h.session.connect();
  const socket = await h.open();
  return {
    h,
    stream,
    events,
    socket,
    of<T extends PrivateStreamEvent["type"]>(type: T) {
      return events.filter((e) => e.type === type) as Extract<
        PrivateStreamEvent,
        { type: T }
      >[];
    },
    [Symbol.dispose]() {
      stream.stop();
      h.session.close();
    },
  };
}

Deno.test("PrivateStream subscribes to executions and balances with the session token", async () => {
  using s = await started();
  const subscribes = await sentRequests(s.h.clock, s.socket, "subscribe", 2);
  const params = subscribes.map((r) => r.params as Record<string, unknown>);
  const executionsSub = params.find((p) => p.channel === "executions")!;
  assert.equal(executionsSub.snap_orders, true);
  assert.equal(executionsSub.snap_trades, false);
  assert.equal(executionsSub.token, s.h.tokens[0]);
  const balancesSub = params.find((p) => p.channel === "balances")!;
  assert.equal(balancesSub.snapshot, true);
});

Deno.test("PrivateStream delivers normalised reports in sequence", async () => {
  using s = await started();
  s.socket.receive(executions(1, [{
    "order_id": "OA",
    "exec_type": "new",
    "order_status": "new",
    "order_userref": 42,
    "order_qty": 0.5,
  }], "snapshot"));
  s.socket.receive(executions(2, [{
    "order_id": "OA",
    "exec_type": "trade",
    "exec_id": "TX1",
    "trade_id": 51234001,
    "last_qty": 0.25,
    "last_price": 2254.9,
  }, { note: "no exec_type" }]));
  s.socket.receive({ channel: "ticker", type: "update", data: [] });
  const delivered = s.of("executions");
  assert.equal(delivered.length, 2);
  assert.equal(delivered[0]!.kind, "snapshot");
  assert.equal(delivered[0]!.reports[0]!.order_userref, 42);
  assert.equal(delivered[0]!.reports[0]!.order_qty, "0.5");
  assert.equal(delivered[1]!.sequence, 2);
  assert.equal(delivered[1]!.reports.length, 1);
  assert.equal(delivered[1]!.reports[0]!.trade_id, 51234001);
  assert.equal(delivered[1]!.reports[0]!.last_price, "2254.9");
  assert.equal(s.stream.gaps, 0);
});

Deno.test("PrivateStream drops duplicates and resyncs from REST on a gap", async () => {
  const rest = restForResync();
  using s = await started({ rest });
  s.socket.receive(executions(1, [], "snapshot"));
  s.socket.receive(executions(2, [{ "order_id": "OA", "exec_type": "new" }]));
  s.socket.receive(executions(2, [{ "order_id": "OA", "exec_type": "new" }]));
  assert.equal(s.stream.duplicates, 1);
  assert.deepEqual(s.of("duplicate"), [{
    type: "duplicate",
    channel: "executions",
    sequence: 2,
  }]);
  // 3 and 4 were lost.
  s.socket.receive(
    executions(5, [{ "order_id": "OA", "exec_type": "canceled" }]),
  );
  assert.equal(s.stream.gaps, 1);
  assert.deepEqual(s.of("gap")[0], {
    type: "gap",
    channel: "executions",
    expected: 3,
    received: 5,
    atMs: NOW_MS,
  });
  // The message after the gap is still delivered, and 6 follows it.
  assert.equal(s.of("executions").at(-1)!.sequence, 5);
  s.socket.receive(executions(6, []));
  assert.equal(s.stream.gaps, 1);
  await s.h.clock.until(() => s.of("resync").length === 1);
  const { result } = s.of("resync")[0]!;
  assert.equal(result.reason, "gap");
  assert.deepEqual(Object.keys(result.open), ["OA"]);
  assert.deepEqual(Object.keys(result.closed), ["OB"]);
  assert.deepEqual(result.balances, { ZUSD: "100.5", XXBT: "0.25" });
  assert.deepEqual(rest.calls.map((c) => c.method), [
    "OpenOrders",
    "ClosedOrders",
    "Balance",
  ]);
  assert.equal(
    rest.of("ClosedOrders")[0]!.params.start,
    Math.floor(NOW_MS / 1000) - 3600,
  );
});

Deno.test("PrivateStream coalesces resyncs that pile up", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const rest = new FakeCaller(async (call) => {
    if (call.method === "OpenOrders") await gate;
    return call.method === "OpenOrders"
      ? { open: {} }
      : call.method === "ClosedOrders"
      ? { closed: {} }
      : {};
  });
  using s = await started({ rest, balances: false });
  const first = s.stream.resync("manual");
  const second = s.stream.resync("gap");
  const third = s.stream.resync("gap");
  release();
  await Promise.all([first, second, third]);
  assert.equal(rest.of("OpenOrders").length, 2);
  assert.equal(rest.of("Balance").length, 0);
  assert.deepEqual(s.of("resync").map((e) => e.result.reason), [
    "manual",
    "gap",
  ]);
  assert.equal(s.of("resync")[0]!.result.balances, null);
});

Deno.test("PrivateStream resyncs after a reconnect and restarts sequence checks", async () => {
  const rest = restForResync();
  using s = await started({ rest });
  s.socket.receive(executions(1, [], "snapshot"));
  s.socket.receive(executions(2, []));
  s.socket.drop();
  s.h.clock.advance(1_000);
  const second: FakeWebSocket = await s.h.open();
  assert.equal(s.h.tokens.length, 2, "a fresh token for the new connection");
  const subscribes = await sentRequests(s.h.clock, second, "subscribe", 2);
  for (const sub of subscribes) {
    assert.equal((sub.params as Record<string, unknown>).token, s.h.tokens[1]);
  }
  second.receive(executions(1, [], "snapshot"));
  second.receive(executions(2, []));
  assert.equal(s.stream.duplicates, 0);
  assert.equal(s.stream.gaps, 0);
  await s.h.clock.until(() => s.of("resync").length === 1);
  assert.equal(s.of("resync")[0]!.result.reason, "reconnect");
});

Deno.test("PrivateStream keeps the latest balance per asset", async () => {
  using s = await started();
  s.socket.receive({
    channel: "balances",
    type: "snapshot",
    sequence: 1,
    data: [
      {
        asset: "USD",
        "asset_class": "currency",
        balance: 10000.5,
        wallets: [],
      },
      { asset: "BTC", balance: 1.25 },
      { asset: "BAD" },
    ],
  });
  s.socket.receive({
    channel: "balances",
    type: "update",
    sequence: 2,
    data: [{
      "ledger_id": "L4QX2M-ABCDE-FGHIJK",
      "ref_id": "TXK2QF-7NWB3-PLM4AA",
      type: "trade",
      asset: "USD",
      "wallet_type": "spot",
      amount: -1127.45,
      balance: 8873.05,
    }],
  });
  s.socket.receive({ channel: "balances", type: "update", data: "nope" });
  assert.deepEqual(s.stream.balances(), { USD: "8873.05", BTC: "1.25" });
  const update = s.of("balances")[1]!;
  assert.deepEqual(update.rows, [{
    asset: "USD",
    balance: "8873.05",
    amount: "-1127.45",
    type: "trade",
    ledgerId: "L4QX2M-ABCDE-FGHIJK",
    refId: "TXK2QF-7NWB3-PLM4AA",
    walletType: "spot",
  }]);
  assert.equal(s.of("balances")[2]!.rows.length, 0);
});

Deno.test("PrivateStream reports a failed resync and does nothing without REST", async (t) => {
  await t.step("failure", async () => {
    const rest = new FakeCaller(() => {
      throw new Error("EService:Unavailable");
    });
    using s = await started({ rest });
    await s.stream.resync();
    assert.deepEqual(s.of("resync_failed"), [{
      type: "resync_failed",
      reason: "manual",
      message: "EService:Unavailable",
    }]);
  });
  await t.step("no REST reader", async () => {
    using s = await started();
    await s.stream.resync();
    assert.equal(s.events.length, 0);
  });
});

Deno.test("PrivateStream.stop() unsubscribes and stops listening", async () => {
  using s = await started();
  await sentRequests(s.h.clock, s.socket, "subscribe", 2);
  for (const sub of s.socket.sentMethod("subscribe")) {
    const params = sub.params as Record<string, unknown>;
    s.socket.receive({
      method: "subscribe",
      "req_id": sub.req_id,
      success: true,
      result: { channel: params.channel },
    });
  }
  s.stream.stop();
  await sentRequests(s.h.clock, s.socket, "unsubscribe", 2);
  s.socket.receive(executions(1, [], "snapshot"));
  assert.equal(s.of("executions").length, 0);
});

Deno.test("normalizeExecutionReport() keeps fields and fixes integer ones", () => {
  assert.equal(normalizeExecutionReport({ "order_id": "OA" }), null);
  assert.equal(normalizeExecutionReport("x"), null);
  const report = normalizeExecutionReport({
    "exec_type": "new",
    "order_userref": "not a number",
    "trade_id": true,
    symbol: "BTC/USD",
  })!;
  assert.equal("order_userref" in report, false);
  assert.equal("trade_id" in report, false);
  assert.equal(report.symbol, "BTC/USD");
});
