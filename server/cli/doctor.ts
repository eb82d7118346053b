/**
 * `krakked doctor`: a preflight with one line per check (✓/✗) and a fix hint.
 *
 * @module
 */

import type { ErrorCategory } from "./errors.ts";
import { KrakenError } from "@krakked/core/rest/errors";
import type { CredentialsResult } from "@krakked/core/secrets/credentials";

/** One check's outcome. */
export interface DoctorCheck {
  /** Stable id for `--json` consumers. */
  id: string;
  /** Human label. */
  label: string;
  /** `ok`, `warn` (works but needs attention), `fail` or `skip`. */
  status: "ok" | "warn" | "fail" | "skip";
  /** What was found. */
  detail: string;
  /** How to fix it, when not ok. */
  hint?: string;
}

/** What doctor needs from a REST client. */
export interface DoctorRest {
  systemStatus(): Promise<{ status: string }>;
  time(): Promise<{ unixtime: number }>;
  balance(): Promise<Record<string, string>>;
  openOrders(): Promise<unknown>;
  closedOrders(): Promise<unknown>;
  getWebSocketsToken(): Promise<unknown>;
}

/** Inputs of {@linkcode runDoctor}. */
export interface DoctorInputs {
  /** The config outcome: warnings, or the error message when unreadable. */
  config: { ok: true; path: string; exists: boolean; warnings: string[] } | {
    ok: false;
    path: string;
    error: string;
  };
  /** The credential resolution outcome. */
  credentials: CredentialsResult;
  /** A REST client (with credentials when found). */
  rest: DoctorRest;
  /** The REST base URL, for messages. */
  restUrl: string;
  /** Clock (ms). */
  now?: () => number;
  /** Largest acceptable clock skew (s); default 5. */
  maxSkewSec?: number;
}

function describe(error: unknown): { kind: string; code: string } {
  return error instanceof KrakenError
    ? { kind: error.kind, code: error.code }
    : { kind: "unknown", code: String(error) };
}

/**
 * The config check: readable, with or without unknown keys.
 *
 * @param config The config outcome.
 * @returns The `config` check.
 * @example Missing file
 * ```ts
 * import { checkConfig } from "./doctor.ts";
 * checkConfig({ ok: true, path: "/cfg/config.yaml", exists: false, warnings: [] }).status; // "ok"
 * ```
 */
export function checkConfig(config: DoctorInputs["config"]): DoctorCheck {
  const base = { id: "config", label: "Config readable" };
  if (!config.ok) {
    return {
      ...base,
      status: "fail",
      detail: config.error,
      hint: `Fix ${config.path} (see README, Configuration)`,
    };
  }
  const warned = config.warnings.length > 0;
  return {
    ...base,
    status: warned ? "warn" : "ok",
    detail: config.exists
      ? `${config.path}${warned ? `: ${config.warnings.join("; ")}` : ""}`
      : `${config.path} not found: using defaults`,
    ...(warned ? { hint: "Remove or fix the unknown keys" } : {}),
  };
}

/**
 * The credentials check: where they came from, none, or unreadable.
 *
 * @param credentials The credential resolution outcome.
 * @returns The `credentials` check.
 * @example None
 * ```ts
 * import { checkCredentials } from "./doctor.ts";
 * checkCredentials({ kind: "none", reason: "No credentials", warnings: [] }).status; // "warn"
 * ```
 */
export function checkCredentials(credentials: CredentialsResult): DoctorCheck {
  const base = { id: "credentials", label: "Credentials source" };
  switch (credentials.kind) {
    case "found":
      return {
        ...base,
        status: credentials.warnings.length ? "warn" : "ok",
        detail: credentials.source === "env"
          ? "KRAKEN_API_KEY and KRAKEN_API_SECRET from the environment"
          : `secrets file${
            credentials.header?.validated === false
              ? " (saved unvalidated)"
              : ""
          }`,
        ...(credentials.warnings.length
          ? { hint: credentials.warnings.join("; ") }
          : {}),
      };
    case "none":
      return {
        ...base,
        status: "warn",
        detail: credentials.reason,
        hint: "Public data works; run 'krakked setup' for private data",
      };
    case "error":
      return {
        ...base,
        status: "fail",
        detail: credentials.error.message,
        hint: "Check the master password, or run 'krakked setup' again",
      };
  }
}

