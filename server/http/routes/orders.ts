/**
 * The order area: the configured mode's orders (`/api/orders`), cancels,
 * closes, and the paper account (`/api/paper`). Guarded by the session
 * guard; a state-changing request must carry the page's own `Origin`.
 *
 * @module
 */

import { Hono } from "hono";
import type { Context } from "hono";
import type { AppDeps, AppOrders } from "../deps.ts";
import { readBodyText } from "../body.ts";
import { HttpError, jsonAnswer } from "../errors.ts";
import { sessionGuard } from "../guard.ts";
import { parseTicket } from "../../trading/orders.ts";

/** Largest accepted order body, bytes. */
const MAX_ORDER_BODY_BYTES = 4096;

/** `200` for an accepted decision, `422` for a refused one. */
function decisionStatus(decision: { decision: string }): 200 | 422 {
  return decision.decision === "accepted" ? 200 : 422;
}

/** The order ticket body: JSON, at most 4 KiB, counted while it streams in. */
async function ticketBody(c: Context): Promise<unknown> {
  if (!(c.req.header("content-type") ?? "").includes("application/json")) {
    throw new HttpError(415, "bad_content_type", "Send the order as JSON");
  }
  const raw = await readBodyText(c.req.raw, MAX_ORDER_BODY_BYTES);
  try {
    return JSON.parse(raw);
  } catch {
    throw new HttpError(400, "bad_json", "The order body is not valid JSON");
  }
}

/** A small JSON object body, or none (`{}`). */
async function smallJson(c: Context): Promise<Record<string, unknown>> {
  const raw = await readBodyText(c.req.raw, MAX_ORDER_BODY_BYTES);
  if (raw.trim() === "") return {};
  if (!(c.req.header("content-type") ?? "").includes("application/json")) {
    throw new HttpError(415, "bad_content_type", "Send the body as JSON");
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    // The same answer as a body that is not an object.
  }
  if (body !== null && typeof body === "object" && !Array.isArray(body)) {
    return body as Record<string, unknown>;
  }
  throw new HttpError(400, "bad_json", "The body is not a JSON object");
}

/**
 * The order routes.
 *
 * @param deps The app's dependencies (the order service, session, hosts).
 * @returns A Hono app with the guard and the routes.
 * @example Mount
 * ```ts ignore
 * app.route("/", orderRoutes(deps));
 * ```
 */
export function orderRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  // The guard refuses every request while there is no service.
  const orders = (): AppOrders => deps.orders!;
  const guard = sessionGuard({
    area: "order",
    sessionToken: deps.sessionToken,
    allowedHosts: () => deps.allowedHosts,
    available: () => deps.orders !== undefined,
    unavailable: () =>
      new HttpError(404, "no_order_service", "This server places no orders"),
  });
  app.use("/api/orders", guard);
  app.use("/api/orders/*", guard);
  app.use("/api/paper", guard);

  const redactor = deps.logger.redactor;
  // The caller's connection: when it goes away, a call still queued is
  // dropped before anything is signed or sent.
  const caller = (c: Context) => ({ signal: c.req.raw.signal });
  const answer = (
    c: Context,
    decision: { decision: string },
  ): Response => jsonAnswer(c, redactor, decision, decisionStatus(decision));

  app.get(
    "/api/orders",
    async (c) => jsonAnswer(c, redactor, await orders().orders(caller(c))),
  );

  app.post("/api/orders", async (c) => {
    const ticket = parseTicket(await ticketBody(c));
    return answer(c, await orders().place(ticket, caller(c)));
  });

  app.post("/api/orders/cancel-all", async (c) => {
    const { includeStops } = await smallJson(c);
    if (includeStops !== undefined && typeof includeStops !== "boolean") {
      throw new HttpError(
        400,
        "bad_request",
        "includeStops must be true or false",
      );
    }
    const decision = await orders().cancelAll({
      includeStops: includeStops === true,
      ...caller(c),
    });
    return answer(c, decision);
  });

  app.post("/api/orders/close", async (c) => {
    const { pair, volume, all, price } = await smallJson(c);
    if (typeof pair !== "string" || !/^[A-Za-z0-9./_-]{2,24}$/.test(pair)) {
      throw new HttpError(
        400,
        "bad_request",
        "pair must be a pair name such as XBTUSD",
      );
    }
    if (all !== true && typeof volume !== "string") {
      throw new HttpError(
        400,
        "bad_request",
        'Give volume (decimal text) or "all": true',
      );
    }
    if (price !== undefined && typeof price !== "string") {
      throw new HttpError(400, "bad_request", "price must be decimal text");
    }
    const decision = await orders().closePosition(
      pair,
      all === true ? "all" : volume as string,
      price === undefined ? caller(c) : { limitPrice: price, ...caller(c) },
    );
    return answer(c, decision);
  });

  app.delete("/api/orders/:id", async (c) => {
    const id = c.req.param("id");
    if (!/^[A-Za-z0-9:_-]{1,64}$/.test(id)) {
      throw new HttpError(400, "bad_order_id", "Invalid order id");
    }
    return answer(c, await orders().cancel(id, caller(c)));
  });

  app.get(
    "/api/paper",
    async (c) => jsonAnswer(c, redactor, await orders().paperSummary()),
  );

  return app;
}
