import assert from "node:assert/strict";
import {
  WsConnection,
  type WsConnectionEventName,
  type WsConnectionEvents,
  type WsConnectionOptions,
} from "../../../core/ws/connection.ts";
import { FakeClock } from "../../fakes/clock.ts";
import {
  type FakeWebSocket,
  FakeWebSocketFactory,
} from "../../fakes/websocket.ts";

const URL = "wss://ws.example.test/v2";

const EVENT_NAMES: WsConnectionEventName[] = [
  "connecting",
  "open",
  "closed",
  "reconnecting",
  "stalled",
  "resubscribed",
  "subscribed",
  "subscription_error",
  "silent_subscription",
  "status",
  "malformed",
  "book",
  "book_resync",
  "frame",
  "pong",
];

type Recorded = { [K in WsConnectionEventName]: [K, WsConnectionEvents[K]] }[
  WsConnectionEventName
];

/** A connection wired to a fake clock and fake sockets, recording events. */
function setup(options: WsConnectionOptions = {}) {
  const clock = new FakeClock(0);
  const sockets = new FakeWebSocketFactory();
  const events: Recorded[] = [];
  let randomValue = 0.5;
  const ws = new WsConnection(URL, {
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => randomValue,
    ...options,
  });
  for (const name of EVENT_NAMES) {
    ws.on(name, (payload) => events.push([name, payload] as Recorded));
  }
  return {
    clock,
    sockets,
    ws,
    events,
    setRandom(value: number) {
      randomValue = value;
    },
    of<K extends WsConnectionEventName>(name: K): WsConnectionEvents[K][] {
      return events.filter((e) => e[0] === name).map((e) =>
        e[1] as WsConnectionEvents[K]
      );
    },
    [Symbol.dispose]() {
      ws.close();
      assert.equal(clock.pendingTimers, 0, "close() left timers behind");
    },
  };
}

type Json = Record<string, unknown>;

/** Answer every subscribe request on `socket` not answered yet: one ack per symbol. */
function ackAll(
  socket: FakeWebSocket,
  options: { fail?: Record<string, string>; answered?: Set<number> } = {},
): void {
  const answered = options.answered ?? answeredBy.get(socket) ?? new Set();
  answeredBy.set(socket, answered);
  for (const request of socket.sentMethod("subscribe")) {
    const reqId = request.req_id as number;
    if (answered.has(reqId)) continue;
    answered.add(reqId);
    const params = request.params as Json;
    const symbols = (params.symbol as string[] | undefined) ?? [undefined];
    for (const symbol of symbols) {
      const error = symbol === undefined ? undefined : options.fail?.[symbol];
      if (error !== undefined) {
        socket.receive({
          method: "subscribe",
          success: false,
          error,
          symbol,
          req_id: reqId,
        });
      } else {
        socket.receive({
          method: "subscribe",
          success: true,
          result: { channel: params.channel, symbol },
          req_id: reqId,
        });
      }
    }
  }
}
const answeredBy = new WeakMap<FakeWebSocket, Set<number>>();

/** Subscribed (channel, symbol, params) triples on a socket, sorted. */
function subscribedOn(socket: FakeWebSocket, method = "subscribe"): string[] {
  const out: string[] = [];
  for (const request of socket.sentMethod(method)) {
    const { symbol, token: _token, ...rest } = request.params as Json;
    for (const s of (symbol as string[] | undefined) ?? ["*"]) {
      out.push(`${s} ${JSON.stringify(rest)}`);
    }
  }
  return out.sort();
}

// ---- book frames with real checksums (WS_V2.md §5.2) ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(text: string): number {
  let c = ~0;
  for (const ch of new TextEncoder().encode(text)) {
    c = (CRC_TABLE[(c ^ ch) & 0xff] as number) ^ (c >>> 8);
  }
  return ~c >>> 0;
}

type Level = [price: string, qty: string];

function checksum(asks: Level[], bids: Level[]): number {
  const strip = (s: string) => s.replace(".", "").replace(/^0+/, "");
  return crc32(
    [...asks.slice(0, 10), ...bids.slice(0, 10)].map(([p, q]) =>
      strip(p) + strip(q)
    ).join(""),
  );
}

function bookFrame(
  type: "snapshot" | "update",
  symbol: string,
  sides: { bids: Level[]; asks: Level[]; checksum: number },
): string {
  const levels = (side: Level[]) =>
    `[${side.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(",")}]`;
  return `{"channel":"book","type":"${type}","data":[{"symbol":"${symbol}","bids":${
    levels(sides.bids)
  },"asks":${
    levels(sides.asks)
  },"checksum":${sides.checksum},"timestamp":"2025-03-04T10:21:00.881043Z"}]}`;
}

const BTC_ASKS: Level[] = [["45285.2", "0.00100000"], [
  "45286.4",
  "1.54571953",
]];
const BTC_BIDS: Level[] = [["45283.5", "0.10000000"], [
  "45281.0",
  "0.10000000",
]];
const ETH_ASKS: Level[] = [["2250.50", "1.00000000"]];
const ETH_BIDS: Level[] = [["2249.87", "3.15000000"]];

function snapshotOf(symbol: string, asks: Level[], bids: Level[]): string {
  return bookFrame("snapshot", symbol, {
    asks,
    bids,
    checksum: checksum(asks, bids),
  });
}

