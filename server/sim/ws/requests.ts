/**
 * Pure request handling for the simulator's WebSocket v2 endpoints: parse a
 * client frame, validate it against the pair list and the connection's
 * subscriptions, and decide the answers (WS_V2.md §2.1–§2.8, §3, §4.1–§4.2).
 *
 * {@linkcode decideRequest} returns actions; the connection layer
 * (`server.ts`) sends the frames, records the subscriptions and then sends the
 * snapshots. Kraken answers one ack (or reject) per symbol, so a subscribe
 * for three symbols yields three actions.
 *
 * Error strings: `Currency pair not supported <SYMBOL>` (top-level
 * `symbol`), `Subscription name invalid`, `Already subscribed`,
 * `Subscription Not Found`, `Subscription depth not supported`,
 * `Subscription ohlc interval not supported` and `EAPI:Invalid token` are
 * the ones WS_V2.md §2.7/§9 lists. Ours, where no Kraken text is known:
 * `EGeneral:Invalid arguments` (not a JSON object, bad field types),
 * `Method not supported` (unknown method), `Private data and trading are
 * unavailable in this endpoint` (private channel on the public endpoint).
 *
 * @module
 */

import { OHLC_INTERVALS } from "../exchange/market.ts";
import { resolvePair, type SimPair } from "../exchange/pairs.ts";
import {
  errorFrame,
  pongFrame,
  successFrame,
  type WireObject,
  type WsTiming,
} from "./wire.ts";

/** Book depths Kraken accepts (WS_V2.md §3.2). */
export const BOOK_DEPTHS: readonly number[] = Object.freeze([
  10,
  25,
  100,
  500,
  1000,
]);

/** Error strings sent to clients (names → wire text). */
export const WS_ERRORS: Readonly<{
  pairNotSupported: string;
  nameInvalid: string;
  alreadySubscribed: string;
  notFound: string;
  depthNotSupported: string;
  intervalNotSupported: string;
  invalidToken: string;
  invalidArguments: string;
  methodNotSupported: string;
  privateOnPublic: string;
  publicOnPrivate: string;
}> = Object.freeze({
  pairNotSupported: "Currency pair not supported",
  nameInvalid: "Subscription name invalid",
  alreadySubscribed: "Already subscribed",
  notFound: "Subscription Not Found",
  depthNotSupported: "Subscription depth not supported",
  intervalNotSupported: "Subscription ohlc interval not supported",
  invalidToken: "EAPI:Invalid token",
  invalidArguments: "EGeneral:Invalid arguments",
  methodNotSupported: "Method not supported",
  privateOnPublic: "Private data and trading are unavailable in this endpoint",
  // Issue 15's live capture of ws-auth.kraken.com/v2 (not in the v2 docs).
  publicOnPrivate:
    "Public market data subscriptions are unavailable on this endpoint",
});

/** One live subscription of a connection. */
export type WsSubscription =
  | {
    readonly channel: "ticker";
    readonly pair: SimPair;
    readonly eventTrigger: "trades" | "bbo";
    readonly snapshot: boolean;
  }
  | {
    readonly channel: "book";
    readonly pair: SimPair;
    readonly depth: number;
    readonly snapshot: boolean;
  }
  | {
    readonly channel: "trade";
    readonly pair: SimPair;
    readonly snapshot: boolean;
  }
  | {
    readonly channel: "ohlc";
    readonly pair: SimPair;
    readonly intervalMin: number;
    readonly snapshot: boolean;
  }
  | { readonly channel: "instrument"; readonly snapshot: boolean }
  | {
    readonly channel: "executions";
    readonly token: string;
    readonly snapOrders: boolean;
    readonly snapTrades: boolean;
  }
  | {
    readonly channel: "balances";
    readonly token: string;
    readonly snapshot: boolean;
  };

/** Channel names a client can subscribe to. */
export type WsChannelName = WsSubscription["channel"];

/**
 * The identity of a subscription on one connection (WS_V2.md §2.8): one book
 * depth and one ticker per symbol, ohlc per (symbol, interval).
 *
 * @param subscription The subscription.
 * @returns A key such as `book|BTC/USD` or `ohlc|BTC/USD|5`.
 * @example Key
 * ```ts
 * import { resolvePair } from "../exchange/pairs.ts";
 * import { subscriptionKey } from "./requests.ts";
 * subscriptionKey({ channel: "ohlc", pair: resolvePair("BTC/USD")!, intervalMin: 5, snapshot: true });
 * // "ohlc|BTC/USD|5"
 * ```
 */
