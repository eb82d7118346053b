/**
 * A paper broker: the same orders, through the same gate, filled against a
 * real L2 book instead of the exchange.
 *
 * - Orders come from {@linkcode prepareOrder} with route `paper`; anything
 *   else is refused (`not_paper`).
 * - Books are best-first levels of exact decimal text (`BookSet.top()`).
 *   An order that crosses walks the depth level by level as a taker (each
 *   level is one fill) and consumes that liquidity until the next book
 *   arrives; `slippageBps` optionally worsens every taker price.
 * - `market`: fills what the book holds, the rest is canceled. `limit` /
 *   `iceberg`: takes what crosses, then rests (GTC/GTD) or cancels the rest
 *   (IOC); post-only orders that would take are rejected. A resting order
 *   fills as a maker at its own price when a later book crosses it.
 * - `stop-loss` / `take-profit` / `trailing-stop` trigger on the book (a
 *   sell watches the best bid, a buy the best ask), then execute at market
 *   and keep executing on later books until filled; `*-limit` types become
 *   limit orders at `price2`.
 * - An entry's stop-loss is created when it fills (one close per fill batch,
 *   opposite side, the batch's quantity), as Kraken does, and triggered by
 *   later books.
 * - Fees: maker or taker percent of the pair's schedule at the 30-day volume
 *   tier, `cost × percent / 100` rounded half up to the pair's
 *   `cost_decimals`, always charged in the quote currency (`fciq`).
 * - Balances per asset; funds held by open orders are not available to new
 *   ones (buys hold `remaining × price × (1 + taker %)`, sells the base).
 * - P&L per pair, FIFO over fill prices (the FIFO of `core/account/fifo.ts`,
 *   shared with the live account): realised P&L is gross of fees and
 *   fees are reported beside it; unrealised P&L marks longs at the best bid
 *   and shorts at the best ask.
 * - All money is exact decimal text; the whole state is plain JSON
 *   ({@linkcode PaperBroker.serialize} / {@linkcode PaperBroker.restore}).
 * - Every change is reported as WS v2 `executions`-shaped reports, so the
 *   lifecycle machine and the page consume paper and live alike.
 *
 * @module
 */

import { applyFifoFill, type Lot, markLots } from "../account/fifo.ts";
import { type Now, systemClock } from "../clock.ts";
import {
  addDecimal,
  canonicalDecimal,
  compareDecimal,
  decimalFromNumber,
  divideDecimal,
  formatScaled,
  multiplyDecimal,
  roundDecimal,
  subtractDecimal,
  toFixedDecimals,
} from "../decimal.ts";
import type { PairMetadata } from "../market/pairs.ts";
import { feeOf, type Liquidity, pairFeePercent } from "./fees.ts";
import type { PreparedOrder } from "./gates.ts";
import type { ExecutionReport } from "./lifecycle.ts";
import type {
  ClientRef,
  OrderSide,
  OrderType,
  StopLoss,
  TimeInForce,
  TrailingOffset,
} from "./order.ts";
import { reject, type Rejection } from "./rules.ts";

/** One book level, exact decimal text. */
export interface PaperLevel {
  /** Price. */
  price: string;
  /** Quantity (base). */
  qty: string;
}

/** A book, best level first on each side. */
export interface PaperBook {
  /** Bids, highest first. */
  bids: readonly PaperLevel[];
  /** Asks, lowest first. */
  asks: readonly PaperLevel[];
}

/** Status of a paper order. */
export type PaperOrderStatus =
  | "new"
  | "partially_filled"
  | "filled"
  | "canceled"
  | "expired";

/** A paper order. Plain JSON. */
export interface PaperOrder {
  /** Kraken-style id, `OAAAAA-AAAAA-AAAAAB`. */
  id: string;
  /** Client ref (`null` for conditional closes). */
  ref: ClientRef | null;
  /** The entry that created this close, or `null`. */
  parentId: string | null;
  /** Canonical pair id. */
  pair: string;
  /** Side. */
  side: OrderSide;
  /** Type. */
  type: OrderType;
  /** Quantity (base). */
  volume: string;
  /** Limit or trigger price. */
  price: string | null;
  /** Limit price of `*-limit` types. */
  price2: string | null;
  /** Trailing distance. */
  trailing: TrailingOffset | null;
  /** Best price seen since placement (trailing stops). */
  peak: string | null;
  /** Time in force. */
  timeInForce: TimeInForce;
  /** GTD expiry, Unix seconds. */
  expireAtSec: number | null;
  /** Post-only. */
  postOnly: boolean;
  /** The stop-loss to attach on fills (entries). */
  stopLoss: StopLoss | null;
  /** Status. */
  status: PaperOrderStatus;
  /** Whether a trigger type has triggered. */
  triggered: boolean;
  /** Filled quantity (base). */
  filledQty: string;
  /** Cumulative cost (quote). */
  cumCost: string;
  /** Cumulative fees (quote). */
  fees: string;
  /** Why it was canceled or expired. */
  reason: string | null;
  /** Created. */
  createdAtMs: number;
  /** Last change. */
  updatedAtMs: number;
}

