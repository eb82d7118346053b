/**
 * The server's WS v2 book feed with a scripted socket and a fake clock:
 * subscribe on watch, best-first books as exact text, checksum resyncs,
 * staleness, reconnects, malformed frames and throwing listeners.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../../core/config/config.ts";
import {
  type PairMetadata,
  pairMetadataFromRest,
} from "../../../core/market/pairs.ts";
import { RestClient } from "../../../core/rest/client.ts";
import type { PaperBook } from "../../../core/trade/paper.ts";
import { bookChecksum } from "../../../core/ws/book.ts";
import { normalizeDecimal } from "../../../core/ws/protocol.ts";
import {
  BOOK_FEED_DEPTH,
  BookFeed,
} from "../../../server/trading/book_feed.ts";
import { loadMarketMetadata } from "../../../core/market/metadata.ts";
import {
  type BookSource,
  OrderService,
} from "../../../server/trading/orders.ts";
import { startSimulatorWithWs } from "@krakked/sim";
import { FakeClock } from "../../fakes/clock.ts";
import {
  type FakeWebSocket,
  FakeWebSocketFactory,
} from "../../fakes/websocket.ts";

const URL = "wss://ws.example.test/v2";

const BTC: PairMetadata = pairMetadataFromRest("XXBTZUSD", {
  altname: "XBTUSD",
  wsname: "XBT/USD",
  aclass_base: "currency",
  base: "XXBT",
  aclass_quote: "currency",
  quote: "ZUSD",
  pair_decimals: 1,
  lot_decimals: 8,
  leverage_buy: [],
  leverage_sell: [],
  fees: [[0, 0.26]],
});

const ETH: PairMetadata = pairMetadataFromRest("XETHZUSD", {
  altname: "ETHUSD",
  wsname: "ETH/USD",
  aclass_base: "currency",
  base: "XETH",
  aclass_quote: "currency",
  quote: "ZUSD",
  pair_decimals: 2,
  lot_decimals: 8,
  leverage_buy: [],
  leverage_sell: [],
  fees: [[0, 0.26]],
});

type Level = [price: string, qty: string];
type Json = Record<string, unknown>;

interface Sides {
  asks: Level[];
  bids: Level[];
}

/** A v2 book frame with the numbers as bare JSON numbers, as Kraken sends them. */
function bookFrame(
  type: "snapshot" | "update",
  symbol: string,
  sides: Sides,
  checksum: number,
): string {
  const levels = (side: Level[]) =>
    `[${side.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(",")}]`;
  return `{"channel":"book","type":"${type}","data":[{"symbol":"${symbol}","bids":${
    levels(sides.bids)
  },"asks":${
    levels(sides.asks)
  },"checksum":${checksum},"timestamp":"2025-03-04T10:21:00.881043Z"}]}`;
}

/** The checksum of the book a client holds after the frames (best first). */
function checksumOf(book: Sides): number {
  return bookChecksum(book.asks, book.bids);
}

const BTC_BOOK: Sides = {
  asks: [["45285.2", "0.00100000"], ["45286.4", "1.54571953"], [
    "45290.0",
    "2.00000000",
  ]],
  bids: [["45283.5", "0.10000000"], ["45281.0", "0.10000000"], [
    "45280.3",
    "1.54592586",
  ]],
};

const ETH_BOOK: Sides = {
  asks: [["2250.50", "1.00000000"]],
  bids: [["2249.87", "3.15000000"]],
};

function asView(sides: Sides) {
  const view = (levels: Level[]) =>
    levels.map(([price, qty]) => ({ price, qty }));
  return { bids: view(sides.bids), asks: view(sides.asks) };
}

function setup(staleToleranceSec = 60) {
  const clock = new FakeClock(0);
  const sockets = new FakeWebSocketFactory();
  const feed = new BookFeed(URL, {
    staleToleranceSec,
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0.5,
  });
  const updates: string[] = [];
  feed.onUpdate((pairId) => updates.push(pairId));
  return {
    clock,
    sockets,
    feed,
    updates,
    [Symbol.dispose]() {
      feed.close();
      assert.equal(clock.pendingTimers, 0, "close() left timers behind");
    },
  };
}

const answered = new WeakMap<FakeWebSocket, Set<number>>();

