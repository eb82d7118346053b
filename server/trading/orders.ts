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
 * Every action — place, cancel, cancel-all, close — is judged by the core
 * risk model against the account (the paper broker's, or Kraken's from
 * `Balance` + `OpenOrders`): no exposure above the cap, no stop removed
 * while its position is open, exits never beyond what is held.
 *
 * @module
 */

import type { KrakkedConfig, TradingMode } from "@krakked/core/config/config";
import {
  loadMarketMetadata,
  type MarketMetadata,
} from "@krakked/core/market/metadata";
import type { PairMetadata } from "@krakked/core/market/pairs";
import type { CallParams, RestAnswer } from "@krakked/core/rest/client";
import { KrakenError, LOCAL_CODES } from "@krakked/core/rest/errors";
import type {
  AssetInfo,
  AssetPairInfo,
  DepthResult,
} from "@krakked/core/rest/types";
import type { FormPair, WsAddOrderParams } from "@krakked/core/trade/encode";
import { resolveRoute } from "@krakked/core/trade/gates";
import {
  type AmendChanges,
  type CancelAllResult,
  type ExitResult,
  type MarketContext,
  OrderClient,
  type OrderClientEvent,
  type PlaceContext,
  type TrackedOrder,
} from "@krakked/core/trade/order_client";
import { addDecimal, subtractDecimal } from "@krakked/core/decimal";
import {
  isProtectiveKind,
  isProtectiveStop,
  type RiskOrder,
} from "@krakked/core/trade/risk";
import {
  selectUniverse,
  universeConfigOf,
} from "@krakked/core/market/universe";
import type {
  OrderRequest,
  OrderSide,
  StopLoss,
  TimeInForce,
} from "@krakked/core/trade/order";
import {
  type PaperBook,
  PaperBroker,
  type PaperBrokerState,
  type PaperFill,
  type PaperOrder,
  type PaperPosition,
} from "@krakked/core/trade/paper";
import type { PrivateStream } from "@krakked/core/trade/private_stream";
import type { ListenerErrorHandler } from "@krakked/core/listeners";
import type { DeadManState, DeadManSwitch } from "@krakked/core/trade/dead_man";
import { RestOrderTransport } from "@krakked/core/trade/rest_transport";
import { OrderRejectedError } from "@krakked/core/trade/rules";
import {
  FILE_LIMITS,
  readOptionalText,
  writePrivateFileAtomic,
} from "../deno/files.ts";

/** File name of the paper broker's state inside the config directory. */
export const PAPER_FILE = "paper.json";

/** The paper account file of `serve --sim` (kept apart from the real one). */
export const SIM_PAPER_FILE = "paper-sim.json";

/** How long a placement waits for a just-watched pair's first WS book, ms. */
const FIRST_BOOK_WAIT_MS = 2_000;

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

/** Per-call options of the service's public methods. */
export interface CallerOptions {
  /**
   * The caller went away (an HTTP client disconnected): a call still
   * waiting for its turn, or still waiting to be sent, is dropped and never
   * reaches Kraken. An order already sent stays sent.
   */
  signal?: AbortSignal;
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
  /**
   * Live books the process already holds (the server's WS v2 book feed):
   * placements and paper fills read them first and fall back to REST
   * `Depth` only for a pair the feed has no current book of.
   */
  books?: BookSource;
  /**
   * Receives exceptions thrown by the order client's listeners (default:
   * rethrown from a microtask, which ends a Deno process).
   */
  onListenerError?: ListenerErrorHandler;
  /** Receives every order client event (lifecycle, fills, dead-man). */
  onOrderEvent?: (event: OrderClientEvent) => void;
}