/** One paper fill. */
export interface PaperFill {
  /** Kraken-style trade id, `TAAAAA-AAAAA-AAAAAB`. */
  tradeId: string;
  /** The order. */
  orderId: string;
  /** Canonical pair id. */
  pair: string;
  /** Side. */
  side: OrderSide;
  /** Quantity (base). */
  qty: string;
  /** Price. */
  price: string;
  /** `qty × price` (quote), exact. */
  cost: string;
  /** Fee (quote). */
  fee: string;
  /** Fee asset (the quote). */
  feeAsset: string;
  /** Fee percent applied. */
  feePercent: string;
  /** Maker or taker. */
  liquidity: Liquidity;
  /** When. */
  atMs: number;
}

/** A FIFO lot: signed quantity (long > 0) at a fill price (core/account's {@linkcode Lot}). */
export type PaperLot = Lot;

/** Position bookkeeping of one pair. Plain JSON. */
export interface PaperPositionState {
  /** Net quantity (base), signed. */
  qty: string;
  /** Open lots, oldest first. */
  lots: PaperLot[];
  /** Realised P&L (quote), gross of fees. */
  realizedPnl: string;
  /** Fees paid on this pair (quote). */
  fees: string;
}

/** A position with its valuation. */
export interface PaperPosition extends PaperPositionState {
  /** Canonical pair id. */
  pair: string;
  /** `Σ lot qty × price` (quote), signed. */
  costBasis: string;
  /** The mark used (bid for longs, ask for shorts), or `null`. */
  markPrice: string | null;
  /** `Σ (mark − lot price) × lot qty`, or `null` without a mark. */
  unrealizedPnl: string | null;
  /** `realizedPnl − fees`. */
  netRealizedPnl: string;
}

/** The whole broker state. Plain JSON. */
export interface PaperBrokerState {
  /** Format version (1). */
  version: 1;
  /** Last `executions` sequence number used. */
  sequence: number;
  /** Order id counter. */
  nextOrderNumber: number;
  /** Trade id counter. */
  nextTradeNumber: number;
  /** 30-day volume for the fee tier. */
  feeVolume30d: string;
  /** Extra adverse slippage on taker prices, basis points. */
  slippageBps: number;
  /** Balances per asset (common codes). */
  balances: Record<string, string>;
  /** Every order, oldest first. */
  orders: PaperOrder[];
  /** Every fill, oldest first. */
  fills: PaperFill[];
  /** Positions per pair id. */
  positions: Record<string, PaperPositionState>;
  /** Last best bid/ask per pair id. */
  marks: Record<string, { bid: string | null; ask: string | null }>;
}

/** The answer of a broker call. */
export interface PaperResult {
  /** Whether the request was accepted. */
  accepted: boolean;
  /** The order placed or canceled, when there is one. */
  orderId: string | null;
  /** Why it was refused. */
  rejection: Rejection | null;
  /** `executions`-shaped reports, in order. */
  reports: ExecutionReport[];
  /** Fills made, in order. */
  fills: PaperFill[];
  /** Sequence of these reports as one `executions` message (0 when none). */
  sequence: number;
}

/** Options of {@linkcode PaperBroker}. */
export interface PaperBrokerOptions {
  /** Metadata of the pairs that may be traded. */
  pairs: Iterable<PairMetadata>;
  /** Starting balances (ignored by `restore`). */
  balances?: Record<string, string>;
  /** 30-day volume for the fee tier (default `"0"`; ignored by `restore`). */
  feeVolume30d?: string;
  /** Extra taker slippage in basis points (default 0; ignored by `restore`). */
  slippageBps?: number;
  /** Clock (default `systemClock.now`). */
  now?: Now;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * A Kraken-style id (a prefix letter and 16 base32 digits, grouped 6-5-6),
 * deterministic from a counter.
 *
 * @param prefix `O` for orders, `T` for trades.
 * @param n The counter.
 * @returns The id, e.g. `OAAAAA-AAAAA-AAAAAB` for 1.
 * @example Ids
 * ```ts
 * import { krakenStyleId } from "./paper.ts";
 * krakenStyleId("T", 33); // "TAAAAA-AAAAA-AAAABB"
 * ```
 */
export function krakenStyleId(prefix: string, n: number): string {
  let digits = "";
  let rest = BigInt(n);
  for (let i = 0; i < 16; i++) {
    digits = BASE32[Number(rest % 32n)] + digits;
    rest /= 32n;
  }
  const body = prefix + digits;
  return `${body.slice(0, 6)}-${body.slice(6, 11)}-${body.slice(11)}`;
}

function isOpen(order: PaperOrder): boolean {
  return order.status === "new" || order.status === "partially_filled";
}

function minDecimal(a: string, b: string): string {
  return compareDecimal(a, b) <= 0 ? a : b;
}

function remainingOf(order: PaperOrder): string {
  return subtractDecimal(order.volume, order.filledQty);
}

function isTriggerType(type: OrderType): boolean {
  return type === "stop-loss" || type === "take-profit" ||
    type === "stop-loss-limit" || type === "take-profit-limit" ||
    type === "trailing-stop";
}

/** The limit price an order executes with, or `null` for market execution. */
function limitOf(order: PaperOrder): string | null {
  switch (order.type) {
    case "limit":
    case "iceberg":
      return order.price;
    case "stop-loss-limit":
    case "take-profit-limit":
      return order.price2;
    default:
      return null;
  }
}

function crosses(side: OrderSide, levelPrice: string, limit: string | null) {
  if (limit === null) return true;
  const c = compareDecimal(levelPrice, limit);
  return side === "buy" ? c <= 0 : c >= 0;
}

interface Batch {
  reports: ExecutionReport[];
  fills: PaperFill[];
}

interface WorkBook {
  bids: PaperLevel[];
  asks: PaperLevel[];
}

function copyBook(book: PaperBook): WorkBook {
  const copy = (levels: readonly PaperLevel[]) =>
    levels.map((level) => ({ price: level.price, qty: level.qty }));
  return { bids: copy(book.bids), asks: copy(book.asks) };
}

/**
 * The paper broker. See the module documentation for the fill model.
 *
 * @example Buy at market with a stop-loss, against a two-level book
 * ```ts ignore
 * const broker = new PaperBroker({ pairs: [pair], balances: { USD: "1000" } });
 * const result = broker.submit(prepared, {
 *   bids: [{ price: "99", qty: "1" }],
 *   asks: [{ price: "100", qty: "0.5" }, { price: "101", qty: "2" }],
 * });
 * result.fills.length; // 2 when the order is bigger than 0.5
 * ```
 */
export class PaperBroker {
  #state: PaperBrokerState;
  #pairs = new Map<string, PairMetadata>();
  #bySymbol = new Map<string, string>();
  #books = new Map<string, WorkBook>();
  #now: Now;