export function subscriptionKey(subscription: WsSubscription): string {
  switch (subscription.channel) {
    case "ohlc":
      return `ohlc|${subscription.pair.symbol}|${subscription.intervalMin}`;
    case "ticker":
    case "book":
    case "trade":
      return `${subscription.channel}|${subscription.pair.symbol}`;
    case "instrument":
    case "executions":
    case "balances":
      return subscription.channel;
  }
}

/** What the connection layer must do for one request. */
export type WsAction =
  /** Send this frame (pong, reject). */
  | { readonly kind: "send"; readonly frame: string }
  /** Send the ack, record the subscription, then send its snapshot. */
  | {
    readonly kind: "subscribe";
    readonly subscription: WsSubscription;
    readonly ack: string;
  }
  /** Send the ack and drop the subscription with this key. */
  | { readonly kind: "unsubscribe"; readonly key: string; readonly ack: string }
  /** A method this module does not handle (trading): the caller decides. */
  | {
    readonly kind: "method";
    readonly method: string;
    readonly params: Readonly<Record<string, unknown>>;
    readonly reqId: number | undefined;
  };

/** What {@linkcode decideRequest} needs to know about the connection. */
export interface WsRequestContext {
  /** `public` (`/v2`) or `private` (`/auth/v2`). */
  readonly endpoint: "public" | "private";
  /** The connection's live subscriptions by {@linkcode subscriptionKey}. */
  readonly subscribed: ReadonlyMap<string, WsSubscription>;
  /** Receive time of the frame, ms. */
  readonly nowMs: number;
  /** Whether a token is acceptable now (only asked for private requests). */
  readonly checkToken: (token: string) => boolean;
  /**
   * Resolve a symbol in the simulator's catalogue (default: the standard
   * catalogue; pass `market.pair` when it has synthetic pairs).
   */
  readonly resolvePair?: (name: string) => SimPair | undefined;
}

/** Fields of a parsed request. */
interface Request {
  method: string;
  params: Record<string, unknown>;
  reqId: number | undefined;
}

function parseRequest(
  text: string,
): Request | { error: string; method?: string; reqId?: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: WS_ERRORS.invalidArguments };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: WS_ERRORS.invalidArguments };
  }
  const record = value as Record<string, unknown>;
  const reqId = Number.isSafeInteger(record.req_id)
    ? record.req_id as number
    : undefined;
  const method = typeof record.method === "string" ? record.method : undefined;
  if (method === undefined) {
    return {
      error: WS_ERRORS.invalidArguments,
      ...(reqId !== undefined ? { reqId } : {}),
    };
  }
  const params = record.params ?? {};
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    return {
      error: WS_ERRORS.invalidArguments,
      method,
      ...(reqId !== undefined ? { reqId } : {}),
    };
  }
  return { method, params: params as Record<string, unknown>, reqId };
}

/**
 * Decide the answers to one client frame. Pure: the time comes in the
 * context, and nothing is sent or recorded here.
 *
 * @param text The frame text.
 * @param context Endpoint, current subscriptions, time and token check.
 * @returns The actions, in the order their frames must be sent.
 * @example Ping
 * ```ts
 * import { decideRequest } from "./requests.ts";
 * decideRequest('{"method":"ping","req_id":1}', {
 *   endpoint: "public", subscribed: new Map(), nowMs: 0, checkToken: () => false,
 * }); // [{ kind: "send", frame: '{"method":"pong","req_id":1,...}' }]
 * ```
 */
