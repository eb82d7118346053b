/**
 * The simulator's REST trading methods over real loopback HTTP, signed by
 * the core `RestClient` (and by raw signed calls where a client would pace
 * or refuse): Kraken's response shapes, error strings, the trading
 * counter, the dead man's switch and the drop-after-accept fault. The clock
 * is a test clock and the engine's background timer is off.
 */

import assert from "node:assert/strict";
import { KrakenError } from "../../../core/rest/errors.ts";
import { NonceSource } from "../../../core/auth/nonce.ts";
import { RestClient } from "../../../core/rest/client.ts";
import { type Simulator, startSimulator } from "../../../server/sim/server.ts";
import { privateCall, TestClock } from "../_client.ts";

const START_MS = Date.UTC(2025, 5, 15, 12);

interface Setup extends AsyncDisposable {
  sim: Simulator;
  clock: TestClock;
  client: RestClient;
  /** Raw signed call (no client-side pacing or checks). */
  raw(
    method: string,
    params: Record<string, string>,
    options?: { json?: boolean },
  ): Promise<{ error: string[]; result?: Record<string, unknown> }>;
  // deno-lint-ignore no-explicit-any -- tests index into Kraken result shapes
  call(method: string, params?: Record<string, unknown>): Promise<any>;
}

async function setup(
  options: { maxOpenOrdersPerPair?: number } = {},
): Promise<Setup> {
  const clock = new TestClock(START_MS);
  const sim = await startSimulator({
    seed: 5,
    now: clock.now,
    engine: { tickMs: 0, ...options },
  });
  // One nonce source for the client and the raw calls: one key, one counter.
  const nonce = new NonceSource();
  const client = new RestClient({
    baseUrl: sim.url,
    nonce,
    credentials: {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    },
    random: () => 0,
  });
  const credentials = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  return {
    sim,
    clock,
    client,
    raw: (method, params, extra = {}) =>
      privateCall(sim.url, method, params, {
        ...credentials,
        ...extra,
        nonce: String(nonce.next()),
      }),
    call: async (method, params = {}) =>
      (await client.callPrivate(method, params as never)).result,
    async [Symbol.asyncDispose]() {
      client[Symbol.dispose]();
      await sim.close();
    },
  };
}

async function expectError(
  promise: Promise<unknown>,
  code: string,
): Promise<KrakenError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof KrakenError, String(error));
  assert.equal(error.code, code);
  return error;
}

