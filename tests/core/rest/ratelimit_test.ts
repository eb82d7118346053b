import assert from "node:assert/strict";
import {
  charge,
  type Counter,
  type CounterName,
  decay,
  DEFAULT_HEADROOM,
  MAX_OPEN_ORDERS_PER_PAIR,
  newCounter,
  PUBLIC_LIMITS,
  RateLimiter,
  RateLimiterClosedError,
  REST_TIERS,
  type Tier,
  TRADING_TIERS,
  tradingPenalty,
  waitMsFor,
  withinLimit,
} from "../../../core/rest/ratelimit.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { prng } from "../../fakes/prng.ts";

const TIERS: Tier[] = ["starter", "intermediate", "pro"];

Deno.test("tier tables match REST.md §7", () => {
  assert.deepEqual(REST_TIERS, {
    starter: { max: 15, decayPerSec: 0.33 },
    intermediate: { max: 20, decayPerSec: 0.5 },
    pro: { max: 20, decayPerSec: 1 },
  });
  assert.deepEqual(TRADING_TIERS, {
    starter: { max: 60, decayPerSec: 1 },
    intermediate: { max: 125, decayPerSec: 2.34 },
    pro: { max: 180, decayPerSec: 3.75 },
  });
  assert.deepEqual(MAX_OPEN_ORDERS_PER_PAIR, {
    starter: 60,
    intermediate: 80,
    pro: 225,
  });
  assert.deepEqual(PUBLIC_LIMITS, { max: 5, decayPerSec: 1 });
  assert.ok(Object.isFrozen(REST_TIERS) && Object.isFrozen(REST_TIERS.pro));
});

Deno.test("decay() lowers the level linearly and never below zero", async (t) => {
  const c: Counter = { max: 20, decayPerSec: 1, level: 10, atMs: 1000 };
  await t.step("linear", () => {
    assert.deepEqual(decay(c, 5000), { ...c, level: 6, atMs: 5000 });
  });
  await t.step("floor at zero", () => {
    assert.equal(decay(c, 60_000).level, 0);
  });
  await t.step("a clock that went backwards decays nothing", () => {
    assert.equal(decay(c, 0), c);
    assert.equal(decay(c, 1000), c);
  });
  await t.step("fractional rates", () => {
    const s = { ...newCounter(REST_TIERS.starter, 0), level: 15 };
    assert.ok(Math.abs(decay(s, 3000).level - 14.01) < 1e-9);
  });
});

Deno.test("charge() decays first, then adds the cost without refusing", () => {
  let c = newCounter(REST_TIERS.pro, 0);
  c = charge(c, 2, 0);
  assert.equal(c.level, 2);
  c = charge(c, 1, 1000);
  assert.equal(c.level, 2);
  assert.equal(c.atMs, 1000);
  c = charge(c, 30, 1000);
  assert.equal(c.level, 32);
  assert.equal(withinLimit(c), false);
  assert.throws(() => charge(c, -1, 0), RangeError);
  assert.throws(() => charge(c, Number.NaN, 0), RangeError);
  assert.throws(() => charge(c, Number.POSITIVE_INFINITY, 0), RangeError);
});

Deno.test("waitMsFor() returns the time until the cost fits", async (t) => {
  await t.step("fits now", () => {
    assert.equal(waitMsFor(newCounter(REST_TIERS.starter, 0), 15, 0), 0);
  });
  await t.step("full counter", () => {
    const full = { ...newCounter(REST_TIERS.pro, 0), level: 20 };
    assert.equal(waitMsFor(full, 1, 0), 1000);
    assert.equal(waitMsFor(full, 2, 0), 2000);
    assert.equal(waitMsFor(full, 2, 500), 1500);
    assert.equal(waitMsFor(full, 2, 2000), 0);
  });
  await t.step("starter decay rounds up to whole ms", () => {
    const full = { ...newCounter(REST_TIERS.starter, 0), level: 15 };
    const wait = waitMsFor(full, 1, 0);
    assert.equal(wait, Math.ceil(1000 / 0.33));
    assert.ok(withinLimit(charge(full, 1, wait)));
    assert.ok(!withinLimit(charge(full, 1, wait - 5)));
  });
  await t.step("a cost above max waits for an empty counter", () => {
    const c = { ...newCounter(TRADING_TIERS.starter, 0), level: 10 };
    assert.equal(waitMsFor(c, 400, 0), 10_000);
  });
  await t.step("no decay never fits", () => {
    const stuck: Counter = { max: 1, decayPerSec: 0, level: 1, atMs: 0 };
    assert.equal(waitMsFor(stuck, 1, 0), Number.POSITIVE_INFINITY);
  });
});

