import assert from "node:assert/strict";
import {
  type RecordBatch,
  TradeRecorder,
} from "../../../core/record/recorder.ts";
import { bronzeSubject, TradeLog } from "../../../server/record/log.ts";
import { NatsServer } from "./_nats.ts";
import { generateTrades, tradeFrameText } from "./_trades.ts";

Deno.test({
  name:
    "TradeLog publishes each trade once to JetStream: replays and re-backfills are dropped by message id",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using nats = await NatsServer.start();
    await using log = await TradeLog.connect(nats.url, { stream: "T" });
    const trades = generateTrades(3, 100);
    const recorder = new TradeRecorder();
    const batches: RecordBatch[] = [];
    for (let i = 0; i < trades.length; i += 7) {
      batches.push(
        recorder.onFrame(tradeFrameText(trades.slice(i, i + 7)), 1, i),
      );
    }
    let stored = 0;
    for (const b of batches) stored += (await log.publish(b)).stored;
    assert.equal(stored, trades.length);
    // A replay of everything, as after a crash between publish and commit.
    let duplicates = 0;
    for (const b of batches) duplicates += (await log.publish(b)).duplicates;
    assert.equal(duplicates, trades.length);
    assert.equal(await log.count(), trades.length);
    assert.equal(bronzeSubject("kraken", "BTC/USD"), "bronze.kraken.BTC_USD");
    await assert.rejects(
      () => TradeLog.connect("http://127.0.0.1:1"),
      TypeError,
    );
  },
});
