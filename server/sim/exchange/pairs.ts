/**
 * The simulator's static catalogue: assets and asset pairs in Kraken's real
 * shapes and spellings (docs/kraken/REST.md §5), plus the few market
 * parameters (reference USD price, volatility, activity) that drive the
 * deterministic price path in `market.ts`.
 *
 * Naming quirks reproduced on purpose: X/Z-prefixed legacy keys
 * (`XXBTZUSD`, `XETHXXBT`), prefix-free newer keys (`SOLUSD`, `ADAETH`),
 * real tickers that start with X or Z (`XTZUSD` with base `XTZ`, `ZRXUSD`),
 * `XBT`/`XDG` in altnames and wsnames but `BTC`/`DOGE` in WS v2 symbols.
 * Status coverage: online, `cancel_only` (REPUSD, being delisted),
 * `post_only` (COMPUSD), `limit_only` (SANDUSD), `reduce_only` (MLNUSD, a
 * margin-only-ish pair) and one pair with no `status` field at all (MANAUSD),
 * as Kraken omits it on some pairs.
 *
 * Each simulator lists and resolves through its own {@linkcode SimCatalogue}:
 * the standard one is this static list; a load-test simulator adds
 * deterministic synthetic USD pairs (`SYN001USD`, wsname `SYN001/USD`, …)
 * without touching any other simulator in the process. The module-level
 * {@linkcode PAIRS}, {@linkcode ASSETS} and lookups are the standard
 * catalogue.
 *
 * @module
 */

import type {
  AssetInfo,
  AssetPairInfo,
  FeeSchedule,
} from "@krakked/core/rest/types";
import { unit } from "./prng.ts";

/** One asset of the catalogue. */
export interface SimAsset {
  /** REST asset key (`XXBT`, `ZUSD`, `SOL`, `USD.HOLD`). */
  readonly key: string;
  /** REST altname (`XBT`, `USD`). */
  readonly altname: string;
  /** WS v2 asset id (`BTC`, `DOGE`, `USD`). */
  readonly symbol: string;
  /** Record-keeping decimals (balances, ledger amounts). */
  readonly decimals: number;
  /** Suggested display decimals. */
  readonly displayDecimals: number;
  /** Margin collateral value, when the asset has one. */
  readonly collateralValue?: number;
  /** Funding status as Kraken spells it. */
  readonly status:
    | "enabled"
    | "deposit_only"
    | "withdrawal_only" // an asset status Kraken reports; funding calls stay denied
    | "funding_temporarily_disabled";
  /** Reference price in USD around which the price path wanders. */
  readonly usdPrice: number;
  /** Daily log volatility of the USD price path (0.025 = 2.5 %). */
  readonly dailyVolatility: number;
  /** For suffixed balance assets (`XBT.F`, `USD.HOLD`): the asset it is valued as. */
  readonly valuedAs?: string;
}

/** One asset pair of the catalogue, with the market parameters. */
export interface SimPair {
  /** REST pair key (`XXBTZUSD`); the key of every result map. */
  readonly key: string;
  /** REST altname (`XBTUSD`); `descr.pair` in orders. */
  readonly altname: string;
  /** WS v1 name (`XBT/USD`). */
  readonly wsname: string;
  /** WS v2 symbol (`BTC/USD`). */
  readonly symbol: string;
  /** Base asset key. */
  readonly base: string;
  /** Quote asset key. */
  readonly quote: string;
  /** Price decimals; the tick is `10^-pairDecimals`. */
  readonly pairDecimals: number;
  /** Volume decimals. */
  readonly lotDecimals: number;
  /** Quote-cost decimals. */
  readonly costDecimals: number;
  /** Minimum order volume (base), wire text. */
  readonly ordermin: string;
  /** Minimum order cost (quote), wire text. */
  readonly costmin: string;
  /** Leverage levels offered (empty = not marginable). */
  readonly leverage: readonly number[];
  /** Trading status; `undefined` = field absent on the wire. */
  readonly status: string | undefined;
  /** Margin position limits, for marginable pairs. */
  readonly positionLimits?: { readonly long: number; readonly short: number };
  /** Taker fee schedule. */
  readonly fees: FeeSchedule;
  /** Maker fee schedule. */
  readonly feesMaker: FeeSchedule;
  /** Average number of public trades per day. */
  readonly tradesPerDay: number;
  /** Typical trade size in USD. */
  readonly tradeUsd: number;
  /** Typical spread in basis points of the price. */
  readonly spreadBps: number;
  /**
   * Position of the pair in {@linkcode PAIRS} (synthetic pairs continue the
   * count: `SYN001USD` is 49), a stable hashing input.
   */
  readonly index: number;
}

