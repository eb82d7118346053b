/**
 * The account as the server's event stream (`/api/private/events`, SSE)
 * tells it. The server holds one private WS v2 connection; core's
 * `PrivateStream` checks each channel's `sequence` and resyncs from REST
 * after a gap or a reconnect, and the server relays its normalized events
 * as they are: `balances` and `executions` (each channel's snapshot first,
 * replayed to every new listener, then updates), `resync` (REST's open
 * orders and balances, which replace what the feed holds) and `gap`. The
 * feed trusts them: it does not re-check sequences. A pure state machine,
 * `stepAccountFeed(state, event) → { state, effects }`; the worker owns the
 * `EventSource`, turns a `resync` into the page's names, and makes the
 * REST call.
 *
 * The worker asks REST itself only when the server refuses the stream.
 *
 * Held funds are derived from the open orders (unfilled sell volume in the
 * base asset; unfilled limit-buy volume × limit price in the quote asset),
 * since the `balances` channel carries totals only. Kraken's own
 * `hold_trade` can differ by the fee reserve.
 *
 * @module
 */

import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "@krakked/core/decimal";
import type {
  AccountInfo,
  AccountStreamState,
  AccountUpdate,
  BalanceView,
  OrderView,
} from "./protocol.ts";

/** The private channels the stream relays. */
export type AccountChannel = "executions" | "balances";

/** Everything the feed knows. Treat as immutable: `step` returns a new one. */
export interface AccountFeedState {
  /** Asset (common code) → total balance text. */
  readonly balances: ReadonlyMap<string, string>;
  /** Order id → open order. */
  readonly orders: ReadonlyMap<string, OrderView>;
  /** Whether each channel's snapshot (or a resync) arrived since the stream opened. */
  readonly loaded: Readonly<Record<AccountChannel, boolean>>;
  /** The feed's state. */
  readonly stream: AccountStreamState;
  /** Whether the stream has opened before (the next open is a reconnect). */
  readonly opened: boolean;
  /** Whether a REST refresh is under way. */
  readonly refreshing: boolean;
  /** Whether a REST answer has been applied. */
  readonly restLoaded: boolean;
  /** REST reads behind the feed: the server's resyncs and the worker's own. */
  readonly restRefreshes: number;
  /** Sequence gaps the server's stream reported. */
  readonly gaps: number;
}

/** What can happen to the feed, named by source. */
export type AccountFeedEvent =
  | { type: "wire.open" }
  | { type: "wire.message"; channel: string; text: string }
  | { type: "wire.resync"; account: AccountInfo }
  | { type: "wire.error"; closed: boolean }
  | { type: "rest.account"; account: AccountInfo }
  | { type: "rest.failed"; message: string };

/** What the worker should do after a step. */
export type AccountFeedEffect =
  | { type: "refresh"; reason: "closed" }
  | { type: "publish" }
  | { type: "notice"; message: string };

/**
 * The state before the stream opened.
 *
 * @returns An empty feed.
 * @example Start
 * ```ts
 * import { initialAccountFeed } from "./account_feed.ts";
 * initialAccountFeed().stream; // "connecting"
 * ```
 */
export function initialAccountFeed(): AccountFeedState {
  return {
    balances: new Map(),
    orders: new Map(),
    loaded: { executions: false, balances: false },
    stream: "connecting",
    opened: false,
    refreshing: false,
    restLoaded: false,
    restRefreshes: 0,
    gaps: 0,
  };
}

type Row = Record<string, unknown>;

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function rowsOf(value: unknown): Row[] {
  return Array.isArray(value)
    ? value.filter((r): r is Row => typeof r === "object" && r !== null)
    : [];
}

const TERMINAL = new Set(["filled", "canceled", "expired"]);

function mergeOrder(previous: OrderView | undefined, row: Row): OrderView {
  const timestamp = text(row.timestamp);
  const parsed = timestamp === undefined ? NaN : Date.parse(timestamp);
  return {
    id: String(row.order_id),
    pair: text(row.symbol) ?? previous?.pair ?? "",
    side: text(row.side) ?? previous?.side ?? "",
    orderType: text(row.order_type) ?? previous?.orderType ?? "",
    price: text(row.limit_price) ?? previous?.price ?? "0",
    volume: text(row.order_qty) ?? previous?.volume ?? "",
    filled: text(row.cum_qty) ?? previous?.filled ?? "0",
    status: text(row.order_status) ?? previous?.status ?? "",
    openedAtSec: previous?.openedAtSec ??
      (Number.isFinite(parsed) ? Math.floor(parsed / 1000) : 0),
  };
}