// ---- tests ----

Deno.test("the checksum helper matches Kraken's official vector", () => {
  const asks: Level[] = [
    ["45285.2", "0.00100000"],
    ["45286.4", "1.54571953"],
    ["45286.6", "1.54571109"],
    ["45289.6", "1.54560911"],
    ["45290.2", "0.15890660"],
    ["45291.8", "1.54553491"],
    ["45294.7", "0.04454749"],
    ["45296.1", "0.35380000"],
    ["45297.5", "0.09945542"],
    ["45299.5", "0.18772827"],
  ];
  const bids: Level[] = [
    ["45283.5", "0.10000000"],
    ["45283.4", "1.54582015"],
    ["45282.1", "0.10000000"],
    ["45281.0", "0.10000000"],
    ["45280.3", "1.54592586"],
    ["45279.0", "0.07990000"],
    ["45277.6", "0.03310103"],
    ["45277.5", "0.30000000"],
    ["45277.3", "1.54602737"],
    ["45276.6", "0.15445238"],
  ];
  assert.equal(checksum(asks, bids), 3310070434);
});

Deno.test("WsConnection connects, sends grouped subscribes and tracks acks", () => {
  using t = setup();
  const { ws, sockets } = t;
  ws.subscribe({ channel: "ticker", symbol: ["btc/usd", "ETH/USD"] });
  ws.subscribe({ channel: "book", symbol: "BTC/USD", depth: 25 });
  assert.equal(ws.state, "idle");
  ws.connect();
  ws.connect(); // no-op
  assert.equal(sockets.instances.length, 1);
  assert.equal(ws.state, "connecting");
  const socket = sockets.last();
  assert.equal(socket.url, URL);
  socket.open();
  assert.equal(ws.state, "open");
  assert.deepEqual(subscribedOn(socket), [
    'BTC/USD {"channel":"book","depth":25}',
    'BTC/USD {"channel":"ticker"}',
    'ETH/USD {"channel":"ticker"}',
  ]);
  // One frame per (channel, params) group, integer req_ids.
  assert.equal(socket.sentMethod("subscribe").length, 2);
  assert.deepEqual(
    ws.snapshot().subscriptions.map((s) => s.state),
    ["pending", "pending", "pending"],
  );
  ackAll(socket);
  assert.deepEqual(
    ws.snapshot().subscriptions.map((s) => s.state),
    ["active", "active", "active"],
  );
  assert.deepEqual(t.of("subscribed").map((s) => s.symbol).sort(), [
    "BTC/USD",
    "BTC/USD",
    "ETH/USD",
  ]);
  assert.deepEqual(t.of("connecting"), [{ attempt: 1 }]);
  assert.deepEqual(t.of("open"), [{ reconnect: false }]);
  // Subscribing while open sends at once.
  ws.subscribe({ channel: "trade", symbol: "SOL/USD", snapshot: true });
  assert.deepEqual(socket.sentMethod("subscribe").at(-1)?.params, {
    channel: "trade",
    symbol: ["SOL/USD"],
    snapshot: true,
  });
});

Deno.test("WsConnection resubscribes everything with the same params after a drop", () => {
  using t = setup();
  const { ws, sockets, clock } = t;
  ws.subscribe({
    channel: "ticker",
    symbol: ["BTC/USD", "ETH/USD"],
    eventTrigger: "bbo",
  });
  ws.subscribe({ channel: "book", symbol: ["BTC/USD", "ETH/USD"], depth: 100 });
  ws.subscribe({ channel: "ohlc", symbol: "ETH/USD", interval: 5 });
  ws.subscribe({ channel: "instrument" });
  ws.connect();
  const first = sockets.last();
  first.open();
  ackAll(first);
  const before = subscribedOn(first);

  first.drop(1006, "gone");
  assert.equal(ws.state, "waiting");
  assert.deepEqual(t.of("closed").at(-1), {
    code: 1006,
    reason: "gone",
    willReconnect: true,
  });
  const reconnecting = t.of("reconnecting").at(-1);
  assert.ok(reconnecting !== undefined && reconnecting.reason === "backoff");
  assert.ok(
    ws.snapshot().subscriptions.every((s) => s.state === "idle"),
    "entries wait for the next socket",
  );
  clock.advance(reconnecting.delayMs);
  assert.equal(sockets.instances.length, 2);
  const second = sockets.last();
  second.open();
  assert.deepEqual(subscribedOn(second), before);
  assert.deepEqual(t.of("open").at(-1), { reconnect: true });
  assert.deepEqual(t.of("resubscribed"), [{
    subscriptions: 6,
    symbols: ["BTC/USD", "ETH/USD"],
  }]);
  // No snapshot ever arrived for this book: it stays empty across the reconnect.
  assert.equal(ws.books.integrity("BTC/USD"), "empty");
  ackAll(second);
  assert.equal(ws.snapshot().reconnects, 1);
  // Acks of the old socket can no longer arrive; the old socket is detached.
  first.receive('{"channel":"heartbeat"}');
  assert.equal(ws.snapshot().lastHeartbeatAtMs, undefined);
});

