/**
 * What the import tests share: stores filled from generated trades through
 * both write paths (bulk frames, core's recorder for REST backfill and a
 * row silver rejects) plus book frames and snapshots, and full table dumps
 * to compare two stores row for row.
 *
 * @module
 */
import { BookRecorder, type BronzeBookRow } from "../../../core/record/book.ts";
import { GOLD_TIMEFRAMES } from "../../../core/record/gold.ts";
import { TradeRecorder } from "../../../core/record/recorder.ts";
import type { BronzeTrade } from "../../../core/record/bronze.ts";
import { RecordStore } from "../../../server/record/store.ts";
import { genSymbolInfos, type GenTrade, tradeFrameText } from "./_trades.ts";

/** A frame of generated trades and when it was received. */
export interface TestFrame {
  text: string;
  receivedUs: number;
}

/** Generated trades as WS frames of up to `per` trades, received 700 µs after their first. */
export function framesOf(trades: readonly GenTrade[], per = 5): TestFrame[] {
  const out: TestFrame[] = [];
  for (let i = 0; i < trades.length; i += per) {
    out.push({
      text: tradeFrameText(trades.slice(i, i + per)),
      receivedUs: trades[i]!.tsUs + 700,
    });
  }
  return out;
}

/** Far past every generated trade: every bucket is closed. */
export const LATER_US = Date.UTC(2030, 0, 1) * 1000;

/**
 * Write frames into a store: the bulk path in batches, frames it leaves
 * through core, every gold bucket built. `silverUs` per frame makes silver
 * times independent of how frames are grouped into calls.
 */
export async function writeAll(
  store: RecordStore,
  frames: readonly TestFrame[],
  options: { batch?: number; rest?: readonly TestFrame[] } = {},
): Promise<void> {
  const batch = options.batch ?? 200;
  for (let i = 0; i < frames.length; i += batch) {
    const part = frames.slice(i, i + batch);
    const r = await store.writeFrames(part, LATER_US, {
      connectionId: "c1",
      silverUs: part[0]!.receivedUs + 1000,
    });
    if (r.fallback.length > 0) {
      const recorder = new TradeRecorder();
      const bronze: BronzeTrade[] = [];
      const silver: ReturnType<TradeRecorder["onFrame"]>["silver"] = [];
      for (const k of r.fallback) {
        const b = recorder.onFrame(part[k]!.text, 1, part[k]!.receivedUs);
        bronze.push(...b.bronze);
        silver.push(...b.silver);
      }
      await store.write({ bronze, silver }, LATER_US, {
        silverUs: part[0]!.receivedUs + 1000,
      });
    }
  }
  // REST-sourced rows (core path, source rest_backfill).
  for (const f of options.rest ?? []) {
    const recorder = new TradeRecorder();
    const b = recorder.onFrame(f.text, 1, f.receivedUs);
    const asRest = (r: BronzeTrade): BronzeTrade => ({
      ...r,
      source: "rest_backfill",
    });
    await store.write(
      {
        bronze: b.bronze.map(asRest),
        silver: b.silver.map((s) => ({ ...s, source: "rest_backfill" })),
      },
      LATER_US,
      { silverUs: f.receivedUs + 1000 },
    );
  }
  await store.flushGold(LATER_US);
}

/** A store at `path` with the generated symbols registered. */
export async function openStore(path: string): Promise<RecordStore> {
  const store = await RecordStore.open(path);
  await store.registerSymbols(genSymbolInfos());
  return store;
}

/** A frame whose one trade silver rejects (price 0): bronze keeps it. */
export function rejectedFrame(
  symbol: string,
  id: number,
  tsUs: number,
): TestFrame {
  const ts = new Date(tsUs / 1000).toISOString().replace("Z", "000Z");
  return {
    text:
      `{"channel":"trade","type":"update","data":[{"symbol":"${symbol}","side":"buy","price":0,"qty":1.5,"ord_type":"limit","trade_id":${id},"timestamp":"${ts}"}]}`,
    receivedUs: tsUs + 900,
  };
}

/**
 * Book frames of BTC/USD (two snapshots on either side of `atUs`) and one
 * snapshot row.
 *
 * @returns The frame rows written, and what the write stored.
 */
export async function writeBooks(
  store: RecordStore,
  atUs: number,
): Promise<{
  rows: BronzeBookRow[];
  written: Awaited<ReturnType<RecordStore["writeBook"]>>;
}> {
  const books = new BookRecorder({
    symbols: [{ symbol: "BTC/USD" }],
    nextSeq: await store.nextBookSeq(),
  });
  const frame =
    '{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD",' +
    '"bids":[{"price":45283.5,"qty":0.10000000}],' +
    '"asks":[{"price":45285.2,"qty":0.00100000}],"checksum":2383917627}]}';
  const rows = [
    ...books.onFrame(frame, {
      stream: "r:1",
      receivedUs: atUs - 60_000_000,
      connectionId: "c",
    }),
    ...books.onFrame(frame, {
      stream: "r:1",
      receivedUs: atUs + 60_000_000,
      connectionId: "c",
    }),
  ];
  const written = await store.writeBook(rows, [books.snapshot("BTC/USD")!]);
  return { rows, written };
}

/** Tables an import fills or rebuilds, and the columns a compare leaves out. */
export const COMPARED: readonly { table: string; exclude: string[] }[] = [
  { table: "bronze_trades_kraken", exclude: [] },
  { table: "bronze_frames_kraken", exclude: [] },
  { table: "silver_trades_data", exclude: [] },
  { table: "bronze_book_kraken", exclude: [] },
  { table: "book_snapshots", exclude: [] },
  // Gold is rebuilt: the same rows, built at another time.
  ...GOLD_TIMEFRAMES.map((tf) => ({
    table: `ohlcv_${tf}`,
    exclude: ["built_at"],
  })),
];

/**
 * Every row of the compared tables as sorted text (all columns but the
 * excluded), per table.
 */
export async function dump(
  store: RecordStore,
  options: { excludeSilverAt?: boolean } = {},
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const { table, exclude } of COMPARED) {
    const ex = [...exclude];
    if (options.excludeSilverAt && table === "silver_trades_data") {
      ex.push("silver_at");
    }
    const rows = await store.query(
      `SELECT ${ex.length === 0 ? "*" : `* EXCLUDE (${ex.join(", ")})`}
       FROM ${table}`,
    );
    out[table] = rows.map((r) =>
      JSON.stringify(r, (_, v) => typeof v === "bigint" ? String(v) : v)
    ).sort();
  }
  return out;
}
