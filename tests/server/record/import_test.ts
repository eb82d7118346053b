import assert from "node:assert/strict";
import { join } from "node:path";
import { exportStore } from "../../../server/record/export.ts";
import { ImportError, importExport } from "../../../server/record/import.ts";
import { validateStore } from "../../../server/record/validate.ts";
import type { RecordStore } from "../../../server/record/store.ts";
import { prng } from "../../fakes/prng.ts";
import { generateTrades, genSymbolInfos } from "./_trades.ts";
import {
  dump,
  framesOf,
  LATER_US,
  openStore,
  rejectedFrame,
  type TestFrame,
  writeAll,
  writeBooks,
} from "./_import.ts";
import { RecordStore as Store } from "../../../server/record/store.ts";

/** Trades over a UTC midnight (two date partitions), as frames. */
function market(seed: number, perSymbol = 150): TestFrame[] {
  return framesOf(
    generateTrades(seed, perSymbol, Date.UTC(2026, 0, 1, 23, 58) * 1000),
  );
}

const MIDNIGHT_US = Date.UTC(2026, 0, 2) * 1000;

/** A store with `frames` (bulk path), some REST rows, a rejected row and books. */
async function filled(
  path: string,
  frames: readonly TestFrame[],
  rest: readonly TestFrame[] = [],
  books = true,
): Promise<RecordStore> {
  const store = await openStore(path);
  await writeAll(store, frames, { rest });
  if (books) await writeBooks(store, MIDNIGHT_US);
  return store;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "krakked_import_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function counts(result: Awaited<ReturnType<typeof importExport>>) {
  return Object.fromEntries(result.tables.map((t) => [t.table, t]));
}

/** A fresh store for imports: symbols unknown, resolved by the import. */
async function freshStore(path: string): Promise<RecordStore> {
  return await Store.open(path);
}

const resolveSymbols = (symbols: string[]) =>
  Promise.resolve(genSymbolInfos().filter((s) => symbols.includes(s.symbol)));

for (const format of ["parquet", "csv"] as const) {
  Deno.test(`record import (${format}): a fresh store gets every bronze, silver, book row back and the same gold; a second import changes nothing`, async () => {
    await withDir(async (dir) => {
      const frames = market(11);
      // A REST-backfilled copy of nothing new plus REST-only trades, and a
      // row silver rejects: bronze keeps both sources and the rejected row.
      const restOnly = framesOf(
        generateTrades(12, 3, Date.UTC(2026, 0, 1, 23, 58) * 1000).map((t) => ({
          ...t,
          id: t.id + 5_000_000,
        })),
        1,
      );
      const rejected = rejectedFrame("ETH/USD", 99, MIDNIGHT_US - 5_000_000);
      await using original = await filled(
        join(dir, "a.duckdb"),
        [...frames, rejected],
        restOnly,
      );
      const before = await dump(original);
      for (const [table, rows] of Object.entries(before)) {
        assert.ok(rows.length > 0, `${table} is empty`);
      }
      assert.ok(
        before.bronze_trades_kraken!.some((r) => r.includes("rest_backfill")),
      );
      assert.ok(
        before.bronze_trades_kraken!.length > before.silver_trades_data!.length,
      );
      assert.ok(before.bronze_book_kraken!.length === 2);
      const out = join(dir, "out");
      await exportStore(original, { format, out });
      await using copy = await freshStore(join(dir, "b.duckdb"));
      const progress: number[] = [];
      const result = await importExport(copy, out, {
        nowUs: LATER_US,
        batchRows: 500,
        // The export lists its pairs' precisions: nothing to look up.
        resolveSymbols: (symbols) =>
          Promise.reject(new Error(`asked for ${symbols.join(", ")}`)),
        onProgress: (p) => progress.push(p.done / p.total),
      });
      assert.equal(result.format, format);
      assert.deepEqual(result.unregistered, []);
      const bySymbol = (list: { symbol: string }[]) =>
        [...list].sort((a, b) => a.symbol.localeCompare(b.symbol));
      assert.deepEqual(bySymbol(copy.symbols), bySymbol(original.symbols));
      assert.ok(result.batches > 2, `${result.batches} batches`);
      assert.equal(progress.at(-1), 1);
      const c = counts(result);
      assert.equal(c.silver_trades!.read, before.silver_trades_data!.length);
      assert.equal(c.silver_trades!.added, before.silver_trades_data!.length);
      assert.equal(
        c.bronze_trades_kraken!.added,
        before.bronze_trades_kraken!.length,
      );
      assert.equal(
        c.bronze_frames_kraken!.added,
        before.bronze_frames_kraken!.length,
      );
      assert.equal(c.bronze_book_kraken!.added, 2);
      assert.equal(c.book_snapshots!.added, 1);
      const after = await dump(copy);
      for (const table of Object.keys(before)) {
        assert.deepEqual(after[table], before[table], table);
      }
      // The silver view (original fields from bronze) too.
      const view = async (s: RecordStore) =>
        (await s.query(`SELECT * FROM silver_trades ORDER BY trade_id`)).map((
          r,
        ) =>
          JSON.stringify(r, (_, v) => typeof v === "bigint" ? String(v) : v)
        );
      assert.deepEqual(await view(copy), await view(original));
      // Again: every row present, nothing changes, no gold rebuilt.
      const again = await importExport(copy, out, {
        nowUs: LATER_US,
        batchRows: 500,
        resolveSymbols,
      });
      for (const t of again.tables) {
        assert.equal(t.added, 0, t.table);
        assert.equal(t.present, t.read, t.table);
      }
      assert.equal(again.goldBuilt, 0);
      assert.deepEqual(await dump(copy), before);
      // Into the store it came from: every row is there already.
      const self = await importExport(original, out, {
        nowUs: LATER_US,
        batchRows: 500,
      });
      for (const t of self.tables) assert.equal(t.added, 0, t.table);
      assert.deepEqual(await dump(original), before);
      // The bulk path still dedupes against what the import added (the
      // store's watermark knows the imported ids).
      const replay = await copy.writeFrames(frames, LATER_US);
      assert.equal(replay.silverInserted, 0);
      assert.deepEqual(await dump(copy), before);
    });
  });
}

