/**
 * The simulator's public REST methods (REST.md §3.1, §6): Time,
 * SystemStatus, Assets, AssetPairs, Ticker, Depth, Trades, OHLC, Spread.
 *
 * Wire precision: OHLC prices use `pair_decimals` (`"3533.4"`), while Ticker,
 * Depth, Trades and Spread print prices with `max(pair_decimals, 5)`
 * decimals, as Kraken's official examples do for XBTUSD (`"3539.90000"`);
 * the values are always on the pair's tick. Volumes use `lot_decimals`.
 *
 * @module
 */

import type {
  AssetInfo,
  AssetPairInfo,
  DepthLevel,
  OhlcRow,
  SpreadRow,
  TickerInfo,
  TradeRow,
} from "@krakked/core/rest/types";
import type { SimControl } from "../control.ts";
import { formatUnits, pow10, rescaleUnits } from "../exchange/units.ts";
import {
  type BookLevel,
  type Market,
  OHLC_INTERVALS,
  type TradeAggregate,
  vwapUnits,
} from "../exchange/market.ts";
import { assetInfo, assetPairInfo, type SimPair } from "../exchange/pairs.ts";
import {
  INVALID_ARGUMENTS,
  type Params,
  SimApiError,
} from "../exchange/params.ts";

/** What a public method can use. */
export interface PublicContext {
  /** The market. */
  market: Market;
  /** The control object (system status). */
  control: SimControl;
  /** The evaluation time, ms. */
  nowMs: number;
}

/** One public method: parameters in, `result` out (or a thrown {@linkcode SimApiError}). */
export type PublicHandler = (params: Params, context: PublicContext) => unknown;

const UNKNOWN_PAIR = "EQuery:Unknown asset pair";
const DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_NAMES = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

/**
 * Decimals Kraken prints prices with in Ticker, Depth, Trades and Spread.
 *
 * @param pair The pair.
 * @returns `max(pair_decimals, 5)`.
 * @example XBTUSD
 * ```ts
 * import { wirePriceDecimals } from "./public.ts";
 * import { resolvePair } from "../exchange/pairs.ts";
 * wirePriceDecimals(resolvePair("XBTUSD")!); // 5
 * ```
 */
export function wirePriceDecimals(pair: SimPair): number {
  return Math.max(pair.pairDecimals, 5);
}

/**
 * Kraken's `rfc1123` time text: 2-digit year, day padded with a space
 * (`"Wed,  9 Jan 19 01:50:54 +0000"`).
 *
 * @param ms Time, ms.
 * @returns The text.
 * @example Format
 * ```ts
 * import { rfc1123 } from "./public.ts";
 * rfc1123(Date.UTC(2019, 0, 9, 1, 50, 54)); // "Wed,  9 Jan 19 01:50:54 +0000"
 * ```
 */
export function rfc1123(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${DAY_NAMES[d.getUTCDay()]}, ${
    String(d.getUTCDate()).padStart(2, " ")
  } ${MONTH_NAMES[d.getUTCMonth()]} ${two(d.getUTCFullYear() % 100)} ${
    two(d.getUTCHours())
  }:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

/**
 * RFC 3339 time with whole seconds (`"2023-07-06T18:52:00Z"`).
 *
 * @param ms Time, ms.
 * @returns The text.
 * @example Format
 * ```ts
 * import { rfc3339Seconds } from "./public.ts";
 * rfc3339Seconds(Date.UTC(2023, 6, 6, 18, 52)); // "2023-07-06T18:52:00Z"
 * ```
 */
export function rfc3339Seconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(
    ".000Z",
    "Z",
  );
}

function onePair(params: Params, market: Market): SimPair {
  const name = params.get("pair");
  if (name === undefined || name.trim() === "") {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  if (name.includes(",")) throw new SimApiError(INVALID_ARGUMENTS);
  const pair = market.pair(name);
  if (!pair) throw new SimApiError(UNKNOWN_PAIR);
  return pair;
}

function pairList(params: Params, market: Market): SimPair[] {
  const names = params.list("pair");
  if (!names) return [...market.pairs];
  return names.map((name) => {
    const pair = market.pair(name);
    if (!pair) throw new SimApiError(UNKNOWN_PAIR);
    return pair;
  });
}

function price(
  pair: SimPair,
  units: number | bigint,
  decimals = wirePriceDecimals(pair),
): string {
  return formatUnits(
    rescaleUnits(BigInt(units), pair.pairDecimals, decimals),
    decimals,
  );
}

function sinceNs(text: string | undefined): bigint | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const t = text.trim();
  if (/^\d+\.\d+$/.test(t)) {
    const [whole, frac = ""] = t.split(".");
    return BigInt(whole!) * 1_000_000_000n +
      BigInt((frac + "000000000").slice(0, 9));
  }
  if (!/^\d{1,20}$/.test(t)) throw new SimApiError(INVALID_ARGUMENTS);
  const value = BigInt(t);
  // Opaque `last` cursors are nanoseconds; short values are Unix seconds,
  // and ms/µs values are accepted by digit count.
  if (t.length <= 10) return value * 1_000_000_000n;
  if (t.length <= 13) return value * 1_000_000n;
  if (t.length <= 16) return value * 1_000n;
  return value;
}

