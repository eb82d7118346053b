/**
 * The lifecycle of one order as a pure state machine:
 * `stepOrder(state, event) → { state, effects }`.
 *
 * ```
 * pending_new ─▶ new ─▶ partially_filled ─▶ filled
 *      │          └──────────┴──────────────▶ canceled | expired
 *      ├─▶ rejected            (a definitive error answer)
 *      └─▶ ambiguous ─▶ (any of the above, once evidence arrives)
 *                   └─▶ not_placed (reconciliation found nothing)
 * ```
 *
 * Events come from the REST or WS answer to the send (`reply.*`), the
 * caller's timer (`timer.reply_timeout`), the connection (`wire.*`, incl.
 * `executions` reports) and reconciliation (`reconcile.*`). The machine is
 * tolerant of duplicate and out-of-order reports: fills are counted once per
 * `exec_id`, cumulative fields only grow, and the status never moves
 * backwards — in particular never out of a terminal state.
 *
 * A timeout, a lost connection or a service error after sending makes the
 * order `ambiguous` with a `reconcile` effect: look the order up by its
 * client ref ({@linkcode reconcileQueries}, then {@linkcode reconcileEvent})
 * rather than resend. Only `not_placed` allows a resend, with a NEW client
 * ref.
 *
 * State is plain JSON, so the server can persist it.
 *
 * @module
 */

import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  decimalFromNumber,
  isDecimalText,
} from "../decimal.ts";
import { classifyKrakenError } from "../rest/errors.ts";
import type { OrderInfo } from "../rest/types.ts";
import type { PreparedOrder } from "./gates.ts";
import type { ClientRef, OrderSide } from "./order.ts";

/** Where an order stands. */
export type OrderStatus =
  | "pending_new"
  | "new"
  | "partially_filled"
  | "filled"
  | "canceled"
  | "expired"
  | "rejected"
  | "ambiguous"
  | "not_placed";

/** Statuses an order never leaves. */
export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set([
  "filled",
  "canceled",
  "expired",
  "rejected",
  "not_placed",
]);

/** A decimal as Kraken may send it: a WS JSON number or REST text. */
export type WireDecimal = number | string;

/**
 * One WS v2 `executions` report (WS_V2.md §4.1), the fields the machine
 * reads. Reports are sparse: only `order_id` and `exec_type` are reliable.
 * The paper broker emits the same shape with decimal text.
 */
export interface ExecutionReport {
  /** Kraken order id (txid). */
  "order_id"?: string;
  /** Client order id. */
  "cl_ord_id"?: string;
  /** Client user reference. */
  "order_userref"?: number;
  /** v2 symbol. */
  symbol?: string;
  /** Side. */
  side?: OrderSide;
  /** Order type. */
  "order_type"?: string;
  /** What happened. */
  "exec_type": string;
  /** Status now. */
  "order_status"?: string;
  /** Order quantity (changes on amend). */
  "order_qty"?: WireDecimal;
  /** Cumulative filled quantity. */
  "cum_qty"?: WireDecimal;
  /** Cumulative cost in quote. */
  "cum_cost"?: WireDecimal;
  /** Average fill price. */
  "avg_price"?: WireDecimal;
  /** Limit price (changes on amend). */
  "limit_price"?: WireDecimal;
  /** Fill id (trade reports). */
  "exec_id"?: string;
  /** Public trade id (trade reports). */
  "trade_id"?: number;
  /** Fill quantity. */
  "last_qty"?: WireDecimal;
  /** Fill price. */
  "last_price"?: WireDecimal;
  /** Fill cost in quote. */
  cost?: WireDecimal;
  /** `m` maker or `t` taker. */
  "liquidity_ind"?: "m" | "t";
  /** Fees of this fill. */
  fees?: ReadonlyArray<{ asset: string; qty: WireDecimal }>;
  /** Why (cancel, expiry, restatement). */
  reason?: string;
  /** Parent order of a conditional close. */
  "ord_ref_id"?: string;
  /** Trigger of a stop, take-profit or trailing order (WS_V2.md §4.1). */
  triggers?: { price?: WireDecimal; status?: string };
  /** RFC 3339 time. */
  timestamp?: string;
}

