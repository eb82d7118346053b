/**
 * The simulator's REST API as a Hono app: `/0/public/<Method>`,
 * `/0/private/<Method>` with Kraken's envelopes and error strings, fault
 * injection on every `/0/*` request, and the loopback-only control routes
 * under `/_sim/`.
 *
 * Envelope: `{"error":[],"result":…}`; errors `{"error":["…"]}` with HTTP
 * 200 (REST.md §1, §9). Unknown public or private method →
 * `EGeneral:Unknown method`. Private pipeline (REST.md §2, §7, §8):
 * maintenance → lockout/key/signature/nonce → rate-limit storm → REST call
 * counter → permission → handler.
 *
 * Extension point: pass `privateHandlers` (e.g. `AddOrder`, `CancelOrder`
 * from the matching engine); they take precedence over the built-in account
 * handlers and are reached only after authentication, counter and
 * permission checks.
 *
 * @module
 */

import type { PublicThrottle } from "../exchange/rate_limits.ts";
import { Hono } from "hono";
import type { Context } from "hono";
import type { SimAccount } from "../exchange/account.ts";
import type { KeyRing } from "./auth.ts";
import { parseFaultSettings, type SimControl } from "../control.ts";
import { DroppedAnswerError } from "../exchange/engine.ts";
import type { Market } from "../exchange/market.ts";
import {
  INVALID_ARGUMENTS,
  nonceOf,
  Params,
  SimApiError,
} from "../exchange/params.ts";
import {
  classifyPrivateMethod,
  isPublicMethod,
  METHOD_PERMISSIONS,
  restCost,
} from "./methods.ts";
import { ACCOUNT_HANDLERS, type PrivateHandler } from "./private.ts";
import { PUBLIC_HANDLERS } from "./public.ts";
import type { WsTokenRegistry } from "../ws/tokens.ts";

/** Per-request values the server passes to the app (`app.fetch(req, env)`). */
export interface SimEnv {
  /** The peer address; control routes require a loopback peer. */
  remoteAddr?: { hostname: string; port?: number; transport?: string };
}

/** Options of {@linkcode createRestApp}. */
export interface RestAppOptions {
  /** The market. */
  market: Market;
  /** The account. */
  account: SimAccount;
  /** Fault injection and system status. */
  control: SimControl;
  /** Configured API keys. */
  keys: KeyRing;
  /** Issued WebSocket tokens. */
  tokens: WsTokenRegistry;
  /** Clock, ms (default `market.now`). */
  now?: () => number;
  /** Serve `/_sim/*` control routes (loopback only; default false). */
  controlRoutes?: boolean;
  /** Extra or overriding private methods (trading, later). */
  privateHandlers?: Readonly<Record<string, PrivateHandler>>;
  /** Kraken's per-IP public throttle (default none). */
  publicThrottle?: PublicThrottle;
}

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * A Kraken JSON answer (HTTP 200).
 *
 * @param body The envelope.
 * @returns The response.
 * @example Error envelope
 * ```ts
 * import { krakenJson } from "./app.ts";
 * krakenJson({ error: ["EGeneral:Unknown method"] });
 * ```
 */
export function krakenJson(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "content-type": JSON_TYPE },
  });
}

function errorResponse(code: string): Response {
  return krakenJson({ error: [code] });
}

/**
 * A Cloudflare-like HTML 520 page, as Kraken's edge sends when the origin
 * misbehaves (REST.md §1).
 *
 * @returns Status 520, `text/html`.
 * @example Page
 * ```ts
 * import { cloudflare520 } from "./app.ts";
 * cloudflare520().status; // 520
 * ```
 */
export function cloudflare520(): Response {
  const html = `<!DOCTYPE html>
<html lang="en-US">
<head>
<title>api.kraken.com | 520: Web server is returning an unknown error</title>
<meta charset="UTF-8" />
</head>
<body>
<div id="cf-wrapper">
<h1>Web server is returning an unknown error <span>Error code 520</span></h1>
<p>There is an unknown connection issue between Cloudflare and the origin web server.
As a result, the web page can not be displayed.</p>
<p>Cloudflare Ray ID: <strong>8f3c0e1d2a4b5c6d</strong> &bull; Performance &amp; security by Cloudflare</p>
</div>
</body>
</html>
`;
  return new Response(html, {
    status: 520,
    headers: {
      "content-type": "text/html; charset=UTF-8",
      "server": "cloudflare",
      "cf-ray": "8f3c0e1d2a4b5c6d-AMS",
    },
  });
}

