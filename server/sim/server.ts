/**
 * Start the Kraken-compatible simulator on loopback with `Deno.serve`: the
 * composition of its rooms.
 *
 * - `exchange/`: the market, the account and the matching engine.
 * - `rest/`: the REST app (`/0/public`, `/0/private`) with the engine's
 *   trading methods plugged in.
 * - `ws/`: WebSocket v2 on `/v2` (public) and `/auth/v2` (private), plugged in
 *   through the `websocket` option ({@linkcode webSocketPlugin}; without
 *   one, those paths answer 404), with the engine's trading methods.
 *
 * Control routes under `/_sim/` exist only with `control: true` and only
 * answer loopback peers.
 *
 * @module
 */

import { SimSecret } from "./secret.ts";
import { SimAccount } from "./exchange/account.ts";
import type { SimTier } from "./exchange/rate_limits.ts";
import {
  KeyRing,
  type LockoutPolicy,
  type SimKeyConfig,
  type SimPermission,
} from "./rest/auth.ts";
import { SimControl } from "./control.ts";
import { seedAccountHistory } from "./exchange/history.ts";
import { SimEngine, type SimEngineOptions } from "./exchange/engine.ts";
import { engineRestHandlers } from "./rest/trading.ts";
import { Market, type SimActivity } from "./exchange/market.ts";
import type { ReplayOptions } from "./exchange/replay.ts";
import { PublicThrottle } from "./exchange/rate_limits.ts";
import { SimCatalogue } from "./exchange/pairs.ts";
import type { PrivateHandler } from "./rest/private.ts";
import { SeededRandom } from "./exchange/prng.ts";
import { createRestApp, isLoopback } from "./rest/app.ts";
import { toBase64 } from "./rest/signature.ts";
import { WsTokenRegistry } from "./ws/tokens.ts";
import { handleWsControlRequest } from "./ws/faults.ts";
import { WsSimulator, type WsSimulatorOptions } from "./ws/server.ts";
import { engineWsMethods } from "./ws/trading.ts";

/** The simulator's parts, handed to a WebSocket plugin. */
export interface SimulatorParts {
  /** The seed. */
  seed: number;
  /** The clock, ms. */
  now: () => number;
  /** The market. */
  market: Market;
  /** The account. */
  account: SimAccount;
  /** Faults and system status. */
  control: SimControl;
  /** Issued WebSocket tokens (validate private WS requests here). */
  tokens: WsTokenRegistry;
  /** Configured API keys. */
  keys: KeyRing;
  /** The matching engine (absent with `engine: false`). */
  engine?: SimEngine;
}

