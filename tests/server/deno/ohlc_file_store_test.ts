import assert from "node:assert/strict";
import { join } from "node:path";
import type { Candle } from "../../../core/market/ohlc.ts";
import {
  FileOhlcStore,
  formatCandleRow,
  OHLC_CSV_HEADER,
  parseOhlcCsv,
} from "../../../server/deno/ohlc_file_store.ts";

function candle(openTimeSec: number, close = "30000.1"): Candle {
  return {
    openTimeSec,
    open: "30000.0",
    high: "30010.5",
    low: "29990.0",
    close,
    vwap: "30001.2",
    volume: "1.25000000",
    count: 7,
  };
}

function range(fromSec: number, count: number, stepSec = 60): Candle[] {
  return Array.from({ length: count }, (_, i) => candle(fromSec + i * stepSec));
}

async function withTempDir(
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "krakked_ohlc_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("FileOhlcStore writes <root>/<tf>/<pair>.csv with a header", async () => {
  await withTempDir(async (dir) => {
    const store = new FileOhlcStore(dir);
    assert.equal(store.root, dir);
    assert.deepEqual(await store.upsert("XBTUSD", "1m", range(60, 3)), {
      added: 3,
      changed: 0,
    });
    const path = join(dir, "1m", "XBTUSD.csv");
    assert.equal(store.pathFor("XBTUSD", "1m"), path);
    const text = await Deno.readTextFile(path);
    assert.equal(
      text,
      `${OHLC_CSV_HEADER}\n` +
        "60,30000.0,30010.5,29990.0,30000.1,30001.2,1.25000000,7\n" +
        "120,30000.0,30010.5,29990.0,30000.1,30001.2,1.25000000,7\n" +
        "180,30000.0,30010.5,29990.0,30000.1,30001.2,1.25000000,7\n",
    );
    const fresh = new FileOhlcStore(dir);
    assert.deepEqual(await fresh.since("XBTUSD", "1m", 0), range(60, 3));
    assert.equal(await fresh.latestOpenTime("XBTUSD", "1m"), 180);
    assert.equal(await fresh.latestOpenTime("XBTUSD", "1h"), null);
    assert.deepEqual(await fresh.last("XBTUSD", "1h", 5), []);
  });
});

Deno.test("FileOhlcStore appends new candles without duplicates", async () => {
  await withTempDir(async (dir) => {
    const store = new FileOhlcStore(dir);
    const path = store.pathFor("ETHUSD", "5m");
    await store.upsert("ETHUSD", "5m", range(0, 10, 300));
    const inode = (await Deno.stat(path)).ino;
    // Overlapping, unchanged head plus two new candles: an append.
    assert.deepEqual(await store.upsert("ETHUSD", "5m", range(2400, 4, 300)), {
      added: 2,
      changed: 0,
    });
    assert.equal((await Deno.stat(path)).ino, inode);
    // Same again: nothing to write.
    const before = await Deno.readTextFile(path);
    assert.deepEqual(await store.upsert("ETHUSD", "5m", range(2400, 4, 300)), {
      added: 0,
      changed: 0,
    });
    assert.equal(await Deno.readTextFile(path), before);
    const lines = before.trimEnd().split("\n");
    assert.equal(lines.length, 1 + 12);
    assert.equal(new Set(lines).size, lines.length);
    const fresh = new FileOhlcStore(dir);
    assert.deepEqual(await fresh.since("ETHUSD", "5m", 0), range(0, 12, 300));
  });
});

Deno.test("FileOhlcStore rewrites atomically when history before the tail changes", async (t) => {
  await withTempDir(async (dir) => {
    const store = new FileOhlcStore(dir);
    const path = store.pathFor("XBTUSD", "1h");
    await store.upsert("XBTUSD", "1h", range(0, 5, 3600));
    await t.step("a replaced candle", async () => {
      const inode = (await Deno.stat(path)).ino;
      assert.deepEqual(
        await store.upsert("XBTUSD", "1h", [candle(3600, "1.0")]),
        { added: 0, changed: 1 },
      );
      // A rename replaced the file rather than editing it in place.
      assert.notEqual((await Deno.stat(path)).ino, inode);
    });
    await t.step("an inserted candle", async () => {
      const store2 = new FileOhlcStore(dir);
      await store2.upsert("XBTUSD", "1h", [candle(1800)]);
      const fresh = new FileOhlcStore(dir);
      const times = (await fresh.since("XBTUSD", "1h", 0)).map((c) =>
        c.openTimeSec
      );
      assert.deepEqual(times, [0, 1800, 3600, 7200, 10800, 14400]);
    });
    await t.step("no temp files are left behind", async () => {
      const names = [];
      for await (const entry of Deno.readDir(join(dir, "1h"))) {
        names.push(entry.name);
      }
      assert.deepEqual(names, ["XBTUSD.csv"]);
    });
  });
});

