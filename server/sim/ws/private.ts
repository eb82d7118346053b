/**
 * Rows of the private WebSocket v2 channels (`executions`, `balances`;
 * WS_V2.md §4.1–§4.2) built from the simulated account. Pure: each function
 * maps account records to wire rows with exact decimal text.
 *
 * Extension point for the trading engine: {@linkcode accountEventRows} maps
 * every {@linkcode AccountEvent} the account emits (orders placed, filled,
 * cancelled; ledger postings) to the rows the WS server (`server.ts`) pushes, with a
 * per-subscription `sequence`. An engine that needs other rows (amends,
 * restatements) can push them with `WsSimulator.publishPrivate`.
 *
 * @module
 */

import type {
  AccountEvent,
  SimAccount,
  SimLedgerEntry,
  SimOrder,
  SimOwnTrade,
} from "../exchange/account.ts";
import { divideRounded, formatUnits, pow10 } from "../exchange/units.ts";
import { assetByKey } from "../exchange/pairs.ts";
import { rfc3339FromMs, WireNumber, type WireObject } from "./wire.ts";

function assetDecimals(key: string): number {
  return assetByKey(key)?.decimals ?? 8;
}

function assetSymbol(key: string): string {
  return assetByKey(key)?.symbol ?? key;
}

function units(value: bigint | number, decimals: number): WireNumber {
  return new WireNumber(formatUnits(value, decimals));
}

/**
 * What a report needs from the account to price fees: USD rates and the
 * ledger entries a trade wrote ({@linkcode SimAccount} is one).
 */
export interface FeeValuer {
  /** USD per unit of an asset at an instant. */
  usdRate(asset: string, atMs?: number): number;
  /** A ledger entry by id. */
  ledgerEntry(
    id: string,
  ): { readonly asset: string; readonly feeUnits: bigint } | undefined;
}

/** USD text with up to 5 decimals (`4.51`, `0.0`). */
function usdNumber(value: number): WireNumber {
  const text = (Math.round(value * 1e5) / 1e5).toFixed(5)
    .replace(/0+$/, "").replace(/\.$/, ".0");
  return new WireNumber(text);
}

/**
 * The fee a trade was charged, in the asset the ledger charged it in: the
 * base asset for `fcib` (Kraken's default when selling), else the quote.
 * Without a valuer, the quote-currency fee of the trade.
 */
function chargedFee(
  trade: SimOwnTrade,
  valuer: FeeValuer | undefined,
): { asset: string; units: bigint } {
  for (const id of [...trade.ledgerIds].reverse()) {
    const entry = valuer?.ledgerEntry(id);
    if (entry && entry.feeUnits > 0n) {
      return { asset: entry.asset, units: entry.feeUnits };
    }
  }
  return { asset: trade.pair.quote, units: trade.feeUnits };
}

/** A fee's value in USD at an instant (`0` without a valuer). */
function feeUsd(
  fee: { asset: string; units: bigint },
  atMs: number,
  valuer: FeeValuer | undefined,
): WireNumber {
  if (!valuer || fee.units === 0n) return usdNumber(0);
  return usdNumber(
    (Number(fee.units) / 10 ** assetDecimals(fee.asset)) *
      valuer.usdRate(fee.asset, atMs),
  );
}

/**
 * The fees an order paid so far, in USD (its quote-currency fee total).
 *
 * @param order The order.
 * @param atMs The instant to value it at.
 * @param valuer Rates (omitted: `0`).
 * @returns The wire number.
 * @example Fee in USD
 * ```ts ignore
 * orderFeeUsd(order, Date.now(), account);
 * ```
 */
export function orderFeeUsd(
  order: SimOrder,
  atMs: number,
  valuer: FeeValuer | undefined,
): WireNumber {
  return feeUsd(
    { asset: order.pair.quote, units: order.feeUnits },
    atMs,
    valuer,
  );
}

/**
 * The `balances` snapshot rows: one per asset held, spot wallet `main`.
 *
 * @param account The account.
 * @returns The rows.
 * @example Rows
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { SimAccount } from "../exchange/account.ts";
 * import { balanceSnapshotRows } from "./private.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * balanceSnapshotRows(SimAccount.seeded(market));
 * ```
 */
export function balanceSnapshotRows(account: SimAccount): WireObject[] {
  const rows: WireObject[] = [];
  for (const [asset, amount] of account.balances()) {
    const balance = units(amount, assetDecimals(asset));
    rows.push({
      asset: assetSymbol(asset),
      asset_class: "currency",
      balance,
      wallets: [{ type: "spot", id: "main", balance }],
    });
  }
  return rows;
}

