/**
 * The bulk path's frame reader: a hand-written scanner of exactly the
 * grammar `BULK_FRAME_PATTERN` (schema.ts) describes — a Kraken WS v2
 * trade push as sent, fields in Kraken's order, strings without escapes,
 * plain decimals (≤ 15 whole, ≤ 18 fraction digits), ids of ≤ 15 digits,
 * RFC 3339 times with six fraction digits in UTC — returning each trade's
 * fields as the exact wire text. Any other text returns `undefined`, and the
 * caller leaves the frame to core's parser. One pass over the characters;
 * it replaced DuckDB's `regexp_full_match` + `string_split` + `unnest`
 * (≈ 4 CPU-seconds per million trades here).
 *
 * @module
 */

/** One trade's fields as sent (text slices of the frame). */
export interface ScannedTrade {
  /** `symbol` as sent. */
  symbol: string;
  /** `buy` or `sell`. */
  side: string;
  /** Price text, e.g. `97012.40`. */
  price: string;
  /** Index of the price's `.` within `price`, or -1. */
  priceDot: number;
  /** Quantity text. */
  qty: string;
  /** Index of the quantity's `.` within `qty`, or -1. */
  qtyDot: number;
  /** `ord_type` as sent. */
  ordType: string;
  /** `trade_id`. */
  tradeId: number;
  /** `timestamp` as sent (27 characters). */
  timestamp: string;
  /** Whether price and quantity both have a non-zero digit. */
  positive: boolean;
}

const HEAD = '{"channel":"trade","type":"';
const UPDATE = 'update","data":[';
const SNAPSHOT = 'snapshot","data":[';
const SYMBOL = '{"symbol":"';
const SIDE = '","side":"';
const PRICE = '","price":';
const QTY = ',"qty":';
const ORD_TYPE = ',"ord_type":"';
const TRADE_ID = '","trade_id":';
const TIMESTAMP = ',"timestamp":"';

const QUOTE = 34;
const BACKSLASH = 92;
const ZERO = 48;
const NINE = 57;
const DOT = 46;

/** End of a string body starting at `at` (its closing quote), or -1. */
function stringEnd(text: string, at: number): number {
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < 0x20) return -1;
  }
  return -1;
}

/** Digits [at, end) of a run of at most `max` digits starting at `at`. */
function digitsEnd(text: string, at: number, max: number): number {
  let i = at;
  while (i < text.length && i - at <= max) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) break;
    i++;
  }
  return i - at > max ? -1 : i;
}

/** End of `(0|[1-9][0-9]{0,14})` at `at`, or -1. */
function wholeEnd(text: string, at: number): number {
  const c = text.charCodeAt(at);
  if (c === ZERO) return at + 1;
  if (c < ZERO + 1 || c > NINE) return -1;
  return digitsEnd(text, at, 15);
}

const scratch = { end: 0, dot: -1, nonZero: false };

/** Scans NUM at `at` into `scratch`; false when it is not one. */
function number(text: string, at: number): boolean {
  const w = wholeEnd(text, at);
  if (w < 0) return false;
  let nonZero = text.charCodeAt(at) !== ZERO;
  let end = w;
  let dot = -1;
  if (text.charCodeAt(w) === DOT) {
    const f = digitsEnd(text, w + 1, 18);
    if (f < 0 || f === w + 1) return false;
    if (!nonZero) {
      for (let i = w + 1; i < f; i++) {
        if (text.charCodeAt(i) !== ZERO) {
          nonZero = true;
          break;
        }
      }
    }
    dot = w - at;
    end = f;
  }
  scratch.end = end;
  scratch.dot = dot;
  scratch.nonZero = nonZero;
  return true;
}

function digit(text: string, i: number, lo: number, hi: number): boolean {
  const c = text.charCodeAt(i);
  return c >= lo && c <= hi;
}