  /**
   * Creates a broker with starting balances.
   *
   * @param options Pairs, balances, fee volume, slippage and clock.
   * @throws {SyntaxError} When a balance is not decimal text.
   */
  constructor(options: PaperBrokerOptions) {
    for (const pair of options.pairs) {
      this.#pairs.set(pair.id, pair);
      this.#bySymbol.set(pair.wsV2.toUpperCase(), pair.id);
    }
    this.#now = options.now ?? systemClock.now;
    const balances: Record<string, string> = {};
    for (const [asset, amount] of Object.entries(options.balances ?? {})) {
      balances[asset] = canonicalDecimal(amount);
    }
    this.#state = {
      version: 1,
      sequence: 0,
      nextOrderNumber: 1,
      nextTradeNumber: 1,
      feeVolume30d: canonicalDecimal(options.feeVolume30d ?? "0"),
      slippageBps: options.slippageBps ?? 0,
      balances,
      orders: [],
      fills: [],
      positions: {},
      marks: {},
    };
  }

  /**
   * Recreates a broker from {@linkcode PaperBroker.serialize} output. Books
   * are not part of the state: feed one before the next fill.
   *
   * @param state The saved state.
   * @param options Pairs and clock (balances, fee volume and slippage come
   *   from the state).
   * @returns The broker.
   * @throws {TypeError} When the state's version is not 1.
   */
  static restore(
    state: PaperBrokerState,
    options: PaperBrokerOptions,
  ): PaperBroker {
    if (state?.version !== 1) {
      throw new TypeError(
        `Cannot restore paper broker state: version is ${state?.version}, expected 1`,
      );
    }
    const broker = new PaperBroker({
      pairs: options.pairs,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    broker.#state = structuredClone(state);
    return broker;
  }

  /**
   * The whole state as plain JSON (a copy).
   *
   * @returns The state.
   */
  serialize(): PaperBrokerState {
    return structuredClone(this.#state);
  }

  /**
   * Balances per asset (copies).
   *
   * @returns Asset → decimal text.
   */
  balances(): Record<string, string> {
    return { ...this.#state.balances };
  }

  /**
   * Balance not held by open orders.
   *
   * @param asset Common asset code (`USD`).
   * @returns Decimal text.
   */
  available(asset: string): string {
    return subtractDecimal(this.#balance(asset), this.#held(asset));
  }

  /**
   * Sets the 30-day volume that selects the fee tier.
   *
   * @param volume30d Decimal text.
   * @throws {SyntaxError} When it is not decimal text.
   */
  setFeeVolume(volume30d: string): void {
    this.#state.feeVolume30d = canonicalDecimal(volume30d);
  }

  /**
   * One order (a copy).
   *
   * @param id Order id.
   * @returns The order, or `undefined`.
   */
  order(id: string): PaperOrder | undefined {
    const order = this.#state.orders.find((o) => o.id === id);
    return order === undefined ? undefined : structuredClone(order);
  }

  /**
   * Open orders, oldest first (copies).
   *
   * @param pair Only this pair (id or v2 symbol), when given.
   * @returns The orders.
   */
  openOrders(pair?: string): PaperOrder[] {
    const id = pair === undefined ? undefined : this.#pairId(pair);
    return structuredClone(
      this.#state.orders.filter((o) =>
        isOpen(o) && (id === undefined || o.pair === id)
      ),
    );
  }

  /**
   * Fills, oldest first (copies).
   *
   * @returns The fills.
   */
  fills(): PaperFill[] {
    return structuredClone(this.#state.fills);
  }

  /**
   * A pair's position with realised and unrealised P&L.
   *
   * @param pair Pair id or v2 symbol.
   * @returns The position (zero when never traded).
   */
  position(pair: string): PaperPosition {
    const id = this.#pairId(pair);
    const state = this.#state.positions[id] ??
      { qty: "0", lots: [], realizedPnl: "0", fees: "0" };
    const sign = compareDecimal(state.qty, "0");
    const mark = this.#state.marks[id];
    const markPrice = sign === 0
      ? null
      : (sign > 0 ? mark?.bid : mark?.ask) ?? null;
    const marked = markLots(state.lots, markPrice);
    const costBasis = marked.costBasis;
    const unrealizedPnl = sign === 0 ? "0" : marked.unrealizedPnl;
    return {
      pair: id,
      ...structuredClone(state),
      costBasis,
      markPrice,
      unrealizedPnl,
      netRealizedPnl: subtractDecimal(state.realizedPnl, state.fees),
    };
  }

  /**
   * Places an order that passed the gate with route `paper`. When `book` is
   * given it first replaces the pair's book (as {@linkcode updateBook}, whose
   * reports come first); otherwise the last book is used.
   *
   * @param prepared The order from `prepareOrder`.
   * @param book The pair's current book, best first.
   * @returns Acceptance, reports and fills.
   */
  submit(prepared: PreparedOrder, book?: PaperBook): PaperResult {
    const batch: Batch = { reports: [], fills: [] };
    const { order: request } = prepared;
    const failed = (rejection: Rejection) =>
      this.#result(batch, false, null, rejection);
    if (prepared.route !== "paper") {
      return failed(reject(
        "not_paper",
        `The paper broker only takes orders routed to paper, got ${prepared.route}`,
        "route",
      ));
    }
    const pair = this.#pairs.get(prepared.pair.id);
    if (pair === undefined) {
      return failed(reject(
        "no_book",
        `The paper broker has no metadata for ${prepared.pair.id}`,
        "pair",
      ));
    }
    if (book !== undefined) this.#applyBook(pair.id, book, batch);
    const current = this.#books.get(pair.id);
    if (current === undefined) {
      return failed(reject(
        "no_book",
        `No order book for ${pair.id} yet: feed one before placing paper orders`,
        "pair",
      ));
    }
    if (request.validateOnly === true) {
      return this.#result(batch, true, null, null);
    }
    const limit = request.type === "limit" || request.type === "iceberg"
      ? request.price ?? null
      : null;
    if (request.postOnly === true && limit !== null) {
      const best = request.side === "buy" ? current.asks[0] : current.bids[0];
      if (best !== undefined && crosses(request.side, best.price, limit)) {
        return failed(reject(
          "post_only_would_take",
          `Post-only ${request.side} at ${limit} would take liquidity: best ${
            request.side === "buy" ? "ask" : "bid"
          } is ${best.price}`,
          "postOnly",
        ));
      }
    }
    const funds = this.#fundsProblem(prepared, pair, current);
    if (funds !== null) return failed(funds);
    const nowMs = this.#now();
    const order: PaperOrder = {
      id: krakenStyleId("O", this.#state.nextOrderNumber++),
      ref: request.clientRef,
      parentId: null,
      pair: pair.id,
      side: request.side,
      type: request.type,
      volume: canonicalDecimal(request.volume),
      price: request.price ?? null,
      price2: request.price2 ?? null,
      trailing: request.trailingOffset ?? null,
      peak: null,
      timeInForce: request.timeInForce ?? "GTC",
      expireAtSec: request.expireAtSec ?? null,
      postOnly: request.postOnly === true,
      stopLoss: request.stopLoss ?? null,
      status: "new",
      triggered: false,
      filledQty: "0",
      cumCost: "0",
      fees: "0",
      reason: null,
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
    };
    this.#state.orders.push(order);
    this.#reportOpened(order, pair, batch);
    this.#process(pair, batch, new Set([order.id]));
    return this.#result(batch, true, order.id, null);
  }

  /**
   * The last book fed for a pair, best first.
   *
   * @param pair Pair id or v2 symbol.
   * @returns A copy, or `undefined` before the first book.
   */
  book(pair: string): PaperBook | undefined {
    let id: string;
    try {
      id = this.#pairId(pair);
    } catch {
      return undefined;
    }
    const book = this.#books.get(id);
    return book === undefined ? undefined : copyBook(book);
  }

  /**
   * Replaces a pair's book and lets open orders react: GTD expiries,
   * triggers, resting limit orders filling as makers, triggered stops
   * executing.
   *
   * @param pair Pair id or v2 symbol.
   * @param book The book, best first.
   * @returns Reports and fills.
   * @throws {RangeError} For an unknown pair.
   */
  updateBook(pair: string, book: PaperBook): PaperResult {
    const id = this.#pairId(pair);
    const batch: Batch = { reports: [], fills: [] };
    this.#applyBook(id, book, batch);
    return this.#result(batch, true, null, null);
  }

  /**
   * Cancels an open order.
   *
   * @param orderId The order id.
   * @returns Acceptance and the cancel report.
   */
  cancel(orderId: string): PaperResult {
    const batch: Batch = { reports: [], fills: [] };
    const order = this.#state.orders.find((o) => o.id === orderId);
    if (order === undefined) {
      return this.#result(
        batch,
        false,
        null,
        reject("unknown_order", `No paper order ${orderId}`, "orderId"),
      );
    }
    if (!isOpen(order)) {
      return this.#result(
        batch,
        false,
        orderId,
        reject(
          "order_closed",
          `Paper order ${orderId} is already ${order.status}`,
          "orderId",
        ),
      );
    }
    this.#close(order, "canceled", "User requested", batch);
    return this.#result(batch, true, orderId, null);
  }

  /**
   * Amends an open `limit` or `iceberg` order in place, as Kraken's
   * `AmendOrder` does: it keeps its id and fills so far; a new limit price
   * that would take liquidity is refused for a post-only order
   * (`post_only_would_take`) and otherwise fills as a taker at once; a buy
   * whose new price holds more quote than is available is refused
   * (`insufficient_funds`). `postOnly` applies to this price change only,
   * as Kraken's amend `post_only` does. The reports carry
   * `exec_type: "amended"`. The caller judges the amend against the gate
   * first (`OrderClient.amend`).
   *
   * @param orderId The order id.
   * @param changes The new limit price and whether it must stay post-only.
   * @returns Acceptance, the amend report and any fills.
   */
  amend(
    orderId: string,
    changes: { limitPrice?: string; postOnly?: boolean },
  ): PaperResult {
    const batch: Batch = { reports: [], fills: [] };
    const failed = (rejection: Rejection) =>
      this.#result(batch, false, orderId, rejection);
    const order = this.#state.orders.find((o) => o.id === orderId);
    if (order === undefined) {
      return failed(reject("unknown_order", `No paper order ${orderId}`));
    }
    if (!isOpen(order)) {
      return failed(reject(
        "order_closed",
        `Paper order ${orderId} is already ${order.status}`,
        "orderId",
      ));
    }
    const pair = this.#pairs.get(order.pair) as PairMetadata;
    const price = changes.limitPrice ?? order.price;
    if (
      (order.type !== "limit" && order.type !== "iceberg") || price === null
    ) {
      return failed(reject(
        "price_not_allowed",
        `Only the limit price of a limit order is amended on paper, ${orderId} is a ${order.type}`,
        "limitPrice",
      ));
    }
    const postOnly = changes.postOnly ?? order.postOnly;
    const book = this.#books.get(pair.id);
    const best = order.side === "buy" ? book?.asks[0] : book?.bids[0];
    if (
      postOnly && best !== undefined && crosses(order.side, best.price, price)
    ) {
      return failed(reject(
        "post_only_would_take",
        `Post-only ${order.side} amended to ${price} would take liquidity: best ${
          order.side === "buy" ? "ask" : "bid"
        } is ${best.price}`,
        "limitPrice",
      ));
    }
    if (order.side === "buy" && order.price !== null) {
      const remaining = remainingOf(order);
      const more = subtractDecimal(
        this.#withFee(pair, multiplyDecimal(remaining, price)),
        this.#withFee(pair, multiplyDecimal(remaining, order.price)),
      );
      const available = this.available(pair.quote);
      if (compareDecimal(more, available) > 0) {
        return failed(reject(
          "insufficient_funds",
          `Raising ${orderId} to ${price} holds ${more} ${pair.quote} more, ${available} ${pair.quote} is available`,
          "limitPrice",
        ));
      }
    }
    order.price = price;
    order.updatedAtMs = this.#now();
    batch.reports.push({
      ...this.#identity(order, pair),
      "exec_type": "amended",
      "order_status": order.status,
      "order_qty": order.volume,
      "cum_qty": order.filledQty,
      "limit_price": price,
      timestamp: new Date(order.updatedAtMs).toISOString(),
    });
    this.#process(pair, batch, new Set([order.id]));
    return this.#result(batch, true, order.id, null);
  }

  #pairId(spelling: string): string {
    if (this.#pairs.has(spelling)) return spelling;
    const id = this.#bySymbol.get(spelling.toUpperCase());
    if (id === undefined) {
      throw new RangeError(`Unknown paper pair "${spelling}"`);
    }
    return id;
  }

  #result(
    batch: Batch,
    accepted: boolean,
    orderId: string | null,
    rejection: Rejection | null,
  ): PaperResult {
    const sequence = batch.reports.length > 0 ? ++this.#state.sequence : 0;
    return {
      accepted,
      orderId,
      rejection,
      reports: batch.reports,
      fills: batch.fills,
      sequence,
    };
  }

  #balance(asset: string): string {
    return this.#state.balances[asset] ?? "0";
  }

  #credit(asset: string, amount: string): void {
    this.#state.balances[asset] = addDecimal(this.#balance(asset), amount);
  }

  #takerPercent(pair: PairMetadata): string {
    return pairFeePercent(pair, "taker", this.#state.feeVolume30d);
  }

  /** Quote needed for `qty` at `price` plus the taker fee. */
  #withFee(pair: PairMetadata, cost: string): string {
    return divideDecimal(
      multiplyDecimal(cost, addDecimal("100", this.#takerPercent(pair))),
      "100",
      pair.costDecimals + 4,
      "ceiling",
    );
  }

  #held(asset: string): string {
    let held = "0";
    for (const order of this.#state.orders) {
      if (!isOpen(order)) continue;
      const pair = this.#pairs.get(order.pair);
      if (pair === undefined) continue;
      const remaining = remainingOf(order);
      if (order.side === "sell" && pair.base === asset) {
        held = addDecimal(held, remaining);
      } else if (order.side === "buy" && pair.quote === asset) {
        const price = limitOf(order) ?? order.price ??
          this.#state.marks[pair.id]?.ask ?? "0";
        held = addDecimal(
          held,
          this.#withFee(pair, multiplyDecimal(remaining, price)),
        );
      }
    }
    return held;
  }

  #fundsProblem(
    prepared: PreparedOrder,
    pair: PairMetadata,
    book: WorkBook,
  ): Rejection | null {
    const order = prepared.order;
    if (order.side === "sell") {
      const available = this.available(pair.base);
      return compareDecimal(order.volume, available) <= 0 ? null : reject(
        "insufficient_funds",
        `Selling ${order.volume} ${pair.base} needs that much available, ${available} ${pair.base} is`,
        "volume",
      );
    }
    let cost: string;
    if (order.type === "market") {
      cost = "0";
      let left = order.volume;
      for (const level of book.asks) {
        if (compareDecimal(left, "0") <= 0) break;
        const qty = minDecimal(left, level.qty);
        cost = addDecimal(cost, multiplyDecimal(qty, level.price));
        left = subtractDecimal(left, qty);
      }
    } else {
      const price = order.type === "limit" || order.type === "iceberg" ||
          order.type === "stop-loss" || order.type === "take-profit"
        ? order.price
        : order.type === "trailing-stop"
        ? book.asks[0]?.price
        : order.price2;
      cost = multiplyDecimal(order.volume, price ?? prepared.expectedPrice);
    }
    const needed = this.#withFee(pair, cost);
    const available = this.available(pair.quote);
    return compareDecimal(needed, available) <= 0 ? null : reject(
      "insufficient_funds",
      `Buying ${order.volume} ${pair.base} needs about ${needed} ${pair.quote} with fees, ${available} ${pair.quote} is available`,
      "volume",
    );
  }

