/**
 * The spot universe: the pairs Krakked watches and may trade.
 *
 * Rules, in order (each rejected pair is reported with the rule that fired):
 *
 * 1. **spot**: base and quote asset class `currency` (tokenized assets such as
 *    xStocks are left out), and not a legacy `.d` dark-pool pair.
 * 2. **quote**: the quote's common code equals the profile quote (`USD`).
 * 3. **status**: `online` only; a missing status counts as online.
 * 4. **region**: when the profile does not support margin, no margin product
 *    is offered. Kraken spot lists margin as leverage arrays on ordinary spot
 *    pairs (there are no margin-only pairs), so such pairs stay in the
 *    universe as spot pairs with `marginEnabled: false`.
 * 5. **leveraged**: with `excludeLeveragedPairs: true`, the literal rule
 *    "leverage arrays empty" applies and pairs listing leverage are dropped.
 * 6. **exclude / include**: `exclude` always wins. `include` can only bring
 *    back a pair that exists and passes rules 1–3; it overrides the soft rules
 *    5 and 7. An unknown spelling in either list is a warning, never a pair.
 * 7. **volume**: 24 h volume × 24 h VWAP from `Ticker`, converted to USD
 *    through the quote's USD pair when the quote is not USD, must reach
 *    `min24hVolumeUsd`. It is an estimate, computed in floating point.
 *
 * The result is deduplicated by WS v2 symbol (a REST key without a dot wins,
 * e.g. over a `.d` dark-pool twin) and sorted by canonical id.
 *
 * @module
 */

import { type Now, systemClock } from "../clock.ts";
import type { KrakkedConfig } from "../config/config.ts";
import type { TickerInfo } from "../rest/types.ts";
import type { AssetTable } from "./assets.ts";
import { loadMarketMetadata, type MetadataSource } from "./metadata.ts";
import { type PairMetadata, PairResolver } from "./pairs.ts";

/** Universe settings, usually from the config's region profile. */
export interface UniverseConfig {
  /** Quote asset, common code (default `USD`). */
  quote?: string;
  /** Whether the region profile allows margin (default `false`). */
  supportsMargin?: boolean;
  /** Pairs to keep even below the volume floor or when leveraged. */
  include?: readonly string[];
  /** Pairs to drop whatever else applies. */
  exclude?: readonly string[];
  /** Minimum estimated 24 h volume in USD (default 0: no floor, no Ticker call). */
  min24hVolumeUsd?: number;
  /** Drop pairs that list any leverage (default `false`). */
  excludeLeveragedPairs?: boolean;
}

/**
 * The universe settings of a configuration: `region.default_quote` and
 * `supports_margin`, and the `universe.*` keys.
 *
 * @param config The configuration (its `region` and `universe`).
 * @returns The universe settings.
 * @example Defaults
 * ```ts
 * import { universeConfigOf } from "./universe.ts";
 * import { DEFAULT_CONFIG } from "../config/config.ts";
 * universeConfigOf(DEFAULT_CONFIG).quote; // "USD"
 * ```
 */
export function universeConfigOf(
  config: Pick<KrakkedConfig, "region" | "universe">,
): UniverseConfig {
  return {
    quote: config.region.default_quote,
    supportsMargin: config.region.supports_margin,
    include: config.universe.include,
    exclude: config.universe.exclude,
    min24hVolumeUsd: config.universe.min_24h_volume_usd,
    excludeLeveragedPairs: config.universe.exclude_leveraged_pairs,
  };
}

/** The market-data calls the universe needs; the REST client fits it. */
export interface MarketSource extends MetadataSource {
  /** `Ticker` for every pair, keyed by REST pair key. */
  ticker(): Promise<Record<string, TickerInfo>>;
}

/** Why a pair is not in the universe. */
export type UniverseRejectReason =
  | "not_spot"
  | "quote"
  | "status"
  | "leveraged"
  | "excluded"
  | "duplicate"
  | "no_volume_data"
  | "volume";

/** A pair left out of the universe. */
export interface UniverseRejection {
  /** Canonical id. */
  id: string;
  /** The rule that fired. */
  reason: UniverseRejectReason;
  /** A sentence for people, e.g. `Status is "cancel_only"`. */
  detail: string;
}

/** The outcome of {@linkcode selectUniverse}. */
export interface UniverseSelection {
  /** Canonical ids in the universe, sorted. */
  ids: string[];
  /** Pairs with the configured quote that were left out, and why. */
  rejected: UniverseRejection[];
  /** Problems with the configuration, e.g. an unknown `include` spelling. */
  warnings: string[];
  /** Estimated 24 h USD volume per canonical id, where it could be computed. */
  volumeUsd: Record<string, number>;
}