/** Acknowledge every subscribe on `socket` not acknowledged yet. */
function ackAll(socket: FakeWebSocket): void {
  const seen = answered.get(socket) ?? new Set<number>();
  answered.set(socket, seen);
  for (const request of socket.sentMethod("subscribe")) {
    const reqId = request.req_id as number;
    if (seen.has(reqId)) continue;
    seen.add(reqId);
    const params = request.params as Json;
    for (const symbol of params.symbol as string[]) {
      socket.receive({
        method: "subscribe",
        success: true,
        result: { channel: params.channel, symbol },
        req_id: reqId,
      });
    }
  }
}

/** `symbol depth` of every book subscribe sent on `socket`. */
function bookSubscribes(socket: FakeWebSocket, method = "subscribe"): string[] {
  return socket.sentMethod(method).flatMap((request) => {
    const params = request.params as Json;
    assert.equal(params.channel, "book");
    return (params.symbol as string[]).map((s) => `${s} ${params.depth}`);
  }).sort();
}

/** Open a socket, acknowledge, and play a verified BTC snapshot. */
function syncBtc(t: ReturnType<typeof setup>): FakeWebSocket {
  t.feed.watch(BTC);
  const socket = t.sockets.last();
  if (socket.readyState === 0) socket.open();
  ackAll(socket);
  socket.receive(
    bookFrame("snapshot", "BTC/USD", BTC_BOOK, checksumOf(BTC_BOOK)),
  );
  return socket;
}

Deno.test("BookFeed is a BookSource for the order service", () => {
  using t = setup();
  const source: BookSource = t.feed;
  assert.equal(typeof source.watch, "function");
  assert.equal(source.book(BTC.id), undefined);
});

Deno.test("BookFeed.watch() subscribes each pair's book once on one connection, opening it on first use", () => {
  using t = setup();
  assert.equal(t.sockets.instances.length, 0, "no socket before a watch");
  assert.equal(t.feed.status().state, "idle");
  t.feed.watch(BTC);
  assert.equal(t.sockets.instances.length, 1);
  const socket = t.sockets.last();
  assert.equal(socket.url, URL);
  socket.open();
  assert.deepEqual(bookSubscribes(socket), [`BTC/USD ${BOOK_FEED_DEPTH}`]);
  t.feed.watch(BTC);
  t.feed.watch(ETH);
  t.feed.watch(ETH);
  assert.equal(t.sockets.instances.length, 1, "one connection for every pair");
  assert.deepEqual(bookSubscribes(socket), [
    "BTC/USD 25",
    "ETH/USD 25",
  ]);
  assert.deepEqual(
    t.feed.status().pairs.map((p) => [p.pairId, p.symbol, p.integrity]),
    [["XBTUSD", "BTC/USD", "empty"], ["ETHUSD", "ETH/USD", "empty"]],
  );
});

Deno.test("BookFeed.book() is the snapshot plus updates, best first, as exact wire text", async (t) => {
  using f = setup();
  await t.step(
    "nothing before the snapshot, nothing for unwatched pairs",
    () => {
      f.feed.watch(BTC);
      f.sockets.last().open();
      ackAll(f.sockets.last());
      assert.equal(f.feed.book(BTC.id), undefined);
      assert.equal(f.feed.book(ETH.id), undefined);
      assert.equal(f.feed.book("BTC/USD"), undefined, "keyed by pair id");
    },
  );
  const socket = f.sockets.last();
  await t.step("the snapshot", () => {
    socket.receive(
      bookFrame("snapshot", "BTC/USD", BTC_BOOK, checksumOf(BTC_BOOK)),
    );
    assert.deepEqual(f.feed.book(BTC.id), asView(BTC_BOOK));
    assert.deepEqual(f.updates, ["XBTUSD"]);
  });
  await t.step("an update inserts, changes and deletes levels", () => {
    const after: Sides = {
      asks: [["45286.4", "1.54571953"], ["45290.0", "0.50000000"]],
      bids: [["45284.0", "0.25000000"], ["45283.5", "0.10000000"], [
        "45281.0",
        "0.10000000",
      ], ["45280.3", "1.54592586"]],
    };
    socket.receive(bookFrame("update", "BTC/USD", {
      asks: [["45285.2", "0.00000000"], ["45290.0", "0.50000000"]],
      bids: [["45284.0", "0.25000000"]],
    }, checksumOf(after)));
    assert.deepEqual(f.feed.book(BTC.id), asView(after));
    assert.deepEqual(f.updates, ["XBTUSD", "XBTUSD"]);
  });
  await t.step("a second pair on the same socket", () => {
    f.feed.watch(ETH);
    ackAll(socket);
    socket.receive(
      bookFrame("snapshot", "ETH/USD", ETH_BOOK, checksumOf(ETH_BOOK)),
    );
    assert.deepEqual(f.feed.book(ETH.id), asView(ETH_BOOK));
    assert.equal(f.updates.at(-1), "ETHUSD");
  });
  await t.step("the caller may keep and change what it got", () => {
    const held = f.feed.book(ETH.id)!;
    (held.asks as unknown[]).length = 0;
    assert.deepEqual(f.feed.book(ETH.id), asView(ETH_BOOK));
  });
});

