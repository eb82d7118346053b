/**
 * `krakked orderbook <pair>`: the order book's best levels, once from REST
 * `Depth`, or with `--watch` streamed from the public WS v2 `book` channel
 * (checksummed by core's book set) until Ctrl+C or `--updates N`.
 *
 * @module
 */

import { subtractDecimal, toFixedDecimals } from "@krakked/core/decimal";
import type { PairMetadata } from "@krakked/core/market/pairs";
import type { Redactor } from "@krakked/core/secrets/redact";
import type { BookDepth } from "@krakked/core/ws/book";
import {
  integerFlag,
  isUsageError,
  type Parsed,
  parseFlags,
  usageError,
} from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, table } from "./context.ts";
import { type CliIo, writeLine } from "./io.ts";
import { marketOf, type PairJson, pairJson, resolvePair } from "./symbols.ts";
import { BOOK_PRINT_INTERVAL_MS, coalesce, runWatch } from "./watch.ts";

/** Help text of `krakked orderbook`. */
export const ORDERBOOK_HELP =
  `Usage: krakked orderbook <pair> [--depth N] [--json] [--watch [--updates N]]

Shows the best bids and asks of a pair (any spelling: BTC/USD, XBTUSD,
btc-usd) and the spread. Once from REST Depth; with --watch, streamed from
Kraken's WebSocket v2 book channel (each update checksummed), redrawn at
most 4 times a second, until Ctrl+C.

  --depth N     levels per side, 1 to 500 (default 10)
  --json        print {"pair": {symbol, id, restKey}, "source", "bids": [{price, qty}],
                "asks": [...], "spread"}; with --watch one such object per line
  --watch       stream from WebSocket v2 (connection.ws_public_url) until Ctrl+C
  --updates N   with --watch: stop after N printed updates

Exit codes: 0 ok, 1 error, 2 usage (an unknown pair), 4 network.`;

/** Parsed `orderbook` flags. */
export interface OrderbookFlags {
  /** Discriminator: the command. */
  kind: "orderbook";
  /** The pair, any spelling. */
  pair: string;
  /** Levels per side. */
  depth: number;
  /** `--json`. */
  json: boolean;
  /** `--watch`. */
  watch: boolean;
  /** `--updates N`: with `--watch`, stop after N updates. */
  updates: number | undefined;
}

/**
 * Read `--watch` and `--updates N`, shared by the streaming commands. Pure.
 *
 * @param parsed The parsed flags.
 * @returns `{ watch, updates }`, or a usage error (`--updates` without
 *   `--watch`, or not a whole number from 1).
 * @example Read
 * ```ts ignore
 * watchFlags(parsed); // { watch: true, updates: 3 }
 * ```
 */
export function watchFlags(
  parsed: import("./args.ts").ParsedFlags,
):
  | { watch: boolean; updates: number | undefined }
  | import("./args.ts").UsageProblem {
  const watch = parsed.booleans.has("watch");
  const updates = integerFlag(parsed, "updates", { min: 1, max: 1_000_000 });
  if (isUsageError(updates)) return updates;
  if (updates !== undefined && !watch) {
    return usageError("--updates goes with --watch");
  }
  return { watch, updates };
}

/**
 * Parse `orderbook` arguments. Pure.
 *
 * @param args Arguments after `orderbook`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseOrderbookArgs } from "./orderbook_cmd.ts";
 * parseOrderbookArgs(["BTC/USD", "--depth", "5"]);
 * // { kind: "orderbook", pair: "BTC/USD", depth: 5, json: false, watch: false, updates: undefined }
 * ```
 */
export function parseOrderbookArgs(
  args: readonly string[],
): Parsed<OrderbookFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "watch"],
    values: ["depth", "updates"],
    positionals: ["pair"],
  });
  if (parsed.kind !== "flags") return parsed;
  const depth = integerFlag(parsed, "depth", { min: 1, max: 500 });
  if (isUsageError(depth)) return depth;
  const watch = watchFlags(parsed);
  if (isUsageError(watch)) return watch;
  return {
    kind: "orderbook",
    pair: parsed.positionals[0]!,
    depth: depth ?? 10,
    json: parsed.booleans.has("json"),
    ...watch,
  };
}

/** One side's level. */
export interface LevelJson {
  /** Price, Kraken's decimal text. */
  price: string;
  /** Quantity in the base asset, Kraken's decimal text. */
  qty: string;
}

/** What `orderbook --json` prints (one per line with `--watch`). */
export interface OrderbookJson {
  /** The pair. */
  pair: PairJson;
  /** `rest` (Depth) or `ws` (the v2 book channel, checksum verified). */
  source: "rest" | "ws";
  /** Bids, best (highest) first. */
  bids: LevelJson[];
  /** Asks, best (lowest) first. */
  asks: LevelJson[];
  /** Best ask − best bid, at the pair's price decimals; `null` when a side is empty. */
  spread: string | null;
  /** When it was read, ISO 8601 (local clock). */
  at: string;
}

/**
 * The book view of one pair. Pure.
 *
 * @param pair The pair's metadata.
 * @param book Bids and asks, best first.
 * @param options Source and time.
 * @returns The JSON object (also what the text is drawn from).
 * @example View
 * ```ts ignore
 * bookView(pair, { bids, asks }, { source: "rest", atMs: Date.now() }).spread;
 * ```
 */
