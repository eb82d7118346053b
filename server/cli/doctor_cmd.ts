/**
 * `krakked doctor`: the preflight wired to the config directory, the
 * credential sources and a REST client (see ./doctor.ts for the checks).
 *
 * @module
 */

import { ConfigError } from "@krakked/core/config/config";
import { Redactor } from "@krakked/core/secrets/redact";
import { configDir, configPaths } from "../deno/config_dir.ts";
import { type Parsed, parseFlags } from "./args.ts";
import { type Command, runIdField } from "./command.ts";
import { loadContext, resolveCliCredentials } from "./context.ts";
import {
  type DoctorCheck,
  doctorError,
  doctorExitCode,
  type DoctorInputs,
  type DoctorRest,
  formatChecks,
  runDoctor,
} from "./doctor.ts";
import { type CliIo, colorAllowed, writeJson, writeLine } from "./io.ts";

/** Help text of `krakked doctor`. */
export const DOCTOR_HELP = `Usage: krakked doctor [--json]

Checks the setup, one line per check (✓ ok, ! attention, ✗ failed, - skipped),
with a hint for each problem: config, credentials, connectivity, clock skew,
authentication, the read permissions Krakked uses, and nonce health.

  --json   print the checks as JSON: {"checks": [{id, label, status, detail, hint?}], "exitCode"}

Exit codes: 0 all passed, 1 other failure, 3 authentication or permission, 4 Kraken unreachable.`;

/** Parsed `doctor` flags. */
export interface DoctorFlags {
  /** Discriminator: the command. */
  kind: "doctor";
  /** Print JSON. */
  json: boolean;
}

/**
 * Parse `doctor` flags. Pure.
 *
 * @param args Arguments after `doctor`.
 * @returns The flags, help, or a usage error for an unknown flag or argument.
 * @example Parse
 * ```ts
 * import { parseDoctorArgs } from "./doctor_cmd.ts";
 * parseDoctorArgs(["--json"]); // { kind: "doctor", json: true }
 * ```
 */
export function parseDoctorArgs(args: readonly string[]): Parsed<DoctorFlags> {
  const parsed = parseFlags(args, { booleans: ["json"] });
  if (parsed.kind !== "flags") return parsed;
  return { kind: "doctor", json: parsed.booleans.has("json") };
}

/** A REST stand-in for a broken config: doctor skips every call then. */
const NO_REST: DoctorRest = {
  systemStatus: () => Promise.reject(new Error("config unreadable")),
  time: () => Promise.reject(new Error("config unreadable")),
  balance: () => Promise.reject(new Error("config unreadable")),
  openOrders: () => Promise.reject(new Error("config unreadable")),
  closedOrders: () => Promise.reject(new Error("config unreadable")),
  getWebSocketsToken: () => Promise.reject(new Error("config unreadable")),
};

/**
 * Run `krakked doctor` and print the checks.
 *
 * @param flags Parsed flags.
 * @param io The run's I/O.
 * @param redactor Registers found credentials so no output shows them.
 * @returns The exit code ({@linkcode doctorExitCode}).
 * @example Run
 * ```ts ignore
 * import { runDoctorCommand } from "./doctor_cmd.ts";
 * import { denoIo } from "./io.ts";
 * const code = await runDoctorCommand({ kind: "doctor", json: false }, denoIo());
 * ```
 */
export async function runDoctorCommand(
  flags: DoctorFlags,
  io: CliIo,
  redactor: Redactor = new Redactor(),
): Promise<number> {
  const options = {
    credentials: true,
    env: io.env,
    os: io.os,
    prompt: io.promptSecret,
    redactor,
    ...(io.retry ? { retry: io.retry } : {}),
  };
  let checks: DoctorCheck[];
  try {
    const ctx = await loadContext(options);
    try {
      const inputs: DoctorInputs = {
        config: {
          ok: true,
          path: ctx.paths.config,
          exists: ctx.configExists,
          warnings: ctx.warnings,
        },
        credentials: ctx.credentials!,
        rest: ctx.rest,
        restUrl: ctx.config.connection.rest_url,
        now: io.now,
      };
      checks = await runDoctor(inputs);
    } finally {
      ctx.rest.close();
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const paths = configPaths(configDir(io.os, io.env));
    checks = await runDoctor({
      config: { ok: false, path: paths.config, error: error.message },
      credentials: await resolveCliCredentials(paths, options),
      rest: NO_REST,
      restUrl: "(config unreadable)",
      now: io.now,
    });
  }
  const exitCode = doctorExitCode(checks);
  if (flags.json) {
    const error = doctorError(checks);
    writeJson(io, {
      checks,
      exitCode,
      // Exit codes and categories agree with the one table: the JSON error
      // is there exactly when the run failed.
      ...(exitCode !== 0 && error !== undefined
        ? { error: { ...error, ...runIdField() } }
        : {}),
    });
  } else {
    writeLine(io.stdout, formatChecks(checks, colorAllowed(io)));
  }
  return exitCode;
}

/** `krakked doctor`, for the command table. */
export const doctorCommand: Command<DoctorFlags> = {
  name: "doctor",
  summary: "Check config, credentials, connectivity, clock and key permissions",
  help: DOCTOR_HELP,
  parse: parseDoctorArgs,
  run: runDoctorCommand,
};
