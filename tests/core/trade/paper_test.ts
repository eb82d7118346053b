/**
 * Paper broker tests. Every money figure below is computed by hand in the
 * comment next to it; ETHUSD has price decimals 2, volume decimals 8, cost
 * decimals 5, taker 0.26 % and maker 0.16 % below 50 000 USD of 30-day
 * volume (Kraken's schedule, REST.md §5.1).
 */
import assert from "node:assert/strict";
import { computePnl } from "../../../core/account/pnl.ts";
import { accountTradesFromFills } from "../../../core/account/trades.ts";
import { addDecimal } from "../../../core/decimal.ts";
import {
  type GateContext,
  type PreparedOrder,
  prepareOrder,
} from "../../../core/trade/gates.ts";
import {
  type OrderLifecycleState,
  orderStateFor,
  reportMatches,
  stepOrder,
} from "../../../core/trade/lifecycle.ts";
import {
  krakenStyleId,
  type PaperBook,
  PaperBroker,
  type PaperBrokerState,
} from "../../../core/trade/paper.ts";
import {
  context,
  ethusd,
  gateConfig,
  NOW_MS,
  type OrderOverrides,
  xbtusd,
} from "./_fixtures.ts";
import { entry } from "./_fixtures.ts";

const ETH = ethusd();

function eth(
  overrides: OrderOverrides = {},
  ctx: Partial<GateContext> = {},
): PreparedOrder {
  const result = prepareOrder(
    entry({
      pair: "ETHUSD",
      type: "market",
      price: undefined,
      volume: "0.12",
      stopLoss: { type: "stop-loss", triggerPrice: "1900" },
      ...overrides,
    }),
    context({ pair: ETH, referencePrice: "2000", ...ctx }),
  );
  if (!result.ok) {
    assert.fail(`${result.rejection.rule}: ${result.rejection.message}`);
  }
  return result.prepared;
}

function book(
  bids: Array<[string, string]>,
  asks: Array<[string, string]>,
): PaperBook {
  return {
    bids: bids.map(([price, qty]) => ({ price, qty })),
    asks: asks.map(([price, qty]) => ({ price, qty })),
  };
}

function broker(balances: Record<string, string> = { USD: "1000" }) {
  let nowMs = NOW_MS;
  const paper = new PaperBroker({
    pairs: [ETH, xbtusd()],
    balances,
    now: () => nowMs,
  });
  return {
    paper,
    advance(ms: number) {
      nowMs += ms;
    },
  };
}

const DEPTH = book(
  [["1999.00", "1"], ["1998.00", "1"]],
  [["2000.00", "0.05"], ["2001.00", "0.10"], ["2005.00", "1"]],
);

Deno.test("krakenStyleId() prints 6-5-6 base32 ids from a counter", () => {
  assert.equal(krakenStyleId("O", 1), "OAAAAA-AAAAA-AAAAAB");
  assert.equal(krakenStyleId("T", 33), "TAAAAA-AAAAA-AAAABB");
  assert.match(
    krakenStyleId("O", 2 ** 40),
    /^O[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}$/,
  );
});

