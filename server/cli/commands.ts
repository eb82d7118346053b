/**
 * The command table: every `krakked` command, in the order `krakked --help`
 * lists them. Adding a command is one new `<name>_cmd.ts` exporting a
 * {@linkcode Command} and one line here; `main` derives the names, the help
 * list, parsing and dispatch from this array.
 *
 * @module
 */

import { balanceCommand } from "./balance_cmd.ts";
import { cancelCommand } from "./cancel_cmd.ts";
import { closeCommand } from "./close_cmd.ts";
import type { Command } from "./command.ts";
import { doctorCommand } from "./doctor_cmd.ts";
import { equityCommand } from "./equity_cmd.ts";
import { ledgerCommand } from "./ledger_cmd.ts";
import { loadCommand } from "./load_cmd.ts";
import { logsCommand } from "./logs_cmd.ts";
import { ohlcCommand } from "./ohlc_cmd.ts";
import { orderbookCommand } from "./orderbook_cmd.ts";
import { orderCommand } from "./order_cmd.ts";
import { ordersCommand } from "./orders_cmd.ts";
import { paperCommand } from "./paper_cmd.ts";
import { pnlCommand } from "./pnl_cmd.ts";
import { recordCommand } from "./record_cmd.ts";
import { serveCommand } from "./serve_cmd.ts";
import { setupCommand } from "./setup_cmd.ts";
import { simCommand } from "./sim_cmd.ts";
import { statusCommand } from "./status_cmd.ts";
import { tickerCommand } from "./ticker_cmd.ts";
import { tradesCommand } from "./trades_cmd.ts";
import { universeCommand } from "./universe_cmd.ts";

/** Every command, in help order. */
export const COMMANDS = [
  setupCommand,
  doctorCommand,
  statusCommand,
  universeCommand,
  tickerCommand,
  orderbookCommand,
  tradesCommand,
  balanceCommand,
  equityCommand,
  pnlCommand,
  ledgerCommand,
  ordersCommand,
  orderCommand,
  closeCommand,
  cancelCommand,
  paperCommand,
  ohlcCommand,
  recordCommand,
  loadCommand,
  serveCommand,
  logsCommand,
  simCommand,
] as const;

/** One entry of {@linkcode COMMANDS}. */
export type AnyCommand = typeof COMMANDS[number];

/** The names of the commands. */
export type CommandName = AnyCommand["name"];

/** The parsed flags of any command, tagged by the command's name. */
export type CommandFlags = AnyCommand extends infer C
  ? C extends Command<infer F> ? F : never
  : never;

/**
 * The command of a name.
 *
 * @param name Any word.
 * @returns The command, or `undefined` when no command has that name.
 * @example Look up
 * ```ts
 * import { findCommand } from "./commands.ts";
 * findCommand("ticker")?.summary;
 * findCommand("frob"); // undefined
 * ```
 */
export function findCommand(name: string): AnyCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}
