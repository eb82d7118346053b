/**
 * The simulator's WS v2 trading methods on `/auth/v2` (WS_V2.md §4.3–§4.7)
 * on the matching engine: `add_order`, `amend_order`, `edit_order`,
 * `cancel_order`, `cancel_all`, `cancel_all_orders_after`, `batch_add`,
 * `batch_cancel`. The token is checked by `server.ts` before a method gets
 * here. Params are mapped onto the REST field names (`limit_price` →
 * `price`, `triggers` → trigger price with `price_type`, `conditional` →
 * `close[…]`) and checked by the same code as REST, so both transports
 * answer with the same error strings.
 *
 * Order of frames: the method's answer first, then the `executions` and
 * `balances` updates it caused. Fault: with `dropAfterAccept` armed on the
 * control object, the socket closes (1011) after an order was placed and
 * before its answer.
 *
 * @module
 */

import type { SimControl } from "../control.ts";
import type { AmendChanges, SimEngine } from "../exchange/engine.ts";
import { ORDER_ERRORS, type OrderFields } from "../exchange/orders.ts";
import { INVALID_ARGUMENTS, SimApiError } from "../exchange/params.ts";
import { numberText as decimalText } from "../exchange/units.ts";
import type { WsMethodHandler } from "./types.ts";
import {
  errorFrame,
  successFrame,
  type WireObject,
  type WireValue,
} from "./wire.ts";

/** Order fields `add_order`/`batch_add` accept (anything else: `Unsupported field`). */
const ORDER_PARAMS = new Set([
  "token",
  "symbol",
  "side",
  "order_type",
  "order_qty",
  "limit_price",
  "limit_price_type",
  "triggers",
  "time_in_force",
  "post_only",
  "reduce_only",
  "margin",
  "cl_ord_id",
  "order_userref",
  "conditional",
  "display_qty",
  "cash_order_qty",
  "fee_preference",
  "stp_type",
  "effective_time",
  "expire_time",
  "deadline",
  "validate",
  "sender_sub_id",
  "no_mpp",
  "req_id",
]);

function fail(code: string): never {
  throw new SimApiError(code);
}

function record(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(INVALID_ARGUMENTS);
  }
  return value as Record<string, unknown>;
}

function numberText(value: unknown): string {
  if (typeof value === "number" && Number.isFinite(value)) {
    return decimalText(value);
  }
  // Some clients send decimal strings; accept plain decimals.
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return value;
  fail(INVALID_ARGUMENTS);
}

/** A WS price and its `*_price_type` in REST price syntax. */
function priceSyntax(
  value: unknown,
  type: unknown,
  fallback: "static" | "quote",
): string {
  const text = numberText(value);
  const kind = type ?? fallback;
  const negative = text.startsWith("-");
  const magnitude = negative ? text.slice(1) : text;
  switch (kind) {
    case "static":
      if (negative) fail(ORDER_ERRORS.invalidPrice);
      return magnitude;
    case "quote":
      return `${negative ? "-" : "+"}${magnitude}`;
    case "pct":
      return `${negative ? "-" : "+"}${magnitude}%`;
    default:
      fail(INVALID_ARGUMENTS);
  }
}

function bool(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") fail(INVALID_ARGUMENTS);
  return value;
}

function rfc3339ToSeconds(value: unknown): string {
  if (typeof value !== "string") fail(INVALID_ARGUMENTS);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) fail(INVALID_ARGUMENTS);
  return String(ms / 1000);
}

/**
 * Map `add_order` params (or one `batch_add` order) onto REST order fields.
 *
 * @param params The params.
 * @returns The fields.
 * @throws {SimApiError} `Unsupported field: '<name>'` for a field WS does
 *   not take (e.g. `leverage`), `EGeneral:Invalid arguments` for bad types.
 * @example Limit order
 * ```ts
 * import { wsOrderFields } from "./trading.ts";
 * wsOrderFields({ order_type: "limit", side: "buy", order_qty: 0.5, limit_price: 2255.0 }).price; // "2255"
 * ```
 */
