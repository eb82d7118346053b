/**
 * The market-watch page in a stock Firefox (Debian's `firefox-esr`), driven
 * over WebDriver BiDi (`_bidi.ts`), against the real server in `--sim` mode:
 * the module worker starts, the table fills and ticks, and a pair's detail
 * view draws candles and a checksum-verified book.
 *
 * Skipped, with the reason in its name, only when Firefox is not installed
 * (`apt-get install -y firefox-esr`, or point `KRAKKED_FIREFOX` at one) or
 * with `KRAKKED_SKIP_E2E=1`. The screenshot goes to
 * `test-artifacts/firefox-detail.png`.
 */

import assert from "node:assert/strict";
import { buildWeb } from "../../server/build.ts";
import { parseServeArgs } from "../../server/cli/serve_cmd.ts";
import { startServe } from "../../server/serve.ts";
import { findFirefox, FirefoxBidi } from "./_bidi.ts";
import { ARTIFACTS, SKIP } from "./_chromium.ts";

const FIREFOX = findFirefox();
const WAIT_MS = 30_000;

Deno.test({
  name: FIREFOX === undefined
    ? "the page works in Firefox (skipped: Firefox is not installed; apt-get install -y firefox-esr or set KRAKKED_FIREFOX)"
    : "the page works in Firefox: module worker, live table, candles and a verified book",
  ignore: SKIP || FIREFOX === undefined,
  sanitizeResources: true,
  sanitizeOps: true,
  async fn(t) {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await buildWeb();
    const args = parseServeArgs(["--sim", "--port", "0"]);
    assert.ok(args.kind === "serve");
    const server = await startServe(args, {
      configText: "",
      logSink: () => {},
      say: () => {},
      env: () => undefined,
    });
    let firefox: FirefoxBidi | undefined;
    const metrics: Record<string, unknown> = {};
    try {
      firefox = await FirefoxBidi.launch(FIREFOX!);
      metrics.browser = firefox.version;
      const ff = firefox;

      await t.step("the table fills and prices tick", async () => {
        await ff.navigate(server.url);
        await ff.waitFor(
          `document.getElementById("mode-badge")?.textContent === "SIMULATED"`,
          "the SIMULATED badge",
          WAIT_MS,
        );
        await ff.waitFor(
          `document.querySelectorAll("#market-body tr").length > 3 &&
           document.querySelectorAll('#market-body .badge[data-fresh="live"]').length > 0`,
          "rows with live prices",
          WAIT_MS,
        );
        const before = await ff.evaluate(
          `[...document.querySelectorAll("#market-body .last")].map((td) => td.textContent).join("|")`,
        );
        await ff.waitFor(
          `[...document.querySelectorAll("#market-body .last")].map((td) => td.textContent).join("|") !== ${
            JSON.stringify(before)
          }`,
          "a price to change",
          WAIT_MS,
        );
        metrics.rows = await ff.evaluate(
          `document.querySelectorAll("#market-body tr").length`,
        );
        assert.ok(Number(metrics.rows) > 3);
      });

      await t.step(
        "a pair's detail view draws candles and a verified book",
        async () => {
          await ff.evaluate(
            `document.querySelector('#market-body tr[data-symbol="BTC/USD"]').click()`,
          );
          await ff.waitFor(
            `Number(document.getElementById("chart")?.dataset.bars ?? 0) > 10`,
            "candles on the chart",
            WAIT_MS,
          );
          await ff.waitFor(
            `document.getElementById("book-integrity")?.dataset.state === "ok" &&
           (document.getElementById("book-bids")?.textContent ?? "").trim() !== ""`,
            "a checksum-verified book",
            WAIT_MS,
          );
          await ff.waitFor(
            `document.querySelector("#trades tr") !== null`,
            "recent trades",
            WAIT_MS,
          );
          metrics.bars = await ff.evaluate(
            `Number(document.getElementById("chart").dataset.bars)`,
          );
          metrics.storage = await ff.evaluate(
            `document.getElementById("storage-state")?.textContent`,
          );
          await Deno.writeFile(
            new URL("firefox-detail.png", ARTIFACTS),
            await ff.screenshot(),
          );
        },
      );

      await t.step("Firefox logged no errors", () => {
        assert.deepEqual(ff.errors, []);
      });
    } finally {
      await firefox?.close();
      await server.close();
      await Deno.writeTextFile(
        new URL("e2e-firefox-metrics.json", ARTIFACTS),
        JSON.stringify(metrics, null, 2) + "\n",
      );
    }
  },
});
