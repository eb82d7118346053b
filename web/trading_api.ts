/**
 * The page's calls to the server's trading routes (`/api/config`'s
 * `trading`, `/api/orders*`, `/api/paper`) and the shapes of their answers.
 * Every call is a same-origin fetch: the session cookie and the page's
 * Origin go along, no key ever reaches the page. A call never throws: a
 * network failure or a non-JSON answer becomes an `error` answer.
 *
 * @module
 */

/** What the page knows about trading (from `/api/config`). */
export interface TradingInfo {
  /** `read_only`, `dry_run`, `paper` or `live`. */
  mode: string;
  /** Live mode with both switches set: orders reach Kraken. */
  liveArmed: boolean;
  /** Largest order notional, USD. */
  maxNotionalUsd: number;
  /** Largest stop-loss distance from the reference price, percent. */
  stopLossMaxDistancePct: number;
}

/** The safe reading of an unknown trading set-up. */
export const READ_ONLY: TradingInfo = {
  mode: "read_only",
  liveArmed: false,
  maxNotionalUsd: 0,
  stopLossMaxDistancePct: 10,
};

/** An order as `/api/orders` and the decisions show it. */
export interface ServerOrder {
  /** Tracking key or order id. */
  key: string;
  /** Kraken's or the paper broker's id. */
  orderId: string | null;
  /** Canonical pair id. */
  pair: string;
  /** `buy` or `sell`. */
  side: string;
  /** Order type. */
  type: string;
  /** Volume. */
  volume: string;
  /** Limit or trigger price. */
  price: string | null;
  /** Filled volume. */
  filled: string;
  /** Lifecycle status. */
  status: string;
  /** Attached stop-loss trigger. */
  stopLoss: string | null;
  /** `paper` or `live`. */
  route: string;
  /** `stop` for a protective stop. */
  role?: string;
}

/** One fill of a paper order. */
export interface PaperFillView {
  /** Quantity (base). */
  qty: string;
  /** Price. */
  price: string;
  /** Fee (quote). */
  fee: string;
  /** Fee asset. */
  feeAsset: string;
}

/** What an exit did. */
export interface ExitView {
  /** Volume asked for. */
  volume: string;
  /** Volume sold. */
  sold: string;
  /** Protective stops cancelled to free the volume. */
  cancelledStops: string[];
  /** The stop placed again for what stays held, if any. */
  reprotect: { orderId: string; volume: string; trigger: string } | null;
  /** Holding left without a stop (base). */
  uncovered: string;
  /** What went wrong after the sale, when something did. */
  problem: string | null;
}

/** The decision on a placement or a close. */
export type OrderAnswer =
  | {
    decision: "accepted";
    mode: string;
    route: string;
    stopLoss: { triggerPrice: string } | null;
    notionalUsd: string;
    expectedPrice: string;
    order: ServerOrder | null;
    fills?: PaperFillView[];
    exit?: ExitView;
    validateOnly?: boolean;
  }
  | Rejection
  | ErrorAnswer;

/** A refusal with the rule that fired. */
export interface Rejection {
  /** Discriminator. */
  decision: "rejected";
  /** `trading.mode`. */
  mode: string;
  /** The rule id (`stop_protects_position`, `exit_without_position`…). */
  rule: string;
  /** Why, in words. */
  message: string;
}

/** A failure that is no trading decision (bad input, network, server). */
export interface ErrorAnswer {
  /** Discriminator. */
  decision: "error";
  /** Why. */
  message: string;
  /** HTTP status, 0 when the request did not complete. */
  status: number;
}

/** The decision on a cancel or a cancel-all. */
export type CancelAnswer =
  | {
    decision: "accepted";
    mode: string;
    count: number;
    keptStops?: string[];
    uncovered?: Record<string, string>;
  }
  | Rejection
  | ErrorAnswer;

/** A paper position with its valuation (`/api/paper`). */
export interface PaperPositionView {
  /** Canonical pair id. */
  pair: string;
  /** Net quantity (base). */
  qty: string;
  /** Realised P&L (quote), gross of fees. */
  realizedPnl: string;
  /** Fees paid (quote). */
  fees: string;
  /** Cost of the open lots (quote). */
  costBasis: string;
  /** Mark price, or `null` without a book. */
  markPrice: string | null;
  /** Unrealised P&L (quote), or `null` without a mark. */
  unrealizedPnl: string | null;
  /** Realised P&L minus fees. */
  netRealizedPnl: string;
}

/** An open paper order (`/api/paper`). */
export interface PaperOrderView {
  /** Paper order id. */
  id: string;
  /** Canonical pair id. */
  pair: string;
  /** Side. */
  side: string;
  /** Type. */
  type: string;
  /** Volume (base). */
  volume: string;
  /** Limit or trigger price. */
  price: string | null;
  /** Filled (base). */
  filledQty: string;
  /** Status. */
  status: string;
  /** The entry that created this stop, if any. */
  parentId: string | null;
}

/** The paper account (`GET /api/paper`). */
export interface PaperAccount {
  /** Balances by asset (common codes). */
  balances: Record<string, string>;
  /** Positions that are open or have P&L. */
  positions: PaperPositionView[];
  /** Open paper orders. */
  openOrders: PaperOrderView[];
  /** Totals (quote currency). */
  pnl: { realized: string; unrealized: string; fees: string; net: string };
}

