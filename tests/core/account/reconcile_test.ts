// Tests core/account/reconcile.ts: every difference is reported with its
// fields; equal numbers in different spellings are not drift.
import assert from "node:assert/strict";
import { reconcile } from "../../../core/account/reconcile.ts";

const order = {
  pair: "BTC/USD",
  side: "buy",
  qty: "0.5",
  filled: "0",
  limitPrice: "100.0",
};

Deno.test("reconcile() finds nothing when both views agree", () => {
  assert.deepEqual(
    reconcile(
      { balances: { USD: "100.5", BTC: "0" }, openOrders: { O1: order } },
      {
        balances: { USD: "100.5000" },
        openOrders: { O1: { ...order, qty: "0.50000000", limitPrice: "100" } },
      },
    ),
    [],
  );
});

Deno.test("reconcile() reports each differing balance and order field", () => {
  const drifts = reconcile(
    {
      balances: { USD: "100", ETH: "1" },
      openOrders: { O1: order, O2: order },
    },
    {
      balances: { USD: "90", BTC: "0.1" },
      openOrders: { O1: { ...order, filled: "0.2" }, O3: order },
    },
  );
  assert.deepEqual(drifts, [
    {
      kind: "balance",
      id: "BTC",
      fields: [{ field: "balance", stream: "0", rest: "0.1" }],
    },
    {
      kind: "balance",
      id: "ETH",
      fields: [{ field: "balance", stream: "1", rest: "0" }],
    },
    {
      kind: "balance",
      id: "USD",
      fields: [{ field: "balance", stream: "100", rest: "90" }],
    },
    {
      kind: "order",
      id: "O1",
      fields: [{ field: "filled", stream: "0", rest: "0.2" }],
    },
    {
      kind: "order",
      id: "O2",
      fields: [{ field: "present", stream: "open", rest: null }],
    },
    {
      kind: "order",
      id: "O3",
      fields: [{ field: "present", stream: null, rest: "open" }],
    },
  ]);
});
