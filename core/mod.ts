/**
 * Krakked core: the runtime-neutral Kraken Spot library. Only Web APIs are
 * used; clock, fetch, WebSocket, timers and storage are injected.
 *
 * This entry point is the library's surface: the clients, their options,
 * the errors to catch and the wire types they return. The pure building
 * blocks behind them (rate-limit counters, gates, the lifecycle machine,
 * encoders, candle maths) are in the area modules:
 * `@krakked/core/auth/mod`, `…/secrets/mod`, `…/rest/mod`, `…/market/mod`,
 * `…/ws/mod` and `…/trade/mod`.
 *
 * - REST: {@linkcode RestClient}, {@linkcode KrakenError} (switch on
 *   `kind`), {@linkcode RateLimiter}; results such as {@linkcode TickerInfo}
 *   and {@linkcode OrderInfo} keep decimals as exact text.
 * - WebSocket v2: {@linkcode WsConnection}, {@linkcode BookSet} (checksummed
 *   books), {@linkcode LiveCache} ({@linkcode StaleDataError},
 *   {@linkcode NoDataError}); frames are {@linkcode WsFrame}.
 * - Market: {@linkcode loadMarketMetadata}, {@linkcode PairUniverse},
 *   {@linkcode PairResolver},
 *   {@linkcode OhlcHistory} over an {@linkcode OhlcStore}.
 * - Trading: {@linkcode OrderClient} (gate → dry run, paper or live), over
 *   {@linkcode RestOrderTransport} or {@linkcode WsOrderTransport}, with
 *   {@linkcode PaperBroker}, {@linkcode PrivateStream} and
 *   {@linkcode DeadManSwitch}; refusals are {@linkcode OrderRejectedError}.
 * - Auth and secrets: {@linkcode KrakenSigner}, {@linkcode NonceSource},
 *   {@linkcode Secret}, the vault ({@linkcode sealCredentials},
 *   {@linkcode openVault}), {@linkcode resolveCredentials},
 *   {@linkcode Redactor}.
 * - Config and logs: {@linkcode parseConfig}, {@linkcode Logger}.
 *
 * @example Public ticker over REST
 * ```ts ignore
 * import { KrakenError, RestClient } from "@krakked/core";
 * const kraken = new RestClient();
 * try {
 *   const ticker = await kraken.ticker(["XBTUSD"]);
 *   console.log(ticker.XXBTZUSD?.c[0]); // last trade price, exact text
 * } catch (error) {
 *   if (error instanceof KrakenError && error.retryable) {
 *     // back off and try again
 *   }
 * } finally {
 *   kraken.close();
 * }
 * ```
 *
 * @module
 */

// Auth
export {
  type FormValue,
  KrakenSigner,
  SecretFormatError,
  type SignInput,
} from "./auth/sign.ts";
export { NonceSource, type NonceSourceOptions } from "./auth/nonce.ts";

// Secrets
export { Secret } from "./secrets/secret.ts";
export {
  type ApiCredentials,
  type OpenedVault,
  openVault,
  sealCredentials,
  type SealedVault,
  type SealOptions,
  serializeVault,
  VaultError,
  type VaultErrorKind,
  type VaultHeader,
} from "./secrets/vault.ts";
export {
  type CredentialSources,
  type CredentialsResult,
  resolveCredentials,
} from "./secrets/credentials.ts";
export { Redactor } from "./secrets/redact.ts";

// Config and logging
export {
  type ApiTier,
  ConfigError,
  DEFAULT_CONFIG,
  type KrakkedConfig,
  type LoadedConfig,
  parseConfig,
  type RegionProfile,
  type RepositionActionKind,
  type RepositionConfig,
  type TradingMode,
} from "./config/config.ts";
export { Logger, type LoggerOptions, type LogLevel } from "./log.ts";
export type { ListenerErrorHandler } from "./listeners.ts";

// Clock port: the defaults of every `now`, `setTimer` and `random` option
export {
  type CancelTimer,
  type Clock,
  type Now,
  type Random,
  type SetTimer,
  systemClock,
} from "./clock.ts";

// Exact decimals: the text type every wire price, volume and fee uses
export type { DecimalString } from "./decimal.ts";

// REST: client, errors, rate limits, wire types
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
} from "./rest/client.ts";
export {
  KrakenError,
  type KrakenErrorKind,
  type KrakenErrorOptions,
} from "./rest/errors.ts";
export {
  type Counter,
  type CounterLimits,
  type CounterName,
  type Priority,
  RateLimiter,
  RateLimiterClosedError,
  type RateLimiterOptions,
  type ScheduleRequest,
  type Tier,
} from "./rest/ratelimit.ts";
export type {
  PrivateMethod,
  PrivateReadMethod,
  PublicMethod,
  TradingMethod,
} from "./rest/methods.ts";
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
} from "./rest/types.ts";

// Market data
export {
  type AssetNames,
  AssetTable,
  type BalanceAsset,
  type BalanceSuffix,
} from "./market/assets.ts";
export {
  type FeeTier,
  type PairMetadata,
  PairResolver,
  type PairStatus,
  UnknownPairError,
} from "./market/pairs.ts";
export {
  loadMarketMetadata,
  type LoadMarketMetadataOptions,
  type MarketMetadata,
  type MetadataSource,
} from "./market/metadata.ts";
export {
  PairUniverse,
  type PairUniverseOptions,
  type UniverseConfig,
  UniverseNotReadyError,
  type UniverseRefreshResult,
  type UniverseRejection,
  type UniverseRejectReason,
  type UniverseSelection,
  type UniverseSnapshot,
} from "./market/universe.ts";
export {
  type Candle,
  type Timeframe,
  TIMEFRAMES,
  UnknownTimeframeError,
} from "./market/ohlc.ts";
export {
  MemoryOhlcStore,
  type OhlcStore,
  type StoreRepair,
  type UpsertResult,
} from "./market/ohlc_store.ts";
export {
  type BackfillOptions,
  type BackfillProgress,
  type BackfillReport,
  NoOhlcDataError,
  OhlcHistory,
  type OhlcHistoryOptions,
  type OhlcSource,
  type TradesSource,
} from "./market/ohlc_history.ts";

