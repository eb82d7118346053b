/**
 * The pure security decisions behind the server's guards (`guard.ts`):
 * same-origin checks (CSRF), the per-run session and access tokens, and
 * the Content-Security-Policy. The loopback rule is in `loopback.ts`.
 *
 * @module
 */

import { timingSafeEqual } from "@krakked/core/secrets/secret";

/** Name of the per-run session cookie. */
export const SESSION_COOKIE = "krakked_session";
/** Name of the access-token cookie (non-loopback binds). */
export const ACCESS_COOKIE = "krakked_access";

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

/**
 * The security headers every answer carries, in one list built once per
 * server: content sniffing off, no framing, no referrer, same-origin
 * opener and resource policies, and the page's CSP.
 *
 * @param csp The Content-Security-Policy value ({@linkcode contentSecurityPolicy}).
 * @returns Name and value pairs.
 * @example Build once
 * ```ts
 * import { contentSecurityPolicy, securityHeaders } from "./security.ts";
 * const headers = securityHeaders(contentSecurityPolicy([]));
 * ```
 */
export function securityHeaders(
  csp: string,
): readonly (readonly [string, string])[] {
  return Object.freeze(
    [
      ["X-Content-Type-Options", "nosniff"],
      ["X-Frame-Options", "DENY"],
      ["Referrer-Policy", "no-referrer"],
      ["Cross-Origin-Opener-Policy", "same-origin"],
      ["Cross-Origin-Resource-Policy", "same-origin"],
      ["Content-Security-Policy", csp],
    ] as const,
  );
}

/**
 * Put the security headers on a finished answer, once. The answer's own
 * headers are set in place when they can be changed; an answer with
 * immutable headers (a `fetch` result, `Response.redirect`) is copied once
 * with them added.
 *
 * @param response The answer.
 * @param headers From {@linkcode securityHeaders}.
 * @returns The answer carrying them (the same object when possible).
 * @example Add to an answer
 * ```ts
 * import { contentSecurityPolicy, securityHeaders, withSecurityHeaders } from "./security.ts";
 * const list = securityHeaders(contentSecurityPolicy([]));
 * withSecurityHeaders(new Response("ok"), list);
 * ```
 */
export function withSecurityHeaders(
  response: Response,
  headers: readonly (readonly [string, string])[],
): Response {
  try {
    for (const [name, value] of headers) response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Headers(response.headers);
    for (const [name, value] of headers) copy.set(name, value);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: copy,
    });
  }
}
