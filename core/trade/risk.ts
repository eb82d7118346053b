/**
 * The risk model: the account state every trading action is judged against,
 * and the pure decisions that keep Krakked's invariants (docs in
 * README "Safety model"; the rule ids are in `rules.ts`).
 *
 * The state is a {@linkcode RiskAccount}: base-asset holdings (total
 * balances, including what open orders reserve) and the open orders. It is
 * the same for paper (read from the paper broker) and live (read from REST
 * `Balance` + `OpenOrders`, then kept current from `executions`).
 *
 * Invariants (spot, long-only; margin positions are not modelled):
 *
 * 1. Cover: for every base asset, the uncovered holding
 *    `max(0, held − resting protective stop volume)` never grows through an
 *    action. A protective stop is an open sell `stop-loss`,
 *    `stop-loss-limit` or `trailing-stop` on a pair with that base. Entries
 *    carry their stop as a conditional close, created on every fill, so a
 *    position opened through Krakked starts covered; cancelling or amending
 *    a stop, or cancel-all, may not uncover it ({@linkcode judgeCancel},
 *    {@linkcode judgeStopAmend}, {@linkcode planCancelAll}). An exit frees
 *    stop volume only for what it sells ({@linkcode planExit}).
 * 2. Exposure: per base asset, `(held + open buy volume) × price` in USD
 *    stays within `trading.max_position_notional_usd` (judged by the gate,
 *    `gates.ts`, with {@linkcode openBuyVolume}).
 * 3. Fill price: the stop of a market or marketable limit order is judged
 *    against the price the order can fill at ({@linkcode fillEstimate}),
 *    not its limit.
 *
 * @module
 */

import {
  addDecimal,
  compareDecimal,
  divideDecimal,
  multiplyDecimal,
  roundDecimal,
  subtractDecimal,
} from "../decimal.ts";
import type { OrderSide } from "./order.ts";
import { reject, type Rejection } from "./rules.ts";

/** An open order as the risk model sees it. */
export interface RiskOrder {
  /** Kraken's (or the paper broker's) order id; the tracking key until known. */
  id: string;
  /** Canonical pair id. */
  pair: string;
  /** The pair as people read it (`BTC/USD`), for messages; else `pair` is shown. */
  symbol?: string;
  /** Base asset, common code (`BTC`). */
  base: string;
  /** Side. */
  side: OrderSide;
  /** Kraken order type (`limit`, `stop-loss`, …). */
  type: string;
  /** Base volume still open (`volume − filled`), exact decimal text. */
  remaining: string;
  /** Limit price (limit types) or trigger price (stop types), when any. */
  price: string | null;
  /** Fills of this order get a protective close attached (an entry with a stop-loss). */
  closeAttached: boolean;
}

/** The account state actions are judged against. Plain data. */
export interface RiskAccount {
  /** Total holdings per asset (common code), including what orders reserve. */
  held: Readonly<Record<string, string>>;
  /** Open orders. */
  orders: readonly RiskOrder[];
}

/** A book side level, best first (the paper broker's and the stream's shape). */
export interface RiskLevel {
  /** Price, decimal text. */
  price: string;
  /** Quantity (base), decimal text. */
  qty: string;
}

/** A book, best level first on each side. */
export interface RiskBook {
  /** Bids, highest first. */
  bids: readonly RiskLevel[];
  /** Asks, lowest first. */
  asks: readonly RiskLevel[];
}

/** Where an order can fill, from the book walked to its size. */
export interface FillEstimate {
  /** The first (best) price it fills at: the stop must be beyond this. */
  first: string;
  /** Volume-weighted average over the whole size (resting part at the limit). */
  average: string;
  /** Whether any part takes liquidity now. */
  marketable: boolean;
  /** A market order larger than the book: the rest was priced at the last level. */
  thin: boolean;
}

const STOP_TYPES: ReadonlySet<string> = new Set([
  "stop-loss",
  "stop-loss-limit",
  "trailing-stop",
  "trailing-stop-limit",
]);

function max0(value: string): string {
  return compareDecimal(value, "0") > 0 ? value : "0";
}

function sumOf(values: Iterable<string>): string {
  let total = "0";
  for (const value of values) total = addDecimal(total, value);
  return total;
}

