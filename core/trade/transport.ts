/**
 * The contract every order transport fulfils (REST in `rest_transport.ts`,
 * WebSocket v2 in `ws_transport.ts`), so {@linkcode OrderClient} drives
 * either one the same way.
 *
 * A transport sends exactly once and never retries: a lost answer leaves the
 * outcome unknown and the caller reconciles (lifecycle.ts). Failures are
 * {@linkcode KrakenError}s: Kraken's own string in `code` when Kraken
 * answered, a `Krakked:` code otherwise. {@linkcode NOT_SENT_CODE} marks a
 * request that provably never left the process, so it can be resent with a
 * new client ref without reconciling.
 *
 * @module
 */

import type { PairMetadata } from "../market/pairs.ts";
import { KrakenError } from "../rest/errors.ts";
import { type TradingAction, tradingPenalty } from "../rest/ratelimit.ts";
import type { PreparedOrder } from "./gates.ts";

/** Which wire a transport uses. */
export type TransportKind = "rest" | "ws";

/** The answer to a single placement. */
export interface AddOrderAck {
  /** Kraken's order id; `null` for a validate-only request. */
  orderId: string | null;
  /** Kraken's description of the order (REST `descr.order`), when sent. */
  description?: string;
}

/** One row of a batch placement, in request order. */
export interface BatchRowAck {
  /** Kraken's order id, when that row was placed. */
  orderId: string | null;
  /** The row's own error (e.g. `EOrder:Insufficient funds`), when it failed. */
  error: string | null;
}

/** Which order(s) a cancel or amend is about. */
export type OrderTarget =
  | { orderId: string }
  | { clOrdId: string }
  | { userref: number };

/** Trading-counter details of a request about an existing order. */
export interface CounterHints {
  /**
   * Canonical pair id (REST altname), for the per-pair trading counter.
   * Unknown pairs are charged on the account-wide `*` lane.
   */
  pair?: string;
  /**
   * Age of the order acted on (since placed or last amended), ms. Unknown
   * ages are charged at the most expensive column (REST.md §7.2).
   */
  ageMs?: number;
}

/** An in-place amend (REST `AmendOrder`, WS `amend_order`). */
export interface AmendRequest extends CounterHints {
  /** The order: by Kraken id or by `cl_ord_id`. */
  target: { orderId: string } | { clOrdId: string };
  /** New order quantity (base), decimal text. */
  orderQty?: string;
  /** New iceberg display quantity. */
  displayQty?: string;
  /** New limit price. */
  limitPrice?: string;
  /** New trigger price. */
  triggerPrice?: string;
  /** Refuse a price change that would take liquidity. */
  postOnly?: boolean;
}

/** The answer to an amend. */
export interface AmendAck {
  /** Kraken's amend id. */
  amendId: string;
}

/** A legacy cancel-and-replace (REST `EditOrder`, WS `edit_order`). */
export interface EditRequest {
  /** The order's Kraken id. */
  orderId: string;
  /** The order's pair (cannot change). */
  pair: PairMetadata;
  /** Age of the order, ms (trading counter). */
  ageMs?: number;
  /** New volume (base). */
  volume?: string;
  /** New price (limit or trigger, as for the order type). */
  price?: string;
  /** New secondary price. */
  price2?: string;
  /** New post-only flag. */
  postOnly?: boolean;
}

/** The answer to an edit: a new order replaces the old one. */
export interface EditAck {
  /** The new order's id. */
  orderId: string;
  /** The cancelled order's id. */
  originalOrderId: string;
}

/** The answer to a cancel. */
export interface CancelAck {
  /** Orders cancelled. */
  count: number;
  /** REST `pending`: the cancel is still being processed. */
  pending?: boolean;
}

/** A batch cancel (REST `CancelOrderBatch`, WS `batch_cancel`). */
export interface CancelBatchRequest extends CounterHints {
  /** Kraken order ids (or userrefs as text). */
  orderIds?: readonly string[];
  /** Client order ids. */
  clOrdIds?: readonly string[];
}

/** The answer to `CancelAllOrdersAfter` / `cancel_all_orders_after`. */
export interface DeadManAck {
  /** Server time, RFC 3339. */
  currentTime: string;
  /** When everything is cancelled, RFC 3339; `"0"` when disarmed. */
  triggerTime: string;
}

