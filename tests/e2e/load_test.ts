/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The market table under load, in a real browser (Debian Chromium, driven
 * by playwright-core): the real server in `--sim` mode with 300 synthetic
 * pairs (`--sim-pairs 300`, 330+ pairs), every pair scouted and ticking.
 *
 * What is asserted is structural, not timing: the table is virtual (a
 * window's worth of row nodes, whatever the number of pairs), rows in view
 * are updated in place while streaming (the same `<tr>` and `<td>` nodes),
 * at most one worker batch is applied per animation frame, prices change
 * across many pairs, sorting orders the rows and filtering shows exactly
 * the matching ones. What is measured and only
 * reported (`test-artifacts/e2e-load-metrics.json`): long tasks
 * (`PerformanceObserver` `longtask` entries) and `requestAnimationFrame`
 * frame gaps during at least 5 s of streaming (longer, up to 20 s, until 20
 * rows have ticked: the simulated market is quiet and 5 s is sometimes one
 * or two rows short), how long the 20 rows took, and the time a sort and a
 * filter take to reach the screen.
 */

import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { buildWeb } from "../../server/build.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import {
  ARTIFACTS,
  CHROMIUM,
  LAUNCH_ARGS,
  loadChromium,
  requireChromium,
  SKIP,
} from "./_chromium.ts";

const WAIT_MS = 30_000;
const SYNTHETIC_PAIRS = 300;
const MIN_ROWS = 330;
/** The streaming window is at least this long (the reported metrics). */
const MEASURE_MS = 5_000;
/** …and goes on until this many rows have ticked… */
const MIN_CHANGED_ROWS = 20;
/** …or this much time has passed. */
const MAX_MEASURE_MS = 20_000;

interface Window {
  readonly measured: {
    longTasksMs: number[];
    frameGapsMs: number[];
    changedSymbols: string[];
    /** Ms from the window's start until MIN_CHANGED_ROWS rows had ticked. */
    minRowsChangedAtMs: number | null;
    /** The window's length, ms. */
    windowMs: number;
    statsBefore: Stats;
    statsAfter: Stats;
  };
}

interface Stats {
  applied: number;
  framesWithSeveral: number;
  maxTickers: number;
  rowsBuilt: number;
  rowsInDom: number;
  pairs: number;
  priced: number;
  matching: number;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(
    sorted.length - 1,
    Math.ceil((p / 100) * sorted.length) - 1,
  );
  return Math.round(sorted[Math.max(0, index)]! * 10) / 10;
}

/** Remember every row and price cell, to check later they are the same nodes. */
async function rememberNodes(page: Page): Promise<number> {
  return await page.evaluate(() => {
    const rows = [...document.querySelectorAll("#market-body tr")];
    const store = globalThis as unknown as {
      krakkedRows: Element[];
      krakkedCells: Element[];
    };
    store.krakkedRows = rows;
    store.krakkedCells = rows.map((tr) => tr.querySelector(".last")!);
    return rows.length;
  });
}

/** Whether the table still holds exactly the remembered nodes. */
async function sameNodes(page: Page): Promise<boolean> {
  return await page.evaluate(() => {
    const store = globalThis as unknown as {
      krakkedRows: Element[];
      krakkedCells: Element[];
    };
    const now = new Set(document.querySelectorAll("#market-body tr"));
    return now.size === store.krakkedRows.length &&
      store.krakkedRows.every((tr, i) =>
        now.has(tr) && tr.querySelector(".last") === store.krakkedCells[i]
      );
  });
}

async function stats(page: Page): Promise<Stats> {
  return await page.evaluate(() =>
    (globalThis as unknown as { krakkedStats: () => Stats }).krakkedStats()
  );
}

