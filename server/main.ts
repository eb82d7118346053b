/**
 * The krakked command: `deno task krakked <command> [flags]`, also the entry
 * point of `deno task serve`, `deno task sim` and the compiled binary.
 *
 * Everything a command is lives in its entry of the command table
 * (`cli/commands.ts`); this file parses the first word, prints help and the
 * version, and turns what a command throws into an exit code and an error
 * line (or, with `--json`, one JSON object on stdout).
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 network, 75 restart
 * (a command that stopped to start again; run as the program, krakked
 * re-executes itself in place instead of exiting).
 *
 * @module
 */

import {
  ENV_API_KEY,
  ENV_API_SECRET,
  ENV_MASTER_PASSWORD,
} from "@krakked/core/secrets/credentials";
import { Redactor } from "@krakked/core/secrets/redact";
import type { AnyCommand, CommandFlags, CommandName } from "./cli/commands.ts";
import {
  describeError,
  errorJson,
  errorLine,
  EXIT,
  type ExitCode,
} from "./cli/errors.ts";
import { type CliIo, denoIo, writeJson, writeLine } from "./cli/io.ts";
import { closestName } from "./cli/suggest.ts";
import { commandIdOf, ENV_RESTARTS, runCommandScoped } from "./cli/command.ts";

export { type CommandFlags, type CommandName, EXIT };

type Table = typeof import("./cli/commands.ts");

/**
 * The command table. `krakked serve` run as the program loads its own
 * command only: the other commands' modules (every CLI command, the
 * recorder and its stores) would stay resident in the server for nothing
 * (2–3 MiB of RSS, tests/server/serve_rss.ts). Anything else, and any
 * importer of this module, gets the whole table.
 */
const table: Pick<Table, "COMMANDS" | "findCommand"> =
  import.meta.main && Deno.args[0] === "serve"
    ? await import("./cli/serve_cmd.ts").then(({ serveCommand }) => ({
      COMMANDS: [serveCommand] as unknown as Table["COMMANDS"],
      findCommand: (name: string): AnyCommand | undefined =>
        name === serveCommand.name ? serveCommand : undefined,
    }))
    : await import("./cli/commands.ts");

/** Every command, in help order (see `cli/commands.ts`). */
export const COMMANDS: Table["COMMANDS"] = table.COMMANDS;
const findCommand = table.findCommand;

/** A parsed command line: a command's flags (tagged by its name), or one of these. */
export type CommandLine =
  | { kind: "help"; topic?: CommandName }
  | { kind: "version" }
  | {
    kind: "usage_error";
    message: string;
    /** The command whose help follows the message. */
    command?: CommandName;
    /** Print the list of commands after the message (no command given). */
    listCommands?: true;
  }
  | CommandFlags;

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

const NAMES: readonly string[] = COMMANDS.map((c) => c.name);

function unknownCommand(name: string): CommandLine {
  const near = closestName(name, NAMES);
  return {
    kind: "usage_error",
    message: `Unknown command ${JSON.stringify(name)}: ${
      near === undefined ? "" : `did you mean "${near}"? `
    }run 'krakked --help' for the list`,
  };
}

/**
 * Parse the command line. Pure: no I/O.
 *
 * @param argv Arguments after the program name.
 * @returns The command's flags tagged by its name, help, the version, or a
 *   usage error.
 * @example Parse
 * ```ts
 * import { parseArgs } from "./main.ts";
 * parseArgs(["ticker", "XBTUSD", "--json"]);
 * // { kind: "ticker", pairs: ["XBTUSD"], json: true }
 * parseArgs(["tikcer"]).kind; // "usage_error" (did you mean "ticker"?)
 * ```
 */
export function parseArgs(argv: readonly string[]): CommandLine {
  const [first, ...rest] = argv;
  if (first === undefined) {
    return {
      kind: "usage_error",
      message: "Missing command",
      listCommands: true,
    };
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = rest[0];
    if (topic === undefined) return { kind: "help" };
    const command = findCommand(topic);
    return command === undefined
      ? unknownCommand(topic)
      : { kind: "help", topic: command.name };
  }
  if (first === "--version" || first === "-V") return { kind: "version" };
  const command = findCommand(first);
  if (command === undefined) return unknownCommand(first);
  const parsed = command.parse(rest);
  switch (parsed.kind) {
    case "help":
      return { kind: "help", topic: command.name };
    case "usage_error":
      return { ...parsed, command: command.name };
    default:
      return parsed;
  }
}

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
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
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
    'With --json, a failure prints {"error": {"category", "message", "suggestion"?, "id"}} on stdout;',
    "the id (also printed with an error) names the run in upstream calls and log lines (KRAKKED_LOG_FILE).",
    "Exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 network, 75 restart.",
  ].join("\n");
}

