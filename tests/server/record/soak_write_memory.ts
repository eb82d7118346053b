/**
 * Memory of the live write path alone, fast: many small commits (a live
 * recorder's, a few trades each) through core's `TradeRecorder` and
 * `RecordStore.write` with gold built beside them, in this process, with no
 * socket and no waiting. Prints RSS, the V8 heap and DuckDB's
 * `duckdb_memory()` total every `every` commits, and the growth per 1,000
 * commits over the second half, so a leak per commit shows in a minute
 * instead of a 30-minute soak (which makes ≈ 5 commits a second).
 *
 * Not a test: a probe whose figures go in docs/recorder.md.
 *
 *     deno run -A tests/server/record/soak_write_memory.ts [commits=20000] [setting=value ...]
 *
 * Each `setting=value` is a DuckDB `SET` run after open, e.g.
 * `memory_limit=256MB allocator_flush_threshold=16MB threads=1`, except
 * these, which change what the probe does:
 *
 * - `checkpoint_mb=N`: a CHECKPOINT after a commit once the WAL holds N MB
 *   and no gold build runs (what the recorder does);
 * - `reopen_every=N`: `RecordStore.recycle()` (checkpoint, new DuckDB
 *   instance) every N commits;
 * - `gc_every=N`: a full V8 collection every N commits (run with
 *   `--v8-flags=--expose-gc`), which finalizes the binding's result objects;
 * - `trim_every=N`: glibc's `malloc_trim(0)` every N commits (by FFI):
 *   whether freed memory glibc keeps resident is the growth;
 * - `no_gold=1`: no gold builds beside the writes;
 * - `leave_open=1`: exit without closing the store, so a heap profiler
 *   (`heaptrack deno run -A …`) reports what is still allocated at the
 *   end as leaked: two runs of different lengths, diffed
 *   (`heaptrack_print -d`), show what grows with the commits.
 *
 * @module
 */

import { join } from "node:path";
import { TradeRecorder } from "@krakked/core/record/recorder";
import { RecordStore } from "../../../server/record/store.ts";
import {
  GEN_SYMBOLS,
  generateTrades,
  genSymbolInfos,
  tradeFrameText,
} from "./_trades.ts";

const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

const commits = Number(Deno.args[0] ?? 20_000);
const settings = Deno.args.slice(1).map((a) => {
  const m = /^([a-z_]+)=([\w.]+)$/.exec(a);
  if (m === null) throw new TypeError(`expected setting=value, got ${a}`);
  return [m[1]!, m[2]!] as const;
});
const PER_COMMIT = 5;
const MiB = 1024 * 1024;

/**
 * Resident memory by kind of mapping, MiB, from /proc/self/smaps: glibc's
 * main heap (`[heap]`, brk), anonymous mappings (glibc's thread arenas,
 * mmapped chunks, V8's pages, DuckDB's buffers) and file-backed ones.
 */
function smapsMiB(): { heap: number; anon: number; file: number } {
  const out = { heap: 0, anon: 0, file: 0 };
  let kind: keyof typeof out = "anon";
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1]!;
      kind = name === "[heap]"
        ? "heap"
        : name.startsWith("/")
        ? "file"
        : "anon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] += Number(rss[1]) / 1024;
  }
  return out;
}

function rssMiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(
    Deno.readTextFileSync("/proc/self/status"),
  );
  return Number(m![1]) / 1024;
}

let libc:
  | Deno.DynamicLibrary<
    { malloc_trim: { parameters: ["usize"]; result: "i32" } }
  >
  | undefined;
const perSymbol = Math.ceil(commits * PER_COMMIT / GEN_SYMBOLS.length);
const trades = generateTrades(3, perSymbol);
const dir = await Deno.makeTempDir({ prefix: "krakked_soak_write_" });
const store = await RecordStore.open(join(dir, "m.duckdb"));
let checkpointMb: number | undefined;
let reopenEvery: number | undefined;
let gcEvery: number | undefined;
let trimEvery: number | undefined;
let noGold = false;
let leaveOpen = false;
for (const [name, value] of settings) {
  if (name === "checkpoint_mb") checkpointMb = Number(value);
  else if (name === "reopen_every") reopenEvery = Number(value);
  else if (name === "gc_every") gcEvery = Number(value);
  else if (name === "trim_every") trimEvery = Number(value);
  else if (name === "no_gold") noGold = value === "1";
  else if (name === "leave_open") leaveOpen = value === "1";
  else await store.set(name, value);
}
const tagLine = async () =>
  (await store.query(
    `SELECT tag, memory_usage_bytes AS m FROM duckdb_memory()
     WHERE memory_usage_bytes > 0 ORDER BY m DESC`,
  )).map((r) => `${r.tag} ${(Number(r.m) / MiB).toFixed(1)}`).join(", ");
let checkpoints = 0;
let checkpointMs = 0;
await store.registerSymbols(genSymbolInfos());
const recorder = new TradeRecorder();

