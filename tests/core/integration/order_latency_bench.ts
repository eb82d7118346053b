/**
 * Order placement core → simulator over loopback, through `OrderClient`
 * (gate, encoding, signing or token, limiter, transport, lifecycle).
 *
 * - Latency: 1,000 orders per wire placed one at a time over REST and over WS v2; p50 and
 *   p99 of the whole `place()` call, of the wire span (fetch start to body
 *   read; WS frame written to its answer read — loopback plus the
 *   simulator's handling), and of the local overhead (total − wire span).
 * - Sustained: 220 orders on each of 10 pairs per wire, 16 in flight, the
 *   Pro-tier limiter pacing each pair's trading counter (180, −3.75/s):
 *   orders/s overall and after the burst allowance is spent.
 * - Tiers: a 1,000-order burst (100 orders on each of 10 pairs, all
 *   submitted at once, over REST) against a fresh simulator at Starter and
 *   at Pro, the client built with the same `tier` as `connection.api_tier`
 *   would give it and the simulator metering the key by that tier; wall
 *   time of each, the ratio pro/starter, and the time the limiter's model
 *   predicts. Both simulators allow Pro's 225 open orders per pair, so the
 *   Starter run (60 per pair on real Kraken) measures pacing, not refusals
 *   of the 61st open order.
 *
 * Report: `deno run --allow-read --allow-net=127.0.0.1,localhost --allow-env
 * tests/core/integration/order_latency_bench.ts` (append `--tiers-only` for the
 * Starter/Pro burst alone). Bench: `deno bench
 * --allow-read --allow-net=127.0.0.1,localhost --allow-env
 * tests/core/integration/order_latency_bench.ts`.
 *
 * @module
 */

import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import {
  type PairMetadata,
  pairMetadataFromRest,
} from "../../../core/market/pairs.ts";
import { type FetchLike, RestClient } from "../../../core/rest/client.ts";
import {
  MAX_OPEN_ORDERS_PER_PAIR,
  RateLimiter,
  type Tier,
  TRADING_TIERS,
  tradingPenalty,
} from "../../../core/rest/ratelimit.ts";
import type { GateConfig } from "../../../core/trade/gates.ts";
import { OrderClient } from "../../../core/trade/order_client.ts";
import type { OrderRequest } from "../../../core/trade/order.ts";
import { RestOrderTransport } from "../../../core/trade/rest_transport.ts";
import {
  DEFAULT_TRADING_COST_MARGIN,
  type OrderTransport,
} from "../../../core/trade/transport.ts";
import { PrivateWsSession } from "../../../core/trade/ws_session.ts";
import { WsOrderTransport } from "../../../core/trade/ws_transport.ts";
import { startSimulatorWithWs } from "@krakked/sim";

const CONFIG: GateConfig = {
  trading: {
    ...DEFAULT_CONFIG.trading,
    mode: "live",
    enable_live_orders: true,
    max_notional_usd: 1_000_000,
    max_position_notional_usd: 100_000_000,
    stop_loss_max_distance_pct: 50,
  },
  region: { supports_margin: false },
};

/** The wire span of the last REST call and WS answer, ms. */
const spans = { rest: 0, ws: new Map<number, number>() };

/** REST answers that carried a rate-limit error. */
let rateLimitAnswers = 0;

/** A fetch that times each call from start to the fully read body. */
const timedFetch: FetchLike = async (input, init) => {
  const started = performance.now();
  const response = await fetch(input, init);
  const body = await response.text();
  spans.rest = performance.now() - started;
  if (body.includes("Rate limit exceeded")) rateLimitAnswers++;
  return new Response(body, {
    status: response.status,
    headers: response.headers,
  });
};

const REQ_ID = /"req_id":(\d+)/;

/** A WebSocket that times each request frame to its first answer. */
class TimedWebSocket extends WebSocket {
  #sentAt = new Map<number, number>();
  constructor(url: string) {
    super(url);
    // Registered before the client's onmessage, so it runs first.
    this.addEventListener("message", (event) => {
      const at = performance.now();
      const match = typeof event.data === "string"
        ? REQ_ID.exec(event.data)
        : null;
      if (match === null) return;
      const id = Number(match[1]);
      const sent = this.#sentAt.get(id);
      if (sent === undefined) return;
      this.#sentAt.delete(id);
      spans.ws.set(id, at - sent);
    });
  }
  override send(data: string): void {
    const match = REQ_ID.exec(data);
    const at = performance.now();
    super.send(data);
    if (match !== null) this.#sentAt.set(Number(match[1]), at);
  }
}

