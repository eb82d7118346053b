/**
 * Kraken Spot WebSocket v2 wire protocol: typed frames, a tolerant parser and
 * request builders (docs/kraken/WS_V2.md §2–§4).
 *
 * Numbers: Kraken sends prices and quantities as JSON numbers printed at the
 * pair's precision (`45281.0`, `0.10000000`). `JSON.parse` would turn those
 * into `45281` and `0.1`, so the parser keeps every number as its exact wire
 * text ({@linkcode Decimal}) using the JSON.parse source-text reviver where
 * the runtime has it (Deno, Chromium ≥ 114, Firefox ≥ 135); elsewhere it
 * falls back to the shortest round-trip text of the number. Exponent notation
 * (`1e-08`) is always expanded to plain decimal text. Integers that are ids
 * or counts (`trade_id`, `trades`, `interval`, `req_id`) become `number`;
 * `connection_id` (a u64 above 2^53) stays a string.
 *
 * Book frames take a fast path: {@linkcode parseWsFrame} recognises them by
 * their prefix without parsing and hands back the raw text, because the book
 * checksum needs the digits exactly as sent.
 *
 * @module
 */

import { isRecord } from "../_record.ts";
import type { DecimalString } from "../decimal.ts";

/** Whether a push replaces state (`snapshot`) or changes it (`update`). */
export type WsPushType = "snapshot" | "update";

/** OHLC intervals Kraken accepts, in minutes (WS_V2.md §3.4). */
export type OhlcIntervalMin = 1 | 5 | 15 | 30 | 60 | 240 | 1440 | 10080 | 21600;

/** Every OHLC interval Kraken accepts, in minutes, ascending. */
export const OHLC_INTERVALS_MIN: readonly OhlcIntervalMin[] = Object.freeze([
  1,
  5,
  15,
  30,
  60,
  240,
  1440,
  10080,
  21600,
] as OhlcIntervalMin[]);

/** Channels that need `params.token` (the authenticated endpoint). */
export const PRIVATE_CHANNELS: readonly string[] = Object.freeze([
  "executions",
  "balances",
  "level3",
]);

/** One `ticker` row (Level 1). Fields Kraken left out are `undefined`. */
export interface Ticker {
  /** Pair, e.g. `BTC/USD`. */
  symbol: string;
  /** Best bid price. */
  bid: DecimalString | undefined;
  /** Best bid size. */
  bidQty: DecimalString | undefined;
  /** Best ask price. */
  ask: DecimalString | undefined;
  /** Best ask size. */
  askQty: DecimalString | undefined;
  /** Last trade price. */
  last: DecimalString | undefined;
  /** 24 h volume in the base currency. */
  volume: DecimalString | undefined;
  /** 24 h volume-weighted average price. */
  vwap: DecimalString | undefined;
  /** 24 h low. */
  low: DecimalString | undefined;
  /** 24 h high. */
  high: DecimalString | undefined;
  /** 24 h change in the quote currency. */
  change: DecimalString | undefined;
  /** 24 h change in percentage points. */
  changePct: DecimalString | undefined;
  /** RFC 3339 time of the update. */
  timestamp: string | undefined;
}

/** One `trade` row. */
export interface Trade {
  /** Pair. */
  symbol: string;
  /** Side of the taker. */
  side: "buy" | "sell";
  /** Trade price. */
  price: DecimalString;
  /** Trade size in the base currency. */
  qty: DecimalString;
  /** Taker order type (`limit`, `market`). */
  ordType: string | undefined;
  /** Sequential id per book. */
  tradeId: number | undefined;
  /** RFC 3339 trade time. */
  timestamp: string;
}

/** One `ohlc` row: the running candle of an interval (cumulative). */
export interface WsOhlcRow {
  /** Pair. */
  symbol: string;
  /** Open price. */
  open: DecimalString;
  /** High price. */
  high: DecimalString;
  /** Low price. */
  low: DecimalString;
  /** Close (latest) price. */
  close: DecimalString;
  /** VWAP within the interval. */
  vwap: DecimalString | undefined;
  /** Number of trades in the interval. */
  trades: number | undefined;
  /** Base volume in the interval. */
  volume: DecimalString;
  /** RFC 3339 start of the interval: the candle's key. */
  intervalBegin: string;
  /** `intervalBegin` in ms since the Unix epoch. */
  intervalBeginMs: number;
  /** Interval in minutes. */
  intervalMin: number;
}