Deno.test("tradingPenalty() follows the age table of REST.md §7.2", async (t) => {
  const ages = [
    0,
    4_999,
    5_000,
    9_999,
    10_000,
    14_999,
    15_000,
    44_999,
    45_000,
    89_999,
    90_000,
    299_999,
    300_000,
    3_600_000,
  ];
  const expected: Record<string, number[]> = {
    add: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    amend: [4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1],
    edit: [7, 7, 6, 6, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1],
    cancel: [8, 8, 6, 6, 5, 5, 4, 4, 2, 2, 1, 1, 0, 0],
    "cancel_all": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "cancel_all_after": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  };
  for (const [action, row] of Object.entries(expected)) {
    await t.step(action, () => {
      assert.deepEqual(
        ages.map((age) => tradingPenalty(action as "add", age)),
        row,
      );
    });
  }
  await t.step("batch rows scale with n", () => {
    assert.equal(tradingPenalty("batch_add", 0, 10), 5);
    assert.equal(tradingPenalty("batch_add", 0, 3), 1.5);
    assert.equal(tradingPenalty("batch_cancel", 1_000, 4), 32);
    assert.equal(tradingPenalty("batch_cancel", 60_000, 4), 8);
    assert.equal(tradingPenalty("batch_cancel", 400_000, 4), 0);
  });
  await t.step("unknown or negative ages are the costliest column", () => {
    assert.equal(tradingPenalty("cancel", -5), 8);
    assert.equal(tradingPenalty("cancel", Number.NaN), 8);
  });
  await t.step("bad batch size", () => {
    assert.throws(() => tradingPenalty("batch_add", 0, 0), RangeError);
    assert.throws(() => tradingPenalty("batch_add", 0, 1.5), RangeError);
  });
  await t.step("unknown action", () => {
    assert.throws(() => tradingPenalty("withdraw" as "add", 0), RangeError);
  });
});

Deno.test("the docs' worked example: Intermediate, 50 AddOrders in 10 s leaves 26.6", () => {
  let c = newCounter(TRADING_TIERS.intermediate, 0);
  for (let i = 0; i < 50; i++) c = charge(c, tradingPenalty("add", 0), 0);
  assert.ok(Math.abs(decay(c, 10_000).level - 26.6) < 1e-9);
});

Deno.test("waiting waitMsFor() before each charge never exceeds max (seeded property run)", async (t) => {
  for (const seed of [1, 2, 3, 42, 2024]) {
    await t.step(`seed ${seed}`, () => {
      const random = prng(seed);
      for (
        const limits of [
          ...Object.values(REST_TIERS),
          ...Object.values(TRADING_TIERS),
          PUBLIC_LIMITS,
        ]
      ) {
        let c = newCounter(limits, 0);
        let nowMs = 0;
        for (let i = 0; i < 2000; i++) {
          // Mixed costs, including fractional batch costs, up to max.
          const cost = Math.min(
            limits.max,
            [1, 1, 2, 0.5, 8, 1.5, 4][Math.floor(random() * 7)]!,
          );
          nowMs += Math.floor(random() * random() * 3000);
          nowMs += waitMsFor(c, cost, nowMs);
          c = charge(c, cost, nowMs);
          assert.ok(
            withinLimit(c),
            `level ${c.level} > max ${c.max} after ${i} calls (seed ${seed})`,
          );
        }
      }
    });
  }
});

async function drain(
  clock: FakeClock,
  limiter: RateLimiter,
  jobs: Array<
    {
      counter: CounterName;
      cost: number;
      pair?: string;
      priority?: "cancel" | "order" | "read";
    }
  >,
): Promise<Array<{ i: number; atMs: number; level: number }>> {
  const order: Array<{ i: number; atMs: number; level: number }> = [];
  const all = jobs.map((job, i) =>
    limiter.schedule(job).then(() => {
      const level = limiter.snapshot(job.counter, job.pair).level;
      order.push({ i, atMs: clock.now(), level });
    })
  );
  await clock.settle(Promise.all(all));
  return order;
}