/**
 * Whether an open order protects a long holding: a sell stop on the
 * losing side (`stop-loss`, `stop-loss-limit`, `trailing-stop`).
 *
 * @param order The order.
 * @returns True for a protective stop.
 * @example A conditional close
 * ```ts
 * import { isProtectiveStop } from "./risk.ts";
 * isProtectiveStop({ id: "O1", pair: "XBTUSD", base: "BTC", side: "sell",
 *   type: "stop-loss", remaining: "0.1", price: "24000", closeAttached: false }); // true
 * ```
 */
export function isProtectiveStop(order: RiskOrder): boolean {
  return isProtectiveKind(order.side, order.type);
}

/**
 * Whether an order of this side and type protects a long holding, for
 * views that have no {@linkcode RiskOrder} (the same test as
 * {@linkcode isProtectiveStop}).
 *
 * @param side `buy` or `sell` (anything else is not protective).
 * @param type Kraken order type.
 * @returns True for a sell stop.
 * @example A trailing stop
 * ```ts
 * import { isProtectiveKind } from "./risk.ts";
 * isProtectiveKind("sell", "trailing-stop"); // true
 * ```
 */
export function isProtectiveKind(side: string, type: string): boolean {
  return side === "sell" && STOP_TYPES.has(type);
}

/**
 * The holding of an asset.
 *
 * @param account The account.
 * @param asset Common code.
 * @returns Decimal text (`"0"` when none).
 * @example Held
 * ```ts
 * import { heldOf } from "./risk.ts";
 * heldOf({ held: { BTC: "0.5" }, orders: [] }, "BTC"); // "0.5"
 * ```
 */
export function heldOf(account: RiskAccount, asset: string): string {
  return max0(account.held[asset] ?? "0");
}

/**
 * Volume of resting protective stops on an asset.
 *
 * @param account The account.
 * @param asset Common code of the base.
 * @returns Decimal text.
 * @example No orders
 * ```ts
 * import { stopVolume } from "./risk.ts";
 * stopVolume({ held: {}, orders: [] }, "BTC"); // "0"
 * ```
 */
export function stopVolume(account: RiskAccount, asset: string): string {
  return sumOf(
    account.orders.filter((o) => o.base === asset && isProtectiveStop(o))
      .map((o) => o.remaining),
  );
}

/**
 * Volume of an asset that open sell orders reserve (Kraken holds it).
 *
 * @param account The account.
 * @param asset Common code of the base.
 * @returns Decimal text.
 * @example No orders
 * ```ts
 * import { reservedVolume } from "./risk.ts";
 * reservedVolume({ held: {}, orders: [] }, "BTC"); // "0"
 * ```
 */
export function reservedVolume(account: RiskAccount, asset: string): string {
  return sumOf(
    account.orders.filter((o) => o.base === asset && o.side === "sell").map((
      o,
    ) => o.remaining),
  );
}

/**
 * Holding that no protective stop covers: `max(0, held − stops)`.
 *
 * @param account The account.
 * @param asset Common code of the base.
 * @returns Decimal text.
 * @example Half covered
 * ```ts
 * import { uncoveredVolume } from "./risk.ts";
 * uncoveredVolume({ held: { BTC: "1" }, orders: [{ id: "O1", pair: "XBTUSD",
 *   base: "BTC", side: "sell", type: "stop-loss", remaining: "0.4",
 *   price: "24000", closeAttached: false }] }, "BTC"); // "0.6"
 * ```
 */
export function uncoveredVolume(account: RiskAccount, asset: string): string {
  return max0(
    subtractDecimal(heldOf(account, asset), stopVolume(account, asset)),
  );
}

/**
 * Open buy volume on an asset that could still fill, optionally leaving one
 * order out (the one an amend replaces).
 *
 * @param account The account.
 * @param asset Common code of the base.
 * @param exceptId An order id to leave out.
 * @returns The volume and its orders.
 * @example No orders
 * ```ts
 * import { openBuyVolume } from "./risk.ts";
 * openBuyVolume({ held: {}, orders: [] }, "BTC").volume; // "0"
 * ```
 */