Deno.test("BookFeed.book() is undefined from a checksum mismatch until the resubscribed snapshot", () => {
  using t = setup();
  const socket = syncBtc(t);
  const sentBefore = socket.sent.length;
  socket.receive(
    bookFrame("update", "BTC/USD", { asks: [], bids: [["45283.6", "1.0"]] }, 1),
  );
  assert.equal(t.feed.book(BTC.id), undefined);
  assert.equal(t.feed.status().pairs[0]!.integrity, "resyncing");
  assert.equal(t.feed.status().pairs[0]!.checksumFailures, 1);
  assert.deepEqual(t.updates, ["XBTUSD"], "no update for a refused frame");
  // core's connection asks for a fresh snapshot: unsubscribe + subscribe.
  const resent = socket.sent.slice(sentBefore).map((text) => JSON.parse(text));
  assert.deepEqual(resent.map((r) => r.method), ["unsubscribe", "subscribe"]);
  assert.deepEqual(resent[1].params.symbol, ["BTC/USD"]);
  assert.equal(resent[1].params.depth, BOOK_FEED_DEPTH);
  // Updates before the new snapshot are ignored, the book stays unavailable.
  socket.receive(
    bookFrame(
      "update",
      "BTC/USD",
      { asks: [], bids: [] },
      checksumOf(BTC_BOOK),
    ),
  );
  assert.equal(t.feed.book(BTC.id), undefined);
  ackAll(socket);
  const fresh: Sides = {
    asks: [["45300.0", "1.00000000"]],
    bids: [["45299.9", "2.00000000"]],
  };
  socket.receive(bookFrame("snapshot", "BTC/USD", fresh, checksumOf(fresh)));
  assert.deepEqual(t.feed.book(BTC.id), asView(fresh));
  assert.equal(t.feed.status().pairs[0]!.integrity, "ok");
});

Deno.test("BookFeed.book() is undefined once the pair's last book frame is older than the tolerance", () => {
  using t = setup(5);
  const socket = syncBtc(t);
  // Heartbeats keep the socket alive (no watchdog reconnect) but say
  // nothing about this book.
  for (let s = 0; s < 5; s++) {
    t.clock.advance(1_000);
    socket.receive({ channel: "heartbeat" });
  }
  assert.deepEqual(t.feed.book(BTC.id), asView(BTC_BOOK), "exactly 5 s old");
  assert.equal(t.feed.status().pairs[0]!.ageMs, 5_000);
  t.clock.advance(1);
  assert.equal(t.feed.book(BTC.id), undefined, "5.001 s old");
  assert.equal(t.feed.status().pairs[0]!.available, false);
  assert.equal(t.feed.status().pairs[0]!.integrity, "ok");
  const after: Sides = {
    asks: BTC_BOOK.asks,
    bids: [["45283.5", "0.20000000"], ...BTC_BOOK.bids.slice(1)],
  };
  socket.receive(
    bookFrame("update", "BTC/USD", {
      asks: [],
      bids: [["45283.5", "0.20000000"]],
    }, checksumOf(after)),
  );
  assert.deepEqual(t.feed.book(BTC.id), asView(after), "fresh again");
});