  #applyBook(pairId: string, book: PaperBook, batch: Batch): void {
    const pair = this.#pairs.get(pairId) as PairMetadata;
    this.#books.set(pairId, copyBook(book));
    this.#state.marks[pairId] = {
      bid: book.bids[0]?.price ?? null,
      ask: book.asks[0]?.price ?? null,
    };
    this.#process(pair, batch, new Set());
  }

  /**
   * One pass over the pair's open orders, oldest first, including closes
   * spawned during the pass. `fresh` holds orders that just became active
   * (placed or triggered now): their crossing part is taker liquidity.
   */
  #process(pair: PairMetadata, batch: Batch, fresh: Set<string>): void {
    const book = this.#books.get(pair.id);
    if (book === undefined) return;
    const nowMs = this.#now();
    const orders = this.#state.orders;
    for (let i = 0; i < orders.length; i++) {
      const order = orders[i] as PaperOrder;
      if (order.pair !== pair.id || !isOpen(order)) continue;
      if (order.expireAtSec !== null && nowMs >= order.expireAtSec * 1000) {
        this.#close(order, "expired", "GTD expiry reached", batch);
        continue;
      }
      if (isTriggerType(order.type) && !order.triggered) {
        if (!this.#triggers(order, book)) continue;
        order.triggered = true;
        order.updatedAtMs = nowMs;
        fresh.add(order.id);
      }
      this.#execute(order, pair, book, batch, fresh.has(order.id));
    }
  }

  #triggers(order: PaperOrder, book: WorkBook): boolean {
    const sell = order.side === "sell";
    const reference = (sell ? book.bids[0] : book.asks[0])?.price;
    if (reference === undefined) return false;
    if (order.type === "trailing-stop") {
      const trailing = order.trailing as TrailingOffset;
      const better = order.peak === null ||
        compareDecimal(reference, order.peak) === (sell ? 1 : -1);
      if (better) order.peak = reference;
      const peak = order.peak as string;
      const distance = trailing.unit === "quote"
        ? trailing.amount
        : divideDecimal(multiplyDecimal(peak, trailing.amount), "100", 12);
      const stop = sell
        ? subtractDecimal(peak, distance)
        : addDecimal(peak, distance);
      const c = compareDecimal(reference, stop);
      return sell ? c <= 0 : c >= 0;
    }
    const c = compareDecimal(reference, order.price as string);
    const stopLike = order.type === "stop-loss" ||
      order.type === "stop-loss-limit";
    // A sell stop fires when the bid falls to the trigger, a buy stop when
    // the ask rises to it; take-profits fire the other way.
    return stopLike === sell ? c <= 0 : c >= 0;
  }

  #execute(
    order: PaperOrder,
    pair: PairMetadata,
    book: WorkBook,
    batch: Batch,
    fresh: boolean,
  ): void {
    const limit = limitOf(order);
    const before = order.filledQty;
    if (limit === null || fresh) {
      this.#take(order, pair, book, limit, "taker", batch);
    } else {
      this.#take(order, pair, book, limit, "maker", batch);
    }
    const filledNow = subtractDecimal(order.filledQty, before);
    if (order.stopLoss !== null && compareDecimal(filledNow, "0") > 0) {
      this.#spawnClose(order, pair, filledNow, batch);
    }
    if (compareDecimal(order.filledQty, order.volume) >= 0) {
      order.status = "filled";
      batch.reports.push({
        ...this.#identity(order, pair),
        "exec_type": "filled",
        "order_status": "filled",
        "cum_qty": order.filledQty,
        "cum_cost": order.cumCost,
        timestamp: new Date(this.#now()).toISOString(),
      });
      return;
    }
    if (!isOpen(order)) return;
    if (order.type === "market") {
      this.#close(order, "canceled", "Insufficient liquidity", batch);
    } else if (fresh && limit !== null && order.timeInForce === "IOC") {
      this.#close(order, "canceled", "Immediate or cancel remainder", batch);
    }
  }

  /**
   * Fills against the opposite side while levels cross `limit` (all levels
   * for market execution). Takers fill at the level price (plus slippage),
   * makers at their own limit. Liquidity used is removed from the book.
   */
  #take(
    order: PaperOrder,
    pair: PairMetadata,
    book: WorkBook,
    limit: string | null,
    liquidity: Liquidity,
    batch: Batch,
  ): void {
    const levels = order.side === "buy" ? book.asks : book.bids;
    while (levels.length > 0) {
      const remaining = remainingOf(order);
      if (compareDecimal(remaining, "0") <= 0) return;
      const level = levels[0] as PaperLevel;
      if (!crosses(order.side, level.price, limit)) return;
      // Prices print at the pair's price decimals, as Kraken's do.
      const price = toFixedDecimals(
        liquidity === "maker"
          ? limit as string
          : this.#slipped(order.side, level.price, pair),
        pair.priceDecimals,
      );
      const qty = this.#affordable(
        order,
        pair,
        canonicalDecimal(minDecimal(remaining, level.qty)),
        price,
        liquidity,
      );
      if (compareDecimal(qty, "0") <= 0) {
        this.#close(order, "canceled", "Insufficient funds", batch);
        return;
      }
      this.#fill(order, pair, qty, price, liquidity, batch);
      level.qty = subtractDecimal(level.qty, qty);
      if (compareDecimal(level.qty, "0") <= 0) levels.shift();
    }
  }

  #slipped(side: OrderSide, price: string, pair: PairMetadata): string {
    const bps = this.#state.slippageBps;
    if (bps === 0) return price;
    const factor = side === "buy"
      ? addDecimal("10000", decimalFromNumber(bps))
      : subtractDecimal("10000", decimalFromNumber(bps));
    return divideDecimal(
      multiplyDecimal(price, factor),
      "10000",
      pair.priceDecimals,
      side === "buy" ? "ceiling" : "floor",
    );
  }

  /** Caps a fill so that balances never go negative. */
  #affordable(
    order: PaperOrder,
    pair: PairMetadata,
    qty: string,
    price: string,
    liquidity: Liquidity,
  ): string {
    if (order.side === "sell") return minDecimal(qty, this.#balance(pair.base));
    const balance = this.#balance(pair.quote);
    const percent = pairFeePercent(pair, liquidity, this.#state.feeVolume30d);
    const step = formatScaled(1n, pair.volumeDecimals);
    const total = (q: string) => {
      const cost = multiplyDecimal(q, price);
      return addDecimal(cost, feeOf(cost, percent, pair.costDecimals));
    };
    if (compareDecimal(total(qty), balance) <= 0) return qty;
    let capped = divideDecimal(
      multiplyDecimal(balance, "100"),
      multiplyDecimal(price, addDecimal("100", percent)),
      pair.volumeDecimals,
      "down",
    );
    while (
      compareDecimal(capped, "0") > 0 &&
      compareDecimal(total(capped), balance) > 0
    ) {
      capped = subtractDecimal(capped, step);
    }
    return roundDecimal(capped, pair.volumeDecimals, "down");
  }

  #fill(
    order: PaperOrder,
    pair: PairMetadata,
    qty: string,
    price: string,
    liquidity: Liquidity,
    batch: Batch,
  ): void {
    const nowMs = this.#now();
    const cost = multiplyDecimal(qty, price);
    const feePercent = pairFeePercent(
      pair,
      liquidity,
      this.#state.feeVolume30d,
    );
    const fee = feeOf(cost, feePercent, pair.costDecimals);
    if (order.side === "buy") {
      this.#credit(pair.quote, `-${addDecimal(cost, fee)}`);
      this.#credit(pair.base, qty);
    } else {
      this.#credit(pair.base, `-${qty}`);
      this.#credit(pair.quote, subtractDecimal(cost, fee));
    }
    this.#recordPosition(pair.id, order.side, qty, price, fee);
    order.filledQty = addDecimal(order.filledQty, qty);
    order.cumCost = addDecimal(order.cumCost, cost);
    order.fees = addDecimal(order.fees, fee);
    order.status = "partially_filled";
    order.updatedAtMs = nowMs;
    const fill: PaperFill = {
      tradeId: krakenStyleId("T", this.#state.nextTradeNumber++),
      orderId: order.id,
      pair: pair.id,
      side: order.side,
      qty,
      price,
      cost,
      fee,
      feeAsset: pair.quote,
      feePercent,
      liquidity,
      atMs: nowMs,
    };
    this.#state.fills.push(fill);
    batch.fills.push(fill);
    batch.reports.push({
      ...this.#identity(order, pair),
      "exec_type": "trade",
      "order_status": "partially_filled",
      "exec_id": fill.tradeId,
      "last_qty": qty,
      "last_price": price,
      cost,
      "liquidity_ind": liquidity === "maker" ? "m" : "t",
      fees: [{ asset: pair.quote, qty: fee }],
      "cum_qty": order.filledQty,
      "cum_cost": order.cumCost,
      "avg_price": divideDecimal(
        order.cumCost,
        order.filledQty,
        pair.priceDecimals + 4,
      ),
      timestamp: new Date(nowMs).toISOString(),
    });
  }

  /** FIFO position bookkeeping for one fill (core/account's FIFO). */
  #recordPosition(
    pairId: string,
    side: OrderSide,
    qty: string,
    price: string,
    fee: string,
  ): void {
    const position = this.#state.positions[pairId] ??
      { qty: "0", lots: [], realizedPnl: "0", fees: "0" };
    const { book } = applyFifoFill(position, { side, qty, price });
    this.#state.positions[pairId] = {
      qty: book.qty,
      lots: book.lots,
      realizedPnl: book.realizedPnl,
      fees: addDecimal(position.fees, fee),
    };
  }

  #spawnClose(
    parent: PaperOrder,
    pair: PairMetadata,
    qty: string,
    batch: Batch,
  ): void {
    const stop = parent.stopLoss as StopLoss;
    const nowMs = this.#now();
    const close: PaperOrder = {
      id: krakenStyleId("O", this.#state.nextOrderNumber++),
      ref: null,
      parentId: parent.id,
      pair: pair.id,
      side: parent.side === "buy" ? "sell" : "buy",
      type: stop.type,
      volume: qty,
      price: stop.triggerPrice,
      price2: stop.limitPrice ?? null,
      trailing: null,
      peak: null,
      timeInForce: "GTC",
      expireAtSec: null,
      postOnly: false,
      stopLoss: null,
      status: "new",
      triggered: false,
      filledQty: "0",
      cumCost: "0",
      fees: "0",
      reason: null,
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
    };
    this.#state.orders.push(close);
    this.#reportOpened(close, pair, batch);
  }

  #close(
    order: PaperOrder,
    status: "canceled" | "expired",
    reason: string,
    batch: Batch,
  ): void {
    const pair = this.#pairs.get(order.pair) as PairMetadata;
    order.status = status;
    order.reason = reason;
    order.updatedAtMs = this.#now();
    batch.reports.push({
      ...this.#identity(order, pair),
      "exec_type": status,
      "order_status": status,
      "cum_qty": order.filledQty,
      "cum_cost": order.cumCost,
      reason,
      timestamp: new Date(order.updatedAtMs).toISOString(),
    });
  }

  #identity(order: PaperOrder, pair: PairMetadata): ExecutionReport {
    const report: ExecutionReport = {
      "order_id": order.id,
      symbol: pair.wsV2,
      side: order.side,
      "order_type": order.type,
      "exec_type": "",
    };
    if (order.ref?.kind === "cl_ord_id") report.cl_ord_id = order.ref.clOrdId;
    if (order.ref?.kind === "userref") {
      report.order_userref = order.ref.userref;
    }
    if (order.parentId !== null) report.ord_ref_id = order.parentId;
    return report;
  }

  #reportOpened(order: PaperOrder, pair: PairMetadata, batch: Batch): void {
    const timestamp = new Date(order.createdAtMs).toISOString();
    const base: ExecutionReport = {
      ...this.#identity(order, pair),
      "order_qty": order.volume,
      "cum_qty": "0",
      "cum_cost": "0",
      "exec_type": "pending_new",
      timestamp,
    };
    const limit = limitOf(order);
    if (limit !== null) base.limit_price = limit;
    batch.reports.push({ ...base, "order_status": "pending_new" });
    batch.reports.push({
      ...this.#identity(order, pair),
      "exec_type": "new",
      "order_status": "new",
      timestamp,
    });
  }
}
