/**
 * Adversarial tests of the risk invariants through the HTTP routes of the
 * real server (`serve --sim`) in paper and in live mode: every bypass the
 * trading gate once allowed is tried again and must be refused with its
 * rule, and a full round trip (buy with stop, close) leaves nothing open.
 *
 * The library paths (live OrderClient over REST and WS v2, amends, batches,
 * partial fills) are in tests/core/integration/risk_library_test.ts.
 */
import assert from "node:assert/strict";
import {
  type Json,
  price,
  quote,
  type Server,
  startWith,
  TRADING,
} from "./_serve_harness.ts";

const CAPS = "  max_notional_usd: 500\n  max_position_notional_usd: 1000\n";
const PAPER = TRADING(`  mode: paper\n${CAPS}`);
const LIVE = TRADING(
  `  mode: live\n  enable_live_orders: true\n  dead_man_seconds: 0\n${CAPS}`,
);

/** Candidates for a pair the simulator's account neither holds nor trades. */
const CANDIDATES = [
  "SOLUSD",
  "ADAUSD",
  "DOTUSD",
  "LINKUSD",
  "AVAXUSD",
  "ATOMUSD",
  "NEARUSD",
  "UNIUSD",
  "FILUSD",
  "ALGOUSD",
  "LTCUSD",
  "XLMUSD",
];

/**
 * Live: the simulator's account comes with a seeded history (holdings and
 * resting orders on several pairs), so the exposure tests pick a pair it
 * holds none of and has no open order on.
 */
async function freshPair(s: Server): Promise<string> {
  const balance = (await s.get("/api/private/balance")).body.result;
  const open = Object.values(
    (await s.get("/api/private/open-orders")).body.result.open,
  ) as Json[];
  for (const pair of CANDIDATES) {
    const info = Object.values(
      (await s.get(`/api/public/AssetPairs?pair=${pair}`)).body.result,
    )[0] as Json;
    // `/api/private/balance` answers BalanceEx: { balance, hold_trade }.
    if (Number(balance[info.base]?.balance ?? "0") !== 0) continue;
    if (open.some((o) => o.descr.pair === pair)) continue;
    return pair;
  }
  throw new Error("no fresh pair in the simulator's account");
}

