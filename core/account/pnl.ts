/**
 * Profit and loss of the account, in USD, by FIFO lots per asset.
 *
 * Every asset but USD has a FIFO book of lots priced in USD per unit
 * (`./fifo.ts`). Events are replayed oldest first (at equal times, ledger
 * flows before trades, then by id):
 *
 * - A trade `base/quote` at `price` moves the base at
 *   `price × usd(quote)` and, when the quote is not USD, the quote at
 *   `usd(quote)` the other way. `usd(USD) = 1`; a cross quote (XBT in
 *   ETH/XBT) is valued by the rate source at the trade's time.
 * - Each fee is valued in the asset that paid it at trade time: the base at
 *   the trade's own USD price, the quote at its rate, KFEE at 0.01 USD,
 *   anything else by the rate source. A fee paid in an asset other than USD
 *   also removes that quantity from its lots, at the same price, so lots
 *   always match the balances.
 * - An external or other flow (deposit, withdrawal, transfer, …) adds or
 *   removes lots at its time's rate and counts as a net deposit; income
 *   (staking, rewards, rebates, credits) does the same and counts as
 *   income. A flow's own fee is a fee.
 *
 * With equity valued at the same prices, the identity
 * `equity change = realised + Δ unrealised − fees + income + net deposits`
 * holds exactly over any range; `performance` is everything but the net
 * deposits. Anything that cannot be priced (a trade whose quote has no
 * rate, a holding with no mark) is listed in `unpriced` and left out of the
 * sums — never valued at 0 — and `complete` is then `false`.
 *
 * @module
 */

import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "../decimal.ts";
import {
  applyFifoFill,
  type ClosedLot,
  emptyFifoBook,
  type FifoBook,
  type Lot,
  markLots,
} from "./fifo.ts";
import type { NetFlow } from "./ledger.ts";
import { type RateAt, VALUATION_ASSET } from "./rates.ts";
import type { AccountTrade } from "./trades.ts";

/** A lot of the account: where and when it opened. */
export interface AccountLot extends Lot {
  /** When it opened, Unix seconds. */
  openedSec: number;
  /** The trade txid or ledger id that opened it. */
  source: string;
}

/** One closed piece of a lot. */
export interface RealizedPiece {
  /** The asset of the lot. */
  asset: string;
  /** The pair of the trade that closed it, or `null` (a flow, a fee elsewhere). */
  pair: string | null;
  /** The trade txid or ledger id that closed it. */
  source: string;
  /** When it closed, Unix seconds. */
  timeSec: number;
  /** When the lot opened. */
  openedSec: number;
  /** Quantity closed, unsigned. */
  qty: string;
  /** Open price, USD per unit. */
  openPrice: string;
  /** Close price, USD per unit. */
  closePrice: string;
  /** Realised P&L, USD. */
  pnl: string;
}

/** One fee, in its asset and in USD. */
export interface FeePaid {
  /** The trade txid or ledger id. */
  source: string;
  /** The trade's pair, or `null` for a ledger flow's fee. */
  pair: string | null;
  /** The trade's base (what the fee is attributed to), or the flow's asset. */
  attributedTo: string;
  /** The asset that paid. */
  asset: string;
  /** Amount in that asset. */
  amount: string;
  /** Value in USD at the time. */
  usd: string;
  /** When, Unix seconds. */
  timeSec: number;
}

/** A ledger flow valued in USD. */
export interface ValuedFlow extends NetFlow {
  /** `amount × rate` at its time, USD. */
  usd: string;
}

/** Something left out of the sums because it has no price. */
export interface Unpriced {
  /** A trade, a ledger flow, a fee or a holding's mark. */
  kind: "trade" | "flow" | "fee" | "mark";
  /** The trade txid or ledger id; the asset for a mark. */
  id: string;
  /** The asset with no price. */
  asset: string;
  /** When, or `null` for a mark. */
  timeSec: number | null;
}

