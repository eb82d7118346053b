import assert from "node:assert/strict";
import { type Candle, candleFromRow } from "../../../core/market/ohlc.ts";
import {
  backfillFromTrades,
  backfillOhlc,
  type BackfillProgress,
  NoOhlcDataError,
  OhlcHistory,
} from "../../../core/market/ohlc_history.ts";
import { MemoryOhlcStore } from "../../../core/market/ohlc_store.ts";
import { FakeExchange } from "./_fake_exchange.ts";
import type { TradeRow } from "../../../core/rest/types.ts";

const DAY = 86_400;
const NOW_SEC = 1_700_000_000 + 37; // mid-minute, so a candle is forming
const nowMs = () => NOW_SEC * 1000;

function referenceClosed(
  exchange: FakeExchange,
  intervalMin: number,
): Candle[] {
  return exchange.referenceRows(intervalMin).slice(0, -1).map(candleFromRow);
}

/** Quiet intervals before the first trade of a range cannot be filled. */
function dropLeadingEmpty(candles: Candle[]): Candle[] {
  const first = candles.findIndex((candle) => candle.count > 0);
  return first < 0 ? [] : candles.slice(first);
}

function counter() {
  const state = { count: 0, acquire: () => Promise.resolve() };
  state.acquire = () => {
    state.count++;
    return Promise.resolve();
  };
  return state;
}

Deno.test("backfillOhlc() stores the closed candles of the OHLC window", async () => {
  const exchange = new FakeExchange({
    startSec: NOW_SEC - 2 * DAY,
    nowSec: NOW_SEC,
  });
  const store = new MemoryOhlcStore();
  const limiter = counter();
  const report = await backfillOhlc("XBTUSD", "1h", {
    store,
    source: exchange,
    now: nowMs,
    acquire: limiter.acquire,
  });
  const expected = referenceClosed(exchange, 60);
  const stored = await store.since("XBTUSD", "1h", 0);
  assert.deepEqual(stored, expected);
  assert.equal(report.added, expected.length);
  assert.equal(report.ohlcPages, 1);
  assert.equal(limiter.count, exchange.calls.length);
  assert.equal(
    report.lastOpenTimeSec,
    Math.floor(NOW_SEC / 3600) * 3600 - 3600,
  );
});

Deno.test("backfillOhlc() is idempotent", async () => {
  const exchange = new FakeExchange({
    startSec: NOW_SEC - DAY,
    nowSec: NOW_SEC,
  });
  const store = new MemoryOhlcStore();
  const since = NOW_SEC - 3 * DAY;
  const first = await backfillOhlc("XBTUSD", "15m", {
    store,
    source: exchange,
    now: nowMs,
    since,
    fromTrades: true,
  });
  assert.ok(first.added > 0);
  const before = await store.since("XBTUSD", "15m", 0);
  for (const options of [{ since, fromTrades: true }, {}]) {
    const again = await backfillOhlc("XBTUSD", "15m", {
      store,
      source: exchange,
      now: nowMs,
      ...options,
    });
    assert.equal(again.added, 0);
    assert.equal(again.changed, 0);
  }
  assert.deepEqual(await store.since("XBTUSD", "15m", 0), before);
});

Deno.test("backfillOhlc() resumes after the newest stored candle", async () => {
  const exchange = new FakeExchange({
    startSec: NOW_SEC - DAY,
    nowSec: NOW_SEC - 3600,
  });
  const store = new MemoryOhlcStore();
  await backfillOhlc("XBTUSD", "5m", {
    store,
    source: exchange,
    now: () => exchange.nowSec * 1000,
  });
  const latest = await store.latestOpenTime("XBTUSD", "5m");
  exchange.nowSec = NOW_SEC;
  exchange.calls = [];
  const report = await backfillOhlc("XBTUSD", "5m", {
    store,
    source: exchange,
    now: nowMs,
  });
  assert.equal(exchange.calls[0]?.since, String(latest));
  assert.equal(report.added, 12);
  const stored = await store.since("XBTUSD", "5m", 0);
  const firstSec = stored[0]?.openTimeSec ?? 0;
  assert.deepEqual(
    stored,
    referenceClosed(exchange, 5).filter((c) => c.openTimeSec >= firstSec),
  );
});

