/**
 * Equity over time, reconstructed from the ledger: at the end of each UTC
 * day, every asset key's balance is the `balance` field of its newest
 * ledger entry before that instant (Kraken prints the resulting balance
 * on every entry, trades included), valued at that instant's rate.
 *
 * The rate is {@linkcode tradeRates}: the price of the account's own latest
 * USD fill at or before the day end (the first one after, when none came
 * before), USD = 1 and KFEE = 0.01. No market data is read, so the series
 * costs no REST call and is the same on every run; an asset the account
 * never traded against USD has no rate and is listed in that point's
 * `unpriced` (left out of its total, never valued at 0). Between two own
 * fills the price is the older fill's, so the series shows what the
 * account's own trades say an asset was worth, not the market's daily
 * close.
 *
 * Points are bounded: one per day when the range has at most `maxPoints`
 * days, else one every `ceil((days − 1) / (maxPoints − 1))` days (the last
 * point is always the range's end).
 *
 * @module
 */

import { addDecimal, compareDecimal, multiplyDecimal } from "../decimal.ts";
import type { CashFlow } from "./ledger.ts";
import type { RateAt } from "./rates.ts";

/** Seconds in a day. */
const DAY_SEC = 86_400;

/** One point of the series. */
export interface EquityPoint {
  /** The instant valued (a UTC midnight ending the day, or the range end), Unix seconds. */
  timeSec: number;
  /** The UTC day it closes, `YYYY-MM-DD`. */
  day: string;
  /** Sum of the priced balances, USD. */
  total: string;
  /** Whether every non-zero balance had a rate. */
  complete: boolean;
  /** Assets (common codes) with a non-zero balance and no rate. */
  unpriced: string[];
}

/** Options of {@linkcode equityHistory}. */
export interface EquityHistoryOptions {
  /** Start of the range, Unix seconds (default: the first entry's day). */
  fromSec?: number;
  /** End of the range, Unix seconds (the last point is valued here). */
  toSec: number;
  /** Most points returned (default 400, at least 2). */
  maxPoints?: number;
}

/**
 * Equity at each day end of the range, from ledger balances × the day's
 * rate.
 *
 * @param flows Every ledger entry (`cashFlows`, oldest first), trades included.
 * @param rateAt USD per unit at an instant ({@linkcode tradeRates}).
 * @param options Range and bound.
 * @returns Points, oldest first; empty without entries up to `toSec`.
 * @throws {RangeError} When `toSec` is not a finite number.
 * @example Two days
 * ```ts
 * import { equityHistory } from "./equity_history.ts";
 * const flow = { refid: "R", type: "deposit", subtype: "", kind: "external" as const,
 *   wallet: null, fee: "0" };
 * const points = equityHistory([
 *   { ...flow, id: "L1", timeSec: 3600, asset: "USD", amount: "100", balance: "100" },
 *   { ...flow, id: "L2", timeSec: 90000, asset: "BTC", amount: "1", balance: "1" },
 * ], (asset) => (asset === "BTC" ? "50" : asset === "USD" ? "1" : null), { toSec: 100000 });
 * points.map((p) => p.total); // ["100", "150"]
 * ```
 */
export function equityHistory(
  flows: readonly CashFlow[],
  rateAt: RateAt,
  options: EquityHistoryOptions,
): EquityPoint[] {
  const toSec = options.toSec;
  if (!Number.isFinite(toSec)) {
    throw new RangeError(`toSec must be a finite number, got ${toSec}`);
  }
  const sorted = [...flows].sort((a, b) =>
    a.timeSec - b.timeSec || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  const first = sorted[0];
  if (first === undefined || first.timeSec > toSec) return [];
  const fromSec = options.fromSec ?? first.timeSec;
  const maxPoints = Math.max(2, Math.floor(options.maxPoints ?? 400));
  const firstDay = Math.floor(fromSec / DAY_SEC);
  const lastDay = Math.floor(toSec / DAY_SEC);
  // Whole days before the end's day, one point per step of them, plus the end.
  const step = Math.max(
    1,
    Math.ceil((lastDay - firstDay) / (maxPoints - 1)),
  );
  // Instants valued: each step-th day end before the range end, then the end.
  const instants: { at: number; inclusive: boolean; day: number }[] = [];
  for (let day = firstDay; day < lastDay; day += step) {
    // The end of the last day of the step (never past the range end).
    const closes = Math.min(day + step - 1, lastDay - 1);
    instants.push({
      at: (closes + 1) * DAY_SEC,
      inclusive: false,
      day: closes,
    });
  }
  instants.push({ at: toSec, inclusive: true, day: lastDay });
  // Balances per wire key (asset and wallet apart), replayed in order.
  const balances = new Map<string, { asset: string; balance: string }>();
  const points: EquityPoint[] = [];
  let next = 0;
  for (const instant of instants) {
    while (next < sorted.length) {
      const f = sorted[next]!;
      if (
        instant.inclusive ? f.timeSec > instant.at : f.timeSec >= instant.at
      ) {
        break;
      }
      balances.set(`${f.asset}.${f.wallet ?? ""}`, {
        asset: f.asset,
        balance: f.balance,
      });
      next++;
    }
    if (instant.at < fromSec) continue;
    let total = "0";
    const unpriced = new Set<string>();
    for (const { asset, balance } of balances.values()) {
      if (compareDecimal(balance, "0") === 0) continue;
      const rate = rateAt(asset, instant.at);
      if (rate === null) unpriced.add(asset);
      else total = addDecimal(total, multiplyDecimal(balance, rate));
    }
    points.push({
      timeSec: instant.at,
      day: new Date(instant.day * DAY_SEC * 1000).toISOString().slice(0, 10),
      total,
      complete: unpriced.size === 0,
      unpriced: [...unpriced].sort(),
    });
  }
  return points;
}
