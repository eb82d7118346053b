/**
 * Memory of `krakked serve --sim` at N streaming pairs, reproducibly: the
 * real CLI in its own process, the simulator in-process (as `--sim` runs
 * it), and one WebSocket client doing what the page's worker does for a
 * watch list: `ticker` for N pairs, plus `book` (depth 10) for each with
 * `--book`. RSS is read from /proc; the JS heap, external memory and a
 * sampling heap profile grouped by source area (simulator, server, core,
 * dependencies, runtime) come over the inspector, so the report says how
 * much of the memory is the simulator's.
 *
 * ```sh
 * deno run -A tests/server/serve_rss.ts                 # 0, 30, 100, 300 pairs
 * deno run -A tests/server/serve_rss.ts --pairs 30,300 --book --seconds 20
 * deno run -A tests/server/serve_rss.ts --heap --snapshot  # JS heap by area and by kind
 * deno run -A tests/server/serve_rss.ts --root DIR     # another checkout (git archive)
 * deno run -A tests/server/serve_rss.ts --before DIR   # also DIR, row by row (before/after)
 * deno run -A tests/server/serve_rss.ts --sim-alone   # also the simulator in a process of its own
 * deno run -A tests/server/serve_rss.ts --features    # also a floor of the Deno features serve uses
 * deno run -A tests/server/serve_rss.ts --repeat 3    # medians of 3 starts a row (RSS varies ±3 MiB a start)
 * deno run -A tests/server/serve_rss.ts --v8 --max-semi-space-size=1   # a V8 flag (repeatable)
 *   (default: those of the `serve` task in deno.json; `--v8 none` for none)
 * deno run -A tests/server/serve_rss.ts --deno --no-code-cache   # a runtime flag (repeatable)
 *   (default: the `serve` task's other flags, e.g. --no-code-cache; `--deno none`)
 * ```
 *
 * The server is started as the `serve` task starts it (deno.json): its
 * entry (the bundle `dist/serve/main.js`, built first by the task's
 * `build:serve`), its runtime and V8 flags. The simulator alone is loaded
 * the same way (bundled with the same externals when serve is), from a
 * fixed path under `dist/serve_rss/`, so Deno's first-load cost of a new
 * file is not in the figure.
 *
 * RSS figures come from runs without the inspector (it costs memory of its
 * own); `--heap` (a sampling heap profile from the start, grouped by source
 * area) and `--snapshot` (a heap snapshot summed by kind) attach it.
 * The floor: a bare `Deno.serve` process's RSS, measured in the same run.
 * Linux only (/proc).
 */

import {
  heapSnapshotSummary,
  Inspector,
  prepareServeTask,
} from "./_inspector.ts";

const HERE = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
/** Krakked's checkout (`--root DIR`; default: this one). */
let ROOT = HERE;
/** Another checkout measured beside it (`--before DIR`). */
let BEFORE: string | undefined;
const encoder = new TextEncoder();

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

interface Args {
  pairs: number[];
  seconds: number;
  book: boolean;
  v8: string[] | undefined;
  /** Runtime flags besides permissions (`--no-code-cache`); `undefined`: the task's. */
  deno: string[] | undefined;
  profile: boolean;
  snapshot: boolean;
  inspect: boolean;
  /** Also measure the simulator alone (how much of serve --sim it is). */
  simAlone: boolean;
  /** Also the platform floor of what serve uses (see `featureFloorRss`). */
  features: boolean;
  /** Starts per row; the row shows medians (and the streaming range). */
  repeat: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    pairs: [0, 30, 100, 300],
    seconds: 15,
    book: false,
    v8: undefined,
    deno: undefined,
    profile: false,
    snapshot: false,
    inspect: false,
    simAlone: false,
    features: false,
    repeat: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--pairs") args.pairs = value().split(",").map(Number);
    else if (a === "--seconds") args.seconds = Number(value());
    else if (a === "--book") args.book = true;
    else if (a === "--sim-alone") args.simAlone = true;
    else if (a === "--features") args.features = true;
    else if (a === "--repeat") args.repeat = Number(value());
    else if (a === "--root") ROOT = value().replace(/\/$/, "");
    else if (a === "--before") BEFORE = value().replace(/\/$/, "");
    else if (a === "--heap") args.inspect = args.profile = true;
    else if (a === "--snapshot") args.inspect = args.snapshot = true;
    else if (a === "--v8") {
      const flag = value();
      args.v8 = [...(args.v8 ?? []), ...(flag === "none" ? [] : [flag])];
    } else if (a === "--deno") {
      const flag = value();
      args.deno = [...(args.deno ?? []), ...(flag === "none" ? [] : [flag])];
    } else throw new Error(`unknown flag ${a}`);
  }
  if (args.repeat > 1 && args.inspect) {
    throw new Error("--repeat gives RSS medians: not with --heap/--snapshot");
  }
  return args;
}

