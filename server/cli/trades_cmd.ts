/**
 * `krakked trades <pair>`: recent public trades, once from REST `Trades`,
 * or with `--watch` streamed from the public WS v2 `trade` channel until
 * Ctrl+C or `--updates N`.
 *
 * @module
 */

import type { PairMetadata } from "@krakked/core/market/pairs";
import type { TradeRow } from "@krakked/core/rest/types";
import type { Redactor } from "@krakked/core/secrets/redact";
import type { Trade } from "@krakked/core/ws/protocol";
import { integerFlag, isUsageError, type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, table } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import { watchFlags } from "./orderbook_cmd.ts";
import { marketOf, type PairJson, pairJson, resolvePair } from "./symbols.ts";
import { runWatch } from "./watch.ts";

/** Help text of `krakked trades`. */
export const TRADES_HELP =
  `Usage: krakked trades <pair> [--count N] [--json] [--watch [--updates N]]

Shows a pair's most recent public trades (any spelling: BTC/USD, XBTUSD,
btc-usd), oldest first: time (UTC), taker side, price, volume, order type.
Once from REST Trades; with --watch, streamed from Kraken's WebSocket v2
trade channel (starting with its snapshot of recent trades) until Ctrl+C.

  --count N     trades to show, 1 to 1000 (default 20)
  --json        print {"pair": {symbol, id, restKey}, "source", "trades": [{time, side,
                price, qty, type, tradeId}]}; with --watch one
                {"pair", "source", "trade"} per line
  --watch       stream from WebSocket v2 (connection.ws_public_url) until Ctrl+C
  --updates N   with --watch: stop after N trades

Exit codes: 0 ok, 1 error, 2 usage (an unknown pair), 4 network.`;

/** Parsed `trades` flags. */
export interface TradesFlags {
  /** Discriminator: the command. */
  kind: "trades";
  /** The pair, any spelling. */
  pair: string;
  /** Trades to show (REST). */
  count: number;
  /** `--json`. */
  json: boolean;
  /** `--watch`. */
  watch: boolean;
  /** `--updates N`. */
  updates: number | undefined;
}

/**
 * Parse `trades` arguments. Pure.
 *
 * @param args Arguments after `trades`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseTradesArgs } from "./trades_cmd.ts";
 * parseTradesArgs(["XBTUSD", "--count", "5"]);
 * // { kind: "trades", pair: "XBTUSD", count: 5, json: false, watch: false, updates: undefined }
 * ```
 */
export function parseTradesArgs(args: readonly string[]): Parsed<TradesFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "watch"],
    values: ["count", "updates"],
    positionals: ["pair"],
  });
  if (parsed.kind !== "flags") return parsed;
  const count = integerFlag(parsed, "count", { min: 1, max: 1000 });
  if (isUsageError(count)) return count;
  const watch = watchFlags(parsed);
  if (isUsageError(watch)) return watch;
  return {
    kind: "trades",
    pair: parsed.positionals[0]!,
    count: count ?? 20,
    json: parsed.booleans.has("json"),
    ...watch,
  };
}

/** One trade as printed. */
export interface TradeJson {
  /** Trade time, ISO 8601 UTC. */
  time: string;
  /** The taker's side. */
  side: "buy" | "sell";
  /** Price, Kraken's decimal text. */
  price: string;
  /** Volume in the base asset, Kraken's decimal text. */
  qty: string;
  /** The taker's order type (`market`, `limit`), when Kraken says. */
  type: string | null;
  /** Kraken's trade id, when given. */
  tradeId: number | null;
}

/**
 * A REST `Trades` row as printed. Pure.
 *
 * @param row `[price, volume, time, side, ordertype, misc, trade_id?]`.
 * @returns The trade.
 * @example Row
 * ```ts
 * import { tradeFromRest } from "./trades_cmd.ts";
 * tradeFromRest(["97000.1", "0.01", 1750000000.5, "b", "m", "", 7]).side; // "buy"
 * ```
 */
