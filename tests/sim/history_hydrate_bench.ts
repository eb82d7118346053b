/**
 * Hydrating 10,000 own trades (and their ~23,000 ledger rows) through the
 * CLI's loader, cold (empty cache: every 50-row page) and warm (a cache
 * already complete: one page per history), against the simulator.
 *
 * The client and the simulator share a clock running a million times
 * faster than real time, so Kraken's rate-limit pacing (2 points per
 * TradesHistory or Ledgers page) costs no real time and the figures are
 * Krakked's own work: requests, signing, parsing, the cache file, the
 * account model. Pacing on a real account adds ~2 s a page on the Pro tier
 * and ~6 s on Starter (REST.md §7).
 *
 * Run: deno bench --allow-net=127.0.0.1 --allow-read --allow-write --allow-env tests/sim/history_hydrate_bench.ts
 */

import { startSimulator } from "@krakked/sim";
import { RestClient } from "../../core/rest/client.ts";
import { loadAccountHistory } from "../../server/cli/pnl_cmd.ts";
import { speedClock } from "./history_oracle.ts";

const TRADES = 10_000;
const clock = speedClock(Date.UTC(2025, 5, 15, 12), 1_000_000);
const sim = await startSimulator({
  now: clock.now,
  tier: "pro",
  accountHistory: { trades: TRADES, days: 360 },
  engine: false,
});
const served = sim.account.trades().length;

function client(): RestClient {
  return new RestClient({
    baseUrl: sim.url,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    tier: "pro",
    now: clock.now,
    setTimer: clock.setTimer,
    timeoutMs: 1e12,
    retry: { maxAttempts: 8 },
  });
}

const warmDir = await Deno.makeTempDir({ prefix: "krakked_hydrate_warm_" });
{
  const rest = client();
  await loadAccountHistory(rest, warmDir);
  rest.close();
}

Deno.bench(
  `hydrate ${served} trades cold (every page, empty cache)`,
  { n: 3, warmup: 0 },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "krakked_hydrate_cold_" });
    const rest = client();
    try {
      const data = await loadAccountHistory(rest, dir);
      if (data.trades.length !== served) throw new Error("Short history");
    } finally {
      rest.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.bench(
  `hydrate ${served} trades warm (cache complete, one page each)`,
  { n: 10, warmup: 1 },
  async () => {
    const rest = client();
    try {
      const data = await loadAccountHistory(rest, warmDir);
      if (data.hydration.trades.pages !== 1) throw new Error("Not warm");
    } finally {
      rest.close();
    }
  },
);

globalThis.addEventListener("unload", () => {
  Deno.removeSync(warmDir, { recursive: true });
});