Deno.test("WsConnection backoff grows, caps and stays within the jitter bounds", async (t) => {
  for (const random of [0, 0.999]) {
    await t.step(`random ${random}`, () => {
      using c = setup({
        initialDelayMs: 100,
        maxDelayMs: 1_000,
        jitterRatio: 0.5,
        budgetMaxAttempts: 1_000,
      });
      c.setRandom(random);
      c.ws.connect();
      for (let i = 0; i < 8; i++) {
        c.sockets.last().drop(); // fails before opening
        const next = c.of("reconnecting").at(-1);
        assert.ok(next !== undefined);
        c.clock.advance(next.delayMs);
      }
      const delays = c.of("reconnecting").map((r) => r.delayMs);
      const attempts = c.of("reconnecting").map((r) => r.attempt);
      assert.deepEqual(attempts, [2, 3, 4, 5, 6, 7, 8, 9]);
      const nominal = [200, 400, 800, 1000, 1000, 1000, 1000, 1000];
      delays.forEach((delay, i) => {
        const d = nominal[i] as number;
        assert.ok(
          delay >= d / 2 && delay <= d,
          `delay ${delay} outside [${d / 2}, ${d}]`,
        );
      });
      assert.equal(c.sockets.instances.length, 9);
    });
  }
});

Deno.test("WsConnection resets the backoff after a stable connection", () => {
  using t = setup({ initialDelayMs: 100, stableAfterMs: 1_000 });
  const { ws, sockets, clock } = t;
  t.setRandom(1);
  ws.connect();
  sockets.last().drop();
  clock.advance(200);
  sockets.last().open();
  sockets.last().drop();
  assert.equal(t.of("reconnecting").at(-1)?.delayMs, 400);
  clock.advance(400);
  sockets.last().open();
  clock.advance(1_000);
  sockets.last().drop();
  assert.deepEqual(t.of("reconnecting").at(-1), {
    attempt: 1,
    delayMs: 100,
    reason: "backoff",
  });
});

Deno.test("WsConnection delays attempts that would exceed the connection budget", () => {
  using t = setup({
    initialDelayMs: 10,
    maxDelayMs: 10,
    budgetMaxAttempts: 3,
    budgetWindowMs: 60_000,
  });
  const { ws, sockets, clock } = t;
  t.setRandom(1);
  ws.connect(); // attempt at t=0
  sockets.last().drop();
  clock.advance(10); // attempt at t=10
  sockets.last().drop();
  clock.advance(10); // attempt at t=20
  sockets.last().drop();
  clock.advance(10); // t=30: the budget is used up
  assert.equal(sockets.instances.length, 3);
  assert.deepEqual(t.of("reconnecting").at(-1), {
    attempt: 4,
    delayMs: 59_970,
    reason: "budget",
  });
  clock.advance(59_969);
  assert.equal(sockets.instances.length, 3, "no attempt inside the window");
  clock.advance(1);
  assert.equal(sockets.instances.length, 4);
  assert.equal(clock.now(), 60_000);
});

Deno.test("WsConnection waits at least 5 s while the exchange is in maintenance", () => {
  using t = setup({ initialDelayMs: 10 });
  const { ws, sockets } = t;
  ws.connect();
  const socket = sockets.last();
  socket.open();
  socket.receive(
    '{"channel":"status","type":"update","data":[{"system":"maintenance","api_version":"v2","connection_id":1,"version":"2.0.9"}]}',
  );
  assert.equal(t.of("status")[0]?.system, "maintenance");
  assert.equal(ws.snapshot().system?.system, "maintenance");
  socket.drop();
  assert.equal(t.of("reconnecting").at(-1)?.delayMs, 5_000);
});

Deno.test("WsConnection replaces a silent socket that has subscriptions", async (t) => {
  await t.step("no frame for the silence timeout", () => {
    using c = setup({ silenceTimeoutMs: 5_000, watchdogIntervalMs: 1_000 });
    c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
    c.ws.connect();
    const first = c.sockets.last();
    first.open();
    ackAll(first);
    c.clock.advance(4_000);
    assert.equal(c.of("stalled").length, 0);
    c.clock.advance(1_000);
    assert.deepEqual(c.of("stalled"), [{ silentMs: 5_000 }]);
    assert.equal(first.closedByClient?.code, 4000);
    assert.equal(c.ws.state, "waiting");
    c.clock.advance(c.of("reconnecting").at(-1)?.delayMs ?? 0);
    const second = c.sockets.last();
    assert.notEqual(second, first);
    second.open();
    assert.deepEqual(subscribedOn(second), ['BTC/USD {"channel":"ticker"}']);
  });
  await t.step("heartbeats keep it alive", () => {
    using c = setup({ silenceTimeoutMs: 5_000 });
    c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
    c.ws.connect();
    const socket = c.sockets.last();
    socket.open();
    ackAll(socket);
    socket.receive({
      channel: "ticker",
      type: "snapshot",
      data: [{ symbol: "BTC/USD" }],
    });
    for (let i = 0; i < 30; i++) {
      c.clock.advance(1_000);
      socket.receive('{"channel":"heartbeat"}');
    }
    assert.equal(c.of("stalled").length, 0);
    assert.equal(c.sockets.instances.length, 1);
    assert.equal(c.ws.snapshot().lastHeartbeatAtMs, 30_000);
  });
  await t.step("an idle socket without subscriptions is left alone", () => {
    using c = setup({ silenceTimeoutMs: 5_000 });
    c.ws.connect();
    c.sockets.last().open();
    c.clock.advance(60_000);
    assert.equal(c.of("stalled").length, 0);
    // but it is pinged to stay alive
    assert.ok(c.sockets.last().sentMethod("ping").length >= 2);
  });
});

