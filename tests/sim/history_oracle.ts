/**
 * An independent FIFO for the account tests: computed straight from the
 * raw `TradesHistory` and `Ledgers` rows the simulator serves, with its own
 * BigInt arithmetic and asset names (no core/account, no core/decimal), so
 * it can disagree with core/account when either is wrong.
 *
 * Conventions it shares with core/account, because they are the
 * definition of the numbers (docs/kraken/ACCOUNT.md): lots per asset in
 * USD; a cross quote and a third-asset fee valued at the latest own USD
 * fill of that asset at or before the time (else the first after); KFEE at
 * 0.01 USD; the payer of a fee read from the ledger; wallets folded and
 * internal transfers netted; things without a price skipped.
 *
 * @module
 */

import type { LedgerEntry, TradeInfo } from "@krakked/core/rest/types";
import type { SimAccount } from "../../server/sim/exchange/account.ts";

const SCALE = 30n;
const ONE = 10n ** SCALE;

/** Decimal text → BigInt at 30 decimals. */
export function fixed(text: string): bigint {
  const negative = text.startsWith("-");
  const [whole = "0", fraction = ""] = text.replace(/^[-+]/, "").split(".");
  const value = BigInt(whole || "0") * ONE +
    BigInt(
      (fraction + "0".repeat(Number(SCALE))).slice(0, Number(SCALE)) || "0",
    );
  return negative ? -value : value;
}

function mul(a: bigint, b: bigint): bigint {
  const product = a * b;
  if (product % ONE !== 0n) throw new Error("oracle: inexact product");
  return product / ONE;
}

const NAMES: Record<string, string> = {
  XXBT: "BTC",
  XBT: "BTC",
  XETH: "ETH",
  ZUSD: "USD",
  ZEUR: "EUR",
  XXDG: "DOGE",
  XDG: "DOGE",
  XXRP: "XRP",
  XLTC: "LTC",
  XXLM: "XLM",
  KFEE: "KFEE",
};

/** Folds a ledger/balance asset key: `DOT.S` → `DOT`, `XXBT` → `BTC`. */
export function foldAsset(key: string): string {
  const bare = key.replace(/\.(S|M|F|B|T|HOLD)$/, "");
  return NAMES[bare] ?? bare;
}

/** What the oracle computes. */
export interface OracleResult {
  /** Realised P&L per asset, 30-decimal BigInt. */
  realizedByAsset: Map<string, bigint>;
  /** Fees in USD. */
  fees: bigint;
  /** Net quantity per asset. */
  qty: Map<string, bigint>;
  /** Cost basis per asset. */
  cost: Map<string, bigint>;
  /** Trades skipped for want of a rate. */
  skipped: string[];
}

/**
 * Replays the raw history.
 *
 * @param trades `TradesHistory` rows by txid.
 * @param ledger `Ledgers` rows by id.
 * @param pairOf REST pair key → base and quote asset keys.
 * @returns Realised P&L per asset, fees, holdings.
 */
