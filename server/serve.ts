/**
 * `krakked serve`: the local server for watching Kraken markets in the
 * browser without any secret leaving the server.
 *
 * {@linkcode startServe} runs named steps in order: read the config, start
 * the simulator (with `--sim`) or find the credentials, open the REST
 * client, open the private stream, start the order service, build the app,
 * listen. Each step hands what it started to one `AsyncDisposableStack`, so
 * when a step fails, everything the earlier steps started is closed again,
 * newest first; when all succeed, `close()` does the same.
 *
 * @module
 */

import { join } from "node:path";
import { type KrakkedConfig, parseConfig } from "@krakked/core/config/config";
import { Logger } from "@krakked/core/log";
import { RestClient, type RetryOptions } from "@krakked/core/rest/client";
import { KrakenError } from "@krakked/core/rest/errors";
import {
  ENV_MASTER_PASSWORD,
  resolveCredentials,
} from "@krakked/core/secrets/credentials";
import { Secret } from "@krakked/core/secrets/secret";
import { PrivateStream } from "@krakked/core/trade/private_stream";
import { PrivateWsSession } from "@krakked/core/trade/ws_session";
import type { Simulator } from "@krakked/sim";
import { configDir, type ConfigPaths, configPaths } from "./deno/config_dir.ts";
import { defaultRecorderStore, watchRecorder } from "./trading/ops_recorder.ts";
import { denoCredentialSources } from "./deno/credentials_source.ts";
import {
  FILE_LIMITS,
  readOptionalText,
  tightenConfigDir,
} from "./deno/files.ts";
import { createApp } from "./http/app.ts";
import { requestDeadlineMs, withRequestDeadline } from "./http/deadline.ts";
import { serveGuarded } from "./http/connection_guard.ts";
import { allowedHosts, isLoopbackHost } from "./http/loopback.ts";
import { newToken } from "./http/security.ts";
import { loadStaticFiles } from "./http/static_files.ts";
import { AccountRelay } from "./trading/account_relay.ts";
import { AccountService, openAccount } from "./trading/account_service.ts";
import { accountCacheDir } from "./deno/account_store.ts";
import { BookFeed } from "./trading/book_feed.ts";
import { OpsMonitor } from "./trading/ops.ts";
import { tracedFetch } from "./trading/ops_fetch.ts";
import { RotatingLogFile } from "./trading/ops_log_file.ts";
import { IdMint } from "./http/request_id.ts";
import { RateLimiter } from "@krakked/core/rest/ratelimit";
import { OrderService, PAPER_FILE, SIM_PAPER_FILE } from "./trading/orders.ts";
import { startReposition } from "./trading/reposition.ts";

/** The version reported by the server. */
export const SERVER_VERSION = "0.1.0";

/** What to serve (the `serve` command's flags). */
export interface ServeSettings {
  /** Bind address (default: `server.host` of config.yaml). */
  host: string | undefined;
  /** Port (default: `server.port` of config.yaml; 0 picks a free one). */
  port: number | undefined;
  /** Access token for a non-loopback bind. */
  token: string | undefined;
  /** Run against the in-process simulator. */
  sim: boolean;
  /** The simulator's seed (default 1). */
  seed: number | undefined;
  /** The second switch for live orders. */
  live: boolean;
  /** Extra synthetic simulator pairs. */
  simPairs?: number;
  /** The in-process simulator's port (with `sim`; default 0, any free port). */
  simPort?: number;
  /** Also append the JSON log lines to this file (rotated by size). */
  logFile?: string;
  /** Rotation size of `logFile`, bytes (default 10 MiB). */
  logMaxBytes?: number;
}

/** A running server. */
export interface RunningServer {
  url: string;
  mode: "live" | "sim";
  simUrl?: string;
  /** The in-process simulator with `--sim` (tests inspect its engine). */
  simulator?: Simulator;
  /** The server's REST client (tests inspect its limiter's tier). */
  rest: RestClient;
  /** Stop listening, then close everything the start-up opened, newest first. */
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
  /** Retry policy of the server's REST client (default: the client's). */
  restRetry?: RetryOptions;
}

