/**
 * The krakked command: `deno task krakked <command> [flags]`, also the entry
 * point of `deno task serve`, `deno task sim` and the compiled binary.
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 network.
 *
 * @module
 */

import { Redactor } from "../core/secrets/redact.ts";
import {
  BALANCE_HELP,
  balanceCommand,
  type BalanceFlags,
  parseBalanceArgs,
} from "./cli/balance_cmd.ts";
import {
  DOCTOR_HELP,
  doctorCommand,
  type DoctorFlags,
  parseDoctorArgs,
} from "./cli/doctor_cmd.ts";
import { errorLine, EXIT, exitCodeForError, UsageError } from "./cli/errors.ts";
import { type CliIo, denoIo, writeLine } from "./cli/io.ts";
import {
  OHLC_HELP,
  ohlcCommand,
  type OhlcFlags,
  parseOhlcArgs,
} from "./cli/ohlc_cmd.ts";
import {
  CLOSE_HELP,
  closeCommand,
  type CloseFlags,
  parseCloseArgs,
} from "./cli/close_cmd.ts";
import {
  CANCEL_HELP,
  cancelCommand,
  type CancelFlags,
  parseCancelArgs,
} from "./cli/cancel_cmd.ts";
import {
  ORDER_HELP,
  orderCommand,
  type OrderFlags,
  parseOrderArgs,
} from "./cli/order_cmd.ts";
import {
  PAPER_HELP,
  paperCommand,
  type PaperFlags,
  parsePaperArgs,
} from "./cli/paper_cmd.ts";
import {
  ORDERS_HELP,
  ordersCommand,
  type OrdersFlags,
  parseOrdersArgs,
} from "./cli/orders_cmd.ts";
import {
  parseSetupArgs,
  SETUP_HELP,
  setupCommand,
  type SetupFlags,
} from "./cli/setup_cmd.ts";
import {
  parseTickerArgs,
  TICKER_HELP,
  tickerCommand,
  type TickerFlags,
} from "./cli/ticker_cmd.ts";
import {
  parseUniverseArgs,
  UNIVERSE_HELP,
  universeCommand,
  type UniverseFlags,
} from "./cli/universe_cmd.ts";
import { parseServeArgs, SERVE_HELP } from "./serve.ts";
import { SIM_USAGE } from "@krakked/sim";

export { EXIT };

/** The names of the commands. */
export type CommandName =
  | "setup"
  | "doctor"
  | "universe"
  | "ticker"
  | "balance"
  | "orders"
  | "order"
  | "close"
  | "cancel"
  | "paper"
  | "ohlc"
  | "serve"
  | "sim";

/** A parsed command line. */
export type Command =
  | { kind: "help"; topic?: CommandName }
  | { kind: "version" }
  | { kind: "usage_error"; message: string; command?: CommandName }
  | { kind: "sim"; args: string[] }
  | { kind: "serve"; args: string[] }
  | { kind: "setup"; flags: SetupFlags }
  | { kind: "doctor"; flags: DoctorFlags }
  | { kind: "universe"; flags: UniverseFlags }
  | { kind: "ticker"; flags: TickerFlags }
  | { kind: "balance"; flags: BalanceFlags }
  | { kind: "orders"; flags: OrdersFlags }
  | { kind: "order"; flags: OrderFlags }
  | { kind: "close"; flags: CloseFlags }
  | { kind: "cancel"; flags: CancelFlags }
  | { kind: "paper"; flags: PaperFlags }
  | { kind: "ohlc"; flags: OhlcFlags };

/** The commands this build knows, with one line of help each. */
export const COMMANDS: Readonly<Record<CommandName, string>> = {
  setup: "Store your Kraken API key encrypted, after checking it with Kraken",
  doctor: "Check config, credentials, connectivity, clock and key permissions",
  universe: "List the spot pairs in Krakked's universe",
  ticker: "Show last, bid, ask, change and volume for pairs",
  balance: "Show balances, held and available amounts",
  orders: "List open orders with their role (stop or order; read-only)",
  order:
    "Place an order through the safety gate (read_only, dry_run, paper or live)",
  close: "Sell what you hold on a pair, moving its stop-loss in the same step",
  cancel:
    "Cancel an order by id, or every open order except protective stops with --all",
  paper: "Show or reset the paper account: balances, positions, orders, P&L",
  ohlc: "Backfill closed candles into the file store, or export them",
  serve:
    "Run the local server and market-watch page (add --sim for the offline simulator)",
  sim: "Run the Kraken-compatible simulator standalone",
};

