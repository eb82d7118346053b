/**
 * The shape of one CLI command: what the table in `./commands.ts` holds.
 *
 * A command is a name, a one-line summary for `krakked --help`, its help
 * text, a pure `parse` from its arguments to its flags (tagged by `kind`,
 * which is the command's name) or help or a usage error, and `run`, which
 * does the work and returns the exit code. `run` throws what goes wrong;
 * `main` turns that into the error line (or JSON) and the exit code.
 *
 * Every run of a command has a correlation id ({@linkcode runCommandScoped}):
 * the REST client and WebSocket of `./context.ts` send it upstream as
 * `X-Request-Id`, each log line of the run names it as `rid` (JSON lines,
 * redacted, to `KRAKKED_LOG_FILE` or, with `KRAKKED_LOG`, stderr), and
 * `main` prints it with any error so a user can quote it.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import { Logger, type LogLevel } from "@krakked/core/log";
import type { Redactor } from "@krakked/core/secrets/redact";
import { IdMint } from "../http/request_id.ts";
import type { Parsed } from "./args.ts";
import { UsageError } from "./errors.ts";
import type { CliIo } from "./io.ts";

/**
 * One command of the CLI.
 *
 * @typeParam F Its parsed flags; `F["kind"]` is the command's name.
 */
export interface Command<F extends { kind: string }> {
  /** The word after `krakked`, equal to the flags' `kind`. */
  readonly name: F["kind"];
  /** One line for the top-level help. */
  readonly summary: string;
  /** The text of `krakked <name> --help` (starts with `Usage: krakked <name>`). */
  readonly help: string;
  /**
   * Read the arguments after the command name. Pure: no I/O, never throws
   * for a bad command line.
   */
  parse(args: readonly string[]): Parsed<F>;
  /**
   * Do the work.
   *
   * @param flags What `parse` returned.
   * @param io The run's I/O (writers already scrubbed by `redactor`).
   * @param redactor Register every secret the command sees here.
   * @returns The exit code.
   */
  run(flags: F, io: CliIo, redactor: Redactor): Promise<number>;
  /**
   * Whether these flags start a process meant to run for hours. Run as the
   * program, krakked then re-executes itself under jemalloc when it is
   * installed, before `run` (server/deno/allocator.ts: glibc's malloc grows
   * such a process without bound).
   */
  longRunning?(flags: F): boolean;
}

/**
 * How many times this process restarted itself in place (a command that
 * ended with `EXIT.restart`); set by `main.ts` in the new image.
 */
export const ENV_RESTARTS = "KRAKKED_RESTARTS";

/** One command run: its correlation id and where its log lines go. */
export interface CommandRun {
  /** The id (`ticker-3f9a1b2c4d5e`): sent upstream, logged, printed on errors. */
  readonly id: string;
  /** The command's name. */
  readonly name: string;
  /** Its JSON-lines logger (redacted), when logging is on (`KRAKKED_LOG*`). */
  readonly logger: Logger | undefined;
  /** Mints the ids of its upstream calls (`<id>-u1`, …). */
  readonly mint: IdMint;
}

const runs = new AsyncLocalStorage<CommandRun>();

/** Environment variable: a file the CLI appends its JSON log lines to. */
export const ENV_LOG_FILE = "KRAKKED_LOG_FILE";
/** Environment variable: the lowest level logged (`debug` … `error`). */
export const ENV_LOG_LEVEL = "KRAKKED_LOG";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * A new correlation id for one run of a command: its name and 48 random
 * bits (`ticker-3f9a1b2c4d5e`), unique across runs and processes, and a
 * sane `X-Request-Id` (see `../http/request_id.ts`).
 *
 * @param name The command's name.
 * @returns The id.
 * @example
 * ```ts
 * import { newCommandId } from "./command.ts";
 * newCommandId("ticker"); // "ticker-…" (12 hex digits)
 * ```
 */