function applyExecutions(
  orders: ReadonlyMap<string, OrderView>,
  rows: readonly Row[],
  snapshot: boolean,
): Map<string, OrderView> {
  const next = new Map(snapshot ? [] : orders);
  for (const row of rows) {
    if (typeof row.order_id !== "string") continue;
    const status = text(row.order_status);
    const exec = text(row.exec_type);
    if (
      (status !== undefined && TERMINAL.has(status)) ||
      (exec !== undefined && TERMINAL.has(exec))
    ) {
      next.delete(row.order_id);
      continue;
    }
    // A snapshot with trades (snap_trades) lists fills of closed orders too:
    // only order reports make an order open.
    if (snapshot && exec === "trade" && !next.has(row.order_id)) continue;
    next.set(row.order_id, mergeOrder(next.get(row.order_id), row));
  }
  return next;
}

function applyBalances(
  balances: ReadonlyMap<string, string>,
  rows: readonly Row[],
  snapshot: boolean,
): Map<string, string> {
  const next = new Map(snapshot ? [] : balances);
  for (const row of rows) {
    const asset = text(row.asset);
    const balance = text(row.balance);
    if (asset === undefined || balance === undefined) continue;
    // Ledger entries of earn wallets do not change the spot total.
    const wallet = text(row.walletType);
    if (!snapshot && wallet !== undefined && wallet !== "spot") continue;
    next.set(asset, balance);
  }
  return next;
}

function message(
  state: AccountFeedState,
  channel: string,
  body: string,
): { state: AccountFeedState; effects: AccountFeedEffect[] } {
  if (channel !== "executions" && channel !== "balances" && channel !== "gap") {
    return { state, effects: [] };
  }
  let event: Row;
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== "object" || value === null) {
      return { state, effects: [] };
    }
    event = value as Row;
  } catch {
    // Bad wire input is dropped, never thrown at the caller.
    return { state, effects: [] };
  }
  if (channel === "gap") {
    // The server already resyncs; the count is for the page.
    return {
      state: { ...state, gaps: state.gaps + 1 },
      effects: [{ type: "publish" }],
    };
  }
  const snapshot = event.kind === "snapshot";
  const next: AccountFeedState = {
    ...state,
    stream: "live",
    loaded: snapshot ? { ...state.loaded, [channel]: true } : state.loaded,
  };
  return {
    state: channel === "executions"
      ? {
        ...next,
        orders: applyExecutions(next.orders, rowsOf(event.reports), snapshot),
      }
      : {
        ...next,
        balances: applyBalances(next.balances, rowsOf(event.rows), snapshot),
      },
    effects: [{ type: "publish" }],
  };
}

/**
 * Advance the feed by one event. Pure.
 *
 * @param state The current state.
 * @param event What happened.
 * @returns The next state and what to do.
 * @example A balances snapshot
 * ```ts
 * import { initialAccountFeed, stepAccountFeed } from "./account_feed.ts";
 * const { state } = stepAccountFeed(initialAccountFeed(), {
 *   type: "wire.message",
 *   channel: "balances",
 *   text: '{"type":"balances","kind":"snapshot","rows":[{"asset":"USD","balance":"100.5"}]}',
 * });
 * state.balances.get("USD"); // "100.5"
 * ```
 */