export function wsOrderFields(params: Record<string, unknown>): OrderFields {
  for (const key of Object.keys(params)) {
    if (!ORDER_PARAMS.has(key)) fail(`Unsupported field: '${key}'`);
  }
  const type = params.order_type;
  if (typeof type !== "string") fail(INVALID_ARGUMENTS);
  const side = params.side;
  if (typeof side !== "string") fail(INVALID_ARGUMENTS);
  if (params.cash_order_qty !== undefined) fail(INVALID_ARGUMENTS);
  const fields: OrderFields = {
    ordertype: type,
    type: side,
    volume: numberText(params.order_qty),
  };
  const triggers = params.triggers === undefined
    ? undefined
    : record(params.triggers);
  const trailing = type.startsWith("trailing-stop");
  const trigger = () => {
    if (!triggers || triggers.price === undefined) fail(INVALID_ARGUMENTS);
    // A trailing distance is always relative: static means a quote amount.
    const priceType = trailing && (triggers.price_type ?? "static") === "static"
      ? "quote"
      : triggers.price_type;
    return priceSyntax(triggers.price, priceType, "static");
  };
  const limit = (fallback: "static" | "quote") => {
    if (params.limit_price === undefined) fail(INVALID_ARGUMENTS);
    return priceSyntax(params.limit_price, params.limit_price_type, fallback);
  };
  switch (type) {
    case "market":
      break;
    case "limit":
    case "iceberg":
      fields.price = limit("static");
      break;
    case "stop-loss":
    case "take-profit":
    case "trailing-stop":
      fields.price = trigger();
      break;
    case "stop-loss-limit":
    case "take-profit-limit":
      fields.price = trigger();
      fields.price2 = limit("static");
      break;
    case "trailing-stop-limit":
      fields.price = trigger();
      fields.price2 = limit("quote");
      break;
    default:
      fail(INVALID_ARGUMENTS);
  }
  if (triggers?.reference !== undefined) {
    if (typeof triggers.reference !== "string") fail(INVALID_ARGUMENTS);
    fields.trigger = triggers.reference;
  }
  if (params.time_in_force !== undefined) {
    if (typeof params.time_in_force !== "string") fail(INVALID_ARGUMENTS);
    fields.timeinforce = params.time_in_force.toUpperCase();
  }
  if (params.expire_time !== undefined) {
    fields.expiretm = rfc3339ToSeconds(params.expire_time);
  }
  if (params.effective_time !== undefined) {
    // Scheduled starts are not simulated.
    fail(INVALID_ARGUMENTS);
  }
  const flags: string[] = [];
  if (bool(params.post_only)) flags.push("post");
  if (params.fee_preference !== undefined) {
    if (params.fee_preference === "base") flags.push("fcib");
    else if (params.fee_preference === "quote") flags.push("fciq");
    else fail(INVALID_ARGUMENTS);
  }
  if (bool(params.no_mpp)) flags.push("nompp");
  if (flags.length > 0) fields.oflags = flags.join(",");
  if (bool(params.reduce_only)) fields.reduceOnly = "true";
  if (bool(params.margin)) fields.leverage = "5";
  if (params.cl_ord_id !== undefined) {
    if (typeof params.cl_ord_id !== "string") fail(INVALID_ARGUMENTS);
    fields.clOrdId = params.cl_ord_id;
  }
  if (params.order_userref !== undefined) {
    if (!Number.isSafeInteger(params.order_userref)) fail(INVALID_ARGUMENTS);
    fields.userref = String(params.order_userref);
  }
  if (params.display_qty !== undefined) {
    fields.displayvol = numberText(params.display_qty);
  }
  if (params.deadline !== undefined) {
    if (typeof params.deadline !== "string") fail(INVALID_ARGUMENTS);
    fields.deadline = params.deadline;
  }
  if (bool(params.validate)) fields.validate = "true";
  if (params.conditional !== undefined) {
    const c = record(params.conditional);
    const closeType = c.order_type;
    if (typeof closeType !== "string") fail(INVALID_ARGUMENTS);
    fields.closeOrdertype = closeType;
    const triggerPrice = c.trigger_price ?? c.stop_price;
    const closeTrailing = closeType.startsWith("trailing-stop");
    if (closeType === "limit") {
      fields.closePrice = priceSyntax(
        c.limit_price,
        c.limit_price_type,
        "static",
      );
    } else {
      if (triggerPrice === undefined) fail(INVALID_ARGUMENTS);
      const priceType = closeTrailing &&
          (c.trigger_price_type ?? "static") === "static"
        ? "quote"
        : c.trigger_price_type;
      fields.closePrice = priceSyntax(triggerPrice, priceType, "static");
      if (closeType.endsWith("-limit")) {
        if (c.limit_price === undefined) fail(INVALID_ARGUMENTS);
        fields.closePrice2 = priceSyntax(
          c.limit_price,
          c.limit_price_type,
          closeTrailing ? "quote" : "static",
        );
      }
    }
  }
  return fields;
}

