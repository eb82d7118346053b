/**
 * `krakked setup`: first-time setup. Asks for the API key, the secret
 * (hidden) and the master password (hidden, twice), validates the key
 * against a private read-only endpoint (Balance), then seals and saves
 * `secrets.enc`.
 *
 * Non-interactive use (`--yes`, or no TTY): the key and secret come from
 * `KRAKEN_API_KEY`/`KRAKEN_API_SECRET` and the password from
 * `KRAKKED_MASTER_PASSWORD`. A network failure then saves nothing unless
 * `--save-unvalidated` is given; an authentication failure saves nothing
 * unless `--force` is given.
 *
 * @module
 */

import { RestClient } from "@krakked/core/rest/client";
import type { KrakenErrorKind } from "@krakked/core/rest/errors";
import { Redactor } from "@krakked/core/secrets/redact";
import { runSetup, type SetupResult } from "@krakked/core/secrets/setup";
import { Secret } from "@krakked/core/secrets/secret";
import {
  type ApiCredentials,
  MIN_MASTER_PASSWORD_LENGTH,
  readVaultHeader,
} from "@krakked/core/secrets/vault";
import {
  ENV_API_KEY,
  ENV_API_SECRET,
  ENV_MASTER_PASSWORD,
} from "@krakked/core/secrets/credentials";
import { readOptionalText, writePrivateFileAtomic } from "../deno/files.ts";
import { type Parsed, parseFlags } from "./args.ts";
import type { Command } from "./command.ts";
import { commandFetch, loadContext } from "./context.ts";
import { categoryForKind, type ErrorCategory } from "./errors.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";

/** Parsed `setup` flags. */
export interface SetupFlags {
  /** Discriminator: the command. */
  kind: "setup";
  yes: boolean;
  saveUnvalidated: boolean;
  force: boolean;
  json: boolean;
}

/** Help text of `krakked setup`. */
export const SETUP_HELP =
  `Usage: krakked setup [--yes] [--save-unvalidated] [--force] [--json]

Stores your Kraken API key in an encrypted secrets file after checking it
against Kraken (a read-only Balance call). An existing secrets file is
replaced only after you agree (on a terminal) or with --yes, and a file
whose key Kraken accepted is never replaced by a key it did not accept.

  --yes               non-interactive: read ${ENV_API_KEY}, ${ENV_API_SECRET} and ${ENV_MASTER_PASSWORD};
                      replaces an existing secrets file without asking
  --save-unvalidated  if Kraken cannot be reached, save anyway, marked unvalidated
  --force             save even if Kraken rejects the key (marked unvalidated)
  --json              print the outcome as JSON

Exit codes: 0 saved, 1 error or replacement declined, 2 usage or missing
input, 3 key rejected, 4 Kraken unreachable.`;

/**
 * Parse `setup` flags. Pure.
 *
 * @param args Arguments after `setup`.
 * @returns The flags, help, or a usage error for an unknown flag or argument.
 * @example Parse
 * ```ts
 * import { parseSetupArgs } from "./setup_cmd.ts";
 * parseSetupArgs(["--yes"]);
 * // { kind: "setup", yes: true, saveUnvalidated: false, force: false, json: false }
 * ```
 */
export function parseSetupArgs(args: readonly string[]): Parsed<SetupFlags> {
  const parsed = parseFlags(args, {
    booleans: ["yes", "save-unvalidated", "force", "json"],
    aliases: { "-y": "yes" },
  });
  if (parsed.kind !== "flags") return parsed;
  return {
    kind: "setup",
    yes: parsed.booleans.has("yes"),
    saveUnvalidated: parsed.booleans.has("save-unvalidated"),
    force: parsed.booleans.has("force"),
    json: parsed.booleans.has("json"),
  };
}

/** The I/O the setup command uses (injected in tests). */
export interface SetupIo {
  interactive: boolean;
  env: (name: string) => string | undefined;
  promptLine: (message: string) => string | undefined;
  promptSecret: (message: string) => Promise<Secret | undefined>;
  say: (line: string) => void;
  /** Validates credentials with a read-only private call; throws `KrakenError`. */
  validate: (credentials: ApiCredentials) => Promise<void>;
  /** Writes the sealed file atomically with private permissions. */
  save: (text: string) => Promise<void>;
  /** Where the file goes, for messages. */
  secretsPath: string;
  /** The current secrets file's text, `undefined` when there is none. */
  readExisting: () => Promise<string | undefined>;
}

