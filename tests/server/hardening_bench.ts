/**
 * Issue 13's two delay scenarios, measured against the real server
 * (`startServe --sim`, in this process) over loopback HTTP:
 *
 * 1. Fair public budget: the page's OHLC request alone (the floor), then
 *    the same request sent just after a script queued 30 OHLC requests
 *    with distinct `since` values.
 * 2. Abandoned private calls: a private read alone (the floor), then one
 *    sent just after 20 private reads whose clients went away.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1,localhost --allow-read --allow-write --allow-env tests/server/hardening_bench.ts
 * ```
 *
 * Prints the page's / the next call's latency in ms, each with its floor.
 */

import { startServe } from "../../server/serve.ts";

const encoder = new TextEncoder();
function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

const staticDir = await Deno.makeTempDir();
await Deno.writeTextFile(`${staticDir}/index.html`, "<!doctype html>");
const running = await startServe({
  host: "127.0.0.1",
  port: 0,
  token: undefined,
  sim: true,
  seed: 7,
  live: false,
}, {
  staticDir,
  configText: "",
  logSink: () => {},
  say: () => {},
  env: () => undefined,
  paperPath: `${staticDir}/paper.json`,
});
const base = running.url;
const page = await fetch(`${base}/`);
await page.body?.cancel();
const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0]!;

async function timed(url: string, headers: HeadersInit): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.body?.cancel();
  if (res.status >= 500) throw new Error(`${url}: HTTP ${res.status}`);
  return performance.now() - t0;
}

const pageHeaders = { "sec-fetch-site": "same-origin" };
let since = 1_700_000_000;

// 1. The page's request, alone and behind a greedy script's 30.
const pageAlone = await timed(
  `${base}/api/public/OHLC?pair=ETHUSD&interval=5&since=${since++}`,
  pageHeaders,
);
// Let the public budget recover.
await new Promise((r) => setTimeout(r, 20_000));
const greedy = Array.from(
  { length: 30 },
  () =>
    fetch(`${base}/api/public/OHLC?pair=XBTUSD&interval=1&since=${since++}`)
      .then((r) => r.body?.cancel()),
);
await new Promise((r) => setTimeout(r, 50));
const pageBehind = await timed(
  `${base}/api/public/OHLC?pair=ETHUSD&interval=5&since=${since++}`,
  pageHeaders,
);
await Promise.all(greedy);
say(
  `page OHLC alone ${pageAlone.toFixed(0)} ms; behind 30 greedy ${
    pageBehind.toFixed(0)
  } ms`,
);

// 2. A private read alone, and after 20 abandoned ones.
const privateHeaders = { cookie };
await new Promise((r) => setTimeout(r, 5_000));
const privateAlone = await timed(
  `${base}/api/private/balance`,
  privateHeaders,
);
const gone = Array.from({ length: 20 }, () => {
  const controller = new AbortController();
  const answer = fetch(`${base}/api/private/balance`, {
    headers: privateHeaders,
    signal: controller.signal,
  }).then((r) => r.body?.cancel(), () => undefined);
  return { controller, answer };
});
const before = running.rest.limiter.snapshot("rest").level;
await new Promise((r) => setTimeout(r, 50));
for (const g of gone) g.controller.abort();
await Promise.all(gone.map((g) => g.answer));
await new Promise((r) => setTimeout(r, 50));
const charged = running.rest.limiter.snapshot("rest").level - before;
say(
  `20 abandoned private reads: REST counter +${
    charged.toFixed(1)
  } (calls sent before their clients left)`,
);
const privateNext = await timed(`${base}/api/private/balance`, privateHeaders);
say(
  `private balance alone ${
    privateAlone.toFixed(0)
  } ms; next after 20 abandoned ${privateNext.toFixed(0)} ms`,
);
await running.close();
await Deno.remove(staticDir, { recursive: true });