/** Help text of each command. */
export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  setup: SETUP_HELP,
  doctor: DOCTOR_HELP,
  universe: UNIVERSE_HELP,
  ticker: TICKER_HELP,
  balance: BALANCE_HELP,
  orders: ORDERS_HELP,
  order: ORDER_HELP,
  close: CLOSE_HELP,
  cancel: CANCEL_HELP,
  paper: PAPER_HELP,
  ohlc: OHLC_HELP,
  serve: SERVE_HELP,
  sim: SIM_USAGE,
};

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function unknownCommand(name: string): Command {
  return {
    kind: "usage_error",
    message: `Unknown command "${name}": run 'krakked --help' for the list`,
  };
}

/**
 * Parse one command's arguments into its tagged command. Pure.
 *
 * @param command The command name.
 * @param rest Arguments after it.
 * @returns The command, its help, or a usage error.
 */
function parseCommand(command: CommandName, rest: string[]): Command {
  const help: Command = { kind: "help", topic: command };
  try {
    switch (command) {
      case "sim":
        return { kind: "sim", args: rest };
      case "serve": {
        const parsed = parseServeArgs(rest);
        if (parsed.kind === "help") return help;
        if (parsed.kind === "usage_error") {
          return { kind: "usage_error", message: parsed.message, command };
        }
        return { kind: "serve", args: rest };
      }
      case "setup": {
        const parsed = parseSetupArgs(rest);
        if (parsed === "help") return help;
        if ("error" in parsed) {
          return { kind: "usage_error", message: parsed.error, command };
        }
        return { kind: "setup", flags: parsed };
      }
      case "doctor": {
        const flags = parseDoctorArgs(rest);
        return flags === "help" ? help : { kind: "doctor", flags };
      }
      case "universe": {
        const flags = parseUniverseArgs(rest);
        return flags === "help" ? help : { kind: "universe", flags };
      }
      case "ticker": {
        const flags = parseTickerArgs(rest);
        return flags === "help" ? help : { kind: "ticker", flags };
      }
      case "balance": {
        const flags = parseBalanceArgs(rest);
        return flags === "help" ? help : { kind: "balance", flags };
      }
      case "orders": {
        const flags = parseOrdersArgs(rest);
        return flags === "help" ? help : { kind: "orders", flags };
      }
      case "order": {
        const flags = parseOrderArgs(rest);
        return flags === "help" ? help : { kind: "order", flags };
      }
      case "close": {
        const flags = parseCloseArgs(rest);
        return flags === "help" ? help : { kind: "close", flags };
      }
      case "cancel": {
        const flags = parseCancelArgs(rest);
        return flags === "help" ? help : { kind: "cancel", flags };
      }
      case "paper": {
        const flags = parsePaperArgs(rest);
        return flags === "help" ? help : { kind: "paper", flags };
      }
      case "ohlc": {
        const flags = parseOhlcArgs(rest);
        return flags === "help" ? help : { kind: "ohlc", flags };
      }
      default: {
        const never: never = command;
        return unknownCommand(String(never));
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      return { kind: "usage_error", message: error.message, command };
    }
    throw error;
  }
}

/**
 * Parse the command line. Pure: no I/O.
 *
 * @param argv Arguments after the program name.
 * @returns A command tagged by `kind`.
 * @example Parse
 * ```ts
 * import { parseArgs } from "./main.ts";
 * parseArgs(["sim", "--port", "9000"]); // { kind: "sim", args: ["--port", "9000"] }
 * parseArgs(["ticker", "XBTUSD", "--json"]);
 * // { kind: "ticker", flags: { pairs: ["XBTUSD"], json: true } }
 * ```
 */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (
    first === undefined || first === "--help" || first === "-h" ||
    first === "help"
  ) {
    const topic = first === undefined ? undefined : rest[0];
    if (topic === undefined) return { kind: "help" };
    return isCommandName(topic)
      ? { kind: "help", topic }
      : unknownCommand(topic);
  }
  if (first === "--version" || first === "-V") return { kind: "version" };
  if (!isCommandName(first)) return unknownCommand(first);
  return parseCommand(first, rest);
}

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

