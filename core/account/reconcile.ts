/**
 * Reconciliation: what the private stream says about the account against
 * what REST says, with every difference reported (never hidden).
 *
 * Run it after hydration, periodically and after each reconnect. Amounts
 * compare as numbers (`"1.50"` equals `"1.5"`); an asset missing on one
 * side counts as zero; an order missing on one side is a drift of its own.
 *
 * @module
 */

import { compareDecimal, isDecimalText } from "../decimal.ts";
import type { AssetTable } from "../market/assets.ts";
import type { ExtendedBalance } from "../rest/types.ts";
import { accountAsset } from "./assets.ts";

/** One open order as both sides can describe it. */
export interface OrderView {
  /** Pair, any one spelling used on both sides (e.g. the WS v2 symbol). */
  pair: string;
  /** Side. */
  side: string;
  /** Ordered quantity. */
  qty: string;
  /** Filled quantity. */
  filled: string;
  /** Limit price, when there is one. */
  limitPrice?: string;
}

/** The account state one source holds. */
export interface AccountSnapshot {
  /** Balances by common asset code (wallets folded or not, the same way on both sides). */
  balances: Readonly<Record<string, string>>;
  /** Open orders by order id. */
  openOrders: Readonly<Record<string, OrderView>>;
}

/** One field that differs. */
export interface DriftField {
  /** Field name (`balance`, `filled`, `present`, …). */
  field: string;
  /** What the stream says (`null` when absent). */
  stream: string | null;
  /** What REST says (`null` when absent). */
  rest: string | null;
}

/** A balance or order whose two views differ. */
export interface Drift {
  /** What differs. */
  kind: "balance" | "order";
  /** The asset or the order id. */
  id: string;
  /** The fields that differ. */
  fields: DriftField[];
}

function sameValue(a: string | null, b: string | null): boolean {
  if (a === b) return true;
  if (a !== null && b !== null && isDecimalText(a) && isDecimalText(b)) {
    return compareDecimal(a, b) === 0;
  }
  return false;
}

/**
 * Compares the stream's view with REST's.
 *
 * @param stream State derived from the `balances`/`executions` stream.
 * @param rest State from `BalanceEx` and `OpenOrders`.
 * @returns Every drift, balances first, each sorted by id; `[]` when they agree.
 * @example A balance changed behind the stream's back
 * ```ts
 * import { reconcile } from "./reconcile.ts";
 * reconcile(
 *   { balances: { USD: "100" }, openOrders: {} },
 *   { balances: { USD: "90.00" }, openOrders: {} },
 * ); // [{ kind: "balance", id: "USD", fields: [{ field: "balance", stream: "100", rest: "90.00" }] }]
 * ```
 */
export function reconcile(
  stream: AccountSnapshot,
  rest: AccountSnapshot,
): Drift[] {
  const drifts: Drift[] = [];
  const assets = [
    ...new Set([
      ...Object.keys(stream.balances),
      ...Object.keys(rest.balances),
    ]),
  ].sort();
  for (const asset of assets) {
    const s = stream.balances[asset] ?? "0";
    const r = rest.balances[asset] ?? "0";
    if (!sameValue(s, r)) {
      drifts.push({
        kind: "balance",
        id: asset,
        fields: [{ field: "balance", stream: s, rest: r }],
      });
    }
  }
  const ids = [
    ...new Set([
      ...Object.keys(stream.openOrders),
      ...Object.keys(rest.openOrders),
    ]),
  ].sort();
  for (const id of ids) {
    const s = stream.openOrders[id];
    const r = rest.openOrders[id];
    if (s === undefined || r === undefined) {
      drifts.push({
        kind: "order",
        id,
        fields: [{
          field: "present",
          stream: s === undefined ? null : "open",
          rest: r === undefined ? null : "open",
        }],
      });
      continue;
    }
    const fields: DriftField[] = [];
    for (
      const field of ["pair", "side", "qty", "filled", "limitPrice"] as const
    ) {
      const a = s[field] ?? null;
      const b = r[field] ?? null;
      if (!sameValue(a, b)) fields.push({ field, stream: a, rest: b });
    }
    if (fields.length > 0) drifts.push({ kind: "order", id, fields });
  }
  return drifts;
}

/**
 * REST balances keyed the way the WS v2 `balances` channel names them: the
 * common code, with a wallet suffix kept (`BTC`, `DOT.S`, `KFEE`).
 *
 * @param balances A `BalanceEx` (or `Balance`) result by asset key.
 * @param assets The asset table.
 * @returns Balance text by symbol.
 * @example Symbols
 * ```ts
 * import { AssetTable } from "../market/assets.ts";
 * import { balancesBySymbol } from "./reconcile.ts";
 * balancesBySymbol({ XXBT: "1.5", "DOT.S": "2" }, AssetTable.fallback());
 * // { BTC: "1.5", "DOT.S": "2" }
 * ```
 */
export function balancesBySymbol(
  balances: Readonly<Record<string, ExtendedBalance | string>>,
  assets: AssetTable,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(balances)) {
    const { asset, wallet } = accountAsset(key, assets);
    out[wallet === null ? asset : `${asset}.${wallet}`] =
      typeof value === "string" ? value : value.balance;
  }
  return out;
}
