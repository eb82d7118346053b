import assert from "node:assert/strict";
import {
  bronzeFromRestTrades,
  bronzeFromWsText,
  isTradeFrameText,
} from "../../../core/record/bronze.ts";
import {
  backfillCursor,
  backfillStep,
  dedupeTrades,
  GapTracker,
  missingIds,
} from "../../../core/record/gaps.ts";
import {
  bucketStartUs,
  goldFromTrades,
  isBucketClosed,
  rollupGold,
  spanUs,
  vwapText,
} from "../../../core/record/gold.ts";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import { storedBookEntries } from "../../../core/record/book.ts";
import {
  canonicalSymbol,
  formatTimestampUs,
  parseTimestampUs,
  RecordInputError,
  type SilverTrade,
  silverTradeId,
  toSilver,
} from "../../../core/record/silver.ts";
import { tapWebSocket } from "../../../core/record/tap.ts";
import type { WebSocketLike } from "../../../core/ws/connection.ts";

const FRAME =
  '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":97012.40,"qty":0.01250000,"ord_type":"market","trade_id":81234567,"timestamp":"2025-03-04T10:22:15.031244Z"},{"symbol":"BTC/USD","side":"sell","price":97012.5,"qty":0.00300000,"ord_type":"limit","trade_id":81234568,"timestamp":"2025-03-04T10:22:15.031244Z"}]}';

Deno.test("bronzeFromWsText() keeps price, qty and time exactly as sent, with the raw frame", () => {
  const { rows, skipped } = bronzeFromWsText(FRAME, {
    receivedUs: 1741083735100000,
    connectionId: "123",
  });
  assert.equal(skipped, 0);
  assert.equal(rows.length, 2);
  assert.deepEqual(
    rows.map((r) => [r.price, r.qty, r.side, r.ordType, r.timestamp]),
    [
      [
        "97012.40",
        "0.01250000",
        "buy",
        "market",
        "2025-03-04T10:22:15.031244Z",
      ],
      ["97012.5", "0.00300000", "sell", "limit", "2025-03-04T10:22:15.031244Z"],
    ],
  );
  for (const r of rows) {
    assert.equal(r.raw, FRAME);
    assert.equal(r.source, "ws");
    assert.equal(r.connectionId, "123");
  }
});

Deno.test("bronzeFromWsText() yields nothing for other channels and flags broken trade frames", () => {
  assert.deepEqual(
    bronzeFromWsText('{"channel":"heartbeat"}', {
      receivedUs: 0,
      connectionId: "",
    })
      .rows,
    [],
  );
  const broken = bronzeFromWsText(
    '{"channel":"trade","type":"update","data":7}',
    {
      receivedUs: 0,
      connectionId: "",
    },
  );
  assert.equal(broken.rows.length, 0);
  assert.match(broken.malformed ?? "", /data array/);
  const noId = bronzeFromWsText(
    '{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1,"qty":1,"timestamp":"2025-01-01T00:00:00Z"}]}',
    { receivedUs: 0, connectionId: "" },
  );
  assert.equal(noId.skipped, 1);
  assert.equal(isTradeFrameText(' {"channel": "trade"'), true);
});

Deno.test("bronzeFromRestTrades() keeps REST's own spellings and skips rows without an id", () => {
  const { rows, skipped } = bronzeFromRestTrades("BTC/USD", {
    pair: "XXBTZUSD",
    rows: [
      ["97012.40000", "0.01250000", 1741083735.031244, "b", "m", "", 7],
      ["97012.40000", "0.01250000", 1741083735.031244, "b", "m", ""],
    ],
  }, 9);
  assert.equal(skipped, 1);
  assert.equal(rows[0]!.side, "b");
  assert.equal(rows[0]!.timestamp, "1741083735.031244");
  assert.equal(rows[0]!.source, "rest_backfill");
  assert.deepEqual(JSON.parse(rows[0]!.raw).pair, "XXBTZUSD");
});

Deno.test("canonicalSymbol() renames Kraken's legacy names and never guesses a prefix", async (t) => {
  const table: [string, string][] = [
    ["BTC/USD", "BTC/USD"],
    ["XBT/USD", "BTC/USD"],
    ["XXBT/ZUSD", "BTC/USD"],
    ["XDG/EUR", "DOGE/EUR"],
    ["XXDG/ZEUR", "DOGE/EUR"],
    ["XETH/XXBT", "ETH/BTC"],
    ["XTZ/USD", "XTZ/USD"],
    ["eth/usd", "ETH/USD"],
  ];
  for (const [input, want] of table) {
    await t.step(`${input} → ${want}`, () => {
      assert.equal(canonicalSymbol(input), want);
    });
  }
  for (const bad of ["BTCUSD", "BTC/", "/USD", "A/B/C"]) {
    assert.throws(
      () => canonicalSymbol(bad),
      (e) => e instanceof RecordInputError && e.kind === "bad_symbol",
    );
  }
});

