// Hand-checked FIFO cases for core/account (see the arithmetic in each
// comment), and the paths around them: fees in quote, base and KFEE read
// from the ledger, a deposit in the middle of a range, an asset with no USD
// pair.
import assert from "node:assert/strict";
import { AssetTable } from "@krakked/core/market/assets";
import type { LedgerEntry, TradeInfo } from "@krakked/core/rest/types";
import { equityOf } from "../../../core/account/equity.ts";
import {
  cashFlows,
  netFlows,
  tradeFees,
} from "../../../core/account/ledger.ts";
import { computePnl, groupPnl } from "../../../core/account/pnl.ts";
import type { Quote, RateAt } from "../../../core/account/rates.ts";
import { tradeRates, usdPrice } from "../../../core/account/rates.ts";
import {
  type AccountTrade,
  accountTrades,
} from "../../../core/account/trades.ts";

const assets = AssetTable.fallback();
const PAIRS: Record<string, { id: string; base: string; quote: string }> = {
  XXBTZUSD: { id: "XBTUSD", base: "BTC", quote: "USD" },
  XETHZUSD: { id: "ETHUSD", base: "ETH", quote: "USD" },
  ABCXBT: { id: "ABCXBT", base: "ABC", quote: "BTC" },
  DEFGHI: { id: "DEFGHI", base: "DEF", quote: "GHI" },
};

function trade(
  pair: string,
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
    pair,
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

function entry(
  refid: string,
  type: string,
  asset: string,
  amount: string,
  fee: string,
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
    balance: "0",
  };
}

function read(
  trades: Record<string, TradeInfo>,
  ledger: Record<string, LedgerEntry>,
): { trades: AccountTrade[]; flows: ReturnType<typeof netFlows> } {
  const flows = cashFlows(ledger, assets);
  return {
    trades: accountTrades(trades, {
      pairOf: (key) => PAIRS[key],
      fees: tradeFees(flows),
    }),
    flows: netFlows(flows),
  };
}

Deno.test("computePnl() closes lots oldest first, partly, with the fee in quote", () => {
  // Deposit 10000 USD. Buy 1 @ 100 (fee 0.26), buy 2 @ 110 (fee 0.5),
  // sell 1.5 @ 120 (fee 0.4): closes lot 1 whole (+20) and half of lot 2
  // (0.5 × 10 = +5) → realised 25, left 1.5 @ 110. Mark 130 → unrealised
  // 1.5 × 20 = 30. Fees 1.16. USD 10000 − 100.26 − 220.5 + 179.6 =
  // 9858.84, equity 9858.84 + 195 = 10053.84 = 25 + 30 − 1.16 + 10000.
  const { trades, flows } = read({
    T1: trade("XXBTZUSD", "buy", "100.0", "1", "100.0", "0.26", 2),
    T2: trade("XXBTZUSD", "buy", "110.0", "2", "220.0", "0.50", 3),
    T3: trade("XXBTZUSD", "sell", "120.0", "1.5", "180.0", "0.40", 4),
  }, {
    L1: entry("Q1", "deposit", "ZUSD", "10000.0000", "0.0000", 1),
    L2: entry("T1", "trade", "ZUSD", "-100.0000", "0.2600", 2),
    L3: entry("T2", "trade", "ZUSD", "-220.0000", "0.5000", 3),
    L4: entry("T3", "trade", "ZUSD", "180.0000", "0.4000", 4),
  });
  const report = computePnl(trades, flows, {
    rateAt: tradeRates(trades),
    mark: (a) => (a === "BTC" ? "130" : null),
  });
  assert.equal(report.realizedPnl, "25");
  assert.deepEqual(
    report.realized.map((r) => [r.qty, r.openPrice, r.pnl]),
    [["1", "100", "20"], ["0.5", "110", "5"]],
  );
  assert.equal(report.unrealizedPnl, "30");
  assert.equal(report.fees, "1.16");
  assert.equal(report.netDeposits, "10000");
  assert.equal(report.positions[0]?.qty, "1.5");
  assert.equal(report.positions[0]?.costBasis, "165");
  assert.equal(report.performance, "53.84");
  assert.equal(report.complete, true);
  assert.deepEqual(groupPnl(report, "pair").map((g) => [g.key, g.net]), [
    ["XBTUSD", "23.84"],
  ]);
});

