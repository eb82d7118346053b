/**
 * The local server's Hono app: the built page, the public proxy, read-only
 * private routes with server-held credentials, health/status/metrics.
 *
 * Every route checks the Host header against loopback names (DNS-rebinding
 * defence) unless an access token protects a non-loopback bind. Private
 * routes also need the per-run session cookie (HttpOnly, SameSite=Strict,
 * set when the page loads) and a same-origin request (CSRF defence). No
 * response ever carries a key, secret or WebSocket token.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import type { CallParams, RestAnswer } from "@krakked/core/rest/client";
import { KrakenError, type KrakenErrorKind } from "@krakked/core/rest/errors";
import type { Logger } from "@krakked/core/log";
import type { KrakkedConfig } from "@krakked/core/config/config";
import { ProxyParamError, PublicProxy } from "./public_proxy.ts";
import {
  ACCESS_COOKIE,
  contentSecurityPolicy,
  isSameOrigin,
  SESSION_COOKIE,
  tokenMatches,
} from "./security.ts";
import type { StaticFile } from "./static_files.ts";
import {
  type OrderService,
  parseTicket,
  TicketError,
} from "../trading/orders.ts";

/** What the app needs from the REST client. */
export interface AppRest {
  callPublic(method: string, params?: CallParams): Promise<RestAnswer<unknown>>;
  callPrivate(
    method: string,
    params?: CallParams,
  ): Promise<RestAnswer<unknown>>;
  readonly hasCredentials: boolean;
}

/** A read-only account event relayed to the page. */
export interface AccountEvent {
  channel: string;
  data: unknown;
}

/** A source of read-only account events (the server's private WS). */
export interface AccountEvents {
  /** Listen; `onEnd` runs when the source closes. Returns an unsubscribe. */
  subscribe(
    listener: (event: AccountEvent) => void,
    onEnd?: () => void,
  ): () => void;
  state(): string;
}

/** Dependencies of {@linkcode createApp}. */
export interface AppDeps {
  /** `sim` when the simulator backs everything. */
  mode: "live" | "sim";
  config: KrakkedConfig;
  rest: AppRest;
  /** The per-run session token (cookie value). */
  sessionToken: string;
  /** Required on every request when set (non-loopback binds). */
  accessToken?: string;
  /** Accepted `Host` header values (`host:port`, lower case). */
  allowedHosts: readonly string[];
  /** WS public URL handed to the worker (and allowed by the CSP). */
  wsPublicUrl: string;
  /** Built page files keyed by URL path. */
  staticFiles: ReadonlyMap<string, StaticFile>;
  logger: Logger;
  version: string;
  now?: () => number;
  /** Extra status (e.g. upstream WS state) for /api/status. */
  status?: () => Record<string, unknown>;
  /** Private account events, when credentials exist. */
  accountEvents?: AccountEvents;
  /** The order service behind `/api/orders` and `/api/paper`. */
  orders?: Pick<
    OrderService,
    | "info"
    | "place"
    | "cancel"
    | "cancelAll"
    | "closePosition"
    | "orders"
    | "paperSummary"
  >;
}

/** Largest accepted order body, bytes. */
const MAX_ORDER_BODY_BYTES = 4096;

const TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"];

/** Private read-only routes and the Kraken method behind each. */
const PRIVATE_ROUTES: Record<
  string,
  { method: string; params: readonly string[] }
> = {
  balance: { method: "BalanceEx", params: [] },
  "trade-balance": { method: "TradeBalance", params: ["asset"] },
  "open-orders": { method: "OpenOrders", params: ["trades"] },
  "closed-orders": { method: "ClosedOrders", params: ["ofs", "start", "end"] },
  "trades-history": {
    method: "TradesHistory",
    params: ["ofs", "start", "end"],
  },
  ledgers: { method: "Ledgers", params: ["ofs", "asset", "start", "end"] },
};

