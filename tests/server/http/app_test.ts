import assert from "node:assert/strict";
import { createApp } from "../../../server/http/app.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { Logger } from "../../../core/log.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import type { CallParams, RestAnswer } from "../../../core/rest/client.ts";
import { allowedHosts } from "../../../server/http/loopback.ts";
import { SESSION_COOKIE } from "../../../server/http/security.ts";
import type { StaticFile } from "../../../server/http/static_files.ts";

const KEY = "APP-TEST-API-KEY-0000000000000000";
const SECRET = "QVBQLVRFU1QtU0VDUkVULTAwMDAwMDAwMDAwMDAwMDA=";
const WS_TOKEN = "WS-TOKEN-SHOULD-NEVER-LEAK-123456";
const SESSION = "session-token-for-tests-AAAAAAAAAAAAAAAA";
const BASE = "http://127.0.0.1:8787";

class FakeRest {
  publicCalls: Array<{ method: string; params: CallParams }> = [];
  privateCalls: Array<{ method: string; params: CallParams }> = [];
  hasCredentials = true;
  failWith: KrakenError | undefined;
  gate: Promise<void> | undefined;
  async callPublic(
    method: string,
    params: CallParams = {},
  ): Promise<RestAnswer<unknown>> {
    this.publicCalls.push({ method, params });
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    return { result: { method, params }, warnings: [] };
  }
  callPrivate(
    method: string,
    params: CallParams = {},
  ): Promise<RestAnswer<unknown>> {
    this.privateCalls.push({ method, params });
    if (this.failWith) return Promise.reject(this.failWith);
    if (method === "BalanceEx") {
      return Promise.resolve({
        result: { ZUSD: { balance: "100.0000", hold_trade: "0.0000" } },
        warnings: [],
      });
    }
    return Promise.resolve({ result: { method, params }, warnings: [] });
  }
}

function setup(
  options: {
    credentials?: boolean;
    accessToken?: string;
    now?: () => number;
    successSample?: number;
  } = {},
) {
  const rest = new FakeRest();
  rest.hasCredentials = options.credentials ?? true;
  const lines: string[] = [];
  const logger = new Logger({
    sink: (l) => lines.push(l),
    ...(options.successSample ? { successSample: options.successSample } : {}),
  });
  logger.redactor.register(KEY);
  logger.redactor.register(SECRET);
  logger.redactor.register(WS_TOKEN);
  const files = new Map<string, StaticFile>([
    ["/index.html", {
      body: new TextEncoder().encode("<!doctype html><title>Krakked</title>"),
      contentType: "text/html; charset=utf-8",
      etag: '"abc"',
    }],
    ["/app.js", {
      body: new TextEncoder().encode("console.log(1)"),
      contentType: "text/javascript; charset=utf-8",
      etag: '"def"',
    }],
  ]);
  const { app, proxy } = createApp({
    mode: "sim",
    config: DEFAULT_CONFIG,
    rest,
    sessionToken: SESSION,
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    allowedHosts: allowedHosts("127.0.0.1", 8787),
    wsPublicUrl: "ws://127.0.0.1:9999/v2",
    staticFiles: files,
    logger,
    version: "0.1.0-test",
    ...(options.now ? { now: options.now } : {}),
  });
  const request = (
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ) =>
    app.request(`${BASE}${path}`, {
      ...init,
      headers: { host: "127.0.0.1:8787", ...(init.headers ?? {}) },
    });
  return { app, proxy, rest, lines, request };
}

const cookie = { cookie: `${SESSION_COOKIE}=${SESSION}` };

Deno.test("the page load sets an HttpOnly SameSite=Strict session cookie and security headers", async () => {
  const { request } = setup();
  const res = await request("/");
  assert.equal(res.status, 200);
  assert.match(await res.text(), /Krakked/);
  const setCookie = res.headers.get("set-cookie") ?? "";
  assert.match(setCookie, new RegExp(`${SESSION_COOKIE}=${SESSION}`));
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("referrer-policy"), "no-referrer");
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /connect-src 'self' ws:\/\/127\.0\.0\.1:9999/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get("etag"), '"abc"');
});

