/**
 * The stale-order repositioner's decisions: the policy and its typed
 * errors, the amend target, and a property test over random order sets,
 * quotes and ages that it names exactly the orders its policy names —
 * never a fresh, near-touch, non-limit, foreign or non-allowed one — and
 * acts on every one of them within one pass up to the per-minute cap.
 * The scheduler runs on a fake clock.
 */

import assert from "node:assert/strict";
import {
  ConfigError,
  DEFAULT_CONFIG,
  parseConfig,
  type RepositionConfig,
} from "../../../core/config/config.ts";
import { compareDecimal, isMultipleOf } from "../../../core/decimal.ts";
import type { PairMetadata } from "../../../core/market/pairs.ts";
import { tradingPenalty } from "../../../core/rest/ratelimit.ts";
import {
  amendTarget,
  isFar,
  planReposition,
  type RepositionAction,
  Repositioner,
  type RepositionEvent,
  repositionHalt,
  type RepositionOrder,
  type RepositionOutcome,
  type RepositionPolicy,
  repositionPolicy,
  RepositionPolicyError,
  type RepositionQuote,
  type RepositionStatus,
} from "../../../core/trade/reposition.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { prng } from "../../fakes/prng.ts";
import { ethusd, NOW_MS, xbtusd, xdgusd } from "./_fixtures.ts";

const READY: RepositionStatus = {
  route: "paper",
  deadMan: "not_required",
  account: "ready",
  halted: null,
};

function policy(overrides: Partial<RepositionConfig> = {}): RepositionPolicy {
  return repositionPolicy({
    ...DEFAULT_CONFIG.trading.reposition,
    enabled: true,
    ...overrides,
  });
}

Deno.test("policy: documented defaults, off by default", () => {
  const p = repositionPolicy(DEFAULT_CONFIG.trading.reposition);
  assert.deepEqual(p, {
    enabled: false,
    maxAgeMs: 300_000,
    distanceBps: 50,
    action: "amend",
    offsetTicks: 0,
    maxActionsPerMinute: 6,
    pairs: [],
    intervalMs: 10_000,
  });
  const { config } = parseConfig(
    "trading:\n  reposition:\n    enabled: true\n    action: cancel\n    pairs: [btc/usd]\n",
  );
  assert.equal(config.trading.reposition.action, "cancel");
  assert.deepEqual(config.trading.reposition.pairs, ["BTC/USD"]);
  assert.equal(config.trading.reposition.max_age_seconds, 300);
});

Deno.test("policy: bad values are typed errors naming the key", () => {
  const bad: [string, string][] = [
    ["action: move", "trading.reposition.action"],
    ["distance_bps: -1", "trading.reposition.distance_bps"],
    ["max_age_seconds: 0", "trading.reposition.max_age_seconds"],
    ["offset_ticks: 1.5", "trading.reposition.offset_ticks"],
    ["max_actions_per_minute: 0", "trading.reposition.max_actions_per_minute"],
    ["enabled: yes please", "trading.reposition.enabled"],
    ["pairs: BTC/USD", "trading.reposition.pairs"],
  ];
  for (const [line, path] of bad) {
    assert.throws(
      () => parseConfig(`trading:\n  reposition:\n    ${line}\n`),
      (error: unknown) =>
        error instanceof ConfigError && error.path === path &&
        error.line === 3,
      line,
    );
  }
  // Hand-built configs are checked too.
  const base = DEFAULT_CONFIG.trading.reposition;
  const cases: [Partial<Record<keyof RepositionConfig, unknown>>, string][] = [
    [{ action: "move" }, "trading.reposition.action"],
    [{ distance_bps: Number.NaN }, "trading.reposition.distance_bps"],
    [{ offset_ticks: 0.5 }, "trading.reposition.offset_ticks"],
    [
      { check_interval_seconds: 0 },
      "trading.reposition.check_interval_seconds",
    ],
    [{ pairs: [""] }, "trading.reposition.pairs"],
    [{ enabled: "true" }, "trading.reposition.enabled"],
  ];
  for (const [change, field] of cases) {
    assert.throws(
      () => repositionPolicy({ ...base, ...change } as RepositionConfig),
      (error: unknown) =>
        error instanceof RepositionPolicyError && error.field === field,
      field,
    );
  }
});