Deno.test("WsConnection detects an acked subscription that delivers nothing", () => {
  using t = setup({ firstDataTimeoutMs: 10_000, silenceTimeoutMs: 60_000 });
  const { ws, sockets, clock } = t;
  ws.subscribe({ channel: "ticker", symbol: ["BTC/USD", "ETH/USD"] });
  ws.subscribe({ channel: "trade", symbol: "BTC/USD" }); // no snapshot expected
  ws.connect();
  const first = sockets.last();
  first.open();
  ackAll(first);
  const tick = (socket: FakeWebSocket) =>
    socket.receive({
      channel: "ticker",
      type: "update",
      data: [{ symbol: "BTC/USD", last: 1 }],
    });
  for (let i = 0; i < 10; i++) {
    clock.advance(1_000);
    tick(first);
  }
  assert.deepEqual(t.of("silent_subscription"), [{
    channel: "ticker",
    symbol: "ETH/USD",
    silentMs: 10_000,
    action: "resubscribe",
  }]);
  // Only ETH/USD is re-requested.
  assert.deepEqual(subscribedOn(first, "unsubscribe"), [
    'ETH/USD {"channel":"ticker"}',
  ]);
  assert.equal(
    subscribedOn(first).filter((s) => s.startsWith("ETH/USD")).length,
    2,
  );
  ackAll(first);
  for (let i = 0; i < 10; i++) {
    clock.advance(1_000);
    tick(first);
  }
  assert.deepEqual(t.of("silent_subscription").at(-1), {
    channel: "ticker",
    symbol: "ETH/USD",
    silentMs: 10_000,
    action: "reconnect",
  });
  assert.equal(first.closedByClient?.code, 4001);
  clock.advance(t.of("reconnecting").at(-1)?.delayMs ?? 0);
  const second = sockets.last();
  second.open();
  ackAll(second);
  for (let i = 0; i < 30; i++) {
    clock.advance(1_000);
    tick(second);
  }
  // After one reconnect it is reported (status) but no longer escalated.
  assert.equal(t.of("silent_subscription").length, 2);
  assert.equal(sockets.instances.length, 2);
  assert.equal(
    ws.snapshot().subscriptions.find((s) => s.symbol === "ETH/USD")?.silent,
    true,
  );
  // Data clears the strike.
  second.receive({
    channel: "ticker",
    type: "update",
    data: [{ symbol: "ETH/USD", last: 1 }],
  });
  clock.advance(1_000);
  assert.equal(
    ws.snapshot().subscriptions.find((s) => s.symbol === "ETH/USD")?.silent,
    false,
  );
});

Deno.test("WsConnection reference-counts subscriptions", () => {
  using t = setup();
  const { ws, sockets } = t;
  ws.connect();
  const socket = sockets.last();
  socket.open();
  const a = ws.subscribe({ channel: "book", symbol: "BTC/USD", depth: 25 });
  const b = ws.subscribe({ channel: "book", symbol: "btc/usd", depth: 25 });
  const other = ws.subscribe({ channel: "book", symbol: "ETH/USD", depth: 25 });
  ackAll(socket);
  assert.equal(socket.sentMethod("subscribe").length, 2);
  assert.deepEqual(a.keys, b.keys);
  assert.equal(ws.snapshot().subscriptions[0]?.refs, 2);
  a.release();
  a.release(); // a second release of one handle is a no-op
  assert.equal(socket.sentMethod("unsubscribe").length, 0);
  assert.deepEqual(ws.books.symbols().sort(), ["BTC/USD", "ETH/USD"]);
  b[Symbol.dispose]();
  assert.deepEqual(socket.sentMethod("unsubscribe").map((m) => m.params), [{
    channel: "book",
    symbol: ["BTC/USD"],
    depth: 25,
  }]);
  assert.deepEqual(ws.books.symbols(), ["ETH/USD"]);
  assert.deepEqual(ws.snapshot().subscriptions.map((s) => s.symbol), [
    "ETH/USD",
  ]);
  other.release();
  assert.equal(socket.sentMethod("unsubscribe").length, 2);
  // Releasing while disconnected sends nothing.
  const held = ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
  socket.drop();
  const sentBefore = socket.sent.length;
  held.release();
  assert.equal(socket.sent.length, sentBefore);
  assert.equal(ws.snapshot().subscriptions.length, 0);
});

