/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Bench (a script, not a test: it measures and prints, it asserts
 * nothing) of the two-tier watch and the virtual table in Chromium:
 *
 * - sort and filter time of the page's `MarketTable` over the real 1,035
 *   simulated pairs (`serve --sim --sim-pairs 1464`, 1,500 USD markets),
 *   and over 1,500 and 5,000 model rows (the same table, fed generated
 *   pairs and tickers in the page), against one frame's budget (16.7 ms);
 * - frame gaps and long tasks during 5 s of streaming at 1,035 pairs;
 * - page memory (JS heap, DOM nodes) and row nodes at 1,035 and 1,500 pairs;
 * - sockets and subscriptions used, as the page reports them and as the
 *   simulator receives them (through the relay of `watch_test.ts`).
 *
 * Run: `deno run -A tests/e2e/watch_bench.ts` (writes
 * `test-artifacts/watch-bench.json`).
 *
 * @module
 */

import { ARTIFACTS } from "./_chromium.ts";
import { startWatchPage, stats, waitFor, wire } from "./watch_test.ts";

const FRAME_MS = 1000 / 60;
const encoder = new TextEncoder();
/** The report goes to stdout (console is linted out of tests). */
function say(...parts: string[]): void {
  Deno.stdout.writeSync(encoder.encode(`${parts.join(" ")}\n`));
}
const RUNS = 15;

