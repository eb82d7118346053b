/**
 * Kraken's rate-limit model: pure counter functions and a scheduler that
 * queues calls until the model says they may go.
 *
 * Kraken meters calls with leaky counters: each call adds a cost, the counter
 * decays linearly at a per-tier rate, and a call that would push it past the
 * tier's maximum is refused by the server (docs/kraken/REST.md §7). The
 * pure functions here ({@linkcode decay}, {@linkcode charge},
 * {@linkcode waitMsFor}, {@linkcode tradingPenalty}) are shared with the
 * simulator, so their names and meaning are stable.
 *
 * @module
 */

import {
  type CancelTimer,
  type Now,
  type SetTimer,
  systemClock,
} from "../clock.ts";

/** Account verification tier; it selects the counter limits. */
export type Tier = "starter" | "intermediate" | "pro";

/** The maximum and decay of one counter. */
export interface CounterLimits {
  /** The highest level the counter may reach. */
  readonly max: number;
  /** How much the level drops per second. */
  readonly decayPerSec: number;
}

/** A counter's state at one instant; every function returns a new one. */
export interface Counter extends CounterLimits {
  /** The level at `atMs` (never negative). */
  readonly level: number;
  /** When `level` was measured, in ms since the Unix epoch. */
  readonly atMs: number;
}

/**
 * Private REST call counter per API key (REST.md §7.1 [docs]):
 * Starter 15 / −0.33 s⁻¹, Intermediate 20 / −0.5 s⁻¹, Pro 20 / −1 s⁻¹.
 */
export const REST_TIERS: Readonly<Record<Tier, CounterLimits>> = Object.freeze({
  starter: Object.freeze({ max: 15, decayPerSec: 0.33 }),
  intermediate: Object.freeze({ max: 20, decayPerSec: 0.5 }),
  pro: Object.freeze({ max: 20, decayPerSec: 1 }),
});

/**
 * Trading-engine counter per pair, shared by REST, WS and FIX (REST.md §7.2
 * [docs]): Starter 60 / −1 s⁻¹, Intermediate 125 / −2.34 s⁻¹, Pro 180 / −3.75 s⁻¹.
 */
export const TRADING_TIERS: Readonly<Record<Tier, CounterLimits>> = Object
  .freeze({
    starter: Object.freeze({ max: 60, decayPerSec: 1 }),
    intermediate: Object.freeze({ max: 125, decayPerSec: 2.34 }),
    pro: Object.freeze({ max: 180, decayPerSec: 3.75 }),
  });

/**
 * Open orders allowed per pair (REST.md §7.2; two independent summaries of
 * the docs page agree [obs]).
 */
export const MAX_OPEN_ORDERS_PER_PAIR: Readonly<Record<Tier, number>> = Object
  .freeze({ starter: 60, intermediate: 80, pro: 225 });

/**
 * Public per-IP budget, modelled as a token bucket: burst 5, refill 1 per
 * second. Kraken publishes no number; REST.md §7.3 only reports observations
 * (≈30 rapid calls before `EGeneral:Too many requests`, 1 req/s sustained is
 * fine), so this choice stays well inside them.
 */
export const PUBLIC_LIMITS: CounterLimits = Object.freeze({
  max: 5,
  decayPerSec: 1,
});

/**
 * Float slack when comparing levels: decay uses fractional rates (0.33,
 * 2.34), so a level that is mathematically at the maximum can land 1e-13
 * above it.
 */
const EPSILON = 1e-9;

/**
 * A fresh, empty counter.
 *
 * @param limits The tier limits (e.g. `REST_TIERS.pro`).
 * @param nowMs The current time in ms.
 * @returns A counter at level 0.
 * @example Create
 * ```ts
 * import { newCounter, REST_TIERS } from "./ratelimit.ts";
 * const c = newCounter(REST_TIERS.starter, 0); // { max: 15, decayPerSec: 0.33, level: 0, atMs: 0 }
 * ```
 */
export function newCounter(limits: CounterLimits, nowMs: number): Counter {
  return {
    max: limits.max,
    decayPerSec: limits.decayPerSec,
    level: 0,
    atMs: nowMs,
  };
}