/** What every step reads: the settings, the operator's outputs, the config. */
interface ServeContext {
  settings: ServeSettings;
  options: StartServeOptions;
  env: (name: string) => string | undefined;
  say: (line: string) => void;
  /** The config directory's paths; throws when there is none. */
  paths: () => ConfigPaths;
  config: KrakkedConfig;
  host: string;
  port: number;
  logger: Logger;
  /** Correlation ids of requests and upstream calls. */
  mint: IdMint;
  /** The log file, with `--log-file`. */
  logFile: RotatingLogFile | undefined;
  /** The ops monitor, once the REST client (its limiter) exists. */
  ops?: OpsMonitor;
}

/** Where Kraken (or the simulator) is, and the account to use there. */
interface Upstream {
  restUrl: string;
  wsPublicUrl: string;
  wsAuthUrl: string;
  credentials: { key: string; secret: Secret } | undefined;
  sim: Simulator | undefined;
}

/**
 * Start the server (and the simulator with `--sim`). If any step fails,
 * what the earlier steps started is closed before the error is thrown.
 *
 * @param settings What to serve.
 * @param options Test hooks.
 * @returns The running server.
 * @throws {PortInUseError} For a port in use (naming the port and the flag).
 * @throws {import("./deno/files.ts").InputFileError} For a config file that
 *   is not a regular file or is too large.
 * @throws {Error} For a non-loopback host without a token or a bad config.
 * @example Serve against the simulator
 * ```ts ignore
 * const running = await startServe({
 *   host: undefined, port: 0, token: undefined, sim: true, seed: 1, live: false,
 * });
 * await running.close();
 * ```
 */
export async function startServe(
  settings: ServeSettings,
  options: StartServeOptions = {},
): Promise<RunningServer> {
  const context = await readServeConfig(settings, options);
  await using started = new AsyncDisposableStack();
  // Closed last: every other step's closing lines still reach the file.
  const logFile = context.logFile;
  if (logFile) started.defer(() => logFile.close());
  const upstream = await startUpstream(context, started);
  const rest = await openRest(context, upstream, started);
  const books = openBookFeed(context, upstream, started);
  const account = openPrivateStream(context, upstream, rest, started, books);
  const orders = await startOrders(
    context,
    upstream,
    rest,
    started,
    books,
    account?.stream,
  );
  const accountView = openAccountView(
    context,
    rest,
    started,
    account,
    orders,
    books,
  );
  startRepositioner(context, rest, orders, accountView, started);
  const app = await buildApp(
    context,
    upstream,
    rest,
    account?.relay,
    orders,
    accountView,
  );
  const url = listen(context, app, started);
  // Everything started: from now on, close() owns it.
  const owned = started.move();
  return {
    url,
    mode: settings.sim ? "sim" : "live",
    ...(upstream.sim
      ? { simUrl: upstream.sim.url, simulator: upstream.sim }
      : {}),
    rest,
    close: () => owned.disposeAsync(),
  };
}

/** Step 1: the config, the bind address and the logger. Starts nothing. */
async function readServeConfig(
  settings: ServeSettings,
  options: StartServeOptions,
): Promise<ServeContext> {
  const env = options.env ?? ((n: string) => Deno.env.get(n));
  const say = options.say ?? ((l: string) => console.error(l));
  // Resolved only when needed: a given config text in --sim mode needs no directory.
  let pathsCache: ConfigPaths | undefined;
  const paths =
    () => (pathsCache ??= configPaths(configDir(Deno.build.os, env)));
  const { config, warnings } = parseConfig(
    options.configText ??
      (await readOptionalText(paths().config, {
        maxBytes: FILE_LIMITS.config,
      })),
  );
  if (options.configText === undefined) {
    // The README promises a private config directory: an existing one
    // that is open to others is tightened before secrets are read.
    const { dir, secrets } = paths();
    for (const path of await tightenConfigDir(dir, secrets)) {
      say(`note: tightened the permissions of ${path} (0700/0600)`);
    }
  }
  for (const w of warnings) say(`warning: ${w}`);
  const host = settings.host ?? config.server.host;
  const port = settings.port ?? config.server.port;
  if (!isLoopbackHost(host) && settings.token === undefined) {
    throw new Error(
      `Refusing to bind ${host} without --token: only loopback binds are open without one`,
    );
  }
  const sink = options.logSink ?? ((l: string) => console.error(l));
  const logFile = settings.logFile === undefined
    ? undefined
    : new RotatingLogFile(settings.logFile, {
      ...(settings.logMaxBytes === undefined
        ? {}
        : { maxBytes: settings.logMaxBytes }),
      onError: (error) =>
        say(`warning: cannot write the log file: ${String(error)}`),
    });
  const logger = new Logger({
    sink: logFile === undefined ? sink : (line) => {
      sink(line);
      logFile.push(line);
    },
    successSample: config.server.log_success_sample,
  });
  return {
    settings,
    options,
    env,
    say,
    paths,
    config,
    host,
    port,
    logger,
    mint: new IdMint(),
    logFile,
  };
}

