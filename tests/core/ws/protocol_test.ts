import assert from "node:assert/strict";
import {
  buildPing,
  buildSubscribe,
  buildUnsubscribe,
  normalizeDecimal,
  parseWsFrame,
  plainDecimal,
} from "../../../core/ws/protocol.ts";

Deno.test("parseWsFrame() hands book frames back raw without parsing", async (t) => {
  await t.step("by prefix", () => {
    const text =
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45281.0,"qty":0.10000000}],"asks":[],"checksum":1}]}';
    assert.deepEqual(parseWsFrame(text), { kind: "book", text });
  });
  await t.step("with another key order", () => {
    const text = '{"type":"update","channel":"book","data":[]}';
    assert.deepEqual(parseWsFrame(text), { kind: "book", text });
  });
  await t.step("even when the rest of the frame is broken", () => {
    const text = '{"channel":"book", garbage';
    assert.equal(parseWsFrame(text).kind, "book");
  });
});

Deno.test("parseWsFrame() keeps decimal text of ticker numbers", () => {
  const frame = parseWsFrame(
    '{"channel":"ticker","type":"update","data":[{"symbol":"DOGE/USD","bid":0.17410,"bid_qty":52000.0,"ask":"0.17419","ask_qty":8100.5,"last":0.17415,"volume":91833210.4,"vwap":0.17203,"low":0.16877,"high":0.17650,"change":0.00291,"change_pct":1.70,"timestamp":"2025-03-04T10:20:11.402113Z"}]}',
  );
  assert.equal(frame.kind, "ticker");
  if (frame.kind !== "ticker") return;
  assert.equal(frame.type, "update");
  assert.deepEqual(frame.ticker, {
    symbol: "DOGE/USD",
    bid: "0.17410",
    bidQty: "52000.0",
    ask: "0.17419",
    askQty: "8100.5",
    last: "0.17415",
    volume: "91833210.4",
    vwap: "0.17203",
    low: "0.16877",
    high: "0.17650",
    change: "0.00291",
    changePct: "1.70",
    timestamp: "2025-03-04T10:20:11.402113Z",
  });
});

Deno.test("parseWsFrame() reads trade, ohlc and instrument frames", async (t) => {
  await t.step("trade batch", () => {
    const frame = parseWsFrame(
      '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":97012.4,"qty":0.01250000,"ord_type":"market","trade_id":81234567,"timestamp":"2025-03-04T10:22:15.031244Z"},{"symbol":"BTC/USD","side":"sell","price":97012.5,"qty":3e-3,"ord_type":"limit","trade_id":81234568,"timestamp":"2025-03-04T10:22:15.031244Z"}]}',
    );
    assert.equal(frame.kind, "trade");
    if (frame.kind !== "trade") return;
    assert.equal(frame.trades.length, 2);
    assert.deepEqual(frame.trades[0], {
      symbol: "BTC/USD",
      side: "buy",
      price: "97012.4",
      qty: "0.01250000",
      ordType: "market",
      tradeId: 81234567,
      timestamp: "2025-03-04T10:22:15.031244Z",
    });
    assert.equal(frame.trades[1]?.qty, "0.003");
  });
  await t.step("ohlc with nanosecond interval_begin", () => {
    const frame = parseWsFrame(
      '{"channel":"ohlc","type":"update","timestamp":"2025-03-04T10:23:40.118230413Z","data":[{"symbol":"SOL/USD","open":142.31,"high":142.77,"low":142.20,"close":142.66,"trades":87,"volume":1311.42118000,"vwap":142.5019,"interval_begin":"2025-03-04T10:20:00.000000000Z","interval":5,"timestamp":"2025-03-04T10:25:00.000000Z"}]}',
    );
    assert.equal(frame.kind, "ohlc");
    if (frame.kind !== "ohlc") return;
    assert.deepEqual(frame.candles[0], {
      symbol: "SOL/USD",
      open: "142.31",
      high: "142.77",
      low: "142.20",
      close: "142.66",
      vwap: "142.5019",
      trades: 87,
      volume: "1311.42118000",
      intervalBegin: "2025-03-04T10:20:00.000000000Z",
      intervalBeginMs: Date.UTC(2025, 2, 4, 10, 20),
      intervalMin: 5,
    });
  });
  await t.step("instrument object data with exponents", () => {
    const frame = parseWsFrame(
      '{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"DOGE","status":"enabled","precision":8,"precision_display":2},{"bad":1}],"pairs":[{"symbol":"DOGE/USD","base":"DOGE","quote":"USD","status":"online","price_precision":5,"qty_precision":8,"price_increment":0.00001,"qty_increment":1e-08,"qty_min":20.0,"cost_min":"0.5","cost_precision":5,"marginable":false,"has_index":true},7]}}',
    );
    assert.equal(frame.kind, "instrument");
    if (frame.kind !== "instrument") return;
    assert.deepEqual(frame.assets, [{
      id: "DOGE",
      status: "enabled",
      precision: 8,
      precisionDisplay: 2,
    }]);
    assert.deepEqual(frame.pairs, [{
      symbol: "DOGE/USD",
      base: "DOGE",
      quote: "USD",
      status: "online",
      pricePrecision: 5,
      qtyPrecision: 8,
      priceIncrement: "0.00001",
      qtyIncrement: "0.00000001",
      qtyMin: "20.0",
      costMin: "0.5",
      marginable: false,
    }]);
  });
});