Deno.test("computePnl() takes a base fee out of the lots at the trade's price", () => {
  // Buy 2 ETH @ 50, fee 0.004 ETH (fcib): the fee closes 0.004 @ 50 (P&L 0),
  // fee 0.2 USD. Sell 1 @ 60, fee 0.002 ETH: +10 on the sale, +0.02 on the
  // fee units, fee 0.12 USD. Left 0.994 @ 50; mark 70 → 19.88. USD 960 +
  // 0.994 × 70 = 1029.58 = 10.02 + 19.88 − 0.32 + 1000.
  const { trades, flows } = read({
    T1: trade("XETHZUSD", "buy", "50.00", "2", "100.00", "0.26", 2),
    T2: trade("XETHZUSD", "sell", "60.00", "1", "60.00", "0.16", 3),
  }, {
    L1: entry("Q1", "deposit", "ZUSD", "1000.0000", "0.0000", 1),
    L2: entry("T1", "trade", "ZUSD", "-100.0000", "0.0000", 2),
    L3: entry("T1", "trade", "XETH", "2.0000000000", "0.0040000000", 2),
    L4: entry("T2", "trade", "ZUSD", "60.0000", "0.0000", 3),
    L5: entry("T2", "trade", "XETH", "-1.0000000000", "0.0020000000", 3),
  });
  assert.deepEqual(trades[0]?.fees, [{ asset: "ETH", amount: "0.0040000000" }]);
  const report = computePnl(trades, flows, {
    rateAt: tradeRates(trades),
    mark: () => "70",
  });
  assert.equal(report.realizedPnl, "10.02");
  assert.equal(report.fees, "0.32");
  assert.equal(report.positions[0]?.qty, "0.994");
  assert.equal(report.unrealizedPnl, "19.88");
});

Deno.test("computePnl() values a KFEE fee at one cent per credit", () => {
  // 500 KFEE credited (income 5 USD, lots 500 @ 0.01). Buy 1 BTC @ 100
  // paid with 26 KFEE (0.26 USD). USD 900 + BTC 100 + 474 KFEE × 0.01 =
  // 1004.74 = 0 + 0 − 0.26 + 5 + 1000.
  const { trades, flows } = read({
    T1: trade("XXBTZUSD", "buy", "100.0", "1", "100.0", "0.26", 3),
  }, {
    L1: entry("Q1", "deposit", "ZUSD", "1000.0000", "0.0000", 1),
    L2: entry("C1", "credit", "KFEE", "500.00", "0.00", 2),
    L3: entry("T1", "trade", "ZUSD", "-100.0000", "0.0000", 3),
    L4: entry("T1", "trade", "XXBT", "1.0000000000", "0.0000000000", 3),
    L5: entry("T1", "trade", "KFEE", "0.00", "26.00", 3),
  });
  assert.deepEqual(trades[0]?.fees, [{ asset: "KFEE", amount: "26.00" }]);
  const rateAt = tradeRates(trades);
  const report = computePnl(trades, flows, {
    rateAt,
    mark: (a) => rateAt(a, 3),
  });
  assert.equal(report.fees, "0.26");
  assert.equal(report.income, "5");
  assert.equal(report.netDeposits, "1000");
  assert.equal(report.realizedPnl, "0");
  const kfee = report.positions.find((p) => p.asset === "KFEE");
  assert.equal(kfee?.qty, "474");
  assert.equal(report.performance, "4.74");
});

Deno.test("computePnl() over a range counts a deposit made inside it", () => {
  // Before t=5: 1000 USD in, 1 BTC bought @ 100 (worth 110 at t=5:
  // unrealised 10, equity 1010). At t=10, 0.5 BTC deposited at 120 (net
  // deposit 60); at t=11 1 BTC sold @ 130 (+30 on the first lot). End mark
  // 140: 0.5 × 20 = 10 → Δ unrealised 0. Equity 1030 + 70 = 1100, change 90
  // = 30 + 0 − 0 + 0 + 60.
  const { trades, flows } = read({
    T1: trade("XXBTZUSD", "buy", "100", "1", "100", "0", 2),
    T2: trade("XXBTZUSD", "sell", "130", "1", "130", "0", 11),
  }, {
    L1: entry("Q1", "deposit", "ZUSD", "1000", "0", 1),
    L2: entry("Q2", "deposit", "XXBT", "0.5", "0", 10),
  });
  const rateAt: RateAt = (asset, t) =>
    asset === "USD" ? "1" : asset === "BTC" ? (t < 10 ? "110" : "120") : null;
  const report = computePnl(trades, flows, {
    rateAt,
    sinceSec: 5,
    mark: () => "140",
  });
  assert.equal(report.netDeposits, "60");
  assert.equal(report.realizedPnl, "30");
  assert.equal(report.unrealizedStart, "10");
  assert.equal(report.unrealizedPnl, "10");
  assert.equal(report.unrealizedChange, "0");
  assert.equal(report.performance, "30");
  assert.equal(report.trades, 1);
  assert.deepEqual(report.flows.map((f) => [f.asset, f.usd]), [["BTC", "60"]]);
});

