/**
 * The order model shared by validation, the safety gates, the wire encoders,
 * the lifecycle machine and the paper broker.
 *
 * An {@linkcode OrderRequest} is what a user asks for, with every price and
 * volume as exact decimal text. Prices are absolute (no `+`/`-`/`#`
 * relative forms), except the trailing-stop offset, which is relative by
 * definition ({@linkcode TrailingOffset}). Every order carries a
 * {@linkcode ClientRef} before it is sent, so that a lost answer can be
 * reconciled by `userref` or `cl_ord_id` instead of resent blindly.
 *
 * @module
 */

/** Order side. */
export type OrderSide = "buy" | "sell";

/** The order types Krakked places (REST.md §4.1, WS_V2.md §4.3). */
export type OrderType =
  | "market"
  | "limit"
  | "iceberg"
  | "stop-loss"
  | "take-profit"
  | "stop-loss-limit"
  | "take-profit-limit"
  | "trailing-stop";

/** Every order type, in documentation order. */
export const ORDER_TYPES: readonly OrderType[] = Object.freeze([
  "market",
  "limit",
  "iceberg",
  "stop-loss",
  "take-profit",
  "stop-loss-limit",
  "take-profit-limit",
  "trailing-stop",
]);

/** Time in force: good till cancelled, immediate or cancel, good till date. */
export type TimeInForce = "GTC" | "IOC" | "GTD";

/**
 * What an order is for. An `entry` opens or adds to a position and must
 * carry a stop-loss; an `exit` only reduces an existing position.
 */
export type OrderIntent = "entry" | "exit";

/** The close order types Krakked attaches as a protective stop. */
export type StopLossType = "stop-loss" | "stop-loss-limit";

/**
 * The protective stop attached to an entry (Kraken's conditional close:
 * REST `close[ordertype]`/`close[price]`/`close[price2]`, WS v2
 * `conditional`). Kraken creates it on the opposite side for each executed
 * quantity of the entry.
 */
export interface StopLoss {
  /** `stop-loss` (market on trigger) or `stop-loss-limit`. */
  type: StopLossType;
  /** Trigger price, exact decimal text. */
  triggerPrice: string;
  /** Limit price once triggered; required for `stop-loss-limit` only. */
  limitPrice?: string;
}

/**
 * A trailing-stop distance: an amount in quote currency (`unit: "quote"`) or
 * a percentage (`unit: "pct"`) from the best price since placement.
 */
export interface TrailingOffset {
  /** Positive decimal text. */
  amount: string;
  /** `quote` (price units) or `pct` (percent). */
  unit: "quote" | "pct";
}

/**
 * The client's own handle on an order, allocated before sending: `userref`
 * (signed int32, not unique on Kraken's side) or `cl_ord_id` (unique among
 * open orders). Kraken refuses `cl_ord_id` together with a conditional close
 * (REST.md §4.2, WS_V2.md §4.3), so entries use `userref`.
 */
export type ClientRef =
  | { kind: "userref"; userref: number }
  | { kind: "cl_ord_id"; clOrdId: string };

/** A user's order, before validation. Decimal values are exact text. */
export interface OrderRequest {
  /** Canonical pair id (REST altname, `XBTUSD`). */
  pair: string;
  /** `buy` or `sell`. */
  side: OrderSide;
  /** Order type. */
  type: OrderType;
  /** Base quantity (`volume` / `order_qty`). */
  volume: string;
  /**
   * Limit price (`limit`, `iceberg`) or trigger price (`stop-loss`,
   * `take-profit`, `*-limit`). Not used by `market` and `trailing-stop`.
   */
  price?: string;
  /** Limit price of `stop-loss-limit` / `take-profit-limit` once triggered. */
  price2?: string;
  /** Trailing distance of a `trailing-stop`. */
  trailingOffset?: TrailingOffset;
  /** Visible quantity of an `iceberg` (≥ volume / 15). */
  displayVolume?: string;
  /** Entry (default) or exit. */
  intent?: OrderIntent;
  /** Protective stop; required on every entry. */
  stopLoss?: StopLoss;
  /** Post-only: rejected if it would take liquidity (limit types). */
  postOnly?: boolean;
  /** Reduce-only (margin positions only). */
  reduceOnly?: boolean;
  /**
   * The currency the fee is taken in (REST `oflags` `fcib`/`fciq`, WS
   * `fee_preference`). Kraken's default is quote for buys and base for
   * sells; exits ask for quote so a sale takes exactly its volume from the
   * holding. The paper broker always charges the quote.
   */
  feeIn?: "base" | "quote";
  /** Margin leverage (e.g. `2`); margin only. */
  leverage?: number;
  /** Time in force (Kraken's default is GTC). */
  timeInForce?: TimeInForce;
  /** Expiry for GTD, Unix seconds. */
  expireAtSec?: number;
  /** Trigger signal for stops (`last` is Kraken's default). */
  trigger?: "last" | "index";
  /** The client handle; allocated by the gate when absent. */
  clientRef?: ClientRef;
  /** Ask Kraken to validate only (REST/WS `validate`). */
  validateOnly?: boolean;
}

