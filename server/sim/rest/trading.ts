/**
 * The simulator's REST trading methods on the matching engine (REST.md
 * §3.2, §4): `AddOrder`, `AddOrderBatch`, `AmendOrder`, `EditOrder`,
 * `CancelOrder`, `CancelOrderBatch`, `CancelAll`, `CancelAllOrdersAfter`,
 * `OrderAmends`, plus the account methods wrapped so every read first
 * replays the market up to now (fills, triggers, expiries, the dead man's
 * switch). Plug into the REST app as `privateHandlers`.
 *
 * Fault: with `dropAfterAccept` armed on the control object, an accepted
 * order's answer is lost (connection reset) after the order was placed.
 *
 * @module
 */

import type { SimControl } from "../control.ts";
import {
  type AmendChanges,
  DroppedAnswerError,
  type PlacedOrder,
  type SimEngine,
} from "../exchange/engine.ts";
import type { OrderFields } from "../exchange/orders.ts";
import { INVALID_ARGUMENTS, Params, SimApiError } from "../exchange/params.ts";
import {
  ACCOUNT_HANDLERS,
  type PrivateContext,
  type PrivateHandler,
} from "./private.ts";

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") {
    return String(value);
  }
  return undefined;
}

/**
 * The REST-named order fields of a request (form or JSON body, or one
 * `AddOrderBatch` row): `close[ordertype]` form keys or a nested JSON
 * `close` object.
 *
 * @param params The parameters.
 * @returns The fields.
 * @example Form body
 * ```ts
 * import { restOrderFields } from "./trading.ts";
 * import { Params } from "../exchange/params.ts";
 * restOrderFields(Params.fromForm("ordertype=limit&type=buy&volume=1&price=100")).price; // "100"
 * ```
 */
export function restOrderFields(params: Params): OrderFields {
  const close = params.json?.close;
  const nested = typeof close === "object" && close !== null &&
      !Array.isArray(close)
    ? close as Record<string, unknown>
    : undefined;
  return {
    ordertype: params.get("ordertype"),
    type: params.get("type"),
    volume: params.get("volume"),
    price: params.get("price"),
    price2: params.get("price2"),
    displayvol: params.get("displayvol"),
    oflags: params.get("oflags"),
    timeinforce: params.get("timeinforce"),
    starttm: params.get("starttm"),
    expiretm: params.get("expiretm"),
    userref: params.get("userref"),
    clOrdId: params.get("cl_ord_id"),
    leverage: params.get("leverage"),
    reduceOnly: params.get("reduce_only"),
    trigger: params.get("trigger"),
    deadline: params.get("deadline"),
    validate: params.get("validate"),
    closeOrdertype: nested
      ? text(nested.ordertype)
      : params.get("close[ordertype]"),
    closePrice: nested ? text(nested.price) : params.get("close[price]"),
    closePrice2: nested ? text(nested.price2) : params.get("close[price2]"),
  };
}

function descrOf(placed: PlacedOrder): { order: string; close?: string } {
  return placed.descr.close !== undefined
    ? { order: placed.descr.order, close: placed.descr.close }
    : { order: placed.descr.order };
}

function dropIfArmed(control: SimControl, placedAny: boolean): void {
  if (placedAny && control.takeDropAfterAccept()) {
    throw new DroppedAnswerError("Simulated drop after the order was accepted");
  }
}

function jsonList(params: Params, name: string): unknown[] | undefined {
  const value = params.json?.[name];
  if (value === undefined) return params.list(name);
  if (!Array.isArray(value)) throw new SimApiError(INVALID_ARGUMENTS);
  return value;
}

/**
 * The trading handlers and sync-first account handlers for the REST app.
 *
 * @param engine The matching engine.
 * @param control The control object (drop-after-accept fault).
 * @returns Handlers by Kraken method name.
 * @example Plug in
 * ```ts ignore
 * const app = createRestApp({ ..., privateHandlers: engineRestHandlers(engine, control) });
 * ```
 */
