/**
 * The local server's Hono app, composed from one route module per area
 * (`routes/`): status, the public proxy, private reads and account events,
 * orders and the paper account, and the page.
 *
 * Every request passes the host guard (`guard.ts`: a loopback `Host`,
 * DNS-rebinding defence, unless an access token protects a non-loopback
 * bind). The private and order areas also need the per-run session cookie
 * (HttpOnly, SameSite=Strict, set when the page loads) and a same-origin
 * request (CSRF defence). Routes and guards throw; `onError` maps every
 * error to its status in one place (`errors.ts`). No response ever carries
 * a key, secret or WebSocket token.
 *
 * @module
 */

import { Hono } from "hono";
import { KrakenError } from "@krakked/core/rest/errors";
import type { AppDeps } from "./deps.ts";
import { errorAnswer, HttpError } from "./errors.ts";
import { hostGuard, originGuard } from "./guard.ts";
import { PublicProxy } from "./public_proxy.ts";
import {
  contentSecurityPolicy,
  isSameOrigin,
  securityHeaders,
  withSecurityHeaders,
} from "./security.ts";
import { accountRoutes } from "./routes/account.ts";
import { opsRoutes } from "./routes/ops.ts";
import { orderRoutes } from "./routes/orders.ts";
import { pageRoutes } from "./routes/page.ts";
import { privateRoutes } from "./routes/private.ts";
import {
  publicPathStart,
  publicRawKey,
  publicRoutes,
} from "./routes/public.ts";
import { type ServerCounters, statusRoutes } from "./routes/status.ts";
import {
  IdMint,
  isSaneRequestId,
  needsScope,
  REQUEST_ID_HEADER,
  withRequestId,
} from "./request_id.ts";

/**
 * Build the app.
 *
 * @param deps Mode, config, REST client, tokens, files and logger.
 * @returns The Hono app and its proxy (for stats).
 * @example Build and call in-process
 * ```ts
 * import { createApp } from "./app.ts";
 * import type { AppDeps } from "./deps.ts";
 * declare const deps: AppDeps;
 * const { app } = createApp(deps);
 * const res = await app.request("http://127.0.0.1:8787/api/health");
 * ```
 */
