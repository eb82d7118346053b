/**
 * Translation between Kraken asset codes and common codes.
 *
 * Kraken names one asset three ways: the asset key (`XXBT`, the keys of the
 * `Assets` result and of `base`/`quote` in `AssetPairs`), the altname (`XBT`,
 * used in REST altnames and WS v1) and the common code (`BTC`, used by WS v2).
 * The map is table-driven: key → altname comes from the `Assets` endpoint and
 * altname → common code renames only `XBT` → `BTC` and `XDG` → `DOGE`
 * (docs/kraken/REST.md §5.3, WS_V2.md §6). A leading `X` or `Z` is never
 * stripped: `XTZ`, `XRP`, `XLM`, `XMR`, `ZEC` and `ZRX` are real tickers.
 *
 * @module
 */

import type { AssetInfo } from "../rest/types.ts";

/**
 * Suffixes of read-only balance assets: `.S` staked, `.M` opt-in rewards,
 * `.F` auto-earning, `.B` yield-bearing, `.T` tokenized, `.HOLD` held funds.
 */
export type BalanceSuffix = "S" | "M" | "F" | "B" | "T" | "HOLD";

/** A balance asset split into its common code and its suffix. */
export interface BalanceAsset {
  /** Common code of the underlying asset, e.g. `ETH` for `XETH` or `ETH.S`. */
  asset: string;
  /** The balance suffix, or `null` for a plain (tradable) balance. */
  suffix: BalanceSuffix | null;
}

const BALANCE_SUFFIXES: ReadonlySet<string> = new Set([
  "S",
  "M",
  "F",
  "B",
  "T",
  "HOLD",
]);

/** Altnames that WS v2 (and everyone else) spells differently. */
const COMMON_RENAMES: Readonly<Record<string, string>> = {
  XBT: "BTC",
  XDG: "DOGE",
};

/**
 * Legacy X/Z-prefixed asset keys and their altnames, used when the `Assets`
 * endpoint is unavailable (REST.md §5.3). Newer assets have prefix-free keys
 * that equal their altname, so they need no entry.
 */
export const LEGACY_ASSET_ALTNAMES: Readonly<Record<string, string>> = Object
  .freeze({
    XXBT: "XBT",
    XETH: "ETH",
    XLTC: "LTC",
    XXRP: "XRP",
    XXLM: "XLM",
    XXMR: "XMR",
    XZEC: "ZEC",
    XETC: "ETC",
    XMLN: "MLN",
    XREP: "REP",
    XXDG: "XDG",
    ZUSD: "USD",
    ZEUR: "EUR",
    ZGBP: "GBP",
    ZCAD: "CAD",
    ZJPY: "JPY",
    ZAUD: "AUD",
    KFEE: "FEE",
  });

/** One asset as the table knows it. */
export interface AssetNames {
  /** Kraken asset key, e.g. `XXBT`. */
  key: string;
  /** Kraken altname, e.g. `XBT`. */
  altname: string;
  /** Common code, e.g. `BTC`. */
  common: string;
}

/**
 * Maps an altname to its common code: `XBT` → `BTC`, `XDG` → `DOGE`, every
 * other altname is already the common code.
 *
 * @param altname A Kraken altname.
 * @returns The common code.
 * @example Rename the two legacy altnames
 * ```ts
 * import { commonFromAltname } from "./assets.ts";
 * commonFromAltname("XBT"); // "BTC"
 * commonFromAltname("XTZ"); // "XTZ"
 * ```
 */
export function commonFromAltname(altname: string): string {
  return COMMON_RENAMES[altname.toUpperCase()] ?? altname;
}

/**
 * A lookup table between Kraken asset keys, altnames and common codes.
 *
 * Lookups are case-insensitive; results use the table's spelling. Unknown
 * codes pass through unchanged (trimmed): they are never guessed at by
 * stripping prefixes.
 *
 * @example Build from the Assets endpoint
 * ```ts
 * import { AssetTable } from "./assets.ts";
 * const table = AssetTable.fromAssets({
 *   XXBT: { aclass: "currency", altname: "XBT", decimals: 10, display_decimals: 5 },
 * });
 * table.toCommon("XXBT"); // "BTC"
 * table.toKey("BTC"); // "XXBT"
 * table.parseBalance("XBT.M"); // { asset: "BTC", suffix: "M" }
 * ```
 */
