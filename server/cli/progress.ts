/**
 * Backfill progress on standard error: a bar redrawn in place (carriage
 * return) on a terminal, plain lines at every 10 % step otherwise (logs and
 * pipes get no control characters).
 *
 * @module
 */

import type { BackfillProgress } from "@krakked/core/market/ohlc_history";
import type { CliIo } from "./io.ts";

/**
 * Format one progress report. Pure.
 *
 * @param progress The report.
 * @param barWidth Width of the bar in characters (0 for no bar).
 * @returns E.g. `ohlc   [######------]  50%  360/720  ETA 2s`.
 * @example Format
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * formatProgress({ phase: "ohlc", done: 1, total: 2, etaMs: 1000 }, 4);
 * // "ohlc   [##--]  50%  1/2  ETA 1s"
 * ```
 */
export function formatProgress(
  progress: BackfillProgress,
  barWidth: number,
): string {
  const ratio = progress.total > 0
    ? Math.max(0, Math.min(1, progress.done / progress.total))
    : 1;
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  const filled = Math.round(ratio * barWidth);
  const bar = barWidth > 0
    ? ` [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]`
    : "";
  const eta = progress.etaMs === null || ratio >= 1
    ? ""
    : `  ETA ${formatDuration(progress.etaMs)}`;
  return `${progress.phase.padEnd(6)}${bar} ${pct}  ${
    Math.round(progress.done)
  }/${Math.round(progress.total)}${eta}`;
}

/**
 * Format a duration for people: `850ms`, `12s`, `3m05s`, `2h10m`.
 *
 * @param ms Milliseconds.
 * @returns The text.
 * @example Format
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * formatDuration(185_000); // "3m05s"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const sec = Math.round(ms / 1000);
  if (sec < 60) return `${sec}s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min}m${String(sec % 60).padStart(2, "0")}s`;
  return `${Math.floor(min / 60)}h${String(min % 60).padStart(2, "0")}m`;
}

/**
 * Puts the public rate limit into the ETA of a trade rebuild.
 *
 * Core estimates the time left from the time spent so far, but the first
 * `Trades` pages ride the limiter's burst and come back at once, so after
 * them it promised "< 1 s" while every later page waits its turn. This
 * estimates the pages still needed from the intervals each page covered so
 * far and charges each at least `paceMs`.
 */
export class PacedEta {
  #paceMs: number;
  #ohlcDone = 0;
  #tradePages = 0;

  /**
   * Create the estimator.
   *
   * @param paceMs The least time one request takes once the burst is spent
   *   (1000 ms at Kraken's public 1 request per second).
   */
  constructor(paceMs: number) {
    this.#paceMs = paceMs;
  }

  /**
   * The report with an ETA that counts the paced requests left.
   *
   * @param progress A report from the backfill (one per page).
   * @returns The same report; a `trades` one with its ETA raised to the
   *   paced estimate (or `null` before a page has covered an interval).
   * @example Three pages covered 30 of 330 intervals
   * ```ts
   * import { PacedEta } from "./progress.ts";
   * const eta = new PacedEta(1000);
   * eta.adjust({ phase: "ohlc", done: 0, total: 330, etaMs: null });
   * for (const done of [10, 20]) eta.adjust({ phase: "trades", done, total: 330, etaMs: 5 });
   * eta.adjust({ phase: "trades", done: 30, total: 330, etaMs: 5 }).etaMs; // 30000
   * ```
   */
  adjust(progress: BackfillProgress): BackfillProgress {
    if (progress.phase === "ohlc") {
      this.#ohlcDone = progress.done;
      return progress;
    }
    this.#tradePages++;
    const covered = progress.done - this.#ohlcDone;
    const left = Math.max(0, progress.total - progress.done);
    if (left === 0) return progress;
    if (covered <= 0) return { ...progress, etaMs: null };
    const pagesLeft = Math.ceil(left / (covered / this.#tradePages));
    return {
      ...progress,
      etaMs: Math.max(progress.etaMs ?? 0, pagesLeft * this.#paceMs),
    };
  }
}

/** Writes backfill progress to standard error. */
export class ProgressPrinter {
  #io: Pick<CliIo, "stderr" | "stderrIsTerminal">;
  #drawn = false;
  #lastStep = -1;
  #lastPhase: string | undefined;
  #last: BackfillProgress | undefined;

  /**
   * Create a printer.
   *
   * @param io Where to write and whether it is a terminal.
   */
  constructor(io: Pick<CliIo, "stderr" | "stderrIsTerminal">) {
    this.#io = io;
  }

  /**
   * Show a report.
   *
   * @param progress The report.
   */
  update(progress: BackfillProgress): void {
    this.#last = progress;
    if (this.#io.stderrIsTerminal) {
      // \r back to column 0, then erase what a longer line left behind.
      this.#io.stderr(`\r${formatProgress(progress, 30)}\x1b[K`);
      this.#drawn = true;
      return;
    }
    const ratio = progress.total > 0 ? progress.done / progress.total : 1;
    const step = Math.floor(ratio * 10);
    if (step === this.#lastStep && progress.phase === this.#lastPhase) return;
    this.#lastStep = step;
    this.#lastPhase = progress.phase;
    this.#io.stderr(`progress: ${formatProgress(progress, 0)}\n`);
  }

  /**
   * End the bar. After a run that succeeded, pass what was done: when the
   * last report shown was short of 100 % (a run with nothing new ends at
   * "0/1"; an OHLC-only run asked for more than the window shows the whole
   * range), the bar is drawn once more with it, so it never stays stuck.
   *
   * @param outcome The completed work, e.g. `{ phase, done: n, total: n }`.
   */
  finish(outcome?: BackfillProgress): void {
    const last = this.#last;
    const short = last === undefined || (last.total > 0 &&
      last.done < last.total);
    if (outcome !== undefined && short) this.update(outcome);
    if (this.#drawn) this.#io.stderr("\n");
    this.#drawn = false;
    this.#last = undefined;
  }
}