Deno.test("FileOhlcStore survives a crash mid-write", async (t) => {
  await withTempDir(async (dir) => {
    const path = join(dir, "1m", "XBTUSD.csv");
    await new FileOhlcStore(dir).upsert("XBTUSD", "1m", range(60, 3));
    const good = await Deno.readTextFile(path);
    await t.step(
      "a truncated last line is ignored, then repaired",
      async () => {
        await Deno.writeTextFile(path, good + "240,30000.0,300");
        const store = new FileOhlcStore(dir);
        assert.deepEqual(await store.since("XBTUSD", "1m", 0), range(60, 3));
        await store.upsert("XBTUSD", "1m", [candle(240)]);
        assert.equal(
          await Deno.readTextFile(path),
          good + formatCandleRow(candle(240)),
        );
        const fresh = new FileOhlcStore(dir);
        assert.deepEqual(await fresh.since("XBTUSD", "1m", 0), range(60, 4));
      },
    );
    await t.step("a torn append is repaired by the next write", async () => {
      const store = new FileOhlcStore(dir);
      await store.upsert("XBTUSD", "1m", range(60, 4));
      // Simulate a crash half-way through appending two rows.
      const rows = formatCandleRow(candle(300)) + formatCandleRow(candle(360));
      await Deno.writeTextFile(path, rows.slice(0, 70), { append: true });
      const reopened = new FileOhlcStore(dir);
      assert.equal(await reopened.latestOpenTime("XBTUSD", "1m"), 300);
      await reopened.upsert("XBTUSD", "1m", [candle(360)]);
      const fresh = new FileOhlcStore(dir);
      assert.deepEqual(await fresh.since("XBTUSD", "1m", 0), range(60, 6));
      await Deno.writeTextFile(path, good);
    });
    await t.step("a garbled complete last line is ignored too", async () => {
      await Deno.writeTextFile(path, good + "\u0000\u0000\u0000\n");
      const store = new FileOhlcStore(dir);
      assert.deepEqual(await store.last("XBTUSD", "1m", 10), range(60, 3));
      await store.upsert("XBTUSD", "1m", [candle(240)]);
      assert.equal(
        await Deno.readTextFile(path),
        good + formatCandleRow(candle(240)),
      );
    });
    await t.step("a partial header is an empty series", async () => {
      await Deno.writeTextFile(path, "open_time");
      const store = new FileOhlcStore(dir);
      assert.equal(await store.latestOpenTime("XBTUSD", "1m"), null);
      await store.upsert("XBTUSD", "1m", range(60, 1));
      assert.equal(
        await Deno.readTextFile(path),
        `${OHLC_CSV_HEADER}\n${formatCandleRow(candle(60))}`,
      );
    });
  });
});

