/**
 * The simulator's account: balances, orders, own trades and ledger entries
 * kept consistent with each other, plus a seeded, realistic short history.
 *
 * Invariants (REST.md §9): every fill moves both assets and writes two
 * ledger entries sharing the trade txid as `refid`; each entry's `balance`
 * is the asset balance after it; `Balance` equals the last ledger balance of
 * every asset. Fees are charged in the quote currency (`oflags` `fciq` on
 * every seeded order) and the order/trade `fee` field is in quote units.
 *
 * Amounts are BigInt units: balances and ledger amounts at the asset's
 * `decimals`, order and trade volumes at the pair's `lot_decimals`, prices at
 * `pair_decimals`, costs and fees at the quote asset's `decimals` (printed at
 * the pair's `cost_decimals`).
 *
 * ## Extension point for the matching engine
 *
 * {@linkcode SimAccount.openOrder}, {@linkcode SimAccount.fill} and
 * {@linkcode SimAccount.closeOrder} are the primitives the seeding itself
 * uses; an engine places, fills and cancels orders through them and the
 * queries (`OpenOrders`, `Balance`, `Ledgers`…) follow automatically.
 * `listeners` get every change, for the WS `executions`/`balances` channels.
 *
 * @module
 */

import type {
  LedgerEntry,
  OrderInfo,
  TradeInfo,
} from "@krakked/core/rest/types";
import {
  divideRounded,
  floatToUnits,
  formatUnits,
  parseUnits,
  pow10,
  rescaleUnits,
} from "./units.ts";
import { newId } from "./ids.ts";
import type { Market } from "./market.ts";
import { assetByKey, resolvePair, type SimPair } from "./pairs.ts";
import { SeededRandom } from "./prng.ts";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Order status as Kraken spells it. */
export type OrderStatus =
  | "pending"
  | "open"
  | "closed"
  | "canceled"
  | "expired";

/** One order. Mutable fields change as it fills and closes. */
export interface SimOrder {
  /** Order txid (`O…`). */
  readonly txid: string;
  /** The pair. */
  readonly pair: SimPair;
  /** Side. */
  readonly type: "buy" | "sell";
  /** `limit`, `market`, … */
  readonly ordertype: string;
  /** Limit price in tick units, when the order has one (amends change it). */
  limitUnits: bigint | undefined;
  /** Ordered volume, lot units (amends change it). */
  volumeUnits: bigint;
  /** Executed volume, lot units. */
  volExecUnits: bigint;
  /** Executed cost, quote asset units. */
  costUnits: bigint;
  /** Fees paid, quote asset units. */
  feeUnits: bigint;
  /** Status. */
  status: OrderStatus;
  /** Why it closed (`User requested`), `null` otherwise. */
  reason: string | null;
  /** Open time, ms (0.1 ms resolution). */
  readonly opentmMs: number;
  /** Close time, ms, once closed. */
  closetmMs: number | undefined;
  /** Expiry, ms (0 = none). */
  readonly expiretmMs: number;
  /** User reference (0 = none). */
  readonly userref: number;
  /** Client order id, when set. */
  readonly clOrdId: string | undefined;
  /** Order flags, e.g. `fciq`. */
  readonly oflags: string;
  /** Misc flags. */
  misc: string;
  /** Own trade txids, oldest first. */
  readonly tradeIds: string[];
  /** Terms beyond a plain limit/market order, set by the matching engine. */
  terms?: SimOrderTerms;
}

/**
 * What the matching engine adds to an order's REST shape: the `descr`
 * texts of triggered, trailing and conditional-close orders, the trigger
 * and limit prices once triggered, and the price a buy's funds are held at.
 */
export interface SimOrderTerms {
  /** `descr.price` text (trigger price, trailing offset), instead of the limit. */
  price?: string;
  /** `descr.price2` text (limit of a `*-limit` order). */
  price2?: string;
  /** `descr.order` text. */
  order?: string;
  /** `descr.close` text of an attached conditional close. */
  close?: string;
  /** `refid`: the order whose fill created this one (conditional close). */
  refid?: string;
  /** `stopprice` text once triggered. */
  stopprice?: string;
  /** `limitprice` text once triggered. */
  limitprice?: string;
  /** `trigger` signal, when the order has one. */
  trigger?: "last" | "index";
  /** Price a buy's unfilled part is held at, tick units (default: the limit). */
  holdPriceUnits?: bigint;
}

/** One own trade (fill). */
export interface SimOwnTrade {
  /** Trade txid (`T…`). */
  readonly txid: string;
  /** The order it filled. */
  readonly ordertxid: string;
  /** Position txid (spot: a random `T…`, as Kraken sends). */
  readonly postxid: string;
  /** The pair. */
  readonly pair: SimPair;
  /** Time, ms. */
  readonly timeMs: number;
  /** Side. */
  readonly type: "buy" | "sell";
  /** Order type of the order. */
  readonly ordertype: string;
  /** Price, tick units. */
  readonly priceUnits: bigint;
  /** Volume, lot units. */
  readonly volumeUnits: bigint;
  /** Cost, quote asset units. */
  readonly costUnits: bigint;
  /** Fee, quote asset units. */
  readonly feeUnits: bigint;
  /** Whether the fill was on the maker side. */
  readonly maker: boolean;
  /** Integer trade id. */
  readonly tradeId: number;
  /** The two ledger ids (quote first, base second). */
  readonly ledgerIds: readonly [string, string];
}

