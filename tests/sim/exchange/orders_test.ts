/**
 * Order terms of the matching engine, pure: REST price syntax (absolute,
 * `+`/`-`/`#`, `%`), checks with Kraken's error strings, `descr` texts, and
 * the WS v2 → REST field mapping.
 */

import assert from "node:assert/strict";
import {
  checkDeadline,
  checkMinimums,
  describeClose,
  describeOrder,
  hashDirection,
  isClientOrderId,
  offsetUnits,
  parseOrder,
  parsePrice,
  parseVolume,
  priceText,
  resolvePrice,
  tickUnits,
} from "../../../server/sim/exchange/orders.ts";
import { restOrderFields } from "../../../server/sim/rest/trading.ts";
import { wsOrderFields } from "../../../server/sim/ws/trading.ts";
import { Params, SimApiError } from "../../../server/sim/exchange/params.ts";
import { resolvePair } from "../../../server/sim/exchange/pairs.ts";

const XBT = resolvePair("XBTUSD")!;
const NOW_MS = Date.UTC(2025, 5, 15, 12);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof SimApiError, String(error));
    return error.code;
  }
  return "no error";
}

Deno.test("parsePrice() reads absolute and relative prices at the pair's precision", async (t) => {
  await t.step("absolute", () => {
    assert.deepEqual(parsePrice("37500", XBT), {
      kind: "absolute",
      units: 375000n,
      text: "37500",
    });
    assert.equal(priceText(parsePrice("37500.5", XBT), XBT), "37500.5");
  });
  await t.step("relative amounts and percents", () => {
    assert.deepEqual(parsePrice("+5", XBT), {
      kind: "offset",
      sign: "+",
      units: 50n,
      text: "+5",
    });
    assert.deepEqual(parsePrice("#2.5%", XBT), {
      kind: "percent",
      sign: "#",
      scaled: 250_000_000n,
      text: "#2.5%",
    });
    assert.equal(priceText(parsePrice("-5", XBT), XBT), "-5.0");
  });
  await t.step("errors", () => {
    assert.equal(
      code(() => parsePrice("37500.55", XBT)),
      "EOrder:Invalid price",
    );
    assert.equal(code(() => parsePrice("0", XBT)), "EOrder:Invalid price");
    assert.equal(code(() => parsePrice("abc", XBT)), "EOrder:Invalid price");
    assert.equal(code(() => parsePrice("5%", XBT)), "EOrder:Invalid price");
    assert.equal(code(() => parsePrice("1.2.3", XBT)), "EOrder:Invalid price");
  });
  assert.equal(tickUnits(XBT), 1n);
});

Deno.test("resolvePrice() applies +, -, # and % to the last trade", () => {
  const options = { lastUnits: 650_000n, pair: XBT };
  const at = (
    text: string,
    ordertype: "limit" | "stop-loss" | "take-profit",
    side: "buy" | "sell",
  ) => resolvePrice(parsePrice(text, XBT), { ...options, ordertype, side });
  assert.equal(at("+5", "limit", "sell"), 650_050n);
  assert.equal(at("-1%", "limit", "buy"), 643_500n);
  assert.equal(at("#10", "limit", "buy"), 649_900n, "a buy limit goes below");
  assert.equal(at("#10", "limit", "sell"), 650_100n);
  assert.equal(
    at("#10", "stop-loss", "sell"),
    649_900n,
    "a sell stop goes below",
  );
  assert.equal(at("#10", "stop-loss", "buy"), 650_100n);
  assert.equal(at("#10", "take-profit", "buy"), 649_900n);
  assert.equal(at("37500", "limit", "buy"), 375_000n);
  assert.equal(hashDirection("trailing-stop", "sell"), -1);
  // 0.015 % of 650000 = 97.5 ticks → half up to 98.
  assert.equal(offsetUnits(parsePrice("+0.015%", XBT), 650_000n, XBT), 98n);
  assert.equal(
    code(() =>
      resolvePrice(parsePrice("-100000", XBT), {
        ...options,
        ordertype: "limit",
        side: "buy",
      })
    ),
    "EOrder:Invalid price",
  );
});

