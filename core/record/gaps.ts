/**
 * Exactly-once bookkeeping for Kraken trades: Kraken's trade ids are
 * contiguous per pair (WS_V2.md §3.3: "sequential per book"), so a jump in
 * the ids — after a reconnect, a stall, a dropped frame or a restart — is a
 * gap that can be named exactly and filled from REST `Trades`.
 *
 * - {@linkcode GapTracker} keeps the highest id seen per symbol and reports
 *   the ids skipped over.
 * - {@linkcode backfillCursor} and {@linkcode backfillStep} page through
 *   REST `Trades` (whose cursor is a time in nanoseconds, not an id) until
 *   the gap is covered, keeping only the missing ids.
 * - {@linkcode dedupeTrades} and {@linkcode missingIds} are the invariants
 *   the store and the validation hold the data to.
 *
 * @module
 */

/** Ids missing for one symbol: `fromId ≤ id ≤ toId`. */
export interface TradeGap {
  /** Symbol as the tracker was given it (the WS v2 symbol). */
  symbol: string;
  /** First missing id. */
  fromId: number;
  /** Last missing id. */
  toId: number;
  /** Time of trade `fromId - 1` (the last one known), µs since the Unix epoch. */
  afterUs: number;
}

/** Where one symbol stands: its highest trade id and that trade's time. */
export interface TrackedSymbol {
  /** Symbol. */
  symbol: string;
  /** Highest trade id seen. */
  lastId: number;
  /** Its time, µs. */
  lastUs: number;
}

/**
 * The highest trade id seen per symbol, and the gaps between it and newer
 * ids. Feed it every trade in id order within a frame (any source);
 * older or repeated ids change nothing.
 *
 * @example A skipped id
 * ```ts
 * import { GapTracker } from "./gaps.ts";
 * const tracker = new GapTracker();
 * tracker.observe("BTC/USD", 10, 1_000);
 * tracker.observe("BTC/USD", 13, 2_000); // { symbol: "BTC/USD", fromId: 11, toId: 12, afterUs: 1000 }
 * ```
 */
export class GapTracker {
  #last = new Map<string, TrackedSymbol>();

  /**
   * Start from what a store already holds (a restart), so the first live
   * trade reveals what was missed while the recorder was down.
   *
   * @param known The highest id per symbol.
   */
  constructor(known: Iterable<TrackedSymbol> = []) {
    for (const k of known) this.#last.set(k.symbol, { ...k });
  }

  /**
   * Note one trade.
   *
   * @param symbol Its symbol.
   * @param tradeId Its id.
   * @param tsUs Its time, µs.
   * @returns The gap it reveals, or `undefined`.
   */
  observe(symbol: string, tradeId: number, tsUs: number): TradeGap | undefined {
    const last = this.#last.get(symbol);
    if (last === undefined) {
      this.#last.set(symbol, { symbol, lastId: tradeId, lastUs: tsUs });
      return undefined;
    }
    if (tradeId <= last.lastId) return undefined;
    const gap = tradeId > last.lastId + 1
      ? {
        symbol,
        fromId: last.lastId + 1,
        toId: tradeId - 1,
        afterUs: last.lastUs,
      }
      : undefined;
    last.lastId = tradeId;
    last.lastUs = tsUs;
    return gap;
  }

  /**
   * Where a symbol stands.
   *
   * @param symbol The symbol.
   * @returns Its highest id and time, or `undefined` before its first trade.
   */
  get(symbol: string): TrackedSymbol | undefined {
    const last = this.#last.get(symbol);
    return last === undefined ? undefined : { ...last };
  }
}

/**
 * The REST `Trades` `since` cursor that starts a gap's backfill: one
 * nanosecond before the last known trade, because several trades can share
 * a microsecond and `since` is exclusive.
 *
 * @param gap The gap.
 * @returns A nanosecond cursor as decimal text.
 * @example Cursor
 * ```ts
 * import { backfillCursor } from "./gaps.ts";
 * backfillCursor({ symbol: "BTC/USD", fromId: 11, toId: 12, afterUs: 1_000 }); // "999999"
 * ```
 */
export function backfillCursor(gap: TradeGap): string {
  return (BigInt(gap.afterUs) * 1000n - 1n).toString();
}

/** What one REST page did for a gap. */
export interface BackfillStep<T> {
  /** The page's rows whose id is in the gap. */
  keep: T[];
  /** The cursor for the next page. */
  next: string;
  /**
   * `more`: ask again with `next`; `done`: the page reached `toId`;
   * `exhausted`: REST has nothing further (the gap cannot be filled now).
   */
  state: "more" | "done" | "exhausted";
}

/**
 * Take one REST `Trades` page for a gap. Pure.
 *
 * @param gap The gap being filled.
 * @param page The page's rows (any object with a numeric `tradeId`) and its
 *   `last` cursor.
 * @param cursor The cursor the page was asked with.
 * @returns The rows to keep, the next cursor and whether to go on.
 * @example A page that covers the gap
 * ```ts
 * import { backfillStep } from "./gaps.ts";
 * backfillStep({ symbol: "BTC/USD", fromId: 11, toId: 12, afterUs: 1 }, {
 *   rows: [{ tradeId: 10 }, { tradeId: 11 }, { tradeId: 12 }, { tradeId: 13 }],
 *   last: "5000",
 * }, "999").state; // "done"
 * ```
 */
export function backfillStep<T extends { tradeId: number }>(
  gap: TradeGap,
  page: { rows: readonly T[]; last: string },
  cursor: string,
): BackfillStep<T> {
  const keep = page.rows.filter((r) =>
    r.tradeId >= gap.fromId && r.tradeId <= gap.toId
  );
  let maxId = -Infinity;
  for (const r of page.rows) if (r.tradeId > maxId) maxId = r.tradeId;
  if (maxId >= gap.toId) return { keep, next: page.last, state: "done" };
  if (page.rows.length === 0 || page.last === cursor) {
    return { keep, next: page.last, state: "exhausted" };
  }
  return { keep, next: page.last, state: "more" };
}

/**
 * Keep the first row of each id, in input order.
 *
 * @param rows Rows with a string id.
 * @returns The rows without repeats.
 * @example Dedupe
 * ```ts
 * import { dedupeTrades } from "./gaps.ts";
 * dedupeTrades([{ tradeId: "a" }, { tradeId: "a" }, { tradeId: "b" }]).length; // 2
 * ```
 */
export function dedupeTrades<T extends { tradeId: string }>(
  rows: Iterable<T>,
): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const r of rows) {
    if (seen.has(r.tradeId)) continue;
    seen.add(r.tradeId);
    out.push(r);
  }
  return out;
}

/**
 * The ids missing between the lowest and highest of a set, as ranges.
 *
 * @param ids Trade ids of one symbol, any order, repeats allowed.
 * @returns Inclusive `[from, to]` ranges, ascending.
 * @example Two holes
 * ```ts
 * import { missingIds } from "./gaps.ts";
 * missingIds([1, 2, 5, 7]); // [[3, 4], [6, 6]]
 * ```
 */
export function missingIds(ids: Iterable<number>): [number, number][] {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur > prev + 1) out.push([prev + 1, cur - 1]);
  }
  return out;
}
