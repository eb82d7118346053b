/**
 * `krakked pnl`: realised and unrealised P&L in USD by FIFO lots, fees in
 * the asset that paid them, deposits and withdrawals kept apart
 * (core/account). Also holds what `equity` and `ledger` share: the live
 * quotes and the table/JSON/CSV output. Loading the account's history and
 * the P&L document live in server/trading/account_history.ts, which the
 * server uses too; they are re-exported here for the commands.
 *
 * @module
 */

import type { HydrationStats } from "@krakked/core/account/history_cache";
import type { PnlGrouping } from "@krakked/core/account/pnl";
import {
  type Quote,
  type QuoteSource,
  usdPrice,
  VALUATION_ASSET,
} from "@krakked/core/account/rates";
import { roundDecimal, toFixedDecimals } from "@krakked/core/decimal";
import type { PairMetadata } from "@krakked/core/market/pairs";
import { Redactor } from "@krakked/core/secrets/redact";
import { accountCacheDir } from "../deno/account_store.ts";
import {
  choiceFlag,
  isUsageError,
  type Parsed,
  type ParsedFlags,
  parseFlags,
  sinceFlag,
  usageError,
  type UsageProblem,
} from "./args.ts";
import type { Command } from "./command.ts";
import {
  type CliContext,
  loadCommandContext,
  requireCredentials,
  table,
} from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import {
  type AccountData,
  loadAccountHistory,
  markPairs,
  pnlDocument,
  type PnlInput,
  type PnlJson,
  type PnlRange,
  pnlReport,
  tickerQuotes,
} from "../trading/account_history.ts";

export {
  type AccountData,
  loadAccountHistory,
  markPairs,
  pnlDocument,
  type PnlInput,
  type PnlJson,
  type PnlRange,
  pnlReport,
  tickerQuotes,
};

/** How a report is printed. */
export type OutputFormat = "table" | "json" | "csv";

/**
 * Reads `--json` / `--csv` (one at most).
 *
 * @param parsed Parsed flags with `json` and `csv` booleans.
 * @returns The format, or a usage error when both are given.
 */
export function outputFormat(parsed: ParsedFlags): OutputFormat | UsageProblem {
  const json = parsed.booleans.has("json");
  const csv = parsed.booleans.has("csv");
  if (json && csv) return usageError("Give --json or --csv, not both");
  return json ? "json" : csv ? "csv" : "table";
}

function csvCell(value: string | number | null): string {
  const text = value === null ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes rows as CSV (RFC 4180 quoting), header first.
 *
 * @param io The run's I/O.
 * @param headers Column names.
 * @param rows Cells per row.
 */
export function writeCsv(
  io: Pick<CliIo, "stdout">,
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): void {
  const lines = [headers, ...rows].map((r) => r.map(csvCell).join(","));
  io.stdout(`${lines.join("\n")}\n`);
}

/**
 * Loads trades and ledger through the incremental cache in the config
 * directory (`account/<hash of URL and key>/`).
 *
 * @param ctx The command context (credentials required).
 * @returns The history.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function loadAccountData(ctx: CliContext): Promise<AccountData> {
  requireCredentials(ctx.credentials);
  const key = ctx.credentials?.kind === "found"
    ? ctx.credentials.credentials.key.reveal()
    : "";
  const dir = await accountCacheDir(
    ctx.paths.dir,
    ctx.config.connection.rest_url,
    key,
  );
  return await loadAccountHistory(ctx.rest, dir);
}

/**
 * Live quotes (REST `Ticker`) of the pairs that can price `needed`: each
 * asset's USD pair and its cross pairs, and the crosses' USD pairs. The
 * CLI's one-shot read; the server marks from its WS book feed instead
 * (server/trading/account_marks.ts).
 *
 * @param ctx The command context.
 * @param pairs Pair metadata.
 * @param needed Common codes to price.
 * @param currencies Valuation currencies (default USD).
 * @returns A quote source.
 */
export async function liveQuotes(
  ctx: Pick<CliContext, "rest">,
  pairs: readonly PairMetadata[],
  needed: Iterable<string>,
  currencies: readonly string[] = [VALUATION_ASSET],
): Promise<QuoteSource> {
  const wanted = markPairs(pairs, needed, currencies);
  const book = new Map<string, Quote>();
  if (wanted.length > 0) {
    const ticker = await ctx.rest.ticker(wanted.map((p) => p.restKey));
    for (const [id, quote] of tickerQuotes(ticker, wanted)) {
      const pair = wanted.find((p) => p.id === id)!;
      book.set(`${pair.base}/${pair.quote}`, quote);
    }
  }
  return (base, quote) => book.get(`${base}/${quote}`);
}

/** Help text of `krakked pnl`. */
export const PNL_HELP =
  `Usage: krakked pnl [--since DATE] [--pair P] [--by asset|pair|day] [--json|--csv]

Profit and loss in USD, by FIFO lots per asset, from the account's
TradesHistory and Ledgers (read only; cached in <config dir>/account/, so
later runs fetch only new rows). Fees count in the asset that paid them
(quote, base or KFEE at 0.01 USD), valued when the trade happened; deposits
and withdrawals are kept apart from performance; staking rewards and
rebates are income. Open lots are marked at the live mid (USD pair, else
via XBT or USDT); whatever has no price is listed, never valued at 0.

  --since DATE   only what happened from DATE on: YYYY-MM-DD, ISO date-time (UTC) or Unix seconds
  --pair P       realised P&L and fees of one pair (any spelling: XBTUSD, BTC/USD)
  --by G         group realised P&L and fees by asset (default), pair or day (UTC)
  --json         print the whole report as JSON (decimal strings)
  --csv          print the groups as CSV`;

/** Parsed `pnl` flags. */
export interface PnlFlags {
  /** Discriminator: the command. */
  kind: "pnl";
  /** Range start, Unix seconds. */
  sinceSec: number | undefined;
  /** Pair filter, as typed. */
  pair: string | undefined;
  /** Grouping. */
  by: PnlGrouping;
  /** Output. */
  format: OutputFormat;
}

/**
 * Parse `pnl` flags. Pure.
 *
 * @param args Arguments after `pnl`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parsePnlArgs } from "./pnl_cmd.ts";
 * parsePnlArgs(["--by", "day", "--json"]);
 * ```
 */
export function parsePnlArgs(args: readonly string[]): Parsed<PnlFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "csv"],
    values: ["since", "pair", "by"],
  });
  if (parsed.kind !== "flags") return parsed;
  const format = outputFormat(parsed);
  if (isUsageError(format)) return format;
  const sinceSec = sinceFlag(parsed);
  if (isUsageError(sinceSec)) return sinceSec;
  const by = choiceFlag(parsed, "by", ["asset", "pair", "day"] as const);
  if (isUsageError(by)) return by;
  return {
    kind: "pnl",
    sinceSec,
    pair: parsed.values.get("pair"),
    by: by ?? "asset",
    format,
  };
}

