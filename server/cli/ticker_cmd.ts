/**
 * `krakked ticker <pair…>`: last, bid, ask, 24 h change and 24 h volume for
 * pairs given in any spelling (`XBTUSD`, `XXBTZUSD`, `BTC/USD`, `btc-usd`),
 * shown as `BTC/USD`.
 *
 * @module
 */

import { loadMarketMetadata } from "@krakked/core/market/metadata";
import type { TickerInfo } from "@krakked/core/rest/types";
import type { Redactor } from "@krakked/core/secrets/redact";
import { type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, table } from "./context.ts";
import { resolvePair } from "./symbols.ts";
import { type CliIo, colorAllowed, paint, writeJson, writeLine } from "./io.ts";

const DAY_SEC = 86_400;

/** Help text of `krakked ticker`. */
export const TICKER_HELP = `Usage: krakked ticker <pair>... [--json]

Shows last price, best bid and ask, the 24 h change and the rolling 24 h
volume. Pairs may be spelled any way Kraken or people do (BTC/USD, XBTUSD,
XXBTZUSD, btc-usd); they are shown as BTC/USD.

24h %: the last price against the first trade of the last 24 hours (REST
Trades since now − 24 h), in percent: the measure of Kraken's WebSocket
ticker change_pct, which the page shows as "24 h %". Kraken's REST Ticker
has no such field: its "o" is today's opening price (00:00 UTC), a
different measure, kept in --json as open and changeTodayPct.

  --json   print {"tickers": [{input, symbol, id, restKey, wsV2, last, bid, ask,
           price24hAgo, change24hPct, open, changeTodayPct, changePct, volume24h,
           vwap24h}]}; prices and volumes are Kraken's decimal strings, id is
           Kraken's altname (XBTUSD), restKey its REST key (XXBTZUSD);
           changePct is the old name of changeTodayPct`;

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
  /** WS v2 symbol, as text output shows it (`BTC/USD`). */
  symbol: string;
  /** Canonical id, Kraken's altname (`XBTUSD`). */
  id: string;
  /** REST pair key (`XXBTZUSD`). */
  restKey: string;
  /** WS v2 symbol (same as `symbol`, kept for scripts that read it). */
  wsV2: string;
  last: string;
  bid: string;
  ask: string;
  /** The first trade of the last 24 h, or `null` when there was none. */
  price24hAgo: string | null;
  /** Change of `last` against `price24hAgo`, percent, 2 decimals ("24h %"). */
  change24hPct: number | null;
  /** Today's opening price (00:00 UTC), REST Ticker `o`. */
  open: string;
  /** Change of `last` against `open`, percent, 2 decimals; `null` when open is 0. */
  changeTodayPct: number | null;
  /** The old name of `changeTodayPct`. */
  changePct: number | null;
  /** Rolling 24 h volume in the base asset. */
  volume24h: string;
  /** Rolling 24 h volume-weighted average price. */
  vwap24h: string;
}

/** Percent change of `last` against `ref`, 2 decimals; `null` without a reference. */
function pctChange(last: number, ref: number | null): number | null {
  return ref !== null && ref > 0
    ? Math.round((last / ref - 1) * 10_000) / 100
    : null;
}

/**
 * Build one ticker row. Pure.
 *
 * @param input The spelling given.
 * @param pair Canonical id, REST key and WS v2 symbol.
 * @param ticker Kraken's ticker entry.
 * @param price24hAgo The first trade of the last 24 h (`null`: none).
 * @returns The row.
 * @example Row
 * ```ts ignore
 * import { tickerRow } from "./ticker_cmd.ts";
 * tickerRow("btc/usd", { id: "XBTUSD", restKey: "XXBTZUSD", wsV2: "BTC/USD" }, ticker, "96000").change24hPct;
 * ```
 */
export function tickerRow(
  input: string,
  pair: { id: string; restKey: string; wsV2: string },
  ticker: TickerInfo,
  price24hAgo: string | null = null,
): TickerRow {
  const last = Number(ticker.c[0]);
  const today = pctChange(last, Number(ticker.o));
  return {
    input,
    symbol: pair.wsV2,
    id: pair.id,
    restKey: pair.restKey,
    wsV2: pair.wsV2,
    last: ticker.c[0],
    bid: ticker.b[0],
    ask: ticker.a[0],
    price24hAgo,
    change24hPct: pctChange(
      last,
      price24hAgo === null ? null : Number(price24hAgo),
    ),
    open: ticker.o,
    changeTodayPct: today,
    changePct: today,
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
      pair: resolvePair(resolver, input, "ticker"),
    }));
    const restKeys = [...new Set(wanted.map((w) => w.pair.restKey))];
    const tickers = await ctx.rest.ticker(restKeys);
    const byId = new Map<string, TickerInfo>();
    for (const [key, info] of Object.entries(tickers)) {
      const id = resolver.tryResolve(key);
      if (id !== undefined) byId.set(id, info);
    }
    // The 24 h reference: the first trade since now − 24 h, one call per
    // pair (Kraken's REST Ticker has no 24 h-ago price).
    const sinceSec = Math.floor(io.now() / 1000) - DAY_SEC;
    const ago = new Map<string, string | null>();
    for (
      const pair of new Map(wanted.map((w) => [w.pair.id, w.pair])).values()
    ) {
      const page = await ctx.rest.trades(pair.restKey, {
        since: sinceSec,
        count: 1,
      });
      ago.set(pair.id, page.rows[0]?.[0] ?? null);
    }
    const rows: TickerRow[] = [];
    for (const { input, pair } of wanted) {
      const info = byId.get(pair.id);
      if (info === undefined) {
        throw new Error(`Kraken returned no ticker for "${pair.wsV2}"`);
      }
      rows.push(tickerRow(input, pair, info, ago.get(pair.id) ?? null));
    }
    if (flags.json) {
      writeJson(io, { tickers: rows });
      return 0;
    }
    const color = colorAllowed(io);
    writeLine(
      io.stdout,
      table(
        ["pair", "last", "bid", "ask", "24h %", "24h volume"],
        rows.map((r) => [
          r.symbol,
          r.last,
          r.bid,
          r.ask,
          r.change24hPct === null || r.change24hPct === 0
            ? formatPct(r.change24hPct)
            : paint(
              color,
              r.change24hPct > 0 ? "32" : "31",
              formatPct(r.change24hPct),
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
  summary: "Show last, bid, ask, 24h % change and volume for pairs",
  help: TICKER_HELP,
  parse: parseTickerArgs,
  run: runTicker,
};