/** One pair of the `instrument` channel. */
export interface InstrumentPair {
  /** v2 pair name, e.g. `BTC/USD`. */
  symbol: string;
  /** Base asset id. */
  base: string | undefined;
  /** Quote asset id. */
  quote: string | undefined;
  /** Pair status (`online`, `cancel_only`, …). */
  status: string | undefined;
  /** Decimals of prices. */
  pricePrecision: number | undefined;
  /** Decimals of quantities. */
  qtyPrecision: number | undefined;
  /** Tick size. */
  priceIncrement: DecimalString | undefined;
  /** Lot step. */
  qtyIncrement: DecimalString | undefined;
  /** Minimum order quantity (base). */
  qtyMin: DecimalString | undefined;
  /** Minimum notional. */
  costMin: DecimalString | undefined;
  /** Whether margin trading is possible. */
  marginable: boolean | undefined;
}

/** One asset of the `instrument` channel. */
export interface InstrumentAsset {
  /** Asset id, e.g. `BTC`. */
  id: string;
  /** Asset status (`enabled`, …). */
  status: string | undefined;
  /** Ledger precision. */
  precision: number | undefined;
  /** Suggested display precision. */
  precisionDisplay: number | undefined;
}

/** The exchange's system status from the `status` channel. */
export interface SystemStatusInfo {
  /** `online`, `maintenance`, `cancel_only`, `post_only` (or a newer value). */
  system: string;
  /** `v2`. */
  apiVersion: string | undefined;
  /** Connection id for debugging (a u64: kept as text). */
  connectionId: string | undefined;
  /** WS service version. */
  version: string | undefined;
}

/** A book frame, not parsed: feed `text` to `BookSet.applyText`. */
export interface BookFrame {
  /** Discriminant. */
  kind: "book";
  /** The raw frame text. */
  text: string;
}

/** A `ticker` push (exactly one row). */
export interface TickerFrame {
  /** Discriminant. */
  kind: "ticker";
  /** Snapshot or update. */
  type: WsPushType;
  /** The row. */
  ticker: Ticker;
}

/** A `trade` push (one or more trades). */
export interface TradeFrame {
  /** Discriminant. */
  kind: "trade";
  /** Snapshot or update. */
  type: WsPushType;
  /** The trades in wire order. */
  trades: Trade[];
}

/** An `ohlc` push (one or more running candles). */
export interface OhlcFrame {
  /** Discriminant. */
  kind: "ohlc";
  /** Snapshot or update. */
  type: WsPushType;
  /** The rows in wire order. */
  candles: WsOhlcRow[];
}

/** An `instrument` push. */
export interface InstrumentFrame {
  /** Discriminant. */
  kind: "instrument";
  /** Snapshot (all) or update (changed entries only). */
  type: WsPushType;
  /** Assets. */
  assets: InstrumentAsset[];
  /** Pairs. */
  pairs: InstrumentPair[];
}

/** A `status` push. */
export interface StatusFrame {
  /** Discriminant. */
  kind: "status";
  /** The system status. */
  status: SystemStatusInfo;
}

/** A `heartbeat` push. */
export interface HeartbeatFrame {
  /** Discriminant. */
  kind: "heartbeat";
}

/** The answer to `ping`. */
export interface PongFrame {
  /** Discriminant. */
  kind: "pong";
  /** The `req_id` of the ping, if it had one. */
  reqId: number | undefined;
  /** RFC 3339 server receive time. */
  timeIn: string | undefined;
  /** RFC 3339 server send time. */
  timeOut: string | undefined;
}

/** The answer to a method call (`subscribe`, `unsubscribe`, `add_order`, …). */
export interface MethodResponseFrame {
  /** Discriminant. */
  kind: "response";
  /** The method answered. */
  method: string;
  /** Whether it succeeded (absent or non-boolean `success` counts as failure). */
  success: boolean;
  /** The echoed `req_id`. */
  reqId: number | undefined;
  /** The `result` (numbers as decimal text), on success. */
  result: unknown;
  /** The error string, on failure. */
  error: string | undefined;
  /** `result.channel`, when present. */
  channel: string | undefined;
  /** `result.symbol`, or the top-level `symbol` some rejects carry. */
  symbol: string | undefined;
  /** `result.warnings`. */
  warnings: string[];
  /** RFC 3339 server receive time. */
  timeIn: string | undefined;
  /** RFC 3339 server send time. */
  timeOut: string | undefined;
}

