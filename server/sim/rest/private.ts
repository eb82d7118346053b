/**
 * The simulator's private account methods (Balance, orders, trades,
 * ledgers, trade volume, WebSocket tokens, …). Which private methods exist,
 * what they need and cost, and which are refused is the method table in
 * `methods.ts`.
 *
 * @module
 */

import type { FeeTierInfo } from "@krakked/core/rest/types";
import {
  feeTier,
  type SimAccount,
  type SimLedgerEntry,
  type SimOrder,
  type SimOwnTrade,
  wireSeconds,
} from "../exchange/account.ts";
import type { KeyState, SimPermission } from "./auth.ts";
import { floatToUnits, formatUnits } from "../exchange/units.ts";
import type { Market } from "../exchange/market.ts";
import { assetByKey, resolveAsset, resolvePair } from "../exchange/pairs.ts";
import {
  INVALID_ARGUMENTS,
  type Params,
  SimApiError,
} from "../exchange/params.ts";
import type { WsTokenRegistry } from "../ws/tokens.ts";

/** What a private method can use. */
export interface PrivateContext {
  /** The call's parameters (form or JSON body). */
  params: Params;
  /** The exact body text. */
  body: string;
  /** The authenticated key (permissions, id). */
  key: KeyState;
  /** The account. */
  account: SimAccount;
  /** The market. */
  market: Market;
  /** Issued WebSocket tokens. */
  tokens: WsTokenRegistry;
  /** Evaluation time, ms. */
  nowMs: number;
}

/** One private method: returns the `result`, or throws {@linkcode SimApiError}. */
export type PrivateHandler = (
  context: PrivateContext,
) => unknown | Promise<unknown>;

const PAGE_SIZE = 50;

function requirePermission(key: KeyState, permission: SimPermission): void {
  if (!key.permissions.has(permission)) {
    throw new SimApiError("EGeneral:Permission denied");
  }
}

function decimalsOf(asset: string): number {
  return assetByKey(asset)?.decimals ?? 8;
}

/** Resolve `start`/`end`: Unix seconds, or an id whose time is used. */
function boundSec(
  params: Params,
  name: string,
  timeOfId: (id: string) => number | undefined,
): number | undefined {
  const text = params.get(name);
  if (text === undefined || text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const ms = timeOfId(text);
  if (ms === undefined) throw new SimApiError(INVALID_ARGUMENTS);
  return wireSeconds(ms);
}

function inRange(
  timeMs: number,
  start: number | undefined,
  end: number | undefined,
): boolean {
  const sec = wireSeconds(timeMs);
  return (start === undefined || sec > start) &&
    (end === undefined || sec <= end);
}

function matchesOrderFilters(order: SimOrder, params: Params): boolean {
  const userref = params.int("userref", { min: -2147483648, max: 2147483647 });
  if (userref !== undefined && order.userref !== userref) return false;
  const clOrdId = params.get("cl_ord_id");
  if (clOrdId !== undefined && order.clOrdId !== clOrdId) return false;
  return true;
}

function balanceMap(account: SimAccount): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [asset, units] of account.balances()) {
    out[asset] = formatUnits(units, decimalsOf(asset));
  }
  return out;
}

function feeInfo(
  schedule: ReadonlyArray<readonly [number, number]>,
  volumeUsd: number,
): FeeTierInfo {
  const tier = feeTier(schedule, volumeUsd);
  const pct = (n: number) => n.toFixed(4);
  return {
    fee: pct(tier.fee),
    minfee: pct(tier.minFee),
    maxfee: pct(tier.maxFee),
    nextfee: tier.nextFee === undefined ? null : pct(tier.nextFee),
    nextvolume: tier.nextVolume === undefined
      ? null
      : tier.nextVolume.toFixed(4),
    tiervolume: tier.tierVolume.toFixed(4),
  };
}

