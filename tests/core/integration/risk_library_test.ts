/**
 * Adversarial tests of the risk model through the library's live
 * OrderClient against the simulator's engine, over both order wires (REST
 * and WS v2): amends judged as the order they produce, batches that try to
 * split the cap, concurrent placements, partial fills then cancel, stops
 * that cannot be shrunk or moved across the bid, exits beyond holdings,
 * iceberg and trailing entries, and non-USD quotes.
 */
import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../../core/config/config.ts";
import type { GateConfig } from "../../../core/trade/gates.ts";
import { OrderRejectedError } from "../../../core/trade/rules.ts";
import { type Harness, px, tradingSim, WIRES } from "./_trading_harness.ts";

const CAPPED: GateConfig = {
  trading: {
    ...DEFAULT_CONFIG.trading,
    mode: "live",
    enable_live_orders: true,
    max_notional_usd: 500,
    max_position_notional_usd: 1_000,
    stop_loss_max_distance_pct: 20,
  },
  region: { supports_margin: false },
};

/** A pair the simulator's seeded account neither holds nor trades. */
async function freshPair(h: Harness): Promise<string> {
  const balance = await h.run(h.rest.balance());
  const open = Object.values((await h.run(h.rest.openOrders())).open);
  for (
    const name of [
      "AVAXUSD",
      "ATOMUSD",
      "NEARUSD",
      "UNIUSD",
      "FILUSD",
      "ALGOUSD",
    ]
  ) {
    const pair = h.pair(name);
    if (Number(balance[pair.baseKey] ?? "0") !== 0) continue;
    if (open.some((o) => o.descr.pair === pair.altname)) continue;
    return pair.id;
  }
  throw new Error("no fresh pair");
}

function refused(rule: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof OrderRejectedError, String(error));
    assert.equal(error.rule, rule, error.message);
    return true;
  };
}