/**
 * The counter decayed to `nowMs`. A clock that went backwards decays nothing.
 *
 * @param counter The counter.
 * @param nowMs The current time in ms.
 * @returns The counter as of `nowMs`.
 * @example Decay
 * ```ts
 * import { decay } from "./ratelimit.ts";
 * decay({ max: 20, decayPerSec: 1, level: 10, atMs: 0 }, 4000).level; // 6
 * ```
 */
export function decay(counter: Counter, nowMs: number): Counter {
  const elapsedMs = nowMs - counter.atMs;
  if (elapsedMs <= 0) return counter;
  const level = Math.max(
    0,
    counter.level - (counter.decayPerSec * elapsedMs) / 1000,
  );
  return { ...counter, level, atMs: nowMs };
}

/**
 * The counter after a call of `cost` at `nowMs` (decayed first). It does not
 * refuse: the result may exceed `max`, which is how the server detects an
 * over-limit call; use {@linkcode waitMsFor} to ask first.
 *
 * @param counter The counter.
 * @param cost The call's cost (≥ 0).
 * @param nowMs The current time in ms.
 * @returns The charged counter.
 * @throws {RangeError} When `cost` is negative or not finite.
 * @example Charge
 * ```ts
 * import { charge, newCounter, REST_TIERS } from "./ratelimit.ts";
 * charge(newCounter(REST_TIERS.pro, 0), 2, 0).level; // 2
 * ```
 */
export function charge(counter: Counter, cost: number, nowMs: number): Counter {
  checkCost(cost);
  const decayed = decay(counter, nowMs);
  return { ...decayed, level: decayed.level + cost };
}

/**
 * Milliseconds to wait before a call of `cost` fits under `max`; 0 when it
 * fits now. A cost above `max` can never fit, so it waits until the counter
 * is empty (the server will then decide).
 *
 * @param counter The counter.
 * @param cost The call's cost (≥ 0).
 * @param nowMs The current time in ms.
 * @returns Whole milliseconds to wait (≥ 0).
 * @throws {RangeError} When `cost` is negative or not finite.
 * @example Wait
 * ```ts
 * import { waitMsFor } from "./ratelimit.ts";
 * waitMsFor({ max: 15, decayPerSec: 0.5, level: 15, atMs: 0 }, 1, 0); // 2000
 * ```
 */
export function waitMsFor(
  counter: Counter,
  cost: number,
  nowMs: number,
): number {
  checkCost(cost);
  const { level, max, decayPerSec } = decay(counter, nowMs);
  const target = Math.max(0, max - cost);
  if (level <= target + EPSILON) return 0;
  if (decayPerSec <= 0) return Number.POSITIVE_INFINITY;
  return Math.ceil(((level - target) * 1000) / decayPerSec);
}

/**
 * Whether a counter's level is within its maximum (with float slack).
 *
 * @param counter The counter.
 * @returns `true` when `level ≤ max`.
 * @example Check
 * ```ts
 * import { withinLimit } from "./ratelimit.ts";
 * withinLimit({ max: 15, decayPerSec: 1, level: 16, atMs: 0 }); // false
 * ```
 */
export function withinLimit(counter: Counter): boolean {
  return counter.level <= counter.max + EPSILON;
}

/** A transaction metered by the trading-engine counter. */
export type TradingAction =
  | "add"
  | "amend"
  | "edit"
  | "cancel"
  | "batch_add"
  | "batch_cancel"
  | "cancel_all"
  | "cancel_all_after";

/** Upper bounds (exclusive, ms) of the age columns of REST.md §7.2. */
const AGE_BOUNDS_MS = [5_000, 10_000, 15_000, 45_000, 90_000, 300_000];
/** Age-dependent part per column (< 5 s … < 300 s, ≥ 300 s). */
const AMEND_BY_AGE = [3, 2, 1, 0, 0, 0, 0];
const EDIT_BY_AGE = [6, 5, 4, 2, 1, 0, 0];
const CANCEL_BY_AGE = [8, 6, 5, 4, 2, 1, 0];

