/**
 * Pure wire encoders for an order: the REST `AddOrder` form parameters
 * (REST.md §4) and the WS v2 `add_order` params (WS_V2.md §4.3).
 *
 * Neither adds credentials: the REST client adds `nonce` and signs the body
 * (`encodeForm` from core/auth/sign.ts turns the pairs into the exact body
 * bytes); the WS transport adds `token` and `req_id`.
 *
 * @module
 */

import type { FormValue } from "../auth/sign.ts";
import { canonicalDecimal, decimalFromNumber } from "../decimal.ts";
import type { PairMetadata } from "../market/pairs.ts";
import type { OrderRequest, OrderSide, OrderType } from "./order.ts";

/** One form parameter, in body order. */
export type FormPair = readonly [name: string, value: FormValue];

/** WS v2 `triggers` object. */
export interface WsTriggers {
  /** Price signal. */
  reference: "last" | "index";
  /** Trigger price, or the trailing distance. */
  price: number;
  /** `static` (absolute price), `pct` or `quote` (offsets). */
  "price_type": "static" | "pct" | "quote";
}

/** WS v2 `conditional` (the attached close). */
export interface WsConditional {
  /** Close order type. */
  "order_type": "stop-loss" | "stop-loss-limit";
  /** Close trigger price. */
  "trigger_price": number;
  /** Close limit price (`stop-loss-limit`). */
  "limit_price"?: number;
}

/** WS v2 `add_order` params, without `token`. Keys in the documented order. */
export interface WsAddOrderParams {
  /** v2 symbol, `BTC/USD`. */
  symbol: string;
  /** Side. */
  side: OrderSide;
  /** Order type. */
  "order_type": OrderType;
  /** Base quantity. */
  "order_qty": number;
  /** Iceberg visible quantity. */
  "display_qty"?: number;
  /** Limit price. */
  "limit_price"?: number;
  /** Trigger of stop, take-profit and trailing types. */
  triggers?: WsTriggers;
  /** Time in force, lower case in requests. */
  "time_in_force"?: "gtc" | "ioc" | "gtd";
  /** GTD expiry, RFC 3339. */
  "expire_time"?: string;
  /** Post-only. */
  "post_only"?: boolean;
  /** Reduce-only. */
  "reduce_only"?: boolean;
  /** Fee currency: `base` or `quote` (defaults: buy → quote, sell → base). */
  "fee_preference"?: "base" | "quote";
  /** Fund on margin (WS takes no `leverage`). */
  margin?: boolean;
  /** Attached close. */
  conditional?: WsConditional;
  /** Client order id. */
  "cl_ord_id"?: string;
  /** Client user reference. */
  "order_userref"?: number;
  /** Validate only. */
  validate?: boolean;
}

/**
 * Converts decimal text to the JSON number WS v2 wants, refusing text a
 * float would not carry exactly (more than about 15 significant digits):
 * the number's shortest form must print back the same decimal.
 *
 * @param field The field, for the message.
 * @param text Decimal text.
 * @returns The number.
 * @throws {RangeError} When the number would not print back as `text`.
 * @example Convert
 * ```ts
 * import { wsNumber } from "./encode.ts";
 * wsNumber("limit_price", "96500.0"); // 96500
 * ```
 */
export function wsNumber(field: string, text: string): number {
  const value = Number(text);
  if (
    !Number.isFinite(value) ||
    decimalFromNumber(value) !== canonicalDecimal(text)
  ) {
    throw new RangeError(
      `Cannot send ${field} "${text}" as a JSON number without losing digits`,
    );
  }
  return value;
}

function trailingRestPrice(order: OrderRequest): string | undefined {
  const offset = order.trailingOffset;
  if (offset === undefined) return undefined;
  // Kraken requires the trailing offset to be relative with a leading `+`.
  return `+${offset.amount}${offset.unit === "pct" ? "%" : ""}`;
}

/**
 * Encodes the REST `AddOrder` parameters as ordered form pairs (without
 * `nonce`): `ordertype`, `type`, `volume`, `pair`, `price`, `price2`,
 * `displayvol`, `trigger`, `leverage`, `reduce_only`, `oflags`,
 * `timeinforce`, `expiretm`, `close[ordertype]`, `close[price]`,
 * `close[price2]`, `userref` or `cl_ord_id`, `validate` — each only when set.
 * Decimal text is sent as given (validation already bounded its decimals).
 *
 * @param order The order (normally a `PreparedOrder.order`).
 * @param pair The pair (its altname is sent).
 * @returns The pairs, for `encodeForm` or the REST client.
 * @example The entry with a protective stop from REST.md §4.3
 * ```ts
 * import { addOrderRestParams } from "./encode.ts";
 * import { encodeForm } from "../auth/sign.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const pairs = addOrderRestParams({
 *   pair: "XBTUSD", side: "buy", type: "limit", volume: "0.01", price: "25000.1",
 *   stopLoss: { type: "stop-loss-limit", triggerPrice: "22000", limitPrice: "21000" },
 * }, { altname: "XBTUSD" } as PairMetadata);
 * decodeURIComponent(encodeForm(pairs));
 * // "ordertype=limit&type=buy&volume=0.01&pair=XBTUSD&price=25000.1&close[ordertype]=stop-loss-limit&close[price]=22000&close[price2]=21000"
 * ```
 */
