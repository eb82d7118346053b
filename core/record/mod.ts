/**
 * The market-data recorder's runtime-neutral core: Kraken WS v2 and REST
 * trades into BRONZE rows (as sent), SILVER rows (one exchange-neutral
 * schema) and GOLD candles (OHLCV at 1m … 1d), with gap detection on
 * Kraken's contiguous trade ids and a REST `Trades` backfill plan; and
 * `book` frames recorded so a book can be rebuilt and verified at any instant.
 * docs/recorder.md describes the tables.
 *
 * @module
 */

export {
  BookRecorder,
  type BookRowStatus,
  type BookSnapshotRow,
  type BookSymbol,
  type BronzeBookRow,
  isBookFrameText,
  rebuildBook,
  type RebuildFrame,
  type RebuiltBook,
  snapshotFrameText,
  storedBookEntries,
  type StoredBookEntry,
} from "./book.ts";
export {
  bronzeFromRestTrades,
  bronzeFromWsText,
  type BronzeSource,
  type BronzeTrade,
  isTradeFrameText,
  type Receipt,
} from "./bronze.ts";
export {
  backfillCursor,
  type BackfillStep,
  backfillStep,
  dedupeTrades,
  GapTracker,
  missingIds,
  type TrackedSymbol,
  type TradeGap,
} from "./gaps.ts";
export {
  bucketStartUs,
  GOLD_TIMEFRAMES,
  type GoldCandle,
  goldFromTrades,
  type GoldOptions,
  type GoldTimeframe,
  isBucketClosed,
  rollupGold,
  spanUs,
  vwapText,
} from "./gold.ts";
export {
  type RecordBatch,
  type RecorderCounts,
  TradeRecorder,
} from "./recorder.ts";
export {
  canonicalSymbol,
  formatTimestampUs,
  KRAKEN_EXCHANGE,
  parseTimestampUs,
  RecordInputError,
  type RecordInputErrorKind,
  type SilverTrade,
  silverTradeId,
  toSilver,
} from "./silver.ts";
export { type FrameTap, tapWebSocket } from "./tap.ts";