/** One asset's holding. */
export interface AssetPosition {
  /** Asset, common code. */
  asset: string;
  /** Net quantity (sum of the lots). */
  qty: string;
  /** Open lots, oldest first. */
  lots: AccountLot[];
  /** `Σ qty × open price`, USD. */
  costBasis: string;
  /** Mark, USD per unit, or `null` when unpriced. */
  mark: string | null;
  /** `Σ (mark − open price) × qty`, or `null` when unpriced. */
  unrealizedPnl: string | null;
}

/** Options of {@linkcode computePnl}. */
export interface PnlOptions {
  /** USD per unit at a past instant. */
  rateAt: RateAt;
  /**
   * USD per unit now (the live mid); used when `untilSec` is not set.
   * Default: `rateAt(asset, untilSec ?? last event time)`.
   */
  mark?: (asset: string) => string | null;
  /** Count only events at or after this time (Unix seconds). */
  sinceSec?: number;
  /** Ignore events after this time; marks come from `rateAt` then. */
  untilSec?: number;
}

/** The P&L of a range. Every amount is USD, exact text. */
export interface PnlReport {
  /** Always `USD`. */
  valuation: string;
  /** Start of the range, or `null` for the whole history. */
  sinceSec: number | null;
  /** End of the range, or `null` for now. */
  untilSec: number | null;
  /** Realised P&L of lots closed in the range, gross of fees. */
  realizedPnl: string;
  /** Fees paid in the range. */
  fees: string;
  /** Income in the range (staking, rewards, rebates, credits). */
  income: string;
  /** Deposits minus withdrawals (and other external flows) in the range. */
  netDeposits: string;
  /** Unrealised P&L of the open lots at the end. */
  unrealizedPnl: string;
  /** Unrealised P&L of the lots open at the start (0 without `sinceSec`). */
  unrealizedStart: string;
  /** `unrealizedPnl − unrealizedStart`. */
  unrealizedChange: string;
  /** `realizedPnl + unrealizedChange − fees + income`. */
  performance: string;
  /** Whether nothing was left unpriced. */
  complete: boolean;
  /** Holdings at the end, by asset. */
  positions: AssetPosition[];
  /** Lot pieces closed in the range, in order. */
  realized: RealizedPiece[];
  /** Fees paid in the range, in order. */
  feesPaid: FeePaid[];
  /** Non-trade flows in the range, in order. */
  flows: ValuedFlow[];
  /** What could not be priced. */
  unpriced: Unpriced[];
  /** Number of trades in the range. */
  trades: number;
}

type Event =
  | { at: number; order: 0; id: string; flow: NetFlow }
  | { at: number; order: 1; id: string; trade: AccountTrade };

function negate(value: string): string {
  return value.startsWith("-") ? value.slice(1) : `-${value}`;
}

/**
 * Replays trades and flows into FIFO lots and sums the range's P&L.
 *
 * @param trades Own trades (any order).
 * @param flows Net ledger flows (any order; trade entries excluded).
 * @param options Rates, marks and range.
 * @returns The report.
 * @throws {SyntaxError} When an amount is not decimal text.
 * @example Buy, sell half, keep half
 * ```ts
 * import { computePnl } from "./pnl.ts";
 * const t = { pair: "XBTUSD", base: "BTC", quote: "USD", fees: [] };
 * const report = computePnl([
 *   { ...t, id: "T1", side: "buy", price: "100", vol: "2", cost: "200", timeSec: 1 },
 *   { ...t, id: "T2", side: "sell", price: "120", vol: "1", cost: "120", timeSec: 2 },
 * ], [], { rateAt: () => null, mark: () => "130" });
 * report.realizedPnl; // "20"
 * report.unrealizedPnl; // "30"
 * ```
 */
