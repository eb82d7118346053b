/**
 * Cash flows from Kraken's `Ledgers`: what came in and went out of the
 * account that was not a trade. Read only — the ledger is read, no funding
 * call exists anywhere in Krakked.
 *
 * Each entry is classified by its `type` (docs/kraken/REST.md §5,
 * "Ledger entry"):
 *
 * - `external`: `deposit`, `withdrawal`, `transfer`, `custodytransfer` —
 *   money the owner moved; performance excludes it ("net deposits").
 * - `income`: `staking`, `reward`, `dividend`, `credit`, `nftrebate`,
 *   `rebate` — earned, part of performance but not trading P&L.
 * - `trade`: `trade` (and margin/rollover/settled entries), read from
 *   `TradesHistory` instead; here only their fees tell which asset paid.
 * - `other`: everything else (`adjustment`, `spend`, `receive`,
 *   `conversion`, `sale`, …), counted with the external flows so equity
 *   still adds up, and listed so a reader sees it.
 *
 * Internal transfers (spot ↔ staking wallet) are two entries with one
 * `refid` whose amounts cancel once the wallet suffix is folded; they move
 * no value and are dropped from the flows (`netFlows`).
 *
 * @module
 */

import { addDecimal, compareDecimal } from "../decimal.ts";
import type { AssetTable } from "../market/assets.ts";
import type { LedgerEntry } from "../rest/types.ts";
import { accountAsset } from "./assets.ts";

/** How a ledger entry counts. See the module documentation. */
export type CashFlowKind = "external" | "income" | "trade" | "other";

/** One ledger entry, named the account's way. */
export interface CashFlow {
  /** Ledger id (`L…`). */
  id: string;
  /** Reference id: the trade txid or the funding reference. */
  refid: string;
  /** Unix seconds with decimals. */
  timeSec: number;
  /** Kraken's `type`, e.g. `deposit`. */
  type: string;
  /** Kraken's `subtype`, often empty. */
  subtype: string;
  /** How it counts. */
  kind: CashFlowKind;
  /** Folded common code (`ETH` for `XETH` and `ETH.S`, `KFEE`). */
  asset: string;
  /** Wallet suffix (`S`, `F`, …) or `null`. */
  wallet: string | null;
  /** Signed change, asset units, as Kraken printed it. */
  amount: string;
  /** Fee charged with it, asset units. */
  fee: string;
  /** Balance of that asset key after it. */
  balance: string;
}

const KIND_BY_TYPE: Readonly<Record<string, CashFlowKind>> = {
  deposit: "external",
  withdrawal: "external",
  transfer: "external",
  custodytransfer: "external",
  staking: "income",
  reward: "income",
  dividend: "income",
  credit: "income",
  nftrebate: "income",
  "nft_rebate": "income",
  rebate: "income",
  trade: "trade",
  margin: "trade",
  rollover: "trade",
  settled: "trade",
};

/**
 * Classifies a ledger `type`.
 *
 * @param type Kraken's ledger entry type.
 * @returns Its kind; unknown types are `other`.
 * @example Kinds
 * ```ts
 * import { cashFlowKind } from "./ledger.ts";
 * cashFlowKind("deposit"); // "external"
 * cashFlowKind("staking"); // "income"
 * cashFlowKind("adjustment"); // "other"
 * ```
 */
export function cashFlowKind(type: string): CashFlowKind {
  return KIND_BY_TYPE[type.toLowerCase()] ?? "other";
}

/**
 * Reads a `Ledgers` result (one page or many merged) into cash flows,
 * oldest first (ties by id, so the order is stable).
 *
 * @param ledger Entries by ledger id.
 * @param assets The asset table.
 * @returns Every entry, classified.
 * @throws {SyntaxError} When an amount or fee is not decimal text.
 * @example Read
 * ```ts
 * import { AssetTable } from "../market/assets.ts";
 * import { cashFlows } from "./ledger.ts";
 * cashFlows({
 *   L1: { refid: "Q1", time: 1, type: "deposit", subtype: "", aclass: "currency",
 *     asset: "ZUSD", amount: "100.0000", fee: "0.0000", balance: "100.0000" },
 * }, AssetTable.fallback())[0]?.kind; // "external"
 * ```
 */
