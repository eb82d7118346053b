import assert from "node:assert/strict";
import { BatchCoalescer } from "../../worker/batch_coalescer.ts";
import type { WorkerBatch } from "../../worker/protocol.ts";

/** A timer queue the test runs by hand: one "tick" = run what is due. */
function manualTimers() {
  const queue: (() => void)[] = [];
  return {
    setTimer(fn: () => void): () => void {
      queue.push(fn);
      return () => {
        const i = queue.indexOf(fn);
        if (i !== -1) queue.splice(i, 1);
      };
    },
    tick(): void {
      for (const fn of queue.splice(0)) fn();
    },
    get pending(): number {
      return queue.length;
    },
  };
}

Deno.test("BatchCoalescer sends one batch per tick with the latest value per key", () => {
  const timers = manualTimers();
  const sent: WorkerBatch[] = [];
  const c = new BatchCoalescer((b) => sent.push(b), {
    setTimer: timers.setTimer,
  });
  for (let i = 0; i < 1000; i++) {
    c.ticker("BTC/USD", { symbol: "BTC/USD", last: i, updatedAtMs: i });
    c.ticker("ETH/USD", { symbol: "ETH/USD", last: -i, updatedAtMs: i });
  }
  assert.equal(sent.length, 0, "nothing is sent before the tick");
  assert.equal(timers.pending, 1, "one timer for any number of updates");
  timers.tick();
  assert.equal(sent.length, 1);
  assert.deepEqual(
    sent[0]?.tickers.map((t) => [t.symbol, t.last]),
    [["BTC/USD", 999], ["ETH/USD", -999]],
  );
  c.close();
});

Deno.test("BatchCoalescer waits for the page's ack before the next batch", () => {
  const timers = manualTimers();
  const sent: WorkerBatch[] = [];
  const c = new BatchCoalescer((b) => sent.push(b), {
    setTimer: timers.setTimer,
  });
  c.ticker("BTC/USD", { symbol: "BTC/USD", last: 1, updatedAtMs: 1 });
  timers.tick();
  c.ticker("BTC/USD", { symbol: "BTC/USD", last: 2, updatedAtMs: 2 });
  c.ticker("BTC/USD", { symbol: "BTC/USD", last: 3, updatedAtMs: 3 });
  timers.tick();
  timers.tick();
  assert.equal(sent.length, 1, "no second batch without an ack");
  assert.equal(c.flush(), false);
  c.ack(0);
  assert.equal(timers.pending, 0, "an old ack does not release the flow");
  c.ack(sent[0]!.seq);
  timers.tick();
  assert.equal(sent.length, 2);
  assert.equal(sent[1]?.seq, 2);
  assert.deepEqual(sent[1]?.tickers.map((t) => t.last), [3]);
  c.ack(2);
  timers.tick();
  assert.equal(sent.length, 2, "nothing new, nothing sent");
  c.close();
});

Deno.test("BatchCoalescer evaluates thunks once, at flush time", () => {
  const timers = manualTimers();
  const sent: WorkerBatch[] = [];
  const c = new BatchCoalescer((b) => sent.push(b), {
    setTimer: timers.setTimer,
  });
  let builds = 0;
  const book = () => {
    builds++;
    return {
      symbol: "BTC/USD",
      depth: 10 as const,
      integrity: "ok" as const,
      checksumFailures: 0,
      bids: [],
      asks: [],
      updatedAtMs: 0,
    };
  };
  for (let i = 0; i < 50; i++) c.book(book);
  c.status(() => undefined);
  assert.equal(builds, 0);
  timers.tick();
  assert.equal(builds, 1);
  assert.equal(sent[0]?.book?.integrity, "ok");
  assert.equal(sent[0]?.status, undefined, "a thunk may decline to send");
  c.close();
});

Deno.test("BatchCoalescer keeps queues in order and caps trades", () => {
  const timers = manualTimers();
  const sent: WorkerBatch[] = [];
  const c = new BatchCoalescer((b) => sent.push(b), {
    setTimer: timers.setTimer,
    maxTrades: 3,
  });
  c.trades([1, 2, 3, 4, 5].map((n) => ({
    symbol: "BTC/USD",
    side: "buy" as const,
    price: String(n),
    qty: "1",
    timeMs: n,
  })));
  const chunk = (source: "cache" | "network", n: number) => ({
    pair: "XBTUSD",
    timeframe: "1m" as const,
    source,
    candles: Array.from({ length: n }, (_, i) => ({
      timeSec: i * 60,
      open: 1,
      high: 1,
      low: 1,
      close: 1,
      volume: 1,
    })),
  });
  c.history(chunk("network", 1));
  c.history(chunk("network", 2));
  c.history({ ...chunk("network", 1), timeframe: "5m" });
  c.notice({ level: "warning", code: "a", message: "first" });
  c.notice({ level: "warning", code: "b", message: "second" });
  c.progress({
    pair: "XBTUSD",
    timeframe: "1m",
    phase: "ohlc",
    unit: "intervals",
    done: 1,
    total: 2,
  });
  c.progress({
    pair: "XBTUSD",
    timeframe: "1m",
    phase: "done",
    unit: "intervals",
    done: 2,
    total: 2,
  });
  timers.tick();
  const batch = sent[0]!;
  assert.deepEqual(batch.trades.map((t) => t.price), ["3", "4", "5"]);
  assert.deepEqual(
    batch.history.map((h) => [h.timeframe, h.candles.length]),
    [["1m", 2], ["5m", 1]],
  );
  assert.deepEqual(batch.notices.map((n) => n.code), ["a", "b"]);
  assert.equal(batch.progress?.phase, "done");
  c.close();
});

Deno.test("BatchCoalescer sends nothing after close", () => {
  const timers = manualTimers();
  const sent: WorkerBatch[] = [];
  const c = new BatchCoalescer((b) => sent.push(b), {
    setTimer: timers.setTimer,
  });
  c.ticker("BTC/USD", { symbol: "BTC/USD", updatedAtMs: 0 });
  c.close();
  timers.tick();
  assert.equal(c.flush(), false);
  assert.equal(sent.length, 0);
});
