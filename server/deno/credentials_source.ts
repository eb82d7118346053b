/**
 * The server side of credential resolution: real environment, the secrets
 * file in the config directory, and the master password from a TTY prompt or
 * `KRAKKED_MASTER_PASSWORD`.
 *
 * @module
 */

import {
  type CredentialSources,
  ENV_MASTER_PASSWORD,
} from "@krakked/core/secrets/credentials";
import { Secret } from "@krakked/core/secrets/secret";
import { FILE_LIMITS, readOptionalText } from "./files.ts";
import { promptSecret } from "./prompt.ts";

/** Options of {@linkcode denoCredentialSources}. */
export interface DenoCredentialOptions {
  /** Path of `secrets.enc`. */
  secretsPath: string;
  /** Environment lookup; defaults to `Deno.env.get`. */
  env?: (name: string) => string | undefined;
  /** Password prompt; defaults to a hidden TTY prompt. */
  prompt?: (message: string) => Promise<Secret | undefined>;
}

/**
 * Credential sources for a Deno process. The environment password is used
 * only when set; otherwise a TTY prompt asks for it.
 *
 * @param options Secrets path and injectable env and prompt.
 * @returns Sources for `resolveCredentials`.
 * @example Resolve
 * ```ts
 * import { resolveCredentials } from "@krakked/core/secrets/credentials";
 * import { denoCredentialSources } from "./credentials_source.ts";
 * const result = await resolveCredentials(
 *   denoCredentialSources({ secretsPath: "/home/me/.config/kraken_bot/secrets.enc" }),
 * );
 * ```
 */
export function denoCredentialSources(
  options: DenoCredentialOptions,
): CredentialSources {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const ask = options.prompt ?? promptSecret;
  return {
    env,
    readSecretsFile: () =>
      readOptionalText(options.secretsPath, { maxBytes: FILE_LIMITS.secrets }),
    getPassword: async () => {
      const fromEnv = env(ENV_MASTER_PASSWORD);
      if (fromEnv !== undefined && fromEnv !== "") return new Secret(fromEnv);
      return await ask("Krakked master password: ");
    },
  };
}
