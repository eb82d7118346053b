/**
 * What every CLI command needs: the config directory, the parsed config,
 * credentials (when the command needs them) and a REST client pointed at
 * `connection.rest_url` (the real Kraken or a simulator).
 *
 * @module
 */

import { type KrakkedConfig, parseConfig } from "../../core/config/config.ts";
import { RestClient } from "../../core/rest/client.ts";
import {
  type CredentialsResult,
  resolveCredentials,
} from "../../core/secrets/credentials.ts";
import { configDir, type ConfigPaths, configPaths } from "../config_dir.ts";
import { denoCredentialSources } from "../credentials_source.ts";
import { readOptionalText } from "../files.ts";

/** A loaded CLI context. */
export interface CliContext {
  paths: ConfigPaths;
  config: KrakkedConfig;
  configExists: boolean;
  warnings: string[];
  credentials: CredentialsResult | undefined;
  rest: RestClient;
}

/** Options of {@linkcode loadContext}. */
export interface LoadContextOptions {
  /** Resolve credentials (prompts for the master password on a TTY). */
  credentials?: boolean;
  /** Environment lookup (default Deno.env). */
  env?: (name: string) => string | undefined;
}

/**
 * Load config, optionally credentials, and build the REST client.
 *
 * @param options What to load.
 * @returns The context; close `rest` when done.
 * @throws {import("../../core/config/config.ts").ConfigError} For a bad config file.
 * @example Load
 * ```ts
 * import { loadContext } from "./context.ts";
 * const ctx = await loadContext({ credentials: true });
 * ctx.rest.close();
 * ```
 */
export async function loadContext(
  options: LoadContextOptions = {},
): Promise<CliContext> {
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  const paths = configPaths(configDir(Deno.build.os, env));
  const text = await readOptionalText(paths.config);
  const { config, warnings } = parseConfig(text);
  let credentials: CredentialsResult | undefined;
  if (options.credentials) {
    credentials = await resolveCredentials(
      denoCredentialSources({ secretsPath: paths.secrets, env }),
    );
  }
  const rest = new RestClient({
    baseUrl: config.connection.rest_url,
    timeoutMs: config.connection.timeout_ms,
    ...(credentials?.kind === "found"
      ? {
        credentials: {
          key: credentials.credentials.key.reveal(),
          secret: credentials.credentials.secret,
        },
      }
      : {}),
  });
  return {
    paths,
    config,
    configExists: text !== undefined,
    warnings,
    credentials,
    rest,
  };
}

/**
 * Whether CLI output may use colour: a TTY and no `NO_COLOR`.
 *
 * @param env Environment lookup.
 * @returns `true` when colours are allowed.
 * @example Check
 * ```ts
 * import { useColor } from "./context.ts";
 * useColor((n) => Deno.env.get(n));
 * ```
 */
export function useColor(env: (name: string) => string | undefined): boolean {
  const noColor = env("NO_COLOR");
  return (noColor === undefined || noColor === "") && Deno.stdout.isTerminal();
}

/**
 * Render rows as an aligned text table.
 *
 * @param headers Column headers.
 * @param rows Cell text per row.
 * @param alignRight Columns (by index) to right-align (numbers).
 * @returns The table text.
 * @example Table
 * ```ts
 * import { table } from "./context.ts";
 * table(["pair", "last"], [["XBTUSD", "97000.1"]], [1]);
 * ```
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  alignRight: readonly number[] = [],
): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((
      c,
      i,
    ) => (alignRight.includes(i)
      ? c.padStart(widths[i]!)
      : c.padEnd(widths[i]!))
    ).join("  ").trimEnd();
  return [
    line(headers),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}