Deno.test("halt: every disabled state names its reason", () => {
  assert.equal(repositionHalt(READY), null);
  assert.equal(
    repositionHalt({ ...READY, route: "live", deadMan: "armed" }),
    null,
  );
  const halted: RepositionStatus[] = [
    { ...READY, halted: "operator" },
    { ...READY, route: undefined },
    { ...READY, route: "dry_run" },
    { ...READY, account: "loading" },
    { ...READY, account: "failed" },
    { ...READY, route: "live", deadMan: "arming" },
    { ...READY, route: "live", deadMan: "off" },
    { ...READY, route: "live", deadMan: "disarming" },
  ];
  for (const status of halted) {
    assert.ok(repositionHalt(status), JSON.stringify(status));
  }
});

Deno.test("amend target: the touch, offsets, never across the spread", () => {
  const pair = xbtusd(); // tick 0.1
  const q = { bid: "25000", ask: "25001" };
  assert.equal(amendTarget("buy", q, pair, 0), "25000");
  assert.equal(amendTarget("buy", q, pair, 3), "24999.7");
  assert.equal(amendTarget("buy", q, pair, -2), "25000.2");
  assert.equal(amendTarget("sell", q, pair, 0), "25001");
  assert.equal(amendTarget("sell", q, pair, 2), "25001.2");
  // Into the spread, but never at or past the other side.
  assert.equal(amendTarget("buy", q, pair, -100), "25000.9");
  assert.equal(amendTarget("sell", q, pair, -100), "25000.1");
  // A one-tick spread leaves no price inside it: the touch itself.
  assert.equal(
    amendTarget("buy", { bid: "25000", ask: "25000.1" }, pair, -5),
    "25000",
  );
  // A crossed book leaves nothing.
  assert.equal(
    amendTarget("buy", { bid: "25001", ask: "25000" }, pair, 0),
    null,
  );
  assert.ok(isFar("sell", "101", "100", 50));
  assert.ok(!isFar("sell", "100.5", "100", 50));
});

Deno.test("amend target: property over random books and offsets", () => {
  const random = prng(11);
  const pairs = [xbtusd(), ethusd(), xdgusd()];
  for (let i = 0; i < 2000; i++) {
    const pair = pairs[i % pairs.length]!;
    const tick = pair.tickSize;
    const bidTicks = 1 + Math.floor(random() * 1_000_000);
    const spread = 1 + Math.floor(random() * 20);
    const bid = mul(tick, bidTicks);
    const ask = mul(tick, bidTicks + spread);
    const offset = Math.floor(random() * 41) - 20;
    for (const side of ["buy", "sell"] as const) {
      const target = amendTarget(side, { bid, ask }, pair, offset);
      const msg = `${pair.id} ${side} ${bid}/${ask} offset ${offset}`;
      if (target === null) {
        assert.ok(side === "buy" && bidTicks - offset <= 0, msg);
        continue;
      }
      assert.ok(isMultipleOf(target, tick), `${msg}: ${target} off grid`);
      assert.ok(compareDecimal(target, "0") > 0, msg);
      if (side === "buy") {
        assert.ok(compareDecimal(target, ask) < 0, `${msg}: ${target}`);
        if (offset >= 0) assert.ok(compareDecimal(target, bid) <= 0, msg);
      } else {
        assert.ok(compareDecimal(target, bid) > 0, `${msg}: ${target}`);
        if (offset >= 0) assert.ok(compareDecimal(target, ask) >= 0, msg);
      }
    }
  }
});

