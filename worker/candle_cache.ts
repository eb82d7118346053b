/**
 * The browser's closed-candle cache: an {@linkcode OhlcStore} over a
 * key-value store (IndexedDB through idb-keyval in the worker).
 *
 * Layout (schema {@linkcode CANDLE_SCHEMA_VERSION}):
 * - `schema` → `{ version }`.
 * - `i|<tf>|<pair>` → the series index: chunk starts, newest open time, count.
 * - `c|<tf>|<pair>|<chunkStartSec>` → up to {@linkcode CHUNK_CANDLES} candles
 *   as REST-style rows. Chunks are aligned to `CHUNK_CANDLES × interval`, so
 *   a candle always lands in the same chunk and an upsert rewrites only the
 *   chunks it touches (usually the newest one) plus the small index, in one
 *   transaction. No record grows without bound: a series keeps at most
 *   `maxChunksPerSeries` chunks, dropping the oldest.
 *
 * Schema 1 (one ever-growing `candles|<pair>|<tf>` array per series) is
 * migrated into chunks; any other or unreadable version is dropped.
 *
 * Any storage failure (QuotaExceededError, InvalidStateError, a private mode
 * that refuses IndexedDB, …) switches the cache to memory for good: the
 * failing call is answered from memory, the failure is reported once through
 * `onStorageError`, and nothing is thrown at the caller.
 *
 * @module
 */

import {
  type Candle,
  candleFromRow,
  candleToRow,
  mergeCandles,
  type Timeframe,
  timeframeToSeconds,
} from "@krakked/core/market/ohlc";
import {
  diffCandles,
  MemoryOhlcStore,
  type OhlcStore,
  type UpsertResult,
} from "@krakked/core/market/ohlc_store";
import type { OhlcRow } from "@krakked/core/rest/types";
import type { KeyValueStore } from "./kv_store.ts";
import type { StorageView } from "./protocol.ts";

/** The current on-disk layout. */
export const CANDLE_SCHEMA_VERSION = 2;

/** Candles per chunk: small writes, few reads for a chart's worth. */
export const CHUNK_CANDLES = 500;

/** A storage failure, reported once when the cache falls back to memory. */
export interface StorageFailure {
  /** DOMException name, e.g. `QuotaExceededError`. */
  name: string;
  /** Its message. */
  message: string;
  /** What the cache was doing: `open`, `read` or `write`. */
  operation: "open" | "read" | "write";
}

/** Options of {@linkcode CandleCache.open}. */
export interface CandleCacheOptions {
  /** Called once when storage fails and the cache falls back to memory. */
  onStorageError?: (failure: StorageFailure) => void;
  /** Most chunks kept per series (default 20: 10 000 candles). */
  maxChunksPerSeries?: number;
}

/** What {@linkcode CandleCache.open} did to the stored data. */
export type SchemaOutcome = "fresh" | "current" | "migrated" | "dropped";

interface SeriesIndex {
  chunks: number[];
  latest: number | null;
  count: number;
}

interface Chunk {
  rows: OhlcRow[];
}

/** Schema 1 key of a series (kept for migration). */
function legacyKey(pair: string, timeframe: string): string {
  return `candles|${pair}|${timeframe}`;
}

function indexKey(pair: string, timeframe: Timeframe): string {
  return `i|${timeframe}|${pair}`;
}

function chunkKey(pair: string, timeframe: Timeframe, start: number): string {
  return `c|${timeframe}|${pair}|${start}`;
}

function failureOf(
  error: unknown,
  operation: StorageFailure["operation"],
): StorageFailure {
  const name = error instanceof Error || error instanceof DOMException
    ? error.name
    : "Error";
  const message = error instanceof Error || error instanceof DOMException
    ? error.message
    : String(error);
  return { name, message, operation };
}

function isTimeframe(value: string): value is Timeframe {
  try {
    timeframeToSeconds(value as Timeframe);
    return true;
  } catch {
    return false;
  }
}

/**
 * Closed candles per pair and timeframe, chunked in a key-value store, with
 * a memory fallback.
 *
 * @example Cache and read back
 * ```ts
 * import { CandleCache } from "./candle_cache.ts";
 * import { memoryKeyValueStore } from "./kv_store.ts";
 * const cache = await CandleCache.open(memoryKeyValueStore());
 * await cache.upsert("XBTUSD", "1m", [{ openTimeSec: 60, open: "1", high: "1", low: "1", close: "1", vwap: "1", volume: "1", count: 1 }]);
 * await cache.last("XBTUSD", "1m", 10); // one candle
 * ```
 */
