/**
 * `/api/public/:method`: Kraken's public REST methods through the proxy
 * (allowlist, checked parameters, cache, coalescing, pacing).
 *
 * @module
 */

import { Hono } from "hono";
import type { PublicProxy } from "../public_proxy.ts";

/**
 * The public proxy route. Refused parameters and upstream failures are
 * thrown to `app.onError`.
 *
 * @param proxy The proxy.
 * @returns A Hono app with the route.
 * @example Mount
 * ```ts ignore
 * app.route("/", publicRoutes(proxy));
 * ```
 */
export function publicRoutes(proxy: PublicProxy): Hono {
  const app = new Hono();
  app.get("/api/public/:method", async (c) => {
    const answer = await proxy.get(
      c.req.param("method"),
      new URL(c.req.url).searchParams,
    );
    c.header("X-Krakked-Cache", answer.source);
    return c.json({ error: [], result: answer.result });
  });
  return app;
}
