/**
 * How CLI failures become exit codes and one-line messages.
 *
 * Exit codes: 0 ok, 1 error, 2 usage, 3 authentication (auth, permission,
 * nonce), 4 network (network, service, rate limit).
 *
 * @module
 */

import { ConfigError } from "../../core/config/config.ts";
import { UnknownTimeframeError } from "../../core/market/ohlc.ts";
import { UnknownPairError } from "../../core/market/pairs.ts";
import { KrakenError, type KrakenErrorKind } from "../../core/rest/errors.ts";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, error: 1, usage: 2, auth: 3, network: 4 } as const;

/** One of the {@linkcode EXIT} codes. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/**
 * A bad command line: unknown flag, missing argument, bad value. `main`
 * prints the message and the command's help and exits 2.
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
  switch (kind) {
    case "auth":
    case "permission":
    case "nonce":
      return EXIT.auth;
    case "network":
    case "service":
    case "rate_limit":
      return EXIT.network;
    case "invalid_request":
    case "order":
    case "unknown":
      return EXIT.error;
    default: {
      const never: never = kind;
      return never;
    }
  }
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
  if (error instanceof KrakenError) return exitCodeForKind(error.kind);
  if (
    error instanceof UsageError || error instanceof UnknownPairError ||
    error instanceof UnknownTimeframeError
  ) return EXIT.usage;
  if (error instanceof CredentialsError) return EXIT.auth;
  return EXIT.error;
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
}

/**
 * A one-line message for a failure. Kraken errors name their kind and code
 * (never a key, secret, nonce or signature; the client guarantees that).
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
  if (error instanceof KrakenError) {
    const hint = error.kind === "auth" || error.kind === "permission"
      ? "; run 'krakked doctor' to check the key"
      : error.kind === "network" || error.kind === "service"
      ? "; check the network or connection.rest_url"
      : "";
    return `${oneLine(error.message)} (${error.kind})${hint}`;
  }
  if (error instanceof ConfigError) return oneLine(error.message);
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