/** Inputs of {@linkcode selectUniverse} besides the pairs and config. */
export interface SelectUniverseOptions {
  /** `Ticker` result; needed only when `min24hVolumeUsd > 0`. */
  tickers?: Readonly<Record<string, TickerInfo>>;
  /** A resolver over the same pairs (built when omitted). */
  resolver?: PairResolver;
}

function vwapOrLast(ticker: TickerInfo): number {
  const vwap = Number(ticker.p[1]);
  return vwap > 0 ? vwap : Number(ticker.c[0]);
}

/**
 * Estimates the 24 h traded value of a pair in USD: 24 h base volume × 24 h
 * VWAP, converted from the quote to USD through `QUOTE/USD` (or `USD/QUOTE`).
 *
 * @param pair The pair.
 * @param tickers Ticker entries keyed by canonical id.
 * @param pairs All pairs, to find the conversion pair.
 * @returns The USD estimate, or `null` when a ticker is missing.
 * @example A USD pair
 * ```ts
 * import { estimate24hVolumeUsd } from "./universe.ts";
 * // 10 BTC at a VWAP of 50000 USD → 500000
 * ```
 */
export function estimate24hVolumeUsd(
  pair: PairMetadata,
  tickers: ReadonlyMap<string, TickerInfo>,
  pairs: readonly PairMetadata[],
): number | null {
  const ticker = tickers.get(pair.id);
  if (ticker === undefined) return null;
  const quoteValue = Number(ticker.v[1]) * vwapOrLast(ticker);
  if (pair.quote === "USD") return quoteValue;
  for (const other of pairs) {
    const price = tickers.get(other.id);
    if (price === undefined) continue;
    if (other.base === pair.quote && other.quote === "USD") {
      return quoteValue * vwapOrLast(price);
    }
    if (other.base === "USD" && other.quote === pair.quote) {
      const rate = vwapOrLast(price);
      if (rate > 0) return quoteValue / rate;
    }
  }
  return null;
}

function resolveList(
  list: readonly string[] | undefined,
  resolver: PairResolver,
  name: string,
  warnings: string[],
): Set<string> {
  const ids = new Set<string>();
  for (const spelling of list ?? []) {
    const id = resolver.tryResolve(spelling);
    if (id === undefined) {
      const hints = resolver.suggest(spelling);
      const hint = hints.length > 0
        ? `; did you mean ${hints.join(", ")}?`
        : "";
      warnings.push(`Ignored ${name} entry "${spelling}": unknown pair${hint}`);
    } else {
      ids.add(id);
    }
  }
  return ids;
}

/**
 * Applies the universe rules (see the module doc) to a list of pairs.
 *
 * Pure: the same pairs, tickers and config give the same selection.
 *
 * @param pairs Metadata of every pair in `AssetPairs`.
 * @param config The universe settings.
 * @param options Ticker data and an optional prebuilt resolver.
 * @returns The selected ids, the rejections and the warnings.
 * @example Keep online USD pairs
 * ```ts
 * import { selectUniverse } from "./universe.ts";
 * selectUniverse([], { quote: "USD" }).ids; // []
 * ```
 */
