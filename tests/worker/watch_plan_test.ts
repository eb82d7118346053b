/**
 * The two-tier watch planner on a fake clock: the focus stays bounded, a
 * flickering pair does not churn subscriptions, every scout is on exactly
 * one connection, sockets stay within their budget, and applying the diffs
 * step by step always lands on the planned state.
 */

import assert from "node:assert/strict";
import {
  diffPlans,
  emptyPlan,
  entryKey,
  FOCUS_ENTRIES_PER_PAIR,
  type FocusParams,
  type FocusReason,
  FocusTracker,
  type PlannedEntry,
  planUsage,
  planWatch,
  watchLimits,
  type WatchPlan,
} from "../../worker/watch_plan.ts";

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS: FocusReason[] = ["detail", "order", "position", "pinned"];

function symbols(n: number, prefix = "SYN"): string[] {
  return Array.from(
    { length: n },
    (_, i) => `${prefix}${String(i).padStart(4, "0")}/USD`,
  );
}

const PARAMS: FocusParams = {
  detailDepth: 10,
  intervalMin: 5,
  detail: undefined,
};

/** Apply a diff to a "wire" state the way the worker does. */
function apply(
  wire: Map<number, Map<string, PlannedEntry>>,
  from: WatchPlan,
  to: WatchPlan,
  maxSymbolsPerRequest: number,
): { frames: number; churn: number } {
  const diff = diffPlans(from, to, { maxSymbolsPerRequest });
  let frames = 0;
  let churn = 0;
  for (const index of diff.close) wire.delete(index);
  for (const index of diff.open) {
    assert.ok(!wire.has(index), `socket ${index} opened twice`);
    wire.set(index, new Map());
  }
  for (const [index, entries] of diff.unsubscribe) {
    const held = wire.get(index);
    assert.ok(held, `unsubscribe on closed socket ${index}`);
    for (const entry of entries) {
      assert.ok(held.delete(entryKey(entry)), `${entryKey(entry)} not held`);
      churn++;
      frames++;
    }
  }
  for (const [index, groups] of diff.subscribe) {
    const held = wire.get(index);
    assert.ok(held, `subscribe on closed socket ${index}`);
    for (const group of groups) {
      assert.ok(group.length > 0 && group.length <= maxSymbolsPerRequest);
      const kinds = new Set(
        group.map((e) => `${e.channel}:${e.depth ?? e.interval}`),
      );
      assert.equal(kinds.size, 1, "one channel and params per request");
      frames++;
      for (const entry of group) {
        const key = entryKey(entry);
        assert.ok(!held.has(key), `${key} subscribed twice`);
        // One book depth per symbol per connection.
        if (entry.channel === "book") {
          for (const other of held.values()) {
            assert.ok(
              !(other.channel === "book" && other.symbol === entry.symbol),
              `book ${entry.symbol} held at two depths`,
            );
          }
        }
        held.set(key, entry);
        if (entry.channel !== "ticker") churn++;
      }
    }
  }
  return { frames, churn };
}

function assertInvariants(
  plan: WatchPlan,
  scout: readonly string[],
  limits: ReturnType<typeof watchLimits>,
): void {
  // Every scout on exactly one connection (or reported unscouted).
  const seen = new Map<string, number>();
  for (const [index, entries] of plan.connections) {
    assert.ok(index < limits.maxConnections, `socket ${index} over budget`);
    assert.ok(
      entries.size <= limits.maxEntriesPerConnection,
      `socket ${index} holds ${entries.size} entries`,
    );
    assert.ok(entries.size > 0, `socket ${index} is empty but open`);
    for (const entry of entries.values()) {
      if (entry.channel !== "ticker") {
        assert.equal(index, 0, "focus channels live on socket 0");
        continue;
      }
      assert.ok(!seen.has(entry.symbol), `${entry.symbol} scouted twice`);
      seen.set(entry.symbol, index);
    }
  }
  const unscouted = new Set(plan.unscouted);
  for (const symbol of scout) {
    assert.ok(
      seen.has(symbol) !== unscouted.has(symbol),
      `${symbol} scouted ${seen.has(symbol)} / unscouted ${
        unscouted.has(symbol)
      }`,
    );
  }
  assert.equal(seen.size + unscouted.size, new Set(scout).size);
  assert.ok(plan.focus.length <= limits.maxFocus);
}

