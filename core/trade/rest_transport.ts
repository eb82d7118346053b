/**
 * Orders over REST: `AddOrder`, `AddOrderBatch`, `AmendOrder`, `EditOrder`,
 * `CancelOrder`, `CancelOrderBatch`, `CancelAll` and `CancelAllOrdersAfter`
 * through {@linkcode RestClient.callPrivate}, which signs, paces and never
 * retries them. Each call is charged on the pair's trading-engine counter
 * with the penalty for the order's age (REST.md §7.2), so cancels of old
 * orders do not wait for the worst case.
 *
 * @module
 */

import { record } from "../_record.ts";
import type { CallParams, RestAnswer } from "../rest/client.ts";
import { KrakenError, LOCAL_CODES } from "../rest/errors.ts";
import type { TradingAction } from "../rest/ratelimit.ts";
import { addOrderRestParams, type FormPair } from "./encode.ts";
import type { PreparedOrder } from "./gates.ts";
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

/** The part of `RestClient` the transport uses. */
export interface PrivateCaller {
  /**
   * Calls a private method once (trading methods are never retried).
   *
   * @param method Kraken method name.
   * @param params Body parameters.
   * @param options Signal, pair and trading cost.
   * @returns The result.
   */
  callPrivate(
    method: string,
    params?: CallParams,
    options?: { signal?: AbortSignal; pair?: string; tradingCost?: number },
  ): Promise<RestAnswer<unknown>>;
}

function unexpected(method: string, what: string): KrakenError {
  return new KrakenError(
    `Kraken ${method} answer has an unexpected shape: ${what}`,
    { codes: [LOCAL_CODES.unexpectedResult], method },
  );
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function count(method: string, result: unknown): number {
  const value = Number(record(result).count);
  if (!Number.isInteger(value) || value < 0) throw unexpected(method, "count");
  return value;
}

/** Form pairs to an ordered params object (flat keys such as `close[price]`). */
function paramsOf(pairs: readonly FormPair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) out[name] = String(value);
  return out;
}

/** One `AddOrderBatch` order: AddOrder fields without `pair`, close nested. */
function batchOrder(prepared: PreparedOrder): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const close: Record<string, string> = {};
  for (
    const [name, value] of addOrderRestParams(prepared.order, prepared.pair)
  ) {
    if (name === "pair" || name === "validate") continue;
    const nested = /^close\[(\w+)\]$/.exec(name);
    if (nested !== null) close[nested[1]!] = String(value);
    else if (name === "userref") out.userref = Number(value);
    else out[name] = String(value);
  }
  if (Object.keys(close).length > 0) out.close = close;
  return out;
}

function targetParams(target: OrderTarget): CallParams {
  if ("orderId" in target) return { txid: target.orderId };
  if ("clOrdId" in target) return { "cl_ord_id": target.clOrdId };
  return { userref: target.userref };
}

/** Options of {@linkcode RestOrderTransport}. */
export interface RestOrderTransportOptions {
  /**
   * Added to each trading-counter charge (default
   * `DEFAULT_TRADING_COST_MARGIN`); 0 charges Kraken's exact table.
   */
  tradingCostMargin?: number;
}

function withSignal<T extends object>(
  base: T,
  options: TransportCallOptions | undefined,
): T & { signal?: AbortSignal } {
  return options?.signal === undefined
    ? base
    : { ...base, signal: options.signal };
}

/**
 * Sends orders over signed REST calls.
 *
 * @example Place and cancel
 * ```ts ignore
 * import { RestOrderTransport } from "./rest_transport.ts";
 * const transport = new RestOrderTransport(restClient);
 * const { orderId } = await transport.addOrder(prepared);
 * await transport.cancelOrder({ orderId: orderId! }, { pair: "XBTUSD", ageMs: 12_000 });
 * ```
 */
export class RestOrderTransport implements OrderTransport {
  /** Always `rest`. */
  readonly kind = "rest" as const;
  #rest: PrivateCaller;
  #margin: number;

  /**
   * Creates the transport.
   *
   * @param rest A `RestClient` with credentials (share its limiter per key).
   * @param options The trading-counter margin.
   * @throws {RangeError} For a negative margin.
   */
  constructor(rest: PrivateCaller, options: RestOrderTransportOptions = {}) {
    this.#rest = rest;
    this.#margin = checkedTradingCostMargin(options.tradingCostMargin);
  }

  /**
   * `AddOrder` with the encoded order (its client ref included).
   *
   * @param prepared The gated order.
   * @param options Abort signal.
   * @returns The txid (`null` for validate-only) and Kraken's description.
   * @throws {KrakenError} Kraken's refusal or a transport failure.
   */
  async addOrder(
    prepared: PreparedOrder,
    options?: TransportCallOptions,
  ): Promise<AddOrderAck> {
    const params = paramsOf(addOrderRestParams(prepared.order, prepared.pair));
    const { result } = await this.#rest.callPrivate(
      "AddOrder",
      params,
      withSignal(this.#cost("add", { pair: prepared.pair.id }), options),
    );
    const body = record(result);
    const txids = Array.isArray(body.txid) ? body.txid : [];
    const orderId = typeof txids[0] === "string" ? txids[0] : null;
    if (orderId === null && prepared.order.validateOnly !== true) {
      throw unexpected("AddOrder", "no txid");
    }
    const description = text(record(body.descr).order);
    return description === undefined ? { orderId } : { orderId, description };
  }