function px(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

async function decimalsOf(s: Server, pair: string): Promise<number> {
  const res = await s.get(`/api/public/AssetPairs?pair=${pair}`);
  const info = Object.values(res.body.result)[0] as { pair_decimals: number };
  return info.pair_decimals;
}

/** `usd` worth of a pair at its ask, as base volume text. */
function volumeFor(usd: number, ask: number): string {
  return (usd / ask).toFixed(4);
}

/** Open orders on one pair (the live account has others of its own). */
async function openOrders(s: Server, pair: string): Promise<Json[]> {
  return (await s.get("/api/orders")).body.orders.filter((o: Json) =>
    o.pair === pair &&
    (o.status === "new" || o.status === "open" ||
      o.status === "partially_filled")
  );
}

for (const mode of ["paper", "live"] as const) {
  const config = mode === "paper" ? PAPER : LIVE;
  let pair = "XBTUSD";
  const start = async () => {
    const s = await startWith(config, { live: mode === "live", seed: 11 });
    if (mode === "live") pair = await freshPair(s);
    return s;
  };

  Deno.test(`${mode}: market buys cannot walk the position past the cap, resting buys count`, async () => {
    const s = await start();
    try {
      const { ask } = await quote(s, pair);
      const d = await decimalsOf(s, pair);
      const results: Json[] = [];
      for (let i = 0; i < 5; i++) {
        results.push(
          await s.post("/api/orders", {
            pair,
            side: "buy",
            type: "market",
            volume: volumeFor(400, ask),
            stopLoss: px(ask * 0.95, d),
          }),
        );
      }
      const accepted = results.filter((r) => r.status === 200);
      assert.equal(
        accepted.length,
        2,
        JSON.stringify(results.map((r) => r.body)),
      );
      for (const refused of results.slice(2)) {
        assert.equal(refused.status, 422);
        assert.equal(refused.body.rule, "max_position");
      }
      // A resting buy far below the market still counts as exposure.
      await s.post("/api/orders/close", { pair, all: true });
      const resting = await s.post("/api/orders", {
        pair,
        side: "buy",
        type: "limit",
        volume: volumeFor(400, ask),
        price: px(ask * 0.8, d),
        stopLoss: px(ask * 0.75, d),
      });
      assert.equal(resting.status, 200, JSON.stringify(resting.body));
      const two = await s.post("/api/orders", {
        pair,
        side: "buy",
        type: "limit",
        volume: volumeFor(400, ask),
        price: px(ask * 0.8, d),
        stopLoss: px(ask * 0.75, d),
      });
      assert.equal(two.status, 200, JSON.stringify(two.body));
      const three = await s.post("/api/orders", {
        pair,
        side: "buy",
        type: "market",
        volume: volumeFor(400, ask),
        stopLoss: px(ask * 0.95, d),
      });
      assert.equal(three.body.rule, "max_position", JSON.stringify(three.body));
    } finally {
      await s.close();
    }
  });

  Deno.test(`${mode}: the attached stop cannot be removed while its position is open`, async (t) => {
    const s = await start();
    try {
      const { ask } = await quote(s, pair);
      const d = await decimalsOf(s, pair);
      const bought = await s.post("/api/orders", {
        pair: pair.toLowerCase(),
        side: "buy",
        type: "market",
        volume: volumeFor(200, ask),
        stopLoss: px(ask * 0.93, d),
      });
      assert.equal(bought.status, 200, JSON.stringify(bought.body));
      const stops = (await openOrders(s, pair)).filter((o) =>
        o.role === "stop"
      );
      assert.ok(stops.length >= 1, "the fill created its stop-loss");
      const stopId = stops[0].orderId;
      await t.step("DELETE the stop is refused with its rule", async () => {
        const res = await s.del(`/api/orders/${stopId}`);
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.equal(res.body.rule, "stop_protects_position");
        assert.match(res.body.message, /close/i);
      });
      await t.step("cancel-all keeps the stop and says so", async () => {
        const resting = await s.post("/api/orders", {
          pair,
          side: "buy",
          type: "limit",
          volume: volumeFor(100, ask),
          price: px(ask * 0.8, d),
          stopLoss: px(ask * 0.75, d),
        });
        assert.equal(resting.status, 200, JSON.stringify(resting.body));
        const all = await s.post("/api/orders/cancel-all");
        assert.equal(all.status, 200, JSON.stringify(all.body));
        assert.ok(all.body.count >= 1);
        assert.ok(all.body.keptStops.includes(stopId));
        const left = await openOrders(s, pair);
        assert.deepEqual(left.map((o) => o.role), left.map(() => "stop"));
        assert.ok(left.some((o) => o.orderId === stopId));
      });
      await t.step(
        "a sell entry is refused, an exit sells what is held",
        async () => {
          const short = await s.post("/api/orders", {
            pair,
            side: "sell",
            type: "market",
            volume: volumeFor(50, ask),
            stopLoss: px(ask * 1.05, d),
          });
          assert.equal(short.body.rule, "sell_entry_needs_margin");
          const over = await s.post("/api/orders/close", {
            pair,
            volume: "1000000",
          });
          assert.equal(over.body.rule, "exit_exceeds_position");
        },
      );
      await t.step(
        "cancel-all with stops removes them and names what is unprotected",
        async () => {
          const all = await s.post("/api/orders/cancel-all", {
            includeStops: true,
          });
          assert.equal(all.status, 200, JSON.stringify(all.body));
          assert.ok(all.body.count >= 1);
          assert.ok(Object.keys(all.body.uncovered).length === 1);
          assert.deepEqual(await openOrders(s, pair), []);
        },
      );
    } finally {
      await s.close();
    }
  });

  Deno.test(`${mode}: a marketable limit is judged at the price it fills at`, async () => {
    const s = await start();
    try {
      const { ask } = await quote(s, pair);
      const d = await decimalsOf(s, pair);
      // Limit far above the ask; stop between ask and limit: it would
      // fill at the ask and the stop would fire at once.
      const res = await s.post("/api/orders", {
        pair,
        side: "buy",
        type: "limit",
        volume: volumeFor(100, ask),
        price: px(ask * 1.05, d),
        stopLoss: px(ask * 1.02, d),
      });
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.rule, "stop_loss_wrong_side");
      assert.deepEqual(await openOrders(s, pair), []);
    } finally {
      await s.close();
    }
  });

  Deno.test(`${mode}: round trip — buy with stop, position shown with its stop, close, nothing left`, async () => {
    const s = await start();
    try {
      const { ask } = await quote(s, pair);
      const d = await decimalsOf(s, pair);
      const volume = volumeFor(300, ask);
      const bought = await s.post("/api/orders", {
        pair,
        side: "buy",
        type: "market",
        volume,
        stopLoss: px(ask * 0.93, d),
      });
      assert.equal(bought.status, 200, JSON.stringify(bought.body));
      const stops = (await openOrders(s, pair)).filter((o) =>
        o.role === "stop"
      );
      assert.equal(stops.length >= 1, true);
      const stopVolume = stops.reduce((n, o) => n + Number(o.volume), 0);
      assert.ok(Math.abs(stopVolume - Number(volume)) < 1e-8);
      const closed = await s.post("/api/orders/close", { pair, all: true });
      assert.equal(closed.status, 200, JSON.stringify(closed.body));
      assert.equal(closed.body.exit.problem, null);
      assert.equal(closed.body.exit.uncovered, "0");
      assert.ok(Number(closed.body.exit.sold) > 0);
      assert.deepEqual(await openOrders(s, pair), []);
      if (mode === "paper") {
        const paper = (await s.get("/api/paper")).body;
        const position = paper.positions.find((p: Json) => p.pair === pair);
        assert.equal(Number(position.qty), 0);
        assert.ok(Number(position.fees) > 0, "fees booked");
        assert.notEqual(position.realizedPnl, "0", "P&L booked");
        assert.equal(Number(paper.balances.BTC ?? "0"), 0);
      } else {
        const balance = (await s.get("/api/private/balance")).body.result;
        const info = Object.values(
          (await s.get(`/api/public/AssetPairs?pair=${pair}`)).body.result,
        )[0] as Json;
        assert.equal(
          Number(balance[info.base]?.balance ?? "0"),
          0,
          JSON.stringify(balance),
        );
      }
    } finally {
      await s.close();
    }
  });
}