export class CandleCache implements OhlcStore {
  #kv: KeyValueStore | undefined;
  #memory = new MemoryOhlcStore();
  #seeded = new Set<string>();
  #indexes = new Map<string, SeriesIndex>();
  #locks = new Map<string, Promise<unknown>>();
  #onStorageError: ((failure: StorageFailure) => void) | undefined;
  #maxChunks: number;
  #reason: string | undefined;
  #schema: SchemaOutcome = "fresh";

  private constructor(
    kv: KeyValueStore | undefined,
    options: CandleCacheOptions,
  ) {
    this.#kv = kv;
    this.#onStorageError = options.onStorageError;
    this.#maxChunks = Math.max(1, options.maxChunksPerSeries ?? 20);
    if (kv === undefined) this.#reason = "IndexedDB is not available";
  }

  /**
   * Open the cache: check the schema version, migrate or drop old data.
   * Never throws; a store that fails here puts the cache in memory mode.
   *
   * @param kv The key-value store, or `undefined` for memory only.
   * @param options Failure callback and size cap.
   * @returns The cache.
   */
  static async open(
    kv: KeyValueStore | undefined,
    options: CandleCacheOptions = {},
  ): Promise<CandleCache> {
    const cache = new CandleCache(kv, options);
    if (kv !== undefined) {
      try {
        cache.#schema = await cache.#checkSchema(kv);
      } catch (error) {
        cache.#degrade(failureOf(error, "open"));
      }
    }
    return cache;
  }

  /** Where candles live now. */
  get storage(): StorageView {
    return this.#kv === undefined
      ? { kind: "memory", reason: this.#reason ?? "memory" }
      : { kind: "indexeddb" };
  }

  /** What opening did to the stored data. */
  get schemaOutcome(): SchemaOutcome {
    return this.#schema;
  }

  async #checkSchema(kv: KeyValueStore): Promise<SchemaOutcome> {
    const [meta] = await kv.getMany<{ version?: unknown }>(["schema"]);
    const version = meta?.version;
    if (version === CANDLE_SCHEMA_VERSION) return "current";
    const all = await kv.keys();
    if (meta === undefined && all.length === 0) {
      await kv.setMany([["schema", { version: CANDLE_SCHEMA_VERSION }]]);
      return "fresh";
    }
    if (version === 1) {
      await this.#migrateFromV1(kv, all);
      return "migrated";
    }
    // Unknown, newer or unreadable layout: the cache is only a cache.
    await kv.clear();
    await kv.setMany([["schema", { version: CANDLE_SCHEMA_VERSION }]]);
    return "dropped";
  }