/**
 * Decimals of REST `Depth` volumes: Kraken's "lot volume" precision, 3 (the
 * official `depth.yaml` prints `"0.801"` for XXBTZUSD, and Ticker `a`/`b`
 * print their lot volume as `"1.000"`), whatever the pair's `lot_decimals`.
 * See docs/kraken/FIDELITY.md.
 */
export const DEPTH_VOLUME_DECIMALS = 3;

function bookRow(pair: SimPair, level: BookLevel): DepthLevel {
  return [
    price(pair, level.priceUnits),
    formatUnits(
      rescaleUnits(
        BigInt(level.qtyUnits),
        pair.lotDecimals,
        DEPTH_VOLUME_DECIMALS,
      ),
      DEPTH_VOLUME_DECIMALS,
    ),
    Math.floor(level.updatedMs / 1000),
  ];
}

function topOfBook(pair: SimPair, level: BookLevel): [string, string, string] {
  const whole = BigInt(level.qtyUnits) / pow10(pair.lotDecimals);
  const lot = formatUnits(
    rescaleUnits(BigInt(level.qtyUnits), pair.lotDecimals, 3),
    3,
  );
  return [price(pair, level.priceUnits), whole.toString(), lot];
}

function tickerOf(market: Market, pair: SimPair, nowMs: number): TickerInfo {
  const t = market.ticker(pair.key, nowMs);
  const d = wirePriceDecimals(pair);
  const lastPrice = price(pair, t.last.priceUnits);
  const vwap = (agg: TradeAggregate | undefined) =>
    agg
      ? formatUnits(vwapUnits(agg, d - pair.pairDecimals), d)
      : formatUnits(0n, d);
  const vol = (agg: TradeAggregate | undefined) =>
    formatUnits(agg?.volume ?? 0n, pair.lotDecimals);
  const low = (
    agg: TradeAggregate | undefined,
  ) => (agg ? price(pair, agg.low) : lastPrice);
  const high = (
    agg: TradeAggregate | undefined,
  ) => (agg ? price(pair, agg.high) : lastPrice);
  return {
    a: topOfBook(pair, t.ask),
    b: topOfBook(pair, t.bid),
    c: [lastPrice, formatUnits(t.last.volumeUnits, pair.lotDecimals)],
    v: [vol(t.today), vol(t.day)],
    p: [vwap(t.today), vwap(t.day)],
    t: [t.today?.count ?? 0, t.day?.count ?? 0],
    l: [low(t.today), low(t.day)],
    h: [high(t.today), high(t.day)],
    o: t.today ? price(pair, t.today.open) : lastPrice,
  };
}

