import assert from "node:assert/strict";
import { resolvePair } from "../../../server/sim/exchange/pairs.ts";
import {
  decideRequest,
  type WsAction,
  type WsRequestContext,
  type WsSubscription,
} from "../../../server/sim/ws/requests.ts";

function context(overrides: Partial<WsRequestContext> = {}): WsRequestContext {
  return {
    endpoint: "public",
    subscribed: new Map(),
    nowMs: Date.UTC(2025, 0, 10),
    checkToken: (token) => token === "good",
    ...overrides,
  };
}

function frames(actions: WsAction[]): Record<string, unknown>[] {
  return actions.map((a) => {
    switch (a.kind) {
      case "send":
        return JSON.parse(a.frame);
      case "subscribe":
      case "unsubscribe":
        return JSON.parse(a.ack);
      case "method":
        return { method: a.method };
    }
  });
}

Deno.test("decideRequest() answers every request with Kraken's shapes", async (t) => {
  const cases: Array<
    [string, unknown, Partial<WsRequestContext>, Record<string, unknown>[]]
  > = [
    ["ping", { method: "ping", req_id: 3 }, {}, [{
      method: "pong",
      req_id: 3,
    }]],
    [
      "unknown channel",
      {
        method: "subscribe",
        params: { channel: "spread", symbol: ["BTC/USD"] },
      },
      {},
      [
        { success: false, error: "Subscription name invalid" },
      ],
    ],
    [
      "REST key as a symbol",
      {
        method: "subscribe",
        params: { channel: "trade", symbol: ["XXBTZUSD"] },
      },
      {},
      [
        {
          success: false,
          error: "Currency pair not supported XXBTZUSD",
          symbol: "XXBTZUSD",
        },
      ],
    ],
    [
      "default book depth",
      {
        method: "subscribe",
        params: { channel: "book", symbol: ["DOGE/USD"] },
      },
      {},
      [
        {
          success: true,
          result: {
            channel: "book",
            symbol: "DOGE/USD",
            depth: 10,
            snapshot: true,
          },
        },
      ],
    ],
    [
      "trade snapshot defaults to false",
      {
        method: "subscribe",
        params: { channel: "trade", symbol: ["ETH/USD"] },
      },
      {},
      [
        {
          success: true,
          result: { channel: "trade", symbol: "ETH/USD", snapshot: false },
        },
      ],
    ],
    [
      "ohlc without interval",
      { method: "subscribe", params: { channel: "ohlc", symbol: ["ETH/USD"] } },
      {},
      [
        { success: false, error: "Subscription ohlc interval not supported" },
      ],
    ],
    [
      "bad event_trigger",
      {
        method: "subscribe",
        params: {
          channel: "ticker",
          symbol: ["ETH/USD"],
          event_trigger: "quotes",
        },
      },
      {},
      [{ success: false, error: "EGeneral:Invalid arguments" }],
    ],
    [
      "missing symbol list",
      { method: "subscribe", params: { channel: "ticker" } },
      {},
      [
        { success: false, error: "EGeneral:Invalid arguments" },
      ],
    ],
    ["unknown method", { method: "add_order", params: {} }, {}, [{
      success: false,
      error: "Method not supported",
    }]],
    ["trading method on auth", { method: "add_order", params: {} }, {
      endpoint: "private",
    }, [{ method: "add_order" }]],
    ["balances with a bad token", {
      method: "subscribe",
      params: { channel: "balances", token: "bad" },
    }, {
      endpoint: "private",
    }, [{ success: false, error: "EAPI:Invalid token" }]],
    [
      "balances on the public endpoint",
      { method: "subscribe", params: { channel: "balances", token: "good" } },
      {},
      [
        {
          success: false,
          error: "Private data and trading are unavailable in this endpoint",
        },
      ],
    ],
    [
      "executions with a good token",
      {
        method: "subscribe",
        params: { channel: "executions", token: "good", snap_trades: true },
      },
      { endpoint: "private" },
      [{
        success: true,
        result: {
          channel: "executions",
          snap_orders: true,
          snap_trades: true,
          maxratecount: 180,
        },
      }],
    ],
  ];
  for (const [name, request, overrides, expected] of cases) {
    await t.step(name, () => {
      const answers = frames(
        decideRequest(JSON.stringify(request), context(overrides)),
      );
      assert.equal(answers.length, expected.length);
      answers.forEach((answer, i) => {
        for (const [key, value] of Object.entries(expected[i]!)) {
          assert.deepEqual(answer[key], value, key);
        }
      });
    });
  }
});

Deno.test("decideRequest() keys subscriptions like Kraken: one book depth per symbol, ohlc per interval", () => {
  const pair = resolvePair("BTC/USD")!;
  const subscribed = new Map<string, WsSubscription>([
    ["book|BTC/USD", { channel: "book", pair, depth: 25, snapshot: true }],
    ["ohlc|BTC/USD|5", {
      channel: "ohlc",
      pair,
      intervalMin: 5,
      snapshot: true,
    }],
  ]);
  const ask = (request: unknown) =>
    frames(decideRequest(JSON.stringify(request), context({ subscribed })))[0]!;
  assert.equal(
    ask({
      method: "subscribe",
      params: { channel: "book", symbol: ["BTC/USD"], depth: 100 },
    }).error,
    "Already subscribed",
  );
  assert.equal(
    ask({
      method: "subscribe",
      params: { channel: "ohlc", symbol: ["BTC/USD"], interval: 15 },
    }).success,
    true,
  );
  assert.equal(
    ask({
      method: "unsubscribe",
      params: { channel: "book", symbol: ["BTC/USD"] },
    }).error,
    "Subscription Not Found",
  );
  assert.equal(
    ask({
      method: "unsubscribe",
      params: { channel: "book", symbol: ["BTC/USD"], depth: 25 },
    }).success,
    true,
  );
});

Deno.test("decideRequest() answers a repeated symbol once", () => {
  const actions = decideRequest(
    JSON.stringify({
      method: "subscribe",
      params: { channel: "ticker", symbol: ["BTC/USD", "BTC/USD"] },
    }),
    context(),
  );
  assert.equal(actions.length, 1);
});
