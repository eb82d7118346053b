/**
 * Property test: the repositioner never breaks a risk invariant. Random
 * sequences of placements, market moves, time passing and trading-state
 * changes (kill switch, dead-man switch not armed, account loading, mode
 * refusing orders) run the real {@linkcode OrderClient} and
 * {@linkcode PaperBroker} on a fake clock, with the repositioner's passes
 * in between. After every pass:
 *
 * - an amend it sent rests strictly inside the book (a buy below the ask):
 *   no amend ever took liquidity;
 * - every amend the gate accepted keeps the order's notional within
 *   `max_notional_usd`, its stop within `stop_loss_max_distance_pct`, and
 *   the base asset's exposure within `max_position_notional_usd`;
 * - an amend the gate refused changed nothing;
 * - a pass in a disabled state touched nothing.
 *
 * The seed of a failing sequence is in the assertion message.
 */

import assert from "node:assert/strict";
import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
  subtractDecimal,
} from "../../../core/decimal.ts";
import { PairResolver } from "../../../core/market/pairs.ts";
import { OrderClient } from "../../../core/trade/order_client.ts";
import { type PaperBook, PaperBroker } from "../../../core/trade/paper.ts";
import {
  type RepositionAction,
  Repositioner,
  repositionOrderOf,
  type RepositionOutcome,
  repositionPolicy,
  type RepositionStatus,
} from "../../../core/trade/reposition.ts";
import { OrderRejectedError } from "../../../core/trade/rules.ts";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { prng } from "../../fakes/prng.ts";
import { gateConfig, NOW_MS, xbtusd } from "./_fixtures.ts";

const MAX_NOTIONAL = 500;
const MAX_POSITION = 1_000;
const MAX_STOP_PCT = 10;

function bookAround(mid: number, random: () => number): PaperBook {
  const level = (price: number) => ({
    price: price.toFixed(1),
    qty: (0.002 + random() * 0.02).toFixed(4),
  });
  const spread = 0.1 + Math.floor(random() * 30) / 10;
  const bids = [];
  const asks = [];
  for (let i = 0; i < 4; i++) {
    bids.push(level(mid - i * 10));
    asks.push(level(mid + spread + i * 10));
  }
  return { bids, asks };
}

const READY: RepositionStatus = {
  route: "paper",
  deadMan: "not_required",
  account: "ready",
  halted: null,
};

const DISABLED: RepositionStatus[] = [
  { ...READY, halted: "kill switch" },
  { ...READY, account: "loading" },
  { ...READY, route: "live", deadMan: "arming" },
  { ...READY, route: undefined },
  { ...READY, route: "dry_run" },
];

interface Tally {
  done: number;
  refused: number;
  halted: number;
}

