/**
 * Soak: `krakked record` (a separate process, as users run it) against the
 * simulator at `--activity busy` for N minutes, then `record validate`.
 * Prints the recorder's resident memory over time (sampled from
 * /proc/PID/status), beside the V8 heap and DuckDB's buffer-manager memory
 * the recorder writes into its status file (`memory`), the least-squares
 * slope of each over the second half of the run in MiB per hour (the
 * flatness figure), the recorder's own receive → COMMIT latency
 * (`commitLatency`), and the validation lines (duplicates, gaps, gold
 * against REST OHLC, receive-to-silver latency).
 *
 * Not a test (it runs for minutes): a report whose figures go in closing
 * notes. The simulator runs on the real clock, so the market's minutes
 * close in real time. Arguments after `--` go to `krakked record` (e.g.
 * `-- --memory-limit 128MB`).
 *
 *     deno run -A tests/server/record/record_soak.ts [minutes=30] [pairs=20] [-- record flags]
 *
 * @module
 */

import { join } from "node:path";
import { startSimulatorWithWs } from "@krakked/sim";
import { writeSimConfig } from "./_sim_config.ts";
import type { RecorderStatus } from "../../../server/record/run.ts";

const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

const dash = Deno.args.indexOf("--");
const own = dash < 0 ? Deno.args : Deno.args.slice(0, dash);
const extra = dash < 0 ? [] : Deno.args.slice(dash + 1);
const minutes = Number(own[0] ?? 30);
const pairCount = Number(own[1] ?? 20);
const SAMPLE_MS = 15_000;
const MiB = 1024 * 1024;

const PAIRS = [
  "BTC/USD",
  "ETH/USD",
  "SOL/USD",
  "XRP/USD",
  "DOGE/USD",
  "BTC/EUR",
  "USDT/USD",
  "ADA/USD",
  "LTC/USD",
  "ETH/EUR",
  "BTC/USDT",
  "DOT/USD",
  "LINK/USD",
  "USDC/USD",
  "ETH/BTC",
  "XLM/USD",
  "AVAX/USD",
  "BCH/USD",
  "SHIB/USD",
  "ATOM/USD",
].slice(0, pairCount);

function rssMiB(pid: number): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The recorder's resident memory by kind of mapping, MiB, from
 * /proc/PID/smaps: glibc's main heap (`[heap]`, brk), anonymous mappings
 * (glibc's thread arenas and mmapped chunks, V8's pages) and file-backed.
 */
function smapsMiB(
  pid: number,
): { brk: number; anon: number; file: number } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/smaps`);
  } catch {
    return undefined;
  }
  const out = { brk: 0, anon: 0, file: 0 };
  let kind: keyof typeof out = "anon";
  for (const line of text.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1]!;
      kind = name === "[heap]" ? "brk" : name.startsWith("/") ? "file" : "anon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] += Number(rss[1]) / 1024;
  }
  return out;
}

const dir = await Deno.makeTempDir({ prefix: "krakked-soak-" });
await using sim = await startSimulatorWithWs({
  port: 0,
  seed: 11,
  activity: "busy",
});
await writeSimConfig(dir, sim);
const store = join(dir, "soak.duckdb");
const env = { KRAKKED_CONFIG_DIR: dir, NO_COLOR: "1" };
const main = new URL("../../../server/main.ts", import.meta.url).pathname;
const recorder = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    main,
    "record",
    ...PAIRS,
    "--store",
    store,
    ...extra,
  ],
  env,
  stdout: "null",
  stderr: "piped",
}).spawn();
const stderr = new Response(recorder.stderr).text();

/** What the recorder's status file says (the fields read here). */
type RecorderFile = Partial<
  Pick<
    RecorderStatus,
    | "silverRows"
    | "commits"
    | "gapsFound"
    | "gapsFilled"
    | "reconnects"
    | "checkpoints"
    | "lastCheckpointMs"
    | "reopens"
    | "lastReopenMs"
    | "commitLatency"
    | "memory"
  >
>;

function readStatus(): RecorderFile | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${store}.status.json`));
  } catch {
    return undefined;
  }
}

interface Sample {
  atMin: number;
  rss: number;
  brk?: number;
  anon?: number;
  file?: number;
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  duckdb?: number;
  tags?: Record<string, number>;
  trades?: number;
}
const samples: Sample[] = [];
const t0 = Date.now();
const endMs = t0 + minutes * 60_000;
say(
  `soak: ${PAIRS.length} pairs, ${minutes} min, activity busy, recorder pid ${recorder.pid}${
    extra.length > 0 ? `, record ${extra.join(" ")}` : ""
  }${
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      k.startsWith("MALLOC_") || k === "LD_PRELOAD"
    ).map(([k, v]) => `, ${k}=${v}`).join("")
  }`,
);
const f1 = (v: number | undefined) => v === undefined ? "-" : v.toFixed(1);
while (Date.now() < endMs) {
  await new Promise((r) =>
    setTimeout(r, Math.min(SAMPLE_MS, endMs - Date.now()))
  );
  const rss = rssMiB(recorder.pid);
  if (rss === undefined) break;
  const atMin = (Date.now() - t0) / 60_000;
  const s = readStatus();
  const m = s?.memory;
  const maps = smapsMiB(recorder.pid);
  const sample: Sample = {
    atMin,
    rss,
    ...(maps === undefined ? {} : maps),
    ...(m === undefined ? {} : {
      heapUsed: m.heapUsedBytes / MiB,
      heapTotal: m.heapTotalBytes / MiB,
      external: m.externalBytes / MiB,
      ...(m.duckdbBytes === null ? {} : { duckdb: m.duckdbBytes / MiB }),
      ...(m.duckdbByTag === undefined ? {} : { tags: m.duckdbByTag }),
    }),
    ...(s?.silverRows === undefined ? {} : { trades: s.silverRows }),
  };
  samples.push(sample);
  if (samples.length % 8 === 0) {
    say(
      `  ${atMin.toFixed(1)} min: RSS ${f1(rss)} MiB, V8 heap used ${
        f1(sample.heapUsed)
      } of ${f1(sample.heapTotal)}, external ${f1(sample.external)}, DuckDB ${
        f1(sample.duckdb)
      } MiB; ${sample.trades ?? "-"} trades`,
    );
  }
}
recorder.kill("SIGINT");
const exit = await recorder.status;
const log = await stderr;
say(`recorder exit ${exit.code}; last lines:`);
for (const line of log.trim().split("\n").slice(-3)) say(`  ${line}`);

