/**
 * The typed message protocol between the market-watch page and its module
 * worker. The page sends {@linkcode PageMessage}s (requests with an id, and
 * batch acknowledgements); the worker answers each request once with a
 * {@linkcode WorkerReply} and pushes at most one {@linkcode WorkerBatch} per
 * acknowledged frame. Failures travel as values ({@linkcode Result}); nothing
 * in this protocol is thrown across the boundary.
 *
 * Everything here is plain data (structured-clone safe) and has no runtime
 * dependency, so the page can import it without pulling in the worker.
 *
 * @module
 */

/** Bumped when a message shape changes incompatibly. */
export const PROTOCOL_VERSION = 3;

/** The chart timeframes the page offers (a subset of Kraken's). */
export type PageTimeframe = "1m" | "5m" | "15m" | "1h" | "4h" | "1d";

/** The timeframes of {@linkcode PageTimeframe}, shortest first. */
export const PAGE_TIMEFRAMES: readonly PageTimeframe[] = Object.freeze([
  "1m",
  "5m",
  "15m",
  "1h",
  "4h",
  "1d",
]);

/** Book depths the page offers. */
export type LadderDepth = 10 | 25;

/** Why a request failed. */
export type WorkerErrorKind =
  | "bad_request"
  | "network"
  | "http"
  | "unknown_pair"
  | "not_ready"
  | "no_credentials"
  | "storage"
  | "upstream_unreachable"
  | "internal";

/** A failure, as a value. */
export interface WorkerError {
  /** What kind of failure. */
  kind: WorkerErrorKind;
  /** A sentence for people. */
  message: string;
  /** HTTP status, when an HTTP answer caused it. */
  status?: number;
  /** The server's stable error code, when it sent one. */
  code?: string;
  /**
   * The server's configuration, when it was read before the failure (an
   * `init` that reached the server but not Kraken), so the page can still
   * say which mode it runs in.
   */
  config?: ConfigView;
}

/** Success or failure, as a value. */
export type Result<T> =
  | { ok: true; value: T }
  | { ok: false; error: WorkerError };

/** One pair of the universe. */
export interface PairView {
  /** Canonical id (Kraken altname, `XBTUSD`). */
  id: string;
  /** WS v2 symbol (`BTC/USD`), also shown to people. */
  symbol: string;
  /** Base asset, common code. */
  base: string;
  /** Quote asset, common code. */
  quote: string;
  /** Price decimals. */
  priceDecimals: number;
  /** Volume decimals. */
  volumeDecimals: number;
}

/** Server configuration as the page needs it. */
export interface ConfigView {
  /** `live` or `sim`. */
  mode: "live" | "sim";
  /** Whether the data is simulated. */
  simulated: boolean;
  /** Server version. */
  version: string;
  /** Data older than this is stale. */
  staleToleranceSec: number;
  /** Timeframes the server allows. */
  timeframes: string[];
  /** Quote currency of the universe. */
  quote: string;
  /** Whether the server holds credentials (balances and orders). */
  privateData: boolean;
  /** Trading mode of the server (read-only here). */
  tradingMode: string;
}

/** Where candles are cached. */
export interface StorageView {
  /** `indexeddb`, or `memory` after a storage failure (or without IndexedDB). */
  kind: "indexeddb" | "memory";
  /** Why it is memory, when it degraded. */
  reason?: string;
}

/** Result of `init`. */
export interface InitInfo {
  /** Protocol version of the worker. */
  protocol: number;
  /** Server configuration. */
  config: ConfigView;
  /** The universe, sorted by symbol. */
  pairs: PairView[];
  /** Candle cache state. */
  storage: StorageView;
}

/** One candle as drawn: numbers, open time in Unix seconds. */
export interface CandleView {
  /** Open time, Unix seconds. */
  timeSec: number;
  /** Open price. */
  open: number;
  /** High price. */
  high: number;
  /** Low price. */
  low: number;
  /** Close price. */
  close: number;
  /** Base volume. */
  volume: number;
}

/** Where a history answer came from. */
export type HistorySource = "cache" | "network";

