/**
 * Order validation against the pair's metadata, before any I/O: price and
 * volume decimals, tick size, `ordermin`, `costmin`, per-type fields, flags,
 * time in force and the pair's trading status. Each problem is a
 * {@linkcode Rejection} whose message names the field and its value, so
 * Kraken's own `EOrder:Tick size check failed` never has to be the first
 * word on a bad price.
 *
 * @module
 */

import {
  compareDecimal,
  fractionDigits,
  isDecimalText,
  isMultipleOf,
  multiplyDecimal,
} from "../decimal.ts";
import type { PairMetadata } from "../market/pairs.ts";
import {
  clientRefProblem,
  LIMIT_PRICED_TYPES,
  ORDER_TYPES,
  type OrderRequest,
  type OrderType,
} from "./order.ts";
import { reject, type Rejection } from "./rules.ts";

/** Options of {@linkcode validateOrder}. */
export interface ValidateOptions {
  /** Now, ms since the epoch (for GTD expiry bounds). */
  nowMs: number;
  /**
   * The price a `market` or `trailing-stop` order is expected to fill at
   * (best ask for a buy, best bid for a sell); used for `costmin`.
   */
  referencePrice?: string;
}

/** Kraken refuses GTD expiries closer than this (REST.md §4.2, `expiretm` min 5 s). */
const MIN_EXPIRY_MS = 5_000;
/** Kraken accepts GTD expiries up to one month ahead; 30 days is used. */
const MAX_EXPIRY_MS = 30 * 86_400_000;
/** Iceberg display volume must be at least 1/15 of the volume (REST.md §4.1). */
const ICEBERG_DIVISOR = "15";

type PriceField = "price" | "price2";

/** Which price fields each type takes: required, or absent. */
const PRICE_FIELDS: Record<OrderType, readonly PriceField[]> = {
  "market": [],
  "limit": ["price"],
  "iceberg": ["price"],
  "stop-loss": ["price"],
  "take-profit": ["price"],
  "stop-loss-limit": ["price", "price2"],
  "take-profit-limit": ["price", "price2"],
  "trailing-stop": [],
};

/**
 * The price an order is expected to execute at, for cost and notional
 * checks: the limit price of limit-priced types (`price2` for `*-limit`),
 * the trigger of `stop-loss`/`take-profit`, else `referencePrice`.
 *
 * @param order The order.
 * @param referencePrice The market price for `market` / `trailing-stop`.
 * @returns Decimal text, or `undefined` when no price is known.
 * @example Expected price of a stop-loss-limit
 * ```ts
 * import { expectedPrice } from "./validate.ts";
 * expectedPrice({ type: "stop-loss-limit", price: "100", price2: "99" }); // "99"
 * ```
 */
export function expectedPrice(
  order: Pick<OrderRequest, "type" | "price" | "price2">,
  referencePrice?: string,
): string | undefined {
  switch (order.type) {
    case "limit":
    case "iceberg":
    case "stop-loss":
    case "take-profit":
      return order.price;
    case "stop-loss-limit":
    case "take-profit-limit":
      return order.price2;
    case "market":
    case "trailing-stop":
      return referencePrice;
  }
}

/**
 * Checks one price: a positive plain decimal with at most `priceDecimals`
 * decimals, on the tick.
 *
 * @param field The field name used in the message.
 * @param text The price text.
 * @param pair The pair.
 * @returns `null` or the rejection.
 * @example A price off the tick
 * ```ts
 * import { priceProblem } from "./validate.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const pair = { id: "XBTUSD", priceDecimals: 1, tickSize: "0.5" } as PairMetadata;
 * priceProblem("price", "25000.3", pair)?.rule; // "price_tick_size"
 * ```
 */
export function priceProblem(
  field: string,
  text: string,
  pair: PairMetadata,
): Rejection | null {
  if (
    !isDecimalText(text, { unsigned: true }) || compareDecimal(text, "0") <= 0
  ) {
    return reject(
      "price_invalid",
      `${field} must be a positive decimal number, got "${text}"`,
      field,
    );
  }
  if (fractionDigits(text) > pair.priceDecimals) {
    return reject(
      "price_decimals",
      `${field} ${text} has ${
        fractionDigits(text)
      } decimals; ${pair.id} allows at most ${pair.priceDecimals}`,
      field,
    );
  }
  if (!isMultipleOf(text, pair.tickSize)) {
    return reject(
      "price_tick_size",
      `${field} ${text} is not a multiple of the ${pair.id} tick size ${pair.tickSize}`,
      field,
    );
  }
  return null;
}

