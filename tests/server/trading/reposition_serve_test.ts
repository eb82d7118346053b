/**
 * End to end: `serve --sim` in live mode with `trading.reposition` on. A
 * resting buy placed far below the bid is, once stale, amended by the
 * repositioner through the order service and the REST transport: the
 * simulator's engine records the `AmendOrder` (same order id, new limit
 * price at the touch), the trading counter of the pair was charged, and
 * `/api/ops` lists the action with its reason under the order's key.
 * In paper mode the same configuration amends the paper order.
 */

import assert from "node:assert/strict";
import {
  type Json,
  quote,
  type Server,
  startWith,
  TRADING,
} from "../_serve_harness.ts";

const REPOSITION = "  reposition:\n    enabled: true\n" +
  "    max_age_seconds: 1\n    distance_bps: 50\n" +
  "    check_interval_seconds: 1\n    max_actions_per_minute: 10\n";
const CAPS = "  max_notional_usd: 500\n  max_position_notional_usd: 1000\n";

const CANDIDATES = ["SOLUSD", "ADAUSD", "DOTUSD", "LINKUSD", "LTCUSD"];

/** A pair the simulator's live account neither holds nor has orders on. */
async function freshPair(s: Server): Promise<string> {
  const balance = (await s.get("/api/private/balance")).body.result;
  const open = Object.values(
    (await s.get("/api/private/open-orders")).body.result.open,
  ) as Json[];
  for (const pair of CANDIDATES) {
    const info = Object.values(
      (await s.get(`/api/public/AssetPairs?pair=${pair}`)).body.result,
    )[0] as Json;
    if (Number(balance[info.base]?.balance ?? "0") !== 0) continue;
    if (open.some((o) => o.descr.pair === pair)) continue;
    return pair;
  }
  throw new Error("no fresh pair in the simulator's account");
}

async function decimalsOf(
  s: Server,
  pair: string,
): Promise<{ price: number; lot: number }> {
  const res = await s.get(`/api/public/AssetPairs?pair=${pair}`);
  const info = Object.values(res.body.result)[0] as Json;
  return { price: info.pair_decimals, lot: info.lot_decimals };
}

