import assert from "node:assert/strict";
import type { OrderInfo } from "../../../core/rest/types.ts";
import { prepareOrder } from "../../../core/trade/gates.ts";
import {
  executionEvents,
  type ExecutionsMessage,
  isAmbiguousOrderError,
  type LifecycleEffect,
  type LifecycleEvent,
  type OrderLifecycleState,
  orderStateFor,
  RECONCILE_DELAY_MS,
  reconcileEvent,
  reconcileQueries,
  reportMatches,
  stepOrder,
} from "../../../core/trade/lifecycle.ts";
import { context, entry, ethusd, NOW_MS } from "./_fixtures.ts";

const EXECUTIONS: ExecutionsMessage[] = (await Deno.readTextFile(
  new URL("./testdata/executions_limit_cross.jsonl", import.meta.url),
)).trim().split("\n").map((line) => JSON.parse(line));

/**
 * The WS_V2.md §4.1 example order: ETH/USD limit buy 0.5 @ 2255 with
 * cl_ord_id c1d3a7e2-…; sent at NOW_MS.
 */
function ethOrder(): OrderLifecycleState {
  const result = prepareOrder(
    entry({
      pair: "ETHUSD",
      volume: "0.5",
      price: "2255",
      intent: "exit",
      stopLoss: undefined,
      clientRef: {
        kind: "cl_ord_id",
        clOrdId: "c1d3a7e2-5b6f-4f0e-9a40-1f2e3d4c5b6a",
      },
    }),
    context({ pair: ethusd(), positionBase: "-1" }),
  );
  assert.ok(result.ok, !result.ok ? result.rejection.message : "");
  return orderStateFor(result.prepared, NOW_MS);
}

/** An XBTUSD entry with userref 1, sent at NOW_MS. */
function xbtOrder(): OrderLifecycleState {
  const result = prepareOrder(entry(), context());
  assert.ok(result.ok);
  return orderStateFor(result.prepared, NOW_MS);
}

function run(
  state: OrderLifecycleState,
  events: readonly LifecycleEvent[],
): { state: OrderLifecycleState; effects: LifecycleEffect[] } {
  const effects: LifecycleEffect[] = [];
  for (const event of events) {
    const step = stepOrder(state, event);
    state = step.state;
    effects.push(...step.effects);
  }
  return { state, effects };
}

function statusChanges(effects: LifecycleEffect[]): string[] {
  return effects.flatMap((e) =>
    e.type === "status_changed" ? [`${e.from}→${e.to}`] : []
  );
}

const ALL_EVENTS = EXECUTIONS.flatMap((m, i) => executionEvents(m, NOW_MS + i));

Deno.test("stepOrder() follows the documented limit-cross executions to filled", () => {
  const start = ethOrder();
  assert.equal(start.status, "pending_new");
  // Reports are sparse: the first carries the cl_ord_id, later ones only
  // the order_id the first taught the state. Each matches when it arrives.
  let current = start;
  for (const event of ALL_EVENTS) {
    assert.ok(event.type === "wire.execution");
    assert.ok(reportMatches(current, event.report), event.report.exec_type);
    current = stepOrder(current, event).state;
  }
  assert.equal(
    reportMatches(start, (ALL_EVENTS[2] as { report: object }).report as never),
    false,
    "before the order id is known a sparse trade report cannot be routed",
  );
  const { state, effects } = run(start, ALL_EVENTS);
  assert.equal(state.status, "filled");
  assert.equal(state.orderId, "OQ7VZL-3MUTA-R2KX9D");
  assert.equal(state.filledQty, "0.5");
  assert.equal(state.cumCost, "1127.45");
  assert.equal(state.fees, "4.51");
  assert.equal(state.avgPrice, "2254.9");
  assert.equal(state.lastSequence, 24);
  assert.deepEqual(state.execIds, ["TXK2QF-7NWB3-PLM4AA"]);
  // pending_new repeats the current status, so no change is reported for it;
  // the trade says partially_filled even though it filled everything.
  assert.deepEqual(statusChanges(effects), [
    "pending_new→new",
    "new→partially_filled",
    "partially_filled→filled",
  ]);
  assert.deepEqual(effects.filter((e) => e.type === "fill"), [{
    type: "fill",
    execId: "TXK2QF-7NWB3-PLM4AA",
    qty: "0.5",
    price: "2254.9",
    cost: "1127.45",
    fee: "4.51",
    liquidity: "taker",
  }]);
});

