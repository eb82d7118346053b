import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../../server/cli/errors.ts";
import {
  describeDecision,
  parseOrderArgs,
} from "../../../server/cli/order_cmd.ts";
import { CliHarness } from "./_harness.ts";

/** Best bid and ask straight from the simulator. */
async function simQuote(
  restUrl: string,
  pair = "XBTUSD",
): Promise<{ ask: number; bid: number }> {
  const res = await fetch(`${restUrl}/0/public/Depth?pair=${pair}&count=1`);
  const book = Object.values((await res.json()).result)[0] as {
    asks: [string][];
    bids: [string][];
  };
  return { ask: Number(book.asks[0]![0]), bid: Number(book.bids[0]![0]) };
}

Deno.test("parseOrderArgs() builds a ticket and refuses bad input", async (t) => {
  await t.step("a limit buy with every flag", () => {
    assert.deepEqual(
      parseOrderArgs([
        "buy",
        "XBTUSD",
        "0.01",
        "--limit",
        "25000",
        "--stop-loss=24000",
        "--take-profit",
        "27000",
        "--validate",
        "--live",
        "--json",
      ]),
      {
        ticket: {
          pair: "XBTUSD",
          side: "buy",
          type: "limit",
          volume: "0.01",
          price: "25000",
          stopLoss: "24000",
          takeProfit: "27000",
          validate: true,
        },
        live: true,
        json: true,
      },
    );
  });
  await t.step("a market sell without a stop-loss (the gate decides)", () => {
    const flags = parseOrderArgs(["sell", "ETHUSD", "1"]);
    assert.ok(flags !== "help");
    assert.equal(flags.ticket.type, "market");
    assert.equal(flags.ticket.stopLoss, undefined);
  });
  await t.step("help and usage errors", () => {
    assert.equal(parseOrderArgs(["--help"]), "help");
    for (
      const args of [
        ["hold", "XBTUSD", "1"],
        ["buy", "XBTUSD"],
        ["buy", "XBTUSD", "abc"],
        ["buy", "XBTUSD", "1", "--limit", "-5"],
        ["buy", "XBTUSD", "1", "--stop"],
      ]
    ) {
      assert.throws(() => parseOrderArgs(args), UsageError, args.join(" "));
    }
  });
});

Deno.test("describeDecision() names the route, notional and rule", () => {
  assert.equal(
    describeDecision({
      decision: "rejected",
      mode: "paper",
      rule: "max_notional",
      message: "too big",
    }),
    "REJECTED (max_notional): too big",
  );
  assert.equal(
    describeDecision({
      decision: "accepted",
      mode: "dry_run",
      route: "dry_run",
      stopLoss: { type: "stop-loss", triggerPrice: "90" },
      notionalUsd: "100.456",
      expectedPrice: "100",
      order: null,
    }),
    "ACCEPTED (DRY-RUN), notional 100.46 USD, stop-loss 90, nothing was sent",
  );
});

Deno.test("order against the simulator: each mode and gate, with exit codes", async (t) => {
  await t.step("read_only (default) exits 1 with the rule", async () => {
    await using h = await CliHarness.start();
    const run = await h.run([
      "order",
      "buy",
      "XBTUSD",
      "0.001",
      "--stop-loss",
      "1",
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /REJECTED \(mode_read_only\)/);
  });
  await t.step(
    "live without --live exits 1 with live_not_enabled",
    async () => {
      await using h = await CliHarness.start({
        extraConfig: "trading:\n  mode: live\n  enable_live_orders: true\n",
      });
      const run = await h.run(
        [
          "order",
          "buy",
          "XBTUSD",
          "0.001",
          "--limit",
          "100",
          "--stop-loss",
          "95",
        ],
        { env: h.simCredentialsEnv },
      );
      assert.equal(run.code, 1);
      assert.match(run.stderr, /live_not_enabled/);
    },
  );
  await t.step(
    "dry_run: accepted, missing stop-loss and wrong side rejected",
    async () => {
      await using h = await CliHarness.start({
        extraConfig: "trading:\n  mode: dry_run\n",
      });
      const { ask } = await simQuote(h.restUrl);
      const volume = (100 / ask).toFixed(6);
      const ok = await h.run([
        "order",
        "buy",
        "XBTUSD",
        volume,
        "--stop-loss",
        (ask * 0.95).toFixed(1),
        "--json",
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const decision = JSON.parse(ok.stdout);
      assert.equal(decision.route, "dry_run");
      assert.equal(
        Object.fromEntries(decision.encoded.rest)["close[ordertype]"],
        "stop-loss",
      );
      const none = await h.run(["order", "buy", "XBTUSD", volume]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /REJECTED \(stop_loss_required\)/);
      const wrong = await h.run([
        "order",
        "buy",
        "XBTUSD",
        volume,
        "--stop-loss",
        (ask * 1.05).toFixed(1),
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /stop_loss_wrong_side/);
      const unknown = await h.run([
        "order",
        "buy",
        "NOPEUSD",
        "1",
        "--stop-loss",
        "1",
      ]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /Unknown pair/);
    },
  );
  await t.step(
    "paper: a market buy fills and is saved to paper.json",
    async () => {
      await using h = await CliHarness.start({
        extraConfig: "trading:\n  mode: paper\n",
      });
      const { ask } = await simQuote(h.restUrl);
      const volume = (100 / ask).toFixed(6);
      const run = await h.run([
        "order",
        "buy",
        "XBTUSD",
        volume,
        "--stop-loss",
        (ask * 0.95).toFixed(1),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /^PAPER ACCEPTED \(PAPER\), notional \d+\.\d\d USD, stop-loss [\d.]+, order O\S+ filled/,
      );
      const saved = JSON.parse(
        await Deno.readTextFile(join(h.dir, "paper.json")),
      );
      assert.equal(saved.fills.length > 0, true);
    },
  );
  await t.step(
    "live with --live: placed on the engine, listed by 'orders'",
    async () => {
      await using h = await CliHarness.start({
        extraConfig: "trading:\n  mode: live\n  enable_live_orders: true\n",
      });
      const { bid } = await simQuote(h.restUrl);
      const run = await h.run([
        "order",
        "buy",
        "XBTUSD",
        (50 / bid).toFixed(6),
        "--limit",
        (bid * 0.95).toFixed(1),
        "--stop-loss",
        (bid * 0.9).toFixed(1),
        "--live",
        "--json",
      ], { env: h.simCredentialsEnv });
      assert.equal(run.code, 0, run.stderr);
      const id = JSON.parse(run.stdout).order.orderId;
      const listed = await h.run(["orders", "--json"], {
        env: h.simCredentialsEnv,
      });
      assert.ok(
        JSON.parse(listed.stdout).orders.some((o: { txid: string }) =>
          o.txid === id
        ),
      );
      const sim = h.simCredentialsEnv;
      assert.ok(!run.stdout.includes(sim.KRAKEN_API_SECRET));
      assert.ok(!run.stderr.includes(sim.KRAKEN_API_SECRET));
    },
  );
});