Deno.test("watchLimits refuses bad budgets with a RangeError", () => {
  assert.throws(() => watchLimits({ maxFocus: 0 }), RangeError);
  assert.throws(() => watchLimits({ lingerMs: -1 }), RangeError);
  assert.throws(() => watchLimits({ maxConnections: 1.5 }), RangeError);
  assert.throws(
    () => watchLimits({ maxFocus: 50, maxEntriesPerConnection: 100 }),
    RangeError,
  );
  assert.equal(watchLimits({ lingerMs: 0 }).lingerMs, 0);
});

Deno.test("FocusTracker: bounded, and the detail pair always first", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = rng(seed);
    const maxFocus = 1 + Math.floor(random() * 6);
    const lingerMs = 1000 + Math.floor(random() * 5000);
    const tracker = new FocusTracker({ maxFocus, lingerMs });
    const pool = symbols(12);
    let nowMs = 0;
    for (let step = 0; step < 400; step++) {
      nowMs += Math.floor(random() * (lingerMs / 3));
      const wanted: [string, FocusReason][] = [];
      for (let i = 0; i < 6; i++) {
        if (random() < 0.5) {
          wanted.push([
            pool[Math.floor(random() * pool.length)] as string,
            REASONS[1 + Math.floor(random() * 3)] as FocusReason,
          ]);
        }
      }
      if (random() < 0.8) {
        wanted.push([
          pool[Math.floor(random() * pool.length)] as string,
          "detail",
        ]);
      }
      const decision = tracker.update(wanted, nowMs);
      assert.ok(decision.focus.length <= maxFocus, "focus over its bound");
      assert.equal(new Set(decision.focus).size, decision.focus.length);
      const detail = wanted.find(([, r]) => r === "detail")?.[0];
      if (detail !== undefined) {
        assert.equal(decision.focus[0], detail, "the detail pair comes first");
      }
      assert.deepEqual(new Set(tracker.focused), new Set(decision.focus));
      for (const symbol of decision.promoted) {
        assert.ok(decision.focus.includes(symbol));
      }
      for (const symbol of decision.demoted) {
        assert.ok(!decision.focus.includes(symbol));
      }
      // A wanted pair is either focused or refused, never lost.
      for (const [symbol] of wanted) {
        assert.ok(
          decision.focus.includes(symbol) || decision.refused.includes(symbol),
          `${symbol} neither focused nor refused`,
        );
      }
    }
  }
});

Deno.test("FocusTracker: a pair flickering faster than the linger is promoted once and never demoted", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const random = rng(seed);
    const maxFocus = 3 + Math.floor(random() * 6);
    const lingerMs = 1000 + Math.floor(random() * 5000);
    const tracker = new FocusTracker({ maxFocus, lingerMs });
    // Room for everyone: the flickering pairs plus a steady set.
    const flicker = symbols(2, "FLK");
    const steady = symbols(maxFocus - 2, "STD");
    const promotions = new Map<string, number>();
    const demotions = new Map<string, number>();
    let nowMs = 0;
    let on = true;
    for (let step = 0; step < 500; step++) {
      // In and out, each phase shorter than half the linger.
      nowMs += 1 + Math.floor(random() * (lingerMs / 2 - 1));
      on = !on;
      const wanted: [string, FocusReason][] = steady.filter(() =>
        random() < 0.7
      ).map((s) => [s, "position"]);
      if (on) { for (const s of flicker) wanted.push([s, "pinned"]); }
      const decision = tracker.update(wanted, nowMs);
      for (const s of decision.promoted) {
        promotions.set(s, (promotions.get(s) ?? 0) + 1);
      }
      for (const s of decision.demoted) {
        demotions.set(s, (demotions.get(s) ?? 0) + 1);
      }
      if (step > 0) {
        for (const s of flicker) assert.ok(decision.focus.includes(s));
      }
    }
    for (const s of flicker) {
      assert.equal(promotions.get(s), 1, `seed ${seed}: ${s} churned`);
      assert.equal(demotions.get(s), undefined, `seed ${seed}: ${s} demoted`);
    }
  }
});

