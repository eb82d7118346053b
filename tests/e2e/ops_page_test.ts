/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * The ops console (`#/ops`) in a real browser (Chromium via
 * playwright-core) against `serve --sim` in live mode, fed only by the
 * page's event stream (`/api/private/events?topics=ops`; the page never
 * polls `/api/ops` and never reloads): after a scripted burst of private
 * REST calls the REST counter it shows matches the simulator's own counter
 * of the key (and the call count the server's), and a forced drop of the
 * private socket appears with its reason.
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
        configText: "connection:\n  api_tier: pro\n\ntrading:\n  mode: live\n",
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
      const opsRequests: string[] = [];
      page.on("request", (request) => {
        const path = new URL(request.url()).pathname +
          new URL(request.url()).search;
        if (path.startsWith("/api/ops") || path.includes("topics=ops")) {
          opsRequests.push(path);
        }
      });
      await page.goto(`${server.url}/#/ops`);
      const view = page.locator("#ops-view");
      await view.locator("text=Rate-limit counters").waitFor({
        timeout: WAIT_MS,
      });
      await view.locator("td", { hasText: /^auth$/ }).waitFor({
        timeout: WAIT_MS,
      });
      // The CLI's one-shot read, with the session the page got.
      const cookie = (await context.cookies(server.url))
        .map((c) => `${c.name}=${c.value}`).join("; ");
      const get = async (path: string) => {
        const res = await fetch(`${server.url}${path}`, {
          headers: { cookie },
        });
        assert.equal(res.status, 200, path);
        return await res.json();
      };
      const tier = (await get("/api/ops")).tier;
      assert.ok(
        (await view.textContent())!.includes(`REST (${tier})`),
        "the REST counter row names the tier",
      );

      // What the page shows: the REST row's level and max, and the
      // BalanceEx count of the upstream table.
      const shown = () =>
        page.evaluate(() => {
          const rows = [...document.querySelectorAll("#ops-view tr")].map((
            tr,
          ) =>
            [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")
          );
          const rest = rows.find((r) => r[0]?.startsWith("REST ("));
          const [level, max] = (rest?.[1] ?? "").split(" / ").map(Number);
          const balance = rows.find((r) => r[0] === "BalanceEx");
          return {
            level: level ?? NaN,
            max: max ?? NaN,
            balanceCalls: Number(balance?.[1] ?? 0),
          };
        });
      // Start-up reads (account hydration) settle first, and both counters
      // decay to empty: the burst then adds the same to both.
      let calls = -1;
      for (let i = 0; i < 600; i++) {
        const ops = await get("/api/ops");
        const quiet = ops.upstream.calls === calls && ops.rest.level < 0.05 &&
          ops.rest.queued === 0;
        calls = ops.upstream.calls;
        if (quiet) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // A scripted burst of private reads through the server.
      const simCounter = () => server.simulator!.keys.counter("key-1")!;
      for (let i = 0; i < 8; i++) await get("/api/private/balance");
      const served = (await get("/api/ops")).upstream.byMethod.BalanceEx;
      assert.ok(served >= 8);
      // The page catches up by pushes alone: the same call count as the
      // server, and the level the simulator holds for the key (both decay
      // at the same rate; a push is at most a second old, so within one
      // second's decay).
      let last = await shown();
      for (let i = 0; i < 100; i++) {
        last = await shown();
        const sim = simCounter();
        if (
          last.balanceCalls >= served && last.max === sim.max &&
          Math.abs(last.level - sim.level) <= sim.decayPerSec + 0.5
        ) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const sim = simCounter();
      assert.ok(last.balanceCalls >= served, JSON.stringify(last));
      assert.equal(last.max, sim.max);
      assert.ok(last.level >= 3, `the burst shows: ${last.level}`);
      assert.ok(
        Math.abs(last.level - sim.level) <= sim.decayPerSec + 0.5,
        `page ${last.level} vs simulator ${sim.level}`,
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
      // Only the event stream fed the page: one ops stream, no polling.
      assert.deepEqual(opsRequests, ["/api/private/events?topics=ops"]);
      // Leaving the view hides it and closes the stream.
      await page.evaluate(() => (location.hash = "#"));
      await page.waitForFunction(() =>
        (document.getElementById("ops-view") as HTMLElement).hidden
      );

      // A section the view has no layout for (a service reporting its
      // actions, an order event of a new type) is drawn generically.
      const other = await context.newPage();
      other.on("pageerror", (error) => pageErrors.push(String(error)));
      const atMs = Date.now();
      await other.route(
        "**/api/private/events?topics=ops",
        (route) =>
          route.fulfill({
            status: 200,
            headers: { "content-type": "text/event-stream" },
            body: `event: ops\ndata: ${
              JSON.stringify({
                atMs,
                tier: "pro",
                rest: { level: 1, max: 20, decayPerSec: 1, queued: 0 },
                orders: [{
                  atMs,
                  order: "userref:7",
                  type: "reposition",
                  detail: "amend 0.01 @ 101.5",
                }],
                repositionActions: [{
                  atMs,
                  order: "userref:7",
                  action: "amend",
                  reason: "resting 45 s, 60 bp from the touch",
                }],
              })
            }\n\n`,
          }),
      );
      await other.goto(`${server.url}/#/ops`);
      const generic = other.locator("#ops-view table", {
        hasText: "Reposition actions (1)",
      });
      await generic.waitFor({ timeout: WAIT_MS });
      const genericText = (await generic.textContent())!;
      assert.ok(genericText.includes("resting 45 s, 60 bp from the touch"));
      assert.ok(genericText.includes("amend"));
      // The repositioner's kind of order event: in the order events and in
      // the actions table, with its detail.
      const actions = other.locator("#ops-view table", {
        hasText: "Actions (reposition)",
      });
      await actions.waitFor({ timeout: WAIT_MS });
      assert.ok((await actions.textContent())!.includes("amend 0.01 @ 101.5"));
      await other.locator("#ops-view table", { hasText: "Order events" })
        .locator("td", { hasText: /^reposition$/ }).waitFor({
          timeout: WAIT_MS,
        });
      await other.close();
      assert.deepEqual(pageErrors, []);
    } finally {
      await context?.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
