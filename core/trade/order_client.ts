/**
 * {@linkcode OrderClient}: the one entry point for orders, used by the
 * library, the server and the CLI alike.
 *
 * `place(request)` runs the safety gate ({@linkcode prepareOrder}) and then
 * follows the route it picked:
 *
 * - `dry_run`: no I/O; returns the decision and the encoded REST and WS
 *   requests.
 * - `paper`: the {@linkcode PaperBroker} fills it against the book.
 * - `live`: the {@linkcode OrderTransport} (REST or WS v2) sends it once.
 *
 * Every paper and live order is tracked by the lifecycle machine
 * ({@linkcode stepOrder}) fed from the transport's answer and from the
 * `executions` stream. A timeout or a lost connection after sending makes
 * the order `ambiguous`; the client then reconciles it through REST
 * (`OpenOrders`, then `ClosedOrders`, by `userref` or `cl_ord_id`) after
 * {@linkcode RECONCILE_DELAY_MS} — it never resends blindly. Only a
 * `not_placed` order may be sent again, as a new order with a new ref.
 *
 * @module
 */

import type { PairMetadata } from "../market/pairs.ts";
import { KrakenError } from "../rest/errors.ts";
import type { OrderInfo } from "../rest/types.ts";
import {
  DeadManSwitch,
  type DeadManSwitchOptions,
  type DeadManTiming,
} from "./dead_man.ts";
import {
  addOrderRestParams,
  addOrderWsParams,
  type FormPair,
  type WsAddOrderParams,
} from "./encode.ts";
import {
  type GateConfig,
  type GateContext,
  type PreparedOrder,
  prepareOrder,
} from "./gates.ts";
import {
  type ExecutionReport,
  type FillEffect,
  type LifecycleEffect,
  type LifecycleEvent,
  type OrderLifecycleState,
  orderStateFor,
  reconcileEvent,
  reconcileQueries,
  reportMatches,
  stepOrder,
  TERMINAL_STATUSES,
} from "./lifecycle.ts";
import type { ClientRef, OrderRequest } from "./order.ts";
import type { PaperBook, PaperBroker, PaperResult } from "./paper.ts";
import type { PrivateStream, ResyncResult } from "./private_stream.ts";
import type { PrivateCaller } from "./rest_transport.ts";
import { OrderRejectedError } from "./rules.ts";
import {
  type AddOrderAck,
  type AmendAck,
  type CancelAck,
  CONNECTION_LOST_CODE,
  NOT_SENT_CODE,
  type OrderTransport,
  wasNeverSent,
} from "./transport.ts";

/** Options of {@linkcode OrderClient}. */
export interface OrderClientOptions {
  /** The configuration the gate reads (`trading.*`, `region.supports_margin`). */
  config: GateConfig;
  /** The start-time live switch (`--live` or `KRAKKED_LIVE=1`); default false. */
  liveSwitch?: boolean;
  /** Resolves any pair spelling to its metadata (e.g. `PairResolver.get`); may throw. */
  pairs: (spelling: string) => PairMetadata | undefined;
  /** Sends live orders (REST or WS). */
  transport?: OrderTransport;
  /** REST reads for reconciliation (a `RestClient`). */
  rest?: PrivateCaller;
  /** Fills paper orders. */
  paper?: PaperBroker;
  /** The private stream whose `executions` and resyncs feed the lifecycle. */
  stream?: PrivateStream;
  /** Canonical ids of the trading universe (used when `allowed_symbols` is empty). */
  universe?: Iterable<string>;
  /** Clock, ms (default `Date.now`). */
  now?: () => number;
  /** Timer (default `setTimeout`); returns a cancel function. */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** Random UUIDs for client refs (default `crypto.randomUUID`). */
  randomUuid?: () => string;
  /** Wait before retrying a failed reconciliation read, ms (default 5000). */
  reconcileRetryMs?: number;
  /** Reconciliation attempts before giving up (default 5; the order stays ambiguous). */
  maxReconcileAttempts?: number;
}

/** Market inputs for one placement. */
export interface PlaceContext {
  /** Best ask (buy) or bid (sell), for market and trailing-stop checks. */
  referencePrice?: string;
  /** Net position in the base asset (exits need it). */
  positionBase?: string;
  /** USD value of a non-USD quote asset. */
  usdPrice?: (asset: string) => string | undefined;
  /** The pair's book, for paper fills. */
  book?: PaperBook;
  /** Abort waiting to send (a sent order stays sent). */
  signal?: AbortSignal;
}