/** The outcome of the setup command. */
export interface SetupCommandResult {
  exitCode: number;
  result?: SetupResult;
  message: string;
}

async function gather(
  flags: SetupFlags,
  io: SetupIo,
): Promise<
  { credentials: ApiCredentials; password: Secret } | { error: string }
> {
  if (flags.yes || !io.interactive) {
    const key = io.env(ENV_API_KEY)?.trim();
    const secret = io.env(ENV_API_SECRET)?.trim();
    const password = io.env(ENV_MASTER_PASSWORD);
    if (!key || !secret || !password) {
      return {
        error:
          `Non-interactive setup needs ${ENV_API_KEY}, ${ENV_API_SECRET} and ${ENV_MASTER_PASSWORD} (or run on a terminal)`,
      };
    }
    const weak = passwordProblem(password.length);
    if (weak !== undefined) {
      return { error: `${ENV_MASTER_PASSWORD} ${weak}` };
    }
    return {
      credentials: { key: new Secret(key), secret: new Secret(secret) },
      password: new Secret(password),
    };
  }
  const key = io.promptLine("Kraken API key: ");
  if (!key) return { error: "No API key given" };
  const secret = await io.promptSecret("Kraken private key (hidden): ");
  if (!secret || secret.length === 0) return { error: "No private key given" };
  for (let attempt = 0; attempt < 3; attempt++) {
    const p1 = await io.promptSecret(
      `New master password (hidden, ${MIN_MASTER_PASSWORD_LENGTH}+ characters): `,
    );
    if (!p1) return { error: "No master password given" };
    // Judge the password before asking for it again: typing a password
    // twice only to hear it was too short is the wrong order.
    const weak = passwordProblem(p1.length);
    if (weak !== undefined) {
      io.say(`The master password ${weak}; try again`);
      continue;
    }
    const p2 = await io.promptSecret("Repeat the master password: ");
    if (!p2) return { error: "No master password given" };
    if (p1.reveal() !== p2.reveal()) {
      io.say("The passwords differ; try again");
      continue;
    }
    return {
      credentials: {
        key: new Secret(key.trim()),
        secret: new Secret(secret.reveal().trim()),
      },
      password: p1,
    };
  }
  return { error: "Master password not confirmed" };
}

/**
 * What is wrong with a master password of this length, if anything (the
 * vault's rule: at least {@linkcode MIN_MASTER_PASSWORD_LENGTH}
 * characters). Pure; it sees only the length, never the password.
 *
 * @param length The password's length in characters.
 * @returns The problem, e.g. `has 5 characters, at least 8 are needed`.
 * @example Too short
 * ```ts
 * import { passwordProblem } from "./setup_cmd.ts";
 * passwordProblem(5); // "has 5 characters, at least 8 are needed"
 * passwordProblem(12); // undefined
 * ```
 */
export function passwordProblem(length: number): string | undefined {
  return length < MIN_MASTER_PASSWORD_LENGTH
    ? `has ${length} character${
      length === 1 ? "" : "s"
    }, at least ${MIN_MASTER_PASSWORD_LENGTH} are needed`
    : undefined;
}

/** What is already at the secrets path, for the replace decision. */
interface Existing {
  /** How to name it in the question and messages. */
  description: string;
  /** It holds a key Kraken accepted: only a validated key may replace it. */
  validated: boolean;
}

function describeExisting(text: string): Existing {
  const header = readVaultHeader(text);
  if (header === undefined) {
    return {
      description: "a secrets file that is not a readable vault",
      validated: false,
    };
  }
  return header.validated
    ? {
      description: `a secrets file with a key Kraken accepted${
        header.validatedAt ? ` (checked ${header.validatedAt})` : ""
      }`,
      validated: true,
    }
    : {
      description: "a secrets file with an unvalidated key",
      validated: false,
    };
}

/**
 * Ask before replacing an existing secrets file. Returns the existing
 * file's facts to go on, or the outcome that ends the command.
 */
function confirmReplace(
  flags: SetupFlags,
  io: SetupIo,
  existing: Existing,
): SetupCommandResult | undefined {
  const where = `${io.secretsPath} already holds ${existing.description}`;
  const rule = existing.validated
    ? "; only a key Kraken accepts can replace it"
    : "";
  if (flags.yes) return undefined;
  if (!io.interactive) {
    return {
      exitCode: 2,
      message:
        `${where}: add --yes to replace it${rule} (or set KRAKKED_CONFIG_DIR to another directory)`,
    };
  }
  const answer = io.promptLine(`${where}${rule}. Replace it? [y/N] `);
  if (/^y(es)?$/i.test(answer?.trim() ?? "")) return undefined;
  return {
    exitCode: 1,
    message: "Kept the existing secrets file; nothing was changed",
  };
}