/** Resident set size of a process, MiB (Linux). */
async function rssMiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  if (kb === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb[1]) / 1024;
}

function watchText(stream: ReadableStream<Uint8Array>): () => string {
  let text = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of stream) {
      if (text.length < 65_536) text += decoder.decode(chunk, { stream: true });
    }
  })();
  return () => text;
}

async function waitFor(
  read: () => string,
  re: RegExp,
  what: string,
): Promise<RegExpExecArray> {
  for (let i = 0; i < 600; i++) {
    const m = re.exec(read());
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${what}: ${read()}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

async function memory(
  inspector: Inspector | undefined,
  pid: number,
): Promise<Memory> {
  if (inspector === undefined) {
    return {
      rss: await rssMiB(pid),
      heapUsed: NaN,
      heapTotal: NaN,
      external: NaN,
    };
  }
  await inspector.send("HeapProfiler.collectGarbage");
  const { result } = await inspector.send("Runtime.evaluate", {
    expression: "JSON.stringify(Deno.memoryUsage())",
    returnByValue: true,
  }) as { result: { value: string } };
  const m = JSON.parse(result.value) as Record<string, number>;
  const mib = (n: number) => n / 1024 / 1024;
  return {
    rss: await rssMiB(pid),
    heapUsed: mib(m.heapUsed!),
    heapTotal: mib(m.heapTotal!),
    external: mib(m.external!),
  };
}

interface SamplingNode {
  callFrame: { url: string; functionName: string };
  selfSize: number;
  children: SamplingNode[];
}

/** Area of a source URL, for grouping live allocations. */
function area(url: string): string {
  if (url.includes("/dist/serve")) return "Krakked bundle (server, sim, core)";
  if (url.includes("/server/sim/")) return "simulator (server/sim)";
  if (url.includes("/server/")) return "server (http, trading, cli)";
  if (url.includes("/core/")) return "core";
  if (url.includes("node_modules")) return "npm dependencies";
  if (url === "") return "(no script: runtime, compiled code)";
  return "Deno runtime (ext:)";
}

/** Live sampled bytes per area, attributed to the innermost project frame. */
function groupHeap(root: SamplingNode): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (node: SamplingNode, owner: string | undefined) => {
    const url = node.callFrame.url;
    const mine = /\/(server|core)\//.test(url) ? area(url) : undefined;
    const who = mine ?? owner ?? area(url);
    if (node.selfSize > 0) out.set(who, (out.get(who) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, mine ?? owner);
  };
  walk(root, undefined);
  return out;
}

/** How a measured process is started: its checkout, V8 and runtime flags. */
interface Flags {
  root: string;
  /** Row suffix naming the checkout ("" for this one). */
  label: string;
  v8: string[];
  deno: string[];
  /** The script the `serve` task runs, relative to the root. */
  entry: string;
  /** When that is a bundle: the `--external=` flags it was built with. */
  bundle: string[] | undefined;
}

function runtimeFlags(flags: Flags): string[] {
  return [
    ...flags.deno,
    ...(flags.v8.length > 0 ? [`--v8-flags=${flags.v8.join(",")}`] : []),
  ];
}

async function startServe(pairs: number, flags: Flags, inspect: boolean) {
  const config = await Deno.makeTempDir({ prefix: "krakked_rss_" });
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(inspect ? ["--inspect-wait=127.0.0.1:0"] : []),
      ...runtimeFlags(flags),
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys=osRelease,homedir",
      `${flags.root}/${flags.entry}`,
      "serve",
      "--sim",
      "--port",
      "0",
      ...(pairs > 0 ? ["--sim-pairs", String(pairs)] : []),
    ],
    cwd: flags.root,
    env: { KRAKKED_CONFIG_DIR: config },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const err = watchText(process.stderr);
  let inspector: Inspector | undefined;
  if (inspect) {
    const ws =
      (await waitFor(err, /Debugger listening on (ws:\/\/\S+)/, "inspector"))[
        1
      ]!;
    inspector = await Inspector.connect(ws, { run: false });
    await inspector.send("HeapProfiler.enable");
    await inspector.send("HeapProfiler.startSampling", {
      samplingInterval: 4096,
    });
    await inspector.send("Runtime.runIfWaitingForDebugger");
  }
  const m = await waitFor(
    err,
    /offline simulator at (http:\/\/\S+?)\) — open (http:\/\/\S+)/,
    "server URL",
  );
  return {
    process,
    inspector,
    simUrl: m[1]!,
    publicBase: `${m[2]!}/api/public`,
    async close() {
      inspector?.close();
      process.kill("SIGTERM");
      await process.status;
      await Deno.remove(config, { recursive: true });
    },
  };
}

