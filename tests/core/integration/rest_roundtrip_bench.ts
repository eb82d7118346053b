/**
 * Round trips core `RestClient` → simulator over loopback HTTP.
 *
 * - `Time` and `Ticker` (one pair): public GETs through a public limiter
 *   roomy enough never to wait.
 * - `Balance`: a signed POST (HMAC-SHA512 on the client, verification,
 *   nonce and REST-counter checks on the simulator) at Pro tier. Both the
 *   client's limiter and the simulator's key counter run on clocks that
 *   move 10 s per reading, so neither ever throttles: the figure is the
 *   cost of signing, sending, verifying and parsing, not of waiting.
 *
 * Run: `deno bench --allow-read --allow-net=127.0.0.1,localhost --allow-env
 * tests/core/integration/rest_roundtrip_bench.ts`
 *
 * @module
 */

import { RestClient } from "../../../core/rest/client.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import { startSimulator } from "@krakked/sim";
import { NOW_MS } from "../../sim/_client.ts";

/** A clock that moves 10 s every time it is read. */
function racingClock(): () => number {
  let ms = NOW_MS;
  return () => (ms += 10_000);
}

const market = await startSimulator({ port: 0, seed: 5, now: () => NOW_MS });
const publicLimiter = new RateLimiter({
  now: () => NOW_MS,
  publicLimits: { max: Number.MAX_SAFE_INTEGER, decayPerSec: 1 },
});
const publicClient = new RestClient({ baseUrl: market.url, publicLimiter });

const account = await startSimulator({
  port: 0,
  seed: 5,
  tier: "pro",
  now: racingClock(),
});
const clientNow = racingClock();
const privateClient = new RestClient({
  baseUrl: account.url,
  credentials: {
    key: account.credentials.apiKey,
    secret: account.credentials.apiSecret.reveal(),
  },
  now: clientNow,
  limiter: new RateLimiter({ tier: "pro", now: clientNow }),
});

// Warm up: import the HMAC key, fill the market caches, open connections.
await publicClient.time();
await publicClient.ticker("XBTUSD");
await privateClient.balance();

globalThis.addEventListener("unload", () => {
  publicClient.close();
  privateClient.close();
  publicLimiter.close();
  void market.close();
  void account.close();
});

Deno.bench("Time round trip (public GET)", { group: "rest" }, async () => {
  await publicClient.time();
});

Deno.bench(
  "Ticker XBTUSD round trip (public GET)",
  { group: "rest", baseline: true },
  async () => {
    await publicClient.ticker("XBTUSD");
  },
);

Deno.bench(
  "Balance round trip (signed POST, Pro tier)",
  { group: "rest" },
  async () => {
    await privateClient.balance();
  },
);
