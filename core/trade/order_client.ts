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

import {
  callListeners,
  type ListenerErrorHandler,
  rethrowLater,
} from "../listeners.ts";
import { record } from "../_record.ts";
import { type Now, type SetTimer, systemClock } from "../clock.ts";
import { addDecimal, compareDecimal, subtractDecimal } from "../decimal.ts";
import { AssetTable } from "../market/assets.ts";
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
  resolveRoute,
  type TradingRoute,
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
import {
  findOrder,
  isProtectiveStop,
  judgeCancel,
  judgeStopAmend,
  planCancelAll,
  planExit,
  type RiskAccount,
  type RiskBook,
  type RiskOrder,
  uncoveredVolume,
  withoutOrder,
} from "./risk.ts";
import { OrderRejectedError, reject } from "./rules.ts";
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
  /** Clock, ms (default `systemClock.now`). */
  now?: Now;
  /** Timer returning its cancel function (default `systemClock.setTimer`). */
  setTimer?: SetTimer;
  /** Random UUIDs for client refs (default `crypto.randomUUID`). */
  randomUuid?: () => string;
  /** Wait before retrying a failed reconciliation read, ms (default 5000). */
  reconcileRetryMs?: number;
  /** Reconciliation attempts before giving up (default 5; the order stays ambiguous). */
  maxReconcileAttempts?: number;
  /**
   * Maps `Balance` keys to common codes (an `AssetTable`; default: the
   * legacy table, `XXBT` → `BTC`).
   */
  assets?: Pick<AssetTable, "parseBalance">;
  /**
   * Live: how old the account state (REST `Balance` + `OpenOrders`) may get
   * before a placement reads it again, ms (default 30,000; with a private
   * stream attached it is kept current from `executions` and read again on
   * every resync). Cancels, amends and exits always read it fresh.
   */
  accountMaxAgeMs?: number;
  /**
   * Live: reads the account state instead of REST `Balance` +
   * `OpenOrders` (e.g. a caller that keeps it from its own stream).
   */
  readAccount?: () => Promise<RiskAccount>;
  /**
   * The current book of a pair (canonical id), best first, when the caller
   * holds one (e.g. from the WS v2 stream). Used when a call brings no
   * book or reference price of its own.
   */
  books?: (pairId: string) => RiskBook | undefined;
  /**
   * Receives exceptions thrown by listeners (every listener still runs).
   * Default: rethrown from a microtask, which ends a Deno process; servers
   * pass a handler that logs.
   */
  onListenerError?: ListenerErrorHandler;
}

