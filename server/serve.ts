/**
 * `krakked serve`: the local server for watching Kraken markets in the
 * browser without any secret leaving the server.
 *
 * @module
 */

import { parseConfig } from "@krakked/core/config/config";
import { Logger } from "@krakked/core/log";
import { RestClient } from "@krakked/core/rest/client";
import { KrakenError } from "@krakked/core/rest/errors";
import { resolveCredentials } from "@krakked/core/secrets/credentials";
import { Secret } from "@krakked/core/secrets/secret";
import { createApp } from "./http/app.ts";
import { AccountStream } from "./trading/account_stream.ts";
import { BookFeed } from "./trading/book_feed.ts";
import { configDir, configPaths } from "./deno/config_dir.ts";
import { denoCredentialSources } from "./deno/credentials_source.ts";
import { readOptionalText } from "./deno/files.ts";
import { allowedHosts, isLoopbackHost } from "./http/loopback.ts";
import { newToken } from "./http/security.ts";
import { loadStaticFiles } from "./http/static_files.ts";
import { join } from "node:path";
import { PrivateStream } from "@krakked/core/trade/private_stream";
import { PrivateWsSession } from "@krakked/core/trade/ws_session";
import { OrderService, PAPER_FILE, SIM_PAPER_FILE } from "./trading/orders.ts";
import { type Simulator, startSimulator, webSocketPlugin } from "@krakked/sim";
import type { ServeArgs } from "./cli/serve_cmd.ts";

/** The version reported by the server. */
export const SERVER_VERSION = "0.1.0";

/** A running server. */
export interface RunningServer {
  url: string;
  mode: "live" | "sim";
  simUrl?: string;
  /** The in-process simulator with `--sim` (tests inspect its engine). */
  simulator?: Simulator;
  /** The server's REST client (tests inspect its limiter's tier). */
  rest: RestClient;
  close(): Promise<void>;
}

/** Options of {@linkcode startServe} (mostly for tests). */
export interface StartServeOptions {
  /** Where the built page lives (default `web/dist` next to this file's parent). */
  staticDir?: string;
  /** Log sink (default stderr). */
  logSink?: (line: string) => void;
  /** Environment lookup (default Deno.env). */
  env?: (name: string) => string | undefined;
  /** Config text (default: read config.yaml from the config directory). */
  configText?: string;
  /** Notes for the operator (default stderr). */
  say?: (line: string) => void;
  /** Paper account file (default `<config dir>/paper.json`, `paper-sim.json` with `--sim`). */
  paperPath?: string;
}

/**
 * Start the server (and the simulator with `--sim`).
 *
 * @param args Parsed serve flags.
 * @param options Test hooks.
 * @returns The running server.
 * @throws {Error} For a non-loopback host without a token, or unreadable config.
 */