Deno.test("stepOrder() tolerates duplicate and out-of-order reports", async (t) => {
  await t.step("every report twice: one fill, same end state", () => {
    const twice = ALL_EVENTS.flatMap((e) => [e, e]);
    const { state, effects } = run(ethOrder(), twice);
    assert.equal(state.status, "filled");
    assert.equal(state.filledQty, "0.5");
    assert.equal(state.fees, "4.51");
    assert.equal(effects.filter((e) => e.type === "fill").length, 1);
  });
  await t.step("reverse order: status never moves backwards", () => {
    const { state, effects } = run(ethOrder(), [...ALL_EVENTS].reverse());
    assert.equal(state.status, "filled");
    assert.equal(state.filledQty, "0.5");
    assert.equal(state.cumCost, "1127.45");
    assert.equal(state.fees, "4.51"); // the late trade is still counted once
    assert.equal(state.lastSequence, 24);
    assert.deepEqual(statusChanges(effects), ["pending_new→filled"]);
  });
  await t.step(
    "a cancel then a late new stays canceled, late fills still count",
    () => {
      const { state } = run(xbtOrder(), [
        {
          type: "wire.execution",
          sequence: 5,
          atMs: NOW_MS,
          report: {
            order_id: "OAAAAA-AAAAA-AAAAAA",
            order_userref: 1,
            exec_type: "canceled",
            order_status: "canceled",
            reason: "User requested",
          },
        },
        {
          type: "wire.execution",
          sequence: 3,
          atMs: NOW_MS,
          report: { order_id: "OAAAAA-AAAAA-AAAAAA", exec_type: "new" },
        },
        {
          type: "wire.execution",
          sequence: 4,
          atMs: NOW_MS,
          report: {
            order_id: "OAAAAA-AAAAA-AAAAAA",
            exec_type: "trade",
            exec_id: "T1",
            last_qty: "0.004",
            last_price: "25000.1",
            cost: "100.0004",
          },
        },
      ]);
      assert.equal(state.status, "canceled");
      assert.equal(state.reason, "User requested");
      assert.equal(state.filledQty, "0.004"); // no cum_qty: the fill adds up
      assert.equal(state.cumCost, "100.0004");
      assert.equal(state.lastSequence, 5);
    },
  );
  await t.step("amends apply only when newer than what was seen", () => {
    const amended = (sequence: number, qty: number) => ({
      type: "wire.execution" as const,
      sequence,
      atMs: NOW_MS,
      report: {
        order_id: "O1",
        exec_type: "amended",
        order_qty: qty,
        limit_price: 25001,
      },
    });
    const { state } = run(xbtOrder(), [amended(10, 0.02), amended(9, 0.03)]);
    assert.equal(state.volume, "0.02");
    assert.equal(state.limitPrice, "25001");
  });
});