/** A push on a channel this module has no dedicated type for (`executions`, …). */
export interface ChannelFrame {
  /** Discriminant. */
  kind: "channel";
  /** Channel name. */
  channel: string;
  /** Snapshot or update. */
  type: WsPushType;
  /** The `data` member (numbers as decimal text). */
  data: unknown;
  /** The per-subscription `sequence` of private channels. */
  sequence: number | undefined;
}

/** A frame that could not be understood; it was dropped. */
export interface MalformedFrame {
  /** Discriminant. */
  kind: "malformed";
  /** What was wrong (never contains the frame text). */
  reason: string;
}

/** Every frame {@linkcode parseWsFrame} can return, tagged by `kind`. */
export type WsFrame =
  | BookFrame
  | TickerFrame
  | TradeFrame
  | OhlcFrame
  | InstrumentFrame
  | StatusFrame
  | HeartbeatFrame
  | PongFrame
  | MethodResponseFrame
  | ChannelFrame
  | MalformedFrame;

// Book pushes from Kraken and from the simulator start with the channel key.
const BOOK_PREFIX = /^\s*\{\s*"channel"\s*:\s*"book"\s*,/;

type Json = Record<string, unknown>;

interface ReviverContext {
  source?: string;
}

/** Keeps numbers as their exact source text where the runtime allows it. */
function keepNumberText(
  _key: string,
  value: unknown,
  context?: ReviverContext,
): unknown {
  if (typeof value !== "number") return value;
  const source = context?.source;
  return plainDecimal(source ?? String(value)) ?? String(value);
}

/**
 * Parse one text frame from a v2 socket. Never throws: anything unusable
 * becomes `{ kind: "malformed", reason }`.
 *
 * Book pushes are recognised by their prefix (`{"channel":"book",`) and
 * returned unparsed; a book push with another key order is still found after
 * a full parse and returned with its raw text.
 *
 * @param text The frame text.
 * @returns The typed frame.
 * @example Parse a heartbeat and a book frame
 * ```ts
 * import { parseWsFrame } from "./protocol.ts";
 * parseWsFrame('{"channel":"heartbeat"}'); // { kind: "heartbeat" }
 * parseWsFrame('{"channel":"book","type":"update","data":[]}').kind; // "book"
 * ```
 */
export function parseWsFrame(text: string): WsFrame {
  if (BOOK_PREFIX.test(text)) return { kind: "book", text };
  let value: unknown;
  try {
    value = JSON.parse(
      text,
      keepNumberText as (key: string, value: unknown) => unknown,
    );
  } catch {
    return malformed(`Frame is not JSON (${text.length} chars)`);
  }
  if (!isRecord(value)) return malformed("Frame is not a JSON object");
  if (typeof value.method === "string") return parseResponse(value);
  if (typeof value.channel === "string") return parsePush(value, text);
  return malformed("Frame has neither a channel nor a method");
}

function parseResponse(value: Json): WsFrame {
  const method = value.method as string;
  const reqId = toInteger(value.req_id);
  const timeIn = optionalString(value.time_in);
  const timeOut = optionalString(value.time_out);
  if (method === "pong") return { kind: "pong", reqId, timeIn, timeOut };
  const result = value.result;
  const resultObject = isRecord(result) ? result : undefined;
  const warnings = Array.isArray(resultObject?.warnings)
    ? resultObject.warnings.filter((w): w is string => typeof w === "string")
    : [];
  return {
    kind: "response",
    method,
    success: value.success === true,
    reqId,
    result,
    error: typeof value.error === "string"
      ? value.error
      : value.error === undefined
      ? undefined
      : String(value.error),
    channel: optionalString(resultObject?.channel),
    symbol: optionalString(resultObject?.symbol) ??
      optionalString(value.symbol),
    warnings,
    timeIn,
    timeOut,
  };
}

function parsePush(value: Json, text: string): WsFrame {
  const channel = value.channel as string;
  if (channel === "heartbeat") return { kind: "heartbeat" };
  if (channel === "book") return { kind: "book", text };
  const type = value.type;
  if (channel === "status") {
    const row = Array.isArray(value.data) ? value.data[0] : undefined;
    if (!isRecord(row) || typeof row.system !== "string") {
      return malformed("Status frame has no data[0].system");
    }
    return {
      kind: "status",
      status: {
        system: row.system,
        apiVersion: optionalString(row.api_version),
        connectionId: optionalString(row.connection_id),
        version: optionalString(row.version),
      },
    };
  }
  if (type !== "snapshot" && type !== "update") {
    return malformed(
      `Frame on channel "${channel}" has an unknown type: ${describe(type)}`,
    );
  }
  switch (channel) {
    case "ticker":
      return parseTicker(value.data, type);
    case "trade":
      return parseRows(value.data, channel, (row) => parseTrade(row), {
        build: (rows) => ({ kind: "trade", type, trades: rows }),
      });
    case "ohlc":
      return parseRows(value.data, channel, (row) => parseOhlc(row), {
        build: (rows) => ({ kind: "ohlc", type, candles: rows }),
      });
    case "instrument":
      return parseInstrument(value.data, type);
    default:
      return {
        kind: "channel",
        channel,
        type,
        data: value.data,
        sequence: toInteger(value.sequence),
      };
  }
}

function parseTicker(data: unknown, type: WsPushType): WsFrame {
  const row = Array.isArray(data) ? data[0] : undefined;
  if (!isRecord(row) || typeof row.symbol !== "string") {
    return malformed("Ticker frame has no data[0].symbol");
  }
  return {
    kind: "ticker",
    type,
    ticker: {
      symbol: row.symbol,
      bid: toDecimal(row.bid),
      bidQty: toDecimal(row.bid_qty),
      ask: toDecimal(row.ask),
      askQty: toDecimal(row.ask_qty),
      last: toDecimal(row.last),
      volume: toDecimal(row.volume),
      vwap: toDecimal(row.vwap),
      low: toDecimal(row.low),
      high: toDecimal(row.high),
      change: toDecimal(row.change),
      changePct: toDecimal(row.change_pct),
      timestamp: optionalString(row.timestamp),
    },
  };
}

function parseRows<T>(
  data: unknown,
  channel: string,
  parseRow: (row: Json) => T | string,
  options: { build: (rows: T[]) => WsFrame },
): WsFrame {
  if (!Array.isArray(data)) {
    return malformed(`Frame on channel "${channel}" has no data array`);
  }
  const rows: T[] = [];
  for (let i = 0; i < data.length; i++) {
    const row = data[i];
    if (!isRecord(row)) {
      return malformed(`Row ${i} on channel "${channel}" is not an object`);
    }
    const parsed = parseRow(row);
    if (typeof parsed === "string") {
      return malformed(`Row ${i} on channel "${channel}" ${parsed}`);
    }
    rows.push(parsed);
  }
  return options.build(rows);
}

function parseTrade(row: Json): Trade | string {
  const price = toDecimal(row.price);
  const qty = toDecimal(row.qty);
  if (typeof row.symbol !== "string") return "has no symbol";
  if (row.side !== "buy" && row.side !== "sell") {
    return `has an unknown side: ${describe(row.side)}`;
  }
  if (price === undefined || qty === undefined) return "has no price or qty";
  if (typeof row.timestamp !== "string") return "has no timestamp";
  return {
    symbol: row.symbol,
    side: row.side,
    price,
    qty,
    ordType: optionalString(row.ord_type),
    tradeId: toInteger(row.trade_id),
    timestamp: row.timestamp,
  };
}

function parseOhlc(row: Json): WsOhlcRow | string {
  if (typeof row.symbol !== "string") return "has no symbol";
  const open = toDecimal(row.open);
  const high = toDecimal(row.high);
  const low = toDecimal(row.low);
  const close = toDecimal(row.close);
  const volume = toDecimal(row.volume);
  if (
    open === undefined || high === undefined || low === undefined ||
    close === undefined || volume === undefined
  ) {
    return "has no open, high, low, close or volume";
  }
  const intervalMin = toInteger(row.interval);
  if (intervalMin === undefined || intervalMin <= 0) {
    return `has a bad interval: ${describe(row.interval)}`;
  }
  const intervalBegin = row.interval_begin;
  const intervalBeginMs = typeof intervalBegin === "string"
    ? Date.parse(intervalBegin)
    : NaN;
  if (typeof intervalBegin !== "string" || !Number.isFinite(intervalBeginMs)) {
    return `has a bad interval_begin: ${describe(intervalBegin)}`;
  }
  return {
    symbol: row.symbol,
    open,
    high,
    low,
    close,
    vwap: toDecimal(row.vwap),
    trades: toInteger(row.trades),
    volume,
    intervalBegin,
    intervalBeginMs,
    intervalMin,
  };
}

function parseInstrument(data: unknown, type: WsPushType): WsFrame {
  if (!isRecord(data)) {
    return malformed("Instrument frame data is not an object");
  }
  const assets: InstrumentAsset[] = [];
  const pairs: InstrumentPair[] = [];
  for (const a of Array.isArray(data.assets) ? data.assets : []) {
    if (!isRecord(a) || typeof a.id !== "string") continue;
    assets.push({
      id: a.id,
      status: optionalString(a.status),
      precision: toInteger(a.precision),
      precisionDisplay: toInteger(a.precision_display),
    });
  }
  for (const p of Array.isArray(data.pairs) ? data.pairs : []) {
    if (!isRecord(p) || typeof p.symbol !== "string") continue;
    pairs.push({
      symbol: p.symbol,
      base: optionalString(p.base),
      quote: optionalString(p.quote),
      status: optionalString(p.status),
      pricePrecision: toInteger(p.price_precision),
      qtyPrecision: toInteger(p.qty_precision),
      priceIncrement: toDecimal(p.price_increment ?? p.tick_size),
      qtyIncrement: toDecimal(p.qty_increment),
      qtyMin: toDecimal(p.qty_min),
      costMin: toDecimal(p.cost_min),
      marginable: typeof p.marginable === "boolean" ? p.marginable : undefined,
    });
  }
  return { kind: "instrument", type, assets, pairs };
}

function malformed(reason: string): MalformedFrame {
  return { kind: "malformed", reason };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, 40));
  if (value === undefined) return "missing";
  return typeof value === "object" ? typeof value : String(value);
}

