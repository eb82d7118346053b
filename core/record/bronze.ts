/**
 * BRONZE: Kraken trades exactly as Kraken sent them, plus where and when
 * they were received. Nothing here interprets a value; silver does that.
 *
 * Two sources feed the same table:
 *
 * - `ws`: rows of a WS v2 `trade` push. Price and quantity keep the wire
 *   text (`97012.4`, `0.01250000`; the protocol parser keeps JSON number
 *   text through the source-text reviver), side and order type are Kraken's
 *   words (`buy`, `market`), the timestamp is Kraken's RFC 3339 text, and
 *   `raw` is the whole frame.
 * - `rest_backfill`: rows of a REST `Trades` page fetched to fill a gap in
 *   the trade ids. They keep REST's own spellings: `b`/`s`, `m`/`l`, the
 *   float seconds as printed (`1764751234.123456`), prices printed at
 *   `max(pair_decimals, 5)`; `raw` is the row with its REST pair key.
 *
 * @module
 */

import { parseWsFrame } from "../ws/protocol.ts";
import type { TradeRow } from "../rest/types.ts";

/** Where a bronze row came from. */
export type BronzeSource = "ws" | "rest_backfill";

/** One Kraken trade as received (the `bronze_trades_kraken` row). */
export interface BronzeTrade {
  /** Kraken WS v2 symbol, e.g. `BTC/USD` (for backfill rows, the symbol asked for). */
  symbol: string;
  /** Side as sent: `buy`/`sell` (WS) or `b`/`s` (REST). */
  side: string;
  /** Price exactly as sent. */
  price: string;
  /** Quantity exactly as sent. */
  qty: string;
  /** Order type as sent: `market`/`limit` (WS) or `m`/`l` (REST); `""` when absent. */
  ordType: string;
  /** Kraken's trade id, sequential per pair. */
  tradeId: number;
  /** Trade time as sent: RFC 3339 (WS) or float seconds text (REST). */
  timestamp: string;
  /** When the recorder received it, µs since the Unix epoch. */
  receivedUs: number;
  /** The WS `connection_id` of the socket it came on, or `""` (REST, or before the status frame). */
  connectionId: string;
  /** `ws` or `rest_backfill`. */
  source: BronzeSource;
  /** The raw frame (WS) or `{"pair":…,"row":[…]}` (REST). */
  raw: string;
}

/** Where and when a frame was received. */
export interface Receipt {
  /** Receive time, µs since the Unix epoch. */
  receivedUs: number;
  /** The socket's `connection_id` (`""` when not known yet). */
  connectionId: string;
}

const TRADE_PREFIX = /^\s*\{\s*"channel"\s*:\s*"trade"/;

/**
 * Whether a WS text frame could be a `trade` push: a cheap prefix test so the
 * recorder parses only those (Kraken puts `channel` first).
 *
 * @param text A frame.
 * @returns `true` when it starts like a trade push.
 * @example Test
 * ```ts
 * import { isTradeFrameText } from "./bronze.ts";
 * isTradeFrameText('{"channel":"trade","type":"update","data":[]}'); // true
 * isTradeFrameText('{"channel":"heartbeat"}'); // false
 * ```
 */
export function isTradeFrameText(text: string): boolean {
  return TRADE_PREFIX.test(text);
}

/**
 * Bronze rows of one WS v2 frame: every row of a `trade` push (snapshot or
 * update), nothing for any other frame. A row without a `trade_id` is kept
 * out (the recorder cannot key it) and counted by the caller via
 * `skipped`.
 *
 * @param text The frame text, as received.
 * @param receipt Receive time and connection id.
 * @returns The rows in wire order and how many rows had no usable trade id;
 *   `malformed` is the parser's reason when the frame was a broken trade push.
 * @example One trade
 * ```ts
 * import { bronzeFromWsText } from "./bronze.ts";
 * const text = '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":97012.40,"qty":0.01250000,"ord_type":"market","trade_id":7,"timestamp":"2025-03-04T10:22:15.031244Z"}]}';
 * bronzeFromWsText(text, { receivedUs: 1, connectionId: "42" }).rows[0]?.price; // "97012.40"
 * ```
 */
export function bronzeFromWsText(
  text: string,
  receipt: Receipt,
): { rows: BronzeTrade[]; skipped: number; malformed: string | undefined } {
  const frame = parseWsFrame(text);
  if (frame.kind === "malformed") {
    return {
      rows: [],
      skipped: 0,
      malformed: isTradeFrameText(text) ? frame.reason : undefined,
    };
  }
  if (frame.kind !== "trade") {
    return { rows: [], skipped: 0, malformed: undefined };
  }
  const rows: BronzeTrade[] = [];
  let skipped = 0;
  for (const t of frame.trades) {
    if (t.tradeId === undefined || t.tradeId < 0) {
      skipped++;
      continue;
    }
    rows.push({
      symbol: t.symbol,
      side: t.side,
      price: t.price,
      qty: t.qty,
      ordType: t.ordType ?? "",
      tradeId: t.tradeId,
      timestamp: t.timestamp,
      receivedUs: receipt.receivedUs,
      connectionId: receipt.connectionId,
      source: "ws",
      raw: text,
    });
  }
  return { rows, skipped, malformed: undefined };
}

/**
 * Bronze rows of a REST `Trades` page, as REST printed them. Rows without a
 * trade id (the optional 7th element) are skipped and counted.
 *
 * @param symbol The WS v2 symbol the page was fetched for (`BTC/USD`).
 * @param page The REST pair key the rows came under and the rows.
 * @param receivedUs Receive time, µs since the Unix epoch.
 * @returns The rows, oldest first, and how many were skipped.
 * @example One row
 * ```ts
 * import { bronzeFromRestTrades } from "./bronze.ts";
 * bronzeFromRestTrades("BTC/USD", {
 *   pair: "XXBTZUSD",
 *   rows: [["97012.40000", "0.01250000", 1741083735.031244, "b", "m", "", 7]],
 * }, 1).rows[0]?.timestamp; // "1741083735.031244"
 * ```
 */
export function bronzeFromRestTrades(
  symbol: string,
  page: { pair: string; rows: readonly TradeRow[] },
  receivedUs: number,
): { rows: BronzeTrade[]; skipped: number } {
  const rows: BronzeTrade[] = [];
  let skipped = 0;
  for (const row of page.rows) {
    const tradeId = row[6];
    if (typeof tradeId !== "number" || !Number.isSafeInteger(tradeId)) {
      skipped++;
      continue;
    }
    rows.push({
      symbol,
      side: String(row[3]),
      price: String(row[0]),
      qty: String(row[1]),
      ordType: String(row[4]),
      tradeId,
      timestamp: String(row[2]),
      receivedUs,
      connectionId: "",
      source: "rest_backfill",
      raw: JSON.stringify({ pair: page.pair, row }),
    });
  }
  return { rows, skipped };
}
