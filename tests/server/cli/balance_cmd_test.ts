import assert from "node:assert/strict";
import { join } from "node:path";
import { AssetTable } from "../../../core/market/assets.ts";
import {
  balanceRows,
  parseBalanceArgs,
} from "../../../server/cli/balance_cmd.ts";
import { usageMessage } from "./_parsed.ts";
import { CliHarness, closedPortUrl, leakedSecrets } from "./_harness.ts";

Deno.test("parseBalanceArgs() accepts --json and --help only", () => {
  assert.deepEqual(parseBalanceArgs([]), { kind: "balance", json: false });
  assert.deepEqual(parseBalanceArgs(["--json"]), {
    kind: "balance",
    json: true,
  });
  assert.deepEqual(parseBalanceArgs(["--help"]), { kind: "help" });
  assert.match(usageMessage(parseBalanceArgs(["USD"])), /Unexpected argument/);
});

Deno.test("balanceRows() uses common codes and subtracts the hold exactly", () => {
  const rows = balanceRows({
    XXBT: { balance: "1.0000000001", hold_trade: "0.3" },
    ZUSD: { balance: "100.10", hold_trade: "100.2" },
    "ETH.S": { balance: "2.5", hold_trade: "0" },
  }, AssetTable.fallback());
  assert.deepEqual(rows, [
    {
      asset: "BTC",
      key: "XXBT",
      suffix: null,
      balance: "1.0000000001",
      hold: "0.3",
      available: "0.7000000001",
    },
    {
      asset: "ETH.S",
      key: "ETH.S",
      suffix: "S",
      balance: "2.5",
      hold: "0",
      available: "2.5",
    },
    {
      asset: "USD",
      key: "ZUSD",
      suffix: null,
      balance: "100.10",
      hold: "100.2",
      available: "-0.10",
    },
  ]);
});

// Moved from the deleted server/cli/decimal_text.ts: available is computed
// with core/decimal.ts alone.
Deno.test("balanceRows() subtracts the hold exactly at the larger scale", () => {
  const cases: Array<[string, string, string]> = [
    ["33194.1921", "1664.3252", "31529.8669"],
    ["0.1", "0.2", "-0.1"],
    ["1.0000000001", "0.3", "0.7000000001"],
    ["5", "2", "3"],
    ["5", "0.25", "4.75"],
    ["0.000", "0", "0.000"],
    ["-1.5", "-2", "0.5"],
    ["0.00000001", "0.00000002", "-0.00000001"],
    ["123456789012345678.9", "0.1", "123456789012345678.8"],
  ];
  for (const [balance, hold, want] of cases) {
    const [row] = balanceRows(
      { ZUSD: { balance, hold_trade: hold } },
      AssetTable.fallback(),
    );
    assert.equal(row?.available, want, `${balance} - ${hold}`);
  }
});

Deno.test("balanceRows() rejects a balance that is not decimal text", () => {
  for (const bad of ["1e5", "", "abc", "1.2.3", "--1"]) {
    assert.throws(
      () =>
        balanceRows(
          { ZUSD: { balance: bad, hold_trade: "0" } },
          AssetTable.fallback(),
        ),
      SyntaxError,
      bad,
    );
  }
});

Deno.test("balance --json shows the simulator account with available = balance - hold", async () => {
  await using h = await CliHarness.start();
  const env = h.simCredentialsEnv;
  const run = await h.run(["balance", "--json"], { env });
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(out), ["balances"]);
  const assets = out.balances.map((b: { asset: string }) => b.asset);
  assert.ok(assets.includes("BTC") && assets.includes("USD"), assets.join());
  assert.ok(!assets.includes("XXBT") && !assets.includes("ZUSD"));
  for (const b of out.balances) {
    assert.deepEqual(Object.keys(b).sort(), [
      "asset",
      "available",
      "balance",
      "hold",
      "key",
      "suffix",
    ]);
    const expected = Number(b.balance) - Number(b.hold);
    assert.ok(
      Math.abs(Number(b.available) - expected) < 1e-9,
      JSON.stringify(b),
    );
  }
  const usd = out.balances.find((b: { asset: string }) => b.asset === "USD");
  assert.ok(
    Number(usd.hold) > 0,
    "the seeded account holds USD for a buy order",
  );
  assert.deepEqual(
    leakedSecrets([run.stdout, run.stderr], Object.values(env)),
    [],
  );
});

Deno.test("balance prints a table", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["balance"], { env: h.simCredentialsEnv });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^asset +balance +held +available\n/);
  assert.match(run.stdout, /\nBTC +[\d.]+ +[\d.]+ +[\d.]+\n/);
});

Deno.test("balance without credentials exits 3 and says how to add them", async () => {
  await using h = await CliHarness.start();
  const run = await h.run(["balance"]);
  assert.equal(run.code, 3);
  assert.equal(run.stdout, "");
  assert.match(
    run.stderr,
    /^krakked balance: No credentials: set KRAKEN_API_KEY/,
  );
});

