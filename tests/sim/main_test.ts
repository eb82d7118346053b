import assert from "node:assert/strict";
import { runSimulator } from "@krakked/sim";

Deno.test("runSimulator() starts from typed options and runs until stopped", async (t) => {
  await t.step("run and stop", async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    let announce: () => void = () => {};
    const ready = new Promise<void>((resolve) => (announce = resolve));
    const done = runSimulator(
      { port: 0, seed: 5, historyDays: 3 },
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