/** One ledger entry. */
export interface SimLedgerEntry {
  /** Ledger id (`L…`). */
  readonly id: string;
  /** Trade txid or funding reference. */
  readonly refid: string;
  /** Time, ms. */
  readonly timeMs: number;
  /** `trade`, `deposit`, … */
  readonly type: string;
  /** Asset key. */
  readonly asset: string;
  /** Signed amount, asset units. */
  readonly amountUnits: bigint;
  /** Fee, asset units. */
  readonly feeUnits: bigint;
  /** Balance after the entry, asset units. */
  readonly balanceUnits: bigint;
}

/** A change to the account, for listeners (the WS private channels). */
export type AccountEvent =
  | { kind: "order"; order: SimOrder }
  | { kind: "trade"; trade: SimOwnTrade; order: SimOrder }
  | { kind: "ledger"; entry: SimLedgerEntry };

/** Input of {@linkcode SimAccount.openOrder}. */
export interface OpenOrderInput {
  /** Any pair spelling. */
  pair: string;
  /** Side. */
  type: "buy" | "sell";
  /** Order type (`limit`, `market`, …). */
  ordertype: string;
  /** Limit price, tick units (omit for market orders). */
  limitUnits?: bigint;
  /** Volume, lot units. */
  volumeUnits: bigint;
  /** Open time, ms. */
  timeMs: number;
  /** User reference (default 0). */
  userref?: number;
  /** Client order id. */
  clOrdId?: string;
  /** Order flags (default `fciq`). */
  oflags?: string;
  /** Expiry, ms (default 0 = none). */
  expiretmMs?: number;
  /** Engine terms (descr texts, trigger, held price). */
  terms?: SimOrderTerms;
}

/** Options of {@linkcode SimAccount.seeded}. */
export interface SeedAccountOptions {
  /** Seed of the history (default 1). */
  seed?: number;
  /** Time the history ends at, ms (default `market.now()`). */
  nowMs?: number;
  /** Number of closed orders to generate (default 60, > one 50-row page). */
  closedOrders?: number;
  /** Writes older history first (e.g. `seedAccountHistory` of `./history.ts`). */
  before?: (account: SimAccount) => void;
}

/**
 * Balances, orders, trades and ledger of the simulated account.
 *
 * @example Seeded account
 * ```ts
 * import { Market } from "./market.ts";
 * import { SimAccount } from "./account.ts";
 * const market = new Market({ seed: 1, now: () => Date.UTC(2025, 0, 10) });
 * const account = SimAccount.seeded(market, { seed: 1 });
 * account.balance("ZUSD"); // bigint units at 4 decimals
 * account.orders().filter((o) => o.status === "open");
 * ```
 */
export class SimAccount {
  #market: Market;
  #random: SeededRandom;
  #balances = new Map<string, bigint>();
  #orders = new Map<string, SimOrder>();
  #trades = new Map<string, SimOwnTrade>();
  #ledger = new Map<string, SimLedgerEntry>();
  #nextTradeId: number;
  #listeners = new Set<(event: AccountEvent) => void>();

  /**
   * An empty account.
   *
   * @param market The market (prices for valuation and fees).
   * @param seed Seed of the id stream (default 1).
   */
  constructor(market: Market, seed = 1) {
    this.#market = market;
    this.#random = new SeededRandom(seed * 7919 + 17);
    this.#nextTradeId = 60_000_000 + this.#random.int(0, 999_999);
  }

  /**
   * An account with a realistic month of history ending at `nowMs`:
   * deposits, filled, partially filled, cancelled and expired orders, their
   * trades and ledger entries, and four open orders (one partially filled).
   *
   * @param market The market (fills happen at its prices).
   * @param options Seed, end time and number of closed orders.
   * @returns The account.
   */
  static seeded(market: Market, options: SeedAccountOptions = {}): SimAccount {
    const seed = options.seed ?? 1;
    const account = new SimAccount(market, seed);
    options.before?.(account);
    seedHistory(account, market, new SeededRandom(seed * 31 + 5), {
      nowMs: options.nowMs ?? market.now(),
      closedOrders: options.closedOrders ?? 60,
    });
    return account;
  }