/** `tick × n` as decimal text (n a whole number). */
function mul(tick: string, n: number): string {
  const decimals = tick.includes(".") ? tick.split(".")[1]!.length : 0;
  const units = BigInt(tick.replace(".", "")) * BigInt(n);
  const text = units.toString().padStart(decimals + 1, "0");
  return decimals === 0
    ? text
    : `${text.slice(0, -decimals)}.${text.slice(-decimals)}`;
}

interface Generated {
  order: RepositionOrder;
  /** The oracle: whether the policy names this order (in integer ticks). */
  named: boolean;
}

/**
 * A random order: prices in whole ticks, so the oracle decides "far" with
 * integers, apart from the decimal code under test.
 */
function randomOrder(
  random: () => number,
  n: number,
  p: RepositionPolicy,
  quotes: Map<string, { bidTicks: number; askTicks: number } | undefined>,
  pairs: PairMetadata[],
  allowed: Set<string>,
): Generated {
  const pair = pairs[Math.floor(random() * pairs.length)]!;
  const side = random() < 0.5 ? "buy" : "sell";
  const type = random() < 0.8
    ? "limit"
    : ["market", "stop-loss", "iceberg", "take-profit-limit"][
      Math.floor(random() * 4)
    ]!;
  const status = random() < 0.85
    ? (random() < 0.7 ? "new" : "partially_filled")
    : ["pending_new", "filled", "canceled", "ambiguous"][
      Math.floor(random() * 4)
    ]!;
  const timeInForce = random() < 0.9 ? "GTC" : "IOC";
  const placedByKrakked = random() < 0.9;
  const ageMs = Math.floor(random() * 2 * p.maxAgeMs);
  const quote = quotes.get(pair.id);
  const touchTicks = quote === undefined
    ? 100_000
    : side === "buy"
    ? quote.bidTicks
    : quote.askTicks;
  // Distance 0–200 bps either side of the policy's, in ticks.
  const bps = random() * 2 * Math.max(p.distanceBps, 1);
  const gapTicks = Math.round(touchTicks * bps / 10_000) +
    (random() < 0.2 ? 0 : 0);
  const priceTicks = side === "buy"
    ? Math.max(1, touchTicks - gapTicks)
    : touchTicks + gapTicks;
  const farInTicks = quote !== undefined &&
    (side === "buy" ? touchTicks - priceTicks : priceTicks - touchTicks) *
          10_000 > p.distanceBps * touchTicks;
  const order: RepositionOrder = {
    key: `userref:${n}`,
    orderId: `O${n}`,
    clientRef: `userref:${n}`,
    pair,
    side,
    type,
    status,
    limitPrice: type === "market" ? null : mul(pair.tickSize, priceTicks),
    postOnly: random() < 0.5,
    timeInForce,
    placedByKrakked,
    changedAtMs: NOW_MS - ageMs,
  };
  const named = type === "limit" &&
    (status === "new" || status === "partially_filled") &&
    timeInForce === "GTC" && placedByKrakked &&
    (allowed.size === 0 || allowed.has(pair.id)) && ageMs >= p.maxAgeMs &&
    farInTicks;
  return { order, named };
}

