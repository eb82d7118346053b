/**
 * The recorder in the ops view: `krakked record` is its own process, and
 * keeps a status file beside its store (`<store>.status.json`, written then
 * renamed on every commit, so a reader never sees half of it). The server
 * reads that file every few seconds — bounded in size, each field checked —
 * and hands it to the {@linkcode OpsMonitor}, which pushes it with the rest
 * of the ops snapshot.
 *
 * A recorder that says it runs but has not written for longer than the
 * freshness window (a `kill -9`, a hung process) is shown as stale, never as
 * running. A file that is missing means no recorder ran here: no section. A
 * malformed file is reported once in the log and shown as nothing.
 *
 * @module
 */

import { join } from "node:path";
import type { Logger } from "@krakked/core/log";
import { readOptionalText } from "../deno/files.ts";
import type { OpsMonitor, OpsRecorder } from "./ops.ts";

/** The recorder's default store under the config directory. */
export function defaultRecorderStore(configDir: string): string {
  return join(configDir, "record", "market.duckdb");
}

/** The status file a running recorder keeps beside its store. */
export function recorderStatusPath(store: string): string {
  return `${store}.status.json`;
}

/** The largest status file read (the file is a few hundred bytes). */
const MAX_STATUS_BYTES = 64 * 1024;

/** Options of {@linkcode watchRecorder}. */
export interface WatchRecorderOptions {
  /** The store whose status file is read. */
  store: string;
  /** The monitor to feed. */
  ops: Pick<OpsMonitor, "recorderFrom" | "recorderChanged">;
  /** Where a malformed file is reported. */
  logger: Logger;
  /** Read interval, ms (default 2,000). */
  intervalMs?: number;
  /**
   * A running recorder that has not written for this long is stale, ms
   * (default 30,000; it writes on every commit, at least every few seconds
   * while trades arrive, and on a timer otherwise).
   */
  staleAfterMs?: number;
  /** Clock, ms (default `Date.now`). */
  now?: () => number;
  /** Read a file (default: bounded {@linkcode readOptionalText}). */
  read?: (path: string) => Promise<string | undefined>;
  /** Periodic timer returning its stop (default `setInterval`). */
  every?: (fn: () => void, ms: number) => () => void;
}

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value)
    ? value
    : undefined;
}

/**
 * The recorder's state from its status file's text.
 *
 * @param text The file's text.
 * @param store The store's path.
 * @param nowMs The time now.
 * @param staleAfterMs Freshness window.
 * @returns The state.
 * @throws {SyntaxError} When the text is not JSON, or a required field is
 *   missing or of the wrong type.
 * @example Parse
 * ```ts
 * import { parseRecorderStatus } from "./ops_recorder.ts";
 * parseRecorderStatus(
 *   '{"pid":1,"running":true,"writtenAt":"2026-01-01T00:00:00Z","wsState":"open","reconnects":0,"bronzeRows":5,"silverRows":5,"goldRows":1,"gapsFound":0,"gapsFilled":0,"gapsUnfilled":[],"bookMismatches":0}',
 *   "m.duckdb",
 *   Date.parse("2026-01-01T00:00:01Z"),
 *   30_000,
 * ).running; // true
 * ```
 */
export function parseRecorderStatus(
  text: string,
  store: string,
  nowMs: number,
  staleAfterMs: number,
): OpsRecorder {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SyntaxError("recorder status is not a JSON object");
  }
  const o = value as Record<string, unknown>;
  const required = (name: string): number => {
    const n = num(o[name]);
    if (n === undefined) {
      throw new SyntaxError(`recorder status: "${name}" is not a number`);
    }
    return n;
  };
  const writtenAtMs = typeof o.writtenAt === "string"
    ? Date.parse(o.writtenAt)
    : Number.NaN;
  if (!Number.isFinite(writtenAtMs)) {
    throw new SyntaxError('recorder status: "writtenAt" is not a time');
  }
  if (typeof o.running !== "boolean") {
    throw new SyntaxError('recorder status: "running" is not a boolean');
  }
  const says = o.running;
  const stale = says && nowMs - writtenAtMs > staleAfterMs;
  return {
    store,
    pid: required("pid"),
    running: says && !stale,
    stale,
    writtenAtMs,
    wsState: typeof o.wsState === "string" ? o.wsState.slice(0, 40) : "unknown",
    reconnects: required("reconnects"),
    bronzeRows: required("bronzeRows"),
    silverRows: required("silverRows"),
    goldRows: required("goldRows"),
    gapsFound: required("gapsFound"),
    gapsFilled: required("gapsFilled"),
    // The file lists the latest unfilled gaps and counts them all.
    gapsUnfilled: num(o.gapsUnfilledTotal) ??
      (Array.isArray(o.gapsUnfilled) ? o.gapsUnfilled.length : 0),
    bookMismatches: num(o.bookMismatches) ?? 0,
    lastCommitAtMs: num(o.lastCommitAtMs) ?? null,
  };
}

/**
 * Follow a recorder's status file and feed the ops monitor.
 *
 * @param options Store, monitor, logger, timing.
 * @returns Stop following.
 * @example Watch the default store
 * ```ts ignore
 * const stop = watchRecorder({ store: defaultRecorderStore(dir), ops, logger });
 * ```
 */
export function watchRecorder(options: WatchRecorderOptions): () => void {
  const path = recorderStatusPath(options.store);
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? 30_000;
  const read = options.read ??
    ((p: string) => readOptionalText(p, { maxBytes: MAX_STATUS_BYTES }));
  const every = options.every ?? ((fn, ms) => {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  });
  let text: string | undefined;
  let state: OpsRecorder | null = null;
  let warned = false;
  let reading = false;
  let stopped = false;
  const refresh = async (): Promise<void> => {
    if (reading || stopped) return;
    reading = true;
    try {
      let next: string | undefined;
      try {
        next = await read(path);
      } catch (error) {
        next = undefined;
        if (!warned) {
          warned = true;
          options.logger.warn("recorder status unreadable", {
            path,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
      if (stopped) return;
      let parsed: OpsRecorder | null = null;
      if (next !== undefined) {
        try {
          parsed = parseRecorderStatus(
            next,
            options.store,
            now(),
            staleAfterMs,
          );
          warned = false;
        } catch (error) {
          if (!warned) {
            warned = true;
            options.logger.warn("recorder status malformed", {
              path,
              error: error instanceof Error ? error.message : String(error),
            });
          }
        }
      }
      // Push when the file or its freshness changed.
      const changed = next !== text ||
        parsed?.running !== state?.running || parsed?.stale !== state?.stale;
      text = next;
      state = parsed;
      if (changed) options.ops.recorderChanged();
    } finally {
      reading = false;
    }
  };
  options.ops.recorderFrom(() => state);
  const stop = every(() => void refresh(), options.intervalMs ?? 2_000);
  void refresh();
  return () => {
    stopped = true;
    stop();
  };
}
