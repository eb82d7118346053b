import assert from "node:assert/strict";
import { join } from "node:path";
import { parseRecordArgs } from "../../../server/cli/record_cmd.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { CliHarness } from "./_harness.ts";
import { assertValid, fastClock } from "../record/_session.ts";
import { dump } from "../record/_import.ts";

Deno.test("parseRecordArgs() reads record import and refuses what it cannot use", () => {
  assert.deepEqual(parseRecordArgs(["import", "out"]), {
    kind: "record",
    action: "import",
    store: undefined,
    dir: "out",
    memoryLimit: "256MB",
    batchRows: 50_000,
    books: true,
    json: false,
  });
  assert.deepEqual(
    parseRecordArgs([
      "import",
      "out",
      "--store",
      "m.duckdb",
      "--memory-limit",
      "1gb",
      "--batch-rows",
      "1000",
      "--no-books",
      "--json",
    ]),
    {
      kind: "record",
      action: "import",
      store: "m.duckdb",
      dir: "out",
      memoryLimit: "1GB",
      batchRows: 1000,
      books: false,
      json: true,
    },
  );
  for (
    const bad of [
      ["import"],
      ["import", "a", "b"],
      ["import", "a", "--memory-limit", "64MB"],
      ["import", "a", "--batch-rows", "0"],
      ["import", "a", "--format", "csv"],
    ]
  ) {
    assert.equal(parseRecordArgs(bad).kind, "usage_error", bad.join(" "));
  }
});

Deno.test({
  name:
    "record import: a recording with books, exported and imported into a fresh store, validates, holds the same rows and rebuilds its books; again adds nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const now = fastClock();
    await using h = await CliHarness.start({
      sim: { now, activity: "busy" },
      ws: true,
    });
    const store = join(h.dir, "a.duckdb");
    const stop = new AbortController();
    const run = h.run(
      [
        "record",
        "XBTUSD",
        "ETHUSD",
        "XDGUSD",
        "--channels",
        "trade,book",
        "--book-snapshot-s",
        "20",
        "--store",
        store,
      ],
      { io: { now, stop: stop.signal } },
    );
    // Two market minutes close (30× clock: about 5 s).
    const end = now() + 150_000;
    while (now() < end) await new Promise((r) => setTimeout(r, 200));
    stop.abort();
    const recorded = await run;
    assert.equal(recorded.code, 0, recorded.stderr);

    const out = join(h.dir, "out");
    const exported = await h.run(
      ["record", "export", "--store", store, "--out", out],
      { io: { now } },
    );
    assert.equal(exported.code, 0, exported.stderr);

    const copy = join(h.dir, "b.duckdb");
    const imported = await h.run(
      [
        "record",
        "import",
        out,
        "--store",
        copy,
        "--json",
        "--batch-rows",
        "500",
      ],
      { io: { now } },
    );
    assert.equal(imported.code, 0, imported.stderr);
    // Progress on stderr (plain lines: not a terminal), ending at 100 %.
    assert.match(imported.stderr, /progress: trades +\d+%/);
    assert.match(imported.stderr, /progress: trades +100% +(\d+)\/\1/);
    const result = JSON.parse(imported.stdout) as {
      tables: { table: string; read: number; added: number; present: number }[];
      goldBuilt: number;
      unregistered: string[];
    };
    assert.deepEqual(result.unregistered, []);
    assert.ok(result.goldBuilt > 0);
    const byTable = new Map(result.tables.map((t) => [t.table, t]));
    for (
      const t of [
        "silver_trades",
        "bronze_trades_kraken",
        "bronze_frames_kraken",
        "bronze_book_kraken",
        "book_snapshots",
      ]
    ) {
      const c = byTable.get(t);
      assert.ok(c !== undefined && c.read > 0, t);
      assert.equal(c.added, c.read, t);
    }

    await assertValid(h, copy, { now, maxLatencyMs: 86_400_000 });
    {
      await using a = await RecordStore.open(store);
      await using b = await RecordStore.open(copy);
      const da = await dump(a);
      const db = await dump(b);
      for (const table of Object.keys(da)) {
        if (!table.startsWith("ohlcv_")) {
          assert.deepEqual(db[table], da[table], table);
          continue;
        }
        // Every gold row of the recording; the copy also has the buckets
        // that closed after the recording stopped (built at import time).
        const extra = new Set(db[table]);
        for (const row of da[table]!) {
          assert.ok(extra.delete(row), `${table}: ${row} missing`);
        }
        const until = await a.recordedUntil();
        for (const row of extra) {
          const bucket = Date.parse(JSON.parse(row).bucket + "Z") * 1000;
          assert.ok(until !== undefined && bucket + 60e6 > until, row);
        }
      }
    }
    // The copy's books rebuild and verify against Kraken's checksum.
    const book = await h.run(
      ["record", "book", "BTC/USD", "--store", copy, "--json"],
      { io: { now } },
    );
    assert.equal(book.code, 0, book.stdout + book.stderr);

    const again = await h.run(
      ["record", "import", out, "--store", copy],
      { io: { now } },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      /silver_trades: \d+ read, 0 added, \d+ already present/,
    );
    assert.doesNotMatch(again.stdout, /[1-9]\d* added/);

    const missing = await h.run(
      ["record", "import", join(h.dir, "nope"), "--store", copy],
      { io: { now } },
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such directory/);
  },
});
