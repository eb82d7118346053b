// Tests core/account/history_cache.ts against a fake Kraken pager: 50 rows
// a page, newest first, `ofs`, total `count`.
import assert from "node:assert/strict";
import {
  hydrateHistory,
  memoryHistoryStore,
} from "../../../core/account/history_cache.ts";

function pager(rows: string[]) {
  const calls: number[] = [];
  return {
    calls,
    rows,
    fetch(ofs: number) {
      calls.push(ofs);
      // rows are oldest first; Kraken serves newest first.
      const newest = [...rows].reverse();
      const page: Record<string, string> = {};
      for (const id of newest.slice(ofs, ofs + 50)) page[id] = `row ${id}`;
      return Promise.resolve({ rows: page, count: rows.length });
    },
  };
}

Deno.test("hydrateHistory() walks every page cold, then only new rows warm", async () => {
  const ids = Array.from({ length: 120 }, (_, i) => `T${i}`);
  const source = pager(ids);
  const store = memoryHistoryStore<string>();
  const cold = await hydrateHistory((ofs) => source.fetch(ofs), store);
  assert.deepEqual(source.calls, [0, 50, 100]);
  assert.deepEqual(cold.stats, {
    mode: "cold",
    pages: 3,
    added: 120,
    total: 120,
  });

  source.calls.length = 0;
  source.rows.push("T120", "T121", "T122");
  const warm = await hydrateHistory((ofs) => source.fetch(ofs), store);
  assert.deepEqual(source.calls, [0]);
  assert.deepEqual(warm.stats, {
    mode: "warm",
    pages: 1,
    added: 3,
    total: 123,
  });
  assert.equal(Object.keys(warm.rows).length, 123);

  source.calls.length = 0;
  source.rows.push(...Array.from({ length: 60 }, (_, i) => `U${i}`));
  const more = await hydrateHistory((ofs) => source.fetch(ofs), store);
  assert.deepEqual(source.calls, [0, 50]);
  assert.equal(more.stats.added, 60);
});

Deno.test("hydrateHistory() saves nothing when a page fails", async () => {
  const store = memoryHistoryStore<string>();
  await assert.rejects(
    hydrateHistory((ofs) =>
      ofs === 0
        ? Promise.resolve({
          rows: Object.fromEntries(
            Array.from({ length: 50 }, (_, i) => [`T${i}`, "r"]),
          ),
          count: 80,
        })
        : Promise.reject(new Error("EService:Unavailable")), store),
    /Unavailable/,
  );
  assert.equal(await store.load(), undefined);
  assert.equal(store.saves, 0);
});
