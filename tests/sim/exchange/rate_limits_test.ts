/**
 * The simulator's own meters against docs/kraken/REST.md §7 — never against
 * core's model: the two are independent on purpose, and
 * tests/server/api_tier_test.ts compares their tables.
 */
import assert from "node:assert/strict";
import {
  Meter,
  OPEN_ORDER_CAPS,
  REST_LIMITS,
  SIM_TIERS,
  TRADING_LIMITS,
  tradingIncrement,
} from "../../../server/sim/exchange/rate_limits.ts";

Deno.test("the tier tables are REST.md §7.1 and §7.2", () => {
  assert.deepEqual(SIM_TIERS, ["starter", "intermediate", "pro"]);
  assert.deepEqual(REST_LIMITS, {
    starter: { max: 15, decayPerSec: 0.33 },
    intermediate: { max: 20, decayPerSec: 0.5 },
    pro: { max: 20, decayPerSec: 1 },
  });
  assert.deepEqual(TRADING_LIMITS, {
    starter: { max: 60, decayPerSec: 1 },
    intermediate: { max: 125, decayPerSec: 2.34 },
    pro: { max: 180, decayPerSec: 3.75 },
  });
  assert.deepEqual(OPEN_ORDER_CAPS, {
    starter: 60,
    intermediate: 80,
    pro: 225,
  });
});

Deno.test("tradingIncrement() follows REST.md §7.2's table column by column", async (t) => {
  // Ages just inside each column: < 5 s, < 10 s, < 15 s, < 45 s, < 90 s, < 300 s, ≥ 300 s.
  const ages = [0, 5_000, 10_000, 15_000, 45_000, 90_000, 300_000];
  await t.step("amend: +1 fixed, then +3 +2 +1", () => {
    assert.deepEqual(
      ages.map((a) => tradingIncrement("amend", a)),
      [4, 3, 2, 1, 1, 1, 1],
    );
  });
  await t.step("edit: +1 fixed, then +6 +5 +4 +2 +1", () => {
    assert.deepEqual(
      ages.map((a) => tradingIncrement("edit", a)),
      [7, 6, 5, 3, 2, 1, 1],
    );
  });
  await t.step("cancel: +8 +6 +5 +4 +2 +1 0", () => {
    assert.deepEqual(
      ages.map((a) => tradingIncrement("cancel", a)),
      [8, 6, 5, 4, 2, 1, 0],
    );
  });
  await t.step("a column's bound belongs to the next column", () => {
    assert.equal(tradingIncrement("cancel", 4_999), 8);
    assert.equal(tradingIncrement("cancel", 299_999), 1);
  });
  await t.step("batches scale with n; add and cancel-all are 1", () => {
    assert.equal(tradingIncrement("add", 0), 1);
    assert.equal(tradingIncrement("batch_add", 0, 15), 7.5);
    assert.equal(tradingIncrement("batch_cancel", 3_000, 4), 32);
    assert.equal(tradingIncrement("cancel_all", 0), 1);
    assert.equal(tradingIncrement("cancel_all_after", 0), 1);
  });
  await t.step("an unknown or negative age counts as brand new", () => {
    assert.equal(tradingIncrement("cancel", Number.NaN), 8);
    assert.equal(tradingIncrement("cancel", -1), 8);
  });
});

Deno.test("Meter: REST.md §7.2's worked example, 50 adds in 10 s at Intermediate leave 26.6", () => {
  const meter = new Meter(TRADING_LIMITS.intermediate, 0);
  for (let i = 0; i < 50; i++) meter.add(1, i * 200);
  // The last add is at 9.8 s; by 10 s the level has decayed for 10 s in all.
  assert.equal(meter.level(10_000), 50 - 10 * 2.34);
});

Deno.test("Meter.tryAdd() refuses without charging; the level decays exactly", () => {
  const meter = new Meter(REST_LIMITS.starter, 0);
  for (let i = 0; i < 15; i++) assert.ok(meter.tryAdd(1, 0));
  assert.equal(meter.tryAdd(1, 0), false);
  assert.equal(meter.level(0), 15, "a refusal is not charged");
  // One point drains in 1/0.33 s = 3030.3 ms: not yet at 3030, at 3031 it has.
  assert.equal(meter.tryAdd(1, 3_030), false);
  assert.ok(meter.tryAdd(1, 3_031));
  assert.equal(meter.level(3_031), 15 - 1.00023 + 1);
});

Deno.test("Meter.add() charges past the maximum and says so", () => {
  const meter = new Meter({ max: 2, decayPerSec: 1 }, 0);
  assert.ok(meter.add(2, 0));
  assert.equal(meter.add(1, 0), false);
  assert.equal(meter.level(0), 3);
  assert.equal(meter.level(5_000), 0, "never below zero");
  assert.throws(() => meter.add(-1, 0), RangeError);
  assert.throws(() => meter.tryAdd(Number.POSITIVE_INFINITY, 0), RangeError);
});

Deno.test("Meter: a clock that steps back decays nothing", () => {
  const meter = new Meter(REST_LIMITS.pro, 10_000);
  meter.add(5, 10_000);
  assert.equal(meter.level(9_000), 5);
  assert.deepEqual(meter.snapshot(12_000), {
    max: 20,
    decayPerSec: 1,
    level: 3,
    atMs: 12_000,
  });
});