async function runSequence(seed: number, tally: Tally): Promise<void> {
  const random = prng(seed);
  const clock = new FakeClock(NOW_MS);
  const pair = xbtusd();
  const resolver = new PairResolver([pair]);
  const paper = new PaperBroker({
    pairs: [pair],
    balances: { USD: "5000" },
    now: clock.now,
  });
  const client = new OrderClient({
    config: gateConfig({
      mode: "paper",
      max_notional_usd: MAX_NOTIONAL,
      max_position_notional_usd: MAX_POSITION,
      stop_loss_max_distance_pct: MAX_STOP_PCT,
    }),
    pairs: (s) => resolver.get(s),
    paper,
    now: clock.now,
    setTimer: clock.setTimer,
  });
  let mid = 25_000;
  client.updatePaperBook("XBTUSD", bookAround(mid, random));
  let status = READY;
  const msg = (what: string) => `seed ${seed}: ${what}`;
  const policy = repositionPolicy({
    ...DEFAULT_CONFIG.trading.reposition,
    enabled: true,
    max_age_seconds: 30 + Math.floor(random() * 120),
    distance_bps: Math.floor(random() * 100),
    offset_ticks: Math.floor(random() * 5) - 2,
    max_actions_per_minute: 1 + Math.floor(random() * 10),
  });
  const act = async (action: RepositionAction): Promise<RepositionOutcome> => {
    const before = paper.order(action.orderId!);
    const takerFills = () =>
      paper.fills().filter((f) => f.liquidity === "taker").length;
    const takenBefore = takerFills();
    const book = paper.book("XBTUSD")!;
    try {
      if (action.kind === "amend") {
        await client.amend(action.key, {
          limitPrice: action.toPrice!,
          postOnly: true,
        });
      } else {
        await client.cancel(action.key);
      }
    } catch (error) {
      if (!(error instanceof OrderRejectedError)) throw error;
      // Refused: never applied.
      assert.deepEqual(paper.order(action.orderId!), before, msg("refused"));
      tally.refused++;
      return { outcome: "refused", rule: error.rule, message: error.message };
    }
    tally.done++;
    assert.equal(takerFills(), takenBefore, msg("an amend took liquidity"));
    if (action.kind === "cancel") {
      assert.equal(paper.order(action.orderId!)!.status, "canceled");
      return { outcome: "done" };
    }
    const after = paper.order(action.orderId!)!;
    const price = action.toPrice!;
    assert.equal(after.price, price, msg("amended price"));
    assert.ok(
      compareDecimal(price, book.asks[0]!.price) < 0,
      msg(`buy amended to ${price} at or above the ask ${book.asks[0]!.price}`),
    );
    // Notional of the order as amended.
    assert.ok(
      compareDecimal(
        multiplyDecimal(after.volume, price),
        String(MAX_NOTIONAL),
      ) <= 0,
      msg(`notional ${after.volume} × ${price}`),
    );
    // Its stop within the allowed distance of the new entry price.
    const stop = after.stopLoss!.triggerPrice;
    assert.ok(
      compareDecimal(
        multiplyDecimal(subtractDecimal(price, stop), "100"),
        multiplyDecimal(String(MAX_STOP_PCT), price),
      ) <= 0,
      msg(`stop ${stop} too far from ${price}`),
    );
    // Exposure as the gate values it: held + every open buy, at no less
    // than the amended price.
    let exposure = multiplyDecimal(paper.balances().BTC ?? "0", price);
    for (const o of paper.openOrders()) {
      if (o.side !== "buy" || o.type !== "limit") continue;
      const at = compareDecimal(o.price!, price) > 0 ? o.price! : price;
      exposure = addDecimal(
        exposure,
        multiplyDecimal(subtractDecimal(o.volume, o.filledQty), at),
      );
    }
    assert.ok(
      compareDecimal(exposure, String(MAX_POSITION)) <= 0,
      msg(`exposure ${exposure} USD after amending to ${price}`),
    );
    return { outcome: "done" };
  };
  const repositioner = new Repositioner({
    policy,
    clock,
    port: {
      orders: () => Promise.resolve(client.orders().map(repositionOrderOf)),
      quote: (id) => {
        const book = paper.book(id);
        const bid = book?.bids[0]?.price;
        const ask = book?.asks[0]?.price;
        return bid === undefined || ask === undefined ? undefined : {
          bid,
          ask,
        };
      },
      status: () => status,
      act,
    },
  });
  for (let step = 0; step < 40; step++) {
    const roll = random();
    if (roll < 0.35) {
      const price = mid * (1 - (0.2 + random() * 7) / 100);
      const volume = (0.004 + random() * 0.018).toFixed(4);
      try {
        await client.place({
          pair: "XBTUSD",
          side: "buy",
          type: "limit",
          volume,
          price: price.toFixed(1),
          postOnly: random() < 0.5,
          stopLoss: {
            type: "stop-loss",
            triggerPrice: (price * (1 - (1 + random() * 8) / 100)).toFixed(1),
          },
        });
      } catch (error) {
        if (!(error instanceof OrderRejectedError)) throw error;
      }
    } else if (roll < 0.6) {
      mid = mid * (1 + (random() - 0.45) / 30);
      client.updatePaperBook("XBTUSD", bookAround(mid, random));
    } else if (roll < 0.7) {
      status = random() < 0.5
        ? READY
        : DISABLED[Math.floor(random() * DISABLED.length)]!;
    } else {
      clock.advance(Math.floor(random() * 120_000));
      const before = JSON.stringify(paper.openOrders());
      const pass = await repositioner.runOnce();
      if (status !== READY) {
        tally.halted++;
        assert.ok(pass.halted, msg("a disabled pass was not halted"));
        assert.equal(pass.acted.length, 0, msg("acted while disabled"));
        assert.equal(
          JSON.stringify(paper.openOrders()),
          before,
          msg("a disabled pass changed an order"),
        );
      }
    }
  }
  await client.close();
}

