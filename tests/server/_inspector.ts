/**
 * A minimal Chrome DevTools Protocol client for a Deno process started with
 * `--inspect=127.0.0.1:0`: a CPU profile over a window (`Profiler.*`), a
 * sampling heap profile of what is still live (`HeapProfiler.*`), and a
 * forced GC. Deno 2.9 has no `--cpu-prof`; this is how the benches profile
 * the server they drive.
 */

/** One CDP session on an inspector WebSocket. */
export class Inspector {
  #ws: WebSocket;
  #next = 1;
  #events = new Map<string, (params: unknown) => void>();
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        params?: unknown;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id === undefined) {
        if (message.method !== undefined) {
          this.#events.get(message.method)?.(message.params);
        }
        return;
      }
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
    };
  }

  /**
   * Connect to `ws://…` as printed by `--inspect` ("Debugger listening on").
   *
   * @param url The inspector WebSocket URL.
   * @param options `run: false` leaves a `--inspect-wait` program waiting
   *   (send `Runtime.runIfWaitingForDebugger` yourself).
   * @returns A connected session.
   */
  static async connect(
    url: string,
    options: { run?: boolean } = {},
  ): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot open inspector ${url}`));
    });
    const inspector = new Inspector(ws);
    await inspector.send("Runtime.enable");
    // Deno waits for this before running a --inspect-wait program.
    if (options.run !== false) {
      await inspector.send("Runtime.runIfWaitingForDebugger");
    }
    return inspector;
  }

  /**
   * Send one command.
   *
   * @param method CDP method.
   * @param params Its parameters.
   * @returns The result object.
   */
  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Listen to one event (one listener per event name).
   *
   * @param method The CDP event, e.g. `HeapProfiler.addHeapSnapshotChunk`.
   * @param listener Called with the event's parameters.
   */
  on(method: string, listener: (params: unknown) => void): void {
    this.#events.set(method, listener);
  }

  /** Close the session. */
  close(): void {
    this.#ws.close();
  }
}

/** A V8 CPU profile (the `.cpuprofile` format). */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Profile the target while `during` runs.
 *
 * @param inspector The session.
 * @param during The load to profile.
 * @returns The profile.
 */
export async function cpuProfile(
  inspector: Inspector,
  during: () => Promise<void>,
): Promise<CpuProfile> {
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 200 });
  await inspector.send("Profiler.start");
  await during();
  const { profile } = await inspector.send("Profiler.stop") as {
    profile: CpuProfile;
  };
  return profile;
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf("/work/main/");
  if (i >= 0) return url.slice(i + 11);
  const n = url.indexOf("node_modules/");
  if (n >= 0) return url.slice(n + 13);
  return url.replace(/^ext:/, "");
}

/**
 * Self and inclusive time shares per function, highest inclusive first.
 *
 * @param profile A CPU profile.
 * @param top How many rows.
 * @returns Lines of text.
 */
export function summarizeCpu(profile: CpuProfile, top = 25): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (id: number): string => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}:${
      f.lineNumber + 1
    }`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const id of profile.samples) {
    total++;
    const name = label(id);
    if (name.startsWith("(idle)")) idle++;
    self.set(name, (self.get(name) ?? 0) + 1);
    const seen = new Set<string>();
    for (
      let at: number | undefined = id;
      at !== undefined;
      at = parent.get(at)
    ) {
      const l = label(at);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + 1);
    }
  }
  const busy = total - idle;
  const pct = (n: number) => `${(100 * n / busy).toFixed(1).padStart(5)} %`;
  const rows = [...inclusive.entries()]
    .filter(([l]) => !l.startsWith("(root)") && !l.startsWith("(idle)"))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([l, n]) => `  incl ${pct(n)}  self ${pct(self.get(l) ?? 0)}  ${l}`);
  return [
    `  ${total} samples, ${
      (100 * idle / total).toFixed(1)
    } % idle; shares of busy samples:`,
    ...rows,
  ];
}

/**
 * Take a heap snapshot and sum self sizes by V8 node type and by the
 * biggest constructor names: where the JS heap is (code, strings, arrays,
 * objects of which class).
 *
 * @param inspector The session.
 * @param top How many constructor rows.
 * @returns Lines of text.
 */