function statusProblem(
  order: OrderRequest,
  pair: PairMetadata,
): Rejection | null {
  switch (pair.status) {
    case "online":
      return null;
    case "cancel_only":
      return reject(
        "pair_cancel_only",
        `${pair.id} is in cancel_only status: no new orders are accepted`,
        "pair",
      );
    case "post_only":
      return order.postOnly === true ? null : reject(
        "pair_post_only",
        `${pair.id} is in post_only status: only post-only limit orders are accepted, postOnly is ${
          order.postOnly ?? false
        }`,
        "postOnly",
      );
    case "limit_only": {
      const closeIsLimit = order.stopLoss === undefined ||
        order.stopLoss.type === "stop-loss-limit";
      if (LIMIT_PRICED_TYPES.has(order.type) && closeIsLimit) return null;
      return reject(
        "pair_limit_only",
        LIMIT_PRICED_TYPES.has(order.type)
          ? `${pair.id} is in limit_only status: the stop-loss must be stop-loss-limit, got ${order.stopLoss?.type}`
          : `${pair.id} is in limit_only status: only limit-priced orders are accepted, got ${order.type}`,
        LIMIT_PRICED_TYPES.has(order.type) ? "stopLoss.type" : "type",
      );
    }
    case "reduce_only":
      return order.reduceOnly === true ? null : reject(
        "pair_reduce_only",
        `${pair.id} is in reduce_only status: only reduce-only orders are accepted, reduceOnly is ${
          order.reduceOnly ?? false
        }`,
        "reduceOnly",
      );
    default:
      return reject(
        "pair_not_trading",
        `${pair.id} is not trading: status is ${pair.status}`,
        "pair",
      );
  }
}

function volumeProblem(
  order: OrderRequest,
  pair: PairMetadata,
): Rejection | null {
  const volume = order.volume;
  if (
    !isDecimalText(volume, { unsigned: true }) ||
    compareDecimal(volume, "0") <= 0
  ) {
    return reject(
      "volume_invalid",
      `volume must be a positive decimal number, got "${volume}"`,
      "volume",
    );
  }
  if (fractionDigits(volume) > pair.volumeDecimals) {
    return reject(
      "volume_decimals",
      `volume ${volume} has ${
        fractionDigits(volume)
      } decimals; ${pair.id} allows at most ${pair.volumeDecimals}`,
      "volume",
    );
  }
  if (compareDecimal(volume, pair.ordermin) < 0) {
    return reject(
      "volume_below_ordermin",
      `volume ${volume} is below the ${pair.id} minimum order ${pair.ordermin} ${pair.base}`,
      "volume",
    );
  }
  return null;
}

function pricesProblem(
  order: OrderRequest,
  pair: PairMetadata,
): Rejection | null {
  const wanted = PRICE_FIELDS[order.type];
  for (const field of ["price", "price2"] as const) {
    const value = order[field];
    if (wanted.includes(field)) {
      if (value === undefined) {
        return reject(
          "price_required",
          `${field} is required for a ${order.type} order`,
          field,
        );
      }
      const problem = priceProblem(field, value, pair);
      if (problem !== null) return problem;
    } else if (value !== undefined) {
      return reject(
        "price_not_allowed",
        `${field} is not used by a ${order.type} order, got "${value}"`,
        field,
      );
    }
  }
  const offset = order.trailingOffset;
  if (order.type !== "trailing-stop") {
    return offset === undefined ? null : reject(
      "price_not_allowed",
      `trailingOffset is only used by a trailing-stop order, got ${offset.amount} ${offset.unit}`,
      "trailingOffset",
    );
  }
  if (offset === undefined) {
    return reject(
      "price_required",
      "trailingOffset is required for a trailing-stop order",
      "trailingOffset",
    );
  }
  const amount = offset.amount;
  if (
    !isDecimalText(amount, { unsigned: true }) ||
    compareDecimal(amount, "0") <= 0
  ) {
    return reject(
      "trailing_offset_invalid",
      `trailingOffset.amount must be a positive decimal number, got "${amount}"`,
      "trailingOffset.amount",
    );
  }
  if (offset.unit === "pct") {
    return compareDecimal(amount, "100") < 0 && fractionDigits(amount) <= 2
      ? null
      : reject(
        "trailing_offset_invalid",
        `trailingOffset.amount must be below 100 % with at most 2 decimals, got ${amount} %`,
        "trailingOffset.amount",
      );
  }
  return priceProblem("trailingOffset.amount", amount, pair);
}

