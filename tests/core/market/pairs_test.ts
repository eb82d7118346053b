import assert from "node:assert/strict";
import { AssetTable } from "../../../core/market/assets.ts";
import {
  pairMetadataFromRest,
  PairResolver,
  pairsFromAssetPairs,
  UnknownPairError,
} from "../../../core/market/pairs.ts";
import { assetPairs, assets } from "./_fixtures.ts";

function fixtureResolver(): PairResolver {
  const table = AssetTable.fromAssets(assets());
  return new PairResolver(
    pairsFromAssetPairs(assetPairs(), { assets: table }),
    {
      assets: table,
    },
  );
}

Deno.test("pairMetadataFromRest() converts the BTC/USD entry", () => {
  const table = AssetTable.fromAssets(assets());
  const info = assetPairs()["XXBTZUSD"];
  assert.ok(info);
  const meta = pairMetadataFromRest("XXBTZUSD", info, { assets: table });
  assert.deepEqual(
    {
      id: meta.id,
      base: meta.base,
      quote: meta.quote,
      baseKey: meta.baseKey,
      quoteKey: meta.quoteKey,
      restKey: meta.restKey,
      altname: meta.altname,
      wsV1: meta.wsV1,
      wsV2: meta.wsV2,
      priceDecimals: meta.priceDecimals,
      volumeDecimals: meta.volumeDecimals,
      costDecimals: meta.costDecimals,
      tickSize: meta.tickSize,
      ordermin: meta.ordermin,
      costmin: meta.costmin,
      status: meta.status,
      marginBuy: meta.marginBuy,
      marginSell: meta.marginSell,
      leveraged: meta.leveraged,
      marginEnabled: meta.marginEnabled,
      feeVolumeCurrency: meta.feeVolumeCurrency,
    },
    {
      id: "XBTUSD",
      base: "BTC",
      quote: "USD",
      baseKey: "XXBT",
      quoteKey: "ZUSD",
      restKey: "XXBTZUSD",
      altname: "XBTUSD",
      wsV1: "XBT/USD",
      wsV2: "BTC/USD",
      priceDecimals: 1,
      volumeDecimals: 8,
      costDecimals: 5,
      tickSize: "0.1",
      ordermin: "0.0001",
      costmin: "0.5",
      status: "online",
      marginBuy: true,
      marginSell: true,
      leveraged: true,
      marginEnabled: false,
      feeVolumeCurrency: "USD",
    },
  );
  assert.deepEqual(meta.takerFees[0], { minVolume: 0, percent: 0.26 });
  assert.deepEqual(meta.makerFees.at(-1), { minVolume: 10000000, percent: 0 });
  assert.deepEqual(meta.leverageBuy, [2, 3, 4, 5]);
  const margin = pairMetadataFromRest("XXBTZUSD", info, {
    assets: table,
    supportsMargin: true,
  });
  assert.equal(margin.marginEnabled, true);
});

Deno.test("pairMetadataFromRest() fills documented defaults for missing fields", async (t) => {
  const pairs = assetPairs();
  await t.step("missing status is online", () => {
    const ada = pairMetadataFromRest("ADAUSD", pairs["ADAUSD"]!);
    assert.equal(ada.status, "online");
  });
  await t.step("missing tick, cost decimals, minimums and maker fees", () => {
    const dot = pairMetadataFromRest("DOTUSD", pairs["DOTUSD"]!);
    assert.equal(dot.tickSize, "0.0001");
    assert.equal(dot.costDecimals, 4);
    assert.equal(dot.ordermin, "0");
    assert.equal(dot.costmin, "0");
    assert.equal(dot.feeVolumeCurrency, null);
    assert.deepEqual(dot.makerFees, dot.takerFees);
    assert.notEqual(dot.makerFees, dot.takerFees);
  });
  await t.step("missing wsname is derived from the altnames", () => {
    const dark = pairMetadataFromRest("XXBTZUSD.d", pairs["XXBTZUSD.d"]!);
    assert.equal(dark.wsV1, "XBT/USD");
    assert.equal(dark.wsV2, "BTC/USD");
  });
  await t.step("legacy fallback table when Assets is not given", () => {
    const doge = pairMetadataFromRest("XDGUSD", pairs["XDGUSD"]!);
    assert.equal(doge.base, "DOGE");
    assert.equal(doge.wsV2, "DOGE/USD");
    assert.equal(doge.wsV1, "XDG/USD");
  });
});

Deno.test("pairMetadataFromRest() keeps X- and Z-led tickers intact", () => {
  const table = AssetTable.fromAssets(assets());
  const pairs = pairsFromAssetPairs(assetPairs(), { assets: table });
  const byId = new Map(pairs.map((pair) => [pair.id, pair]));
  assert.equal(byId.get("XTZUSD")?.wsV2, "XTZ/USD");
  assert.equal(byId.get("XRPUSD")?.wsV2, "XRP/USD");
  assert.equal(byId.get("XLMUSD")?.wsV2, "XLM/USD");
  assert.equal(byId.get("ZECUSD")?.wsV2, "ZEC/USD");
  assert.equal(byId.get("ZRXUSD")?.wsV2, "ZRX/USD");
  assert.equal(byId.get("ETHXBT")?.wsV2, "ETH/BTC");
  assert.equal(byId.get("ETHXBT")?.restKey, "XETHXXBT");
  assert.equal(byId.get("ADAETH")?.wsV2, "ADA/ETH");
  assert.deepEqual(
    pairs.map((pair) => pair.id),
    [...pairs.map((pair) => pair.id)].sort(),
  );
});