/**
 * Run `krakked setup`.
 *
 * @param flags Parsed flags.
 * @param io Injected I/O.
 * @returns The exit code, the core result and a message.
 * @example Run non-interactively
 * ```ts
 * import { runSetupCommand, type SetupIo } from "./setup_cmd.ts";
 * declare const io: SetupIo;
 * const { exitCode } = await runSetupCommand(
 *   { kind: "setup", yes: true, saveUnvalidated: false, force: false, json: false },
 *   io,
 * );
 * ```
 */
export async function runSetupCommand(
  flags: SetupFlags,
  io: SetupIo,
): Promise<SetupCommandResult> {
  const existingText = await io.readExisting();
  const existing = existingText === undefined
    ? undefined
    : describeExisting(existingText);
  if (existing !== undefined) {
    const stop = confirmReplace(flags, io, existing);
    if (stop !== undefined) return stop;
  }
  const replacesValidated = existing?.validated === true;
  const input = await gather(flags, io);
  if ("error" in input) return { exitCode: 2, message: input.error };
  let transientPolicy: "ask" | "save_unvalidated" = flags.saveUnvalidated
    ? "save_unvalidated"
    : "ask";
  for (let attempt = 1;; attempt++) {
    io.say("Checking the key with Kraken (Balance, read-only)…");
    const result = await runSetup(input.credentials, input.password, {
      validate: io.validate,
      save: io.save,
      onTransientFailure: transientPolicy,
      overrideAuthFailure: flags.force,
      replacesValidated,
    });
    const kept =
      `kept the existing secrets file, whose key Kraken accepted: an unvalidated key never replaces it (remove ${io.secretsPath} first to store this one anyway)`;
    switch (result.kind) {
      case "saved":
        return {
          exitCode: 0,
          result,
          message: `Saved and validated: ${io.secretsPath}`,
        };
      case "auth_failed":
        return {
          exitCode: 3,
          result,
          message: result.saved
            ? `Kraken rejected the key (${result.errorKind}); saved anyway, marked unvalidated (--force): ${io.secretsPath}`
            : result.keptExisting
            ? `Kraken rejected the key (${result.errorKind}): ${result.message}. Nothing was saved; ${kept}`
            : `Kraken rejected the key (${result.errorKind}): ${result.message}. Nothing was saved`,
        };
      case "transient_failure": {
        if (result.saved) {
          return {
            exitCode: 0,
            result,
            message:
              `Kraken could not be reached (${result.errorKind}); saved unvalidated: ${io.secretsPath}`,
          };
        }
        if (
          !io.interactive || flags.yes || attempt >= 5 || result.keptExisting
        ) {
          return {
            exitCode: 4,
            result,
            message: result.keptExisting
              ? `Kraken could not be reached (${result.errorKind}): ${result.message}. Nothing was saved; ${kept}`
              : `Kraken could not be reached (${result.errorKind}): ${result.message}. Nothing was saved; retry, or use --save-unvalidated`,
          };
        }
        const answer = io.promptLine(
          replacesValidated
            ? "Kraken could not be reached. [r]etry or [q]uit (an unvalidated key does not replace the validated one)? "
            : "Kraken could not be reached. [r]etry, [s]ave unvalidated, or [q]uit? ",
        )
          ?.toLowerCase();
        if (answer === "s") transientPolicy = "save_unvalidated";
        else if (answer !== "r") {
          return { exitCode: 4, result, message: "Nothing was saved" };
        }
        break;
      }
      case "failed":
        return {
          exitCode: 1,
          result,
          message: `Setup failed: ${result.message}. Nothing was saved`,
        };
    }
  }
}

/**
 * Run `krakked setup` with real effects: the config directory from the
 * environment, validation with a read-only `Balance` call against
 * `connection.rest_url`, and an atomic 0600 write of `secrets.enc`.
 * Every key, secret and password it sees is registered with the redactor.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers the entered secrets so no output shows them.
 * @returns The exit code (0 saved, 2 missing input, 3 key rejected, 4 unreachable, 1 other).
 * @throws {import("@krakked/core/config/config").ConfigError} For a bad config file.
 * @example Non-interactive
 * ```ts ignore
 * import { runSetupCli } from "./setup_cmd.ts";
 * import { denoIo } from "./io.ts";
 * await runSetupCli(
 *   { kind: "setup", yes: true, saveUnvalidated: false, force: false, json: false },
 *   denoIo(),
 * );
 * ```
 */
