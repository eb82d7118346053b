import assert from "node:assert/strict";
import { usageMessage } from "./_parsed.ts";
import {
  PAPER_HELP,
  paperOrderRows,
  parsePaperArgs,
} from "../../../server/cli/paper_cmd.ts";
import type { PaperOrder } from "../../../core/trade/paper.ts";
import { CliHarness, PAPER_CONFIG, simQuote } from "./_harness.ts";

Deno.test("parsePaperArgs() takes one view", () => {
  assert.deepEqual(parsePaperArgs(["pnl", "--json"]), {
    kind: "paper",
    view: "pnl",
    json: true,
    yes: false,
  });
  assert.deepEqual(parsePaperArgs(["orders"]), {
    kind: "paper",
    view: "orders",
    json: false,
    yes: false,
  });
  assert.deepEqual(parsePaperArgs(["reset", "-y"]), {
    kind: "paper",
    view: "reset",
    json: false,
    yes: true,
  });
  assert.deepEqual(parsePaperArgs(["--help"]), { kind: "help" });
  assert.match(
    usageMessage(parsePaperArgs(["pnl", "--yes"])),
    /--yes goes with 'paper reset' only/,
  );
  // The amount comes from config.yaml, never a figure in the help.
  assert.doesNotMatch(PAPER_HELP, /10[,_ ]?000/);
  assert.match(PAPER_HELP, /trading\.paper_starting_usd/);
  assert.match(PAPER_HELP, /orders +open paper orders/);
  for (const args of [[], ["order"], ["pnl", "x"], ["pnl", "--all"]]) {
    usageMessage(parsePaperArgs(args), args.join(" "));
  }
});

function paperOrder(over: Partial<PaperOrder>): PaperOrder {
  return {
    id: "OAAAAA-AAAAA-AAAAAB",
    ref: null,
    parentId: null,
    pair: "XBTUSD",
    side: "buy",
    type: "limit",
    volume: "0.01",
    price: "60000",
    price2: null,
    trailing: null,
    peak: null,
    timeInForce: "GTC",
    expireAtSec: null,
    postOnly: false,
    stopLoss: { type: "stop-loss", triggerPrice: "57000" },
    status: "new",
    triggered: false,
    filledQty: "0.004",
    cumCost: "240",
    fees: "0.4",
    reason: null,
    createdAtMs: 0,
    updatedAtMs: 0,
    ...over,
  };
}

Deno.test("paperOrderRows() flattens open paper orders with their role", () => {
  const rows = paperOrderRows([
    paperOrder({}),
    paperOrder({
      id: "OAAAAA-AAAAA-AAAAAC",
      parentId: "OAAAAA-AAAAA-AAAAAB",
      side: "sell",
      type: "stop-loss",
      volume: "0.004",
      price: "57000",
      stopLoss: null,
      filledQty: "0",
    }),
  ]);
  assert.deepEqual(rows, [
    {
      id: "OAAAAA-AAAAA-AAAAAB",
      pair: "XBTUSD",
      symbol: "XBTUSD",
      side: "buy",
      type: "limit",
      volume: "0.01",
      price: "60000",
      filled: "0.004",
      status: "new",
      stopLoss: "57000",
      parentId: null,
      role: "order",
    },
    {
      id: "OAAAAA-AAAAA-AAAAAC",
      pair: "XBTUSD",
      symbol: "XBTUSD",
      side: "sell",
      type: "stop-loss",
      volume: "0.004",
      price: "57000",
      filled: "0",
      status: "new",
      stopLoss: null,
      parentId: "OAAAAA-AAAAA-AAAAAB",
      role: "stop",
    },
  ]);
});

