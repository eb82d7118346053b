/**
 * The real server (`startServe --sim`) over loopback HTTP for order tests:
 * a config text, the page's session cookie and same-Origin calls.
 *
 * @module
 */
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { type RunningServer, startServe } from "../../server/serve.ts";

// deno-lint-ignore no-explicit-any -- JSON answers, asserted field by field
export type Json = any;

export interface Server {
  url: string;
  cookie: string;
  running: RunningServer;
  post(path: string, body?: unknown): Promise<{ status: number; body: Json }>;
  get(path: string): Promise<{ status: number; body: Json }>;
  del(path: string): Promise<{ status: number; body: Json }>;
  close(): Promise<void>;
}

export async function startWith(
  configText: string,
  options: { live?: boolean; paperPath?: string; seed?: number } = {},
): Promise<Server> {
  const args = parseServeArgs([
    "--sim",
    "--port",
    "0",
    "--seed",
    String(options.seed ?? 5),
    ...(options.live ? ["--live"] : []),
  ]);
  if (args.kind !== "serve") throw new Error("bad args");
  const staticDir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${staticDir}/index.html`, "<!doctype html>");
  const running = await startServe(args, {
    staticDir,
    configText,
    logSink: () => {},
    say: () => {},
    env: () => undefined,
    ...(options.paperPath ? { paperPath: options.paperPath } : {}),
  });
  const page = await fetch(`${running.url}/`);
  await page.body?.cancel();
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0]!;
  const origin = running.url;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${running.url}${path}`, {
      method,
      headers: {
        cookie,
        ...(method === "GET" ? {} : { origin }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
  return {
    url: running.url,
    cookie,
    running,
    post: (path, body) => call("POST", path, body),
    get: (path) => call("GET", path),
    del: (path) => call("DELETE", path),
    async close() {
      await running.close();
      await Deno.remove(staticDir, { recursive: true });
    },
  };
}

/** Best bid/ask of XBTUSD through the server's own proxy. */
export async function quote(
  server: Server,
  pair = "XBTUSD",
): Promise<{ ask: number; bid: number }> {
  const res = await server.get(`/api/public/Depth?pair=${pair}&count=1`);
  const book = Object.values(res.body.result)[0] as {
    asks: [string][];
    bids: [string][];
  };
  return { ask: Number(book.asks[0]![0]), bid: Number(book.bids[0]![0]) };
}

/** A 1-decimal price (XBTUSD's tick). */
export function price(value: number): string {
  return value.toFixed(1);
}

/** A `trading:` section from indented lines. */
export function TRADING(lines: string): string {
  return `trading:\n${lines}`;
}