Deno.test("RateLimiter never lets a counter exceed its max", async (t) => {
  for (const tier of TIERS) {
    await t.step(`burst of 100 REST calls, ${tier}`, async () => {
      const clock = new FakeClock(0);
      using limiter = new RateLimiter({
        headroom: 0,
        tier,
        now: clock.now,
        setTimer: clock.setTimer,
      });
      const order = await drain(
        clock,
        limiter,
        Array.from(
          { length: 100 },
          () => ({ counter: "rest" as const, cost: 1 }),
        ),
      );
      assert.equal(order.length, 100);
      const max = REST_TIERS[tier].max;
      for (const o of order) {
        assert.ok(o.level <= max + 1e-9, `level ${o.level} > ${max}`);
      }
      // The first `max` go at once, the rest are paced by the decay.
      assert.equal(order.filter((o) => o.atMs === 0).length, max);
      const expectedEndMs = (100 - max) * 1000 / REST_TIERS[tier].decayPerSec;
      assert.ok(Math.abs(order.at(-1)!.atMs - expectedEndMs) <= 100 - max);
    });
  }
  await t.step("mixed costs over a long run (seeded)", async () => {
    const random = prng(7);
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      headroom: 0,
      tier: "starter",
      now: clock.now,
      setTimer: clock.setTimer,
    });
    for (let round = 0; round < 20; round++) {
      const jobs = Array.from(
        { length: 1 + Math.floor(random() * 15) },
        () => ({
          counter: "rest" as const,
          cost: random() < 0.3 ? 2 : 1,
          priority: random() < 0.2 ? "order" as const : "read" as const,
        }),
      );
      const order = await drain(clock, limiter, jobs);
      for (const o of order) assert.ok(o.level <= 15 + 1e-9);
      clock.advance(Math.floor(random() * 20_000));
    }
  });
  await t.step("trading counters are per pair", async () => {
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      headroom: 0,
      tier: "starter",
      now: clock.now,
      setTimer: clock.setTimer,
    });
    for (let i = 0; i < 60; i++) {
      await limiter.schedule({ counter: "trading", cost: 1, pair: "XBTUSD" });
    }
    // Another pair is unaffected; the full pair has to wait.
    await limiter.schedule({ counter: "trading", cost: 8, pair: "ETHUSD" });
    const late = limiter.schedule({
      counter: "trading",
      cost: 1,
      pair: "XBTUSD",
    });
    assert.equal(limiter.pending("trading", "XBTUSD"), 1);
    clock.advance(999);
    assert.equal(limiter.pending("trading", "XBTUSD"), 1);
    clock.advance(1);
    await late;
    assert.equal(limiter.pending("trading", "XBTUSD"), 0);
    assert.equal(limiter.snapshot("trading", "ETHUSD").level, 8 - 1);
  });
});

