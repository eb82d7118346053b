/**
 * `record import` report (a script, not `deno bench`): in one process,
 * bulk-ingests generated Kraken WS v2 frames into a store as
 * record_ingest_bench.ts's `bulk` mode does (frames of 10 trades, batches of
 * `batch` trades through `RecordStore.writeFrames`, gold once at the end,
 * CHECKPOINT), exports it (`--format`), then imports the export into a fresh
 * store under DuckDB's `memory_limit` (the CLI's 256MB default) and prints
 * trades/s of both and their ratio. The imported store is checked equal to
 * the ingested one (row counts and sums per table, gold but for built_at).
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi \
 *     tests/server/record/import_bench.ts [trades=1000000] [batch=50000] \
 *     [format=parquet] [limit=256MB] [batchRows=50000]
 */
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import { exportStore } from "../../../server/record/export.ts";
import { importExport } from "../../../server/record/import.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { generateTrades, genSymbolInfos, tradeFrameText } from "./_trades.ts";

const total = Number(Deno.args[0] ?? 1_000_000);
const batchSize = Number(Deno.args[1] ?? 50_000);
const format = (Deno.args[2] ?? "parquet") as "parquet" | "csv";
const limit = Deno.args[3] ?? "256MB";
const batchRows = Number(Deno.args[4] ?? 50_000);

const trades = generateTrades(5, Math.ceil(total / 4));
const frames: { text: string; receivedUs: number }[] = [];
for (let i = 0; i < trades.length; i += 10) {
  frames.push({
    text: tradeFrameText(trades.slice(i, i + 10)),
    receivedUs: trades[i]!.tsUs,
  });
}
const endUs = trades.at(-1)!.tsUs + 86_400e6;
const dir = await Deno.makeTempDir({ prefix: "krakked_import_bench_" });

function cost<T>(fn: () => Promise<T>) {
  return async () => {
    const cpu0 = cpuUsage();
    const t0 = performance.now();
    const value = await fn();
    const wallSec = (performance.now() - t0) / 1000;
    const c = cpuUsage(cpu0);
    return { value, wallSec, cpuSec: (c.user + c.system) / 1e6 };
  };
}

try {
  const a = await RecordStore.open(join(dir, "a.duckdb"));
  await a.registerSymbols(genSymbolInfos());
  const ingest = await cost(async () => {
    const recorder = new TradeRecorder();
    let batch: typeof frames = [];
    const flush = async () => {
      const r = await a.writeFrames(batch, batch.at(-1)!.receivedUs, {
        gold: false,
      });
      for (const i of r.fallback) {
        const b = recorder.onFrame(batch[i]!.text, 1, batch[i]!.receivedUs);
        await a.write(b, batch[i]!.receivedUs, { gold: false });
      }
      batch = [];
    };
    for (const f of frames) {
      batch.push(f);
      if (batch.length * 10 >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    const gold = await a.flushGold(endUs);
    await a.checkpoint();
    return gold;
  })();
  const out = join(dir, "export");
  const exported = await cost(() => exportStore(a, { format, out }))();

  const b = await RecordStore.open(join(dir, "b.duckdb"));
  await b.set("memory_limit", limit);
  const imported = await cost(async () => {
    const r = await importExport(b, out, {
      nowUs: endUs,
      batchRows,
      resolveSymbols: (s) =>
        Promise.resolve(genSymbolInfos().filter((i) => s.includes(i.symbol))),
    });
    await b.checkpoint();
    return r;
  })();

  // Same content (counts and sums; the tests compare row for row).
  const digest = async (s: RecordStore) =>
    JSON.stringify(
      await s.query(
        `SELECT (SELECT count(*) FROM bronze_trades_kraken)::BIGINT AS bronze,
           (SELECT count(*) FROM bronze_frames_kraken)::BIGINT AS frames,
           (SELECT count(*) || ' ' || sum(price) || ' ' || sum(qty) || ' ' || sum(epoch_us(silver_at))
             FROM silver_trades_data) AS silver,
           (SELECT count(*) || ' ' || sum(vwap) || ' ' || sum(volume) FROM ohlcv_1m) AS g1m,
           (SELECT count(*) || ' ' || sum(vwap) || ' ' || sum(volume) FROM ohlcv_1d) AS g1d`,
      ),
      (_, v) => typeof v === "bigint" ? String(v) : v,
    );
  const same = (await digest(a)) === (await digest(b));
  const [mem] = await b.query(
    `SELECT current_setting('memory_limit') AS lim`,
  );
  a.close();
  b.close();
  const n = trades.length;
  const report = {
    trades: n,
    ingest: {
      batch: batchSize,
      wallSec: +ingest.wallSec.toFixed(2),
      cpuSec: +ingest.cpuSec.toFixed(2),
      tradesPerSec: Math.round(n / ingest.wallSec),
    },
    export: {
      format,
      wallSec: +exported.wallSec.toFixed(2),
    },
    import: {
      memoryLimit: String(mem?.lim),
      batchRows,
      batches: imported.value.batches,
      wallSec: +imported.wallSec.toFixed(2),
      cpuSec: +imported.cpuSec.toFixed(2),
      tradesPerSec: Math.round(n / imported.wallSec),
      goldBuilt: imported.value.goldBuilt,
    },
    importOverIngest: {
      wall: +(ingest.wallSec / imported.wallSec).toFixed(2),
      cpu: +(ingest.cpuSec / imported.cpuSec).toFixed(2),
    },
    rssMiB: Math.round(Deno.memoryUsage().rss / 2 ** 20),
    sameContent: same,
  };
  // deno-lint-ignore no-console -- a report script prints its figures
  console.log(JSON.stringify(report, null, 2));
  if (!same) Deno.exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
}
