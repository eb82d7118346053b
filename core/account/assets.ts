/**
 * How the account names an asset: the common code (`BTC` for `XXBT`), with
 * the balance suffixes (`.S`, `.M`, `.F`, `.B`, `.T`, `.HOLD`) kept apart as
 * the wallet, and Kraken's fee credits spelled `KFEE`.
 *
 * Suffixed balances (staked, opt-in rewards, auto-earn, …) are the same
 * asset in another wallet (docs/kraken/REST.md §5.3): the account folds them
 * into the asset for lots and equity totals and shows the wallet beside it.
 *
 * @module
 */

import type { AssetTable } from "../market/assets.ts";

/** Common code of Kraken's fee credits (asset key `KFEE`, altname `FEE`). */
export const FEE_CREDIT_ASSET = "KFEE";

/**
 * USD value of one fee credit. Kraken sells fee credits at one US cent each
 * and spends them one cent per cent of fee (docs/kraken/ACCOUNT.md).
 */
export const FEE_CREDIT_USD = "0.01";

/** An asset code split into the folded asset and its wallet. */
export interface AccountAsset {
  /** Common code of the underlying asset (`ETH` for `XETH`, `ETH.S`). */
  asset: string;
  /** The wallet suffix (`S`, `F`, …) or `null` for the spot wallet. */
  wallet: string | null;
}

/**
 * Names an asset key, altname or balance code the account's way.
 *
 * @param code A `Balance` key, ledger `asset` or common code.
 * @param assets The asset table.
 * @returns The folded common code and the wallet suffix.
 * @example Fold a staked balance
 * ```ts
 * import { AssetTable } from "../market/assets.ts";
 * import { accountAsset } from "./assets.ts";
 * accountAsset("XETH", AssetTable.fallback()); // { asset: "ETH", wallet: null }
 * accountAsset("ETH.S", AssetTable.fallback()); // { asset: "ETH", wallet: "S" }
 * accountAsset("KFEE", AssetTable.fallback()); // { asset: "KFEE", wallet: null }
 * ```
 */
export function accountAsset(code: string, assets: AssetTable): AccountAsset {
  const { asset, suffix } = assets.parseBalance(code);
  // The table's common code for KFEE is its altname, FEE; nobody calls it that.
  const named = asset.toUpperCase() === "FEE" ? FEE_CREDIT_ASSET : asset;
  return { asset: named, wallet: suffix };
}