export function stepAccountFeed(
  state: AccountFeedState,
  event: AccountFeedEvent,
): { state: AccountFeedState; effects: AccountFeedEffect[] } {
  switch (event.type) {
    case "wire.open":
      // The server replays each channel's snapshot (or its last resync)
      // and the updates since to every new listener: nothing to ask.
      return {
        state: {
          ...state,
          opened: true,
          stream: "live",
          loaded: { executions: false, balances: false },
        },
        effects: [{ type: "publish" }],
      };
    case "wire.message":
      return message(state, event.channel, event.text);
    case "wire.resync":
      return {
        state: {
          ...state,
          stream: "live",
          loaded: { executions: true, balances: true },
          restRefreshes: state.restRefreshes + 1,
          balances: new Map(
            event.account.balances.map((b) => [b.asset, b.balance]),
          ),
          orders: new Map(event.account.openOrders.map((o) => [o.id, o])),
        },
        effects: [{ type: "publish" }],
      };
    case "wire.error": {
      const effects: AccountFeedEffect[] = [];
      let next: AccountFeedState = {
        ...state,
        stream: event.closed ? "closed" : "reconnecting",
      };
      // Refused: the browser will not retry, so REST shows the account
      // until the worker reopens the stream. One refresh at a time.
      if (event.closed && !state.refreshing) {
        effects.push({ type: "refresh", reason: "closed" });
        next = {
          ...next,
          refreshing: true,
          restRefreshes: state.restRefreshes + 1,
        };
      }
      effects.push({ type: "publish" });
      return { state: next, effects };
    }
    case "rest.account":
      return {
        state: {
          ...state,
          refreshing: false,
          restLoaded: true,
          balances: new Map(
            event.account.balances.map((b) => [b.asset, b.balance]),
          ),
          orders: new Map(event.account.openOrders.map((o) => [o.id, o])),
        },
        effects: [{ type: "publish" }],
      };
    case "rest.failed":
      return {
        state: { ...state, refreshing: false },
        effects: [{
          type: "notice",
          message: `Account refresh failed: ${event.message}`,
        }],
      };
  }
}

/**
 * Funds held by open orders, per asset: unfilled sell volume (base) and
 * unfilled limit-buy volume × limit price (quote).
 *
 * @param orders Open orders with WS v2 symbols (`BTC/USD`).
 * @returns Asset → held amount text.
 * @example One sell
 * ```ts
 * import { heldByOrders } from "./account_feed.ts";
 * heldByOrders([{ id: "O1", pair: "BTC/USD", side: "sell", orderType: "limit",
 *   price: "70000", volume: "0.5", filled: "0.1", status: "new", openedAtSec: 0 }]).get("BTC"); // "0.4"
 * ```
 */
export function heldByOrders(
  orders: Iterable<OrderView>,
): Map<string, string> {
  const held = new Map<string, string>();
  const add = (asset: string, amount: string) =>
    held.set(asset, addDecimal(held.get(asset) ?? "0", amount));
  for (const order of orders) {
    const [base, quote] = order.pair.split("/");
    if (base === undefined || quote === undefined) continue;
    let remaining: string;
    try {
      remaining = subtractDecimal(order.volume, order.filled);
      if (compareDecimal(remaining, "0") <= 0) continue;
      if (order.side === "sell") add(base, remaining);
      else if (order.side === "buy" && compareDecimal(order.price, "0") > 0) {
        add(quote, multiplyDecimal(remaining, order.price));
      }
    } catch {
      // An order with unreadable numbers holds nothing we can show.
    }
  }
  return held;
}

/**
 * The page's view of the feed.
 *
 * @param state The feed.
 * @returns Balances (non-zero, by asset) with held funds, open orders
 *   (newest first), and the stream's state.
 * @example View
 * ```ts
 * import { accountView, initialAccountFeed } from "./account_feed.ts";
 * accountView(initialAccountFeed()).ready; // false
 * ```
 */
export function accountView(state: AccountFeedState): AccountUpdate {
  const held = heldByOrders(state.orders.values());
  const balances: BalanceView[] = [];
  for (const [asset, balance] of state.balances) {
    if (Number(balance) === 0) continue;
    balances.push({ asset, balance, hold: held.get(asset) ?? "0" });
  }
  balances.sort((a, b) => a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0);
  const openOrders = [...state.orders.values()].sort((a, b) =>
    b.openedAtSec - a.openedAtSec
  );
  return {
    account: { balances, openOrders },
    ready: state.restLoaded ||
      (state.loaded.balances && state.loaded.executions),
    stream: state.stream,
    restRefreshes: state.restRefreshes,
    gaps: state.gaps,
  };
}