/**
 * The connectivity check: `SystemStatus` answers (and says online). A
 * broken config may point anywhere, so nothing is contacted then.
 *
 * @param inputs The doctor's inputs.
 * @returns The `connectivity` check; `ok` or `warn` means reachable.
 * @example Run
 * ```ts ignore
 * const check = await checkConnectivity(inputs);
 * ```
 */
export async function checkConnectivity(
  inputs: DoctorInputs,
): Promise<DoctorCheck> {
  const base = { id: "connectivity", label: "Connectivity (SystemStatus)" };
  if (!inputs.config.ok) {
    return { ...base, status: "skip", detail: "config unreadable" };
  }
  try {
    const { status } = await inputs.rest.systemStatus();
    return {
      ...base,
      status: status === "online" ? "ok" : "warn",
      detail: `${inputs.restUrl}: ${status}`,
      ...(status === "online"
        ? {}
        : { hint: "Kraken is not fully online: trading may be limited" }),
    };
  } catch (error) {
    const d = describe(error);
    return {
      ...base,
      status: "fail",
      detail: `${inputs.restUrl}: ${d.kind} (${d.code})`,
      hint:
        "Check the network or connection.rest_url; run offline with 'deno task serve --sim'",
    };
  }
}

/**
 * The clock check: local time against the server's `Time`, measured at the
 * middle of the call.
 *
 * @param inputs The doctor's inputs.
 * @param reachable Whether the connectivity check reached the server.
 * @returns The `clock` check.
 * @example Run
 * ```ts ignore
 * const check = await checkClock(inputs, true);
 * ```
 */
export async function checkClock(
  inputs: DoctorInputs,
  reachable: boolean,
): Promise<DoctorCheck> {
  const base = { id: "clock", label: "Clock skew vs server Time" };
  if (!reachable) {
    return {
      ...base,
      status: "skip",
      detail: inputs.config.ok ? "server unreachable" : "config unreadable",
    };
  }
  const now = inputs.now ?? Date.now;
  try {
    const t0 = now();
    const { unixtime } = await inputs.rest.time();
    const local = (t0 + now()) / 2000;
    const skew = Math.round((local - unixtime) * 10) / 10;
    const max = inputs.maxSkewSec ?? 5;
    const within = Math.abs(skew) <= max;
    return {
      ...base,
      status: within ? "ok" : "warn",
      detail: `${skew >= 0 ? "+" : ""}${skew} s`,
      ...(within
        ? {}
        : { hint: "Sync the system clock (NTP): nonces are time based" }),
    };
  } catch (error) {
    return { ...base, status: "fail", detail: describe(error).code };
  }
}

/** One signed read and the key permission it needs. */
interface PrivateProbe {
  id: string;
  label: string;
  call: (rest: DoctorRest) => Promise<unknown>;
  permission: string;
}

/** The signed reads, in order: authentication first, then permissions. */
const PRIVATE_PROBES: readonly PrivateProbe[] = [
  {
    id: "auth",
    label: "Authentication (Balance)",
    call: (rest) => rest.balance(),
    permission: "Query Funds",
  },
  {
    id: "perm_open_orders",
    label: "Permission: query open orders",
    call: (rest) => rest.openOrders(),
    permission: "Query Open Orders & Trades",
  },
  {
    id: "perm_closed_orders",
    label: "Permission: query closed orders",
    call: (rest) => rest.closedOrders(),
    permission: "Query Closed Orders & Trades",
  },
  {
    id: "perm_ws_token",
    label: "Permission: WebSocket token",
    call: (rest) => rest.getWebSocketsToken(),
    permission: "WebSocket interface",
  },
];

