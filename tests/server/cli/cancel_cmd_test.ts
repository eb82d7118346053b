import assert from "node:assert/strict";
import { UsageError } from "../../../server/cli/errors.ts";
import { parseCancelArgs } from "../../../server/cli/cancel_cmd.ts";
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

Deno.test("parseCancelArgs() takes one id or --all", () => {
  assert.deepEqual(parseCancelArgs(["OABC-DEFGH-IJKLMN"]), {
    id: "OABC-DEFGH-IJKLMN",
    live: false,
    json: false,
  });
  assert.deepEqual(parseCancelArgs(["--all", "--live", "--json"]), {
    id: null,
    live: true,
    json: true,
  });
  assert.equal(parseCancelArgs(["-h"]), "help");
  for (const args of [[], ["X", "--all"], ["a b"], ["X", "Y"]]) {
    assert.throws(() => parseCancelArgs(args), UsageError, args.join(" "));
  }
});

Deno.test("cancel against the simulator: live by id and --all, paper by id, read_only refused", async (t) => {
  await t.step("read_only exits 1 with the rule", async () => {
    await using h = await CliHarness.start();
    const run = await h.run(["cancel", "--all"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /REJECTED \(mode_read_only\)/);
  });
  await t.step("live: cancel one by id, then --all", async () => {
    await using h = await CliHarness.start({
      extraConfig: "trading:\n  mode: live\n  enable_live_orders: true\n",
    });
    const env = h.simCredentialsEnv;
    const { bid } = await simQuote(h.restUrl);
    const place = async () => {
      const run = await h.run([
        "order",
        "buy",
        "XBTUSD",
        (50 / bid).toFixed(6),
        "--limit",
        (bid * 0.95).toFixed(1),
        "--stop-loss",
        (bid * 0.9).toFixed(1),
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
      await using h = await CliHarness.start({
        extraConfig: "trading:\n  mode: paper\n",
      });
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
