/**
 * The pass/fail report of `record validate` and `load validate`: one line
 * per check (with up to ten failing examples), a count, or the checks as
 * JSON; exit 0 only when every check passed.
 *
 * @module
 */

import type { CheckResult } from "../record/check_kit.ts";
import { type CliIo, writeJson, writeLine } from "./io.ts";

/**
 * Print validation results and give the exit code.
 *
 * @param checks The checks, in order.
 * @param json Print `{ok, checks}` as JSON instead of lines.
 * @param io The run's I/O.
 * @returns 0 when every check passed, else 1.
 */
export function reportChecks(
  checks: readonly CheckResult[],
  json: boolean,
  io: Pick<CliIo, "stdout">,
): number {
  const ok = checks.every((c) => c.ok);
  if (json) {
    writeJson(io, { ok, checks });
    return ok ? 0 : 1;
  }
  for (const c of checks) {
    writeLine(io.stdout, `${c.ok ? "PASS" : "FAIL"} ${c.summary}`);
    if (!c.ok) {
      for (const e of c.examples) writeLine(io.stdout, `     ${e}`);
    }
  }
  const passed = checks.filter((c) => c.ok).length;
  writeLine(io.stdout, `${passed} passed, ${checks.length - passed} failed`);
  return ok ? 0 : 1;
}