  async #migrateFromV1(kv: KeyValueStore, all: string[]): Promise<void> {
    const legacy = all.filter((key) => key.startsWith("candles|"));
    const values = await kv.getMany<unknown>(legacy);
    await kv.clear();
    await kv.setMany([["schema", { version: CANDLE_SCHEMA_VERSION }]]);
    this.#indexes.clear();
    for (let i = 0; i < legacy.length; i++) {
      const [, pair, timeframe] = (legacy[i] as string).split("|");
      const rows = values[i];
      if (
        pair === undefined || timeframe === undefined ||
        !isTimeframe(timeframe) || !Array.isArray(rows)
      ) continue;
      const candles = rows.filter(isCandle);
      if (candles.length > 0) {
        await this.#upsertStored(kv, pair, timeframe, candles);
      }
    }
  }

  /**
   * Insert or replace candles by open time (idempotent: the same candles
   * twice change nothing and write nothing).
   *
   * @param pair Canonical pair id.
   * @param timeframe Timeframe.
   * @param candles Closed candles, any order.
   * @returns New and changed counts.
   */
  upsert(
    pair: string,
    timeframe: Timeframe,
    candles: readonly Candle[],
  ): Promise<UpsertResult> {
    if (candles.length === 0) return Promise.resolve({ added: 0, changed: 0 });
    return this.#serial(pair, timeframe, async () => {
      const kv = this.#kv;
      if (kv !== undefined) {
        try {
          return await this.#upsertStored(kv, pair, timeframe, candles);
        } catch (error) {
          this.#degrade(failureOf(error, "write"));
        }
      }
      await this.#seed(pair, timeframe);
      return this.#memory.upsert(pair, timeframe, candles);
    });
  }

  /**
   * The newest `n` candles, oldest first.
   *
   * @param pair Canonical pair id.
   * @param timeframe Timeframe.
   * @param n How many.
   * @returns Up to `n` candles.
   */
  last(pair: string, timeframe: Timeframe, n: number): Promise<Candle[]> {
    if (n <= 0) return Promise.resolve([]);
    return this.#read(pair, timeframe, async (kv, index) => {
      const out: Candle[][] = [];
      let have = 0;
      let end = index.chunks.length;
      while (have < n && end > 0) {
        const take = Math.min(end, Math.ceil((n - have) / CHUNK_CANDLES) + 1);
        const starts = index.chunks.slice(end - take, end);
        end -= take;
        const chunks = await kv.getMany<Chunk>(
          starts.map((s) => chunkKey(pair, timeframe, s)),
        );
        const candles = chunks.flatMap((c) => rowsOf(c));
        out.unshift(candles);
        have += candles.length;
      }
      return out.flat().slice(-n);
    }, () => this.#memory.last(pair, timeframe, n));
  }

  /**
   * Candles opened at or after `sinceSec`, oldest first.
   *
   * @param pair Canonical pair id.
   * @param timeframe Timeframe.
   * @param sinceSec Earliest open time, Unix seconds.
   * @returns The candles.
   */
  since(
    pair: string,
    timeframe: Timeframe,
    sinceSec: number,
  ): Promise<Candle[]> {
    const span = CHUNK_CANDLES * timeframeToSeconds(timeframe);
    return this.#read(pair, timeframe, async (kv, index) => {
      const starts = index.chunks.filter((s) => s + span > sinceSec);
      const chunks = await kv.getMany<Chunk>(
        starts.map((s) => chunkKey(pair, timeframe, s)),
      );
      return chunks.flatMap((c) => rowsOf(c)).filter((c) =>
        c.openTimeSec >= sinceSec
      );
    }, () => this.#memory.since(pair, timeframe, sinceSec));
  }

  /**
   * Open time of the newest candle.
   *
   * @param pair Canonical pair id.
   * @param timeframe Timeframe.
   * @returns Unix seconds, or `null`.
   */
  latestOpenTime(pair: string, timeframe: Timeframe): Promise<number | null> {
    return this.#read(
      pair,
      timeframe,
      (_kv, index) => Promise.resolve(index.latest),
      () => this.#memory.latestOpenTime(pair, timeframe),
    );
  }

  /**
   * How many candles a series holds.
   *
   * @param pair Canonical pair id.
   * @param timeframe Timeframe.
   * @returns The count.
   */
  async count(pair: string, timeframe: Timeframe): Promise<number> {
    return (await this.since(pair, timeframe, -Infinity)).length;
  }

  async #read<T>(
    pair: string,
    timeframe: Timeframe,
    stored: (kv: KeyValueStore, index: SeriesIndex) => Promise<T>,
    memory: () => Promise<T>,
  ): Promise<T> {
    return await this.#serial(pair, timeframe, async () => {
      const kv = this.#kv;
      if (kv !== undefined) {
        try {
          return await stored(kv, await this.#index(kv, pair, timeframe));
        } catch (error) {
          this.#degrade(failureOf(error, "read"));
        }
      }
      await this.#seed(pair, timeframe);
      return await memory();
    });
  }

  async #index(
    kv: KeyValueStore,
    pair: string,
    timeframe: Timeframe,
  ): Promise<SeriesIndex> {
    const key = indexKey(pair, timeframe);
    const known = this.#indexes.get(key);
    if (known !== undefined) return known;
    const [stored] = await kv.getMany<SeriesIndex>([key]);
    const index = stored !== undefined && Array.isArray(stored.chunks)
      ? stored
      : { chunks: [], latest: null, count: 0 };
    this.#indexes.set(key, index);
    return index;
  }

  async #upsertStored(
    kv: KeyValueStore,
    pair: string,
    timeframe: Timeframe,
    candles: readonly Candle[],
  ): Promise<UpsertResult> {
    const span = CHUNK_CANDLES * timeframeToSeconds(timeframe);
    const incoming = mergeCandles([], candles);
    const groups = new Map<number, Candle[]>();
    for (const candle of incoming) {
      const start = Math.floor(candle.openTimeSec / span) * span;
      const group = groups.get(start);
      if (group === undefined) groups.set(start, [candle]);
      else group.push(candle);
    }
    const index = await this.#index(kv, pair, timeframe);
    const starts = [...groups.keys()];
    const existing = await kv.getMany<Chunk>(
      starts.map((s) => chunkKey(pair, timeframe, s)),
    );
    const writes: [string, unknown][] = [];
    let added = 0;
    let changed = 0;
    const chunkSet = new Set(index.chunks);
    let latest = index.latest;
    for (let i = 0; i < starts.length; i++) {
      const start = starts[i] as number;
      const held = rowsOf(existing[i]);
      const fresh = groups.get(start) as Candle[];
      const diff = diffCandles(held, fresh);
      if (diff.added + diff.changed === 0) continue;
      added += diff.added;
      changed += diff.changed;
      const merged = mergeCandles(held, fresh);
      writes.push([chunkKey(pair, timeframe, start), {
        rows: merged.map(candleToRow),
      }]);
      chunkSet.add(start);
      const newest = (merged.at(-1) as Candle).openTimeSec;
      if (latest === null || newest > latest) latest = newest;
    }
    if (writes.length === 0) return { added: 0, changed: 0 };
    const chunks = [...chunkSet].sort((a, b) => a - b);
    const dropped = chunks.length > this.#maxChunks
      ? chunks.splice(0, chunks.length - this.#maxChunks)
      : [];
    const next: SeriesIndex = {
      chunks,
      latest,
      // Approximate after pruning; exact counts come from reads.
      count: Math.max(0, index.count + added),
    };
    const keptWrites = writes.filter(([key]) =>
      !dropped.some((s) => key === chunkKey(pair, timeframe, s))
    );
    keptWrites.push([indexKey(pair, timeframe), next]);
    await kv.setMany(keptWrites);
    if (dropped.length > 0) {
      await kv.delMany(dropped.map((s) => chunkKey(pair, timeframe, s)));
    }
    this.#indexes.set(indexKey(pair, timeframe), next);
    return { added, changed };
  }

  /** Copy what storage still holds for a series into memory (best effort). */
  async #seed(pair: string, timeframe: Timeframe): Promise<void> {
    const key = indexKey(pair, timeframe);
    if (this.#seeded.has(key)) return;
    this.#seeded.add(key);
    const kv = this.#lost;
    if (kv === undefined) return;
    try {
      const index = this.#indexes.get(key) ??
        (await kv.getMany<SeriesIndex>([key]))[0];
      if (index === undefined || !Array.isArray(index.chunks)) return;
      const chunks = await kv.getMany<Chunk>(
        index.chunks.map((s) => chunkKey(pair, timeframe, s)),
      );
      await this.#memory.upsert(
        pair,
        timeframe,
        chunks.flatMap((c) => rowsOf(c)),
      );
    } catch {
      // Unreadable too: memory starts empty for this series.
    }
  }

  /** The store that failed, still tried for reads while seeding. */
  #lost: KeyValueStore | undefined;

  #degrade(failure: StorageFailure): void {
    if (this.#kv === undefined) return;
    this.#lost = this.#kv;
    this.#kv = undefined;
    this.#reason = `${failure.name}: ${failure.message}`;
    this.#onStorageError?.(failure);
  }

  #serial<T>(
    pair: string,
    timeframe: Timeframe,
    run: () => Promise<T>,
  ): Promise<T> {
    const key = indexKey(pair, timeframe);
    const before = this.#locks.get(key) ?? Promise.resolve();
    const result = before.then(run, run);
    const tail = result.then(() => {}, () => {});
    this.#locks.set(key, tail);
    tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return result;
  }
}

