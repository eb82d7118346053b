/**
 * Property test of the risk model: random sequences of place, exit,
 * cancel, cancel-all, amend and market moves (which fill resting orders and
 * trigger stops) on a paper account and a fake clock. After every step:
 *
 * - no holding is uncovered (every base asset the account holds has at
 *   least that much resting protective stop volume; the account starts
 *   with dollars only, so everything it holds was opened through Krakked);
 * - after every accepted entry, the exposure (holding plus open buys,
 *   valued the way the gate values them) is within the cap;
 * - every refusal names a rule.
 *
 * The seed of a failing sequence is in the assertion message.
 */

import assert from "node:assert/strict";
import {
  addDecimal,
  compareDecimal,
  multiplyDecimal,
} from "../../../core/decimal.ts";
import { PairResolver } from "../../../core/market/pairs.ts";
import { OrderClient } from "../../../core/trade/order_client.ts";
import type { OrderRequest } from "../../../core/trade/order.ts";
import { type PaperBook, PaperBroker } from "../../../core/trade/paper.ts";
import {
  isProtectiveStop,
  type RiskAccount,
  uncoveredVolume,
} from "../../../core/trade/risk.ts";
import { OrderRejectedError } from "../../../core/trade/rules.ts";
import { FakeClock } from "../../fakes/clock.ts";
import { gateConfig, NOW_MS, xbtusd } from "./_fixtures.ts";
import { prng } from "../../fakes/prng.ts";

const CAP_USD = 1_000;

/** A book around `mid` with a few levels of random depth (1-decimal prices). */
function bookAround(mid: number, random: () => number): PaperBook {
  const level = (price: number) => ({
    price: price.toFixed(1),
    qty: (0.002 + random() * 0.02).toFixed(4),
  });
  const bids = [];
  const asks = [];
  for (let i = 0; i < 4; i++) {
    bids.push(level(mid - 5 - i * 10));
    asks.push(level(mid + 5 + i * 10));
  }
  return { bids, asks };
}

function exposureUsd(account: RiskAccount, price: string): string {
  let value = multiplyDecimal(account.held.BTC ?? "0", price);
  for (const order of account.orders) {
    if (order.base !== "BTC" || order.side !== "buy") continue;
    const at = order.price !== null && compareDecimal(order.price, price) > 0
      ? order.price
      : price;
    value = addDecimal(value, multiplyDecimal(order.remaining, at));
  }
  return value;
}