/** HTTP status for an upstream Kraken failure kind. */
function statusOf(
  kind: KrakenErrorKind,
): 400 | 401 | 403 | 429 | 502 | 503 | 504 {
  switch (kind) {
    case "invalid_request":
    case "order":
      return 400;
    case "auth":
    case "nonce":
      return 401;
    case "permission":
      return 403;
    case "rate_limit":
      return 429;
    case "service":
      return 503;
    case "network":
      return 504;
    case "unknown":
      return 502;
  }
}

/**
 * Build the app.
 *
 * @param deps Mode, config, REST client, tokens, files and logger.
 * @returns The Hono app and its proxy (for stats).
 * @example Build and call in-process
 * ```ts
 * import { createApp, type AppDeps } from "./app.ts";
 * declare const deps: AppDeps;
 * const { app } = createApp(deps);
 * const res = await app.request("http://127.0.0.1:8787/api/health");
 * ```
 */
export function createApp(deps: AppDeps): { app: Hono; proxy: PublicProxy } {
  const now = deps.now ?? Date.now;
  const started = now();
  const metrics = {
    requests: 0,
    errors: 0,
    byStatus: new Map<number, number>(),
  };
  let restState: {
    reachable: boolean | null;
    lastOkAt: number | null;
    lastError: string | null;
  } = {
    reachable: null,
    lastOkAt: null,
    lastError: null,
  };
  const proxy = new PublicProxy(deps.rest, {
    now,
    onUpstream: (ok, error) => {
      restState = ok ? { reachable: true, lastOkAt: now(), lastError: null } : {
        ...restState,
        reachable: !(error instanceof KrakenError &&
          (error.kind === "network" || error.kind === "service")),
        lastError: error instanceof KrakenError ? error.code : "unknown",
      };
    },
  });
  const csp = contentSecurityPolicy([deps.wsPublicUrl]);
  const app = new Hono();

  const fail = (c: Context, status: number, code: string, message: string) => {
    return c.json({ error: { code, message } }, status as 400);
  };

  // Logging, metrics and security headers for every response.
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    c.header("Cross-Origin-Resource-Policy", "same-origin");
    c.header("Content-Security-Policy", csp);
    metrics.requests++;
    metrics.byStatus.set(
      c.res.status,
      (metrics.byStatus.get(c.res.status) ?? 0) + 1,
    );
    if (c.res.status >= 500) metrics.errors++;
    // Path only: query values could hold anything.
    deps.logger.info("request", {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      durationMs: Math.round((performance.now() - t0) * 10) / 10,
    });
  });

  // DNS-rebinding defence and the optional access token.
  app.use("*", async (c, next) => {
    if (deps.accessToken !== undefined) {
      const url = new URL(c.req.url);
      const bearer = c.req.header("authorization")?.replace(/^Bearer\s+/i, "");
      const presented = bearer ?? getCookie(c, ACCESS_COOKIE) ??
        url.searchParams.get("token") ?? undefined;
      if (!tokenMatches(presented, deps.accessToken)) {
        return fail(
          c,
          401,
          "access_token_required",
          "This server needs its access token",
        );
      }
      if (url.searchParams.has("token")) {
        setCookie(c, ACCESS_COOKIE, deps.accessToken, {
          httpOnly: true,
          sameSite: "Strict",
          path: "/",
        });
        return c.redirect(url.pathname, 303);
      }
    } else {
      const host = (c.req.header("host") ?? "").toLowerCase();
      if (!deps.allowedHosts.includes(host)) {
        return fail(
          c,
          421,
          "bad_host",
          "Requests must use a loopback host name such as 127.0.0.1",
        );
      }
    }
    await next();
  });

  app.get("/api/health", (c) =>
    c.json({
      ok: true,
      mode: deps.mode,
      version: deps.version,
      uptimeSec: Math.round((now() - started) / 1000),
    }));

  app.get("/api/config", (c) =>
    c.json({
      mode: deps.mode,
      simulated: deps.mode === "sim",
      version: deps.version,
      wsPublicUrl: deps.wsPublicUrl,
      staleToleranceSec: deps.config.market_data.ws.stale_tolerance_seconds,
      timeframes: TIMEFRAMES,
      quote: deps.config.region.default_quote,
      privateData: deps.rest.hasCredentials,
      tradingMode: deps.config.trading.mode,
      trading: deps.orders?.info() ?? {
        mode: deps.config.trading.mode,
        liveArmed: false,
        maxNotionalUsd: deps.config.trading.max_notional_usd,
        stopLossMaxDistancePct: deps.config.trading.stop_loss_max_distance_pct,
      },
    }));

  app.get("/api/status", (c) =>
    c.json({
      mode: deps.mode,
      version: deps.version,
      uptimeSec: Math.round((now() - started) / 1000),
      rest: restState,
      proxy: { ...proxy.stats },
      privateStream: deps.accountEvents?.state() ?? "none",
      ...(deps.status?.() ?? {}),
    }));

  app.get("/metrics", (c) => {
    const lines = [
      "# HELP krakked_http_requests_total HTTP requests served",
      "# TYPE krakked_http_requests_total counter",
      ...[...metrics.byStatus].map(([s, n]) =>
        `krakked_http_requests_total{status="${s}"} ${n}`
      ),
      "# HELP krakked_proxy_upstream_calls_total Upstream Kraken public calls",
      "# TYPE krakked_proxy_upstream_calls_total counter",
      `krakked_proxy_upstream_calls_total ${proxy.stats.upstreamCalls}`,
      "# TYPE krakked_proxy_cache_hits_total counter",
      `krakked_proxy_cache_hits_total ${proxy.stats.cacheHits}`,
      "# TYPE krakked_proxy_coalesced_total counter",
      `krakked_proxy_coalesced_total ${proxy.stats.coalesced}`,
      "# TYPE krakked_proxy_upstream_errors_total counter",
      `krakked_proxy_upstream_errors_total ${proxy.stats.upstreamErrors}`,
      "# TYPE krakked_uptime_seconds gauge",
      `krakked_uptime_seconds ${Math.round((now() - started) / 1000)}`,
      "",
    ];
    return c.text(lines.join("\n"), 200, {
      "Content-Type": "text/plain; version=0.0.4",
    });
  });

  app.get("/api/public/:method", async (c) => {
    try {
      const answer = await proxy.get(
        c.req.param("method"),
        new URL(c.req.url).searchParams,
      );
      c.header("X-Krakked-Cache", answer.source);
      return c.json({ error: [], result: answer.result });
    } catch (error) {
      return upstreamFailure(c, error);
    }
  });

  // Private routes: same origin, session cookie, credentials.
  app.use("/api/private/*", async (c, next) => {
    if (
      !isSameOrigin(
        c.req.header("origin") ?? null,
        deps.allowedHosts,
        c.req.header("sec-fetch-site") ?? null,
      )
    ) {
      return fail(c, 403, "cross_origin", "Cross-site requests are refused");
    }
    if (!tokenMatches(getCookie(c, SESSION_COOKIE), deps.sessionToken)) {
      return fail(
        c,
        401,
        "session_required",
        "Load the page first: private routes need its session",
      );
    }
    if (!deps.rest.hasCredentials) {
      return fail(
        c,
        404,
        "no_credentials",
        "The server has no Kraken credentials: run 'krakked setup'",
      );
    }
    await next();
  });

  app.get("/api/private/events", (c) => {
    const events = deps.accountEvents;
    if (!events) {
      return fail(c, 404, "no_private_stream", "No private stream is running");
    }
    let cleanup = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const enc = new TextEncoder();
        controller.enqueue(enc.encode(`: connected\n\n`));
        cleanup = events.subscribe((event) => {
          controller.enqueue(
            enc.encode(
              `event: ${event.channel}\ndata: ${
                JSON.stringify(event.data)
              }\n\n`,
            ),
          );
        });
      },
      cancel() {
        cleanup();
      },
    });
    return new Response(stream, {
      headers: {
        "Content-Type": "text/event-stream",
        "Cache-Control": "no-store",
      },
    });
  });

  app.get("/api/private/:route", async (c) => {
    const route = Object.hasOwn(PRIVATE_ROUTES, c.req.param("route"))
      ? PRIVATE_ROUTES[c.req.param("route")]
      : undefined;
    if (!route) return fail(c, 404, "not_found", "No such private route");
    const params: Record<string, string> = {};
    for (const [name, value] of new URL(c.req.url).searchParams) {
      if (
        !route.params.includes(name) || !/^[A-Za-z0-9.,_-]{1,40}$/.test(value)
      ) {
        return fail(
          c,
          400,
          "bad_param",
          `Invalid parameter "${name.slice(0, 40)}"`,
        );
      }
      params[name] = value;
    }
    try {
      const { result } = await deps.rest.callPrivate(route.method, params);
      c.header("Cache-Control", "no-store");
      return c.json({ result });
    } catch (error) {
      return upstreamFailure(c, error);
    }
  });

  // Orders: session cookie and same origin; a state-changing request must
  // carry an Origin that is ours (a missing one is refused, not assumed).
  const orderGuard = async (c: Context, next: () => Promise<void>) => {
    const origin = c.req.header("origin") ?? null;
    const changes = c.req.method !== "GET" && c.req.method !== "HEAD";
    if (
      (changes && origin === null) ||
      !isSameOrigin(
        origin,
        deps.allowedHosts,
        c.req.header("sec-fetch-site") ?? null,
      )
    ) {
      return fail(
        c,
        403,
        "cross_origin",
        changes
          ? "Order requests need the page's own Origin header"
          : "Cross-site requests are refused",
      );
    }
    if (!tokenMatches(getCookie(c, SESSION_COOKIE), deps.sessionToken)) {
      return fail(
        c,
        401,
        "session_required",
        "Load the page first: order routes need its session",
      );
    }
    if (deps.orders === undefined) {
      return fail(c, 404, "no_order_service", "This server places no orders");
    }
    c.header("Cache-Control", "no-store");
    await next();
  };
  app.use("/api/orders", orderGuard);
  app.use("/api/orders/*", orderGuard);
  app.use("/api/paper", orderGuard);

  app.get("/api/orders", async (c) => {
    try {
      return c.json(await deps.orders!.orders());
    } catch (error) {
      return orderFailure(c, error);
    }
  });

  app.post("/api/orders", async (c) => {
    if (!(c.req.header("content-type") ?? "").includes("application/json")) {
      return fail(c, 415, "bad_content_type", "Send the order as JSON");
    }
    const raw = await c.req.text();
    if (raw.length > MAX_ORDER_BODY_BYTES) {
      return fail(c, 413, "too_large", "The order body is too large");
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return fail(c, 400, "bad_json", "The order body is not valid JSON");
    }
    try {
      const decision = await deps.orders!.place(parseTicket(body));
      return c.json(decision, decision.decision === "accepted" ? 200 : 422);
    } catch (error) {
      return orderFailure(c, error);
    }
  });

  /** A small JSON body (or none): the parsed object, or the failure response. */
  async function smallJson(
    c: Context,
  ): Promise<
    { ok: true; body: Record<string, unknown> } | {
      ok: false;
      response: Response;
    }
  > {
    const raw = await c.req.text();
    if (raw.trim() === "") return { ok: true, body: {} };
    if (!(c.req.header("content-type") ?? "").includes("application/json")) {
      return {
        ok: false,
        response: fail(c, 415, "bad_content_type", "Send the body as JSON"),
      };
    }
    if (raw.length > MAX_ORDER_BODY_BYTES) {
      return {
        ok: false,
        response: fail(c, 413, "too_large", "The body is too large"),
      };
    }
    try {
      const body: unknown = JSON.parse(raw);
      if (body !== null && typeof body === "object" && !Array.isArray(body)) {
        return { ok: true, body: body as Record<string, unknown> };
      }
    } catch {
      // Falls through to the 400 below.
    }
    return {
      ok: false,
      response: fail(c, 400, "bad_json", "The body is not a JSON object"),
    };
  }

  app.post("/api/orders/cancel-all", async (c) => {
    const parsed = await smallJson(c);
    if (!parsed.ok) return parsed.response;
    const includeStops = parsed.body.includeStops;
    if (includeStops !== undefined && typeof includeStops !== "boolean") {
      return fail(c, 400, "bad_request", "includeStops must be true or false");
    }
    try {
      const decision = await deps.orders!.cancelAll({
        includeStops: includeStops === true,
      });
      return c.json(decision, decision.decision === "accepted" ? 200 : 422);
    } catch (error) {
      return orderFailure(c, error);
    }
  });

  app.post("/api/orders/close", async (c) => {
    const parsed = await smallJson(c);
    if (!parsed.ok) return parsed.response;
    const { pair, volume, all, price } = parsed.body;
    if (typeof pair !== "string" || !/^[A-Za-z0-9./_-]{2,24}$/.test(pair)) {
      return fail(
        c,
        400,
        "bad_request",
        "pair must be a pair name such as XBTUSD",
      );
    }
    if (all !== true && typeof volume !== "string") {
      return fail(
        c,
        400,
        "bad_request",
        'Give volume (decimal text) or "all": true',
      );
    }
    if (price !== undefined && typeof price !== "string") {
      return fail(c, 400, "bad_request", "price must be decimal text");
    }
    try {
      const decision = await deps.orders!.closePosition(
        pair,
        all === true ? "all" : volume as string,
        price === undefined ? {} : { limitPrice: price },
      );
      return c.json(decision, decision.decision === "accepted" ? 200 : 422);
    } catch (error) {
      return orderFailure(c, error);
    }
  });

  app.delete("/api/orders/:id", async (c) => {
    const id = c.req.param("id");
    if (!/^[A-Za-z0-9:_-]{1,64}$/.test(id)) {
      return fail(c, 400, "bad_order_id", "Invalid order id");
    }
    try {
      const decision = await deps.orders!.cancel(id);
      return c.json(decision, decision.decision === "accepted" ? 200 : 422);
    } catch (error) {
      return orderFailure(c, error);
    }
  });

  app.get("/api/paper", async (c) => {
    try {
      return c.json(await deps.orders!.paperSummary());
    } catch (error) {
      return orderFailure(c, error);
    }
  });

  app.all("/api/*", (c) => fail(c, 404, "not_found", "No such API route"));

  // The page. Loading it sets the session cookie.
  app.get("*", (c) => {
    let path = new URL(c.req.url).pathname;
    if (path === "/") path = "/index.html";
    const file = deps.staticFiles.get(path);
    if (!file) {
      if (path === "/index.html") {
        return c.text("The page is not built: run 'deno task build'", 503);
      }
      return fail(c, 404, "not_found", "No such file");
    }
    if (path === "/index.html") {
      setCookie(c, SESSION_COOKIE, deps.sessionToken, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
      });
    }
    const headers = {
      "Content-Type": file.contentType,
      ETag: file.etag,
      "Cache-Control": path === "/index.html"
        ? "no-cache"
        : "public, max-age=0, must-revalidate",
    };
    if (c.req.header("if-none-match") === file.etag) {
      return c.body(null, 304, headers);
    }
    return c.body(file.body, 200, headers);
  });

  app.onError((error, c) => {
    deps.logger.error("unhandled", { error });
    return fail(c, 500, "internal", "Internal error");
  });

  function orderFailure(c: Context, error: unknown): Response {
    if (error instanceof TicketError) {
      return fail(c, 400, "bad_order", error.message);
    }
    return upstreamFailure(c, error);
  }

  function upstreamFailure(c: Context, error: unknown): Response {
    if (error instanceof ProxyParamError) {
      return fail(c, 400, error.code, error.message);
    }
    if (error instanceof KrakenError) {
      deps.logger.warn("upstream", { kind: error.kind, code: error.code });
      return c.json(
        {
          error: {
            code: error.code,
            kind: error.kind,
            message: deps.logger.redactor.text(error.message),
          },
        },
        statusOf(error.kind),
      );
    }
    throw error;
  }

  return { app, proxy };
}
