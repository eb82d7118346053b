/**
 * The public half of the proxy: an allowlist of Kraken public methods with
 * validated parameters, short caches where safe, and request coalescing so
 * identical concurrent requests share one upstream call. Every upstream call
 * goes through the one shared REST client (and so its shared rate limiter),
 * however many browser tabs ask.
 *
 * Fairness: the shared public budget is shared per client. A client is the
 * page (a same-origin browser request: `Sec-Fetch-Site: same-origin` or our
 * own `Origin`; cross-site browsers are refused before this) or, for
 * anything else (the CLI, scripts), its remote address. Upstream calls are
 * handed to the limiter a few at a time, taking turns between clients, so a
 * greedy script's backlog waits behind its own calls, not in front of the
 * page's. On a loopback bind every script shares the address 127.0.0.1 and
 * so one turn: the page is protected from them, they are not from each
 * other.
 *
 * @module
 */

import type { CallParams, RestAnswer } from "@krakked/core/rest/client";
import { KrakenError, LOCAL_CODES } from "@krakked/core/rest/errors";

/** What the proxy needs from the REST client. */
export interface PublicCaller {
  callPublic(method: string, params?: CallParams): Promise<RestAnswer<unknown>>;
}

/** A bad request from the browser: answered with HTTP 400. */
export class ProxyParamError extends Error {
  override name = "ProxyParamError";
  /** Always `bad_request`. */
  readonly kind = "bad_request";
  /** Stable error code for the JSON answer. */
  readonly code: string;

