import assert from "node:assert/strict";
import { join } from "node:path";
import { GOLD_TIMEFRAMES } from "../../../core/record/gold.ts";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import { exportStore } from "../../../server/record/export.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { generateTrades, genSymbolInfos, tradeFrameText } from "./_trades.ts";
import { writeBooks } from "./_import.ts";

/** A store of trades across a UTC midnight, plus a second exchange's copy of some silver and gold rows. */
async function filledStore(path: string): Promise<RecordStore> {
  const store = await RecordStore.open(path);
  await store.registerSymbols(genSymbolInfos());
  const trades = generateTrades(5, 400, Date.UTC(2026, 0, 1, 23, 57) * 1000);
  const recorder = new TradeRecorder();
  const batch = { bronze: [], silver: [], gaps: [], rejected: [] } as {
    bronze: ReturnType<TradeRecorder["onFrame"]>["bronze"];
    silver: ReturnType<TradeRecorder["onFrame"]>["silver"];
  };
  for (let i = 0; i < trades.length; i += 5) {
    const b = recorder.onFrame(
      tradeFrameText(trades.slice(i, i + 5)),
      1,
      trades[i]!.tsUs + 700,
    );
    batch.bronze.push(...b.bronze);
    batch.silver.push(...b.silver);
  }
  const endUs = trades.at(-1)!.tsUs + 86_400_000_000 * 2;
  await store.write(batch, endUs);
  // Another exchange, so the exchange partition has two values.
  await store.query(
    `INSERT INTO silver_trades_data SELECT 'testex', symbol,
       replace(trade_id, 'kraken:', 'testex:'), exchange_trade_id, side, price,
       qty, ts, received_at, silver_at, source, exchange_symbol
     FROM silver_trades_data WHERE exchange_trade_id % 3 = 0`,
  );
  await store.query(
    `INSERT INTO ohlcv_1m SELECT 'testex', * EXCLUDE (exchange) FROM ohlcv_1m`,
  );
  // Book frames on both sides of the midnight, and a snapshot.
  const { rows, written } = await writeBooks(
    store,
    Date.UTC(2026, 0, 2) * 1000,
  );
  assert.deepEqual(written, { rows: 2, snapshots: 1 });
  // Written again (a retried flush): nothing new.
  assert.deepEqual(
    (await store.writeBook(rows, [])).rows,
    0,
  );
  return store;
}

function glob(dir: string, ext: string): string {
  return `'${dir.replaceAll("'", "''")}/**/*.${ext}'`;
}

Deno.test("record export --format parquet: every table partitioned by exchange and date reads back row for row", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_export_" });
  try {
    await using store = await filledStore(join(dir, "market.duckdb"));
    const out = join(dir, "out");
    // Twice: a second export replaces the first, never adds to it.
    await exportStore(store, { format: "parquet", out });
    const tables = await exportStore(store, { format: "parquet", out });
    assert.deepEqual(
      tables.map((t) => t.table).sort(),
      [
        "book_snapshots",
        "bronze_book_kraken",
        "bronze_frames_kraken",
        "bronze_trades_kraken",
        "record_symbols",
        "silver_trades",
        ...GOLD_TIMEFRAMES.map((tf) => `ohlcv_${tf}`),
      ].sort(),
    );
    for (const t of tables) {
      const [stored] = await store.query(
        `SELECT count(*)::BIGINT AS n FROM ${t.table}`,
      );
      assert.ok(Number(stored!.n) > 0, `${t.table} is empty`);
      assert.equal(t.rows, Number(stored!.n), t.table);
      assert.ok(t.files > 0);
      const files = glob(t.dir, "parquet");
      const [back] = await store.query(
        `SELECT count(*)::BIGINT AS n, count(DISTINCT exchange)::BIGINT AS ex
         FROM read_parquet(${files}, hive_partitioning = true)`,
      );
      assert.equal(Number(back!.n), t.rows, `${t.table} rows read back`);
      // Row for row: the table's columns, both ways, as a multiset.
      const columns = (await store.query(`DESCRIBE ${t.table}`))
        .map((c) => `"${String(c.column_name)}"`).join(", ");
      for (
        const [a, b] of [
          [`read_parquet(${files}, hive_partitioning = true)`, t.table],
          [t.table, `read_parquet(${files}, hive_partitioning = true)`],
        ]
      ) {
        const [diff] = await store.query(
          `SELECT count(*)::BIGINT AS n FROM (
             SELECT ${columns} FROM ${a} EXCEPT ALL SELECT ${columns} FROM ${b})`,
        );
        assert.equal(Number(diff!.n), 0, `${t.table}: ${a} not in ${b}`);
      }
    }
    // Partitions hold what their names say, and both exchanges and the
    // two trade dates made their own directories.
    const silver = glob(join(out, "silver_trades"), "parquet");
    const [check] = await store.query(
      `SELECT count(*) FILTER (WHERE "date" <> CAST(ts AS DATE))::BIGINT AS wrong,
         count(DISTINCT exchange)::BIGINT AS exchanges,
         count(DISTINCT "date")::BIGINT AS dates,
         count(DISTINCT filename)::BIGINT AS files
       FROM read_parquet(${silver}, hive_partitioning = true, filename = true)`,
    );
    assert.equal(Number(check!.wrong), 0);
    assert.equal(Number(check!.exchanges), 2);
    assert.equal(Number(check!.dates), 2);
    assert.equal(Number(check!.files), 4);
    const [sums] = await store.query(
      `SELECT
         (SELECT CAST(sum(price) AS VARCHAR) || ' ' || CAST(sum(qty) AS VARCHAR)
          FROM silver_trades) AS a,
         (SELECT CAST(sum(price) AS VARCHAR) || ' ' || CAST(sum(qty) AS VARCHAR)
          FROM read_parquet(${silver}, hive_partitioning = true)) AS b`,
    );
    assert.equal(sums!.b, sums!.a);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record export --format csv: the same rows and sums as text; bad formats are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_export_" });
  try {
    await using store = await filledStore(join(dir, "market.duckdb"));
    const out = join(dir, "csv");
    const tables = await exportStore(store, {
      format: "csv",
      out,
      layers: ["silver", "gold"],
    });
    assert.deepEqual(
      new Set(tables.map((t) => t.layer)),
      new Set(["silver", "gold", "meta"]),
    );
    for (const t of tables.filter((t) => t.layer !== "meta")) {
      const sum = t.layer === "silver" ? "qty" : "volume";
      const [a] = await store.query(
        `SELECT count(*)::BIGINT AS n, CAST(sum(${sum}) AS VARCHAR) AS s FROM ${t.table}`,
      );
      const [b] = await store.query(
        `SELECT count(*)::BIGINT AS n,
           CAST(sum(CAST(${sum} AS DECIMAL(38,18))) AS VARCHAR) AS s
         FROM read_csv(${
          glob(t.dir, "csv")
        }, hive_partitioning = true, header = true,
           types = {'${sum}': 'VARCHAR'})`,
      );
      assert.equal(Number(b!.n), Number(a!.n), t.table);
      assert.equal(b!.s, a!.s, t.table);
    }
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => exportStore(store, { format: "xlsx" as any, out }),
      TypeError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