/**
 * Trading-engine counter increment for one transaction (REST.md §7.2):
 * the fixed part plus the part that depends on the order's age (seconds
 * since it was placed or last amended). Batch rows scale with `n` (orders in
 * the batch). `cancel_all` is +1 per affected pair and
 * `cancel_all_after` +1, as in Kraken's SDK.
 *
 * @param action The transaction.
 * @param ageMs Age of the order acted on, in ms; ignored for adds. Pass 0
 *   when unknown: that is the most expensive column.
 * @param n Orders in a batch (default 1).
 * @returns The increment.
 * @throws {RangeError} When `n` is not a positive integer.
 * @example Penalties
 * ```ts
 * import { tradingPenalty } from "./ratelimit.ts";
 * tradingPenalty("cancel", 3_000); // 8
 * tradingPenalty("edit", 20_000); // 3 (1 fixed + 2)
 * tradingPenalty("batch_add", 0, 10); // 5
 * ```
 */
export function tradingPenalty(
  action: TradingAction,
  ageMs: number,
  n = 1,
): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `Cannot compute trading penalty: batch size must be a positive integer, got ${n}`,
    );
  }
  const column = ageColumn(ageMs);
  switch (action) {
    case "add":
    case "cancel_all":
    case "cancel_all_after":
      return 1;
    case "amend":
      return 1 + AMEND_BY_AGE[column]!;
    case "edit":
      return 1 + EDIT_BY_AGE[column]!;
    case "cancel":
      return CANCEL_BY_AGE[column]!;
    case "batch_add":
      return n / 2;
    case "batch_cancel":
      return CANCEL_BY_AGE[column]! * n;
    default: {
      const never: never = action;
      throw new RangeError(`Unknown trading action: ${String(never)}`);
    }
  }
}

function ageColumn(ageMs: number): number {
  // NaN or negative ages (clock skew) count as brand new: the costliest column.
  if (!(ageMs > 0)) return 0;
  const i = AGE_BOUNDS_MS.findIndex((bound) => ageMs < bound);
  return i === -1 ? AGE_BOUNDS_MS.length : i;
}