export async function runSetupCli(
  flags: SetupFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const ctx = await loadContext({
    env: io.env,
    os: io.os,
    redactor,
    ...(io.retry ? { retry: io.retry } : {}),
  });
  ctx.rest.close();
  for (const name of [ENV_API_KEY, ENV_API_SECRET, ENV_MASTER_PASSWORD]) {
    const value = io.env(name);
    if (value !== undefined) redactor.register(value.trim());
  }
  const { rest_url: baseUrl, timeout_ms: timeoutMs, api_tier: tier } =
    ctx.config.connection;
  const outcome = await runSetupCommand(flags, {
    interactive: io.interactive,
    env: io.env,
    promptLine: io.promptLine,
    promptSecret: async (message) => {
      const secret = await io.promptSecret(message);
      if (secret !== undefined) redactor.register(secret);
      return secret;
    },
    // With --json and no terminal, stdout's object is the whole answer.
    say: flags.json && !io.interactive
      ? () => {}
      : (line) => writeLine(io.stderr, line),
    validate: async (credentials) => {
      redactor.register(credentials.key);
      redactor.register(credentials.secret);
      // The run's correlation id on the check call too.
      const fetch = commandFetch();
      const client = new RestClient({
        ...(fetch === undefined ? {} : { fetch }),
        baseUrl,
        timeoutMs,
        tier,
        credentials: {
          key: credentials.key.reveal(),
          secret: credentials.secret,
        },
        ...(io.retry ? { retry: io.retry } : {}),
      });
      try {
        await client.balance();
      } finally {
        client.close();
      }
    },
    save: (text) => writePrivateFileAtomic(ctx.paths.secrets, text),
    secretsPath: ctx.paths.secrets,
    readExisting: () => readOptionalText(ctx.paths.secrets),
  });
  const saved = outcome.result !== undefined && "saved" in outcome.result
    ? outcome.result.saved
    : outcome.result?.kind === "saved";
  if (flags.json) {
    const category = setupErrorCategory(outcome);
    writeJson(io, {
      exitCode: outcome.exitCode,
      outcome: outcome.result?.kind ??
        (outcome.exitCode === 2 ? "input_error" : "kept_existing"),
      saved,
      validated: outcome.result?.kind === "saved",
      path: ctx.paths.secrets,
      message: outcome.message,
      // The one error shape every --json failure has, beside setup's own.
      ...(category === undefined
        ? {}
        : { error: { category, message: outcome.message } }),
    });
  } else if (outcome.exitCode === 0) {
    writeLine(io.stdout, outcome.message);
  } else {
    writeLine(io.stderr, outcome.message);
  }
  return outcome.exitCode;
}

/**
 * The stable `error.category` of a failed setup, or `undefined` when it
 * did not fail (saved, or the user kept the existing file). Pure.
 *
 * @param outcome The setup outcome.
 * @returns The category.
 * @example A rejected key
 * ```ts ignore
 * setupErrorCategory({ exitCode: 3, message: "…", result: { kind: "auth_failed", … } }); // "auth"
 * ```
 */
export function setupErrorCategory(
  outcome: SetupCommandResult,
): ErrorCategory | undefined {
  const result = outcome.result;
  if (outcome.exitCode === 0) return undefined;
  if (result === undefined) return outcome.exitCode === 2 ? "usage" : undefined;
  switch (result.kind) {
    case "saved":
      return undefined;
    case "auth_failed":
    case "transient_failure":
      return categoryForKind(
        KRAKEN_KINDS.has(result.errorKind)
          ? result.errorKind as KrakenErrorKind
          : "unknown",
      );
    case "failed":
      return "unexpected";
  }
}

const KRAKEN_KINDS: ReadonlySet<string> = new Set<KrakenErrorKind>([
  "auth",
  "permission",
  "nonce",
  "rate_limit",
  "invalid_request",
  "order",
  "service",
  "network",
  "unknown",
]);

/** `krakked setup`, for the command table. */
export const setupCommand: Command<SetupFlags> = {
  name: "setup",
  summary: "Store your Kraken API key encrypted, after checking it with Kraken",
  help: SETUP_HELP,
  parse: parseSetupArgs,
  run: runSetupCli,
};
