/**
 * Synthetic load-test pairs: the catalogue they come from, the market that
 * prices them, REST and WS serving them consistently, and the flags that
 * turn them on (`sim --synthetic-pairs`, `serve --sim --sim-pairs`).
 */

import assert from "node:assert/strict";
import { pairsFromAssetPairs, selectUniverse } from "../../core/market/mod.ts";
import { AssetTable } from "../../core/market/assets.ts";
import type { AssetInfo, AssetPairInfo } from "../../core/rest/types.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { parseSimFlags } from "../../server/cli/sim_cmd.ts";
import { Market } from "../../server/sim/exchange/market.ts";
import {
  MAX_SYNTHETIC_PAIRS,
  PAIRS,
  resolvePair,
  SimCatalogue,
  STANDARD_FEES,
  tickSize,
} from "../../server/sim/exchange/pairs.ts";
import {
  startSimulator,
  startSimulatorWithWs,
} from "../../server/sim/server.ts";
import { NOW_MS, publicCall } from "./_client.ts";

const WAIT_MS = 15_000;

Deno.test("SimCatalogue.create() adds deterministic synthetic USD pairs", async (t) => {
  const catalogue = SimCatalogue.create({ syntheticPairs: 300 });

  await t.step("names, counts and positions", () => {
    assert.equal(catalogue.syntheticPairs, 300);
    assert.equal(catalogue.pairs.length, PAIRS.length + 300);
    const first = catalogue.resolvePair("SYN001USD");
    assert.ok(first);
    assert.equal(first.altname, "SYN001USD");
    assert.equal(first.wsname, "SYN001/USD");
    assert.equal(first.symbol, "SYN001/USD");
    assert.equal(first.base, "SYN001");
    assert.equal(first.quote, "ZUSD");
    assert.equal(first.index, PAIRS.length);
    assert.equal(catalogue.resolvePair("syn300/usd")?.key, "SYN300USD");
    assert.equal(catalogue.resolvePair("SYN301USD"), undefined);
    assert.equal(catalogue.resolveAsset("syn042")?.key, "SYN042");
    const indices = new Set(catalogue.pairs.map((p) => p.index));
    assert.equal(indices.size, catalogue.pairs.length, "indices are unique");
    // The standard pairs are the very same objects, first and in order.
    PAIRS.forEach((p, i) => assert.equal(catalogue.pairs[i], p));
  });

  await t.step("realistic metadata on every synthetic pair", () => {
    for (const pair of catalogue.pairs.slice(PAIRS.length)) {
      const price = catalogue.referencePrice(pair);
      assert.equal(pair.status, "online", pair.key);
      assert.deepEqual(pair.leverage, [], pair.key);
      assert.equal(pair.fees, STANDARD_FEES, pair.key);
      assert.ok(
        pair.pairDecimals >= 1 && pair.pairDecimals <= 8,
        `${pair.key} pair_decimals ${pair.pairDecimals}`,
      );
      // About five significant digits: the tick is 1e-4 to 1e-5 of the price
      // (except where the 1- or 8-decimal bounds apply).
      const tickShare = Number(tickSize(pair)) / price;
      assert.ok(
        tickShare <= 2e-4 || pair.pairDecimals === 8,
        `${pair.key} tick ${tickSize(pair)} at price ${price}`,
      );
      // The order minimum is worth about $5, on the lot grid.
      const minUsd = Number(pair.ordermin) * price;
      assert.ok(minUsd >= 2 && minUsd <= 10, `${pair.key} ordermin ${minUsd}`);
      const decimals = pair.ordermin.split(".")[1]?.length ?? 0;
      assert.ok(decimals <= pair.lotDecimals, `${pair.key} ${pair.ordermin}`);
      assert.equal(pair.costmin, "0.5");
      assert.ok(pair.tradesPerDay >= 500 && pair.tradesPerDay <= 8000);
      const asset = catalogue.asset(pair.base);
      assert.equal(asset?.status, "enabled");
      assert.ok(asset.dailyVolatility > 0);
    }
  });

  await t.step("the same count gives the same catalogue", () => {
    const again = SimCatalogue.create({ syntheticPairs: 300 });
    assert.deepEqual(again.pairs, catalogue.pairs);
    assert.deepEqual(again.assets, catalogue.assets);
    const fewer = SimCatalogue.create({ syntheticPairs: 5 });
    assert.deepEqual(fewer.pairs, catalogue.pairs.slice(0, PAIRS.length + 5));
  });

  await t.step(
    "the standard catalogue and module lookups are untouched",
    () => {
      assert.equal(SimCatalogue.create(), SimCatalogue.standard());
      assert.equal(SimCatalogue.create({ syntheticPairs: 0 }).pairs, PAIRS);
      assert.equal(resolvePair("SYN001USD"), undefined);
      assert.equal(PAIRS.length, 49);
    },
  );

  await t.step("an out-of-range count is refused", () => {
    for (const bad of [-1, 1.5, MAX_SYNTHETIC_PAIRS + 1, Number.NaN]) {
      assert.throws(
        () => SimCatalogue.create({ syntheticPairs: bad }),
        RangeError,
        String(bad),
      );
    }
  });
});

