/**
 * What every CLI command needs: the config directory, the parsed config,
 * credentials (when the command needs them) and a REST client pointed at
 * `connection.rest_url` (the real Kraken or a simulator).
 *
 * Inside a command run (`./command.ts`) the REST client's fetch and
 * {@linkcode commandWebSocket} carry the run's correlation id: every
 * upstream call sends it as `X-Request-Id` and writes one `upstream` log
 * line (`rid`, its own `uid`, the Kraken method, status, time, and the
 * order it names), as the server's calls do.
 *
 * @module
 */

import { type KrakkedConfig, parseConfig } from "@krakked/core/config/config";
import {
  type FetchLike,
  RestClient,
  type RetryOptions,
} from "@krakked/core/rest/client";
import type {
  WebSocketConstructor,
  WebSocketLike,
} from "@krakked/core/ws/connection";
import {
  type CredentialsResult,
  ENV_API_KEY,
  ENV_API_SECRET,
  ENV_MASTER_PASSWORD,
  resolveCredentials,
} from "@krakked/core/secrets/credentials";
import type { Redactor } from "@krakked/core/secrets/redact";
import type { Secret } from "@krakked/core/secrets/secret";
import {
  configDir,
  type ConfigPaths,
  configPaths,
} from "../deno/config_dir.ts";
import { denoCredentialSources } from "../deno/credentials_source.ts";
import {
  FILE_LIMITS,
  readOptionalText,
  tightenConfigDir,
} from "../deno/files.ts";
import { CredentialsError } from "./errors.ts";
import { currentCommand } from "./command.ts";
import { REQUEST_ID_HEADER, withRequestId } from "../http/request_id.ts";
import { tracedFetch } from "../trading/ops_fetch.ts";
import { type CliIo, writeLine } from "./io.ts";

/** A loaded CLI context. */
export interface CliContext {
  /** The config directory and its files. */
  paths: ConfigPaths;
  /** The parsed config (defaults when the file is missing). */
  config: KrakkedConfig;
  /** Whether `config.yaml` exists. */
  configExists: boolean;
  /** Config warnings (unknown keys). */
  warnings: string[];
  /** The credential outcome, when credentials were asked for. */
  credentials: CredentialsResult | undefined;
  /**
   * A REST client at `connection.rest_url`, paced for `connection.api_tier`,
   * with the credentials when found.
   */
  rest: RestClient;
}

/** Options of {@linkcode loadContext}. */
export interface LoadContextOptions {
  /** Resolve credentials (may prompt for the master password on a TTY). */
  credentials?: boolean;
  /** Environment lookup (default `Deno.env`). */
  env?: (name: string) => string | undefined;
  /** Operating system for the config directory (default `Deno.build.os`). */
  os?: string;
  /** Master password prompt (default: a hidden TTY prompt). */
  prompt?: (message: string) => Promise<Secret | undefined>;
  /** Registers found credentials so no output can show them. */
  redactor?: Redactor;
  /** Retry policy of the REST client (default: the client's). */
  retry?: RetryOptions;
}

/**
 * Load config, optionally credentials, and build the REST client.
 *
 * @param options What to load and the injected environment.
 * @returns The context; close `rest` when done.
 * @throws {import("@krakked/core/config/config").ConfigError} For a bad config file.
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
  const paths = configPaths(configDir(options.os ?? Deno.build.os, env));
  // The README promises a private config directory: one left open to
  // others is tightened before anything in it is read, by every command.
  const tightened = await tightenConfigDir(paths.dir, paths.secrets);
  const text = await readOptionalText(paths.config, {
    maxBytes: FILE_LIMITS.config,
  });
  const parsed = parseConfig(text);
  const { config } = parsed;
  const warnings = [
    ...tightened.map((path) =>
      `tightened the permissions of ${path} (0700/0600)`
    ),
    ...parsed.warnings,
  ];
  let credentials: CredentialsResult | undefined;
  if (options.credentials) {
    credentials = await resolveCliCredentials(paths, options);
  }
  const fetch = commandFetch();
  const rest = new RestClient({
    ...(fetch === undefined ? {} : { fetch }),
    baseUrl: config.connection.rest_url,
    timeoutMs: config.connection.timeout_ms,
    // A call's whole budget (queue, retries, requests), as in the server.
    deadlineMs: Math.max(
      config.connection.call_deadline_ms,
      config.connection.timeout_ms,
    ),
    tier: config.connection.api_tier,
    ...(options.retry ? { retry: options.retry } : {}),
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
 * Resolve credentials the way every command does: both environment
 * variables, else the secrets file with the master password (environment or
 * prompt). Found values are registered with the redactor.
 *
 * @param paths The config directory's files.
 * @param options Environment, prompt and redactor.
 * @returns The credential outcome.
 * @example Resolve
 * ```ts
 * import { resolveCliCredentials } from "./context.ts";
 * import { configPaths } from "../deno/config_dir.ts";
 * await resolveCliCredentials(configPaths("/tmp/krakked-demo"), {});
 * ```
 */
