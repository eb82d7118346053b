import assert from "node:assert/strict";
import {
  classifyPrivateMethod,
  FORBIDDEN_METHODS,
} from "../../../server/sim/rest/methods.ts";
import { startSimulator } from "../../../server/sim/server.ts";
import {
  assertDecimal,
  type Envelope,
  ID_PATTERN,
  NOW_MS,
  privateCall,
  TestClock,
  units,
} from "../_client.ts";

const DECIMALS: Record<string, number> = {
  ZUSD: 4,
  ZEUR: 4,
  XXBT: 10,
  XETH: 10,
  XXDG: 8,
  XXRP: 8,
  ADA: 8,
  SOL: 10,
  DOT: 10,
  LINK: 10,
};

async function simulator(clock = new TestClock()) {
  const sim = await startSimulator({ seed: 21, now: clock.now, tier: "pro" });
  const creds = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  // Pro decays 1/s: move the clock a little between calls so no test trips the counter.
  const call = async (
    method: string,
    params: Record<string, string> = {},
  ): Promise<Envelope> => {
    clock.advance(2_000);
    const answer = await privateCall(sim.url, method, params, creds);
    assert.deepEqual(answer.error, [], `${method} ${JSON.stringify(params)}`);
    return answer;
  };
  return { sim, call, clock };
}

Deno.test("Balance and BalanceEx use each asset's decimals and match the ledger", async () => {
  const { sim, call } = await simulator();
  await using _ = sim;
  const balance = (await call("Balance")).result as Record<string, string>;
  for (const [asset, amount] of Object.entries(balance)) {
    assertDecimal(amount, DECIMALS[asset] ?? -1, asset);
  }
  const ex = (await call("BalanceEx")).result;
  for (
    const [asset, entry] of Object.entries(ex) as Array<
      [string, Record<string, string>]
    >
  ) {
    assert.equal(entry.balance, balance[asset]);
    assertDecimal(entry.hold_trade, DECIMALS[asset]!, `${asset} hold_trade`);
  }
  assert.ok(units(ex.ZUSD.hold_trade, 4) > 0n, "open buys hold USD");
  assert.ok(units(ex.XETH.hold_trade, 10) > 0n, "an open sell holds ETH");
  // Balance = the newest ledger balance of every asset.
  const newest = new Map<string, string>();
  for (let ofs = 0;; ofs += 50) {
    const page = (await call("Ledgers", { ofs: String(ofs) })).result;
    for (
      const entry of Object.values(page.ledger) as Array<Record<string, string>>
    ) {
      if (!newest.has(entry.asset!)) newest.set(entry.asset!, entry.balance!);
    }
    if (ofs + 50 >= page.count) break;
  }
  assert.deepEqual(Object.fromEntries(newest), balance);
});

Deno.test("TradeBalance and TradeVolume have Kraken's fields", async () => {
  const { sim, call } = await simulator();
  await using _ = sim;
  const tb = (await call("TradeBalance")).result;
  assert.deepEqual(Object.keys(tb), [
    "eb",
    "tb",
    "m",
    "n",
    "c",
    "v",
    "e",
    "mf",
    "uv",
  ]);
  for (const value of Object.values(tb)) assertDecimal(value, 4);
  assert.ok(Number(tb.eb) > 50_000);
  const inXbt = (await call("TradeBalance", { asset: "XBT" })).result;
  assertDecimal(inXbt.eb, 10);
  const volume = (await call("TradeVolume", { pair: "XBTUSD,ETHXBT" })).result;
  assert.equal(volume.currency, "ZUSD");
  assertDecimal(volume.volume, 4);
  assert.deepEqual(Object.keys(volume.fees), ["XXBTZUSD", "XETHXXBT"]);
  assert.deepEqual(Object.keys(volume.fees.XXBTZUSD), [
    "fee",
    "minfee",
    "maxfee",
    "nextfee",
    "nextvolume",
    "tiervolume",
  ]);
  assert.equal(volume.fees.XXBTZUSD.maxfee, "0.2600");
  assert.equal(volume.fees_maker.XXBTZUSD.minfee, "0.0000");
  assert.equal((await call("TradeVolume")).result.fees, undefined);
});

