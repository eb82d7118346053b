import assert from "node:assert/strict";
import type { BronzeTrade } from "../../../core/record/bronze.ts";
import {
  parseSinkUrl,
  SinkUrlError,
} from "../../../server/record/clickhouse.ts";
import {
  clickhouseSchemaSql,
  sqlString,
} from "../../../server/record/clickhouse_schema.ts";
import { validateClickhouse } from "../../../server/record/clickhouse_validate.ts";
import {
  applyClickhouseSchema,
  batchToken,
  type BronzeRow,
  bronzeRowOf,
} from "../../../server/record/load.ts";
import {
  CHDB_PLATFORM,
  genSymbolInfo,
  recordedBatches,
  tempChdb,
} from "./_clickhouse.ts";
import { generateTrades } from "./_trades.ts";

function rowOf(b: BronzeTrade, seq: number): BronzeRow {
  return {
    symbol: b.symbol,
    side: b.side,
    price: b.price,
    qty: b.qty,
    "ord_type": b.ordType,
    "trade_id": b.tradeId,
    timestamp: b.timestamp,
    "received_at": b.receivedUs,
    "connection_id": b.connectionId,
    source: b.source,
    raw: b.raw,
    "stream_seq": seq,
  };
}

async function counts(
  sink: Awaited<ReturnType<typeof tempChdb>>,
): Promise<Record<string, number>> {
  const db = sink.database;
  const [r] = await sink.query(
    `SELECT (SELECT count() FROM ${db}.bronze_trades_kraken) AS bronze,
       (SELECT count() FROM ${db}.silver_trades) AS silver,
       (SELECT countMerge(trade_count) FROM ${db}.ohlcv_1m_state) AS gold_1m,
       (SELECT countMerge(trade_count) FROM ${db}.ohlcv_1d_state) AS gold_1d,
       (SELECT toString(sumMerge(volume)) FROM ${db}.ohlcv_1h_state) AS volume_1h`,
  );
  return Object.fromEntries(
    Object.entries(r ?? {}).map(([k, v]) => [k, Number(v)]),
  );
}

Deno.test({
  name:
    "ClickHouse DDL on chDB: views make silver and gold from bronze, equal to core's toSilver and a recomputation; a batch replayed with its token counts once",
  // chDB ships for linux-x64 only (the lock installs it there).
  ignore: !CHDB_PLATFORM,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using sink = await tempChdb("kt");
    // Idempotent: a loader restart applies it again.
    await applyClickhouseSchema(sink);
    for (const s of ["BTC/USD", "ETH/USD", "DOGE/USD", "XBT/EUR"]) {
      const info = genSymbolInfo(s)!;
      await sink.exec(
        `INSERT INTO kt.record_symbols VALUES ('kraken', ${
          sqlString(info.symbol)
        }, ${sqlString(s)}, ${
          sqlString(info.restPair)
        }, ${info.priceDecimals}, 8)`,
      );
    }
    const trades = generateTrades(11, 300);
    const batches = recordedBatches(trades, (i) => 1_767_225_600_000_000 + i);
    const rows = batches.flatMap((b) => b.bronze).map((b, i) =>
      rowOf(b, i + 1)
    );
    assert.ok(rows.some((r) => r.source === "rest_backfill"));
    // Three blocks, each with its token, as the loader inserts them.
    const blocks = [rows.slice(0, 400), rows.slice(400, 800), rows.slice(800)];
    const tokens = blocks.map((b) =>
      batchToken("T@x", b.map((r) => r.stream_seq))
    );
    for (let i = 0; i < blocks.length; i++) {
      await sink.insert("kt.bronze_trades_kraken", blocks[i]!, tokens[i]!);
    }
    const before = await counts(sink);
    assert.equal(before.bronze, trades.length);
    assert.equal(before.silver, trades.length);
    assert.equal(before.gold_1m, trades.length);
    assert.equal(before.gold_1d, trades.length);

    // Replays: the same blocks with the same tokens (a redelivery after a
    // crash before the ack) change nothing, physically, in any layer.
    for (let i = blocks.length - 1; i >= 0; i--) {
      await sink.insert("kt.bronze_trades_kraken", blocks[i]!, tokens[i]!);
    }
    assert.deepEqual(await counts(sink), before);

    const checks = await validateClickhouse(sink, {
      now: () => Date.now(),
      maxLatencyMs: 1_000_000_000_000,
    });
    // No REST here: the simulator comparison is in clickhouse_cli_test.ts.
    for (const c of checks.filter((c) => c.name !== "gold_matches_rest_ohlc")) {
      assert.ok(c.ok, `${c.summary} ${c.examples}`);
    }
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    assert.equal(byName.silver_normalized!.counts.compared, trades.length);
    assert.ok(byName.gold_recomputed!.counts.compared! > 5 * 4);
    assert.equal(byName.no_duplicates!.counts.silverDuplicates, 0);

    // The same rows under a new token are a real second insert: ClickHouse
    // alone would count them twice, which is why the loader also skips rows
    // already present by key — and validation sees it.
    await sink.insert("kt.bronze_trades_kraken", blocks[0]!, "other");
    const dup = await validateClickhouse(sink, { now: () => Date.now() });
    const d = dup.find((c) => c.name === "no_duplicates")!;
    assert.equal(d.ok, false);
    assert.equal(d.counts.silverDuplicates, blocks[0]!.length);
  },
});

