/**
 * Proxy speed against its floor, in one run: Krakked's warm cached public
 * route (`krakked serve --sim`, the real CLI in its own process, its log
 * lines going to a pipe this script drains) and a bare `Deno.serve`
 * answering the same bytes and headers (`_floor_server.ts`, its own
 * process). Rounds are interleaved (floor, Krakked, Krakked, floor, …) at
 * 1, 16 and 64 connections; the report gives req/s, p50 and p99 per side
 * (every round's latencies pooled) and the ratios, with the median of the
 * per-round throughput ratios.
 *
 * ```sh
 * deno task bench:load                  # wrk when installed (apt-get install wrk)
 * deno task bench:load --deno-gen       # the Deno load generator (_load_gen.ts)
 * deno task bench:load --profile        # also a CPU profile of Krakked at c=64
 * deno task bench:load --before DIR     # also a Krakked checkout in DIR (git archive)
 * deno task bench:load --root DIR       # Krakked from DIR instead of this tree
 * deno task bench:load --seconds 3 --rounds 3
 * deno task bench:load --v8 --optimize-for-size   # V8 flags for Krakked
 *                                        # (default: the serve task's; --v8 none)
 * ```
 *
 * The load generator runs in this process, each server in its own. On a
 * 2-core machine the generator takes one core: see `_load_gen.ts` on what
 * that means for fairness, and use `--wrk` to cross-check.
 *
 * Targets (issue 13): Krakked ≥ 0.5× the floor's req/s at c=16 and c=64,
 * Krakked's p99 ≤ 3× the floor's.
 */

import { quantile, runLoad } from "./_load_gen.ts";
import {
  cpuProfile,
  Inspector,
  prepareServeTask,
  summarizeCpu,
} from "./_inspector.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PATH = "/api/public/Ticker?pair=XBTUSD";
const encoder = new TextEncoder();

/** The report goes to stdout (console is linted out of tests). */
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

interface Args {
  seconds: number;
  rounds: number;
  concurrency: number[];
  wrk: boolean;
  profile: boolean;
  before: string | undefined;
  /** Krakked's checkout (default: this one). */
  root: string;
  /** V8 flags for Krakked (both checkouts); `undefined`: the serve task's. */
  v8: string[] | undefined;
}

function parseArgs(argv: readonly string[], wrk: boolean): Args {
  const args: Args = {
    seconds: 3,
    rounds: 3,
    concurrency: [1, 16, 64],
    wrk,
    profile: false,
    before: undefined,
    root: ROOT.replace(/\/$/, ""),
    v8: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--seconds") args.seconds = Number(value());
    else if (a === "--rounds") args.rounds = Number(value());
    else if (a === "--c") args.concurrency = value().split(",").map(Number);
    else if (a === "--wrk") args.wrk = true;
    else if (a === "--deno-gen") args.wrk = false;
    else if (a === "--profile") args.profile = true;
    else if (a === "--before") args.before = value();
    else if (a === "--root") args.root = value();
    else if (a === "--v8") {
      const flag = value();
      args.v8 = [...(args.v8 ?? []), ...(flag === "none" ? [] : [flag])];
    } else throw new Error(`unknown flag ${a}`);
  }
  return args;
}

interface Target {
  name: string;
  url: string;
  process: Deno.ChildProcess;
  inspectorUrl?: string;
  /** How it was started (Krakked: entry and flags). */
  launch?: string;
  /** Bytes the process wrote to stderr (Krakked: its log). */
  stderrBytes: () => number;
}

