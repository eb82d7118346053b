/**
 * Cost per pair of the simulator: time to first ticker and RSS at 30, 100,
 * 300 and 1,000 streaming pairs (issue 15).
 *
 * Run: `deno run --allow-run --allow-read --allow-net=127.0.0.1 tests/sim/pairs_scale_bench.ts [30 100 300 1000]`
 *
 * For each pair count N it starts a fresh simulator process
 * (`server/main.ts sim --port 0`, with `N - 49` synthetic pairs when N is
 * above the 49 standard pairs), reads the pair list from the `instrument`
 * channel, subscribes `ticker` for the first N symbols in one request and
 * measures the time until every symbol's ticker snapshot arrived. It then
 * lets the feed stream for 3 s and reads the process's resident set size
 * with `ps -o rss=`. One process per N, so no cache carries over.
 *
 * It prints one row per N and the growth ratios (time and RSS per pair), not
 * pass/fail: speed is measured here, never asserted in tests. The CPU time
 * the simulator spent on the subscription is printed beside the wall time:
 * on a shared machine the wall time also counts other processes' turns.
 *
 * @module
 */

const STANDARD_PAIRS = 49;
const ROOT = new URL("../../", import.meta.url);

interface Row {
  pairs: number;
  startMs: number;
  firstTickerMs: number;
  /** CPU time the simulator spent between the subscribe and the last snapshot. */
  firstTickerCpuMs: number;
  rssMiB: number;
}

/** User + system CPU time of a process, ms (10 ms resolution: /proc stat ticks). */
async function cpuMs(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/stat`],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function readLineContaining(
  reader: ReadableStreamDefaultReader<string>,
  needle: string,
): Promise<string> {
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`simulator exited before printing ${needle}`);
    buffer += value;
    for (const line of buffer.split("\n")) {
      if (line.includes(needle)) return line;
    }
  }
}

async function rssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
  }).output();
  const kib = Number(new TextDecoder().decode(out.stdout).trim());
  if (!Number.isFinite(kib) || kib <= 0) throw new Error("no RSS from ps");
  return kib / 1024;
}

async function measure(pairs: number): Promise<Row> {
  const synthetic = Math.max(0, pairs - STANDARD_PAIRS);
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "server/main.ts",
      "sim",
      "--port",
      "0",
      "--synthetic-pairs",
      String(synthetic),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const line = await readLineContaining(reader, "WS public:");
    const url = line.split(/\s+/).at(-1)!;
    const startMs = performance.now() - t0;
    const ws = new WebSocket(url);
    const symbols: string[] = [];
    const seen = new Set<string>();
    let tSub = 0;
    let firstTickerMs = 0;
    let cpuAtSub = Promise.resolve(0);
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error("websocket error"));
      ws.onopen = () =>
        ws.send(
          JSON.stringify({
            method: "subscribe",
            params: { channel: "instrument" },
          }),
        );
      ws.onmessage = (event) => {
        const msg = JSON.parse(String(event.data));
        if (msg.channel === "instrument" && msg.type === "snapshot") {
          for (const p of msg.data.pairs) symbols.push(p.symbol);
          const want = symbols.slice(0, pairs);
          cpuAtSub = cpuMs(child.pid);
          tSub = performance.now();
          ws.send(
            JSON.stringify({
              method: "subscribe",
              params: { channel: "ticker", symbol: want },
            }),
          );
        } else if (msg.channel === "ticker" && msg.type === "snapshot") {
          for (const row of msg.data) seen.add(row.symbol);
          if (seen.size >= Math.min(pairs, symbols.length)) {
            firstTickerMs = performance.now() - tSub;
            resolve();
          }
        }
      };
    });
    const firstTickerCpuMs = await cpuMs(child.pid) - await cpuAtSub;
    await new Promise((r) => setTimeout(r, 3000));
    const rss = await rssMiB(child.pid);
    ws.close();
    return { pairs, startMs, firstTickerMs, firstTickerCpuMs, rssMiB: rss };
  } finally {
    reader.releaseLock();
    child.kill("SIGTERM");
    await child.status;
  }
}

const counts = Deno.args.length > 0
  ? Deno.args.map(Number)
  : [30, 100, 300, 1000];
const rows: Row[] = [];
for (const n of counts) rows.push(await measure(n));
// deno-lint-ignore no-console
console.log(
  "pairs  start(ms)  first-ticker(ms)  first-ticker CPU(ms)  RSS(MiB)",
);
for (const r of rows) {
  // deno-lint-ignore no-console
  console.log(
    `${String(r.pairs).padStart(5)}  ${r.startMs.toFixed(0).padStart(9)}  ${
      r.firstTickerMs.toFixed(0).padStart(16)
    }  ${r.firstTickerCpuMs.toFixed(0).padStart(20)}  ${
      r.rssMiB.toFixed(1).padStart(8)
    }`,
  );
}
const first = rows[0]!;
const last = rows.at(-1)!;
if (rows.length > 1) {
  // deno-lint-ignore no-console
  console.log(
    `growth ${first.pairs}→${last.pairs} pairs (×${
      (last.pairs / first.pairs).toFixed(1)
    }): first ticker ×${
      (last.firstTickerMs / Math.max(1, first.firstTickerMs)).toFixed(1)
    }, RSS +${(last.rssMiB - first.rssMiB).toFixed(1)} MiB (${
      ((last.rssMiB - first.rssMiB) * 1024 / (last.pairs - first.pairs))
        .toFixed(0)
    } KiB per extra pair)`,
  );
}