export function addOrderRestParams(
  order: OrderRequest,
  pair: PairMetadata,
): FormPair[] {
  const out: FormPair[] = [
    ["ordertype", order.type],
    ["type", order.side],
    ["volume", order.volume],
    ["pair", pair.altname],
  ];
  const price = order.type === "trailing-stop"
    ? trailingRestPrice(order)
    : order.price;
  if (price !== undefined) out.push(["price", price]);
  if (order.price2 !== undefined) out.push(["price2", order.price2]);
  if (order.displayVolume !== undefined) {
    out.push(["displayvol", order.displayVolume]);
  }
  if (order.trigger !== undefined) out.push(["trigger", order.trigger]);
  if (order.leverage !== undefined) {
    out.push(["leverage", String(order.leverage)]);
  }
  if (order.reduceOnly === true) out.push(["reduce_only", "true"]);
  const flags = [
    ...(order.postOnly === true ? ["post"] : []),
    ...(order.feeIn === undefined
      ? []
      : [order.feeIn === "base" ? "fcib" : "fciq"]),
  ];
  if (flags.length > 0) out.push(["oflags", flags.join(",")]);
  if (order.timeInForce !== undefined) {
    out.push(["timeinforce", order.timeInForce]);
  }
  if (order.expireAtSec !== undefined) {
    out.push(["expiretm", String(order.expireAtSec)]);
  }
  const stop = order.stopLoss;
  if (stop !== undefined) {
    out.push(["close[ordertype]", stop.type]);
    out.push(["close[price]", stop.triggerPrice]);
    if (stop.limitPrice !== undefined) {
      out.push(["close[price2]", stop.limitPrice]);
    }
  }
  const ref = order.clientRef;
  if (ref?.kind === "userref") out.push(["userref", String(ref.userref)]);
  if (ref?.kind === "cl_ord_id") out.push(["cl_ord_id", ref.clOrdId]);
  if (order.validateOnly === true) out.push(["validate", "true"]);
  return out;
}

function wsTriggers(order: OrderRequest): WsTriggers | undefined {
  const reference = order.trigger ?? "last";
  if (order.type === "trailing-stop") {
    const offset = order.trailingOffset;
    if (offset === undefined) return undefined;
    return {
      reference,
      price: wsNumber("triggers.price", offset.amount),
      "price_type": offset.unit,
    };
  }
  if (order.price === undefined) return undefined;
  return {
    reference,
    price: wsNumber("triggers.price", order.price),
    "price_type": "static",
  };
}

/**
 * Encodes the WS v2 `add_order` params (without `token`). Prices and
 * quantities become JSON numbers, checked to print back exactly; `triggers`
 * carries the trigger of stop and take-profit types (absolute,
 * `price_type: "static"`) and the trailing distance (`quote` or `pct`);
 * `conditional` carries the attached stop-loss.
 *
 * @param order The order (normally a `PreparedOrder.order`).
 * @param pair The pair (its v2 symbol is sent).
 * @returns The params object.
 * @throws {RangeError} When a decimal cannot travel as a JSON number exactly.
 * @example Post-only limit buy with a stop-loss-limit close (WS_V2.md §4.3 a)
 * ```ts
 * import { addOrderWsParams } from "./encode.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const params = addOrderWsParams({
 *   pair: "XBTUSD", side: "buy", type: "limit", volume: "0.0100", price: "96500.0",
 *   timeInForce: "GTC", postOnly: true,
 *   stopLoss: { type: "stop-loss-limit", triggerPrice: "95000.0", limitPrice: "94900.0" },
 * }, { wsV2: "BTC/USD" } as PairMetadata);
 * params.conditional; // { order_type: "stop-loss-limit", trigger_price: 95000, limit_price: 94900 }
 * ```
 */
export function addOrderWsParams(
  order: OrderRequest,
  pair: PairMetadata,
): WsAddOrderParams {
  const params: WsAddOrderParams = {
    symbol: pair.wsV2,
    side: order.side,
    "order_type": order.type,
    "order_qty": wsNumber("order_qty", order.volume),
  };
  if (order.displayVolume !== undefined) {
    params.display_qty = wsNumber("display_qty", order.displayVolume);
  }
  switch (order.type) {
    case "limit":
    case "iceberg":
      if (order.price !== undefined) {
        params.limit_price = wsNumber("limit_price", order.price);
      }
      break;
    case "stop-loss-limit":
    case "take-profit-limit":
      if (order.price2 !== undefined) {
        params.limit_price = wsNumber("limit_price", order.price2);
      }
      break;
    default:
      break;
  }
  if (
    order.type !== "market" && order.type !== "limit" &&
    order.type !== "iceberg"
  ) {
    const triggers = wsTriggers(order);
    if (triggers !== undefined) params.triggers = triggers;
  }
  if (order.timeInForce !== undefined) {
    params.time_in_force = order.timeInForce.toLowerCase() as
      | "gtc"
      | "ioc"
      | "gtd";
  }
  if (order.expireAtSec !== undefined) {
    params.expire_time = new Date(order.expireAtSec * 1000).toISOString();
  }
  if (order.postOnly === true) params.post_only = true;
  if (order.feeIn !== undefined) params.fee_preference = order.feeIn;
  if (order.reduceOnly === true) params.reduce_only = true;
  if (order.leverage !== undefined) params.margin = true;
  const stop = order.stopLoss;
  if (stop !== undefined) {
    const conditional: WsConditional = {
      "order_type": stop.type,
      "trigger_price": wsNumber("conditional.trigger_price", stop.triggerPrice),
    };
    if (stop.limitPrice !== undefined) {
      conditional.limit_price = wsNumber(
        "conditional.limit_price",
        stop.limitPrice,
      );
    }
    params.conditional = conditional;
  }
  const ref = order.clientRef;
  if (ref?.kind === "cl_ord_id") params.cl_ord_id = ref.clOrdId;
  if (ref?.kind === "userref") params.order_userref = ref.userref;
  if (order.validateOnly === true) params.validate = true;
  return params;
}