Deno.test("backfillOhlc() pages with since and last when answers are short", async () => {
  const exchange = new FakeExchange({
    startSec: NOW_SEC - DAY,
    nowSec: NOW_SEC,
    windowRows: 10_000,
    rowsPerPage: 100,
  });
  const store = new MemoryOhlcStore();
  const progress: BackfillProgress[] = [];
  const report = await backfillOhlc("XBTUSD", "1m", {
    store,
    source: exchange,
    now: nowMs,
    since: NOW_SEC - DAY,
    onProgress: (p) => progress.push(p),
  });
  assert.ok(report.ohlcPages > 10, String(report.ohlcPages));
  const expected = referenceClosed(exchange, 1).filter((c) =>
    c.openTimeSec >= Math.floor((NOW_SEC - DAY) / 60) * 60
  );
  assert.deepEqual(await store.since("XBTUSD", "1m", 0), expected);
  const cursors = exchange.calls.map((call) => Number(call.since));
  assert.deepEqual(cursors, [...cursors].sort((a, b) => a - b));
  assert.ok(progress.every((p) => p.phase === "ohlc"));
  assert.equal(progress.at(-1)?.done, progress.at(-1)?.total);
});

Deno.test("backfillOhlc() rebuilds history beyond the 720 cap from trades", async (t) => {
  for (
    const [timeframe, intervalMin, days] of [
      ["1m", 1, 2],
      ["5m", 5, 4],
      ["1h", 60, 40],
    ] as const
  ) {
    await t.step(`${timeframe} over ${days} days`, async () => {
      const exchange = new FakeExchange({
        startSec: NOW_SEC - (days + 1) * DAY,
        nowSec: NOW_SEC,
        tradesPerPage: 1000,
        seed: intervalMin,
      });
      const store = new MemoryOhlcStore();
      const since = NOW_SEC - days * DAY;
      const progress: BackfillProgress[] = [];
      const report = await backfillOhlc("XBTUSD", timeframe, {
        store,
        source: exchange,
        now: nowMs,
        since,
        fromTrades: true,
        onProgress: (p) => progress.push(p),
      });
      assert.ok(report.tradePages > 0);
      assert.ok(report.candlesFromTrades > 0);
      const intervalSec = intervalMin * 60;
      const expected = referenceClosed(exchange, intervalMin).filter((c) =>
        c.openTimeSec >= Math.floor(since / intervalSec) * intervalSec
      );
      const stored = await store.since("XBTUSD", timeframe, 0);
      // Every candle built from trades equals Kraken's, and nothing is missing.
      assert.deepEqual(stored, dropLeadingEmpty(expected));
      // Progress is monotonic and ends complete.
      for (let i = 1; i < progress.length; i++) {
        assert.ok(
          progress[i]!.done >= progress[i - 1]!.done,
          JSON.stringify(progress.slice(i - 1, i + 1)),
        );
      }
      const lastProgress = progress.at(-1)!;
      assert.equal(lastProgress.phase, "trades");
      assert.equal(lastProgress.done, lastProgress.total);
      assert.equal(lastProgress.etaMs, 0);
    });
  }
});

