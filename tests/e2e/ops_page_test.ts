/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The ops console (`#/ops`) in a real browser (Chromium via
 * playwright-core) against `serve --sim` in live mode: it shows the
 * server's counters and both WebSocket connections, and a forced drop of
 * the private socket appears on the open page with its reason, pushed over
 * the event stream (the page never reloads).
 */

import assert from "node:assert/strict";
import type { BrowserContext } from "playwright-core";
import { join } from "node:path";
import { buildWeb } from "../../server/build.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import {
  CHROMIUM,
  LAUNCH_ARGS,
  loadChromium,
  requireChromium,
  SKIP,
} from "./_chromium.ts";

const WAIT_MS = 60_000;

Deno.test({
  name:
    "the #/ops page shows the server's counters and a reconnect's reason, live",
  ignore: SKIP,
  async fn() {
    await requireChromium();
    const chromium = await loadChromium();
    await buildWeb();
    const dir = await Deno.makeTempDir({ prefix: "krakked-ops-" });
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
    let context: BrowserContext | undefined;
    try {
      context = await chromium.launchPersistentContext(join(dir, "profile"), {
        executablePath: CHROMIUM,
        args: LAUNCH_ARGS,
        viewport: { width: 1440, height: 900 },
      });
      const page = context.pages()[0] ?? await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      await page.goto(`${server.url}/#/ops`);
      const view = page.locator("#ops-view");
      await view.locator("text=Rate-limit counters").waitFor({
        timeout: WAIT_MS,
      });
      await view.locator("td", { hasText: /^auth$/ }).waitFor({
        timeout: WAIT_MS,
      });
      const tier = (await (await fetch(`${server.url}/api/ops`)).json()).tier;
      assert.ok(
        (await view.textContent())!.includes(`REST (${tier})`),
        "the REST counter row names the tier",
      );
      // Force a drop of the private socket; the open page shows the reason.
      const res = await fetch(`${server.simUrl}/_sim/ws/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "drop", scope: "private", code: 4002 }),
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      await view.locator("td", { hasText: "closed 4002" }).waitFor({
        timeout: WAIT_MS,
      });
      // Leaving the view hides it and closes the stream.
      await page.evaluate(() => (location.hash = "#"));
      await page.waitForFunction(() =>
        (document.getElementById("ops-view") as HTMLElement).hidden
      );
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
