/**
 * Kraken's fee schedule: the tier for a 30-day volume, and the fee of a
 * fill, in exact decimals.
 *
 * @module
 */

import {
  compareDecimal,
  decimalFromNumber,
  divideDecimal,
  multiplyDecimal,
} from "../decimal.ts";
import type { FeeTier, PairMetadata } from "../market/pairs.ts";

/** Maker (resting order filled) or taker (order that crossed the book). */
export type Liquidity = "maker" | "taker";

/**
 * The fee percent of the highest tier whose minimum volume is at or below
 * the 30-day volume (`"0"` for an empty schedule).
 *
 * @param schedule Tiers as in `PairMetadata.takerFees` (any order).
 * @param volume30d 30-day volume in the fee volume currency, decimal text.
 * @returns The percent as decimal text, e.g. `"0.26"`.
 * @example Tiers of XBTUSD
 * ```ts
 * import { feeTierPercent } from "./fees.ts";
 * const taker = [{ minVolume: 0, percent: 0.26 }, { minVolume: 50000, percent: 0.24 }];
 * feeTierPercent(taker, "49999.99"); // "0.26"
 * feeTierPercent(taker, "50000"); // "0.24"
 * ```
 */
export function feeTierPercent(
  schedule: readonly FeeTier[],
  volume30d: string,
): string {
  let best: FeeTier | undefined;
  for (const tier of schedule) {
    const reached =
      compareDecimal(decimalFromNumber(tier.minVolume), volume30d) <= 0;
    if (reached && (best === undefined || tier.minVolume > best.minVolume)) {
      best = tier;
    }
  }
  return best === undefined ? "0" : decimalFromNumber(best.percent);
}

/**
 * The pair's maker or taker fee percent for a 30-day volume.
 *
 * @param pair The pair.
 * @param liquidity Maker or taker.
 * @param volume30d 30-day volume (USD for USD-quoted fee schedules).
 * @returns The percent as decimal text.
 * @example Maker fee
 * ```ts
 * import { pairFeePercent } from "./fees.ts";
 * import type { PairMetadata } from "../market/pairs.ts";
 * const pair = { takerFees: [{ minVolume: 0, percent: 0.26 }],
 *   makerFees: [{ minVolume: 0, percent: 0.16 }] } as PairMetadata;
 * pairFeePercent(pair, "maker", "0"); // "0.16"
 * ```
 */
export function pairFeePercent(
  pair: Pick<PairMetadata, "takerFees" | "makerFees">,
  liquidity: Liquidity,
  volume30d: string,
): string {
  return feeTierPercent(
    liquidity === "maker" ? pair.makerFees : pair.takerFees,
    volume30d,
  );
}

/**
 * The fee of a fill: `cost × percent / 100`, rounded half up to `decimals`
 * (Krakked uses the pair's `cost_decimals`).
 *
 * @param cost Fill cost in quote, decimal text.
 * @param percent Fee percent, decimal text.
 * @param decimals Decimals of the fee.
 * @returns The fee, normalised decimal text.
 * @example 0.26 % of 250.001 USD at 5 decimals
 * ```ts
 * import { feeOf } from "./fees.ts";
 * feeOf("250.001", "0.26", 5); // "0.65" (0.6500026 rounded)
 * ```
 */
export function feeOf(cost: string, percent: string, decimals: number): string {
  return divideDecimal(multiplyDecimal(cost, percent), "100", decimals);
}
