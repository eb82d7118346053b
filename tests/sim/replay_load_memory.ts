/**
 * What loading a recording for `krakked sim --replay` costs: the peak RSS
 * of the process (VmHWM, read after the banner), the time from start to
 * the banner, and the V8 heap after loading (after a full GC).
 *
 * Each measure runs `runSim` of a checkout in a fresh child process (this
 * script with `--child`), so a peak is that run's alone and a checkout
 * before a change (a `git worktree`) can be measured next to this one in
 * the same run:
 *
 * ```sh
 * deno run -A tests/sim/replay_load_memory.ts STORE [--root DIR]… \
 *   [--from T] [--to T] [--runs N] [--tile N]
 * ```
 *
 * With no `--root`, the checkout this script belongs to. `--tile N`
 * measures a copy of STORE holding its recording N times over, one after
 * the other (sequence numbers, times, trade ids shifted; each copy's book
 * a new stream, so it starts from its own snapshots): a longer recording
 * of the same market, to show how the cost grows with length. Prints one
 * line per run and the median per checkout. Not a test: no figure is
 * asserted.
 *
 * @module
 */

const HERE = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

interface Figures {
  bannerMs: number;
  hwmMb: number;
  rssMb: number;
  heapMb: number;
  banner: string[];
}

const encoder = new TextEncoder();

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

function statusMb(field: string): number {
  const text = Deno.readTextFileSync("/proc/self/status");
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  if (match === null) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]) / 1024;
}

async function child(root: string, args: string[]): Promise<void> {
  const started = performance.now();
  const { runSim, parseSimFlags } = await import(
    `file://${root}/server/cli/sim_cmd.ts`
  );
  const { denoIo } = await import(`file://${root}/server/cli/io.ts`);
  const flags = parseSimFlags(["--port", "0", "--no-control", ...args]);
  if (flags.kind !== "sim") throw new Error(JSON.stringify(flags));
  const stop = new AbortController();
  const banner: string[] = [];
  let done: Figures | undefined;
  const io = {
    ...denoIo(),
    stdout: (text: string) => {
      for (const line of text.split("\n")) {
        if (line.startsWith("Replay:") || line.startsWith("Book:")) {
          banner.push(line);
        }
        if (line.startsWith("API key:") && done === undefined) {
          const bannerMs = performance.now() - started;
          (globalThis as { gc?: () => void }).gc?.();
          done = {
            bannerMs,
            hwmMb: statusMb("VmHWM"),
            rssMb: statusMb("VmRSS"),
            heapMb: Deno.memoryUsage().heapUsed / 2 ** 20,
            banner,
          };
          stop.abort();
        }
      }
    },
    stderr: (text: string) => Deno.stderr.writeSync(encoder.encode(text)),
    stop: stop.signal,
  };
  const code = await runSim(flags, io);
  if (done === undefined) {
    throw new Error(`sim exited ${code} before its banner`);
  }
  say(JSON.stringify(done));
}

async function measure(root: string, args: string[]): Promise<Figures> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      `--config=${root}/deno.json`,
      new URL(import.meta.url).pathname,
      "--child",
      root,
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1);
  if (!out.success || text === undefined) {
    throw new Error(`child for ${root} failed`);
  }
  return JSON.parse(text) as Figures;
}