Deno.test("stepOrder() makes a lost answer ambiguous and reconciles, never resends", async (t) => {
  for (
    const event of [
      { type: "timer.reply_timeout", atMs: NOW_MS + 5000 },
      { type: "wire.disconnected", atMs: NOW_MS + 5000 },
      {
        type: "reply.error",
        code: "EService:Unavailable",
        atMs: NOW_MS + 5000,
      },
      { type: "reply.error", code: "Krakked:Timeout", atMs: NOW_MS + 5000 },
    ] as const
  ) {
    await t.step(`${event.type} ${"code" in event ? event.code : ""}`, () => {
      const { state, effects } = stepOrder(xbtOrder(), event);
      assert.equal(state.status, "ambiguous");
      assert.deepEqual(effects, [
        { type: "status_changed", from: "pending_new", to: "ambiguous" },
        {
          type: "reconcile",
          ref: { kind: "userref", userref: 1 },
          pair: "XBTUSD",
          sentAtMs: NOW_MS,
          notBeforeMs: NOW_MS + 5000 + RECONCILE_DELAY_MS,
        },
      ]);
    });
  }
  await t.step("not found → not_placed; a late report is an anomaly", () => {
    const ambiguous = stepOrder(xbtOrder(), {
      type: "timer.reply_timeout",
      atMs: NOW_MS + 5000,
    }).state;
    const notPlaced = stepOrder(ambiguous, {
      type: "reconcile.not_found",
      atMs: NOW_MS + 8000,
    });
    assert.equal(notPlaced.state.status, "not_placed");
    for (
      const late of [
        { type: "wire.execution", atMs: 1, report: { exec_type: "new" } },
        { type: "reply.accepted", orderId: "O1", atMs: 1 },
        { type: "reconcile.found", orderId: "O1", order: openOrder(), atMs: 1 },
      ] as const
    ) {
      const step = stepOrder(notPlaced.state, late);
      assert.equal(step.state.status, "not_placed");
      assert.equal(step.effects[0]?.type, "anomaly");
    }
  });
  await t.step("found open → new; found closed → filled with amounts", () => {
    const ambiguous = stepOrder(xbtOrder(), {
      type: "wire.disconnected",
      atMs: NOW_MS,
    }).state;
    const open = stepOrder(ambiguous, {
      type: "reconcile.found",
      orderId: "OUF4EM-FRGI2-MQMWZD",
      order: openOrder(),
      atMs: NOW_MS,
    }).state;
    assert.equal(open.status, "new");
    assert.equal(open.orderId, "OUF4EM-FRGI2-MQMWZD");
    const closed = stepOrder(ambiguous, {
      type: "reconcile.found",
      orderId: "OUF4EM-FRGI2-MQMWZD",
      order: {
        ...openOrder(),
        status: "closed",
        vol_exec: "0.01000000",
        cost: "250.00100",
        fee: "0.65000",
        price: "25000.1",
      },
      atMs: NOW_MS,
    }).state;
    assert.equal(closed.status, "filled");
    assert.equal(closed.filledQty, "0.01");
    assert.equal(closed.cumCost, "250.001");
    assert.equal(closed.fees, "0.65");
    assert.equal(closed.avgPrice, "25000.1");
  });
  await t.step(
    "a late acceptance resolves ambiguity; a later not_found is ignored",
    () => {
      const { state } = run(xbtOrder(), [
        { type: "timer.reply_timeout", atMs: NOW_MS },
        { type: "reply.accepted", orderId: "O9", atMs: NOW_MS },
        { type: "reconcile.not_found", atMs: NOW_MS },
        { type: "timer.reply_timeout", atMs: NOW_MS },
      ]);
      assert.equal(state.status, "new");
      assert.equal(state.orderId, "O9");
    },
  );
  await t.step("an ambiguous order resolved by any executions evidence", () => {
    const { state } = run(xbtOrder(), [
      { type: "wire.disconnected", atMs: NOW_MS },
      {
        type: "wire.execution",
        atMs: NOW_MS,
        report: { exec_type: "pending_new", order_id: "O2", order_userref: 1 },
      },
    ]);
    assert.equal(state.status, "pending_new");
    assert.equal(state.orderId, "O2");
  });
});