/**
 * The top-level help text.
 *
 * @returns The text.
 * @example Print
 * ```ts
 * import { usage } from "./main.ts";
 * usage().startsWith("krakked"); // true
 * ```
 */
export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, text]) =>
    `  ${name.padEnd(10)} ${text}`
  );
  return [
    "krakked — a secure, tested Kraken Spot toolkit",
    "",
    "Usage: krakked <command> [flags]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run 'krakked <command> --help' for a command's flags.",
    "Configuration: config.yaml in the config directory (KRAKKED_CONFIG_DIR overrides it).",
    "Exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 network.",
  ].join("\n");
}

/**
 * Wrap the output writers so no registered secret can be printed.
 *
 * @param io The run's I/O.
 * @param redactor The redactor every command registers secrets with.
 * @returns The I/O with scrubbing writers.
 */
function redacted(io: CliIo, redactor: Redactor): CliIo {
  return {
    ...io,
    stdout: (text) => io.stdout(redactor.text(text)),
    stderr: (text) => io.stderr(redactor.text(text)),
  };
}

async function run(
  command: Exclude<
    Command,
    {
      kind:
        | "help"
        | "version"
        | "usage_error"
        | "sim"
        | "serve";
    }
  >,
  io: CliIo,
  redactor: Redactor,
): Promise<number> {
  switch (command.kind) {
    case "setup":
      return await setupCommand(command.flags, io, redactor);
    case "doctor":
      return await doctorCommand(command.flags, io, redactor);
    case "universe":
      return await universeCommand(command.flags, io, redactor);
    case "ticker":
      return await tickerCommand(command.flags, io, redactor);
    case "balance":
      return await balanceCommand(command.flags, io, redactor);
    case "orders":
      return await ordersCommand(command.flags, io, redactor);
    case "order":
      return await orderCommand(command.flags, io, redactor);
    case "close":
      return await closeCommand(command.flags, io, redactor);
    case "cancel":
      return await cancelCommand(command.flags, io, redactor);
    case "paper":
      return await paperCommand(command.flags, io, redactor);
    case "ohlc":
      return await ohlcCommand(command.flags, io, redactor);
    default: {
      const never: never = command;
      throw new Error(`Unhandled command ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Run the CLI. Commands throw; this maps what they throw to an exit code and
 * a one-line message on stderr (a usage error also prints the command's help).
 *
 * @param argv Arguments after the program name.
 * @param ioOverrides I/O to use instead of the process's (tests capture output here).
 * @returns The process exit code.
 * @example Capture output
 * ```ts ignore
 * import { main } from "./main.ts";
 * let out = "";
 * const code = await main(["--help"], { stdout: (t) => (out += t) });
 * ```
 */
export async function main(
  argv: readonly string[],
  ioOverrides: Partial<CliIo> = {},
): Promise<number> {
  const redactor = new Redactor();
  const io = redacted({ ...denoIo(), ...ioOverrides }, redactor);
  const command = parseArgs(argv);
  switch (command.kind) {
    case "help":
      writeLine(
        io.stdout,
        command.topic === undefined ? usage() : COMMAND_HELP[command.topic],
      );
      return EXIT.ok;
    case "version":
      writeLine(io.stdout, `krakked ${VERSION}`);
      return EXIT.ok;
    case "usage_error":
      writeLine(io.stderr, `krakked: ${command.message}`);
      if (command.command !== undefined) {
        writeLine(io.stderr, `\n${COMMAND_HELP[command.command]}`);
      }
      return EXIT.usage;
    case "sim": {
      const { simMain } = await import("@krakked/sim");
      return await simMain(command.args, {
        stdout: (line) => writeLine(io.stdout, line),
        stderr: (line) => writeLine(io.stderr, line),
      });
    }
    case "serve": {
      const { serveMain } = await import("./serve.ts");
      return await serveMain(command.args);
    }
    default:
      break;
  }
  try {
    return await run(command, io, redactor);
  } catch (error) {
    const code = exitCodeForError(error);
    writeLine(io.stderr, `krakked ${command.kind}: ${errorLine(error)}`);
    if (code === EXIT.usage) {
      writeLine(io.stderr, `\n${COMMAND_HELP[command.kind]}`);
    }
    return code;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
