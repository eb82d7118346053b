import assert from "node:assert/strict";
import {
  backoffDelayMs,
  budgetWaitMs,
  type ConnectionConfig,
  type ConnectionEvent,
  type ConnectionState,
  DEFAULT_CONNECTION_CONFIG,
  initialConnectionState,
  stepConnection,
} from "../../../core/ws/_connection_fsm.ts";

const config: ConnectionConfig = { ...DEFAULT_CONNECTION_CONFIG };

function run(
  events: ConnectionEvent[],
  state: ConnectionState = initialConnectionState(),
) {
  let effects: ReturnType<typeof stepConnection>["effects"] = [];
  for (const event of events) {
    const result = stepConnection(state, event, config);
    state = result.state;
    effects = result.effects;
  }
  return { state, effects };
}

Deno.test("backoffDelayMs() grows exponentially, caps and bounds the jitter", async (t) => {
  await t.step("growth and cap at the top of the jitter range", () => {
    const c = { ...config, initialDelayMs: 100, maxDelayMs: 1_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((n) => backoffDelayMs(n, 1, c)),
      [100, 200, 400, 800, 1_000, 1_000],
    );
  });
  await t.step("jitter stays within [(1 - r)·d, d]", () => {
    for (let i = 0; i <= 100; i++) {
      const delay = backoffDelayMs(3, i / 100, config);
      assert.ok(delay >= 1_000 && delay <= 2_000, `${delay}`);
    }
  });
  await t.step("out-of-range inputs are clamped", () => {
    assert.equal(backoffDelayMs(0, 0.5, config), 0);
    assert.equal(backoffDelayMs(1, 7, config), 500);
    assert.equal(backoffDelayMs(1, -1, { ...config, jitterRatio: 2 }), 0);
    assert.equal(backoffDelayMs(10_000, 1, config), 60_000);
  });
});

Deno.test("budgetWaitMs() delays attempts beyond the sliding window budget", () => {
  const c = { budgetMaxAttempts: 3, budgetWindowMs: 1_000 };
  assert.equal(budgetWaitMs([], 0, c), 0);
  assert.equal(budgetWaitMs([0, 100], 200, c), 0);
  assert.equal(budgetWaitMs([0, 100, 200], 300, c), 700);
  assert.equal(budgetWaitMs([0, 100, 200], 999, c), 1);
  assert.equal(budgetWaitMs([0, 100, 200], 1_000, c), 0);
  assert.equal(budgetWaitMs([0, 100, 200, 1_000], 1_050, c), 50);
  assert.equal(budgetWaitMs([0, 100, 200, 1_000], 1_100, c), 0);
});

Deno.test("stepConnection() walks connect, open and close", () => {
  const connecting = run([{ type: "call.connect", atMs: 0 }]);
  assert.equal(connecting.state.phase, "connecting");
  assert.deepEqual(connecting.effects, [
    { type: "notify", notice: { type: "connecting", attempt: 1 } },
    { type: "open_socket", attempt: 1 },
    { type: "set_timer", timer: "connect_timeout", delayMs: 10_000 },
  ]);
  const open = run([{ type: "wire.open", atMs: 5 }], connecting.state);
  assert.equal(open.state.phase, "open");
  assert.equal(open.state.openedAtMs, 5);
  assert.deepEqual(open.effects.map((e) => e.type), [
    "cancel_timer",
    "set_timer",
    "set_timer",
    "notify",
    "resubscribe",
  ]);
  const closed = run([{ type: "call.close", atMs: 9 }], open.state);
  assert.equal(closed.state.phase, "closed");
  assert.deepEqual(closed.effects.filter((e) => e.type !== "cancel_timer"), [
    { type: "close_socket", code: 1000, reason: "Client closed" },
    {
      type: "notify",
      notice: {
        type: "closed",
        code: 1000,
        reason: "Client closed",
        willReconnect: false,
      },
    },
  ]);
  // A closed machine ignores everything.
  assert.deepEqual(
    stepConnection(closed.state, { type: "call.connect", atMs: 10 }, config)
      .effects,
    [],
  );
});

Deno.test("stepConnection() ignores events that do not fit the phase", () => {
  const idle = initialConnectionState();
  const ignored: ConnectionEvent[] = [
    { type: "wire.open", atMs: 0 },
    { type: "wire.close", atMs: 0, random: 0, code: 1006, reason: "" },
    { type: "timer.reconnect", atMs: 0 },
    { type: "timer.connect_timeout", atMs: 0, random: 0 },
    {
      type: "timer.watchdog",
      atMs: 0,
      random: 0,
      lastFrameAtMs: undefined,
      subscriptions: 1,
    },
    { type: "timer.ping", atMs: 0 },
    { type: "call.reconnect", atMs: 0, random: 0, reason: "x" },
  ];
  for (const event of ignored) {
    const result = stepConnection(idle, event, config);
    assert.equal(result.state, idle, event.type);
    assert.deepEqual(result.effects, [], event.type);
  }
  const connecting = run([{ type: "call.connect", atMs: 0 }]).state;
  assert.deepEqual(
    stepConnection(connecting, { type: "call.connect", atMs: 1 }, config)
      .effects,
    [],
  );
  const status = stepConnection(
    idle,
    { type: "wire.status", system: "online" },
    config,
  );
  assert.equal(status.state.systemStatus, "online");
});

Deno.test("stepConnection() replaces a silent open socket only with subscriptions", () => {
  const open = run([
    { type: "call.connect", atMs: 0 },
    { type: "wire.open", atMs: 0 },
  ]).state;
  const watchdog = (
    atMs: number,
    lastFrameAtMs: number | undefined,
    subscriptions: number,
  ): ConnectionEvent => ({
    type: "timer.watchdog",
    atMs,
    random: 0,
    lastFrameAtMs,
    subscriptions,
  });
  assert.deepEqual(
    stepConnection(open, watchdog(20_000, undefined, 0), config).effects,
    [
      { type: "set_timer", timer: "watchdog", delayMs: 1_000 },
    ],
  );
  assert.equal(
    stepConnection(open, watchdog(20_000, 15_000, 2), config).state.phase,
    "open",
  );
  const stalled = stepConnection(open, watchdog(20_000, 10_000, 2), config);
  assert.equal(stalled.state.phase, "waiting");
  assert.deepEqual(stalled.effects[0], {
    type: "notify",
    notice: { type: "stalled", silentMs: 10_000 },
  });
  assert.ok(
    stalled.effects.some((e) => e.type === "close_socket" && e.code === 4000),
  );
});
