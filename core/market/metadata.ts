/**
 * Market metadata from `Assets` and `AssetPairs`: the asset table, every
 * pair and a resolver over them. The one loader behind the universe, the
 * CLI, the order service and the browser worker.
 *
 * `Assets` is optional: when it fails (or answers something unreadable) the
 * legacy asset table names the common assets well enough, and a warning
 * says so. `AssetPairs` is required: its failure rejects.
 *
 * @module
 */

import type { AssetInfo, AssetPairInfo } from "../rest/types.ts";
import { AssetTable } from "./assets.ts";
import {
  type PairMetadata,
  PairResolver,
  pairsFromAssetPairs,
} from "./pairs.ts";

/** The REST calls the metadata needs; the REST client fits it. */
export interface MetadataSource {
  /** `Assets`, keyed by asset key. */
  assets(): Promise<Record<string, AssetInfo>>;
  /** `AssetPairs`, keyed by REST pair key. */
  assetPairs(): Promise<Record<string, AssetPairInfo>>;
}

/** Options of {@linkcode loadMarketMetadata}. */
export interface LoadMarketMetadataOptions {
  /** Whether the region profile allows margin, for `marginEnabled` (default `false`). */
  supportsMargin?: boolean;
  /** Waits for the shared rate limiter before each REST call. */
  acquire?: () => Promise<void>;
}

/** Assets, pairs and their resolver. */
export interface MarketMetadata {
  /** Asset names (the legacy table when `Assets` failed). */
  assets: AssetTable;
  /** Every pair in `AssetPairs`, sorted by canonical id. */
  pairs: PairMetadata[];
  /** Resolves any spelling of those pairs. */
  resolver: PairResolver;
  /** What went wrong without failing the load (an `Assets` failure). */
  warnings: string[];
}

/**
 * Loads `Assets` and `AssetPairs` (both at once) into pairs and a resolver.
 *
 * @param source The REST calls.
 * @param options Region rule and rate limiter.
 * @returns Assets, pairs, resolver and warnings.
 * @throws {import("../rest/errors.ts").KrakenError} Whatever `AssetPairs`
 *   rejected with.
 * @example Resolve a spelling
 * ```ts
 * import { loadMarketMetadata } from "./metadata.ts";
 * const { resolver, warnings } = await loadMarketMetadata({
 *   assets: () => Promise.reject(new Error("EService:Unavailable")),
 *   assetPairs: () => Promise.resolve({}),
 * });
 * resolver.tryResolve("btc/usd"); // undefined: no pairs
 * warnings.length; // 1: the legacy asset table is in use
 * ```
 */
export async function loadMarketMetadata(
  source: MetadataSource,
  options: LoadMarketMetadataOptions = {},
): Promise<MarketMetadata> {
  const acquire = options.acquire ?? (() => Promise.resolve());
  const [assetsResult, pairsResult] = await Promise.allSettled([
    acquire().then(() => source.assets()).then((assets) =>
      AssetTable.fromAssets(assets)
    ),
    acquire().then(() => source.assetPairs()),
  ]);
  if (pairsResult.status === "rejected") throw pairsResult.reason;
  const warnings: string[] = [];
  let assets: AssetTable;
  if (assetsResult.status === "fulfilled") {
    assets = assetsResult.value;
  } else {
    const reason: unknown = assetsResult.reason;
    assets = AssetTable.fallback();
    warnings.push(
      `Assets unavailable, using the legacy asset table: ${
        reason instanceof Error ? reason.message : String(reason)
      }`,
    );
  }
  const pairs = pairsFromAssetPairs(pairsResult.value, {
    assets,
    supportsMargin: options.supportsMargin ?? false,
  });
  return {
    assets,
    pairs,
    resolver: new PairResolver(pairs, { assets }),
    warnings,
  };
}