Deno.test("OpenOrders, ClosedOrders and QueryOrders return Kraken order objects", async (t) => {
  const { sim, call } = await simulator();
  await using _ = sim;
  const open = (await call("OpenOrders", { trades: "true" })).result.open;
  const openIds = Object.keys(open);
  await t.step("open orders", () => {
    assert.equal(openIds.length, 4);
    for (
      const [id, order] of Object.entries(open) as Array<
        [string, Record<string, unknown>]
      >
    ) {
      assert.match(id, ID_PATTERN);
      assert.equal(order.status, "open");
      assert.equal(typeof order.opentm, "number");
      assert.equal(order.starttm, 0);
      assert.equal(order.expiretm, 0);
      assert.equal("closetm" in order, false);
      assert.equal("reason" in order, false);
      const descr = order.descr as Record<string, string>;
      assert.match(
        descr.order!,
        /^(buy|sell) \d+\.\d{8} [A-Z]+ @ limit \d+\.\d+$/,
      );
      assertDecimal(order.vol, 8);
      assertDecimal(order.cost, 5);
      assert.equal(order.oflags, "fciq");
    }
    const partial = Object.values(open).find((o) =>
      (o as Record<string, string>).vol_exec !== "0.00000000"
    ) as
      | Record<string, unknown>
      | undefined;
    assert.ok(partial, "one open order is partially filled");
    assert.equal((partial.trades as string[]).length, 1);
    const tagged = Object.values(open).find((o) =>
      (o as Record<string, unknown>).userref === 42
    ) as Record<
      string,
      unknown
    >;
    assert.equal(tagged.cl_ord_id, "krakked-demo-1");
  });
  await t.step("filters", async () => {
    const byRef = (await call("OpenOrders", { userref: "42" })).result.open;
    assert.equal(Object.keys(byRef).length, 1);
    const byClient =
      (await call("OpenOrders", { cl_ord_id: "krakked-demo-1" })).result.open;
    assert.deepEqual(Object.keys(byClient), Object.keys(byRef));
  });
  let firstPage: Record<string, Record<string, unknown>> = {};
  let total = 0;
  await t.step("closed orders page 50 at a time, newest first", async () => {
    const page = (await call("ClosedOrders")).result;
    total = page.count;
    firstPage = page.closed;
    assert.ok(total > 50);
    assert.equal(Object.keys(firstPage).length, 50);
    const closeTimes = Object.values(firstPage).map((o) => o.closetm as number);
    assert.ok(closeTimes.every((t, i) => i === 0 || t <= closeTimes[i - 1]!));
    const rest = (await call("ClosedOrders", { ofs: "50" })).result;
    assert.equal(rest.count, total);
    assert.equal(Object.keys(rest.closed).length, total - 50);
    const statuses = new Set(
      Object.values({ ...firstPage, ...rest.closed }).map((o) =>
        (o as { status: string }).status
      ),
    );
    for (const s of ["closed", "canceled", "expired"]) {
      assert.ok(statuses.has(s), s);
    }
    for (const order of Object.values(firstPage)) {
      assert.equal(typeof order.closetm, "number");
      assert.ok("reason" in order);
      if (order.status === "canceled") {
        assert.equal(order.reason, "User requested");
      }
    }
    const noCount =
      (await call("ClosedOrders", { without_count: "true" })).result;
    assert.equal(noCount.count, undefined);
  });
  await t.step("start and end take Unix times or order ids", async () => {
    const ids = Object.keys(firstPage);
    const newest = firstPage[ids[0]!]!;
    const pivot = firstPage[ids[10]!]!;
    const after = (await call("ClosedOrders", {
      start: String(pivot.closetm),
      closetime: "close",
    })).result;
    assert.equal(after.count, 10);
    const upTo = (await call("ClosedOrders", {
      end: String(newest.closetm),
      closetime: "close",
    })).result;
    assert.equal(upTo.count, total);
    const byId =
      (await call("ClosedOrders", { start: ids[10]!, closetime: "open" }))
        .result;
    assert.ok(byId.count >= 1 && byId.count < total);
  });
  await t.step("QueryOrders mixes open and closed ids", async () => {
    const ids = [openIds[0]!, Object.keys(firstPage)[0]!];
    const answer =
      (await call("QueryOrders", { txid: ids.join(","), trades: "true" }))
        .result;
    assert.deepEqual(Object.keys(answer), ids);
    const bad = await privateCall(sim.url, "QueryOrders", {
      txid: "OAAAAA-BBBBB-CCCCCC",
    }, {
      key: sim.credentials.apiKey,
      secret: sim.credentials.apiSecret.reveal(),
    });
    assert.deepEqual(bad, { error: ["EOrder:Invalid order"] });
  });
});