Deno.test("parseTimestampUs() reads RFC 3339 (any offset, ns truncated) and REST float seconds", () => {
  assert.equal(
    parseTimestampUs("2025-03-04T10:22:15.031244Z"),
    1741083735031244,
  );
  assert.equal(
    parseTimestampUs("2025-03-04T10:22:15.031244999Z"),
    1741083735031244,
  );
  assert.equal(
    parseTimestampUs("2025-03-04T11:22:15.031244+01:00"),
    1741083735031244,
  );
  assert.equal(parseTimestampUs("2025-03-04T10:22:15Z"), 1741083735000000);
  assert.equal(parseTimestampUs("1741083735.031244"), 1741083735031244);
  assert.equal(parseTimestampUs("1741083735"), 1741083735000000);
  assert.equal(
    parseTimestampUs("2024-02-29T23:59:59.999999-23:59"),
    Date.UTC(2024, 2, 1, 23, 58, 59, 999) * 1000 + 999,
  );
  // Impossible fields are refused, never rolled over into another time.
  for (
    const bad of [
      "",
      "yesterday",
      "2025-13-04T10:22:15Z",
      "-5",
      "2025-02-30T10:22:15Z",
      "2025-02-29T10:22:15Z",
      "2025-04-31T00:00:00Z",
      "2025-03-04T24:00:00Z",
      "2025-03-04T10:60:15Z",
      "2025-03-04T10:22:60Z",
      "2025-00-04T10:22:15Z",
      "2025-03-00T10:22:15Z",
      "0050-03-04T10:22:15Z",
      "2025-03-04T10:22:15+24:00",
      "2025-03-04T10:22:15+01:60",
    ]
  ) {
    assert.throws(
      () => parseTimestampUs(bad),
      (e) => e instanceof RecordInputError && e.kind === "bad_timestamp",
      bad,
    );
  }
  assert.equal(
    formatTimestampUs(1741083735031244),
    "2025-03-04T10:22:15.031244Z",
  );
  assert.equal(
    formatTimestampUs(1741083735000001),
    "2025-03-04T10:22:15.000001Z",
  );
});

Deno.test("toSilver() gives one row per trade whichever source delivered it", () => {
  const [ws] =
    bronzeFromWsText(FRAME, { receivedUs: 1, connectionId: "" }).rows;
  const [rest] = bronzeFromRestTrades("BTC/USD", {
    pair: "XXBTZUSD",
    rows: [[
      "97012.40000",
      "0.01250000",
      1741083735.031244,
      "b",
      "m",
      "",
      81234567,
    ]],
  }, 2).rows;
  const a = toSilver(ws!);
  const b = toSilver(rest!);
  assert.equal(a.tradeId, "kraken:BTC/USD:81234567");
  assert.equal(a.tradeId, silverTradeId("BTC/USD", 81234567));
  for (
    const key of [
      "exchange",
      "symbol",
      "tradeId",
      "side",
      "price",
      "qty",
      "tsUs",
    ] as const
  ) {
    assert.equal(a[key], b[key], key);
  }
  assert.equal(a.price, "97012.4");
  assert.equal(a.side, "BUY");
  assert.equal(a.original.price, "97012.40");
  assert.equal(b.original.price, "97012.40000");
});

Deno.test("toSilver() refuses non-positive or non-decimal prices, unknown sides and bad ids", () => {
  const [row] =
    bronzeFromWsText(FRAME, { receivedUs: 1, connectionId: "" }).rows;
  const cases: [Partial<typeof row>, string][] = [
    [{ price: "0" }, "bad_decimal"],
    [{ qty: "-1" }, "bad_decimal"],
    [{ price: "1e5" }, "bad_decimal"],
    [{ side: "up" }, "bad_side"],
    [{ tradeId: 1.5 }, "bad_trade_id"],
    [{ timestamp: "soon" }, "bad_timestamp"],
    [{ symbol: "BTCUSD" }, "bad_symbol"],
  ];
  for (const [patch, kind] of cases) {
    assert.throws(
      () => toSilver({ ...row!, ...patch }),
      (e) => e instanceof RecordInputError && e.kind === kind,
      kind,
    );
  }
});