  /**
   * `AddOrderBatch` (JSON body, one pair, 2–15 orders).
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
    const params: Record<string, CallParams[string]> = {
      pair: pair.altname,
      orders: prepared.map(batchOrder) as CallParams[string],
    };
    if (prepared.every((p) => p.order.validateOnly === true)) {
      params.validate = true;
    }
    const { result } = await this.#rest.callPrivate(
      "AddOrderBatch",
      params,
      withSignal(
        this.#cost("batch_add", { pair: pair.id }, prepared.length),
        options,
      ),
    );
    const rows = record(result).orders;
    if (!Array.isArray(rows)) throw unexpected("AddOrderBatch", "no orders");
    return prepared.map((_, i) => {
      const row = record(rows[i]);
      const error = text(row.error) ?? null;
      const orderId = text(row.txid) ?? null;
      return { orderId: error === null ? orderId : null, error };
    });
  }

  /**
   * `AmendOrder`.
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
      ? { txid: request.target.orderId }
      : { "cl_ord_id": request.target.clOrdId };
    const { result } = await this.#rest.callPrivate(
      "AmendOrder",
      {
        ...target,
        "order_qty": request.orderQty,
        "display_qty": request.displayQty,
        "limit_price": request.limitPrice,
        "trigger_price": request.triggerPrice,
        "post_only": request.postOnly,
      },
      withSignal(this.#cost("amend", request), options),
    );
    const amendId = text(record(result).amend_id);
    if (amendId === undefined) throw unexpected("AmendOrder", "no amend_id");
    return { amendId };
  }

  /**
   * `EditOrder` (cancel and replace; the order gets a new txid).
   *
   * @param request Target, pair and new values.
   * @param options Abort signal.
   * @returns The new and original txids.
   * @throws {KrakenError} On refusal or failure.
   */
  async editOrder(
    request: EditRequest,
    options?: TransportCallOptions,
  ): Promise<EditAck> {
    const { result } = await this.#rest.callPrivate(
      "EditOrder",
      {
        txid: request.orderId,
        pair: request.pair.altname,
        volume: request.volume,
        price: request.price,
        price2: request.price2,
        oflags: request.postOnly === true ? "post" : undefined,
      },
      withSignal(
        this.#cost("edit", {
          pair: request.pair.id,
          ...(request.ageMs === undefined ? {} : { ageMs: request.ageMs }),
        }),
        options,
      ),
    );
    const body = record(result);
    const orderId = text(body.txid);
    if (orderId === undefined) throw unexpected("EditOrder", "no txid");
    return { orderId, originalOrderId: text(body.originaltxid) ?? "" };
  }

  /**
   * `CancelOrder` by txid, `cl_ord_id` or userref.
   *
   * @param target The order.
   * @param hints Pair, age and abort signal.
   * @returns The count (and `pending`).
   * @throws {KrakenError} On refusal or failure.
   */
  async cancelOrder(
    target: OrderTarget,
    hints: CounterHints & TransportCallOptions = {},
  ): Promise<CancelAck> {
    const { result } = await this.#rest.callPrivate(
      "CancelOrder",
      targetParams(target),
      withSignal(this.#cost("cancel", hints), hints),
    );
    const pending = record(result).pending;
    const n = count("CancelOrder", result);
    return typeof pending === "boolean" ? { count: n, pending } : { count: n };
  }

  /**
   * `CancelOrderBatch` (JSON body, up to 50 ids).
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
    const params: Record<string, CallParams[string]> = {};
    if (request.orderIds !== undefined && request.orderIds.length > 0) {
      params.orders = [...request.orderIds];
    }
    if (request.clOrdIds !== undefined && request.clOrdIds.length > 0) {
      params.cl_ord_ids = [...request.clOrdIds];
    }
    const { result } = await this.#rest.callPrivate(
      "CancelOrderBatch",
      params,
      withSignal(this.#cost("batch_cancel", request, n), options),
    );
    return { count: count("CancelOrderBatch", result) };
  }

  /**
   * `CancelAll`.
   *
   * @param options Abort signal.
   * @returns The count.
   * @throws {KrakenError} On refusal or failure.
   */
  async cancelAll(options?: TransportCallOptions): Promise<CancelAck> {
    const { result } = await this.#rest.callPrivate(
      "CancelAll",
      {},
      withSignal(this.#cost("cancel_all", {}), options),
    );
    return { count: count("CancelAll", result) };
  }

  /**
   * `CancelAllOrdersAfter` (the dead-man switch; 0 disarms).
   *
   * @param timeoutSec Countdown in seconds, 0–86 399.
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
    const { result } = await this.#rest.callPrivate(
      "CancelAllOrdersAfter",
      { timeout: timeoutSec },
      withSignal(this.#cost("cancel_all_after", {}), options),
    );
    const body = record(result);
    return {
      currentTime: text(body.currentTime) ?? "",
      triggerTime: text(body.triggerTime) ?? "0",
    };
  }

  #cost(
    action: TradingAction,
    hints: CounterHints,
    n = 1,
  ): { pair?: string; tradingCost: number } {
    const cost = tradingCost(action, hints, this.#margin, n);
    return hints.pair === undefined
      ? { tradingCost: cost }
      : { pair: hints.pair, tradingCost: cost };
  }
}

/**
 * Checks a dead-man countdown: a whole number of seconds, 0–86 399.
 *
 * @param timeoutSec The countdown.
 * @throws {RangeError} When out of range.
 * @example Check
 * ```ts
 * import { checkDeadManTimeout } from "./rest_transport.ts";
 * checkDeadManTimeout(60);
 * ```
 */
export function checkDeadManTimeout(timeoutSec: number): void {
  if (
    !Number.isInteger(timeoutSec) || timeoutSec < 0 || timeoutSec >= 86_400
  ) {
    throw new RangeError(
      `Dead-man timeout must be a whole number of seconds from 0 to 86399, got ${timeoutSec}`,
    );
  }
}