/** Kraken's standard taker schedule (REST.md §5.1). */
export const STANDARD_FEES: FeeSchedule = [
  [0, 0.26],
  [50000, 0.24],
  [100000, 0.22],
  [250000, 0.2],
  [500000, 0.18],
  [1000000, 0.16],
  [2500000, 0.14],
  [5000000, 0.12],
  [10000000, 0.1],
];

/** Kraken's standard maker schedule (REST.md §5.1). */
export const STANDARD_FEES_MAKER: FeeSchedule = [
  [0, 0.16],
  [50000, 0.14],
  [100000, 0.12],
  [250000, 0.1],
  [500000, 0.08],
  [1000000, 0.06],
  [2500000, 0.04],
  [5000000, 0.02],
  [10000000, 0],
];

/** A lower schedule for stablecoin and FX-like pairs (taker = maker). */
export const STABLE_FEES: FeeSchedule = [
  [0, 0.2],
  [50000, 0.16],
  [100000, 0.12],
  [250000, 0.08],
  [500000, 0.04],
  [1000000, 0],
];

type AssetRow = [
  key: string,
  altname: string,
  symbol: string,
  decimals: number,
  displayDecimals: number,
  usdPrice: number,
  dailyVolatility: number,
  extra?: {
    collateralValue?: number;
    status?: SimAsset["status"];
    valuedAs?: string;
  },
];

// deno-fmt-ignore
const ASSET_ROWS: AssetRow[] = [
  ["XXBT", "XBT", "BTC", 10, 5, 65000, 0.025, { collateralValue: 1 }],
  ["XETH", "ETH", "ETH", 10, 5, 3200, 0.032, { collateralValue: 1 }],
  ["XXDG", "XDG", "DOGE", 8, 2, 0.15, 0.05],
  ["XXRP", "XRP", "XRP", 8, 5, 0.55, 0.04],
  ["XXLM", "XLM", "XLM", 8, 5, 0.11, 0.04],
  ["XZEC", "ZEC", "ZEC", 10, 5, 30, 0.045],
  ["XTZ", "XTZ", "XTZ", 8, 5, 0.9, 0.045, { collateralValue: 0.5 }],
  ["ZRX", "ZRX", "ZRX", 8, 5, 0.4, 0.05],
  ["XLTC", "LTC", "LTC", 10, 5, 75, 0.04, { collateralValue: 0.7 }],
  ["XXMR", "XMR", "XMR", 10, 5, 150, 0.035],
  ["XETC", "ETC", "ETC", 10, 5, 22, 0.045],
  // An asset whose status only allows moving it out (no funding call is simulated: denied).
  ["XREP", "REP", "REP", 10, 5, 1.2, 0.06, { status: "withdrawal_only" }], // status only, denied
  ["XMLN", "MLN", "MLN", 10, 5, 18, 0.05],
  ["SOL", "SOL", "SOL", 10, 5, 150, 0.045, { collateralValue: 0.8 }],
  ["DOT", "DOT", "DOT", 10, 8, 6.5, 0.045, { collateralValue: 0.8 }],
  ["ADA", "ADA", "ADA", 8, 6, 0.45, 0.045, { collateralValue: 0.9 }],
  ["LINK", "LINK", "LINK", 10, 5, 14, 0.045],
  ["AVAX", "AVAX", "AVAX", 10, 5, 30, 0.05],
  ["POL", "POL", "POL", 10, 5, 0.4, 0.05],
  ["ATOM", "ATOM", "ATOM", 8, 6, 7, 0.045],
  ["UNI", "UNI", "UNI", 10, 5, 8, 0.05],
  ["AAVE", "AAVE", "AAVE", 10, 5, 110, 0.05],
  ["ALGO", "ALGO", "ALGO", 8, 5, 0.17, 0.05],
  ["BCH", "BCH", "BCH", 10, 5, 380, 0.04],
  ["FIL", "FIL", "FIL", 10, 5, 5, 0.05],
  ["NEAR", "NEAR", "NEAR", 10, 5, 5, 0.05],
  ["TRX", "TRX", "TRX", 8, 6, 0.12, 0.03],
  ["SHIB", "SHIB", "SHIB", 5, 5, 0.00002, 0.05],
  ["ARB", "ARB", "ARB", 10, 5, 0.8, 0.05],
  ["OP", "OP", "OP", 10, 5, 1.7, 0.05],
  ["INJ", "INJ", "INJ", 10, 5, 22, 0.055],
  ["SUI", "SUI", "SUI", 8, 5, 1.1, 0.06],
  ["MKR", "MKR", "MKR", 10, 5, 2000, 0.045],
  ["GRT", "GRT", "GRT", 10, 5, 0.18, 0.05],
  ["COMP", "COMP", "COMP", 10, 5, 55, 0.05],
  ["SAND", "SAND", "SAND", 10, 5, 0.3, 0.05],
  ["MANA", "MANA", "MANA", 10, 5, 0.35, 0.05],
  ["USDT", "USDT", "USDT", 8, 4, 1.0002, 0.0004, { collateralValue: 0.9 }],
  ["USDC", "USDC", "USDC", 8, 4, 1.0, 0.0003, { collateralValue: 0.9 }],
  ["DAI", "DAI", "DAI", 10, 5, 1.0, 0.0005],
  ["ETH2", "ETH2", "ETH2", 10, 5, 3200, 0.032, { valuedAs: "XETH" }],
  ["ETH2.S", "ETH2.S", "ETH2.S", 10, 5, 3200, 0.032, { valuedAs: "XETH" }],
  ["DOT.S", "DOT.S", "DOT.S", 10, 8, 6.5, 0.045, { valuedAs: "DOT" }],
  ["XBT.F", "XBT.F", "BTC.F", 10, 5, 65000, 0.025, { valuedAs: "XXBT" }],
  ["KFEE", "FEE", "KFEE", 2, 2, 0, 0],
  ["USD.HOLD", "USD.HOLD", "USD.HOLD", 4, 2, 1, 0, { valuedAs: "ZUSD" }],
  ["ZUSD", "USD", "USD", 4, 2, 1, 0, { collateralValue: 1 }],
  ["ZEUR", "EUR", "EUR", 4, 2, 1.08, 0.004, { collateralValue: 1 }],
  ["ZGBP", "GBP", "GBP", 4, 2, 1.27, 0.004, { collateralValue: 1 }],
  ["ZCAD", "CAD", "CAD", 4, 2, 0.73, 0.003, { collateralValue: 1 }],
];

