/**
 * The exchange's own meters: the private REST call counter per API key and
 * the trading-engine counter per pair, with Kraken's tier numbers
 * (docs/kraken/REST.md §7.1, §7.2).
 *
 * This is the simulator's implementation, written apart from the client's
 * rate-limit model on purpose: the simulator
 * is the oracle the client's limiter is tested against, so a wrong number
 * or a wrong decay in one of them shows up as a refusal the other did not
 * predict (see "Oracle policy" in the simulator's README). The two tables
 * are compared in `tests/server/api_tier_test.ts` and
 * `tests/sim/exchange/rate_limits_test.ts` checks these against REST.md.
 *
 * Levels are kept in micro-points (a call of cost 1 adds 1 000 000) and
 * decay per millisecond in micro-points, so every tier's decay (0.33, 0.5,
 * 1, 2.34, 3.75 per second) is a whole number per ms and the comparison with
 * the maximum is exact: no float slack decides a refusal.
 *
 * @module
 */

/** Account verification tier; it selects the counter limits. */
export type SimTier = "starter" | "intermediate" | "pro";

/** Every tier, cheapest first. */
export const SIM_TIERS: readonly SimTier[] = Object.freeze([
  "starter",
  "intermediate",
  "pro",
]);

/** The maximum and decay of one meter, in points and points per second. */
export interface MeterLimits {
  /** The highest level the meter may reach. */
  readonly max: number;
  /** How much the level drops per second. */
  readonly decayPerSec: number;
}

/** REST call counter per key (REST.md §7.1). */
export const REST_LIMITS: Readonly<Record<SimTier, MeterLimits>> = Object
  .freeze({
    starter: Object.freeze({ max: 15, decayPerSec: 0.33 }),
    intermediate: Object.freeze({ max: 20, decayPerSec: 0.5 }),
    pro: Object.freeze({ max: 20, decayPerSec: 1 }),
  });

/** Trading-engine counter per pair (REST.md §7.2, "Threshold" and "Decay"). */
export const TRADING_LIMITS: Readonly<Record<SimTier, MeterLimits>> = Object
  .freeze({
    starter: Object.freeze({ max: 60, decayPerSec: 1 }),
    intermediate: Object.freeze({ max: 125, decayPerSec: 2.34 }),
    pro: Object.freeze({ max: 180, decayPerSec: 3.75 }),
  });

/** Open orders per pair (REST.md §7.2, last column). */
export const OPEN_ORDER_CAPS: Readonly<Record<SimTier, number>> = Object
  .freeze({ starter: 60, intermediate: 80, pro: 225 });

const MICRO = 1_000_000;

/**
 * One leaky meter. Its level only changes through {@linkcode Meter.add} and
 * {@linkcode Meter.tryAdd}; reading decays it to the instant asked for.
 *
 * @example REST counter at Starter
 * ```ts
 * import { Meter, REST_LIMITS } from "./rate_limits.ts";
 * const meter = new Meter(REST_LIMITS.starter, 0);
 * for (let i = 0; i < 15; i++) meter.tryAdd(1, 0); // true, fifteen times
 * meter.tryAdd(1, 0); // false: 16 > 15
 * meter.tryAdd(1, 3_031); // true: 3.031 s × 0.33 ≥ 1 point has drained
 * ```
 */
export class Meter {
  /** The limits. */
  readonly limits: MeterLimits;
  #maxMicro: number;
  #decayMicroPerMs: number;
  #levelMicro = 0;
  #atMs: number;

  /**
   * An empty meter.
   *
   * @param limits Maximum and decay.
   * @param nowMs When it starts, ms.
   */
  constructor(limits: MeterLimits, nowMs: number) {
    this.limits = limits;
    this.#maxMicro = Math.round(limits.max * MICRO);
    // 0.33 points/s = 330 micro-points/ms: whole for every tier.
    this.#decayMicroPerMs = Math.round(limits.decayPerSec * 1000);
    this.#atMs = nowMs;
  }

  /**
   * The level at an instant, in points.
   *
   * @param nowMs The instant, ms (a time before the last change decays nothing).
   * @returns The level (≥ 0).
   */
  level(nowMs: number): number {
    this.#decayTo(nowMs);
    return this.#levelMicro / MICRO;
  }

  /**
   * Add a cost unconditionally (the trading counter's fixed part is charged
   * even when the request then fails).
   *
   * @param cost Points (≥ 0).
   * @param nowMs Now, ms.
   * @returns Whether the level is still within the maximum.
   * @throws {RangeError} When the cost is negative or not finite.
   */
  add(cost: number, nowMs: number): boolean {
    const micro = toMicro(cost);
    this.#decayTo(nowMs);
    this.#levelMicro += micro;
    return this.#levelMicro <= this.#maxMicro;
  }

  /**
   * Add a cost only if the level stays within the maximum (the REST counter
   * refuses a call without charging it).
   *
   * @param cost Points (≥ 0).
   * @param nowMs Now, ms.
   * @returns Whether the cost was added.
   * @throws {RangeError} When the cost is negative or not finite.
   */
  tryAdd(cost: number, nowMs: number): boolean {
    const micro = toMicro(cost);
    this.#decayTo(nowMs);
    if (this.#levelMicro + micro > this.#maxMicro) return false;
    this.#levelMicro += micro;
    return true;
  }

  /**
   * The meter's state at an instant, for tests and status.
   *
   * @param nowMs The instant, ms.
   * @returns Maximum, decay, level and the time of the level.
   */
  snapshot(
    nowMs: number,
  ): { max: number; decayPerSec: number; level: number; atMs: number } {
    const level = this.level(nowMs);
    return {
      max: this.limits.max,
      decayPerSec: this.limits.decayPerSec,
      level,
      atMs: this.#atMs,
    };
  }

  #decayTo(nowMs: number): void {
    const elapsedMs = nowMs - this.#atMs;
    if (!(elapsedMs > 0)) return;
    this.#levelMicro = Math.max(
      0,
      this.#levelMicro - elapsedMs * this.#decayMicroPerMs,
    );
    this.#atMs = nowMs;
  }
}