/** An order after validation and the gates, with its client ref allocated. */
export interface CheckedOrder extends OrderRequest {
  /** Always set. */
  intent: OrderIntent;
  /** Always set. */
  clientRef: ClientRef;
}

/** Order types priced with a limit (`price` for limit/iceberg, `price2` otherwise). */
export const LIMIT_PRICED_TYPES: ReadonlySet<OrderType> = new Set([
  "limit",
  "iceberg",
  "stop-loss-limit",
  "take-profit-limit",
]);

/** Order types whose `price` is a trigger. */
export const TRIGGERED_TYPES: ReadonlySet<OrderType> = new Set([
  "stop-loss",
  "take-profit",
  "stop-loss-limit",
  "take-profit-limit",
  "trailing-stop",
]);

const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;
const LONG_UUID =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHORT_UUID = /^[0-9a-f]{32}$/i;
const FREE_TEXT = /^[\x20-\x7e]{1,18}$/;

/**
 * Checks a client ref against Kraken's formats: `userref` a signed int32;
 * `cl_ord_id` a long UUID, a 32-hex short UUID or printable ASCII of at most
 * 18 characters.
 *
 * @param ref The client ref.
 * @returns `null` when valid, otherwise what is wrong.
 * @example Check a cl_ord_id
 * ```ts
 * import { clientRefProblem } from "./order.ts";
 * clientRefProblem({ kind: "cl_ord_id", clOrdId: "bot-20250304-0001" }); // null
 * ```
 */
export function clientRefProblem(ref: ClientRef): string | null {
  if (ref.kind === "userref") {
    return Number.isInteger(ref.userref) && ref.userref >= INT32_MIN &&
        ref.userref <= INT32_MAX
      ? null
      : `userref must be a signed 32-bit integer, got ${ref.userref}`;
  }
  const id = ref.clOrdId;
  return LONG_UUID.test(id) || SHORT_UUID.test(id) || FREE_TEXT.test(id)
    ? null
    : `cl_ord_id must be a UUID, 32 hex digits or at most 18 printable ASCII characters, got "${id}"`;
}

/** Options of {@linkcode allocateClientRef}. */
export interface AllocateClientRefOptions {
  /** A random UUID source (default `crypto.randomUUID`). */
  randomUuid?: () => string;
}

/**
 * Allocates a fresh client ref for an order: a positive random `userref`
 * when the order carries a stop-loss (Kraken refuses `cl_ord_id` with a
 * conditional close), otherwise a short-UUID `cl_ord_id` (32 hex digits).
 * Call it again for a resend after `not_placed`: a resend needs a NEW ref.
 *
 * @param order The order (only `stopLoss` is read).
 * @param options The random source.
 * @returns The client ref.
 * @example Allocate
 * ```ts
 * import { allocateClientRef } from "./order.ts";
 * const ref = allocateClientRef({}, {
 *   randomUuid: () => "6d1b345e-2821-40e2-ad83-4ecb18a06876",
 * });
 * ref; // { kind: "cl_ord_id", clOrdId: "6d1b345e282140e2ad834ecb18a06876" }
 * ```
 */
export function allocateClientRef(
  order: Pick<OrderRequest, "stopLoss">,
  options: AllocateClientRefOptions = {},
): ClientRef {
  const uuid = (options.randomUuid ?? (() => crypto.randomUUID()))();
  const hex = uuid.replaceAll("-", "").toLowerCase();
  if (!SHORT_UUID.test(hex)) {
    throw new TypeError(`Cannot allocate a client ref from "${uuid}"`);
  }
  if (order.stopLoss !== undefined) {
    // 31 random bits; 0 means "no userref" on Kraken, so skip it.
    const userref = Number.parseInt(hex.slice(0, 8), 16) & INT32_MAX;
    return { kind: "userref", userref: userref === 0 ? 1 : userref };
  }
  return { kind: "cl_ord_id", clOrdId: hex };
}

/**
 * Describes a client ref for logs and messages (`userref 42`).
 *
 * @param ref The client ref.
 * @returns Short text.
 * @example Describe
 * ```ts
 * import { describeClientRef } from "./order.ts";
 * describeClientRef({ kind: "userref", userref: 42 }); // "userref 42"
 * ```
 */
export function describeClientRef(ref: ClientRef): string {
  return ref.kind === "userref"
    ? `userref ${ref.userref}`
    : `cl_ord_id ${ref.clOrdId}`;
}
