/**
 * The clock port: the one way core reads time, schedules timers and draws
 * random numbers, so that tests can drive all three by hand.
 *
 * Objects that own effects take these as options named `now`, `setTimer`
 * and `random`, each defaulting to {@linkcode systemClock}. Pure decisions
 * take the time as an argument instead (`atMs`, `nowMs`).
 *
 * @example Inject a fixed clock
 * ```ts
 * import { type Clock, systemClock } from "./clock.ts";
 * const frozen: Clock = { ...systemClock, now: () => 1_700_000_000_000 };
 * frozen.now(); // 1700000000000
 * ```
 *
 * @module
 */

/** Reads the time in milliseconds since the Unix epoch. */
export type Now = () => number;

/** Cancels a timer; calling it again, or after the timer fired, does nothing. */
export type CancelTimer = () => void;

/**
 * Runs `fn` once after `ms` milliseconds.
 *
 * @param fn What to run.
 * @param ms The delay in milliseconds.
 * @returns A function that cancels the timer.
 */
export type SetTimer = (fn: () => void, ms: number) => CancelTimer;

/** Draws a uniform random number in `[0, 1)` (jitter, sampling). */
export type Random = () => number;

/** Time, timers and randomness: the effects every clocked object needs. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  readonly now: Now;
  /** A one-shot timer that returns its cancel function. */
  readonly setTimer: SetTimer;
  /** A uniform random number in `[0, 1)`. */
  readonly random: Random;
}

function systemNow(): number {
  return Date.now();
}

function systemSetTimer(fn: () => void, ms: number): CancelTimer {
  const id = setTimeout(fn, ms);
  return () => clearTimeout(id);
}

function systemRandom(): number {
  return Math.random();
}

/**
 * The real clock: `Date.now`, `setTimeout`/`clearTimeout` and
 * `Math.random`, which every runtime core supports (Deno, browsers,
 * workers). The default of every `now`, `setTimer` and `random` option.
 *
 * @example Schedule and cancel
 * ```ts
 * import { systemClock } from "./clock.ts";
 * const cancel = systemClock.setTimer(() => {}, 1_000);
 * cancel(); // the callback never runs
 * ```
 */
export const systemClock: Clock = Object.freeze({
  now: systemNow,
  setTimer: systemSetTimer,
  random: systemRandom,
});