Deno.test("parseOrder() checks fields with Kraken's strings", async (t) => {
  const base = {
    ordertype: "limit",
    type: "buy",
    volume: "0.01",
    price: "60000",
  };
  const parse = (extra: Record<string, string>) =>
    parseOrder({ ...base, ...extra }, { pair: XBT, nowMs: NOW_MS });
  await t.step("defaults", () => {
    const spec = parse({});
    assert.equal(spec.feeIn, "quote");
    assert.equal(spec.timeInForce, "GTC");
    assert.equal(spec.userref, 0);
    assert.equal(parse({ type: "sell" }).feeIn, "base");
    assert.equal(parse({ oflags: "fciq", type: "sell" }).feeIn, "quote");
    assert.equal(
      parse({ expiretm: String(NOW_MS / 1000 + 3600) }).timeInForce,
      "GTD",
    );
    assert.equal(parse({ userref: "-2147483648" }).userref, -2147483648);
  });
  const cases: Array<[string, Record<string, string>, string]> = [
    ["side", { type: "hold" }, "EGeneral:Invalid arguments"],
    ["volume text", { volume: "1e3" }, "EGeneral:Invalid arguments"],
    [
      "volume decimals",
      { volume: "0.000000001" },
      "EGeneral:Invalid arguments",
    ],
    ["missing price", { price: "" }, "EGeneral:Invalid arguments"],
    [
      "missing price2",
      { ordertype: "stop-loss-limit" },
      "EGeneral:Invalid arguments",
    ],
    ["absolute trailing limit offset", {
      ordertype: "trailing-stop-limit",
      price: "+10",
      price2: "60000",
    }, "EGeneral:Invalid arguments"],
    ["unknown flag", { oflags: "viqc" }, "EGeneral:Invalid arguments"],
    ["both fee flags", { oflags: "fcib,fciq" }, "EGeneral:Invalid arguments"],
    ["bad tif", { timeinforce: "FOK" }, "EGeneral:Invalid arguments"],
    [
      "IOC with expiry",
      { timeinforce: "IOC", expiretm: "+60" },
      "EGeneral:Invalid arguments",
    ],
    [
      "IOC stop",
      { ordertype: "stop-loss", timeinforce: "IOC" },
      "EGeneral:Invalid arguments",
    ],
    ["expiry too far", { expiretm: "+99999999" }, "EGeneral:Invalid arguments"],
    ["expiry text", { expiretm: "soon" }, "EGeneral:Invalid arguments"],
    ["scheduled start", { starttm: "+60" }, "EGeneral:Invalid arguments"],
    ["userref range", { userref: "2147483648" }, "EGeneral:Invalid arguments"],
    ["userref text", { userref: "abc" }, "EGeneral:Invalid arguments"],
    [
      "cl_ord_id too long",
      { clOrdId: "x".repeat(19) },
      "EGeneral:Invalid arguments",
    ],
    [
      "close type",
      { closeOrdertype: "market", closePrice: "1" },
      "EGeneral:Invalid arguments",
    ],
    [
      "close price missing",
      { closeOrdertype: "stop-loss" },
      "EGeneral:Invalid arguments",
    ],
    ["close price2 missing", {
      closeOrdertype: "stop-loss-limit",
      closePrice: "50000",
    }, "EGeneral:Invalid arguments"],
    ["close trailing absolute", {
      closeOrdertype: "trailing-stop",
      closePrice: "50000",
    }, "EGeneral:Invalid arguments"],
    ["trigger", { trigger: "mark" }, "EGeneral:Invalid arguments"],
    ["reduce_only text", { reduceOnly: "maybe" }, "EGeneral:Invalid arguments"],
    [
      "leverage on a spot-only pair",
      { leverage: "2" },
      "EOrder:Cannot open position",
    ],
    [
      "deadline too far",
      { deadline: "2025-06-15T12:05:00Z" },
      "EGeneral:Invalid arguments",
    ],
  ];
  for (const [name, extra, expected] of cases) {
    await t.step(name, () => assert.equal(code(() => parse(extra)), expected));
  }
  await t.step("leverage on a pair without margin", () => {
    assert.equal(
      code(() =>
        parseOrder({ ...base, leverage: "2" }, {
          pair: resolvePair("ZRXUSD")!,
          nowMs: NOW_MS,
        })
      ),
      "EGeneral:Invalid arguments",
    );
  });
});

Deno.test("checkMinimums(), checkDeadline(), parseVolume() and client order ids", () => {
  assert.equal(
    code(() => checkMinimums(XBT, 9_999n, 650_000n)),
    "EGeneral:Invalid arguments:volume minimum not met",
  );
  assert.equal(
    code(() => checkMinimums(resolvePair("XDGUSD")!, 1_300_000_000n, 10n)),
    "EOrder:Cost minimum not met",
  );
  assert.doesNotThrow(() => checkMinimums(XBT, 10_000n, 650_000n));
  assert.equal(
    checkDeadline("2025-06-15T12:00:05.5+00:00", NOW_MS),
    NOW_MS + 5_500,
  );
  assert.equal(
    code(() => checkDeadline("2025-06-15T12:00:00Z", NOW_MS)),
    "EService:Deadline elapsed",
  );
  assert.equal(
    code(() => checkDeadline("tomorrow", NOW_MS)),
    "EGeneral:Invalid arguments",
  );
  assert.equal(parseVolume("0.5", XBT), 50_000_000n);
  assert.equal(code(() => parseVolume("0", XBT)), "EGeneral:Invalid arguments");
  assert.ok(isClientOrderId("6d1b345e-2821-40e2-ad83-4ecb18a06876"));
  assert.ok(isClientOrderId("6d1b345e282140e2ad834ecb18a06876"));
  assert.ok(!isClientOrderId(""));
});