Deno.test("a market buy walks the depth, pays taker fees and gets its stop-loss; the stop closes it at a loss", () => {
  const { paper } = broker();
  const result = paper.submit(eth(), DEPTH);
  assert.equal(result.accepted, true);
  assert.equal(result.sequence, 1);
  // Level 1: 0.05 × 2000.00 = 100; fee 100 × 0.26 % = 0.26.
  // Level 2: 0.07 × 2001.00 = 140.07; fee 140.07 × 0.26 % = 0.364182 → 0.36418 (5 decimals).
  assert.deepEqual(
    result.fills.map((f) => [f.qty, f.price, f.cost, f.fee, f.liquidity]),
    [
      ["0.05", "2000.00", "100", "0.26", "taker"],
      ["0.07", "2001.00", "140.07", "0.36418", "taker"],
    ],
  );
  assert.deepEqual(
    result.reports.map((r) => `${r.order_id?.slice(-1)}:${r.exec_type}`),
    [
      "B:pending_new",
      "B:new",
      "B:trade",
      "B:trade",
      "C:pending_new", // the attached stop-loss, created on fill
      "C:new",
      "B:filled",
    ],
  );
  // USD: 1000 − (100 + 140.07) − (0.26 + 0.36418) = 759.30582.
  assert.deepEqual(paper.balances(), { USD: "759.30582", ETH: "0.12" });
  const close = paper.openOrders("ETH/USD");
  assert.equal(close.length, 1);
  assert.equal(close[0]?.side, "sell");
  assert.equal(close[0]?.type, "stop-loss");
  assert.equal(close[0]?.volume, "0.12");
  assert.equal(close[0]?.price, "1900");
  assert.equal(close[0]?.parentId, result.orderId);
  assert.equal(
    paper.available("ETH"),
    "0",
    "the stop holds the ETH it will sell",
  );
  let position = paper.position("ETHUSD");
  assert.equal(position.qty, "0.12");
  assert.equal(position.costBasis, "240.07");
  // Marked at the bid 1999: (1999 − 2000) × 0.05 + (1999 − 2001) × 0.07 = −0.05 − 0.14 = −0.19.
  assert.equal(position.unrealizedPnl, "-0.19");
  assert.equal(position.fees, "0.62418");

  // The bid falls to 1899 ≤ 1900: the stop triggers and sells at market.
  const stop = paper.updateBook(
    "ETHUSD",
    book([["1899.00", "0.1"], ["1850.00", "1"]], [["1901.00", "1"]]),
  );
  // 0.1 × 1899 = 189.9, fee 0.49374; 0.02 × 1850 = 37, fee 0.0962.
  assert.deepEqual(
    stop.fills.map((f) => [f.side, f.qty, f.price, f.cost, f.fee]),
    [
      ["sell", "0.1", "1899.00", "189.9", "0.49374"],
      ["sell", "0.02", "1850.00", "37", "0.0962"],
    ],
  );
  assert.equal(stop.reports.at(-1)?.exec_type, "filled");
  // USD: 759.30582 + (189.9 − 0.49374) + (37 − 0.0962) = 985.61588.
  assert.deepEqual(paper.balances(), { USD: "985.61588", ETH: "0" });
  position = paper.position("ETHUSD");
  // FIFO: 0.05 @ 2000 sold at 1899 → −5.05; 0.05 of 0.07 @ 2001 at 1899 → −5.1;
  // 0.02 @ 2001 sold at 1850 → −3.02. Realised −13.17 gross.
  assert.equal(position.realizedPnl, "-13.17");
  // Fees 0.62418 + 0.49374 + 0.0962 = 1.21412; net −14.38412.
  assert.equal(position.fees, "1.21412");
  assert.equal(position.netRealizedPnl, "-14.38412");
  assert.equal(position.qty, "0");
  assert.deepEqual(position.lots, []);
  assert.equal(position.unrealizedPnl, "0");
  // The same fills through the live account's path (core/account) give the
  // same realised P&L and fees, and equity 985.61588 = 1000 deposited
  // − 13.17 − 1.21412.
  const account = computePnl(
    accountTradesFromFills(
      paper.fills(),
      () => ({ base: "ETH", quote: "USD" }),
    ),
    [{
      id: "start",
      refid: "start",
      timeSec: 0,
      kind: "external",
      type: "deposit",
      asset: "USD",
      amount: "1000",
      fee: "0",
    }],
    { rateAt: () => null },
  );
  assert.equal(account.realizedPnl, position.realizedPnl);
  assert.equal(account.fees, position.fees);
  assert.equal(account.positions.length, 0);
  assert.equal(
    addDecimal(account.netDeposits, account.performance),
    paper.balances()["USD"],
  );
  // Money check: 1000 − 240.07 + 226.9 − 1.21412 = 985.61588.
  assert.equal(paper.openOrders().length, 0);
});

