/**
 * Prices in USD: now (for equity and unrealised P&L) and at a past instant
 * (to value a fee, a deposit or a cross-pair trade when it happened).
 *
 * Now: the mid `(bid + ask) / 2` of the asset's USD pair, or of a
 * documented cross — the asset's XBT pair times BTC/USD, else its USDT pair
 * times USDT/USD. Only pairs with the asset as base are used: an inverse
 * (`1 / mid`) has no exact decimal. No route → no price: the asset is
 * listed as unpriced, never valued at 0.
 *
 * Then: {@linkcode tradeRates} reads the account's own USD trades — the
 * price of the asset's latest USD fill at or before the instant (or the
 * first one after, when none came before). The trade itself prices its own
 * base and quote exactly; this series only matters for other assets (a fee
 * in a third asset, a deposit, a cross-pair quote such as XBT in ETH/XBT).
 *
 * @module
 */

import {
  addDecimal,
  divideDecimal,
  fractionDigits,
  multiplyDecimal,
} from "../decimal.ts";
import { FEE_CREDIT_ASSET, FEE_CREDIT_USD } from "./assets.ts";
import type { AccountTrade } from "./trades.ts";

/** The valuation currency of every report. */
export const VALUATION_ASSET = "USD";

/** Cross assets tried, in order, when an asset has no USD pair. */
export const CROSS_ASSETS: readonly string[] = ["BTC", "USDT"];

/** A best bid and ask, exact text. */
export interface Quote {
  /** Best bid. */
  bid: string;
  /** Best ask. */
  ask: string;
}

/**
 * The live quote of the pair `base/quote` (common codes), or `undefined`
 * when no such pair is quoted (e.g. from the ticker or the WS stream).
 */
export type QuoteSource = (base: string, quote: string) => Quote | undefined;

/** A USD price and how it was found. */
export interface UsdPrice {
  /** USD per unit, exact. */
  price: string;
  /** The pairs multiplied, e.g. `["ETH/BTC", "BTC/USD"]`; `[]` for USD. */
  route: string[];
}

/**
 * The USD per unit of an asset at a past instant, or `null` when unknown.
 * Times are Unix seconds.
 */
export type RateAt = (asset: string, timeSec: number) => string | null;

/**
 * The exact mid of a quote.
 *
 * @param quote Bid and ask.
 * @returns `(bid + ask) / 2`, exact (one more decimal at most).
 * @throws {SyntaxError} When bid or ask is not decimal text.
 * @example Mid
 * ```ts
 * import { midOf } from "./rates.ts";
 * midOf({ bid: "100.1", ask: "100.2" }); // "100.15"
 * ```
 */
export function midOf(quote: Quote): string {
  const scale = Math.max(fractionDigits(quote.bid), fractionDigits(quote.ask)) +
    1;
  return divideDecimal(addDecimal(quote.bid, quote.ask), "2", scale);
}

/**
 * The USD price of an asset now: fixed for USD and KFEE, else the mid of
 * its USD pair, else through a cross in {@linkcode CROSS_ASSETS}.
 *
 * @param asset Common code.
 * @param quotes The live quotes.
 * @returns The price and route, or `null` when no route exists.
 * @example Through BTC
 * ```ts
 * import { usdPrice } from "./rates.ts";
 * const quotes = { "ABC/BTC": { bid: "0.001", ask: "0.001" }, "BTC/USD": { bid: "50000", ask: "50000" } };
 * usdPrice("ABC", (b, q) => quotes[`${b}/${q}` as keyof typeof quotes]);
 * // { price: "50", route: ["ABC/BTC", "BTC/USD"] }
 * ```
 */
export function usdPrice(asset: string, quotes: QuoteSource): UsdPrice | null {
  return priceIn(asset, VALUATION_ASSET, quotes);
}

/**
 * The price of an asset now in any currency (the region's quote, e.g.
 * EUR): 1 for the currency itself, else the mid of `asset/currency`, else
 * through a cross in {@linkcode CROSS_ASSETS}. KFEE has a price in USD
 * only (its fixed 0.01); inverse pairs are never used.
 *
 * @param asset Common code.
 * @param currency Common code of the valuation currency.
 * @param quotes The live quotes.
 * @returns The price and route, or `null` when no route exists.
 * @example In EUR
 * ```ts
 * import { priceIn } from "./rates.ts";
 * const quotes = { "BTC/EUR": { bid: "60000", ask: "60002" } };
 * priceIn("BTC", "EUR", (b, q) => quotes[`${b}/${q}` as keyof typeof quotes]);
 * // { price: "60001", route: ["BTC/EUR"] }
 * ```
 */
export function priceIn(
  asset: string,
  currency: string,
  quotes: QuoteSource,
): UsdPrice | null {
  if (asset === currency) return { price: "1", route: [] };
  if (asset === FEE_CREDIT_ASSET) {
    return currency === VALUATION_ASSET
      ? { price: FEE_CREDIT_USD, route: ["KFEE fixed"] }
      : null;
  }
  const direct = quotes(asset, currency);
  if (direct !== undefined) {
    return { price: midOf(direct), route: [`${asset}/${currency}`] };
  }
  for (const cross of CROSS_ASSETS) {
    if (cross === asset || cross === currency) continue;
    const leg = quotes(asset, cross);
    const tail = quotes(cross, currency);
    if (leg === undefined || tail === undefined) continue;
    return {
      price: multiplyDecimal(midOf(leg), midOf(tail)),
      route: [`${asset}/${cross}`, `${cross}/${currency}`],
    };
  }
  return null;
}

/**
 * Historical USD rates from the account's own USD trades, plus the fixed
 * ones (USD = 1, KFEE = 0.01).
 *
 * @param trades Own trades (any order).
 * @returns A rate lookup.
 * @example Latest fill at or before
 * ```ts
 * import { tradeRates } from "./rates.ts";
 * const rateAt = tradeRates([
 *   { id: "T1", pair: "XBTUSD", base: "BTC", quote: "USD", side: "buy", price: "100",
 *     vol: "1", cost: "100", timeSec: 10, fees: [] },
 * ]);
 * rateAt("BTC", 20); // "100"
 * rateAt("ETH", 20); // null
 * ```
 */
export function tradeRates(trades: readonly AccountTrade[]): RateAt {
  const series = new Map<string, { timeSec: number; price: string }[]>();
  for (const t of trades) {
    if (t.quote !== VALUATION_ASSET) continue;
    const list = series.get(t.base) ?? [];
    list.push({ timeSec: t.timeSec, price: t.price });
    series.set(t.base, list);
  }
  for (const list of series.values()) {
    // Stable: equal times keep trade order (oldest id first).
    list.sort((a, b) => a.timeSec - b.timeSec);
  }
  return (asset, timeSec) => {
    if (asset === VALUATION_ASSET) return "1";
    if (asset === FEE_CREDIT_ASSET) return FEE_CREDIT_USD;
    const list = series.get(asset);
    if (list === undefined || list.length === 0) return null;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as { timeSec: number }).timeSec <= timeSec) lo = mid + 1;
      else hi = mid;
    }
    return (list[lo === 0 ? 0 : lo - 1] as { price: string }).price;
  };
}