Deno.test("trades and ledger entries pair up by refid and add up", async (t) => {
  const { sim, call } = await simulator();
  await using _ = sim;
  const history = (await call("TradesHistory", { ledgers: "true" })).result;
  const trades = Object.entries(history.trades) as Array<
    [string, Record<string, unknown>]
  >;
  await t.step("TradesHistory shape and paging", async () => {
    assert.ok(history.count > 50);
    assert.equal(trades.length, 50);
    const times = trades.map(([, tr]) => tr.time as number);
    assert.ok(times.every((x, i) => i === 0 || x <= times[i - 1]!));
    for (const [id, trade] of trades) {
      assert.match(id, ID_PATTERN);
      assert.match(trade.ordertxid as string, ID_PATTERN);
      assert.match(trade.postxid as string, ID_PATTERN);
      assert.ok(
        [
          "XXBTZUSD",
          "XETHZUSD",
          "SOLUSD",
          "XXDGZUSD",
          "ADAUSD",
          "XXRPZUSD",
          "DOTUSD",
          "LINKUSD",
          "XXBTZEUR",
          "XETHXXBT",
        ].includes(trade.pair as string),
      );
      assert.ok(Number.isInteger(trade.trade_id));
      assert.equal(typeof trade.maker, "boolean");
      assertDecimal(trade.vol, 8);
    }
    const rest = (await call("TradesHistory", { ofs: "50" })).result;
    assert.equal(
      Object.keys(rest.trades).length,
      Math.min(50, history.count - 50),
    );
    const none =
      (await call("TradesHistory", { type: "closed position" })).result;
    assert.equal(none.count, 0);
  });
  await t.step(
    "each trade has two ledger entries with its txid as refid",
    async () => {
      const sample = trades.slice(0, 10);
      const ledgerIds = sample.flatMap(([, tr]) => tr.ledgers as string[]);
      const entries =
        (await call("QueryLedgers", { id: ledgerIds.slice(0, 20).join(",") }))
          .result;
      for (const [txid, trade] of sample) {
        const [quoteId, baseId] = trade.ledgers as string[];
        const quote = entries[quoteId!];
        const base = entries[baseId!];
        assert.equal(quote.refid, txid);
        assert.equal(base.refid, txid);
        assert.equal(quote.type, "trade");
        assert.equal(quote.time, trade.time);
        const buy = trade.type === "buy";
        assert.equal(quote.amount.startsWith("-"), buy);
        assert.equal(base.amount.startsWith("-"), !buy);
        assert.equal(Number(quote.fee), Number(trade.fee));
        assert.equal(Math.abs(Number(base.amount)), Number(trade.vol));
      }
      const query = (await call("QueryTrades", {
        txid: sample.slice(0, 3).map(([id]) => id).join(","),
      })).result;
      assert.deepEqual(
        Object.keys(query),
        sample.slice(0, 3).map(([id]) => id),
      );
    },
  );
  await t.step(
    "Ledgers filters by asset and type, pages 50 newest first",
    async () => {
      const all = (await call("Ledgers")).result;
      assert.ok(all.count > 100);
      const entries = Object.entries(all.ledger) as Array<
        [string, Record<string, unknown>]
      >;
      assert.equal(entries.length, 50);
      for (const [id, entry] of entries) {
        assert.match(id, ID_PATTERN);
        assert.equal(entry.aclass, "currency");
        assert.equal(entry.subtype, "");
        assertDecimal(entry.amount, DECIMALS[entry.asset as string]!, "amount");
        assertDecimal(
          entry.balance,
          DECIMALS[entry.asset as string]!,
          "balance",
        );
      }
      const deposits = (await call("Ledgers", { type: "deposit" })).result;
      assert.equal(deposits.count, 4);
      for (
        const entry of Object.values(deposits.ledger) as Array<
          Record<string, string>
        >
      ) {
        assert.match(entry.refid!, /^Q[A-Z2-7]{6}-[A-Z2-7]{6}-[A-Z2-7]{6}$/);
      }
      const usd = (await call("Ledgers", { asset: "USD" })).result;
      assert.ok(
        (Object.values(usd.ledger) as Array<{ asset: string }>).every((e) =>
          e.asset === "ZUSD"
        ),
      );
    },
  );
});

