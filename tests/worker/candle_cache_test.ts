import assert from "node:assert/strict";
import { IDBFactory } from "fake-indexeddb";
import type { Candle } from "../../core/market/ohlc.ts";
import {
  CANDLE_SCHEMA_VERSION,
  CandleCache,
  CHUNK_CANDLES,
  type StorageFailure,
  writeLegacySchema1,
} from "../../worker/candle_cache.ts";
import {
  createStoreWith,
  idbKeyValueStore,
  type KeyValueStore,
  memoryKeyValueStore,
} from "../../worker/kv_store.ts";

function candle(openTimeSec: number, close = "100.0"): Candle {
  return {
    openTimeSec,
    open: "100.0",
    high: "101.0",
    low: "99.0",
    close,
    vwap: "100.0",
    volume: "1.00000000",
    count: 3,
  };
}

function minutes(fromSec: number, n: number): Candle[] {
  return Array.from({ length: n }, (_, i) => candle(fromSec + i * 60));
}

/** An IndexedDB store on a private fake factory (no globals touched). */
function fakeIdb(): { kv: KeyValueStore; close(): Promise<void> } {
  const useStore = createStoreWith(new IDBFactory(), "krakked-candles", "kv");
  return { kv: idbKeyValueStore(useStore), close: () => useStore.close() };
}

/** Records every write so tests can see their size. */
function recording(inner: KeyValueStore) {
  const writes: string[][] = [];
  const store: KeyValueStore = {
    ...inner,
    getMany: (keys) => inner.getMany(keys),
    keys: () => inner.keys(),
    clear: () => inner.clear(),
    delMany: (keys) => inner.delMany(keys),
    setMany(entries) {
      writes.push(entries.map(([key]) => key));
      return inner.setMany(entries);
    },
  };
  return { store, writes };
}

function quotaError(): DOMException {
  return new DOMException("The quota has been exceeded", "QuotaExceededError");
}

Deno.test("CandleCache stores candles in aligned chunks of at most 500 in IndexedDB", async () => {
  const idb = fakeIdb();
  try {
    const cache = await CandleCache.open(idb.kv);
    assert.equal(cache.storage.kind, "indexeddb");
    const span = CHUNK_CANDLES * 60;
    const start = span * 1000 - 100 * 60; // 100 candles before a chunk edge
    const result = await cache.upsert("XBTUSD", "1m", minutes(start, 700));
    assert.deepEqual(result, { added: 700, changed: 0 });
    const keys = (await idb.kv.keys()).sort();
    assert.deepEqual(keys, [
      `c|1m|XBTUSD|${span * 999}`,
      `c|1m|XBTUSD|${span * 1000}`,
      `c|1m|XBTUSD|${span * 1001}`,
      "i|1m|XBTUSD",
      "schema",
    ]);
    const chunks = await idb.kv.getMany<{ rows: unknown[] }>([
      `c|1m|XBTUSD|${span * 999}`,
      `c|1m|XBTUSD|${span * 1000}`,
      `c|1m|XBTUSD|${span * 1001}`,
    ]);
    assert.deepEqual(chunks.map((c) => c?.rows.length), [100, 500, 100]);
    const back = await cache.last("XBTUSD", "1m", 1000);
    assert.equal(back.length, 700);
    assert.equal(back[0]?.openTimeSec, start);
    assert.equal(back.at(-1)?.openTimeSec, start + 699 * 60);
  } finally {
    await idb.close();
  }
});

Deno.test("CandleCache reads survive a reopen of the same database", async () => {
  const factory = new IDBFactory();
  const first = createStoreWith(factory, "krakked-candles", "kv");
  const second = createStoreWith(factory, "krakked-candles", "kv");
  try {
    const cache = await CandleCache.open(idbKeyValueStore(first));
    await cache.upsert("ETHUSD", "5m", [candle(300), candle(600)]);
    await first.close();
    const again = await CandleCache.open(idbKeyValueStore(second));
    assert.equal(again.schemaOutcome, "current");
    assert.deepEqual(
      (await again.last("ETHUSD", "5m", 10)).map((c) => c.openTimeSec),
      [300, 600],
    );
    assert.equal(await again.latestOpenTime("ETHUSD", "5m"), 600);
  } finally {
    await first.close();
    await second.close();
  }
});