export async function resolveCliCredentials(
  paths: ConfigPaths,
  options: Pick<LoadContextOptions, "env" | "prompt" | "redactor">,
): Promise<CredentialsResult> {
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  for (const name of [ENV_API_KEY, ENV_API_SECRET, ENV_MASTER_PASSWORD]) {
    const value = env(name);
    if (value !== undefined) options.redactor?.register(value.trim());
  }
  const result = await resolveCredentials(
    denoCredentialSources({
      secretsPath: paths.secrets,
      env,
      ...(options.prompt ? { prompt: options.prompt } : {}),
    }),
  );
  if (result.kind === "found") {
    options.redactor?.register(result.credentials.key);
    options.redactor?.register(result.credentials.secret);
  }
  return result;
}

/**
 * Which credential variable is missing when only one of
 * `KRAKEN_API_KEY`/`KRAKEN_API_SECRET` is set (an empty value counts as
 * unset, as in core's resolution). Pure.
 *
 * @param env Environment lookup.
 * @returns The set and the missing name, or `undefined` when both or
 *   neither are set.
 * @example Only the key
 * ```ts
 * import { incompleteEnvCredentials } from "./context.ts";
 * incompleteEnvCredentials((n) => n === "KRAKEN_API_KEY" ? "k" : undefined);
 * // { set: "KRAKEN_API_KEY", missing: "KRAKEN_API_SECRET" }
 * ```
 */
export function incompleteEnvCredentials(
  env: (name: string) => string | undefined,
): { set: string; missing: string } | undefined {
  const key = (env(ENV_API_KEY)?.trim() ?? "") !== "";
  const secret = (env(ENV_API_SECRET)?.trim() ?? "") !== "";
  if (key === secret) return undefined;
  return key
    ? { set: ENV_API_KEY, missing: ENV_API_SECRET }
    : { set: ENV_API_SECRET, missing: ENV_API_KEY };
}

/**
 * Require found credentials for a private command. When only one of the
 * two environment variables is set, the error says the credentials are
 * incomplete and names the missing one (the README's promise), instead of
 * "No credentials".
 *
 * @param result The credential outcome.
 * @param env Environment lookup, to name a missing variable.
 * @throws {CredentialsError} When none were found or the file could not be opened.
 * @example Require
 * ```ts
 * import { requireCredentials } from "./context.ts";
 * requireCredentials({ kind: "found", source: "env", credentials: {} as never, warnings: [] });
 * ```
 */
export function requireCredentials(
  result: CredentialsResult | undefined,
  env: (name: string) => string | undefined = () => undefined,
): void {
  if (result === undefined || result.kind === "found") return;
  const problem = result.kind === "none"
    ? result.reason
    : `Cannot open the secrets file: ${result.error.message}`;
  const partial = incompleteEnvCredentials(env);
  if (partial === undefined) throw new CredentialsError(problem);
  const head =
    `Incomplete credentials: ${partial.set} is set but ${partial.missing} is not, so neither is used`;
  // "No credentials: set both…" only repeats the head; a file problem adds news.
  const noFile = result.kind === "none" &&
    result.reason.startsWith("No credentials");
  throw new CredentialsError(
    noFile
      ? head
      : `${head}; ${problem.charAt(0).toLowerCase()}${problem.slice(1)}`,
    {
      suggestion:
        `Set ${partial.missing} as well (both are needed), or unset ${partial.set} and run 'krakked setup'`,
    },
  );
}

