// Tests server/deno/account_store.ts: the JSON-lines history cache the
// account commands use. A save appends; a torn file is incomplete and is
// rewritten whole by the next hydration; the folder never shows the key.
import assert from "node:assert/strict";
import { join } from "node:path";
import { hydrateHistory } from "../../../core/account/history_cache.ts";
import {
  accountCacheDir,
  fileHistoryStore,
} from "../../../server/deno/account_store.ts";

function pager(ids: string[]) {
  const newest = () => [...ids].reverse();
  return (ofs: number) =>
    Promise.resolve({
      rows: Object.fromEntries(
        newest().slice(ofs, ofs + 50).map((id) => [id, { id }]),
      ),
      count: ids.length,
    });
}

Deno.test("fileHistoryStore appends new rows and survives a torn last line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_store_" });
  try {
    const path = join(dir, "account", "x", "trades.jsonl");
    const ids = Array.from({ length: 70 }, (_, i) => `T${i}`);
    const cold = await hydrateHistory(pager(ids), fileHistoryStore(path));
    assert.equal(cold.stats.mode, "cold");
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    }
    ids.push("T70");
    const warm = await hydrateHistory(pager(ids), fileHistoryStore(path));
    assert.deepEqual(warm.stats, {
      mode: "warm",
      pages: 1,
      added: 1,
      total: 71,
    });
    const lines = (await Deno.readTextFile(path)).trim().split("\n");
    assert.equal(
      lines.length,
      70 + 1 + 1 + 1,
      "rows, marker, appended row, marker",
    );

    // A crash mid-append: the last line is half a row.
    await Deno.writeTextFile(path, '{"id":"T71","ro', { append: true });
    const torn = await fileHistoryStore<unknown>(path).load();
    assert.equal(torn?.complete, false);
    assert.equal(Object.keys(torn!.rows).length, 71);
    const healed = await hydrateHistory(pager(ids), fileHistoryStore(path));
    assert.equal(healed.stats.mode, "cold");
    const again = await fileHistoryStore<unknown>(path).load();
    assert.equal(again?.complete, true);
    assert.equal(Object.keys(again!.rows).length, 71);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("accountCacheDir() names the account by a hash, never by the key", async () => {
  const a = await accountCacheDir("/cfg", "https://api.kraken.com", "KEY-123");
  const b = await accountCacheDir("/cfg", "http://127.0.0.1:9", "KEY-123");
  assert.match(a, /^\/cfg\/account\/[0-9a-f]{16}$/);
  assert.notEqual(a, b, "a simulator and Kraken never share a cache");
  assert.ok(!a.includes("KEY-123"));
});
