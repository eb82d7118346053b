import assert from "node:assert/strict";
import { type Clock, systemClock } from "../../core/clock.ts";

Deno.test("systemClock reads real time, draws in [0, 1) and runs real timers", async (t) => {
  await t.step("now() is milliseconds since the epoch", () => {
    const before = Date.now();
    const now = systemClock.now();
    assert.ok(now >= before && now <= Date.now());
  });

  await t.step("random() stays in [0, 1)", () => {
    for (let i = 0; i < 1000; i++) {
      const r = systemClock.random();
      assert.ok(r >= 0 && r < 1, `random() returned ${r}`);
    }
  });

  await t.step("setTimer() runs the callback once", async () => {
    const { promise, resolve } = Promise.withResolvers<string>();
    systemClock.setTimer(() => resolve("fired"), 0);
    assert.equal(await promise, "fired");
  });

  await t.step(
    "a cancelled timer never runs, and cancelling twice is safe",
    async () => {
      let fired = false;
      const cancel = systemClock.setTimer(() => (fired = true), 0);
      cancel();
      cancel();
      const { promise, resolve } = Promise.withResolvers<void>();
      systemClock.setTimer(resolve, 1);
      await promise;
      assert.equal(fired, false);
    },
  );
});

Deno.test("systemClock cannot be changed in place", () => {
  assert.ok(Object.isFrozen(systemClock));
  const fixed: Clock = { ...systemClock, now: () => 42 };
  assert.equal(fixed.now(), 42);
  assert.notEqual(systemClock.now(), 42);
});