Deno.test("WsConnection surfaces subscription errors per symbol", async (t) => {
  await t.step("one refused pair does not affect the others", () => {
    using c = setup();
    c.ws.subscribe({ channel: "ticker", symbol: ["BTC/USD", "XBT/EUR"] });
    c.ws.connect();
    const first = c.sockets.last();
    first.open();
    ackAll(first, {
      fail: { "XBT/EUR": "Currency pair not supported XBT/EUR" },
    });
    assert.deepEqual(c.of("subscription_error"), [{
      channel: "ticker",
      symbol: "XBT/EUR",
      error: "Currency pair not supported XBT/EUR",
      reqId: 1,
    }]);
    assert.equal(c.ws.state, "open");
    const states = Object.fromEntries(
      c.ws.snapshot().subscriptions.map((s) => [s.symbol, [s.state, s.error]]),
    );
    assert.deepEqual(states, {
      "BTC/USD": ["active", undefined],
      "XBT/EUR": ["failed", "Currency pair not supported XBT/EUR"],
    });
    // A permanent refusal is not replayed after a reconnect.
    first.drop();
    c.clock.advance(c.of("reconnecting").at(-1)?.delayMs ?? 0);
    const second = c.sockets.last();
    second.open();
    assert.deepEqual(subscribedOn(second), ['BTC/USD {"channel":"ticker"}']);
  });
  await t.step("a transient refusal is retried on the next socket", () => {
    using c = setup();
    c.ws.subscribe({ channel: "ticker", symbol: ["BTC/USD"] });
    c.ws.connect();
    const first = c.sockets.last();
    first.open();
    ackAll(first, { fail: { "BTC/USD": "Exceeded msg rate" } });
    first.drop();
    c.clock.advance(c.of("reconnecting").at(-1)?.delayMs ?? 0);
    c.sockets.last().open();
    assert.deepEqual(subscribedOn(c.sockets.last()), [
      'BTC/USD {"channel":"ticker"}',
    ]);
  });
  await t.step("a reject without symbol fails the whole request", () => {
    using c = setup();
    c.ws.subscribe({ channel: "tickr", symbol: ["BTC/USD", "ETH/USD"] });
    c.ws.subscribe({ channel: "ticker", symbol: ["BTC/USD"] });
    c.ws.connect();
    const socket = c.sockets.last();
    socket.open();
    socket.receive({
      method: "subscribe",
      success: false,
      error: "Subscription name invalid",
      req_id: 1,
    });
    assert.deepEqual(
      c.of("subscription_error").map((e) => [e.channel, e.symbol]),
      [["tickr", "BTC/USD"], ["tickr", "ETH/USD"]],
    );
    assert.equal(
      c.ws.snapshot().subscriptions.find((s) => s.channel === "ticker")?.state,
      "pending",
    );
  });
  await t.step("an unplaceable reject still surfaces", () => {
    using c = setup();
    c.ws.connect();
    const socket = c.sockets.last();
    socket.open();
    socket.receive({
      method: "subscribe",
      success: false,
      error: "Symbol(s) not found",
    });
    assert.deepEqual(c.of("subscription_error"), [{
      channel: undefined,
      symbol: undefined,
      error: "Symbol(s) not found",
      reqId: undefined,
    }]);
  });
  await t.step("already subscribed counts as subscribed", () => {
    using c = setup();
    c.ws.subscribe({ channel: "ticker", symbol: ["BTC/USD"] });
    c.ws.connect();
    const socket = c.sockets.last();
    socket.open();
    ackAll(socket, { fail: { "BTC/USD": "Already subscribed" } });
    assert.equal(c.ws.snapshot().subscriptions[0]?.state, "active");
    assert.equal(c.of("subscription_error").length, 0);
  });
});

Deno.test("WsConnection counts and survives malformed frames", () => {
  using t = setup();
  const { ws, sockets } = t;
  ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
  ws.subscribe({ channel: "book", symbol: "BTC/USD" });
  ws.connect();
  const socket = sockets.last();
  socket.open();
  ackAll(socket);
  socket.receive("{not json");
  socket.receiveRaw(new Uint8Array([1, 2, 3]));
  socket.receive('{"channel":"book","type":"update","data":[{"symbol":');
  socket.receive('{"channel":"trade","type":"update","data":[{"symbol":1}]}');
  assert.equal(ws.snapshot().malformedFrames, 4);
  assert.deepEqual(t.of("malformed").map((m) => m.count), [1, 2, 3, 4]);
  assert.match(t.of("malformed")[2]?.reason ?? "", /^Book frame: /);
  assert.equal(ws.state, "open");
  socket.receive({
    channel: "ticker",
    type: "update",
    data: [{ symbol: "BTC/USD", last: 97000.5 }],
  });
  const frames = t.of("frame").filter((f) => f.kind === "ticker");
  assert.equal(frames.length, 1);
});

