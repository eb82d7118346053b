/**
 * The recorder's decisions, without I/O: a received WS text frame (or a REST
 * `Trades` page) becomes bronze rows, their silver rows and the gaps they
 * reveal. The Deno side owns the socket, the REST calls and the store; it
 * calls this and writes what comes back.
 *
 * @module
 */

import type { TradesResult } from "../rest/types.ts";
import { parseWsFrame } from "../ws/protocol.ts";
import {
  bronzeFromRestTrades,
  bronzeFromWsText,
  type BronzeTrade,
  isTradeFrameText,
} from "./bronze.ts";
import {
  backfillStep,
  GapTracker,
  type TrackedSymbol,
  type TradeGap,
} from "./gaps.ts";
import { RecordInputError, type SilverTrade, toSilver } from "./silver.ts";

/** What one frame or page produced. */
export interface RecordBatch {
  /** Bronze rows, as received (including rejected ones). */
  bronze: BronzeTrade[];
  /** Their silver rows (rows that failed normalization are left out). */
  silver: SilverTrade[];
  /** Gaps revealed (WS only). */
  gaps: TradeGap[];
  /** Rows that could not be normalized, with the reason. */
  rejected: { row: BronzeTrade; error: RecordInputError }[];
}

/** Counters of {@linkcode TradeRecorder}. */
export interface RecorderCounts {
  /** Trade frames seen. */
  tradeFrames: number;
  /** Trade frames dropped as malformed. */
  malformedFrames: number;
  /** Trade rows without a trade id. */
  skippedRows: number;
  /** Rows that failed normalization. */
  rejectedRows: number;
  /** Gaps found. */
  gaps: number;
}

/** Sockets whose connection id is remembered (the newest ones). */
const MAX_SOCKETS = 16;

/**
 * Turns received frames and backfill pages into bronze/silver rows and gaps.
 *
 * @example One frame
 * ```ts
 * import { TradeRecorder } from "./recorder.ts";
 * const r = new TradeRecorder();
 * r.onFrame('{"channel":"status","type":"update","data":[{"system":"online","connection_id":99}]}', 1, 0);
 * const batch = r.onFrame('{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":1.5,"qty":2.0,"ord_type":"limit","trade_id":1,"timestamp":"2025-01-01T00:00:00.000001Z"}]}', 1, 5);
 * batch.bronze[0]?.connectionId; // "99"
 * batch.silver[0]?.side; // "SELL"
 * ```
 */
export class TradeRecorder {
  #tracker: GapTracker;
  #connectionIds = new Map<number, string>();
  #counts: RecorderCounts = {
    tradeFrames: 0,
    malformedFrames: 0,
    skippedRows: 0,
    rejectedRows: 0,
    gaps: 0,
  };

  /**
   * Create a recorder.
   *
   * @param known Highest stored trade id per WS symbol (after a restart).
   */
  constructor(known: Iterable<TrackedSymbol> = []) {
    this.#tracker = new GapTracker(known);
  }

  /** Counters so far. */
  get counts(): RecorderCounts {
    return { ...this.#counts };
  }

  /**
   * The WS `connection_id` a socket announced in its status frame.
   *
   * @param socket The socket's number.
   * @returns The id, or `""` before its status frame.
   */
  connectionId(socket: number): string {
    return this.#connectionIds.get(socket) ?? "";
  }

  /**
   * Where a symbol's trade ids stand.
   *
   * @param symbol WS v2 symbol.
   * @returns Highest id seen and its time, if any.
   */
  tracked(symbol: string): TrackedSymbol | undefined {
    return this.#tracker.get(symbol);
  }

  /**
   * Take one received text frame.
   *
   * @param text The frame as received.
   * @param socket The number of the socket it came on.
   * @param receivedUs Receive time, µs.
   * @returns Rows and gaps (empty for frames other than trades).
   */
  onFrame(text: string, socket: number, receivedUs: number): RecordBatch {
    if (!isTradeFrameText(text)) {
      if (text.includes('"status"')) {
        const frame = parseWsFrame(text);
        if (frame.kind === "status" && frame.status.connectionId) {
          this.#connectionIds.delete(socket);
          this.#connectionIds.set(socket, frame.status.connectionId);
          // One entry per socket ever opened would grow with every
          // reconnect of a long run: only the latest few can still send.
          for (const old of this.#connectionIds.keys()) {
            if (this.#connectionIds.size <= MAX_SOCKETS) break;
            this.#connectionIds.delete(old);
          }
        }
      }
      return { bronze: [], silver: [], gaps: [], rejected: [] };
    }
    this.#counts.tradeFrames++;
    const { rows, skipped, malformed } = bronzeFromWsText(text, {
      receivedUs,
      connectionId: this.#connectionIds.get(socket) ?? "",
    });
    if (malformed !== undefined) this.#counts.malformedFrames++;
    this.#counts.skippedRows += skipped;
    const batch = this.#normalize(rows);
    // Gaps are judged in id order; the WS symbol is what REST is asked for.
    const ordered = [...batch.silver].sort((x, y) =>
      x.exchangeTradeId - y.exchangeTradeId
    );
    for (const s of ordered) {
      const symbol = s.original.symbol ?? s.symbol;
      const gap = this.#tracker.observe(symbol, s.exchangeTradeId, s.tsUs);
      if (gap !== undefined) {
        batch.gaps.push(gap);
        this.#counts.gaps++;
      }
    }
    return batch;
  }

  /**
   * Take one REST `Trades` page fetched for a gap: keeps only the gap's ids.
   *
   * @param gap The gap being filled.
   * @param page The parsed page.
   * @param options The cursor it was asked with and the receive time.
   * @returns The rows to write, the next cursor and whether to go on.
   */
  onBackfillPage(
    gap: TradeGap,
    page: TradesResult,
    options: { cursor: string; receivedUs: number },
  ): RecordBatch & { next: string; state: "more" | "done" | "exhausted" } {
    const { rows, skipped } = bronzeFromRestTrades(
      gap.symbol,
      page,
      options.receivedUs,
    );
    this.#counts.skippedRows += skipped;
    const step = backfillStep(gap, { rows, last: page.last }, options.cursor);
    return {
      ...this.#normalize(step.keep),
      next: step.next,
      state: step.state,
    };
  }

  #normalize(rows: BronzeTrade[]): RecordBatch {
    const batch: RecordBatch = {
      bronze: [],
      silver: [],
      gaps: [],
      rejected: [],
    };
    for (const row of rows) {
      // Bronze keeps every row as received, even one silver cannot read.
      batch.bronze.push(row);
      try {
        batch.silver.push(toSilver(row));
      } catch (error) {
        if (!(error instanceof RecordInputError)) throw error;
        this.#counts.rejectedRows++;
        batch.rejected.push({ row, error });
      }
    }
    return batch;
  }
}