/**
 * Render rows as an aligned text table.
 *
 * @param headers Column headers.
 * @param rows Cell text per row.
 * @param alignRight Columns (by index) to right-align (numbers).
 * @returns The table text (no trailing newline).
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
  // Cells may hold ANSI colours: pad by visible width.
  // deno-lint-ignore no-control-regex -- matching the ESC of ANSI colour codes
  const ansi = /\x1b\[[0-9;]*m/g;
  const width = (s: string) => s.replace(ansi, "").length;
  const widths = headers.map((h, i) =>
    Math.max(width(h), ...rows.map((r) => width(r[i] ?? "")))
  );
  const pad = (c: string, i: number) => {
    const fill = " ".repeat(Math.max(0, widths[i]! - width(c)));
    return alignRight.includes(i) ? fill + c : c + fill;
  };
  const line = (cells: readonly string[]) =>
    cells.map(pad).join("  ").trimEnd();
  return [
    line(headers),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

/**
 * Load the context for a data command from its I/O: environment, OS,
 * password prompt (when credentials are needed) and retry policy come from
 * `io`; config warnings are written to stderr.
 *
 * @param io The command's I/O.
 * @param options Whether credentials are needed, and the output redactor.
 * @returns The context; close `rest` when done.
 * @throws {import("@krakked/core/config/config").ConfigError} For a bad config file.
 * @example Load for a command
 * ```ts ignore
 * import { loadCommandContext } from "./context.ts";
 * import { denoIo } from "./io.ts";
 * const ctx = await loadCommandContext(denoIo(), { credentials: true });
 * ```
 */
export async function loadCommandContext(
  io: CliIo,
  options: { credentials?: boolean; redactor?: Redactor | undefined } = {},
): Promise<CliContext> {
  const ctx = await loadContext({
    env: io.env,
    os: io.os,
    ...(options.credentials
      ? { credentials: true, prompt: io.promptSecret }
      : {}),
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...(io.retry ? { retry: io.retry } : {}),
  });
  for (const w of ctx.warnings) writeLine(io.stderr, `warning: ${w}`);
  // Found elsewhere (the secrets file) despite a half-set environment: say
  // so. Without credentials the error itself names the missing variable.
  if (ctx.credentials?.kind === "found") {
    for (const w of ctx.credentials.warnings) {
      writeLine(io.stderr, `warning: ${w}`);
    }
  }
  return ctx;
}

/**
 * The fetch of the current command run's REST clients: each call sends the
 * run's id as `X-Request-Id` and, when the run logs, writes its `upstream`
 * line (see `../trading/ops_fetch.ts`) with `rid` set to the id. The run is
 * read once, here, so a call the client's queue sends later still names
 * the command that made the client.
 *
 * @param inner The real fetch (default `globalThis.fetch`).
 * @returns The fetch, or `undefined` outside a command run.
 * @example
 * ```ts ignore
 * const rest = new RestClient({ fetch: commandFetch() });
 * ```
 */
export function commandFetch(
  inner: FetchLike = (input, init) => globalThis.fetch(input, init),
): FetchLike | undefined {
  const run = currentCommand();
  if (run === undefined) return undefined;
  const tagged: FetchLike = (input, init) =>
    inner(input, {
      ...init,
      headers: { ...toRecord(init?.headers), [REQUEST_ID_HEADER]: run.id },
    });
  const traced = run.logger === undefined ? tagged : tracedFetch(tagged, {
    logger: run.logger,
    mint: run.mint,
    publicLevel: "info",
  });
  return (input, init) => withRequestId(run.id, () => traced(input, init));
}

function toRecord(headers: HeadersInit | undefined): Record<string, string> {
  if (headers === undefined) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers);
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return { ...headers } as Record<string, string>;
}

/**
 * The WebSocket of the current command run: the handshake sends the run's
 * id as `X-Request-Id` (Deno's WebSocket takes headers), and the run's log
 * gets a `ws open` line (`rid`, `uid`, the URL without its query) and a
 * `ws closed` line with the close code.
 *
 * @returns The constructor, or `undefined` outside a command run.
 * @example
 * ```ts ignore
 * new WsConnection(url, { WebSocket: commandWebSocket() });
 * ```
 */
export function commandWebSocket(): WebSocketConstructor | undefined {
  const current = currentCommand();
  if (current === undefined) return undefined;
  const run = current;
  const Native = globalThis.WebSocket as unknown as new (
    url: string,
    options: { headers: Record<string, string> },
  ) => WebSocket;
  return class {
    constructor(url: string) {
      const socket = new Native(url, {
        headers: { [REQUEST_ID_HEADER]: run.id },
      });
      const uid = run.mint.next("w");
      const shown = url.split("?")[0];
      run.logger?.info("ws connect", { rid: run.id, uid, url: shown });
      socket.addEventListener(
        "open",
        () => run.logger?.info("ws open", { rid: run.id, uid }),
      );
      socket.addEventListener(
        "close",
        (e) =>
          run.logger?.info("ws closed", { rid: run.id, uid, code: e.code }),
      );
      return socket as unknown as WebSocketLike;
    }
  } as unknown as WebSocketConstructor;
}
