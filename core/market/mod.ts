/**
 * Market data: asset and pair names, pair metadata, the spot universe, and
 * closed-candle OHLC history with stores and backfill.
 *
 * - {@linkcode AssetTable} and {@linkcode PairResolver}: Kraken's X/Z asset
 *   keys, altnames and four pair spellings to one canonical id.
 * - {@linkcode loadMarketMetadata}: `Assets` + `AssetPairs` into the asset
 *   table, every pair and a resolver, in one call.
 * - {@linkcode PairUniverse}: the spot pairs watched and traded, refreshed
 *   from a {@linkcode MarketSource} (the REST client fits it).
 * - {@linkcode OhlcHistory}: closed candles from an {@linkcode OhlcStore},
 *   backfilled from `OHLC` or rebuilt from `Trades` beyond Kraken's 720-row
 *   cap; {@linkcode TradeCandleBuilder} does the rebuilding.
 *
 * The REST wire types these take ({@linkcode AssetPairInfo},
 * {@linkcode TickerInfo}, {@linkcode OhlcResult}, …) are re-exported here.
 *
 * @example Resolve a pair and read candles
 * ```ts
 * import { MemoryOhlcStore, OhlcHistory, PairUniverse } from "./mod.ts";
 * // const universe = new PairUniverse(restClient, { config: { quote: "USD" } });
 * // await universe.refresh();
 * // universe.resolve("btc-usd"); // "XBTUSD"
 * const history = new OhlcHistory({ store: new MemoryOhlcStore() });
 * ```
 *
 * @module
 */

export {
  type AssetNames,
  AssetTable,
  type BalanceAsset,
  type BalanceSuffix,
  commonFromAltname,
  LEGACY_ASSET_ALTNAMES,
} from "./assets.ts";
export {
  type FeeTier,
  type PairMetadata,
  pairMetadataFromRest,
  type PairMetadataOptions,
  PairResolver,
  pairsFromAssetPairs,
  type PairStatus,
  UnknownPairError,
} from "./pairs.ts";
export {
  loadMarketMetadata,
  type LoadMarketMetadataOptions,
  type MarketMetadata,
  type MetadataSource,
} from "./metadata.ts";
export {
  estimate24hVolumeUsd,
  type MarketSource,
  PairUniverse,
  type PairUniverseOptions,
  selectUniverse,
  type SelectUniverseOptions,
  type UniverseConfig,
  universeConfigOf,
  UniverseNotReadyError,
  type UniverseRefreshResult,
  type UniverseRejection,
  type UniverseRejectReason,
  type UniverseSelection,
  type UniverseSnapshot,
} from "./universe.ts";
export {
  type Candle,
  candleFromRow,
  candlesFromTrades,
  candleToRow,
  closedCandles,
  closedCandlesFromRows,
  mergeCandles,
  minutesToTimeframe,
  parseTimeframe,
  sameCandle,
  type Timeframe,
  TIMEFRAMES,
  timeframeToMinutes,
  timeframeToSeconds,
  TradeCandleBuilder,
  type TradeCandleOptions,
  UnknownTimeframeError,
} from "./ohlc.ts";
export {
  diffCandles,
  MemoryOhlcStore,
  type OhlcStore,
  type StoreRepair,
  type UpsertResult,
} from "./ohlc_store.ts";
export {
  type BackfillDeps,
  backfillFromTrades,
  backfillOhlc,
  type BackfillOptions,
  type BackfillProgress,
  type BackfillReport,
  NoOhlcDataError,
  OhlcHistory,
  type OhlcHistoryOptions,
  type OhlcSource,
  type TradeBackfillOptions,
  type TradesSource,
} from "./ohlc_history.ts";
export type {
  AssetInfo,
  AssetPairInfo,
  FeeSchedule,
  OhlcResult,
  OhlcRow,
  TickerInfo,
  TradeRow,
  TradesResult,
} from "../rest/types.ts";
export type { DecimalString } from "../decimal.ts";
