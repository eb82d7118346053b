import assert from "node:assert/strict";
import {
  DeadManSwitch,
  deadManTiming,
  DEFAULT_DEAD_MAN_TIMING,
  initialDeadMan,
  stepDeadMan,
} from "../../../core/trade/dead_man.ts";
import { FakeClock } from "../../fakes/clock.ts";

Deno.test("stepDeadMan() arms, refreshes and disarms on schedule", async (t) => {
  await t.step(
    "start arms with 60 s, success schedules a refresh in 20 s",
    () => {
      let step = stepDeadMan(initialDeadMan(), { type: "call.start", atMs: 0 });
      assert.equal(step.state.phase, "arming");
      assert.deepEqual(step.effects, [{ type: "call", timeoutSec: 60 }]);
      step = stepDeadMan(step.state, {
        type: "reply.ok",
        timeoutSec: 60,
        atMs: 100,
      });
      assert.equal(step.state.phase, "armed");
      assert.equal(step.state.expiresAtMs, 60_100);
      assert.deepEqual(step.effects, [{ type: "set_timer", delayMs: 20_000 }]);
      const refresh = stepDeadMan(step.state, {
        type: "timer.refresh",
        atMs: 20_100,
      });
      assert.deepEqual(refresh.effects, [{ type: "call", timeoutSec: 60 }]);
      assert.deepEqual(
        stepDeadMan(step.state, { type: "call.start", atMs: 0 }).effects,
        [],
        "starting twice does nothing",
      );
    },
  );
  await t.step("stop cancels the timer and disarms with 0", () => {
    const armed = stepDeadMan(
      stepDeadMan(initialDeadMan(), { type: "call.start", atMs: 0 }).state,
      { type: "reply.ok", timeoutSec: 60, atMs: 0 },
    ).state;
    const stop = stepDeadMan(armed, { type: "call.stop", atMs: 1 });
    assert.equal(stop.state.phase, "disarming");
    assert.deepEqual(
      stepDeadMan(stop.state, { type: "call.stop", atMs: 1 }).effects,
      [],
      "a second stop while disarming sends nothing",
    );
    assert.deepEqual(stop.effects, [
      { type: "cancel_timer" },
      { type: "call", timeoutSec: 0 },
    ]);
    // A late answer to an earlier arm call is ignored while disarming.
    const late = stepDeadMan(stop.state, {
      type: "reply.ok",
      timeoutSec: 60,
      atMs: 2,
    });
    assert.equal(late.state.phase, "disarming");
    assert.deepEqual(late.effects, []);
    const lateFail = stepDeadMan(stop.state, {
      type: "reply.failed",
      timeoutSec: 60,
      message: "x",
      atMs: 2,
    });
    assert.deepEqual(lateFail.effects, []);
    const off = stepDeadMan(stop.state, {
      type: "reply.ok",
      timeoutSec: 0,
      atMs: 3,
    });
    assert.equal(off.state.phase, "off");
    assert.equal(off.state.expiresAtMs, null);
    assert.deepEqual(
      stepDeadMan(off.state, { type: "call.stop", atMs: 4 }).effects,
      [],
    );
    assert.deepEqual(
      stepDeadMan(off.state, { type: "timer.refresh", atMs: 4 }).effects,
      [],
    );
    assert.deepEqual(
      stepDeadMan(off.state, { type: "reply.ok", timeoutSec: 60, atMs: 4 })
        .effects,
      [],
    );
    assert.deepEqual(
      stepDeadMan(off.state, {
        type: "reply.failed",
        timeoutSec: 60,
        message: "x",
        atMs: 4,
      }).effects,
      [],
    );
  });
  await t.step(
    "a failed refresh retries in 5 s and warns before the countdown runs out",
    () => {
      const armed = stepDeadMan(
        stepDeadMan(initialDeadMan(), { type: "call.start", atMs: 0 }).state,
        { type: "reply.ok", timeoutSec: 60, atMs: 0 },
      ).state;
      const first = stepDeadMan(armed, {
        type: "reply.failed",
        timeoutSec: 60,
        message: "EService:Unavailable",
        atMs: 20_000,
      });
      assert.equal(first.state.failures, 1);
      assert.deepEqual(first.effects, [
        { type: "set_timer", delayMs: 5_000 },
        {
          type: "warn",
          message:
            "Dead-man switch refresh failed 1 time(s) (EService:Unavailable)",
        },
      ]);
      const late = stepDeadMan(first.state, {
        type: "reply.failed",
        timeoutSec: 60,
        message: "Krakked:Timeout",
        atMs: 55_000,
      });
      assert.equal(late.state.failures, 2);
      assert.match(
        (late.effects[1] as { message: string }).message,
        /failed 2 time\(s\) \(Krakked:Timeout\); the countdown may run out and Kraken will cancel all orders/,
      );
    },
  );
  await t.step("a failed disarm warns with the trigger time", () => {
    const armed = stepDeadMan(
      stepDeadMan(initialDeadMan(), { type: "call.start", atMs: 0 }).state,
      { type: "reply.ok", timeoutSec: 60, atMs: 0 },
    ).state;
    const disarming = stepDeadMan(armed, { type: "call.stop", atMs: 1 }).state;
    const failed = stepDeadMan(disarming, {
      type: "reply.failed",
      timeoutSec: 0,
      message: "network down",
      atMs: 2,
    });
    assert.equal(failed.state.phase, "off");
    assert.deepEqual(failed.effects, [{
      type: "warn",
      message:
        "Dead-man switch disarm failed (network down); Kraken may still cancel all orders at 1970-01-01T00:01:00.000Z",
    }]);
    const neverArmed = stepDeadMan(
      stepDeadMan(initialDeadMan(), { type: "call.start", atMs: 0 }).state,
      { type: "call.stop", atMs: 0 },
    ).state;
    const failedEarly = stepDeadMan(neverArmed, {
      type: "reply.failed",
      timeoutSec: 0,
      message: "x",
      atMs: 0,
    });
    assert.match(
      (failedEarly.effects[0] as { message: string }).message,
      /orders$/,
    );
  });
});

