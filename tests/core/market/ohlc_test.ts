import assert from "node:assert/strict";
import {
  type Candle,
  candleFromRow,
  candlesFromTrades,
  candleToRow,
  closedCandles,
  closedCandlesFromRows,
  mergeCandles,
  minutesToTimeframe,
  parseTimeframe,
  sameCandle,
  TIMEFRAMES,
  timeframeToMinutes,
  timeframeToSeconds,
  TradeCandleBuilder,
  UnknownTimeframeError,
} from "../../../core/market/ohlc.ts";
import type { OhlcRow, TradeRow } from "../../../core/rest/types.ts";

function candle(openTimeSec: number, close = "1.0", count = 1): Candle {
  return {
    openTimeSec,
    open: "1.0",
    high: close,
    low: "1.0",
    close,
    vwap: "1.0",
    volume: "1.00000000",
    count,
  };
}

function trade(
  price: string,
  volume: string,
  timeSec: number,
  id: number,
): TradeRow {
  return [price, volume, timeSec, "b", "m", "", id];
}

Deno.test("timeframes map to Kraken minutes and back", async (t) => {
  const expected = [1, 5, 15, 30, 60, 240, 1440, 10080, 21600];
  assert.deepEqual(TIMEFRAMES.map(timeframeToMinutes), expected);
  for (const timeframe of TIMEFRAMES) {
    await t.step(timeframe, () => {
      const minutes = timeframeToMinutes(timeframe);
      assert.equal(minutesToTimeframe(minutes), timeframe);
      assert.equal(timeframeToSeconds(timeframe), minutes * 60);
      assert.equal(parseTimeframe(timeframe), timeframe);
    });
  }
  assert.equal(parseTimeframe(" 1H "), "1h");
});

Deno.test("unknown timeframes throw UnknownTimeframeError", () => {
  for (const bad of ["2h", "1M", "60", "", "1month"]) {
    assert.throws(() => parseTimeframe(bad), UnknownTimeframeError, bad);
  }
  try {
    minutesToTimeframe(120);
    assert.fail("expected UnknownTimeframeError");
  } catch (error) {
    assert.ok(error instanceof UnknownTimeframeError);
    assert.equal(error.kind, "unknown_timeframe");
    assert.equal(error.input, 120);
    assert.match(
      error.message,
      /^Unknown timeframe 120 min: use one of 1m, 5m/,
    );
  }
  assert.throws(
    () => timeframeToMinutes("2h" as never),
    /Unknown timeframe "2h"/,
  );
});

Deno.test("candleFromRow() and candleToRow() round-trip a REST row", () => {
  const row: OhlcRow = [
    1548115200,
    "3533.4",
    "3543.7",
    "3530.7",
    "3539.4",
    "3539.8",
    "83.09287787",
    232,
  ];
  const converted = candleFromRow(row);
  assert.deepEqual(converted, {
    openTimeSec: 1548115200,
    open: "3533.4",
    high: "3543.7",
    low: "3530.7",
    close: "3539.4",
    vwap: "3539.8",
    volume: "83.09287787",
    count: 232,
  });
  assert.deepEqual(candleToRow(converted), row);
});

Deno.test("closedCandles() keeps intervals that have ended at nowSec", () => {
  const candles = [candle(0), candle(60), candle(120)];
  assert.deepEqual(
    closedCandles(candles, "1m", 120).map((c) => c.openTimeSec),
    [0, 60],
  );
  assert.deepEqual(
    closedCandles(candles, "1m", 179).map((c) => c.openTimeSec),
    [0, 60],
  );
  assert.deepEqual(
    closedCandles(candles, "1m", 180).map((c) => c.openTimeSec),
    [0, 60, 120],
  );
});

Deno.test("closedCandlesFromRows() drops the forming last row", async (t) => {
  const rows = [0, 60, 120].map((time) => candleToRow(candle(time)));
  await t.step("even when its interval has ended", () => {
    assert.deepEqual(
      closedCandlesFromRows(rows, "1m", 10_000).map((c) => c.openTimeSec),
      [0, 60],
    );
  });
  await t.step("and rows still open at nowSec", () => {
    assert.deepEqual(
      closedCandlesFromRows(rows, "1m", 100).map((c) => c.openTimeSec),
      [0],
    );
  });
  await t.step("an empty answer", () => {
    assert.deepEqual(closedCandlesFromRows([], "1m", 100), []);
  });
});

Deno.test("mergeCandles() dedupes by open time, sorts, and lets newer data win", async (t) => {
  await t.step("sorted inputs", () => {
    const merged = mergeCandles(
      [candle(0, "1.0"), candle(60, "1.0")],
      [candle(60, "2.0"), candle(120, "2.0")],
    );
    assert.deepEqual(merged.map((c) => [c.openTimeSec, c.close]), [
      [0, "1.0"],
      [60, "2.0"],
      [120, "2.0"],
    ]);
  });
  await t.step("unsorted inputs with duplicates inside one list", () => {
    const merged = mergeCandles(
      [candle(120, "1.0"), candle(0, "1.0"), candle(120, "1.5")],
      [candle(60, "3.0"), candle(0, "3.0"), candle(60, "4.0")],
    );
    assert.deepEqual(merged.map((c) => [c.openTimeSec, c.close]), [
      [0, "3.0"],
      [60, "4.0"],
      [120, "1.5"],
    ]);
  });
  await t.step("one side empty", () => {
    const list = [candle(0), candle(60)];
    assert.deepEqual(mergeCandles(list, []), list);
    assert.deepEqual(mergeCandles([], list), list);
    assert.notEqual(mergeCandles(list, []), list);
  });
  await t.step("older tail after newer", () => {
    const merged = mergeCandles([candle(0), candle(300)], [candle(60)]);
    assert.deepEqual(merged.map((c) => c.openTimeSec), [0, 60, 300]);
  });
});

