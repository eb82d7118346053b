/**
 * Pair metadata from `AssetPairs`, and one resolver for every pair spelling.
 *
 * A market has four Kraken spellings (docs/kraken/REST.md §5.3): REST key
 * `XXBTZUSD`, altname `XBTUSD`, WS v1 `XBT/USD` and WS v2 `BTC/USD`. Krakked's
 * canonical id is the altname. {@linkcode PairResolver} accepts all of them,
 * in any case and with `/`, `-`, `_` or no separator, and also the common
 * spellings people type (`btc-usd`, `BTCUSD`, `DOGE/USD`).
 *
 * @module
 */

import type { AssetPairInfo, FeeSchedule } from "../rest/types.ts";
import { AssetTable } from "./assets.ts";
import { formatScaled } from "../decimal.ts";

/** Trading status of a pair; Kraken may add values, so any string is kept. */
export type PairStatus =
  | "online"
  | "cancel_only"
  | "post_only"
  | "limit_only"
  | "reduce_only"
  | (string & Record<never, never>);

/** One step of a fee schedule. */
export interface FeeTier {
  /** 30-day volume (in the fee volume currency) from which the tier applies. */
  minVolume: number;
  /** Fee in percent, e.g. `0.26`. */
  percent: number;
}

/** Everything Krakked needs to know about one pair. */
export interface PairMetadata {
  /** Canonical id: the REST altname, e.g. `XBTUSD`. */
  id: string;
  /** Base asset, common code (`BTC`). */
  base: string;
  /** Quote asset, common code (`USD`). */
  quote: string;
  /** Base asset key (`XXBT`). */
  baseKey: string;
  /** Quote asset key (`ZUSD`). */
  quoteKey: string;
  /** REST pair key, the key of `AssetPairs` and of every result (`XXBTZUSD`). */
  restKey: string;
  /** REST altname, as in `descr.pair` (`XBTUSD`). */
  altname: string;
  /** WS v1 name (`XBT/USD`); derived from the altnames when `wsname` is missing. */
  wsV1: string;
  /** WS v2 symbol (`BTC/USD`). */
  wsV2: string;
  /** Asset class of the base (`currency`, `tokenized_asset`). */
  aclassBase: string;
  /** Asset class of the quote. */
  aclassQuote: string;
  /** Price decimals (`pair_decimals`). */
  priceDecimals: number;
  /** Volume decimals (`lot_decimals`). */
  volumeDecimals: number;
  /** Cost decimals (`cost_decimals`; `priceDecimals` when absent). */
  costDecimals: number;
  /** Price increment, exact text (`tick_size`; `10^-priceDecimals` when absent). */
  tickSize: string;
  /** Minimum order volume in base, exact text (`"0"` when absent). */
  ordermin: string;
  /** Minimum order cost in quote, exact text (`"0"` when absent). */
  costmin: string;
  /** Taker fee schedule (`fees`). */
  takerFees: FeeTier[];
  /** Maker fee schedule (`fees_maker`; the taker schedule when absent). */
  makerFees: FeeTier[];
  /** Common code of the fee volume currency (`USD`), or `null` when absent. */
  feeVolumeCurrency: string | null;
  /**
   * Trading status. Kraken omits `status` on some pairs (about 13 % observed,
   * REST.md §5.1); a missing status is treated as `online`.
   */
  status: PairStatus;
  /** Leverage levels offered for buys (`leverage_buy`). */
  leverageBuy: number[];
  /** Leverage levels offered for sells (`leverage_sell`). */
  leverageSell: number[];
  /** Whether Kraken offers margin buys on this pair. */
  marginBuy: boolean;
  /** Whether Kraken offers margin sells (shorts) on this pair. */
  marginSell: boolean;
  /** Whether Kraken lists any leverage for this pair. */
  leveraged: boolean;
  /**
   * Whether Krakked may use margin here: Kraken offers leverage and the
   * region profile allows margin. `false` unless `supportsMargin` is set.
   */
  marginEnabled: boolean;
}

/** Options of {@linkcode pairMetadataFromRest}. */
export interface PairMetadataOptions {
  /** Asset names; the legacy fallback table when omitted. */
  assets?: AssetTable;
  /** Whether the region profile allows margin (default `false`). */
  supportsMargin?: boolean;
}

