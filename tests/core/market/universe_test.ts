import assert from "node:assert/strict";
import { AssetTable } from "../../../core/market/assets.ts";
import {
  pairsFromAssetPairs,
  UnknownPairError,
} from "../../../core/market/pairs.ts";
import {
  estimate24hVolumeUsd,
  PairUniverse,
  selectUniverse,
  UniverseNotReadyError,
} from "../../../core/market/universe.ts";
import type { TickerInfo } from "../../../core/rest/types.ts";
import { assetPairs, assets, FakeMarketSource, tickers } from "./_fixtures.ts";

const table = AssetTable.fromAssets(assets());
const pairs = pairsFromAssetPairs(assetPairs(), { assets: table });

const DEFAULT_UNIVERSE = [
  "ADAUSD",
  "DOTUSD",
  "ETHUSD",
  "EURUSD",
  "USDTUSD",
  "XBTUSD",
  "XDGUSD",
  "XLMUSD",
  "XMRUSD",
  "XRPUSD",
  "XTZUSD",
  "ZECUSD",
  "ZRXUSD",
];

function reasons(selection: ReturnType<typeof selectUniverse>) {
  return Object.fromEntries(
    selection.rejected.map((rejection) => [rejection.id, rejection.reason]),
  );
}

Deno.test("selectUniverse() keeps online USD spot pairs, sorted", () => {
  const selection = selectUniverse(pairs, {});
  assert.deepEqual(selection.ids, DEFAULT_UNIVERSE);
  assert.deepEqual(reasons(selection), {
    AAPLxUSD: "not_spot",
    REPUSD: "status",
    "XBTUSD.d": "not_spot",
  });
  assert.deepEqual(selection.warnings, []);
});

Deno.test("selectUniverse() keeps leveraged majors as spot pairs with margin off", () => {
  const selection = selectUniverse(pairs, { supportsMargin: false });
  assert.ok(selection.ids.includes("XBTUSD"));
  const btc = pairs.find((pair) => pair.id === "XBTUSD");
  assert.equal(btc?.leveraged, true);
  assert.equal(btc?.marginEnabled, false);
});

Deno.test("selectUniverse() applies exclude_leveraged_pairs literally", () => {
  const selection = selectUniverse(pairs, { excludeLeveragedPairs: true });
  assert.deepEqual(selection.ids, ["EURUSD", "USDTUSD", "ZRXUSD"]);
  assert.equal(reasons(selection)["XBTUSD"], "leveraged");
});

Deno.test("selectUniverse() applies the 24 h USD volume floor", () => {
  const selection = selectUniverse(pairs, { min24hVolumeUsd: 1_000_000 }, {
    tickers: tickers(),
  });
  assert.deepEqual(
    selection.ids,
    DEFAULT_UNIVERSE.filter((id) =>
      !["XMRUSD", "ZECUSD", "ZRXUSD"].includes(id)
    ),
  );
  const why = reasons(selection);
  assert.equal(why["XMRUSD"], "volume");
  assert.equal(why["ZECUSD"], "volume");
  assert.equal(why["ZRXUSD"], "no_volume_data");
  const xbt = selection.volumeUsd["XBTUSD"] ?? 0;
  assert.ok(Math.abs(xbt - 4009.6991835 * 96980.4) < 1, String(xbt));
  const detail = selection.rejected.find((r) => r.id === "XMRUSD")?.detail;
  assert.equal(detail, "24 h volume is 60270 USD, below 1000000");
});

