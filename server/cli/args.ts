/**
 * The one flag parser of the CLI, and the one shape every parse returns.
 *
 * A command's `parse(argv)` is pure and returns {@linkcode Parsed}: its own
 * flags tagged by `kind` (the command's name), `{ kind: "help" }`, or
 * `{ kind: "usage_error", message }`. Nothing here throws for a bad command
 * line; `main` prints the message with the command's help and exits 2.
 *
 * {@linkcode parseFlags} reads boolean flags, flags with a value
 * (`--since 2025-01-01` or `--since=2025-01-01`), short aliases (`-y`) and
 * positional arguments; `--help`/`-h` anywhere asks for help and `--` ends
 * the flags. The typed readers ({@linkcode integerFlag},
 * {@linkcode choiceFlag}) turn a value into a number or one of a set, or a
 * usage error naming the flag and what it got.
 *
 * Why not `node:util`'s `parseArgs` or `@std/cli`: the first reports
 * unknown flags as Node error codes whose messages speak of "options" and
 * knows no positional names or counts; the second accepts any flag by
 * design. Either would need a wrapper as long as this file to give the
 * messages below, and the lock stays without a new dependency.
 *
 * @module
 */

/** Help was asked for (`--help` or `-h`). */
export interface HelpRequest {
  /** Discriminator. */
  readonly kind: "help";
}

/** The command line is wrong; `message` says what and how. */
export interface UsageProblem {
  /** Discriminator. */
  readonly kind: "usage_error";
  /** What is wrong, e.g. `Unknown flag "--bogus"`. */
  readonly message: string;
}

/**
 * What every parse returns: the flags (an object tagged by its own `kind`),
 * a request for help, or a usage error.
 */
export type Parsed<F extends { kind: string }> = F | HelpRequest | UsageProblem;

/** The help request. */
export const HELP: HelpRequest = Object.freeze({ kind: "help" });

/**
 * A usage error.
 *
 * @param message What is wrong with the command line.
 * @returns `{ kind: "usage_error", message }`.
 * @example Refuse
 * ```ts
 * import { usageError } from "./args.ts";
 * usageError("Give one order id or --all").kind; // "usage_error"
 * ```
 */
export function usageError(message: string): UsageProblem {
  return { kind: "usage_error", message };
}

/**
 * Whether a reader's result is a usage error (and not the value).
 *
 * @param value A reader's result.
 * @returns `true` for a {@linkcode UsageProblem}.
 * @example Check
 * ```ts
 * import { isUsageError, usageError } from "./args.ts";
 * isUsageError(usageError("x")); // true
 * isUsageError(8787); // false
 * ```
 */
export function isUsageError(value: unknown): value is UsageProblem {
  return typeof value === "object" && value !== null &&
    (value as { kind?: unknown }).kind === "usage_error";
}

/** What a command accepts. */
export interface FlagSpec {
  /** Boolean flags, without `--` (e.g. `json`). */
  booleans?: readonly string[];
  /** Flags that take a value, without `--` (e.g. `since`). */
  values?: readonly string[];
  /** Short spellings of flags, e.g. `{ "-y": "yes" }`. */
  aliases?: Readonly<Record<string, string>>;
  /** Names of the positional arguments, for messages (e.g. `["pair", "tf"]`). */
  positionals?: readonly string[];
  /** Minimum number of positionals (default: all of `positionals`). */
  minPositionals?: number;
  /** Maximum number of positionals (default: `positionals.length`; `Infinity` for a list). */
  maxPositionals?: number;
}

