/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The page as a newcomer meets it (issue 14), in Chromium against the real
 * server: in `--sim` at 1440×900 and 390×844, and without `--sim` with
 * Kraken unreachable.
 *
 * Every wait is on a condition; what must never happen (a history label of
 * another series, "0 of 1" over a drawn chart, an empty trade tape after a
 * timeframe switch) is recorded by observers inside the page while the
 * steps run, and asserted at the end.
 */

import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { buildWeb } from "../../server/build.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import { startSimulatorWithWs } from "@krakked/sim";
import { PAGE_TIMEFRAMES } from "../../worker/protocol.ts";
import {
  ARTIFACTS,
  CHROMIUM,
  LAUNCH_ARGS,
  loadChromium,
  requireChromium,
  SKIP,
} from "./_chromium.ts";

// Generous: the full suite runs browsers, simulators and DuckDB side by
// side on two cores, and a page that is right but slow is not a failure
// of this test (the load test measures speed).
const WAIT_MS = 60_000;

type ServeArgs = Extract<ReturnType<typeof parseServeArgs>, { kind: "serve" }>;

interface Recorded {
  violations: string[];
  tapeMin: number | null;
}

/**
 * Installed before the page's scripts: observers that write down every
 * moment the history bar or the tape breaks a rule.
 */
function recorder(): void {
  const state = {
    violations: [] as string[],
    tapeMin: null as number | null,
    watchTape: false,
  };
  Object.defineProperty(globalThis, "__newcomer", { value: state });
  addEventListener("DOMContentLoaded", () => {
    const byId = (id: string) => document.getElementById(id) as HTMLElement;
    const box = byId("backfill");
    const label = byId("backfill-label");
    const title = byId("detail-title");
    const chart = byId("chart");
    const tape = byId("trades");
    const checkBar = () => {
      if (box.hidden) return;
      const text = label.textContent ?? "";
      const series = (title.textContent ?? "").replace(" · ", " ");
      if (!text.includes(series)) {
        state.violations.push(`history label "${text}" shown on "${series}"`);
      }
      if (/\b0 of 1\b/.test(text) && Number(chart.dataset.bars ?? 0) > 0) {
        state.violations.push(`"${text}" while the chart has candles`);
      }
    };
    const options = {
      attributes: true,
      childList: true,
      characterData: true,
      subtree: true,
    };
    const observer = new MutationObserver(checkBar);
    for (const el of [box, title]) observer.observe(el, options);
    new MutationObserver(() => {
      if (!state.watchTape) return;
      const rows = tape.children.length;
      state.tapeMin = Math.min(state.tapeMin ?? rows, rows);
    }).observe(tape, { childList: true });
  });
}

async function recorded(page: Page): Promise<Recorded> {
  return await page.evaluate(() => {
    const s = (globalThis as unknown as { __newcomer: Recorded }).__newcomer;
    return { violations: [...s.violations], tapeMin: s.tapeMin };
  });
}

/** Layout faults: sideways scrolling, cards spilled, hidden market columns. */
async function layoutFaults(page: Page): Promise<string[]> {
  return await page.evaluate(() => {
    const faults: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > innerWidth) {
      faults.push(`page is ${root.scrollWidth} px wide in ${innerWidth} px`);
    }
    const inside = (el: Element, card: Element, what: string) => {
      const r = el.getBoundingClientRect();
      const c = card.getBoundingClientRect();
      if (r.width === 0) return;
      if (r.left < c.left - 0.5 || r.right > c.right + 0.5) {
        faults.push(
          `${what} spans ${Math.round(r.left)}–${Math.round(r.right)} ` +
            `outside its card ${Math.round(c.left)}–${Math.round(c.right)}`,
        );
      }
    };
    const ticket = document.getElementById("ticket")!;
    inside(ticket.querySelector(".ticket-side")!, ticket, "the Side box");
    for (const el of ticket.querySelectorAll("input, select, button")) {
      inside(el, ticket, `ticket ${el.id || el.tagName}`);
    }
    const account = document.getElementById("account")!;
    for (const table of account.querySelectorAll("table, .order-list")) {
      inside(table, account, "an account table");
    }
    const wrap = document.querySelector("#market-table")!.closest(
      ".table-wrap",
    )!;
    for (const th of document.querySelectorAll("#market-table thead th")) {
      if ((th as HTMLElement).offsetParent === null) continue;
      inside(th, wrap, `market column ${th.textContent}`);
    }
    return faults;
  });
}

async function visibleMarketColumns(page: Page): Promise<string[]> {
  return await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("#market-table thead th")]
      .filter((th) => th.offsetParent !== null)
      .map((th) => (th.textContent ?? "").replace(/[▲▼]/g, "").trim())
  );
}

/** What the detail view shows, for a timeout's message. */
async function detailState(page: Page): Promise<string> {
  const state = await page.evaluate(() => {
    const chart = document.getElementById("chart")!;
    const box = document.getElementById("backfill")!;
    return {
      title: document.getElementById("detail-title")!.textContent,
      detailLast: document.getElementById("detail-last")!.textContent,
      tableLast: document.querySelector(
        '#market-body tr[data-symbol="BTC/USD"] .last',
      )?.textContent,
      bars: chart.dataset.bars,
      chartLast: chart.dataset.last,
      backfill: { hidden: box.hidden, phase: box.dataset.phase },
    };
  }).catch((error) => ({ unreadable: String(error) }));
  return JSON.stringify(state);
}