/** Per-call options. */
export interface TransportCallOptions {
  /** Abort waiting (in the limiter or for the socket); a sent request stays sent. */
  signal?: AbortSignal;
}

/**
 * Sends orders and cancels to Kraken. Implementations: REST
 * (`RestOrderTransport`) and WebSocket v2 (`WsOrderTransport`).
 */
export interface OrderTransport {
  /** Which wire. */
  readonly kind: TransportKind;
  /**
   * Places one order that passed the gate.
   *
   * @param prepared The order.
   * @param options Abort signal.
   * @returns Kraken's order id.
   * @throws {KrakenError} Kraken's refusal, or a local failure.
   */
  addOrder(
    prepared: PreparedOrder,
    options?: TransportCallOptions,
  ): Promise<AddOrderAck>;
  /**
   * Places 2–15 orders on one pair at once.
   *
   * @param prepared The orders (same pair).
   * @param options Abort signal.
   * @returns One row per order, in request order.
   * @throws {KrakenError} When the whole batch was refused.
   * @throws {RangeError} For a batch size or pair mix Kraken refuses.
   */
  addOrderBatch(
    prepared: readonly PreparedOrder[],
    options?: TransportCallOptions,
  ): Promise<BatchRowAck[]>;
  /**
   * Amends an order in place.
   *
   * @param request Target and new values.
   * @param options Abort signal.
   * @returns The amend id.
   * @throws {KrakenError} On refusal or failure.
   */
  amendOrder(
    request: AmendRequest,
    options?: TransportCallOptions,
  ): Promise<AmendAck>;
  /**
   * Cancels and replaces an order (legacy; prefer amend).
   *
   * @param request Target and new values.
   * @param options Abort signal.
   * @returns The new and old ids.
   * @throws {KrakenError} On refusal or failure.
   */
  editOrder(
    request: EditRequest,
    options?: TransportCallOptions,
  ): Promise<EditAck>;
  /**
   * Cancels one order (or every order with a userref).
   *
   * @param target The order.
   * @param hints Pair and age for the trading counter.
   * @returns How many were cancelled.
   * @throws {KrakenError} On refusal or failure.
   */
  cancelOrder(
    target: OrderTarget,
    hints?: CounterHints & TransportCallOptions,
  ): Promise<CancelAck>;
  /**
   * Cancels up to 50 orders at once.
   *
   * @param request The ids.
   * @param options Abort signal.
   * @returns How many were cancelled.
   * @throws {KrakenError} On refusal or failure.
   */
  cancelOrderBatch(
    request: CancelBatchRequest,
    options?: TransportCallOptions,
  ): Promise<CancelAck>;
  /**
   * Cancels every open order.
   *
   * @param options Abort signal.
   * @returns How many were cancelled.
   * @throws {KrakenError} On refusal or failure.
   */
  cancelAll(options?: TransportCallOptions): Promise<CancelAck>;
  /**
   * Arms (or with 0, disarms) the dead-man switch.
   *
   * @param timeoutSec Countdown, seconds (< 86 400; 0 disarms).
   * @param options Abort signal.
   * @returns Server and trigger times.
   * @throws {KrakenError} On refusal or failure.
   */
  cancelAllOrdersAfter(
    timeoutSec: number,
    options?: TransportCallOptions,
  ): Promise<DeadManAck>;
}

/**
 * Added to every trading-counter charge the transports make. The limiter
 * lets a request go the instant the counter has room, but Kraken charges
 * on receipt: when one request travels faster than the one before it, the
 * exchange sees the two closer together than the limiter did and its
 * counter is that much fuller (3.75/s × the jitter at Pro tier). 0.05 per
 * transaction covers ≈13 ms of jitter at Pro tier, at the price of ≈5 %
 * of the sustained rate once a pair's counter is saturated.
 */
export const DEFAULT_TRADING_COST_MARGIN = 0.05;

/** Code of a request that never left the process (safe to resend anew). */
export const NOT_SENT_CODE = "Krakked:Not sent";

/** Code of a request whose connection closed before the answer came. */
export const CONNECTION_LOST_CODE = "Krakked:Connection lost";

/**
 * A failure for a request that provably never reached Kraken.
 *
 * @param what The request, e.g. `add_order`.
 * @param why Why it was not sent.
 * @param cause The underlying error (never anything holding a secret).
 * @returns A `network` {@linkcode KrakenError} with {@linkcode NOT_SENT_CODE}.
 * @example Not sent
 * ```ts
 * import { notSentError } from "./transport.ts";
 * notSentError("add_order", "the socket never opened").code; // "Krakked:Not sent"
 * ```
 */