Deno.test("stepOrder() rejects on definite errors only", async (t) => {
  await t.step("EOrder:Insufficient funds → rejected with the reason", () => {
    const { state } = stepOrder(xbtOrder(), {
      type: "reply.error",
      code: "EOrder:Insufficient funds",
      atMs: NOW_MS,
    });
    assert.equal(state.status, "rejected");
    assert.equal(state.reason, "EOrder:Insufficient funds");
    const late = stepOrder(state, {
      type: "wire.execution",
      atMs: NOW_MS,
      report: { exec_type: "new" },
    });
    assert.equal(late.state.status, "rejected");
    assert.equal(late.effects[0]?.type, "anomaly");
    const again = stepOrder(state, {
      type: "reply.error",
      code: "EOrder:Insufficient funds",
      atMs: NOW_MS,
    });
    assert.deepEqual(again.effects, []);
    const found = stepOrder(state, {
      type: "reconcile.found",
      orderId: "O1",
      order: openOrder(),
      atMs: NOW_MS,
    });
    assert.equal(found.state.status, "rejected");
    assert.equal(found.effects[0]?.type, "anomaly");
  });
  await t.step("a late definite error after ambiguity → rejected", () => {
    const { state } = run(xbtOrder(), [
      { type: "wire.disconnected", atMs: NOW_MS },
      { type: "reply.error", code: "EOrder:Invalid price", atMs: NOW_MS },
    ]);
    assert.equal(state.status, "rejected");
  });
  await t.step("an error after the order is live is an anomaly", () => {
    const { state, effects } = run(xbtOrder(), [
      { type: "reply.accepted", orderId: "O1", atMs: NOW_MS },
      { type: "reply.error", code: "EGeneral:Invalid arguments", atMs: NOW_MS },
      { type: "reply.error", code: "EService:Busy", atMs: NOW_MS },
    ]);
    assert.equal(state.status, "new");
    assert.deepEqual(effects.map((e) => e.type), ["status_changed", "anomaly"]);
  });
  await t.step("isAmbiguousOrderError() table", () => {
    const table: Array<[string, boolean]> = [
      ["EService:Unavailable", true],
      ["EService:Busy", true],
      ["EService:Deadline elapsed", true],
      ["EGeneral:Internal error", true],
      ["Krakked:Timeout", true],
      ["Krakked:Bad envelope", true],
      ["ESomething:New", true],
      ["EService:Market in cancel_only mode", false],
      ["EService: Market in post_only mode", false],
      ["EOrder:Insufficient funds", false],
      ["EAPI:Invalid nonce", false],
      ["EOrder:Rate limit exceeded", false],
      ["Krakked:No credentials", false],
    ];
    for (const [code, ambiguous] of table) {
      assert.equal(isAmbiguousOrderError(code), ambiguous, code);
    }
  });
});