function symbolOf(
  engine: SimEngine,
  params: Readonly<Record<string, unknown>>,
): string {
  const symbol = params.symbol;
  if (typeof symbol !== "string") fail(INVALID_ARGUMENTS);
  // v2 symbols only (`BTC/USD`), as on the public channels.
  const pair = engine.pairOf(symbol);
  if (!pair || pair.symbol !== symbol.toUpperCase()) {
    fail(ORDER_ERRORS.unknownPair);
  }
  return pair.key;
}

function stringList(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(INVALID_ARGUMENTS);
  return value.map((v) => {
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
    fail(INVALID_ARGUMENTS);
  });
}

function orderIds(
  order: { txid: string; clOrdId: string | undefined; userref: number },
): WireObject {
  return {
    order_id: order.txid,
    cl_ord_id: order.clOrdId,
    order_userref: order.userref === 0 ? undefined : order.userref,
  };
}

/**
 * The `/auth/v2` trading method handler for `webSocketPlugin`'s `methods`.
 *
 * @param engine The matching engine.
 * @param control Control object (system status, drop-after-accept fault).
 * @returns The handler.
 * @example Plug in
 * ```ts ignore
 * new WsSimulator(market, { methods: engineWsMethods(engine, control), ... });
 * ```
 */
export function engineWsMethods(
  engine: SimEngine,
  control: SimControl,
): WsMethodHandler {
  return (request) => {
    const { method, params, reqId, nowMs, send } = request;
    const timing = { reqId, timeInMs: nowMs, timeOutMs: nowMs };
    const ok = (result: WireValue) =>
      send(successFrame(method, { result, ...timing }));
    const error = (code: string) =>
      send(errorFrame(method, { error: code, ...timing }));
    const dropIfArmed = (placed: boolean): boolean => {
      if (!placed || !control.takeDropAfterAccept()) return false;
      request.close?.(1011, "Simulated drop after the order was accepted");
      return true;
    };
    engine.deferRows(() => {
      try {
        if (control.systemStatus === "maintenance") {
          fail(ORDER_ERRORS.unavailable);
        }
        switch (method) {
          case "add_order": {
            const placed = engine.add(wsOrderFields(params), {
              pair: symbolOf(engine, params),
              nowMs,
            });
            if (!placed.order) return ok({ order_id: "" });
            if (dropIfArmed(true)) return;
            return ok(orderIds(placed.order));
          }
          case "batch_add": {
            const orders = params.orders;
            if (!Array.isArray(orders)) fail(INVALID_ARGUMENTS);
            const rows = orders.map((o) => wsOrderFields(record(o)));
            const results = engine.addBatch(rows, {
              pair: symbolOf(engine, params),
              nowMs,
              validate: bool(params.validate),
              deadline: typeof params.deadline === "string"
                ? params.deadline
                : undefined,
            });
            let placedAny = false;
            const out = results.map((r): WireObject => {
              if ("error" in r) return { error: r.error };
              if (!r.order) return { order_id: "" };
              placedAny = true;
              return orderIds(r.order);
            });
            if (dropIfArmed(placedAny)) return;
            return ok(out);
          }
          case "amend_order": {
            const changes: AmendChanges = {};
            if (params.order_qty !== undefined) {
              changes.orderQty = numberText(params.order_qty);
            }
            if (params.display_qty !== undefined) {
              changes.displayQty = numberText(params.display_qty);
            }
            if (params.limit_price !== undefined) {
              changes.limitPrice = priceSyntax(
                params.limit_price,
                params.limit_price_type,
                "static",
              );
            }
            if (params.trigger_price !== undefined) {
              changes.triggerPrice = priceSyntax(
                params.trigger_price,
                params.trigger_price_type,
                "static",
              );
            }
            if (params.post_only !== undefined) {
              changes.postOnly = bool(params.post_only);
            }
            if (typeof params.deadline === "string") {
              changes.deadline = params.deadline;
            }
            const orderId = typeof params.order_id === "string"
              ? params.order_id
              : undefined;
            const clOrdId = typeof params.cl_ord_id === "string"
              ? params.cl_ord_id
              : undefined;
            const { amendId, order } = engine.amend(
              { txid: orderId, clOrdId },
              changes,
              nowMs,
            );
            return ok({
              amend_id: amendId,
              order_id: order.txid,
              cl_ord_id: order.clOrdId,
            });
          }
          case "edit_order": {
            const orderId = params.order_id;
            if (typeof orderId !== "string") fail(INVALID_ARGUMENTS);
            const fields: OrderFields = {};
            if (params.order_qty !== undefined) {
              fields.volume = numberText(params.order_qty);
            }
            if (params.limit_price !== undefined) {
              fields.price = priceSyntax(
                params.limit_price,
                undefined,
                "static",
              );
            }
            if (params.display_qty !== undefined) {
              fields.displayvol = numberText(params.display_qty);
            }
            if (params.post_only !== undefined) {
              fields.oflags = bool(params.post_only) ? "post" : "";
            }
            if (params.order_userref !== undefined) {
              if (!Number.isSafeInteger(params.order_userref)) {
                fail(INVALID_ARGUMENTS);
              }
              fields.userref = String(params.order_userref);
            }
            if (typeof params.deadline === "string") {
              fields.deadline = params.deadline;
            }
            if (bool(params.validate)) fields.validate = "true";
            const { placed, original } = engine.edit(orderId, fields, {
              pair: symbolOf(engine, params),
              nowMs,
            });
            if (!placed.order) {
              return ok({ order_id: "", original_order_id: original.txid });
            }
            if (dropIfArmed(true)) return;
            return ok({
              order_id: placed.order.txid,
              original_order_id: original.txid,
            });
          }
          case "cancel_order": {
            const ids = stringList(params.order_id);
            const clOrdIds = stringList(params.cl_ord_id);
            const userrefs = stringList(params.order_userref).map(Number);
            if (ids.length + clOrdIds.length + userrefs.length === 0) {
              fail(INVALID_ARGUMENTS);
            }
            // One answer per order (WS_V2.md §4.6).
            const each = (
              run: () => Array<{ txid: string; clOrdId: string | undefined }>,
            ) => {
              try {
                const cancelled = run();
                if (cancelled.length === 0) error(ORDER_ERRORS.invalidOrder);
                for (const order of cancelled) {
                  ok({ order_id: order.txid, cl_ord_id: order.clOrdId });
                }
              } catch (e) {
                if (!(e instanceof SimApiError)) throw e;
                // WS answers Invalid order for unknown and closed ids alike.
                error(
                  e.code === ORDER_ERRORS.unknownOrder
                    ? ORDER_ERRORS.invalidOrder
                    : e.code,
                );
              }
            };
            for (const id of ids) {
              each(() =>
                engine.cancel({ txids: [id] }, { nowMs, strict: true })
              );
            }
            for (const id of clOrdIds) {
              each(() =>
                engine.cancel({ clOrdIds: [id] }, { nowMs, strict: true })
              );
            }
            for (const userref of userrefs) {
              each(() =>
                engine.cancel({ userrefs: [userref] }, { nowMs, strict: true })
              );
            }
            return;
          }
          case "cancel_all":
            return ok({ count: engine.cancelAll(nowMs) });
          case "cancel_all_orders_after": {
            const timeout = params.timeout;
            if (typeof timeout !== "number") fail(INVALID_ARGUMENTS);
            return ok(engine.cancelAllAfter(timeout, nowMs));
          }
          case "batch_cancel": {
            const orders = stringList(params.orders);
            const clOrdIds = stringList(params.cl_ord_id);
            const total = orders.length + clOrdIds.length;
            if (total < 2 || total > 50) fail(INVALID_ARGUMENTS);
            const txids = orders.filter((o) => !/^-?\d+$/.test(o));
            const userrefs = orders.filter((o) => /^-?\d+$/.test(o)).map(
              Number,
            );
            const cancelled = engine.cancel({ txids, userrefs, clOrdIds }, {
              nowMs,
              strict: false,
              batch: true,
            });
            return ok({ count: cancelled.length });
          }
          default:
            return error("Method not supported");
        }
      } catch (e) {
        if (e instanceof SimApiError) return error(e.code);
        return error("EGeneral:Internal error");
      }
    });
  };
}
