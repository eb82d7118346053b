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
  #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id === undefined) return;
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
   * @returns A connected session.
   */
  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot open inspector ${url}`));
    });
    const inspector = new Inspector(ws);
    await inspector.send("Runtime.enable");
    // Deno waits for this before running a --inspect-wait program.
    await inspector.send("Runtime.runIfWaitingForDebugger");
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