function closedOrders(
  context: PrivateContext,
): { closed: Record<string, unknown>; count?: number } {
  const { params, account } = context;
  const trades = params.bool("trades");
  const ofs = params.int("ofs", { min: 0, fallback: 0 })!;
  const closetime = params.get("closetime") ?? "both";
  if (!["open", "close", "both"].includes(closetime)) {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  const timeOf = (id: string) => account.order(id)?.opentmMs;
  const start = boundSec(params, "start", timeOf);
  const end = boundSec(params, "end", timeOf);
  const matches = account.orders()
    .filter((o) => o.status !== "open" && o.status !== "pending")
    .filter((o) => matchesOrderFilters(o, params))
    .filter((o) => {
      const openIn = inRange(o.opentmMs, start, end);
      const closeIn = inRange(o.closetmMs ?? o.opentmMs, start, end);
      return closetime === "open"
        ? openIn
        : closetime === "close"
        ? closeIn
        : openIn || closeIn;
    })
    .sort((a, b) => (b.closetmMs ?? 0) - (a.closetmMs ?? 0));
  const closed: Record<string, unknown> = {};
  for (const order of matches.slice(ofs, ofs + PAGE_SIZE)) {
    closed[order.txid] = account.orderInfo(order, { trades });
  }
  return params.bool("without_count")
    ? { closed }
    : { closed, count: matches.length };
}

function tradesHistory(
  context: PrivateContext,
): { trades: Record<string, unknown>; count: number } {
  const { params, account } = context;
  const type = params.get("type") ?? "all";
  if (
    ![
      "all",
      "any position",
      "closed position",
      "closing position",
      "no position",
    ].includes(type)
  ) {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  params.bool("trades");
  const ledgers = params.bool("ledgers");
  const ofs = params.int("ofs", { min: 0, fallback: 0 })!;
  const timeOf = (id: string) => account.trade(id)?.timeMs;
  const start = boundSec(params, "start", timeOf);
  const end = boundSec(params, "end", timeOf);
  // Spot trades never open a margin position.
  const matches =
    (type === "all" || type === "no position" ? account.trades() : [])
      .filter((t) => inRange(t.timeMs, start, end))
      .sort((a, b) => b.timeMs - a.timeMs);
  const trades: Record<string, unknown> = {};
  for (const trade of matches.slice(ofs, ofs + PAGE_SIZE)) {
    trades[trade.txid] = account.tradeInfo(trade, { ledgers });
  }
  return { trades, count: matches.length };
}

function ledgers(
  context: PrivateContext,
): { ledger: Record<string, unknown>; count?: number } {
  const { params, account } = context;
  const aclass = params.get("aclass") ?? "currency";
  if (aclass !== "currency" && aclass !== "tokenized_asset") {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  const type = params.get("type") ?? "all";
  const types = [
    "all",
    "trade",
    "deposit",
    "withdrawal", // a ledger entry type (read-only); withdrawal calls are denied
    "transfer",
    "margin",
    "adjustment",
    "rollover",
    "credit",
    "settled",
    "staking",
    "dividend",
    "sale",
    "nft_rebate",
  ];
  if (!types.includes(type)) throw new SimApiError(INVALID_ARGUMENTS);
  const assetNames = params.list("asset");
  const assets = assetNames?.includes("all")
    ? undefined
    : assetNames?.map((n) => {
      const asset = resolveAsset(n);
      if (!asset) throw new SimApiError("EQuery:Unknown asset");
      return asset.key;
    });
  const ofs = params.int("ofs", { min: 0, fallback: 0 })!;
  const timeOf = (id: string) => account.ledgerEntry(id)?.timeMs;
  const start = boundSec(params, "start", timeOf);
  const end = boundSec(params, "end", timeOf);
  const matches = account.ledger()
    .filter(() => aclass === "currency")
    .filter((e) => type === "all" || e.type === type)
    .filter((e) => !assets || assets.includes(e.asset))
    .filter((e) => inRange(e.timeMs, start, end))
    .sort(byTimeDesc);
  const ledger: Record<string, unknown> = {};
  for (const entry of matches.slice(ofs, ofs + PAGE_SIZE)) {
    ledger[entry.id] = account.ledgerInfo(entry);
  }
  return params.bool("without_count")
    ? { ledger }
    : { ledger, count: matches.length };
}

function byTimeDesc(a: SimLedgerEntry, b: SimLedgerEntry): number {
  return b.timeMs - a.timeMs;
}

function idList(params: Params, name: string, max: number): string[] {
  const ids = params.list(name);
  if (!ids || ids.length > max) throw new SimApiError(INVALID_ARGUMENTS);
  return ids;
}

function tradeBalance(context: PrivateContext): Record<string, string> {
  const { params, account, nowMs } = context;
  const assetName = params.get("asset") ?? "ZUSD";
  const target = resolveAsset(assetName);
  if (!target) throw new SimApiError("EQuery:Unknown asset");
  const targetRate = account.usdRate(target.key, nowMs);
  if (targetRate === 0) throw new SimApiError(INVALID_ARGUMENTS);
  let usd = 0;
  for (const [asset, units] of account.balances()) {
    usd += (Number(units) / 10 ** decimalsOf(asset)) *
      account.usdRate(asset, nowMs);
  }
  let unexecutedUsd = 0;
  for (const order of account.orders()) {
    if (order.status !== "open" || order.limitUnits === undefined) continue;
    const { pair } = order;
    const remaining = Number(order.volumeUnits - order.volExecUnits) /
      10 ** pair.lotDecimals;
    const limit = Number(order.limitUnits) / 10 ** pair.pairDecimals;
    unexecutedUsd += remaining * limit * account.usdRate(pair.quote, nowMs);
  }
  const d = target.decimals;
  const fmt = (usdValue: number) =>
    formatUnits(floatToUnits(usdValue / targetRate, d), d);
  const zero = formatUnits(0n, d);
  const equivalent = fmt(usd);
  return {
    eb: equivalent,
    tb: equivalent,
    m: zero,
    n: zero,
    c: zero,
    v: zero,
    e: equivalent,
    mf: equivalent,
    uv: fmt(unexecutedUsd),
  };
}

function queryOrders(context: PrivateContext): Record<string, unknown> {
  const { params, account, key } = context;
  const ids = idList(params, "txid", 50);
  const trades = params.bool("trades");
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const order = account.order(id);
    if (!order) throw new SimApiError("EOrder:Invalid order");
    requirePermission(
      key,
      order.status === "open" || order.status === "pending"
        ? "query_open"
        : "query_closed",
    );
    if (!matchesOrderFilters(order, params)) continue;
    out[id] = account.orderInfo(order, { trades });
  }
  return out;
}

function tradeVolume(context: PrivateContext): Record<string, unknown> {
  const { params, account, nowMs } = context;
  const volumeUsd = account.thirtyDayUsd(nowMs);
  const out: Record<string, unknown> = {
    currency: "ZUSD",
    volume: formatUnits(floatToUnits(volumeUsd, 4), 4),
  };
  const names = params.list("pair");
  if (names) {
    const fees: Record<string, FeeTierInfo> = {};
    const feesMaker: Record<string, FeeTierInfo> = {};
    for (const name of names) {
      const pair = resolvePair(name);
      if (!pair) throw new SimApiError("EQuery:Unknown asset pair");
      fees[pair.key] = feeInfo(pair.fees, volumeUsd);
      feesMaker[pair.key] = feeInfo(pair.feesMaker, volumeUsd);
    }
    out.fees = fees;
    out.fees_maker = feesMaker;
  }
  return out;
}

/** The account methods implemented by the simulator. */
export const ACCOUNT_HANDLERS: Readonly<Record<string, PrivateHandler>> = Object
  .freeze({
    Balance({ account }: PrivateContext) {
      return balanceMap(account);
    },

    BalanceEx({ account }: PrivateContext) {
      const holds = account.holds();
      const out: Record<string, unknown> = {};
      for (const [asset, units] of account.balances()) {
        const d = decimalsOf(asset);
        out[asset] = {
          balance: formatUnits(units, d),
          hold_trade: formatUnits(holds.get(asset) ?? 0n, d),
        };
      }
      return out;
    },

    TradeBalance: tradeBalance,

    OpenOrders({ params, account }: PrivateContext) {
      const trades = params.bool("trades");
      const open: Record<string, unknown> = {};
      const orders = account.orders()
        .filter((o) => o.status === "open" || o.status === "pending")
        .filter((o) => matchesOrderFilters(o, params))
        .sort((a, b) => b.opentmMs - a.opentmMs);
      for (const order of orders) {
        open[order.txid] = account.orderInfo(order, { trades });
      }
      return { open };
    },

    ClosedOrders: closedOrders,

    QueryOrders: queryOrders,

    TradesHistory: tradesHistory,

    QueryTrades({ params, account }: PrivateContext) {
      const ids = idList(params, "txid", 20);
      params.bool("trades");
      const out: Record<string, unknown> = {};
      for (const id of ids) {
        const trade: SimOwnTrade | undefined = account.trade(id);
        if (!trade) throw new SimApiError(INVALID_ARGUMENTS);
        out[id] = account.tradeInfo(trade);
      }
      return out;
    },

    Ledgers: ledgers,

    QueryLedgers({ params, account }: PrivateContext) {
      const ids = idList(params, "id", 20);
      params.bool("trades");
      const out: Record<string, unknown> = {};
      for (const id of ids) {
        const entry = account.ledgerEntry(id);
        if (!entry) throw new SimApiError(INVALID_ARGUMENTS);
        out[id] = account.ledgerInfo(entry);
      }
      return out;
    },

    TradeVolume: tradeVolume,

    GetWebSocketsToken({ tokens, key, nowMs }: PrivateContext) {
      return tokens.issue(key.id, nowMs);
    },
  });
