/**
 * A small key-value store interface for the candle cache, with an
 * IndexedDB implementation on idb-keyval and an in-memory one.
 *
 * idb-keyval's own `createStore(db, store)` opens the global `indexedDB`;
 * {@linkcode createStoreWith} does the same with an injected factory, so
 * tests hand in `fake-indexeddb` without patching globals.
 *
 * @module
 */

import {
  clear,
  delMany,
  getMany,
  keys,
  promisifyRequest,
  setMany,
  type UseStore,
} from "idb-keyval";

export type { UseStore } from "idb-keyval";

/** What the candle cache needs from storage. Every method may reject. */
export interface KeyValueStore {
  /** Values of `keys`, `undefined` where absent. */
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  /** Write all entries atomically. */
  setMany(entries: readonly (readonly [string, unknown])[]): Promise<void>;
  /** Delete keys. */
  delMany(keys: readonly string[]): Promise<void>;
  /** Every key. */
  keys(): Promise<string[]>;
  /** Delete everything. */
  clear(): Promise<void>;
}

type TxMode = Parameters<UseStore>[0];
type ObjectStore = Parameters<Parameters<UseStore>[1]>[0];

/** The part of `IDBDatabase` used (structural, so tests need no DOM types). */
export interface IdbDatabaseLike {
  /** Start a transaction. */
  transaction(
    store: string,
    mode: TxMode,
  ): { objectStore(name: string): ObjectStore };
  /** Create a store (during an upgrade). */
  createObjectStore(name: string): unknown;
  /** Close the connection. */
  close(): void;
  /** Called when the browser closes the connection. */
  onclose: ((this: unknown, event: never) => unknown) | null;
}

/** The part of `IDBFactory` used: `indexedDB` or `fake-indexeddb`'s. */
export interface IdbFactoryLike {
  /** Open a database. */
  open(name: string): {
    result: unknown;
    onupgradeneeded: ((this: never, event: never) => unknown) | null;
  };
}

/**
 * idb-keyval's `createStore`, with the `IDBFactory` passed in.
 *
 * @param factory `indexedDB` (or `fake-indexeddb`'s).
 * @param dbName Database name.
 * @param storeName Object store name.
 * @returns A `UseStore` for idb-keyval calls, plus `close()`.
 * @example Open a store
 * ```ts ignore
 * const useStore = createStoreWith(indexedDB, "krakked-candles", "kv");
 * ```
 */
export function createStoreWith(
  factory: IdbFactoryLike,
  dbName: string,
  storeName: string,
): UseStore & { close(): Promise<void> } {
  let opened: Promise<IdbDatabaseLike> | undefined;
  function database(): Promise<IdbDatabaseLike> {
    if (opened !== undefined) return opened;
    const request = factory.open(dbName);
    request.onupgradeneeded = () =>
      (request.result as IdbDatabaseLike).createObjectStore(storeName);
    const promise = promisifyRequest(
      request as unknown as Parameters<typeof promisifyRequest>[0],
    ) as unknown as Promise<IdbDatabaseLike>;
    opened = promise;
    promise.then((db) => {
      db.onclose = () => {
        opened = undefined;
      };
    }, () => {
      opened = undefined;
    });
    return promise;
  }
  const useStore = (<T>(
    mode: TxMode,
    callback: (store: ObjectStore) => T | PromiseLike<T>,
  ): Promise<T> =>
    database().then((db) =>
      callback(db.transaction(storeName, mode).objectStore(storeName))
    )) as UseStore;
  return Object.assign(useStore, {
    async close(): Promise<void> {
      const db = opened;
      opened = undefined;
      if (db !== undefined) (await db).close();
    },
  });
}

/**
 * A {@linkcode KeyValueStore} over an idb-keyval store.
 *
 * @param useStore From idb-keyval's `createStore` or {@linkcode createStoreWith}.
 * @returns The store.
 * @example In the worker
 * ```ts ignore
 * import { createStore } from "idb-keyval";
 * const kv = idbKeyValueStore(createStore("krakked-candles", "kv"));
 * ```
 */
export function idbKeyValueStore(useStore: UseStore): KeyValueStore {
  return {
    getMany: <T>(list: readonly string[]) => getMany<T>([...list], useStore),
    setMany: (entries) =>
      setMany(
        entries.map(([key, value]) => [key, value] as [string, unknown]),
        useStore,
      ),
    delMany: (list) => delMany([...list], useStore),
    keys: () => keys<string>(useStore),
    clear: () => clear(useStore),
  };
}

/**
 * A {@linkcode KeyValueStore} in a Map (values are structured-cloned, as
 * IndexedDB would).
 *
 * @returns The store.
 * @example Use
 * ```ts
 * import { memoryKeyValueStore } from "./kv_store.ts";
 * const kv = memoryKeyValueStore();
 * await kv.setMany([["a", 1]]);
 * ```
 */
export function memoryKeyValueStore(): KeyValueStore & {
  readonly map: Map<string, unknown>;
} {
  const map = new Map<string, unknown>();
  return {
    map,
    getMany: <T>(list: readonly string[]) =>
      Promise.resolve(
        list.map((key) => {
          const value = map.get(key);
          return value === undefined ? undefined : structuredClone(value) as T;
        }),
      ),
    setMany(entries) {
      for (const [key, value] of entries) map.set(key, structuredClone(value));
      return Promise.resolve();
    },
    delMany(list) {
      for (const key of list) map.delete(key);
      return Promise.resolve();
    },
    keys: () => Promise.resolve([...map.keys()]),
    clear() {
      map.clear();
      return Promise.resolve();
    },
  };
}