export function bookView(
  pair: PairMetadata,
  book: { bids: readonly LevelJson[]; asks: readonly LevelJson[] },
  options: { source: "rest" | "ws"; atMs: number },
): OrderbookJson {
  const bid = book.bids[0]?.price;
  const ask = book.asks[0]?.price;
  return {
    pair: pairJson(pair),
    source: options.source,
    bids: book.bids.map(({ price, qty }) => ({ price, qty })),
    asks: book.asks.map(({ price, qty }) => ({ price, qty })),
    spread: bid === undefined || ask === undefined
      ? null
      : toFixedDecimals(subtractDecimal(ask, bid), pair.priceDecimals),
    at: new Date(options.atMs).toISOString(),
  };
}

/**
 * The text of a book view: a header, bids and asks side by side, the
 * spread. Pure.
 *
 * @param view The view.
 * @returns The lines.
 * @example Draw
 * ```ts ignore
 * writeLine(io.stdout, bookText(view).join("\n"));
 * ```
 */
export function bookText(view: OrderbookJson): string[] {
  const rows: string[][] = [];
  const n = Math.max(view.bids.length, view.asks.length);
  for (let i = 0; i < n; i++) {
    const b = view.bids[i];
    const a = view.asks[i];
    rows.push([b?.qty ?? "", b?.price ?? "", a?.price ?? "", a?.qty ?? ""]);
  }
  const bid = view.bids[0]?.price;
  const spreadPct =
    view.spread === null || bid === undefined || Number(bid) === 0
      ? ""
      : ` (${pctText(Number(view.spread) / Number(bid) * 100)})`;
  return [
    `${view.pair.symbol} order book, top ${n} (${
      view.source === "rest" ? "REST Depth" : "WebSocket v2, checksum verified"
    }, ${view.at})`,
    table(["bid qty", "bid", "ask", "ask qty"], rows, [0, 1, 2, 3]),
    `spread ${view.spread ?? "-"}${spreadPct}`,
  ];
}

/** A small percentage with two significant digits, a larger one with 3 decimals. */
function pctText(pct: number): string {
  return `${pct === 0 || pct >= 0.01 ? pct.toFixed(3) : pct.toPrecision(2)}%`;
}

/** The WS v2 book depth that holds `levels` levels. */
function wsDepth(levels: number): BookDepth {
  const depths: BookDepth[] = [10, 25, 100, 500, 1000];
  return depths.find((d) => d >= levels) ?? 1000;
}

/**
 * Run `krakked orderbook`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Output redactor.
 * @returns 0.
 * @throws {import("@krakked/core/market/pairs").UnknownPairError} For a pair no spelling matches.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken cannot be read.
 * @example Run
 * ```ts ignore
 * await runOrderbook(flagsOf(parseOrderbookArgs(["BTC/USD"])), io);
 * ```
 */
export async function runOrderbook(
  flags: OrderbookFlags,
  io: CliIo,
  redactor?: Redactor,
): Promise<number> {
  const ctx = await loadCommandContext(io, { redactor });
  try {
    const { resolver } = await marketOf(ctx);
    const pair = resolvePair(resolver, flags.pair, "orderbook");
    const print = (view: OrderbookJson) => {
      if (flags.json) io.stdout(`${JSON.stringify(view)}\n`);
      else {
        // A redraw on a terminal, a log of snapshots otherwise.
        const clear = flags.watch && io.stdoutIsTerminal ? "\x1b[H\x1b[2J" : "";
        writeLine(io.stdout, `${clear}${bookText(view).join("\n")}`);
        if (flags.watch && !io.stdoutIsTerminal) writeLine(io.stdout, "");
      }
    };
    if (!flags.watch) {
      const depth = await ctx.rest.depth(pair.restKey, flags.depth);
      const level = ([price, qty]: readonly [string, string, number]) => ({
        price,
        qty,
      });
      const view = bookView(pair, {
        bids: depth.bids.slice(0, flags.depth).map(level),
        asks: depth.asks.slice(0, flags.depth).map(level),
      }, { source: "rest", atMs: io.now() });
      if (flags.json) io.stdout(`${JSON.stringify(view, null, 2)}\n`);
      else print(view);
      return 0;
    }
    const symbol = pair.wsV2.toUpperCase();
    let redraw: { request: () => void; cancel: () => void } | undefined;
    try {
      await runWatch(io, {
        url: ctx.config.connection.ws_public_url,
        updates: flags.updates,
        command: "orderbook",
        start: (connection, printed, books) => {
          redraw = coalesce(
            () => {
              const top = books.top(symbol, flags.depth);
              if (top === undefined) return;
              print(bookView(pair, top, { source: "ws", atMs: io.now() }));
              printed();
            },
            BOOK_PRINT_INTERVAL_MS,
            io.now,
          );
          connection.on("book", (result) => {
            if (result.kind === "applied" && result.symbol === symbol) {
              redraw!.request();
            }
          });
          connection.subscribe({
            channel: "book",
            symbol,
            depth: wsDepth(flags.depth),
            // The checksum hashes the pair's full precision.
            priceDecimals: pair.priceDecimals,
            qtyDecimals: pair.volumeDecimals,
          });
        },
      });
    } finally {
      redraw?.cancel();
    }
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked orderbook`, for the command table. */
export const orderbookCommand: Command<OrderbookFlags> = {
  name: "orderbook",
  summary: "Show a pair's best bids and asks (--watch streams them)",
  help: ORDERBOOK_HELP,
  parse: parseOrderbookArgs,
  run: runOrderbook,
};
