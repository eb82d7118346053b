/**
 * The repositioner on the live route, against the simulator over loopback
 * on one fake clock, over REST (`AmendOrder`) and WS v2 (`amend_order`):
 * an old far buy is amended to the touch through the order client (so
 * through the gate), the simulator records the amend on the same order
 * id, and both the simulator's and the client's trading counter of the
 * pair were charged the amend's cost (REST.md §7.2). An amend the gate
 * refuses is never sent: the simulator's counter does not move.
 */

import assert from "node:assert/strict";
import { tradingPenalty } from "../../../core/rest/ratelimit.ts";
import { OrderRejectedError } from "../../../core/trade/rules.ts";
import {
  type RepositionAction,
  Repositioner,
  repositionOrderOf,
  type RepositionOutcome,
  repositionPolicy,
} from "../../../core/trade/reposition.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import {
  CONFIG,
  type Harness,
  placed,
  px,
  tradingSim,
  WIRES,
} from "../integration/_trading_harness.ts";

const PAIR = "XBTUSD";

function repositioner(h: Harness, quote: { bid: string; ask: string }) {
  const act = async (action: RepositionAction): Promise<RepositionOutcome> => {
    try {
      await h.run(h.client.amend(action.key, {
        limitPrice: action.toPrice!,
        postOnly: true,
      }));
      return { outcome: "done" };
    } catch (error) {
      if (error instanceof OrderRejectedError) {
        return { outcome: "refused", rule: error.rule, message: error.message };
      }
      return { outcome: "failed", message: String(error) };
    }
  };
  return new Repositioner({
    policy: repositionPolicy({
      ...DEFAULT_CONFIG.trading.reposition,
      enabled: true,
      max_age_seconds: 30,
    }),
    clock: h.clock,
    port: {
      orders: () => Promise.resolve(h.client.orders().map(repositionOrderOf)),
      quote: () => quote,
      status: () => ({
        route: "live",
        deadMan: "not_required",
        account: "ready",
        halted: null,
      }),
      act,
      counterRoom: (pair) => {
        const c = h.limiter.snapshot("trading", pair);
        return c.max - c.level;
      },
    },
  });
}

for (const wire of WIRES) {
  Deno.test(`live over ${wire}: a stale far buy is amended to the touch, charged on the pair's counter`, async () => {
    await using h = await tradingSim(wire);
    const pair = h.pair(PAIR);
    const { bid, ask } = await h.ticker(PAIR);
    const far = px(bid * 0.97, pair);
    const state = await placed(h, {
      pair: PAIR,
      side: "buy",
      type: "limit",
      volume: "0.01",
      price: far,
      stopLoss: { type: "stop-loss", triggerPrice: px(bid * 0.9, pair) },
    });
    const orderId = state.orderId!;
    h.clock.advance(60_000);
    const quote = { bid: px(bid, pair), ask: px(ask, pair) };
    const simBefore = h.sim.engine!.counterLevel(PAIR);
    const ours = () => h.limiter.snapshot("trading", pair.id).level;
    const oursBefore = ours();
    const pass = await repositioner(h, quote).runOnce();
    assert.equal(pass.acted.length, 1);
    const { action, result } = pass.acted[0]!;
    assert.deepEqual(result, { outcome: "done" });
    assert.equal(action.toPrice, quote.bid);
    // The simulator saw an amend of the same order, to the touch.
    const amends = h.sim.engine!.amendsOf(orderId)!;
    assert.equal(amends.length, 2);
    assert.equal(Number(amends[1]!.limit_price), Number(quote.bid));
    // Both counters were charged the amend of a 60 s old order: +1.
    const cost = tradingPenalty("amend", 60_000);
    assert.equal(cost, 1);
    assert.equal(action.cost, cost);
    const simCharged = h.sim.engine!.counterLevel(PAIR) - simBefore;
    assert.ok(
      Math.abs(simCharged - cost) < 0.01,
      `the simulator charged ${simCharged}`,
    );
    assert.ok(ours() - oursBefore >= cost, `we charged ${ours() - oursBefore}`);
    // The order is young again: the next pass leaves it alone.
    h.clock.advance(5_000);
    const next = await repositioner(h, quote).runOnce();
    assert.equal(next.acted.length, 0);
  });
}

Deno.test("live: an amend the gate refuses is never sent", async () => {
  await using h = await tradingSim("rest", {
    config: {
      ...CONFIG,
      trading: { ...CONFIG.trading, max_notional_usd: 1_000 },
    },
  });
  const pair = h.pair(PAIR);
  const { bid, ask } = await h.ticker(PAIR);
  // 984.8 USD at 3 % below the bid, 1015 USD at the bid.
  const volume = (1_000 / (bid * 0.985)).toFixed(pair.volumeDecimals);
  const state = await placed(h, {
    pair: PAIR,
    side: "buy",
    type: "limit",
    volume,
    price: px(bid * 0.97, pair),
    stopLoss: { type: "stop-loss", triggerPrice: px(bid * 0.9, pair) },
  });
  h.clock.advance(60_000);
  const simBefore = h.sim.engine!.counterLevel(PAIR);
  const pass = await repositioner(h, {
    bid: px(bid, pair),
    ask: px(ask, pair),
  }).runOnce();
  assert.equal(pass.acted.length, 1);
  const result = pass.acted[0]!.result;
  assert.equal(result.outcome, "refused");
  assert.equal(result.outcome === "refused" && result.rule, "max_notional");
  // Nothing reached the simulator: no amend, no charge.
  assert.equal(h.sim.engine!.amendsOf(state.orderId!)!.length, 1);
  assert.ok(h.sim.engine!.counterLevel(PAIR) <= simBefore);
});
