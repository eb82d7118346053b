/**
 * Soak: `krakked record` (a separate process, as users run it) against the
 * simulator at `--activity busy` for N minutes, then `record validate`.
 * Prints the recorder's resident memory over time (sampled from
 * /proc/PID/status), the growth over the second half of the run, and the
 * validation lines (duplicates, gaps, gold against REST OHLC, latency).
 *
 * Not a test (it runs for minutes): a report whose figures go in closing
 * notes. The simulator runs on the real clock, so the market's minutes
 * close in real time.
 *
 *     deno run -A tests/server/record/record_soak.ts [minutes=30] [pairs=20]
 *
 * @module
 */

import { join } from "node:path";
import { startSimulatorWithWs } from "@krakked/sim";

const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

const minutes = Number(Deno.args[0] ?? 30);
const pairCount = Number(Deno.args[1] ?? 20);
const SAMPLE_MS = 15_000;

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

const dir = await Deno.makeTempDir({ prefix: "krakked-soak-" });
await using sim = await startSimulatorWithWs({
  port: 0,
  seed: 11,
  activity: "busy",
});
await Deno.writeTextFile(
  join(dir, "config.yaml"),
  [
    "connection:",
    `  rest_url: ${sim.url}`,
    `  ws_public_url: ${sim.wsPublicUrl}`,
    `  ws_auth_url: ${sim.wsPublicUrl}`,
    "",
  ].join("\n"),
);
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
  ],
  env,
  stdout: "null",
  stderr: "piped",
}).spawn();
const stderr = new Response(recorder.stderr).text();

const samples: { atMin: number; rss: number }[] = [];
const t0 = Date.now();
const endMs = t0 + minutes * 60_000;
say(
  `soak: ${PAIRS.length} pairs, ${minutes} min, activity busy, recorder pid ${recorder.pid}`,
);
while (Date.now() < endMs) {
  await new Promise((r) =>
    setTimeout(r, Math.min(SAMPLE_MS, endMs - Date.now()))
  );
  const rss = rssMiB(recorder.pid);
  if (rss === undefined) break;
  const atMin = (Date.now() - t0) / 60_000;
  samples.push({ atMin, rss });
  if (samples.length % 8 === 0) {
    say(`  ${atMin.toFixed(1)} min: RSS ${rss.toFixed(1)} MiB`);
  }
}
recorder.kill("SIGINT");
const exit = await recorder.status;
const log = await stderr;
say(`recorder exit ${exit.code}; last lines:`);
for (const line of log.trim().split("\n").slice(-3)) say(`  ${line}`);

// Least-squares slope of RSS over the second half (after warm-up).
const half = samples.filter((s) => s.atMin >= minutes / 2);
const n = half.length;
let slope = Number.NaN;
if (n >= 2) {
  const mx = half.reduce((a, s) => a + s.atMin, 0) / n;
  const my = half.reduce((a, s) => a + s.rss, 0) / n;
  const sxy = half.reduce((a, s) => a + (s.atMin - mx) * (s.rss - my), 0);
  const sxx = half.reduce((a, s) => a + (s.atMin - mx) ** 2, 0);
  slope = sxy / sxx;
}
const rss = samples.map((s) => s.rss);
say(
  `RSS: first ${rss[0]?.toFixed(1)} MiB, max ${
    Math.max(...rss).toFixed(1)
  } MiB, last ${rss.at(-1)?.toFixed(1)} MiB; second-half growth ${
    (slope * 10).toFixed(2)
  } MiB per 10 min over ${n} samples`,
);

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