/** The outcome of {@linkcode OrderClient.place}. */
export type PlaceResult =
  | {
    route: "dry_run";
    prepared: PreparedOrder;
    /** The REST `AddOrder` form pairs (without nonce). */
    rest: FormPair[];
    /** The WS `add_order` params (without token); `null` when a decimal cannot travel as a JSON number. */
    ws: WsAddOrderParams | null;
  }
  | {
    route: "paper";
    prepared: PreparedOrder;
    /** The tracking key. */
    key: string;
    /** The order's state after the broker answered. */
    state: OrderLifecycleState;
    /** The broker's answer. */
    paper: PaperResult;
  }
  | {
    route: "live";
    prepared: PreparedOrder;
    /** The tracking key (untracked for validate-only orders). */
    key: string;
    /** The order's state after the transport answered. */
    state: OrderLifecycleState;
    /** Kraken's answer, when it accepted. */
    ack?: AddOrderAck;
    /** The failure, when it did not. */
    error?: KrakenError;
  };

/** What the client reports. */
export type OrderClientEvent =
  | {
    type: "state";
    key: string;
    from: OrderLifecycleState["status"];
    to: OrderLifecycleState["status"];
    state: OrderLifecycleState;
  }
  | { type: "fill"; key: string; fill: FillEffect }
  | { type: "anomaly"; key: string | null; message: string }
  | {
    type: "close_order";
    key: string;
    parentOrderId: string;
    orderId: string;
    report: ExecutionReport;
  }
  | {
    type: "reconcile";
    key: string;
    outcome: "found" | "not_found" | "failed";
    message?: string;
  }
  | { type: "dead_man"; message: string };

/** One tracked order. */
export interface TrackedOrder {
  /** The tracking key (`userref:42`, `cl_ord_id:…`). */
  key: string;
  /** `paper` or `live`. */
  route: "paper" | "live";
  /** The gated order. */
  prepared: PreparedOrder;
  /** The lifecycle state. */
  state: OrderLifecycleState;
  /** Conditional-close orders Kraken created from this order's fills. */
  closeOrderIds: string[];
  /** When it was placed or last amended (trading-counter age), ms. */
  changedAtMs: number;
  /** The last transport failure's message, if any. */
  error: string | null;
}

/** New values for {@linkcode OrderClient.amend}. */
export interface AmendChanges {
  /** New quantity (base). */
  orderQty?: string;
  /** New iceberg display quantity. */
  displayQty?: string;
  /** New limit price. */
  limitPrice?: string;
  /** New trigger price. */
  triggerPrice?: string;
  /** Refuse a price change that would take. */
  postOnly?: boolean;
}

/**
 * The tracking key of a client ref.
 *
 * @param ref The ref.
 * @returns `userref:<n>` or `cl_ord_id:<id>`.
 * @example Key
 * ```ts
 * import { orderKey } from "./order_client.ts";
 * orderKey({ kind: "userref", userref: 42 }); // "userref:42"
 * ```
 */
export function orderKey(ref: ClientRef): string {
  return ref.kind === "userref"
    ? `userref:${ref.userref}`
    : `cl_ord_id:${ref.clOrdId}`;
}

function defaultSetTimer(fn: () => void, ms: number): () => void {
  const id = setTimeout(fn, ms);
  return () => clearTimeout(id);
}

