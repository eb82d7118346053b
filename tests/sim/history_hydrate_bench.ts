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
 * Also what the server redoes when a marked book moves (at most about once
 * a second): the P&L document over the whole history at new marks, and the
 * ledger's equity per day end (computed once per history and day).
 *
 * Run: deno bench --allow-net=127.0.0.1 --allow-read --allow-write --allow-env tests/sim/history_hydrate_bench.ts
 */

import { startSimulator } from "@krakked/sim";
import { RestClient } from "../../core/rest/client.ts";
import { equityHistory } from "../../core/account/equity_history.ts";
import { tradeRates } from "../../core/account/rates.ts";
import {
  type AccountData,
  loadAccountHistory,
  pnlDocument,
  pnlReport,
} from "../../server/cli/pnl_cmd.ts";
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
let loaded: AccountData;
{
  const rest = client();
  loaded = await loadAccountHistory(rest, warmDir);
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

let tick = 0;
const FLAGS = { sinceSec: undefined, pair: undefined, by: "asset" } as const;
const markAt = (n: number) => (asset: string) =>
  asset === "USD" ? "1" : `${100 + n}.5`;
Deno.bench(
  `P&L over ${served} trades replayed from scratch (a new history)`,
  { n: 10, warmup: 1 },
  () => {
    tick++;
    const doc = pnlDocument(loaded, FLAGS, markAt(tick));
    if (doc.totals.trades === 0) throw new Error("No P&L");
  },
);

const replayed = pnlReport(loaded, FLAGS, markAt(0));
Deno.bench(
  `P&L over ${served} trades at new marks (per marked book move: re-marked)`,
  { n: 20, warmup: 2 },
  () => {
    tick++;
    const doc = pnlDocument(loaded, FLAGS, markAt(tick), replayed);
    if (doc.totals.trades === 0) throw new Error("No P&L");
  },
);

Deno.bench(
  `equity per day end from ${loaded.flows.length} ledger rows`,
  { n: 10, warmup: 1 },
  () => {
    const points = equityHistory(loaded.flows, tradeRates(loaded.trades), {
      toSec: clock.now() / 1000,
    });
    if (points.length < 2) throw new Error("No series");
  },
);

globalThis.addEventListener("unload", () => {
  Deno.removeSync(warmDir, { recursive: true });
});