/** Result of `select` for a pair: the cached history, at once. */
export interface SelectInfo {
  /** The selected pair's id, or `null` when nothing is selected. */
  pair: string | null;
  /** Timeframe of the history. */
  timeframe: PageTimeframe;
  /** Cached closed candles, oldest first (may be empty). */
  candles: CandleView[];
  /** `cache` when these came from the candle cache. */
  source: HistorySource;
}

/** A balance line. */
export interface BalanceView {
  /** Asset, common code. */
  asset: string;
  /** Total balance, exact text. */
  balance: string;
  /** Held for open orders, exact text. */
  hold: string;
}

/** An open order. */
export interface OrderView {
  /** Order id. */
  id: string;
  /** Pair as Kraken describes it. */
  pair: string;
  /** `buy` or `sell`. */
  side: string;
  /** Order type. */
  orderType: string;
  /** Limit price (or `0`). */
  price: string;
  /** Volume. */
  volume: string;
  /** Executed volume. */
  filled: string;
  /** Status. */
  status: string;
  /** Open time, Unix seconds. */
  openedAtSec: number;
}

/** Result of `account`. */
export interface AccountInfo {
  /** Balances with a non-zero total. */
  balances: BalanceView[];
  /** Open orders, newest first. */
  openOrders: OrderView[];
}

/**
 * State of the account feed (the server's `/api/private/events` stream):
 * `connecting` before the first snapshot, `live` while it streams,
 * `reconnecting` after a drop (the browser retries), `closed` when the
 * server refused the stream (REST answers are shown meanwhile).
 */
export type AccountStreamState =
  | "connecting"
  | "live"
  | "reconnecting"
  | "closed";

/** The account as the stream keeps it, pushed in batches. */
export interface AccountUpdate {
  /** Balances and open orders now. */
  account: AccountInfo;
  /** Whether both channels delivered their snapshot (or REST answered). */
  ready: boolean;
  /** The feed's state. */
  stream: AccountStreamState;
  /**
   * REST reads behind the account so far: the server's resyncs (after a
   * sequence gap or a reconnect of its private stream) and the worker's
   * own reads while the server refuses the stream.
   */
  restRefreshes: number;
  /** Sequence gaps the server's private stream saw (and resynced). */
  gaps: number;
}

/** Parameters of the `watch` request. */
export interface WatchParams {
  /** Pairs the person pinned (ids or WS v2 symbols). */
  pinned: string[];
  /** Scout every online pair in any quote, not only the server's quote. */
  allQuotes: boolean;
}

/** Result of `watch`. */
export interface WatchInfo {
  /** The scouted pairs (the table's rows), sorted by symbol. */
  pairs: PairView[];
  /** Whether the scope is every quote. */
  allQuotes: boolean;
}

/** How the two-tier watch stands (part of {@linkcode StatusView}). */
export interface WatchStatus {
  /** Pairs holding a ticker (scouts). */
  scouted: number;
  /** Pairs that did not fit in the socket budget (no ticker). */
  unscouted: number;
  /** Focused pairs (book, trades, candles), strongest first. */
  focus: string[];
  /** Public sockets in use. */
  connections: number;
  /** Subscription entries (channel × symbol) per socket, socket 0 first. */
  perConnection: number[];
  /** Subscription entries in all. */
  subscriptions: number;
}

/** What each request method takes and returns. */
export interface RequestMap {
  /** Read config and universe, start the stream. */
  init: { params: Record<string, never>; result: InitInfo };
  /**
   * Set what the watch covers: every pair of the scope is scouted (ticker);
   * `pinned` pairs join the focus (book, trades, candles) alongside the
   * detail pair and pairs with positions or open orders. `allQuotes`
   * widens the scope from the server's quote to every online pair.
   */
  watch: { params: WatchParams; result: WatchInfo };
  /** Select (or clear) the detail pair: book, trades, candles. */
  select: {
    params: {
      pair: string | null;
      timeframe: PageTimeframe;
      depth: LadderDepth;
      /** Most candles wanted on the chart. */
      limit?: number;
    };
    result: SelectInfo;
  };
  /** Read balances and open orders (needs server credentials). */
  account: { params: Record<string, never>; result: AccountInfo };
  /**
   * Follow the account through the server's event stream; updates come in
   * batches (`account`). Idempotent.
   */
  watchAccount: {
    params: Record<string, never>;
    result: { streaming: boolean };
  };
}

