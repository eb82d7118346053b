/**
 * Equity in USD: every `BalanceEx` balance, suffixed wallets included,
 * valued at the live mid (`./rates.ts`: the USD pair, else a documented
 * cross). A balance with no price is listed in `unpriced` and left out of
 * the total — never valued at 0 — and `complete` says so.
 *
 * Lines keep the wallet apart (`ETH` and `ETH` in wallet `S`); `byAsset`
 * folds them (staked ETH is ETH).
 *
 * @module
 */

import { addDecimal, compareDecimal, multiplyDecimal } from "../decimal.ts";
import type { AssetTable } from "../market/assets.ts";
import type { ExtendedBalance } from "../rest/types.ts";
import { accountAsset } from "./assets.ts";
import { priceIn, type QuoteSource, VALUATION_ASSET } from "./rates.ts";

/** One balance line. */
export interface EquityLine {
  /** The wire key (`XXBT`, `ETH.S`). */
  key: string;
  /** Folded common code (`BTC`, `ETH`). */
  asset: string;
  /** Wallet suffix, or `null` for spot. */
  wallet: string | null;
  /** Balance, as Kraken printed it. */
  balance: string;
  /** Price per unit in the valuation currency, or `null` when unpriced. */
  price: string | null;
  /** The pairs the price went through. */
  route: string[];
  /** `balance × price` in the valuation currency, or `null` when unpriced. */
  value: string | null;
}

/** One asset with its wallets folded. */
export interface EquityAsset {
  /** Common code. */
  asset: string;
  /** Sum of every wallet's balance. */
  balance: string;
  /** USD per unit, or `null`. */
  price: string | null;
  /** Value in the valuation currency, or `null` when unpriced. */
  value: string | null;
}

/** Equity of the account now. */
export interface EquityReport {
  /** The valuation currency (`USD` unless asked otherwise). */
  valuation: string;
  /** Sum of the priced lines. */
  total: string;
  /** Whether every non-zero balance was priced. */
  complete: boolean;
  /** Every balance, sorted by asset then wallet. */
  lines: EquityLine[];
  /** The same, wallets folded. */
  byAsset: EquityAsset[];
  /** Assets with a non-zero balance and no price. */
  unpriced: string[];
}

/**
 * Values a `BalanceEx` (or `Balance`) result.
 *
 * @param balances Balances by asset key.
 * @param assets The asset table.
 * @param quotes The live quotes.
 * @param options `valuation`: the currency to value in (default `USD`).
 * @returns The equity report.
 * @throws {SyntaxError} When a balance is not decimal text.
 * @example An asset with no route
 * ```ts
 * import { AssetTable } from "../market/assets.ts";
 * import { equityOf } from "./equity.ts";
 * const report = equityOf(
 *   { ZUSD: { balance: "100.0000", hold_trade: "0" }, ABC: { balance: "5", hold_trade: "0" } },
 *   AssetTable.fallback(),
 *   () => undefined,
 * );
 * report.total; // "100"
 * report.unpriced; // ["ABC"]
 * ```
 */
export function equityOf(
  balances: Readonly<Record<string, ExtendedBalance | string>>,
  assets: AssetTable,
  quotes: QuoteSource,
  options: { valuation?: string } = {},
): EquityReport {
  const valuation = options.valuation ?? VALUATION_ASSET;
  const lines: EquityLine[] = [];
  const priceCache = new Map<string, ReturnType<typeof priceIn>>();
  for (const [key, value] of Object.entries(balances)) {
    const balance = typeof value === "string" ? value : value.balance;
    const { asset, wallet } = accountAsset(key, assets);
    let priced = priceCache.get(asset);
    if (priced === undefined) {
      priced = priceIn(asset, valuation, quotes);
      priceCache.set(asset, priced);
    }
    lines.push({
      key,
      asset,
      wallet,
      balance,
      price: priced?.price ?? null,
      route: priced?.route ?? [],
      value: priced === null ? null : multiplyDecimal(balance, priced.price),
    });
  }
  lines.sort((a, b) =>
    a.asset < b.asset
      ? -1
      : a.asset > b.asset
      ? 1
      : (a.wallet ?? "") < (b.wallet ?? "")
      ? -1
      : 1
  );
  const folded = new Map<string, EquityAsset>();
  let total = "0";
  const unpriced = new Set<string>();
  for (const line of lines) {
    const seen = folded.get(line.asset) ??
      { asset: line.asset, balance: "0", price: line.price, value: null };
    seen.balance = addDecimal(seen.balance, line.balance);
    folded.set(line.asset, seen);
    if (line.value !== null) total = addDecimal(total, line.value);
    else if (compareDecimal(line.balance, "0") !== 0) unpriced.add(line.asset);
  }
  for (const a of folded.values()) {
    a.value = a.price === null ? null : multiplyDecimal(a.balance, a.price);
  }
  return {
    valuation,
    total,
    complete: unpriced.size === 0,
    lines,
    byAsset: [...folded.values()],
    unpriced: [...unpriced].sort(),
  };
}
