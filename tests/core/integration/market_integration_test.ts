/**
 * The market-data layer (core/market) over the core REST client against the
 * simulator on loopback: the USD spot universe, pair spellings, OHLC
 * backfill into memory and file stores, and candles rebuilt from trades.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { RestClient } from "../../../core/rest/client.ts";
import { KrakenError } from "../../../core/rest/errors.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import {
  backfillFromTrades,
  backfillOhlc,
  candleFromRow,
  MemoryOhlcStore,
  OhlcHistory,
  PairResolver,
  pairsFromAssetPairs,
  PairUniverse,
  UnknownPairError,
} from "../../../core/market/mod.ts";
import {
  FileOhlcStore,
  OHLC_CSV_HEADER,
} from "../../../server/deno/ohlc_file_store.ts";
import { PAIRS, type Simulator, startSimulator, tickSize } from "@krakked/sim";
import { NOW_MS } from "../../sim/_client.ts";
import { CountingFetch, SteppedClock } from "./_integration.ts";

const SEED = 23;
const DAY_SEC = 86_400;

/** A client with a public limiter that never makes the tests wait. */
function publicClient(
  sim: Simulator,
  now: () => number,
  wire = new CountingFetch(),
  maxAttempts = 3,
): { client: RestClient; limiter: RateLimiter } {
  const limiter = new RateLimiter({
    now,
    publicLimits: { max: 10_000, decayPerSec: 10_000 },
  });
  const client = new RestClient({
    baseUrl: sim.url,
    fetch: wire.fetch,
    now,
    publicLimiter: limiter,
    retry: { maxAttempts, baseDelayMs: 1, maxDelayMs: 1 },
  });
  return { client, limiter };
}

const USD_ONLINE = PAIRS
  .filter((p) =>
    p.quote === "ZUSD" && (p.status === undefined || p.status === "online")
  )
  .map((p) => p.altname)
  .sort();

