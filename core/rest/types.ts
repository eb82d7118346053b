/**
 * Kraken Spot REST wire shapes (docs/kraken/REST.md §3, §5, §6).
 *
 * Prices, volumes, costs, fees and balances are exact decimal strings;
 * 19-digit cursors (`Trades.last`) and ids stay strings. Only the fields
 * Kraken sends as JSON numbers are `number` here.
 *
 * @module
 */

import type { DecimalString } from "../decimal.ts";

/** The `{error, result}` envelope of every REST answer. */
export interface KrakenEnvelope<T> {
  /**
   * Error strings (`EAPI:Invalid nonce`) and `W…` warnings; empty on success.
   * Key off this, never off `result`.
   */
  error: string[];
  /** The result; absent (or `{}`) on failure. */
  result?: T;
}

/** `Time` result. */
export interface ServerTime {
  /** Server time, Unix seconds. */
  unixtime: number;
  /**
   * Server time as RFC 1123 text with a 2-digit year:
   * `Thu, 06 Jul 23 18:50:48 +0000`.
   */
  rfc1123: string;
}

/** `SystemStatus` result. */
export interface SystemStatus {
  /**
   * `online`; `maintenance` (nothing accepted); `cancel_only` (only cancels);
   * `post_only` (only post-only limit orders).
   */
  status: "online" | "maintenance" | "cancel_only" | "post_only";
  /** When the status was reported, RFC 3339 (`2023-07-06T18:52:00Z`). */
  timestamp: string;
}

/** One entry of the `Assets` result (keyed by asset key, e.g. `XXBT`). */
export interface AssetInfo {
  /** Asset class: `currency` (or `tokenized_asset` for xStocks). */
  aclass: string;
  /** Alternate name, e.g. `XBT` for `XXBT` (WS v2 says `BTC`). */
  altname: string;
  /** Record-keeping decimals of balances (XXBT 10, ZUSD 4). */
  decimals: number;
  /** Decimals shown to people (XXBT 5, ZUSD 2). */
  "display_decimals": number;
  /** Margin collateral weight (XXBT 1, XLTC 0.7); sometimes sent as text. */
  "collateral_value"?: number | string;
  /**
   * Funding status: `enabled`, `deposit_only`, `withdrawal_only` or
   * `funding_temporarily_disabled`.
   */
  status?: string;
}

/** A fee schedule: `[[30-day USD volume, percent], …]`. */
export type FeeSchedule = Array<[number, number]>;

/** One entry of the `AssetPairs` result (keyed by REST pair key, e.g. `XXBTZUSD`). */
export interface AssetPairInfo {
  /** Alternate name (`XBTUSD`); orders' `descr.pair` uses it. */
  altname: string;
  /**
   * WS v1 name (`XBT/USD`); missing on some pairs. WS v2 symbols say `BTC/USD`.
   */
  wsname?: string;
  /** Asset class of the base: `currency` (or `tokenized_asset`). */
  "aclass_base": string;
  /** Base asset key (`XXBT`). */
  base: string;
  /** Asset class of the quote: `currency` (or `tokenized_asset`). */
  "aclass_quote": string;
  /** Quote asset key (`ZUSD`). */
  quote: string;
  /** Deprecated volume unit, always `unit`. */
  lot?: string;
  /** Decimals of costs, in quote units (XBTUSD: 5). */
  "cost_decimals"?: number;
  /** Decimals of prices (XBTUSD: 1). */
  "pair_decimals": number;
  /** Decimals of volumes, in base units (XBTUSD: 8). */
  "lot_decimals": number;
  /** Volume multiplier, 1; may be absent. */
  "lot_multiplier"?: number;
  /**
   * Leverage levels offered for buys (`[2,3,4,5]`); `[]` when the pair is not
   * marginable.
   */
  "leverage_buy": number[];
  /**
   * Leverage levels offered for sells; `[]` when the pair is not marginable.
   */
  "leverage_sell": number[];
  /** Taker fee schedule. */
  fees: FeeSchedule;
  /** Maker fee schedule. */
  "fees_maker"?: FeeSchedule;
  /** Currency the fee schedule's volume is counted in (`ZUSD`). */
  "fee_volume_currency"?: string;
  /** Margin level, in percent, that triggers a margin call (80). */
  "margin_call"?: number;
  /** Margin level, in percent, at which positions are liquidated (40). */
  "margin_stop"?: number;
  /** Minimum order volume, in base units (`"0.0001"`). */
  ordermin?: DecimalString;
  /** Minimum order cost, in quote units (`"0.5"`). */
  costmin?: DecimalString;
  /** Price increment (`"0.1"`): a price must be a multiple of it. */
  "tick_size"?: DecimalString;
  /**
   * `online`, `cancel_only`, `post_only`, `limit_only` or `reduce_only`;
   * missing on some pairs (read as online).
   */
  status?: string;
  /**
   * Largest long margin position, in base units (margin pairs only; can exceed
   * 2^32).
   */
  "long_position_limit"?: number;
  /**
   * Largest short margin position, in base units (margin pairs only; can exceed
   * 2^32).
   */
  "short_position_limit"?: number;
}

