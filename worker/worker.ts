/**
 * The module worker's entry: wires {@linkcode MarketWorker} to the browser
 * (`postMessage`, `fetch`, `WebSocket`, IndexedDB through idb-keyval).
 * Bundled by `server/build.ts` into `web/dist/worker.js`.
 *
 * @module
 */

import { createStore } from "idb-keyval";
import { idbKeyValueStore } from "./kv_store.ts";
import { MarketWorker } from "./market_worker.ts";
import type { WorkerMessage } from "./protocol.ts";

const scope = self as unknown as DedicatedWorkerGlobalScope;

const worker = new MarketWorker({
  origin: scope.location.origin,
  post: (message: WorkerMessage) => scope.postMessage(message),
  openStore: () =>
    typeof indexedDB === "undefined"
      ? undefined
      : idbKeyValueStore(createStore("krakked-candles", "kv")),
});

scope.onmessage = (event: MessageEvent) => {
  void worker.receive(event.data);
};
