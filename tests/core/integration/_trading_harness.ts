/**
 * The trading core against the simulator over loopback REST and WS v2, on
 * one fake clock shared by client and simulator: a live OrderClient with
 * the chosen order wire, its private stream, and helpers that move time
 * only past the limiter.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import {
  type PairMetadata,
  pairMetadataFromRest,
} from "../../../core/market/pairs.ts";
import { RestClient } from "../../../core/rest/client.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import type { OrderInfo } from "../../../core/rest/types.ts";
import type { GateConfig } from "../../../core/trade/gates.ts";
import type { OrderLifecycleState } from "../../../core/trade/lifecycle.ts";
import {
  OrderClient,
  type OrderClientEvent,
  type PlaceContext,
} from "../../../core/trade/order_client.ts";
import type { OrderRequest } from "../../../core/trade/order.ts";
import { PrivateStream } from "../../../core/trade/private_stream.ts";
import type { PrivateStreamEvent } from "../../../core/trade/private_stream.ts";
import { RestOrderTransport } from "../../../core/trade/rest_transport.ts";
import { PrivateWsSession } from "../../../core/trade/ws_session.ts";
import { WsOrderTransport } from "../../../core/trade/ws_transport.ts";
import { startSimulatorWithWs } from "@krakked/sim";
import { FakeClock } from "../../fakes/clock.ts";
import { NOW_MS } from "../../sim/_client.ts";
import { CountingFetch } from "./_integration.ts";

export const SEED = 21;
export type Wire = "rest" | "ws";
export const WIRES: readonly Wire[] = ["rest", "ws"];

export const CONFIG: GateConfig = {
  trading: {
    ...DEFAULT_CONFIG.trading,
    mode: "live",
    enable_live_orders: true,
    max_notional_usd: 1_000_000,
    max_position_notional_usd: 10_000_000,
    stop_loss_max_distance_pct: 50,
  },
  region: { supports_margin: false },
};

/** A price on the pair's tick grid, as text. */
export function px(value: number, pair: PairMetadata): string {
  const tick = Number(pair.tickSize);
  return (Math.round(value / tick) * tick).toFixed(pair.priceDecimals);
}

/** Client and simulator on one fake clock, with the chosen order wire. */
// deno-lint-ignore explicit-module-boundary-types -- the harness type is inferred
export async function tradingSim(
  wire: Wire,
  options: { config?: GateConfig } = {},
) {
  const clock = new FakeClock(NOW_MS);
  const sim = await startSimulatorWithWs({
    port: 0,
    seed: SEED,
    tier: "pro",
    now: clock.now,
    ws: { tickMs: 0 },
  });
  const limiter = new RateLimiter({
    tier: "pro",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  const publicLimiter = new RateLimiter({
    now: clock.now,
    setTimer: clock.setTimer,
    publicLimits: { max: 10_000, decayPerSec: 10_000 },
  });
  const http = new CountingFetch({ buffer: true });
  const rest = new RestClient({
    baseUrl: sim.url,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    fetch: http.fetch,
    now: clock.now,
    setTimer: clock.setTimer,
    limiter,
    publicLimiter,
    random: () => 0,
  });
  const pairs = new Map<string, PairMetadata>();
  const books = new Map<
    string,
    {
      bids: { price: string; qty: string }[];
      asks: { price: string; qty: string }[];
    }
  >();
  for (const [key, info] of Object.entries(await rest.assetPairs())) {
    const meta = pairMetadataFromRest(key, info);
    for (const name of [meta.id, meta.altname, meta.wsV2, key]) {
      pairs.set(name, meta);
    }
  }
  const session = new PrivateWsSession(sim.wsAuthUrl, {
    getToken: async () => (await rest.getWebSocketsToken()).token,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0,
    // Fake time jumps while calls wait in the limiter; the simulator's
    // socket is not silent then, only the clock moved.
    silenceTimeoutMs: 3_600_000,
    pingIntervalMs: 3_600_000,
  });
  const stream = new PrivateStream(session, { rest, now: clock.now });
  const streamEvents: PrivateStreamEvent[] = [];
  stream.on((e) => streamEvents.push(e));
  const transport = wire === "rest"
    ? new RestOrderTransport(rest)
    : new WsOrderTransport(session, { limiter });
  const client = new OrderClient({
    config: options.config ?? CONFIG,
    liveSwitch: true,
    pairs: (s) => pairs.get(s),
    transport,
    rest,
    stream,
    now: clock.now,
    setTimer: clock.setTimer,
    // The gate judges stops against the book: the last ticker read of
    // each pair stands in for it.
    books: (id) => books.get(id),
  });
  const events: OrderClientEvent[] = [];
  client.on((e) => events.push(e));
  stream.start();
  session.connect();
  await clock.until(
    () => streamEvents.some((e) => e.type === "executions"),
    5_000,
  );
  const parked = () => {
    let n = limiter.pending("rest") + limiter.pending("trading", "*");
    for (const meta of new Set(pairs.values())) {
      n += limiter.pending("trading", meta.id);
    }
    return n;
  };
  /**
   * Run real I/O until `done`; when every call is parked in the limiter
   * and nothing is on the wire, jump the shared clock to the next timer.
   */
  const drive = async (done: () => boolean): Promise<void> => {
    for (let jumps = 0; jumps < 10_000; jumps++) {
      await clock.until(
        () =>
          done() ||
          (http.inflight === 0 && session.inflight === 0 && parked() > 0),
        20_000,
      );
      if (done()) return;
      const next = clock.nextTimerAtMs();
      assert.ok(next !== undefined, "parked calls need a limiter timer");
      clock.advanceTo(next);
    }
    throw new Error("drive: gave up after 10 000 clock jumps");
  };
  const run = async <T>(promise: Promise<T>): Promise<T> => {
    let finished = false;
    promise.then(() => (finished = true), () => (finished = true));
    await drive(() => finished);
    return await promise;
  };
  const ticker = async (pair: string) => {
    const info = Object.values(await run(rest.ticker(pair)))[0]!;
    const meta = pairs.get(pair);
    if (meta !== undefined) {
      books.set(meta.id, {
        bids: [{ price: info.b[0], qty: info.b[2] }],
        asks: [{ price: info.a[0], qty: info.a[2] }],
      });
    }
    return { ask: Number(info.a[0]), bid: Number(info.b[0]) };
  };
  return {
    clock,
    sim,
    limiter,
    http,
    rest,
    pairs,
    session,
    stream,
    streamEvents,
    client,
    events,
    ticker,
    run,
    parked,
    pair(name: string): PairMetadata {
      const meta = pairs.get(name);
      assert.ok(meta, name);
      return meta;
    },
    /** Wait for a condition, moving time only past the limiter. */
    until: drive,
    async order(orderId: string): Promise<OrderInfo> {
      return (await run(rest.queryOrders(orderId)))[orderId]!;
    },
    async [Symbol.asyncDispose]() {
      await client.close();
      stream.stop();
      session.close();
      rest.close();
      limiter.close();
      publicLimiter.close();
      await sim.close();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof tradingSim>>;

/** Place and wait for the answer; returns the live state. */
export async function placed(
  h: Harness,
  request: OrderRequest,
  context: string | PlaceContext = {},
): Promise<OrderLifecycleState> {
  const result = await h.run(h.client.place(
    request,
    typeof context === "string" ? { referencePrice: context } : context,
  ));
  assert.equal(result.route, "live");
  if (result.route !== "live") throw new Error("not live");
  assert.equal(
    result.error,
    undefined,
    `${request.type}: ${result.error?.message}`,
  );
  return result.state;
}
