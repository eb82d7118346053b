/**
 * The server's order service: one {@linkcode OrderClient} per process, used
 * by the HTTP routes (`/api/orders`) and by the CLI (`krakked order`,
 * `cancel`, `paper`). Every order passes the core gate; this file only
 * parses input, gathers market inputs (the pair's book through REST
 * `Depth`), persists the paper broker and shapes the decision.
 *
 * Routes by `trading.mode`: `read_only` refuses (rule `mode_read_only`);
 * `dry_run` answers with the encoded request and sends nothing; `paper`
 * fills on a {@linkcode PaperBroker} fed from the pair's current book and
 * saved to `<config dir>/paper.json` (atomic write) after every change;
 * `live` sends through {@linkcode RestOrderTransport} and needs both
 * `trading.enable_live_orders: true` and the start-time switch.
 *
 * @module
 */

import type { KrakkedConfig, TradingMode } from "../core/config/config.ts";
import { loadMarketMetadata, type MarketMetadata } from "./cli/market.ts";
import type { PairMetadata } from "../core/market/pairs.ts";
import type { CallParams, RestAnswer } from "../core/rest/client.ts";
import { KrakenError } from "../core/rest/errors.ts";
import type {
  AssetInfo,
  AssetPairInfo,
  DepthResult,
} from "../core/rest/types.ts";
import type { FormPair, WsAddOrderParams } from "../core/trade/encode.ts";
import { resolveRoute } from "../core/trade/gates.ts";
import {
  OrderClient,
  type PlaceContext,
  type TrackedOrder,
} from "../core/trade/order_client.ts";
import type {
  OrderRequest,
  OrderSide,
  StopLoss,
  TimeInForce,
} from "../core/trade/order.ts";
import {
  type PaperBook,
  PaperBroker,
  type PaperBrokerState,
  type PaperFill,
  type PaperOrder,
  type PaperPosition,
} from "../core/trade/paper.ts";
import type { PrivateStream } from "../core/trade/private_stream.ts";
import { RestOrderTransport } from "../core/trade/rest_transport.ts";
import { OrderRejectedError } from "../core/trade/rules.ts";
import { readOptionalText, writePrivateFileAtomic } from "./files.ts";

/** File name of the paper broker's state inside the config directory. */
export const PAPER_FILE = "paper.json";

/** The paper account file of `serve --sim` (kept apart from the real one). */
export const SIM_PAPER_FILE = "paper-sim.json";

/** Depth levels fetched for a placement or a paper refresh. */
const DEPTH_LEVELS = 50;

const DECIMAL = /^\d{1,20}(\.\d{1,20})?$/;

/** What the service needs from the REST client (a `RestClient` fits). */
export interface OrderServiceRest {
  /** `Assets`. */
  assets(): Promise<Record<string, AssetInfo>>;
  /** `AssetPairs`. */
  assetPairs(): Promise<Record<string, AssetPairInfo>>;
  /** `Depth` for one pair. */
  depth(pair: string, count?: number): Promise<DepthResult>;
  /** Signed private call. */
  callPrivate(
    method: string,
    params?: CallParams,
  ): Promise<RestAnswer<unknown>>;
  /** Whether credentials are configured. */
  readonly hasCredentials: boolean;
}

/** Options of {@linkcode OrderService}. */
export interface OrderServiceOptions {
  /** The configuration (`trading.*`, `region.*`). */
  config: KrakkedConfig;
  /** `--live` or `KRAKKED_LIVE=1` was given at start. */
  liveSwitch: boolean;
  /** REST client (metadata, books, live orders). */
  rest: OrderServiceRest;
  /** Where the paper state lives; without it the paper account is in memory only. */
  paperPath?: string;
  /** The private stream whose executions feed live orders. */
  stream?: PrivateStream;
  /** Clock, ms (default `Date.now`). */
  now?: () => number;
  /** Starting balances of a new paper account (default: `trading.paper_starting_usd` in USD). */
  paperBalances?: Record<string, string>;
}