/** Names of the request methods. */
export type RequestMethod = keyof RequestMap;

/** A request from the page. */
export type PageRequest = {
  [K in RequestMethod]: {
    kind: "request";
    id: number;
    method: K;
    params: RequestMap[K]["params"];
  };
}[RequestMethod];

/** The page applied batch `seq` and can take the next one. */
export interface BatchAck {
  /** Discriminator. */
  kind: "ack";
  /** The applied batch. */
  seq: number;
}

/** Anything the page sends. */
export type PageMessage = PageRequest | BatchAck;

/** The answer to one request. */
export type WorkerReply = {
  [K in RequestMethod]: {
    kind: "reply";
    id: number;
    method: K;
    result: Result<RequestMap[K]["result"]>;
  };
}[RequestMethod];

/** One ticker row. Numbers are for display; `undefined` means not sent. */
export interface TickerView {
  /** WS v2 symbol. */
  symbol: string;
  /** Last trade price. */
  last?: number;
  /** Last price as exact text, for display at the pair's precision. */
  lastText?: string;
  /**
   * 24 h change in percent: last price against the price 24 hours ago
   * (Kraken's WS v2 ticker `change_pct`), shown as "24h %".
   */
  changePct?: number;
  /** 24 h volume in the quote currency (volume × VWAP). */
  volumeQuote?: number;
  /** Best bid. */
  bid?: number;
  /** Best ask. */
  ask?: number;
  /** When the worker received it (ms since the epoch). */
  updatedAtMs: number;
}

/** One book level. */
export interface LevelView {
  /** Price, exact text. */
  price: string;
  /** Quantity, exact text. */
  qty: string;
}

/** The selected pair's book. */
export interface BookView {
  /** WS v2 symbol. */
  symbol: string;
  /** Subscribed depth. */
  depth: LadderDepth;
  /** `ok` (checksum verified), `resyncing` or `empty`. */
  integrity: "ok" | "resyncing" | "empty";
  /** Checksum mismatches seen for this symbol. */
  checksumFailures: number;
  /** Bids, best first (empty unless `ok`). */
  bids: LevelView[];
  /** Asks, best first (empty unless `ok`). */
  asks: LevelView[];
  /** When it last changed (ms). */
  updatedAtMs: number;
}

/** One trade of the tape. */
export interface TradeView {
  /** WS v2 symbol. */
  symbol: string;
  /** Taker side. */
  side: "buy" | "sell";
  /** Price, exact text. */
  price: string;
  /** Quantity, exact text. */
  qty: string;
  /** Trade time, ms since the epoch. */
  timeMs: number;
  /** Trade id, when sent. */
  tradeId?: number;
}

/** New history for a series; replaces what the page drew for it. */
export interface HistoryChunk {
  /** Pair id. */
  pair: string;
  /** Timeframe. */
  timeframe: PageTimeframe;
  /** Closed candles, oldest first. */
  candles: CandleView[];
  /** Where they came from. */
  source: HistorySource;
}

/** The forming candle of the selected series. */
export interface LiveCandleView {
  /** Pair id. */
  pair: string;
  /** Timeframe. */
  timeframe: PageTimeframe;
  /** The candle. */
  candle: CandleView;
}

/**
 * Backfill progress of the selected series. One fill per selection: it
 * starts with `ohlc` (0 of 0: nothing known yet), may page `trades` for
 * older history, and always ends with `done` or `failed`.
 */
export interface ProgressView {
  /** Pair id. */
  pair: string;
  /** Timeframe. */
  timeframe: PageTimeframe;
  /** `ohlc` or `trades` while running, `done` or `failed` at the end. */
  phase: "ohlc" | "trades" | "done" | "failed";
  /**
   * What `done` and `total` count: candle `intervals` (the `OHLC` phase) or
   * `Trades` `pages` (the older-history phase: `done` pages fetched of at
   * most `total`; the phase may end early when it reaches the range).
   */
  unit: "intervals" | "pages";
  /** Units covered. */
  done: number;
  /** Units wanted (an estimate or a budget; 0 when not known yet). */
  total: number;
  /** Failure text when `failed`. */
  error?: string;
}