/**
 * The simulator as `serve --sim` starts it (same options, WebSocket plugin),
 * but alone in its process: what `serve --sim` would weigh without Krakked.
 */
async function startSimAlone(pairs: number, flags: Flags) {
  // A file at a fixed path, not `deno eval` (eval takes no --no-code-cache;
  // a new path each run would pay Deno's first-load cost every time).
  const dir = `${flags.root}/dist/serve_rss`;
  await Deno.mkdir(dir, { recursive: true });
  const name = `sim_alone_${pairs}`;
  await Deno.writeTextFile(
    `${dir}/${name}.ts`,
    `
    import { startSimulator, webSocketPlugin } from "../../server/sim/server.ts";
    const sim = await startSimulator({
      port: 0, seed: 1, tier: "starter", websocket: webSocketPlugin(),
      ${pairs > 0 ? `syntheticPairs: ${pairs},` : ""}
    });
    Deno.stderr.writeSync(new TextEncoder().encode("sim at " + sim.url + "\\n"));
  `,
  );
  let file = `${dir}/${name}.ts`;
  if (flags.bundle !== undefined) {
    // Loaded the way serve's own code is: bundled, npm packages external.
    const built = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "deno",
        ...flags.bundle,
        "--outdir",
        `${dir}/bundle_${pairs}`,
        file,
      ],
      cwd: flags.root,
      stdout: "null",
    }).output();
    if (!built.success) throw new Error("cannot bundle the simulator alone");
    file = `${dir}/bundle_${pairs}/${name}.js`;
  }
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      ...runtimeFlags(flags),
      "--config",
      `${flags.root}/deno.json`,
      file,
    ],
    cwd: flags.root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const err = watchText(process.stderr);
  const simUrl = (await waitFor(err, /sim at (http:\/\/\S+)/, "sim URL"))[1]!;
  return {
    process,
    inspector: undefined,
    simUrl,
    publicBase: `${simUrl}/0/public`,
    async close() {
      process.kill("SIGTERM");
      await process.status;
    },
  };
}

/**
 * The first `n` WS symbols a public REST base lists (Krakked's proxy,
 * `…/api/public`, or the simulator's, `…/0/public`).
 */
async function symbols(base: string, n: number): Promise<string[]> {
  const res = await fetch(`${base}/AssetPairs`);
  const body = await res.json() as {
    result: Record<string, { wsname?: string }>;
  };
  const names = Object.values(body.result).map((p) => p.wsname).filter(
    (s): s is string => s !== undefined,
  );
  // Synthetic pairs first: they exist for load tests like this one.
  names.sort((a, b) =>
    Number(!a.startsWith("SYN")) - Number(!b.startsWith("SYN"))
  );
  if (names.length < n) {
    throw new Error(`only ${names.length} pairs, ${n} asked for`);
  }
  return names.slice(0, n);
}

