/**
 * The simulator's method table against docs/kraken/REST.md §3 and §7.1,
 * and against the handlers it dispatches to. The last test cross-checks
 * the client's allowlist in core with it: two independent lists that must
 * agree on what exists and on what costs what.
 */
import assert from "node:assert/strict";
import {
  PRIVATE_METHODS as CLIENT_PRIVATE,
  PUBLIC_METHODS as CLIENT_PUBLIC,
} from "../../../core/rest/methods.ts";
import {
  classifyPrivateMethod,
  FORBIDDEN_METHODS,
  isPublicMethod,
  METHOD_PERMISSIONS,
  PUBLIC_METHODS,
  restCost,
} from "../../../server/sim/rest/methods.ts";
import { ACCOUNT_HANDLERS } from "../../../server/sim/rest/private.ts";
import { PUBLIC_HANDLERS } from "../../../server/sim/rest/public.ts";

const REST_MD = new URL("../../../docs/kraken/REST.md", import.meta.url);

/** The names listed under REST.md's "FORBIDDEN for Krakked" heading. */
async function forbiddenInDocs(): Promise<string[]> {
  const text = await Deno.readTextFile(REST_MD);
  const start = text.indexOf("#### Funding / earn / sub-accounts");
  const end = text.indexOf("\n---", start);
  assert.ok(start > 0 && end > start, "REST.md has the funding section");
  return [...text.slice(start, end).matchAll(/`([A-Za-z/]+)`/g)].map((m) =>
    m[1]!
  );
}

Deno.test("the refused methods are exactly REST.md §3.2's funding, earn and sub-account list", async () => {
  const documented = await forbiddenInDocs();
  assert.equal(documented.length, 18);
  assert.deepEqual([...FORBIDDEN_METHODS].sort(), documented.sort());
  for (const method of documented) {
    assert.equal(classifyPrivateMethod(method), "forbidden", method);
    assert.equal(Object.hasOwn(METHOD_PERMISSIONS, method), false, method);
  }
});

Deno.test("every public method has a handler and every handler is a public method", () => {
  assert.deepEqual(
    [...PUBLIC_METHODS].sort(),
    Object.keys(PUBLIC_HANDLERS).sort(),
  );
  assert.ok(isPublicMethod("OHLC"));
  assert.equal(isPublicMethod("Balance"), false);
  assert.equal(isPublicMethod("constructor"), false);
});

Deno.test("every account handler is a known private method", () => {
  for (const method of Object.keys(ACCOUNT_HANDLERS)) {
    assert.equal(classifyPrivateMethod(method), "known", method);
  }
});

Deno.test("permissions follow REST.md §3.2's endpoint table", () => {
  assert.deepEqual(METHOD_PERMISSIONS.Balance, ["query_funds"]);
  assert.deepEqual(METHOD_PERMISSIONS.OpenOrders, ["query_open"]);
  assert.deepEqual(METHOD_PERMISSIONS.ClosedOrders, ["query_closed"]);
  assert.deepEqual(METHOD_PERMISSIONS.Ledgers, ["query_ledger"]);
  assert.deepEqual(METHOD_PERMISSIONS.GetWebSocketsToken, ["websocket"]);
  assert.deepEqual(METHOD_PERMISSIONS.AddOrder, ["create_orders"]);
  // "Create & modify and Cancel & close"
  assert.deepEqual(METHOD_PERMISSIONS.AddOrderBatch, [
    "create_orders",
    "cancel_orders",
  ]);
  assert.deepEqual(METHOD_PERMISSIONS.EditOrder, [
    "create_orders",
    "cancel_orders",
  ]);
  assert.deepEqual(METHOD_PERMISSIONS.CancelAll, ["cancel_orders"]);
});

Deno.test("restCost() charges 2 for ledgers and trade history, 0 for AddOrder and CancelOrder", () => {
  for (const m of ["Ledgers", "QueryLedgers", "TradesHistory", "QueryTrades"]) {
    assert.equal(restCost(m), 2, m);
  }
  for (const m of ["AddOrder", "CancelOrder"]) assert.equal(restCost(m), 0, m);
  for (
    const m of [
      "Balance",
      "OpenOrders",
      "AddOrderBatch",
      "AmendOrder",
      "EditOrder",
      "CancelAll",
      "GetWebSocketsToken",
      "Withdraw",
    ]
  ) {
    assert.equal(restCost(m), 1, m);
  }
});

Deno.test("cross-check: the client's allowlist in core is known to the simulator at the same costs", () => {
  for (const method of Object.keys(CLIENT_PUBLIC)) {
    assert.ok(isPublicMethod(method), `public ${method}`);
  }
  for (const [method, spec] of Object.entries(CLIENT_PRIVATE)) {
    assert.equal(classifyPrivateMethod(method), "known", method);
    assert.equal(restCost(method), spec.cost, `REST cost of ${method}`);
  }
});
