/**
 * How CLI failures become exit codes, one-line messages and JSON errors.
 *
 * Every failure is first described once ({@linkcode describeError}): a
 * stable category, a message, an optional suggestion and the exit code.
 * Without `--json` that becomes one line on stderr ({@linkcode errorLine});
 * with `--json` one object on stdout ({@linkcode errorJson}).
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 3 authentication (credentials, auth,
 * permission, nonce), 4 network (network, service, rate limit), 75 restart
 * (a clean stop asking to start again: `record --restart-every-s`).
 *
 * @module
 */

import { ConfigError } from "@krakked/core/config/config";
import { InputFileError } from "../deno/files.ts";
import { UnknownTimeframeError } from "@krakked/core/market/ohlc";
import { NoOhlcDataError } from "@krakked/core/market/ohlc_history";
import { UnknownPairError } from "@krakked/core/market/pairs";
import { KrakenError, type KrakenErrorKind } from "@krakked/core/rest/errors";

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  auth: 3,
  network: 4,
  /**
   * Stopped cleanly to start again (`record --restart-every-s`): run as
   * the program, krakked re-executes itself in place; a supervisor that
   * sees the code (`EX_TEMPFAIL`) may restart it instead.
   */
  restart: 75,
} as const;

/** One of the {@linkcode EXIT} codes. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/**
 * A bad command line found while running (an unknown pair, a ticket the
 * order service refuses): `main` prints the message and the command's help
 * and exits 2. Parsing never throws it; parse functions return a usage
 * error instead.
 *
 * @example Throw
 * ```ts
 * import { UsageError } from "./errors.ts";
 * const error = new UsageError("Missing <pair>", "ticker");
 * error.kind; // "usage"
 * ```
 */
export class UsageError extends Error {
  /** Discriminator. */
  readonly kind = "usage" as const;
  /** Error name. */
  override name = "UsageError";
  /** The command whose help applies, when known. */
  readonly command: string | undefined;

  /**
   * Create the error.
   *
   * @param message What is wrong with the command line.
   * @param command The command whose help applies.
   */
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/**
 * Credentials are needed but missing or unreadable (wrong master password).
 *
 * @example Throw
 * ```ts
 * import { CredentialsError } from "./errors.ts";
 * new CredentialsError("No credentials").kind; // "credentials"
 * ```
 */
export class CredentialsError extends Error {
  /** Discriminator. */
  readonly kind = "credentials" as const;
  /** Error name. */
  override name = "CredentialsError";
  /** What to do, when it differs from the general hint. */
  readonly suggestion: string | undefined;