/**
 * Least-squares slope over the second half of the run (after warm-up), in
 * MiB per hour, of the samples that have the figure.
 */
function slopePerHour(pick: (s: Sample) => number | undefined): {
  slope: number;
  n: number;
} {
  const half: [number, number][] = [];
  for (const s of samples) {
    const v = pick(s);
    if (s.atMin >= minutes / 2 && v !== undefined) half.push([s.atMin, v]);
  }
  const n = half.length;
  if (n < 2) return { slope: Number.NaN, n };
  const mx = half.reduce((a, [x]) => a + x, 0) / n;
  const my = half.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = half.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = half.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return { slope: (sxy / sxx) * 60, n };
}

const series: [string, (s: Sample) => number | undefined][] = [
  ["RSS", (s) => s.rss],
  ["  resident in glibc's main heap (brk)", (s) => s.brk],
  ["  resident anonymous (arenas, mmapped chunks, V8)", (s) => s.anon],
  ["  resident file-backed", (s) => s.file],
  ["V8 heap used", (s) => s.heapUsed],
  ["V8 heap total", (s) => s.heapTotal],
  ["external", (s) => s.external],
  ["DuckDB buffers", (s) => s.duckdb],
];
for (const [name, pick] of series) {
  const values = samples.map(pick).filter((v) => v !== undefined);
  if (values.length === 0) {
    say(`${name}: no samples`);
    continue;
  }
  const { slope, n } = slopePerHour(pick);
  say(
    `${name}: first ${f1(values[0])} MiB, max ${
      f1(Math.max(...values))
    } MiB, last ${f1(values.at(-1))} MiB; second-half slope ${
      slope.toFixed(1)
    } MiB/hour over ${n} samples`,
  );
}
const every = Math.max(1, Math.round(samples.length / 12));
say(
  `RSS samples (MiB, every ${every * SAMPLE_MS / 1000} s): ${
    samples.filter((_, i) => i % every === 0).map((s) => s.rss.toFixed(0))
      .join(" ")
  }`,
);
// The slope over half a run is at the mercy of where the checkpoint and
// reopen sawtooth stands at both ends; the peak of each 10-minute window
// (the recorder's default reopen period) compares like with like.
const windows: number[] = [];
for (const s of samples) {
  const w = Math.floor(s.atMin / 10);
  windows[w] = Math.max(windows[w] ?? 0, s.rss);
}
say(
  `RSS peak per 10-minute window (MiB): ${
    windows.map((v) => v.toFixed(0)).join(" ")
  }`,
);
const final = readStatus();
// `krakked record` picks jemalloc by itself when installed (KRAKKED_MALLOC).
say(`recorder allocator: ${final?.memory?.allocator ?? "-"}`);
if (final?.commitLatency !== undefined) {
  const c = final.commitLatency;
  say(
    `receive → COMMIT acknowledged (recorder's status, latest ${c.window} of ${c.trades} WS trades): p50 ${c.p50Ms} ms, p90 ${c.p90Ms} ms, p99 ${c.p99Ms} ms, max ${c.maxMs} ms (max over the run ${c.maxEverMs} ms)`,
  );
}
const lastSample = samples.findLast((s) => s.tags !== undefined)?.tags;
if (lastSample !== undefined) {
  say(
    `DuckDB by tag at the last sample: ${
      Object.entries(lastSample).map(([t, b]) => `${t} ${(b / MiB).toFixed(1)}`)
        .join(", ")
    } MiB`,
  );
}
if (final?.memory !== undefined) {
  say(
    `DuckDB memory_limit: ${final.memory.duckdbLimit ?? "-"}; ${
      final.checkpoints ?? 0
    } checkpoints by the recorder (last ${final.lastCheckpointMs ?? "-"} ms), ${
      final.reopens ?? 0
    } of them reopens of DuckDB (last ${final.lastReopenMs ?? "-"} ms); ${
      final.commits ?? "-"
    } commits`,
  );
}

const validate = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", main, "record", "validate", "--store", store, "--json"],
  env,
  stdout: "piped",
  stderr: "piped",
}).output();
const text = new TextDecoder().decode(validate.stdout);
try {
  const report = JSON.parse(text) as {
    checks?: { name: string; ok: boolean; summary: string }[];
  };
  for (const c of report.checks ?? []) {
    say(
      `${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.summary}`,
    );
  }
} catch {
  say(text || new TextDecoder().decode(validate.stderr));
}
const size = (await Deno.stat(store)).size;
say(`store ${(size / 1024 / 1024).toFixed(1)} MiB`);
await Deno.remove(dir, { recursive: true });