export function computePnl(
  trades: readonly AccountTrade[],
  flows: readonly NetFlow[],
  options: PnlOptions,
): PnlReport {
  // USD is worth 1 whatever the rate source says about it.
  const rateAt: RateAt = (asset, timeSec) =>
    asset === VALUATION_ASSET ? "1" : options.rateAt(asset, timeSec);
  const since = options.sinceSec ?? -Infinity;
  const until = options.untilSec ?? Infinity;
  const events: Event[] = [
    ...flows.map((flow) => ({
      at: flow.timeSec,
      order: 0 as const,
      id: flow.id,
      flow,
    })),
    ...trades.map((trade) => ({
      at: trade.timeSec,
      order: 1 as const,
      id: trade.id,
      trade,
    })),
  ].filter((e) => e.at <= until)
    .sort((a, b) =>
      a.at - b.at || a.order - b.order ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    );

  const books = new Map<string, FifoBook<AccountLot>>();
  const realized: RealizedPiece[] = [];
  const feesPaid: FeePaid[] = [];
  const valuedFlows: ValuedFlow[] = [];
  const unpriced: Unpriced[] = [];
  let realizedSum = "0";
  let feeSum = "0";
  let income = "0";
  let netDeposits = "0";
  let tradeCount = 0;
  let startSnapshot: Map<string, AccountLot[]> | null = options.sinceSec ===
      undefined
    ? new Map()
    : null;

  const move = (
    asset: string,
    side: "buy" | "sell",
    qty: string,
    price: string,
    ctx: { source: string; pair: string | null; at: number; counted: boolean },
  ) => {
    if (asset === VALUATION_ASSET || compareDecimal(qty, "0") === 0) return;
    const book = books.get(asset) ?? emptyFifoBook<AccountLot>();
    const result = applyFifoFill<AccountLot>(book, {
      side,
      qty,
      price,
      open: { openedSec: ctx.at, source: ctx.source },
    });
    books.set(asset, result.book);
    if (!ctx.counted) return;
    for (const piece of result.closed as ClosedLot<AccountLot>[]) {
      realizedSum = addDecimal(realizedSum, piece.pnl);
      realized.push({
        asset,
        pair: ctx.pair,
        source: ctx.source,
        timeSec: ctx.at,
        openedSec: piece.lot.openedSec,
        qty: piece.qty,
        openPrice: piece.lot.price,
        closePrice: piece.price,
        pnl: piece.pnl,
      });
    }
  };

  for (const event of events) {
    const counted = event.at >= since;
    if (counted && startSnapshot === null) {
      startSnapshot = new Map(
        [...books].map(([asset, book]) => [asset, book.lots]),
      );
    }
    if ("trade" in event) {
      const t = event.trade;
      const quoteRate = t.quote === VALUATION_ASSET
        ? "1"
        : rateAt(t.quote, t.timeSec);
      if (quoteRate === null) {
        unpriced.push({
          kind: "trade",
          id: t.id,
          asset: t.quote,
          timeSec: t.timeSec,
        });
        continue;
      }
      if (counted) tradeCount++;
      const ctx = { source: t.id, pair: t.pair, at: t.timeSec, counted };
      const baseUsd = multiplyDecimal(t.price, quoteRate);
      move(t.base, t.side, t.vol, baseUsd, ctx);
      move(t.quote, t.side === "buy" ? "sell" : "buy", t.cost, quoteRate, ctx);
      for (const fee of t.fees) {
        const rate = fee.asset === t.base
          ? baseUsd
          : fee.asset === t.quote
          ? quoteRate
          : rateAt(fee.asset, t.timeSec);
        if (rate === null) {
          unpriced.push({
            kind: "fee",
            id: t.id,
            asset: fee.asset,
            timeSec: t.timeSec,
          });
          continue;
        }
        move(fee.asset, "sell", fee.amount, rate, ctx);
        if (!counted) continue;
        const usd = multiplyDecimal(fee.amount, rate);
        feeSum = addDecimal(feeSum, usd);
        feesPaid.push({
          source: t.id,
          pair: t.pair,
          attributedTo: t.base,
          asset: fee.asset,
          amount: fee.amount,
          usd,
          timeSec: t.timeSec,
        });
      }
      continue;
    }
    const f = event.flow;
    const rate = rateAt(f.asset, f.timeSec);
    if (rate === null) {
      unpriced.push({
        kind: "flow",
        id: f.id,
        asset: f.asset,
        timeSec: f.timeSec,
      });
      continue;
    }
    const ctx = { source: f.id, pair: null, at: f.timeSec, counted };
    const positive = compareDecimal(f.amount, "0") >= 0;
    move(
      f.asset,
      positive ? "buy" : "sell",
      positive ? f.amount : negate(f.amount),
      rate,
      ctx,
    );
    if (compareDecimal(f.fee, "0") !== 0) {
      move(f.asset, "sell", f.fee, rate, ctx);
    }
    if (!counted) continue;
    const usd = multiplyDecimal(f.amount, rate);
    valuedFlows.push({ ...f, usd });
    if (f.kind === "income") income = addDecimal(income, usd);
    else netDeposits = addDecimal(netDeposits, usd);
    if (compareDecimal(f.fee, "0") !== 0) {
      const feeUsd = multiplyDecimal(f.fee, rate);
      feeSum = addDecimal(feeSum, feeUsd);
      feesPaid.push({
        source: f.id,
        pair: null,
        attributedTo: f.asset,
        asset: f.asset,
        amount: f.fee,
        usd: feeUsd,
        timeSec: f.timeSec,
      });
    }
  }
  startSnapshot ??= new Map(
    [...books].map(([asset, book]) => [asset, book.lots]),
  );

  const lastAt = events.at(-1)?.at ?? 0;
  const endAt = options.untilSec ?? lastAt;
  const markOf = options.untilSec === undefined && options.mark !== undefined
    ? options.mark
    : (asset: string) => rateAt(asset, endAt);
  const positions: AssetPosition[] = [];
  let unrealized = "0";
  for (
    const [asset, book] of [...books].sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    )
  ) {
    if (book.lots.length === 0) continue;
    const mark = markOf(asset);
    const marked = markLots(book.lots, mark);
    if (marked.unrealizedPnl === null) {
      unpriced.push({ kind: "mark", id: asset, asset, timeSec: null });
    } else {
      unrealized = addDecimal(unrealized, marked.unrealizedPnl);
    }
    positions.push({
      asset,
      qty: book.qty,
      lots: book.lots,
      costBasis: marked.costBasis,
      mark,
      unrealizedPnl: marked.unrealizedPnl,
    });
  }
  let unrealizedStart = "0";
  if (options.sinceSec !== undefined) {
    for (const [asset, lots] of startSnapshot) {
      if (lots.length === 0) continue;
      const start = markLots(lots, rateAt(asset, options.sinceSec))
        .unrealizedPnl;
      if (start === null) {
        unpriced.push({
          kind: "mark",
          id: asset,
          asset,
          timeSec: options.sinceSec,
        });
      } else {
        unrealizedStart = addDecimal(unrealizedStart, start);
      }
    }
  }
  const unrealizedChange = subtractDecimal(unrealized, unrealizedStart);
  return {
    valuation: VALUATION_ASSET,
    sinceSec: options.sinceSec ?? null,
    untilSec: options.untilSec ?? null,
    realizedPnl: realizedSum,
    fees: feeSum,
    income,
    netDeposits,
    unrealizedPnl: unrealized,
    unrealizedStart,
    unrealizedChange,
    performance: addDecimal(
      subtractDecimal(addDecimal(realizedSum, unrealizedChange), feeSum),
      income,
    ),
    complete: unpriced.length === 0,
    positions,
    realized,
    feesPaid,
    flows: valuedFlows,
    unpriced,
    trades: tradeCount,
  };
}

