/**
 * `krakked balance`: balances from `BalanceEx` with common asset codes
 * (`BTC`, not `XXBT`) and the amount available to trade.
 *
 * @module
 */

import {
  fractionDigits,
  subtractDecimal,
  toFixedDecimals,
} from "@krakked/core/decimal";
import { AssetTable } from "@krakked/core/market/assets";
import type { ExtendedBalance } from "@krakked/core/rest/types";
import { Redactor } from "@krakked/core/secrets/redact";
import { type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { loadCommandContext, requireCredentials, table } from "./context.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";

/**
 * `balance − hold`, exactly, at the larger of the two scales, so the column
 * keeps the asset's trailing zeros as Kraken prints them.
 */
function availableText(balance: string, hold: string): string {
  const scale = Math.max(fractionDigits(balance), fractionDigits(hold));
  return toFixedDecimals(subtractDecimal(balance, hold), scale);
}

/** Help text of `krakked balance`. */
export const BALANCE_HELP = `Usage: krakked balance [--json]

Shows the account's balances (read-only BalanceEx call) with common asset
codes: BTC for XXBT, DOGE for XXDG, USD for ZUSD; staked and earn balances
keep their suffix (ETH.S, DOT.F). Available = balance - held for open orders.
Needs credentials: KRAKEN_API_KEY and KRAKEN_API_SECRET, or 'krakked setup'.

  --json   print {"balances": [{asset, key, suffix, balance, hold, available}]};
           amounts are Kraken's decimal strings`;

/** Parsed `balance` flags. */
export interface BalanceFlags {
  /** Discriminator: the command. */
  kind: "balance";
  /** Print JSON. */
  json: boolean;
}

/**
 * Parse `balance` flags. Pure.
 *
 * @param args Arguments after `balance`.
 * @returns The flags, help, or a usage error for an unknown flag or argument.
 * @example Parse
 * ```ts
 * import { parseBalanceArgs } from "./balance_cmd.ts";
 * parseBalanceArgs([]); // { kind: "balance", json: false }
 * ```
 */
export function parseBalanceArgs(
  args: readonly string[],
): Parsed<BalanceFlags> {
  const parsed = parseFlags(args, { booleans: ["json"] });
  if (parsed.kind !== "flags") return parsed;
  return { kind: "balance", json: parsed.booleans.has("json") };
}

/** One balance row of the JSON output. */
export interface BalanceRow {
  /** Common code with the suffix, e.g. `BTC`, `ETH.S`. */
  asset: string;
  /** The wire key, e.g. `XXBT`. */
  key: string;
  /** The balance suffix (`S`, `F`, …) or `null`. */
  suffix: string | null;
  balance: string;
  /** Held by open orders (`hold_trade`). */
  hold: string;
  /** `balance − hold`. */
  available: string;
}

/**
 * Build the rows from a `BalanceEx` result, sorted by asset. Pure.
 *
 * @param balances The `BalanceEx` result, keyed by asset key.
 * @param assets Asset names.
 * @returns The rows.
 * @example Rows
 * ```ts
 * import { AssetTable } from "@krakked/core/market/assets";
 * import { balanceRows } from "./balance_cmd.ts";
 * balanceRows({ XXBT: { balance: "1.5", hold_trade: "0.5" } }, AssetTable.fallback());
 * // [{ asset: "BTC", key: "XXBT", suffix: null, balance: "1.5", hold: "0.5", available: "1.0" }]
 * ```
 */
export function balanceRows(
  balances: Readonly<Record<string, ExtendedBalance>>,
  assets: AssetTable,
): BalanceRow[] {
  return Object.entries(balances).map(([key, b]) => {
    const { asset, suffix } = assets.parseBalance(key);
    const hold = b.hold_trade ?? "0";
    return {
      asset: suffix === null ? asset : `${asset}.${suffix}`,
      key,
      suffix,
      balance: b.balance,
      hold,
      available: availableText(b.balance, hold),
    };
  }).sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0));
}

/**
 * Run `krakked balance`.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the credentials so no output shows them.
 * @returns 0.
 * @throws {import("./errors.ts").CredentialsError} Without credentials.
 * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken refuses or cannot be reached.
 * @example Run
 * ```ts ignore
 * import { runBalance } from "./balance_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runBalance({ kind: "balance", json: true }, denoIo());
 * ```
 */
export async function runBalance(
  flags: BalanceFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadCommandContext(io, { credentials: true, redactor });
  try {
    requireCredentials(ctx.credentials, io.env);
    const [assetsResult, balances] = await Promise.all([
      ctx.rest.assets().then(
        (a) => AssetTable.fromAssets(a),
        () => AssetTable.fallback(),
      ),
      ctx.rest.balanceEx(),
    ]);
    const rows = balanceRows(balances, assetsResult);
    if (flags.json) {
      writeJson(io, { balances: rows });
      return 0;
    }
    writeLine(
      io.stdout,
      table(
        ["asset", "balance", "held", "available"],
        rows.map((r) => [r.asset, r.balance, r.hold, r.available]),
        [1, 2, 3],
      ),
    );
    return 0;
  } finally {
    ctx.rest.close();
  }
}

/** `krakked balance`, for the command table. */
export const balanceCommand: Command<BalanceFlags> = {
  name: "balance",
  summary: "Show balances, held and available amounts",
  help: BALANCE_HELP,
  parse: parseBalanceArgs,
  run: runBalance,
};