/**
 * Whether the command line asks for JSON (`--json` before any `--`), so a
 * failure is printed as JSON too, even one found before the flags are read.
 *
 * @param argv Arguments after the program name.
 * @returns `true` with `--json`.
 * @example Check
 * ```ts
 * import { wantsJson } from "./main.ts";
 * wantsJson(["balance", "--json"]); // true
 * wantsJson(["ticker", "--", "--json"]); // false
 * ```
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
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

/** Print a usage error: text with the help on stderr, or JSON on stdout. */
function reportUsage(
  line: Extract<CommandLine, { kind: "usage_error" }>,
  io: CliIo,
  json: boolean,
): ExitCode {
  if (json) {
    const suggestion = line.command === undefined
      ? "Run 'krakked --help' for the commands"
      : `Run 'krakked ${line.command} --help' for the flags`;
    writeJson(
      io,
      errorJson({
        category: "usage",
        message: line.message,
        suggestion,
        exitCode: EXIT.usage,
      }),
    );
    return EXIT.usage;
  }
  writeLine(io.stderr, `krakked: ${line.message}`);
  if (line.command !== undefined) {
    writeLine(io.stderr, `\n${findCommand(line.command)!.help}`);
  } else if (line.listCommands) {
    writeLine(io.stderr, `\n${usage()}`);
  }
  return EXIT.usage;
}

/**
 * Run one command's entry from the table; map what it throws to the exit
 * code and the error line, or the JSON error with `--json`.
 */
async function runCommand(
  flags: CommandFlags,
  io: CliIo,
  redactor: Redactor,
  json: boolean,
): Promise<number> {
  const command = findCommand(flags.kind)!;
  try {
    // The entry whose parse produced these flags runs them; TypeScript
    // cannot tie the two ends of a union of commands together. The run has
    // its own correlation id (sent upstream, in every log line).
    return (await runCommandScoped(
      command.name,
      io,
      redactor,
      () => command.run(flags as never, io, redactor),
    )).code;
  } catch (error) {
    const failure = describeError(error, command.name);
    const id = commandIdOf(error);
    if (json) {
      // Scrub before encoding: JSON escaping could hide a secret from the
      // writer's own scrubbing.
      const scrubbed = {
        ...failure,
        message: redactor.text(failure.message),
        ...(failure.suggestion === undefined
          ? {}
          : { suggestion: redactor.text(failure.suggestion) }),
      };
      const answer = errorJson(scrubbed);
      writeJson(io, {
        error: { ...answer.error, ...(id === undefined ? {} : { id }) },
      });
      return failure.exitCode;
    }
    // One line still: the run's id at its end, to quote in a report.
    writeLine(
      io.stderr,
      `krakked ${command.name}: ${errorLine(error)}${
        id === undefined ? "" : ` (id ${id})`
      }`,
    );
    if (failure.exitCode === EXIT.usage) {
      writeLine(io.stderr, `\n${command.help}`);
    }
    return failure.exitCode;
  }
}

/**
 * Run the CLI. Commands throw; this maps what they throw to an exit code and
 * a one-line message on stderr (a usage error also prints the command's
 * help), or with `--json` to `{"error": {category, message, suggestion?}}`
 * on stdout.
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
  const base = { ...denoIo(), ...ioOverrides };
  // Known before any command runs, so no early failure can echo them.
  for (const name of [ENV_API_KEY, ENV_API_SECRET, ENV_MASTER_PASSWORD]) {
    const value = base.env(name)?.trim();
    if (value) redactor.register(value);
  }
  const io = redacted(base, redactor);
  const json = wantsJson(argv);
  const line = parseArgs(argv);
  switch (line.kind) {
    case "help":
      writeLine(
        io.stdout,
        line.topic === undefined ? usage() : findCommand(line.topic)!.help,
      );
      return EXIT.ok;
    case "version":
      writeLine(io.stdout, `krakked ${VERSION}`);
      return EXIT.ok;
    case "usage_error":
      return reportUsage(line, io, json);
    default:
      return await runCommand(line, io, redactor, json);
  }
}

if (import.meta.main) {
  const line = parseArgs(Deno.args);
  if (findCommand(line.kind)?.longRunning?.(line as never)) {
    // Returns only when the process stays under its allocator.
    (await import("./deno/allocator.ts")).reexecUnderJemalloc();
  }
  const code = await main(Deno.args);
  if (code === EXIT.restart) {
    // The command stopped cleanly to start again: same pid, fresh memory.
    const count = Number(Deno.env.get(ENV_RESTARTS) ?? 0) + 1;
    const why = (await import("./deno/allocator.ts")).reexecSelf({
      [ENV_RESTARTS]: String(Number.isSafeInteger(count) ? count : 1),
    });
    writeLine(denoIo().stderr, `krakked: cannot restart in place (${why})`);
  }
  Deno.exit(code);
}