/**
 * The same report at other marks: only the open lots are valued again
 * (positions, unrealised P&L, performance, the unpriced marks), so a live
 * view can follow prices without replaying the whole history.
 * `remarkPnl(computePnl(t, f, { ...o, mark: a }), b)` equals
 * `computePnl(t, f, { ...o, mark: b })`.
 *
 * @param report A report from {@linkcode computePnl} without `untilSec`.
 * @param mark USD per unit now.
 * @returns The report at the new marks.
 * @throws {RangeError} For a report up to a past instant (its marks are rates).
 * @example New marks
 * ```ts
 * import { computePnl, remarkPnl } from "./pnl.ts";
 * const report = computePnl([
 *   { id: "T1", pair: "XBTUSD", base: "BTC", quote: "USD", fees: [], side: "buy",
 *     price: "100", vol: "2", cost: "200", timeSec: 1 },
 * ], [], { rateAt: () => null, mark: () => "110" });
 * remarkPnl(report, () => "130").unrealizedPnl; // "60"
 * ```
 */
export function remarkPnl(
  report: PnlReport,
  mark: (asset: string) => string | null,
): PnlReport {
  if (report.untilSec !== null) {
    throw new RangeError(
      "A report up to a past instant is valued at its rates, not at marks",
    );
  }
  const kept = report.unpriced.filter((u) => u.kind !== "mark");
  const startMarks = report.unpriced.filter((u) =>
    u.kind === "mark" && u.timeSec !== null
  );
  const endMarks: Unpriced[] = [];
  let unrealized = "0";
  const positions = report.positions.map((p): AssetPosition => {
    const price = mark(p.asset);
    const marked = markLots(p.lots, price);
    if (marked.unrealizedPnl === null) {
      endMarks.push({
        kind: "mark",
        id: p.asset,
        asset: p.asset,
        timeSec: null,
      });
    } else unrealized = addDecimal(unrealized, marked.unrealizedPnl);
    return {
      ...p,
      costBasis: marked.costBasis,
      mark: price,
      unrealizedPnl: marked.unrealizedPnl,
    };
  });
  const unpriced = [...kept, ...endMarks, ...startMarks];
  const unrealizedChange = subtractDecimal(unrealized, report.unrealizedStart);
  return {
    ...report,
    unrealizedPnl: unrealized,
    unrealizedChange,
    performance: addDecimal(
      subtractDecimal(
        addDecimal(report.realizedPnl, unrealizedChange),
        report.fees,
      ),
      report.income,
    ),
    complete: unpriced.length === 0,
    positions,
    unpriced,
  };
}