Deno.test("an IOC limit takes what crosses and cancels the rest", () => {
  const { paper } = broker();
  const result = paper.submit(
    eth({ type: "limit", price: "2001.00", volume: "0.2", timeInForce: "IOC" }),
    DEPTH,
  );
  assert.deepEqual(result.fills.map((f) => [f.qty, f.price]), [
    ["0.05", "2000.00"],
    ["0.1", "2001.00"],
  ]);
  const order = paper.order(result.orderId as string);
  assert.equal(order?.status, "canceled");
  assert.equal(order?.reason, "Immediate or cancel remainder");
  assert.equal(order?.filledQty, "0.15");
  // The stop-loss covers only what was filled.
  assert.equal(paper.openOrders()[0]?.volume, "0.15");
});

Deno.test("post-only: rejected if it would take, otherwise rests and fills as maker", () => {
  const { paper } = broker();
  const taking = paper.submit(
    eth({ type: "limit", price: "2000.00", postOnly: true }),
    DEPTH,
  );
  assert.equal(taking.accepted, false);
  assert.equal(taking.rejection?.rule, "post_only_would_take");
  assert.match(
    taking.rejection?.message ?? "",
    /Post-only buy at 2000.00 would take liquidity: best ask is 2000.00/,
  );
  assert.equal(taking.orderId, null);
  const resting = paper.submit(
    eth({ type: "limit", price: "1999.50", volume: "0.1", postOnly: true }),
  );
  assert.equal(resting.accepted, true);
  assert.deepEqual(resting.fills, []);
  assert.equal(paper.order(resting.orderId as string)?.status, "new");
  // Held: 0.1 × 1999.50 × 1.0026 = 199.95 + 0.51987 = 200.46987 USD.
  assert.equal(paper.available("USD"), "799.53013");
  // Asks drop through the bid: it fills as a maker at its own price.
  const later = paper.updateBook(
    "ETHUSD",
    book([["1998.00", "1"]], [["1999.00", "0.04"], ["1999.50", "1"]]),
  );
  // 0.04 × 1999.50 = 79.98, maker fee 0.16 % = 0.127968 → 0.12797.
  // 0.06 × 1999.50 = 119.97, maker fee 0.191952 → 0.19195.
  assert.deepEqual(
    later.fills.map((f) => [f.qty, f.price, f.cost, f.fee, f.liquidity]),
    [
      ["0.04", "1999.50", "79.98", "0.12797", "maker"],
      ["0.06", "1999.50", "119.97", "0.19195", "maker"],
    ],
  );
  // 1000 − 199.95 − 0.31992 = 799.73008.
  assert.equal(paper.balances().USD, "799.73008");
  assert.equal(paper.order(resting.orderId as string)?.status, "filled");
});

Deno.test("a GTC limit rests, fills partly on later books and can be canceled", () => {
  const { paper } = broker();
  const placed = paper.submit(
    eth({ type: "limit", price: "1990.00", volume: "0.1" }),
    DEPTH,
  );
  const id = placed.orderId as string;
  const first = paper.updateBook(
    "ETHUSD",
    book([["1980.00", "1"]], [["1990.00", "0.03"], ["1995.00", "1"]]),
  );
  assert.deepEqual(first.fills.map((f) => [f.qty, f.liquidity]), [[
    "0.03",
    "maker",
  ]]);
  assert.equal(paper.order(id)?.status, "partially_filled");
  const quiet = paper.updateBook("ETHUSD", DEPTH);
  assert.deepEqual(quiet.reports, []);
  assert.equal(quiet.sequence, 0, "no reports, no executions message");
  const canceled = paper.cancel(id);
  assert.equal(canceled.accepted, true);
  assert.deepEqual(
    canceled.reports.map((r) => [r.exec_type, r.reason, r.cum_qty]),
    [["canceled", "User requested", "0.03"]],
  );
  assert.equal(paper.cancel(id).rejection?.rule, "order_closed");
  assert.equal(paper.cancel("ONOPE").rejection?.rule, "unknown_order");
  // The stop-loss made for the 0.03 filled stays: it protects the position.
  assert.equal(paper.openOrders()[0]?.volume, "0.03");
});

