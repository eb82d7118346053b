/**
 * `krakked ledger`: the account's ledger (read-only `Ledgers`, cached
 * incrementally), each entry classified as external (deposit, withdrawal,
 * transfer), income (staking, rewards, rebates), trade or other. Reading the
 * ledger is all it does: no funding or withdrawal call exists in Krakked.
 *
 * @module
 */

import { type CashFlow, cashFlowKind } from "@krakked/core/account/ledger";
import { Redactor } from "@krakked/core/secrets/redact";
import {
  isUsageError,
  type Parsed,
  parseFlags,
  sinceFlag,
  usageError,
} from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, table } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";
import {
  loadAccountData,
  type OutputFormat,
  outputFormat,
  writeCsv,
} from "./pnl_cmd.ts";

/** Ledger types `--type` accepts (Kraken's list, docs/kraken/REST.md §5). */
export const LEDGER_TYPES = [
  "trade",
  "deposit",
  "withdrawal",
  "transfer",
  "margin",
  "adjustment",
  "rollover",
  "spend",
  "receive",
  "settled",
  "credit",
  "staking",
  "reward",
  "dividend",
  "sale",
  "conversion",
  "nfttrade",
  "nftcreatorfee",
  "nftrebate",
  "custodytransfer",
] as const;

/** Help text of `krakked ledger`. */
export const LEDGER_HELP =
  `Usage: krakked ledger [--type T[,T…]] [--asset A] [--since DATE] [--json|--csv]

The account's ledger, oldest first, read with the read-only Ledgers call and
cached in <config dir>/account/ (later runs fetch only new entries). Each
entry shows its kind: external (deposit, withdrawal, transfer), income
(staking, reward, credit, rebates), trade, or other.

  --type T     only these types: ${LEDGER_TYPES.join(", ")}
  --asset A    only this asset (any spelling: XBT, BTC, XXBT; wallets folded)
  --since DATE from DATE on: YYYY-MM-DD, ISO date-time (UTC) or Unix seconds
  --json       print {entries: [...]} with decimal strings
  --csv        print the entries as CSV`;

/** Parsed `ledger` flags. */
export interface LedgerFlags {
  /** Discriminator: the command. */
  kind: "ledger";
  /** Types to keep, or `undefined` for all. */
  types: string[] | undefined;
  /** Asset to keep, as typed. */
  asset: string | undefined;
  /** Range start, Unix seconds. */
  sinceSec: number | undefined;
  /** Output. */
  format: OutputFormat;
}

/**
 * Parse `ledger` flags. Pure.
 *
 * @param args Arguments after `ledger`.
 * @returns The flags, help, or a usage error (an unknown type names the list).
 * @example Parse
 * ```ts
 * import { parseLedgerArgs } from "./ledger_cmd.ts";
 * parseLedgerArgs(["--type", "deposit,withdrawal"]);
 * ```
 */
export function parseLedgerArgs(
  args: readonly string[],
): Parsed<LedgerFlags> {
  const parsed = parseFlags(args, {
    booleans: ["json", "csv"],
    values: ["type", "asset", "since"],
  });
  if (parsed.kind !== "flags") return parsed;
  const format = outputFormat(parsed);
  if (isUsageError(format)) return format;
  const sinceSec = sinceFlag(parsed);
  if (isUsageError(sinceSec)) return sinceSec;
  const typeText = parsed.values.get("type");
  let types: string[] | undefined;
  if (typeText !== undefined) {
    types = typeText.split(",").map((t) => t.trim().toLowerCase());
    const known: readonly string[] = LEDGER_TYPES;
    const bad = types.find((t) => !known.includes(t));
    if (bad !== undefined) {
      return usageError(
        `--type must be one of ${LEDGER_TYPES.join(", ")}, got ${
          JSON.stringify(bad)
        }`,
      );
    }
  }
  return {
    kind: "ledger",
    types,
    asset: parsed.values.get("asset"),
    sinceSec,
    format,
  };
}

/**
 * Filters ledger entries. Pure.
 *
 * @param flows Every entry, oldest first.
 * @param filter Types, folded asset and start time.
 * @returns The entries kept.
 */
export function filterLedger(
  flows: readonly CashFlow[],
  filter: {
    types?: string[] | undefined;
    asset?: string | undefined;
    sinceSec?: number | undefined;
  },
): CashFlow[] {
  return flows.filter((f) =>
    (filter.types === undefined || filter.types.includes(f.type)) &&
    (filter.asset === undefined || f.asset === filter.asset) &&
    (filter.sinceSec === undefined || f.timeSec >= filter.sinceSec)
  );
}

/**
 * Run `krakked ledger`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the credentials so no output shows them.
 * @returns 0.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 */
export async function runLedger(
  flags: LedgerFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadCommandContext(io, { credentials: true, redactor });
  try {
    const data = await loadAccountData(ctx);
    const asset = flags.asset === undefined
      ? undefined
      : data.assets.parseBalance(flags.asset).asset.replace(/^FEE$/, "KFEE");
    const entries = filterLedger(data.flows, {
      types: flags.types,
      asset,
      sinceSec: flags.sinceSec,
    });
    if (flags.format === "json") {
      writeJson(io, { entries, hydration: data.hydration.ledger });
      return 0;
    }
    const rows = entries.map((e) => [
      new Date(e.timeSec * 1000).toISOString(),
      e.id,
      e.refid,
      e.type,
      e.subtype,
      cashFlowKind(e.type),
      e.wallet === null ? e.asset : `${e.asset}.${e.wallet}`,
      e.amount,
      e.fee,
      e.balance,
    ]);
    const headers = [
      "time",
      "id",
      "refid",
      "type",
      "subtype",
      "kind",
      "asset",
      "amount",
      "fee",
      "balance",
    ];
    if (flags.format === "csv") {
      writeCsv(io, headers, rows);
      return 0;
    }
    writeLine(io.stdout, table(headers, rows, [7, 8, 9]));
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked ledger`, for the command table. */
export const ledgerCommand: Command<LedgerFlags> = {
  name: "ledger",
  summary: "List ledger entries: deposits, withdrawals, trades, staking",
  help: LEDGER_HELP,
  parse: parseLedgerArgs,
  run: runLedger,
};