Deno.test("parseOhlcCsv() rejects corruption that is not a torn tail", () => {
  const row = formatCandleRow(candle(60));
  assert.throws(
    () => parseOhlcCsv(`${OHLC_CSV_HEADER}\nbad\n${row}`, "x.csv"),
    /Cannot read "x.csv": line 2 is not a candle row/,
  );
  assert.throws(
    () => parseOhlcCsv("time,open\n", "x.csv"),
    /unexpected header/,
  );
  assert.throws(
    () => parseOhlcCsv("garbage", "x.csv"),
    /header line is missing/,
  );
  for (
    const bad of [
      "60,1,2,3,4,5,6",
      ",1,2,3,4,5,6,7",
      "60,1,2,3,4,5,6,",
      "60,1,2,,4,5,6,7",
      "60,1,2,x,4,5,6,7",
      "6.5,1,2,3,4,5,6,7",
      "60,1.,2,3,4,5,6,7",
      "60,1,2,3,4,5,6,7,8",
      "60,1,2,3,4,5,6,-",
      "-60,1,2,3,4,5,6,7",
    ]
  ) {
    const parsed = parseOhlcCsv(`${OHLC_CSV_HEADER}\n${bad}\n`, "x.csv");
    assert.deepEqual(parsed, { candles: [], dirty: true }, bad);
  }
  // Rows out of order (hand-edited) load sorted and get rewritten.
  const unsorted = parseOhlcCsv(
    `${OHLC_CSV_HEADER}\n${formatCandleRow(candle(120))}${row}`,
    "x.csv",
  );
  assert.deepEqual(unsorted.candles.map((c) => c.openTimeSec), [60, 120]);
  assert.equal(unsorted.dirty, true);
  // CRLF header from an editor is accepted.
  assert.equal(
    parseOhlcCsv(`${OHLC_CSV_HEADER}\r\n${row}`, "x.csv").candles.length,
    1,
  );
});

Deno.test("FileOhlcStore validates pair ids, candles and the home directory", async (t) => {
  await withTempDir(async (dir) => {
    const store = new FileOhlcStore(dir);
    await t.step("pair ids must be safe file names", () => {
      for (const bad of ["../x", "a/b", "", ".hidden", "BTC USD"]) {
        assert.throws(() => store.pathFor(bad, "1m"), TypeError, bad);
      }
      assert.ok(store.pathFor("XBTUSD.d", "1m").endsWith("XBTUSD.d.csv"));
      assert.throws(
        () => store.pathFor("XBTUSD", "2h" as never),
        /Unknown timeframe/,
      );
    });
    await t.step("fields that would break the format are refused", async () => {
      await assert.rejects(
        store.upsert("XBTUSD", "1m", [{ ...candle(60), close: "1,5" }]),
        TypeError,
      );
      assert.throws(
        () => formatCandleRow({ ...candle(60), count: 1.5 }),
        TypeError,
      );
      assert.equal(await store.latestOpenTime("XBTUSD", "1m"), null);
    });
    await t.step("~ expands to the home directory", () => {
      assert.equal(
        new FileOhlcStore("~/ohlc", { homeDir: dir }).root,
        join(dir, "ohlc"),
      );
      assert.equal(new FileOhlcStore("~", { homeDir: dir }).root, dir);
      assert.equal(
        new FileOhlcStore("~x/ohlc", { homeDir: "" }).root,
        "~x/ohlc",
      );
      assert.throws(
        () => new FileOhlcStore("~/ohlc", { homeDir: "" }),
        TypeError,
      );
      const home = Deno.env.get("HOME");
      if (home !== undefined) {
        assert.equal(new FileOhlcStore("~/o").root, join(home, "o"));
      }
    });
    await t.step("reads of a broken file fail with its path", async () => {
      const path = store.pathFor("BADUSD", "1m");
      await Deno.mkdir(join(dir, "1m"), { recursive: true });
      await Deno.writeTextFile(path, "nope\n");
      await assert.rejects(store.last("BADUSD", "1m", 1), SyntaxError);
      // The queue recovers after a failed task.
      await Deno.writeTextFile(path, `${OHLC_CSV_HEADER}\n`);
      store.clearCache();
      assert.deepEqual(await store.last("BADUSD", "1m", 1), []);
    });
  });
});

Deno.test("FileOhlcStore serializes concurrent writes to one series", async () => {
  await withTempDir(async (dir) => {
    const store = new FileOhlcStore(dir);
    const writes = Array.from(
      { length: 20 },
      (_, i) =>
        store.upsert("XBTUSD", "1m", [candle(i * 60), candle((i + 1) * 60)]),
    );
    const results = await Promise.all(writes);
    const added = results.reduce((sum, r) => sum + r.added, 0);
    assert.equal(added, 21);
    const fresh = new FileOhlcStore(dir);
    assert.deepEqual(await fresh.since("XBTUSD", "1m", 0), range(0, 21));
    assert.deepEqual((await fresh.since("XBTUSD", "1m", 600)).length, 11);
  });
});