function assetPairsResult(
  params: Params,
  market: Market,
): Record<string, unknown> {
  const info = params.get("info") ?? "info";
  if (!["info", "leverage", "fees", "margin"].includes(info)) {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  const aclass = params.get("aclass_base");
  if (
    aclass !== undefined && aclass !== "currency" &&
    aclass !== "tokenized_asset"
  ) {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  const country = params.get("country_code");
  if (country !== undefined && !/^[A-Za-z]{2}$/.test(country)) {
    throw new SimApiError(INVALID_ARGUMENTS);
  }
  const pairs = pairList(params, market);
  const out: Record<string, unknown> = {};
  if (aclass === "tokenized_asset") return out;
  for (const pair of pairs) {
    const full: AssetPairInfo = assetPairInfo(pair);
    switch (info) {
      case "leverage":
        out[pair.key] = {
          leverage_buy: full.leverage_buy,
          leverage_sell: full.leverage_sell,
        };
        break;
      case "fees":
        out[pair.key] = {
          fees: full.fees,
          fees_maker: full.fees_maker,
          fee_volume_currency: full.fee_volume_currency,
        };
        break;
      case "margin":
        out[pair.key] = {
          margin_call: full.margin_call,
          margin_stop: full.margin_stop,
        };
        break;
      default:
        out[pair.key] = full;
    }
  }
  return out;
}

/** Every public method, by name (exact, case-sensitive). */
export const PUBLIC_HANDLERS: Readonly<Record<string, PublicHandler>> = Object
  .freeze({
    Time(_params: Params, { nowMs }: PublicContext) {
      return { unixtime: Math.floor(nowMs / 1000), rfc1123: rfc1123(nowMs) };
    },

    SystemStatus(_params: Params, { nowMs, control }: PublicContext) {
      // docs.kraken.com "Get System Status": both advisory arrays are
      // present (empty) in the example; see docs/kraken/FIDELITY.md.
      const { upcomingMaintenance, emergency } = control.advisories;
      return {
        status: control.systemStatus,
        timestamp: rfc3339Seconds(nowMs),
        upcoming_maintenance: upcomingMaintenance,
        emergency,
      };
    },

    Assets(params: Params, { market }: PublicContext) {
      const aclass = params.get("aclass") ?? "currency";
      if (aclass !== "currency" && aclass !== "tokenized_asset") {
        throw new SimApiError(INVALID_ARGUMENTS);
      }
      const out: Record<string, AssetInfo> = {};
      if (aclass === "tokenized_asset") return out;
      const names = params.list("asset");
      const assets = names
        ? names.map((n) => {
          const asset = market.catalogue.resolveAsset(n);
          if (!asset) throw new SimApiError("EQuery:Unknown asset");
          return asset;
        })
        : market.catalogue.assets;
      for (const asset of assets) out[asset.key] = assetInfo(asset);
      return out;
    },

    AssetPairs(params: Params, { market }: PublicContext) {
      return assetPairsResult(params, market);
    },

    Ticker(params: Params, { market, nowMs }: PublicContext) {
      const out: Record<string, TickerInfo> = {};
      for (const pair of pairList(params, market)) {
        out[pair.key] = tickerOf(market, pair, nowMs);
      }
      return out;
    },

    Depth(params: Params, { market, nowMs }: PublicContext) {
      const pair = onePair(params, market);
      const count = params.int("count", { min: 1, fallback: 100 })!;
      const book = market.book(pair.key, {
        depth: Math.min(count, 500),
        atMs: nowMs,
      });
      return {
        [pair.key]: {
          asks: book.asks.map((l) => bookRow(pair, l)),
          bids: book.bids.map((l) => bookRow(pair, l)),
        },
      };
    },

    Trades(params: Params, { market }: PublicContext) {
      const pair = onePair(params, market);
      const count = Math.min(
        params.int("count", { min: 1, fallback: 1000 })!,
        1000,
      );
      const since = sinceNs(params.get("since"));
      const page = market.tradesPage(pair.key, {
        count,
        ...(since !== undefined ? { sinceNs: since } : {}),
      });
      const rows: TradeRow[] = page.trades.map((t) => [
        price(pair, t.priceUnits),
        formatUnits(t.volumeUnits, pair.lotDecimals),
        t.timeUs / 1_000_000,
        t.side,
        t.orderType,
        "",
        t.tradeId,
      ]);
      return { [pair.key]: rows, last: page.lastNs.toString() };
    },

    OHLC(params: Params, { market, nowMs }: PublicContext) {
      const pair = onePair(params, market);
      const interval = params.int("interval", { fallback: 1 })!;
      if (!OHLC_INTERVALS.includes(interval)) {
        throw new SimApiError(INVALID_ARGUMENTS);
      }
      const since = params.number("since");
      const candles = market.candles(pair.key, interval, {
        count: 720,
        atMs: nowMs,
      });
      const rows: OhlcRow[] = [];
      for (const c of candles) {
        if (since !== undefined && c.time <= since && !c.forming) continue;
        rows.push([
          c.time,
          c.open,
          c.high,
          c.low,
          c.close,
          c.vwap,
          c.volume,
          c.count,
        ]);
      }
      const spanSec = interval * 60;
      const formingSec = Math.floor(nowMs / 1000 / spanSec) * spanSec;
      return { [pair.key]: rows, last: formingSec - spanSec };
    },

    Spread(params: Params, { market, nowMs }: PublicContext) {
      const pair = onePair(params, market);
      const since = params.number("since");
      const rows: SpreadRow[] = [];
      for (const s of market.spreads(pair.key, { atMs: nowMs })) {
        const time = Math.floor(s.timeMs / 1000);
        if (since !== undefined && time <= since) continue;
        rows.push([time, price(pair, s.bidUnits), price(pair, s.askUnits)]);
      }
      const last = rows.at(-1)?.[0] ?? Math.floor(since ?? nowMs / 1000);
      return { [pair.key]: rows, last };
    },
  });
