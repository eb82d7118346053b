/**
 * The core WebSocket v2 client (`core/ws/`) against the simulator's WS side
 * over real loopback sockets: books stay equal to the simulator's through
 * thousands of updates, and every fault the simulator can inject (corrupted
 * checksum, drop, stall, silent subscription, malformed frames, maintenance,
 * refused symbols) is detected and recovered from. The live cache's
 * staleness rules and closed candles are checked on real frames too.
 *
 * Time: the simulator's clock is fake and its feed timer is off; the client
 * runs on a fake clock too (except where a test says it uses real timers),
 * so watchdogs and backoff fire when a test advances that clock. Waits are
 * on events, bounded by `WAIT_MS`; a ping/pong round trip is the barrier.
 */

import assert from "node:assert/strict";
import type { BookDepth } from "../../../core/ws/book.ts";
import type { WsConnectionEvents } from "../../../core/ws/connection.ts";
import { type WsCandle } from "../../../core/ws/candles.ts";
import {
  LiveCache,
  LiveDataError,
  NoDataError,
  StaleDataError,
} from "../../../core/ws/live.ts";
import { normalizeDecimal, type Ticker } from "../../../core/ws/protocol.ts";
import { dataStatus } from "../../../core/ws/status.ts";
import {
  type ClientHarness,
  startClientHarness,
} from "./_ws_client_harness.ts";

interface BookSpec {
  symbol: string;
  depth: BookDepth;
  priceDecimals: number;
  qtyDecimals: number;
}

/** Pairs of different price precisions (1, 2 and 7 decimals). */
const BTC: BookSpec = {
  symbol: "BTC/USD",
  depth: 10,
  priceDecimals: 1,
  qtyDecimals: 8,
};
const ETH: BookSpec = {
  symbol: "ETH/USD",
  depth: 25,
  priceDecimals: 2,
  qtyDecimals: 8,
};
const DOGE: BookSpec = {
  symbol: "DOGE/USD",
  depth: 100,
  priceDecimals: 7,
  qtyDecimals: 8,
};

function subscribeBook(h: ClientHarness, spec: BookSpec): void {
  h.connection.subscribe({
    channel: "book",
    symbol: spec.symbol,
    depth: spec.depth,
    priceDecimals: spec.priceDecimals,
    qtyDecimals: spec.qtyDecimals,
  });
}

function booksOk(h: ClientHarness, specs: readonly BookSpec[]): () => boolean {
  return () =>
    specs.every((s) => h.connection.books.integrity(s.symbol) === "ok");
}

/** Wait until every listed book holds a verified snapshot. */
function whenBooksOk(
  h: ClientHarness,
  specs: readonly BookSpec[],
): Promise<void> {
  return h.until(
    booksOk(h, specs),
    ["book"],
    `books ${specs.map((s) => s.symbol).join(", ")} to be ok`,
  );
}

/** The client's book equals the simulator's at its cursor, level by level, as exact text. */
function assertBookEqualsSim(h: ClientHarness, spec: BookSpec): void {
  const expected = h.sim.ws.feed.bookAtCursor(spec.symbol, spec.depth);
  const actual = h.connection.books.top(spec.symbol);
  assert.ok(actual, `${spec.symbol} book is verified`);
  const text = (levels: readonly { price: string; qty: string }[]) =>
    levels.map((l) => `${l.price}@${l.qty}`);
  assert.equal(actual.asks.length, spec.depth, `${spec.symbol} ask depth`);
  assert.equal(actual.bids.length, spec.depth, `${spec.symbol} bid depth`);
  assert.deepEqual(
    text(actual.asks),
    text(expected.asks),
    `${spec.symbol} asks`,
  );
  assert.deepEqual(
    text(actual.bids),
    text(expected.bids),
    `${spec.symbol} bids`,
  );
  // Exact wire text: the pair's precision, trailing zeros kept.
  const decimals = actual.asks[0]!.price.split(".")[1]?.length ?? 0;
  assert.equal(decimals, spec.priceDecimals, `${spec.symbol} price text`);
}

/** Collect ticker frames per symbol (snapshot and update). */
function recordTickers(h: ClientHarness): Map<string, Ticker[]> {
  const seen = new Map<string, Ticker[]>();
  h.connection.on("frame", (frame) => {
    if (frame.kind !== "ticker") return;
    const list = seen.get(frame.ticker.symbol) ?? [];
    list.push(frame.ticker);
    seen.set(frame.ticker.symbol, list);
  });
  return seen;
}

