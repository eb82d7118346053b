/**
 * The HTTP edge of the redaction boundary and of abort propagation, with
 * the app in the process: account events are scrubbed before they leave,
 * and a private request whose client went away is never signed nor sent.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../server/http/app.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";
import { RestClient } from "../../../core/rest/client.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import type { AppDeps } from "../../../server/http/deps.ts";
import { allowedHosts } from "../../../server/http/loopback.ts";
import { SESSION_COOKIE } from "../../../server/http/security.ts";
import type { AccountEvents } from "../../../server/trading/account_relay.ts";
import { FakeFetch, krakenResult } from "../../fakes/fetch.ts";

const KEY = 'BOUNDARY-KEY-"q"/+-0000000000000000000000';
const SECRET = "Qk9VTkRBUlktU0VDUkVULTAwMDAwMDAwMDAwMDAw";
const WS_TOKEN = "WS/TOKEN+that-the-page-must-never-see";
const SESSION = "session-token-for-tests-BBBBBBBBBBBBBBBB";
const BASE = "http://127.0.0.1:8787";
const HEADERS = {
  host: "127.0.0.1:8787",
  cookie: `${SESSION_COOKIE}=${SESSION}`,
};

function deps(
  rest: AppDeps["rest"],
  accountEvents?: AccountEvents,
): AppDeps {
  const logger = new Logger({ sink: () => {} });
  for (const s of [KEY, SECRET, WS_TOKEN]) logger.redactor.register(s);
  return {
    mode: "live",
    config: DEFAULT_CONFIG,
    rest,
    sessionToken: SESSION,
    allowedHosts: allowedHosts("127.0.0.1", 8787),
    wsPublicUrl: "ws://127.0.0.1:9999/v2",
    staticFiles: new Map(),
    logger,
    version: "0.1.0-test",
    ...(accountEvents ? { accountEvents } : {}),
  };
}

Deno.test("account events leave as SSE without the key, secret or WS token in any spelling", async () => {
  const echoes = [KEY, SECRET, WS_TOKEN];
  const events: AccountEvents = {
    subscribe(listener, onEnd) {
      for (const value of echoes) {
        listener({
          channel: "executions",
          data: {
            [value]: value,
            note: `token=${JSON.stringify(value)} url=${
              encodeURIComponent(value)
            }`,
            list: [value, { nested: value }],
          },
        });
      }
      queueMicrotask(() => onEnd?.());
      return () => {};
    },
    state: () => "open",
  };
  const rest = { hasCredentials: true } as unknown as AppDeps["rest"];
  const { app } = createApp(deps(rest, events));
  const res = await app.request(`${BASE}/api/private/events`, {
    headers: HEADERS,
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.equal(text.match(/^event: executions$/gm)?.length, 3);
  assert.ok(text.includes("[redacted]"));
  for (const value of echoes) {
    for (
      const form of [
        value,
        JSON.stringify(value).slice(1, -1),
        encodeURIComponent(value),
      ]
    ) {
      assert.ok(!text.includes(form), `leaked ${form} in ${text}`);
    }
  }
});

Deno.test("20 private requests whose clients went away are never sent, and the next is not held up", async () => {
  let release!: () => void;
  const first = new Promise<void>((resolve) => (release = resolve));
  const fake = new FakeFetch(async (_request, recorded) => {
    if (fake.calls.indexOf(recorded) === 0) await first;
    return krakenResult({ ZUSD: "1.0000" });
  });
  using limiter = new RateLimiter({ tier: "pro" });
  using rest = new RestClient({
    baseUrl: "https://api.kraken.test",
    fetch: fake.fetch,
    credentials: { key: KEY, secret: new Secret(SECRET) },
    limiter,
  });
  const { app } = createApp(deps(rest));
  const get = (signal?: AbortSignal) =>
    app.request(
      new Request(`${BASE}/api/private/balance`, {
        headers: HEADERS,
        ...(signal ? { signal } : {}),
      }),
    );
  // One request on the wire holds the nonce lane.
  const holding = get();
  while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 1));
  const abandoned = Array.from({ length: 20 }, () => {
    const controller = new AbortController();
    return { controller, answer: get(controller.signal) };
  });
  // Let each reach the lane, then the clients go away.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  for (const a of abandoned) a.controller.abort();
  release();
  assert.equal((await holding).status, 200);
  for (const a of abandoned) {
    const res = await a.answer;
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, "Krakked:Aborted");
  }
  const next = await get();
  assert.equal(next.status, 200);
  assert.deepEqual(await next.json(), { result: { ZUSD: "1.0000" } });
  // Only the first and the next reached the upstream; the abandoned ones
  // gave their rate-limit budget back.
  assert.equal(fake.calls.length, 2);
  assert.ok(limiter.snapshot("rest").level <= 2);
});

Deno.test("over the wire: a client that disconnects cancels its queued private call", async () => {
  let release!: () => void;
  const first = new Promise<void>((resolve) => (release = resolve));
  const fake = new FakeFetch(async (_request, recorded) => {
    if (fake.calls.indexOf(recorded) === 0) await first;
    return krakenResult({ ZUSD: "1.0000" });
  });
  using limiter = new RateLimiter({ tier: "pro" });
  using rest = new RestClient({
    baseUrl: "https://api.kraken.test",
    fetch: fake.fetch,
    credentials: { key: KEY, secret: new Secret(SECRET) },
    limiter,
  });
  let hosts: string[] = [];
  const { app } = createApp({
    ...deps(rest),
    get allowedHosts() {
      return hosts;
    },
  });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request, info) => app.fetch(request, info),
  );
  hosts = allowedHosts("127.0.0.1", server.addr.port);
  const url = `http://127.0.0.1:${server.addr.port}/api/private/balance`;
  const headers = {
    cookie: HEADERS.cookie,
    host: `127.0.0.1:${server.addr.port}`,
  };
  const holding = fetch(url, { headers });
  while (fake.calls.length === 0) await new Promise((r) => setTimeout(r, 1));
  const gone = Array.from({ length: 20 }, () => {
    const controller = new AbortController();
    const answer = fetch(url, { headers, signal: controller.signal }).then(
      (r) => r.body?.cancel(),
      () => undefined,
    );
    return { controller, answer };
  });
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  for (const g of gone) g.controller.abort();
  await Promise.all(gone.map((g) => g.answer));
  // The server sees the disconnects before the first call finishes.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
  release();
  const held = await holding;
  assert.equal(held.status, 200);
  await held.body?.cancel();
  const next = await fetch(url, { headers });
  assert.equal(next.status, 200);
  await next.body?.cancel();
  assert.equal(fake.calls.length, 2);
});

Deno.test("order bodies are limited in bytes while they stream, before any order is judged", async () => {
  const placed: unknown[] = [];
  const orders = {
    place: (ticket: unknown) => {
      placed.push(ticket);
      return Promise.resolve({ decision: "accepted" });
    },
  } as unknown as NonNullable<AppDeps["orders"]>;
  const rest = { hasCredentials: true } as unknown as AppDeps["rest"];
  const { app } = createApp({ ...deps(rest), orders });
  const post = (body: BodyInit) =>
    app.request(`${BASE}/api/orders`, {
      method: "POST",
      headers: {
        ...HEADERS,
        origin: BASE,
        "content-type": "application/json",
      },
      body,
    });
  // 1,500 UTF-16 units, 4,500 bytes: over the 4 KiB limit.
  const wide = JSON.stringify({
    pair: "XBTUSD",
    side: "buy",
    volume: "1",
    note: "€".repeat(1500),
  });
  const res = await post(wide);
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, "too_large");
  // A body that never ends is refused, not read to its end.
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1024;
      controller.enqueue(new Uint8Array(1024).fill(0x20));
    },
  });
  const stream = await post(endless);
  assert.equal(stream.status, 413);
  assert.ok(pulled <= 8 * 1024, `pulled ${pulled} bytes`);
  assert.deepEqual(placed, []);
});
