/**
 * Kraken WebSocket v2 market data (docs/kraken/WS_V2.md): the resilient
 * connection, checksummed order books, candles, the live cache with
 * staleness checks, the data status, and the wire frames.
 *
 * - {@linkcode WsConnection}: ping, silence watchdog, reconnect with backoff
 *   and a connection budget, reference-counted subscriptions replayed after
 *   every reconnect; book frames go to a {@linkcode BookSet}.
 * - {@linkcode BookSet}: books fed by raw frame text, every update checked
 *   against Kraken's CRC32 checksum ({@linkcode bookChecksum}); a mismatch
 *   asks for a resubscribe.
 * - {@linkcode CandleTracker}: the forming candle per symbol and interval.
 * - {@linkcode LiveCache}: the latest ticker, best bid/ask, trade and candle
 *   per pair; reads throw {@linkcode StaleDataError} or
 *   {@linkcode NoDataError} rather than return old data.
 * - {@linkcode parseWsFrame}: text frame → {@linkcode WsFrame}, never throws.
 *
 * @example Apply a book snapshot and read the top of the book
 * ```ts
 * import { BookSet } from "./mod.ts";
 * const books = new BookSet({ defaultDepth: 10 });
 * books.track("BTC/USD");
 * books.applyText(
 *   '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
 *     '"bids":[{"price":45283.5,"qty":0.10000000}],' +
 *     '"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":2383917627}]}',
 * );
 * books.bestBidAsk("BTC/USD"); // { bid: "45283.5", ask: "45285.2", ... }
 * ```
 *
 * @module
 */
export {
  type BookFrame,
  buildPing,
  buildSubscribe,
  buildUnsubscribe,
  type ChannelFrame,
  type HeartbeatFrame,
  type InstrumentAsset,
  type InstrumentFrame,
  type InstrumentPair,
  type MalformedFrame,
  type MethodResponseFrame,
  normalizeDecimal,
  OHLC_INTERVALS_MIN,
  type OhlcFrame,
  type OhlcIntervalMin,
  parseWsFrame,
  type PongFrame,
  PRIVATE_CHANNELS,
  type RequestOptions,
  type StatusFrame,
  type SubscriptionParams,
  type SystemStatusInfo,
  type Ticker,
  type TickerFrame,
  type Trade,
  type TradeFrame,
  type WsFrame,
  type WsOhlcRow,
  type WsPushType,
} from "./protocol.ts";
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
} from "./connection.ts";
export {
  type BookApplyResult,
  bookChecksum,
  type BookChecksumLevel,
  type BookChecksumOptions,
  type BookDepth,
  type BookIntegrity,
  type BookLevelView,
  BookSet,
  type BookSetOptions,
  type BookTrackOptions,
} from "./book.ts";
export {
  CandleTracker,
  type CandleTrackerOptions,
  toCandle,
  type WsCandle,
} from "./candles.ts";
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
} from "./live.ts";
export {
  type BookTotals,
  buildDataStatus,
  dataStatus,
  type DataStatusInputs,
  type DataStatusSources,
  type SubscriptionCounts,
  type WsDataStatus,
} from "./status.ts";
export type { DecimalString } from "../decimal.ts";