/** How to group a report. */
export type PnlGrouping = "asset" | "pair" | "day";

/** One group's sums. */
export interface PnlGroup {
  /** The asset, the pair (`-` for flows) or the UTC day (`2025-01-31`). */
  key: string;
  /** Realised P&L. */
  realizedPnl: string;
  /** Fees. */
  fees: string;
  /** `realizedPnl − fees`. */
  net: string;
  /** Unrealised P&L now (`asset` grouping only; `null` otherwise or unpriced). */
  unrealizedPnl: string | null;
}

function dayOf(timeSec: number): string {
  return new Date(timeSec * 1000).toISOString().slice(0, 10);
}

/**
 * Sums a report's realised P&L and fees by asset, pair or UTC day. Fees
 * go to the trade's base asset and pair.
 *
 * @param report A report from {@linkcode computePnl}.
 * @param by The grouping.
 * @returns Groups sorted by key.
 * @example By pair
 * ```ts
 * import { computePnl, groupPnl } from "./pnl.ts";
 * const report = computePnl([], [], { rateAt: () => null });
 * groupPnl(report, "pair"); // []
 * ```
 */
export function groupPnl(report: PnlReport, by: PnlGrouping): PnlGroup[] {
  const groups = new Map<string, PnlGroup>();
  const group = (key: string) => {
    let g = groups.get(key);
    if (g === undefined) {
      g = { key, realizedPnl: "0", fees: "0", net: "0", unrealizedPnl: null };
      groups.set(key, g);
    }
    return g;
  };
  for (const piece of report.realized) {
    const key = by === "asset"
      ? piece.asset
      : by === "pair"
      ? piece.pair ?? "-"
      : dayOf(piece.timeSec);
    const g = group(key);
    g.realizedPnl = addDecimal(g.realizedPnl, piece.pnl);
  }
  for (const fee of report.feesPaid) {
    const key = by === "asset"
      ? fee.attributedTo
      : by === "pair"
      ? fee.pair ?? "-"
      : dayOf(fee.timeSec);
    const g = group(key);
    g.fees = addDecimal(g.fees, fee.usd);
  }
  if (by === "asset") {
    for (const position of report.positions) {
      group(position.asset).unrealizedPnl = position.unrealizedPnl;
    }
  }
  for (const g of groups.values()) {
    g.net = subtractDecimal(g.realizedPnl, g.fees);
  }
  return [...groups.values()].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0
  );
}
