import assert from "node:assert/strict";
import {
  PRIVATE_METHODS,
  privateMethod,
  PUBLIC_METHODS,
  publicMethod,
} from "../../../core/rest/methods.ts";

/** Names Krakked must never be able to call (REST.md §3.2, "FORBIDDEN"). */
const FORBIDDEN = [
  "DepositMethods",
  "DepositAddresses",
  "DepositStatus",
  "WithdrawMethods",
  "WithdrawAddresses",
  "WithdrawInfo",
  "Withdraw",
  "WithdrawStatus",
  "WithdrawCancel",
  "WalletTransfer",
  "CreateSubaccount",
  "AccountTransfer",
  "Earn/Allocate",
  "Earn/Deallocate",
  "Earn/AllocateStatus",
  "Earn/DeallocateStatus",
  "Earn/Strategies",
  "Earn/Allocations",
];

Deno.test("the public allowlist holds exactly the market-data methods", () => {
  assert.deepEqual(Object.keys(PUBLIC_METHODS).sort(), [
    "AssetPairs",
    "Assets",
    "Depth",
    "OHLC",
    "Spread",
    "SystemStatus",
    "Ticker",
    "Time",
    "Trades",
  ]);
  for (const spec of Object.values(PUBLIC_METHODS)) {
    assert.equal(spec.access, "public");
    assert.equal(spec.idempotent, true);
    assert.equal(spec.cost, 1);
    assert.equal(spec.priority, "read");
  }
});

Deno.test("the private allowlist holds reads and trading methods with their costs", () => {
  const costs = Object.fromEntries(
    Object.values(PRIVATE_METHODS).map((
      s,
    ) => [s.name, [
      s.cost,
      s.trading ?? null,
      s.idempotent,
      s.priority,
      s.body,
    ]]),
  );
  assert.deepEqual(costs, {
    Balance: [1, null, true, "read", "form"],
    BalanceEx: [1, null, true, "read", "form"],
    TradeBalance: [1, null, true, "read", "form"],
    OpenOrders: [1, null, true, "read", "form"],
    ClosedOrders: [1, null, true, "read", "form"],
    QueryOrders: [1, null, true, "read", "form"],
    TradesHistory: [2, null, true, "read", "form"],
    QueryTrades: [2, null, true, "read", "form"],
    Ledgers: [2, null, true, "read", "form"],
    QueryLedgers: [2, null, true, "read", "form"],
    TradeVolume: [1, null, true, "read", "form"],
    GetWebSocketsToken: [1, null, true, "read", "form"],
    AddOrder: [0, "add", false, "order", "form"],
    AddOrderBatch: [1, "batch_add", false, "order", "json"],
    AmendOrder: [1, "amend", false, "order", "form"],
    EditOrder: [1, "edit", false, "order", "form"],
    CancelOrder: [0, "cancel", false, "cancel", "form"],
    CancelOrderBatch: [1, "batch_cancel", false, "cancel", "json"],
    CancelAll: [1, "cancel_all", false, "cancel", "form"],
    CancelAllOrdersAfter: [1, "cancel_all_after", false, "cancel", "form"],
  });
  for (const [key, spec] of Object.entries(PRIVATE_METHODS)) {
    assert.equal(spec.name, key);
    assert.equal(spec.access, "private");
    assert.ok(Object.isFrozen(spec));
  }
});

Deno.test("funding, withdrawal, earn and sub-account methods do not exist", () => {
  for (const name of FORBIDDEN) {
    assert.equal(privateMethod(name), undefined, name);
    assert.equal(publicMethod(name), undefined, name);
  }
  const all = [...Object.keys(PUBLIC_METHODS), ...Object.keys(PRIVATE_METHODS)];
  for (const name of all) {
    assert.doesNotMatch(
      name,
      /withdraw|deposit|transfer|earn|subaccount|wallet|funding/i,
    );
  }
});

Deno.test("lookups match exact own names only", () => {
  for (
    const name of [
      "constructor",
      "__proto__",
      "toString",
      "hasOwnProperty",
      "balance",
      "BALANCE",
      " Balance",
      "Balance ",
      "",
    ]
  ) {
    assert.equal(privateMethod(name), undefined, JSON.stringify(name));
    assert.equal(publicMethod(name), undefined, JSON.stringify(name));
  }
  assert.equal(publicMethod("Balance"), undefined);
  assert.equal(privateMethod("Ticker"), undefined);
  assert.equal(privateMethod("Balance")?.name, "Balance");
  assert.equal(publicMethod("OHLC")?.name, "OHLC");
});
