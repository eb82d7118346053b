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
      proxyClient(
        c.req.header("sec-fetch-site"),
        c.req.header("origin"),
        (c.env as Partial<Deno.ServeHandlerInfo> | undefined)?.remoteAddr,
      ),
      publicRawKey(c.req.url),
      // A client that went away does not keep its call in the queue.
      c.req.raw.signal,
    );
    c.header("X-Krakked-Cache", answer.source);
    return c.json({ error: [], result: answer.result });
  });
  return app;
}

const PUBLIC_PREFIX = "/api/public/";

/**
 * Where a public-proxy URL's path starts, or -1 for any other URL. No
 * allocation: this runs on every request.
 *
 * @param url A request URL (absolute, as `Request.url`).
 * @returns The index of the path's `/`, or -1.
 */
export function publicPathStart(url: string): number {
  const at = url.indexOf("/", url.indexOf("//") + 2);
  return at !== -1 && url.startsWith(PUBLIC_PREFIX, at) ? at : -1;
}

/**
 * The raw `Method?query` text of a public-proxy URL: the key of
 * {@linkcode PublicProxy.peek}. Percent-escaped paths get none (their
 * routing decodes them; they take the full route every time).
 *
 * @param url A request URL (absolute, as `Request.url`).
 * @returns The text after `/api/public/`, or `undefined`.
 * @example Key
 * ```ts
 * import { publicRawKey } from "./public.ts";
 * publicRawKey("http://127.0.0.1:8787/api/public/Ticker?pair=XBTUSD"); // "Ticker?pair=XBTUSD"
 * ```
 */
export function publicRawKey(url: string): string | undefined {
  const at = publicPathStart(url);
  if (at === -1) return undefined;
  const key = url.slice(at + PUBLIC_PREFIX.length);
  const query = key.indexOf("?");
  const name = query === -1 ? key : key.slice(0, query);
  return name.includes("%") || name.includes("/") ? undefined : key;
}

/**
 * The proxy's unit of fairness for a request (see `public_proxy.ts`): the
 * page for a same-origin browser request (the origin guard has already
 * refused other origins), else the remote address.
 *
 * @param secFetchSite The `Sec-Fetch-Site` header.
 * @param origin The `Origin` header.
 * @param remoteAddr The connection's remote address (from `Deno.serve`).
 * @returns `page`, `addr:<ip>` or `addr:unknown`.
 * @example The page
 * ```ts
 * import { proxyClient } from "./public.ts";
 * proxyClient("same-origin", undefined, undefined); // "page"
 * ```
 */
export function proxyClient(
  secFetchSite: string | undefined,
  origin: string | undefined,
  remoteAddr: Deno.Addr | undefined,
): string {
  if (secFetchSite === "same-origin" || origin !== undefined) return "page";
  return remoteAddr !== undefined && "hostname" in remoteAddr
    ? `addr:${remoteAddr.hostname}`
    : "addr:unknown";
}
