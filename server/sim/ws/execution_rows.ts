/**
 * `executions` rows for the matching engine's events (WS_V2.md §4.1): the
 * full `pending_new` report of a new order, then sparse updates merged by
 * `order_id` (`new`, `trade`, `filled`, `canceled`, `expired`, `amended`,
 * `status` when a stop triggers, `iceberg_refill`). Pure.
 *
 * @module
 */

import type { SimOrder, SimOwnTrade } from "../exchange/account.ts";
import { formatUnits } from "../exchange/units.ts";
import { assetByKey } from "../exchange/pairs.ts";
import {
  type FeeValuer,
  orderFeeUsd,
  orderReport,
  tradeReport,
} from "./private.ts";
import { rfc3339FromMs, WireNumber, type WireObject } from "./wire.ts";

/** What the rows need to know beyond the account order. */
export interface OrderRowInfo {
  /** Time in force as v2 prints it. */
  timeInForce: "GTC" | "IOC" | "GTD";
  /** Post-only flag. */
  postOnly: boolean;
  /** Fee preference. */
  feeIn: "quote" | "base";
  /** Trigger price (tick units) of a stop, take-profit or trailing order. */
  triggerUnits?: bigint | undefined;
  /** Whether the trigger fired. */
  triggered?: boolean | undefined;
  /** Iceberg display volume, lot units. */
  displayUnits?: bigint | undefined;
  /** Conditional close template, for `contingent`. */
  contingent?: WireObject | undefined;
}

function num(units: bigint, decimals: number): WireNumber {
  return new WireNumber(formatUnits(units, decimals));
}

function ids(order: SimOrder): WireObject {
  return {
    order_id: order.txid,
    cl_ord_id: order.clOrdId,
    // Kraken prints 0 when no userref was given.
    order_userref: order.userref,
  };
}

function triggers(order: SimOrder, info: OrderRowInfo): WireObject | undefined {
  if (info.triggerUnits === undefined) return undefined;
  return {
    reference: order.terms?.trigger ?? "last",
    price: num(info.triggerUnits, order.pair.pairDecimals),
    price_type: "static",
    status: info.triggered ? "triggered" : "untriggered",
  };
}

/**
 * The full report sent when an order is received (`pending_new`).
 *
 * @param order The account order.
 * @param info Engine details.
 * @param timeMs Event time, ms.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * pendingNewRow(order, { timeInForce: "GTC", postOnly: false, feeIn: "quote" }, now);
 * ```
 */
export function pendingNewRow(
  order: SimOrder,
  info: OrderRowInfo,
  timeMs: number,
): WireObject {
  const base = orderReport(order, { execType: "pending_new" });
  const { pair } = order;
  return {
    ...base,
    time_in_force: info.timeInForce,
    exec_type: "pending_new",
    order_status: "pending_new",
    post_only: info.postOnly ? true : undefined,
    display_qty: info.displayUnits === undefined
      ? undefined
      : num(info.displayUnits, pair.lotDecimals),
    triggers: triggers(order, info),
    contingent: info.contingent,
    fee_ccy_pref: info.feeIn === "base" ? "fcib" : "fciq",
    fee_usd_equiv: new WireNumber("0"),
    reason: undefined,
    timestamp: rfc3339FromMs(timeMs),
  };
}

/**
 * A sparse status report (`new`, `filled`, `canceled`, `expired`): ids,
 * type, status, cumulative fills, reason.
 *
 * @param order The account order (state after the event).
 * @param execType The event.
 * @param timeMs Event time, ms.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * statusRow(order, "canceled", now);
 * ```
 */