Deno.test("WsConnection re-requests only the book whose checksum failed, once", () => {
  using t = setup();
  const { ws, sockets } = t;
  ws.subscribe({ channel: "book", symbol: ["BTC/USD", "ETH/USD"], depth: 10 });
  ws.connect();
  const socket = sockets.last();
  socket.open();
  ackAll(socket);
  socket.receive(snapshotOf("BTC/USD", BTC_ASKS, BTC_BIDS));
  socket.receive(snapshotOf("ETH/USD", ETH_ASKS, ETH_BIDS));
  assert.equal(ws.books.integrity("BTC/USD"), "ok");
  assert.equal(ws.books.integrity("ETH/USD"), "ok");
  assert.deepEqual(t.of("book").map((b) => b.kind), ["applied", "applied"]);

  // A valid update first.
  const asks: Level[] = [["45285.2", "0.50000000"], ["45286.4", "1.54571953"]];
  socket.receive(bookFrame("update", "BTC/USD", {
    asks: [["45285.2", "0.50000000"]],
    bids: [],
    checksum: checksum(asks, BTC_BIDS),
  }));
  assert.equal(ws.books.integrity("BTC/USD"), "ok");
  const sentBefore = socket.sent.length;

  // Then a corrupt one, twice.
  for (let i = 0; i < 2; i++) {
    socket.receive(bookFrame("update", "BTC/USD", {
      asks: [["45285.2", "0.60000000"]],
      bids: [],
      checksum: 12345,
    }));
  }
  const sent = socket.sentJson().slice(sentBefore);
  assert.deepEqual(sent.map((m) => [m.method, m.params]), [
    ["unsubscribe", { channel: "book", symbol: ["BTC/USD"], depth: 10 }],
    ["subscribe", { channel: "book", symbol: ["BTC/USD"], depth: 10 }],
  ]);
  assert.equal(t.of("book_resync").length, 1);
  assert.equal(t.of("book_resync")[0]?.symbol, "BTC/USD");
  assert.equal(t.of("book_resync")[0]?.expected, 12345);
  assert.equal(ws.books.integrity("ETH/USD"), "ok");
  assert.equal(ws.books.integrity("BTC/USD"), "resyncing");
  const btc = ws.snapshot().books.find((b) => b.symbol === "BTC/USD");
  assert.deepEqual(btc, {
    symbol: "BTC/USD",
    integrity: "resyncing",
    checksumFailures: 1,
    resubscribes: 1,
  });
  // The fresh snapshot restores it.
  ackAll(socket);
  socket.receive(snapshotOf("BTC/USD", BTC_ASKS, BTC_BIDS));
  assert.equal(ws.books.integrity("BTC/USD"), "ok");
});

Deno.test("WsConnection.close() stops everything and leaves no timers", async (t) => {
  await t.step("while open", () => {
    const c = setup();
    c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
    c.ws.connect();
    const socket = c.sockets.last();
    socket.open();
    ackAll(socket);
    assert.ok(c.clock.pendingTimers > 0);
    c.ws.close();
    assert.equal(c.clock.pendingTimers, 0);
    assert.equal(c.ws.state, "closed");
    assert.deepEqual(socket.closedByClient, {
      code: 1000,
      reason: "Client closed",
    });
    assert.deepEqual(c.of("closed").at(-1), {
      code: 1000,
      reason: "Client closed",
      willReconnect: false,
    });
    c.ws.connect();
    c.ws.close();
    assert.equal(c.sockets.instances.length, 1);
    assert.equal(c.ws.send("x"), false);
    assert.equal(c.ws.ping(), false);
    assert.throws(
      () => c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" }),
      TypeError,
    );
  });
  await t.step("while waiting to reconnect", () => {
    const c = setup();
    c.ws.connect();
    c.sockets.last().drop();
    assert.ok(c.clock.pendingTimers > 0);
    c.ws.close();
    assert.equal(c.clock.pendingTimers, 0);
    c.clock.advance(600_000);
    assert.equal(c.sockets.instances.length, 1);
  });
  await t.step("from a listener in the middle of a reconnect", () => {
    const c = setup();
    c.ws.on("closed", ({ willReconnect }) => {
      if (willReconnect) c.ws.close();
    });
    c.ws.connect();
    c.sockets.last().open();
    c.sockets.last().drop();
    assert.equal(c.clock.pendingTimers, 0);
    assert.equal(c.ws.state, "closed");
  });
  await t.step("before connecting", () => {
    const c = setup();
    c.ws.close();
    assert.equal(c.clock.pendingTimers, 0);
    assert.equal(c.sockets.instances.length, 0);
  });
});