Deno.test("deadManTiming() checks Kraken's bounds", () => {
  assert.deepEqual(deadManTiming({}), DEFAULT_DEAD_MAN_TIMING);
  assert.equal(deadManTiming({ refreshMs: 15_000 }).refreshMs, 15_000);
  assert.throws(() => deadManTiming({ timeoutSec: 86_400 }), RangeError);
  assert.throws(() => deadManTiming({ timeoutSec: 0 }), RangeError);
  assert.throws(() => deadManTiming({ timeoutSec: 1.5 }), RangeError);
  assert.throws(
    () => deadManTiming({ timeoutSec: 20, refreshMs: 20_000 }),
    /refresh \(20000 ms\) and retry \(5000 ms\) must be positive and the refresh shorter than the timeout \(20 s\)/,
  );
  assert.throws(() => deadManTiming({ retryMs: 0 }), RangeError);
});

Deno.test("DeadManSwitch arms on start, refreshes on the clock and disarms on stop", async () => {
  const clock = new FakeClock(0);
  const calls: Array<[number, number]> = [];
  let fail = false;
  const warnings: string[] = [];
  const dms = new DeadManSwitch(
    (timeoutSec) => {
      calls.push([clock.now(), timeoutSec]);
      return fail
        ? Promise.reject(new Error("EService:Unavailable"))
        : Promise.resolve({ currentTime: "", triggerTime: "" });
    },
    {
      now: clock.now,
      setTimer: clock.setTimer,
      onWarn: (message) => warnings.push(message),
    },
  );
  assert.equal(dms.state.phase, "off");
  dms.start();
  await clock.flush();
  assert.equal(dms.state.phase, "armed");
  assert.equal(dms.state.expiresAtMs, 60_000);
  clock.advance(20_000);
  await clock.flush();
  clock.advance(20_000);
  await clock.flush();
  assert.deepEqual(calls, [[0, 60], [20_000, 60], [40_000, 60]]);
  fail = true;
  clock.advance(20_000);
  await clock.flush();
  assert.equal(dms.state.failures, 1);
  assert.equal(warnings.length, 1);
  fail = false;
  clock.advance(5_000); // retry after 5 s
  await clock.flush();
  assert.deepEqual(calls.at(-1), [65_000, 60]);
  assert.equal(dms.state.failures, 0);
  assert.equal(clock.pendingTimers, 1);
  await dms.stop();
  assert.deepEqual(calls.at(-1), [65_000, 0]);
  assert.equal(dms.state.phase, "off");
  assert.equal(clock.pendingTimers, 0, "no timer is left behind");
  await dms.stop(); // stopping again is a no-op
  assert.equal(calls.length, 6);
});

Deno.test("DeadManSwitch with the default timer leaves nothing running after stop", async () => {
  const calls: number[] = [];
  const dms = new DeadManSwitch((timeoutSec) => {
    calls.push(timeoutSec);
    return Promise.resolve();
  });
  dms.start();
  // Let the arm answer land so a real 20 s timer is scheduled, then stop:
  // the sanitizer fails this test if that timer survives.
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  const stopping = dms.stop();
  const again = dms.stop();
  await Promise.all([stopping, again]);
  assert.deepEqual(calls, [60, 0]);
});