  /**
   * Create the error.
   *
   * @param code Stable code (`unknown_method`, `bad_param`, `missing_param`).
   * @param message What is wrong, naming the parameter and value.
   */
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

type ParamRule = {
  re: RegExp;
  required?: boolean;
  oneOf?: readonly string[];
  min?: number;
  max?: number;
};

const PAIR_LIST = /^[A-Za-z0-9./_-]{2,32}(,[A-Za-z0-9./_-]{2,32}){0,399}$/;
const PAIR = /^[A-Za-z0-9./_-]{2,32}$/;
const ASSET_LIST = /^[A-Za-z0-9.]{1,16}(,[A-Za-z0-9.]{1,16}){0,199}$/;
const DIGITS = /^\d{1,19}$/;
const INT = /^\d{1,6}$/;

/** Allowed methods, their parameters and cache lifetimes (ms). */
const METHODS: Record<
  string,
  { params: Record<string, ParamRule>; ttlMs: number }
> = {
  Time: { params: {}, ttlMs: 1_000 },
  SystemStatus: { params: {}, ttlMs: 5_000 },
  Assets: {
    params: {
      asset: { re: ASSET_LIST },
      aclass: { re: /^\w+$/, oneOf: ["currency", "tokenized_asset"] },
    },
    ttlMs: 300_000,
  },
  AssetPairs: {
    params: {
      pair: { re: PAIR_LIST },
      info: { re: /^\w+$/, oneOf: ["info", "leverage", "fees", "margin"] },
      aclass_base: { re: /^\w+$/, oneOf: ["currency", "tokenized_asset"] },
      country_code: { re: /^[A-Z]{2}$/ },
    },
    ttlMs: 300_000,
  },
  Ticker: { params: { pair: { re: PAIR_LIST } }, ttlMs: 1_000 },
  Depth: {
    params: {
      pair: { re: PAIR, required: true },
      count: { re: INT, min: 1, max: 500 },
    },
    ttlMs: 1_000,
  },
  Trades: {
    params: {
      pair: { re: PAIR, required: true },
      since: { re: DIGITS },
      count: { re: INT, min: 1, max: 1000 },
    },
    ttlMs: 2_000,
  },
  OHLC: {
    params: {
      pair: { re: PAIR, required: true },
      interval: {
        re: INT,
        oneOf: ["1", "5", "15", "30", "60", "240", "1440", "10080", "21600"],
      },
      since: { re: DIGITS },
    },
    ttlMs: 5_000,
  },
  Spread: {
    params: { pair: { re: PAIR, required: true }, since: { re: DIGITS } },
    ttlMs: 1_000,
  },
};

/** The public methods the proxy serves. */
export const PROXY_PUBLIC_METHODS: readonly string[] = Object.freeze(
  Object.keys(METHODS),
);

/**
 * Validate a browser request's method and query parameters. Pure.
 *
 * @param method The Kraken method name from the path.
 * @param query The query parameters.
 * @returns Parameters in a canonical (sorted) order.
 * @throws {ProxyParamError} For a method off the allowlist or a bad parameter.
 * @example Validate
 * ```ts
 * import { validatePublicRequest } from "./public_proxy.ts";
 * validatePublicRequest("OHLC", new URLSearchParams("pair=XBTUSD&interval=60"));
 * ```
 */
export function validatePublicRequest(
  method: string,
  query: URLSearchParams,
): Array<[string, string]> {
  const spec = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (!spec) {
    throw new ProxyParamError(
      "unknown_method",
      `Public method "${
        method.slice(0, 40)
      }" is not available through the proxy`,
    );
  }
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [name, value] of query) {
    const rule = Object.hasOwn(spec.params, name)
      ? spec.params[name]
      : undefined;
    if (!rule) {
      throw new ProxyParamError(
        "bad_param",
        `Unknown parameter "${name.slice(0, 40)}" for ${method}`,
      );
    }
    if (seen.has(name)) {
      throw new ProxyParamError(
        "bad_param",
        `Parameter "${name}" is given twice`,
      );
    }
    seen.add(name);
    const ok = rule.re.test(value) &&
      (rule.oneOf === undefined || rule.oneOf.includes(value)) &&
      (rule.min === undefined || Number(value) >= rule.min) &&
      (rule.max === undefined || Number(value) <= rule.max);
    if (!ok) {
      throw new ProxyParamError(
        "bad_param",
        `Invalid value for "${name}" in ${method}: ${
          JSON.stringify(value.slice(0, 60))
        }`,
      );
    }
    out.push([name, value]);
  }
  for (const [name, rule] of Object.entries(spec.params)) {
    if (rule.required && !seen.has(name)) {
      throw new ProxyParamError(
        "missing_param",
        `${method} needs the "${name}" parameter`,
      );
    }
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Counters the proxy keeps for /api/status and /metrics. */
export interface ProxyStats {
  requests: number;
  upstreamCalls: number;
  cacheHits: number;
  coalesced: number;
  upstreamErrors: number;
  /** Calls dropped before they were sent: every client asking went away. */
  abandoned: number;
}

/** One proxied answer. */
export interface ProxyAnswer {
  result: unknown;
  /** `hit` (cache), `coalesced` (joined an in-flight call) or `miss`. */
  source: "hit" | "coalesced" | "miss";
}

/** One cached result; its answer body is serialised once, when first asked. */
interface CacheEntry {
  expiresAt: number;
  result: unknown;
  /** `{"error":[],"result":…}` as UTF-8, made by {@linkcode PublicProxy.peek}. */
  body?: Uint8Array<ArrayBuffer>;
}

const encoder = new TextEncoder();

/** Options of {@linkcode PublicProxy}. */
export interface PublicProxyOptions {
  /** Clock (ms). */
  now?: () => number;
  /** Most entries kept in the cache. */
  maxEntries?: number;
  /** Called after each upstream call with its outcome (REST reachability). */
  onUpstream?: (ok: boolean, error?: unknown) => void;
  /**
   * Upstream calls handed to the shared REST limiter at once (default 2).
   * The rest wait in per-client queues and are taken in turn, one client
   * after the other, so no client's backlog sits in front of another's.
   */
  maxConcurrent?: number;
  /** Upstream calls one client may have waiting (default 64); more get a 429. */
  maxQueuedPerClient?: number;
}

/** A client has too many upstream calls waiting: answered with HTTP 429. */
export class ProxyBusyError extends Error {
  override name = "ProxyBusyError";
  /** Always `busy`. */
  readonly code = "busy";
}

/** One upstream call waiting for its turn. */
interface GateTask {
  /** Taken by the gate (or dropped: a dropped task is never run). */
  started: boolean;
  run: () => void;
}

/** An upstream call in flight or waiting, shared by identical requests. */
interface Inflight {
  result: Promise<unknown>;
  task: GateTask;
  /** Requests waiting for it. */
  waiters: number;
  /** Drop it before it is sent (every waiter went away). */
  drop: (reason: unknown) => void;
}

/**
 * Round-robin admission of upstream calls: at most `max` run at once; the
 * next one is taken from the next client in turn. A task may wait in several
 * clients' queues (a coalesced call joined by another client): whichever
 * turn comes first runs it.
 */
class FairGate {
  #max: number;
  #running = 0;
  #queues = new Map<string, GateTask[]>();
  /** Clients with waiting tasks, in turn order. */
  #turns: string[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  waiting(client: string): number {
    return this.#queues.get(client)?.filter((t) => !t.started).length ?? 0;
  }

  enqueue(client: string, task: GateTask): void {
    const queue = this.#queues.get(client);
    if (queue === undefined) {
      this.#queues.set(client, [task]);
      this.#turns.push(client);
    } else {
      queue.push(task);
    }
    this.#pump();
  }

  done(): void {
    this.#running--;
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#max) {
      const task = this.#next();
      if (task === undefined) return;
      task.started = true;
      this.#running++;
      task.run();
    }
  }

