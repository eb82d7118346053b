/**
 * A small structured logger whose every line passes through a
 * {@linkcode Redactor}. Lines are JSON objects: `{ts, level, msg, ...fields}`.
 *
 * @module
 */

import { type Now, systemClock } from "./clock.ts";
import { Redactor } from "./secrets/redact.ts";

/** Log levels, least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
};

/** Options of {@linkcode Logger}. */
export interface LoggerOptions {
  /** Where finished lines go (e.g. stderr). */
  sink: (line: string) => void;
  /** The process redactor; a fresh one when omitted. */
  redactor?: Redactor;
  /** Lowest level written; default `info`. */
  level?: LogLevel;
  /** Clock for the `ts` field. */
  now?: Now;
}

/**
 * A redacting JSON-lines logger.
 *
 * @example Log a request
 * ```ts
 * import { Logger } from "./log.ts";
 * const lines: string[] = [];
 * const log = new Logger({ sink: (l) => lines.push(l) });
 * log.info("request", { method: "GET", path: "/api/health", status: 200 });
 * ```
 */
export class Logger {
  #sink: (line: string) => void;
  #redactor: Redactor;
  #level: number;
  #now: Now;

  /**
   * Create a logger.
   *
   * @param options Sink, redactor, level and clock.
   */
  constructor(options: LoggerOptions) {
    this.#sink = options.sink;
    this.#redactor = options.redactor ?? new Redactor();
    this.#level = ORDER[options.level ?? "info"];
    this.#now = options.now ?? systemClock.now;
  }

  /** The redactor used for every line. */
  get redactor(): Redactor {
    return this.#redactor;
  }

  /**
   * Write one line.
   *
   * @param level Severity.
   * @param msg A short constant message.
   * @param fields Structured fields (scrubbed).
   */
  log(
    level: LogLevel,
    msg: string,
    fields: Record<string, unknown> = {},
  ): void {
    if (ORDER[level] < this.#level) return;
    const scrubbed = this.#redactor.fields(fields) as Record<string, unknown>;
    this.#sink(JSON.stringify({
      ts: new Date(this.#now()).toISOString(),
      level,
      msg: this.#redactor.text(msg),
      ...scrubbed,
    }));
  }

  /**
   * Debug line.
   *
   * @param msg Message.
   * @param fields Fields.
   */
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log("debug", msg, fields);
  }

  /**
   * Info line.
   *
   * @param msg Message.
   * @param fields Fields.
   */
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }

  /**
   * Warning line.
   *
   * @param msg Message.
   * @param fields Fields.
   */
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }

  /**
   * Error line.
   *
   * @param msg Message.
   * @param fields Fields.
   */
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }
}