export async function heapSnapshotSummary(
  inspector: Inspector,
  top = 15,
): Promise<string[]> {
  const chunks: string[] = [];
  inspector.on("HeapProfiler.addHeapSnapshotChunk", (p) => {
    chunks.push((p as { chunk: string }).chunk);
  });
  await inspector.send("HeapProfiler.enable");
  await inspector.send("HeapProfiler.takeHeapSnapshot", {
    reportProgress: false,
  });
  const snapshot = JSON.parse(chunks.join("")) as {
    snapshot: {
      meta: { node_fields: string[]; node_types: [string[]] };
    };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const size = snapshot.nodes[i + sizeAt]!;
    total += size;
    byType.set(type, (byType.get(type) ?? 0) + size);
    const name = type === "object" || type === "closure" || type === "code"
      ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!]}`
      : type;
    byName.set(name, (byName.get(name) ?? 0) + size);
  }
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  // Strings by their first characters: source code, JSON, decimals.
  const stringKinds = new Map<string, { n: number; size: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    if (types[snapshot.nodes[i + typeAt]!] !== "string") continue;
    const text = snapshot.strings[snapshot.nodes[i + nameAt]!] ?? "";
    const size = snapshot.nodes[i + sizeAt]!;
    const key = size > 16_384
      ? `large: ${JSON.stringify(text.slice(0, 40))}`
      : size > 256
      ? "256 B-16 KiB"
      : "small (<=256 B)";
    const entry = stringKinds.get(key) ?? { n: 0, size: 0 };
    entry.n++;
    entry.size += size;
    stringKinds.set(key, entry);
  }
  const strings = [...stringKinds].sort((a, b) => b[1].size - a[1].size)
    .slice(0, top).map(([k, v]) => `${k} ×${v.n} ${mib(v.size)}`);
  return [
    `  strings: ${strings.join("; ")}`,
    `  heap snapshot: ${mib(total)} MiB in nodes; by type: ${
      [...byType].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${mib(v)}`)
        .join(", ")
    }`,
    `  largest names: ${
      [...byName].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) =>
        `${k} ${mib(v)}`
      ).join(", ")
    }`,
  ];
}

/**
 * The V8 flags the `serve` task runs with (deno.json), so the benches
 * measure the server as users start it.
 *
 * @param root The repository root.
 * @returns The flags, e.g. `["--optimize-for-size"]`.
 */
export async function serveTaskV8Flags(root: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)) as {
    tasks?: Record<string, string | { command?: string }>;
  };
  const task = config.tasks?.serve;
  const command = typeof task === "string" ? task : task?.command ?? "";
  const match = /--v8-flags=(\S+)/.exec(command);
  return match ? match[1]!.split(",") : [];
}

/**
 * The runtime flags of the `serve` task other than permissions and
 * `--v8-flags` (e.g. `--no-code-cache`), so the benches start the server
 * as the task does.
 *
 * @param root The repository root.
 * @returns The flags, e.g. `["--no-code-cache"]`.
 */
export async function serveTaskDenoFlags(root: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)) as {
    tasks?: Record<string, string | { command?: string }>;
  };
  const task = config.tasks?.serve;
  const command = typeof task === "string" ? task : task?.command ?? "";
  const words = command.split(/\s+/);
  const end = words.findIndex((w) => w.endsWith(".ts") || w.endsWith(".js"));
  return words.slice(0, end === -1 ? words.length : end).filter((w) =>
    w.startsWith("--") && !w.startsWith("--allow-") &&
    !w.startsWith("--v8-flags=")
  );
}

/**
 * What the `serve` task runs: its entry script (`server/main.ts`, or the
 * bundle `dist/serve/main.js`), the tasks it depends on, and the
 * `--external=` flags of the `deno bundle` those tasks run.
 *
 * @param root The repository root.
 * @returns The entry, relative to the root, the dependencies, the externals.
 */
export async function serveTaskEntry(
  root: string,
): Promise<{ entry: string; dependencies: string[]; externals: string[] }> {
  const config = JSON.parse(await Deno.readTextFile(`${root}/deno.json`)) as {
    tasks?: Record<
      string,
      string | { command?: string; dependencies?: string[] }
    >;
  };
  const task = config.tasks?.serve;
  const command = typeof task === "string" ? task : task?.command ?? "";
  const entry =
    command.split(/\s+/).find((w) => w.endsWith(".ts") || w.endsWith(".js")) ??
      "server/main.ts";
  const dependencies = typeof task === "string" ? [] : task?.dependencies ?? [];
  const externals = dependencies.flatMap((name) => {
    const dep = config.tasks?.[name];
    const text = typeof dep === "string" ? dep : dep?.command ?? "";
    return text.split(/\s+/).filter((w) => w.startsWith("--external="));
  });
  return { entry, dependencies, externals };
}

/**
 * Ready the `serve` task's own build steps (the server bundle, not the
 * page) in `root` and say how the task starts the server: its entry,
 * runtime flags and V8 flags, so a bench runs what users run.
 *
 * @param root The repository root.
 * @returns Entry (relative to root), Deno flags, V8 flags, bundle externals.
 * @throws {Error} When a build step fails.
 */
export async function prepareServeTask(root: string): Promise<{
  entry: string;
  deno: string[];
  v8: string[];
  externals: string[];
}> {
  const { entry, dependencies, externals } = await serveTaskEntry(root);
  for (const task of dependencies.filter((d) => d !== "build")) {
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", task],
      cwd: root,
      stdout: "null",
    }).output();
    if (!built.success) {
      throw new Error(`deno task ${task} failed in ${root}`);
    }
  }
  return {
    entry,
    deno: await serveTaskDenoFlags(root),
    v8: await serveTaskV8Flags(root),
    externals,
  };
}