  #next(): GateTask | undefined {
    while (this.#turns.length > 0) {
      const client = this.#turns.shift()!;
      const queue = this.#queues.get(client)!;
      let task = queue.shift();
      while (task !== undefined && task.started) task = queue.shift();
      if (queue.some((t) => !t.started)) this.#turns.push(client);
      else this.#queues.delete(client);
      if (task !== undefined) return task;
    }
    return undefined;
  }
}

function abortedCall(method: string): KrakenError {
  return new KrakenError(`Kraken ${method} call was aborted`, {
    codes: [LOCAL_CODES.aborted],
    method,
  });
}

/**
 * Serves validated public calls from a TTL cache, coalescing identical
 * in-flight calls.
 *
 * @example Proxy a call
 * ```ts
 * import { PublicProxy } from "./public_proxy.ts";
 * declare const rest: import("./public_proxy.ts").PublicCaller;
 * const proxy = new PublicProxy(rest);
 * const { result } = await proxy.get("Ticker", new URLSearchParams("pair=XBTUSD"));
 * ```
 */
export class PublicProxy {
  #rest: PublicCaller;
  #now: () => number;
  #maxEntries: number;
  #cache = new Map<string, CacheEntry>();
  /**
   * The same entries keyed by the raw request (`Method?query` as the
   * browser sent it), filled only after that exact text was validated:
   * a repeat of it is the same call and skips parsing and validation.
   */
  #byRaw = new Map<string, CacheEntry>();
  #inflight = new Map<string, Inflight>();
  #gate: FairGate;
  #maxQueued: number;
  #onUpstream: ((ok: boolean, error?: unknown) => void) | undefined;
  /** Counters for status and metrics. */
  readonly stats: ProxyStats = {
    requests: 0,
    upstreamCalls: 0,
    cacheHits: 0,
    coalesced: 0,
    upstreamErrors: 0,
    abandoned: 0,
  };

  /**
   * Create the proxy.
   *
   * @param rest The shared REST client.
   * @param options Clock, cache size and an upstream observer.
   */
  constructor(rest: PublicCaller, options: PublicProxyOptions = {}) {
    this.#rest = rest;
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 2_000;
    this.#onUpstream = options.onUpstream;
    this.#gate = new FairGate(options.maxConcurrent ?? 2);
    this.#maxQueued = options.maxQueuedPerClient ?? 64;
  }