/**
 * Step 2: with `--sim`, the in-process simulator and its test account;
 * otherwise Kraken's URLs from the config and the credentials, if any.
 */
async function startUpstream(
  context: ServeContext,
  started: AsyncDisposableStack,
): Promise<Upstream> {
  const { settings, config, logger, say, paths } = context;
  if (settings.sim) {
    // Loaded with --sim only: a live server never holds the simulator.
    const { startSimulator, webSocketPlugin } = await import("@krakked/sim");
    const sim = await bindOrExplain(
      () =>
        startSimulator({
          port: settings.simPort ?? 0,
          seed: settings.seed ?? 1,
          // The simulator meters the key by the tier the client paces for.
          tier: config.connection.api_tier,
          ...(settings.simPairs !== undefined
            ? { syntheticPairs: settings.simPairs }
            : {}),
          websocket: webSocketPlugin(),
        }),
      "127.0.0.1",
      settings.simPort ?? 0,
      "--sim-port",
    );
    started.defer(() => sim.close());
    // The simulator keeps its own holder; the client gets its own type.
    const simSecret = new Secret(sim.credentials.apiSecret.reveal());
    logger.redactor.register(simSecret);
    return {
      restUrl: sim.url,
      wsPublicUrl: sim.wsPublicUrl,
      wsAuthUrl: sim.wsAuthUrl,
      // The simulator's own test account: simulated balances and orders.
      credentials: {
        key: sim.credentials.apiKey,
        secret: simSecret,
      },
      sim,
    };
  }
  const upstream: Upstream = {
    restUrl: config.connection.rest_url,
    wsPublicUrl: config.connection.ws_public_url,
    wsAuthUrl: config.connection.ws_auth_url,
    credentials: undefined,
    sim: undefined,
  };
  // The master password may come from the environment: never shown either.
  const password = context.env(ENV_MASTER_PASSWORD);
  if (password !== undefined) logger.redactor.register(password);
  const resolved = await resolveCredentials(
    denoCredentialSources({ secretsPath: paths().secrets, env: context.env }),
  );
  for (const w of resolved.warnings) say(`warning: ${w}`);
  if (resolved.kind === "found") {
    upstream.credentials = {
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
  return upstream;
}

/**
 * Step 3: one REST client (and so one limiter) per server, paced by the
 * account's tier: REST counter and per-pair trading-engine counters alike.
 * Against real Kraken, says so when it does not answer.
 */
async function openRest(
  context: ServeContext,
  upstream: Upstream,
  started: AsyncDisposableStack,
): Promise<RestClient> {
  const { config } = context;
  // The limiter is the server's own; the ops monitor reads it, and every
  // upstream call is traced (correlation id, order key, counted).
  const limiter = new RateLimiter({ tier: config.connection.api_tier });
  started.defer(() => limiter.close());
  const ops = new OpsMonitor({ limiter, logger: context.logger });
  started.defer(() => ops.close());
  context.ops = ops;
  // A `krakked record` on this machine shows in the ops view (its status
  // file beside the default store); none ran: no section.
  try {
    const stopRecorder = watchRecorder({
      store: defaultRecorderStore(context.paths().dir),
      ops,
      logger: context.logger,
    });
    started.defer(stopRecorder);
  } catch {
    // No config directory: no recorder store either.
  }
  const rest = new RestClient({
    baseUrl: upstream.restUrl,
    limiter,
    fetch: tracedFetch((input, init) => fetch(input, init), {
      logger: context.logger,
      mint: context.mint,
      ops,
    }),
    timeoutMs: config.connection.timeout_ms,
    // A page request is answered within this, queue and retries included;
    // one whose caller went away is dropped before it is signed.
    deadlineMs: Math.max(
      config.connection.call_deadline_ms,
      config.connection.timeout_ms,
    ),
    tier: config.connection.api_tier,
    ...(upstream.credentials ? { credentials: upstream.credentials } : {}),
    ...(context.options.restRetry ? { retry: context.options.restRetry } : {}),
  });
  started.defer(() => rest.close());
  if (!context.settings.sim) {
    try {
      await rest.systemStatus();
    } catch (error) {
      const kind = error instanceof KrakenError ? error.kind : "network";
      context.say(
        `Kraken is unreachable at ${upstream.restUrl} (${kind}). The page will show REST unreachable.` +
          ` To run offline, use: deno task serve --sim`,
      );
    }
  }
  return rest;
}

/**
 * Step 4: with credentials, the server's one private WebSocket connection
 * (`executions`, `balances`; core checks sequences and resyncs from REST).
 * The order service follows it, and the relay hands its events to the
 * page. The token is fetched and kept server-side, registered with the
 * log redactor, and never relayed.
 */
function openPrivateStream(
  context: ServeContext,
  upstream: Upstream,
  rest: RestClient,
  started: AsyncDisposableStack,
  books: BookFeed,
): {
  stream: PrivateStream;
  relay: AccountRelay;
  live?: AccountService;
} | undefined {
  if (upstream.credentials === undefined) return undefined;
  const { redactor } = context.logger;
  const session = new PrivateWsSession(upstream.wsAuthUrl, {
    ...(context.ops ? { onListenerError: context.ops.listenerError } : {}),
    getToken: async () => {
      const { token } = await rest.getWebSocketsToken();
      redactor.register(token);
      return token;
    },
  });
  started.defer(() => session.close());
  const stream = new PrivateStream(session, {
    rest,
    ...(context.ops ? { onListenerError: context.ops.listenerError } : {}),
  });
  context.ops?.watchConnection("auth", session.connection);
  started.defer(() => stream.stop());
  const relay = new AccountRelay(stream, {
    state: () => session.connection.state,
  });
  started.defer(() => relay.close());
  // The live account follows the stream from its first frame (issue 17).
  // Its temp cache dir (simulator) is removed when the server stops.
  const madeDirs: string[] = [];
  started.defer(async () => {
    for (const dir of madeDirs) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
  const live = context.config.trading.mode === "live"
    ? openAccount({
      source: "live",
      rest,
      stream,
      connection: session.connection,
      relay,
      logger: context.logger,
      cacheDir: () => historyCacheDir(context, upstream, madeDirs),
      books,
    })
    : undefined;
  if (live) started.defer(() => live.close());
  stream.start();
  session.connect();
  return { stream, relay, ...(live ? { live } : {}) };
}

/** The account's history cache: per account in the config dir; a temp dir for the simulator. */
async function historyCacheDir(
  context: ServeContext,
  upstream: Upstream,
  madeDirs: string[],
): Promise<string> {
  if (!context.settings.sim && upstream.credentials) {
    try {
      return await accountCacheDir(
        context.paths().dir,
        upstream.restUrl,
        upstream.credentials.key,
      );
    } catch { /* no config dir: a temp dir below */ }
  }
  const dir = await Deno.makeTempDir({ prefix: "krakked-account-" });
  madeDirs.push(dir);
  return dir;
}

/**
 * The account the page shows: the live one (hydrated, reconciled) in live
 * mode, the paper account in paper mode.
 */
function openAccountView(
  context: ServeContext,
  rest: RestClient,
  started: AsyncDisposableStack,
  account: { relay: AccountRelay; live?: AccountService } | undefined,
  orders: OrderService,
  books: BookFeed,
): AccountService | undefined {
  if (account?.live) return account.live;
  if (context.config.trading.mode !== "paper") return undefined;
  const paper = openAccount({
    source: "paper",
    rest,
    paper: () => orders.paperSummary(),
    paperFills: () => orders.paperFills(),
    books,
    logger: context.logger,
    ...(account ? { relay: account.relay } : {}),
  });
  started.defer(() => paper.close());
  return paper;
}

/**
 * The public WS v2 book feed: paper placements and fills read its books,
 * and the account marks its equity with their mids (issue 17).
 */
function openBookFeed(
  context: ServeContext,
  upstream: Upstream,
  started: AsyncDisposableStack,
): BookFeed {
  const ops = context.ops;
  const books = new BookFeed(upstream.wsPublicUrl, {
    staleToleranceSec: context.config.market_data.ws.stale_tolerance_seconds,
    ...(ops ? { onListenerError: ops.listenerError } : {}),
  });
  started.defer(() => books.close());
  ops?.watchConnection("public", books.connection);
  return books;
}

/**
 * Step 5: the order service in the configured mode. Placements read books
 * from one public WS v2 stream (subscribed per pair on first use) rather
 * than the public REST budget; armed live orders follow the private stream
 * and arm the dead-man switch.
 */
async function startOrders(
  context: ServeContext,
  upstream: Upstream,
  rest: RestClient,
  started: AsyncDisposableStack,
  books: BookFeed,
  stream?: PrivateStream,
): Promise<OrderService> {
  const { settings, config, say } = context;
  const liveSwitch = settings.live || context.env("KRAKKED_LIVE") === "1";
  const liveArmed = config.trading.mode === "live" &&
    config.trading.enable_live_orders && liveSwitch &&
    upstream.credentials !== undefined;
  const paperPath = context.options.paperPath ?? paperFile(context);
  const ops = context.ops;
  const orders = new OrderService({
    config,
    liveSwitch,
    rest,
    books,
    ...(paperPath !== undefined ? { paperPath } : {}),
    ...(liveArmed && stream ? { stream } : {}),
    ...(ops
      ? {
        onListenerError: ops.listenerError,
        onOrderEvent: (event) => ops.orderEvent(event),
      }
      : {}),
  });
  started.defer(() => orders.close());
  ops?.deadManFrom(() => orders.deadManState());
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
  return orders;
}

/**
 * Step 5b: the stale-order repositioner (`trading.reposition`, opt-in):
 * amends or cancels old, far resting orders through the order service,
 * so through the same gate; each action is logged and shown in the ops
 * view.
 */
function startRepositioner(
  context: ServeContext,
  rest: RestClient,
  orders: OrderService,
  account: AccountService | undefined,
  started: AsyncDisposableStack,
): void {
  const { config, settings } = context;
  const policy = config.trading.reposition;
  if (!policy.enabled) return;
  const live = config.trading.mode === "live";
  const service = startReposition({
    config,
    liveSwitch: settings.live || context.env("KRAKKED_LIVE") === "1",
    orders,
    logger: context.logger,
    ...(context.ops ? { ops: context.ops } : {}),
    ...(account ? { accountPhase: () => account.phase } : {}),
    // Live amends and cancels are charged on the pair's trading counter:
    // the repositioner leaves what would not fit for a later pass.
    ...(live
      ? { tradingCounter: (pair) => rest.limiter.snapshot("trading", pair) }
      : {}),
    mintId: () => context.mint.next("p"),
  });
  if (service === undefined) return;
  started.defer(() => service.close());
  context.say(
    `Repositioner: ${policy.action} resting orders older than ${policy.max_age_seconds} s and more than ${policy.distance_bps} bps from the touch (at most ${policy.max_actions_per_minute} a minute)`,
  );
}

/** The paper account's file, or none (memory only) without a config directory. */
function paperFile(context: ServeContext): string | undefined {
  try {
    // Paper fills against simulated books never mix into the paper
    // account that trades against real Kraken books.
    return join(
      context.paths().dir,
      context.settings.sim ? SIM_PAPER_FILE : PAPER_FILE,
    );
  } catch (error) {
    context.say(
      `warning: the paper account is kept in memory only (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
    return undefined;
  }
}

/** The app with its session token, and the hosts it accepts once bound. */
interface BuiltApp {
  /** The app; `info` (the remote address) reaches the routes as `c.env`. */
  fetch: (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ) => Response | Promise<Response>;
  /** Set once the port is known. */
  setAllowedHosts(hosts: string[]): void;
}

/**
 * The built page: `web/dist` in the checkout. From the sources this file is
 * `server/serve.ts`; from the bundle `deno task serve` runs (`dist/serve/`,
 * task `build:serve`) it is a chunk one folder deeper.
 */
function defaultStaticDir(): string {
  const bundled = /\/dist\/serve\/[^/]+\.js$/.test(import.meta.url);
  return new URL(bundled ? "../../web/dist" : "../web/dist", import.meta.url)
    .pathname;
}

/** Step 6: the built page and the app. Starts nothing. */
async function buildApp(
  context: ServeContext,
  upstream: Upstream,
  rest: RestClient,
  relay: AccountRelay | undefined,
  orders: OrderService,
  account: AccountService | undefined,
): Promise<BuiltApp> {
  const { settings, say } = context;
  const staticDir = context.options.staticDir ?? defaultStaticDir();
  const staticFiles = await loadStaticFiles(staticDir);
  if (staticFiles.size === 0) {
    say(`warning: no page in ${staticDir}: run 'deno task build'`);
  }
  let hosts: string[] = [];
  const { app } = createApp({
    mode: settings.sim ? "sim" : "live",
    config: context.config,
    rest,
    sessionToken: newToken(),
    ...(settings.token !== undefined ? { accessToken: settings.token } : {}),
    get allowedHosts() {
      return hosts;
    },
    wsPublicUrl: upstream.wsPublicUrl,
    staticFiles,
    logger: context.logger,
    ...(context.ops ? { ops: context.ops } : {}),
    requestIds: context.mint,
    version: SERVER_VERSION,
    ...(relay ? { accountEvents: relay } : {}),
    orders,
    ...(account ? { account } : {}),
  });
  return {
    fetch: app.fetch,
    setAllowedHosts: (next) => {
      hosts = next;
    },
  };
}

/** Step 7: listen; the accepted `Host` values follow the bound port. */
function listen(
  context: ServeContext,
  app: BuiltApp,
  started: AsyncDisposableStack,
): string {
  const { host } = context;
  const controller = new AbortController();
  // Requests that wait on Kraken answer within a deadline.
  const handler = withRequestDeadline(
    app.fetch,
    requestDeadlineMs(context.config),
  );
  const { slow_client_guard: guard, header_timeout_ms, idle_timeout_ms } =
    context.config.server;
  const guarded = guard === "on" || (guard === "auto" && !isLoopbackHost(host));
  const server = bindOrExplainSync(
    () =>
      !guarded
        ? Deno.serve({
          hostname: host,
          port: context.port,
          signal: controller.signal,
          // Quiet: the caller prints the URL.
          onListen: () => {},
        }, handler)
        // Beyond loopback, slow sockets get header and idle timeouts and
        // connection caps, which Deno.serve has no option for.
        : serveGuarded({
          hostname: host,
          port: context.port,
          signal: controller.signal,
          limits: {
            headerTimeoutMs: header_timeout_ms,
            idleTimeoutMs: idle_timeout_ms,
          },
          onGuard: (verdict, address) =>
            context.logger.warn("connection refused", { verdict, address }),
        }, handler),
    host,
    context.port,
    "--port",
  );
  started.defer(async () => {
    controller.abort();
    await server.finished;
  });
  const port = (server.addr as Deno.NetAddr).port;
  app.setAllowedHosts(allowedHosts(host, port));
  const shownHost = isLoopbackHost(host) ? "127.0.0.1" : host;
  return `http://${
    shownHost.includes(":") ? `[${shownHost}]` : shownHost
  }:${port}`;
}

/**
 * A port that is already taken, named with the flag that picks another.
 *
 * @example The message
 * ```ts ignore
 * new PortInUseError("127.0.0.1", 8787, "--port").message;
 * // "Port 8787 on 127.0.0.1 is already in use (another krakked?): stop it, or pick another port with --port 8788 (--port 0 takes any free one)"
 * ```
 */
export class PortInUseError extends Error {
  override name = "PortInUseError";

  /**
   * Create the error.
   *
   * @param host The bind address.
   * @param port The port in use.
   * @param flag The flag that sets it (`--port`, `--sim-port`).
   * @param options The underlying `AddrInUse` error.
   */
  constructor(
    readonly host: string,
    readonly port: number,
    readonly flag: string,
    options?: ErrorOptions,
  ) {
    super(
      `Port ${port} on ${host} is already in use (another krakked?): stop it, or pick another port with ${flag} ${
        port >= 65_535 ? port - 1 : port + 1
      } (${flag} 0 takes any free one)`,
      options,
    );
  }
}

function bindOrExplainSync<T>(
  bind: () => T,
  host: string,
  port: number,
  flag: string,
): T {
  try {
    return bind();
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new PortInUseError(host, port, flag, { cause: error });
    }
    throw error;
  }
}

async function bindOrExplain<T>(
  bind: () => Promise<T>,
  host: string,
  port: number,
  flag: string,
): Promise<T> {
  try {
    return await bind();
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new PortInUseError(host, port, flag, { cause: error });
    }
    throw error;
  }
}