/** Numbers arrive as decimal text (see the reviver); accept strings too. */
function toDecimal(value: unknown): DecimalString | undefined {
  if (typeof value === "string") return plainDecimal(value);
  if (typeof value === "number" && Number.isFinite(value)) {
    return plainDecimal(String(value));
  }
  return undefined;
}

function toInteger(value: unknown): number | undefined {
  const n = typeof value === "string"
    ? Number(value)
    : typeof value === "number"
    ? value
    : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Turn decimal text that may use exponent notation into plain decimal text,
 * keeping every digit given (`"1e-08"` → `"0.00000001"`, `"45281.0"` stays).
 *
 * @param text Decimal text, e.g. `"5E-7"` or `"142.20"`.
 * @returns Plain decimal text, or `undefined` when `text` is not a number.
 * @example Expand an exponent
 * ```ts
 * import { plainDecimal } from "./protocol.ts";
 * plainDecimal("1e-08"); // "0.00000001"
 * plainDecimal("45281.0"); // "45281.0"
 * ```
 */
export function plainDecimal(text: string): DecimalString | undefined {
  const m = DECIMAL.exec(text.trim());
  if (m === null) return undefined;
  const sign = m[1] === "-" ? "-" : "";
  const whole = m[2] ?? "";
  const fraction = m[3] ?? "";
  if (whole === "" && fraction === "") return undefined;
  if (m[4] === undefined) {
    return `${sign}${whole === "" ? "0" : whole}${
      m[3] === undefined ? "" : `.${fraction}`
    }`;
  }
  const exponent = Number(m[4]);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let out: string;
  if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) {
    out = digits + "0".repeat(point - digits.length);
  } else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.replace(/^0+(?=\d)/, "");
  return sign + out;
}

