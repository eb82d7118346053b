/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The Portfolio view in a real browser (Chromium via playwright-core)
 * against the real server in `--sim` mode with `trading.mode: live`: once
 * the account is hydrated, the page shows the same realised P&L, fees and
 * deposits as `krakked pnl --json` for the same simulator (to the last
 * decimal, read from `data-value`), equity consistent with
 * `krakked equity --json`, the equity chart drawn from the same ledger
 * series as `krakked equity --history --json`, updates pushed over
 * `/api/account/events` (no polling of `/api/account`), and no sideways
 * scroll at 1440 and 390 px.
 */

import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { join } from "node:path";
import { addDecimal, compareDecimal } from "../../core/decimal.ts";
import { buildWeb } from "../../server/build.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import type { PnlJson } from "../../server/cli/pnl_cmd.ts";
import { startServe } from "../../server/serve.ts";
import { paperOpening } from "../../server/trading/account_service.ts";
import { netFlows } from "../../core/account/ledger.ts";
import { computePnl } from "../../core/account/pnl.ts";
import { tradeRates } from "../../core/account/rates.ts";
import { accountTradesFromFills } from "../../core/account/trades.ts";
import type { PaperFill } from "../../core/trade/paper.ts";
import { CliHarness } from "../server/cli/_harness.ts";
import {
  ARTIFACTS,
  CHROMIUM,
  LAUNCH_ARGS,
  loadChromium,
  requireChromium,
  SKIP,
} from "./_chromium.ts";

const WAIT_MS = 60_000;
const RETRY = { retry: { maxAttempts: 4, baseDelayMs: 200 } };

async function figure(page: Page, name: string): Promise<string> {
  const value = await page.locator(`#portfolio-${name}`).getAttribute(
    "data-value",
  );
  assert.ok(value !== null, `#portfolio-${name} has a value`);
  return value;
}

async function noSidewaysScroll(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: innerWidth,
  }));
  assert.ok(scroll <= width, `page is ${scroll} px wide in ${width} px`);
}

