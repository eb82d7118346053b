/**
 * Reconciliation on a schedule: compares the stream-derived account with
 * REST at start, every `intervalMs`, and whenever the caller says the
 * stream reconnected — and reports every drift instead of hiding it.
 *
 * Call {@linkcode AccountReconciler.check} with `"reconnect"` *before* the
 * stream resyncs from REST: a resync overwrites the stream's state, and
 * the point is to see what it had wrong. Checks never overlap; a failed
 * REST read is reported as a report with `error`, and the schedule goes on.
 *
 * @module
 */

import { type Now, type SetTimer, systemClock } from "../clock.ts";
import { type AccountSnapshot, type Drift, reconcile } from "./reconcile.ts";

/** Why a check ran. */
export type ReconcileReason = "start" | "periodic" | "reconnect" | "manual";

/** The outcome of one check. */
export interface ReconcileReport {
  /** Why it ran. */
  reason: ReconcileReason;
  /** When it finished, ms. */
  atMs: number;
  /** Every drift found (`[]` when the two views agree). */
  drifts: Drift[];
  /** Why REST could not be read, when it could not (no drifts then). */
  error?: string;
}

/** Options of {@linkcode AccountReconciler}. */
export interface AccountReconcilerOptions {
  /** The stream-derived state now. */
  stream: () => AccountSnapshot;
  /** Reads the state from REST (`BalanceEx`, `OpenOrders`). */
  rest: () => Promise<AccountSnapshot>;
  /** Every report, drifts or not. */
  onReport: (report: ReconcileReport) => void;
  /** Period of the scheduled checks, ms (default 60,000). */
  intervalMs?: number;
  /** Clock (default `systemClock.now`). */
  now?: Now;
  /** Timer (default `systemClock.setTimer`). */
  setTimer?: SetTimer;
}

/**
 * Runs reconciliation at start, periodically and on reconnect.
 *
 * @example Report drifts
 * ```ts
 * import { AccountReconciler } from "./reconciler.ts";
 * const reconciler = new AccountReconciler({
 *   stream: () => ({ balances: { USD: "100" }, openOrders: {} }),
 *   rest: () => Promise.resolve({ balances: { USD: "90" }, openOrders: {} }),
 *   onReport: () => {},
 * });
 * const report = await reconciler.check("manual");
 * report.drifts.length; // 1
 * ```
 */
export class AccountReconciler {
  #options: AccountReconcilerOptions;
  #now: Now;
  #setTimer: SetTimer;
  #intervalMs: number;
  #cancel: (() => void) | undefined;
  #running: Promise<ReconcileReport> | undefined;
  #last: ReconcileReport | undefined;

  /**
   * Creates the reconciler; nothing runs until {@linkcode start} or
   * {@linkcode check}.
   *
   * @param options Sources, report sink, period and clock.
   * @throws {RangeError} When `intervalMs` is not positive.
   */
  constructor(options: AccountReconcilerOptions) {
    this.#options = options;
    this.#now = options.now ?? systemClock.now;
    this.#setTimer = options.setTimer ?? systemClock.setTimer;
    this.#intervalMs = options.intervalMs ?? 60_000;
    if (!(this.#intervalMs > 0)) {
      throw new RangeError(
        `Cannot create AccountReconciler: intervalMs must be > 0, got ${this.#intervalMs}`,
      );
    }
  }

  /** The latest report, if any check finished. */
  get last(): ReconcileReport | undefined {
    return this.#last;
  }

  /**
   * Checks now (`start`) and then every `intervalMs`. Idempotent.
   */
  start(): void {
    if (this.#cancel !== undefined) return;
    this.#cancel = () => {};
    void this.check("start").finally(() => this.#schedule());
  }

  /** Stops the schedule; a check under way still reports. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #schedule(): void {
    if (this.#cancel === undefined) return;
    this.#cancel = this.#setTimer(() => {
      void this.check("periodic").finally(() => this.#schedule());
    }, this.#intervalMs);
  }

  /**
   * Compares the two views now. A check already running is awaited
   * instead of starting a second one.
   *
   * @param reason Why.
   * @returns The report (also passed to `onReport`).
   */
  check(reason: ReconcileReason): Promise<ReconcileReport> {
    if (this.#running !== undefined) return this.#running;
    const streamState = this.#options.stream();
    const run = this.#options.rest().then(
      (rest): ReconcileReport => ({
        reason,
        atMs: this.#now(),
        drifts: reconcile(streamState, rest),
      }),
      (error: unknown): ReconcileReport => ({
        reason,
        atMs: this.#now(),
        drifts: [],
        error: error instanceof Error ? error.message : String(error),
      }),
    ).then((report) => {
      this.#running = undefined;
      this.#last = report;
      this.#options.onReport(report);
      return report;
    });
    this.#running = run;
    return run;
  }
}
