/**
 * `krakked universe`: the pairs Krakked trades and watches, from
 * `AssetPairs` filtered by the config's `universe` section.
 *
 * @module
 */

import {
  estimate24hVolumeUsd,
  PairUniverse,
  universeConfigOf,
  type UniverseRejection,
} from "@krakked/core/market/universe";
import type { TickerInfo } from "@krakked/core/rest/types";
import type { Redactor } from "@krakked/core/secrets/redact";
import { type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, table } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";

/** Help text of `krakked universe`. */
export const UNIVERSE_HELP = `Usage: krakked universe [--json]

Lists the spot pairs in Krakked's universe: online pairs quoted in the
region's quote currency (region.default_quote), filtered by the universe
section of config.yaml (include, exclude, min_24h_volume_usd,
exclude_leveraged_pairs).

Columns: the pair (BTC/USD, the WS v2 symbol every command prints), Kraken's
id (the REST altname, XBTUSD), price and volume decimals, minimum order
volume (ordermin) and the estimated 24 h volume in USD.

  --json   print {"pairs": [{id, wsV2, restKey, base, quote, status, priceDecimals,
           volumeDecimals, ordermin, costmin, volume24hUsd}], "rejected": [{id, reason, detail}],
           "warnings": [..]}`;

/** Parsed `universe` flags. */
export interface UniverseFlags {
  /** Discriminator: the command. */
  kind: "universe";
  /** Print JSON. */
  json: boolean;
}

/**
 * Parse `universe` flags. Pure.
 *
 * @param args Arguments after `universe`.
 * @returns The flags, help, or a usage error for an unknown flag or argument.
 * @example Parse
 * ```ts
 * import { parseUniverseArgs } from "./universe_cmd.ts";
 * parseUniverseArgs(["--json"]); // { kind: "universe", json: true }
 * ```
 */
export function parseUniverseArgs(
  args: readonly string[],
): Parsed<UniverseFlags> {
  const parsed = parseFlags(args, { booleans: ["json"] });
  if (parsed.kind !== "flags") return parsed;
  return { kind: "universe", json: parsed.booleans.has("json") };
}

/** One universe row of the JSON output. */
export interface UniverseRow {
  id: string;
  wsV2: string;
  restKey: string;
  base: string;
  quote: string;
  status: string;
  priceDecimals: number;
  volumeDecimals: number;
  ordermin: string;
  costmin: string;
  /** Estimated 24 h volume in USD, `null` when no ticker allowed an estimate. */
  volume24hUsd: number | null;
}

/** The JSON output of `krakked universe --json`. */
export interface UniverseOutput {
  pairs: UniverseRow[];
  rejected: UniverseRejection[];
  warnings: string[];
}

/**
 * Format a USD amount as whole dollars with thousands separators.
 *
 * @param usd The amount, or `null`.
 * @returns The text (`"-"` for `null`).
 * @example Format
 * ```ts
 * import { formatUsd } from "./universe_cmd.ts";
 * formatUsd(1234567.8); // "1,234,568"
 * ```
 */
export function formatUsd(usd: number | null): string {
  if (usd === null) return "-";
  return Math.round(usd).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Load the universe.
 *
 * @param io The run's I/O.
 * @param redactor Output redactor (no credentials are loaded here).
 * @returns The rows, rejections and warnings.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Load
 * ```ts ignore
 * import { loadUniverse } from "./universe_cmd.ts";
 * import { denoIo } from "./io.ts";
 * const { pairs } = await loadUniverse(denoIo());
 * ```
 */
export async function loadUniverse(
  io: CliIo,
  redactor?: Redactor,
): Promise<UniverseOutput> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const universe = new PairUniverse(ctx.rest, {
      config: universeConfigOf(ctx.config),
      now: io.now,
    });
    const refreshed = await universe.refresh();
    if (!refreshed.ok) throw refreshed.error;
    const { snapshot } = refreshed;
    const warnings = [...snapshot.selection.warnings];
    let volumes: Record<string, number> = snapshot.selection.volumeUsd;
    if (Object.keys(volumes).length === 0 && snapshot.pairs.length > 0) {
      // The universe fetches tickers only for a volume floor; the table
      // always shows volume, so fetch them here.
      try {
        volumes = volumesOf(await ctx.rest.ticker(), snapshot);
      } catch (error) {
        warnings.push(
          `Ticker unavailable, 24 h volume not shown: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
      }
    }
    return {
      pairs: snapshot.pairs.map((p) => ({
        id: p.id,
        wsV2: p.wsV2,
        restKey: p.restKey,
        base: p.base,
        quote: p.quote,
        status: p.status,
        priceDecimals: p.priceDecimals,
        volumeDecimals: p.volumeDecimals,
        ordermin: p.ordermin,
        costmin: p.costmin,
        volume24hUsd: volumes[p.id] ?? null,
      })),
      rejected: snapshot.selection.rejected,
      warnings,
    };
  } finally {
    ctx.rest.close();
  }
}

function volumesOf(
  tickers: Record<string, TickerInfo>,
  snapshot: NonNullable<PairUniverse["snapshot"]>,
): Record<string, number> {
  const resolver = snapshot.resolver;
  const byId = new Map<string, TickerInfo>();
  for (const [key, ticker] of Object.entries(tickers)) {
    const id = resolver.tryResolve(key);
    if (id !== undefined) byId.set(id, ticker);
  }
  const all = resolver.ids().map((id) => resolver.get(id));
  const out: Record<string, number> = {};
  for (const pair of snapshot.pairs) {
    const usd = estimate24hVolumeUsd(pair, byId, all);
    if (usd !== null) out[pair.id] = usd;
  }
  return out;
}

/**
 * Run `krakked universe`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Output redactor.
 * @returns 0.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Run
 * ```ts ignore
 * import { runUniverse } from "./universe_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runUniverse({ kind: "universe", json: true }, denoIo());
 * ```
 */
export async function runUniverse(
  flags: UniverseFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const output = await loadUniverse(io, redactor);
  if (flags.json) {
    writeJson(io, output);
    return 0;
  }
  for (const w of output.warnings) writeLine(io.stderr, `warning: ${w}`);
  const rows = output.pairs.map((p) => [
    p.wsV2,
    p.id,
    String(p.priceDecimals),
    String(p.volumeDecimals),
    p.ordermin,
    formatUsd(p.volume24hUsd),
  ]);
  writeLine(
    io.stdout,
    table(
      ["pair", "kraken id", "price dp", "vol dp", "ordermin", "24h vol USD"],
      rows,
      [2, 3, 4, 5],
    ),
  );
  writeLine(
    io.stdout,
    `${output.pairs.length} pairs; ${output.rejected.length} left out (--json lists why)`,
  );
  return 0;
}

/** `krakked universe`, for the command table. */
export const universeCommand: Command<UniverseFlags> = {
  name: "universe",
  summary: "List the spot pairs in Krakked's universe",
  help: UNIVERSE_HELP,
  parse: parseUniverseArgs,
  run: runUniverse,
};
