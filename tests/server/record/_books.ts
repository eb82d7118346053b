/**
 * A recorded market with books, for the book tests of the recorder and the
 * replay: five minutes of a simulator's WS `trade` and `book` (depth 10)
 * frames for BTC/USD and ETH/USD, the book frames taken by core's
 * `BookRecorder` as `krakked record --channels trade,book` takes them.
 */
import assert from "node:assert/strict";
import {
  BookRecorder,
  type BookSnapshotRow,
  type BronzeBookRow,
} from "../../../core/record/book.ts";
import { Market } from "../../../server/sim/exchange/market.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { resolvePair } from "../../../server/sim/exchange/pairs.ts";
import { emptyDemand, WsFeed } from "../../../server/sim/ws/feed.ts";

/** The recorded pairs: WS symbol and REST key. */
export const BOOK_PAIRS = [
  ["BTC/USD", "XXBTZUSD"],
  ["ETH/USD", "XETHZUSD"],
] as const;

/** What {@linkcode simulatedBooks} recorded. */
export interface SimulatedBooks {
  /** Trade frames as received (for `RecordStore.writeFrames`). */
  tradeFrames: { text: string; receivedUs: number }[];
  /** Book frame rows, in receive order. */
  rows: BronzeBookRow[];
  /** Verified books copied every 100 steps (25 s). */
  snapshots: BookSnapshotRow[];
  /** When the recording starts, µs (the first snapshots' receive time). */
  startUs: number;
}

/**
 * Record 1,200 steps of 250 ms. One BTC/USD update is sent with a corrupted
 * checksum (step 400) and followed, 2 s later, by a fresh snapshot (a
 * resubscribe), so a recording has one mismatch and a resync.
 *
 * @returns The frames, rows and snapshots.
 */
export function simulatedBooks(): SimulatedBooks {
  let t = Date.UTC(2025, 5, 15, 12);
  const market = new Market({ seed: 41, now: () => t });
  const feed = new WsFeed(market);
  const demand = emptyDemand();
  demand.trade = true;
  demand.bookDepth = 10;
  const wants = new Map(BOOK_PAIRS.map(([, key]) => [key, demand]));
  feed.advance(t, wants);
  const recorder = new BookRecorder({
    symbols: BOOK_PAIRS.map(([symbol]) => {
      const pair = resolvePair(symbol)!;
      return {
        symbol,
        priceDecimals: pair.pairDecimals,
        qtyDecimals: pair.lotDecimals,
      };
    }),
  });
  const tradeFrames: { text: string; receivedUs: number }[] = [];
  const rows: BronzeBookRow[] = [];
  const snapshots: BookSnapshotRow[] = [];
  const receipt = () => ({
    stream: "rec:1",
    receivedUs: t * 1000,
    connectionId: "c1",
  });
  const startUs = t * 1000;
  for (const [, key] of BOOK_PAIRS) {
    rows.push(...recorder.onFrame(feed.bookSnapshot(key, 10), receipt()));
  }
  for (let i = 1; i <= 1200; i++) {
    t += 250;
    const step = feed.advance(t, wants);
    for (const [symbol, key] of BOOK_PAIRS) {
      const pairStep = step.pair(key);
      for (const text of pairStep?.tradeUpdates() ?? []) {
        tradeFrames.push({ text, receivedUs: t * 1000 });
      }
      const corrupt = symbol === "BTC/USD" && i === 400;
      const update = pairStep?.bookUpdate(10, { corrupt });
      if (update !== undefined) {
        rows.push(...recorder.onFrame(update, receipt()));
      }
      if (symbol === "BTC/USD" && i === 408) {
        rows.push(...recorder.onFrame(feed.bookSnapshot(key, 10), receipt()));
      }
      if (i % 100 === 0) {
        const snap = recorder.snapshot(symbol);
        if (snap) snapshots.push(snap);
      }
    }
  }
  assert.ok(
    rows.some((r) => r.status === "mismatch"),
    "the corrupted frame is recorded as a mismatch",
  );
  return { tradeFrames, rows, snapshots, startUs };
}

/**
 * Write {@linkcode simulatedBooks} into a store at `path`, as `krakked record
 * --channels trade,book` does.
 *
 * @returns When the recording starts, µs.
 */
export async function recordBookMarket(path: string): Promise<number> {
  const { tradeFrames, rows, snapshots, startUs } = simulatedBooks();
  await using store = await RecordStore.open(path);
  await store.writeFrames(
    tradeFrames,
    tradeFrames.at(-1)!.receivedUs + 86_400e6,
  );
  await store.writeBook(rows, snapshots);
  return startUs;
}
