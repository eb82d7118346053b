/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * A whole round trip on the page in a real browser (Chromium via
 * playwright-core) against the real server in `--sim` mode: buy with a
 * stop-loss through the ticket, see the position and its stop, have the
 * stop's cancel refused with its rule, sell part through "Sell (exit)",
 * Close the rest, and see the position at 0 with its P&L and fees and the
 * stop gone. Once on the PAPER account (`trading.mode: paper`), once live
 * against the simulator's exchange account (`trading.mode: live`,
 * `enable_live_orders` and `--live`).
 */

import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
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

/** What the page sent to the order routes, and what went wrong. */
interface Session {
  page: Page;
  /** JSON bodies of `POST /api/orders`, in order. */
  tickets: Record<string, unknown>[];
  /** Page errors and HTTP 5xx answers. */
  errors: string[];
  /** Paths of `/api/private/*` requests. */
  privateCalls: string[];
}

async function withPage(
  options: { configText: string; live?: boolean; hash: string },
  fn: (session: Session) => Promise<void>,
): Promise<void> {
  await requireChromium();
  const chromium = await loadChromium();
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await buildWeb();
  const dir = await Deno.makeTempDir({ prefix: "krakked-round-trip-" });
  const server = await startServe(
    parseServeArgs([
      "--sim",
      "--port",
      "0",
      ...(options.live ? ["--live"] : []),
    ]) as Extract<ReturnType<typeof parseServeArgs>, { kind: "serve" }>,
    {
      configText: options.configText,
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
      viewport: { width: 1280, height: 1000 },
    });
    const page = context.pages()[0] ?? await context.newPage();
    const session: Session = {
      page,
      tickets: [],
      errors: [],
      privateCalls: [],
    };
    page.on("pageerror", (error) => session.errors.push(String(error)));
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith("/api/private/")) {
        session.privateCalls.push(url.pathname);
      }
      if (url.pathname === "/api/orders" && request.method() === "POST") {
        session.tickets.push(JSON.parse(request.postData() ?? "{}"));
      }
    });
    page.on("response", (response) => {
      if (response.status() >= 500) {
        session.errors.push(`HTTP ${response.status()} ${response.url()}`);
      }
    });
    await page.goto(`${server.url}/${options.hash}`);
    await fn(session);
  } finally {
    await context?.close();
    await server.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The number in a figure such as `−0.0005` or `0.1583`. */
function figure(text: string | null): number {
  return parseFloat((text ?? "").replace("−", "-").replace("+", ""));
}

async function waitStopPrefilled(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      (document.getElementById("ticket-stop") as HTMLInputElement).value !== "",
    undefined,
    { timeout: WAIT_MS },
  );
}

/** Review and send from the keyboard; resolves with the result element's decision. */
async function sendFromTicket(page: Page): Promise<string> {
  await page.locator("#ticket-result").evaluate((el) => {
    el.dataset.decision = "";
  });
  await page.locator("#ticket-review").focus();
  await page.keyboard.press("Enter");
  await page.locator("#ticket-confirm").waitFor({ state: "visible" });
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    "ticket-send",
  );
  await page.keyboard.press("Enter");
  await page.waitForFunction(
    () => {
      const d = document.getElementById("ticket-result")?.dataset.decision;
      return d === "accepted" || d === "rejected" || d === "error";
    },
    undefined,
    { timeout: WAIT_MS },
  );
  return await page.getAttribute("#ticket-result", "data-decision") ?? "";
}

/**
 * The account panel and the ticket fit the width: nothing in them pokes out
 * of its panel, no scroll container in them scrolls sideways, and the
 * panels end inside the viewport.
 */