Deno.test({
  name:
    "the Portfolio view shows equity and P&L consistent with krakked pnl/equity --json",
  ignore: SKIP,
  async fn(t) {
    await requireChromium();
    const chromium = await loadChromium();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await buildWeb();
    const dir = await Deno.makeTempDir({ prefix: "krakked-portfolio-" });
    const server = await startServe(
      parseServeArgs(["--sim", "--port", "0"]) as Extract<
        ReturnType<typeof parseServeArgs>,
        { kind: "serve" }
      >,
      {
        configText: "trading:\n  mode: live\n",
        logSink: () => {},
        say: () => {},
        env: () => undefined,
        paperPath: join(dir, "paper.json"),
      },
    );
    const sim = server.simulator!;
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(
        join(dir, "profile"),
        {
          executablePath: CHROMIUM,
          args: LAUNCH_ARGS,
          viewport: { width: 1440, height: 900 },
        },
      );
      const page = context.pages()[0] ?? await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      // Reads of the account document (not its event stream).
      let accountReads = 0;
      page.on("request", (request) => {
        if (new URL(request.url()).pathname === "/api/account") accountReads++;
      });
      await page.goto(server.url);
      await page.locator("#portfolio[data-phase='ready']").waitFor({
        timeout: WAIT_MS,
      });
      await page.locator("#portfolio-realized[data-value]").waitFor({
        timeout: WAIT_MS,
      });

      // The CLI against the same simulator account. The seeded account
      // has resting limit orders that the simulator's market may fill at
      // any moment, so the page and the CLI can read the account a fill
      // apart: the page must converge (the server refreshes its account on
      // each execution and pushes it to the page), so compare until both
      // read the same account, bounded by WAIT_MS.
      await using cli = await CliHarness.start({ restUrl: sim.url });
      const env = {
        KRAKEN_API_KEY: sim.credentials.apiKey,
        KRAKEN_API_SECRET: sim.credentials.apiSecret.reveal(),
      };
      const readCli = async <T>(args: string[]): Promise<T> => {
        const run = await cli.run(args, { env, io: RETRY });
        assert.equal(run.code, 0, run.stderr);
        return JSON.parse(run.stdout) as T;
      };
      /** Mismatches between the page and `pnl`, empty when they agree. */
      const mismatches = async (pnl: PnlJson): Promise<string[]> => {
        const out: string[] = [];
        for (
          const [name, cli] of [
            ["realized", pnl.totals.realizedPnl],
            ["fees", pnl.totals.fees],
            ["income", pnl.totals.income],
          ] as const
        ) {
          const shown = await figure(page, name);
          if (compareDecimal(shown, cli) !== 0) {
            out.push(`${name}: page ${shown}, CLI ${cli}`);
          }
        }
        const net = addDecimal(
          await figure(page, "deposits"),
          await figure(page, "withdrawals"),
        );
        if (compareDecimal(net, pnl.totals.netDeposits) !== 0) {
          out.push(
            `deposits + withdrawals ${net}, CLI net deposits ${pnl.totals.netDeposits}`,
          );
        }
        return out;
      };
      let pnl = await readCli<PnlJson>(["pnl", "--json"]);
      let equity = await readCli<{ total: string }>(["equity", "--json"]);

      await t.step(
        "realised P&L, fees and deposits equal the CLI's",
        async () => {
          assert.ok(pnl.totals.trades > 0, "the simulator has trades");
          const deadline = Date.now() + WAIT_MS;
          let diff = await mismatches(pnl);
          while (diff.length > 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 1_000));
            pnl = await readCli<PnlJson>(["pnl", "--json"]);
            equity = await readCli<{ total: string }>(["equity", "--json"]);
            diff = await mismatches(pnl);
          }
          assert.deepEqual(diff, [], "the page converges on the CLI's P&L");
        },
      );

      await t.step(
        "equity and unrealised P&L agree with the CLI at live prices",
        async () => {
          const shown = Number(await figure(page, "equity"));
          const cliTotal = Number(equity.total);
          assert.ok(cliTotal > 0);
          // Prices move between the two reads: within 1 %.
          assert.ok(
            Math.abs(shown - cliTotal) / cliTotal < 0.01,
            `page equity ${shown}, CLI equity ${cliTotal}`,
          );
          const rows = await page.locator("#portfolio-positions tr").count();
          assert.equal(rows, pnl.positions.length, "one row per open position");
          for (const p of pnl.positions) {
            const basis = await page.locator(
              `#portfolio-positions tr[data-asset='${p.asset}'] td:nth-child(3)`,
            ).getAttribute("data-value");
            assert.equal(basis, p.costBasis, `${p.asset} cost basis`);
          }
          await noSidewaysScroll(page);
          await page.screenshot({
            path: new URL("portfolio-1440.png", ARTIFACTS).pathname,
            fullPage: true,
          });
        },
      );

      await t.step(
        "updates arrive over the event stream, not by polling",
        async () => {
          const reads = accountReads;
          const stamp = async () =>
            await page.locator("#portfolio-state").textContent();
          const before = await stamp();
          // Marks follow the simulator's books: the page is told about
          // each recompute (about once a second) without asking.
          const deadline = Date.now() + 20_000;
          while ((await stamp()) === before && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 250));
          }
          assert.notEqual(await stamp(), before, "a pushed update was shown");
          assert.equal(accountReads, reads, "no GET /api/account meanwhile");
        },
      );

      await t.step(
        "the equity chart is the ledger series of krakked equity --history",
        async () => {
          const cliHistory = await readCli<
            { timeSec: number; total: string }[]
          >(["equity", "--history", "--json"]);
          const chart = page.locator("#portfolio-chart");
          await page.locator("#portfolio-chart[data-series='ledger']").waitFor({
            timeout: WAIT_MS,
          });
          assert.ok(await chart.isVisible(), "the chart is drawn");
          assert.ok(cliHistory.length >= 2);
          assert.equal(
            Number(await chart.getAttribute("data-points")),
            cliHistory.length,
            "one point per day end, as the CLI",
          );
          // The oldest day end lies weeks back: fills since cannot move it.
          assert.equal(
            await chart.getAttribute("data-first"),
            cliHistory[0]!.total,
          );
        },
      );

      await t.step("390 px: no sideways scroll, figures shown", async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        await page.locator("#portfolio-equity").scrollIntoViewIfNeeded();
        await noSidewaysScroll(page);
        assert.ok(await page.locator("#portfolio-equity").isVisible());
        await page.screenshot({
          path: new URL("portfolio-390.png", ARTIFACTS).pathname,
          fullPage: true,
        });
      });
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "paper mode: the Portfolio view shows the paper account, its P&L core/account's FIFO over the paper fills",
  ignore: SKIP,
  async fn() {
    await requireChromium();
    const chromium = await loadChromium();
    await buildWeb();
    const dir = await Deno.makeTempDir({ prefix: "krakked-portfolio-paper-" });
    const paperPath = join(dir, "paper.json");
    const server = await startServe(
      parseServeArgs(["--sim", "--port", "0"]) as Extract<
        ReturnType<typeof parseServeArgs>,
        { kind: "serve" }
      >,
      {
        configText: "trading:\n  mode: paper\n",
        logSink: () => {},
        say: () => {},
        env: () => undefined,
        paperPath,
      },
    );
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(
        join(dir, "profile"),
        {
          executablePath: CHROMIUM,
          args: LAUNCH_ARGS,
          viewport: { width: 1440, height: 900 },
        },
      );
      const page = context.pages()[0] ?? await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      await page.goto(server.url);
      await page.locator("#portfolio[data-source='paper'][data-phase='ready']")
        .waitFor({ timeout: WAIT_MS });
      // Two paper buys and a partial exit, placed from the page's origin.
      const answers = await page.evaluate(async () => {
        const depth = await (await fetch(
          "/api/public/Depth?pair=XBTUSD&count=1",
        )).json();
        const book = Object.values(depth.result)[0] as {
          asks: [string][];
        };
        const ask = Number(book.asks[0]![0]);
        const post = async (body: unknown) => {
          const res = await fetch("/api/orders", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
          });
          return { status: res.status, body: await res.text() };
        };
        const out = [];
        for (const volume of ["0.002", "0.003"]) {
          out.push(
            await post({
              pair: "XBTUSD",
              side: "buy",
              type: "market",
              volume,
              stopLoss: (ask * 0.95).toFixed(1),
            }),
          );
        }
        out.push(
          await post({
            pair: "XBTUSD",
            side: "sell",
            type: "market",
            volume: "0.001",
            intent: "exit",
          }),
        );
        return out;
      });
      for (const a of answers) assert.equal(a.status, 200, a.body);
      const state = JSON.parse(await Deno.readTextFile(paperPath));
      const fills = state.fills as PaperFill[];
      const trades = accountTradesFromFills(
        fills,
        () => ({ base: "BTC", quote: "USD" }),
      );
      const core = computePnl(
        trades,
        netFlows(paperOpening(state.balances, trades)),
        { rateAt: tradeRates(trades) },
      );
      // The page follows the pushed account until it shows every fill.
      const deadline = Date.now() + WAIT_MS;
      const shown = async () => ({
        realized: await figure(page, "realized"),
        fees: await figure(page, "fees"),
        basis: await page.locator(
          "#portfolio-positions tr[data-asset='BTC'] td:nth-child(3)",
        ).getAttribute("data-value").catch(() => null),
      });
      let now = await shown();
      while (
        (now.fees !== core.fees || now.basis === null) && Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 250));
        now = await shown();
      }
      assert.equal(now.realized, core.realizedPnl, "realised = core FIFO");
      assert.equal(now.fees, core.fees, "fees = core FIFO");
      assert.equal(now.basis, core.positions[0]!.costBasis, "BTC cost basis");
      assert.equal(
        await figure(page, "deposits"),
        core.netDeposits,
        "the opening balances as deposits",
      );
      await page.screenshot({
        path: new URL("portfolio-paper-1440.png", ARTIFACTS).pathname,
        fullPage: true,
      });
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