async function setup(tier: Tier = "pro") {
  // No background feed timer: the simulator shares this process, and its
  // public-data ticks would land in the client's measured time.
  const sim = await startSimulatorWithWs({
    port: 0,
    seed: 8,
    tier,
    engine: { maxOpenOrdersPerPair: MAX_OPEN_ORDERS_PER_PAIR.pro },
    ws: { tickMs: 0 },
  });
  const publicLimiter = new RateLimiter({
    publicLimits: { max: 1_000_000, decayPerSec: 1_000_000 },
  });
  // Built the way serve and the CLI build theirs from connection.api_tier.
  const rest = new RestClient({
    baseUrl: sim.url,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    fetch: timedFetch,
    tier,
    publicLimiter,
  });
  const limiter = rest.limiter;
  const pairs = new Map<string, PairMetadata>();
  for (const [key, info] of Object.entries(await rest.assetPairs())) {
    const meta = pairMetadataFromRest(key, info);
    pairs.set(meta.id, meta);
  }
  const usd = [...pairs.values()].filter((p) =>
    p.quote === "USD" && p.status === "online" && !p.id.startsWith("USD") &&
    !["USDTUSD", "USDCUSD", "DAIUSD"].includes(p.id)
  );
  const tickers = await rest.ticker(usd.map((p) => p.altname));
  const plans = usd.flatMap((pair) => {
    const info = tickers[pair.restKey];
    if (info === undefined) return [];
    const bid = Number(info.b[0]);
    const tick = Number(pair.tickSize);
    const at = (f: number) =>
      (Math.round((bid * f) / tick) * tick).toFixed(pair.priceDecimals);
    return [{ pair, price: at(0.6), stop: at(0.55) }];
  });
  const session = new PrivateWsSession(sim.wsAuthUrl, {
    getToken: async () => (await rest.getWebSocketsToken()).token,
    WebSocket: TimedWebSocket,
  });
  session.connect();
  // The gate judges each stop against the book: the ticker's best bid and
  // ask stand in for it (the orders rest far below the market).
  const books = new Map(usd.flatMap((pair) => {
    const info = tickers[pair.restKey];
    return info === undefined ? [] : [[pair.id, {
      bids: [{ price: info.b[0], qty: info.b[2] }],
      asks: [{ price: info.a[0], qty: info.a[2] }],
    }]] as const;
  }));
  const clientFor = (transport: OrderTransport) =>
    new OrderClient({
      config: CONFIG,
      liveSwitch: true,
      pairs: (s) => pairs.get(s),
      transport,
      rest,
      books: (id) => books.get(id),
    });
  const clients = {
    rest: clientFor(new RestOrderTransport(rest)),
    ws: clientFor(new WsOrderTransport(session, { limiter })),
  };
  let n = 0;
  const request = (i: number, offset = 0): OrderRequest => {
    const plan = plans[(i + offset) % plans.length]!;
    n++;
    return {
      pair: plan.pair.id,
      side: "buy",
      type: "limit",
      volume: plan.pair.ordermin,
      price: plan.price,
      stopLoss: { type: "stop-loss", triggerPrice: plan.stop },
    };
  };
  return {
    sim,
    rest,
    limiter,
    session,
    clients,
    plans,
    request,
    placed: () => n,
    async close() {
      await clients.rest.close();
      await clients.ws.close();
      session.close();
      rest.close();
      publicLimiter.close();
      await sim.close();
    },
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function placeOnce(
  s: Setup,
  wire: "rest" | "ws",
  i: number,
): Promise<{ totalMs: number; wireMs: number }> {
  const started = performance.now();
  // Latency runs on the first 13 pairs; the sustained runs get their own.
  const result = await s.clients[wire].place(s.request(i % 13));
  const totalMs = performance.now() - started;
  if (result.route !== "live" || result.error !== undefined) {
    throw new Error(
      `Order ${i} over ${wire} failed: ${
        result.route === "live" ? result.error?.message : result.route
      }`,
    );
  }
  let wireMs = spans.rest;
  if (wire === "ws") {
    const last = [...spans.ws.values()].at(-1) ?? 0;
    spans.ws.clear();
    wireMs = last;
  }
  return { totalMs, wireMs };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const encoder = new TextEncoder();

/** The report goes to stdout (console is linted out of tests). */
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

async function latency(s: Setup, wire: "rest" | "ws", count: number) {
  const total: number[] = [];
  const wireSpan: number[] = [];
  const local: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = await placeOnce(s, wire, i);
    total.push(r.totalMs);
    wireSpan.push(r.wireMs);
    local.push(r.totalMs - r.wireMs);
  }
  for (const list of [total, wireSpan, local]) list.sort((a, b) => a - b);
  const f = (list: number[]) =>
    `p50 ${percentile(list, 0.5).toFixed(3)} ms, p99 ${
      percentile(list, 0.99).toFixed(3)
    } ms`;
  say(`${wire.toUpperCase()} place() x${count}`);
  say(`  total          ${f(total)}`);
  say(`  wire + sim     ${f(wireSpan)}`);
  say(`  local overhead ${f(local)}`);
}

async function sustained(
  s: Setup,
  wire: "rest" | "ws",
  pairOffset: number,
): Promise<void> {
  const perPair = 220;
  const pairs = 10;
  const total = perPair * pairs;
  let next = 0;
  let done = 0;
  let burstDoneAt = 0;
  const burst = 180 * pairs;
  const started = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < total) {
      const i = next++;
      const result = await s.clients[wire].place(
        s.request(i % pairs, pairOffset),
      );
      if (result.route !== "live" || result.error !== undefined) {
        throw new Error(
          `Sustained order over ${wire} failed: ${
            result.route === "live" ? result.error?.message : result.route
          }`,
        );
      }
      done++;
      if (done === burst) burstDoneAt = performance.now();
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const afterBurst = (performance.now() - burstDoneAt) / 1000;
  say(
    `${wire.toUpperCase()} sustained: ${total} orders on ${pairs} pairs in ${
      seconds.toFixed(2)
    } s = ${
      (total / seconds).toFixed(1)
    } orders/s; after the ${burst}-order burst allowance: ${
      ((total - burst) / afterBurst).toFixed(1)
    } orders/s (Kraken Pro limit ${pairs} × 3.75 = ${
      (pairs * 3.75).toFixed(1)
    }/s)`,
  );
}

/**
 * Seconds the limiter's model needs for a burst: per pair, the orders
 * beyond the counter's maximum drain at its decay rate.
 */
function modelBurstSec(tier: Tier, perPair: number): number {
  const cost = tradingPenalty("add", 0) + DEFAULT_TRADING_COST_MARGIN;
  const { max, decayPerSec } = TRADING_TIERS[tier];
  return Math.max(0, perPair * cost - max) / decayPerSec;
}

/** One 1,000-order burst over REST against a fresh simulator at `tier`. */
async function tierBurst(
  tier: Tier,
): Promise<{ seconds: number; failures: string[]; rateLimited: number }> {
  const s = await setup(tier);
  try {
    // Warm up (key import, connection) on pairs the burst does not use.
    for (let i = 0; i < 10; i++) {
      const result = await s.clients.rest.place(s.request(i, 10));
      if (result.route !== "live" || result.error !== undefined) {
        throw new Error(`Warm-up order ${i} at ${tier} failed`);
      }
    }
    const pairs = 10;
    const total = 1_000;
    const failures: string[] = [];
    rateLimitAnswers = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: total }, async (_, i) => {
      const result = await s.clients.rest.place(s.request(i % pairs));
      if (result.route !== "live") failures.push(result.route);
      else if (result.error !== undefined) failures.push(result.error.code);
    }));
    const seconds = (performance.now() - started) / 1000;
    return { seconds, failures, rateLimited: rateLimitAnswers };
  } finally {
    await s.close();
  }
}

