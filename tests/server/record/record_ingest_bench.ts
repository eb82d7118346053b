/**
 * Recorder ingest report (a script, not `deno bench`): replays generated
 * Kraken WS v2 trade frames through the core (bronze → silver) and the
 * DuckDB store, and prints trades/s for each stage, the store size per
 * million trades and the receive-to-silver latency of small live batches.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-ffi \
 *     tests/server/record/record_ingest_bench.ts [trades=1000000] [batch=50000] [defer|bulk] [rounds=1]
 *
 * `bulk` replays through `RecordStore.writeFrames` (SQL normalization;
 * frames it leaves go through the core path) with gold built once at the
 * end, as `defer` does.
 *
 * In the same process it measures two floors on the same trades, batch for
 * batch, each into a fresh file with the store's settings
 * (`preserve_insertion_order = false`), COMMIT per batch and CHECKPOINT at
 * the end:
 *
 * - **storing floor**: every stored column value computed in JS before the
 *   clock starts (frame ids, canonical symbols, silver ids, decimals split
 *   into whole part and fraction, times in µs) and written to TSV files;
 *   DuckDB's CSV reader loads them into `bronze_frames_kraken`,
 *   `bronze_trades_kraken` and `silver_trades_data` created by schema.ts's
 *   own DDL, one `INSERT … SELECT` each per batch. No parsing, no dedupe,
 *   no gold: what storing the rows alone costs.
 * - **bare floor**: one row per trade with the same per-trade values
 *   (bronze and silver, not the raw frames) into one table without
 *   constraints, `INSERT INTO t SELECT * FROM read_csv(…)`: DuckDB's own
 *   CSV → table speed for these rows.
 * - **storing floor without bronze trades** (`noBronzeFloor`): the storing
 *   floor minus the `bronze_trades_kraken` insert, i.e. what storing would
 *   cost if bronze's rows were a view over the raw frames (not how the
 *   store works today; a measure of that option).
 * - **copy floor** (`copyFloor`): the bare floor's rows already typed in a
 *   DuckDB temp table before the clock starts, copied into the same table
 *   batch by batch: DuckDB's write alone, no text parsed at all — the
 *   fastest any ingest of these rows could be on this machine.
 *
 * `rounds=N` repeats ingest and both floors N times, rotating their order,
 * so the noise of a shared machine shows; the ratios compare CPU seconds
 * (this process, DuckDB's threads included), which move less with the
 * neighbours than wall time. The top-level fields describe the first
 * round's ingest, as before.
 */
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { DuckDBInstance } from "@duckdb/node-api";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import type { RecordBatch } from "../../../core/record/recorder.ts";
import {
  canonicalSymbol,
  formatTimestampUs,
} from "../../../core/record/silver.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { schemaSql } from "../../../server/record/schema.ts";
import { prng } from "../../fakes/prng.ts";
import { generateTrades, type GenTrade, tradeFrameText } from "./_trades.ts";