/** A page-like client: ticker (and book) for every symbol; counts frames. */
async function stream(
  simUrl: string,
  list: string[],
  book: boolean,
): Promise<{ frames: () => number; close: () => void }> {
  const ws = new WebSocket(simUrl.replace(/^http/, "ws") + "/v2");
  let frames = 0;
  ws.onmessage = () => frames++;
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("cannot open the simulator's WS"));
  });
  let id = 1;
  ws.send(JSON.stringify({
    method: "subscribe",
    params: { channel: "ticker", symbol: list },
    req_id: id++,
  }));
  if (book) {
    ws.send(JSON.stringify({
      method: "subscribe",
      params: { channel: "book", symbol: list, depth: 10 },
      req_id: id++,
    }));
  }
  return { frames: () => frames, close: () => ws.close() };
}

async function floorRss(): Promise<number> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, () => new Response('ok'))",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await sleep(3_000);
  const rss = await rssMiB(process.pid);
  process.kill("SIGTERM");
  await process.status;
  return rss;
}

/**
 * The Deno features `serve --sim` exercises, without Krakked: an HTTP
 * server and client, a WebSocket server and client exchanging JSON, HMAC
 * in WebCrypto, `node:async_hooks` and `node:path`, the npm packages serve
 * loads (hono, yaml, @noble/hashes), and hot code the JIT compiles. What
 * it weighs is RSS no change inside Krakked can remove on this runtime.
 */
const FEATURES_SCRIPT = `
import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import { Hono } from "hono";
import { parseDocument } from "yaml";
import { sha512 } from "@noble/hashes/sha2.js";
new AsyncLocalStorage().run(1, () => join("a", "b"));
parseDocument("a: 1");
sha512(new Uint8Array(1));
const key = await crypto.subtle.importKey("raw", new Uint8Array(64),
  { name: "HMAC", hash: "SHA-512" }, false, ["sign"]);
await crypto.subtle.sign("HMAC", key, new Uint8Array(100));
const app = new Hono();
app.get("/x", (c) => c.json({ ok: [1, 2, 3] }));
app.get("/ws", (c) => {
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
  socket.onmessage = (e) =>
    socket.send(JSON.stringify({ echo: String(e.data), t: Date.now() }));
  return response;
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
const base = "127.0.0.1:" + server.addr.port;
const ws = new WebSocket("ws://" + base + "/ws");
let n = 0;
ws.onopen = () => ws.send("x");
ws.onmessage = (e) => { JSON.parse(e.data); if (n++ < 20000) ws.send("x" + n); };
for (let i = 0; i < 2000; i++) await (await fetch("http://" + base + "/x")).json();
Deno.stderr.writeSync(new TextEncoder().encode("features done\\n"));
`;