Deno.test("repositioner never breaks a risk invariant (property)", async () => {
  const tally: Tally = { done: 0, refused: 0, halted: 0 };
  for (let seed = 1; seed <= 120; seed++) await runSequence(seed, tally);
  // The sequences exercise the gate both ways, and the halts.
  assert.ok(tally.done > 30, `only ${tally.done} actions done`);
  assert.ok(tally.refused > 10, `only ${tally.refused} refused by the gate`);
  assert.ok(tally.halted > 30, `only ${tally.halted} halted passes`);
});

Deno.test("paper amend: the same gate, in place, and post-only refuses a take", async () => {
  const clock = new FakeClock(NOW_MS);
  const pair = xbtusd();
  const resolver = new PairResolver([pair]);
  const paper = new PaperBroker({
    pairs: [pair],
    balances: { USD: "5000" },
    now: clock.now,
  });
  const client = new OrderClient({
    config: gateConfig({ mode: "paper", max_notional_usd: 500 }),
    pairs: (s) => resolver.get(s),
    paper,
    now: clock.now,
    setTimer: clock.setTimer,
  });
  client.updatePaperBook("XBTUSD", {
    bids: [{ price: "25000", qty: "1" }],
    asks: [{ price: "25001", qty: "1" }],
  });
  const placed = await client.place({
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.0199",
    price: "24000",
    stopLoss: { type: "stop-loss", triggerPrice: "23000" },
  });
  assert.equal(placed.route, "paper");
  const key = placed.route === "paper" ? placed.key : "";
  const id = client.order(key)!.state.orderId!;
  clock.advance(60_000);
  await client.amend(key, { limitPrice: "25000", postOnly: true });
  assert.equal(paper.order(id)!.price, "25000");
  assert.equal(client.order(key)!.state.limitPrice, "25000");
  assert.equal(client.order(key)!.changedAtMs, clock.now());
  // Post-only: a price that would take is refused by the broker.
  await assert.rejects(
    client.amend(key, { limitPrice: "25001", postOnly: true }),
    (e: unknown) =>
      e instanceof OrderRejectedError && e.rule === "post_only_would_take",
  );
  // The stop may not end up too far from the new price: 21700 is 9.6 %
  // below 24000, 13.2 % below 25000.
  const wide = await client.place({
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.001",
    price: "24000",
    stopLoss: { type: "stop-loss", triggerPrice: "21700" },
  });
  const wideKey = wide.route === "paper" ? wide.key : "";
  await assert.rejects(
    client.amend(wideKey, { limitPrice: "25000", postOnly: true }),
    (e: unknown) =>
      e instanceof OrderRejectedError && e.rule === "stop_loss_too_far",
  );
  await client.cancel(wideKey);
  // The gate: 0.0205 × 24500 > 500 USD, refused and never applied.
  const big = await client.place({
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.0205",
    price: "24000",
    stopLoss: { type: "stop-loss", triggerPrice: "23000" },
  });
  const bigKey = big.route === "paper" ? big.key : "";
  await assert.rejects(
    client.amend(bigKey, { limitPrice: "24500", postOnly: true }),
    (e: unknown) =>
      e instanceof OrderRejectedError && e.rule === "max_notional",
  );
  assert.equal(
    paper.order(client.order(bigKey)!.state.orderId!)!.price,
    "24000",
  );
  assert.equal(paper.order(id)!.price, "25000");
  await assert.rejects(
    client.amend(key, { orderQty: "0.01" }),
    RangeError,
  );
  await client.close();
});