Deno.test("parseWsFrame() reads status, heartbeat and pong", () => {
  assert.deepEqual(
    parseWsFrame(
      '{"channel":"status","type":"update","data":[{"system":"online","api_version":"v2","connection_id":14230576291856903561,"version":"2.0.9"}]}',
    ),
    {
      kind: "status",
      status: {
        system: "online",
        apiVersion: "v2",
        connectionId: "14230576291856903561",
        version: "2.0.9",
      },
    },
  );
  assert.deepEqual(parseWsFrame('{"channel":"heartbeat"}'), {
    kind: "heartbeat",
  });
  assert.deepEqual(
    parseWsFrame(
      '{"method":"pong","req_id":41,"time_in":"2025-03-04T10:16:00.000211Z","time_out":"2025-03-04T10:16:00.000230Z"}',
    ),
    {
      kind: "pong",
      reqId: 41,
      timeIn: "2025-03-04T10:16:00.000211Z",
      timeOut: "2025-03-04T10:16:00.000230Z",
    },
  );
});

Deno.test("parseWsFrame() reads method responses and rejects", async (t) => {
  await t.step("subscribe ack", () => {
    const frame = parseWsFrame(
      '{"method":"subscribe","req_id":7,"success":true,"result":{"channel":"book","symbol":"ETH/USD","depth":25,"snapshot":true,"warnings":["tick_size is deprecated"]},"time_in":"a","time_out":"b"}',
    );
    assert.equal(frame.kind, "response");
    if (frame.kind !== "response") return;
    assert.equal(frame.method, "subscribe");
    assert.equal(frame.success, true);
    assert.equal(frame.reqId, 7);
    assert.equal(frame.channel, "book");
    assert.equal(frame.symbol, "ETH/USD");
    assert.deepEqual(frame.warnings, ["tick_size is deprecated"]);
    assert.equal(frame.error, undefined);
  });
  await t.step("per-symbol reject with a top-level symbol", () => {
    const frame = parseWsFrame(
      '{"method":"subscribe","success":false,"error":"Currency pair not supported XBT/EUR","symbol":"XBT/EUR","req_id":3}',
    );
    assert.equal(frame.kind, "response");
    if (frame.kind !== "response") return;
    assert.equal(frame.success, false);
    assert.equal(frame.symbol, "XBT/EUR");
    assert.equal(frame.error, "Currency pair not supported XBT/EUR");
    assert.equal(frame.channel, undefined);
  });
  await t.step(
    "absent success counts as failure, odd error kept as text",
    () => {
      const frame = parseWsFrame('{"method":"subscribe","error":["x"]}');
      assert.equal(frame.kind, "response");
      if (frame.kind !== "response") return;
      assert.equal(frame.success, false);
      assert.equal(frame.error, "x");
      assert.equal(frame.reqId, undefined);
    },
  );
});

Deno.test("parseWsFrame() passes other channels through with decimal text", () => {
  const frame = parseWsFrame(
    '{"channel":"executions","type":"update","sequence":21,"data":[{"order_id":"O1","order_qty":0.50000000}]}',
  );
  assert.deepEqual(frame, {
    kind: "channel",
    channel: "executions",
    type: "update",
    data: [{ order_id: "O1", order_qty: "0.50000000" }],
    sequence: 21,
  });
});