Deno.test("Market prices synthetic pairs the same whatever the catalogue size", () => {
  const small = new Market({
    seed: 4,
    now: () => NOW_MS,
    catalogue: SimCatalogue.create({ syntheticPairs: 3 }),
  });
  const large = new Market({
    seed: 4,
    now: () => NOW_MS,
    catalogue: SimCatalogue.create({ syntheticPairs: 400 }),
  });
  assert.equal(large.pairs.length, PAIRS.length + 400);
  const a = small.ticker("SYN003/USD");
  const b = large.ticker("SYN003USD");
  assert.deepEqual(a, b);
  assert.equal(a.pair, "SYN003USD");
  assert.ok(Number(a.ask.price) > Number(a.bid.price));
  assert.ok((a.day?.count ?? 0) > 0, "it traded in the last 24 h");
  assert.throws(() => small.ticker("SYN004USD"), RangeError);
  const standard = new Market({ seed: 4, now: () => NOW_MS });
  assert.equal(standard.pair("SYN001USD"), undefined);
});

Deno.test("a simulator with synthetic pairs serves them over REST", async () => {
  await using sim = await startSimulator({
    seed: 5,
    now: () => NOW_MS,
    syntheticPairs: 300,
    closedOrders: 2,
  });
  await using plain = await startSimulator({
    seed: 5,
    now: () => NOW_MS,
    closedOrders: 2,
  });
  const pairs = await publicCall(sim.url, "AssetPairs");
  assert.deepEqual(pairs.error, []);
  assert.equal(Object.keys(pairs.result).length, PAIRS.length + 300);
  const info = pairs.result["SYN123USD"] as AssetPairInfo;
  assert.equal(info.wsname, "SYN123/USD");
  assert.equal(info.base, "SYN123");
  assert.equal(info.quote, "ZUSD");
  assert.equal(info.status, "online");
  assert.ok(Number(info.tick_size) > 0);

  const assets = await publicCall(sim.url, "Assets");
  assert.equal(
    (assets.result["SYN123"] as AssetInfo | undefined)?.altname,
    "SYN123",
  );
  const one = await publicCall(sim.url, "Assets", { asset: "SYN007" });
  assert.deepEqual(Object.keys(one.result), ["SYN007"]);

  const ticker = await publicCall(sim.url, "Ticker", {
    pair: "SYN123USD,XBTUSD",
  });
  assert.deepEqual(Object.keys(ticker.result).sort(), [
    "SYN123USD",
    "XXBTZUSD",
  ]);
  const depth = await publicCall(sim.url, "Depth", {
    pair: "SYN123/USD",
    count: "5",
  });
  assert.equal(depth.result["SYN123USD"].asks.length, 5);
  const ohlc = await publicCall(sim.url, "OHLC", {
    pair: "SYN123USD",
    interval: "60",
  });
  assert.ok(ohlc.result["SYN123USD"].length > 100);

  // The page's universe: every synthetic pair is an online USD spot pair.
  const universe = selectUniverse(
    pairsFromAssetPairs(
      pairs.result as Record<string, AssetPairInfo>,
      {
        assets: AssetTable.fromAssets(
          assets.result as Record<string, AssetInfo>,
        ),
      },
    ),
    { quote: "USD" },
  );
  assert.ok(
    universe.ids.length >= 330,
    `universe has ${universe.ids.length} pairs`,
  );
  assert.ok(universe.ids.includes("SYN300USD"));

  // Another simulator in the same process keeps the standard catalogue.
  const unknown = await publicCall(plain.url, "Ticker", { pair: "SYN001USD" });
  assert.deepEqual(unknown.error, ["EQuery:Unknown asset pair"]);
  const plainPairs = await publicCall(plain.url, "AssetPairs");
  assert.equal(Object.keys(plainPairs.result).length, PAIRS.length);
});

type Json = Record<string, unknown>;