/** One entry of the `Ticker` result. */
export interface TickerInfo {
  /** Ask `[price, whole-lot volume, lot volume]`. */
  a: [DecimalString, DecimalString, DecimalString];
  /** Bid `[price, whole-lot volume, lot volume]`. */
  b: [DecimalString, DecimalString, DecimalString];
  /** Last trade `[price, lot volume]`. */
  c: [DecimalString, DecimalString];
  /** Volume `[today, last 24 h]`. */
  v: [DecimalString, DecimalString];
  /** VWAP `[today, last 24 h]`. */
  p: [DecimalString, DecimalString];
  /** Trade count `[today, last 24 h]`. */
  t: [number, number];
  /** Low `[today, last 24 h]`. */
  l: [DecimalString, DecimalString];
  /** High `[today, last 24 h]`. */
  h: [DecimalString, DecimalString];
  /** Today's opening price. */
  o: DecimalString;
}

/** OHLC row: `[time, open, high, low, close, vwap, volume, count]`. */
export type OhlcRow = [
  number,
  DecimalString,
  DecimalString,
  DecimalString,
  DecimalString,
  DecimalString,
  DecimalString,
  number,
];

/** `OHLC` result: rows under the pair key, plus the `last` cursor. */
export interface OhlcResult {
  /** The key the rows came under: the REST pair key (`XXBTZUSD`). */
  pair: string;
  /** Candles, oldest first, at most 720; the last one is still forming. */
  rows: OhlcRow[];
  /**
   * Cursor (Unix seconds) to pass back as `since` to poll for newer committed
   * candles.
   */
  last: number;
}

/** Depth level: `[price, volume, timestamp]`. */
export type DepthLevel = [DecimalString, DecimalString, number];

/** `Depth` result for one pair. */
export interface DepthBook {
  /** Asks, ascending by price. */
  asks: DepthLevel[];
  /** Bids, descending by price. */
  bids: DepthLevel[];
}

/** `Depth` result with the key it came under (the REST pair key). */
export interface DepthResult extends DepthBook {
  /**
   * The key the book came under: the REST pair key (ccxt once saw the
   * `wsname`).
   */
  pair: string;
}

/**
 * Public trade row: `[price, volume, time, side, ordertype, misc, trade_id]`.
 * Older answers (and the official example) have 6 elements, without
 * `trade_id`.
 */
export type TradeRow = [
  DecimalString,
  DecimalString,
  number,
  "b" | "s",
  "m" | "l",
  string,
  number?,
];

/** `Trades` result: rows under the pair key; `last` is a 19-digit ns string. */
export interface TradesResult {
  /** The key the rows came under: the REST pair key (`XXBTZUSD`). */
  pair: string;
  /** Trades, oldest first (at most `count`, 1000 by default). */
  rows: TradeRow[];
  /**
   * Cursor for the next page: a 19-digit nanosecond timestamp, opaque; pass it
   * back as `since` unchanged.
   */
  last: string;
}

/** Spread row: `[time, bid, ask]`. */
export type SpreadRow = [number, DecimalString, DecimalString];

/** `Spread` result. */
export interface SpreadResult {
  /** The key the rows came under: the REST pair key (`XXBTZUSD`). */
  pair: string;
  /** Top-of-book changes, oldest first (about the 200 most recent). */
  rows: SpreadRow[];
  /** Cursor (Unix seconds) to pass back as `since`. */
  last: number;
}