/** Whether 27 characters at `at` are `YYYY-MM-DDTHH:MM:SS.ffffffZ` as the grammar allows. */
function timestamp(text: string, at: number): boolean {
  if (at + 27 > text.length) return false;
  const t = text;
  const a = at;
  if (
    !digit(t, a, 49, 50) || !digit(t, a + 1, ZERO, NINE) ||
    !digit(t, a + 2, ZERO, NINE) || !digit(t, a + 3, ZERO, NINE) ||
    t.charCodeAt(a + 4) !== 45 || t.charCodeAt(a + 7) !== 45 ||
    t.charCodeAt(a + 10) !== 84 || t.charCodeAt(a + 13) !== 58 ||
    t.charCodeAt(a + 16) !== 58 || t.charCodeAt(a + 19) !== DOT ||
    t.charCodeAt(a + 26) !== 90
  ) return false;
  // Month 01–12, day 01–31, hour 00–23, minute and second 00–59.
  const m0 = t.charCodeAt(a + 5);
  const m1 = t.charCodeAt(a + 6);
  if (
    !(m0 === ZERO && m1 >= ZERO + 1 && m1 <= NINE) &&
    !(m0 === ZERO + 1 && m1 >= ZERO && m1 <= ZERO + 2)
  ) return false;
  const d0 = t.charCodeAt(a + 8);
  const d1 = t.charCodeAt(a + 9);
  if (
    !(d0 === ZERO && d1 >= ZERO + 1 && d1 <= NINE) &&
    !((d0 === ZERO + 1 || d0 === ZERO + 2) && d1 >= ZERO && d1 <= NINE) &&
    !(d0 === ZERO + 3 && (d1 === ZERO || d1 === ZERO + 1))
  ) return false;
  const h0 = t.charCodeAt(a + 11);
  const h1 = t.charCodeAt(a + 12);
  if (
    !((h0 === ZERO || h0 === ZERO + 1) && h1 >= ZERO && h1 <= NINE) &&
    !(h0 === ZERO + 2 && h1 >= ZERO && h1 <= ZERO + 3)
  ) return false;
  if (
    !digit(t, a + 14, ZERO, ZERO + 5) || !digit(t, a + 15, ZERO, NINE) ||
    !digit(t, a + 17, ZERO, ZERO + 5) || !digit(t, a + 18, ZERO, NINE)
  ) return false;
  for (let i = a + 20; i < a + 26; i++) {
    if (!digit(t, i, ZERO, NINE)) return false;
  }
  return true;
}

/**
 * A reusable scanner: {@linkcode FrameScanner.scan} checks one frame and
 * records where each trade's fields sit in it (no per-trade object or
 * string), for the bulk path's hot loop.
 */
export class FrameScanner {
  /** Trades in the last frame scanned. */
  count = 0;
  /** Start/end of each `symbol` string. */
  symbolStart = new Int32Array(64);
  /** End of each `symbol` string. */
  symbolEnd = new Int32Array(64);
  /** Start of each 27-character timestamp. */
  tsStart = new Int32Array(64);
  /** Each `trade_id`. */
  tradeId = new Float64Array(64);
  /** 1 when price and quantity both have a non-zero digit. */
  positive = new Uint8Array(64);
  /** 1 when `symbol` or `ord_type` holds a `{` or `}`. */
  braces = new Uint8Array(64);

  #grow(): void {
    const n = this.symbolStart.length * 2;
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.symbolStart = grow(this.symbolStart, (k) => new Int32Array(k));
    this.symbolEnd = grow(this.symbolEnd, (k) => new Int32Array(k));
    this.tsStart = grow(this.tsStart, (k) => new Int32Array(k));
    this.tradeId = grow(this.tradeId, (k) => new Float64Array(k));
    this.positive = grow(this.positive, (k) => new Uint8Array(k));
    this.braces = grow(this.braces, (k) => new Uint8Array(k));
  }

  /**
   * Whether `text` is exactly a Kraken WS v2 trade push as the bulk grammar
   * describes (at least one trade); when it is, `count` and the arrays
   * describe its trades.
   *
   * @param text The frame as received.
   * @returns `true` when the frame matches.
   */
  scan(text: string): boolean {
    this.count = 0;
    if (!text.startsWith(HEAD)) return false;
    let at = HEAD.length;
    if (text.startsWith(UPDATE, at)) at += UPDATE.length;
    else if (text.startsWith(SNAPSHOT, at)) at += SNAPSHOT.length;
    else return false;
    for (let n = 0;; n++) {
      if (n === this.symbolStart.length) this.#grow();
      if (!text.startsWith(SYMBOL, at)) return false;
      at += SYMBOL.length;
      const symbolEnd = stringEnd(text, at);
      if (symbolEnd < 0) return false;
      this.symbolStart[n] = at;
      this.symbolEnd[n] = symbolEnd;
      let braces = hasBrace(text, at, symbolEnd);
      at = symbolEnd;
      if (!text.startsWith(SIDE, at)) return false;
      at += SIDE.length;
      if (text.startsWith('buy"', at)) at += 3;
      else if (text.startsWith('sell"', at)) at += 4;
      else return false;
      if (!text.startsWith(PRICE, at)) return false;
      at += PRICE.length;
      if (!number(text, at)) return false;
      let positive = scratch.nonZero;
      at = scratch.end;
      if (!text.startsWith(QTY, at)) return false;
      at += QTY.length;
      if (!number(text, at)) return false;
      positive &&= scratch.nonZero;
      at = scratch.end;
      if (!text.startsWith(ORD_TYPE, at)) return false;
      at += ORD_TYPE.length;
      const ordEnd = stringEnd(text, at);
      if (ordEnd < 0) return false;
      braces ||= hasBrace(text, at, ordEnd);
      at = ordEnd;
      if (!text.startsWith(TRADE_ID, at)) return false;
      at += TRADE_ID.length;
      const idEnd = wholeEnd(text, at);
      if (idEnd < 0) return false;
      this.tradeId[n] = Number(text.slice(at, idEnd));
      at = idEnd;
      if (!text.startsWith(TIMESTAMP, at)) return false;
      at += TIMESTAMP.length;
      if (!timestamp(text, at)) return false;
      this.tsStart[n] = at;
      at += 27;
      if (text.charCodeAt(at) !== QUOTE || text.charCodeAt(at + 1) !== 125) {
        return false;
      }
      at += 2;
      this.positive[n] = positive ? 1 : 0;
      this.braces[n] = braces ? 1 : 0;
      const c = text.charCodeAt(at);
      if (c === 44) {
        at += 1;
        continue;
      }
      // `]}` and nothing after.
      if (
        c === 93 && text.charCodeAt(at + 1) === 125 && at + 2 === text.length
      ) {
        this.count = n + 1;
        return true;
      }
      return false;
    }
  }
}

