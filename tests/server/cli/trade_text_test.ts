import assert from "node:assert/strict";
import {
  exitReport,
  modeLabel,
  orderRole,
} from "../../../server/cli/trade_text.ts";
import type {
  ExitSummary,
  OrderDecision,
} from "../../../server/trading/orders.ts";

type Accepted = Extract<OrderDecision, { decision: "accepted" }>;

function exitDecision(
  exit: Partial<ExitSummary>,
  over: Partial<Accepted> = {},
): Accepted {
  return {
    decision: "accepted",
    mode: "paper",
    route: "paper",
    stopLoss: null,
    notionalUsd: "99.456",
    expectedPrice: "65000",
    order: {
      key: "cl_ord_id:x",
      orderId: "OEXIT1",
      pair: "XBTUSD",
      side: "sell",
      type: "market",
      volume: "0.0015",
      price: null,
      filled: "0.0015",
      status: "filled",
      stopLoss: null,
      route: "paper",
      role: "order",
    },
    exit: {
      volume: "0.0015",
      sold: "0.0015",
      cancelledStops: [],
      reprotect: null,
      uncovered: "0",
      problem: null,
      ...exit,
    },
    ...over,
  };
}

Deno.test("modeLabel() prints modes as the CLI shows them", () => {
  assert.equal(modeLabel("read_only"), "READ-ONLY");
  assert.equal(modeLabel("dry_run"), "DRY-RUN");
  assert.equal(modeLabel("paper"), "PAPER");
  assert.equal(modeLabel("live"), "LIVE");
});

Deno.test("orderRole() marks sell stops as protective, everything else as an order", () => {
  for (
    const type of [
      "stop-loss",
      "stop-loss-limit",
      "trailing-stop",
      "trailing-stop-limit",
    ]
  ) {
    assert.equal(orderRole("sell", type), "stop", type);
    assert.equal(orderRole("buy", type), "order", `buy ${type}`);
  }
  for (const type of ["limit", "market", "take-profit", "iceberg"]) {
    assert.equal(orderRole("sell", type), "order", type);
  }
  assert.equal(orderRole("short", "stop-loss"), "order");
});

Deno.test("exitReport() names what was sold, the stops and what is uncovered", async (t) => {
  await t.step("a full close: stops cancelled, nothing to re-protect", () => {
    const report = exitReport(
      exitDecision({ cancelledStops: ["OSTOP1", "OSTOP2"] }),
      "btc-usd",
    );
    assert.deepEqual(report, {
      out: [
        "PAPER EXIT XBTUSD (PAPER): sold 0.0015 of 0.0015, notional 99.46 USD, order OEXIT1 filled",
        "stops cancelled: OSTOP1, OSTOP2",
        "re-protect stop: none needed",
      ],
      err: [],
      failed: false,
    });
  });
  await t.step("a partial close re-protects the rest", () => {
    const report = exitReport(
      exitDecision({
        cancelledStops: ["OSTOP1"],
        reprotect: { orderId: "ONEW", volume: "0.0005", trigger: "61000" },
      }, { mode: "live", route: "live" }),
      "XBTUSD",
    );
    assert.equal(report.out[0]!.startsWith("LIVE EXIT XBTUSD (LIVE): "), true);
    assert.equal(
      report.out[2],
      "re-protect stop: ONEW for 0.0005 at 61000",
    );
    assert.equal(report.failed, false);
  });
  await t.step("uncovered holding and a problem go to stderr, failed", () => {
    const report = exitReport(
      exitDecision({
        sold: "0.001",
        cancelledStops: ["OSTOP1"],
        reprotect: { orderId: null, volume: "0.0005", trigger: "61000" },
        uncovered: "0.0005",
        problem: "The new stop for 0.0005 BTC at 61000 was not placed",
      }),
      "XBTUSD",
    );
    assert.match(
      report.out[0]!,
      /sold 0\.001 of 0\.0015, the unsold rest stays held, notional/,
    );
    assert.equal(
      report.out[2],
      "re-protect stop: (not placed) for 0.0005 at 61000",
    );
    assert.deepEqual(report.err, [
      "WARNING: 0.0005 of XBTUSD's base asset is still held WITHOUT a stop-loss",
      "PROBLEM: The new stop for 0.0005 BTC at 61000 was not placed",
      "CHECK: stop OSTOP1 was cancelled and a later step failed, so the figures above may be incomplete: make sure what you still hold has a stop-loss ('krakked paper orders')",
    ]);
    assert.equal(report.failed, true);
  });
  await t.step("a failed account read: stale figures never reassure", () => {
    // The service reports the pre-exit uncovered volume when it could not
    // read the account after the sale; the stops were cancelled anyway.
    const report = exitReport(
      exitDecision({
        sold: "0",
        cancelledStops: ["OSTOP1", "OSTOP2"],
        uncovered: "0",
        problem: "Kraken Balance call failed: EService:Unavailable",
      }, { mode: "live", route: "live" }),
      "XBTUSD",
    );
    assert.deepEqual(report.err, [
      "PROBLEM: Kraken Balance call failed: EService:Unavailable",
      "CHECK: stops OSTOP1, OSTOP2 were cancelled and a later step failed, so the figures above may be incomplete: make sure what you still hold has a stop-loss ('krakked orders')",
    ]);
    assert.equal(report.failed, true);
  });
  await t.step("dry run: what it would do, nothing sent", () => {
    const report = exitReport(
      exitDecision({ sold: "0", cancelledStops: ["OSTOP1"] }, {
        mode: "dry_run",
        route: "dry_run",
        order: null,
      }),
      "XBTUSD",
    );
    assert.deepEqual(report.out, [
      "DRY-RUN EXIT XBTUSD (DRY-RUN): would sell 0.0015, notional 99.46 USD, nothing was sent",
      "stops it would cancel: OSTOP1",
    ]);
  });
  await t.step("without an order the pair as asked is named", () => {
    const { exit: _, ...noExit } = exitDecision({});
    const report = exitReport({ ...noExit, order: null }, "ETHUSD");
    assert.deepEqual(report.out, [
      "PAPER EXIT ETHUSD (PAPER): notional 99.46 USD",
    ]);
  });
});
