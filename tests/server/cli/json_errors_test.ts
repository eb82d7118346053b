import assert from "node:assert/strict";
import { COMMANDS } from "../../../server/main.ts";
import { CATEGORY_EXIT } from "../../../server/cli/errors.ts";
import { doctorError, doctorExitCode } from "../../../server/cli/doctor.ts";
import { decisionJson } from "../../../server/cli/trade_text.ts";
import { CliHarness, closedPortUrl } from "./_harness.ts";

/** Arguments that get each command past its parse to where it calls Kraken. */
const ARGS: Readonly<Record<string, readonly string[]>> = {
  ticker: ["BTC/USD"],
  orderbook: ["BTC/USD"],
  trades: ["BTC/USD"],
  order: ["buy", "BTC/USD", "0.001", "--stop-loss", "1"],
  close: ["BTC/USD", "--all"],
  cancel: ["--all"],
  paper: ["balances"],
  ohlc: ["backfill", "BTC/USD", "1h"],
};

Deno.test("with --json every command's failure is one JSON error object on stdout", async (t) => {
  // Kraken unreachable, credentials set: each command fails where it first
  // needs the network (or earlier, at its command line).
  await using h = await CliHarness.start({ restUrl: closedPortUrl() });
  const env = {
    KRAKEN_API_KEY: "json-sweep-key",
    KRAKEN_API_SECRET: "c2VjcmV0c2VjcmV0c2VjcmV0",
  };
  for (const command of COMMANDS) {
    const argv = [command.name, ...(ARGS[command.name] ?? []), "--json"];
    await t.step(argv.join(" "), async () => {
      const run = await h.run(argv, { env });
      let value: { error?: { category?: string; message?: string } };
      try {
        value = JSON.parse(run.stdout);
      } catch {
        assert.fail(
          `stdout is not one JSON document: ${run.stdout}${run.stderr}`,
        );
      }
      if (run.code === 0) return;
      const category = value.error?.category;
      assert.ok(
        typeof category === "string" && category in CATEGORY_EXIT,
        `exit ${run.code} without a stable error.category: ${run.stdout}`,
      );
      assert.equal(
        CATEGORY_EXIT[category as keyof typeof CATEGORY_EXIT],
        run.code,
        `${category} exits ${run.code}`,
      );
      assert.equal(typeof value.error?.message, "string");
      assert.equal(run.stderr, "", "nothing on stderr beside the JSON");
    });
  }
});

Deno.test("doctorError() names the check that decided the exit code, in its category", () => {
  const check = (id: string, status: "ok" | "fail") => ({
    id,
    label: id,
    status,
    detail: `${id} detail`,
    hint: `${id} hint`,
  });
  assert.equal(doctorError([check("config", "ok")]), undefined);
  for (
    const [failing, category] of [
      [["config", "auth", "connectivity"], "network"],
      [["config", "perm_query_open", "auth"], "auth"],
      [["perm_ws_token"], "permission"],
      [["credentials"], "credentials"],
      [["config"], "config"],
      [["nonce"], "unexpected"],
    ] as const
  ) {
    const checks = failing.map((id) => check(id, "fail"));
    const error = doctorError(checks)!;
    assert.equal(error.category, category, failing.join());
    assert.equal(CATEGORY_EXIT[error.category], doctorExitCode(checks));
    assert.equal(error.suggestion, `${error.message.split(":")[0]} hint`);
  }
});

Deno.test("decisionJson() adds the error shape to a rejection only", () => {
  const accepted = { decision: "accepted", mode: "paper" };
  assert.equal(decisionJson(accepted), accepted);
  assert.deepEqual(
    decisionJson({
      decision: "rejected",
      rule: "max_notional",
      message: "too big",
    }),
    {
      decision: "rejected",
      rule: "max_notional",
      message: "too big",
      error: {
        category: "order_rejected",
        message: "REJECTED (max_notional): too big",
      },
    },
  );
});