Deno.test("GapTracker names the skipped ids and ignores old or repeated ones", () => {
  const tracker = new GapTracker([{
    symbol: "ETH/USD",
    lastId: 5,
    lastUs: 50,
  }]);
  assert.equal(tracker.observe("BTC/USD", 10, 100), undefined);
  assert.equal(tracker.observe("BTC/USD", 11, 110), undefined);
  assert.equal(tracker.observe("BTC/USD", 11, 110), undefined);
  assert.equal(tracker.observe("BTC/USD", 3, 10), undefined);
  assert.deepEqual(tracker.observe("BTC/USD", 15, 150), {
    symbol: "BTC/USD",
    fromId: 12,
    toId: 14,
    afterUs: 110,
  });
  assert.deepEqual(tracker.observe("ETH/USD", 7, 70), {
    symbol: "ETH/USD",
    fromId: 6,
    toId: 6,
    afterUs: 50,
  });
  assert.deepEqual(tracker.get("BTC/USD"), {
    symbol: "BTC/USD",
    lastId: 15,
    lastUs: 150,
  });
});

Deno.test("backfillStep() keeps only the gap's ids and stops when covered or exhausted", () => {
  const gap = { symbol: "BTC/USD", fromId: 11, toId: 14, afterUs: 1_000 };
  assert.equal(backfillCursor(gap), "999999");
  const first = backfillStep(gap, {
    rows: [{ tradeId: 10 }, { tradeId: 11 }, { tradeId: 12 }],
    last: "2000",
  }, "999999");
  assert.deepEqual(first.keep.map((r) => r.tradeId), [11, 12]);
  assert.equal(first.state, "more");
  const second = backfillStep(gap, {
    rows: [{ tradeId: 13 }, { tradeId: 14 }, { tradeId: 15 }],
    last: "3000",
  }, "2000");
  assert.equal(second.state, "done");
  assert.equal(
    backfillStep(gap, { rows: [], last: "3000" }, "3000").state,
    "exhausted",
  );
});

Deno.test("dedupeTrades() and missingIds() state the store's invariants", () => {
  assert.deepEqual(
    dedupeTrades([{ tradeId: "a", n: 1 }, { tradeId: "a", n: 2 }, {
      tradeId: "b",
      n: 3,
    }])
      .map((r) => r.n),
    [1, 3],
  );
  assert.deepEqual(missingIds([5, 1, 2, 2, 7]), [[3, 4], [6, 6]]);
  assert.deepEqual(missingIds([]), []);
});

function silver(
  id: number,
  price: string,
  qty: string,
  tsUs: number,
): SilverTrade {
  return {
    exchange: "kraken",
    symbol: "BTC/USD",
    tradeId: silverTradeId("BTC/USD", id),
    exchangeTradeId: id,
    side: "BUY",
    price,
    qty,
    tsUs,
    receivedUs: tsUs,
    source: "ws",
    original: {},
  };
}

Deno.test("goldFromTrades() follows trade ids for open and close and rounds vwap half up", () => {
  const candles = goldFromTrades([
    silver(3, "101", "1", 119_000_000),
    silver(1, "100", "1", 60_000_000),
    silver(2, "103", "2", 60_000_001),
  ], { timeframe: "1m", priceDecimals: () => 1 });
  assert.equal(candles.length, 1);
  const c = candles[0]!;
  assert.deepEqual(
    [c.open, c.high, c.low, c.close, c.volume, c.count, c.bucketStartUs],
    ["100", "103", "100", "101", "4", 3, 60_000_000],
  );
  assert.equal(c.notional, "407");
  assert.equal(c.vwap, "101.8"); // 101.75 rounds half up
  assert.equal(vwapText("1", "3", 2), "0.33");
  assert.equal(vwapText("2", "3", 2), "0.67");
  assert.equal(bucketStartUs(119_999_999, "1m"), 60_000_000);
  assert.equal(spanUs("1d"), 86_400_000_000);
  assert.equal(isBucketClosed(60_000_000, "1m", 119_999_999), false);
  assert.equal(isBucketClosed(60_000_000, "1m", 120_000_000), true);
  assert.throws(
    () => rollupGold(candles, { timeframe: "1m", priceDecimals: () => 1 }),
    RangeError,
  );
});

