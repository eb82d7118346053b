/**
 * The REST methods Krakked may call, with their rate-limit costs. This is a
 * pure allowlist: a method that is not listed here cannot be sent by
 * `RestClient`. Funding, withdrawal (forbidden), earn and
 * sub-account methods are deliberately absent (REST.md §3.2).
 *
 * @module
 */

import type { Priority, TradingAction } from "./ratelimit.ts";

/** Public market-data methods (REST.md §3.1). */
export type PublicMethod =
  | "Time"
  | "SystemStatus"
  | "Assets"
  | "AssetPairs"
  | "Ticker"
  | "Depth"
  | "Trades"
  | "OHLC"
  | "Spread";

/** Private account-read methods (REST.md §3.2, "Account data"). */
export type PrivateReadMethod =
  | "Balance"
  | "BalanceEx"
  | "TradeBalance"
  | "OpenOrders"
  | "ClosedOrders"
  | "QueryOrders"
  | "TradesHistory"
  | "QueryTrades"
  | "Ledgers"
  | "QueryLedgers"
  | "TradeVolume"
  | "GetWebSocketsToken";

/** Private trading methods (REST.md §3.2, "Trading"). */
export type TradingMethod =
  | "AddOrder"
  | "AddOrderBatch"
  | "AmendOrder"
  | "EditOrder"
  | "CancelOrder"
  | "CancelOrderBatch"
  | "CancelAll"
  | "CancelAllOrdersAfter";

/** Every private method Krakked may call. */
export type PrivateMethod = PrivateReadMethod | TradingMethod;

/** How one method is sent and metered. */
export interface MethodSpec {
  /** The CamelCase method name, as in the URL path. */
  readonly name: string;
  /** `public` (GET, unsigned) or `private` (POST, signed). */
  readonly access: "public" | "private";
  /**
   * Idempotent reads may be retried; trades are never re-sent automatically
   * (their outcome may be ambiguous).
   */
  readonly idempotent: boolean;
  /**
   * Cost on the counter: the public per-IP counter for public methods, the
   * per-key REST counter for private ones (0 = not metered there).
   */
  readonly cost: number;
  /** The trading-engine transaction, for methods on the per-pair counter. */
  readonly trading?: TradingAction;
  /** Private body format: form (classic) or JSON (batch methods). */
  readonly body: "form" | "json";
  /** Queue priority in the rate limiter. */
  readonly priority: Priority;
}

function read(
  name: string,
  access: "public" | "private",
  cost: number,
): MethodSpec {
  return Object.freeze({
    name,
    access,
    idempotent: true,
    cost,
    body: "form",
    priority: "read",
  });
}

function trade(
  name: TradingMethod,
  spec: {
    cost: number;
    trading: TradingAction;
    body?: "form" | "json";
    priority: Priority;
  },
): MethodSpec {
  return Object.freeze({
    name,
    access: "private",
    idempotent: false,
    cost: spec.cost,
    trading: spec.trading,
    body: spec.body ?? "form",
    priority: spec.priority,
  });
}

/** Public methods; each costs 1 on the public per-IP counter. */
export const PUBLIC_METHODS: Readonly<Record<PublicMethod, MethodSpec>> = Object
  .freeze({
    Time: read("Time", "public", 1),
    SystemStatus: read("SystemStatus", "public", 1),
    Assets: read("Assets", "public", 1),
    AssetPairs: read("AssetPairs", "public", 1),
    Ticker: read("Ticker", "public", 1),
    Depth: read("Depth", "public", 1),
    Trades: read("Trades", "public", 1),
    OHLC: read("OHLC", "public", 1),
    Spread: read("Spread", "public", 1),
  });

/**
 * Private methods. REST counter costs per REST.md §7.1: 1 per call, 2 for
 * ledger and trade-history calls (QueryTrades counted as 2 to be safe).
 * AddOrder and CancelOrder are metered only by the trading-engine counter;
 * whether the other trading calls skip the REST counter is not documented,
 * so they are budgeted on both.
 */
export const PRIVATE_METHODS: Readonly<Record<PrivateMethod, MethodSpec>> =
  Object
    .freeze({
      Balance: read("Balance", "private", 1),
      BalanceEx: read("BalanceEx", "private", 1),
      TradeBalance: read("TradeBalance", "private", 1),
      OpenOrders: read("OpenOrders", "private", 1),
      ClosedOrders: read("ClosedOrders", "private", 1),
      QueryOrders: read("QueryOrders", "private", 1),
      TradesHistory: read("TradesHistory", "private", 2),
      QueryTrades: read("QueryTrades", "private", 2),
      Ledgers: read("Ledgers", "private", 2),
      QueryLedgers: read("QueryLedgers", "private", 2),
      TradeVolume: read("TradeVolume", "private", 1),
      GetWebSocketsToken: read("GetWebSocketsToken", "private", 1),
      AddOrder: trade("AddOrder", {
        cost: 0,
        trading: "add",
        priority: "order",
      }),
      AddOrderBatch: trade("AddOrderBatch", {
        cost: 1,
        trading: "batch_add",
        body: "json",
        priority: "order",
      }),
      AmendOrder: trade("AmendOrder", {
        cost: 1,
        trading: "amend",
        priority: "order",
      }),
      EditOrder: trade("EditOrder", {
        cost: 1,
        trading: "edit",
        priority: "order",
      }),
      CancelOrder: trade("CancelOrder", {
        cost: 0,
        trading: "cancel",
        priority: "cancel",
      }),
      CancelOrderBatch: trade("CancelOrderBatch", {
        cost: 1,
        trading: "batch_cancel",
        body: "json",
        priority: "cancel",
      }),
      CancelAll: trade("CancelAll", {
        cost: 1,
        trading: "cancel_all",
        priority: "cancel",
      }),
      CancelAllOrdersAfter: trade("CancelAllOrdersAfter", {
        cost: 1,
        trading: "cancel_all_after",
        priority: "cancel",
      }),
    });

/**
 * Look up an allowlisted public method. Exact, case-sensitive match on own
 * keys only (so `constructor` or `__proto__` are never found).
 *
 * @param name The method name.
 * @returns Its spec, or `undefined` when it is not allowed.
 * @example Look up
 * ```ts
 * import { publicMethod } from "./methods.ts";
 * publicMethod("Ticker")?.cost; // 1
 * publicMethod("Balance"); // undefined
 * ```
 */
export function publicMethod(name: string): MethodSpec | undefined {
  return Object.hasOwn(PUBLIC_METHODS, name)
    ? PUBLIC_METHODS[name as PublicMethod]
    : undefined;
}

/**
 * Look up an allowlisted private method (exact, own keys only).
 *
 * @param name The method name.
 * @returns Its spec, or `undefined` when it is not allowed.
 * @example Look up
 * ```ts
 * import { privateMethod } from "./methods.ts";
 * privateMethod("Ledgers")?.cost; // 2
 * privateMethod("Ticker"); // undefined
 * ```
 */
export function privateMethod(name: string): MethodSpec | undefined {
  return Object.hasOwn(PRIVATE_METHODS, name)
    ? PRIVATE_METHODS[name as PrivateMethod]
    : undefined;
}