/** Collect ticker snapshots per symbol. */
function recordTickerSnapshots(h: ClientHarness): Map<string, number> {
  const seen = new Map<string, number>();
  h.connection.on("frame", (frame) => {
    if (frame.kind === "ticker" && frame.type === "snapshot") {
      seen.set(frame.ticker.symbol, (seen.get(frame.ticker.symbol) ?? 0) + 1);
    }
  });
  return seen;
}

/** Step the simulator `steps` times by `ms`, then sync with the client. */
async function run(h: ClientHarness, steps: number, ms: number): Promise<void> {
  for (let i = 0; i < steps; i++) h.step(ms);
  await h.sync();
}

/** Advance the client's fake clock in small steps until `done()` holds. */
function advanceUntil(
  h: ClientHarness,
  done: () => boolean,
  options: { stepMs: number; maxMs: number; what: string },
): void {
  for (let ms = 0; !done(); ms += options.stepMs) {
    if (ms >= options.maxMs) {
      throw new Error(
        `${options.what} did not happen within ${options.maxMs} ms of client time`,
      );
    }
    h.clock.advance(options.stepMs);
  }
}

Deno.test("books fed by WsConnection equal the simulator's books through thousands of updates", async (t) => {
  await using h = await startClientHarness({ seed: 11 });
  const specs = [BTC, ETH, DOGE];
  let updates = 0;
  const refused: unknown[] = [];
  h.connection.on("book", (result) => {
    if (result.kind === "applied") {
      if (result.type === "update") updates++;
    } else refused.push(result);
  });
  for (const spec of specs) subscribeBook(h, spec);
  h.connection.connect();
  await whenBooksOk(h, specs);

  await t.step("the snapshots equal the simulator's books", () => {
    for (const spec of specs) assertBookEqualsSim(h, spec);
  });

  await t.step(
    "1500 steps of 2 s: every update applies, zero checksum failures, equal at every checkpoint",
    async () => {
      for (let round = 0; round < 15; round++) {
        await run(h, 100, 2_000);
        for (const spec of specs) assertBookEqualsSim(h, spec);
      }
      assert.ok(updates >= 3_000, `only ${updates} book updates`);
      assert.deepEqual(refused, []);
      assert.equal(h.connection.books.checksumFailures(), 0);
      const status = dataStatus({ connection: h.connection });
      assert.deepEqual(
        {
          ok: status.bookTotals.ok,
          failures: status.bookTotals.checksumFailures,
          resubscribes: status.bookTotals.resubscribes,
          reconnects: status.reconnects,
        },
        { ok: 3, failures: 0, resubscribes: 0, reconnects: 0 },
      );
    },
  );
});

