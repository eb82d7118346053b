/**
 * Fixtures for the market tests: Kraken-shaped AssetPairs, Assets and Ticker
 * answers (testdata/*.json), and a fake MarketSource over them.
 *
 * @module
 */

import type {
  AssetInfo,
  AssetPairInfo,
  TickerInfo,
} from "../../../core/rest/types.ts";
import type { MarketSource } from "../../../core/market/universe.ts";
import assetPairsJson from "./testdata/asset_pairs.json" with { type: "json" };
import assetsJson from "./testdata/assets.json" with { type: "json" };
import tickerJson from "./testdata/ticker.json" with { type: "json" };

/** A deep copy of the AssetPairs fixture result. */
export function assetPairs(): Record<string, AssetPairInfo> {
  return structuredClone(assetPairsJson.result) as unknown as Record<
    string,
    AssetPairInfo
  >;
}

/** A deep copy of the Assets fixture result. */
export function assets(): Record<string, AssetInfo> {
  return structuredClone(assetsJson.result) as Record<string, AssetInfo>;
}

/** A deep copy of the Ticker fixture result. */
export function tickers(): Record<string, TickerInfo> {
  return structuredClone(tickerJson.result) as unknown as Record<
    string,
    TickerInfo
  >;
}

/** A scripted MarketSource: each call returns the fixture or throws. */
export class FakeMarketSource implements MarketSource {
  calls: string[] = [];
  assetsResult: Record<string, AssetInfo> | Error = assets();
  assetPairsResult: Record<string, AssetPairInfo> | Error = assetPairs();
  tickerResult: Record<string, TickerInfo> | Error = tickers();

  assets(): Promise<Record<string, AssetInfo>> {
    this.calls.push("assets");
    return this.#answer(this.assetsResult);
  }

  assetPairs(): Promise<Record<string, AssetPairInfo>> {
    this.calls.push("assetPairs");
    return this.#answer(this.assetPairsResult);
  }

  ticker(): Promise<Record<string, TickerInfo>> {
    this.calls.push("ticker");
    return this.#answer(this.tickerResult);
  }

  #answer<T>(value: T | Error): Promise<T> {
    return value instanceof Error
      ? Promise.reject(value)
      : Promise.resolve(structuredClone(value));
  }
}
