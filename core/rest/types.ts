/**
 * Kraken Spot REST wire shapes (docs/kraken/REST.md §3, §5, §6).
 *
 * Prices, volumes, costs, fees and balances are exact decimal strings;
 * 19-digit cursors (`Trades.last`) and ids stay strings. Only the fields
 * Kraken sends as JSON numbers are `number` here.
 *
 * @module
 */

/** A decimal number kept as its exact wire text, e.g. `"30010.00000"`. */
export type DecimalString = string;

/** The `{error, result}` envelope of every REST answer. */
export interface KrakenEnvelope<T> {
  error: string[];
  result?: T;
}

/** `Time` result. */
export interface ServerTime {
  unixtime: number;
  rfc1123: string;
}

/** `SystemStatus` result. */
export interface SystemStatus {
  status: "online" | "maintenance" | "cancel_only" | "post_only";
  timestamp: string;
}

/** One entry of the `Assets` result (keyed by asset key, e.g. `XXBT`). */
export interface AssetInfo {
  aclass: string;
  altname: string;
  decimals: number;
  "display_decimals": number;
  "collateral_value"?: number | string;
  status?: string;
}

/** A fee schedule: `[[30-day USD volume, percent], …]`. */
export type FeeSchedule = Array<[number, number]>;

/** One entry of the `AssetPairs` result (keyed by REST pair key, e.g. `XXBTZUSD`). */
export interface AssetPairInfo {
  altname: string;
  wsname?: string;
  "aclass_base": string;
  base: string;
  "aclass_quote": string;
  quote: string;
  lot?: string;
  "cost_decimals"?: number;
  "pair_decimals": number;
  "lot_decimals": number;
  "lot_multiplier"?: number;
  "leverage_buy": number[];
  "leverage_sell": number[];
  fees: FeeSchedule;
  "fees_maker"?: FeeSchedule;
  "fee_volume_currency"?: string;
  "margin_call"?: number;
  "margin_stop"?: number;
  ordermin?: DecimalString;
  costmin?: DecimalString;
  "tick_size"?: DecimalString;
  status?: string;
  "long_position_limit"?: number;
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
  pair: string;
  rows: OhlcRow[];
  last: number;
}

/** Depth level: `[price, volume, timestamp]`. */
export type DepthLevel = [DecimalString, DecimalString, number];

/** `Depth` result for one pair. */
export interface DepthBook {
  asks: DepthLevel[];
  bids: DepthLevel[];
}

/** `Depth` result with the key it came under (the REST pair key). */
export interface DepthResult extends DepthBook {
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
  pair: string;
  rows: TradeRow[];
  last: string;
}

/** Spread row: `[time, bid, ask]`. */
export type SpreadRow = [number, DecimalString, DecimalString];

/** `Spread` result. */
export interface SpreadResult {
  pair: string;
  rows: SpreadRow[];
  last: number;
}

/** `BalanceEx` entry. */
export interface ExtendedBalance {
  balance: DecimalString;
  credit?: DecimalString;
  "credit_used"?: DecimalString;
  "hold_trade": DecimalString;
}

/** `TradeBalance` result. */
export interface TradeBalance {
  eb: DecimalString;
  tb: DecimalString;
  m: DecimalString;
  n: DecimalString;
  c: DecimalString;
  v: DecimalString;
  e: DecimalString;
  mf: DecimalString;
  ml?: DecimalString;
  uv?: DecimalString;
}

/** Order description inside an order object. */
export interface OrderDescription {
  pair: string;
  type: "buy" | "sell";
  ordertype: string;
  price: DecimalString;
  price2: DecimalString;
  leverage: string;
  order: string;
  close: string;
}

/** Order object (OpenOrders / ClosedOrders / QueryOrders). */
export interface OrderInfo {
  refid: string | null;
  userref: number | null;
  "cl_ord_id"?: string | null;
  status: "pending" | "open" | "closed" | "canceled" | "expired";
  reason?: string | null;
  opentm: number;
  closetm?: number;
  starttm: number;
  expiretm: number;
  descr: OrderDescription;
  vol: DecimalString;
  "vol_exec": DecimalString;
  cost: DecimalString;
  fee: DecimalString;
  price: DecimalString;
  stopprice: DecimalString;
  limitprice: DecimalString;
  trigger?: string;
  margin?: boolean;
  misc: string;
  oflags: string;
  trades?: string[];
}

/** Trade object (TradesHistory / QueryTrades). */
export interface TradeInfo {
  ordertxid: string;
  postxid: string;
  pair: string;
  time: number;
  type: "buy" | "sell";
  ordertype: string;
  price: DecimalString;
  cost: DecimalString;
  fee: DecimalString;
  vol: DecimalString;
  margin: DecimalString;
  leverage?: string;
  misc: string;
  ledgers?: string[];
  "trade_id"?: number;
  maker?: boolean;
}

/** Ledger entry. */
export interface LedgerEntry {
  refid: string;
  time: number;
  type: string;
  subtype: string;
  aclass: string;
  asset: string;
  amount: DecimalString;
  fee: DecimalString;
  balance: DecimalString;
}

/** Fee tier entry of `TradeVolume`. */
export interface FeeTierInfo {
  fee: DecimalString;
  minfee: DecimalString;
  maxfee: DecimalString;
  nextfee: DecimalString | null;
  nextvolume: DecimalString | null;
  tiervolume: DecimalString;
}

/** `TradeVolume` result. */
export interface TradeVolume {
  currency: string;
  volume: DecimalString;
  fees?: Record<string, FeeTierInfo>;
  "fees_maker"?: Record<string, FeeTierInfo>;
}

/** `GetWebSocketsToken` result. */
export interface WebSocketsToken {
  token: string;
  expires: number;
}

/** `OpenOrders` result. */
export interface OpenOrdersResult {
  open: Record<string, OrderInfo>;
}

/** `ClosedOrders` result: one page (50, newest first) and the total count. */
export interface ClosedOrdersResult {
  closed: Record<string, OrderInfo>;
  count: number;
}

/** `TradesHistory` result: one page and the total count. */
export interface TradesHistoryResult {
  trades: Record<string, TradeInfo>;
  count: number;
}

/** `Ledgers` result: one page and the total count. */
export interface LedgersResult {
  ledger: Record<string, LedgerEntry>;
  count: number;
}