function feeTiers(schedule: FeeSchedule | undefined): FeeTier[] {
  return (schedule ?? []).map(([minVolume, percent]) => ({
    minVolume,
    percent,
  }));
}

/**
 * Converts one `AssetPairs` entry into {@linkcode PairMetadata}.
 *
 * @param restKey The entry's key in the `AssetPairs` result (`XXBTZUSD`).
 * @param info The entry.
 * @param options Asset table and region rule.
 * @returns The metadata.
 * @example Convert the BTC/USD entry
 * ```ts
 * import { pairMetadataFromRest } from "./pairs.ts";
 * const meta = pairMetadataFromRest("XXBTZUSD", {
 *   altname: "XBTUSD", wsname: "XBT/USD", aclass_base: "currency", base: "XXBT",
 *   aclass_quote: "currency", quote: "ZUSD", pair_decimals: 1, lot_decimals: 8,
 *   leverage_buy: [], leverage_sell: [], fees: [[0, 0.26]],
 * });
 * meta.wsV2; // "BTC/USD"
 * ```
 */
export function pairMetadataFromRest(
  restKey: string,
  info: AssetPairInfo,
  options: PairMetadataOptions = {},
): PairMetadata {
  const assets = options.assets ?? AssetTable.fallback();
  const base = assets.toCommon(info.base);
  const quote = assets.toCommon(info.quote);
  const leverageBuy = [...(info.leverage_buy ?? [])];
  const leverageSell = [...(info.leverage_sell ?? [])];
  const leveraged = leverageBuy.length > 0 || leverageSell.length > 0;
  const takerFees = feeTiers(info.fees);
  return {
    id: info.altname,
    base,
    quote,
    baseKey: info.base,
    quoteKey: info.quote,
    restKey,
    altname: info.altname,
    wsV1: info.wsname ??
      `${assets.toAltname(info.base)}/${assets.toAltname(info.quote)}`,
    wsV2: `${base}/${quote}`,
    aclassBase: info.aclass_base,
    aclassQuote: info.aclass_quote,
    priceDecimals: info.pair_decimals,
    volumeDecimals: info.lot_decimals,
    costDecimals: info.cost_decimals ?? info.pair_decimals,
    tickSize: info.tick_size ?? formatScaled(1n, info.pair_decimals),
    ordermin: info.ordermin ?? "0",
    costmin: info.costmin ?? "0",
    takerFees,
    makerFees: info.fees_maker === undefined
      ? takerFees.map((tier) => ({ ...tier }))
      : feeTiers(info.fees_maker),
    feeVolumeCurrency: info.fee_volume_currency === undefined
      ? null
      : assets.toCommon(info.fee_volume_currency),
    status: info.status ?? "online",
    leverageBuy,
    leverageSell,
    marginBuy: leverageBuy.length > 0,
    marginSell: leverageSell.length > 0,
    leveraged,
    marginEnabled: leveraged && (options.supportsMargin ?? false),
  };
}

/**
 * Converts a whole `AssetPairs` result, sorted by canonical id.
 *
 * @param assetPairs The `AssetPairs` result, keyed by REST pair key.
 * @param options Asset table and region rule.
 * @returns The metadata of every pair.
 * @example Convert a result
 * ```ts
 * import { pairsFromAssetPairs } from "./pairs.ts";
 * pairsFromAssetPairs({}).length; // 0
 * ```
 */
export function pairsFromAssetPairs(
  assetPairs: Readonly<Record<string, AssetPairInfo>>,
  options: PairMetadataOptions = {},
): PairMetadata[] {
  const assets = options.assets ?? AssetTable.fallback();
  const pairs = Object.entries(assetPairs).map(([key, info]) =>
    pairMetadataFromRest(key, info, { ...options, assets })
  );
  return pairs.sort(compareIds);
}

function compareIds(a: PairMetadata, b: PairMetadata): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A pair spelling that matches no known pair.
 *
 * @example Suggest the right spelling
 * ```ts
 * import { UnknownPairError } from "./pairs.ts";
 * const error = new UnknownPairError("BTCUSDX", ["XBTUSD"]);
 * error.kind; // "unknown_pair"
 * ```
 */
