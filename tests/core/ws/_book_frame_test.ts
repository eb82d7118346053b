import assert from "node:assert/strict";
import {
  BOOK_FRAME_BOOK,
  BOOK_FRAME_MALFORMED,
  BOOK_FRAME_OTHER,
  BookFrameScanner,
  ENTRY_ASKS_TO,
  ENTRY_STRIDE,
  ENTRY_SYMBOL_HASH,
  formatFixed,
  LEVEL_PRICE_HI,
  LEVEL_PRICE_LO,
  LEVEL_PRICE_SCALE,
  LEVEL_QTY_HI,
  LEVEL_QTY_LO,
  LEVEL_QTY_SCALE,
  LEVEL_STRIDE,
  scanBookFrame,
  symbolHash,
} from "../../../core/ws/_book_frame.ts";

const CANONICAL =
  '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":45281.0,"qty":0.10000000},{"price":45280.3,"qty":0.00000000}],"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":3310070434,"timestamp":"2025-03-04T10:21:00.881043Z"}]}';

const CANONICAL_ENTRY = {
  symbol: "BTC/USD",
  bids: [
    { price: "45281.0", qty: "0.10000000" },
    { price: "45280.3", qty: "0.00000000" },
  ],
  asks: [{ price: "45285.2", qty: "0.00100000" }],
  checksum: 3310070434,
  timestamp: "2025-03-04T10:21:00.881043Z",
};

/** Scans with both the fast path and the general path; they must agree. */
function scanBoth(text: string) {
  const fast = scanBookFrame(text);
  const scanner = new BookFrameScanner({ fastPath: false });
  const code = scanner.scan(text);
  const expectedCode = fast.kind === "book"
    ? BOOK_FRAME_BOOK
    : fast.kind === "other"
    ? BOOK_FRAME_OTHER
    : BOOK_FRAME_MALFORMED;
  assert.equal(code, expectedCode, `general path disagrees on ${text}`);
  return fast;
}

function malformedReason(text: string): string {
  const result = scanBoth(text);
  assert.equal(result.kind, "malformed", `expected malformed: ${text}`);
  return result.kind === "malformed" ? result.reason : "";
}

Deno.test("scanBookFrame() keeps the exact wire digits", async (t) => {
  await t.step("canonical Kraken layout", () => {
    assert.deepEqual(scanBoth(CANONICAL), {
      kind: "book",
      type: "update",
      entries: [CANONICAL_ENTRY],
    });
  });
  await t.step("snapshot type and short zero", () => {
    const result = scanBoth(
      '{"channel":"book","type":"snapshot","data":[{"symbol":"ETH/USD","bids":[],"asks":[{"price":3456.80,"qty":0}],"checksum":0}]}',
    );
    assert.deepEqual(result, {
      kind: "book",
      type: "snapshot",
      entries: [{
        symbol: "ETH/USD",
        bids: [],
        asks: [{ price: "3456.80", qty: "0" }],
        checksum: 0,
      }],
    });
  });
});