/** The state of one order. Plain JSON. */
export interface OrderLifecycleState {
  /** The client ref sent with the order. */
  ref: ClientRef;
  /** Canonical pair id (REST altname). */
  pair: string;
  /** WS v2 symbol. */
  symbol: string;
  /** Side. */
  side: OrderSide;
  /** Order quantity (base), as last known. */
  volume: string;
  /** Status. */
  status: OrderStatus;
  /** Kraken order id, once known. */
  orderId: string | null;
  /** Cumulative filled quantity (base). */
  filledQty: string;
  /** Cumulative cost (quote). */
  cumCost: string;
  /** Cumulative fees (quote). */
  fees: string;
  /** Average fill price, once known. */
  avgPrice: string | null;
  /** Limit price, as last known. */
  limitPrice: string | null;
  /** `exec_id`s of the fills counted. */
  execIds: string[];
  /** Highest `executions` sequence applied (−1 for none). */
  lastSequence: number;
  /** Why it ended (`EOrder:Insufficient funds`, `User requested`, …). */
  reason: string | null;
  /** When it was sent. */
  sentAtMs: number;
  /** Last change. */
  updatedAtMs: number;
}

/** What happened to the order. */
export type LifecycleEvent =
  | { type: "reply.accepted"; orderId: string; atMs: number }
  | { type: "reply.error"; code: string; atMs: number }
  | { type: "timer.reply_timeout"; atMs: number }
  | { type: "wire.disconnected"; atMs: number }
  | {
    type: "wire.execution";
    report: ExecutionReport;
    sequence?: number;
    atMs: number;
  }
  | {
    type: "reconcile.found";
    orderId: string;
    order: OrderInfo;
    atMs: number;
  }
  | { type: "reconcile.not_found"; atMs: number };

/** A fill counted for the first time. */
export interface FillEffect {
  /** Discriminator. */
  type: "fill";
  /** Fill id. */
  execId: string;
  /** Quantity (base). */
  qty: string;
  /** Price, when reported. */
  price: string | null;
  /** Cost (quote), when reported. */
  cost: string | null;
  /** Fee (quote). */
  fee: string;
  /** Maker or taker, when reported. */
  liquidity: "maker" | "taker" | null;
}

/** What the caller should do or know. */
export type LifecycleEffect =
  | {
    type: "reconcile";
    ref: ClientRef;
    pair: string;
    sentAtMs: number;
    /** Query no earlier: a just-placed order can be briefly absent from OpenOrders. */
    notBeforeMs: number;
  }
  | { type: "status_changed"; from: OrderStatus; to: OrderStatus }
  | FillEffect
  | { type: "anomaly"; message: string };

/** The machine's answer. */
export interface LifecycleStep {
  /** The new state. */
  state: OrderLifecycleState;
  /** What to do. */
  effects: LifecycleEffect[];
}

/** Wait this long before reconciling (REST.md §3.2: orders can lag in OpenOrders). */
export const RECONCILE_DELAY_MS = 2_000;

const RANK: Record<OrderStatus, number> = {
  ambiguous: -1,
  "pending_new": 0,
  new: 1,
  "partially_filled": 2,
  filled: 3,
  canceled: 3,
  expired: 3,
  rejected: 3,
  "not_placed": 3,
};

const EXEC_STATUS: Record<string, OrderStatus> = {
  "pending_new": "pending_new",
  new: "new",
  trade: "partially_filled",
  filled: "filled",
  canceled: "canceled",
  expired: "expired",
};

const WIRE_STATUSES = new Set<string>([
  "pending_new",
  "new",
  "partially_filled",
  "filled",
  "canceled",
  "expired",
]);

