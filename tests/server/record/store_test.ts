import assert from "node:assert/strict";
import { join } from "node:path";
import { canonicalDecimal } from "../../../core/decimal.ts";
import { GOLD_TIMEFRAMES, goldFromTrades } from "../../../core/record/gold.ts";
import {
  type RecordBatch,
  TradeRecorder,
} from "../../../core/record/recorder.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { SCHEMA_VERSION } from "../../../server/record/schema.ts";
import {
  GEN_SYMBOLS,
  generateTrades,
  genSymbolInfos,
  tradeFrameText,
} from "./_trades.ts";

function batches(
  seed: number,
  perSymbol: number,
  frameSize = 3,
): RecordBatch[] {
  const trades = generateTrades(seed, perSymbol);
  const recorder = new TradeRecorder();
  const out: RecordBatch[] = [];
  for (let i = 0; i < trades.length; i += frameSize) {
    out.push(
      recorder.onFrame(
        tradeFrameText(trades.slice(i, i + frameSize)),
        1,
        trades[i]!.tsUs + 500,
      ),
    );
  }
  return out;
}

function merge(list: RecordBatch[]): RecordBatch {
  return {
    bronze: list.flatMap((b) => b.bronze),
    silver: list.flatMap((b) => b.silver),
    gaps: [],
    rejected: [],
  };
}

async function registerAll(store: RecordStore): Promise<void> {
  await store.registerSymbols(genSymbolInfos());
}

async function count(store: RecordStore, table: string): Promise<number> {
  const [row] = await store.query(
    `SELECT count(*)::INTEGER AS n FROM ${table}`,
  );
  return Number(row!.n);
}

Deno.test("RecordStore writes bronze, silver and closed gold once, whatever is replayed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_record_" });
  try {
    const path = join(dir, "market.duckdb");
    const all = batches(7, 300);
    const total = all.reduce((n, b) => n + b.silver.length, 0);
    const endUs = Math.max(...all.flatMap((b) => b.silver.map((s) => s.tsUs)));
    {
      await using store = await RecordStore.open(path);
      await registerAll(store);
      // Half, then everything again (a replay), then an overlapping tail.
      const half = merge(all.slice(0, all.length / 2));
      const first = await store.write(half, endUs);
      assert.equal(first.silverInserted, half.silver.length);
      const again = await store.write(merge(all), endUs);
      assert.equal(again.silverInserted, total - half.silver.length);
      assert.equal(again.bronzeInserted, total - half.bronze.length);
      const replay = await store.write(merge(all.slice(-10)), endUs);
      assert.equal(replay.silverInserted, 0);
      assert.equal(await count(store, "silver_trades"), total);
      assert.equal(await count(store, "bronze_trades_kraken"), total);
    }
    // Reopen (a restart): nothing duplicated, and the day closes.
    {
      await using store = await RecordStore.open(path);
      assert.equal(
        (await store.write(merge(all), endUs + 86_400e6)).silverInserted,
        0,
      );
      assert.equal(await count(store, "silver_trades"), total);
      const silver = merge(all).silver;
      for (const tf of GOLD_TIMEFRAMES) {
        const want = goldFromTrades(silver, {
          timeframe: tf,
          priceDecimals: (s) => store.priceDecimals(s),
        });
        const rows = await store.query(
          `SELECT symbol, epoch_us(bucket) AS b, CAST(open AS VARCHAR) o, CAST(close AS VARCHAR) c,
             CAST(volume AS VARCHAR) v, CAST(vwap AS VARCHAR) w, trade_count::INTEGER n
           FROM ohlcv_${tf} ORDER BY symbol, bucket`,
        );
        assert.equal(rows.length, want.length, tf);
        rows.forEach((r, i) => {
          const g = want[i]!;
          assert.deepEqual(
            [
              r.symbol,
              Number(r.b),
              canonicalDecimal(String(r.o)),
              canonicalDecimal(String(r.c)),
              canonicalDecimal(String(r.v)),
              canonicalDecimal(String(r.w)),
              r.n,
            ],
            [
              g.symbol,
              g.bucketStartUs,
              g.open,
              g.close,
              g.volume,
              g.vwap,
              g.count,
            ],
            `${tf} ${i}`,
          );
        });
      }
      const tracked = await store.tracked();
      assert.equal(tracked.length, GEN_SYMBOLS.length);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RecordStore rebuilds a closed bucket that a late trade lands in", async () => {
  await using store = await RecordStore.open(":memory:");
  await registerAll(store);
  const all = merge(batches(3, 60, 1));
  const late = all.silver.findIndex((s, i) => i > 10 && s.symbol === "BTC/USD");
  const without = {
    ...all,
    bronze: all.bronze.filter((_, i) => i !== late),
    silver: all.silver.filter((_, i) => i !== late),
  };
  const endUs = Math.max(...all.silver.map((s) => s.tsUs)) + 86_400e6;
  await store.write(without, endUs);
  const { bronze, silver } = {
    bronze: [all.bronze[late]!],
    silver: [all.silver[late]!],
  };
  const result = await store.write({ bronze, silver }, endUs);
  assert.equal(result.silverInserted, 1);
  assert.equal(result.goldBuilt, GOLD_TIMEFRAMES.length);
  const [row] = await store.query(
    `SELECT sum(trade_count)::INTEGER AS n FROM ohlcv_1d WHERE symbol = 'BTC/USD'`,
  );
  assert.equal(row!.n, all.silver.filter((s) => s.symbol === "BTC/USD").length);
});