/** `BalanceEx` entry. */
export interface ExtendedBalance {
  /** Total balance, in asset units at the asset's `decimals`. */
  balance: DecimalString;
  /** Credit available to the account (a credit line). */
  credit?: DecimalString;
  /** Part of the credit line in use. */
  "credit_used"?: DecimalString;
  /**
   * Amount held by open orders. Available to trade:
   * `balance + credit − credit_used − hold_trade`.
   */
  "hold_trade": DecimalString;
}

/** `TradeBalance` result. */
export interface TradeBalance {
  /**
   * Equivalent balance: every currency's balance combined, in the requested
   * `asset` (default `ZUSD`).
   */
  eb: DecimalString;
  /** Trade balance: the equity currencies' balances combined. */
  tb: DecimalString;
  /** Margin used by open positions. */
  m: DecimalString;
  /** Unrealised net profit or loss of open positions. */
  n: DecimalString;
  /** Cost basis of open positions. */
  c: DecimalString;
  /** Current floating valuation of open positions. */
  v: DecimalString;
  /** Equity: `tb + n`. */
  e: DecimalString;
  /** Free margin: equity − initial margin. */
  mf: DecimalString;
  /** Margin level, in percent: `e / m × 100` (absent without positions). */
  ml?: DecimalString;
  /** Unexecuted value of open orders. */
  uv?: DecimalString;
}

/** Order description inside an order object. */
export interface OrderDescription {
  /** Pair altname (`XBTUSD`), unlike a trade's pair key. */
  pair: string;
  /** Side. */
  type: "buy" | "sell";
  /** Order type, e.g. `limit` or `stop-loss-limit`. */
  ordertype: string;
  /**
   * Primary price: the limit price, or the trigger of stop and take-profit
   * types.
   */
  price: DecimalString;
  /**
   * Secondary price: the limit price of `*-limit` triggered types; `0`
   * otherwise.
   */
  price2: DecimalString;
  /** `none`, or e.g. `5:1` on margin orders. */
  leverage: string;
  /** Human-readable summary, e.g. `buy 1.45 XBTUSD @ limit 27500.0`. */
  order: string;
  /** Summary of the attached conditional close; `""` when none. */
  close: string;
}

/** Order object (OpenOrders / ClosedOrders / QueryOrders). */
export interface OrderInfo {
  /**
   * Referral order txid: the order that created this one (e.g. the primary of a
   * conditional close), or `null`.
   */
  refid: string | null;
  /** The client's int32 tag; `0` or `null` when none was set. */
  userref: number | null;
  /** The client's order id, when one was set. */
  "cl_ord_id"?: string | null;
  /**
   * `pending` (not yet in the book), `open`, `closed` (filled),
   * `canceled` or `expired`.
   */
  status: "pending" | "open" | "closed" | "canceled" | "expired";
  /** Why it closed, e.g. `User requested` (closed orders only). */
  reason?: string | null;
  /** When it was placed, Unix seconds with 4 decimals. */
  opentm: number;
  /** When it closed, Unix seconds with 4 decimals (closed orders only). */
  closetm?: number;
  /** Scheduled start, Unix seconds; `0` when unset. */
  starttm: number;
  /** Expiry, Unix seconds; `0` when unset. */
  expiretm: number;
  /** Kraken's description of the order as placed. */
  descr: OrderDescription;
  /** Volume ordered, in base units at the pair's `lot_decimals`. */
  vol: DecimalString;
  /** Volume filled so far, in base units. */
  "vol_exec": DecimalString;
  /** Total cost of the fills, in quote units. */
  cost: DecimalString;
  /** Total fee of the fills, in quote units. */
  fee: DecimalString;
  /** Average fill price, in quote units. */
  price: DecimalString;
  /** Trigger price of a triggered stop or take-profit; zero until triggered. */
  stopprice: DecimalString;
  /** Limit price of a triggered `*-limit` order; zero until triggered. */
  limitprice: DecimalString;
  /**
   * Price signal of a triggered type: `last` or `index`; absent means `last`.
   */
  trigger?: string;
  /** Whether it is a margin order. */
  margin?: boolean;
  /**
   * Comma list of flags: `stopped`, `touched`, `liquidated`, `partial`,
   * `amended`.
   */
  misc: string;
  /** Comma list of order flags, e.g. `fciq` (fee in quote) or `post,fciq`. */
  oflags: string;
  /** Txids of its fills, when asked for with `trades=true` and fills exist. */
  trades?: string[];
}