Deno.test("a market order larger than the book cancels the unfilled rest", () => {
  const { paper } = broker({ USD: "100000" });
  const result = paper.submit(
    eth({ volume: "0.2" }),
    book([["1999.00", "1"]], [["2000.00", "0.05"]]),
  );
  const order = paper.order(result.orderId as string);
  assert.equal(order?.filledQty, "0.05");
  assert.equal(order?.status, "canceled");
  assert.equal(order?.reason, "Insufficient liquidity");
});

Deno.test("the paper broker refuses what it cannot do, with a rule", async (t) => {
  await t.step("orders not routed to paper", () => {
    const { paper } = broker();
    const dry = prepareOrder(
      entry({
        pair: "ETHUSD",
        price: "2000",
        stopLoss: { type: "stop-loss", triggerPrice: "1900" },
      }),
      context({ pair: ETH, config: gateConfig({ mode: "dry_run" }) }),
    );
    assert.ok(dry.ok);
    assert.equal(
      paper.submit(dry.prepared, DEPTH).rejection?.rule,
      "not_paper",
    );
  });
  await t.step("no book yet", () => {
    const { paper } = broker();
    const r = paper.submit(eth());
    assert.equal(r.rejection?.rule, "no_book");
    assert.match(r.rejection?.message ?? "", /No order book for ETHUSD yet/);
  });
  await t.step("a pair it does not know", () => {
    const paper = new PaperBroker({ pairs: [xbtusd()] });
    assert.equal(paper.submit(eth(), DEPTH).rejection?.rule, "no_book");
    assert.throws(() => paper.updateBook("ETH/USD", DEPTH), RangeError);
  });
  await t.step("insufficient funds for a buy and for a sell", () => {
    const { paper } = broker({ USD: "100" });
    const buy = paper.submit(eth(), DEPTH);
    assert.equal(buy.rejection?.rule, "insufficient_funds");
    // Walk: 100 + 140.07 = 240.07; with 0.26 % fee: 240.694182.
    assert.match(
      buy.rejection?.message ?? "",
      /needs about 240.694182 USD with fees, 100 USD is available/,
    );
    const sell = paper.submit(
      eth(
        { side: "sell", intent: "exit", stopLoss: undefined, volume: "0.1" },
        { positionBase: "0.1" },
      ),
      DEPTH,
    );
    assert.equal(sell.rejection?.rule, "insufficient_funds");
    assert.match(
      sell.rejection?.message ?? "",
      /Selling 0.1 ETH needs that much available, 0 ETH is/,
    );
  });
  await t.step("validate-only places nothing", () => {
    const { paper } = broker();
    const r = paper.submit(eth({ validateOnly: true }), DEPTH);
    assert.equal(r.accepted, true);
    assert.equal(r.orderId, null);
    assert.deepEqual(paper.openOrders(), []);
  });
});