async function assertFits(page: Page, width: number): Promise<void> {
  await page.setViewportSize({ width, height: 900 });
  const problems = await page.evaluate(() => {
    const found: string[] = [];
    const viewport = document.documentElement.clientWidth;
    for (const id of ["account", "ticket"]) {
      const root = document.getElementById(id);
      if (root === null || root.getClientRects().length === 0) continue;
      const edge = root.getBoundingClientRect().right;
      if (edge > viewport + 1) found.push(`#${id} ends at ${edge}`);
      for (const el of root.querySelectorAll<HTMLElement>("*")) {
        if (el.closest(".visually-hidden") !== null) continue;
        if (el.getClientRects().length === 0) continue;
        const name = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`;
        const right = el.getBoundingClientRect().right;
        if (right > edge + 1) found.push(`${id}: ${name} ends at ${right}`);
        const overflow = getComputedStyle(el).overflowX;
        if (
          (overflow === "auto" || overflow === "scroll") &&
          el.scrollWidth > el.clientWidth + 1
        ) found.push(`${id}: ${name} scrolls sideways`);
      }
    }
    return found;
  });
  assert.deepEqual(problems, [], `at ${width} px`);
}

Deno.test({
  name:
    "round trip on the PAPER account: buy with stop, stop refused, exit, close, P&L",
  ignore: SKIP,
  async fn(t) {
    await withPage(
      { configText: "trading:\n  mode: paper\n", hash: "#XBTUSD/1h" },
      async ({ page, tickets, errors, privateCalls }) => {
        const position = page.locator('#positions li[data-key="XBTUSD"]');
        const stops = page.locator('#open-orders li[data-role="stop"]');

        await t.step(
          "the account panel shows the PAPER account, not the exchange's",
          async () => {
            await page.locator(
              '#account[data-source="paper"][data-ready="true"]',
            )
              .waitFor({ timeout: WAIT_MS });
            assert.equal(await page.textContent("#account-badge"), "PAPER");
            assert.equal(
              await page.locator("#account-banner").isVisible(),
              true,
            );
            const assets = await page.locator("#balances tr td:first-child")
              .allTextContents();
            // A new paper account holds its starting USD only; the
            // simulator's exchange account (ETH, SOL, …) never shows here.
            assert.deepEqual(assets, ["USD"]);
            assert.equal(
              figure(await page.textContent("#balances tr td:nth-child(2)")),
              10_000,
            );
            assert.equal(await page.locator("#open-orders li").count(), 0);
            await page.locator("#ticket-mode", { hasText: "PAPER" }).waitFor();
            // Nothing held: Sell (exit) says why it is not offered.
            assert.equal(
              await page.locator('input[name="ticket-side"][value="sell"]')
                .isDisabled(),
              true,
            );
            assert.match(
              await page.textContent("#ticket-sell-note") ?? "",
              /holds no BTC/,
            );
          },
        );

        await t.step(
          "buy with a stop-loss: intent entry, no take-profit anywhere",
          async () => {
            assert.equal(
              await page.locator("#ticket").getByText(/take.?profit/i).count(),
              0,
            );
            await waitStopPrefilled(page);
            await page.getByRole("textbox", { name: "Volume", exact: true })
              .fill("0.001");
            assert.equal(await sendFromTicket(page), "accepted");
            const sent = tickets.at(-1)!;
            assert.equal(sent.intent, "entry");
            assert.equal(sent.side, "buy");
            assert.match(String(sent.stopLoss), /^\d+(\.\d+)?$/);
            assert.equal("takeProfit" in sent, false);
          },
        );

        await t.step(
          "the PAPER position appears with its stop in open orders",
          async () => {
            await page.locator(
              '#positions li[data-key="XBTUSD"][data-open="true"]',
            ).waitFor({ timeout: WAIT_MS });
            assert.equal(
              await position.locator(".position-qty").textContent(),
              "0.001 BTC",
            );
            assert.ok(
              figure(
                await position.locator('dd[data-field="fees"]')
                  .textContent(),
              ) > 0,
              "the entry's fee is shown",
            );
            assert.ok(
              figure(
                await position.locator('dd[data-field="costBasis"]')
                  .textContent(),
              ) > 0,
            );
            await stops.first().waitFor({ timeout: WAIT_MS });
            assert.equal(await stops.count(), 1);
            assert.match(
              await stops.first().textContent() ?? "",
              /SELL stop-loss 0\.001 BTC\/USD stop/,
            );
            // The ticket now offers the exit and the close.
            assert.equal(
              await page.locator('input[name="ticket-side"][value="sell"]')
                .isDisabled(),
              false,
            );
            assert.equal(
              await page.textContent("#ticket-position-text"),
              "Held: 0.001 BTC",
            );
          },
        );

        await t.step(
          "cancelling the protective stop is refused with its rule",
          async () => {
            await stops.first().locator(".cancel-order").focus();
            await page.keyboard.press("Enter");
            await page.locator(
              '#account-result[data-rule="stop_protects_position"]',
            ).waitFor({ timeout: WAIT_MS });
            assert.match(
              await page.textContent("#account-result") ?? "",
              /^Rejected \(stop_protects_position\): .*stop-loss covering 0\.001 BTC/,
            );
            assert.equal(await stops.count(), 1, "the stop is still open");
          },
        );

        await t.step(
          "the panel refreshes in place while visible (no re-render)",
          async () => {
            // An order placed outside the page shows up by itself.
            await page.evaluate(async () => {
              const ask = Number(
                document.querySelector("#book-asks tr td")?.textContent,
              );
              const res = await fetch("/api/orders", {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({
                  pair: "XBTUSD",
                  side: "buy",
                  type: "limit",
                  volume: "0.0002",
                  price: (ask * 0.95).toFixed(1),
                  stopLoss: (ask * 0.93).toFixed(1),
                  intent: "entry",
                }),
              });
              if (!res.ok) throw new Error(`limit order: ${res.status}`);
              (globalThis as Record<string, unknown>).positionNode = document
                .querySelector('#positions li[data-key="XBTUSD"]');
            });
            const limit = page.locator('#open-orders li[data-role="order"]');
            await limit.first().waitFor({ timeout: WAIT_MS });
            const updated = await page.textContent("#account-updated");
            await page.waitForFunction(
              (before) =>
                document.getElementById("account-updated")?.textContent !==
                  before,
              updated,
              { timeout: WAIT_MS },
            );
            assert.equal(
              await page.evaluate(() =>
                (globalThis as Record<string, unknown>).positionNode ===
                  document.querySelector('#positions li[data-key="XBTUSD"]')
              ),
              true,
              "the position's node survives refreshes",
            );
            // Cancel all keeps the stop and says so.
            await page.click("#cancel-all");
            await page.locator('#account-result[data-outcome="accepted"]')
              .waitFor({ timeout: WAIT_MS });
            assert.match(
              await page.textContent("#account-result") ?? "",
              /^Cancelled 1 order; kept 1 protective stop \(O/,
            );
            await limit.first().waitFor({ state: "detached" });
            assert.equal(await stops.count(), 1);
          },
        );

        await t.step(
          "Sell (exit) in the ticket: too much is refused with its rule, part is sold and the stop moved",
          async () => {
            await page.locator('input[name="ticket-side"][value="sell"]')
              .check();
            assert.equal(
              await page.locator("#ticket-stop-field").isVisible(),
              false,
            );
            await page.getByRole("textbox", { name: "Volume", exact: true })
              .fill("0.005");
            assert.equal(await sendFromTicket(page), "rejected");
            assert.equal(
              await page.getAttribute("#ticket-result", "data-rule"),
              "exit_exceeds_position",
            );
            assert.match(
              await page.textContent("#ticket-result") ?? "",
              /^Rejected \(exit_exceeds_position\): .+/,
            );
            await page.getByRole("textbox", { name: "Volume", exact: true })
              .fill("0.0004");
            await page.click("#ticket-review");
            assert.match(
              await page.textContent("#ticket-summary") ?? "",
              /^PAPER: SELL \(EXIT\) 0\.0004 BTC\/USD at market; the stop-loss covering it is moved\./,
            );
            await page.click("#ticket-back");
            assert.equal(await sendFromTicket(page), "accepted");
            const sent = tickets.at(-1)!;
            assert.equal(sent.intent, "exit");
            assert.equal(sent.side, "sell");
            assert.equal("stopLoss" in sent, false);
            assert.match(
              await page.textContent("#ticket-result") ?? "",
              /^Sold 0\.0004 of 0\.0004 BTC \(PAPER\) at ≈ [\d.]+ USD, fee [\d.]+ USD; stops moved: cancelled O\S+; new stop O\S+ for 0\.0006 BTC at [\d.]+/,
            );
            await page.locator(
              '#positions li[data-key="XBTUSD"][data-qty="0.0006"]',
            ).waitFor({ timeout: WAIT_MS });
            await stops.filter({ hasText: "0.0006 BTC/USD" }).waitFor({
              timeout: WAIT_MS,
            });
            assert.equal(await stops.count(), 1);
          },
        );

        await t.step(
          "Close sells the rest: position 0, stop gone, realized P&L and fees shown",
          async () => {
            await position.locator(".close-position").focus();
            await page.keyboard.press("Enter");
            const dialog = page.locator("#confirm-dialog");
            await dialog.waitFor({ state: "visible" });
            assert.match(
              await page.textContent("#confirm-text") ?? "",
              /^Sells 0\.0006 BTC at market \(PAPER\)\. The stop-loss covering it \(O\S+\) is cancelled in the same step/,
            );
            assert.equal(
              await page.evaluate(() => document.activeElement?.id),
              "confirm-volume",
            );
            assert.equal(
              await page.textContent("#confirm-ok"),
              "Sell all 0.0006 BTC at market",
            );
            // Empty volume and Enter: sell all.
            await page.keyboard.press("Enter");
            await dialog.waitFor({ state: "hidden" });
            // The previous step's "Cancelled …" result is still accepted:
            // wait for this step's own answer, however long the fill takes.
            await page.waitForFunction(
              () =>
                document.querySelector(
                  '#account-result[data-outcome="accepted"]',
                )?.textContent?.startsWith("Sold ") === true,
              undefined,
              { timeout: WAIT_MS },
            );
            assert.match(
              await page.textContent("#account-result") ?? "",
              /^Sold 0\.0006 of 0\.0006 BTC \(PAPER\) at ≈ [\d.]+ USD, fee [\d.]+ USD; stops moved: cancelled O\S+\. Order O\S+ filled$/,
            );
            await page.locator(
              '#positions li[data-key="XBTUSD"][data-open="false"]',
            ).waitFor({ timeout: WAIT_MS });
            assert.equal(
              await position.locator(".position-qty").textContent(),
              "0 BTC",
            );
            assert.equal(
              await position.locator(".position-state").textContent(),
              "closed",
            );
            assert.equal(
              await position.locator(".close-position").isVisible(),
              false,
            );
            assert.equal(await page.locator("#open-orders li").count(), 0);
            assert.equal(
              await page.locator("#open-orders-empty").isVisible(),
              true,
            );
            const realized = await position.locator(
              'dd[data-field="realized"]',
            ).textContent();
            const fees = figure(
              await position.locator('dd[data-field="fees"]').textContent(),
            );
            assert.match(realized ?? "", /^[−+]?\d+\.\d{4}$/);
            assert.ok(fees > 0, `fees ${fees}`);
            assert.match(
              await page.textContent("#paper-pnl") ?? "",
              /^Total P&L \(USD\): realized [−+]?\d+\.\d{4} · unrealized [−+]?\d+\.\d{4} · fees \d+\.\d{4} · net [−+]?\d+\.\d{4}$/,
            );
            // Nothing held: BTC left the balances and the ticket's exit.
            assert.deepEqual(
              await page.locator("#balances tr td:first-child")
                .allTextContents(),
              ["USD"],
            );
            await page.locator(
              'input[name="ticket-side"][value="sell"]:disabled',
            )
              .waitFor({ timeout: WAIT_MS });
            assert.equal(
              await page.locator("#ticket-position").isVisible(),
              false,
            );
            await page.screenshot({
              path: new URL("round_trip_paper.png", ARTIFACTS).pathname,
              fullPage: true,
            });
          },
        );

        await t.step(
          "cancel all incl. stops states the consequence before it acts",
          async () => {
            await page.locator('input[name="ticket-side"][value="buy"]')
              .check();
            await waitStopPrefilled(page);
            await page.getByRole("textbox", { name: "Volume", exact: true })
              .fill("0.001");
            assert.equal(await sendFromTicket(page), "accepted");
            await stops.first().waitFor({ timeout: WAIT_MS });
            await page.click("#cancel-all-stops");
            const dialog = page.locator("#confirm-dialog");
            await dialog.waitFor({ state: "visible" });
            assert.match(
              await page.textContent("#confirm-text") ?? "",
              /AND the protective stop-loss orders\. 0\.001 BTC stays held with NO stop-loss/,
            );
            // The safe choice has the focus: Escape and Enter both back out.
            assert.equal(
              await page.evaluate(() => document.activeElement?.id),
              "confirm-back",
            );
            await page.keyboard.press("Escape");
            await dialog.waitFor({ state: "hidden" });
            assert.equal(await stops.count(), 1, "nothing was cancelled");
            await page.click("#cancel-all-stops");
            await dialog.waitFor({ state: "visible" });
            await page.click("#confirm-ok");
            await page.locator('#account-result[data-outcome="warning"]')
              .waitFor({ timeout: WAIT_MS });
            assert.match(
              await page.textContent("#account-result .loud") ?? "",
              /^0\.001 BTC is held WITHOUT a stop-loss now$/,
            );
            await stops.first().waitFor({ state: "detached" });
          },
        );

        await t.step(
          "the panels fit 390 px without sideways scroll",
          async () => {
            await assertFits(page, 390);
            await page.screenshot({
              path: new URL("round_trip_paper_390.png", ARTIFACTS).pathname,
              fullPage: true,
            });
          },
        );

        assert.deepEqual(privateCalls, [], "no exchange account was read");
        assert.deepEqual(errors, []);
      },
    );
  },
});

Deno.test({
  name:
    "round trip live against the simulator: buy with stop, stop refused, close",
  ignore: SKIP,
  async fn(t) {
    await withPage(
      {
        configText: "trading:\n  mode: live\n  enable_live_orders: true\n",
        live: true,
        // The simulator's account holds no LTC: the round trip starts flat.
        hash: "#LTCUSD/1h",
      },
      async ({ page, tickets, errors }) => {
        const ltc = page.locator('#balances tr[data-key="LTC"]');
        const stops = page.locator(
          '#open-orders li[data-role="stop"]',
          { hasText: "LTC/USD" },
        );

        await t.step("the panel shows the LIVE exchange account", async () => {
          await page.locator(
            '#account[data-source="exchange"][data-ready="true"]',
          ).waitFor({ timeout: WAIT_MS });
          assert.equal(await page.textContent("#account-badge"), "LIVE");
          assert.equal(
            await page.locator("#account-banner").isVisible(),
            false,
          );
          await page.locator("#ticket-mode", { hasText: "LIVE" }).waitFor();
          assert.equal(await ltc.count(), 0);
        });

        await t.step("buy with a stop-loss through the ticket", async () => {
          await waitStopPrefilled(page);
          await page.getByRole("textbox", { name: "Volume", exact: true })
            .fill("0.5");
          assert.equal(await sendFromTicket(page), "accepted");
          assert.match(
            await page.textContent("#ticket-result") ?? "",
            /^Accepted \(LIVE\): notional [\d.]+ USD, stop-loss [\d.]+, order O\S+ filled/,
          );
          assert.equal(tickets.at(-1)!.intent, "entry");
        });

        await t.step(
          "the holding and its stop appear from the account stream",
          async () => {
            await ltc.waitFor({ timeout: WAIT_MS });
            assert.ok(figure(await ltc.locator("td").nth(1).textContent()) > 0);
            await stops.first().waitFor({ timeout: WAIT_MS });
            assert.equal(await stops.count(), 1);
            // A held position with its Close button (no P&L: that is paper's).
            const held = page.locator('#positions li[data-key="LTCUSD"]');
            await held.waitFor({ timeout: WAIT_MS });
            assert.equal(
              await held.locator(".close-position").isVisible(),
              true,
            );
            assert.equal(await held.locator(".figures").isVisible(), false);
          },
        );

        await t.step(
          "cancelling the stop is refused with its rule",
          async () => {
            await stops.first().locator(".cancel-order").click();
            await page.locator(
              '#account-result[data-rule="stop_protects_position"]',
            ).waitFor({ timeout: WAIT_MS });
            assert.equal(await stops.count(), 1);
          },
        );

        await t.step(
          "Close from the ticket sells it all and removes the stop",
          async () => {
            await page.locator("#ticket-position").waitFor();
            await page.click("#ticket-close");
            await page.locator("#confirm-dialog").waitFor({ state: "visible" });
            await page.click("#confirm-ok");
            await page.waitForFunction(
              () => {
                const o = document.getElementById("ticket-result")?.dataset
                  .outcome;
                return o === "accepted" || o === "warning" ||
                  o === "rejected" || o === "error";
              },
              undefined,
              { timeout: WAIT_MS },
            );
            const result = await page.textContent("#ticket-result") ?? "";
            assert.equal(
              await page.getAttribute("#ticket-result", "data-outcome"),
              "accepted",
              result,
            );
            assert.match(
              result,
              /^Sold ([\d.]+) of \1 LTC \(LIVE\); stops moved: cancelled O\S+\. Order O\S+ filled$/,
            );
            await ltc.waitFor({ state: "detached", timeout: WAIT_MS });
            await page.locator('#positions li[data-key="LTCUSD"]').waitFor({
              state: "detached",
              timeout: WAIT_MS,
            });
            await stops.first().waitFor({
              state: "detached",
              timeout: WAIT_MS,
            });
            await page.screenshot({
              path: new URL("round_trip_live.png", ARTIFACTS).pathname,
              fullPage: true,
            });
          },
        );

        await t.step(
          "the panels fit 390 px without sideways scroll",
          async () => {
            await assertFits(page, 390);
          },
        );

        assert.deepEqual(errors, []);
      },
    );
  },
});