  /**
   * Subscribe to account changes.
   *
   * @param listener Called synchronously after each change.
   * @returns A function that unsubscribes.
   */
  subscribe(listener: (event: AccountEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // -------------------------------------------------------------------------
  // Queries

  /**
   * One asset's balance.
   *
   * @param asset Asset key.
   * @returns Units at the asset's decimals (0 when never held).
   */
  balance(asset: string): bigint {
    return this.#balances.get(asset) ?? 0n;
  }

  /**
   * Every asset ever held (including zero balances), in first-use order.
   *
   * @returns Asset key → units at the asset's decimals.
   */
  balances(): ReadonlyMap<string, bigint> {
    return this.#balances;
  }

  /**
   * Funds held by open orders: the quote cost of the unfilled part of buys
   * (at the limit price) and the unfilled base volume of sells.
   *
   * @returns Asset key → held units at the asset's decimals.
   */
  holds(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const order of this.#orders.values()) {
      if (order.status !== "open" && order.status !== "pending") continue;
      const remaining = order.volumeUnits - order.volExecUnits;
      const { pair } = order;
      if (order.type === "sell") {
        const units = rescaleUnits(
          remaining,
          pair.lotDecimals,
          decimalsOf(pair.base),
        );
        out.set(pair.base, (out.get(pair.base) ?? 0n) + units);
      } else if (
        (order.terms?.holdPriceUnits ?? order.limitUnits) !== undefined
      ) {
        const price = order.terms?.holdPriceUnits ?? order.limitUnits!;
        const units = rescaleUnits(
          remaining * price,
          pair.lotDecimals + pair.pairDecimals,
          decimalsOf(pair.quote),
        );
        out.set(pair.quote, (out.get(pair.quote) ?? 0n) + units);
      }
    }
    return out;
  }

  /**
   * Every order, oldest first.
   *
   * @returns The orders.
   */
  orders(): SimOrder[] {
    return [...this.#orders.values()];
  }

  /**
   * One order.
   *
   * @param txid Order txid.
   * @returns The order, or `undefined`.
   */
  order(txid: string): SimOrder | undefined {
    return this.#orders.get(txid);
  }

  /**
   * Every own trade, oldest first.
   *
   * @returns The trades.
   */
  trades(): SimOwnTrade[] {
    return [...this.#trades.values()];
  }

  /**
   * One own trade.
   *
   * @param txid Trade txid.
   * @returns The trade, or `undefined`.
   */
  trade(txid: string): SimOwnTrade | undefined {
    return this.#trades.get(txid);
  }

  /**
   * Every ledger entry, oldest first.
   *
   * @returns The entries.
   */
  ledger(): SimLedgerEntry[] {
    return [...this.#ledger.values()];
  }

  /**
   * One ledger entry.
   *
   * @param id Ledger id.
   * @returns The entry, or `undefined`.
   */
  ledgerEntry(id: string): SimLedgerEntry | undefined {
    return this.#ledger.get(id);
  }

  /**
   * Value of one unit of `asset` in USD at an instant, from market prices
   * (direct USD pair, or through one intermediate pair).
   *
   * @param asset Asset key.
   * @param atMs The instant (default now).
   * @returns USD per unit (0 when it has no market, e.g. `KFEE`).
   */
  usdRate(asset: string, atMs: number = this.#market.now()): number {
    return usdRate(this.#market, asset, atMs, 2);
  }

  /**
   * USD volume of own trades in the 30 days before `atMs` (fee tiers,
   * `TradeVolume`).
   *
   * @param atMs The instant (default now).
   * @returns The volume in USD.
   */
  thirtyDayUsd(atMs: number = this.#market.now()): number {
    let total = 0;
    for (const t of this.#trades.values()) {
      if (t.timeMs <= atMs && t.timeMs > atMs - 30 * DAY_MS) {
        const cost = Number(t.costUnits) / 10 ** decimalsOf(t.pair.quote);
        total += cost * this.usdRate(t.pair.quote, atMs);
      }
    }
    return total;
  }

  // -------------------------------------------------------------------------
  // Primitives (used by the seeding, and later by the matching engine)

  /**
   * Credit a deposit (ledger type `deposit`, funding refid `Q…`).
   *
   * @param asset Asset key.
   * @param amountUnits Amount at the asset's decimals.
   * @param timeMs Time, ms.
   * @returns The ledger entry.
   */
  deposit(asset: string, amountUnits: bigint, timeMs: number): SimLedgerEntry {
    return this.#post({
      refid: newId(this.#random, "funding"),
      timeMs,
      type: "deposit",
      asset,
      amountUnits,
      feeUnits: 0n,
    });
  }

  /**
   * Place an order (status `open`). No matching happens here.
   *
   * @param input The order.
   * @returns The order.
   * @throws {RangeError} For an unknown pair.
   */
  openOrder(input: OpenOrderInput): SimOrder {
    const pair = resolvePair(input.pair);
    if (!pair) throw new RangeError(`Unknown asset pair: ${input.pair}`);
    const order: SimOrder = {
      txid: newId(this.#random, "order"),
      pair,
      type: input.type,
      ordertype: input.ordertype,
      limitUnits: input.limitUnits,
      volumeUnits: input.volumeUnits,
      volExecUnits: 0n,
      costUnits: 0n,
      feeUnits: 0n,
      status: "open",
      reason: null,
      opentmMs: input.timeMs,
      closetmMs: undefined,
      expiretmMs: input.expiretmMs ?? 0,
      userref: input.userref ?? 0,
      clOrdId: input.clOrdId,
      oflags: input.oflags ?? "fciq",
      misc: "",
      tradeIds: [],
      ...(input.terms ? { terms: input.terms } : {}),
    };
    this.#orders.set(order.txid, order);
    this.#emit({ kind: "order", order });
    return order;
  }

  /**
   * What a fill would move, without recording anything: cost and fee in
   * quote units (the order/trade `fee` field is always in quote), and the
   * signed change of each asset balance including the fee (fee in base for
   * `feeIn: "base"`, Kraken's `fcib`).
   *
   * @param order The order.
   * @param fill Price (tick units), volume (lot units), time, liquidity, fee asset.
   * @returns Amounts in asset units.
   */
  previewFill(
    order: SimOrder,
    fill: {
      priceUnits: bigint;
      volumeUnits: bigint;
      timeMs: number;
      maker: boolean;
      feeIn?: "quote" | "base" | "kfee";
    },
  ): {
    costUnits: bigint;
    feeUnits: bigint;
    baseUnits: bigint;
    quoteFeeUnits: bigint;
    baseFeeUnits: bigint;
    quoteDeltaUnits: bigint;
    baseDeltaUnits: bigint;
  } {
    const { pair } = order;
    const quoteDecimals = decimalsOf(pair.quote);
    const costUnits = rescaleUnits(
      fill.priceUnits * fill.volumeUnits,
      pair.pairDecimals + pair.lotDecimals,
      quoteDecimals,
    );
    const schedule = fill.maker ? pair.feesMaker : pair.fees;
    const feePercent = feeTier(schedule, this.thirtyDayUsd(fill.timeMs)).fee;
    const perMillion = BigInt(Math.round(feePercent * 10_000));
    const feeUnits = divideRounded(costUnits * perMillion, 1_000_000n);
    const baseUnits = rescaleUnits(
      fill.volumeUnits,
      pair.lotDecimals,
      decimalsOf(pair.base),
    );
    const inBase = fill.feeIn === "base";
    // Fee credits (KFEE) pay instead of either asset; see `fill`.
    const quoteFeeUnits = inBase || fill.feeIn === "kfee" ? 0n : feeUnits;
    const baseFeeUnits = inBase
      ? divideRounded(baseUnits * perMillion, 1_000_000n)
      : 0n;
    const buy = order.type === "buy";
    return {
      costUnits,
      feeUnits,
      baseUnits,
      quoteFeeUnits,
      baseFeeUnits,
      quoteDeltaUnits: (buy ? -costUnits : costUnits) - quoteFeeUnits,
      baseDeltaUnits: (buy ? baseUnits : -baseUnits) - baseFeeUnits,
    };
  }

  /**
   * Fill part of an open order: records the trade, moves both assets and
   * writes the two ledger entries (fee from the pair's schedule at the
   * account's 30-day volume; charged in quote, or in base with
   * `feeIn: "base"`).
   *
   * @param txid Order txid.
   * @param fill Price (tick units), volume (lot units), time, liquidity and fee asset.
   * @returns The trade.
   * @throws {RangeError} When the order is unknown, not open, overfilled, or
   *   a balance would go negative (nothing is recorded then).
   */
  fill(
    txid: string,
    fill: {
      priceUnits: bigint;
      volumeUnits: bigint;
      timeMs: number;
      maker: boolean;
      feeIn?: "quote" | "base" | "kfee";
      /** The public trade id of this fill (the market's tape); default: the account's own counter. */
      tradeId?: number;
    },
  ): SimOwnTrade {
    const order = this.#orders.get(txid);
    if (!order || order.status !== "open") {
      throw new RangeError(`Cannot fill order ${txid}: it is not open`);
    }
    if (
      order.volExecUnits + fill.volumeUnits > order.volumeUnits ||
      fill.volumeUnits <= 0n
    ) {
      throw new RangeError(
        `Cannot fill order ${txid}: bad volume ${fill.volumeUnits}`,
      );
    }
    const { pair } = order;
    const amounts = this.previewFill(order, fill);
    const { costUnits, feeUnits, baseUnits } = amounts;
    if (
      this.balance(pair.quote) + amounts.quoteDeltaUnits < 0n ||
      this.balance(pair.base) + amounts.baseDeltaUnits < 0n ||
      (fill.feeIn === "kfee" &&
        this.balance("KFEE") < rescaleUnits(feeUnits, decimalsOf("ZUSD"), 4))
    ) {
      throw new RangeError(
        `Cannot fill order ${txid}: a balance of ${pair.altname} would go negative`,
      );
    }
    const tradeTxid = newId(this.#random, "trade");
    const buy = order.type === "buy";
    const quoteEntry = this.#post({
      refid: tradeTxid,
      timeMs: fill.timeMs,
      type: "trade",
      asset: pair.quote,
      amountUnits: buy ? -costUnits : costUnits,
      feeUnits: amounts.quoteFeeUnits,
    });
    const baseEntry = this.#post({
      refid: tradeTxid,
      timeMs: fill.timeMs,
      type: "trade",
      asset: pair.base,
      amountUnits: buy ? baseUnits : -baseUnits,
      feeUnits: amounts.baseFeeUnits,
    });
    if (fill.feeIn === "kfee") {
      this.#postKfeeFee(pair, tradeTxid, feeUnits, fill.timeMs);
    }
    const trade: SimOwnTrade = {
      txid: tradeTxid,
      ordertxid: order.txid,
      postxid: newId(this.#random, "trade"),
      pair,
      timeMs: fill.timeMs,
      type: order.type,
      ordertype: order.ordertype,
      priceUnits: fill.priceUnits,
      volumeUnits: fill.volumeUnits,
      costUnits,
      feeUnits,
      maker: fill.maker,
      tradeId: fill.tradeId ?? this.#nextTradeId++,
      ledgerIds: [quoteEntry.id, baseEntry.id],
    };
    this.#trades.set(trade.txid, trade);
    order.volExecUnits += fill.volumeUnits;
    order.costUnits += costUnits;
    order.feeUnits += feeUnits;
    order.tradeIds.push(trade.txid);
    if (order.volExecUnits === order.volumeUnits) {
      order.status = "closed";
      order.closetmMs = fill.timeMs;
    }
    this.#emit({ kind: "trade", trade, order });
    return trade;
  }

  /**
   * Close an open order without (further) fills.
   *
   * @param txid Order txid.
   * @param close New status, reason and time.
   * @returns The order.
   * @throws {RangeError} When the order is unknown or not open.
   */
  closeOrder(
    txid: string,
    close: {
      status: "closed" | "canceled" | "expired";
      reason: string | null;
      timeMs: number;
    },
  ): SimOrder {
    const order = this.#orders.get(txid);
    if (!order || order.status !== "open") {
      throw new RangeError(`Cannot close order ${txid}: it is not open`);
    }
    order.status = close.status;
    order.reason = close.reason;
    order.closetmMs = close.timeMs;
    this.#emit({ kind: "order", order });
    return order;
  }

  /**
   * Post a ledger entry of any type (history seeding: withdrawals,
   * transfers, staking rewards, fee credits). No funding call reaches this:
   * it only writes the simulated account's own ledger.
   *
   * @param input Type, asset key, signed amount, fee, time and an optional
   *   refid (default a new funding reference).
   * @returns The entry.
   * @throws {RangeError} When the balance would go negative.
   */
  record(input: {
    type: string;
    asset: string;
    amountUnits: bigint;
    feeUnits?: bigint;
    timeMs: number;
    refid?: string;
  }): SimLedgerEntry {
    return this.#post({
      refid: input.refid ?? newId(this.#random, "funding"),
      timeMs: input.timeMs,
      type: input.type,
      asset: input.asset,
      amountUnits: input.amountUnits,
      feeUnits: input.feeUnits ?? 0n,
    });
  }

  /**
   * A fill paid with fee credits: a KFEE `trade` entry, amount 0, the
   * credits in `fee` (1 credit = 0.01 USD, so credit units at 2 decimals
   * equal USD units at 4). USD-quoted pairs only.
   */
  #postKfeeFee(
    pair: SimPair,
    refid: string,
    feeUnits: bigint,
    timeMs: number,
  ): void {
    if (pair.quote !== "ZUSD") {
      throw new RangeError(
        `Cannot pay a ${pair.altname} fee with KFEE: USD pairs only`,
      );
    }
    this.#post({
      refid,
      timeMs,
      type: "trade",
      asset: "KFEE",
      amountUnits: 0n,
      feeUnits: rescaleUnits(feeUnits, decimalsOf("ZUSD"), 4),
    });
  }

  // -------------------------------------------------------------------------
  // Wire shapes

  /**
   * The order in Kraken's wire shape (OpenOrders/ClosedOrders/QueryOrders).
   *
   * @param order The order.
   * @param options `trades: true` adds the trade txids (when there are fills).
   * @returns The wire object.
   */
  orderInfo(order: SimOrder, options: { trades?: boolean } = {}): OrderInfo {
    const { pair } = order;
    const cd = pair.costDecimals;
    const qd = decimalsOf(pair.quote);
    const price = order.limitUnits === undefined
      ? "0"
      : formatUnits(order.limitUnits, pair.pairDecimals);
    const vol = formatUnits(order.volumeUnits, pair.lotDecimals);
    const avg = order.volExecUnits === 0n ? 0n : divideRounded(
      order.costUnits * pow10(pair.lotDecimals + cd),
      order.volExecUnits * pow10(qd),
    );
    const closed = order.status !== "open" && order.status !== "pending";
    const terms = order.terms;
    const info: OrderInfo = {
      refid: terms?.refid ?? null,
      userref: order.userref,
      status: order.status,
      opentm: seconds(order.opentmMs),
      starttm: 0,
      expiretm: order.expiretmMs === 0 ? 0 : seconds(order.expiretmMs),
      descr: {
        pair: pair.altname,
        type: order.type,
        ordertype: order.ordertype,
        price: terms?.price ?? price,
        price2: terms?.price2 ?? "0",
        leverage: "none",
        order: terms?.order ??
          (order.ordertype === "market"
            ? `${order.type} ${vol} ${pair.altname} @ market`
            : `${order.type} ${vol} ${pair.altname} @ ${order.ordertype} ${price}`),
        close: terms?.close ?? "",
      },
      vol,
      "vol_exec": formatUnits(order.volExecUnits, pair.lotDecimals),
      cost: formatUnits(rescaleUnits(order.costUnits, qd, cd), cd),
      fee: formatUnits(rescaleUnits(order.feeUnits, qd, cd), cd),
      price: formatUnits(avg, cd),
      stopprice: terms?.stopprice ?? formatUnits(0n, cd),
      limitprice: terms?.limitprice ?? formatUnits(0n, cd),
      ...(terms?.trigger ? { trigger: terms.trigger } : {}),
      misc: order.misc,
      oflags: order.oflags,
    };
    if (order.clOrdId !== undefined) info.cl_ord_id = order.clOrdId;
    if (closed) {
      info.reason = order.reason;
      info.closetm = seconds(order.closetmMs ?? order.opentmMs);
    }
    if (options.trades && order.tradeIds.length > 0) {
      info.trades = [...order.tradeIds];
    }
    return orderedOrder(info, closed);
  }

  /**
   * The trade in Kraken's wire shape (TradesHistory/QueryTrades).
   *
   * @param trade The trade.
   * @param options `ledgers: true` adds the two ledger ids.
   * @returns The wire object.
   */
  tradeInfo(
    trade: SimOwnTrade,
    options: { ledgers?: boolean } = {},
  ): TradeInfo {
    const { pair } = trade;
    const cd = pair.costDecimals;
    const qd = decimalsOf(pair.quote);
    const info: TradeInfo = {
      ordertxid: trade.ordertxid,
      postxid: trade.postxid,
      pair: pair.key,
      time: seconds(trade.timeMs),
      type: trade.type,
      ordertype: trade.ordertype,
      price: formatUnits(trade.priceUnits, pair.pairDecimals),
      cost: formatUnits(rescaleUnits(trade.costUnits, qd, cd), cd),
      fee: formatUnits(rescaleUnits(trade.feeUnits, qd, cd), cd),
      vol: formatUnits(trade.volumeUnits, pair.lotDecimals),
      margin: formatUnits(0n, cd),
      leverage: "0",
      misc: "",
      "trade_id": trade.tradeId,
      maker: trade.maker,
    };
    if (options.ledgers) info.ledgers = [...trade.ledgerIds];
    return info;
  }

  /**
   * The ledger entry in Kraken's wire shape.
   *
   * @param entry The entry.
   * @returns The wire object.
   */
  ledgerInfo(entry: SimLedgerEntry): LedgerEntry {
    const d = decimalsOf(entry.asset);
    return {
      refid: entry.refid,
      time: seconds(entry.timeMs),
      type: entry.type,
      subtype: "",
      aclass: "currency",
      asset: entry.asset,
      amount: formatUnits(entry.amountUnits, d),
      fee: formatUnits(entry.feeUnits, d),
      balance: formatUnits(entry.balanceUnits, d),
    };
  }

  #post(input: Omit<SimLedgerEntry, "id" | "balanceUnits">): SimLedgerEntry {
    const balanceUnits = this.balance(input.asset) + input.amountUnits -
      input.feeUnits;
    if (balanceUnits < 0n) {
      throw new RangeError(
        `Cannot post ledger entry: ${input.asset} balance would go negative`,
      );
    }
    const entry: SimLedgerEntry = {
      ...input,
      id: newId(this.#random, "ledger"),
      balanceUnits,
    };
    this.#balances.set(input.asset, balanceUnits);
    this.#ledger.set(entry.id, entry);
    this.#emit({ kind: "ledger", entry });
    return entry;
  }

  #emit(event: AccountEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/**
 * The fee tier of a schedule at a 30-day volume.
 *
 * @param schedule `[[volume, percent], …]`, ascending volumes.
 * @param volumeUsd The 30-day volume.
 * @returns Current fee, best fee, worst fee, next fee and volume (`undefined`
 *   at the best tier) and the current tier's volume.
 * @example Tier
 * ```ts
 * import { feeTier } from "./account.ts";
 * import { STANDARD_FEES } from "./pairs.ts";
 * feeTier(STANDARD_FEES, 60_000).fee; // 0.24
 * ```
 */
