/**
 * The simulator's matching engine: places, fills, triggers, amends, expires
 * and cancels orders of the simulated account against the deterministic
 * market, with Kraken's rules and error strings (REST.md §3.2, §4, §7.2,
 * §8; WS_V2.md §4). The REST methods (`rest/trading.ts`) and the WS v2
 * trading methods (`ws/trading.ts`) are thin layers over this class.
 *
 * ## Matching model
 *
 * The market is a pure function of time and our orders do not move it.
 * - **Taking** (market orders, crossing limits, triggered stops) walks the
 *   L2 book at that instant (`Market.book`), one own trade per level, taker
 *   fee.
 * - **Resting** limit orders fill when a public trade reaches their price:
 *   a trade through the limit fills the whole remainder (the market went
 *   past it); a trade exactly at the limit fills at most that trade's
 *   volume (shared in time priority). Fills are at the limit, maker fee.
 *   An iceberg fills at most its visible slice per trade, then refills.
 * - **Triggers** (stop-loss, take-profit, their `-limit` forms, trailing
 *   stops) fire on the last trade price (`trigger=index` is accepted on
 *   pairs with an index and follows the last price too). A sell stop-loss
 *   fires at or below its trigger, a sell take-profit at or above it; a
 *   trailing stop follows the best price since placement. Fired market
 *   types take from the book; `-limit` types become limits at `price2`.
 * - **Time**: nothing happens between calls; {@linkcode SimEngine.sync}
 *   replays every public trade, expiry and the dead man's switch in time
 *   order up to now. Every REST and WS call syncs first, and an optional
 *   timer (`tickMs`) syncs in the background for streaming clients. Results
 *   are the same however the time is split into sync windows.
 * - **Post-only** orders that would take are accepted, then cancelled with
 *   reason `Post only order` (what Kraken does; clients see the txid).
 * - **Conditional close**: every batch of fills of the primary (one taking
 *   pass, or one resting fill) creates an opposite-side order of the filled
 *   volume; relative close prices are relative to the primary's average
 *   fill price.
 * - **Funds**: a buy needs the quote cost at its price plus the taker fee
 *   (fee in quote), a sell its base volume; the unfilled part is held
 *   (`BalanceEx.hold_trade`). A fill the balance cannot cover cancels the
 *   order with reason `Insufficient funds`. The default fee currency is
 *   quote for buys and base for sells (`fcib`), falling back to the other
 *   asset when the preferred one cannot pay; an explicit `fcib`/`fciq` is
 *   kept.
 * - **Trading counter** per pair (REST.md §7.2, `rate_limits.ts`): adds,
 *   amends and edits charge their fixed part on receipt, even when they then
 *   fail; over the tier's threshold they answer `EOrder:Rate limit
 *   exceeded`. Cancels add their age penalty and are never refused.
 *
 * @module
 */

import {
  Meter,
  OPEN_ORDER_CAPS,
  type SimTier,
  TRADING_LIMITS,
  tradingIncrement,
} from "./rate_limits.ts";
import {
  type AccountEvent,
  feeTier,
  type SimAccount,
  type SimOrder,
  type SimOrderTerms,
  type SimOwnTrade,
} from "./account.ts";
import type { SimControl } from "../control.ts";
import { divideRounded, formatUnits, pow10, rescaleUnits } from "./units.ts";
import {
  amendedRow,
  icebergRefillRow,
  type OrderRowInfo,
  pendingNewRow,
  statusRow,
  tradeRow,
  triggeredRow,
} from "../ws/execution_rows.ts";
import {
  checkDeadline,
  checkMinimums,
  type CloseSpec,
  describeClose,
  describeOrder,
  LIMIT_KINDS,
  offsetUnits,
  ORDER_ERRORS,
  type OrderFields,
  type OrderKind,
  type OrderSpec,
  parseOrder,
  parsePrice,
  parseVolume,
  type PriceInput,
  priceText,
  resolvePrice,
  TRIGGERED_KINDS,
} from "./orders.ts";
import { newId } from "./ids.ts";
import type { Market } from "./market.ts";
import { assetByKey, type SimPair } from "./pairs.ts";
import { INVALID_ARGUMENTS, SimApiError } from "./params.ts";
import { SeededRandom } from "./prng.ts";
import { accountEventRows, balanceUpdateRow } from "../ws/private.ts";
import { WireNumber, type WireObject } from "../ws/wire.ts";

/** Thrown by a transport when the order was placed but its answer must be lost (fault). */
export class DroppedAnswerError extends Error {
  /** The error class name. */
  override name = "DroppedAnswerError";
  /** Discriminator. */
  readonly kind = "dropped_answer";
}

/** Where the engine sends `executions` and `balances` rows. */
export type PrivatePublisher = (
  channel: "executions" | "balances",
  rows: readonly WireObject[],
) => void;

/** What the engine works on. */
export interface EngineDeps {
  /** The market (books, trades, last prices). */
  market: Market;
  /** The account (balances, orders, trades, ledger). */
  account: SimAccount;
  /** System status and faults. */
  control: SimControl;
}

/** Options of {@linkcode SimEngine}. */
export interface SimEngineOptions {
  /** Trading-counter tier (default `starter`). */
  tier?: SimTier;
  /** Open orders allowed per pair (default: the tier's, REST.md §7.2). */
  maxOpenOrdersPerPair?: number;
  /** Background sync period, ms (default 0 = only on calls). */
  tickMs?: number;
  /** Seed of amend ids (default 1). */
  seed?: number;
  /** Called with an error thrown by a background sync. */
  onError?: (error: unknown) => void;
}

/** The answer to a placement. */
export interface PlacedOrder {
  /** The order (absent for `validate`). */
  order?: SimOrder;
  /** `descr.order` and, with a conditional close, `descr.close`. */
  descr: { order: string; close?: string };
}

/** Which orders a cancel addresses. */
export interface CancelTarget {
  /** Order txids. */
  txids?: readonly string[];
  /** Client order ids. */
  clOrdIds?: readonly string[];
  /** User references (every open order with one of them). */
  userrefs?: readonly number[];
}

/** Amend changes (absent = unchanged). */
export interface AmendChanges {
  /** New total volume (`order_qty`), decimal text. */
  orderQty?: string;
  /** New iceberg display volume, decimal text. */
  displayQty?: string;
  /** New limit price (absolute or relative text). */
  limitPrice?: string;
  /** New trigger price (absolute or relative text). */
  triggerPrice?: string;
  /** Reject the change if the new limit would take. */
  postOnly?: boolean;
  /** RFC 3339 deadline. */
  deadline?: string;
}

/** One `OrderAmends` row. */
export interface AmendRecord {
  /** Amend id (`T…`). */
  "amend_id": string;
  /** `original` or `user`. */
  "amend_type": "original" | "user";
  /** Volume text. */
  "order_qty": string;
  /** Iceberg display text. */
  "display_qty"?: string;
  /** Unfilled volume text. */
  "remaining_qty": string;
  /** Limit price text. */
  "limit_price": string;
  /** Trigger price text. */
  "trigger_price"?: string;
  /** Post-only flag. */
  "post_only": boolean;
  /** Nanoseconds since the epoch (exceeds 2^53: a bigint). */
  timestamp: bigint;
}

interface Live {
  readonly order: SimOrder;
  readonly kind: OrderKind;
  readonly feeIn: "quote" | "base";
  readonly feeExplicit: boolean;
  postOnly: boolean;
  readonly timeInForce: "GTC" | "IOC" | "GTD";
  triggerUnits: bigint | undefined;
  trailing:
    | { offset: PriceInput; limitOffset?: PriceInput; peakUnits: bigint }
    | undefined;
  triggered: boolean;
  displayUnits: bigint | undefined;
  displayLeftUnits: bigint;
  readonly close: CloseSpec | undefined;
  closeCoveredUnits: bigint;
  changedMs: number;
  readonly seq: number;
}