Deno.test("an asset with no USD pair is valued through BTC, one with no route is listed", async (t) => {
  const quotes: Record<string, Quote> = {
    "ABC/BTC": { bid: "0.00011", ask: "0.00013" },
    "BTC/USD": { bid: "249", ask: "251" },
  };
  const source = (b: string, q: string) => quotes[`${b}/${q}`];

  await t.step("equity", () => {
    const report = equityOf(
      {
        XXBT: { balance: "0.8998000000", hold_trade: "0" },
        ABC: { balance: "1000", hold_trade: "0" },
        "ABC.S": { balance: "10", hold_trade: "0" },
        DEF: { balance: "3", hold_trade: "0" },
        KFEE: "474.00",
      },
      assets,
      source,
    );
    // 0.8998 × 250 + 1010 × 0.00012 × 250 + 474 × 0.01 = 224.95 + 30.3 + 4.74
    assert.equal(report.total, "259.99");
    assert.deepEqual(report.unpriced, ["DEF"]);
    assert.equal(report.complete, false);
    const abc = report.lines.filter((l) => l.asset === "ABC");
    assert.deepEqual(abc.map((l) => l.wallet), [null, "S"]);
    assert.deepEqual(abc[0]?.route, ["ABC/BTC", "BTC/USD"]);
    assert.equal(report.byAsset.find((a) => a.asset === "ABC")?.value, "30.3");
    assert.equal(report.lines.find((l) => l.asset === "DEF")?.value, null);
  });

  await t.step("FIFO of a BTC-quoted trade at the trade-time BTC rate", () => {
    // 1 BTC deposited at 100. Buy 1000 ABC @ 0.0001 BTC at t=2 when BTC is
    // 200: ABC lot at 0.02 USD; 0.1 BTC spent closes 0.1 @ 100 → +10; the
    // 0.0002 BTC fee closes 0.0002 @ 100 at 200 → +0.02, fee 0.04 USD.
    // Marks ABC 0.03, BTC 250: unrealised 10 + 0.8998 × 150 = 144.97.
    // Equity 224.95 + 30 = 254.95 = 10.02 + 144.97 − 0.04 + 100.
    const { trades, flows } = read({
      T1: trade("ABCXBT", "buy", "0.00010", "1000", "0.10000", "0.00020", 2),
      T2: trade("DEFGHI", "buy", "1", "1", "1", "0", 3),
    }, { L1: entry("Q1", "deposit", "XXBT", "1", "0", 1) });
    const rateAt: RateAt = (a, time) =>
      a === "BTC" ? (time < 2 ? "100" : "200") : null;
    const report = computePnl(trades, flows, {
      rateAt,
      mark: (a) => usdPrice(a, source)?.price ?? null,
    });
    assert.equal(report.realizedPnl, "10.02");
    assert.equal(report.fees, "0.04");
    assert.equal(report.unrealizedPnl, "144.97");
    assert.equal(report.netDeposits, "100");
    assert.deepEqual(report.unpriced, [
      { kind: "trade", id: "T2", asset: "GHI", timeSec: 3 },
    ]);
    assert.equal(report.complete, false);
  });
});

Deno.test("netFlows() drops a spot-to-staking transfer and keeps its reward", () => {
  const flows = netFlows(cashFlows({
    L1: entry("R1", "transfer", "XETH", "-1.0", "0", 1),
    L2: entry("R1", "transfer", "ETH.S", "1.0", "0", 1),
    L3: entry("R2", "staking", "ETH.S", "0.01", "0", 2),
  }, assets));
  assert.deepEqual(flows.map((f) => [f.kind, f.asset, f.amount]), [
    ["income", "ETH", "0.01"],
  ]);
});

Deno.test("accountTrades() refuses a trade of an unknown pair with a RangeError", () => {
  assert.throws(
    () =>
      accountTrades({ T1: trade("NOPE", "buy", "1", "1", "1", "0", 1) }, {
        pairOf: () => undefined,
      }),
    RangeError,
  );
  assert.throws(
    () =>
      accountTrades({ T1: trade("XXBTZUSD", "buy", "x", "1", "1", "0", 1) }, {
        pairOf: (k) => PAIRS[k],
      }),
    SyntaxError,
  );
});