Deno.test("GetWebSocketsToken issues tokens the WS side can validate", async () => {
  const { sim, call, clock } = await simulator();
  await using _ = sim;
  const { token, expires } = (await call("GetWebSocketsToken")).result;
  assert.equal(expires, 900);
  assert.match(token, /^[A-Za-z0-9]{43}$/);
  assert.deepEqual(sim.tokens.check(token, clock.ms), {
    ok: true,
    keyId: "key-1",
  });
  assert.deepEqual(sim.tokens.check(token, clock.ms + 900_000), {
    ok: false,
    reason: "expired",
  });
  sim.tokens.attach(token);
  assert.equal(
    sim.tokens.check(token, clock.ms + 900_000).ok,
    true,
    "kept alive while attached",
  );
  assert.deepEqual(sim.tokens.check("x".repeat(43), clock.ms), {
    ok: false,
    reason: "unknown",
  });
});

Deno.test("private calls accept JSON bodies and refuse everything in maintenance", async () => {
  const { sim } = await simulator();
  await using _ = sim;
  const creds = {
    key: sim.credentials.apiKey,
    secret: sim.credentials.apiSecret.reveal(),
  };
  const json = await privateCall(sim.url, "OpenOrders", { trades: "true" }, {
    ...creds,
    json: true,
  });
  assert.deepEqual(json.error, []);
  sim.control.set({ systemStatus: "maintenance" });
  assert.deepEqual(await privateCall(sim.url, "Balance", {}, creds), {
    error: ["EService:Unavailable"],
  });
});

Deno.test("classifyPrivateMethod() keeps the funding list in one place", () => {
  for (const method of FORBIDDEN_METHODS) {
    assert.equal(classifyPrivateMethod(method), "forbidden");
  }
  assert.equal(classifyPrivateMethod("AddOrder"), "known");
  assert.equal(classifyPrivateMethod("constructor"), "unknown");
  assert.equal(classifyPrivateMethod("toString"), "unknown");
});

Deno.test("the seeded account is the same for the same seed and clock", async () => {
  const a = await simulator(new TestClock(NOW_MS));
  const b = await simulator(new TestClock(NOW_MS));
  await using _a = a.sim;
  await using _b = b.sim;
  for (const method of ["Balance", "OpenOrders", "ClosedOrders", "Ledgers"]) {
    assert.deepEqual(await a.call(method), await b.call(method), method);
  }
});