/**
 * Creates the state of an order that is being sent now.
 *
 * @param prepared The order from the gate.
 * @param sentAtMs When it is sent.
 * @returns State `pending_new`.
 * @example Start tracking
 * ```ts ignore
 * const state = orderStateFor(prepared, Date.now());
 * state.status; // "pending_new"
 * ```
 */
export function orderStateFor(
  prepared: PreparedOrder,
  sentAtMs: number,
): OrderLifecycleState {
  const { order, pair } = prepared;
  const limit = order.type === "limit" || order.type === "iceberg"
    ? order.price
    : order.price2;
  return {
    ref: order.clientRef,
    pair: pair.id,
    symbol: pair.wsV2,
    side: order.side,
    volume: order.volume,
    status: "pending_new",
    orderId: null,
    filledQty: "0",
    cumCost: "0",
    fees: "0",
    avgPrice: null,
    limitPrice: limit ?? null,
    execIds: [],
    lastSequence: -1,
    reason: null,
    sentAtMs,
    updatedAtMs: sentAtMs,
  };
}

/**
 * Whether an error answer to an order send leaves the outcome unknown:
 * service and network failures (`EService:Unavailable`, `EService:Busy`,
 * `EService:Deadline elapsed`, `EGeneral:Internal error`, timeouts, bad
 * bodies) and unknown strings — but not the market-mode refusals
 * (`EService:Market in cancel_only mode`), which are definite.
 *
 * @param code The error string (Kraken's or a `Krakked:` local code).
 * @returns `true` when the order may or may not exist.
 * @example Classify
 * ```ts
 * import { isAmbiguousOrderError } from "./lifecycle.ts";
 * isAmbiguousOrderError("EService:Unavailable"); // true
 * isAmbiguousOrderError("EOrder:Insufficient funds"); // false
 * ```
 */
export function isAmbiguousOrderError(code: string): boolean {
  if (/^\s*EService\s*:\s*Market in/i.test(code)) return false;
  const { kind } = classifyKrakenError(code);
  return kind === "service" || kind === "network" || kind === "unknown";
}

function wireText(value: WireDecimal | undefined): string | null {
  if (value === undefined) return null;
  if (typeof value === "number") {
    return Number.isFinite(value) ? decimalFromNumber(value) : null;
  }
  return isDecimalText(value) ? canonicalDecimal(value) : null;
}

function maxText(a: string, b: string | null): string {
  return b !== null && compareDecimal(b, a) > 0 ? b : a;
}

function reportStatus(report: ExecutionReport): OrderStatus | null {
  const status = report.order_status;
  if (status !== undefined && WIRE_STATUSES.has(status)) {
    // A trade can carry `partially_filled` even when it completed the
    // order; completion is the separate `filled` report (WS_V2.md §4.1).
    return status as OrderStatus;
  }
  return EXEC_STATUS[report.exec_type] ?? null;
}

class Stepper {
  state: OrderLifecycleState;
  effects: LifecycleEffect[] = [];

  constructor(state: OrderLifecycleState, atMs: number) {
    this.state = {
      ...state,
      execIds: [...state.execIds],
      updatedAtMs: Math.max(state.updatedAtMs, atMs),
    };
  }

  moveTo(status: OrderStatus): void {
    const from = this.state.status;
    if (from === status) return;
    this.state.status = status;
    this.effects.push({ type: "status_changed", from, to: status });
  }

  /** Moves forward only; any evidence resolves `ambiguous`. */
  advance(status: OrderStatus): void {
    const from = this.state.status;
    if (TERMINAL_STATUSES.has(from)) return;
    if (from === "ambiguous" || RANK[status] > RANK[from]) this.moveTo(status);
  }

  anomaly(message: string): void {
    this.effects.push({ type: "anomaly", message });
  }

