/**
 * A bounded cache with O(1) get, set and eviction: two generations of
 * `Map`. New and recently read entries live in the young map; when it
 * reaches the capacity it becomes the old map and the previous old map is
 * dropped whole. A read that finds an entry in the old map promotes it.
 *
 * This replaces a single `Map` evicted oldest-first with
 * `keys().next()`, which walks the deleted entries V8 keeps at the front of
 * a map until it rehashes: every `set` at capacity cost time proportional
 * to the evictions so far (65 % of the simulator's time at 100+ pairs,
 * issue 15). Here nothing is ever walked: at most `2 × capacity` entries
 * are held, at least the `capacity` most recently used.
 *
 * @module
 */

/**
 * A two-generation LRU cache.
 *
 * @example Cache
 * ```ts
 * import { Lru } from "./lru.ts";
 * const cache = new Lru<number, string>(2);
 * cache.set(1, "a");
 * cache.get(1); // "a"
 * ```
 */
export class Lru<K, V> {
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  #capacity: number;

  /**
   * Create an empty cache.
   *
   * @param capacity Entries kept at least (≥ 1); at most twice that are held.
   */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  /** Entries held now (both generations). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /**
   * The cached value (and mark it recently used).
   *
   * @param key The key.
   * @returns The value, or `undefined`.
   */
  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined || this.#young.has(key)) return young;
    if (!this.#old.has(key)) return undefined;
    const value = this.#old.get(key) as V;
    this.#old.delete(key);
    this.#put(key, value);
    return value;
  }

  /**
   * Whether a key is cached.
   *
   * @param key The key.
   * @returns `true` when cached.
   */
  has(key: K): boolean {
    return this.#young.has(key) || this.#old.has(key);
  }

  /**
   * Cache a value.
   *
   * @param key The key.
   * @param value The value.
   */
  set(key: K, value: V): void {
    this.#old.delete(key);
    this.#put(key, value);
  }

  /**
   * Drop every entry whose key matches.
   *
   * @param stale Which keys to drop.
   */
  deleteWhere(stale: (key: K) => boolean): void {
    for (const map of [this.#young, this.#old]) {
      for (const key of [...map.keys()]) if (stale(key)) map.delete(key);
    }
  }

  #put(key: K, value: V): void {
    this.#young.set(key, value);
    if (this.#young.size >= this.#capacity) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }
}
