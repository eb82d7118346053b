import assert from "node:assert/strict";
import type { BookApplyResult } from "../../../core/ws/book.ts";
import type { WsCandle } from "../../../core/ws/candles.ts";
import {
  LiveCache,
  LiveDataError,
  type LiveSource,
  NoDataError,
  StaleDataError,
} from "../../../core/ws/live.ts";
import { parseWsFrame, type WsFrame } from "../../../core/ws/protocol.ts";
import { FakeClock } from "../../fakes/clock.ts";

function ticker(symbol: string, fields: Record<string, number>): WsFrame {
  return parseWsFrame(JSON.stringify({
    channel: "ticker",
    type: "update",
    data: [{ symbol, ...fields }],
  }));
}

function trade(symbol: string, price: string): WsFrame {
  return parseWsFrame(
    `{"channel":"trade","type":"update","data":[{"symbol":"${symbol}","side":"sell","price":${price},"qty":0.5,"ord_type":"limit","trade_id":7,"timestamp":"2025-03-04T10:22:15.031244Z"}]}`,
  );
}

function ohlc(
  symbol: string,
  minute: number,
  close: string,
  interval = 5,
): WsFrame {
  return parseWsFrame(
    `{"channel":"ohlc","type":"update","data":[{"symbol":"${symbol}","open":1.0,"high":2.0,"low":0.5,"close":${close},"volume":3.0,"interval_begin":"2025-03-04T10:${
      String(minute).padStart(2, "0")
    }:00Z","interval":${interval}}]}`,
  );
}

function setup(
  options: { staleToleranceSec?: number; canonical?: (s: string) => string } =
    {},
) {
  const clock = new FakeClock(1_000_000);
  const closed: WsCandle[] = [];
  const live = new LiveCache({
    now: clock.now,
    onCandleClosed: (c) => closed.push(c),
    ...options,
  });
  return { clock, live, closed };
}

Deno.test("LiveCache raises NoDataError before anything arrived", () => {
  const { live } = setup();
  const reads: [string, () => unknown][] = [
    ["price", () => live.getLatestPrice("BTC/USD")],
    ["best bid ask", () => live.getBestBidAsk("BTC/USD")],
    ["ohlc", () => live.getLiveOhlc("BTC/USD", 5)],
    ["ticker", () => live.getTicker("BTC/USD")],
    ["trade", () => live.getLatestTrade("BTC/USD")],
  ];
  for (const [what, read] of reads) {
    assert.throws(read, (error) => {
      assert.ok(error instanceof NoDataError);
      assert.ok(error instanceof LiveDataError);
      assert.equal(error.kind, "no_data");
      assert.equal(error.pair, "BTC/USD");
      assert.match(error.message, new RegExp(`^No live ${what} for "BTC/USD"`));
      return true;
    });
  }
  // A ticker without `last` is no price, and one interval is not another.
  live.applyFrame(ticker("BTC/USD", { bid: 1, ask: 2 }));
  live.applyFrame(ohlc("BTC/USD", 0, "1.0", 5));
  assert.throws(() => live.getLatestPrice("BTC/USD"), NoDataError);
  assert.throws(() => live.getBestBidAsk("BTC/USD"), NoDataError);
  assert.throws(() => live.getLiveOhlc("BTC/USD", 1), /at 1 min/);
});