/** Polls `check` every 100 ms until it returns a value, for at most `ms`. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function placeFarBuy(
  s: Server,
  pair: string,
): Promise<{ key: string; orderId: string; price: string }> {
  const { bid } = await quote(s, pair);
  const d = await decimalsOf(s, pair);
  const price = (bid * 0.97).toFixed(d.price);
  const placed = await s.post("/api/orders", {
    pair,
    side: "buy",
    type: "limit",
    volume: (150 / bid).toFixed(d.lot),
    price,
    stopLoss: (bid * 0.93).toFixed(d.price),
  });
  assert.equal(placed.status, 200, JSON.stringify(placed.body));
  const order = placed.body.order;
  return { key: order.key, orderId: order.orderId, price };
}

Deno.test("serve --sim live: a stale far order is amended and the simulator sees the amend", async () => {
  const s = await startWith(
    TRADING(
      // The dead-man switch is armed (the repositioner waits for that);
      // pro tier paces the account's history reads faster.
      `  mode: live\n  enable_live_orders: true\n${CAPS}${REPOSITION}` +
        "connection:\n  api_tier: pro\n",
    ),
    { live: true, seed: 11 },
  );
  try {
    const pair = await freshPair(s);
    const { key, orderId, price } = await placeFarBuy(s, pair);
    const engine = s.running.simulator!.engine!;
    const amends = await eventually("the simulator's amend", () => {
      const list = engine.amendsOf(orderId);
      return list !== undefined && list.length >= 2 ? list : undefined;
    });
    assert.equal(amends[0]!.amend_type, "original");
    assert.equal(amends[0]!.limit_price, price);
    const amended = amends.at(-1)!;
    assert.equal(amended.amend_type, "user");
    // At the touch: inside the book, far closer than the 300 bps placed.
    const { bid, ask } = await quote(s, pair);
    const to = Number(amended.limit_price);
    assert.ok(to > Number(price), `${to} is not above ${price}`);
    assert.ok(to < ask, `${to} crosses the ask ${ask}`);
    assert.ok(Math.abs(bid - to) / bid < 0.01, `${to} is far from ${bid}`);
    // The same order, still open, at the new price.
    const open = (await s.get("/api/private/open-orders")).body.result.open;
    assert.equal(Number(open[orderId].descr.price), to);
    // The account's other resting orders (seeded by the simulator, not
    // placed by this server) were never amended, however far or old.
    const others = Object.keys(open).filter((id) => id !== orderId);
    assert.ok(others.length > 0, "the simulator seeds resting orders");
    for (const id of others) {
      assert.ok(
        (engine.amendsOf(id) ?? []).every((a) => a.amend_type === "original"),
        `${id} was amended`,
      );
    }
    // The ops view: the action with its reason, and the pair's counter.
    const ops = await eventually("the ops event", async () => {
      const snapshot = (await s.get("/api/ops")).body;
      return snapshot.orders.some((e: Json) =>
          e.type === "reposition" && e.order === key
        )
        ? snapshot
        : undefined;
    });
    const event = ops.orders.find((e: Json) =>
      e.type === "reposition" && e.order === key
    );
    assert.match(event.detail, /^reposition: amend /);
    assert.match(event.detail, /bps from/);
    assert.ok(event.rid, "the action carries a correlation id");
    assert.ok(ops.upstream.byMethod.AmendOrder >= 1);
    assert.ok(ops.trading[pair] !== undefined, "the pair's trading counter");
  } finally {
    await s.close();
  }
});

Deno.test("serve --sim paper: the same policy amends a paper order", async () => {
  const s = await startWith(
    TRADING(`  mode: paper\n${CAPS}${REPOSITION}`),
    { seed: 11 },
  );
  try {
    const { key, price } = await placeFarBuy(s, "XBTUSD");
    const moved = await eventually("the paper amend", async () => {
      const orders = (await s.get("/api/orders")).body.orders as Json[];
      const order = orders.find((o) => o.key === key);
      return order !== undefined && order.price !== price ? order : undefined;
    });
    assert.ok(Number(moved.price) > Number(price), "moved toward the market");
    // Judged against the touch the repositioner saw when it acted (a quote
    // read now may have moved since): a buy goes to the best bid at most
    // (offset 0), so it never crosses the ask of that instant.
    const ops = (await s.get("/api/ops")).body;
    const event = ops.orders.find((e: Json) =>
      e.type === "reposition" && e.order === key
    );
    assert.ok(event, "the amend is in the ops view");
    const m = /amend \S+ → (\S+) \(\S+ bps from (\S+),/.exec(event.detail);
    assert.ok(m, event.detail);
    assert.equal(Number(m[1]), Number(moved.price));
    assert.ok(Number(m[1]) <= Number(m[2]), `${m[1]} above the bid ${m[2]}`);
  } finally {
    await s.close();
  }
});

Deno.test("serve --sim paper: action cancel cancels the stale far order", async () => {
  const s = await startWith(
    TRADING(
      `  mode: paper\n${CAPS}${
        REPOSITION.replace(
          "enabled: true\n",
          "enabled: true\n    action: cancel\n",
        )
      }`,
    ),
    { seed: 11 },
  );
  try {
    const { key } = await placeFarBuy(s, "XBTUSD");
    await eventually("the paper cancel", async () => {
      const orders = (await s.get("/api/orders")).body.orders as Json[];
      const order = orders.find((o) => o.key === key);
      return order?.status === "canceled" ? order : undefined;
    });
    const ops = (await s.get("/api/ops")).body;
    const event = ops.orders.find((e: Json) =>
      e.type === "reposition" && e.order === key
    );
    assert.match(event.detail, /^reposition: cancel @ /);
  } finally {
    await s.close();
  }
});