  goAmbiguous(atMs: number): void {
    this.moveTo("ambiguous");
    this.effects.push({
      type: "reconcile",
      ref: this.state.ref,
      pair: this.state.pair,
      sentAtMs: this.state.sentAtMs,
      notBeforeMs: atMs + RECONCILE_DELAY_MS,
    });
  }

  done(): LifecycleStep {
    return { state: this.state, effects: this.effects };
  }
}

function refused(status: OrderStatus): boolean {
  return status === "rejected" || status === "not_placed";
}

function applyExecution(
  s: Stepper,
  report: ExecutionReport,
  sequence: number | undefined,
): void {
  const state = s.state;
  if (refused(state.status)) {
    s.anomaly(
      `executions reported ${report.exec_type} for an order believed ${state.status} (order ${
        report.order_id ?? "?"
      })`,
    );
    return;
  }
  const newer = sequence === undefined || sequence > state.lastSequence;
  if (sequence !== undefined && newer) state.lastSequence = sequence;
  if (state.orderId === null && report.order_id !== undefined) {
    state.orderId = report.order_id;
  }
  const execId = report.exec_id;
  if (report.exec_type === "trade" && execId !== undefined) {
    if (!state.execIds.includes(execId)) {
      state.execIds.push(execId);
      const qty = wireText(report.last_qty) ?? "0";
      const cost = wireText(report.cost);
      let fee = "0";
      for (const item of report.fees ?? []) {
        fee = addDecimal(fee, wireText(item.qty) ?? "0");
      }
      state.fees = addDecimal(state.fees, fee);
      const cumQty = wireText(report.cum_qty);
      const cumCost = wireText(report.cum_cost);
      state.filledQty = cumQty === null
        ? addDecimal(state.filledQty, qty)
        : maxText(state.filledQty, cumQty);
      state.cumCost = cumCost === null
        ? addDecimal(state.cumCost, cost ?? "0")
        : maxText(state.cumCost, cumCost);
      s.effects.push({
        type: "fill",
        execId,
        qty,
        price: wireText(report.last_price),
        cost,
        fee,
        liquidity: report.liquidity_ind === "m"
          ? "maker"
          : report.liquidity_ind === "t"
          ? "taker"
          : null,
      });
    }
  } else {
    state.filledQty = maxText(state.filledQty, wireText(report.cum_qty));
    state.cumCost = maxText(state.cumCost, wireText(report.cum_cost));
  }
  const avg = wireText(report.avg_price);
  const avgQty = wireText(report.cum_qty);
  if (
    avg !== null &&
    (avgQty === null || compareDecimal(avgQty, state.filledQty) >= 0)
  ) {
    state.avgPrice = avg;
  }
  if (
    newer && (report.exec_type === "amended" || report.exec_type === "restated")
  ) {
    state.volume = wireText(report.order_qty) ?? state.volume;
    state.limitPrice = wireText(report.limit_price) ?? state.limitPrice;
  }
  if (report.reason !== undefined && state.reason === null) {
    const target = reportStatus(report);
    if (target === "canceled" || target === "expired") {
      state.reason = report.reason;
    }
  }
  const target = reportStatus(report);
  if (target !== null) s.advance(target);
}

function restStatus(order: OrderInfo): OrderStatus {
  switch (order.status) {
    case "pending":
      return "pending_new";
    case "open":
      return compareDecimal(order.vol_exec, "0") > 0
        ? "partially_filled"
        : "new";
    case "closed":
      return "filled";
    case "canceled":
      return "canceled";
    case "expired":
      return "expired";
  }
}

function applyFound(
  s: Stepper,
  orderId: string,
  order: OrderInfo,
): void {
  const state = s.state;
  if (state.status === "not_placed") {
    s.anomaly(
      `reconciliation found order ${orderId} for an order already declared not_placed`,
    );
    return;
  }
  if (state.orderId === null) state.orderId = orderId;
  state.filledQty = maxText(state.filledQty, wireText(order.vol_exec));
  state.cumCost = maxText(state.cumCost, wireText(order.cost));
  state.fees = maxText(state.fees, wireText(order.fee));
  if (compareDecimal(order.vol_exec, "0") > 0) {
    state.avgPrice = wireText(order.price) ?? state.avgPrice;
  }
  if (
    state.reason === null && order.reason !== undefined && order.reason !== null
  ) {
    state.reason = order.reason;
  }
  if (state.status === "rejected") {
    s.anomaly(`reconciliation found order ${orderId} for a rejected order`);
    return;
  }
  s.advance(restStatus(order));
}

