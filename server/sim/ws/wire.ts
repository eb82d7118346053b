/**
 * Wire text for the simulator's WebSocket v2 endpoints
 * (docs/kraken/WS_V2.md §2–§3): a JSON writer that prints decimal text
 * as JSON numbers without losing trailing zeros, RFC 3339 times, and the
 * frame builders for every public channel. All pure.
 *
 * Why a writer of our own: `JSON.stringify(0.1)` prints `0.1`, but Kraken
 * prints prices and quantities at the pair's full precision
 * (`0.10000000`, `97128.0`) and the book checksum hashes those digits
 * (WS_V2.md §5.4). A {@linkcode WireNumber} carries the exact text.
 *
 * @module
 */

import { formatUnits } from "../exchange/units.ts";
import {
  type BookLevel,
  type Candle,
  type SimTrade,
  type TickerSnapshot,
  vwapUnits,
} from "../exchange/market.ts";
import {
  assetByKey,
  ASSETS,
  PAIRS,
  type SimAsset,
  type SimPair,
} from "../exchange/pairs.ts";

/** A JSON number written exactly as its text (`"0.10000000"` → `0.10000000`). */
export class WireNumber {
  /** The number text, already valid JSON. */
  readonly text: string;

  /**
   * Wrap number text.
   *
   * @param text Plain decimal or exponent text (`"45281.0"`, `"1e-8"`).
   * @throws {SyntaxError} When the text is not a JSON number.
   */
  constructor(text: string) {
    if (!JSON_NUMBER.test(text)) {
      throw new SyntaxError(
        `Cannot write wire number: not a JSON number, got ${
          JSON.stringify(text)
        }`,
      );
    }
    this.text = text;
  }
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A value {@linkcode wireJson} can write. */
export type WireValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | WireNumber
  | readonly WireValue[]
  | { readonly [key: string]: WireValue | undefined };

/** An object of wire values (a frame or a data row). */
export type WireObject = { readonly [key: string]: WireValue | undefined };

/**
 * Wrap decimal text as an exact JSON number.
 *
 * @param text The number text.
 * @returns The wire number.
 * @throws {SyntaxError} When the text is not a JSON number.
 * @example Keep trailing zeros
 * ```ts
 * import { wireJson, wireNumber } from "./wire.ts";
 * wireJson({ qty: wireNumber("0.10000000") }); // '{"qty":0.10000000}'
 * ```
 */
export function wireNumber(text: string): WireNumber {
  return new WireNumber(text);
}

/**
 * Write a value as JSON text. {@linkcode WireNumber}s are written verbatim,
 * bigints as integers (for u64 ids), `undefined` members are left out, and
 * keys keep their insertion order.
 *
 * @param value The value.
 * @returns The JSON text.
 * @throws {TypeError} For a non-finite number.
 * @example Write a frame
 * ```ts
 * import { wireJson, wireNumber } from "./wire.ts";
 * wireJson({ channel: "book", data: [{ price: wireNumber("97128.0") }] });
 * // '{"channel":"book","data":[{"price":97128.0}]}'
 * ```
 */
export function wireJson(value: WireValue): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(
          `Cannot write a non-finite number to the wire, got ${value}`,
        );
      }
      return JSON.stringify(value);
  }
  if (value instanceof WireNumber) return value.text;
  if (Array.isArray(value)) {
    return `[${(value as readonly WireValue[]).map(wireJson).join(",")}]`;
  }
  const parts: string[] = [];
  for (const [key, member] of Object.entries(value as WireObject)) {
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${wireJson(member)}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * RFC 3339 UTC time with a fixed number of fraction digits, as Kraken prints
 * it (6 digits for most fields, 9 for `interval_begin`).
 *
 * @param timeUs Microseconds since the Unix epoch (fractions are dropped).
 * @param options `fractionDigits` (default 6; 0–9).
 * @returns E.g. `"2025-03-04T10:15:02.114702Z"`.
 * @example Print a time
 * ```ts
 * import { rfc3339FromUs } from "./wire.ts";
 * rfc3339FromUs(1_741_083_302_114_702); // "2025-03-04T10:15:02.114702Z"
 * ```
 */
export function rfc3339FromUs(
  timeUs: number,
  options: { fractionDigits?: number } = {},
): string {
  const digits = options.fractionDigits ?? 6;
  const us = Math.floor(timeUs);
  const ms = Math.floor(us / 1000);
  const seconds = new Date(ms - (ms % 1000 + 1000) % 1000).toISOString().slice(
    0,
    19,
  );
  const fractionUs = ((us % 1_000_000) + 1_000_000) % 1_000_000;
  if (digits <= 0) return `${seconds}Z`;
  const fraction = `${String(fractionUs).padStart(6, "0")}000`.slice(0, digits);
  return `${seconds}.${fraction}Z`;
}

/**
 * {@linkcode rfc3339FromUs} for a time in ms (sub-ms fractions kept to the µs).
 *
 * @param timeMs Milliseconds since the Unix epoch.
 * @param options `fractionDigits` (default 6).
 * @returns The RFC 3339 text.
 * @example Print a time
 * ```ts
 * import { rfc3339FromMs } from "./wire.ts";
 * rfc3339FromMs(0); // "1970-01-01T00:00:00.000000Z"
 * ```
 */
export function rfc3339FromMs(
  timeMs: number,
  options: { fractionDigits?: number } = {},
): string {
  return rfc3339FromUs(Math.round(timeMs * 1000), options);
}

// ---------------------------------------------------------------------------
// Envelope frames (WS_V2.md §2)

/** The heartbeat push: nothing but the channel (WS_V2.md §2.5). */
export const HEARTBEAT_FRAME = '{"channel":"heartbeat"}';

/** The `status` payload (WS_V2.md §2.6). */
export interface WsStatusInfo {
  /** `online`, `maintenance`, `cancel_only` or `post_only`. */
  system: string;
  /** Debugging id: a u64 that exceeds 2^53. */
  connectionId: bigint;
  /** WS service version. */
  version: string;
}

/**
 * The `status` push sent on connect and on every system status change.
 *
 * @param info System, connection id and version.
 * @returns The frame text.
 * @example Status
 * ```ts
 * import { statusFrame } from "./wire.ts";
 * statusFrame({ system: "online", connectionId: 14230576291856903561n, version: "2.0.9" });
 * ```
 */
export function statusFrame(info: WsStatusInfo): string {
  return wireJson({
    channel: "status",
    type: "update",
    data: [{
      api_version: "v2",
      connection_id: info.connectionId,
      system: info.system,
      version: info.version,
    }],
  });
}

/** Request timing echoed in every method response. */
export interface WsTiming {
  /** The request's `req_id`, echoed when it had one. */
  reqId?: number | undefined;
  /** When the request arrived, ms. */
  timeInMs: number;
  /** When the answer is sent, ms. */
  timeOutMs: number;
}

/** Handling time between `time_in` and `time_out`, µs (Kraken's examples: 19–88 µs). */
const HANDLING_US = 41;

/**
 * `time_in` and `time_out` at microsecond resolution, `time_out` after
 * `time_in` (issue 15: they were at ms and always equal). A clock that only
 * knows whole milliseconds gets the sub-millisecond part of the receipt
 * from the monotonic clock.
 */
function stamps(timing: WsTiming): { time_in: string; time_out: string } {
  const sub = Number.isInteger(timing.timeInMs)
    ? Math.floor((performance.now() % 1) * 1000)
    : 0;
  const inUs = Math.round(timing.timeInMs * 1000) + sub;
  const outUs = Math.max(Math.round(timing.timeOutMs * 1000) + sub, inUs) +
    HANDLING_US;
  return { time_in: rfc3339FromUs(inUs), time_out: rfc3339FromUs(outUs) };
}

/**
 * The `pong` answer to a `ping` (WS_V2.md §2.4).
 *
 * @param timing `req_id` and times.
 * @returns The frame text.
 * @example Pong
 * ```ts
 * import { pongFrame } from "./wire.ts";
 * pongFrame({ reqId: 41, timeInMs: 0, timeOutMs: 0 });
 * ```
 */
export function pongFrame(timing: WsTiming): string {
  return wireJson({
    method: "pong",
    req_id: timing.reqId,
    ...stamps(timing),
  });
}

/**
 * A successful method response (`subscribe` / `unsubscribe` ack, one per
 * symbol).
 *
 * @param method The method answered.
 * @param options `result` plus the timing.
 * @returns The frame text.
 * @example Book ack
 * ```ts
 * import { successFrame } from "./wire.ts";
 * successFrame("subscribe", {
 *   result: { channel: "book", symbol: "ETH/USD", depth: 25, snapshot: true },
 *   reqId: 7, timeInMs: 0, timeOutMs: 0,
 * });
 * ```
 */
export function successFrame(
  method: string,
  options: WsTiming & { result: WireValue },
): string {
  return wireJson({
    method,
    req_id: options.reqId,
    result: options.result,
    success: true,
    ...stamps(options),
  });
}

/**
 * A failed method response: `error` is a string, and some rejects carry the
 * `symbol` at top level (WS_V2.md §2.7).
 *
 * @param method The method answered.
 * @param options The error string, optional `symbol`, and the timing.
 * @returns The frame text.
 * @example Unknown pair
 * ```ts
 * import { errorFrame } from "./wire.ts";
 * errorFrame("subscribe", {
 *   error: "Currency pair not supported XBT/EUR", symbol: "XBT/EUR",
 *   reqId: 3, timeInMs: 0, timeOutMs: 0,
 * });
 * ```
 */
export function errorFrame(
  method: string,
  options: WsTiming & { error: string; symbol?: string | undefined },
): string {
  return wireJson({
    error: options.error,
    method,
    req_id: options.reqId,
    success: false,
    symbol: options.symbol,
    ...stamps(options),
  });
}

// ---------------------------------------------------------------------------
// Channel data (WS_V2.md §3)

function levelRows(levels: readonly BookLevel[]): WireObject[] {
  return levels.map((l) => ({
    price: new WireNumber(l.price),
    qty: new WireNumber(canonicalZero(l.qty)),
  }));
}

/**
 * `diffBooks` writes a deleted level's qty by zeroing every digit of the old
 * text (`"1234.50000000"` → `"0000.00000000"`), which is not a JSON number;
 * keep one integer zero (`"0.00000000"`), the precision stays.
 */
function canonicalZero(text: string): string {
  return text.replace(/^0+(?=\d)/, "");
}

/**
 * A `book` push. The channel key comes first, as Kraken sends it (clients
 * such as core/ws/protocol.ts recognise book frames by that prefix).
 *
 * @param type `snapshot` or `update`.
 * @param options Symbol, levels (best first), checksum and time.
 * @returns The frame text.
 * @example Empty update
 * ```ts
 * import { bookFrame } from "./wire.ts";
 * bookFrame("update", { symbol: "BTC/USD", bids: [], asks: [], checksum: 0, timeMs: 0 });
 * ```
 */
export function bookFrame(
  type: "snapshot" | "update",
  options: {
    symbol: string;
    bids: readonly BookLevel[];
    asks: readonly BookLevel[];
    checksum: number;
    timeMs: number;
  },
): string {
  return wireJson({
    channel: "book",
    type,
    data: [{
      symbol: options.symbol,
      bids: levelRows(options.bids),
      asks: levelRows(options.asks),
      checksum: options.checksum >>> 0,
      timestamp: rfc3339FromMs(options.timeMs),
    }],
  });
}

/**
 * One `ticker` row from the market's ticker snapshot: best bid/ask, last
 * trade, and rolling 24 h volume, VWAP, low, high and change (WS_V2.md §3.1).
 * `change` is last minus the first trade of the 24 h window, `change_pct`
 * that in percent with 2 decimals.
 *
 * @param pair The pair.
 * @param ticker The market's ticker at the instant.
 * @returns The row (raw numbers at the pair's precisions).
 * @example Row
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { resolvePair } from "../exchange/pairs.ts";
 * import { tickerRow } from "./wire.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * tickerRow(resolvePair("BTC/USD")!, market.ticker("BTC/USD"));
 * ```
 */
export function tickerRow(pair: SimPair, ticker: TickerSnapshot): WireObject {
  const d = pair.pairDecimals;
  const day = ticker.day;
  const last = ticker.last.priceUnits;
  const open = day?.open ?? last;
  const change = last - open;
  // Percent with 2 decimals, rounded half away from zero, in exact integers.
  const pctHundredths = open === 0
    ? 0
    : Math.round((Math.abs(change) * 10_000) / open) * Math.sign(change);
  return {
    symbol: pair.symbol,
    bid: new WireNumber(ticker.bid.price),
    bid_qty: new WireNumber(ticker.bid.qty),
    ask: new WireNumber(ticker.ask.price),
    ask_qty: new WireNumber(ticker.ask.qty),
    last: new WireNumber(formatUnits(last, d)),
    volume: new WireNumber(formatUnits(day?.volume ?? 0n, pair.lotDecimals)),
    // 24 h VWAP at the pair's price precision, rounded half up, as the
    // other prices of the row (issue 15's live capture; the docs' DOGE
    // example has 5 decimals because DOGE/USD prices have 5 there).
    vwap: new WireNumber(formatUnits(day ? vwapUnits(day, 0) : last, d)),
    low: new WireNumber(formatUnits(day?.low ?? last, d)),
    high: new WireNumber(formatUnits(day?.high ?? last, d)),
    change: new WireNumber(formatUnits(change, d)),
    change_pct: new WireNumber(formatUnits(pctHundredths, 2)),
    // 24 h trade count (issue 15's live capture; not in the v2 docs' list).
    trades: day?.count ?? 0,
    timestamp: rfc3339FromUs(ticker.last.timeUs),
  };
}

/**
 * A `ticker` push (exactly one row).
 *
 * @param type `snapshot` or `update`.
 * @param row The row from {@linkcode tickerRow}.
 * @returns The frame text.
 * @example Push
 * ```ts
 * import { tickerFrame } from "./wire.ts";
 * tickerFrame("update", { symbol: "BTC/USD" });
 * ```
 */
export function tickerFrame(
  type: "snapshot" | "update",
  row: WireObject,
): string {
  return wireJson({ channel: "ticker", type, data: [row] });
}

/**
 * One `trade` row (WS_V2.md §3.3).
 *
 * @param pair The pair.
 * @param trade The market trade.
 * @returns The row.
 * @example Row
 * ```ts
 * import { resolvePair } from "../exchange/pairs.ts";
 * import { tradeRow } from "./wire.ts";
 * tradeRow(resolvePair("BTC/USD")!, {
 *   pair: "XXBTZUSD", tradeId: 1, timeUs: 0, timeNs: 0n, priceUnits: 971280,
 *   volumeUnits: 125000, side: "b", orderType: "m",
 * });
 * ```
 */
export function tradeRow(pair: SimPair, trade: SimTrade): WireObject {
  return {
    symbol: pair.symbol,
    side: trade.side === "b" ? "buy" : "sell",
    price: new WireNumber(formatUnits(trade.priceUnits, pair.pairDecimals)),
    qty: new WireNumber(formatUnits(trade.volumeUnits, pair.lotDecimals)),
    ord_type: trade.orderType === "m" ? "market" : "limit",
    trade_id: trade.tradeId,
    timestamp: rfc3339FromUs(trade.timeUs),
  };
}

/**
 * A `trade` push (one or more rows, oldest first).
 *
 * @param type `snapshot` or `update`.
 * @param rows The rows.
 * @returns The frame text.
 * @example Push
 * ```ts
 * import { tradeFrame } from "./wire.ts";
 * tradeFrame("update", []);
 * ```
 */
export function tradeFrame(
  type: "snapshot" | "update",
  rows: readonly WireObject[],
): string {
  return wireJson({ channel: "trade", type, data: rows });
}

/**
 * One `ohlc` row: the running candle of an interval (WS_V2.md §3.4).
 * `interval_begin` has 9 fraction digits; the deprecated `timestamp` is the
 * interval end, as Kraken's example shows.
 *
 * @param pair The pair.
 * @param candle The market candle (REST `OHLC` values).
 * @returns The row.
 * @example Row
 * ```ts
 * import { Market } from "../exchange/market.ts";
 * import { resolvePair } from "../exchange/pairs.ts";
 * import { ohlcRow } from "./wire.ts";
 * const market = new Market({ now: () => Date.UTC(2025, 0, 10) });
 * ohlcRow(resolvePair("BTC/USD")!, market.candles("BTC/USD", 5, { count: 1 })[0]!);
 * ```
 */
export function ohlcRow(pair: SimPair, candle: Candle): WireObject {
  const beginMs = candle.time * 1000;
  return {
    symbol: pair.symbol,
    open: new WireNumber(candle.open),
    high: new WireNumber(candle.high),
    low: new WireNumber(candle.low),
    close: new WireNumber(candle.close),
    trades: candle.count,
    volume: new WireNumber(candle.volume),
    vwap: new WireNumber(candle.vwap),
    interval_begin: rfc3339FromMs(beginMs, { fractionDigits: 9 }),
    interval: candle.intervalMin,
    timestamp: rfc3339FromMs(beginMs + candle.intervalMin * 60_000),
  };
}

/**
 * An `ohlc` push, with the top-level `timestamp` of the official example.
 *
 * @param type `snapshot` or `update`.
 * @param options Rows (oldest first) and the send time.
 * @returns The frame text.
 * @example Push
 * ```ts
 * import { ohlcFrame } from "./wire.ts";
 * ohlcFrame("update", { rows: [], timeMs: 0 });
 * ```
 */
export function ohlcFrame(
  type: "snapshot" | "update",
  options: { rows: readonly WireObject[]; timeMs: number },
): string {
  return wireJson({
    channel: "ohlc",
    type,
    timestamp: rfc3339FromMs(options.timeMs, { fractionDigits: 9 }),
    data: options.rows,
  });
}

const ASSET_STATUS: Readonly<Record<SimAsset["status"], string>> = {
  enabled: "enabled",
  "deposit_only": "depositonly",
  "withdrawal_only": "withdrawalonly", // asset status text only; funding calls are denied
  "funding_temporarily_disabled": "fundingtemporarilydisabled",
};

/** The JS shortest form of `10^-decimals` (`1e-8`, `0.1`): Kraken uses exponents too. */
function increment(decimals: number): WireNumber {
  return new WireNumber(String(10 ** -decimals));
}

/** A float for fields Kraken prints with a fraction (`0.0`, `1.0`). */
function floatText(value: number): WireNumber {
  return new WireNumber(
    Number.isInteger(value) ? value.toFixed(1) : String(value),
  );
}

/**
 * One `instrument` asset (WS_V2.md §3.5).
 *
 * @param asset The catalogue asset.
 * @returns The row.
 * @example Row
 * ```ts
 * import { assetByKey } from "../exchange/pairs.ts";
 * import { instrumentAsset } from "./wire.ts";
 * instrumentAsset(assetByKey("XXBT")!).id; // "BTC"
 * ```
 */
export function instrumentAsset(asset: SimAsset): WireObject {
  const collateral = asset.collateralValue ?? 0;
  return {
    id: asset.symbol,
    status: ASSET_STATUS[asset.status],
    precision: asset.decimals,
    precision_display: asset.displayDecimals,
    borrowable: collateral > 0 && asset.symbol !== "USD",
    collateral_value: floatText(collateral),
    margin_rate: floatText(collateral > 0 ? 0.02 : 0),
  };
}

/**
 * One `instrument` pair (WS_V2.md §3.5; REST→v2 field equivalents in §6).
 *
 * @param pair The catalogue pair.
 * @returns The row.
 * @example Row
 * ```ts
 * import { resolvePair } from "../exchange/pairs.ts";
 * import { instrumentPair } from "./wire.ts";
 * instrumentPair(resolvePair("DOGE/USD")!).symbol; // "DOGE/USD"
 * ```
 */
export function instrumentPair(pair: SimPair): WireObject {
  const marginable = pair.leverage.length > 0;
  return {
    symbol: pair.symbol,
    base: assetByKey(pair.base)?.symbol ?? pair.base,
    quote: assetByKey(pair.quote)?.symbol ?? pair.quote,
    status: pair.status ?? "online",
    price_precision: pair.pairDecimals,
    qty_precision: pair.lotDecimals,
    price_increment: increment(pair.pairDecimals),
    qty_increment: increment(pair.lotDecimals),
    qty_min: new WireNumber(normalizeText(pair.ordermin)),
    cost_min: pair.costmin,
    cost_precision: pair.costDecimals,
    marginable,
    has_index: marginable,
    margin_initial: marginable
      ? floatText(1 / Math.max(...pair.leverage))
      : undefined,
    position_limit_long: pair.positionLimits?.long,
    position_limit_short: pair.positionLimits?.short,
  };
}

function normalizeText(text: string): string {
  return JSON_NUMBER.test(text) ? text : String(Number(text));
}

/** Assets listed by `instrument`: real currencies, not balance-suffix variants or KFEE. */
function listedAssets(assets: readonly SimAsset[]): SimAsset[] {
  return assets.filter((a) => a.valuedAs === undefined && a.key !== "KFEE");
}

/**
 * The `instrument` snapshot: every listed asset and every pair (`data` is an
 * object, not an array).
 *
 * @param catalogue The simulator's assets and pairs (default: the standard
 *   catalogue).
 * @returns The frame text.
 * @example Snapshot
 * ```ts
 * import { instrumentSnapshotFrame } from "./wire.ts";
 * JSON.parse(instrumentSnapshotFrame()).data.pairs.length > 0; // true
 * ```
 */
export function instrumentSnapshotFrame(
  catalogue: {
    readonly assets: readonly SimAsset[];
    readonly pairs: readonly SimPair[];
  } = { assets: ASSETS, pairs: PAIRS },
): string {
  return wireJson({
    channel: "instrument",
    type: "snapshot",
    data: {
      assets: listedAssets(catalogue.assets).map(instrumentAsset),
      pairs: catalogue.pairs.map(instrumentPair),
    },
  });
}
