import assert from "node:assert/strict";
import { usageMessage } from "./_parsed.ts";
import {
  CANCEL_HELP,
  cancelReport,
  parseCancelArgs,
} from "../../../server/cli/cancel_cmd.ts";
import {
  CliHarness,
  LIVE_CONFIG,
  PAPER_CONFIG,
  restBudget,
  simQuote,
} from "./_harness.ts";

Deno.test("parseCancelArgs() takes one id or --all [--include-stops]", () => {
  assert.deepEqual(parseCancelArgs(["OABC-DEFGH-IJKLMN"]), {
    kind: "cancel",
    id: "OABC-DEFGH-IJKLMN",
    includeStops: false,
    live: false,
    json: false,
  });
  assert.deepEqual(parseCancelArgs(["--all", "--live", "--json"]), {
    kind: "cancel",
    id: null,
    includeStops: false,
    live: true,
    json: true,
  });
  assert.deepEqual(parseCancelArgs(["--include-stops", "--all"]), {
    kind: "cancel",
    id: null,
    includeStops: true,
    live: false,
    json: false,
  });
  assert.deepEqual(parseCancelArgs(["-h"]), { kind: "help" });
  for (
    const args of [
      [],
      ["X", "--all"],
      ["a b"],
      ["X", "Y"],
      ["--include-stops"],
      ["X", "--include-stops"],
    ]
  ) {
    usageMessage(parseCancelArgs(args), args.join(" "));
  }
  assert.match(
    usageMessage(parseCancelArgs(["OSTOP", "--include-stops"])),
    /--include-stops goes with --all.*krakked close/,
  );
  assert.match(CANCEL_HELP, /--include-stops/);
  assert.match(CANCEL_HELP, /stop_protects_position/);
});

Deno.test("cancelReport() says what was kept and what is left unprotected", async (t) => {
  await t.step("stops kept, and why", () => {
    const report = cancelReport({
      decision: "accepted",
      mode: "paper",
      count: 2,
      keptStops: ["OSTOP1", "OSTOP2"],
      uncovered: {},
    });
    assert.equal(report.out[0], "PAPER cancelled 2 orders");
    assert.match(
      report.out[1]!,
      /^kept 2 protective stops \(OSTOP1, OSTOP2\): a stop-loss covering an open position stays until the position is closed \('krakked close <pair>'\); --include-stops removes it on purpose$/,
    );
    assert.deepEqual(report.err, []);
  });
  await t.step("one order, nothing kept", () => {
    assert.deepEqual(
      cancelReport({ decision: "accepted", mode: "live", count: 1 }),
      { out: ["LIVE cancelled 1 order"], err: [] },
    );
  });
  await t.step("with stops: the unprotected holdings on stderr", () => {
    const report = cancelReport({
      decision: "accepted",
      mode: "live",
      count: 3,
      keptStops: [],
      uncovered: { BTC: "0.5", ETH: "2" },
    });
    assert.deepEqual(report.out, ["LIVE cancelled 3 orders"]);
    assert.deepEqual(report.err, [
      "WARNING: protective stops were cancelled; now held WITHOUT a stop-loss: 0.5 BTC, 2 ETH",
    ]);
  });
  await t.step("a rejection names its rule", () => {
    assert.deepEqual(
      cancelReport({
        decision: "rejected",
        mode: "dry_run",
        rule: "mode_dry_run",
        message: "nothing to cancel",
      }),
      { out: [], err: ["DRY-RUN REJECTED (mode_dry_run): nothing to cancel"] },
    );
  });
});

Deno.test("cancel against the simulator: live by id and --all, paper by id, read_only refused", async (t) => {
  await t.step("read_only exits 1 with the rule", async () => {
    await using h = await CliHarness.start();
    const run = await h.run(["cancel", "--all"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /REJECTED \(mode_read_only\)/);
  });
  await t.step("live: cancel one by id, then --all", async () => {
    await using h = await CliHarness.start({ extraConfig: LIVE_CONFIG });
    const env = h.simCredentialsEnv;
    // LTCUSD: the seeded account holds none, so the exposure cap has room.
    const { bid } = await simQuote(h.restUrl, "LTCUSD");
    const place = async () => {
      const run = await h.run([
        "order",
        "buy",
        "LTCUSD",
        (50 / bid).toFixed(4),
        "--limit",
        (bid * 0.95).toFixed(2),
        "--stop-loss",
        (bid * 0.9).toFixed(2),
        "--json",
      ], { env: { ...env, KRAKKED_LIVE: "1" } });
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout).order.orderId as string;
    };
    const open = async () =>
      JSON.parse((await h.run(["orders", "--json"], { env })).stdout).orders
        .map((o: { txid: string }) => o.txid) as string[];
    const first = await place();
    const refused = await h.run(["cancel", first], { env });
    assert.equal(refused.code, 1, "no --live: refused");
    assert.match(refused.stderr, /live_not_enabled/);
    const one = await h.run(["cancel", first, "--live", "--json"], { env });
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).count, 1);
    assert.ok(!(await open()).includes(first));
    await restBudget(h, 8);
    const a = await place();
    const b = await place();
    const all = await h.run(["cancel", "--all", "--live"], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^LIVE cancelled \d+ orders/);
    const left = await open();
    assert.ok(!left.includes(a) && !left.includes(b));
  });
  await t.step(
    "paper: a resting limit is cancelled by id; an unknown id exits 1",
    async () => {
      await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
      const { ask } = await simQuote(h.restUrl);
      const placed = await h.run([
        "order",
        "buy",
        "XBTUSD",
        (100 / ask).toFixed(6),
        "--limit",
        (ask * 0.9).toFixed(1),
        "--stop-loss",
        (ask * 0.85).toFixed(1),
        "--json",
      ]);
      assert.equal(placed.code, 0, placed.stderr);
      const id = JSON.parse(placed.stdout).order.orderId;
      const run = await h.run(["cancel", id]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /PAPER cancelled 1 order$/m);
      const again = await h.run(["cancel", id]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /REJECTED \(order_closed|unknown_order\)/);
    },
  );
});