Deno.test("FocusTracker: demotion happens exactly when the linger runs out", () => {
  const tracker = new FocusTracker({ maxFocus: 3, lingerMs: 10_000 });
  tracker.update([["A/USD", "pinned"], ["B/USD", "order"]], 0);
  const lingering = tracker.update([["B/USD", "order"]], 1000);
  assert.deepEqual(lingering.demoted, []);
  assert.equal(lingering.nextChangeAtMs, 10_000);
  assert.deepEqual(tracker.update([["B/USD", "order"]], 9_999).demoted, []);
  assert.deepEqual(tracker.update([["B/USD", "order"]], 10_000).demoted, [
    "A/USD",
  ]);
});

Deno.test("FocusTracker: a full focus refuses weaker pairs and lingering pairs yield", () => {
  const tracker = new FocusTracker({ maxFocus: 2, lingerMs: 10_000 });
  tracker.update([["A/USD", "pinned"], ["B/USD", "pinned"]], 0);
  const full = tracker.update(
    [["A/USD", "pinned"], ["B/USD", "pinned"], ["C/USD", "pinned"]],
    1,
  );
  assert.deepEqual(full.refused, ["C/USD"]);
  assert.deepEqual(full.promoted, []);
  // A stops being wanted: it lingers, but a wanted pair takes precedence.
  const swap = tracker.update([["B/USD", "pinned"], ["C/USD", "pinned"]], 2);
  assert.deepEqual(swap.promoted, ["C/USD"]);
  assert.deepEqual(swap.demoted, ["A/USD"]);
});

Deno.test("planWatch: every universe pair scouted exactly once, within socket budgets, across universes and focus changes", () => {
  for (let seed = 1; seed <= 25; seed++) {
    const random = rng(seed);
    const limits = watchLimits({
      maxFocus: 1 + Math.floor(random() * 8),
      maxEntriesPerConnection: 60 + Math.floor(random() * 400),
      maxConnections: 1 + Math.floor(random() * 8),
      maxSymbolsPerRequest: 1 + Math.floor(random() * 120),
    });
    const tracker = new FocusTracker(limits);
    const all = symbols(1500);
    let plan = emptyPlan();
    const wire = new Map<number, Map<string, PlannedEntry>>();
    let nowMs = 0;
    for (let step = 0; step < 30; step++) {
      nowMs += 1000;
      // The universe grows and shrinks (the "all quotes" switch).
      const size = Math.floor(random() * all.length);
      const scout = all.slice(0, size);
      const detail = size === 0
        ? undefined
        : scout[Math.floor(random() * size)] as string;
      const wanted: [string, FocusReason][] = detail === undefined
        ? []
        : [[detail, "detail"]];
      for (let i = 0; i < 10 && size > 0; i++) {
        wanted.push([scout[Math.floor(random() * size)] as string, "pinned"]);
      }
      const focus = tracker.update(wanted, nowMs).focus;
      const params: FocusParams = {
        detail,
        detailDepth: random() < 0.5 ? 10 : 25,
        intervalMin: random() < 0.5 ? 1 : 5,
      };
      const next = planWatch(plan, scout, focus, params, limits);
      assertInvariants(next, scout, limits);
      const before = new Map(plan.scoutOn);
      for (const [symbol, index] of next.scoutOn) {
        const was = before.get(symbol);
        // Sticky: a scout that stays keeps its socket.
        if (was !== undefined) assert.equal(index, was, `${symbol} moved`);
      }
      apply(wire, plan, next, limits.maxSymbolsPerRequest);
      // The wire equals the plan after every diff.
      assert.deepEqual(
        [...wire.entries()].map(([i, m]) => [i, [...m.keys()].sort()]).sort(),
        [...next.connections.entries()].map((
          [i, m],
        ) => [i, [...m.keys()].sort()])
          .sort(),
      );
      plan = next;
    }
  }
});