export function cashFlows(
  ledger: Readonly<Record<string, LedgerEntry>>,
  assets: AssetTable,
): CashFlow[] {
  const flows = Object.entries(ledger).map(([id, entry]): CashFlow => {
    const { asset, wallet } = accountAsset(entry.asset, assets);
    // Validate the money now, so a bad entry fails here and not mid-report.
    compareDecimal(entry.amount, "0");
    compareDecimal(entry.fee, "0");
    return {
      id,
      refid: entry.refid,
      timeSec: entry.time,
      type: entry.type,
      subtype: entry.subtype ?? "",
      kind: cashFlowKind(entry.type),
      asset,
      wallet,
      amount: entry.amount,
      fee: entry.fee,
      balance: entry.balance,
    };
  });
  return flows.sort(byTimeThenId);
}

function byTimeThenId(
  a: { timeSec: number; id: string },
  b: { timeSec: number; id: string },
): number {
  return a.timeSec - b.timeSec || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A non-trade flow after folding wallets, per reference and asset. */
export interface NetFlow {
  /** The first entry's id (stable key). */
  id: string;
  /** Reference id shared by the entries. */
  refid: string;
  /** Time of the first entry. */
  timeSec: number;
  /** Kind of the entries (external wins over other, other over income). */
  kind: Exclude<CashFlowKind, "trade">;
  /** The ledger types joined (`deposit`, `transfer`, …). */
  type: string;
  /** Folded asset. */
  asset: string;
  /** Summed signed amount. */
  amount: string;
  /** Summed fee. */
  fee: string;
}

/**
 * Folds wallets and merges the non-trade entries that share a reference and
 * asset; a merge that moves nothing (an internal transfer) is dropped.
 *
 * @param flows Cash flows, oldest first.
 * @returns Net flows, oldest first.
 * @example A spot → staking transfer nets out
 * ```ts
 * import { netFlows } from "./ledger.ts";
 * const base = { refid: "R", timeSec: 1, type: "transfer", subtype: "", kind: "external" as const,
 *   asset: "ETH", fee: "0", balance: "0" };
 * netFlows([
 *   { ...base, id: "L1", wallet: null, amount: "-1" },
 *   { ...base, id: "L2", wallet: "S", amount: "1" },
 * ]).length; // 0
 * ```
 */
export function netFlows(flows: readonly CashFlow[]): NetFlow[] {
  const merged = new Map<string, NetFlow>();
  const rank = { external: 2, other: 1, income: 0 } as const;
  for (const flow of flows) {
    if (flow.kind === "trade") continue;
    const key = `${flow.refid}\u0000${flow.asset}`;
    const seen = merged.get(key);
    if (seen === undefined) {
      merged.set(key, {
        id: flow.id,
        refid: flow.refid,
        timeSec: flow.timeSec,
        kind: flow.kind,
        type: flow.type,
        asset: flow.asset,
        amount: flow.amount,
        fee: flow.fee,
      });
      continue;
    }
    seen.amount = addDecimal(seen.amount, flow.amount);
    seen.fee = addDecimal(seen.fee, flow.fee);
    if (rank[flow.kind] > rank[seen.kind]) seen.kind = flow.kind;
    if (!seen.type.split("+").includes(flow.type)) {
      seen.type = `${seen.type}+${flow.type}`;
    }
  }
  return [...merged.values()]
    .filter((f) =>
      compareDecimal(f.amount, "0") !== 0 || compareDecimal(f.fee, "0") !== 0
    )
    .sort(byTimeThenId);
}

/**
 * Which asset paid each trade's fee, from the trade entries of the ledger:
 * the entries sharing the trade's txid as `refid` with a non-zero `fee`
 * (the quote entry for `fciq`, the base entry for `fcib`, a `KFEE` entry
 * when fee credits paid).
 *
 * @param flows Cash flows (any order).
 * @returns Fees by trade txid; a trade with no fee entry is absent.
 * @example Fee in base
 * ```ts
 * import { tradeFees } from "./ledger.ts";
 * tradeFees([{ id: "L1", refid: "T1", timeSec: 1, type: "trade", subtype: "", kind: "trade",
 *   asset: "BTC", wallet: null, amount: "0.1", fee: "0.0002", balance: "0.0998" }])
 *   .get("T1"); // [{ asset: "BTC", amount: "0.0002" }]
 * ```
 */
export function tradeFees(
  flows: readonly CashFlow[],
): Map<string, { asset: string; amount: string }[]> {
  const fees = new Map<string, { asset: string; amount: string }[]>();
  for (const flow of flows) {
    if (flow.type !== "trade" || compareDecimal(flow.fee, "0") === 0) continue;
    const list = fees.get(flow.refid) ?? [];
    list.push({ asset: flow.asset, amount: flow.fee });
    fees.set(flow.refid, list);
  }
  return fees;
}