export function selectUniverse(
  pairs: readonly PairMetadata[],
  config: UniverseConfig = {},
  options: SelectUniverseOptions = {},
): UniverseSelection {
  const quote = (config.quote ?? "USD").toUpperCase();
  const floor = config.min24hVolumeUsd ?? 0;
  const resolver = options.resolver ?? new PairResolver(pairs);
  const warnings: string[] = [];
  const rejected: UniverseRejection[] = [];
  const include = resolveList(config.include, resolver, "include", warnings);
  const exclude = resolveList(config.exclude, resolver, "exclude", warnings);
  const tickers = new Map<string, TickerInfo>();
  for (const [key, ticker] of Object.entries(options.tickers ?? {})) {
    const id = resolver.tryResolve(key);
    if (id !== undefined) tickers.set(id, ticker);
  }
  const volumeUsd: Record<string, number> = {};
  const bySymbol = new Map<string, PairMetadata>();

  const reject = (
    pair: PairMetadata,
    reason: UniverseRejectReason,
    detail: string,
  ) => rejected.push({ id: pair.id, reason, detail });

  for (const pair of pairs) {
    if (pair.quote.toUpperCase() !== quote) {
      if (include.has(pair.id)) {
        warnings.push(
          `Ignored include entry "${pair.id}": quote is ${pair.quote}, not ${quote}`,
        );
      }
      continue;
    }
    const included = include.has(pair.id);
    if (pair.aclassBase !== "currency" || pair.aclassQuote !== "currency") {
      reject(pair, "not_spot", `Asset class is "${pair.aclassBase}"`);
      continue;
    }
    if (pair.altname.endsWith(".d")) {
      reject(pair, "not_spot", "Dark pool pair");
      continue;
    }
    if (pair.status !== "online") {
      reject(pair, "status", `Status is "${pair.status}"`);
      continue;
    }
    if (config.excludeLeveragedPairs === true && pair.leveraged && !included) {
      reject(pair, "leveraged", "Pair lists leverage");
      continue;
    }
    if (exclude.has(pair.id)) {
      reject(pair, "excluded", "Listed in exclude");
      continue;
    }
    const volume = estimate24hVolumeUsd(pair, tickers, pairs);
    if (volume !== null) volumeUsd[pair.id] = volume;
    if (floor > 0 && !included) {
      if (volume === null) {
        reject(pair, "no_volume_data", "No ticker to estimate 24 h volume");
        continue;
      }
      if (volume < floor) {
        reject(
          pair,
          "volume",
          `24 h volume is ${Math.round(volume)} USD, below ${floor}`,
        );
        continue;
      }
    }
    const twin = bySymbol.get(pair.wsV2);
    if (twin === undefined) {
      bySymbol.set(pair.wsV2, pair);
    } else {
      const keep = twin.restKey.includes(".") && !pair.restKey.includes(".")
        ? pair
        : twin;
      const drop = keep === pair ? twin : pair;
      bySymbol.set(pair.wsV2, keep);
      reject(drop, "duplicate", `Same market as ${keep.id}`);
    }
  }
  const ids = [...bySymbol.values()].map((pair) => pair.id).sort();
  return { ids, rejected, warnings, volumeUsd };
}

/** A consistent view of the universe at one refresh. */
export interface UniverseSnapshot {
  /** Metadata of the universe pairs, sorted by canonical id. */
  pairs: readonly PairMetadata[];
  /** Canonical ids of the universe pairs. */
  members: ReadonlySet<string>;
  /** Rejections, warnings and volume estimates of the selection. */
  selection: UniverseSelection;
  /** Resolver over every pair in `AssetPairs`. */
  resolver: PairResolver;
  /** Asset names used. */
  assets: AssetTable;
  /** When the refresh finished, ms since the epoch. */
  refreshedAtMs: number;
}

/** The outcome of {@linkcode PairUniverse.refresh}. */
export type UniverseRefreshResult =
  | { ok: true; snapshot: UniverseSnapshot }
  | { ok: false; error: unknown; snapshot: UniverseSnapshot | null };

/**
 * A {@linkcode PairUniverse} read before its first successful refresh.
 *
 * @example Check the kind
 * ```ts
 * import { UniverseNotReadyError } from "./universe.ts";
 * new UniverseNotReadyError().kind; // "not_ready"
 * ```
 */
export class UniverseNotReadyError extends Error {
  /** Discriminator. */
  readonly kind = "not_ready" as const;
  /** Error name. */
  override name = "UniverseNotReadyError";

  /**
   * Creates the error.
   *
   * @param options Standard error options (`cause`: the last refresh error).
   */
  constructor(options?: ErrorOptions) {
    super("Cannot read the pair universe: no refresh has succeeded", options);
  }
}

/** Options of {@linkcode PairUniverse}. */
export interface PairUniverseOptions {
  /** Universe settings. */
  config?: UniverseConfig;
  /** Clock, ms since the epoch (default `systemClock.now`). */
  now?: Now;
  /** Waits for the shared rate limiter before each REST call. */
  acquire?: () => Promise<void>;
}

/**
 * The current spot universe, refreshed from a {@linkcode MarketSource}.
 *
 * `refresh()` fetches `Assets` (falling back to the legacy table when it
 * fails), `AssetPairs` and, when a volume floor is set, `Ticker`; applies
 * {@linkcode selectUniverse}; and swaps the snapshot in one assignment. A
 * failed refresh keeps the previous snapshot and reports the error in its
 * result and in `lastError`. Concurrent calls share one refresh.
 *
 * `resolve()` and `getPairMetadata()` know every pair in `AssetPairs`, not
 * only the universe; use `has()` to test membership.
 *
 * @example Refresh and read
 * ```ts
 * import { PairUniverse } from "./universe.ts";
 * const universe = new PairUniverse({
 *   assets: () => Promise.resolve({}),
 *   assetPairs: () => Promise.resolve({}),
 *   ticker: () => Promise.resolve({}),
 * });
 * await universe.refresh();
 * universe.getUniverse(); // []
 * ```
 */