async function runSequence(seed: number, steps: number): Promise<string[]> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)]!;
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
      max_notional_usd: 500,
      max_position_notional_usd: CAP_USD,
      stop_loss_max_distance_pct: 10,
    }),
    pairs: (s) => resolver.get(s),
    paper,
    now: clock.now,
    setTimer: clock.setTimer,
  });
  let mid = 25_000;
  let book = bookAround(mid, random);
  client.updatePaperBook("XBTUSD", book);
  const log: string[] = [];
  const volume = () => (0.001 + random() * 0.025).toFixed(4);
  const away = (pct: number) => (mid * (1 + pct / 100)).toFixed(1);
  for (let step = 0; step < steps; step++) {
    const action = pick(
      [
        "buy_market",
        "buy_limit",
        "buy_marketable_limit",
        "buy_no_stop",
        "buy_bad_stop",
        "sell_entry",
        "exit_place",
        "exit",
        "exit_all",
        "cancel",
        "cancel_all",
        "amend",
        "move",
        "move",
        "crash",
      ] as const,
    );
    let accepted: { expectedPrice: string } | undefined;
    try {
      switch (action) {
        case "buy_market":
        case "buy_limit":
        case "buy_marketable_limit":
        case "buy_no_stop":
        case "buy_bad_stop": {
          const request: OrderRequest = {
            pair: pick(["XBTUSD", "BTC/USD"]),
            side: "buy",
            type: action === "buy_market" || action === "buy_no_stop"
              ? "market"
              : "limit",
            volume: volume(),
          };
          if (action === "buy_limit") request.price = away(-random() * 3);
          if (action === "buy_marketable_limit") {
            request.price = away(1 + random() * 4);
          }
          if (action !== "buy_no_stop") {
            request.stopLoss = {
              type: "stop-loss",
              // A bad stop sits between the ask and a marketable limit.
              triggerPrice: action === "buy_bad_stop"
                ? away(0.5)
                : away(-(2 + random() * 6)),
            };
          }
          if (action === "buy_bad_stop") request.price = away(3);
          const result = await client.place(request, { book });
          accepted = result.prepared;
          break;
        }
        case "sell_entry":
          await client.place({
            pair: "XBTUSD",
            side: "sell",
            type: "market",
            volume: volume(),
            stopLoss: { type: "stop-loss", triggerPrice: away(5) },
          }, { book });
          break;
        case "exit_place":
          // A plain exit order: it may only sell what open orders leave free.
          await client.place({
            pair: "XBTUSD",
            side: "sell",
            type: "market",
            volume: volume(),
            intent: "exit",
          }, { book });
          break;
        case "exit":
          await client.exit("XBTUSD", volume(), { book });
          break;
        case "exit_all":
          await client.exit("btcusd", "all", { book });
          break;
        case "cancel": {
          const open = paper.openOrders();
          if (open.length === 0) break;
          await client.cancel(pick(open).id);
          break;
        }
        case "cancel_all":
          await client.cancelAll();
          break;
        case "amend": {
          const open = paper.openOrders();
          if (open.length === 0) break;
          // Paper amends change the limit price only: a quantity change is
          // refused, never applied.
          await assert.rejects(
            client.amend(pick(open).id, { orderQty: "1" }),
            RangeError,
          );
          break;
        }
        case "move":
        case "crash":
          mid = mid *
            (1 + (action === "crash" ? -0.08 : (random() - 0.5) / 25));
          book = bookAround(mid, random);
          client.updatePaperBook("XBTUSD", book);
          break;
      }
      log.push(`${step}: ${action} ok`);
    } catch (error) {
      if (!(error instanceof OrderRejectedError)) throw error;
      assert.ok(error.rule.length > 0);
      log.push(`${step}: ${action} refused (${error.rule})`);
    }
    const account = (await client.account())!;
    const uncovered = uncoveredVolume(account, "BTC");
    assert.equal(
      uncovered,
      "0",
      `seed ${seed}: ${uncovered} BTC uncovered after ${log.at(-1)}\n` +
        `held ${account.held.BTC ?? "0"}, stops ${
          JSON.stringify(account.orders.filter(isProtectiveStop))
        }\n${log.join("\n")}`,
    );
    if (accepted !== undefined) {
      const exposure = exposureUsd(account, accepted.expectedPrice);
      assert.ok(
        compareDecimal(exposure, String(CAP_USD)) <= 0,
        `seed ${seed}: exposure ${exposure} USD above the cap after ${
          log.at(-1)
        }\n${log.join("\n")}`,
      );
    }
  }
  await client.close();
  return log;
}

Deno.test("random place/exit/cancel/amend/fill sequences never leave a holding uncovered or the cap exceeded", async () => {
  const outcomes = new Map<string, number>();
  for (let seed = 1; seed <= 150; seed++) {
    for (const line of await runSequence(seed, 60)) {
      const outcome = line.replace(/^\d+: /, "");
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  }
  // The sequences exercise the rules, not only the happy path.
  for (
    const expected of [
      "buy_market ok",
      "buy_limit ok",
      "exit ok",
      "exit_all ok",
      "cancel_all ok",
      "cancel refused (stop_protects_position)",
      "buy_bad_stop refused (stop_loss_wrong_side)",
      "buy_no_stop refused (stop_loss_required)",
      "sell_entry refused (sell_entry_needs_margin)",
      "exit_place refused (exit_exceeds_available)",
    ]
  ) {
    assert.ok(
      (outcomes.get(expected) ?? 0) > 0,
      `never saw "${expected}": ${JSON.stringify([...outcomes])}`,
    );
  }
  assert.ok(
    [...outcomes.keys()].some((k) => k.endsWith("refused (max_position)")),
    "the cap was reached in some sequence",
  );
});