Deno.test("backfillFromTrades() matches REST candles for any range and paging", async (t) => {
  for (const inclusiveSince of [false, true]) {
    await t.step(
      `since ${inclusiveSince ? "inclusive" : "exclusive"}`,
      async () => {
        const exchange = new FakeExchange({
          startSec: NOW_SEC - 2 * DAY,
          nowSec: NOW_SEC,
          tradesPerPage: 97,
          inclusiveSince,
        });
        const store = new MemoryOhlcStore();
        const limiter = counter();
        const sinceSec = NOW_SEC - DAY - 1234;
        const untilSec = NOW_SEC - 7200;
        const report = await backfillFromTrades("XBTUSD", "30m", {
          store,
          source: exchange,
          now: nowMs,
          acquire: limiter.acquire,
          sinceSec,
          untilSec,
          priceDecimals: 1,
        });
        assert.equal(limiter.count, report.tradePages);
        const expected = referenceClosed(exchange, 30).filter((c) =>
          c.openTimeSec >= Math.floor(sinceSec / 1800) * 1800 &&
          c.openTimeSec + 1800 <= untilSec
        );
        assert.deepEqual(
          await store.since("XBTUSD", "30m", 0),
          dropLeadingEmpty(expected),
        );
        // Cursors are 19-digit nanosecond strings and only move forward.
        const cursors = exchange.calls.map((call) => BigInt(call.since ?? "0"));
        assert.ok(cursors.every((cursor) => cursor.toString().length === 19));
        for (let i = 1; i < cursors.length; i++) {
          assert.ok(cursors[i]! > cursors[i - 1]!);
        }
      },
    );
  }
  await t.step("stops at now and at an empty range", async () => {
    const exchange = new FakeExchange({
      startSec: NOW_SEC - 3600,
      nowSec: NOW_SEC,
    });
    const store = new MemoryOhlcStore();
    const report = await backfillFromTrades("XBTUSD", "1m", {
      store,
      source: exchange,
      now: nowMs,
      sinceSec: NOW_SEC - 600,
      untilSec: NOW_SEC + 10 * DAY,
      priceDecimals: 1,
    });
    assert.equal(report.lastOpenTimeSec, Math.floor(NOW_SEC / 60) * 60 - 60);
    const empty = await backfillFromTrades("XBTUSD", "1m", {
      store,
      source: exchange,
      now: nowMs,
      sinceSec: NOW_SEC + 60,
      priceDecimals: 1,
    });
    assert.equal(empty.tradePages, 0);
  });
  await t.step("a source without trades is a TypeError", async () => {
    await assert.rejects(
      backfillFromTrades("XBTUSD", "1m", {
        store: new MemoryOhlcStore(),
        source: { ohlc: () => Promise.reject(new Error("unused")) },
        now: nowMs,
        sinceSec: 0,
        priceDecimals: 1,
      }),
      TypeError,
    );
  });
  await t.step("a cursor that stops advancing ends the paging", async () => {
    let calls = 0;
    const report = await backfillFromTrades("XBTUSD", "1m", {
      store: new MemoryOhlcStore(),
      source: {
        ohlc: () => Promise.reject(new Error("unused")),
        trades: () => {
          calls++;
          return Promise.resolve({
            pair: "XXBTZUSD",
            rows: [["1.0", "1", NOW_SEC - 500, "b", "m", "", 1]],
            last: "1000000000000000000",
          });
        },
      },
      now: nowMs,
      sinceSec: NOW_SEC - 600,
      priceDecimals: 1,
    });
    assert.equal(calls, 1);
    // The traded minute, then quiet minutes filled up to the forming one.
    assert.equal(report.candlesFromTrades, 8);
    assert.equal(
      report.firstOpenTimeSec,
      Math.floor((NOW_SEC - 500) / 60) * 60,
    );
    assert.equal(report.lastOpenTimeSec, Math.floor(NOW_SEC / 60) * 60 - 60);
  });
});

Deno.test("backfillOhlc() needs price decimals to rebuild from trades", async () => {
  const store = new MemoryOhlcStore();
  const source = {
    ohlc: () => Promise.resolve({ pair: "XXBTZUSD", rows: [], last: 0 }),
    trades: () => Promise.resolve({ pair: "XXBTZUSD", rows: [], last: "0" }),
  };
  await assert.rejects(
    backfillOhlc("XBTUSD", "1m", {
      store,
      source,
      now: nowMs,
      since: NOW_SEC - 3600,
      fromTrades: true,
    }),
    /priceDecimals is missing/,
  );
  const report = await backfillOhlc("XBTUSD", "1m", {
    store,
    source,
    now: nowMs,
    since: NOW_SEC - 3600,
    fromTrades: true,
    priceDecimals: 1,
  });
  assert.equal(report.added, 0);
  assert.equal(report.firstOpenTimeSec, null);
});

