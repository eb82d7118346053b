/**
 * The dead-man switch schedule for `CancelAllOrdersAfter` (REST) /
 * `cancel_all_orders_after` (WS v2): arm with a 60 s timeout, refresh every
 * 15–30 s (20 s by default), and disarm with `0` on a clean shutdown, as
 * Kraken recommends (REST.md §3.2, WS_V2.md §4.6). If the process dies, the
 * engine cancels every open order when the countdown runs out.
 *
 * {@linkcode stepDeadMan} is the pure schedule; {@linkcode DeadManSwitch}
 * is the thin driver that owns one timer and calls an injected function
 * (REST or WS, whichever transport the caller has).
 *
 * @module
 */

import {
  type CancelTimer,
  type Now,
  type SetTimer,
  systemClock,
} from "../clock.ts";

/** Phase of the switch. */
export type DeadManPhase = "off" | "arming" | "armed" | "disarming";

/** Timing of the switch. */
export interface DeadManTiming {
  /** Countdown sent when arming, seconds (default 60; < 86 400). */
  timeoutSec: number;
  /** Refresh interval, ms (default 20 000; Kraken suggests 15–30 s). */
  refreshMs: number;
  /** Retry delay after a failed call, ms (default 5 000). */
  retryMs: number;
}

/** Kraken's recommendation (REST.md §3.2). */
export const DEFAULT_DEAD_MAN_TIMING: DeadManTiming = Object.freeze({
  timeoutSec: 60,
  refreshMs: 20_000,
  retryMs: 5_000,
});

/** State of the switch. Plain JSON. */
export interface DeadManState {
  /** Phase. */
  phase: DeadManPhase;
  /** When the exchange countdown runs out, as far as we know (ms), or `null`. */
  expiresAtMs: number | null;
  /** Consecutive failed calls. */
  failures: number;
  /** The timing. */
  timing: DeadManTiming;
}

/** What happened. */
export type DeadManEvent =
  | { type: "call.start"; atMs: number }
  | { type: "call.stop"; atMs: number }
  | { type: "timer.refresh"; atMs: number }
  | { type: "reply.ok"; timeoutSec: number; atMs: number }
  | { type: "reply.failed"; timeoutSec: number; message: string; atMs: number };

/** What to do. */
export type DeadManEffect =
  | { type: "call"; timeoutSec: number }
  | { type: "set_timer"; delayMs: number }
  | { type: "cancel_timer" }
  | { type: "warn"; message: string };

/**
 * Checks and completes a timing.
 *
 * @param timing Partial timing.
 * @returns The full timing.
 * @throws {RangeError} When the countdown is not 1–86 399 s or the refresh
 *   is not shorter than the countdown.
 * @example Defaults
 * ```ts
 * import { deadManTiming } from "./dead_man.ts";
 * deadManTiming({}).refreshMs; // 20000
 * ```
 */
export function deadManTiming(timing: Partial<DeadManTiming>): DeadManTiming {
  const full = { ...DEFAULT_DEAD_MAN_TIMING, ...timing };
  if (
    !Number.isInteger(full.timeoutSec) || full.timeoutSec < 1 ||
    full.timeoutSec >= 86_400
  ) {
    throw new RangeError(
      `Dead-man timeout must be a whole number of seconds from 1 to 86399, got ${full.timeoutSec}`,
    );
  }
  if (
    !(full.refreshMs > 0) || full.refreshMs >= full.timeoutSec * 1000 ||
    !(full.retryMs > 0)
  ) {
    throw new RangeError(
      `Dead-man refresh (${full.refreshMs} ms) and retry (${full.retryMs} ms) must be positive and the refresh shorter than the timeout (${full.timeoutSec} s)`,
    );
  }
  return full;
}

/**
 * The initial (off) state.
 *
 * @param timing Partial timing (defaults: 60 s, refresh 20 s, retry 5 s).
 * @returns State `off`.
 * @example Start
 * ```ts
 * import { initialDeadMan } from "./dead_man.ts";
 * initialDeadMan().phase; // "off"
 * ```
 */
export function initialDeadMan(
  timing: Partial<DeadManTiming> = {},
): DeadManState {
  return {
    phase: "off",
    expiresAtMs: null,
    failures: 0,
    timing: deadManTiming(timing),
  };
}

/**
 * Advances the switch by one event. Answers carry the `timeoutSec` of the
 * call they answer, so a late arm answer after a stop is ignored.
 *
 * @param state The current state.
 * @param event What happened.
 * @returns The new state and effects.
 * @example Arm
 * ```ts
 * import { initialDeadMan, stepDeadMan } from "./dead_man.ts";
 * const { effects } = stepDeadMan(initialDeadMan(), { type: "call.start", atMs: 0 });
 * effects; // [{ type: "call", timeoutSec: 60 }]
 * ```
 */
