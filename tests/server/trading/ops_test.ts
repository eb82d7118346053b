/**
 * The ops monitor in process: a throwing listener is logged (with its
 * source, secrets scrubbed) and counted, never fatal; reconnect reasons are
 * kept; a throwing subscriber does not stop the others; and the order-trail
 * search of `krakked logs` follows keys, Kraken ids and request ids.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Logger } from "../../../core/log.ts";
import { RateLimiter } from "../../../core/rest/ratelimit.ts";
import { WsConnection } from "../../../core/ws/connection.ts";
import { OpsMonitor, type OpsSnapshot } from "../../../server/trading/ops.ts";
import { orderTrail } from "../../../server/cli/logs_cmd.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeWebSocketFactory } from "../../fakes/websocket.ts";
import { RestClient } from "../../../core/rest/client.ts";
import { loadMarketMetadata } from "../../../core/market/metadata.ts";
import { BookFeed } from "../../../server/trading/book_feed.ts";
import { startSimulatorWithWs } from "@krakked/sim";

function setup() {
  const clock = new FakeClock(1_000_000);
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger({
    sink: (l) => lines.push(JSON.parse(l)),
    now: clock.now,
  });
  const limiter = new RateLimiter({
    tier: "pro",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  let tick: (() => void) | undefined;
  const ops = new OpsMonitor({
    limiter,
    logger,
    now: clock.now,
    setTimer: clock.setTimer,
    every: (fn) => {
      tick = fn;
      return () => (tick = undefined);
    },
  });
  const sockets = new FakeWebSocketFactory();
  const ws = new WsConnection("wss://ws.example.test/v2", {
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0.5,
    onListenerError: ops.listenerError,
  });
  ops.watchConnection("public", ws);
  return {
    clock,
    lines,
    logger,
    limiter,
    ops,
    sockets,
    ws,
    tick: () => tick?.(),
    [Symbol.dispose]() {
      ws.close();
      ops.close();
      limiter.close();
    },
  };
}

Deno.test("a throwing listener is logged with its source and counted, not fatal", async () => {
  using s = setup();
  s.logger.redactor.register("sekrit-token-123456");
  let laterListenerRan = false;
  s.ws.on("open", () => {
    throw new Error("listener bug near sekrit-token-123456");
  });
  s.ws.on("open", () => {
    laterListenerRan = true;
  });
  s.ws.connect();
  s.sockets.last().open();
  // Give a microtask rethrow (the default handler) its chance to fail the test.
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(laterListenerRan, true, "the other listeners still run");
  assert.equal(s.ws.state, "open");
  const snap = s.ops.snapshot();
  assert.equal(snap.errorsByKind.listener, 1);
  const [error] = snap.errors;
  assert.equal(error!.kind, "listener");
  assert.match(error!.source, /WsConnection/);
  assert.match(error!.message, /listener bug/);
  assert.doesNotMatch(error!.message, /sekrit/);
  const logged = s.lines.find((l) => l.msg === "error");
  assert.ok(logged, "the error is logged");
  assert.equal(logged.kind, "listener");
  assert.match(String(logged.source), /WsConnection/);
  assert.doesNotMatch(JSON.stringify(s.lines), /sekrit/);
});

Deno.test("a dropped socket's reason is kept, with the reconnect count and uptime", () => {
  using s = setup();
  s.ws.connect();
  s.sockets.last().open();
  s.clock.advance(5_000);
  let snap = s.ops.snapshot();
  assert.equal(snap.connections[0]!.state, "open");
  assert.equal(snap.connections[0]!.uptimeMs, 5_000);
  s.sockets.last().drop(1006, "peer went away");
  snap = s.ops.snapshot();
  assert.equal(snap.connections[0]!.uptimeMs, null);
  assert.ok(
    snap.connections[0]!.reasons.some((r) => /1006/.test(r.reason)),
    JSON.stringify(snap.connections[0]!.reasons),
  );
  // The backoff timer opens a new socket.
  const count = s.sockets.instances.length;
  while (s.sockets.instances.length === count) s.clock.advance(100);
  s.sockets.last().open();
  snap = s.ops.snapshot();
  assert.equal(snap.connections[0]!.reconnects, 1);
  assert.equal(snap.connections[0]!.state, "open");
  assert.equal(snap.connections[0]!.uptimeMs, 0);
});

Deno.test("counters are read from the limiter itself; subscribers get pushes", async () => {
  using s = setup();
  await s.limiter.schedule({ counter: "rest", cost: 3 });
  await s.limiter.schedule({
    counter: "trading",
    cost: 2,
    pair: "XBTUSD",
    priority: "order",
  });
  s.ops.upstreamCall("AddOrder", true, "XBTUSD");
  const snap = s.ops.snapshot();
  assert.equal(snap.rest.level, s.limiter.snapshot("rest").level);
  assert.equal(snap.rest.level, 3);
  assert.equal(snap.trading.XBTUSD!.level, 2);
  s.clock.advance(1_000);
  // Pro decays 1 per second: the snapshot is the limiter's, decayed now.
  assert.equal(s.ops.snapshot().rest.level, 2);

  const seen: OpsSnapshot[] = [];
  s.ops.subscribe(() => {
    throw new Error("subscriber bug");
  });
  s.ops.subscribe((snapshot) => seen.push(snapshot));
  assert.equal(seen.length, 1, "the current snapshot at once");
  s.ops.error("upstream", "test", new Error("x"));
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(seen.length, 2, "a change pushes once");
  assert.equal(seen[1]!.errorsByKind.upstream, 1);
  // Changes right after a push wait for minPushIntervalMs (250), together.
  s.ops.error("upstream", "test", new Error("y"));
  s.ops.upstreamCall("Balance", true);
  await Promise.resolve();
  assert.equal(seen.length, 2, "held back");
  s.clock.advance(250);
  assert.equal(seen.length, 3, "one push for both changes");
  assert.equal(seen[2]!.errorsByKind.upstream, 2);
  assert.equal(seen[2]!.upstream.byMethod.Balance, 1);
  s.tick();
  assert.equal(seen.length, 4, "the periodic push");
});

Deno.test("orderTrail follows the key, its Kraken ids and the request ids", () => {
  const lines = [
    { msg: "request", rid: "r1", path: "/api/orders" },
    { msg: "upstream", rid: "r1", call: "AddOrder", order: "userref:7" },
    {
      msg: "order state",
      rid: "r1",
      order: "userref:7",
      to: "open",
      orderId: "OAAAAA-BBBBB-CCCCCC",
    },
    { msg: "request", rid: "r2", path: "/api/orders" },
    { msg: "upstream", rid: "r2", call: "AddOrder", order: "userref:8" },
    { msg: "order fill", order: "userref:7" },
    {
      msg: "upstream",
      rid: "r3",
      call: "CancelOrder",
      orderId: "OAAAAA-BBBBB-CCCCCC",
    },
    { msg: "request", rid: "r3", path: "/api/orders/OAAAAA-BBBBB-CCCCCC" },
  ];
  for (const id of ["userref:7", "7", "OAAAAA-BBBBB-CCCCCC"]) {
    const trail = orderTrail(lines, id);
    assert.equal(trail.order, "userref:7", id);
    assert.deepEqual(trail.requestIds.sort(), ["r1", "r3"], id);
    assert.equal(trail.entries.length, 6, id);
    assert.ok(trail.entries.every((e) => e.order !== "userref:8"), id);
  }
  assert.equal(orderTrail(lines, "userref:99").entries.length, 0);
});

Deno.test("the book feed's throwing update listener is logged as an ops error; the feed carries on", async () => {
  await using sim = await startSimulatorWithWs({ seed: 3 });
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger({ sink: (l) => lines.push(JSON.parse(l)) });
  const rest = new RestClient({ baseUrl: sim.url });
  const ops = new OpsMonitor({ limiter: rest.limiter, logger });
  const feed = new BookFeed(sim.wsPublicUrl, {
    onListenerError: ops.listenerError,
  });
  try {
    ops.watchConnection("public", feed.connection);
    const { resolver } = await loadMarketMetadata(rest);
    const btc = resolver.get("XBTUSD");
    let updates = 0;
    feed.onUpdate(() => {
      throw new Error("update listener bug");
    });
    const done = new Promise<void>((resolve) =>
      feed.onUpdate(() => {
        if (++updates === 3) resolve();
      })
    );
    feed.watch(btc);
    await done;
    const snap = ops.snapshot();
    assert.ok(
      snap.errorsByKind.listener! >= 3,
      JSON.stringify(snap.errorsByKind),
    );
    assert.equal(snap.errors.at(-1)!.source, "BookFeed update");
    assert.ok(feed.book("XBTUSD") !== undefined, "the feed still serves books");
    assert.equal(snap.connections[0]!.state, "open");
    assert.ok(lines.some((l) => l.source === "BookFeed update"));
  } finally {
    feed.close();
    ops.close();
    rest.close();
  }
});
