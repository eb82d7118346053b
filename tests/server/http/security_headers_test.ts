import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApp } from "../../../server/http/app.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import { allowedHosts } from "../../../server/http/loopback.ts";
import {
  contentSecurityPolicy,
  securityHeaders,
  withSecurityHeaders,
} from "../../../server/http/security.ts";

const LIST = securityHeaders(contentSecurityPolicy(["ws://127.0.0.1:9/v2"]));

function assertAllOnce(res: Response, where: string): void {
  for (const [name, value] of LIST) {
    assert.equal(res.headers.get(name), value, `${where}: ${name}`);
  }
  const names = [...res.headers.keys()];
  assert.equal(names.length, new Set(names).size, `${where}: duplicates`);
}

Deno.test("withSecurityHeaders sets each header once, in place or on one copy", async () => {
  const plain = new Response("ok", {
    headers: { "x-frame-options": "SAMEORIGIN", "content-type": "text/plain" },
  });
  const same = withSecurityHeaders(plain, LIST);
  assert.equal(same, plain, "a mutable answer is changed in place");
  assertAllOnce(same, "mutable");
  assert.equal(same.headers.get("content-type"), "text/plain");

  const immutable = Response.redirect("http://127.0.0.1:8787/", 303);
  const copy = withSecurityHeaders(immutable, LIST);
  assert.notEqual(copy, immutable);
  assert.equal(copy.status, 303);
  assert.equal(copy.headers.get("location"), "http://127.0.0.1:8787/");
  assertAllOnce(copy, "immutable");

  const body = withSecurityHeaders(new Response("body text"), LIST);
  assert.equal(await body.text(), "body text");
});

Deno.test("every answer of the app carries the security headers exactly once", async () => {
  const rest = {
    hasCredentials: false,
    fail: false,
    callPublic(method: string) {
      if (this.fail) {
        return Promise.reject(
          new KrakenError("unavailable", { codes: ["EService:Unavailable"] }),
        );
      }
      return Promise.resolve({ result: { method }, warnings: [] });
    },
    callPrivate: () => Promise.reject(new Error("no credentials")),
  };
  const { app } = createApp({
    mode: "sim",
    config: DEFAULT_CONFIG,
    rest,
    sessionToken: "session-token-for-tests-AAAAAAAAAAAAAAAA",
    allowedHosts: allowedHosts("127.0.0.1", 8787),
    wsPublicUrl: "ws://127.0.0.1:9/v2",
    staticFiles: new Map([["/index.html", {
      body: new TextEncoder().encode("<!doctype html>"),
      contentType: "text/html; charset=utf-8",
      etag: '"e"',
    }]]),
    logger: new Logger({ sink: () => {} }),
    version: "test",
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    app.request(`http://127.0.0.1:8787${path}`, {
      headers: { host: "127.0.0.1:8787", ...headers },
    });
  const cases: [string, Response | Promise<Response>][] = [
    ["page", get("/")],
    ["health", get("/api/health")],
    ["public proxy", get("/api/public/Time")],
    ["unknown API route", get("/api/nope")],
    ["bad proxy parameter", get("/api/public/Ticker?pair=%00")],
    ["bad host", get("/api/health", { host: "evil.example" })],
    ["private without session", get("/api/private/Balance")],
  ];
  const statuses = new Set<number>();
  for (const [where, pending] of cases) {
    const res = await pending;
    await res.body?.cancel();
    statuses.add(res.status);
    assertAllOnce(res, where);
  }
  rest.fail = true;
  const failed = await get("/api/public/Ticker?pair=XBTUSD");
  statuses.add(failed.status);
  assertAllOnce(failed, "upstream failure");
  assert.ok(statuses.size >= 4, `several kinds of answer: ${[...statuses]}`);
});

Deno.test("a handler answering with immutable headers still gets them", async () => {
  // The app's own routes build mutable answers; a redirect is the case
  // where the headers are immutable.
  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    const res = withSecurityHeaders(c.res, LIST);
    if (res !== c.res) c.res = res;
  });
  app.get("/r", () => Response.redirect("http://127.0.0.1:8787/", 302));
  const res = await app.request("http://127.0.0.1:8787/r");
  assert.equal(res.status, 302);
  assertAllOnce(res, "redirect");
});