Deno.test("plan: names exactly the orders its policy names (property)", () => {
  const pairs = [xbtusd(), ethusd(), xdgusd()];
  const seen = { named: 0, acted: 0, deferred: 0, leftAlone: 0 };
  for (let seed = 1; seed <= 300; seed++) {
    const random = prng(seed);
    const allow = random() < 0.5
      ? []
      : pairs.filter(() => random() < 0.5).map((p) => p.wsV2);
    const p = policy({
      max_age_seconds: 1 + Math.floor(random() * 600),
      distance_bps: Math.floor(random() * 200),
      action: random() < 0.5 ? "amend" : "cancel",
      offset_ticks: Math.floor(random() * 7) - 3,
      max_actions_per_minute: 1 + Math.floor(random() * 12),
      pairs: allow,
    });
    const allowed = new Set(
      pairs.filter((pair) => allow.includes(pair.wsV2)).map((pair) => pair.id),
    );
    const quotes = new Map<
      string,
      { bidTicks: number; askTicks: number } | undefined
    >();
    for (const pair of pairs) {
      const bidTicks = 1_000 + Math.floor(random() * 1_000_000);
      quotes.set(
        pair.id,
        random() < 0.1
          ? undefined
          : { bidTicks, askTicks: bidTicks + 1 + Math.floor(random() * 30) },
      );
    }
    const quoteOf = (id: string): RepositionQuote | undefined => {
      const q = quotes.get(id);
      const pair = pairs.find((x) => x.id === id)!;
      return q === undefined ? undefined : {
        bid: mul(pair.tickSize, q.bidTicks),
        ask: mul(pair.tickSize, q.askTicks),
      };
    };
    const recent = Array.from(
      { length: Math.floor(random() * 4) },
      () => NOW_MS - Math.floor(random() * 120_000),
    );
    const generated = Array.from(
      { length: Math.floor(random() * 40) },
      (_, i) => randomOrder(random, i, p, quotes, pairs, allowed),
    );
    const plan = planReposition({
      orders: generated.map((g) => g.order),
      quote: quoteOf,
      nowMs: NOW_MS,
      policy: p,
      status: READY,
      recentActionsMs: recent,
    });
    const msg = `seed ${seed}`;
    assert.equal(plan.halted, null, msg);
    const byKey = new Map(generated.map((g) => [g.order.key, g]));
    const touched = [...plan.actions, ...plan.deferred.map((d) => d.action)];
    // Each order at most once; only named ones, and every amendable named one.
    assert.equal(new Set(touched.map((a) => a.key)).size, touched.length, msg);
    for (const action of touched) {
      const g = byKey.get(action.key)!;
      assert.ok(g.named, `${msg}: ${action.key} was not named by the policy`);
      checkAction(action, g.order, quoteOf(g.order.pair.id)!, p, msg);
    }
    const namedKeys = generated.filter((g) => g.named).map((g) => g.order.key);
    seen.named += namedKeys.length;
    seen.acted += plan.actions.length;
    seen.deferred += plan.deferred.length;
    seen.leftAlone += generated.length - namedKeys.length;
    const touchedKeys = new Set(touched.map((a) => a.key));
    for (const key of namedKeys) {
      if (touchedKeys.has(key)) continue;
      // Only an amend whose target is not closer than the order is skipped.
      const g = byKey.get(key)!;
      assert.equal(p.action, "amend", `${msg}: ${key} named but untouched`);
      const target = amendTarget(
        g.order.side,
        quoteOf(g.order.pair.id)!,
        g.order.pair,
        p.offsetTicks,
      );
      assert.ok(
        target === null ||
          (g.order.side === "buy"
            ? compareDecimal(target, g.order.limitPrice!) <= 0
            : compareDecimal(target, g.order.limitPrice!) >= 0),
        `${msg}: ${key} had a closer target ${target}`,
      );
    }
    // The cap: within one pass, as many as the last minute leaves.
    const room = Math.max(
      0,
      p.maxActionsPerMinute - recent.filter((t) => NOW_MS - t < 60_000).length,
    );
    assert.equal(plan.actions.length, Math.min(room, touched.length), msg);
    assert.ok(plan.deferred.every((d) => d.skip === "rate_cap"), msg);
    // Farthest first.
    for (let i = 1; i < plan.actions.length; i++) {
      assert.ok(
        compareDecimal(
          plan.actions[i - 1]!.distanceBps,
          plan.actions[i]!.distanceBps,
        ) >= 0,
        msg,
      );
    }
  }
  // The generator covers every case in quantity.
  for (const [what, n] of Object.entries(seen)) {
    assert.ok(n > 100, `only ${n} ${what} orders over all seeds`);
  }
});