/** Connection and data status. */
export interface StatusView {
  /** `live` or `sim`. */
  mode: "live" | "sim";
  /** WebSocket phase: idle, connecting, open, waiting (to reconnect), closed. */
  wsState: string;
  /** Sockets opened after the first. */
  reconnects: number;
  /** Consecutive failed attempts. */
  attempt: number;
  /** Last heartbeat frame (ms), if any. */
  lastHeartbeatAtMs?: number;
  /** Last frame of any kind (ms), if any. */
  lastFrameAtMs?: number;
  /** Exchange status (`online`, `maintenance`, …), if known. */
  system?: string;
  /** Whether the server reaches Kraken REST (`null`: not known yet). */
  restReachable: boolean | null;
  /** The last REST error code, if any. */
  restError?: string;
  /** Checksum failures over all books. */
  checksumFailures: number;
  /** Malformed frames dropped. */
  malformedFrames: number;
  /** Ticker symbols whose subscription failed, with the error. */
  failedSymbols: Record<string, string>;
  /** Candle cache state. */
  storage: StorageView;
  /** The two-tier watch: scouts, focus, sockets. */
  watch?: WatchStatus;
}

/** Something the page should say once. */
export interface Notice {
  /** `info`, `warning` or `error`. */
  level: "info" | "warning" | "error";
  /** Stable code, e.g. `storage_degraded`. */
  code: string;
  /** A sentence for people. */
  message: string;
}

/** Everything that changed since the previous batch. */
export interface WorkerBatch {
  /** Discriminator. */
  kind: "batch";
  /** Increasing batch number; acknowledge it with {@linkcode BatchAck}. */
  seq: number;
  /** Latest ticker per symbol that changed. */
  tickers: TickerView[];
  /** Latest book of the selected pair, if it changed. */
  book?: BookView;
  /** New trades, oldest first (capped). */
  trades: TradeView[];
  /** History replacements, in order. */
  history: HistoryChunk[];
  /** Latest forming candle, if it changed. */
  liveCandle?: LiveCandleView;
  /** Latest backfill progress, if it changed. */
  progress?: ProgressView;
  /** Latest status, if it changed. */
  status?: StatusView;
  /** Latest account state, if it changed. */
  account?: AccountUpdate;
  /** Notices, in order. */
  notices: Notice[];
}

/** Anything the worker sends. */
export type WorkerMessage = WorkerReply | WorkerBatch;