Deno.test("planWatch: 1,500 pairs use few sockets; a focus change touches only focus channels on socket 0", () => {
  const limits = watchLimits();
  const scout = symbols(1500);
  const tracker = new FocusTracker(limits);
  const first = planWatch(
    emptyPlan(),
    scout,
    tracker.update([["SYN0001/USD", "detail"]], 0).focus,
    { ...PARAMS, detail: "SYN0001/USD" },
    limits,
  );
  const usage = planUsage(first);
  assert.equal(
    usage.connections,
    Math.ceil(
      (1500 + limits.maxFocus * FOCUS_ENTRIES_PER_PAIR) /
        limits.maxEntriesPerConnection,
    ),
  );
  assert.equal(usage.entries, 1500 + FOCUS_ENTRIES_PER_PAIR);
  const second = planWatch(
    first,
    scout,
    tracker.update([["SYN0900/USD", "detail"]], 1000).focus,
    { ...PARAMS, detail: "SYN0900/USD" },
    limits,
  );
  const diff = diffPlans(first, second, limits);
  assert.deepEqual(diff.open, []);
  assert.deepEqual(diff.close, []);
  // The previous detail lingers (hysteresis); the new one is added.
  assert.deepEqual(diff.unsubscribe.size, 0);
  assert.deepEqual([...diff.subscribe.keys()], [0]);
  const added = (diff.subscribe.get(0) ?? []).flat();
  assert.deepEqual(
    added.map((e) => e.channel).sort(),
    ["book", "ohlc", "trade"],
  );
  assert.ok(added.every((e) => e.symbol === "SYN0900/USD"));
  // Same inputs again: nothing to do.
  const again = diffPlans(
    second,
    planWatch(second, scout, second.focus, {
      ...PARAMS,
      detail: "SYN0900/USD",
    }, limits),
    limits,
  );
  assert.equal(again.subscribe.size + again.unsubscribe.size, 0);
});

Deno.test("planWatch: a shrinking universe closes emptied sockets instead of unsubscribing each entry", () => {
  const limits = watchLimits({ maxEntriesPerConnection: 100, maxFocus: 2 });
  const usd = symbols(150, "USD");
  const more = symbols(300, "EUR");
  const wide = planWatch(emptyPlan(), [...usd, ...more], [], PARAMS, limits);
  const narrow = planWatch(wide, usd, [], PARAMS, limits);
  const diff = diffPlans(wide, narrow, limits);
  assert.ok(diff.close.length >= 2, `closed ${diff.close}`);
  const unsubscribed = [...diff.unsubscribe.values()].flat();
  // Only the socket shared by both universes unsubscribes one by one.
  assert.ok(unsubscribed.length < limits.maxEntriesPerConnection);
  assertInvariants(narrow, usd, limits);
});

Deno.test("planWatch: more pairs than the socket budget are reported, never silently dropped", () => {
  const limits = watchLimits({
    maxEntriesPerConnection: 50,
    maxConnections: 2,
    maxFocus: 2,
  });
  const scout = symbols(200);
  const plan = planWatch(emptyPlan(), scout, [], PARAMS, limits);
  assertInvariants(plan, scout, limits);
  assert.equal(plan.unscouted.length, 200 - (50 - 6) - 50);
});