  /**
   * Create the error.
   *
   * @param message What is missing or unreadable.
   * @param options `suggestion`: what to do, when the general hint
   *   (set both variables or run setup) does not fit.
   */
  constructor(message: string, options: { suggestion?: string } = {}) {
    super(message);
    this.suggestion = options.suggestion;
  }
}

/**
 * The stable category of a failure, as `--json` prints it in
 * `error.category`. Kraken's own errors keep their kind's name, except
 * `order` (`order_rejected`) and `unknown` (`exchange`).
 */
export type ErrorCategory =
  | "usage"
  | "config"
  | "credentials"
  | "auth"
  | "permission"
  | "nonce"
  | "rate_limit"
  | "network"
  | "service"
  | "invalid_request"
  | "order_rejected"
  | "exchange"
  | "no_data"
  | "unexpected";

/** Every {@linkcode ErrorCategory} with its exit code: the one table. */
export const CATEGORY_EXIT: Readonly<Record<ErrorCategory, ExitCode>> = Object
  .freeze({
    usage: EXIT.usage,
    config: EXIT.error,
    credentials: EXIT.auth,
    auth: EXIT.auth,
    permission: EXIT.auth,
    nonce: EXIT.auth,
    rate_limit: EXIT.network,
    network: EXIT.network,
    service: EXIT.network,
    invalid_request: EXIT.error,
    order_rejected: EXIT.error,
    exchange: EXIT.error,
    no_data: EXIT.error,
    unexpected: EXIT.error,
  });

/** A failure, described once for both the text line and the JSON object. */
export interface CliFailure {
  /** Stable category. */
  category: ErrorCategory;
  /** What failed, on one line. */
  message: string;
  /** What to do about it, when there is something to do. */
  suggestion?: string;
  /** The process exit code. */
  exitCode: ExitCode;
}

/**
 * The category of one {@linkcode KrakenError} kind.
 *
 * @param kind The kind.
 * @returns The category (`order` → `order_rejected`, `unknown` →
 *   `exchange`, otherwise the kind's own name).
 * @example Map
 * ```ts
 * import { categoryForKind } from "./errors.ts";
 * categoryForKind("order"); // "order_rejected"
 * ```
 */
export function categoryForKind(kind: KrakenErrorKind): ErrorCategory {
  switch (kind) {
    case "auth":
    case "permission":
    case "nonce":
    case "rate_limit":
    case "network":
    case "service":
    case "invalid_request":
      return kind;
    case "order":
      return "order_rejected";
    case "unknown":
      return "exchange";
    default: {
      const never: never = kind;
      return never;
    }
  }
}

/**
 * The exit code of one {@linkcode KrakenError} kind.
 *
 * @param kind The kind.
 * @returns 3 for auth, permission and nonce; 4 for network, service and rate
 *   limit; 1 otherwise.
 * @example Map
 * ```ts
 * import { exitCodeForKind } from "./errors.ts";
 * exitCodeForKind("permission"); // 3
 * ```
 */
export function exitCodeForKind(kind: KrakenErrorKind): ExitCode {
  return CATEGORY_EXIT[categoryForKind(kind)];
}

const KEY_HINT = "Run 'krakked doctor' to check the key";
const NETWORK_HINT = "Check the network or connection.rest_url";

/** What to suggest for a Kraken error category, if anything. */
function krakenSuggestion(category: ErrorCategory): string | undefined {
  switch (category) {
    case "auth":
    case "permission":
      return KEY_HINT;
    case "nonce":
      return "Use one API key per process; run 'krakked doctor' to check nonce health";
    case "rate_limit":
      return "Wait a little and retry: Kraken's rate-limit counters decay over time";
    case "network":
    case "service":
      return NETWORK_HINT;
    default:
      return undefined;
  }
}

function failure(
  category: ErrorCategory,
  message: string,
  suggestion?: string,
): CliFailure {
  return {
    category,
    message: oneLine(message),
    ...(suggestion === undefined ? {} : { suggestion }),
    exitCode: CATEGORY_EXIT[category],
  };
}

/**
 * Describe anything a command threw: category, message, suggestion and exit
 * code.
 *
 * @param error What was thrown.
 * @param command The command that ran, for the usage suggestion.
 * @returns The failure.
 * @example Describe
 * ```ts
 * import { CredentialsError, describeError } from "./errors.ts";
 * describeError(new CredentialsError("No credentials")).category; // "credentials"
 * ```
 */
export function describeError(error: unknown, command?: string): CliFailure {
  if (error instanceof KrakenError) {
    const category = categoryForKind(error.kind);
    // `--watch` streams over the WebSocket URL, not the REST one.
    const suggestion = category === "network" && error.method === "WebSocket"
      ? "Check the network or connection.ws_public_url"
      : krakenSuggestion(category);
    return failure(category, error.message, suggestion);
  }
  if (
    error instanceof UsageError || error instanceof UnknownPairError ||
    error instanceof UnknownTimeframeError
  ) {
    return failure(
      "usage",
      error.message,
      `Run 'krakked ${command ?? "<command>"} --help' for the arguments`,
    );
  }
  if (error instanceof CredentialsError) {
    return failure(
      "credentials",
      error.message,
      error.suggestion ??
        "Set KRAKEN_API_KEY and KRAKEN_API_SECRET, or run 'krakked setup'",
    );
  }
  if (error instanceof ConfigError) {
    return failure(
      "config",
      error.message,
      "Fix config.yaml in the config directory (KRAKKED_CONFIG_DIR names another one)",
    );
  }
  if (error instanceof InputFileError) {
    // A config, secrets or paper file that is not a regular file, too large
    // or not UTF-8: nothing of it was used.
    return failure(
      "config",
      error.message,
      `Replace ${error.path} with a regular file of the expected size`,
    );
  }
  if (error instanceof NoOhlcDataError) {
    return failure("no_data", error.message);
  }
  if (error instanceof Error) return failure("unexpected", error.message);
  return failure("unexpected", String(error));
}

/**
 * The exit code for anything a command threw.
 *
 * @param error What was thrown.
 * @returns The exit code.
 * @example Map
 * ```ts
 * import { exitCodeForError, UsageError } from "./errors.ts";
 * exitCodeForError(new UsageError("Missing <pair>")); // 2
 * ```
 */
export function exitCodeForError(error: unknown): ExitCode {
  return describeError(error).exitCode;
}

/**
 * A one-line message for a failure. Kraken errors name their kind and code
 * and add the hint (never a key, secret, nonce or signature; the client
 * guarantees that, and `main` scrubs the output as well).
 *
 * @param error What was thrown.
 * @returns The line, without the program name.
 * @example Describe
 * ```ts
 * import { errorLine, UsageError } from "./errors.ts";
 * errorLine(new UsageError("Missing <pair>")); // "Missing <pair>"
 * ```
 */
export function errorLine(error: unknown): string {
  const described = describeError(error);
  if (!(error instanceof KrakenError)) return described.message;
  const hint = described.suggestion === undefined
    ? ""
    : `; ${lowerFirst(described.suggestion)}`;
  return `${described.message} (${error.kind})${hint}`;
}

/** The JSON object `--json` prints for a failure. */
export interface ErrorJson {
  /** The failure. */
  error: {
    /** Stable category. */
    category: ErrorCategory;
    /** What failed. */
    message: string;
    /** What to do, when known. */
    suggestion?: string;
  };
}

/**
 * The JSON object for a failure (without the exit code, which is the
 * process's).
 *
 * @param failure The described failure.
 * @returns `{ error: { category, message, suggestion? } }`.
 * @example Shape
 * ```ts
 * import { describeError, errorJson, UsageError } from "./errors.ts";
 * errorJson(describeError(new UsageError("Missing <pair>"), "ticker"));
 * // { error: { category: "usage", message: "Missing <pair>",
 * //   suggestion: "Run 'krakked ticker --help' for the arguments" } }
 * ```
 */
export function errorJson(failure: CliFailure): ErrorJson {
  return {
    error: {
      category: failure.category,
      message: failure.message,
      ...(failure.suggestion === undefined
        ? {}
        : { suggestion: failure.suggestion }),
    },
  };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