function openOrder(overrides: Partial<OrderInfo> = {}): OrderInfo {
  return {
    refid: null,
    userref: 1,
    status: "open",
    opentm: NOW_MS / 1000 + 0.2,
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
    vol_exec: "0.00000000",
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

Deno.test("reconcileQueries() and reconcileEvent() find the order by client ref", async (t) => {
  const state =
    stepOrder(xbtOrder(), { type: "wire.disconnected", atMs: NOW_MS })
      .state;
  await t.step("queries by userref, closed orders from a minute before", () => {
    assert.deepEqual(reconcileQueries(state), {
      openOrders: { userref: 1 },
      closedOrders: { userref: 1, start: NOW_MS / 1000 - 60 },
    });
    const eth = ethOrder();
    assert.deepEqual(reconcileQueries(eth).openOrders, {
      cl_ord_id: "c1d3a7e2-5b6f-4f0e-9a40-1f2e3d4c5b6a",
    });
  });
  await t.step(
    "ignores same-userref orders that differ, picks the closest",
    () => {
      const event = reconcileEvent(state, {
        open: {
          "OTHER1-AAAAA-AAAAAA": openOrder({
            descr: { ...openOrder().descr, pair: "ETHUSD" },
          }),
          "OTHER2-AAAAA-AAAAAA": openOrder({ vol: "0.02000000" }),
          "OTHER3-AAAAA-AAAAAA": openOrder({ userref: 2 }),
          "OTHER4-AAAAA-AAAAAA": openOrder({ opentm: NOW_MS / 1000 - 3600 }),
          "OTHER5-AAAAA-AAAAAA": openOrder({
            descr: { ...openOrder().descr, type: "sell" },
          }),
        },
        closed: {
          "OFAR00-AAAAA-AAAAAA": openOrder({
            status: "canceled",
            opentm: NOW_MS / 1000 + 30,
          }),
          "ONEAR0-AAAAA-AAAAAA": openOrder({
            status: "canceled",
            opentm: NOW_MS / 1000 + 1,
          }),
        },
      }, NOW_MS + 3000);
      assert.equal(event.type, "reconcile.found");
      assert.equal(
        event.type === "reconcile.found" && event.orderId,
        "ONEAR0-AAAAA-AAAAAA",
      );
      const resolved = stepOrder(state, event).state;
      assert.equal(resolved.status, "canceled");
    },
  );
  await t.step("nothing matching → not_found", () => {
    assert.deepEqual(
      reconcileEvent(state, { open: {}, closed: {} }, NOW_MS + 3000),
      { type: "reconcile.not_found", atMs: NOW_MS + 3000 },
    );
  });
  await t.step("partially filled open order and cl_ord_id match", () => {
    const eth =
      stepOrder(ethOrder(), { type: "wire.disconnected", atMs: NOW_MS }).state;
    const order = openOrder({
      userref: 0,
      cl_ord_id: "c1d3a7e2-5b6f-4f0e-9a40-1f2e3d4c5b6a",
      descr: { ...openOrder().descr, pair: "ETHUSD" },
      vol: "0.50000000",
      vol_exec: "0.20000000",
      reason: null,
    });
    const event = reconcileEvent(
      eth,
      { open: { OE: order }, closed: {} },
      NOW_MS,
    );
    const resolved = stepOrder(eth, event).state;
    assert.equal(resolved.status, "partially_filled");
    assert.equal(resolved.filledQty, "0.2");
  });
});

Deno.test("reportMatches() routes by order id, then client ref", () => {
  const state = xbtOrder();
  assert.equal(
    reportMatches(state, { exec_type: "new", order_userref: 1 }),
    true,
  );
  assert.equal(
    reportMatches(state, {
      exec_type: "new",
      order_userref: 1,
      symbol: "ETH/USD",
    }),
    false,
  );
  assert.equal(
    reportMatches(state, { exec_type: "new", order_userref: 1, side: "sell" }),
    false,
  );
  assert.equal(
    reportMatches(state, {
      exec_type: "new",
      order_userref: 1,
      ord_ref_id: "O1",
    }),
    false,
    "a conditional close is a different order",
  );
  const known = { ...state, orderId: "O1" };
  assert.equal(
    reportMatches(known, { exec_type: "new", order_id: "O1" }),
    true,
  );
  assert.equal(
    reportMatches(known, {
      exec_type: "new",
      order_id: "O2",
      order_userref: 1,
    }),
    false,
  );
  const eth = ethOrder();
  assert.equal(reportMatches(eth, { exec_type: "new", cl_ord_id: "x" }), false);
});

Deno.test("executionEvents() splits a push and keeps its sequence", () => {
  const events = executionEvents({
    channel: "executions",
    type: "snapshot",
    data: [{ exec_type: "new" }, { exec_type: "trade" }],
  }, 5);
  assert.deepEqual(events, [
    { type: "wire.execution", report: { exec_type: "new" }, atMs: 5 },
    { type: "wire.execution", report: { exec_type: "trade" }, atMs: 5 },
  ]);
  assert.equal(
    executionEvents(EXECUTIONS[0] as ExecutionsMessage, 0)[0]?.type ===
        "wire.execution" &&
      (executionEvents(EXECUTIONS[0] as ExecutionsMessage, 0)[0] as {
        sequence: number;
      }).sequence,
    21,
  );
});