Deno.test("TradeRecorder ties rows to the socket's connection id and reports gaps in id order", () => {
  const r = new TradeRecorder();
  r.onFrame(
    '{"channel":"status","type":"update","data":[{"system":"online","api_version":"v2","connection_id":18446744073709551615,"version":"2"}]}',
    1,
    0,
  );
  const frame = (ids: number[]) =>
    `{"channel":"trade","type":"update","data":[${
      ids.map((id) =>
        `{"symbol":"BTC/USD","side":"buy","price":1.0,"qty":1.0,"ord_type":"limit","trade_id":${id},"timestamp":"2025-01-01T00:00:00.${
          String(id).padStart(6, "0")
        }Z"}`
      ).join(",")
    }]}`;
  const a = r.onFrame(frame([2, 1]), 1, 10);
  assert.equal(a.bronze[0]!.connectionId, "18446744073709551615");
  assert.deepEqual(a.gaps, []);
  const b = r.onFrame(frame([5]), 2, 20);
  assert.equal(b.bronze[0]!.connectionId, "");
  assert.deepEqual(b.gaps, [{
    symbol: "BTC/USD",
    fromId: 3,
    toId: 4,
    afterUs: 1735689600000002,
  }]);
  const bad = r.onFrame(
    frame([6]).replace('"price":1.0', '"price":0.0'),
    2,
    30,
  );
  assert.equal(bad.bronze.length, 1);
  assert.equal(bad.silver.length, 0);
  assert.equal(bad.rejected[0]!.error.kind, "bad_decimal");
  assert.equal(r.counts.rejectedRows, 1);
  assert.equal(r.counts.gaps, 1);
});

Deno.test("tapWebSocket() shows every text frame to the tap before the client, numbered per socket", () => {
  const made: FakeSocket[] = [];
  class FakeSocket implements WebSocketLike {
    readyState = 1;
    onopen = null;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onclose = null;
    onerror = null;
    sent: string[] = [];
    constructor(readonly url: string) {
      made.push(this);
    }
    send(data: string): void {
      this.sent.push(data);
    }
    close(): void {
      this.readyState = 3;
    }
  }
  const seen: string[] = [];
  const Tapped = tapWebSocket(
    FakeSocket,
    (text, n) => seen.push(`tap${n}:${text}`),
  );
  const a = new Tapped("ws://x");
  a.onmessage = (e) => seen.push(`client:${String(e.data)}`);
  new Tapped("ws://x");
  made[0]!.onmessage!({ data: "hello" });
  made[1]!.onmessage!({ data: "again" });
  made[0]!.onmessage!({ data: new Uint8Array(1) });
  a.send("ping");
  a.close();
  assert.deepEqual(seen, [
    "tap1:hello",
    "client:hello",
    "tap2:again",
    "client:0",
  ]);
  assert.deepEqual(made[0]!.sent, ["ping"]);
  assert.equal(a.readyState, 3);
});

Deno.test("TradeRecorder remembers connection ids of its newest sockets only", () => {
  const r = new TradeRecorder();
  const status = (id: number) =>
    `{"channel":"status","type":"update","data":[{"system":"online","api_version":"v2","connection_id":${id},"version":"2"}]}`;
  // A long run: a thousand reconnects, each a new socket number.
  for (let socket = 1; socket <= 1_000; socket++) {
    r.onFrame(status(1_000_000 + socket), socket, socket);
  }
  assert.equal(r.connectionId(1_000), "1001000");
  assert.equal(r.connectionId(985), "1000985", "the newest 16 are kept");
  assert.equal(r.connectionId(984), "", "older ones are dropped");
  // A socket that announces again counts as new.
  r.onFrame(status(7), 985, 0);
  for (let socket = 1_001; socket <= 1_015; socket++) {
    r.onFrame(status(socket), socket, socket);
  }
  assert.equal(r.connectionId(985), "7");
  assert.equal(r.connectionId(986), "");
});

Deno.test("storedBookEntries() reads a stored book frame with its exact digits and refuses anything else", () => {
  const entries = storedBookEntries(
    '{"channel":"book","type":"update","data":[' +
      '{"symbol":"BTC/USD","bids":[{"price":97000.10,"qty":0.50000000}],' +
      '"asks":[],"checksum":7,"timestamp":"2025-03-04T10:21:00.881043Z"},' +
      '{"symbol":"ETH/USD","bids":[],"asks":[{"price":3e3,"qty":0}],' +
      '"checksum":8,"timestamp":"2025-03-04T10:21:00.881043Z"}]}',
  );
  assert.deepEqual(entries.map((e) => e.symbol), ["BTC/USD", "ETH/USD"]);
  assert.deepEqual(entries[0]!.bids, [{
    price: "97000.10",
    qty: "0.50000000",
  }]);
  assert.equal(entries[1]!.asks[0]!.price, "3000");
  assert.equal(entries[1]!.checksum, 8);
  assert.throws(
    () => storedBookEntries('{"channel":"trade","data":[]}'),
    /Not a book frame \(channel "trade"\)/,
  );
  assert.throws(
    () => storedBookEntries('{"channel":"book","type":"update","data":[{'),
    /Not a well-formed book frame/,
  );
});