for (const wire of WIRES) {
  Deno.test(`library over ${wire}: every bypass of the risk model is refused`, async (t) => {
    await using h = await tradingSim(wire, { config: CAPPED });
    const id = await freshPair(h);
    const pair = h.pair(id);
    const { ask, bid } = await h.ticker(id);
    const usd = (value: number) => (value / ask).toFixed(pair.volumeDecimals);
    const stop = (pct: number) => ({
      type: "stop-loss" as const,
      triggerPrice: px(bid * (1 - pct / 100), pair),
    });

    await t.step(
      "an amend x20 in quantity is judged as the order it produces",
      async () => {
        const placed = await h.run(h.client.place({
          pair: id,
          side: "buy",
          type: "limit",
          volume: usd(400),
          price: px(bid * 0.9, pair),
          stopLoss: stop(15),
        }));
        assert.equal(placed.route === "live" && placed.error, undefined);
        const key = placed.route === "live" ? placed.key : "";
        await h.until(() => h.client.order(key)?.state.orderId !== null);
        await assert.rejects(
          h.run(h.client.amend(key, {
            orderQty: (Number(usd(400)) * 20).toFixed(pair.volumeDecimals),
          })),
          refused("max_notional"),
        );
        // Re-priced below its own stop: the stop would be on the wrong side.
        await assert.rejects(
          h.run(h.client.amend(key, { limitPrice: px(bid * 0.8, pair) })),
          refused("stop_loss_wrong_side"),
        );
        const order = await h.order(h.client.order(key)!.state.orderId!);
        assert.equal(Number(order.vol), Number(usd(400)), "nothing was sent");
        assert.equal(order.descr.price, px(bid * 0.9, pair));
        await h.run(h.client.cancel(key));
      },
    );

    await t.step(
      "a batch cannot split an exposure the gate refuses",
      async () => {
        const before = Object.keys((await h.run(h.rest.openOrders())).open);
        const order = {
          pair: id,
          side: "buy" as const,
          type: "limit" as const,
          volume: usd(400),
          price: px(bid * 0.9, pair),
          stopLoss: stop(15),
        };
        await assert.rejects(
          h.run(h.client.placeBatch([order, order, order])),
          refused("max_position"),
        );
        const after = Object.keys((await h.run(h.rest.openOrders())).open);
        assert.deepEqual(after, before, "no order of the batch was sent");
      },
    );

    await t.step(
      "concurrent placements cannot each see the exposure alone",
      async () => {
        const results = await h.run(Promise.allSettled(
          Array.from({ length: 5 }, () =>
            h.client.place({
              pair: id,
              side: "buy",
              type: "limit",
              volume: usd(400),
              price: px(bid * 0.9, pair),
              stopLoss: stop(15),
            })),
        ));
        const accepted = results.filter((r) => r.status === "fulfilled");
        assert.equal(accepted.length, 2);
        for (const r of results) {
          if (r.status === "rejected") refused("max_position")(r.reason);
        }
        const all = await h.run(h.client.cancelAll());
        assert.ok(
          all.count >= 2,
          "the two accepted, and the seeded account's own",
        );
        const left = Object.values((await h.run(h.rest.openOrders())).open);
        assert.ok(!left.some((o) => o.descr.pair === pair.altname));
      },
    );

    await t.step(
      "partial fill, then cancel: the stop for the filled part stays and is protected",
      async () => {
        // A limit at the ask for more than the top level: part fills, the
        // rest rests; Kraken attaches the stop to the filled part.
        const top = (await h.run(h.rest.depth(pair.restKey, 1))).asks[0]!;
        const topQty = Number(top[1]);
        const volume = Math.min(topQty * 3, Number(usd(450))).toFixed(
          pair.volumeDecimals,
        );
        const placed = await h.run(h.client.place({
          pair: id,
          side: "buy",
          type: "limit",
          volume,
          price: px(Number(top[0]), pair),
          stopLoss: stop(10),
        }, {
          book: {
            bids: [],
            asks: [{ price: px(Number(top[0]), pair), qty: top[1] }],
          },
        }));
        const key = placed.route === "live" ? placed.key : "";
        await h.until(() => {
          const state = h.client.order(key)?.state;
          return state !== undefined && Number(state.filledQty) > 0;
        });
        const filled = h.client.order(key)!.state.filledQty;
        if (h.client.order(key)!.state.status !== "filled") {
          await h.run(h.client.cancel(key));
        }
        await h.until(() => h.events.some((e) => e.type === "close_order"));
        const account = (await h.run(h.client.account({ fresh: true })))!;
        const stops = account.orders.filter((o) =>
          o.pair === id && o.side === "sell" && o.type === "stop-loss"
        );
        const covered = stops.reduce((n, o) => n + Number(o.remaining), 0);
        assert.ok(
          Math.abs(covered - Number(filled)) < 1e-9,
          `${covered} vs ${filled}`,
        );
        await assert.rejects(
          h.run(h.client.cancel(stops[0]!.id)),
          refused("stop_protects_position"),
        );
        // Shrinking it or moving it above the bid is refused too.
        await assert.rejects(
          h.run(h.client.amend(stops[0]!.id, { orderQty: "0" })),
          refused("stop_protects_position"),
        );
        await assert.rejects(
          h.run(h.client.amend(stops[0]!.id, {
            triggerPrice: px(ask * 1.05, pair),
          }, { book: { bids: [{ price: String(bid), qty: "1" }], asks: [] } })),
          refused("stop_loss_wrong_side"),
        );
        // A plain exit order may only sell what the stop leaves free.
        await assert.rejects(
          h.run(h.client.place({
            pair: id,
            side: "sell",
            type: "market",
            volume: filled,
            intent: "exit",
          })),
          refused("exit_exceeds_available"),
        );
        await assert.rejects(
          h.run(h.client.exit(id, (Number(filled) * 2).toFixed(8))),
          refused("exit_exceeds_position"),
        );
        // The exit moves the stop in the same step and sells it all.
        const exit = await h.run(h.client.exit(id, "all"));
        assert.equal(exit.problem, null);
        assert.deepEqual(
          exit.cancelledStops.sort(),
          stops.map((o) => o.id).sort(),
        );
        const after = (await h.run(h.client.account({ fresh: true })))!;
        assert.equal(Number(after.held[pair.base] ?? "0"), 0);
        assert.ok(!after.orders.some((o) => o.pair === id));
      },
    );

    await t.step(
      "iceberg without a stop, trailing-stop entries, non-USD quotes",
      async () => {
        await assert.rejects(
          h.run(h.client.place({
            pair: id,
            side: "buy",
            type: "iceberg",
            volume: usd(300),
            displayVolume: (Number(usd(300)) / 10).toFixed(pair.volumeDecimals),
            price: px(bid * 0.95, pair),
          })),
          refused("stop_loss_required"),
        );
        await assert.rejects(
          h.run(h.client.place({
            pair: "ETHXBT",
            side: "buy",
            type: "limit",
            volume: "0.1",
            price: "0.01",
            stopLoss: { type: "stop-loss", triggerPrice: "0.009" },
          })),
          refused("symbol_not_allowed"),
        );
        await assert.rejects(
          h.run(h.client.place({
            pair: id,
            side: "buy",
            type: "trailing-stop",
            volume: usd(1200),
            trailingOffset: { amount: "2", unit: "pct" },
            stopLoss: stop(15),
          }, { referencePrice: String(ask) })),
          refused("max_notional"),
        );
      },
    );
  });
}
