/**
 * A fake clock and timer scheduler for tests: time moves only when the test
 * says so, and timers fire in time order as it advances. Nothing real is
 * scheduled, so Deno's sanitizers have nothing to report.
 *
 * @module
 */

interface FakeTimer {
  id: number;
  atMs: number;
  fn: () => void;
}

/** Options of {@linkcode FakeClock.settle}. */
export interface SettleOptions {
  /** Give up after this many timer jumps (default 10 000). */
  maxJumps?: number;
  /** Stop advancing once the clock would pass this time. */
  untilMs?: number;
  /**
   * Real event-loop turns to yield before each jump (default 1). Raise it
   * when the code under test awaits real async work such as WebCrypto, so
   * the clock does not jump to a timeout while that work is still running.
   */
  turns?: number;
}

/**
 * A clock you advance by hand, with a timer scheduler driven by it.
 *
 * `now`, `setTimer`, `setTimeout` and `clearTimeout` are bound, so they can
 * be passed around as plain functions.
 *
 * @example Advance
 * ```ts
 * import { FakeClock } from "./clock.ts";
 * const clock = new FakeClock(0);
 * let fired = false;
 * clock.setTimer(() => (fired = true), 100);
 * clock.advance(100); // fired === true
 * ```
 */
export class FakeClock {
  #nowMs: number;
  #timers: FakeTimer[] = [];
  #nextId = 1;

  /**
   * Create a clock.
   *
   * @param startMs The initial time in ms since the epoch.
   */
  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
    this.now = this.now.bind(this);
    this.setTimer = this.setTimer.bind(this);
    this.setTimeout = this.setTimeout.bind(this);
    this.clearTimeout = this.clearTimeout.bind(this);
  }

  /** @returns The current fake time in ms. */
  now(): number {
    return this.#nowMs;
  }

  /**
   * Schedule `fn` after `ms` of fake time.
   *
   * @param fn The callback.
   * @param ms The delay (negative counts as 0).
   * @returns A function that cancels the timer (safe to call twice).
   */
  setTimer(fn: () => void, ms: number): () => void {
    const id = this.setTimeout(fn, ms);
    return () => this.clearTimeout(id);
  }

  /**
   * `setTimeout`-like scheduling.
   *
   * @param fn The callback.
   * @param ms The delay.
   * @returns The timer id.
   */
  setTimeout(fn: () => void, ms = 0): number {
    const id = this.#nextId++;
    this.#timers.push({ id, atMs: this.#nowMs + Math.max(0, ms), fn });
    return id;
  }

  /**
   * Cancel a timer.
   *
   * @param id The timer id (unknown ids are ignored).
   */
  clearTimeout(id: number | undefined): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** How many timers are scheduled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** @returns When the next timer is due, or `undefined` when none is. */
  nextTimerAtMs(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers) {
      if (next === undefined || t.atMs < next) next = t.atMs;
    }
    return next;
  }

  /**
   * Move time forward, firing every timer due on the way in time order
   * (including timers those callbacks schedule, if due).
   *
   * @param ms How far to move.
   */
  advance(ms: number): void {
    this.advanceTo(this.#nowMs + ms);
  }

  /**
   * Move time to `targetMs` (never backwards), firing due timers in order.
   *
   * @param targetMs The new time.
   */
  advanceTo(targetMs: number): void {
    for (;;) {
      let due: FakeTimer | undefined;
      for (const t of this.#timers) {
        if (t.atMs <= targetMs && (!due || t.atMs < due.atMs)) due = t;
      }
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#nowMs = Math.max(this.#nowMs, due.atMs);
      due.fn();
    }
    this.#nowMs = Math.max(this.#nowMs, targetMs);
  }

  /**
   * Flush until `condition()` holds, for waiting on real async work without
   * moving fake time.
   *
   * @param condition What to wait for.
   * @param maxTurns Give up after this many event-loop turns (default 500).
   * @returns Resolves once the condition holds.
   */
  async until(condition: () => boolean, maxTurns = 500): Promise<void> {
    for (let i = 0; i < maxTurns; i++) {
      if (condition()) return;
      await this.flush();
    }
    if (!condition()) {
      throw new Error(
        `FakeClock.until: condition still false after ${maxTurns} turns`,
      );
    }
  }

  /**
   * Step the clock back (to test clocks that jump). Timers keep their
   * absolute due times.
   *
   * @param ms How far to step back.
   */
  rewind(ms: number): void {
    this.#nowMs -= ms;
  }

  /**
   * Let pending promise work run: many microtask turns, then `turns` real
   * event-loop turns (for async WebCrypto and I/O). No fake time passes.
   *
   * @param turns Real event-loop turns to yield (default 1).
   */
  async flush(turns = 1): Promise<void> {
    for (let t = 0; t < turns; t++) {
      for (let i = 0; i < 50; i++) await Promise.resolve();
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
    for (let i = 0; i < 50; i++) await Promise.resolve();
  }

  /**
   * Drive a promise to completion: let work run, and whenever it is stuck,
   * jump to the next timer. Rejects if nothing is scheduled and it is still
   * pending, so a hung test fails instead of timing out.
   *
   * @param promise The promise to settle.
   * @param options Limits.
   * @returns The promise's value.
   */
  async settle<T>(
    promise: Promise<T>,
    options: SettleOptions = {},
  ): Promise<T> {
    let done = false;
    promise.then(() => (done = true), () => (done = true));
    const maxJumps = options.maxJumps ?? 10_000;
    const turns = options.turns ?? 1;
    for (let jumps = 0; jumps <= maxJumps; jumps++) {
      await this.flush(turns);
      if (done) return await promise;
      const next = this.nextTimerAtMs();
      if (next === undefined) {
        // Real async work (WebCrypto, body streams) may still be running:
        // give it plenty of turns before calling the promise stuck.
        for (
          let i = 0;
          i < 200 && !done && this.nextTimerAtMs() === undefined;
          i++
        ) {
          await this.flush();
        }
        if (done) return await promise;
        if (this.nextTimerAtMs() !== undefined) continue;
        throw new Error(
          "FakeClock.settle: the promise is pending and no timer is scheduled",
        );
      }
      if (options.untilMs !== undefined && next > options.untilMs) {
        throw new Error(
          `FakeClock.settle: still pending at ${options.untilMs} ms`,
        );
      }
      this.advanceTo(next);
    }
    throw new Error(`FakeClock.settle: still pending after ${maxJumps} jumps`);
  }
}