/**
 * One `balances` update row: a ledger entry (two per spot trade, sharing
 * `ref_id`).
 *
 * @param entry The ledger entry.
 * @returns The row.
 * @example Row
 * ```ts
 * import { balanceUpdateRow } from "./private.ts";
 * balanceUpdateRow({
 *   id: "LAAAAA-BBBBB-CCCCCC", refid: "TAAAAA-BBBBB-CCCCCC", timeMs: 0, type: "trade",
 *   asset: "ZUSD", amountUnits: -100n, feeUnits: 1n, balanceUnits: 1000n,
 * });
 * ```
 */
export function balanceUpdateRow(entry: SimLedgerEntry): WireObject {
  const d = assetDecimals(entry.asset);
  return {
    ledger_id: entry.id,
    ref_id: entry.refid,
    timestamp: rfc3339FromMs(entry.timeMs),
    type: entry.type,
    subtype: "",
    category: entry.type,
    asset: assetSymbol(entry.asset),
    asset_class: "currency",
    wallet_type: "spot",
    wallet_id: "main",
    amount: units(entry.amountUnits, d),
    fee: units(entry.feeUnits, d),
    balance: units(entry.balanceUnits, d),
  };
}

/** The v2 `order_status` of an order (WS_V2.md §4.1). */
function orderStatus(order: SimOrder): string {
  switch (order.status) {
    case "pending":
      return "pending_new";
    case "open":
      return order.volExecUnits > 0n ? "partially_filled" : "new";
    case "closed":
      return "filled";
    case "canceled":
      return "canceled";
    case "expired":
      return "expired";
  }
}

function averagePrice(
  order: SimOrder,
  zero = false,
): WireNumber | undefined {
  if (order.volExecUnits === 0n) {
    return zero ? units(0n, order.pair.pairDecimals) : undefined;
  }
  const { pair } = order;
  const qd = assetDecimals(pair.quote);
  return units(
    divideRounded(
      order.costUnits * pow10(pair.lotDecimals + pair.pairDecimals),
      order.volExecUnits * pow10(qd),
    ),
    pair.pairDecimals,
  );
}

/**
 * A full execution report of an order's current state (snapshot rows, and
 * the status transitions the engine causes).
 *
 * @param order The order.
 * @param options `execType` (default: from the status; `new` for open orders).
 * @returns The row.
 * @example Report
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { SimAccount } from "../exchange/account.ts";
 * import { orderReport } from "./private.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * const account = SimAccount.seeded(market);
 * account.orders().filter((o) => o.status === "open").map((o) => orderReport(o));
 * ```
 */
export function orderReport(
  order: SimOrder,
  options: { execType?: string; valuer?: FeeValuer | undefined } = {},
): WireObject {
  const { pair } = order;
  const qd = assetDecimals(pair.quote);
  const status = orderStatus(order);
  const execType = options.execType ??
    (status === "partially_filled" ? "new" : status);
  const closed = order.status !== "open" && order.status !== "pending";
  return {
    order_id: order.txid,
    cl_ord_id: order.clOrdId,
    // Kraken prints 0 when no userref was given.
    order_userref: order.userref,
    symbol: pair.symbol,
    side: order.type,
    order_type: order.ordertype,
    order_qty: units(order.volumeUnits, pair.lotDecimals),
    limit_price: order.limitUnits === undefined
      ? undefined
      : units(order.limitUnits, pair.pairDecimals),
    time_in_force: order.expiretmMs === 0 ? "GTC" : "GTD",
    exec_type: execType,
    order_status: status,
    cum_qty: units(order.volExecUnits, pair.lotDecimals),
    cum_cost: units(order.costUnits, qd),
    avg_price: averagePrice(order, closed),
    fee_ccy_pref: order.oflags.includes("fcib") ? "fcib" : "fciq",
    fee_usd_equiv: orderFeeUsd(
      order,
      closed ? order.closetmMs ?? order.opentmMs : order.opentmMs,
      options.valuer,
    ),
    reason: closed && order.reason !== null ? order.reason : undefined,
    timestamp: rfc3339FromMs(
      closed ? order.closetmMs ?? order.opentmMs : order.opentmMs,
    ),
  };
}

/**
 * The execution report of one fill (`exec_type: "trade"`).
 *
 * @param trade The own trade.
 * @param order The order it filled (state after the fill).
 * @returns The row.
 * @example Fill
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { SimAccount } from "../exchange/account.ts";
 * import { tradeReport } from "./private.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * const account = SimAccount.seeded(market);
 * const trade = account.trades()[0]!;
 * tradeReport(trade, account.order(trade.ordertxid)!);
 * ```
 */
