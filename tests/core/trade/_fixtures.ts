/**
 * Fixtures for the trading tests: pair metadata built from Kraken-shaped
 * AssetPairs entries (REST.md §5.1 values for XBTUSD), gate configs and
 * order requests.
 *
 * @module
 */

import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import {
  type PairMetadata,
  pairMetadataFromRest,
} from "../../../core/market/pairs.ts";
import type { AssetPairInfo } from "../../../core/rest/types.ts";
import type { GateConfig, GateContext } from "../../../core/trade/gates.ts";
import type { OrderRequest } from "../../../core/trade/order.ts";

/** Kraken's XBTUSD taker schedule (REST.md §5.1). */
export const TAKER_FEES: [number, number][] = [
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

/** Kraken's XBTUSD maker schedule (REST.md §5.1). */
export const MAKER_FEES: [number, number][] = [
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

function info(
  fields:
    & Partial<AssetPairInfo>
    & Pick<AssetPairInfo, "altname" | "base" | "quote">,
): AssetPairInfo {
  return {
    aclass_base: "currency",
    aclass_quote: "currency",
    lot: "unit",
    pair_decimals: 1,
    cost_decimals: 5,
    lot_decimals: 8,
    lot_multiplier: 1,
    leverage_buy: [],
    leverage_sell: [],
    fees: TAKER_FEES,
    fees_maker: MAKER_FEES,
    fee_volume_currency: "ZUSD",
    margin_call: 80,
    margin_stop: 40,
    status: "online",
    ...fields,
  } as AssetPairInfo;
}

/**
 * XBTUSD as in REST.md §5.1: price decimals 1, tick 0.1, ordermin 0.0001,
 * costmin 0.5, leverage 2–5.
 */
export function xbtusd(overrides: Partial<AssetPairInfo> = {}): PairMetadata {
  return pairMetadataFromRest(
    "XXBTZUSD",
    info({
      altname: "XBTUSD",
      wsname: "XBT/USD",
      base: "XXBT",
      quote: "ZUSD",
      pair_decimals: 1,
      ordermin: "0.0001",
      costmin: "0.5",
      tick_size: "0.1",
      leverage_buy: [2, 3, 4, 5],
      leverage_sell: [2, 3, 4, 5],
      ...overrides,
    }),
    { supportsMargin: true },
  );
}

/** ETHUSD: price decimals 2, tick 0.01, ordermin 0.002, costmin 0.5. */
export function ethusd(overrides: Partial<AssetPairInfo> = {}): PairMetadata {
  return pairMetadataFromRest(
    "XETHZUSD",
    info({
      altname: "ETHUSD",
      wsname: "ETH/USD",
      base: "XETH",
      quote: "ZUSD",
      pair_decimals: 2,
      ordermin: "0.002",
      costmin: "0.5",
      tick_size: "0.01",
      ...overrides,
    }),
  );
}

/** ETHXBT (WS v2 `ETH/BTC`): a pair quoted in BTC. */
export function ethxbt(): PairMetadata {
  return pairMetadataFromRest(
    "XETHXXBT",
    info({
      altname: "ETHXBT",
      wsname: "ETH/XBT",
      base: "XETH",
      quote: "XXBT",
      pair_decimals: 5,
      cost_decimals: 6,
      ordermin: "0.01",
      costmin: "0.00002",
      tick_size: "0.00001",
    }),
  );
}

/** XDGUSD (WS v2 `DOGE/USD`): price decimals 7. */
export function xdgusd(): PairMetadata {
  return pairMetadataFromRest(
    "XDGUSD",
    info({
      altname: "XDGUSD",
      wsname: "XDG/USD",
      base: "XXDG",
      quote: "ZUSD",
      pair_decimals: 7,
      ordermin: "20",
      costmin: "0.5",
      tick_size: "0.0000001",
    }),
  );
}

/** A gate config: DEFAULT_CONFIG with trading overrides. */
export function gateConfig(
  trading: Partial<GateConfig["trading"]> = {},
  supportsMargin = false,
): GateConfig {
  return {
    trading: { ...DEFAULT_CONFIG.trading, mode: "paper", ...trading },
    region: { supports_margin: supportsMargin },
  };
}

/** A deterministic UUID source: 00000000-…-000000000001, …02, … */
export function uuids(): () => string {
  let n = 0;
  return () => {
    n++;
    const hex = n.toString(16).padStart(32, "0");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${
      hex.slice(16, 20)
    }-${hex.slice(20)}`;
  };
}

/** Fixed "now": 2025-03-04T10:30:00Z. */
export const NOW_MS = Date.UTC(2025, 2, 4, 10, 30, 0);

/**
 * A gate context for XBTUSD in paper mode, with a best ask of 25100 (the
 * {@linkcode entry} limit buy at 25000.1 rests below it).
 */
export function context(
  overrides: { [K in keyof GateContext]?: GateContext[K] | undefined } = {},
): GateContext {
  const merged: Record<string, unknown> = {
    config: gateConfig(),
    liveSwitch: false,
    pair: xbtusd(),
    nowMs: NOW_MS,
    referencePrice: "25100",
    randomUuid: uuids(),
    ...overrides,
  };
  for (const [key, value] of Object.entries(merged)) {
    if (value === undefined) delete merged[key];
  }
  return merged as unknown as GateContext;
}

/** A gate config whose universe includes extra pairs (e.g. ETHXBT). */
export function includeInUniverse(
  config: GateConfig,
  ...pairs: string[]
): GateConfig {
  return { ...config, universe: { include: pairs, exclude: [] } };
}

/** Order overrides; `undefined` removes a field. */
export type OrderOverrides = {
  [K in keyof OrderRequest]?: OrderRequest[K] | undefined;
};

/**
 * A valid XBTUSD entry: limit buy 0.01 @ 25000.1 with a stop at 24000
 * (notional 250.001 USD, stop 4 % away).
 */
export function entry(overrides: OrderOverrides = {}): OrderRequest {
  const order: Record<string, unknown> = {
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.01",
    price: "25000.1",
    stopLoss: { type: "stop-loss", triggerPrice: "24000" },
    ...overrides,
  };
  for (const [key, value] of Object.entries(order)) {
    if (value === undefined) delete order[key];
  }
  return order as unknown as OrderRequest;
}
