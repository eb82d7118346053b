/**
 * Kraken Spot REST: the client, Kraken's error taxonomy, the rate-limit
 * model, the method allowlist, answer parsing and the wire types
 * (docs/kraken/REST.md).
 *
 * - {@linkcode RestClient}: public GET and signed private POST over an
 *   injected `fetch`, with timeouts, retries for reads only, and the
 *   limiter. Funding and withdrawal methods do not exist here.
 * - {@linkcode KrakenError}: every failure, with a `kind` to switch on and
 *   `retryable` derived from it; {@linkcode classifyKrakenError} maps
 *   Kraken's `E…` strings to kinds.
 * - {@linkcode RateLimiter}: queues calls until Kraken's REST and
 *   per-pair trading-engine counters allow them; the counter functions
 *   ({@linkcode charge}, {@linkcode decay}, {@linkcode waitMsFor}) are pure.
 * - Wire types: {@linkcode TickerInfo}, {@linkcode OrderInfo},
 *   {@linkcode AssetPairInfo} and the other results, decimals kept as exact
 *   text ({@linkcode DecimalString}).
 *
 * @example Server time through an injected fetch
 * ```ts
 * import { RestClient } from "./mod.ts";
 * const kraken = new RestClient({
 *   fetch: () =>
 *     Promise.resolve(Response.json({
 *       error: [],
 *       result: { unixtime: 1688669448, rfc1123: "Thu, 06 Jul 23 18:50:48 +0000" },
 *     })),
 * });
 * const { unixtime } = await kraken.time();
 * kraken.close();
 * ```
 *
 * @module
 */
export {
  type AssetPairsInfo,
  type CallOptions,
  type CallParams,
  type FetchLike,
  type HistoryBound,
  type ParamValue,
  type RestAnswer,
  RestClient,
  type RestClientOptions,
  type RestCredentials,
  type RetryOptions,
  type WebSocketsTokenGrant,
} from "./client.ts";
export {
  classifyKrakenError,
  isKrakenWarning,
  KrakenError,
  type KrakenErrorInfo,
  type KrakenErrorKind,
  type KrakenErrorOptions,
  LOCAL_CODES,
  type LocalCodes,
} from "./errors.ts";
export {
  charge,
  type Counter,
  type CounterLimits,
  type CounterName,
  decay,
  MAX_OPEN_ORDERS_PER_PAIR,
  newCounter,
  type Priority,
  PUBLIC_LIMITS,
  RateLimiter,
  RateLimiterClosedError,
  type RateLimiterOptions,
  REST_TIERS,
  type ScheduleRequest,
  type Tier,
  TRADING_TIERS,
  type TradingAction,
  tradingPenalty,
  waitMsFor,
  withinLimit,
} from "./ratelimit.ts";
export {
  type MethodSpec,
  PRIVATE_METHODS,
  type PrivateMethod,
  privateMethod,
  type PrivateReadMethod,
  PUBLIC_METHODS,
  type PublicMethod,
  publicMethod,
  type TradingMethod,
} from "./methods.ts";
export {
  type AnswerContext,
  parseAnswer,
  type ParsedAnswer,
  parseDepthResult,
  parseOhlcResult,
  parseSpreadResult,
  parseTradesResult,
} from "./parse.ts";
export type {
  AssetInfo,
  AssetPairInfo,
  ClosedOrdersResult,
  DepthBook,
  DepthLevel,
  DepthResult,
  ExtendedBalance,
  FeeSchedule,
  FeeTierInfo,
  KrakenEnvelope,
  LedgerEntry,
  LedgersResult,
  OhlcResult,
  OhlcRow,
  OpenOrdersResult,
  OrderDescription,
  OrderInfo,
  ServerTime,
  SpreadResult,
  SpreadRow,
  SystemStatus,
  TickerInfo,
  TradeBalance,
  TradeInfo,
  TradeRow,
  TradesHistoryResult,
  TradesResult,
  TradeVolume,
  WebSocketsToken,
} from "./types.ts";
export type { DecimalString } from "../decimal.ts";
