/**
 * `krakked doctor`: a preflight with one line per check (✓/✗) and a fix hint.
 *
 * @module
 */

import { KrakenError } from "../../core/rest/errors.ts";
import type { CredentialsResult } from "../../core/secrets/credentials.ts";

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
 * Run every check in order; later checks are skipped when they cannot work.
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
  const checks: DoctorCheck[] = [];
  const now = inputs.now ?? Date.now;
  const c = inputs.config;
  checks.push(
    c.ok
      ? {
        id: "config",
        label: "Config readable",
        status: c.warnings.length ? "warn" : "ok",
        detail: c.exists
          ? `${c.path}${c.warnings.length ? `: ${c.warnings.join("; ")}` : ""}`
          : `${c.path} not found: using defaults`,
        ...(c.warnings.length
          ? { hint: "Remove or fix the unknown keys" }
          : {}),
      }
      : {
        id: "config",
        label: "Config readable",
        status: "fail",
        detail: c.error,
        hint: `Fix ${c.path} (see README, Configuration)`,
      },
  );

  const cr = inputs.credentials;
  const hasCreds = cr.kind === "found";
  checks.push(
    cr.kind === "found"
      ? {
        id: "credentials",
        label: "Credentials source",
        status: cr.warnings.length ? "warn" : "ok",
        detail: cr.source === "env"
          ? "KRAKEN_API_KEY and KRAKEN_API_SECRET from the environment"
          : `secrets file${
            cr.header?.validated === false ? " (saved unvalidated)" : ""
          }`,
        ...(cr.warnings.length ? { hint: cr.warnings.join("; ") } : {}),
      }
      : cr.kind === "none"
      ? {
        id: "credentials",
        label: "Credentials source",
        status: "warn",
        detail: cr.reason,
        hint: "Public data works; run 'krakked setup' for private data",
      }
      : {
        id: "credentials",
        label: "Credentials source",
        status: "fail",
        detail: cr.error.message,
        hint: "Check the master password, or run 'krakked setup' again",
      },
  );

  let reachable = false;
  if (!c.ok) {
    // A broken config may point anywhere: contact nothing until it is fixed.
    checks.push({
      id: "connectivity",
      label: "Connectivity (SystemStatus)",
      status: "skip",
      detail: "config unreadable",
    });
  } else {
    try {
      const s = await inputs.rest.systemStatus();
      reachable = true;
      checks.push({
        id: "connectivity",
        label: "Connectivity (SystemStatus)",
        status: s.status === "online" ? "ok" : "warn",
        detail: `${inputs.restUrl}: ${s.status}`,
        ...(s.status === "online"
          ? {}
          : { hint: "Kraken is not fully online: trading may be limited" }),
      });
    } catch (error) {
      const d = describe(error);
      checks.push({
        id: "connectivity",
        label: "Connectivity (SystemStatus)",
        status: "fail",
        detail: `${inputs.restUrl}: ${d.kind} (${d.code})`,
        hint:
          "Check the network or connection.rest_url; run offline with 'deno task serve --sim'",
      });
    }
  }

  if (reachable) {
    try {
      const t0 = now();
      const { unixtime } = await inputs.rest.time();
      const local = (t0 + now()) / 2000;
      const skew = Math.round((local - unixtime) * 10) / 10;
      const max = inputs.maxSkewSec ?? 5;
      checks.push({
        id: "clock",
        label: "Clock skew vs server Time",
        status: Math.abs(skew) <= max ? "ok" : "warn",
        detail: `${skew >= 0 ? "+" : ""}${skew} s`,
        ...(Math.abs(skew) <= max
          ? {}
          : { hint: "Sync the system clock (NTP): nonces are time based" }),
      });
    } catch (error) {
      checks.push({
        id: "clock",
        label: "Clock skew vs server Time",
        status: "fail",
        detail: describe(error).code,
      });
    }
  } else {
    checks.push({
      id: "clock",
      label: "Clock skew vs server Time",
      status: "skip",
      detail: c.ok ? "server unreachable" : "config unreadable",
    });
  }

  const authChecks: Array<[string, string, () => Promise<unknown>, string]> = [
    [
      "auth",
      "Authentication (Balance)",
      () => inputs.rest.balance(),
      "Query Funds",
    ],
    [
      "perm_open_orders",
      "Permission: query open orders",
      () => inputs.rest.openOrders(),
      "Query Open Orders & Trades",
    ],
    [
      "perm_closed_orders",
      "Permission: query closed orders",
      () => inputs.rest.closedOrders(),
      "Query Closed Orders & Trades",
    ],
    [
      "perm_ws_token",
      "Permission: WebSocket token",
      () => inputs.rest.getWebSocketsToken(),
      "WebSocket interface",
    ],
  ];
  let authOk = false;
  let nonceTrouble = false;
  for (const [id, label, call, permission] of authChecks) {
    if (!hasCreds || !reachable || (id !== "auth" && !authOk)) {
      checks.push({
        id,
        label,
        status: "skip",
        detail: !hasCreds
          ? "no credentials"
          : !c.ok
          ? "config unreadable"
          : !reachable
          ? "server unreachable"
          : "authentication failed",
      });
      continue;
    }
    try {
      await call();
      if (id === "auth") authOk = true;
      checks.push({ id, label, status: "ok", detail: "allowed" });
    } catch (error) {
      const d = describe(error);
      if (d.kind === "nonce") nonceTrouble = true;
      checks.push({
        id,
        label,
        status: "fail",
        detail: `${d.kind} (${d.code})`,
        hint: d.kind === "permission"
          ? `Enable "${permission}" on the API key`
          : d.kind === "auth"
          ? "Check the key and secret (copy the private key exactly), or create a new key"
          : d.kind === "nonce"
          ? "The key's nonce is ahead of Krakked's: create a new key for Krakked (see README, Nonces)"
          : "Retry later",
      });
    }
  }
  checks.push({
    id: "nonce",
    label: "Nonce health",
    status: !hasCreds || !reachable
      ? "skip"
      : nonceTrouble
      ? "fail"
      : authOk
      ? "ok"
      : "skip",
    detail: nonceTrouble
      ? "Kraken rejected a nonce"
      : authOk
      ? "consecutive signed calls accepted (microsecond nonces)"
      : "not tested",
    ...(nonceTrouble
      ? {
        hint:
          "Use one key per process; a key used with a larger nonce scale needs replacing",
      }
      : {}),
  });
  checks.push({
    id: "no_withdrawal", // informational: Krakked never withdraws
    label: "No withdrawal permission needed",
    status: "ok",
    detail:
      "Krakked has no withdrawal or funding call; create keys without those permissions",
  });
  return checks;
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
