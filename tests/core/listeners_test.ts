import assert from "node:assert/strict";
import { callListeners, rethrowLater } from "../../core/listeners.ts";
import { PrivateStream } from "../../core/trade/private_stream.ts";
import { WsConnection } from "../../core/ws/connection.ts";
import { FakeClock } from "../fakes/clock.ts";
import { FakeWebSocketFactory } from "../fakes/websocket.ts";
import { wsHarness } from "./trade/_transport_helpers.ts";

Deno.test("callListeners: a throwing listener stops neither the others nor the caller", () => {
  const seen: string[] = [];
  const reports: [unknown, string][] = [];
  const boom = new Error("listener bug");
  callListeners<number>(
    [
      (n) => seen.push(`a${n}`),
      () => {
        throw boom;
      },
      (n) => seen.push(`c${n}`),
    ],
    7,
    (error, source) => reports.push([error, source]),
    "Test event",
  );
  assert.deepEqual(seen, ["a7", "c7"]);
  assert.deepEqual(reports, [[boom, "Test event"]]);
});

Deno.test("callListeners: a throwing error handler is contained too", () => {
  const seen: number[] = [];
  callListeners<number>(
    [() => {
      throw new Error("one");
    }, (n) => seen.push(n)],
    1,
    () => {
      throw new Error("handler bug");
    },
    "Test event",
  );
  assert.deepEqual(seen, [1]);
});

Deno.test("callListeners: listeners may unsubscribe while being called", () => {
  const set = new Set<(n: number) => void>();
  const seen: string[] = [];
  const first = () => {
    seen.push("first");
    set.delete(second);
  };
  const second = () => seen.push("second");
  set.add(first).add(second);
  callListeners(set, 0, rethrowLater, "Test");
  assert.deepEqual(seen, ["first", "second"]);
  callListeners(set, 0, rethrowLater, "Test");
  assert.deepEqual(seen, ["first", "second", "first"]);
});

Deno.test("rethrowLater reports the error asynchronously, as EventTarget does", async () => {
  const boom = new Error("late");
  const reported = new Promise<unknown>((resolve) => {
    const onError = (event: ErrorEvent) => {
      event.preventDefault(); // keep the test process alive
      globalThis.removeEventListener("error", onError);
      resolve(event.error);
    };
    globalThis.addEventListener("error", onError);
  });
  let after = false;
  rethrowLater(boom);
  after = true; // the throw did not happen synchronously
  assert.equal(after, true);
  assert.equal(await reported, boom);
});

Deno.test("WsConnection hands a listener's exception to onListenerError and keeps going", () => {
  const clock = new FakeClock(0);
  const sockets = new FakeWebSocketFactory();
  const reports: [unknown, string][] = [];
  const ws = new WsConnection("wss://ws.example.test/v2", {
    WebSocket: sockets.WebSocket,
    now: clock.now,
    setTimer: clock.setTimer,
    random: () => 0.5,
    onListenerError: (error, source) => reports.push([error, source]),
  });
  const boom = new Error("bad listener");
  const later: string[] = [];
  ws.on("connecting", () => {
    throw boom;
  });
  ws.on("connecting", () => later.push("connecting"));
  ws.connect();
  clock.advance(0);
  assert.deepEqual(later, ["connecting"]);
  assert.deepEqual(reports, [[boom, "WsConnection connecting"]]);
  assert.notEqual(ws.state, "closed");
  ws.close();
});

Deno.test("PrivateStream hands a listener's exception to onListenerError", async () => {
  const h = wsHarness();
  const reports: string[] = [];
  const stream = new PrivateStream(h.session, {
    now: h.clock.now,
    onListenerError: (_error, source) => reports.push(source),
  });
  const delivered: string[] = [];
  stream.on(() => {
    throw new Error("bad listener");
  });
  stream.on((event) => delivered.push(event.type));
  stream.start();
  h.session.connect();
  const socket = await h.open();
  socket.receive({
    channel: "executions",
    type: "snapshot",
    data: [],
    sequence: 1,
  });
  assert.ok(delivered.includes("executions"));
  assert.ok(reports.includes("PrivateStream executions"));
  stream.stop();
  h.session.close();
});
