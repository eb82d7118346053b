/**
 * The page's side of the worker protocol: typed requests that resolve to
 * result values, and batches applied once per animation frame, each
 * acknowledged after it was drawn (the worker sends the next one only then).
 *
 * @module
 */

import {
  parseWorkerMessage,
  type RequestMap,
  type RequestMethod,
  type Result,
  type WorkerBatch,
  workerError,
} from "../worker/protocol.ts";

/** Options of {@linkcode WorkerClient}. */
export interface WorkerClientOptions {
  /** Applies one batch (called inside an animation frame). */
  onBatch: (batch: WorkerBatch) => void;
  /**
   * Schedules the apply; defaults to `requestAnimationFrame`. The callback
   * gets the frame's timestamp (ms), the same for every callback of a frame.
   */
  frame?: (fn: (frameTimeMs: number) => void) => void;
}

/** Counters of applied batches (for tests and the curious, in devtools). */
export interface BatchStats {
  /** Batches applied so far. */
  applied: number;
  /** Frames in which more than one batch was applied (should stay 0). */
  framesWithSeveral: number;
  /** Most ticker rows in one batch. */
  maxTickers: number;
}

/** The part of `Worker` the client uses. */
export interface WorkerLike {
  /** Send a message. */
  postMessage(message: unknown): void;
  /** Receive messages. */
  onmessage: ((event: MessageEvent) => void) | null;
  /** Worker failures (script errors). */
  onerror: ((event: ErrorEvent) => void) | null;
}

/**
 * Talks to the market worker.
 *
 * @example Ask for the config
 * ```ts ignore
 * const client = new WorkerClient(new Worker("/worker.js", { type: "module" }), { onBatch });
 * const init = await client.request("init", {});
 * ```
 */
export class WorkerClient {
  #worker: WorkerLike;
  #onBatch: (batch: WorkerBatch) => void;
  #frame: (fn: (frameTimeMs: number) => void) => void;
  #nextId = 1;
  #pending = new Map<number, (result: Result<unknown>) => void>();
  #queued: WorkerBatch | undefined;
  #frameAsked = false;
  #failure: string | undefined;
  #lastFrameTimeMs: number | undefined;
  #stats: BatchStats = { applied: 0, framesWithSeveral: 0, maxTickers: 0 };

  /**
   * Attach to a worker.
   *
   * @param worker The module worker.
   * @param options Batch handler and frame scheduler.
   */
  constructor(worker: WorkerLike, options: WorkerClientOptions) {
    this.#worker = worker;
    this.#onBatch = options.onBatch;
    this.#frame = options.frame ??
      ((fn) => {
        requestAnimationFrame((timeMs) => fn(timeMs));
      });
    worker.onmessage = (event) => this.#receive(event.data);
    worker.onerror = (event) => {
      this.#failure = event.message || "The worker failed to start";
      for (const resolve of this.#pending.values()) {
        resolve({ ok: false, error: workerError("internal", this.#failure) });
      }
      this.#pending.clear();
    };
  }

  /** A copy of the batch counters. */
  get stats(): BatchStats {
    return { ...this.#stats };
  }

  /**
   * Send a request.
   *
   * @param method The method.
   * @param params Its parameters.
   * @returns The result value (never rejects).
   */
  request<K extends RequestMethod>(
    method: K,
    params: RequestMap[K]["params"],
  ): Promise<Result<RequestMap[K]["result"]>> {
    if (this.#failure !== undefined) {
      return Promise.resolve({
        ok: false,
        error: workerError("internal", this.#failure),
      });
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve as (result: Result<unknown>) => void);
      this.#worker.postMessage({ kind: "request", id, method, params });
    });
  }

  #receive(data: unknown): void {
    const message = parseWorkerMessage(data);
    if (message === undefined) return;
    if (message.kind === "reply") {
      const resolve = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      resolve?.(message.result as Result<unknown>);
      return;
    }
    // The worker waits for our ack, so at most one batch is ever queued.
    this.#queued = message;
    if (this.#frameAsked) return;
    this.#frameAsked = true;
    this.#frame((frameTimeMs) => this.#apply(frameTimeMs));
  }

  #apply(frameTimeMs: number): void {
    this.#frameAsked = false;
    const batch = this.#queued;
    this.#queued = undefined;
    if (batch === undefined) return;
    const stats = this.#stats;
    stats.applied++;
    if (frameTimeMs === this.#lastFrameTimeMs) stats.framesWithSeveral++;
    this.#lastFrameTimeMs = frameTimeMs;
    stats.maxTickers = Math.max(stats.maxTickers, batch.tickers.length);
    try {
      this.#onBatch(batch);
    } finally {
      this.#worker.postMessage({ kind: "ack", seq: batch.seq });
    }
  }
}