function hasBrace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 123 || c === 125) return true;
  }
  return false;
}

/**
 * The trades of a frame that is exactly a Kraken WS v2 trade push as the
 * bulk grammar describes (at least one trade), or `undefined`.
 *
 * @param text The frame as received.
 * @returns Each trade's fields as sent, in frame order.
 */
export function scanTradeFrame(text: string): ScannedTrade[] | undefined {
  if (!text.startsWith(HEAD)) return undefined;
  let at = HEAD.length;
  if (text.startsWith(UPDATE, at)) at += UPDATE.length;
  else if (text.startsWith(SNAPSHOT, at)) at += SNAPSHOT.length;
  else return undefined;
  const out: ScannedTrade[] = [];
  for (;;) {
    if (!text.startsWith(SYMBOL, at)) return undefined;
    at += SYMBOL.length;
    const symbolEnd = stringEnd(text, at);
    if (symbolEnd < 0) return undefined;
    const symbol = text.slice(at, symbolEnd);
    at = symbolEnd;
    if (!text.startsWith(SIDE, at)) return undefined;
    at += SIDE.length;
    let side: string;
    if (text.startsWith('buy"', at)) {
      side = "buy";
      at += 3;
    } else if (text.startsWith('sell"', at)) {
      side = "sell";
      at += 4;
    } else return undefined;
    if (!text.startsWith(PRICE, at)) return undefined;
    at += PRICE.length;
    if (!number(text, at)) return undefined;
    const price = text.slice(at, scratch.end);
    const priceDot = scratch.dot;
    let positive = scratch.nonZero;
    at = scratch.end;
    if (!text.startsWith(QTY, at)) return undefined;
    at += QTY.length;
    if (!number(text, at)) return undefined;
    const qty = text.slice(at, scratch.end);
    const qtyDot = scratch.dot;
    positive &&= scratch.nonZero;
    at = scratch.end;
    if (!text.startsWith(ORD_TYPE, at)) return undefined;
    at += ORD_TYPE.length;
    const ordEnd = stringEnd(text, at);
    if (ordEnd < 0) return undefined;
    const ordType = text.slice(at, ordEnd);
    at = ordEnd;
    if (!text.startsWith(TRADE_ID, at)) return undefined;
    at += TRADE_ID.length;
    const idEnd = wholeEnd(text, at);
    if (idEnd < 0) return undefined;
    const tradeId = Number(text.slice(at, idEnd));
    at = idEnd;
    if (!text.startsWith(TIMESTAMP, at)) return undefined;
    at += TIMESTAMP.length;
    if (!timestamp(text, at)) return undefined;
    const ts = text.slice(at, at + 27);
    at += 27;
    if (text.charCodeAt(at) !== QUOTE || text.charCodeAt(at + 1) !== 125) {
      return undefined;
    }
    at += 2;
    out.push({
      symbol,
      side,
      price,
      priceDot,
      qty,
      qtyDot,
      ordType,
      tradeId,
      timestamp: ts,
      positive,
    });
    const c = text.charCodeAt(at);
    if (c === 44) {
      at += 1;
      continue;
    }
    // `]}` and nothing after.
    if (c === 93 && text.charCodeAt(at + 1) === 125 && at + 2 === text.length) {
      return out;
    }
    return undefined;
  }
}
