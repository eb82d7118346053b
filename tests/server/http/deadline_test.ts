import assert from "node:assert/strict";
import { withRequestDeadline } from "../../../server/http/deadline.ts";

Deno.test("a request that waits on Kraken past its deadline gets 504, and its signal aborts", async () => {
  let seen: AbortSignal | undefined;
  let released = false;
  const handler = withRequestDeadline((request: Request, _info: unknown) => {
    seen = request.signal;
    // Waits until its signal aborts: a call queued behind others.
    return new Promise<Response>((resolve) => {
      request.signal.addEventListener("abort", () => {
        released = true;
        resolve(new Response("too late"));
      });
    });
  }, 20);
  const res = await handler(
    new Request("http://127.0.0.1:8787/api/private/balance"),
    {},
  );
  assert.equal(res.status, 504);
  assert.equal((await res.json()).error.code, "deadline");
  assert.ok(seen?.aborted);
  assert.ok(released);
});

Deno.test("the page, the public proxy and the event stream pass through untouched", async () => {
  const seen: Request[] = [];
  const handler = withRequestDeadline((request: Request, _info: unknown) => {
    seen.push(request);
    return new Response("ok");
  }, 20);
  for (
    const path of [
      "/",
      "/app.js",
      "/api/public/Ticker?pair=XBTUSD",
      "/api/private/events",
      "/api/health",
    ]
  ) {
    const request = new Request(`http://127.0.0.1:8787${path}`);
    const res = await handler(request, {});
    assert.equal(res.status, 200);
    assert.equal(seen.at(-1), request, path);
  }
  for (
    const path of [
      "/api/private/balance",
      "/api/orders",
      "/api/orders/cancel-all",
      "/api/paper",
    ]
  ) {
    const request = new Request(`http://127.0.0.1:8787${path}?x=1`);
    const res = await handler(request, {});
    assert.equal(await res.text(), "ok");
    assert.notEqual(seen.at(-1), request, `${path} gets a bounded signal`);
  }
});

Deno.test("a bounded request keeps its body, headers and the client's own abort", async () => {
  const controller = new AbortController();
  let body = "";
  let aborted = false;
  const handler = withRequestDeadline(
    async (request: Request, _info: unknown) => {
      body = await request.text();
      assert.equal(request.headers.get("content-type"), "application/json");
      request.signal.addEventListener("abort", () => (aborted = true));
      controller.abort();
      return new Response("ok");
    },
    60_000,
  );
  const res = await handler(
    new Request("http://127.0.0.1:8787/api/orders", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"pair":"XBTUSD"}',
      signal: controller.signal,
    }),
    {},
  );
  assert.equal(await res.text(), "ok");
  assert.equal(body, '{"pair":"XBTUSD"}');
  assert.ok(aborted);
});

Deno.test("requestDeadlineMs: the call deadline (or a longer timeout) plus the answering margin", async () => {
  const { requestDeadlineMs, REQUEST_DEADLINE_MARGIN_MS } = await import(
    "../../../server/http/deadline.ts"
  );
  const { parseConfig } = await import("../../../core/config/config.ts");
  const defaults = parseConfig("").config;
  assert.equal(defaults.connection.call_deadline_ms, 30_000);
  assert.equal(requestDeadlineMs(defaults), 45_000);
  const tuned = parseConfig("connection:\n  call_deadline_ms: 50000\n").config;
  assert.equal(requestDeadlineMs(tuned), 50_000 + REQUEST_DEADLINE_MARGIN_MS);
  assert.equal(
    requestDeadlineMs({
      connection: { call_deadline_ms: 1_000, timeout_ms: 60_000 },
    }),
    60_000 + REQUEST_DEADLINE_MARGIN_MS,
  );
  // Out of range: a ConfigError naming the key and the line.
  assert.throws(
    () => parseConfig("connection:\n  call_deadline_ms: 10\n"),
    (e: unknown) =>
      e instanceof Error && e.name === "ConfigError" &&
      /connection\.call_deadline_ms \(line 2\): must be at least 1000/.test(
        e.message,
      ),
  );
});
