/**
 * `krakked equity`: what the account is worth now in USD — every
 * `BalanceEx` balance (staked and earn wallets shown apart, folded in the
 * total) at the live mid, through the USD pair or a cross (XBT, USDT).
 * With `--history`: equity at each UTC day end, reconstructed from the
 * ledger's balances at the account's own USD fill prices — the series the
 * Portfolio view charts (core/account/equity_history.ts).
 *
 * @module
 */

import { equityOf, type EquityReport } from "@krakked/core/account/equity";
import { equityHistory, type EquityPoint } from "@krakked/core/account/mod";
import { tradeRates } from "@krakked/core/account/rates";
import { AssetTable } from "@krakked/core/market/assets";
import { pairsFromAssetPairs } from "@krakked/core/market/pairs";
import { VALUATION_ASSET } from "@krakked/core/account/rates";
import { Redactor } from "@krakked/core/secrets/redact";
import {
  isUsageError,
  type Parsed,
  parseFlags,
  sinceFlag,
  usageError,
} from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, requireCredentials, table } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import {
  centsText,
  liveQuotes,
  loadAccountData,
  type OutputFormat,
  outputFormat,
  writeCsv,
} from "./pnl_cmd.ts";

/** Help text of `krakked equity`. */
export const EQUITY_HELP = `Usage: krakked equity [--quote Q] [--json|--csv]
       krakked equity --history [--since DATE] [--json|--csv]

The account's equity in USD now: every balance (read-only BalanceEx call),
staked and earn wallets (ETH.S, DOT.F) on their own lines and folded into the
total, valued at the live mid of the asset's USD pair, or through its XBT or
USDT pair when it has none. KFEE fee credits count at 0.01 USD. An asset with
no price is listed as unpriced and left out of the total, never valued at 0.

  --quote Q  also value it in Q (default: region.default_quote of the config,
             when that is not USD), e.g. EUR
  --json     print {valuation, total, complete, lines, byAsset, unpriced,
             inQuote} (inQuote: the same in Q, or null)
  --csv      print the lines as CSV (USD)

  --history     equity over time instead: at each UTC day end, every ledger
                balance (the balance Kraken prints on each Ledgers entry)
                valued at the account's own latest USD fill of the asset then
                (no market data read; an asset never traded against USD is
                listed as unpriced on that day). At most 400 points: one a
                day, or one every few days over a longer history; the last
                point is now. Reads TradesHistory and Ledgers through the
                same cache as 'krakked pnl'. The Portfolio page charts it.
  --since DATE  with --history: from DATE (YYYY-MM-DD, ISO date-time, Unix s)
  --json        with --history: [{timeSec, day, total, complete, unpriced}]`;

/** Parsed `equity` flags. */
export interface EquityFlags {
  /** Discriminator: the command. */
  kind: "equity";
  /** Output. */
  format: OutputFormat;
  /** A second valuation currency, as typed (default from the config). */
  quote: string | undefined;
  /** Equity over time from the ledger instead of now. */
  history: boolean;
  /** With `history`: range start, Unix seconds. */
  sinceSec: number | undefined;
}

/**
 * Parse `equity` flags. Pure.
 *
 * @param args Arguments after `equity`.
 * @returns The flags, help, or a usage error.
 * @example Parse
 * ```ts
 * import { parseEquityArgs } from "./equity_cmd.ts";
 * parseEquityArgs(["--csv"]).kind; // "equity"
 * ```
 */
export function parseEquityArgs(
  args: readonly string[],
): Parsed<EquityFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "csv", "history"],
    values: ["quote", "since"],
  });
  if (parsed.kind !== "flags") return parsed;
  const format = outputFormat(parsed);
  if (isUsageError(format)) return format;
  const history = parsed.booleans.has("history");
  const quote = parsed.values.get("quote");
  if (history && quote !== undefined) {
    return usageError("--quote values equity now; --history is in USD");
  }
  if (!history && parsed.values.has("since")) {
    return usageError("--since needs --history");
  }
  const sinceSec = sinceFlag(parsed);
  if (isUsageError(sinceSec)) return sinceSec;
  return { kind: "equity", format, quote, history, sinceSec };
}

