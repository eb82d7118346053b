/**
 * `record validate`'s `no_duplicates` against a store tampered with after
 * a clean write: one extra copy of a silver row, of a bronze row or of a
 * raw frame (frames have no key since schema 3) must each fail the check
 * with its own count, and the untouched store must pass it.
 */
import assert from "node:assert/strict";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { validateStore } from "../../../server/record/validate.ts";
import { generateTrades, genSymbolInfos, tradeFrameText } from "./_trades.ts";

async function written(): Promise<RecordStore> {
  const store = await RecordStore.open(":memory:");
  await store.registerSymbols(genSymbolInfos());
  const trades = generateTrades(3, 50);
  const recorder = new TradeRecorder();
  for (let i = 0; i < trades.length; i += 5) {
    const at = trades[i + 4]?.tsUs ?? trades.at(-1)!.tsUs;
    await store.write(
      recorder.onFrame(tradeFrameText(trades.slice(i, i + 5)), 1, at),
      at,
      { gold: false },
    );
  }
  return store;
}

async function duplicates(store: RecordStore) {
  const results = await validateStore(store, { now: () => Date.now() });
  return results.find((r) => r.name === "no_duplicates")!;
}

Deno.test("record validate no_duplicates: a clean store passes with zero counts", async () => {
  await using store = await written();
  const d = await duplicates(store);
  assert.equal(d.ok, true, d.summary);
  assert.deepEqual(
    [
      d.counts.silverDuplicates,
      d.counts.bronzeDuplicates,
      d.counts.frameDuplicates,
    ],
    [0, 0, 0],
  );
  assert.equal(d.counts.silverRows, 200);
});

const TAMPER = {
  silverDuplicates:
    `INSERT INTO silver_trades_data SELECT * FROM silver_trades_data LIMIT 1`,
  bronzeDuplicates:
    `INSERT INTO bronze_trades_kraken SELECT * FROM bronze_trades_kraken LIMIT 1`,
  frameDuplicates:
    `INSERT INTO bronze_frames_kraken SELECT * FROM bronze_frames_kraken LIMIT 1`,
} as const;

for (const [count, sql] of Object.entries(TAMPER)) {
  Deno.test(`record validate no_duplicates: one extra copy is caught (${count})`, async () => {
    await using store = await written();
    await store.query(sql);
    const d = await duplicates(store);
    assert.equal(d.ok, false, d.summary);
    assert.equal(d.counts[count], 1, d.summary);
    // The silver view joins bronze for the original fields, so a doubled
    // bronze row shows as a doubled silver row too: users would see it.
    const seen = count === "bronzeDuplicates"
      ? ["bronzeDuplicates", "silverDuplicates"]
      : [count];
    for (const other of Object.keys(TAMPER)) {
      assert.equal(d.counts[other], seen.includes(other) ? 1 : 0, other);
    }
  });
}