interface Sample {
  commit: number;
  rss: number;
  heap: number;
  duckdb: number;
  /** RSS less DuckDB's buffers and the V8 heap (reserved). */
  other: number;
  /** Resident in glibc's main heap (brk), MiB. */
  brk: number;
  /** Resident in anonymous mappings, MiB. */
  anon: number;
}
const samples: Sample[] = [];
const every = Math.max(1, Math.round(commits / 40));
const sample = async (commit: number) => {
  const [row] = await store.query(
    `SELECT sum(memory_usage_bytes)::BIGINT AS b FROM duckdb_memory()`,
  );
  const m = Deno.memoryUsage();
  const rss = rssMiB();
  const maps = smapsMiB();
  const duckdb = Number(row?.b ?? 0) / MiB;
  const s: Sample = {
    commit,
    rss,
    heap: m.heapUsed / MiB,
    duckdb,
    other: rss - duckdb - m.heapTotal / MiB,
    brk: maps.heap,
    anon: maps.anon,
  };
  samples.push(s);
  if (samples.length % 5 === 1) {
    say(
      `  ${commit} commits: RSS ${s.rss.toFixed(1)} MiB, V8 heap used ${
        s.heap.toFixed(1)
      } MiB, DuckDB ${s.duckdb.toFixed(1)} MiB, other ${
        s.other.toFixed(1)
      } MiB`,
    );
  }
};

say(
  `write path: ${commits} commits of ${PER_COMMIT} trades; ${
    settings.length === 0
      ? "DuckDB defaults"
      : settings.map(([n, v]) => `${n}=${v}`).join(" ")
  }`,
);
const t0 = performance.now();
let gold: Promise<number> | undefined;
for (let c = 0; c < commits; c++) {
  const chunk = trades.slice(c * PER_COMMIT, (c + 1) * PER_COMMIT);
  if (chunk.length === 0) break;
  const nowUs = chunk.at(-1)!.tsUs;
  const batch = recorder.onFrame(tradeFrameText(chunk), 1, nowUs);
  await store.write(batch, nowUs, { silverUs: nowUs, gold: false });
  // Gold beside the writes, one build at a time, as the recorder does.
  if (checkpointMb !== undefined && gold === undefined) {
    const wal = await Deno.stat(`${store.path}.wal`).catch(() => undefined);
    if ((wal?.size ?? 0) >= checkpointMb * 1e6) {
      const t = performance.now();
      if (Deno.env.get("SOAK_TAGS")) say(`    before: ${await tagLine()}`);
      await store.checkpoint();
      checkpointMs += performance.now() - t;
      checkpoints++;
      if (Deno.env.get("SOAK_TAGS")) say(`    after: ${await tagLine()}`);
    }
  }
  if (!noGold) {
    gold ??= store.flushGold(nowUs).finally(() => (gold = undefined));
  }
  if (reopenEvery !== undefined && c > 0 && c % reopenEvery === 0) {
    await gold;
    await store.recycle();
  }
  if (trimEvery !== undefined && c > 0 && c % trimEvery === 0) {
    libc ??= Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    libc.symbols.malloc_trim(0n);
  }
  if (gcEvery !== undefined && c % gcEvery === 0) {
    (globalThis as { gc?: () => void }).gc?.();
  }
  if (c % every === 0) await sample(c);
}
await gold;
await sample(commits);
const seconds = (performance.now() - t0) / 1000;

function slopePer1000(pick: (s: Sample) => number): number {
  const half = samples.filter((s) => s.commit >= commits / 2);
  const n = half.length;
  const mx = half.reduce((a, s) => a + s.commit, 0) / n;
  const my = half.reduce((a, s) => a + pick(s), 0) / n;
  const sxy = half.reduce((a, s) => a + (s.commit - mx) * (pick(s) - my), 0);
  const sxx = half.reduce((a, s) => a + (s.commit - mx) ** 2, 0);
  return (sxy / sxx) * 1000;
}
say(
  `${commits} commits in ${
    seconds.toFixed(1)
  } s; second-half growth per 1,000 commits: RSS ${
    slopePer1000((s) => s.rss).toFixed(2)
  } MiB, V8 heap ${slopePer1000((s) => s.heap).toFixed(2)} MiB, DuckDB ${
    slopePer1000((s) => s.duckdb).toFixed(2)
  } MiB, other ${slopePer1000((s) => s.other).toFixed(2)} MiB, brk heap ${
    slopePer1000((s) => s.brk).toFixed(2)
  } MiB, anonymous ${
    slopePer1000((s) => s.anon).toFixed(2)
  } MiB; ${checkpoints} checkpoints (${
    checkpoints === 0 ? "-" : (checkpointMs / checkpoints).toFixed(0)
  } ms each); RSS ${samples[0]!.rss.toFixed(1)} → ${
    samples.at(-1)!.rss.toFixed(1)
  } MiB; file ${
    ((await Deno.stat(join(dir, "m.duckdb"))).size / MiB).toFixed(1)
  } MiB`,
);
const tags = await store.query(
  `SELECT tag, memory_usage_bytes AS m, temporary_storage_bytes AS t
   FROM duckdb_memory() WHERE memory_usage_bytes > 0 OR temporary_storage_bytes > 0
   ORDER BY m DESC`,
);
say(
  `DuckDB by tag: ${
    tags.map((r) =>
      `${r.tag} ${(Number(r.m) / MiB).toFixed(1)}${
        Number(r.t) > 0 ? ` (+${(Number(r.t) / MiB).toFixed(1)} spilled)` : ""
      }`
    ).join(", ")
  } MiB`,
);
if (leaveOpen) {
  await Deno.remove(dir, { recursive: true });
  Deno.exit(0);
}
store.close();
await Deno.remove(dir, { recursive: true });