/** `fn` turns true, or the error names what the page showed instead. */
async function waitPage(
  page: Page,
  fn: (arg: string) => boolean,
  arg: string,
  what: string,
): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS });
  } catch (error) {
    throw new Error(
      `${what}: not reached in ${WAIT_MS} ms; the page shows ${await detailState(
        page,
      )}`,
      { cause: error },
    );
  }
}

async function waitHistoryDone(page: Page): Promise<void> {
  await waitPage(
    page,
    () => {
      const box = document.getElementById("backfill")!;
      return box.hidden && box.dataset.phase === "done" &&
        Number(document.getElementById("chart")!.dataset.bars ?? 0) > 0;
    },
    "",
    "history loaded and the bar hidden",
  );
}

async function launch(
  chromium: Awaited<ReturnType<typeof loadChromium>>,
  userDataDir: string,
  viewport: { width: number; height: number },
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: LAUNCH_ARGS,
    viewport,
  });
  const page = context.pages()[0] ?? await context.newPage();
  return { context, page };
}

Deno.test({
  name:
    "newcomer page (--sim): history bar, trade tape, prices and layout at 1440 and 390 px",
  ignore: SKIP,
  sanitizeResources: true,
  sanitizeOps: true,
  async fn(t) {
    await requireChromium();
    const chromium = await loadChromium();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await buildWeb();
    const server = await startServe(
      parseServeArgs(["--sim", "--port", "0"]) as ServeArgs,
      {
        configText: "",
        logSink: () => {},
        say: () => {},
        env: () => undefined,
      },
    );
    const userDataDir = await Deno.makeTempDir({ prefix: "krakked-e2e-" });
    let context: BrowserContext | undefined;
    try {
      const launched = await launch(chromium, userDataDir, {
        width: 1440,
        height: 900,
      });
      context = launched.context;
      const page = launched.page;
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      await page.addInitScript(recorder);
      await page.goto(server.url);
      await page.locator("#mode-badge", { hasText: "SIMULATED" }).waitFor({
        timeout: WAIT_MS,
      });

      await t.step(
        "the title shows the price the table already knows at once",
        async () => {
          await page.waitForFunction(
            () => {
              const cell = document.querySelector(
                '#market-body tr[data-symbol="BTC/USD"] .last',
              );
              return cell !== null && cell.textContent !== "—";
            },
            undefined,
            { timeout: WAIT_MS },
          );
          // Click and read in one turn: nothing arrives in between.
          const seen = await page.evaluate(() => {
            const row = document.querySelector<HTMLElement>(
              '#market-body tr[data-symbol="BTC/USD"]',
            )!;
            const last = row.querySelector(".last")!.textContent;
            row.click();
            return {
              last,
              title: document.getElementById("detail-last")!.textContent,
            };
          });
          assert.equal(seen.title, seen.last);
        },
      );

      await t.step(
        "the history bar names its series and disappears when done",
        async () => {
          await waitHistoryDone(page);
          assert.equal(
            await page.locator("#detail-title").textContent(),
            "BTC/USD · 5m",
          );
        },
      );

      await t.step(
        "the spread prints at the pair's price precision",
        async () => {
          await page.locator('#book-integrity[data-state="ok"]').waitFor({
            timeout: WAIT_MS,
          });
          const { spread, price } = await page.evaluate(() => ({
            spread: document.getElementById("book-spread")!.textContent ?? "",
            price: document.querySelector("#book-bids .price")!.textContent ??
              "",
          }));
          const decimals = (price.split(".")[1] ?? "").length;
          const match = /^spread (\d+(?:\.(\d+))?) · \d+(?:\.\d)? bp$/.exec(
            spread,
          );
          assert.ok(match, `spread reads "${spread}"`);
          assert.equal((match[2] ?? "").length, decimals, spread);
        },
      );

      await t.step(
        "every timeframe: the tape stays and the chart's last agrees with the table's",
        async () => {
          await page.locator("#trades tr").first().waitFor({
            timeout: WAIT_MS,
          });
          await page.evaluate(() => {
            (globalThis as unknown as { __newcomer: { watchTape: boolean } })
              .__newcomer.watchTape = true;
          });
          for (const timeframe of PAGE_TIMEFRAMES) {
            await page.locator(`[data-timeframe="${timeframe}"]`).click();
            await waitPage(
              page,
              (tf: string) => {
                const chart = document.getElementById("chart")!;
                const last = document.querySelector(
                  '#market-body tr[data-symbol="BTC/USD"] .last',
                )?.textContent;
                return document.getElementById("detail-title")!.textContent ===
                    `BTC/USD · ${tf}` &&
                  Number(chart.dataset.bars ?? 0) > 0 &&
                  chart.dataset.last === last &&
                  document.getElementById("detail-last")!.textContent === last;
              },
              timeframe,
              `${timeframe}: candles drawn, chart last = table last`,
            );
          }
          const { tapeMin } = await recorded(page);
          assert.ok(
            tapeMin === null || tapeMin > 0,
            `the tape emptied on a timeframe switch (fewest rows: ${tapeMin})`,
          );
          assert.ok(
            await page.locator("#trades tr").count() > 0,
            "the tape still shows trades",
          );
        },
      );

      await t.step(
        "switching pairs mid-fill and reloading keep the bar honest",
        async () => {
          await page.locator('[data-timeframe="5m"]').click();
          await page.locator('#market-body tr[data-symbol="ETH/USD"]').click();
          await page.locator('#market-body tr[data-symbol="BTC/USD"]').click();
          await waitHistoryDone(page);
          await page.reload();
          await waitHistoryDone(page);
          assert.equal(
            await page.locator("#detail-title").textContent(),
            "BTC/USD · 5m",
          );
          assert.deepEqual((await recorded(page)).violations, []);
        },
      );

      await t.step("1440×900: nothing spills", async () => {
        await page.locator("#balances tr").first().waitFor({
          timeout: WAIT_MS,
        });
        assert.deepEqual(await layoutFaults(page), []);
        assert.deepEqual(await visibleMarketColumns(page), [
          "Symbol",
          "Last",
          "24h %",
          "24h vol (USD)",
          "Spread",
          "Data",
        ]);
        await page.screenshot({
          path: new URL("newcomer-1440.png", ARTIFACTS).pathname,
          fullPage: true,
        });
      });

      await t.step(
        "390×844: no sideways scroll, essential columns",
        async () => {
          await page.setViewportSize({ width: 390, height: 844 });
          await page.waitForFunction(() => innerWidth === 390, undefined, {
            timeout: WAIT_MS,
          });
          assert.deepEqual(await layoutFaults(page), []);
          assert.deepEqual(await visibleMarketColumns(page), [
            "Symbol",
            "Last",
            "24h %",
            "Data",
          ]);
          await page.screenshot({
            path: new URL("newcomer-390.png", ARTIFACTS).pathname,
            fullPage: true,
          });
        },
      );

      await t.step("no page errors and no broken rule", async () => {
        assert.deepEqual(pageErrors, []);
        assert.deepEqual((await recorded(page)).violations, []);
      });
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "newcomer page without --sim: an unreachable Kraken is named, with the --sim way out, and the page recovers when it answers",
  ignore: SKIP,
  sanitizeResources: true,
  sanitizeOps: true,
  async fn() {
    await requireChromium();
    const chromium = await loadChromium();
    await buildWeb();
    // A loopback port nobody listens on: Kraken, unreachable.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const home = await Deno.makeTempDir({ prefix: "krakked-home-" });
    const server = await startServe(
      parseServeArgs(["--port", "0"]) as ServeArgs,
      {
        configText: [
          "connection:",
          `  rest_url: http://127.0.0.1:${closed}`,
          `  ws_public_url: ws://127.0.0.1:${closed}/v2`,
          `  ws_auth_url: ws://127.0.0.1:${closed}/v2`,
          "",
        ].join("\n"),
        logSink: () => {},
        say: () => {},
        env: (name) => name === "HOME" ? home : undefined,
      },
    );
    const userDataDir = await Deno.makeTempDir({ prefix: "krakked-e2e-" });
    let context: BrowserContext | undefined;
    let kraken: Awaited<ReturnType<typeof startSimulatorWithWs>> | undefined;
    try {
      const launched = await launch(chromium, userDataDir, {
        width: 390,
        height: 844,
      });
      context = launched.context;
      const page = launched.page;
      await page.goto(server.url);
      const panel = page.locator("#upstream-down");
      await panel.waitFor({ state: "visible", timeout: WAIT_MS });
      const text = await panel.innerText();
      assert.match(text, /Kraken unreachable/);
      assert.match(text, /deno task serve --sim/);
      const shown = await page.evaluate(() => ({
        body: document.body.innerText,
        rest: document.getElementById("rest-state")!.textContent,
        badge: document.getElementById("mode-badge")!.textContent,
      }));
      assert.equal(shown.badge, "LIVE");
      assert.equal(shown.rest, "Kraken unreachable");
      assert.doesNotMatch(shown.body, /TypeError|REST unknown|…\s*Stream/);
      assert.deepEqual(await layoutFaults(page), []);
      await page.screenshot({
        path: new URL("newcomer-unreachable-390.png", ARTIFACTS).pathname,
        fullPage: true,
      });
      // "Kraken" comes back (a simulator on the same port): Retry recovers
      // without a reload.
      kraken = await startSimulatorWithWs({ port: closed, seed: 1 });
      await page.locator("#upstream-retry").click();
      await page.waitForFunction(
        () =>
          document.getElementById("upstream-down")!.hidden &&
          document.querySelectorAll("#market-body tr").length > 3 &&
          document.getElementById("rest-state")!.textContent === "reachable",
        undefined,
        { timeout: WAIT_MS },
      );
    } finally {
      await context?.close();
      await server.close();
      await kraken?.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