/** What the signed reads found. */
export interface PrivateCallsResult {
  /** One check per signed read (`auth`, `perm_*`). */
  checks: DoctorCheck[];
  /** Whether authentication (Balance) passed. */
  authOk: boolean;
  /** Whether Kraken rejected a nonce. */
  nonceTrouble: boolean;
}

function privateFailureHint(kind: string, permission: string): string {
  switch (kind) {
    case "permission":
      return `Enable "${permission}" on the API key`;
    case "auth":
      return "Check the key and secret (copy the private key exactly), or create a new key";
    case "nonce":
      return "The key's nonce is ahead of Krakked's: create a new key for Krakked (see README, Nonces)";
    default:
      return "Retry later";
  }
}

/**
 * The authentication and permission checks: one signed read each, skipped
 * without credentials, without the server, or after authentication failed.
 *
 * @param inputs The doctor's inputs.
 * @param reachable Whether the connectivity check reached the server.
 * @returns The checks and what they found.
 * @example Run
 * ```ts ignore
 * const { checks, authOk } = await checkPrivateCalls(inputs, true);
 * ```
 */
export async function checkPrivateCalls(
  inputs: DoctorInputs,
  reachable: boolean,
): Promise<PrivateCallsResult> {
  const hasCreds = inputs.credentials.kind === "found";
  const result: PrivateCallsResult = {
    checks: [],
    authOk: false,
    nonceTrouble: false,
  };
  for (const { id, label, call, permission } of PRIVATE_PROBES) {
    if (!hasCreds || !reachable || (id !== "auth" && !result.authOk)) {
      result.checks.push({
        id,
        label,
        status: "skip",
        detail: !hasCreds
          ? "no credentials"
          : !inputs.config.ok
          ? "config unreadable"
          : !reachable
          ? "server unreachable"
          : "authentication failed",
      });
      continue;
    }
    try {
      await call(inputs.rest);
      if (id === "auth") result.authOk = true;
      result.checks.push({ id, label, status: "ok", detail: "allowed" });
    } catch (error) {
      const d = describe(error);
      if (d.kind === "nonce") result.nonceTrouble = true;
      result.checks.push({
        id,
        label,
        status: "fail",
        detail: `${d.kind} (${d.code})`,
        hint: privateFailureHint(d.kind, permission),
      });
    }
  }
  return result;
}

/**
 * The nonce check, from what the signed reads found.
 *
 * @param calls What {@linkcode checkPrivateCalls} found.
 * @param tested Whether signed reads could run (credentials and a server).
 * @returns The `nonce` check.
 * @example Not tested
 * ```ts
 * import { checkNonce } from "./doctor.ts";
 * checkNonce({ checks: [], authOk: false, nonceTrouble: false }, false).status; // "skip"
 * ```
 */
export function checkNonce(
  calls: PrivateCallsResult,
  tested: boolean,
): DoctorCheck {
  const base = { id: "nonce", label: "Nonce health" };
  if (tested && calls.nonceTrouble) {
    return {
      ...base,
      status: "fail",
      detail: "Kraken rejected a nonce",
      hint:
        "Use one key per process; a key used with a larger nonce scale needs replacing",
    };
  }
  if (tested && calls.authOk) {
    return {
      ...base,
      status: "ok",
      detail: "consecutive signed calls accepted (microsecond nonces)",
    };
  }
  return { ...base, status: "skip", detail: "not tested" };
}

/** Informational: Krakked never withdraws, so keys need no such permission. */
export const NO_WITHDRAWAL_CHECK: DoctorCheck = Object.freeze({
  id: "no_withdrawal",
  label: "No withdrawal permission needed",
  status: "ok",
  detail:
    "Krakked has no withdrawal or funding call; create keys without those permissions",
});

/**
 * Run every check in order; later checks are skipped when they cannot work
 * (no server: no clock or signed reads; no credentials or failed
 * authentication: no permission checks).
 *
 * @param inputs Config outcome, credentials, REST client.
 * @returns The checks, in order.
 * @example Run
 * ```ts
 * import { runDoctor, type DoctorInputs } from "./doctor.ts";
 * declare const inputs: DoctorInputs;
 * for (const c of await runDoctor(inputs)) console.log(c.status, c.label);
 * ```
 */
