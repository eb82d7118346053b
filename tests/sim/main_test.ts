import assert from "node:assert/strict";
import {
  DEFAULT_SIM_PORT,
  parseSimArgs,
  simMain,
} from "../../server/sim/main.ts";

Deno.test("parseSimArgs() reads flags into a tagged result", async (t) => {
  await t.step("defaults", () => {
    assert.deepEqual(parseSimArgs([]), {
      kind: "run",
      hostname: "127.0.0.1",
      port: DEFAULT_SIM_PORT,
      seed: 1,
      tier: "starter",
      control: true,
    });
  });
  await t.step("every flag", () => {
    assert.deepEqual(
      parseSimArgs([
        "--port",
        "0",
        "--seed=9",
        "--api-key",
        "k",
        "--api-secret",
        "c2VjcmV0",
        "--tier",
        "pro",
        "--history-days",
        "10",
        "--no-control",
        "--host",
        "::1",
      ]),
      {
        kind: "run",
        hostname: "::1",
        port: 0,
        seed: 9,
        tier: "pro",
        control: false,
        apiKey: "k",
        apiSecret: "c2VjcmV0",
        historyDays: 10,
      },
    );
  });
  await t.step("help and errors", () => {
    assert.deepEqual(parseSimArgs(["-h"]), { kind: "help" });
    assert.equal(parseSimArgs(["--port", "70000"]).kind, "error");
    assert.equal(parseSimArgs(["--tier", "gold"]).kind, "error");
    assert.equal(parseSimArgs(["--seed"]).kind, "error");
    assert.equal(parseSimArgs(["--frobnicate"]).kind, "error");
  });
});

Deno.test("simMain() prints usage, rejects bad flags and runs until stopped", async (t) => {
  await t.step("help", async () => {
    const lines: string[] = [];
    assert.equal(
      await simMain(["--help"], { stdout: (l) => lines.push(l) }),
      0,
    );
    assert.match(lines.join("\n"), /--api-secret/);
  });
  await t.step("bad flag", async () => {
    const errors: string[] = [];
    assert.equal(
      await simMain(["--tier", "gold"], { stderr: (l) => errors.push(l) }),
      2,
    );
    assert.match(errors[0]!, /--tier/);
  });
  await t.step("run and stop", async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    let announce: () => void = () => {};
    const ready = new Promise<void>((resolve) => (announce = resolve));
    const done = simMain(
      ["--port", "0", "--seed", "5", "--history-days", "3"],
      {
        stdout: (line) => {
          lines.push(line);
          if (line.startsWith("Press Ctrl+C")) announce();
        },
        signal: stop.signal,
      },
    );
    await ready;
    const rest = lines.find((l) => l.startsWith("REST:"))!.split(/\s+/)[1]!;
    assert.ok(
      lines.some((l) => /^WS public:\s+ws:\/\/127\.0\.0\.1:\d+\/v2$/.test(l)),
    );
    assert.ok(
      lines.some((l) =>
        /^WS auth:\s+ws:\/\/127\.0\.0\.1:\d+\/auth\/v2$/.test(l)
      ),
    );
    assert.ok(lines.some((l) => /^API secret:\s+\S{88}$/.test(l)));
    const time = await (await fetch(`${rest}/0/public/Time`)).json();
    assert.deepEqual(time.error, []);
    stop.abort();
    assert.equal(await done, 0);
    assert.equal(lines.at(-1), "Simulator stopped.");
  });
});