/** A source of current books (best first), e.g. the server's WS v2 feed. */
export interface BookSource {
  /** The pair's current book, or `undefined` when none is synced and fresh. */
  book(pairId: string): PaperBook | undefined;
  /** Start following a pair (idempotent). */
  watch?(pair: PairMetadata): void;
  /** Called with the pair id after every book change; returns `off`. */
  onUpdate?(listener: (pairId: string) => void): () => void;
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
  /**
   * `entry` (default) opens or adds and needs a stop-loss; `exit` sells
   * what is held (no stop; the covering stop is moved in the same step).
   */
  intent?: "entry" | "exit";
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
  /** `stop`: a protective stop covering a holding (cancel refuses it while the holding is open). */
  role: "stop" | "order";
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
    /** An exit: what it sold, the stops it moved, what is left uncovered. */
    exit?: ExitSummary;
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
    /** An exit refused after its first step: the stops moved, what is uncovered. */
    exit?: ExitSummary;
  };

/** What an exit did (see `OrderClient.exit`). */
export interface ExitSummary {
  /** The volume asked for. */
  volume: string;
  /** The volume sold. */
  sold: string;
  /** Protective stops cancelled to free the volume. */
  cancelledStops: string[];
  /** The stop placed for what the cancelled stops held beyond the sale. */
  reprotect: ExitResult["reprotect"];
  /** Holding left without a stop (base). */
  uncovered: string;
  /** What went wrong after the first step, when something did. */
  problem: string | null;
}

/** An answer to a cancel. */
export type CancelDecision =
  | {
    decision: "accepted";
    mode: TradingMode;
    count: number;
    /** Cancel-all: protective stops kept. */
    keptStops?: string[];
    /** Cancel-all with stops: holdings left without a stop, per asset. */
    uncovered?: Record<string, string>;
  }
  | {
    decision: "rejected";
    mode: TradingMode;
    rule: string;
    message: string;
    code?: string;
  };

/** An answer to an amend. */
export type AmendDecision =
  | {
    decision: "accepted";
    mode: TradingMode;
    /** Kraken's amend id (paper: `<order id>/<sequence>`). */
    amendId: string;
  }
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

function stopLossGiven(body: Record<string, unknown>): boolean {
  return body.stopLoss !== undefined && body.stopLoss !== null &&
    body.stopLoss !== "";
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

  if (b.takeProfit !== undefined && b.takeProfit !== null) {
    throw new TicketError(
      "takeProfit is not supported: Kraken spot attaches one conditional close per order and has no one-cancels-other, so a take-profit beside the mandatory stop-loss could never hold the same volume; sell with intent exit (krakked close) when your target is reached",
    );
  }
  if (b.intent !== undefined) {
    if (b.intent !== "entry" && b.intent !== "exit") {
      throw new TicketError('intent must be "entry" or "exit"');
    }
    ticket.intent = b.intent;
  }
  if (ticket.intent === "exit") {
    for (const flag of ["validate", "postOnly", "timeInForce"] as const) {
      if (b[flag] !== undefined && b[flag] !== false) {
        throw new TicketError(
          `${flag} does not apply to an exit: an exit moves the stop, then sells at once (market or immediate-or-cancel limit); preview it with trading.mode dry_run`,
        );
      }
    }
    if (ticket.side !== "sell") {
      throw new TicketError(
        "An exit sells what is held: spot has no short positions to buy back",
      );
    }
    if (stopLossGiven(b)) {
      throw new TicketError(
        "An exit carries no stopLoss: it sells volume the stop already covers",
      );
    }
  }
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
    intent: ticket.intent ?? "entry",
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
    // As last amended (executions, or the paper broker's amend report).
    price:
      (order.type === "limit" || order.type === "iceberg"
        ? tracked.state.limitPrice
        : null) ?? order.price ?? null,
    filled: tracked.state.filledQty,
    status: tracked.state.status,
    stopLoss: order.stopLoss?.triggerPrice ?? null,
    route: tracked.route,
    role: roleOf(order.side, order.type),
  };
}

function roleOf(side: OrderSide, type: string): "stop" | "order" {
  // The same test the risk model uses, so the view and `cancel` agree.
  return isProtectiveKind(side, type) ? "stop" : "order";
}