/** Every asset, in `Assets` order. */
export const ASSETS: readonly SimAsset[] = Object.freeze(
  ASSET_ROWS.map(
    ([key, altname, symbol, decimals, displayDecimals, usdPrice, vol, extra]) =>
      Object.freeze({
        key,
        altname,
        symbol,
        decimals,
        displayDecimals,
        status: extra?.status ?? "enabled",
        usdPrice,
        dailyVolatility: vol,
        ...(extra?.collateralValue !== undefined
          ? { collateralValue: extra.collateralValue }
          : {}),
        ...(extra?.valuedAs !== undefined ? { valuedAs: extra.valuedAs } : {}),
      }),
  ),
);

const ASSET_BY_KEY = new Map(ASSETS.map((a) => [a.key, a]));

type PairRow = [
  key: string,
  altname: string,
  base: string,
  quote: string,
  pairDecimals: number,
  lotDecimals: number,
  costDecimals: number,
  ordermin: string,
  costmin: string,
  leverage: number[],
  status: string | undefined,
  tradesPerDay: number,
  tradeUsd: number,
  spreadBps: number,
  extra?: {
    positionLimits?: { long: number; short: number };
    fees?: "stable";
  },
];

const L5 = [2, 3, 4, 5];
const L3 = [2, 3];