export function createApp(deps: AppDeps): { app: Hono; proxy: PublicProxy } {
  const now = deps.now ?? Date.now;
  const counters: ServerCounters = {
    startedAtMs: now(),
    requests: 0,
    errors: 0,
    byStatus: new Map(),
    rest: { reachable: null, lastOkAt: null, lastError: null },
  };
  const proxy = new PublicProxy(deps.rest, {
    now,
    onUpstream: (ok, error) => {
      counters.rest = ok
        ? { reachable: true, lastOkAt: now(), lastError: null }
        : {
          ...counters.rest,
          reachable: !(error instanceof KrakenError &&
            (error.kind === "network" || error.kind === "service")),
          lastError: error instanceof KrakenError ? error.code : "unknown",
        };
    },
  });
  const headers = securityHeaders(
    contentSecurityPolicy([deps.wsPublicUrl]),
  );
  const app = new Hono();
  const mint = deps.requestIds ?? new IdMint();

  /** Metrics and the log line of one answered request. */
  const answered = (
    method: string,
    path: string,
    status: number,
    t0: number,
    rid: string,
    always: boolean,
  ): void => {
    counters.requests++;
    counters.byStatus.set(status, (counters.byStatus.get(status) ?? 0) + 1);
    if (status >= 500) counters.errors++;
    // Path only: query values could hold anything. Successes may be
    // sampled (`server.log_success_sample`), except a request that acts on
    // the account (its line is part of the order's trail) and one whose
    // caller named it with its own X-Request-Id (a CLI run, a script: the
    // caller will look for that id in the log).
    deps.logger.request(
      method,
      path,
      status,
      performance.now() - t0,
      rid,
      always,
    );
  };

  // Logging, metrics and security headers for every response. The headers
  // go onto the finished answer in place: `c.header()` after `next()`
  // rebuilds the Response on every call in Hono 4.
  app.use("*", async (c, next) => {
    const t0 = performance.now();
    // The correlation id: a sane inbound one, else minted; echoed below.
    const inbound = c.req.raw.headers.get(REQUEST_ID_HEADER);
    const named = isSaneRequestId(inbound);
    const rid = named ? inbound : mint.next();
    const scoped = needsScope(c.req.path);
    if (scoped) await withRequestId(rid, next);
    else await next();
    const res = withSecurityHeaders(c.res, headers);
    if (res !== c.res) c.res = res;
    res.headers.set(REQUEST_ID_HEADER, rid);
    answered(c.req.method, c.req.path, res.status, t0, rid, scoped || named);
  });

  app.use(
    "*",
    hostGuard({
      allowedHosts: () => deps.allowedHosts,
      ...(deps.accessToken !== undefined
        ? { accessToken: deps.accessToken }
        : {}),
    }),
  );

  app.route("/", statusRoutes(deps, counters, () => proxy.stats));
  app.route("/", opsRoutes(deps));
  app.use("/api/public/*", originGuard(() => deps.allowedHosts));
  app.route("/", publicRoutes(proxy));
  app.route("/", privateRoutes(deps));
  app.route("/", accountRoutes(deps));
  app.route("/", orderRoutes(deps));
  app.all("/api/*", () => {
    throw new HttpError(404, "not_found", "No such API route");
  });
  app.route("/", pageRoutes(deps));

  app.onError((error, c) => {
    const answer = errorAnswer(
      error,
      (text) => deps.logger.redactor.text(text),
    );
    if (answer.log) {
      deps.logger[answer.log.level](answer.log.msg, answer.log.fields);
    }
    return c.json(answer.body, answer.status);
  });

  // The warm public route without the router: a GET that passes the same
  // host and origin checks as the full route, for a `Method?query` text the
  // full route has already validated and answered from a fresh cache entry,
  // gets those bytes with the full route's headers, built once. Anything
  // else (a refusal, a miss, an access-token server, HEAD) takes the full
  // route, which answers and explains it. `app.request` goes through here
  // too, so the app's tests cover both paths.
  // The last pair carries the request id: set just before each Response
  // is built (the constructor copies the list at once).
  const requestIdHeader: [string, string] = [REQUEST_ID_HEADER, ""];
  const hitHeaders: [string, string][] = [
    ["content-type", "application/json"],
    ...headers.map(([name, value]): [string, string] => [name, value]),
    ["x-krakked-cache", "hit"],
    requestIdHeader,
  ];
  const routed = app.fetch;
  const cachedPublic = (request: Request): Response | undefined => {
    if (deps.accessToken !== undefined || request.method !== "GET") {
      return undefined;
    }
    const t0 = performance.now();
    const url = request.url;
    const pathAt = publicPathStart(url);
    if (pathAt === -1) return undefined;
    const raw = publicRawKey(url);
    if (raw === undefined) return undefined;
    const hosts = deps.allowedHosts;
    const requestHeaders = request.headers;
    if (
      !hosts.includes((requestHeaders.get("host") ?? "").toLowerCase()) ||
      !isSameOrigin(
        requestHeaders.get("origin"),
        hosts,
        requestHeaders.get("sec-fetch-site"),
      )
    ) return undefined;
    const body = proxy.peek(raw);
    if (body === undefined) return undefined;
    const inbound = requestHeaders.get(REQUEST_ID_HEADER);
    const named = isSaneRequestId(inbound);
    const rid = named ? inbound : mint.next();
    const query = url.indexOf("?", pathAt);
    answered(
      "GET",
      query === -1 ? url.slice(pathAt) : url.slice(pathAt, query),
      200,
      t0,
      rid,
      named,
    );
    requestIdHeader[1] = rid;
    return new Response(body, { headers: hitHeaders });
  };
  app.fetch = (request, env, executionCtx) =>
    cachedPublic(request) ?? routed(request, env, executionCtx);

  return { app, proxy };
}
