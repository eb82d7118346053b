/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The market-watch page in a real browser (Debian Chromium, driven by
 * playwright-core) against the real server in `--sim` mode.
 *
 * Needs `/usr/bin/chromium` (or `KRAKKED_CHROMIUM`); set `KRAKKED_SKIP_E2E=1`
 * to skip. Screenshots go to `test-artifacts/`, and the measured figures
 * (performance marks) to `test-artifacts/e2e-metrics.json`.
 */

import assert from "node:assert/strict";
import type { BrowserContext, Page, Route } from "playwright-core";
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

const WAIT_MS = 20_000;

async function marks(page: Page): Promise<Record<string, number>> {
  return await page.evaluate(() =>
    Object.fromEntries(
      performance.getEntriesByType("mark")
        .filter((m) => m.name.startsWith("krakked:"))
        .map((m) => [m.name.slice("krakked:".length), Math.round(m.startTime)]),
    )
  );
}

async function simFault(
  simUrl: string,
  command: Record<string, unknown>,
): Promise<unknown> {
  const response = await fetch(`${simUrl}/_sim/ws/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(command),
  });
  const body = await response.json();
  assert.ok(
    response.ok,
    `Simulator fault ${JSON.stringify(command)} failed: ${
      JSON.stringify(body)
    }`,
  );
  return body;
}

/** Hold the worker's OHLC requests until released (to prove cache-first). */
function holdOhlc(context: BrowserContext) {
  const held: Route[] = [];
  let holding = true;
  let seen = 0;
  const handler = (route: Route) => {
    seen++;
    if (holding) held.push(route);
    else void route.continue();
  };
  return {
    async start(): Promise<void> {
      await context.route("**/api/public/OHLC*", handler);
    },
    get seen(): number {
      return seen;
    },
    async release(): Promise<void> {
      holding = false;
      for (const route of held.splice(0)) await route.continue();
      await context.unroute("**/api/public/OHLC*", handler);
    },
  };
}

Deno.test({
  name:
    "the page shows live markets, a pair's chart and book, survives reconnects and shows stale data",
  ignore: SKIP,
  sanitizeResources: true,
  sanitizeOps: true,
  async fn(t) {
    await requireChromium();
    const chromium = await loadChromium();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const built = await buildWeb();
    const metrics: Record<string, unknown> = {
      bundle: Object.fromEntries(built.sizes.map((s) => [s.file, s])),
    };
    const server = await startServe(
      parseServeArgs(["--sim", "--port", "0"]) as Extract<
        ReturnType<typeof parseServeArgs>,
        { kind: "serve" }
      >,
      {
        configText: "market_data:\n  ws:\n    stale_tolerance_seconds: 2\n",
        logSink: () => {},
        say: () => {},
        env: () => undefined,
      },
    );
    const userDataDir = await Deno.makeTempDir({ prefix: "krakked-e2e-" });
    let context: BrowserContext | undefined;
    try {
      assert.ok(server.simUrl, "the server runs the simulator");
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        args: LAUNCH_ARGS,
        viewport: { width: 1280, height: 900 },
      });
      const page = context.pages()[0] ?? await context.newPage();
      const external: string[] = [];
      const consoleErrors: string[] = [];
      const accountRest: string[] = [];
      page.on("request", (request) => {
        const url = new URL(request.url());
        if (url.hostname !== "127.0.0.1") external.push(request.url());
        if (
          url.pathname === "/api/private/balance" ||
          url.pathname === "/api/private/open-orders"
        ) accountRest.push(url.pathname);
      });
      page.on("console", (message) => {
        if (message.type() === "error") consoleErrors.push(message.text());
      });
      page.on("pageerror", (error) => consoleErrors.push(String(error)));
      page.on("response", (response) => {
        if (response.status() >= 400) {
          consoleErrors.push(`HTTP ${response.status()} ${response.url()}`);
        }
      });

      await t.step(
        "the table fills with the universe and prices tick",
        async () => {
          await page.goto(server.url);
          await page.locator("#mode-badge", { hasText: "SIMULATED" }).waitFor({
            timeout: WAIT_MS,
          });
          assert.equal(await page.locator("#sim-banner").isVisible(), true);
          await page.waitForFunction(
            () => document.querySelectorAll("#market-body tr").length > 3,
            undefined,
            { timeout: WAIT_MS },
          );
          const rows = await page.locator("#market-body tr").count();
          await page.waitForFunction(
            () =>
              document.querySelectorAll(
                '#market-body .badge[data-fresh="live"]',
              ).length > 0,
            undefined,
            { timeout: WAIT_MS },
          );
          const before = await page.evaluate(() =>
            [...document.querySelectorAll("#market-body tr")].map((tr) =>
              tr.querySelector(".last")?.textContent ?? ""
            ).join("|")
          );
          await page.waitForFunction(
            (snapshot) =>
              [...document.querySelectorAll("#market-body tr")].map((tr) =>
                tr.querySelector(".last")?.textContent ?? ""
              ).join("|") !== snapshot,
            before,
            { timeout: WAIT_MS },
          );
          metrics.rows = rows;
          await page.screenshot({
            path: new URL("table.png", ARTIFACTS).pathname,
            fullPage: true,
          });
        },
      );

      await t.step(
        "the account panel shows the simulated balances from the event stream",
        async () => {
          await page.locator(
            '#account[data-ready="true"][data-stream="live"]',
          ).waitFor({ timeout: WAIT_MS });
          await page.locator("#balances tr").first().waitFor({
            timeout: WAIT_MS,
          });
          const shown = await page.evaluate(() =>
            [...document.querySelectorAll("#balances tr")].map((tr) =>
              [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")
            )
          );
          // Everything came from the stream: the page asked REST for nothing.
          assert.deepEqual(accountRest, []);
          // The same account through REST (fetched by the page, same session).
          const rest = await page.evaluate(async () => {
            const response = await fetch("/api/private/balance");
            return (await response.json()).result as Record<
              string,
              { balance: string; hold_trade?: string }
            >;
          });
          const restTotals = Object.values(rest).map((b) => Number(b.balance))
            .filter((n) => n !== 0).sort((a, b) => a - b);
          const shownTotals = shown.map((cells) => Number(cells[1])).sort((
            a,
            b,
          ) => a - b);
          assert.ok(shown.length > 0, "balances are shown");
          assert.deepEqual(shownTotals, restTotals);
          assert.ok(
            shown.some(([asset]) => asset === "USD"),
            `USD is listed: ${JSON.stringify(shown)}`,
          );
          metrics.accountRows = shown.length;
        },
      );

      await t.step(
        "selecting a pair draws candles and a verified book",
        async () => {
          await page.locator('#market-body tr[data-symbol="BTC/USD"]').click();
          await page.waitForFunction(
            () =>
              Number(document.getElementById("chart")?.dataset.bars ?? 0) > 10,
            undefined,
            { timeout: WAIT_MS },
          );
          await page.locator('#book-integrity[data-state="ok"]').waitFor({
            timeout: WAIT_MS,
          });
          await page.waitForFunction(
            () =>
              (document.getElementById("book-bids")?.textContent ?? "")
                .trim() !== "",
            undefined,
            { timeout: WAIT_MS },
          );
          await page.waitForFunction(
            () =>
              (document.getElementById("chart")?.dataset.history ?? "")
                .includes("network:"),
            undefined,
            { timeout: WAIT_MS },
          );
          await page.locator("#trades tr").first().waitFor({
            timeout: WAIT_MS,
          });
          metrics.coldMarks = await marks(page);
          await page.screenshot({
            path: new URL("detail.png", ARTIFACTS).pathname,
            fullPage: true,
          });
        },
      );

      await t.step(
        "after a reload the chart draws from IndexedDB before any network answer",
        async () => {
          const hold = holdOhlc(context!);
          await hold.start();
          await page.reload();
          await page.waitForFunction(
            () =>
              /^cache:[1-9]/.test(
                document.getElementById("chart")?.dataset.history ?? "",
              ),
            undefined,
            { timeout: WAIT_MS },
          );
          const whileHeld = await page.evaluate(() => ({
            history: document.getElementById("chart")?.dataset.history ?? "",
            bars: Number(document.getElementById("chart")?.dataset.bars ?? 0),
          }));
          assert.ok(whileHeld.bars > 0, "candles are drawn from the cache");
          assert.ok(
            !whileHeld.history.includes("network:"),
            `no network history yet: ${whileHeld.history}`,
          );
          assert.ok(
            hold.seen > 0,
            "the worker's OHLC request was held while the cache drew",
          );
          metrics.ohlcHeldByRoute = hold.seen;
          await hold.release();
          await page.waitForFunction(
            () =>
              (document.getElementById("chart")?.dataset.history ?? "")
                .includes("network:"),
            undefined,
            { timeout: WAIT_MS },
          );
          const warm = await marks(page);
          assert.ok(warm["history-cache-hit"] !== undefined, "cache-hit mark");
          assert.ok(warm["history-network"] !== undefined, "network mark");
          assert.ok(
            warm["history-cache-hit"]! <= warm["history-network"]!,
            "the cache answer came first",
          );
          assert.ok(warm["first-candle"]! <= warm["history-network"]!);
          metrics.warmMarks = warm;
        },
      );

      await t.step(
        "killing the stream shows reconnecting, then live again",
        async () => {
          const before = Number(
            await page.locator("#ws-reconnects").textContent(),
          );
          await simFault(server.simUrl!, { action: "drop", scope: "public" });
          await page.waitForFunction(
            (n) => {
              const ws = document.getElementById("ws-state");
              const seen = (ws?.dataset.seen ?? "").split(" ");
              const reconnects = Number(
                document.getElementById("ws-reconnects")?.textContent,
              );
              return ws?.dataset.ws === "open" && reconnects > n &&
                seen.lastIndexOf("open") >
                  Math.max(
                    seen.lastIndexOf("waiting"),
                    seen.lastIndexOf("connecting"),
                  );
            },
            before,
            { timeout: WAIT_MS },
          );
          const seen = await page.locator("#ws-state").getAttribute(
            "data-seen",
          );
          assert.match(seen ?? "", /(waiting|connecting) .*open$/);
          await page.locator('#book-integrity[data-state="ok"]').waitFor({
            timeout: WAIT_MS,
          });
        },
      );

      await t.step(
        "a stalled feed shows the stale badge, and live again after it resumes",
        async () => {
          await simFault(server.simUrl!, { action: "stall", scope: "public" });
          await page.locator('#market-body .badge[data-fresh="stale"]').first()
            .waitFor({ timeout: WAIT_MS });
          const text = await page.locator(
            '#market-body .badge[data-fresh="stale"]',
          ).first().textContent();
          assert.match(text ?? "", /^stale \d+ s$/);
          await page.screenshot({
            path: new URL("stale.png", ARTIFACTS).pathname,
          });
          await simFault(server.simUrl!, { action: "resume" });
          await page.waitForFunction(
            () =>
              document.querySelectorAll(
                  '#market-body .badge[data-fresh="stale"]',
                ).length === 0 &&
              document.querySelectorAll(
                  '#market-body .badge[data-fresh="live"]',
                ).length > 0,
            undefined,
            { timeout: WAIT_MS },
          );
        },
      );

      await t.step("the table works from the keyboard", async () => {
        await page.keyboard.press("/");
        await page.keyboard.type("eth");
        await page.waitForFunction(
          () =>
            document.getElementById("row-count")?.textContent !== "" &&
            // The table is virtual: rows that do not match are not in it.
            [...document.querySelectorAll<HTMLElement>("#market-body tr")]
              .every((tr) => /ETH/.test(tr.dataset.symbol ?? "")),
          undefined,
          { timeout: WAIT_MS },
        );
        await page.keyboard.press("ArrowDown");
        const focused = await page.evaluate(() =>
          (document.activeElement as HTMLElement | null)?.dataset.symbol ?? ""
        );
        assert.match(focused, /ETH/);
        await page.keyboard.press("Enter");
        await page.locator("#detail-title", { hasText: focused }).waitFor({
          timeout: WAIT_MS,
        });
        await page.keyboard.press("/");
        await page.keyboard.press("Escape");
      });

      await t.step("the page fits a 640 px split screen", async () => {
        await page.setViewportSize({ width: 640, height: 900 });
        await page.waitForFunction(
          () => document.documentElement.scrollWidth <= 640,
          undefined,
          { timeout: WAIT_MS },
        );
        await page.screenshot({
          path: new URL("narrow-640.png", ARTIFACTS).pathname,
          fullPage: true,
        });
      });

      await t.step(
        "the page made no external requests and logged no errors",
        () => {
          assert.deepEqual(external, []);
          assert.deepEqual(consoleErrors, []);
        },
      );
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      await Deno.writeTextFile(
        new URL("e2e-metrics.json", ARTIFACTS),
        JSON.stringify(metrics, null, 2) + "\n",
      );
    }
  },
});