Deno.test("OhlcHistory reads closed candles and reports missing data", async (t) => {
  const exchange = new FakeExchange({
    startSec: NOW_SEC - DAY,
    nowSec: NOW_SEC,
  });
  const store = new MemoryOhlcStore();
  const history = new OhlcHistory({
    store,
    source: exchange,
    now: nowMs,
    resolvePair: (spelling) => spelling === "BTC/USD" ? "XBTUSD" : spelling,
  });
  await t.step("nothing stored is NoOhlcDataError", async () => {
    const error = await history.getOhlc("XBTUSD", "1h", 10).catch((e) => e);
    assert.ok(error instanceof NoOhlcDataError);
    assert.equal(error.kind, "no_data");
    assert.equal(error.pair, "XBTUSD");
    assert.equal(error.timeframe, "1h");
    await assert.rejects(
      history.getOhlcSince("XBTUSD", "1h", 0),
      NoOhlcDataError,
    );
  });
  await t.step("after a backfill, the newest closed candles", async () => {
    await history.backfillOhlc("BTC/USD", "1h");
    const candles = await history.getOhlc("BTC/USD", "1h", 5);
    assert.deepEqual(candles, referenceClosed(exchange, 60).slice(-5));
  });
  await t.step("not enough data returns fewer candles", async () => {
    const all = await history.getOhlc("XBTUSD", "1h", 10_000);
    assert.equal(all.length, referenceClosed(exchange, 60).length);
    assert.deepEqual(await history.getOhlc("XBTUSD", "1h", 0), []);
  });
  await t.step("since is inclusive and may be empty", async () => {
    const candles = await history.getOhlcSince(
      "XBTUSD",
      "1h",
      NOW_SEC - 3 * 3600,
    );
    assert.equal(candles.length, 2);
    assert.deepEqual(await history.getOhlcSince("XBTUSD", "1h", NOW_SEC), []);
  });
  await t.step("a forming candle in the store is never returned", async () => {
    const forming = Math.floor(NOW_SEC / 3600) * 3600;
    await store.upsert("XBTUSD", "1h", [{
      openTimeSec: forming,
      open: "1.0",
      high: "1.0",
      low: "1.0",
      close: "1.0",
      vwap: "1.0",
      volume: "1.00000000",
      count: 1,
    }]);
    const candles = await history.getOhlc("XBTUSD", "1h", 3);
    assert.equal(candles.length, 3);
    assert.ok(candles.every((c) => c.openTimeSec < forming));
    const since = await history.getOhlcSince("XBTUSD", "1h", forming - 3600);
    assert.deepEqual(since.map((c) => c.openTimeSec), [forming - 3600]);
  });
  await t.step("bad lookback and a missing source", async () => {
    await assert.rejects(history.getOhlc("XBTUSD", "1h", -1), RangeError);
    await assert.rejects(history.getOhlc("XBTUSD", "1h", 1.5), RangeError);
    const readOnly = new OhlcHistory({ store });
    await assert.rejects(readOnly.backfillOhlc("XBTUSD", "1h"), TypeError);
    assert.equal((await readOnly.getOhlc("XBTUSD", "1h", 1)).length, 1);
  });
});

Deno.test("backfillFromTrades() fills quiet minutes at the start of the range from the stored candle before it", async (t) => {
  const base = 1_700_000_040; // a minute boundary
  const trades: TradeRow[] = [
    ["101.0", "1.00000000", base + 3 * 60 + 5, "b", "l", "", 1],
    ["102.0", "1.00000000", base + 4 * 60 + 5, "s", "l", "", 2],
  ];
  const source = {
    ohlc: () => Promise.reject(new Error("unused")),
    trades: (_pair: string, opts: { since?: string }) => {
      const since = BigInt(opts.since ?? "0");
      const rows = trades.filter((r) => BigInt(Math.round(r[2] * 1e9)) > since);
      return Promise.resolve({
        pair: "XXBTZUSD",
        rows,
        last: String(BigInt(base + 600) * 1_000_000_000n),
      });
    },
  };
  const run = async (store: MemoryOhlcStore) => {
    await backfillFromTrades("XBTUSD", "1m", {
      store,
      source,
      now: () => (base + 5 * 60) * 1000,
      sinceSec: base,
      priceDecimals: 1,
    });
    return await store.since("XBTUSD", "1m", base);
  };
  await t.step(
    "with the previous candle stored, minutes 0–2 repeat its close",
    async () => {
      const store = new MemoryOhlcStore();
      await store.upsert("XBTUSD", "1m", [{
        openTimeSec: base - 60,
        open: "99.0",
        high: "100.5",
        low: "98.0",
        close: "100.0",
        vwap: "99.5",
        volume: "2.00000000",
        count: 3,
      }]);
      const candles = await run(store);
      assert.deepEqual(candles.map((c) => c.openTimeSec - base), [
        0,
        60,
        120,
        180,
        240,
      ]);
      for (const c of candles.slice(0, 3)) {
        assert.deepEqual([c.open, c.high, c.low, c.close, c.volume, c.count], [
          "100.0",
          "100.0",
          "100.0",
          "100.0",
          "0.00000000",
          0,
        ]);
      }
      assert.equal(candles[3]!.close, "101.0");
    },
  );
  await t.step("without it, the series starts at the first trade", async () => {
    const candles = await run(new MemoryOhlcStore());
    assert.deepEqual(candles.map((c) => c.openTimeSec - base), [180, 240]);
  });
});
