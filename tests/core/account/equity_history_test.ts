// Equity over time from the ledger (core/account/equity_history.ts): a
// hand-checked three-day ledger, valued at each day end with the account's
// own USD fills as rates (tradeRates). The arithmetic is in the comments.
import assert from "node:assert/strict";
import { AssetTable } from "@krakked/core/market/assets";
import type { LedgerEntry, TradeInfo } from "@krakked/core/rest/types";
import { equityHistory } from "../../../core/account/equity_history.ts";
import { cashFlows, tradeFees } from "../../../core/account/ledger.ts";
import { tradeRates } from "../../../core/account/rates.ts";
import { accountTrades } from "../../../core/account/trades.ts";

const D = Date.UTC(2025, 0, 1) / 1000; // 2025-01-01T00:00:00Z
const DAY = 86_400;

function entry(
  refid: string,
  type: string,
  asset: string,
  amount: string,
  fee: string,
  balance: string,
  time: number,
): LedgerEntry {
  return {
    refid,
    time,
    type,
    subtype: "",
    aclass: "currency",
    asset,
    amount,
    fee,
    balance,
  };
}

function trade(
  type: "buy" | "sell",
  price: string,
  vol: string,
  cost: string,
  fee: string,
  time: number,
): TradeInfo {
  return {
    ordertxid: "O",
    postxid: "",
    pair: "XXBTZUSD",
    time,
    type,
    ordertype: "limit",
    price,
    cost,
    fee,
    vol,
    margin: "0",
    misc: "",
  };
}

// Day 0: deposit 2000 USD; buy 0.01 BTC @ 50000 (cost 500, fee 1.30).
// Day 1: sell 0.005 BTC @ 60000 (cost 300, fee 0.78); 100 KFEE credited;
//        1 ETH deposited (never traded against USD: no rate).
// Day 2: withdraw 500 USD (fee 5); 0.002 BTC moved to the staking wallet
//        (XBT.M): two keys, one asset.
const LEDGER: Record<string, LedgerEntry> = {
  L1: entry("Q1", "deposit", "ZUSD", "2000.0000", "0", "2000.0000", D + 100),
  L2: entry(
    "T1",
    "trade",
    "ZUSD",
    "-500.0000",
    "1.3000",
    "1498.7000",
    D + 3600,
  ),
  L3: entry(
    "T1",
    "trade",
    "XXBT",
    "0.0100000000",
    "0",
    "0.0100000000",
    D + 3600,
  ),
  L4: entry(
    "T2",
    "trade",
    "XXBT",
    "-0.0050000000",
    "0",
    "0.0050000000",
    D + DAY + 7200,
  ),
  L5: entry(
    "T2",
    "trade",
    "ZUSD",
    "300.0000",
    "0.7800",
    "1797.9200",
    D + DAY + 7200,
  ),
  L6: entry("C1", "credit", "KFEE", "100.00", "0", "100.00", D + DAY + 8000),
  L7: entry(
    "Q2",
    "deposit",
    "XETH",
    "1.0000000000",
    "0",
    "1.0000000000",
    D + DAY + 9000,
  ),
  L8: entry(
    "Q3",
    "withdrawal",
    "ZUSD",
    "-500.0000",
    "5.0000",
    "1292.9200",
    D + 2 * DAY + 100,
  ),
  L9: entry(
    "S1",
    "transfer",
    "XXBT",
    "-0.0020000000",
    "0",
    "0.0030000000",
    D + 2 * DAY + 200,
  ),
  L10: entry(
    "S1",
    "transfer",
    "XBT.M",
    "0.0020000000",
    "0",
    "0.0020000000",
    D + 2 * DAY + 200,
  ),
};
const TRADES: Record<string, TradeInfo> = {
  T1: trade("buy", "50000.0", "0.01", "500.0", "1.30", D + 3600),
  T2: trade("sell", "60000.0", "0.005", "300.0", "0.78", D + DAY + 7200),
};

function series() {
  const assets = AssetTable.fallback();
  const flows = cashFlows(LEDGER, assets);
  const trades = accountTrades(TRADES, {
    pairOf: () => ({ id: "XBTUSD", base: "BTC", quote: "USD" }),
    fees: tradeFees(flows),
  });
  return { flows, rateAt: tradeRates(trades) };
}

const END = D + 2 * DAY + 43_200;

Deno.test("equityHistory() values ledger balances at each day end with the day's own-fill rate (golden)", () => {
  const { flows, rateAt } = series();
  const points = equityHistory(flows, rateAt, { toSec: END });
  assert.deepEqual(
    points.map((p) => [p.day, p.timeSec - D, p.total, p.unpriced]),
    [
      // USD 1498.70 + 0.01 BTC × 50000 (T1) = 1998.70.
      ["2025-01-01", DAY, "1998.7", []],
      // USD 1797.92 + 0.005 × 60000 (T2) + 100 KFEE × 0.01 = 2098.92;
      // the ETH has no rate: listed, not valued.
      ["2025-01-02", 2 * DAY, "2098.92", ["ETH"]],
      // USD 1292.92 + (0.003 + 0.002 staked) × 60000 + 1 = 1593.92.
      ["2025-01-03", 2 * DAY + 43_200, "1593.92", ["ETH"]],
    ],
  );
  assert.deepEqual(points.map((p) => p.complete), [true, false, false]);
});

Deno.test("equityHistory() bounds the points and honours the range start", () => {
  const { flows, rateAt } = series();
  // Three days in at most two points: every second day end, then the end.
  assert.deepEqual(
    equityHistory(flows, rateAt, { toSec: END, maxPoints: 2 }).map((p) => [
      p.day,
      p.total,
    ]),
    [["2025-01-02", "2098.92"], ["2025-01-03", "1593.92"]],
  );
  // From day 1: day 0's entries still make the opening balances.
  assert.deepEqual(
    equityHistory(flows, rateAt, { fromSec: D + DAY, toSec: END }).map((p) =>
      p.total
    ),
    ["2098.92", "1593.92"],
  );
  // Nothing before the end: no points; a bad end is a typed error.
  assert.deepEqual(equityHistory(flows, rateAt, { toSec: D }), []);
  assert.throws(
    () => equityHistory(flows, rateAt, { toSec: Number.NaN }),
    RangeError,
  );
});

Deno.test("equityHistory() never exceeds maxPoints over a long range, and ends at the range end", () => {
  const { flows, rateAt } = series();
  for (const maxPoints of [2, 3, 7, 30, 400]) {
    for (const days of [3, 10, 365, 1000]) {
      const toSec = D + days * DAY + 5;
      const points = equityHistory(flows, rateAt, { toSec, maxPoints });
      assert.ok(points.length <= maxPoints, `${points.length} > ${maxPoints}`);
      assert.equal(points.at(-1)?.timeSec, toSec);
      for (let i = 1; i < points.length; i++) {
        assert.ok(points[i]!.timeSec > points[i - 1]!.timeSec, "rising");
      }
    }
  }
});