export function openBuyVolume(
  account: RiskAccount,
  asset: string,
  exceptId?: string,
): { volume: string; orders: RiskOrder[] } {
  const orders = account.orders.filter((o) =>
    o.base === asset && o.side === "buy" && o.id !== exceptId
  );
  return { volume: sumOf(orders.map((o) => o.remaining)), orders };
}

/**
 * The account without one order (cancelled, or about to be replaced).
 *
 * @param account The account.
 * @param id The order id.
 * @returns A new account.
 * @example Remove
 * ```ts
 * import { withoutOrder } from "./risk.ts";
 * withoutOrder({ held: {}, orders: [] }, "O1").orders.length; // 0
 * ```
 */
export function withoutOrder(account: RiskAccount, id: string): RiskAccount {
  return {
    held: account.held,
    orders: account.orders.filter((o) => o.id !== id),
  };
}

/**
 * Finds an open order by id.
 *
 * @param account The account.
 * @param id The order id.
 * @returns The order, or `undefined`.
 * @example Missing
 * ```ts
 * import { findOrder } from "./risk.ts";
 * findOrder({ held: {}, orders: [] }, "O1"); // undefined
 * ```
 */
export function findOrder(
  account: RiskAccount,
  id: string,
): RiskOrder | undefined {
  return account.orders.find((o) => o.id === id);
}

/**
 * Judges cancelling one order: refused when it is a protective stop whose
 * removal would leave more of its asset uncovered (rule
 * `stop_protects_position`). Everything else may be cancelled.
 *
 * @param account The account.
 * @param id The order id.
 * @returns `null` when allowed, else the rejection.
 * @example A stop that covers a holding
 * ```ts
 * import { judgeCancel } from "./risk.ts";
 * judgeCancel({ held: { BTC: "0.1" }, orders: [{ id: "O1", pair: "XBTUSD",
 *   base: "BTC", side: "sell", type: "stop-loss", remaining: "0.1",
 *   price: "24000", closeAttached: false }] }, "O1")?.rule; // "stop_protects_position"
 * ```
 */
export function judgeCancel(
  account: RiskAccount,
  id: string,
): Rejection | null {
  const order = findOrder(account, id);
  if (order === undefined || !isProtectiveStop(order)) return null;
  const before = uncoveredVolume(account, order.base);
  const after = uncoveredVolume(withoutOrder(account, id), order.base);
  if (compareDecimal(after, before) <= 0) return null;
  return reject(
    "stop_protects_position",
    `Order ${id} is the stop-loss covering ${
      heldOf(account, order.base)
    } ${order.base}; cancelling it would leave ${after} ${order.base} unprotected. Close the position instead (krakked close ${
      order.symbol ?? order.pair
    }), or cancel-all with --include-stops to remove stops on purpose`,
    "orderId",
  );
}

/**
 * Judges amending a protective stop: its new quantity may not uncover the
 * holding (rule `stop_protects_position`) and its new trigger must stay on
 * the losing side of the best bid, or it fires at once (rule
 * `stop_loss_wrong_side`).
 *
 * @param account The account.
 * @param order The stop.
 * @param change New total quantity and trigger (absent = unchanged), and the best bid.
 * @returns `null` when allowed, else the rejection.
 * @example Raising the trigger above the bid
 * ```ts
 * import { judgeStopAmend } from "./risk.ts";
 * const stop = { id: "O1", pair: "XBTUSD", base: "BTC", side: "sell" as const,
 *   type: "stop-loss", remaining: "0.1", price: "24000", closeAttached: false };
 * judgeStopAmend({ held: { BTC: "0.1" }, orders: [stop] }, stop,
 *   { triggerPrice: "26000", bestBid: "25000" })?.rule; // "stop_loss_wrong_side"
 * ```
 */