Deno.test("CandleCache writes only the chunk an appended candle lands in", async () => {
  const { store, writes } = recording(memoryKeyValueStore());
  const cache = await CandleCache.open(store);
  const span = CHUNK_CANDLES * 60;
  await cache.upsert("XBTUSD", "1m", minutes(span * 10, 1200));
  writes.length = 0;
  await cache.upsert("XBTUSD", "1m", [candle(span * 10 + 1200 * 60)]);
  assert.deepEqual(writes, [[`c|1m|XBTUSD|${span * 12}`, "i|1m|XBTUSD"]]);
});

Deno.test("CandleCache merges idempotently and counts only real changes", async (t) => {
  const { store, writes } = recording(memoryKeyValueStore());
  const cache = await CandleCache.open(store);
  const base = minutes(6000, 10);
  await cache.upsert("XBTUSD", "1m", base);

  await t.step("the same candles again change and write nothing", async () => {
    writes.length = 0;
    assert.deepEqual(await cache.upsert("XBTUSD", "1m", base), {
      added: 0,
      changed: 0,
    });
    assert.deepEqual(writes, []);
  });

  await t.step(
    "overlapping input adds the new and replaces the changed",
    async () => {
      const overlap = [
        candle(6000 + 9 * 60, "105.0"),
        candle(6000 + 10 * 60),
        candle(6000 + 10 * 60),
      ];
      assert.deepEqual(await cache.upsert("XBTUSD", "1m", overlap), {
        added: 1,
        changed: 1,
      });
      const all = await cache.since("XBTUSD", "1m", 0);
      assert.equal(all.length, 11);
      assert.equal(all[9]?.close, "105.0");
      assert.ok(
        all.every((c, i) => i === 0 || c.openTimeSec > all[i - 1]!.openTimeSec),
      );
    },
  );

  await t.step("series are separate per pair and timeframe", async () => {
    assert.deepEqual(await cache.last("XBTUSD", "5m", 5), []);
    assert.deepEqual(await cache.last("ETHUSD", "1m", 5), []);
    assert.equal(await cache.latestOpenTime("ETHUSD", "1m"), null);
  });
});

Deno.test("CandleCache since() and last() read across chunks", async () => {
  const cache = await CandleCache.open(memoryKeyValueStore());
  await cache.upsert("XBTUSD", "1m", minutes(0, 1600));
  const tail = await cache.since("XBTUSD", "1m", 1550 * 60);
  assert.equal(tail.length, 50);
  assert.equal(tail[0]?.openTimeSec, 1550 * 60);
  const last = await cache.last("XBTUSD", "1m", 1200);
  assert.equal(last.length, 1200);
  assert.equal(last[0]?.openTimeSec, 400 * 60);
});

Deno.test("CandleCache keeps at most maxChunksPerSeries chunks, dropping the oldest", async () => {
  const kv = memoryKeyValueStore();
  const cache = await CandleCache.open(kv, { maxChunksPerSeries: 2 });
  await cache.upsert("XBTUSD", "1m", minutes(0, 1500));
  const chunkKeys = [...kv.map.keys()].filter((k) => k.startsWith("c|")).sort();
  assert.deepEqual(chunkKeys, ["c|1m|XBTUSD|30000", "c|1m|XBTUSD|60000"]);
  assert.equal((await cache.last("XBTUSD", "1m", 5000)).length, 1000);
});