Deno.test("exits: take-profit, trailing stop and a stop-loss-limit close", async (t) => {
  await t.step("a take-profit sell triggers when the bid rises to it", () => {
    const { paper } = broker({ USD: "0", ETH: "0.5" });
    const r = paper.submit(
      eth(
        {
          side: "sell",
          intent: "exit",
          type: "take-profit",
          price: "2100",
          stopLoss: undefined,
          volume: "0.5",
        },
        { positionBase: "0.5" },
      ),
      DEPTH,
    );
    assert.deepEqual(r.fills, []);
    const up = paper.updateBook(
      "ETHUSD",
      book([["2100.00", "1"]], [["2101.00", "1"]]),
    );
    // 0.5 × 2100 = 1050, taker fee 2.73.
    assert.deepEqual(up.fills.map((f) => [f.qty, f.price, f.fee]), [[
      "0.5",
      "2100.00",
      "2.73",
    ]]);
    assert.equal(paper.balances().USD, "1047.27");
  });
  await t.step(
    "a trailing stop follows the best bid and sells on a retrace",
    () => {
      const { paper } = broker({ USD: "0", ETH: "1" });
      paper.submit(
        eth(
          {
            side: "sell",
            intent: "exit",
            type: "trailing-stop",
            trailingOffset: { amount: "5", unit: "pct" },
            stopLoss: undefined,
            volume: "1",
          },
          { positionBase: "1", referencePrice: "1999" },
        ),
        DEPTH,
      );
      // Peak 2100 → stop at 2100 × 0.95 = 1995.
      assert.deepEqual(
        paper.updateBook("ETHUSD", book([["2100.00", "2"]], [["2101.00", "1"]]))
          .fills,
        [],
      );
      assert.deepEqual(
        paper.updateBook("ETHUSD", book([["1996.00", "2"]], [["1997.00", "1"]]))
          .fills,
        [],
      );
      const hit = paper.updateBook(
        "ETHUSD",
        book([["1995.00", "2"]], [["1996.00", "1"]]),
      );
      assert.deepEqual(hit.fills.map((f) => [f.qty, f.price]), [[
        "1",
        "1995.00",
      ]]);
    },
  );
  await t.step(
    "a triggered stop-loss-limit close sells down to its limit, then rests",
    () => {
      const { paper } = broker();
      paper.submit(
        eth({
          type: "limit",
          price: "2000.00",
          volume: "0.05",
          stopLoss: {
            type: "stop-loss-limit",
            triggerPrice: "1900",
            limitPrice: "1895",
          },
        }),
        DEPTH,
      );
      const close = paper.openOrders()[0];
      assert.equal(close?.type, "stop-loss-limit");
      const fall = paper.updateBook(
        "ETHUSD",
        book([["1898.00", "0.02"], ["1890.00", "1"]], [["1905.00", "1"]]),
      );
      // Triggered at 1898 ≤ 1900; takes 0.02 @ 1898 (≥ 1895), the rest rests at 1895.
      assert.deepEqual(fall.fills.map((f) => [f.qty, f.price, f.liquidity]), [[
        "0.02",
        "1898.00",
        "taker",
      ]]);
      assert.equal(
        paper.order(close?.id as string)?.status,
        "partially_filled",
      );
      const back = paper.updateBook(
        "ETHUSD",
        book([["1896.00", "1"]], [["1897.00", "1"]]),
      );
      assert.deepEqual(back.fills.map((f) => [f.qty, f.price, f.liquidity]), [[
        "0.03",
        "1895.00",
        "maker",
      ]]);
    },
  );
  await t.step(
    "a buy stop-loss entry triggers when the ask rises to it",
    () => {
      const { paper } = broker();
      paper.submit(
        eth({
          type: "stop-loss",
          price: "2010.00",
          volume: "0.05",
          stopLoss: { type: "stop-loss", triggerPrice: "1950" },
        }),
        DEPTH,
      );
      const r = paper.updateBook(
        "ETHUSD",
        book([["2009.00", "1"]], [["2010.00", "1"]]),
      );
      assert.deepEqual(r.fills.map((f) => [f.side, f.price]), [[
        "buy",
        "2010.00",
      ]]);
    },
  );
});

Deno.test("GTD orders expire on the first book after their time", () => {
  const { paper, advance } = broker();
  const r = paper.submit(
    eth({
      type: "limit",
      price: "1900.00",
      volume: "0.05",
      timeInForce: "GTD",
      expireAtSec: NOW_MS / 1000 + 60,
      stopLoss: { type: "stop-loss", triggerPrice: "1850" },
    }),
    DEPTH,
  );
  advance(59_000);
  assert.deepEqual(paper.updateBook("ETHUSD", DEPTH).reports, []);
  advance(1_000);
  const expired = paper.updateBook("ETHUSD", DEPTH);
  assert.deepEqual(expired.reports.map((x) => [x.exec_type, x.reason]), [[
    "expired",
    "GTD expiry reached",
  ]]);
  assert.equal(paper.order(r.orderId as string)?.status, "expired");
  assert.equal(paper.available("USD"), "1000");
});

