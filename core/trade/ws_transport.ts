/**
 * Orders over the authenticated WebSocket v2 endpoint (WS_V2.md §4.3–§4.7):
 * `add_order`, `batch_add`, `amend_order`, `edit_order`, `cancel_order`,
 * `cancel_all`, `cancel_all_orders_after` and `batch_cancel`, matched to
 * their answers by `req_id` ({@linkcode PrivateWsSession}). When given the
 * REST client's {@linkcode RateLimiter}, each request is charged on the same
 * per-pair trading-engine counter as REST (Kraken shares it across REST, WS
 * and FIX), with the penalty for the order's age.
 *
 * @module
 */

import { record } from "../_record.ts";
import { KrakenError, LOCAL_CODES } from "../rest/errors.ts";
import {
  type Priority,
  type RateLimiter,
  type TradingAction,
} from "../rest/ratelimit.ts";
import type { MethodResponseFrame } from "../ws/protocol.ts";
import { addOrderWsParams, wsNumber } from "./encode.ts";
import type { PreparedOrder } from "./gates.ts";
import { checkDeadManTimeout } from "./rest_transport.ts";
import {
  type AddOrderAck,
  type AmendAck,
  type AmendRequest,
  batchPair,
  type BatchRowAck,
  type CancelAck,
  type CancelBatchRequest,
  cancelBatchSize,
  checkedTradingCostMargin,
  type CounterHints,
  type DeadManAck,
  type EditAck,
  type EditRequest,
  type OrderTarget,
  type OrderTransport,
  tradingCost,
  type TransportCallOptions,
} from "./transport.ts";
import type { PrivateWsSession, WsRequestOptions } from "./ws_session.ts";

/** Options of {@linkcode WsOrderTransport}. */
export interface WsOrderTransportOptions {
  /**
   * The REST client's limiter (one per API key): WS requests are charged on
   * the same trading-engine counters. Without it nothing is paced locally.
   */
  limiter?: RateLimiter;
  /**
   * Added to each trading-counter charge (default
   * `DEFAULT_TRADING_COST_MARGIN`); 0 charges Kraken's exact table.
   */
  tradingCostMargin?: number;
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function unexpected(method: string, what: string): KrakenError {
  return new KrakenError(
    `Kraken ${method} answer has an unexpected shape: ${what}`,
    { codes: [LOCAL_CODES.unexpectedResult], method },
  );
}

function first(method: string, frames: MethodResponseFrame[]): unknown {
  const frame = frames[0];
  if (frame === undefined || !frame.success) {
    throw unexpected(method, "no successful answer");
  }
  return frame.result;
}

function count(method: string, result: unknown): number {
  const value = Number(record(result).count);
  if (!Number.isInteger(value) || value < 0) throw unexpected(method, "count");
  return value;
}

/** The WS form of one batch order: add_order fields without `symbol`. */
function batchOrder(prepared: PreparedOrder): Record<string, unknown> {
  const { symbol: _symbol, ...rest } = addOrderWsParams(
    prepared.order,
    prepared.pair,
  );
  delete (rest as { validate?: boolean }).validate;
  return rest;
}

function optionalNumbers(
  fields: Record<string, string | undefined>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) out[name] = wsNumber(name, value);
  }
  return out;
}

/**
 * Sends orders over the private WebSocket session.
 *
 * @example Place over WS
 * ```ts ignore
 * import { WsOrderTransport } from "./ws_transport.ts";
 * const transport = new WsOrderTransport(session, { limiter });
 * const { orderId } = await transport.addOrder(prepared);
 * ```
 */
export class WsOrderTransport implements OrderTransport {
  /** Always `ws`. */
  readonly kind = "ws" as const;
  #session: PrivateWsSession;
  #limiter: RateLimiter | undefined;
  #margin: number;

  /**
   * Creates the transport.
   *
   * @param session The authenticated session (connect it before use).
   * @param options The shared limiter and the trading-counter margin.
   * @throws {RangeError} For a negative margin.
   */
  constructor(
    session: PrivateWsSession,
    options: WsOrderTransportOptions = {},
  ) {
    this.#session = session;
    this.#limiter = options.limiter;
    this.#margin = checkedTradingCostMargin(options.tradingCostMargin);
  }