function toMicro(cost: number): number {
  if (!Number.isFinite(cost) || cost < 0) {
    throw new RangeError(`A meter cost must be finite and ≥ 0, got ${cost}`);
  }
  return Math.round(cost * MICRO);
}

/** A transaction the trading-engine counter charges. */
export type TradingTransaction =
  | "add"
  | "amend"
  | "edit"
  | "cancel"
  | "batch_add"
  | "batch_cancel"
  | "cancel_all"
  | "cancel_all_after";

/**
 * REST.md §7.2's increments by order age, one row per transaction: the
 * fixed part, then the parts for ages < 5 s, < 10 s, < 15 s, < 45 s, < 90 s,
 * < 300 s and ≥ 300 s.
 */
const AGE_TABLE: Readonly<
  Record<"amend" | "edit" | "cancel", readonly number[]>
> = Object.freeze({
  amend: [1, 3, 2, 1, 0, 0, 0, 0],
  edit: [1, 6, 5, 4, 2, 1, 0, 0],
  cancel: [0, 8, 6, 5, 4, 2, 1, 0],
});

/** Age columns' upper bounds in seconds (exclusive). */
const AGE_LIMITS_SEC = [5, 10, 15, 45, 90, 300];

/**
 * The trading-engine counter increment of one transaction on one order
 * (REST.md §7.2): fixed part plus the part for the order's age (time since
 * it was placed or last amended). `batch_add` is n/2 for n orders;
 * `batch_cancel` is the cancel row per order; `cancel_all` and
 * `cancel_all_after` are 1 (Kraken's SDK).
 *
 * @param transaction The transaction.
 * @param ageMs The order's age, ms (ignored for adds; unknown or negative
 *   ages count as brand new).
 * @param orders Orders in a batch (default 1).
 * @returns The increment in points.
 * @example Increments
 * ```ts
 * import { tradingIncrement } from "./rate_limits.ts";
 * tradingIncrement("cancel", 3_000); // 8
 * tradingIncrement("edit", 20_000); // 3
 * tradingIncrement("batch_add", 0, 10); // 5
 * ```
 */
export function tradingIncrement(
  transaction: TradingTransaction,
  ageMs: number,
  orders = 1,
): number {
  switch (transaction) {
    case "add":
    case "cancel_all":
    case "cancel_all_after":
      return 1;
    case "batch_add":
      return orders / 2;
    case "batch_cancel":
      return ageRow("cancel", ageMs) * orders;
    default:
      return ageRow(transaction, ageMs);
  }
}

function ageRow(row: "amend" | "edit" | "cancel", ageMs: number): number {
  const parts = AGE_TABLE[row];
  const ageSec = ageMs > 0 ? ageMs / 1000 : 0;
  let column = AGE_LIMITS_SEC.findIndex((limit) => ageSec < limit);
  if (column === -1) column = AGE_LIMITS_SEC.length;
  return parts[0]! + parts[column + 1]!;
}

/**
 * Kraken's per-IP throttle of public REST calls (REST.md §7.3, [obs]):
 * about 30 rapid calls, then `EGeneral:Too many requests` (HTTP 200); a
 * sustained 1 call per second is fine; an idle IP is clear after ~30 s. A
 * leaky bucket per peer address: each call adds 1, the level drains at
 * `perSecond`; a call that would exceed `burst` is refused (and not
 * counted).
 *
 * @example Throttle
 * ```ts
 * import { PublicThrottle } from "./rate_limits.ts";
 * const throttle = new PublicThrottle({ burst: 2, perSecond: 1 });
 * throttle.take("127.0.0.1", 0); // true
 * throttle.take("127.0.0.1", 0); // true
 * throttle.take("127.0.0.1", 0); // false
 * throttle.take("127.0.0.1", 1000); // true
 * ```
 */
export class PublicThrottle {
  /** Calls allowed at once. */
  readonly burst: number;
  /** Calls per second drained. */
  readonly perSecond: number;
  #peers = new Map<string, { level: number; atMs: number }>();

  /**
   * Create a throttle.
   *
   * @param options `burst` (default 30) and `perSecond` (default 1).
   */
  constructor(options: { burst?: number; perSecond?: number } = {}) {
    this.burst = options.burst ?? 30;
    this.perSecond = options.perSecond ?? 1;
  }

  /**
   * Count one call of a peer.
   *
   * @param peer The peer address.
   * @param nowMs Now.
   * @returns `true` when the call may proceed.
   */
  take(peer: string, nowMs: number): boolean {
    const state = this.#peers.get(peer) ?? { level: 0, atMs: nowMs };
    const level = Math.max(
      0,
      state.level - ((nowMs - state.atMs) / 1000) * this.perSecond,
    );
    if (level + 1 > this.burst) {
      this.#peers.set(peer, { level, atMs: nowMs });
      return false;
    }
    if (this.#peers.size > 10_000) this.#peers.clear();
    this.#peers.set(peer, { level: level + 1, atMs: nowMs });
    return true;
  }
}