Deno.test("parseWsFrame() turns bad input into malformed frames", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{oops", /not JSON/],
    ["an array", "[1,2]", /not a JSON object/],
    ["no channel or method", '{"x":1}', /neither/],
    ["status without data", '{"channel":"status","type":"update"}', /status/i],
    ["unknown type", '{"channel":"ticker","type":"delta","data":[]}', /type/],
    [
      "ticker without symbol",
      '{"channel":"ticker","type":"update","data":[{}]}',
      /symbol/,
    ],
    [
      "trade data not array",
      '{"channel":"trade","type":"update","data":{}}',
      /data array/,
    ],
    [
      "trade row not object",
      '{"channel":"trade","type":"update","data":[1]}',
      /not an object/,
    ],
    [
      "trade without symbol",
      '{"channel":"trade","type":"update","data":[{"side":"buy"}]}',
      /no symbol/,
    ],
    [
      "trade with bad side",
      '{"channel":"trade","type":"update","data":[{"symbol":"A/B","side":"up","price":1,"qty":1,"timestamp":"t"}]}',
      /side/,
    ],
    [
      "trade without price",
      '{"channel":"trade","type":"update","data":[{"symbol":"A/B","side":"buy","price":"x","qty":1,"timestamp":"t"}]}',
      /price/,
    ],
    [
      "trade without timestamp",
      '{"channel":"trade","type":"update","data":[{"symbol":"A/B","side":"buy","price":1,"qty":1}]}',
      /timestamp/,
    ],
    [
      "ohlc without symbol",
      '{"channel":"ohlc","type":"update","data":[{}]}',
      /no symbol/,
    ],
    [
      "ohlc without close",
      '{"channel":"ohlc","type":"update","data":[{"symbol":"A/B","open":1,"high":1,"low":1,"volume":1}]}',
      /close/,
    ],
    [
      "ohlc with bad interval",
      '{"channel":"ohlc","type":"update","data":[{"symbol":"A/B","open":1,"high":1,"low":1,"close":1,"volume":1,"interval":0}]}',
      /interval/,
    ],
    [
      "ohlc with bad interval_begin",
      '{"channel":"ohlc","type":"update","data":[{"symbol":"A/B","open":1,"high":1,"low":1,"close":1,"volume":1,"interval":1,"interval_begin":"soon"}]}',
      /interval_begin/,
    ],
    [
      "instrument with array data",
      '{"channel":"instrument","type":"snapshot","data":[]}',
      /not an object/,
    ],
  ];
  for (const [name, text, reason] of cases) {
    await t.step(name, () => {
      const frame = parseWsFrame(text);
      assert.equal(frame.kind, "malformed");
      if (frame.kind === "malformed") assert.match(frame.reason, reason);
    });
  }
});

Deno.test("plainDecimal() expands exponents and keeps given digits", () => {
  assert.equal(plainDecimal("1e-08"), "0.00000001");
  assert.equal(plainDecimal("5E-7"), "0.0000005");
  assert.equal(plainDecimal("1.5e3"), "1500");
  assert.equal(plainDecimal("1.2345e2"), "123.45");
  assert.equal(plainDecimal("-2.5e-1"), "-0.25");
  assert.equal(plainDecimal("45281.0"), "45281.0");
  assert.equal(plainDecimal(".5"), "0.5");
  assert.equal(plainDecimal("abc"), undefined);
  assert.equal(plainDecimal("."), undefined);
});

Deno.test("normalizeDecimal() gives one canonical text per value", () => {
  assert.equal(normalizeDecimal("0.10000000"), "0.1");
  assert.equal(normalizeDecimal("45281.0"), "45281");
  assert.equal(normalizeDecimal("007.50"), "7.5");
  assert.equal(normalizeDecimal("-0.000"), "0");
  assert.equal(normalizeDecimal("-1.50"), "-1.5");
  assert.equal(normalizeDecimal("1e-08"), "0.00000001");
  assert.equal(normalizeDecimal("100"), "100");
  assert.equal(normalizeDecimal("x"), undefined);
});

Deno.test("buildSubscribe() and buildUnsubscribe() write v2 requests", async (t) => {
  await t.step("subscribe with every option", () => {
    assert.deepEqual(
      JSON.parse(buildSubscribe({
        channel: "ticker",
        symbol: ["BTC/USD", "ETH/USD"],
        snapshot: false,
        eventTrigger: "bbo",
      }, { reqId: 3 })),
      {
        method: "subscribe",
        params: {
          channel: "ticker",
          symbol: ["BTC/USD", "ETH/USD"],
          snapshot: false,
          event_trigger: "bbo",
        },
        req_id: 3,
      },
    );
    assert.deepEqual(
      JSON.parse(buildSubscribe({
        channel: "executions",
        token: "tok",
        extra: { snap_orders: false },
      })),
      {
        method: "subscribe",
        params: { channel: "executions", snap_orders: false, token: "tok" },
      },
    );
  });
  await t.step(
    "unsubscribe repeats depth and interval, drops subscribe-only",
    () => {
      assert.deepEqual(
        JSON.parse(buildUnsubscribe({
          channel: "book",
          symbol: ["BTC/USD"],
          depth: 25,
          snapshot: true,
          eventTrigger: "trades",
        }, { reqId: 9 })),
        {
          method: "unsubscribe",
          params: { channel: "book", symbol: ["BTC/USD"], depth: 25 },
          req_id: 9,
        },
      );
      assert.deepEqual(
        JSON.parse(
          buildUnsubscribe({ channel: "ohlc", symbol: ["A/B"], interval: 5 }),
        ),
        {
          method: "unsubscribe",
          params: { channel: "ohlc", symbol: ["A/B"], interval: 5 },
        },
      );
    },
  );
  await t.step("ping", () => {
    assert.equal(buildPing({ reqId: 41 }), '{"method":"ping","req_id":41}');
    assert.equal(buildPing(), '{"method":"ping"}');
  });
  await t.step("a non-integer req_id is refused", () => {
    assert.throws(() => buildPing({ reqId: 1.5 }), RangeError);
  });
});