/**
 * A response that loses its connection: `Deno.serve` writes the status line
 * and headers, then the body stream errors and the connection is reset.
 *
 * @returns The doomed response.
 * @example Drop
 * ```ts
 * import { droppedConnection } from "./app.ts";
 * const response = droppedConnection(); // reading its body rejects
 * ```
 */
export function droppedConnection(): Response {
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.error(new Error("Simulated connection drop"));
      },
    }),
    { headers: { "content-type": JSON_TYPE } },
  );
}

/**
 * Whether an address is loopback (127.0.0.0/8, ::1, ::ffff:127.x).
 *
 * @param hostname The address text.
 * @returns `true` for loopback.
 * @example Loopback
 * ```ts
 * import { isLoopback } from "./app.ts";
 * isLoopback("127.0.0.1"); // true
 * isLoopback("192.168.1.5"); // false
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "::1" || h === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

function hostOf(hostHeader: string): string {
  if (hostHeader.startsWith("[")) {
    return hostHeader.slice(0, hostHeader.indexOf("]") + 1);
  }
  return hostHeader.split(":")[0] ?? "";
}

async function readParams(c: Context, body?: string): Promise<Params> {
  const url = new URL(c.req.url);
  const query = Params.fromForm(url.search);
  if (c.req.method !== "POST") return query;
  const text = body ?? await c.req.text();
  if (text.trim() === "") return query;
  const type = c.req.header("content-type") ?? "";
  if (type.includes("json") || text.trimStart().startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new SimApiError(INVALID_ARGUMENTS);
    }
    return Params.fromJson(json as Record<string, unknown>).withDefaults(query);
  }
  return Params.fromForm(text).withDefaults(query);
}

/**
 * Build the simulator's Hono app.
 *
 * @param options Market, account, control, keys, tokens and extensions.
 * @returns The app; serve it with `app.fetch(request, { remoteAddr })`.
 * @example In-process request
 * ```ts ignore
 * const app = createRestApp({ market, account, control, keys, tokens });
 * const response = await app.request("/0/public/Time");
 * ```
 */
