/**
 * Building the universe from a ~700-pair AssetPairs answer (generated here,
 * in Kraken's shapes) with a Ticker-based volume floor.
 *
 * Run: deno bench tests/core/market/universe_bench.ts
 */

import { AssetTable } from "../../../core/market/assets.ts";
import {
  PairResolver,
  pairsFromAssetPairs,
} from "../../../core/market/pairs.ts";
import { PairUniverse, selectUniverse } from "../../../core/market/universe.ts";
import type {
  AssetInfo,
  AssetPairInfo,
  TickerInfo,
} from "../../../core/rest/types.ts";
import { assetPairs, assets, tickers } from "./_fixtures.ts";

const QUOTES = ["ZUSD", "ZEUR", "XXBT", "USDT", "ZGBP", "XETH"];

function generate(count: number) {
  const pairs: Record<string, AssetPairInfo> = assetPairs();
  const assetMap: Record<string, AssetInfo> = assets();
  const tickerMap: Record<string, TickerInfo> = tickers();
  const template = pairs["XXBTZUSD"]!;
  const tickerTemplate = tickerMap["XXBTZUSD"]!;
  let n = 0;
  while (Object.keys(pairs).length < count) {
    const base = `T${n.toString(36).toUpperCase().padStart(3, "A")}`;
    assetMap[base] = {
      aclass: "currency",
      altname: base,
      decimals: 8,
      display_decimals: 4,
    };
    for (const quote of QUOTES.slice(0, 1 + (n % 3))) {
      const quoteAlt = assetMap[quote]?.altname ?? quote;
      const key = `${base}${
        quote.startsWith("Z") || quote.startsWith("X") ? quoteAlt : quote
      }`;
      pairs[key] = {
        ...template,
        altname: `${base}${quoteAlt}`,
        wsname: `${base}/${quoteAlt}`,
        base,
        quote,
        leverage_buy: n % 5 === 0 ? [2, 3] : [],
        leverage_sell: n % 5 === 0 ? [2, 3] : [],
        ...(n % 11 === 0 ? { status: "cancel_only" } : {}),
      };
      tickerMap[key] = {
        ...tickerTemplate,
        v: ["1000", String(1000 + (n * 7919) % 1_000_000)],
        p: ["1.5", String(0.01 + (n % 97))],
      };
    }
    n++;
  }
  return { pairs, assetMap, tickerMap };
}

const { pairs, assetMap, tickerMap } = generate(700);
const pairCount = Object.keys(pairs).length;
const config = {
  quote: "USD",
  min24hVolumeUsd: 1_000_000,
  exclude: ["XBTUSD.d", "ZRX/USD"],
  include: ["XMR/USD"],
};

Deno.bench(`selectUniverse() over ${pairCount} pairs, tables included`, () => {
  const table = AssetTable.fromAssets(assetMap);
  const metadata = pairsFromAssetPairs(pairs, { assets: table });
  const resolver = new PairResolver(metadata, { assets: table });
  const selection = selectUniverse(metadata, config, {
    resolver,
    tickers: tickerMap,
  });
  if (selection.ids.length === 0) throw new Error("Empty universe");
});

Deno.bench(
  `PairUniverse.refresh() over ${pairCount} pairs (in-memory source)`,
  async () => {
    const universe = new PairUniverse({
      assets: () => Promise.resolve(assetMap),
      assetPairs: () => Promise.resolve(pairs),
      ticker: () => Promise.resolve(tickerMap),
    }, { config });
    const result = await universe.refresh();
    if (!result.ok) throw result.error;
  },
);

const table = AssetTable.fromAssets(assetMap);
const resolver = new PairResolver(
  pairsFromAssetPairs(pairs, { assets: table }),
  {
    assets: table,
  },
);
const spellings = [
  "XBTUSD",
  "XXBTZUSD",
  "BTC/USD",
  "btc-usd",
  "DOGE/USD",
  "taab/eur",
];

Deno.bench("PairResolver.resolve() of 6 spellings", () => {
  for (const spelling of spellings) resolver.resolve(spelling);
});

Deno.bench("PairResolver.suggest() for an unknown spelling", () => {
  resolver.suggest("BTCUSDX");
});