Deno.test("static files answer 304 to a matching If-None-Match and 404 when missing", async () => {
  const { request } = setup();
  const res = await request("/app.js", {
    headers: { "if-none-match": '"def"' },
  });
  assert.equal(res.status, 304);
  assert.equal((await request("/nope.js")).status, 404);
});

Deno.test("GET /api/config describes the mode and never carries a secret", async () => {
  const { request } = setup();
  const res = await request("/api/config");
  const body = await res.json();
  assert.equal(body.mode, "sim");
  assert.equal(body.simulated, true);
  assert.equal(body.wsPublicUrl, "ws://127.0.0.1:9999/v2");
  assert.equal(body.staleToleranceSec, 60);
  assert.equal(body.privateData, true);
  assert.deepEqual(body.timeframes, ["1m", "5m", "15m", "1h", "4h", "1d"]);
  const text = JSON.stringify(body);
  for (const s of [KEY, SECRET, WS_TOKEN]) assert.ok(!text.includes(s));
});

Deno.test("every route refuses a non-loopback Host (DNS rebinding)", async () => {
  const { request } = setup();
  for (
    const path of [
      "/",
      "/api/config",
      "/api/public/Time",
      "/api/private/balance",
    ]
  ) {
    const res = await request(path, {
      headers: { host: "evil.example:8787", ...cookie },
    });
    assert.equal(res.status, 421, path);
    assert.equal((await res.json()).error.code, "bad_host");
  }
  assert.equal(
    (await request("/api/health", { headers: { host: "localhost:8787" } }))
      .status,
    200,
  );
  assert.equal(
    (await request("/api/health", { headers: { host: "127.0.0.1:9999" } }))
      .status,
    421,
  );
});

Deno.test("private routes need the session cookie and a same-origin request", async (t) => {
  const { request, rest } = setup();
  await t.step("no cookie", async () => {
    const res = await request("/api/private/balance");
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, "session_required");
  });
  await t.step("wrong cookie", async () => {
    const res = await request("/api/private/balance", {
      headers: { cookie: `${SESSION_COOKIE}=nope` },
    });
    assert.equal(res.status, 401);
  });
  await t.step("foreign Origin", async () => {
    const res = await request("/api/private/balance", {
      headers: { ...cookie, origin: "http://evil.example" },
    });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "cross_origin");
  });
  await t.step("cross-site fetch metadata", async () => {
    const res = await request("/api/private/balance", {
      headers: { ...cookie, "sec-fetch-site": "cross-site" },
    });
    assert.equal(res.status, 403);
  });
  assert.equal(rest.privateCalls.length, 0, "nothing reached Kraken");
  await t.step("the page's own request", async () => {
    const res = await request("/api/private/balance", {
      headers: {
        ...cookie,
        origin: "http://127.0.0.1:8787",
        "sec-fetch-site": "same-origin",
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).result.ZUSD.balance, "100.0000");
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(rest.privateCalls.map((c) => c.method), ["BalanceEx"]);
  });
  await t.step("each read-only route maps to its Kraken method", async () => {
    for (
      const [route, method] of [
        ["open-orders", "OpenOrders"],
        ["closed-orders", "ClosedOrders"],
        ["trades-history", "TradesHistory"],
        ["ledgers", "Ledgers"],
        ["trade-balance", "TradeBalance"],
      ]
    ) {
      const res = await request(`/api/private/${route}`, { headers: cookie });
      assert.equal(res.status, 200, route);
      assert.equal(rest.privateCalls.at(-1)?.method, method);
    }
  });
  await t.step("bad parameter and unknown route", async () => {
    assert.equal(
      (await request("/api/private/ledgers?ofs=1;DROP", { headers: cookie }))
        .status,
      400,
    );
    assert.equal(
      (await request("/api/private/ledgers?secret=x", { headers: cookie }))
        .status,
      400,
    );
    assert.equal(
      (await request("/api/private/withdraw", { headers: cookie })).status,
      404,
    );
  });
});

Deno.test("private routes say plainly when the server has no credentials", async () => {
  const { request } = setup({ credentials: false });
  const res = await request("/api/private/balance", { headers: cookie });
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, "no_credentials");
});

