/**
 * Own trades the account's way: `TradesHistory` rows with common asset
 * codes, exact text, and the fee in the asset that paid it.
 *
 * Kraken's trade `fee` field is always in quote units (docs/kraken/REST.md
 * §9), even when the base (`fcib`) or fee credits (`KFEE`) paid; the ledger
 * says which. {@linkcode accountTrades} takes the fees found in the ledger
 * (`tradeFees`) and falls back to the quote fee when the ledger has none
 * for a trade.
 *
 * @module
 */

import { compareDecimal } from "../decimal.ts";
import type { TradeInfo } from "../rest/types.ts";

/** A fee in the asset that paid it. */
export interface AccountFee {
  /** Folded common code (`USD`, `BTC`, `KFEE`). */
  asset: string;
  /** Amount, asset units. */
  amount: string;
}

/** One own trade. */
export interface AccountTrade {
  /** Trade txid (`T…`), the cache key. */
  id: string;
  /** Canonical pair id (the altname, `XBTUSD`). */
  pair: string;
  /** Base, common code. */
  base: string;
  /** Quote, common code. */
  quote: string;
  /** Side. */
  side: "buy" | "sell";
  /** Price, quote per base. */
  price: string;
  /** Volume, base units. */
  vol: string;
  /** `price × vol` as Kraken printed it, quote units. */
  cost: string;
  /** Fill time, Unix seconds with decimals. */
  timeSec: number;
  /** Fees, each in the asset that paid it. */
  fees: AccountFee[];
}

/** Names of a pair, as the REST pair key maps to them. */
export interface TradePairNames {
  /** Canonical id (altname). */
  id: string;
  /** Base, common code. */
  base: string;
  /** Quote, common code. */
  quote: string;
}

/**
 * Turns `TradesHistory` rows into account trades, oldest first (ties by
 * id).
 *
 * @param rows Trades by txid (pages merged).
 * @param options `pairOf` maps a REST pair key (`XXBTZUSD`) to its names;
 *   `fees` holds the ledger's fees by trade txid.
 * @returns The trades.
 * @throws {RangeError} When a trade's pair is unknown.
 * @throws {SyntaxError} When a price, volume, cost or fee is not decimal text.
 * @example Fee from the ledger
 * ```ts
 * import { accountTrades } from "./trades.ts";
 * const [trade] = accountTrades({
 *   T1: { ordertxid: "O1", postxid: "", pair: "XXBTZUSD", time: 1, type: "buy",
 *     ordertype: "limit", price: "100.0", cost: "10.0", fee: "0.02", vol: "0.1",
 *     margin: "0", misc: "" },
 * }, {
 *   pairOf: () => ({ id: "XBTUSD", base: "BTC", quote: "USD" }),
 *   fees: new Map([["T1", [{ asset: "BTC", amount: "0.0002" }]]]),
 * });
 * trade?.fees; // [{ asset: "BTC", amount: "0.0002" }]
 * ```
 */
export function accountTrades(
  rows: Readonly<Record<string, TradeInfo>>,
  options: {
    pairOf: (restKey: string) => TradePairNames | undefined;
    fees?: ReadonlyMap<string, readonly AccountFee[]>;
  },
): AccountTrade[] {
  const trades = Object.entries(rows).map(([id, row]): AccountTrade => {
    const pair = options.pairOf(row.pair);
    if (pair === undefined) {
      throw new RangeError(`Cannot read trade ${id}: unknown pair ${row.pair}`);
    }
    for (const value of [row.price, row.vol, row.cost, row.fee]) {
      compareDecimal(value, "0");
    }
    const ledgerFees = options.fees?.get(id);
    const fees = ledgerFees !== undefined
      ? ledgerFees.map((f) => ({ ...f }))
      : compareDecimal(row.fee, "0") === 0
      ? []
      : [{ asset: pair.quote, amount: row.fee }];
    return {
      id,
      pair: pair.id,
      base: pair.base,
      quote: pair.quote,
      side: row.type,
      price: row.price,
      vol: row.vol,
      cost: row.cost,
      timeSec: row.time,
      fees,
    };
  });
  return trades.sort((a, b) =>
    a.timeSec - b.timeSec || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** A fill as the paper broker records it (`PaperFill`), structurally. */
export interface FillLike {
  /** Trade id. */
  tradeId: string;
  /** Canonical pair id. */
  pair: string;
  /** Side. */
  side: "buy" | "sell";
  /** Quantity (base). */
  qty: string;
  /** Price. */
  price: string;
  /** `qty × price` (quote). */
  cost: string;
  /** Fee amount. */
  fee: string;
  /** Fee asset, common code. */
  feeAsset: string;
  /** When, ms. */
  atMs: number;
}

/**
 * Turns paper fills into account trades, so the paper account's P&L runs
 * through the same {@linkcode AccountTrade} path as the live one.
 *
 * @param fills Fills, any order.
 * @param pairOf Canonical pair id → base and quote common codes.
 * @returns Account trades, oldest first.
 * @throws {RangeError} When a fill's pair is unknown.
 * @example Paper fills
 * ```ts
 * import { accountTradesFromFills } from "./trades.ts";
 * accountTradesFromFills([
 *   { tradeId: "T1", pair: "ETHUSD", side: "buy", qty: "1", price: "2000",
 *     cost: "2000", fee: "5.2", feeAsset: "USD", atMs: 1_000 },
 * ], () => ({ base: "ETH", quote: "USD" }))[0]?.timeSec; // 1
 * ```
 */
export function accountTradesFromFills(
  fills: readonly FillLike[],
  pairOf: (pair: string) => { base: string; quote: string } | undefined,
): AccountTrade[] {
  return fills.map((f): AccountTrade => {
    const names = pairOf(f.pair);
    if (names === undefined) {
      throw new RangeError(
        `Cannot read fill ${f.tradeId}: unknown pair ${f.pair}`,
      );
    }
    return {
      id: f.tradeId,
      pair: f.pair,
      base: names.base,
      quote: names.quote,
      side: f.side,
      price: f.price,
      vol: f.qty,
      cost: f.cost,
      timeSec: f.atMs / 1000,
      fees: compareDecimal(f.fee, "0") === 0
        ? []
        : [{ asset: f.feeAsset, amount: f.fee }],
    };
  }).sort((a, b) =>
    a.timeSec - b.timeSec || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}
