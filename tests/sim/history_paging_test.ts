// The simulator's long account history, paged as Kraken pages it
// (docs/kraken/REST.md §5, §9): 50 rows a page, newest first, `ofs`, total
// `count`; ledger balances chain; Balance equals the last ledger balance of
// every asset; fees are paid in quote, base and KFEE.
import assert from "node:assert/strict";
import { startSimulator } from "@krakked/sim";
import { RestClient } from "../../core/rest/client.ts";
import type { LedgerEntry, TradeInfo } from "../../core/rest/types.ts";
import { fixed, speedClock } from "./history_oracle.ts";

const NOW_MS = Date.UTC(2025, 5, 15, 12);

Deno.test("TradesHistory and Ledgers page a months-long history 50 rows at a time, newest first", async () => {
  const clock = speedClock(NOW_MS, 2000);
  await using sim = await startSimulator({
    now: clock.now,
    tier: "pro",
    accountHistory: { trades: 2500, days: 150 },
    engine: false,
  });
  const rest = new RestClient({
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
  try {
    const pages = async <T extends { time: number }>(
      fetchPage: (
        ofs: number,
      ) => Promise<{ rows: Record<string, T>; count: number }>,
    ) => {
      const all: Array<[string, T]> = [];
      let count = -1;
      for (let ofs = 0;; ofs += 50) {
        const page = await fetchPage(ofs);
        const rows = Object.entries(page.rows);
        if (count === -1) count = page.count;
        assert.equal(page.count, count, "count is the total, on every page");
        assert.ok(rows.length <= 50);
        if (ofs + 50 < count) assert.equal(rows.length, 50);
        all.push(...rows);
        if (rows.length < 50) break;
      }
      assert.equal(all.length, count);
      assert.equal(new Set(all.map(([id]) => id)).size, count, "no id twice");
      for (let i = 1; i < all.length; i++) {
        assert.ok(all[i - 1]![1].time >= all[i]![1].time, "newest first");
      }
      return all;
    };
    const trades = await pages<TradeInfo>(async (ofs) => {
      const p = await rest.tradesHistory({ ofs });
      return { rows: p.trades, count: p.count };
    });
    const ledger = await pages<LedgerEntry>(async (ofs) => {
      const p = await rest.ledgers({ ofs });
      return { rows: p.ledger, count: p.count };
    });
    assert.ok(trades.length > 2000, `${trades.length} trades`);
    assert.ok(
      trades.at(-1)![1].time < NOW_MS / 1000 - 120 * 86_400,
      "months of history",
    );
    const types = new Set(ledger.map(([, e]) => `${e.type}:${e.asset}`));
    for (
      const t of [
        "deposit:ZUSD",
        "withdrawal:ZUSD",
        "withdrawal:XXBT",
        "credit:KFEE",
        "transfer:DOT",
        "transfer:DOT.S",
        "staking:DOT.S",
        "trade:KFEE",
      ]
    ) assert.ok(types.has(t), `ledger has ${t}`);
    // Fees in three assets: the quote, the base (fcib) and KFEE.
    const feeAssets = new Set(
      ledger.filter(([, e]) => e.type === "trade" && fixed(e.fee) !== 0n)
        .map(([, e]) => e.asset),
    );
    for (const a of ["ZUSD", "XXBT", "XETH", "KFEE"]) {
      assert.ok(feeAssets.has(a), `a fee paid in ${a}`);
    }
    // Balances chain oldest → newest, and end at Balance.
    const last = new Map<string, bigint>();
    for (const [, e] of [...ledger].reverse()) {
      const before = last.get(e.asset) ?? 0n;
      const after = before + fixed(e.amount) - fixed(e.fee);
      assert.equal(after, fixed(e.balance), `${e.asset} balance chains`);
      last.set(e.asset, after);
    }
    const balance = await rest.balance();
    for (const [asset, amount] of last) {
      assert.equal(fixed(balance[asset] ?? "0"), amount, `Balance ${asset}`);
    }
    // `ofs` past the end is an empty page with the same count.
    const past = await rest.tradesHistory({ ofs: trades.length + 10 });
    assert.deepEqual(past.trades, {});
    assert.equal(past.count, trades.length);
  } finally {
    rest.close();
  }
});
