// `krakked equity`, `pnl` and `ledger` through `main` against the simulator:
// pnl equals an independent FIFO over the raw rows the simulator serves,
// a second run reuses the cache and fetches only new rows, and bad flags
// are usage errors.
import assert from "node:assert/strict";
import { parseLedgerArgs } from "../../../server/cli/ledger_cmd.ts";
import { parsePnlArgs, type PnlJson } from "../../../server/cli/pnl_cmd.ts";
import { parseEquityArgs } from "../../../server/cli/equity_cmd.ts";
import { fixed, oracleOfSimulator } from "../../sim/history_oracle.ts";
import { usageMessage } from "./_parsed.ts";
import { CliHarness, leakedSecrets } from "./_harness.ts";

const RETRY = { retry: { maxAttempts: 4, baseDelayMs: 200 } };

Deno.test("pnl, equity and ledger flags parse, and bad ones are usage errors", () => {
  assert.deepEqual(parsePnlArgs(["--by", "day", "--since", "2025-01-01"]), {
    kind: "pnl",
    sinceSec: 1735689600,
    pair: undefined,
    by: "day",
    format: "table",
  });
  assert.match(usageMessage(parsePnlArgs(["--by", "week"])), /--by must be/);
  assert.match(
    usageMessage(parsePnlArgs(["--since", "yesterday"])),
    /Invalid date/,
  );
  assert.match(usageMessage(parsePnlArgs(["--json", "--csv"])), /not both/);
  assert.deepEqual(parseEquityArgs(["--csv"]), {
    kind: "equity",
    format: "csv",
    quote: undefined,
    history: false,
    sinceSec: undefined,
  });
  assert.deepEqual(
    parseEquityArgs(["--history", "--since", "2025-01-01", "--json"]),
    {
      kind: "equity",
      format: "json",
      quote: undefined,
      history: true,
      sinceSec: 1735689600,
    },
  );
  assert.match(
    usageMessage(parseEquityArgs(["--history", "--quote", "EUR"])),
    /--history is in USD/,
  );
  assert.match(
    usageMessage(parseEquityArgs(["--since", "2025-01-01"])),
    /needs --history/,
  );
  assert.match(
    usageMessage(parseLedgerArgs(["--type", "withdraw"])),
    /--type must be one of/,
  );
  const ledger = parseLedgerArgs(["--type", "deposit,withdrawal", "--json"]);
  assert.equal(ledger.kind, "ledger");
  assert.deepEqual((ledger as { types: string[] }).types, [
    "deposit",
    "withdrawal",
  ]);
});

Deno.test("krakked pnl --json equals an independent FIFO of the simulator's raw history; a rerun is warm", async () => {
  await using h = await CliHarness.start({
    sim: { tier: "pro" },
    extraConfig: "  api_tier: pro\n",
  });
  const sim = h.sim!;
  const env = h.simCredentialsEnv;
  const first = await h.run(["pnl", "--json"], { env, io: RETRY });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /trades cold: 3 pages, 107 new, 107 cached/);
  const doc = JSON.parse(first.stdout) as PnlJson;

  const { fifo: oracle } = oracleOfSimulator(sim.account);
  assert.equal(fixed(doc.totals.fees), oracle.fees, "fees");
  let realized = 0n;
  for (const g of doc.groups) {
    assert.equal(
      fixed(g.realizedPnl),
      oracle.realizedByAsset.get(g.key) ?? 0n,
      `realised ${g.key}`,
    );
    realized += fixed(g.realizedPnl);
  }
  assert.equal(fixed(doc.totals.realizedPnl), realized);
  for (const p of doc.positions) {
    assert.equal(fixed(p.qty), oracle.qty.get(p.asset), `qty ${p.asset}`);
    assert.equal(
      fixed(p.costBasis),
      oracle.cost.get(p.asset),
      `cost ${p.asset}`,
    );
  }
  // XBT/EUR trades have no EUR rate in the account's own history: listed.
  assert.deepEqual(
    doc.unpriced.filter((u) => u.kind === "trade").map((u) => u.id).sort(),
    [...oracle.skipped].sort(),
  );
  assert.equal(doc.totals.complete, false);

  // A restart: the cache answers, one page each proves nothing is new.
  const second = await h.run(["pnl", "--json"], { env, io: RETRY });
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /trades warm: 1 page, 0 new, 107 cached/);
  // Realised P&L and fees come from the history alone; unrealised P&L (and
  // the net that includes it) follows the simulator's moving marks.
  const historyOnly = (groups: PnlJson["groups"]) =>
    groups.map(({ key, realizedPnl, fees }) => ({ key, realizedPnl, fees }));
  assert.deepEqual(
    historyOnly((JSON.parse(second.stdout) as PnlJson).groups),
    historyOnly(doc.groups),
  );

  // One pair: its realised P&L and fees only, the same figures as the
  // pair's rows of --by pair.
  const onePair = await h.run(["pnl", "--json", "--pair", "eth/usd"], {
    env,
    io: RETRY,
  });
  assert.equal(onePair.code, 0, onePair.stderr);
  const ethDoc = JSON.parse(onePair.stdout) as PnlJson;
  assert.equal(ethDoc.pair, "ETHUSD");
  const byPair = await h.run(["pnl", "--json", "--by", "pair"], {
    env,
    io: RETRY,
  });
  const ethRow = (JSON.parse(byPair.stdout) as PnlJson).groups.find((g) =>
    g.key === "ETHUSD"
  );
  assert.equal(ethDoc.totals.realizedPnl, ethRow?.realizedPnl);
  assert.equal(ethDoc.totals.fees, ethRow?.fees);
  assert.ok(ethDoc.groups.every((g) => g.key === "ETH" || g.key === "USD"));

  // A new fill on the exchange: only it is fetched.
  const pair = sim.account.trades()[0]!.pair;
  const order = sim.account.openOrder({
    pair: pair.key,
    type: "buy",
    ordertype: "market",
    volumeUnits:
      BigInt(Math.round(Number(pair.ordermin) * 10 ** pair.lotDecimals)) * 2n,
    timeMs: h.now(),
  });
  sim.account.fill(order.txid, {
    priceUnits: sim.account.trades()[0]!.priceUnits,
    volumeUnits: order.volumeUnits,
    timeMs: h.now(),
    maker: false,
  });
  const third = await h.run(["pnl", "--by", "pair"], { env, io: RETRY });
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stderr, /trades warm: 1 page, 1 new, 108 cached/);
  assert.match(third.stdout, /performance -?\d/);
  assert.deepEqual(
    leakedSecrets([first.stdout, first.stderr, third.stdout], [
      env.KRAKEN_API_SECRET,
    ]),
    [],
  );
});