interface Timing {
  medianMs: number;
  maxMs: number;
  /** Median against one frame's budget. */
  ofFrame: number;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const { page, context, relay, url, close } = await startWatchPage({
  width: 1440,
  height: 900,
});
const report: Record<string, unknown> = {};
try {
  await page.goto(url);
  await page.waitForFunction(
    () => {
      const s = (globalThis as unknown as {
        krakkedStats?: () => { pairs: number; priced: number };
      }).krakkedStats?.();
      return s !== undefined && s.pairs > 0 && s.priced === s.pairs;
    },
    undefined,
    { timeout: 60_000 },
  );
  const initial = await stats(page);
  await waitFor(() => wire(relay.sockets).tickers.length === initial.pairs);

  /** Sort and filter timings of the page's table, in the page. */
  const bench = async (label: string): Promise<Record<string, unknown>> => {
    const result = await page.evaluate(async (runs) => {
      type Table = {
        sortBy(key: string): unknown;
        filter(text: string): number;
        size: number;
      };
      const table = (globalThis as unknown as { krakkedTable: Table })
        .krakkedTable;
      const frame = () =>
        new Promise<number>((r) => requestAnimationFrame(() => r(0)));
      const time = async (fn: () => void) => {
        const sync: number[] = [];
        const toFrame: number[] = [];
        for (let i = 0; i < runs; i++) {
          await frame();
          const t0 = performance.now();
          fn();
          sync.push(performance.now() - t0);
          await frame();
          toFrame.push(performance.now() - t0);
        }
        return { sync, toFrame };
      };
      const keys = ["last", "change", "volume", "spread", "symbol"];
      let k = 0;
      const sort = await time(() => table.sortBy(keys[k++ % keys.length]!));
      const words = ["syn1", "btc", "syn", "usd", "zzz", ""];
      let w = 0;
      const filter = await time(() => table.filter(words[w++ % words.length]!));
      table.filter("");
      return {
        rows: table.size,
        sort,
        filter,
        rowNodes: document.querySelectorAll("#market-body tr").length,
      };
    }, RUNS);
    const summary = (values: number[]): Timing => {
      const sorted = [...values].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
      return {
        medianMs: round(median),
        maxMs: round(sorted.at(-1) ?? 0),
        ofFrame: round(median / FRAME_MS),
      };
    };
    const out = {
      rows: result.rows,
      rowNodes: result.rowNodes,
      sortSync: summary(result.sort.sync),
      sortToNextFrame: summary(result.sort.toFrame),
      filterSync: summary(result.filter.sync),
      filterToNextFrame: summary(result.filter.toFrame),
    };
    say(label, JSON.stringify(out));
    return out;
  };

  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const memory = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics") as {
      metrics: { name: string; value: number }[];
    };
    const of = (name: string) => metrics.find((m) => m.name === name)?.value;
    return {
      jsHeapUsedMB: round((of("JSHeapUsedSize") ?? 0) / 2 ** 20),
      jsHeapTotalMB: round((of("JSHeapTotalSize") ?? 0) / 2 ** 20),
      domNodes: of("Nodes"),
    };
  };

  // Streaming: frame gaps and long tasks over 5 s at the real pair count.
  report.streaming = await page.evaluate(async () => {
    const longTasks: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) longTasks.push(entry.duration);
    });
    observer.observe({ type: "longtask" });
    const gaps: number[] = [];
    const start = performance.now();
    await new Promise<void>((resolve) => {
      let last: number | undefined;
      const loop = (t: number) => {
        if (last !== undefined) gaps.push(t - last);
        last = t;
        if (performance.now() - start < 5000) requestAnimationFrame(loop);
        else resolve();
      };
      requestAnimationFrame(loop);
    });
    observer.disconnect();
    gaps.sort((a, b) => a - b);
    const p = (q: number) =>
      Math.round(
        gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))]! *
          10,
      ) / 10;
    return {
      frames: gaps.length,
      gapP50Ms: p(0.5),
      gapP95Ms: p(0.95),
      gapP99Ms: p(0.99),
      gapMaxMs: p(1),
      longTasks: longTasks.length,
      longTaskMaxMs: Math.round(Math.max(0, ...longTasks)),
    };
  });
  say("streaming", JSON.stringify(report.streaming));

  const watched = await stats(page);
  const onWire = wire(relay.sockets);
  report.watch = {
    pairs: watched.pairs,
    page: watched.watch,
    simulatorSees: {
      sockets: onWire.open,
      subscriptionEntries: onWire.entries,
      tickers: onWire.tickers.length,
      books: onWire.books,
    },
  };
  say("watch", JSON.stringify(report.watch));
  report.memoryAtRealPairs = { pairs: watched.pairs, ...(await memory()) };
  say("memory", JSON.stringify(report.memoryAtRealPairs));
  report.realPairs = await bench(`table at ${watched.pairs} real pairs`);

  // The same table with 1,500 and 5,000 generated pairs and tickers.
  for (const n of [1500, 5000]) {
    await page.evaluate((count) => {
      type Table = {
        setPairs(pairs: unknown[]): void;
        update(tickers: unknown[]): void;
      };
      const table = (globalThis as unknown as { krakkedTable: Table })
        .krakkedTable;
      const pairs = Array.from({ length: count }, (_, i) => {
        const base = `GEN${String(i).padStart(4, "0")}`;
        return {
          id: `${base}USD`,
          symbol: `${base}/USD`,
          base,
          quote: "USD",
          priceDecimals: 4,
          volumeDecimals: 8,
        };
      });
      table.setPairs(pairs);
      const now = Date.now();
      table.update(pairs.map((p, i) => ({
        symbol: p.symbol,
        updatedAtMs: now,
        last: 1 + (i * 7919) % 1000,
        changePct: ((i * 104729) % 2000) / 100 - 10,
        volumeQuote: (i * 15485863) % 10_000_000,
        bid: 1 + (i * 7919) % 1000 - 0.01,
        ask: 1 + (i * 7919) % 1000 + 0.01,
      })));
    }, n);
    report[`generated${n}`] = await bench(`table at ${n} generated pairs`);
    report[`memoryAt${n}`] = { pairs: n, ...(await memory()) };
    say("memory", JSON.stringify(report[`memoryAt${n}`]));
  }
  report.frameBudgetMs = round(FRAME_MS);
  report.runsPerTiming = RUNS;
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await Deno.writeTextFile(
    new URL("watch-bench.json", ARTIFACTS),
    JSON.stringify(report, null, 2) + "\n",
  );
} finally {
  await close();
}