export function feeTier(
  schedule: ReadonlyArray<readonly [number, number]>,
  volumeUsd: number,
): {
  fee: number;
  minFee: number;
  maxFee: number;
  nextFee: number | undefined;
  nextVolume: number | undefined;
  tierVolume: number;
} {
  let index = 0;
  for (let i = 0; i < schedule.length; i++) {
    if (schedule[i]![0] <= volumeUsd) index = i;
  }
  const fees = schedule.map(([, f]) => f);
  const next = schedule[index + 1];
  return {
    fee: schedule[index]![1],
    minFee: Math.min(...fees),
    maxFee: Math.max(...fees),
    nextFee: next?.[1],
    nextVolume: next?.[0],
    tierVolume: schedule[index]![0],
  };
}

function decimalsOf(asset: string): number {
  return assetByKey(asset)?.decimals ?? 8;
}

function seconds(ms: number): number {
  return wireSeconds(ms);
}

/**
 * Unix seconds as Kraken sends order, trade and ledger times: 4 decimals.
 * Filters compare against this same value, so a time read back from an
 * answer selects exactly the record it came from.
 *
 * @param ms Time, ms.
 * @returns Seconds rounded to 0.1 ms.
 * @example Seconds
 * ```ts
 * import { wireSeconds } from "./account.ts";
 * wireSeconds(1688666559897.43); // 1688666559.8974
 * ```
 */