interface Resolved {
  limitUnits?: bigint;
  triggerUnits?: bigint;
  trailing?: {
    offset: PriceInput;
    limitOffset?: PriceInput;
    peakUnits: bigint;
  };
  expectedUnits: bigint;
  priceText: string;
  price2Text: string | undefined;
}

interface TimedEvent {
  atMs: number;
  rank: number;
  index: number;
  run: () => void;
}

const DEAD_MAN_REASON = "Dead man's switch";

function fail(code: string): never {
  throw new SimApiError(code);
}

function decimalsOf(asset: string): number {
  return assetByKey(asset)?.decimals ?? 8;
}

function opposite(side: "buy" | "sell"): "buy" | "sell" {
  return side === "buy" ? "sell" : "buy";
}

function isOpen(order: SimOrder): boolean {
  return order.status === "open" || order.status === "pending";
}

function secondsText(ms: number): string {
  return `${
    new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)
  }Z`;
}

/** Whether a trigger fires at `priceUnits` (last trade). */
function triggerHit(
  kind: OrderKind,
  side: "buy" | "sell",
  triggerUnits: bigint,
  priceUnits: bigint,
): boolean {
  const adverse = kind.startsWith("stop-loss") || kind.startsWith("trailing");
  if (adverse) {
    return side === "sell"
      ? priceUnits <= triggerUnits
      : priceUnits >= triggerUnits;
  }
  return side === "sell"
    ? priceUnits >= triggerUnits
    : priceUnits <= triggerUnits;
}