/** Market inputs for one placement. */
export interface PlaceContext {
  /** Best ask (buy) or bid (sell), for market and trailing-stop checks. */
  referencePrice?: string;
  /** Net position in the base asset (exits need it). */
  positionBase?: string;
  /** USD value of a non-USD quote asset. */
  usdPrice?: (asset: string) => string | undefined;
  /** The pair's book, best first: paper fills, and the gate's fill prices. */
  book?: PaperBook;
  /** The account state to judge against (default: the client's own). */
  account?: RiskAccount;
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

/** Market inputs for an amend or an exit. */
export interface MarketContext {
  /** The pair's book, best first. */
  book?: RiskBook;
  /** Best bid or ask, when there is no book. */
  referencePrice?: string;
  /** USD value of a non-USD quote asset. */
  usdPrice?: (asset: string) => string | undefined;
  /** Abort waiting to send. */
  signal?: AbortSignal;
  /** The account to judge against (dry run; default: the client's own). */
  account?: RiskAccount;
}

/** Options of {@linkcode OrderClient.exit}. */
export interface ExitOptions extends MarketContext {
  /** Sell at this limit, immediate-or-cancel (default: market). */
  limitPrice?: string;
  /** Live: how long to wait for the exit to settle before re-protecting, ms (default 10,000). */
  settleTimeoutMs?: number;
}

/** The outcome of {@linkcode OrderClient.exit}. */
export interface ExitResult {
  /** `dry_run`, `paper` or `live`. */
  route: TradingRoute;
  /** Canonical pair id. */
  pair: string;
  /** The exit volume asked for. */
  volume: string;
  /** The volume sold (dry run: none). */
  sold: string;
  /** Protective stops cancelled to free the volume. */
  cancelledStops: string[];
  /** The stop placed for what the cancelled stops held beyond the sale. */
  reprotect: { orderId: string | null; volume: string; trigger: string } | null;
  /** The exit order. */
  exit: PlaceResult | null;
  /** Holding left without a stop after the exit (base). */
  uncovered: string;
  /** What went wrong after the first step, when something did. */
  problem: string | null;
}

/** The outcome of {@linkcode OrderClient.cancelAll}. */
export interface CancelAllResult extends CancelAck {
  /** Protective stops that were kept. */
  keptStops: string[];
  /** With `includeStops`: holdings left without a stop, per asset. */
  uncovered: Record<string, string>;
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

function unsettled(state: OrderLifecycleState): boolean {
  return state.status === "pending_new" || state.status === "ambiguous";
}

function maxZero(value: string): string {
  return compareDecimal(value, "0") > 0 ? value : "0";
}

/** The limit price of a report, else its trigger price, as text. */
function priceOf(report: ExecutionReport): string | null {
  const price = report.limit_price ?? report.triggers?.price;
  return price === undefined ? null : String(price);
}

/** Id prefix of an order counted between the gate and Kraken's answer. */
const RESERVED = "reserved:";

/** The risk model's view of an order this client sent. */
function riskOrderOf(prepared: PreparedOrder, id: string): RiskOrder {
  const order = prepared.order;
  return {
    id,
    pair: prepared.pair.id,
    symbol: prepared.pair.wsV2,
    base: prepared.pair.base,
    side: order.side,
    type: order.type,
    remaining: order.volume,
    price: order.price ?? null,
    closeAttached: order.stopLoss !== undefined,
  };
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
  #now: Now;
  #setTimer: SetTimer;
  #randomUuid: (() => string) | undefined;
  #reconcileRetryMs: number;
  #maxReconcileAttempts: number;
  #assets: Pick<AssetTable, "parseBalance">;
  #accountMaxAgeMs: number;
  #live: { account: RiskAccount; atMs: number } | undefined;
  #readAccount: (() => Promise<RiskAccount>) | undefined;
  #books: ((pairId: string) => RiskBook | undefined) | undefined;
  #liveExecIds = new Set<string>();
  /** Orders `executions` reported finished since the last read. */
  #liveDone = new Set<string>();
  #hydrating: Promise<RiskAccount> | undefined;
  #streamAttached = false;

  #orders = new Map<string, TrackedOrder>();
  #byOrderId = new Map<string, string>();
  #closeParents = new Map<string, string>();
  #listeners = new Set<(event: OrderClientEvent) => void>();
  #onListenerError: ListenerErrorHandler;
  #settleWaiters = new Map<string, Array<() => void>>();
  #finishWaiters = new Map<string, Array<() => void>>();
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
    this.#onListenerError = options.onListenerError ?? rethrowLater;
    this.#pairs = options.pairs;
    this.#transport = options.transport;
    this.#rest = options.rest;
    this.#paper = options.paper;
    this.#universe = options.universe === undefined
      ? undefined
      : [...options.universe];
    this.#now = options.now ?? systemClock.now;
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    this.#randomUuid = options.randomUuid;
    this.#reconcileRetryMs = options.reconcileRetryMs ?? 5_000;
    this.#maxReconcileAttempts = options.maxReconcileAttempts ?? 5;
    this.#assets = options.assets ?? AssetTable.fallback();
    this.#accountMaxAgeMs = options.accountMaxAgeMs ?? 30_000;
    this.#readAccount = options.readAccount;
    this.#books = options.books;
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
    this.#streamAttached = true;
    this.#offStream = stream.on((event) => {
      if (event.type === "executions") {
        this.applyExecutions(event.reports, event.sequence);
      } else if (event.type === "resync") {
        this.applyResync(event.result);
        // A gap or reconnect hid events: read the account again next time.
        this.#live = undefined;
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
    const route = this.#route();
    await this.#accountFor(route, false);
    // Read the state again after the await: other placements may have
    // reserved exposure meanwhile. From here to the reservation nothing
    // awaits, so no two placements are judged against the same state.
    const account = context.account ?? this.#currentAccount(route);
    const prepared = this.prepare(
      request,
      account === undefined ? context : { ...context, account },
    );
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
        return this.#placePaper(
          prepared,
          context.book ?? this.#books?.(prepared.pair.id),
        );
      case "live":
        // Counted as open from the moment it passed the gate: concurrent
        // placements cannot each see the exposure without the others.
        this.#reserve(prepared);
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
    return this.#gate({ ...request, pair: pair.id }, pair, context, {});
  }

