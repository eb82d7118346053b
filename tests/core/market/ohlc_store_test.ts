import assert from "node:assert/strict";
import type { Candle } from "../../../core/market/ohlc.ts";
import {
  diffCandles,
  findIndex,
  MemoryOhlcStore,
} from "../../../core/market/ohlc_store.ts";

function candle(openTimeSec: number, close = "1.0"): Candle {
  return {
    openTimeSec,
    open: "1.0",
    high: close,
    low: "1.0",
    close,
    vwap: "1.0",
    volume: "1.00000000",
    count: 1,
  };
}

Deno.test("MemoryOhlcStore upserts, dedupes and reads oldest first", async () => {
  const store = new MemoryOhlcStore();
  assert.equal(await store.latestOpenTime("XBTUSD", "1m"), null);
  assert.deepEqual(await store.last("XBTUSD", "1m", 5), []);
  assert.deepEqual(
    await store.upsert("XBTUSD", "1m", [candle(120), candle(0), candle(60)]),
    { added: 3, changed: 0 },
  );
  assert.deepEqual(
    await store.upsert("XBTUSD", "1m", [
      candle(60),
      candle(120, "2.0"),
      candle(180),
    ]),
    { added: 1, changed: 1 },
  );
  assert.deepEqual(await store.upsert("XBTUSD", "1m", [candle(60)]), {
    added: 0,
    changed: 0,
  });
  assert.deepEqual(
    (await store.last("XBTUSD", "1m", 2)).map((c) => [c.openTimeSec, c.close]),
    [[120, "2.0"], [180, "1.0"]],
  );
  assert.deepEqual(await store.last("XBTUSD", "1m", 0), []);
  assert.equal((await store.last("XBTUSD", "1m", 99)).length, 4);
  assert.deepEqual(
    (await store.since("XBTUSD", "1m", 61)).map((c) => c.openTimeSec),
    [120, 180],
  );
  assert.deepEqual(
    (await store.since("XBTUSD", "1m", 60)).map((c) => c.openTimeSec),
    [60, 120, 180],
  );
  assert.equal(await store.latestOpenTime("XBTUSD", "1m"), 180);
  // Series are separate per pair and timeframe.
  assert.equal(await store.latestOpenTime("XBTUSD", "5m"), null);
  assert.equal(await store.latestOpenTime("ETHUSD", "1m"), null);
});

Deno.test("diffCandles() and findIndex() agree with the stored series", () => {
  const stored = [candle(0), candle(60), candle(120)];
  assert.deepEqual(
    diffCandles(stored, [candle(60), candle(90), candle(120, "3.0")]),
    {
      added: 1,
      changed: 1,
    },
  );
  assert.equal(findIndex(stored, -5), 0);
  assert.equal(findIndex(stored, 60), 1);
  assert.equal(findIndex(stored, 61), 2);
  assert.equal(findIndex(stored, 500), 3);
});
