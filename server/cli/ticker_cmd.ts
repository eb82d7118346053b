/**
 * `krakked ticker <pair…>`: last, bid, ask, change and 24 h volume for pairs
 * given in any spelling (`XBTUSD`, `XXBTZUSD`, `BTC/USD`, `btc-usd`).
 *
 * @module
 */

import { loadMarketMetadata } from "@krakked/core/market/metadata";
import type { TickerInfo } from "@krakked/core/rest/types";
import type { Redactor } from "@krakked/core/secrets/redact";
import { type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, table } from "./context.ts";
import { type CliIo, colorAllowed, paint, writeJson, writeLine } from "./io.ts";

/** Help text of `krakked ticker`. */
export const TICKER_HELP = `Usage: krakked ticker <pair>... [--json]

Shows last price, best bid and ask, the change since today's open (00:00
UTC, the reference Kraken's REST Ticker gives) and the rolling 24 h volume.
Pairs may be spelled any way Kraken or people do: XBTUSD, XXBTZUSD, BTC/USD,
btc-usd.

  --json   print {"tickers": [{input, id, wsV2, last, bid, ask, open, changePct,
           volume24h, vwap24h}]}; prices and volumes are Kraken's decimal strings`;

/** Parsed `ticker` flags. */
export interface TickerFlags {
  /** Discriminator: the command. */
  kind: "ticker";
  /** Pair spellings, in the order given. */
  pairs: string[];
  /** Print JSON. */
  json: boolean;
}

/**
 * Parse `ticker` arguments. Pure.
 *
 * @param args Arguments after `ticker`.
 * @returns The flags, help, or a usage error without a pair or for an
 *   unknown flag.
 * @example Parse
 * ```ts
 * import { parseTickerArgs } from "./ticker_cmd.ts";
 * parseTickerArgs(["XBTUSD", "eth/usd", "--json"]);
 * ```
 */
export function parseTickerArgs(args: readonly string[]): Parsed<TickerFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json"],
    positionals: ["pair"],
    minPositionals: 1,
    maxPositionals: Infinity,
  });
  if (parsed.kind !== "flags") return parsed;
  return {
    kind: "ticker",
    pairs: parsed.positionals,
    json: parsed.booleans.has("json"),
  };
}

/** One ticker row of the JSON output. */
export interface TickerRow {
  /** The spelling given. */
  input: string;
  /** Canonical id. */
  id: string;
  /** WS v2 symbol. */
  wsV2: string;
  last: string;
  bid: string;
  ask: string;
  /** Today's opening price (00:00 UTC). */
  open: string;
  /** Change of `last` against `open`, percent, 2 decimals; `null` when open is 0. */
  changePct: number | null;
  /** Rolling 24 h volume in the base asset. */
  volume24h: string;
  /** Rolling 24 h volume-weighted average price. */
  vwap24h: string;
}

/**
 * Build one ticker row. Pure.
 *
 * @param input The spelling given.
 * @param pair Canonical id and WS v2 symbol.
 * @param ticker Kraken's ticker entry.
 * @returns The row.
 * @example Row
 * ```ts ignore
 * import { tickerRow } from "./ticker_cmd.ts";
 * tickerRow("btc/usd", { id: "XBTUSD", wsV2: "BTC/USD" }, ticker).changePct;
 * ```
 */
export function tickerRow(
  input: string,
  pair: { id: string; wsV2: string },
  ticker: TickerInfo,
): TickerRow {
  const last = Number(ticker.c[0]);
  const open = Number(ticker.o);
  return {
    input,
    id: pair.id,
    wsV2: pair.wsV2,
    last: ticker.c[0],
    bid: ticker.b[0],
    ask: ticker.a[0],
    open: ticker.o,
    changePct: open > 0 ? Math.round((last / open - 1) * 10_000) / 100 : null,
    volume24h: ticker.v[1],
    vwap24h: ticker.p[1],
  };
}

/**
 * Format a percent change with its sign and 2 decimals.
 *
 * @param pct The change, or `null`.
 * @returns The text, e.g. `+1.25%` (`-` for `null`).
 * @example Format
 * ```ts
 * import { formatPct } from "./ticker_cmd.ts";
 * formatPct(-0.5); // "-0.50%"
 * ```
 */
export function formatPct(pct: number | null): string {
  if (pct === null) return "-";
  return `${pct > 0 ? "+" : ""}${pct.toFixed(2)}%`;
}

/**
 * Run `krakked ticker`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Output redactor.
 * @returns 0.
 * @throws {import("@krakked/core/market/pairs").UnknownPairError} For a pair no spelling matches.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Run
 * ```ts ignore
 * import { runTicker } from "./ticker_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runTicker({ kind: "ticker", pairs: ["XBTUSD"], json: false }, denoIo());
 * ```
 */
export async function runTicker(
  flags: TickerFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const { resolver } = await loadMarketMetadata(ctx.rest, {
      supportsMargin: ctx.config.region.supports_margin,
    });
    const wanted = flags.pairs.map((input) => ({
      input,
      pair: resolver.get(input),
    }));
    const restKeys = [...new Set(wanted.map((w) => w.pair.restKey))];
    const tickers = await ctx.rest.ticker(restKeys);
    const byId = new Map<string, TickerInfo>();
    for (const [key, info] of Object.entries(tickers)) {
      const id = resolver.tryResolve(key);
      if (id !== undefined) byId.set(id, info);
    }
    const rows: TickerRow[] = [];
    for (const { input, pair } of wanted) {
      const info = byId.get(pair.id);
      if (info === undefined) {
        throw new Error(`Kraken returned no ticker for "${pair.id}"`);
      }
      rows.push(tickerRow(input, pair, info));
    }
    if (flags.json) {
      writeJson(io, { tickers: rows });
      return 0;
    }
    const color = colorAllowed(io);
    writeLine(
      io.stdout,
      table(
        ["pair", "last", "bid", "ask", "chg today", "24h volume"],
        rows.map((r) => [
          r.id,
          r.last,
          r.bid,
          r.ask,
          r.changePct === null || r.changePct === 0
            ? formatPct(r.changePct)
            : paint(
              color,
              r.changePct > 0 ? "32" : "31",
              formatPct(r.changePct),
            ),
          r.volume24h,
        ]),
        [1, 2, 3, 4, 5],
      ),
    );
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked ticker`, for the command table. */
export const tickerCommand: Command<TickerFlags> = {
  name: "ticker",
  summary: "Show last, bid, ask, change and volume for pairs",
  help: TICKER_HELP,
  parse: parseTickerArgs,
  run: runTicker,
};