export function wireSeconds(ms: number): number {
  // Kraken sends order/trade/ledger times with 4 decimals.
  return Math.round(ms * 10) / 10_000;
}

/** Field order as Kraken sends it (closed orders carry reason and closetm). */
function orderedOrder(info: OrderInfo, closed: boolean): OrderInfo {
  const out: Record<string, unknown> = {
    refid: info.refid,
    userref: info.userref,
  };
  if (info.cl_ord_id !== undefined) out.cl_ord_id = info.cl_ord_id;
  out.status = info.status;
  if (closed) out.reason = info.reason ?? null;
  out.opentm = info.opentm;
  if (closed) out.closetm = info.closetm;
  for (const key of Object.keys(info)) {
    if (!(key in out)) {
      out[key] = (info as unknown as Record<string, unknown>)[key];
    }
  }
  return out as unknown as OrderInfo;
}

function usdRate(
  market: Market,
  asset: string,
  atMs: number,
  depth: number,
): number {
  const info = assetByKey(asset);
  if (!info) return 0;
  if (asset === "ZUSD") return 1;
  if (info.valuedAs) return usdRate(market, info.valuedAs, atMs, depth);
  if (info.usdPrice === 0) return 0;
  for (const pair of market.pairs) {
    if (pair.base === asset && pair.quote === "ZUSD") {
      return market.lastPrice(pair.key, atMs);
    }
  }
  if (depth <= 0) return 0;
  for (const pair of market.pairs) {
    if (pair.base === asset) {
      const quoteRate = usdRate(market, pair.quote, atMs, depth - 1);
      if (quoteRate > 0) return market.lastPrice(pair.key, atMs) * quoteRate;
    }
    if (pair.quote === asset && pair.base !== asset) {
      const baseRate = usdRate(market, pair.base, atMs, 0);
      if (baseRate > 0) return baseRate / market.lastPrice(pair.key, atMs);
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Seeded history

const HISTORY_PAIRS = [
  "XBTUSD",
  "ETHUSD",
  "SOLUSD",
  "XDGUSD",
  "ADAUSD",
  "XRPUSD",
  "DOTUSD",
  "LINKUSD",
  "XBTEUR",
  "ETHXBT",
];

function jitterMs(random: SeededRandom): number {
  // 0.1 ms resolution, so times print with 4 decimals.
  return Math.floor(random.next() * 10_000_000) / 10;
}

function seedHistory(
  account: SimAccount,
  market: Market,
  random: SeededRandom,
  options: { nowMs: number; closedOrders: number },
): void {
  const end = options.nowMs;
  const start = end - 30 * DAY_MS;
  const deposits: Array<[string, string]> = [
    ["ZUSD", "50000"],
    ["XXBT", "0.75"],
    ["XETH", "6"],
    ["ZEUR", "5000"],
  ];
  deposits.forEach(([asset, amount], i) => {
    account.deposit(
      asset,
      parseUnits(amount, decimalsOf(asset))!,
      start + i * HOUR_MS + jitterMs(random),
    );
  });

  const spanMs = 28 * DAY_MS;
  const firstMs = start + 6 * HOUR_MS;
  for (let i = 0; i < options.closedOrders; i++) {
    const t = firstMs + (i * spanMs) / options.closedOrders + jitterMs(random);
    seedClosedOrder(account, market, random, t, end);
  }

  // Open orders: resting far from the market so they stay open.
  const open: Array<
    {
      pair: string;
      type: "buy" | "sell";
      factor: number;
      usd: number;
      ageMs: number;
      userref?: number;
      clOrdId?: string;
    }
  > = [
    { pair: "XBTUSD", type: "buy", factor: 0.88, usd: 1200, ageMs: 2 * DAY_MS },
    { pair: "ETHUSD", type: "sell", factor: 1.18, usd: 1500, ageMs: DAY_MS },
    {
      pair: "SOLUSD",
      type: "buy",
      factor: 0.9,
      usd: 400,
      ageMs: 10 * HOUR_MS,
      userref: 42,
      clOrdId: "krakked-demo-1",
    },
  ];
  for (const o of open) {
    const t = end - o.ageMs + jitterMs(random);
    const pair = resolvePair(o.pair)!;
    const price = market.modelPrice(pair.key, t);
    account.openOrder({
      pair: pair.key,
      type: o.type,
      ordertype: "limit",
      limitUnits: floatToUnits(price * o.factor, pair.pairDecimals),
      volumeUnits: volumeFor(account, pair, o.usd, t),
      timeMs: t,
      ...(o.userref !== undefined ? { userref: o.userref } : {}),
      ...(o.clOrdId !== undefined ? { clOrdId: o.clOrdId } : {}),
    });
  }
  // One partially filled open order.
  const ada = resolvePair("ADAUSD")!;
  const t = end - 5 * HOUR_MS + jitterMs(random);
  const limit = floatToUnits(
    market.lastPrice(ada.key, t) * 0.999,
    ada.pairDecimals,
  );
  const order = account.openOrder({
    pair: ada.key,
    type: "buy",
    ordertype: "limit",
    limitUnits: limit,
    volumeUnits: 1000n * pow10(ada.lotDecimals),
    timeMs: t,
    userref: 7,
  });
  account.fill(order.txid, {
    priceUnits: limit,
    volumeUnits: 400n * pow10(ada.lotDecimals),
    timeMs: t + 95_000.3,
    maker: true,
  });
}

function volumeFor(
  account: SimAccount,
  pair: SimPair,
  usd: number,
  atMs: number,
): bigint {
  const baseUsd = account.usdRate(pair.base, atMs);
  const units = floatToUnits(usd / baseUsd, pair.lotDecimals);
  const min = floatToUnits(Number(pair.ordermin) * 1.5, pair.lotDecimals);
  return units > min ? units : min;
}

function seedClosedOrder(
  account: SimAccount,
  market: Market,
  random: SeededRandom,
  t: number,
  end: number,
): void {
  const pair = resolvePair(random.pick(HISTORY_PAIRS))!;
  const price = market.lastPrice(pair.key, t);
  const volumeUnits = volumeFor(account, pair, 100 + random.next() * 1400, t);
  const baseUnits = rescaleUnits(
    volumeUnits,
    pair.lotDecimals,
    decimalsOf(pair.base),
  );
  const costGuess = floatToUnits(
    (Number(volumeUnits) / 10 ** pair.lotDecimals) * price * 1.01,
    decimalsOf(pair.quote),
  );
  let type: "buy" | "sell" = random.next() < 0.55 ? "buy" : "sell";
  const holds = account.holds();
  const canSell =
    account.balance(pair.base) - (holds.get(pair.base) ?? 0n) >= baseUnits;
  const canBuy =
    account.balance(pair.quote) - (holds.get(pair.quote) ?? 0n) >= costGuess;
  if (type === "sell" && !canSell) type = "buy";
  if (type === "buy" && !canBuy) type = "sell";
  if ((type === "sell" && !canSell) || (type === "buy" && !canBuy)) return;

  const roll = random.next();
  const outcome = roll < 0.7
    ? "filled"
    : roll < 0.86
    ? "canceled"
    : roll < 0.95
    ? "partial"
    : "expired";
  const market0 = outcome === "filled" && random.next() < 0.35;
  const sign = type === "buy" ? 1 : -1;
  const away = outcome === "canceled" || outcome === "expired";
  const factor = away
    ? 1 - sign * (0.03 + random.next() * 0.05)
    : 1 + sign * 0.002;
  const limitUnits = market0
    ? undefined
    : floatToUnits(price * factor, pair.pairDecimals);
  const order = account.openOrder({
    pair: pair.key,
    type,
    ordertype: market0 ? "market" : "limit",
    ...(limitUnits !== undefined ? { limitUnits } : {}),
    volumeUnits,
    timeMs: t,
    userref: random.next() < 0.2 ? random.int(1, 99_999) : 0,
    ...(outcome === "expired" ? { expiretmMs: t + 12 * HOUR_MS } : {}),
  });
  if (outcome === "canceled") {
    account.closeOrder(order.txid, {
      status: "canceled",
      reason: "User requested",
      timeMs: Math.min(t + (1 + random.next() * 19) * HOUR_MS, end - 60_000),
    });
    return;
  }
  if (outcome === "expired") {
    account.closeOrder(order.txid, {
      status: "expired",
      reason: null,
      timeMs: t + 12 * HOUR_MS,
    });
    return;
  }
  const fills = outcome === "partial" ? 1 : random.int(1, 3);
  const fraction = outcome === "partial" ? 0.3 + random.next() * 0.4 : 1;
  const target = outcome === "partial"
    ? floatToUnits(
      (Number(volumeUnits) * fraction) / 10 ** pair.lotDecimals,
      pair.lotDecimals,
    )
    : volumeUnits;
  let done = 0n;
  let at = t;
  for (let k = 0; k < fills; k++) {
    at += market0 ? 1.3 + random.next() * 5 : 2_000 + random.next() * 600_000;
    const remaining = target - done;
    const part = k === fills - 1
      ? remaining
      : (remaining * BigInt(30 + random.int(0, 40))) / 100n;
    if (part <= 0n) continue;
    let fillPrice = floatToUnits(
      market.lastPrice(pair.key, at),
      pair.pairDecimals,
    );
    if (limitUnits !== undefined) {
      fillPrice = type === "buy"
        ? (fillPrice < limitUnits ? fillPrice : limitUnits)
        : (fillPrice > limitUnits ? fillPrice : limitUnits);
    }
    account.fill(order.txid, {
      priceUnits: fillPrice,
      volumeUnits: part,
      timeMs: Math.round(at * 10) / 10,
      maker: !market0,
    });
    done += part;
  }
  if (outcome === "partial" && order.status === "open") {
    account.closeOrder(order.txid, {
      status: "canceled",
      reason: "User requested",
      timeMs: Math.round((at + (1 + random.next() * 5) * HOUR_MS) * 10) / 10,
    });
  }
}