const METHODS: readonly RequestMethod[] = [
  "init",
  "watch",
  "select",
  "account",
  "watchAccount",
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Check a message from the page. Pure; never throws.
 *
 * @param value What arrived on the worker's `message` event.
 * @returns The message, or an error value saying what is wrong (with the
 *   request id when one could be read, so the worker can still answer).
 * @example Parse an ack
 * ```ts
 * import { parsePageMessage } from "./protocol.ts";
 * parsePageMessage({ kind: "ack", seq: 3 }); // { ok: true, value: { kind: "ack", seq: 3 } }
 * ```
 */
export function parsePageMessage(
  value: unknown,
): { ok: true; value: PageMessage } | {
  ok: false;
  error: WorkerError;
  id?: number;
  method?: RequestMethod;
} {
  const bad = (message: string, id?: number, method?: RequestMethod) => ({
    ok: false as const,
    error: { kind: "bad_request" as const, message },
    ...(id === undefined ? {} : { id }),
    ...(method === undefined ? {} : { method }),
  });
  if (!isRecord(value)) return bad("Cannot read message: not an object");
  if (value.kind === "ack") {
    return Number.isSafeInteger(value.seq)
      ? { ok: true, value: { kind: "ack", seq: value.seq as number } }
      : bad(`Cannot read ack: seq is ${JSON.stringify(value.seq)}`);
  }
  if (value.kind !== "request") {
    return bad(`Cannot read message: kind is ${JSON.stringify(value.kind)}`);
  }
  const id = Number.isSafeInteger(value.id) ? value.id as number : undefined;
  if (id === undefined) {
    return bad(`Cannot read request: id is ${JSON.stringify(value.id)}`);
  }
  const method = METHODS.find((m) => m === value.method);
  if (method === undefined) {
    return bad(
      `Cannot read request ${id}: unknown method ${
        JSON.stringify(value.method)
      }`,
      id,
    );
  }
  const params = value.params;
  if (!isRecord(params)) {
    return bad(
      `Cannot read request ${id}: params is not an object`,
      id,
      method,
    );
  }
  switch (method) {
    case "init":
    case "account":
    case "watchAccount":
      return { ok: true, value: { kind: "request", id, method, params: {} } };
    case "watch": {
      const pinned = params.pinned;
      const allQuotes = params.allQuotes ?? false;
      if (
        !Array.isArray(pinned) || pinned.length > 500 ||
        !pinned.every((s) => typeof s === "string" && s.length <= 40)
      ) {
        return bad(
          `Cannot read watch ${id}: pinned must be a list of at most 500 names`,
          id,
          method,
        );
      }
      if (typeof allQuotes !== "boolean") {
        return bad(
          `Cannot read watch ${id}: allQuotes must be true or false`,
          id,
          method,
        );
      }
      return {
        ok: true,
        value: {
          kind: "request",
          id,
          method,
          params: { pinned: pinned as string[], allQuotes },
        },
      };
    }
    case "select": {
      const pair = params.pair;
      const timeframe = PAGE_TIMEFRAMES.find((t) => t === params.timeframe);
      const depth = params.depth === 10 || params.depth === 25
        ? params.depth
        : undefined;
      const limit = params.limit;
      if (pair !== null && (typeof pair !== "string" || pair.length > 40)) {
        return bad(`Cannot read select ${id}: pair is not a name`, id, method);
      }
      if (timeframe === undefined) {
        return bad(
          `Cannot read select ${id}: timeframe ${
            JSON.stringify(params.timeframe)
          } is not one of ${PAGE_TIMEFRAMES.join(", ")}`,
          id,
          method,
        );
      }
      if (depth === undefined) {
        return bad(
          `Cannot read select ${id}: depth must be 10 or 25, got ${
            JSON.stringify(params.depth)
          }`,
          id,
          method,
        );
      }
      if (
        limit !== undefined &&
        (!Number.isSafeInteger(limit) || (limit as number) < 1 ||
          (limit as number) > 10_000)
      ) {
        return bad(
          `Cannot read select ${id}: limit must be 1 to 10000`,
          id,
          method,
        );
      }
      return {
        ok: true,
        value: {
          kind: "request",
          id,
          method,
          params: {
            pair: pair as string | null,
            timeframe,
            depth,
            ...(limit === undefined ? {} : { limit: limit as number }),
          },
        },
      };
    }
  }
}

/**
 * Check a message from the worker (the page's side). Pure; never throws.
 *
 * @param value What arrived on the page's `message` event.
 * @returns The message, or `undefined` when it is not a worker message.
 * @example Recognise a batch
 * ```ts
 * import { parseWorkerMessage } from "./protocol.ts";
 * parseWorkerMessage({ kind: "batch", seq: 1, tickers: [], trades: [], history: [], notices: [] })?.kind; // "batch"
 * ```
 */
export function parseWorkerMessage(value: unknown): WorkerMessage | undefined {
  if (!isRecord(value)) return undefined;
  if (value.kind === "reply") {
    if (!Number.isSafeInteger(value.id) || !isRecord(value.result)) {
      return undefined;
    }
    return value as unknown as WorkerReply;
  }
  if (value.kind === "batch") {
    if (
      !Number.isSafeInteger(value.seq) || !Array.isArray(value.tickers) ||
      !Array.isArray(value.trades) || !Array.isArray(value.history) ||
      !Array.isArray(value.notices)
    ) {
      return undefined;
    }
    return value as unknown as WorkerBatch;
  }
  return undefined;
}

/**
 * Build an error value.
 *
 * @param kind What kind of failure.
 * @param message A sentence for people.
 * @param extra HTTP status and server code, when known.
 * @returns The error value.
 * @example A network failure
 * ```ts
 * import { workerError } from "./protocol.ts";
 * workerError("network", "Cannot reach the server");
 * ```
 */
export function workerError(
  kind: WorkerErrorKind,
  message: string,
  extra: { status?: number; code?: string } = {},
): WorkerError {
  return {
    kind,
    message,
    ...(extra.status === undefined ? {} : { status: extra.status }),
    ...(extra.code === undefined ? {} : { code: extra.code }),
  };
}