export function engineRestHandlers(
  engine: SimEngine,
  control: SimControl,
): Record<string, PrivateHandler> {
  const handlers: Record<string, PrivateHandler> = {};
  for (const [name, handler] of Object.entries(ACCOUNT_HANDLERS)) {
    handlers[name] = (context: PrivateContext) => {
      engine.sync(context.nowMs);
      return handler(context);
    };
  }

  handlers.AddOrder = ({ params, nowMs }) => {
    const placed = engine.add(restOrderFields(params), {
      pair: params.get("pair"),
      nowMs,
    });
    if (!placed.order) return { descr: descrOf(placed) };
    dropIfArmed(control, true);
    return { descr: descrOf(placed), txid: [placed.order.txid] };
  };

  handlers.AddOrderBatch = ({ params, nowMs }) => {
    const orders = params.json?.orders;
    if (!Array.isArray(orders)) throw new SimApiError(INVALID_ARGUMENTS);
    const rows = orders.map((row) => {
      if (typeof row !== "object" || row === null || Array.isArray(row)) {
        throw new SimApiError(INVALID_ARGUMENTS);
      }
      return restOrderFields(Params.fromJson(row as Record<string, unknown>));
    });
    const results = engine.addBatch(rows, {
      pair: params.get("pair"),
      nowMs,
      validate: params.bool("validate"),
      deadline: params.get("deadline"),
    });
    let placedAny = false;
    const out = results.map((result) => {
      if ("error" in result) return { error: result.error };
      if (!result.order) return { descr: descrOf(result) };
      placedAny = true;
      return { txid: result.order.txid, descr: descrOf(result) };
    });
    dropIfArmed(control, placedAny);
    return { orders: out };
  };

  handlers.AmendOrder = ({ params, nowMs }) => {
    const changes: AmendChanges = {};
    const set = (key: keyof AmendChanges, name: string) => {
      const value = params.get(name);
      if (value !== undefined && value !== "") {
        (changes as Record<string, string>)[key] = value;
      }
    };
    set("orderQty", "order_qty");
    set("displayQty", "display_qty");
    set("limitPrice", "limit_price");
    set("triggerPrice", "trigger_price");
    set("deadline", "deadline");
    if (params.get("post_only") !== undefined) {
      changes.postOnly = params.bool("post_only");
    }
    const { amendId } = engine.amend(
      { txid: params.get("txid"), clOrdId: params.get("cl_ord_id") },
      changes,
      nowMs,
    );
    return { amend_id: amendId };
  };

  handlers.EditOrder = ({ params, nowMs }) => {
    const fields = restOrderFields(params);
    const { placed, original } = engine.edit(params.get("txid"), {
      volume: fields.volume,
      price: fields.price,
      price2: fields.price2,
      displayvol: fields.displayvol,
      oflags: fields.oflags,
      userref: fields.userref,
      deadline: fields.deadline,
      validate: fields.validate,
    }, { pair: params.get("pair"), nowMs });
    const order = placed.order;
    const terms = (order ?? original).terms;
    const result: Record<string, unknown> = {
      status: "ok",
      ...(order ? { txid: order.txid } : {}),
      originaltxid: original.txid,
      volume: fields.volume ?? placed.descr.order.split(" ")[1],
      price: terms?.price ?? "0",
      price2: terms?.price2 ?? "0",
      "orders_cancelled": order ? 1 : 0,
      descr: { order: placed.descr.order },
    };
    if (fields.userref !== undefined) {
      result.newuserref = Number(fields.userref);
      result.olduserref = original.userref;
    }
    dropIfArmed(control, order !== undefined);
    return result;
  };

  handlers.CancelOrder = ({ params, nowMs }) => {
    const txid = params.get("txid");
    const clOrdId = params.get("cl_ord_id");
    if ((txid === undefined || txid === "") && clOrdId === undefined) {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    const byUserref = txid !== undefined && /^-?\d+$/.test(txid);
    const cancelled = engine.cancel(
      byUserref ? { userrefs: [Number(txid)] } : {
        ...(txid !== undefined && txid !== "" ? { txids: [txid] } : {}),
        ...(clOrdId !== undefined ? { clOrdIds: [clOrdId] } : {}),
      },
      { nowMs, strict: true },
    );
    return { count: cancelled.length, pending: false };
  };

  handlers.CancelOrderBatch = ({ params, nowMs }) => {
    const orders = jsonList(params, "orders") ?? [];
    const clOrdIds = jsonList(params, "cl_ord_ids") ?? [];
    const total = orders.length + clOrdIds.length;
    if (total === 0 || total > 50) throw new SimApiError(INVALID_ARGUMENTS);
    const txids: string[] = [];
    const userrefs: number[] = [];
    for (const item of orders) {
      const value = typeof item === "object" && item !== null
        ? (item as Record<string, unknown>).txid
        : item;
      const id = text(value);
      if (id === undefined) throw new SimApiError(INVALID_ARGUMENTS);
      if (/^-?\d+$/.test(id)) userrefs.push(Number(id));
      else txids.push(id);
    }
    const ids = clOrdIds.map((id) => {
      const value = text(id);
      if (value === undefined) throw new SimApiError(INVALID_ARGUMENTS);
      return value;
    });
    const cancelled = engine.cancel({ txids, userrefs, clOrdIds: ids }, {
      nowMs,
      strict: false,
      batch: true,
    });
    return { count: cancelled.length };
  };

  handlers.CancelAll = ({ nowMs }) => ({ count: engine.cancelAll(nowMs) });

  handlers.CancelAllOrdersAfter = ({ params, nowMs }) => {
    const timeout = params.int("timeout", { min: 0, max: 86_399 });
    if (timeout === undefined) throw new SimApiError(INVALID_ARGUMENTS);
    return engine.cancelAllAfter(timeout, nowMs);
  };

  handlers.OrderAmends = ({ params, nowMs }) => {
    engine.sync(nowMs);
    const id = params.get("order_id");
    if (id === undefined || id === "") throw new SimApiError(INVALID_ARGUMENTS);
    const amends = engine.amendsOf(id);
    if (!amends) throw new SimApiError("EOrder:Unknown order");
    // Nanosecond timestamps exceed 2^53: written as exact JSON integers.
    const raw = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;
    return {
      amends: amends.map((a) => ({
        ...a,
        timestamp: raw(a.timestamp.toString()),
      })),
      count: amends.length,
    };
  };

  return handlers;
}