Deno.test("scanBookFrame() tolerates layout differences", async (t) => {
  await t.step("keys in any order, whitespace and unknown keys", () => {
    const text = ` {
      "data" : [ { "timestamp" : "2025-03-04T10:21:00.881043Z", "checksum" : 3310070434,
        "asks" : [ { "qty" : 0.00100000 , "price" : 45285.2 } ],
        "extra" : { "nested" : [ 1, "]}", { "x" : null } ], "t": true },
        "bids" : [ { "price" : 45281.0 , "qty" : 0.10000000 , "note" : "a\\"b" },
                   { "qty" : 0.00000000, "price" : 45280.3 } ],
        "symbol" : "BTC/USD" } ],
      "type" : "update", "channel" : "book", "sequence": 5 }\n`;
    assert.deepEqual(scanBoth(text), {
      kind: "book",
      type: "update",
      entries: [CANONICAL_ENTRY],
    });
  });
  await t.step("numbers sent as strings", () => {
    const result = scanBoth(
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"45281.0","qty":"0.10000000"}],"asks":[],"checksum":"12"}]}',
    );
    assert.equal(result.kind, "book");
    if (result.kind !== "book") return;
    assert.deepEqual(result.entries[0]?.bids, [
      { price: "45281.0", qty: "0.10000000" },
    ]);
    assert.equal(result.entries[0]?.checksum, 12);
  });
  await t.step("exponent forms become exact plain decimals", () => {
    const result = scanBoth(
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":4.52852E4,"qty":1e-08},{"price":1.5e+3,"qty":25E-1},{"price":0e5,"qty":2e2}],"asks":[],"checksum":3.3e3}]}',
    );
    assert.equal(result.kind, "book");
    if (result.kind !== "book") return;
    assert.deepEqual(result.entries[0]?.bids, [
      { price: "45285.2", qty: "0.00000001" },
      { price: "1500", qty: "2.5" },
      { price: "0", qty: "200" },
    ]);
    assert.equal(result.entries[0]?.checksum, 3300);
  });
  await t.step("escaped symbol and escaped keys", () => {
    const result = scanBoth(
      '{"channel":"b\\u006fok","type":"update","data":[{"symbol":"BTC\\/USD","bi\\u0064s":[],"asks":[],"checksum":1}]}',
    );
    assert.equal(result.kind, "book");
    if (result.kind !== "book") return;
    assert.equal(result.entries[0]?.symbol, "BTC/USD");
  });
  await t.step("several objects in data", () => {
    const result = scanBoth(
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.0,"qty":2.00}],"asks":[],"checksum":1,"timestamp":"t1"},{"symbol":"ETH/USD","bids":[],"asks":[{"price":3.00,"qty":4.0}],"checksum":2}]}',
    );
    assert.deepEqual(result, {
      kind: "book",
      type: "update",
      entries: [
        {
          symbol: "BTC/USD",
          bids: [{ price: "1.0", qty: "2.00" }],
          asks: [],
          checksum: 1,
          timestamp: "t1",
        },
        {
          symbol: "ETH/USD",
          bids: [],
          asks: [{ price: "3.00", qty: "4.0" }],
          checksum: 2,
        },
      ],
    });
  });
  await t.step(
    "missing sides are empty and a non-string timestamp is ignored",
    () => {
      const result = scanBoth(
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1,"timestamp":12}]}',
      );
      assert.deepEqual(result, {
        kind: "book",
        type: "update",
        entries: [{ symbol: "BTC/USD", bids: [], asks: [], checksum: 1 }],
      });
    },
  );
  await t.step("more than 15 significant digits stay exact", () => {
    const result = scanBoth(
      '{"channel":"book","type":"update","data":[{"symbol":"SHIB/USD","bids":[{"price":0.00001234,"qty":9007199254740993.12345678}],"asks":[{"price":123456789012345678901234.567891,"qty":1}],"checksum":1}]}',
    );
    assert.equal(result.kind, "book");
    if (result.kind !== "book") return;
    assert.deepEqual(result.entries[0]?.bids, [
      { price: "0.00001234", qty: "9007199254740993.12345678" },
    ]);
    assert.equal(
      result.entries[0]?.asks[0]?.price,
      "123456789012345678901234.567891",
    );
  });
});

Deno.test("scanBookFrame() reports other channels", async (t) => {
  await t.step("heartbeat", () => {
    assert.deepEqual(scanBoth('{"channel":"heartbeat"}'), {
      kind: "other",
      channel: "heartbeat",
    });
  });
  await t.step("a method response has no channel", () => {
    assert.deepEqual(
      scanBoth('{"method":"pong","req_id":41,"time_in":"x","time_out":"y"}'),
      { kind: "other", channel: "" },
    );
  });
  await t.step("another channel whose data is not a book", () => {
    assert.deepEqual(
      scanBoth(
        '{"data":[{"symbol":"BTC/USD","bid":1.5,"ask":[true]}],"channel":"ticker","type":"update"}',
      ),
      { kind: "other", channel: "ticker" },
    );
    assert.deepEqual(
      scanBoth(
        '{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[]}}',
      ),
      { kind: "other", channel: "instrument" },
    );
  });
  await t.step("an empty object", () => {
    assert.deepEqual(scanBoth("{}"), { kind: "other", channel: "" });
  });
});

