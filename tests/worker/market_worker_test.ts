import assert from "node:assert/strict";
import type { Candle } from "../../core/market/ohlc.ts";
import { CandleCache } from "../../worker/candle_cache.ts";
import { memoryKeyValueStore } from "../../worker/kv_store.ts";
import { MarketWorker } from "../../worker/market_worker.ts";
import type { WatchLimits } from "../../worker/watch_plan.ts";
import type {
  WorkerBatch,
  WorkerMessage,
  WorkerReply,
} from "../../worker/protocol.ts";
import { FakeClock } from "../fakes/clock.ts";
import { FakeFetch, jsonResponse } from "../fakes/fetch.ts";
import { FakeWebSocketFactory } from "../fakes/websocket.ts";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 30); // 30 s into a minute
const MIN = 60;
const nowOpenSec = Math.floor(T0 / 1000 / MIN) * MIN; // forming candle

function pairInfo(
  altname: string,
  base: string,
  status = "online",
  quote = "ZUSD",
  wsQuote = "USD",
) {
  return {
    altname,
    wsname: `${base}/${wsQuote}`,
    aclass_base: "currency",
    base,
    aclass_quote: "currency",
    quote,
    pair_decimals: 1,
    lot_decimals: 8,
    leverage_buy: [],
    leverage_sell: [],
    fees: [[0, 0.26]],
    status,
  };
}

function row(openSec: number, price = "100.0") {
  return [openSec, price, price, price, price, price, "1.00000000", 1];
}

function candle(openTimeSec: number): Candle {
  return {
    openTimeSec,
    open: "100.0",
    high: "100.0",
    low: "100.0",
    close: "100.0",
    vwap: "100.0",
    volume: "1.00000000",
    count: 1,
  };
}

interface Harness {
  worker: MarketWorker;
  clock: FakeClock;
  sockets: FakeWebSocketFactory;
  fetch: FakeFetch;
  messages: WorkerMessage[];
  log: string[];
  replies(): WorkerReply[];
  batches(): WorkerBatch[];
  /** Let fetches and cache reads finish, then run due timers and ack. */
  settle(): Promise<void>;
}