export function oracleFifo(
  trades: Record<string, TradeInfo>,
  ledger: Record<string, LedgerEntry>,
  pairOf: (key: string) => { base: string; quote: string },
): OracleResult {
  const feeOf = new Map<string, Array<[string, bigint]>>();
  const flows = new Map<
    string,
    { id: string; t: number; asset: string; amount: bigint; fee: bigint }
  >();
  for (const [id, e] of Object.entries(ledger)) {
    if (e.type === "trade") {
      if (fixed(e.fee) !== 0n) {
        const list = feeOf.get(e.refid) ?? [];
        list.push([foldAsset(e.asset), fixed(e.fee)]);
        feeOf.set(e.refid, list);
      }
      continue;
    }
    const key = `${e.refid}|${foldAsset(e.asset)}`;
    const seen = flows.get(key);
    if (seen) {
      seen.amount += fixed(e.amount);
      seen.fee += fixed(e.fee);
      if (id < seen.id && e.time <= seen.t) seen.id = id;
    } else {
      flows.set(key, {
        id,
        t: e.time,
        asset: foldAsset(e.asset),
        amount: fixed(e.amount),
        fee: fixed(e.fee),
      });
    }
  }
  const rows = Object.entries(trades).map(([id, t]) => {
    const p = pairOf(t.pair);
    return { id, t, base: foldAsset(p.base), quote: foldAsset(p.quote) };
  });
  const usdSeries = new Map<string, Array<[number, bigint]>>();
  for (
    const r of [...rows].sort((a, b) =>
      a.t.time - b.t.time || (a.id < b.id ? -1 : 1)
    )
  ) {
    if (r.quote !== "USD") continue;
    const list = usdSeries.get(r.base) ?? [];
    list.push([r.t.time, fixed(r.t.price)]);
    usdSeries.set(r.base, list);
  }
  const rate = (asset: string, time: number): bigint | null => {
    if (asset === "USD") return ONE;
    if (asset === "KFEE") return fixed("0.01");
    const list = usdSeries.get(asset);
    if (!list || list.length === 0) return null;
    let best = list[0]![1];
    for (const [t, p] of list) {
      if (t <= time) best = p;
      else break;
    }
    return best;
  };
  type Ev = { t: number; order: number; id: string; run: () => void };
  const lots = new Map<string, Array<{ qty: bigint; price: bigint }>>();
  const realized = new Map<string, bigint>();
  let fees = 0n;
  const skipped: string[] = [];
  const move = (asset: string, qty: bigint, price: bigint) => {
    // qty > 0 adds, < 0 removes; FIFO against opposite-signed lots.
    if (asset === "USD" || qty === 0n) return;
    const book = lots.get(asset) ?? [];
    lots.set(asset, book);
    let left = qty;
    while (
      left !== 0n && book.length > 0 && (book[0]!.qty > 0n) !== (left > 0n)
    ) {
      const lot = book[0]!;
      const take =
        (left < 0n ? -left : left) < (lot.qty < 0n ? -lot.qty : lot.qty)
          ? (left < 0n ? -left : left)
          : (lot.qty < 0n ? -lot.qty : lot.qty);
      const pnl = lot.qty > 0n
        ? mul(price - lot.price, take)
        : mul(lot.price - price, take);
      realized.set(asset, (realized.get(asset) ?? 0n) + pnl);
      lot.qty += lot.qty > 0n ? -take : take;
      if (lot.qty === 0n) book.shift();
      left += left > 0n ? -take : take;
    }
    if (left !== 0n) book.push({ qty: left, price });
  };
  const events: Ev[] = [];
  for (const f of flows.values()) {
    if (f.amount === 0n && f.fee === 0n) continue;
    events.push({
      t: f.t,
      order: 0,
      id: f.id,
      run: () => {
        const r = rate(f.asset, f.t);
        if (r === null) return;
        move(f.asset, f.amount, r);
        move(f.asset, -f.fee, r);
        fees += mul(f.fee, r);
      },
    });
  }
  for (const r of rows) {
    events.push({
      t: r.t.time,
      order: 1,
      id: r.id,
      run: () => {
        const q = rate(r.quote, r.t.time);
        if (q === null) {
          skipped.push(r.id);
          return;
        }
        const buy = r.t.type === "buy";
        const basePrice = mul(fixed(r.t.price), q);
        const vol = fixed(r.t.vol);
        move(r.base, buy ? vol : -vol, basePrice);
        move(r.quote, buy ? -fixed(r.t.cost) : fixed(r.t.cost), q);
        const paid = feeOf.get(r.id) ??
          (fixed(r.t.fee) === 0n
            ? []
            : [[r.quote, fixed(r.t.fee)] as [string, bigint]]);
        for (const [asset, amount] of paid) {
          const fr = asset === r.base
            ? basePrice
            : asset === r.quote
            ? q
            : rate(asset, r.t.time);
          if (fr === null) continue;
          move(asset, -amount, fr);
          fees += mul(amount, fr);
        }
      },
    });
  }
  events.sort((a, b) =>
    a.t - b.t || a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  for (const e of events) e.run();
  const qty = new Map<string, bigint>();
  const cost = new Map<string, bigint>();
  for (const [asset, book] of lots) {
    qty.set(asset, book.reduce((s, l) => s + l.qty, 0n));
    cost.set(asset, book.reduce((s, l) => s + mul(l.qty, l.price), 0n));
  }
  return { realizedByAsset: realized, fees, qty, cost, skipped };
}

/**
 * A clock that runs `factor` times faster than real time, with timers to
 * match: the simulator's rate-limit counters and the client's limiter both
 * read it, so paging thousands of rows keeps Kraken's pacing in virtual
 * time without waiting for it in real time.
 *
 * @param startMs Virtual start.
 * @param factor Speed-up.
 * @returns `now`, `setTimer` and the virtual ms elapsed so far.
 */
export function speedClock(startMs: number, factor: number): {
  now: () => number;
  setTimer: (fn: () => void, ms: number) => () => void;
  elapsedMs: () => number;
} {
  const t0 = performance.now();
  const now = () => Math.floor(startMs + (performance.now() - t0) * factor);
  return {
    now,
    setTimer(fn, ms) {
      const id = setTimeout(fn, Math.max(0, ms / factor));
      return () => clearTimeout(id);
    },
    elapsedMs: () => now() - startMs,
  };
}

/**
 * {@linkcode oracleFifo} over a simulator account's raw rows as it serves
 * them now, and how many fills that is.
 *
 * @param account The simulator's account.
 * @returns The FIFO and the fill count it read.
 */
export function oracleOfSimulator(account: SimAccount): {
  fifo: OracleResult;
  fills: number;
} {
  const own = account.trades();
  const trades = Object.fromEntries(
    own.map((t) => [t.txid, account.tradeInfo(t)]),
  );
  const ledger = Object.fromEntries(
    account.ledger().map((e) => [e.id, account.ledgerInfo(e)]),
  );
  const byKey = new Map(own.map((t) => [t.pair.key, t.pair]));
  return {
    fifo: oracleFifo(trades, ledger, (key) => byKey.get(key)!),
    fills: own.length,
  };
}
