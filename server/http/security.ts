/**
 * Request guards for the local server: loopback Host names (DNS-rebinding
 * defence), same-origin checks for state-reading private routes (CSRF), the
 * per-run session token cookie, an optional access token for non-loopback
 * binds, and the security headers.
 *
 * @module
 */

import { timingSafeEqual } from "@krakked/core/secrets/secret";

/** Name of the per-run session cookie. */
export const SESSION_COOKIE = "krakked_session";
/** Name of the access-token cookie (non-loopback binds). */
export const ACCESS_COOKIE = "krakked_access";

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Whether a host name is a loopback name.
 *
 * @param host A host name without port.
 * @returns `true` for 127.0.0.1, localhost and ::1.
 * @example Check
 * ```ts
 * import { isLoopbackHost } from "./security.ts";
 * isLoopbackHost("127.0.0.1"); // true
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) ||
    /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The `Host` header values the server accepts: the loopback names with the
 * port, plus the bind host when it is not loopback.
 *
 * @param bindHost The host the server is bound to.
 * @param port The bound port.
 * @returns Lower-case `host:port` strings.
 * @example Hosts
 * ```ts
 * import { allowedHosts } from "./security.ts";
 * allowedHosts("127.0.0.1", 8787); // ["127.0.0.1:8787", "localhost:8787", "[::1]:8787"]
 * ```
 */
export function allowedHosts(bindHost: string, port: number): string[] {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (
    !isLoopbackHost(bindHost) && bindHost !== "0.0.0.0" && bindHost !== "::"
  ) {
    const name = bindHost.includes(":") ? `[${bindHost}]` : bindHost;
    hosts.push(`${name.toLowerCase()}:${port}`);
  }
  return hosts;
}

/**
 * Whether a request's Origin (if any) is one of ours. Browsers send Origin
 * on cross-site requests and on every non-GET; a missing Origin on a GET is
 * a same-origin navigation or a non-browser client.
 *
 * @param origin The `Origin` header or `null`.
 * @param hosts The accepted `host:port` values.
 * @param fetchSite The `Sec-Fetch-Site` header or `null`.
 * @returns Whether the request may proceed.
 * @example Check
 * ```ts
 * import { isSameOrigin } from "./security.ts";
 * isSameOrigin("http://evil.example", ["127.0.0.1:8787"], "cross-site"); // false
 * ```
 */
export function isSameOrigin(
  origin: string | null,
  hosts: readonly string[],
  fetchSite: string | null,
): boolean {
  if (
    fetchSite !== null && fetchSite !== "same-origin" && fetchSite !== "none"
  ) {
    return false;
  }
  if (origin === null) return true;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      hosts.includes(url.host.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * Compare a presented token with the expected one in constant time.
 *
 * @param presented The token from a cookie or header, if any.
 * @param expected The server's token.
 * @returns Whether they match.
 * @example Check
 * ```ts
 * import { tokenMatches } from "./security.ts";
 * tokenMatches(undefined, "t"); // false
 * ```
 */
export function tokenMatches(
  presented: string | undefined,
  expected: string,
): boolean {
  return presented !== undefined && presented !== "" &&
    timingSafeEqual(presented, expected);
}

/**
 * A fresh random token (32 bytes, base64url).
 *
 * @returns The token text.
 * @example New token
 * ```ts
 * import { newToken } from "./security.ts";
 * const token = newToken();
 * ```
 */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll(
    "/",
    "_",
  )
    .replace(/=+$/, "");
}

/**
 * The Content-Security-Policy for the page: only self, plus the WebSocket
 * origins the worker connects to.
 *
 * @param wsUrls WebSocket URLs the page's worker may open.
 * @returns The header value.
 * @example CSP
 * ```ts
 * import { contentSecurityPolicy } from "./security.ts";
 * contentSecurityPolicy(["wss://ws.kraken.com/v2"]);
 * ```
 */
export function contentSecurityPolicy(wsUrls: readonly string[]): string {
  const origins = [
    ...new Set(
      wsUrls.map((u) => {
        try {
          const url = new URL(u);
          return `${url.protocol}//${url.host}`;
        } catch {
          return undefined;
        }
      }).filter((o): o is string => o !== undefined),
    ),
  ];
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${origins.join(" ")}`.trim(),
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