// deno-fmt-ignore
const PAIR_ROWS: PairRow[] = [
  // USD spot.
  ["XXBTZUSD", "XBTUSD", "XXBT", "ZUSD", 1, 8, 5, "0.0001", "0.5", L5, "online", 135000, 1517, 0.015, { positionLimits: { long: 250, short: 200 } }],
  ["XETHZUSD", "ETHUSD", "XETH", "ZUSD", 2, 8, 5, "0.002", "0.5", L5, "online", 70000, 1371, 0.03, { positionLimits: { long: 3000, short: 2000 } }],
  ["XXDGZUSD", "XDGUSD", "XXDG", "ZUSD", 7, 8, 5, "13", "0.5", L3, "online", 20000, 400, 3],
  ["XXRPZUSD", "XRPUSD", "XXRP", "ZUSD", 5, 8, 5, "2", "0.5", L5, "online", 40000, 600, 0.2],
  ["XXLMZUSD", "XLMUSD", "XXLM", "ZUSD", 6, 8, 5, "20", "0.5", L3, "online", 2000, 150, 4],
  ["XZECZUSD", "ZECUSD", "XZEC", "ZUSD", 2, 8, 5, "0.05", "0.5", [], "online", 1250, 150, 6],
  ["XTZUSD", "XTZUSD", "XTZ", "ZUSD", 4, 8, 5, "2.5", "0.5", L3, "online", 1500, 150, 5],
  ["ZRXUSD", "ZRXUSD", "ZRX", "ZUSD", 5, 8, 5, "5", "0.5", [], "online", 600, 100, 8],
  ["XLTCZUSD", "LTCUSD", "XLTC", "ZUSD", 2, 8, 5, "0.05", "0.5", L3, "online", 3000, 250, 3],
  ["XXMRZUSD", "XMRUSD", "XXMR", "ZUSD", 2, 8, 5, "0.03", "0.5", L3, "online", 1500, 200, 4],
  ["XETCZUSD", "ETCUSD", "XETC", "ZUSD", 3, 8, 5, "0.3", "0.5", L3, "online", 1500, 150, 5],
  ["SOLUSD", "SOLUSD", "SOL", "ZUSD", 2, 8, 5, "0.02", "0.5", [2, 3, 4], "online", 45000, 833, 0.6],
  ["DOTUSD", "DOTUSD", "DOT", "ZUSD", 4, 8, 5, "0.6", "0.5", L3, "online", 2500, 200, 3],
  ["ADAUSD", "ADAUSD", "ADA", "ZUSD", 6, 8, 5, "10", "0.5", L3, "online", 3500, 250, 3],
  ["LINKUSD", "LINKUSD", "LINK", "ZUSD", 5, 8, 5, "0.3", "0.5", L3, "online", 2500, 200, 3],
  ["AVAXUSD", "AVAXUSD", "AVAX", "ZUSD", 2, 8, 5, "0.15", "0.5", L3, "online", 2000, 200, 3],
  ["POLUSD", "POLUSD", "POL", "ZUSD", 4, 8, 5, "10", "0.5", [], "online", 1500, 150, 5],
  ["ATOMUSD", "ATOMUSD", "ATOM", "ZUSD", 4, 8, 5, "0.5", "0.5", L3, "online", 1750, 150, 4],
  ["UNIUSD", "UNIUSD", "UNI", "ZUSD", 3, 8, 5, "0.5", "0.5", [], "online", 1250, 150, 5],
  ["AAVEUSD", "AAVEUSD", "AAVE", "ZUSD", 2, 8, 5, "0.03", "0.5", [], "online", 1000, 200, 5],
  ["ALGOUSD", "ALGOUSD", "ALGO", "ZUSD", 5, 8, 5, "20", "0.5", [], "online", 1000, 100, 6],
  ["BCHUSD", "BCHUSD", "BCH", "ZUSD", 2, 8, 5, "0.01", "0.5", L3, "online", 2000, 250, 4],
  ["FILUSD", "FILUSD", "FIL", "ZUSD", 3, 8, 5, "1", "0.5", [], "online", 1000, 120, 6],
  ["NEARUSD", "NEARUSD", "NEAR", "ZUSD", 3, 8, 5, "1", "0.5", [], "online", 1250, 120, 6],
  ["TRXUSD", "TRXUSD", "TRX", "ZUSD", 6, 8, 5, "30", "0.5", [], "online", 1250, 100, 5],
  ["SHIBUSD", "SHIBUSD", "SHIB", "ZUSD", 8, 0, 5, "200000", "0.5", [], "online", 2000, 100, 6],
  ["ARBUSD", "ARBUSD", "ARB", "ZUSD", 4, 8, 5, "5", "0.5", [], "online", 1000, 120, 6],
  ["OPUSD", "OPUSD", "OP", "ZUSD", 4, 8, 5, "2", "0.5", [], "online", 750, 120, 6],
  ["INJUSD", "INJUSD", "INJ", "ZUSD", 3, 8, 5, "0.2", "0.5", [], "online", 750, 150, 6],
  ["SUIUSD", "SUIUSD", "SUI", "ZUSD", 4, 8, 5, "3", "0.5", [], "online", 1250, 150, 5],
  ["MKRUSD", "MKRUSD", "MKR", "ZUSD", 1, 8, 5, "0.002", "0.5", [], "online", 500, 250, 6],
  ["GRTUSD", "GRTUSD", "GRT", "ZUSD", 5, 8, 5, "25", "0.5", [], "online", 600, 100, 7],
  ["USDTZUSD", "USDTUSD", "USDT", "ZUSD", 4, 8, 5, "5", "0.5", [], "online", 4000, 2000, 1, { fees: "stable" }],
  ["USDCUSD", "USDCUSD", "USDC", "ZUSD", 4, 8, 5, "5", "0.5", [], "online", 2500, 1500, 1, { fees: "stable" }],
  ["DAIUSD", "DAIUSD", "DAI", "ZUSD", 5, 8, 5, "5", "0.5", [], "online", 500, 500, 2, { fees: "stable" }],
  ["COMPUSD", "COMPUSD", "COMP", "ZUSD", 2, 8, 5, "0.1", "0.5", [], "post_only", 500, 120, 8],
  ["SANDUSD", "SANDUSD", "SAND", "ZUSD", 4, 8, 5, "10", "0.5", [], "limit_only", 600, 100, 8],
  ["MANAUSD", "MANAUSD", "MANA", "ZUSD", 5, 8, 5, "10", "0.5", [], undefined, 500, 100, 8],
  ["XREPZUSD", "REPUSD", "XREP", "ZUSD", 3, 8, 5, "0.3", "0.5", [], "cancel_only", 150, 80, 30],
  ["XMLNZUSD", "MLNUSD", "XMLN", "ZUSD", 3, 8, 5, "0.1", "0.5", L3, "reduce_only", 200, 100, 20, { positionLimits: { long: 500, short: 300 } }],
  // Other quotes.
  ["XETHXXBT", "ETHXBT", "XETH", "XXBT", 5, 8, 6, "0.01", "0.00002", L5, "online", 2500, 300, 1, { positionLimits: { long: 1100, short: 400 } }],
  ["XXBTZEUR", "XBTEUR", "XXBT", "ZEUR", 1, 8, 5, "0.0001", "0.5", L5, "online", 6000, 600, 0.3, { positionLimits: { long: 200, short: 150 } }],
  ["XETHZEUR", "ETHEUR", "XETH", "ZEUR", 2, 8, 5, "0.002", "0.5", L5, "online", 3000, 400, 0.6],
  ["XXBTZGBP", "XBTGBP", "XXBT", "ZGBP", 1, 8, 5, "0.0001", "0.5", L3, "online", 1500, 500, 0.6],
  ["XXBTZCAD", "XBTCAD", "XXBT", "ZCAD", 1, 8, 5, "0.0001", "0.5", L3, "online", 1000, 500, 0.8],
  ["XBTUSDT", "XBTUSDT", "XXBT", "USDT", 1, 8, 5, "0.0001", "0.5", L5, "online", 3000, 600, 0.3],
  ["XXDGXXBT", "XDGXBT", "XXDG", "XXBT", 9, 8, 9, "13", "0.00001", [], "online", 500, 150, 5],
  ["SOLXBT", "SOLXBT", "SOL", "XXBT", 7, 8, 8, "0.02", "0.00002", [], "online", 750, 200, 3],
  ["ADAETH", "ADAETH", "ADA", "XETH", 7, 8, 8, "10", "0.0002", [], "online", 500, 150, 5],
];

