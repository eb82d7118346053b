/**
 * Books on the scale-out path: book frame rows and snapshots published to
 * JetStream (`TradeLog.publishBook`), loaded into ClickHouse (chDB) by
 * `krakked load` with a crash between insert and ack, and checked by
 * `load validate`'s `book_rebuild` (the same rebuild as `record validate`).
 * The rows land exactly once; a book rebuilt from ClickHouse at any
 * instant equals the one rebuilt from the embedded store that got the same
 * rows; a stored snapshot altered in ClickHouse fails the check.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { bookAt, storeBookRows } from "../../../server/record/book.ts";
import {
  clickhouseBookRows,
  validateClickhouse,
} from "../../../server/record/clickhouse_validate.ts";
import { bookRowOf, bookSnapshotRowOf } from "../../../server/record/load.ts";
import { bronzeKind, TradeLog } from "../../../server/record/log.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { BOOK_PAIRS, simulatedBooks } from "./_books.ts";
import {
  CHDB_PLATFORM,
  crashBeforeAck,
  loadUntil,
  tempChdb,
} from "./_clickhouse.ts";
import { NatsServer } from "./_nats.ts";

Deno.test({
  name:
    "krakked load: book frames and snapshots reach ClickHouse exactly once and rebuild there as in the embedded store",
  // chDB ships for linux-x64 only (the lock installs it there).
  ignore: !CHDB_PLATFORM,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { rows, snapshots } = simulatedBooks();
    await using nats = await NatsServer.start();
    await using sink = await tempChdb("kb");
    await using log = await TradeLog.connect(nats.url, { stream: "KB" });
    let stored = 0;
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      const snaps = snapshots.filter((s) =>
        s.seq >= chunk[0]!.seq && s.seq <= chunk.at(-1)!.seq
      );
      stored += (await log.publishBook(chunk, snaps)).stored;
    }
    assert.equal(stored, rows.length + snapshots.length);
    // Published again (a recorder retrying): the stream drops every one.
    const again = await log.publishBook(rows.slice(0, 300), snapshots);
    assert.deepEqual(again, { stored: 0, duplicates: 300 + snapshots.length });

    const base = {
      natsUrl: nats.url,
      sink,
      stream: "KB",
      durable: "kb_load",
      batchSize: 400,
      maxWaitMs: 50,
      ackWaitMs: 1_000,
    };
    // A crash after the second batch's inserts, before its ack.
    const crashed = await crashBeforeAck(base, 2);
    assert.ok(crashed.bookRows.length > 0);
    const total = rows.length + snapshots.length;
    const status = await loadUntil(
      base,
      (s) => s.messages >= total - 400 && s.present >= crashed.inserted,
    );
    assert.ok(status.redelivered >= crashed.messages, JSON.stringify(status));
    assert.equal(status.rejected, 0);

    // Physical rows, before any merge: each frame and snapshot once.
    const [c] = await sink.query(
      `SELECT (SELECT count() FROM kb.bronze_book_kraken) AS frames,
         (SELECT uniqExact(stream, seq) FROM kb.bronze_book_kraken) AS keys,
         (SELECT count() FROM kb.book_snapshots) AS snapshots`,
    );
    assert.deepEqual(
      [Number(c!.frames), Number(c!.keys), Number(c!.snapshots)],
      [rows.length, rows.length, snapshots.length],
    );

    // The same rows in an embedded store: the same books at any instant.
    const dir = await Deno.makeTempDir({ prefix: "krakked_ch_book_" });
    try {
      await using store = await RecordStore.open(join(dir, "b.duckdb"));
      await store.writeBook(rows, snapshots);
      const ch = clickhouseBookRows(sink);
      const local = storeBookRows(store);
      let verified = 0;
      const first = rows[0]!.receivedUs;
      const last = rows.at(-1)!.receivedUs;
      for (const [symbol] of BOOK_PAIRS) {
        for (let k = 0; k <= 12; k++) {
          const atUs = first + Math.round(((last - first) * k) / 12);
          const [a, b] = [
            await bookAt(ch, symbol, atUs),
            await bookAt(local, symbol, atUs),
          ];
          assert.deepEqual(a, b, `${symbol} at ${atUs}`);
          if (a.integrity === "ok" && a.bids.length === 10) verified++;
        }
      }
      assert.ok(verified >= 20, `verified books compared: ${verified}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }

    const rebuilt = async () =>
      (await validateClickhouse(sink, {
        now: () => Date.now(),
        maxLatencyMs: 600_000,
      })).find((check) => check.name === "book_rebuild")!;
    const ok = await rebuilt();
    assert.ok(ok.ok, `${ok.summary} ${ok.examples.join("; ")}`);
    assert.equal(ok.counts.liveMismatches, 1, "the corrupted frame");
    assert.ok(Number(ok.counts.instants) > 0);
    assert.ok(Number(ok.counts.snapshotsCompared) > 0);

    // The last stored BTC/USD snapshot altered in place (a replacing row
    // with another checksum): the check compares it with a rebuild.
    const lastBtc = snapshots.filter((s) => s.symbol === "BTC/USD").at(-1)!;
    await sink.insert("kb.book_snapshots", [{
      symbol: lastBtc.symbol,
      seq: lastBtc.seq,
      stream: lastBtc.stream,
      "taken_at": lastBtc.takenUs,
      depth: lastBtc.depth,
      checksum: (lastBtc.checksum ^ 1) >>> 0,
      bids: lastBtc.bids,
      asks: lastBtc.asks,
      "stream_seq": 0,
    }], "tamper");
    const bad = await rebuilt();
    assert.equal(bad.ok, false);
    assert.match(bad.examples.join("; "), new RegExp(`seq ${lastBtc.seq}`));
  },
});

Deno.test("book messages: subjects tell trades from books, and malformed bodies are rejected with a reason", () => {
  assert.equal(bronzeKind("bronze.kraken.BTC_USD"), "trade");
  assert.equal(bronzeKind("bronze.kraken.book.BTC_USD"), "book");
  assert.equal(
    bronzeKind("bronze.kraken.book_snapshot.BTC_USD"),
    "book_snapshot",
  );
  assert.equal(bronzeKind("bronze.kraken.other.BTC_USD"), undefined);
  assert.equal(bronzeKind("silver.kraken.BTC_USD"), undefined);
  const { rows, snapshots } = simulatedBooks();
  const row = rows[5]!;
  const body = {
    seq: row.seq,
    symbol: row.symbol,
    type: row.type,
    checksum: row.checksum,
    timestamp: row.timestamp,
    "bid_levels": row.bidLevels,
    "ask_levels": row.askLevels,
    status: row.status,
    depth: row.depth,
    "received_us": row.receivedUs,
    "connection_id": row.connectionId,
    stream: row.stream,
    raw: row.raw,
  };
  const good = bookRowOf(JSON.stringify(body), 9);
  assert.ok("row" in good);
  assert.equal(good.row.stream_seq, 9);
  assert.equal(good.row.received_at, row.receivedUs);
  for (
    const [change, reason] of [
      [{ seq: -1 }, /no seq/],
      [{ type: "delta" }, /neither snapshot nor update/],
      [{ checksum: 2 ** 32 }, /no checksum/],
      [{ depth: 12 }, /not a v2 depth/],
      [{ status: "fine" }, /unknown status/],
      [{ raw: "{}" }, /no book frame/],
      [{ stream: "" }, /no symbol or stream/],
    ] as const
  ) {
    const r = bookRowOf(JSON.stringify({ ...body, ...change }), 1);
    assert.ok("reason" in r && reason.test(r.reason), JSON.stringify(r));
  }
  assert.match(
    (bookRowOf("[1]", 1) as { reason: string }).reason,
    /not a JSON object/,
  );
  const snap = snapshots[0]!;
  const snapBody = {
    symbol: snap.symbol,
    seq: snap.seq,
    stream: snap.stream,
    "taken_us": snap.takenUs,
    depth: snap.depth,
    checksum: snap.checksum,
    bids: snap.bids,
    asks: snap.asks,
  };
  const s = bookSnapshotRowOf(JSON.stringify(snapBody), 3);
  assert.ok("row" in s);
  assert.deepEqual(s.row.bids, snap.bids);
  const broken = bookSnapshotRowOf(
    JSON.stringify({ ...snapBody, bids: [{ price: 1, qty: "2" }] }),
    3,
  );
  assert.ok("reason" in broken && /levels/.test(broken.reason));
});