  /**
   * `add_order`.
   *
   * @param prepared The gated order.
   * @param options Abort signal.
   * @returns The order id (`null` for validate-only: Kraken answers `""`).
   * @throws {KrakenError} Kraken's refusal or a transport failure.
   * @throws {RangeError} When a decimal cannot travel as a JSON number.
   */
  async addOrder(
    prepared: PreparedOrder,
    options?: TransportCallOptions,
  ): Promise<AddOrderAck> {
    const params = addOrderWsParams(prepared.order, prepared.pair);
    const { frames } = await this.#request(
      "add_order",
      params as unknown as Record<string, unknown>,
      this.#charge("add", { pair: prepared.pair.id }, "order"),
      options,
    );
    const id = text(record(first("add_order", frames)).order_id);
    const orderId = id === undefined || id === "" ? null : id;
    if (orderId === null && prepared.order.validateOnly !== true) {
      throw unexpected("add_order", "no order_id");
    }
    return { orderId };
  }

  /**
   * `batch_add` (one symbol, 2–15 orders).
   *
   * @param prepared The gated orders.
   * @param options Abort signal.
   * @returns One row per order in request order.
   * @throws {RangeError} For a bad batch.
   * @throws {KrakenError} When the batch was refused.
   */
  async addOrderBatch(
    prepared: readonly PreparedOrder[],
    options?: TransportCallOptions,
  ): Promise<BatchRowAck[]> {
    const pair = batchPair(prepared);
    const params: Record<string, unknown> = {
      symbol: pair.wsV2,
      orders: prepared.map(batchOrder),
    };
    if (prepared.every((p) => p.order.validateOnly === true)) {
      params.validate = true;
    }
    const { frames } = await this.#request(
      "batch_add",
      params,
      this.#charge("batch_add", { pair: pair.id }, "order", prepared.length),
      options,
    );
    const rows = first("batch_add", frames);
    if (!Array.isArray(rows)) throw unexpected("batch_add", "no result array");
    return prepared.map((_, i) => {
      const row = record(rows[i]);
      const error = text(row.error) ?? null;
      const id = text(row.order_id);
      return {
        orderId: error === null && id !== undefined && id !== "" ? id : null,
        error,
      };
    });
  }

  /**
   * `amend_order`.
   *
   * @param request Target, new values, pair and age.
   * @param options Abort signal.
   * @returns The amend id.
   * @throws {KrakenError} On refusal or failure.
   */
  async amendOrder(
    request: AmendRequest,
    options?: TransportCallOptions,
  ): Promise<AmendAck> {
    const target = "orderId" in request.target
      ? { "order_id": request.target.orderId }
      : { "cl_ord_id": request.target.clOrdId };
    const params: Record<string, unknown> = {
      ...target,
      ...optionalNumbers({
        "order_qty": request.orderQty,
        "display_qty": request.displayQty,
        "limit_price": request.limitPrice,
        "trigger_price": request.triggerPrice,
      }),
    };
    if (request.postOnly !== undefined) params.post_only = request.postOnly;
    const { frames } = await this.#request(
      "amend_order",
      params,
      this.#charge("amend", request, "order"),
      options,
    );
    const amendId = text(record(first("amend_order", frames)).amend_id);
    if (amendId === undefined) throw unexpected("amend_order", "no amend_id");
    return { amendId };
  }

  /**
   * `edit_order` (cancel and replace; new order id).
   *
   * @param request Target, pair and new values.
   * @param options Abort signal.
   * @returns The new and original ids.
   * @throws {KrakenError} On refusal or failure.
   */
  async editOrder(
    request: EditRequest,
    options?: TransportCallOptions,
  ): Promise<EditAck> {
    const params: Record<string, unknown> = {
      "order_id": request.orderId,
      symbol: request.pair.wsV2,
      ...optionalNumbers({
        "order_qty": request.volume,
        "limit_price": request.price,
      }),
    };
    if (request.postOnly !== undefined) params.post_only = request.postOnly;
    const hints: CounterHints = { pair: request.pair.id };
    if (request.ageMs !== undefined) hints.ageMs = request.ageMs;
    const { frames } = await this.#request(
      "edit_order",
      params,
      this.#charge("edit", hints, "order"),
      options,
    );
    const result = record(first("edit_order", frames));
    const orderId = text(result.order_id);
    if (orderId === undefined) throw unexpected("edit_order", "no order_id");
    return {
      orderId,
      originalOrderId: text(result.original_order_id) ?? request.orderId,
    };
  }

  /**
   * `cancel_order` for one order id, client order id or userref. Kraken
   * answers once per cancelled order; the first answer settles the call, so
   * a userref that cancels several orders still reports a count of 1.
   *
   * @param target The order.
   * @param hints Pair, age and abort signal.
   * @returns The count.
   * @throws {KrakenError} When Kraken refused (e.g. `EOrder:Invalid order`).
   */
  async cancelOrder(
    target: OrderTarget,
    hints: CounterHints & TransportCallOptions = {},
  ): Promise<CancelAck> {
    const params = "orderId" in target
      ? { "order_id": [target.orderId] }
      : "clOrdId" in target
      ? { "cl_ord_id": [target.clOrdId] }
      : { "order_userref": [target.userref] };
    const { frames } = await this.#request(
      "cancel_order",
      params,
      this.#charge("cancel", hints, "cancel"),
      hints,
    );
    return { count: frames.filter((f) => f.success).length };
  }

  /**
   * `batch_cancel` (up to 50 ids).
   *
   * @param request The ids, pair and age.
   * @param options Abort signal.
   * @returns The count.
   * @throws {RangeError} For no ids or more than 50.
   * @throws {KrakenError} On refusal or failure.
   */
  async cancelOrderBatch(
    request: CancelBatchRequest,
    options?: TransportCallOptions,
  ): Promise<CancelAck> {
    const n = cancelBatchSize(request);
    const params: Record<string, unknown> = {};
    if (request.orderIds !== undefined && request.orderIds.length > 0) {
      params.orders = [...request.orderIds];
    }
    if (request.clOrdIds !== undefined && request.clOrdIds.length > 0) {
      params.cl_ord_id = [...request.clOrdIds];
    }
    const { frames } = await this.#request(
      "batch_cancel",
      params,
      this.#charge("batch_cancel", request, "cancel", n),
      options,
    );
    return { count: count("batch_cancel", first("batch_cancel", frames)) };
  }

  /**
   * `cancel_all`.
   *
   * @param options Abort signal.
   * @returns The count.
   * @throws {KrakenError} On refusal or failure.
   */
  async cancelAll(options?: TransportCallOptions): Promise<CancelAck> {
    const { frames } = await this.#request(
      "cancel_all",
      {},
      this.#charge("cancel_all", {}, "cancel"),
      options,
    );
    return { count: count("cancel_all", first("cancel_all", frames)) };
  }

  /**
   * `cancel_all_orders_after` (0 disarms).
   *
   * @param timeoutSec Countdown, 0–86 399 s.
   * @param options Abort signal.
   * @returns Server and trigger times.
   * @throws {RangeError} For a timeout out of range.
   * @throws {KrakenError} On refusal or failure.
   */
  async cancelAllOrdersAfter(
    timeoutSec: number,
    options?: TransportCallOptions,
  ): Promise<DeadManAck> {
    checkDeadManTimeout(timeoutSec);
    const { frames } = await this.#request(
      "cancel_all_orders_after",
      { timeout: timeoutSec },
      this.#charge("cancel_all_after", {}, "cancel"),
      options,
    );
    const result = record(first("cancel_all_orders_after", frames));
    return {
      currentTime: text(result.currentTime) ?? "",
      triggerTime: text(result.triggerTime) ?? "0",
    };
  }

  #charge(
    action: TradingAction,
    hints: CounterHints,
    priority: Priority,
    n = 1,
  ): (signal: AbortSignal | undefined) => Promise<void> {
    const limiter = this.#limiter;
    const cost = tradingCost(action, hints, this.#margin, n);
    return (signal) =>
      limiter === undefined ? Promise.resolve() : limiter.schedule({
        counter: "trading",
        cost,
        priority,
        pair: hints.pair ?? "*",
        ...(signal === undefined ? {} : { signal }),
      });
  }

  #request(
    method: string,
    params: Record<string, unknown>,
    charge: (signal: AbortSignal | undefined) => Promise<void>,
    options: TransportCallOptions | undefined,
  ) {
    const signal = options?.signal;
    const request: WsRequestOptions = {
      beforeSend: () => charge(signal),
    };
    if (signal !== undefined) request.signal = signal;
    return this.#session.request(method, params, request);
  }
}