Deno.test("a corrupted checksum resyncs only that symbol with one resubscribe", async (t) => {
  await using h = await startClientHarness({ seed: 5 });
  const specs = [BTC, ETH, DOGE];
  const others = [BTC, DOGE];
  // Checked on every book result: the other symbols never leave `ok`.
  const othersLeftOk: string[] = [];
  let armed = false;
  h.connection.on("book", () => {
    if (!armed) return;
    for (const spec of others) {
      const state = h.connection.books.integrity(spec.symbol);
      if (state !== "ok") othersLeftOk.push(`${spec.symbol}: ${state}`);
    }
  });
  for (const spec of specs) subscribeBook(h, spec);
  h.connection.connect();
  await whenBooksOk(h, specs);
  armed = true;
  await run(h, 10, 2_000);

  const mark = h.sent.length;
  const resyncs: WsConnectionEvents["book_resync"][] = [];
  let integrityAtResync: string | undefined;
  h.connection.on("book_resync", (event) => {
    resyncs.push(event);
    integrityAtResync = h.connection.books.integrity(event.symbol);
  });
  const subscribed: WsConnectionEvents["subscribed"][] = [];
  h.connection.on("subscribed", (event) => subscribed.push(event));

  await t.step(
    "the corrupted update fails the checksum and the book goes resyncing",
    async () => {
      h.sim.ws.faults.corruptChecksum(ETH.symbol);
      for (let i = 0; i < 50; i++) {
        if (h.sim.ws.faults.stats.corruptChecksums === 1) break;
        h.step(2_000);
      }
      assert.equal(h.sim.ws.faults.stats.corruptChecksums, 1);
      await h.sync();
      assert.equal(resyncs.length, 1);
      assert.equal(resyncs[0]!.symbol, ETH.symbol);
      assert.equal(resyncs[0]!.count, 1);
      assert.notEqual(resyncs[0]!.expected, resyncs[0]!.actual);
      assert.equal(integrityAtResync, "resyncing");
    },
  );

  await t.step("a fresh snapshot restores the book", async () => {
    await whenBooksOk(h, specs);
    await run(h, 200, 2_000);
    for (const spec of specs) assertBookEqualsSim(h, spec);
  });

  await t.step(
    "exactly one unsubscribe and one subscribe were sent, for that symbol only",
    () => {
      const requests = h.sentSince(mark).filter((r) => r.method !== "ping");
      assert.deepEqual(
        requests.map((r) => ({
          method: r.method,
          channel: r.params.channel,
          symbol: r.params.symbol,
          depth: r.params.depth,
        })),
        [
          {
            method: "unsubscribe",
            channel: "book",
            symbol: [ETH.symbol],
            depth: ETH.depth,
          },
          {
            method: "subscribe",
            channel: "book",
            symbol: [ETH.symbol],
            depth: ETH.depth,
          },
        ],
      );
      assert.deepEqual(subscribed, [{ channel: "book", symbol: ETH.symbol }]);
    },
  );

  await t.step("failures count 1; other symbols stayed ok throughout", () => {
    assert.equal(h.connection.books.checksumFailures(ETH.symbol), 1);
    assert.equal(h.connection.books.checksumFailures(BTC.symbol), 0);
    assert.equal(h.connection.books.checksumFailures(DOGE.symbol), 0);
    assert.equal(h.connection.books.checksumFailures(), 1);
    assert.deepEqual(othersLeftOk, []);
    const books = h.connection.snapshot().books;
    assert.deepEqual(
      books.map((
        b,
      ) => [b.symbol, b.integrity, b.checksumFailures, b.resubscribes]),
      [
        [BTC.symbol, "ok", 0, 0],
        [DOGE.symbol, "ok", 0, 0],
        [ETH.symbol, "ok", 1, 1],
      ],
    );
    assert.equal(resyncs.length, 1);
    assert.equal(h.connection.snapshot().reconnects, 0);
  });
});

Deno.test("a dropped connection reconnects on real timers and resubscribes every symbol", async (t) => {
  await using h = await startClientHarness({
    seed: 7,
    realTimers: true,
    connection: {
      initialDelayMs: 10,
      maxDelayMs: 100,
      // Only the drop may replace the socket in this test.
      silenceTimeoutMs: 60_000,
      firstDataTimeoutMs: 60_000,
    },
  });
  const specs = [BTC, ETH, DOGE];
  const symbols = specs.map((s) => s.symbol);
  const tickers = recordTickers(h);
  const tickerSnapshots = recordTickerSnapshots(h);
  for (const spec of specs) subscribeBook(h, spec);
  h.connection.subscribe({ channel: "ticker", symbol: symbols });
  h.connection.connect();
  await whenBooksOk(h, specs);
  await h.until(
    () => symbols.every((s) => tickerSnapshots.get(s) === 1),
    ["frame"],
    "ticker snapshots",
  );

  await t.step(
    "the drop is followed by backoff, a new socket and one resubscribe of everything",
    async () => {
      const closed = h.next("closed");
      const reconnecting = h.next("reconnecting");
      const opened = h.next("open", (e) => e.reconnect);
      const resubscribed = h.next("resubscribed");
      assert.equal(h.sim.ws.faults.drop(), 1);
      const close = await closed;
      assert.equal(close.code, 1011);
      assert.equal(close.willReconnect, true);
      const backoff = await reconnecting;
      assert.equal(backoff.reason, "backoff");
      // Second attempt: 10 ms × 2, the top half jittered.
      assert.ok(
        backoff.delayMs >= 10 && backoff.delayMs <= 20,
        `delay ${backoff.delayMs}`,
      );
      await opened;
      const replay = await resubscribed;
      assert.equal(replay.subscriptions, 6);
      assert.deepEqual(replay.symbols, [...symbols].sort());
      assert.equal(h.socketCount, 2);
    },
  );

  await t.step(
    "every book and ticker comes back with a new snapshot",
    async () => {
      await whenBooksOk(h, specs);
      await h.until(
        () => symbols.every((s) => tickerSnapshots.get(s) === 2),
        ["frame"],
        "ticker snapshots after the reconnect",
      );
      const snapshot = h.connection.snapshot();
      assert.equal(snapshot.state, "open");
      assert.equal(snapshot.reconnects, 1);
      assert.deepEqual(
        snapshot.subscriptions.map((s) => s.state),
        Array(6).fill("active"),
      );
    },
  );

  await t.step("updates resume for every symbol", async () => {
    const before = new Map(symbols.map((s) => [s, tickers.get(s)!.length]));
    for (let i = 0; i < 20; i++) {
      await run(h, 5, 30_000);
      if (symbols.every((s) => tickers.get(s)!.length > before.get(s)!)) break;
    }
    for (const s of symbols) {
      assert.ok(tickers.get(s)!.length > before.get(s)!, `${s} ticker resumed`);
    }
    for (const spec of specs) assertBookEqualsSim(h, spec);
    assert.equal(h.connection.books.checksumFailures(), 0);
  });
});