Deno.test("parseSinkUrl reads ClickHouse and chDB URLs; bad ones get a typed error without the password", () => {
  assert.deepEqual(parseSinkUrl("clickhouse://u:s3cret@ch.example:9000/md"), {
    kind: "http",
    url: "http://ch.example:9000",
    username: "u",
    password: "s3cret",
    database: "md",
  });
  const tls = parseSinkUrl("clickhouses://ch.example");
  assert.equal(tls.kind === "http" && tls.url, "https://ch.example:8443");
  assert.equal(tls.database, "krakked");
  assert.deepEqual(parseSinkUrl("chdb:///var/lib/ch?database=x1"), {
    kind: "chdb",
    path: "/var/lib/ch",
    database: "x1",
  });
  for (
    const [bad, problem] of [
      ["nats://u:s3cret@h:4222", "bad_scheme"],
      ["clickhouse://u:s3cret@h:1/drop;table", "bad_database"],
      ["chdb://relative/dir", "bad_url"],
      ["not a url s3cret", "bad_url"],
    ] as const
  ) {
    assert.throws(() => parseSinkUrl(bad), (e: unknown) => {
      assert.ok(e instanceof SinkUrlError);
      assert.equal(e.problem, problem);
      assert.ok(!e.message.includes("s3cret"), e.message);
      return true;
    });
  }
});

Deno.test("bronzeRowOf keeps the message as sent and rejects what silver cannot read; tokens name the sequences", () => {
  const msg = {
    id: "kraken:BTC/USD:5",
    symbol: "XBT/USD",
    side: "b",
    price: "97000.10000",
    qty: "0.5",
    "ord_type": "l",
    "trade_id": 5,
    timestamp: "1767225600.5",
    "received_us": 9,
    "connection_id": "",
    source: "rest_backfill",
    raw: "{}",
  };
  const ok = bronzeRowOf(JSON.stringify(msg), 42);
  assert.ok("row" in ok);
  assert.equal(ok.row.price, "97000.10000");
  assert.equal(ok.row.stream_seq, 42);
  for (
    const bad of [
      "{",
      JSON.stringify({ ...msg, side: "x" }),
      JSON.stringify({ ...msg, price: "-1" }),
      JSON.stringify({ ...msg, "trade_id": "5" }),
      JSON.stringify({ ...msg, source: "ftp" }),
      JSON.stringify({ ...msg, timestamp: "yesterday" }),
    ]
  ) assert.ok("reason" in bronzeRowOf(bad, 1), bad);
  assert.equal(batchToken("S@t", [3, 4, 5]), "S@t:3-5");
  const gap = batchToken("S@t", [3, 5]);
  assert.ok(gap.startsWith("S@t:3-5:2:"));
  assert.notEqual(gap, batchToken("S@t", [3, 4]));
  // Every statement names its database; none is a cluster statement.
  for (const sql of clickhouseSchemaSql("zz")) {
    assert.ok(sql.includes("zz"), sql.slice(0, 60));
    assert.ok(!/ON CLUSTER|Replicated/.test(sql));
  }
  assert.throws(() => clickhouseSchemaSql("a-b"), TypeError);
});
