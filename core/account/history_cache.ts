/**
 * An incremental cache of `TradesHistory` (or `Ledgers`) rows, keyed by
 * txid, in storage the caller injects (a file in the data directory on the
 * server, a Map in tests).
 *
 * Kraken pages both endpoints 50 rows at a time, newest first, with `ofs`
 * and a total `count` (docs/kraken/REST.md §5). A cold hydration walks
 * every page. A warm one walks from the newest page and stops at the first
 * page that holds a cached id: the cache is only ever saved complete (the
 * whole history up to its newest row), so everything older is known.
 * Rows that arrive while paging shift older rows to later pages; that gives
 * duplicates (harmless, keyed by id), never gaps.
 *
 * @module
 */

/** What the cache keeps. */
export interface CachedHistory<T> {
  /** Rows by txid. */
  rows: Record<string, T>;
  /** Whether the rows are the whole history up to the newest one. */
  complete: boolean;
}

/** Storage of a {@linkcode CachedHistory}. */
export interface HistoryStore<T> {
  /** The saved cache, or `undefined` when nothing was saved. */
  load(): Promise<CachedHistory<T> | undefined>;
  /**
   * Saves new rows. `added` holds only rows not saved before; `all` is the
   * whole cache, for stores that rewrite.
   */
  save(added: Record<string, T>, all: CachedHistory<T>): Promise<void>;
}

/** One page: rows by txid (newest first) and the total count. */
export interface HistoryPage<T> {
  /** Rows by txid. */
  rows: Record<string, T>;
  /** Matches across every page. */
  count: number;
}

/** What a hydration did. */
export interface HydrationStats {
  /** `cold` (no usable cache) or `warm`. */
  mode: "cold" | "warm";
  /** Pages fetched. */
  pages: number;
  /** Rows not cached before. */
  added: number;
  /** Rows now cached. */
  total: number;
}

/** Kraken's page size for TradesHistory, Ledgers and ClosedOrders. */
export const HISTORY_PAGE_SIZE = 50;

/**
 * Brings a cache up to date and returns every row.
 *
 * @param fetchPage Fetches the page at an offset (`ofs`).
 * @param store The cache's storage.
 * @returns All rows and what was done.
 * @throws What `fetchPage` or the store throw; nothing is saved then.
 * @example From a Map-backed store
 * ```ts
 * import { hydrateHistory, memoryHistoryStore } from "./history_cache.ts";
 * const store = memoryHistoryStore<string>();
 * const { stats } = await hydrateHistory(async () => ({ rows: { T1: "a" }, count: 1 }), store);
 * stats.added; // 1
 * ```
 */
export async function hydrateHistory<T>(
  fetchPage: (ofs: number) => Promise<HistoryPage<T>>,
  store: HistoryStore<T>,
): Promise<{ rows: Record<string, T>; stats: HydrationStats }> {
  const cached = await store.load();
  const warm = cached !== undefined && cached.complete;
  const rows: Record<string, T> = warm ? { ...cached.rows } : {};
  const added: Record<string, T> = {};
  let pages = 0;
  let ofs = 0;
  for (;;) {
    const page = await fetchPage(ofs);
    pages++;
    const ids = Object.keys(page.rows);
    let reachedCache = false;
    for (const id of ids) {
      if (Object.hasOwn(rows, id)) {
        if (warm && !Object.hasOwn(added, id)) reachedCache = true;
        continue;
      }
      rows[id] = page.rows[id] as T;
      added[id] = page.rows[id] as T;
    }
    ofs += ids.length;
    if (reachedCache || ids.length === 0 || ofs >= page.count) break;
  }
  const all = { rows, complete: true };
  if (Object.keys(added).length > 0 || !warm) await store.save(added, all);
  return {
    rows,
    stats: {
      mode: warm ? "warm" : "cold",
      pages,
      added: Object.keys(added).length,
      total: Object.keys(rows).length,
    },
  };
}

/**
 * A store in memory (tests, or a process that keeps no files).
 *
 * @returns The store.
 * @example Memory
 * ```ts
 * import { memoryHistoryStore } from "./history_cache.ts";
 * await memoryHistoryStore<number>().load(); // undefined
 * ```
 */
export function memoryHistoryStore<T>(): HistoryStore<T> & {
  saves: number;
} {
  let saved: CachedHistory<T> | undefined;
  return {
    saves: 0,
    load() {
      return Promise.resolve(
        saved === undefined
          ? undefined
          : { rows: { ...saved.rows }, complete: saved.complete },
      );
    },
    save(_added, all) {
      this.saves++;
      saved = { rows: { ...all.rows }, complete: all.complete };
      return Promise.resolve();
    },
  };
}