/** A WS v2 price and its `*_price_type` for a close template price. */
function wirePrice(
  input: PriceInput,
  pair: SimPair,
): { price: WireNumber; type: "static" | "quote" | "pct" } {
  if (input.kind === "absolute") {
    return { price: new WireNumber(priceText(input, pair)), type: "static" };
  }
  const negative = input.sign === "-";
  const magnitude = input.kind === "offset"
    ? formatUnits(input.units, pair.pairDecimals)
    : input.text.replace(/^[+#-]/, "").replace(/%$/, "");
  return {
    price: new WireNumber(`${negative ? "-" : ""}${magnitude}`),
    type: input.kind === "offset" ? "quote" : "pct",
  };
}

/** The `contingent` object of an order with a conditional close (WS_V2.md §4.1). */
function contingentOf(close: CloseSpec, pair: SimPair): WireObject {
  const first = wirePrice(close.price, pair);
  const second = close.price2 ? wirePrice(close.price2, pair) : undefined;
  if (close.ordertype === "limit") {
    return {
      order_type: close.ordertype,
      limit_price: first.price,
      limit_price_type: first.type,
    };
  }
  return {
    order_type: close.ordertype,
    trigger_price: first.price,
    trigger_price_type: first.type,
    limit_price: second?.price,
    limit_price_type: second?.type,
  };
}

/**
 * The matching engine of the simulated account.
 *
 * @example Place a limit order at a fixed time
 * ```ts
 * import { Market } from "./market.ts";
 * import { SimAccount } from "./account.ts";
 * import { SimControl } from "../control.ts";
 * import { SimEngine } from "./engine.ts";
 * let now = Date.UTC(2025, 0, 10);
 * const market = new Market({ seed: 1, now: () => now });
 * const account = SimAccount.seeded(market);
 * const engine = new SimEngine({ market, account, control: new SimControl() });
 * const placed = engine.add(
 *   { ordertype: "limit", type: "buy", volume: "0.01", price: "-5%" },
 *   { pair: "XBTUSD", nowMs: now },
 * );
 * now += 3_600_000;
 * engine.sync(); // fills it if the market came down that far
 * engine.close();
 * ```
 */
export class SimEngine {
  #market: Market;
  #account: SimAccount;
  #control: SimControl;
  #tier: SimTier;
  #maxOpen: number;
  #random: SeededRandom;
  #live = new Map<string, Live>();
  #counters = new Map<string, Meter>();
  #amends = new Map<string, AmendRecord[]>();
  /** Limit prices of untriggered `-limit` orders, applied when they fire. */
  #pendingLimits = new Map<string, bigint>();
  #cursorMs: number;
  #seq = 0;
  #deadManMs: number | undefined;
  #operating = 0;
  #deferred = 0;
  #rows: Array<{ channel: "executions" | "balances"; row: WireObject }> = [];
  #publishers = new Set<PrivatePublisher>();
  #foreignStatus = new Map<string, string>();
  #unsubscribe: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #onError: ((error: unknown) => void) | undefined;

  /**
   * Create the engine and adopt the account's open orders as resting limits.
   *
   * @param deps Market, account and control.
   * @param options Tier, open-order cap, background sync, seed.
   */
  constructor(deps: EngineDeps, options: SimEngineOptions = {}) {
    this.#market = deps.market;
    this.#account = deps.account;
    this.#control = deps.control;
    this.#tier = options.tier ?? "starter";
    this.#maxOpen = options.maxOpenOrdersPerPair ??
      OPEN_ORDER_CAPS[this.#tier];
    this.#random = new SeededRandom((options.seed ?? 1) * 7_727 + 11);
    this.#onError = options.onError;
    this.#cursorMs = this.#market.now();
    for (const order of this.#account.orders()) {
      if (!isOpen(order)) continue;
      this.#live.set(order.txid, {
        order,
        kind: (LIMIT_KINDS.has(order.ordertype as OrderKind)
          ? order.ordertype
          : "limit") as OrderKind,
        feeIn: order.oflags.includes("fcib") ? "base" : "quote",
        feeExplicit: true,
        postOnly: order.oflags.includes("post"),
        timeInForce: order.expiretmMs === 0 ? "GTC" : "GTD",
        triggerUnits: undefined,
        trailing: undefined,
        triggered: true,
        displayUnits: undefined,
        displayLeftUnits: 0n,
        close: undefined,
        closeCoveredUnits: 0n,
        changedMs: order.opentmMs,
        seq: this.#seq++,
      });
    }
    this.#unsubscribe = this.#account.subscribe((event) =>
      this.#onAccountEvent(event)
    );
    const tickMs = options.tickMs ?? 0;
    if (tickMs > 0) {
      this.#timer = setInterval(() => {
        // A throw in a timer would end the process; report it and go on.
        try {
          this.sync();
        } catch (error) {
          this.#onError?.(error);
        }
      }, tickMs);
    }
  }

  /** Time up to which the market has been replayed, ms. */
  get cursorMs(): number {
    return this.#cursorMs;
  }

  /** When the dead man's switch fires, ms (`undefined` = disarmed). */
  get deadManMs(): number | undefined {
    return this.#deadManMs;
  }

  /**
   * The trading counter of a pair at an instant (after decay).
   *
   * @param pairName Any pair spelling.
   * @param nowMs The instant (default now).
   * @returns The level (0 when never charged).
   */
  counterLevel(pairName: string, nowMs: number = this.#market.now()): number {
    const pair = this.#market.pair(pairName);
    const counter = pair ? this.#counters.get(pair.key) : undefined;
    if (!counter) return 0;
    return counter.level(nowMs);
  }

  /**
   * Resolve a pair spelling on the engine's market.
   *
   * @param name Any spelling.
   * @returns The pair, or `undefined`.
   */
  pairOf(name: string): SimPair | undefined {
    return this.#market.pair(name);
  }

  /**
   * Send `executions`/`balances` rows to a publisher (the WS side).
   *
   * @param publisher Receives each row as its own message.
   * @returns A function that detaches it.
   */
  attach(publisher: PrivatePublisher): () => void {
    this.#publishers.add(publisher);
    return () => this.#publishers.delete(publisher);
  }

  /**
   * Run `fn` with row publishing held back, then publish (a WS transport
   * sends its answer first, then the `executions` rows).
   *
   * @param fn The work.
   * @returns What `fn` returns.
   */
  deferRows<T>(fn: () => T): T {
    this.#deferred++;
    try {
      return fn();
    } finally {
      this.#deferred--;
      this.#flush();
    }
  }

  /** Stop the background timer and detach from the account. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe();
    this.#publishers.clear();
  }

  // -------------------------------------------------------------------------
  // Time

  /**
   * Replay the market up to `nowMs`: public trades fill resting orders and
   * fire triggers, GTD orders expire and the dead man's switch fires, all
   * in time order.
   *
   * @param nowMs Replay up to here (default now).
   */
  sync(nowMs: number = this.#market.now()): void {
    if (nowMs <= this.#cursorMs) return;
    this.#run(() => this.#replay(nowMs));
  }

  #replay(nowMs: number): void {
    const fromMs = this.#cursorMs;
    this.#cursorMs = nowMs;
    const events: TimedEvent[] = [];
    const push = (atMs: number, rank: number, run: () => void) =>
      events.push({ atMs, rank, index: events.length, run });
    const pairs = new Set<string>();
    for (const live of this.#live.values()) {
      pairs.add(live.order.pair.key);
      const expiry = live.order.expiretmMs;
      if (expiry > fromMs && expiry <= nowMs) {
        push(expiry, 0, () => {
          if (this.#live.get(live.order.txid) === live) {
            this.#finish(live, "expired", null, expiry);
          }
        });
      }
    }
    const deadMan = this.#deadManMs;
    if (deadMan !== undefined && deadMan > fromMs && deadMan <= nowMs) {
      push(deadMan, 0, () => {
        this.#deadManMs = undefined;
        for (const live of [...this.#live.values()]) {
          this.#finish(live, "canceled", DEAD_MAN_REASON, deadMan);
        }
      });
    }
    for (const key of pairs) {
      for (const trade of this.#market.tradesBetween(key, fromMs, nowMs)) {
        const atMs = trade.timeUs / 1000;
        // The engine's own fills are on the tape too; they never fill its orders again.
        if (trade.own) continue;
        push(atMs, 1, () =>
          this.#onPublicTrade(
            key,
            BigInt(trade.priceUnits),
            BigInt(trade.volumeUnits),
            atMs,
            this.#market.tradeIdNow(trade),
          ));
      }
    }
    events.sort((a, b) =>
      a.atMs - b.atMs || a.rank - b.rank || a.index - b.index
    );
    for (const event of events) event.run();
  }

  #onPublicTrade(
    pairKey: string,
    priceUnits: bigint,
    volumeUnits: bigint,
    atMs: number,
    tradeId: number,
  ): void {
    const lives = [...this.#live.values()].filter((l) =>
      l.order.pair.key === pairKey
    );
    if (lives.length === 0) return;
    for (const live of lives) {
      if (live.triggered || this.#live.get(live.order.txid) !== live) continue;
      if (live.trailing) {
        const t = live.trailing;
        t.peakUnits = live.order.type === "sell"
          ? (priceUnits > t.peakUnits ? priceUnits : t.peakUnits)
          : (priceUnits < t.peakUnits ? priceUnits : t.peakUnits);
        live.triggerUnits = this.#trailingTrigger(live);
      }
      if (
        live.triggerUnits !== undefined &&
        triggerHit(live.kind, live.order.type, live.triggerUnits, priceUnits)
      ) {
        this.#activate(live, priceUnits, atMs);
      }
    }
    let left = volumeUnits;
    const resting = [...this.#live.values()]
      .filter((l) =>
        l.order.pair.key === pairKey && l.triggered &&
        l.order.limitUnits !== undefined
      )
      .sort((a, b) => {
        const pa = a.order.limitUnits!;
        const pb = b.order.limitUnits!;
        if (pa !== pb) {
          // Better prices first: higher bids, lower asks.
          return a.order.type === "buy"
            ? (pb > pa ? 1 : -1)
            : (pa > pb ? 1 : -1);
        }
        return a.seq - b.seq;
      });
    for (const live of resting) {
      if (this.#live.get(live.order.txid) !== live) continue;
      const limit = live.order.limitUnits!;
      const buy = live.order.type === "buy";
      const crosses = buy ? priceUnits <= limit : priceUnits >= limit;
      if (!crosses) continue;
      const strict = priceUnits !== limit;
      let available = live.order.volumeUnits - live.order.volExecUnits;
      if (live.displayUnits !== undefined) {
        available = available < live.displayLeftUnits
          ? available
          : live.displayLeftUnits;
      }
      const volume = strict ? available : (available < left ? available : left);
      if (volume <= 0n) continue;
      if (!strict) left -= volume;
      if (this.#fill(live, limit, volume, atMs, true, tradeId)) {
        this.#afterFills(live, atMs);
      }
    }
  }

  // -------------------------------------------------------------------------
  // Placement

  /**
   * Place one order (REST `AddOrder`, WS `add_order`): counter, checks,
   * funds, then matching. With `validate` nothing is placed.
   *
   * @param fields REST-named fields (WS params are mapped onto them).
   * @param options Pair spelling and now.
   * @returns The order and its `descr`.
   * @throws {SimApiError} With Kraken's error string.
   */
  add(
    fields: OrderFields,
    options: { pair: string | undefined; nowMs: number },
  ): PlacedOrder {
    this.sync(options.nowMs);
    return this.#run(() => {
      const pair = this.#pair(options.pair);
      const withinLimit = this.#charge(pair, 1, options.nowMs);
      if (!withinLimit) fail(ORDER_ERRORS.rateLimit);
      const spec = parseOrder(fields, { pair, nowMs: options.nowMs });
      return this.#placeChecked(spec, options.nowMs);
    });
  }

  /**
   * Place 2–15 orders on one pair (REST `AddOrderBatch`, WS `batch_add`):
   * every order is checked first (one bad order fails the batch), then each
   * is placed; a funds or open-orders failure answers in its own row.
   *
   * @param rows REST-named fields per order.
   * @param options Pair, now, batch-level `validate` and `deadline`.
   * @returns One entry per order, in request order.
   * @throws {SimApiError} For a bad batch.
   */
  addBatch(
    rows: readonly OrderFields[],
    options: {
      pair: string | undefined;
      nowMs: number;
      validate?: boolean;
      deadline?: string | undefined;
    },
  ): Array<PlacedOrder | { error: string }> {
    this.sync(options.nowMs);
    return this.#run(() => {
      const pair = this.#pair(options.pair);
      if (rows.length < 2 || rows.length > 15) fail(INVALID_ARGUMENTS);
      const withinLimit = this.#charge(
        pair,
        tradingIncrement("batch_add", 0, rows.length),
        options.nowMs,
      );
      if (!withinLimit) fail(ORDER_ERRORS.rateLimit);
      if (options.deadline !== undefined && options.deadline !== "") {
        checkDeadline(options.deadline, options.nowMs);
      }
      const specs = rows.map((row) =>
        this.#inBase(
          parseOrder(
            { ...row, ...(options.validate ? { validate: "true" } : {}) },
            { pair, nowMs: options.nowMs },
          ),
          options.nowMs,
        )
      );
      const checked = specs.map((spec) => {
        this.#checkStatus(spec);
        const resolved = this.#resolve(
          spec,
          this.#lastUnits(pair, options.nowMs),
          options.nowMs,
        );
        checkMinimums(pair, spec.volumeUnits, resolved.expectedUnits);
        return { spec, resolved };
      });
      return checked.map(({ spec, resolved }) => {
        if (spec.validate) return { descr: this.#descr(spec, resolved) };
        try {
          return this.#admit(spec, resolved, options.nowMs);
        } catch (error) {
          if (error instanceof SimApiError) return { error: error.code };
          throw error;
        }
      });
    });
  }

  #placeChecked(given: OrderSpec, nowMs: number): PlacedOrder {
    const spec = this.#inBase(given, nowMs);
    this.#checkStatus(spec);
    const resolved = this.#resolve(
      spec,
      this.#lastUnits(spec.pair, nowMs),
      nowMs,
    );
    checkMinimums(spec.pair, spec.volumeUnits, resolved.expectedUnits);
    if (spec.validate) return { descr: this.#descr(spec, resolved) };
    return this.#admit(spec, resolved, nowMs);
  }

  /**
   * A `viqc` order's base volume: what its quote amount buys walking the
   * asks now (whole levels, then the lots the rest pays for at the next
   * level). Other orders unchanged.
   */
  #inBase(spec: OrderSpec, nowMs: number): OrderSpec {
    const quote = spec.quoteVolumeUnits;
    if (quote === undefined) return spec;
    const { pair } = spec;
    // Quote left, at the scale of price units × lot units.
    let left = quote * pow10(pair.pairDecimals + pair.lotDecimals) /
      pow10(pair.costDecimals);
    let volumeUnits = 0n;
    const book = this.#market.book(pair.key, { depth: 500, atMs: nowMs });
    for (const level of book.asks) {
      const price = BigInt(level.priceUnits);
      const qty = BigInt(level.qtyUnits);
      const take = left >= price * qty ? qty : left / price;
      volumeUnits += take;
      left -= take * price;
      if (take < qty) break;
    }
    return { ...spec, volumeUnits };
  }

  /** Open-order cap, client id uniqueness and funds; then open and match. */
  #admit(spec: OrderSpec, resolved: Resolved, nowMs: number): PlacedOrder {
    const openOnPair =
      [...this.#live.values()].filter((l) => l.order.pair.key === spec.pair.key)
        .length;
    if (openOnPair >= this.#maxOpen) fail(ORDER_ERRORS.ordersLimit);
    if (
      spec.clOrdId !== undefined &&
      [...this.#live.values()].some((l) => l.order.clOrdId === spec.clOrdId)
    ) {
      // cl_ord_id must be unique among open orders (REST.md §4.2).
      fail(INVALID_ARGUMENTS);
    }
    const need = this.#required(spec, resolved, nowMs);
    if (need.units > this.#available(need.asset)) {
      fail(ORDER_ERRORS.insufficientFunds);
    }
    const live = this.#open(spec, resolved, nowMs, undefined);
    return { order: live.order, descr: this.#descr(spec, resolved) };
  }

  #checkStatus(spec: OrderSpec): void {
    const system = this.#control.systemStatus;
    if (system === "maintenance") fail(ORDER_ERRORS.unavailable);
    if (system === "cancel_only") fail(ORDER_ERRORS.cancelOnly);
    const postOnlyLimit = spec.postOnly &&
      (spec.ordertype === "limit" || spec.ordertype === "iceberg");
    if (system === "post_only" && !postOnlyLimit) fail(ORDER_ERRORS.postOnly);
    switch (spec.pair.status) {
      case "cancel_only":
        fail(ORDER_ERRORS.cancelOnly);
        break;
      case "post_only":
        if (!postOnlyLimit) fail(ORDER_ERRORS.postOnly);
        break;
      case "limit_only":
        if (!LIMIT_KINDS.has(spec.ordertype)) fail(ORDER_ERRORS.limitOnly);
        break;
      case "reduce_only":
        if (!spec.reduceOnly) fail(ORDER_ERRORS.reduceOnlyMarket);
        break;
    }
    // Spot only: nothing to reduce.
    if (spec.reduceOnly) fail(ORDER_ERRORS.reduceOnlyNoPosition);
  }

  #pair(name: string | undefined): SimPair {
    if (name === undefined || name === "") fail(INVALID_ARGUMENTS);
    const pair = this.#market.pair(name);
    if (!pair) fail(ORDER_ERRORS.unknownPair);
    return pair;
  }

  /** Charge the pair's trading counter; `false` when over the threshold. */
  #charge(pair: SimPair, cost: number, nowMs: number): boolean {
    let counter = this.#counters.get(pair.key);
    if (!counter) {
      counter = new Meter(TRADING_LIMITS[this.#tier], nowMs);
      this.#counters.set(pair.key, counter);
    }
    return counter.add(cost, nowMs);
  }

  #lastUnits(pair: SimPair, atMs: number): bigint {
    return BigInt(
      Math.round(
        this.#market.lastPrice(pair.key, atMs) * 10 ** pair.pairDecimals,
      ),
    );
  }

  #resolve(spec: OrderSpec, referenceUnits: bigint, nowMs: number): Resolved {
    const { pair, side, ordertype } = spec;
    const at = (input: PriceInput, kind: OrderKind = ordertype) =>
      resolvePrice(input, {
        lastUnits: referenceUnits,
        ordertype: kind,
        side,
        pair,
      });
    switch (ordertype) {
      case "market": {
        const estimate = this.#bookCost(pair, side, spec.volumeUnits, nowMs);
        return {
          expectedUnits: estimate.averageUnits,
          priceText: "0",
          price2Text: undefined,
        };
      }
      case "limit":
      case "iceberg": {
        const limitUnits = at(spec.price!);
        return {
          limitUnits,
          expectedUnits: limitUnits,
          priceText: priceText(limitUnits, pair),
          price2Text: undefined,
        };
      }
      case "stop-loss":
      case "take-profit": {
        const triggerUnits = at(spec.price!);
        return {
          triggerUnits,
          expectedUnits: triggerUnits,
          priceText: priceText(triggerUnits, pair),
          price2Text: undefined,
        };
      }
      case "stop-loss-limit":
      case "take-profit-limit": {
        const triggerUnits = at(spec.price!);
        const limitUnits = at(
          spec.price2!,
          ordertype === "stop-loss-limit" ? "limit" : "take-profit",
        );
        return {
          triggerUnits,
          limitUnits,
          expectedUnits: limitUnits,
          priceText: priceText(triggerUnits, pair),
          price2Text: priceText(limitUnits, pair),
        };
      }
      case "trailing-stop":
      case "trailing-stop-limit": {
        const trailing = {
          offset: spec.price!,
          ...(spec.price2 ? { limitOffset: spec.price2 } : {}),
          peakUnits: referenceUnits,
        };
        const amount = offsetUnits(spec.price!, referenceUnits, pair);
        const triggerUnits = side === "sell"
          ? referenceUnits - amount
          : referenceUnits + amount;
        if (triggerUnits <= 0n) fail(ORDER_ERRORS.invalidPrice);
        return {
          triggerUnits,
          trailing,
          expectedUnits: triggerUnits,
          priceText: priceText(spec.price!, pair),
          price2Text: spec.price2 ? priceText(spec.price2, pair) : undefined,
        };
      }
    }
  }

  #descr(
    spec: OrderSpec,
    resolved: Resolved,
  ): { order: string; close?: string } {
    const order = describeOrder({
      side: spec.side,
      volumeUnits: spec.volumeUnits,
      pair: spec.pair,
      ordertype: spec.ordertype,
      price: resolved.priceText,
      price2: resolved.price2Text,
    });
    return spec.close
      ? { order, close: describeClose(spec.close, spec.pair) }
      : { order };
  }

  /** Walk the book for `volumeUnits`: total cost (price × lot units) and average price. */
  #bookCost(
    pair: SimPair,
    side: "buy" | "sell",
    volumeUnits: bigint,
    atMs: number,
  ): { averageUnits: bigint } {
    const book = this.#market.book(pair.key, { depth: 500, atMs });
    const levels = side === "buy" ? book.asks : book.bids;
    let left = volumeUnits;
    let pv = 0n;
    let lastPrice = BigInt(levels[0]?.priceUnits ?? 1);
    for (const level of levels) {
      if (left <= 0n) break;
      const qty = BigInt(level.qtyUnits);
      const take = qty < left ? qty : left;
      lastPrice = BigInt(level.priceUnits);
      pv += take * lastPrice;
      left -= take;
    }
    pv += left * lastPrice;
    return { averageUnits: divideRounded(pv, volumeUnits) };
  }

  #takerPerMillion(pair: SimPair, atMs: number): bigint {
    const fee = feeTier(pair.fees, this.#account.thirtyDayUsd(atMs)).fee;
    return BigInt(Math.round(fee * 10_000));
  }

  /** Funds an order needs (asset and units), as Kraken checks on entry. */
  #required(
    spec: {
      pair: SimPair;
      side: "buy" | "sell";
      volumeUnits: bigint;
      feeIn: "quote" | "base";
    },
    resolved: { expectedUnits: bigint },
    nowMs: number,
  ): { asset: string; units: bigint } {
    const { pair } = spec;
    if (spec.side === "buy") {
      const cost = rescaleUnits(
        spec.volumeUnits * resolved.expectedUnits,
        pair.pairDecimals + pair.lotDecimals,
        decimalsOf(pair.quote),
      );
      const fee = spec.feeIn === "quote"
        ? divideRounded(cost * this.#takerPerMillion(pair, nowMs), 1_000_000n)
        : 0n;
      return { asset: pair.quote, units: cost + fee };
    }
    return {
      asset: pair.base,
      units: rescaleUnits(
        spec.volumeUnits,
        pair.lotDecimals,
        decimalsOf(pair.base),
      ),
    };
  }

  #available(asset: string, except?: SimOrder): bigint {
    let held = this.#account.holds().get(asset) ?? 0n;
    if (except) held -= this.#holdOf(except, asset);
    return this.#account.balance(asset) - held;
  }

  #holdOf(order: SimOrder, asset: string): bigint {
    const { pair } = order;
    const remaining = order.volumeUnits - order.volExecUnits;
    if (order.type === "sell") {
      return asset === pair.base
        ? rescaleUnits(remaining, pair.lotDecimals, decimalsOf(pair.base))
        : 0n;
    }
    const price = order.terms?.holdPriceUnits ?? order.limitUnits;
    if (asset !== pair.quote || price === undefined) return 0n;
    return rescaleUnits(
      remaining * price,
      pair.lotDecimals + pair.pairDecimals,
      decimalsOf(pair.quote),
    );
  }

  /** Open the account order, announce it, and match it. */
  #open(
    spec: OrderSpec,
    resolved: Resolved,
    nowMs: number,
    refid: string | undefined,
  ): Live {
    const { pair } = spec;
    const triggeredKind = TRIGGERED_KINDS.has(spec.ordertype);
    const flags = [
      ...(spec.postOnly ? ["post"] : []),
      spec.feeIn === "base" ? "fcib" : "fciq",
      ...(spec.noMarketPriceProtection ? ["nompp"] : []),
    ];
    const terms: SimOrderTerms = {
      price: resolved.priceText,
      ...(resolved.price2Text !== undefined
        ? { price2: resolved.price2Text }
        : {}),
      order: this.#descr(spec, resolved).order,
      ...(spec.close ? { close: describeClose(spec.close, pair) } : {}),
      ...(refid !== undefined ? { refid } : {}),
      ...(triggeredKind ? { trigger: spec.trigger } : {}),
      // Buys without a live limit (stops, market) hold funds at the expected price.
      ...(spec.side === "buy" &&
          (triggeredKind || resolved.limitUnits === undefined)
        ? { holdPriceUnits: resolved.expectedUnits }
        : {}),
    };
    const limitUnits = triggeredKind ? undefined : resolved.limitUnits;
    const order = this.#account.openOrder({
      pair: pair.key,
      type: spec.side,
      ordertype: spec.ordertype,
      ...(limitUnits !== undefined ? { limitUnits } : {}),
      volumeUnits: spec.volumeUnits,
      timeMs: nowMs,
      userref: spec.userref,
      ...(spec.clOrdId !== undefined ? { clOrdId: spec.clOrdId } : {}),
      oflags: flags.join(","),
      expiretmMs: spec.expiretmMs,
      terms,
    });
    const live: Live = {
      order,
      kind: spec.ordertype,
      feeIn: spec.feeIn,
      // The engine's own default (fcib for sells) may fall back to quote.
      feeExplicit: false,
      postOnly: spec.postOnly,
      timeInForce: spec.timeInForce,
      triggerUnits: resolved.triggerUnits,
      trailing: resolved.trailing,
      triggered: !triggeredKind,
      displayUnits: spec.displayUnits,
      displayLeftUnits: spec.displayUnits ?? 0n,
      close: spec.close,
      closeCoveredUnits: 0n,
      changedMs: nowMs,
      seq: this.#seq++,
    };
    // Limit of a fixed `-limit` type, applied when it triggers.
    if (triggeredKind && resolved.limitUnits !== undefined) {
      this.#pendingLimits.set(order.txid, resolved.limitUnits);
    }
    this.#live.set(order.txid, live);
    this.#amends.set(order.txid, [this.#amendRecord(live, "original", nowMs)]);
    this.#emit("executions", pendingNewRow(order, this.#rowInfo(live), nowMs));
    this.#emit("executions", statusRow(order, "new", nowMs));
    this.#match(live, nowMs);
    return live;
  }

  /** Match a just-placed or just-amended order against the book at `atMs`. */
  #match(live: Live, atMs: number): void {
    const { order } = live;
    if (!live.triggered) {
      const last = this.#lastUnits(order.pair, atMs);
      if (
        live.triggerUnits !== undefined &&
        triggerHit(live.kind, order.type, live.triggerUnits, last)
      ) {
        this.#activate(live, last, atMs);
      }
      return;
    }
    if (live.kind === "market") {
      this.#take(live, undefined, atMs);
      if (this.#live.get(order.txid) === live) {
        this.#finish(live, "canceled", "Insufficient liquidity", atMs);
      }
      return;
    }
    const limit = order.limitUnits;
    if (limit === undefined) return;
    const book = this.#market.book(order.pair.key, { depth: 1, atMs });
    const best = order.type === "buy" ? book.asks[0] : book.bids[0];
    const crosses = best !== undefined &&
      (order.type === "buy"
        ? BigInt(best.priceUnits) <= limit
        : BigInt(best.priceUnits) >= limit);
    if (crosses && live.postOnly) {
      this.#finish(live, "canceled", "Post only order", atMs);
      return;
    }
    if (crosses) this.#take(live, limit, atMs);
    if (live.timeInForce === "IOC" && this.#live.get(order.txid) === live) {
      this.#finish(live, "canceled", "Immediate or cancel", atMs);
    }
  }

  /** Take liquidity from the book at `atMs`, up to `limitUnits`. */
  #take(live: Live, limitUnits: bigint | undefined, atMs: number): void {
    const { order } = live;
    const book = this.#market.book(order.pair.key, { depth: 500, atMs });
    const levels = order.type === "buy" ? book.asks : book.bids;
    let filled = false;
    for (const level of levels) {
      const remaining = order.volumeUnits - order.volExecUnits;
      if (remaining <= 0n || this.#live.get(order.txid) !== live) break;
      const price = BigInt(level.priceUnits);
      if (
        limitUnits !== undefined &&
        (order.type === "buy" ? price > limitUnits : price < limitUnits)
      ) break;
      const qty = BigInt(level.qtyUnits);
      const volume = qty < remaining ? qty : remaining;
      if (!this.#fill(live, price, volume, atMs, false)) break;
      filled = true;
    }
    if (filled) this.#afterFills(live, atMs);
  }

  /**
   * One fill through the account; `false` (and the order cancelled) when
   * the balance cannot pay it.
   */
  #fill(
    live: Live,
    priceUnits: bigint,
    volumeUnits: bigint,
    atMs: number,
    maker: boolean,
    publicTradeId?: number,
  ): boolean {
    const { order } = live;
    const other: "quote" | "base" = live.feeIn === "base" ? "quote" : "base";
    const candidates: Array<"quote" | "base"> = live.feeExplicit
      ? [live.feeIn]
      : [live.feeIn, other];
    const feeIn = candidates.find((asset) => {
      const amounts = this.#account.previewFill(order, {
        priceUnits,
        volumeUnits,
        timeMs: atMs,
        maker,
        feeIn: asset,
      });
      return this.#account.balance(order.pair.quote) +
              amounts.quoteDeltaUnits >= 0n &&
        this.#account.balance(order.pair.base) + amounts.baseDeltaUnits >= 0n;
    });
    if (feeIn === undefined) {
      this.#finish(live, "canceled", "Insufficient funds", atMs);
      return false;
    }
    // A taker fill goes on the public tape (one trade id sequence) and
    // takes the liquidity from the book; a maker fill is the public trade
    // that reached the order.
    const tradeId = maker ? publicTradeId : this.#market.recordTrade(
      order.pair.key,
      {
        priceUnits: Number(priceUnits),
        volumeUnits: Number(volumeUnits),
        side: order.type === "buy" ? "b" : "s",
        orderType: order.ordertype.includes("limit") ? "l" : "m",
        atMs,
      },
    ).tradeId;
    const trade: SimOwnTrade = this.#account.fill(order.txid, {
      priceUnits,
      volumeUnits,
      timeMs: atMs,
      maker,
      feeIn,
      ...(tradeId !== undefined ? { tradeId } : {}),
    });
    this.#emit("executions", tradeRow(trade, order, feeIn, this.#account));
    if (live.displayUnits !== undefined && maker) {
      live.displayLeftUnits -= volumeUnits;
      const remaining = order.volumeUnits - order.volExecUnits;
      if (live.displayLeftUnits <= 0n && remaining > 0n) {
        live.displayLeftUnits = remaining < live.displayUnits
          ? remaining
          : live.displayUnits;
        this.#emit(
          "executions",
          icebergRefillRow(order, live.displayLeftUnits, atMs),
        );
      }
    }
    if (order.status === "closed") {
      this.#live.delete(order.txid);
      this.#emit("executions", statusRow(order, "filled", atMs));
    }
    return true;
  }

  /** After a batch of fills: create the conditional close for the new volume. */
  #afterFills(live: Live, atMs: number): void {
    const { order } = live;
    const close = live.close;
    if (!close) return;
    const volume = order.volExecUnits - live.closeCoveredUnits;
    if (volume <= 0n) return;
    live.closeCoveredUnits = order.volExecUnits;
    const { pair } = order;
    const average = divideRounded(
      order.costUnits * pow10(pair.lotDecimals + pair.pairDecimals),
      order.volExecUnits * pow10(decimalsOf(pair.quote)),
    );
    const side = opposite(order.type);
    const spec: OrderSpec = {
      pair,
      side,
      ordertype: close.ordertype,
      volumeUnits: volume,
      price: close.price,
      ...(close.price2 ? { price2: close.price2 } : {}),
      postOnly: false,
      feeIn: side === "sell" ? "base" : "quote",
      noMarketPriceProtection: false,
      timeInForce: "GTC",
      expiretmMs: 0,
      userref: order.userref,
      trigger: order.terms?.trigger ?? "last",
      triggerGiven: false,
      reduceOnly: false,
      validate: false,
    };
    let resolved: Resolved;
    try {
      resolved = this.#resolve(spec, average, atMs);
    } catch {
      return; // A relative close that resolves to no price: nothing to place.
    }
    this.#open(spec, resolved, atMs, order.txid);
  }

  /** A trigger fired: become a market or limit order and match. */
  #activate(live: Live, actualUnits: bigint, atMs: number): void {
    const { order } = live;
    live.triggered = true;
    const { pair } = order;
    const trigger = live.triggerUnits ?? actualUnits;
    let limit: bigint | undefined;
    if (live.kind === "trailing-stop-limit" && live.trailing?.limitOffset) {
      const offset = live.trailing.limitOffset;
      const amount = offsetUnits(offset, trigger, pair);
      const sign = offset.kind !== "absolute" && offset.sign === "-" ? -1n : 1n;
      limit = trigger + sign * amount;
    } else if (live.kind.endsWith("-limit")) {
      limit = this.#pendingLimits.get(order.txid);
    }
    this.#pendingLimits.delete(order.txid);
    order.terms = {
      ...order.terms,
      stopprice: formatUnits(trigger, pair.pairDecimals),
      ...(limit !== undefined
        ? { limitprice: formatUnits(limit, pair.pairDecimals) }
        : {}),
    };
    if (limit !== undefined) {
      order.limitUnits = limit;
      if (order.terms) delete order.terms.holdPriceUnits;
    }
    order.misc = order.misc ? `${order.misc},stopped` : "stopped";
    this.#emit(
      "executions",
      triggeredRow(order, this.#rowInfo(live), { actualUnits, timeMs: atMs }),
    );
    if (limit === undefined) {
      this.#take(live, undefined, atMs);
      if (this.#live.get(order.txid) === live) {
        this.#finish(live, "canceled", "Insufficient liquidity", atMs);
      }
      return;
    }
    this.#match(live, atMs);
  }

  #trailingTrigger(live: Live): bigint | undefined {
    const t = live.trailing;
    if (!t) return live.triggerUnits;
    const amount = offsetUnits(t.offset, t.peakUnits, live.order.pair);
    return live.order.type === "sell"
      ? t.peakUnits - amount
      : t.peakUnits + amount;
  }

  /** Close an order without further fills and announce it. */
  #finish(
    live: Live,
    status: "canceled" | "expired" | "closed",
    reason: string | null,
    atMs: number,
  ): void {
    const { order } = live;
    if (this.#live.get(order.txid) !== live) return;
    this.#live.delete(order.txid);
    this.#pendingLimits.delete(order.txid);
    this.#account.closeOrder(order.txid, { status, reason, timeMs: atMs });
    this.#emit(
      "executions",
      statusRow(
        order,
        status === "closed" ? "filled" : status,
        atMs,
        this.#account,
      ),
    );
  }

  #rowInfo(live: Live): OrderRowInfo {
    const { pair } = live.order;
    const close = live.close;
    return {
      timeInForce: live.timeInForce,
      postOnly: live.postOnly,
      feeIn: live.feeIn,
      triggerUnits: live.triggerUnits,
      triggered: live.triggered,
      displayUnits: live.displayUnits,
      contingent: close ? contingentOf(close, pair) : undefined,
    };
  }

  // -------------------------------------------------------------------------
  // Amend, edit

  /**
   * Amend an open order in place (REST `AmendOrder`, WS `amend_order`):
   * same txid; queue priority kept unless the price changes.
   *
   * @param target `txid` or `clOrdId`.
   * @param changes New quantity, display, limit, trigger, post-only, deadline.
   * @param nowMs Now.
   * @returns The amend id and the order.
   * @throws {SimApiError} With Kraken's error string.
   */
  amend(
    target: { txid?: string | undefined; clOrdId?: string | undefined },
    changes: AmendChanges,
    nowMs: number,
  ): { amendId: string; order: SimOrder } {
    this.sync(nowMs);
    return this.#run(() => {
      const live = this.#target(target);
      const { order } = live;
      const { pair } = order;
      const within = this.#charge(
        pair,
        tradingIncrement("amend", nowMs - live.changedMs),
        nowMs,
      );
      if (!within) fail(ORDER_ERRORS.rateLimit);
      if (changes.deadline !== undefined) {
        checkDeadline(changes.deadline, nowMs);
      }
      const last = this.#lastUnits(pair, nowMs);
      let volume = order.volumeUnits;
      if (changes.orderQty !== undefined) {
        volume = parseVolume(changes.orderQty, pair);
      }
      let limit = order.limitUnits;
      if (changes.limitPrice !== undefined) {
        const hasLimit = live.triggered
          ? order.limitUnits !== undefined
          : this.#pendingLimits.has(order.txid);
        if (!hasLimit) fail(INVALID_ARGUMENTS);
        limit = resolvePrice(parsePrice(changes.limitPrice, pair), {
          lastUnits: last,
          ordertype: "limit",
          side: order.type,
          pair,
        });
      }
      let trigger = live.triggerUnits;
      if (changes.triggerPrice !== undefined) {
        if (
          live.triggered || live.triggerUnits === undefined || live.trailing
        ) {
          fail(INVALID_ARGUMENTS);
        }
        trigger = resolvePrice(parsePrice(changes.triggerPrice, pair), {
          lastUnits: last,
          ordertype: live.kind,
          side: order.type,
          pair,
        });
      }
      let display = live.displayUnits;
      if (changes.displayQty !== undefined) {
        if (live.displayUnits === undefined) fail(INVALID_ARGUMENTS);
        display = parseVolume(changes.displayQty, pair);
      }
      const remaining = volume - order.volExecUnits;
      if (
        display !== undefined && remaining > 0n && display * 15n < remaining
      ) {
        fail(INVALID_ARGUMENTS);
      }
      const postOnly = changes.postOnly ?? live.postOnly;
      const newLimit = live.triggered ? limit : order.limitUnits;
      if (postOnly && newLimit !== undefined && live.triggered) {
        const book = this.#market.book(pair.key, { depth: 1, atMs: nowMs });
        const best = order.type === "buy" ? book.asks[0] : book.bids[0];
        if (
          best !== undefined &&
          (order.type === "buy"
            ? BigInt(best.priceUnits) <= newLimit
            : BigInt(best.priceUnits) >= newLimit)
        ) {
          fail("EOrder:Post only order");
        }
      }
      if (remaining > 0n) {
        checkMinimums(pair, volume, newLimit ?? trigger ?? last);
        const price = order.type === "buy"
          ? (newLimit ?? order.terms?.holdPriceUnits ?? trigger ?? last)
          : last;
        const need = this.#required(
          { pair, side: order.type, volumeUnits: remaining, feeIn: live.feeIn },
          { expectedUnits: price },
          nowMs,
        );
        if (need.units > this.#available(need.asset, order)) {
          fail(ORDER_ERRORS.insufficientFunds);
        }
      }
      // Apply.
      const priceChanged = limit !== order.limitUnits;
      order.volumeUnits = volume > order.volExecUnits
        ? volume
        : order.volExecUnits;
      if (live.triggered) {
        order.limitUnits = limit;
      } else if (limit !== undefined && changes.limitPrice !== undefined) {
        this.#pendingLimits.set(order.txid, limit);
      }
      live.triggerUnits = trigger;
      live.displayUnits = display;
      if (display !== undefined) {
        live.displayLeftUnits = live.displayLeftUnits < display
          ? live.displayLeftUnits
          : display;
        if (live.displayLeftUnits <= 0n) live.displayLeftUnits = display;
      }
      live.postOnly = postOnly;
      live.changedMs = nowMs;
      this.#refreshTerms(live);
      if (!order.misc.split(",").includes("amended")) {
        order.misc = order.misc ? `${order.misc},amended` : "amended";
      }
      const record = this.#amendRecord(live, "user", nowMs);
      this.#amends.get(order.txid)?.push(record);
      this.#emit("executions", amendedRow(order, this.#rowInfo(live), nowMs));
      if (order.volumeUnits <= order.volExecUnits) {
        this.#finish(
          live,
          order.volExecUnits > 0n ? "closed" : "canceled",
          order.volExecUnits > 0n ? null : "User requested",
          nowMs,
        );
      } else if (priceChanged || changes.triggerPrice !== undefined) {
        this.#match(live, nowMs);
      }
      return { amendId: record.amend_id, order };
    });
  }

  #refreshTerms(live: Live): void {
    const { order } = live;
    const { pair } = order;
    const terms = { ...order.terms };
    const limitText = order.limitUnits !== undefined
      ? priceText(order.limitUnits, pair)
      : undefined;
    const pending = this.#pendingLimits.get(order.txid);
    if (live.kind === "limit" || live.kind === "iceberg") {
      if (limitText !== undefined) terms.price = limitText;
    } else if (!live.trailing && live.triggerUnits !== undefined) {
      terms.price = priceText(live.triggerUnits, pair);
      if (pending !== undefined) terms.price2 = priceText(pending, pair);
      else if (limitText !== undefined) terms.price2 = limitText;
    }
    terms.order = describeOrder({
      side: order.type,
      volumeUnits: order.volumeUnits,
      pair,
      ordertype: live.kind,
      price: terms.price,
      price2: terms.price2,
    });
    order.terms = terms;
  }

  #amendRecord(
    live: Live,
    type: "original" | "user",
    nowMs: number,
  ): AmendRecord {
    const { order } = live;
    const { pair } = order;
    const limit = order.limitUnits ?? this.#pendingLimits.get(order.txid);
    return {
      amend_id: newId(this.#random, "trade"),
      amend_type: type,
      order_qty: formatUnits(order.volumeUnits, pair.lotDecimals),
      ...(live.displayUnits !== undefined
        ? { display_qty: formatUnits(live.displayUnits, pair.lotDecimals) }
        : {}),
      remaining_qty: formatUnits(
        order.volumeUnits - order.volExecUnits,
        pair.lotDecimals,
      ),
      limit_price: limit === undefined
        ? "0"
        : formatUnits(limit, pair.pairDecimals),
      ...(live.triggerUnits !== undefined
        ? { trigger_price: formatUnits(live.triggerUnits, pair.pairDecimals) }
        : {}),
      post_only: live.postOnly,
      timestamp: BigInt(Math.round(nowMs)) * 1_000_000n,
    };
  }

  /**
   * The amend history of an order (REST `OrderAmends`): the original entry
   * first.
   *
   * @param txid Order txid.
   * @returns The records, or `undefined` for an order the engine never placed.
   */
  amendsOf(txid: string): readonly AmendRecord[] | undefined {
    return this.#amends.get(txid);
  }

  /**
   * Cancel and replace (REST `EditOrder`, WS `edit_order`): a new txid, the
   * original cancelled. Not for orders with a conditional close, a client
   * order id, or triggered stops; the new volume must exceed the executed one.
   *
   * @param target The order txid (or userref text).
   * @param fields New `volume`, `price`, `price2`, `displayvol`, `oflags`,
   *   `userref`, `deadline`, `validate`.
   * @param options Pair spelling (required; cannot change) and now.
   * @returns The new order (absent with `validate`), the original and the descr.
   * @throws {SimApiError} With Kraken's error string.
   */
  edit(
    target: string | undefined,
    fields: OrderFields,
    options: { pair: string | undefined; nowMs: number },
  ): { placed: PlacedOrder; original: SimOrder } {
    this.sync(options.nowMs);
    return this.#run(() => {
      const { nowMs } = options;
      const pair = this.#pair(options.pair);
      if (target === undefined || target === "") fail(INVALID_ARGUMENTS);
      const live = /^-?\d+$/.test(target)
        ? [...this.#live.values()].find((l) =>
          l.order.userref === Number(target)
        )
        : this.#live.get(target);
      if (!live) {
        fail(
          this.#account.order(target)
            ? ORDER_ERRORS.invalidOrder
            : ORDER_ERRORS.unknownOrder,
        );
      }
      const { order } = live;
      const within = this.#charge(
        pair,
        tradingIncrement("edit", nowMs - live.changedMs),
        nowMs,
      );
      if (!within) fail(ORDER_ERRORS.rateLimit);
      if (order.pair.key !== pair.key) fail(INVALID_ARGUMENTS);
      if (
        live.close || order.clOrdId !== undefined ||
        (TRIGGERED_KINDS.has(live.kind) && live.triggered)
      ) {
        fail(INVALID_ARGUMENTS);
      }
      const flags = (fields.oflags ?? "").split(",").filter((f) => f !== "");
      if (flags.some((f) => f !== "post")) fail(INVALID_ARGUMENTS);
      const newVolume = fields.volume !== undefined
        ? parseVolume(fields.volume, pair)
        : order.volumeUnits;
      if (newVolume <= order.volExecUnits) fail(INVALID_ARGUMENTS);
      const terms = order.terms;
      const keepFee = order.oflags.split(",").filter((f) =>
        f === "fcib" || f === "fciq"
      );
      const spec = parseOrder({
        ordertype: live.kind,
        type: order.type,
        volume: formatUnits(newVolume - order.volExecUnits, pair.lotDecimals),
        price: fields.price ??
          (live.trailing ? live.trailing.offset.text : terms?.price),
        price2: fields.price2 ??
          (live.trailing?.limitOffset
            ? live.trailing.limitOffset.text
            : terms?.price2),
        displayvol: fields.displayvol ??
          (live.displayUnits !== undefined
            ? formatUnits(live.displayUnits, pair.lotDecimals)
            : undefined),
        oflags: [
          ...(fields.oflags !== undefined
            ? flags
            : live.postOnly
            ? ["post"]
            : []),
          ...keepFee,
        ].join(","),
        timeinforce: live.timeInForce === "IOC" ? "GTC" : live.timeInForce,
        expiretm: order.expiretmMs === 0
          ? undefined
          : String(order.expiretmMs / 1000),
        userref: fields.userref ?? String(order.userref),
        deadline: fields.deadline,
        validate: fields.validate,
        ...(terms?.trigger ? { trigger: terms.trigger } : {}),
      }, { pair, nowMs });
      this.#checkStatus(spec);
      const resolved = this.#resolve(spec, this.#lastUnits(pair, nowMs), nowMs);
      checkMinimums(pair, spec.volumeUnits, resolved.expectedUnits);
      if (spec.validate) {
        return {
          placed: { descr: this.#descr(spec, resolved) },
          original: order,
        };
      }
      const need = this.#required(spec, resolved, nowMs);
      if (need.units > this.#available(need.asset, order)) {
        fail(ORDER_ERRORS.insufficientFunds);
      }
      this.#finish(live, "canceled", "Order replaced", nowMs);
      const next = this.#open(spec, resolved, nowMs, undefined);
      return {
        placed: { order: next.order, descr: this.#descr(spec, resolved) },
        original: order,
      };
    });
  }

  #target(
    target: { txid?: string | undefined; clOrdId?: string | undefined },
  ): Live {
    if (target.txid !== undefined && target.txid !== "") {
      const live = this.#live.get(target.txid);
      if (live) return live;
      fail(
        this.#account.order(target.txid)
          ? ORDER_ERRORS.invalidOrder
          : ORDER_ERRORS.unknownOrder,
      );
    }
    if (target.clOrdId !== undefined && target.clOrdId !== "") {
      const live = [...this.#live.values()].find((l) =>
        l.order.clOrdId === target.clOrdId
      );
      if (live) return live;
      fail(ORDER_ERRORS.unknownOrder);
    }
    fail(INVALID_ARGUMENTS);
  }

  // -------------------------------------------------------------------------
  // Cancel

  /**
   * Cancel open orders by txid, client order id or user reference (REST
   * `CancelOrder`/`CancelOrderBatch`, WS `cancel_order`/`batch_cancel`).
   * Each cancel adds its age penalty to the pair's counter.
   *
   * @param target Which orders.
   * @param options Now, and whether an unknown txid or client id is an
   *   error (`strict`, single cancels) or skipped (batches).
   * @returns The cancelled orders.
   * @throws {SimApiError} `EOrder:Unknown order` (never existed) or
   *   `EOrder:Invalid order` (already closed) in strict mode.
   */
  cancel(
    target: CancelTarget,
    options: { nowMs: number; strict: boolean; batch?: boolean },
  ): SimOrder[] {
    this.sync(options.nowMs);
    return this.#run(() => {
      const { nowMs } = options;
      const chosen = new Map<string, Live>();
      for (const txid of target.txids ?? []) {
        const live = this.#live.get(txid);
        if (live) chosen.set(txid, live);
        else if (options.strict) {
          fail(
            this.#account.order(txid)
              ? ORDER_ERRORS.invalidOrder
              : ORDER_ERRORS.unknownOrder,
          );
        }
      }
      for (const id of target.clOrdIds ?? []) {
        const live = [...this.#live.values()].find((l) =>
          l.order.clOrdId === id
        );
        if (live) chosen.set(live.order.txid, live);
        else if (options.strict) {
          const closed = this.#account.orders().some((o) => o.clOrdId === id);
          fail(closed ? ORDER_ERRORS.invalidOrder : ORDER_ERRORS.unknownOrder);
        }
      }
      for (const userref of target.userrefs ?? []) {
        for (const live of this.#live.values()) {
          if (live.order.userref === userref) chosen.set(live.order.txid, live);
        }
      }
      const out: SimOrder[] = [];
      for (const live of chosen.values()) {
        const age = nowMs - live.changedMs;
        this.#charge(
          live.order.pair,
          tradingIncrement(options.batch ? "batch_cancel" : "cancel", age),
          nowMs,
        );
        this.#finish(live, "canceled", "User requested", nowMs);
        out.push(live.order);
      }
      return out;
    });
  }

  /**
   * Cancel every open order, untriggered ones included (REST `CancelAll`,
   * WS `cancel_all`); +1 on each affected pair's counter.
   *
   * @param nowMs Now.
   * @returns The number cancelled.
   */
  cancelAll(nowMs: number): number {
    this.sync(nowMs);
    return this.#run(() => {
      const lives = [...this.#live.values()];
      const pairs = new Map<string, SimPair>();
      for (const live of lives) pairs.set(live.order.pair.key, live.order.pair);
      for (const pair of pairs.values()) {
        this.#charge(pair, tradingIncrement("cancel_all", 0), nowMs);
      }
      for (const live of lives) {
        this.#finish(live, "canceled", "User requested", nowMs);
      }
      return lives.length;
    });
  }

  /**
   * Arm, re-arm or disarm the dead man's switch (REST
   * `CancelAllOrdersAfter`, WS `cancel_all_orders_after`): when the
   * simulator clock passes the trigger time, every open order is cancelled
   * and the switch disarms.
   *
   * @param timeoutSec Seconds from now (0 disarms; < 86400).
   * @param nowMs Now.
   * @returns `currentTime` and `triggerTime` (RFC 3339; `"0"` when disarmed).
   * @throws {SimApiError} `EGeneral:Invalid arguments` for a bad timeout.
   */
  cancelAllAfter(
    timeoutSec: number,
    nowMs: number,
  ): { currentTime: string; triggerTime: string } {
    this.sync(nowMs);
    if (
      !Number.isInteger(timeoutSec) || timeoutSec < 0 || timeoutSec >= 86_400
    ) {
      fail(INVALID_ARGUMENTS);
    }
    if (timeoutSec === 0) {
      this.#deadManMs = undefined;
      return { currentTime: secondsText(nowMs), triggerTime: "0" };
    }
    this.#deadManMs = nowMs + timeoutSec * 1000;
    return {
      currentTime: secondsText(nowMs),
      triggerTime: secondsText(this.#deadManMs),
    };
  }

  // -------------------------------------------------------------------------
  // Rows

  #run<T>(fn: () => T): T {
    this.#operating++;
    try {
      return fn();
    } finally {
      this.#operating--;
      this.#flush();
    }
  }

  #emit(channel: "executions" | "balances", row: WireObject): void {
    this.#rows.push({ channel, row });
  }

  #flush(): void {
    if (this.#operating > 0 || this.#deferred > 0) return;
    const rows = this.#rows;
    this.#rows = [];
    for (const { channel, row } of rows) {
      for (const publish of this.#publishers) publish(channel, [row]);
    }
  }

  #onAccountEvent(event: AccountEvent): void {
    if (this.#operating > 0) {
      // The engine writes its own execution rows; ledger postings become
      // balances rows as they happen.
      if (event.kind === "ledger") {
        this.#emit("balances", balanceUpdateRow(event.entry));
      }
      return;
    }
    // A change made directly on the account (a test's deposit, seeding).
    const rows = accountEventRows(event, this.#foreignStatus, this.#account);
    for (const row of rows.executions) this.#emit("executions", row);
    for (const row of rows.balances) this.#emit("balances", row);
    if (event.kind === "order" && !isOpen(event.order)) {
      this.#live.delete(event.order.txid);
    }
    this.#flush();
  }
}