function checkAction(
  action: RepositionAction,
  order: RepositionOrder,
  quote: RepositionQuote,
  p: RepositionPolicy,
  msg: string,
): void {
  assert.equal(action.kind, p.action, msg);
  assert.equal(action.fromPrice, order.limitPrice, msg);
  assert.equal(action.touch, order.side === "buy" ? quote.bid : quote.ask);
  assert.ok(action.reason.startsWith("stale: "), msg);
  if (action.kind === "cancel") {
    assert.equal(action.toPrice, undefined, msg);
    assert.equal(action.cost, tradingPenalty("cancel", action.ageMs), msg);
    return;
  }
  const to = action.toPrice!;
  assert.equal(action.cost, tradingPenalty("amend", action.ageMs), msg);
  assert.ok(isMultipleOf(to, order.pair.tickSize), `${msg}: ${to} off grid`);
  if (order.side === "buy") {
    assert.ok(compareDecimal(to, quote.ask) < 0, `${msg}: buy ${to} crosses`);
    assert.ok(compareDecimal(to, order.limitPrice!) > 0, msg);
  } else {
    assert.ok(compareDecimal(to, quote.bid) > 0, `${msg}: sell ${to} crosses`);
    assert.ok(compareDecimal(to, order.limitPrice!) < 0, msg);
  }
}

function staleBuy(n: number, price = "24000"): RepositionOrder {
  return {
    key: `userref:${n}`,
    orderId: `O${n}`,
    clientRef: `userref:${n}`,
    pair: xbtusd(),
    side: "buy",
    type: "limit",
    status: "new",
    limitPrice: price,
    postOnly: true,
    placedByKrakked: true,
    changedAtMs: NOW_MS - 600_000,
  };
}

const QUOTE = { bid: "25000", ask: "25000.5" };

Deno.test("plan: nothing at all when halted or disabled", () => {
  const orders = [staleBuy(1), staleBuy(2)];
  const base = {
    orders,
    quote: () => QUOTE,
    nowMs: NOW_MS,
    recentActionsMs: [],
  };
  assert.equal(
    planReposition({ ...base, policy: policy(), status: READY }).actions.length,
    2,
  );
  for (
    const status of [
      { ...READY, halted: "kill switch" },
      { ...READY, account: "loading" as const },
      { ...READY, route: "live" as const, deadMan: "arming" as const },
      { ...READY, route: undefined },
    ]
  ) {
    const plan = planReposition({ ...base, policy: policy(), status });
    assert.deepEqual(plan.actions, []);
    assert.deepEqual(plan.deferred, []);
    assert.ok(plan.halted);
  }
  const off = planReposition({
    ...base,
    policy: policy({ enabled: false }),
    status: READY,
  });
  assert.deepEqual(off.actions, []);
});

Deno.test("plan: a pair's trading counter room defers what would not fit", () => {
  // Amends of orders ≥ 15 s old cost 1 each; a cancel ≥ 300 s costs 0.
  const orders = [staleBuy(1), staleBuy(2), staleBuy(3)];
  const plan = planReposition({
    orders,
    quote: () => QUOTE,
    nowMs: NOW_MS,
    policy: policy(),
    status: READY,
    recentActionsMs: [],
    counterRoom: () => 2,
  });
  assert.equal(plan.actions.length, 2);
  assert.deepEqual(plan.deferred.map((d) => d.skip), ["trading_counter"]);
  assert.ok(plan.actions.every((a) => a.cost === 1));
});

/** A port over plain data that records what was sent and when. */
function fakePort(clock: FakeClock, orders: RepositionOrder[]) {
  const sent: { atMs: number; action: RepositionAction }[] = [];
  let status: RepositionStatus = READY;
  let onAct: (() => void) | undefined;
  return {
    sent,
    setStatus(next: RepositionStatus) {
      status = next;
    },
    onAct(fn: () => void) {
      onAct = fn;
    },
    port: {
      orders: () => Promise.resolve(orders),
      quote: () => QUOTE,
      status: () => status,
      act(action: RepositionAction): Promise<RepositionOutcome> {
        sent.push({ atMs: clock.now(), action });
        // The amend lands: the order is at the touch and young again.
        const order = orders.find((o) => o.key === action.key)!;
        if (action.kind === "amend") order.limitPrice = action.toPrice!;
        else order.status = "canceled";
        order.changedAtMs = clock.now();
        onAct?.();
        return Promise.resolve({ outcome: "done" });
      },
    },
  };
}

