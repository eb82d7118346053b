import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { validateClickhouse } from "../../../server/record/clickhouse_validate.ts";
import { TradeLog } from "../../../server/record/log.ts";
import {
  CHDB_PLATFORM,
  crashBeforeAck,
  genSymbolInfo,
  loadUntil,
  recordedBatches,
  tempChdb,
} from "./_clickhouse.ts";
import { NatsServer } from "./_nats.ts";
import { generateTrades } from "./_trades.ts";

Deno.test({
  name:
    "krakked load: JetStream → loader → ClickHouse (chDB) passes validation; a crash between insert and ack replays the batch without double counting; a poison message is rejected",
  // chDB ships for linux-x64 only (the lock installs it there).
  ignore: !CHDB_PLATFORM,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using nats = await NatsServer.start();
    await using sink = await tempChdb("kl");
    await using log = await TradeLog.connect(nats.url, { stream: "KL" });
    const trades = generateTrades(5, 250);
    const now = Date.now() * 1000;
    for (const b of recordedBatches(trades, () => now)) await log.publish(b);
    // A message silver cannot read (side "x"): acknowledged, counted, never
    // inserted, and it does not block what follows.
    const nc = await connect({ servers: nats.url.slice("nats://".length) });
    await jetstream(nc).publish(
      "bronze.kraken.BTC_USD",
      JSON.stringify({
        symbol: "BTC/USD",
        side: "x",
        price: "1",
        qty: "1",
        "ord_type": "limit",
        "trade_id": 1,
        timestamp: "2026-01-01T00:00:00Z",
        "received_us": now,
        source: "ws",
      }),
    );
    await nc.close();
    assert.equal(await log.count(), trades.length + 1);

    const base = {
      natsUrl: nats.url,
      sink,
      stream: "KL",
      durable: "kl_load",
      batchSize: 150,
      maxWaitMs: 50,
      ackWaitMs: 1_000,
      symbolInfo: genSymbolInfo,
    };
    // First run: crash after the third batch's insert, before its ack.
    const crashed = await crashBeforeAck(base, 3);
    assert.ok(crashed.inserted > 0);

    // Restart: the unacknowledged batch comes back after ack_wait.
    const second = await loadUntil(
      base,
      (s) =>
        s.messages >= trades.length + 1 - 2 * 150 &&
        s.present >= crashed.inserted,
    );
    assert.ok(second.redelivered >= crashed.messages, JSON.stringify(second));
    assert.equal(second.rejected, 1);

    const [c] = await sink.query(
      `SELECT (SELECT count() FROM kl.bronze_trades_kraken) AS bronze,
         (SELECT count() FROM kl.silver_trades) AS silver,
         (SELECT countMerge(trade_count) FROM kl.ohlcv_1m_state) AS gold`,
    );
    assert.deepEqual(
      [Number(c!.bronze), Number(c!.silver), Number(c!.gold)],
      [trades.length, trades.length, trades.length],
    );
    // Latency here includes the crash and ack_wait; the bench measures it.
    const checks = await validateClickhouse(sink, {
      now: () => Date.now(),
      maxLatencyMs: 600_000,
    });
    // No REST here: the simulator comparison is in clickhouse_cli_test.ts.
    for (const check of checks) {
      if (check.name === "gold_matches_rest_ohlc") continue;
      assert.ok(check.ok, `${check.summary} ${check.examples.join("; ")}`);
    }

    // The loader registered the pairs' precisions for gold's vwap.
    const info = await sink.query(
      `SELECT count() AS n FROM kl.record_symbols FINAL`,
    );
    assert.equal(Number(info[0]!.n), 4);
  },
});
