/**
 * The krakked command: `deno task krakked <command> [flags]`, also the entry
 * point of `deno task serve`, `deno task sim` and the compiled binary.
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 network.
 *
 * @module
 */

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, network: 4 } as const;

/** A parsed command line. */
export type Command =
  | { kind: "help"; topic?: string }
  | { kind: "version" }
  | { kind: "sim"; args: string[] }
  | { kind: "serve"; args: string[] }
  | { kind: "usage_error"; message: string };

/** The commands this build knows, with one line of help each. */
export const COMMANDS: Record<string, string> = {
  serve:
    "Run the local server and market-watch page (add --sim for the offline simulator)",
  sim: "Run the Kraken-compatible simulator standalone",
};

/**
 * Parse the command line. Pure: no I/O.
 *
 * @param argv Arguments after the program name.
 * @returns A command tagged by `kind`.
 * @example Parse
 * ```ts
 * import { parseArgs } from "./main.ts";
 * parseArgs(["sim", "--port", "9000"]); // { kind: "sim", args: ["--port", "9000"] }
 * ```
 */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (
    first === undefined || first === "--help" || first === "-h" ||
    first === "help"
  ) {
    return rest[0] === undefined
      ? { kind: "help" }
      : { kind: "help", topic: rest[0] };
  }
  if (first === "--version" || first === "-V") return { kind: "version" };
  switch (first) {
    case "sim":
      return { kind: "sim", args: rest };
    case "serve":
      return { kind: "serve", args: rest };
    default:
      return {
        kind: "usage_error",
        message:
          `Unknown command "${first}": run 'krakked --help' for the list`,
      };
  }
}

/** The version printed by `--version`. */
export const VERSION = "0.1.0";

function usage(): string {
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
    "Exit codes: 0 ok, 1 error, 2 usage, 3 authentication, 4 network.",
  ].join("\n");
}

/**
 * Run the CLI.
 *
 * @param argv Arguments after the program name.
 * @returns The process exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const command = parseArgs(argv);
  switch (command.kind) {
    case "help":
      console.log(usage());
      return EXIT.ok;
    case "version":
      console.log(`krakked ${VERSION}`);
      return EXIT.ok;
    case "usage_error":
      console.error(command.message);
      return EXIT.usage;
    case "sim": {
      const { simMain } = await import("./sim/main.ts");
      return await simMain(command.args);
    }
    case "serve": {
      const { serveMain } = await import("./serve.ts");
      return await serveMain(command.args);
    }
    default: {
      const never: never = command;
      throw new Error(`Unhandled command ${JSON.stringify(never)}`);
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