Deno.test({
  name:
    "the table stays live and responsive with 330+ markets ticking (structural checks; timing is reported)",
  ignore: SKIP,
  sanitizeResources: true,
  sanitizeOps: true,
  async fn(t) {
    await requireChromium();
    const chromium = await loadChromium();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await buildWeb();
    const metrics: Record<string, unknown> = {};
    const args = parseServeArgs([
      "--sim",
      "--port",
      "0",
      "--sim-pairs",
      String(SYNTHETIC_PAIRS),
    ]);
    assert.ok(args.kind === "serve");
    const server = await startServe(args, {
      configText: "market_data:\n  ws:\n    stale_tolerance_seconds: 60\n",
      logSink: () => {},
      say: () => {},
      env: () => undefined,
    });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: LAUNCH_ARGS,
      });
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });

      let rows = 0;
      await t.step(
        "the table fills with every market and all go live",
        async () => {
          await page.goto(server.url);
          // Every pair got its ticker snapshot (a price), and every row in
          // view shows it live.
          await page.waitForFunction(
            (min) => {
              const s = (globalThis as unknown as { krakkedStats: () => Stats })
                .krakkedStats();
              const inView = document.querySelectorAll("#market-body tr");
              return s.pairs >= min && s.priced === s.pairs &&
                inView.length > 3 &&
                document.querySelectorAll(
                    '#market-body .badge[data-fresh="live"]',
                  ).length === inView.length;
            },
            MIN_ROWS,
            { timeout: WAIT_MS },
          );
          const s = await stats(page);
          rows = s.pairs;
          assert.ok(rows >= MIN_ROWS, `${rows} pairs`);
          assert.ok(s.rowsInDom < rows, `${s.rowsInDom} row nodes`);
          metrics.rows = rows;
          metrics.rowNodes = s.rowsInDom;
        },
      );

      await t.step(
        "5–20 s of streaming: prices tick across at least 20 rows, updated in place, one batch per frame",
        async () => {
          // By name: the window's rows stay put while prices move.
          await page.locator('[data-sort="symbol"]').click();
          const inView = await rememberNodes(page);
          const measured = await page.evaluate(async (
            { measureMs, minRows, maxMs },
          ) => {
            const statsOf = () =>
              (globalThis as unknown as { krakkedStats: () => Stats })
                .krakkedStats();
            const statsBefore = statsOf();
            const longTasksMs: number[] = [];
            const observer = new PerformanceObserver((list) => {
              for (const entry of list.getEntries()) {
                longTasksMs.push(entry.duration);
              }
            });
            observer.observe({ type: "longtask" });
            // Moves of every pair's price, in view or not (the model).
            const changed = (globalThis as unknown as {
              krakkedMoves: Set<string>;
            }).krakkedMoves;
            changed.clear();
            const startMs = performance.now();
            let minRowsChangedAtMs: number | null = null;
            const mutations = new MutationObserver(() => {
              if (minRowsChangedAtMs === null && changed.size >= minRows) {
                minRowsChangedAtMs = performance.now() - startMs;
              }
            });
            mutations.observe(document.getElementById("market-body")!, {
              subtree: true,
              characterData: true,
              childList: true,
            });
            const frameGapsMs: number[] = [];
            // At least measureMs (the reported window), then on until
            // minRows rows have ticked or maxMs has passed: the market's
            // pace decides, the assertion below does not get weaker.
            await new Promise<void>((resolve) => {
              let last: number | undefined;
              const loop = (timeMs: number) => {
                if (last !== undefined) frameGapsMs.push(timeMs - last);
                last = timeMs;
                const elapsed = performance.now() - startMs;
                const more = elapsed < measureMs ||
                  (changed.size < minRows && elapsed < maxMs);
                if (more) requestAnimationFrame(loop);
                else resolve();
              };
              requestAnimationFrame(loop);
            });
            const windowMs = performance.now() - startMs;
            observer.disconnect();
            mutations.disconnect();
            return {
              longTasksMs,
              frameGapsMs,
              changedSymbols: [...changed],
              minRowsChangedAtMs,
              windowMs,
              statsBefore,
              statsAfter: statsOf(),
            } satisfies Window["measured"];
          }, {
            measureMs: MEASURE_MS,
            minRows: MIN_CHANGED_ROWS,
            maxMs: MAX_MEASURE_MS,
          });
          const { statsBefore, statsAfter } = measured;
          const applied = statsAfter.applied - statsBefore.applied;
          assert.ok(applied > 0, "batches were applied while streaming");
          assert.equal(
            statsAfter.framesWithSeveral,
            0,
            "at most one batch is applied per animation frame",
          );
          assert.equal(
            statsAfter.rowsBuilt,
            statsBefore.rowsBuilt,
            "no row was built while streaming",
          );
          assert.ok(inView > 3 && inView < rows, `${inView} rows in view`);
          assert.ok(await sameNodes(page), "rows and cells are the same nodes");
          assert.ok(
            measured.changedSymbols.length >= MIN_CHANGED_ROWS,
            `prices ticked on ${measured.changedSymbols.length} rows in ${
              Math.round(measured.windowMs)
            } ms (need ${MIN_CHANGED_ROWS})`,
          );
          const longTasks = measured.longTasksMs;
          metrics.streaming = {
            windowMs: Math.round(measured.windowMs),
            minWindowMs: MEASURE_MS,
            maxWindowMs: MAX_MEASURE_MS,
            msUntilMinRowsChanged: measured.minRowsChangedAtMs === null
              ? null
              : Math.round(measured.minRowsChangedAtMs),
            batchesApplied: applied,
            maxTickersPerBatch: statsAfter.maxTickers,
            rowsChanged: measured.changedSymbols.length,
            syntheticRowsChanged: measured.changedSymbols.filter((s) =>
              s.startsWith("SYN")
            ).length,
            longTasks: longTasks.length,
            longTaskMaxMs: Math.round(Math.max(0, ...longTasks)),
            longTaskTotalMs: Math.round(longTasks.reduce((a, b) => a + b, 0)),
            frames: measured.frameGapsMs.length,
            frameGapP50Ms: percentile(measured.frameGapsMs, 50),
            frameGapP95Ms: percentile(measured.frameGapsMs, 95),
            frameGapP99Ms: percentile(measured.frameGapsMs, 99),
            frameGapMaxMs: percentile(measured.frameGapsMs, 100),
          };
        },
      );

      await t.step("sorting moves the same rows into order", async () => {
        const sorted = await page.evaluate(async () => {
          const button = document.querySelector<HTMLButtonElement>(
            '[data-sort="last"]',
          )!;
          const t0 = performance.now();
          button.click();
          const syncMs = performance.now() - t0;
          // Read the order in the same task: no batch can land in between.
          const values = [...document.querySelectorAll("#market-body tr")].map(
            (tr) => tr.querySelector(".last")?.textContent ?? "—",
          );
          const frameMs = await new Promise<number>((resolve) =>
            requestAnimationFrame(() => resolve(performance.now() - t0))
          );
          return { syncMs, frameMs, values };
        });
        const numbers = sorted.values.filter((v) => v !== "—").map(Number);
        assert.equal(
          numbers.length,
          sorted.values.length,
          "every row has a price",
        );
        for (let i = 1; i < numbers.length; i++) {
          assert.ok(
            numbers[i - 1]! >= numbers[i]!,
            `row ${i}: ${numbers[i - 1]} before ${numbers[i]} (descending)`,
          );
        }
        assert.equal(
          await page.locator("th:has([data-sort=last])").getAttribute(
            "aria-sort",
          ),
          "descending",
        );
        const afterSort = await stats(page);
        assert.ok(
          afterSort.rowsInDom < rows && afterSort.rowsBuilt < rows,
          `sorting kept a window: ${afterSort.rowsInDom} row nodes`,
        );
        const bySymbol = await page.evaluate(() => {
          document.querySelector<HTMLButtonElement>('[data-sort="symbol"]')!
            .click();
          return [...document.querySelectorAll("#market-body tr")].map((tr) =>
            (tr as HTMLElement).dataset.symbol ?? ""
          );
        });
        assert.deepEqual(bySymbol, [...bySymbol].sort());
        metrics.sortLast = {
          clickToSortedMs: Math.round(sorted.syncMs * 10) / 10,
          clickToNextFrameMs: Math.round(sorted.frameMs * 10) / 10,
        };
      });

      await t.step("filtering shows exactly the matching rows", async () => {
        const t0 = Date.now();
        await page.locator("#filter").fill("syn1");
        await page.locator("#row-count", { hasText: "100 markets" }).waitFor({
          timeout: WAIT_MS,
        });
        const inputToCountMs = Date.now() - t0;
        const visible = await page.evaluate(() =>
          [...document.querySelectorAll("#market-body tr")].map((
            tr,
          ) => (tr as HTMLElement).dataset.symbol ?? "")
        );
        assert.equal((await stats(page)).matching, 100);
        assert.ok(visible.length > 3 && visible.length <= 100);
        assert.ok(
          visible.every((s) => /^SYN1\d\d\/USD$/.test(s)),
          visible.join(" "),
        );
        await page.screenshot({
          path: new URL("load-filtered.png", ARTIFACTS).pathname,
        });
        await page.locator("#filter").fill("syn");
        await page.locator("#row-count", {
          hasText: `${SYNTHETIC_PAIRS} markets`,
        }).waitFor({ timeout: WAIT_MS });
        await page.locator("#filter").fill("");
        await page.locator("#row-count", { hasText: `${rows} markets` })
          .waitFor({ timeout: WAIT_MS });
        const after = await stats(page);
        assert.ok(after.rowsBuilt < rows, `${after.rowsBuilt} rows built`);
        assert.equal(after.framesWithSeveral, 0);
        // Includes the page's 120 ms input debounce and the test round trip.
        metrics.filter = { inputToCountMs };
      });

      await t.step("the page logged no errors", async () => {
        await page.screenshot({
          path: new URL("load-table.png", ARTIFACTS).pathname,
        });
        assert.deepEqual(errors, []);
      });
    } finally {
      await browser?.close();
      await server.close();
      await Deno.writeTextFile(
        new URL("e2e-load-metrics.json", ARTIFACTS),
        JSON.stringify(metrics, null, 2) + "\n",
      );
    }
  },
});
