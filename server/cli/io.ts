/**
 * The I/O every CLI command goes through: output writers, environment,
 * terminal facts, prompts and the clock. `main` builds it from Deno's
 * defaults; tests inject their own and capture the output.
 *
 * @module
 */

import type { RetryOptions } from "@krakked/core/rest/client";
import type { Secret } from "@krakked/core/secrets/secret";
import { isInteractive, promptLine, promptSecret } from "../deno/prompt.ts";

/** The I/O of one CLI run. */
export interface CliIo {
  /** Write raw text to standard output (add `\n` yourself). */
  stdout: (text: string) => void;
  /** Write raw text to standard error (add `\n` yourself). */
  stderr: (text: string) => void;
  /** Environment lookup. */
  env: (name: string) => string | undefined;
  /** Whether standard input is a terminal (prompts are possible). */
  interactive: boolean;
  /** Whether standard output is a terminal (colours). */
  stdoutIsTerminal: boolean;
  /** Whether standard error is a terminal (progress bar redraws). */
  stderrIsTerminal: boolean;
  /** Ask for a visible line; `undefined` without a terminal. */
  promptLine: (message: string) => string | undefined;
  /** Ask for a hidden value; `undefined` without a terminal. */
  promptSecret: (message: string) => Promise<Secret | undefined>;
  /** Clock, ms since the epoch. */
  now: () => number;
  /** `Deno.build.os`, for the config directory. */
  os: string;
  /** Retry policy of the REST clients the commands create (default: the client's). */
  retry?: RetryOptions;
  /**
   * Ends a long-running command (`--watch`) as Ctrl+C does; tests abort it.
   * The process's SIGINT and SIGTERM always work as well.
   */
  stop?: AbortSignal;
}

function streamWriter(
  stream: { writeSync(p: Uint8Array): number },
): (text: string) => void {
  const encoder = new TextEncoder();
  return (text) => {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      written += stream.writeSync(bytes.subarray(written));
    }
  };
}

/**
 * The real process I/O: Deno's streams, environment, TTY checks and prompts.
 *
 * @returns I/O backed by the Deno process.
 * @example Run with real I/O
 * ```ts
 * import { denoIo } from "./io.ts";
 * denoIo().stdout("hello\n");
 * ```
 */
export function denoIo(): CliIo {
  return {
    stdout: streamWriter(Deno.stdout),
    stderr: streamWriter(Deno.stderr),
    env: (name) => Deno.env.get(name),
    interactive: isInteractive(),
    stdoutIsTerminal: Deno.stdout.isTerminal(),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    promptLine,
    promptSecret,
    now: Date.now,
    os: Deno.build.os,
  };
}

/**
 * Whether output may use ANSI colours: standard output is a terminal and
 * `NO_COLOR` is unset or empty (https://no-color.org).
 *
 * @param io The run's I/O.
 * @returns `true` when colours are allowed.
 * @example Check
 * ```ts
 * import { colorAllowed, denoIo } from "./io.ts";
 * colorAllowed(denoIo());
 * ```
 */
export function colorAllowed(
  io: Pick<CliIo, "env" | "stdoutIsTerminal">,
): boolean {
  const noColor = io.env("NO_COLOR");
  return (noColor === undefined || noColor === "") && io.stdoutIsTerminal;
}

/**
 * Wrap text in an ANSI colour when colours are allowed.
 *
 * @param color Whether to colour.
 * @param code SGR code, e.g. `"32"` for green.
 * @param text The text.
 * @returns The text, coloured or not.
 * @example Green
 * ```ts
 * import { paint } from "./io.ts";
 * paint(true, "32", "ok"); // "\x1b[32mok\x1b[0m"
 * ```
 */
export function paint(color: boolean, code: string, text: string): string {
  return color ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/**
 * Write one line (a `\n` is added) to a writer.
 *
 * @param write `io.stdout` or `io.stderr`.
 * @param text The line.
 * @example Write
 * ```ts
 * import { denoIo, writeLine } from "./io.ts";
 * writeLine(denoIo().stdout, "done");
 * ```
 */
export function writeLine(write: (text: string) => void, text: string): void {
  write(`${text}\n`);
}

/**
 * Write a value as pretty JSON (one document, trailing newline) to stdout.
 *
 * @param io The run's I/O.
 * @param value A JSON-serialisable value.
 * @example JSON
 * ```ts
 * import { denoIo, writeJson } from "./io.ts";
 * writeJson(denoIo(), { ok: true });
 * ```
 */
export function writeJson(io: Pick<CliIo, "stdout">, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}