/** RSS of {@linkcode FEATURES_SCRIPT} with serve's flags, after its work. */
async function featureFloorRss(flags: Flags): Promise<number> {
  const dir = `${flags.root}/dist/serve_rss`;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/features.ts`;
  await Deno.writeTextFile(file, FEATURES_SCRIPT);
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      ...runtimeFlags(flags),
      file,
    ],
    cwd: flags.root,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    await waitFor(watchText(process.stderr), /features done/, "features");
    await sleep(3_000);
    return await rssMiB(process.pid);
  } finally {
    process.kill("SIGTERM");
    await process.status;
  }
}

const f1 = (n: number) => n.toFixed(1).padStart(6);

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const setups: Flags[] = [];
  for (const [root, label] of [[BEFORE, " before"], [ROOT, ""]] as const) {
    if (root === undefined) continue;
    // The task's own build steps (the server bundle), not the page's.
    const task = await prepareServeTask(root);
    setups.push({
      root,
      label,
      v8: args.v8 ?? task.v8,
      deno: args.deno ?? task.deno,
      entry: task.entry,
      bundle: task.entry.endsWith(".js") ? task.externals : undefined,
    });
  }
  say(
    `serve --sim memory, Deno ${Deno.version.deno}, ${args.seconds} s streaming, ` +
      `channels: ticker${args.book ? " + book(10)" : ""}`,
  );
  for (const flags of setups) {
    say(
      `${flags.label ? `${flags.label.trim()} (${flags.root})` : flags.root}: ${
        [
          flags.entry,
          ...flags.deno,
          ...(flags.v8.length ? ["V8", ...flags.v8] : []),
        ].join(" ")
      }`,
    );
  }
  say(`floor: bare Deno.serve RSS ${f1(await floorRss())} MiB`);
  if (args.features) {
    for (const flags of setups) {
      say(
        `features floor${flags.label}: ${
          f1(await featureFloorRss(flags))
        } MiB (HTTP server+client, WS server+client, HMAC, node:*, hono+yaml+noble, JIT; no Krakked)`,
      );
    }
  }
  say(
    "pairs  frames/s   RSS idle  RSS streaming (max)   heap used  heap total  external   MiB",
  );
  for (const n of args.pairs) {
    for (const flags of setups) {
      await rows(
        flags.label,
        () => startServe(n, flags, args.inspect),
        n,
        args,
      );
      if (args.simAlone) {
        await rows(
          ` sim alone${flags.label}`,
          () => startSimAlone(n, flags),
          n,
          args,
        );
      }
    }
  }
}

interface Measured {
  process: Deno.ChildProcess;
  inspector: Inspector | undefined;
  simUrl: string;
  publicBase: string;
  close(): Promise<void>;
}

/** What one start measured. */
interface RowFigures {
  rate: number;
  idle: number;
  busy: number;
  peak: number;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * One row: a single start as {@linkcode row} prints it, or with
 * `--repeat N` the medians of N starts (inspector figures left out) and the
 * streaming RSS range.
 */
async function rows(
  label: string,
  start: () => Promise<Measured>,
  n: number,
  args: Args,
): Promise<void> {
  if (args.repeat <= 1) {
    await row(label, await start(), n, args, true);
    return;
  }
  const all: RowFigures[] = [];
  for (let i = 0; i < args.repeat; i++) {
    all.push(
      await row(label, await start(), n, { ...args, inspect: false }, false),
    );
  }
  const m = (pick: (r: RowFigures) => number) => median(all.map(pick));
  const busy = all.map((r) => r.busy);
  say(
    `${String(n).padStart(5)} ${m((r) => r.rate).toFixed(0).padStart(9)} ${
      f1(m((r) => r.idle))
    }    ${f1(m((r) => r.busy))} (${f1(m((r) => r.peak))})  streaming ${
      Math.min(...busy).toFixed(1)
    }-${Math.max(...busy).toFixed(1)} over ${args.repeat} starts${label}`,
  );
}

/** Idle, then stream `n` pairs; print one row (when `print`). */
async function row(
  label: string,
  server: Measured,
  n: number,
  args: Args,
  print: boolean,
): Promise<RowFigures> {
  try {
    await sleep(3_000);
    const idle = await memory(server.inspector, server.process.pid);
    let client: Awaited<ReturnType<typeof stream>> | undefined;
    let peak = idle.rss;
    const t0 = performance.now();
    if (n > 0) {
      client = await stream(
        server.simUrl,
        await symbols(server.publicBase, n),
        args.book,
      );
      for (let s = 0; s < args.seconds; s++) {
        await sleep(1_000);
        peak = Math.max(peak, await rssMiB(server.process.pid));
      }
    }
    const busy = await memory(server.inspector, server.process.pid);
    const rate = client
      ? client.frames() / ((performance.now() - t0) / 1000)
      : 0;
    client?.close();
    if (!print) return { rate, idle: idle.rss, busy: busy.rss, peak };
    const details = args.snapshot && server.inspector
      ? await heapSnapshotSummary(server.inspector)
      : [];
    say(
      `${String(n).padStart(5)} ${rate.toFixed(0).padStart(9)} ${
        f1(idle.rss)
      }    ${f1(busy.rss)} (${f1(peak)})        ${f1(busy.heapUsed)}    ${
        f1(busy.heapTotal)
      }    ${f1(busy.external)}${label}`,
    );
    for (const line of details) say(`     ${line}`);
    if (args.profile && server.inspector) {
      const { profile } = await server.inspector.send(
        "HeapProfiler.stopSampling",
      ) as { profile: { head: SamplingNode } };
      const groups = [...groupHeap(profile.head)].sort((a, b) => b[1] - a[1]);
      say(
        `       live JS heap by area (sampled): ${
          groups.map(([k, v]) => `${k} ${(v / 1024 / 1024).toFixed(1)}`)
            .join(", ")
        } MiB`,
      );
    }
    return { rate, idle: idle.rss, busy: busy.rss, peak };
  } finally {
    await server.close();
  }
}

if (import.meta.main) await main();