Deno.test("cancel keeps protective stops: by id refused, --all keeps them, --include-stops warns", async (t) => {
  for (const mode of ["paper", "live"] as const) {
    await t.step(mode, async () => {
      await using h = await CliHarness.start({
        extraConfig: mode === "paper" ? PAPER_CONFIG : LIVE_CONFIG,
        sim: { tier: "pro" },
      });
      const env = mode === "live"
        ? { ...h.simCredentialsEnv, KRAKKED_LIVE: "1" }
        : {};
      const label = mode.toUpperCase();
      // ATOMUSD: not held by the seeded live account.
      const { ask, bid } = await simQuote(h.restUrl, "ATOMUSD");
      const volume = (100 / ask).toFixed(4);
      const filled = await h.run([
        "order",
        "buy",
        "ATOMUSD",
        volume,
        "--stop-loss",
        (ask * 0.95).toFixed(4),
      ], { env });
      assert.equal(filled.code, 0, filled.stderr);
      const resting = await h.run([
        "order",
        "buy",
        "ATOMUSD",
        (50 / bid).toFixed(4),
        "--limit",
        (bid * 0.9).toFixed(4),
        "--stop-loss",
        (bid * 0.85).toFixed(4),
        "--json",
      ], { env });
      assert.equal(resting.code, 0, resting.stderr);
      const restingId = JSON.parse(resting.stdout).order.orderId as string;
      const stops = async () => {
        if (mode === "paper") {
          return (JSON.parse(
            (await h.run(["paper", "orders", "--json"]))
              .stdout,
          ).orders as { id: string; role: string }[])
            .filter((o) => o.role === "stop").map((o) => o.id);
        }
        return (JSON.parse((await h.run(["orders", "--json"], { env })).stdout)
          .orders as { txid: string; role: string; pair: string }[])
          .filter((o) => o.role === "stop" && o.pair === "ATOMUSD").map((o) =>
            o.txid
          );
      };
      const [stop] = await stops();
      assert.ok(stop !== undefined, "the fill created its stop");

      const byId = await h.run(["cancel", stop], { env });
      assert.equal(byId.code, 1);
      assert.match(
        byId.stderr,
        new RegExp(
          `^${label} REJECTED \\(stop_protects_position\\): Order ${stop} is the stop-loss covering`,
        ),
      );
      const json = await h.run(["cancel", stop, "--json"], { env });
      assert.equal(json.code, 1);
      assert.equal(JSON.parse(json.stdout).rule, "stop_protects_position");

      await restBudget(h, 6);
      const all = await h.run(["cancel", "--all", "--json"], { env });
      assert.equal(all.code, 0, all.stderr);
      const kept = JSON.parse(all.stdout);
      assert.deepEqual(kept.keptStops, [stop]);
      assert.deepEqual(kept.uncovered, {});
      assert.ok(kept.count >= 1, "the resting buy was cancelled");
      assert.equal(all.stderr, "");
      assert.deepEqual(await stops(), [stop], "the stop is still open");
      if (mode === "paper") {
        const left = JSON.parse(
          (await h.run(["paper", "orders", "--json"]))
            .stdout,
        ).orders as { id: string }[];
        assert.ok(!left.some((o) => o.id === restingId));
      }

      // A second --all in text: nothing else to cancel, the stop kept again.
      const text = await h.run(["cancel", "--all"], { env });
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        new RegExp(`^${label} cancelled \\d+ orders?\n`),
      );
      assert.match(
        text.stdout,
        new RegExp(
          `^kept 1 protective stop \\(${stop}\\): .*--include-stops`,
          "m",
        ),
      );

      await restBudget(h, 6);
      const withStops = await h.run(["cancel", "--all", "--include-stops"], {
        env,
      });
      assert.equal(withStops.code, 0, withStops.stderr);
      assert.match(
        withStops.stdout,
        new RegExp(`^${label} cancelled \\d+ orders?\n$`),
      );
      const warned = withStops.stderr.match(
        /^WARNING: protective stops were cancelled; now held WITHOUT a stop-loss: (\S+) ATOM\n$/,
      );
      assert.ok(warned, withStops.stderr);
      assert.ok(Number(warned[1]) > 0);
      assert.deepEqual(await stops(), []);
    });
  }
});