Deno.test("selectUniverse() include and exclude overrides", async (t) => {
  await t.step("exclude drops a pair by any spelling", () => {
    const selection = selectUniverse(pairs, {
      exclude: ["dogeusd", "BTC/USD"],
    });
    assert.ok(!selection.ids.includes("XDGUSD"));
    assert.ok(!selection.ids.includes("XBTUSD"));
    assert.equal(reasons(selection)["XDGUSD"], "excluded");
  });
  await t.step("include brings back a pair below the floor", () => {
    const selection = selectUniverse(pairs, {
      min24hVolumeUsd: 1_000_000,
      include: ["XMR/USD", "ZRX-USD"],
    }, { tickers: tickers() });
    assert.ok(selection.ids.includes("XMRUSD"));
    assert.ok(selection.ids.includes("ZRXUSD"));
  });
  await t.step("include overrides exclude_leveraged_pairs", () => {
    const selection = selectUniverse(pairs, {
      excludeLeveragedPairs: true,
      include: ["XBTUSD"],
    });
    assert.ok(selection.ids.includes("XBTUSD"));
  });
  await t.step(
    "include cannot add non-online, other-quote or unknown pairs",
    () => {
      const selection = selectUniverse(pairs, {
        include: ["REPUSD", "ETH/BTC", "FOO/USD", "AAPLxUSD"],
      });
      assert.deepEqual(selection.ids, DEFAULT_UNIVERSE);
      assert.equal(reasons(selection)["REPUSD"], "status");
      assert.equal(reasons(selection)["AAPLxUSD"], "not_spot");
      assert.equal(selection.warnings.length, 2);
      assert.match(
        selection.warnings[0] ?? "",
        /^Ignored include entry "FOO\/USD": unknown pair/,
      );
      assert.equal(
        selection.warnings[1],
        'Ignored include entry "ETHXBT": quote is BTC, not USD',
      );
    },
  );
  await t.step("exclude wins over include", () => {
    const selection = selectUniverse(pairs, {
      include: ["XBTUSD"],
      exclude: ["XXBTZUSD"],
    });
    assert.ok(!selection.ids.includes("XBTUSD"));
  });
  await t.step(
    "an unknown exclude entry is a warning with a suggestion",
    () => {
      const selection = selectUniverse(pairs, { exclude: ["XBTUSX"] });
      assert.equal(selection.ids.length, DEFAULT_UNIVERSE.length);
      assert.match(selection.warnings[0] ?? "", /did you mean XBTUSD/);
    },
  );
});

Deno.test("selectUniverse() with a EUR quote converts volume through EUR/USD", () => {
  const selection = selectUniverse(pairs, {
    quote: "eur",
    min24hVolumeUsd: 50_000_000,
  }, { tickers: tickers() });
  assert.deepEqual(selection.ids, ["XBTEUR"]);
  assert.equal(reasons(selection)["ETHEUR"], "volume");
  const xbt = selection.volumeUsd["XBTEUR"] ?? 0;
  assert.ok(Math.abs(xbt - 900 * 88950.5 * 1.082) < 1, String(xbt));
});

Deno.test("selectUniverse() deduplicates pairs of the same market", () => {
  const twin = { ...pairs.find((pair) => pair.id === "XBTUSD")! };
  const copy = {
    ...twin,
    id: "XBTUSD2",
    altname: "XBTUSD2",
    restKey: "XBTUSD2",
  };
  const selection = selectUniverse([twin, copy], {});
  assert.deepEqual(selection.ids, ["XBTUSD"]);
  assert.deepEqual(reasons(selection), { XBTUSD2: "duplicate" });
  const dotted = { ...copy, restKey: "XXBTZUSD.x" };
  const reversed = selectUniverse(
    [{ ...twin, restKey: "XXBTZUSD.y" }, dotted],
    {},
  );
  assert.equal(reversed.ids.length, 1);
  const preferred = selectUniverse([{ ...twin, restKey: "A.b" }, copy], {});
  assert.deepEqual(preferred.ids, ["XBTUSD2"]);
});

Deno.test("estimate24hVolumeUsd() converts through USD/QUOTE and handles gaps", () => {
  const jpyPairs = pairsFromAssetPairs({
    XXBTZJPY: {
      ...assetPairs()["XXBTZUSD"]!,
      altname: "XBTJPY",
      wsname: "XBT/JPY",
      quote: "ZJPY",
    },
    ZUSDZJPY: {
      ...assetPairs()["ZEURZUSD"]!,
      altname: "USDJPY",
      wsname: "USD/JPY",
      base: "ZUSD",
      quote: "ZJPY",
    },
  });
  const ticker = tickers()["XXBTZUSD"]!;
  const rows = new Map<string, TickerInfo>([
    ["XBTJPY", { ...ticker, v: ["1", "2"], p: ["15000000", "15000000"] }],
    ["USDJPY", { ...ticker, v: ["1", "1"], p: ["150", "150"] }],
  ]);
  const xbtJpy = jpyPairs.find((pair) => pair.id === "XBTJPY")!;
  assert.equal(estimate24hVolumeUsd(xbtJpy, rows, jpyPairs), 200000);
  rows.set("USDJPY", { ...ticker, p: ["0", "0"], c: ["150", "1"] });
  assert.equal(estimate24hVolumeUsd(xbtJpy, rows, jpyPairs), 200000);
  rows.delete("USDJPY");
  assert.equal(estimate24hVolumeUsd(xbtJpy, rows, jpyPairs), null);
  rows.delete("XBTJPY");
  assert.equal(estimate24hVolumeUsd(xbtJpy, rows, jpyPairs), null);
});