Deno.test("PairResolver.resolve() accepts every spelling of a pair", async (t) => {
  const resolver = fixtureResolver();
  const cases: Array<[string, string]> = [
    ["XBTUSD", "XBTUSD"],
    ["XXBTZUSD", "XBTUSD"],
    ["XBT/USD", "XBTUSD"],
    ["BTC/USD", "XBTUSD"],
    ["btc/usd", "XBTUSD"],
    ["BTC-USD", "XBTUSD"],
    ["btc_usd", "XBTUSD"],
    ["btcusd", "XBTUSD"],
    [" XBT/USD ", "XBTUSD"],
    ["XXBT/ZUSD", "XBTUSD"],
    ["DOGE/USD", "XDGUSD"],
    ["XDGUSD", "XDGUSD"],
    ["XXDGZUSD", "XDGUSD"],
    ["dogeusd", "XDGUSD"],
    ["XETHZUSD", "ETHUSD"],
    ["ETH/USD", "ETHUSD"],
    ["ETHXBT", "ETHXBT"],
    ["XETHXXBT", "ETHXBT"],
    ["ETH/BTC", "ETHXBT"],
    ["eth-xbt", "ETHXBT"],
    ["XTZUSD", "XTZUSD"],
    ["XTZ/USD", "XTZUSD"],
    ["XXRPZUSD", "XRPUSD"],
    ["XRP/USD", "XRPUSD"],
    ["ZRXUSD", "ZRXUSD"],
    ["ZRX/USD", "ZRXUSD"],
    ["XZECZUSD", "ZECUSD"],
    ["ZEC/USD", "ZECUSD"],
    ["XXLMZUSD", "XLMUSD"],
    ["XLM/USD", "XLMUSD"],
    ["ADA/ETH", "ADAETH"],
    ["EUR/USD", "EURUSD"],
    ["ZEURZUSD", "EURUSD"],
    ["XBTUSD.d", "XBTUSD.d"],
    ["XXBTZUSD.d", "XBTUSD.d"],
    ["BTC/EUR", "XBTEUR"],
  ];
  for (const [spelling, id] of cases) {
    await t.step(`${spelling.trim()} → ${id}`, () => {
      assert.equal(resolver.resolve(spelling), id);
    });
  }
});

Deno.test("PairResolver maps WS v2 symbols and REST keys back to canonical ids", () => {
  const table = AssetTable.fromAssets(assets());
  const pairs = pairsFromAssetPairs(assetPairs(), { assets: table });
  const resolver = new PairResolver(pairs, { assets: table });
  for (const pair of pairs) {
    assert.equal(resolver.resolve(pair.restKey), pair.id, pair.restKey);
    assert.equal(resolver.resolve(pair.altname), pair.id, pair.altname);
    if (!pair.restKey.includes(".")) {
      assert.equal(resolver.resolve(pair.wsV2), pair.id, pair.wsV2);
      assert.equal(resolver.resolve(pair.wsV1), pair.id, pair.wsV1);
    }
  }
  assert.equal(resolver.size, pairs.length);
  assert.deepEqual(resolver.ids(), pairs.map((pair) => pair.id).sort());
  assert.equal(resolver.get("btc/usd").restKey, "XXBTZUSD");
});

Deno.test("PairResolver rejects unknown pairs with suggestions", async (t) => {
  const resolver = fixtureResolver();
  await t.step("a typo suggests the close pair", () => {
    let error: unknown;
    try {
      resolver.resolve("XBTUSX");
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof UnknownPairError);
    assert.equal(error.kind, "unknown_pair");
    assert.equal(error.input, "XBTUSX");
    assert.equal(error.suggestions[0], "XBTUSD");
    assert.match(error.message, /^Unknown pair "XBTUSX"; did you mean XBTUSD/);
  });
  await t.step("an unknown quote suggests pairs with the same base", () => {
    try {
      resolver.resolve("BTC/JPY");
      assert.fail("expected UnknownPairError");
    } catch (error) {
      assert.ok(error instanceof UnknownPairError);
      assert.ok(
        error.suggestions.includes("XBTUSD"),
        String(error.suggestions),
      );
      assert.ok(
        error.suggestions.includes("XBTEUR"),
        String(error.suggestions),
      );
    }
  });
  await t.step("a joined spelling with a known base prefix", () => {
    const suggestions = resolver.suggest("DOTGBPX");
    assert.ok(suggestions.includes("DOTUSD"), String(suggestions));
  });
  await t.step("nothing close gives no suggestion", () => {
    const error = new UnknownPairError("QQQQQQQQQQ", []);
    assert.equal(error.message, 'Unknown pair "QQQQQQQQQQ"');
    assert.deepEqual(resolver.suggest(""), []);
    assert.equal(resolver.tryResolve("QQQQQQQQQQ"), undefined);
  });
  await t.step("separated sides never match across the separator", () => {
    assert.equal(resolver.tryResolve("XB/TUSD"), undefined);
  });
});

Deno.test("PairResolver prefers exact keys over derived spellings on collisions", () => {
  const pairs = pairsFromAssetPairs({
    // A made-up pair whose altname equals another pair's joined WS v2 name.
    BTCUSD: {
      altname: "BTCUSD",
      wsname: "BT/CUSD",
      aclass_base: "currency",
      base: "BT",
      aclass_quote: "currency",
      quote: "CUSD",
      pair_decimals: 1,
      lot_decimals: 8,
      leverage_buy: [],
      leverage_sell: [],
      fees: [],
    },
    XXBTZUSD: assetPairs()["XXBTZUSD"]!,
  });
  const resolver = new PairResolver(pairs);
  assert.equal(resolver.resolve("BTCUSD"), "BTCUSD");
  assert.equal(resolver.resolve("BTC/USD"), "XBTUSD");
  assert.equal(resolver.resolve("BT/CUSD"), "BTCUSD");
});