Deno.test("krakked equity and ledger read the simulated account", async () => {
  await using h = await CliHarness.start({
    sim: { tier: "pro" },
    extraConfig: "  api_tier: pro\n",
  });
  const env = h.simCredentialsEnv;
  const equity = await h.run(["equity", "--json"], { env, io: RETRY });
  assert.equal(equity.code, 0, equity.stderr);
  const report = JSON.parse(equity.stdout);
  assert.ok(Number(report.total) > 0);
  // The seeded account holds EUR, which has no USD route: listed, not 0.
  assert.deepEqual(report.unpriced, ["EUR"]);
  const eur = report.lines.find((l: { asset: string }) => l.asset === "EUR");
  assert.equal(eur.value, null);

  assert.equal(report.inQuote, null, "the default region quote is USD");
  const eurRun = await h.run(["equity", "--json", "--quote", "EUR"], {
    env,
    io: RETRY,
  });
  assert.equal(eurRun.code, 0, eurRun.stderr);
  const inEur = JSON.parse(eurRun.stdout).inQuote;
  assert.equal(inEur.valuation, "EUR");
  const eurLine = inEur.lines.find((l: { asset: string }) => l.asset === "EUR");
  assert.equal(eurLine.price, "1");
  assert.ok(Number(inEur.total) > Number(eurLine.value));

  const csv = await h.run(["equity", "--csv"], { env, io: RETRY });
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdout, /^asset,balance,price_usd,value_usd,route\n/);

  // Equity over time from the ledger: bounded, rising, ending now; the
  // EUR held has no USD fill to price it and is listed, not valued.
  const historyRun = await h.run(["equity", "--history", "--json"], {
    env,
    io: RETRY,
  });
  assert.equal(historyRun.code, 0, historyRun.stderr);
  const points = JSON.parse(historyRun.stdout) as {
    timeSec: number;
    day: string;
    total: string;
    unpriced: string[];
  }[];
  assert.ok(points.length >= 2 && points.length <= 400, `${points.length}`);
  for (let i = 1; i < points.length; i++) {
    assert.ok(points[i]!.timeSec > points[i - 1]!.timeSec);
    assert.ok(points[i]!.day >= points[i - 1]!.day);
  }
  assert.ok(Math.abs(points.at(-1)!.timeSec - Date.now() / 1000) < 600);
  assert.ok(points.at(-1)!.unpriced.includes("EUR"));
  assert.ok(Number(points.at(-1)!.total) > 0);
  const historyCsv = await h.run(["equity", "--history", "--csv"], {
    env,
    io: RETRY,
  });
  assert.equal(historyCsv.code, 0, historyCsv.stderr);
  assert.equal(
    historyCsv.stdout.trim().split("\n").length,
    points.length + 1,
    "the same series as CSV",
  );

  const deposits = await h.run(["ledger", "--type", "deposit", "--json"], {
    env,
    io: RETRY,
  });
  assert.equal(deposits.code, 0, deposits.stderr);
  const entries = JSON.parse(deposits.stdout).entries as Array<
    { type: string; asset: string }
  >;
  assert.deepEqual(entries.map((e) => e.asset), ["USD", "BTC", "ETH", "EUR"]);
  assert.ok(entries.every((e) => e.type === "deposit"));
  const csvLedger = await h.run(["ledger", "--csv", "--asset", "XBT"], {
    env,
    io: RETRY,
  });
  assert.equal(csvLedger.code, 0, csvLedger.stderr);
  const lines = csvLedger.stdout.trim().split("\n");
  assert.equal(
    lines[0],
    "time,id,refid,type,subtype,kind,asset,amount,fee,balance",
  );
  assert.ok(
    lines.length > 2 && lines.slice(1).every((l) => l.split(",")[6] === "BTC"),
  );
});

Deno.test("krakked pnl without credentials is an auth error", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["pnl", "--json"]);
  assert.equal(run.code, 3, run.stderr);
});
