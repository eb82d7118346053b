/**
 * The trading core against the simulator's matching engine over real
 * loopback REST and WebSocket v2: every order type and flag over both
 * wires, the stop-loss Kraken creates on a fill, reconciliation of an
 * ambiguous placement (drop-after-accept) without a duplicate, resync of
 * an executions sequence gap, and a 1,000-order burst at Pro tier paced
 * by the limiter. Client and simulator share one fake clock.
 */

import assert from "node:assert/strict";
import type { PairMetadata } from "../../../core/market/pairs.ts";
import type { OrderInfo } from "../../../core/rest/types.ts";
import type { OrderLifecycleState } from "../../../core/trade/lifecycle.ts";
import type { OrderRequest } from "../../../core/trade/order.ts";
import { RestOrderTransport } from "../../../core/trade/rest_transport.ts";
import { WsOrderTransport } from "../../../core/trade/ws_transport.ts";
import { NOW_MS } from "../../sim/_client.ts";
import { placed, px, tradingSim, WIRES } from "./_trading_harness.ts";

for (const wire of WIRES) {
  Deno.test(`every order type and flag round-trips over ${wire}`, async (t) => {
    await using h = await tradingSim(wire);
    const xbt = h.pair("XBTUSD");
    const { ask, bid } = await h.ticker("XBTUSD");
    const below = (pct: number) => px(bid * (1 - pct / 100), xbt);
    const above = (pct: number) => px(ask * (1 + pct / 100), xbt);
    const volume = "0.001";
    const stop = (pct: number) => ({
      type: "stop-loss" as const,
      triggerPrice: below(pct),
    });

    async function check(
      name: string,
      request: Omit<OrderRequest, "pair" | "side" | "volume">,
      expect: (order: OrderInfo, state: OrderLifecycleState) => void,
      referencePrice?: string,
    ): Promise<void> {
      await t.step(name, async () => {
        const state = await placed(h, {
          pair: "XBTUSD",
          side: "buy",
          volume,
          ...request,
        }, referencePrice);
        assert.ok(state.orderId, `${name}: an order id`);
        const order = await h.order(state.orderId);
        assert.equal(order.descr.type, "buy");
        assert.equal(
          order.userref,
          state.ref.kind === "userref" ? state.ref.userref : order.userref,
        );
        expect(order, state);
        if (order.status === "open") {
          assert.equal((await h.run(h.client.cancel(state.orderId))).count, 1);
          assert.equal((await h.order(state.orderId)).status, "canceled");
        }
      });
    }

    await check("market", {
      type: "market",
      stopLoss: stop(5),
    }, (order, state) => {
      assert.equal(order.descr.ordertype, "market");
      assert.equal(order.status, "closed");
      assert.ok(["new", "partially_filled", "filled"].includes(state.status));
    }, px(ask, xbt));
    await check("limit, post-only", {
      type: "limit",
      price: below(2),
      postOnly: true,
      stopLoss: stop(5),
    }, (order, state) => {
      assert.equal(order.descr.ordertype, "limit");
      assert.equal(order.descr.price, below(2));
      assert.match(order.oflags, /post/);
      assert.equal(order.status, "open");
      assert.equal(state.status, "new");
      assert.match(order.descr.close, /stop loss/);
    });
    await check("limit, IOC", {
      type: "limit",
      price: below(2),
      timeInForce: "IOC",
      stopLoss: stop(5),
    }, (order) => {
      assert.ok(["canceled", "expired"].includes(order.status), order.status);
    });
    await check("limit, GTD", {
      type: "limit",
      price: below(3),
      timeInForce: "GTD",
      expireAtSec: Math.floor(NOW_MS / 1000) + 3_600,
      stopLoss: {
        type: "stop-loss-limit",
        triggerPrice: below(6),
        limitPrice: below(7),
      },
    }, (order) => {
      assert.equal(order.status, "open");
      assert.equal(
        Math.floor(order.expiretm),
        Math.floor(NOW_MS / 1000) + 3_600,
      );
      assert.match(order.descr.close, /stop loss/);
    });
    await check("iceberg", {
      type: "iceberg",
      price: below(2),
      volume: "0.015",
      displayVolume: "0.001",
      stopLoss: stop(5),
    } as Omit<OrderRequest, "pair" | "side" | "volume">, (order) => {
      assert.equal(order.descr.ordertype, "iceberg");
      assert.equal(order.status, "open");
    });
    await check("stop-loss (buy above the market), trigger index", {
      type: "stop-loss",
      price: above(3),
      trigger: "index",
      stopLoss: stop(2),
    }, (order) => {
      assert.equal(order.descr.ordertype, "stop-loss");
      assert.equal(order.descr.price, above(3));
      assert.equal(order.status, "open");
    });
    await check("take-profit (buy below the market)", {
      type: "take-profit",
      price: below(3),
      stopLoss: stop(6),
    }, (order) => {
      assert.equal(order.descr.ordertype, "take-profit");
      assert.equal(order.status, "open");
    });
    await check("stop-loss-limit", {
      type: "stop-loss-limit",
      price: above(3),
      price2: above(4),
      stopLoss: stop(2),
    }, (order) => {
      assert.equal(order.descr.ordertype, "stop-loss-limit");
      assert.equal(order.descr.price2, above(4));
    });
    await check("take-profit-limit", {
      type: "take-profit-limit",
      price: below(3),
      price2: below(3),
      stopLoss: stop(6),
    }, (order) => {
      assert.equal(order.descr.ordertype, "take-profit-limit");
      assert.equal(order.status, "open");
    });
    await check("trailing-stop", {
      type: "trailing-stop",
      trailingOffset: { amount: "2", unit: "pct" },
      stopLoss: stop(5),
    }, (order) => {
      assert.equal(order.descr.ordertype, "trailing-stop");
      assert.equal(order.status, "open");
    }, px(ask, xbt));

    await t.step("validate only places nothing", async () => {
      const before = Object.keys((await h.run(h.rest.openOrders())).open)
        .length;
      const result = await h.run(h.client.place({
        pair: "XBTUSD",
        side: "buy",
        type: "limit",
        volume,
        price: below(2),
        stopLoss: stop(5),
        validateOnly: true,
      }));
      assert.equal(result.route === "live" && result.ack?.orderId, null);
      assert.equal(
        Object.keys((await h.run(h.rest.openOrders())).open).length,
        before,
      );
    });
    await t.step(
      "an exit with a cl_ord_id, amended, then cancelled",
      async () => {
        const state = await placed(h, {
          pair: "XBTUSD",
          side: "sell",
          type: "limit",
          volume,
          price: above(5),
          intent: "exit",
          clientRef: { kind: "cl_ord_id", clOrdId: `exit-${wire}-1` },
        }, { positionBase: "0.5" });
        const order = await h.order(state.orderId!);
        assert.equal(order.cl_ord_id, `exit-${wire}-1`);
        const key = `cl_ord_id:exit-${wire}-1`;
        await h.run(h.client.amend(key, { limitPrice: above(6) }));
        assert.equal((await h.order(state.orderId!)).descr.price, above(6));
        await h.run(h.client.cancel(key));
        await h.until(() => h.client.order(key)!.state.status === "canceled");
      },
    );
    await t.step("a refusal names Kraken's error", async () => {
      const result = await h.run(h.client.place({
        pair: "XBTUSD",
        side: "buy",
        type: "limit",
        volume: "5",
        price: below(2),
        stopLoss: stop(5),
      }));
      assert.equal(result.route === "live" && result.state.status, "rejected");
      assert.equal(
        result.route === "live" && result.state.reason,
        "EOrder:Insufficient funds",
      );
    });
    await t.step("batch add and batch cancel", async () => {
      const keys = await h.run(h.client.placeBatch([2, 3, 4].map((pct) => ({
        pair: "XBTUSD",
        side: "buy" as const,
        type: "limit" as const,
        volume,
        price: below(pct),
        stopLoss: stop(8),
      }))));
      const ids = keys.map((k) => h.client.order(k)!.state.orderId!);
      assert.equal(ids.every((id) => typeof id === "string"), true);
      const transport = wire === "rest"
        ? new RestOrderTransport(h.rest)
        : new WsOrderTransport(h.session);
      const ack = await h.run(transport.cancelOrderBatch({ orderIds: ids }));
      assert.equal(ack.count, 3);
      for (const id of ids) {
        assert.equal((await h.order(id)).status, "canceled");
      }
    });
    await t.step("cancel all", async () => {
      await placed(h, {
        pair: "XBTUSD",
        side: "buy",
        type: "limit",
        volume,
        price: below(2),
        stopLoss: stop(5),
      });
      const kept = await h.run(h.client.cancelAll());
      assert.ok(kept.count >= 1);
      // The stops Kraken attached to the earlier fills stay: they cover
      // what those fills bought.
      const left = Object.entries((await h.run(h.rest.openOrders())).open);
      assert.ok(left.length > 0, "the market buy's stop is still there");
      for (const [id, order] of left) {
        assert.equal(order.descr.type, "sell");
        assert.equal(order.descr.ordertype, "stop-loss");
        assert.ok(kept.keptStops.includes(id));
      }
      const all = await h.run(h.client.cancelAll({ includeStops: true }));
      assert.equal(all.count, left.length);
      assert.ok(Number(all.uncovered.BTC) > 0, "says what is unprotected");
      assert.deepEqual((await h.run(h.rest.openOrders())).open, {});
      await h.until(() =>
        h.client.orders().every((o) => o.state.status !== "new")
      );
    });
    await t.step(
      "the dead-man switch arms, refreshes and disarms",
      async () => {
        const engine = h.sim.engine!;
        const dms = h.client.startDeadMan({
          timeoutSec: 60,
          refreshMs: 20_000,
        });
        await h.until(() => dms.state.phase === "armed");
        const armedAt = h.clock.now();
        assert.equal(engine.deadManMs, armedAt + 60_000);
        // The refresh re-arms the engine's countdown 20 s later.
        h.clock.advance(20_000);
        await h.until(() => engine.deadManMs === armedAt + 80_000);
        await h.run(h.client.stopDeadMan());
        assert.equal(dms.state.phase, "off");
        assert.equal(engine.deadManMs, undefined);
        if (wire === "rest") {
          assert.equal(h.http.countOf("CancelAllOrdersAfter"), 3);
        }
      },
    );
  });

  Deno.test(`a filled entry gets its stop-loss from the engine over ${wire}`, async () => {
    await using h = await tradingSim(wire);
    const xbt = h.pair("XBTUSD");
    const { ask, bid } = await h.ticker("XBTUSD");
    const trigger = px(bid * 0.95, xbt);
    const state = await placed(h, {
      pair: "XBTUSD",
      side: "buy",
      type: "market",
      volume: "0.002",
      stopLoss: { type: "stop-loss", triggerPrice: trigger },
    }, px(ask, xbt));
    const key = `userref:${
      state.ref.kind === "userref" ? state.ref.userref : 0
    }`;
    await h.until(() => h.client.order(key)!.state.status === "filled");
    await h.until(() => h.events.some((e) => e.type === "close_order"));
    const announced = h.events.find((e) => e.type === "close_order")!;
    assert.equal(
      announced.type === "close_order" && announced.parentOrderId,
      state.orderId ?? h.client.order(key)!.state.orderId,
    );
    const closeId = announced.type === "close_order" ? announced.orderId : "";
    const close = await h.order(closeId);
    assert.equal(close.descr.type, "sell");
    assert.equal(close.descr.ordertype, "stop-loss");
    assert.equal(close.descr.price, trigger);
    assert.equal(Number(close.vol), 0.002);
    assert.equal(h.client.order(key)!.state.filledQty, "0.002");
  });

  Deno.test(`an ambiguous placement over ${wire} is reconciled without a duplicate`, async () => {
    await using h = await tradingSim(wire);
    const xbt = h.pair("XBTUSD");
    const { bid } = await h.ticker("XBTUSD");
    h.sim.control.set({ dropAfterAccept: 1 });
    const result = await h.run(h.client.place({
      pair: "XBTUSD",
      side: "buy",
      type: "limit",
      volume: "0.001",
      price: px(bid * 0.97, xbt),
      stopLoss: { type: "stop-loss", triggerPrice: px(bid * 0.9, xbt) },
    }));
    assert.equal(result.route, "live");
    if (result.route !== "live") return;
    assert.ok(result.error, "the answer was lost");
    const settled = h.client.whenSettled(result.key);
    // Reconciliation waits 2 s (a fresh order can lag in OpenOrders).
    h.clock.advance(2_000);
    const state = await h.run(settled);
    assert.equal(state.status, "new");
    const userref = result.prepared.order.clientRef.kind === "userref"
      ? result.prepared.order.clientRef.userref
      : 0;
    const open = (await h.run(h.rest.openOrders({ userref }))).open;
    assert.equal(Object.keys(open).length, 1, "exactly one order");
    assert.equal(Object.keys(open)[0], state.orderId);
    if (wire === "rest") assert.equal(h.http.countOf("AddOrder"), 1);
  });
}