Deno.test("LiveCache raises StaleDataError past the configured tolerance", async (t) => {
  for (const toleranceSec of [60, 5]) {
    await t.step(`tolerance ${toleranceSec} s`, () => {
      const { live, clock } = setup(
        toleranceSec === 60 ? {} : { staleToleranceSec: toleranceSec },
      );
      assert.equal(live.staleToleranceSec, toleranceSec);
      live.applyFrame(trade("BTC/USD", "97012.40"));
      clock.advance(toleranceSec * 1000);
      assert.deepEqual(live.getLatestPrice("BTC/USD"), {
        pair: "BTC/USD",
        price: "97012.40",
        source: "trade",
        updatedAtMs: 1_000_000,
        ageMs: toleranceSec * 1000,
      });
      assert.deepEqual(live.freshness(), { fresh: ["BTC/USD"], stale: [] });
      clock.advance(1);
      assert.throws(() => live.getLatestPrice("BTC/USD"), (error) => {
        assert.ok(error instanceof StaleDataError);
        assert.equal(error.kind, "stale");
        assert.equal(error.ageMs, toleranceSec * 1000 + 1);
        assert.equal(error.toleranceSec, toleranceSec);
        assert.equal(
          error.message,
          `Live price for "BTC/USD" is stale: ${
            toleranceSec * 1000 + 1
          } ms old, tolerance is ${toleranceSec} s`,
        );
        return true;
      });
      assert.throws(() => live.getLatestTrade("BTC/USD"), StaleDataError);
      assert.deepEqual(live.freshness(), { fresh: [], stale: ["BTC/USD"] });
      live.applyFrame(trade("BTC/USD", "97000.1"));
      assert.equal(live.getLatestPrice("BTC/USD").ageMs, 0);
    });
  }
  await t.step("a bad tolerance is refused", () => {
    assert.throws(() => new LiveCache({ staleToleranceSec: 0 }), RangeError);
    assert.throws(() => new LiveCache({ staleToleranceSec: NaN }), RangeError);
  });
});

Deno.test("LiveCache takes the newer of trade and ticker for the price", () => {
  const { live, clock } = setup();
  live.applyFrame(trade("BTC/USD", "100.0"));
  clock.advance(10);
  live.applyFrame(ticker("BTC/USD", { last: 101, volume: 5 }));
  assert.equal(live.getLatestPrice("BTC/USD").source, "ticker");
  assert.equal(live.getLatestPrice("BTC/USD").price, "101");
  assert.equal(live.getTicker("BTC/USD").ticker.volume, "5");
  clock.advance(10);
  live.applyFrame(trade("BTC/USD", "102.5"));
  assert.deepEqual(
    [
      live.getLatestPrice("BTC/USD").source,
      live.getLatestPrice("BTC/USD").price,
    ],
    ["trade", "102.5"],
  );
  assert.equal(live.getLatestTrade("BTC/USD").trade.side, "sell");
  // Frames of other kinds are ignored.
  live.applyFrame({ kind: "heartbeat" });
  assert.deepEqual(live.pairs(), ["BTC/USD"]);
});

Deno.test("LiveCache takes the newer of ticker and book for best bid/ask", () => {
  const { live, clock } = setup({ staleToleranceSec: 10 });
  live.applyFrame(
    ticker("BTC/USD", { bid: 100, bid_qty: 1, ask: 101, ask_qty: 2 }),
  );
  assert.deepEqual(live.getBestBidAsk("BTC/USD"), {
    pair: "BTC/USD",
    bid: "100",
    ask: "101",
    bidQty: "1",
    askQty: "2",
    source: "ticker",
    updatedAtMs: 1_000_000,
    ageMs: 0,
  });
  clock.advance(5);
  live.applyBook("BTC/USD", {
    bid: "100.5",
    ask: "100.6",
    bidQty: "0.10000000",
    askQty: "0.20000000",
  });
  assert.equal(live.getBestBidAsk("BTC/USD").source, "book");
  assert.equal(live.getBestBidAsk("BTC/USD").bidQty, "0.10000000");
  clock.advance(5);
  live.applyFrame(
    ticker("BTC/USD", { bid: 100.4, bid_qty: 1, ask: 100.7, ask_qty: 2 }),
  );
  assert.equal(live.getBestBidAsk("BTC/USD").source, "ticker");
  // A resyncing book drops out; the ticker remains.
  live.applyBook("BTC/USD", undefined);
  live.applyBook("ETH/USD", undefined);
  assert.equal(live.getBestBidAsk("BTC/USD").source, "ticker");
  clock.advance(10_001);
  assert.throws(() => live.getBestBidAsk("BTC/USD"), StaleDataError);
  assert.throws(() => live.getTicker("BTC/USD"), StaleDataError);
});