Deno.test("paper orders lists resting orders and stops with their role", async () => {
  await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
  assert.equal(
    (await h.run(["paper", "orders"])).stdout,
    "No open paper orders\n",
  );
  const { ask } = await simQuote(h.restUrl);
  const filled = await h.run([
    "order",
    "buy",
    "XBTUSD",
    (100 / ask).toFixed(6),
    "--stop-loss",
    (ask * 0.95).toFixed(1),
  ]);
  assert.equal(filled.code, 0, filled.stderr);
  const resting = await h.run([
    "order",
    "buy",
    "XBTUSD",
    (100 / ask).toFixed(6),
    "--limit",
    (ask * 0.9).toFixed(1),
    "--stop-loss",
    (ask * 0.85).toFixed(1),
  ]);
  assert.equal(resting.code, 0, resting.stderr);
  const json = await h.run(["paper", "orders", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(out), ["orders"]);
  assert.deepEqual(
    out.orders.map((o: { type: string; side: string; role: string }) =>
      `${o.side} ${o.type} ${o.role}`
    ).sort(),
    ["buy limit order", "sell stop-loss stop"],
  );
  const text = await h.run(["paper", "orders"]);
  const lines = text.stdout.trimEnd().split("\n");
  assert.match(
    lines[0]!,
    /^id +pair +side +type +volume +price +filled +role$/,
  );
  assert.equal(lines.length, 4);
  assert.ok(lines.some((l) => /BTC\/USD +sell +stop-loss .* stop$/.test(l)));
  assert.ok(lines.some((l) => /BTC\/USD +buy +limit .* order$/.test(l)));
});

Deno.test("paper balances, positions, pnl and reset after a paper fill", async () => {
  await using h = await CliHarness.start({ extraConfig: PAPER_CONFIG });
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
  assert.match(table.stdout, /\nBTC\/USD +/);
  assert.equal(positions[0].symbol, "BTC/USD");

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

  const reset = await h.run(["paper", "reset", "--yes"]);
  assert.equal(reset.code, 0);
  assert.equal(reset.stdout, "Paper account reset: 10000 USD\n");
  assert.deepEqual(
    JSON.parse((await h.run(["paper", "balances", "--json"])).stdout),
    { balances: { USD: "10000" } },
  );
});

Deno.test("paper reset asks first, names the configured amount, and --yes skips the question", async (t) => {
  await using h = await CliHarness.start({
    extraConfig: `${PAPER_CONFIG}  paper_starting_usd: 2500\n`,
  });
  const { ask } = await simQuote(h.restUrl);
  const buy = await h.run([
    "order",
    "buy",
    "XBTUSD",
    (100 / ask).toFixed(6),
    "--stop-loss",
    (ask * 0.95).toFixed(1),
  ]);
  assert.equal(buy.code, 0, buy.stderr);
  const usd = async () =>
    JSON.parse((await h.run(["paper", "balances", "--json"])).stdout)
      .balances.USD;
  const spentUsd = await usd();
  assert.notEqual(spentUsd, "2500");

  await t.step(
    "no terminal and no --yes: usage error, nothing changed",
    async () => {
      const run = await h.run(["paper", "reset"]);
      assert.equal(run.code, 2);
      assert.match(
        run.stderr,
        /^krakked paper: paper reset deletes the paper account and there is no terminal to ask on: add --yes to confirm \(id paper-[0-9a-f]{12}\)\n/,
      );
      assert.equal(await usd(), spentUsd);
      const json = await h.run(["paper", "reset", "--json"]);
      assert.equal(json.code, 2);
      assert.equal(JSON.parse(json.stdout).error.category, "usage");
    },
  );
  await t.step("declined on a terminal: exit 1, nothing changed", async () => {
    const questions: string[] = [];
    const run = await h.run(["paper", "reset"], {
      io: {
        interactive: true,
        promptLine: (q) => {
          questions.push(q);
          return "n";
        },
      },
    });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "Kept the paper account; nothing was changed\n");
    assert.equal(questions.length, 1);
    assert.match(questions[0]!, /start over with 2500 USD\? \[y\/N\] $/);
    assert.equal(await usd(), spentUsd);
  });
  await t.step(
    "confirmed on a terminal: reset to the configured amount",
    async () => {
      const run = await h.run(["paper", "reset"], {
        io: { interactive: true, promptLine: () => "y" },
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "Paper account reset: 2500 USD\n");
    },
  );
  await t.step("--yes --json resets without asking", async () => {
    const run = await h.run(["paper", "reset", "--yes", "--json"], {
      io: {
        interactive: true,
        promptLine: () => {
          throw new Error("--yes must not ask");
        },
      },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      reset: true,
      balances: { USD: "2500" },
    });
  });
});