Deno.test("BookFeed resubscribes every watched book after a reconnect and serves nothing until the new snapshots", () => {
  using t = setup();
  const first = syncBtc(t);
  t.feed.watch(ETH);
  ackAll(first);
  first.receive(
    bookFrame("snapshot", "ETH/USD", ETH_BOOK, checksumOf(ETH_BOOK)),
  );
  assert.ok(t.feed.book(BTC.id) && t.feed.book(ETH.id));
  first.drop(1006, "network gone");
  assert.equal(t.feed.book(BTC.id), undefined, "no book while disconnected");
  assert.equal(t.feed.book(ETH.id), undefined);
  assert.equal(t.sockets.instances.length, 1);
  t.clock.advance(t.clock.nextTimerAtMs()! - t.clock.now());
  assert.equal(t.sockets.instances.length, 2, "a new socket after backoff");
  const second = t.sockets.last();
  second.open();
  assert.deepEqual(bookSubscribes(second), ["BTC/USD 25", "ETH/USD 25"]);
  ackAll(second);
  assert.equal(t.feed.book(BTC.id), undefined, "old book not reused");
  assert.deepEqual(
    t.feed.status().pairs.map((p) => p.integrity),
    ["resyncing", "resyncing"],
  );
  second.receive(
    bookFrame("snapshot", "BTC/USD", BTC_BOOK, checksumOf(BTC_BOOK)),
  );
  assert.deepEqual(t.feed.book(BTC.id), asView(BTC_BOOK));
  assert.equal(t.feed.book(ETH.id), undefined, "ETH still waits");
  assert.equal(t.feed.status().reconnects, 1);
});

Deno.test("BookFeed survives malformed frames and throwing listeners", () => {
  using t = setup();
  const socket = syncBtc(t);
  t.feed.onUpdate(() => {
    throw new Error("listener bug");
  });
  const seen: string[] = [];
  t.feed.onUpdate((pairId) => seen.push(pairId));
  for (
    const frame of [
      "not json",
      "{",
      "[]",
      '{"channel":"book","type":"update","data":"nope"}',
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"x","qty":1}],"asks":[],"checksum":1}]}',
      '{"channel":"book","type":"snapshot","data":[{"symbol":"NOPE/USD","bids":[],"asks":[],"checksum":0}]}',
      '{"channel":"ticker","type":"update","data":[{"symbol":42}]}',
      '{"method":"subscribe","success":false}',
    ]
  ) socket.receive(frame);
  socket.receiveRaw(new Uint8Array([1, 2, 3]));
  assert.ok(t.feed.status().malformedFrames >= 4);
  assert.deepEqual(t.feed.book(BTC.id), asView(BTC_BOOK), "BTC untouched");
  const after: Sides = {
    asks: BTC_BOOK.asks,
    bids: [["45284.0", "1.00000000"], ...BTC_BOOK.bids],
  };
  socket.receive(
    bookFrame("update", "BTC/USD", {
      asks: [],
      bids: [["45284.0", "1.00000000"]],
    }, checksumOf(after)),
  );
  assert.deepEqual(t.feed.book(BTC.id), asView(after));
  assert.deepEqual(seen, ["XBTUSD"], "the other listener still runs");
  assert.equal(t.feed.status().listenerErrors, 1);
});

Deno.test("BookFeed.onUpdate() returns a function that removes the listener", () => {
  using t = setup();
  const seen: string[] = [];
  const off = t.feed.onUpdate((pairId) => seen.push(pairId));
  const socket = syncBtc(t);
  off();
  socket.receive(
    bookFrame("snapshot", "BTC/USD", BTC_BOOK, checksumOf(BTC_BOOK)),
  );
  assert.deepEqual(seen, ["XBTUSD"]);
  assert.deepEqual(t.updates, ["XBTUSD", "XBTUSD"]);
});

Deno.test("BookFeed.close() closes the socket, cancels its timers and serves nothing more", () => {
  const t = setup();
  const socket = syncBtc(t);
  assert.ok(t.feed.book(BTC.id));
  t.feed.close();
  assert.equal(socket.readyState, 3);
  assert.ok(socket.closedByClient);
  assert.equal(t.clock.pendingTimers, 0);
  assert.equal(t.feed.book(BTC.id), undefined);
  assert.equal(t.feed.status().state, "closed");
  t.feed.watch(ETH);
  assert.equal(t.sockets.instances.length, 1, "watch after close is a no-op");
  t.feed.close();
  t[Symbol.dispose]();
});

Deno.test("BookFeed refuses a tolerance that is not a positive number", () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new BookFeed(URL, { staleToleranceSec: bad }),
      RangeError,
    );
  }
});

// ---- against the in-process simulator over loopback ----

/** The simulator's start time (a weekday noon, inside its history). */
const SIM_START_MS = Date.UTC(2025, 0, 10, 12, 0, 0);
/** Bound of every wait on a real event: only a hang reaches it. */
const WAIT_MS = 10_000;

/**
 * The simulator on a clock the test moves (feed timer off, so data comes
 * only from `step`), a REST client on it, and a feed on real sockets and
 * real timers whose sockets are awaited on dispose.
 */