function checkCost(cost: number): void {
  if (!(cost >= 0) || !Number.isFinite(cost)) {
    throw new RangeError(
      `Cannot charge the rate-limit counter: cost must be a finite number ≥ 0, got ${cost}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Scheduler

/** Which counter a call is metered by. */
export type CounterName = "rest" | "trading" | "public";

/**
 * Queue priority: cancels first (they reduce risk), then order placement,
 * then reads. FIFO within one priority.
 */
export type Priority = "cancel" | "order" | "read";

const PRIORITY_RANK: Readonly<Record<Priority, number>> = {
  cancel: 0,
  order: 1,
  read: 2,
};

/** One call waiting for {@linkcode RateLimiter.schedule}. */
export interface ScheduleRequest {
  /** The counter to charge. */
  counter: CounterName;
  /** The cost to charge. */
  cost: number;
  /** Queue priority (default `"read"`). */
  priority?: Priority;
  /** The pair, for the per-pair trading counter (default `"*"`). */
  pair?: string;
  /** Abort the wait; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  /** Tier for the REST and trading counters (default `"starter"`, the strictest). */
  tier?: Tier;
  /** Limits of the public counter (default {@linkcode PUBLIC_LIMITS}). */
  publicLimits?: CounterLimits;
  /** Clock, ms since the epoch (default `systemClock.now`). */
  now?: Now;
  /** Timer scheduler (default `systemClock.setTimer`). */
  setTimer?: SetTimer;
  /**
   * Counts kept free below the maximum of the private REST and trading
   * counters (default {@linkcode DEFAULT_HEADROOM}; the public counter
   * keeps none). Kraken counts from when a call arrives, this model from
   * when it is sent: a call delayed on the way arrives to less decay than
   * the model assumed, and one sent at exactly the maximum is refused. A
   * count of headroom shortens a burst by one call and leaves the steady
   * rate (the decay) unchanged.
   */
  headroom?: number;
}

/**
 * Default headroom of the private counters, in counts: one call's worth,
 * enough for about `1 / decayPerSec` seconds of network jitter (3 s on the
 * starter tier, 0.27 s on pro).
 */
export const DEFAULT_HEADROOM = 1;

/** Raised to waiting calls when the limiter is closed. */
export class RateLimiterClosedError extends Error {
  /** Always `"RateLimiterClosedError"`. */
  override name = "RateLimiterClosedError";
}

interface Waiter {
  cost: number;
  rank: number;
  seq: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  detach: () => void;
}

interface Lane {
  counter: Counter;
  /** Counts kept free below `counter.max`. */
  headroom: number;
  blockedUntilMs: number;
  queue: Waiter[];
  cancelTimer: CancelTimer | undefined;
}

/**
 * Queues calls until Kraken's counters allow them. One instance holds the
 * private REST counter, one trading-engine counter per pair and a public
 * counter; share it: one per API key for private calls (across every client
 * and browser tab using that key), one per process for public calls.
 *
 * @example Schedule calls
 * ```ts
 * import { RateLimiter } from "./ratelimit.ts";
 * const limiter = new RateLimiter({ tier: "pro" });
 * await limiter.schedule({ counter: "rest", cost: 1 });
 * await limiter.schedule({ counter: "trading", cost: 1, priority: "order", pair: "XBTUSD" });
 * limiter.close();
 * ```
 */
export class RateLimiter {
  #tier: Tier;
  #publicLimits: CounterLimits;
  #now: Now;
  #setTimer: SetTimer;
  #lanes = new Map<string, Lane>();
  #headroom: number;
  #seq = 0;
  #closed = false;

  /**
   * Create a limiter.
   *
   * @param options Tier, public limits, clock and timer.
   */
  constructor(options: RateLimiterOptions = {}) {
    this.#tier = options.tier ?? "starter";
    this.#publicLimits = options.publicLimits ?? PUBLIC_LIMITS;
    this.#now = options.now ?? systemClock.now;
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    const headroom = options.headroom ?? DEFAULT_HEADROOM;
    if (!(headroom >= 0) || !Number.isFinite(headroom)) {
      throw new RangeError(
        `Cannot create a rate limiter: headroom must be a finite number >= 0, got ${headroom}`,
      );
    }
    this.#headroom = headroom;
  }

  /** The tier of the REST and trading counters. */
  get tier(): Tier {
    return this.#tier;
  }

  /**
   * Wait until a call may go, then charge its cost. Higher priorities go
   * first; within a priority, calls go in arrival order. A call never jumps
   * ahead of an earlier one in its queue, so a costly call is not starved.
   *
   * @param request Counter, cost, priority, pair and an optional signal.
   * @returns A promise that resolves when the call may be sent.
   * @throws {RateLimiterClosedError} (rejection) When the limiter is closed.
   * @throws {RangeError} When the cost is negative or not finite.
   */
  schedule(request: ScheduleRequest): Promise<void> {
    checkCost(request.cost);
    if (this.#closed) {
      return Promise.reject(
        new RateLimiterClosedError("Rate limiter is closed"),
      );
    }
    if (request.signal?.aborted) return Promise.reject(request.signal.reason);
    const key = laneKey(request.counter, request.pair);
    const lane = this.#lane(key, request.counter);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        cost: request.cost,
        rank: PRIORITY_RANK[request.priority ?? "read"],
        seq: this.#seq++,
        resolve,
        reject,
        detach: () => {},
      };
      const signal = request.signal;
      if (signal) {
        const onAbort = () => {
          const i = lane.queue.indexOf(waiter);
          if (i !== -1) lane.queue.splice(i, 1);
          reject(signal.reason);
          this.#pump(lane);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener("abort", onAbort);
      }
      // Insert after every waiter of the same or a higher priority.
      let i = lane.queue.length;
      while (i > 0 && lane.queue[i - 1]!.rank > waiter.rank) i--;
      lane.queue.splice(i, 0, waiter);
      this.#pump(lane);
    });
  }

  /**
   * React to a rate-limit answer from the server: saturate the model counter
   * (Kraken's own counter is evidently full), and, for
   * `EService: Throttled: <ts>`, hold the queue until `untilMs` with the
   * counter still full at that time.
   *
   * @param counter The counter the server complained about.
   * @param options The pair (trading counter) and an absolute resume time.
   * @example Back off
   * ```ts
   * import { RateLimiter } from "./ratelimit.ts";
   * const limiter = new RateLimiter();
   * limiter.backoff("rest");
   * limiter.backoff("rest", { untilMs: Date.now() + 5_000 });
   * limiter.close();
   * ```
   */
  backoff(
    counter: CounterName,
    options: { pair?: string; untilMs?: number } = {},
  ): void {
    const lane = this.#lane(laneKey(counter, options.pair), counter);
    const nowMs = this.#now();
    const decayed = decay(lane.counter, nowMs);
    // When told to hold until a time, the counter is full *then*: the burst
    // that got throttled must not be replayed the instant the hold ends.
    const untilMs = Math.max(nowMs, options.untilMs ?? nowMs);
    lane.counter = {
      ...decayed,
      level: Math.max(decayed.level, decayed.max),
      atMs: Math.max(decayed.atMs, untilMs),
    };
    if (untilMs > lane.blockedUntilMs) lane.blockedUntilMs = untilMs;
    this.#pump(lane);
  }

  /**
   * Give back what {@linkcode RateLimiter.schedule} charged for a call
   * that was then never sent (its caller went away while it waited for the
   * nonce lane): Kraken counts only the calls it receives, so the budget
   * stays for the calls that are still wanted.
   *
   * @param counter The counter that was charged.
   * @param cost The cost that was charged.
   * @param pair The pair, for the trading counter.
   * @throws {RangeError} When the cost is negative or not finite.
   * @example Refund
   * ```ts
   * import { RateLimiter } from "./ratelimit.ts";
   * const limiter = new RateLimiter();
   * await limiter.schedule({ counter: "rest", cost: 1 });
   * limiter.refund("rest", 1); // the call was abandoned before it was sent
   * limiter.close();
   * ```
   */
  refund(counter: CounterName, cost: number, pair?: string): void {
    checkCost(cost);
    const lane = this.#lanes.get(laneKey(counter, pair));
    if (lane === undefined) return;
    const decayed = decay(lane.counter, this.#now());
    lane.counter = { ...decayed, level: Math.max(0, decayed.level - cost) };
    this.#pump(lane);
  }

  /**
   * The counter's current state (decayed to now), for status displays and
   * tests.
   *
   * @param counter Which counter.
   * @param pair The pair, for the trading counter.
   * @returns The counter as of now.
   */
  snapshot(counter: CounterName, pair?: string): Counter {
    const lane = this.#lanes.get(laneKey(counter, pair));
    const nowMs = this.#now();
    return lane
      ? decay(lane.counter, nowMs)
      : newCounter(this.#limits(counter), nowMs);
  }

  /**
   * Calls waiting in one queue.
   *
   * @param counter Which counter.
   * @param pair The pair, for the trading counter.
   * @returns The number of waiting calls.
   */
  pending(counter: CounterName, pair?: string): number {
    return this.#lanes.get(laneKey(counter, pair))?.queue.length ?? 0;
  }

  /**
   * Cancel every timer and reject every waiting call with
   * {@linkcode RateLimiterClosedError}. Later calls to `schedule` reject too.
   */
  close(): void {
    this.#closed = true;
    for (const lane of this.#lanes.values()) {
      lane.cancelTimer?.();
      lane.cancelTimer = undefined;
      for (const waiter of lane.queue.splice(0)) {
        waiter.detach();
        waiter.reject(new RateLimiterClosedError("Rate limiter is closed"));
      }
    }
  }

  /** Same as {@linkcode RateLimiter.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #limits(counter: CounterName): CounterLimits {
    switch (counter) {
      case "rest":
        return REST_TIERS[this.#tier];
      case "trading":
        return TRADING_TIERS[this.#tier];
      case "public":
        return this.#publicLimits;
    }
  }

  #lane(key: string, counter: CounterName): Lane {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = {
        counter: newCounter(this.#limits(counter), this.#now()),
        headroom: counter === "public" ? 0 : this.#headroom,
        blockedUntilMs: 0,
        queue: [],
        cancelTimer: undefined,
      };
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  #pump(lane: Lane): void {
    lane.cancelTimer?.();
    lane.cancelTimer = undefined;
    if (this.#closed) return;
    for (;;) {
      const head = lane.queue[0];
      if (!head) return;
      const nowMs = this.#now();
      const waitMs = Math.max(
        lane.blockedUntilMs - nowMs,
        waitMsFor(lane.counter, head.cost + lane.headroom, nowMs),
      );
      if (waitMs > 0) {
        lane.cancelTimer = this.#setTimer(() => {
          lane.cancelTimer = undefined;
          this.#pump(lane);
        }, waitMs);
        return;
      }
      lane.queue.shift();
      lane.counter = charge(lane.counter, head.cost, nowMs);
      head.detach();
      head.resolve();
    }
  }
}

function laneKey(counter: CounterName, pair: string | undefined): string {
  return counter === "trading" ? `trading:${pair ?? "*"}` : counter;
}