Deno.test("FileOhlcStore keeps every row of a CRLF file and writes it back as LF", async () => {
  await withTempDir(async (dir) => {
    const store = new FileOhlcStore(dir);
    const path = store.pathFor("XBTUSD", "1m");
    await Deno.mkdir(join(dir, "1m"), { recursive: true });
    // A file saved by a Windows editor or a spreadsheet: every line CRLF.
    const rows = range(60, 500);
    await Deno.writeTextFile(
      path,
      [OHLC_CSV_HEADER, ...rows.map((c) => formatCandleRow(c).trimEnd())]
        .map((line) => `${line}\r\n`).join(""),
    );
    assert.deepEqual(
      parseOhlcCsv(await Deno.readTextFile(path), path).candles,
      rows,
    );
    // A backfill that adds one candle keeps the 500 it found.
    assert.deepEqual(
      await store.upsert("XBTUSD", "1m", [candle(60 + 500 * 60)]),
      {
        added: 1,
        changed: 0,
      },
    );
    const text = await Deno.readTextFile(path);
    assert.equal(text.includes("\r"), false, "rewritten with LF");
    assert.equal(text.trimEnd().split("\n").length, 1 + 501);
    assert.deepEqual(
      await new FileOhlcStore(dir).since("XBTUSD", "1m", 0),
      range(60, 501),
    );
  });
});

Deno.test("a duplicated row collapses on the next write, even one that adds nothing, and the old file is kept", async () => {
  await withTempDir(async (dir) => {
    const repairs: unknown[] = [];
    const store = new FileOhlcStore(dir, {
      onRepair: (path, repair) => repairs.push({ path, ...repair }),
    });
    const path = store.pathFor("XBTUSD", "1m");
    const rows = range(60, 5);
    const original = OHLC_CSV_HEADER + "\n" +
      rows.map(formatCandleRow).join("") + formatCandleRow(rows[4]!);
    await Deno.mkdir(join(dir, "1m"), { recursive: true });
    await Deno.writeTextFile(path, original);
    // A backfill that finds nothing new.
    const result = await store.upsert("XBTUSD", "1m", rows);
    assert.equal(result.added + result.changed, 0);
    assert.deepEqual(result.repaired, {
      rowsBefore: 6,
      rowsDropped: 1,
      backup: `${path}.bak`,
    });
    assert.deepEqual(repairs, [{ path, ...result.repaired }]);
    assert.equal(
      await Deno.readTextFile(path),
      OHLC_CSV_HEADER + "\n" + rows.map(formatCandleRow).join(""),
    );
    assert.equal(await Deno.readTextFile(`${path}.bak`), original);
  });
});

Deno.test("a rewrite never holds fewer rows than the file had without a backup and a report", async () => {
  await withTempDir(async (dir) => {
    const repairs: unknown[] = [];
    const store = new FileOhlcStore(dir, {
      onRepair: (_path, repair) => repairs.push(repair),
    });
    const path = store.pathFor("XBTUSD", "1m");
    const rows = range(60, 4);
    // A torn tail after good rows.
    const original = OHLC_CSV_HEADER + "\n" +
      rows.map(formatCandleRow).join("") + "300,30000.0,3001";
    await Deno.mkdir(join(dir, "1m"), { recursive: true });
    await Deno.writeTextFile(path, original);
    // Nothing new: the repair alone would shorten the file by the torn row.
    const result = await store.upsert("XBTUSD", "1m", rows.slice(0, 2));
    assert.equal(result.added + result.changed, 0);
    assert.equal(result.repaired?.rowsBefore, 5);
    assert.equal(result.repaired?.rowsDropped, 1);
    assert.equal(await Deno.readTextFile(`${path}.bak`), original);
    assert.deepEqual(await store.last("XBTUSD", "1m", 10), rows);
    // A clean file is appended to and rewritten without any backup churn.
    await Deno.remove(`${path}.bak`);
    const clean = await store.upsert("XBTUSD", "1m", [candle(360)]);
    assert.equal(clean.repaired, undefined);
    const changed = await store.upsert("XBTUSD", "1m", [candle(60, "1.0")]);
    assert.equal(changed.repaired, undefined);
    await assert.rejects(Deno.stat(`${path}.bak`), Deno.errors.NotFound);
    assert.equal(repairs.length, 1);
  });
});
