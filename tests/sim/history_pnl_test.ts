// Thousands of simulated trades through the CLI's own loader
// (loadAccountHistory + pnlDocument, what `krakked pnl --json` prints):
// equal to the independent FIFO to the last decimal; a restart reads the
// cache and fetches only what is new.
import assert from "node:assert/strict";
import { startSimulator } from "@krakked/sim";
import { RestClient } from "../../core/rest/client.ts";
import { loadAccountHistory, pnlDocument } from "../../server/cli/pnl_cmd.ts";
import { fixed, oracleOfSimulator, speedClock } from "./history_oracle.ts";

const NOW_MS = Date.UTC(2025, 5, 15, 12);

Deno.test("pnl over a months-long simulated history equals the independent FIFO; a restart fetches only new rows", async () => {
  const clock = speedClock(NOW_MS, 2000);
  await using sim = await startSimulator({
    now: clock.now,
    tier: "pro",
    accountHistory: { trades: 2500, days: 150 },
    engine: false,
  });
  const dir = await Deno.makeTempDir({ prefix: "krakked_history_" });
  const client = () =>
    new RestClient({
      baseUrl: sim.url,
      credentials: {
        key: sim.credentials.apiKey,
        secret: sim.credentials.apiSecret.reveal(),
      },
      tier: "pro",
      now: clock.now,
      setTimer: clock.setTimer,
      timeoutMs: 20_000_000,
      retry: { maxAttempts: 5 },
    });
  const rest = client();
  try {
    const data = await loadAccountHistory(rest, dir);
    assert.equal(data.hydration.trades.mode, "cold");
    assert.ok(data.hydration.trades.pages > 40, JSON.stringify(data.hydration));
    const marks = (asset: string) =>
      asset === "USD" ? "1" : asset === "KFEE" ? "0.01" : null;
    const doc = pnlDocument(data, {
      sinceSec: undefined,
      pair: undefined,
      by: "asset",
    }, marks);

    const { fifo: oracle, fills } = oracleOfSimulator(sim.account);
    assert.ok(fills > 2000);
    assert.equal(fixed(doc.totals.fees), oracle.fees, "fees");
    const assets = new Set([
      ...doc.groups.map((g) => g.key),
      ...oracle.realizedByAsset.keys(),
    ]);
    for (const asset of assets) {
      const group = doc.groups.find((g) => g.key === asset);
      assert.equal(
        fixed(group?.realizedPnl ?? "0"),
        oracle.realizedByAsset.get(asset) ?? 0n,
        `realised ${asset}`,
      );
    }
    for (const p of doc.positions) {
      assert.equal(fixed(p.qty), oracle.qty.get(p.asset), `qty ${p.asset}`);
      assert.equal(
        fixed(p.costBasis),
        oracle.cost.get(p.asset),
        `cost ${p.asset}`,
      );
    }
    // The staked DOT is folded into DOT and its lots match the balance.
    const dot = sim.account.balance("DOT") + sim.account.balance("DOT.S");
    const dotPosition = doc.positions.find((p) => p.asset === "DOT");
    assert.equal(fixed(dotPosition!.qty), dot * 10n ** 20n, "DOT + DOT.S");
    assert.ok(fixed(doc.totals.income) > 0n, "staking rewards are income");
    assert.ok(fixed(doc.totals.netDeposits) > 0n);

    // Restart: a new client, the same cache, one new fill.
    const pair = sim.account.trades()[0]!.pair;
    const order = sim.account.openOrder({
      pair: pair.key,
      type: "buy",
      ordertype: "market",
      volumeUnits:
        BigInt(Math.round(Number(pair.ordermin) * 10 ** pair.lotDecimals)) * 2n,
      timeMs: clock.now(),
    });
    sim.account.fill(order.txid, {
      priceUnits: sim.account.trades()[0]!.priceUnits,
      volumeUnits: order.volumeUnits,
      timeMs: clock.now(),
      maker: false,
    });
    const again = client();
    try {
      const warm = await loadAccountHistory(again, dir);
      assert.deepEqual(warm.hydration.trades, {
        mode: "warm",
        pages: 1,
        added: 1,
        total: data.hydration.trades.total + 1,
      });
      assert.deepEqual(warm.hydration.ledger, {
        mode: "warm",
        pages: 1,
        added: 2,
        total: data.hydration.ledger.total + 2,
      });
    } finally {
      again.close();
    }
  } finally {
    rest.close();
    await Deno.remove(dir, { recursive: true });
  }
});
