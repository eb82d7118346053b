import assert from "node:assert/strict";
import { join } from "node:path";
import { parseArgs } from "../../../server/main.ts";
import { flagsOf, usageMessage } from "./_parsed.ts";
import {
  describeDecision,
  ORDER_HELP,
  parseOrderArgs,
  TAKE_PROFIT_REFUSED,
} from "../../../server/cli/order_cmd.ts";
import { CliHarness, LIVE_CONFIG, PAPER_CONFIG, simQuote } from "./_harness.ts";

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
        "--validate",
        "--live",
        "--json",
      ]),
      {
        kind: "order",
        ticket: {
          pair: "XBTUSD",
          side: "buy",
          type: "limit",
          volume: "0.01",
          price: "25000",
          stopLoss: "24000",
          validate: true,
        },
        live: true,
        json: true,
      },
    );
  });
  await t.step("a market sell without a stop-loss (the gate decides)", () => {
    const flags = flagsOf(parseOrderArgs(["sell", "ETHUSD", "1"]));
    assert.equal(flags.ticket.type, "market");
    assert.equal(flags.ticket.stopLoss, undefined);
  });
  await t.step("--exit: a sell of what is held, no stop-loss", () => {
    assert.deepEqual(
      parseOrderArgs(["sell", "btc-usd", "0.5", "--exit", "--limit", "60000"]),
      {
        kind: "order",
        ticket: {
          pair: "btc-usd",
          side: "sell",
          type: "limit",
          volume: "0.5",
          price: "60000",
          intent: "exit",
        },
        live: false,
        json: false,
      },
    );
    const market = flagsOf(parseOrderArgs(["sell", "XBTUSD", "1", "--exit"]));
    assert.equal(market.ticket.type, "market");
    assert.equal(market.ticket.intent, "exit");
  });
  await t.step("--exit with buy, --stop-loss or --validate is refused", () => {
    const buyExit = parseArgs(["order", "buy", "XBTUSD", "1", "--exit"]);
    assert.ok(
      buyExit.kind === "usage_error" &&
        /no short position/.test(buyExit.message) &&
        buyExit.command === "order",
      JSON.stringify(buyExit),
    );
    assert.match(
      usageMessage(
        parseOrderArgs([
          "sell",
          "XBTUSD",
          "1",
          "--exit",
          "--stop-loss",
          "100",
        ]),
      ),
      /--exit takes no --stop-loss/,
    );
    assert.match(
      usageMessage(
        parseOrderArgs(["sell", "XBTUSD", "1", "--exit", "--validate"]),
      ),
      /--exit cannot be combined with --validate/,
    );
  });
  await t.step("--take-profit is refused and points to close", () => {
    for (
      const args of [
        ["buy", "XBTUSD", "1", "--stop-loss", "90", "--take-profit", "110"],
        ["buy", "XBTUSD", "1", "--take-profit=110"],
        ["buy", "XBTUSD", "1", "--take-profit"],
      ]
    ) {
      assert.equal(
        usageMessage(parseOrderArgs(args), args.join(" ")),
        TAKE_PROFIT_REFUSED,
      );
    }
    assert.match(TAKE_PROFIT_REFUSED, /no one-cancels-other/);
    assert.match(TAKE_PROFIT_REFUSED, /krakked close/);
    // After "--" it is a positional, not the flag.
    assert.match(
      usageMessage(parseOrderArgs(["buy", "XBTUSD", "--", "--take-profit"])),
      /<volume> must be a positive decimal/,
    );
  });
  await t.step("the help has --exit and the risk rules, no take-profit", () => {
    assert.doesNotMatch(ORDER_HELP, /--take-profit P/);
    assert.match(ORDER_HELP, /--exit/);
    assert.match(ORDER_HELP, /holds? plus every open buy/);
    assert.match(ORDER_HELP, /cannot be cancelled\s+while the position/);
    assert.match(ORDER_HELP, /no one-cancels-other/);
  });
  await t.step("help and usage errors", () => {
    assert.deepEqual(parseOrderArgs(["--help"]), { kind: "help" });
    for (
      const args of [
        ["hold", "XBTUSD", "1"],
        ["buy", "XBTUSD"],
        ["buy", "XBTUSD", "abc"],
        ["buy", "XBTUSD", "1", "--limit", "-5"],
        ["buy", "XBTUSD", "1", "--stop"],
        ["buy", "XBTUSD", "1", "--exit=yes"],
      ]
    ) {
      usageMessage(parseOrderArgs(args), args.join(" "));
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
      const text = await h.run([
        "order",
        "buy",
        "BTC/USD",
        volume,
        "--stop-loss",
        (ask * 0.95).toFixed(1),
      ]);
      assert.equal(text.code, 0, text.stderr);
      const [head, rest, ws] = text.stdout.trimEnd().split("\n");
      assert.match(head!, /^DRY-RUN ACCEPTED \(DRY-RUN\).*nothing was sent$/);
      // What Kraken would receive: the signed form body and the WS request.
      const body = rest!.match(
        /^would send REST: POST \/0\/private\/AddOrder (\S+) \(nonce and API-Sign added when sending\)$/,
      );
      assert.ok(body, rest);
      const form = new URLSearchParams(body[1]!);
      // Another run: the same request but its own userref.
      const withoutRef = (pairs: Iterable<readonly [string, unknown]>) =>
        [...pairs].filter(([k]) => k !== "userref").map(([k]) => k);
      assert.deepEqual(withoutRef(form), withoutRef(decision.encoded.rest));
      assert.equal(form.get("pair"), "XBTUSD");
      assert.equal(form.get("volume"), volume);
      assert.equal(form.has("nonce"), false);
      const wsJson = ws!.match(
        /^or WS v2: (\{.*\}) \(token added when sending\)$/,
      );
      assert.ok(wsJson, ws);
      const wsRequest = JSON.parse(wsJson[1]!);
      assert.equal(wsRequest.method, "add_order");
      assert.equal(wsRequest.params.symbol, "BTC/USD");
      assert.equal(wsRequest.params.order_qty, Number(volume));
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
    "live with --live: placed on the engine, listed by 'orders' with its role",
    async () => {
      await using h = await CliHarness.start({ extraConfig: LIVE_CONFIG });
      // The seeded account holds no LTC: the exposure cap leaves room.
      const { bid } = await simQuote(h.restUrl, "LTCUSD");
      const run = await h.run([
        "order",
        "buy",
        "LTCUSD",
        (50 / bid).toFixed(4),
        "--limit",
        (bid * 0.95).toFixed(2),
        "--stop-loss",
        (bid * 0.9).toFixed(2),
        "--live",
        "--json",
      ], { env: h.simCredentialsEnv });
      assert.equal(run.code, 0, run.stderr);
      const id = JSON.parse(run.stdout).order.orderId;
      const listed = await h.run(["orders", "--json"], {
        env: h.simCredentialsEnv,
      });
      const row = JSON.parse(listed.stdout).orders.find((
        o: { txid: string },
      ) => o.txid === id);
      assert.equal(row?.role, "order", "a resting entry is not a stop");
      const sim = h.simCredentialsEnv;
      assert.ok(!run.stdout.includes(sim.KRAKEN_API_SECRET));
      assert.ok(!run.stderr.includes(sim.KRAKEN_API_SECRET));
    },
  );
  await t.step(
    "live: the exposure cap counts what the account already holds",
    async () => {
      await using h = await CliHarness.start({ extraConfig: LIVE_CONFIG });
      // The seeded account holds about 0.76 BTC: far above the 1000 USD cap.
      const { ask } = await simQuote(h.restUrl);
      const run = await h.run([
        "order",
        "buy",
        "XBTUSD",
        (20 / ask).toFixed(6),
        "--stop-loss",
        (ask * 0.95).toFixed(1),
        "--live",
      ], { env: h.simCredentialsEnv });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^LIVE REJECTED \(max_position\): The BTC exposure .*held 0\.7\d+ \+ open buys/,
      );
    },
  );
});