/** Copy `store` into `dir`, its recording repeated `times` times over. */
async function tile(
  store: string,
  dir: string,
  times: number,
): Promise<string> {
  const path = `${dir}/tiled.duckdb`;
  await Deno.copyFile(store, path);
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(path);
  const db = await instance.connect();
  try {
    const [span] = (await db.runAndReadAll(
      `SELECT max(seq) AS seq, epoch_us(max(received_at))
         - epoch_us(min(received_at)) + 1000000 AS us
       FROM bronze_book_kraken`,
    )).getRowObjects();
    const seq = Number(span!.seq);
    const us = Number(span!.us);
    const ids = Number(
      (await db.runAndReadAll(
        `SELECT max(trade_id) - min(trade_id) + 1 AS n FROM bronze_trades_kraken`,
      )).getRowObjects()[0]!.n,
    ) * 10;
    await db.run(
      `CREATE TEMP TABLE book AS SELECT * FROM bronze_book_kraken;
       CREATE TEMP TABLE trades AS SELECT * FROM bronze_trades_kraken`,
    );
    for (let k = 1; k < times; k++) {
      await db.run(
        `INSERT INTO bronze_book_kraken BY NAME SELECT * REPLACE (
           seq + ${k * seq} AS seq,
           received_at + to_microseconds(${k * us}) AS received_at,
           stream || '#${k}' AS stream) FROM book;
         INSERT INTO bronze_trades_kraken BY NAME SELECT * REPLACE (
           trade_id + ${k * ids} AS trade_id,
           strftime(CAST(timestamp AS TIMESTAMP) + to_microseconds(${
          k * us
        }), '%Y-%m-%dT%H:%M:%S.%fZ') AS timestamp,
           received_at + to_microseconds(${
          k * us
        }) AS received_at) FROM trades`,
      );
    }
    await db.run("CHECKPOINT");
  } finally {
    db.closeSync();
    instance.closeSync();
  }
  return path;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (import.meta.main) {
  const args = [...Deno.args];
  if (args[0] === "--child") {
    await child(args[1]!, args.slice(2));
  } else {
    const store = args.shift();
    if (store === undefined) {
      Deno.stderr.writeSync(encoder.encode(
        "usage: replay_load_memory.ts STORE [--root DIR]… [--from T] [--to T] [--runs N]\n",
      ));
      Deno.exit(2);
    }
    const roots: string[] = [];
    const simArgs: string[] = [];
    let runs = 3;
    let tiles = 1;
    for (let i = 0; i < args.length; i += 2) {
      const [flag, value] = [args[i]!, args[i + 1]!];
      if (flag === "--root") roots.push(value.replace(/\/$/, ""));
      else if (flag === "--runs") runs = Number(value);
      else if (flag === "--tile") tiles = Number(value);
      else simArgs.push(flag, value);
    }
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_memory_" });
    const path = tiles > 1 ? await tile(store, dir, tiles) : store;
    simArgs.unshift("--replay", path);
    if (tiles > 1) {
      say(
        `${store} × ${tiles}: ${
          (Deno.statSync(path).size / 2 ** 20).toFixed(0)
        } MB`,
      );
    }
    if (roots.length === 0) roots.push(HERE);
    const all = new Map<string, Figures[]>(roots.map((r) => [r, []]));
    // Interleaved, so a busy machine weighs on every checkout alike.
    for (let run = 0; run < runs; run++) {
      for (const root of roots) {
        const f = await measure(root, simArgs);
        all.get(root)!.push(f);
        say(
          `${root}: banner ${f.bannerMs.toFixed(0)} ms, peak RSS ${
            f.hwmMb.toFixed(0)
          } MB, RSS ${f.rssMb.toFixed(0)} MB, heap ${f.heapMb.toFixed(1)} MB`,
        );
      }
    }
    for (const [root, list] of all) {
      say(
        `median of ${list.length} ${root}: banner ${
          median(list.map((f) => f.bannerMs)).toFixed(0)
        } ms, peak RSS ${
          median(list.map((f) => f.hwmMb)).toFixed(0)
        } MB, heap ${median(list.map((f) => f.heapMb)).toFixed(1)} MB`,
      );
      say(`  ${list[0]!.banner.slice(0, 3).join("\n  ")}`);
    }
    // The point of a change to loading is that it plays the same market.
    const banners = [...all.values()].map((l) => l[0]!.banner.join("\n"));
    say(
      `Replay and Book lines ${
        banners.every((b) => b === banners[0]) ? "identical" : "DIFFER"
      } across checkouts (${
        all.values().next().value!.at(0)!.banner.length
      } lines)`,
    );
    await Deno.remove(dir, { recursive: true });
  }
}