async function harness(
  options: {
    seed?: Candle[];
    ohlcFrom?: number;
    /** While `true`, the proxy answers public calls as for an unreachable Kraken. */
    upstreamDown?: { value: boolean };
    /** Trades answers wait for this (a slow, paced page). */
    tradesGate?: Promise<void>;
    /** Budgets of the two-tier watch. */
    watchLimits?: Partial<WatchLimits>;
  } = {},
): Promise<Harness> {
  const clock = new FakeClock(T0);
  const sockets = new FakeWebSocketFactory();
  const log: string[] = [];
  const kv = memoryKeyValueStore();
  if (options.seed !== undefined) {
    const cache = await CandleCache.open(kv);
    await cache.upsert("XBTUSD", "1m", options.seed);
  }
  const ohlcFrom = options.ohlcFrom ?? nowOpenSec - 15 * MIN;
  const fetch = new FakeFetch(async (request) => {
    const url = new URL(request.url);
    log.push(`fetch ${url.pathname}`);
    if (url.pathname === "/api/public/Trades") await options.tradesGate;
    if (
      options.upstreamDown?.value === true &&
      url.pathname.startsWith("/api/public/")
    ) {
      // What the server's proxy answers when Kraken is unreachable.
      return jsonResponse({
        error: {
          code: "Krakked:Fetch failed",
          kind: "network",
          message:
            "Kraken AssetPairs call failed: the request could not be sent or read (TypeError)",
        },
      }, { status: 504 });
    }
    switch (url.pathname) {
      case "/api/config":
        return jsonResponse({
          mode: "sim",
          simulated: true,
          version: "0.1.0",
          wsPublicUrl: "ws://127.0.0.1:9/v2",
          staleToleranceSec: 60,
          timeframes: ["1m", "5m"],
          quote: "USD",
          privateData: false,
          tradingMode: "read_only",
        });
      case "/api/status":
        return jsonResponse({ rest: { reachable: true, lastError: null } });
      case "/api/public/AssetPairs":
        return jsonResponse({
          error: [],
          result: {
            XXBTZUSD: pairInfo("XBTUSD", "XXBT"),
            XETHZUSD: pairInfo("ETHUSD", "XETH"),
            XXRPZUSD: pairInfo("XRPUSD", "XXRP", "cancel_only"),
            XETHXXBT: pairInfo("ETHXBT", "XETH", "online", "XXBT", "XBT"),
          },
        });
      case "/api/public/OHLC": {
        const rows = [];
        for (let t = ohlcFrom; t <= nowOpenSec; t += MIN) rows.push(row(t));
        return jsonResponse({
          error: [],
          result: { XXBTZUSD: rows, last: nowOpenSec - MIN },
        });
      }
      case "/api/public/Trades": {
        const since = BigInt(url.searchParams.get("since") ?? "0");
        const rows = [];
        // One trade 10 s into each minute before the OHLC window.
        for (let t = nowOpenSec - 40 * MIN; t < ohlcFrom; t += MIN) {
          if (BigInt(t + 10) * 1_000_000_000n > since) {
            rows.push(["100.0", "1.00000000", t + 10, "b", "m", "", t]);
          }
        }
        const last = rows.length === 0
          ? since.toString()
          : (BigInt(rows.at(-1)![2] as number) * 1_000_000_000n).toString();
        return jsonResponse({ error: [], result: { XXBTZUSD: rows, last } });
      }
      default:
        return jsonResponse({ error: { code: "not_found", message: "No" } }, {
          status: 404,
        });
    }
  });
  const messages: WorkerMessage[] = [];
  const worker = new MarketWorker({
    origin: "http://127.0.0.1:8787",
    post: (message) => {
      messages.push(message);
      log.push(
        `${message.kind} ${
          message.kind === "reply" ? message.method : message.seq
        }`,
      );
    },
    fetch: fetch.fetch,
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    openStore: () => kv,
    ...(options.watchLimits === undefined
      ? {}
      : { watchLimits: options.watchLimits }),
  });
  const h: Harness = {
    worker,
    clock,
    sockets,
    fetch,
    messages,
    log,
    replies: () => messages.filter((m): m is WorkerReply => m.kind === "reply"),
    batches: () => messages.filter((m): m is WorkerBatch => m.kind === "batch"),
    async settle() {
      for (let i = 0; i < 20; i++) {
        // A macrotask turn lets fake fetches and streams resolve.
        await new Promise((resolve) => setTimeout(resolve, 0));
        clock.advance(16);
        const last = h.batches().at(-1);
        if (last !== undefined) {
          await worker.receive({ kind: "ack", seq: last.seq });
        }
      }
    },
  };
  return h;
}

function request(id: number, method: string, params: unknown) {
  return { kind: "request", id, method, params };
}