Deno.test("order in paper mode: every pair spelling, and --exit sells what is held", async (t) => {
  await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
  const { ask } = await simQuote(h.restUrl);
  const volume = (60 / ask).toFixed(6);
  const stop = (ask * 0.95).toFixed(1);
  const spellings = [
    "BTCUSD",
    "btc-usd",
    "btcusd",
    "XBTUSD",
    "BTC/USD",
    "XXBTZUSD",
  ];
  await t.step(
    "BTCUSD, btc-usd, btcusd, XBTUSD, BTC/USD, XXBTZUSD: all accepted",
    async () => {
      for (const pair of spellings) {
        const run = await h.run([
          "order",
          "buy",
          pair,
          volume,
          "--stop-loss",
          stop,
          "--json",
        ]);
        assert.equal(run.code, 0, `${pair}: ${run.stderr}`);
        const decision = JSON.parse(run.stdout);
        assert.equal(decision.decision, "accepted", pair);
        assert.equal(decision.order.pair, "XBTUSD", pair);
      }
      const positions = JSON.parse(
        (await h.run(["paper", "positions", "--json"])).stdout,
      ).positions;
      assert.equal(positions.length, 1);
      assert.equal(
        Number(positions[0].qty),
        Number(volume) * spellings.length,
      );
    },
  );
  await t.step("the exposure cap counts holdings and open buys", async () => {
    // 6 × 60 USD held + a resting buy of 450 USD: 810 USD; 300 more is over 1000.
    const rest = await h.run([
      "order",
      "buy",
      "XBTUSD",
      (600 / ask).toFixed(6),
      "--limit",
      (ask * 0.94).toFixed(1),
      "--stop-loss",
      (ask * 0.9).toFixed(1),
    ]);
    assert.equal(rest.code, 1, "a single order above 500 USD is refused");
    assert.match(rest.stderr, /max_notional/);
    const resting = await h.run([
      "order",
      "buy",
      "XBTUSD",
      (450 / (ask * 0.94)).toFixed(6),
      "--limit",
      (ask * 0.94).toFixed(1),
      "--stop-loss",
      (ask * 0.9).toFixed(1),
    ]);
    assert.equal(resting.code, 0, resting.stderr);
    const over = await h.run([
      "order",
      "buy",
      "XBTUSD",
      (300 / ask).toFixed(6),
      "--stop-loss",
      stop,
    ]);
    assert.equal(over.code, 1);
    assert.match(over.stderr, /^PAPER REJECTED \(max_position\): .*open buys/);
  });
  await t.step(
    "sell --exit: sold, the covering stop cancelled, nothing uncovered",
    async () => {
      const run = await h.run(["order", "sell", "xbt/usd", volume, "--exit"]);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split("\n");
      assert.match(
        lines[0]!,
        new RegExp(
          `^PAPER EXIT BTC\\/USD \\(PAPER\\): sold ${volume} of ${volume}, notional \\d+\\.\\d\\d USD, order O\\S+ filled$`,
        ),
      );
      assert.match(lines[1]!, /^stops cancelled: O\S+$/);
      assert.equal(run.stderr, "");
      const json = await h.run([
        "order",
        "sell",
        "XBTUSD",
        volume,
        "--exit",
        "--json",
      ]);
      assert.equal(json.code, 0, json.stderr);
      const decision = JSON.parse(json.stdout);
      assert.equal(decision.exit.sold, volume);
      assert.equal(decision.exit.uncovered, "0");
      assert.equal(decision.stopLoss, null);
    },
  );
  await t.step("sell --exit beyond what is held is refused", async () => {
    const run = await h.run(["order", "sell", "XBTUSD", "5", "--exit"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^PAPER REJECTED \(exit_exceeds_position\)/);
  });
  await t.step("--take-profit exits 2 with the explanation", async () => {
    const run = await h.run([
      "order",
      "buy",
      "XBTUSD",
      volume,
      "--stop-loss",
      stop,
      "--take-profit",
      (ask * 1.1).toFixed(1),
    ]);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^krakked: --take-profit is not supported/);
    assert.match(run.stderr, /krakked close/);
  });
});