export class UnknownPairError extends Error {
  /** Discriminator. */
  readonly kind = "unknown_pair" as const;
  /** Error name. */
  override name = "UnknownPairError";
  /** The spelling that was not found. */
  readonly input: string;
  /** Canonical ids of close matches, best first (may be empty). */
  readonly suggestions: readonly string[];

  /**
   * Creates the error.
   *
   * @param input The spelling that was not found.
   * @param suggestions Canonical ids of close matches.
   * @param options Standard error options.
   */
  constructor(
    input: string,
    suggestions: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    const hint = suggestions.length > 0
      ? `; did you mean ${suggestions.join(", ")}?`
      : "";
    super(`Unknown pair "${input}"${hint}`, options);
    this.input = input;
    this.suggestions = suggestions;
  }
}

const SEPARATORS = /[\s/\-_:]+/g;

/** Uppercases and removes separators: `btc-usd` → `BTCUSD`. */
function joined(spelling: string): string {
  return spelling.toUpperCase().replace(SEPARATORS, "");
}

/** Splits `btc-usd`, `BTC/USD`, `btc_usd` into `["BTC", "USD"]`, else null. */
function split(spelling: string): [string, string] | null {
  const parts = spelling.trim().toUpperCase().split(SEPARATORS);
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") return null;
  return [parts[0] as string, parts[1] as string];
}

/** Index priority: exact Kraken keys beat WS names beat derived spellings. */
const EXACT = 0;
const WS = 1;
const DERIVED = 2;

interface IndexEntry {
  id: string;
  priority: number;
}

function levenshtein(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      current.push(value);
      best = Math.min(best, value);
    }
    if (best > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] as number;
}

/**
 * Resolves any spelling of a pair to its canonical id and metadata.
 *
 * Accepted: REST key (`XXBTZUSD`), altname (`XBTUSD`), WS v1 (`XBT/USD`),
 * WS v2 (`BTC/USD`), and any mix of key, altname and common code for each
 * side with `/`, `-`, `_`, `:` or space between them (`btc-usd`, `XBT_USD`),
 * or no separator (`btcusd`), in any case. When a joined spelling fits two
 * pairs, exact Kraken keys and altnames win over WS names, which win over
 * derived spellings. A spelling with one separator is matched side by side
 * only, so `ABC/DEF` never resolves to `AB/CDEF`.
 *
 * @example Resolve spellings
 * ```ts
 * import { PairResolver, pairsFromAssetPairs } from "./pairs.ts";
 * const resolver = new PairResolver(pairsFromAssetPairs({
 *   XXBTZUSD: {
 *     altname: "XBTUSD", wsname: "XBT/USD", aclass_base: "currency", base: "XXBT",
 *     aclass_quote: "currency", quote: "ZUSD", pair_decimals: 1, lot_decimals: 8,
 *     leverage_buy: [], leverage_sell: [], fees: [],
 *   },
 * }));
 * resolver.resolve("btc/usd"); // "XBTUSD"
 * resolver.resolve("XXBTZUSD"); // "XBTUSD"
 * ```
 */
export class PairResolver {
  #byId = new Map<string, PairMetadata>();
  #joined = new Map<string, IndexEntry>();
  #sides = new Map<string, IndexEntry>();
  #assets: AssetTable;

  /**
   * Indexes the pairs.
   *
   * @param pairs The known pairs.
   * @param options The asset table, used to match sides spelled by asset key
   *   or altname (legacy fallback when omitted).
   */
  constructor(
    pairs: Iterable<PairMetadata>,
    options: { assets?: AssetTable } = {},
  ) {
    this.#assets = options.assets ?? AssetTable.fallback();
    for (const pair of pairs) this.#index(pair);
  }