Deno.test("WsConnection fetches a token per connection for private channels", async (t) => {
  await t.step("fresh token on every connect, never in events", async () => {
    let calls = 0;
    using c = setup({
      getToken: () => Promise.resolve(`secret-token-${++calls}`),
    });
    c.ws.subscribe({ channel: "executions", extra: { snap_orders: true } });
    c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
    c.ws.connect();
    const first = c.sockets.last();
    first.open();
    // Public subscriptions do not wait for the token.
    assert.deepEqual(subscribedOn(first), ['BTC/USD {"channel":"ticker"}']);
    await c.clock.flush();
    const privateSub = first.sentMethod("subscribe").at(-1);
    assert.deepEqual(privateSub?.params, {
      channel: "executions",
      snap_orders: true,
      token: "secret-token-1",
    });
    ackAll(first);
    first.drop();
    c.clock.advance(c.of("reconnecting").at(-1)?.delayMs ?? 0);
    const second = c.sockets.last();
    second.open();
    await c.clock.flush();
    assert.equal(calls, 2);
    assert.equal(
      (second.sentMethod("subscribe").at(-1)?.params as Json).token,
      "secret-token-2",
    );
    assert.deepEqual(c.of("resubscribed"), [{
      subscriptions: 2,
      symbols: ["BTC/USD"],
    }]);
    assert.ok(!JSON.stringify(c.events).includes("secret-token"));
    assert.ok(!JSON.stringify(c.ws.snapshot()).includes("secret-token"));
  });
  await t.step(
    "subscribing while open and releasing use the connection's token",
    async () => {
      let calls = 0;
      using c = setup({ getToken: () => Promise.resolve(`tok-${++calls}`) });
      c.ws.connect();
      const socket = c.sockets.last();
      socket.open();
      const sub = c.ws.subscribe({ channel: "balances" });
      await c.clock.flush();
      ackAll(socket);
      sub.release();
      await c.clock.flush();
      assert.equal(calls, 1);
      assert.deepEqual(socket.sentMethod("unsubscribe")[0]?.params, {
        channel: "balances",
        token: "tok-1",
      });
    },
  );
  await t.step("a failing token source surfaces per subscription", async () => {
    using c = setup({
      getToken: () => Promise.reject(new Error("EAPI:Invalid key")),
    });
    c.ws.subscribe({ channel: "executions" });
    c.ws.connect();
    c.sockets.last().open();
    await c.clock.flush();
    assert.deepEqual(c.of("subscription_error"), [{
      channel: "executions",
      symbol: undefined,
      error: "Cannot get a WebSocket token: EAPI:Invalid key",
      reqId: undefined,
    }]);
    assert.equal(c.sockets.last().sentMethod("subscribe").length, 0);
    assert.equal(c.ws.state, "open");
  });
  await t.step(
    "an empty token and a missing token source surface too",
    async () => {
      using c = setup({ getToken: () => Promise.resolve("") });
      c.ws.subscribe({ channel: "executions" });
      c.ws.connect();
      c.sockets.last().open();
      await c.clock.flush();
      assert.match(c.of("subscription_error")[0]?.error ?? "", /no token/);
      using d = setup();
      d.ws.subscribe({
        channel: "level3",
        symbol: "BTC/USD",
        authenticated: true,
      });
      d.ws.connect();
      d.sockets.last().open();
      await d.clock.flush();
      assert.match(d.of("subscription_error")[0]?.error ?? "", /no getToken/);
    },
  );
});

Deno.test("WsConnection pings on a timer and measures the round trip", () => {
  using t = setup({ pingIntervalMs: 10_000 });
  const { ws, sockets, clock } = t;
  ws.connect();
  const socket = sockets.last();
  socket.open();
  clock.advance(10_000);
  const ping = socket.sentMethod("ping")[0];
  assert.ok(ping !== undefined && typeof ping.req_id === "number");
  clock.advance(42);
  socket.receive({ method: "pong", req_id: ping.req_id });
  assert.deepEqual(t.of("pong"), [{ latencyMs: 42 }]);
  assert.equal(ws.snapshot().lastPongLatencyMs, 42);
  socket.receive({ method: "pong" });
  assert.equal(t.of("pong")[1]?.latencyMs, undefined);
  assert.ok(ws.ping());
  const reqId = ws.nextReqId();
  assert.ok(ws.nextReqId() > reqId);
});

Deno.test("WsConnection treats close code 1008 as terminal", () => {
  using t = setup();
  t.ws.connect();
  t.sockets.last().open();
  t.sockets.last().drop(1008, "Policy violation");
  assert.equal(t.ws.state, "closed");
  assert.deepEqual(t.of("closed").at(-1), {
    code: 1008,
    reason: "Policy violation",
    willReconnect: false,
  });
  assert.equal(t.clock.pendingTimers, 0);
});

Deno.test("WsConnection gives up on an attempt that does not open in time", () => {
  using t = setup({ connectTimeoutMs: 3_000 });
  t.ws.connect();
  const first = t.sockets.last();
  first.error();
  t.clock.advance(3_000);
  assert.equal(first.closedByClient?.code, 4002);
  assert.match(t.of("closed").at(-1)?.reason ?? "", /timed out after 3000 ms/);
  t.clock.advance(t.of("reconnecting").at(-1)?.delayMs ?? 0);
  assert.equal(t.sockets.instances.length, 2);
});

Deno.test("WsConnection survives a WebSocket constructor that throws", () => {
  let calls = 0;
  const factory = new FakeWebSocketFactory();
  using t = setup({
    WebSocket: class {
      constructor(url: string) {
        if (++calls === 1) throw new SyntaxError("Bad URL");
        return new factory.WebSocket(url);
      }
    } as unknown as WsConnectionOptions["WebSocket"] & object,
  });
  t.ws.connect();
  assert.match(t.of("closed")[0]?.reason ?? "", /Cannot open socket: Bad URL/);
  t.clock.advance(t.of("reconnecting")[0]?.delayMs ?? 0);
  assert.equal(factory.instances.length, 1);
});

Deno.test("WsConnection reports errors thrown by listeners without breaking", async () => {
  using t = setup();
  const seen: string[] = [];
  t.ws.on("open", () => {
    throw new Error("listener failed");
  });
  t.ws.on("open", () => seen.push("second"));
  const off = t.ws.on("open", () => seen.push("removed"));
  off();
  const reported = new Promise<unknown>((resolve) => {
    globalThis.addEventListener("error", function onError(event) {
      event.preventDefault();
      globalThis.removeEventListener("error", onError);
      resolve(event.error);
    });
  });
  t.ws.connect();
  t.sockets.last().open();
  assert.deepEqual(seen, ["second"]);
  assert.equal(t.ws.state, "open");
  const error = await reported;
  assert.ok(error instanceof Error && error.message === "listener failed");
});

Deno.test("WsConnection refuses bad input at the call site", () => {
  using t = setup();
  assert.throws(() => t.ws.subscribe({ channel: "" }), TypeError);
  assert.equal(t.ws.url, URL);
});

