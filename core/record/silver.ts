/**
 * SILVER: one schema for trades of every exchange. A bronze Kraken row
 * becomes a {@linkcode SilverTrade} with:
 *
 * - the canonical symbol `BASE/QUOTE` in common codes: Kraken's legacy
 *   names are renamed (`XBT` → `BTC`, `XDG` → `DOGE`) and the legacy X/Z
 *   prefixed keys (`XXBT`, `ZUSD`, …) lose their prefix. Only the known
 *   legacy keys are renamed; a prefix is never guessed at (`XTZ` is Tezos);
 * - a deterministic trade id `kraken:BTC/USD:<trade_id>`, so a trade has
 *   one id whichever source (WS or REST backfill) delivered it, and any
 *   store or log can dedupe on it;
 * - side `BUY`/`SELL` (the taker's side);
 * - price and quantity as exact canonical decimal text (no float ever; no
 *   trailing zeros, so WS `97012.4` and REST `97012.40000` are equal);
 * - the trade time in whole microseconds since the Unix epoch (UTC);
 * - the original fields as a string map.
 *
 * @module
 */

import { canonicalDecimal } from "../decimal.ts";
import { commonFromAltname, LEGACY_ASSET_ALTNAMES } from "../market/assets.ts";
import type { BronzeSource, BronzeTrade } from "./bronze.ts";

/** The exchange name silver rows of this module carry. */
export const KRAKEN_EXCHANGE = "kraken";

/** What was wrong with a bronze row that cannot be normalized. */
export type RecordInputErrorKind =
  | "bad_symbol"
  | "bad_side"
  | "bad_decimal"
  | "bad_timestamp"
  | "bad_trade_id";