/** An order ticket as `POST /api/orders` takes it. */
export interface TicketBody {
  /** Pair id. */
  pair: string;
  /** Side. */
  side: "buy" | "sell";
  /** Type. */
  type: "market" | "limit";
  /** Base volume, decimal text. */
  volume: string;
  /** Limit price. */
  price?: string;
  /** Stop-loss trigger (entries). */
  stopLoss?: string;
  /** `entry` opens or adds (stop required); `exit` sells what is held. */
  intent: "entry" | "exit";
}

/** A close as `POST /api/orders/close` takes it. */
export type CloseBody =
  | { pair: string; all: true }
  | { pair: string; volume: string };

// deno-lint-ignore no-explicit-any -- JSON from the server, checked by the callers' switch
type Json = any;

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const init: RequestInit = { method, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers = { "content-type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let json: Json;
  try {
    json = await res.json();
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

function failure(status: number, json: Json, error?: unknown): ErrorAnswer {
  const message = error !== undefined
    ? `Not sent: ${error instanceof Error ? error.message : String(error)}`
    : typeof json?.error?.message === "string"
    ? json.error.message
    : `Unexpected answer (HTTP ${status})`;
  return { decision: "error", message, status };
}

async function decide<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T | ErrorAnswer> {
  try {
    const { status, json } = await call(method, path, body);
    if (json?.decision === "accepted" || json?.decision === "rejected") {
      return json as T;
    }
    return failure(status, json);
  } catch (error) {
    return failure(0, undefined, error);
  }
}

/**
 * Reads the trading set-up from `/api/config`.
 *
 * @returns The trading info, or {@linkcode READ_ONLY} when unknown.
 * @example Load
 * ```ts ignore
 * const trading = await loadTradingInfo();
 * if (trading.mode === "paper") showPaperAccount();
 * ```
 */
export async function loadTradingInfo(): Promise<TradingInfo> {
  try {
    const { json } = await call("GET", "/api/config");
    const t = json?.trading;
    if (t !== undefined && typeof t.mode === "string") {
      return {
        mode: t.mode,
        liveArmed: t.liveArmed === true,
        maxNotionalUsd: Number(t.maxNotionalUsd) || 0,
        stopLossMaxDistancePct: Number(t.stopLossMaxDistancePct) || 10,
      };
    }
  } catch {
    // Falls through: an unknown mode reads as read-only.
  }
  return READ_ONLY;
}

/**
 * Places an order (`POST /api/orders`).
 *
 * @param ticket The ticket.
 * @returns The decision.
 * @example Buy with a stop-loss
 * ```ts ignore
 * await placeOrder({ pair: "XBTUSD", side: "buy", type: "market",
 *   volume: "0.001", stopLoss: "59000", intent: "entry" });
 * ```
 */
export function placeOrder(ticket: TicketBody): Promise<OrderAnswer> {
  return decide("POST", "/api/orders", ticket);
}

/**
 * Sells what is held on a pair (`POST /api/orders/close`); the server moves
 * the covering stop in the same step.
 *
 * @param body The pair and `all: true`, or a volume.
 * @returns The decision with its `exit` summary.
 * @example Close all
 * ```ts ignore
 * await closePosition({ pair: "XBTUSD", all: true });
 * ```
 */
export function closePosition(body: CloseBody): Promise<OrderAnswer> {
  return decide("POST", "/api/orders/close", body);
}

/**
 * Cancels one order (`DELETE /api/orders/:id`). A protective stop is
 * refused with rule `stop_protects_position`.
 *
 * @param id Order id or tracking key.
 * @returns The decision.
 * @example Cancel
 * ```ts ignore
 * await cancelOrder("OAAAAA-AAAAA-AAAAAB");
 * ```
 */
export function cancelOrder(id: string): Promise<CancelAnswer> {
  return decide("DELETE", `/api/orders/${encodeURIComponent(id)}`);
}

/**
 * Cancels every open order (`POST /api/orders/cancel-all`).
 *
 * @param includeStops Cancel protective stops too (leaves holdings unprotected).
 * @returns The decision with the count, the stops kept and what is uncovered.
 * @example Keep stops
 * ```ts ignore
 * await cancelAllOrders(false);
 * ```
 */
export function cancelAllOrders(includeStops: boolean): Promise<CancelAnswer> {
  return decide("POST", "/api/orders/cancel-all", { includeStops });
}

/**
 * Reads the paper account (`GET /api/paper`); the server first re-matches
 * open paper orders (stops included) against fresh books.
 *
 * @returns The account, or the error.
 * @example Read
 * ```ts ignore
 * const paper = await loadPaperAccount();
 * if ("balances" in paper) show(paper);
 * ```
 */
export async function loadPaperAccount(): Promise<PaperAccount | ErrorAnswer> {
  try {
    const { status, json } = await call("GET", "/api/paper");
    if (
      status === 200 && json !== null && typeof json === "object" &&
      typeof json.balances === "object" && Array.isArray(json.positions) &&
      Array.isArray(json.openOrders)
    ) {
      return json as PaperAccount;
    }
    return failure(status, json);
  } catch (error) {
    return {
      decision: "error",
      message: error instanceof Error ? error.message : String(error),
      status: 0,
    };
  }
}
