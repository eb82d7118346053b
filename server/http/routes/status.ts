/**
 * What the server says about itself: `/api/health`, `/api/config` (what
 * the page needs to start), `/api/status` and Prometheus `/metrics`.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps } from "../deps.ts";
import type { ProxyStats } from "../public_proxy.ts";

/** The timeframes the page offers. */
const TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h", "1d"];

/** Whether Kraken's REST API answered lately, as the proxy saw it. */
export interface RestHealth {
  /** `null` before the first upstream call. */
  reachable: boolean | null;
  lastOkAt: number | null;
  lastError: string | null;
}

/** Counters the app keeps while it serves. */
export interface ServerCounters {
  /** When the app was built, ms. */
  startedAtMs: number;
  /** Requests answered. */
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
  /** Answers per status. */
  byStatus: Map<number, number>;
  /** Upstream REST health. */
  rest: RestHealth;
}

/**
 * The status routes.
 *
 * @param deps The app's dependencies.
 * @param counters The app's counters.
 * @param proxyStats The public proxy's counters, read per request.
 * @returns A Hono app with the four routes.
 * @example Mount
 * ```ts ignore
 * app.route("/", statusRoutes(deps, counters, () => proxy.stats));
 * ```
 */
export function statusRoutes(
  deps: AppDeps,
  counters: ServerCounters,
  proxyStats: () => Readonly<ProxyStats>,
): Hono {
  const now = deps.now ?? Date.now;
  const uptimeSec = () => Math.round((now() - counters.startedAtMs) / 1000);
  const app = new Hono();

  app.get("/api/health", (c) =>
    c.json({
      ok: true,
      mode: deps.mode,
      version: deps.version,
      uptimeSec: uptimeSec(),
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
      uptimeSec: uptimeSec(),
      rest: counters.rest,
      proxy: { ...proxyStats() },
      privateStream: deps.accountEvents?.state() ?? "none",
      ...(deps.status?.() ?? {}),
    }));

  app.get("/metrics", (c) => {
    const proxy = proxyStats();
    const lines = [
      "# HELP krakked_http_requests_total HTTP requests served",
      "# TYPE krakked_http_requests_total counter",
      ...[...counters.byStatus].map(([s, n]) =>
        `krakked_http_requests_total{status="${s}"} ${n}`
      ),
      "# HELP krakked_proxy_upstream_calls_total Upstream Kraken public calls",
      "# TYPE krakked_proxy_upstream_calls_total counter",
      `krakked_proxy_upstream_calls_total ${proxy.upstreamCalls}`,
      "# TYPE krakked_proxy_cache_hits_total counter",
      `krakked_proxy_cache_hits_total ${proxy.cacheHits}`,
      "# TYPE krakked_proxy_coalesced_total counter",
      `krakked_proxy_coalesced_total ${proxy.coalesced}`,
      "# TYPE krakked_proxy_upstream_errors_total counter",
      `krakked_proxy_upstream_errors_total ${proxy.upstreamErrors}`,
      "# TYPE krakked_uptime_seconds gauge",
      `krakked_uptime_seconds ${uptimeSec()}`,
      "",
    ];
    return c.text(lines.join("\n"), 200, {
      "Content-Type": "text/plain; version=0.0.4",
    });
  });

  return app;
}