export function tradeReport(
  trade: SimOwnTrade,
  order: SimOrder,
  valuer?: FeeValuer,
): WireObject {
  const { pair } = trade;
  const qd = assetDecimals(pair.quote);
  const fee = chargedFee(trade, valuer);
  return {
    order_id: trade.ordertxid,
    exec_id: trade.txid,
    exec_type: "trade",
    trade_id: trade.tradeId,
    symbol: pair.symbol,
    side: trade.type,
    order_type: trade.ordertype,
    last_qty: units(trade.volumeUnits, pair.lotDecimals),
    last_price: units(trade.priceUnits, pair.pairDecimals),
    cost: units(trade.costUnits, qd),
    liquidity_ind: trade.maker ? "m" : "t",
    // Kraken reports a fill as partially_filled even when it completes the order;
    // completion is the separate `filled` report (WS_V2.md §4.1).
    order_status: "partially_filled",
    cum_qty: units(order.volExecUnits, pair.lotDecimals),
    cum_cost: units(order.costUnits, qd),
    avg_price: averagePrice(order),
    // The asset the ledger charged (base with fcib, Kraken's default on
    // sells); WS_V2.md §4 says quote, the ledger and balances say otherwise.
    fees: [{
      asset: assetSymbol(fee.asset),
      qty: units(fee.units, assetDecimals(fee.asset)),
    }],
    fee_usd_equiv: feeUsd(fee, trade.timeMs, valuer),
    timestamp: rfc3339FromMs(trade.timeMs),
  };
}

/**
 * The `executions` snapshot rows: open orders (`snap_orders`) and the last
 * 50 fills (`snap_trades`).
 *
 * @param account The account.
 * @param options Which parts to include.
 * @returns The rows.
 * @example Snapshot
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { SimAccount } from "../exchange/account.ts";
 * import { executionSnapshotRows } from "./private.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * executionSnapshotRows(SimAccount.seeded(market), { snapOrders: true, snapTrades: false });
 * ```
 */
export function executionSnapshotRows(
  account: SimAccount,
  options: { snapOrders: boolean; snapTrades: boolean },
): WireObject[] {
  const rows: WireObject[] = [];
  if (options.snapTrades) {
    for (const trade of account.trades().slice(-50)) {
      const order = account.order(trade.ordertxid);
      if (order) rows.push(tradeReport(trade, order, account));
    }
  }
  if (options.snapOrders) {
    for (const order of account.orders()) {
      if (order.status === "open" || order.status === "pending") {
        rows.push(orderReport(order, { valuer: account }));
      }
    }
  }
  return rows;
}

/** What one account event becomes on the private channels. */
export interface PrivateRows {
  /** Rows for `executions` (possibly none). */
  executions: WireObject[];
  /** Rows for `balances` (possibly none). */
  balances: WireObject[];
}

/**
 * Map an account event to private channel rows. Order events become a
 * report only when the order's `order_status` changed since the last one
 * (tracked in `lastStatus`), so the engine can emit freely.
 *
 * @param event The account event.
 * @param lastStatus Order id → last `order_status` sent (updated here).
 * @returns The rows per channel.
 * @example Ledger posting
 * ```ts
 * import { accountEventRows } from "./private.ts";
 * accountEventRows({
 *   kind: "ledger",
 *   entry: {
 *     id: "LAAAAA-BBBBB-CCCCCC", refid: "QAAAAAA-BBBBBB-CCCCCC", timeMs: 0, type: "deposit",
 *     asset: "ZUSD", amountUnits: 100n, feeUnits: 0n, balanceUnits: 100n,
 *   },
 * }, new Map()).balances.length; // 1
 * ```
 */
export function accountEventRows(
  event: AccountEvent,
  lastStatus: Map<string, string>,
  valuer?: FeeValuer,
): PrivateRows {
  switch (event.kind) {
    case "ledger":
      return { executions: [], balances: [balanceUpdateRow(event.entry)] };
    case "trade":
      lastStatus.set(event.order.txid, "partially_filled");
      return {
        executions: [tradeReport(event.trade, event.order, valuer)],
        balances: [],
      };
    case "order": {
      const status = orderStatus(event.order);
      if (lastStatus.get(event.order.txid) === status) {
        return { executions: [], balances: [] };
      }
      lastStatus.set(event.order.txid, status);
      // A partial fill's state is already in its trade report.
      if (status === "partially_filled") {
        return { executions: [], balances: [] };
      }
      return {
        executions: [orderReport(event.order, { valuer })],
        balances: [],
      };
    }
  }
}