Deno.test("kill -9 in the middle of writes loses nothing that was acknowledged", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_record_kill_" });
  try {
    const path = join(dir, "market.duckdb");
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-ffi",
        new URL("./_kill_writer.ts", import.meta.url).pathname,
        path,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let acked = 0;
    let sent = 0;
    const decoder = new TextDecoder();
    let text = "";
    for await (const bytes of child.stdout) {
      text += decoder.decode(bytes);
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const line of lines) {
        const [, n, m] = line.split(" ");
        acked = Number(n);
        sent = Number(m);
      }
      if (acked >= 6_000) {
        child.kill("SIGKILL");
        break;
      }
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    assert.ok(
      acked >= 6_000,
      `the writer acknowledged ${acked} rows before exiting`,
    );
    await using store = await RecordStore.open(path);
    const [row] = await store.query(
      `SELECT count(*)::INTEGER AS n FROM silver_trades`,
    );
    const stored = Number(row!.n);
    // Everything acknowledged is there; at most the batch in flight is extra.
    assert.ok(stored >= acked, `stored ${stored} < acknowledged ${acked}`);
    assert.ok(stored <= sent + 500, `stored ${stored} > written ${sent + 500}`);
    const [dupes] = await store.query(
      `SELECT count(*)::INTEGER AS n FROM (SELECT symbol, exchange_trade_id FROM silver_trades GROUP BY ALL HAVING count(*) > 1)`,
    );
    assert.equal(dupes!.n, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("silver's original fields come from bronze, equal to core's; a schema-1 file (MAP stored) is migrated once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_record_" });
  try {
    const path = join(dir, "market.duckdb");
    const batch = merge(batches(3, 120));
    const want = new Map(
      batch.silver.map((s) => [s.tradeId, JSON.stringify(sorted(s.original))]),
    );
    const originals = async (store: RecordStore) =>
      new Map(
        (await store.query(
          `SELECT trade_id, CAST(to_json(original) AS VARCHAR) AS o FROM silver_trades`,
        )).map((r) => [
          String(r.trade_id),
          JSON.stringify(sorted(JSON.parse(String(r.o)))),
        ]),
      );
    {
      await using store = await RecordStore.open(path);
      await registerAll(store);
      await store.write(batch, 0);
      assert.deepEqual(await originals(store), want);
      // Turn the file back into schema 1: silver a table with the MAP.
      await store.query(
        `CREATE TABLE v1 AS SELECT * FROM silver_trades;
         DROP VIEW silver_trades; DROP TABLE silver_trades_data;
         CREATE TABLE silver_trades AS SELECT * FROM v1; DROP TABLE v1;
         UPDATE record_meta SET value = '1' WHERE key = 'schema_version'`,
      );
    }
    await using store = await RecordStore.open(path);
    const [kind] = await store.query(
      `SELECT table_type FROM information_schema.tables WHERE table_name = 'silver_trades'`,
    );
    assert.equal(kind!.table_type, "VIEW");
    assert.equal(await count(store, "silver_trades_data"), batch.silver.length);
    assert.deepEqual(await originals(store), want);
    const [version] = await store.query(
      `SELECT value FROM record_meta WHERE key = 'schema_version'`,
    );
    assert.equal(version!.value, String(SCHEMA_VERSION));
    // Writes go on after the migration without duplicating.
    assert.equal((await store.write(batch, 0)).silverInserted, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("frames stay unique without a key, through replays, re-sent frames and the schema-2 migration", async () => {
  const dir = await Deno.makeTempDir({ prefix: "krakked_record_" });
  try {
    const path = join(dir, "market.duckdb");
    const trades = generateTrades(4, 90);
    const texts: string[] = [];
    for (let i = 0; i < trades.length; i += 5) {
      texts.push(tradeFrameText(trades.slice(i, i + 5)));
    }
    // Each frame received at `shift` µs after its first trade, by write()
    // (core) or by writeFrames (bulk).
    const viaCore = (list: string[], shift: number) => {
      const recorder = new TradeRecorder();
      return merge(
        list.map((t) =>
          recorder.onFrame(t, 1, Number(/"trade_id":(\d+)/.exec(t)![1]) + shift)
        ),
      );
    };
    const viaBulk = (list: string[], shift: number) =>
      list.map((text) => ({
        text,
        receivedUs: Number(/"trade_id":(\d+)/.exec(text)![1]) + shift,
      }));
    const frames = async (store: RecordStore) => {
      const [row] = await store.query(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT frame_id)::INTEGER AS d,
           count(DISTINCT raw)::INTEGER AS t FROM bronze_frames_kraken`,
      );
      return [row!.n, row!.d, row!.t];
    };
    const keys = async (store: RecordStore) =>
      Number(
        (await store.query(
          `SELECT count(*) AS n FROM duckdb_constraints()
           WHERE table_name = 'bronze_frames_kraken'
             AND constraint_type = 'PRIMARY KEY'`,
        ))[0]!.n,
      );
    const half = texts.length / 2;
    {
      await using store = await RecordStore.open(path);
      await registerAll(store);
      await store.write(viaCore(texts.slice(0, half), 0), 0);
      // The same frames again, received later (a re-send), through both
      // paths, and an overlap reaching into new frames.
      await store.write(viaCore(texts.slice(0, half), 7), 0);
      await store.writeFrames(viaBulk(texts.slice(0, half), 9), 0);
      await store.writeFrames(viaBulk(texts.slice(half - 3, half + 4), 11), 0);
      assert.deepEqual(await frames(store), [half + 4, half + 4, half + 4]);
      assert.equal(await keys(store), 0);
      // Back to schema 2: the frame id a PRIMARY KEY.
      await store.query(
        `CREATE TABLE f2 (frame_id UBIGINT NOT NULL PRIMARY KEY,
           received_at TIMESTAMP NOT NULL, connection_id VARCHAR NOT NULL,
           source VARCHAR NOT NULL, raw VARCHAR NOT NULL);
         INSERT INTO f2 SELECT * FROM bronze_frames_kraken;
         DROP VIEW bronze_trades_kraken_raw; DROP TABLE bronze_frames_kraken;
         ALTER TABLE f2 RENAME TO bronze_frames_kraken;
         UPDATE record_meta SET value = '2' WHERE key = 'schema_version'`,
      );
      assert.ok(await keys(store) > 0);
    }
    await using store = await RecordStore.open(path);
    assert.equal(await keys(store), 0);
    assert.deepEqual(await frames(store), [half + 4, half + 4, half + 4]);
    const [version] = await store.query(
      `SELECT value FROM record_meta WHERE key = 'schema_version'`,
    );
    assert.equal(version!.value, String(SCHEMA_VERSION));
    // Everything again after the migration, both paths: the rest is added
    // once, nothing twice, and every bronze row finds exactly one frame.
    await store.writeFrames(viaBulk(texts, 13), 0);
    await store.write(viaCore(texts, 17), 0);
    assert.deepEqual(await frames(store), [
      texts.length,
      texts.length,
      texts.length,
    ]);
    assert.equal(await count(store, "bronze_trades_kraken"), trades.length);
    assert.equal(await count(store, "bronze_trades_kraken_raw"), trades.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => a < b ? -1 : 1);
}

Deno.test("gold built on its own connection beside deferred-gold writes ends equal to silver", async () => {
  await using store = await RecordStore.open(":memory:");
  await registerAll(store);
  const list = batches(4, 40, 2);
  const endUs = Math.max(...list.flatMap((b) => b.silver.map((s) => s.tsUs))) +
    86_400e6;
  // As the live recorder does: a gold build runs while trades commit,
  // so builds read silver snapshots that miss rows committed meanwhile.
  let building: Promise<unknown> | undefined;
  let builds = 0;
  for (const b of list) {
    if (building === undefined) {
      builds++;
      building = store.flushGold(endUs).finally(() => building = undefined);
    }
    await store.write(b, endUs, { gold: false });
  }
  await building;
  await store.flushGold(endUs);
  assert.ok(builds > 1);
  assert.equal(store.dirtyBuckets, 0);
  const silverRows = await count(store, "silver_trades_data");
  assert.equal(silverRows, list.reduce((n, b) => n + b.silver.length, 0));
  for (const tf of GOLD_TIMEFRAMES) {
    const [row] = await store.query(
      `SELECT coalesce(sum(trade_count), 0)::INTEGER AS n FROM ohlcv_${tf}`,
    );
    assert.equal(row!.n, silverRows, tf);
  }
  const [wrong] = await store.query(
    `WITH s AS (
       SELECT symbol, (epoch_us(ts) // 60000000) * 60000000 AS b,
         count(*) AS n, max(exchange_trade_id) AS last_id,
         CAST(sum(qty) AS VARCHAR) AS volume
       FROM silver_trades_data GROUP BY ALL)
     SELECT count(*)::INTEGER AS n FROM s FULL JOIN ohlcv_1m g
       ON g.symbol = s.symbol AND epoch_us(g.bucket) = s.b
     WHERE g.trade_count IS DISTINCT FROM s.n
       OR g.last_trade_id IS DISTINCT FROM s.last_id
       OR CAST(g.volume AS VARCHAR) IS DISTINCT FROM s.volume`,
  );
  assert.equal(wrong!.n, 0);
});