/** An order ticket: the JSON body of `POST /api/orders` and the CLI's flags. */
export interface OrderTicket {
  /** Any pair spelling (`XBTUSD`, `BTC/USD`). */
  pair: string;
  /** `buy` or `sell`. */
  side: OrderSide;
  /** `market` or `limit`. */
  type: "market" | "limit";
  /** Base volume, decimal text. */
  volume: string;
  /** Limit price (limit orders). */
  price?: string;
  /** Stop-loss trigger price; the gate refuses an entry without one. */
  stopLoss?: string;
  /** Take-profit price: placed as an exit once the entry has filled. */
  takeProfit?: string;
  /** Post-only (limit orders). */
  postOnly?: boolean;
  /** Time in force. */
  timeInForce?: TimeInForce;
  /** Ask Kraken to validate only (live). */
  validate?: boolean;
}

/** Input that is not a well-formed ticket. */
export class TicketError extends Error {
  /** Discriminator. */
  readonly kind = "ticket" as const;
  /** Error name. */
  override name = "TicketError";
}

/** The view of an order in answers. */
export interface OrderView {
  /** Tracking key or Kraken/paper order id. */
  key: string;
  /** Kraken's (or the paper broker's) order id, when known. */
  orderId: string | null;
  /** Canonical pair id. */
  pair: string;
  /** Side. */
  side: OrderSide;
  /** Order type. */
  type: string;
  /** Volume. */
  volume: string;
  /** Limit price, when any. */
  price: string | null;
  /** Filled volume. */
  filled: string;
  /** Lifecycle status. */
  status: string;
  /** Attached stop-loss trigger price. */
  stopLoss: string | null;
  /** `paper` or `live`. */
  route: "paper" | "live";
}

/** The service's answer to a placement. */
export type OrderDecision =
  | {
    decision: "accepted";
    /** `trading.mode`. */
    mode: TradingMode;
    /** Where it went. */
    route: "dry_run" | "paper" | "live";
    /** The attached stop-loss. */
    stopLoss: StopLoss | null;
    /** The order notional in USD. */
    notionalUsd: string;
    /** The price the gate assumed. */
    expectedPrice: string;
    /** The resulting order (null for dry-run and validate-only). */
    order: OrderView | null;
    /** Dry run: the encoded requests, nothing was sent. */
    encoded?: { rest: FormPair[]; ws: WsAddOrderParams | null };
    /** Paper: the fills of this placement. */
    fills?: PaperFill[];
    /** Live: Kraken's description, and whether it only validated. */
    description?: string;
    /** Live: `validate` was set, nothing was placed. */
    validateOnly?: boolean;
    /** The take-profit exit, when asked for. */
    takeProfit?: OrderDecision;
  }
  | {
    decision: "rejected";
    /** `trading.mode`. */
    mode: TradingMode;
    /** The rule that fired (a gate or paper rule id, or `exchange` for Kraken's refusal). */
    rule: string;
    /** The field at fault, when one is. */
    field?: string;
    /** Why. */
    message: string;
    /** Kraken's error code, for `exchange`. */
    code?: string;
  };

/** An answer to a cancel. */
export type CancelDecision =
  | { decision: "accepted"; mode: TradingMode; count: number }
  | {
    decision: "rejected";
    mode: TradingMode;
    rule: string;
    message: string;
    code?: string;
  };

/** The paper account. */
export interface PaperSummary {
  /** Balances by asset. */
  balances: Record<string, string>;
  /** Positions that are open or have P&L. */
  positions: PaperPosition[];
  /** Open paper orders. */
  openOrders: PaperOrder[];
  /** Totals across positions (quote currency; USD pairs only sum cleanly). */
  pnl: { realized: string; unrealized: string; fees: string; net: string };
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number" && Number.isFinite(value)) {
    return decimalText(String(value), field);
  }
  if (typeof value !== "string") {
    throw new TicketError(`${field} must be decimal text`);
  }
  return decimalText(value.trim(), field);
}

