/**
 * Bytes the `ops` topic of the event stream sends (issue 18), measured
 * against the real server (`startServe --sim --live`, in this process) over
 * loopback HTTP: a viewer follows `/api/private/events?topics=ops` for 10 s
 * of a settled server, with a burst of 20 private reads at 3 s. Compared
 * with the whole snapshot (`GET /api/ops`) sent on every push, which is
 * what the stream would cost without deltas.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1,localhost --allow-read --allow-write --allow-env tests/server/ops_stream_bench.ts
 * ```
 *
 * Prints one JSON object: pushes, first (whole) and later (delta) sizes,
 * total bytes, and the whole-snapshot equivalent.
 */

import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";

const dir = await Deno.makeTempDir({ prefix: "krakked_ops_bench_" });
await Deno.writeTextFile(`${dir}/index.html`, "<!doctype html>");
const args = parseServeArgs(["--sim", "--port", "0", "--live"]);
if (args.kind !== "serve") throw new Error("bad args");
const server = await startServe(args, {
  staticDir: dir,
  configText:
    "connection:\n  api_tier: pro\ntrading:\n  mode: live\n  enable_live_orders: true\n",
  logSink: () => {},
  say: () => {},
  env: () => undefined,
  paperPath: `${dir}/paper.json`,
});
try {
  const page = await fetch(`${server.url}/`);
  await page.body?.cancel();
  const cookie = page.headers.getSetCookie()[0]!.split(";")[0]!;
  // Start-up reads (account hydration) settle first.
  await new Promise((r) => setTimeout(r, 20_000));
  const res = await fetch(`${server.url}/api/private/events?topics=ops`, {
    headers: { cookie },
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const t0 = Date.now();
  const burst = new Promise<void>((resolve) =>
    setTimeout(async () => {
      for (let i = 0; i < 20; i++) {
        const r = await fetch(`${server.url}/api/private/balance`, {
          headers: { cookie },
        });
        await r.body?.cancel();
      }
      resolve();
    }, 3_000)
  );
  while (Date.now() - t0 < 10_000) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await reader.cancel();
  await burst;
  const events = text.split("\n\n").filter((e) => e.startsWith("event: ops"))
    .map((e) => e.slice(e.indexOf("data: ") + 6));
  const whole = (await (await fetch(`${server.url}/api/ops`, {
    headers: { cookie },
  })).text()).length;
  const later = events.slice(1).map((e) => e.length);
  const line = JSON.stringify({
    pushes: events.length,
    firstBytes: events[0]?.length,
    laterBytesMin: Math.min(...later),
    laterBytesMax: Math.max(...later),
    totalBytes: events.reduce((a, e) => a + e.length, 0),
    wholeSnapshotBytes: whole,
    wholeOnEveryPushBytes: whole * events.length,
  });
  Deno.stdout.writeSync(new TextEncoder().encode(`${line}\n`));
} finally {
  await server.close();
  await Deno.remove(dir, { recursive: true });
}