Deno.test("scanBookFrame() gives malformed, never throws", async (t) => {
  await t.step("every truncation of a valid frame", () => {
    for (let end = 0; end < CANONICAL.length; end++) {
      const reason = malformedReason(CANONICAL.slice(0, end));
      assert.match(reason, /^Cannot read book frame: /);
    }
  });
  await t.step("wrong types", () => {
    const cases: [string, RegExp][] = [
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":true,"qty":1}],"asks":[],"checksum":1}]}',
        /a number for price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":{},"asks":[],"checksum":1}]}',
        /'\[' for bids/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[1],"checksum":1}]}',
        /'\{' for a level in asks/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":7,"bids":[],"asks":[],"checksum":1}]}',
        /a string for symbol/,
      ],
      [
        '{"channel":"book","type":"update","data":{"symbol":"BTC/USD"}}',
        /'\[' for data/,
      ],
      [
        '{"channel":"book","type":"update","data":["x"]}',
        /'\{' for a data entry/,
      ],
      ['{"channel":5,"type":"update","data":[]}', /a string for channel/],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"abc","qty":1}],"asks":[],"checksum":1}]}',
        /a number for price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1.5x","qty":1}],"asks":[],"checksum":1}]}',
        /'"' to end price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":12abc,"qty":1}],"asks":[],"checksum":1}]}',
        /end of the number in price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1.,"qty":1}],"asks":[],"checksum":1}]}',
        /digit after '\.' in price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1e,"qty":1}],"asks":[],"checksum":1}]}',
        /exponent of price/,
      ],
    ];
    for (const [text, pattern] of cases) {
      assert.match(malformedReason(text), pattern, text);
    }
  });
  await t.step("missing or bad required fields", () => {
    const cases: [string, RegExp][] = [
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[]}]}',
        /data\[0\] has no checksum/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"bids":[],"asks":[],"checksum":1}]}',
        /data\[0\] has no symbol/,
      ],
      [
        '{"channel":"book","data":[{"symbol":"BTC/USD","checksum":1}]}',
        /type is missing/,
      ],
      [
        '{"channel":"book","type":"partial","data":[{"symbol":"BTC/USD","checksum":1}]}',
        /type is missing or not/,
      ],
      [
        '{"channel":"book","type":7,"data":[{"symbol":"BTC/USD","checksum":1}]}',
        /type is missing or not/,
      ],
      ['{"channel":"book","type":"update"}', /data is missing/],
      ['{"channel":"book","type":"update","data":[]}', /data is empty/],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1}],"checksum":1}]}',
        /level in bids has no qty/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","asks":[{"qty":1}],"checksum":1}]}',
        /level in asks has no price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","asks":[{}],"checksum":1}]}',
        /has no price/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":4294967296}]}',
        /not an unsigned 32-bit integer \(4294967296\)/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1.5}]}',
        /not an unsigned 32-bit integer/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":-1}]}',
        /checksum is negative/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":-1.5,"qty":1}],"checksum":1}]}',
        /price is negative/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1234567890123456789012345678901,"qty":1}],"checksum":1}]}',
        /price is out of range/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1e31,"qty":1}],"checksum":1}]}',
        /more than 30 digits/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1e-31,"qty":1}],"checksum":1}]}',
        /out of range/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1}]} x',
        /the end of the frame/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1}]',
        /',' or '\}' in the frame/,
      ],
      ['{"channel":"book" "type":"update"}', /',' or '\}' in the frame/],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1} {}]}',
        /',' or '\]' in data/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD" "checksum":1}]}',
        /',' or '\}' in a data entry/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1,"qty":1} {}],"checksum":1}]}',
        /',' or '\]' in bids/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1 "qty":1}],"checksum":1}]}',
        /',' or '\}' in a level of bids/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price" 1}],"checksum":1}]}',
        /':' after a key/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol" "BTC/USD"}]}',
        /':' after a key/,
      ],
      ['{"channel" "book"}', /':' after a key/],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{7:1}],"checksum":1}]}',
        /to start a key/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"B\\x","checksum":1}]}',
        /bad escape in string/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1,"x":}]}',
        /expected a value/,
      ],
      [
        '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","checksum":1,"x":[1,2}]}',
        /text ends inside a value|',' or/,
      ],
      ["[]", /'\{' to start the frame/],
      ["", /'\{' to start the frame/],
      [
        '{"data":[{"symbol":"BTC/USD","checksum":"x"}],"channel":"book","type":"update"}',
        /a number for checksum/,
      ],
    ];
    for (const [text, pattern] of cases) {
      assert.match(malformedReason(text), pattern, text);
    }
  });
  await t.step("unterminated strings and values", () => {
    assert.match(
      malformedReason('{"channel":"book","type":"upd'),
      /unterminated string/,
    );
    assert.match(
      malformedReason('{"channel":"book","type":"update","x":[1,{"a":'),
      /text ends inside a value|unterminated/,
    );
  });
});

