import assert from "node:assert/strict";
import { UsageError } from "../../../server/cli/errors.ts";
import { parsePaperArgs } from "../../../server/cli/paper_cmd.ts";
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

Deno.test("parsePaperArgs() takes one view", () => {
  assert.deepEqual(parsePaperArgs(["pnl", "--json"]), {
    view: "pnl",
    json: true,
  });
  assert.equal(parsePaperArgs(["--help"]), "help");
  for (const args of [[], ["orders"], ["pnl", "x"], ["pnl", "--all"]]) {
    assert.throws(() => parsePaperArgs(args), UsageError, args.join(" "));
  }
});

Deno.test("paper balances, positions, pnl and reset after a paper fill", async () => {
  await using h = await CliHarness.start({
    extraConfig: "trading:\n  mode: paper\n",
  });
  const fresh = await h.run(["paper", "balances", "--json"]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.deepEqual(JSON.parse(fresh.stdout), { balances: { USD: "10000" } });
  const none = await h.run(["paper", "positions"]);
  assert.equal(none.stdout, "No open positions\n");

  const { ask } = await simQuote(h.restUrl);
  const volume = (100 / ask).toFixed(6);
  const order = await h.run([
    "order",
    "buy",
    "XBTUSD",
    volume,
    "--stop-loss",
    (ask * 0.95).toFixed(1),
    "--json",
  ]);
  assert.equal(order.code, 0, order.stderr);
  const fills = JSON.parse(order.stdout).fills as {
    cost: string;
    fee: string;
  }[];
  const spent = fills.reduce((s, f) => s + Number(f.cost) + Number(f.fee), 0);

  const balances =
    JSON.parse((await h.run(["paper", "balances", "--json"])).stdout)
      .balances;
  assert.equal(Number(balances.XBT ?? balances.BTC), Number(volume));
  assert.ok(Math.abs(10_000 - Number(balances.USD) - spent) < 1e-6);

  const positions = JSON.parse(
    (await h.run(["paper", "positions", "--json"])).stdout,
  ).positions;
  assert.equal(positions.length, 1);
  assert.equal(positions[0].pair, "XBTUSD");
  assert.equal(Number(positions[0].qty), Number(volume));
  assert.ok(positions[0].markPrice !== null, "marked to the current book");
  const table = await h.run(["paper", "positions"]);
  assert.match(table.stdout, /^pair\s+qty/);
  assert.match(table.stdout, /XBTUSD/);

  const pnl = JSON.parse((await h.run(["paper", "pnl", "--json"])).stdout).pnl;
  const fees = fills.reduce((s, f) => s + Number(f.fee), 0);
  assert.ok(Math.abs(Number(pnl.fees) - fees) < 1e-9, `${pnl.fees} vs ${fees}`);
  assert.ok(
    Math.abs(
      Number(pnl.net) -
        (Number(pnl.realized) + Number(pnl.unrealized) - Number(pnl.fees)),
    ) < 1e-9,
  );
  const text = await h.run(["paper", "pnl"]);
  assert.match(
    text.stdout,
    /^realised \S+ {2}unrealised \S+ {2}fees \S+ {2}net \S+\n$/,
  );

  const reset = await h.run(["paper", "reset"]);
  assert.equal(reset.code, 0);
  assert.equal(reset.stdout, "Paper account reset: 10000 USD\n");
  assert.deepEqual(
    JSON.parse((await h.run(["paper", "balances", "--json"])).stdout),
    { balances: { USD: "10000" } },
  );
});