export function notSentError(
  what: string,
  why: string,
  cause?: unknown,
): KrakenError {
  return new KrakenError(`Kraken ${what} request was not sent: ${why}`, {
    codes: [NOT_SENT_CODE],
    method: what,
    kind: "network",
    retryable: false,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Whether an error proves that the request never left the process: a
 * {@linkcode notSentError}, a local refusal before any I/O (method not
 * allowed, no credentials, unusable secret) or a non-Kraken error thrown
 * before sending (a closed rate limiter, bad parameters).
 *
 * @param error What the transport threw.
 * @returns `true` when nothing was sent.
 * @example Classify
 * ```ts
 * import { notSentError, wasNeverSent } from "./transport.ts";
 * wasNeverSent(notSentError("add_order", "closed")); // true
 * ```
 */
export function wasNeverSent(error: unknown): boolean {
  if (!(error instanceof KrakenError)) return true;
  return [
    NOT_SENT_CODE,
    "Krakked:Method not allowed",
    "Krakked:No credentials",
    "Krakked:Invalid secret",
  ].includes(error.code);
}

/**
 * Checks a batch: 2–15 orders, one pair.
 *
 * @param prepared The orders.
 * @returns The pair.
 * @throws {RangeError} For a size out of range or mixed pairs.
 * @example Check
 * ```ts ignore
 * batchPair([a, b]).id; // "XBTUSD"
 * ```
 */
export function batchPair(prepared: readonly PreparedOrder[]): PairMetadata {
  if (prepared.length < 2 || prepared.length > 15) {
    throw new RangeError(
      `An order batch takes 2 to 15 orders, got ${prepared.length}`,
    );
  }
  const pair = prepared[0]!.pair;
  const other = prepared.find((p) => p.pair.id !== pair.id);
  if (other !== undefined) {
    throw new RangeError(
      `An order batch takes one pair, got ${pair.id} and ${other.pair.id}`,
    );
  }
  return pair;
}

/**
 * Checks a batch cancel: 1–50 ids in total (Kraken asks for at least 2 on
 * WS; one id is sent as is and Kraken decides).
 *
 * @param request The ids.
 * @returns How many ids.
 * @throws {RangeError} When there are none or more than 50.
 * @example Count
 * ```ts
 * import { cancelBatchSize } from "./transport.ts";
 * cancelBatchSize({ orderIds: ["OA", "OB"] }); // 2
 * ```
 */
export function cancelBatchSize(request: CancelBatchRequest): number {
  const n = (request.orderIds?.length ?? 0) + (request.clOrdIds?.length ?? 0);
  if (n < 1 || n > 50) {
    throw new RangeError(`A batch cancel takes 1 to 50 ids, got ${n}`);
  }
  return n;
}

/**
 * The trading-counter margin of a transport's options, checked.
 *
 * @param margin `tradingCostMargin` as given (default {@linkcode DEFAULT_TRADING_COST_MARGIN}).
 * @returns The margin.
 * @throws {RangeError} For a negative or non-numeric margin.
 * @example Default
 * ```ts
 * import { checkedTradingCostMargin } from "./transport.ts";
 * checkedTradingCostMargin(undefined); // 0.05
 * ```
 */
export function checkedTradingCostMargin(margin: number | undefined): number {
  const value = margin ?? DEFAULT_TRADING_COST_MARGIN;
  if (!(value >= 0)) {
    throw new RangeError(`tradingCostMargin must be ≥ 0, got ${value}`);
  }
  return value;
}

/**
 * What one trading call costs on the per-pair counter: Kraken's penalty for
 * the action at the order's age, times `n` for batches, plus the margin.
 *
 * @param action The trading action.
 * @param hints The order's age (0 when unknown: the worst case).
 * @param margin The transport's margin.
 * @param n Orders in a batch.
 * @returns The cost to charge.
 * @example Cancel of a fresh order
 * ```ts
 * import { tradingCost } from "./transport.ts";
 * tradingCost("cancel", {}, 0); // 8
 * ```
 */
export function tradingCost(
  action: TradingAction,
  hints: CounterHints,
  margin: number,
  n = 1,
): number {
  return tradingPenalty(action, hints.ageMs ?? 0, n) + margin;
}