Deno.test("PairUniverse over the REST client keeps the online USD spot pairs", async (t) => {
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: () => NOW_MS,
    // Quiet: these tests page through days of trades (issue 15's normal
    // market trades ~135,000 a day on BTC/USD).
    activity: "quiet",
  });
  const wire = new CountingFetch();
  const { client, limiter } = publicClient(sim, () => NOW_MS, wire, 1);
  using _limiter = limiter;
  using _client = client;

  await t.step("default rules", async () => {
    const universe = new PairUniverse(client, {
      config: { quote: "USD" },
      now: () => NOW_MS,
    });
    const refreshed = await universe.refresh();
    assert.ok(refreshed.ok);
    const { snapshot } = refreshed;
    assert.deepEqual(universe.getUniverse().map((p) => p.id), USD_ONLINE);
    assert.equal(USD_ONLINE.length, 36);
    assert.deepEqual(snapshot.selection.warnings, []);
    assert.equal(snapshot.refreshedAtMs, NOW_MS);
    assert.deepEqual(
      snapshot.selection.rejected.map((r) => [r.id, r.reason, r.detail]).sort(),
      [
        ["COMPUSD", "status", 'Status is "post_only"'],
        ["MLNUSD", "status", 'Status is "reduce_only"'],
        ["REPUSD", "status", 'Status is "cancel_only"'],
        ["SANDUSD", "status", 'Status is "limit_only"'],
      ],
    );
    // No status field at all counts as online.
    assert.ok(universe.has("MANAUSD"));
    assert.equal(universe.getPairMetadata("mana/usd").status, "online");
    // Other quotes are neither members nor rejections.
    for (const id of ["XBTEUR", "ETHXBT", "XBTUSDT", "ADAETH"]) {
      assert.equal(universe.has(id), false);
      assert.equal(universe.getPairMetadata(id).id, id, "still resolvable");
    }
    // Leverage is listed but margin stays off without a margin profile.
    const btc = universe.getPairMetadata("XBTUSD");
    assert.equal(btc.leveraged, true);
    assert.equal(btc.marginEnabled, false);
    // Metadata agrees with the simulator's catalogue, pair by pair.
    for (const pair of PAIRS) {
      const meta = universe.getPairMetadata(pair.key);
      assert.equal(meta.id, pair.altname);
      assert.equal(meta.restKey, pair.key);
      assert.equal(meta.wsV1, pair.wsname);
      assert.equal(meta.wsV2, pair.symbol);
      assert.equal(meta.priceDecimals, pair.pairDecimals);
      assert.equal(meta.volumeDecimals, pair.lotDecimals);
      assert.equal(meta.tickSize, tickSize(pair));
      assert.equal(meta.ordermin, pair.ordermin);
      assert.equal(meta.leveraged, pair.leverage.length > 0);
    }
    assert.equal(wire.countOf("Ticker"), 0, "no floor, no Ticker call");
    // The REST keys of the universe are what Ticker answers under.
    const tickers = await client.ticker(
      universe.getUniverse().map((p) => p.id),
    );
    assert.deepEqual(
      Object.keys(tickers).sort(),
      universe.getUniverse().map((p) => p.restKey).sort(),
    );
  });

  await t.step(
    "a volume floor fetches Ticker; include and exclude",
    async () => {
      const universe = new PairUniverse(client, {
        config: {
          quote: "USD",
          min24hVolumeUsd: 1e15,
          include: ["btc-usd", "eth/usd", "NOPE/USD"],
          exclude: ["ETHUSD"],
        },
      });
      const before = wire.countOf("Ticker");
      const refreshed = await universe.refresh();
      assert.ok(refreshed.ok);
      assert.equal(wire.countOf("Ticker"), before + 1);
      assert.deepEqual(universe.getUniverse().map((p) => p.id), ["XBTUSD"]);
      const { selection } = refreshed.snapshot;
      assert.ok(selection.volumeUsd.XBTUSD! > 0);
      const reasons = new Map(selection.rejected.map((r) => [r.id, r.reason]));
      assert.equal(
        reasons.get("ETHUSD"),
        "excluded",
        "exclude wins over include",
      );
      assert.equal(reasons.get("SOLUSD"), "volume");
      assert.equal(reasons.get("COMPUSD"), "status");
      assert.equal(selection.warnings.length, 1);
      assert.match(selection.warnings[0]!, /NOPE\/USD/);
    },
  );

  await t.step("Assets failing falls back to the legacy table", async () => {
    sim.control.set({ unavailable: 1 });
    const universe = new PairUniverse(client, { config: { quote: "USD" } });
    const refreshed = await universe.refresh();
    assert.ok(refreshed.ok);
    assert.match(
      refreshed.snapshot.selection.warnings[0]!,
      /^Assets unavailable, using the legacy asset table: .*EService:Unavailable/,
    );
    assert.deepEqual(universe.getUniverse().map((p) => p.id), USD_ONLINE);
    assert.equal(universe.resolve("doge/usd"), "XDGUSD");
  });

  await t.step("a failed refresh keeps the previous snapshot", async () => {
    const universe = new PairUniverse(client, { config: { quote: "USD" } });
    assert.ok((await universe.refresh()).ok);
    const kept = universe.snapshot;
    sim.control.set({ unavailable: 2 });
    const failed = await universe.refresh();
    assert.equal(failed.ok, false);
    assert.ok(!failed.ok && failed.error instanceof KrakenError);
    assert.equal((failed.error as KrakenError).kind, "service");
    assert.equal(universe.snapshot, kept);
    assert.deepEqual(universe.getUniverse().map((p) => p.id), USD_ONLINE);
    sim.control.clear();
  });
});

Deno.test("the resolver maps every spelling of every simulator pair", async () => {
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: () => NOW_MS,
    // Quiet: these tests page through days of trades (issue 15's normal
    // market trades ~135,000 a day on BTC/USD).
    activity: "quiet",
  });
  const { client, limiter } = publicClient(sim, () => NOW_MS);
  using _limiter = limiter;
  using _client = client;
  const universe = new PairUniverse(client);
  assert.ok((await universe.refresh()).ok);
  let checked = 0;
  for (const pair of PAIRS) {
    const [base, quote] = pair.symbol.split("/") as [string, string];
    const [v1Base, v1Quote] = pair.wsname.split("/") as [string, string];
    const spellings = [
      pair.key,
      pair.altname,
      pair.wsname,
      pair.symbol,
      pair.key.toLowerCase(),
      pair.altname.toLowerCase(),
      `${base}-${quote}`.toLowerCase(),
      `${base}_${quote}`,
      `${base}${quote}`.toLowerCase(),
      `${v1Base}-${v1Quote}`,
      ` ${pair.symbol} `,
      `${pair.base}/${pair.quote}`,
    ];
    for (const spelling of spellings) {
      assert.equal(
        universe.resolve(spelling),
        pair.altname,
        `"${spelling}" → ${pair.altname}`,
      );
      checked++;
    }
    assert.equal(universe.getPairMetadata(pair.symbol).restKey, pair.key);
  }
  assert.equal(checked, PAIRS.length * 12);
  // The common spellings people type.
  assert.equal(universe.resolve("btc-usd"), "XBTUSD");
  assert.equal(universe.resolve("BTCUSD"), "XBTUSD");
  assert.equal(universe.resolve("DOGE/USD"), "XDGUSD");
  assert.equal(universe.resolve("xdg/xbt"), "XDGXBT");
  assert.throws(
    () => universe.resolve("BTC/USDX"),
    (caught) => {
      assert.ok(caught instanceof UnknownPairError);
      assert.ok(caught.suggestions.includes("XBTUSD"), caught.message);
      return true;
    },
  );
});

