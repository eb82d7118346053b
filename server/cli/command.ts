/**
 * The shape of one CLI command: what the table in `./commands.ts` holds.
 *
 * A command is a name, a one-line summary for `krakked --help`, its help
 * text, a pure `parse` from its arguments to its flags (tagged by `kind`,
 * which is the command's name) or help or a usage error, and `run`, which
 * does the work and returns the exit code. `run` throws what goes wrong;
 * `main` turns that into the error line (or JSON) and the exit code.
 *
 * @module
 */

import type { Redactor } from "@krakked/core/secrets/redact";
import type { Parsed } from "./args.ts";
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
}