Deno.test("a stalled connection is detected by the silence watchdog and replaced", async (t) => {
  await using h = await startClientHarness({
    seed: 9,
    connection: {
      silenceTimeoutMs: 500,
      watchdogIntervalMs: 100,
      initialDelayMs: 50,
      maxDelayMs: 400,
    },
  });
  const specs = [BTC, ETH];
  const symbols = specs.map((s) => s.symbol);
  const tickerSnapshots = recordTickerSnapshots(h);
  for (const spec of specs) subscribeBook(h, spec);
  h.connection.subscribe({ channel: "ticker", symbol: symbols });
  h.connection.connect();
  await whenBooksOk(h, specs);
  await h.until(
    () => symbols.every((s) => tickerSnapshots.get(s) === 1),
    ["frame"],
    "ticker snapshots",
  );
  await run(h, 4, 1_000);
  // Frames arrived: the watchdog sees a live socket.
  h.clock.advance(400);
  assert.equal(h.connection.state, "open");

  const stalls: WsConnectionEvents["stalled"][] = [];
  h.connection.on("stalled", (e) => stalls.push(e));
  const delays: number[] = [];
  h.connection.on("reconnecting", (e) => delays.push(e.delayMs));

  await t.step("silence past silenceTimeoutMs replaces the socket", () => {
    h.sim.ws.faults.stall();
    for (let i = 0; i < 4; i++) h.step(1_000);
    assert.ok(h.sim.ws.faults.stats.stalledFrames > 0);
    advanceUntil(h, () => stalls.length > 0, {
      stepMs: 100,
      maxMs: 2_000,
      what: "The stall detection",
    });
    assert.equal(stalls.length, 1);
    assert.ok(stalls[0]!.silentMs >= 500, `silent ${stalls[0]!.silentMs}`);
    assert.equal(h.connection.state, "waiting");
    assert.equal(delays.length, 1);
  });

  await t.step(
    "after the backoff a new socket opens and every stream resumes",
    async () => {
      h.sim.ws.faults.resume();
      const opened = h.next("open", (e) => e.reconnect);
      const resubscribed = h.next("resubscribed");
      h.clock.advance(delays[0]!);
      await opened;
      assert.deepEqual((await resubscribed).symbols, [...symbols].sort());
      await whenBooksOk(h, specs);
      await h.until(
        () => symbols.every((s) => tickerSnapshots.get(s) === 2),
        ["frame"],
        "ticker snapshots after the reconnect",
      );
      await run(h, 50, 2_000);
      for (const spec of specs) assertBookEqualsSim(h, spec);
      assert.equal(h.connection.books.checksumFailures(), 0);
      assert.equal(h.connection.snapshot().reconnects, 1);
      assert.equal(h.socketCount, 2);
      assert.equal(stalls.length, 1);
    },
  );
});