export async function runDoctor(inputs: DoctorInputs): Promise<DoctorCheck[]> {
  const connectivity = await checkConnectivity(inputs);
  const reachable = connectivity.status === "ok" ||
    connectivity.status === "warn";
  const clock = await checkClock(inputs, reachable);
  const calls = await checkPrivateCalls(inputs, reachable);
  return [
    checkConfig(inputs.config),
    checkCredentials(inputs.credentials),
    connectivity,
    clock,
    ...calls.checks,
    checkNonce(calls, inputs.credentials.kind === "found" && reachable),
    { ...NO_WITHDRAWAL_CHECK },
  ];
}

/**
 * The exit code for a doctor run: 0 ok, 3 auth failure, 4 network failure, 1 other failure.
 *
 * @param checks The checks.
 * @returns The exit code.
 * @example Exit code
 * ```ts
 * import { doctorExitCode } from "./doctor.ts";
 * doctorExitCode([]); // 0
 * ```
 */
export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  const failed = checks.filter((c) => c.status === "fail");
  if (failed.length === 0) return 0;
  if (failed.some((c) => c.id === "connectivity")) return 4;
  if (
    failed.some((c) =>
      c.id === "auth" || c.id === "credentials" || c.id.startsWith("perm_")
    )
  ) return 3;
  return 1;
}

/**
 * The `--json` error object of a failed doctor run: the failed check that
 * decided the exit code, with a category from the one table (`network`,
 * `credentials`, `auth`, `permission`, `config`), so scripts read doctor's
 * failure like any command's.
 *
 * @param checks The checks.
 * @returns `{ category, message, suggestion? }`, or `undefined` when nothing failed.
 * @example Nothing failed
 * ```ts
 * import { doctorError } from "./doctor.ts";
 * doctorError([]); // undefined
 * ```
 */
export function doctorError(
  checks: readonly DoctorCheck[],
):
  | { category: ErrorCategory; message: string; suggestion?: string }
  | undefined {
  const failed = checks.filter((c) => c.status === "fail");
  const pick = (id: (c: DoctorCheck) => boolean) => failed.find(id);
  const [check, category]: [DoctorCheck | undefined, ErrorCategory] =
    pick((c) => c.id === "connectivity") !== undefined
      ? [pick((c) => c.id === "connectivity"), "network"]
      : pick((c) => c.id === "credentials") !== undefined
      ? [pick((c) => c.id === "credentials"), "credentials"]
      : pick((c) => c.id === "auth") !== undefined
      ? [pick((c) => c.id === "auth"), "auth"]
      : pick((c) => c.id.startsWith("perm_")) !== undefined
      ? [pick((c) => c.id.startsWith("perm_")), "permission"]
      : pick((c) => c.id === "config") !== undefined
      ? [pick((c) => c.id === "config"), "config"]
      : [failed[0], "unexpected"];
  if (check === undefined) return undefined;
  return {
    category,
    message: `${check.label}: ${check.detail}`,
    ...(check.hint === undefined ? {} : { suggestion: check.hint }),
  };
}

/**
 * Format checks as lines with ✓/✗ (and hints).
 *
 * @param checks The checks.
 * @param color Whether to use ANSI colours.
 * @returns The text.
 * @example Format
 * ```ts
 * import { formatChecks } from "./doctor.ts";
 * formatChecks([{ id: "x", label: "X", status: "ok", detail: "fine" }], false);
 * ```
 */
export function formatChecks(
  checks: readonly DoctorCheck[],
  color: boolean,
): string {
  const paint = (
    code: string,
    s: string,
  ) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return checks.map((c) => {
    const mark = c.status === "ok"
      ? paint("32", "✓")
      : c.status === "warn"
      ? paint("33", "!")
      : c.status === "fail"
      ? paint("31", "✗")
      : paint("90", "-");
    return `${mark} ${c.label}: ${c.detail}${
      c.hint ? `\n    → ${c.hint}` : ""
    }`;
  }).join("\n");
}