/**
 * Money text for a table: rounded half up to two decimals (cents).
 *
 * @param value Exact decimal text.
 * @returns E.g. `"56.62"`.
 */
export function centsText(value: string): string {
  return toFixedDecimals(roundDecimal(value, 2), 2);
}

function hydrationLine(h: AccountData["hydration"]): string {
  const one = (name: string, s: HydrationStats) =>
    `${name} ${s.mode}: ${s.pages} page${
      s.pages === 1 ? "" : "s"
    }, ${s.added} new, ${s.total} cached`;
  return `${one("trades", h.trades)}; ${one("ledger", h.ledger)}`;
}

/**
 * Run `krakked pnl`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the credentials so no output shows them.
 * @returns 0.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function runPnl(
  flags: PnlFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadCommandContext(io, { credentials: true, redactor });
  try {
    const data = await loadAccountData(ctx);
    const held = new Set<string>();
    for (const t of data.trades) held.add(t.base).add(t.quote);
    for (const f of data.flows) held.add(f.asset);
    const quotes = await liveQuotes(ctx, data.pairs, held);
    const doc = pnlDocument(
      data,
      flags,
      (asset) => usdPrice(asset, quotes)?.price ?? null,
    );
    writeLine(io.stderr, hydrationLine(data.hydration));
    if (flags.format === "json") {
      writeJson(io, doc);
      return 0;
    }
    // CSV keeps every decimal; the table shows cents (JSON is exact too).
    const cents = flags.format === "csv" ? (x: string) => x : centsText;
    const rows = doc.groups.map((g) => [
      g.key,
      cents(g.realizedPnl),
      cents(g.fees),
      cents(g.net),
      g.unrealizedPnl === null ? "" : cents(g.unrealizedPnl),
    ]);
    if (flags.format === "csv") {
      writeCsv(
        io,
        [flags.by, "realized_pnl", "fees", "net", "unrealized_pnl"],
        rows,
      );
      return 0;
    }
    writeLine(
      io.stdout,
      table([flags.by, "realised", "fees", "net", "unrealised"], rows, [
        1,
        2,
        3,
        4,
      ]),
    );
    const t = doc.totals;
    writeLine(
      io.stdout,
      [
        "",
        `realised ${cents(t.realizedPnl)}  fees ${cents(t.fees)}  income ${
          cents(t.income)
        }  unrealised ${cents(t.unrealizedPnl)} (change ${
          cents(t.unrealizedChange)
        })`,
        `performance ${cents(t.performance)} USD  net deposits ${
          cents(t.netDeposits)
        } USD  trades ${t.trades}`,
        ...(doc.unpriced.length > 0
          ? [
            `unpriced (left out of the sums): ${
              doc.unpriced.map((u) => `${u.kind} ${u.id} (${u.asset})`).join(
                ", ",
              )
            }`,
          ]
          : []),
      ].join("\n"),
    );
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked pnl`, for the command table. */
export const pnlCommand: Command<PnlFlags> = {
  name: "pnl",
  summary: "Show realised and unrealised P&L (FIFO, USD, after fees)",
  help: PNL_HELP,
  parse: parsePnlArgs,
  run: runPnl,
};
