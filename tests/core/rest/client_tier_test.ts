/**
 * The account tier (`connection.api_tier`) reaches the REST client's limiter
 * and decides how fast a burst of orders is admitted. Time is a fake clock
 * throughout: admission times are fake milliseconds, checked against a
 * replay of the limiter's own counter model (`waitMsFor`, `charge`).
 */
import assert from "node:assert/strict";
import { RestClient } from "../../../core/rest/client.ts";
import {
  charge,
  DEFAULT_HEADROOM,
  newCounter,
  RateLimiter,
  REST_TIERS,
  type Tier,
  TRADING_TIERS,
  tradingPenalty,
  waitMsFor,
} from "../../../core/rest/ratelimit.ts";
import { Secret } from "../../../core/secrets/secret.ts";
import { DEFAULT_TRADING_COST_MARGIN } from "../../../core/trade/transport.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { FakeFetch, krakenResult } from "../../fakes/fetch.ts";

/** Vector A's secret (REST.md §2.3), the official documentation example. */
const SECRET =
  "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const KEY = "TestApiKeyQk9xR2mZ7vL4pW8nY3tB6cF1hJ5sD0gA";
const BASE = "https://kraken.invalid";
const START_MS = 1_700_000_000_000;
const TIERS: Tier[] = ["starter", "intermediate", "pro"];

/** What `RestOrderTransport.addOrder` charges a pair's trading counter. */
const ADD_COST = tradingPenalty("add", 0) + DEFAULT_TRADING_COST_MARGIN;

Deno.test("RestClient({ tier }) builds its limiter with that tier's counters", async (t) => {
  for (const tier of TIERS) {
    await t.step(tier, () => {
      const clock = new FakeClock(START_MS);
      using client = new RestClient({
        tier,
        now: clock.now,
        setTimer: clock.setTimer,
      });
      assert.equal(client.tier, tier);
      assert.equal(client.limiter.tier, tier);
      const rest = client.limiter.snapshot("rest");
      assert.deepEqual(
        { max: rest.max, decayPerSec: rest.decayPerSec },
        REST_TIERS[tier],
      );
      const trading = client.limiter.snapshot("trading", "XBTUSD");
      assert.deepEqual(
        { max: trading.max, decayPerSec: trading.decayPerSec },
        TRADING_TIERS[tier],
      );
    });
  }
  await t.step("no tier: Starter, the strictest", () => {
    using client = new RestClient();
    assert.equal(client.tier, "starter");
  });
  await t.step("a shared limiter brings its own tier", () => {
    const limiter = new RateLimiter({ tier: "pro" });
    try {
      const client = new RestClient({ limiter });
      assert.equal(client.tier, "pro");
      assert.equal(client.limiter, limiter);
      assert.equal(new RestClient({ limiter, tier: "pro" }).tier, "pro");
    } finally {
      limiter.close();
    }
  });
  await t.step("a tier that contradicts the shared limiter is refused", () => {
    const limiter = new RateLimiter({ tier: "starter" });
    try {
      assert.throws(
        () => new RestClient({ limiter, tier: "pro" }),
        (e: unknown) =>
          e instanceof RangeError &&
          /tier "pro" differs from the shared limiter's tier "starter"/.test(
            e.message,
          ),
      );
    } finally {
      limiter.close();
    }
  });
});

/**
 * When each order of a burst may go, by replaying the limiter's model: wait
 * `waitMsFor`, then `charge`, in fake milliseconds from 0.
 */
function modelAdmissions(tier: Tier, n: number, cost: number): number[] {
  let counter = newCounter(TRADING_TIERS[tier], 0);
  let t = 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    // The client's default limiter keeps DEFAULT_HEADROOM counts free.
    t += waitMsFor(counter, cost + DEFAULT_HEADROOM, t);
    counter = charge(counter, cost, t);
    out.push(t);
  }
  return out;
}

/**
 * Sends `n` AddOrders on one pair at once through a client built with
 * `tier` and returns the fake time (ms after the start) at which each one
 * reached the wire.
 */
async function burst(tier: Tier, n: number): Promise<number[]> {
  const clock = new FakeClock(START_MS);
  const sentAt: number[] = [];
  let txid = 0;
  const fake = new FakeFetch(() => {
    sentAt.push(clock.now() - START_MS);
    return krakenResult({ txid: [`O-${txid++}`], descr: { order: "buy" } });
  });
  using client = new RestClient({
    baseUrl: BASE,
    fetch: fake.fetch,
    now: clock.now,
    setTimer: clock.setTimer,
    credentials: { key: KEY, secret: new Secret(SECRET) },
    tier,
  });
  let settled = 0;
  const failures: unknown[] = [];
  const calls = Array.from({ length: n }, (_, i) =>
    client.callPrivate(
      "AddOrder",
      {
        pair: "XBTUSD",
        type: "buy",
        ordertype: "limit",
        price: "20000",
        volume: "0.0001",
        userref: i,
      },
      { pair: "XBTUSD", tradingCost: ADD_COST },
    ).catch((e) => failures.push(e)).finally(() => settled++));
  // Move fake time only when nothing can move without it: every call is
  // either parked in the limiter or answered. Then the only timer is the
  // limiter's, and each jump lands exactly where the model says.
  for (let jumps = 0; settled < n; jumps++) {
    assert.ok(jumps <= n, "the burst never finished");
    await clock.until(
      () => settled + client.limiter.pending("trading", "XBTUSD") === n,
      5_000,
    );
    if (settled === n) break;
    assert.equal(clock.pendingTimers, 1, "only the limiter's timer is left");
    clock.advanceTo(clock.nextTimerAtMs()!);
  }
  await Promise.all(calls);
  assert.deepEqual(failures, []);
  assert.equal(fake.calls.length, n);
  return sentAt;
}

Deno.test("a burst of 300 orders on one pair is admitted sooner at Pro than at Starter (fake clock)", async () => {
  const n = 300;
  const seen = {} as Record<Tier, number[]>;
  for (const tier of TIERS) {
    seen[tier] = await burst(tier, n);
    // Exactly the limiter's own model, order by order.
    assert.deepEqual(seen[tier], modelAdmissions(tier, n, ADD_COST), tier);
  }
  const last = (tier: Tier) => seen[tier].at(-1)!;
  // The closed form of the same model: the burst allowance (max less the
  // headroom) goes at once, the rest drains at decayPerSec.
  for (const tier of TIERS) {
    const { max, decayPerSec } = TRADING_TIERS[tier];
    const expectedSec = (n * ADD_COST - (max - DEFAULT_HEADROOM)) /
      decayPerSec;
    assert.ok(
      Math.abs(last(tier) / 1000 - expectedSec) < 0.01,
      `${tier}: last order at ${last(tier)} ms, model ${expectedSec} s`,
    );
  }
  // Starter 60/−1 s⁻¹: 255 s; Intermediate 125/−2.34 s⁻¹: ≈81 s; Pro
  // 180/−3.75 s⁻¹: 36 s.
  assert.ok(last("pro") < last("intermediate"));
  assert.ok(last("intermediate") < last("starter"));
  assert.equal(seen.pro.filter((ms) => ms === 0).length, 170);
  assert.equal(seen.starter.filter((ms) => ms === 0).length, 56);
});