function unsettled(state: OrderLifecycleState): boolean {
  return state.status === "pending_new" || state.status === "ambiguous";
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/**
 * Places, tracks, amends and cancels orders through the gate, the paper
 * broker or a live transport.
 *
 * @example Live over REST with reconciliation
 * ```ts ignore
 * import { OrderClient } from "./order_client.ts";
 * import { RestOrderTransport } from "./rest_transport.ts";
 * const client = new OrderClient({
 *   config, liveSwitch: true, pairs: (s) => resolver.get(s),
 *   transport: new RestOrderTransport(rest), rest,
 * });
 * const placed = await client.place(request, { referencePrice: "25000" });
 * if (placed.route === "live") await client.whenSettled(placed.key);
 * await client.close();
 * ```
 */
export class OrderClient {
  #config: GateConfig;
  #liveSwitch: boolean;
  #pairs: (spelling: string) => PairMetadata | undefined;
  #transport: OrderTransport | undefined;
  #rest: PrivateCaller | undefined;
  #paper: PaperBroker | undefined;
  #universe: string[] | undefined;
  #now: () => number;
  #setTimer: (fn: () => void, ms: number) => () => void;
  #randomUuid: (() => string) | undefined;
  #reconcileRetryMs: number;
  #maxReconcileAttempts: number;

  #orders = new Map<string, TrackedOrder>();
  #byOrderId = new Map<string, string>();
  #closeParents = new Map<string, string>();
  #listeners = new Set<(event: OrderClientEvent) => void>();
  #settleWaiters = new Map<string, Array<() => void>>();
  #timers = new Set<() => void>();
  #offStream: (() => void) | undefined;
  #deadMan: DeadManSwitch | undefined;
  #closed = false;

  /**
   * Creates the client.
   *
   * @param options Gate config, pairs, routes, clock and timers.
   */
  constructor(options: OrderClientOptions) {
    this.#config = options.config;
    this.#liveSwitch = options.liveSwitch ?? false;
    this.#pairs = options.pairs;
    this.#transport = options.transport;
    this.#rest = options.rest;
    this.#paper = options.paper;
    this.#universe = options.universe === undefined
      ? undefined
      : [...options.universe];
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? defaultSetTimer;
    this.#randomUuid = options.randomUuid;
    this.#reconcileRetryMs = options.reconcileRetryMs ?? 5_000;
    this.#maxReconcileAttempts = options.maxReconcileAttempts ?? 5;
    if (options.stream !== undefined) this.attach(options.stream);
  }

  /**
   * Feeds this client from a private stream: `executions` messages drive
   * the lifecycle and REST resyncs settle what a gap or reconnect hid.
   *
   * @param stream The stream (started by the caller).
   */
  attach(stream: PrivateStream): void {
    this.#offStream?.();
    this.#offStream = stream.on((event) => {
      if (event.type === "executions") {
        this.applyExecutions(event.reports, event.sequence);
      } else if (event.type === "resync") {
        this.applyResync(event.result);
      }
    });
  }

  /**
   * Listens to order events.
   *
   * @param listener Called with every event.
   * @returns A function that removes the listener.
   */
  on(listener: (event: OrderClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * One tracked order.
   *
   * @param key The tracking key, or Kraken's order id.
   * @returns A copy, or `undefined`.
   */
  order(key: string): TrackedOrder | undefined {
    const tracked = this.#orders.get(key) ??
      this.#orders.get(this.#byOrderId.get(key) ?? "");
    return tracked === undefined ? undefined : structuredClone(tracked);
  }

  /**
   * Every tracked order, oldest first.
   *
   * @returns Copies.
   */
  orders(): TrackedOrder[] {
    return [...this.#orders.values()].map((o) => structuredClone(o));
  }

  /**
   * Waits until an order leaves `pending_new` and `ambiguous` (accepted,
   * rejected, filled, … or proven `not_placed`).
   *
   * @param key The tracking key.
   * @returns The state then.
   * @throws {RangeError} For an unknown key.
   */
  whenSettled(key: string): Promise<OrderLifecycleState> {
    const tracked = this.#orders.get(key);
    if (tracked === undefined) {
      return Promise.reject(new RangeError(`No tracked order "${key}"`));
    }
    if (!unsettled(tracked.state)) {
      return Promise.resolve(structuredClone(tracked.state));
    }
    return new Promise((resolve) => {
      const list = this.#settleWaiters.get(key) ?? [];
      list.push(() => resolve(structuredClone(this.#orders.get(key)!.state)));
      this.#settleWaiters.set(key, list);
    });
  }

  /**
   * Gates an order and sends it down its route.
   *
   * @param request The order.
   * @param context Market inputs and abort signal.
   * @returns The outcome per route.
   * @throws {OrderRejectedError} When the gate refused it (the rule is named).
   * @throws {RangeError} For an unknown pair, or a live order with a decimal
   *   the WS transport cannot carry.
   * @throws {TypeError} When the route has no broker or transport, the
   *   client ref is in use, or the client is closed.
   */
  async place(
    request: OrderRequest,
    context: PlaceContext = {},
  ): Promise<PlaceResult> {
    if (this.#closed) throw new TypeError("Cannot place: the client is closed");
    const prepared = this.prepare(request, context);
    switch (prepared.route) {
      case "dry_run": {
        let ws: WsAddOrderParams | null;
        try {
          ws = addOrderWsParams(prepared.order, prepared.pair);
        } catch {
          ws = null;
        }
        return {
          route: "dry_run",
          prepared,
          rest: addOrderRestParams(prepared.order, prepared.pair),
          ws,
        };
      }
      case "paper":
        return this.#placePaper(prepared, context.book);
      case "live":
        return await this.#placeLive(prepared, context.signal);
    }
  }

  /**
   * Runs the gate only (no routing, no tracking).
   *
   * @param request The order.
   * @param context Market inputs.
   * @returns The prepared order.
   * @throws {OrderRejectedError} When the gate refused it.
   * @throws {RangeError} For an unknown pair.
   */
  prepare(request: OrderRequest, context: PlaceContext = {}): PreparedOrder {
    let pair: PairMetadata | undefined;
    try {
      pair = this.#pairs(request.pair);
    } catch (error) {
      throw new RangeError(`Unknown pair "${request.pair}"`, { cause: error });
    }
    if (pair === undefined) {
      throw new RangeError(`Unknown pair "${request.pair}"`);
    }
    const gate: GateContext = {
      config: this.#config,
      liveSwitch: this.#liveSwitch,
      pair,
      nowMs: this.#now(),
    };
    if (context.referencePrice !== undefined) {
      gate.referencePrice = context.referencePrice;
    }
    if (context.positionBase !== undefined) {
      gate.positionBase = context.positionBase;
    }
    if (context.usdPrice !== undefined) gate.usdPrice = context.usdPrice;
    if (this.#universe !== undefined) gate.universe = this.#universe;
    if (this.#randomUuid !== undefined) gate.randomUuid = this.#randomUuid;
    const result = prepareOrder(request, gate);
    if (!result.ok) throw new OrderRejectedError(result.rejection);
    return result.prepared;
  }

  /**
   * Places 2–15 gated live orders on one pair in one batch request.
   *
   * @param requests The orders.
   * @param context Market inputs (shared) and abort signal.
   * @returns The tracking keys, in request order.
   * @throws {OrderRejectedError} When the gate refused any order (none is sent).
   * @throws {TypeError} When the route is not live or there is no transport.
   */
  async placeBatch(
    requests: readonly OrderRequest[],
    context: PlaceContext = {},
  ): Promise<string[]> {
    if (this.#closed) throw new TypeError("Cannot place: the client is closed");
    const prepared = requests.map((r) => this.prepare(r, context));
    if (prepared.some((p) => p.route !== "live")) {
      throw new TypeError("A batch is only placed on the live route");
    }
    const transport = this.#liveTransport();
    const keys = prepared.map((p) => this.#track(p, "live"));
    try {
      const rows = await transport.addOrderBatch(
        prepared,
        context.signal === undefined ? {} : { signal: context.signal },
      );
      rows.forEach((row, i) => {
        const key = keys[i]!;
        if (row.orderId !== null) {
          this.#orders.get(key)!.changedAtMs = this.#now();
          this.#step(key, {
            type: "reply.accepted",
            orderId: row.orderId,
            atMs: this.#now(),
          });
        } else {
          this.#orders.get(key)!.error = row.error;
          this.#step(key, {
            type: "reply.error",
            code: row.error ?? "EGeneral:Internal error",
            atMs: this.#now(),
          });
        }
      });
    } catch (error) {
      for (const key of keys) this.#failed(key, error);
    }
    return keys;
  }

  /**
   * Cancels a tracked order (by Kraken id when known, else by client ref),
   * charging the trading counter for its age.
   *
   * @param key The tracking key or Kraken order id.
   * @returns The count.
   * @throws {RangeError} For an unknown key.
   * @throws {KrakenError} When Kraken refused or the call failed.
   */
  async cancel(key: string): Promise<CancelAck> {
    const tracked = this.#lookup(key);
    const orderId = tracked.state.orderId;
    if (tracked.route === "paper") {
      const paper = this.#paperBroker();
      if (orderId === null) return { count: 0 };
      const result = paper.cancel(orderId);
      this.applyExecutions(result.reports, result.sequence || undefined);
      return { count: result.accepted ? 1 : 0 };
    }
    const ref = tracked.state.ref;
    const target = orderId !== null
      ? { orderId }
      : ref.kind === "cl_ord_id"
      ? { clOrdId: ref.clOrdId }
      : { userref: ref.userref };
    const ack = await this.#liveTransport().cancelOrder(target, {
      pair: tracked.prepared.pair.id,
      ageMs: this.#now() - tracked.changedAtMs,
    });
    if (ack.count > 0 && tracked.state.orderId !== null) {
      // The answer proves it; the executions stream may confirm later.
      this.applyExecutions([{
        "order_id": tracked.state.orderId,
        "exec_type": "canceled",
        "order_status": "canceled",
        reason: "User requested",
      }]);
    }
    return ack;
  }

  /**
   * Cancels every open order (paper: every open paper order).
   *
   * @returns The count.
   * @throws {KrakenError} When the call failed.
   */
  async cancelAll(): Promise<CancelAck> {
    if (this.#transport === undefined && this.#paper !== undefined) {
      let count = 0;
      for (const order of this.#paper.openOrders()) {
        const result = this.#paper.cancel(order.id);
        this.applyExecutions(result.reports, result.sequence || undefined);
        if (result.accepted) count++;
      }
      return { count };
    }
    return await this.#liveTransport().cancelAll();
  }

  /**
   * Amends a live order in place (keeps its id and, where possible, its
   * queue priority). The new values show up through `executions`.
   *
   * @param key The tracking key or Kraken order id.
   * @param changes The new values.
   * @returns The amend id.
   * @throws {RangeError} For an unknown key or a paper order.
   * @throws {KrakenError} When Kraken refused or the call failed.
   */
  async amend(key: string, changes: AmendChanges): Promise<AmendAck> {
    const tracked = this.#lookup(key);
    if (tracked.route !== "live") {
      throw new RangeError(`Cannot amend paper order "${key}"`);
    }
    const ref = tracked.state.ref;
    const target = tracked.state.orderId !== null
      ? { orderId: tracked.state.orderId }
      : ref.kind === "cl_ord_id"
      ? { clOrdId: ref.clOrdId }
      : undefined;
    if (target === undefined) {
      throw new RangeError(
        `Cannot amend "${key}": its Kraken order id is not known yet`,
      );
    }
    const ack = await this.#liveTransport().amendOrder({
      target,
      pair: tracked.prepared.pair.id,
      ageMs: this.#now() - tracked.changedAtMs,
      ...changes,
    });
    tracked.changedAtMs = this.#now();
    return ack;
  }

  /**
   * Feeds the paper broker a new book and applies its reports.
   *
   * @param pair Pair id or v2 symbol.
   * @param book The book, best first.
   * @returns The broker's answer.
   * @throws {TypeError} Without a paper broker.
   */
  updatePaperBook(pair: string, book: PaperBook): PaperResult {
    const result = this.#paperBroker().updateBook(pair, book);
    this.applyExecutions(result.reports, result.sequence || undefined);
    return result;
  }

  /**
   * Applies `executions` reports: each goes to the order it belongs to
   * (by order id, else by client ref). A conditional close Kraken creates
   * from a fill (named by `ord_ref_id`, or a new opposite-side order with
   * the parent's userref) is announced once as a `close_order` event and
   * its own updates are not applied to the parent; other reports are
   * ignored.
   *
   * @param reports The reports, in wire order.
   * @param sequence The message's sequence, when known.
   */
  applyExecutions(
    reports: readonly ExecutionReport[],
    sequence?: number,
  ): void {
    const atMs = this.#now();
    for (const report of reports) {
      // Updates of a conditional close are not about its parent, even
      // when they carry the parent's userref and nothing else.
      if (
        report.order_id !== undefined && this.#closeParents.has(report.order_id)
      ) continue;
      const key = this.#match(report);
      if (key !== undefined) {
        this.#step(
          key,
          sequence === undefined
            ? { type: "wire.execution", report, atMs }
            : { type: "wire.execution", report, sequence, atMs },
        );
        continue;
      }
      const orderId = report.order_id;
      if (orderId === undefined) continue;
      const parentKey = report.ord_ref_id !== undefined
        ? this.#byOrderId.get(report.ord_ref_id)
        : this.#closeParentOf(report);
      if (parentKey === undefined) continue;
      const tracked = this.#orders.get(parentKey)!;
      this.#closeParents.set(orderId, parentKey);
      tracked.closeOrderIds.push(orderId);
      this.#emit({
        type: "close_order",
        key: parentKey,
        parentOrderId: tracked.state.orderId!,
        orderId,
        report,
      });
    }
  }

  /**
   * Applies a REST resync: every unfinished order found in `OpenOrders` or
   * `ClosedOrders` (by id, or for an ambiguous one by client ref) is
   * brought up to date.
   *
   * @param result The resync.
   */
  applyResync(result: ResyncResult): void {
    for (const tracked of this.#orders.values()) {
      if (tracked.route !== "live") continue;
      if (TERMINAL_STATUSES.has(tracked.state.status)) continue;
      const orderId = tracked.state.orderId;
      if (orderId !== null) {
        const found: OrderInfo | undefined = result.open[orderId] ??
          result.closed[orderId];
        if (found !== undefined) {
          this.#step(tracked.key, {
            type: "reconcile.found",
            orderId,
            order: found,
            atMs: result.atMs,
          });
        }
        continue;
      }
      if (tracked.state.status !== "ambiguous") continue;
      const event = reconcileEvent(tracked.state, result, result.atMs);
      if (event.type === "reconcile.found") this.#step(tracked.key, event);
    }
  }

  /**
   * Arms the dead-man switch through the live transport and keeps it
   * refreshed (default: 60 s countdown, refresh every 20 s). Warnings
   * arrive as `dead_man` events.
   *
   * @param timing Countdown, refresh and retry timing.
   * @returns The switch (its `state` shows the phase and expiry).
   * @throws {TypeError} Without a live transport.
   * @throws {RangeError} For an invalid timing.
   */
  startDeadMan(timing: Partial<DeadManTiming> = {}): DeadManSwitch {
    const transport = this.#liveTransport();
    if (this.#deadMan !== undefined) return this.#deadMan;
    const options: DeadManSwitchOptions = {
      ...timing,
      now: this.#now,
      setTimer: this.#setTimer,
      onWarn: (message) => this.#emit({ type: "dead_man", message }),
    };
    this.#deadMan = new DeadManSwitch(
      (timeoutSec) => transport.cancelAllOrdersAfter(timeoutSec),
      options,
    );
    this.#deadMan.start();
    return this.#deadMan;
  }

  /**
   * Disarms the dead-man switch (timeout 0) and stops refreshing it.
   *
   * @returns Resolves once the disarm call answered or failed.
   */
  async stopDeadMan(): Promise<void> {
    const deadMan = this.#deadMan;
    this.#deadMan = undefined;
    await deadMan?.stop();
  }

  /**
   * Clean shutdown: disarms the dead-man switch, cancels reconciliation
   * timers and detaches from the stream. Open orders stay open.
   *
   * @returns Resolves when the disarm answered.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stopDeadMan();
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#offStream?.();
    this.#offStream = undefined;
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- routes ----

  #placePaper(
    prepared: PreparedOrder,
    book: PaperBook | undefined,
  ): PlaceResult {
    const paper = this.#paperBroker();
    const key = this.#track(prepared, "paper");
    const result = paper.submit(prepared, book);
    if (result.accepted && result.orderId !== null) {
      this.#step(key, {
        type: "reply.accepted",
        orderId: result.orderId,
        atMs: this.#now(),
      });
      this.applyExecutions(result.reports, result.sequence || undefined);
    } else {
      const rule = result.rejection?.rule ?? "rejected";
      this.#orders.get(key)!.error = result.rejection?.message ?? null;
      this.#step(key, {
        type: "reply.error",
        code: `EOrder:Paper ${rule}`,
        atMs: this.#now(),
      });
    }
    return {
      route: "paper",
      prepared,
      key,
      state: structuredClone(this.#orders.get(key)!.state),
      paper: result,
    };
  }

  async #placeLive(
    prepared: PreparedOrder,
    signal: AbortSignal | undefined,
  ): Promise<PlaceResult> {
    const transport = this.#liveTransport();
    const options = signal === undefined ? {} : { signal };
    if (prepared.order.validateOnly === true) {
      const state = orderStateFor(prepared, this.#now());
      const key = orderKey(prepared.order.clientRef);
      try {
        const ack = await transport.addOrder(prepared, options);
        return { route: "live", prepared, key, state, ack };
      } catch (error) {
        if (!(error instanceof KrakenError)) throw error;
        return { route: "live", prepared, key, state, error };
      }
    }
    const key = this.#track(prepared, "live");
    try {
      const ack = await transport.addOrder(prepared, options);
      if (ack.orderId !== null) {
        // Age the order from the answer, not from the send: the send may
        // have waited in the limiter, and an age that is too young only
        // overestimates the next cancel's cost.
        this.#orders.get(key)!.changedAtMs = this.#now();
        this.#step(key, {
          type: "reply.accepted",
          orderId: ack.orderId,
          atMs: this.#now(),
        });
      }
      return {
        route: "live",
        prepared,
        key,
        state: structuredClone(this.#orders.get(key)!.state),
        ack,
      };
    } catch (error) {
      this.#failed(key, error);
      if (!(error instanceof KrakenError)) throw error;
      return {
        route: "live",
        prepared,
        key,
        state: structuredClone(this.#orders.get(key)!.state),
        error,
      };
    }
  }

  /** Turns a send failure into the lifecycle event it means. */
  #failed(key: string, error: unknown): void {
    const tracked = this.#orders.get(key)!;
    const atMs = this.#now();
    tracked.error = error instanceof Error ? error.message : String(error);
    if (wasNeverSent(error)) {
      // Provably never sent: settle as not_placed without asking Kraken.
      this.#step(key, { type: "reply.error", code: NOT_SENT_CODE, atMs }, {
        reconcile: false,
      });
      this.#step(key, { type: "reconcile.not_found", atMs });
      return;
    }
    const code = (error as KrakenError).code;
    if (code === "Krakked:Timeout") {
      this.#step(key, { type: "timer.reply_timeout", atMs });
    } else if (code === CONNECTION_LOST_CODE) {
      this.#step(key, { type: "wire.disconnected", atMs });
    } else {
      this.#step(key, { type: "reply.error", code, atMs });
    }
  }

  // ---- tracking ----

  #track(prepared: PreparedOrder, route: "paper" | "live"): string {
    const key = orderKey(prepared.order.clientRef);
    const existing = this.#orders.get(key);
    if (
      existing !== undefined && !TERMINAL_STATUSES.has(existing.state.status)
    ) {
      throw new TypeError(
        `Cannot place: client ref ${key} is already used by an unfinished order`,
      );
    }
    if (existing !== undefined) this.#orders.delete(key);
    const nowMs = this.#now();
    this.#orders.set(key, {
      key,
      route,
      prepared,
      state: orderStateFor(prepared, nowMs),
      closeOrderIds: [],
      changedAtMs: nowMs,
      error: null,
    });
    return key;
  }

  #match(report: ExecutionReport): string | undefined {
    if (report.order_id !== undefined) {
      const key = this.#byOrderId.get(report.order_id);
      if (key !== undefined) return key;
    }
    for (const tracked of this.#orders.values()) {
      if (tracked.state.orderId !== null) continue;
      if (TERMINAL_STATUSES.has(tracked.state.status)) continue;
      if (reportMatches(tracked.state, report)) return tracked.key;
    }
    return undefined;
  }

  /**
   * The parent of a conditional close reported without `ord_ref_id`: the
   * close is a new order on the opposite side of the same symbol that
   * carries the parent's userref, once the parent has an order id.
   */
  #closeParentOf(report: ExecutionReport): string | undefined {
    if (report.order_userref === undefined || report.side === undefined) {
      return undefined;
    }
    if (report.exec_type !== "pending_new" && report.exec_type !== "new") {
      return undefined;
    }
    for (const tracked of this.#orders.values()) {
      const state = tracked.state;
      if (
        state.ref.kind === "userref" &&
        state.ref.userref === report.order_userref &&
        state.orderId !== null && state.orderId !== report.order_id &&
        tracked.prepared.order.stopLoss !== undefined &&
        report.side !== state.side &&
        (report.symbol === undefined || report.symbol === state.symbol)
      ) return tracked.key;
    }
    return undefined;
  }

  #step(
    key: string,
    event: LifecycleEvent,
    options: { reconcile?: boolean } = {},
  ): void {
    const tracked = this.#orders.get(key);
    if (tracked === undefined) return;
    const { state, effects } = stepOrder(tracked.state, event);
    tracked.state = state;
    if (event.type === "reconcile.found" && event.order.opentm > 0) {
      // Kraken's own creation time: exact for the trading-counter age.
      tracked.changedAtMs = Math.max(
        tracked.changedAtMs,
        Math.round(event.order.opentm * 1000),
      );
    }
    if (state.orderId !== null && !this.#byOrderId.has(state.orderId)) {
      this.#byOrderId.set(state.orderId, key);
    }
    for (const effect of effects) this.#effect(tracked, effect, options);
    if (!unsettled(state)) {
      const waiters = this.#settleWaiters.get(key);
      if (waiters !== undefined) {
        this.#settleWaiters.delete(key);
        for (const wake of waiters) wake();
      }
    }
  }

  #effect(
    tracked: TrackedOrder,
    effect: LifecycleEffect,
    options: { reconcile?: boolean },
  ): void {
    switch (effect.kind) {
      case "status_changed":
        this.#emit({
          type: "state",
          key: tracked.key,
          from: effect.from,
          to: effect.to,
          state: structuredClone(tracked.state),
        });
        return;
      case "fill":
        this.#emit({ type: "fill", key: tracked.key, fill: effect });
        return;
      case "anomaly":
        this.#emit({
          type: "anomaly",
          key: tracked.key,
          message: effect.message,
        });
        return;
      case "reconcile":
        if (options.reconcile === false) return;
        this.#schedule(
          () => void this.#reconcile(tracked.key, 1),
          effect.notBeforeMs - this.#now(),
        );
        return;
    }
  }

  #schedule(fn: () => void, delayMs: number): void {
    if (this.#closed) return;
    const cancel = this.#setTimer(() => {
      this.#timers.delete(cancel);
      fn();
    }, Math.max(0, delayMs));
    this.#timers.add(cancel);
  }

  async #reconcile(key: string, attempt: number): Promise<void> {
    const tracked = this.#orders.get(key);
    if (tracked === undefined || tracked.state.status !== "ambiguous") return;
    const rest = this.#rest;
    if (rest === undefined) {
      this.#emit({
        type: "reconcile",
        key,
        outcome: "failed",
        message: "No REST reader to reconcile with: the order stays ambiguous",
      });
      return;
    }
    const queries = reconcileQueries(tracked.state);
    try {
      const open = record(
        record(
          (await rest.callPrivate("OpenOrders", queries.openOrders)).result,
        )
          .open,
      ) as Record<string, OrderInfo>;
      let event = reconcileEvent(tracked.state, { open, closed: {} }, 0);
      let closed: Record<string, OrderInfo> = {};
      if (event.type === "reconcile.not_found") {
        closed = record(
          record(
            (await rest.callPrivate("ClosedOrders", queries.closedOrders))
              .result,
          ).closed,
        ) as Record<string, OrderInfo>;
      }
      const current = this.#orders.get(key);
      if (current === undefined || current.state.status !== "ambiguous") return;
      event = reconcileEvent(current.state, { open, closed }, this.#now());
      this.#step(key, event);
      this.#emit({
        type: "reconcile",
        key,
        outcome: event.type === "reconcile.found" ? "found" : "not_found",
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (attempt >= this.#maxReconcileAttempts) {
        this.#emit({
          type: "reconcile",
          key,
          outcome: "failed",
          message:
            `Reconciliation gave up after ${attempt} attempts (${message}); the order stays ambiguous`,
        });
        return;
      }
      this.#emit({ type: "reconcile", key, outcome: "failed", message });
      this.#schedule(
        () => void this.#reconcile(key, attempt + 1),
        this.#reconcileRetryMs,
      );
    }
  }

  #lookup(key: string): TrackedOrder {
    const tracked = this.#orders.get(key) ??
      this.#orders.get(this.#byOrderId.get(key) ?? "");
    if (tracked === undefined) {
      throw new RangeError(`No tracked order "${key}"`);
    }
    return tracked;
  }

  #liveTransport(): OrderTransport {
    if (this.#transport === undefined) {
      throw new TypeError("Cannot send live orders: no transport configured");
    }
    return this.#transport;
  }

  #paperBroker(): PaperBroker {
    if (this.#paper === undefined) {
      throw new TypeError("Cannot trade on paper: no paper broker configured");
    }
    return this.#paper;
  }

  #emit(event: OrderClientEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