Deno.test("an acked but silent subscription is detected and recovered", async (t) => {
  await using h = await startClientHarness({
    seed: 4,
    connection: {
      firstDataTimeoutMs: 1_000,
      watchdogIntervalMs: 100,
      // The socket itself stays quiet between feed steps: do not replace it.
      silenceTimeoutMs: 600_000,
      initialDelayMs: 50,
    },
  });
  const silent: WsConnectionEvents["silent_subscription"][] = [];
  h.connection.on("silent_subscription", (e) => silent.push(e));
  const apart = { ...DOGE, depth: 10 as const };

  await t.step(
    "one silent snapshot is detected and a resubscribe brings the book",
    async () => {
      h.sim.ws.faults.silence({ channel: "book", symbol: ETH.symbol });
      const ethAcked = h.next(
        "subscribed",
        (e) => e.channel === "book" && e.symbol === ETH.symbol,
      );
      subscribeBook(h, BTC);
      subscribeBook(h, { ...ETH, depth: 10 });
      h.connection.connect();
      await ethAcked;
      await whenBooksOk(h, [BTC]);
      await h.sync();
      // No snapshot has arrived for it: no book to read.
      assert.notEqual(h.connection.books.integrity(ETH.symbol), "ok");
      assert.equal(h.connection.books.top(ETH.symbol), undefined);
      assert.equal(dataStatus({ connection: h.connection }).bookTotals.ok, 1);
      const mark = h.sent.length;
      const ethOk = h.until(
        () => h.connection.books.integrity(ETH.symbol) === "ok",
        ["book"],
        "the ETH snapshot",
      );
      advanceUntil(h, () => silent.length > 0, {
        stepMs: 100,
        maxMs: 3_000,
        what: "Silent subscription detection",
      });
      assert.equal(silent.length, 1);
      assert.equal(silent[0]!.channel, "book");
      assert.equal(silent[0]!.symbol, ETH.symbol);
      assert.equal(silent[0]!.action, "resubscribe");
      assert.ok(silent[0]!.silentMs >= 1_000);
      await ethOk;
      assert.deepEqual(
        h.sentSince(mark).filter((r) => r.method !== "ping").map((r) => [
          r.method,
          r.params.symbol,
        ]),
        [["unsubscribe", [ETH.symbol]], ["subscribe", [ETH.symbol]]],
      );
      await run(h, 20, 2_000);
      assertBookEqualsSim(h, BTC);
      assertBookEqualsSim(h, { ...ETH, depth: 10 });
      // Data flows now: later watchdog rounds raise nothing.
      h.clock.advance(3_000);
      assert.equal(silent.length, 1);
      assert.equal(h.connection.snapshot().reconnects, 0);
    },
  );

  await t.step(
    "a subscription silent even after the resubscribe escalates to a reconnect",
    async () => {
      h.sim.ws.faults.silence({
        channel: "book",
        symbol: apart.symbol,
        count: 2,
      });
      const acked = h.next(
        "subscribed",
        (e) => e.symbol === apart.symbol,
      );
      subscribeBook(h, apart);
      await acked;
      const reacked = h.next(
        "subscribed",
        (e) => e.symbol === apart.symbol,
      );
      advanceUntil(h, () => silent.length > 1, {
        stepMs: 100,
        maxMs: 3_000,
        what: "The first strike",
      });
      assert.equal(silent[1]!.action, "resubscribe");
      await reacked; // acked again, and silent again
      const reconnecting = h.next("reconnecting");
      advanceUntil(h, () => silent.length > 2, {
        stepMs: 100,
        maxMs: 3_000,
        what: "The second strike",
      });
      assert.equal(silent[2]!.symbol, apart.symbol);
      assert.equal(silent[2]!.action, "reconnect");
      const { delayMs } = await reconnecting;
      const opened = h.next("open", (e) => e.reconnect);
      h.clock.advance(delayMs);
      await opened;
      await whenBooksOk(h, [BTC, { ...ETH, depth: 10 }, apart]);
      await run(h, 20, 2_000);
      assertBookEqualsSim(h, apart);
      h.clock.advance(100); // one watchdog round sees the data
      assert.equal(h.sim.ws.faults.stats.silenced, 3);
      assert.equal(silent.length, 3);
      assert.equal(
        dataStatus({ connection: h.connection }).subscriptions.silent,
        0,
      );
    },
  );
});