Deno.test("record import: an export without its pairs' list asks the caller; an unreadable list fails before anything is written", async () => {
  await withDir(async (dir) => {
    await using original = await filled(join(dir, "a.duckdb"), market(21, 40));
    const out = join(dir, "out");
    const tables = await exportStore(original, { format: "parquet", out });
    const listed = tables.find((t) => t.table === "record_symbols")!;
    assert.equal(listed.layer, "meta");
    assert.equal(listed.rows, original.symbols.length);
    // As an export written before the list existed.
    await Deno.remove(join(out, "record_symbols"), { recursive: true });
    await using copy = await freshStore(join(dir, "b.duckdb"));
    const asked: string[] = [];
    const result = await importExport(copy, out, {
      nowUs: LATER_US,
      resolveSymbols: (symbols) => {
        asked.push(...symbols);
        return resolveSymbols(symbols);
      },
    });
    assert.deepEqual(result.unregistered, []);
    const traded = await original.query(
      "SELECT DISTINCT symbol FROM silver_trades_data ORDER BY symbol",
    );
    assert.deepEqual([...asked].sort(), traded.map((r) => String(r.symbol)));
    // A list that is not Parquet: a typed error, and the store as it was.
    await using third = await freshStore(join(dir, "c.duckdb"));
    const before = await dump(third);
    await Deno.mkdir(join(out, "record_symbols", "exchange=kraken"), {
      recursive: true,
    });
    await Deno.writeTextFile(
      join(out, "record_symbols", "exchange=kraken", "data_0.parquet"),
      "not parquet",
    );
    const error = await importExport(third, out, {
      nowUs: LATER_US,
      resolveSymbols,
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof ImportError, String(error));
    assert.equal(error.kind, "unreadable");
    assert.deepEqual(await dump(third), before);
  });
});

Deno.test("record import: a bucket still open at the import's time is not owed gold when validated later", async () => {
  await withDir(async (dir) => {
    const frames = market(31, 60);
    await using original = await filled(
      join(dir, "a.duckdb"),
      frames,
      [],
      false,
    );
    const out = join(dir, "out");
    await exportStore(original, { format: "parquet", out });
    // The import runs while the last traded minute is still open; validate
    // runs long after it closed (the CLI test's fast clock did this).
    const lastUs = Math.max(
      ...(await original.query(
        "SELECT epoch_us(max(ts)) AS us FROM silver_trades_data",
      )).map((r) => Number(r.us)),
    );
    await using copy = await freshStore(join(dir, "b.duckdb"));
    await importExport(copy, out, { nowUs: lastUs + 1, resolveSymbols });
    const checks = await validateStore(copy, { now: () => LATER_US / 1000 });
    const gold = checks.find((x) => x.name === "gold_recomputed")!;
    assert.ok(gold.ok, `${gold.summary} ${gold.examples.join("; ")}`);
    assert.equal(await copy.recordedUntil(), lastUs + 1);
  });
});

Deno.test("record import: two stores holding random overlapping parts of one market merge into exactly the whole", async () => {
  await withDir(async (dir) => {
    const frames = market(21, 120);
    await using whole = await filled(
      join(dir, "whole.duckdb"),
      frames,
      [],
      false,
    );
    const expected = await dump(whole, { excludeSilverAt: true });
    for (const seed of [1, 2, 3]) {
      const random = prng(seed);
      const a: TestFrame[] = [];
      const b: TestFrame[] = [];
      for (const f of frames) {
        const r = random();
        if (r < 0.4) a.push(f);
        else if (r < 0.8) b.push(f);
        else {
          a.push(f);
          b.push(f);
        }
      }
      await using x = await filled(join(dir, `x${seed}.duckdb`), a, [], false);
      await using y = await filled(join(dir, `y${seed}.duckdb`), b, [], false);
      const out = join(dir, `y${seed}`);
      await exportStore(y, { format: "parquet", out });
      const result = await importExport(x, out, {
        nowUs: LATER_US,
        batchRows: 300 + seed * 97,
      });
      const c = counts(result);
      const [yRows] = await y.query(
        `SELECT count(*)::BIGINT AS n FROM silver_trades_data`,
      );
      assert.equal(c.silver_trades!.read, Number(yRows!.n));
      assert.ok(c.silver_trades!.present > 0, "the overlap was seen");
      assert.ok(c.silver_trades!.added > 0);
      const merged = await dump(x, { excludeSilverAt: true });
      for (const table of Object.keys(expected)) {
        assert.deepEqual(
          merged[table],
          expected[table],
          `${table}, seed ${seed}`,
        );
      }
    }
  });
});

Deno.test("record import: a later recording folded into a stopped store: validate's gold check passes, the store is complete up to the import", async () => {
  await withDir(async (dir) => {
    const frames = market(61);
    const half = Math.floor(frames.length / 2);
    await using stopped = await filled(
      join(dir, "x.duckdb"),
      frames.slice(0, half),
      [],
      false,
    );
    // A clean stop just after its last trade.
    await stopped.setRecordedUntil(frames[half - 1]!.receivedUs + 1);
    await using later = await filled(join(dir, "y.duckdb"), frames, [], false);
    const out = join(dir, "y");
    await exportStore(later, { format: "parquet", out });
    await importExport(stopped, out, { nowUs: LATER_US, batchRows: 400 });
    const checks = await validateStore(stopped, { now: () => LATER_US / 1000 });
    for (
      const name of [
        "gold_recomputed",
        "no_duplicates",
        "no_gaps",
        "silver_normalized",
        "bronze_native",
      ]
    ) {
      const c = checks.find((x) => x.name === name)!;
      assert.ok(c.ok, `${name}: ${c.summary} ${c.examples.join("; ")}`);
    }
    assert.deepEqual(
      await dump(stopped, { excludeSilverAt: true }),
      await dump(later, { excludeSilverAt: true }),
    );
    assert.equal(await stopped.recordedUntil(), LATER_US);
  });
});

Deno.test("record import: a missing directory, a tree that is no export and a truncated file are typed errors, and the store is unchanged", async () => {
  await withDir(async (dir) => {
    await using original = await filled(join(dir, "a.duckdb"), market(31));
    const out = join(dir, "out");
    await exportStore(original, { format: "parquet", out });
    // The target already holds part of the data: nothing of it may change.
    await using target = await filled(
      join(dir, "b.duckdb"),
      market(31).slice(0, 40),
      [],
      false,
    );
    const before = await dump(target);
    const fails = async (path: string, kind: ImportError["kind"]) => {
      const error = await importExport(target, path, {
        nowUs: LATER_US,
        batchRows: 200,
      }).then(() => undefined, (e) => e);
      assert.ok(error instanceof ImportError, String(error));
      assert.equal(error.kind, kind, error.message);
      assert.deepEqual(await dump(target), before);
      return error;
    };
    await fails(join(dir, "nope"), "not_found");
    await Deno.writeTextFile(join(dir, "file.txt"), "x");
    await fails(join(dir, "file.txt"), "not_found");
    await Deno.mkdir(join(dir, "empty"));
    await fails(join(dir, "empty"), "not_export");
    await Deno.mkdir(join(dir, "odd", "silver_trades", "2026"), {
      recursive: true,
    });
    await fails(join(dir, "odd"), "not_export");
    // Silver alone cannot be imported (its bronze rows and frames are needed).
    const silverOnly = join(dir, "silver_only");
    await exportStore(original, {
      format: "parquet",
      out: silverOnly,
      layers: ["silver"],
    });
    await fails(silverOnly, "not_export");
    // The last date's bronze file truncated: earlier batches ran, and roll back.
    const dates = [
      ...Deno.readDirSync(join(out, "bronze_trades_kraken", "exchange=kraken")),
    ]
      .map((e) => e.name).sort();
    assert.equal(dates.length, 2);
    const last = join(
      out,
      "bronze_trades_kraken",
      "exchange=kraken",
      dates[1]!,
    );
    const file = join(last, [...Deno.readDirSync(last)][0]!.name);
    const bytes = await Deno.readFile(file);
    await Deno.writeFile(file, bytes.slice(0, Math.floor(bytes.length / 2)));
    const error = await fails(out, "unreadable");
    assert.equal(error.path, file);
    // Garbage in place of Parquet is refused the same way.
    await Deno.writeTextFile(file, "not parquet at all");
    await fails(out, "unreadable");
  });
});

Deno.test("record import: rows the store refuses (a price not above zero, a silver row without bronze) fail the whole import", async () => {
  await withDir(async (dir) => {
    await using original = await filled(join(dir, "a.duckdb"), market(41));
    const out = join(dir, "out");
    await exportStore(original, { format: "csv", out });
    await using target = await freshStore(join(dir, "b.duckdb"));
    const before = await dump(target);
    const silverDir = join(out, "silver_trades", "exchange=kraken");
    const dates = [...Deno.readDirSync(silverDir)].map((e) => e.name).sort();
    const dateDir = join(silverDir, dates[1]!);
    const file = join(dateDir, [...Deno.readDirSync(dateDir)][0]!.name);
    const text = await Deno.readTextFile(file);
    const lines = text.split("\n");
    // Line 2 is the first row: its price (5th column) made negative.
    const cells = lines[1]!.split(",");
    cells[4] = "-" + cells[4];
    const bad = [lines[0], cells.join(","), ...lines.slice(2)].join("\n");
    await Deno.writeTextFile(file, bad);
    let error = await importExport(target, out, {
      nowUs: LATER_US,
      batchRows: 200,
    })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof ImportError);
    assert.equal(error.kind, "bad_rows", error.message);
    assert.match(error.message, /silver_trades has 1 rows the store refuses/);
    assert.deepEqual(await dump(target), before);
    // A silver row whose bronze row is gone.
    await Deno.writeTextFile(file, text);
    const bronzeDir = join(
      out,
      "bronze_trades_kraken",
      "exchange=kraken",
      dates[1]!,
    );
    const bronzeFile = join(
      bronzeDir,
      [...Deno.readDirSync(bronzeDir)][0]!.name,
    );
    const bronze = (await Deno.readTextFile(bronzeFile)).split("\n");
    await Deno.writeTextFile(
      bronzeFile,
      [bronze[0], ...bronze.slice(2)].join("\n"),
    );
    error = await importExport(target, out, { nowUs: LATER_US, batchRows: 200 })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof ImportError);
    assert.equal(error.kind, "bad_rows", error.message);
    assert.match(
      error.message,
      /1 silver_trades rows of .* have no bronze row/,
    );
    assert.deepEqual(await dump(target), before);
    // A bronze row silver would read, whose silver row is gone.
    await Deno.writeTextFile(bronzeFile, bronze.join("\n"));
    await Deno.writeTextFile(file, [lines[0], ...lines.slice(2)].join("\n"));
    error = await importExport(target, out, { nowUs: LATER_US, batchRows: 200 })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof ImportError);
    assert.equal(error.kind, "bad_rows", error.message);
    assert.match(error.message, /lack their silver row/);
    assert.deepEqual(await dump(target), before);
  });
});

Deno.test("record import: book frames of another recording at the same sequence numbers are refused, not merged", async () => {
  await withDir(async (dir) => {
    await using a = await filled(join(dir, "a.duckdb"), market(51), [], true);
    await using b = await openStore(join(dir, "b.duckdb"));
    await writeBooks(b, MIDNIGHT_US + 3_600_000_000);
    const out = join(dir, "out");
    await exportStore(a, { format: "parquet", out });
    const before = await dump(b);
    const error = await importExport(b, out, { nowUs: LATER_US })
      .then(() => undefined, (e) => e);
    assert.ok(error instanceof ImportError);
    assert.equal(error.kind, "book_conflict", error.message);
    assert.deepEqual(await dump(b), before);
    // Without books, the trades merge and b's books stay its own.
    const merged = await importExport(b, out, {
      nowUs: LATER_US,
      books: false,
    });
    assert.equal(
      merged.tables.some((t) => t.table.includes("book")),
      false,
    );
    const after = await dump(b);
    assert.deepEqual(after.bronze_book_kraken, before.bronze_book_kraken);
    assert.deepEqual(after.book_snapshots, before.book_snapshots);
    assert.deepEqual(
      after.silver_trades_data,
      (await dump(a)).silver_trades_data,
    );
  });
});