Deno.test("descr texts follow Kraken's pattern", () => {
  assert.equal(
    describeOrder({
      side: "buy",
      volumeUnits: 125_000_000n,
      pair: XBT,
      ordertype: "limit",
      price: "37500.0",
    }),
    "buy 1.25000000 XBTUSD @ limit 37500.0",
  );
  assert.equal(
    describeOrder({
      side: "sell",
      volumeUnits: 25_000_000n,
      pair: XBT,
      ordertype: "market",
    }),
    "sell 0.25000000 XBTUSD @ market",
  );
  assert.equal(
    describeOrder({
      side: "sell",
      volumeUnits: 1_000_000n,
      pair: XBT,
      ordertype: "trailing-stop-limit",
      price: "+50.0",
      price2: "-10.0",
    }),
    "sell 0.01000000 XBTUSD @ trailing stop +50.0 -> limit -10.0",
  );
  assert.equal(
    describeClose({
      ordertype: "take-profit-limit",
      price: parsePrice("70000", XBT),
      price2: parsePrice("69900", XBT),
    }, XBT),
    "close position @ take profit 70000.0 -> limit 69900.0",
  );
});

Deno.test("REST and WS order fields map onto the same terms", async (t) => {
  await t.step("form close[…] and JSON close objects", () => {
    const form = restOrderFields(
      Params.fromForm("close%5Bordertype%5D=stop-loss&close%5Bprice%5D=-2%25"),
    );
    assert.equal(form.closeOrdertype, "stop-loss");
    assert.equal(form.closePrice, "-2%");
    const json = restOrderFields(
      Params.fromJson({
        close: { ordertype: "stop-loss-limit", price: 50000, price2: "49900" },
      }),
    );
    assert.deepEqual([json.closeOrdertype, json.closePrice, json.closePrice2], [
      "stop-loss-limit",
      "50000",
      "49900",
    ]);
  });
  await t.step("WS prices, triggers, conditional and flags", () => {
    const fields = wsOrderFields({
      order_type: "stop-loss-limit",
      side: "sell",
      order_qty: 1.2,
      triggers: { reference: "last", price: -3.0, price_type: "pct" },
      limit_price: 2400.5,
      time_in_force: "gtd",
      expire_time: "2025-06-15T13:00:00Z",
      fee_preference: "quote",
      post_only: false,
      order_userref: 7,
      deadline: "2025-06-15T12:00:30Z",
    });
    assert.deepEqual(
      [
        fields.price,
        fields.price2,
        fields.trigger,
        fields.timeinforce,
        fields.expiretm,
        fields.oflags,
        fields.userref,
      ],
      [
        "-3%",
        "2400.5",
        "last",
        "GTD",
        String(Date.UTC(2025, 5, 15, 13) / 1000),
        "fciq",
        "7",
      ],
    );
    const trailing = wsOrderFields({
      order_type: "trailing-stop-limit",
      side: "sell",
      order_qty: 1,
      triggers: { price: 50 },
      limit_price: -5,
      conditional: undefined,
    });
    assert.deepEqual([trailing.price, trailing.price2], ["+50", "-5"]);
    const withClose = wsOrderFields({
      order_type: "limit",
      side: "buy",
      order_qty: 0.01,
      limit_price: 96500,
      post_only: true,
      conditional: {
        order_type: "stop-loss-limit",
        trigger_price: 95000,
        limit_price: 94900,
      },
    });
    assert.deepEqual(
      [
        withClose.oflags,
        withClose.closeOrdertype,
        withClose.closePrice,
        withClose.closePrice2,
      ],
      ["post", "stop-loss-limit", "95000", "94900"],
    );
    const closeLimit = wsOrderFields({
      order_type: "market",
      side: "buy",
      order_qty: 1e-4,
      conditional: { order_type: "limit", limit_price: 1 },
    });
    assert.deepEqual([closeLimit.volume, closeLimit.closePrice], [
      "0.0001",
      "1",
    ]);
  });
  await t.step("WS refusals", () => {
    const base = {
      "order_type": "limit",
      side: "buy",
      "order_qty": 1,
      "limit_price": 1,
    };
    assert.equal(
      code(() => wsOrderFields({ ...base, leverage: 2 })),
      "Unsupported field: 'leverage'",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, limit_price: -1 })),
      "EOrder:Invalid price",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, order_qty: "lots" })),
      "EGeneral:Invalid arguments",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, cash_order_qty: 5 })),
      "EGeneral:Invalid arguments",
    );
    assert.equal(
      code(() =>
        wsOrderFields({ ...base, effective_time: "2025-06-15T13:00:00Z" })
      ),
      "EGeneral:Invalid arguments",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, fee_preference: "eur" })),
      "EGeneral:Invalid arguments",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, order_type: "stop-loss" })),
      "EGeneral:Invalid arguments",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, limit_price_type: "weird" })),
      "EGeneral:Invalid arguments",
    );
    assert.equal(
      code(() => wsOrderFields({ ...base, post_only: "yes" })),
      "EGeneral:Invalid arguments",
    );
    assert.equal(wsOrderFields({ ...base, margin: true }).leverage, "5");
  });
});