// WebSocket v2
export {
  type BookFrame,
  type ChannelFrame,
  type HeartbeatFrame,
  type InstrumentAsset,
  type InstrumentFrame,
  type InstrumentPair,
  type MalformedFrame,
  type MethodResponseFrame,
  type OhlcFrame,
  parseWsFrame,
  type PongFrame,
  type StatusFrame,
  type SystemStatusInfo,
  type Ticker,
  type TickerFrame,
  type Trade,
  type TradeFrame,
  type WsFrame,
  type WsOhlcRow,
  type WsPushType,
} from "./ws/protocol.ts";
export {
  type BookInfo,
  type BookSink,
  type ConnectionConfig,
  type ConnectionPhase,
  type SocketHandler,
  type SubscriptionInfo,
  type SubscriptionStateName,
  type WebSocketConstructor,
  type WebSocketLike,
  WsConnection,
  type WsConnectionEventName,
  type WsConnectionEvents,
  type WsConnectionOptions,
  type WsConnectionSnapshot,
  type WsSubscribeRequest,
  type WsSubscription,
} from "./ws/connection.ts";
export {
  type BookApplyResult,
  type BookDepth,
  type BookIntegrity,
  type BookLevelView,
  BookSet,
  type BookSetOptions,
  type BookTrackOptions,
} from "./ws/book.ts";
export {
  CandleTracker,
  type CandleTrackerOptions,
  type WsCandle,
} from "./ws/candles.ts";
export {
  type LiveBestBidAsk,
  LiveCache,
  type LiveCacheOptions,
  type LiveCandle,
  LiveDataError,
  type LiveDataErrorKind,
  type LiveDataWhat,
  type LiveFreshness,
  type LivePrice,
  type LiveSource,
  type LiveTicker,
  type LiveTrade,
  NoDataError,
  StaleDataError,
  type Timed,
} from "./ws/live.ts";

// Trading
export {
  type AmendChanges,
  type CancelAllResult,
  type ExitOptions,
  type ExitResult,
  type MarketContext,
  OrderClient,
  type OrderClientEvent,
  type OrderClientOptions,
  type PlaceContext,
  type PlaceResult,
  type TrackedOrder,
} from "./trade/order_client.ts";
export type {
  CheckedOrder,
  ClientRef,
  OrderIntent,
  OrderRequest,
  OrderSide,
  OrderType,
  StopLoss,
  StopLossType,
  TimeInForce,
  TrailingOffset,
} from "./trade/order.ts";
export {
  type GateRule,
  OrderRejectedError,
  type PaperRule,
  type Rejection,
  type RuleId,
  type ValidationRule,
} from "./trade/rules.ts";
export type { GateConfig, PreparedOrder, TradingRoute } from "./trade/gates.ts";
export type {
  RiskAccount,
  RiskBook,
  RiskLevel,
  RiskOrder,
} from "./trade/risk.ts";
export type {
  FormPair,
  WsAddOrderParams,
  WsConditional,
  WsTriggers,
} from "./trade/encode.ts";
export type {
  ExecutionReport,
  ExecutionsMessage,
  FillEffect,
  OrderLifecycleState,
  OrderStatus,
  WireDecimal,
} from "./trade/lifecycle.ts";
export {
  type DeadManPhase,
  type DeadManState,
  DeadManSwitch,
  type DeadManSwitchOptions,
  type DeadManTiming,
} from "./trade/dead_man.ts";
export type { Liquidity } from "./trade/fees.ts";
export {
  type PaperBook,
  PaperBroker,
  type PaperBrokerOptions,
  type PaperBrokerState,
  type PaperFill,
  type PaperLevel,
  type PaperLot,
  type PaperOrder,
  type PaperOrderStatus,
  type PaperPosition,
  type PaperPositionState,
  type PaperResult,
} from "./trade/paper.ts";
export type {
  AddOrderAck,
  AmendAck,
  AmendRequest,
  BatchRowAck,
  CancelAck,
  CancelBatchRequest,
  CounterHints,
  DeadManAck,
  EditAck,
  EditRequest,
  OrderTarget,
  OrderTransport,
  TransportCallOptions,
  TransportKind,
} from "./trade/transport.ts";
export {
  type PrivateCaller,
  RestOrderTransport,
  type RestOrderTransportOptions,
} from "./trade/rest_transport.ts";
export {
  PrivateWsSession,
  type PrivateWsSessionOptions,
  type TokenSource,
  type WsAnswer,
  type WsRequestOptions,
} from "./trade/ws_session.ts";
export {
  WsOrderTransport,
  type WsOrderTransportOptions,
} from "./trade/ws_transport.ts";
export {
  type BalanceRow,
  type PrivateChannel,
  PrivateStream,
  type PrivateStreamEvent,
  type PrivateStreamOptions,
  type ResyncResult,
} from "./trade/private_stream.ts";