function decimalText(value: string, field: string): string {
  if (!DECIMAL.test(value)) {
    throw new TicketError(
      `${field} must be a positive decimal, got ${
        JSON.stringify(value.slice(0, 40))
      }`,
    );
  }
  return value;
}

/**
 * Parses and checks the shape of a ticket (JSON body or CLI flags). The
 * gate does the trading checks; this only refuses malformed input.
 *
 * @param body The parsed JSON.
 * @returns The ticket.
 * @throws {TicketError} Naming the field at fault.
 * @example Parse
 * ```ts
 * import { parseTicket } from "./orders.ts";
 * parseTicket({ pair: "XBTUSD", side: "buy", type: "limit", volume: "0.01",
 *   price: "25000", stopLoss: "24000" }).type; // "limit"
 * ```
 */
export function parseTicket(body: unknown): OrderTicket {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new TicketError("The order must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  const pair = b.pair;
  if (typeof pair !== "string" || !/^[A-Za-z0-9./_-]{2,24}$/.test(pair)) {
    throw new TicketError("pair must be a pair name such as XBTUSD");
  }
  if (b.side !== "buy" && b.side !== "sell") {
    throw new TicketError('side must be "buy" or "sell"');
  }
  const type = b.type ?? (b.price === undefined ? "market" : "limit");
  if (type !== "market" && type !== "limit") {
    throw new TicketError('type must be "market" or "limit"');
  }
  const volume = text(b.volume, "volume");
  if (volume === undefined) throw new TicketError("volume is required");
  const ticket: OrderTicket = { pair, side: b.side, type, volume };
  const price = text(b.price, "price");
  if (price !== undefined) ticket.price = price;
  const stopLoss = text(b.stopLoss, "stopLoss");
  if (stopLoss !== undefined) ticket.stopLoss = stopLoss;
  const takeProfit = text(b.takeProfit, "takeProfit");
  if (takeProfit !== undefined) ticket.takeProfit = takeProfit;
  for (const flag of ["postOnly", "validate"] as const) {
    const v = b[flag];
    if (v === undefined) continue;
    if (typeof v !== "boolean") {
      throw new TicketError(`${flag} must be true or false`);
    }
    ticket[flag] = v;
  }
  if (b.timeInForce !== undefined) {
    if (b.timeInForce !== "GTC" && b.timeInForce !== "IOC") {
      throw new TicketError('timeInForce must be "GTC" or "IOC"');
    }
    ticket.timeInForce = b.timeInForce;
  }
  return ticket;
}

/**
 * The core order request for a ticket.
 *
 * @param ticket The ticket.
 * @returns The entry request (stop-loss attached when given).
 * @example Request
 * ```ts
 * import { ticketRequest } from "./orders.ts";
 * ticketRequest({ pair: "XBTUSD", side: "buy", type: "market", volume: "1",
 *   stopLoss: "24000" }).stopLoss; // { type: "stop-loss", triggerPrice: "24000" }
 * ```
 */
export function ticketRequest(ticket: OrderTicket): OrderRequest {
  const request: OrderRequest = {
    pair: ticket.pair,
    side: ticket.side,
    type: ticket.type,
    volume: ticket.volume,
    intent: "entry",
  };
  if (ticket.price !== undefined) request.price = ticket.price;
  if (ticket.stopLoss !== undefined) {
    request.stopLoss = { type: "stop-loss", triggerPrice: ticket.stopLoss };
  }
  if (ticket.postOnly === true) request.postOnly = true;
  if (ticket.timeInForce !== undefined) {
    request.timeInForce = ticket.timeInForce;
  }
  if (ticket.validate === true) request.validateOnly = true;
  return request;
}

function bookOf(depth: DepthResult): PaperBook {
  return {
    bids: depth.bids.map(([price, qty]) => ({ price, qty })),
    asks: depth.asks.map(([price, qty]) => ({ price, qty })),
  };
}

function viewOf(tracked: TrackedOrder): OrderView {
  const order = tracked.prepared.order;
  return {
    key: tracked.key,
    orderId: tracked.state.orderId,
    pair: tracked.prepared.pair.id,
    side: order.side,
    type: order.type,
    volume: order.volume,
    price: order.price ?? null,
    filled: tracked.state.filledQty,
    status: tracked.state.status,
    stopLoss: order.stopLoss?.triggerPrice ?? null,
    route: tracked.route,
  };
}

function paperView(order: PaperOrder): OrderView {
  return {
    key: order.id,
    orderId: order.id,
    pair: order.pair,
    side: order.side,
    type: order.type,
    volume: order.volume,
    price: order.price,
    filled: order.filledQty,
    status: order.status,
    stopLoss: order.stopLoss?.triggerPrice ?? null,
    route: "paper",
  };
}

function addText(a: string, b: string): string {
  // Exact enough for display totals: scaled BigInt over 18 decimals.
  const scale = 18;
  const toUnits = (t: string) => {
    const negative = t.startsWith("-");
    const [int = "0", frac = ""] = (negative ? t.slice(1) : t).split(".");
    const units = BigInt(int + frac.padEnd(scale, "0").slice(0, scale));
    return negative ? -units : units;
  };
  const sum = toUnits(a) + toUnits(b);
  const negative = sum < 0n;
  const digits = (negative ? -sum : sum).toString().padStart(scale + 1, "0");
  const int = digits.slice(0, -scale);
  const frac = digits.slice(-scale).replace(/0+$/, "");
  return `${negative ? "-" : ""}${int}${frac ? "." + frac : ""}`;
}

/**
 * One order client per process with its gate, paper broker and live
 * transport. Calls are serialised so the paper file is written in order.
 *
 * @example Place on paper
 * ```ts ignore
 * import { OrderService } from "./orders.ts";
 * const service = new OrderService({ config, liveSwitch: false, rest, paperPath });
 * const decision = await service.place({ pair: "XBTUSD", side: "buy",
 *   type: "market", volume: "0.01", stopLoss: "24000" });
 * await service.close();
 * ```
 */
export class OrderService {
  #config: KrakkedConfig;
  #liveSwitch: boolean;
  #rest: OrderServiceRest;
  #paperPath: string | undefined;
  #stream: PrivateStream | undefined;
  #now: () => number;
  #paperBalances: Record<string, string>;
  #ready: Promise<{ market: MarketMetadata; client: OrderClient }> | undefined;
  #paper: PaperBroker | undefined;
  #transport: RestOrderTransport | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Creates the service; nothing is loaded until the first call.
   *
   * @param options Config, live switch, REST client, paper file, stream, clock.
   */
  constructor(options: OrderServiceOptions) {
    this.#config = options.config;
    this.#liveSwitch = options.liveSwitch;
    this.#rest = options.rest;
    this.#paperPath = options.paperPath;
    this.#stream = options.stream;
    this.#now = options.now ?? Date.now;
    this.#paperBalances = {
      ...(options.paperBalances ??
        { USD: String(options.config.trading.paper_starting_usd) }),
    };
  }

  /** `trading.mode` from the config. */
  get mode(): TradingMode {
    return this.#config.trading.mode;
  }

  /**
   * What the page shows about trading.
   *
   * @returns Mode, whether live is armed, and the limits.
   */
  info(): {
    mode: TradingMode;
    liveArmed: boolean;
    maxNotionalUsd: number;
    stopLossMaxDistancePct: number;
  } {
    const t = this.#config.trading;
    return {
      mode: t.mode,
      liveArmed: t.mode === "live" && t.enable_live_orders && this.#liveSwitch,
      maxNotionalUsd: t.max_notional_usd,
      stopLossMaxDistancePct: t.stop_loss_max_distance_pct,
    };
  }

  /**
   * Gates a ticket and sends it down the mode's route.
   *
   * @param ticket The ticket (see {@linkcode parseTicket}).
   * @returns The decision: accepted with the order, or rejected with the rule.
   * @throws {TicketError} For an unknown pair.
   * @throws {KrakenError} When market data could not be read.
   */
  place(ticket: OrderTicket): Promise<OrderDecision> {
    return this.#serial(() => this.#place(ticket));
  }

  /**
   * Cancels one order: a tracked one by key or id, else a paper order or a
   * live order by its id.
   *
   * @param id Tracking key or order id.
   * @returns The decision.
   * @throws {KrakenError} When Kraken could not be reached.
   */
  cancel(id: string): Promise<CancelDecision> {
    return this.#serial(async () => {
      const refused = this.#routeRefusal();
      if (refused !== undefined) return refused;
      const { client } = await this.#load();
      try {
        if (client.order(id) !== undefined) {
          const ack = await client.cancel(id);
          await this.#savePaper();
          return this.#cancelled(ack.count, id);
        }
        if (this.mode === "paper") {
          const result = this.#paper!.cancel(id);
          client.applyExecutions(result.reports);
          await this.#savePaper();
          return result.accepted
            ? { decision: "accepted", mode: this.mode, count: 1 }
            : this.#rejected(
              result.rejection?.rule ?? "unknown_order",
              result.rejection?.message ?? `No open paper order "${id}"`,
            );
        }
        if (this.mode === "live" && this.#transport !== undefined) {
          const ack = await this.#transport!.cancelOrder({ orderId: id });
          return this.#cancelled(ack.count, id);
        }
        if (this.mode === "live") {
          return this.#rejected(
            "no_credentials",
            "Live orders need Kraken credentials: run 'krakked setup'",
          );
        }
        return this.#rejected(
          "mode_dry_run",
          "trading.mode is dry_run: no order was ever sent, so there is nothing to cancel",
        );
      } catch (error) {
        if (error instanceof KrakenError && error.kind === "order") {
          return this.#rejected("exchange", error.message, error.code);
        }
        throw error;
      }
    });
  }

  /**
   * Cancels every open order of the mode's route.
   *
   * @returns The decision with the count.
   * @throws {KrakenError} When Kraken could not be reached.
   */
  cancelAll(): Promise<CancelDecision> {
    return this.#serial(async () => {
      const refused = this.#routeRefusal();
      if (refused !== undefined) return refused;
      if (this.mode === "dry_run") {
        return { decision: "accepted", mode: this.mode, count: 0 };
      }
      const { client } = await this.#load();
      const ack = await client.cancelAll();
      await this.#savePaper();
      return { decision: "accepted", mode: this.mode, count: ack.count };
    });
  }

  /**
   * The orders this process placed, plus open paper orders (paper mode).
   * Paper orders are first re-matched against fresh books.
   *
   * @returns The mode and the orders, oldest first.
   * @throws {KrakenError} When market data could not be read.
   */
  orders(): Promise<{ mode: TradingMode; orders: OrderView[] }> {
    return this.#serial(async () => {
      if (this.mode === "read_only") return { mode: this.mode, orders: [] };
      const { client } = await this.#load();
      if (this.mode === "paper") await this.#refreshPaper();
      const tracked = client.orders().map(viewOf);
      const seen = new Set(tracked.map((o) => o.orderId));
      const extra = this.mode === "paper"
        ? this.#paper!.openOrders().filter((o) => !seen.has(o.id)).map(
          paperView,
        )
        : [];
      return { mode: this.mode, orders: [...tracked, ...extra] };
    });
  }

  /**
   * The paper account (balances, positions, P&L, open orders), marked to
   * fresh books. Works in every mode.
   *
   * @returns The summary.
   * @throws {KrakenError} When market data could not be read.
   */
  paperSummary(): Promise<PaperSummary> {
    return this.#serial(async () => {
      await this.#load();
      await this.#refreshPaper();
      const paper = this.#paper!;
      const state = paper.serialize();
      const positions = Object.keys(state.positions).sort().map((pair) =>
        paper.position(pair)
      );
      let realized = "0";
      let unrealized = "0";
      let fees = "0";
      for (const p of positions) {
        realized = addText(realized, p.realizedPnl);
        unrealized = addText(unrealized, p.unrealizedPnl ?? "0");
        fees = addText(fees, p.fees);
      }
      const net = addText(addText(realized, unrealized), `-${fees}`)
        .replace(/^--/, "");
      return {
        balances: paper.balances(),
        positions,
        openOrders: paper.openOrders(),
        pnl: { realized, unrealized, fees, net },
      };
    });
  }

  /**
   * Starts the paper account over with the starting balances.
   *
   * @returns The new balances.
   */
  resetPaper(): Promise<Record<string, string>> {
    return this.#serial(async () => {
      const { market, client } = await this.#load();
      const paper = new PaperBroker({
        pairs: market.pairs,
        balances: this.#paperBalances,
        now: this.#now,
      });
      this.#paper = paper;
      await this.#savePaper();
      // Tracked paper orders belong to the old account: start a new client.
      await client.close();
      this.#ready = undefined;
      return paper.balances();
    });
  }

  /**
   * Arms the dead-man switch (Kraken's CancelAllOrdersAfter) when orders go
   * live: if this process stops refreshing it, Kraken cancels every open
   * order after `trading.dead_man_seconds`. Disarmed by {@linkcode close}.
   *
   * @returns Whether it was armed (live transport and a non-zero countdown).
   */
  async armDeadMan(): Promise<boolean> {
    const seconds = this.#config.trading.dead_man_seconds;
    if (seconds === 0 || this.mode !== "live" || !this.#rest.hasCredentials) {
      return false;
    }
    const { client } = await this.#load();
    // Refresh at a third of the countdown (Kraken: every 15–30 s for 60 s).
    client.startDeadMan({
      timeoutSec: seconds,
      refreshMs: Math.max(1_000, Math.floor((seconds * 1000) / 3)),
    });
    return true;
  }

  /**
   * Stops timers and detaches from the stream; open orders stay open.
   *
   * @returns Resolves when closed.
   */
  async close(): Promise<void> {
    await this.#queue.catch(() => {});
    const ready = this.#ready;
    if (ready === undefined) return;
    try {
      await (await ready).client.close();
    } catch {
      // Loading failed: nothing to close.
    }
  }

  // ---- internals ----

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #rejected(rule: string, message: string, code?: string): {
    decision: "rejected";
    mode: TradingMode;
    rule: string;
    message: string;
    code?: string;
  } {
    return code === undefined
      ? { decision: "rejected", mode: this.mode, rule, message }
      : { decision: "rejected", mode: this.mode, rule, message, code };
  }

  #cancelled(count: number, id: string): CancelDecision {
    return count > 0
      ? { decision: "accepted", mode: this.mode, count }
      : this.#rejected("unknown_order", `No open order "${id}" to cancel`);
  }

  #routeRefusal(): CancelDecision | undefined {
    const route = resolveRoute(this.#config, this.#liveSwitch);
    if (route.ok) return undefined;
    return this.#rejected(route.rejection.rule, route.rejection.message);
  }

  #load(): Promise<{ market: MarketMetadata; client: OrderClient }> {
    this.#ready ??= this.#open().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #open(): Promise<{ market: MarketMetadata; client: OrderClient }> {
    const market = await loadMarketMetadata(this.#rest, {
      supportsMargin: this.#config.region.supports_margin,
    });
    if (this.#paper === undefined) {
      const saved = this.#paperPath === undefined
        ? undefined
        : await readOptionalText(this.#paperPath);
      this.#paper = saved === undefined
        ? new PaperBroker({
          pairs: market.pairs,
          balances: this.#paperBalances,
          now: this.#now,
        })
        : PaperBroker.restore(JSON.parse(saved) as PaperBrokerState, {
          pairs: market.pairs,
          now: this.#now,
        });
    }
    const live = this.mode === "live" && this.#rest.hasCredentials;
    if (live) this.#transport ??= new RestOrderTransport(this.#rest);
    const client = new OrderClient({
      config: this.#config,
      liveSwitch: this.#liveSwitch,
      pairs: (spelling) => {
        try {
          return market.resolver.get(spelling);
        } catch {
          return undefined;
        }
      },
      paper: this.#paper,
      ...(live ? { transport: this.#transport!, rest: this.#rest } : {}),
      ...(live && this.#stream !== undefined ? { stream: this.#stream } : {}),
      now: this.#now,
    });
    return { market, client };
  }

  async #book(pair: PairMetadata): Promise<PaperBook> {
    return bookOf(await this.#rest.depth(pair.restKey, DEPTH_LEVELS));
  }

  async #refreshPaper(): Promise<void> {
    const paper = this.#paper!;
    const state = paper.serialize();
    const pairs = new Set([
      ...paper.openOrders().map((o) => o.pair),
      ...Object.entries(state.positions).filter(([, p]) => p.qty !== "0").map((
        [id],
      ) => id),
    ]);
    if (pairs.size === 0) return;
    const { market, client } = await this.#load();
    for (const id of pairs) {
      const pair = market.pairs.find((p) => p.id === id);
      if (pair === undefined) continue;
      if (this.mode === "paper") {
        client.updatePaperBook(id, await this.#book(pair));
      } else {
        paper.updateBook(id, await this.#book(pair));
      }
    }
    await this.#savePaper();
  }

  async #savePaper(): Promise<void> {
    if (this.#paperPath === undefined || this.#paper === undefined) return;
    await writePrivateFileAtomic(
      this.#paperPath,
      JSON.stringify(this.#paper.serialize(), null, 1),
    );
  }

  async #place(ticket: OrderTicket): Promise<OrderDecision> {
    const route = resolveRoute(this.#config, this.#liveSwitch);
    if (!route.ok) {
      const r = route.rejection;
      return {
        decision: "rejected",
        mode: this.mode,
        rule: r.rule,
        ...(r.field === undefined ? {} : { field: r.field }),
        message: r.message,
      };
    }
    const { market, client } = await this.#load();
    let pair: PairMetadata;
    try {
      pair = market.resolver.get(ticket.pair);
    } catch {
      throw new TicketError(`Unknown pair "${ticket.pair}"`);
    }
    if (route.route === "live" && !this.#rest.hasCredentials) {
      return this.#rejected(
        "no_credentials",
        "Live orders need Kraken credentials: run 'krakked setup'",
      );
    }
    const context: PlaceContext = {};
    if (ticket.type === "market" || route.route === "paper") {
      const book = await this.#book(pair);
      const best = ticket.side === "buy" ? book.asks[0] : book.bids[0];
      if (best !== undefined) context.referencePrice = best.price;
      if (route.route === "paper") context.book = book;
    }
    if (route.route === "paper") {
      context.positionBase = this.#paper!.position(pair.id).qty;
    }
    if (pair.quote !== "USD") {
      // The notional cap is in USD: price the quote asset through its USD
      // pair's ask (the higher side, so the cap errs on the safe side).
      const usdId = market.resolver.tryResolve(`${pair.quote}/USD`);
      const usdPair = usdId === undefined
        ? undefined
        : market.resolver.get(usdId);
      const ask = usdPair === undefined
        ? undefined
        : (await this.#book(usdPair)).asks[0]?.price;
      if (ask !== undefined) {
        context.usdPrice = (asset) => (asset === pair.quote ? ask : undefined);
      }
    }
    const decision = await this.#send(client, ticketRequest(ticket), context);
    if (
      decision.decision === "accepted" && ticket.takeProfit !== undefined
    ) {
      decision.takeProfit = await this.#takeProfit(
        client,
        ticket,
        decision,
        pair,
      );
    }
    await this.#savePaper();
    return decision;
  }

  async #send(
    client: OrderClient,
    request: OrderRequest,
    context: PlaceContext,
  ): Promise<OrderDecision> {
    let placed;
    try {
      placed = await client.place(request, context);
    } catch (error) {
      if (error instanceof OrderRejectedError) {
        return {
          decision: "rejected",
          mode: this.mode,
          rule: error.rule,
          ...(error.field === undefined ? {} : { field: error.field }),
          message: error.message.replace(/^Order rejected \([a-z_]+\): /, ""),
        };
      }
      throw error;
    }
    const prepared = placed.prepared;
    const base = {
      decision: "accepted" as const,
      mode: this.mode,
      route: placed.route,
      stopLoss: prepared.order.stopLoss ?? null,
      notionalUsd: prepared.notionalUsd,
      expectedPrice: prepared.expectedPrice,
    };
    switch (placed.route) {
      case "dry_run":
        return {
          ...base,
          order: null,
          encoded: { rest: placed.rest, ws: placed.ws },
        };
      case "paper": {
        const result = placed.paper;
        if (!result.accepted) {
          const r = result.rejection;
          return this.#rejected(
            r?.rule ?? "rejected",
            r?.message ?? "The paper broker refused the order",
          );
        }
        const tracked = client.order(placed.key);
        return {
          ...base,
          order: tracked === undefined ? null : viewOf(tracked),
          fills: result.fills,
        };
      }
      case "live": {
        if (placed.error !== undefined) {
          return this.#rejected(
            "exchange",
            placed.error.message,
            placed.error.code,
          );
        }
        const validateOnly = prepared.order.validateOnly === true;
        const tracked = validateOnly ? undefined : client.order(placed.key);
        return {
          ...base,
          order: tracked === undefined ? null : viewOf(tracked),
          ...(placed.ack?.description === undefined
            ? {}
            : { description: placed.ack.description }),
          validateOnly,
        };
      }
    }
  }

  /** A take-profit exit for what the entry filled, through the same gate. */
  async #takeProfit(
    client: OrderClient,
    ticket: OrderTicket,
    entry: Extract<OrderDecision, { decision: "accepted" }>,
    pair: PairMetadata,
  ): Promise<OrderDecision> {
    const filled = entry.order?.filled ?? "0";
    if (entry.route === "dry_run" || !/[1-9]/.test(filled)) {
      return this.#rejected(
        "take_profit_after_fill",
        "The take-profit is placed as an exit once the entry has filled; place it then",
      );
    }
    if (ticket.stopLoss !== undefined) {
      // Kraken spot attaches one close per order and has no
      // one-cancels-other: the stop-loss created on the fill holds the filled
      // volume, so a take-profit exit would only fail for lack of funds.
      return this.#rejected(
        "take_profit_blocked_by_stop",
        `The stop-loss attached to this entry holds the filled ${filled} ${pair.base}; Kraken spot has no one-cancels-other, so place the take-profit after the stop is cancelled or moved`,
      );
    }
    const context: PlaceContext = {};
    if (entry.route === "paper") {
      context.positionBase = this.#paper!.position(pair.id).qty;
    } else {
      context.positionBase = ticket.side === "buy" ? filled : `-${filled}`;
    }
    return await this.#send(client, {
      pair: pair.id,
      side: ticket.side === "buy" ? "sell" : "buy",
      type: "take-profit",
      volume: filled,
      price: ticket.takeProfit!,
      intent: "exit",
    }, context);
  }
}