Deno.test("fees follow the 30-day volume tier and slippage worsens taker prices", async (t) => {
  await t.step("50 000 USD of volume: taker 0.24 %", () => {
    const { paper } = broker();
    paper.setFeeVolume("50000");
    const r = paper.submit(eth({ volume: "0.05" }), DEPTH);
    // 0.05 × 2000 = 100; fee 0.24.
    assert.deepEqual(r.fills.map((f) => [f.fee, f.feePercent]), [[
      "0.24",
      "0.24",
    ]]);
  });
  await t.step("10 bps of slippage on a buy and on a sell", () => {
    const paper = new PaperBroker({
      pairs: [ETH],
      balances: { USD: "1000", ETH: "1" },
      slippageBps: 10,
      now: () => NOW_MS,
    });
    const buy = paper.submit(eth({ volume: "0.05" }), DEPTH);
    // 2000.00 × 1.001 = 2002.00 (rounded up to the price decimals).
    assert.equal(buy.fills[0]?.price, "2002.00");
    const sell = paper.submit(
      eth(
        { side: "sell", intent: "exit", stopLoss: undefined, volume: "0.05" },
        { positionBase: "0.05", referencePrice: "1999" },
      ),
    );
    // Selling the 1 ETH held from the start is fine (the 0.05 bought is held
    // by its stop). 1999.00 × 0.999 = 1997.001 → 1997.00 (rounded down).
    assert.equal(sell.fills[0]?.price, "1997.00");
  });
});

Deno.test("fills are capped so balances never go negative", () => {
  // Funds are checked at submit against the trigger: 0.05 × 2050 × 1.0026 =
  // 102.76665 ≤ 103. The ask then gaps to 2100, so the market fill costs more.
  const { paper } = broker({ USD: "103" });
  paper.submit(
    eth({
      type: "stop-loss",
      price: "2050.00",
      volume: "0.05",
      stopLoss: { type: "stop-loss", triggerPrice: "1950" },
    }),
    DEPTH,
  );
  const r = paper.updateBook(
    "ETHUSD",
    book([["2099.00", "1"]], [["2100.00", "1"]]),
  );
  // Largest affordable quantity: 103 × 100 / (2100 × 100.26) = 0.0489204259…
  // → 0.04892042 (8 decimals, down). Cost 0.04892042 × 2100 = 102.732882,
  // fee 0.26710549… → 0.26711, total 102.999992 ≤ 103; 0.000008 USD left.
  assert.deepEqual(
    r.fills.map((f) => [f.qty, f.price, f.cost, f.fee]),
    [["0.04892042", "2100.00", "102.732882", "0.26711"]],
  );
  assert.equal(paper.balances().USD, "0.000008");
  const order = paper.order(r.fills[0]?.orderId as string);
  assert.equal(order?.status, "canceled");
  assert.equal(order?.reason, "Insufficient funds");
});

Deno.test("serialize() and restore() round-trip through JSON and carry on identically", () => {
  const { paper } = broker();
  paper.submit(eth(), DEPTH);
  paper.submit(eth({ type: "limit", price: "1990.00", volume: "0.05" }));
  const state = paper.serialize();
  const json = JSON.parse(JSON.stringify(state)) as PaperBrokerState;
  assert.deepEqual(json, state, "the state is plain JSON");
  const restored = PaperBroker.restore(json, {
    pairs: [ETH],
    now: () => NOW_MS,
  });
  assert.deepEqual(restored.serialize(), state);
  const next = book([["1899.00", "1"]], [["1990.00", "1"]]);
  const a = paper.updateBook("ETHUSD", next);
  const b = restored.updateBook("ETHUSD", next);
  assert.deepEqual(b, a);
  assert.deepEqual(restored.serialize(), paper.serialize());
  assert.throws(
    () =>
      PaperBroker.restore(
        { ...json, version: 2 } as unknown as PaperBrokerState,
        { pairs: [ETH] },
      ),
    {
      name: "TypeError",
      message: "Cannot restore paper broker state: version is 2, expected 1",
    },
  );
  // Copies: changing what was returned changes nothing inside.
  state.balances.USD = "1000000";
  assert.notEqual(paper.balances().USD, "1000000");
});

