import assert from "node:assert/strict";
import type { OrderInfo } from "../../../core/rest/types.ts";
import { usageMessage } from "./_parsed.ts";
import { orderRows, parseOrdersArgs } from "../../../server/cli/orders_cmd.ts";
import { CliHarness } from "./_harness.ts";

function order(pair: string, opentm: number): OrderInfo {
  return {
    refid: null,
    userref: null,
    status: "open",
    opentm,
    starttm: 0,
    expiretm: 0,
    descr: {
      pair,
      type: "buy",
      ordertype: "limit",
      price: "1.5",
      price2: "0",
      leverage: "none",
      order: `buy 2 ${pair} @ limit 1.5`,
      close: "",
    },
    vol: "2",
    vol_exec: "0.5",
    cost: "0",
    fee: "0",
    price: "0",
    stopprice: "0",
    limitprice: "0",
    misc: "",
    oflags: "fciq",
  };
}

Deno.test("parseOrdersArgs() accepts --json and --help only", () => {
  assert.deepEqual(parseOrdersArgs(["--json"]), { kind: "orders", json: true });
  assert.deepEqual(parseOrdersArgs(["-h"]), { kind: "help" });
  assert.match(usageMessage(parseOrdersArgs(["--all"])), /Unknown flag/);
});

Deno.test("orderRows() flattens OpenOrders oldest first", () => {
  const rows = orderRows({ B: order("ETHUSD", 20), A: order("XBTUSD", 10) });
  assert.deepEqual(rows.map((r) => r.txid), ["A", "B"]);
  assert.deepEqual(rows[0], {
    txid: "A",
    pair: "XBTUSD",
    symbol: "XBTUSD",
    side: "buy",
    type: "limit",
    price: "1.5",
    price2: "0",
    volume: "2",
    volumeExecuted: "0.5",
    status: "open",
    openedAtSec: 10,
    userref: null,
    clOrdId: null,
    description: "buy 2 XBTUSD @ limit 1.5",
    role: "order",
  });
});

Deno.test("orderRows() marks sell stops as protective stops", () => {
  const stop = order("XBTUSD", 30);
  stop.descr = { ...stop.descr, type: "sell", ordertype: "stop-loss" };
  const buyStop = order("XBTUSD", 40);
  buyStop.descr = { ...buyStop.descr, ordertype: "stop-loss" };
  const trailing = order("ETHUSD", 50);
  trailing.descr = {
    ...trailing.descr,
    type: "sell",
    ordertype: "trailing-stop",
  };
  const rows = orderRows({
    S: stop,
    B: buyStop,
    T: trailing,
    L: order("X", 1),
  });
  assert.deepEqual(
    rows.map((r) => [r.txid, r.role]),
    [["L", "order"], ["S", "stop"], ["B", "order"], ["T", "stop"]],
  );
});

Deno.test("orders --json lists the simulator account's open orders", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["orders", "--json"], { env: h.simCredentialsEnv });
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(out), ["orders"]);
  assert.ok(out.orders.length > 0);
  for (const o of out.orders) {
    assert.match(o.txid, /^[A-Z0-9]{6}-[A-Z0-9]{5}-[A-Z0-9]{6}$/);
    assert.equal(o.status, "open");
    assert.ok(o.side === "buy" || o.side === "sell");
    assert.equal(o.role, "order", "the seeded orders are limits, not stops");
  }
  const times = out.orders.map((o: { openedAtSec: number }) => o.openedAtSec);
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
});

Deno.test("orders prints a table, and says so when there are none", async (t) => {
  await using h = await CliHarness.start();
  await t.step("table", async () => {
    const run = await h.run(["orders"], { env: h.simCredentialsEnv });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /^txid +pair +side +type +price +volume +filled +role +opened \(UTC\)\n/,
    );
  });
  await t.step("none", async () => {
    for (const o of h.sim!.account.orders()) {
      if (o.status !== "open") continue;
      h.sim!.account.closeOrder(o.txid, {
        status: "canceled",
        reason: "User requested",
        timeMs: h.now(),
      });
    }
    const run = await h.run(["orders"], { env: h.simCredentialsEnv });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "No open orders\n");
    const json = await h.run(["orders", "--json"], {
      env: h.simCredentialsEnv,
    });
    assert.deepEqual(JSON.parse(json.stdout), { orders: [] });
  });
});

Deno.test("orders with a key lacking Query Open Orders exits 3", async () => {
  await using h = await CliHarness.start({
    sim: { permissions: ["query_funds"] },
  });
  const run = await h.run(["orders"], { env: h.simCredentialsEnv });
  assert.equal(run.code, 3);
  assert.match(run.stderr, /^krakked orders: .*\(permission\)/);
});