export function stepDeadMan(
  state: DeadManState,
  event: DeadManEvent,
): { state: DeadManState; effects: DeadManEffect[] } {
  const { timing } = state;
  const same = { state, effects: [] as DeadManEffect[] };
  const arm: DeadManEffect = { type: "call", timeoutSec: timing.timeoutSec };
  switch (event.type) {
    case "call.start":
      if (state.phase === "arming" || state.phase === "armed") return same;
      return {
        state: { ...state, phase: "arming", failures: 0 },
        effects: [arm],
      };
    case "timer.refresh":
      if (state.phase !== "arming" && state.phase !== "armed") return same;
      return { state, effects: [arm] };
    case "call.stop":
      if (state.phase === "off" || state.phase === "disarming") return same;
      return {
        state: { ...state, phase: "disarming" },
        effects: [{ type: "cancel_timer" }, { type: "call", timeoutSec: 0 }],
      };
    case "reply.ok":
      if (state.phase === "disarming") {
        if (event.timeoutSec !== 0) return same;
        return {
          state: { ...state, phase: "off", expiresAtMs: null, failures: 0 },
          effects: [],
        };
      }
      if (state.phase === "off" || event.timeoutSec === 0) return same;
      return {
        state: {
          ...state,
          phase: "armed",
          failures: 0,
          expiresAtMs: event.atMs + event.timeoutSec * 1000,
        },
        effects: [{ type: "set_timer", delayMs: timing.refreshMs }],
      };
    case "reply.failed": {
      if (state.phase === "disarming") {
        if (event.timeoutSec !== 0) return same;
        const until = state.expiresAtMs === null
          ? ""
          : ` at ${new Date(state.expiresAtMs).toISOString()}`;
        return {
          state: { ...state, phase: "off" },
          effects: [{
            type: "warn",
            message:
              `Dead-man switch disarm failed (${event.message}); Kraken may still cancel all orders${until}`,
          }],
        };
      }
      if (state.phase === "off" || event.timeoutSec === 0) return same;
      const failures = state.failures + 1;
      const effects: DeadManEffect[] = [
        { type: "set_timer", delayMs: timing.retryMs },
      ];
      const lapses = state.expiresAtMs !== null &&
        event.atMs + timing.retryMs >= state.expiresAtMs;
      effects.push({
        type: "warn",
        message:
          `Dead-man switch refresh failed ${failures} time(s) (${event.message})${
            lapses
              ? "; the countdown may run out and Kraken will cancel all orders"
              : ""
          }`,
      });
      return { state: { ...state, failures }, effects };
    }
  }
}

/** Options of {@linkcode DeadManSwitch}. */
export interface DeadManSwitchOptions extends Partial<DeadManTiming> {
  /** Clock (default `systemClock.now`). */
  now?: Now;
  /** Timer: schedule `fn` after `ms`, return a cancel function (default `systemClock.setTimer`). */
  setTimer?: SetTimer;
  /** Called with each warning. */
  onWarn?: (message: string) => void;
}

/**
 * Drives {@linkcode stepDeadMan} with one timer and an injected call.
 *
 * @example Arm on start, disarm on shutdown
 * ```ts ignore
 * const dms = new DeadManSwitch((timeoutSec) =>
 *   rest.callPrivate("CancelAllOrdersAfter", { timeout: timeoutSec })
 * );
 * dms.start();
 * // … on shutdown:
 * await dms.stop();
 * ```
 */
export class DeadManSwitch {
  #state: DeadManState;
  #call: (timeoutSec: number) => Promise<unknown>;
  #now: Now;
  #setTimer: SetTimer;
  #onWarn: (message: string) => void;
  #cancelTimer: CancelTimer | undefined;
  #stopped: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * Creates a switch (off until {@linkcode DeadManSwitch.start}).
   *
   * @param call Sends `CancelAllOrdersAfter` with the timeout in seconds.
   * @param options Timing, clock, timer and warning sink.
   * @throws {RangeError} For an invalid timing.
   */
  constructor(
    call: (timeoutSec: number) => Promise<unknown>,
    options: DeadManSwitchOptions = {},
  ) {
    const { now, setTimer, onWarn, ...timing } = options;
    this.#state = initialDeadMan(timing);
    this.#call = call;
    this.#now = now ?? systemClock.now;
    this.#setTimer = setTimer ?? systemClock.setTimer;
    this.#onWarn = onWarn ?? (() => {});
  }

  /** The current state (a copy). */
  get state(): DeadManState {
    return structuredClone(this.#state);
  }

  /** Arms the switch and keeps refreshing it. */
  start(): void {
    this.#dispatch({ type: "call.start", atMs: this.#now() });
  }

  /**
   * Disarms the switch (`timeout 0`) and stops refreshing.
   *
   * @returns Resolves once the disarm call has answered (or failed).
   */
  stop(): Promise<void> {
    if (this.#state.phase === "off") return Promise.resolve();
    if (this.#stopped === undefined) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.#stopped = { promise, resolve };
    }
    const stopped = this.#stopped;
    this.#dispatch({ type: "call.stop", atMs: this.#now() });
    return stopped.promise;
  }

  #dispatch(event: DeadManEvent): void {
    const { state, effects } = stepDeadMan(this.#state, event);
    this.#state = state;
    if (state.phase === "off" && this.#stopped !== undefined) {
      this.#stopped.resolve();
      this.#stopped = undefined;
    }
    for (const effect of effects) this.#run(effect);
  }

  #run(effect: DeadManEffect): void {
    switch (effect.type) {
      case "call": {
        const timeoutSec = effect.timeoutSec;
        this.#call(timeoutSec).then(
          () =>
            this.#dispatch({ type: "reply.ok", timeoutSec, atMs: this.#now() }),
          (error: unknown) =>
            this.#dispatch({
              type: "reply.failed",
              timeoutSec,
              message: error instanceof Error ? error.message : String(error),
              atMs: this.#now(),
            }),
        );
        break;
      }
      case "set_timer":
        this.#cancelTimer?.();
        this.#cancelTimer = this.#setTimer(() => {
          this.#cancelTimer = undefined;
          this.#dispatch({ type: "timer.refresh", atMs: this.#now() });
        }, effect.delayMs);
        break;
      case "cancel_timer":
        this.#cancelTimer?.();
        this.#cancelTimer = undefined;
        break;
      case "warn":
        this.#onWarn(effect.message);
        break;
    }
  }
}