/**
 * Shortest canonical decimal text: no exponent, no leading zeros, no
 * trailing fractional zeros, no `-0` (`"142.20"` → `"142.2"`,
 * `"45281.0"` → `"45281"`, `"1e-08"` → `"0.00000001"`). Use it to compare
 * values from sources that print different precisions (WS and REST).
 *
 * @param text Decimal text.
 * @returns The canonical text, or `undefined` when `text` is not a number.
 * @example Normalise
 * ```ts
 * import { normalizeDecimal } from "./protocol.ts";
 * normalizeDecimal("0.10000000"); // "0.1"
 * ```
 */
export function normalizeDecimal(text: string): DecimalString | undefined {
  const plain = plainDecimal(text);
  if (plain === undefined) return undefined;
  let out = plain.startsWith("-") ? plain.slice(1) : plain;
  if (out.includes(".")) out = out.replace(/0+$/, "").replace(/\.$/, "");
  out = out.replace(/^0+(?=\d)/, "");
  if (/^0(\.0*)?$/.test(out)) return "0";
  return plain.startsWith("-") ? `-${out}` : out;
}

/** Parameters of one `subscribe` or `unsubscribe` request. */
export interface SubscriptionParams {
  /** Channel name: `ticker`, `book`, `trade`, `ohlc`, `instrument`, `executions`, … */
  channel: string;
  /** Pairs (`BTC/USD` style); omit for channel-wide subscriptions. */
  symbol?: string[];
  /** Book depth (book, level3). */
  depth?: number;
  /** Candle interval in minutes (ohlc). */
  interval?: number;
  /** Whether to get a snapshot first (subscribe only). */
  snapshot?: boolean;
  /** Ticker trigger (subscribe only): per trade or per best bid/offer change. */
  eventTrigger?: "trades" | "bbo";
  /** Session token for private channels. */
  token?: string;
  /** Other channel parameters sent verbatim (e.g. `{ snap_orders: false }`). */
  extra?: Readonly<Record<string, string | number | boolean>>;
}