/**
 * Advances one order's lifecycle by one event.
 *
 * @param state The current state (not modified).
 * @param event What happened.
 * @returns The new state and the effects to carry out.
 * @example A send that times out becomes ambiguous and asks to reconcile
 * ```ts ignore
 * const { state: next, effects } = stepOrder(state, { type: "timer.reply_timeout", atMs: 5_000 });
 * next.status; // "ambiguous"
 * effects.at(-1)?.type; // "reconcile"
 * ```
 */
export function stepOrder(
  state: OrderLifecycleState,
  event: LifecycleEvent,
): LifecycleStep {
  const s = new Stepper(state, event.atMs);
  const current = state.status;
  switch (event.type) {
    case "reply.accepted":
      if (refused(current)) {
        s.anomaly(
          `order ${event.orderId} was accepted after being declared ${current}`,
        );
        break;
      }
      if (s.state.orderId === null) s.state.orderId = event.orderId;
      s.advance("new");
      break;
    case "reply.error":
      if (isAmbiguousOrderError(event.code)) {
        if (current === "pending_new" && s.state.orderId === null) {
          s.goAmbiguous(event.atMs);
        }
      } else if (current === "pending_new" || current === "ambiguous") {
        s.state.reason = event.code;
        s.moveTo("rejected");
      } else if (current !== "rejected") {
        s.anomaly(
          `an error answer "${event.code}" arrived for an order already ${current}`,
        );
      }
      break;
    case "timer.reply_timeout":
    case "wire.disconnected":
      if (current === "pending_new" && s.state.orderId === null) {
        s.goAmbiguous(event.atMs);
      }
      break;
    case "wire.execution":
      applyExecution(s, event.report, event.sequence);
      break;
    case "reconcile.found":
      applyFound(s, event.orderId, event.order);
      break;
    case "reconcile.not_found":
      if (current === "ambiguous") s.moveTo("not_placed");
      break;
  }
  return s.done();
}

/**
 * Whether an `executions` report is about this order: by `order_id` when
 * both sides know it, else by the client ref (`cl_ord_id`, or `userref`
 * plus symbol and side). Conditional closes carry their parent's id in
 * `ord_ref_id` and are not matched.
 *
 * @param state The order.
 * @param report The report.
 * @returns `true` when it belongs to the order.
 * @example Match by cl_ord_id
 * ```ts ignore
 * reportMatches(state, { exec_type: "new", cl_ord_id: "bot-1" });
 * ```
 */
export function reportMatches(
  state: OrderLifecycleState,
  report: ExecutionReport,
): boolean {
  if (state.orderId !== null && report.order_id !== undefined) {
    return state.orderId === report.order_id;
  }
  if (report.ord_ref_id !== undefined) return false;
  if (state.ref.kind === "cl_ord_id") {
    return report.cl_ord_id === state.ref.clOrdId;
  }
  return report.order_userref === state.ref.userref &&
    (report.symbol === undefined || report.symbol === state.symbol) &&
    (report.side === undefined || report.side === state.side);
}

/** An `executions` push: `{channel, type, data, sequence}`. */
export interface ExecutionsMessage {
  /** Always `executions`. */
  channel: string;
  /** `snapshot` or `update`. */
  type: string;
  /** The reports. */
  data: readonly ExecutionReport[];
  /** Per-subscription message counter. */
  sequence?: number;
}