Deno.test("RateLimiter serves cancels, then orders, then reads; FIFO within each", async () => {
  const clock = new FakeClock(0);
  using limiter = new RateLimiter({
    headroom: 0,
    tier: "pro",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  // Fill the counter so everything below has to queue.
  for (let i = 0; i < 20; i++) {
    await limiter.schedule({ counter: "rest", cost: 1 });
  }
  const jobs = [
    { counter: "rest" as const, cost: 1, priority: "read" as const },
    { counter: "rest" as const, cost: 1, priority: "order" as const },
    { counter: "rest" as const, cost: 1, priority: "read" as const },
    { counter: "rest" as const, cost: 1, priority: "cancel" as const },
    { counter: "rest" as const, cost: 1, priority: "order" as const },
    { counter: "rest" as const, cost: 1 },
  ];
  const order = await drain(clock, limiter, jobs);
  assert.deepEqual(order.map((o) => o.i), [3, 1, 4, 0, 2, 5]);
  assert.deepEqual(order.map((o) => o.atMs), [
    1000,
    2000,
    3000,
    4000,
    5000,
    6000,
  ]);
});

Deno.test("RateLimiter does not let cheap calls starve a costly one at the head", async () => {
  const clock = new FakeClock(0);
  using limiter = new RateLimiter({
    headroom: 0,
    tier: "pro",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  for (let i = 0; i < 19; i++) {
    await limiter.schedule({ counter: "rest", cost: 1 });
  }
  const order = await drain(clock, limiter, [
    { counter: "rest", cost: 2 },
    { counter: "rest", cost: 1 },
  ]);
  assert.deepEqual(order.map((o) => [o.i, o.atMs]), [[0, 1000], [1, 2000]]);
});

Deno.test("RateLimiter.backoff() saturates the counter and honours a retry time", async (t) => {
  await t.step("saturate", async () => {
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      headroom: 0,
      tier: "intermediate",
      now: clock.now,
      setTimer: clock.setTimer,
    });
    await limiter.schedule({ counter: "rest", cost: 1 });
    limiter.backoff("rest");
    assert.equal(limiter.snapshot("rest").level, 20);
    const order = await drain(clock, limiter, [{ counter: "rest", cost: 1 }]);
    assert.equal(order[0]!.atMs, 2000); // 1 / 0.5 per second
  });
  await t.step("throttled until an absolute time", async () => {
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      headroom: 0,
      tier: "pro",
      now: clock.now,
      setTimer: clock.setTimer,
    });
    limiter.backoff("public", { untilMs: 30_000 });
    limiter.backoff("public", { untilMs: 10_000 }); // an earlier time does not shorten it
    const order = await drain(clock, limiter, [{ counter: "public", cost: 1 }, {
      counter: "public",
      cost: 1,
    }]);
    assert.deepEqual(order.map((o) => o.atMs), [31_000, 32_000]);
  });
  await t.step("trading counter of one pair", () => {
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      headroom: 0,
      tier: "pro",
      now: clock.now,
      setTimer: clock.setTimer,
    });
    limiter.backoff("trading", { pair: "XBTUSD" });
    assert.equal(limiter.snapshot("trading", "XBTUSD").level, 180);
    assert.equal(limiter.snapshot("trading", "ETHUSD").level, 0);
  });
  await t.step(
    "a new waiter ahead of a sleeping lane re-arms the timer",
    async () => {
      const clock = new FakeClock(0);
      using limiter = new RateLimiter({
        headroom: 0,
        tier: "pro",
        now: clock.now,
        setTimer: clock.setTimer,
      });
      limiter.backoff("rest");
      const a = limiter.schedule({ counter: "rest", cost: 2 });
      const b = limiter.schedule({
        counter: "rest",
        cost: 1,
        priority: "cancel",
      });
      assert.equal(clock.pendingTimers, 1);
      const order = await drain(clock, limiter, []);
      assert.deepEqual(order, []);
      clock.advance(1000);
      await b;
      assert.equal(limiter.pending("rest"), 1);
      clock.advance(2000);
      await a;
    },
  );
});

Deno.test("RateLimiter honours abort signals and close()", async (t) => {
  await t.step("abort while waiting", async () => {
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      headroom: 0,
      tier: "pro",
      now: clock.now,
      setTimer: clock.setTimer,
    });
    limiter.backoff("rest");
    const controller = new AbortController();
    const waiting = limiter.schedule({
      counter: "rest",
      cost: 1,
      signal: controller.signal,
    });
    const next = limiter.schedule({ counter: "rest", cost: 1 });
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
    assert.equal(limiter.pending("rest"), 1);
    clock.advance(1000);
    await next;
    assert.equal(clock.pendingTimers, 0);
  });
  await t.step("already aborted", async () => {
    using limiter = new RateLimiter({ headroom: 0 });
    await assert.rejects(
      limiter.schedule({
        counter: "rest",
        cost: 1,
        signal: AbortSignal.abort(new Error("early")),
      }),
      /early/,
    );
  });
  await t.step("close rejects waiters and cancels timers", async () => {
    const clock = new FakeClock(0);
    const limiter = new RateLimiter({
      headroom: 0,
      now: clock.now,
      setTimer: clock.setTimer,
    });
    limiter.backoff("rest");
    const waiting = limiter.schedule({
      counter: "rest",
      cost: 1,
      signal: new AbortController().signal,
    });
    assert.equal(clock.pendingTimers, 1);
    limiter.close();
    await assert.rejects(waiting, RateLimiterClosedError);
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(
      limiter.schedule({ counter: "rest", cost: 1 }),
      RateLimiterClosedError,
    );
  });
  await t.step("bad cost", () => {
    using limiter = new RateLimiter({ headroom: 0 });
    assert.throws(
      () => limiter.schedule({ counter: "rest", cost: -1 }),
      RangeError,
    );
  });
});