export class AssetTable {
  #byKey = new Map<string, AssetNames>();
  #byAltname = new Map<string, AssetNames>();
  #byCommon = new Map<string, AssetNames>();
  #source: "assets" | "fallback";

  private constructor(source: "assets" | "fallback") {
    this.#source = source;
  }

  /**
   * Builds the table from an `Assets` result, with the legacy fallback
   * underneath for keys the result does not list.
   *
   * @param assets The `Assets` result, keyed by asset key.
   * @returns The table.
   */
  static fromAssets(assets: Readonly<Record<string, AssetInfo>>): AssetTable {
    const table = new AssetTable("assets");
    for (const [key, altname] of Object.entries(LEGACY_ASSET_ALTNAMES)) {
      table.#add(key, altname);
    }
    for (const [key, info] of Object.entries(assets)) {
      table.#add(key, info.altname);
    }
    return table;
  }

  /**
   * Builds the table from the static legacy list alone, for when the `Assets`
   * endpoint is unavailable.
   *
   * @returns The fallback table.
   */
  static fallback(): AssetTable {
    const table = new AssetTable("fallback");
    for (const [key, altname] of Object.entries(LEGACY_ASSET_ALTNAMES)) {
      table.#add(key, altname);
    }
    return table;
  }

  /** Where the table came from: the `Assets` endpoint or the static fallback. */
  get source(): "assets" | "fallback" {
    return this.#source;
  }

  #add(key: string, altname: string): void {
    const names = { key, altname, common: commonFromAltname(altname) };
    this.#byKey.set(key.toUpperCase(), names);
    this.#byAltname.set(altname.toUpperCase(), names);
    this.#byCommon.set(names.common.toUpperCase(), names);
  }

  /**
   * Finds an asset by key, altname or common code (in that order).
   *
   * @param code Any spelling of the asset.
   * @returns Its names, or `undefined` when the table does not know it.
   */
  lookup(code: string): AssetNames | undefined {
    const upper = code.trim().toUpperCase();
    return this.#byKey.get(upper) ?? this.#byAltname.get(upper) ??
      this.#byCommon.get(upper);
  }

  /**
   * Returns the common code (`XXBT`, `XBT`, `btc` → `BTC`).
   *
   * @param code Any spelling of the asset.
   * @returns The common code; an unknown code comes back trimmed, unchanged.
   */
  toCommon(code: string): string {
    return this.lookup(code)?.common ?? code.trim();
  }

  /**
   * Returns the Kraken asset key (`BTC`, `XBT` → `XXBT`).
   *
   * @param code Any spelling of the asset.
   * @returns The asset key; an unknown code comes back trimmed, unchanged.
   */
  toKey(code: string): string {
    return this.lookup(code)?.key ?? code.trim();
  }

  /**
   * Returns the Kraken altname (`XXBT`, `BTC` → `XBT`).
   *
   * @param code Any spelling of the asset.
   * @returns The altname; an unknown code comes back trimmed, unchanged.
   */
  toAltname(code: string): string {
    return this.lookup(code)?.altname ?? code.trim();
  }

  /**
   * Splits a balance code into its common asset and suffix: `XETH` →
   * `{ asset: "ETH", suffix: null }`, `ETH2.S` → `{ asset: "ETH2", suffix:
   * "S" }`, `USD.HOLD` → `{ asset: "USD", suffix: "HOLD" }`. A dot followed by
   * anything but a known suffix is kept as part of the asset code.
   *
   * @param code A key of the `Balance` result.
   * @returns The asset and suffix.
   */
  parseBalance(code: string): BalanceAsset {
    const trimmed = code.trim();
    const dot = trimmed.lastIndexOf(".");
    if (dot > 0) {
      const suffix = trimmed.slice(dot + 1).toUpperCase();
      if (BALANCE_SUFFIXES.has(suffix)) {
        return {
          asset: this.toCommon(trimmed.slice(0, dot)),
          suffix: suffix as BalanceSuffix,
        };
      }
    }
    return { asset: this.toCommon(trimmed), suffix: null };
  }
}