/** A WebSocket v2 implementation plugged into the simulator. */
export interface WebSocketPlugin {
  /**
   * Handle a request to `/v2` or `/auth/v2`: return the upgrade response, or
   * `undefined` to let the simulator answer 426 Upgrade Required.
   */
  handle(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response | undefined | Promise<Response | undefined>;
  /**
   * Serve the plugin's own control routes under `/_sim/ws/` (loopback peers
   * only, and only when control routes are enabled); `undefined` → 404.
   */
  control?(request: Request): Promise<Response | undefined>;
  /** Close every socket (called by {@linkcode Simulator.close}). */
  close?(): void | Promise<void>;
}

/** Options of {@linkcode startSimulator}. */
export interface SimulatorOptions {
  /** Interface to bind (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 0 = any free port). */
  port?: number;
  /** Seed of the market, account, ids and default credentials (default 1). */
  seed?: number;
  /** API key (default derived from the seed). */
  apiKey?: string;
  /** Base64 API secret (default derived from the seed). */
  apiSecret?: string;
  /** REST counter tier of the key (default `starter`). */
  tier?: SimTier;
  /** Permissions of the key (default all; funding permissions never exist). */
  permissions?: readonly SimPermission[];
  /** Nonce window of the key in nonce ticks (default 0). */
  nonceWindow?: number;
  /** More keys (e.g. a read-only one), sharing the same account. */
  extraKeys?: readonly SimKeyConfig[];
  /** Lockout after repeated auth failures. */
  lockout?: Partial<LockoutPolicy>;
  /** Clock, ms (default `Date.now`). */
  now?: () => number;
  /** Serve `/_sim/*` control routes, loopback only (default true). */
  control?: boolean;
  /** Days of visible market history (default 40). */
  historyDays?: number;
  /**
   * How busy the market is (default `normal`: live Kraken rates, see
   * docs/kraken/MARKET.md); `quiet` trades about 2 % of that, for tests
   * that page through weeks of trades; `busy` 3×.
   */
  activity?: SimActivity;
  /**
   * Kraken's per-IP throttle of public REST calls (`EGeneral:Too many
   * requests` after a burst of about 30, 1 per second sustained; REST.md
   * §7.3): `true` for those figures, or your own. Default off (tests, and
   * `serve --sim`, whose proxy meters public calls itself); the standalone
   * `krakked sim` turns it on.
   */
  publicThrottle?: boolean | { burst?: number; perSecond?: number };
  /**
   * Extra synthetic USD spot pairs (`SYN001USD` …) for load tests, 0 to
   * 999 (default 0); REST and WS list and serve them like any pair.
   */
  syntheticPairs?: number;
  /**
   * Replay recorded public trades instead of the model for the pairs the
   * source has (`exchange/replay.ts`; `krakked sim --replay <store>`).
   */
  replay?: ReplayOptions;
  /** Closed orders in the seeded account history (default 60). */
  closedOrders?: number;
  /**
   * Months of older account history before the seeded month
   * (`exchange/history.ts`): `trades` fills over `days` (default 180), with
   * deposits, withdrawals, fee credits and staking rewards. Default: none.
   */
  accountHistory?: { trades: number; days?: number };
  /**
   * The matching engine behind the trading methods (REST and WS): on by
   * default; `false` leaves trading methods unimplemented
   * (`EGeneral:Unknown method`). Options: `tickMs` (background replay
   * period, default 250; 0 = only on calls, for tests with a fake clock),
   * `maxOpenOrdersPerPair`; the trading-counter tier follows `tier`.
   */
  engine?: false | Omit<SimEngineOptions, "tier" | "seed">;
  /** Extra or overriding private methods, by Kraken method name (win over the engine's). */
  privateHandlers?: Readonly<Record<string, PrivateHandler>>;
  /** Build the WebSocket plugin from the simulator's parts. */
  websocket?: (parts: SimulatorParts) => WebSocketPlugin;
}

/** A running simulator. */
export interface Simulator extends AsyncDisposable, SimulatorParts {
  /** REST base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Public WebSocket URL (`ws://…/v2`). */
  readonly wsPublicUrl: string;
  /** Private WebSocket URL (`ws://…/auth/v2`). */
  readonly wsAuthUrl: string;
  /** The bound port. */
  readonly port: number;
  /** Simulator-only credentials of the main key. */
  readonly credentials: {
    readonly apiKey: string;
    readonly apiSecret: SimSecret;
  };
  /** Stop serving and release held requests. */
  close(): Promise<void>;
}

/**
 * Deterministic simulator-only credentials for a seed: a 56-character key
 * and an 88-character base64 secret (64 bytes), shaped like Kraken's.
 *
 * @param seed The seed.
 * @returns Key and secret text.
 * @example Credentials
 * ```ts
 * import { defaultCredentials } from "./server.ts";
 * defaultCredentials(1).apiSecret.length; // 88
 * ```
 */
export function defaultCredentials(
  seed: number,
): { apiKey: string; apiSecret: string } {
  const random = new SeededRandom(seed * 9973 + 12345);
  const bytes = (n: number) =>
    Uint8Array.from({ length: n }, () => Math.floor(random.next() * 256));
  return {
    apiKey: toBase64(bytes(42)),
    apiSecret: toBase64(bytes(64)),
  };
}

function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * Start the simulator.
 *
 * @param options Binding, seed, credentials, clock and extensions.
 * @returns The running simulator; `await using` closes it.
 * @throws {TypeError} When `apiSecret` is not base64.
 * @throws {RangeError} When `syntheticPairs` is out of range.
 * @example Start and call
 * ```ts ignore
 * import { startSimulator } from "./server.ts";
 * await using sim = await startSimulator({ seed: 7, now: () => Date.UTC(2025, 0, 10) });
 * const time = await (await fetch(`${sim.url}/0/public/Time`)).json();
 * ```
 */
export async function startSimulator(
  options: SimulatorOptions = {},
): Promise<Simulator> {
  const seed = Math.trunc(options.seed ?? 1);
  const now = options.now ?? Date.now;
  const defaults = defaultCredentials(seed);
  const apiKey = options.apiKey ?? defaults.apiKey;
  const apiSecret = options.apiSecret ?? defaults.apiSecret;
  const market = new Market({
    seed,
    now,
    catalogue: SimCatalogue.create({
      syntheticPairs: options.syntheticPairs ?? 0,
    }),
    ...(options.historyDays !== undefined
      ? { historyDays: options.historyDays }
      : {}),
    ...(options.activity !== undefined ? { activity: options.activity } : {}),
    ...(options.replay !== undefined ? { replay: options.replay } : {}),
  });
  const account = SimAccount.seeded(market, {
    seed,
    ...(options.closedOrders !== undefined
      ? { closedOrders: options.closedOrders }
      : {}),
    ...(options.accountHistory
      ? {
        before: (a: SimAccount) =>
          seedAccountHistory(a, market, {
            ...options.accountHistory!,
            seed,
            endMs: now() - 31 * 86_400_000,
          }),
      }
      : {}),
  });
  const control = new SimControl();
  const tokens = new WsTokenRegistry(new SeededRandom(seed * 104729 + 3));
  const keys = await KeyRing.create(
    [
      {
        apiKey,
        apiSecret,
        ...(options.permissions ? { permissions: options.permissions } : {}),
        ...(options.tier ? { tier: options.tier } : {}),
        ...(options.nonceWindow !== undefined
          ? { nonceWindow: options.nonceWindow }
          : {}),
      },
      ...(options.extraKeys ?? []),
    ],
    { now, ...(options.lockout ? { lockout: options.lockout } : {}) },
  );
  const engine = options.engine === false ? undefined : new SimEngine(
    { market, account, control },
    {
      tickMs: 250,
      ...options.engine,
      seed,
      ...(options.tier ? { tier: options.tier } : {}),
    },
  );
  const parts: SimulatorParts = {
    seed,
    now,
    market,
    account,
    control,
    tokens,
    keys,
    ...(engine ? { engine } : {}),
  };
  const privateHandlers = {
    ...(engine ? engineRestHandlers(engine, control) : {}),
    ...options.privateHandlers,
  };
  const app = createRestApp({
    market,
    account,
    control,
    keys,
    tokens,
    now,
    controlRoutes: options.control ?? true,
    privateHandlers,
    ...(options.publicThrottle
      ? {
        publicThrottle: new PublicThrottle(
          options.publicThrottle === true ? {} : options.publicThrottle,
        ),
      }
      : {}),
  });
  const plugin = options.websocket?.(parts);
  const hostname = options.hostname ?? "127.0.0.1";
  const handler = async (
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Promise<Response> => {
    const path = new URL(request.url).pathname;
    if (path === "/v2" || path === "/auth/v2") {
      if (!plugin) {
        return new Response("WebSocket endpoint not available", {
          status: 404,
        });
      }
      const response = await plugin.handle(request, info);
      return response ??
        new Response("Upgrade Required", {
          status: 426,
          headers: { upgrade: "websocket" },
        });
    }
    if (path.startsWith("/_sim/ws/") && plugin?.control) {
      const host = request.headers.get("host") ?? "";
      const hostName = host.startsWith("[")
        ? host.slice(0, host.indexOf("]") + 1)
        : host.split(":")[0] ?? "";
      if (
        (options.control ?? true) && isLoopback(info.remoteAddr.hostname) &&
        isLoopback(hostName)
      ) {
        const response = await plugin.control(request);
        if (response) return response;
      }
      return new Response("Not found", { status: 404 });
    }
    return app.fetch(request, { remoteAddr: info.remoteAddr });
  };
  // The engine and the WS plugin run timers from here on.
  const stopParts = async () => {
    await plugin?.close?.();
    engine?.close();
    control.clear();
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: options.port ?? 0,
      onListen() {},
      onError() {
        return new Response(
          JSON.stringify({ error: ["EGeneral:Internal error"] }),
          {
            headers: { "content-type": "application/json; charset=utf-8" },
          },
        );
      },
    }, handler);
  } catch (error) {
    // A bind that fails (port in use) must stop them, or the caller's
    // process never exits.
    await stopParts();
    throw error;
  }
  const port = server.addr.port;
  const host = urlHost(hostname);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await stopParts();
      await server.shutdown();
    })();
    return closed;
  };
  return {
    ...parts,
    url: `http://${host}:${port}`,
    wsPublicUrl: `ws://${host}:${port}/v2`,
    wsAuthUrl: `ws://${host}:${port}/auth/v2`,
    port,
    credentials: { apiKey, apiSecret: new SimSecret(apiSecret) },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Options of {@linkcode webSocketPlugin}: timing and trading hooks. */
export type WsPluginOptions = Omit<
  WsSimulatorOptions,
  "tokens" | "account" | "control"
>;

/**
 * The `websocket` option of `startSimulator`: builds a {@linkcode WsSimulator}
 * on the simulator's market, account, tokens and control object.
 *
 * @param options Timing (`tickMs`, `heartbeatMs`, …) and trading hooks.
 * @param onCreate Receives the instance (tests use it for `tick()` and `faults`).
 * @returns The plugin factory.
 * @example Plug in
 * ```ts ignore
 * import { startSimulator, webSocketPlugin } from "./server.ts";
 * await using sim = await startSimulator({ websocket: webSocketPlugin() });
 * const socket = new WebSocket(sim.wsPublicUrl);
 * ```
 */
export function webSocketPlugin(
  options: WsPluginOptions = {},
  onCreate?: (ws: WsSimulator) => void,
): (parts: SimulatorParts) => WebSocketPlugin {
  return (parts) => {
    // With the matching engine, trading methods and private rows come from it.
    const engine = options.methods ? undefined : parts.engine;
    const ws = new WsSimulator(parts.market, {
      ...options,
      tokens: parts.tokens,
      account: parts.account,
      control: parts.control,
      ...(engine
        ? {
          methods: engineWsMethods(engine, parts.control),
          accountEvents: false,
        }
        : {}),
    });
    const detach = engine?.attach((channel, rows) =>
      ws.publishPrivate(channel, rows)
    );
    onCreate?.(ws);
    return {
      handle: (request) => ws.handle(request),
      control: (request) => handleWsControlRequest(ws.faults, request),
      close: () => {
        detach?.();
        ws.close();
      },
    };
  };
}

/** A running simulator with its WebSocket side exposed. */
export interface SimulatorWithWs extends Simulator {
  /** The WebSocket side (`tick()`, `faults`, `feed`, `publishPrivate`). */
  readonly ws: WsSimulator;
}

/**
 * Start the simulator with the WebSocket v2 endpoints plugged in: REST under
 * `/0/…`, public WS at `wsPublicUrl`, private WS at `wsAuthUrl`.
 *
 * @param options `startSimulator` options (its `websocket` is replaced) plus
 *   `ws` timing options (`tickMs: 0` for tests that drive `ws.tick()`).
 * @returns The running simulator and its `ws`; `await using` closes both.
 * @example Offline public stream
 * ```ts ignore
 * import { startSimulatorWithWs } from "./server.ts";
 * await using sim = await startSimulatorWithWs({ seed: 7 });
 * const socket = new WebSocket(sim.wsPublicUrl);
 * ```
 */
export async function startSimulatorWithWs(
  options: SimulatorOptions & { ws?: WsPluginOptions } = {},
): Promise<SimulatorWithWs> {
  let ws: WsSimulator | undefined;
  const { ws: wsOptions, ...rest } = options;
  const simulator = await startSimulator({
    ...rest,
    websocket: webSocketPlugin(wsOptions, (created) => (ws = created)),
  });
  if (!ws) throw new Error("The simulator did not build its WebSocket plugin");
  return Object.assign(simulator, { ws });
}
