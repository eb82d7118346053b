/**
 * `krakked record --restart-every-s N` stops cleanly and starts again in
 * place (server/main.ts, `EXIT.restart`): the pid a supervisor holds stays
 * the recorder's through every restart, and the store stays exactly once —
 * no trade id missing across the pauses, none stored twice, silver and gold
 * equal to their recomputation over the minute it crosses. (The run lasts
 * under two minutes, so no minute need be fully recorded for validate's
 * gold-against-REST check; a restart against REST OHLC is tested on a fast
 * clock in record_cmd_test.ts.)
 */
import assert from "node:assert/strict";
import { MAIN_TS, recorderSim, spawnRecorder } from "./_sim_config.ts";
import { parseRecordArgs } from "../../../server/cli/record_cmd.ts";

Deno.test("parseRecordArgs: --restart-every-s takes whole seconds from 2 to 30 days", () => {
  const ok = parseRecordArgs(["BTC/USD", "--restart-every-s", "86400"]);
  assert.equal(ok.kind, "record");
  assert.equal((ok as { restartEveryS?: number }).restartEveryS, 86_400);
  const never = parseRecordArgs(["BTC/USD"]);
  assert.equal((never as { restartEveryS?: number }).restartEveryS, undefined);
  for (const bad of ["0", "1", "-5", "2.5", "1h", "", "2592001"]) {
    const parsed = parseRecordArgs(["BTC/USD", "--restart-every-s", bad]);
    assert.equal(parsed.kind, "usage_error", bad);
  }
});

Deno.test({
  name:
    "record --restart-every-s: same pid through every restart, then validate: no gap, no duplicate, silver and gold recomputed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using rec = await recorderSim("krakked-restart-", 7);
    const { store, env } = rec;
    const recorder = spawnRecorder(
      ["BTC/USD", "ETH/USD", "--store", store, "--restart-every-s", "3"],
      env,
    );
    const stderr = new Response(recorder.stderr).text();
    type Status = {
      pid?: number;
      restarts?: number;
      running?: boolean;
      commits?: number;
    };
    const pids = new Set<number>();
    let status: Status = {};
    // Past the next minute boundary, with a restart after it: the minute the
    // recording began is then closed and its gold built across restarts.
    const boundaryMs = Math.ceil(Date.now() / 60_000) * 60_000;
    try {
      for (let i = 0; i < 1_000; i++) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          status = JSON.parse(await Deno.readTextFile(`${store}.status.json`));
        } catch {
          continue; // not written yet, or between write and rename
        }
        if (status.pid !== undefined) pids.add(status.pid);
        if (
          (status.restarts ?? 0) >= 2 && status.running && status.commits &&
          Date.now() > boundaryMs + 4_000
        ) break;
      }
      assert.ok(
        (status.restarts ?? 0) >= 2,
        `restarts: ${JSON.stringify(status)}`,
      );
    } finally {
      recorder.kill("SIGINT");
    }
    const exit = await recorder.status;
    const log = await stderr;
    assert.equal(exit.code, 0, log);
    // Every status file was written by the one process the test started.
    assert.deepEqual([...pids], [recorder.pid]);
    assert.match(log, /restarting in place after 3 s/);
    const validate = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN_TS,
        "record",
        "validate",
        "--store",
        store,
        "--json",
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(validate.stdout);
    const checks = JSON.parse(text) as {
      checks: { name: string; ok: boolean; summary: string }[];
    };
    const byName = new Map(checks.checks.map((c) => [c.name, c]));
    for (
      const name of [
        "no_duplicates",
        "no_gaps",
        "gold_recomputed",
        "silver_normalized",
        "bronze_native",
      ]
    ) {
      assert.ok(byName.get(name)?.ok, `${name}: ${text}`);
    }
  },
});