async function simSetup() {
  const market = { nowMs: SIM_START_MS };
  const sim = await startSimulatorWithWs({
    port: 0,
    seed: 3,
    now: () => market.nowMs,
    ws: { tickMs: 0 },
  });
  const rest = new RestClient({ baseUrl: sim.url });
  const closed: Promise<void>[] = [];
  class ClosingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      closed.push(
        new Promise((resolve) =>
          this.addEventListener("close", () => resolve())
        ),
      );
    }
  }
  const feed = new BookFeed(sim.wsPublicUrl, {
    staleToleranceSec: 30,
    WebSocket: ClosingWebSocket,
  });
  const cancels = new Set<() => void>();
  return {
    sim,
    rest,
    feed,
    /** Move the simulator's clock and publish one feed step. */
    step(ms: number) {
      market.nowMs += ms;
      sim.ws.tick();
    },
    /** Resolve once `condition()` holds, checked now and after every book update. */
    until(condition: () => boolean, what: string): Promise<void> {
      if (condition()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const cancel = () => {
          clearTimeout(timer);
          off();
          cancels.delete(cancel);
        };
        const timer = setTimeout(() => {
          cancel();
          reject(new Error(`Timed out waiting for ${what}`));
        }, WAIT_MS);
        const off = feed.onUpdate(() => {
          if (!condition()) return;
          cancel();
          resolve();
        });
        cancels.add(cancel);
      });
    },
    async [Symbol.asyncDispose]() {
      for (const cancel of [...cancels]) cancel();
      feed.close();
      rest.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          Promise.all(closed),
          new Promise((resolve) => (timer = setTimeout(resolve, WAIT_MS))),
        ]);
      } finally {
        clearTimeout(timer);
        await sim.close();
      }
    },
  };
}

/**
 * `price@qty` of the top `levels` per side as canonical decimals: REST
 * prints some prices with more decimals than the pair's (`64209.10000`
 * where WS v2 sends `64209.1`), so values are compared, not texts.
 */
function topValues(
  book: PaperBook,
  levels: number,
  qty: (text: string) => string = (q) => q,
): { bids: string[]; asks: string[] } {
  const text = (side: readonly { price: string; qty: string }[]) =>
    side.slice(0, levels).map((l) =>
      `${normalizeDecimal(l.price)}@${normalizeDecimal(qty(l.qty))}`
    );
  return { bids: text(book.bids), asks: text(book.asks) };
}

/**
 * A streamed quantity as REST `Depth` prints it: 3 decimals, rounded half
 * up (Kraken's lot-volume precision; docs/kraken/FIDELITY.md).
 */
function depthQty(qty: string): string {
  const [whole, frac = ""] = qty.split(".");
  const units = BigInt(`${whole}${frac.padEnd(3, "0")}`);
  const extra = Math.max(0, frac.length - 3);
  const step = 10n ** BigInt(extra);
  const q = units / step + (units % step * 2n >= step && extra > 0 ? 1n : 0n);
  const digits = q.toString().padStart(4, "0");
  return `${digits.slice(0, -3)}.${digits.slice(-3)}`;
}

/** REST `Depth` as a book, through the same mapping the order service uses. */
async function restBook(
  rest: RestClient,
  pair: PairMetadata,
): Promise<PaperBook> {
  const depth = await rest.depth(pair.restKey, 50);
  return {
    bids: depth.bids.map(([price, qty]) => ({ price, qty })),
    asks: depth.asks.map(([price, qty]) => ({ price, qty })),
  };
}

