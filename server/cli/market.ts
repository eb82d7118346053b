/**
 * Market metadata the CLI commands share: the asset table and a pair
 * resolver built from `Assets` and `AssetPairs`.
 *
 * @module
 */

import { AssetTable } from "../../core/market/assets.ts";
import {
  type PairMetadata,
  PairResolver,
  pairsFromAssetPairs,
} from "../../core/market/pairs.ts";
import type { AssetInfo, AssetPairInfo } from "../../core/rest/types.ts";

/** The REST calls the market metadata needs; the REST client fits it. */
export interface MetadataSource {
  /** `Assets`, keyed by asset key. */
  assets(): Promise<Record<string, AssetInfo>>;
  /** `AssetPairs`, keyed by REST pair key. */
  assetPairs(): Promise<Record<string, AssetPairInfo>>;
}

/** Pairs, their resolver and the asset table. */
export interface MarketMetadata {
  /** Asset names (the legacy table when `Assets` failed). */
  assets: AssetTable;
  /** Every pair, sorted by canonical id. */
  pairs: PairMetadata[];
  /** Resolves any spelling to a pair. */
  resolver: PairResolver;
}

/**
 * Load the asset table (falling back to the legacy table when `Assets`
 * fails, as the universe does) and every pair.
 *
 * @param source The REST client.
 * @param options Whether the region allows margin (for `marginEnabled`).
 * @returns Assets, pairs and a resolver.
 * @throws {import("../../core/rest/errors.ts").KrakenError} When `AssetPairs` fails.
 * @example Resolve a spelling
 * ```ts ignore
 * import { loadMarketMetadata } from "./market.ts";
 * const { resolver } = await loadMarketMetadata(rest);
 * resolver.resolve("btc/usd"); // "XBTUSD"
 * ```
 */
export async function loadMarketMetadata(
  source: MetadataSource,
  options: { supportsMargin?: boolean } = {},
): Promise<MarketMetadata> {
  const [assetsResult, pairsResult] = await Promise.allSettled([
    source.assets(),
    source.assetPairs(),
  ]);
  if (pairsResult.status === "rejected") throw pairsResult.reason;
  const assets = assetsResult.status === "fulfilled"
    ? AssetTable.fromAssets(assetsResult.value)
    : AssetTable.fallback();
  const pairs = pairsFromAssetPairs(pairsResult.value, {
    assets,
    supportsMargin: options.supportsMargin ?? false,
  });
  return { assets, pairs, resolver: new PairResolver(pairs, { assets }) };
}
