import assert from "node:assert/strict";
import {
  WsConnection,
  type WsConnectionSnapshot,
} from "../../../core/ws/connection.ts";
import { LiveCache } from "../../../core/ws/live.ts";
import { buildDataStatus, dataStatus } from "../../../core/ws/status.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeWebSocketFactory } from "../../fakes/websocket.ts";

Deno.test("buildDataStatus() summarises a connection snapshot", () => {
  const snapshot: WsConnectionSnapshot = {
    state: "open",
    attempt: 1,
    reconnects: 3,
    subscriptions: [
      {
        key: "a",
        channel: "ticker",
        symbol: "BTC/USD",
        state: "active",
        refs: 1,
        error: undefined,
        silent: false,
      },
      {
        key: "b",
        channel: "ticker",
        symbol: "XBT/EUR",
        state: "failed",
        refs: 1,
        error: "Currency pair not supported XBT/EUR",
        silent: false,
      },
      {
        key: "c",
        channel: "book",
        symbol: "ETH/USD",
        state: "active",
        refs: 2,
        error: undefined,
        silent: true,
      },
      {
        key: "d",
        channel: "ohlc",
        symbol: "ETH/USD",
        state: "pending",
        refs: 1,
        error: undefined,
        silent: false,
      },
      {
        key: "e",
        channel: "executions",
        symbol: undefined,
        state: "idle",
        refs: 1,
        error: undefined,
        silent: false,
      },
      {
        key: "f",
        channel: "balances",
        symbol: undefined,
        state: "failed",
        refs: 1,
        error: undefined,
        silent: false,
      },
    ],
    malformedFrames: 4,
    lastFrameAtMs: 9_500,
    lastHeartbeatAtMs: 9_000,
    lastPongLatencyMs: 12,
    system: {
      system: "online",
      apiVersion: "v2",
      connectionId: "1",
      version: "2.0.9",
    },
    books: [
      {
        symbol: "BTC/USD",
        integrity: "ok",
        checksumFailures: 0,
        resubscribes: 0,
      },
      {
        symbol: "ETH/USD",
        integrity: "resyncing",
        checksumFailures: 2,
        resubscribes: 1,
      },
      {
        symbol: "SOL/USD",
        integrity: "empty",
        checksumFailures: 0,
        resubscribes: 0,
      },
    ],
    atMs: 10_000,
  };
  const status = buildDataStatus(snapshot, {
    live: { fresh: ["BTC/USD"], stale: ["ETH/USD", "SOL/USD"] },
    restReachable: true,
  });
  assert.deepEqual(status, {
    state: "open",
    connected: true,
    reconnects: 3,
    attempt: 1,
    subscriptions: {
      total: 6,
      active: 2,
      pending: 1,
      idle: 1,
      failed: 2,
      silent: 1,
      errors: [
        {
          channel: "ticker",
          symbol: "XBT/EUR",
          error: "Currency pair not supported XBT/EUR",
        },
        { channel: "balances", symbol: undefined, error: "Unknown error" },
      ],
    },
    pairs: { fresh: 1, stale: 2, stalePairs: ["ETH/USD", "SOL/USD"] },
    books: snapshot.books,
    bookTotals: {
      ok: 1,
      resyncing: 1,
      empty: 1,
      checksumFailures: 2,
      resubscribes: 1,
    },
    malformedFrames: 4,
    lastHeartbeatAgeMs: 1_000,
    lastFrameAgeMs: 500,
    lastPongLatencyMs: 12,
    system: "online",
    systemVersion: "2.0.9",
    restReachable: true,
    atMs: 10_000,
  });
  // Plain data: it survives JSON.
  assert.equal(typeof JSON.stringify(status), "string");
});

Deno.test("dataStatus() reads a live connection and cache end to end", () => {
  const clock = new FakeClock(0);
  const sockets = new FakeWebSocketFactory();
  const ws = new WsConnection("wss://ws.example.test/v2", {
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0,
  });
  const live = new LiveCache({ now: clock.now, staleToleranceSec: 60 });
  const detach = live.attach(ws);
  try {
    const before = dataStatus({ connection: ws });
    assert.equal(before.state, "idle");
    assert.equal(before.connected, false);
    assert.equal(before.lastHeartbeatAgeMs, undefined);
    assert.equal(before.system, undefined);
    assert.equal(before.restReachable, undefined);

    ws.subscribe({ channel: "ticker", symbol: ["BTC/USD", "ETH/USD"] });
    ws.connect();
    const socket = sockets.last();
    socket.open();
    socket.receive({
      channel: "status",
      type: "update",
      data: [{ system: "online", api_version: "v2", version: "2.0.9" }],
    });
    for (const symbol of ["BTC/USD", "ETH/USD"]) {
      socket.receive({
        method: "subscribe",
        success: true,
        result: { channel: "ticker", symbol },
        req_id: 1,
      });
    }
    socket.receive({
      channel: "ticker",
      type: "snapshot",
      data: [{
        symbol: "ETH/USD",
        last: 2000,
        bid: 1999,
        bid_qty: 1,
        ask: 2001,
        ask_qty: 1,
      }],
    });
    for (let i = 0; i < 61; i++) {
      clock.advance(1_000);
      socket.receive('{"channel":"heartbeat"}');
    }
    socket.receive({
      channel: "ticker",
      type: "update",
      data: [{ symbol: "BTC/USD", last: 97000 }],
    });
    socket.receive('{"channel":"heartbeat"}');
    socket.receive("garbage");
    clock.advance(2_000);
    socket.receive('{"channel":"heartbeat"}');
    clock.advance(500);
    const status = dataStatus({ connection: ws, live, restReachable: false });
    assert.equal(status.state, "open");
    assert.equal(status.connected, true);
    assert.equal(status.subscriptions.total, 2);
    // BTC/USD sent nothing for 15 s after its ack, so it was re-requested.
    assert.equal(status.subscriptions.active, 1);
    assert.equal(status.subscriptions.pending, 1);
    assert.equal(status.reconnects, 0);
    assert.deepEqual(status.pairs, {
      fresh: 1,
      stale: 1,
      stalePairs: ["ETH/USD"],
    });
    assert.equal(status.malformedFrames, 1);
    assert.equal(status.lastHeartbeatAgeMs, 500);
    assert.equal(status.lastFrameAgeMs, 500);
    assert.equal(status.system, "online");
    assert.equal(status.restReachable, false);
    assert.equal(live.getLatestPrice("BTC/USD").price, "97000");
  } finally {
    detach();
    ws.close();
  }
  assert.equal(clock.pendingTimers, 0);
});
