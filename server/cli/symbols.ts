/**
 * One symbol convention for people: every CLI output names a pair by its
 * WS v2 symbol (`BTC/USD`, Kraken's `wsname` style, as the page does);
 * input may be any spelling (`BTC/USD`, `XBTUSD`, `XXBTZUSD`, `btc-usd`);
 * `--json` keeps Kraken's ids beside it for scripts (`id`, the REST altname
 * `XBTUSD`, and `restKey`, the key REST results come under, `XXBTZUSD`).
 *
 * @module
 */

import {
  loadMarketMetadata,
  type MarketMetadata,
} from "@krakked/core/market/metadata";
import {
  type PairMetadata,
  type PairResolver,
  UnknownPairError,
} from "@krakked/core/market/pairs";
import type { CliContext } from "./context.ts";
import { UsageError } from "./errors.ts";

/** A pair as `--json` prints it: the symbol people read, and Kraken's ids. */
export interface PairJson {
  /** WS v2 symbol, as shown in text output (`BTC/USD`). */
  symbol: string;
  /** Canonical id, the REST altname (`XBTUSD`). */
  id: string;
  /** REST pair key (`XXBTZUSD`). */
  restKey: string;
}

/**
 * The JSON form of a pair.
 *
 * @param pair The pair's metadata.
 * @returns `{ symbol, id, restKey }`.
 * @example BTC/USD
 * ```ts ignore
 * pairJson(resolver.get("xbtusd")); // { symbol: "BTC/USD", id: "XBTUSD", restKey: "XXBTZUSD" }
 * ```
 */
export function pairJson(pair: PairMetadata): PairJson {
  return { symbol: pair.wsV2, id: pair.id, restKey: pair.restKey };
}

/**
 * The symbol to show for a canonical id (or any spelling): its WS v2
 * symbol, or the text as given when no pair matches (an id the metadata no
 * longer lists must still print).
 *
 * @param resolver Resolves spellings.
 * @param idOrSpelling `XBTUSD`, `XXBTZUSD`, …
 * @returns `BTC/USD`, or the input.
 * @example Show
 * ```ts ignore
 * displaySymbol(resolver, "XBTUSD"); // "BTC/USD"
 * ```
 */
export function displaySymbol(
  resolver: Pick<PairResolver, "tryResolve" | "get">,
  idOrSpelling: string,
): string {
  return resolver.tryResolve(idOrSpelling) === undefined
    ? idOrSpelling
    : resolver.get(idOrSpelling).wsV2;
}

/**
 * Load the market metadata of a context (`Assets` + `AssetPairs`, the
 * region's margin rule).
 *
 * @param ctx The command's context.
 * @returns Assets, pairs and the resolver.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When `AssetPairs` fails.
 * @example Resolve
 * ```ts ignore
 * const { resolver } = await marketOf(ctx);
 * ```
 */
export function marketOf(ctx: CliContext): Promise<MarketMetadata> {
  return loadMarketMetadata(ctx.rest, {
    supportsMargin: ctx.config.region.supports_margin,
  });
}

/**
 * A function naming pairs for people (`XBTUSD` → `BTC/USD`), for output
 * that holds Kraken ids (orders, paper positions, exits). Never fails: when
 * the metadata cannot be loaded, ids print as they are.
 *
 * @param ctx The command's context.
 * @returns The namer.
 * @example Name
 * ```ts ignore
 * const name = await symbolNamer(ctx);
 * name("XBTUSD"); // "BTC/USD"
 * ```
 */
export async function symbolNamer(
  ctx: CliContext,
): Promise<(idOrSpelling: string) => string> {
  try {
    const { resolver } = await marketOf(ctx);
    return (id) => displaySymbol(resolver, id);
  } catch {
    return (id) => id;
  }
}

/**
 * Resolve a pair the user typed, for a command: its metadata, or a usage
 * error whose suggestions are spelled as every output spells pairs
 * (`did you mean BTC/USD?`, where core's own error lists ids).
 *
 * @param resolver Resolves spellings.
 * @param input What the user typed.
 * @param command The command, for its help.
 * @returns The pair.
 * @throws {UsageError} When no pair matches.
 * @example Resolve
 * ```ts ignore
 * resolvePair(resolver, "btc-usd", "ticker").wsV2; // "BTC/USD"
 * ```
 */
export function resolvePair(
  resolver: Pick<PairResolver, "get">,
  input: string,
  command: string,
): PairMetadata {
  try {
    return resolver.get(input);
  } catch (error) {
    if (!(error instanceof UnknownPairError)) throw error;
    const named = error.suggestions.map((id) => {
      try {
        return resolver.get(id).wsV2;
      } catch {
        return id;
      }
    });
    throw new UsageError(
      `Unknown pair ${JSON.stringify(input)}${
        named.length > 0 ? `; did you mean ${named.join(", ")}?` : ""
      }`,
      command,
    );
  }
}