/**
 * Turns an `executions` push into one `wire.execution` event per report,
 * in order, each carrying the message's sequence.
 *
 * @param message The push.
 * @param atMs When it arrived.
 * @returns The events.
 * @example Split a push
 * ```ts
 * import { executionEvents } from "./lifecycle.ts";
 * executionEvents({ channel: "executions", type: "update", sequence: 22,
 *   data: [{ order_id: "OQ7VZL-3MUTA-R2KX9D", exec_type: "new" }] }, 0).length; // 1
 * ```
 */
export function executionEvents(
  message: ExecutionsMessage,
  atMs: number,
): LifecycleEvent[] {
  return message.data.map((report) =>
    message.sequence === undefined
      ? { type: "wire.execution", report, atMs }
      : { type: "wire.execution", report, sequence: message.sequence, atMs }
  );
}

/** Clock skew tolerated when matching an order's open time to its send time. */
const RECONCILE_SKEW_SEC = 60;

/**
 * The REST queries that reconcile an ambiguous order: `OpenOrders` by its
 * client ref first, then `ClosedOrders` by the same ref from shortly before
 * it was sent.
 *
 * @param state The order.
 * @returns Parameters for `OpenOrders` and `ClosedOrders`.
 * @example Queries for a userref
 * ```ts ignore
 * reconcileQueries(state);
 * // { openOrders: { userref: 42 }, closedOrders: { userref: 42, start: 1699999940 } }
 * ```
 */
export function reconcileQueries(state: OrderLifecycleState): {
  openOrders: Record<string, string | number>;
  closedOrders: Record<string, string | number>;
} {
  const ref: Record<string, string | number> = state.ref.kind === "userref"
    ? { userref: state.ref.userref }
    : { "cl_ord_id": state.ref.clOrdId };
  return {
    openOrders: { ...ref },
    closedOrders: {
      ...ref,
      start: Math.floor(state.sentAtMs / 1000) - RECONCILE_SKEW_SEC,
    },
  };
}

function candidate(
  state: OrderLifecycleState,
  order: OrderInfo,
): boolean {
  const ref = state.ref;
  const refMatches = ref.kind === "userref"
    ? order.userref === ref.userref
    : order.cl_ord_id === ref.clOrdId;
  return refMatches && order.descr.pair === state.pair &&
    order.descr.type === state.side &&
    isDecimalText(order.vol) && compareDecimal(order.vol, state.volume) === 0 &&
    order.opentm >= state.sentAtMs / 1000 - RECONCILE_SKEW_SEC;
}

/**
 * Turns the answers of {@linkcode reconcileQueries} into the event that
 * resolves an ambiguous order: the matching order (same client ref, pair
 * altname, side and volume, opened after the send) or `not_found`. When
 * several match, the one opened closest to the send wins.
 *
 * @param state The order.
 * @param answers `OpenOrders().open` and `ClosedOrders().closed`.
 * @param atMs Now.
 * @returns `reconcile.found` or `reconcile.not_found`.
 * @example Nothing found
 * ```ts ignore
 * reconcileEvent(state, { open: {}, closed: {} }, now).type; // "reconcile.not_found"
 * ```
 */
export function reconcileEvent(
  state: OrderLifecycleState,
  answers: {
    open: Readonly<Record<string, OrderInfo>>;
    closed: Readonly<Record<string, OrderInfo>>;
  },
  atMs: number,
): LifecycleEvent {
  const sentSec = state.sentAtMs / 1000;
  let best: [string, OrderInfo] | undefined;
  for (const source of [answers.open, answers.closed]) {
    for (const [txid, order] of Object.entries(source)) {
      if (!candidate(state, order)) continue;
      if (
        best === undefined ||
        Math.abs(order.opentm - sentSec) < Math.abs(best[1].opentm - sentSec)
      ) {
        best = [txid, order];
      }
    }
  }
  return best === undefined
    ? { type: "reconcile.not_found", atMs }
    : { type: "reconcile.found", orderId: best[0], order: best[1], atMs };
}