Deno.test("a sequence gap in executions is resynced from REST", async () => {
  await using h = await tradingSim("rest");
  const xbt = h.pair("XBTUSD");
  const { bid } = await h.ticker("XBTUSD");
  const order = (pct: number): OrderRequest => ({
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.001",
    price: px(bid * (1 - pct / 100), xbt),
    stopLoss: { type: "stop-loss", triggerPrice: px(bid * 0.9, xbt) },
  });
  const a = await placed(h, order(3));
  await h.until(() =>
    h.stream.gaps === 0 && h.client.order(a.orderId!)!.state.status === "new"
  );
  // Lose the private frames while A is cancelled behind the client's back.
  h.sim.ws.faults.stall({ scope: "private" });
  await h.run(h.rest.callPrivate("CancelOrder", { txid: a.orderId! }));
  h.sim.ws.faults.resume();
  assert.equal(h.client.order(a.orderId!)!.state.status, "new");
  // The next message on the channel reveals the gap.
  await placed(h, order(4));
  await h.until(() => h.stream.gaps >= 1);
  await h.until(() => h.client.order(a.orderId!)!.state.status === "canceled");
  assert.ok(
    h.streamEvents.some((e) =>
      e.type === "resync" && e.result.reason === "gap"
    ),
  );
});

Deno.test("1,000 orders over 10 pairs at Pro tier complete without a rate-limit error", async () => {
  await using h = await tradingSim("rest");
  const names = [
    "XBTUSD",
    "ETHUSD",
    "ZECUSD",
    "UNIUSD",
    "AAVEUSD",
    "FILUSD",
    "NEARUSD",
    "ARBUSD",
    "OPUSD",
    "INJUSD",
  ];
  const plan: Array<{ pair: PairMetadata; price: string; stop: string }> = [];
  for (const name of names) {
    const pair = h.pair(name);
    const { bid } = await h.ticker(name);
    plan.push({
      pair,
      price: px(bid * 0.6, pair),
      stop: px(bid * 0.55, pair),
    });
  }
  const openBefore = Object.keys((await h.run(h.rest.openOrders())).open);
  const total = 1_000;
  let settled = 0;
  const failures: string[] = [];
  const jobs = Array.from({ length: total }, async (_, i) => {
    const { pair, price, stop } = plan[i % plan.length]!;
    try {
      const result = await h.client.place({
        pair: pair.id,
        side: "buy",
        type: "limit",
        volume: pair.ordermin,
        price,
        stopLoss: { type: "stop-loss", triggerPrice: stop },
      });
      if (result.route !== "live" || result.error !== undefined) {
        failures.push(result.route === "live" ? result.error!.code : "route");
        return;
      }
      // A young order's cancel costs 8: the limiter has to pace the pair.
      await h.client.cancel(result.key);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    } finally {
      settled++;
    }
  });
  const parked = () => {
    let n = h.limiter.pending("rest");
    for (const { pair } of plan) n += h.limiter.pending("trading", pair.id);
    return n;
  };
  const startMs = h.clock.now();
  for (let jumps = 0; settled < total; jumps++) {
    assert.ok(jumps < 10_000, "the burst never finished");
    await h.clock.until(
      () => settled + parked() === total && h.http.inflight === 0,
      20_000,
    );
    if (settled === total) break;
    const next = h.clock.nextTimerAtMs();
    assert.ok(next !== undefined, "parked calls need a limiter timer");
    h.clock.advanceTo(next);
  }
  await Promise.all(jobs);
  assert.deepEqual(failures, []);
  assert.equal(h.http.countOf("AddOrder"), total, "every order sent once");
  assert.equal(h.http.countOf("CancelOrder"), total);
  assert.equal(h.http.answersWith("EOrder:Rate limit exceeded"), 0);
  assert.equal(h.http.answersWith("EAPI:Rate limit exceeded"), 0);
  const elapsedSec = (h.clock.now() - startMs) / 1000;
  // 100 orders per pair × (1 + 8) = 900 on a 180 counter decaying 3.75/s.
  assert.ok(elapsedSec > 150, `paced over ${elapsedSec} s of simulated time`);
  const openAfter = Object.keys((await h.run(h.rest.openOrders())).open);
  assert.deepEqual(
    openAfter.sort(),
    openBefore.sort(),
    "every order cancelled",
  );
});