/** The 1,000-order burst at Starter and at Pro, side by side. */
async function tiers(): Promise<void> {
  const perPair = 100;
  const rows: Array<{ tier: Tier; seconds: number }> = [];
  say(
    `1,000-order burst over REST (10 pairs × ${perPair}, all at once), client and simulator at the same tier:`,
  );
  for (const tier of ["starter", "pro"] as const) {
    const r = await tierBurst(tier);
    rows.push({ tier, seconds: r.seconds });
    say(
      `  ${tier.padEnd(8)} ${r.seconds.toFixed(2).padStart(7)} s wall = ${
        (1_000 / r.seconds).toFixed(1)
      } orders/s; limiter model ${
        modelBurstSec(tier, perPair).toFixed(1)
      } s of pacing (trading counter ${TRADING_TIERS[tier].max}, −${
        TRADING_TIERS[tier].decayPerSec
      }/s); failures ${r.failures.length}${
        r.failures.length > 0 ? ` (${[...new Set(r.failures)].join(", ")})` : ""
      }; rate-limit answers ${r.rateLimited}`,
    );
  }
  const [starter, pro] = rows;
  say(
    `  ratio pro/starter ${(pro!.seconds / starter!.seconds).toFixed(3)} (Pro ${
      (starter!.seconds / pro!.seconds).toFixed(1)
    }× faster)`,
  );
}

async function report(): Promise<void> {
  const s = await setup();
  try {
    say(
      `Krakked order placement → simulator (loopback), Deno ${Deno.version.deno}, ${s.plans.length} USD pairs`,
    );
    // Warm up both wires (key import, token, connections).
    for (let i = 0; i < 20; i++) await placeOnce(s, "rest", i);
    for (let i = 0; i < 20; i++) await placeOnce(s, "ws", i);
    await latency(s, "rest", 1_000);
    await latency(s, "ws", 1_000);
    // Fresh pairs for each sustained run: a CancelAll here would charge +1
    // on every affected pair's counter, which the limiter books on `*`.
    await sustained(s, "rest", 13);
    await sustained(s, "ws", 23);
    await s.clients.rest.cancelAll();
    say(`orders placed: ${s.placed()}`);
  } finally {
    await s.close();
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--tiers-only")) await tiers();
  else {
    await report();
    await tiers();
  }
} else {
  const s = await setup();
  for (let i = 0; i < 10; i++) await placeOnce(s, "rest", i);
  for (let i = 0; i < 10; i++) await placeOnce(s, "ws", i);
  let i = 0;
  Deno.bench({
    name: "OrderClient.place() over REST → simulator",
    n: 300,
    warmup: 10,
    async fn() {
      await placeOnce(s, "rest", i++);
    },
  });
  Deno.bench({
    name: "OrderClient.place() over WS v2 → simulator",
    n: 300,
    warmup: 10,
    async fn() {
      await placeOnce(s, "ws", i++);
    },
  });
  globalThis.addEventListener("unload", () => {
    void s.close();
  });
}
