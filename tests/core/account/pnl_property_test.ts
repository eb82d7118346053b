// Property: for random histories (deposits and withdrawals in USD and BTC,
// trades on USD and cross pairs, fees in quote, base and KFEE, staking
// rewards and fee credits), over the whole history and over a random
// range, realised + Δ unrealised − fees + income + net deposits equals the
// change of equity computed from balances kept independently here; and the
// open lots of every asset add up to its balance.
import assert from "node:assert/strict";
import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "@krakked/core/decimal";
import type { NetFlow } from "../../../core/account/ledger.ts";
import { computePnl, remarkPnl } from "../../../core/account/pnl.ts";
import type { RateAt } from "../../../core/account/rates.ts";
import type { AccountTrade } from "../../../core/account/trades.ts";
import { prng } from "../../fakes/prng.ts";

interface History {
  trades: AccountTrade[];
  flows: NetFlow[];
  rateAt: RateAt;
  balancesAfter: (timeSec: number) => Map<string, string>;
  endSec: number;
}

function randomHistory(seed: number): History {
  const random = prng(seed);
  const int = (lo: number, hi: number) =>
    lo + Math.floor(random() * (hi - lo + 1));
  const steps = int(20, 120);
  // Prices per step: BTC with 1 decimal, ETH with 2, in USD.
  const btc: string[] = [];
  const eth: string[] = [];
  let b = 20_000_0;
  let e = 1_500_00;
  for (let i = 0; i <= steps; i++) {
    b = Math.max(1_000_0, b + int(-800_0, 800_0));
    e = Math.max(100_00, e + int(-60_00, 60_00));
    btc.push((b / 10).toFixed(1));
    eth.push((e / 100).toFixed(2));
  }
  const rateAt: RateAt = (asset, t) => {
    const i = Math.min(steps, Math.max(0, Math.floor(t)));
    if (asset === "USD") return "1";
    if (asset === "KFEE") return "0.01";
    if (asset === "BTC") return btc[i] as string;
    if (asset === "ETH") return eth[i] as string;
    return null;
  };
  const balances = new Map<string, string>();
  const snapshots: Array<[number, Map<string, string>]> = [];
  const bal = (a: string) => balances.get(a) ?? "0";
  const credit = (a: string, amount: string) =>
    balances.set(a, addDecimal(bal(a), amount));
  const trades: AccountTrade[] = [];
  const flows: NetFlow[] = [];
  let n = 0;
  const flow = (
    t: number,
    kind: NetFlow["kind"],
    type: string,
    asset: string,
    amount: string,
    fee = "0",
  ) => {
    flows.push({
      id: `L${++n}`,
      refid: `R${n}`,
      timeSec: t,
      kind,
      type,
      asset,
      amount,
      fee,
    });
    credit(asset, subtractDecimal(amount, fee));
  };
  flow(0, "external", "deposit", "USD", "50000");
  for (let step = 1; step <= steps; step++) {
    const t = step + 0.5;
    const roll = random();
    if (roll < 0.06) {
      flow(t, "external", "deposit", "BTC", `0.${int(1, 9)}`);
    } else if (roll < 0.1 && compareDecimal(bal("USD"), "1000") > 0) {
      flow(t, "external", "withdrawal", "USD", "-500", "5");
    } else if (roll < 0.13 && compareDecimal(bal("BTC"), "0.05") > 0) {
      flow(t, "external", "withdrawal", "BTC", "-0.01", "0.0001");
    } else if (roll < 0.17 && compareDecimal(bal("ETH"), "0") > 0) {
      flow(t, "income", "staking", "ETH", "0.0012");
    } else if (roll < 0.2) {
      flow(t, "income", "credit", "KFEE", "100.00");
    } else {
      // A trade on XBTUSD, ETHUSD or ETHXBT.
      const which = int(0, 2);
      const [base, quote, pair] = which === 0
        ? ["BTC", "USD", "XBTUSD"]
        : which === 1
        ? ["ETH", "USD", "ETHUSD"]
        : ["ETH", "BTC", "ETHXBT"];
      const price = which === 0
        ? btc[step] as string
        : which === 1
        ? eth[step] as string
        // ETH/BTC near the USD ratio, 5 decimals.
        : (Number(eth[step]) / Number(btc[step]) * (1 + (random() - 0.5) / 50))
          .toFixed(5);
      const side = random() < 0.5 ? "buy" : "sell";
      const vol = `0.${String(int(1, 999)).padStart(3, "0")}`;
      const cost = multiplyDecimal(price, vol);
      const feeRoll = random();
      const feeAsset = feeRoll < 0.5 ? quote : feeRoll < 0.8 ? base : "KFEE";
      const feeRate = "0.0026";
      const quoteFee = multiplyDecimal(cost, feeRate);
      const fee = feeAsset === quote
        ? quoteFee
        : feeAsset === base
        ? multiplyDecimal(vol, feeRate)
        : multiplyDecimal(
          multiplyDecimal(quoteFee, rateAt(quote, t) as string),
          "100",
        );
      const need = (a: string, amount: string) =>
        compareDecimal(bal(a), amount) >= 0;
      const spend = side === "buy" ? quote : base;
      const spent = side === "buy" ? cost : vol;
      const feeCovered = feeAsset === spend
        ? need(spend, addDecimal(spent, fee))
        : need(spend, spent) &&
          (feeAsset === (side === "buy" ? base : quote)
            ? true
            : need(feeAsset, fee));
      if (!feeCovered) continue;
      credit(base, side === "buy" ? vol : `-${vol}`);
      credit(quote, side === "buy" ? `-${cost}` : cost);
      credit(feeAsset, `-${fee}`);
      trades.push({
        id: `T${++n}`,
        pair,
        base,
        quote,
        side,
        price,
        vol,
        cost,
        timeSec: t,
        fees: [{ asset: feeAsset, amount: fee }],
      } as AccountTrade);
    }
    snapshots.push([t, new Map(balances)]);
  }
  return {
    trades,
    flows,
    rateAt,
    endSec: steps + 1,
    balancesAfter: (timeSec) => {
      let last = new Map<string, string>([["USD", "50000"]]);
      for (const [t, snapshot] of snapshots) {
        if (t <= timeSec) last = snapshot;
      }
      return last;
    },
  };
}

