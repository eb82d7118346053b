/**
 * An in-process fake of Kraken's `OHLC` and `Trades` endpoints for one pair,
 * whose candles agree with its trades by construction. Candles are computed
 * here independently of core/market/ohlc.ts: integer ticks and satoshis,
 * intervals found by BigInt division of nanosecond times.
 *
 * @module
 */

import type {
  OhlcResult,
  OhlcRow,
  TradeRow,
  TradesResult,
} from "../../../core/rest/types.ts";

interface FakeTrade {
  ns: bigint;
  ticks: bigint;
  sats: bigint;
  id: number;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ticksText(ticks: bigint, decimals: number): string {
  const text = ticks.toString().padStart(decimals + 1, "0");
  return decimals === 0
    ? text
    : `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

/** Options of {@linkcode FakeExchange}. */
export interface FakeExchangeOptions {
  /** First trade no earlier than this, Unix seconds. */
  startSec: number;
  /** The clock, Unix seconds (trades are generated up to it). */
  nowSec: number;
  /** PRNG seed. */
  seed?: number;
  /** Rows per `OHLC` answer, forming row included (Kraken: 720). */
  windowRows?: number;
  /** Rows after `since` per answer before the forming row (default: all). */
  rowsPerPage?: number;
  /** Trades per `Trades` page (Kraken: 1000). */
  tradesPerPage?: number;
  /** Whether `Trades` `since` includes a trade at exactly the cursor. */
  inclusiveSince?: boolean;
}

/** The fake. Price decimals 1; trade prices are sent with 5 decimals. */
export class FakeExchange {
  readonly priceDecimals = 1;
  nowSec: number;
  calls: Array<{ method: "ohlc" | "trades"; since: string | undefined }> = [];
  #trades: FakeTrade[] = [];
  #windowRows: number;
  #rowsPerPage: number;
  #tradesPerPage: number;
  #inclusiveSince: boolean;

  constructor(options: FakeExchangeOptions) {
    this.nowSec = options.nowSec;
    this.#windowRows = options.windowRows ?? 720;
    this.#rowsPerPage = options.rowsPerPage ?? Infinity;
    this.#tradesPerPage = options.tradesPerPage ?? 1000;
    this.#inclusiveSince = options.inclusiveSince ?? false;
    const random = mulberry32(options.seed ?? 7);
    let us = BigInt(options.startSec) * 1_000_000n + 123_456n;
    let ticks = 300_000n;
    let id = 1;
    const endUs = BigInt(options.nowSec) * 1_000_000n;
    while (us < endUs) {
      this.#trades.push({
        ns: us * 1000n,
        ticks,
        sats: BigInt(1 + Math.floor(random() * 50_000_000)),
        id: id++,
      });
      // Mostly busy, with the odd quiet stretch of ~20 minutes.
      const gapSec = random() < 0.01 ? 1200 : 1 + random() * 90;
      us += BigInt(Math.floor(gapSec * 1_000_000));
      ticks += BigInt(Math.floor(random() * 41) - 20);
    }
  }

  /** Number of trades generated. */
  get tradeCount(): number {
    return this.#trades.length;
  }

  #visible(): FakeTrade[] {
    const nowNs = BigInt(this.nowSec) * 1_000_000_000n;
    return this.#trades.filter((trade) => trade.ns <= nowNs);
  }

  /**
   * Every candle from the first trade's interval to the forming one, with
   * Kraken's filling of quiet intervals; the last row is the forming candle.
   */
  referenceRows(intervalMin: number): OhlcRow[] {
    const spanNs = BigInt(intervalMin * 60) * 1_000_000_000n;
    const trades = this.#visible();
    const first = trades[0];
    if (first === undefined) return [];
    const formingNs = BigInt(this.nowSec) * 1_000_000_000n / spanNs * spanNs;
    const rows: OhlcRow[] = [];
    let index = 0;
    let previousClose = first.ticks;
    for (
      let startNs = first.ns / spanNs * spanNs;
      startNs <= formingNs;
      startNs += spanNs
    ) {
      const group: FakeTrade[] = [];
      while (index < trades.length && trades[index]!.ns < startNs + spanNs) {
        group.push(trades[index]!);
        index++;
      }
      const time = Number(startNs / 1_000_000_000n);
      if (group.length === 0) {
        const close = ticksText(previousClose, 1);
        rows.push([time, close, close, close, close, "0.0", "0.00000000", 0]);
        continue;
      }
      let high = group[0]!.ticks;
      let low = high;
      let sats = 0n;
      let notional = 0n;
      for (const trade of group) {
        if (trade.ticks > high) high = trade.ticks;
        if (trade.ticks < low) low = trade.ticks;
        sats += trade.sats;
        notional += trade.ticks * trade.sats;
      }
      const vwap = (2n * notional + sats) / (2n * sats);
      previousClose = group.at(-1)!.ticks;
      rows.push([
        time,
        ticksText(group[0]!.ticks, 1),
        ticksText(high, 1),
        ticksText(low, 1),
        ticksText(previousClose, 1),
        ticksText(vwap, 1),
        ticksText(sats, 8),
        group.length,
      ]);
    }
    return rows;
  }

  /** `OHLC`: the newest `windowRows` rows, filtered by `since`. */
  ohlc(
    _pair: string,
    options: { interval: number; since?: number },
  ): Promise<OhlcResult> {
    this.calls.push({ method: "ohlc", since: options.since?.toString() });
    const all = this.referenceRows(options.interval).slice(-this.#windowRows);
    const forming = all.at(-1);
    let closed = all.slice(0, -1);
    const since = options.since;
    if (since !== undefined) closed = closed.filter((row) => row[0] > since);
    closed = closed.slice(0, this.#rowsPerPage);
    const rows = forming === undefined ? [] : [...closed, forming];
    const last = closed.at(-1)?.[0] ?? since ?? 0;
    return Promise.resolve({ pair: "XXBTZUSD", rows, last });
  }

  /** `Trades`: up to `tradesPerPage` trades after the ns `since` cursor. */
  trades(
    _pair: string,
    options: { since?: string; count?: number },
  ): Promise<TradesResult> {
    this.calls.push({ method: "trades", since: options.since });
    const since = BigInt(options.since ?? "0");
    const page = this.#visible()
      .filter((trade) =>
        this.#inclusiveSince ? trade.ns >= since : trade.ns > since
      )
      .slice(0, this.#tradesPerPage);
    const rows: TradeRow[] = page.map((trade) => [
      ticksText(trade.ticks * 10_000n, 5),
      ticksText(trade.sats, 8),
      Number(trade.ns / 1000n) / 1_000_000,
      trade.id % 2 === 0 ? "b" : "s",
      "l",
      "",
      trade.id,
    ]);
    const last = page.at(-1)?.ns ?? since;
    return Promise.resolve({ pair: "XXBTZUSD", rows, last: last.toString() });
  }
}