Deno.test("BookFeed against the simulator: the streamed book equals REST Depth, level for level", async (t) => {
  await using s = await simSetup();
  const { resolver } = await loadMarketMetadata(s.rest);
  // Pairs of 1, 2 and 7 price decimals.
  const pairs = ["XBTUSD", "ETHUSD", "XDGUSD"].map((id) => resolver.get(id));
  const synced = () => pairs.every((p) => s.feed.book(p.id) !== undefined);
  const ready = s.until(synced, "every book's snapshot");
  for (const pair of pairs) s.feed.watch(pair);
  await ready;
  const compare = async (when: string) => {
    for (const pair of pairs) {
      // The feed catches up with the simulator's last step; REST answers
      // at the simulator's clock, which is that step's time.
      const expected = topValues(await restBook(s.rest, pair), BOOK_FEED_DEPTH);
      const equal = () => {
        const held = s.feed.book(pair.id);
        return held !== undefined &&
          JSON.stringify(topValues(held, BOOK_FEED_DEPTH, depthQty)) ===
            JSON.stringify(expected);
      };
      await s.until(equal, `${pair.id} to equal REST Depth ${when}`).catch(
        () => {},
      );
      const held = s.feed.book(pair.id);
      assert.ok(held, `${pair.id} has a book ${when}`);
      assert.equal(held.bids.length, BOOK_FEED_DEPTH, `${pair.id} bid depth`);
      assert.equal(held.asks.length, BOOK_FEED_DEPTH, `${pair.id} ask depth`);
      assert.deepEqual(
        topValues(held, BOOK_FEED_DEPTH, depthQty),
        expected,
        `${pair.id} ${when}`,
      );
      // The feed's own text is the pair's precision, as WS v2 sends it.
      for (const level of [...held.bids, ...held.asks]) {
        assert.equal(
          level.price.split(".")[1]?.length ?? 0,
          pair.priceDecimals,
          `${pair.id} price text ${level.price}`,
        );
        assert.equal(
          level.qty.split(".")[1]?.length ?? 0,
          pair.volumeDecimals,
          `${pair.id} qty text ${level.qty}`,
        );
      }
    }
  };
  await t.step("after the snapshots", () => compare("after the snapshot"));
  await t.step("after 40 feed steps of updates", async () => {
    const before = s.feed.status().pairs.map((p) => p.ageMs);
    for (let i = 0; i < 40; i++) s.step(250);
    await compare("after 40 steps");
    assert.notDeepEqual(s.feed.status().pairs.map((p) => p.ageMs), before);
  });
  await t.step("a corrupted checksum resyncs to the same book", async () => {
    const btc = pairs[0]!;
    s.sim.ws.faults.corruptChecksum("BTC/USD");
    const failures = () =>
      s.feed.status().pairs.find((p) => p.pairId === btc.id)!
        .checksumFailures;
    // Not every step changes this book: step until the corrupted one went out.
    for (
      let i = 0;
      i < 400 && s.sim.ws.faults.stats.corruptChecksums === 0;
      i++
    ) {
      s.step(250);
    }
    assert.equal(s.sim.ws.faults.stats.corruptChecksums, 1);
    await s.until(
      () => failures() === 1 && s.feed.book(btc.id) !== undefined,
      "a resync after the corrupted checksum",
    );
    await compare("after the resync");
  });
  assert.equal(s.feed.status().state, "open");
  assert.equal(s.feed.status().reconnects, 0);
});

Deno.test("OrderService places paper orders from the feed without calling REST Depth", async () => {
  await using s = await simSetup();
  const { config } = parseConfig(
    "trading:\n  mode: paper\n  max_position_notional_usd: 1000000\n",
  );
  const orders = new OrderService({
    config,
    liveSwitch: false,
    rest: s.rest,
    books: s.feed,
  });
  try {
    const { resolver } = await loadMarketMetadata(s.rest);
    const btc = resolver.get("XBTUSD");
    s.feed.watch(btc);
    await s.until(() => s.feed.book(btc.id) !== undefined, "the BTC book");
    const ask = Number(s.feed.book(btc.id)!.asks[0]!.price);
    const ticket = {
      pair: "XBTUSD",
      side: "buy" as const,
      type: "market" as const,
      volume: "0.001",
      stopLoss: (ask * 0.95).toFixed(1),
    };
    // The first placement loads the market metadata over REST.
    const first = await orders.place(ticket);
    assert.equal(first.decision, "accepted", JSON.stringify(first));
    // From here every REST call would hang: a placement that completes
    // read its book from the feed.
    s.sim.control.set({ stall: true });
    const stalled = s.sim.control.whenStalled(1).then(() => "stalled");
    const outcome = await Promise.race([
      (async () => {
        for (let i = 0; i < 5; i++) {
          const decision = await orders.place(ticket);
          assert.equal(decision.decision, "accepted", JSON.stringify(decision));
          assert.ok(
            decision.decision === "accepted" && decision.route === "paper",
          );
        }
        return "placed";
      })(),
      stalled,
    ]);
    assert.equal(outcome, "placed", "no REST call while the feed has the book");
    assert.equal(s.sim.control.stalledCount, 0);
  } finally {
    s.sim.control.clear();
    await orders.close();
  }
});