Deno.test("the universe is enforced with allowed_symbols empty: excluded and non-USD pairs", async () => {
  const s = await startWith(PAPER + "universe:\n  exclude: [ETHUSD]\n");
  try {
    for (const pair of ["ETHUSD", "eth/usd", "ETHXBT"]) {
      const { ask } = await quote(s, pair.replace("/", "").toUpperCase());
      const res = await s.post("/api/orders", {
        pair,
        side: "buy",
        type: "limit",
        volume: "0.01",
        price: ask.toFixed(pair === "ETHXBT" ? 5 : 2),
        stopLoss: (ask * 0.95).toFixed(pair === "ETHXBT" ? 5 : 2),
      });
      assert.equal(res.status, 422, `${pair}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.rule, "symbol_not_allowed");
    }
  } finally {
    await s.close();
  }
});

Deno.test("every spelling the resolver accepts reaches the same pair", async () => {
  const s = await startWith(PAPER);
  try {
    const { ask } = await quote(s);
    for (
      const spelling of [
        "BTCUSD",
        "btc-usd",
        "btcusd",
        "XBTUSD",
        "XXBTZUSD",
        "BTC/USD",
      ]
    ) {
      const res = await s.post("/api/orders", {
        pair: spelling,
        side: "buy",
        type: "limit",
        volume: "0.001",
        price: price(ask * 0.9),
        stopLoss: price(ask * 0.85),
      });
      assert.equal(res.status, 200, `${spelling}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.order.pair, "XBTUSD");
    }
  } finally {
    await s.close();
  }
});

Deno.test("a take-profit is refused rather than promised", async () => {
  const s = await startWith(PAPER);
  try {
    const { ask } = await quote(s);
    const res = await s.post("/api/orders", {
      pair: "XBTUSD",
      side: "buy",
      type: "market",
      volume: "0.001",
      stopLoss: price(ask * 0.95),
      takeProfit: price(ask * 1.05),
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /one-cancels-other/);
  } finally {
    await s.close();
  }
});