export async function startServe(
  args: Extract<ServeArgs, { kind: "serve" }>,
  options: StartServeOptions = {},
): Promise<RunningServer> {
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  const say = options.say ?? ((l: string) => console.error(l));
  // Resolved only when needed: a given config text in --sim mode needs no directory.
  let pathsCache: ReturnType<typeof configPaths> | undefined;
  const paths =
    () => (pathsCache ??= configPaths(configDir(Deno.build.os, env)));
  const { config, warnings } = parseConfig(
    options.configText ?? (await readOptionalText(paths().config)),
  );
  for (const w of warnings) say(`warning: ${w}`);
  const host = args.host ?? config.server.host;
  const port = args.port ?? config.server.port;
  if (!isLoopbackHost(host) && args.token === undefined) {
    throw new Error(
      `Refusing to bind ${host} without --token: only loopback binds are open without one`,
    );
  }
  const logger = new Logger({
    sink: options.logSink ?? ((l) => console.error(l)),
  });

  let restUrl = config.connection.rest_url;
  let wsPublicUrl = config.connection.ws_public_url;
  let wsAuthUrl = config.connection.ws_auth_url;
  let sim: Awaited<ReturnType<typeof startSimulator>> | undefined;
  let credentials: { key: string; secret: Secret } | undefined;
  if (args.sim) {
    sim = await startSimulator({
      port: 0,
      seed: args.seed ?? 1,
      // The simulator meters the key by the tier the client paces for.
      tier: config.connection.api_tier,
      ...(args.simPairs !== undefined ? { syntheticPairs: args.simPairs } : {}),
      websocket: webSocketPlugin(),
    });
    restUrl = sim.url;
    wsPublicUrl = sim.wsPublicUrl;
    wsAuthUrl = sim.wsAuthUrl;
    // The simulator's own test account: simulated balances and orders.
    credentials = {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret,
    };
  } else {
    const resolved = await resolveCredentials(
      denoCredentialSources({ secretsPath: paths().secrets, env }),
    );
    for (const w of resolved.warnings) say(`warning: ${w}`);
    if (resolved.kind === "found") {
      credentials = {
        key: resolved.credentials.key.reveal(),
        secret: resolved.credentials.secret,
      };
      logger.redactor.register(resolved.credentials.key);
      logger.redactor.register(resolved.credentials.secret);
      say(
        `Credentials: from ${
          resolved.source === "env" ? "the environment" : paths().secrets
        }`,
      );
    } else if (resolved.kind === "error") {
      say(
        `Credentials: ${resolved.error.message}; continuing with public data only`,
      );
    } else {
      say(`Credentials: none (${resolved.reason}); public data only`);
    }
  }
  if (credentials) logger.redactor.register(credentials.secret);

  // One client (and so one limiter) per server, paced by the account's
  // tier: REST counter and per-pair trading-engine counters alike.
  const rest = new RestClient({
    baseUrl: restUrl,
    timeoutMs: config.connection.timeout_ms,
    tier: config.connection.api_tier,
    ...(credentials ? { credentials } : {}),
  });
  if (!args.sim) {
    try {
      await rest.systemStatus();
    } catch (error) {
      const kind = error instanceof KrakenError ? error.kind : "network";
      say(
        `Kraken is unreachable at ${restUrl} (${kind}). The page will show REST unreachable.` +
          ` To run offline, use: deno task serve --sim`,
      );
    }
  }

  const staticDir = options.staticDir ??
    new URL("../web/dist", import.meta.url).pathname;
  const staticFiles = await loadStaticFiles(staticDir);
  if (staticFiles.size === 0) {
    say(`warning: no page in ${staticDir}: run 'deno task build'`);
  }

  const sessionToken = newToken();
  const controller = new AbortController();
  let boundPort = port;
  const hostsRef: { hosts: string[] } = { hosts: [] };
  // With credentials, the server holds the private WS stream and relays
  // read-only account events; the token never leaves the server.
  const accountStream = credentials
    ? new AccountStream({
      url: wsAuthUrl,
      redactor: logger.redactor,
      getToken: async () => (await rest.getWebSocketsToken()).token.reveal(),
    })
    : undefined;
  accountStream?.start();
  // Orders: one client per server. Live also follows its executions on
  // its own private stream (the relay above is read-only and page-facing).
  const liveSwitch = args.live || env("KRAKKED_LIVE") === "1";
  const liveArmed = config.trading.mode === "live" &&
    config.trading.enable_live_orders && liveSwitch && credentials;
  let session: PrivateWsSession | undefined;
  let stream: PrivateStream | undefined;
  if (liveArmed) {
    session = new PrivateWsSession(wsAuthUrl, {
      getToken: async () => (await rest.getWebSocketsToken()).token,
    });
    stream = new PrivateStream(session, { rest });
    stream.start();
    session.connect();
  }
  let paperPath = options.paperPath;
  if (paperPath === undefined) {
    try {
      // Paper fills against simulated books never mix into the paper
      // account that trades against real Kraken books.
      paperPath = join(paths().dir, args.sim ? SIM_PAPER_FILE : PAPER_FILE);
    } catch (error) {
      say(
        `warning: the paper account is kept in memory only (${
          error instanceof Error ? error.message : String(error)
        })`,
      );
    }
  }
  // Placements read books from one public WS v2 stream (subscribed per
  // pair on first use) rather than the public REST budget.
  const books = new BookFeed(wsPublicUrl, {
    staleToleranceSec: config.market_data.ws.stale_tolerance_seconds,
  });
  const orders = new OrderService({
    config,
    liveSwitch,
    rest,
    books,
    ...(paperPath !== undefined ? { paperPath } : {}),
    ...(stream ? { stream } : {}),
  });
  if (liveArmed && await orders.armDeadMan()) {
    say(
      `Dead-man switch armed: Kraken cancels all orders ${config.trading.dead_man_seconds} s after this server stops refreshing it`,
    );
  }
  say(
    `Trading: ${config.trading.mode}${
      config.trading.mode === "live"
        ? liveArmed
          ? " (ARMED: real orders)"
          : " (refused: needs both switches)"
        : ""
    }`,
  );
  const { app } = createApp({
    mode: args.sim ? "sim" : "live",
    config,
    rest,
    sessionToken,
    ...(args.token !== undefined ? { accessToken: args.token } : {}),
    get allowedHosts() {
      return hostsRef.hosts;
    },
    wsPublicUrl,
    staticFiles,
    logger,
    version: SERVER_VERSION,
    ...(accountStream ? { accountEvents: accountStream } : {}),
    orders,
  });
  const server = Deno.serve({
    hostname: host,
    port,
    signal: controller.signal,
    onListen: (addr) => {
      boundPort = addr.port;
    },
  }, app.fetch);
  boundPort = (server.addr as Deno.NetAddr).port;
  hostsRef.hosts = allowedHosts(host, boundPort);
  const shownHost = isLoopbackHost(host) ? "127.0.0.1" : host;
  const url = `http://${
    shownHost.includes(":") ? `[${shownHost}]` : shownHost
  }:${boundPort}`;
  return {
    url,
    mode: args.sim ? "sim" : "live",
    ...(sim ? { simUrl: sim.url, simulator: sim } : {}),
    rest,
    async close() {
      controller.abort();
      await server.finished;
      await orders.close();
      books.close();
      stream?.stop();
      session?.close();
      accountStream?.close();
      rest.close();
      await sim?.close();
    },
  };
}
