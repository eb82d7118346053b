/**
 * The `book` channel of the recorder against the simulator: every L2 frame
 * and periodic snapshot lands in DuckDB, a corrupted checksum and a dropped
 * socket are recorded and resynced, and `record validate` rebuilds books at
 * several instants and checks them against the stored checksums — and fails
 * when a stored frame or snapshot is altered.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startSimulatorWithWs } from "@krakked/sim";
import {
  BookRecorder,
  rebuildBook,
  snapshotFrameText,
} from "../../../core/record/book.ts";
import { bookChecksum } from "../../../core/ws/book.ts";
import { statusPath } from "../../../server/cli/record_cmd.ts";
import { bookAt } from "../../../server/record/book.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { CliHarness } from "../cli/_harness.ts";
import { fastClock, validateStore } from "./_session.ts";

const SNAPSHOT =
  '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
  '"bids":[{"price":45283.5,"qty":0.10000000}],' +
  '"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":2383917627}]}';

function update(
  bids: [string, string][],
  asks: [string, string][],
  checksum: number,
): string {
  const side = (l: [string, string][]) =>
    l.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(",");
  return `{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[${
    side(bids)
  }],"asks":[${
    side(asks)
  }],"checksum":${checksum},"timestamp":"2025-03-04T10:21:00.881043Z"}]}`;
}

Deno.test("BookRecorder rows and snapshots rebuild to the same verified book; a new stream waits for its snapshot", () => {
  const r = new BookRecorder({
    symbols: [{ symbol: "BTC/USD", priceDecimals: 1, qtyDecimals: 8 }],
    nextSeq: 41,
  });
  const rows = r.onFrame(SNAPSHOT, {
    stream: "a:1",
    receivedUs: 1,
    connectionId: "c",
  });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.seq, 41);
  assert.equal(rows[0]!.status, "applied");
  assert.equal(rows[0]!.type, "snapshot");
  // An update whose checksum is computed by core's bookChecksum.
  const bids: [string, string][] = [["45283.5", "0.10000000"], [
    "45283.4",
    "2.00000000",
  ]];
  const asks: [string, string][] = [["45285.2", "0.00100000"]];
  const good = update(
    [["45283.4", "2.00000000"]],
    [],
    bookChecksum(asks, bids),
  );
  const up = r.onFrame(good, {
    stream: "a:1",
    receivedUs: 2,
    connectionId: "c",
  });
  assert.equal(up[0]!.status, "applied");
  assert.equal(up[0]!.bidLevels, 1);
  assert.equal(up[0]!.timestamp, "2025-03-04T10:21:00.881043Z");
  const snap = r.snapshot("BTC/USD")!;
  assert.equal(snap.seq, 42);
  assert.equal(snap.checksum, up[0]!.checksum);
  assert.deepEqual(snap.bids.map((l) => l.price), ["45283.5", "45283.4"]);
  // A wrong checksum: recorded as a mismatch, book dropped.
  const bad = r.onFrame(update([], [["45286.0", "1.00000000"]], 1), {
    stream: "a:1",
    receivedUs: 3,
    connectionId: "c",
  });
  assert.equal(bad[0]!.status, "mismatch");
  assert.equal(r.snapshot("BTC/USD"), undefined);
  // A snapshot on a new stream restores it; an update first is ignored.
  const early = r.onFrame(good, {
    stream: "a:2",
    receivedUs: 4,
    connectionId: "d",
  });
  assert.equal(early[0]!.status, "ignored");
  const again = r.onFrame(SNAPSHOT, {
    stream: "a:2",
    receivedUs: 5,
    connectionId: "d",
  });
  assert.equal(again[0]!.status, "applied");
  assert.deepEqual(
    r.onFrame('{"channel":"heartbeat"}', {
      stream: "a:2",
      receivedUs: 6,
      connectionId: "d",
    }),
    [],
  );

  const all = [...rows, ...up, ...bad, ...early, ...again];
  // From nothing: every verdict reproduced.
  const whole = rebuildBook({
    symbol: "BTC/USD",
    depth: 10,
    priceDecimals: 1,
    qtyDecimals: 8,
    frames: all,
  });
  assert.deepEqual(whole.disagreements, []);
  assert.deepEqual(whole.mismatches, [43]);
  assert.equal(whole.integrity, "ok");
  assert.equal(whole.checksum, 2383917627);
  // From the stored snapshot: the same book through seq 42.
  const fromSnap = rebuildBook({
    symbol: "BTC/USD",
    depth: 10,
    from: snap,
    frames: [],
  });
  assert.equal(fromSnap.snapshotValid, true);
  assert.equal(fromSnap.checksum, snap.checksum);
  // A snapshot whose levels were altered fails its own checksum.
  const altered = { ...snap, bids: [{ price: "45283.5", qty: "0.2" }] };
  assert.equal(
    rebuildBook({ symbol: "BTC/USD", depth: 10, from: altered, frames: [] })
      .snapshotValid,
    false,
  );
  assert.throws(
    () => snapshotFrameText({ ...snap, asks: [{ price: "1e5", qty: "1" }] }),
    TypeError,
  );
});

interface BookStatus {
  bookSnapshots: number;
  bookMismatches: number;
  reconnects: number;
}

async function until(
  store: string,
  ok: (s: BookStatus) => boolean,
  what: string,
): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const s = JSON.parse(await Deno.readTextFile(statusPath(store)));
      if (ok(s)) return;
    } catch {
      // Not written yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test({
  name:
    "record --channels trade,book: frames and snapshots rebuild to the stored checksums through a corrupted checksum and a reconnect",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const now = fastClock();
    await using h = await CliHarness.start({ sim: { now }, ws: true });
    const sim = h.sim as Awaited<ReturnType<typeof startSimulatorWithWs>>;
    const store = join(h.dir, "market.duckdb");
    const stop = new AbortController();
    const run = h.run(
      [
        "record",
        "XBTUSD",
        "ETHUSD",
        "--channels",
        "trade,book",
        "--book-snapshot-s",
        "1",
        "--store",
        store,
      ],
      { io: { now, stop: stop.signal } },
    );
    await until(store, (s) => s.bookSnapshots >= 4, "book snapshots");
    sim.ws.faults.corruptChecksum("BTC/USD");
    await until(store, (s) => s.bookMismatches >= 1, "a book mismatch");
    assert.ok(sim.ws.faults.drop({ scope: "public" }) > 0);
    await until(store, (s) => s.reconnects >= 1, "a reconnect");
    // Snapshots after the reconnect too.
    const seen = JSON.parse(
      await Deno.readTextFile(statusPath(store)),
    ) as BookStatus;
    await until(
      store,
      (s) => s.bookSnapshots >= seen.bookSnapshots + 6,
      "snapshots after the reconnect",
    );
    stop.abort();
    const done = await run;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /book BTC\/USD checksum mismatch/);

    const validate = async () =>
      (await validateStore(h, store, { now, maxLatencyMs: 10_000 })).byName
        .get("book_rebuild")!;
    const book = await validate();
    assert.ok(book.ok, `${book.summary}\n${book.examples.join("\n")}`);
    assert.equal(book.counts.symbols, 2);
    assert.ok(book.counts.instants! >= 6, book.summary);
    assert.ok(book.counts.snapshotsCompared! >= 4, book.summary);
    assert.ok(book.counts.liveMismatches! >= 1, book.summary);

    // The CLI view of a book: at the end, and at a stored snapshot's instant.
    const end = await h.run(
      ["record", "book", "btc/usd", "--store", store, "--json"],
      { io: { now } },
    );
    assert.equal(end.code, 0, end.stdout + end.stderr);
    const endBook = JSON.parse(end.stdout);
    assert.equal(endBook.verified, true);
    assert.equal(endBook.bids.length, 10);
    let snapAt: string;
    {
      await using db = await RecordStore.open(store);
      const [snap] = await db.query(
        `SELECT strftime(taken_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS at FROM book_snapshots
         WHERE symbol = 'ETH/USD' ORDER BY seq LIMIT 1 OFFSET 2`,
      );
      snapAt = String(snap!.at);
    }
    const mid = await h.run(
      [
        "record",
        "book",
        "ETH/USD",
        "--at",
        snapAt,
        "--store",
        store,
        "--levels",
        "3",
      ],
      { io: { now } },
    );
    assert.equal(mid.code, 0, mid.stdout + mid.stderr);
    assert.match(mid.stdout, /ETH\/USD at .*: ok, checksum \d+ verified/);
    assert.equal(mid.stdout.trim().split("\n").length, 5);
    const none = await h.run(["record", "book", "DOGE/USD", "--store", store], {
      io: { now },
    });
    assert.equal(none.code, 2);
    assert.match(
      none.stderr,
      /No book of DOGE\/USD.*books: BTC\/USD, ETH\/USD/,
    );

    {
      await using db = await RecordStore.open(store);
      const [row] = await db.query(
        `SELECT count(DISTINCT stream)::INTEGER AS streams,
           count(*) FILTER (WHERE type = 'snapshot')::INTEGER AS snapshots,
           epoch_us(max(received_at)) AS last_us,
           (SELECT count(*) FROM bronze_book_kraken)::INTEGER
             - (SELECT count(DISTINCT seq) FROM bronze_book_kraken)::INTEGER AS dup_seqs
         FROM bronze_book_kraken`,
      );
      assert.ok(Number(row!.streams) >= 2, "a second socket");
      assert.ok(Number(row!.snapshots) >= 4, "Kraken snapshots per socket");
      assert.equal(Number(row!.dup_seqs), 0);
      // The book at the end equals the last frame's checksum.
      const end = await bookAt(db, "BTC/USD", Number(row!.last_us));
      assert.equal(end.integrity, "ok");
      assert.equal(end.checksum, end.expectedChecksum);
      assert.ok(end.bids.length > 0 && end.asks.length > 0);
      // Before anything was recorded there is no book.
      assert.equal((await bookAt(db, "BTC/USD", 0)).integrity, "empty");
      // Alter stored updates: the rebuild must notice.
      await db.query(
        `UPDATE bronze_book_kraken SET raw = replace(raw, '"qty":', '"qty":1')
         WHERE type = 'update' AND symbol = 'ETH/USD'`,
      );
    }
    const tampered = await validate();
    assert.equal(tampered.ok, false, tampered.summary);
    assert.ok(tampered.counts.failures! > 0);
  },
});