function assetOf(key: string): SimAsset {
  const asset = ASSET_BY_KEY.get(key);
  if (!asset) {
    throw new RangeError(`Unknown asset in the pair catalogue: ${key}`);
  }
  return asset;
}

/** Every pair, in `AssetPairs` order. */
export const PAIRS: readonly SimPair[] = Object.freeze(
  PAIR_ROWS.map((row, index) => {
    const [
      key,
      altname,
      base,
      quote,
      pairDecimals,
      lotDecimals,
      costDecimals,
      ordermin,
      costmin,
      leverage,
      status,
      tradesPerDay,
      tradeUsd,
      spreadBps,
      extra,
    ] = row;
    const b = assetOf(base);
    const q = assetOf(quote);
    const stable = extra?.fees === "stable";
    return Object.freeze({
      key,
      altname,
      wsname: `${b.altname}/${q.altname}`,
      symbol: `${b.symbol}/${q.symbol}`,
      base,
      quote,
      pairDecimals,
      lotDecimals,
      costDecimals,
      ordermin,
      costmin,
      leverage: Object.freeze([...leverage]),
      status,
      ...(extra?.positionLimits
        ? { positionLimits: extra.positionLimits }
        : {}),
      fees: stable ? STABLE_FEES : STANDARD_FEES,
      feesMaker: stable ? STABLE_FEES : STANDARD_FEES_MAKER,
      tradesPerDay,
      tradeUsd,
      spreadBps,
      index,
    });
  }),
);

/**
 * Most synthetic pairs a catalogue can add (`SYN001USD` … `SYN1999USD`):
 * enough for the 1,500-pair market-watch test beside the real catalogue.
 */
export const MAX_SYNTHETIC_PAIRS = 1999;

/** Options of {@linkcode SimCatalogue.create}. */
export interface SimCatalogueOptions {
  /**
   * Extra synthetic USD spot pairs, 0 to {@linkcode MAX_SYNTHETIC_PAIRS}
   * (default 0): assets `SYN001`, `SYN002`, … and pairs `SYN001USD`
   * (wsname `SYN001/USD`), online, not marginable, with realistic
   * decimals, order minimums, fees and activity. They exist to load the
   * page and the feed with hundreds of markets.
   */
  syntheticPairs?: number;
}