Deno.test("BookFrameScanner exposes exact encodings without allocating", () => {
  const scanner = new BookFrameScanner();
  assert.equal(scanner.scan(CANONICAL), BOOK_FRAME_BOOK);
  assert.equal(scanner.entryCount, 1);
  assert.equal(scanner.isSnapshot, false);
  assert.equal(scanner.text, CANONICAL);
  assert.equal(scanner.reason, "");
  assert.equal(scanner.symbol(0), "BTC/USD");
  assert.equal(scanner.symbolEquals(0, "BTC/USD"), true);
  assert.equal(scanner.symbolEquals(0, "BTC/USDT"), false);
  assert.equal(scanner.symbolEquals(0, "ETH/USD"), false);
  assert.equal(
    scanner.entries[ENTRY_SYMBOL_HASH],
    symbolHash("BTC/USD"),
  );
  assert.equal(scanner.timestamp(0), "2025-03-04T10:21:00.881043Z");
  const levels = scanner.levels;
  // 45281.0 -> mantissa 452810, scale 1; 0.10000000 -> 10000000, scale 8.
  assert.deepEqual(
    [
      levels[LEVEL_PRICE_LO],
      levels[LEVEL_PRICE_HI],
      levels[LEVEL_PRICE_SCALE],
      levels[LEVEL_QTY_LO],
      levels[LEVEL_QTY_HI],
      levels[LEVEL_QTY_SCALE],
    ],
    [452810, 0, 1, 10000000, 0, 8],
  );
  assert.equal(scanner.levelPriceText(2), "45285.2");
  assert.equal(scanner.levelQtyText(2), "0.00100000");
  assert.equal(LEVEL_STRIDE, 6);
  assert.equal(ENTRY_STRIDE, 10);

  // Reused for the next frame; escaped symbols decode.
  assert.equal(
    scanner.scan(
      '{"channel":"book","type":"snapshot","data":[{"symbol":"ETH\\/USD","checksum":1}]}',
    ),
    BOOK_FRAME_BOOK,
  );
  assert.equal(scanner.symbol(0), "ETH/USD");
  assert.equal(scanner.symbolEquals(0, "ETH/USD"), true);
  assert.equal(scanner.entries[ENTRY_SYMBOL_HASH], symbolHash("ETH/USD"));
  assert.equal(scanner.timestamp(0), undefined);
  assert.equal(scanner.scan('{"channel":"status"}'), BOOK_FRAME_OTHER);
  assert.equal(scanner.channel, "status");
  assert.equal(scanner.scan("{"), BOOK_FRAME_MALFORMED);
  assert.notEqual(scanner.reason, "");
});

Deno.test("BookFrameScanner grows its buffers for big frames", () => {
  const levels = Array.from(
    { length: 1000 },
    (_, i) => `{"price":${1000 + i}.5,"qty":1.25}`,
  ).join(",");
  const entries = Array.from(
    { length: 9 },
    (_, i) =>
      `{"symbol":"S${i}","bids":[${levels}],"asks":[${levels}],"checksum":${i}}`,
  ).join(",");
  const text = `{"channel":"book","type":"snapshot","data":[${entries}]}`;
  for (const fastPath of [true, false]) {
    const scanner = new BookFrameScanner({ fastPath });
    assert.equal(scanner.scan(text), BOOK_FRAME_BOOK);
    assert.equal(scanner.entryCount, 9);
    assert.equal(scanner.symbol(8), "S8");
    assert.equal(scanner.levelPriceText(9 * 2000 - 1), "1999.5");
  }
});

Deno.test("fast and general scanner paths agree on the bench stream", async () => {
  const text = await Deno.readTextFile(
    new URL("../../../../shared/bench/book-v2-stream.jsonl", import.meta.url),
  ).catch(() => undefined);
  const lines = text === undefined
    ? [CANONICAL]
    : text.slice(0, 400_000).split("\n").slice(0, -1);
  const fast = new BookFrameScanner();
  const general = new BookFrameScanner({ fastPath: false });
  for (const line of lines) {
    assert.equal(fast.scan(line), BOOK_FRAME_BOOK);
    assert.equal(general.scan(line), BOOK_FRAME_BOOK);
    assert.equal(fast.entryCount, general.entryCount);
    assert.deepEqual(
      fast.entries.subarray(0, ENTRY_STRIDE * fast.entryCount),
      general.entries.subarray(0, ENTRY_STRIDE * general.entryCount),
    );
    // Kraken sends bids before asks, so the asks' end is the level count.
    const count = fast.entries[ENTRY_ASKS_TO] as number;
    assert.deepEqual(
      fast.levels.subarray(0, count * LEVEL_STRIDE),
      general.levels.subarray(0, count * LEVEL_STRIDE),
    );
  }
});

Deno.test("formatFixed() writes plain decimal text", () => {
  assert.equal(formatFixed(0, 452810, 1), "45281.0");
  assert.equal(formatFixed(0, 100000, 8), "0.00100000");
  assert.equal(formatFixed(0, 0, 8), "0.00000000");
  assert.equal(formatFixed(0, 0, 0), "0");
  assert.equal(formatFixed(0, 1500, 0), "1500");
  assert.equal(formatFixed(9, 7199254740993, 8), "90071992.54740993");
  assert.equal(formatFixed(9007, 199254740993123, 8), "90071992547.40993123");
});