Deno.test("sameCandle() compares every field", () => {
  assert.ok(sameCandle(candle(0), candle(0)));
  assert.ok(!sameCandle(candle(0), candle(60)));
  assert.ok(!sameCandle(candle(0, "1.0", 1), candle(0, "1.0", 2)));
  assert.ok(!sameCandle(candle(0), { ...candle(0), vwap: "1.1" }));
});

Deno.test("candlesFromTrades() aggregates with exact decimals", async (t) => {
  await t.step("open, high, low, close, count and volume", () => {
    const candles = candlesFromTrades(
      [
        trade("100.00000", "0.10000000", 60.25, 1),
        trade("103.50000", "0.20000000", 75.5, 2),
        trade("99.90000", "0.30000000", 90.75, 3),
        trade("101.00000", "0.40000000", 119.999, 4),
        trade("102.00000", "1.00000000", 120.0, 5),
      ],
      "1m",
      { priceDecimals: 1 },
    );
    assert.deepEqual(candles, [
      {
        openTimeSec: 60,
        open: "100.0",
        high: "103.5",
        low: "99.9",
        close: "101.0",
        // (10 + 20.7 + 29.97 + 40.4) / 1.0 = 101.07 → 101.1
        vwap: "101.1",
        volume: "1.00000000",
        count: 4,
      },
      {
        openTimeSec: 120,
        open: "102.0",
        high: "102.0",
        low: "102.0",
        close: "102.0",
        vwap: "102.0",
        volume: "1.00000000",
        count: 1,
      },
    ]);
  });
  await t.step("float sums would drift; scaled BigInts do not", () => {
    const trades = Array.from(
      { length: 10 },
      (_, i) => trade("0.1", "0.1", i, i + 1),
    );
    const [only] = candlesFromTrades(trades, "1m", {
      priceDecimals: 5,
      volumeDecimals: 8,
    });
    assert.equal(only?.volume, "1.00000000");
    assert.equal(only?.vwap, "0.10000");
  });
  await t.step("vwap rounds half up at the price decimals", () => {
    const [only] = candlesFromTrades(
      [
        trade("1.0", "1", 0, 1),
        trade("1.1", "1", 1, 2),
      ],
      "1h",
      { priceDecimals: 2 },
    );
    assert.equal(only?.vwap, "1.05");
    const [rounded] = candlesFromTrades(
      [
        trade("1.0", "1", 0, 1),
        trade("1.1", "1", 1, 2),
      ],
      "1h",
      { priceDecimals: 1 },
    );
    assert.equal(rounded?.vwap, "1.1");
  });
  await t.step(
    "quiet intervals repeat the previous close, as Kraken's OHLC",
    () => {
      const candles = candlesFromTrades(
        [
          trade("10.0", "1", 0, 1),
          trade("12.0", "1", 200, 2),
        ],
        "1m",
        { priceDecimals: 1, volumeDecimals: 4 },
      );
      assert.deepEqual(
        candles.map((c) => [c.openTimeSec, c.close, c.vwap, c.volume, c.count]),
        [
          [0, "10.0", "10.0", "1.0000", 1],
          [60, "10.0", "0.0", "0.0000", 0],
          [120, "10.0", "0.0", "0.0000", 0],
          [180, "12.0", "12.0", "1.0000", 1],
        ],
      );
      const sparse = candlesFromTrades(
        [
          trade("10.0", "1", 0, 1),
          trade("12.0", "1", 200, 2),
        ],
        "1m",
        { priceDecimals: 1, fillEmpty: false },
      );
      assert.deepEqual(sparse.map((c) => c.openTimeSec), [0, 180]);
    },
  );
  await t.step("zero-volume trades fall back to the close as vwap", () => {
    const [only] = candlesFromTrades([trade("5.0", "0", 0, 1)], "1m", {
      priceDecimals: 1,
    });
    assert.equal(only?.vwap, "5.0");
  });
});

Deno.test("TradeCandleBuilder streams candles and refuses out-of-order trades", () => {
  const builder = new TradeCandleBuilder("5m", { priceDecimals: 1 });
  assert.equal(builder.currentOpenTimeSec, null);
  builder.add(trade("1.0", "1", 10, 1));
  builder.add(trade("2.0", "1", 301, 2));
  assert.equal(builder.currentOpenTimeSec, 300);
  assert.deepEqual(builder.takeFinished().map((c) => c.openTimeSec), [0]);
  assert.deepEqual(builder.takeFinished(), []);
  assert.throws(() => builder.add(trade("1.0", "1", 299, 3)), RangeError);
  // Not finished at 599: the interval 300–600 is still open.
  assert.deepEqual(builder.flush(599), []);
  // Finished at 1200, with the quiet 600 and 900 intervals filled.
  assert.deepEqual(builder.flush(1200).map((c) => [c.openTimeSec, c.count]), [
    [300, 1],
    [600, 0],
    [900, 0],
  ]);
  assert.throws(() => builder.add(trade("1.0", "1", 950, 4)), RangeError);
  builder.add(trade("3.0", "2", 1300, 5));
  assert.deepEqual(builder.flush().map((c) => c.openTimeSec), [1200]);
  assert.throws(
    () => builder.add(["x", "1", 2000, "b", "m", "", 6]),
    SyntaxError,
  );
});
