/**
 * A small structured logger whose every line passes through a
 * {@linkcode Redactor}. Lines are JSON objects: `{ts, level, msg, ...fields}`.
 *
 * Two things keep it off a busy server's hot path:
 *
 * - {@linkcode Logger.request} writes the per-request line from fixed,
 *   typed fields: no name-based scrub of a field set that never holds a
 *   secret name, no generic `JSON.stringify` of an object; the client's
 *   path (free text) still loses every registered secret value. Successful
 *   requests can be sampled (`successSample`) or dropped by level.
 * - {@linkcode LineBuffer} batches lines into one write per turn of the
 *   event loop (or per 64 KiB) through an async writer, so a slow terminal
 *   or pipe never blocks a request; it drops, and counts, lines beyond a
 *   memory cap while a write is stuck.
 *
 * @module
 */

import { type Now, type SetTimer, systemClock } from "./clock.ts";
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
  /**
   * Write one in N request lines of status below 400 (default 1: every
   * one): the first, then every Nth. Error answers (400 and above) and
   * lines asked for with `always` are always written.
   */
  successSample?: number;
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
  #successSample: number;
  #successSeen = 0;
  #stampMs = NaN;
  #stamp = "";

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
    const sample = options.successSample ?? 1;
    if (!Number.isInteger(sample) || sample < 1) {
      throw new RangeError(
        `successSample must be a whole number of at least 1, not ${sample}`,
      );
    }
    this.#successSample = sample;
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
      ts: this.#timestamp(),
      level,
      msg: this.#redactor.text(msg),
      ...scrubbed,
    }));
  }

  /**
   * Write the line for one answered HTTP request: `{ts, level, msg:
   * "request", method, path, status, durationMs}`, the same shape as
   * `info("request", {...})` at a fraction of its cost. Level `info` below
   * status 500, `error` from 500; lines below 400 follow `successSample`.
   * Pass the path only (a query could hold anything); registered secret
   * values are removed from it.
   *
   * @param method The request method.
   * @param path The URL path, without the query.
   * @param status The answer's status.
   * @param durationMs Time to answer, ms (rounded to 0.1 ms here).
   * @param requestId The request's correlation id, written as `rid`
   *   (JSON-escaped, not scrubbed: the caller passes an id it minted or
   *   checked).
   * @param always Write it whatever `successSample` says (a request that
   *   acts on the account).
   */
  request(
    method: string,
    path: string,
    status: number,
    durationMs: number,
    requestId?: string,
    always = false,
  ): void {
    const level: LogLevel = status >= 500 ? "error" : "info";
    if (ORDER[level] < this.#level) return;
    if (status < 400 && !always && this.#successSample > 1) {
      const seen = this.#successSeen;
      this.#successSeen = seen + 1 === this.#successSample ? 0 : seen + 1;
      if (seen !== 0) return;
    }
    this.#sink(
      `{"ts":"${this.#timestamp()}","level":"${level}",` +
        `"msg":"request","method":${JSON.stringify(method)},"path":${
          JSON.stringify(this.#redactor.text(path))
        },"status":${Math.trunc(status)},"durationMs":${
          Math.round(durationMs * 10) / 10
        }${
          requestId === undefined ? "" : `,"rid":${JSON.stringify(requestId)}`
        }}`,
    );
  }

  /** The `ts` text; many lines share a millisecond under load. */
  #timestamp(): string {
    const ms = this.#now();
    if (ms !== this.#stampMs) {
      this.#stampMs = ms;
      this.#stamp = new Date(ms).toISOString();
    }
    return this.#stamp;
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