/** Read lines from a stream until `match` finds something; drain the rest. */
function watch(
  stream: ReadableStream<Uint8Array>,
): {
  until: (re: RegExp) => Promise<RegExpExecArray>;
  bytes: () => number;
} {
  let text = "";
  let bytes = 0;
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of stream) {
      bytes += chunk.length;
      // Keep the start of the output (the lines waited for); drain the rest.
      if (text.length < 65_536) {
        text += decoder.decode(chunk, { stream: true });
        for (let i = waiters.length - 1; i >= 0; i--) {
          const m = waiters[i]!.re.exec(text);
          if (m) {
            waiters[i]!.resolve(m);
            waiters.splice(i, 1);
          }
        }
      }
    }
  })();
  return {
    until: (re) =>
      new Promise((resolve, reject) => {
        const m = re.exec(text);
        if (m) return resolve(m);
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${re}: ${text}`)),
          60_000,
        );
        waiters.push({
          re,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      }),
    bytes: () => bytes,
  };
}

/**
 * Starts Krakked as its `serve` task does (the bundle it builds, its
 * runtime flags), with `v8` flags.
 */
async function startKrakked(
  name: string,
  root: string,
  configDir: string,
  inspect: boolean,
  v8: readonly string[] | undefined,
): Promise<Target> {
  const task = await prepareServeTask(root);
  const flags = v8 ?? task.v8;
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(inspect ? ["--inspect=127.0.0.1:0"] : []),
      ...task.deno,
      ...(flags.length > 0 ? [`--v8-flags=${flags.join(",")}`] : []),
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys=osRelease,homedir",
      `${root}/${task.entry}`,
      "serve",
      "--sim",
      "--port",
      "0",
    ],
    cwd: root,
    env: { KRAKKED_CONFIG_DIR: configDir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  watch(process.stdout);
  // The operator's notes and the log both go to stderr.
  const err = watch(process.stderr);
  const inspectorUrl = inspect
    ? (await err.until(/Debugger listening on (ws:\/\/\S+)/))[1]
    : undefined;
  const url = (await err.until(/open (http:\/\/[\d.]+:\d+)/))[1]!;
  return {
    name,
    url,
    process,
    launch: [
      task.entry,
      ...task.deno,
      ...(flags.length ? ["V8", ...flags] : []),
    ]
      .join(" "),
    ...(inspectorUrl !== undefined ? { inspectorUrl } : {}),
    stderrBytes: err.bytes,
  };
}

async function startFloor(answerFile: string): Promise<Target> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      `${ROOT}tests/server/_floor_server.ts`,
      answerFile,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = watch(process.stdout);
  const err = watch(process.stderr);
  const url = (await out.until(/(http:\/\/[\d.]+:\d+)/))[1]!;
  return { name: "floor", url, process, stderrBytes: err.bytes };
}

interface Sample {
  ok: number;
  failed: number;
  seconds: number;
  latencies: number[];
  /** wrk only: its own percentiles, ms. */
  p50?: number;
  p99?: number;
}

function wrkUnit(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

async function runWrk(
  url: string,
  concurrency: number,
  seconds: number,
): Promise<Sample> {
  const { stdout } = await new Deno.Command("wrk", {
    args: [
      "-t1",
      `-c${concurrency}`,
      `-d${seconds}s`,
      "--latency",
      url + PATH,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout);
  const count = /(\d+) requests in ([\d.]+)(ms|s)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const pct = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m ? wrkUnit(m[1]!, m[2]!) : NaN;
  };
  if (count === null) throw new Error(`wrk said: ${text}`);
  const failed = Number(non2xx?.[1] ?? 0);
  return {
    ok: Number(count[1]) - failed,
    failed,
    seconds: wrkUnit(count[2]!, count[3]!) / (count[3] === "ms" ? 1000 : 1000),
    latencies: [],
    p50: pct("50"),
    p99: pct("99"),
  };
}

async function measure(
  target: Target,
  concurrency: number,
  args: Args,
): Promise<Sample> {
  if (args.wrk) return await runWrk(target.url, concurrency, args.seconds);
  // A short unmeasured warm-up: connections open, JIT warm.
  await runLoad(target.url + PATH, concurrency, 0.3);
  const r = await runLoad(target.url + PATH, concurrency, args.seconds);
  return {
    ok: r.ok,
    failed: r.failed,
    seconds: r.seconds,
    latencies: Array.from(r.latenciesMs),
  };
}

interface Pooled {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  perRoundRps: number[];
}

function pool(samples: Sample[]): Pooled {
  const ok = samples.reduce((s, x) => s + x.ok, 0);
  const seconds = samples.reduce((s, x) => s + x.seconds, 0);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  };
  let p50: number;
  let p99: number;
  if (samples.every((s) => s.p50 !== undefined)) {
    // wrk gives percentiles per round only: the median round's.
    p50 = median(samples.map((s) => s.p50!));
    p99 = median(samples.map((s) => s.p99!));
  } else {
    const all = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
    p50 = quantile(all, 0.5);
    p99 = quantile(all, 0.99);
  }
  return {
    rps: ok / seconds,
    p50,
    p99,
    failed: samples.reduce((s, x) => s + x.failed, 0),
    perRoundRps: samples.map((s) => s.ok / s.seconds),
  };
}

async function hasWrk(): Promise<boolean> {
  try {
    // `wrk --version` exits with 1; that it ran at all is the answer.
    await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const wrk = await hasWrk();
  const args = parseArgs(Deno.args, wrk);
  const v8 = args.v8;
  const work = await Deno.makeTempDir({ prefix: "krakked_load_" });
  const targets: Target[] = [];
  try {
    const krakked = await startKrakked(
      "krakked",
      args.root,
      `${work}/config`,
      args.profile,
      v8,
    );
    targets.push(krakked);
    if (args.before !== undefined) {
      targets.push(
        await startKrakked(
          "before",
          args.before,
          `${work}/config_before`,
          false,
          v8,
        ),
      );
    }
    // The floor answers exactly what Krakked answers (less Date and length).
    const first = await fetch(krakked.url + PATH);
    const body = await first.text();
    if (first.status !== 200) {
      throw new Error(`Krakked answered ${first.status}`);
    }
    const headers = [...first.headers.entries()].filter(([k]) =>
      k !== "date" && k !== "content-length"
    );
    await Deno.writeTextFile(
      `${work}/answer.json`,
      JSON.stringify({ body, headers }),
    );
    targets.unshift(await startFloor(`${work}/answer.json`));

    say(
      `proxy load: GET ${PATH}, ${args.rounds} interleaved rounds of ${args.seconds} s, ` +
        `generator ${args.wrk ? "wrk -t1" : "Deno raw TCP (_load_gen.ts)"}, ` +
        `Krakked as its serve task runs it (${krakked.launch}), ` +
        `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
    );
    say(`answer: ${body.length} body bytes, ${headers.length} headers`);
    const results = new Map<string, Map<number, Sample[]>>();
    for (const t of targets) results.set(t.name, new Map());
    for (const c of args.concurrency) {
      for (let round = 0; round < args.rounds; round++) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          const sample = await measure(t, c, args);
          const list = results.get(t.name)!.get(c) ?? [];
          list.push(sample);
          results.get(t.name)!.set(c, list);
        }
      }
    }

    say("");
    say(
      "target    conns     req/s   p50 ms   p99 ms  failed   ×floor req/s (median round)  ×floor p99",
    );
    for (const c of args.concurrency) {
      const floor = pool(results.get("floor")!.get(c)!);
      for (const t of targets) {
        const p = pool(results.get(t.name)!.get(c)!);
        const ratios = p.perRoundRps.map((r, i) => r / floor.perRoundRps[i]!)
          .sort((a, b) => a - b);
        const mid = ratios[Math.floor(ratios.length / 2)]!;
        say(
          `${t.name.padEnd(8)} ${String(c).padStart(6)} ${
            p.rps.toFixed(0).padStart(9)
          } ${p.p50.toFixed(2).padStart(8)} ${p.p99.toFixed(2).padStart(8)} ${
            String(p.failed).padStart(7)
          }   ${(p.rps / floor.rps).toFixed(2).padStart(5)}× (${
            mid.toFixed(2)
          }×)              ${(p.p99 / floor.p99).toFixed(2).padStart(5)}×`,
        );
      }
    }
    say(
      `Krakked log: ${(krakked.stderrBytes() / 1024).toFixed(0)} KiB on stderr`,
    );

    if (args.profile && krakked.inspectorUrl !== undefined) {
      const inspector = await Inspector.connect(krakked.inspectorUrl);
      const profile = await cpuProfile(inspector, async () => {
        await measure(krakked, 64, args);
      });
      inspector.close();
      await Deno.writeTextFile(
        `${ROOT}test-artifacts/proxy_load.cpuprofile`,
        JSON.stringify(profile),
      );
      say("");
      say(
        "CPU profile of Krakked at c=64 (test-artifacts/proxy_load.cpuprofile):",
      );
      for (const line of summarizeCpu(profile, 30)) say(line);
    }
  } finally {
    for (const t of targets) {
      try {
        t.process.kill("SIGTERM");
        await t.process.status;
      } catch {
        // already gone
      }
    }
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await main();
