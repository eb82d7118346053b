/**
 * The scale-out log on a three-node JetStream cluster (R3 stream): the
 * stream leader is killed with SIGKILL while a batch is in flight, and the
 * recorder's TradeLog — connected to that very node only, so it must also
 * fail over to a node it learned from the cluster — keeps publishing. Every
 * acknowledged trade must be in the stream once, under its message id, after
 * a new leader is elected.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import {
  type RecordBatch,
  TradeRecorder,
} from "../../../core/record/recorder.ts";
import { TradeLog } from "../../../server/record/log.ts";
import { NatsCluster } from "./_nats_cluster.ts";
import { generateTrades, tradeFrameText } from "./_trades.ts";

const STREAM = "CLUSTER";

/** A read through the cluster right after a failover: retried for up to 10 s. */
async function retrying<T>(read: () => Promise<T>): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await read();
    } catch (error) {
      if (i >= 50) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

Deno.test({
  name:
    "TradeLog on a 3-node JetStream cluster: kill -9 of the stream leader mid-publish loses no acknowledged trade and stores none twice",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using cluster = await NatsCluster.start(3);
    // Create the R3 stream, then learn its leader.
    await (await TradeLog.connect(cluster.url, {
      stream: STREAM,
      replicas: 3,
    })).close();
    const observer = await connect({
      servers: cluster.url.split(","),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    try {
      const jsm = await jetstreamManager(observer);
      // Both followers current before anything happens: the kill tests a
      // failover, not a replica still joining.
      let before = await jsm.streams.info(STREAM);
      for (
        let i = 0;
        i < 50 && !(before.cluster?.replicas?.length === 2 &&
          before.cluster.replicas.every((r) => r.current));
        i++
      ) {
        await new Promise((r) => setTimeout(r, 200));
        before = await jsm.streams.info(STREAM);
      }
      assert.equal(before.config.num_replicas, 3);
      assert.equal(before.cluster?.replicas?.length, 2);
      const leader = before.cluster?.leader;
      assert.ok(leader !== undefined, "the stream has a leader");

      // The log talks to the leader's node only: its loss is the client's
      // loss too.
      await using log = await TradeLog.connect(cluster.urlOf(leader), {
        stream: STREAM,
        ackTimeoutMs: 1_000,
        retryMs: 30_000,
      });
      const trades = generateTrades(11, 600); // 2,400 trades, 4 symbols
      const recorder = new TradeRecorder();
      const batches: RecordBatch[] = [];
      for (let i = 0; i < trades.length; i += 40) {
        batches.push(
          recorder.onFrame(tradeFrameText(trades.slice(i, i + 40)), 1, i),
        );
      }
      const killAt = Math.floor(batches.length / 3);
      const acked = new Set<string>();
      let stored = 0;
      let duplicates = 0;
      for (let b = 0; b < batches.length; b++) {
        const publishing = log.publish(batches[b]!);
        if (b === killAt) await cluster.kill(leader);
        const result = await publishing;
        stored += result.stored;
        duplicates += result.duplicates;
        for (const s of batches[b]!.silver) acked.add(s.tradeId);
      }
      assert.equal(acked.size, trades.length);
      // A message the dead leader stored but never acknowledged comes back
      // as a duplicate ack, never as a second copy.
      assert.equal(stored + duplicates, trades.length);
      // The failover was real: some publish found no leader (or no
      // connection) and was retried under its message id.
      assert.ok(log.retries > 0, "no publish needed a retry");

      const after = await retrying(() => jsm.streams.info(STREAM));
      assert.ok(after.cluster?.leader !== undefined, "a new leader");
      assert.notEqual(after.cluster?.leader, leader);
      assert.equal(after.state.messages, trades.length);
      assert.equal(await log.count(), trades.length);

      // Read the whole stream back from the new leader, by sequence (an
      // ephemeral consumer may be placed on the dead node while the meta
      // group still counts it): each acknowledged id exactly once.
      const ids: string[] = [];
      for (
        let seq = after.state.first_seq;
        seq <= after.state.last_seq;
        seq++
      ) {
        const m = await retrying(() => jsm.streams.getMessage(STREAM, { seq }));
        assert.ok(m !== null, `message ${seq} is missing`);
        const id = m.header.get("Nats-Msg-Id");
        assert.equal(id, (m.json() as { id: string }).id);
        ids.push(id);
      }
      assert.equal(new Set(ids).size, ids.length, "no id twice");
      assert.deepEqual(new Set(ids), acked);
      assert.deepEqual(cluster.alive.length, 2);
    } catch (error) {
      // The servers' side of a failure (elections, routes) is in their logs.
      throw new Error(`${String(error)}\n${await cluster.logTail()}`, {
        cause: error,
      });
    } finally {
      await observer.close();
    }
  },
});
