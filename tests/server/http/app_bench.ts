/**
 * The server's own cost per request, without sockets or a load generator:
 * `app.fetch` of a warm cached public route (the proxy's cache answers)
 * against floors in the same run: a bare `Response` with the same bytes and
 * headers, and a one-route Hono app answering them. The socket-level bench
 * is `proxy_load_bench.ts`.
 *
 * `deno bench --allow-read --allow-env tests/server/http/app_bench.ts`
 */
import { Hono } from "hono";
import { createApp } from "../../../server/http/app.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { LineBuffer, Logger } from "../../../core/log.ts";
import type { RestAnswer } from "../../../core/rest/client.ts";
import { allowedHosts } from "../../../server/http/loopback.ts";

const TICKER = {
  XXBTZUSD: {
    a: ["61227.10000", "0", "0.007"],
    b: ["61225.20000", "0", "0.081"],
    c: ["61225.20000", "0.00731231"],
    v: ["16.03298784", "62.70112740"],
    p: ["60621.60366", "60814.69191"],
    t: [706, 2854],
    l: ["60202.50000", "60202.50000"],
    h: ["61286.70000", "61486.80000"],
    o: "60477.30000",
  },
};
const URL_TICKER = "http://127.0.0.1:8787/api/public/Ticker?pair=XBTUSD";

function app(sink: (line: string) => void, successSample = 1) {
  const logger = new Logger({ sink, successSample });
  logger.redactor.register("APP-BENCH-API-KEY-0000000000000000");
  logger.redactor.register("QVBQLUJFTkNILVNFQ1JFVC0wMDAwMDAwMDAwMDAwMDA=");
  return createApp({
    mode: "sim",
    config: DEFAULT_CONFIG,
    rest: {
      hasCredentials: false,
      callPublic: (): Promise<RestAnswer<unknown>> =>
        Promise.resolve({ result: TICKER, warnings: [] }),
      callPrivate: () => Promise.reject(new Error("not in this bench")),
    },
    sessionToken: "bench-session-token-AAAAAAAAAAAAAAAAAAAA",
    allowedHosts: allowedHosts("127.0.0.1", 8787),
    wsPublicUrl: "ws://127.0.0.1:9999/v2",
    staticFiles: new Map(),
    logger,
    version: "bench",
  }).app;
}

const quiet = app(() => {});
const buffer = new LineBuffer({ write: () => {} });
const buffered = app(buffer.push);
const sampled = app(() => {}, 100);

// The floor answers what Krakked answers.
const first = await quiet.fetch(new Request(URL_TICKER));
const body = await first.text();
const headers = [...first.headers.entries()];
const bytes = new TextEncoder().encode(body);
const hono = new Hono();
hono.get("/api/public/:method", () => new Response(bytes, { headers }));

async function drive(fetcher: (r: Request) => Response | Promise<Response>) {
  const res = await fetcher(new Request(URL_TICKER));
  await res.arrayBuffer();
}

Deno.bench("floor: new Response(same bytes, same headers)", {
  group: "warm public route",
  baseline: true,
}, async () => {
  await drive(() => new Response(bytes, { headers }));
});

Deno.bench("one-route Hono app, same bytes", {
  group: "warm public route",
}, async () => {
  await drive(hono.fetch);
});

Deno.bench("Krakked app, request log to a no-op sink", {
  group: "warm public route",
}, async () => {
  await drive(quiet.fetch);
});

Deno.bench("Krakked app, request log through a LineBuffer", {
  group: "warm public route",
}, async () => {
  await drive(buffered.fetch);
});

Deno.bench("Krakked app, 1 in 100 success lines", {
  group: "warm public route",
}, async () => {
  await drive(sampled.fetch);
});

const logger = new Logger({ sink: () => {} });
logger.redactor.register("APP-BENCH-API-KEY-0000000000000000");
Deno.bench("log: request line", { group: "log line" }, () => {
  logger.request("GET", "/api/public/Ticker", 200, 0.123);
});
Deno.bench("log: info('request', fields)", {
  group: "log line",
  baseline: true,
}, () => {
  logger.info("request", {
    method: "GET",
    path: "/api/public/Ticker",
    status: 200,
    durationMs: 0.1,
  });
});