export function judgeStopAmend(
  account: RiskAccount,
  order: RiskOrder,
  change: { remaining?: string; triggerPrice?: string; bestBid?: string },
): Rejection | null {
  if (change.remaining !== undefined) {
    const next: RiskAccount = {
      held: account.held,
      orders: account.orders.map((o) =>
        o.id === order.id ? { ...o, remaining: change.remaining! } : o
      ),
    };
    const before = uncoveredVolume(account, order.base);
    const after = uncoveredVolume(next, order.base);
    if (compareDecimal(after, before) > 0) {
      return reject(
        "stop_protects_position",
        `Reducing stop ${order.id} to ${change.remaining} ${order.base} would leave ${after} ${order.base} unprotected; close that much first`,
        "orderQty",
      );
    }
  }
  if (change.triggerPrice !== undefined) {
    if (change.bestBid === undefined) {
      return reject(
        "price_unavailable",
        `Moving stop ${order.id} needs the best bid to check the trigger side, none is known`,
        "triggerPrice",
      );
    }
    if (compareDecimal(change.triggerPrice, change.bestBid) >= 0) {
      return reject(
        "stop_loss_wrong_side",
        `A sell stop at ${change.triggerPrice} is at or above the best bid ${change.bestBid}: it would fire at once`,
        "triggerPrice",
      );
    }
  }
  return null;
}

/** What {@linkcode planCancelAll} decided. */
export interface CancelAllPlan {
  /** Orders to cancel. */
  cancel: RiskOrder[];
  /** Protective stops kept (empty with `includeStops`). */
  kept: RiskOrder[];
  /** With `includeStops`: the holdings left without a stop, per asset. */
  uncovered: Record<string, string>;
}

/**
 * Plans a cancel-all: every open order except protective stops, or, with
 * `includeStops`, everything (and which holdings that leaves unprotected).
 *
 * @param account The account.
 * @param includeStops Cancel protective stops too.
 * @returns The plan.
 * @example Stops are kept
 * ```ts
 * import { planCancelAll } from "./risk.ts";
 * planCancelAll({ held: {}, orders: [] }, false).cancel.length; // 0
 * ```
 */
export function planCancelAll(
  account: RiskAccount,
  includeStops: boolean,
): CancelAllPlan {
  const cancel: RiskOrder[] = [];
  const kept: RiskOrder[] = [];
  for (const order of account.orders) {
    if (!includeStops && isProtectiveStop(order)) kept.push(order);
    else cancel.push(order);
  }
  const uncovered: Record<string, string> = {};
  if (includeStops) {
    for (const asset of new Set(account.orders.map((o) => o.base))) {
      const left = heldOf(account, asset);
      if (compareDecimal(stopVolume(account, asset), "0") > 0 && left !== "0") {
        uncovered[asset] = left;
      }
    }
  }
  return { cancel, kept, uncovered };
}

/** What {@linkcode planExit} decided. */
export type ExitPlan =
  | {
    ok: true;
    /** The exit volume. */
    volume: string;
    /** Protective stops to cancel first, to free what the exit sells. */
    cancel: RiskOrder[];
    /** Volume those stops held that the exit does not sell: re-protect it. */
    reprotect: string;
    /** Trigger for the re-protecting stop (the nearest cancelled stop's). */
    reprotectTrigger: string | null;
  }
  | { ok: false; rejection: Rejection };

/**
 * Plans an exit (selling volume held): it may not exceed the holding (no
 * shorting on spot); when open sells reserve part of it, protective stops
 * are cancelled — newest first, only as many as needed — and whatever they
 * held beyond the exit is re-protected at the nearest cancelled trigger, so
 * nothing is left uncovered or over-hedged.
 *
 * @param account The account.
 * @param asset Common code of the base.
 * @param volume The volume to sell, or `"all"`.
 * @param options `volumeDecimals`: the pair's lot decimals ("all" rounds down to them).
 * @returns The plan, or the rejection (`exit_without_position`,
 *   `exit_exceeds_position`, `exit_blocked_by_orders`).
 * @example Sell half of a covered holding
 * ```ts
 * import { planExit } from "./risk.ts";
 * const plan = planExit({ held: { BTC: "1" }, orders: [{ id: "O1",
 *   pair: "XBTUSD", base: "BTC", side: "sell", type: "stop-loss",
 *   remaining: "1", price: "24000", closeAttached: false }] }, "BTC", "0.5");
 * plan.ok && plan.reprotect; // "0.5"
 * ```
 */