function displayProblem(
  order: OrderRequest,
  pair: PairMetadata,
): Rejection | null {
  const display = order.displayVolume;
  if (order.type !== "iceberg") {
    return display === undefined ? null : reject(
      "display_volume_invalid",
      `displayVolume is only used by an iceberg order, got "${display}"`,
      "displayVolume",
    );
  }
  if (display === undefined) {
    return reject(
      "display_volume_invalid",
      "displayVolume is required for an iceberg order",
      "displayVolume",
    );
  }
  const valid = isDecimalText(display, { unsigned: true }) &&
    compareDecimal(display, "0") > 0 &&
    fractionDigits(display) <= pair.volumeDecimals &&
    compareDecimal(display, order.volume) <= 0 &&
    compareDecimal(multiplyDecimal(display, ICEBERG_DIVISOR), order.volume) >=
      0;
  return valid ? null : reject(
    "display_volume_invalid",
    `displayVolume must be between volume / 15 and volume (${order.volume}) with at most ${pair.volumeDecimals} decimals, got "${display}"`,
    "displayVolume",
  );
}

function flagsProblem(
  order: OrderRequest,
  pair: PairMetadata,
  nowMs: number,
): Rejection | null {
  if (
    order.postOnly === true && order.type !== "limit" &&
    order.type !== "iceberg"
  ) {
    return reject(
      "post_only_not_allowed",
      `postOnly applies to limit and iceberg orders only, got ${order.type}`,
      "postOnly",
    );
  }
  const tif = order.timeInForce;
  if (tif !== undefined && tif !== "GTC" && tif !== "IOC" && tif !== "GTD") {
    return reject(
      "time_in_force_invalid",
      `timeInForce must be GTC, IOC or GTD, got "${tif}"`,
      "timeInForce",
    );
  }
  if (tif === "IOC" && order.postOnly === true) {
    return reject(
      "time_in_force_invalid",
      "timeInForce IOC cannot be combined with postOnly: a post-only order must rest",
      "timeInForce",
    );
  }
  const expire = order.expireAtSec;
  if (tif === "GTD") {
    if (expire === undefined) {
      return reject(
        "expiry_invalid",
        "expireAtSec is required with timeInForce GTD",
        "expireAtSec",
      );
    }
    const expireMs = expire * 1000;
    if (
      !Number.isInteger(expire) || expireMs < nowMs + MIN_EXPIRY_MS ||
      expireMs > nowMs + MAX_EXPIRY_MS
    ) {
      return reject(
        "expiry_invalid",
        `expireAtSec must be a whole second from 5 s to 30 days ahead, got ${expire} (now ${
          Math.floor(nowMs / 1000)
        })`,
        "expireAtSec",
      );
    }
  } else if (expire !== undefined) {
    return reject(
      "expiry_invalid",
      `expireAtSec is only used with timeInForce GTD, got timeInForce ${
        tif ?? "GTC"
      }`,
      "expireAtSec",
    );
  }
  if (order.leverage !== undefined) {
    const offered = order.side === "buy" ? pair.leverageBuy : pair.leverageSell;
    if (!offered.includes(order.leverage)) {
      return reject(
        "leverage_invalid",
        `leverage ${order.leverage} is not offered for ${order.side}s on ${pair.id} (offered: ${
          offered.length === 0 ? "none" : offered.join(", ")
        })`,
        "leverage",
      );
    }
  }
  if (order.clientRef !== undefined) {
    const problem = clientRefProblem(order.clientRef);
    if (problem !== null) {
      return reject("client_ref_invalid", problem, "clientRef");
    }
    if (order.clientRef.kind === "cl_ord_id" && order.stopLoss !== undefined) {
      return reject(
        "client_ref_invalid",
        "cl_ord_id cannot be combined with an attached stop-loss (Kraken refuses it); use a userref",
        "clientRef",
      );
    }
  }
  return null;
}

