/**
 * Recorder ingest report (a script, not `deno bench`): replays generated
 * Kraken WS v2 trade frames through the core (bronze → silver) and the
 * DuckDB store, and prints trades/s for each stage, the store size per
 * million trades and the receive-to-silver latency of small live batches.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi \
 *     tests/server/record/record_ingest_bench.ts [trades=1000000] [batch=50000] [defer|bulk]
 *
 * `bulk` replays through `RecordStore.writeFrames` (SQL normalization;
 * frames it leaves go through the core path) with gold built once at the
 * end, as `defer` does.
 */
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import type { RecordBatch } from "../../../core/record/recorder.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { generateTrades, tradeFrameText } from "./_trades.ts";

const total = Number(Deno.args[0] ?? 1_000_000);
const batchSize = Number(Deno.args[1] ?? 50_000);
// "defer": a bulk load builds gold once at the end instead of per batch.
const bulk = Deno.args[2] === "bulk";
const deferGold = Deno.args[2] === "defer" || bulk;
const trades = generateTrades(5, Math.ceil(total / 4));
const frames: { text: string; at: number }[] = [];
for (let i = 0; i < trades.length; i += 10) {
  frames.push({
    text: tradeFrameText(trades.slice(i, i + 10)),
    at: trades[i]!.tsUs,
  });
}
const dir = await Deno.makeTempDir({ prefix: "krakked_record_bench_" });
try {
  const path = join(dir, "market.duckdb");
  const store = await RecordStore.open(path);
  const recorder = new TradeRecorder();
  // CPU time as well as wall time: on a shared machine wall time measures
  // the neighbours; CPU seconds (this process, DuckDB's threads included)
  // measure the work.
  const cpu0 = cpuUsage();
  let tCore = 0;
  let tStore = 0;
  let pending: RecordBatch = { bronze: [], silver: [], gaps: [], rejected: [] };
  let frameBatch: { text: string; receivedUs: number }[] = [];
  const bulkWrite = async (at: number) => {
    const s = performance.now();
    const result = await store.writeFrames(frameBatch, at, { gold: false });
    for (const i of result.fallback) {
      const b = recorder.onFrame(
        frameBatch[i]!.text,
        1,
        frameBatch[i]!.receivedUs,
      );
      await store.write(b, at, { gold: false });
    }
    tStore += performance.now() - s;
    frameBatch = [];
  };
  for (const f of frames) {
    if (bulk) {
      frameBatch.push({ text: f.text, receivedUs: f.at });
      if (frameBatch.length * 10 >= batchSize) await bulkWrite(f.at);
      continue;
    }
    const a = performance.now();
    const b = recorder.onFrame(f.text, 1, f.at);
    pending.bronze.push(...b.bronze);
    pending.silver.push(...b.silver);
    tCore += performance.now() - a;
    if (pending.silver.length >= batchSize) {
      const s = performance.now();
      await store.write(pending, f.at, { gold: !deferGold });
      tStore += performance.now() - s;
      pending = { bronze: [], silver: [], gaps: [], rejected: [] };
    }
  }
  if (bulk) await bulkWrite(trades.at(-1)!.tsUs);
  const s = performance.now();
  await store.write(pending, trades.at(-1)!.tsUs + 86_400e6);
  // With gold deferred, this last write builds every bucket's gold.
  const tLastWrite = performance.now() - s;
  tStore += tLastWrite;
  const gStart = performance.now();
  const goldRows = await store.flushGold(trades.at(-1)!.tsUs + 86_400e6);
  const tGold = performance.now() - gStart;
  await store.checkpoint();
  const cpu = cpuUsage(cpu0);
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  const n = trades.length;
  // Live-like: 20 trades per write, latency = commit time - receive time.
  const live = generateTrades(9, 500, Date.UTC(2026, 1, 1) * 1000);
  const latencies: number[] = [];
  for (let i = 0; i < live.length; i += 20) {
    const received = performance.now();
    const b = recorder.onFrame(
      tradeFrameText(live.slice(i, i + 20)),
      1,
      live[i]!.tsUs,
    );
    await store.write(b, live[i]!.tsUs);
    latencies.push(performance.now() - received);
  }
  latencies.sort((a, b) => a - b);
  store.close();
  let bytes = 0;
  for (const e of Deno.readDirSync(dir)) {
    bytes += Deno.statSync(join(dir, e.name)).size;
  }
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!
      .toFixed(1);
  // deno-lint-ignore no-console -- a report script prints its figures
  console.log(JSON.stringify(
    {
      trades: n,
      batch: batchSize,
      goldPerBatch: !deferGold,
      path: bulk ? "bulk (SQL)" : "core + write",
      goldRows,
      finalGoldMs: Math.round(tGold),
      lastWriteMs: Math.round(tLastWrite),
      coreTradesPerSec: Math.round(n / (tCore / 1000)),
      storeTradesPerSec: Math.round(n / (tStore / 1000)),
      endToEndTradesPerSec: Math.round(n / ((tCore + tStore) / 1000)),
      endToEndTradesPerCpuSec: Math.round(n / cpuSec),
      wallSec: +((tCore + tStore) / 1000).toFixed(1),
      cpuSec: +cpuSec.toFixed(1),
      storeMBPerMillionTrades: +(bytes / 1e6 / (n / 1e6)).toFixed(1),
      liveWriteOf20LatencyMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
    },
    null,
    2,
  ));
} finally {
  await Deno.remove(dir, { recursive: true });
}
