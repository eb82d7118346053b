/**
 * The server's rotating log file: bounded by size (PATH and PATH.1 only),
 * nothing lost at the rotation, and `krakked logs` reads across both.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RotatingLogFile } from "../../../server/trading/ops_log_file.ts";
import { orderTrail, parseLogLines } from "../../../server/cli/logs_cmd.ts";

Deno.test("the log file rotates at maxBytes and keeps one older file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/serve.log`;
    const file = new RotatingLogFile(path, { maxBytes: 2048 });
    const total = 200;
    for (let i = 0; i < total; i++) {
      file.push(JSON.stringify({ msg: "order state", order: "userref:1", i }));
      // Let batches go out separately, so rotations happen between them.
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 0));
    }
    await file.close();
    const newer = await Deno.readTextFile(path);
    const older = await Deno.readTextFile(`${path}.1`);
    assert.ok(
      new TextEncoder().encode(newer).length <= 2048,
      "the current file stays under maxBytes",
    );
    assert.ok(new TextEncoder().encode(older).length <= 2048);
    // The two files hold the newest lines, in order, with no gap.
    const seen = parseLogLines(`${older}\n${newer}`).map((l) => l.i as number);
    assert.ok(seen.length > 0);
    assert.equal(seen.at(-1), total - 1);
    for (let k = 1; k < seen.length; k++) {
      assert.equal(seen[k], seen[k - 1]! + 1);
    }
    assert.ok(
      orderTrail(parseLogLines(`${older}\n${newer}`), "userref:1").entries
        .length === seen.length,
    );
    const info = await Deno.stat(path);
    if (Deno.build.os !== "windows") assert.equal(info.mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a log file size below 1 KiB is refused", () => {
  assert.throws(
    () => new RotatingLogFile("/nonexistent/x.log", { maxBytes: 10 }),
    RangeError,
  );
});
