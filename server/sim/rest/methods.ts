/**
 * The exchange's method table: which REST methods exist, which are public
 * and which private, which permissions a private one needs, what it costs on
 * the REST call counter, and which (funding, withdrawal, earn,
 * sub-accounts) are refused whatever the key (docs/kraken/REST.md §3, §7.1).
 *
 * This is the simulator's own table, kept apart from the client's allowlist
 * on purpose: the simulator must answer a method
 * the client should never call (a funding one, a misspelt one) the way
 * Kraken does, which it cannot do if it only knows the client's list.
 *
 * Trading methods are known (they authenticate and pass the permission
 * check) but have no handler until the matching engine registers one
 * through `privateHandlers` of the REST app; until then they answer
 * `EGeneral:Unknown method`.
 *
 * @module
 */

import type { SimPermission } from "./auth.ts";

/** Public methods (`GET /0/public/<Method>`, REST.md §3.1). */
export const PUBLIC_METHODS: readonly string[] = Object.freeze([
  "Time",
  "SystemStatus",
  "Assets",
  "AssetPairs",
  "Ticker",
  "Depth",
  "Trades",
  "OHLC",
  "Spread",
]);

/**
 * Whether a name is a public method (own, exact, case-sensitive).
 *
 * @param method The name from the path.
 * @returns `true` for a public method.
 * @example Public
 * ```ts
 * import { isPublicMethod } from "./methods.ts";
 * isPublicMethod("Ticker"); // true
 * isPublicMethod("ticker"); // false
 * ```
 */
export function isPublicMethod(method: string): boolean {
  return PUBLIC_METHODS.includes(method);
}

/**
 * Methods that must never work here, denied (funding, withdrawal, earn,
 * sub-accounts): they answer `EGeneral:Permission denied` after
 * authentication, exactly as for a key without those permissions.
 */
export const FORBIDDEN_METHODS: ReadonlySet<string> = new Set([
  "DepositMethods", // denied
  "DepositAddresses", // denied
  "DepositStatus", // denied
  "WithdrawMethods", // denied
  "WithdrawAddresses", // denied
  "WithdrawInfo", // denied
  "Withdraw", // denied
  "WithdrawStatus", // denied
  "WithdrawCancel", // denied
  "WalletTransfer", // denied
  "CreateSubaccount", // denied
  "AccountTransfer", // denied
  "Earn/Allocate", // denied
  "Earn/Deallocate", // denied
  "Earn/AllocateStatus", // denied
  "Earn/DeallocateStatus", // denied
  "Earn/Strategies", // denied
  "Earn/Allocations", // denied
]);

/**
 * Permissions per known private method (all of them must be granted).
 * Methods listed here but without a handler answer `EGeneral:Unknown method`
 * once authenticated.
 */
export const METHOD_PERMISSIONS: Readonly<
  Record<string, readonly SimPermission[]>
> = Object.freeze({
  Balance: ["query_funds"],
  BalanceEx: ["query_funds"],
  TradeVolume: ["query_funds"],
  TradeBalance: ["query_open"],
  OpenOrders: ["query_open"],
  OpenPositions: ["query_open"],
  ClosedOrders: ["query_closed"],
  // Per order: open orders need query_open, closed ones query_closed (checked in the handler).
  QueryOrders: [],
  OrderAmends: ["query_open"],
  TradesHistory: ["query_closed"],
  QueryTrades: ["query_closed"],
  Ledgers: ["query_ledger"],
  QueryLedgers: ["query_ledger"],
  GetWebSocketsToken: ["websocket"],
  AddExport: ["export_data"],
  ExportStatus: ["export_data"],
  RetrieveExport: ["export_data"],
  RemoveExport: ["export_data"],
  AddOrder: ["create_orders"],
  AddOrderBatch: ["create_orders", "cancel_orders"],
  AmendOrder: ["create_orders"],
  EditOrder: ["create_orders", "cancel_orders"],
  CancelOrder: ["cancel_orders"],
  CancelOrderBatch: ["cancel_orders"],
  CancelAll: ["cancel_orders"],
  CancelAllOrdersAfter: ["cancel_orders"],
});

/**
 * How the router treats a private method name.
 *
 * @param method The name from the path (`Balance`, `Earn/Allocate`).
 * @returns `known` (authenticate, then check permissions and dispatch),
 *   `forbidden` (authenticate, then permission denied) or `unknown`.
 * @example Classify
 * ```ts
 * import { classifyPrivateMethod } from "./methods.ts";
 * classifyPrivateMethod("Balance"); // "known"
 * classifyPrivateMethod("Withdraw"); // "forbidden"
 * classifyPrivateMethod("Nope"); // "unknown"
 * ```
 */
export function classifyPrivateMethod(
  method: string,
): "known" | "forbidden" | "unknown" {
  if (FORBIDDEN_METHODS.has(method)) return "forbidden";
  if (Object.hasOwn(METHOD_PERMISSIONS, method)) return "known";
  return "unknown";
}

/**
 * REST call counter cost of a private method (REST.md §7.1): 2 for the
 * ledger and trade-history calls, 0 for AddOrder and CancelOrder (metered
 * only by the trading-engine counter), 1 for everything else, refused
 * methods included.
 *
 * @param method The method name (`Balance`, `Ledgers`, …).
 * @returns The cost in points.
 * @example Costs
 * ```ts
 * import { restCost } from "./methods.ts";
 * restCost("Ledgers"); // 2
 * restCost("AddOrder"); // 0
 * restCost("Balance"); // 1
 * ```
 */
export function restCost(method: string): number {
  switch (method) {
    case "Ledgers":
    case "QueryLedgers":
    case "TradesHistory":
    case "QueryTrades": // not stated; REST.md §7.1 says treat it as 2
      return 2;
    case "AddOrder":
    case "CancelOrder":
      return 0;
    default:
      return 1;
  }
}