/** Trade object (TradesHistory / QueryTrades). */
export interface TradeInfo {
  /** Txid of the order that filled. */
  ordertxid: string;
  /** Position txid (margin); unused for spot. */
  postxid: string;
  /** REST pair key (`XXBTZUSD`), unlike an order's `descr.pair`. */
  pair: string;
  /** Fill time, Unix seconds with decimals. */
  time: number;
  /** Side. */
  type: "buy" | "sell";
  /** Type of the order that filled. */
  ordertype: string;
  /** Fill price, in quote units. */
  price: DecimalString;
  /** Price × volume, in quote units. */
  cost: DecimalString;
  /** Fee, in quote units. */
  fee: DecimalString;
  /** Volume filled, in base units. */
  vol: DecimalString;
  /** Initial margin, in quote units; zero for spot. */
  margin: DecimalString;
  /** Leverage of a margin trade. */
  leverage?: string;
  /** Comma list of flags, e.g. `closing`. */
  misc: string;
  /** Ledger ids of the fill, when asked for with `ledgers=true`. */
  ledgers?: string[];
  /** Kraken's integer trade id. */
  "trade_id"?: number;
  /** Whether the fill was a maker fill (the order rested in the book). */
  maker?: boolean;
}

/** Ledger entry. */
export interface LedgerEntry {
  /**
   * Reference id: a trade's two entries (base and quote) share its txid here.
   */
  refid: string;
  /** Unix seconds with decimals. */
  time: number;
  /** Entry type, e.g. `trade`, `deposit`, `withdrawal`, `transfer` or `staking`. */
  type: string;
  /** Finer type within `type` (transfers, staking); often empty. */
  subtype: string;
  /** Asset class, `currency`. */
  aclass: string;
  /** Asset key (`ZUSD`, `XXBT`). */
  asset: string;
  /** Signed change of the balance, in asset units. */
  amount: DecimalString;
  /** Fee charged with this entry, in asset units. */
  fee: DecimalString;
  /** Balance after this entry, in asset units. */
  balance: DecimalString;
}

/** Fee tier entry of `TradeVolume`. */
export interface FeeTierInfo {
  /** Current fee, in percent. */
  fee: DecimalString;
  /** Lowest fee of the schedule, in percent. */
  minfee: DecimalString;
  /** Highest fee of the schedule, in percent. */
  maxfee: DecimalString;
  /** Fee at the next tier, in percent; `null` at the best tier. */
  nextfee: DecimalString | null;
  /** 30-day volume the next tier needs; `null` at the best tier. */
  nextvolume: DecimalString | null;
  /** 30-day volume at which the current tier starts. */
  tiervolume: DecimalString;
}

/** `TradeVolume` result. */
export interface TradeVolume {
  /** Currency the volume is counted in (`ZUSD`). */
  currency: string;
  /** 30-day traded volume, in `currency`. */
  volume: DecimalString;
  /** Taker fees by pair key, for the pairs asked for. */
  fees?: Record<string, FeeTierInfo>;
  /** Maker fees by pair key, for the pairs asked for. */
  "fees_maker"?: Record<string, FeeTierInfo>;
}

/** `GetWebSocketsToken` result. */
export interface WebSocketsToken {
  /** Token for authenticated WS v2 requests; use it within 15 minutes. */
  token: string;
  /** Seconds an unused token stays valid (900). */
  expires: number;
}

/** `OpenOrders` result. */
export interface OpenOrdersResult {
  /** Open orders by txid. */
  open: Record<string, OrderInfo>;
}

/** `ClosedOrders` result: one page (50, newest first) and the total count. */
export interface ClosedOrdersResult {
  /** Closed orders by txid, newest first (50 per page). */
  closed: Record<string, OrderInfo>;
  /** Matches across every page, not the page size. */
  count: number;
}

/** `TradesHistory` result: one page and the total count. */
export interface TradesHistoryResult {
  /** Trades by trade txid, newest first (50 per page). */
  trades: Record<string, TradeInfo>;
  /** Matches across every page, not the page size. */
  count: number;
}

/** `Ledgers` result: one page and the total count. */
export interface LedgersResult {
  /** Entries by ledger id, newest first (50 per page). */
  ledger: Record<string, LedgerEntry>;
  /** Matches across every page, not the page size. */
  count: number;
}