// Hash channels of the synthetic catalogue (seed-free: the catalogue is the
// same for every simulator seed; only the price paths depend on the seed).
const CH_SYN_PRICE = 101;
const CH_SYN_VOL = 102;
const CH_SYN_TRADES = 103;
const CH_SYN_SIZE = 104;
const CH_SYN_SPREAD = 105;
const CH_SYN_DECIMALS = 106;

/** A number rounded to `digits` significant digits. */
function significant(value: number, digits: number): number {
  const scale = 10 ** (digits - 1 - Math.floor(Math.log10(value)));
  return Math.round(value * scale) / scale;
}

/** Wire text of `mantissa × 10^exponent` (`(2, -4)` → `"0.0002"`). */
function decimalText(mantissa: number, exponent: number): string {
  if (exponent >= 0) return String(mantissa * 10 ** exponent);
  const digits = String(mantissa).padStart(-exponent + 1, "0");
  return `${digits.slice(0, exponent)}.${digits.slice(exponent)}`;
}

/**
 * The synthetic asset and pair number `n` (1-based). Pure: the same `n`
 * always gives the same rows.
 */
function syntheticRows(n: number, index: number): [SimAsset, SimPair] {
  const name = `SYN${String(n).padStart(3, "0")}`;
  // Log-uniform reference price from $0.001 to $10,000, 4 significant digits.
  const usdPrice = significant(10 ** (-3 + 7 * unit(0, CH_SYN_PRICE, n)), 4);
  const magnitude = Math.floor(Math.log10(usdPrice));
  const asset: SimAsset = Object.freeze({
    key: name,
    altname: name,
    symbol: name,
    decimals: unit(0, CH_SYN_DECIMALS, n) < 0.5 ? 8 : 10,
    displayDecimals: 5,
    status: "enabled" as const,
    usdPrice,
    dailyVolatility: 0.03 + 0.04 * unit(0, CH_SYN_VOL, n),
  });
  // About five significant price digits, as Kraken's USD pairs have.
  const pairDecimals = Math.min(8, Math.max(1, 5 - magnitude));
  // Order minimum worth about $5, one significant digit, on the lot grid.
  const minVolume = 5 / usdPrice;
  const minExponent = Math.max(-8, Math.floor(Math.log10(minVolume)));
  const minMantissa = Math.max(
    1,
    Math.min(9, Math.round(minVolume / 10 ** minExponent)),
  );
  const pair: SimPair = Object.freeze({
    key: `${name}USD`,
    altname: `${name}USD`,
    wsname: `${name}/USD`,
    symbol: `${name}/USD`,
    base: name,
    quote: "ZUSD",
    pairDecimals,
    lotDecimals: 8,
    costDecimals: 5,
    ordermin: decimalText(minMantissa, minExponent),
    costmin: "0.5",
    leverage: Object.freeze([]),
    status: "online",
    fees: STANDARD_FEES,
    feesMaker: STANDARD_FEES_MAKER,
    // Busy enough that hundreds of rows tick within seconds.
    tradesPerDay: Math.round(500 * 16 ** unit(0, CH_SYN_TRADES, n)),
    tradeUsd: Math.round(50 + 550 * unit(0, CH_SYN_SIZE, n)),
    spreadBps: Math.round(2 + 10 * unit(0, CH_SYN_SPREAD, n)),
    index,
  });
  return [asset, pair];
}

/**
 * One simulator's catalogue: every asset and pair it lists and resolves.
 * The standard catalogue ({@linkcode SimCatalogue.standard}) is the static
 * list of this module; {@linkcode SimCatalogue.create} adds synthetic pairs
 * for load tests without changing any other simulator in the process.
 *
 * @example Three extra pairs
 * ```ts
 * import { SimCatalogue } from "./pairs.ts";
 * const catalogue = SimCatalogue.create({ syntheticPairs: 3 });
 * catalogue.resolvePair("SYN002/USD")?.key; // "SYN002USD"
 * catalogue.pairs.length; // 52
 * ```
 */
export class SimCatalogue {
  /** Every asset, in `Assets` order. */
  readonly assets: readonly SimAsset[];
  /** Every pair, in `AssetPairs` order. */
  readonly pairs: readonly SimPair[];
  /** How many of {@linkcode pairs} are synthetic. */
  readonly syntheticPairs: number;
  #assetByKey: Map<string, SimAsset>;
  #assetNames = new Map<string, SimAsset>();
  #pairNames = new Map<string, SimPair>();

