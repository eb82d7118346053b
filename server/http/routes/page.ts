/**
 * The page: the built files from memory with strong ETags. Loading
 * `index.html` sets the per-run session cookie the API areas need.
 *
 * @module
 */

import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import type { AppDeps } from "../deps.ts";
import { HttpError } from "../errors.ts";
import { SESSION_COOKIE } from "../security.ts";

/**
 * The page route (every GET the API did not take).
 *
 * @param deps The app's dependencies (files, session token).
 * @returns A Hono app with the route.
 * @example Mount last
 * ```ts ignore
 * app.route("/", pageRoutes(deps));
 * ```
 */
export function pageRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.get("*", (c) => {
    let path = new URL(c.req.url).pathname;
    if (path === "/") path = "/index.html";
    const file = deps.staticFiles.get(path);
    if (!file) {
      if (path === "/index.html") {
        return c.text("The page is not built: run 'deno task build'", 503);
      }
      throw new HttpError(404, "not_found", "No such file");
    }
    if (path === "/index.html") {
      setCookie(c, SESSION_COOKIE, deps.sessionToken, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/",
      });
    }
    const headers = {
      "Content-Type": file.contentType,
      ETag: file.etag,
      "Cache-Control": path === "/index.html"
        ? "no-cache"
        : "public, max-age=0, must-revalidate",
    };
    if (c.req.header("if-none-match") === file.etag) {
      return c.body(null, 304, headers);
    }
    return c.body(file.body, 200, headers);
  });
  return app;
}
