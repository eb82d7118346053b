/**
 * The private read-only area: Kraken account reads with the server's
 * credentials (`/api/private/:route`) and the account events of the
 * server's private WebSocket stream as server-sent events
 * (`/api/private/events`). Guarded by the session guard. The event stream
 * also carries the ops monitor's numbers (`?topics=ops`, or
 * `account,ops`; see `./ops.ts`); an ops-only stream needs the monitor, not
 * credentials.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps } from "../deps.ts";
import { HttpError, jsonAnswer } from "../errors.ts";
import { sessionGuard } from "../guard.ts";
import { sseHeartbeat } from "../sse.ts";
import { eventTopics, OpsDeltas, opsGuard } from "./ops.ts";

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

/** What a private parameter value may look like. */
const PARAM_VALUE = /^[A-Za-z0-9.,_-]{1,40}$/;

/**
 * The private routes.
 *
 * @param deps The app's dependencies (REST client, session, account events).
 * @returns A Hono app with the guard and the routes.
 * @example Mount
 * ```ts ignore
 * app.route("/", privateRoutes(deps));
 * ```
 */
export function privateRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  const guard = sessionGuard({
    area: "private",
    sessionToken: deps.sessionToken,
    allowedHosts: () => deps.allowedHosts,
    available: () => deps.rest.hasCredentials,
    unavailable: () =>
      new HttpError(
        404,
        "no_credentials",
        "The server has no Kraken credentials: run 'krakked setup'",
      ),
  });
  const ops = opsGuard(deps);
  app.use("/api/private/*", (c, next) =>
    c.req.path === "/api/private/events" &&
      !eventTopics(c.req.url).has("account")
      ? ops(c, next)
      : guard(c, next));

  app.get("/api/private/events", (c) => {
    const topics = eventTopics(c.req.url);
    const events = topics.has("account") ? deps.accountEvents : undefined;
    if (topics.has("account") && !events) {
      throw new HttpError(
        404,
        "no_private_stream",
        "No private stream is running",
      );
    }
    const monitor = topics.has("ops") ? deps.ops : undefined;
    if (topics.has("ops") && !monitor) {
      throw new HttpError(404, "no_ops", "The ops monitor is not running");
    }
    const redactor = deps.logger.redactor;
    const offs: (() => void)[] = [];
    const cleanup = () => offs.splice(0).forEach((off) => off());
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const enc = new TextEncoder();
        const send = (event: string, data: string) => {
          try {
            controller.enqueue(
              enc.encode(`event: ${event}\ndata: ${data}\n\n`),
            );
          } catch {
            // The client went away between two pushes.
            cleanup();
          }
        };
        // The source closed (the server stops): end the response too.
        const end = () => {
          cleanup();
          try {
            controller.close();
          } catch {
            // Already closed.
          }
        };
        controller.enqueue(enc.encode(`: connected\n\n`));
        offs.push(sseHeartbeat(controller));
        if (events) {
          offs.push(events.subscribe(
            // The relay's data came from Kraken's private stream and REST
            // reads: scrubbed of every registered secret before it leaves.
            (event) =>
              send(redactor.text(event.channel), redactor.json(event.data)),
            end,
          ));
        }
        if (monitor) {
          // The whole snapshot first, then the sections that changed.
          const deltas = new OpsDeltas(redactor);
          offs.push(monitor.subscribe((s) => send("ops", deltas.next(s)), end));
        }
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
    const name = c.req.param("route");
    const route = Object.hasOwn(PRIVATE_ROUTES, name)
      ? PRIVATE_ROUTES[name]
      : undefined;
    if (!route) throw new HttpError(404, "not_found", "No such private route");
    const params: Record<string, string> = {};
    for (const [key, value] of new URL(c.req.url).searchParams) {
      if (!route.params.includes(key) || !PARAM_VALUE.test(value)) {
        throw new HttpError(
          400,
          "bad_param",
          `Invalid parameter "${key.slice(0, 40)}"`,
        );
      }
      params[key] = value;
    }
    // The caller's connection: when it goes away, a call still queued is
    // never signed nor sent.
    const { result } = await deps.rest.callPrivate(route.method, params, {
      signal: c.req.raw.signal,
    });
    return jsonAnswer(c, deps.logger.redactor, { result });
  });

  return app;
}