export function decideRequest(
  text: string,
  context: WsRequestContext,
): WsAction[] {
  const timing = (reqId: number | undefined): WsTiming => ({
    reqId,
    timeInMs: context.nowMs,
    timeOutMs: context.nowMs,
  });
  const request = parseRequest(text);
  if ("error" in request) {
    return [{
      kind: "send",
      frame: errorFrame(request.method ?? "error", {
        error: request.error,
        ...timing(request.reqId),
      }),
    }];
  }
  const { method, params, reqId } = request;
  switch (method) {
    case "ping":
      return [{ kind: "send", frame: pongFrame(timing(reqId)) }];
    case "subscribe":
    case "unsubscribe":
      return decideSubscription(method, params, { ...context, reqId });
    default:
      if (context.endpoint === "private") {
        return [{ kind: "method", method, params, reqId }];
      }
      return [{
        kind: "send",
        frame: errorFrame(method, {
          error: WS_ERRORS.methodNotSupported,
          ...timing(reqId),
        }),
      }];
  }
}

type SubscriptionContext = WsRequestContext & { reqId: number | undefined };

const PUBLIC_CHANNELS = new Set([
  "ticker",
  "book",
  "trade",
  "ohlc",
  "instrument",
]);
const PRIVATE_CHANNELS = new Set(["executions", "balances"]);

function optionalBoolean(
  value: unknown,
  fallback: boolean,
): boolean | undefined {
  if (value === undefined) return fallback;
  return typeof value === "boolean" ? value : undefined;
}

function decideSubscription(
  method: "subscribe" | "unsubscribe",
  params: Record<string, unknown>,
  context: SubscriptionContext,
): WsAction[] {
  const time = {
    reqId: context.reqId,
    timeInMs: context.nowMs,
    timeOutMs: context.nowMs,
  };
  const reject = (error: string, symbol?: string): WsAction => ({
    kind: "send",
    frame: errorFrame(method, { error, symbol, ...time }),
  });
  const channel = params.channel;
  if (
    typeof channel !== "string" ||
    (!PUBLIC_CHANNELS.has(channel) && !PRIVATE_CHANNELS.has(channel))
  ) {
    return [reject(WS_ERRORS.nameInvalid)];
  }
  if (PRIVATE_CHANNELS.has(channel)) {
    return decidePrivate(
      method,
      channel as "executions" | "balances",
      params,
      context,
    );
  }
  if (context.endpoint === "private" && method === "subscribe") {
    return [reject(WS_ERRORS.publicOnPrivate)];
  }
  const snapshot = optionalBoolean(params.snapshot, channel !== "trade");
  if (snapshot === undefined) return [reject(WS_ERRORS.invalidArguments)];
  if (channel === "instrument") {
    const subscription: WsSubscription = { channel: "instrument", snapshot };
    return [
      answer(
        method,
        subscription,
        { channel: "instrument", snapshot },
        context,
      ),
    ];
  }

  // Per-channel options, validated once for all symbols.
  let depth = 10;
  let intervalMin = 0;
  let eventTrigger: "trades" | "bbo" = "trades";
  if (channel === "book") {
    if (params.depth !== undefined) {
      if (
        typeof params.depth !== "number" || !BOOK_DEPTHS.includes(params.depth)
      ) {
        return [reject(WS_ERRORS.depthNotSupported)];
      }
      depth = params.depth;
    }
  } else if (channel === "ohlc") {
    if (
      typeof params.interval !== "number" ||
      !OHLC_INTERVALS.includes(params.interval)
    ) {
      return [reject(WS_ERRORS.intervalNotSupported)];
    }
    intervalMin = params.interval;
  } else if (channel === "ticker" && params.event_trigger !== undefined) {
    if (params.event_trigger !== "trades" && params.event_trigger !== "bbo") {
      return [reject(WS_ERRORS.invalidArguments)];
    }
    eventTrigger = params.event_trigger;
  }
  const symbols = params.symbol;
  if (
    !Array.isArray(symbols) || symbols.length === 0 ||
    !symbols.every((s): s is string => typeof s === "string")
  ) {
    return [reject(WS_ERRORS.invalidArguments)];
  }

  const actions: WsAction[] = [];
  const seen = new Set<string>();
  for (const symbol of symbols) {
    // v2 symbols only: REST keys, altnames and v1 wsnames (`XBT/USD`) are refused.
    const pair = (context.resolvePair ?? resolvePair)(symbol);
    if (!pair || pair.symbol !== symbol.toUpperCase()) {
      actions.push(reject(`${WS_ERRORS.pairNotSupported} ${symbol}`, symbol));
      continue;
    }
    let subscription: WsSubscription;
    let result: WireObject;
    switch (channel) {
      case "book":
        subscription = { channel, pair, depth, snapshot };
        result = method === "subscribe"
          ? { channel, symbol: pair.symbol, depth, snapshot }
          : { channel, symbol: pair.symbol, depth };
        break;
      case "ohlc":
        subscription = { channel, pair, intervalMin, snapshot };
        result = method === "subscribe"
          ? { channel, symbol: pair.symbol, interval: intervalMin, snapshot }
          : { channel, symbol: pair.symbol, interval: intervalMin };
        break;
      case "ticker":
        subscription = { channel, pair, eventTrigger, snapshot };
        result = method === "subscribe"
          ? {
            channel,
            symbol: pair.symbol,
            event_trigger: eventTrigger,
            snapshot,
          }
          : { channel, symbol: pair.symbol, event_trigger: eventTrigger };
        break;
      default:
        subscription = { channel: "trade", pair, snapshot };
        result = method === "subscribe"
          ? { channel, symbol: pair.symbol, snapshot }
          : { channel, symbol: pair.symbol };
    }
    const key = subscriptionKey(subscription);
    if (seen.has(key)) continue; // the same symbol twice in one request: one answer
    seen.add(key);
    actions.push(answer(method, subscription, result, context, pair.symbol));
  }
  return actions;
}