Deno.test("PairUniverse.refresh() builds the universe from the source", async () => {
  const source = new FakeMarketSource();
  let acquired = 0;
  const universe = new PairUniverse(source, {
    config: { min24hVolumeUsd: 1_000_000 },
    now: () => 1_700_000_000_000,
    acquire: () => {
      acquired++;
      return Promise.resolve();
    },
  });
  const result = await universe.refresh();
  assert.equal(result.ok, true);
  assert.deepEqual(source.calls, ["assets", "assetPairs", "ticker"]);
  assert.equal(acquired, 3);
  assert.equal(universe.getUniverse().length, 10);
  assert.equal(universe.getUniverse()[0]?.id, "ADAUSD");
  assert.equal(universe.resolve("btc-usd"), "XBTUSD");
  assert.equal(universe.getPairMetadata("DOGE/USD").restKey, "XDGUSD");
  // Metadata covers every pair, membership only the universe.
  assert.equal(universe.getPairMetadata("ETH/BTC").id, "ETHXBT");
  assert.equal(universe.has("ETH/BTC"), false);
  assert.equal(universe.has("XBT/USD"), true);
  assert.equal(universe.has("NOPE"), false);
  assert.equal(universe.snapshot?.refreshedAtMs, 1_700_000_000_000);
  assert.equal(universe.lastError, undefined);
  assert.throws(() => universe.resolve("BTC/JPY"), UnknownPairError);
});

Deno.test("PairUniverse skips Ticker when there is no volume floor", async () => {
  const source = new FakeMarketSource();
  const universe = new PairUniverse(source);
  await universe.refresh();
  assert.deepEqual(source.calls, ["assets", "assetPairs"]);
  assert.deepEqual(
    universe.getUniverse().map((pair) => pair.id),
    DEFAULT_UNIVERSE,
  );
});

Deno.test("PairUniverse falls back to the legacy asset table when Assets fails", async () => {
  const source = new FakeMarketSource();
  source.assetsResult = new Error("EService:Unavailable");
  const universe = new PairUniverse(source);
  const result = await universe.refresh();
  assert.ok(result.ok);
  assert.equal(result.snapshot.assets.source, "fallback");
  assert.match(
    result.snapshot.selection.warnings[0] ?? "",
    /EService:Unavailable/,
  );
  assert.equal(universe.resolve("DOGE/USD"), "XDGUSD");
  assert.equal(universe.getPairMetadata("XTZUSD").base, "XTZ");
  const thrower = new FakeMarketSource();
  thrower.assets = () => Promise.reject("plain string");
  const other = await new PairUniverse(thrower).refresh();
  assert.ok(other.ok);
  assert.match(other.snapshot.selection.warnings[0] ?? "", /plain string/);
});

Deno.test("PairUniverse keeps the previous universe when a refresh fails", async () => {
  const source = new FakeMarketSource();
  const universe = new PairUniverse(source);
  await assertNotReady(universe);
  const first = await universe.refresh();
  assert.ok(first.ok);
  const before = universe.getUniverse();
  source.assetPairsResult = new Error("EGeneral:Too many requests");
  const failed = await universe.refresh();
  assert.equal(failed.ok, false);
  if (!failed.ok) {
    assert.equal(failed.snapshot, first.snapshot);
    assert.match(String(failed.error), /Too many requests/);
  }
  assert.equal(universe.getUniverse(), before);
  assert.match(String(universe.lastError), /Too many requests/);
  source.assetPairsResult = assetPairs();
  delete (source.assetPairsResult as Record<string, unknown>)["XTZUSD"];
  const again = await universe.refresh();
  assert.ok(again.ok);
  assert.equal(universe.has("XTZUSD"), false);
  assert.equal(universe.lastError, undefined);
});

async function assertNotReady(universe: PairUniverse): Promise<void> {
  assert.throws(() => universe.getUniverse(), UniverseNotReadyError);
  const source = new FakeMarketSource();
  source.assetPairsResult = new Error("down");
  const broken = new PairUniverse(source);
  const result = await broken.refresh();
  assert.equal(result.ok, false);
  assert.equal(result.snapshot, null);
  try {
    broken.getPairMetadata("XBTUSD");
    assert.fail("expected UniverseNotReadyError");
  } catch (error) {
    assert.ok(error instanceof UniverseNotReadyError);
    assert.equal(error.kind, "not_ready");
    assert.equal((error.cause as Error).message, "down");
  }
}

Deno.test("PairUniverse shares one refresh between concurrent callers", async () => {
  const source = new FakeMarketSource();
  const universe = new PairUniverse(source);
  const [a, b] = await Promise.all([universe.refresh(), universe.refresh()]);
  assert.equal(a, b);
  assert.deepEqual(source.calls, ["assets", "assetPairs"]);
  await universe.refresh();
  assert.equal(source.calls.length, 4);
});