Deno.test("the public proxy refuses methods off the allowlist and bad parameters", async () => {
  const { request, rest } = setup();
  for (
    const [path, code] of [
      ["/api/public/Withdraw", "unknown_method"],
      ["/api/public/Balance", "unknown_method"],
      ["/api/public/OHLC?interval=60", "missing_param"],
      ["/api/public/OHLC?pair=XBTUSD&interval=7", "bad_param"],
      ["/api/public/Depth?pair=XBTUSD&count=9999", "bad_param"],
      ["/api/public/Ticker?pair=<script>", "bad_param"],
      ["/api/public/Time?foo=1", "bad_param"],
      ["/api/public/Trades?pair=XBTUSD&pair=ETHUSD", "bad_param"],
    ]
  ) {
    const res = await request(path!);
    assert.equal(res.status, 400, path);
    assert.equal((await res.json()).error.code, code, path);
  }
  assert.equal(rest.publicCalls.length, 0);
});

Deno.test("50 concurrent identical public requests produce one upstream call", async () => {
  const { request, rest, proxy } = setup();
  const gate = Promise.withResolvers<void>();
  rest.gate = gate.promise;
  const pending = Array.from(
    { length: 50 },
    () => request("/api/public/Ticker?pair=XBTUSD"),
  );
  await new Promise((r) => setTimeout(r, 0));
  gate.resolve();
  const responses = await Promise.all(pending);
  assert.equal(rest.publicCalls.length, 1);
  const sources = responses.map((r) => r.headers.get("x-krakked-cache"));
  assert.equal(sources.filter((s) => s === "miss").length, 1);
  assert.equal(sources.filter((s) => s === "coalesced").length, 49);
  for (const r of responses) assert.deepEqual((await r.json()).error, []);
  assert.equal(proxy.stats.coalesced, 49);
});

Deno.test("public answers are cached for their TTL with parameters in any order", async () => {
  let now = 1_000_000;
  const { request, rest } = setup({ now: () => now });
  await request("/api/public/OHLC?pair=XBTUSD&interval=60");
  const res = await request("/api/public/OHLC?interval=60&pair=XBTUSD");
  assert.equal(res.headers.get("x-krakked-cache"), "hit");
  assert.equal(rest.publicCalls.length, 1);
  now += 6_000;
  await request("/api/public/OHLC?pair=XBTUSD&interval=60");
  assert.equal(rest.publicCalls.length, 2, "expired after the OHLC TTL");
  await request("/api/public/Assets");
  now += 60_000;
  await request("/api/public/Assets");
  assert.equal(rest.publicCalls.length, 3, "Assets stays cached for minutes");
});

Deno.test("upstream Kraken errors keep their kind and map to HTTP statuses", async (t) => {
  const cases: Array<[string, number, string]> = [
    ["EGeneral:Too many requests", 429, "rate_limit"],
    ["EService:Unavailable", 503, "service"],
    ["EQuery:Unknown asset pair", 400, "invalid_request"],
    ["EAPI:Invalid key", 401, "auth"],
    ["EGeneral:Permission denied", 403, "permission"],
  ];
  for (const [code, status, kind] of cases) {
    await t.step(code, async () => {
      const { request, rest, lines } = setup();
      rest.failWith = KrakenError.fromCodes([code], { method: "Ticker" });
      const res = await request("/api/public/Ticker?pair=XBTUSD");
      assert.equal(res.status, status);
      const body = await res.json();
      assert.equal(body.error.kind, kind);
      assert.equal(body.error.code, code);
      const priv = await request("/api/private/balance", { headers: cookie });
      assert.equal(priv.status, status);
      assert.ok(lines.some((l) => l.includes('"msg":"upstream"')));
    });
  }
  await t.step(
    "a network failure marks REST unreachable in /api/status",
    async () => {
      const { request, rest } = setup();
      rest.failWith = new KrakenError("Kraken Ticker call failed: timeout", {
        codes: ["Krakked:Timeout"],
        kind: "network",
      });
      assert.equal((await request("/api/public/Ticker")).status, 504);
      const status = await (await request("/api/status")).json();
      assert.equal(status.rest.reachable, false);
      assert.equal(status.rest.lastError, "Krakked:Timeout");
    },
  );
});

