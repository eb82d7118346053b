/**
 * The server's request guards, as Hono middleware. Each refuses by throwing
 * an {@linkcode HttpError}; `app.onError` answers.
 *
 * - {@linkcode hostGuard} runs on every request: a loopback `Host` (the
 *   DNS-rebinding defence), or the access token when a non-loopback bind
 *   has one.
 * - {@linkcode originGuard} runs on the public proxy: same origin, or no
 *   browser at all (the CLI, scripts).
 * - {@linkcode sessionGuard} runs on the page's own API areas (private reads,
 *   orders): a same-origin request (CSRF defence; a state-changing one must
 *   carry our `Origin`), the per-run session cookie, and the service behind
 *   the area. Its answers are never cached.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { HttpError } from "./errors.ts";
import {
  ACCESS_COOKIE,
  isSameOrigin,
  SESSION_COOKIE,
  tokenMatches,
} from "./security.ts";

/** Options of {@linkcode hostGuard}. */
export interface HostGuardOptions {
  /** Accepted `Host` values (`host:port`, lower case), read per request. */
  allowedHosts: () => readonly string[];
  /** When set, every request must present it instead (non-loopback binds). */
  accessToken?: string;
}

/**
 * The guard on every request: the `Host` must be one of ours, or, when the
 * server has an access token, the request must carry it (bearer header,
 * cookie, or once in `?token=`, which is moved into an HttpOnly cookie).
 *
 * @param options Accepted hosts and the access token.
 * @returns The middleware.
 * @throws {HttpError} 421 `bad_host`, or 401 `access_token_required`.
 * @example Guard every route
 * ```ts ignore
 * app.use("*", hostGuard({ allowedHosts: () => ["127.0.0.1:8787"] }));
 * ```
 */
export function hostGuard(options: HostGuardOptions): MiddlewareHandler {
  const { accessToken } = options;
  return async (c, next) => {
    if (accessToken !== undefined) {
      const url = new URL(c.req.url);
      const bearer = c.req.header("authorization")?.replace(/^Bearer\s+/i, "");
      const presented = bearer ?? getCookie(c, ACCESS_COOKIE) ??
        url.searchParams.get("token") ?? undefined;
      if (!tokenMatches(presented, accessToken)) {
        throw new HttpError(
          401,
          "access_token_required",
          "This server needs its access token",
        );
      }
      if (url.searchParams.has("token")) {
        setCookie(c, ACCESS_COOKIE, accessToken, {
          httpOnly: true,
          sameSite: "Strict",
          path: "/",
        });
        return c.redirect(url.pathname, 303);
      }
    } else {
      const host = (c.req.header("host") ?? "").toLowerCase();
      if (!options.allowedHosts().includes(host)) {
        throw new HttpError(
          421,
          "bad_host",
          "Requests must use a loopback host name such as 127.0.0.1",
        );
      }
    }
    await next();
  };
}

/**
 * The guard of the public proxy: browsers may use it only from the page's
 * own origin (`Sec-Fetch-Site` same-origin or none, or our `Origin`), so a
 * cross-site page cannot drain the shared public budget; the CLI and
 * scripts, which send no `Origin`, keep working.
 *
 * @param allowedHosts Accepted `host:port` values for `Origin`, read per request.
 * @returns The middleware.
 * @throws {HttpError} 403 `cross_origin`.
 * @example Guard the public proxy
 * ```ts ignore
 * app.use("/api/public/*", originGuard(() => ["127.0.0.1:8787"]));
 * ```
 */
export function originGuard(
  allowedHosts: () => readonly string[],
): MiddlewareHandler {
  return async (c, next) => {
    if (
      !isSameOrigin(
        c.req.header("origin") ?? null,
        allowedHosts(),
        c.req.header("sec-fetch-site") ?? null,
      )
    ) {
      throw new HttpError(
        403,
        "cross_origin",
        "Cross-site requests are refused",
      );
    }
    await next();
  };
}

/** Options of {@linkcode sessionGuard}. */
export interface SessionGuardOptions {
  /** The area's name in messages (`private`, `order`). */
  area: string;
  /** The per-run session token the page's cookie must carry. */
  sessionToken: string;
  /** Accepted `host:port` values for `Origin`, read per request. */
  allowedHosts: () => readonly string[];
  /** Whether the service behind the area exists (credentials, order service). */
  available: () => boolean;
  /** What to throw when it does not (a 404 naming what is missing). */
  unavailable: () => HttpError;
}

/**
 * The guard of the page's own API areas: same origin, then the session,
 * then the service behind the area. A state-changing request (not GET or
 * HEAD) must carry an `Origin` that is ours; a missing one is refused, not
 * assumed.
 *
 * @param options The area, session token, hosts and availability.
 * @returns The middleware (it also marks answers `Cache-Control: no-store`).
 * @throws {HttpError} 403 `cross_origin`, 401 `session_required`, or the
 *   area's own 404.
 * @example Guard the order routes
 * ```ts ignore
 * app.use("/api/orders/*", sessionGuard({
 *   area: "order",
 *   sessionToken,
 *   allowedHosts: () => hosts,
 *   available: () => orders !== undefined,
 *   unavailable: () => new HttpError(404, "no_order_service", "This server places no orders"),
 * }));
 * ```
 */
export function sessionGuard(options: SessionGuardOptions): MiddlewareHandler {
  const area = options.area;
  const title = area.charAt(0).toUpperCase() + area.slice(1);
  return async (c, next) => {
    const origin = c.req.header("origin") ?? null;
    const changes = c.req.method !== "GET" && c.req.method !== "HEAD";
    if (
      (changes && origin === null) ||
      !isSameOrigin(
        origin,
        options.allowedHosts(),
        c.req.header("sec-fetch-site") ?? null,
      )
    ) {
      throw new HttpError(
        403,
        "cross_origin",
        changes
          ? `${title} requests need the page's own Origin header`
          : "Cross-site requests are refused",
      );
    }
    if (!tokenMatches(getCookie(c, SESSION_COOKIE), options.sessionToken)) {
      throw new HttpError(
        401,
        "session_required",
        `Load the page first: ${area} routes need its session`,
      );
    }
    if (!options.available()) throw options.unavailable();
    c.header("Cache-Control", "no-store");
    await next();
  };
}