Deno.test("RateLimiter defaults: starter tier and the system clock", async () => {
  using limiter = new RateLimiter({ headroom: 0 });
  assert.equal(limiter.tier, "starter");
  assert.equal(limiter.snapshot("rest").max, 15);
  assert.equal(limiter.snapshot("trading", "XBTUSD").max, 60);
  assert.equal(limiter.snapshot("public").max, 5);
  await limiter.schedule({ counter: "public", cost: 1 });
});

Deno.test("one RateLimiter shared by many clients paces them together", async () => {
  const clock = new FakeClock(0);
  using shared = new RateLimiter({
    headroom: 0,
    tier: "starter",
    now: clock.now,
    setTimer: clock.setTimer,
  });
  // Ten "tabs" each fire five calls at once.
  const tabs = Array.from(
    { length: 10 },
    () =>
      Array.from(
        { length: 5 },
        () => shared.schedule({ counter: "rest", cost: 1 }),
      ),
  );
  const times: number[] = [];
  await clock.settle(Promise.all(
    tabs.flat().map((p) =>
      p.then(() => {
        times.push(clock.now());
        assert.ok(shared.snapshot("rest").level <= 15 + 1e-9);
      })
    ),
  ));
  assert.equal(times.length, 50);
  assert.equal(times.filter((t) => t === 0).length, 15);
});

Deno.test("RateLimiter's default headroom keeps one count free on the private counters, never on the public one", async (t) => {
  for (const tier of TIERS) {
    await t.step(`burst of 60 REST and trading calls, ${tier}`, async () => {
      const clock = new FakeClock(0);
      using limiter = new RateLimiter({
        tier,
        now: clock.now,
        setTimer: clock.setTimer,
      });
      for (const counter of ["rest", "trading"] as const) {
        const limits = counter === "rest"
          ? REST_TIERS[tier]
          : TRADING_TIERS[tier];
        const order = await drain(
          clock,
          limiter,
          Array.from({ length: 60 }, () => ({ counter, cost: 1 })),
        );
        assert.equal(order.length, 60);
        // Never closer to the maximum than the headroom.
        for (const o of order) {
          assert.ok(
            o.level <= limits.max - DEFAULT_HEADROOM + 1e-9,
            `${counter} level ${o.level} leaves less than ${DEFAULT_HEADROOM} of ${limits.max}`,
          );
        }
        const atOnce = order.filter((o) => o.atMs === order[0]!.atMs).length;
        assert.equal(atOnce, Math.min(60, limits.max - DEFAULT_HEADROOM));
        // The steady rate is still the decay: one call per 1/decay s.
        const paced = order.slice(atOnce);
        for (let i = 1; i < paced.length; i++) {
          const gap = paced[i]!.atMs - paced[i - 1]!.atMs;
          assert.ok(
            Math.abs(gap - 1000 / limits.decayPerSec) <= 1,
            `gap ${gap} ms at ${limits.decayPerSec}/s`,
          );
        }
        clock.advance(600_000);
      }
    });
  }
  await t.step("the public counter has no headroom", async () => {
    const clock = new FakeClock(0);
    using limiter = new RateLimiter({
      now: clock.now,
      setTimer: clock.setTimer,
    });
    const order = await drain(
      clock,
      limiter,
      Array.from(
        { length: 10 },
        () => ({ counter: "public" as const, cost: 1 }),
      ),
    );
    assert.equal(order.filter((o) => o.atMs === 0).length, PUBLIC_LIMITS.max);
  });
  await t.step("a bad headroom is refused", () => {
    for (const headroom of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => new RateLimiter({ headroom }),
        (e: unknown) => e instanceof RangeError && /headroom/.test(String(e)),
      );
    }
  });
});