async function drive(clock: FakeClock, ms: number, stepMs: number) {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(stepMs);
    // Let a pass started by the timer finish.
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
}

Deno.test("scheduler: every interval, and never above the per-minute cap", async () => {
  const clock = new FakeClock(NOW_MS);
  const orders = Array.from({ length: 30 }, (_, i) => staleBuy(i + 1));
  const fake = fakePort(clock, orders);
  const events: RepositionEvent[] = [];
  const r = new Repositioner({
    policy: policy({ max_actions_per_minute: 4, check_interval_seconds: 5 }),
    port: fake.port,
    clock,
    onEvent: (e) => events.push(e),
  });
  r.start();
  await drive(clock, 5 * 60_000, 1_000);
  await r.stop();
  // 30 stale orders, 4 a minute: 20 in 5 minutes, and no 60 s window above 4.
  assert.equal(fake.sent.length, 20);
  for (const { atMs } of fake.sent) {
    const window = fake.sent.filter((s) =>
      s.atMs >= atMs && s.atMs < atMs + 60_000
    );
    assert.ok(window.length <= 4, `${window.length} actions from ${atMs}`);
  }
  // Each order acted on once (amended to the touch, then young and near).
  assert.equal(new Set(fake.sent.map((s) => s.action.key)).size, 20);
  assert.ok(fake.sent.every((s) => s.action.toPrice === "25000"));
  assert.equal(
    events.filter((e) => e.type === "action").length,
    20,
  );
  assert.ok(events.some((e) => e.type === "deferred" && e.skip === "rate_cap"));
  // Passes happen only on the interval: nothing before the first 5 s.
  assert.ok(fake.sent[0]!.atMs >= NOW_MS + 5_000);
});

Deno.test("scheduler: a halt mid-pass stops the rest of the pass", async () => {
  const clock = new FakeClock(NOW_MS);
  const orders = Array.from({ length: 5 }, (_, i) => staleBuy(i + 1));
  const fake = fakePort(clock, orders);
  let first = true;
  fake.onAct(() => {
    if (first) fake.setStatus({ ...READY, route: "live", deadMan: "arming" });
    first = false;
  });
  const events: RepositionEvent[] = [];
  const r = new Repositioner({
    policy: policy({ max_actions_per_minute: 10 }),
    port: fake.port,
    clock,
    onEvent: (e) => events.push(e),
  });
  const pass = await r.runOnce();
  assert.equal(fake.sent.length, 1);
  assert.equal(pass.halted, "the dead-man switch is arming");
  assert.ok(events.some((e) => e.type === "halted"));
  // Still halted: the next pass does nothing.
  const next = await r.runOnce();
  assert.equal(next.acted.length, 0);
  assert.equal(fake.sent.length, 1);
  fake.setStatus(READY);
  await r.runOnce();
  assert.equal(fake.sent.length, 5);
  assert.ok(events.some((e) => e.type === "resumed"));
});

Deno.test("scheduler: a refused order is not retried until max age passes", async () => {
  const clock = new FakeClock(NOW_MS);
  const orders = [staleBuy(1)];
  let calls = 0;
  const r = new Repositioner({
    policy: policy({ max_age_seconds: 60 }),
    port: {
      orders: () => Promise.resolve(orders),
      quote: () => QUOTE,
      status: () => READY,
      act: () => {
        calls++;
        return Promise.resolve({
          outcome: "refused",
          rule: "max_notional",
          message: "too big",
        });
      },
    },
    clock,
  });
  await r.runOnce();
  clock.advance(30_000);
  await r.runOnce();
  assert.equal(calls, 1);
  clock.advance(30_000);
  await r.runOnce();
  assert.equal(calls, 2);
  // Refusals were never sent: they do not count toward the cap.
  assert.deepEqual(r.recentActionsMs, []);
});