Deno.test("health, status and metrics report the server state", async () => {
  const { request } = setup();
  await request("/api/public/Time");
  const health = await (await request("/api/health")).json();
  assert.deepEqual({
    ok: health.ok,
    mode: health.mode,
    version: health.version,
  }, { ok: true, mode: "sim", version: "0.1.0-test" });
  const status = await (await request("/api/status")).json();
  assert.equal(status.rest.reachable, true);
  assert.equal(status.proxy.upstreamCalls, 1);
  assert.equal(status.privateStream, "none");
  const metrics = await (await request("/metrics")).text();
  assert.match(metrics, /krakked_proxy_upstream_calls_total 1/);
  assert.match(metrics, /krakked_http_requests_total\{status="200"\} \d+/);
  assert.equal((await request("/api/nope")).status, 404);
});

Deno.test("a non-loopback bind requires the access token on every request", async () => {
  const token = "access-token-abcdefghijklmnop";
  const { request } = setup({ accessToken: token });
  assert.equal(
    (await request("/api/health", { headers: { host: "box.lan:8787" } }))
      .status,
    401,
  );
  assert.equal(
    (await request("/api/health", {
      headers: { host: "box.lan:8787", authorization: `Bearer ${token}` },
    })).status,
    200,
  );
  const viaUrl = await request(`/?token=${token}`, {
    headers: { host: "box.lan:8787" },
  });
  assert.equal(
    viaUrl.status,
    303,
    "the token is moved from the URL into a cookie",
  );
  assert.equal(viaUrl.headers.get("location"), "/");
  assert.match(
    viaUrl.headers.get("set-cookie") ?? "",
    /krakked_access=.*HttpOnly/,
  );
  assert.equal(
    (await request("/api/health", {
      headers: { host: "box.lan:8787", cookie: `krakked_access=${token}` },
    })).status,
    200,
  );
});

Deno.test("request logs hold method, path, status and duration but no query values or secrets", async () => {
  const { request, lines } = setup();
  await request(`/api/public/Ticker?pair=XBTUSD&x=${SECRET}`);
  await request("/api/private/balance", { headers: cookie });
  const requestLines = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "request"
  );
  assert.ok(requestLines.length >= 2);
  for (const l of requestLines) {
    assert.deepEqual(Object.keys(l).sort(), [
      "durationMs",
      "level",
      "method",
      "msg",
      "path",
      "rid",
      "status",
      "ts",
    ]);
    assert.ok(!l.path.includes("?"));
  }
  for (const line of lines) {
    for (const s of [KEY, SECRET, WS_TOKEN, SESSION]) {
      assert.ok(!line.includes(s), line);
    }
  }
});