Deno.test("MarketWorker answers init with config and the USD universe", async () => {
  const h = await harness();
  try {
    await h.worker.receive(request(1, "init", {}));
    const reply = h.replies()[0];
    assert.equal(reply?.method, "init");
    assert.ok(reply?.result.ok);
    if (reply?.method !== "init" || !reply.result.ok) {
      throw new Error("init failed");
    }
    assert.deepEqual(reply.result.value.pairs.map((p) => p.symbol), [
      "BTC/USD",
      "ETH/USD",
    ]);
    assert.equal(reply.result.value.config.simulated, true);
    assert.equal(reply.result.value.storage.kind, "indexeddb");
    assert.equal(h.sockets.last().url, "ws://127.0.0.1:9/v2");
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker answers bad and early requests with error values", async (t) => {
  const h = await harness();
  try {
    await t.step("an unknown method", async () => {
      await h.worker.receive(request(5, "explode", {}));
      const reply = h.replies().at(-1);
      assert.equal(reply?.id, 5);
      assert.deepEqual(reply?.result.ok, false);
      if (reply?.result.ok === false) {
        assert.equal(reply.result.error.kind, "bad_request");
      }
    });
    await t.step("a select with a bad timeframe", async () => {
      await h.worker.receive(
        request(6, "select", { pair: "XBTUSD", timeframe: "2h", depth: 10 }),
      );
      const reply = h.replies().at(-1);
      assert.equal(reply?.id, 6);
      assert.match(
        reply?.result.ok === false ? reply.result.error.message : "",
        /timeframe/,
      );
    });
    await t.step("watch before init", async () => {
      await h.worker.receive(
        request(7, "watch", { pinned: ["BTC/USD"], allQuotes: false }),
      );
      const reply = h.replies().at(-1);
      assert.equal(
        reply?.result.ok === false ? reply.result.error.kind : "",
        "not_ready",
      );
    });
    await t.step("garbage without an id is dropped", async () => {
      const before = h.messages.length;
      await h.worker.receive("hello");
      await h.worker.receive({ kind: "request", method: "init" });
      assert.equal(h.messages.length, before);
    });
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker scouts every universe pair with a ticker and coalesces them; pins join the focus", async () => {
  const h = await harness();
  try {
    await h.worker.receive(request(1, "init", {}));
    const socket = h.sockets.last();
    socket.open();
    const subscribe = socket.sentMethod("subscribe").at(-1) as {
      params: { channel: string; symbol: string[] };
    };
    assert.equal(subscribe.params.channel, "ticker");
    assert.deepEqual(subscribe.params.symbol.sort(), ["BTC/USD", "ETH/USD"]);
    for (const last of [1, 2, 3]) {
      socket.receive({
        channel: "ticker",
        type: "update",
        data: [{
          symbol: "BTC/USD",
          last,
          bid: last - 0.5,
          ask: last + 0.5,
          volume: 10,
          vwap: 2,
          change_pct: 1.5,
        }],
      });
    }
    await h.settle();
    const tickers = h.batches().flatMap((b) => b.tickers);
    assert.deepEqual(tickers.map((t) => [t.symbol, t.last]), [["BTC/USD", 3]]);
    assert.equal(tickers[0]?.volumeQuote, 20);
    // A pin promotes ETH/USD: book, trade and candles, on the focus socket.
    await h.worker.receive(
      request(2, "watch", { pinned: ["ETHUSD", "NOPE"], allQuotes: false }),
    );
    const reply = h.replies().at(-1);
    assert.ok(reply?.method === "watch" && reply.result.ok);
    const focus = socket.sentMethod("subscribe").slice(1).map((m) =>
      (m as { params: { channel: string; symbol: string[] } }).params
    );
    assert.deepEqual(
      focus.map((p) => `${p.channel} ${p.symbol.join(",")}`).sort(),
      ["book ETH/USD", "ohlc ETH/USD", "trade ETH/USD"],
    );
    assert.deepEqual(h.worker.plan.focus, ["ETH/USD"]);
    // Unpinned: it lingers, then its focus channels go; the ticker stays.
    await h.worker.receive(
      request(3, "watch", { pinned: [], allQuotes: false }),
    );
    assert.equal(socket.sentMethod("unsubscribe").length, 0);
    h.clock.advance(29_000);
    assert.deepEqual(h.worker.plan.focus, ["ETH/USD"]);
    h.clock.advance(1_000);
    assert.deepEqual(h.worker.plan.focus, []);
    const held = h.worker.connection?.snapshot().subscriptions.map((e) =>
      e.channel
    );
    assert.deepEqual([...new Set(held)], ["ticker"]);
    assert.equal(h.worker.plan.scoutOn.size, 2);
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker spreads scouts over sockets within their budget; the all-quotes switch widens the scope", async () => {
  // Socket 0 keeps 3 entries for one focused pair, so it scouts one pair.
  const h = await harness({
    watchLimits: { maxFocus: 1, maxEntriesPerConnection: 4, lingerMs: 0 },
  });
  try {
    await h.worker.receive(request(1, "init", {}));
    assert.equal(h.sockets.instances.length, 2);
    const scouted = () =>
      [...h.worker.connections.values()].flatMap((ws) =>
        ws.snapshot().subscriptions.filter((e) => e.channel === "ticker").map(
          (e) => e.symbol,
        )
      ).sort();
    assert.deepEqual(scouted(), ["BTC/USD", "ETH/USD"]);
    await h.worker.receive(
      request(2, "watch", { pinned: [], allQuotes: true }),
    );
    const reply = h.replies().at(-1);
    if (reply?.method !== "watch" || !reply.result.ok) {
      throw new Error("watch failed");
    }
    assert.deepEqual(reply.result.value.pairs.map((p) => p.symbol), [
      "BTC/USD",
      "ETH/BTC",
      "ETH/USD",
    ]);
    assert.deepEqual(scouted(), ["BTC/USD", "ETH/BTC", "ETH/USD"]);
    // Socket 1 had room for it: no third socket.
    assert.equal(h.worker.connections.size, 2);
    // Back to one quote: ETH/BTC's ticker goes, the others stay put.
    await h.worker.receive(
      request(3, "watch", { pinned: [], allQuotes: false }),
    );
    assert.deepEqual(scouted(), ["BTC/USD", "ETH/USD"]);
    assert.equal(h.worker.connections.size, 2);
    // A detail pair's focus rides on socket 0 next to its scout.
    await h.worker.receive(
      request(4, "select", { pair: "ETHUSD", timeframe: "5m", depth: 25 }),
    );
    const onZero = h.worker.connection?.snapshot().subscriptions.map((e) =>
      `${e.channel} ${e.symbol}`
    ).sort();
    assert.deepEqual(onZero, [
      "book ETH/USD",
      "ohlc ETH/USD",
      "ticker BTC/USD",
      "trade ETH/USD",
    ]);
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker: a book depth change on the open pair swaps the book, nothing else", async () => {
  const h = await harness();
  try {
    await h.worker.receive(request(1, "init", {}));
    h.sockets.last().open();
    await h.worker.receive(
      request(2, "select", { pair: "XBTUSD", timeframe: "5m", depth: 10 }),
    );
    await h.worker.receive(
      request(3, "select", { pair: "XBTUSD", timeframe: "5m", depth: 25 }),
    );
    const reply = h.replies().at(-1);
    assert.ok(reply?.method === "select" && reply.result.ok);
    const held = h.worker.connection?.snapshot().subscriptions
      .filter((e) => e.channel !== "ticker").map((e) => e.key).sort();
    assert.equal(held?.length, 3);
    assert.ok(held?.some((k) => k.includes("book") && k.includes("25")));
    assert.ok(!held?.some((k) => k.includes("book") && k.includes("10")));
    assert.deepEqual(h.worker.plan.focus, ["BTC/USD"]);
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker answers select from the cache at once, then fills the gap through the proxy", async () => {
  // Cached: 11 closed candles ending 20 minutes ago; the OHLC window starts
  // 15 minutes ago, so minutes -19…-16 must come from trades, and older
  // ones too while fewer than `limit` are held.
  const seed = Array.from(
    { length: 11 },
    (_, i) => candle(nowOpenSec - (30 - i) * MIN),
  );
  const h = await harness({ seed });
  try {
    await h.worker.receive(request(1, "init", {}));
    h.sockets.last().open();
    await h.worker.receive(
      request(2, "select", {
        pair: "XBTUSD",
        timeframe: "1m",
        depth: 10,
        limit: 40,
      }),
    );
    const reply = h.replies().at(-1);
    if (reply?.method !== "select" || !reply.result.ok) {
      throw new Error("select failed");
    }
    assert.equal(reply.result.value.source, "cache");
    assert.equal(reply.result.value.candles.length, 11);
    const replyAt = h.log.indexOf("reply select");
    const ohlcAt = h.log.indexOf("fetch /api/public/OHLC");
    assert.ok(
      replyAt !== -1 && (ohlcAt === -1 || replyAt < ohlcAt),
      "cache answer first",
    );

    await h.settle();
    const history = h.batches().flatMap((b) => b.history);
    const final = history.at(-1);
    assert.equal(final?.source, "network");
    const times = final!.candles.map((c) => c.timeSec);
    // Cache (-30…-20) + trades gap (-19…-16) + OHLC window (-15…-1), then
    // older trades (-40…-31) because fewer than `limit` candles were held.
    assert.equal(times[0], nowOpenSec - 40 * MIN);
    assert.equal(times.length, 40);
    assert.equal(
      times.at(-1),
      nowOpenSec - MIN,
      "the forming candle is not stored",
    );
    for (let i = 1; i < times.length; i++) {
      assert.equal(times[i]! - times[i - 1]!, MIN, `no gap at ${times[i]}`);
    }
    assert.ok(
      h.log.includes("fetch /api/public/Trades"),
      "the gap came from trades",
    );
    const progress = h.batches().map((b) => b.progress).filter((p) =>
      p !== undefined
    );
    // Progress is latest-per-batch, so intermediate phases may be coalesced away.
    assert.equal(progress.at(-1)?.phase, "done");

    await selectSameAgain(h);
  } finally {
    h.worker.close();
  }
});

/** A second select of the same series is answered entirely from the cache. */
async function selectSameAgain(h: Harness): Promise<void> {
  await h.worker.receive(
    request(3, "select", {
      pair: "BTC/USD",
      timeframe: "1m",
      depth: 10,
      limit: 40,
    }),
  );
  const reply = h.replies().at(-1);
  if (reply?.method !== "select" || !reply.result.ok) {
    throw new Error("select failed");
  }
  assert.equal(reply.result.value.candles.length, 40);
}

Deno.test("MarketWorker streams the selected book with its checksum state and the trades", async () => {
  const h = await harness();
  try {
    await h.worker.receive(request(1, "init", {}));
    const socket = h.sockets.last();
    socket.open();
    await h.worker.receive(
      request(2, "select", { pair: "XBTUSD", timeframe: "5m", depth: 10 }),
    );
    const channels = socket.sentMethod("subscribe").map((m) =>
      (m as { params: { channel: string } }).params.channel
    ).filter((c) => c !== "ticker").sort();
    assert.deepEqual(channels, ["book", "ohlc", "trade"]);
    // Official checksum vector from Kraken's docs is in core's tests; here a
    // one-level book whose checksum is wrong must show as resyncing.
    socket.receive({
      channel: "book",
      type: "snapshot",
      data: [{
        symbol: "BTC/USD",
        bids: [{ price: 1, qty: 1 }],
        asks: [{ price: 2, qty: 1 }],
        checksum: 1,
      }],
    });
    socket.receive({
      channel: "trade",
      type: "update",
      data: [{
        symbol: "BTC/USD",
        side: "buy",
        price: 1.5,
        qty: 0.1,
        ord_type: "market",
        trade_id: 7,
        timestamp: "2025-01-01T12:00:29Z",
      }],
    });
    await h.settle();
    const books = h.batches().map((b) => b.book).filter((b) => b !== undefined);
    assert.equal(books.at(-1)?.integrity, "resyncing");
    assert.equal(books.at(-1)?.checksumFailures, 1);
    const trades = h.batches().flatMap((b) => b.trades);
    assert.deepEqual(trades.map((t) => [t.side, t.price]), [["buy", "1.5"]]);
    await h.worker.receive(
      request(3, "select", { pair: null, timeframe: "5m", depth: 10 }),
    );
    // The closed detail lingers in the focus, then leaves it.
    assert.deepEqual(h.worker.plan.focus, ["BTC/USD"]);
    h.clock.advance(30_000);
    assert.deepEqual(h.worker.plan.focus, []);
    const held = h.worker.connection?.snapshot().subscriptions.map((e) =>
      e.channel
    );
    assert.deepEqual([...new Set(held)], ["ticker"]);
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker: an unreachable Kraken fails init with its own kind and the server's config, and a retry recovers", async () => {
  const down = { value: true };
  const h = await harness({ upstreamDown: down });
  try {
    await h.worker.receive(request(1, "init", {}));
    const failed = h.replies().at(-1);
    if (failed?.method !== "init" || failed.result.ok) {
      throw new Error("init should fail while Kraken is unreachable");
    }
    assert.equal(failed.result.error.kind, "upstream_unreachable");
    assert.match(failed.result.error.message, /Kraken is unreachable/);
    assert.equal(failed.result.error.config?.mode, "sim");
    assert.equal(
      h.sockets.instances.length,
      0,
      "no stream is opened without a market",
    );
    down.value = false;
    await h.worker.receive(request(2, "init", {}));
    const retried = h.replies().at(-1);
    assert.equal(retried?.id, 2);
    assert.equal(retried?.result.ok, true);
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker: a fill's progress belongs to its selection and always ends", async () => {
  const h = await harness();
  try {
    await h.worker.receive(request(1, "init", {}));
    h.sockets.last().open();
    const params = { timeframe: "1m", depth: 10, limit: 40 };
    await h.worker.receive(request(2, "select", { pair: "XBTUSD", ...params }));
    await h.settle();
    // A second pair while the first may still be filling.
    await h.worker.receive(request(3, "select", { pair: "ETHUSD", ...params }));
    const replyAt = h.messages.findIndex((m) =>
      m.kind === "reply" && m.id === 3
    );
    await h.settle();
    const after = h.messages.slice(replyAt).flatMap((m) =>
      m.kind === "batch" && m.progress !== undefined ? [m.progress] : []
    );
    assert.ok(after.length > 0, "the second fill reported");
    assert.deepEqual(
      [...new Set(after.map((p) => p.pair))],
      ["ETHUSD"],
      "no progress of the first pair after the second was selected",
    );
    assert.equal(after.at(-1)?.phase, "done");
    const all = h.batches().flatMap((b) =>
      b.progress === undefined ? [] : [b.progress]
    );
    for (const p of all) {
      assert.ok(p.done >= 0 && p.total >= 0, JSON.stringify(p));
      if (p.total > 0) assert.ok(p.done <= p.total, JSON.stringify(p));
      if (p.phase === "trades") {
        // Older history counts pages within the budget, never intervals.
        assert.equal(p.unit, "pages");
        assert.equal(p.total, 10);
        assert.ok(p.done < p.total);
      }
    }
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker: a superseded fill sends no further requests", async () => {
  // The OHLC window holds 5 candles and `limit` wants 40: the first pair's
  // fill goes on to page Trades for older history.
  let openGate = () => {};
  const tradesGate = new Promise<void>((resolve) => openGate = resolve);
  const h = await harness({ ohlcFrom: nowOpenSec - 5 * MIN, tradesGate });
  try {
    await h.worker.receive(request(1, "init", {}));
    h.sockets.last().open();
    const params = { timeframe: "1m", depth: 10, limit: 40 };
    await h.worker.receive(request(2, "select", { pair: "XBTUSD", ...params }));
    // Until the first Trades page is on its way (and held at the gate).
    for (let i = 0; i < 50; i++) {
      if (h.log.includes("fetch /api/public/Trades")) break;
      await new Promise((resolve) => setTimeout(resolve, 0));
      h.clock.advance(16);
      const last = h.batches().at(-1);
      if (last !== undefined) {
        await h.worker.receive({ kind: "ack", seq: last.seq });
      }
    }
    assert.ok(
      h.log.includes("fetch /api/public/Trades"),
      `trades paging began: ${h.log.join(", ")}`,
    );
    await h.worker.receive(request(3, "select", { pair: "ETHUSD", ...params }));
    const switchedAt = h.fetch.calls.length;
    openGate();
    await h.settle();
    const later = h.fetch.calls.slice(switchedAt).map((c) => new URL(c.url))
      .filter((u) => u.pathname.startsWith("/api/public/"));
    const first = later.filter((u) => u.searchParams.get("pair") === "XBTUSD");
    // The page held at the gate was already on its way; nothing after it.
    assert.deepEqual(
      first.map((u) => u.search),
      [],
      "the first pair's fill went on",
    );
    assert.ok(
      later.some((u) => u.searchParams.get("pair") === "ETHUSD"),
      "the second pair's fill ran",
    );
  } finally {
    h.worker.close();
  }
});

Deno.test("MarketWorker: selecting a pair already in focus fills the tape from its trades, once", async () => {
  const h = await harness();
  try {
    await h.worker.receive(request(1, "init", {}));
    const socket = h.sockets.last();
    socket.open();
    // A pin puts ETH/USD in focus: its trade snapshot arrives before the
    // page selects it.
    await h.worker.receive(
      request(2, "watch", { pinned: ["ETHUSD"], allQuotes: false }),
    );
    const trade = (id: number, price: number) => ({
      symbol: "ETH/USD",
      side: "sell",
      price,
      qty: 0.5,
      ord_type: "limit",
      trade_id: id,
      timestamp: `2025-01-01T12:00:${String(id).padStart(2, "0")}Z`,
    });
    socket.receive({
      channel: "trade",
      type: "snapshot",
      data: [trade(1, 10), trade(2, 11), trade(3, 12)],
    });
    await h.settle();
    assert.deepEqual(
      h.batches().flatMap((b) => b.trades),
      [],
      "nothing shown before the pair is selected",
    );
    await h.worker.receive(
      request(3, "select", { pair: "ETHUSD", timeframe: "5m", depth: 10 }),
    );
    // The trade subscription already exists: no new snapshot will come.
    socket.receive({
      channel: "trade",
      type: "update",
      data: [trade(3, 12), trade(4, 13)],
    });
    await h.settle();
    const ids = h.batches().flatMap((b) => b.trades).map((t) => t.tradeId);
    assert.deepEqual(ids, [1, 2, 3, 4], "each trade once, oldest first");
  } finally {
    h.worker.close();
  }
});
