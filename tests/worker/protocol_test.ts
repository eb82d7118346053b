import assert from "node:assert/strict";
import {
  PAGE_TIMEFRAMES,
  parsePageMessage,
  parseWorkerMessage,
  type WorkerBatch,
  workerError,
  type WorkerReply,
} from "../../worker/protocol.ts";

Deno.test("parsePageMessage() accepts every request shape after a structured clone", () => {
  const requests = [
    { kind: "request", id: 1, method: "init", params: {} },
    {
      kind: "request",
      id: 2,
      method: "watch",
      params: { pinned: ["BTC/USD"], allQuotes: true },
    },
    {
      kind: "request",
      id: 3,
      method: "select",
      params: { pair: "XBTUSD", timeframe: "1h", depth: 25, limit: 500 },
    },
    {
      kind: "request",
      id: 4,
      method: "select",
      params: { pair: null, timeframe: "1m", depth: 10 },
    },
    { kind: "request", id: 5, method: "account", params: {} },
    { kind: "request", id: 6, method: "watchAccount", params: {} },
    { kind: "ack", seq: 9 },
  ];
  for (const message of requests) {
    const parsed = parsePageMessage(structuredClone(message));
    assert.ok(parsed.ok, JSON.stringify(message));
    assert.deepEqual(parsed.value, message);
  }
});

Deno.test("parsePageMessage() returns an error value naming what is wrong", async (t) => {
  const cases: [string, unknown, RegExp, number | undefined][] = [
    ["not an object", 42, /not an object/, undefined],
    ["unknown kind", { kind: "poke" }, /kind is "poke"/, undefined],
    [
      "no id",
      { kind: "request", method: "init", params: {} },
      /id is/,
      undefined,
    ],
    [
      "unknown method",
      { kind: "request", id: 7, method: "trade", params: {} },
      /unknown method "trade"/,
      7,
    ],
    [
      "bad params",
      { kind: "request", id: 8, method: "init", params: [] },
      /params/,
      8,
    ],
    [
      "bad pinned",
      { kind: "request", id: 9, method: "watch", params: { pinned: [1] } },
      /pinned/,
      9,
    ],
    [
      "bad allQuotes",
      {
        kind: "request",
        id: 12,
        method: "watch",
        params: { pinned: [], allQuotes: "yes" },
      },
      /allQuotes/,
      12,
    ],
    [
      "bad timeframe",
      {
        kind: "request",
        id: 10,
        method: "select",
        params: { pair: "X", timeframe: "3m", depth: 10 },
      },
      /timeframe "3m" is not one of 1m, 5m/,
      10,
    ],
    [
      "bad depth",
      {
        kind: "request",
        id: 11,
        method: "select",
        params: { pair: "X", timeframe: "1m", depth: 100 },
      },
      /depth must be 10 or 25/,
      11,
    ],
    ["bad ack", { kind: "ack", seq: "1" }, /seq/, undefined],
  ];
  for (const [name, input, pattern, id] of cases) {
    await t.step(name, () => {
      const parsed = parsePageMessage(input);
      assert.equal(parsed.ok, false);
      if (parsed.ok) return;
      assert.equal(parsed.error.kind, "bad_request");
      assert.match(parsed.error.message, pattern);
      assert.equal(parsed.id, id);
    });
  }
});

Deno.test("parseWorkerMessage() recognises replies and batches and nothing else", () => {
  const reply: WorkerReply = {
    kind: "reply",
    id: 1,
    method: "watch",
    result: {
      ok: false,
      error: workerError("http", "Nope", { status: 503, code: "x" }),
    },
  };
  const batch: WorkerBatch = {
    kind: "batch",
    seq: 1,
    tickers: [{ symbol: "BTC/USD", last: 1, updatedAtMs: 0 }],
    trades: [],
    history: [],
    notices: [],
  };
  assert.deepEqual(parseWorkerMessage(structuredClone(reply)), reply);
  assert.deepEqual(parseWorkerMessage(structuredClone(batch)), batch);
  assert.equal(parseWorkerMessage({ kind: "batch", seq: 1 }), undefined);
  assert.equal(
    parseWorkerMessage({ kind: "reply", id: "1", result: {} }),
    undefined,
  );
  assert.equal(parseWorkerMessage(null), undefined);
  assert.deepEqual(workerError("network", "Down"), {
    kind: "network",
    message: "Down",
  });
  assert.deepEqual([...PAGE_TIMEFRAMES], ["1m", "5m", "15m", "1h", "4h", "1d"]);
});