Deno.test("backfillOhlc through the client is idempotent in memory and file stores", async (t) => {
  const clock = new SteppedClock(NOW_MS);
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: clock.now,
  });
  const wire = new CountingFetch();
  const { client, limiter } = publicClient(sim, clock.now, wire);
  using _limiter = limiter;
  using _client = client;
  const dir = await Deno.makeTempDir({ prefix: "krakked_ohlc_" });
  try {
    const memory = new MemoryOhlcStore();
    const file = new FileOhlcStore(dir);
    const rows = (await client.ohlc("XBTUSD", { interval: 60 })).rows;
    const expected = rows.slice(0, -1).map(candleFromRow);

    for (const [name, store] of [["memory", memory], ["file", file]] as const) {
      await t.step(`${name} store`, async () => {
        const deps = { store, source: client, now: clock.now };
        const first = await backfillOhlc("XBTUSD", "1h", deps);
        assert.equal(first.added, 719);
        assert.equal(first.changed, 0);
        assert.equal(first.ohlcPages, 1);
        assert.equal(first.firstOpenTimeSec, expected[0]!.openTimeSec);
        assert.equal(first.lastOpenTimeSec, expected.at(-1)!.openTimeSec);
        assert.deepEqual(await store.since("XBTUSD", "1h", 0), expected);
        const again = await backfillOhlc("XBTUSD", "1h", deps);
        assert.equal(again.added, 0);
        assert.equal(again.changed, 0);
        const explicit = await backfillOhlc("XBTUSD", "1h", {
          ...deps,
          since: expected[0]!.openTimeSec - 10 * 3600,
        });
        assert.equal(explicit.added, 0, "an explicit since adds nothing new");
        assert.equal(explicit.changed, 0);
      });
    }

    await t.step("the file survives a reload and holds the CSV", async () => {
      const reloaded = new FileOhlcStore(dir);
      assert.deepEqual(await reloaded.since("XBTUSD", "1h", 0), expected);
      const text = await Deno.readTextFile(join(dir, "1h", "XBTUSD.csv"));
      const lines = text.split("\n");
      assert.equal(lines[0], OHLC_CSV_HEADER);
      assert.equal(lines.length, 1 + 719 + 1);
      assert.equal(lines[1], rows[0]!.join(","));
    });

    await t.step(
      "a resume hours later appends only the new closed candles",
      async () => {
        clock.advance(3 * 3_600_000);
        for (const store of [memory, file]) {
          const resumed = await backfillOhlc("XBTUSD", "1h", {
            store,
            source: client,
            now: clock.now,
          });
          assert.equal(resumed.added, 3);
          assert.equal(resumed.changed, 0, "closed candles never change");
        }
        const latest = (await client.ohlc("XBTUSD", { interval: 60 })).rows;
        const resolver = new PairResolver(
          pairsFromAssetPairs(await client.assetPairs()),
        );
        const history = new OhlcHistory({
          store: new FileOhlcStore(dir),
          source: client,
          now: clock.now,
          resolvePair: (spelling) => resolver.resolve(spelling),
        });
        assert.deepEqual(
          await history.getOhlc("btc/usd", "1h", 5),
          latest.slice(-6, -1).map(candleFromRow),
        );
        const viaHistory = await history.backfillOhlc("XXBTZUSD", "1h");
        assert.equal(viaHistory.added + viaHistory.changed, 0);
        await assert.rejects(
          history.getOhlc("eth-usd", "1h", 5),
          (error: Error & { kind?: string }) => error.kind === "no_data",
        );
        assert.deepEqual(
          await memory.since("XBTUSD", "1h", 0),
          await new FileOhlcStore(dir).since("XBTUSD", "1h", 0),
        );
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candles rebuilt from trades equal the REST OHLC candles where they overlap", async (t) => {
  await using sim = await startSimulator({
    port: 0,
    seed: SEED,
    now: () => NOW_MS,
    // Quiet: these tests page through days of trades (issue 15's normal
    // market trades ~135,000 a day on BTC/USD).
    activity: "quiet",
  });
  const wire = new CountingFetch();
  const { client, limiter } = publicClient(sim, () => NOW_MS, wire);
  using _limiter = limiter;
  using _client = client;
  const universe = new PairUniverse(client);
  assert.ok((await universe.refresh()).ok);
  const meta = universe.getPairMetadata("XBTUSD");
  const nowSec = Math.floor(NOW_MS / 1000);
  const sinceSec = Math.floor(nowSec / DAY_SEC) * DAY_SEC - 3 * DAY_SEC;
  const deps = { source: client, now: () => NOW_MS };

  await t.step("1h over three days equals OHLC", async () => {
    const store = new MemoryOhlcStore();
    const report = await backfillFromTrades("XBTUSD", "1h", {
      ...deps,
      store,
      sinceSec,
      priceDecimals: meta.priceDecimals,
      volumeDecimals: meta.volumeDecimals,
    });
    assert.ok(report.tradePages >= 5, `${report.tradePages} pages`);
    const rebuilt = await store.since("XBTUSD", "1h", 0);
    const ohlc = (await client.ohlc("XBTUSD", { interval: 60 })).rows
      .slice(0, -1)
      .map(candleFromRow)
      .filter((c) => c.openTimeSec >= sinceSec);
    assert.ok(ohlc.length >= 72);
    assert.deepEqual(rebuilt, ohlc);
  });

  await t.step(
    "1m: backfillOhlc with fromTrades is seamless and idempotent",
    async () => {
      const combined = new MemoryOhlcStore();
      const first = await backfillOhlc("XBTUSD", "1m", {
        ...deps,
        store: combined,
        since: sinceSec,
        fromTrades: true,
      });
      const formingSec = Math.floor(nowSec / 60) * 60;
      const windowStartSec = formingSec - 719 * 60;
      // A rebuild starts at the first trade's minute: quiet minutes before
      // it have no known previous close (documented in TradeCandleBuilder).
      const firstTrade = (await client.trades("XBTUSD", {
        since: (BigInt(sinceSec) * 1_000_000_000n - 1n).toString(),
        count: 1,
      })).rows[0]!;
      const firstSec = Math.floor(firstTrade[2] / 60) * 60;
      assert.ok(firstSec >= sinceSec && firstSec < sinceSec + 3600);
      assert.equal(first.ohlcPages, 1);
      assert.ok(first.tradePages >= 5, `${first.tradePages} pages`);
      assert.equal(first.candlesFromTrades, (windowStartSec - firstSec) / 60);
      assert.equal(first.added, (formingSec - firstSec) / 60);
      assert.equal(first.changed, 0);
      assert.equal(first.firstOpenTimeSec, firstSec);
      assert.equal(first.lastOpenTimeSec, formingSec - 60);
      const again = await backfillOhlc("XBTUSD", "1m", {
        ...deps,
        store: combined,
        since: sinceSec,
        fromTrades: true,
      });
      assert.equal(again.added, 0);
      assert.equal(again.changed, 0);

      // Every candle of the range from trades alone, OHLC window included.
      const fromTrades = new MemoryOhlcStore();
      await backfillFromTrades("XBTUSD", "1m", {
        ...deps,
        store: fromTrades,
        sinceSec,
        priceDecimals: meta.priceDecimals,
        volumeDecimals: meta.volumeDecimals,
      });
      const rebuilt = await fromTrades.since("XBTUSD", "1m", 0);
      const stored = await combined.since("XBTUSD", "1m", 0);
      assert.equal(rebuilt.length, (formingSec - firstSec) / 60);
      const overlap = stored.filter((c) => c.openTimeSec >= windowStartSec);
      assert.equal(overlap.length, 719);
      assert.deepEqual(
        rebuilt.filter((c) => c.openTimeSec >= windowStartSec),
        overlap,
        "trades-built candles equal OHLC candles on the overlap",
      );
      assert.deepEqual(rebuilt, stored, "and everywhere else");
      // Quiet minutes are filled as Kraken does, on both sides.
      assert.ok(
        rebuilt.some((c) => c.count === 0 && c.volume === "0.00000000"),
      );
    },
  );
});
