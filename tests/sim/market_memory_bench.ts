/**
 * Memory of the simulator's market state while it streams for hours (issue
 * 13's memory item, issue 15's flat cost per pair), on a simulated clock:
 * no server, no waiting. `serve_rss.ts` measures 12 s of real streaming,
 * which never slides a 24 h window by a minute; this moves the clock one
 * minute a step and asks for every pair's ticker each step, as the feed
 * does, then prints the JS heap and external memory after a full GC.
 *
 * Run: `deno run --allow-read --v8-flags=--expose-gc tests/sim/market_memory_bench.ts [pairs=300] [hours=12]`
 *
 * It prints figures, never pass/fail: memory is measured here, not asserted
 * in tests.
 *
 * @module
 */

import { Market } from "../../server/sim/exchange/market.ts";
import { SimCatalogue } from "../../server/sim/exchange/pairs.ts";

const STANDARD_PAIRS = 49;
const encoder = new TextEncoder();

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}
const pairs = Number(Deno.args[0] ?? 300);
const hours = Number(Deno.args[1] ?? 12);
if (!Number.isInteger(pairs) || pairs < 1 || !(hours > 0)) {
  throw new RangeError("usage: market_memory_bench.ts [pairs] [hours]");
}
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
const catalogue = SimCatalogue.create({
  syntheticPairs: Math.max(0, pairs - STANDARD_PAIRS),
});
let now = Math.floor(Date.now() / 60_000) * 60_000;
gc();
const before = Deno.memoryUsage();
const market = new Market({ seed: 1, catalogue, now: () => now });
const keys = market.pairs.slice(0, pairs).map((p) => p.key);
const t0 = performance.now();
say(`${keys.length} pairs, one ticker each per simulated minute`);
say("hours  heap(MiB)  external(MiB)  wall(s)");
for (let minute = 0; minute <= hours * 60; minute++) {
  for (const key of keys) market.ticker(key);
  if (minute % 180 === 0) {
    gc();
    const m = Deno.memoryUsage();
    say(
      `${String(minute / 60).padStart(5)}  ${
        mib(m.heapUsed - before.heapUsed).padStart(9)
      }  ${mib(m.external - before.external).padStart(13)}  ${
        ((performance.now() - t0) / 1000).toFixed(1).padStart(7)
      }`,
    );
  }
  now += 60_000;
}
// Keep the market reachable until the last measurement.
if (market.pairs.length === 0) say("no pairs");
