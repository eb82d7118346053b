/**
 * Assertions on what a command's `parse` returns (the one convention:
 * flags tagged by the command's name, `{ kind: "help" }` or
 * `{ kind: "usage_error", message }`).
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * The message of a usage error; fails the test for anything else.
 *
 * @param parsed What a parse returned.
 * @param label Names the case in a failure.
 * @returns The message.
 */
export function usageMessage(
  parsed: { kind: string; message?: string },
  label = "",
): string {
  assert.equal(
    parsed.kind,
    "usage_error",
    `${label}: ${JSON.stringify(parsed)}`,
  );
  return parsed.message!;
}

/**
 * The flags; fails the test for help or a usage error.
 *
 * @param parsed What a parse returned.
 * @returns The flags, narrowed.
 */
export function flagsOf<P extends { kind: string }>(
  parsed: P,
): Exclude<P, { kind: "help" | "usage_error" }> {
  assert.ok(
    parsed.kind !== "help" && parsed.kind !== "usage_error",
    JSON.stringify(parsed),
  );
  return parsed as Exclude<P, { kind: "help" | "usage_error" }>;
}