Deno.test("WsConnection counts data of every channel towards its subscription", async () => {
  let calls = 0;
  using t = setup({
    firstDataTimeoutMs: 5_000,
    silenceTimeoutMs: 60_000,
    getToken: () => Promise.resolve(`tok-${++calls}`),
  });
  const { ws, sockets, clock } = t;
  ws.subscribe({ channel: "ohlc", symbol: "BTC/USD", interval: 5 });
  ws.subscribe({ channel: "trade", symbol: "BTC/USD", snapshot: true });
  ws.subscribe({ channel: "instrument" });
  ws.subscribe({ channel: "executions" });
  ws.subscribe({
    channel: "book",
    symbol: "BTC/USD",
    depth: 10,
    priceDecimals: 1,
    qtyDecimals: 8,
  });
  ws.connect();
  const socket = sockets.last();
  socket.open();
  await clock.flush();
  ackAll(socket);
  socket.receive(
    `{"channel":"ohlc","type":"snapshot","data":[{"symbol":"BTC/USD","open":1,"high":1,"low":1,"close":1,"volume":1,"interval_begin":"2025-03-04T10:20:00Z","interval":5}]}`,
  );
  socket.receive(
    `{"channel":"trade","type":"snapshot","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"2025-03-04T10:20:00Z"}]}`,
  );
  socket.receive(
    `{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[]}}`,
  );
  socket.receive(
    `{"channel":"executions","type":"snapshot","sequence":1,"data":[]}`,
  );
  // Book padded to the pair's precision: 45281 → 45281.0, 0.1 → 0.10000000.
  socket.receive(bookFrame("snapshot", "BTC/USD", {
    asks: [["45285.2", "0.001"]],
    bids: [["45281", "0.1"]],
    checksum: checksum([["45285.2", "0.00100000"]], [[
      "45281.0",
      "0.10000000",
    ]]),
  }));
  assert.equal(ws.books.integrity("BTC/USD"), "ok");
  for (let i = 0; i < 20; i++) {
    clock.advance(1_000);
    socket.receive('{"channel":"heartbeat"}');
  }
  assert.deepEqual(t.of("silent_subscription"), []);
  assert.deepEqual(
    t.of("frame").map((f) => f.kind).filter((k) => k !== "heartbeat"),
    [
      "response",
      "response",
      "response",
      "response",
      "response",
      "ohlc",
      "trade",
      "instrument",
      "channel",
    ],
  );
  // Responses to other methods pass through as frames and change nothing.
  socket.receive({
    method: "add_order",
    success: true,
    result: { order_id: "O1" },
    req_id: 99,
  });
  assert.equal(t.of("frame").at(-1)?.kind, "response");
});

Deno.test("WsConnection shares one server subscription between equivalent holds", async (t) => {
  await t.step("snapshot is not part of the identity", () => {
    using c = setup();
    c.ws.connect();
    const socket = c.sockets.last();
    socket.open();
    const a = c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
    const b = c.ws.subscribe({
      channel: "ticker",
      symbol: "BTC/USD",
      snapshot: false,
    });
    assert.deepEqual(a.keys, b.keys);
    assert.equal(socket.sentMethod("subscribe").length, 1);
    a.release();
    b.release();
    assert.equal(socket.sentMethod("unsubscribe").length, 1);
  });
  await t.step(
    "two ticker triggers on one symbol unsubscribe once, at the end",
    () => {
      using c = setup();
      c.ws.connect();
      const socket = c.sockets.last();
      socket.open();
      const trades = c.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
      const bbo = c.ws.subscribe({
        channel: "ticker",
        symbol: "BTC/USD",
        eventTrigger: "bbo",
      });
      ackAll(socket, { fail: { "BTC/USD": "Already subscribed" } });
      assert.deepEqual(
        c.ws.snapshot().subscriptions.map((s) => s.state),
        ["active", "active"],
      );
      trades.release();
      assert.equal(socket.sentMethod("unsubscribe").length, 0);
      bbo.release();
      assert.equal(socket.sentMethod("unsubscribe").length, 1);
    },
  );
  await t.step("a second book depth for one symbol is refused", () => {
    using c = setup();
    c.ws.subscribe({ channel: "book", symbol: "BTC/USD", depth: 10 });
    assert.throws(
      () =>
        c.ws.subscribe({
          channel: "book",
          symbol: ["ETH/USD", "btc/usd"],
          depth: 25,
        }),
      (error) => {
        assert.ok(error instanceof RangeError);
        assert.equal(
          error.message,
          'Cannot subscribe to book "BTC/USD" at depth 25: it is held at depth 10 (one depth per symbol per connection)',
        );
        return true;
      },
    );
    assert.deepEqual(c.ws.books.symbols(), ["BTC/USD"]);
    assert.equal(c.ws.snapshot().subscriptions.length, 1);
  });
});

Deno.test("WsConnection replaces a socket that never answers its subscribes", () => {
  using t = setup({ silenceTimeoutMs: 5_000 });
  t.ws.subscribe({ channel: "ticker", symbol: "BTC/USD" });
  t.ws.connect();
  t.sockets.last().open();
  t.clock.advance(5_000);
  assert.equal(t.of("stalled").length, 1);
});