Deno.test("CandleCache falls back to memory and reports once when a write hits the quota", async () => {
  const inner = memoryKeyValueStore();
  let full = false;
  const store: KeyValueStore = {
    ...inner,
    setMany(entries) {
      if (full) return Promise.reject(quotaError());
      return inner.setMany(entries);
    },
  };
  const failures: StorageFailure[] = [];
  const cache = await CandleCache.open(store, {
    onStorageError: (f) => failures.push(f),
  });
  await cache.upsert("XBTUSD", "1m", minutes(0, 5));
  full = true;
  const result = await cache.upsert("XBTUSD", "1m", minutes(300, 3));
  assert.deepEqual(result, { added: 3, changed: 0 });
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.name, "QuotaExceededError");
  assert.equal(failures[0]?.operation, "write");
  assert.equal(cache.storage.kind, "memory");
  assert.match(cache.storage.reason ?? "", /QuotaExceededError/);
  // What storage held before the failure is still there, plus the new candles.
  const all = await cache.last("XBTUSD", "1m", 100);
  assert.deepEqual(all.map((c) => c.openTimeSec), [
    0,
    60,
    120,
    180,
    240,
    300,
    360,
    420,
  ]);
  await cache.upsert("XBTUSD", "1m", minutes(480, 1));
  assert.equal(failures.length, 1, "the failure is reported once");
});

Deno.test("CandleCache degrades to memory when storage cannot even open", async (t) => {
  await t.step("a store whose every call fails (private mode)", async () => {
    const broken: KeyValueStore = {
      getMany: () =>
        Promise.reject(new DOMException("closing", "InvalidStateError")),
      setMany: () =>
        Promise.reject(new DOMException("closing", "InvalidStateError")),
      delMany: () =>
        Promise.reject(new DOMException("closing", "InvalidStateError")),
      keys: () =>
        Promise.reject(new DOMException("closing", "InvalidStateError")),
      clear: () =>
        Promise.reject(new DOMException("closing", "InvalidStateError")),
    };
    const failures: StorageFailure[] = [];
    const cache = await CandleCache.open(broken, {
      onStorageError: (f) => failures.push(f),
    });
    assert.deepEqual(failures.map((f) => [f.name, f.operation]), [[
      "InvalidStateError",
      "open",
    ]]);
    await cache.upsert("XBTUSD", "1h", [candle(3600)]);
    assert.equal((await cache.last("XBTUSD", "1h", 10)).length, 1);
  });

  await t.step("no IndexedDB at all", async () => {
    const cache = await CandleCache.open(undefined);
    assert.deepEqual(cache.storage, {
      kind: "memory",
      reason: "IndexedDB is not available",
    });
    await cache.upsert("XBTUSD", "1h", [candle(3600)]);
    assert.equal(await cache.latestOpenTime("XBTUSD", "1h"), 3600);
  });
});

Deno.test("CandleCache migrates schema 1 arrays into chunks", async () => {
  const kv = memoryKeyValueStore();
  await writeLegacySchema1(kv, [
    { pair: "XBTUSD", timeframe: "1m", candles: minutes(0, 600) },
    { pair: "ETHUSD", timeframe: "1h", candles: [candle(3600), candle(7200)] },
    { pair: "BAD", timeframe: "2h", candles: [candle(1)] },
  ]);
  const cache = await CandleCache.open(kv);
  assert.equal(cache.schemaOutcome, "migrated");
  const keys = [...kv.map.keys()].sort();
  assert.ok(
    !keys.some((k) => k.startsWith("candles|")),
    "legacy keys are gone",
  );
  assert.deepEqual(kv.map.get("schema"), { version: CANDLE_SCHEMA_VERSION });
  assert.equal((await cache.last("XBTUSD", "1m", 1000)).length, 600);
  assert.deepEqual(
    (await cache.last("ETHUSD", "1h", 10)).map((c) => c.openTimeSec),
    [3600, 7200],
  );
});

Deno.test("CandleCache drops data of an unknown schema version", async (t) => {
  for (const meta of [{ version: 99 }, { version: "x" }, undefined]) {
    await t.step(`schema ${JSON.stringify(meta)}`, async () => {
      const kv = memoryKeyValueStore();
      if (meta !== undefined) kv.map.set("schema", meta);
      kv.map.set("c|1m|XBTUSD|0", { rows: "not rows" });
      const cache = await CandleCache.open(kv);
      assert.equal(cache.schemaOutcome, "dropped");
      assert.deepEqual([...kv.map.keys()], ["schema"]);
      assert.deepEqual(await cache.last("XBTUSD", "1m", 10), []);
    });
  }
});