export function planExit(
  account: RiskAccount,
  asset: string,
  volume: string | "all",
  options: { volumeDecimals?: number } = {},
): ExitPlan {
  const held = heldOf(account, asset);
  if (compareDecimal(held, "0") <= 0) {
    return {
      ok: false,
      rejection: reject(
        "exit_without_position",
        `Nothing to sell: the account holds no ${asset}`,
        "pair",
      ),
    };
  }
  // `Balance` reports more decimals than a pair trades (LTC: 10 vs 8):
  // "all" is what the pair can sell, the dust below stays.
  const size = volume !== "all"
    ? volume
    : options.volumeDecimals === undefined
    ? held
    : roundDecimal(held, options.volumeDecimals, "down");
  if (compareDecimal(size, held) > 0) {
    return {
      ok: false,
      rejection: reject(
        "exit_exceeds_position",
        `Selling ${size} ${asset} exceeds the ${held} ${asset} held (spot has no shorting)`,
        "volume",
      ),
    };
  }
  const free = max0(subtractDecimal(held, reservedVolume(account, asset)));
  let need = max0(subtractDecimal(size, free));
  const cancel: RiskOrder[] = [];
  let freed = "0";
  const stops = account.orders.filter((o) =>
    o.base === asset && isProtectiveStop(o)
  ).reverse();
  for (const stop of stops) {
    if (compareDecimal(need, "0") <= 0) break;
    cancel.push(stop);
    freed = addDecimal(freed, stop.remaining);
    need = max0(subtractDecimal(need, stop.remaining));
  }
  if (compareDecimal(need, "0") > 0) {
    const blockers = account.orders.filter((o) =>
      o.base === asset && o.side === "sell" && !isProtectiveStop(o)
    ).map((o) => o.id);
    return {
      ok: false,
      rejection: reject(
        "exit_blocked_by_orders",
        `Open sell orders hold ${asset} that the exit needs (${
          blockers.join(", ")
        }); cancel them first`,
        "volume",
      ),
    };
  }
  // What the cancelled stops held beyond the part of the exit they freed.
  const fromStops = max0(subtractDecimal(size, free));
  const reprotect = max0(subtractDecimal(freed, fromStops));
  let trigger: string | null = null;
  for (const stop of cancel) {
    if (stop.price === null) continue;
    if (trigger === null || compareDecimal(stop.price, trigger) > 0) {
      trigger = stop.price;
    }
  }
  return {
    ok: true,
    volume: size,
    cancel,
    reprotect,
    reprotectTrigger: trigger,
  };
}

/**
 * Where an order can fill: the book walked to its size, up to its limit.
 * A buy fills from the best ask up (a sell from the best bid down); the part
 * a limit order cannot fill now rests at the limit. `undefined` when the
 * side it takes from is empty and there is no limit to rest at.
 *
 * @param order Side, volume and limit (absent for market).
 * @param book The book, best first.
 * @returns The estimate.
 * @example A marketable limit buy fills at the ask, not the limit
 * ```ts
 * import { fillEstimate } from "./risk.ts";
 * fillEstimate({ side: "buy", volume: "1", limit: "30000" },
 *   { bids: [], asks: [{ price: "25000", qty: "2" }] })?.first; // "25000"
 * ```
 */
export function fillEstimate(
  order: { side: OrderSide; volume: string; limit?: string },
  book: RiskBook,
): FillEstimate | undefined {
  const levels = order.side === "buy" ? book.asks : book.bids;
  const within = (price: string) =>
    order.limit === undefined ||
    (order.side === "buy"
      ? compareDecimal(price, order.limit) <= 0
      : compareDecimal(price, order.limit) >= 0);
  let left = order.volume;
  let cost = "0";
  let first: string | undefined;
  let last: string | undefined;
  for (const level of levels) {
    if (compareDecimal(left, "0") <= 0 || !within(level.price)) break;
    first ??= level.price;
    last = level.price;
    const qty = compareDecimal(level.qty, left) < 0 ? level.qty : left;
    cost = addDecimal(cost, multiplyDecimal(qty, level.price));
    left = subtractDecimal(left, qty);
  }
  let thin = false;
  if (compareDecimal(left, "0") > 0) {
    const restAt = order.limit ?? last;
    if (restAt === undefined) return undefined;
    thin = order.limit === undefined;
    cost = addDecimal(cost, multiplyDecimal(left, restAt));
  }
  const marketable = first !== undefined;
  return {
    first: first ?? order.limit!,
    average: divideDecimal(cost, order.volume, 12),
    marketable,
    thin,
  };
}
