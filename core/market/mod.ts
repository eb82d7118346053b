/**
 * Market data: asset and pair names, pair metadata, the spot universe, and
 * closed-candle OHLC history with stores and backfill.
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

export * from "./assets.ts";
export * from "./pairs.ts";
export * from "./universe.ts";
export * from "./ohlc.ts";
export * from "./ohlc_store.ts";
export * from "./ohlc_history.ts";
export type {
  AssetInfo,
  AssetPairInfo,
  DecimalString,
  FeeSchedule,
  OhlcResult,
  OhlcRow,
  TickerInfo,
  TradeRow,
  TradesResult,
} from "../rest/types.ts";
