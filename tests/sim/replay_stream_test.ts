/**
 * Streamed replay loading (`streamRecording`, what `krakked sim --replay`
 * uses): book frames read a page at a time and checked into their tapes as
 * they come build exactly the tapes of all frames read at once
 * (`loadRecording` + `placeBook`), whatever the page size, over gaps in the
 * sequence, for the whole store and for a window; bad rows get the same
 * errors either way.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  loadRecording,
  type RecordingWindow,
  streamRecording,
} from "../../server/cli/sim_cmd.ts";
import { placeBook } from "../../server/sim/exchange/book_tape.ts";
import { resolvePair } from "../../server/sim/exchange/pairs.ts";
import { Market } from "../../server/sim/exchange/market.ts";
import { recordBookMarket } from "../server/record/_books.ts";

/** Run SQL on a store (read-write), outside the recorder. */
async function mutate(path: string, sql: string): Promise<void> {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(path);
  try {
    const db = await instance.connect();
    try {
      await db.run(sql);
    } finally {
      db.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

const TIMING = { originUs: 0, startMs: 0, speed: 1 };

/** Streamed tapes equal tapes of all frames, at every frame's instant. */
async function sameTapes(
  path: string,
  window: RecordingWindow,
  pageRows: number,
): Promise<number> {
  const all = await loadRecording(path, window);
  const paged = await loadRecording(path, window, { pageRows });
  const streamed = await streamRecording(path, window, resolvePair, {
    pageRows,
  });
  assert.deepEqual(
    [...streamed.books.symbols].sort(),
    [...all.books.symbols].sort(),
  );
  assert.deepEqual(streamed.trades.symbols, all.trades.symbols);
  let frames = 0;
  for (const symbol of all.books.symbols) {
    const list = all.books.frames(symbol);
    assert.deepEqual(paged.books.frames(symbol), list, `${symbol} frames`);
    assert.deepEqual(streamed.trades.trades(symbol), all.trades.trades(symbol));
    const pair = resolvePair(symbol)!;
    const want = placeBook(pair, list, TIMING);
    const builder = streamed.books.builder(symbol);
    assert.equal(builder.firstUs, list[0]?.timeUs);
    const got = builder.finish(TIMING);
    assert.deepEqual(got.counts, want.counts, `${symbol} counts`);
    assert.equal(got.tape.length, want.tape.length);
    assert.equal(got.tape.depth, want.tape.depth);
    // Forward, then backward (from the checkpoints), as the feed and a
    // late REST Depth call read it.
    const instants = list.map((f) => f.timeUs);
    for (const atUs of [...instants, ...instants.toReversed()]) {
      assert.deepEqual(
        got.tape.at(atUs),
        want.tape.at(atUs),
        `${symbol} at ${atUs}`,
      );
      assert.deepEqual(got.tape.topAt(atUs), want.tape.topAt(atUs));
    }
    frames += list.length;
  }
  return frames;
}

Deno.test({
  name:
    "streamed replay loading builds the tapes of all frames read at once, for any page size, over sequence gaps and in a window",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_stream_" });
    try {
      const path = join(dir, "market.duckdb");
      const originUs = await recordBookMarket(path);
      for (const pageRows of [29, 2048]) {
        const n = await sameTapes(path, {}, pageRows);
        assert.ok(n > 100, `frames read (${n})`);
      }
      const window = { fromUs: originUs + 130e6, toUs: originUs + 200e6 };
      assert.ok(await sameTapes(path, window, 5) > 10);
      // Gaps in the sequence (rows never stored): pages over them are
      // skipped, and the books lose the same frames either way.
      await mutate(
        path,
        `DELETE FROM bronze_book_kraken WHERE seq BETWEEN 40 AND 90
           OR seq BETWEEN 200 AND 203`,
      );
      assert.ok(await sameTapes(path, {}, 13) > 100);
      assert.ok(await sameTapes(path, window, 3) > 10);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "streamed replay loading: a row that is not a book frame, an unknown type or an unknown pair is refused",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "krakked_replay_stream_" });
    try {
      const path = join(dir, "market.duckdb");
      await recordBookMarket(path);
      const both = async (message: RegExp, pageRows = 4) => {
        await assert.rejects(loadRecording(path, {}, { pageRows }), message);
        await assert.rejects(
          streamRecording(path, {}, resolvePair, { pageRows }),
          message,
        );
      };
      await mutate(
        path,
        `UPDATE bronze_book_kraken SET type = 'delta' WHERE seq = 11`,
      );
      await both(/book frame seq 11 has no delta entry for /);
      await mutate(
        path,
        `UPDATE bronze_book_kraken
           SET type = 'update', raw = '{"channel":"trade","type":"update","data":[]}'
         WHERE seq = 11`,
      );
      await both(/book frame seq 11: Not a book frame \(channel "trade"\)/);
      await mutate(
        path,
        `DELETE FROM bronze_book_kraken WHERE seq = 11`,
      );
      const unknown = await streamRecording(path, {}, () => undefined);
      assert.ok(unknown.books.symbols.length > 0);
      for (const symbol of unknown.books.symbols) {
        assert.throws(
          () => unknown.books.builder(symbol),
          new RangeError(`Unknown asset pair: ${symbol}`),
        );
      }
      // The simulator refuses it at start-up, as it refuses an unknown
      // trade symbol.
      assert.throws(
        () =>
          new Market({
            replay: { source: unknown.trades, books: unknown.books },
          }),
        RangeError,
      );
      assert.throws(
        () => unknown.books.builder("NOPE/USD"),
        /No recorded book for NOPE\/USD/,
      );
      await assert.rejects(
        loadRecording(path, {}, { pageRows: 0 }),
        RangeError,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