function answer(
  method: "subscribe" | "unsubscribe",
  subscription: WsSubscription,
  result: WireObject,
  context: SubscriptionContext,
  symbol?: string,
): WsAction {
  const time = {
    reqId: context.reqId,
    timeInMs: context.nowMs,
    timeOutMs: context.nowMs,
  };
  const key = subscriptionKey(subscription);
  const existing = context.subscribed.get(key);
  let live = existing !== undefined;
  if (method === "subscribe") {
    if (live) {
      return {
        kind: "send",
        frame: errorFrame(method, {
          error: WS_ERRORS.alreadySubscribed,
          symbol,
          ...time,
        }),
      };
    }
    return {
      kind: "subscribe",
      subscription,
      ack: successFrame(method, { result, ...time }),
    };
  }
  // Unsubscribe must repeat the book depth (WS_V2.md §2.8).
  if (existing?.channel === "book" && subscription.channel === "book") {
    live = existing.depth === subscription.depth;
  }
  if (!live) {
    return {
      kind: "send",
      frame: errorFrame(method, { error: WS_ERRORS.notFound, ...time }),
    };
  }
  return {
    kind: "unsubscribe",
    key,
    ack: successFrame(method, { result, ...time }),
  };
}

function decidePrivate(
  method: "subscribe" | "unsubscribe",
  channel: "executions" | "balances",
  params: Record<string, unknown>,
  context: SubscriptionContext,
): WsAction[] {
  const time = {
    reqId: context.reqId,
    timeInMs: context.nowMs,
    timeOutMs: context.nowMs,
  };
  const reject = (
    error: string,
  ): WsAction[] => [{
    kind: "send",
    frame: errorFrame(method, { error, ...time }),
  }];
  if (context.endpoint !== "private") return reject(WS_ERRORS.privateOnPublic);
  const token = params.token;
  if (typeof token !== "string" || token === "" || !context.checkToken(token)) {
    return reject(WS_ERRORS.invalidToken);
  }
  if (channel === "balances") {
    const snapshot = optionalBoolean(params.snapshot, true);
    if (snapshot === undefined) return reject(WS_ERRORS.invalidArguments);
    const result: WireObject = method === "subscribe"
      ? { channel, snapshot }
      : { channel };
    return [answer(method, { channel, token, snapshot }, result, context)];
  }
  const snapOrders = optionalBoolean(params.snap_orders, true);
  const snapTrades = optionalBoolean(params.snap_trades, false);
  if (snapOrders === undefined || snapTrades === undefined) {
    return reject(WS_ERRORS.invalidArguments);
  }
  const result: WireObject = method === "subscribe"
    ? {
      channel,
      snap_orders: snapOrders,
      snap_trades: snapTrades,
      maxratecount: 180,
    }
    : { channel };
  return [
    answer(method, { channel, token, snapOrders, snapTrades }, result, context),
  ];
}