Deno.test("malformed frames are counted and survived", async () => {
  await using h = await startClientHarness({ seed: 6 });
  const malformed: WsConnectionEvents["malformed"][] = [];
  h.connection.on("malformed", (e) => malformed.push(e));
  const tickers = recordTickers(h);
  subscribeBook(h, BTC);
  h.connection.subscribe({
    channel: "ticker",
    symbol: BTC.symbol,
    eventTrigger: "bbo",
  });
  h.connection.connect();
  await whenBooksOk(h, [BTC]);
  await h.sync();

  // Every kind twice: truncated book, not JSON, wrong types, an array, empty.
  assert.equal(h.sim.ws.faults.sendMalformed(10), 10);
  await h.sync();
  assert.deepEqual(
    malformed.map((e) => e.count),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  const status = dataStatus({ connection: h.connection });
  assert.equal(status.malformedFrames, 10);
  assert.equal(status.connected, true);
  assert.equal(status.reconnects, 0);
  assert.equal(h.connection.books.integrity(BTC.symbol), "ok");

  const tickersBefore = tickers.get(BTC.symbol)!.length;
  await run(h, 60, 5_000);
  assert.ok(tickers.get(BTC.symbol)!.length > tickersBefore, "tickers flow");
  assertBookEqualsSim(h, BTC);
  assert.equal(h.connection.books.checksumFailures(), 0);
  assert.equal(h.connection.snapshot().malformedFrames, 10);
});

Deno.test("the exchange's maintenance status is surfaced, also after a reconnect", async (t) => {
  await using h = await startClientHarness({ seed: 8 });
  const first = h.next("status");
  h.connection.subscribe({ channel: "ticker", symbol: BTC.symbol });
  h.connection.connect();
  assert.equal((await first).system, "online");

  await t.step(
    "a pushed maintenance status reaches events and data status",
    async () => {
      const maintenance = h.next("status", (s) => s.system === "maintenance");
      h.sim.ws.faults.setSystemStatus("maintenance");
      const status = await maintenance;
      assert.equal(status.apiVersion, "v2");
      assert.equal(h.connection.snapshot().system?.system, "maintenance");
      assert.equal(
        dataStatus({ connection: h.connection }).system,
        "maintenance",
      );
    },
  );

  await t.step(
    "a drop during maintenance waits at least 5 s, and the new socket reports it too",
    async () => {
      const reconnecting = h.next("reconnecting");
      assert.equal(h.sim.ws.faults.drop(), 1);
      const { delayMs } = await reconnecting;
      assert.ok(delayMs >= 5_000, `delay ${delayMs}`);
      const status = h.next("status");
      h.clock.advance(delayMs);
      assert.equal((await status).system, "maintenance");
    },
  );

  await t.step("back online is surfaced too", async () => {
    const online = h.next("status", (s) => s.system === "online");
    h.sim.ws.faults.setSystemStatus("online");
    await online;
    assert.equal(dataStatus({ connection: h.connection }).system, "online");
  });
});

Deno.test("an unknown symbol in a request is refused alone; the other streams", async (t) => {
  await using h = await startClientHarness({ seed: 2 });
  const errors: WsConnectionEvents["subscription_error"][] = [];
  h.connection.on("subscription_error", (e) => errors.push(e));
  const tickers = recordTickers(h);
  const btcAcked = h.next("subscribed", (e) => e.symbol === BTC.symbol);
  const refused = h.next("subscription_error");
  h.connection.subscribe({
    channel: "ticker",
    symbol: [BTC.symbol, "NOPE/USD"],
  });
  h.connection.connect();

  await t.step("one request, one error for the unknown symbol", async () => {
    await btcAcked;
    await refused;
    await h.sync();
    assert.deepEqual(
      h.sentSince(0, "subscribe").map((r) => r.params.symbol),
      [[BTC.symbol, "NOPE/USD"]],
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.channel, "ticker");
    assert.equal(errors[0]!.symbol, "NOPE/USD");
    assert.match(errors[0]!.error, /Currency pair not supported/);
    const states = Object.fromEntries(
      h.connection.snapshot().subscriptions.map((s) => [s.symbol, s.state]),
    );
    assert.deepEqual(states, { [BTC.symbol]: "active", "NOPE/USD": "failed" });
    const counts = dataStatus({ connection: h.connection }).subscriptions;
    assert.equal(counts.active, 1);
    assert.equal(counts.failed, 1);
    assert.deepEqual(counts.errors.map((e) => e.symbol), ["NOPE/USD"]);
  });

  await t.step("the known symbol streams", async () => {
    assert.equal(tickers.get(BTC.symbol)?.length, 1, "the snapshot");
    for (let i = 0; i < 20 && tickers.get(BTC.symbol)!.length < 3; i++) {
      await run(h, 1, 60_000);
    }
    assert.ok(tickers.get(BTC.symbol)!.length >= 3);
    assert.equal(tickers.get("NOPE/USD"), undefined);
  });

  await t.step(
    "after a reconnect only the known symbol is asked for again",
    async () => {
      const mark = h.sent.length;
      const reconnecting = h.next("reconnecting");
      const resubscribed = h.next("resubscribed");
      h.sim.ws.faults.drop();
      h.clock.advance((await reconnecting).delayMs);
      assert.deepEqual((await resubscribed).symbols, [BTC.symbol]);
      await h.sync();
      assert.deepEqual(
        h.sentSince(mark, "subscribe").map((r) => r.params.symbol),
        [[BTC.symbol]],
      );
      assert.equal(errors.length, 1);
    },
  );
});

Deno.test("the live cache applies staleness on a fake clock to real frames", async (t) => {
  await using h = await startClientHarness({ seed: 12 });
  let liveNowMs = 1_000_000;
  const live = new LiveCache({ staleToleranceSec: 2, now: () => liveNowMs });
  const detach = live.attach(h.connection);
  const tickers = recordTickers(h);
  subscribeBook(h, BTC);
  h.connection.subscribe({ channel: "ticker", symbol: BTC.symbol });

  await t.step("before any frame: NoDataError", () => {
    assert.throws(() => live.getLatestPrice(BTC.symbol), NoDataError);
  });

  h.connection.connect();
  await whenBooksOk(h, [BTC]);
  await h.until(() => tickers.has(BTC.symbol), ["frame"], "ticker snapshot");

  await t.step("fresh data is returned with its source and age", async () => {
    const price = live.getLatestPrice(BTC.symbol);
    assert.equal(price.source, "ticker");
    assert.equal(price.price, tickers.get(BTC.symbol)![0]!.last);
    assert.equal(price.ageMs, 0);
    const rest = await (await fetch(
      `${h.sim.url}/0/public/Ticker?pair=XBTUSD`,
    )).json() as { result: Record<string, { c: string[] }> };
    assert.equal(
      normalizeDecimal(price.price),
      normalizeDecimal(Object.values(rest.result)[0]!.c[0]!),
    );
    const best = live.getBestBidAsk(BTC.symbol);
    const book = h.sim.ws.feed.bookAtCursor(BTC.symbol, 1);
    assert.equal(best.source, "book");
    assert.deepEqual(
      [best.bid, best.bidQty, best.ask, best.askQty],
      [
        book.bids[0]!.price,
        book.bids[0]!.qty,
        book.asks[0]!.price,
        book.asks[0]!.qty,
      ],
    );
  });

  await t.step("at exactly the tolerance it is still fresh", () => {
    liveNowMs += 2_000;
    assert.equal(live.getLatestPrice(BTC.symbol).ageMs, 2_000);
    assert.equal(live.getBestBidAsk(BTC.symbol).ageMs, 2_000);
  });

  await t.step("past the tolerance: StaleDataError with the age", () => {
    liveNowMs += 1;
    const error = assertThrowsLive(() => live.getLatestPrice(BTC.symbol));
    assert.ok(error instanceof StaleDataError);
    assert.equal(error.kind, "stale");
    assert.equal(error.ageMs, 2_001);
    assert.equal(error.toleranceSec, 2);
    assert.equal(error.pair, BTC.symbol);
    assert.equal(error.what, "price");
    assert.throws(() => live.getBestBidAsk(BTC.symbol), StaleDataError);
    assert.throws(() => live.getTicker(BTC.symbol), StaleDataError);
    assert.deepEqual(live.freshness(), { fresh: [], stale: [BTC.symbol] });
  });

  await t.step("a pair never received: NoDataError", () => {
    const error = assertThrowsLive(() => live.getLatestPrice(ETH.symbol));
    assert.ok(error instanceof NoDataError);
    assert.equal(error.kind, "no_data");
    assert.equal(error.pair, ETH.symbol);
    assert.throws(() => live.getBestBidAsk(ETH.symbol), NoDataError);
  });

  await t.step("new frames make it fresh again", async () => {
    const count = tickers.get(BTC.symbol)!.length;
    for (let i = 0; i < 20 && tickers.get(BTC.symbol)!.length === count; i++) {
      await run(h, 1, 60_000);
    }
    const latest = tickers.get(BTC.symbol)!.at(-1)!;
    assert.ok(tickers.get(BTC.symbol)!.length > count, "a ticker update came");
    const price = live.getLatestPrice(BTC.symbol);
    assert.equal(price.ageMs, 0);
    assert.equal(price.updatedAtMs, liveNowMs);
    assert.equal(price.price, latest.last);
    assert.deepEqual(live.freshness(), { fresh: [BTC.symbol], stale: [] });
  });
  detach();
});

function assertThrowsLive(fn: () => unknown): LiveDataError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof LiveDataError, String(error));
    return error;
  }
  throw new assert.AssertionError({ message: "Expected a LiveDataError" });
}