/** A bronze row that cannot become a silver row; `kind` says why. */
export class RecordInputError extends Error {
  /** Always `"RecordInputError"`. */
  override name = "RecordInputError";
  /**
   * Create an error.
   *
   * @param kind What was wrong.
   * @param message What failed and the value.
   * @param options The cause.
   */
  constructor(
    readonly kind: RecordInputErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** One trade in the exchange-neutral schema (the `silver_trades` row). */
export interface SilverTrade {
  /** Exchange, e.g. `kraken`. */
  exchange: string;
  /** Canonical `BASE/QUOTE`, e.g. `BTC/USD`. */
  symbol: string;
  /** Deterministic id `<exchange>:<symbol>:<exchange trade id>`. */
  tradeId: string;
  /** The exchange's own trade id (sequential per pair on Kraken). */
  exchangeTradeId: number;
  /** Taker side. */
  side: "BUY" | "SELL";
  /** Price, exact canonical decimal text. */
  price: string;
  /** Quantity in the base asset, exact canonical decimal text. */
  qty: string;
  /** Trade time, µs since the Unix epoch (UTC). */
  tsUs: number;
  /** When the bronze row was received, µs since the Unix epoch. */
  receivedUs: number;
  /** Where the bronze row came from. */
  source: BronzeSource;
  /** The exchange's fields as sent (symbol, side, price, qty, ord_type, timestamp). */
  original: Record<string, string>;
}

function asset(code: string): string {
  const upper = code.trim().toUpperCase();
  const altname = LEGACY_ASSET_ALTNAMES[upper] ?? upper;
  return commonFromAltname(altname);
}

/**
 * The canonical `BASE/QUOTE` of a Kraken pair written with a slash (WS v2
 * `BTC/USD`, WS v1 `XBT/USD`, or legacy keys `XXBT/ZUSD`).
 *
 * @param symbol A slash-separated pair.
 * @returns Common codes joined by `/`.
 * @throws {RecordInputError} `bad_symbol` when there is not exactly one slash
 *   between two non-empty codes.
 * @example Normalize legacy names
 * ```ts
 * import { canonicalSymbol } from "./silver.ts";
 * canonicalSymbol("XBT/USD"); // "BTC/USD"
 * canonicalSymbol("XXDG/ZUSD"); // "DOGE/USD"
 * canonicalSymbol("XTZ/USD"); // "XTZ/USD"
 * ```
 */
export function canonicalSymbol(symbol: string): string {
  const parts = symbol.split("/");
  if (
    parts.length !== 2 || parts[0]!.trim() === "" || parts[1]!.trim() === ""
  ) {
    throw new RecordInputError(
      "bad_symbol",
      `Cannot normalize symbol ${JSON.stringify(symbol)}: expected BASE/QUOTE`,
    );
  }
  return `${asset(parts[0]!)}/${asset(parts[1]!)}`;
}

/**
 * The deterministic id of a trade: `<exchange>:<symbol>:<trade id>`.
 *
 * @param symbol Canonical symbol.
 * @param exchangeTradeId The exchange's trade id.
 * @param exchange Exchange name (default `kraken`).
 * @returns The id, e.g. `kraken:BTC/USD:81234567`.
 * @example Id
 * ```ts
 * import { silverTradeId } from "./silver.ts";
 * silverTradeId("BTC/USD", 81234567); // "kraken:BTC/USD:81234567"
 * ```
 */
export function silverTradeId(
  symbol: string,
  exchangeTradeId: number,
  exchange: string = KRAKEN_EXCHANGE,
): string {
  return `${exchange}:${symbol}:${exchangeTradeId}`;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/;
const FLOAT_SECONDS = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parse a trade time to whole microseconds since the Unix epoch: RFC 3339
 * text (WS v2, any offset, up to nanoseconds — digits past the microsecond
 * are truncated) or decimal seconds text (REST `Trades`; rounded to the
 * nearest microsecond, because REST prints a float whose last digit can be
 * off by one ulp).
 *
 * @param text The timestamp as sent.
 * @returns µs since the Unix epoch.
 * @throws {RecordInputError} `bad_timestamp` for anything else.
 * @example Both spellings
 * ```ts
 * import { parseTimestampUs } from "./silver.ts";
 * parseTimestampUs("2025-03-04T10:22:15.031244Z"); // 1741083735031244
 * parseTimestampUs("1741083735.031244"); // 1741083735031244
 * ```
 */
export function parseTimestampUs(text: string): number {
  const m = RFC3339.exec(text);
  if (m !== null) {
    const [, y, mo, d, h, mi, s, frac = "", zone] = m;
    const ms = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h),
      Number(mi),
      Number(s),
    );
    let offsetMin = 0;
    if (zone !== "Z" && zone !== "z") {
      const sign = zone!.startsWith("-") ? -1 : 1;
      offsetMin = sign *
        (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
    }
    const us = (ms - offsetMin * 60_000) * 1000 +
      Number(frac.padEnd(6, "0").slice(0, 6));
    // Date.UTC rolls impossible fields over (30 Feb → 2 Mar, 24:00 → the
    // next day, year 0050 → 1950): only a time that reads back the same is
    // one.
    const at = new Date(ms);
    const offsetOk = zone === "Z" || zone === "z" ||
      (Number(zone!.slice(1, 3)) <= 23 && Number(zone!.slice(4, 6)) <= 59);
    if (
      Number.isSafeInteger(us) && offsetOk &&
      at.getUTCFullYear() === Number(y) &&
      at.getUTCMonth() === Number(mo) - 1 &&
      at.getUTCDate() === Number(d) && at.getUTCHours() === Number(h) &&
      at.getUTCMinutes() === Number(mi) && at.getUTCSeconds() === Number(s)
    ) {
      return us;
    }
  }
  const f = FLOAT_SECONDS.exec(text);
  if (f !== null) {
    const us = Math.round(Number(text) * 1_000_000);
    if (Number.isSafeInteger(us)) return us;
  }
  throw new RecordInputError(
    "bad_timestamp",
    `Cannot read trade time ${JSON.stringify(text.slice(0, 40))}`,
  );
}

/**
 * RFC 3339 text with exactly six fraction digits for a µs time, the form
 * silver prints and Kraken's WS v2 sends.
 *
 * @param us µs since the Unix epoch.
 * @returns e.g. `2025-03-04T10:22:15.031244Z`.
 * @example Format
 * ```ts
 * import { formatTimestampUs } from "./silver.ts";
 * formatTimestampUs(1741083735031244); // "2025-03-04T10:22:15.031244Z"
 * ```
 */
export function formatTimestampUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // …SS.mmmZ
  const micros = String(us - ms * 1000).padStart(3, "0");
  return `${iso.slice(0, -1)}${micros}Z`;
}

function side(text: string): "BUY" | "SELL" {
  switch (text) {
    case "buy":
    case "b":
      return "BUY";
    case "sell":
    case "s":
      return "SELL";
  }
  throw new RecordInputError(
    "bad_side",
    `Cannot read side ${JSON.stringify(text.slice(0, 20))}`,
  );
}

function exact(text: string, field: string): string {
  try {
    const value = canonicalDecimal(text);
    if (value.startsWith("-") || value === "0") throw new RangeError(value);
    return value;
  } catch (cause) {
    throw new RecordInputError(
      "bad_decimal",
      `Cannot read ${field} ${
        JSON.stringify(text.slice(0, 40))
      }: not a positive decimal`,
      { cause },
    );
  }
}

/**
 * Normalize one bronze Kraken row to silver.
 *
 * @param bronze The row as received.
 * @returns The silver row.
 * @throws {RecordInputError} When a field cannot be read (bad symbol, side,
 *   non-positive or non-decimal price or quantity, time, or trade id).
 * @example Normalize
 * ```ts
 * import { toSilver } from "./silver.ts";
 * toSilver({
 *   symbol: "XBT/USD", side: "b", price: "97012.40000", qty: "0.01250000",
 *   ordType: "m", tradeId: 7, timestamp: "1741083735.031244",
 *   receivedUs: 1741083735100000, connectionId: "", source: "rest_backfill", raw: "",
 * }).tradeId; // "kraken:BTC/USD:7"
 * ```
 */
export function toSilver(bronze: BronzeTrade): SilverTrade {
  if (!Number.isSafeInteger(bronze.tradeId) || bronze.tradeId < 0) {
    throw new RecordInputError(
      "bad_trade_id",
      `Cannot key trade: trade id ${bronze.tradeId} is not a whole number`,
    );
  }
  const symbol = canonicalSymbol(bronze.symbol);
  return {
    exchange: KRAKEN_EXCHANGE,
    symbol,
    tradeId: silverTradeId(symbol, bronze.tradeId),
    exchangeTradeId: bronze.tradeId,
    side: side(bronze.side),
    price: exact(bronze.price, "price"),
    qty: exact(bronze.qty, "qty"),
    tsUs: parseTimestampUs(bronze.timestamp),
    receivedUs: bronze.receivedUs,
    source: bronze.source,
    original: {
      symbol: bronze.symbol,
      side: bronze.side,
      price: bronze.price,
      qty: bronze.qty,
      ord_type: bronze.ordType,
      trade_id: String(bronze.tradeId),
      timestamp: bronze.timestamp,
    },
  };
}
