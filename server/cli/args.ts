/**
 * A small, pure flag parser shared by the CLI commands: boolean flags,
 * flags with a value (`--since 2025-01-01` or `--since=2025-01-01`) and
 * positional arguments. `--help`/`-h` anywhere asks for help.
 *
 * @module
 */

/** What a command accepts. */
export interface FlagSpec {
  /** Boolean flags, without `--` (e.g. `json`). */
  booleans?: readonly string[];
  /** Flags that take a value, without `--` (e.g. `since`). */
  values?: readonly string[];
  /** Names of the positional arguments, for messages (e.g. `["pair", "tf"]`). */
  positionals?: readonly string[];
  /** Minimum number of positionals (default: all of `positionals`). */
  minPositionals?: number;
  /** Maximum number of positionals (default: `positionals.length`; `Infinity` for a list). */
  maxPositionals?: number;
}

/** Parsed flags. */
export interface ParsedFlags {
  /** Boolean flags that were given. */
  booleans: Set<string>;
  /** Values of value flags that were given (the last one wins). */
  values: Map<string, string>;
  /** Positional arguments, in order. */
  positionals: string[];
}

/**
 * Parse a command's arguments. Pure.
 *
 * @param args Arguments after the command name.
 * @param spec What the command accepts.
 * @returns The flags, `"help"`, or `{ error }` naming the bad argument.
 * @example Parse
 * ```ts
 * import { parseFlags } from "./args.ts";
 * parseFlags(["XBTUSD", "--json"], { booleans: ["json"], positionals: ["pair"] });
 * ```
 */
export function parseFlags(
  args: readonly string[],
  spec: FlagSpec,
): ParsedFlags | "help" | { error: string } {
  const booleans = new Set<string>();
  const values = new Map<string, string>();
  const positionals: string[] = [];
  const names = spec.positionals ?? [];
  const min = spec.minPositionals ?? names.length;
  const max = spec.maxPositionals ?? names.length;
  if (args.includes("--help") || args.includes("-h")) return "help";
  let flagsDone = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (flagsDone || !arg.startsWith("--") || arg === "--") {
      if (arg === "--" && !flagsDone) {
        flagsDone = true;
        continue;
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (spec.booleans?.includes(name)) {
      if (inline !== undefined) {
        return { error: `Flag --${name} takes no value, got "${inline}"` };
      }
      booleans.add(name);
    } else if (spec.values?.includes(name)) {
      const value = inline ?? args[++i];
      if (
        value === undefined || (inline === undefined && value.startsWith("--"))
      ) {
        return { error: `Flag --${name} needs a value` };
      }
      values.set(name, value);
    } else {
      return { error: `Unknown flag ${JSON.stringify(arg)}` };
    }
  }
  if (positionals.length < min) {
    const missing = names.slice(positionals.length, Math.max(min, 1));
    return {
      error: `Missing ${missing.map((n) => `<${n}>`).join(" ")}`,
    };
  }
  if (positionals.length > max) {
    return {
      error: `Unexpected argument ${JSON.stringify(positionals[max])}`,
    };
  }
  return { booleans, values, positionals };
}

/**
 * Parse a `--since` value: a date (`2025-01-31`), a date-time
 * (`2025-01-31T12:00:00Z`; without a zone it is UTC) or Unix seconds.
 *
 * @param text The value.
 * @returns Unix seconds.
 * @throws {RangeError} When the text is neither.
 * @example Dates
 * ```ts
 * import { parseSince } from "./args.ts";
 * parseSince("2025-01-01"); // 1735689600
 * parseSince("1735689600"); // 1735689600
 * ```
 */
export function parseSince(text: string): number {
  const trimmed = text.trim();
  if (/^\d{1,12}$/.test(trimmed)) return Number(trimmed);
  const isoLike =
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;
  if (isoLike.test(trimmed)) {
    const withZone =
      /T|\s/.test(trimmed) && !/(Z|[+-]\d{2}:?\d{2})$/.test(trimmed)
        ? `${trimmed.replace(" ", "T")}Z`
        : trimmed.replace(" ", "T");
    const ms = Date.parse(withZone);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  throw new RangeError(
    `Invalid date ${
      JSON.stringify(text)
    }: use YYYY-MM-DD, an ISO date-time or Unix seconds`,
  );
}