function accountView(order: RiskOrder, route: "paper" | "live"): OrderView {
  return {
    key: order.id,
    orderId: order.id,
    pair: order.pair,
    side: order.side,
    type: order.type,
    volume: order.remaining,
    price: order.price,
    filled: "0",
    status: "open",
    stopLoss: null,
    route,
    role: isProtectiveStop(order) ? "stop" : "order",
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
    role: roleOf(order.side, order.type),
  };
}

function stripRule(message: string): string {
  return message.replace(/^Order rejected \([a-z_]+\): /, "");
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
  #books: BookSource | undefined;
  #ready: Promise<{ market: MarketMetadata; client: OrderClient }> | undefined;
  #paper: PaperBroker | undefined;
  #transport: RestOrderTransport | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #offBooks: (() => void) | undefined;
  #dirtyBooks = new Set<string>();
  #draining = false;
  #onListenerError: ListenerErrorHandler | undefined;
  #onOrderEvent: ((event: OrderClientEvent) => void) | undefined;
  #deadMan: DeadManSwitch | undefined;

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
    this.#books = options.books;
    this.#onListenerError = options.onListenerError;
    this.#onOrderEvent = options.onOrderEvent;
    // Paper: resting orders react to every book change of the live feed
    // (fills, triggered stops), not only when someone asks.
    this.#offBooks = options.books?.onUpdate?.((pairId) =>
      this.#bookChanged(pairId)
    );
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
  place(
    ticket: OrderTicket,
    options: CallerOptions = {},
  ): Promise<OrderDecision> {
    return this.#serial(
      () => this.#place(ticket, options.signal),
      options.signal,
    );
  }

  /**
   * Cancels one order: a tracked one by key or id, else a paper order or a
   * live order by its id.
   *
   * @param id Tracking key or order id.
   * @returns The decision.
   * @throws {KrakenError} When Kraken could not be reached.
   */
  cancel(id: string, options: CallerOptions = {}): Promise<CancelDecision> {
    return this.#serial(async () => {
      const refused = this.#routeRefusal();
      if (refused !== undefined) return refused;
      if (this.mode === "dry_run") {
        return this.#rejected(
          "mode_dry_run",
          "trading.mode is dry_run: no order was ever sent, so there is nothing to cancel",
        );
      }
      if (this.mode === "live" && !this.#rest.hasCredentials) {
        return this.#noCredentials();
      }
      const { client } = await this.#load();
      try {
        const ack = await client.cancel(id);
        await this.#savePaper();
        return this.#cancelled(ack.count, id);
      } catch (error) {
        if (error instanceof OrderRejectedError) {
          return this.#rejected(error.rule, stripRule(error.message));
        }
        if (error instanceof RangeError) {
          return this.#rejected("unknown_order", `No open order "${id}"`);
        }
        if (error instanceof KrakenError && error.kind === "order") {
          return this.#rejected("exchange", error.message, error.code);
        }
        throw error;
      }
    }, options.signal);
  }

  /**
   * Cancels every open order of the mode's route except protective stops
   * (a stop covering a position stays unless `includeStops` is set; the
   * answer then names what is left without a stop).
   *
   * @param options `includeStops`: cancel protective stops too.
   * @returns The decision with the count and the stops kept.
   * @throws {KrakenError} When Kraken could not be reached.
   */
  cancelAll(
    options: { includeStops?: boolean } & CallerOptions = {},
  ): Promise<CancelDecision> {
    return this.#serial(async () => {
      const refused = this.#routeRefusal();
      if (refused !== undefined) return refused;
      if (this.mode === "dry_run") {
        return { decision: "accepted", mode: this.mode, count: 0 };
      }
      if (this.mode === "live" && !this.#rest.hasCredentials) {
        return this.#noCredentials();
      }
      const { client } = await this.#load();
      const result: CancelAllResult = await client.cancelAll(
        options.includeStops === undefined
          ? {}
          : { includeStops: options.includeStops },
      );
      await this.#savePaper();
      return {
        decision: "accepted",
        mode: this.mode,
        count: result.count,
        keptStops: result.keptStops,
        uncovered: result.uncovered,
      };
    }, options.signal);
  }

  /**
   * Sells (part of) what is held on a pair: the risk model frees only the
   * stop volume the sale needs and covers the rest again (see
   * `OrderClient.exit`).
   *
   * @param pair Any pair spelling.
   * @param volume Base volume, or `"all"`.
   * @param options `limitPrice`: an immediate-or-cancel limit instead of market.
   * @returns The decision, with what was sold and the stops moved.
   * @throws {TicketError} For an unknown pair or a malformed volume.
   * @throws {KrakenError} When market data could not be read.
   */
  closePosition(
    pair: string,
    volume: string | "all",
    options: { limitPrice?: string } & CallerOptions = {},
  ): Promise<OrderDecision> {
    return this.#serial(
      () => this.#closePosition(pair, volume, options),
      options.signal,
    );
  }

  /**
   * The orders this process placed, plus open paper orders (paper mode).
   * Paper orders are first re-matched against fresh books.
   *
   * @returns The mode and the orders, oldest first.
   * @throws {KrakenError} When market data could not be read.
   */
  orders(
    options: CallerOptions = {},
  ): Promise<{ mode: TradingMode; orders: OrderView[] }> {
    return this.#serial(async () => {
      if (this.mode === "read_only") return { mode: this.mode, orders: [] };
      const { client } = await this.#load();
      if (this.mode === "paper") await this.#refreshPaper();
      const tracked = client.orders().map(viewOf);
      const seen = new Set(tracked.map((o) => o.orderId));
      let extra: OrderView[] = [];
      if (this.mode === "paper") {
        extra = this.#paper!.openOrders().filter((o) => !seen.has(o.id)).map(
          paperView,
        );
      } else if (this.mode === "live" && this.#rest.hasCredentials) {
        // Every open order of the account, not only this process's: the
        // stops Kraken created on fills, orders from before a restart.
        const account = await client.account({ fresh: true });
        extra = (account?.orders ?? []).filter((o) => !seen.has(o.id)).map((
          o,
        ) => accountView(o, "live"));
      }
      return { mode: this.mode, orders: [...tracked, ...extra] };
    }, options.signal);
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
        realized = addDecimal(realized, p.realizedPnl);
        unrealized = addDecimal(unrealized, p.unrealizedPnl ?? "0");
        fees = addDecimal(fees, p.fees);
      }
      const net = subtractDecimal(addDecimal(realized, unrealized), fees);
      return {
        balances: paper.balances(),
        positions,
        openOrders: paper.openOrders(),
        pnl: { realized, unrealized, fees, net },
      };
    });
  }

  /**
   * The paper account's fills, oldest first (its P&L in core/account).
   *
   * @returns Every paper fill.
   */
  paperFills(): Promise<PaperFill[]> {
    return this.#serial(async () => {
      await this.#load();
      return this.#paper!.fills();
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
   * The orders this process placed and tracks (the stale-order
   * repositioner reads them), without loading anything: before the first
   * order call there are none.
   *
   * @returns Copies, oldest first.
   */
  trackedOrders(): Promise<TrackedOrder[]> {
    const ready = this.#ready;
    if (ready === undefined) return Promise.resolve([]);
    return ready.then(({ client }) => client.orders(), () => []);
  }

  /**
   * The touch of a pair from the books the process already holds (the WS
   * feed; in paper mode also the broker's last book), without a REST call.
   *
   * @param pairId Canonical pair id.
   * @returns Best bid and ask, or `undefined` without a current book.
   */
  touch(pairId: string): { bid: string; ask: string } | undefined {
    const book = this.#books?.book(pairId) ??
      (this.mode === "paper" ? this.#paper?.book(pairId) : undefined);
    const bid = book?.bids[0]?.price;
    const ask = book?.asks[0]?.price;
    return bid === undefined || ask === undefined ? undefined : { bid, ask };
  }

  /**
   * Amends an order in place (live: `AmendOrder`, charged on the pair's
   * trading counter; paper: the broker), judged by the same gate as a new
   * order against the pair's book (see `OrderClient.amend`).
   *
   * @param key Tracking key or order id.
   * @param changes The new values.
   * @returns Accepted with the amend id, or rejected with the rule.
   * @throws {KrakenError} When Kraken could not be reached.
   */
  amend(
    key: string,
    changes: AmendChanges,
    options: CallerOptions = {},
  ): Promise<AmendDecision> {
    return this.#serial(async () => {
      const route = resolveRoute(this.#config, this.#liveSwitch);
      if (!route.ok) {
        return this.#rejected(route.rejection.rule, route.rejection.message);
      }
      if (this.mode === "dry_run") {
        return this.#rejected(
          "mode_dry_run",
          "trading.mode is dry_run: no order was ever sent, so there is nothing to amend",
        );
      }
      if (this.mode === "live" && !this.#rest.hasCredentials) {
        return this.#noCredentials();
      }
      const { market, client } = await this.#load();
      const tracked = client.order(key);
      const context: MarketContext = {};
      if (tracked !== undefined) {
        const inputs = await this.#marketContext(market, tracked.prepared.pair);
        if (inputs.book !== undefined) context.book = inputs.book;
        if (inputs.usdPrice !== undefined) context.usdPrice = inputs.usdPrice;
      }
      try {
        const ack = await client.amend(key, changes, context);
        await this.#savePaper();
        return { decision: "accepted", mode: this.mode, amendId: ack.amendId };
      } catch (error) {
        if (error instanceof OrderRejectedError) {
          return this.#rejected(error.rule, stripRule(error.message));
        }
        if (error instanceof RangeError) {
          return this.#rejected("unknown_order", error.message);
        }
        if (error instanceof KrakenError && error.kind === "order") {
          return this.#rejected("exchange", error.message, error.code);
        }
        throw error;
      }
    }, options.signal);
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
    this.#deadMan = client.startDeadMan({
      timeoutSec: seconds,
      refreshMs: Math.max(1_000, Math.floor((seconds * 1000) / 3)),
    });
    return true;
  }

  /**
   * The dead-man switch's state, when it was armed.
   *
   * @returns Its phase, expiry and failures, or `undefined`.
   */
  deadManState(): DeadManState | undefined {
    return this.#deadMan?.state;
  }

  /**
   * Stops timers and detaches from the stream; open orders stay open.
   *
   * @returns Resolves when closed.
   */
  async close(): Promise<void> {
    this.#offBooks?.();
    this.#offBooks = undefined;
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

  /** Coalesces book changes into one serial re-match of the pairs touched. */
  #bookChanged(pairId: string): void {
    const paper = this.#paper;
    if (this.mode !== "paper" || paper === undefined) return;
    if (!paper.openOrders().some((o) => o.pair === pairId)) return;
    this.#dirtyBooks.add(pairId);
    if (this.#draining) return;
    this.#draining = true;
    void this.#serial(async () => {
      this.#draining = false;
      const pairs = [...this.#dirtyBooks];
      this.#dirtyBooks.clear();
      const { client } = await this.#load();
      let changed = false;
      for (const id of pairs) {
        const book = this.#books?.book(id);
        if (book === undefined) continue;
        const result = client.updatePaperBook(id, book);
        changed ||= result.reports.length > 0;
      }
      if (changed) await this.#savePaper();
    }).catch(() => {
      // A failed re-match is retried on the next book change.
    });
  }

  /**
   * Runs calls one at a time. A call whose caller went away (its signal
   * aborted) while it waited for its turn is dropped when its turn comes:
   * nothing of it is judged, signed or sent.
   */
  #serial<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const task = signal === undefined ? fn : () => {
      if (signal.aborted) {
        return Promise.reject(
          new KrakenError("The request was abandoned before it ran", {
            codes: [LOCAL_CODES.aborted],
          }),
        );
      }
      return fn();
    };
    const run = this.#queue.then(task, task);
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

  /** A gate or risk-model refusal as a decision (rule, field, message). */
  #refusal(error: OrderRejectedError): OrderDecision {
    return {
      decision: "rejected",
      mode: this.mode,
      rule: error.rule,
      ...(error.field === undefined ? {} : { field: error.field }),
      message: stripRule(error.message),
    };
  }

  #noCredentials(): {
    decision: "rejected";
    mode: TradingMode;
    rule: string;
    message: string;
  } {
    return this.#rejected(
      "no_credentials",
      "Live orders need Kraken credentials: run 'krakked setup'",
    );
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
        : await readOptionalText(this.#paperPath, {
          maxBytes: FILE_LIMITS.paper,
        });
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
    if (this.mode === "paper" && this.#books?.watch !== undefined) {
      for (const order of this.#paper.openOrders()) {
        const pair = market.pairs.find((p) => p.id === order.pair);
        if (pair !== undefined) this.#books.watch(pair);
      }
    }
    const live = this.mode === "live" && this.#rest.hasCredentials;
    if (live) this.#transport ??= new RestOrderTransport(this.#rest);
    // The trading universe: quote, include, exclude and status (the volume
    // floor is a display filter and needs tickers; the gate leaves it out).
    const universe = selectUniverse(market.pairs, {
      ...universeConfigOf(this.#config),
      min24hVolumeUsd: 0,
    }, { resolver: market.resolver }).ids;
    const books = this.#books;
    const client = new OrderClient({
      config: this.#config,
      liveSwitch: this.#liveSwitch,
      universe,
      assets: market.assets,
      ...(books === undefined ? {} : { books: (id: string) => books.book(id) }),
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
      ...(this.#onListenerError === undefined
        ? {}
        : { onListenerError: this.#onListenerError }),
    });
    if (this.#onOrderEvent !== undefined) client.on(this.#onOrderEvent);
    return { market, client };
  }

  async #book(pair: PairMetadata): Promise<PaperBook> {
    const books = this.#books;
    books?.watch?.(pair);
    const held = books?.book(pair.id) ?? await this.#firstBook(pair.id);
    if (held !== undefined) return held;
    return bookOf(await this.#rest.depth(pair.restKey, DEPTH_LEVELS));
  }

  /**
   * A pair just watched has no book yet: its snapshot usually arrives in
   * milliseconds, so wait for it (bounded) before spending the public
   * REST budget on `Depth`.
   */
  #firstBook(pairId: string): Promise<PaperBook | undefined> {
    const books = this.#books;
    if (books?.onUpdate === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve(books.book(pairId));
      };
      const timer = setTimeout(done, FIRST_BOOK_WAIT_MS);
      const off = books.onUpdate!((id) => {
        if (id === pairId && books.book(pairId) !== undefined) done();
      });
    });
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
    let changed = false;
    for (const id of pairs) {
      const pair = market.pairs.find((p) => p.id === id);
      if (pair === undefined) continue;
      const result = this.mode === "paper"
        ? client.updatePaperBook(id, await this.#book(pair))
        : paper.updateBook(id, await this.#book(pair));
      changed ||= result.reports.length > 0;
    }
    // Only fills, triggers and expiries are worth a write; new marks alone
    // are read again on the next refresh (the page polls every 2 s).
    if (changed) await this.#savePaper();
  }

  async #savePaper(): Promise<void> {
    if (this.#paperPath === undefined || this.#paper === undefined) return;
    await writePrivateFileAtomic(
      this.#paperPath,
      JSON.stringify(this.#paper.serialize(), null, 1),
    );
  }

  async #place(
    ticket: OrderTicket,
    signal?: AbortSignal,
  ): Promise<OrderDecision> {
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
    const context = await this.#marketContext(market, pair);
    if (signal !== undefined) context.signal = signal;
    if (ticket.intent === "exit") {
      return await this.#exit(client, pair, ticket.volume, {
        ...(ticket.type === "limit" && ticket.price !== undefined
          ? { limitPrice: ticket.price }
          : {}),
      }, context);
    }
    const decision = await this.#send(client, ticketRequest(ticket), context);
    await this.#savePaper();
    return decision;
  }

  /** The book (from the feed, else REST) and the USD price of the quote. */
  async #marketContext(
    market: MarketMetadata,
    pair: PairMetadata,
  ): Promise<PlaceContext> {
    const context: PlaceContext = { book: await this.#book(pair) };
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
    return context;
  }

  async #closePosition(
    spelling: string,
    volume: string | "all",
    options: { limitPrice?: string },
  ): Promise<OrderDecision> {
    const route = resolveRoute(this.#config, this.#liveSwitch);
    if (!route.ok) {
      return this.#rejected(route.rejection.rule, route.rejection.message);
    }
    if (volume !== "all") volume = decimalText(volume, "volume");
    if (options.limitPrice !== undefined) {
      decimalText(options.limitPrice, "price");
    }
    const { market, client } = await this.#load();
    let pair: PairMetadata;
    try {
      pair = market.resolver.get(spelling);
    } catch {
      throw new TicketError(`Unknown pair "${spelling}"`);
    }
    if (route.route === "live" && !this.#rest.hasCredentials) {
      return this.#noCredentials();
    }
    const context = await this.#marketContext(market, pair);
    return await this.#exit(client, pair, volume, options, context);
  }

  async #exit(
    client: OrderClient,
    pair: PairMetadata,
    volume: string | "all",
    options: { limitPrice?: string },
    context: PlaceContext,
  ): Promise<OrderDecision> {
    let result: ExitResult;
    try {
      result = await client.exit(pair.id, volume, {
        ...(context.book === undefined ? {} : { book: context.book }),
        ...(context.usdPrice === undefined
          ? {}
          : { usdPrice: context.usdPrice }),
        ...options,
      });
    } catch (error) {
      if (error instanceof OrderRejectedError) return this.#refusal(error);
      throw error;
    }
    await this.#savePaper();
    const placed = result.exit;
    const summary: ExitSummary = {
      volume: result.volume,
      sold: result.sold,
      cancelledStops: result.cancelledStops,
      reprotect: result.reprotect,
      uncovered: result.uncovered,
      problem: result.problem,
    };
    // A refusal after the first step still says which stops moved and
    // what is left uncovered.
    if (placed === null) {
      return {
        ...this.#rejected(
          "exit_failed",
          result.problem ?? "The exit was not placed",
        ),
        exit: summary,
      };
    }
    if (placed.route === "live" && placed.error !== undefined) {
      return {
        ...this.#rejected(
          "exchange",
          `${placed.error.message}${
            result.problem === null ? "" : ` (${result.problem})`
          }`,
          placed.error.code,
        ),
        exit: summary,
      };
    }
    if (placed.route === "paper" && !placed.paper.accepted) {
      return {
        ...this.#rejected(
          placed.paper.rejection?.rule ?? "rejected",
          placed.paper.rejection?.message ??
            "The paper broker refused the exit",
        ),
        exit: summary,
      };
    }
    const prepared = placed.prepared;
    const tracked = placed.route === "dry_run"
      ? undefined
      : client.order(placed.key);
    return {
      decision: "accepted",
      mode: this.mode,
      route: placed.route,
      stopLoss: null,
      notionalUsd: prepared.notionalUsd,
      expectedPrice: prepared.expectedPrice,
      order: tracked === undefined ? null : viewOf(tracked),
      ...(placed.route === "paper" ? { fills: placed.paper.fills } : {}),
      ...(placed.route === "dry_run"
        ? { encoded: { rest: placed.rest, ws: placed.ws } }
        : {}),
      exit: summary,
    };
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
      if (error instanceof OrderRejectedError) return this.#refusal(error);
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
}