export function createRestApp(
  options: RestAppOptions,
): Hono<{ Bindings: SimEnv }> {
  const { market, account, control, keys, tokens } = options;
  const now = options.now ?? (() => market.now());
  const extraHandlers = options.privateHandlers ?? {};
  const app = new Hono<{ Bindings: SimEnv }>();

  app.use("/0/*", async (c, next) => {
    // Touch request.signal only when a fault needs it (Deno warns about
    // its legacy abort-after-response behaviour on first access).
    if (control.state.stall || control.state.latencyMs > 0) {
      await control.hold(c.req.raw.signal);
    }
    const kind = c.req.path.startsWith("/0/private/") ? "private" : "public";
    switch (control.takeRequestFault(kind)) {
      case "drop":
        return droppedConnection();
      case "html520":
        return cloudflare520();
      case "unavailable":
        return errorResponse("EService:Unavailable");
      case "busy":
        return errorResponse("EService:Busy");
      case undefined:
        break;
    }
    await next();
  });

  app.all("/0/public/:method", async (c) => {
    const method = c.req.param("method");
    if (!isPublicMethod(method) || !Object.hasOwn(PUBLIC_HANDLERS, method)) {
      return errorResponse("EGeneral:Unknown method");
    }
    const throttle = options.publicThrottle;
    if (
      throttle &&
      !throttle.take(c.env?.remoteAddr?.hostname ?? "unknown", now())
    ) {
      return errorResponse("EGeneral:Too many requests");
    }
    try {
      const params = await readParams(c);
      const result = PUBLIC_HANDLERS[method]!(params, {
        market,
        control,
        nowMs: now(),
      });
      return krakenJson({ error: [], result });
    } catch (error) {
      return failure(error);
    }
  });

  app.all("/0/private/*", async (c) => {
    const path = c.req.path;
    const method = path.slice("/0/private/".length);
    const kind = classifyPrivateMethod(method);
    if (kind === "unknown") return errorResponse("EGeneral:Unknown method");
    if (c.req.method !== "POST") return errorResponse(INVALID_ARGUMENTS);
    const body = await c.req.text();
    if (control.systemStatus === "maintenance") {
      return errorResponse("EService:Unavailable");
    }
    const isJson = (c.req.header("content-type") ?? "").includes("json") ||
      body.trimStart().startsWith("{");
    const auth = await keys.authenticate({
      apiKey: c.req.header("API-Key") ?? null,
      apiSign: c.req.header("API-Sign") ?? null,
      path,
      body,
      nonce: nonceOf(body, isJson),
    });
    if (!auth.ok) return errorResponse(auth.error);
    if (control.takeRateLimitStorm()) {
      return errorResponse("EAPI:Rate limit exceeded");
    }
    const cost = kind === "forbidden" ? 1 : restCost(method);
    if (!keys.chargeRest(auth.key, cost)) {
      return errorResponse("EAPI:Rate limit exceeded");
    }
    if (kind === "forbidden") {
      return errorResponse("EGeneral:Permission denied");
    }
    const needed = METHOD_PERMISSIONS[method] ?? [];
    if (!needed.every((p) => auth.key.permissions.has(p))) {
      return errorResponse("EGeneral:Permission denied");
    }
    const handler = Object.hasOwn(extraHandlers, method)
      ? extraHandlers[method]
      : Object.hasOwn(ACCOUNT_HANDLERS, method)
      ? ACCOUNT_HANDLERS[method]
      : undefined;
    if (!handler) return errorResponse("EGeneral:Unknown method");
    try {
      const params = await readParams(c, body);
      const result = await handler({
        params,
        body,
        key: auth.key,
        account,
        market,
        tokens,
        nowMs: now(),
      });
      return krakenJson({ error: [], result });
    } catch (error) {
      return failure(error);
    }
  });

  if (options.controlRoutes) {
    app.use("/_sim/*", async (c, next) => {
      const peer = c.env?.remoteAddr?.hostname;
      const host = hostOf(c.req.header("host") ?? "");
      if (!peer || !isLoopback(peer) || !isLoopback(host)) {
        return c.text("Not found", 404);
      }
      await next();
    });
    app.get(
      "/_sim/faults",
      (c) => c.json({ faults: control.state, stats: control.stats }),
    );
    app.post("/_sim/faults", async (c) => {
      let input: unknown;
      try {
        input = await c.req.json();
      } catch {
        return c.json({ error: "Body must be JSON" }, 400);
      }
      const parsed = parseFaultSettings(input);
      if (!parsed.ok) return c.json({ error: parsed.message }, 400);
      control.set(parsed.settings);
      return c.json({ faults: control.state });
    });
    app.delete("/_sim/faults", (c) => {
      control.clear();
      return c.json({ faults: control.state });
    });
    app.post("/_sim/faults/clear", (c) => {
      control.clear();
      return c.json({ faults: control.state });
    });
    app.post("/_sim/release", (c) => {
      const released = control.stalledCount;
      control.release();
      return c.json({ released });
    });
    app.get("/_sim/info", (c) =>
      c.json({
        seed: market.seed,
        nowMs: now(),
        historyStartMs: market.historyStartMs,
        pairs: market.pairs.length,
        systemStatus: control.systemStatus,
        openOrders: account.orders().filter((o) => o.status === "open").length,
      }));
  }

  app.notFound((c) => c.text("Not found", 404));
  app.onError(() => errorResponse("EGeneral:Internal error"));
  return app;
}

function failure(error: unknown): Response {
  if (error instanceof SimApiError) return errorResponse(error.code);
  // The order was placed; the client must not see the answer (fault).
  if (error instanceof DroppedAnswerError) return droppedConnection();
  return errorResponse("EGeneral:Internal error");
}