  /**
   * Answer one public call. Cached answers and calls joining an identical
   * one in flight cost nothing upstream; the other calls take turns with
   * every other client's (see {@linkcode PublicProxyOptions.maxConcurrent}).
   *
   * @param method Kraken method name.
   * @param query Query parameters from the browser.
   * @param client Who asks (the page, or a remote address): the unit of fairness.
   * @param raw The request's raw `Method?query` text, when the caller will
   *   {@linkcode PublicProxy.peek} with it: once this call is answered from
   *   the cache, a repeat of the same text finds the entry there.
   * @param signal The request's signal (the client went away): a call
   *   still waiting for its turn is dropped, unsent, once no request wants
   *   it; one already sent completes and fills the cache.
   * @returns The result and where it came from.
   * @throws {ProxyParamError} For bad input (before any upstream call).
   * @throws {ProxyBusyError} When this client already has too many calls waiting.
   * @throws {import("@krakked/core/rest/errors").KrakenError} When Kraken fails,
   *   or (code `Krakked:Aborted`) when `signal` aborts first.
   */
  async get(
    method: string,
    query: URLSearchParams,
    client = "default",
    raw?: string,
    signal?: AbortSignal,
  ): Promise<ProxyAnswer> {
    this.stats.requests++;
    const params = validatePublicRequest(method, query);
    if (signal?.aborted) throw abortedCall(method);
    const key = `${method}?${new URLSearchParams(params)}`;
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > now) {
      this.stats.cacheHits++;
      if (raw !== undefined) this.#remember(raw, cached);
      return { result: cached.result, source: "hit" };
    }
    const running = this.#inflight.get(key);
    if (running) {
      this.stats.coalesced++;
      // Still waiting for its turn: it may now also go on this client's turn.
      if (!running.task.started) this.#gate.enqueue(client, running.task);
      return {
        result: await this.#wait(running, method, signal),
        source: "coalesced",
      };
    }
    if (this.#gate.waiting(client) >= this.#maxQueued) {
      throw new ProxyBusyError(
        `Too many public calls from this client are waiting (${this.#maxQueued}); retry later`,
      );
    }
    let task!: GateTask;
    let fail!: (reason: unknown) => void;
    const result = new Promise<unknown>((resolve, reject) => {
      fail = reject;
      task = {
        started: false,
        run: () => {
          this.#fetch(method, key, params).then(resolve, reject).finally(() =>
            this.#gate.done()
          );
        },
      };
    });
    const entry: Inflight = {
      result,
      task,
      waiters: 0,
      drop: (reason) => {
        // Marked taken, so the gate skips it; never run, never signed.
        task.started = true;
        if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
        this.stats.abandoned++;
        fail(reason);
      },
    };
    this.#inflight.set(key, entry);
    this.#gate.enqueue(client, task);
    try {
      const answer: ProxyAnswer = {
        result: await this.#wait(entry, method, signal),
        source: "miss",
      };
      const filled = this.#cache.get(key);
      if (raw !== undefined && filled !== undefined) {
        this.#remember(raw, filled);
      }
      return answer;
    } finally {
      if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
    }
  }

  /**
   * One request's wait for a shared call: its own abort rejects it at once;
   * when the last waiter of a call that has not started goes, the call is
   * dropped.
   */
  #wait(
    entry: Inflight,
    method: string,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    entry.waiters++;
    if (signal === undefined) {
      return entry.result.finally(() => entry.waiters--);
    }
    return new Promise<unknown>((resolve, reject) => {
      // This waiter leaves once: by its abort or by the call's outcome.
      let left = false;
      const leave = () => {
        if (left) return false;
        left = true;
        entry.waiters--;
        signal.removeEventListener("abort", onAbort);
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (entry.waiters === 0 && !entry.task.started) {
          entry.drop(abortedCall(method));
        }
        reject(abortedCall(method));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      entry.result.then(
        (value) => {
          if (leave()) resolve(value);
        },
        (error) => {
          if (leave()) reject(error);
        },
      );
    });
  }

  /**
   * The answer body of a fresh cached call, by the raw request text an
   * earlier {@linkcode PublicProxy.get} was given, or `undefined` (never
   * seen, expired, or evicted): then ask `get`. Counted as a request and a
   * cache hit. No parsing and no validation: the text was validated when
   * it was remembered, and the same text is the same call.
   *
   * @param raw The request's raw `Method?query` text.
   * @returns `{"error":[],"result":…}` as UTF-8 (shared: do not change it).
   */
  peek(raw: string): Uint8Array<ArrayBuffer> | undefined {
    const entry = this.#byRaw.get(raw);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#byRaw.delete(raw);
      return undefined;
    }
    this.stats.requests++;
    this.stats.cacheHits++;
    return entry.body ??= encoder.encode(
      JSON.stringify({ error: [], result: entry.result }),
    );
  }

  #remember(raw: string, entry: CacheEntry): void {
    if (this.#byRaw.get(raw) === entry) return;
    if (this.#byRaw.size >= this.#maxEntries) {
      const oldest = this.#byRaw.keys().next().value;
      if (oldest !== undefined) this.#byRaw.delete(oldest);
    }
    this.#byRaw.set(raw, entry);
  }

  async #fetch(
    method: string,
    key: string,
    params: Array<[string, string]>,
  ): Promise<unknown> {
    this.stats.upstreamCalls++;
    try {
      const { result } = await this.#rest.callPublic(
        method,
        Object.fromEntries(params),
      );
      this.#onUpstream?.(true);
      const ttl = METHODS[method]!.ttlMs;
      if (this.#cache.size >= this.#maxEntries) this.#evict();
      this.#cache.set(key, { expiresAt: this.#now() + ttl, result });
      return result;
    } catch (error) {
      this.stats.upstreamErrors++;
      this.#onUpstream?.(false, error);
      throw error;
    }
  }

  #evict(): void {
    const now = this.#now();
    for (const [k, v] of this.#cache) {
      if (v.expiresAt <= now) this.#cache.delete(k);
    }
    while (this.#cache.size >= this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