/** Open a socket, send requests, and collect frames until `done` says so. */
async function exchange(
  url: string,
  requests: unknown[],
  done: (frames: Json[]) => boolean,
): Promise<Json[]> {
  const socket = new WebSocket(url);
  const frames: Json[] = [];
  const closed = new Promise<void>((resolve) => {
    socket.onclose = () => resolve();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Timed out waiting for frames: ${
                frames.map((f) =>
                  `${f.channel ?? f.method}/${f.type ?? f.success}`
                ).join(" ")
              }`,
            ),
          ),
        WAIT_MS,
      );
      socket.onerror = () => reject(new Error("WebSocket failed"));
      socket.onmessage = (event) => {
        frames.push(JSON.parse(String(event.data)));
        if (done(frames)) resolve();
      };
      socket.onopen = () => {
        for (const r of requests) socket.send(JSON.stringify(r));
      };
    });
  } finally {
    clearTimeout(timer);
    socket.close();
    await closed;
  }
  return frames;
}

Deno.test("a simulator with synthetic pairs serves them over WebSocket v2", async () => {
  let nowMs = NOW_MS;
  await using sim = await startSimulatorWithWs({
    seed: 6,
    now: () => nowMs,
    syntheticPairs: 40,
    closedOrders: 2,
    ws: { tickMs: 0 },
  });
  const symbols = ["SYN001/USD", "SYN040/USD", "BTC/USD"];
  const frames = await exchange(
    sim.wsPublicUrl,
    [
      { method: "subscribe", params: { channel: "ticker", symbol: symbols } },
      { method: "subscribe", params: { channel: "instrument" } },
      {
        method: "subscribe",
        params: { channel: "ticker", symbol: ["SYN041/USD"] },
        req_id: 9,
      },
    ],
    (all) =>
      all.filter((f) => f.channel === "ticker" && f.type === "snapshot")
          .length === 3 &&
      all.some((f) => f.channel === "instrument") &&
      all.some((f) => f.req_id === 9),
  );
  const tickers = frames.filter((f) =>
    f.channel === "ticker" && f.type === "snapshot"
  ).map((f) => (f.data as Json[])[0]!);
  assert.deepEqual(tickers.map((t) => t.symbol).sort(), [...symbols].sort());
  // WS ticker and REST Ticker agree at the same instant.
  const rest = await publicCall(sim.url, "Ticker", { pair: "SYN040USD" });
  const ws = tickers.find((t) => t.symbol === "SYN040/USD")!;
  assert.equal(Number(ws.last), Number(rest.result["SYN040USD"].c[0]));
  const instrument = frames.find((f) => f.channel === "instrument")!;
  const listed = (instrument.data as { pairs: Json[] }).pairs;
  assert.equal(listed.length, PAIRS.length + 40);
  assert.ok(listed.some((p) => p.symbol === "SYN040/USD"));
  const refused = frames.find((f) => f.req_id === 9)!;
  assert.equal(refused.success, false);

  // Updates tick for synthetic pairs as time moves.
  const updates = await exchange(
    sim.wsPublicUrl,
    [{
      method: "subscribe",
      params: {
        channel: "ticker",
        symbol: Array.from(
          { length: 40 },
          (_, i) => `SYN${String(i + 1).padStart(3, "0")}/USD`,
        ),
      },
    }],
    (all) => {
      const snapshots =
        all.filter((f) => f.channel === "ticker" && f.type === "snapshot")
          .length;
      const ticked = all.some((f) =>
        f.channel === "ticker" && f.type === "update"
      );
      if (snapshots === 40 && !ticked) {
        nowMs += 120_000;
        sim.ws.tick();
      }
      return ticked;
    },
  );
  const update = updates.find((f) =>
    f.channel === "ticker" && f.type === "update"
  )!;
  assert.match(String((update.data as Json[])[0]!.symbol), /^SYN\d{3}\/USD$/);
});

Deno.test("the synthetic pair flags parse and thread through", async (t) => {
  await t.step("sim --synthetic-pairs", () => {
    const parsed = parseSimFlags(["--synthetic-pairs", "300"]);
    assert.equal(parsed.kind, "sim");
    assert.equal(parsed.kind === "sim" && parsed.syntheticPairs, 300);
    assert.equal(
      "syntheticPairs" in parseSimFlags([]),
      false,
      "absent unless given",
    );
    for (const bad of [["--synthetic-pairs"], ["--synthetic-pairs=2000"]]) {
      assert.equal(parseSimFlags(bad).kind, "usage_error", bad.join(" "));
    }
  });
  await t.step("serve --sim --sim-pairs", () => {
    assert.deepEqual(parseServeArgs(["--sim", "--sim-pairs=300"]), {
      kind: "serve",
      host: undefined,
      port: undefined,
      token: undefined,
      sim: true,
      seed: undefined,
      live: false,
      simPairs: 300,
    });
    assert.equal(parseServeArgs(["--sim-pairs", "3", "--sim"]).kind, "serve");
    for (
      const bad of [
        ["--sim-pairs", "3"],
        ["--sim", "--sim-pairs"],
        ["--sim", "--sim-pairs", "x"],
        ["--sim", "--sim-pairs", "2000"],
      ]
    ) {
      assert.equal(parseServeArgs(bad).kind, "usage_error", bad.join(" "));
    }
  });
});