/** Options of the request builders. */
export interface RequestOptions {
  /** Integer echoed in the answer, for correlation. */
  reqId?: number;
}

function buildParams(
  params: SubscriptionParams,
  subscribe: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = { "channel": params.channel };
  if (params.symbol !== undefined) out["symbol"] = [...params.symbol];
  if (params.depth !== undefined) out["depth"] = params.depth;
  if (params.interval !== undefined) out["interval"] = params.interval;
  // snapshot and event_trigger are subscribe-only (WS_V2.md §2.8).
  if (subscribe && params.snapshot !== undefined) {
    out["snapshot"] = params.snapshot;
  }
  if (subscribe && params.eventTrigger !== undefined) {
    out["event_trigger"] = params.eventTrigger;
  }
  for (const [key, value] of Object.entries(params.extra ?? {})) {
    out[key] = value;
  }
  if (params.token !== undefined) out["token"] = params.token;
  return out;
}

function request(
  method: string,
  params: Record<string, unknown> | undefined,
  options: RequestOptions,
): string {
  const body: Record<string, unknown> = { "method": method };
  if (params !== undefined) body["params"] = params;
  if (options.reqId !== undefined) {
    if (!Number.isSafeInteger(options.reqId)) {
      throw new RangeError(
        `Cannot build a "${method}" request: req_id must be an integer, got ${options.reqId}`,
      );
    }
    body["req_id"] = options.reqId;
  }
  return JSON.stringify(body);
}

/**
 * Build a `subscribe` request.
 *
 * @param params Channel and its parameters.
 * @param options `reqId` to correlate the acks.
 * @returns The frame text to send.
 * @throws {RangeError} When `reqId` is not an integer.
 * @example Subscribe to a depth-25 book
 * ```ts
 * import { buildSubscribe } from "./protocol.ts";
 * buildSubscribe({ channel: "book", symbol: ["BTC/USD"], depth: 25 }, { reqId: 7 });
 * // '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":25},"req_id":7}'
 * ```
 */
export function buildSubscribe(
  params: SubscriptionParams,
  options: RequestOptions = {},
): string {
  return request("subscribe", buildParams(params, true), options);
}

/**
 * Build an `unsubscribe` request. `depth` and `interval` are repeated (Kraken
 * keys subscriptions by them); `snapshot` and `eventTrigger` are left out.
 *
 * @param params The parameters the subscription was made with.
 * @param options `reqId` to correlate the acks.
 * @returns The frame text to send.
 * @throws {RangeError} When `reqId` is not an integer.
 * @example Unsubscribe from 5-minute candles
 * ```ts
 * import { buildUnsubscribe } from "./protocol.ts";
 * buildUnsubscribe({ channel: "ohlc", symbol: ["ETH/USD"], interval: 5 });
 * ```
 */
export function buildUnsubscribe(
  params: SubscriptionParams,
  options: RequestOptions = {},
): string {
  return request("unsubscribe", buildParams(params, false), options);
}

/**
 * Build an application-level `ping` request (answered by `pong`).
 *
 * @param options `reqId` echoed in the pong.
 * @returns The frame text to send.
 * @throws {RangeError} When `reqId` is not an integer.
 * @example Ping
 * ```ts
 * import { buildPing } from "./protocol.ts";
 * buildPing({ reqId: 41 }); // '{"method":"ping","req_id":41}'
 * ```
 */
export function buildPing(options: RequestOptions = {}): string {
  return request("ping", undefined, options);
}
