/**
 * Where Krakked's API credentials come from, in order of precedence:
 *
 * 1. Environment: both `KRAKEN_API_KEY` and `KRAKEN_API_SECRET`. Only one of
 *    them is "incomplete": reported as a warning, not used, and resolution
 *    falls through to the file.
 * 2. The secrets file, opened with the master password (a prompt on a TTY,
 *    or `KRAKKED_MASTER_PASSWORD` for non-interactive use, which is less safe
 *    because the environment of a process can be read by its user).
 * 3. Nothing: a typed `none` result, so read-only public use still works.
 *
 * All I/O is injected, so this runs anywhere.
 *
 * @module
 */

import { type ApiCredentials, openVault, type VaultHeader } from "./vault.ts";
import { Secret } from "./secret.ts";

/** Environment variable holding the API key. */
export const ENV_API_KEY = "KRAKEN_API_KEY";
/** Environment variable holding the API secret. */
export const ENV_API_SECRET = "KRAKEN_API_SECRET";
/** Environment variable holding the master password (non-interactive use). */
export const ENV_MASTER_PASSWORD = "KRAKKED_MASTER_PASSWORD";

/** What {@linkcode resolveCredentials} needs from its environment. */
export interface CredentialSources {
  /** Read an environment variable. */
  env: (name: string) => string | undefined;
  /** Read the secrets file; `undefined` when it does not exist. */
  readSecretsFile: () => Promise<string | undefined>;
  /** Ask for the master password; `undefined` when none can be obtained. */
  getPassword: () => Promise<Secret | undefined>;
}

/** The outcome of credential resolution. */
export type CredentialsResult =
  | {
    kind: "found";
    source: "env" | "file";
    credentials: ApiCredentials;
    /** Present for file credentials: the authenticated validation flag. */
    header?: VaultHeader;
    warnings: string[];
  }
  | { kind: "none"; reason: string; warnings: string[] }
  | {
    kind: "error";
    source: "file";
    /** The error (a `VaultError`); its message never holds a secret. */
    error: Error;
    warnings: string[];
  };

/**
 * Resolve credentials by precedence: env → secrets file → none.
 *
 * @param sources Injected environment, file reader and password prompt.
 * @returns Found credentials, a typed `none`, or a typed file error.
 * @example Resolve from the environment
 * ```ts
 * import { resolveCredentials } from "./credentials.ts";
 * const result = await resolveCredentials({
 *   env: (name) => ({ KRAKEN_API_KEY: "k", KRAKEN_API_SECRET: "czM=" })[name],
 *   readSecretsFile: () => Promise.resolve(undefined),
 *   getPassword: () => Promise.resolve(undefined),
 * });
 * // result.kind === "found", result.source === "env"
 * ```
 */
export async function resolveCredentials(
  sources: CredentialSources,
): Promise<CredentialsResult> {
  const warnings: string[] = [];
  const key = nonEmpty(sources.env(ENV_API_KEY));
  const secret = nonEmpty(sources.env(ENV_API_SECRET));
  if (key !== undefined && secret !== undefined) {
    return {
      kind: "found",
      source: "env",
      credentials: { key: new Secret(key), secret: new Secret(secret) },
      warnings,
    };
  }
  if (key !== undefined || secret !== undefined) {
    const [have, missing] = key !== undefined
      ? [ENV_API_KEY, ENV_API_SECRET]
      : [ENV_API_SECRET, ENV_API_KEY];
    warnings.push(
      `Incomplete credentials in the environment: ${have} is set but ${missing} is not, so neither is used`,
    );
  }
  const text = await sources.readSecretsFile();
  if (text === undefined) {
    return {
      kind: "none",
      reason:
        `No credentials: set ${ENV_API_KEY} and ${ENV_API_SECRET}, or run 'krakked setup'`,
      warnings,
    };
  }
  const password = await sources.getPassword();
  if (password === undefined) {
    return {
      kind: "none",
      reason:
        `A secrets file exists but no master password was given: run on a terminal or set ${ENV_MASTER_PASSWORD}`,
      warnings,
    };
  }
  try {
    const { credentials, header } = await openVault(text, password);
    return { kind: "found", source: "file", credentials, header, warnings };
  } catch (error) {
    return { kind: "error", source: "file", error: error as Error, warnings };
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === "" ? undefined : v;
}