export class PairUniverse {
  #source: MarketSource;
  #config: UniverseConfig;
  #now: Now;
  #acquire: () => Promise<void>;
  #snapshot: UniverseSnapshot | null = null;
  #lastError: unknown = undefined;
  #pending: Promise<UniverseRefreshResult> | null = null;

  /**
   * Creates an empty universe; call `refresh()` before reading it.
   *
   * @param source The market-data calls.
   * @param options Settings, clock and rate limiter.
   */
  constructor(source: MarketSource, options: PairUniverseOptions = {}) {
    this.#source = source;
    this.#config = options.config ?? {};
    this.#now = options.now ?? systemClock.now;
    this.#acquire = options.acquire ?? (() => Promise.resolve());
  }

  /** The current snapshot, or `null` before the first successful refresh. */
  get snapshot(): UniverseSnapshot | null {
    return this.#snapshot;
  }

  /** The error of the last refresh, or `undefined` when it succeeded. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Re-fetches, re-filters and swaps the universe atomically.
   *
   * @returns `ok: true` with the new snapshot, or `ok: false` with the error
   *   and the snapshot still in use. Never rejects.
   */
  refresh(): Promise<UniverseRefreshResult> {
    if (this.#pending === null) {
      this.#pending = this.#refresh().finally(() => {
        this.#pending = null;
      });
    }
    return this.#pending;
  }

  async #refresh(): Promise<UniverseRefreshResult> {
    try {
      const { assets, pairs, resolver, warnings } = await loadMarketMetadata(
        this.#source,
        {
          supportsMargin: this.#config.supportsMargin ?? false,
          acquire: this.#acquire,
        },
      );
      let tickers: Record<string, TickerInfo> | undefined;
      if ((this.#config.min24hVolumeUsd ?? 0) > 0) {
        await this.#acquire();
        tickers = await this.#source.ticker();
      }
      const selection = selectUniverse(pairs, this.#config, {
        resolver,
        ...(tickers === undefined ? {} : { tickers }),
      });
      selection.warnings.unshift(...warnings);
      const universe = selection.ids.map((id) => resolver.get(id));
      const snapshot: UniverseSnapshot = {
        pairs: universe,
        members: new Set(selection.ids),
        selection,
        resolver,
        assets,
        refreshedAtMs: this.#now(),
      };
      this.#snapshot = snapshot;
      this.#lastError = undefined;
      return { ok: true, snapshot };
    } catch (error) {
      this.#lastError = error;
      return { ok: false, error, snapshot: this.#snapshot };
    }
  }

  #ready(): UniverseSnapshot {
    if (this.#snapshot === null) {
      throw new UniverseNotReadyError(
        this.#lastError === undefined ? undefined : { cause: this.#lastError },
      );
    }
    return this.#snapshot;
  }

  /**
   * The universe pairs, sorted by canonical id.
   *
   * @returns Their metadata.
   * @throws {UniverseNotReadyError} Before the first successful refresh.
   */
  getUniverse(): readonly PairMetadata[] {
    return this.#ready().pairs;
  }

  /**
   * Whether a pair (any spelling) is in the universe.
   *
   * @param pair Any spelling.
   * @returns `true` when it is.
   * @throws {UniverseNotReadyError} Before the first successful refresh.
   */
  has(pair: string): boolean {
    const snapshot = this.#ready();
    const id = snapshot.resolver.tryResolve(pair);
    return id !== undefined && snapshot.members.has(id);
  }

  /**
   * Metadata of any known pair, given any spelling.
   *
   * @param pair Any spelling (`XBTUSD`, `XXBTZUSD`, `BTC/USD`, `btc-usd`).
   * @returns The metadata.
   * @throws {UnknownPairError} When no pair matches.
   * @throws {UniverseNotReadyError} Before the first successful refresh.
   */
  getPairMetadata(pair: string): PairMetadata {
    return this.#ready().resolver.get(pair);
  }

  /**
   * The canonical id of any known pair.
   *
   * @param spelling Any spelling.
   * @returns The canonical id (`XBTUSD`).
   * @throws {UnknownPairError} When no pair matches.
   * @throws {UniverseNotReadyError} Before the first successful refresh.
   */
  resolve(spelling: string): string {
    return this.#ready().resolver.resolve(spelling);
  }
}