function equityAt(
  balances: Map<string, string>,
  rateAt: RateAt,
  timeSec: number,
): string {
  let total = "0";
  for (const [asset, amount] of balances) {
    total = addDecimal(
      total,
      multiplyDecimal(amount, rateAt(asset, timeSec) as string),
    );
  }
  return total;
}

Deno.test("realised + Δ unrealised − fees + income + net deposits = Δ equity, for random histories", () => {
  for (let seed = 1; seed <= 60; seed++) {
    const h = randomHistory(seed);
    const end = h.balancesAfter(h.endSec);
    const whole = computePnl(h.trades, h.flows, {
      rateAt: h.rateAt,
      untilSec: h.endSec,
    });
    assert.equal(
      whole.complete,
      true,
      `seed ${seed}: ${JSON.stringify(whole.unpriced)}`,
    );
    const sum = (r: typeof whole) =>
      addDecimal(
        addDecimal(
          subtractDecimal(
            addDecimal(r.realizedPnl, r.unrealizedChange),
            r.fees,
          ),
          r.income,
        ),
        r.netDeposits,
      );
    assert.equal(
      compareDecimal(sum(whole), equityAt(end, h.rateAt, h.endSec)),
      0,
      `seed ${seed}: whole history`,
    );
    for (const position of whole.positions) {
      assert.equal(
        compareDecimal(position.qty, end.get(position.asset) ?? "0"),
        0,
        `seed ${seed}: lots of ${position.asset} = its balance`,
      );
    }
    // A random range: equity before its start is the balances just before it.
    const since = 1 + Math.floor(prng(seed * 97)() * (h.endSec - 1));
    const ranged = computePnl(h.trades, h.flows, {
      rateAt: h.rateAt,
      untilSec: h.endSec,
      sinceSec: since,
    });
    const before = h.balancesAfter(since - 0.001);
    const change = subtractDecimal(
      equityAt(end, h.rateAt, h.endSec),
      equityAt(before, h.rateAt, since),
    );
    assert.equal(
      compareDecimal(sum(ranged), change),
      0,
      `seed ${seed}: range from ${since}`,
    );
  }
});

Deno.test("remarkPnl() at new marks equals computePnl() at those marks, for random histories", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const h = randomHistory(seed);
    const random = prng(seed * 31);
    // Marks: a random price per asset, sometimes none (unpriced).
    const marks = () => {
      const table = new Map<string, string | null>();
      return (asset: string) => {
        if (!table.has(asset)) {
          table.set(
            asset,
            random() < 0.2 ? null : (1 + random() * 50_000).toFixed(2),
          );
        }
        return table.get(asset)!;
      };
    };
    for (const sinceSec of [undefined, Math.floor(h.endSec / 2)]) {
      const options = {
        rateAt: h.rateAt,
        ...(sinceSec === undefined ? {} : { sinceSec }),
      };
      const first = computePnl(h.trades, h.flows, {
        ...options,
        mark: marks(),
      });
      const next = marks();
      assert.deepEqual(
        remarkPnl(first, next),
        computePnl(h.trades, h.flows, { ...options, mark: next }),
        `seed ${seed}, since ${sinceSec}`,
      );
    }
  }
  const past = computePnl([], [], { rateAt: () => null, untilSec: 5 });
  assert.throws(() => remarkPnl(past, () => "1"), RangeError);
});