/**
 * The `equity --history` series of a loaded account. Pure.
 *
 * @param data Trades and ledger (`loadAccountData`).
 * @param nowSec The range end, Unix seconds.
 * @param sinceSec The range start, or the first ledger entry's day.
 * @returns Points, oldest first.
 */
export function equityHistoryOf(
  data: Pick<Awaited<ReturnType<typeof loadAccountData>>, "trades" | "flows">,
  nowSec: number,
  sinceSec?: number,
): EquityPoint[] {
  return equityHistory(data.flows, tradeRates(data.trades), {
    toSec: nowSec,
    ...(sinceSec === undefined ? {} : { fromSec: sinceSec }),
  });
}

async function runHistory(
  flags: EquityFlags,
  io: CliIo,
  ctx: Awaited<ReturnType<typeof loadCommandContext>>,
): Promise<number> {
  const data = await loadAccountData(ctx);
  const points = equityHistoryOf(data, Date.now() / 1000, flags.sinceSec);
  if (flags.format === "json") {
    writeJson(io, points);
    return 0;
  }
  const rows = points.map((p) => [
    p.day,
    flags.format === "csv" ? p.total : centsText(p.total),
    p.unpriced.join(" "),
  ]);
  if (flags.format === "csv") {
    writeCsv(io, ["day", "equity_usd", "unpriced"], rows);
    return 0;
  }
  writeLine(
    io.stdout,
    points.length === 0
      ? "No ledger entries yet."
      : table(["day (UTC end)", "equity USD", "unpriced"], rows, [1]),
  );
  return 0;
}

/**
 * Run `krakked equity`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the credentials so no output shows them.
 * @returns 0.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function runEquity(
  flags: EquityFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadCommandContext(io, { credentials: true, redactor });
  try {
    requireCredentials(ctx.credentials);
    if (flags.history) return await runHistory(flags, io, ctx);
    const [assets, balances] = await Promise.all([
      ctx.rest.assets().then(
        (a) => AssetTable.fromAssets(a),
        () => AssetTable.fallback(),
      ),
      ctx.rest.balanceEx(),
    ]);
    const pairs = pairsFromAssetPairs(await ctx.rest.assetPairs(), { assets });
    const needed = Object.keys(balances).map((k) =>
      assets.parseBalance(k).asset
    );
    const quoteCode = assets.toCommon(
      flags.quote ?? ctx.config.region.default_quote,
    );
    const second = quoteCode === VALUATION_ASSET ? null : quoteCode;
    const quotes = await liveQuotes(
      ctx,
      pairs,
      needed,
      second === null ? [VALUATION_ASSET] : [VALUATION_ASSET, second],
    );
    const report: EquityReport = equityOf(balances, assets, quotes);
    const inQuote = second === null
      ? null
      : equityOf(balances, assets, quotes, { valuation: second });
    if (flags.format === "json") {
      writeJson(io, { ...report, inQuote });
      return 0;
    }
    const rows = report.lines.map((l) => [
      l.wallet === null ? l.asset : `${l.asset}.${l.wallet}`,
      l.balance,
      l.price ?? "",
      l.value === null
        ? "unpriced"
        : flags.format === "csv"
        ? l.value
        : centsText(l.value),
      l.route.join(" × "),
    ]);
    if (flags.format === "csv") {
      writeCsv(
        io,
        ["asset", "balance", "price_usd", "value_usd", "route"],
        rows,
      );
      return 0;
    }
    writeLine(
      io.stdout,
      table(["asset", "balance", "price", "value USD", "via"], rows, [1, 2, 3]),
    );
    if (inQuote !== null) {
      writeLine(
        io.stdout,
        `\nequity in ${inQuote.valuation}: ${centsText(inQuote.total)}${
          inQuote.complete
            ? ""
            : ` (without unpriced: ${inQuote.unpriced.join(", ")})`
        }`,
      );
    }
    writeLine(
      io.stdout,
      `${inQuote === null ? "\n" : ""}equity ${centsText(report.total)} USD${
        report.complete
          ? ""
          : ` (without unpriced: ${report.unpriced.join(", ")})`
      }`,
    );
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked equity`, for the command table. */
export const equityCommand: Command<EquityFlags> = {
  name: "equity",
  summary: "Show the account's equity in USD, every balance priced",
  help: EQUITY_HELP,
  parse: parseEquityArgs,
  run: runEquity,
};
