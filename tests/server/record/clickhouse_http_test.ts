/**
 * The HTTP sink (`@clickhouse/client`, what `--to clickhouse://…` uses)
 * against ClickHouse's HTTP protocol on loopback, answered by chDB: the
 * loader end to end over HTTP, tokens sent as insert settings and honoured,
 * credentials in the Authorization header only. There is no clickhouse-server
 * on these machines; the front in _clickhouse_http.ts carries the protocol,
 * the SQL runs on ClickHouse 26 (chDB).
 */
import assert from "node:assert/strict";
import {
  ClickHouseError,
  openSink,
} from "../../../server/record/clickhouse.ts";
import { validateClickhouse } from "../../../server/record/clickhouse_validate.ts";
import { runLoader } from "../../../server/record/load.ts";
import { TradeLog } from "../../../server/record/log.ts";
import {
  CHDB_PLATFORM,
  genSymbolInfo,
  recordedBatches,
  tempChdb,
} from "./_clickhouse.ts";
import { ClickHouseHttpFront } from "./_clickhouse_http.ts";
import { NatsServer } from "./_nats.ts";
import { generateTrades } from "./_trades.ts";

Deno.test({
  name:
    "HTTP sink: the loader over ClickHouse's HTTP protocol passes validation; a replayed token counts once; the password stays in the header",
  // chDB ships for linux-x64 only (the lock installs it there).
  ignore: !CHDB_PLATFORM,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using chdb = await tempChdb("kh");
    const auth = { username: "loader", password: "pw-s3cret" };
    await using front = new ClickHouseHttpFront(chdb, auth);
    const port = new URL(front.url).port;
    await using sink = await openSink(
      `clickhouse://${auth.username}:${auth.password}@127.0.0.1:${port}/kh`,
    );
    assert.equal(sink.kind, "http");

    await using nats = await NatsServer.start();
    await using log = await TradeLog.connect(nats.url, { stream: "KH" });
    const trades = generateTrades(8, 150);
    const now = Date.now() * 1000;
    for (const b of recordedBatches(trades, () => now)) await log.publish(b);

    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 60_000);
    const final = await runLoader({
      natsUrl: nats.url,
      sink,
      stream: "KH",
      batchSize: 200,
      maxWaitMs: 50,
      symbolInfo: genSymbolInfo,
      signal: stop.signal,
      onStatus: (s) => {
        if (s.messages >= trades.length) stop.abort();
      },
    });
    clearTimeout(timer);
    assert.equal(final.inserted, trades.length);

    const inserts = front.requests.filter((r) =>
      r.sql.startsWith("INSERT INTO kh.bronze_trades_kraken")
    );
    assert.equal(inserts.length, final.batches);
    for (const r of inserts) {
      assert.match(r.settings.insert_deduplication_token!, /^KH@.+:\d+-\d+/);
    }
    for (const r of front.requests) {
      assert.ok(!r.sql.includes(auth.password));
    }

    // Replay the first batch's request through HTTP: same token, dropped.
    const [before] = await sink.query(
      `SELECT (SELECT count() FROM kh.silver_trades) AS s,
         (SELECT countMerge(trade_count) FROM kh.ohlcv_1h_state) AS g`,
    );
    const rows = await sink.query(
      `SELECT symbol, side, price, qty, ord_type, trade_id, timestamp,
         toUnixTimestamp64Micro(received_at) AS received_at, connection_id,
         source, raw, stream_seq
       FROM kh.bronze_trades_kraken ORDER BY stream_seq LIMIT 200`,
    );
    await sink.insert(
      "kh.bronze_trades_kraken",
      rows,
      inserts[0]!.settings.insert_deduplication_token!,
    );
    const [after] = await sink.query(
      `SELECT (SELECT count() FROM kh.silver_trades) AS s,
         (SELECT countMerge(trade_count) FROM kh.ohlcv_1h_state) AS g`,
    );
    assert.deepEqual(after, before);
    assert.equal(Number(after!.s), trades.length);

    const checks = await validateClickhouse(sink, {
      now: () => Date.now(),
      maxLatencyMs: 600_000,
    });
    for (const c of checks) {
      if (c.name === "gold_matches_rest_ohlc") continue; // no REST here
      assert.ok(c.ok, `${c.summary} ${c.examples.join("; ")}`);
    }

    // A wrong password: a typed error that does not echo it.
    await using wrong = await openSink(
      `clickhouse://loader:nope-s3cret@127.0.0.1:${port}/kh`,
    );
    await assert.rejects(() => wrong.query("SELECT 1"), (e: unknown) => {
      assert.ok(e instanceof ClickHouseError);
      assert.ok(!e.message.includes("s3cret"), e.message);
      return true;
    });
  },
});