export function tradeFromRest(row: TradeRow): TradeJson {
  const [price, qty, timeSec, side, type, , tradeId] = row;
  return {
    time: new Date(Math.round(timeSec * 1000)).toISOString(),
    side: side === "b" ? "buy" : "sell",
    price,
    qty,
    type: type === "m" ? "market" : type === "l" ? "limit" : null,
    tradeId: tradeId ?? null,
  };
}

/**
 * A WS v2 trade as printed. Pure.
 *
 * @param trade The parsed WS trade.
 * @returns The trade.
 * @example Trade
 * ```ts ignore
 * tradeFromWs(frame.trades[0]).price;
 * ```
 */
export function tradeFromWs(trade: Trade): TradeJson {
  const ms = Date.parse(trade.timestamp);
  return {
    time: Number.isFinite(ms) ? new Date(ms).toISOString() : trade.timestamp,
    side: trade.side,
    price: trade.price,
    qty: trade.qty,
    type: trade.ordType ?? null,
    tradeId: trade.tradeId ?? null,
  };
}

function cells(t: TradeJson): string[] {
  return [t.time, t.side, t.price, t.qty, t.type ?? "-"];
}

/**
 * Run `krakked trades`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Output redactor.
 * @returns 0.
 * @throws {import("@krakked/core/market/pairs").UnknownPairError} For a pair no spelling matches.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Run
 * ```ts ignore
 * await runTrades(flagsOf(parseTradesArgs(["BTC/USD"])), io);
 * ```
 */
export async function runTrades(
  flags: TradesFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const { resolver } = await marketOf(ctx);
    const pair = resolvePair(resolver, flags.pair, "trades");
    if (!flags.watch) {
      const result = await ctx.rest.trades(pair.restKey, {
        count: flags.count,
      });
      const trades = result.rows.slice(-flags.count).map(tradeFromRest);
      if (flags.json) {
        writeJson(io, { pair: pairJson(pair), source: "rest", trades });
      } else {
        writeLine(io.stdout, `${pair.wsV2} recent trades (REST Trades)`);
        writeLine(
          io.stdout,
          table(
            ["time (UTC)", "side", "price", "volume", "type"],
            trades.map(cells),
            [2, 3],
          ),
        );
      }
      return 0;
    }
    await watchTrades(flags, io, pair, ctx.config.connection.ws_public_url);
    return 0;
  } finally {
    ctx.rest.close();
  }
}

async function watchTrades(
  flags: TradesFlags,
  io: CliIo,
  pair: PairMetadata,
  url: string,
): Promise<void> {
  const symbol = pair.wsV2.toUpperCase();
  const json: PairJson = pairJson(pair);
  // Fixed columns so streamed lines line up without a table.
  const widths = [24, 4, 0, 0, 0];
  let header = false;
  await runWatch(io, {
    url,
    updates: flags.updates,
    command: "trades",
    start: (connection, printed) => {
      let left = flags.updates ?? Infinity;
      connection.on("frame", (frame) => {
        if (frame.kind !== "trade") return;
        for (const trade of frame.trades) {
          if (left <= 0) return;
          if (trade.symbol.toUpperCase() !== symbol) continue;
          const t = tradeFromWs(trade);
          if (flags.json) {
            io.stdout(
              `${JSON.stringify({ pair: json, source: "ws", trade: t })}\n`,
            );
          } else {
            if (!header) {
              writeLine(
                io.stdout,
                `${pair.wsV2} trades (WebSocket v2), Ctrl+C to stop`,
              );
              header = true;
            }
            writeLine(
              io.stdout,
              cells(t).map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")
                .trimEnd(),
            );
          }
          left--;
          printed();
        }
      });
      // Kraken sends no trade snapshot unless asked (WS_V2.md, trade).
      connection.subscribe({ channel: "trade", symbol, snapshot: true });
    },
  });
}

/** `krakked trades`, for the command table. */
export const tradesCommand: Command<TradesFlags> = {
  name: "trades",
  summary: "Show a pair's recent public trades (--watch streams them)",
  help: TRADES_HELP,
  parse: parseTradesArgs,
  run: runTrades,
};