Deno.test("paper reports drive the lifecycle machine to the same end state", () => {
  const { paper } = broker();
  const prepared = eth();
  let state: OrderLifecycleState = orderStateFor(prepared, NOW_MS);
  const result = paper.submit(prepared, DEPTH);
  for (const report of result.reports) {
    if (!reportMatches(state, report)) continue;
    state = stepOrder(state, {
      type: "wire.execution",
      report,
      sequence: result.sequence,
      atMs: NOW_MS,
    }).state;
  }
  assert.equal(state.status, "filled");
  assert.equal(state.orderId, result.orderId);
  assert.equal(state.filledQty, "0.12");
  assert.equal(state.cumCost, "240.07");
  assert.equal(state.fees, "0.62418");
  // avg 240.07 / 0.12 = 2000.58333… at price decimals + 4 = 2000.583333.
  assert.equal(state.avgPrice, "2000.583333");
});

Deno.test("positions: FIFO across partial closes, shorts and marks", () => {
  const { paper } = broker({ USD: "10000", ETH: "1" });
  // Buy 0.1 @ 2000, then sell it at 1999. Later a margin sell entry opens a
  // 0.05 short lot: positions track paper fills, not starting balances.
  paper.submit(
    eth({
      volume: "0.1",
      stopLoss: { type: "stop-loss", triggerPrice: "1900" },
    }),
    book([["1999.00", "5"]], [["2000.00", "5"]]),
  );
  paper.submit(
    eth({ side: "sell", intent: "exit", stopLoss: undefined, volume: "0.1" }, {
      positionBase: "0.1",
      referencePrice: "1999",
    }),
  );
  let position = paper.position("ETHUSD");
  // (1999 − 2000) × 0.1 = −0.1.
  assert.equal(position.realizedPnl, "-0.1");
  assert.equal(position.qty, "0");
  // Cancel the stop so the sell below is not held back.
  for (const order of paper.openOrders()) paper.cancel(order.id);
  const short = prepareOrder(
    entry({
      pair: "ETHUSD",
      side: "sell",
      type: "market",
      price: undefined,
      volume: "0.05",
      leverage: 2,
      stopLoss: { type: "stop-loss", triggerPrice: "2050" },
    }),
    context({
      pair: ethusd({ leverage_sell: [2] }),
      referencePrice: "1999",
      config: gateConfig({}, true),
    }),
  );
  assert.ok(short.ok);
  paper.submit(short.prepared);
  position = paper.position("ETHUSD");
  assert.equal(position.qty, "-0.05");
  assert.deepEqual(position.lots, [{ qty: "-0.05", price: "1999.00" }]);
  // Short marked at the ask 2000: (2000 − 1999) × −0.05 = −0.05.
  assert.equal(position.markPrice, "2000.00");
  assert.equal(position.unrealizedPnl, "-0.05");
  // Buying back 0.05 @ 2000 realises (1999 − 2000) × 0.05 = −0.05 more.
  paper.submit(
    eth({ intent: "exit", stopLoss: undefined, volume: "0.05" }, {
      positionBase: "-0.05",
    }),
  );
  position = paper.position("ETHUSD");
  assert.equal(position.realizedPnl, "-0.15");
  assert.equal(position.qty, "0");
  const untouched = paper.position("XBTUSD");
  assert.equal(untouched.qty, "0");
  assert.equal(untouched.unrealizedPnl, "0");
  assert.equal(paper.fills().length, 4);
});