/** Parsed flags, before a command gives them their types. */
export interface ParsedFlags {
  /** Discriminator. */
  readonly kind: "flags";
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
 * @returns The flags, help, or a usage error naming the bad argument.
 * @example Parse
 * ```ts
 * import { parseFlags } from "./args.ts";
 * const parsed = parseFlags(["XBTUSD", "--json"], {
 *   booleans: ["json"],
 *   positionals: ["pair"],
 * });
 * parsed.kind; // "flags"
 * ```
 */
export function parseFlags(
  args: readonly string[],
  spec: FlagSpec,
): Parsed<ParsedFlags> {
  const booleans = new Set<string>();
  const values = new Map<string, string>();
  const positionals: string[] = [];
  const names = spec.positionals ?? [];
  const min = spec.minPositionals ?? names.length;
  const max = spec.maxPositionals ?? names.length;
  const end = args.indexOf("--");
  const flagArgs = end === -1 ? args : args.slice(0, end);
  if (flagArgs.includes("--help") || flagArgs.includes("-h")) return HELP;
  for (let i = 0; i < flagArgs.length; i++) {
    const arg = flagArgs[i]!;
    const alias = spec.aliases?.[arg];
    if (alias === undefined && !arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = alias ?? arg.slice(2, eq === -1 ? undefined : eq);
    const inline = alias !== undefined || eq === -1
      ? undefined
      : arg.slice(eq + 1);
    if (spec.booleans?.includes(name)) {
      if (inline !== undefined) {
        return usageError(`Flag --${name} takes no value, got "${inline}"`);
      }
      booleans.add(name);
    } else if (spec.values?.includes(name)) {
      const value = inline ?? flagArgs[++i];
      if (
        value === undefined || value === "" ||
        (inline === undefined && value.startsWith("--"))
      ) {
        return usageError(`Flag --${name} needs a value`);
      }
      values.set(name, value);
    } else {
      return usageError(`Unknown flag ${JSON.stringify(arg)}`);
    }
  }
  if (end !== -1) positionals.push(...args.slice(end + 1));
  if (positionals.length < min) {
    const missing = names.slice(positionals.length, Math.max(min, 1));
    return usageError(`Missing ${missing.map((n) => `<${n}>`).join(" ")}`);
  }
  if (positionals.length > max) {
    return usageError(
      `Unexpected argument ${JSON.stringify(positionals[max])}`,
    );
  }
  return { kind: "flags", booleans, values, positionals };
}

/**
 * Read an integer flag within a range. Pure.
 *
 * @param parsed The parsed flags.
 * @param name The flag, without `--`.
 * @param range Smallest and largest accepted value.
 * @returns The number, `undefined` when the flag was not given, or a usage
 *   error naming the range and what was given.
 * @example Read a port
 * ```ts
 * import { integerFlag, parseFlags, type ParsedFlags } from "./args.ts";
 * const parsed = parseFlags(["--port", "9000"], { values: ["port"] }) as ParsedFlags;
 * integerFlag(parsed, "port", { min: 0, max: 65_535 }); // 9000
 * ```
 */
export function integerFlag(
  parsed: ParsedFlags,
  name: string,
  range: { min: number; max: number },
): number | undefined | UsageProblem {
  const text = parsed.values.get(name);
  if (text === undefined) return undefined;
  const n = /^\d{1,16}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    return usageError(
      `--${name} needs a whole number from ${range.min} to ${range.max}, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}

/**
 * Read a flag whose value is one of a fixed set. Pure.
 *
 * @param parsed The parsed flags.
 * @param name The flag, without `--`.
 * @param choices The accepted values.
 * @returns The value, `undefined` when not given, or a usage error listing
 *   the choices.
 * @example Read a format
 * ```ts
 * import { choiceFlag, parseFlags, type ParsedFlags } from "./args.ts";
 * const parsed = parseFlags(["--format=json"], { values: ["format"] }) as ParsedFlags;
 * choiceFlag(parsed, "format", ["csv", "json"] as const); // "json"
 * ```
 */
export function choiceFlag<const C extends string>(
  parsed: ParsedFlags,
  name: string,
  choices: readonly C[],
): C | undefined | UsageProblem {
  const text = parsed.values.get(name);
  if (text === undefined) return undefined;
  const found = choices.find((c) => c === text);
  if (found === undefined) {
    return usageError(
      `--${name} must be ${
        choices.length === 2
          ? choices.join(" or ")
          : `one of ${choices.join(", ")}`
      }, got ${JSON.stringify(text)}`,
    );
  }
  return found;
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

/**
 * Reads a date flag (`--since` by default) into Unix seconds: a date, an
 * ISO date-time (UTC without a zone) or Unix seconds (`parseSince`).
 *
 * @param parsed Parsed flags.
 * @param name The flag, without dashes.
 * @returns Seconds, `undefined` when absent, or a usage error.
 */
export function sinceFlag(
  parsed: ParsedFlags,
  name = "since",
): number | undefined | UsageProblem {
  const text = parsed.values.get(name);
  if (text === undefined) return undefined;
  try {
    return parseSince(text);
  } catch (error) {
    if (error instanceof RangeError) {
      return usageError(`--${name}: ${error.message}`);
    }
    throw error;
  }
}