function rowsOf(chunk: Chunk | undefined): Candle[] {
  if (chunk === undefined || !Array.isArray(chunk.rows)) return [];
  return chunk.rows.map(candleFromRow);
}

function isCandle(value: unknown): value is Candle {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  return typeof c.openTimeSec === "number" && typeof c.open === "string" &&
    typeof c.high === "string" && typeof c.low === "string" &&
    typeof c.close === "string" && typeof c.vwap === "string" &&
    typeof c.volume === "string" && typeof c.count === "number";
}

/**
 * Write a series in the schema 1 layout (one array per series). Only for
 * migration tests and tools that must produce old data.
 *
 * @param kv The store.
 * @param series Pair, timeframe and candles of each series.
 * @returns When written.
 * @example Seed old data
 * ```ts ignore
 * await writeLegacySchema1(kv, [{ pair: "XBTUSD", timeframe: "1m", candles }]);
 * ```
 */
export async function writeLegacySchema1(
  kv: KeyValueStore,
  series: readonly { pair: string; timeframe: string; candles: Candle[] }[],
): Promise<void> {
  await kv.setMany([
    ["schema", { version: 1 }],
    ...series.map((s) =>
      [legacyKey(s.pair, s.timeframe), s.candles] as [string, unknown]
    ),
  ]);
}