/** Options of {@linkcode LineBuffer}. */
export interface LineBufferOptions {
  /**
   * Writes a batch of lines (each ends with `\n`). May return a promise:
   * no other write starts until it settles.
   */
  write: (text: string) => void | Promise<void>;
  /** Write at once when this many characters wait (default 65,536). */
  batchChars?: number;
  /**
   * Characters kept while a write is in flight; later lines are dropped and
   * counted (default 4 MiB of text).
   */
  maxPendingChars?: number;
  /** Called with a write's error (the lines of that batch are lost). */
  onError?: (error: unknown) => void;
  /**
   * Timer for batching: lines wait up to `delayMs` for company. Without
   * it a batch is what one turn of the event loop pushed (a microtask).
   */
  setTimer?: SetTimer;
  /** How long a line may wait with `setTimer` (default 1 ms). */
  delayMs?: number;
}

/**
 * Batches log lines into few writes: lines pushed in one turn of the event
 * loop (or within `delayMs` with a timer) go out together in one write, or
 * as soon as `batchChars` wait. While an async write is in flight, new lines
 * wait for it and then go out together. Nothing blocks the caller.
 *
 * @example A buffered stderr sink
 * ```ts
 * import { LineBuffer, Logger } from "./log.ts";
 * const out: string[] = [];
 * const buffer = new LineBuffer({ write: (text) => void out.push(text) });
 * const log = new Logger({ sink: buffer.push });
 * log.info("started");
 * await buffer.flush();
 * ```
 */
export class LineBuffer {
  #write: (text: string) => void | Promise<void>;
  #batchChars: number;
  #maxPendingChars: number;
  #onError: (error: unknown) => void;
  #schedule: (fn: () => void) => void;
  #pending: string[] = [];
  #pendingChars = 0;
  #scheduled = false;
  #inFlight: Promise<void> | undefined;
  #dropped = 0;
  #droppedUnreported = 0;

  /**
   * Create a buffer.
   *
   * @param options The writer and the limits.
   */
  constructor(options: LineBufferOptions) {
    this.#write = options.write;
    this.#batchChars = options.batchChars ?? 65_536;
    this.#maxPendingChars = options.maxPendingChars ?? 4 * 1024 * 1024;
    this.#onError = options.onError ?? (() => {});
    const { setTimer } = options;
    const delayMs = options.delayMs ?? 1;
    this.#schedule = setTimer === undefined
      ? queueMicrotask
      : (fn) => void setTimer(fn, delayMs);
  }

  /** Lines dropped so far because a write was stuck and the cap was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queue one line (without its newline). Bound, so it can be passed as a
   * sink.
   *
   * @param line The line.
   */
  push = (line: string): void => {
    if (this.#pendingChars + line.length > this.#maxPendingChars) {
      this.#dropped++;
      this.#droppedUnreported++;
      return;
    }
    this.#pending.push(line);
    this.#pendingChars += line.length + 1;
    if (this.#inFlight !== undefined) return;
    if (this.#pendingChars >= this.#batchChars) {
      this.#drain();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(() => {
        this.#scheduled = false;
        if (this.#inFlight === undefined) this.#drain();
      });
    }
  };

  /**
   * Write everything queued so far, and wait for it.
   *
   * @returns When every queued line has been handed to the writer.
   */
  async flush(): Promise<void> {
    while (this.#inFlight !== undefined || this.#pending.length > 0) {
      if (this.#inFlight !== undefined) await this.#inFlight;
      else this.#drain();
    }
  }

  #drain(): void {
    if (this.#pending.length === 0) return;
    let text = this.#pending.join("\n") + "\n";
    this.#pending = [];
    this.#pendingChars = 0;
    if (this.#droppedUnreported > 0) {
      text +=
        `{"level":"warn","msg":"log lines dropped","dropped":${this.#droppedUnreported}}\n`;
      this.#droppedUnreported = 0;
    }
    let result: void | Promise<void>;
    try {
      result = this.#write(text);
    } catch (error) {
      this.#onError(error);
      return;
    }
    if (result instanceof Promise) {
      this.#inFlight = result.then(
        () => {},
        (error) => this.#onError(error),
      ).finally(() => {
        this.#inFlight = undefined;
        if (this.#pending.length > 0) this.#drain();
      });
    }
  }
}
