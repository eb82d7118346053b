/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The order ticket in a real browser (Chromium via playwright-core)
 * against the real server in `--sim` mode with `trading.mode: paper`:
 * the mode badge, the pre-filled stop-loss on the losing side, the
 * notional, the confirm step driven from the keyboard, an accepted paper
 * fill and a rejection that names its rule.
 */

import assert from "node:assert/strict";
import type { BrowserContext } from "playwright-core";
import { join } from "node:path";
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

Deno.test({
  name: "the order ticket places a paper order and shows the decision",
  ignore: SKIP,
  async fn(t) {
    await requireChromium();
    const chromium = await loadChromium();
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await buildWeb();
    const dir = await Deno.makeTempDir({ prefix: "krakked-ticket-" });
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
        paperPath: join(dir, "paper.json"),
      },
    );
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(
        join(dir, "profile"),
        {
          executablePath: CHROMIUM,
          args: LAUNCH_ARGS,
          viewport: { width: 1280, height: 1000 },
        },
      );
      const page = context.pages()[0] ?? await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      await page.goto(`${server.url}/#XBTUSD/1h`);

      await t.step(
        "the ticket shows PAPER and a stop-loss below the ask",
        async () => {
          await page.locator("#ticket-mode", { hasText: "PAPER" }).waitFor({
            timeout: WAIT_MS,
          });
          await page.waitForFunction(
            () =>
              (document.getElementById("ticket-stop") as HTMLInputElement)
                .value !== "",
            undefined,
            { timeout: WAIT_MS },
          );
          const stop = Number(await page.inputValue("#ticket-stop"));
          const ask = Number(
            await page.locator("#book-asks tr").first().locator("td").first()
              .textContent(),
          );
          assert.ok(
            stop < ask && stop > ask * 0.95,
            `stop ${stop}, ask ${ask}`,
          );
        },
      );

      await t.step("keyboard: volume, review, confirm → accepted", async () => {
        await page.getByRole("textbox", { name: "Volume", exact: true })
          .focus();
        await page.keyboard.type("0.001");
        await page.locator("#ticket-notional", { hasText: "Notional ≈" })
          .waitFor({ timeout: WAIT_MS });
        await page.keyboard.press("Enter");
        await page.locator("#ticket-confirm").waitFor({ state: "visible" });
        const summary = await page.textContent("#ticket-summary");
        assert.match(
          summary ?? "",
          /^PAPER: BUY 0\.001 BTC\/USD at market, stop-loss [\d.]+\. Notional ≈ [\d.]+ USD/,
        );
        // The send button has the focus: Enter sends.
        assert.equal(
          await page.evaluate(() => document.activeElement?.id),
          "ticket-send",
        );
        await page.keyboard.press("Enter");
        await page.locator('#ticket-result[data-decision="accepted"]').waitFor(
          { timeout: WAIT_MS },
        );
        assert.match(
          (await page.textContent("#ticket-result")) ?? "",
          /^Accepted \(PAPER\): notional [\d.]+ USD, stop-loss [\d.]+, order O\S+ filled/,
        );
      });

      await t.step(
        "a stop-loss on the wrong side is rejected with its rule",
        async () => {
          const ask = Number(
            await page.locator("#book-asks tr").first().locator("td").first()
              .textContent(),
          );
          await page.fill("#ticket-stop", (ask * 1.05).toFixed(1));
          await page.click("#ticket-review");
          await page.click("#ticket-send");
          await page.locator('#ticket-result[data-decision="rejected"]')
            .waitFor(
              { timeout: WAIT_MS },
            );
          assert.equal(
            await page.getAttribute("#ticket-result", "data-rule"),
            "stop_loss_wrong_side",
          );
          await page.screenshot({
            path: new URL("order_ticket.png", ARTIFACTS).pathname,
            fullPage: true,
          });
        },
      );
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