export function statusRow(
  order: SimOrder,
  execType: "new" | "filled" | "canceled" | "expired",
  timeMs: number,
  valuer?: FeeValuer,
): WireObject {
  const { pair } = order;
  const qd = assetByKey(pair.quote)?.decimals ?? 8;
  const full = orderReport(order);
  const status = execType === "new" ? "new" : execType;
  return {
    ...ids(order),
    exec_type: execType,
    order_status: status,
    cum_qty: execType === "new"
      ? undefined
      : num(order.volExecUnits, pair.lotDecimals),
    cum_cost: execType === "new" ? undefined : num(order.costUnits, qd),
    // Cancel and expiry reports carry avg_price (0 when nothing filled) and
    // the fees paid in USD.
    avg_price: execType === "new" ? undefined : full.avg_price ??
      orderReport(order, { execType: "canceled" }).avg_price,
    fee_usd_equiv: execType === "canceled" || execType === "expired"
      ? orderFeeUsd(order, timeMs, valuer)
      : undefined,
    reason: execType === "canceled" || execType === "expired"
      ? order.reason ?? undefined
      : undefined,
    timestamp: rfc3339FromMs(timeMs),
  };
}

/**
 * The report of one fill (`exec_type: "trade"`), as `private.ts` builds
 * it, with the fee preference.
 *
 * @param trade The own trade.
 * @param order The order after the fill.
 * @param feeIn Fee preference.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * tradeRow(trade, order, "quote");
 * ```
 */
export function tradeRow(
  trade: SimOwnTrade,
  order: SimOrder,
  feeIn: "quote" | "base",
  valuer?: FeeValuer,
): WireObject {
  return {
    ...tradeReport(trade, order, valuer),
    cl_ord_id: order.clOrdId,
    order_userref: order.userref,
    fee_ccy_pref: feeIn === "base" ? "fcib" : "fciq",
  };
}

/**
 * The report of an amend (`exec_type: "amended"`).
 *
 * @param order The order after the amend.
 * @param info Engine details (new trigger, display).
 * @param timeMs Event time, ms.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * amendedRow(order, info, now);
 * ```
 */
export function amendedRow(
  order: SimOrder,
  info: OrderRowInfo,
  timeMs: number,
): WireObject {
  const { pair } = order;
  const full = orderReport(order);
  return {
    ...ids(order),
    exec_type: "amended",
    order_status: full.order_status,
    amended: true,
    order_qty: num(order.volumeUnits, pair.lotDecimals),
    limit_price: order.limitUnits === undefined
      ? undefined
      : num(order.limitUnits, pair.pairDecimals),
    display_qty: info.displayUnits === undefined
      ? undefined
      : num(info.displayUnits, pair.lotDecimals),
    triggers: triggers(order, info),
    post_only: info.postOnly ? true : undefined,
    timestamp: rfc3339FromMs(timeMs),
  };
}

/**
 * The report of a stop, take-profit or trailing order whose trigger fired
 * (`exec_type: "status"`, `triggers.status: "triggered"`).
 *
 * @param order The order.
 * @param info Engine details (trigger price).
 * @param options The price that fired it and the time.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * triggeredRow(order, info, { actualUnits: 650000n, timeMs: now });
 * ```
 */
export function triggeredRow(
  order: SimOrder,
  info: OrderRowInfo,
  options: { actualUnits: bigint; timeMs: number },
): WireObject {
  const d = order.pair.pairDecimals;
  return {
    ...ids(order),
    exec_type: "status",
    order_status: "new",
    limit_price: order.limitUnits === undefined
      ? undefined
      : num(order.limitUnits, d),
    triggers: {
      ...triggers(order, { ...info, triggered: true }),
      actual_price: num(options.actualUnits, d),
      timestamp: rfc3339FromMs(options.timeMs),
    },
    timestamp: rfc3339FromMs(options.timeMs),
  };
}

/**
 * The report of an iceberg showing a fresh slice (`iceberg_refill`).
 *
 * @param order The order.
 * @param displayLeftUnits Visible volume now, lot units.
 * @param timeMs Event time, ms.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * icebergRefillRow(order, 100000n, now);
 * ```
 */
export function icebergRefillRow(
  order: SimOrder,
  displayLeftUnits: bigint,
  timeMs: number,
): WireObject {
  return {
    ...ids(order),
    exec_type: "iceberg_refill",
    order_status: "partially_filled",
    display_qty_remain: num(displayLeftUnits, order.pair.lotDecimals),
    timestamp: rfc3339FromMs(timeMs),
  };
}
