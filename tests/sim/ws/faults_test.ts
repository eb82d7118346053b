import assert from "node:assert/strict";
import {
  handleWsControlRequest,
  MALFORMED_FRAMES,
  parseWsFaultCommand,
  type WsFaultHost,
  WsFaults,
} from "../../../server/sim/ws/faults.ts";

function fakeHost() {
  const log: string[] = [];
  const host: WsFaultHost = {
    dropConnections: (scope, code) => (log.push(`drop ${scope} ${code}`), 2),
    sendRaw: (scope, text) => (log.push(`raw ${scope} ${text.length}`), 1),
    pushStatus: () => log.push("status"),
  };
  return { host, log };
}

Deno.test("WsFaults keeps one-shot faults until they are used", async (t) => {
  const { host, log } = fakeHost();
  const faults = new WsFaults(host);

  await t.step("silence matches channel and symbol and runs out", () => {
    faults.silence({ channel: "book", symbol: "BTC/USD", count: 2 });
    assert.equal(faults.takeSilence("ticker", "BTC/USD"), false);
    assert.equal(faults.takeSilence("book", "BTC/USD"), true);
    assert.equal(faults.takeSilence("book", "BTC/USD"), true);
    assert.equal(faults.takeSilence("book", "BTC/USD"), false);
    assert.equal(faults.stats.silenced, 2);
  });

  await t.step("a corrupted checksum is counted once when used", () => {
    faults.corruptChecksum("btc/usd");
    assert.equal(faults.wantsCorrupt("BTC/USD"), true);
    faults.corrupted("BTC/USD");
    faults.corrupted("BTC/USD");
    assert.equal(faults.wantsCorrupt("BTC/USD"), false);
    assert.equal(faults.stats.corruptChecksums, 1);
  });

  await t.step("status changes push once; unknown values throw", () => {
    faults.setSystemStatus("maintenance");
    faults.setSystemStatus("maintenance");
    assert.deepEqual(log.filter((l) => l === "status"), ["status"]);
    assert.throws(
      () => faults.setSystemStatus("broken" as "online"),
      RangeError,
    );
    faults.clear();
    assert.equal(faults.systemStatus, "online");
  });

  await t.step("stall is scoped and resumable", () => {
    faults.stall({ scope: "private" });
    assert.equal(faults.isStalled("private"), true);
    assert.equal(faults.isStalled("public"), false);
    faults.resume();
    assert.equal(faults.isStalled("private"), false);
  });

  await t.step("malformed frames cycle through the list", () => {
    assert.equal(
      faults.sendMalformed(MALFORMED_FRAMES.length + 1),
      MALFORMED_FRAMES.length + 1,
    );
    assert.equal(
      log.filter((l) => l.startsWith("raw")).length,
      MALFORMED_FRAMES.length + 1,
    );
  });
});

Deno.test("parseWsFaultCommand() validates untrusted commands", () => {
  assert.deepEqual(
    parseWsFaultCommand({ action: "drop", scope: "public", code: 4000 }),
    {
      ok: true,
      command: { action: "drop", scope: "public", code: 4000 },
    },
  );
  assert.equal(
    parseWsFaultCommand({ action: "drop", scope: "everyone" }).ok,
    false,
  );
  assert.equal(
    parseWsFaultCommand({ action: "malformed", count: -1 }).ok,
    false,
  );
  assert.equal(
    parseWsFaultCommand({ action: "systemStatus", status: "offline" }).ok,
    false,
  );
  assert.equal(parseWsFaultCommand([]).ok, false);
});

Deno.test("handleWsControlRequest() serves GET and POST /_sim/ws/faults", async () => {
  const { host, log } = fakeHost();
  const faults = new WsFaults(host);
  const post = (body: unknown) =>
    handleWsControlRequest(
      faults,
      new Request("http://127.0.0.1/_sim/ws/faults", {
        method: "POST",
        body: JSON.stringify(body),
      }),
    );
  assert.equal(
    await handleWsControlRequest(
      faults,
      new Request("http://127.0.0.1/_sim/faults"),
    ),
    undefined,
  );
  assert.deepEqual(await (await post({ action: "drop" }))!.json(), {
    dropped: 2,
  });
  assert.deepEqual(log, ["drop all 1011"]);
  assert.equal((await post({ action: "nope" }))!.status, 400);
  await post({ action: "systemStatus", status: "cancel_only" });
  const state = await (await handleWsControlRequest(
    faults,
    new Request("http://127.0.0.1/_sim/ws/faults"),
  ))!.json();
  assert.equal(state.systemStatus, "cancel_only");
  assert.equal(state.stats.dropped, 2);
});