export function newCommandId(name: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${name.replace(/[^A-Za-z0-9]/g, "").slice(0, 20) || "cli"}-${hex}`;
}

/**
 * The command run this code runs inside (see {@linkcode runCommandScoped}),
 * if any: its id, logger and mint.
 *
 * @returns The run, or `undefined` outside a command.
 */
export function currentCommand(): CommandRun | undefined {
  return runs.getStore();
}

/**
 * A refusal line with the run's id at its end (`… (id order-3f9a…)`), as
 * `main` prints a failure, so a user can quote it and find the run's log
 * lines; unchanged outside a run.
 *
 * @param line The line.
 * @returns The line with the id, if any.
 * @example Outside a run
 * ```ts
 * import { withRunId } from "./command.ts";
 * withRunId("REJECTED (mode_read_only): read only"); // unchanged
 * ```
 */
export function withRunId(line: string): string {
  const id = currentCommand()?.id;
  return id === undefined ? line : `${line} (id ${id})`;
}

/**
 * The run's id as the JSON error member `id`, or nothing outside a run.
 *
 * @returns `{ id }` or `{}`.
 */
export function runIdField(): { id?: string } {
  const id = currentCommand()?.id;
  return id === undefined ? {} : { id };
}

/**
 * The logger of a run from the environment: `KRAKKED_LOG_FILE=PATH`
 * appends JSON lines to PATH (created 0600) at `KRAKKED_LOG` (default
 * `info`); `KRAKKED_LOG=LEVEL` alone writes them to stderr; neither, no
 * log (the id is still sent upstream and printed on errors).
 */
function commandLogger(
  io: CliIo,
  redactor: Redactor,
): { logger: Logger | undefined; close: () => void } {
  const path = io.env(ENV_LOG_FILE);
  const levelText = io.env(ENV_LOG_LEVEL)?.trim().toLowerCase();
  const level = LEVELS.find((l) => l === levelText);
  if (levelText && level === undefined) {
    throw new UsageError(
      `${ENV_LOG_LEVEL} must be one of ${LEVELS.join(", ")}, not ${
        JSON.stringify(levelText.slice(0, 20))
      }`,
    );
  }
  if (path !== undefined && path !== "") {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
    } catch (error) {
      throw new UsageError(
        `Cannot open ${ENV_LOG_FILE} (${path}): ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    const encoder = new TextEncoder();
    // A socket's close can be reported after the run ended: dropped.
    let closed = false;
    return {
      logger: new Logger({
        redactor,
        level: level ?? "info",
        now: io.now,
        sink: (line) => {
          if (closed) return;
          const bytes = encoder.encode(`${line}\n`);
          let written = 0;
          while (written < bytes.length) {
            written += file.writeSync(bytes.subarray(written));
          }
        },
      }),
      close: () => {
        closed = true;
        file.close();
      },
    };
  }
  if (level === undefined) return { logger: undefined, close: () => {} };
  return {
    logger: new Logger({
      redactor,
      level,
      now: io.now,
      sink: (line) => io.stderr(`${line}\n`),
    }),
    close: () => {},
  };
}

/**
 * Run one command with its own correlation id: `fn` runs inside the run's
 * scope ({@linkcode currentCommand}), so the REST client and WebSocket of
 * `./context.ts` send it upstream and every log line names it as `rid`.
 * The run writes `command` when it starts, `command done` with the exit
 * code, or `command failed` with the (redacted) error, and rethrows.
 *
 * @param name The command's name.
 * @param io The run's I/O (environment for the log settings, clock).
 * @param redactor Scrubs every log line.
 * @param fn Runs the command; returns its exit code.
 * @param id The id (default: {@linkcode newCommandId}).
 * @returns The id and the exit code; what `fn` throws is rethrown with
 *   the id attached as {@linkcode commandIdOf}.
 * @throws What `fn` throws, or a {@linkcode UsageError} for a bad `KRAKKED_LOG`.
 * @example
 * ```ts ignore
 * const { id, code } = await runCommandScoped("ticker", io, redactor, () => run());
 * ```
 */
export async function runCommandScoped(
  name: string,
  io: CliIo,
  redactor: Redactor,
  fn: () => Promise<number>,
  id: string = newCommandId(name),
): Promise<{ id: string; code: number }> {
  let log: ReturnType<typeof commandLogger>;
  try {
    log = commandLogger(io, redactor);
  } catch (error) {
    throw withCommandId(error, id);
  }
  const run: CommandRun = {
    id,
    name,
    logger: log.logger,
    mint: new IdMint(id),
  };
  const t0 = performance.now();
  const elapsed = () => Math.round((performance.now() - t0) * 10) / 10;
  try {
    // Not the server's request scope (`withRequestId`): `serve` runs as a
    // command too, and its own requests and background work keep theirs.
    return await runs.run(run, async () => {
      run.logger?.info("command", { rid: id, command: name });
      try {
        const code = await fn();
        run.logger?.info("command done", {
          rid: id,
          command: name,
          exitCode: code,
          durationMs: elapsed(),
        });
        return { id, code };
      } catch (error) {
        run.logger?.error("command failed", {
          rid: id,
          command: name,
          error: redactor.error(error),
          durationMs: elapsed(),
        });
        throw withCommandId(error, id);
      }
    });
  } finally {
    log.close();
  }
}

const ID_KEY = Symbol.for("krakked.commandId");

function withCommandId(error: unknown, id: string): unknown {
  if (typeof error === "object" && error !== null) {
    try {
      Object.defineProperty(error, ID_KEY, { value: id, configurable: true });
    } catch {
      // A frozen error: the caller still knows the id it passed.
    }
  }
  return error;
}

/**
 * The id of the command run an error escaped from, if any.
 *
 * @param error What {@linkcode runCommandScoped} threw.
 * @returns The id or `undefined`.
 */
export function commandIdOf(error: unknown): string | undefined {
  return typeof error === "object" && error !== null
    ? (error as Record<symbol, string | undefined>)[ID_KEY]
    : undefined;
}