function stopLossShapeProblem(
  order: OrderRequest,
  pair: PairMetadata,
): Rejection | null {
  const stop = order.stopLoss;
  if (stop === undefined) return null;
  if (stop.type !== "stop-loss" && stop.type !== "stop-loss-limit") {
    return reject(
      "stop_loss_invalid",
      `stopLoss.type must be stop-loss or stop-loss-limit, got "${stop.type}"`,
      "stopLoss.type",
    );
  }
  const trigger = priceProblem(
    "stopLoss.triggerPrice",
    stop.triggerPrice,
    pair,
  );
  if (trigger !== null) return trigger;
  if (stop.type === "stop-loss-limit") {
    if (stop.limitPrice === undefined) {
      return reject(
        "stop_loss_invalid",
        "stopLoss.limitPrice is required for a stop-loss-limit",
        "stopLoss.limitPrice",
      );
    }
    return priceProblem("stopLoss.limitPrice", stop.limitPrice, pair);
  }
  return stop.limitPrice === undefined ? null : reject(
    "stop_loss_invalid",
    `stopLoss.limitPrice is only used by a stop-loss-limit, got "${stop.limitPrice}"`,
    "stopLoss.limitPrice",
  );
}

function costProblem(
  order: OrderRequest,
  pair: PairMetadata,
  referencePrice: string | undefined,
): Rejection | null {
  const price = expectedPrice(order, referencePrice);
  if (price === undefined) return null;
  const cost = multiplyDecimal(order.volume, price);
  return compareDecimal(cost, pair.costmin) >= 0 ? null : reject(
    "cost_below_costmin",
    `order cost ${cost} ${pair.quote} (volume ${order.volume} × price ${price}) is below the ${pair.id} minimum cost ${pair.costmin} ${pair.quote}`,
    "volume",
  );
}

/**
 * Whether a pair spelling names this pair: its id, altname, REST key, WS v1
 * name or WS v2 symbol, in any case.
 *
 * @param spelling The spelling.
 * @param pair The pair.
 * @returns `true` when it matches.
 * @example Match
 * ```ts
 * import { pairMatches } from "./validate.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const pair = { id: "XBTUSD", altname: "XBTUSD", restKey: "XXBTZUSD", wsV1: "XBT/USD", wsV2: "BTC/USD" };
 * pairMatches("btc/usd", pair as PairMetadata); // true
 * ```
 */
export function pairMatches(spelling: string, pair: PairMetadata): boolean {
  const wanted = spelling.toUpperCase();
  return [pair.id, pair.altname, pair.restKey, pair.wsV1, pair.wsV2].some(
    (name) => name.toUpperCase() === wanted,
  );
}

/**
 * Validates an order against its pair, without any I/O. Checks run in a
 * fixed order and the first problem is returned: pair, pair status, volume,
 * prices, iceberg display, flags (post-only, time in force, expiry,
 * leverage, client ref), stop-loss shape, cost minimum.
 *
 * @param order The order.
 * @param pair The pair's metadata.
 * @param options Clock and reference price.
 * @returns `null` when valid, otherwise the rejection naming the field.
 * @example A price with too many decimals
 * ```ts
 * import { validateOrder } from "./validate.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const pair = {
 *   id: "XBTUSD", altname: "XBTUSD", restKey: "XXBTZUSD", wsV1: "XBT/USD",
 *   wsV2: "BTC/USD", base: "BTC", quote: "USD", status: "online",
 *   priceDecimals: 1, volumeDecimals: 8, tickSize: "0.1", ordermin: "0.0001",
 *   costmin: "0.5", leverageBuy: [], leverageSell: [],
 * } as unknown as PairMetadata;
 * validateOrder(
 *   { pair: "XBTUSD", side: "buy", type: "limit", volume: "0.01", price: "25000.15" },
 *   pair,
 *   { nowMs: 0 },
 * )?.rule; // "price_decimals"
 * ```
 */
export function validateOrder(
  order: OrderRequest,
  pair: PairMetadata,
  options: ValidateOptions,
): Rejection | null {
  if (order.side !== "buy" && order.side !== "sell") {
    return reject(
      "order_invalid",
      `side must be buy or sell, got "${order.side}"`,
      "side",
    );
  }
  if (!ORDER_TYPES.includes(order.type)) {
    return reject(
      "order_invalid",
      `type must be one of ${ORDER_TYPES.join(", ")}, got "${order.type}"`,
      "type",
    );
  }
  if (!pairMatches(order.pair, pair)) {
    return reject(
      "pair_mismatch",
      `pair "${order.pair}" does not match the metadata of ${pair.id}`,
      "pair",
    );
  }
  return statusProblem(order, pair) ??
    volumeProblem(order, pair) ??
    pricesProblem(order, pair) ??
    displayProblem(order, pair) ??
    flagsProblem(order, pair, options.nowMs) ??
    stopLossShapeProblem(order, pair) ??
    costProblem(order, pair, options.referencePrice);
}