  #gate(
    request: OrderRequest,
    pair: PairMetadata,
    context: PlaceContext,
    amend: { replacesOrderId?: string; alreadyFilled?: string },
  ): PreparedOrder {
    const gate: GateContext = {
      config: this.#config,
      liveSwitch: this.#liveSwitch,
      pair,
      nowMs: this.#now(),
      ...amend,
    };
    if (context.account !== undefined) gate.account = context.account;
    const book = context.book ??
      (context.referencePrice === undefined
        ? this.#books?.(pair.id) ??
          (this.#route() === "paper" ? this.#paper?.book(pair.id) : undefined)
        : undefined);
    if (book !== undefined) gate.book = book;
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
    if (this.#route() !== "live") {
      throw new TypeError("A batch is only placed on the live route");
    }
    // Each order is judged with the ones before it in the batch counted
    // as open: a batch cannot split an exposure the gate would refuse.
    await this.#accountFor("live", false);
    let account = context.account ?? this.#currentAccount("live")!;
    const prepared: PreparedOrder[] = [];
    for (const [i, request] of requests.entries()) {
      const one = this.prepare(request, { ...context, account });
      prepared.push(one);
      account = {
        held: account.held,
        orders: [...account.orders, riskOrderOf(one, `batch:${i}`)],
      };
    }
    const transport = this.#liveTransport();
    const keys = prepared.map((p) => this.#track(p, "live"));
    for (const one of prepared) this.#reserve(one);
    try {
      const rows = await transport.addOrderBatch(
        prepared,
        context.signal === undefined ? {} : { signal: context.signal },
      );
      rows.forEach((row, i) => {
        const key = keys[i]!;
        if (row.orderId !== null) {
          this.#orders.get(key)!.changedAtMs = this.#now();
          this.#noteLiveOrder(prepared[i]!, row.orderId);
          this.#step(key, {
            type: "reply.accepted",
            orderId: row.orderId,
            atMs: this.#now(),
          });
        } else {
          this.#orders.get(key)!.error = row.error;
          this.#settleReservation(prepared[i]!, "refused");
          this.#step(key, {
            type: "reply.error",
            code: row.error ?? "EGeneral:Internal error",
            atMs: this.#now(),
          });
        }
      });
    } catch (error) {
      keys.forEach((key, i) => {
        this.#failed(key, error);
        const status = this.#orders.get(key)!.state.status;
        this.#settleReservation(
          prepared[i]!,
          status === "ambiguous" || status === "pending_new"
            ? "unknown"
            : "refused",
        );
      });
    }
    return keys;
  }

  /**
   * Cancels an order: a tracked one (by Kraken id when known, else by
   * client ref) or any open order of the account by its id, charging the
   * trading counter for its age. A protective stop whose removal would
   * leave its holding uncovered is refused (rule `stop_protects_position`):
   * close the position instead.
   *
   * @param key The tracking key or order id.
   * @returns The count.
   * @throws {OrderRejectedError} When the risk model refused it.
   * @throws {RangeError} For an unknown key.
   * @throws {KrakenError} When Kraken refused or the call failed.
   */
  async cancel(key: string): Promise<CancelAck> {
    const tracked = this.#find(key);
    const route = tracked?.route ?? this.#route();
    if (route !== "paper" && route !== "live") {
      throw new RangeError(`No open order "${key}": nothing was ever sent`);
    }
    const account = await this.#accountFor(route, true);
    const orderId = tracked?.state.orderId ??
      (account !== undefined && findOrder(account, key) !== undefined
        ? key
        : null);
    if (tracked === undefined && orderId === null) {
      throw new RangeError(`No open order "${key}"`);
    }
    if (orderId !== null && account !== undefined) {
      const refusal = judgeCancel(account, orderId);
      if (refusal !== null) throw new OrderRejectedError(refusal);
    }
    return await this.#cancelUnchecked(route, orderId, tracked);
  }

  /**
   * Cancels every open order except protective stops; with
   * `includeStops`, every order, and the result names the holdings that
   * are left without a stop.
   *
   * @param options `includeStops`: remove protective stops too.
   * @returns The count, the stops kept and what is left uncovered.
   * @throws {OrderRejectedError} In read-only mode or without the live switches.
   * @throws {KrakenError} When the call failed.
   */
  async cancelAll(
    options: { includeStops?: boolean } = {},
  ): Promise<CancelAllResult> {
    const route = this.#route();
    const includeStops = options.includeStops === true;
    if (route === undefined) {
      const refused = resolveRoute(this.#config, this.#liveSwitch);
      if (!refused.ok) throw new OrderRejectedError(refused.rejection);
    }
    if (route !== "paper" && route !== "live") {
      return { count: 0, keptStops: [], uncovered: {} };
    }
    const account = (await this.#accountFor(route, true))!;
    const plan = planCancelAll(account, includeStops);
    const keptStops = plan.kept.map((o) => o.id);
    let count = 0;
    if (route === "paper") {
      for (const order of plan.cancel) {
        const ack = await this.#cancelUnchecked("paper", order.id, undefined);
        count += ack.count;
      }
    } else if (includeStops) {
      count = (await this.#liveTransport().cancelAll()).count;
      this.#live = undefined;
    } else {
      const ids = plan.cancel.map((o) => o.id);
      for (let i = 0; i < ids.length; i += 50) {
        const chunk = ids.slice(i, i + 50);
        count += (await this.#liveTransport().cancelOrderBatch({
          orderIds: chunk,
        })).count;
      }
      this.#live = undefined;
    }
    return { count, keptStops, uncovered: plan.uncovered };
  }

  /**
   * Amends a live or paper order in place (keeps its id and, where
   * possible, its queue priority; paper: the limit price only), judged as
   * the order it produces: an entry passes the
   * whole gate again (stop side against the new fill price, notional and
   * exposure); a protective stop may not shrink below its holding nor move
   * its trigger to the wrong side of the bid; an order the client did not
   * place may only shrink. The new values show up through `executions`.
   *
   * @param key The tracking key or Kraken order id.
   * @param changes The new values.
   * @param context Market inputs for the checks.
   * @returns The amend id.
   * @throws {OrderRejectedError} When the gate or the risk model refused it.
   * @throws {RangeError} For an unknown key, or a paper quantity change.
   * @throws {KrakenError} When Kraken refused or the call failed.
   */
  async amend(
    key: string,
    changes: AmendChanges,
    context: MarketContext = {},
  ): Promise<AmendAck> {
    const tracked = this.#find(key);
    if ((tracked?.route ?? this.#route()) === "paper") {
      return this.#amendPaper(key, tracked, changes, context);
    }
    if (tracked === undefined && this.#route() !== "live") {
      throw new RangeError(`No live order "${key}" to amend`);
    }
    const account = (await this.#accountFor("live", true))!;
    const orderId = tracked?.state.orderId ?? key;
    const open = findOrder(account, orderId);
    if (open === undefined && tracked === undefined) {
      throw new RangeError(`No open order "${key}"`);
    }
    const ref = tracked?.state.ref;
    const target = tracked === undefined || tracked.state.orderId !== null
      ? { orderId }
      : ref!.kind === "cl_ord_id"
      ? { clOrdId: ref!.clOrdId }
      : undefined;
    if (target === undefined) {
      throw new RangeError(
        `Cannot amend "${key}": its Kraken order id is not known yet`,
      );
    }
    this.#judgeAmend(tracked, open, account, changes, context);
    const pairId = tracked?.prepared.pair.id ?? open?.pair;
    const ack = await this.#liveTransport().amendOrder({
      target,
      ...(pairId === undefined ? {} : { pair: pairId }),
      ...(tracked === undefined
        ? {}
        : { ageMs: this.#now() - tracked.changedAtMs }),
      ...changes,
    });
    if (tracked !== undefined) {
      tracked.changedAtMs = this.#now();
      // Kraken accepted it: the price as amended, until `executions` say more.
      if (changes.limitPrice !== undefined) {
        tracked.state.limitPrice = changes.limitPrice;
      }
    }
    this.#live = undefined;
    return ack;
  }

  /**
   * The paper side of {@linkcode amend}: the same judgement against the
   * paper account, then the broker amends in place (limit price only).
   */
  #amendPaper(
    key: string,
    tracked: TrackedOrder | undefined,
    changes: AmendChanges,
    context: MarketContext,
  ): AmendAck {
    const paper = this.#paperBroker();
    const account = this.#paperAccount();
    const orderId = tracked?.state.orderId ?? key;
    const open = findOrder(account, orderId);
    if (open === undefined) throw new RangeError(`No open order "${key}"`);
    if (changes.orderQty !== undefined || changes.displayQty !== undefined) {
      throw new RangeError(
        `Paper amends change the limit price only, not the quantity of "${key}"`,
      );
    }
    this.#judgeAmend(tracked, open, account, changes, context);
    const result = paper.amend(orderId, {
      ...(changes.limitPrice === undefined
        ? {}
        : { limitPrice: changes.limitPrice }),
      ...(changes.postOnly === undefined ? {} : { postOnly: changes.postOnly }),
    });
    this.applyExecutions(result.reports, result.sequence || undefined);
    if (!result.accepted) {
      throw new OrderRejectedError(
        result.rejection ?? reject("order_closed", `Cannot amend "${key}"`),
      );
    }
    if (tracked !== undefined) {
      this.#orders.get(tracked.key)!.changedAtMs = this.#now();
    }
    return { amendId: `${orderId}/${result.sequence}` };
  }

  /**
   * Sells (part of) a holding: the exit may not exceed what is held; when
   * protective stops hold the volume, only as many as needed are cancelled
   * first, the exit is sent (market, or an immediate-or-cancel limit), and
   * whatever the cancelled stops held beyond what was sold is covered again
   * by a new stop at the nearest cancelled trigger. If anything after the
   * first step fails, the result says what is left uncovered.
   *
   * @param spelling Any spelling of the pair.
   * @param volume Base volume to sell, or `"all"`.
   * @param options Market inputs, limit price, settle timeout.
   * @returns What was sold, cancelled and placed.
   * @throws {OrderRejectedError} When the gate or the risk model refused it (nothing was touched).
   * @throws {RangeError} For an unknown pair.
   */
  async exit(
    spelling: string,
    volume: string | "all",
    options: ExitOptions = {},
  ): Promise<ExitResult> {
    if (this.#closed) throw new TypeError("Cannot exit: the client is closed");
    const pair = this.#resolvePair(spelling);
    const route = this.#route();
    if (route === undefined) {
      const refused = resolveRoute(this.#config, this.#liveSwitch);
      throw new OrderRejectedError(
        refused.ok ? reject("mode_read_only", "No route") : refused.rejection,
      );
    }
    // A dry run previews against the real account when it can read it
    // (read-only calls), so an exit can be checked before it is sent.
    const account = route === "dry_run"
      ? options.account ??
        (this.#rest !== undefined || this.#readAccount !== undefined
          ? await this.#hydrateLive()
          : { held: {}, orders: [] })
      : (await this.#accountFor(route, true))!;
    const plan = planExit(account, pair.base, volume, {
      volumeDecimals: pair.volumeDecimals,
    });
    if (!plan.ok) throw new OrderRejectedError(plan.rejection);
    const request: OrderRequest = {
      pair: pair.id,
      side: "sell",
      type: options.limitPrice === undefined ? "market" : "limit",
      volume: plan.volume,
      intent: "exit",
      // Fee in quote: the sale takes exactly its volume from the holding,
      // so what is left matches what the stops are resized to.
      feeIn: "quote",
      ...(options.limitPrice === undefined
        ? {}
        : { price: options.limitPrice, timeInForce: "IOC" as const }),
    };
    let after: RiskAccount = account;
    for (const stop of plan.cancel) after = withoutOrder(after, stop.id);
    const market: PlaceContext = {};
    if (options.book !== undefined) market.book = options.book;
    if (options.referencePrice !== undefined) {
      market.referencePrice = options.referencePrice;
    }
    if (options.usdPrice !== undefined) market.usdPrice = options.usdPrice;
    // Judge the exit as it will be sent before touching anything.
    this.#gate(request, pair, { ...market, account: after }, {});
    const uncoveredBefore = uncoveredVolume(account, pair.base);
    const result: ExitResult = {
      route,
      pair: pair.id,
      volume: plan.volume,
      sold: "0",
      cancelledStops: [],
      reprotect: null,
      exit: null,
      uncovered: uncoveredBefore,
      problem: null,
    };
    if (route === "dry_run") {
      result.exit = await this.place(request, { ...market, account: after });
      result.cancelledStops = plan.cancel.map((o) => o.id);
      return result;
    }
    try {
      for (const stop of plan.cancel) {
        await this.#cancelUnchecked(route, stop.id, this.#find(stop.id));
        result.cancelledStops.push(stop.id);
      }
      // The cancels are confirmed: judge the sale without them, no reread.
      const placed = await this.place(request, {
        ...market,
        account: after,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      result.exit = placed;
      if (placed.route === "live" && placed.error === undefined) {
        await this.#settled(placed.key, options.settleTimeoutMs ?? 10_000);
      }
      if (placed.route !== "dry_run") {
        result.sold = this.#find(placed.key)?.state.filledQty ?? "0";
      }
    } catch (error) {
      result.problem = error instanceof Error ? error.message : String(error);
    }
    await this.#reprotect(route, pair, plan.reprotectTrigger, {
      uncoveredBefore,
      freed: plan.cancel.reduce(
        (sum, stop) =>
          result.cancelledStops.includes(stop.id)
            ? addDecimal(sum, stop.remaining)
            : sum,
        "0",
      ),
      result,
      market,
    });
    return result;
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
    for (const report of reports) this.#applyToLiveAccount(report);
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

  // ---- account state ----

  /** The route of the configured mode, or `undefined` when it refuses. */
  #route(): TradingRoute | undefined {
    const route = resolveRoute(this.#config, this.#liveSwitch);
    return route.ok ? route.route : undefined;
  }

  #find(key: string): TrackedOrder | undefined {
    return this.#orders.get(key) ??
      this.#orders.get(this.#byOrderId.get(key) ?? "");
  }

  #resolvePair(spelling: string): PairMetadata {
    let pair: PairMetadata | undefined;
    try {
      pair = this.#pairs(spelling);
    } catch (error) {
      throw new RangeError(`Unknown pair "${spelling}"`, { cause: error });
    }
    if (pair === undefined) throw new RangeError(`Unknown pair "${spelling}"`);
    return pair;
  }

  /**
   * The account state the risk model judges: the paper broker's (always
   * current) or the live account (REST `Balance` + `OpenOrders`, kept
   * current from `executions`). `fresh` reads the live account again.
   *
   * @param options `fresh`: read the live account from REST now.
   * @returns The state; `undefined` in dry-run and read-only modes.
   * @throws {TypeError} Live without a REST reader.
   * @throws {KrakenError} When the REST reads failed.
   */
  async account(
    options: { fresh?: boolean } = {},
  ): Promise<RiskAccount | undefined> {
    return await this.#accountFor(this.#route(), options.fresh === true);
  }

  async #accountFor(
    route: TradingRoute | undefined,
    fresh: boolean,
  ): Promise<RiskAccount | undefined> {
    if (route === "paper" && this.#paper !== undefined) {
      return this.#paperAccount();
    }
    if (route !== "live") return undefined;
    const cached = this.#live;
    // With a private stream attached the state is kept current from
    // `executions` (and read again after every resync); without one,
    // `fresh` reads it again and placements reread it when it is old.
    if (
      cached !== undefined &&
      (this.#streamAttached ||
        (!fresh && this.#now() - cached.atMs <= this.#accountMaxAgeMs))
    ) return cached.account;
    return await this.#hydrateLive();
  }

  /** The state as it is now, without reading anything. */
  #currentAccount(route: TradingRoute | undefined): RiskAccount | undefined {
    if (route === "paper" && this.#paper !== undefined) {
      return this.#paperAccount();
    }
    return route === "live" ? this.#live?.account : undefined;
  }

  #paperAccount(): RiskAccount {
    const paper = this.#paperBroker();
    const orders: RiskOrder[] = [];
    for (const order of paper.openOrders()) {
      const pair = this.#tryPair(order.pair);
      if (pair === undefined) continue;
      orders.push({
        id: order.id,
        pair: pair.id,
        symbol: pair.wsV2,
        base: pair.base,
        side: order.side,
        type: order.type,
        remaining: subtractDecimal(order.volume, order.filledQty),
        price: order.price,
        closeAttached: order.stopLoss !== null,
      });
    }
    return { held: paper.balances(), orders };
  }

  /** One REST read at a time: concurrent callers share it. */
  #hydrateLive(): Promise<RiskAccount> {
    this.#hydrating ??= this.#readLive().finally(() => {
      this.#hydrating = undefined;
    });
    return this.#hydrating;
  }

  async #readLive(): Promise<RiskAccount> {
    if (this.#readAccount !== undefined) {
      const atMs = this.#now();
      const account = await this.#readAccount();
      this.#live = { account, atMs };
      this.#liveExecIds.clear();
      return account;
    }
    const rest = this.#rest;
    if (rest === undefined) {
      throw new TypeError(
        "Live orders are judged against the account: give the client a REST reader (rest) or pass context.account",
      );
    }
    const atMs = this.#now();
    const [balance, open] = await Promise.all([
      rest.callPrivate("Balance"),
      rest.callPrivate("OpenOrders"),
    ]);
    const held: Record<string, string> = {};
    for (const [code, value] of Object.entries(record(balance.result))) {
      if (typeof value !== "string" || !/^-?\d+(\.\d+)?$/.test(value)) continue;
      const parsed = this.#assets.parseBalance(code);
      if (parsed.suffix !== null) continue;
      held[parsed.asset] = held[parsed.asset] === undefined
        ? value
        : addDecimal(held[parsed.asset]!, value);
    }
    const orders: RiskOrder[] = [];
    const rows = record(record(open.result).open) as Record<string, OrderInfo>;
    for (const [id, info] of Object.entries(rows)) {
      const descr = record(info.descr);
      const pair = this.#tryPair(String(descr.pair ?? ""));
      if (pair === undefined) continue;
      const side = descr.type === "sell" ? "sell" : "buy";
      // Relative prices (`+2%`, `#5`) and zero mean no absolute price.
      const price = typeof descr.price === "string" &&
          /^\d+(\.\d+)?$/.test(descr.price) &&
          compareDecimal(descr.price, "0") > 0
        ? descr.price
        : null;
      orders.push({
        id,
        pair: pair.id,
        symbol: pair.wsV2,
        base: pair.base,
        side,
        type: String(descr.ordertype ?? ""),
        remaining: subtractDecimal(
          String(info.vol ?? "0"),
          String(info.vol_exec ?? "0"),
        ),
        price,
        closeAttached: typeof descr.close === "string" && descr.close !== "",
      });
    }
    // Orders that passed the gate but have no answer yet still count.
    const reserved =
      this.#live?.account.orders.filter((o) =>
        o.id.startsWith(RESERVED) && !orders.some((x) => x.id === o.id)
      ) ?? [];
    const account: RiskAccount = { held, orders: [...orders, ...reserved] };
    this.#live = { account, atMs };
    this.#liveExecIds.clear();
    return account;
  }

  #tryPair(spelling: string): PairMetadata | undefined {
    try {
      return this.#pairs(spelling);
    } catch {
      return undefined;
    }
  }

  #reserve(prepared: PreparedOrder): void {
    const live = this.#live;
    if (live === undefined || prepared.order.validateOnly === true) return;
    const id = RESERVED + orderKey(prepared.order.clientRef);
    live.account = {
      held: live.account.held,
      orders: [
        ...live.account.orders.filter((o) => o.id !== id),
        riskOrderOf(prepared, id),
      ],
    };
  }

  /**
   * The answer to a reserved placement: accepted orders count as open
   * under their id until `executions` say otherwise; refused ones stop
   * counting; an ambiguous one keeps counting until reconciled.
   */
  #settleReservation(
    prepared: PreparedOrder,
    outcome: { orderId: string } | "refused" | "unknown",
  ): void {
    const live = this.#live;
    if (live === undefined || outcome === "unknown") return;
    const id = RESERVED + orderKey(prepared.order.clientRef);
    let orders = live.account.orders.filter((o) => o.id !== id);
    if (
      outcome !== "refused" && !orders.some((o) => o.id === outcome.orderId) &&
      !this.#liveDone.has(outcome.orderId)
    ) {
      orders = [...orders, riskOrderOf(prepared, outcome.orderId)];
    }
    live.account = { held: live.account.held, orders };
  }

  /** An order Kraken accepted counts as open until `executions` say otherwise. */
  #noteLiveOrder(prepared: PreparedOrder, orderId: string): void {
    this.#settleReservation(prepared, { orderId });
  }

  /** Keeps the live account current from one `executions` report. */
  #applyToLiveAccount(report: ExecutionReport): void {
    const live = this.#live;
    const id = report.order_id;
    if (live === undefined || id === undefined) return;
    if (this.#paper !== undefined && this.#route() === "paper") return;
    let orders = live.account.orders;
    let held = live.account.held;
    const existing = orders.find((o) => o.id === id);
    const status = report.order_status ?? report.exec_type;
    if (
      existing === undefined && report.order_qty !== undefined &&
      report.symbol !== undefined && report.side !== undefined &&
      (status === "new" || status === "pending_new" ||
        status === "partially_filled")
    ) {
      const pair = this.#tryPair(report.symbol);
      if (pair !== undefined) {
        orders = [...orders, {
          id,
          pair: pair.id,
          symbol: pair.wsV2,
          base: pair.base,
          side: report.side,
          type: report.order_type ?? "",
          remaining: subtractDecimal(
            String(report.order_qty),
            String(report.cum_qty ?? "0"),
          ),
          price: priceOf(report),
          closeAttached: false,
        }];
      }
    }
    const order = orders.find((o) => o.id === id);
    if (
      report.exec_type === "trade" && report.exec_id !== undefined &&
      report.last_qty !== undefined && !this.#liveExecIds.has(report.exec_id)
    ) {
      this.#liveExecIds.add(report.exec_id);
      const qty = String(report.last_qty);
      const side = report.side ?? order?.side;
      const base = order?.base ??
        (report.symbol === undefined
          ? undefined
          : this.#tryPair(report.symbol)?.base);
      if (base !== undefined && side !== undefined) {
        let next = side === "buy"
          ? addDecimal(held[base] ?? "0", qty)
          : subtractDecimal(held[base] ?? "0", qty);
        // A fee taken in the base asset (Kraken's default on sells) leaves
        // less of it than the fill alone says.
        for (const fee of report.fees ?? []) {
          if (this.#assets.parseBalance(fee.asset).asset === base) {
            next = subtractDecimal(next, String(fee.qty));
          }
        }
        held = { ...held, [base]: next };
      }
      if (order !== undefined) {
        orders = orders.map((o) =>
          o.id === id
            ? { ...o, remaining: maxZero(subtractDecimal(o.remaining, qty)) }
            : o
        );
      }
    }
    if (
      report.order_qty !== undefined && order !== undefined &&
      (report.exec_type === "amended" || report.exec_type === "restated")
    ) {
      orders = orders.map((o) =>
        o.id === id
          ? {
            ...o,
            remaining: subtractDecimal(
              String(report.order_qty),
              String(report.cum_qty ?? "0"),
            ),
          }
          : o
      );
    }
    if (
      status === "filled" || status === "canceled" || status === "expired" ||
      status === "rejected"
    ) {
      orders = orders.filter((o) => o.id !== id);
      // The answer to our own placement may come after its last report.
      this.#liveDone.add(id);
      if (this.#liveDone.size > 10_000) {
        this.#liveDone.delete(this.#liveDone.values().next().value!);
      }
    }
    live.account = { held, orders };
  }

  async #cancelUnchecked(
    route: "paper" | "live",
    orderId: string | null,
    tracked: TrackedOrder | undefined,
  ): Promise<CancelAck> {
    if (route === "paper") {
      const paper = this.#paperBroker();
      if (orderId === null) return { count: 0 };
      const result = paper.cancel(orderId);
      this.applyExecutions(result.reports, result.sequence || undefined);
      return { count: result.accepted ? 1 : 0 };
    }
    const ref = tracked?.state.ref;
    const target = orderId !== null
      ? { orderId }
      : ref!.kind === "cl_ord_id"
      ? { clOrdId: ref!.clOrdId }
      : { userref: ref!.userref };
    const ack = await this.#liveTransport().cancelOrder(target, {
      ...(tracked === undefined ? {} : {
        pair: tracked.prepared.pair.id,
        ageMs: this.#now() - tracked.changedAtMs,
      }),
    });
    if (ack.count > 0 && orderId !== null) {
      // The answer proves it; the executions stream may confirm later.
      this.applyExecutions([{
        "order_id": orderId,
        "exec_type": "canceled",
        "order_status": "canceled",
        reason: "User requested",
      }]);
    }
    return ack;
  }

  #judgeAmend(
    tracked: TrackedOrder | undefined,
    open: RiskOrder | undefined,
    account: RiskAccount,
    changes: AmendChanges,
    context: MarketContext,
  ): void {
    const filled = tracked?.state.filledQty ?? "0";
    if (open !== undefined && isProtectiveStop(open)) {
      const bestBid = context.book?.bids[0]?.price ?? context.referencePrice;
      const refusal = judgeStopAmend(account, open, {
        ...(changes.orderQty === undefined ? {} : {
          remaining: maxZero(subtractDecimal(changes.orderQty, filled)),
        }),
        ...(changes.triggerPrice === undefined
          ? {}
          : { triggerPrice: changes.triggerPrice }),
        ...(bestBid === undefined ? {} : { bestBid }),
      });
      if (refusal !== null) throw new OrderRejectedError(refusal);
      return;
    }
    if (tracked !== undefined) {
      const order = tracked.prepared.order;
      const next: OrderRequest = { ...order };
      if (changes.orderQty !== undefined) next.volume = changes.orderQty;
      if (changes.displayQty !== undefined) {
        next.displayVolume = changes.displayQty;
      }
      if (changes.limitPrice !== undefined) {
        if (order.type === "limit" || order.type === "iceberg") {
          next.price = changes.limitPrice;
        } else next.price2 = changes.limitPrice;
      }
      if (changes.triggerPrice !== undefined) {
        next.price = changes.triggerPrice;
      }
      if (changes.postOnly !== undefined) next.postOnly = changes.postOnly;
      const market: PlaceContext = { account };
      if (context.book !== undefined) market.book = context.book;
      if (context.referencePrice !== undefined) {
        market.referencePrice = context.referencePrice;
      }
      if (context.usdPrice !== undefined) market.usdPrice = context.usdPrice;
      this.#gate(next, tracked.prepared.pair, market, {
        ...(tracked.state.orderId === null
          ? {}
          : { replacesOrderId: tracked.state.orderId }),
        alreadyFilled: filled,
      });
      return;
    }
    // An order this client did not place: it may only shrink.
    const onlyShrinks = changes.limitPrice === undefined &&
      changes.triggerPrice === undefined && changes.orderQty !== undefined &&
      open !== undefined &&
      compareDecimal(changes.orderQty, open.remaining) <= 0;
    if (!onlyShrinks) {
      throw new OrderRejectedError(reject(
        "amend_unknown_order",
        `Order ${
          open?.id ?? "?"
        } was not placed by this client: its stop-loss is unknown, so it may only be reduced in quantity`,
        "orderId",
      ));
    }
  }

  /**
   * Waits, bounded, until an exit is no longer open: from `executions`
   * when a stream is attached, else by asking `QueryOrders` (one call,
   * cost 1) every 200 ms.
   */
  async #settled(key: string, timeoutMs: number): Promise<void> {
    const done = () => {
      const state = this.#orders.get(key)?.state;
      return state === undefined || TERMINAL_STATUSES.has(state.status);
    };
    if (done()) return;
    let timedOut = false;
    let wake: () => void = () => {};
    const cancelTimer = this.#setTimer(() => {
      timedOut = true;
      wake();
    }, timeoutMs);
    try {
      while (!done() && !timedOut) {
        const state = this.#orders.get(key)!.state;
        if (
          !unsettled(state) && !this.#streamAttached &&
          this.#rest !== undefined
        ) {
          await this.#reconcileFilled(key);
          if (done()) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
            const cancel = this.#setTimer(() => {
              this.#timers.delete(cancel);
              resolve();
            }, 200);
            this.#timers.add(cancel);
          });
        } else {
          // Woken by the lifecycle when the order finishes, or by the timeout.
          await new Promise<void>((resolve) => {
            wake = resolve;
            const list = this.#finishWaiters.get(key) ?? [];
            list.push(resolve);
            this.#finishWaiters.set(key, list);
          });
        }
      }
    } finally {
      cancelTimer();
    }
  }

  async #reconcileFilled(key: string): Promise<void> {
    const tracked = this.#orders.get(key);
    const id = tracked?.state.orderId;
    if (tracked === undefined || id === null || id === undefined) return;
    try {
      const answer = await this.#rest!.callPrivate("QueryOrders", {
        txid: id,
      });
      const info = record(record(answer.result)[id]) as unknown as OrderInfo;
      if (typeof info.status === "string") {
        this.#step(key, {
          type: "reconcile.found",
          orderId: id,
          order: info,
          atMs: this.#now(),
        });
      }
    } catch {
      // The fill stays unknown; the re-protect reads the account anyway.
    }
  }

  /**
   * After an exit: whatever the holding has beyond what was uncovered
   * before the exit gets a new stop at the nearest cancelled trigger.
   */
  async #reprotect(
    route: "paper" | "live",
    pair: PairMetadata,
    trigger: string | null,
    step: {
      uncoveredBefore: string;
      freed: string;
      result: ExitResult;
      market: PlaceContext;
    },
  ): Promise<void> {
    const { result } = step;
    let account: RiskAccount;
    try {
      account = (await this.#accountFor(route, true))!;
    } catch (error) {
      // Unknown: assume the worst, that the cancelled stops' volume is
      // held and only what is known sold is gone.
      result.uncovered = maxZero(
        subtractDecimal(
          addDecimal(step.uncoveredBefore, step.freed),
          result.sold,
        ),
      );
      result.problem ??= `Could not read the account after the exit (${
        error instanceof Error ? error.message : String(error)
      }): up to ${result.uncovered} ${pair.base} may be without a stop`;
      this.#emit({ type: "anomaly", key: null, message: result.problem });
      return;
    }
    const gap = maxZero(
      subtractDecimal(
        uncoveredVolume(account, pair.base),
        step.uncoveredBefore,
      ),
    );
    result.uncovered = uncoveredVolume(account, pair.base);
    if (compareDecimal(gap, "0") <= 0) return;
    if (compareDecimal(gap, pair.ordermin) < 0) {
      // Dust below the pair's minimum order cannot carry a stop.
      return;
    }
    if (trigger === null) {
      result.problem ??=
        `${gap} ${pair.base} is left without a stop: no cancelled stop had a trigger to reuse`;
      return;
    }
    try {
      const placed = await this.place({
        pair: pair.id,
        side: "sell",
        type: "stop-loss",
        volume: gap,
        price: trigger,
        intent: "exit",
        feeIn: "quote",
      }, { ...step.market, account });
      const orderId = placed.route === "dry_run" ? null : placed.state.orderId;
      const failed = placed.route === "live" && placed.error !== undefined;
      result.reprotect = { orderId, volume: gap, trigger };
      if (failed || orderId === null) {
        result.problem ??=
          `The new stop for ${gap} ${pair.base} at ${trigger} was not placed: ${
            placed.route === "live"
              ? placed.error?.message ?? "no order id"
              : "no order id"
          }`;
      }
      if (!failed && orderId !== null) {
        result.uncovered = maxZero(subtractDecimal(result.uncovered, gap));
      }
    } catch (error) {
      result.problem ??=
        `The new stop for ${gap} ${pair.base} at ${trigger} was refused: ${
          error instanceof Error ? error.message : String(error)
        }`;
    }
    if (result.problem !== null) {
      this.#emit({ type: "anomaly", key: null, message: result.problem });
    }
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
        this.#noteLiveOrder(prepared, ack.orderId);
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
      const status = this.#orders.get(key)!.state.status;
      this.#settleReservation(
        prepared,
        status === "ambiguous" || status === "pending_new"
          ? "unknown"
          : "refused",
      );
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
    if (TERMINAL_STATUSES.has(state.status)) {
      const finished = this.#finishWaiters.get(key);
      this.#finishWaiters.delete(key);
      for (const wake of finished ?? []) wake();
    }
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
    switch (effect.type) {
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
    callListeners(
      this.#listeners,
      event,
      this.#onListenerError,
      `OrderClient ${event.type}`,
    );
  }
}