Deno.test("balance with a key lacking Query Funds exits 3", async () => {
  await using h = await CliHarness.start({
    sim: { permissions: ["query_open"] },
  });
  const run = await h.run(["balance"], { env: h.simCredentialsEnv });
  assert.equal(run.code, 3);
  assert.match(
    run.stderr,
    /\(permission\); run 'krakked doctor' to check the key/,
  );
});

Deno.test("balance against an unreachable server exits 4", async (t) => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const env = {
    KRAKEN_API_KEY: "some-key",
    KRAKEN_API_SECRET: "c2VjcmV0c2VjcmV0",
  };
  await t.step("text: one line on stderr", async () => {
    const run = await h.run(["balance"], { env });
    assert.equal(run.code, 4);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /\(network\)/);
    assert.ok(!run.stderr.includes("c2VjcmV0c2VjcmV0"));
  });
  await t.step("--json: the error object on stdout", async () => {
    const run = await h.run(["balance", "--json"], { env });
    assert.equal(run.code, 4);
    assert.equal(run.stderr, "");
    const { error } = JSON.parse(run.stdout);
    assert.equal(error.category, "network");
    assert.match(error.message, /^Kraken \w+ call failed/);
    assert.equal(error.suggestion, "Check the network or connection.rest_url");
    assert.ok(!run.stdout.includes("c2VjcmV0c2VjcmV0"));
  });
});

Deno.test("balance --json without credentials prints a credentials error", async () => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const run = await h.run(["balance", "--json"]);
  assert.equal(run.code, 3);
  assert.equal(run.stderr, "");
  const out = JSON.parse(run.stdout);
  // The run's correlation id, to quote in a report.
  assert.match(out.error.id, /^balance-[0-9a-f]{12}$/);
  delete out.error.id;
  assert.deepEqual(out, {
    error: {
      category: "credentials",
      message:
        "No credentials: set KRAKEN_API_KEY and KRAKEN_API_SECRET, or run 'krakked setup'",
      suggestion:
        "Set KRAKEN_API_KEY and KRAKEN_API_SECRET, or run 'krakked setup'",
    },
  });
});

Deno.test("only one of KRAKEN_API_KEY/KRAKEN_API_SECRET set: incomplete, naming the missing one", async (t) => {
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const cases = [
    [
      { KRAKEN_API_KEY: "only-the-key-0123" },
      "KRAKEN_API_KEY",
      "KRAKEN_API_SECRET",
    ],
    [
      { KRAKEN_API_SECRET: "b25seS10aGUtc2VjcmV0" },
      "KRAKEN_API_SECRET",
      "KRAKEN_API_KEY",
    ],
    [
      { KRAKEN_API_KEY: "only-the-key-0123", KRAKEN_API_SECRET: " " },
      "KRAKEN_API_KEY",
      "KRAKEN_API_SECRET",
    ],
  ] as const;
  for (const [env, set, missing] of cases) {
    await t.step(`${set} alone, text`, async () => {
      const run = await h.run(["balance"], { env });
      assert.equal(run.code, 3);
      assert.equal(run.stdout, "");
      assert.equal(
        run.stderr.replace(/ \(id balance-[0-9a-f]{12}\)\n$/, "\n"),
        `krakked balance: Incomplete credentials: ${set} is set but ${missing} is not, so neither is used\n`,
      );
      assert.deepEqual(
        leakedSecrets([run.stderr], Object.values(env).filter((v) => v.trim())),
        [],
      );
    });
    await t.step(`${set} alone, --json`, async () => {
      const run = await h.run(["orders", "--json"], { env });
      assert.equal(run.code, 3);
      assert.equal(run.stderr, "");
      const out = JSON.parse(run.stdout);
      assert.match(out.error.id, /^orders-[0-9a-f]{12}$/);
      delete out.error.id;
      assert.deepEqual(out, {
        error: {
          category: "credentials",
          message:
            `Incomplete credentials: ${set} is set but ${missing} is not, so neither is used`,
          suggestion:
            `Set ${missing} as well (both are needed), or unset ${set} and run 'krakked setup'`,
        },
      });
    });
  }
  await t.step(
    "with a secrets file but no password, both problems are named",
    async () => {
      await Deno.writeTextFile(join(h.dir, "secrets.enc"), "{}", {
        mode: 0o600,
      });
      try {
        const run = await h.run(["balance"], {
          env: { KRAKEN_API_KEY: "only-the-key-0123" },
        });
        assert.equal(run.code, 3);
        assert.match(
          run.stderr,
          /^krakked balance: Incomplete credentials: KRAKEN_API_KEY is set but KRAKEN_API_SECRET is not, so neither is used; a secrets file exists but no master password was given/,
        );
      } finally {
        await Deno.remove(join(h.dir, "secrets.enc"));
      }
    },
  );
});