Deno.test("AddOrder round trip: txid array, descr text, open, query, cancel, closed", async () => {
  await using s = await setup();
  const added = await s.call("AddOrder", {
    pair: "XBTUSD",
    type: "buy",
    ordertype: "limit",
    volume: "0.01",
    price: "60000",
    userref: 42,
    close: { ordertype: "stop-loss", price: "55000" },
  });
  assert.deepEqual(Object.keys(added), ["descr", "txid"]);
  assert.equal(added.txid.length, 1);
  const [txid] = added.txid as string[];
  assert.match(txid!, /^O[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/);
  assert.deepEqual(added.descr, {
    order: "buy 0.01000000 XBTUSD @ limit 60000.0",
    close: "close position @ stop loss 55000.0",
  });

  const open = await s.client.openOrders();
  const info = open.open[txid!]!;
  assert.equal(info.status, "open");
  assert.equal(info.userref, 42);
  assert.equal(info.descr.close, "close position @ stop loss 55000.0");
  assert.equal(info.oflags, "fciq");
  const queried = await s.client.queryOrders(txid!);
  assert.equal(queried[txid!]!.vol, "0.01000000");

  assert.deepEqual(await s.call("CancelOrder", { txid }), {
    count: 1,
    pending: false,
  });
  const closed = await s.client.closedOrders();
  assert.equal(closed.closed[txid!]!.status, "canceled");
  assert.equal(closed.closed[txid!]!.reason, "User requested");
  await expectError(s.call("CancelOrder", { txid }), "EOrder:Invalid order");
  await expectError(
    s.call("CancelOrder", { txid: "OAAAAA-BBBBB-CCCCCC" }),
    "EOrder:Unknown order",
  );
});

Deno.test("validate=true answers the descr without a txid and places nothing", async () => {
  await using s = await setup();
  const before = Object.keys((await s.client.openOrders()).open).length;
  const result = await s.call("AddOrder", {
    pair: "ETHUSD",
    type: "sell",
    ordertype: "stop-loss-limit",
    volume: "0.5",
    price: "2500",
    price2: "2490",
    validate: true,
  });
  assert.deepEqual(result, {
    descr: {
      order: "sell 0.50000000 ETHUSD @ stop loss 2500.00 -> limit 2490.00",
    },
  });
  assert.equal(Object.keys((await s.client.openOrders()).open).length, before);
});

Deno.test("a market order's fills agree across Balance, Ledgers, TradesHistory and ClosedOrders", async () => {
  await using s = await setup();
  const before = await s.client.balance();
  const added = await s.call("AddOrder", {
    pair: "XBTUSD",
    type: "buy",
    ordertype: "market",
    volume: "0.05",
  });
  const txid = added.txid[0] as string;
  const order = (await s.client.queryOrders(txid, { trades: true }))[txid]!;
  assert.equal(order.status, "closed");
  assert.equal(order.vol_exec, "0.05000000");
  const history = await s.client.tradesHistory({ ledgers: true });
  const trades = Object.entries(history.trades).filter(([, t]) =>
    t.ordertxid === txid
  );
  assert.deepEqual(trades.map(([id]) => id).sort(), [...order.trades!].sort());
  const ledger = await s.client.ledgers();
  let usd = 0;
  let btc = 0;
  for (const [tradeId, trade] of trades) {
    assert.equal(trade.pair, "XXBTZUSD");
    assert.equal(trade.maker, false);
    const entries = Object.values(ledger.ledger).filter((e) =>
      e.refid === tradeId
    );
    assert.equal(entries.length, 2, "two ledger entries share the trade id");
    assert.deepEqual(
      trade.ledgers!.sort(),
      Object.keys(ledger.ledger).filter((id) =>
        ledger.ledger[id]!.refid === tradeId
      ).sort(),
    );
    for (const entry of entries) {
      if (entry.asset === "ZUSD") {
        usd += Number(entry.amount) - Number(entry.fee);
      }
      if (entry.asset === "XXBT") {
        btc += Number(entry.amount) - Number(entry.fee);
      }
    }
    assert.equal(
      entries.find((e) => e.asset === "ZUSD")!.fee,
      Number(trade.fee).toFixed(4),
    );
  }
  const after = await s.client.balance();
  assert.equal(
    (Number(after.ZUSD) - Number(before.ZUSD)).toFixed(4),
    usd.toFixed(4),
  );
  assert.equal(
    (Number(after.XXBT) - Number(before.XXBT)).toFixed(10),
    btc.toFixed(10),
  );
  const volume = await s.client.tradeVolume("XBTUSD");
  assert.ok(Number(volume.volume) > 0);
});

Deno.test("rejections carry Kraken's exact error strings", async (t) => {
  await using s = await setup();
  const base = {
    pair: "XBTUSD",
    type: "buy",
    ordertype: "limit",
    volume: "0.01",
    price: "60000",
  };
  const cases: Array<[string, Record<string, string>, string]> = [
    ["unknown pair", { ...base, pair: "NOPE" }, "EQuery:Unknown asset pair"],
    [
      "too many price decimals",
      { ...base, price: "60000.05" },
      "EOrder:Invalid price",
    ],
    ["zero price", { ...base, price: "0" }, "EOrder:Invalid price"],
    [
      "volume under ordermin",
      { ...base, volume: "0.00005" },
      "EGeneral:Invalid arguments:volume minimum not met",
    ],
    ["cost under costmin", {
      ...base,
      pair: "XDGUSD",
      volume: "13",
      price: "0.0000100",
    }, "EOrder:Cost minimum not met"],
    ["not enough USD", { ...base, volume: "5" }, "EOrder:Insufficient funds"],
    [
      "not enough BTC",
      { ...base, type: "sell", volume: "50" },
      "EOrder:Insufficient funds",
    ],
    [
      "unknown order type",
      { ...base, ordertype: "stop" },
      "EGeneral:Invalid arguments",
    ],
    ["cl_ord_id with a close", {
      ...base,
      cl_ord_id: "x1",
      "close[ordertype]": "stop-loss",
      "close[price]": "50000",
    }, "EGeneral:Invalid arguments"],
    [
      "userref with cl_ord_id",
      { ...base, cl_ord_id: "x1", userref: "5" },
      "EGeneral:Invalid arguments",
    ],
    ["iceberg display too small", {
      ...base,
      ordertype: "iceberg",
      volume: "1",
      displayvol: "0.05",
    }, "EGeneral:Invalid arguments"],
    [
      "displayvol on a limit",
      { ...base, displayvol: "0.01" },
      "EGeneral:Invalid arguments",
    ],
    ["absolute trailing offset", {
      ...base,
      ordertype: "trailing-stop",
      price: "100",
    }, "EGeneral:Invalid arguments"],
    [
      "post on a market order",
      { ...base, ordertype: "market", oflags: "post" },
      "EGeneral:Invalid arguments",
    ],
    [
      "GTD without expiretm",
      { ...base, timeinforce: "GTD" },
      "EGeneral:Invalid arguments",
    ],
    [
      "expiretm too close",
      { ...base, expiretm: "+2" },
      "EGeneral:Invalid arguments",
    ],
    [
      "deadline in the past",
      { ...base, deadline: "2025-06-15T11:59:59Z" },
      "EService:Deadline elapsed",
    ],
    ["index trigger without an index", {
      ...base,
      pair: "ZRXUSD",
      ordertype: "stop-loss",
      price: "0.3",
      volume: "5",
      trigger: "index",
    }, "EGeneral:Invalid arguments:Index unavailable"],
    ["leverage", { ...base, leverage: "2" }, "EOrder:Cannot open position"],
    [
      "cancel_only pair",
      { ...base, pair: "REPUSD", volume: "1", price: "1" },
      "EService:Market in cancel_only mode",
    ],
    [
      "post_only pair",
      { ...base, pair: "COMPUSD", volume: "1", price: "50" },
      "EService:Market in post_only mode",
    ],
  ];
  for (const [name, params, code] of cases) {
    await t.step(name, async () => {
      assert.deepEqual(await s.raw("AddOrder", params), { error: [code] });
    });
  }
  await t.step("tick size (a pair with a coarser tick)", async () => {
    // Every catalogue tick is 10^-pair_decimals, so decimals are what fails.
    assert.deepEqual(
      await s.raw("AddOrder", { ...base, price: "60000.11" }),
      { error: ["EOrder:Invalid price"] },
    );
  });
  await t.step("system status", async () => {
    s.sim.control.set({ systemStatus: "cancel_only" });
    assert.deepEqual(await s.raw("AddOrder", base), {
      error: ["EService:Market in cancel_only mode"],
    });
    s.sim.control.set({ systemStatus: "post_only" });
    assert.deepEqual(await s.raw("AddOrder", base), {
      error: ["EService:Market in post_only mode"],
    });
    s.sim.control.set({ systemStatus: "online" });
  });
});

Deno.test("AddOrderBatch: scalar txids per row, a row error for funds, a bad row refuses the batch", async () => {
  await using s = await setup();
  const result = await s.call("AddOrderBatch", {
    pair: "XBTUSD",
    orders: [
      {
        ordertype: "limit",
        type: "buy",
        volume: "0.01",
        price: "60000",
        userref: 1,
      },
      { ordertype: "limit", type: "buy", volume: "9", price: "60000" },
      {
        ordertype: "limit",
        type: "buy",
        volume: "0.01",
        price: "59000",
        close: {
          ordertype: "stop-loss-limit",
          price: "55000",
          price2: "54900",
        },
      },
    ],
  });
  assert.equal(result.orders.length, 3);
  assert.equal(typeof result.orders[0].txid, "string");
  assert.deepEqual(result.orders[0].descr, {
    order: "buy 0.01000000 XBTUSD @ limit 60000.0",
  });
  assert.deepEqual(result.orders[1], { error: "EOrder:Insufficient funds" });
  assert.deepEqual(result.orders[2].descr, {
    order: "buy 0.01000000 XBTUSD @ limit 59000.0",
    close: "close position @ stop loss 55000.0 -> limit 54900.0",
  });
  await expectError(
    s.call("AddOrderBatch", {
      pair: "XBTUSD",
      orders: [
        { ordertype: "limit", type: "buy", volume: "0.01", price: "60000" },
        { ordertype: "limit", type: "buy", volume: "0.01", price: "60000.55" },
      ],
    }),
    "EOrder:Invalid price",
  );
  await expectError(
    s.call("AddOrderBatch", {
      pair: "XBTUSD",
      orders: [{
        ordertype: "limit",
        type: "buy",
        volume: "0.01",
        price: "60000",
      }],
    }),
    "EGeneral:Invalid arguments",
  );
  const open = Object.keys((await s.client.openOrders()).open).length;
  assert.equal(open, 4 + 2, "seeded orders plus the two placed rows");

  const batchCancel = await s.call("CancelOrderBatch", {
    orders: [result.orders[0].txid, result.orders[2].txid],
  });
  assert.deepEqual(batchCancel, { count: 2 });
  assert.deepEqual(await s.call("CancelAll"), { count: 4 });
  assert.deepEqual((await s.client.openOrders()).open, {});
});

Deno.test("AmendOrder, OrderAmends and EditOrder", async () => {
  await using s = await setup();
  const added = await s.call("AddOrder", {
    pair: "ETHUSD",
    type: "buy",
    ordertype: "limit",
    volume: "0.5",
    price: "2800",
    cl_ord_id: "amend-me",
  });
  const txid = added.txid[0] as string;
  s.clock.advance(20_000);
  const amended = await s.call("AmendOrder", {
    cl_ord_id: "amend-me",
    order_qty: "0.75",
    limit_price: "2810",
  });
  assert.match(amended.amend_id, /^T[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/);
  const info = (await s.client.queryOrders(txid))[txid]!;
  assert.equal(info.vol, "0.75000000");
  assert.equal(info.descr.price, "2810.00");
  assert.equal(info.misc, "amended");
  // Not in the core client's allowlist: a raw signed call.
  const answer = await s.raw("OrderAmends", { order_id: txid });
  assert.deepEqual(answer.error, []);
  // deno-lint-ignore no-explicit-any -- Kraken result shape
  const amends = answer.result as any;
  assert.equal(amends.count, 2);
  assert.deepEqual(
    amends.amends.map((a: { amend_type: string }) => a.amend_type),
    ["original", "user"],
  );
  assert.equal(amends.amends[1].amend_id, amended.amend_id);
  await expectError(
    s.call("EditOrder", { txid, pair: "ETHUSD", volume: "1" }),
    "EGeneral:Invalid arguments",
  );
  const plain = (await s.call("AddOrder", {
    pair: "ETHUSD",
    type: "buy",
    ordertype: "limit",
    volume: "0.5",
    price: "2800",
  })).txid[0] as string;
  const edited = await s.call("EditOrder", {
    txid: plain,
    pair: "ETHUSD",
    volume: "0.6",
    price: "2790",
  });
  assert.equal(edited.status, "ok");
  assert.equal(edited.originaltxid, plain);
  assert.notEqual(edited.txid, plain);
  assert.equal(edited.orders_cancelled, 1);
  assert.equal(edited.descr.order, "buy 0.60000000 ETHUSD @ limit 2790.00");
});

Deno.test("CancelAllOrdersAfter fires on the simulator clock", async () => {
  await using s = await setup();
  const txid = (await s.call("AddOrder", {
    pair: "XBTUSD",
    type: "buy",
    ordertype: "limit",
    volume: "0.01",
    price: "60000",
  })).txid[0] as string;
  assert.deepEqual(await s.call("CancelAllOrdersAfter", { timeout: 60 }), {
    currentTime: "2025-06-15T12:00:00Z",
    triggerTime: "2025-06-15T12:01:00Z",
  });
  s.clock.advance(30_000);
  assert.deepEqual(await s.call("CancelAllOrdersAfter", { timeout: 60 }), {
    currentTime: "2025-06-15T12:00:30Z",
    triggerTime: "2025-06-15T12:01:30Z",
  });
  s.clock.advance(59_000);
  assert.ok(txid in (await s.client.openOrders()).open, "re-armed: still open");
  s.clock.advance(2_000);
  assert.deepEqual((await s.client.openOrders()).open, {});
  const closed = (await s.client.queryOrders(txid))[txid]!;
  assert.equal(closed.status, "canceled");
  assert.equal(closed.closetm, Date.UTC(2025, 5, 15, 12, 1, 30) / 1000);
  assert.deepEqual(await s.call("CancelAllOrdersAfter", { timeout: 0 }), {
    currentTime: "2025-06-15T12:01:31Z",
    triggerTime: "0",
  });
});

Deno.test("a burst of unpaced AddOrders on one pair hits EOrder:Rate limit exceeded", async () => {
  await using s = await setup({ maxOpenOrdersPerPair: 1000 });
  const order = {
    pair: "XBTUSD",
    type: "buy",
    ordertype: "limit",
    volume: "0.0001",
    price: "50000",
  };
  for (let i = 0; i < 60; i++) {
    const answer = await s.raw("AddOrder", order);
    assert.deepEqual(answer.error, [], `order ${i + 1}`);
  }
  assert.deepEqual(await s.raw("AddOrder", order), {
    error: ["EOrder:Rate limit exceeded"],
  });
  // Other pairs are not affected; time decays the counter (Starter: 1/s).
  assert.deepEqual(
    (await s.raw("AddOrder", {
      ...order,
      pair: "ETHUSD",
      price: "2000",
      volume: "0.01",
    })).error,
    [],
  );
  s.clock.advance(3_000);
  assert.deepEqual((await s.raw("AddOrder", order)).error, []);
});

Deno.test("drop after accept: the answer is lost, the order exists", async (t) => {
  await using s = await setup();
  await t.step(
    "REST AddOrder: connection reset, then found by cl_ord_id",
    async () => {
      s.sim.control.set({ dropAfterAccept: 1 });
      const error = await s.call("AddOrder", {
        pair: "XBTUSD",
        type: "buy",
        ordertype: "limit",
        volume: "0.01",
        price: "60000",
        cl_ord_id: "recon-1",
      }).then(() => assert.fail("the answer must be lost"), (e: unknown) => e);
      assert.ok(error instanceof KrakenError);
      assert.equal(error.kind, "network");
      assert.equal(s.sim.control.stats.dropAfterAccept, 1);
      const open = await s.client.openOrders({ clOrdId: "recon-1" });
      const found = Object.values(open.open);
      assert.equal(found.length, 1);
      assert.equal(found[0]!.cl_ord_id, "recon-1");
      assert.equal(
        found[0]!.descr.order,
        "buy 0.01000000 XBTUSD @ limit 60000.0",
      );
    },
  );
  await t.step(
    "armed over HTTP; a refused order does not consume it",
    async () => {
      const response = await fetch(`${s.sim.url}/_sim/faults`, {
        method: "POST",
        body: JSON.stringify({ dropAfterAccept: 1 }),
      });
      assert.equal((await response.json()).faults.dropAfterAccept, 1);
      await expectError(
        s.call("AddOrder", {
          pair: "XBTUSD",
          type: "buy",
          ordertype: "limit",
          volume: "9",
          price: "60000",
        }),
        "EOrder:Insufficient funds",
      );
      assert.equal(s.sim.control.state.dropAfterAccept, 1);
      s.sim.control.clear();
    },
  );
});

Deno.test("startSimulator with engine: false leaves trading methods unimplemented", async () => {
  await using sim = await startSimulator({ seed: 5, engine: false });
  const answer = await privateCall(sim.url, "AddOrder", { pair: "XBTUSD" }, {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  });
  assert.deepEqual(answer, { error: ["EGeneral:Unknown method"] });
  assert.equal(sim.engine, undefined);
});

Deno.test("cancel by userref and cl_ord_id; batch cancel by client ids; validate and edit variants", async () => {
  await using s = await setup();
  const add = async (extra: Record<string, unknown>) =>
    (await s.call("AddOrder", {
      pair: "XBTUSD",
      type: "buy",
      ordertype: "limit",
      volume: "0.01",
      price: "55000",
      ...extra,
    })).txid[0] as string;
  await add({ userref: 77 });
  await add({ userref: 77 });
  await add({ cl_ord_id: "c-1" });
  await add({ cl_ord_id: "c-2" });
  const edited = await s.call("EditOrder", {
    txid: await add({ userref: 5 }),
    pair: "XBTUSD",
    userref: 6,
    validate: true,
  });
  assert.equal(edited.orders_cancelled, 0);
  assert.equal(edited.txid, undefined);
  assert.equal(edited.newuserref, 6);
  assert.equal(edited.olduserref, 5);
  assert.deepEqual(await s.call("CancelOrder", { txid: "77" }), {
    count: 2,
    pending: false,
  });
  assert.deepEqual(await s.call("CancelOrder", { cl_ord_id: "c-1" }), {
    count: 1,
    pending: false,
  });
  await expectError(
    s.call("CancelOrder", { cl_ord_id: "c-1" }),
    "EOrder:Invalid order",
  );
  await expectError(s.call("CancelOrder", {}), "EGeneral:Invalid arguments");
  assert.deepEqual(
    await s.call("CancelOrderBatch", { cl_ord_ids: ["c-2", "nobody"] }),
    { count: 1 },
  );
  await expectError(
    s.call("CancelOrderBatch", { orders: [] }),
    "EGeneral:Invalid arguments",
  );
  await expectError(
    s.call("CancelAllOrdersAfter", {}),
    "EGeneral:Invalid arguments",
  );
  const batch = await s.call("AddOrderBatch", {
    pair: "XBTUSD",
    validate: true,
    orders: [
      { ordertype: "limit", type: "buy", volume: "0.01", price: "50000" },
      { ordertype: "market", type: "sell", volume: "0.01" },
    ],
  });
  assert.deepEqual(batch.orders, [
    { descr: { order: "buy 0.01000000 XBTUSD @ limit 50000.0" } },
    { descr: { order: "sell 0.01000000 XBTUSD @ market" } },
  ]);
  assert.deepEqual(
    await s.raw("OrderAmends", { order_id: "OAAAAA-BBBBB-CCCCCC" }),
    {
      error: ["EOrder:Unknown order"],
    },
  );
});