  #put(map: Map<string, IndexEntry>, key: string, entry: IndexEntry): void {
    const existing = map.get(key);
    if (existing === undefined || entry.priority < existing.priority) {
      map.set(key, entry);
    }
  }

  #index(pair: PairMetadata): void {
    this.#byId.set(pair.id, pair);
    const entry = (priority: number) => ({ id: pair.id, priority });
    this.#put(this.#joined, pair.restKey.toUpperCase(), entry(EXACT));
    this.#put(this.#joined, pair.altname.toUpperCase(), entry(EXACT));
    this.#put(this.#joined, joined(pair.wsV1), entry(WS));
    this.#put(this.#joined, joined(pair.wsV2), entry(WS));
    const wsSides = split(pair.wsV1);
    if (wsSides !== null) {
      this.#put(this.#sides, wsSides.join("/"), entry(WS));
    }
    this.#put(this.#sides, pair.wsV2.toUpperCase(), entry(WS));
    const baseNames = this.#names(pair.baseKey, pair.base);
    const quoteNames = this.#names(pair.quoteKey, pair.quote);
    for (const base of baseNames) {
      for (const quote of quoteNames) {
        this.#put(this.#sides, `${base}/${quote}`, entry(DERIVED));
        this.#put(this.#joined, base + quote, entry(DERIVED));
      }
    }
  }

  #names(key: string, common: string): Set<string> {
    const names = this.#assets.lookup(key);
    return new Set(
      [key, common, names?.altname ?? key].map((name) => name.toUpperCase()),
    );
  }

  /** Number of known pairs. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Canonical ids of every known pair, sorted.
   *
   * @returns The ids.
   */
  ids(): string[] {
    return [...this.#byId.keys()].sort();
  }

  /**
   * Resolves a spelling, or returns `undefined`.
   *
   * @param spelling Any spelling of the pair.
   * @returns The canonical id, or `undefined` when no pair matches.
   */
  tryResolve(spelling: string): string | undefined {
    const trimmed = spelling.trim();
    if (this.#byId.has(trimmed)) return trimmed;
    const sides = split(trimmed);
    if (sides !== null) return this.#sides.get(sides.join("/"))?.id;
    return this.#joined.get(joined(trimmed))?.id;
  }

  /**
   * Resolves a spelling to the canonical id.
   *
   * @param spelling Any spelling of the pair.
   * @returns The canonical id (`XBTUSD`).
   * @throws {UnknownPairError} When no pair matches; it lists close matches.
   */
  resolve(spelling: string): string {
    const id = this.tryResolve(spelling);
    if (id === undefined) {
      throw new UnknownPairError(spelling, this.suggest(spelling));
    }
    return id;
  }

  /**
   * Returns the metadata of a pair given any spelling.
   *
   * @param spelling Any spelling of the pair.
   * @returns The metadata.
   * @throws {UnknownPairError} When no pair matches.
   */
  get(spelling: string): PairMetadata {
    return this.#byId.get(this.resolve(spelling)) as PairMetadata;
  }

  /**
   * Suggests canonical ids close to an unknown spelling: pairs whose joined
   * spellings are within edit distance 2, then pairs sharing the base asset.
   *
   * @param spelling The unknown spelling.
   * @param limit Maximum number of suggestions (default 5).
   * @returns Canonical ids, best first.
   */
  suggest(spelling: string, limit = 5): string[] {
    const target = joined(spelling);
    const scored = new Map<string, number>();
    if (target !== "") {
      for (const [key, entry] of this.#joined) {
        const distance = levenshtein(target, key, 2);
        if (distance <= 2) {
          const best = scored.get(entry.id);
          if (best === undefined || distance < best) {
            scored.set(entry.id, distance);
          }
        }
      }
    }
    const sides = split(spelling);
    const baseGuess = sides?.[0] ?? null;
    const baseCommon = baseGuess === null
      ? null
      : this.#assets.toCommon(baseGuess);
    for (const pair of this.#byId.values()) {
      const sharesBase = baseCommon !== null
        ? pair.base.toUpperCase() === baseCommon.toUpperCase()
        : target.length > pair.base.length &&
          (target.startsWith(pair.base.toUpperCase()) ||
            target.startsWith(this.#assets.toAltname(pair.base).toUpperCase()));
      if (sharesBase && !scored.has(pair.id)) scored.set(pair.id, 3);
    }
    return [...scored.entries()]
      .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([id]) => id);
  }
}
