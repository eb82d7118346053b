/**
 * Proxied public requests through the real server (`startServe` with `--sim`)
 * on loopback: a warm cache (the same Ticker URL again and again) and a cold
 * one (a distinct OHLC `since` on every request, so every request goes
 * upstream through the shared public rate limiter).
 *
 * Two ways to run it:
 *
 * - `deno bench --allow-net=127.0.0.1,localhost --allow-read --allow-write --allow-env tests/server/proxy_load_bench.ts`
 *   (part of `deno task bench`): per-request latency, sequential and 64 at once.
 * - `deno run --allow-net=127.0.0.1,localhost --allow-read --allow-env tests/server/proxy_load_bench.ts`:
 *   a load report with requests per second and p50/p99 latency.
 *
 * Cold requests are bounded by design: every upstream call waits for the
 * public counter (Kraken's per-IP budget, a burst of 5 then 1 per second),
 * so cold throughput is about 1 request per second however fast the server is.
 */

import { type RunningServer, startServe } from "../../server/serve.ts";

const TICKER_PATH = "/api/public/Ticker?pair=XBTUSD";

async function start(): Promise<RunningServer> {
  const staticDir = await Deno.makeTempDir({ prefix: "krakked_bench_static_" });
  const server = await startServe({
    host: "127.0.0.1",
    port: 0,
    token: undefined,
    sim: true,
    seed: 1,
    live: false,
  }, {
    staticDir,
    configText: "",
    logSink: () => {},
    say: () => {},
    env: () => undefined,
  });
  let closed = false;
  return {
    ...server,
    async close() {
      // Idempotent: deno bench may call the shutdown bench more than once.
      if (closed) return;
      closed = true;
      await server.close();
      await Deno.remove(staticDir, { recursive: true });
    },
  };
}

let coldSince = 1_700_000_000;

/** A cold URL: a `since` no request used before. */
function coldPath(): string {
  coldSince += 60;
  return `/api/public/OHLC?pair=XBTUSD&interval=60&since=${coldSince}`;
}

async function get(url: string): Promise<string> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  if (response.status !== 200) {
    throw new Error(
      `GET ${url} answered ${response.status}: ${
        new TextDecoder().decode(body)
      }`,
    );
  }
  return response.headers.get("x-krakked-cache") ?? "none";
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  sources: Record<string, number>;
}

/** `total` requests from `concurrency` workers; latency per request. */
async function load(
  baseUrl: string,
  path: () => string,
  total: number,
  concurrency: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const sources: Record<string, number> = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const started = performance.now();
        const source = await get(baseUrl + path());
        latencies.push(performance.now() - started);
        sources[source] = (sources[source] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    seconds,
    perSecond: total / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    sources,
  };
}

const encoder = new TextEncoder();

/** The report goes to stdout (console is linted out of tests). */
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

function show(name: string, r: LoadResult): void {
  say(
    `${name.padEnd(44)} ${String(r.requests).padStart(6)} req  ${
      r.perSecond.toFixed(0).padStart(6)
    } req/s  p50 ${r.p50Ms.toFixed(2).padStart(8)} ms  p99 ${
      r.p99Ms.toFixed(2).padStart(8)
    } ms  ${JSON.stringify(r.sources)}`,
  );
}

async function report(): Promise<void> {
  const server = await start();
  try {
    say(
      `Krakked proxy load, server ${server.url} (--sim), Deno ${Deno.version.deno}`,
    );
    await get(server.url + TICKER_PATH);
    show(
      "warm Ticker, 1 client",
      await load(server.url, () => TICKER_PATH, 5_000, 1),
    );
    show(
      "warm Ticker, 16 clients",
      await load(server.url, () => TICKER_PATH, 20_000, 16),
    );
    show(
      "warm Ticker, 64 clients",
      await load(server.url, () => TICKER_PATH, 20_000, 64),
    );
    // Let the public counter drain so the cold runs start with a full burst.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    show(
      "cold OHLC since, burst (5 within budget)",
      await load(server.url, coldPath, 5, 1),
    );
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    show(
      "cold OHLC since, 1 client, sustained",
      await load(server.url, coldPath, 15, 1),
    );
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    show(
      "cold OHLC since, 15 at once",
      await load(server.url, coldPath, 15, 15),
    );
  } finally {
    await server.close();
  }
}

if (import.meta.main) {
  await report();
} else {
  const server = await start();
  const base = server.url;
  await get(base + TICKER_PATH);

  Deno.bench({
    name: "proxy: warm Ticker (cache hit), one request",
    async fn() {
      await get(base + TICKER_PATH);
    },
  });

  Deno.bench({
    name: "proxy: warm Ticker (cache hit), 64 concurrent requests",
    async fn(b) {
      b.start();
      await Promise.all(
        Array.from({ length: 64 }, () => get(base + TICKER_PATH)),
      );
      b.end();
    },
  });

  // Few iterations: beyond the burst of 5, every cold request waits about a
  // second for the public counter.
  Deno.bench({
    name: "proxy: cold OHLC (distinct since, upstream), one request",
    n: 4,
    warmup: 0,
    async fn() {
      await get(base + coldPath());
    },
  });

  // Close the server once the last benchmark has run.
  Deno.bench({
    name: "proxy: (shutdown)",
    n: 1,
    warmup: 0,
    async fn() {
      await server.close();
    },
  });
}