Deno.test("LiveCache keeps the forming candle per interval and reports closes", () => {
  const { live, clock, closed } = setup();
  live.applyFrame(ohlc("BTC/USD", 0, "1.10"));
  live.applyFrame(ohlc("BTC/USD", 0, "1.20", 1));
  clock.advance(1_000);
  live.applyFrame(ohlc("BTC/USD", 0, "1.30"));
  const candle = live.getLiveOhlc("BTC/USD", 5);
  assert.equal(candle.close, "1.3");
  assert.equal(candle.updatedAtMs, 1_001_000);
  assert.equal(candle.ageMs, 0);
  assert.equal(live.getLiveOhlc("BTC/USD", 1).close, "1.2");
  clock.advance(1_000);
  live.applyFrame(ohlc("BTC/USD", 5, "1.40"));
  assert.deepEqual(closed.map((c) => [c.openTimeMs, c.close]), [
    [Date.UTC(2025, 2, 4, 10, 0), "1.3"],
  ]);
  // A late row of the closed candle does not refresh the live one.
  clock.advance(1_000);
  live.applyFrame(ohlc("BTC/USD", 0, "9.99"));
  assert.equal(live.getLiveOhlc("BTC/USD", 5).updatedAtMs, 1_002_000);
  clock.advance(60_000);
  assert.throws(() => live.getLiveOhlc("BTC/USD", 5), StaleDataError);
});

Deno.test("LiveCache keys pairs by the injected canonical mapper", () => {
  const names: Record<string, string> = { "BTC/USD": "XBTUSD" };
  const { live } = setup({
    canonical: (symbol) => {
      const name = names[symbol];
      if (name === undefined) throw new RangeError(`Unknown ${symbol}`);
      return name;
    },
  });
  live.applyFrame(trade("BTC/USD", "1.0"));
  assert.deepEqual(live.pairs(), ["XBTUSD"]);
  assert.equal(live.getLatestPrice("XBTUSD").pair, "XBTUSD");
  assert.equal(live.getLatestPrice("BTC/USD").price, "1.0");
  assert.throws(() => live.getLatestPrice("DOGE/USD"), NoDataError);
});

Deno.test("LiveCache.attach() follows a connection's frames and books", () => {
  const { live } = setup();
  const listeners = {
    frame: new Set<(frame: WsFrame) => void>(),
    book: new Set<(result: BookApplyResult) => void>(),
  };
  let best:
    | { bid: string; ask: string; bidQty: string; askQty: string }
    | undefined = {
      bid: "1.0",
      ask: "1.1",
      bidQty: "5",
      askQty: "6",
    };
  const source = {
    on(event: "frame" | "book", fn: (payload: never) => void) {
      const set = listeners[event] as Set<(payload: never) => void>;
      set.add(fn);
      return () => set.delete(fn);
    },
    books: { bestBidAsk: () => best },
  } as unknown as LiveSource;
  const detach = live.attach(source);
  for (const fn of listeners.frame) fn(trade("ETH/USD", "2000.00"));
  for (const fn of listeners.book) {
    fn({ kind: "applied", symbol: "ETH/USD", type: "snapshot" });
  }
  assert.equal(live.getLatestPrice("ETH/USD").price, "2000.00");
  assert.equal(live.getBestBidAsk("ETH/USD").source, "book");
  best = undefined;
  for (const fn of listeners.book) {
    fn({
      kind: "mismatch",
      symbol: "ETH/USD",
      expected: 1,
      actual: 2,
      resubscribe: true,
    });
    fn({ kind: "malformed", reason: "x" });
  }
  assert.throws(() => live.getBestBidAsk("ETH/USD"), NoDataError);
  detach();
  assert.equal(listeners.frame.size, 0);
  assert.equal(listeners.book.size, 0);
});