const positional = Deno.args.filter((a) => !a.includes("="));
const named = new Map(
  Deno.args.filter((a) => a.includes("=")).map((a) => {
    const at = a.indexOf("=");
    return [a.slice(0, at), a.slice(at + 1)] as const;
  }),
);
const total = Number(positional[0] ?? 1_000_000);
const batchSize = Number(positional[1] ?? 50_000);
// "defer": a bulk load builds gold once at the end instead of per batch.
const bulk = positional[2] === "bulk";
const deferGold = positional[2] === "defer" || bulk;
const rounds = Number(named.get("rounds") ?? 1);
if (!(Number.isInteger(rounds) && rounds >= 1)) {
  throw new RangeError(`rounds must be a whole number ≥ 1, not ${rounds}`);
}
const trades = generateTrades(5, Math.ceil(total / 4));
const frames: { text: string; at: number; from: number; to: number }[] = [];
for (let i = 0; i < trades.length; i += 10) {
  frames.push({
    text: tradeFrameText(trades.slice(i, i + 10)),
    at: trades[i]!.tsUs,
    from: i,
    to: Math.min(i + 10, trades.length),
  });
}
// The bulk path's batches (frames, until a batch holds batchSize trades);
// the floors write the same batches.
const batches: (typeof frames)[] = [];
{
  let batch: typeof frames = [];
  for (const f of frames) {
    batch.push(f);
    if (batch.length * 10 >= batchSize) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
}

/** Wall and CPU seconds of one measured load. */
interface Cost {
  wallSec: number;
  cpuSec: number;
}

function cpuSecSince(start: ReturnType<typeof cpuUsage>): number {
  const c = cpuUsage(start);
  return (c.user + c.system) / 1e6;
}

function rate(n: number, cost: Cost) {
  return {
    wallSec: +cost.wallSec.toFixed(2),
    cpuSec: +cost.cpuSec.toFixed(2),
    tradesPerSec: Math.round(n / cost.wallSec),
    tradesPerCpuSec: Math.round(n / cost.cpuSec),
  };
}

const dir = await Deno.makeTempDir({ prefix: "krakked_record_bench_" });

/** One ingest as the command describes; the live latency part when `live`. */
async function ingest(live: boolean) {
  const path = join(dir, `market-${crypto.randomUUID()}.duckdb`);
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
  if (bulk && frameBatch.length > 0) await bulkWrite(trades.at(-1)!.tsUs);
  // Everything before the final gold: what the floors compare with.
  const load: Cost = {
    wallSec: (tCore + tStore) / 1000,
    cpuSec: cpuSecSince(cpu0),
  };
  const s = performance.now();
  await store.write(pending, trades.at(-1)!.tsUs + 86_400e6);
  // With gold deferred, this last write builds every bucket's gold.
  const tLastWrite = performance.now() - s;
  tStore += tLastWrite;
  const gStart = performance.now();
  const goldRows = await store.flushGold(trades.at(-1)!.tsUs + 86_400e6);
  const tGold = performance.now() - gStart;
  const cStart = performance.now();
  await store.checkpoint();
  const tCheckpoint = performance.now() - cStart;
  const cpuSec = cpuSecSince(cpu0);
  const n = trades.length;
  // Live-like: 20 trades per write, latency = commit time - receive time.
  const latencies: number[] = [];
  if (live) {
    const liveTrades = generateTrades(9, 500, Date.UTC(2026, 1, 1) * 1000);
    for (let i = 0; i < liveTrades.length; i += 20) {
      const received = performance.now();
      const b = recorder.onFrame(
        tradeFrameText(liveTrades.slice(i, i + 20)),
        1,
        liveTrades[i]!.tsUs,
      );
      await store.write(b, liveTrades[i]!.tsUs);
      latencies.push(performance.now() - received);
    }
    latencies.sort((a, b) => a - b);
  }
  store.close();
  const bytes = fileBytes(path);
  removeFiles(path);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
      ?.toFixed(1);
  return {
    load,
    // As the floors count: the final CHECKPOINT included.
    all: {
      wallSec: (tCore + tStore + tCheckpoint) / 1000,
      cpuSec,
    } satisfies Cost,
    report: {
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
      liveWriteOf20LatencyMs: live
        ? { p50: pct(0.5), p99: pct(0.99), max: pct(1) }
        : undefined,
    },
  };
}

/** Bytes of a DuckDB file and its WAL. */
function fileBytes(path: string): number {
  let bytes = 0;
  for (const p of [path, `${path}.wal`]) {
    try {
      bytes += Deno.statSync(p).size;
    } catch {
      // No WAL after a clean close.
    }
  }
  return bytes;
}

function removeFiles(path: string): void {
  for (const p of [path, `${path}.wal`]) {
    try {
      Deno.removeSync(p);
    } catch {
      // Not there.
    }
  }
}

/** The whole part and the fraction (`0.xxx`) of plain decimal text. */
function splitDecimal(text: string): [string, string] {
  const dot = text.indexOf(".");
  return dot < 0
    ? [text, "0"]
    : [text.slice(0, dot), `0.${text.slice(dot + 1)}`];
}

// Every floor file, written before any clock starts: per batch, its frames,
// bronze rows, silver rows, and the bare floor's one row per trade.
const floorFiles: {
  frames: string;
  bronze: string;
  silver: string;
  bare: string;
  nowUs: number;
}[] = [];
{
  const random = prng(11);
  const canonical = new Map<string, string>();
  const canon = (s: string) => {
    let c = canonical.get(s);
    if (c === undefined) canonical.set(s, c = canonicalSymbol(s));
    return c;
  };
  for (const [b, batch] of batches.entries()) {
    const frameLines: string[] = [];
    const bronzeLines: string[] = [];
    const silverLines: string[] = [];
    const bareLines: string[] = [];
    for (const f of batch) {
      // A frame id is a 64-bit hash of the text in the store: random keys.
      const id = (BigInt(Math.floor(random() * 2 ** 32)) << 32n) |
        BigInt(Math.floor(random() * 2 ** 32));
      frameLines.push(`${id}\t${f.at}\t${f.text}`);
      for (let i = f.from; i < f.to; i++) {
        const t: GenTrade = trades[i]!;
        const c = canon(t.symbol);
        const [pw, pf] = splitDecimal(t.price);
        const [qw, qf] = splitDecimal(t.qty);
        const timestamp = formatTimestampUs(t.tsUs);
        const silverId = `kraken:${c}:${t.id}`;
        const side = t.side === "buy" ? "BUY" : "SELL";
        bronzeLines.push(
          `${t.symbol}\t${t.side}\t${t.price}\t${t.qty}\tlimit\t${t.id}\t${timestamp}\t${f.at}\t${id}`,
        );
        silverLines.push(
          `${c}\t${silverId}\t${t.id}\t${side}\t${pw}\t${pf}\t${qw}\t${qf}\t${t.tsUs}\t${f.at}\t${t.symbol}`,
        );
        bareLines.push(
          `${t.symbol}\t${t.side}\t${t.price}\t${t.qty}\tlimit\t${t.id}\t${timestamp}\t${f.at}\t\tws\t${id}\tkraken\t${c}\t${silverId}\t${side}\t${pw}\t${pf}\t${qw}\t${qf}\t${t.tsUs}\t${
            batch.at(-1)!.at
          }`,
        );
      }
    }
    const file = (name: string, lines: string[]) => {
      const p = join(dir, `floor-${b}-${name}.tsv`);
      Deno.writeTextFileSync(p, lines.join("\n") + "\n");
      return p;
    };
    floorFiles.push({
      frames: file("frames", frameLines),
      bronze: file("bronze", bronzeLines),
      silver: file("silver", silverLines),
      bare: file("bare", bareLines),
      nowUs: batch.at(-1)!.at,
    });
  }
}

/** `read_csv` of a floor file with typed columns (no inference, no quotes). */
function csv(file: string, columns: Record<string, string>): string {
  return `read_csv('${file}', delim = '\t', header = false, quote = '',
    escape = '', auto_detect = false, nullstr = '\\N', max_line_size = 16777216,
    columns = {${
    Object.entries(columns).map(([n, t]) => `${n}: '${t}'`).join(", ")
  }})`;
}

const BARE_COLUMNS = {
  "symbol": "VARCHAR",
  "side": "VARCHAR",
  "price": "VARCHAR",
  "qty": "VARCHAR",
  "ord_type": "VARCHAR",
  "trade_id": "BIGINT",
  "timestamp": "VARCHAR",
  "received_us": "BIGINT",
  "connection_id": "VARCHAR",
  "source": "VARCHAR",
  "frame_id": "UBIGINT",
  "exchange": "VARCHAR",
  "s_symbol": "VARCHAR",
  "s_trade_id": "VARCHAR",
  "s_side": "VARCHAR",
  "price_i": "BIGINT",
  "price_f": "DECIMAL(18,18)",
  "qty_i": "BIGINT",
  "qty_f": "DECIMAL(18,18)",
  "ts_us": "BIGINT",
  "silver_us": "BIGINT",
};

/** One floor (see the module doc), on a fresh file. */
async function floor(
  kind: "storing" | "bare" | "noBronze" | "copy",
): Promise<{ cost: Cost; bytes: number }> {
  const copy = kind === "copy";
  const bare = kind === "bare" || copy;
  const path = join(dir, `floor-${crypto.randomUUID()}.duckdb`);
  const instance = await DuckDBInstance.create(path);
  const db = await instance.connect();
  await db.run("SET preserve_insertion_order = false");
  if (bare) {
    await db.run(
      `CREATE TABLE bare_trades (${
        Object.entries(BARE_COLUMNS).map(([n, t]) => `${n} ${t}`).join(", ")
      })`,
    );
  } else for (const sql of schemaSql()) await db.run(sql);
  if (copy) {
    // Every batch's rows already typed in DuckDB before the clock starts.
    await db.run(
      `CREATE TEMP TABLE copy_src AS SELECT 0 AS batch, * FROM bare_trades`,
    );
    for (const [b, f] of floorFiles.entries()) {
      await db.run(
        `INSERT INTO copy_src SELECT ${b}, * FROM ${csv(f.bare, BARE_COLUMNS)}`,
      );
    }
  }
  const cpu0 = cpuUsage();
  const t0 = performance.now();
  for (const [b, f] of floorFiles.entries()) {
    await db.run("BEGIN TRANSACTION");
    if (copy) {
      await db.run(
        `INSERT INTO bare_trades SELECT * EXCLUDE (batch) FROM copy_src
         WHERE batch = ${b}`,
      );
    } else if (bare) {
      await db.run(
        `INSERT INTO bare_trades SELECT * FROM ${csv(f.bare, BARE_COLUMNS)}`,
      );
    } else {
      await db.run(
        `INSERT INTO bronze_frames_kraken
         SELECT frame_id, make_timestamp(received_us), $1, $2, raw
         FROM ${
          csv(f.frames, {
            frame_id: "UBIGINT",
            received_us: "BIGINT",
            raw: "VARCHAR",
          })
        }`,
        ["", "ws"],
      );
      if (kind === "storing") {
        await db.run(
          `INSERT INTO bronze_trades_kraken
         SELECT symbol, side, price, qty, ord_type, trade_id, timestamp,
           make_timestamp(received_us), $1, $2, frame_id
         FROM ${
            csv(f.bronze, {
              symbol: "VARCHAR",
              side: "VARCHAR",
              price: "VARCHAR",
              qty: "VARCHAR",
              ord_type: "VARCHAR",
              trade_id: "BIGINT",
              timestamp: "VARCHAR",
              received_us: "BIGINT",
              frame_id: "UBIGINT",
            })
          }`,
          ["", "ws"],
        );
      }
      await db.run(
        `INSERT INTO silver_trades_data
         SELECT 'kraken', symbol, trade_id, exchange_trade_id, side,
           CAST(price_i AS DECIMAL(38,18)) + price_f,
           CAST(qty_i AS DECIMAL(38,18)) + qty_f,
           make_timestamp(ts_us), make_timestamp(received_us),
           make_timestamp($1), $2, exchange_symbol
         FROM ${
          csv(f.silver, {
            symbol: "VARCHAR",
            trade_id: "VARCHAR",
            exchange_trade_id: "BIGINT",
            side: "VARCHAR",
            price_i: "BIGINT",
            price_f: "DECIMAL(18,18)",
            qty_i: "BIGINT",
            qty_f: "DECIMAL(18,18)",
            ts_us: "BIGINT",
            received_us: "BIGINT",
            exchange_symbol: "VARCHAR",
          })
        }`,
        [f.nowUs, "ws"],
      );
    }
    await db.run("COMMIT");
  }
  await db.run("CHECKPOINT");
  const cost = {
    wallSec: (performance.now() - t0) / 1000,
    cpuSec: cpuSecSince(cpu0),
  };
  const table = bare ? "bare_trades" : "silver_trades_data";
  const [row] = (await db.runAndReadAll(`SELECT count(*) AS n FROM ${table}`))
    .getRowObjects();
  if (Number(row?.n) !== trades.length) {
    throw new Error(`floor stored ${row?.n} trades, not ${trades.length}`);
  }
  db.closeSync();
  instance.closeSync();
  const bytes = fileBytes(path);
  removeFiles(path);
  return { cost, bytes };
}

try {
  const n = trades.length;
  type Ingest = Awaited<ReturnType<typeof ingest>>;
  type Floor = Awaited<ReturnType<typeof floor>>;
  const perRound: {
    ingest: Ingest;
    storing: Floor;
    bare: Floor;
    noBronze: Floor;
    copy: Floor;
    order: string;
  }[] = [];
  for (let r = 0; r < rounds; r++) {
    const steps = ["ingest", "storing", "bare", "noBronze", "copy"] as const;
    const at = r % steps.length;
    const order = [...steps.slice(at), ...steps.slice(0, at)];
    const got: Partial<Record<(typeof steps)[number], unknown>> = {};
    for (const step of order) {
      if (step === "ingest") got.ingest = await ingest(r === 0);
      else got[step] = await floor(step);
    }
    perRound.push({
      ingest: got.ingest as Ingest,
      storing: got.storing as Floor,
      bare: got.bare as Floor,
      noBronze: got.noBronze as Floor,
      copy: got.copy as Floor,
      order: order.join(" → "),
    });
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const ratio = (a: number, b: number) => +(a / b).toFixed(2);
  const roundRows = perRound.map((p) => ({
    order: p.order,
    ingest: rate(n, p.ingest.all),
    ingestWithoutFinalGold: rate(n, p.ingest.load),
    storingFloor: rate(n, p.storing.cost),
    bareFloor: rate(n, p.bare.cost),
    noBronzeFloor: rate(n, p.noBronze.cost),
    copyFloor: rate(n, p.copy.cost),
    cpuRatio: {
      ingestToStoring: ratio(p.ingest.all.cpuSec, p.storing.cost.cpuSec),
      loadToStoring: ratio(p.ingest.load.cpuSec, p.storing.cost.cpuSec),
      storingToBare: ratio(p.storing.cost.cpuSec, p.bare.cost.cpuSec),
    },
    floorMBPerMillionTrades: {
      storing: +(p.storing.bytes / 1e6 / (n / 1e6)).toFixed(1),
      bare: +(p.bare.bytes / 1e6 / (n / 1e6)).toFixed(1),
      noBronze: +(p.noBronze.bytes / 1e6 / (n / 1e6)).toFixed(1),
    },
  }));
  const med = (f: (p: (typeof perRound)[number]) => number) =>
    median(perRound.map(f));
  // deno-lint-ignore no-console -- a report script prints its figures
  console.log(JSON.stringify(
    {
      ...perRound[0]!.ingest.report,
      rounds: roundRows,
      medianOfRounds: {
        ingest: rate(n, {
          wallSec: med((p) => p.ingest.all.wallSec),
          cpuSec: med((p) => p.ingest.all.cpuSec),
        }),
        ingestWithoutFinalGold: rate(n, {
          wallSec: med((p) => p.ingest.load.wallSec),
          cpuSec: med((p) => p.ingest.load.cpuSec),
        }),
        storingFloor: rate(n, {
          wallSec: med((p) => p.storing.cost.wallSec),
          cpuSec: med((p) => p.storing.cost.cpuSec),
        }),
        bareFloor: rate(n, {
          wallSec: med((p) => p.bare.cost.wallSec),
          cpuSec: med((p) => p.bare.cost.cpuSec),
        }),
        noBronzeFloor: rate(n, {
          wallSec: med((p) => p.noBronze.cost.wallSec),
          cpuSec: med((p) => p.noBronze.cost.cpuSec),
        }),
        copyFloor: rate(n, {
          wallSec: med((p) => p.copy.cost.wallSec),
          cpuSec: med((p) => p.copy.cost.cpuSec),
        }),
        cpuRatio: {
          ingestToStoring: +med((p) =>
            p.ingest.all.cpuSec / p.storing.cost.cpuSec
          ).toFixed(2),
          loadToStoring: +med((p) =>
            p.ingest.load.cpuSec / p.storing.cost.cpuSec
          ).toFixed(2),
          storingToBare: +med((p) => p.storing.cost.cpuSec / p.bare.cost.cpuSec)
            .toFixed(2),
        },
      },
    },
    null,
    2,
  ));
} finally {
  await Deno.remove(dir, { recursive: true });
}
