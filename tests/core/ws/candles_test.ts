import assert from "node:assert/strict";
import {
  CandleTracker,
  toCandle,
  type WsCandle,
} from "../../../core/ws/candles.ts";
import { type OhlcFrame, parseWsFrame } from "../../../core/ws/protocol.ts";

interface Row {
  begin: string;
  close: number | string;
  symbol?: string;
  interval?: number;
}

function ohlc(type: "snapshot" | "update", rows: Row[]): OhlcFrame {
  const data = rows.map((r) =>
    `{"symbol":"${
      r.symbol ?? "BTC/USD"
    }","open":100.0,"high":101.50,"low":99.0,"close":${r.close},"trades":3,"volume":1.50000000,"vwap":100.25,"interval_begin":"${r.begin}","interval":${
      r.interval ?? 1
    }}`
  ).join(",");
  const frame = parseWsFrame(
    `{"channel":"ohlc","type":"${type}","data":[${data}]}`,
  );
  assert.equal(frame.kind, "ohlc");
  return frame as OhlcFrame;
}

const T = (minute: number) =>
  `2025-03-04T10:${String(minute).padStart(2, "0")}:00.000000000Z`;
const MS = (minute: number) => Date.UTC(2025, 2, 4, 10, minute);

function summary(candles: WsCandle[]): [string, number, string][] {
  return candles.map((c) => [c.symbol, c.openTimeMs, c.close]);
}

Deno.test("CandleTracker closes a candle when a later interval_begin arrives", () => {
  const closed: WsCandle[] = [];
  const tracker = new CandleTracker({ onClosed: (c) => closed.push(c) });
  assert.deepEqual(
    tracker.apply(ohlc("update", [{ begin: T(0), close: 1 }])),
    [],
  );
  assert.deepEqual(
    tracker.apply(ohlc("update", [{ begin: T(0), close: 2 }])),
    [],
  );
  assert.equal(tracker.current("BTC/USD", 1)?.close, "2");
  const done = tracker.apply(ohlc("update", [{ begin: T(1), close: 3 }]));
  assert.deepEqual(summary(done), [["BTC/USD", MS(0), "2"]]);
  assert.deepEqual(closed, done);
  assert.equal(tracker.current("BTC/USD", 1)?.openTimeMs, MS(1));
  assert.equal(tracker.lastClosedOpenTimeMs("BTC/USD", 1), MS(0));
});

Deno.test("CandleTracker emits every closed candle exactly once", async (t) => {
  await t.step(
    "snapshot rows close in time order, whatever the wire order",
    () => {
      const tracker = new CandleTracker();
      const done = tracker.apply(ohlc("snapshot", [
        { begin: T(2), close: 12 },
        { begin: T(0), close: 10 },
        { begin: T(1), close: 11 },
        { begin: T(3), close: 13 },
      ]));
      assert.deepEqual(summary(done), [
        ["BTC/USD", MS(0), "10"],
        ["BTC/USD", MS(1), "11"],
        ["BTC/USD", MS(2), "12"],
      ]);
      assert.equal(tracker.current("BTC/USD", 1)?.close, "13");
    },
  );
  await t.step(
    "a re-sent snapshot after a reconnect closes nothing twice",
    () => {
      const tracker = new CandleTracker();
      tracker.apply(ohlc("snapshot", [
        { begin: T(0), close: 10 },
        { begin: T(1), close: 11 },
        { begin: T(2), close: 12 },
      ]));
      const again = tracker.apply(ohlc("snapshot", [
        { begin: T(0), close: 10 },
        { begin: T(1), close: 11 },
        { begin: T(2), close: 12.5 }, // the forming candle moved on meanwhile
        { begin: T(3), close: 13 },
      ]));
      assert.deepEqual(summary(again), [["BTC/USD", MS(2), "12.5"]]);
    },
  );
  await t.step("duplicates and out-of-order older updates are ignored", () => {
    const tracker = new CandleTracker();
    const all: WsCandle[] = [];
    const feed = (rows: Row[]) =>
      all.push(...tracker.apply(ohlc("update", rows)));
    feed([{ begin: T(5), close: 1 }]);
    feed([{ begin: T(6), close: 2 }]);
    feed([{ begin: T(5), close: 99 }]); // late row of a closed candle
    feed([{ begin: T(4), close: 98 }]); // older than anything closed
    feed([{ begin: T(6), close: 2 }]); // duplicate of the forming candle
    feed([{ begin: T(8), close: 3 }]); // an empty interval (7) is skipped
    feed([{ begin: T(7), close: 97 }]); // older than the forming candle
    assert.deepEqual(summary(all), [
      ["BTC/USD", MS(5), "1"],
      ["BTC/USD", MS(6), "2"],
    ]);
    assert.equal(tracker.current("BTC/USD", 1)?.close, "3");
  });
  await t.step("series are independent per symbol and interval", () => {
    const tracker = new CandleTracker();
    const done = tracker.apply(ohlc("update", [
      { begin: T(0), close: 1 },
      { begin: T(0), close: 5, interval: 5 },
      { begin: T(0), close: 7, symbol: "ETH/USD" },
      { begin: T(1), close: 2 },
      { begin: T(5), close: 6, interval: 5 },
    ]));
    assert.deepEqual(
      done.map((c) => [c.symbol, c.intervalMin, c.close]),
      [["BTC/USD", 1, "1"], ["BTC/USD", 5, "5"]],
    );
    assert.equal(tracker.current("ETH/USD", 1)?.close, "7");
    tracker.forget("BTC/USD");
    assert.equal(tracker.current("BTC/USD", 1), undefined);
    assert.equal(tracker.current("BTC/USD", 5), undefined);
    assert.equal(tracker.current("ETH/USD", 1)?.close, "7");
    tracker.forget();
    assert.equal(tracker.current("ETH/USD", 1), undefined);
    assert.equal(tracker.lastClosedOpenTimeMs("ETH/USD", 1), undefined);
  });
  await t.step("plain row arrays are accepted as updates", () => {
    const tracker = new CandleTracker();
    const rows = ohlc("update", [{ begin: T(1), close: 1 }, {
      begin: T(2),
      close: 2,
    }]).candles;
    assert.equal(tracker.apply(rows).length, 1);
  });
});

Deno.test("toCandle() formats decimals in one canonical form", () => {
  const frame = ohlc("update", [{ begin: T(0), close: "1.2e2" }]);
  const candle = toCandle(frame.candles[0]!);
  assert.deepEqual(candle, {
    symbol: "BTC/USD",
    intervalMin: 1,
    openTimeMs: MS(0),
    intervalBegin: T(0),
    open: "100",
    high: "101.5",
    low: "99",
    close: "120",
    vwap: "100.25",
    volume: "1.5",
    trades: 3,
  });
  const noVwap = parseWsFrame(
    `{"channel":"ohlc","type":"update","data":[{"symbol":"A/B","open":1,"high":1,"low":1,"close":1,"volume":0.10,"interval_begin":"${
      T(0)
    }","interval":1}]}`,
  ) as OhlcFrame;
  const c = toCandle(noVwap.candles[0]!);
  assert.equal(c.vwap, undefined);
  assert.equal(c.trades, undefined);
  assert.equal(c.volume, "0.1");
});