  private constructor(
    assets: readonly SimAsset[],
    pairs: readonly SimPair[],
    syntheticPairs: number,
  ) {
    this.assets = assets;
    this.pairs = pairs;
    this.syntheticPairs = syntheticPairs;
    this.#assetByKey = new Map(assets.map((a) => [a.key, a]));
    for (const a of assets) {
      for (const name of [a.key, a.altname, a.symbol]) {
        const upper = name.toUpperCase();
        if (!this.#assetNames.has(upper)) this.#assetNames.set(upper, a);
      }
    }
    for (const p of pairs) {
      for (const name of [p.key, p.altname, p.wsname, p.symbol]) {
        const upper = name.toUpperCase();
        if (!this.#pairNames.has(upper)) this.#pairNames.set(upper, p);
      }
    }
  }

  static #standard: SimCatalogue | undefined;

  /**
   * The standard catalogue (the module's {@linkcode ASSETS} and
   * {@linkcode PAIRS}), shared.
   *
   * @returns The catalogue.
   * @example Standard
   * ```ts
   * import { SimCatalogue } from "./pairs.ts";
   * SimCatalogue.standard().resolvePair("XBTUSD")?.key; // "XXBTZUSD"
   * ```
   */
  static standard(): SimCatalogue {
    SimCatalogue.#standard ??= new SimCatalogue(ASSETS, PAIRS, 0);
    return SimCatalogue.#standard;
  }

  /**
   * The standard catalogue plus synthetic USD pairs. Deterministic: the same
   * count always gives the same assets and pairs (independent of the seed).
   *
   * @param options How many synthetic pairs.
   * @returns The catalogue (the shared standard one when there are none).
   * @throws {RangeError} When the count is not a whole number from 0 to
   *   {@linkcode MAX_SYNTHETIC_PAIRS}.
   * @example Load-test catalogue
   * ```ts
   * import { SimCatalogue } from "./pairs.ts";
   * SimCatalogue.create({ syntheticPairs: 300 }).pairs.length; // 349
   * ```
   */
  static create(options: SimCatalogueOptions = {}): SimCatalogue {
    const count = options.syntheticPairs ?? 0;
    if (
      !Number.isInteger(count) || count < 0 || count > MAX_SYNTHETIC_PAIRS
    ) {
      throw new RangeError(
        `Cannot create the simulator catalogue: syntheticPairs must be a whole number from 0 to ${MAX_SYNTHETIC_PAIRS}, got ${count}`,
      );
    }
    if (count === 0) return SimCatalogue.standard();
    const assets = [...ASSETS];
    const pairs = [...PAIRS];
    for (let n = 1; n <= count; n++) {
      const [asset, pair] = syntheticRows(n, PAIRS.length + n - 1);
      assets.push(asset);
      pairs.push(pair);
    }
    return new SimCatalogue(
      Object.freeze(assets),
      Object.freeze(pairs),
      count,
    );
  }

  /**
   * Look up an asset by key.
   *
   * @param key REST asset key (`XXBT`, `SYN001`).
   * @returns The asset, or `undefined`.
   */
  asset(key: string): SimAsset | undefined {
    return this.#assetByKey.get(key);
  }

  /**
   * Resolve an asset from key, altname or WS v2 id, case-insensitive.
   *
   * @param name The spelling.
   * @returns The asset, or `undefined`.
   */
  resolveAsset(name: string): SimAsset | undefined {
    return this.#assetNames.get(name.trim().toUpperCase());
  }

  /**
   * Resolve a pair from REST key, altname, wsname or WS v2 symbol,
   * case-insensitive.
   *
   * @param name The spelling.
   * @returns The pair, or `undefined`.
   */
  resolvePair(name: string): SimPair | undefined {
    return this.#pairNames.get(name.trim().toUpperCase());
  }

  /**
   * The pair's reference price in quote units.
   *
   * @param pair A pair of this catalogue.
   * @returns The price the path wanders around.
   * @throws {RangeError} When the pair's assets are not in this catalogue.
   */
  referencePrice(pair: SimPair): number {
    const base = this.asset(pair.base);
    const quote = this.asset(pair.quote);
    if (!base || !quote) {
      throw new RangeError(`Unknown asset in the pair catalogue: ${pair.key}`);
    }
    return base.usdPrice / quote.usdPrice;
  }
}

/**
 * Look up an asset of the standard catalogue by key.
 *
 * @param key REST asset key (`XXBT`).
 * @returns The asset, or `undefined`.
 * @example Look up
 * ```ts
 * import { assetByKey } from "./pairs.ts";
 * assetByKey("XXBT")?.altname; // "XBT"
 * ```
 */
export function assetByKey(key: string): SimAsset | undefined {
  return ASSET_BY_KEY.get(key);
}

/**
 * Resolve an asset of the standard catalogue from any spelling Kraken
 * accepts: key (`XXBT`), altname (`XBT`) or WS v2 id (`BTC`),
 * case-insensitive.
 *
 * @param name The spelling.
 * @returns The asset, or `undefined`.
 * @example Resolve
 * ```ts
 * import { resolveAsset } from "./pairs.ts";
 * resolveAsset("btc")?.key; // "XXBT"
 * ```
 */
export function resolveAsset(name: string): SimAsset | undefined {
  return SimCatalogue.standard().resolveAsset(name);
}

/**
 * Resolve a pair of the standard catalogue from any spelling: REST key
 * (`XXBTZUSD`), altname (`XBTUSD`), wsname (`XBT/USD`) or WS v2 symbol
 * (`BTC/USD`), case-insensitive. A simulator with synthetic pairs resolves
 * through its own {@linkcode SimCatalogue} (`market.pair(name)`).
 *
 * @param name The spelling.
 * @returns The pair, or `undefined`.
 * @example Resolve
 * ```ts
 * import { resolvePair } from "./pairs.ts";
 * resolvePair("XBT/USD")?.key; // "XXBTZUSD"
 * ```
 */
export function resolvePair(name: string): SimPair | undefined {
  return SimCatalogue.standard().resolvePair(name);
}

/**
 * The pair's reference price in quote units (from the assets' USD
 * reference prices).
 *
 * @param pair A pair of the standard catalogue.
 * @returns The price the path wanders around.
 * @throws {RangeError} For a pair outside the standard catalogue.
 * @example Reference price
 * ```ts
 * import { referencePrice, resolvePair } from "./pairs.ts";
 * referencePrice(resolvePair("XBTUSD")!); // 65000
 * ```
 */
export function referencePrice(pair: SimPair): number {
  return SimCatalogue.standard().referencePrice(pair);
}

/**
 * The pair in the `AssetPairs` wire shape (`info=info`).
 *
 * @param pair The pair.
 * @returns The wire object, field order as Kraken sends it.
 * @example Wire shape
 * ```ts
 * import { assetPairInfo, resolvePair } from "./pairs.ts";
 * assetPairInfo(resolvePair("XBTUSD")!).tick_size; // "0.1"
 * ```
 */
export function assetPairInfo(
  pair: SimPair,
): AssetPairInfo & { "execution_venue": string } {
  const info: AssetPairInfo = {
    altname: pair.altname,
    wsname: pair.wsname,
    "aclass_base": "currency",
    base: pair.base,
    "aclass_quote": "currency",
    quote: pair.quote,
    lot: "unit",
    "cost_decimals": pair.costDecimals,
    "pair_decimals": pair.pairDecimals,
    "lot_decimals": pair.lotDecimals,
    "lot_multiplier": 1,
    "leverage_buy": [...pair.leverage],
    "leverage_sell": [...pair.leverage],
    fees: pair.fees.map(([v, f]) => [v, f]),
    "fees_maker": pair.feesMaker.map(([v, f]) => [v, f]),
    "fee_volume_currency": "ZUSD",
    "margin_call": 80,
    "margin_stop": 40,
    ordermin: pair.ordermin,
    costmin: pair.costmin,
    "tick_size": tickSize(pair),
  };
  if (pair.status !== undefined) info.status = pair.status;
  if (pair.positionLimits) {
    info.long_position_limit = pair.positionLimits.long;
    info.short_position_limit = pair.positionLimits.short;
  }
  // Kraken's spot pairs trade on the `international` venue (the default
  // `execution_venue` of the WS v2 instrument channel; see FIDELITY.md).
  return { ...info, "execution_venue": "international" };
}

/**
 * The tick size as wire text (`10^-pair_decimals`).
 *
 * @param pair The pair.
 * @returns E.g. `"0.1"` for XBTUSD, `"1"` for a 0-decimal pair.
 * @example Tick
 * ```ts
 * import { resolvePair, tickSize } from "./pairs.ts";
 * tickSize(resolvePair("ETHXBT")!); // "0.00001"
 * ```
 */
export function tickSize(pair: SimPair): string {
  return pair.pairDecimals === 0
    ? "1"
    : `0.${"0".repeat(pair.pairDecimals - 1)}1`;
}

/**
 * The asset in the `Assets` wire shape.
 *
 * @param asset The asset.
 * @returns The wire object.
 * @example Wire shape
 * ```ts
 * import { assetByKey, assetInfo } from "./pairs.ts";
 * assetInfo(assetByKey("XXBT")!).decimals; // 10
 * ```
 */
export function assetInfo(asset: SimAsset): AssetInfo {
  const info: AssetInfo = {
    aclass: "currency",
    altname: asset.altname,
    decimals: asset.decimals,
    "display_decimals": asset.displayDecimals,
  };
  if (asset.collateralValue !== undefined) {
    info.collateral_value = asset.collateralValue;
  }
  info.status = asset.status;
  return info;
}