Deno.test("live candles close exactly once and equal REST OHLC rows", async (t) => {
  await using h = await startClientHarness({ seed: 3 });
  const closed: WsCandle[] = [];
  const live = new LiveCache({
    onCandleClosed: (candle) => closed.push(candle),
    // Candles update only on trades: minutes may pass between rows.
    staleToleranceSec: 3_600,
    now: () => h.market.nowMs,
  });
  live.attach(h.connection);
  /** The last row seen per open time, as the wire sent it. */
  const lastRows = new Map<number, string>();
  h.connection.on("frame", (frame) => {
    if (frame.kind !== "ohlc") return;
    for (const row of frame.candles) {
      lastRows.set(row.intervalBeginMs, row.close);
    }
  });
  const snapshot = h.next(
    "frame",
    (f) => f.kind === "ohlc" && f.type === "snapshot",
  );
  h.connection.subscribe({ channel: "ohlc", symbol: BTC.symbol, interval: 1 });
  h.connection.connect();
  await snapshot;
  const fromSnapshot = closed.length;

  await t.step("40 steps of 15 s close several candles", async () => {
    for (let i = 0; i < 40; i++) await run(h, 1, 15_000);
    assert.ok(
      closed.length - fromSnapshot >= 3,
      `only ${closed.length - fromSnapshot} candles closed by updates`,
    );
  });

  await t.step(
    "each candle closed once, in order, on a minute boundary",
    () => {
      const opens = closed.map((c) => c.openTimeMs);
      assert.deepEqual(opens, [...new Set(opens)].sort((a, b) => a - b));
      for (const candle of closed) {
        assert.equal(candle.openTimeMs % 60_000, 0);
        assert.equal(candle.intervalMin, 1);
        assert.equal(candle.symbol, BTC.symbol);
        assert.equal(
          new Date(candle.openTimeMs).toISOString().slice(0, 16),
          candle.intervalBegin.slice(0, 16),
        );
        assert.equal(
          candle.close,
          normalizeDecimal(lastRows.get(candle.openTimeMs)!),
        );
      }
      const forming = live.getLiveOhlc(BTC.symbol, 1);
      assert.ok(forming.openTimeMs > opens.at(-1)!);
      assert.ok(forming.openTimeMs <= h.market.nowMs);
    },
  );

  await t.step(
    "each closed candle equals the REST OHLC row of its interval",
    async () => {
      const body = await (await fetch(
        `${h.sim.url}/0/public/OHLC?pair=XBTUSD&interval=1`,
      )).json() as { error: string[]; result: Record<string, unknown> };
      assert.deepEqual(body.error, []);
      const rows = body.result.XXBTZUSD as (string | number)[][];
      const norm = (v: unknown) => normalizeDecimal(String(v));
      for (const candle of closed) {
        const row = rows.find((r) => r[0] === candle.openTimeMs / 1000);
        assert.ok(row, `REST has the candle at ${candle.intervalBegin}`);
        assert.deepEqual(
          [
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.vwap,
            candle.volume,
            candle.trades,
          ],
          [
            norm(row[1]),
            norm(row[2]),
            norm(row[3]),
            norm(row[4]),
            norm(row[5]),
            norm(row[6]),
            row[7],
          ],
          candle.intervalBegin,
        );
      }
    },
  );

  await t.step(
    "a reconnect's re-sent snapshot closes nothing twice",
    async () => {
      const count = closed.length;
      const reconnecting = h.next("reconnecting");
      const resent = h.next(
        "frame",
        (f) => f.kind === "ohlc" && f.type === "snapshot",
      );
      h.sim.ws.faults.drop();
      h.clock.advance((await reconnecting).delayMs);
      await resent;
      assert.equal(closed.length, count);
      for (let i = 0; i < 8; i++) await run(h, 1, 15_000);
      const opens = closed.map((c) => c.openTimeMs);
      assert.equal(new Set(opens).size, opens.length);
      assert.ok(closed.length > count, "candles keep closing");
    },
  );
});

// A book that never had a snapshot must report `empty`, not `resyncing`, after a
// socket opens (regression: `#resubscribeAll` used to mark every book resyncing).
Deno.test({
  name: "a book that never had a snapshot reports empty, not resyncing",
  async fn() {
    await using h = await startClientHarness({ seed: 4 });
    h.sim.ws.faults.silence({ channel: "book", symbol: ETH.symbol });
    const acked = h.next("subscribed", (e) => e.symbol === ETH.symbol);
    subscribeBook(h, ETH);
    h.connection.connect();
    await acked;
    assert.equal(h.connection.books.integrity(ETH.symbol), "empty");
    assert.equal(dataStatus({ connection: h.connection }).bookTotals.empty, 1);
  },
});
