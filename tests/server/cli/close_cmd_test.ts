import assert from "node:assert/strict";
import { CLOSE_HELP, parseCloseArgs } from "../../../server/cli/close_cmd.ts";
import { parseArgs } from "../../../server/main.ts";
import { engineRestHandlers, SimApiError, type Simulator } from "@krakked/sim";
import {
  CliHarness,
  LIVE_CONFIG,
  PAPER_CONFIG,
  restBudget,
  simQuote,
} from "./_harness.ts";

interface PaperRow {
  id: string;
  pair: string;
  side: string;
  type: string;
  volume: string;
  price: string | null;
  role: string;
}

interface LiveRow {
  txid: string;
  pair: string;
  side: string;
  type: string;
  price: string;
  volume: string;
  role: string;
}

interface Fill {
  side: string;
  cost: string;
  fee: string;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const near = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) < eps;

Deno.test("parseCloseArgs() takes a pair and a volume or --all", async (t) => {
  await t.step("a volume, a limit and every switch", () => {
    assert.deepEqual(
      parseCloseArgs([
        "btc-usd",
        "0.25",
        "--limit",
        "64000.5",
        "--live",
        "--json",
      ]),
      {
        kind: "close",
        pair: "btc-usd",
        volume: "0.25",
        limitPrice: "64000.5",
        live: true,
        json: true,
      },
    );
  });
  await t.step("--all", () => {
    assert.deepEqual(parseCloseArgs(["XBTUSD", "--all"]), {
      kind: "close",
      pair: "XBTUSD",
      volume: "all",
      limitPrice: null,
      live: false,
      json: false,
    });
    assert.deepEqual(parseCloseArgs(["--all", "XBTUSD", "--limit=1"]), {
      kind: "close",
      pair: "XBTUSD",
      volume: "all",
      limitPrice: "1",
      live: false,
      json: false,
    });
  });
  await t.step("help and usage errors", () => {
    assert.deepEqual(parseCloseArgs(["-h"]), { kind: "help" });
    const cases: Array<[string[], RegExp]> = [
      [[], /Missing <pair>/],
      [["XBTUSD"], /Give the volume to sell, or --all/],
      [["XBTUSD", "1", "--all"], /not both/],
      [["XBTUSD", "0"], /<volume> must be a positive decimal/],
      [["XBTUSD", "-1"], /Unknown flag "-1"|positive decimal/],
      [["XBTUSD", "1e3"], /<volume> must be a positive decimal/],
      [["XBTUSD", "1", "--limit", "abc"], /--limit must be/],
      [["XBTUSD", "1", "--limit"], /--limit needs a value/],
      [["XBTUSD", "1", "2"], /Unexpected argument "2"/],
      [["XBTUSD", "--all", "--stop-loss", "1"], /Unknown flag/],
    ];
    for (const [args, message] of cases) {
      // Through the top-level parse, which names the command whose help
      // follows the message.
      const parsed = parseArgs(["close", ...args]);
      assert.ok(
        parsed.kind === "usage_error" && parsed.command === "close" &&
          message.test(parsed.message),
        `${args.join(" ")}: ${JSON.stringify(parsed)}`,
      );
    }
  });
  await t.step("the help explains the stop handling", () => {
    assert.match(CLOSE_HELP, /^Usage: krakked close <pair>/);
    assert.match(CLOSE_HELP, /covered again by a new stop/);
    assert.match(CLOSE_HELP, /immediate-or-cancel/);
  });
});