Deno.test("the public proxy serves the page's own origin and non-browser clients only", async () => {
  const { request, rest } = setup();
  const crossSite = [
    { origin: "https://evil.example" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site", origin: "http://127.0.0.1:8787" },
  ];
  for (const headers of crossSite) {
    const res = await request("/api/public/Time", { headers });
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.equal((await res.json()).error.code, "cross_origin");
  }
  assert.equal(rest.publicCalls.length, 0, "no budget spent on them");
  for (
    const headers of [
      {},
      { origin: "http://127.0.0.1:8787", "sec-fetch-site": "same-origin" },
      { "sec-fetch-site": "none" },
    ]
  ) {
    const res = await request("/api/public/Time", { headers });
    assert.equal(res.status, 200, JSON.stringify(headers));
    await res.body?.cancel();
  }
});

Deno.test("a repeated warm public request is answered like the full route and keeps its checks", async () => {
  let now = 1_000_000;
  const { request, rest, proxy, lines } = setup({ now: () => now });
  const path = "/api/public/OHLC?pair=XBTUSD&interval=60";
  const miss = await request(path);
  assert.equal(miss.headers.get("x-krakked-cache"), "miss");
  const missBody = await miss.text();
  // Same call, other text: the full route's cache hit.
  const routed = await request("/api/public/OHLC?interval=60&pair=XBTUSD");
  assert.equal(routed.headers.get("x-krakked-cache"), "hit");
  const routedBody = await routed.text();
  // The same text again: the remembered answer.
  const hitsBefore = proxy.stats.cacheHits;
  const fast = await request(path, {
    headers: { "x-request-id": "bench-1" },
  });
  assert.equal(fast.status, 200);
  assert.equal(proxy.stats.cacheHits, hitsBefore + 1);
  const fastBody = await fast.text();
  assert.equal(fastBody, routedBody);
  assert.equal(fastBody, missBody);
  assert.equal(fast.headers.get("x-request-id"), "bench-1");
  const named = (res: Response) =>
    [...res.headers].filter(([k]) => k !== "x-request-id" && k !== "date");
  assert.deepEqual(named(fast), named(routed), "the same headers");
  assert.equal(rest.publicCalls.length, 1);
  const logged = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "request" && l.rid === "bench-1"
  );
  assert.deepEqual(
    logged.map((l) => [l.method, l.path, l.status]),
    [["GET", "/api/public/OHLC", 200]],
  );

  // The host and origin checks still refuse a remembered text.
  const refused: Array<[Record<string, string>, number, string]> = [
    [{ host: "evil.example:8787" }, 421, "bad_host"],
    [{ origin: "https://evil.example" }, 403, "cross_origin"],
    [{ "sec-fetch-site": "cross-site" }, 403, "cross_origin"],
  ];
  for (const [headers, status, code] of refused) {
    const res = await request(path, { headers });
    assert.equal(res.status, status, JSON.stringify(headers));
    assert.equal((await res.json()).error.code, code);
  }
  // HEAD takes the full route and answers no body.
  const head = await request(path, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");

  // Past the TTL the remembered answer is not served: a new upstream call.
  now += 6_000;
  const stale = await request(path);
  assert.equal(stale.headers.get("x-krakked-cache"), "miss");
  await stale.body?.cancel();
  assert.equal(rest.publicCalls.length, 2);
});

Deno.test("an access-token server never takes the remembered public answer without the token", async () => {
  const token = "access-token-for-tests-BBBBBBBBBBBBBBBB";
  const { request } = setup({ accessToken: token });
  const auth = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 2; i++) {
    const res = await request("/api/public/Time", { headers: auth });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  const res = await request("/api/public/Time");
  assert.equal(res.status, 401);
  await res.body?.cancel();
});

Deno.test("sampled request logs keep every error and every request on the account", async () => {
  const { request, lines } = setup({ successSample: 4 });
  for (let i = 0; i < 12; i++) {
    const res = await request("/api/public/Ticker?pair=XBTUSD");
    await res.body?.cancel();
  }
  for (let i = 0; i < 3; i++) {
    const res = await request("/api/private/balance", { headers: cookie });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  }
  for (let i = 0; i < 5; i++) {
    const res = await request("/api/public/Nope");
    await res.body?.cancel();
  }
  const logged = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "request"
  );
  const count = (path: string) => logged.filter((l) => l.path === path).length;
  assert.equal(count("/api/public/Ticker"), 3, "1 in 4 of 12 successes");
  assert.equal(count("/api/private/balance"), 3, "every private request");
  assert.equal(count("/api/public/Nope"), 5, "every error");
});

Deno.test("a success its caller named with X-Request-Id is always logged, under that id", async () => {
  const { request, lines } = setup({ successSample: 100 });
  // Warm the cache so later requests take the remembered-bytes path too.
  for (let i = 0; i < 2; i++) {
    const res = await request("/api/public/Ticker?pair=XBTUSD");
    await res.body?.cancel();
  }
  const ids = ["status-0a1b2c3d4e5f", "script:run.7", "ticker-ffffffffffff"];
  for (const id of ids) {
    const res = await request("/api/public/Ticker?pair=XBTUSD", {
      headers: { "x-request-id": id },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-request-id"), id, "the id is echoed");
    await res.body?.cancel();
  }
  // An insane id is replaced, and so not "named": it stays sampled.
  const res = await request("/api/public/Ticker?pair=XBTUSD", {
    headers: { "x-request-id": "bad id with spaces" },
  });
  await res.body?.cancel();
  const logged = lines.map((l) => JSON.parse(l)).filter((l) =>
    l.msg === "request"
  );
  for (const id of ids) {
    assert.equal(
      logged.filter((l) => l.rid === id).length,
      1,
      `the request named ${id} is in the log`,
    );
  }
  assert.equal(logged.length, 1 + ids.length, "the unnamed ones are sampled");
});