Deno.test("close: refusals and usage errors from the CLI", async (t) => {
  await t.step("read_only (default) exits 1 with the rule", async () => {
    await using h = await CliHarness.start();
    const run = await h.run(["close", "XBTUSD", "--all"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^READ-ONLY REJECTED \(mode_read_only\)/);
  });
  await t.step("live without --live exits 1", async () => {
    await using h = await CliHarness.start({ extraConfig: LIVE_CONFIG });
    const run = await h.run(["close", "XBTUSD", "0.1"], {
      env: h.simCredentialsEnv,
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /live_not_enabled/);
  });
  await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
  await t.step("nothing held: exit 1 with exit_without_position", async () => {
    const run = await h.run(["close", "ETHUSD", "--all"]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(
      run.stderr,
      /^PAPER REJECTED \(exit_without_position\): Nothing to sell/,
    );
    const json = await h.run(["close", "ETHUSD", "--all", "--json"]);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).rule, "exit_without_position");
  });
  await t.step("unknown pair and bad arguments exit 2", async () => {
    const unknown = await h.run(["close", "NOPEUSD", "--all"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown pair "NOPEUSD"/);
    const none = await h.run(["close", "XBTUSD"]);
    assert.equal(none.code, 2);
    assert.ok(none.stderr.endsWith(`${CLOSE_HELP}\n`));
  });
});

Deno.test("round trip on paper from the CLI: buy with a stop, close --all, P&L booked with fees", async (t) => {
  await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
  const { ask } = await simQuote(h.restUrl);
  const volume = (100 / ask).toFixed(6);
  const trigger = (ask * 0.95).toFixed(1);
  const fills: Fill[] = [];
  let stopId = "";

  await t.step("buy with a stop-loss", async () => {
    const run = await h.run([
      "order",
      "buy",
      "BTCUSD",
      volume,
      "--stop-loss",
      trigger,
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const decision = JSON.parse(run.stdout);
    assert.equal(decision.order.status, "filled");
    fills.push(...decision.fills);
  });
  await t.step(
    "paper positions and paper orders show the position and its stop",
    async () => {
      const positions = JSON.parse(
        (await h.run(["paper", "positions", "--json"])).stdout,
      ).positions;
      assert.equal(positions.length, 1);
      assert.equal(positions[0].pair, "XBTUSD");
      assert.equal(Number(positions[0].qty), Number(volume));
      const orders = JSON.parse(
        (await h.run(["paper", "orders", "--json"])).stdout,
      ).orders as PaperRow[];
      assert.equal(orders.length, 1);
      const stop = orders[0]!;
      assert.deepEqual(
        [stop.pair, stop.side, stop.type, stop.role, Number(stop.volume)],
        ["XBTUSD", "sell", "stop-loss", "stop", Number(volume)],
      );
      assert.equal(stop.price, trigger);
      stopId = stop.id;
    },
  );
  await t.step(
    "the stop cannot be cancelled while the position is open",
    async () => {
      const run = await h.run(["cancel", stopId]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^PAPER REJECTED \(stop_protects_position\)/);
      assert.match(run.stderr, /krakked close BTC\/USD/);
    },
  );
  await t.step("close <pair> --all sells it and cancels the stop", async () => {
    const run = await h.run(["close", "btc-usd", "--all"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, run.stdout);
    const head = lines[0]!.match(
      /^PAPER EXIT BTC\/USD \(PAPER\): sold (\S+) of (\S+), notional \d+\.\d\d USD, order O\S+ filled$/,
    );
    assert.ok(head, lines[0]);
    assert.equal(Number(head[1]), Number(volume));
    assert.equal(Number(head[2]), Number(volume));
    assert.equal(lines[1], `stops cancelled: ${stopId}`);
    assert.equal(lines[2], "re-protect stop: none needed");
  });
  await t.step(
    "position 0, the stop is gone, P&L realised with fees",
    async () => {
      assert.deepEqual(
        JSON.parse((await h.run(["paper", "positions", "--json"])).stdout),
        { positions: [] },
      );
      assert.deepEqual(
        JSON.parse((await h.run(["paper", "orders", "--json"])).stdout),
        { orders: [] },
      );
      assert.equal(
        (await h.run(["paper", "orders"])).stdout,
        "No open paper orders\n",
      );
      const saved = JSON.parse(
        await Deno.readTextFile(`${h.dir}/paper.json`),
      ) as { fills: Fill[] };
      const all = saved.fills;
      assert.equal(all.length, fills.length + 1, "one more fill: the exit");
      const bought = sum(
        all.filter((f) => f.side === "buy").map((f) => Number(f.cost)),
      );
      const sold = sum(
        all.filter((f) => f.side === "sell").map((f) => Number(f.cost)),
      );
      const fees = sum(all.map((f) => Number(f.fee)));
      assert.ok(fees > 0, "fees were charged on both sides");
      const pnl = JSON.parse((await h.run(["paper", "pnl", "--json"])).stdout)
        .pnl;
      assert.ok(near(Number(pnl.realized), sold - bought), pnl.realized);
      assert.ok(near(Number(pnl.fees), fees), `${pnl.fees} vs ${fees}`);
      assert.equal(pnl.unrealized, "0");
      assert.ok(near(Number(pnl.net), sold - bought - fees), pnl.net);
      const balances = JSON.parse(
        (await h.run(["paper", "balances", "--json"])).stdout,
      ).balances;
      assert.ok(
        near(Number(balances.USD), 10_000 + sold - bought - fees, 1e-6),
      );
      assert.ok(Number(balances.BTC ?? balances.XBT ?? "0") === 0);
    },
  );
  await t.step("closing again: nothing held, exit 1", async () => {
    const run = await h.run(["close", "XBTUSD", "--all"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /exit_without_position/);
  });
});

Deno.test("close on paper: a partial close re-protects the rest; an IOC limit that cannot fill keeps it covered", async (t) => {
  await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
  const { ask, bid } = await simQuote(h.restUrl);
  const volume = (100 / ask).toFixed(6);
  const trigger = (ask * 0.95).toFixed(1);
  for (let i = 0; i < 2; i++) {
    const run = await h.run([
      "order",
      "buy",
      "XBTUSD",
      volume,
      "--stop-loss",
      trigger,
    ]);
    assert.equal(run.code, 0, run.stderr);
  }
  const stops = async () =>
    JSON.parse((await h.run(["paper", "orders", "--json"])).stdout)
      .orders as PaperRow[];
  const before = await stops();
  assert.equal(before.length, 2);

  await t.step(
    "1.5 stops' worth: two stops cancelled, half a stop placed again",
    async () => {
      const part = (Number(volume) * 1.5).toFixed(6);
      const run = await h.run(["close", "XBTUSD", part, "--json"]);
      assert.equal(run.code, 0, run.stderr);
      const exit = JSON.parse(run.stdout).exit;
      assert.equal(Number(exit.sold), Number(part));
      assert.deepEqual(
        [...exit.cancelledStops].sort(),
        before.map((s) => s.id).sort(),
      );
      assert.equal(exit.reprotect.trigger, trigger);
      assert.ok(
        near(Number(exit.reprotect.volume), Number(volume) * 0.5, 1e-9),
        exit.reprotect.volume,
      );
      assert.equal(exit.uncovered, "0");
      assert.equal(exit.problem, null);
      const after = await stops();
      assert.deepEqual(after.map((s) => [s.id, s.role]), [
        [exit.reprotect.orderId, "stop"],
      ]);
      const positions = JSON.parse(
        (await h.run(["paper", "positions", "--json"])).stdout,
      ).positions;
      assert.equal(positions[0].qty, exit.reprotect.volume);
    },
  );
  await t.step(
    "--limit above the bid sells nothing and stays covered",
    async () => {
      const run = await h.run([
        "close",
        "XBTUSD",
        "--all",
        "--limit",
        (bid * 1.05).toFixed(1),
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /sold 0 of \S+, the unsold rest stays held/);
      assert.match(run.stdout, /^re-protect stop: O\S+ for \S+ at /m);
      assert.equal(run.stderr, "", "nothing is left uncovered");
      const after = await stops();
      assert.equal(after.length, 1);
      assert.equal(after[0]!.role, "stop");
    },
  );
});

Deno.test("round trip live against the simulator from the CLI: buy with a stop, close --all", async (t) => {
  // Pro tier: a dozen CLI runs, each with several private calls.
  await using h = await CliHarness.start({
    extraConfig: LIVE_CONFIG,
    sim: { tier: "pro" },
  });
  const env = h.simCredentialsEnv;
  // ATOMUSD: the seeded account holds no ATOM, and ATOM's balance
  // decimals equal the pair's lot decimals (see the LTCUSD case below).
  const { ask } = await simQuote(h.restUrl, "ATOMUSD");
  const volume = (100 / ask).toFixed(4);
  const trigger = (ask * 0.95).toFixed(4);
  const balances = async () =>
    Object.fromEntries(
      (JSON.parse((await h.run(["balance", "--json"], { env })).stdout)
        .balances as { asset: string; balance: string }[]).map((
          b,
        ) => [b.asset, Number(b.balance)]),
    );
  const open = async () =>
    JSON.parse((await h.run(["orders", "--json"], { env })).stdout)
      .orders as LiveRow[];
  const usdBefore = (await balances()).USD!;
  assert.equal((await balances()).ATOM, undefined, "no ATOM held at the start");
  let stopId = "";

  await t.step("buy with a stop-loss (--live)", async () => {
    const run = await h.run([
      "order",
      "buy",
      "atom/usd",
      volume,
      "--stop-loss",
      trigger,
      "--live",
      "--json",
    ], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).route, "live");
  });
  await t.step(
    "orders shows the stop with role stop, balance the holding",
    async () => {
      const stops = (await open()).filter((o) => o.pair === "ATOMUSD");
      assert.equal(stops.length, 1);
      const stop = stops[0]!;
      assert.deepEqual(
        [stop.side, stop.type, stop.role, Number(stop.price)],
        ["sell", "stop-loss", "stop", Number(trigger)],
      );
      assert.equal(Number(stop.volume), Number(volume));
      stopId = stop.txid;
      assert.equal((await balances()).ATOM, Number(volume));
      const table = await h.run(["orders"], { env });
      assert.match(
        table.stdout,
        new RegExp(
          `^${stopId} +ATOM\\/USD +sell +stop-loss +\\S+ +\\S+ +\\S+ +stop `,
          "m",
        ),
      );
    },
  );
  await t.step("cancel of the stop is refused, exit 1", async () => {
    const run = await h.run(["cancel", stopId, "--live"], { env });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^LIVE REJECTED \(stop_protects_position\)/);
    assert.ok((await open()).some((o) => o.txid === stopId));
  });
  await t.step("close --all --live: sold, the stop cancelled", async () => {
    await restBudget(h, 12);
    const run = await h.run(["close", "ATOMUSD", "--all", "--live"], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const lines = run.stdout.trimEnd().split("\n");
    const head = lines[0]!.match(
      /^LIVE EXIT ATOM\/USD \(LIVE\): sold (\S+) of (\S+), notional \d+\.\d\d USD, order O\S+ filled$/,
    );
    assert.ok(head, lines[0]);
    assert.equal(Number(head[1]), Number(volume));
    assert.equal(Number(head[2]), Number(volume));
    assert.equal(lines[1], `stops cancelled: ${stopId}`);
    assert.equal(lines[2], "re-protect stop: none needed");
  });
  await t.step("position 0, no stop left, fees paid in USD", async () => {
    await restBudget(h, 3);
    assert.ok(!(await open()).some((o) => o.pair === "ATOMUSD"));
    const after = await balances();
    assert.equal(after.ATOM ?? 0, 0);
    const paid = usdBefore - after.USD!;
    // Two taker fees (0.26 % of ~100 USD each) plus the spread crossed.
    assert.ok(paid > 0.4 && paid < 3, `USD paid for the round trip: ${paid}`);
  });
  await t.step("--json prints one decision object", async () => {
    await restBudget(h, 3);
    const again = await h.run(
      ["close", "ATOMUSD", "--all", "--live", "--json"],
      { env },
    );
    assert.equal(again.code, 1);
    const decision = JSON.parse(again.stdout);
    assert.equal(decision.decision, "rejected");
    assert.equal(decision.rule, "exit_without_position");
  });
});

Deno.test({
  // Balance reports 10 decimals ("1.3291000000"), LTCUSD trades 8: "all"
  // rounds down to the lot decimals.
  name:
    "close --all live where Balance has more decimals than the pair's lot (LTCUSD)",
  async fn() {
    await using h = await CliHarness.start({
      extraConfig: LIVE_CONFIG,
      sim: { tier: "pro" },
    });
    const env = { ...h.simCredentialsEnv, KRAKKED_LIVE: "1" };
    const { ask } = await simQuote(h.restUrl, "LTCUSD");
    const buy = await h.run([
      "order",
      "buy",
      "LTCUSD",
      (100 / ask).toFixed(4),
      "--stop-loss",
      (ask * 0.95).toFixed(2),
    ], { env });
    assert.equal(buy.code, 0, buy.stderr);
    const run = await h.run(["close", "LTCUSD", "--all"], { env });
    assert.equal(run.code, 0, run.stderr);
  },
});

Deno.test("close live: a re-protect stop the exchange refuses is reported loudly, exit 1", async () => {
  const box: { sim?: Simulator | undefined } = {};
  await using h = await CliHarness.start({
    extraConfig: LIVE_CONFIG,
    sim: {
      tier: "pro",
      privateHandlers: {
        // Standalone stop-loss orders (the re-protect) are refused; the
        // entry (a market order with a conditional close) and the exit pass.
        AddOrder(context) {
          if (context.params.get("ordertype") === "stop-loss") {
            throw new SimApiError("EOrder:Insufficient funds");
          }
          const sim = box.sim!;
          return engineRestHandlers(sim.engine!, sim.control).AddOrder!(
            context,
          );
        },
      },
    },
  });
  box.sim = h.sim;
  const env = { ...h.simCredentialsEnv, KRAKKED_LIVE: "1" };
  const { ask } = await simQuote(h.restUrl, "ATOMUSD");
  const volume = (100 / ask).toFixed(4);
  const buy = await h.run([
    "order",
    "buy",
    "ATOMUSD",
    volume,
    "--stop-loss",
    (ask * 0.95).toFixed(4),
  ], { env });
  assert.equal(buy.code, 0, buy.stderr);
  const half = (Number(volume) / 2).toFixed(4);
  const run = await h.run(["close", "ATOMUSD", half], { env });
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stdout, new RegExp(`sold ${half} of ${half}`));
  assert.match(run.stdout, /^re-protect stop: \(not placed\) for \S+ at /m);
  assert.match(
    run.stderr,
    /^WARNING: \S+ of ATOM\/USD's base asset is still held WITHOUT a stop-loss$/m,
  );
  assert.match(
    run.stderr,
    /^PROBLEM: The new stop for \S+ ATOM at \S+ was not placed: .*EOrder:Insufficient funds/m,
  );
  await restBudget(h, 12);
  // Selling part of the now unprotected rest: nothing failed (exit 0), but
  // what stays held without a stop is still said on stderr, even with --json.
  const json = await h.run(["close", "ATOMUSD", "0.5", "--json"], { env });
  assert.equal(json.code, 0, json.stderr);
  const decision = JSON.parse(json.stdout);
  assert.equal(decision.decision, "accepted");
  assert.equal(decision.exit.problem, null);
  assert.deepEqual(decision.exit.cancelledStops, []);
  assert.ok(Number(decision.exit.uncovered) > 0);
  assert.match(
    json.stderr,
    /^WARNING: \S+ of ATOM\/USD's base asset is still held WITHOUT a stop-loss\n$/,
  );
});

Deno.test("close live: an account read that fails after the sale is reported loudly, exit 1", async () => {
  const box: { sim?: Simulator | undefined; failBalance: boolean } = {
    failBalance: false,
  };
  const handlers = () => engineRestHandlers(box.sim!.engine!, box.sim!.control);
  await using h = await CliHarness.start({
    extraConfig: LIVE_CONFIG,
    sim: {
      tier: "pro",
      privateHandlers: {
        // Once the exit (a market sell) is accepted, Balance fails: the
        // client cannot confirm the sale nor re-protect what is left.
        AddOrder(context) {
          const answer = handlers().AddOrder!(context);
          if (
            context.params.get("type") === "sell" &&
            context.params.get("ordertype") === "market"
          ) box.failBalance = true;
          return answer;
        },
        Balance(context) {
          if (box.failBalance) throw new SimApiError("EService:Unavailable");
          return handlers().Balance!(context);
        },
      },
    },
  });
  box.sim = h.sim;
  const env = { ...h.simCredentialsEnv, KRAKKED_LIVE: "1" };
  const { ask } = await simQuote(h.restUrl, "ATOMUSD");
  const volume = (100 / ask).toFixed(4);
  const buy = await h.run([
    "order",
    "buy",
    "ATOMUSD",
    volume,
    "--stop-loss",
    (ask * 0.95).toFixed(4),
    "--json",
  ], { env });
  assert.equal(buy.code, 0, buy.stderr);
  const run = await h.run([
    "close",
    "ATOMUSD",
    (Number(volume) / 2).toFixed(4),
  ], { env });
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /^PROBLEM: .*EService:Unavailable/m);
  assert.match(
    run.stderr,
    /^CHECK: stop O\S+ was cancelled and a later step failed, .*'krakked orders'\)$/m,
  );
});
